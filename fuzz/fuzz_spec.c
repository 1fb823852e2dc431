/* fuzz_spec.c — libFuzzer target for job specifications (spec.h) and run
 * configurations (config.h): whatever JSON a user submits, parsing and
 * expansion must neither crash, leak, nor step into undefined behaviour,
 * and what they produce must be self-consistent.
 *
 * The input is JSON text, taken
 *   1. as a run configuration (config_parse_str, as for a config file);
 *   2. as a job spec, the way the daemon gets one: the protocol's depth
 *      check, cJSON, spec_parse; then, for a valid spec, spec_expand of
 *      its first EXPAND_RUNS runs and spec_run on a few indices.
 * Properties checked:
 *   - every configuration produced (parsed or expanded) has a canonical
 *     form (config_to_json) that parses back to a configuration with the
 *     same canonical form, and config_copy preserves it: the store can
 *     re-run a run from its row bit for bit (config.h);
 *   - spec_run(i) is the configuration spec_expand emitted as run i, and
 *     fails with the same sentence where the expansion stopped;
 *   - the canonical spec (spec_json) parses back to a spec with the same
 *     text, run count and runs;
 *   - errors are -EINVAL with a sentence; run indices outside
 *     [0, spec_count) are refused.
 *
 * Build and run: make fuzz (docs/fuzzing.md).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "err.h"
#include "fuzz.h"
#include "proto.h"
#include "spec.h"

/* Runs expanded per input: a million-run spec stays fast. */
#define EXPAND_RUNS 64

/* Whether this input is UTF-8: then so must be the error replies the
 * daemon would build from its sentences (proto.h: frames are UTF-8; a
 * quote cut to a length must not cut a character in half).
 * RESWEEP_FUZZ_UTF8=0 turns the check off. */
static bool input_utf8;
static bool check_utf8 = true;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *u = getenv("RESWEEP_FUZZ_UTF8");
    check_utf8 = !(u && *u == '0');
    return 0;
}

/* An error: -EINVAL (nothing else is expected without a fault) and a
 * sentence, which the daemon turns into an invalid_spec reply. */
static void check_error(const char *who, int rc, const char *err)
{
    FUZZ_CHECK(rc == -EINVAL && err[0], "%s: rc %d, sentence \"%s\"", who, rc,
               err);
    if (!check_utf8 || !input_utf8)
        return;
    proto_error e;
    proto_error_from_sentence(&e, PROTO_E_INVALID_SPEC, err);
    cJSON *reply = proto_reply_error(NULL, &e);
    char *text = reply ? cJSON_PrintUnformatted(reply) : NULL;
    FUZZ_CHECK(text != NULL, "building the error reply failed");
    FUZZ_CHECK(fuzz_utf8_valid(text, strlen(text)),
               "%s: a UTF-8 input got an error reply that is not UTF-8 (a "
               "character cut by a truncation?): %s", who, text);
    free(text);
    cJSON_Delete(reply);
}

/* The canonical form of cfg is a fixed point of parse-then-print, and a
 * copy prints the same. given: text already produced for cfg, or NULL. */
static void check_canonical(const run_config *cfg, const char *given)
{
    char *j1 = config_to_json(cfg);
    FUZZ_CHECK(j1 != NULL, "config_to_json returned NULL");
    if (given)
        FUZZ_CHECK(strcmp(given, j1) == 0,
                   "two canonical forms of one configuration:\n  %s\n  %s",
                   given, j1);
    run_config back;
    char err[ERR_LEN] = "";
    int rc = config_parse_str(j1, &back, err, sizeof err);
    FUZZ_CHECK(rc == 0, "the canonical form does not parse back (%s):\n  %s",
               err, j1);
    char *j2 = config_to_json(&back);
    FUZZ_CHECK(j2 && strcmp(j1, j2) == 0,
               "canonical form is not a fixed point:\n  %s\n  %s", j1,
               j2 ? j2 : "(null)");
    run_config copy;
    FUZZ_CHECK(config_copy(&copy, &back) == 0, "config_copy failed");
    char *j3 = config_to_json(&copy);
    FUZZ_CHECK(j3 && strcmp(j1, j3) == 0,
               "config_copy changed the configuration:\n  %s\n  %s", j1,
               j3 ? j3 : "(null)");
    free(j3);
    config_free(&copy);
    free(j2);
    config_free(&back);
    free(j1);
}

