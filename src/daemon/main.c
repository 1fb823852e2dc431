/* main.c — resweepd: the sweep daemon (issue 3; docs/theory.md §8).
 *
 * Start-up: options, the database lock, BLAS, the socket (so a second
 * daemon fails before touching anything), the store (migrations, crash
 * recovery, job counters, the queue), the store thread, the workers, and
 * the loop. SIGTERM, SIGINT and the shutdown operation end it: runs are
 * suspended with a checkpoint, workers joined, the store drained, handles
 * closed, exit 0 (server.h, SERVER_SHUTDOWN_S).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "auth.h"
#include "engine.h"
#include "err.h"
#include "host.h"
#include "log.h"
#include "memlimit.h"
#include "pairs.h"
#include "memtune.h"
#include "paths.h"
#include "pool.h"
#include "proto.h"
#include "scheduler.h"
#include "server.h"
#include "store.h"
#include "writer.h"

#define DEFAULT_CHECKPOINT_S 60.0
#define DEFAULT_LEASE_TIMEOUT_S 30.0

static const char usage[] =
    "usage: resweepd [--socket PATH] [--db PATH] [--workers N]\n"
    "                [--log-level error|warn|info|debug] [--checkpoint-s S]\n"
    "                [--idle-timeout S] [--frame-timeout S]\n"
    "                [--listen HOST:PORT] [--token-file F] [--lease-timeout S]\n"
    "                [--worker-processes N]\n"
    "                [--memory-limit SIZE]\n"
    "\n"
    "Runs sweeps submitted with `resweep submit`, in the foreground, logging\n"
    "to stderr (a service manager daemonises it).\n"
    "\n"
    "  --socket PATH      Unix socket to listen on (default $RESWEEP_SOCKET,\n"
    "                     else $XDG_RUNTIME_DIR/resweep/resweepd.sock, else\n"
    "                     /tmp/resweep-$UID/resweepd.sock)\n"
    "  --db PATH          SQLite database (default $RESWEEP_DB, else\n"
    "                     $XDG_DATA_HOME/resweep/resweep.db, else\n"
    "                     ~/.local/share/resweep/resweep.db)\n"
    "  --workers N        runs executed at once by threads of the daemon\n"
    "                     (default: online cores; 0: none, remote workers only)\n"
    "  --worker-processes N  also start N resweep-worker processes on this\n"
    "                     machine, so a run that crashes takes one down, not\n"
    "                     the daemon (default 0)\n"
    "  --listen HOST:PORT accept workers (resweep-worker) and clients over TCP;\n"
    "                     each must prove the token first. Not encrypted: see\n"
    "                     README, \"More than one machine\"\n"
    "  --token-file F     the shared secret (default DB.token, created 0600 on\n"
    "                     first use)\n"
    "  --lease-timeout S  a remote worker not heard from for S seconds loses\n"
    "                     its runs to the queue (default 30)\n"
    "  --log-level L      error, warn, info (default) or debug\n"
    "  --checkpoint-s S   save a running run's state every S seconds\n"
    "                     (default 60; 0: only at shutdown)\n"
    "  --idle-timeout S   close a connection with no request in flight and\n"
    "                     no watch after S seconds of silence (default 300)\n"
    "  --frame-timeout S  close a connection that takes longer than S seconds\n"
    "                     from a frame's first byte to its last (default 30)\n"
    "  --memory-limit SIZE  start a run only when its estimated peak memory\n"
    "                     fits beside the running runs' within SIZE, and\n"
    "                     refuse a job with a run that never can: bytes, K/M/\n"
    "                     G/T (powers of 1024: 512M, 2G), a share of the\n"
    "                     machine's memory (25%), or none (default 50%: of\n"
    "                     physical memory, or of the cgroup's limit if lower)\n"
    "  --version, --help\n";

typedef struct options {
    char socket[PATHS_MAX];
    char db[PATHS_MAX];
    int workers;
    enum log_level level;
    double checkpoint_s;
    double idle_timeout_s, frame_timeout_s;
    char listen[256];
    char token[PATHS_MAX];
    double lease_timeout_s;
    int worker_processes;
    uint64_t memory_limit;       /* bytes; 0: none */
    const char *memory_source;   /* how memory_limit was chosen, for the log */
} options;

