/* open.c — opening the writer connection: the directory lock, WAL mode,
 * pragmas and the schema migrations; closing it (see store.h). */
#include "internal.h"

#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "err.h"
#include "paths.h"

/* A single-value query (a PRAGMA, a count) as an integer. */
static int query_int(struct conn *c, const char *sql, long long *out,
                     char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    }
    int out_rc = rc == SQLITE_ROW || rc == SQLITE_DONE
                     ? 0 : store__fail(c, rc, err, errlen, "running %s", sql);
    sqlite3_finalize(st);
    return out_rc;
}

static int exec_sql(struct conn *c, const char *sql, char *err,
                    size_t errlen, const char *what)
{
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : store__fail(c, rc, err, errlen, "%s", what);
}

/* The schema version of the database: 0 for an empty file. A database
 * with tables but no schema_version belongs to another program. */
static int schema_version(struct conn *c, long long *version, char *err,
                          size_t errlen)
{
    long long has_table, objects;
    int rc = query_int(c, "SELECT count(*) FROM sqlite_master WHERE"
                          " type = 'table' AND name = 'schema_version'",
                       &has_table, err, errlen);
    if (rc < 0)
        return rc;
    if (has_table)
        return query_int(c, "SELECT coalesce(max(version), 0)"
                            " FROM schema_version", version, err, errlen);
    if ((rc = query_int(c, "SELECT count(*) FROM sqlite_master", &objects,
                        err, errlen)) < 0)
        return rc;
    if (objects > 0)
        return err_set(err, errlen, -EINVAL,
                       "database %s: has tables but no schema_version: it "
                       "is not a resweep database; refusing to modify it",
                       c->path);
    *version = 0;
    return 0;
}

/* Whether migration version is recorded in the database (*applied). An
 * empty file has no schema_version table yet: nothing is applied. */
static int migration_applied(struct conn *c, int version, bool *applied,
                             char *err, size_t errlen)
{
    long long v, n = 0;
    int rc = schema_version(c, &v, err, errlen);
    if (rc == 0 && v > 0) {
        char sql[96];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM schema_version"
                                  " WHERE version = %d", version);
        rc = query_int(c, sql, &n, err, errlen);
    }
    *applied = n > 0;
    return rc;
}

/* Applies migration m in its own transaction, unless another process
 * applied it while we were not holding the write lock. */
