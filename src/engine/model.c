/* model.c — docs/theory.md §3 architectures: batched forward pass, exact gradient
 * (back-propagation) and exact Hessian-vector products (Pearlmutter's
 * R-operator applied to the back-propagation).
 *
 * Notation, for a chunk of m rows (blocks b = 0..B-1, layers j = 1..L):
 *   unit input   Z_0 = r_b  (r_0 = X)
 *   layer        A_j = Z_{j-1} W_j^T + 1 b_j^T,   Z_j = sigma(A_j)
 *   residual     r_{b+1} = s r_b + Z_L V_b^T     (s = 1, or 0 for plain)
 *   output       p = r_B w                         (resnet, plain, deep)
 *                p = X u + Z_L v                   (decoupled)
 *                p = X u                           (linear)
 * The last block's contribution to p is Z_L (V_{B-1}^T w), so r_B is never
 * formed on the gradient path, and its gradients are rank one:
 *   grad V_{B-1} = w (Z_L^T dp)^T,  dZ_L = dp (V_{B-1}^T w)^T,
 * with the h-vector Z_L^T dp summed over chunks and expanded once.
 * The forward pass and the back-propagation are written once, in
 * model_pass.inc, and included here for double and for float (the
 * training steps of train.precision float32); the Hessian-vector
 * products are double only.
 */
#include "model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "engine.h"
#include "err.h"
#include "kernels.h"
#include "loss.h"

#define WORKSPACE_TARGET_BYTES (16u << 20)
#define CHUNK_MIN 32
#define CHUNK_MAX 2048

/* Hessian-vector workspace, allocated on first use (analysis only). */
typedef struct hvp_ws {
    double *RA, *RZ;       /* B*L chunks of m x h: R{A_j}, R{Z_j} */
    double *Rr;            /* (B+1) chunks of m x d: R{r_b} (b = 0 unused) */
    double *rB;            /* m x d: r_B, formed explicitly here */
    double *dr, *Rdr;      /* m x d: delta r_b and R{delta r_b} */
    double *dIn, *RdIn;    /* m x d: gradient reaching a unit's input */
    double *gA, *gB, *RgA, *RgB; /* m x h, used in turn */
    double *Rp, *Rdp;      /* m */
} hvp_ws;

/* The float workspace of train.precision float32 (model_use_f32): the
 * fields of struct model's forward/backward workspace, of the same names
 * (model_pass.inc reads either through P_WS), and theta and its gradient
 * rounded to float. */
#define MODEL32_ARRAYS 14
typedef union model32 {
    struct {
        float *A, *Z, *R, *p, *dp, *dr, *dIn, *gA, *gB, *c, *sacc, *wt;
        float *theta, *grad;
    };
    float *all[MODEL32_ARRAYS];   /* the same, for allocating and freeing */
} model32;

struct model {
    model_shape s;
    size_t np;
    size_t off[MODEL_GROUPS], len[MODEL_GROUPS];
    size_t unit_np;        /* parameters of one residual unit */
    size_t *lw, *lb;       /* offsets of W_j and b_j within a unit (L each) */
    int chunk;
    /* forward/backward workspace for one chunk */
    double *A, *Z;         /* B*L chunks of m x h */
    double *R;             /* (B-1) chunks of m x d: r_1 .. r_{B-1} */
    double *p, *dp;        /* m */
    double *dr, *dIn;      /* m x d: delta r_b, gradient at a unit's input */
    double *gA, *gB;       /* m x h: layer gradients, used in turn */
    double *c, *sacc;      /* h: V_{B-1}^T w, and sum over chunks of Z_L^T dp */
    double *wt, *vt;       /* np: theta's (and an HVP direction's) weight
                            * matrices transposed, in the same slots */
    hvp_ws *hv;
    model32 *f32;          /* NULL until model_use_f32() */
    bool (*interrupt)(void *ctx);
    void *ictx;
};

static void f32_free(model32 *w);

void model_set_interrupt(model *m, bool (*fn)(void *ctx), void *ctx)
{
    m->interrupt = fn;
    m->ictx = ctx;
}

/* A loss evaluation always does its first chunk (a training step makes
 * progress whatever the hook says); predictions and Hessian-vector
 * products are asked before every chunk, the first included, so that a
 * Lanczos iteration over a single chunk is interrupted too. */
static bool interrupted(model *m, int i0)
{
    return i0 > 0 && m->interrupt && m->interrupt(m->ictx);
}

static bool stop_asked(model *m)
{
    return m->interrupt && m->interrupt(m->ictx);
}

/* ---- shapes and layout ---- */

static bool has_unit(const model_shape *s) { return s->arch != ARCH_LINEAR; }
static bool has_skip(const model_shape *s) { return s->arch != ARCH_PLAIN; }
static bool is_residual(const model_shape *s)
{
    return s->arch == ARCH_RESNET || s->arch == ARCH_PLAIN ||
           s->arch == ARCH_DEEP_RESNET;
}

