/* jobops.c — the job operations as the store thread applies them:
 * submit (a transaction of its own), cancel and retry (inside a group's
 * transaction, with the job's counts taken where the request sits), and
 * the runs listing (a read, served after the commit). See writer.h. */
#include "writer_internal.h"

#include <malloc.h>
#include <math.h>
#include <stdio.h>

#include "linrep.h"
#include "log.h"
#include "memlimit.h"

/* --- cancel, retry and Slurm records --- */

static int slurm_apply(writer *w, wreq *r, char *err, size_t errlen)
{
    int rc = store_slurm_record(w->st, r->job_id, r->u.slurm.slurm_job,
                                r->u.slurm.tasks, r->u.slurm.script, err,
                                errlen);
    wreq_set_rc(r, rc, err);
    return rc;
}

int jobops_apply(writer *w, wreq *r, char *err, size_t errlen)
{
    if (r->kind == WQ_SLURM)
        return slurm_apply(w, r, err, errlen);
    r->n = 0;
    if (r->kind == WQ_DELETE) {
        int rc = store_job_delete(w->st, r->job_id, &r->n, err, errlen);
        wreq_set_rc(r, rc, err);
        return rc;
    }
    r->resumable = 0;
    r->stopping = 0;
    if (r->kind == WQ_PAUSE || r->kind == WQ_RESUME) {
        int rc = store_job_pause(w->st, r->job_id, r->kind == WQ_PAUSE,
                                 &r->n, err, errlen);
        if (rc == 0)
            rc = store_job_counts(w->st, r->job_id, &r->counts, err, errlen);
        wreq_set_rc(r, rc, err);
        return rc;
    }
    int rc = r->kind == WQ_RETRY ? store_job_resumable(w->st, r->job_id,
                                                       &r->resumable, err,
                                                       errlen)
                                 : 0;
    if (rc == 0)
        rc = r->kind == WQ_CANCEL
                 ? store_job_cancel(w->st, r->job_id, &r->n, err, errlen)
                 : store_job_retry(w->st, r->job_id, &r->n, err, errlen);
    /* Counted here, inside the transaction, so that the snapshot sits
     * exactly where the request does in the event order: the run events
     * after it in this group are deltas on top of it. */
    if (rc == 0)
        rc = store_job_counts(w->st, r->job_id, &r->counts, err, errlen);
    wreq_set_rc(r, rc, err);
    return rc;
}

typedef struct queue_filter {
    writer *w;
    int64_t job_id;
    long pushed;
} queue_filter;

static int push_job_runs(void *ctx, int64_t job_id, int priority,
                         int64_t run_id, uint64_t mem_bytes)
{
    queue_filter *f = ctx;
    if (job_id == f->job_id && sched_push(f->w->sc, job_id, priority,
                                          run_id, mem_bytes) == 0)
        f->pushed++;
    return 0;
}

/* The scheduler follows a committed pause, resume, cancel or delete
 * (jobctl.h): in the order the store thread committed them. */
static void sched_follow(writer *w, wreq *r)
{
    int rc = 0;
    if (r->rc < 0)
        return;
    if (r->kind == WQ_PAUSE)
        rc = sched_hold_job(w->sc, r->job_id, r->priority, NULL,
                            &r->stopping);
    else if (r->kind == WQ_DELETE)
        sched_cancel_job(w->sc, r->job_id, NULL, NULL);   /* held runs */
    if (r->kind == WQ_RESUME || r->kind == WQ_CANCEL || r->kind == WQ_DELETE)
        rc = sched_unhold_job(w->sc, r->job_id, NULL);
    if (rc < 0)
        log_error("job %lld: out of memory %s it in the scheduler; restart "
                  "the daemon to apply it", (long long)r->job_id,
                  r->kind == WQ_PAUSE ? "holding" : "releasing");
}

