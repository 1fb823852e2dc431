/* analysis.c — docs/theory.md §6 end-point measurements. */
#include "analysis.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "err.h"
#include "loss.h"
#include "path.h"
#include "slice.h"
#include "spectrum.h"

static double norm2(const double *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i] * x[i];
    return sqrt(s);
}

/* analysis_cert, ticking pl once a row; NAN when it says stop. */
static double cert_polled(enum loss_kind loss, const double *X, const double *y,
                          int n, int d, const double *p, const double *u_star,
                          poller *pl)
{
    /* <a, u*> = (1/n) sum l'(p_i) <x_i, u*>: no d-vector needed */
    double c = 0, au = 0;
    for (int i = 0; i < n; i++) {
        double d1, xu = 0;
        loss_eval(loss, p[i], y[i], &d1, NULL);
        const double *x = X + (size_t)i * d;
        for (int k = 0; k < d; k++)
            xu += x[k] * u_star[k];
        c += d1 * p[i];
        au += d1 * xu;
        if (poller_tick(pl, (uint64_t)d))
            return NAN;
    }
    return (c - au) / n;
}

double analysis_cert(enum loss_kind loss, const double *X, const double *y,
                     int n, int d, const double *p, const double *u_star)
{
    return cert_polled(loss, X, y, n, d, p, u_star, NULL);
}

/* G = V^T V (h <= d) or V V^T (d < h): the Gram matrix of V's smaller
 * side, k x k, into G's lower triangle, in calls of at most
 * POLLER_CALL_UNITS multiply-adds. 0 or the poller's code. */
static int small_gram(const double *V, int d, int h, double *G, poller *pl)
{
    int k = d < h ? d : h, inner = d < h ? h : d;
    double per = 2.0 * POLLER_CALL_UNITS / ((double)k * k);
    int step = per >= inner ? inner : per < 1 ? 1 : (int)per;
    for (int c0 = 0; c0 < inner; c0 += step) {
        int m = inner - c0 < step ? inner - c0 : step;
        if (h <= d) /* rows c0.. of V */
            blas_syrk_lower(true, k, m, 1.0, V + (size_t)c0 * h, h,
                            c0 ? 1.0 : 0.0, G, k);
        else /* columns c0.. of V */
            blas_syrk_lower(false, k, m, 1.0, V + c0, h, c0 ? 1.0 : 0.0, G, k);
        int rc = poller_tick(pl, (uint64_t)k * k * (uint64_t)m / 2);
        if (rc)
            return rc;
    }
    return 0;
}

/* ||V||_2 of the d x h matrix at V: the square root of the largest
 * eigenvalue of the Gram matrix of its smaller side (as exact as an SVD
 * for the largest singular value, and the only uninterruptible part is an
 * eigenvalue-only solve of min(d, h)^3: 50 ms at 1000, where dgesvd of
 * 1000 x 4096 took 0.5 s). NAN on failure or when pl says stop. */
static double spectral_norm(const double *V, int d, int h, poller *pl)
{
    int k = d < h ? d : h;
    double *G = malloc(sizeof *G * (size_t)k * k), *w = malloc(sizeof *w * (size_t)k);
    double r = NAN;
    if (G && w && small_gram(V, d, h, G, pl) == 0 &&
        lapack_eigvals_lower(k, G, w) == 0)
        r = sqrt(w[k - 1] > 0 ? w[k - 1] : 0);
    free(G);
    free(w);
    return r;
}

