/* ckparts.c — a checkpoint in parts (ckparts.h). The bytes grow as parts
 * arrive, so memory follows what was sent, not what a part claims. */
#include "ckparts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ckparts {
    struct ckparts *next;
    int64_t run_id;
    long step;
    size_t total, have;
    unsigned char *data;
};

static ckparts **find(ckparts **list, int64_t run_id)
{
    ckparts **pp = list;
    while (*pp && (*pp)->run_id != run_id)
        pp = &(*pp)->next;
    return pp;
}

static void unlink_free(ckparts **pp)
{
    ckparts *p = *pp;
    *pp = p->next;
    free(p->data);
    free(p);
}

int ckparts_add(ckparts **list, int64_t run_id, long step, size_t offset,
                size_t total, const void *data, size_t len,
                checkpoint *whole)
{
    ckparts **pp = find(list, run_id);
    if (*pp && offset == 0)
        unlink_free(pp);   /* *pp is the next run's now */
    ckparts *p = *find(list, run_id);
    if (!p) {
        if (offset != 0 || !(p = calloc(1, sizeof *p)))
            return offset != 0 ? -EINVAL : -ENOMEM;
        *p = (ckparts){.next = *list, .run_id = run_id, .step = step,
                       .total = total};
        *list = p;
    }
    if (offset != p->have || total != p->total || step != p->step ||
        len > total - p->have)
        return -EINVAL;
    unsigned char *grown = realloc(p->data, p->have + len + 1);
    if (!grown)
        return -ENOMEM;
    p->data = grown;
    memcpy(p->data + p->have, data, len);
    p->have += len;
    if (p->have < p->total)
        return 0;
    *whole = (checkpoint){p->data, p->total, p->step};
    return 1;
}

int ckparts_keep(ckparts **list, int64_t run_id, void *data, size_t len)
{
    ckparts_drop(list, run_id);
    ckparts *p = calloc(1, sizeof *p);
    if (!p) {
        free(data);
        return -ENOMEM;
    }
    *p = (ckparts){.next = *list, .run_id = run_id, .total = len,
                   .have = len, .data = data};
    *list = p;
    return 0;
}

int ckparts_get(ckparts **list, int64_t run_id, checkpoint *whole)
{
    ckparts *p = *find(list, run_id);
    if (!p || p->have != p->total)
        return 0;
    *whole = (checkpoint){p->data, p->total, p->step};
    return 1;
}

void ckparts_drop(ckparts **list, int64_t run_id)
{
    ckparts **pp = find(list, run_id);
    if (*pp)
        unlink_free(pp);
}

void ckparts_free(ckparts **list)
{
    while (*list)
        unlink_free(list);
}
