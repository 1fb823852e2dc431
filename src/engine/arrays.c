/* arrays.c — a run's kept arrays as a value (engine.h, run_arrays). */
#include "engine.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t run_array_count(const run_array *a)
{
    size_t n = 1;
    for (int k = 0; k < a->ndim; k++)
        n *= (size_t)a->shape[k];
    return n;
}

/* One block, the struct first and the values after it, so that the copy
 * has a single owner and a single free(). */
run_arrays *run_arrays_copy(const run_arrays *src)
{
    size_t total = 0;
    for (int i = 0; i < src->n; i++)
        total += run_array_count(&src->a[i]);
    if (total > (SIZE_MAX - sizeof(run_arrays)) / sizeof(double))
        return NULL;
    run_arrays *c = malloc(sizeof *c + total * sizeof(double));
    if (!c)
        return NULL;
    *c = *src;
    double *p = (double *)(c + 1);
    for (int i = 0; i < c->n; i++) {
        size_t n = run_array_count(&c->a[i]);
        if (n)
            memcpy(p, src->a[i].data, n * sizeof *p);
        c->a[i].data = p;
        p += n;
    }
    return c;
}

const run_array *run_arrays_find(const run_arrays *as, const char *name)
{
    for (int i = 0; as && i < as->n; i++)
        if (strcmp(as->a[i].name, name) == 0)
            return &as->a[i];
    return NULL;
}

/* Byte k of a little-endian double is byte k (little-endian host) or
 * 7 - k (big-endian) of its memory. */
static bool host_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

bool run_array_host_le(void)
{
    return host_little_endian();
}

void run_array_to_le(const double *src, size_t n, unsigned char *dst)
{
    if (host_little_endian()) {
        memcpy(dst, src, n * sizeof *src);
        return;
    }
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 8; k++)
            dst[8 * i + k] = ((const unsigned char *)&src[i])[7 - k];
}

void run_array_from_le(const unsigned char *src, size_t n, double *dst)
{
    if (host_little_endian()) {
        memcpy(dst, src, n * sizeof *dst);
        return;
    }
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 8; k++)
            ((unsigned char *)&dst[i])[k] = src[8 * i + 7 - k];
}
