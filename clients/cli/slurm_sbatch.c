/* slurm_sbatch.c — handing a batch script to Slurm: `sbatch --parsable`
 * run as a child, its job id read from what it prints (cli.h). */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

extern char **environ;

/* What sbatch printed, at most len - 1 bytes (the rest is read and
 * dropped, so that sbatch never blocks on a full pipe). */
static void read_all(int fd, char *buf, size_t len)
{
    size_t n = 0;
    char sink[256];
    for (;;) {
        char *at = n + 1 < len ? buf + n : sink;
        size_t room = n + 1 < len ? len - 1 - n : sizeof sink;
        ssize_t got = read(fd, at, room);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (at != sink)
            n += (size_t)got;
    }
    buf[n] = '\0';
}

/* --parsable prints "ID" or "ID;CLUSTER" and a newline. */
static int parse_id(const char *out, long long *id)
{
    char *end;
    errno = 0;
    long long v = strtoll(out, &end, 10);
    if (errno || end == out || v < 1 || (*end && *end != ';' &&
                                         *end != '\n'))
        return -1;
    *id = v;
    return 0;
}

static int spawn_sbatch(const char *path, int out_fd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
    char *argv[] = {"sbatch", "--parsable", (char *)path, NULL};
    int e = posix_spawnp(pid, "sbatch", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return e;
}

/* Why a finished sbatch submitted nothing; CLI_OK when it exited 0. */
static int sbatch_status(int status)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return CLI_OK;
    if (WIFEXITED(status))
        return cli_fail(CLI_ERROR, "sbatch failed (exit status %d; its "
                                   "message is above): nothing was "
                                   "submitted", WEXITSTATUS(status));
    return cli_fail(CLI_ERROR, "sbatch was killed by signal %d (%s): check "
                               "squeue for what it submitted",
                    WTERMSIG(status), strsignal(WTERMSIG(status)));
}

int cli_sbatch(const char *path, long long *slurm_job)
{
    int p[2];
    if (pipe(p) != 0)
        return cli_fail(CLI_ERROR, "cannot run sbatch: pipe: %s",
                        strerror(errno));
    pid_t pid;
    int e = spawn_sbatch(path, p[1], &pid);
    close(p[1]);
    if (e != 0) {
        close(p[0]);
        if (e == ENOENT)
            return cli_fail(CLI_ERROR, "sbatch: not found on PATH; run this "
                                       "where Slurm's commands are (a login "
                                       "node), or install them (Debian: "
                                       "apt-get install slurm-client)");
        return cli_fail(CLI_ERROR, "cannot run sbatch: %s", strerror(e));
    }
    char out[512];
    read_all(p[0], out, sizeof out);
    close(p[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return cli_fail(CLI_ERROR, "waiting for sbatch: %s",
                            strerror(errno));
    int rc = sbatch_status(status);
    if (rc != CLI_OK)
        return rc;
    if (parse_id(out, slurm_job) < 0) {
        out[strcspn(out, "\n")] = '\0';
        return cli_fail(CLI_ERROR, "sbatch --parsable printed \"%.80s\", not "
                                   "a job id: check squeue for what it "
                                   "submitted", out);
    }
    return CLI_OK;
}