static double cert_grad_polled(const model *m, const double *theta,
                               const double *grad, double u_star_norm,
                               double *w_norm, double *v_norm, poller *pl)
{
    const model_shape *s = model_get_shape(m);
    size_t oo, lo, ov, lv;
    model_group(m, MODEL_OUT, &oo, &lo);
    model_group(m, MODEL_V, &ov, &lv);
    double w = norm2(theta + oo, lo), gw = norm2(grad + oo, lo);
    double gv = norm2(grad + ov, lv);
    *w_norm = w;
    *v_norm = NAN;
    switch (s->arch) {
    case ARCH_LINEAR:
        return (w + u_star_norm) * gw;
    case ARCH_DECOUPLED:
        *v_norm = norm2(theta + ov, lv);
        return w * gw + *v_norm * gv + u_star_norm * gw;
    case ARCH_RESNET: {
        double V2 = spectral_norm(theta + ov, s->d, s->h, pl);
        *v_norm = V2;
        if (w == 0)
            return INFINITY;
        return w * gw + u_star_norm * (gw + V2 * gv / w);
    }
    case ARCH_PLAIN:
    case ARCH_DEEP_RESNET:
        for (int b = 0; b < s->B; b++) {
            double nb = spectral_norm(theta + ov + (size_t)b * s->d * s->h, s->d,
                                      s->h, pl);
            if (!(*v_norm >= nb))
                *v_norm = nb;
        }
        return NAN;
    }
    return NAN;
}

double analysis_cert_grad(const model *m, const double *theta,
                          const double *grad, double u_star_norm,
                          double *w_norm, double *v_norm)
{
    return cert_grad_polled(m, theta, grad, u_star_norm, w_norm, v_norm, NULL);
}

typedef struct hess_ctx {
    model *m;
    const double *theta, *X, *y;
    enum loss_kind loss;
    int n;
} hess_ctx;

static int hess_op(void *ctx, const double *v, double *out)
{
    hess_ctx *h = ctx;
    return model_hvp(h->m, h->theta, h->loss, h->X, h->y, h->n, v, out);
}

int analysis_hessian(model *m, const double *theta, enum loss_kind loss,
                     const double *X, const double *y, int n,
                     const lanczos_opts *opts, rng *r, lanczos_result *out,
                     char *err, size_t errlen)
{
    hess_ctx h = {.m = m, .theta = theta, .X = X, .y = y, .loss = loss, .n = n};
    return lanczos_extremes(model_nparams(m), hess_op, &h, opts, r, out, err,
                            errlen);
}

/* The density grid: [lmin, lmax] widened to every node, so that no mass
 * falls outside (Ritz values of an unconverged estimate lie inside the
 * spectrum, not necessarily inside [hess_min, hess_max]); a spectrum at
 * one point gets the interval of half-width max(1, |l|) / 2 around it. */
static void density(const spectrum_quad *q, double lmin, double lmax,
                    int bins, run_spectrum *out)
{
    double lo, hi;
    spectrum_quad_range(q, &lo, &hi);
    lo = fmin(lo, lmin);
    hi = fmax(hi, lmax);
    if (!(hi > lo)) {
        double half = 0.5 * fmax(1.0, fabs(lo));
        lo -= half;
        hi += half;
    }
    out->lo = lo;
    out->hi = hi;
    out->bins = bins;
    spectrum_histogram(q, lo, hi, bins, out->mass);
}

static bool quad_finite(const spectrum_quad *q)
{
    for (int i = 0; i < q->n; i++)
        if (!isfinite(q->node[i]) || !isfinite(q->weight[i]))
            return false;
    return q->n > 0;
}

/* SLQ: the density and the estimated count below -class_tol. */
static int slq_measures(hess_ctx *h, size_t np, const analysis_config *ac,
                        double lmin, double lmax, rng *r, poller *pl,
                        run_result *res, char *err, size_t errlen)
{
    spectrum_quad q;
    lanczos_opts lo = {
        .iters = ac->slq_iters,
        .basis_bytes = (size_t)ac->lanczos_memory_mib << 20,
        .pl = pl,
    };
    int rc = spectrum_slq(np, hess_op, h, ac->slq_probes, &lo, r, &q, err,
                          errlen);
    if (rc)
        return rc;
    /* A Hessian whose products are not finite (a point at the edge of
     * overflow) has no density: left unmeasured, not binned as NaN. */
    if (quad_finite(&q) && isfinite(lmin) && isfinite(lmax)) {
        res->hess_neg_est = (double)np * spectrum_mass_below(&q, -res->class_tol);
        density(&q, lmin, lmax, ac->slq_bins, &res->spectrum);
    }
    spectrum_quad_free(&q);
    return 0;
}

/* §6.6 after the extremes: trace, the dense spectrum of a small network,
 * the class of the point, SLQ, one after the other (each frees its
 * memory before the next: estimate.c counts the largest). The extremes
 * the class is judged by are the dense ones when there are, else the
 * Lanczos ones in res. */
