/* extend.c — resweep extend JOB --seeds K | --spec FILE: runs added to a
 * job that exists (issue 11; the daemon's extend operation). */
#include <stdio.h>

#include <cjson/cJSON.h>

#include "cli.h"

typedef struct extend_args {
    long long job;
    long seeds;
    cJSON *spec;                /* moved into the request */
} extend_args;

static cJSON *build_extend(session *s, void *ctx)
{
    extend_args *a = ctx;
    cJSON *r = cli_req_new(s, "extend");
    cJSON_AddNumberToObject(r, "job", (double)a->job);
    if (a->spec)
        cJSON_AddItemToObject(r, "spec", a->spec);
    else
        cJSON_AddNumberToObject(r, "seeds", (double)a->seeds);
    a->spec = NULL;
    return r;
}

int cmd_extend(cli_opts *o, int argc, char **argv)
{
    extend_args a = {cli_job_arg(argv[0]), o->seeds, NULL};
    if (a.job < 0)
        return CLI_USAGE;
    if ((o->seeds > 0) == (o->spec_file != NULL))
        return cli_fail(CLI_USAGE, "extend: give --seeds K or --spec FILE, "
                                   "one of them");
    if (o->spec_file && (!(a.spec = cli_spec_read(o->spec_file)) ||
                         cli_spec_absolute_paths(a.spec) != CLI_OK)) {
        cJSON_Delete(a.spec);
        return CLI_ERROR;
    }
    cJSON *r = NULL;
    /* Expanding and storing the runs takes as long as a submission. */
    int rc = cli_call_once(o, build_extend, &a, CLI_SUBMIT_TIMEOUT_MS, &r);
    cJSON_Delete(a.spec);
    if (rc != CLI_OK)
        return rc;
    if (o->json)
        cli_print_json(r);
    else
        printf("job %ld extended: %ld runs added, %ld already there; %ld "
               "runs in all\n", cli_lnum(r, "job"), cli_lnum(r, "added"),
               cli_lnum(r, "existing"), cli_lnum(r, "total"));
    cJSON_Delete(r);
    return CLI_OK;
}
