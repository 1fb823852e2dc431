/* run_state.c — the names of run states, as the schema's CHECK spells
 * them (run_state.h), and a job's state from its runs'. */
#include "run_state.h"

#include <errno.h>
#include <string.h>

static const char *const state_names[RUN_STATES] = {
    [RUN_QUEUED] = "queued", [RUN_RUNNING] = "running",
    [RUN_STATE_DONE] = "done", [RUN_FAILED] = "failed",
    [RUN_STATE_DIVERGED] = "diverged", [RUN_CANCELED] = "canceled",
};

const char *run_state_name(enum run_state s)
{
    return (unsigned)s < RUN_STATES ? state_names[s] : "?";
}

int run_state_from_name(const char *name, enum run_state *out)
{
    for (int i = 0; i < RUN_STATES; i++)
        if (strcmp(name, state_names[i]) == 0) {
            *out = (enum run_state)i;
            return 0;
        }
    return -EINVAL;
}


const char *run_state_job(const long by_state[RUN_STATES], bool paused)
{
    const long *b = by_state;
    long active = b[RUN_QUEUED] + b[RUN_RUNNING];
    long ended = b[RUN_STATE_DONE] + b[RUN_FAILED] + b[RUN_STATE_DIVERGED] +
                 b[RUN_CANCELED];
    if (active > 0 && paused)
        return "paused";
    if (active > 0)
        return b[RUN_RUNNING] > 0 || ended > 0 ? "running" : "queued";
    if (b[RUN_CANCELED] > 0)
        return "canceled";
    return b[RUN_FAILED] > 0 ? "failed" : "done";
}
