/* idmap.h — an intrusive hash map keyed by int64 ids (the scheduler's
 * jobs by job id and active runs by run id: issue 9 §5).
 *
 * The caller embeds an idmap_node in its own struct and owns it; the map
 * owns only its bucket array. Lookups, inserts and removals cost O(1) on
 * average: the table doubles when it holds more nodes than buckets, and
 * halves when it holds fewer than an eighth, so memory follows the number
 * of entries down as well as up. Not thread-safe (the scheduler's lock
 * guards it).
 */
#ifndef RESWEEP_IDMAP_H
#define RESWEEP_IDMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct idmap_node {
    struct idmap_node *next;   /* the bucket's chain */
    int64_t key;
} idmap_node;

typedef struct idmap {
    idmap_node **buckets;      /* nbuckets entries, a power of two */
    size_t nbuckets, count;
    long long *probes;         /* borrowed counter of chain links examined
                                  (a test hook), or NULL */
} idmap;

/* An empty map (no allocation until the first insert). */
void idmap_init(idmap *m, long long *probes);
/* Frees the buckets; the nodes belong to the caller. */
void idmap_fini(idmap *m);

/* The node with key, or NULL. */
idmap_node *idmap_find(const idmap *m, int64_t key);
/* Adds n (its key set, not in the map). 0, or -ENOMEM when the first
 * bucket array cannot be allocated (a failed growth only lengthens the
 * chains). */
int idmap_insert(idmap *m, idmap_node *n);
/* Removes n, which is in the map. */
void idmap_remove(idmap *m, idmap_node *n);
/* Calls fn on every node, in no order; fn may free its node but must not
 * change the map. */
void idmap_each(const idmap *m, void (*fn)(idmap_node *n, void *ctx),
                void *ctx);

#endif
