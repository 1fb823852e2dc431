/* parts.h — byte strings that arrive from a remote worker in parts, one
 * frame each, assembled per run and name until whole (docs/protocol.md,
 * "Workers"): a run's checkpoint (op checkpoint, and kept for
 * checkpoint_get) and its kept arrays (op arrays_part). Loop thread only.
 */
#ifndef RESWEEP_PARTS_H
#define RESWEEP_PARTS_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

typedef struct parts parts;   /* a list; NULL is empty */

#define PARTS_NAME_LEN RUN_ARRAY_NAME_LEN   /* bytes of a name, NUL included */

/* What every part of one string repeats, and its whole keeps: a
 * checkpoint's step (v[0]); an array's dimensions (v[0]) and shape. */
typedef struct parts_tag {
    long v[1 + RUN_ARRAY_MAX_DIMS];
} parts_tag;

/* One part: bytes [offset, offset + len) of run_id's string name, total
 * bytes long. All borrowed. */
typedef struct parts_part {
    int64_t run_id;
    const char *name;
    parts_tag tag;
    size_t offset, total;
    const void *data;
    size_t len;
} parts_part;

/* A whole string; its bytes are owned by the list until it is dropped. */
typedef struct parts_whole {
    const void *data;
    size_t len;
    parts_tag tag;
} parts_whole;

/* Adds p. Parts come in order; offset 0 starts the string again; a part
 * that repeats bytes already there, unchanged, is taken again (a request
 * resent after a reconnection, uplink.h). limit: the most bytes the run's
 * strings in this list may total, p's whole included. 1 with *whole set
 * once all total bytes are there, 0 while more are due, -EINVAL for a part
 * out of order, past the total, or of another total or tag, -EFBIG past
 * limit, -ENOMEM. A refused part leaves the string as it was. */
int parts_add(parts **list, const parts_part *p, size_t limit,
              parts_whole *whole);
/* Keeps a whole string (data, len: taken) for a worker to fetch in parts
 * (parts_get); replaces what the run had under that name. 0, or -ENOMEM
 * (data freed). */
int parts_keep(parts **list, int64_t run_id, const char *name, void *data,
               size_t len);
/* run_id's whole string name: 1 with *whole, or 0 when none is whole. */
int parts_get(parts **list, int64_t run_id, const char *name,
              parts_whole *whole);
/* Forgets run_id's string name, or every string of the run when name is
 * NULL (delivered, or its lease ended). */
void parts_drop(parts **list, int64_t run_id, const char *name);
void parts_free(parts **list);

#endif
