/* fuzz_engine.c — libFuzzer target for whole runs (issue 9 item 1): the
 * input bytes choose a small configuration — architecture, loss, data,
 * optimiser, precision, sizes — and put extreme values (0, denormals, 1e-300, 1e300,
 * negatives) into its numeric keys and, for inline data, into the samples.
 * Each configuration the parser accepts is run through engine_run, under
 * ASan and UBSan. Properties checked:
 *   - a refused configuration is refused with a sentence;
 *   - an accepted one ends done or diverged (0), or fails with a negative
 *     code and a sentence: never a crash, a hang or undefined behaviour;
 *   - a done run's objective and gap are finite;
 *   - each run ends within RUN_BOUND_S (sizes are small: a run takes
 *     milliseconds; libFuzzer's -timeout catches a hang outright).
 *
 * Build and run: make fuzz (docs/fuzzing.md).
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "engine.h"
#include "fuzz.h"

#define RUN_BOUND_S 5.0
#define JSON_CAP    8192

typedef struct gen {
    uint64_t s;
    char buf[JSON_CAP];
    size_t len;
} gen;

static unsigned pick(gen *g, unsigned n) { return (unsigned)(fuzz_next(&g->s) % n); }

static void put(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(gen *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(g->buf + g->len, sizeof g->buf - g->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        g->len = g->len + (size_t)n < sizeof g->buf ? g->len + (size_t)n
                                                    : sizeof g->buf - 1;
}

/* A number for a key: usually a plain one, often an extreme. */
static double value(gen *g, double plain)
{
    static const double extreme[] = {0.0,   5e-324, 1e-300, 1e-8,  0.5,  1.0,
                                     3.0,   1e8,    1e50,   1e300, -1.0, -1e300,
                                     1.7e308};
    return pick(g, 3) == 0 ? plain
                           : extreme[pick(g, sizeof extreme / sizeof *extreme)];
}

static const char *one_of(gen *g, const char *const *names, unsigned n)
{
    return names[pick(g, n)];
}
#define ONE_OF(g, ...)                                                      \
    one_of(g, (const char *const[]){__VA_ARGS__},                          \
           sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))

static void inline_data(gen *g, int d, int n)
{
    put(g, "\"source\": \"inline\", \"x\": [");
    for (int i = 0; i < n; i++) {
        put(g, "%s[", i ? "," : "");
        for (int k = 0; k < d; k++)
            put(g, "%s%.17g", k ? "," : "", value(g, (double)((i * 7 + k) % 5) - 2));
        put(g, "]");
    }
    put(g, "], \"y\": [");
    for (int i = 0; i < n; i++)
        put(g, "%s%.17g", i ? "," : "", pick(g, 2) ? 1.0 : value(g, -1.0));
    put(g, "]");
}

static void data_section(gen *g)
{
    int d = 1 + (int)pick(g, 5), n = 2 + (int)pick(g, 30);
    put(g, "\"data\": {");
    if (pick(g, 4) == 0) {
        inline_data(g, d, n);
    } else {
        const char *dist = ONE_OF(g, "gaussian", "uniform", "sphere",
                                  "rademacher", "student_t", "mixture");
        put(g, "\"dist\": \"%s\", \"d\": %d, \"n\": %d, \"n_test\": %u, "
               "\"target\": \"%s\", \"noise\": %.17g",
            dist, d, n, pick(g, 20),
            ONE_OF(g, "linear", "teacher_mlp", "teacher_resnet", "quadratic",
                   "sine"),
            value(g, 0.1));
        if (strcmp(dist, "student_t") == 0)
            put(g, ", \"nu\": %.17g", value(g, 4));
        if (strcmp(dist, "gaussian") == 0)
            put(g, ", \"cond\": %.17g", value(g, 10));
    }
    put(g, ", \"intercept\": %s}", pick(g, 2) ? "true" : "false");
}