/* A timeout in seconds, at least 0.1 (smaller would close clients
 * between their own writes) and at most a year. */
static int parse_seconds(const char *opt, const char *arg, double *out)
{
    char *end;
    double v = strtod(arg, &end);
    if (*end || !(v >= 0.1 && v <= 3.2e7)) {
        fprintf(stderr,
                "resweepd: %s: must be a number of seconds in [0.1, 3.2e7], "
                "got \"%s\"\n",
                opt, arg);
        return -1;
    }
    *out = v;
    return 0;
}

/* 0 to run, 1 when --help/--version answered, -1 on a usage error. */
static int parse_options(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"db", required_argument, NULL, 'd'},
        {"workers", required_argument, NULL, 'w'},
        {"log-level", required_argument, NULL, 'l'},
        {"checkpoint-s", required_argument, NULL, 'c'},
        {"idle-timeout", required_argument, NULL, 'i'},
        {"frame-timeout", required_argument, NULL, 'f'},
        {"listen", required_argument, NULL, 'L'},
        {"token-file", required_argument, NULL, 't'},
        {"lease-timeout", required_argument, NULL, 'T'},
        {"worker-processes", required_argument, NULL, 'P'},
        {"memory-limit", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    o->workers = ncpu > 0 ? (int)ncpu : 1;
    o->level = LOGL_INFO;
    o->checkpoint_s = DEFAULT_CHECKPOINT_S;
    o->idle_timeout_s = PROTO_IDLE_TIMEOUT_S;
    o->frame_timeout_s = PROTO_FRAME_TIMEOUT_S;
    o->socket[0] = o->db[0] = o->listen[0] = o->token[0] = '\0';
    o->lease_timeout_s = DEFAULT_LEASE_TIMEOUT_S;
    o->worker_processes = 0;
    const char *machine_src;
    uint64_t machine = memlimit_machine(&machine_src);
    o->memory_limit = machine / 100 * MEMLIMIT_DEFAULT_PERCENT;
    o->memory_source = machine_src;
    int ch;
    char *end;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
        case 'd':
            if (snprintf(ch == 's' ? o->socket : o->db, PATHS_MAX, "%s",
                         optarg) >= PATHS_MAX) {
                fprintf(stderr, "resweepd: %s: path too long\n", optarg);
                return -1;
            }
            break;
        case 'w':
        case 'P': {
            long n = strtol(optarg, &end, 10);
            if (!*optarg || *end || n < 0 || n > POOL_MAX_WORKERS) {
                fprintf(stderr,
                        "resweepd: %s: must be an integer in [0, %d], "
                        "got \"%s\"\n",
                        ch == 'w' ? "--workers" : "--worker-processes",
                        POOL_MAX_WORKERS, optarg);
                return -1;
            }
            *(ch == 'w' ? &o->workers : &o->worker_processes) = (int)n;
            break;
        }
        case 'L':
        case 't':
            if (snprintf(ch == 'L' ? o->listen : o->token,
                         ch == 'L' ? sizeof o->listen : sizeof o->token, "%s",
                         optarg) >= (int)(ch == 'L' ? sizeof o->listen
                                                    : sizeof o->token)) {
                fprintf(stderr, "resweepd: %s: too long\n", optarg);
                return -1;
            }
            break;
        case 'T':
            if (parse_seconds("--lease-timeout", optarg, &o->lease_timeout_s) < 0)
                return -1;
            break;
        case 'l':
            if (log_level_parse(optarg, &o->level) < 0) {
                fprintf(stderr,
                        "resweepd: --log-level: expected error, warn, info "
                        "or debug, got \"%s\"\n",
                        optarg);
                return -1;
            }
            break;
        case 'c':
            o->checkpoint_s = strtod(optarg, &end);
            if (*end || !(o->checkpoint_s >= 0) || o->checkpoint_s > 1e7) {
                fprintf(stderr,
                        "resweepd: --checkpoint-s: must be a number of "
                        "seconds >= 0, got \"%s\"\n",
                        optarg);
                return -1;
            }
            break;
        case 'i':
        case 'f':
            if (parse_seconds(ch == 'i' ? "--idle-timeout" : "--frame-timeout",
                              optarg, ch == 'i' ? &o->idle_timeout_s
                                                : &o->frame_timeout_s) < 0)
                return -1;
            break;
        case 'm': {
            char err[ERR_LEN];
            if (memlimit_parse(optarg, machine, &o->memory_limit, err,
                               sizeof err) < 0) {
                fprintf(stderr, "resweepd: %s\n", err);
                return -1;
            }
            o->memory_source = NULL;
            break;
        }
        case 'h':
            fputs(usage, stdout);
            return 1;
        case 'V':
            printf("resweepd %s\n", RESWEEP_VERSION);
            return 1;
        default:
            fputs(usage, stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "resweepd: unexpected argument \"%s\"\n%s",
                argv[optind], usage);
        return -1;
    }
    return 0;
}

