/* memlimit.h — the daemon's memory budget (issue 9, "Memory admission"):
 * the --memory-limit option, the machine's memory it defaults to a share
 * of, and sizes written as people read them.
 *
 * The scheduler admits runs by their estimates (engine_estimate_bytes)
 * against this budget, and a submission is refused when one of its runs
 * alone exceeds it (scheduler.h, jobops.c).
 */
#ifndef RESWEEP_MEMLIMIT_H
#define RESWEEP_MEMLIMIT_H

#include <stddef.h>
#include <stdint.h>

/* The default budget: this share of the machine's memory. The other half
 * is for what no estimate counts: the daemon itself (its queue, SQLite's
 * cache, connections), memory that malloc keeps mapped after a run frees
 * it (memtune.h), the page cache the database and CSV files
 * live in, and every other program on the machine. */
#define MEMLIMIT_DEFAULT_PERCENT 50
/* The smallest limit accepted: below it no run fits (the estimate of the
 * smallest run is ENGINE_ESTIMATE_BASE_BYTES plus a little). */
#define MEMLIMIT_MIN_BYTES ((uint64_t)16 << 20)

/* The memory this process may use, in bytes: physical memory, or a cgroup
 * limit (v2 memory.max, v1 memory.limit_in_bytes, on the process's cgroup
 * or one above it) where that is lower; 0 when neither can be read.
 * *source (may be NULL) receives "physical memory" or "the cgroup's
 * memory limit". */
uint64_t memlimit_machine(const char **source);

/* Parses --memory-limit's SIZE into *out: "none" or "0" (no limit: 0); a number
 * of bytes; a number with a suffix K, M, G or T, each a power of 1024
 * ("512M", "1.5G", "2GiB" and "2GB" alike); or a percentage of machine
 * ("25%", which needs machine > 0). Returns 0, or -EINVAL with a sentence
 * naming --memory-limit and what was wrong. */
int memlimit_parse(const char *arg, uint64_t machine, uint64_t *out,
                   char *err, size_t errlen);

/* bytes as "7.2 GiB", "512.0 MiB", "900 KiB" or "12 bytes". */
void memlimit_format(uint64_t bytes, char *buf, size_t len);

#endif
