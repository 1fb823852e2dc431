/* memtune.h — malloc settings for a process that executes runs (resweepd,
 * resweep-worker).
 *
 * Every run allocates its workspace and data and frees them at its end,
 * thousands of times an hour. With glibc's defaults, blocks above the
 * (adaptive) mmap threshold come from fresh mappings and freed memory is
 * trimmed back to the kernel, so each run re-faults and re-zeroes its
 * pages: measured, that halved a sweep of tiny runs (7,100 against 12,900
 * runs/min on 2 workers). Keeping freed memory mapped makes resident
 * memory the high-water mark of one run per worker, which stays flat.
 */
#ifndef RESWEEP_MEMTUNE_H
#define RESWEEP_MEMTUNE_H

/* Call first thing in main, before any thread starts. */
void memtune_for_runs(void);

#endif
