/* run_state.h — the life of a run (docs/theory.md §8): queued -> running ->
 * done | failed | diverged | canceled, and back to queued when a run is
 * suspended or retried. The store keeps it, the daemon moves it, a worker
 * reports the end of one; all three name states through this header.
 */
#ifndef RESWEEP_RUN_STATE_H
#define RESWEEP_RUN_STATE_H

#include <stdbool.h>

enum run_state {
    RUN_QUEUED, RUN_RUNNING, RUN_STATE_DONE, RUN_FAILED, RUN_STATE_DIVERGED,
    RUN_CANCELED, RUN_STATES
};

/* "queued", "running", ...; "?" out of range. */
const char *run_state_name(enum run_state s);
/* "queued" -> RUN_QUEUED...; -EINVAL for an unknown name. */
int run_state_from_name(const char *name, enum run_state *out);

/* A job's state from how many of its runs are in each state and whether
 * it is paused: "paused" while it has queued or running runs and is
 * paused (its running runs are suspending), "queued" before any of them
 * started or ended, "running" while some are left, then "canceled" if
 * any was, else "failed" if any failed, else "done" (diverged runs are
 * reported by their count, not by the state). The daemon's replies and
 * the CLI's reading of the database with no daemon both name it so. */
const char *run_state_job(const long by_state[RUN_STATES], bool paused);

#endif
