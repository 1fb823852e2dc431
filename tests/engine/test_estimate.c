/* Issue 9, memory admission: engine_estimate_bytes is an upper bound on
 * what a run takes and not a loose one. Each configuration runs as a
 * worker runs it (its text parsed, engine_run with a checkpoint kept at
 * every step) under an allocator that tracks the bytes held (peak_alloc.h),
 * and the test asserts
 *     measured peak <= estimate <= 2 * measured peak + ENGINE_ESTIMATE_BASE_BYTES
 * and, where the kernel lets the peak RSS be reset, that the resident
 * growth (OpenBLAS's own buffers included, which malloc does not see) is
 * within the estimate too. The shapes cover every phase that can be the
 * peak: large n, large d (least squares by dgelsd on a copy, by the tiled
 * Cholesky of X^T X and by the normal equations, and Cholesky giving way
 * to each of the other two), Newton's method, wide and deep networks with
 * and without the Hessian, ||V||_2 of a square V, the dense Hessian and
 * SLQ's basis (issue 13), SGD and stream mode, CSV and inline data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "blas.h"
#include "config.h"
#include "csv.h"
#include "engine.h"

#include "peak_alloc.h"

#define MiB (1024.0 * 1024.0)

/* ---- resident memory (Linux /proc) ---- */

static long proc_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

/* Resets VmHWM to the current RSS; false where the kernel does not let
 * us (then the resident check is skipped). */
