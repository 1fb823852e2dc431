/* workers.c — `resweep workers`: the daemon's threads and the remote
 * workers registered with it (docs/protocol.md, "Workers"). */
#include <stdio.h>

#include <cjson/cJSON.h>

#include "cli.h"

static void print_worker(const cJSON *w)
{
    char heard[32], runs[96] = "-";
    cli_fmt_duration(cli_num(w, "last_heard_s"), heard, sizeof heard);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(w, "runs"), *it;
    size_t off = 0;
    cJSON_ArrayForEach(it, arr) {
        int n = snprintf(runs + off, sizeof runs - off, "%s%.0f",
                         off ? "," : "", it->valuedouble);
        if (n < 0 || (size_t)n >= sizeof runs - off) {
            snprintf(runs + sizeof runs - 4, 4, "...");
            break;
        }
        off += (size_t)n;
    }
    printf("%6ld  %-24.24s  %7ld  %7ld  %-9s  %8ld  %-7s  %s\n",
           cli_lnum(w, "worker"), cli_str(w, "host"), cli_lnum(w, "pid"),
           cli_lnum(w, "threads"),
           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(w, "connected"))
               ? "connected" : "lost",
           cli_lnum(w, "finished"), heard, runs);
}

int cmd_workers(cli_opts *o, int argc, char **argv)
{
    cJSON *r = NULL;
    int rc = cli_call_once(o, cli_build_plain, "workers", CLI_TIMEOUT_MS, &r);
    if (rc != CLI_OK)
        return rc;
    if (o->json) {
        cli_print_json(r);
        cJSON_Delete(r);
        return CLI_OK;
    }
    const cJSON *ws = cJSON_GetObjectItemCaseSensitive(r, "workers"), *w;
    printf("daemon threads: %ld; remote workers: %d\n", cli_lnum(r, "threads"),
           cJSON_GetArraySize(ws));
    if (cJSON_GetArraySize(ws) > 0)
        printf("%6s  %-24s  %7s  %7s  %-9s  %8s  %-7s  %s\n", "WORKER", "HOST",
               "PID", "THREADS", "STATE", "FINISHED", "HEARD", "RUNS");
    cJSON_ArrayForEach(w, ws)
        print_worker(w);
    cJSON_Delete(r);
    return CLI_OK;
}
