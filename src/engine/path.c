/* path.c — see path.h; docs/theory.md §6.7 and §6.9. */
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

/* Entries of a pass between two ticks of the poller (as in lanczos.c). */
#define PASS_BLOCK 4096

/* dst[i] = (1 - t) a[i] + t b[i] for i < n, exact at both ends (where
 * a + t (b - a) is not); (1 - t) a[i] when b is NULL; a copy of a when t
 * is NULL. 0 or the poller's code. */
static int blend(double *dst, const double *a, const double *b,
                 const double *t, size_t n, poller *pl)
{
    for (size_t i0 = 0; i0 < n; i0 += PASS_BLOCK) {
        size_t end = n - i0 < PASS_BLOCK ? n : i0 + PASS_BLOCK;
        if (!t)
            memcpy(dst + i0, a + i0, sizeof *dst * (end - i0));
        else if (b)
            for (size_t i = i0; i < end; i++)
                dst[i] = (1 - *t) * a[i] + *t * b[i];
        else
            for (size_t i = i0; i < end; i++)
                dst[i] = (1 - *t) * a[i];
        int rc = poller_tick(pl, end - i0);
        if (rc)
            return rc;
    }
    return 0;
}

/* The output and V groups of theta(t) in at; the hidden layers were
 * copied once. */
static int point_at(const model *m, const double *theta,
                    const double *u_star, double t, double *at, poller *pl)
{
    size_t oo, lo, ov, lv;
    model_group(m, MODEL_OUT, &oo, &lo);
    model_group(m, MODEL_V, &ov, &lv);
    int rc = blend(at + oo, theta + oo, u_star, &t, lo, pl);
    return rc ? rc : blend(at + ov, theta + ov, NULL, &t, lv, pl);
}

/* How a walk makes the point theta(t) in `at`: path_to_linear moves
 * only the output and V groups, path_segment every parameter. */
typedef int (*point_fn)(const model *m, const void *ctx, double t,
                        double *at, poller *pl);

struct linear_ends {
    const double *theta, *u_star;
};

static int linear_point(const model *m, const void *ctx, double t,
                        double *at, poller *pl)
{
    const struct linear_ends *e = ctx;
    return point_at(m, e->theta, e->u_star, t, at, pl);
}

struct segment_ends {
    const double *a, *b;
};

/* The ends are copies, not blends: (1 - 0) a + 0 b is a except where a
 * is -0 (-0 + 0 = +0), and 0 a + b is b except where b is -0 and a > 0,
 * so only a copy makes theta(0) and theta(1) the end points bit for bit. */
int path_segment_at(const double *a, const double *b, double t,
                    double *at, size_t n, poller *pl)
{
    if (t == 0 || t == 1)
        return blend(at, t == 0 ? a : b, NULL, NULL, n, pl);
    return blend(at, a, b, &t, n, pl);
}

static int segment_point(const model *m, const void *ctx, double t,
                         double *at, poller *pl)
{
    const struct segment_ends *e = ctx;
    return path_segment_at(e->a, e->b, t, at, model_nparams(m), pl);
}

/* F at t_i = i / (points - 1), i < points, of the points `point` makes in
 * `at` (which holds theta(0)'s fixed part already), into out; the barrier
 * as path.h says. */
static int walk(model *m, point_fn point, const void *ctx, double *at,
                enum loss_kind loss, const double *X, const double *y, int n,
                int points, poller *pl, run_path *out, double *barrier)
{
    double top = -INFINITY;
    bool nan = false;
    int rc = 0;
    for (int i = 0; i < points && rc == 0; i++) {
        /* the last t is 1 exactly: (points - 1) / (points - 1) */
        if ((rc = point(m, ctx, (double)i / (points - 1), at, pl)))
            break;
        /* the model's passes poll pl (its interrupt hook): NAN then */
        out->loss[i] = model_loss_grad(m, at, loss, X, y, n, NULL, NULL);
        if ((rc = poller_code(pl)))
            break;
        nan |= isnan(out->loss[i]);   /* fmax would skip it */
        top = fmax(top, out->loss[i]);
    }
    if (rc == 0) {
        out->points = points;
        *barrier = nan ? NAN : top - fmax(out->loss[0], out->loss[points - 1]);
    }
    return rc;
}

static int check_points(int points, char *err, size_t errlen)
{
    if (points < 2 || points > CONFIG_MAX_PATH_POINTS)
        return err_set(err, errlen, -EINVAL, "path: %d points, must be in "
                       "[2, %d]", points, CONFIG_MAX_PATH_POINTS);
    return 0;
}

int path_to_linear(model *m, const double *theta, const double *u_star,
                   enum loss_kind loss, const double *X, const double *y,
                   int n, int points, poller *pl, run_path *out,
                   double *barrier, char *err, size_t errlen)
{
    const model_shape *s = model_get_shape(m);
    if (!path_has_linear_point(s->arch))
        return err_set(err, errlen, -EINVAL, "path: %s has no point "
                       "realising the linear predictor",
                       config_arch_name(s->arch));
    int rc = check_points(points, err, errlen);
    if (rc)
        return rc;
    size_t np = model_nparams(m);
    double *at = malloc(sizeof *at * np);
    if (!at)
        return err_set(err, errlen, -ENOMEM, "path: out of memory");
    struct linear_ends e = {theta, u_star};
    rc = blend(at, theta, NULL, NULL, np, pl);   /* a copy of theta */
    if (rc == 0)
        rc = walk(m, linear_point, &e, at, loss, X, y, n, points, pl, out,
                  barrier);
    free(at);
    return rc;
}

int path_segment(model *m, const double *theta_a, const double *theta_b,
                 enum loss_kind loss, const double *X, const double *y,
                 int n, int points, poller *pl, run_path *out,
                 double *barrier, char *err, size_t errlen)
{
    int rc = check_points(points, err, errlen);
    if (rc)
        return rc;
    double *at = malloc(sizeof *at * model_nparams(m));
    if (!at)
        return err_set(err, errlen, -ENOMEM, "path: out of memory");
    struct segment_ends e = {theta_a, theta_b};
    rc = walk(m, segment_point, &e, at, loss, X, y, n, points, pl, out,
              barrier);
    free(at);
    return rc;
}
