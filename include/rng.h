/* rng.h — reproducible random streams (docs/theory.md §2: "every random draw comes
 * from a generator seeded by the run's seed").
 *
 * A run owns several independent streams, one per purpose, each derived
 * from (run seed, stream id) by hashing, so that adding draws to one purpose
 * never shifts another (changing n does not change the teacher, changing
 * the initialisation does not change the data). The generator is
 * xoshiro256** seeded through splitmix64; its whole state is four words, so
 * a checkpoint can save and restore it exactly. Only IEEE arithmetic and
 * libm are used, so the same seed gives the same numbers on any thread.
 *
 * rng is a small value struct: copy it, store it, no allocation.
 */
#ifndef RESWEEP_RNG_H
#define RESWEEP_RNG_H

#include <stdint.h>

enum rng_stream {
    RNG_TEACHER = 1,   /* target function parameters, mixture means */
    RNG_TRAIN   = 2,   /* training inputs, noise, label flips */
    RNG_TEST    = 3,   /* test inputs, noise, label flips */
    RNG_INIT    = 4,   /* network initialisation */
    RNG_BATCH   = 5,   /* SGD sample indices */
    RNG_STREAM  = 6,   /* fresh samples in stream mode */
    RNG_ANALYSIS = 7,  /* Lanczos start vectors, random probes */
    RNG_SPLIT   = 8,   /* train/test split of user data */
    RNG_SLICE   = 9    /* the slice's two directions */
};

typedef struct rng {
    uint64_t s[4];
} rng;

/* Seeds r for stream `stream` of the run seeded `seed`. */
void rng_init(rng *r, uint64_t seed, uint64_t stream);

uint64_t rng_u64(rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double rng_uniform(rng *r);
/* Uniform integer in [0, n), unbiased; n >= 1. */
uint64_t rng_below(rng *r, uint64_t n);
/* Standard normal (Box–Muller without caching, so the state alone is the
 * whole generator and a checkpoint needs nothing else). */
double rng_normal(rng *r);
/* Gamma(shape, 1), shape > 0 (Marsaglia–Tsang; for shape < 1 the boost
 * Gamma(shape + 1) * U^(1/shape), which underflows to exactly 0 with
 * probability about exp(-708 * shape): only tiny shapes see it). NAN for a
 * shape that is not a positive finite number. */
double rng_gamma(rng *r, double shape);
/* +1 or -1 with probability 1/2. */
double rng_sign(rng *r);

#endif
