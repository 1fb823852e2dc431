/* run_state.c — the names of run states, as the schema's CHECK spells
 * them (run_state.h). */
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