static writer_event_kind event_of(const wreq *r)
{
    switch (r->kind) {
    case WQ_CANCEL: return WEV_CANCELED;
    case WQ_RETRY: return WEV_RETRIED;
    case WQ_DELETE: return WEV_DELETED;
    case WQ_PAUSE: return WEV_PAUSED;
    case WQ_RESUME: return WEV_RESUMED;
    default: return WEV_SLURM_RECORDED;
    }
}

void jobops_after(writer *w, wreq *r)
{
    sched_follow(w, r);
    writer_event *ev = wev_add(w, event_of(r), r);
    if (!ev)
        return;
    ev->rc = r->rc;
    if (r->kind == WQ_SLURM) {
        ev->u.slurm.slurm_job = r->u.slurm.slurm_job;
        ev->u.slurm.tasks = r->u.slurm.tasks;
        if (r->rc < 0)
            ev->error = r->rc_error ? strdup(r->rc_error) : NULL;
        return;
    }
    ev->u.jobop.n = r->n;
    ev->u.jobop.resumable = r->resumable;
    ev->u.jobop.stopping = r->stopping;
    if (r->rc < 0) {
        ev->error = r->rc_error ? strdup(r->rc_error) : NULL;
        return;
    }
    ev->u.jobop.counts = r->counts;
    if (r->kind == WQ_RETRY) {
        char err[ERR_LEN];
        /* The runs just queued again enter the scheduler; runs it holds
         * already (queued, or leased and not yet stored) are refused by
         * sched_push, so none runs twice. */
        queue_filter f = {w, r->job_id, 0};
        if (store_queue_load(w->st, push_job_runs, &f, err, sizeof err) < 0)
            log_error("job %lld: retried runs not scheduled: %s",
                      (long long)r->job_id, err);
    }
}

/* --- listing runs --- */

typedef struct runs_page {
    writer_event *ev;
    int limit;
} runs_page;

static int collect_run(void *ctx, const store_run_info *ri)
{
    runs_page *p = ctx;
    writer_event *ev = p->ev;
    if (ev->u.runs.nrows == p->limit) {
        ev->u.runs.next_index = ri->index;   /* one more exists: the next page */
        return 1;
    }
    writer_run_row *row = &ev->u.runs.rows[ev->u.runs.nrows++];
    *row = (writer_run_row){ri->run_id, ri->index, ri->state, ri->attempts,
                            ri->error ? strdup(ri->error) : NULL, ri->gap,
                            ri->train_loss, ri->lin_loss};
    return 0;
}

void jobops_serve_runs(writer *w, wreq *r)
{
    writer_event *ev = wev_add(w, WEV_RUNS, r);
    if (!ev)
        return;
    ev->u.runs.next_index = -1;
    ev->u.runs.rows = calloc((size_t)r->u.runs.limit, sizeof *ev->u.runs.rows);
    if (!ev->u.runs.rows) {
        ev->rc = -ENOMEM;
        ev->error = strdup("out of memory");
        return;
    }
    char err[ERR_LEN];
    runs_page p = {ev, r->u.runs.limit};
    int rc = store_run_list(w->st, r->job_id, r->u.runs.from_index,
                            collect_run, &p, err, sizeof err);
    if (rc < 0) {
        ev->rc = rc;
        ev->store_error = rc != -ENOENT;
        ev->error = strdup(err);
    }
}

/* --- submissions --- */

/* A job larger than this is stored in chunks of this many runs, each its
 * own transaction, with the other jobs' results committed between them:
 * a million runs held the store thread for minutes in one transaction
 * (issue 9 §5). About 1 s of inserts on the machines measured. */
#define JOBOPS_CHUNK_RUNS 20000

typedef struct submit_ctx {
    writer *w;
    const job_spec *spec;
    int64_t job_id;
    int priority;
    int64_t *ids;
    uint64_t *bytes;      /* each run's memory estimate */
    uint64_t limit;       /* the scheduler's memory ceiling; 0: none */
    int store_rc;
    jobops_between_fn between;   /* between chunks */
    bool chunked;         /* stored in chunks: partial until the last */
    long since_commit;    /* runs inserted in the open transaction */
    checked_files checked;
    linrep lin;           /* linear runs the sweep repeats */
} submit_ctx;

