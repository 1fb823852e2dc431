/* check.c — what can be known wrong of a run's data before it runs
 * (engine.h, engine_check_data): the daemon asks at submission, so a job
 * whose file cannot work is refused whole instead of failing run by run. */
#include "engine.h"

#include "data.h"

int engine_check_data(const run_config *cfg, char *err, size_t errlen)
{
    return data_check(cfg, ENGINE_CHECK_ROWS, err, errlen);
}
