/* spec.h — a job specification and its expansion into runs (docs/theory.md §8).
 *
 *   { "name": "depth-sweep", "priority": 0, "max_attempts": 3,
 *     "base":   <run configuration, config.h>,
 *     "grid":   { "model.unit_depth": [1, 2, 4, 8], "data.dist": [...] },
 *     "zip":    { "train.steps": [100, 1000], "train.lr": [0.1, 0.03] },
 *     "random": { "n": 20, "seed": 0,
 *                 "params": { "train.lr": {"log_uniform": [1e-3, 1e-1]},
 *                             "model.width": {"choice": [8, 16, 32]},
 *                             "data.noise": {"uniform": [0, 0.5]} } },
 *     "seeds":  5 }
 *
 * Keys of grid/zip/random are dotted paths into base. The runs are the
 * cartesian product grid x zip-index x random-draw x seed (each factor 1
 * when absent); "seeds": K gives seeds base.seed + 0..K-1, "seeds": [..]
 * lists them. Run i of a job is always the same configuration, so a job can
 * be expanded in a stream, never held in memory whole.
 *
 * Errors name the key path where the user wrote the bad value:
 * "grid.model.width[2]: must be an integer in [1, 4096], got 0",
 * "base.data.dist: unknown value \"gauss\"; expected one of gaussian, ...".
 */
#ifndef RESWEEP_SPEC_H
#define RESWEEP_SPEC_H

#include <stddef.h>

#include "config.h"

struct cJSON;

#define SPEC_MAX_RUNS      1000000L  /* runs per job */
#define SPEC_MAX_NAME      200       /* bytes of a job name */
#define SPEC_MAX_SWEEP_KEYS 64       /* keys in grid + zip + random */
#define SPEC_MAX_ATTEMPTS  100
#define SPEC_MAX_PRIORITY  1000000   /* |priority| */

typedef struct job_spec job_spec;

/* Parses the job's structure (name, priority, sweep shape, run count
 * within SPEC_MAX_RUNS) without expanding it; base and sweep values are
 * fully checked by spec_expand. Takes no ownership of json. */
int spec_parse(const struct cJSON *json, job_spec **out, char *err,
               size_t errlen);
void spec_free(job_spec *s);

const char *spec_name(const job_spec *s);   /* "" when absent */
int spec_priority(const job_spec *s);        /* default 0; higher runs first */
int spec_max_attempts(const job_spec *s);    /* default 3 */
long spec_count(const job_spec *s);          /* number of runs */
/* The spec as canonical JSON text, owned by s. */
const char *spec_json(const job_spec *s);

/* The keys the job sweeps, in the order spec_point writes them: grid,
 * zip, random.params, then "seed" when the spec has "seeds" (at most
 * SPEC_MAX_SWEEP_KEYS + 1 of them). spec_key is the dotted path
 * (borrowed from s), spec_key_sweep where it is swept: "grid", "zip",
 * "random" or "seeds". NULL for k out of range. */
int spec_nkeys(const job_spec *s);
const char *spec_key(const job_spec *s, int k);
const char *spec_key_sweep(const job_spec *s, int k);

/* Called once per run, in index order, with the validated configuration
 * and its canonical JSON (both borrowed for the call). Return 0 to go on,
 * or a negative code (with a sentence in err) to stop the expansion. */
typedef int (*spec_emit_fn)(void *ctx, long index, const run_config *cfg,
                            const char *config_json, char *err,
                            size_t errlen);

/* Expands every run, validating each through config_parse. Stops at the
 * first invalid run with -EINVAL and a sentence naming the spec key path,
 * or at the first non-zero return of emit (passed through). */
int spec_expand(const job_spec *s, spec_emit_fn emit, void *ctx, char *err,
                size_t errlen);

/* Where run `index` sits in the sweep, for messages about one run: its
 * swept keys and values in the order the spec writes them, then its seed
 * ("model.width=4096, data.d=30000, seed=3"); "" for a job without
 * sweeps. Cut to len. */
void spec_point(const job_spec *s, long index, char *buf, size_t len);

/* Configuration of run `index` alone (0 <= index < spec_count). */
int spec_run(const job_spec *s, long index, run_config *out, char *err,
             size_t errlen);

#endif
