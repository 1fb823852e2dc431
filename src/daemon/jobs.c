/* jobs.c — the jobs as the loop thread sees them: counters by state,
 * restored from the store at start and moved by the store thread's
 * events, with a rate and an ETA, so status and watch cost no query
 * (server.h). */
#include "server_internal.h"

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

double server__now(void)
{
    return (double)uv_hrtime() * 1e-9;
}

job *server__job_find(server *s, int64_t id)
{
    size_t lo = 0, hi = s->njobs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->jobs[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->njobs && s->jobs[lo].id == id ? &s->jobs[lo] : NULL;
}

job *server__job_add(server *s, int64_t id, const char *name, int priority,
                    long n_runs, double created_at, const job_counts *counts)
{
    job *j = server__job_find(s, id);
    if (j)
        return j;
    if (s->njobs == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        job *p = realloc(s->jobs, cap * sizeof *p);
        if (!p)
            return NULL;
        s->jobs = p;
        s->cap = cap;
    }
    size_t at = s->njobs;   /* ids grow: appending is the rule */
    while (at > 0 && s->jobs[at - 1].id > id)
        at--;
    memmove(&s->jobs[at + 1], &s->jobs[at], (s->njobs - at) * sizeof *s->jobs);
    j = &s->jobs[at];
    *j = (job){.id = id, .name = strdup(name ? name : ""),
               .priority = priority, .n_runs = n_runs,
               .created_at = created_at, .counts = *counts, .version = 1};
    s->njobs++;
    return j;
}

void server__job_remove(server *s, int64_t id)
{
    job *j = server__job_find(s, id);
    if (!j)
        return;
    free(j->name);
    free(j->rate);
    size_t at = (size_t)(j - s->jobs);
    memmove(j, j + 1, (s->njobs - at - 1) * sizeof *j);
    s->njobs--;
}

long server__job_active(const job *j)
{
    return j->counts.by_state[RUN_QUEUED] + j->counts.by_state[RUN_RUNNING];
}

bool server__job_held(const job *j)
{
    return j->paused && server__job_active(j) > 0 &&
           j->counts.by_state[RUN_RUNNING] == 0;
}

static long finished_runs(const job *j)
{
    const long *b = j->counts.by_state;
    return b[RUN_STATE_DONE] + b[RUN_FAILED] + b[RUN_STATE_DIVERGED] +
           b[RUN_CANCELED];
}

static const char *job_state(const job *j)
{
    return run_state_job(j->counts.by_state, j->paused);
}

static void rate_note_end(job *j, double now)
{
    if (!j->rate && !(j->rate = calloc(1, sizeof *j->rate)))
        return;
    if (j->rate->t_first == 0)
        j->rate->t_first = now;
    int64_t sec = (int64_t)now;
    int i = (int)(sec % SERVER_RATE_WINDOW_S);
    if (j->rate->sec[i] != sec) {
        j->rate->sec[i] = sec;
        j->rate->count[i] = 0;
    }
    j->rate->count[i]++;
}

/* Runs ended per minute over the window (or since the job's first start
 * in this session, when that is shorter); NAN when nothing ended yet. */
static double rate_per_min(const job *j, double now)
{
    if (!j->rate || j->rate->t_first == 0)
        return NAN;
    int64_t sec = (int64_t)now;
    long n = 0;
    for (int i = 0; i < SERVER_RATE_WINDOW_S; i++)
        if (j->rate->count[i] && sec - j->rate->sec[i] < SERVER_RATE_WINDOW_S)
            n += j->rate->count[i];
    double span = now - j->rate->t_first;
    if (span > SERVER_RATE_WINDOW_S)
        span = SERVER_RATE_WINDOW_S;
    if (span < 1)
        span = 1;
    return n > 0 ? (double)n * 60.0 / span : 0.0;
}

void server__job_changed(job *j)
{
    j->version++;
    if (server__job_active(j) == 0 && j->rate) {
        free(j->rate);   /* ended: its rate is of no more use */
        j->rate = NULL;
        /* The store thread's backlog of reports, the workers' buffers:
         * their peak depended on how far the store fell behind. Once a
         * large job, 0.1 ms measured (after 10,000 tiny runs): cheap
         * enough for the loop thread. */
        if (j->n_runs >= WRITER_TRIM_RUNS)
            malloc_trim(0);
    }
}

void server__job_counts_move(job *j, enum run_state from, enum run_state to)
{
    if (j->counts.by_state[from] > 0)
        j->counts.by_state[from]--;
    j->counts.by_state[to]++;
}

cJSON *server__job_json(const job *j)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    const long *b = j->counts.by_state;
    double now = server__now();
    double rate = rate_per_min(j, now);
    long left = server__job_active(j);
    cJSON_AddNumberToObject(o, "job", (double)j->id);
    cJSON_AddStringToObject(o, "name", j->name);
    cJSON_AddNumberToObject(o, "priority", j->priority);
    cJSON_AddStringToObject(o, "state", job_state(j));
    cJSON_AddBoolToObject(o, "paused", j->paused);
    cJSON_AddNumberToObject(o, "total", (double)j->counts.total);
    cJSON_AddNumberToObject(o, "queued", (double)b[RUN_QUEUED]);
    cJSON_AddNumberToObject(o, "running", (double)b[RUN_RUNNING]);
    cJSON_AddNumberToObject(o, "done", (double)b[RUN_STATE_DONE]);
    cJSON_AddNumberToObject(o, "failed", (double)b[RUN_FAILED]);
    cJSON_AddNumberToObject(o, "diverged", (double)b[RUN_STATE_DIVERGED]);
    cJSON_AddNumberToObject(o, "canceled", (double)b[RUN_CANCELED]);
    cJSON_AddNumberToObject(o, "finished", (double)finished_runs(j));
    cJSON_AddNumberToObject(o, "rate_per_min", isnan(rate) ? NAN : rate);
    cJSON_AddNumberToObject(o, "eta_s",
                            left == 0 ? 0
                            : rate > 0 && !j->paused ? (double)left * 60.0 / rate
                                       : NAN);
    cJSON_AddNumberToObject(o, "created_at", j->created_at);
    return o;   /* cJSON writes NAN as null */
}

int server_job_restore(void *server_, const store_job_info *ji)
{
    server *s = server_;
    job *j = server__job_add(s, ji->job_id, ji->name, ji->priority,
                             ji->n_runs, ji->created_at, &ji->counts);
    if (!j)
        return -ENOMEM;
    j->paused = !isnan(ji->paused_at);
    return 0;
}

void server__job_run_started(job *j)
{
    server__job_counts_move(j, RUN_QUEUED, RUN_RUNNING);
    if (!j->rate && (j->rate = calloc(1, sizeof *j->rate)))
        j->rate->t_first = server__now();
}

void server__job_run_ended(job *j, enum run_state state)
{
    server__job_counts_move(j, RUN_RUNNING, state);
    rate_note_end(j, server__now());
}

void server__jobs_free(server *s)
{
    for (size_t i = 0; i < s->njobs; i++) {
        free(s->jobs[i].name);
        free(s->jobs[i].rate);
    }
    free(s->jobs);
    s->jobs = NULL;
    s->njobs = s->cap = 0;
}
