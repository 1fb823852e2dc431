/* main.c — resweep, the command-line client of resweepd (issue 3). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: resweep [--socket PATH] [--db PATH] [--json] COMMAND [ARGS]\n"
    "\n"
    "Commands (resweep COMMAND --help for each):\n"
    "  submit FILE|- [--wait]   submit a job specification (JSON)\n"
    "  status [JOB]             one job's progress, or every job's\n"
    "  list                     every job, one line each\n"
    "  watch JOB                follow a job until it ends\n"
    "  runs JOB [--from I] [--limit N]   a job's runs and their states\n"
    "  cancel JOB               cancel a job's queued and running runs\n"
    "  retry JOB                queue a job's failed and canceled runs again\n"
    "  delete JOB               delete an ended job and everything of it\n"
    "  extend JOB --seeds K | --spec FILE   add runs to a job\n"
    "  pause JOB                hold a job's runs; running ones checkpoint\n"
    "  resume JOB               let a paused job's runs run again\n"
    "  results JOB [--format table|csv|json]   results, from the database\n"
    "  sql \"SELECT ...\" [--format table|csv|json]   query the database\n"
    "  check                    integrity_check of the database\n"
    "  report JOB [--out DIR]   tables and figures of a job, Markdown and HTML\n"
    "  export RUN [--out DIR]   a run's u*, parameters and data as .npy files\n"
    "  ping                     is the daemon there, and how is it\n"
    "  workers                  the remote workers and what they run\n"
    "  slurm JOB --tasks N ...  start workers for a job as a Slurm job array\n"
    "  shutdown                 stop the daemon (running runs resume later)\n"
    "\n"
    "Options:\n"
    "  --socket PATH   the daemon's socket (default $RESWEEP_SOCKET, else\n"
    "                  $XDG_RUNTIME_DIR/resweep/resweepd.sock, else\n"
    "                  /tmp/resweep-$UID/resweepd.sock)\n"
    "  --db PATH       the database for results and sql (default\n"
    "                  $RESWEEP_DB, else the daemon's, else\n"
    "                  ~/.local/share/resweep/resweep.db)\n"
    "  --json          machine-readable output (the daemon's replies)\n"
    "\n"
    "Exit status: 0 success (a job: every run done); 1 error; 2 usage;\n"
    "3 the job ended with failed runs; 4 cannot reach the daemon; 5 the job\n"
    "ended with canceled runs; 6 the job ended with diverged runs; 7 the job\n"
    "is paused (watch, submit --wait).\n";

typedef struct command {
    const char *name;
    int (*fn)(cli_opts *o, int argc, char **argv);
    int min_args, max_args;
    /* The command options it accepts, as letters; NULL for a command
     * that parses its own: main's options are then the words before its
     * name, and fn gets argc/argv from its name on (argv[0] the name). */
    const char *options;
    const char *help;
} command;

