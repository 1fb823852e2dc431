/* submit.c — `resweep submit`: the job specification read, checked as
 * JSON and sent; with --wait, followed to its end (cli.h). */
#include <stdbool.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

/* --- submit ---------------------------------------------------------- */

/* The whole file (or stdin for "-"), at most PROTO_MAX_FRAME bytes. */
static char *read_input(const char *path, size_t *len)
{
    bool in = strcmp(path, "-") == 0;
    FILE *f = in ? stdin : fopen(path, "rb");
    if (in)
        path = "stdin";
    if (!f) {
        cli_fail(CLI_ERROR, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
        if (n == cap) {
            if (cap > PROTO_MAX_FRAME) {
                cli_fail(CLI_ERROR,
                         "%s: larger than %u bytes, the largest request the "
                         "daemon takes",
                         path, PROTO_MAX_FRAME);
                free(buf);
                buf = NULL;
                break;
            }
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    bool bad = ferror(f);
    if (f != stdin)
        fclose(f);
    if (bad && buf) {
        cli_fail(CLI_ERROR, "%s: read error", path);
        free(buf);
        return NULL;
    }
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

/* Line and column of byte offset off. */
static void line_col(const char *text, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* The first byte after the JSON value that is not white space, or NULL. */
static const char *trailing_text(const char *text, size_t len,
                                 const char *end)
{
    for (const char *q = end; q && q < text + len; q++)
        if (*q != ' ' && *q != '\n' && *q != '\r' && *q != '\t')
            return q;
    return NULL;
}

cJSON *cli_spec_read(const char *file)
{
    size_t len = 0;
    char *text = read_input(file, &len);
    const char *path = strcmp(file, "-") == 0 ? "stdin" : file;
    if (!text)
        return NULL;
    if (proto_check_depth(text, len, PROTO_MAX_DEPTH - 2) < 0) {
        cli_fail(CLI_ERROR, "%s: nests more than %d levels deep", path,
                 PROTO_MAX_DEPTH - 2);
        free(text);
        return NULL;
    }
    const char *end = NULL;
    cJSON *spec = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!spec) {
        int line, col;
        line_col(text, end ? (size_t)(end - text) : 0, &line, &col);
        cli_fail(CLI_ERROR, "%s:%d:%d: not valid JSON", path, line, col);
    } else if (!cJSON_IsObject(spec)) {
        cli_fail(CLI_ERROR, "%s: a job specification is a JSON object", path);
        cJSON_Delete(spec);
        spec = NULL;
    } else if (trailing_text(text, len, end)) {
        /* A second object or stray characters would be dropped unseen: a
         * pasted spec that is not the one the user meant. */
        int line, col;
        line_col(text, (size_t)(trailing_text(text, len, end) - text), &line,
                 &col);
        cli_fail(CLI_ERROR,
                 "%s:%d:%d: text after the job specification's JSON object "
                 "(one object per file)",
                 path, line, col);
        cJSON_Delete(spec);
        spec = NULL;
    }
    free(text);
    return spec;
}

int cmd_submit(cli_opts *o, int argc, char **argv)
{
    cJSON *spec = cli_spec_read(argv[0]);
    if (!spec)
        return CLI_ERROR;
    if (cli_spec_absolute_paths(spec) != CLI_OK) {
        cJSON_Delete(spec);
        return CLI_ERROR;
    }
    session s;
    int rc = cli_session_open(o, &s);
    if (rc != CLI_OK) {
        cJSON_Delete(spec);
        return rc;
    }
    cJSON *req = cli_req_new(&s, "submit");
    cJSON_AddItemToObject(req, "spec", spec);
    cJSON *r = NULL;
    rc = cli_call(&s, req, CLI_SUBMIT_TIMEOUT_MS, &r);
    if (rc == CLI_OK) {
        if (o->json)
            cli_print_json(r);
        else
            printf("job %ld%s%s: %ld runs queued\n", cli_lnum(r, "job"),
                   *cli_str(r, "name") ? " " : "", cli_str(r, "name"),
                   cli_lnum(r, "n_runs"));
        if (!o->json && cli_lnum(r, "linear_repeats") > 0)
            printf("note: %ld linear runs repeat another: the linear model "
                   "ignores %s; sweep them for the networks only, e.g. "
                   "\"grid\": {\"model\": [{\"arch\": \"linear\"}, "
                   "{\"arch\": \"resnet\", \"width\": 16}, ...]}\n",
                   cli_lnum(r, "linear_repeats"),
                   cli_str(r, "linear_repeat_keys"));
        fflush(stdout);
        long long job = cli_lnum(r, "job");
        cJSON_Delete(r);
        if (o->wait)
            rc = cli_watch_job(o, &s, job);
    }
    cli_session_close(&s);
    return rc;
}
