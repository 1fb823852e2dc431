/* conn.c — one SQLite connection: opening and closing, errors as
 * sentences, NaN <-> NULL (see internal.h). */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"

int store__code(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_CONSTRAINT:
        return -EINVAL;
    case SQLITE_TOOBIG:     /* a value past SQLite's limit: retrying won't help */
        return -EFBIG;
    default:
        return -EIO;
    }
}

static int store__vfail(struct conn *c, int rc, char *err, size_t errlen,
                      const char *fmt, va_list ap)
{
    char what[256];
    vsnprintf(what, sizeof what, fmt, ap);
    const char *msg = c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc);
    return err_set(err, errlen, store__code(rc), "database %s: %s: %s",
                   c->path ? c->path : "?", what, msg);
}

int store__fail(struct conn *c, int rc, char *err, size_t errlen,
              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int out = store__vfail(c, rc, err, errlen, fmt, ap);
    va_end(ap);
    return out;
}

int store__conn_open(struct conn *c, const char *path, int flags, const char *vfs,
              char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->path = strdup(path);
    if (!c->path)
        return err_set(err, errlen, -ENOMEM, "database %s: out of memory",
                       path);
    int rc = sqlite3_open_v2(path, &c->db, flags, vfs);
    if (rc != SQLITE_OK) {
        rc = store__fail(c, rc, err, errlen, "cannot open");
        store__conn_close(c);
        return rc;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, DB_BUSY_MS);
    return 0;
}

void store__conn_close(struct conn *c)
{
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(c->st[i]);
    /* Every statement is finalized, so close cannot fail with BUSY; the
     * last connection to close checkpoints the WAL and deletes it. */
    sqlite3_close(c->db);
    free(c->path);
    memset(c, 0, sizeof *c);
}

int store__step_done(struct conn *c, sqlite3_stmt *st, char *err,
                   size_t errlen, const char *fmt, ...)
{
    int rc = sqlite3_step(st);
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    int out = 0;
    if (rc != SQLITE_DONE) {
        /* Written before reset, which may change the connection's
         * message. */
        va_list ap;
        va_start(ap, fmt);
        out = store__vfail(c, rc, err, errlen, fmt, ap);
        va_end(ap);
    }
    sqlite3_reset(st);
    return out;
}

int store__bind_real(sqlite3_stmt *st, int i, double v)
{
    /* SQLite would turn NaN into NULL too, but only on some paths; being
     * explicit keeps "not measured" one value. */
    return isnan(v) ? sqlite3_bind_null(st, i) : sqlite3_bind_double(st, i, v);
}

int store__bind_count(sqlite3_stmt *st, int i, long v)
{
    return v < 0 ? sqlite3_bind_null(st, i) : sqlite3_bind_int64(st, i, v);
}

double store__column_real(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL
               ? NAN : sqlite3_column_double(st, i);
}

long store__column_count(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL
               ? -1 : (long)sqlite3_column_int64(st, i);
}

double store__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