static bool rss_reset(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return false;
    bool ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

/* ---- one run, as a worker runs it ---- */

typedef struct kept {
    void *data;
    size_t len;
    run_arrays *arrays;   /* the pool's copy of the run's arrays */
} kept;

/* The host copies every checkpoint it is handed (writer_run_checkpoint). */
static int keep_checkpoint(void *ctx, const checkpoint *ck)
{
    kept *k = ctx;
    free(k->data);
    k->data = malloc(ck->len);
    if (!k->data)
        return -1;
    memcpy(k->data, ck->data, ck->len);
    k->len = ck->len;
    return 0;
}

static int keep_arrays(void *ctx, const run_arrays *a)
{
    kept *k = ctx;
    free(k->arrays);
    k->arrays = run_arrays_copy(a);
    return k->arrays ? 0 : -1;
}

typedef struct measured {
    size_t estimate, peak;
    long rss;   /* bytes of resident growth, or -1 */
} measured;

static void run_as_worker(const char *json, measured *m)
{
    char err[512];
    run_config cfg;
    if (config_parse_str(json, &cfg, err, sizeof err) != 0)
        fail_msg("%s: %s", json, err);
    m->estimate = engine_estimate_bytes(&cfg);
    config_free(&cfg);

    bool rss = rss_reset();
    long rss0 = proc_kb("VmRSS");
    size_t base = peak_reset();
    char *text = strdup(json);   /* the lease's copy */
    assert_non_null(text);
    assert_int_equal(config_parse_str(text, &cfg, err, sizeof err), 0);
    kept k = {NULL, 0, NULL};
    run_hooks h = {.ctx = &k, .checkpoint = keep_checkpoint,
                   .arrays = keep_arrays, .checkpoint_s = 1e-9};
    run_result r;
    int rc = engine_run(&cfg, &h, &r, err, sizeof err);
    m->peak = peak_get() - base;
    m->rss = rss ? (proc_kb("VmHWM") - rss0) * 1024 : -1;
    free(k.data);
    free(k.arrays);
    config_free(&cfg);
    free(text);
    if (rc != 0)
        fail_msg("engine_run: %s", err);
}

static void check(const char *name, const char *json)
{
    measured m;
    run_as_worker(json, &m);
    double ratio = (double)m.estimate / (double)m.peak;
    printf("# %-28s estimate %8.1f MiB  malloc peak %8.1f MiB  (x%.2f)  rss +%.1f MiB\n",
           name, m.estimate / MiB, m.peak / MiB, ratio, m.rss / MiB);
    if (m.peak > m.estimate)
        fail_msg("%s: used %zu bytes, more than the estimate of %zu", name, m.peak,
                 m.estimate);
    if (m.estimate > 2 * m.peak + ENGINE_ESTIMATE_BASE_BYTES)
        fail_msg("%s: estimate %zu bytes is more than twice the %zu used plus %zu",
                 name, m.estimate, m.peak, ENGINE_ESTIMATE_BASE_BYTES);
    if (m.rss > 0 && (size_t)m.rss > m.estimate)
        fail_msg("%s: resident memory grew by %ld bytes, more than the estimate of %zu",
                 name, m.rss, m.estimate);
}

/* ---- the shapes ---- */

static void skip_without_counter(void)
{
    if (!PEAK_ALLOCS)
        skip();
}

static void small_default(void **state)
{
    (void)state;
    skip_without_counter();
    check("default", "{\"train\":{\"steps\":20}}");
}

/* n*d*8 = 80 MB: least squares by the normal equations; the data are
 * the peak. */
static void large_n(void **state)
{
    (void)state;
    skip_without_counter();
    check("large n (200000 x 50)",
          "{\"data\":{\"d\":50,\"n\":200000,\"n_test\":2000},"
          "\"train\":{\"steps\":3},\"analysis\":{\"lanczos_iters\":10}}");
}

/* More features than samples, under the copy limit: dgelsd on a copy
 * (and its transpose) is the peak. */
static void large_d_copy(void **state)
{
    (void)state;
    skip_without_counter();
    check("large d, lstsq copy",
          "{\"data\":{\"d\":3000,\"n\":1200,\"n_test\":100},"
          "\"train\":{\"steps\":2},\"analysis\":{\"hessian\":false}}");
}

/* dgelsd's two shapes of work: on the square after a QR of a tall copy,
 * and on the whole of a nearly square one (wider than tall: no Cholesky
 * path). The tall one is small enough (n d^2 <= 2^26) to go to dgelsd
 * first. */
static void lstsq_copy_shapes(void **state)
{
    (void)state;
    skip_without_counter();
    check("tall, lstsq copy",
          "{\"data\":{\"d\":50,\"n\":20000,\"n_test\":1000},"
          "\"train\":{\"steps\":3},\"analysis\":{\"hessian\":false}}");
    check("near square, lstsq copy",
          "{\"data\":{\"d\":1900,\"n\":1800,\"n_test\":0},"
          "\"train\":{\"steps\":2},\"analysis\":{\"hessian\":false}}");
}

/* Within the copy limit but past dgelsd's 2^26 multiply-adds, n >= d:
 * the tiled Cholesky of X^T X first (d^2), dgelsd on the copy when X is
 * not well-conditioned. The estimate counts the larger (it cannot tell
 * from the shape); data.cond 1e12 makes the run take both. The loosest
 * estimate of all is a linear model on an X of exactly the copy limit
 * that the Cholesky path solves: the data and dgelsd's copy of them
 * against the data alone, x1.99. */
static void lstsq_cholesky(void **state)
{
    (void)state;
    skip_without_counter();
    check("tall, cholesky",
          "{\"data\":{\"d\":50,\"n\":60000,\"n_test\":1000},"
          "\"train\":{\"steps\":3},\"analysis\":{\"hessian\":false}}");
    check("near square, cholesky",
          "{\"data\":{\"d\":1800,\"n\":1900,\"n_test\":0},"
          "\"train\":{\"steps\":2},\"analysis\":{\"hessian\":false}}");
    check("copy limit, cholesky, linear",
          "{\"data\":{\"d\":50,\"n\":83886,\"n_test\":0},"
          "\"model\":{\"arch\":\"linear\"},"
          "\"train\":{\"steps\":2},\"analysis\":{\"hessian\":false}}");
    check("tall, cholesky then dgelsd",
          "{\"data\":{\"d\":50,\"n\":60000,\"n_test\":1000,\"cond\":1e12},"
          "\"train\":{\"steps\":3},\"analysis\":{\"hessian\":false}}");
}

/* Past the copy limit with d = 1500: the tiled Cholesky (d^2) of a
 * well-conditioned X; of an ill-conditioned one, then the Gram matrix and
 * dsyevd's work, 3 d^2 doubles. */
static void large_d_normal(void **state)
{
    (void)state;
    skip_without_counter();
    check("large d, cholesky",
          "{\"data\":{\"d\":1500,\"n\":3000,\"n_test\":0},"
          "\"train\":{\"steps\":2},\"analysis\":{\"hessian\":false}}");
    check("large d, normal equations",
          "{\"data\":{\"d\":1500,\"n\":3000,\"n_test\":0,\"cond\":1e12},"
          "\"train\":{\"steps\":2},\"analysis\":{\"hessian\":false}}");
}

/* Newton for the logistic loss: 2 d^2 doubles; linear arch with the
 * Hessian (Lanczos on d parameters). */
static void linear_logistic(void **state)
{
    (void)state;
    skip_without_counter();
    check("linear, logistic, d 1200",
          "{\"data\":{\"d\":1200,\"n\":2000,\"n_test\":200},"
          "\"model\":{\"arch\":\"linear\"},\"loss\":\"logistic\","
          "\"train\":{\"steps\":3},\"analysis\":{\"lanczos_iters\":30}}");
}

/* logcosh starts Newton from least squares: both workspaces at once. */
static void logcosh_nested(void **state)
{
    (void)state;
    skip_without_counter();
    check("linear, logcosh, d 800",
          "{\"data\":{\"d\":800,\"n\":6000,\"n_test\":0},"
          "\"model\":{\"arch\":\"linear\"},\"loss\":\"logcosh\","
          "\"train\":{\"steps\":2},\"analysis\":{\"hessian\":false}}");
}

/* 1M parameters: the Hessian workspace, checkpoints of 8 MB, and Lanczos
 * both ways: 12 iterations do not fit the default 64 MiB of basis (the
 * two-pass recurrence, five vectors), 6 fit 100 MiB (the basis stored). */
static void wide_hessian(void **state)
{
    (void)state;
    skip_without_counter();
    check("wide (h 1024), lanczos capped",
          "{\"data\":{\"d\":20,\"n\":200,\"n_test\":50},"
          "\"model\":{\"width\":1024},"
          "\"train\":{\"steps\":2},\"analysis\":{\"lanczos_iters\":12}}");
    check("wide (h 1024), lanczos basis",
          "{\"data\":{\"d\":20,\"n\":200,\"n_test\":50},"
          "\"model\":{\"width\":1024},\"train\":{\"steps\":2},"
          "\"analysis\":{\"lanczos_iters\":6,\"lanczos_memory_mib\":100}}");
}

static void wide_no_hessian(void **state)
{
    (void)state;
    skip_without_counter();
    check("wide (h 1024), no hessian",
          "{\"data\":{\"d\":20,\"n\":200,\"n_test\":50},"
          "\"model\":{\"width\":1024},"
          "\"train\":{\"steps\":2},\"analysis\":{\"hessian\":false}}");
}

/* analysis.save_params: the gathered copy of theta and the pool's copy
 * of it, at the end, beside the model (engine.c, hand_arrays). */
static void wide_saved_params(void **state)
{
    (void)state;
    skip_without_counter();
    check("wide (h 1024), save_params",
          "{\"data\":{\"d\":20,\"n\":200,\"n_test\":50},"
          "\"model\":{\"width\":1024},"
          "\"train\":{\"steps\":2},\"analysis\":{\"hessian\":false,"
          "\"save_params\":true}}");
}

/* ||V||_2 of a 1000 x 1000 V: its Gram matrix (8 MB) and the eigenvalue
 * solve, where the test predictions are few. */
static void square_v_norm(void **state)
{
    (void)state;
    skip_without_counter();
    check("resnet d 1000 h 1000, v_norm",
          "{\"data\":{\"d\":1000,\"n\":1200,\"n_test\":100},"
          "\"model\":{\"width\":1000},"
          "\"train\":{\"steps\":2},\"analysis\":{\"hessian\":false}}");
}

static void deep_sgd(void **state)
{
    (void)state;
    skip_without_counter();
    check("deep_resnet, sgd",
          "{\"data\":{\"d\":100,\"n\":3000,\"n_test\":500},"
          "\"model\":{\"arch\":\"deep_resnet\",\"blocks\":4,\"unit_depth\":3,\"width\":64},"
          "\"train\":{\"optimizer\":\"sgd\",\"batch\":64,\"steps\":5},"
          "\"analysis\":{\"lanczos_iters\":20}}");
}

/* train.precision float32: the training split rounded to float and the
 * model's float workspace beside the double one, through the analysis. */
static void float32_gd(void **state)
{
    (void)state;
    skip_without_counter();
    check("resnet float32, gd",
          "{\"data\":{\"d\":100,\"n\":40000,\"n_test\":500},"
          "\"model\":{\"width\":128,\"unit_depth\":3},"
          "\"train\":{\"steps\":3,\"precision\":\"float32\"},"
          "\"analysis\":{\"hessian\":false}}");
}

static void float32_deep_sgd(void **state)
{
    (void)state;
    skip_without_counter();
    check("deep_resnet float32, sgd",
          "{\"data\":{\"d\":100,\"n\":3000,\"n_test\":500},"
          "\"model\":{\"arch\":\"deep_resnet\",\"blocks\":4,\"unit_depth\":3,\"width\":64},"
          "\"train\":{\"optimizer\":\"sgd\",\"batch\":4096,\"steps\":2,"
          "\"precision\":\"float32\"},\"analysis\":{\"hessian\":false}}");
}

static void plain_decoupled(void **state)
{
    (void)state;
    skip_without_counter();
    check("plain, d 400",
          "{\"data\":{\"d\":400,\"n\":4000},\"model\":{\"arch\":\"plain\",\"width\":256},"
          "\"train\":{\"steps\":2},\"analysis\":{\"lanczos_iters\":10}}");
    check("decoupled, d 400",
          "{\"data\":{\"d\":400,\"n\":4000},\"model\":{\"arch\":\"decoupled\",\"width\":256},"
          "\"train\":{\"steps\":2},\"analysis\":{\"lanczos_iters\":10}}");
}

/* The analyses of issue 13 where they are the peak: the dense Hessian of
 * 2,388 parameters (analysis.exact_max_params raised to its limit: a
 * 45.6 MB matrix and dsyevd's work; 5.7 MiB of estimate without it), and
 * SLQ's stored basis of 60 steps on 117,348 parameters (56.3 MB, within
 * the default 64 MiB) past Lanczos's 10 (27.9 MiB without it). SLQ capped
 * runs in "wide (h 1024), lanczos capped" above (the default 30 steps
 * past 64 MiB): its start vector beside the five of the two-pass
 * recurrence, 8.4 MiB of estimate more than Lanczos's. */
static void spectrum_dense(void **state)
{
    (void)state;
    skip_without_counter();
    check("dense spectrum, 2388 params",
          "{\"data\":{\"d\":20,\"n\":200,\"n_test\":50},"
          "\"model\":{\"width\":32},\"train\":{\"steps\":2},"
          "\"analysis\":{\"lanczos_iters\":10,\"exact_max_params\":4000}}");
}

static void spectrum_slq(void **state)
{
    (void)state;
    skip_without_counter();
    check("slq, basis of 60 stored",
          "{\"data\":{\"d\":100,\"n\":200,\"n_test\":50},"
          "\"model\":{\"width\":256},\"train\":{\"steps\":2},"
          "\"analysis\":{\"lanczos_iters\":10,\"slq_probes\":2,"
          "\"slq_iters\":60}}");
}

/* The slice (docs/theory.md §6.8) where it is the peak: two directions
 * and a point of 1.26 million parameters (30 MB) without the Hessian. */
static void slice_peak(void **state)
{
    (void)state;
    skip_without_counter();
    check("slice, 1.26M params",
          "{\"data\":{\"d\":100,\"n\":200,\"n_test\":50},"
          "\"model\":{\"width\":1024},\"train\":{\"steps\":1},"
          "\"analysis\":{\"hessian\":false,\"path_points\":0,"
          "\"slice_points\":3,\"slice_max_params\":2000000}}");
}

/* Stream mode keeps the generator through the run: a mixture of 300
 * means in 1000 dimensions and a wide teacher. */
static void stream_generator(void **state)
{
    (void)state;
    skip_without_counter();
    check("stream, mixture",
          "{\"data\":{\"d\":1000,\"n\":500,\"n_test\":100,\"dist\":\"mixture\","
          "\"components\":300,\"teacher_width\":500,\"stream\":true},"
          "\"train\":{\"optimizer\":\"sgd\",\"batch\":128,\"steps\":4},"
          "\"analysis\":{\"hessian\":false}}");
}

static char *write_csv(int rows, int cols, bool crlf)
{
    char *path = malloc(64);
    assert_non_null(path);
    snprintf(path, 64, "est-%d-%d.csv", rows, cols);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int j = 0; j < cols - 1; j++)
        fprintf(f, "x%d,", j);
    fprintf(f, "y%s", crlf ? "\r\n" : "\n");
    unsigned s = 1;
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++) {
            s = s * 1103515245u + 12345u;
            fprintf(f, "%s%.6f", j ? "," : "", (double)(s >> 8) / 16777216.0 - 0.5);
        }
        fputs(crlf ? "\r\n" : "\n", f);
    }
    fclose(f);
    return path;
}