static int spectrum_measures(hess_ctx *h, size_t np, const analysis_config *ac,
                             rng *r, poller *pl, run_result *res, char *err,
                             size_t errlen)
{
    double lmin = res->hess_min, lmax = res->hess_max;
    int rc = 0;
    if (ac->trace_probes > 0 &&
        (rc = spectrum_trace(np, hess_op, h, ac->trace_probes, r, pl,
                             &res->hess_trace, &res->hess_trace_se, err,
                             errlen)))
        return rc;
    bool dense = np <= (size_t)ac->exact_max_params;
    double *w = NULL;
    if (dense) {
        if (!(w = malloc(sizeof *w * np)))
            return err_set(err, errlen, -ENOMEM, "analysis: out of memory");
        if ((rc = spectrum_dense(np, hess_op, h, pl, w, err, errlen))) {
            free(w);
            return rc;
        }
        lmin = w[0];
        lmax = w[np - 1];
    }
    res->point_class = spectrum_classify(lmin, lmax, ac->eig_tol,
                                         &res->class_tol);
    if (dense)
        res->hess_neg_exact = spectrum_count_below(w, np, -res->class_tol);
    free(w);
    /* the grid covers the Lanczos extremes too (to rounding, a Rayleigh
     * quotient can lie a little outside the dense spectrum) */
    if (ac->slq_probes > 0)
        rc = slq_measures(h, np, ac, fmin(lmin, res->hess_min),
                          fmax(lmax, res->hess_max), r, pl, res, err, errlen);
    return rc;
}

static void group_norms(const model *m, const double *grad, run_result *res)
{
    double *dst[MODEL_GROUPS] = {&res->grad_out, &res->grad_v, &res->grad_theta};
    for (int g = 0; g < MODEL_GROUPS; g++) {
        size_t off, len;
        model_group(m, (enum model_group)g, &off, &len);
        *dst[g] = norm2(grad + off, len);
    }
    res->grad_norm = norm2(grad, model_nparams(m));
}

/* p = X u for the n x d rows of X, in calls of at most POLLER_CALL_UNITS
 * multiply-adds (the test set may have 1.2e8 cells). */
static int linear_predict(const double *X, int n, int d, const double *u,
                          double *p, poller *pl)
{
    int rows = POLLER_CALL_UNITS / d > 0 ? (int)(POLLER_CALL_UNITS / d) : 1;
    for (int i0 = 0; i0 < n; i0 += rows) {
        int m = n - i0 < rows ? n - i0 : rows;
        blas_gemv(false, m, d, 1.0, X + (size_t)i0 * d, d, u, 0.0, p + i0);
        int rc = poller_tick(pl, (uint64_t)m * d);
        if (rc)
            return rc;
    }
    return 0;
}

/* Test loss and 0-1 error of the network, and of u*. 0, -ENOMEM, or the
 * poller's code. */
static int test_measures(model *m, const double *theta, enum loss_kind loss,
                         const dataset *ds, const double *u_star,
                         run_result *res, poller *pl)
{
    if (ds->n_test == 0)
        return 0;
    double *p = malloc(sizeof *p * (size_t)ds->n_test);
    if (!p)
        return -ENOMEM;
    int rc = model_predict(m, theta, ds->X_test, ds->n_test, p);
    if (rc) {
        rc = poller_code(pl);
        goto out;
    }
    res->test_loss = loss_mean(loss, p, ds->y_test, ds->n_test);
    if (ds->classification)
        res->test_err01 = loss_error01(p, ds->y_test, ds->n_test);
    if ((rc = linear_predict(ds->X_test, ds->n_test, ds->d, u_star, p, pl)))
        goto out;
    res->lin_test_loss = loss_mean(loss, p, ds->y_test, ds->n_test);
    if (ds->classification)
        res->lin_test_err01 = loss_error01(p, ds->y_test, ds->n_test);
out:
    free(p);
    return rc;
}