/* What spec_expand emitted: a fingerprint of each run's canonical text,
 * and where and why it stopped. */
struct expansion {
    long n;
    uint64_t hash[EXPAND_RUNS];
    int rc;
    char err[ERR_LEN];
};

static int emit(void *ctx, long index, const run_config *cfg,
                const char *config_json, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    struct expansion *x = ctx;
    FUZZ_CHECK(index == x->n, "run %ld emitted after %ld runs", index, x->n);
    FUZZ_CHECK(config_json != NULL, "run %ld emitted without its text", index);
    check_canonical(cfg, config_json);
    x->hash[x->n++] = fuzz_hash(FUZZ_HASH_INIT, config_json,
                                strlen(config_json));
    return x->n < EXPAND_RUNS ? 0 : 1;   /* 1: stop here, passed through */
}

/* spec_run(index): 0 with the fingerprint of its canonical text, or its
 * error code with the sentence in err. */
static int run_at(const job_spec *s, long index, uint64_t *hash, char *err,
                  size_t errlen)
{
    run_config cfg;
    err[0] = '\0';
    int rc = spec_run(s, index, &cfg, err, errlen);
    if (rc < 0) {
        check_error("spec_run", rc, err);
        config_free(&cfg);   /* holds defaults: a no-op, never a leak */
        return rc;
    }
    FUZZ_CHECK(rc == 0, "spec_run(%ld): rc %d", index, rc);
    char *text = config_to_json(&cfg);
    FUZZ_CHECK(text != NULL, "config_to_json returned NULL");
    check_canonical(&cfg, text);
    *hash = fuzz_hash(FUZZ_HASH_INIT, text, strlen(text));
    free(text);
    config_free(&cfg);
    return 0;
}

static void check_spec_text(const job_spec *s)
{
    const char *text = spec_json(s);
    FUZZ_CHECK(text != NULL, "spec_json is NULL");
    FUZZ_CHECK(proto_check_depth(text, strlen(text), PROTO_MAX_DEPTH) == 0,
               "canonical spec nests deeper than its source: %s", text);
    cJSON *json = cJSON_Parse(text);
    FUZZ_CHECK(json != NULL, "canonical spec is not JSON: %s", text);
    job_spec *s2 = NULL;
    char err[ERR_LEN] = "";
    int rc = spec_parse(json, &s2, err, sizeof err);
    FUZZ_CHECK(rc == 0, "canonical spec refused (%s): %s", err, text);
    FUZZ_CHECK(strcmp(spec_json(s2), text) == 0,
               "canonical spec is not a fixed point:\n  %s\n  %s", text,
               spec_json(s2));
    FUZZ_CHECK(spec_count(s2) == spec_count(s) &&
                   spec_priority(s2) == spec_priority(s) &&
                   spec_max_attempts(s2) == spec_max_attempts(s) &&
                   strcmp(spec_name(s2), spec_name(s)) == 0,
               "canonical spec differs in count, priority, attempts or name: "
               "%s", text);
    /* The first and last runs come out the same from either. */
    long last = spec_count(s) - 1;
    for (int k = 0; k < 2; k++) {
        long i = k ? last : 0;
        uint64_t h1 = 0, h2 = 0;
        char e1[ERR_LEN], e2[ERR_LEN];
        int r1 = run_at(s, i, &h1, e1, sizeof e1);
        int r2 = run_at(s2, i, &h2, e2, sizeof e2);
        FUZZ_CHECK(r1 == r2 && (r1 < 0 ? strcmp(e1, e2) == 0 : h1 == h2),
                   "run %ld differs between a spec and its canonical form "
                   "(\"%s\" / \"%s\"): %s", i, r1 < 0 ? e1 : "ok",
                   r2 < 0 ? e2 : "ok", text);
    }
    spec_free(s2);
    cJSON_Delete(json);
}

