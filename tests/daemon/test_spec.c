/* Job specifications (spec.h): run counts, expansion order of grid x zip x
 * random x seeds, spec_run(i) against the i-th emitted run, the run limit
 * before expansion, flat memory while streaming, and one test per invalid
 * spec asserting the exact sentence and so the spec location it names. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "spec.h"

/* Bytes of heap in use. Under ASan or TSan malloc is the sanitizer's, so ask it (declared
 * here: GCC does not install <sanitizer/allocator_interface.h>). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_in_use(void) { return __sanitizer_get_current_allocated_bytes(); }
#else
#include <malloc.h>
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}
#endif

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

static job_spec *parse_spec(const char *text)
{
    char err[ERR_LEN] = "";
    cJSON *json = cJSON_Parse(text);
    if (!json)
        fail_msg("test spec is not JSON: %s", text);
    job_spec *s = NULL;
    int rc = spec_parse(json, &s, err, sizeof err);
    cJSON_Delete(json);
    if (rc != 0)
        fail_msg("spec rejected: %s\n  %s", err, text);
    return s;
}

/* Collects every emitted run's canonical JSON and a few fields. */
struct runs {
    long n, cap;
    char **json;
    run_config *cfg;
};

static int collect(void *ctx, long index, const run_config *cfg,
                   const char *config_json, char *err, size_t errlen)
{
    struct runs *r = ctx;
    assert_int_equal(index, r->n); /* index order, none skipped */
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->json = realloc(r->json, (size_t)r->cap * sizeof *r->json);
        r->cfg = realloc(r->cfg, (size_t)r->cap * sizeof *r->cfg);
        assert_non_null(r->json);
        assert_non_null(r->cfg);
    }
    r->json[r->n] = strdup(config_json);
    assert_int_equal(config_copy(&r->cfg[r->n], cfg), 0);
    r->n++;
    return 0;
}

static void runs_free(struct runs *r)
{
    for (long i = 0; i < r->n; i++) {
        free(r->json[i]);
        config_free(&r->cfg[i]);
    }
    free(r->json);
    free(r->cfg);
    memset(r, 0, sizeof *r);
}

static void expand_all(const job_spec *s, struct runs *r)
{
    char err[ERR_LEN] = "";
    memset(r, 0, sizeof *r);
    int rc = spec_expand(s, collect, r, err, sizeof err);
    if (rc != 0)
        fail_msg("expansion failed: %s", err);
    assert_int_equal(r->n, spec_count(s));
}

/* 10,000 runs stream through an emit that only counts: the heap in use at
 * the last run is what it was at run 100, so nothing accumulates per run. */
struct counter {
    long n;
    size_t heap_at_100, heap_growth;
};