model_shape model_shape_from_config(const model_config *mc, int d)
{
    model_shape s = {.arch = mc->arch, .d = d, .h = mc->width,
                     .L = mc->unit_depth, .B = 1, .act = mc->activation};
    if (mc->arch == ARCH_DEEP_RESNET)
        s.B = mc->blocks;
    if (mc->arch == ARCH_LINEAR)
        s.h = s.L = 0;
    return s;
}

static size_t unit_params(const model_shape *s)
{
    size_t h = (size_t)s->h, d = (size_t)s->d;
    return h * d + h + (size_t)(s->L - 1) * (h * h + h);
}

/* Sizes past the configuration limits (d may carry the intercept) are
 * refused first, so that the count cannot overflow. */
long model_shape_nparams(const model_shape *s)
{
    if (s->d < 1 || (has_unit(s) && (s->h < 1 || s->L < 1 || s->B < 1)) ||
        s->d > CONFIG_MAX_D + 1 || s->h > CONFIG_MAX_WIDTH ||
        s->L > CONFIG_MAX_UNIT_DEPTH || s->B > CONFIG_MAX_BLOCKS)
        return -1;
    int64_t n = config_param_count(s->arch, s->d, s->h, s->L, s->B);
    return n > CONFIG_MAX_PARAMS ? -1 : (long)n;
}

static void layout(model *m)
{
    const model_shape *s = &m->s;
    size_t d = (size_t)s->d, h = (size_t)s->h;
    m->unit_np = has_unit(s) ? unit_params(s) : 0;
    m->len[MODEL_OUT] = d;
    m->len[MODEL_V] = s->arch == ARCH_LINEAR      ? 0
                      : s->arch == ARCH_DECOUPLED ? h
                                                  : (size_t)s->B * d * h;
    m->len[MODEL_THETA] = (size_t)(has_unit(s) ? s->B : 0) * m->unit_np;
    m->off[MODEL_OUT] = 0;
    m->off[MODEL_V] = d;
    m->off[MODEL_THETA] = d + m->len[MODEL_V];
    m->np = m->off[MODEL_THETA] + m->len[MODEL_THETA];
    size_t o = 0;
    /* linear ignores L (model.h): lw and lb have no slot for it */
    for (int j = 0; has_unit(s) && j < s->L; j++) {
        size_t in = j == 0 ? d : h;
        m->lw[j] = o;
        m->lb[j] = o + h * in;
        o += h * in + h;
    }
}

static int pick_chunk(const model_shape *s)
{
    size_t h = (size_t)s->h, d = (size_t)s->d, B = (size_t)s->B;
    size_t row = 2 * B * (size_t)s->L * h + (B + 2) * d + 2 * h + 2;
    size_t rows = WORKSPACE_TARGET_BYTES / (sizeof(double) * row);
    if (rows < CHUNK_MIN)
        rows = CHUNK_MIN;
    if (rows > CHUNK_MAX)
        rows = CHUNK_MAX;
    return (int)(rows & ~(size_t)7);
}

int model_chunk_for(const model_shape *s, int max_rows)
{
    int c = pick_chunk(s), need = (max_rows + 7) & ~7;
    return need > 0 && need < c ? need : c;
}

int model_run_rows(const run_config *cfg, int n, int n_test)
{
    int rows = n > n_test ? n : n_test;
    if (cfg->train.optimizer == OPT_SGD && cfg->train.batch > rows)
        rows = cfg->train.batch;
    return rows;
}

static double *zalloc(size_t count, bool *ok)
{
    if (count == 0)
        return NULL;
    double *p = calloc(count, sizeof *p);
    if (!p)
        *ok = false;
    return p;
}

model *model_new(const model_shape *s, int chunk, char *err, size_t errlen)
{
    if (model_shape_nparams(s) < 0) {
        err_set(err, errlen, -EINVAL,
                "model: shape d=%d h=%d L=%d B=%d is empty or exceeds %ld "
                "parameters", s->d, s->h, s->L, s->B, CONFIG_MAX_PARAMS);
        return NULL;
    }
    model *m = calloc(1, sizeof *m);
    if (!m)
        goto oom;
    m->s = *s;
    size_t L = has_unit(s) ? (size_t)s->L : 0;
    bool ok = true;
    m->lw = calloc(L + 1, sizeof *m->lw);
    m->lb = calloc(L + 1, sizeof *m->lb);
    if (!m->lw || !m->lb)
        goto oom;
    layout(m);
    m->chunk = chunk > 0 ? chunk : pick_chunk(s);
    size_t rows = (size_t)m->chunk, d = (size_t)s->d, h = (size_t)s->h;
    size_t B = has_unit(s) ? (size_t)s->B : 0;
    m->A = zalloc(B * L * rows * h, &ok);
    m->Z = zalloc(B * L * rows * h, &ok);
    m->R = zalloc(B > 1 ? (B - 1) * rows * d : 0, &ok);
    m->p = zalloc(rows, &ok);
    m->dp = zalloc(rows, &ok);
    m->dr = zalloc(rows * d, &ok);
    m->dIn = zalloc(rows * d, &ok);
    m->gA = zalloc(rows * h, &ok);
    m->gB = zalloc(rows * h, &ok);
    m->c = zalloc(h, &ok);
    m->sacc = zalloc(h, &ok);
    m->wt = zalloc(m->np, &ok);
    m->vt = zalloc(m->np, &ok);
    if (ok)
        return m;
oom:
    model_free(m);
    err_set(err, errlen, -ENOMEM, "model: out of memory for its workspace");
    return NULL;
}