static void check_spec(const job_spec *s, uint64_t pick)
{
    long count = spec_count(s);
    FUZZ_CHECK(count >= 1 && count <= SPEC_MAX_RUNS, "spec_count %ld", count);
    FUZZ_CHECK(strlen(spec_name(s)) <= SPEC_MAX_NAME, "name too long");
    FUZZ_CHECK(spec_max_attempts(s) >= 1 &&
                   spec_max_attempts(s) <= SPEC_MAX_ATTEMPTS,
               "max_attempts %d", spec_max_attempts(s));
    FUZZ_CHECK(spec_priority(s) >= -SPEC_MAX_PRIORITY &&
                   spec_priority(s) <= SPEC_MAX_PRIORITY,
               "priority %d", spec_priority(s));

    struct expansion x = {0};
    x.rc = spec_expand(s, emit, &x, x.err, sizeof x.err);
    long want = count < EXPAND_RUNS ? count : EXPAND_RUNS;
    if (x.rc == 0)
        FUZZ_CHECK(x.n == count && count < EXPAND_RUNS,
                   "expansion ended after %ld of %ld runs", x.n, count);
    else if (x.rc == 1)
        FUZZ_CHECK(x.n == EXPAND_RUNS, "emit's stop not passed through");
    else
        FUZZ_CHECK(x.rc == -EINVAL && x.err[0] && x.n < want,
                   "spec_expand: rc %d after %ld runs, \"%s\"", x.rc, x.n,
                   x.err);
    if (x.rc < 0)
        check_error("spec_expand", x.rc, x.err);

    /* spec_run agrees with the expansion, where it stopped included. */
    long idx[] = {0, x.n > 0 ? x.n - 1 : 0, x.n < count ? x.n : 0,
                  count / 2, count - 1, (long)(pick % (uint64_t)count)};
    for (size_t k = 0; k < sizeof idx / sizeof idx[0]; k++) {
        long i = idx[k];
        uint64_t h = 0;
        char err[ERR_LEN];
        int rc = run_at(s, i, &h, err, sizeof err);
        if (i < x.n)
            FUZZ_CHECK(rc == 0 && h == x.hash[i],
                       "spec_run(%ld) differs from run %ld of spec_expand "
                       "(%s)", i, i, rc < 0 ? err : "ok");
        else if (i == x.n && x.rc < 0)
            FUZZ_CHECK(rc < 0 && strcmp(err, x.err) == 0,
                       "spec_expand stopped at run %ld with \"%s\", "
                       "spec_run(%ld) says \"%s\"", i, x.err, i,
                       rc < 0 ? err : "ok");
    }
    char err[ERR_LEN];
    uint64_t h;
    FUZZ_CHECK(run_at(s, -1, &h, err, sizeof err) == -EINVAL,
               "run -1 accepted");
    FUZZ_CHECK(run_at(s, count, &h, err, sizeof err) == -EINVAL,
               "run %ld of %ld accepted", count, count);
    check_spec_text(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);
    char err[ERR_LEN] = "";
    input_utf8 = fuzz_utf8_valid(text, size);

    /* 1. A run configuration. */
    run_config cfg;
    int rc = config_parse_str(text, &cfg, err, sizeof err);
    if (rc == 0)
        check_canonical(&cfg, NULL);
    else
        check_error("config_parse_str", rc, err);
    config_free(&cfg);

    /* 2. A job spec, past the daemon's checks on a frame. */
    if (proto_check_depth(text, size, PROTO_MAX_DEPTH) == 0) {
        cJSON *json = cJSON_ParseWithLength(text, size);
        if (json) {
            job_spec *s = NULL;
            err[0] = '\0';
            rc = spec_parse(json, &s, err, sizeof err);
            if (rc == 0)
                check_spec(s, fuzz_hash(FUZZ_HASH_INIT, data, size));
            else
                check_error("spec_parse", rc, err);
            FUZZ_CHECK((rc == 0) == (s != NULL), "spec_parse: rc %d, spec %p",
                       rc, (void *)s);
            spec_free(s);
            cJSON_Delete(json);
        }
    }
    free(text);
    return 0;
}
