/* peak_alloc.h — tracks the bytes a program holds in malloc and their
 * high-water mark, for the test that a run's memory estimate bounds what
 * the run really takes. Include it in exactly one file of a test program:
 * it replaces malloc and its relatives (glibc allows it and forwards to
 * __libc_*; libraries loaded later, OpenBLAS included, call these too).
 * A block counts as malloc_usable_size says, at least what was asked.
 * Sanitizers bring their own allocator, so under them PEAK_ALLOCS is 0
 * and the tests that need it skip. */
#ifndef RESWEEP_PEAK_ALLOC_H
#define RESWEEP_PEAK_ALLOC_H

#include <malloc.h>
#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PEAK_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PEAK_ALLOCS 0
#endif
#endif
#ifndef PEAK_ALLOCS
#define PEAK_ALLOCS 1
#endif

static size_t peak_live, peak_high;

/* Restarts the high-water mark at what is held now; returns that. */
static inline size_t peak_reset(void)
{
    size_t now = __atomic_load_n(&peak_live, __ATOMIC_SEQ_CST);
    __atomic_store_n(&peak_high, now, __ATOMIC_SEQ_CST);
    return now;
}

static inline size_t peak_get(void)
{
    return __atomic_load_n(&peak_high, __ATOMIC_SEQ_CST);
}

#if PEAK_ALLOCS
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static void peak_add(void *p)
{
    if (!p)
        return;
    size_t now = __atomic_add_fetch(&peak_live, malloc_usable_size(p), __ATOMIC_SEQ_CST);
    size_t high = __atomic_load_n(&peak_high, __ATOMIC_SEQ_CST);
    while (now > high &&
           !__atomic_compare_exchange_n(&peak_high, &high, now, false,
                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        ;
}

static void peak_sub(void *p)
{
    if (p)
        __atomic_sub_fetch(&peak_live, malloc_usable_size(p), __ATOMIC_SEQ_CST);
}

void *malloc(size_t n)
{
    void *p = __libc_malloc(n);
    peak_add(p);
    return p;
}

void *calloc(size_t n, size_t m)
{
    void *p = __libc_calloc(n, m);
    peak_add(p);
    return p;
}

/* The old block is counted out before the call: when realloc moves it,
 * both are held for a moment inside libc, which no counter sees. */
void *realloc(void *p, size_t n)
{
    size_t old = p ? malloc_usable_size(p) : 0;
    void *q = __libc_realloc(p, n);
    if (q || n == 0)
        __atomic_sub_fetch(&peak_live, old, __ATOMIC_SEQ_CST);
    peak_add(q);
    return q;
}

void free(void *p)
{
    peak_sub(p);
    __libc_free(p);
}

void *memalign(size_t align, size_t n)
{
    void *p = __libc_memalign(align, n);
    peak_add(p);
    return p;
}

void *aligned_alloc(size_t align, size_t n)
{
    return memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    void *p = memalign(align, n);
    if (!p)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}
#endif

#endif
