/* ckparts.h — checkpoints that arrive from a remote worker in parts, one
 * frame each, assembled per run until whole (docs/protocol.md, "Workers").
 * Loop thread only. */
#ifndef RESWEEP_CKPARTS_H
#define RESWEEP_CKPARTS_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

typedef struct ckparts ckparts;   /* a list; NULL is empty */

/* The part [offset, offset + len) of run's checkpoint of total bytes at
 * step. Parts come in order; offset 0 starts the checkpoint again. 1 with
 * *whole set (its bytes owned by the list until ckparts_drop) once all
 * total bytes are there, 0 while more are due, -EINVAL for a part out of
 * order, -ENOMEM. */
int ckparts_add(ckparts **list, int64_t run_id, long step, size_t offset,
                size_t total, const void *data, size_t len,
                checkpoint *whole);
/* Keeps run's whole checkpoint (data, len: taken) for a worker to fetch
 * in parts (ckparts_get); replaces what the run had. 0, or -ENOMEM (data
 * freed). */
int ckparts_keep(ckparts **list, int64_t run_id, void *data, size_t len);
/* A whole checkpoint of run: 1 with *whole (bytes owned by the list), or
 * 0 when none is whole. */
int ckparts_get(ckparts **list, int64_t run_id, checkpoint *whole);
/* Forgets run's parts (delivered, or its lease ended). */
void ckparts_drop(ckparts **list, int64_t run_id);
void ckparts_free(ckparts **list);

#endif
