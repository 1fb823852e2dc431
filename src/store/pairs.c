/* pairs.c — seed pairs (docs/theory.md §6.9; schema/012_pairs.sql): the
 * pairs of done runs that have no row yet, and a computed pair's row with
 * its profile (store.h). */
#include "internal.h"

#include <errno.h>

#include "err.h"

int store_reader_pairs_pending(store_reader *r, int64_t run_id,
                               store_pair_fn fn, void *ctx, char *err,
                               size_t errlen)
{
    sqlite3_stmt *st;
    int rc = store__stmt(&r->c, ST_PAIR_CANDIDATES, &st, err, errlen);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        rc = fn(ctx, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                sqlite3_column_int64(st, 2));
        if (rc)
            break;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = store__fail(&r->c, src, err, errlen, "finding the seed pairs "
                         "%s%lld", run_id ? "of run " : "of every job",
                         run_id ? (long long)run_id : 0LL);
    sqlite3_reset(st);
    return rc;
}

static int curve_insert(store *s, int64_t pair_id, const run_path *c,
                        char *err, size_t errlen)
{
    int rc = 0;
    for (int i = 0; i < c->points && rc == 0; i++) {
        sqlite3_stmt *st;
        if ((rc = store__stmt(&s->c, ST_PAIR_CURVE_INSERT, &st, err,
                              errlen)) < 0)
            break;
        sqlite3_bind_int64(st, 1, pair_id);
        sqlite3_bind_int(st, 2, i);
        sqlite3_bind_double(st, 3, (double)i / (c->points - 1));
        store__bind_real(st, 4, c->loss[i]);
        rc = store__step_done(&s->c, st, err, errlen, "storing point %d of "
                              "seed pair %lld", i, (long long)pair_id);
    }
    return rc;
}

int store_pair_insert(store *s, int64_t job_id, int64_t run_a,
                      int64_t run_b, const run_pair *p, bool *stored,
                      char *err, size_t errlen)
{
    *stored = false;
    if (run_a >= run_b || p->curve.points < 2 ||
        p->curve.points > CONFIG_MAX_PATH_POINTS)
        return err_set(err, errlen, -EINVAL, "seed pair of runs %lld and "
                       "%lld: needs run_a < run_b and 2 to %d points, got "
                       "%d", (long long)run_a, (long long)run_b,
                       CONFIG_MAX_PATH_POINTS, p->curve.points);
    sqlite3_stmt *st;
    int rc = store__op_begin(s, err, errlen);
    if (rc < 0)
        return rc;
    if ((rc = store__stmt(&s->c, ST_PAIR_INSERT, &st, err, errlen)) == 0) {
        sqlite3_bind_int64(st, 1, job_id);
        sqlite3_bind_int64(st, 2, run_a);
        sqlite3_bind_int64(st, 3, run_b);
        sqlite3_bind_int(st, 4, p->curve.points);
        store__bind_real(st, 5, p->f_a);
        store__bind_real(st, 6, p->f_b);
        store__bind_real(st, 7, p->f_max);
        store__bind_real(st, 8, p->barrier);
        sqlite3_bind_double(st, 9, store__now());
        rc = store__step_done(&s->c, st, err, errlen, "storing the seed "
                              "pair of runs %lld and %lld",
                              (long long)run_a, (long long)run_b);
        *stored = rc == 0 && sqlite3_changes(s->c.db) == 1;
    }
    if (rc == 0 && *stored)
        rc = curve_insert(s, sqlite3_last_insert_rowid(s->c.db), &p->curve,
                          err, errlen);
    if (rc < 0)
        *stored = false;
    return store__op_end(s, rc, err, errlen);
}
