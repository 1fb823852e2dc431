/* linrep.h — linear runs that a sweep repeats (issue 11).
 *
 * The linear model f(x) = <w, x> (docs/theory.md §3) has no hidden units:
 * model.blocks, unit_depth, width, activation, init and gain change
 * nothing of a linear run, so a grid over them runs the same linear
 * configuration once per value. A submission counts those repeats (runs
 * equal to an earlier linear run of the job but for the keys the model
 * ignores) and names the ignored keys that vary, so that the user can
 * sweep them for the networks only. The expansion is not changed.
 *
 * Runs are told apart by a 64-bit hash of their configuration with the
 * ignored keys at their defaults (8 bytes a linear run): two distinct
 * configurations with one hash would undercount by one.
 */
#ifndef RESWEEP_LINREP_H
#define RESWEEP_LINREP_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef struct linrep {
    uint64_t *slots;           /* open addressing; 0 marks a free slot */
    size_t cap, count;
    long repeated;
    unsigned varied;           /* bit i: ignored key i differs somewhere */
    model_config first;        /* the first linear run's model */
} linrep;

/* Notes one run of the job (any architecture; only linear ones count).
 * 0, or -ENOMEM (the count is then a lower bound). */
int linrep_note(linrep *lr, const run_config *cfg);
/* "model.unit_depth, model.width": the ignored keys that vary among the
 * job's linear runs, cut to len; "" when none. */
void linrep_keys(const linrep *lr, char *buf, size_t len);
void linrep_free(linrep *lr);

#endif