/* Mirrors model_new and hvp_alloc, allocation for allocation: keep the
 * three in step (tests/engine/test_estimate checks the sum against what
 * they really take). */
size_t model_workspace_bytes(const model_shape *s, int chunk, bool hvp)
{
    if (model_shape_nparams(s) < 0)
        return 0;
    size_t np = (size_t)model_shape_nparams(s);
    size_t rows = (size_t)(chunk > 0 ? chunk : pick_chunk(s));
    size_t d = (size_t)s->d, h = (size_t)s->h;
    size_t L = has_unit(s) ? (size_t)s->L : 0, B = has_unit(s) ? (size_t)s->B : 0;
    size_t n = 2 * B * L * rows * h + (B > 1 ? (B - 1) * rows * d : 0) +
               2 * rows + 2 * rows * d + 2 * rows * h + 2 * h + 2 * np;
    if (hvp)
        n += 2 * B * L * rows * h + B * rows * d + 5 * rows * d +
             4 * rows * h + 2 * rows;
    return sizeof(double) * n + sizeof(struct model) + sizeof(hvp_ws) +
           2 * (L + 1) * sizeof(size_t);
}

static void hvp_free(hvp_ws *w)
{
    if (!w)
        return;
    double *all[] = {w->RA, w->RZ, w->Rr, w->rB, w->dr, w->Rdr, w->dIn,
                     w->RdIn, w->gA, w->gB, w->RgA, w->RgB, w->Rp, w->Rdp};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
    free(w);
}

void model_free(model *m)
{
    if (!m)
        return;
    hvp_free(m->hv);
    f32_free(m->f32);
    free(m->lw);
    free(m->lb);
    free(m->A);
    free(m->Z);
    free(m->R);
    free(m->p);
    free(m->dp);
    free(m->dr);
    free(m->dIn);
    free(m->gA);
    free(m->gB);
    free(m->c);
    free(m->sacc);
    free(m->wt);
    free(m->vt);
    free(m);
}

const model_shape *model_get_shape(const model *m) { return &m->s; }
size_t model_nparams(const model *m) { return m->np; }

void model_group(const model *m, enum model_group g, size_t *off, size_t *len)
{
    *off = m->off[g];
    *len = m->len[g];
}

/* ---- parameter access ---- */

static size_t in_dim(const model *m, int j) { return j == 0 ? (size_t)m->s.d : (size_t)m->s.h; }

static model32 *ws32(const model *m) { return m->f32; }

#define P_REAL double
#define P_NAME(x) x
#define P_WS(m) (m)
#include "model_pass.inc"

#define P_REAL float
#define P_NAME(x) x##_f32
#define P_WS(m) ws32(m)
#include "model_pass.inc"

/* ---- the parameters as named arrays (engine.h, run_arrays) ---- */

/* Appends an array of the given shape at *cur and moves *cur past it; a
 * deep_resnet's arrays carry the block as a first dimension. */
static double *arr_add(run_arrays *o, const char *name, bool blocks, int B,
                       double **cur, int ndim, long s0, long s1, long s2)
{
    run_array *a = &o->a[o->n++];
    long dims[3] = {s0, s1, s2};
    snprintf(a->name, sizeof a->name, "%s", name);
    a->ndim = 0;
    if (blocks)
        a->shape[a->ndim++] = B;
    for (int k = 0; k < ndim; k++)
        a->shape[a->ndim++] = dims[k];
    a->data = *cur;
    *cur += run_array_count(a);
    return a->data;
}

/* What a walk over the named arrays does with each stretch of theta:
 * gather it into the arrays (model_param_arrays), scatter the arrays
 * back into theta (model_params_from_arrays), or only lay the arrays out. */
enum arr_move { ARR_GATHER, ARR_SCATTER, ARR_LAYOUT };

