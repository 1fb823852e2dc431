/* estimate.c — a run's peak memory from its configuration, before it runs
 * (engine.h, engine_estimate_bytes; issue 9, "Memory admission").
 *
 * engine_run goes through phases, and what one phase allocates is freed
 * before the next, except the data, the generator of stream mode, u* and
 * (from training on) the model and theta, which stay to the end:
 *
 *   load      data_load: the data set, plus the generator, a CSV table or
 *             a permutation while it is built
 *   fit       linfit_solve's workspace (Gram matrix or its Cholesky
 *             factor, LAPACK's work)
 *   train     the model's workspace, theta, the session's buffers, and
 *             before them the canonical JSON the checkpoint hash reads
 *   analysis  the model's Hessian-vector workspace, a gradient and the
 *             predictions, then one of: the test predictions, the Gram
 *             matrix of V's smaller side and its eigenvalues (||V||_2 of
 *             the certificate), Lanczos (its basis within
 *             analysis.lanczos_memory_mib, or five vectors past it),
 *             Hutchinson's two vectors, the dense Hessian (n_params^2
 *             doubles and dsyevd's work, up to analysis.exact_max_params),
 *             SLQ (a Lanczos workspace as above and its probes' measure),
 *             the path's point, the slice's directions and point; or,
 *             after them, the checkpoint a suspend
 *             hands over
 *
 * The peak is the largest phase. Each module states its own allocations
 * beside them (data_load_bytes, linfit_bytes, model_workspace_bytes,
 * train_bytes, lapack_*_bytes); analysis.c, lanczos.c, spectrum.c and
 * path.c are mirrored here, so a change to their allocations must be
 * made here too: the test (tests/engine/test_estimate.c) runs
 * configurations of every kind under a counting allocator and fails when
 * the estimate is below what was used, or more than twice it plus
 * ENGINE_ESTIMATE_BASE_BYTES.
 *
 * Beside engine_run's own, the estimate counts what its caller (a worker)
 * holds for the run: the configuration's text and parsed arrays (inline
 * data) and the JSON tree of the parse, and checkpoint copies (the one
 * resumed from, the one on its way to the store, SQLite's record of it).
 */
#include "engine.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "analysis.h"
#include "blas.h"
#include "csv.h"
#include "data.h"
#include "err.h"
#include "lanczos.h"
#include "linfit.h"
#include "model.h"
#include "path.h"
#include "train.h"

/* Longest text of one number in config_to_json ("%.17g" of a negative
 * subnormal, "-2.2250738585072014e-308") and its comma. */
#define JSON_NUMBER_CHARS 25
/* The canonical JSON of a configuration without inline data or strings
 * is about 530 bytes. */
#define JSON_FIXED_CHARS 2048
/* A cJSON node as malloc hands it out, and the keys of the configuration
 * (about 40 nodes with their names) in one allowance. */
#define JSON_NODE_BYTES (sizeof(cJSON) + 16)
#define JSON_KEYS_BYTES 8192
/* Copies of a checkpoint outside the engine: the resumed one in the
 * lease, the writer's copy on its way to the store, SQLite's record. */
#define CHECKPOINT_COPIES 3

static size_t max2(size_t a, size_t b) { return a > b ? a : b; }
static size_t max3(size_t a, size_t b, size_t c) { return max2(max2(a, b), c); }

/* ---- the configuration as text and as a parse tree ---- */

typedef struct inline_size {
    size_t values, rows;
} inline_size;

static inline_size inline_of(const data_config *dc)
{
    inline_size z = {0, 0};
    if (dc->source != DATA_INLINE)
        return z;
    size_t n = (size_t)(dc->inline_n > 0 ? dc->inline_n : 0);
    size_t nt = (size_t)(dc->inline_n_test > 0 ? dc->inline_n_test : 0);
    size_t d = (size_t)(dc->inline_d > 0 ? dc->inline_d : 0);
    z.values = (n + nt) * (d + 1);
    z.rows = n + nt;
    return z;
}

static size_t str_chars(const char *s)
{
    return s ? 6 * strlen(s) + 2 : 0;   /* \u00XX escapes at worst */
}

/* Characters of config_to_json(cfg), at most. */
static size_t json_chars(const run_config *cfg)
{
    inline_size z = inline_of(&cfg->data);
    return JSON_FIXED_CHARS + str_chars(cfg->data.path) +
           str_chars(cfg->data.target_column) + JSON_NUMBER_CHARS * z.values +
           2 * z.rows;
}

/* config_to_json's buffer doubles as it grows (cap <= 2 len + a margin),
 * and a realloc that copies holds the old one beside it. */
static size_t json_build_bytes(const run_config *cfg)
{
    return 3 * (json_chars(cfg) + 64);
}

/* What the worker holds through the run: the configuration's text and
 * its parsed arrays and strings. */
static size_t config_held_bytes(const run_config *cfg)
{
    inline_size z = inline_of(&cfg->data);
    return json_chars(cfg) + sizeof(double) * z.values +
           str_chars(cfg->data.path) + str_chars(cfg->data.target_column);
}