static const command commands[] = {
    {"submit", cmd_submit, 1, 1, "w",
     "usage: resweep submit FILE|- [--wait] [--json]\n"
     "Submits the job specification in FILE (- reads stdin). The daemon\n"
     "expands and stores every run before it answers with the job id. With\n"
     "--wait, follows the job like `watch` and exits with its status.\n"},
    {"status", cmd_status, 0, 1, "",
     "usage: resweep status [JOB] [--json]\n"
     "The job's counts by state, rate and ETA; without JOB, every job.\n"},
    {"list", cmd_list, 0, 0, "",
     "usage: resweep list [--json]\nEvery job, one line each.\n"},
    {"watch", cmd_watch, 1, 1, "",
     "usage: resweep watch JOB [--json]\n"
     "Follows the job until it ends: a progress bar on a terminal, a line\n"
     "per change otherwise (--json: the daemon's events). Exits 0 when every\n"
     "run is done, 3 when some failed, 5 when some were canceled, 6 when\n"
     "some diverged, 7 when the job is paused (once no run of it runs).\n"},
    {"runs", cmd_runs, 1, 1, "fl",
     "usage: resweep runs JOB [--from INDEX] [--limit N] [--json]\n"
     "The job's runs from INDEX on (default 0), N at most (default 100).\n"},
    {"cancel", cmd_cancel, 1, 1, "",
     "usage: resweep cancel JOB [--json]\n"
     "Cancels the job's queued runs and stops its running ones.\n"},
    {"retry", cmd_retry, 1, 1, "",
     "usage: resweep retry JOB [--json]\n"
     "Queues the job's failed and canceled runs again: failed runs that\n"
     "kept a checkpoint resume from it, the others start from scratch.\n"},
    {"delete", cmd_delete, 1, 1, "",
     "usage: resweep delete JOB [--json]\n"
     "Deletes a job whose runs have all ended, with its runs, curves,\n"
     "results, spectra, paths, checkpoints and Slurm records, in one\n"
     "transaction. A job with queued or running runs is refused: cancel\n"
     "it first.\n"},
    {"extend", cmd_extend, 1, 1, "SP",
     "usage: resweep extend JOB --seeds K [--json]\n"
     "       resweep extend JOB --spec FILE [--json]\n"
     "Adds runs to the job without rerunning what it has. --seeds K: every\n"
     "cell of the job (its configurations but for the seed) gains K new\n"
     "seeds, numbered after the job's largest seed. --spec FILE: FILE is\n"
     "expanded and checked as `submit` does (relative data paths against\n"
     "the current directory; its name, priority and max_attempts are not\n"
     "used: the job keeps its own), and only the runs whose configuration\n"
     "the job does not have yet are added. One transaction: a refused\n"
     "extension changes nothing. A job that had ended runs again; a paused\n"
     "one holds its new runs too.\n"},
    {"pause", cmd_pause, 1, 1, "",
     "usage: resweep pause JOB [--json]\n"
     "Holds the job: no worker starts its queued runs, and its running runs\n"
     "stop at their next poll with a checkpoint and are held too (a pause\n"
     "costs no attempt). The pause is stored: it survives a restart of the\n"
     "daemon. `watch` of a paused job exits 7 once no run of it runs.\n"
     "Cancel and delete work on a paused job.\n"},
    {"resume", cmd_resume, 1, 1, "",
     "usage: resweep resume JOB [--json]\n"
     "Queues a paused job's held runs again; each continues from its\n"
     "checkpoint, with the same results as if it had never stopped.\n"},
    {"results", cmd_results, 1, 1, "F",
     "usage: resweep results JOB [--format table|csv|json] [--db PATH]\n"
     "The job's rows of the run_results view, read from the database\n"
     "(read-only). The table shows the main columns; csv and json all.\n"},
    {"sql", cmd_sql, 1, 1, "F",
     "usage: resweep sql \"SELECT ...\" [--format table|csv|json] [--db PATH]\n"
     "Runs one statement on the database opened read-only. Views:\n"
     "run_results, gap_summary, job_progress.\n"},
    {"check", cmd_check, 0, 0, "",
     "usage: resweep check [--db PATH]\n"
     "Runs SQLite's integrity_check on the database (read-only) and lists\n"
     "what it finds; exits 1 when the database is corrupt.\n"},
    {"report", cmd_report, 1, 1, "o",
     "usage: resweep report JOB [--out DIR] [--db PATH]\n"
     "Writes a report of the job into DIR (default report-JOB/): report.md,\n"
     "report.html (self-contained) and the figures as SVG and PNG, with\n"
     "tables by architecture and depth, a certificate check and an overview.\n"
     "Reads the database read-only; draws with gnuplot (gnuplot-nox).\n"},
    {"export", cmd_export, 1, 1, "op",
     "usage: resweep export RUN [--out DIR] [--params] [--db PATH] [--json]\n"
     "Writes the run's arrays into DIR (default run-RUN/) as NumPy .npy\n"
     "files: u_star.npy (the best linear predictor), its trained parameters\n"
     "when it ran with analysis.save_params (w.npy, V.npy, W1.npy, ...),\n"
     "and X_train, y_train, X_test, y_test, made again from its\n"
     "configuration and seed and checked against the run; run.json gives\n"
     "the run's id, job, configuration, results and every file's shape.\n"
     "Reads the database alone (read-only). --params: fail when the\n"
     "parameters were not saved. --json prints run.json.\n"},
    {"ping", cmd_ping, 0, 0, "",
     "usage: resweep ping [--json]\n"
     "The daemon's version, database, workers and state.\n"},
    {"workers", cmd_workers, 0, 0, "",
     "usage: resweep workers [--json]\n"
     "The daemon's own threads and the remote workers (resweep-worker)\n"
     "registered with it: host, pid, threads, runs finished, when last heard\n"
     "from, and the runs each holds now.\n"},
    {"slurm", cmd_slurm, 1, 1, NULL, cli_slurm_help},
    {"shutdown", cmd_shutdown, 0, 0, "",
     "usage: resweep shutdown [--json]\n"
     "Stops the daemon: running runs are checkpointed and resume when it is\n"
     "started again. Waits until it has stopped.\n"},
};

static long parse_long(const char *name, const char *arg, long lo, long hi,
                       bool *ok)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || *end || end == arg || v < lo || v > hi) {
        cli_fail(CLI_USAGE, "--%s: must be an integer in [%ld, %ld], got "
                            "\"%s\"", name, lo, hi, arg);
        *ok = false;
    }
    return v;
}

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* How many words main's options may take: all of them, or, when the
 * command parses its own options, those before its name. Found with
 * getopt in POSIX mode (it stops at the first word that is no option),
 * silently: the real pass reports the errors. */
