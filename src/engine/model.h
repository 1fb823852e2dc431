/* model.h — the architectures of docs/theory.md §3: forward, exact gradient and
 * exact Hessian-vector product over whole mini-batches.
 *
 * Parameters live in one flat vector theta, in three groups (docs/theory.md §6.2):
 *   MODEL_OUT    w (d)               u (d) for linear and decoupled
 *   MODEL_V      V_1..V_B (d x h)     v (h) for decoupled; empty for linear
 *   MODEL_THETA  for each block b, for each layer j = 1..L:
 *                W_bj (h x in_j, in_1 = d, else h), then b_bj (h)
 * all row-major. resnet and plain have B = 1; plain drops the skip.
 *
 * A model object owns the workspace of one evaluation over a chunk of rows,
 * sized once at model_new(): evaluating any number of samples walks them in
 * chunks, so memory does not grow with n and no call allocates (the
 * Hessian-vector workspace is allocated on the first model_hvp()). It is
 * therefore not shareable between threads: one model per worker.
 */
#ifndef RESWEEP_MODEL_H
#define RESWEEP_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "rng.h"

enum model_group { MODEL_OUT = 0, MODEL_V = 1, MODEL_THETA = 2, MODEL_GROUPS = 3 };

typedef struct model_shape {
    enum arch arch;
    int d;        /* input features (intercept included) */
    int h;        /* width; ignored for linear */
    int L;        /* layers per unit; ignored for linear */
    int B;        /* residual units; 1 unless deep_resnet */
    enum activation act;
} model_shape;

typedef struct model model;

/* The shape a configuration describes for inputs of dimension d. */
model_shape model_shape_from_config(const model_config *mc, int d);

/* Number of parameters of a shape, or -1 if it exceeds CONFIG_MAX_PARAMS. */
long model_shape_nparams(const model_shape *s);

/* A model with workspace for chunks of at most `chunk` rows (0 picks a
 * size that keeps the workspace near 16 MiB). NULL and a sentence on a bad
 * shape or out of memory. */
/* The chunk size for evaluations of at most max_rows rows: the 16 MiB
 * choice, but no bigger than needed (a tiny run must not pay for zeroing
 * and faulting in workspace it never touches). */
int model_chunk_for(const model_shape *s, int max_rows);
/* The most rows one evaluation of a run's model sees: the larger split,
 * or SGD's batch if larger. A run (engine.c), its memory estimate
 * (estimate.c) and a seed pair's segment (pair.c) size the model by it,
 * and must agree: the chunking decides the summation order, so a pair's
 * ends equal the runs' losses bit for bit only with the same chunk. */
int model_run_rows(const run_config *cfg, int n, int n_test);

model *model_new(const model_shape *s, int chunk, char *err, size_t errlen);
/* Bytes model_new(s, chunk) allocates (chunk 0 as there), plus, with hvp,
 * the Hessian-vector workspace of the first model_hvp(); 0 for a shape
 * model_new refuses. For engine_estimate_bytes. */
size_t model_workspace_bytes(const model_shape *s, int chunk, bool hvp);
void model_free(model *m);

const model_shape *model_get_shape(const model *m);
size_t model_nparams(const model *m);
/* Offset and length of a group within theta. */
void model_group(const model *m, enum model_group g, size_t *off, size_t *len);

/* Appends theta's parameters to out as the named arrays engine.h lists
 * (run_arrays), their values gathered into buf (model_nparams doubles,
 * owned by the caller; out's arrays point into it). 0, or -EINVAL when
 * out has no room for them. */
struct run_arrays;
int model_param_arrays(const model *m, const double *theta, double *buf,
                       struct run_arrays *out);
/* The inverse: theta (model_nparams doubles) from the named arrays of as
 * (other arrays, u_star, are ignored), each checked for its name and
 * shape. 0; -EINVAL with a sentence naming a missing array or one of
 * another shape (theta then holds nothing meaningful); -ENOMEM. */
int model_params_from_arrays(const model *m, const struct run_arrays *as,
                             double *theta, char *err, size_t errlen);
/* The filters of docs/theory.md §6.8, the blocks a slice direction is
 * normalised by: one unit's incoming weights. A filter is the len
 * contiguous entries of theta at off, plus the single entry at bias
 * (MODEL_NO_BIAS: none): the output weights w (or u) are one filter; each
 * row of V_b (the weights into one coordinate of the residual stream;
 * decoupled's v) is one; each row of W_bj with its bias b_bj[k] (unit k
 * of layer j) is one. Together they cover theta exactly once. */
#define MODEL_NO_BIAS ((size_t)-1)
typedef struct model_filter {
    size_t off, len, bias;
} model_filter;
size_t model_filter_count(const model *m);
/* Filter k < model_filter_count(m), in the order of theta. */
model_filter model_filter_at(const model *m, size_t k);

/* docs/theory.md §3 initialisation: W He or Xavier (times gain), biases 0, output
 * weights and V ~ init_scale * N(0, 1) (zero when init_scale is 0). */
void model_init_params(const model *m, const model_config *mc, rng *r,
                       double *theta);

/* Optional hook asked between chunks of an evaluation, so that a long
 * full-batch pass can be abandoned within a chunk's time: when fn returns
 * true, the evaluation stops and returns NAN (model_loss_grad) or -EINTR
 * (model_predict, model_hvp); its outputs are then meaningless. fn NULL
 * removes the hook. */
void model_set_interrupt(model *m, bool (*fn)(void *ctx), void *ctx);

/* Predictions p[0..n-1] for the n rows of X (n x d). 0, or -EINTR when
 * the interrupt hook stopped it. */
int model_predict(model *m, const double *theta, const double *X, int n,
                  double *p);

/* F = (1/n) sum_i l(p(x_i); y_i). If grad != NULL it receives grad F
 * (exact back-propagation); if p != NULL it receives the predictions. */
double model_loss_grad(model *m, const double *theta, enum loss_kind loss,
                       const double *X, const double *y, int n, double *grad,
                       double *p);

/* Training in float32 (train.precision float32, docs/theory.md §6.11).
 * model_use_f32 allocates the float workspace once (model_f32_bytes of
 * it): 0, or -ENOMEM. model_loss_grad_f32 is model_loss_grad on float
 * data with float arithmetic: theta is rounded to float, the products go
 * through SGEMM, each row's loss is evaluated in double from its float
 * prediction and summed in double, and grad (if not NULL) receives the
 * float gradient. It needs model_use_f32 and allocates nothing. */
int model_use_f32(model *m);
size_t model_f32_bytes(const model_shape *s, int chunk);
double model_loss_grad_f32(model *m, const double *theta, enum loss_kind loss,
                           const float *X, const float *y, int n,
                           double *grad);

/* Hv = (Hessian of F at theta) v, exact (forward-over-reverse, the
 * R-operator). Returns 0, -ENOMEM if its workspace cannot be had, or
 * -EINTR when the interrupt hook stopped it. */
int model_hvp(model *m, const double *theta, enum loss_kind loss,
              const double *X, const double *y, int n, const double *v,
              double *Hv);

#endif
