/* slice.c — see slice.h; docs/theory.md §6.8. */
#include "slice.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "err.h"

/* Entries of a pass between two ticks of the poller (as in path.c). */
#define PASS_BLOCK 4096

static int fill_normal(double *x, size_t n, rng *r, poller *pl)
{
    for (size_t i0 = 0; i0 < n; i0 += PASS_BLOCK) {
        size_t end = n - i0 < PASS_BLOCK ? n : i0 + PASS_BLOCK;
        for (size_t i = i0; i < end; i++)
            x[i] = rng_normal(r);
        int rc = poller_tick(pl, end - i0);
        if (rc)
            return rc;
    }
    return 0;
}

static double filter_sq(const double *x, model_filter f)
{
    double s = 0;
    for (size_t i = 0; i < f.len; i++)
        s += x[f.off + i] * x[f.off + i];
    if (f.bias != MODEL_NO_BIAS)
        s += x[f.bias] * x[f.bias];
    return s;
}

static void filter_scale(double *x, model_filter f, double c)
{
    for (size_t i = 0; i < f.len; i++)
        x[f.off + i] *= c;
    if (f.bias != MODEL_NO_BIAS)
        x[f.bias] *= c;
}

/* Each filter of d scaled to the norm of theta's. */
static int normalise(const model *m, const double *theta, double *d,
                     poller *pl)
{
    size_t nf = model_filter_count(m);
    for (size_t k = 0; k < nf; k++) {
        model_filter f = model_filter_at(m, k);
        double nd = sqrt(filter_sq(d, f)), nt = sqrt(filter_sq(theta, f));
        filter_scale(d, f, nd > 0 ? nt / nd : 0);
        int rc = poller_tick(pl, f.len + 1);
        if (rc)
            return rc;
    }
    return 0;
}

int slice_directions(const model *m, const double *theta, rng *r, double *d1,
                     double *d2, poller *pl)
{
    size_t np = model_nparams(m);
    int rc = fill_normal(d1, np, r, pl);
    if (!rc)
        rc = fill_normal(d2, np, r, pl);
    if (!rc)
        rc = normalise(m, theta, d1, pl);
    return rc ? rc : normalise(m, theta, d2, pl);
}

double slice_coord(int i, int points, double radius)
{
    return radius * (2.0 * i - (points - 1)) / (points - 1);
}

/* at = theta + a d1 + b d2; theta itself where a = b = 0 (x + 0 = x). */
static int point_at(double *at, const double *theta, const double *d1,
                    const double *d2, double a, double b, size_t n,
                    poller *pl)
{
    for (size_t i0 = 0; i0 < n; i0 += PASS_BLOCK) {
        size_t end = n - i0 < PASS_BLOCK ? n : i0 + PASS_BLOCK;
        for (size_t i = i0; i < end; i++)
            at[i] = theta[i] + a * d1[i] + b * d2[i];
        int rc = poller_tick(pl, end - i0);
        if (rc)
            return rc;
    }
    return 0;
}

static int grid(model *m, const double *theta, const double *d1,
                const double *d2, double *at, enum loss_kind loss,
                const double *X, const double *y, int n, int points,
                double radius, poller *pl, double *lossv)
{
    size_t np = model_nparams(m);
    for (int i = 0; i < points; i++)
        for (int j = 0; j < points; j++) {
            int rc = point_at(at, theta, d1, d2, slice_coord(i, points, radius),
                              slice_coord(j, points, radius), np, pl);
            if (rc)
                return rc;
            /* the model's passes poll pl (its interrupt hook): NAN then */
            lossv[i * points + j] = model_loss_grad(m, at, loss, X, y, n,
                                                    NULL, NULL);
            if ((rc = poller_code(pl)))
                return rc;
        }
    return 0;
}

int slice_grid(model *m, const double *theta, enum loss_kind loss,
               const double *X, const double *y, int n, int points,
               double radius, uint64_t seed, poller *pl, run_slice *out,
               char *err, size_t errlen)
{
    if (points < 3 || points > CONFIG_MAX_SLICE_POINTS || points % 2 == 0)
        return err_set(err, errlen, -EINVAL, "slice: %d points a side, must "
                       "be odd and in [3, %d]", points, CONFIG_MAX_SLICE_POINTS);
    if (!(radius > 0 && isfinite(radius)))
        return err_set(err, errlen, -EINVAL, "slice: radius %g, must be a "
                       "finite number > 0", radius);
    size_t np = model_nparams(m);
    double *d1 = malloc(sizeof *d1 * np), *d2 = malloc(sizeof *d2 * np);
    double *at = malloc(sizeof *at * np);
    double *lossv = malloc(sizeof *lossv * (size_t)points * points);
    int rc = 0;
    if (!d1 || !d2 || !at || !lossv) {
        rc = err_set(err, errlen, -ENOMEM, "slice: out of memory");
        goto out;
    }
    rng r;
    rng_init(&r, seed, RNG_SLICE);
    if ((rc = slice_directions(m, theta, &r, d1, d2, pl)) ||
        (rc = grid(m, theta, d1, d2, at, loss, X, y, n, points, radius, pl,
                   lossv)))
        goto out;
    out->points = points;
    out->radius = radius;
    for (int k = 0; k < points * points; k++)
        out->loss[k] = lossv[k];
out:
    free(d1);
    free(d2);
    free(at);
    free(lossv);
    return rc;
}
