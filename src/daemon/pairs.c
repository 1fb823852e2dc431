/* pairs.c — the seed pairs' thread (pairs.h): a queue of runs ended done,
 * the pairs each gives, their segments, and the results to the store
 * thread. */
#include "pairs.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "engine.h"
#include "err.h"
#include "log.h"
#include "store.h"

/* A pair found pending: (job, run_a, run_b). */
typedef struct pair_key {
    int64_t job, a, b;
} pair_key;

struct pairs {
    char *db_path;
    writer *w;
    store_reader *rd;            /* pairs thread only; opened on first use */

    pthread_t thread;
    bool started;
    pthread_mutex_t lock;        /* the kicks, scan_all, stopping */
    pthread_cond_t wake;
    int64_t *kicks;              /* run ids, oldest first */
    size_t nkicks, cap;
    bool scan_all;               /* every job (the start, or too many kicks) */
    atomic_bool stopping;

    /* pairs thread only: the pairs tried this session, sorted by (a, b),
     * so that two kicks that find the same pair before its row is
     * committed compute it once, and a failed pair is not retried */
    pair_key *tried;
    size_t ntried, tried_cap;
    atomic_long posted, failed;
};

/* --- the pairs tried this session --- */

static int key_cmp(const pair_key *x, const pair_key *y)
{
    if (x->a != y->a)
        return x->a < y->a ? -1 : 1;
    return x->b < y->b ? -1 : x->b > y->b;
}

/* Where k is or would go in tried. */
static size_t tried_find(const pairs *p, const pair_key *k, bool *found)
{
    size_t lo = 0, hi = p->ntried;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = key_cmp(&p->tried[mid], k);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* Records k as tried; false when it was already (or out of memory: then
 * it is computed, at worst twice, and stored once). */
static bool tried_add(pairs *p, const pair_key *k)
{
    bool found;
    size_t at = tried_find(p, k, &found);
    if (found)
        return false;
    if (p->ntried == p->tried_cap) {
        size_t cap = p->tried_cap ? 2 * p->tried_cap : 64;
        pair_key *t = realloc(p->tried, cap * sizeof *t);
        if (!t)
            return true;
        p->tried = t;
        p->tried_cap = cap;
    }
    memmove(p->tried + at + 1, p->tried + at,
            (p->ntried - at) * sizeof *p->tried);
    p->tried[at] = *k;
    p->ntried++;
    return true;
}

/* --- one pair --- */

static enum run_poll poll_stop(void *ctx)
{
    pairs *p = ctx;
    return atomic_load(&p->stopping) ? RUN_CANCEL : RUN_CONTINUE;
}

/* run_a's configuration (the pair's: they differ only in init_seed) and
 * both runs' arrays, read through the pairs thread's reader. */
static int read_pair(pairs *p, const pair_key *k, run_config *cfg,
                     run_arrays **aa, run_arrays **ab, char *err,
                     size_t errlen)
{
    char *json = NULL;
    void *ck = NULL;
    size_t ck_len;
    int attempt;
    int rc = store_reader_run(p->rd, k->a, &json, &ck, &ck_len, &attempt,
                              err, errlen);
    free(ck);
    if (rc == 0)
        rc = config_parse_str(json, cfg, err, errlen);
    free(json);
    if (rc == 0 &&
        ((rc = store_reader_arrays(p->rd, k->a, aa, err, errlen)) < 0 ||
         (rc = store_reader_arrays(p->rd, k->b, ab, err, errlen)) < 0))
        config_free(cfg);
    return rc;
}

static void compute(pairs *p, const pair_key *k)
{
    char err[ERR_LEN] = "";
    run_config cfg;
    run_arrays *aa = NULL, *ab = NULL;
    run_pair out;
    int rc = read_pair(p, k, &cfg, &aa, &ab, err, sizeof err);
    if (rc == 0) {
        run_hooks hooks = {.ctx = p, .poll = poll_stop};
        rc = engine_pair_segment(&cfg, aa, ab, &hooks, &out, err, sizeof err);
        config_free(&cfg);
    }
    free(aa);
    free(ab);
    if (rc == ENGINE_ECANCELED) {
        log_debug("seed pair of runs %lld and %lld: abandoned at the stop; "
                  "computed at the next start", (long long)k->a,
                  (long long)k->b);
        return;
    }
    if (rc == 0 && (rc = writer_pair(p->w, k->job, k->a, k->b, &out)) < 0)
        snprintf(err, sizeof err, "%s", rc == -ENOMEM ? "out of memory"
                                        : "the store thread has stopped");
    if (rc < 0) {
        atomic_fetch_add(&p->failed, 1);
        log_warn("seed pair of runs %lld and %lld (job %lld): not stored: "
                 "%s", (long long)k->a, (long long)k->b, (long long)k->job,
                 err);
        return;
    }
    atomic_fetch_add(&p->posted, 1);
    log_debug("seed pair of runs %lld and %lld (job %lld): barrier %.6g",
              (long long)k->a, (long long)k->b, (long long)k->job,
              out.barrier);
}

/* --- one kick: the pending pairs of a run (0: of every job) --- */

struct found {
    pair_key *k;
    size_t n, cap;
    bool oom;
};

static int collect(void *ctx, int64_t job, int64_t a, int64_t b)
{
    struct found *f = ctx;
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 16;
        pair_key *k = realloc(f->k, cap * sizeof *k);
        if (!k) {
            f->oom = true;
            return 1;
        }
        f->k = k;
        f->cap = cap;
    }
    f->k[f->n++] = (pair_key){job, a, b};
    return 0;
}