static void move_n(double **cur, double *t, size_t n, enum arr_move mv)
{
    if (mv == ARR_GATHER)
        memcpy(*cur, t, n * sizeof **cur);
    else if (mv == ARR_SCATTER)
        memcpy(t, *cur, n * sizeof **cur);
    *cur += n;
}

/* The hidden layers of every block, gathered per name: W1, b1, then
 * layers 2..L stacked as W_hidden and b_hidden. */
static void unit_arrays(const model *m, const double *t, run_arrays *o,
                        double **cur, enum arr_move mv)
{
    const model_shape *s = &m->s;
    bool deep = s->arch == ARCH_DEEP_RESNET;
    long d = s->d, h = s->h, L = s->L;
    double *p = arr_add(o, "W1", deep, s->B, cur, 2, h, d, 0);
    for (int b = 0; b < s->B; b++)
        move_n(&p, unit_W(m, t, b, 0), (size_t)(h * d), mv);
    p = arr_add(o, "b1", deep, s->B, cur, 1, h, 0, 0);
    for (int b = 0; b < s->B; b++)
        move_n(&p, unit_b(m, t, b, 0), (size_t)h, mv);
    if (L == 1)
        return;
    p = arr_add(o, "W_hidden", deep, s->B, cur, 3, L - 1, h, h);
    for (int b = 0; b < s->B; b++)
        for (int j = 1; j < L; j++)
            move_n(&p, unit_W(m, t, b, j), (size_t)(h * h), mv);
    p = arr_add(o, "b_hidden", deep, s->B, cur, 2, L - 1, h, 0);
    for (int b = 0; b < s->B; b++)
        for (int j = 1; j < L; j++)
            move_n(&p, unit_b(m, t, b, j), (size_t)h, mv);
}

static int param_walk(const model *m, const double *theta, double *buf,
                      run_arrays *out, enum arr_move mv)
{
    const model_shape *s = &m->s;
    if (out->n + 6 > RUN_ARRAYS_MAX)   /* resnet: w, V, W1, b1, W_hidden, b_hidden */
        return -EINVAL;
    bool deep = s->arch == ARCH_DEEP_RESNET;
    bool own_u = s->arch == ARCH_LINEAR || s->arch == ARCH_DECOUPLED;
    double *cur = buf, *p, *t = (double *)theta;
    p = arr_add(out, own_u ? "u" : "w", false, 1, &cur, 1, s->d, 0, 0);
    move_n(&p, t + m->off[MODEL_OUT], m->len[MODEL_OUT], mv);
    if (s->arch == ARCH_DECOUPLED)
        p = arr_add(out, "v", false, 1, &cur, 1, s->h, 0, 0);
    else if (s->arch != ARCH_LINEAR)
        p = arr_add(out, "V", deep, s->B, &cur, 2, s->d, s->h, 0);
    if (s->arch != ARCH_LINEAR)
        move_n(&p, t + m->off[MODEL_V], m->len[MODEL_V], mv);
    if (has_unit(s))
        unit_arrays(m, t, out, &cur, mv);
    return 0;
}

int model_param_arrays(const model *m, const double *theta, double *buf,
                       run_arrays *out)
{
    return param_walk(m, theta, buf, out, ARR_GATHER);
}

/* "[16,10]" */
static const char *shape_text(const run_array *a, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int k = 0; k < a->ndim && used < len; k++)
        used += (size_t)snprintf(buf + used, len - used, "%s%ld",
                                 k ? "," : "", a->shape[k]);
    if (used < len)
        snprintf(buf + used, len - used, "]");
    return buf;
}

static bool same_shape(const run_array *a, const run_array *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (int k = 0; k < a->ndim; k++)
        if (a->shape[k] != b->shape[k])
            return false;
    return true;
}

/* The stored arrays' values, checked against the layout `want`, into
 * its buffer. */
static int take_arrays(const run_arrays *as, const run_arrays *want,
                       char *err, size_t errlen)
{
    for (int i = 0; i < want->n; i++) {
        const run_array *w = &want->a[i];
        const run_array *a = run_arrays_find(as, w->name);
        char got[96], need[96];
        if (!a)
            return err_set(err, errlen, -EINVAL, "no parameter array %s "
                           "(the run kept no parameters)", w->name);
        if (!same_shape(a, w) || !a->data)
            return err_set(err, errlen, -EINVAL, "parameter array %s has "
                           "shape %s, the network's is %s", w->name,
                           shape_text(a, got, sizeof got),
                           shape_text(w, need, sizeof need));
        memcpy(w->data, a->data, run_array_count(w) * sizeof *w->data);
    }
    return 0;
}

