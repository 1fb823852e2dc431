/* Issue 9 §4: a cancel or a suspend takes effect within 100 ms in every
 * phase of a run (engine.h), not only between training steps.
 *
 * Each case runs engine_run on a configuration whose phase under test
 * lasts well over a second (the full lengths, measured on the 2-core CI
 * machine with the plain build, are beside each case), asks for the stop
 * a fixed time into that phase, and measures from that moment to
 * engine_run's return: the wait for the next poll plus the unwinding.
 * Before the poller, the stop waited for the phase's end (the data and
 * baseline cases took 1.9 s and 3.8 s) or was never seen at all (a run
 * with no training step canceled in its analysis ended done).
 *
 * The bound. The contract is 100 ms; the test allows 150 ms, and 250 ms
 * under a sanitizer (which slows the engine's own loops 2-10x, not the
 * BLAS), because it shares two cores with builds and other tests: a thread
 * that is runnable but not running for a few time slices is not a missing
 * poll. For the same reason a case gets three tries and passes when one of
 * them meets the bound: a phase that does not poll misses it every time
 * (by a second or more), while load rarely lasts through three tries.
 * When it does (measured: a load average of 8 on the two cores stretched
 * 10 ms of the engine's CPU time between two polls to 190 ms of wall
 * time), the case falls back to the engine thread's own CPU time from its
 * last poll before the request to its return, which load does not
 * inflate, against the same bound, with the wall time under a second (so
 * that a wait, which costs no CPU, still fails). Every try's latencies
 * are printed. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "blas.h"
#include "config.h"
#include "engine.h"
#include "lanczos.h"
#include "poller.h"
#include "spectrum.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

#define CONTRACT_S 0.100
#define BOUND_S (SANITIZED ? 0.250 : 0.150)
#define LOADED_WALL_S 1.0
#define TRIES 3

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

/* The hooks run on engine_run's thread: this is the engine's CPU time. */
static double cpu_s(void)
{
    return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

/* The hooks of one try: the stop is asked for from delay_s into the
 * target phase on. */
typedef struct watch {
    enum run_phase target;
    double delay_s;
    enum run_poll answer;     /* RUN_CANCEL or RUN_SUSPEND */
    double t_target;          /* when the target phase began; 0 before */
    double t_answered;        /* the first stop answer; 0 before */
    double cpu_continue;      /* CPU time at the last RUN_CONTINUE answer */
    bool left;                /* a later phase began after the target */
    int nckpt;
    long ckpt_step;
    unsigned char *ckpt;
    size_t ckpt_len;
} watch;

static void on_phase(void *ctx, enum run_phase phase)
{
    watch *w = ctx;
    if (phase == w->target)
        w->t_target = now_s();
    else if (w->t_target > 0)
        w->left = true;
}

static enum run_poll on_poll(void *ctx)
{
    watch *w = ctx;
    if (w->t_target == 0 || w->left || now_s() < w->t_target + w->delay_s) {
        w->cpu_continue = cpu_s();
        return RUN_CONTINUE;
    }
    if (w->t_answered == 0)
        w->t_answered = now_s();
    return w->answer;
}

static int on_checkpoint(void *ctx, const checkpoint *ck)
{
    watch *w = ctx;
    free(w->ckpt);
    w->ckpt = malloc(ck->len);
    assert_non_null(w->ckpt);
    memcpy(w->ckpt, ck->data, ck->len);
    w->ckpt_len = ck->len;
    w->ckpt_step = ck->step;
    w->nckpt++;
    return 0;
}

/* One try: the code engine_run returned, the latency in *lat and the
 * engine's CPU time over it (an upper bound: from the last poll before the
 * request) in *cpu. */
static int try_stop(const run_config *c, watch *w, run_result *r, double *lat,
                    double *cpu)
{
    run_hooks h = {.ctx = w, .poll = on_poll, .phase = on_phase,
                   .checkpoint = on_checkpoint};
    char err[512] = "";
    int rc = engine_run(c, &h, r, err, sizeof err);
    double t_end = now_s();
    *cpu = cpu_s() - w->cpu_continue;
    if (w->t_target == 0)
        fail_msg("the phase under test never began (rc %d: %s)", rc, err);
    *lat = t_end - (w->t_target + w->delay_s);
    if (w->left || w->t_answered == 0)
        fail_msg("the phase ended before the stop took effect (rc %d, %.0f ms "
                 "after the request): the test's configuration is too small, "
                 "or the phase does not poll", rc, 1e3 * *lat);
    return rc;
}

/* The stop of `answer` during `target` returns `expect` within BOUND_S,
 * in one of TRIES tries. */
static void stops_in_time(const run_config *c, const char *name,
                          enum run_phase target, double delay_s,
                          enum run_poll answer, int expect)
{
    double best = INFINITY, best_cpu = INFINITY, worst = 0;
    for (int t = 0; t < TRIES && !(best <= BOUND_S); t++) {
        watch w = {.target = target, .delay_s = delay_s, .answer = answer};
        run_result r;
        double lat, cpu;
        assert_int_equal(try_stop(c, &w, &r, &lat, &cpu), expect);
        if (target != RUN_PHASE_ANALYSIS)
            assert_int_equal(w.nckpt, 0); /* nothing worth keeping yet */
        free(w.ckpt);
        print_message("# %s: stopped %.1f ms after the request, %.1f ms of engine "
                      "CPU (try %d; contract %.0f ms, bound here %.0f ms)\n",
                      name, 1e3 * lat, 1e3 * cpu, t + 1, 1e3 * CONTRACT_S,
                      1e3 * BOUND_S);
        best = lat < best ? lat : best;
        best_cpu = cpu < best_cpu ? cpu : best_cpu;
        worst = lat > worst ? lat : worst;
    }
    if (best <= BOUND_S)
        return;
    if (best_cpu <= BOUND_S && worst <= LOADED_WALL_S) {
        print_message("# %s: the machine is loaded; the engine's CPU time meets "
                      "the bound\n", name);
        return;
    }
    fail_msg("%s: the best of %d tries took %.1f ms (%.1f ms of CPU)", name,
             TRIES, 1e3 * best, 1e3 * best_cpu);
}

/* ---- the configurations ---- */

static run_config quiet(void)
{
    run_config c;
    config_defaults(&c);
    c.data.n_test = 0;
    c.train.steps = 0;
    c.train.curve_points = 0;
    c.analysis.hessian = false;
    return c;
}

/* Data: 8000 samples of a teacher_mlp 500 wide on 500 features, 2e9
 * multiply-adds of targets (1.9 s; 32 MB). */
static run_config big_data(void)
{
    run_config c = quiet();
    c.data.n = 8000;
    c.data.d = 500;
    c.data.teacher_width = 500;
    return c;
}

static void cancel_in_data_generation(void **state)
{
    (void)state;
    run_config c = big_data();
    stops_in_time(&c, "data generation", RUN_PHASE_DATA, 0.3, RUN_CANCEL,
                  ENGINE_ECANCELED);
}

/* A suspend before training hands over no checkpoint (stops_in_time
 * checks) and says ENGINE_ESUSPENDED: the daemon requeues the run. */
static void suspend_in_data_generation(void **state)
{
    (void)state;
    run_config c = big_data();
    stops_in_time(&c, "data generation (suspend)", RUN_PHASE_DATA, 0.3,
                  RUN_SUSPEND, ENGINE_ESUSPENDED);
}

/* CSV: 400,000 rows of 11 columns, 15.6 MB (0.9 s to read, shuffle and
 * copy). */
static void cancel_in_csv_reading(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/cancel-%d.csv",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("a,b,c,d,e,f,g,h,i,j,y\n", f);
    for (int i = 0; i < 400000; i++)
        fputs("0.5,-1.25,3,0.125,2,-7,0.75,1,2.5,-3,1\n", f);
    assert_int_equal(fclose(f), 0);
    run_config c = quiet();
    c.data.source = DATA_CSV;
    c.data.path = path;
    stops_in_time(&c, "CSV reading", RUN_PHASE_DATA, 0.1, RUN_CANCEL,
                  ENGINE_ECANCELED);
    c.data.path = NULL; /* not owned: config_free is not called */
    unlink(path);
}

/* Baseline: logistic regression on 6000 x 1000, Newton's method with a
 * 1000 x 1000 Hessian per iteration (Gram, tiled Cholesky, line search):
 * 3.8 s; 48 MB. */
static void cancel_in_the_linear_fit(void **state)
{
    (void)state;
    run_config c = quiet();
    c.data.n = 6000;
    c.data.d = 1000;
    c.data.target = TARGET_LINEAR;
    c.data.flip = 0.1;
    c.loss = LOSS_LOGISTIC;
    stops_in_time(&c, "linear fit", RUN_PHASE_BASELINE, 0.3, RUN_CANCEL,
                  ENGINE_ECANCELED);
}

/* Analysis: 400 Lanczos iterations on a resnet of 6,900 parameters over
 * 4000 samples (7 s), after a single training step. */
static run_config long_analysis(void)
{
    run_config c = quiet();
    c.data.n = 4000;
    c.data.d = 20;
    c.model.width = 64;
    c.train.steps = 1;
    c.analysis.hessian = true;
    c.analysis.lanczos_iters = 400;
    return c;
}

static void cancel_in_the_analysis(void **state)
{
    (void)state;
    run_config c = long_analysis();
    stops_in_time(&c, "end-point analysis", RUN_PHASE_ANALYSIS, 0.3,
                  RUN_CANCEL, ENGINE_ECANCELED);
}

static void assert_same_numbers(const run_result *a, const run_result *b)
{
    run_result x = *a, y = *b;
    x.train_s = y.train_s = x.analysis_s = y.analysis_s = x.total_s = y.total_s = 0;
    assert_memory_equal(&x, &y, sizeof x);
}

/* A suspend in the analysis hands over the finished training; the resumed
 * run trains no further and ends with the uninterrupted run's numbers. */
static void suspend_in_the_analysis_resumes_there(void **state)
{
    (void)state;
    run_config c = quiet();
    c.data.n = 1000;
    c.data.d = 10;
    c.data.n_test = 200;
    c.train.steps = 30;
    c.analysis.hessian = true;
    c.analysis.lanczos_iters = 100;
    run_result full, part, rest;
    char err[512] = "";
    assert_int_equal(engine_run(&c, NULL, &full, err, sizeof err), 0);
    watch w = {.target = RUN_PHASE_ANALYSIS, .delay_s = 0, .answer = RUN_SUSPEND};
    double lat, cpu;
    assert_int_equal(try_stop(&c, &w, &part, &lat, &cpu), ENGINE_ESUSPENDED);
    assert_int_equal(w.nckpt, 1);
    assert_int_equal(w.ckpt_step, 30);
    checkpoint ck = {.data = w.ckpt, .len = w.ckpt_len, .step = w.ckpt_step};
    run_hooks h = {.resume = &ck};
    assert_int_equal(engine_run(&c, &h, &rest, err, sizeof err), 0);
    assert_int_equal(rest.steps, 30);
    assert_same_numbers(&full, &rest);
    free(w.ckpt);
}

/* Lanczos's own work between two products: with a stored basis past the
 * default 64 MiB (analysis.lanczos_memory_mib), one iteration's
 * reorthogonalisation is four passes over it, 0.2 s at 488 MiB and 1.2 s
 * at 2 GiB before those passes ticked the poller. The product here never
 * polls (a model's does, between its chunks), so only Lanczos's own ticks
 * can stop it: 60 iterations on 500,000 parameters (a 229 MiB basis,
 * 3 s) are canceled 50 ms in. */
typedef struct timed_cancel {
    double t_request, cpu_request;
} timed_cancel;

static enum run_poll cancel_from(void *ctx)
{
    timed_cancel *t = ctx;
    if (now_s() < t->t_request) {
        t->cpu_request = cpu_s();
        return RUN_CONTINUE;
    }
    return RUN_CANCEL;
}

static int diagonal_op(void *ctx, const double *v, double *out)
{
    size_t dim = *(const size_t *)ctx;
    for (size_t i = 0; i < dim; i++)
        out[i] = (1.0 + (double)(i % 1000)) * v[i];
    return 0;
}

/* A computation on diagonal_op that a poller can stop (the product never
 * polls): returns its code. */
typedef int (*own_work_fn)(poller *pl, char *err, size_t errlen);

/* fn, canceled 50 ms in, returns ENGINE_ECANCELED within the bound with
 * no sentence, in one of TRIES tries. */
static void own_work_stops(const char *name, own_work_fn fn)
{
    double best = INFINITY, best_cpu = INFINITY, worst = 0;
    for (int t = 0; t < TRIES && !(best <= BOUND_S); t++) {
        timed_cancel tc = {.t_request = now_s() + 0.05};
        tc.cpu_request = cpu_s();
        run_hooks h = {.ctx = &tc, .poll = cancel_from};
        poller pl;
        poller_init(&pl, &h);
        char err[256] = "";
        int rc = fn(&pl, err, sizeof err);
        double lat = now_s() - tc.t_request, cpu = cpu_s() - tc.cpu_request;
        assert_int_equal(rc, ENGINE_ECANCELED);
        assert_string_equal(err, ""); /* a stop is not a failed product */
        print_message("# %s: stopped %.1f ms after the request, %.1f ms of "
                      "CPU (try %d)\n", name, 1e3 * lat, 1e3 * cpu, t + 1);
        best = lat < best ? lat : best;
        best_cpu = cpu < best_cpu ? cpu : best_cpu;
        worst = lat > worst ? lat : worst;
    }
    if (best <= BOUND_S || (best_cpu <= BOUND_S && worst <= LOADED_WALL_S))
        return;
    fail_msg("%s: the best of %d tries took %.1f ms (%.1f ms of CPU)", name,
             TRIES, 1e3 * best, 1e3 * best_cpu);
}

static int lanczos_229_mib(poller *pl, char *err, size_t errlen)
{
    size_t dim = 500000;
    lanczos_opts o = {.iters = 60, .basis_bytes = SIZE_MAX, .pl = pl};
    rng r;
    rng_init(&r, 1, RNG_ANALYSIS);
    lanczos_result res;
    return lanczos_extremes(dim, diagonal_op, &dim, &o, &r, &res, err, errlen);
}

static void cancel_in_lanczos_own_work(void **state)
{
    (void)state;
    own_work_stops("lanczos, 229 MiB basis", lanczos_229_mib);
}

/* Hutchinson's and SLQ's own passes (issue 13 after issue 9 §4): a
 * Rademacher draw and a dot product over vectors of 2e6 entries, 200
 * probes (3.2 s), and SLQ's draws and Lanczos on 500,000, 20 probes of 10
 * steps (2.1 s), between products that do not poll. Before these passes
 * ticked the poller, neither was stopped before its end. */
static int trace_2e6(poller *pl, char *err, size_t errlen)
{
    size_t dim = 2000000;
    rng r;
    rng_init(&r, 2, RNG_ANALYSIS);
    double tr, se;
    return spectrum_trace(dim, diagonal_op, &dim, 200, &r, pl, &tr, &se, err,
                          errlen);
}

static int slq_5e5(poller *pl, char *err, size_t errlen)
{
    size_t dim = 500000;
    lanczos_opts o = {.iters = 10, .basis_bytes = SIZE_MAX, .pl = pl};
    rng r;
    rng_init(&r, 3, RNG_ANALYSIS);
    spectrum_quad q;
    int rc = spectrum_slq(dim, diagonal_op, &dim, 20, &o, &r, &q, err, errlen);
    if (rc == 0)
        spectrum_quad_free(&q);
    return rc;
}

static void cancel_in_spectrum_own_work(void **state)
{
    (void)state;
    own_work_stops("hutchinson, 2e6 parameters", trace_2e6);
    own_work_stops("slq, 5e5 parameters", slq_5e5);
}

/* The analyses of issue 13 in a run, each alone after one Lanczos
 * iteration, on a resnet of 2,388 parameters over 1000 samples: the
 * dense Hessian at exact_max_params 4000 (2,388 products, then dsyevd:
 * 3.5 s), 2000 Hutchinson probes (2.1 s), 100 SLQ probes of 30 steps
 * (3.3 s); and the path of 101 points over 50,000 samples, no Hessian
 * (1.6 s), and the slice of 11 x 11 points over them. A product the model's interrupt hook stops is a cancel:
 * before the spectrum took the poller's code for it, the dense Hessian
 * stopped at once but failed the run with "dense Hessian: product
 * failed" (-EINTR). */
static run_config spectrum_run(void)
{
    run_config c = quiet();
    c.data.n = 1000;
    c.data.d = 20;
    c.model.width = 32;
    c.train.steps = 1;
    c.analysis.hessian = true;
    c.analysis.lanczos_iters = 1;
    c.analysis.trace_probes = 0;
    c.analysis.slq_probes = 0;
    c.analysis.exact_max_params = 0;
    c.analysis.path_points = 0;
    return c;
}

static void cancel_in_the_spectrum(void **state)
{
    (void)state;
    run_config c = spectrum_run();
    c.analysis.exact_max_params = CONFIG_MAX_EXACT_PARAMS;
    stops_in_time(&c, "dense Hessian", RUN_PHASE_ANALYSIS, 0.3, RUN_CANCEL,
                  ENGINE_ECANCELED);
    c = spectrum_run();
    c.analysis.trace_probes = 2000;
    stops_in_time(&c, "hutchinson", RUN_PHASE_ANALYSIS, 0.3, RUN_CANCEL,
                  ENGINE_ECANCELED);
    c = spectrum_run();
    c.analysis.slq_probes = 100;
    stops_in_time(&c, "slq", RUN_PHASE_ANALYSIS, 0.3, RUN_CANCEL,
                  ENGINE_ECANCELED);
    c = spectrum_run();
    c.data.n = 50000;
    c.model.width = 64;
    c.analysis.hessian = false;
    c.analysis.path_points = CONFIG_MAX_PATH_POINTS;
    stops_in_time(&c, "path to the linear point", RUN_PHASE_ANALYSIS, 0.3,
                  RUN_CANCEL, ENGINE_ECANCELED);
    /* the slice: 121 passes over the same 50,000 samples (about 2 s) */
    c.analysis.path_points = 0;
    c.analysis.slice_points = 11;
    stops_in_time(&c, "slice", RUN_PHASE_ANALYSIS, 0.3, RUN_CANCEL,
                  ENGINE_ECANCELED);
}

static int setup(void **state)
{
    (void)state;
    char err[256];
    if (blas_init(err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cancel_in_data_generation),
        cmocka_unit_test(suspend_in_data_generation),
        cmocka_unit_test(cancel_in_csv_reading),
        cmocka_unit_test(cancel_in_the_linear_fit),
        cmocka_unit_test(cancel_in_the_analysis),
        cmocka_unit_test(suspend_in_the_analysis_resumes_there),
        cmocka_unit_test(cancel_in_lanczos_own_work),
        cmocka_unit_test(cancel_in_spectrum_own_work),
        cmocka_unit_test(cancel_in_the_spectrum),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
