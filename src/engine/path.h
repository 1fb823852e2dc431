/* path.h — the loss along the straight segment from the end point to the
 * point of the same network that realises the best linear predictor
 * (docs/theory.md §6.7). */
#ifndef RESWEEP_PATH_H
#define RESWEEP_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"
#include "model.h"
#include "poller.h"

/* Whether the architecture has a point realising u* exactly: resnet
 * (w = u*, V = 0) and decoupled (u = u*, v = 0). */
bool path_has_linear_point(enum arch arch);

/* F at the `points` (>= 2, <= CONFIG_MAX_PATH_POINTS) points t_i = i /
 * (points - 1) of theta(t) = (1 - t) theta + t theta_lin, where theta_lin
 * is theta with the output group set to u* and the V group to 0 (the
 * hidden layers are the same at both ends, so they are copied, not
 * interpolated, and stay exact), into out; *barrier = max_i F(t_i) -
 * max(F(0), F(1)), >= 0 because both ends are among the points. theta(0)
 * is theta and theta(1) theta_lin bit for bit. Memory: one vector of
 * n_params doubles. pl (may be NULL) is ticked every 4096 entries of a
 * point and by the model's passes when it is m's interrupt hook
 * (analysis_endpoint). 0; -EINVAL for an architecture without a linear
 * point, -ENOMEM, with a sentence; or the poller's code without one
 * (out->points and *barrier are then left as they were). */
int path_to_linear(model *m, const double *theta, const double *u_star,
                   enum loss_kind loss, const double *X, const double *y,
                   int n, int points, poller *pl, run_path *out,
                   double *barrier, char *err, size_t errlen);

#endif