static int ensure_reader(pairs *p, char *err, size_t errlen)
{
    if (p->rd)
        return 0;
    return store_reader_open(p->db_path, &p->rd, err, errlen);
}

static void process(pairs *p, int64_t run_id)
{
    char err[ERR_LEN] = "";
    struct found f = {0};
    int rc = ensure_reader(p, err, sizeof err);
    if (rc == 0)
        rc = store_reader_pairs_pending(p->rd, run_id, collect, &f, err,
                                        sizeof err);
    if (rc != 0 || f.oom) {
        log_warn("seed pairs %s%lld: not looked for: %s",
                 run_id ? "of run " : "of every job", (long long)run_id,
                 f.oom ? "out of memory" : err);
        /* a reader that failed is opened again next time */
        store_reader_close(p->rd);
        p->rd = NULL;
    }
    for (size_t i = 0; i < f.n && !atomic_load(&p->stopping); i++)
        if (tried_add(p, &f.k[i]))
            compute(p, &f.k[i]);
    free(f.k);
}

/* --- the thread --- */

static void *pairs_main(void *arg)
{
    pairs *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!atomic_load(&p->stopping) && !p->scan_all && !p->nkicks)
            pthread_cond_wait(&p->wake, &p->lock);
        if (atomic_load(&p->stopping))
            break;
        int64_t run_id = 0;
        if (p->scan_all) {
            p->scan_all = false;
            p->nkicks = 0;   /* the scan covers them */
        } else {
            run_id = p->kicks[0];
            memmove(p->kicks, p->kicks + 1, --p->nkicks * sizeof *p->kicks);
        }
        pthread_mutex_unlock(&p->lock);
        process(p, run_id);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    store_reader_close(p->rd);
    p->rd = NULL;
    return NULL;
}

/* writer_on_done's hook: a run ended done with its parameters kept and
 * is committed; its job needs no lookup (the pending-pairs query has it). */
static void on_done(void *ctx, int64_t job_id, int64_t run_id)
{
    (void)job_id;
    pairs *p = ctx;
    pthread_mutex_lock(&p->lock);
    if (!atomic_load(&p->stopping) && !p->scan_all) {
        if (p->nkicks == p->cap && p->cap < PAIRS_MAX_KICKS) {
            size_t cap = p->cap ? 2 * p->cap : 64;
            int64_t *k = realloc(p->kicks, cap * sizeof *k);
            if (k) {
                p->kicks = k;
                p->cap = cap;
            }
        }
        if (p->nkicks < p->cap)
            p->kicks[p->nkicks++] = run_id;
        else
            p->scan_all = true;   /* too many, or out of memory */
    }
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
}

int pairs_new(const char *db_path, writer *w, pairs **out, char *err,
              size_t errlen)
{
    *out = NULL;
    pairs *p = calloc(1, sizeof *p);
    if (!p || !(p->db_path = strdup(db_path))) {
        free(p);
        return err_set(err, errlen, -ENOMEM, "out of memory");
    }
    p->w = w;
    p->scan_all = true;   /* the pairs a previous daemon left */
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    int e = pthread_create(&p->thread, NULL, pairs_main, p);
    if (e != 0) {
        pairs_free(p);
        return err_set(err, errlen, -e, "cannot start the seed pairs' "
                       "thread: %s", strerror(e));
    }
    p->started = true;
    writer_on_done(w, on_done, p);
    *out = p;
    return 0;
}

void pairs_stop(pairs *p)
{
    if (!p || !p->started)
        return;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stopping, true);
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    p->started = false;
}

void pairs_free(pairs *p)
{
    if (!p)
        return;
    pairs_stop(p);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p->kicks);
    free(p->tried);
    free(p->db_path);
    free(p);
}

void pairs_get_stats(pairs *p, pairs_stats *out)
{
    out->posted = atomic_load(&p->posted);
    out->failed = atomic_load(&p->failed);
}