/* A daemon holds DB.lock's flock for its life and removes the file when
 * it stops, so a stopped daemon leaves nothing behind (the kernel drops
 * the lock of one that crashed). Removing it opens a race: a second
 * daemon may have opened the file just before it went and then get the
 * lock of a file that no longer has a name, while a third creates a new
 * one. So a lock counts only on the file that is still at the path. */
static int lock_file_current(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

static int lock_refused(int fd, int e, const char *path, const char *db,
                        char *err, size_t errlen)
{
    char pid[32] = "";
    ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
    pid[n > 0 ? n : 0] = '\0';
    pid[strcspn(pid, "\n")] = '\0';
    if (e == EWOULDBLOCK)
        return err_set(err, errlen, -EBUSY,
                       "another resweepd%s%s%s uses the database %s; "
                       "one daemon per database",
                       pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "", db);
    return err_set(err, errlen, -e, "%s: cannot lock: %s", path,
                   strerror(e));
}

static int lock_database(const char *db, char *path, size_t pathlen,
                         int *fd_out, char *err, size_t errlen)
{
    snprintf(path, pathlen, "%s.lock", db);
    for (int tries = 0; tries < 100; tries++) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return err_set(err, errlen, -errno, "%s: %s", path,
                           strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int rc = lock_refused(fd, errno, path, db, err, errlen);
            close(fd);
            return rc;
        }
        if (!lock_file_current(fd, path)) {
            close(fd);   /* its owner removed it as we locked: again */
            continue;
        }
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n)
            log_warn("%s: cannot record the pid: %s", path, strerror(errno));
        *fd_out = fd;
        return 0;
    }
    return err_set(err, errlen, -EAGAIN,
                   "%s: removed again and again while locking it", path);
}

static int push_queued(void *ctx, int64_t job_id, int priority,
                       int64_t run_id, uint64_t mem_bytes)
{
    int rc = sched_push(ctx, job_id, priority, run_id, mem_bytes);
    return rc == -EEXIST ? 0 : rc;
}

/* "memory limit 11.5 GiB (50% of physical memory, 23.0 GiB;
 * --memory-limit)". */
static void log_memory_limit(const options *o)
{
    char lim[32], mach[32];
    if (o->memory_limit == 0) {
        if (o->memory_source)
            log_warn("memory limit: none, since the machine's memory could "
                     "not be read; give --memory-limit");
        else
            log_info("memory limit: none (--memory-limit): runs start "
                     "whatever their memory estimates");
        return;
    }
    memlimit_format(o->memory_limit, lim, sizeof lim);
    if (!o->memory_source) {
        log_info("memory limit %s (--memory-limit)", lim);
        return;
    }
    const char *src;
    memlimit_format(memlimit_machine(&src), mach, sizeof mach);
    log_info("memory limit %s (%d%% of %s, %s; --memory-limit to change)",
             lim, MEMLIMIT_DEFAULT_PERCENT, src, mach);
}

typedef struct daemon_state {
    uv_loop_t loop;
    bool loop_ok;
    int lock_fd;
    char lock_path[PATHS_MAX + 8];
    sched *sc;
    server *srv;
    store *st;
    writer *wr;
    host *hs;
    pool *pl;
    pairs *pairs;
} daemon_state;

/* A job as the loop thread tracks it; a paused one is held in the
 * scheduler before its queued runs are pushed (jobctl.h), so a pause
 * survives a restart. */