int model_params_from_arrays(const model *m, const run_arrays *as,
                             double *theta, char *err, size_t errlen)
{
    size_t np = model_nparams(m);
    double *buf = malloc(sizeof *buf * (np ? np : 1));
    if (!buf)
        return err_set(err, errlen, -ENOMEM, "out of memory for %zu "
                       "parameters", np);
    run_arrays want = {0};
    int rc = param_walk(m, theta, buf, &want, ARR_LAYOUT);
    if (rc == 0)
        rc = take_arrays(as, &want, err, errlen);
    if (rc == 0)
        param_walk(m, theta, buf, &(run_arrays){0}, ARR_SCATTER);
    free(buf);
    return rc;
}

/* ---- filters (model.h, docs/theory.md §6.8) ---- */

/* Rows of the V group: d per block, or decoupled's v as one. */
static size_t v_filters(const model *m)
{
    if (!has_unit(&m->s))
        return 0;
    return m->s.arch == ARCH_DECOUPLED ? 1 : (size_t)m->s.B * m->s.d;
}

size_t model_filter_count(const model *m)
{
    size_t units = has_unit(&m->s) ? (size_t)m->s.B * m->s.L * m->s.h : 0;
    return 1 + v_filters(m) + units;
}

model_filter model_filter_at(const model *m, size_t k)
{
    const model_shape *s = &m->s;
    if (k == 0)
        return (model_filter){m->off[MODEL_OUT], m->len[MODEL_OUT], MODEL_NO_BIAS};
    k--;
    if (k < v_filters(m)) {
        if (s->arch == ARCH_DECOUPLED)
            return (model_filter){m->off[MODEL_V], m->len[MODEL_V], MODEL_NO_BIAS};
        return (model_filter){m->off[MODEL_V] + k * s->h, (size_t)s->h,
                              MODEL_NO_BIAS};
    }
    k -= v_filters(m);
    size_t per_layer = (size_t)s->h, per_unit = per_layer * s->L;
    int b = (int)(k / per_unit), j = (int)(k % per_unit / per_layer);
    size_t row = k % per_layer, in = in_dim(m, j);
    size_t base = m->off[MODEL_THETA] + (size_t)b * m->unit_np;
    return (model_filter){base + m->lw[j] + row * in, in, base + m->lb[j] + row};
}

/* ---- initialisation (docs/theory.md §3) ---- */

static void fill_normal(double *x, size_t n, double std, rng *r)
{
    for (size_t i = 0; i < n; i++)
        x[i] = std > 0 ? std * rng_normal(r) : 0.0;
}

void model_init_params(const model *m, const model_config *mc, rng *r,
                       double *theta)
{
    const model_shape *s = &m->s;
    memset(theta, 0, m->np * sizeof *theta);
    for (int b = 0; has_unit(s) && b < s->B; b++)
        for (int j = 0; j < s->L; j++) {
            double fan_in = (double)in_dim(m, j), fan_out = s->h;
            double var = mc->init == INIT_HE ? 2.0 / fan_in
                                             : 2.0 / (fan_in + fan_out);
            fill_normal(unit_W(m, theta, b, j), (size_t)s->h * in_dim(m, j),
                        mc->gain * sqrt(var), r);
        }
    fill_normal(theta + m->off[MODEL_V], m->len[MODEL_V], mc->init_scale, r);
    fill_normal(theta + m->off[MODEL_OUT], m->len[MODEL_OUT], mc->init_scale, r);
}

/* ---- evaluation ---- */

int model_predict(model *m, const double *theta, const double *X, int n,
                  double *p)
{
    output_weights(m, theta);
    for (int i0 = 0; i0 < n; i0 += m->chunk) {
        if (stop_asked(m))
            return -EINTR;
        int rows = n - i0 < m->chunk ? n - i0 : m->chunk;
        forward_chunk(m, theta, X + (size_t)i0 * m->s.d, rows);
        memcpy(p + i0, m->p, sizeof *p * (size_t)rows);
    }
    return 0;
}

double model_loss_grad(model *m, const double *theta, enum loss_kind loss,
                       const double *X, const double *y, int n, double *grad,
                       double *p)
{
    return loss_grad_pass(m, theta, loss, X, y, n, grad, p);
}

/* ---- float32 training (train.precision) ---- */

/* Floats of the float workspace, in model32's field order. */
static void f32_sizes(const model_shape *s, size_t rows, size_t np,
                      size_t n[MODEL32_ARRAYS])
{
    size_t d = (size_t)s->d, h = (size_t)s->h;
    size_t L = has_unit(s) ? (size_t)s->L : 0, B = has_unit(s) ? (size_t)s->B : 0;
    size_t v[MODEL32_ARRAYS] = {B * L * rows * h, B * L * rows * h,
                    B > 1 ? (B - 1) * rows * d : 0, rows, rows, rows * d,
                    rows * d, rows * h, rows * h, h, h, np, np, np};
    memcpy(n, v, sizeof v);
}

