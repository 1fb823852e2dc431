/* path.h — the loss along straight segments in parameter space: from the
 * end point to the point of the same network that realises the best
 * linear predictor (docs/theory.md §6.7), and between the end points of
 * two runs of the same network (§6.9). */
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

/* F at the `points` (>= 2, <= CONFIG_MAX_PATH_POINTS) points t_i = i /
 * (points - 1) of theta(t) = (1 - t) theta_a + t theta_b, every parameter
 * interpolated, into out; *barrier = max_i F(t_i) - max(F(0), F(1)), >= 0
 * (NAN when a point's F is NAN). theta(0) is theta_a and theta(1) theta_b
 * bit for bit, so out->loss[0] and out->loss[points - 1] are F at the
 * two end points. Memory: one vector of n_params doubles; pl as for
 * path_to_linear. 0; -EINVAL for a bad count or -ENOMEM, with a
 * sentence; or the poller's code without one. */
/* The point theta(t) of path_segment's segment, n entries into at: a
 * copy of a at t = 0 and of b at t = 1, else (1 - t) a + t b. 0 or pl's
 * code. */
int path_segment_at(const double *a, const double *b, double t,
                    double *at, size_t n, poller *pl);

int path_segment(model *m, const double *theta_a, const double *theta_b,
                 enum loss_kind loss, const double *X, const double *y,
                 int n, int points, poller *pl, run_path *out,
                 double *barrier, char *err, size_t errlen);

#endif
