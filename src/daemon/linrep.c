/* linrep.c — linear runs that a sweep repeats (linrep.h). */
#include "linrep.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINREP_KEYS 6
static const char *const ignored_key[LINREP_KEYS] = {
    "model.blocks", "model.unit_depth", "model.width", "model.activation",
    "model.init", "model.gain"};

static unsigned differs(const model_config *a, const model_config *b)
{
    bool d[LINREP_KEYS] = {a->blocks != b->blocks,
                           a->unit_depth != b->unit_depth,
                           a->width != b->width,
                           a->activation != b->activation,
                           a->init != b->init, a->gain != b->gain};
    unsigned bits = 0;
    for (int i = 0; i < LINREP_KEYS; i++)
        bits |= (unsigned)d[i] << i;
    return bits;
}

/* FNV-1a of the canonical JSON, never 0 (the free slot). */
static uint64_t hash_of(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return h ? h : 1;
}

static void put(uint64_t *slots, size_t cap, uint64_t h)
{
    size_t i = (size_t)h & (cap - 1);
    while (slots[i] && slots[i] != h)
        i = (i + 1) & (cap - 1);
    slots[i] = h;
}

static bool contains(const linrep *lr, uint64_t h)
{
    for (size_t i = (size_t)h & (lr->cap - 1); lr->slots[i];
         i = (i + 1) & (lr->cap - 1))
        if (lr->slots[i] == h)
            return true;
    return false;
}

/* Keeps the table at most half full. */
static int reserve(linrep *lr)
{
    if (2 * (lr->count + 1) <= lr->cap)
        return 0;
    size_t cap = lr->cap ? 2 * lr->cap : 64;
    uint64_t *s = calloc(cap, sizeof *s);
    if (!s)
        return -ENOMEM;
    for (size_t i = 0; i < lr->cap; i++)
        if (lr->slots[i])
            put(s, cap, lr->slots[i]);
    free(lr->slots);
    lr->slots = s;
    lr->cap = cap;
    return 0;
}

int linrep_note(linrep *lr, const run_config *cfg)
{
    if (cfg->model.arch != ARCH_LINEAR)
        return 0;
    run_config def, norm = *cfg;   /* shallow: only model is changed */
    config_defaults(&def);
    enum arch arch = norm.model.arch;
    double init_scale = norm.model.init_scale;
    norm.model = def.model;
    norm.model.arch = arch;
    norm.model.init_scale = init_scale;   /* w's std: it matters */
    if (lr->count == 0 && lr->repeated == 0)
        lr->first = cfg->model;
    lr->varied |= differs(&lr->first, &cfg->model);
    char *json = config_to_json(&norm);
    config_free(&def);
    if (!json || reserve(lr) < 0) {
        free(json);
        return -ENOMEM;
    }
    uint64_t h = hash_of(json);
    free(json);
    if (contains(lr, h)) {
        lr->repeated++;
        return 0;
    }
    put(lr->slots, lr->cap, h);
    lr->count++;
    return 0;
}

void linrep_keys(const linrep *lr, char *buf, size_t len)
{
    size_t at = 0;
    if (len)
        buf[0] = '\0';
    for (int i = 0; i < LINREP_KEYS && at < len; i++)
        if (lr->varied & (1u << i)) {
            int n = snprintf(buf + at, len - at, "%s%s", at ? ", " : "",
                             ignored_key[i]);
            at += n > 0 ? (size_t)n : 0;
        }
}

void linrep_free(linrep *lr)
{
    free(lr->slots);
    *lr = (linrep){0};
}
