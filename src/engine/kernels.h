/* kernels.h — the elementwise loops of a training step.
 *
 * Each is compiled three times (GCC/Clang target_clones: x86-64-v4 with
 * AVX-512, x86-64-v3 with AVX2 and FMA, and baseline x86-64) and the
 * loader picks the widest the CPU runs, so one binary is fast on every
 * machine without -march=native. Written branch-free: a ReLU's sign
 * pattern is random, and a branch per element mispredicts half the time
 * (that alone was 40% of a small network's step before these existed).
 */
#ifndef RESWEEP_KERNELS_H
#define RESWEEP_KERNELS_H

#include <stddef.h>

#include "config.h"

/* Z = sigma(A + bias) (bias per row of h), for rows x h. A becomes
 * A + bias for the smooth activations, whose derivatives need it; relu
 * and leaky_relu leave A as it was and take their derivatives from the
 * sign of Z (kern_act_backprop and the R-operator kernels do). */
void kern_bias_act(enum activation act, double *A, double *Z,
                   const double *bias, int rows, int h);

/* G *= sigma'(A) elementwise (Z = sigma(A) is given for the activations
 * whose derivative is cheaper from it). */
void kern_act_backprop(enum activation act, const double *A, const double *Z,
                       double *G, size_t count);

/* G *= sigma'(A) as kern_act_backprop, and gb[k] += sum_i G[i][k] (the
 * bias gradient) in the same pass over G. G, A, Z are rows x h. */
void kern_backprop_bias(enum activation act, const double *A, const double *Z,
                        double *G, double *gb, int rows, int h);

/* g[k] += sum_i G[i][k], G rows x cols. */
void kern_colsum_add(double *g, const double *G, int rows, int cols);

/* M = beta M + a b^T, M rows x cols. */
void kern_outer(double *M, const double *a, int rows, const double *b,
                int cols, double beta);

/* The five above for float operands (train.precision float32). */
void kern_bias_act_f32(enum activation act, float *A, float *Z,
                       const float *bias, int rows, int h);
void kern_act_backprop_f32(enum activation act, const float *A,
                           const float *Z, float *G, size_t count);
void kern_backprop_bias_f32(enum activation act, const float *A,
                            const float *Z, float *G, float *gb, int rows,
                            int h);
void kern_colsum_add_f32(float *g, const float *G, int rows, int cols);
void kern_outer_f32(float *M, const float *a, int rows, const float *b,
                    int cols, float beta);

/* Hessian-vector products (R-operator), elementwise parts:
 *   kern_rforward_act:  RA += bias (per row of h); RZ = sigma'(A) RA
 *   kern_rbackprop:     Rg = sigma'(A) Rg + sigma''(A) RA g;  g *= sigma'(A)
 * all arrays rows x h (count = rows * h for the second). */
void kern_rforward_act(enum activation act, const double *A, const double *Z,
                       double *RA, double *RZ, const double *bias, int rows,
                       int h);
void kern_rbackprop(enum activation act, const double *A, const double *Z,
                    const double *RA, double *g, double *Rg, size_t count);

/* sigma'(a) and sigma''(a) for one element, given a and z = sigma(a). */
double kern_act_d1(enum activation act, double a, double z);
double kern_act_d2(enum activation act, double a, double z);

#endif
