/* memtune.c — malloc settings for processes that execute runs (memtune.h). */
#include "memtune.h"

#include <malloc.h>

void memtune_for_runs(void)
{
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
}