void jobops_checked_free(checked_files *cf)
{
    for (int i = 0; i < CHECKED_FILES; i++)
        free(cf->keys[i]);
}

static void ctx_free(submit_ctx *c)
{
    free(c->ids);
    free(c->bytes);
    jobops_checked_free(&c->checked);
    linrep_free(&c->lin);
}

/* Between two chunks: commit, let other jobs' results in, go on. */
static int chunk_boundary(submit_ctx *c, char *err, size_t errlen)
{
    c->since_commit = 0;
    int rc = store_commit(c->w->st, err, errlen);
    if (rc == 0)
        rc = c->between(c->w, err, errlen);
    if (rc == 0)
        rc = store_begin(c->w->st, err, errlen);
    return rc;
}

/* A chunked submission that failed: what its chunks committed goes. If
 * even that fails (the disk), the next start deletes it (store_recover). */
static void abandon(submit_ctx *c)
{
    store *st = c->w->st;
    char err[ERR_LEN];
    store_rollback(st);
    if (!c->chunked || !c->job_id)
        return;
    if (store_begin(st, err, sizeof err) == 0 &&
        store_job_discard(st, c->job_id, err, sizeof err) == 0 &&
        store_commit(st, err, sizeof err) == 0)
        return;
    store_rollback(st);
    log_warn("job %lld: its partial submission stays in the database until "
             "the next start deletes it: %s", (long long)c->job_id, err);
}

/* " (the sweep point)" of run index of sp (may be NULL), or "". */
static void point_of(const job_spec *sp, long index, char *at, size_t len)
{
    char point[200] = "";
    if (sp)
        spec_point(sp, index, point, sizeof point);
    snprintf(at, len, point[0] ? " (%s)" : "%s", point);
}

/* A run that can never start under the memory limit refuses the job,
 * with where the run sits in the sweep and the estimate. */
static int too_big(const job_spec *sp, uint64_t limit, long index,
                   uint64_t need, char *err, size_t errlen)
{
    char at[216], needs[32], lim[32];
    point_of(sp, index, at, sizeof at);
    memlimit_format(need, needs, sizeof needs);
    memlimit_format(limit, lim, sizeof lim);
    return err_set(err, errlen, -E2BIG,
                   "run %ld%s needs about %s of memory, more than the daemon's "
                   "memory limit of %s (--memory-limit)", index, at, needs, lim);
}

/* A data file the run cannot work with refuses the job, with the run's
 * place in the sweep and the sentence (and line) it would fail with. */
static int check_data(checked_files *checked, const job_spec *sp,
                      long index, const run_config *cfg, char *err,
                      size_t errlen)
{
    const data_config *dc = &cfg->data;
    if (dc->source != DATA_CSV)
        return 0;
    char *key = NULL;
    if (asprintf(&key, "%s\n%s\n%d\n%d", dc->path ? dc->path : "",
                 dc->target_column ? dc->target_column : "y",
                 config_is_classification(cfg->loss), dc->intercept) < 0)
        return err_set(err, errlen, -ENOMEM, "out of memory");
    for (int i = 0; i < CHECKED_FILES; i++) {
        if (checked->keys[i] && strcmp(checked->keys[i], key) == 0) {
            free(key);
            return 0;
        }
    }
    char why[ERR_LEN], at[216];
    int rc = engine_check_data(cfg, why, sizeof why);
    if (rc < 0) {
        free(key);
        point_of(sp, index, at, sizeof at);
        return err_set(err, errlen, -EINVAL, "run %ld%s: %s", index, at, why);
    }
    free(checked->keys[checked->next]);
    checked->keys[checked->next] = key;
    checked->next = (checked->next + 1) % CHECKED_FILES;
    return 0;
}

