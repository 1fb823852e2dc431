/* analysis.h — what every run measures at its end point (docs/theory.md §6). */
#ifndef RESWEEP_ANALYSIS_H
#define RESWEEP_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "data.h"
#include "engine.h"
#include "lanczos.h"
#include "model.h"
#include "poller.h"
#include "rng.h"

/* §6.4: cert = c - <a, u*> with a = (1/n) sum l'(p_i) x_i and
 * c = (1/n) sum l'(p_i) p_i, for predictions p at any parameters. An upper
 * bound on F - F_lin* wherever it is evaluated. */
double analysis_cert(enum loss_kind loss, const double *X, const double *y,
                     int n, int d, const double *p, const double *u_star);

/* §6.4's gradient-norm bound given grad F at theta and ||u*||: for resnet
 * ||w|| ||g_w|| + ||u*|| (||g_w|| + ||V||_2 ||g_V||_F / ||w||) (+inf at
 * w = 0); for decoupled (c = u.g_u + v.g_v, a = g_u)
 * ||u|| ||g_u|| + ||v|| ||g_v|| + ||u*|| ||g_u||; for linear
 * (||u|| + ||u*||) ||g_u||; NAN for plain and deep_resnet, where §6.4 gives
 * no such bound. Also returns ||w|| and ||V||_2 (||v|| for decoupled; the
 * largest block's for deep_resnet) through w_norm, v_norm. */
double analysis_cert_grad(const model *m, const double *theta,
                          const double *grad, double u_star_norm,
                          double *w_norm, double *v_norm);

/* §6.3: extreme Hessian eigenvalues of F at theta by Lanczos on exact
 * Hessian-vector products (lanczos.h says what is guaranteed). */
int analysis_hessian(model *m, const double *theta, enum loss_kind loss,
                     const double *X, const double *y, int n,
                     const lanczos_opts *opts, rng *r, lanczos_result *out,
                     char *err, size_t errlen);

/* Everything of §6 at theta into res: train/test losses and 0-1 errors,
 * gradient norms (total and per group), cert, cert_grad; when
 * ac->hessian the Hessian extremes, then (§6.6) its trace, the dense
 * spectrum up to ac->exact_max_params parameters, the point's class and
 * the SLQ density, each off at 0; and (§6.7) the path to the linear
 * point for resnet and decoupled; (§6.8) the slice when
 * ac->slice_points > 0 and the network has at most ac->slice_max_params
 * parameters, its directions from the run's seed alone (slice.h). Random
 * draws in that order from r, so adding a later one leaves the earlier
 * ones as they were. Expects
 * res->lin_loss and res->u_norm set.
 * 0, a negative code with a sentence, or the code of the poller p (may be
 * NULL) when it says stop: p is ticked once a row of each pass and once a
 * chunk of the model's passes (m's interrupt hook is p's while this runs),
 * so once a Lanczos iteration and once a column of the dense Hessian too,
 * and between the passes of Lanczos, Hutchinson, SLQ and the path over
 * their vectors (lanczos.h, spectrum.h) and the slice's. Not interrupted: LAPACK's
 * eigenvalue solves (the min(d, h)^2 Gram of V for cert_grad's ||V||_2;
 * Lanczos's and each SLQ probe's tridiagonal matrix; the dense Hessian's
 * dsyevd; README "Reliability" gives their lengths). */
int analysis_endpoint(model *m, const double *theta, enum loss_kind loss,
                      const dataset *ds, const double *u_star,
                      const analysis_config *ac, uint64_t seed, rng *r,
                      run_result *res, poller *p, char *err, size_t errlen);

#endif