static int migrate_one(struct conn *c, const struct schema_migration *m,
                       char *err, size_t errlen)
{
    bool applied;
    int rc = exec_sql(c, "BEGIN IMMEDIATE", err, errlen,
                      "starting a migration");
    if (rc < 0)
        return rc;
    if ((rc = migration_applied(c, m->version, &applied, err, errlen)) < 0 ||
        applied)
        goto out;
    if ((rc = exec_sql(c, m->sql, err, errlen, m->name)) < 0)
        goto out;
    char sql[128];
    snprintf(sql, sizeof sql,
             "INSERT INTO schema_version (version, applied_at)"
             " VALUES (%d, %.6f)", m->version, store__now());
    if ((rc = exec_sql(c, sql, err, errlen, "recording the migration")) < 0)
        goto out;
    rc = exec_sql(c, "COMMIT", err, errlen, m->name);
out:
    /* Also when another process had migrated: the transaction must not
     * stay open, or the caller's later writes would never commit. */
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* The embedded migrations are numbered upwards, 1 first; a number may be
 * missing: branches developed side by side each take the next free number
 * and are merged in any order, so a version recorded in the database, not
 * the highest one, is what counts as applied. */
static int check_embedded(char *err, size_t errlen)
{
    int prev = 0;
    for (size_t i = 0; i < schema_migration_count; i++) {
        const struct schema_migration *m = &schema_migrations[i];
        if (i == 0 ? m->version != 1 : m->version <= prev)
            return err_set(err, errlen, -EINVAL,
                           "schema/%s: migrations must be numbered upwards "
                           "from 1, each number once", m->name);
        prev = m->version;
    }
    if (prev != STORE_SCHEMA_VERSION)
        return err_set(err, errlen, -EINVAL,
                       "this resweepd embeds schema version %d but "
                       "STORE_SCHEMA_VERSION is %d; rebuild it", prev,
                       STORE_SCHEMA_VERSION);
    return 0;
}

static bool embedded(long long version)
{
    for (size_t i = 0; i < schema_migration_count; i++)
        if (schema_migrations[i].version == version)
            return true;
    return false;
}

/* A database with a migration this binary lacks (a newer version, or one
 * of a branch it was not built with) is refused, not modified. */
static int check_recorded(struct conn *c, int known, char *err,
                          size_t errlen)
{
    long long v;
    int rc = schema_version(c, &v, err, errlen);
    if (rc < 0 || v == 0)
        return rc;
    if (v > known)
        return err_set(err, errlen, -EPROTO,
                       "%s: database schema version %lld is newer than this "
                       "resweepd (%d); upgrade resweep", c->path, v, known);
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(c->db, "SELECT version FROM schema_version"
                                   " ORDER BY version", -1, &st, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        long long have = sqlite3_column_int64(st, 0);
        if (!embedded(have)) {
            sqlite3_finalize(st);
            return err_set(err, errlen, -EPROTO,
                           "%s: database has schema migration %lld, which "
                           "this resweepd does not know; use the resweep "
                           "that created it", c->path, have);
        }
        rc = SQLITE_OK;
    }
    int out = rc == SQLITE_DONE ? 0
              : store__fail(c, rc, err, errlen, "reading schema_version");
    sqlite3_finalize(st);
    return out;
}

static int migrate(struct conn *c, char *err, size_t errlen)
{
    int rc = check_embedded(err, errlen);
    if (rc == 0)
        rc = check_recorded(c, STORE_SCHEMA_VERSION, err, errlen);
    /* Looked at first without the write lock, so that opening an
     * up-to-date database takes no write transaction; migrate_one looks
     * again under the lock. */
    for (size_t i = 0; i < schema_migration_count && rc == 0; i++) {
        bool applied;
        rc = migration_applied(c, schema_migrations[i].version, &applied,
                               err, errlen);
        if (rc == 0 && !applied)
            rc = migrate_one(c, &schema_migrations[i], err, errlen);
    }
    return rc;
}

/* WAL, so that readers (users' sqlite3, the workers) never block the
 * writer nor it them. synchronous=NORMAL: in WAL mode a commit is then an
 * append without fsync, and it still survives the process dying at any
 * point (kill -9, a crash), which is what resweep promises; an OS crash or
 * power loss can lose the last commits but never corrupts the file
 * (store_set_sync_full for more). journal_size_limit caps what the WAL
 * keeps on disk after a checkpoint resets it. */
static int configure(struct conn *c, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &st,
                                NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        rc = store__fail(c, rc, err, errlen, "switching to WAL mode");
        sqlite3_finalize(st);
        return rc;
    }
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    bool wal = mode && strcmp(mode, "wal") == 0;
    rc = wal ? 0 : err_set(err, errlen, -EIO,
                           "database %s: cannot use WAL mode (journal mode "
                           "stays \"%s\"); is it on a network file system?",
                           c->path, mode ? mode : "?");
    sqlite3_finalize(st);
    if (rc < 0)
        return rc;
    /* A fixed page cache (SQLite's default, 2 MB, fills as the database
     * grows): the writer appends at the ends of a few B-trees. */
    return exec_sql(c, "PRAGMA synchronous = NORMAL;"
                       "PRAGMA foreign_keys = ON;"
                       "PRAGMA cache_size = -" STORE_WRITER_CACHE_KIB ";"
                       "PRAGMA journal_size_limit = 67108864",
                    err, errlen, "setting pragmas");
}

/* Creates the database's directory and holds an exclusive lock on it
 * while the database is opened, configured and migrated. SQLite's switch
 * of a new file to WAL mode is not safe against another process doing the
 * same at that moment: it fails with "database is locked", "disk I/O
 * error" or "unable to open" without waiting for the busy handler. The
 * lock is on the directory, not the database file, because opening and
 * closing the database file ourselves would drop SQLite's POSIX locks on
 * it. Where directories cannot be locked, opening goes on unserialised. */