/* The job's swept keys into job_params, once, before its runs. */
static int record_keys(const submit_ctx *c, char *err, size_t errlen)
{
    const char *keys[SPEC_MAX_SWEEP_KEYS + 1], *sweeps[SPEC_MAX_SWEEP_KEYS + 1];
    int n = spec_nkeys(c->spec);
    for (int k = 0; k < n; k++) {
        keys[k] = spec_key(c->spec, k);
        sweeps[k] = spec_key_sweep(c->spec, k);
    }
    return n ? store_job_params_insert(c->w->st, c->job_id, n, keys, sweeps,
                                       err, errlen)
             : 0;
}

/* The run's value of each swept key into run_params, in the transaction
 * that stores the run, taken from the validated configuration (so typed
 * and spelled as runs.config writes them). */
static int record_values(const submit_ctx *c, int64_t run_id,
                         const run_config *cfg, char *err, size_t errlen)
{
    const char *keys[SPEC_MAX_SWEEP_KEYS + 1];
    config_value vals[SPEC_MAX_SWEEP_KEYS + 1];
    int n = spec_nkeys(c->spec), got = 0, rc = 0;
    for (; got < n && rc == 0; got++) {
        keys[got] = spec_key(c->spec, got);
        rc = config_value_at(cfg, keys[got], &vals[got], err, errlen);
    }
    if (rc == 0 && n)
        rc = store_run_params_insert(c->w->st, run_id, n, keys, vals, err,
                                     errlen);
    for (int k = 0; k < got; k++)
        config_value_free(&vals[k]);
    return rc;
}

int jobops_check_run(checked_files *checked, const job_spec *sp,
                     uint64_t limit, long index, const run_config *cfg,
                     uint64_t *need, char *err, size_t errlen)
{
    int rc = check_data(checked, sp, index, cfg, err, errlen);
    if (rc < 0)
        return rc;
    *need = engine_estimate_bytes(cfg);
    return limit && *need > limit ? too_big(sp, limit, index, *need, err,
                                            errlen)
                                  : 0;
}

static int submit_emit(void *ctx, long index, const run_config *cfg,
                       const char *config_json, char *err, size_t errlen)
{
    submit_ctx *c = ctx;
    uint64_t need = 0;
    int crc = jobops_check_run(&c->checked, c->spec, c->limit, index, cfg,
                               &need, err, errlen);
    if (crc < 0)
        return crc;
    c->bytes[index] = need;
    if (linrep_note(&c->lin, cfg) < 0)
        log_warn("out of memory counting repeated linear runs; the count "
                 "is short");
    int rc = store_run_insert(c->w->st, c->job_id, index, c->priority, cfg,
                              config_json, need, &c->ids[index], err, errlen);
    if (rc == 0)
        rc = record_values(c, c->ids[index], cfg, err, errlen);
    if (rc == 0 && c->chunked && ++c->since_commit >= JOBOPS_CHUNK_RUNS)
        rc = chunk_boundary(c, err, errlen);
    if (rc < 0)
        c->store_rc = rc;
    return rc;
}

static int copy_job_info(void *ctx, const store_job_info *ji)
{
    writer_event *ev = ctx;
    ev->u.submitted.created_at = ji->created_at;
    ev->u.submitted.counts = ji->counts;
    return 0;
}

static void submit_failed(writer *w, wreq *r, int rc, bool store_error,
                          const char *err)
{
    writer_event *ev = wev_add(w, WEV_SUBMIT_FAILED, r);
    if (ev) {
        ev->rc = rc;
        ev->store_error = store_error;
        ev->error = strdup(err);
    }
    wev_publish(w);
}

