/* config.c — run configuration: defaults, names, JSON parsing and
 * canonical form (see config.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

static const char *const source_names[] = {"synthetic", "csv", "inline"};
static const char *const dist_names[] = {"gaussian", "uniform", "sphere",
                                         "rademacher", "student_t", "mixture"};
static const char *const target_names[] = {"linear", "teacher_mlp",
                                           "teacher_resnet", "quadratic",
                                           "parity", "sine"};
static const char *const arch_names[] = {"linear", "resnet", "plain",
                                         "decoupled", "deep_resnet"};
static const char *const activation_names[] = {"relu", "tanh", "softplus",
                                               "leaky_relu", "gelu"};
static const char *const init_names[] = {"he", "xavier"};
static const char *const loss_names[] = {"squared", "logistic", "logcosh",
                                         "softplus_hinge"};
static const char *const optimizer_names[] = {"gd", "sgd"};
static const char *const schedule_names[] = {"constant", "inv_sqrt", "step"};

#define NAME_OF(table, v)                                                  \
    ((unsigned)(v) < sizeof table / sizeof table[0] ? table[v] : "?")

const char *config_source_name(enum data_source v) { return NAME_OF(source_names, v); }
const char *config_dist_name(enum data_dist v) { return NAME_OF(dist_names, v); }
const char *config_target_name(enum data_target v) { return NAME_OF(target_names, v); }
const char *config_arch_name(enum arch v) { return NAME_OF(arch_names, v); }
const char *config_activation_name(enum activation v) { return NAME_OF(activation_names, v); }
const char *config_init_name(enum init_kind v) { return NAME_OF(init_names, v); }
const char *config_loss_name(enum loss_kind v) { return NAME_OF(loss_names, v); }
const char *config_optimizer_name(enum optimizer v) { return NAME_OF(optimizer_names, v); }
const char *config_schedule_name(enum schedule v) { return NAME_OF(schedule_names, v); }

bool config_is_classification(enum loss_kind loss)
{
    return loss == LOSS_LOGISTIC || loss == LOSS_SOFTPLUS_HINGE;
}

void config_defaults(run_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 0;
    cfg->data = (data_config){
        .source = DATA_SYNTHETIC, .dist = DIST_GAUSSIAN, .d = 10, .n = 500,
        .n_test = 500, .cond = 1, .nu = 3, .components = 3,
        .target = TARGET_TEACHER_MLP, .teacher_width = 8, .parity_k = 2,
        .noise = 0.1, .flip = 0, .intercept = false, .stream = false,
        .test_fraction = 0.2,
    };
    cfg->model = (model_config){
        .arch = ARCH_RESNET, .blocks = 1, .unit_depth = 2, .width = 16,
        .activation = ACT_RELU, .init = INIT_HE, .gain = 1,
        .init_scale = 0.01,
    };
    cfg->loss = LOSS_SQUARED;
    cfg->train = (train_config){
        .optimizer = OPT_GD, .lr = 0.05, .theta_lr = -1,
        .schedule = SCHED_CONSTANT, .gamma = 0.1, .step_every = 0,
        .steps = 2000, .batch = 32, .tol = 1e-8, .curve_points = 100,
    };
    cfg->analysis = (analysis_config){.hessian = true, .lanczos_iters = 60};
}

void config_free(run_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->data.path);
    free(cfg->data.target_column);
    free(cfg->data.x);
    free(cfg->data.y);
    free(cfg->data.x_test);
    free(cfg->data.y_test);
    cfg->data.path = cfg->data.target_column = NULL;
    cfg->data.x = cfg->data.y = cfg->data.x_test = cfg->data.y_test = NULL;
}
