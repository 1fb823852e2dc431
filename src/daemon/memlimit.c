/* memlimit.c — the memory budget's option, default and wording
 * (memlimit.h). */
#include "memlimit.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "err.h"
#include "paths.h"

/* ---- the machine's memory ---- */

/* A cgroup limit file: a number of bytes, or "max" (v2) / a huge number
 * (v1, page-rounded 2^63) for none. 0 when absent or unlimited. */
static uint64_t read_limit(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[64] = "";
    bool ok = fgets(buf, sizeof buf, f) != NULL;
    fclose(f);
    if (!ok || strncmp(buf, "max", 3) == 0)
        return 0;
    char *end;
    unsigned long long v = strtoull(buf, &end, 10);
    if (end == buf || v >= (1ull << 62))
        return 0;
    return (uint64_t)v;
}

/* The smallest limit on the cgroup path or any directory above it, under
 * the hierarchy's mount point root, in file name. */
static uint64_t limit_up(const char *root, const char *cgpath, const char *name)
{
    char dir[PATHS_MAX], file[PATHS_MAX + 64];
    uint64_t best = 0;
    if (snprintf(dir, sizeof dir, "%s%s", root, cgpath) >= (int)sizeof dir)
        return 0;
    size_t rootlen = strlen(root);
    for (;;) {
        snprintf(file, sizeof file, "%s/%s", dir, name);
        uint64_t v = read_limit(file);
        if (v && (!best || v < best))
            best = v;
        char *slash = strrchr(dir, '/');
        if (!slash || (size_t)(slash - dir) < rootlen)
            break;
        *slash = '\0';
    }
    return best;
}

/* The memory cgroups of this process (/proc/self/cgroup: "0::/path" for
 * v2, "N:memory:/path" for v1), each limit up its path. */
static uint64_t cgroup_limit(void)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f)
        return 0;
    char line[PATHS_MAX + 64];
    uint64_t best = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        const char *ctl = c1 + 1, *path = c2 + 1;
        uint64_t v = 0;
        if (strcmp(ctl, "") == 0) {
            v = limit_up("/sys/fs/cgroup", path, "memory.max");
            uint64_t u = limit_up("/sys/fs/cgroup/unified", path, "memory.max");
            if (u && (!v || u < v))
                v = u;
        } else if (strstr(ctl, "memory")) {
            v = limit_up("/sys/fs/cgroup/memory", path, "memory.limit_in_bytes");
        }
        if (v && (!best || v < best))
            best = v;
    }
    fclose(f);
    return best;
}

uint64_t memlimit_machine(const char **source)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    uint64_t phys = pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
    uint64_t cg = cgroup_limit();
    bool use_cg = cg && (!phys || cg < phys);
    if (source)
        *source = use_cg ? "the cgroup's memory limit" : "physical memory";
    return use_cg ? cg : phys;
}

/* ---- parsing ---- */

static int bad(char *err, size_t errlen, const char *arg, const char *why)
{
    return err_set(err, errlen, -EINVAL,
                   "--memory-limit: %s, got \"%s\" (give bytes, a size such as "
                   "512M or 2G, a share of the machine's memory such as 50%%, "
                   "or none)", why, arg);
}

/* K, M, G, T with an optional "iB" or "B": the power of 1024, or -1. */
static int suffix_power(const char *s)
{
    static const char units[] = "KMGT";
    if (!*s)
        return 0;
    const char *u = strchr(units, s[0] & ~0x20);
    if (!u || !*u)
        return -1;
    const char *rest = s + 1;
    if (*rest && strcasecmp(rest, "iB") != 0 && strcasecmp(rest, "B") != 0)
        return -1;
    return (int)(u - units) + 1;
}

int memlimit_parse(const char *arg, uint64_t machine, uint64_t *out,
                   char *err, size_t errlen)
{
    if (strcasecmp(arg, "none") == 0 || strcmp(arg, "0") == 0) {
        *out = 0;
        return 0;
    }
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || !isfinite(v) || v < 0 || arg[0] == '-' || arg[0] == '+')
        return bad(err, errlen, arg, "not a size");
    double bytes;
    if (strcmp(end, "%") == 0) {
        if (!(v > 0 && v <= 100))
            return bad(err, errlen, arg, "a share must be in (0, 100]%");
        if (machine == 0)
            return bad(err, errlen, arg,
                       "the machine's memory is unknown, so a share cannot be taken");
        bytes = (double)machine * v / 100;
    } else {
        int p = suffix_power(end);
        if (p < 0)
            return bad(err, errlen, arg, "unknown unit (K, M, G and T are powers of 1024)");
        bytes = v * pow(1024, p);
    }
    if (bytes >= 0x1p63)
        return bad(err, errlen, arg, "too large");
    if (bytes < (double)MEMLIMIT_MIN_BYTES)
        return bad(err, errlen, arg, "less than 16M, in which no run fits");
    *out = (uint64_t)bytes;
    return 0;
}

/* ---- wording ---- */

void memlimit_format(uint64_t bytes, char *buf, size_t len)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    if (bytes < 1024) {
        snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
        return;
    }
    double v = (double)bytes / 1024;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%.0f %s", v, units[u]);
    else
        snprintf(buf, len, "%.1f %s", v, units[u]);
}
