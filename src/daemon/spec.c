/* spec.c — a job specification: its structure, its run count and the
 * streaming expansion of its runs (see spec.h; docs/theory.md §8).
 *
 * Run `index` is decoded, never looked up: the index is a mixed-radix
 * number whose digits are, from most to least significant, each grid key
 * (in the order written), the zip position, the random draw and the seed.
 * Each run is built from a copy of base with its sweep values set, then
 * validated by config_parse, so expanding a job costs memory for one run
 * at a time whatever the run count.
 */
#include "spec.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "consts.h"
#include "err.h"
#include "suggest.h"
#include "rng.h"

/* 2^53: the largest seed, exact in a JSON number (config.h). */
/* Random draws use rng streams tagged "SPEC" in their high 32 bits, so
 * they never share a stream id with a run's own streams (rng.h). A draw's
 * stream is tag | (draw * SPEC_MAX_SWEEP_KEYS + param), below 2^32 since
 * draws are fewer than SPEC_MAX_RUNS. */
#define SPEC_RNG_TAG ((uint64_t)0x53504543 << 32)
/* Longest key we try to match against the known ones. */
#define SPEC_SUGGEST_MAX 32

enum sweep_src { SRC_GRID, SRC_ZIP, SRC_RANDOM };
enum draw_kind { DRAW_UNIFORM, DRAW_LOG_UNIFORM, DRAW_CHOICE, DRAW_RANDINT };

static const char *const src_names[] = {"grid", "zip", "random.params"};
static const char *const draw_names[] = {"uniform", "log_uniform", "choice",
                                         "randint"};
static const char *const top_keys[] = {"name", "priority", "max_attempts",
                                       "base", "grid", "zip", "random",
                                       "seeds"};
enum { TOP_NAME, TOP_PRIORITY, TOP_MAX_ATTEMPTS, TOP_BASE, TOP_GRID, TOP_ZIP,
       TOP_RANDOM, TOP_SEEDS, TOP_COUNT };
static const char *const random_keys[] = {"n", "seed", "params"};

/* One swept key. */
struct sweep {
    enum sweep_src src;
    const char *path;        /* dotted key into base; borrowed from root */
    const cJSON **values;    /* grid/zip list, or choices; owned array */
    long count;              /* entries of values */
    enum draw_kind draw;     /* random only */
    double a, b;             /* uniform, log_uniform, randint bounds */
};

enum seeds_kind { SEEDS_NONE, SEEDS_COUNT, SEEDS_LIST };

struct job_spec {
    cJSON *root;             /* the user's spec, copied; owned */
    char *json;              /* canonical text; owned */
    const char *name;        /* borrowed from root, or "" */
    int priority, max_attempts;
    const cJSON *base;       /* borrowed from root, or empty_base */
    cJSON *empty_base;       /* owned; base when the spec has none */
    struct sweep sweeps[SPEC_MAX_SWEEP_KEYS]; /* grid, then zip, then random */
    int nsweeps, ngrid, nzip;
    long zip_len, random_n;  /* 1 when absent */
    uint64_t random_seed;
    enum seeds_kind seeds;
    long nseeds;             /* 1 when absent */
    uint64_t seed_first;     /* SEEDS_COUNT: base.seed */
    uint64_t *seed_list;     /* SEEDS_LIST; owned */
    long count;
};

/* The digits of one run's index, for building it and for naming the spec
 * location of a bad value. */
struct pick {
    long idx[SPEC_MAX_SWEEP_KEYS]; /* list or choice index; -1 for a draw */
    long draw, seed;
};

/* ---------------------------------------------------------------------
 * Small helpers.
 * ------------------------------------------------------------------- */

/* A JSON value as messages show it, shortened. */
static const char *describe(const cJSON *v, char *buf, size_t len)
{
    char *text = cJSON_PrintUnformatted(v);
    if (!text) {
        snprintf(buf, len, "a value");
        return buf;
    }
    if (strlen(text) > 48)
        snprintf(buf, len, "%.45s...", text);
    else
        snprintf(buf, len, "%s", text);
    free(text);
    return buf;
}

/* Integers may be written 5 or 5.0, never 5.5 or true. */
static bool get_integer(const cJSON *v, double lo, double hi, double *out)
{
    if (!cJSON_IsNumber(v))
        return false;
    double x = v->valuedouble;
    if (!isfinite(x) || x != floor(x) || x < lo || x > hi)
        return false;
    *out = x;
    return true;
}

static int bad_integer(char *err, size_t errlen, const char *path,
                       const cJSON *v, double lo, double hi)
{
    char got[64];
    return err_set(err, errlen, -EINVAL,
                   "%s: must be an integer in [%.0f, %.0f], got %s", path, lo,
                   hi, describe(v, got, sizeof got));
}


