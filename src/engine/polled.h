/* polled.h — passes over long vectors that tick the run's poller every
 * POLLED_BLOCK entries (issue 9 §4: a pass over 1.7e7 entries is 15 ms,
 * 60 ms where it first touches the pages), shared by lanczos.c and
 * spectrum.c. The blocks do not change the order of any sum. */
#ifndef RESWEEP_POLLED_H
#define RESWEEP_POLLED_H

#include <math.h>
#include <stddef.h>

#include "poller.h"

#define POLLED_BLOCK 4096

/* The end of the block that starts at i0, of a vector of n. */
static inline size_t polled_block_end(size_t i0, size_t n)
{
    return n - i0 < POLLED_BLOCK ? n : i0 + POLLED_BLOCK;
}

/* a . b; NAN when the poller says stop (the caller returns
 * poller_code()). */
static inline double polled_dot(const double *a, const double *b, size_t n,
                                poller *pl)
{
    double s = 0;
    for (size_t i0 = 0; i0 < n; i0 += POLLED_BLOCK) {
        size_t end = polled_block_end(i0, n);
        for (size_t i = i0; i < end; i++)
            s += a[i] * b[i];
        if (poller_tick(pl, end - i0))
            return NAN;
    }
    return s;
}

#endif