static int main_words(int argc, char **argv, const struct option *longopts)
{
    opterr = 0;
    while (getopt_long(argc, argv, "+h", longopts, NULL) != -1)
        ;
    int at = optind;
    opterr = 1;
    optind = 0;   /* glibc: the next getopt_long starts afresh */
    const command *c = at < argc ? find_command(argv[at]) : NULL;
    return c && !c->options ? at : argc;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"db", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},
        {"wait", no_argument, NULL, 'w'},
        {"format", required_argument, NULL, 'F'},
        {"from", required_argument, NULL, 'f'},
        {"limit", required_argument, NULL, 'l'},
        {"out", required_argument, NULL, 'o'},
        {"params", no_argument, NULL, 'p'},
        {"seeds", required_argument, NULL, 'S'},
        {"spec", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    signal(SIGPIPE, SIG_IGN);
    cli_opts o = {.from = 0, .limit = 100};
    char used[16] = "";   /* command options seen */
    bool help = false, ok = true;
    int ch;
    int words = main_words(argc, argv, longopts);
    while ((ch = getopt_long(words, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
        case 'd':
            if (snprintf(ch == 's' ? o.socket : o.db, PATHS_MAX, "%s",
                         optarg) >= PATHS_MAX)
                return cli_fail(CLI_USAGE, "%s: path too long", optarg);
            o.db_given = o.db_given || ch == 'd';
            break;
        case 'j':
            o.json = true;
            break;
        case 'w':
        case 'F':
        case 'f':
        case 'l':
        case 'o':
        case 'p':
        case 'S':
        case 'P':
            if (!strchr(used, ch))
                strncat(used, (char[]){(char)ch, 0}, sizeof used - 1 -
                                                         strlen(used));
            if (ch == 'F') {
                o.format = optarg;
                if (strcmp(optarg, "table") && strcmp(optarg, "csv") &&
                    strcmp(optarg, "json"))
                    return cli_fail(CLI_USAGE, "--format: expected table, "
                                               "csv or json, got \"%s\"",
                                    optarg);
            } else if (ch == 'f') {
                o.from = parse_long("from", optarg, 0, 1L << 40, &ok);
            } else if (ch == 'l') {
                o.limit = parse_long("limit", optarg, 1, 1000, &ok);
            } else if (ch == 'o') {
                o.out = optarg;
            } else if (ch == 'p') {
                o.params = true;
            } else if (ch == 'S') {
                o.seeds = parse_long("seeds", optarg, 1, 1000000, &ok);
            } else if (ch == 'P') {
                o.spec_file = optarg;
            } else {
                o.wait = true;
            }
            break;
        case 'h':
            help = true;
            break;
        case 'V':
            printf("resweep %s (protocol %d)\n", RESWEEP_VERSION,
                   PROTO_VERSION);
            return CLI_OK;
        default:
            fputs(usage, stderr);
            return CLI_USAGE;
        }
    }
    if (!ok)
        return CLI_USAGE;
    if (optind == argc) {
        fputs(usage, help ? stdout : stderr);
        return help ? CLI_OK : CLI_USAGE;
    }
    const char *name = argv[optind];
    const command *cmd = find_command(name);
    if (!cmd) {
        cli_fail(CLI_USAGE, "unknown command \"%s\"", name);
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    if (help) {
        fputs(cmd->help, stdout);
        return CLI_OK;
    }
    int nargs = argc - optind - 1;
    if (cmd->options &&
        (nargs < cmd->min_args || nargs > cmd->max_args)) {
        fputs(cmd->help, stderr);
        return CLI_USAGE;
    }
    for (const char *u = used; *u; u++) {
        if (!cmd->options || !strchr(cmd->options, *u)) {
            const char *opt = *u == 'w' ? "--wait" : *u == 'F' ? "--format"
                              : *u == 'f' ? "--from" : *u == 'o' ? "--out"
                              : *u == 'p' ? "--params"
                              : *u == 'S' ? "--seeds" : *u == 'P' ? "--spec"
                              : "--limit";
            cli_fail(CLI_USAGE, "%s: not an option of %s", opt, name);
            fputs(cmd->help, stderr);
            return CLI_USAGE;
        }
    }
    char err[ERR_LEN];
    if (!o.socket[0] &&
        paths_default_socket(o.socket, sizeof o.socket, err, sizeof err) < 0)
        return cli_fail(CLI_ERROR, "%s", err);
    if (!cmd->options)
        return cmd->fn(&o, argc - optind, argv + optind);
    return cmd->fn(&o, nargs, argv + optind + 1);
}
