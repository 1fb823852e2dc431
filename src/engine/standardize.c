/* standardize.c — data.standardize: a loaded data set's features (and
 * target) centred and scaled by the training split's statistics
 * (docs/data.md, "Standardization"; see data.h). */
#include "data.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "err.h"

/* Mean and standard deviation (divided by n, numpy's default) of column
 * j of the n x stride rows at v, in two passes: the second sums squared
 * deviations, which stays accurate when the mean is large beside the
 * spread (raw CSV features, the case this exists for). */
static void column_stats(const double *v, int n, int stride, int j,
                         double *mean, double *std)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += v[(size_t)i * (size_t)stride + (size_t)j];
    double m = s / n, q = 0;
    for (int i = 0; i < n; i++) {
        double e = v[(size_t)i * (size_t)stride + (size_t)j] - m;
        q += e * e;
    }
    *mean = m;
    *std = sqrt(q / n);
}

/* A column constant on the training split (std 0) is only centred: it
 * carries no information to scale, and dividing by 0 would make NaN. */
static double scale_of(double std)
{
    return std > 0 && isfinite(std) ? std : 1.0;
}

static void apply(double *v, int n, int stride, int j, double mean,
                  double scale)
{
    for (int i = 0; i < n; i++) {
        double *x = &v[(size_t)i * (size_t)stride + (size_t)j];
        *x = (*x - mean) / scale;
    }
}

int data_standardize(dataset *ds, enum standardize kind, bool intercept,
                     char *err, size_t errlen)
{
    if (kind == STANDARDIZE_NONE)
        return 0;
    if (ds->n < 1)
        return err_set(err, errlen, -EINVAL,
                       "data.standardize: no training samples to take the "
                       "statistics from");
    /* The intercept's constant 1 stays 1: centring it would remove it. */
    int features = ds->d - (intercept ? 1 : 0);
    for (int j = 0; j < features; j++) {
        double mean, std;
        column_stats(ds->X, ds->n, ds->d, j, &mean, &std);
        apply(ds->X, ds->n, ds->d, j, mean, scale_of(std));
        apply(ds->X_test, ds->n_test, ds->d, j, mean, scale_of(std));
    }
    if (kind != STANDARDIZE_FEATURES_AND_TARGET)
        return 0;
    if (ds->classification)
        return err_set(err, errlen, -EINVAL,
                       "data.standardize: \"features_and_target\" needs a "
                       "regression loss: labels must stay in {-1, +1}");
    double mean, std;
    column_stats(ds->y, ds->n, 1, 0, &mean, &std);
    apply(ds->y, ds->n, 1, 0, mean, scale_of(std));
    apply(ds->y_test, ds->n_test, 1, 0, mean, scale_of(std));
    return 0;
}
