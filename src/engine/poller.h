/* poller.h — how the long computations outside the training loop notice a
 * cancel or a suspend: data generation, CSV reading, the linear baseline
 * and the end-point analysis (issue 9 §4). engine.h promises that the poll
 * hook is asked at least every 100 ms of work, in every phase.
 *
 * A phase ticks the poller with the work it has just done, counted in
 * units of about a nanosecond or more: a multiply-add, a random draw, a
 * CSV cell. A tick is an addition and a compare; only every
 * POLLER_CLOCK_UNITS units is the clock read, and the hook is asked at
 * most every POLLER_INTERVAL_S (it takes the scheduler's lock in the
 * daemon). The first answer that is not RUN_CONTINUE is kept and turned
 * into ENGINE_ECANCELED or ENGINE_ESUSPENDED: every later tick returns it
 * at once, so a phase stops by returning the tick's code through its
 * callers, and a caller that cannot return a code (a void helper, the
 * model's interrupt hook) leaves it for the next tick to find.
 *
 * A cancel therefore takes effect within POLLER_INTERVAL_S plus the
 * longest stretch of work between two ticks. Callers keep those stretches
 * to a few milliseconds: a BLAS call gets at most POLLER_CALL_UNITS
 * multiply-adds (split larger ones), and a loop ticks at least once per
 * row. What cannot be split — a LAPACK factorisation — is listed in the
 * README's reliability section with its measured length.
 *
 * A NULL poller never stops, so code outside a run (tests, benchmarks)
 * passes NULL. One poller belongs to one run: it is not thread-safe.
 */
#ifndef RESWEEP_POLLER_H
#define RESWEEP_POLLER_H

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"

#define POLLER_CLOCK_UNITS (1u << 15)   /* units between two clock reads */
#define POLLER_INTERVAL_S  0.010        /* the hook at most this often */
#define POLLER_CALL_UNITS  (1u << 25)   /* multiply-adds per BLAS call, ~2-10 ms */

typedef struct poller {
    const run_hooks *hooks;  /* borrowed; NULL or no poll hook: never stops */
    int code;                /* 0, or the kept ENGINE_ECANCELED/ESUSPENDED */
    uint64_t work;           /* units since the clock was last read */
    double next_s;           /* monotonic time the hook may next be asked */
} poller;

void poller_init(poller *p, const run_hooks *hooks);

/* The clock and maybe the hook: poller_tick's slow path. */
int poller__due(poller *p);

/* `units` more units of work are done. Returns 0 to go on, or the kept
 * ENGINE_ECANCELED / ENGINE_ESUSPENDED. p may be NULL. */
static inline int poller_tick(poller *p, uint64_t units)
{
    if (!p)
        return 0;
    if (p->code)
        return p->code;
    p->work += units;
    return p->work < POLLER_CLOCK_UNITS ? 0 : poller__due(p);
}

/* The kept code (0 while the hook has said only RUN_CONTINUE). */
int poller_code(const poller *p);

/* For model_set_interrupt: a chunk of an evaluation is done (a clock read
 * at least); true when the run should stop. ctx is the poller. */
bool poller_interrupt(void *ctx);

#endif