/* "<prefix><key>: unknown key; did you mean <prefix>seeds?" or the list. */
static int unknown_key(char *err, size_t errlen, const char *prefix,
                       const char *key, const char *const *known, int nknown)
{
    size_t len = strlen(key);
    int best = -1, best_d = len <= 4 ? 2 : 3;
    for (int i = 0; len > 0 && len <= SPEC_SUGGEST_MAX && i < nknown; i++) {
        int dist = suggest_distance(key, known[i]);
        if (dist < best_d && dist < (int)len) {
            best = i;
            best_d = dist;
        }
    }
    if (best >= 0)
        return err_set(err, errlen, -EINVAL,
                       "%s%.64s: unknown key; did you mean %s%s?", prefix, key,
                       prefix, known[best]);
    char list[160] = "";
    size_t used = 0;
    for (int i = 0; i < nknown; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                                 i ? ", " : "", known[i]);
    return err_set(err, errlen, -EINVAL,
                   "%s%.64s: unknown key; expected one of %s", prefix, key,
                   list);
}

static int oom(char *err, size_t errlen)
{
    return err_set(err, errlen, -ENOMEM, "spec: out of memory");
}

/* ---------------------------------------------------------------------
 * Parsing the structure.
 * ------------------------------------------------------------------- */

static int parse_name(job_spec *s, const cJSON *v, char *err, size_t errlen)
{
    char got[64];
    if (!v)
        return 0;
    if (!cJSON_IsString(v))
        return err_set(err, errlen, -EINVAL, "name: must be a string, got %s",
                       describe(v, got, sizeof got));
    size_t len = strlen(v->valuestring);
    if (len > SPEC_MAX_NAME)
        return err_set(err, errlen, -EINVAL,
                       "name: must be at most %d bytes long, got %zu",
                       SPEC_MAX_NAME, len);
    for (const unsigned char *c = (const unsigned char *)v->valuestring; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return err_set(err, errlen, -EINVAL,
                           "name: must not contain control characters");
    s->name = v->valuestring;
    return 0;
}

static int parse_numbers(job_spec *s, const cJSON *prio, const cJSON *att,
                         char *err, size_t errlen)
{
    double x;
    if (prio) {
        if (!get_integer(prio, -SPEC_MAX_PRIORITY, SPEC_MAX_PRIORITY, &x))
            return bad_integer(err, errlen, "priority", prio,
                               -SPEC_MAX_PRIORITY, SPEC_MAX_PRIORITY);
        s->priority = (int)x;
    }
    if (att) {
        if (!get_integer(att, 1, SPEC_MAX_ATTEMPTS, &x))
            return bad_integer(err, errlen, "max_attempts", att, 1,
                               SPEC_MAX_ATTEMPTS);
        s->max_attempts = (int)x;
    }
    return 0;
}

/* A sweep key: a known configuration path, within the key limit. The
 * sweep's location ("grid.model.width") is `loc`. */
static int add_sweep(job_spec *s, enum sweep_src src, const cJSON *item,
                     char *err, size_t errlen, struct sweep **out)
{
    char loc[128], msg[ERR_LEN];
    snprintf(loc, sizeof loc, "%s.%.96s", src_names[src], item->string);
    if (s->nsweeps == SPEC_MAX_SWEEP_KEYS)
        return err_set(err, errlen, -EINVAL,
                       "%s: more than %d keys in grid, zip and random "
                       "together, the limit", loc, SPEC_MAX_SWEEP_KEYS);
    if (item->string[0] == '\0')
        return err_set(err, errlen, -EINVAL, "%s: has an empty key",
                       src_names[src]);
    if (config_check_path(item->string, msg, sizeof msg) < 0)
        return err_set(err, errlen, -EINVAL, "%s.%s", src_names[src], msg);
    struct sweep *w = &s->sweeps[s->nsweeps++];
    w->src = src;
    w->path = item->string;
    *out = w;
    return 0;
}

/* A non-empty list's items, as an array of pointers so that run i finds
 * its value in O(1). */
static int take_list(struct sweep *w, const cJSON *list, const char *loc,
                     char *err, size_t errlen)
{
    char got[64];
    if (!cJSON_IsArray(list) || !list->child)
        return err_set(err, errlen, -EINVAL,
                       "%s: must be a non-empty array of values, got %s", loc,
                       describe(list, got, sizeof got));
    long n = 0;
    for (const cJSON *e = list->child; e; e = e->next)
        n++;
    w->values = malloc((size_t)n * sizeof *w->values);
    if (!w->values)
        return oom(err, errlen);
    n = 0;
    for (const cJSON *e = list->child; e; e = e->next)
        w->values[n++] = e;
    w->count = n;
    return 0;
}

/* grid and zip: objects of key -> non-empty list. */
static int parse_lists(job_spec *s, enum sweep_src src, const cJSON *obj,
                       char *err, size_t errlen)
{
    char got[64], loc[128];
    const char *what = src_names[src];
    if (!cJSON_IsObject(obj) || !obj->child)
        return err_set(err, errlen, -EINVAL,
                       "%s: must be an object of key paths to lists of "
                       "values, got %s", what, describe(obj, got, sizeof got));
    const struct sweep *first = NULL;
    for (const cJSON *e = obj->child; e; e = e->next) {
        struct sweep *w;
        int rc = add_sweep(s, src, e, err, errlen, &w);
        if (rc < 0)
            return rc;
        snprintf(loc, sizeof loc, "%s.%.96s", what, e->string);
        rc = take_list(w, e, loc, err, errlen);
        if (rc < 0)
            return rc;
        if (src == SRC_GRID) {
            s->ngrid++;
            continue;
        }
        s->nzip++;
        if (!first) {
            first = w;
            s->zip_len = w->count;
        } else if (w->count != first->count) {
            return err_set(err, errlen, -EINVAL,
                           "%s: has %ld values, zip.%s has %ld", loc, w->count,
                           first->path, first->count);
        }
    }
    return 0;
}

/* {"uniform": [a, b]} and its kin. */
static int parse_draw(struct sweep *w, const cJSON *v, char *err, size_t errlen)
{
    char loc[160], got[64];
    snprintf(loc, sizeof loc, "random.params.%.96s", w->path);
    if (!cJSON_IsObject(v) || !v->child || v->child->next)
        return err_set(err, errlen, -EINVAL,
                       "%s: must be an object with one key, one of uniform, "
                       "log_uniform, choice, randint; got %s", loc,
                       describe(v, got, sizeof got));
    const cJSON *arg = v->child;
    int kind = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(arg->string, draw_names[i]) == 0)
            kind = i;
    if (kind < 0) {
        char prefix[170];
        snprintf(prefix, sizeof prefix, "%s.", loc);
        return unknown_key(err, errlen, prefix, arg->string, draw_names, 4);
    }
    w->draw = (enum draw_kind)kind;
    snprintf(loc + strlen(loc), sizeof loc - strlen(loc), ".%s", draw_names[kind]);
    if (kind == DRAW_CHOICE)
        return take_list(w, arg, loc, err, errlen);
    const cJSON *a = cJSON_IsArray(arg) ? arg->child : NULL;
    const cJSON *b = a ? a->next : NULL;
    bool ok = b && !b->next && cJSON_IsNumber(a) && cJSON_IsNumber(b);
    double lo = ok ? a->valuedouble : 0, hi = ok ? b->valuedouble : 0;
    const char *need = "[a, b] with finite numbers a <= b";
    if (kind == DRAW_UNIFORM) {
        ok = ok && isfinite(hi - lo) && lo <= hi;
    } else if (kind == DRAW_LOG_UNIFORM) {
        need = "[a, b] with finite numbers 0 < a <= b";
        ok = ok && isfinite(hi) && lo > 0 && lo <= hi;
    } else {
        need = "[a, b] with integers a <= b in [-2^53, 2^53]";
        ok = ok && get_integer(a, -JSON_INT_MAX, JSON_INT_MAX, &lo) &&
             get_integer(b, -JSON_INT_MAX, JSON_INT_MAX, &hi) && lo <= hi;
    }
    if (!ok)
        return err_set(err, errlen, -EINVAL, "%s: must be %s, got %s", loc,
                       need, describe(arg, got, sizeof got));
    w->a = lo;
    w->b = hi;
    w->count = 1;
    return 0;
}

