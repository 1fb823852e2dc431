/* kernels.c — see kernels.h. */
#include "kernels.h"

#include <math.h>

#define LEAKY_SLOPE 0.01

/* GCC only: clang 14 (the fuzz build, fuzz/fuzz.mk) refuses clones of a
 * function called earlier in the file; the fuzzers need no speed. */
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__) && !defined(__clang__)
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

static double gelu_cdf(double a) { return 0.5 * erfc(-a * M_SQRT1_2); }
static double gelu_pdf(double a) { return exp(-0.5 * a * a) * (0.5 * M_2_SQRTPI * M_SQRT1_2); }
static double sigmoid(double a) { return a >= 0 ? 1 / (1 + exp(-a)) : exp(a) / (1 + exp(a)); }

double kern_act_d1(enum activation act, double a, double z)
{
    switch (act) {
    case ACT_RELU: return a > 0 ? 1.0 : 0.0;
    case ACT_LEAKY_RELU: return a > 0 ? 1.0 : LEAKY_SLOPE;
    case ACT_TANH: return 1 - z * z;
    case ACT_SOFTPLUS: return sigmoid(a);
    case ACT_GELU: return gelu_cdf(a) + a * gelu_pdf(a);
    }
    return NAN;
}

double kern_act_d2(enum activation act, double a, double z)
{
    switch (act) {
    case ACT_RELU:
    case ACT_LEAKY_RELU: return 0.0;
    case ACT_TANH: return -2 * z * (1 - z * z);
    case ACT_SOFTPLUS: { double s = sigmoid(a); return s * (1 - s); }
    case ACT_GELU: return gelu_pdf(a) * (2 - a * a);
    }
    return NAN;
}

#define K_REAL double
#define K_NAME(x) x
#include "kernels_step.inc"

#define K_REAL float
#define K_NAME(x) x##_f32
#include "kernels_step.inc"

CLONES
static void relu_rforward(const double *Z, double *RA, double *RZ,
                          const double *bias, int rows, int h, double slope)
{
    for (int i = 0; i < rows; i++) {
        const double *z = Z + (size_t)i * h;
        double *ra = RA + (size_t)i * h, *rz = RZ + (size_t)i * h;
        for (int k = 0; k < h; k++) {
            double v = ra[k] + bias[k];
            ra[k] = v;
            rz[k] = z[k] > 0 ? v : slope * v;
        }
    }
}

CLONES
static void tanh_rforward(const double *Z, double *RA, double *RZ,
                          const double *bias, int rows, int h)
{
    for (int i = 0; i < rows; i++) {
        const double *z = Z + (size_t)i * h;
        double *ra = RA + (size_t)i * h, *rz = RZ + (size_t)i * h;
        for (int k = 0; k < h; k++) {
            double v = ra[k] + bias[k];
            ra[k] = v;
            rz[k] = (1 - z[k] * z[k]) * v;
        }
    }
}

void kern_rforward_act(enum activation act, const double *A, const double *Z,
                       double *RA, double *RZ, const double *bias, int rows,
                       int h)
{
    switch (act) {
    case ACT_RELU: relu_rforward(Z, RA, RZ, bias, rows, h, 0.0); return;
    case ACT_LEAKY_RELU: relu_rforward(Z, RA, RZ, bias, rows, h, LEAKY_SLOPE); return;
    case ACT_TANH: tanh_rforward(Z, RA, RZ, bias, rows, h); return;
    default:
        for (int i = 0; i < rows; i++)
            for (int k = 0; k < h; k++) {
                size_t e = (size_t)i * h + k;
                RA[e] += bias[k];
                RZ[e] = kern_act_d1(act, A[e], Z[e]) * RA[e];
            }
    }
}

/* sigma'' = 0 for the piecewise-linear activations */
CLONES
static void relu_rbackprop(const double *Z, double *g, double *Rg, size_t count,
                           double slope)
{
    for (size_t i = 0; i < count; i++) {
        double d1 = Z[i] > 0 ? 1.0 : slope;
        Rg[i] *= d1;
        g[i] *= d1;
    }
}

CLONES
static void tanh_rbackprop(const double *Z, const double *RA, double *g,
                           double *Rg, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        double d1 = 1 - Z[i] * Z[i], d2 = -2 * Z[i] * d1;
        Rg[i] = Rg[i] * d1 + g[i] * d2 * RA[i];
        g[i] *= d1;
    }
}

void kern_rbackprop(enum activation act, const double *A, const double *Z,
                    const double *RA, double *g, double *Rg, size_t count)
{
    switch (act) {
    case ACT_RELU: relu_rbackprop(Z, g, Rg, count, 0.0); return;
    case ACT_LEAKY_RELU: relu_rbackprop(Z, g, Rg, count, LEAKY_SLOPE); return;
    case ACT_TANH: tanh_rbackprop(Z, RA, g, Rg, count); return;
    default:
        for (size_t i = 0; i < count; i++) {
            double d1 = kern_act_d1(act, A[i], Z[i]), d2 = kern_act_d2(act, A[i], Z[i]);
            Rg[i] = Rg[i] * d1 + g[i] * d2 * RA[i];
            g[i] *= d1;
        }
    }
}