/* config_parse_str's tree, live while the arrays are copied out of it. */
static size_t config_parse_bytes(const run_config *cfg)
{
    inline_size z = inline_of(&cfg->data);
    return JSON_NODE_BYTES * (z.values + z.rows) + JSON_KEYS_BYTES;
}

/* ---- analysis.c, lanczos.c, spectrum.c and path.c, mirrored ---- */

/* lanczos_extremes's and lanczos_tridiagonal's workspace (lanczos.h), for
 * k = min(iters, dim) steps: the stored basis of k vectors and two more
 * when k vectors fit in basis_bytes, else five vectors (the two-pass
 * recurrence); T's k x k eigenvectors and its small arrays. */
static size_t lanczos_ws_bytes(size_t dim, size_t k, size_t basis_bytes)
{
    bool capped = k > basis_bytes / (sizeof(double) * dim);
    size_t vectors = capped ? 5 : k + 2;
    return sizeof(double) * (dim * vectors + (capped ? 0 : k) + 4 * k + k * k);
}

static size_t steps_of(size_t dim, int iters)
{
    return (size_t)iters < dim ? (size_t)iters : dim;
}

/* lanczos_extremes: its workspace and dstev's work. */
static size_t lanczos_bytes(size_t dim, int iters, size_t basis_bytes)
{
    if (dim == 0 || iters < 1)
        return 0;
    size_t k = steps_of(dim, iters);
    return lanczos_ws_bytes(dim, k, basis_bytes) +
           lapack_stev_bytes((int)k, true);
}

/* spectral_norm of one d x h block: the Gram matrix of its smaller side
 * k = min(d, h), its k eigenvalues, and dsyevd's work without vectors. */
static size_t gram_bytes(const model_shape *s)
{
    if (s->arch == ARCH_LINEAR || s->arch == ARCH_DECOUPLED)
        return 0;
    int k = s->d < s->h ? s->d : s->h;
    size_t K = (size_t)(k > 0 ? k : 0);
    return sizeof(double) * (K * K + K) + lapack_syev_bytes(k, false);
}

/* spectrum_trace: a probe and its product. */
static size_t trace_bytes(size_t np, const analysis_config *ac)
{
    return ac->trace_probes > 0 ? sizeof(double) * 2 * np : 0;
}

/* spectrum_dense (and analysis.c's eigenvalues w): the n_params^2 matrix,
 * a unit vector and w, then dsyevd's work beside them. */
static size_t dense_bytes(size_t np, const analysis_config *ac)
{
    if (np == 0 || np > (size_t)ac->exact_max_params)
        return 0;
    return sizeof(double) * (np * np + 2 * np) +
           lapack_syev_bytes((int)np, false);
}

/* spectrum_slq for k = min(slq_iters, np) steps a probe: the start vector,
 * T's diagonals and k x k eigenvectors, the measure's nodes and weights
 * (k a probe); and beside them lanczos_tridiagonal's workspace, then
 * dstev's work. */
static size_t slq_bytes(size_t np, const analysis_config *ac)
{
    if (np == 0 || ac->slq_probes < 1 || ac->slq_iters < 1)
        return 0;
    size_t k = steps_of(np, ac->slq_iters);
    size_t own = sizeof(double) *
                 (np + 2 * k + k * k + 2 * (size_t)ac->slq_probes * k);
    return own + max2(lanczos_ws_bytes(np, k, (size_t)ac->lanczos_memory_mib << 20),
                      lapack_stev_bytes((int)k, true));
}

/* path_to_linear: the point on the segment. */
static size_t path_bytes(size_t np, const analysis_config *ac,
                         const model_shape *ms)
{
    return path_has_linear_point(ms->arch) && ac->path_points > 0
               ? sizeof(double) * np : 0;
}

/* slice_grid: two directions, the point, and the grid's losses. */
static size_t slice_bytes(size_t np, const analysis_config *ac)
{
    if (ac->slice_points == 0 || np > (size_t)ac->slice_max_params)
        return 0;
    size_t k = (size_t)ac->slice_points;
    return sizeof(double) * (3 * np + k * k);
}

/* analysis_endpoint beyond the model's workspace: grad (np) and p (n),
 * then, one after the other, the test predictions, ||V||_2, Lanczos, and
 * with the Hessian the trace, the dense spectrum and SLQ; the path; the
 * slice. */
static size_t analysis_bytes(const run_config *cfg, const data_shape *sh,
                             const model_shape *ms, size_t np)
{
    const analysis_config *ac = &cfg->analysis;
    size_t hess = 0;
    if (ac->hessian)
        hess = max2(max2(lanczos_bytes(np, ac->lanczos_iters,
                                       (size_t)ac->lanczos_memory_mib << 20),
                         trace_bytes(np, ac)),
                    max2(dense_bytes(np, ac), slq_bytes(np, ac)));
    size_t test = sizeof(double) * (size_t)(sh->n_test > 0 ? sh->n_test : 0);
    return sizeof(double) * (np + (size_t)(sh->n > 0 ? sh->n : 0)) +
           max2(max3(test, gram_bytes(ms), hess),
                max2(path_bytes(np, ac, ms), slice_bytes(np, ac)));
}

