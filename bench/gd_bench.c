/* gd_bench — times resweep's full-batch gradient descent on exactly the
 * problem a reference implementation dumped (bench/torch_ref.py
 * --dump-dir): same X, y and initial parameters, same loss and steps. The
 * loop timed is the engine's own (train_run), so what is measured is what
 * a run executes. Prints one JSON line, like torch_ref.py.
 *   build/bench/gd_bench DUMP_DIR [--steps T] [--precision float32]
 * (float32: train.precision's float steps, on the dump's data rounded to
 * float; obj_final is F in double at the float-trained parameters.)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "blas.h"
#include "config.h"
#include "data.h"
#include "err.h"
#include "model.h"
#include "train.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = (size_t)n;
    }
    return buf;
}

/* Reads DIR/NAME.f64 into dst, which must hold exactly count doubles. */
static int load_f64(const char *dir, const char *name, double *dst, size_t count)
{
    char path[4096];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s.f64", dir, name);
    char *buf = slurp(path, &len);
    if (!buf || len != count * sizeof(double)) {
        fprintf(stderr, "gd_bench: %s: missing or not %zu doubles\n", path, count);
        free(buf);
        return -1;
    }
    memcpy(dst, buf, len);
    free(buf);
    return 0;
}

static int arg_int(const cJSON *args, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(args, key)->valueint;
}

/* theta in model.h's layout from the reference's tensors. */
static int load_theta(const char *dir, const model *m, int L, double *theta)
{
    const model_shape *s = model_get_shape(m);
    size_t off, len;
    model_group(m, MODEL_OUT, &off, &len);
    if (load_f64(dir, "w", theta + off, len))
        return -1;
    if (s->arch == ARCH_LINEAR)
        return 0;
    model_group(m, MODEL_V, &off, &len);
    if (load_f64(dir, "V", theta + off, len))
        return -1;
    model_group(m, MODEL_THETA, &off, &len);
    double *p = theta + off;
    for (int j = 1; j <= L; j++) {
        char wn[16], bn[16];
        size_t in = j == 1 ? (size_t)s->d : (size_t)s->h;
        snprintf(wn, sizeof wn, "W%d", j);
        snprintf(bn, sizeof bn, "b%d", j);
        if (load_f64(dir, wn, p, (size_t)s->h * in) ||
            load_f64(dir, bn, p + (size_t)s->h * in, (size_t)s->h))
            return -1;
        p += (size_t)s->h * in + (size_t)s->h;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: gd_bench DUMP_DIR [--steps T] "
                "[--precision float32]\n");
        return 2;
    }
    const char *dir = argv[1];
    char path[4096], err[ERR_LEN];
    size_t len;
    snprintf(path, sizeof path, "%s/meta.json", dir);
    char *meta_text = slurp(path, &len);
    cJSON *meta = meta_text ? cJSON_Parse(meta_text) : NULL;
    free(meta_text);
    if (!meta) {
        fprintf(stderr, "gd_bench: cannot read %s\n", path);
        return 1;
    }
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(meta, "args");
    const char *model_name = cJSON_GetObjectItemCaseSensitive(args, "model")->valuestring;
    int d = arg_int(args, "d"), h = arg_int(args, "h"), L = arg_int(args, "L");
    int n = arg_int(args, "n");
    long steps = arg_int(args, "steps");
    bool f32 = false;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--steps"))
            steps = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--precision")) {
            f32 = !strcmp(argv[i + 1], "float32");
            if (!f32 && strcmp(argv[i + 1], "float64")) {
                fprintf(stderr, "gd_bench: --precision: \"%s\" is neither "
                        "float64 nor float32\n", argv[i + 1]);
                return 2;
            }
        }
    }
    if (blas_init(err, sizeof err)) {
        fprintf(stderr, "gd_bench: %s\n", err);
        return 1;
    }

    run_config cfg;
    config_defaults(&cfg);
    cfg.model.arch = strcmp(model_name, "linear") ? ARCH_RESNET : ARCH_LINEAR;
    cfg.model.unit_depth = L;
    cfg.model.width = h;
    cfg.loss = LOSS_SQUARED;
    cfg.train.lr = cJSON_GetObjectItemCaseSensitive(args, "lr")->valuedouble;
    cfg.train.steps = steps;
    cfg.train.tol = 0;
    cfg.train.curve_points = 0;
    cfg.train.precision = f32 ? PRECISION_FLOAT32 : PRECISION_FLOAT64;
    dataset ds = {.n = n, .d = d};
    ds.X = malloc(sizeof(double) * (size_t)n * d);
    ds.y = malloc(sizeof(double) * (size_t)n);
    model_shape sh = model_shape_from_config(&cfg.model, d);
    model *m = model_new(&sh, 0, err, sizeof err);
    double *theta = m ? malloc(sizeof(double) * model_nparams(m)) : NULL;
    double *u0 = calloc((size_t)d, sizeof(double));
    if (!m || !theta || !ds.X || !ds.y || load_f64(dir, "X", ds.X, (size_t)n * d) ||
        load_f64(dir, "y", ds.y, (size_t)n) || load_theta(dir, m, L, theta))
        return 1;

    train_ctx tc = {.cfg = &cfg, .m = m, .ds = &ds, .u_star = u0};
    train_state st;
    train_state_begin(&st, &tc, theta);
    run_result res;
    run_result_clear(&res);
    double obj_init = model_loss_grad(m, theta, LOSS_SQUARED, ds.X, ds.y, n, NULL, NULL);
    if (train_run(&tc, &st, &res, err, sizeof err)) {
        fprintf(stderr, "gd_bench: %s\n", err);
        return 1;
    }
    double obj_final = model_loss_grad(m, theta, LOSS_SQUARED, ds.X, ds.y, n, NULL, NULL);
    double pm = cfg.model.arch == ARCH_LINEAR
                    ? d : (double)h * d + (double)(L - 1) * h * h + (double)d * h + d;
    double flops = 6.0 * n * pm * (double)steps;
    printf("{\"impl\": \"resweep\", \"precision\": \"%s\", \"model\": \"%s\", \"d\": %d, \"h\": %d, \"L\": %d, "
           "\"n\": %d, \"steps\": %ld, \"obj_init\": %.17g, \"obj_final\": %.17g, "
           "\"wall_s\": %.6g, \"s_per_step\": %.6g, \"gflops\": %.4g, "
           "\"blas_kernel\": \"%s\", \"chunk_rows\": 0}\n",
           f32 ? "float32" : "float64", model_name, d, h, L, n, steps, obj_init, obj_final, res.train_s,
           res.train_s / (double)steps, flops / res.train_s / 1e9, blas_kernel());
    model_free(m);
    free(theta);
    free(u0);
    free(ds.X);
    free(ds.y);
    cJSON_Delete(meta);
    return 0;
}