size_t model_f32_bytes(const model_shape *s, int chunk)
{
    if (model_shape_nparams(s) < 0)
        return 0;
    size_t n[MODEL32_ARRAYS], sum = 0;
    f32_sizes(s, (size_t)(chunk > 0 ? chunk : pick_chunk(s)),
              (size_t)model_shape_nparams(s), n);
    for (int i = 0; i < MODEL32_ARRAYS; i++)
        sum += n[i];
    return sizeof(float) * sum + sizeof(model32);
}

static void f32_free(model32 *w)
{
    if (!w)
        return;
    for (int i = 0; i < MODEL32_ARRAYS; i++)
        free(w->all[i]);
    free(w);
}

int model_use_f32(model *m)
{
    if (m->f32)
        return 0;
    model32 *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    size_t n[MODEL32_ARRAYS];
    f32_sizes(&m->s, (size_t)m->chunk, m->np, n);
    bool ok = true;
    for (int i = 0; i < MODEL32_ARRAYS; i++)
        if (n[i] > 0 && !(w->all[i] = calloc(n[i], sizeof(float))))
            ok = false;
    if (!ok) {
        f32_free(w);
        return -ENOMEM;
    }
    m->f32 = w;
    return 0;
}

double model_loss_grad_f32(model *m, const double *theta, enum loss_kind loss,
                           const float *X, const float *y, int n, double *grad)
{
    model32 *w = m->f32;
    for (size_t i = 0; i < m->np; i++)
        w->theta[i] = (float)theta[i];
    double F = loss_grad_pass_f32(m, w->theta, loss, X, y, n,
                                  grad ? w->grad : NULL, NULL);
    for (size_t i = 0; grad && i < m->np; i++)
        grad[i] = w->grad[i];
    return F;
}

/* ---- Hessian-vector products: R{.} of the forward and backward passes ---- */

static int hvp_alloc(model *m)
{
    if (m->hv)
        return 0;
    const model_shape *s = &m->s;
    size_t rows = (size_t)m->chunk, d = (size_t)s->d, h = (size_t)s->h;
    size_t B = has_unit(s) ? (size_t)s->B : 0, L = has_unit(s) ? (size_t)s->L : 0;
    bool ok = true;
    hvp_ws *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->RA = zalloc(B * L * rows * h, &ok);
    w->RZ = zalloc(B * L * rows * h, &ok);
    w->Rr = zalloc(B * rows * d, &ok);
    w->rB = zalloc(rows * d, &ok);
    w->dr = zalloc(rows * d, &ok);
    w->Rdr = zalloc(rows * d, &ok);
    w->dIn = zalloc(rows * d, &ok);
    w->RdIn = zalloc(rows * d, &ok);
    w->gA = zalloc(rows * h, &ok);
    w->gB = zalloc(rows * h, &ok);
    w->RgA = zalloc(rows * h, &ok);
    w->RgB = zalloc(rows * h, &ok);
    w->Rp = zalloc(rows, &ok);
    w->Rdp = zalloc(rows, &ok);
    if (!ok) {
        hvp_free(w);
        return -ENOMEM;
    }
    m->hv = w;
    return 0;
}

/* R{r_b} for b = 1..B (chunk slot b-1). */
static double *hv_Rr(const model *m, int b)
{
    return m->hv->Rr + (size_t)(b - 1) * m->chunk * m->s.d;
}

/* R-forward through block b: R{A_j} = R{Z_{j-1}} W_j^T + Z_{j-1} dW_j^T
 * + db_j, R{Z_j} = sigma'(A_j) R{A_j}. Rin = R{unit input} or NULL (0). */
static void unit_rforward(model *m, const double *theta, const double *v, int b,
                          const double *in, const double *Rin, int rows)
{
    const model_shape *s = &m->s;
    int h = s->h;
    const double *z = in, *Rz = Rin;
    for (int j = 0; j < s->L; j++) {
        int k = (int)in_dim(m, j);
        double *RA = layer_slot(m, m->hv->RA, b, j), *RZ = layer_slot(m, m->hv->RZ, b, j);
        const double *A = layer_slot(m, m->A, b, j), *Z = layer_slot(m, m->Z, b, j);
        blas_gemm(false, true, rows, h, k, 1.0, z, k, unit_W(m, v, b, j), k, 0.0, RA, h);
        if (Rz)
            blas_gemm(false, true, rows, h, k, 1.0, Rz, k, unit_W(m, theta, b, j), k, 1.0, RA, h);
        kern_rforward_act(s->act, A, Z, RA, RZ, unit_b(m, v, b, j), rows, h);
        z = Z;
        Rz = RZ;
    }
}

/* R-backward through block b. On entry hv->gA = dZ_L and hv->RgA =
 * R{dZ_L}; accumulates Hv into H. If dIn != NULL, the input gradient and
 * its R{} go to dIn and RdIn (rows x d). */