/* The CSV table and the data set split from it are live together. */
static void csv_data(void **state)
{
    (void)state;
    skip_without_counter();
    char *path = write_csv(30000, 40, false);
    char json[512];
    snprintf(json, sizeof json,
             "{\"data\":{\"source\":\"csv\",\"path\":\"%s\",\"intercept\":true},"
             "\"train\":{\"steps\":3},\"analysis\":{\"lanczos_iters\":10}}", path);
    check("csv 30000 x 40", json);
    unlink(path);
    free(path);
    path = write_csv(1500, 900, true);
    snprintf(json, sizeof json,
             "{\"data\":{\"source\":\"csv\",\"path\":\"%s\",\"test_fraction\":0.5},"
             "\"model\":{\"arch\":\"linear\"},\"train\":{\"steps\":2}}", path);
    check("csv 1500 x 900, crlf", json);
    unlink(path);
    free(path);
}

/* Inline arrays: the text, the parse tree and the arrays, and the
 * canonical JSON the checkpoint hash writes. */
static void inline_data(void **state)
{
    (void)state;
    skip_without_counter();
    int n = 3000, d = 30;
    size_t cap = (size_t)n * d * 24 + 4096, len = 0;
    char *json = malloc(cap);
    assert_non_null(json);
    len += (size_t)snprintf(json + len, cap - len, "{\"data\":{\"source\":\"inline\",\"x\":[");
    unsigned s = 7;
    for (int i = 0; i < n; i++) {
        json[len++] = i ? ',' : '[';
        if (i)
            json[len++] = '[';
        for (int j = 0; j < d; j++) {
            s = s * 1103515245u + 12345u;
            len += (size_t)snprintf(json + len, cap - len, "%s%.9f", j ? "," : "",
                                    (double)(s >> 8) / 16777216.0);
        }
        json[len++] = ']';
    }
    len += (size_t)snprintf(json + len, cap - len, "],\"y\":[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(json + len, cap - len, "%s%d", i ? "," : "", i % 7);
    snprintf(json + len, cap - len, "]},\"train\":{\"steps\":3},"
             "\"analysis\":{\"lanczos_iters\":10}}");
    check("inline 3000 x 30", json);
    free(json);
}

/* ---- the CSV measure and the estimate's scale ---- */

static void csv_measure_counts(void **state)
{
    (void)state;
    const char *path = "measure.csv";
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    /* blank lines before the header, CRLF, a CR alone, no final newline */
    fputs("\n  \r\na,b,\"c\"\r\n1,2,3\r\n4,5,6\r7,8,9\n\n10,11,12", f);
    fclose(f);
    csv_shape sh;
    char err[256];
    assert_int_equal(csv_measure(path, &sh, err, sizeof err), 0);
    assert_int_equal(sh.cols, 3);
    assert_int_equal(sh.header_bytes, strlen("a,b,\"c\""));
    assert_true(sh.rows >= 4);   /* an upper bound: the blank line counts */
    assert_int_equal(sh.rows, 5);
    csv_table t;
    assert_int_equal(csv_read(path, 100, 1000, &t, NULL, err, sizeof err), 0);
    assert_true(t.rows <= sh.rows && t.cols == sh.cols);
    csv_free(&t);
    assert_int_not_equal(csv_measure("no-such.csv", &sh, err, sizeof err), 0);
    unlink(path);
}

/* The estimate measures a CSV file again when it changes (the daemon
 * estimates every run of a job, and measures each file once). */
static void csv_estimate_follows_the_file(void **state)
{
    (void)state;
    char *small = write_csv(100, 10, false);
    char json[256];
    snprintf(json, sizeof json, "{\"data\":{\"source\":\"csv\",\"path\":\"%s\"}}", small);
    run_config c;
    char err[256];
    assert_int_equal(config_parse_str(json, &c, err, sizeof err), 0);
    size_t e1 = engine_estimate_bytes(&c);
    assert_int_equal(engine_estimate_bytes(&c), e1);
    char *big = write_csv(40000, 10, false);
    assert_int_equal(rename(big, small), 0);   /* 40000 rows at the same path */
    size_t e2 = engine_estimate_bytes(&c);
    assert_true(e2 > e1 + (size_t)40000 * 10 * sizeof(double));
    unlink(small);
    size_t e3 = engine_estimate_bytes(&c);    /* gone: the run will fail */
    assert_true(e3 < e2);
    config_free(&c);
    free(small);
    free(big);
}

/* The sizes of issue 9's two reports: the estimate says what they took. */
static void scale_of_reported_runs(void **state)
{
    (void)state;
    char err[256];
    run_config c;
    /* linear with d = 30000 asked for 7.2 GB (the d^2 Gram matrix) */
    assert_int_equal(config_parse_str("{\"data\":{\"d\":30000,\"n\":1000},"
                                      "\"model\":{\"arch\":\"linear\"}}",
                                      &c, err, sizeof err), 0);
    size_t e = engine_estimate_bytes(&c);
    printf("# linear d=30000: estimate %.1f GB\n", e / 1e9);
    assert_true(e >= (size_t)30000 * 30000 * 8);
    config_free(&c);
    /* d = 1000, n = 110000: 880 MB of data */
    assert_int_equal(config_parse_str("{\"data\":{\"d\":1000,\"n\":110000}}", &c, err,
                                      sizeof err), 0);
    e = engine_estimate_bytes(&c);
    printf("# d=1000 n=110000: estimate %.2f GB\n", e / 1e9);
    assert_true(e >= (size_t)110000 * 1000 * 8);
    config_free(&c);
}

int main(void)
{
    char err[256];
    if (blas_init(err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(csv_measure_counts),
        cmocka_unit_test(scale_of_reported_runs),
        cmocka_unit_test(csv_estimate_follows_the_file),
        cmocka_unit_test(small_default),
        cmocka_unit_test(large_n),
        cmocka_unit_test(large_d_copy),
        cmocka_unit_test(lstsq_copy_shapes),
        cmocka_unit_test(lstsq_cholesky),
        cmocka_unit_test(large_d_normal),
        cmocka_unit_test(linear_logistic),
        cmocka_unit_test(logcosh_nested),
        cmocka_unit_test(wide_hessian),
        cmocka_unit_test(wide_no_hessian),
        cmocka_unit_test(wide_saved_params),
        cmocka_unit_test(square_v_norm),
        cmocka_unit_test(deep_sgd),
        cmocka_unit_test(float32_gd),
        cmocka_unit_test(float32_deep_sgd),
        cmocka_unit_test(plain_decoupled),
        cmocka_unit_test(spectrum_dense),
        cmocka_unit_test(spectrum_slq),
        cmocka_unit_test(slice_peak),
        cmocka_unit_test(stream_generator),
        cmocka_unit_test(csv_data),
        cmocka_unit_test(inline_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