/* §6.8, opt-in and bounded by ac->slice_max_params (k^2 passes). */
static int slice_measure(model *m, const double *theta, enum loss_kind loss,
                         const dataset *ds, const analysis_config *ac,
                         uint64_t seed, run_result *res, poller *pl,
                         char *err, size_t errlen)
{
    if (ac->slice_points == 0 ||
        model_nparams(m) > (size_t)ac->slice_max_params)
        return 0;
    return slice_grid(m, theta, loss, ds->X, ds->y, ds->n, ac->slice_points,
                      ac->slice_radius, seed, pl, &res->slice, err, errlen);
}

static int endpoint(model *m, const double *theta, enum loss_kind loss,
                    const dataset *ds, const double *u_star,
                    const analysis_config *ac, uint64_t seed, rng *r,
                    run_result *res, poller *pl, char *err, size_t errlen)
{
    size_t np = model_nparams(m);
    double *grad = malloc(sizeof *grad * np), *p = malloc(sizeof *p * (size_t)ds->n);
    int rc = 0;
    if (!grad || !p) {
        rc = err_set(err, errlen, -ENOMEM, "analysis: out of memory");
        goto out;
    }
    res->train_loss = model_loss_grad(m, theta, loss, ds->X, ds->y, ds->n, grad, p);
    if ((rc = poller_code(pl)))
        goto out;
    res->gap = res->train_loss - res->lin_loss;
    group_norms(m, grad, res);
    if (ds->classification) {
        res->err01 = loss_error01(p, ds->y, ds->n);
    }
    res->cert = cert_polled(loss, ds->X, ds->y, ds->n, ds->d, p, u_star, pl);
    if ((rc = poller_code(pl)))
        goto out;
    res->cert_grad = cert_grad_polled(m, theta, grad, res->u_norm,
                                      &res->w_norm, &res->v_norm, pl);
    if ((rc = poller_code(pl)))
        goto out;
    if ((rc = test_measures(m, theta, loss, ds, u_star, res, pl))) {
        if (rc == -ENOMEM)
            err_set(err, errlen, rc, "analysis: out of memory");
        goto out;
    }
    if (ac->hessian) {
        lanczos_opts lo = {
            .iters = ac->lanczos_iters,
            .basis_bytes = (size_t)ac->lanczos_memory_mib << 20,
            .pl = pl,
        };
        lanczos_result lz;
        rc = analysis_hessian(m, theta, loss, ds->X, ds->y, ds->n, &lo, r,
                              &lz, err, errlen);
        if (rc == -EINTR && poller_code(pl))
            rc = poller_code(pl);
        if (rc)
            goto out;
        res->hess_min = lz.lmin;
        res->hess_max = lz.lmax;
        res->hess_min_res = lz.res_min;
        res->hess_max_res = lz.res_max;
        res->lanczos_iters = lz.iters;
        res->hess_converged = lz.converged;
        res->lanczos_capped = lz.capped;
        hess_ctx h = {.m = m, .theta = theta, .X = ds->X, .y = ds->y,
                      .loss = loss, .n = ds->n};
        if ((rc = spectrum_measures(&h, np, ac, r, pl, res, err, errlen)))
            goto out;
    }
    if (ac->path_points > 0 && path_has_linear_point(model_get_shape(m)->arch) &&
        (rc = path_to_linear(m, theta, u_star, loss, ds->X, ds->y, ds->n,
                             ac->path_points, pl, &res->path,
                             &res->path_barrier, err, errlen)))
        goto out;
    rc = slice_measure(m, theta, loss, ds, ac, seed, res, pl, err, errlen);
out:
    free(grad);
    free(p);
    return rc;
}

int analysis_endpoint(model *m, const double *theta, enum loss_kind loss,
                      const dataset *ds, const double *u_star,
                      const analysis_config *ac, uint64_t seed, rng *r,
                      run_result *res, poller *pl, char *err, size_t errlen)
{
    /* The model's passes (loss, predictions, Hessian-vector products) are
     * interrupted between chunks; the loops here tick pl themselves. */
    model_set_interrupt(m, pl ? poller_interrupt : NULL, pl);
    int rc = endpoint(m, theta, loss, ds, u_star, ac, seed, r, res, pl, err,
                      errlen);
    model_set_interrupt(m, NULL, NULL);
    return rc;
}