static void unit_rbackward(model *m, const double *theta, const double *v, int b,
                           const double *in, const double *Rin, int rows,
                           double *dIn, double *RdIn, double *H)
{
    const model_shape *s = &m->s;
    hvp_ws *w = m->hv;
    int h = s->h;
    double *g = w->gA, *Rg = w->RgA, *gn = w->gB, *Rgn = w->RgB;
    for (int j = s->L - 1; j >= 0; j--) {
        int k = (int)in_dim(m, j);
        const double *A = layer_slot(m, m->A, b, j), *Z = layer_slot(m, m->Z, b, j);
        const double *RA = layer_slot(m, w->RA, b, j);
        const double *zin = j == 0 ? in : layer_slot(m, m->Z, b, j - 1);
        const double *Rzin = j == 0 ? Rin : layer_slot(m, w->RZ, b, j - 1);
        kern_rbackprop(s->act, A, Z, RA, g, Rg, (size_t)rows * h);
        double *HW = unit_W(m, H, b, j);
        blas_gemm(true, false, h, k, rows, 1.0, Rg, h, zin, k, 1.0, HW, k);
        if (Rzin)
            blas_gemm(true, false, h, k, rows, 1.0, g, h, Rzin, k, 1.0, HW, k);
        kern_colsum_add(unit_b(m, H, b, j), Rg, rows, h);
        if (j == 0 && !dIn)
            break;
        double *out = j == 0 ? dIn : gn, *Rout = j == 0 ? RdIn : Rgn;
        mm_nn(rows, k, h, g, h, unit_W(m, m->wt, b, j), 0.0, out, k);
        mm_nn(rows, k, h, Rg, h, unit_W(m, m->wt, b, j), 0.0, Rout, k);
        mm_nn(rows, k, h, g, h, unit_W(m, m->vt, b, j), 1.0, Rout, k);
        gn = g;
        Rgn = Rg;
        g = out;
        Rg = Rout;
    }
}

/* R-forward of the whole network over a chunk: hv->Rp = R{p}. For residual
 * archs also forms r_B in hv->rB and R{r_b} in hv->Rr. */
static void rforward_chunk(model *m, const double *theta, const double *v,
                           const double *X, int rows)
{
    const model_shape *s = &m->s;
    hvp_ws *w = m->hv;
    int d = s->d, h = s->h;
    const double *du = v + m->off[MODEL_OUT];
    if (s->arch == ARCH_LINEAR || s->arch == ARCH_DECOUPLED)
        blas_gemv(false, rows, d, 1.0, X, d, du, 0.0, w->Rp);
    if (s->arch == ARCH_LINEAR)
        return;
    if (s->arch == ARCH_DECOUPLED) {
        unit_rforward(m, theta, v, 0, X, NULL, rows);
        const double *ZL = layer_slot(m, m->Z, 0, s->L - 1);
        const double *RZL = layer_slot(m, w->RZ, 0, s->L - 1);
        blas_gemv(false, rows, h, 1.0, RZL, h, theta + m->off[MODEL_V], 1.0, w->Rp);
        blas_gemv(false, rows, h, 1.0, ZL, h, v + m->off[MODEL_V], 1.0, w->Rp);
        return;
    }
    double skip = has_skip(s) ? 1.0 : 0.0;
    for (int b = 0; b < s->B; b++) {
        const double *Rin = b == 0 ? NULL : hv_Rr(m, b);
        unit_rforward(m, theta, v, b, stream_r(m, X, b), Rin, rows);
        double *Rout = hv_Rr(m, b + 1);
        const double *ZL = layer_slot(m, m->Z, b, s->L - 1);
        const double *RZL = layer_slot(m, w->RZ, b, s->L - 1);
        if (Rin && skip != 0.0)
            memcpy(Rout, Rin, sizeof *Rout * (size_t)rows * d);
        double beta = (Rin && skip != 0.0) ? 1.0 : 0.0;
        blas_gemm(false, true, rows, d, h, 1.0, RZL, h, block_V(m, theta, b), h, beta, Rout, d);
        blas_gemm(false, true, rows, d, h, 1.0, ZL, h, block_V(m, v, b), h, 1.0, Rout, d);
    }
    /* r_B = s r_{B-1} + Z_L V_{B-1}^T, then R{p} = R{r_B} w + r_B dw */
    const double *in = stream_r(m, X, s->B - 1);
    if (skip != 0.0)
        memcpy(w->rB, in, sizeof *w->rB * (size_t)rows * d);
    blas_gemm(false, true, rows, d, h, 1.0, layer_slot(m, m->Z, s->B - 1, s->L - 1), h,
              block_V(m, theta, s->B - 1), h, skip, w->rB, d);
    blas_gemv(false, rows, d, 1.0, w->rB, d, du, 0.0, w->Rp);
    blas_gemv(false, rows, d, 1.0, hv_Rr(m, s->B), d, theta + m->off[MODEL_OUT], 1.0, w->Rp);
}

