/* fail.c — how the CLI fails: a sentence on stderr and an exit code
 * (cli.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("resweep: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

int cli_fail_proto(const proto_error *e)
{
    bool transport = strcmp(e->code, PROTO_E_CLOSED) == 0 ||
                     strcmp(e->code, PROTO_E_IO) == 0;
    if (e->field[0])
        fprintf(stderr, "resweep: %s: %s\n", e->field, e->message);
    else
        fprintf(stderr, "resweep: %s\n", e->message);
    return transport ? CLI_UNREACHABLE : CLI_ERROR;
}

long long cli_job_arg(const char *arg)
{
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || *end || end == arg || v < 1) {
        cli_fail(CLI_USAGE, "JOB: must be a job id (a positive integer), "
                            "got \"%s\"", arg);
        return -1;
    }
    return v;
}
