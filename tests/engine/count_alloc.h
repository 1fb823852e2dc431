/* count_alloc.h — counts malloc, calloc and realloc calls while
 * `counting` is set, for the tests that a training step and a data draw
 * do not allocate. Include it in exactly one file of a test program: it
 * replaces those functions for the program (glibc allows it, and provides
 * __libc_* to forward to). Sanitizers bring their own allocator, so under
 * them COUNT_ALLOCS is 0 and the tests skip the count. */
#ifndef RESWEEP_COUNT_ALLOC_H
#define RESWEEP_COUNT_ALLOC_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define COUNT_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define COUNT_ALLOCS 0
#endif
#endif
#ifndef COUNT_ALLOCS
#define COUNT_ALLOCS 1
#endif

static volatile int counting, alloc_calls;

#if COUNT_ALLOCS
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

void *malloc(size_t n)
{
    if (counting)
        alloc_calls++;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
    if (counting)
        alloc_calls++;
    return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
    if (counting)
        alloc_calls++;
    return __libc_realloc(p, n);
}

void free(void *p) { __libc_free(p); }
#endif

#endif