/* R-backward of the whole network over a chunk, given m->dp and hv->Rdp. */
static void rbackward_chunk(model *m, const double *theta, const double *v,
                            const double *X, int rows, double *H)
{
    const model_shape *s = &m->s;
    hvp_ws *w = m->hv;
    int d = s->d, h = s->h;
    double *Hu = H + m->off[MODEL_OUT];
    if (s->arch == ARCH_LINEAR || s->arch == ARCH_DECOUPLED) {
        blas_gemv(true, rows, d, 1.0, X, d, w->Rdp, 1.0, Hu);
        if (s->arch == ARCH_LINEAR)
            return;
        const double *ZL = layer_slot(m, m->Z, 0, s->L - 1);
        const double *RZL = layer_slot(m, w->RZ, 0, s->L - 1);
        double *Hv = H + m->off[MODEL_V];
        const double *vv = theta + m->off[MODEL_V], *dv = v + m->off[MODEL_V];
        blas_gemv(true, rows, h, 1.0, RZL, h, m->dp, 1.0, Hv);
        blas_gemv(true, rows, h, 1.0, ZL, h, w->Rdp, 1.0, Hv);
        kern_outer(w->gA, m->dp, rows, vv, h, 0.0);
        kern_outer(w->RgA, w->Rdp, rows, vv, h, 0.0);
        kern_outer(w->RgA, m->dp, rows, dv, h, 1.0);
        unit_rbackward(m, theta, v, 0, X, NULL, rows, NULL, NULL, H);
        return;
    }
    const double *wo = theta + m->off[MODEL_OUT], *dw = v + m->off[MODEL_OUT];
    blas_gemv(true, rows, d, 1.0, w->rB, d, w->Rdp, 1.0, Hu);
    blas_gemv(true, rows, d, 1.0, hv_Rr(m, s->B), d, m->dp, 1.0, Hu);
    kern_outer(w->dr, m->dp, rows, wo, d, 0.0);
    kern_outer(w->Rdr, w->Rdp, rows, wo, d, 0.0);
    kern_outer(w->Rdr, m->dp, rows, dw, d, 1.0);
    for (int b = s->B - 1; b >= 0; b--) {
        const double *ZL = layer_slot(m, m->Z, b, s->L - 1);
        const double *RZL = layer_slot(m, w->RZ, b, s->L - 1);
        double *HV = block_V(m, H, b);
        blas_gemm(true, false, d, h, rows, 1.0, w->Rdr, d, ZL, h, 1.0, HV, h);
        blas_gemm(true, false, d, h, rows, 1.0, w->dr, d, RZL, h, 1.0, HV, h);
        mm_nn(rows, h, d, w->dr, d, block_V(m, m->wt, b), 0.0, w->gA, h);
        mm_nn(rows, h, d, w->Rdr, d, block_V(m, m->wt, b), 0.0, w->RgA, h);
        mm_nn(rows, h, d, w->dr, d, block_V(m, m->vt, b), 1.0, w->RgA, h);
        bool inner = b > 0;
        unit_rbackward(m, theta, v, b, stream_r(m, X, b), inner ? hv_Rr(m, b) : NULL,
                       rows, inner ? w->dIn : NULL, inner ? w->RdIn : NULL, H);
        if (!inner)
            break;
        for (size_t e = 0; e < (size_t)rows * d; e++) {
            w->dr[e] += w->dIn[e];
            w->Rdr[e] += w->RdIn[e];
        }
    }
}

int model_hvp(model *m, const double *theta, enum loss_kind loss,
              const double *X, const double *y, int n, const double *v,
              double *Hv)
{
    int rc = hvp_alloc(m);
    if (rc)
        return rc;
    output_weights(m, theta);
    transpose_weights(m, theta, m->wt);
    transpose_weights(m, v, m->vt);
    memset(Hv, 0, sizeof *Hv * m->np);
    double inv_n = 1.0 / n;
    for (int i0 = 0; i0 < n; i0 += m->chunk) {
        if (stop_asked(m))
            return -EINTR;
        int rows = n - i0 < m->chunk ? n - i0 : m->chunk;
        const double *Xc = X + (size_t)i0 * m->s.d;
        forward_chunk(m, theta, Xc, rows);
        rforward_chunk(m, theta, v, Xc, rows);
        for (int i = 0; i < rows; i++) {
            double d1, d2;
            loss_eval(loss, m->p[i], y[i0 + i], &d1, &d2);
            m->dp[i] = d1 * inv_n;
            m->hv->Rdp[i] = d2 * m->hv->Rp[i] * inv_n;
        }
        rbackward_chunk(m, theta, v, Xc, rows, Hv);
    }
    return 0;
}
