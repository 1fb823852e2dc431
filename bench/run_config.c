/* run_config — runs one configuration through engine_run in this process
 * and prints its curve and result: for benchmarks and for exploring a
 * configuration before sweeping it.
 *   build/bench/run_config CONFIG.json|-  [--quiet] [--warm]
 * --warm runs the configuration once, unreported, before the run it
 * reports: the first run of a process generates LIBXSMM's kernels for
 * its shapes, which a short timed run would otherwise count as steps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "config.h"
#include "engine.h"
#include "err.h"

static void print_point(void *ctx, const curve_point *p)
{
    if (ctx)
        return;
    printf("step %8ld  lr %.3g  F %.10g  test %.6g  |g| %.3e  online %.6g\n",
           p->step, p->lr, p->train_loss, p->test_loss, p->grad_norm,
           p->online_loss);
}

static char *slurp(const char *path)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 >= cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    if (f != stdin)
        fclose(f);
    if (buf)
        buf[len] = 0;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: run_config CONFIG.json|- [--quiet] [--warm]\n");
        return 2;
    }
    int quiet = 0, warm = 0;
    for (int i = 2; i < argc; i++) {
        quiet |= !strcmp(argv[i], "--quiet");
        warm |= !strcmp(argv[i], "--warm");
    }
    char *text = slurp(argv[1]), err[ERR_LEN] = "";
    if (!text) {
        fprintf(stderr, "run_config: cannot read %s\n", argv[1]);
        return 1;
    }
    run_config cfg;
    if (config_parse_str(text, &cfg, err, sizeof err)) {
        fprintf(stderr, "run_config: %s\n", err);
        free(text);
        return 1;
    }
    free(text);
    run_hooks h = {.ctx = quiet ? &cfg : NULL, .curve = print_point};
    run_hooks silent = {.ctx = &cfg, .curve = print_point};
    run_result r;
    int rc = warm ? engine_run(&cfg, &silent, &r, err, sizeof err) : 0;
    if (rc == 0)
        rc = engine_run(&cfg, &h, &r, err, sizeof err);
    config_free(&cfg);
    if (rc) {
        fprintf(stderr, "run_config: %s\n", err);
        return 1;
    }
    printf("status %s steps %ld converged %d params %ld\n",
           r.status == RUN_DONE ? "done" : "diverged", r.steps, r.converged, r.n_params);
    printf("F %.12g  F_lin* %.12g  gap %.6g  cert %.6g  cert_grad %.6g\n",
           r.train_loss, r.lin_loss, r.gap, r.cert, r.cert_grad);
    printf("test %.6g  lin_test %.6g  |g| %.3e (out %.3e V %.3e theta %.3e)\n",
           r.test_loss, r.lin_test_loss, r.grad_norm, r.grad_out, r.grad_v, r.grad_theta);
    printf("hessian [%.6g, %.6g] res [%.2e, %.2e] iters %d  |w| %.4g |V| %.4g |u*| %.4g sep %d\n",
           r.hess_min, r.hess_max, r.hess_min_res, r.hess_max_res, r.lanczos_iters,
           r.w_norm, r.v_norm, r.u_norm, r.separable);
    static const char *const cls[] = {"minimum", "saddle", "flat"};
    printf("trace %.6g (se %.2g)  neg est %.3g exact %ld  class %s (tol %.2g)"
           "  path barrier %.6g over %d points\n",
           r.hess_trace, r.hess_trace_se, r.hess_neg_est,
           r.hess_neg_exact,
           r.point_class >= 0 ? cls[r.point_class] : "-", r.class_tol,
           r.path_barrier, r.path.points);
    printf("regret lhs %.6g lin %.6g dist %.3g grad %.3g bound %.6g\n",
           r.regret_lhs, r.regret_lin, r.regret_dist, r.regret_grad, r.regret_bound);
    printf("time train %.3fs analysis %.3fs total %.3fs (%.3g s/step)\n",
           r.train_s, r.analysis_s, r.total_s, r.steps ? r.train_s / r.steps : 0);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double data_mib = ((double)r.n + r.n_test) * (r.d + 1) * sizeof(double) / 1048576.0;
    printf("peak RSS %.1f MiB; data set %.1f MiB; beyond it %.1f MiB\n",
           ru.ru_maxrss / 1024.0, data_mib, ru.ru_maxrss / 1024.0 - data_mib);
    return 0;
}
