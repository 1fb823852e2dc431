/* extend.c — runs added to a job that exists (`resweep extend`, issue
 * 11), as the store thread applies it: in a transaction of its own, so
 * that a refused extension leaves the job as it was (writer.h).
 *
 * With a spec, every run it expands to is checked as a submission's
 * (jobops_check_run) and added unless the job already has a run of the
 * same canonical configuration. The job's configurations are known by
 * two 64-bit hashes of their canonical JSON (16 bytes a run, not the
 * text): two configurations of one job that differ but share both
 * hashes, the only way a run would be wrongly taken as present, have a
 * probability of about n_job * n_spec / 2^128.
 *
 * With seeds K, every cell of the job (its distinct configurations but
 * for the seed) gains the seeds s+1..s+K, s the job's largest seed: new
 * runs, which no run of the job can equal. */
#include "writer_internal.h"

#include <math.h>
#include <stdio.h>

#include "log.h"

typedef struct key2 {
    uint64_t a, b;
} key2;

/* FNV-1a, and FNV-1a from another basis finished by splitmix64's mixer:
 * two hashes that do not fail together. */
static key2 key_of(const char *s)
{
    uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        a = (a ^ *p) * 0x100000001b3ull;
        b = (b ^ *p) * 0x100000001b3ull;
        b ^= b >> 29;
    }
    b = (b ^ (b >> 30)) * 0xbf58476d1ce4e5b9ull;
    b = (b ^ (b >> 27)) * 0x94d049bb133111ebull;
    return (key2){a, b ^ (b >> 31)};
}

static int key_cmp(const void *x, const void *y)
{
    const key2 *p = x, *q = y;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    return p->b < q->b ? -1 : p->b > q->b;
}

static int str_cmp(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

typedef struct extend_ctx {
    writer *w;
    const wreq *r;
    const job_spec *sp;         /* NULL: seeds */
    key2 *have;                 /* spec: the job's configurations, sorted */
    char **cells;               /* seeds: canonical JSON with seed 0, owned */
    size_t nhave, ncells, cap;
    uint64_t max_seed;
    long next_index;            /* the index the next new run takes */
    int64_t *ids;               /* the runs added, for the scheduler */
    uint64_t *bytes;
    long nadd, addcap, existing;
    uint64_t limit;
    checked_files checked;
    int store_rc;               /* a store failure, as opposed to a refusal */
} extend_ctx;

static void ctx_free(extend_ctx *c)
{
    free(c->have);
    for (size_t i = 0; i < c->ncells; i++)
        free(c->cells[i]);
    free(c->cells);
    free(c->ids);
    free(c->bytes);
    jobops_checked_free(&c->checked);
}

/* Room for one more in an array of cap elements of size sz. */
static int grow(void **arr, size_t n, size_t *cap, size_t sz)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 256;
    void *p = realloc(*arr, nc * sz);
    if (!p)
        return -ENOMEM;
    *arr = p;
    *cap = nc;
    return 0;
}

/* The cell of a run of the job: its configuration with seed 0. */
static int add_cell(extend_ctx *c, const char *config_json, char *err,
                    size_t errlen)
{
    run_config cfg;
    int rc = config_parse_str(config_json, &cfg, err, errlen);
    if (rc < 0)
        return rc;
    if (cfg.seed > c->max_seed)
        c->max_seed = cfg.seed;
    cfg.seed = 0;
    char *cell = config_to_json(&cfg);
    config_free(&cfg);
    if (!cell || grow((void **)&c->cells, c->ncells, &c->cap,
                      sizeof *c->cells) < 0) {
        free(cell);
        return err_set(err, errlen, -ENOMEM, "out of memory");
    }
    c->cells[c->ncells++] = cell;
    return 0;
}

typedef struct scan {
    extend_ctx *c;
    int rc;
    char err[ERR_LEN];
} scan;

static int scan_run(void *ctx, const store_run_info *ri)
{
    scan *sc = ctx;
    extend_ctx *c = sc->c;
    c->next_index = ri->index + 1;
    if (!c->sp)
        return (sc->rc = add_cell(c, ri->config_json, sc->err,
                                  sizeof sc->err)) < 0;
    if (grow((void **)&c->have, c->nhave, &c->cap, sizeof *c->have) < 0) {
        sc->rc = err_set(sc->err, sizeof sc->err, -ENOMEM, "out of memory");
        return 1;
    }
    c->have[c->nhave++] = key_of(ri->config_json);
    return 0;
}

/* Reads what the job has: its configurations or cells, its last index. */
static int scan_job(extend_ctx *c, char *err, size_t errlen)
{
    scan sc = {c, 0, ""};
    int rc = store_run_list(c->w->st, c->r->job_id, 0, scan_run, &sc, err,
                            errlen);
    if (sc.rc < 0)
        return err_set(err, errlen, sc.rc, "%s", sc.err);
    if (rc < 0) {
        c->store_rc = rc == -ENOENT ? 0 : rc;
        return rc;
    }
    if (c->sp) {
        qsort(c->have, c->nhave, sizeof *c->have, key_cmp);
        return 0;
    }
    qsort(c->cells, c->ncells, sizeof *c->cells, str_cmp);
    size_t n = 0;
    for (size_t i = 0; i < c->ncells; i++) {
        if (n > 0 && strcmp(c->cells[n - 1], c->cells[i]) == 0)
            free(c->cells[i]);
        else
            c->cells[n++] = c->cells[i];
    }
    c->ncells = n;
    return 0;
}

/* Checks and inserts one new run; at (an index of the spec, or -1) and
 * the spec say where it sits in sentences. */
