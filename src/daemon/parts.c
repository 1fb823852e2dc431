/* parts.c — byte strings in parts (parts.h). The bytes grow as parts
 * arrive, doubling up to the total, so memory follows what was sent, not
 * what a part claims, and a string of many parts is not copied once per
 * part. */
#include "parts.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parts {
    struct parts *next;
    int64_t run_id;
    char name[PARTS_NAME_LEN];
    parts_tag tag;
    size_t total, have, cap;
    unsigned char *data;
};

static parts **find(parts **list, int64_t run_id, const char *name)
{
    parts **pp = list;
    while (*pp && ((*pp)->run_id != run_id ||
                   (name && strcmp((*pp)->name, name) != 0)))
        pp = &(*pp)->next;
    return pp;
}

static void unlink_free(parts **pp)
{
    parts *p = *pp;
    *pp = p->next;
    free(p->data);
    free(p);
}

static parts *push(parts **list, int64_t run_id, const char *name)
{
    parts *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->next = *list;
    p->run_id = run_id;
    snprintf(p->name, sizeof p->name, "%s", name);
    *list = p;
    return p;
}

static void whole_of(const parts *p, parts_whole *whole)
{
    *whole = (parts_whole){p->data, p->total, p->tag};
}

/* Bytes of run_id's strings but skip's. */
static size_t run_bytes(parts *list, int64_t run_id, const parts *skip)
{
    size_t n = 0;
    for (const parts *p = list; p; p = p->next)
        if (p->run_id == run_id && p != skip)
            n += p->total;
    return n;
}

/* The same part again: bytes the string already has, unchanged. */
static bool is_resend(const parts *p, const parts_part *in)
{
    return p->total == in->total && in->offset < p->have &&
           in->len <= p->have - in->offset &&
           memcmp(&p->tag, &in->tag, sizeof p->tag) == 0 &&
           memcmp(p->data + in->offset, in->data, in->len) == 0;
}

static int grow(parts *p, size_t need)
{
    if (need <= p->cap)
        return 0;
    size_t cap = p->cap > p->total / 2 ? p->total : 2 * p->cap;
    if (cap < need)
        cap = need;
    unsigned char *grown = realloc(p->data, cap + 1);
    if (!grown)
        return -ENOMEM;
    p->data = grown;
    p->cap = cap;
    return 0;
}

int parts_add(parts **list, const parts_part *in, size_t limit,
              parts_whole *whole)
{
    parts *p = *find(list, in->run_id, in->name);
    if (p && in->offset > 0 && is_resend(p, in)) {
        if (p->have < p->total)
            return 0;
        whole_of(p, whole);
        return 1;
    }
    if (in->offset == 0 &&
        (in->total > limit ||
         run_bytes(*list, in->run_id, p) > limit - in->total))
        return -EFBIG;
    if (!p && in->offset != 0)
        return -EINVAL;
    if (p && in->offset != 0 &&
        (in->offset != p->have || in->total != p->total ||
         memcmp(&p->tag, &in->tag, sizeof p->tag) != 0 ||
         in->len > p->total - p->have))
        return -EINVAL;
    if (in->offset == 0 && in->len > in->total)
        return -EINVAL;
    if (in->offset == 0) {
        /* A string begun again: what was there is the old one. */
        if (p)
            unlink_free(find(list, in->run_id, in->name));
        if (!(p = push(list, in->run_id, in->name)))
            return -ENOMEM;
        p->tag = in->tag;
        p->total = in->total;
    }
    if (grow(p, p->have + in->len) < 0)
        return -ENOMEM;
    memcpy(p->data + p->have, in->data, in->len);
    p->have += in->len;
    if (p->have < p->total)
        return 0;
    whole_of(p, whole);
    return 1;
}

int parts_keep(parts **list, int64_t run_id, const char *name, void *data,
               size_t len)
{
    parts_drop(list, run_id, name);
    parts *p = push(list, run_id, name);
    if (!p) {
        free(data);
        return -ENOMEM;
    }
    p->total = p->have = p->cap = len;
    p->data = data;
    return 0;
}

int parts_get(parts **list, int64_t run_id, const char *name,
              parts_whole *whole)
{
    parts *p = *find(list, run_id, name);
    if (!p || p->have != p->total)
        return 0;
    whole_of(p, whole);
    return 1;
}

void parts_drop(parts **list, int64_t run_id, const char *name)
{
    parts **pp;
    while (*(pp = find(list, run_id, name)))
        unlink_free(pp);
}

void parts_free(parts **list)
{
    while (*list)
        unlink_free(list);
}
