/* spec_paths.c — a spec's file paths made absolute before it is sent
 * (cli.h). The daemon runs in its own working directory, usually not the
 * user's: "data/train.csv" must mean the file next to the user, as it
 * does for every other command they type. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

/* Replaces the string item by cwd/its value when it is relative. */
static int absolutize(cJSON *item, const char *cwd)
{
    if (!cJSON_IsString(item) || !item->valuestring[0] ||
        item->valuestring[0] == '/')
        return 0;
    size_t n = strlen(cwd) + strlen(item->valuestring) + 2;
    char *abs = malloc(n);
    if (!abs)
        return -1;
    snprintf(abs, n, "%s/%s", cwd, item->valuestring);
    cJSON_SetValuestring(item, abs);
    free(abs);
    return 0;
}

int cli_spec_absolute_paths(cJSON *spec)
{
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return cli_fail(CLI_ERROR,
                        "cannot tell the current directory to resolve "
                        "data.path against: %s",
                        strerror(errno));
    const cJSON *base = cJSON_GetObjectItemCaseSensitive(spec, "base");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(base, "data");
    int rc = absolutize(cJSON_GetObjectItemCaseSensitive(data, "path"), cwd);
    static const char *const sweeps[] = {"grid", "zip"};
    for (size_t s = 0; s < 2 && rc == 0; s++) {
        const cJSON *sw = cJSON_GetObjectItemCaseSensitive(spec, sweeps[s]);
        const cJSON *vals = cJSON_GetObjectItemCaseSensitive(sw, "data.path");
        const cJSON *v;
        cJSON_ArrayForEach(v, vals)
        {
            if ((rc = absolutize((cJSON *)v, cwd)) < 0)
                break;
        }
    }
    if (rc < 0)
        return cli_fail(CLI_ERROR, "out of memory");
    return CLI_OK;
}