static int count_only(void *ctx, long index, const run_config *cfg,
                      const char *config_json, char *err, size_t errlen)
{
    struct counter *c = ctx;
    (void)cfg;
    (void)config_json;
    if (index != c->n)
        return err_set(err, errlen, -EPROTO, "out of order");
    c->n++;
    if (index == 100)
        c->heap_at_100 = heap_in_use();
    if (index == 9999) {
        size_t now = heap_in_use();
        c->heap_growth = now > c->heap_at_100 ? now - c->heap_at_100 : 0;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Structure, order and determinism                                     */
/* ------------------------------------------------------------------ */

static void empty_spec_is_one_default_run(void **state)
{
    (void)state;
    job_spec *s = parse_spec("{}");
    assert_string_equal(spec_name(s), "");
    assert_int_equal(spec_priority(s), 0);
    assert_int_equal(spec_max_attempts(s), 3);
    assert_int_equal(spec_count(s), 1);
    assert_string_equal(spec_json(s),
                        "{\"name\":\"\",\"priority\":0,\"max_attempts\":3,\"base\":{}}");
    struct runs r;
    expand_all(s, &r);
    run_config d;
    config_defaults(&d);
    char *json = config_to_json(&d);
    assert_string_equal(r.json[0], json);
    free(json);
    runs_free(&r);
    spec_free(s);
}

static void header_fields(void **state)
{
    (void)state;
    job_spec *s = parse_spec("{\"seeds\": 2, \"max_attempts\": 7.0, "
                             "\"priority\": -1000000, \"name\": \"depth sweep\", "
                             "\"base\": {\"model\": {\"width\": 8}}}");
    assert_string_equal(spec_name(s), "depth sweep");
    assert_int_equal(spec_priority(s), -1000000);
    assert_int_equal(spec_max_attempts(s), 7);
    assert_int_equal(spec_count(s), 2);
    /* canonical: fixed key order whatever the user wrote */
    assert_string_equal(spec_json(s),
                        "{\"name\":\"depth sweep\",\"priority\":-1000000,"
                        "\"max_attempts\":7,\"base\":{\"model\":{\"width\":8}},"
                        "\"seeds\":2}");
    spec_free(s);
}

static const char *const big_spec =
    "{\"name\": \"all\", \"base\": {\"seed\": 100, \"data\": {\"n\": 50}},"
    " \"grid\": {\"model.unit_depth\": [1, 2, 4], \"data.dist\": [\"gaussian\", \"uniform\"]},"
    " \"zip\": {\"train.steps\": [10, 20], \"train.lr\": [0.1, 0.2]},"
    " \"random\": {\"n\": 3, \"seed\": 5, \"params\": {"
    "    \"model.width\": {\"randint\": [4, 64]},"
    "    \"data.noise\": {\"uniform\": [0, 0.5]},"
    "    \"train.tol\": {\"log_uniform\": [1e-10, 1e-4]},"
    "    \"model.activation\": {\"choice\": [\"relu\", \"tanh\", \"gelu\"]}}},"
    " \"seeds\": 2}";

/* i = (((depth * 2 + dist) * 2 + zip) * 3 + draw) * 2 + seed */
static void order_is_grid_zip_random_seeds(void **state)
{
    (void)state;
    job_spec *s = parse_spec(big_spec);
    assert_int_equal(spec_count(s), 3 * 2 * 2 * 3 * 2);
    struct runs r;
    expand_all(s, &r);
    const int depths[] = {1, 2, 4};
    const double lrs[] = {0.1, 0.2};
    run_config first_of_draw[3];
    for (long i = 0; i < r.n; i++) {
        const run_config *c = &r.cfg[i];
        long seed = i % 2, draw = (i / 2) % 3, zip = (i / 6) % 2,
             dist = (i / 12) % 2, depth = i / 24;
        assert_true(c->seed == (uint64_t)(100 + seed));
        assert_int_equal(c->model.unit_depth, depths[depth]);
        assert_int_equal(c->data.dist, dist ? DIST_UNIFORM : DIST_GAUSSIAN);
        assert_int_equal(c->train.steps, zip ? 20 : 10);
        assert_true(c->train.lr == lrs[zip]);
        assert_int_equal(c->data.n, 50); /* from base */
        assert_true(c->model.width >= 4 && c->model.width <= 64);
        assert_true(c->data.noise >= 0 && c->data.noise <= 0.5);
        assert_true(c->train.tol >= 1e-10 && c->train.tol <= 1e-4);
        if (i < 6 && i % 2 == 0) {
            first_of_draw[draw] = *c; /* shallow: only scalars read */
        } else {
            /* a draw gives the same values in every grid/zip/seed cell */
            const run_config *f = &first_of_draw[draw];
            assert_int_equal(c->model.width, f->model.width);
            assert_true(c->data.noise == f->data.noise);
            assert_true(c->train.tol == f->train.tol);
            assert_int_equal(c->model.activation, f->model.activation);
        }
    }
    /* and different draws differ (continuous values: surely) */
    assert_true(first_of_draw[0].data.noise != first_of_draw[1].data.noise);
    assert_true(first_of_draw[1].train.tol != first_of_draw[2].train.tol);
    runs_free(&r);
    spec_free(s);
}

static void spec_run_is_the_ith_emitted_run(void **state)
{
    (void)state;
    job_spec *s = parse_spec(big_spec);
    struct runs r;
    expand_all(s, &r);
    char err[ERR_LEN];
    for (long k = 0; k < r.n; k++) {
        long i = r.n - 1 - k; /* any order: run i is always the same */
        run_config c;
        assert_int_equal(spec_run(s, i, &c, err, sizeof err), 0);
        char *json = config_to_json(&c);
        assert_string_equal(json, r.json[i]);
        free(json);
        config_free(&c);
    }
    run_config c;
    assert_int_equal(spec_run(s, r.n, &c, err, sizeof err), -EINVAL);
    assert_string_equal(err, "index: run 72 is not in [0, 72)");
    assert_int_equal(spec_run(s, -1, &c, err, sizeof err), -EINVAL);
    runs_free(&r);
    spec_free(s);
}

/* The same job, parsed again or from its canonical text, gives the same
 * runs; another random.seed gives other draws. */
static void expansion_is_reproducible(void **state)
{
    (void)state;
    job_spec *a = parse_spec(big_spec), *b = parse_spec(big_spec);
    job_spec *c = parse_spec(spec_json(a));
    assert_string_equal(spec_json(a), spec_json(c));
    struct runs ra, rb, rc;
    expand_all(a, &ra);
    expand_all(b, &rb);
    expand_all(c, &rc);
    for (long i = 0; i < ra.n; i++) {
        assert_string_equal(ra.json[i], rb.json[i]);
        assert_string_equal(ra.json[i], rc.json[i]);
    }
    runs_free(&rb);
    spec_free(b);
    char *other = strdup(big_spec);
    char *p = strstr(other, "\"seed\": 5");
    p[8] = '6';
    b = parse_spec(other);
    expand_all(b, &rb);
    long differ = 0;
    for (long i = 0; i < ra.n; i++)
        differ += strcmp(ra.json[i], rb.json[i]) != 0;
    assert_int_equal(differ, ra.n);
    free(other);
    runs_free(&ra);
    runs_free(&rb);
    runs_free(&rc);
    spec_free(a);
    spec_free(b);
    spec_free(c);
}

/* The canonical text is exact: a double one ulp above 0.1 survives, and a
 * literal past the double range stays one (for config_parse to reject). */
static void canonical_text_is_exact(void **state)
{
    (void)state;
    job_spec *s = parse_spec("{\"base\": {\"train\": {\"lr\": 1e999}}, "
                             "\"grid\": {\"model.gain\": [0.10000000000000002]}}");
    assert_non_null(strstr(spec_json(s), "\"lr\":1e999"));
    assert_non_null(strstr(spec_json(s), "[0.10000000000000002]"));
    job_spec *again = parse_spec(spec_json(s));
    assert_string_equal(spec_json(again), spec_json(s));
    char err[ERR_LEN];
    struct counter c = {0};
    assert_int_equal(spec_expand(again, count_only, &c, err, sizeof err), -EINVAL);
    assert_string_equal(err, "base.train.lr: must be a finite number > 0, got inf");
    spec_free(again);
    spec_free(s);
}

/* Adding a random key leaves the draws of the others alone (a stream per
 * draw and key). */
static void random_keys_draw_independently(void **state)
{
    (void)state;
    job_spec *a = parse_spec("{\"random\": {\"n\": 20, \"params\": {"
                             "\"train.lr\": {\"log_uniform\": [0.001, 1]}}}}");
    job_spec *b = parse_spec("{\"random\": {\"n\": 20, \"params\": {"
                             "\"train.lr\": {\"log_uniform\": [0.001, 1]},"
                             "\"model.width\": {\"randint\": [1, 100]}}}}");
    struct runs ra, rb;
    expand_all(a, &ra);
    expand_all(b, &rb);
    int widths[101] = {0}, distinct = 0;
    for (long i = 0; i < 20; i++) {
        assert_true(ra.cfg[i].train.lr == rb.cfg[i].train.lr);
        assert_true(ra.cfg[i].train.lr >= 0.001 && ra.cfg[i].train.lr <= 1);
        distinct += widths[rb.cfg[i].model.width]++ == 0;
    }
    assert_true(distinct > 5);
    runs_free(&ra);
    runs_free(&rb);
    spec_free(a);
    spec_free(b);
}

static void seeds_list_and_count(void **state)
{
    (void)state;
    job_spec *s = parse_spec("{\"grid\": {\"model.width\": [8, 16]}, \"seeds\": [7, 3, 9007199254740992]}");
    struct runs r;
    expand_all(s, &r);
    const uint64_t want[] = {7, 3, UINT64_C(9007199254740992)};
    for (long i = 0; i < 6; i++) {
        assert_true(r.cfg[i].seed == want[i % 3]);
        assert_int_equal(r.cfg[i].model.width, i < 3 ? 8 : 16);
    }
    runs_free(&r);
    spec_free(s);
    s = parse_spec("{\"seeds\": 4}");
    expand_all(s, &r);
    for (long i = 0; i < 4; i++)
        assert_true(r.cfg[i].seed == (uint64_t)i);
    runs_free(&r);
    spec_free(s);
    /* K seeds count up from base.seed, up to 2^53 exactly */
    s = parse_spec("{\"seeds\": 3, \"base\": {\"seed\": 9007199254740990}}");
    expand_all(s, &r);
    assert_true(r.cfg[2].seed == UINT64_C(9007199254740992));
    assert_true(r.cfg[1].seed == UINT64_C(9007199254740991));
    runs_free(&r);
    spec_free(s);
}

/* Paths create the objects they need; null removes a key so the run takes
 * its default (and a key meaningless for that run can be left out). */
static void paths_create_and_null_removes(void **state)
{
    (void)state;
    job_spec *s = parse_spec(
        "{\"base\": {\"train\": {\"theta_lr\": 0.5, \"lr\": 0.3}},"
        " \"grid\": {\"data.dist\": [\"student_t\", \"mixture\"],"
        "            \"train.theta_lr\": [null, 0.25]},"
        " \"zip\": {\"data.nu\": [7, null], \"data.components\": [null, 5]}}");
    assert_int_equal(spec_count(s), 8);
    struct runs r;
    char err[ERR_LEN] = "";
    memset(&r, 0, sizeof r);
    int rc = spec_expand(s, collect, &r, err, sizeof err);
    /* run 1 is student_t with components: the null had to be in zip[0] */
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(err, "zip.data.components[1]: only used with data.dist "
                             "\"mixture\", not \"student_t\"");
    assert_int_equal(r.n, 1);
    assert_true(r.cfg[0].data.nu == 7);
    assert_true(r.cfg[0].train.theta_lr < 0); /* null: default, same as lr */
    assert_true(r.cfg[0].train.lr == 0.3);
    runs_free(&r);
    spec_free(s);

    s = parse_spec("{\"grid\": {\"data.dist\": [\"student_t\", \"mixture\"]},"
                   " \"zip\": {\"data.nu\": [7, null], \"data.components\": [null, 5]},"
                   " \"seeds\": 1}");
    /* zip pairs with grid as a product: only the diagonal is valid here */
    assert_int_equal(spec_count(s), 4);
    spec_free(s);
    s = parse_spec("{\"zip\": {\"data.dist\": [\"student_t\", \"mixture\"],"
                   " \"data.nu\": [7, null], \"data.components\": [null, 5]}}");
    expand_all(s, &r);
    assert_true(r.cfg[0].data.nu == 7 && r.cfg[0].data.dist == DIST_STUDENT_T);
    assert_true(r.cfg[1].data.components == 5 && r.cfg[1].data.dist == DIST_MIXTURE);
    runs_free(&r);
    spec_free(s);
}

static void whole_sections_and_values_sweep(void **state)
{
    (void)state;
    job_spec *s = parse_spec(
        "{\"base\": {\"data\": {\"source\": \"inline\", \"y\": [1, 2]}},"
        " \"grid\": {\"data.x\": [[[1], [2]], [[3, 4], [5, 6]]],"
        "            \"model\": [{\"arch\": \"linear\"}, {\"arch\": \"plain\", \"width\": 3}]}}");
    struct runs r;
    expand_all(s, &r);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.cfg[0].data.inline_d, 1);
    assert_int_equal(r.cfg[3].data.inline_d, 2);
    assert_true(r.cfg[3].data.x[3] == 6);
    assert_int_equal(r.cfg[1].model.arch, ARCH_PLAIN);
    assert_int_equal(r.cfg[1].model.width, 3);
    assert_int_equal(r.cfg[2].model.width, 16); /* a whole section replaces base's */
    runs_free(&r);
    spec_free(s);
}

/* train.precision swept over both values with two seeds: four runs,
 * float64 first; the float64 runs' canonical form has no precision key
 * (it is what it was before the key), the float32 runs' has it, and the
 * two precisions of a seed differ only there. */
static void precision_sweeps(void **state)
{
    (void)state;
    job_spec *s = parse_spec("{\"grid\": {\"train.precision\": "
                             "[\"float64\", \"float32\"]}, \"seeds\": 2}");
    struct runs r;
    expand_all(s, &r);
    assert_int_equal(r.n, 4);
    for (long i = 0; i < r.n; i++) {
        bool f32 = r.cfg[i].train.precision == PRECISION_FLOAT32;
        assert_int_equal(f32, i >= 2);
        assert_int_equal(strstr(r.json[i], "\"precision\":\"float32\"") != NULL, f32);
        assert_null(strstr(r.json[i], "float64"));
    }
    assert_true(r.cfg[0].seed == 0 && r.cfg[1].seed == 1);
    assert_true(r.cfg[2].seed == 0 && r.cfg[3].seed == 1);
    char want[4096];
    const char *at = strstr(r.json[2], ",\"precision\":\"float32\"");
    assert_non_null(at);
    snprintf(want, sizeof want, "%.*s%s", (int)(at - r.json[2]), r.json[2],
             at + strlen(",\"precision\":\"float32\""));
    assert_string_equal(want, r.json[0]);
    runs_free(&r);
    spec_free(s);
}

/* ------------------------------------------------------------------ */
/* Limits                                                               */
/* ------------------------------------------------------------------ */

static char *grid_of(int nkeys, const char *const *keys, const long *lens, const char *tail)
{
    size_t cap = 64 + strlen(tail);
    for (int k = 0; k < nkeys; k++)
        cap += 32 + (size_t)lens[k] * 12;
    char *text = malloc(cap), *p = text;
    p += sprintf(p, "{\"grid\": {");
    for (int k = 0; k < nkeys; k++) {
        p += sprintf(p, "%s\"%s\": [", k ? ", " : "", keys[k]);
        for (long i = 0; i < lens[k]; i++)
            p += sprintf(p, "%s%ld", i ? "," : "", i + 1);
        p += sprintf(p, "]");
    }
    sprintf(p, "}%s}", tail);
    return text;
}

static int parse_error(const char *text, char *err, size_t errlen)
{
    cJSON *json = cJSON_Parse(text);
    assert_non_null(json);
    job_spec *s = NULL;
    int rc = spec_parse(json, &s, err, errlen);
    cJSON_Delete(json);
    spec_free(s);
    return rc;
}

static void run_limit_is_checked_before_expansion(void **state)
{
    (void)state;
    char err[ERR_LEN];
    const char *const keys2[] = {"train.steps", "train.curve_points"};
    /* exactly SPEC_MAX_RUNS: accepted, counted without expanding */
    long at[] = {1000, 1000};
    char *text = grid_of(2, keys2, at, "");
    job_spec *s = parse_spec(text);
    assert_int_equal(spec_count(s), SPEC_MAX_RUNS);
    spec_free(s);
    free(text);
    /* one past: 101 x 9901 = 1,000,001 */
    long past[] = {101, 9901};
    text = grid_of(2, keys2, past, "");
    assert_int_equal(parse_error(text, err, sizeof err), -EINVAL);
    assert_string_equal(err, "grid.train.curve_points: the job would have "
                             "1000001 runs, more than the limit of 1000000 per job");
    free(text);
    /* one past through seeds */
    long one[] = {1000};
    text = grid_of(1, keys2, one, ", \"seeds\": 1001");
    assert_int_equal(parse_error(text, err, sizeof err), -EINVAL);
    assert_string_equal(err, "seeds: the job would have 1001000 runs, more than "
                             "the limit of 1000000 per job");
    free(text);
    /* random.n x seeds: each within its range, the product far past */
    assert_int_equal(parse_error("{\"random\": {\"n\": 1000000, \"params\": "
                                 "{\"train.lr\": {\"uniform\": [0.1, 1]}}}, "
                                 "\"seeds\": 1000000}", err, sizeof err), -EINVAL);
    assert_string_equal(err, "seeds: the job would have 1000000000000 runs, more "
                             "than the limit of 1000000 per job");
    /* a product that overflows 64 bits: 10^20 */
    const char *const keys20[] = {
        "seed", "loss", "data.d", "data.n", "data.n_test", "data.noise",
        "data.intercept", "model.arch", "model.width", "model.unit_depth",
        "model.activation", "model.init", "model.gain", "model.init_scale",
        "train.lr", "train.steps", "train.batch", "train.tol",
        "train.curve_points", "analysis.lanczos_iters"};
    long tens[20];
    for (int k = 0; k < 20; k++)
        tens[k] = 10;
    text = grid_of(20, keys20, tens, "");
    assert_int_equal(parse_error(text, err, sizeof err), -EINVAL);
    /* 10^6 after six keys is the limit itself; the seventh goes past */
    assert_string_equal(err, "grid.data.intercept: the job would have more than "
                             "9223372036854775807 runs, above the limit of "
                             "1000000 per job");
    free(text);
}

static void ten_thousand_runs_flat_memory(void **state)
{
    (void)state;
    const char *const keys[] = {"model.width", "train.steps"};
    long lens[] = {100, 100};
    char *text = grid_of(2, keys, lens, ", \"base\": {\"data\": {\"n\": 20}}");
    job_spec *s = parse_spec(text);
    free(text);
    assert_int_equal(spec_count(s), 10000);
    struct counter c = {0};
    char err[ERR_LEN] = "";
    assert_int_equal(spec_expand(s, count_only, &c, err, sizeof err), 0);
    assert_int_equal(c.n, 10000);
    assert_true(c.heap_at_100 > 0);
    if (c.heap_growth >= 16 * 1024)
        fail_msg("heap grew by %zu bytes between run 100 and run 9999",
                 c.heap_growth);
    spec_free(s);
}

static int stop_at_five(void *ctx, long index, const run_config *cfg,
                        const char *config_json, char *err, size_t errlen)
{
    (void)ctx;
    (void)cfg;
    (void)config_json;
    if (index == 5)
        return err_set(err, errlen, -ECANCELED, "stopped at %ld", index);
    return 0;
}

static void emit_error_stops_and_passes_through(void **state)
{
    (void)state;
    job_spec *s = parse_spec("{\"seeds\": 10}");
    char err[ERR_LEN] = "";
    assert_int_equal(spec_expand(s, stop_at_five, NULL, err, sizeof err), -ECANCELED);
    assert_string_equal(err, "stopped at 5");
    spec_free(s);
}

/* ------------------------------------------------------------------ */
/* Invalid specs: one test each, exact sentence.                        */
/* ------------------------------------------------------------------ */

enum stage { AT_PARSE, AT_EXPAND, AT_EXPAND_PREFIX };

struct bad_spec {
    enum stage stage;
    const char *json;
    const char *message; /* whole sentence, or its start for AT_EXPAND_PREFIX */
};

#define RANDOM_LR(dist) "{\"random\": {\"n\": 2, \"params\": {\"train.lr\": " dist "}}}"

static const struct bad_spec bad_specs[] = {
    /* top level */
    {AT_PARSE, "[]", "spec: must be a JSON object, got []"},
    {AT_PARSE, "{\"nmae\": \"x\"}", "nmae: unknown key; did you mean name?"},
    {AT_PARSE, "{\"bsae\": {}}", "bsae: unknown key; did you mean base?"},
    {AT_PARSE, "{\"seed\": 3}", "seed: unknown key; did you mean seeds?"},
    {AT_PARSE, "{\"sweep\": {}}",
     "sweep: unknown key; expected one of name, priority, max_attempts, base, "
     "grid, zip, random, seeds"},
    {AT_PARSE, "{\"name\": \"a\", \"name\": \"b\"}", "name: duplicate key"},
    {AT_PARSE, "{\"name\": 5}", "name: must be a string, got 5"},
    {AT_PARSE,
     "{\"name\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
     "name: must be at most 200 bytes long, got 201"},
    {AT_PARSE, "{\"name\": \"two\\nlines\"}", "name: must not contain control characters"},
    {AT_PARSE, "{\"priority\": 1000001}",
     "priority: must be an integer in [-1000000, 1000000], got 1000001"},
    {AT_PARSE, "{\"priority\": 1.5}",
     "priority: must be an integer in [-1000000, 1000000], got 1.5"},
    {AT_PARSE, "{\"priority\": \"high\"}",
     "priority: must be an integer in [-1000000, 1000000], got \"high\""},
    {AT_PARSE, "{\"max_attempts\": 0}", "max_attempts: must be an integer in [1, 100], got 0"},
    {AT_PARSE, "{\"max_attempts\": 101}", "max_attempts: must be an integer in [1, 100], got 101"},
    {AT_PARSE, "{\"base\": []}", "base: must be an object (a run configuration), got []"},
    /* grid */
    {AT_PARSE, "{\"grid\": []}",
     "grid: must be an object of key paths to lists of values, got []"},
    {AT_PARSE, "{\"grid\": {}}",
     "grid: must be an object of key paths to lists of values, got {}"},
    {AT_PARSE, "{\"grid\": {\"model.width\": 8}}",
     "grid.model.width: must be a non-empty array of values, got 8"},
    {AT_PARSE, "{\"grid\": {\"model.width\": []}}",
     "grid.model.width: must be a non-empty array of values, got []"},
    {AT_PARSE, "{\"grid\": {\"model.widht\": [8]}}",
     "grid.model.widht: unknown key; did you mean model.width?"},
    {AT_PARSE, "{\"grid\": {\"width\": [8]}}",
     "grid.width: unknown key; did you mean model.width?"},
    {AT_PARSE, "{\"grid\": {\"model.width.x\": [8]}}",
     "grid.model.width.x: unknown key; model.width holds a value, not an object"},
    {AT_PARSE, "{\"grid\": {\"\": [8]}}", "grid: has an empty key"},
    {AT_PARSE, "{\"grid\": {\"model.width\": [8], \"model.width\": [16]}}",
     "grid.model.width: duplicate key"},
    {AT_PARSE, "{\"grid\": {\"model.width\": [8]}, \"zip\": {\"model.width\": [16]}}",
     "zip.model.width: also swept by grid.model.width"},
    {AT_PARSE, "{\"grid\": {\"model\": [{}], \"model.width\": [8]}}",
     "grid.model.width: overlaps grid.model (one holds the other)"},
    {AT_PARSE, "{\"zip\": {\"train.lr\": [1]}, \"random\": {\"n\": 1, \"params\": "
               "{\"train\": {\"choice\": [{}]}}}}",
     "random.params.train: overlaps zip.train.lr (one holds the other)"},
    /* zip */
    {AT_PARSE, "{\"zip\": {\"train.steps\": [1, 2, 3, 4], \"train.lr\": [0.1, 0.2, 0.3]}}",
     "zip.train.lr: has 3 values, zip.train.steps has 4"},
    {AT_PARSE, "{\"zip\": {\"train.lr\": [0.1], \"train.steps\": [1], \"loss\": "
               "[\"squared\", \"logcosh\"]}}",
     "zip.loss: has 2 values, zip.train.lr has 1"},
    {AT_PARSE, "{\"zip\": {\"train.lr\": []}}",
     "zip.train.lr: must be a non-empty array of values, got []"},
    {AT_PARSE, "{\"zip\": 3}", "zip: must be an object of key paths to lists of values, got 3"},
    /* random */
    {AT_PARSE, "{\"random\": {\"params\": {\"train.lr\": {\"uniform\": [0, 1]}}}}",
     "random.n: required (the number of draws)"},
    {AT_PARSE, "{\"random\": {\"n\": 0, \"params\": {\"train.lr\": {\"uniform\": [0, 1]}}}}",
     "random.n: must be an integer in [1, 1000000], got 0"},
    {AT_PARSE, "{\"random\": {\"n\": 1000001, \"params\": {\"train.lr\": {\"uniform\": [0, 1]}}}}",
     "random.n: must be an integer in [1, 1000000], got 1000001"},
    {AT_PARSE, "{\"random\": {\"n\": 2, \"sed\": 1, \"params\": {}}}",
     "random.sed: unknown key; did you mean random.seed?"},
    {AT_PARSE, "{\"random\": {\"n\": 2, \"seed\": -1, \"params\": {}}}",
     "random.seed: must be an integer in [0, 9007199254740992], got -1"},
    {AT_PARSE, "{\"random\": {\"n\": 2}}",
     "random.params: must be a non-empty object of key paths to distributions, "
     "got nothing"},
    {AT_PARSE, "{\"random\": {\"n\": 2, \"params\": {}}}",
     "random.params: must be a non-empty object of key paths to distributions, "
     "got {}"},
    {AT_PARSE, RANDOM_LR("[0.1, 0.2]"),
     "random.params.train.lr: must be an object with one key, one of uniform, "
     "log_uniform, choice, randint; got [0.1,0.2]"},
    {AT_PARSE, RANDOM_LR("{\"uniform\": [0, 1], \"choice\": [1]}"),
     "random.params.train.lr: must be an object with one key, one of uniform, "
     "log_uniform, choice, randint; got {\"uniform\":[0,1],\"choice\":[1]}"},
    {AT_PARSE, RANDOM_LR("{\"gaussian\": [0, 1]}"),
     "random.params.train.lr.gaussian: unknown key; expected one of uniform, "
     "log_uniform, choice, randint"},
    {AT_PARSE, RANDOM_LR("{\"unifrom\": [0, 1]}"),
     "random.params.train.lr.unifrom: unknown key; did you mean "
     "random.params.train.lr.uniform?"},
    {AT_PARSE, RANDOM_LR("{\"uniform\": [1, 0]}"),
     "random.params.train.lr.uniform: must be [a, b] with finite numbers a <= b, got [1,0]"},
    {AT_PARSE, RANDOM_LR("{\"uniform\": [0]}"),
     "random.params.train.lr.uniform: must be [a, b] with finite numbers a <= b, got [0]"},
    {AT_PARSE, RANDOM_LR("{\"uniform\": [0, \"1\"]}"),
     "random.params.train.lr.uniform: must be [a, b] with finite numbers a <= b, got [0,\"1\"]"},
    {AT_PARSE, RANDOM_LR("{\"log_uniform\": [0, 1]}"),
     "random.params.train.lr.log_uniform: must be [a, b] with finite numbers "
     "0 < a <= b, got [0,1]"},
    {AT_PARSE, RANDOM_LR("{\"randint\": [1.5, 3]}"),
     "random.params.train.lr.randint: must be [a, b] with integers a <= b in "
     "[-2^53, 2^53], got [1.5,3]"},
    {AT_PARSE, RANDOM_LR("{\"choice\": []}"),
     "random.params.train.lr.choice: must be a non-empty array of values, got []"},
    {AT_PARSE, "{\"random\": {\"n\": 2, \"params\": {\"model.widht\": {\"choice\": [8]}}}}",
     "random.params.model.widht: unknown key; did you mean model.width?"},
    /* seeds */
    {AT_PARSE, "{\"seeds\": 0}", "seeds: must be an integer in [1, 1000000], got 0"},
    {AT_PARSE, "{\"seeds\": 1000001}", "seeds: must be an integer in [1, 1000000], got 1000001"},
    {AT_PARSE, "{\"seeds\": 2.5}", "seeds: must be an integer in [1, 1000000], got 2.5"},
    {AT_PARSE, "{\"seeds\": []}",
     "seeds: must be an integer in [1, 1000000] or a non-empty array of seeds, got []"},
    {AT_PARSE, "{\"seeds\": \"5\"}",
     "seeds: must be an integer in [1, 1000000] or a non-empty array of seeds, got \"5\""},
    {AT_PARSE, "{\"seeds\": [1, 2, 3, -3]}",
     "seeds[3]: must be an integer in [0, 9007199254740992], got -3"},
    {AT_PARSE, "{\"seeds\": [1, true]}",
     "seeds[1]: must be an integer in [0, 9007199254740992], got true"},
    {AT_PARSE, "{\"seeds\": 2, \"grid\": {\"seed\": [1, 2]}}",
     "seeds: the seed is also swept by grid.seed; set it in one place"},
    {AT_PARSE, "{\"seeds\": 3, \"base\": {\"seed\": 9007199254740991}}",
     "seeds: base.seed + 2 is above the largest seed 2^53"},
    {AT_PARSE, "{\"seeds\": 3, \"base\": {\"seed\": \"x\"}}",
     "base.seed: must be an integer in [0, 9007199254740992], got \"x\""},
    /* a run that config_parse rejects: the error names the spec location */
    {AT_EXPAND, "{\"grid\": {\"model.width\": [8, 16, 0]}}",
     "grid.model.width[2]: must be an integer in [1, 4096], got 0"},
    {AT_EXPAND, "{\"zip\": {\"train.steps\": [1, 2], \"train.lr\": [0.1, -1]}}",
     "zip.train.lr[1]: must be a finite number > 0, got -1"},
    {AT_EXPAND_PREFIX, RANDOM_LR("{\"uniform\": [-1, -0.5]}"),
     "random.params.train.lr: must be a finite number > 0, got -0."},
    {AT_EXPAND_PREFIX,
     "{\"random\": {\"n\": 4, \"params\": {\"model.width\": {\"randint\": [-3, -1]}}}}",
     "random.params.model.width: must be an integer in [1, 4096], got -"},
    {AT_EXPAND, "{\"random\": {\"n\": 2, \"params\": {\"model.width\": {\"choice\": [0]}}}}",
     "random.params.model.width.choice[0]: must be an integer in [1, 4096], got 0"},
    {AT_EXPAND, "{\"base\": {\"data\": {\"dist\": \"gauss\"}}}",
     "base.data.dist: unknown value \"gauss\"; expected one of gaussian, uniform, "
     "sphere, rademacher, student_t, mixture"},
    {AT_EXPAND, "{\"base\": {\"model\": {\"widht\": 3}}, \"grid\": {\"model.width\": [8]}}",
     "base.model.widht: unknown key; did you mean model.width?"},
    {AT_EXPAND, "{\"base\": {\"data\": {\"components\": 3}}, "
                "\"grid\": {\"data.dist\": [\"mixture\", \"gaussian\"]}}",
     "base.data.components: only used with data.dist \"mixture\", not \"gaussian\""},
    {AT_EXPAND, "{\"base\": {\"data\": {\"source\": \"csv\", \"path\": \"a.csv\"}}, "
                "\"grid\": {\"data.path\": [\"b.csv\", null]}}",
     "grid.data.path[1]: required with data.source \"csv\""},
    {AT_EXPAND, "{\"grid\": {\"model\": [{\"width\": 8}, {\"width\": 0}]}}",
     "grid.model[1].width: must be an integer in [1, 4096], got 0"},
    {AT_EXPAND, "{\"base\": {\"model\": 3}, \"grid\": {\"model.width\": [8]}}",
     "base.model: must be an object (grid.model.width sets a key in it), got 3"},
    {AT_EXPAND, "{\"base\": {\"data\": {\"source\": \"inline\", \"y\": [1, 2]}}, "
                "\"grid\": {\"data.x\": [[[1], [2]], [[1], [\"a\"]]]}}",
     "grid.data.x[1][1][0]: must be a finite number, got \"a\""},
    {AT_EXPAND, "{\"base\": {\"data\": {\"stream\": true}}, "
                "\"grid\": {\"train.optimizer\": [\"sgd\", \"gd\"]}}",
     "base.data.stream: needs train.optimizer \"sgd\" (a fresh sample at every "
     "step), not \"gd\""},
    {AT_EXPAND, "{\"grid\": {\"train.precision\": [\"float64\", \"half\"]}}",
     "grid.train.precision[1]: unknown value \"half\"; expected one of "
     "float64, float32"},
    {AT_EXPAND, "{\"grid\": {\"seed\": [1, -1]}}",
     "grid.seed[1]: must be an integer in [0, 9007199254740992], got -1"},
    {AT_EXPAND, "{\"base\": {\"seed\": -1}}",
     "base.seed: must be an integer in [0, 9007199254740992], got -1"},
    {AT_EXPAND, "{\"base\": {\"data\": {\"d\": 4}}, \"zip\": {\"data.target\": "
                "[\"parity\"], \"data.parity_k\": [5]}}",
     "zip.data.parity_k[0]: must be at most data.d = 4, got 5"},
};

#define N_BAD (sizeof bad_specs / sizeof bad_specs[0])

static void bad_spec_rejected(void **state)
{
    const struct bad_spec *bs = *state;
    char err[ERR_LEN] = "";
    cJSON *json = cJSON_Parse(bs->json);
    assert_non_null(json);
    job_spec *s = NULL;
    int rc = spec_parse(json, &s, err, sizeof err);
    cJSON_Delete(json);
    if (bs->stage == AT_PARSE) {
        if (rc != -EINVAL || strcmp(err, bs->message) != 0)
            fail_msg("spec %s\n  rc %d\n  got      \"%s\"\n  expected \"%s\"",
                     bs->json, rc, err, bs->message);
        assert_null(s);
        return;
    }
    if (rc != 0)
        fail_msg("spec %s rejected before expansion: %s", bs->json, err);
    struct counter c = {0};
    rc = spec_expand(s, count_only, &c, err, sizeof err);
    spec_free(s);
    bool same = bs->stage == AT_EXPAND
                    ? strcmp(err, bs->message) == 0
                    : strncmp(err, bs->message, strlen(bs->message)) == 0;
    if (rc != -EINVAL || !same)
        fail_msg("spec %s\n  rc %d\n  got      \"%s\"\n  expected \"%s\"",
                 bs->json, rc, err, bs->message);
}

/* spec_point names where a run sits in the sweep (the memory admission's
 * refusal quotes it): swept keys in the order written, then the seed. */
static void point_names_the_swept_values(void **state)
{
    (void)state;
    job_spec *s = parse_spec("{\"base\": {\"seed\": 7},"
                             " \"grid\": {\"model.width\": [16, 4096],"
                             " \"data.dist\": [\"gaussian\", \"sphere\"]},"
                             " \"seeds\": 2}");
    char buf[200];
    /* index digits: width, dist, seed */
    spec_point(s, 5, buf, sizeof buf);
    assert_string_equal(buf, "model.width=4096, data.dist=\"gaussian\", seed=8");
    spec_point(s, 0, buf, sizeof buf);
    assert_string_equal(buf, "model.width=16, data.dist=\"gaussian\", seed=7");
    spec_point(s, 99, buf, sizeof buf);
    assert_string_equal(buf, "");
    spec_point(s, 5, buf, 12);   /* cut, still terminated */
    assert_string_equal(buf, "model.width");
    spec_free(s);
    s = parse_spec("{\"random\": {\"n\": 3, \"params\":"
                   " {\"model.width\": {\"choice\": [8, 32]}}}}");
    spec_point(s, 1, buf, sizeof buf);
    run_config c;
    char err[ERR_LEN];
    assert_int_equal(spec_run(s, 1, &c, err, sizeof err), 0);
    char want[64];
    snprintf(want, sizeof want, "model.width=%d", c.model.width);
    assert_string_equal(buf, want);
    config_free(&c);
    spec_free(s);
    s = parse_spec("{}");
    spec_point(s, 0, buf, sizeof buf);
    assert_string_equal(buf, "");
    spec_free(s);
}

int main(void)
{
    static struct CMUnitTest tests[N_BAD + 17];
    static char names[N_BAD][64];
    size_t n = 0;
#define ADD(f) tests[n++] = (struct CMUnitTest)cmocka_unit_test(f)
    ADD(empty_spec_is_one_default_run);
    ADD(header_fields);
    ADD(order_is_grid_zip_random_seeds);
    ADD(spec_run_is_the_ith_emitted_run);
    ADD(expansion_is_reproducible);
    ADD(canonical_text_is_exact);
    ADD(random_keys_draw_independently);
    ADD(seeds_list_and_count);
    ADD(paths_create_and_null_removes);
    ADD(whole_sections_and_values_sweep);
    ADD(precision_sweeps);
    ADD(run_limit_is_checked_before_expansion);
    ADD(ten_thousand_runs_flat_memory);
    ADD(emit_error_stops_and_passes_through);
    ADD(point_names_the_swept_values);
    for (size_t i = 0; i < N_BAD; i++) {
        /* "bad_spec_07 grid.model.width": the location the sentence names */
        int len = (int)strcspn(bad_specs[i].message, ":");
        snprintf(names[i], sizeof names[i], "bad_spec_%02zu %.*s", i + 1, len,
                 bad_specs[i].message);
        tests[n++] = (struct CMUnitTest){names[i], bad_spec_rejected, NULL,
                                         NULL, (void *)&bad_specs[i]};
    }
    return _cmocka_run_group_tests("spec", tests, n, NULL, NULL);
}
