/* err.c — error sentences (see err.h). */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

int err_prefix(char *err, size_t errlen, int rc, const char *prefix)
{
    if (!err || errlen == 0 || !prefix || !*prefix)
        return rc;
    char tmp[ERR_LEN];
    snprintf(tmp, sizeof tmp, "%s", err);
    snprintf(err, errlen, "%s: %s", prefix, tmp);
    return rc;
}
