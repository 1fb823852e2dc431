/* arrays.c — a run's kept arrays as rows of run_arrays (engine.h,
 * run_arrays; schema/011_arrays.sql): little-endian float64 BLOBs with
 * their shapes as JSON text. */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* Values past this are refused before SQLite is asked: a BLOB is at most
 * SQLITE_MAX_LENGTH (1e9) bytes by default. */
#define STORE_ARRAY_MAX_VALUES (1000000000 / 8)

/* The values in the stored byte order: a's own data on a little-endian
 * host (*tmp NULL), else a converted copy in *tmp. */
static const void *le_bytes(const run_array *a, size_t n, void **tmp)
{
    *tmp = NULL;
    if (run_array_host_le())
        return a->data;
    unsigned char *b = malloc(n > 0 ? n * 8 : 1);
    if (b)
        run_array_to_le(a->data, n, b);
    *tmp = b;
    return b;
}

static void shape_text(const run_array *a, char *buf, size_t len)
{
    size_t o = (size_t)snprintf(buf, len, "[");
    for (int k = 0; k < a->ndim && o < len; k++)
        o += (size_t)snprintf(buf + o, len - o, "%s%ld", k ? "," : "",
                              a->shape[k]);
    if (o < len)
        snprintf(buf + o, len - o, "]");
}

/* A hand-made array must not make the store read past its data or store
 * a shape the export cannot read back. */
static int check_array(int64_t run_id, const run_array *a, size_t *n,
                       char *err, size_t errlen)
{
    bool named = a->name[0] && memchr(a->name, '\0', sizeof a->name);
    bool ok = named && a->ndim >= 1 && a->ndim <= RUN_ARRAY_MAX_DIMS &&
              a->data;
    size_t count = 1;
    for (int k = 0; ok && k < a->ndim; k++) {
        ok = a->shape[k] >= 0 && a->shape[k] <= STORE_ARRAY_MAX_VALUES;
        count *= ok ? (size_t)a->shape[k] : 1;
        ok = ok && count <= STORE_ARRAY_MAX_VALUES;
    }
    if (!ok)
        return err_set(err, errlen, count > STORE_ARRAY_MAX_VALUES ? -EFBIG
                                                                  : -EINVAL,
                       "run %lld: array %.*s: needs a name, 1 to %d "
                       "dimensions, data, and at most %d values",
                       (long long)run_id, RUN_ARRAY_NAME_LEN - 1,
                       named ? a->name : "(unnamed)", RUN_ARRAY_MAX_DIMS,
                       STORE_ARRAY_MAX_VALUES);
    *n = count;
    return 0;
}

static int array_insert(struct conn *c, int64_t run_id, const run_array *a,
                        char *err, size_t errlen)
{
    size_t n = 0;
    int rc = check_array(run_id, a, &n, err, errlen);
    if (rc < 0)
        return rc;
    void *tmp;
    const void *bytes = le_bytes(a, n, &tmp);
    if (!bytes)
        return err_set(err, errlen, -ENOMEM, "run %lld: out of memory for "
                       "array %s", (long long)run_id, a->name);
    sqlite3_stmt *st;
    if ((rc = store__stmt(c, ST_ARRAY_INSERT, &st, err, errlen)) == 0) {
        char shape[RUN_ARRAY_MAX_DIMS * 24 + 3];
        shape_text(a, shape, sizeof shape);
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_text(st, 2, a->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, shape, -1, SQLITE_TRANSIENT);
        /* an empty array is a zero-length BLOB, not NULL */
        sqlite3_bind_blob64(st, 4, n ? bytes : "", n * 8, SQLITE_STATIC);
        rc = store__step_done(c, st, err, errlen, "storing array %s of run "
                              "%lld", a->name, (long long)run_id);
    }
    free(tmp);
    return rc;
}

int store__arrays_insert(struct conn *c, int64_t run_id,
                         const run_arrays *as, char *err, size_t errlen)
{
    if (!as)
        return 0;
    if (as->n < 0 || as->n > RUN_ARRAYS_MAX)
        return err_set(err, errlen, -EINVAL, "run %lld: %d arrays (at most "
                       "%d)", (long long)run_id, as->n, RUN_ARRAYS_MAX);
    int rc = 0;
    for (int i = 0; i < as->n && rc == 0; i++)
        rc = array_insert(c, run_id, &as->a[i], err, errlen);
    return rc;
}

/* "[16,10]" into a's dimensions; false for anything else. */
static bool shape_parse(const char *s, run_array *a)
{
    a->ndim = 0;
    if (!s || *s++ != '[')
        return false;
    for (;;) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 0 || a->ndim == RUN_ARRAY_MAX_DIMS)
            return false;
        a->shape[a->ndim++] = v;
        s = end;
        if (*s == ']')
            return s[1] == '\0';
        if (*s++ != ',')
            return false;
    }
}

/* One row of ST_ARRAYS_SELECT into a (its data malloc'd). */
static int array_row(struct conn *c, sqlite3_stmt *st, int64_t run_id,
                     run_array *a, char *err, size_t errlen)
{
    const char *name = (const char *)sqlite3_column_text(st, 0);
    const char *shape = (const char *)sqlite3_column_text(st, 1);
    size_t bytes = (size_t)sqlite3_column_bytes(st, 2);
    *a = (run_array){0};
    snprintf(a->name, sizeof a->name, "%s", name ? name : "");
    bool ok = name && strlen(name) < sizeof a->name && shape_parse(shape, a);
    for (int k = 0; ok && k < a->ndim; k++)
        ok = a->shape[k] <= STORE_ARRAY_MAX_VALUES;
    size_t n = ok ? run_array_count(a) : 0;
    if (!ok || n > STORE_ARRAY_MAX_VALUES || bytes != n * 8)
        return err_set(err, errlen, -EIO, "database %s: array %s of run "
                       "%lld: shape %s does not match its %zu bytes (edited "
                       "by hand?)", c->path, a->name, (long long)run_id,
                       shape ? shape : "NULL", bytes);
    if (!(a->data = malloc(n ? n * sizeof *a->data : 1)))
        return err_set(err, errlen, -ENOMEM, "run %lld: out of memory for "
                       "array %s", (long long)run_id, a->name);
    if (n)
        run_array_from_le(sqlite3_column_blob(st, 2), n, a->data);
    return 0;
}

static void arrays_free_each(run_arrays *as)
{
    for (int i = 0; i < as->n; i++)
        free(as->a[i].data);
    as->n = 0;
}

int store_reader_arrays(store_reader *r, int64_t run_id, run_arrays **out,
                        char *err, size_t errlen)
{
    *out = NULL;
    sqlite3_stmt *st;
    int rc = store__stmt(&r->c, ST_ARRAYS_SELECT, &st, err, errlen);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    run_arrays as = {0};
    int src = SQLITE_DONE;
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        if (as.n == RUN_ARRAYS_MAX)
            rc = err_set(err, errlen, -EIO, "database %s: run %lld has "
                         "more than %d arrays", r->c.path,
                         (long long)run_id, RUN_ARRAYS_MAX);
        else if ((rc = array_row(&r->c, st, run_id, &as.a[as.n], err,
                                 errlen)) == 0)
            as.n++;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = store__fail(&r->c, src, err, errlen, "reading the arrays of "
                         "run %lld", (long long)run_id);
    sqlite3_reset(st);
    if (rc == 0 && !(*out = run_arrays_copy(&as)))
        rc = err_set(err, errlen, -ENOMEM, "run %lld: out of memory for "
                     "its arrays", (long long)run_id);
    arrays_free_each(&as);
    return rc;
}