/* ---- CSV files: measured once per version of the file ---- */

/* A sweep runs the same file many times; the daemon estimates each run
 * of a job at submission. One entry, keyed by the path and the file's
 * identity and age, makes that one pass over the file per job. */
static struct {
    pthread_mutex_t lock;
    char *path;
    struct stat st;
    csv_shape sh;
} csv_cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The file's shape (measured, or remembered), then cfg's keys applied. A
 * file that cannot be measured counts as empty: the run fails on it. */
static void csv_shape_cached(const run_config *cfg, data_shape *out)
{
    const char *path = cfg->data.path;
    struct stat st;
    char err[ERR_LEN];
    memset(out, 0, sizeof *out);
    if (!path || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    pthread_mutex_lock(&csv_cache.lock);
    bool hit = csv_cache.path && strcmp(csv_cache.path, path) == 0 &&
               same_file(&csv_cache.st, &st);
    csv_shape cs = csv_cache.sh;
    pthread_mutex_unlock(&csv_cache.lock);
    if (!hit) {
        if (csv_measure(path, &cs, err, sizeof err) != 0)
            return;
        char *copy = strdup(path);
        pthread_mutex_lock(&csv_cache.lock);
        free(csv_cache.path);
        csv_cache.path = copy;
        csv_cache.st = st;
        csv_cache.sh = cs;
        pthread_mutex_unlock(&csv_cache.lock);
    }
    data_shape_csv(cfg, cs.rows, cs.cols, cs.header_bytes, out);
}

static void shape_of(const run_config *cfg, data_shape *out)
{
    char err[ERR_LEN];
    if (cfg->data.source == DATA_CSV)
        csv_shape_cached(cfg, out);
    else if (data_shape_of(cfg, out, err, sizeof err) != 0)
        memset(out, 0, sizeof *out);
}

/* ---- the phases ---- */

/* The end of a run: the gathered copy of theta a run keeps
 * (config_keeps_params: save_params or a seed pair's end point), and
 * the worker's copy of what it is handed (engine.c, hand_arrays). */
static size_t arrays_bytes(const run_config *cfg, size_t np, size_t d)
{
    size_t kept = sizeof(run_arrays) + sizeof(double) * d;
    if (config_keeps_params(cfg))
        kept += 2 * sizeof(double) * np;
    return kept;
}

static size_t engine_peak(const run_config *cfg, const data_shape *sh)
{
    size_t kept, load = data_load_bytes(cfg, sh, &kept);
    size_t d = (size_t)(sh->d > 0 ? sh->d : 0);
    size_t stay = kept + (cfg->data.stream ? data_gen_bytes(cfg) : 0) +
                  sizeof(double) * d;   /* the data, stream's generator, u* */
    size_t fit = stay + linfit_bytes(cfg->loss, sh->n, sh->d);
    model_shape ms = model_shape_from_config(&cfg->model, sh->d);
    long nparams = model_shape_nparams(&ms);
    if (nparams < 0)
        return max2(load, fit);   /* model_new refuses it: the run fails */
    size_t np = (size_t)nparams;
    int chunk = model_chunk_for(&ms, model_run_rows(cfg, sh->n, sh->n_test));
    /* float32's workspace, once made, stays with the model to its end */
    size_t f32 = cfg->train.precision == PRECISION_FLOAT32
                 ? model_f32_bytes(&ms, chunk) : 0;
    size_t trained = stay + model_workspace_bytes(&ms, chunk, false) + f32 +
                     sizeof(double) * np;
    size_t train = trained + max2(json_build_bytes(cfg),
                                  train_bytes(cfg, np, sh->d, sh->n));
    /* a suspend during the analysis packs the trained state once the
     * analysis has freed its own (engine.c, analyse) */
    size_t analysis = stay + model_workspace_bytes(&ms, chunk, cfg->analysis.hessian) +
                      f32 + sizeof(double) * np +
                      max3(analysis_bytes(cfg, sh, &ms, np), train_state_size(np),
                           arrays_bytes(cfg, np, d));
    return max2(max2(load, fit), max2(train, analysis));
}

static size_t checkpoint_copies(const run_config *cfg, const data_shape *sh)
{
    model_shape ms = model_shape_from_config(&cfg->model, sh->d);
    long np = model_shape_nparams(&ms);
    return np < 0 ? 0 : CHECKPOINT_COPIES * train_state_size((size_t)np);
}

size_t engine_estimate_bytes(const run_config *cfg)
{
    data_shape sh;
    shape_of(cfg, &sh);
    size_t held = config_held_bytes(cfg) + checkpoint_copies(cfg, &sh);
    return ENGINE_ESTIMATE_BASE_BYTES + held +
           max2(config_parse_bytes(cfg), engine_peak(cfg, &sh));
}
