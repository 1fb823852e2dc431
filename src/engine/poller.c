/* poller.c — see poller.h. */
#include "poller.h"

#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void poller_init(poller *p, const run_hooks *hooks)
{
    *p = (poller){.hooks = hooks && hooks->poll ? hooks : NULL};
    p->next_s = now_s() + POLLER_INTERVAL_S;
}

int poller__due(poller *p)
{
    p->work = 0;
    if (!p->hooks)
        return 0;
    double t = now_s();
    if (t < p->next_s)
        return 0;
    p->next_s = t + POLLER_INTERVAL_S;
    switch (p->hooks->poll(p->hooks->ctx)) {
    case RUN_CANCEL: p->code = ENGINE_ECANCELED; break;
    case RUN_SUSPEND: p->code = ENGINE_ESUSPENDED; break;
    case RUN_CONTINUE: break;
    }
    return p->code;
}

int poller_code(const poller *p)
{
    return p ? p->code : 0;
}

bool poller_interrupt(void *ctx)
{
    return poller_tick(ctx, POLLER_CLOCK_UNITS) != 0;
}
