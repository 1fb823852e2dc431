/* resweep-worker — executes runs for a resweepd on this or another
 * machine (docs/protocol.md, "Workers"; README, "More than one machine").
 *
 * It leases runs over the protocol and executes them with the same pool
 * and engine as the daemon's own threads. On SIGTERM or SIGINT, or at its
 * --time-limit (set under a Slurm walltime), every run checkpoints and
 * goes back to the daemon, and it exits 0: no finished step is lost to
 * the kill that follows.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "engine.h"
#include "err.h"
#include "log.h"
#include "memtune.h"
#include "pool.h"
#include "proto.h"
#include "rhost.h"

static const char usage[] =
    "usage: resweep-worker --connect HOST:PORT|unix:PATH [--token-file F]\n"
    "                      [--threads N] [--idle-exit S] [--time-limit S]\n"
    "                      [--checkpoint-s S] [--log-level L]\n"
    "\n"
    "Executes runs for the resweepd at --connect until stopped.\n"
    "\n"
    "  --connect A      the daemon: HOST:PORT (its --listen) or unix:PATH\n"
    "  --token-file F   the daemon's token (its DB.token); required over TCP\n"
    "  --threads N      runs at once (default: online cores)\n"
    "  --idle-exit S    leave after S seconds with nothing to run (default:\n"
    "                   never)\n"
    "  --time-limit S   hand every run back and leave after S seconds (set\n"
    "                   it a few minutes under a batch job's walltime)\n"
    "  --checkpoint-s S save a run's state every S seconds (default 60)\n"
    "  --log-level L    error, warn, info (default) or debug\n"
    "  --version, --help\n";

typedef struct options {
    const char *connect, *token;
    int threads;
    double idle_exit_s, time_limit_s, checkpoint_s;
    enum log_level level;
} options;

static int number(const char *opt, const char *arg, double lo, double hi,
                  double *out)
{
    char *end;
    double v = strtod(arg, &end);
    if (!*arg || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "resweep-worker: %s: must be a number in [%g, %g], "
                "got \"%s\"\n", opt, lo, hi, arg);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_one(int ch, options *o)
{
    double v;
    switch (ch) {
    case 'c': o->connect = optarg; return 0;
    case 't': o->token = optarg; return 0;
    case 'n':
        if (number("--threads", optarg, 1, POOL_MAX_WORKERS, &v) < 0 || v != (int)v)
            return -1;
        o->threads = (int)v;
        return 0;
    case 'i': return number("--idle-exit", optarg, 0, 3.2e7, &o->idle_exit_s);
    case 'T': return number("--time-limit", optarg, 1, 3.2e7, &o->time_limit_s);
    case 'k': return number("--checkpoint-s", optarg, 0, 1e7, &o->checkpoint_s);
    case 'l':
        if (log_level_parse(optarg, &o->level) == 0)
            return 0;
        fprintf(stderr, "resweep-worker: --log-level: expected error, warn, "
                "info or debug, got \"%s\"\n", optarg);
        return -1;
    case 'h': fputs(usage, stdout); return 1;
    case 'V': printf("resweep-worker %s\n", RESWEEP_VERSION); return 1;
    default: fputs(usage, stderr); return -1;
    }
}

static int parse_options(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"connect", required_argument, NULL, 'c'},
        {"token-file", required_argument, NULL, 't'},
        {"threads", required_argument, NULL, 'n'},
        {"idle-exit", required_argument, NULL, 'i'},
        {"time-limit", required_argument, NULL, 'T'},
        {"checkpoint-s", required_argument, NULL, 'k'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    *o = (options){.threads = ncpu > 0 ? (int)ncpu : 1, .checkpoint_s = 60,
                   .level = LOGL_INFO};
    int ch, rc;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1)
        if ((rc = parse_one(ch, o)) != 0)
            return rc;
    if (optind < argc) {
        fprintf(stderr, "resweep-worker: unexpected argument \"%s\"\n%s",
                argv[optind], usage);
        return -1;
    }
    if (!o->connect) {
        fprintf(stderr, "resweep-worker: --connect is required\n%s", usage);
        return -1;
    }
    if (proto_addr_is_tcp(o->connect) && !o->token) {
        fprintf(stderr, "resweep-worker: --token-file is required over TCP "
                "(the daemon's DB.token)\n");
        return -1;
    }
    return 0;
}

static rhost *the_host;

static void on_signal(int sig)
{
    (void)sig;
    if (the_host)
        rhost_stop(the_host);
}

static int run(const options *o, char *err, size_t errlen)
{
    auth_key key;
    int rc = engine_init(err, errlen);
    if (rc == 0 && o->token)
        rc = auth_key_load(o->token, false, &key, err, errlen);
    if (rc < 0)
        return rc;
    rhost_config hc = {o->connect, o->token ? &key : NULL, o->threads,
                       o->idle_exit_s, o->time_limit_s};
    rhost *h;
    if ((rc = rhost_new(&hc, &h, err, errlen)) < 0)
        return rc;
    the_host = h;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    pool_config pc = {o->threads, o->checkpoint_s, rhost_worker(h)};
    pool *p = NULL;
    rc = pool_new(&pc, &p, err, errlen);
    if (rc < 0)
        rhost_stop(h);
    log_info("resweep-worker %s: %d threads for %s", RESWEEP_VERSION,
             o->threads, o->connect);
    pool_free(p);   /* the threads leave once the host stops */
    if (rc == 0)
        rc = rhost_status(h, err, errlen);
    the_host = NULL;
    rhost_free(h);
    return rc;
}

int main(int argc, char **argv)
{
    memtune_for_runs();
    options o;
    int prc = parse_options(argc, argv, &o);
    if (prc != 0)
        return prc > 0 ? 0 : 2;
    signal(SIGPIPE, SIG_IGN);
    log_init("resweep-worker", o.level);
    char err[ERR_LEN] = "";
    int rc = run(&o, err, sizeof err);
    if (rc < 0) {
        log_error("%s", err);
        return 1;
    }
    log_info("stopped");
    return 0;
}
