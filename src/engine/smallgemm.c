/* smallgemm.c — small products through LIBXSMM (why and which: see
 * smallgemm.h). */
#include "smallgemm.h"

#include <libxsmm.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool enabled;

static void start(void)
{
    const char *e = getenv("RESWEEP_SMALLGEMM");
    enabled = !(e && strcmp(e, "off") == 0);
    libxsmm_init();
}

void smallgemm_init(void) { pthread_once(&once, start); }

bool smallgemm_enabled(void)
{
    smallgemm_init();
    return enabled;
}

const char *smallgemm_target(void)
{
    smallgemm_init();
    return libxsmm_get_target_arch();
}

/* LIBXSMM's generated kernels end without VZEROUPPER; the upper halves
 * of the vector registers they leave dirty make every later SSE
 * instruction (libm's exp, tanh, erfc in the activations) wait on them.
 * Measured: tests/engine/test_noalloc (smooth activations) took 118 s
 * with LIBXSMM and 30 s without before this, 15 s after. Only reached
 * after a kernel ran, so the CPU has AVX. */
__attribute__((target("avx"))) static void clean_upper(void)
{
    __builtin_ia32_vzeroupper();
}

static bool ran(bool done)
{
    if (done)
        clean_upper();
    return done;
}

#define SG_REAL double
#define SG_NAME(x) x
#define SG_MMFUNCTION libxsmm_dmmfunction
#define SG_MMDISPATCH libxsmm_dmmdispatch
#include "smallgemm_typed.inc"

#define SG_REAL float
#define SG_NAME(x) x##_f32
#define SG_MMFUNCTION libxsmm_smmfunction
#define SG_MMDISPATCH libxsmm_smmdispatch
#include "smallgemm_typed.inc"
