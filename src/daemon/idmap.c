/* idmap.c — intrusive hash map of int64 ids (idmap.h). */
#include "idmap.h"

#include <errno.h>
#include <stdlib.h>

#define IDMAP_MIN_BUCKETS 16

/* Fibonacci hashing: ids are consecutive, so spread them over the top
 * bits of a multiplication by 2^64/phi. */
static size_t slot(int64_t key, size_t nbuckets)
{
    uint64_t h = (uint64_t)key * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 32) & (nbuckets - 1);
}

void idmap_init(idmap *m, long long *probes)
{
    *m = (idmap){NULL, 0, 0, probes};
}

void idmap_fini(idmap *m)
{
    free(m->buckets);
    m->buckets = NULL;
    m->nbuckets = m->count = 0;
}

/* Moves every node into a table of n buckets; on failure keeps the old. */
static int rehash(idmap *m, size_t n)
{
    idmap_node **b = calloc(n, sizeof *b);
    if (!b)
        return -ENOMEM;
    for (size_t i = 0; i < m->nbuckets; i++) {
        for (idmap_node *x = m->buckets[i], *next; x; x = next) {
            next = x->next;
            size_t k = slot(x->key, n);
            x->next = b[k];
            b[k] = x;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
    return 0;
}

idmap_node *idmap_find(const idmap *m, int64_t key)
{
    if (!m->nbuckets)
        return NULL;
    for (idmap_node *x = m->buckets[slot(key, m->nbuckets)]; x; x = x->next) {
        if (m->probes)
            ++*m->probes;
        if (x->key == key)
            return x;
    }
    return NULL;
}

int idmap_insert(idmap *m, idmap_node *n)
{
    if (!m->nbuckets && rehash(m, IDMAP_MIN_BUCKETS) < 0)
        return -ENOMEM;
    if (m->count >= m->nbuckets)
        (void)rehash(m, m->nbuckets * 2);
    size_t k = slot(n->key, m->nbuckets);
    n->next = m->buckets[k];
    m->buckets[k] = n;
    m->count++;
    return 0;
}

void idmap_remove(idmap *m, idmap_node *n)
{
    idmap_node **pp = &m->buckets[slot(n->key, m->nbuckets)];
    while (*pp != n) {
        if (m->probes)
            ++*m->probes;
        pp = &(*pp)->next;
    }
    *pp = n->next;
    m->count--;
    if (m->count == 0) {
        idmap_fini(m);   /* an empty map holds no memory */
    } else if (m->nbuckets > IDMAP_MIN_BUCKETS &&
               m->count < m->nbuckets / 8) {
        (void)rehash(m, m->nbuckets / 2);
    }
}

void idmap_each(const idmap *m, void (*fn)(idmap_node *n, void *ctx),
                void *ctx)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        for (idmap_node *x = m->buckets[i], *next; x; x = next) {
            next = x->next;
            fn(x, ctx);
        }
    }
}
