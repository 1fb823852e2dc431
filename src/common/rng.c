/* rng.c — reproducible random streams (see rng.h; docs/theory.md §2).
 *
 * xoshiro256** (Blackman & Vigna, 2018) seeded through splitmix64. The
 * splitmix64 starting point is a hash of (seed, stream): two bijective
 * 64-bit finalisers around an odd multiple of the stream id, so that for a
 * fixed seed every stream id gives a different start, and for a fixed
 * stream every seed does. Everything below is integer arithmetic, IEEE
 * double operations and libm's log/cos/sqrt/pow, so a given seed gives the
 * same numbers on any thread of any machine with the same libm.
 */
#include "rng.h"

#include <math.h>

/* The splitmix64 increment (2^64 / golden ratio) and its finaliser. */
#define SPLITMIX_GAMMA 0x9E3779B97F4A7C15ull

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t splitmix64(uint64_t *x)
{
    *x += SPLITMIX_GAMMA;
    return mix64(*x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void rng_init(rng *r, uint64_t seed, uint64_t stream)
{
    /* mix64 is a bijection, so seed -> start and stream -> start are both
     * injective; the constants only keep (0, 0) away from a zero start. */
    uint64_t x = mix64(mix64(seed ^ 0x5DEECE66Dull) ^
                       (stream * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull));
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    /* An all-zero state is xoshiro's only fixed point; four consecutive
     * splitmix64 outputs are never all zero, but keep the invariant explicit. */
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = SPLITMIX_GAMMA;
}

uint64_t rng_u64(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rng_uniform(rng *r)
{
    /* The top 53 bits, scaled: every multiple of 2^-53 in [0, 1). */
    return (double)(rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t rng_below(rng *r, uint64_t n)
{
    if (n <= 1)
        return 0;
    /* Rejection: accept x only in the top floor(2^64 / n) * n values of
     * [0, 2^64), where x % n is exactly uniform. (0 - n) % n is
     * 2^64 mod n; at most half of the draws are ever rejected. */
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = rng_u64(r);
        if (x >= threshold)
            return x % n;
    }
}

double rng_normal(rng *r)
{
    /* Box–Muller, cosine branch only: caching the sine branch would make
     * the generator's state more than its four words. u1 in (0, 1] keeps
     * the logarithm finite. */
    double u1 = 1.0 - rng_uniform(r);
    double u2 = rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Marsaglia & Tsang (2000), "A simple method for generating gamma
 * variables", for shape >= 1. */
static double gamma_mt(rng *r, double shape)
{
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = rng_normal(r);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = 1.0 - rng_uniform(r); /* (0, 1]: log(u) finite */
        double x2 = x * x;
        if (u < 1.0 - 0.0331 * x2 * x2)
            return d * v;
        if (log(u) < 0.5 * x2 + d * (1.0 - v + log(v)))
            return d * v;
    }
}

double rng_gamma(rng *r, double shape)
{
    if (!(shape > 0) || !isfinite(shape))
        return NAN;
    if (shape >= 1.0)
        return gamma_mt(r, shape);
    /* Boost: if G ~ Gamma(a + 1) and U ~ U(0, 1], G U^(1/a) ~ Gamma(a).
     * For very small a the product can underflow to 0 (see rng.h). */
    double g = gamma_mt(r, shape + 1.0);
    double u = 1.0 - rng_uniform(r);
    return g * pow(u, 1.0 / shape);
}

double rng_sign(rng *r)
{
    return (rng_u64(r) >> 63) ? 1.0 : -1.0;
}
