/* data.h — a run's training and test samples (docs/theory.md §2).
 *
 * data_load() builds the data set a configuration describes: synthetic
 * inputs and targets drawn from the run's RNG streams, a CSV file, or the
 * inline arrays of the configuration. The result is row-major:
 * X[i*d + j] is feature j of sample i. With `intercept`, the last of the d
 * columns is the constant 1 (d counts it). For classification losses
 * (config_is_classification) every y is -1 or +1.
 *
 * Stream mode (`stream: true`) needs fresh samples from the same
 * distribution at every SGD step: data_gen is that distribution (inputs and
 * target function), and data_gen_draw() fills caller buffers without
 * allocating, so a training step stays allocation-free.
 *
 * Ownership: dataset owns its arrays (data_free); data_gen is opaque
 * (data_gen_new / data_gen_free) and borrows nothing from the config.
 */
#ifndef RESWEEP_DATA_H
#define RESWEEP_DATA_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "poller.h"
#include "rng.h"

typedef struct dataset {
    int n, d;           /* training samples, features (intercept included) */
    double *X, *y;      /* n*d and n, owned */
    int n_test;         /* may be 0 (then X_test, y_test are NULL) */
    double *X_test, *y_test;
    bool classification;
} dataset;

typedef struct data_gen data_gen;

/* Loads or generates the data of cfg->data for cfg->seed and cfg->loss.
 * Errors (missing file, bad row, non-numeric cell with its line number,
 * labels not in {-1,+1} for a classification loss, too many cells) return
 * a negative code and a sentence naming the file or key; when the poller p
 * (may be NULL) says stop, its code without a sentence. On error *out
 * holds nothing to free. */
int data_load(const run_config *cfg, dataset *out, poller *p, char *err, size_t errlen);
/* What data_load would refuse in cfg's CSV file, read up to its first
 * max_rows rows (nothing to check for other sources): 0, or its error. */
int data_check(const run_config *cfg, long max_rows, char *err, size_t errlen);

void data_free(dataset *ds);

/* data.standardize (docs/data.md): every feature column j (not the
 * intercept's constant 1) becomes (x - mean_j) / std_j, and with
 * features_and_target the target too, where mean and std (population:
 * divided by n) are those of the training split alone, applied alike to
 * the test split. A column constant on the training split (std 0) is
 * only centred (divided by 1), so it never makes NaN. features_and_target on a classification data set is
 * -EINVAL (labels stay in {-1, +1}); config_parse refuses it before. */
int data_standardize(dataset *ds, enum standardize kind, bool intercept,
                     char *err, size_t errlen);

/* The sizes data_load will give a configuration, known before loading:
 * synthetic and inline data from the configuration; csv from the file's
 * header and line count (csv_measure reads the file, without parsing),
 * so n counts every line and is an upper bound. */
typedef struct data_shape {
    int n, n_test, d;          /* as dataset (d with the intercept) */
    long file_rows;            /* csv: lines after the header; else 0 */
    int file_cols;             /* csv: columns of the header; else 0 */
    size_t header_bytes;       /* csv: the header line's length */
} data_shape;

/* 0, or csv_measure's error with the key data.path. *out is all zeros
 * on error. */
int data_shape_of(const run_config *cfg, data_shape *out, char *err,
                  size_t errlen);

/* The shape of cfg's CSV data given what csv_measure found in the file
 * (rows capped at CONFIG_MAX_CELLS, where csv_read stops): cfg's
 * test_fraction and intercept applied. */
void data_shape_csv(const run_config *cfg, long rows, int cols,
                    size_t header_bytes, data_shape *out);

/* Peak bytes data_load allocates for cfg of shape sh (the generator's
 * parameters, a CSV table while it is split, the shuffle's permutation);
 * *kept receives the bytes the loaded dataset keeps until data_free. */
size_t data_load_bytes(const run_config *cfg, const data_shape *sh,
                       size_t *kept);

/* Bytes data_gen_new(cfg) allocates. */
size_t data_gen_bytes(const run_config *cfg);

/* The generating distribution of a synthetic configuration (the same one
 * data_load draws from: same teacher, same input law). Returns NULL and a
 * sentence for a non-synthetic source or out of memory, or NULL when the
 * poller p (may be NULL) said stop while the teacher was drawn. */
data_gen *data_gen_new(const run_config *cfg, poller *p, char *err, size_t errlen);
void data_gen_free(data_gen *g);

/* Draws m fresh samples into X (m*d) and y (m) from stream r. d is
 * data_gen_dim(g). No allocation. */
void data_gen_draw(const data_gen *g, rng *r, int m, double *X, double *y);
int data_gen_dim(const data_gen *g);

/* The noiseless target t(x) (docs/data.md) at a row x of data_gen_dim(g)
 * values as data_gen_draw writes them (an intercept column is ignored):
 * for tests and for population measurements. */
double data_gen_target(const data_gen *g, const double *x);

#endif
