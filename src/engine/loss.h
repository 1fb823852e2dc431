/* loss.h — the convex, twice differentiable losses of docs/theory.md §4.
 *
 * Each loss gives l(p; y), dl/dp and d2l/dp2, computed stably for any
 * finite p (|p| up to 1e3 and beyond: no exp() of a large argument). */
#ifndef RESWEEP_LOSS_H
#define RESWEEP_LOSS_H

#include "config.h"

/* l(p; y). */
double loss_value(enum loss_kind k, double p, double y);

/* l(p; y), and l'(p; y), l''(p; y) into *d1, *d2 (either may be NULL). */
double loss_eval(enum loss_kind k, double p, double y, double *d1, double *d2);

/* Mean loss over n predictions. */
double loss_mean(enum loss_kind k, const double *p, const double *y, int n);

/* Fraction of sign(p) != y (classification targets in {-1,+1}). */
double loss_error01(const double *p, const double *y, int n);

#endif