static int parse_random(job_spec *s, const cJSON *obj, char *err, size_t errlen)
{
    char got[64];
    const cJSON *n = NULL, *seed = NULL, *params = NULL;
    if (!cJSON_IsObject(obj))
        return err_set(err, errlen, -EINVAL,
                       "random: must be an object {\"n\", \"seed\", "
                       "\"params\"}, got %s", describe(obj, got, sizeof got));
    for (const cJSON *e = obj->child; e; e = e->next) {
        const cJSON **slot = strcmp(e->string, "n") == 0      ? &n
                             : strcmp(e->string, "seed") == 0 ? &seed
                             : strcmp(e->string, "params") == 0 ? &params
                                                                : NULL;
        if (!slot)
            return unknown_key(err, errlen, "random.", e->string, random_keys, 3);
        if (*slot)
            return err_set(err, errlen, -EINVAL, "random.%s: duplicate key",
                           e->string);
        *slot = e;
    }
    double x;
    if (!n)
        return err_set(err, errlen, -EINVAL,
                       "random.n: required (the number of draws)");
    if (!get_integer(n, 1, SPEC_MAX_RUNS, &x))
        return bad_integer(err, errlen, "random.n", n, 1, SPEC_MAX_RUNS);
    s->random_n = (long)x;
    if (seed) {
        if (!get_integer(seed, 0, JSON_INT_MAX, &x))
            return bad_integer(err, errlen, "random.seed", seed, 0, JSON_INT_MAX);
        s->random_seed = (uint64_t)x;
    }
    if (!params || !cJSON_IsObject(params) || !params->child)
        return err_set(err, errlen, -EINVAL,
                       "random.params: must be a non-empty object of key "
                       "paths to distributions, got %s",
                       params ? describe(params, got, sizeof got) : "nothing");
    for (const cJSON *e = params->child; e; e = e->next) {
        struct sweep *w;
        int rc = add_sweep(s, SRC_RANDOM, e, err, errlen, &w);
        if (rc == 0)
            rc = parse_draw(w, e, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* "seeds": K (seeds base.seed + 0..K-1) or a list of seeds. */
static int parse_seeds(job_spec *s, const cJSON *v, char *err, size_t errlen)
{
    double x;
    if (cJSON_IsNumber(v)) {
        if (!get_integer(v, 1, SPEC_MAX_RUNS, &x))
            return bad_integer(err, errlen, "seeds", v, 1, SPEC_MAX_RUNS);
        s->seeds = SEEDS_COUNT;
        s->nseeds = (long)x;
        const cJSON *bs = cJSON_GetObjectItemCaseSensitive(s->base, "seed");
        double first = 0;
        if (bs && !get_integer(bs, 0, JSON_INT_MAX, &first))
            return bad_integer(err, errlen, "base.seed", bs, 0, JSON_INT_MAX);
        /* in integers: near 2^53 a double sum would round back down */
        if ((uint64_t)first + (uint64_t)(s->nseeds - 1) > (uint64_t)JSON_INT_MAX)
            return err_set(err, errlen, -EINVAL,
                           "seeds: base.seed + %ld is above the largest seed "
                           "2^53", s->nseeds - 1);
        s->seed_first = (uint64_t)first;
        return 0;
    }
    char got[64], loc[48];
    if (!cJSON_IsArray(v) || !v->child)
        return err_set(err, errlen, -EINVAL,
                       "seeds: must be an integer in [1, %ld] or a non-empty "
                       "array of seeds, got %s", SPEC_MAX_RUNS,
                       describe(v, got, sizeof got));
    long n = 0;
    for (const cJSON *e = v->child; e; e = e->next)
        n++;
    s->seed_list = malloc((size_t)n * sizeof *s->seed_list);
    if (!s->seed_list)
        return oom(err, errlen);
    n = 0;
    for (const cJSON *e = v->child; e; e = e->next, n++) {
        snprintf(loc, sizeof loc, "seeds[%ld]", n);
        if (!get_integer(e, 0, JSON_INT_MAX, &x))
            return bad_integer(err, errlen, loc, e, 0, JSON_INT_MAX);
        s->seed_list[n] = (uint64_t)x;
    }
    s->seeds = SEEDS_LIST;
    s->nseeds = n;
    return 0;
}

static void sweep_loc(const struct sweep *w, char *buf, size_t len)
{
    snprintf(buf, len, "%s.%.96s", src_names[w->src], w->path);
}

/* No key swept twice, none inside another swept key ("model" and
 * "model.width"), and the seed set in one place only. */
static int check_overlaps(const job_spec *s, char *err, size_t errlen)
{
    char li[128], lj[128];
    for (int j = 0; j < s->nsweeps; j++) {
        const struct sweep *wj = &s->sweeps[j];
        sweep_loc(wj, lj, sizeof lj);
        if (s->seeds != SEEDS_NONE && strcmp(wj->path, "seed") == 0)
            return err_set(err, errlen, -EINVAL,
                           "seeds: the seed is also swept by %s; set it in "
                           "one place", lj);
        for (int i = 0; i < j; i++) {
            const struct sweep *wi = &s->sweeps[i];
            size_t a = strlen(wi->path), b = strlen(wj->path);
            size_t m = a < b ? a : b;
            sweep_loc(wi, li, sizeof li);
            if (a == b && strcmp(wi->path, wj->path) == 0)
                return wi->src == wj->src
                           ? err_set(err, errlen, -EINVAL, "%s: duplicate key", lj)
                           : err_set(err, errlen, -EINVAL,
                                     "%s: also swept by %s", lj, li);
            if (strncmp(wi->path, wj->path, m) == 0 &&
                (a < b ? wj->path[a] : wi->path[b]) == '.')
                return err_set(err, errlen, -EINVAL,
                               "%s: overlaps %s (one holds the other)", lj, li);
        }
    }
    return 0;
}

/* The run count, refused past SPEC_MAX_RUNS before anything is expanded.
 * Each factor is >= 1, so the running product only grows: comparing it
 * with SPEC_MAX_RUNS / factor before multiplying can never overflow. */
static int count_runs(job_spec *s, char *err, size_t errlen)
{
    long factor[SPEC_MAX_SWEEP_KEYS + 3];
    char blame[SPEC_MAX_SWEEP_KEYS + 3][128];
    int nf = 0;
    for (int k = 0; k < s->ngrid; k++, nf++) {
        factor[nf] = s->sweeps[k].count;
        sweep_loc(&s->sweeps[k], blame[nf], sizeof blame[nf]);
    }
    if (s->nzip) {
        factor[nf] = s->zip_len;
        sweep_loc(&s->sweeps[s->ngrid], blame[nf++], sizeof blame[0]);
    }
    factor[nf] = s->random_n;
    snprintf(blame[nf++], sizeof blame[0], "random.n");
    factor[nf] = s->nseeds;
    snprintf(blame[nf++], sizeof blame[0], "seeds");

    long total = 1;
    for (int f = 0; f < nf; f++) {
        if (factor[f] <= SPEC_MAX_RUNS / total) {
            total *= factor[f];
            continue;
        }
        long long all = 1;
        bool overflow = false;
        for (int g = 0; g < nf && !overflow; g++)
            overflow = __builtin_mul_overflow(all, (long long)factor[g], &all);
        if (overflow)
            return err_set(err, errlen, -EINVAL,
                           "%s: the job would have more than %lld runs, above "
                           "the limit of %ld per job", blame[f], LLONG_MAX,
                           SPEC_MAX_RUNS);
        return err_set(err, errlen, -EINVAL,
                       "%s: the job would have %lld runs, more than the limit "
                       "of %ld per job", blame[f], all, SPEC_MAX_RUNS);
    }
    s->count = total;
    return 0;
}

/* Numbers as the shortest text that reads back as the identical double:
 * cJSON's own printing accepts a nearby double, and the canonical spec must
 * reproduce its runs bit for bit. Turns every number of `v` into raw text. */
static bool exact_numbers(cJSON *v)
{
    for (cJSON *e = v->child; e; e = e->next)
        if (!exact_numbers(e))
            return false;
    if (!cJSON_IsNumber(v))
        return true;
    char buf[40];
    double x = v->valuedouble;
    /* a literal past the double range (1e999) reads as inf: write it so
     * that it reads back the same, for config_parse to reject in place */
    if (isnan(x))
        snprintf(buf, sizeof buf, "null");
    else if (isinf(x))
        snprintf(buf, sizeof buf, "%s1e999", x < 0 ? "-" : "");
    for (int prec = 15; isfinite(x) && prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    char *raw = strdup(buf);
    if (!raw)
        return false;
    v->type = cJSON_Raw;
    v->valuestring = raw;
    return true;
}

/* random as {"n", "seed", "params"}, the seed spelled out. */
static cJSON *canonical_random(const job_spec *s, const cJSON *random)
{
    cJSON *r = cJSON_CreateObject();
    cJSON *params = cJSON_Duplicate(
        cJSON_GetObjectItemCaseSensitive(random, "params"), 1);
    if (!r || !params || !cJSON_AddNumberToObject(r, "n", (double)s->random_n) ||
        !cJSON_AddNumberToObject(r, "seed", (double)s->random_seed)) {
        cJSON_Delete(r);
        cJSON_Delete(params);
        return NULL;
    }
    cJSON_AddItemToObject(r, "params", params);
    return r;
}

/* The canonical text: every top-level key in a fixed order, defaults
 * spelled out, absent sweeps left out. */
static int make_json(job_spec *s, const cJSON *const *top, char *err,
                     size_t errlen)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "name", s->name) &&
              cJSON_AddNumberToObject(o, "priority", s->priority) &&
              cJSON_AddNumberToObject(o, "max_attempts", s->max_attempts);
    const int parts[] = {TOP_BASE, TOP_GRID, TOP_ZIP, TOP_RANDOM, TOP_SEEDS};
    for (size_t i = 0; ok && i < sizeof parts / sizeof parts[0]; i++) {
        const cJSON *v = parts[i] == TOP_BASE ? s->base : top[parts[i]];
        if (!v)
            continue;
        cJSON *copy = parts[i] == TOP_RANDOM ? canonical_random(s, v)
                                             : cJSON_Duplicate(v, 1);
        if (!copy)
            ok = false;
        else
            cJSON_AddItemToObject(o, top_keys[parts[i]], copy);
    }
    ok = ok && exact_numbers(o) && (s->json = cJSON_PrintUnformatted(o));
    cJSON_Delete(o);
    return ok ? 0 : oom(err, errlen);
}

static int parse_top(job_spec *s, const cJSON *json, const cJSON **top,
                     char *err, size_t errlen)
{
    char got[64];
    if (!cJSON_IsObject(json))
        return err_set(err, errlen, -EINVAL,
                       "spec: must be a JSON object, got %s",
                       describe(json, got, sizeof got));
    for (const cJSON *e = json->child; e; e = e->next) {
        int k = -1;
        for (int i = 0; i < TOP_COUNT; i++)
            if (strcmp(e->string, top_keys[i]) == 0)
                k = i;
        if (k < 0)
            return unknown_key(err, errlen, "", e->string, top_keys, TOP_COUNT);
        if (top[k])
            return err_set(err, errlen, -EINVAL, "%s: duplicate key", e->string);
        top[k] = e;
    }
    int rc = parse_name(s, top[TOP_NAME], err, errlen);
    if (rc == 0)
        rc = parse_numbers(s, top[TOP_PRIORITY], top[TOP_MAX_ATTEMPTS], err,
                           errlen);
    if (rc == 0 && top[TOP_BASE] && !cJSON_IsObject(top[TOP_BASE]))
        rc = err_set(err, errlen, -EINVAL,
                     "base: must be an object (a run configuration), got %s",
                     describe(top[TOP_BASE], got, sizeof got));
    return rc;
}

int spec_parse(const cJSON *json, job_spec **out, char *err, size_t errlen)
{
    *out = NULL;
    job_spec *s = calloc(1, sizeof *s);
    if (!s)
        return oom(err, errlen);
    s->name = "";
    s->max_attempts = 3;
    s->zip_len = s->random_n = s->nseeds = 1;
    const cJSON *top[TOP_COUNT] = {0};
    int rc = -ENOMEM;
    s->root = cJSON_Duplicate(json, 1);
    if (!s->root) {
        oom(err, errlen);
        goto out;
    }
    rc = parse_top(s, s->root, top, err, errlen);
    if (rc < 0)
        goto out;
    s->base = top[TOP_BASE];
    if (!s->base && !(s->base = s->empty_base = cJSON_CreateObject())) {
        rc = oom(err, errlen);
        goto out;
    }
    if (top[TOP_GRID] && (rc = parse_lists(s, SRC_GRID, top[TOP_GRID], err, errlen)) < 0)
        goto out;
    if (top[TOP_ZIP] && (rc = parse_lists(s, SRC_ZIP, top[TOP_ZIP], err, errlen)) < 0)
        goto out;
    if (top[TOP_RANDOM] && (rc = parse_random(s, top[TOP_RANDOM], err, errlen)) < 0)
        goto out;
    if (top[TOP_SEEDS] && (rc = parse_seeds(s, top[TOP_SEEDS], err, errlen)) < 0)
        goto out;
    if ((rc = check_overlaps(s, err, errlen)) < 0 ||
        (rc = count_runs(s, err, errlen)) < 0 ||
        (rc = make_json(s, top, err, errlen)) < 0)
        goto out;
    *out = s;
    return 0;
out:
    spec_free(s);
    return rc;
}

void spec_free(job_spec *s)
{
    if (!s)
        return;
    for (int k = 0; k < s->nsweeps; k++)
        free(s->sweeps[k].values);
    free(s->seed_list);
    free(s->json);
    cJSON_Delete(s->empty_base);
    cJSON_Delete(s->root);
    free(s);
}

const char *spec_name(const job_spec *s) { return s->name; }
int spec_priority(const job_spec *s) { return s->priority; }
int spec_max_attempts(const job_spec *s) { return s->max_attempts; }
long spec_count(const job_spec *s) { return s->count; }
const char *spec_json(const job_spec *s) { return s->json; }

/* ---------------------------------------------------------------------
 * Building one run.
 * ------------------------------------------------------------------- */

/* The random value of sweep w for draw `draw`: its own stream per (draw,
 * key), so adding a key to random.params leaves the others' draws alone. */
static cJSON *draw_value(const job_spec *s, int k, long draw, long *choice)
{
    const struct sweep *w = &s->sweeps[k];
    rng g;
    rng_init(&g, s->random_seed,
             SPEC_RNG_TAG | ((uint64_t)draw * SPEC_MAX_SWEEP_KEYS + (uint64_t)k));
    double u, x;
    switch (w->draw) {
    case DRAW_CHOICE:
        *choice = (long)rng_below(&g, (uint64_t)w->count);
        return cJSON_Duplicate(w->values[*choice], 1);
    case DRAW_RANDINT:
        x = (double)((int64_t)w->a +
                     (int64_t)rng_below(&g, (uint64_t)(int64_t)(w->b - w->a) + 1));
        return cJSON_CreateNumber(x);
    case DRAW_LOG_UNIFORM:
        u = rng_uniform(&g);
        x = exp(log(w->a) + (log(w->b) - log(w->a)) * u);
        return cJSON_CreateNumber(fmin(fmax(x, w->a), w->b)); /* rounding */
    case DRAW_UNIFORM:
    default:
        u = rng_uniform(&g);
        return cJSON_CreateNumber(fmin(w->a + (w->b - w->a) * u, w->b));
    }
}

/* Sets `path` in obj to item (taking it), creating the objects on the
 * way; a null item removes the key, so the run takes its default. */
static int set_path(cJSON *obj, const struct sweep *w, cJSON *item, char *err,
                    size_t errlen)
{
    const char *seg = w->path, *dot;
    char name[128], prefix[128], got[64], loc[128];
    while ((dot = strchr(seg, '.')) != NULL) {
        snprintf(name, sizeof name, "%.*s", (int)(dot - seg), seg);
        cJSON *child = cJSON_GetObjectItemCaseSensitive(obj, name);
        if (!child && !(child = cJSON_AddObjectToObject(obj, name))) {
            cJSON_Delete(item);
            return oom(err, errlen);
        }
        if (!cJSON_IsObject(child)) {
            snprintf(prefix, sizeof prefix, "%.*s", (int)(dot - w->path), w->path);
            sweep_loc(w, loc, sizeof loc);
            cJSON_Delete(item);
            return err_set(err, errlen, -EINVAL,
                           "base.%s: must be an object (%s sets a key in "
                           "it), got %s", prefix, loc,
                           describe(child, got, sizeof got));
        }
        obj = child;
        seg = dot + 1;
    }
    while (cJSON_GetObjectItemCaseSensitive(obj, seg))
        cJSON_DeleteItemFromObjectCaseSensitive(obj, seg);
    if (cJSON_IsNull(item)) {
        cJSON_Delete(item);
        return 0;
    }
    cJSON_AddItemToObject(obj, seg, item);
    return 0;
}

static void decode(const job_spec *s, long index, struct pick *pk)
{
    pk->seed = index % s->nseeds;
    index /= s->nseeds;
    pk->draw = index % s->random_n;
    index /= s->random_n;
    long z = index % s->zip_len;
    index /= s->zip_len;
    for (int k = s->ngrid - 1; k >= 0; k--) {
        pk->idx[k] = index % s->sweeps[k].count;
        index /= s->sweeps[k].count;
    }
    for (int k = s->ngrid; k < s->nsweeps; k++)
        pk->idx[k] = s->sweeps[k].src == SRC_ZIP ? z : -1;
}

/* The spec location where run `pk` got the value of sweep k. */
static void value_loc(const job_spec *s, int k, const struct pick *pk,
                      char *buf, size_t len)
{
    const struct sweep *w = &s->sweeps[k];
    sweep_loc(w, buf, len);
    size_t used = strlen(buf);
    if (w->src != SRC_RANDOM)
        snprintf(buf + used, len - used, "[%ld]", pk->idx[k]);
    else if (w->draw == DRAW_CHOICE)
        snprintf(buf + used, len - used, ".choice[%ld]", pk->idx[k]);
}

/* config_parse names the configuration key ("model.width: ..."); the user
 * wants the place in the spec that gave it. A message about a swept key,
 * or about something inside one, is moved to that sweep's location; the
 * seed to seeds; anything else came from base. */
static void locate_error(const job_spec *s, const struct pick *pk, char *err,
                         size_t errlen)
{
    if (!err || errlen == 0)
        return;
    char loc[160], rest[ERR_LEN];
    size_t cut = 0;
    loc[0] = '\0';
    for (int k = 0; k < s->nsweeps && !loc[0]; k++) {
        size_t len = strlen(s->sweeps[k].path);
        if (strncmp(err, s->sweeps[k].path, len) == 0 &&
            (err[len] == ':' || err[len] == '.' || err[len] == '[')) {
            value_loc(s, k, pk, loc, sizeof loc);
            cut = len;
        }
    }
    if (!loc[0] && s->seeds != SEEDS_NONE && strncmp(err, "seed:", 5) == 0) {
        if (s->seeds == SEEDS_LIST)
            snprintf(loc, sizeof loc, "seeds[%ld]", pk->seed);
        else
            snprintf(loc, sizeof loc, "seeds");
        cut = 4;
    }
    if (!loc[0])
        snprintf(loc, sizeof loc, "base.");
    snprintf(rest, sizeof rest, "%s", err + cut);
    snprintf(err, errlen, "%s%s", loc, rest);
}

/* Records in pk which choice each random choice made, for error messages. */
static int build_run(const job_spec *s, struct pick *pk, cJSON **out,
                     char *err, size_t errlen)
{
    cJSON *run = cJSON_Duplicate(s->base, 1);
    if (!run)
        return oom(err, errlen);
    for (int k = 0; k < s->nsweeps; k++) {
        const struct sweep *w = &s->sweeps[k];
        long choice = -1;
        cJSON *v = w->src == SRC_RANDOM ? draw_value(s, k, pk->draw, &choice)
                                        : cJSON_Duplicate(w->values[pk->idx[k]], 1);
        if (w->src == SRC_RANDOM)
            pk->idx[k] = choice;
        int rc = v ? set_path(run, w, v, err, errlen) : oom(err, errlen);
        if (rc < 0) {
            cJSON_Delete(run);
            return rc;
        }
    }
    if (s->seeds != SEEDS_NONE) {
        uint64_t seed = s->seeds == SEEDS_LIST ? s->seed_list[pk->seed]
                                               : s->seed_first + (uint64_t)pk->seed;
        cJSON_DeleteItemFromObjectCaseSensitive(run, "seed");
        if (!cJSON_AddNumberToObject(run, "seed", (double)seed)) {
            cJSON_Delete(run);
            return oom(err, errlen);
        }
    }
    *out = run;
    return 0;
}

int spec_run(const job_spec *s, long index, run_config *out, char *err,
             size_t errlen)
{
    config_defaults(out);
    if (index < 0 || index >= s->count)
        return err_set(err, errlen, -EINVAL,
                       "index: run %ld is not in [0, %ld)", index, s->count);
    struct pick pk;
    decode(s, index, &pk);
    cJSON *run = NULL;
    int rc = build_run(s, &pk, &run, err, errlen);
    if (rc < 0)
        return rc;
    rc = config_parse(run, out, err, errlen);
    cJSON_Delete(run);
    if (rc == -EINVAL)
        locate_error(s, &pk, err, errlen);
    return rc;
}

int spec_nkeys(const job_spec *s)
{
    return s->nsweeps + (s->seeds != SEEDS_NONE);
}

const char *spec_key(const job_spec *s, int k)
{
    if (k >= 0 && k < s->nsweeps)
        return s->sweeps[k].path;
    return k == s->nsweeps && s->seeds != SEEDS_NONE ? "seed" : NULL;
}

const char *spec_key_sweep(const job_spec *s, int k)
{
    static const char *const sweep_names[] = {"grid", "zip", "random"};
    if (k >= 0 && k < s->nsweeps)
        return sweep_names[s->sweeps[k].src];
    return k == s->nsweeps && s->seeds != SEEDS_NONE ? "seeds" : NULL;
}

/* "model.width=4096, seed=3" into buf, appended at *used. */
static void point_add(char *buf, size_t len, size_t *used, const char *key,
                      const char *value)
{
    if (*used >= len)
        return;
    int n = snprintf(buf + *used, len - *used, "%s%s=%s", *used ? ", " : "",
                     key, value);
    *used += n > 0 ? (size_t)n : 0;
}

void spec_point(const job_spec *s, long index, char *buf, size_t len)
{
    if (len == 0)
        return;
    buf[0] = '\0';
    if (index < 0 || index >= s->count)
        return;
    struct pick pk;
    decode(s, index, &pk);
    size_t used = 0;
    char val[64];
    for (int k = 0; k < s->nsweeps; k++) {
        const struct sweep *w = &s->sweeps[k];
        long choice = -1;
        cJSON *drawn = w->src == SRC_RANDOM ? draw_value(s, k, pk.draw, &choice) : NULL;
        const cJSON *v = w->src == SRC_RANDOM ? drawn : w->values[pk.idx[k]];
        point_add(buf, len, &used, w->path, v ? describe(v, val, sizeof val) : "?");
        cJSON_Delete(drawn);
    }
    if (s->seeds != SEEDS_NONE) {
        uint64_t seed = s->seeds == SEEDS_LIST ? s->seed_list[pk.seed]
                                               : s->seed_first + (uint64_t)pk.seed;
        snprintf(val, sizeof val, "%llu", (unsigned long long)seed);
        point_add(buf, len, &used, "seed", val);
    }
}

int spec_expand(const job_spec *s, spec_emit_fn emit, void *ctx, char *err,
                size_t errlen)
{
    for (long i = 0; i < s->count; i++) {
        run_config cfg;
        int rc = spec_run(s, i, &cfg, err, errlen);
        if (rc < 0)
            return rc;
        char *text = config_to_json(&cfg);
        rc = text ? emit(ctx, i, &cfg, text, err, errlen) : oom(err, errlen);
        free(text);
        config_free(&cfg);
        if (rc != 0)
            return rc;
    }
    return 0;
}
