/* regen.c — a run's samples rebuilt from its configuration, for `resweep
 * export` (engine.h, engine_regenerate_data). The data are a function of
 * the configuration and its seed (docs/theory.md §2: every draw comes
 * from the run's RNG streams), so they are not stored: data_load makes
 * them again, bit for bit. */
#include "engine.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "data.h"
#include "err.h"
#include "loss.h"

int engine_regenerate_data(const run_config *cfg, run_data *out, char *err,
                           size_t errlen)
{
    dataset ds;
    *out = (run_data){0};
    int rc = data_load(cfg, &ds, NULL, err, errlen);
    if (rc < 0)
        return rc;
    *out = (run_data){.n = ds.n, .d = ds.d, .n_test = ds.n_test,
                      .X = ds.X, .y = ds.y, .X_test = ds.X_test,
                      .y_test = ds.y_test};
    return 0;
}

void engine_data_free(run_data *rd)
{
    dataset ds = {.n = rd->n, .d = rd->d, .n_test = rd->n_test, .X = rd->X,
                  .y = rd->y, .X_test = rd->X_test, .y_test = rd->y_test};
    data_free(&ds);
    *rd = (run_data){0};
}

/* One row at a time, in the order linfit sums (a plain dot product), so
 * that the loss of the same u on the same rows agrees to rounding. */
double engine_linear_loss(enum loss_kind loss, const run_data *rd,
                          const double *u)
{
    double sum = 0;
    for (int i = 0; i < rd->n; i++) {
        const double *x = rd->X + (size_t)i * rd->d;
        double p = 0;
        for (int k = 0; k < rd->d; k++)
            p += u[k] * x[k];
        sum += loss_value(loss, p, rd->y[i]);
    }
    return rd->n > 0 ? sum / rd->n : NAN;
}