static int add_run(extend_ctx *c, long at, const run_config *cfg,
                   const char *config_json, char *err, size_t errlen)
{
    long long job = (long long)c->r->job_id;
    if (c->next_index >= SPEC_MAX_RUNS)
        return err_set(err, errlen, -E2BIG, "job %lld would have more than "
                       "%ld runs; submit another job", job, SPEC_MAX_RUNS);
    uint64_t need = 0;
    int rc = jobops_check_run(&c->checked, c->sp, c->limit,
                              at >= 0 ? at : c->next_index, cfg, &need, err,
                              errlen);
    if (rc < 0)
        return rc;
    if (c->nadd == c->addcap) {
        long cap = c->addcap ? 2 * c->addcap : 256;
        int64_t *ids = realloc(c->ids, (size_t)cap * sizeof *ids);
        if (ids)
            c->ids = ids;
        uint64_t *bytes = ids ? realloc(c->bytes, (size_t)cap * sizeof *bytes)
                              : NULL;
        if (!bytes)
            return err_set(err, errlen, -ENOMEM, "out of memory");
        c->bytes = bytes;
        c->addcap = cap;
    }
    rc = store_run_insert(c->w->st, c->r->job_id, c->next_index,
                          c->r->priority, cfg, config_json, need,
                          &c->ids[c->nadd], err, errlen);
    if (rc < 0) {
        c->store_rc = rc;
        return rc;
    }
    c->bytes[c->nadd++] = need;
    c->next_index++;
    return 0;
}

static int spec_emit(void *ctx, long index, const run_config *cfg,
                     const char *config_json, char *err, size_t errlen)
{
    extend_ctx *c = ctx;
    key2 k = key_of(config_json);
    if (bsearch(&k, c->have, c->nhave, sizeof k, key_cmp)) {
        c->existing++;
        return 0;
    }
    return add_run(c, index, cfg, config_json, err, errlen);
}

static int add_seeds(extend_ctx *c, char *err, size_t errlen)
{
    long k = c->r->u.extend.seeds;
    long long job = (long long)c->r->job_id;
    if ((double)c->ncells * (double)k + (double)c->next_index >
        (double)SPEC_MAX_RUNS)
        return err_set(err, errlen, -E2BIG, "seeds: %ld cells times %ld "
                       "seeds would give job %lld more than %ld runs",
                       (long)c->ncells, k, job, SPEC_MAX_RUNS);
    if (c->max_seed + (uint64_t)k > ((uint64_t)1 << 53))
        return err_set(err, errlen, -EINVAL, "seeds: seeds after %llu "
                       "would pass 2^53", (unsigned long long)c->max_seed);
    int rc = 0;
    for (size_t i = 0; i < c->ncells && rc == 0; i++) {
        run_config cfg;
        if ((rc = config_parse_str(c->cells[i], &cfg, err, errlen)) < 0)
            break;
        for (long s = 1; s <= k && rc == 0; s++) {
            cfg.seed = c->max_seed + (uint64_t)s;
            char *json = config_to_json(&cfg);
            rc = json ? add_run(c, -1, &cfg, json, err, errlen)
                      : err_set(err, errlen, -ENOMEM, "out of memory");
            free(json);
        }
        config_free(&cfg);
    }
    return rc;
}

static void extend_event(writer *w, const wreq *r, const extend_ctx *c,
                         int rc, const char *err)
{
    writer_event *ev = wev_add(w, WEV_EXTENDED, r);
    if (ev) {
        ev->rc = rc;
        ev->store_error = rc < 0 && c->store_rc != 0;
        ev->error = rc < 0 ? strdup(err) : NULL;
        ev->u.jobop.n = rc < 0 ? 0 : c->nadd;
        ev->u.jobop.existing = rc < 0 ? 0 : c->existing;
        char ignored[ERR_LEN];
        if (rc == 0)
            (void)store_job_counts(w->st, r->job_id, &ev->u.jobop.counts,
                                   ignored, sizeof ignored);
    }
    wev_publish(w);
}

static int apply(extend_ctx *c, char *err, size_t errlen)
{
    int rc = scan_job(c, err, errlen);
    if (rc == 0)
        rc = c->sp ? spec_expand(c->sp, spec_emit, c, err, errlen)
                   : add_seeds(c, err, errlen);
    if (rc == 0 && c->nadd > 0 &&
        (rc = store_job_grow(c->w->st, c->r->job_id, c->nadd, err,
                             errlen)) < 0)
        c->store_rc = rc;
    return rc;
}

int jobops_extend(writer *w, wreq *r, char *err, size_t errlen)
{
    extend_ctx c = {.w = w, .r = r, .sp = r->u.extend.spec,
                    .limit = sched_memory_ceiling(w->sc)};
    int rc = store_begin(w->st, err, errlen);
    if (rc < 0) {
        c.store_rc = rc;
    } else if ((rc = apply(&c, err, errlen)) == 0 &&
               (rc = store_commit(w->st, err, errlen)) < 0) {
        c.store_rc = rc;
    }
    if (rc < 0) {
        store_rollback(w->st);
        extend_event(w, r, &c, rc, err);
        int fault = writer_is_fault(c.store_rc) ? c.store_rc : 0;
        ctx_free(&c);
        return fault;
    }
    w->wal_dirty = true;
    /* Into the scheduler after the commit; held when the job is paused. */
    for (long i = 0; i < c.nadd; i++)
        (void)sched_push(w->sc, r->job_id, r->priority, c.ids[i], c.bytes[i]);
    log_info("job %lld extended: %ld runs added, %ld already there",
             (long long)r->job_id, c.nadd, c.existing);
    extend_event(w, r, &c, 0, err);
    ctx_free(&c);
    return 1;
}
