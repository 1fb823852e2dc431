/* pair.c — the segment between the end points of a seed pair (engine.h,
 * engine_pair_segment; docs/theory.md §6.9): the data made again from the
 * configuration, the two parameter vectors from the runs' arrays, and F
 * along the segment by path.c's walk. */
#include "engine.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "data.h"
#include "err.h"
#include "model.h"
#include "path.h"
#include "poller.h"

/* Everything a pair holds; freed in one place. */
typedef struct pair_env {
    dataset ds;
    bool loaded;
    model *m;
    double *ta, *tb;
} pair_env;

static void env_free(pair_env *e)
{
    if (e->loaded)
        data_free(&e->ds);
    model_free(e->m);
    free(e->ta);
    free(e->tb);
}

/* The network and both end points; which says whose arrays failed. */
static int build(const run_config *cfg, const run_arrays *a,
                 const run_arrays *b, pair_env *e, char *err, size_t errlen)
{
    model_shape sh = model_shape_from_config(&cfg->model, e->ds.d);
    /* sized as the run's model (model_run_rows): the same chunks give the
     * same sums, so F at the ends is the runs' train_loss bit for bit */
    int rows = model_run_rows(cfg, e->ds.n, e->ds.n_test);
    e->m = model_new(&sh, model_chunk_for(&sh, rows), err, errlen);
    if (!e->m)
        return -ENOMEM;
    size_t np = model_nparams(e->m);
    e->ta = malloc(sizeof *e->ta * np);
    e->tb = malloc(sizeof *e->tb * np);
    if (!e->ta || !e->tb)
        return err_set(err, errlen, -ENOMEM, "out of memory for two "
                       "vectors of %zu parameters", np);
    char why[ERR_LEN];
    int rc = model_params_from_arrays(e->m, a, e->ta, why, sizeof why);
    if (rc)
        return err_set(err, errlen, rc, "the first run: %s", why);
    rc = model_params_from_arrays(e->m, b, e->tb, why, sizeof why);
    if (rc)
        return err_set(err, errlen, rc, "the second run: %s", why);
    return 0;
}

static void summarise(run_pair *out)
{
    const run_path *c = &out->curve;
    out->f_a = c->loss[0];
    out->f_b = c->loss[c->points - 1];
    out->f_max = -INFINITY;
    for (int i = 0; i < c->points; i++)
        out->f_max = isnan(c->loss[i]) || isnan(out->f_max)
                         ? NAN : fmax(out->f_max, c->loss[i]);
}

int engine_pair_segment(const run_config *cfg, const run_arrays *a,
                        const run_arrays *b, const run_hooks *hooks,
                        run_pair *out, char *err, size_t errlen)
{
    *out = (run_pair){.f_a = NAN, .f_b = NAN, .f_max = NAN, .barrier = NAN};
    int points = cfg->analysis.path_points;
    if (points < 2)
        return err_set(err, errlen, -EINVAL, "analysis.path_points is %d: "
                       "no points on the segment", points);
    poller pl;
    poller_init(&pl, hooks);
    pair_env e = {0};
    int rc = blas_init(err, errlen);
    if (rc == 0 && (rc = data_load(cfg, &e.ds, &pl, err, errlen)) == 0)
        e.loaded = true;
    if (rc == 0)
        rc = build(cfg, a, b, &e, err, errlen);
    if (rc == 0) {
        model_set_interrupt(e.m, poller_interrupt, &pl);
        rc = path_segment(e.m, e.ta, e.tb, cfg->loss, e.ds.X, e.ds.y,
                          e.ds.n, points, &pl, &out->curve, &out->barrier,
                          err, errlen);
        model_set_interrupt(e.m, NULL, NULL);
    }
    if (rc == 0)
        summarise(out);
    /* a stop leaves no sentence, as in engine_run */
    if (rc && rc == poller_code(&pl) && err && errlen)
        err[0] = '\0';
    env_free(&e);
    return rc;
}
