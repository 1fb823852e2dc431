/* stats.h — the seed statistics of docs/theory.md §6.10: a percentile
 * bootstrap interval for a mean and the exact two-sided sign test, for
 * the report's paired comparisons of architectures over seeds. */
#ifndef RESWEEP_STATS_H
#define RESWEEP_STATS_H

#include <stddef.h>

#include "rng.h"

/* Resamples the report draws for an interval: enough that the 2.5% and
 * 97.5% quantiles move by well under a tenth of the interval between two
 * seeds. */
#define STATS_BOOTSTRAP_REPS 2000

/* The percentile bootstrap interval of the mean of x[0..n-1] at `level`
 * (0.95: the 2.5% and 97.5% quantiles, type 7, of the means of `reps`
 * resamples of n drawn with replacement from r) into *lo, *hi. n >= 1
 * (n = 1 gives the point), reps >= 2, level in (0, 1). Allocates reps
 * doubles: 0 or -ENOMEM; -EINVAL for bad arguments. */
int stats_bootstrap_mean(const double *x, size_t n, int reps, double level,
                         rng *r, double *lo, double *hi);

/* The exact two-sided sign test of a median of zero, given `below`
 * differences < 0 and `above` > 0 (ties dropped): min(1, 2 P(X <=
 * min(below, above))) for X ~ Binomial(below + above, 1/2); 1 when both
 * are 0. Summed in log space: exact to rounding for any count. */
double stats_sign_test_p(long below, long above);

#endif