static int restore_job(void *ctx, const store_job_info *ji)
{
    daemon_state *d = ctx;
    int rc = server_job_restore(d->srv, ji);
    if (rc == 0 && !isnan(ji->paused_at))
        rc = sched_hold_job(d->sc, ji->job_id, ji->priority, NULL, NULL);
    return rc;
}

/* resweep-worker beside this resweepd (the build directory, or BINDIR). */
static int find_worker_exe(char *buf, size_t len, char *err, size_t errlen)
{
    char self[PATHS_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n < 0)
        return err_set(err, errlen, -errno, "/proc/self/exe: %s", strerror(errno));
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    if (snprintf(buf, len, "%s/resweep-worker", self) >= (int)len)
        return err_set(err, errlen, -ENAMETOOLONG, "%s: path too long", self);
    if (access(buf, X_OK) != 0)
        return err_set(err, errlen, -ENOENT,
                       "--worker-processes: %s: %s (resweep-worker is "
                       "installed beside resweepd)", buf, strerror(errno));
    return 0;
}

/* The token exists where TCP needs one (or where --token-file names it): DB.token by default, created on first use. */
static int load_token(options *o, auth_key *key, bool *has, char *err,
                      size_t errlen)
{
    if (!o->listen[0] && !o->token[0])
        return 0;
    if (!o->token[0] &&
        snprintf(o->token, sizeof o->token, "%s.token", o->db) >=
            (int)sizeof o->token)
        return err_set(err, errlen, -ENAMETOOLONG, "%s.token: path too long",
                       o->db);
    int rc = auth_key_load(o->token, true, key, err, errlen);
    if (rc < 0)
        return rc;
    *has = true;
    log_info("token: %s", o->token);
    return 0;
}

static int start(daemon_state *d, options *o, char *err, size_t errlen)
{
    char dbdir[PATHS_MAX];
    int rc = paths_dirname(o->db, dbdir, sizeof dbdir);
    if (rc == 0)
        rc = paths_mkdir_p(dbdir, 0700, err, errlen);
    if (rc == 0)
        rc = lock_database(o->db, d->lock_path, sizeof d->lock_path,
                           &d->lock_fd, err, errlen);
    if (rc == 0)
        rc = engine_init(err, errlen);
    if (rc < 0)
        return rc;
    if ((rc = uv_loop_init(&d->loop)) < 0)
        return err_set(err, errlen, rc, "uv_loop_init: %s", uv_strerror(rc));
    d->loop_ok = true;
    if ((rc = sched_new(&d->sc)) < 0)
        return err_set(err, errlen, rc, "out of memory");
    /* Finished runs wait for the store thread's commit in memory: bound
     * them, so that a busy store thread makes workers wait instead of
     * piling up results (issue 9 §5). */
    sched_limit_active(d->sc, (long)o->workers + SCHED_MAX_UNSTORED);
    auth_key key;
    bool has_key = false;
    char worker_exe[PATHS_MAX];
    if ((rc = load_token(o, &key, &has_key, err, errlen)) < 0 ||
        (o->worker_processes > 0 &&
         (rc = find_worker_exe(worker_exe, sizeof worker_exe, err, errlen)) < 0))
        return rc;
    sched_limit_memory(d->sc, o->memory_limit);
    sched_remote_workers(d->sc, o->listen[0] != '\0');
    server_config sc = {&d->loop, o->socket,         o->db,
                        o->workers, d->sc,           o->idle_timeout_s,
                        o->frame_timeout_s,
                        o->listen[0] ? o->listen : NULL,
                        has_key ? &key : NULL,
                        o->lease_timeout_s,
                        o->worker_processes,
                        worker_exe,
                        o->checkpoint_s};
    if ((rc = server_new(&sc, &d->srv, err, errlen)) < 0 ||
        (rc = server_bind(d->srv, err, errlen)) < 0)
        return rc;

    if ((rc = store_open(o->db, &d->st, err, errlen)) < 0)
        return rc;
    long requeued = 0, failed = 0, canceled = 0;
    if ((rc = store_recover(d->st, &requeued, &failed, &canceled, err,
                            errlen)) < 0)
        return rc;
    if (canceled)
        log_warn("recovery: %ld runs of canceled jobs ended canceled (the "
                 "daemon had stopped before they did)", canceled);
    if (requeued || failed)
        log_warn("recovered from a crash: %ld runs queued again, %ld failed "
                 "after too many attempts",
                 requeued, failed);
    if ((rc = store_job_list(d->st, 0, restore_job, d, err, errlen)) < 0 ||
        (rc = store_queue_load(d->st, push_queued, d->sc, err, errlen)) < 0)
        return rc;

    /* The pairs' thread hooks the writer's commits: before it starts. */
    if ((rc = writer_new(d->st, d->sc, server_notify, d->srv, &d->wr, err,
                         errlen)) < 0 ||
        (rc = pairs_new(o->db, d->wr, &d->pairs, err, errlen)) < 0 ||
        (rc = writer_start(d->wr, err, errlen)) < 0)
        return rc;
    if ((rc = host_new(o->db, d->sc, d->wr, &d->hs, err, errlen)) < 0)
        return rc;
    pool_config pc = {o->workers, o->checkpoint_s, host_worker(d->hs)};
    if (o->workers > 0 && (rc = pool_new(&pc, &d->pl, err, errlen)) < 0)
        return rc;
    server_attach(d->srv, d->wr, d->pl, d->hs, d->pairs);
    if ((rc = server_start(d->srv, err, errlen)) < 0)
        return rc;
    sched_stats st;
    sched_get_stats(d->sc, &st);
    char blas[128];
    engine_blas_describe(blas, sizeof blas);
    log_info("resweepd %s: %d workers, database %s, %ld runs queued, BLAS "
             "%s",
             RESWEEP_VERSION, o->workers, o->db, st.queued, blas);
    log_memory_limit(o);
    return 0;
}

