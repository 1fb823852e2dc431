/* path.c — see path.h; docs/theory.md §6.7. */
#include "path.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

bool path_has_linear_point(enum arch arch)
{
    return arch == ARCH_RESNET || arch == ARCH_DECOUPLED;
}

/* The output and V groups of theta(t) in at; the hidden layers were
 * copied once. (1 - t) a + t b, not a + t (b - a): exact at both ends. */
static void point_at(const model *m, const double *theta,
                     const double *u_star, double t, double *at)
{
    size_t oo, lo, ov, lv;
    model_group(m, MODEL_OUT, &oo, &lo);
    model_group(m, MODEL_V, &ov, &lv);
    for (size_t i = 0; i < lo; i++)
        at[oo + i] = (1 - t) * theta[oo + i] + t * u_star[i];
    for (size_t i = 0; i < lv; i++)
        at[ov + i] = (1 - t) * theta[ov + i];
}

int path_to_linear(model *m, const double *theta, const double *u_star,
                   enum loss_kind loss, const double *X, const double *y,
                   int n, int points, run_path *out, double *barrier,
                   char *err, size_t errlen)
{
    const model_shape *s = model_get_shape(m);
    if (!path_has_linear_point(s->arch))
        return err_set(err, errlen, -EINVAL, "path: %s has no point "
                       "realising the linear predictor",
                       config_arch_name(s->arch));
    if (points < 2 || points > CONFIG_MAX_PATH_POINTS)
        return err_set(err, errlen, -EINVAL, "path: %d points, must be in "
                       "[2, %d]", points, CONFIG_MAX_PATH_POINTS);
    size_t np = model_nparams(m);
    double *at = malloc(sizeof *at * np);
    if (!at)
        return err_set(err, errlen, -ENOMEM, "path: out of memory");
    memcpy(at, theta, sizeof *at * np);
    double top = -INFINITY;
    bool nan = false;
    for (int i = 0; i < points; i++) {
        /* the last t is 1 exactly: (points - 1) / (points - 1) */
        point_at(m, theta, u_star, (double)i / (points - 1), at);
        out->loss[i] = model_loss_grad(m, at, loss, X, y, n, NULL, NULL);
        nan |= isnan(out->loss[i]);   /* fmax would skip it */
        top = fmax(top, out->loss[i]);
    }
    out->points = points;
    *barrier = nan ? NAN : top - fmax(out->loss[0], out->loss[points - 1]);
    free(at);
    return 0;
}
