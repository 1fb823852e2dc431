/* pairs.h — the seed pairs' thread: the segment between the end points of
 * two done runs of a job that differ only in model.init_seed
 * (docs/theory.md §6.9; store.h, "Seed pairs"), computed off the loop and
 * off the store thread.
 *
 * One thread. It is told of every run the store thread has committed done
 * with its parameters kept (writer_on_done: local threads and remote
 * workers alike), finds that run's pairs without a row through its own read-only
 * connection, reads both runs' configuration and kept parameters, makes
 * the data again and walks the segment (engine_pair_segment), and hands
 * the result to the store thread (writer_pair), the database's one
 * writer. At its start it looks for every pair of done runs without a
 * row, so a pair the daemon did not store before it died (kill -9) is
 * computed at the next start. A pair that cannot be computed (a CSV file
 * changed or gone, parameters missing) stores nothing and logs a sentence
 * naming both runs; nothing of it reaches the daemon's other threads. A
 * pair is tried once per session.
 *
 * Its work is not metered by --memory-limit: a pair holds the data, the
 * model's workspace and three vectors of n_params doubles, what one of
 * its runs held less the Hessian's workspace.
 */
#ifndef RESWEEP_PAIRS_H
#define RESWEEP_PAIRS_H

#include <stddef.h>
#include <stdint.h>

#include "writer.h"

/* Kicks waiting beyond this collapse into one scan of every job. */
#define PAIRS_MAX_KICKS 65536

typedef struct pairs pairs;

/* Starts the thread on db_path (copied; the database exists: store_open
 * made it); w is borrowed and must outlive pairs_stop. It registers
 * itself as w's writer_on_done, so call it before writer_start. */
int pairs_new(const char *db_path, writer *w, pairs **out, char *err,
              size_t errlen);


/* Stops the thread: a computation in progress is abandoned within the
 * engine's poll interval (its pair has no row: the next start computes
 * it), and the thread is joined. Before writer_stop, so that nothing is
 * posted to a stopped writer; kicks after it are ignored. */
void pairs_stop(pairs *p);

/* After pairs_stop and after the writer (which may still kick) is gone. */
void pairs_free(pairs *p);

/* Pairs handed to the store thread, and pairs that failed, so far. */
typedef struct pairs_stats {
    long posted, failed;
} pairs_stats;
void pairs_get_stats(pairs *p, pairs_stats *out);

#endif
