/* slice.h — the loss on a 2-D grid around the end point along two random
 * filter-normalised directions (docs/theory.md §6.8), the picture of
 * Li et al.'s "Visualizing the loss landscape of neural nets". */
#ifndef RESWEEP_SLICE_H
#define RESWEEP_SLICE_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "model.h"
#include "poller.h"
#include "rng.h"

/* Two directions into d1 and d2 (n_params each): entries N(0, 1) from r,
 * d1's first, then every filter of m (model_filter_at) of each rescaled
 * to the norm of the same filter of theta (a filter of theta that is zero
 * gives a zero block; a direction block drawn all zero stays zero). Ticks
 * pl every 4096 entries: 0 or its code. */
int slice_directions(const model *m, const double *theta, rng *r, double *d1,
                     double *d2, poller *pl);

/* a_i = radius (2 i - (points - 1)) / (points - 1) for i < points: -radius
 * to radius, exactly 0 at the centre of an odd count. */
double slice_coord(int i, int points, double radius);

/* F at theta + a_i d1 + b_j d2 for the points x points grid (points odd,
 * 3 to CONFIG_MAX_SLICE_POINTS) into out->loss[i * points + j], the
 * directions from slice_directions with a generator of stream RNG_SLICE
 * seeded by seed (the slice depends on the run's seed and shape only, not
 * on the other analyses). The centre is theta bit for bit, so its loss is
 * the run's F. Memory: three vectors of n_params doubles. pl (may be
 * NULL) is ticked every 4096 entries of a point and by the model's passes
 * when it is m's interrupt hook (analysis_endpoint). 0; -EINVAL for a
 * bad count, -ENOMEM, with a sentence; or the poller's code without one
 * (out is then left as it was). */
int slice_grid(model *m, const double *theta, enum loss_kind loss,
               const double *X, const double *y, int n, int points,
               double radius, uint64_t seed, poller *pl, run_slice *out,
               char *err, size_t errlen);

#endif
