/* fmt.c — reading the daemon's JSON replies and formatting numbers,
 * durations and times for people (cli.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli.h"

void cli_print_json(const cJSON *j)
{
    char *text = cJSON_PrintUnformatted(j);
    if (text)
        puts(text);
    free(text);
}

double cli_num(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(it) ? it->valuedouble : NAN;
}

long cli_lnum(const cJSON *o, const char *key)
{
    double v = cli_num(o, key);
    return isnan(v) ? 0 : (long)v;
}

const char *cli_str(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(it) ? it->valuestring : "";
}

void cli_fmt_duration(double s, char *buf, size_t len)
{
    if (isnan(s) || s < 0 || s > 1e8) {
        snprintf(buf, len, "--:--");
        return;
    }
    long t = lround(s);
    if (t >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

void cli_fmt_rate(double r, char *buf, size_t len)
{
    if (isnan(r))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.1f", r);
}

void cli_fmt_bytes(double b, char *buf, size_t len)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
    if (isnan(b)) {
        snprintf(buf, len, "-");
        return;
    }
    int u = 0;
    while (b >= 1024 && u < 5) {
        b /= 1024;
        u++;
    }
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

void cli_fmt_time(double unix_s, char *buf, size_t len)
{
    if (isnan(unix_s)) {
        snprintf(buf, len, "-");
        return;
    }
    time_t t = (time_t)unix_s;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* The exit code of an ended job (cli.h). */
int cli_job_exit_code(const cJSON *job)
{
    if (strcmp(cli_str(job, "state"), "paused") == 0)
        return CLI_PAUSED;
    if (cli_lnum(job, "failed") > 0)
        return CLI_FAILED_RUNS;
    if (cli_lnum(job, "canceled") > 0)
        return CLI_CANCELED;
    if (cli_lnum(job, "diverged") > 0)
        return CLI_DIVERGED_RUNS;
    return CLI_OK;
}

void cli_diverged_hint(FILE *f, const cJSON *job)
{
    long n = cli_lnum(job, "diverged");
    if (n <= 0)
        return;
    fprintf(f,
            "%ld run%s diverged (the loss or the parameters stopped being "
            "finite): a smaller train.lr, a smaller model.init_scale, or "
            "features on a common scale (data.standardize \"features\", or "
            "\"features_and_target\" for a regression) usually help; "
            "`resweep runs %ld` shows which\n",
            n, n == 1 ? "" : "s", cli_lnum(job, "job"));
}