static void model_section(gen *g)
{
    put(g, "\"model\": {\"arch\": \"%s\", \"width\": %u, \"unit_depth\": %u, "
           "\"activation\": \"%s\", \"init\": \"%s\", \"gain\": %.17g, "
           "\"init_scale\": %.17g}",
        ONE_OF(g, "linear", "resnet", "plain", "decoupled", "deep_resnet"),
        1 + pick(g, 8), 1 + pick(g, 3),
        ONE_OF(g, "relu", "tanh", "softplus", "leaky_relu", "gelu"),
        ONE_OF(g, "he", "xavier"), value(g, 1), value(g, 0.1));
}

static void train_section(gen *g)
{
    put(g, "\"train\": {\"optimizer\": \"%s\", \"lr\": %.17g, \"steps\": %u, "
           "\"tol\": %.17g, \"curve_points\": %u, \"precision\": \"%s\"}",
        ONE_OF(g, "gd", "sgd"), value(g, 0.05), pick(g, 40), value(g, 0),
        pick(g, 10), ONE_OF(g, "float64", "float32"));
}

/* The configuration the input chooses, as JSON text in g->buf. */
static void build(gen *g)
{
    g->len = 0;
    put(g, "{\"seed\": %u, \"loss\": \"%s\", ", pick(g, 1000),
        ONE_OF(g, "squared", "logistic", "logcosh", "softplus_hinge"));
    data_section(g);
    put(g, ", ");
    model_section(g);
    put(g, ", ");
    train_section(g);
    /* 0 MiB: the two-pass recurrence; 1 MiB stores these small bases;
     * the spectrum's keys small, the dense Hessian on or off */
    put(g, ", \"analysis\": {\"lanczos_iters\": %u, "
        "\"lanczos_memory_mib\": %u, \"trace_probes\": %u, "
        "\"slq_probes\": %u, \"slq_iters\": %u, \"slq_bins\": %u, "
        "\"exact_max_params\": %u, \"path_points\": %u, "
        "\"slice_points\": %u, \"slice_radius\": %.17g}}",
        1 + pick(g, 20), pick(g, 2), pick(g, 4), pick(g, 3), 1 + pick(g, 10),
        1 + pick(g, 200), pick(g, 2) ? 500 : 0, pick(g, 2) ? 0 : 2 + pick(g, 20),
        pick(g, 2) ? 0 : 3 + 2 * pick(g, 3), pick(g, 4) ? 1.0 : value(g, 1));
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gen g;
    g.s = fuzz_hash(FUZZ_HASH_INIT, data, size);
    build(&g);
    run_config c;
    char err[512] = "";
    if (config_parse_str(g.buf, &c, err, sizeof err) != 0) {
        FUZZ_CHECK(err[0] != '\0', "refused without a sentence: %s", g.buf);
        return 0;
    }
    /* The memory estimate (issue 9) takes any valid configuration, and
     * its sums do not wrap. */
    size_t est = engine_estimate_bytes(&c);
    FUZZ_CHECK(est >= ENGINE_ESTIMATE_BASE_BYTES && est < ((size_t)1 << 50),
               "memory estimate %zu: %s", est, g.buf);
    run_result r;
    err[0] = '\0';
    double t0 = now_s();
    int rc = engine_run(&c, NULL, &r, err, sizeof err);
    double dt = now_s() - t0;
    config_free(&c);
    FUZZ_CHECK(dt < RUN_BOUND_S, "a run took %.1f s: %s", dt, g.buf);
    if (rc < 0) {
        FUZZ_CHECK(err[0] != '\0', "failed (%d) without a sentence: %s", rc,
                   g.buf);
        return 0;
    }
    FUZZ_CHECK(rc == 0, "engine_run returned %d: %s", rc, g.buf);
    FUZZ_CHECK(r.status == RUN_DONE || r.status == RUN_DIVERGED,
               "status %d: %s", (int)r.status, g.buf);
    if (r.status == RUN_DONE)
        FUZZ_CHECK(isfinite(r.train_loss), "done with train_loss %g: %s",
                   r.train_loss, g.buf);
    return 0;
}
