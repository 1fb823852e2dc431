/* loss.c — docs/theory.md §4. Stable forms:
 *   log(1 + e^z)      = max(z, 0) + log1p(e^-|z|)
 *   sigmoid(z)        = 1/(1+e^-z) or e^z/(1+e^z), whichever has no overflow
 *   log cosh(r)       = |r| + log1p(e^-2|r|) - log 2
 */
#include "loss.h"

#include <math.h>

static double softplus(double z)
{
    return fmax(z, 0.0) + log1p(exp(-fabs(z)));
}

static double sigmoid(double z)
{
    if (z >= 0)
        return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

/* l(z) = softplus(z) with z = margin-type argument a - y p: shared by the
 * logistic (a = 0) and softplus-hinge (a = 1) losses. dl/dp = -y s(z),
 * d2l/dp2 = y^2 s(z)(1 - s(z)). */
static double softplus_margin(double a, double p, double y, double *d1,
                              double *d2)
{
    double z = a - y * p;
    if (d1 || d2) {
        double s = sigmoid(z);
        if (d1)
            *d1 = -y * s;
        if (d2)
            *d2 = y * y * s * sigmoid(-z);
    }
    return softplus(z);
}

static double logcosh(double p, double y, double *d1, double *d2)
{
    double r = p - y, a = fabs(r);
    if (d1 || d2) {
        double t = tanh(r);
        if (d1)
            *d1 = t;
        if (d2)
            *d2 = 1.0 - t * t;
    }
    return a + log1p(exp(-2.0 * a)) - M_LN2;
}

double loss_eval(enum loss_kind k, double p, double y, double *d1, double *d2)
{
    switch (k) {
    case LOSS_SQUARED: {
        double r = p - y;
        if (d1)
            *d1 = r;
        if (d2)
            *d2 = 1.0;
        return 0.5 * r * r;
    }
    case LOSS_LOGISTIC:
        return softplus_margin(0.0, p, y, d1, d2);
    case LOSS_SOFTPLUS_HINGE:
        return softplus_margin(1.0, p, y, d1, d2);
    case LOSS_LOGCOSH:
        return logcosh(p, y, d1, d2);
    }
    return NAN;
}

double loss_value(enum loss_kind k, double p, double y)
{
    return loss_eval(k, p, y, NULL, NULL);
}

double loss_mean(enum loss_kind k, const double *p, const double *y, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += loss_eval(k, p[i], y[i], NULL, NULL);
    return n > 0 ? s / n : NAN;
}

double loss_error01(const double *p, const double *y, int n)
{
    int wrong = 0;
    for (int i = 0; i < n; i++)
        wrong += ((p[i] >= 0) ? 1.0 : -1.0) != y[i];
    return n > 0 ? (double)wrong / n : NAN;
}