static int lock_parent_dir(const char *path, int *fd_out, char *err,
                           size_t errlen)
{
    char dir[PATHS_MAX];
    *fd_out = -1;
    if (paths_dirname(path, dir, sizeof dir) < 0)
        return err_set(err, errlen, -ENAMETOOLONG,
                       "database %s: path is too long", path);
    int rc = paths_mkdir_p(dir, 0700, err, errlen);
    if (rc < 0)
        return err_prefix(err, errlen, rc, "database directory");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    while (flock(fd, LOCK_EX) != 0)
        if (errno != EINTR) {
            close(fd);
            return 0;
        }
    *fd_out = fd;
    return 0;
}

/* A new database is created 0600 here, before SQLite opens it: SQLite
 * would make it 0644 (less the umask), and it holds every configuration
 * and result. Its -wal and -shm then get the same mode (SQLite copies
 * the database's). O_EXCL: an existing file is left as its owner made
 * it, and never opened and closed by us, which would drop the POSIX
 * locks another connection of this process holds on it. */
static int create_private(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                  0600);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    int e = errno;
    if (e == EEXIST)
        return 0;
    return err_set(err, errlen, -e, "database %s: cannot create it: %s",
                   path, strerror(e));
}

static void unlock_parent_dir(int fd)
{
    if (fd >= 0)
        close(fd);  /* releases the flock */
}

static int open_locked(const char *path, const char *vfs, store **out,
                       char *err, size_t errlen)
{
    store *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(err, errlen, -ENOMEM, "database %s: out of memory",
                       path);
    s->busy_ms = DB_BUSY_MS;
    int rc = store__conn_open(&s->c, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                       vfs, err, errlen);
    if (rc < 0) {
        free(s);
        return rc;
    }
    if ((rc = configure(&s->c, err, errlen)) < 0 ||
        (rc = store__quick_check(&s->c, STORE_CHECK_BUDGET_MS, err,
                                 errlen)) < 0 ||
        (rc = migrate(&s->c, err, errlen)) < 0) {
        store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

int store_open_ex(const char *path, unsigned flags, store **out, char *err,
                  size_t errlen)
{
    *out = NULL;
    struct fault_env fe;
    const char *vfs = NULL;
    int rc = store__fault_env_read(&fe, err, errlen);
    if (rc < 0)
        return rc;
    if ((flags & STORE_OPEN_FAULTS) || fe.set)
        if ((rc = store__fault_vfs(&vfs, err, errlen)) < 0)
            return rc;
    int dir_fd;
    if ((rc = lock_parent_dir(path, &dir_fd, err, errlen)) < 0)
        return rc;
    rc = create_private(path, err, errlen);
    if (rc == 0)
        rc = open_locked(path, vfs, out, err, errlen);
    struct stat sb;
    if (rc == 0 && stat(path, &sb) == 0) {
        (*out)->ident = true;
        (*out)->dev = sb.st_dev;
        (*out)->ino = sb.st_ino;
    }
    unlock_parent_dir(dir_fd);
    /* Armed only now, so that N counts the writes after the open. */
    if (rc == 0 && fe.set)
        store__fault_env_arm(&fe);
    return rc;
}

int store_open(const char *path, store **out, char *err, size_t errlen)
{
    return store_open_ex(path, 0, out, err, errlen);
}

void store_close(store *s)
{
    if (!s)
        return;
    store_rollback(s);
    store__conn_close(&s->c);
    free(s);
}

int store_set_sync_full(store *s, bool full, char *err, size_t errlen)
{
    if (s->in_tx)
        return err_set(err, errlen, -EINVAL,
                       "database %s: cannot change synchronous inside a "
                       "transaction", s->c.path);
    return exec_sql(&s->c, full ? "PRAGMA synchronous = FULL"
                                : "PRAGMA synchronous = NORMAL",
                    err, errlen, "setting synchronous");
}

int store_get_sync_full(store *s, bool *full, char *err, size_t errlen)
{
    long long v = 0;
    int rc = query_int(&s->c, "PRAGMA synchronous", &v, err, errlen);
    *full = v >= 2;   /* 2 FULL, 3 EXTRA */
    return rc;
}

