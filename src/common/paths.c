/* paths.c — default socket and database paths, private directories
 * (paths.h). */
#include "paths.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int put(char *buf, size_t len, char *err, size_t errlen,
               const char *what, const char *fmt, const char *a,
               const char *b)
{
    int n = snprintf(buf, len, fmt, a, b);
    if (n < 0 || (size_t)n >= len)
        return err_set(err, errlen, -ENAMETOOLONG, "%s path is too long",
                       what);
    return 0;
}

int paths_default_socket(char *buf, size_t len, char *err, size_t errlen)
{
    const char *v = env_nonempty("RESWEEP_SOCKET");
    int rc;
    if (v)
        rc = put(buf, len, err, errlen, "socket", "%s%s", v, "");
    else if ((v = env_nonempty("XDG_RUNTIME_DIR")))
        rc = put(buf, len, err, errlen, "socket", "%s%s", v,
                 "/resweep/resweepd.sock");
    else {
        char tmp[64];
        snprintf(tmp, sizeof tmp, "/tmp/resweep-%lu", (unsigned long)getuid());
        rc = put(buf, len, err, errlen, "socket", "%s%s", tmp,
                 "/resweepd.sock");
    }
    if (rc == 0 && strlen(buf) > PATHS_SOCKET_MAX)
        return err_set(err, errlen, -ENAMETOOLONG,
                       "socket path %s is longer than %d bytes; choose a "
                       "shorter one with --socket or RESWEEP_SOCKET",
                       buf, PATHS_SOCKET_MAX);
    return rc;
}

int paths_default_db(char *buf, size_t len, char *err, size_t errlen)
{
    const char *v = env_nonempty("RESWEEP_DB");
    if (v)
        return put(buf, len, err, errlen, "database", "%s%s", v, "");
    if ((v = env_nonempty("XDG_DATA_HOME")))
        return put(buf, len, err, errlen, "database", "%s%s", v,
                   "/resweep/resweep.db");
    const char *home = env_nonempty("HOME");
    if (!home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (!home)
        return err_set(err, errlen, -ENOENT,
                       "cannot find a home directory for the database; "
                       "set --db or RESWEEP_DB");
    return put(buf, len, err, errlen, "database", "%s%s", home,
               "/.local/share/resweep/resweep.db");
}

int paths_dirname(const char *path, char *buf, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return snprintf(buf, len, ".") < (int)len ? 0 : -ENAMETOOLONG;
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n + 1 > len)
        return -ENAMETOOLONG;
    memcpy(buf, path, n);
    buf[n] = '\0';
    return 0;
}

int paths_mkdir_p(const char *dir, mode_t mode, char *err, size_t errlen)
{
    char tmp[PATHS_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp)
        return err_set(err, errlen, -ENAMETOOLONG, "%s: path is too long",
                       dir);
    for (char *p = tmp + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(tmp, mode) != 0 && errno != EEXIST)
            return err_set(err, errlen, -errno, "%s: cannot create: %s",
                           tmp, strerror(errno));
        *p = c;
        if (c == '\0')
            break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return err_set(err, errlen, -ENOTDIR, "%s: not a directory", dir);
    return 0;
}

int paths_private_dir(const char *dir, char *err, size_t errlen)
{
    char parent[PATHS_MAX];
    int rc = paths_dirname(dir, parent, sizeof parent);
    if (rc < 0)
        return err_set(err, errlen, rc, "%s: path is too long", dir);
    rc = paths_mkdir_p(parent, 0700, err, errlen);
    if (rc < 0)
        return rc;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return err_set(err, errlen, -errno, "%s: cannot create: %s", dir,
                       strerror(errno));
    struct stat st;
    if (lstat(dir, &st) != 0)
        return err_set(err, errlen, -errno, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return err_set(err, errlen, -ENOTDIR, "%s: not a directory", dir);
    if (st.st_uid != getuid())
        return err_set(err, errlen, -EACCES,
                       "%s: owned by uid %lu, not by you (uid %lu); the "
                       "socket's directory must be yours alone",
                       dir, (unsigned long)st.st_uid,
                       (unsigned long)getuid());
    if (st.st_mode & 077)
        return err_set(err, errlen, -EACCES,
                       "%s: mode %03o lets other users in; the socket's "
                       "directory must be 0700 (chmod 700 %s)",
                       dir, (unsigned)(st.st_mode & 0777), dir);
    return 0;
}