static void submitted(writer *w, wreq *r, const submit_ctx *c, long n)
{
    const job_spec *sp = r->u.spec;
    writer_event *ev = wev_add(w, WEV_SUBMITTED, r);
    if (ev) {
        ev->job_id = c->job_id;
        ev->u.submitted.name = strdup(spec_name(sp));
        ev->u.submitted.priority = c->priority;
        ev->u.submitted.n_runs = n;
        ev->u.submitted.created_at = NAN;
        ev->u.submitted.counts.total = n;
        ev->u.submitted.counts.by_state[RUN_QUEUED] = n;
        ev->u.submitted.linear_repeats = c->lin.repeated;
        char keys[200];
        linrep_keys(&c->lin, keys, sizeof keys);
        ev->u.submitted.linear_keys = c->lin.repeated ? strdup(keys) : NULL;
        char ignored[ERR_LEN];
        (void)store_job_list(w->st, c->job_id, copy_job_info, ev, ignored,
                             sizeof ignored);
    }
    log_info("job %lld \"%s\": %ld runs queued, priority %d",
             (long long)c->job_id, spec_name(sp), n, c->priority);
    wev_publish(w);
}

int jobops_submit(writer *w, wreq *r, jobops_between_fn between, char *err,
                  size_t errlen)
{
    const job_spec *sp = r->u.spec;
    long n = spec_count(sp);
    submit_ctx c = {w, sp, 0, spec_priority(sp), NULL, NULL,
                    sched_memory_ceiling(w->sc), 0, between, n > JOBOPS_CHUNK_RUNS,
                    0, {{NULL}, 0}, {0}};
    c.ids = malloc((size_t)(n > 0 ? n : 1) * sizeof *c.ids);
    c.bytes = malloc((size_t)(n > 0 ? n : 1) * sizeof *c.bytes);
    if (!c.ids || !c.bytes) {
        ctx_free(&c);
        submit_failed(w, r, -ENOMEM, false, "out of memory expanding the job");
        return 0;
    }
    int rc = store_begin(w->st, err, errlen);
    if (rc < 0)
        goto fail_store;
    rc = store_job_insert(w->st, spec_name(sp), c.priority,
                          spec_max_attempts(sp), spec_json(sp), n, &c.job_id,
                          err, errlen);
    if (rc == 0)
        rc = record_keys(&c, err, errlen);
    if (rc == 0 && c.chunked)
        rc = store_job_partial(w->st, c.job_id, err, errlen);
    if (rc < 0) {
        c.store_rc = rc;
        goto fail_store;
    }
    rc = spec_expand(sp, submit_emit, &c, err, errlen);
    if (rc == 0 && c.chunked &&
        (rc = store_job_complete(w->st, c.job_id, err, errlen)) < 0)
        c.store_rc = rc;
    if (rc < 0 && c.store_rc == 0) {
        abandon(&c);
        ctx_free(&c);
        /* the spec, or a run over the memory limit: invalid_spec */
        submit_failed(w, r, rc, false, err);
        return 0;
    }
    if (rc < 0 || (rc = store_commit(w->st, err, errlen)) < 0)
        goto fail_store;
    w->wal_dirty = true;
    for (long i = 0; i < n; i++)
        (void)sched_push(w->sc, c.job_id, c.priority, c.ids[i], c.bytes[i]);
    submitted(w, r, &c, n);
    ctx_free(&c);
    /* The expansion's transient memory (configurations, ids, SQLite's
     * pages) goes back to the kernel: the daemon keeps freed memory
     * mapped otherwise (main.c, tune_malloc), and a 1M-run job left
     * 1.5 GB resident (issue 9 §5). */
    if (n >= WRITER_TRIM_RUNS)
        malloc_trim(0);
    return 1;
fail_store:
    abandon(&c);
    ctx_free(&c);
    submit_failed(w, r, rc, true, err);
    /* begin and commit fail only for the disk's reasons; an insert may
     * also fail for a value the schema refused, which is no fault. */
    return writer_is_fault(rc) ? rc : c.store_rc == 0 ? -EIO : 0;
}