/* Releases everything start() made, in reverse; safe after a partial
 * start. Workers that never stopped are left to the process's exit. */
static void stop(daemon_state *d)
{
    if (d->sc)
        sched_stop(d->sc);   /* no-op after a clean shutdown */
    /* After a failed start, give woken workers a moment to leave. */
    for (int i = 0; d->pl && pool_running(d->pl) > 0 && i < 100; i++)
        usleep(10000);
    bool stuck = d->pl && pool_running(d->pl) > 0;
    if (stuck)
        log_warn("leaving %d stuck workers to the exit", pool_running(d->pl));
    else
        pool_free(d->pl);
    d->pl = NULL;
    if (!stuck)
        host_free(d->hs);
    /* before the writer: it posts to it; freed after: the writer kicks it */
    pairs_stop(d->pairs);
    if (d->wr)
        writer_free(d->wr);   /* stops and joins the store thread first */
    pairs_free(d->pairs);
    if (d->srv)
        server_free(d->srv);
    if (d->loop_ok && uv_loop_close(&d->loop) != 0)
        log_warn("the event loop still had open handles at exit");
    if (d->st && !stuck)
        store_close(d->st);
    if (!stuck)
        sched_free(d->sc);
    if (d->lock_fd >= 0) {
        /* Unlinked while still locked: see lock_database. */
        if (unlink(d->lock_path) != 0 && errno != ENOENT)
            log_warn("%s: %s", d->lock_path, strerror(errno));
        close(d->lock_fd);
    }
}

int main(int argc, char **argv)
{
    memtune_for_runs();
    options o;
    int prc = parse_options(argc, argv, &o);
    if (prc != 0)
        return prc > 0 ? 0 : 2;
    signal(SIGPIPE, SIG_IGN);
    log_init("resweepd", o.level);
    char err[ERR_LEN] = "";
    if ((!o.socket[0] &&
         paths_default_socket(o.socket, sizeof o.socket, err, sizeof err) <
             0) ||
        (!o.db[0] && paths_default_db(o.db, sizeof o.db, err, sizeof err) < 0)) {
        log_error("%s", err);
        return 1;
    }
    daemon_state d = {.lock_fd = -1};
    int rc = start(&d, &o, err, sizeof err);
    if (rc == 0) {
        uv_run(&d.loop, UV_RUN_DEFAULT);
    } else {
        log_error("%s", err);
    }
    stop(&d);
    return rc == 0 ? 0 : 1;
}
