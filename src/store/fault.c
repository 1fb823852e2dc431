/* fault.c — count-based fault injection for tests (SQLite's own test
 * culture, issue 4 §6): a VFS shim over the default VFS that passes every
 * call through, and once armed fails the xWrite and xSync calls after the
 * first N with "disk full" or an I/O error. It is registered under its
 * own name, never as the default VFS: only connections opened with
 * STORE_OPEN_FAULTS or RESWEEP_FAULT_WRITES go through it.
 */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"

#define FAULT_VFS_NAME "resweep-fault"

/* Process-wide: the counter spans every file of every connection that
 * uses the shim (database, WAL, temporary files). */
static atomic_long f_after = -1;   /* < 0: disarmed */
static atomic_long f_calls;        /* writes and syncs since arming */
static atomic_long f_left;         /* failures left before it clears */
static atomic_long f_hits;         /* failures injected since arming */
static atomic_int f_code = SQLITE_FULL;

int store_fault_arm(long after_n_writes, int sqlite_error)
{
    if (after_n_writes < 0 ||
        (sqlite_error != SQLITE_FULL && sqlite_error != SQLITE_IOERR))
        return -EINVAL;
    atomic_store(&f_after, -1);
    atomic_store(&f_calls, 0);
    atomic_store(&f_hits, 0);
    atomic_store(&f_left, LONG_MAX);
    atomic_store(&f_code, sqlite_error);
    atomic_store(&f_after, after_n_writes);
    return 0;
}

void store_fault_disarm(void)
{
    atomic_store(&f_after, -1);
}

long store_fault_hits(void)
{
    return atomic_load(&f_hits);
}

/* The error to inject into this write or sync, or SQLITE_OK. */
static int fault_check(bool sync)
{
    long after = atomic_load(&f_after);
    if (after < 0)
        return SQLITE_OK;
    if (atomic_fetch_add(&f_calls, 1) < after)
        return SQLITE_OK;
    long left = atomic_load(&f_left);
    do {
        if (left <= 0)
            return SQLITE_OK;
    } while (!atomic_compare_exchange_weak(&f_left, &left, left - 1));
    atomic_fetch_add(&f_hits, 1);
    int code = atomic_load(&f_code);
    if (code == SQLITE_IOERR)
        return sync ? SQLITE_IOERR_FSYNC : SQLITE_IOERR_WRITE;
    return code;
}

/* --- the file shim: ours, then the real file right after it ---------- */

typedef struct fault_file {
    sqlite3_file base;
    sqlite3_file *real;
} fault_file;

static sqlite3_vfs *real_vfs;

#define REAL(f) (((fault_file *)(f))->real)
#define RM(f) (REAL(f)->pMethods)

static int f_close(sqlite3_file *f) { return RM(f)->xClose(REAL(f)); }

static int f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    return RM(f)->xRead(REAL(f), buf, n, off);
}

static int f_write(sqlite3_file *f, const void *buf, int n,
                   sqlite3_int64 off)
{
    int rc = fault_check(false);
    return rc != SQLITE_OK ? rc : RM(f)->xWrite(REAL(f), buf, n, off);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return RM(f)->xTruncate(REAL(f), size);
}

static int f_sync(sqlite3_file *f, int flags)
{
    int rc = fault_check(true);
    return rc != SQLITE_OK ? rc : RM(f)->xSync(REAL(f), flags);
}

static int f_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return RM(f)->xFileSize(REAL(f), size);
}

static int f_lock(sqlite3_file *f, int l) { return RM(f)->xLock(REAL(f), l); }
static int f_unlock(sqlite3_file *f, int l) { return RM(f)->xUnlock(REAL(f), l); }

static int f_check_reserved(sqlite3_file *f, int *out)
{
    return RM(f)->xCheckReservedLock(REAL(f), out);
}

static int f_file_control(sqlite3_file *f, int op, void *arg)
{
    return RM(f)->xFileControl(REAL(f), op, arg);
}

static int f_sector_size(sqlite3_file *f) { return RM(f)->xSectorSize(REAL(f)); }

static int f_device_chars(sqlite3_file *f)
{
    return RM(f)->xDeviceCharacteristics(REAL(f));
}

/* Shared memory (version 2) and memory mapping (version 3): passed
 * through when the real file has them. */
static int f_shm_map(sqlite3_file *f, int pg, int pgsz, int extend,
                     void volatile **pp)
{
    if (RM(f)->iVersion < 2)
        return SQLITE_IOERR_SHMMAP;
    return RM(f)->xShmMap(REAL(f), pg, pgsz, extend, pp);
}

static int f_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return RM(f)->xShmLock(REAL(f), off, n, flags);
}

static void f_shm_barrier(sqlite3_file *f) { RM(f)->xShmBarrier(REAL(f)); }

static int f_shm_unmap(sqlite3_file *f, int del)
{
    return RM(f)->xShmUnmap(REAL(f), del);
}

static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
    if (RM(f)->iVersion < 3) {
        *pp = NULL;
        return SQLITE_OK;
    }
    return RM(f)->xFetch(REAL(f), off, n, pp);
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return RM(f)->iVersion < 3 ? SQLITE_OK : RM(f)->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods fault_io = {
    .iVersion = 3,
    .xClose = f_close, .xRead = f_read, .xWrite = f_write,
    .xTruncate = f_truncate, .xSync = f_sync, .xFileSize = f_file_size,
    .xLock = f_lock, .xUnlock = f_unlock,
    .xCheckReservedLock = f_check_reserved,
    .xFileControl = f_file_control, .xSectorSize = f_sector_size,
    .xDeviceCharacteristics = f_device_chars,
    .xShmMap = f_shm_map, .xShmLock = f_shm_lock,
    .xShmBarrier = f_shm_barrier, .xShmUnmap = f_shm_unmap,
    .xFetch = f_fetch, .xUnfetch = f_unfetch,
};

/* --- the VFS: everything forwarded to the real one ------------------- */

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file,
                  int flags, int *out_flags)
{
    (void)vfs;
    fault_file *f = (fault_file *)file;
    f->real = (sqlite3_file *)(f + 1);
    int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
    /* SQLite calls xClose whenever pMethods is set, even after a failed
     * open; mirror the real file. */
    f->base.pMethods = f->real->pMethods ? &fault_io : NULL;
    return rc;
}

static int v_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
    (void)vfs;
    return real_vfs->xDelete(real_vfs, name, sync);
}

static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int v_full_pathname(sqlite3_vfs *vfs, const char *name, int n,
                           char *out)
{
    (void)vfs;
    return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static void *v_dl_open(sqlite3_vfs *vfs, const char *name)
{
    (void)vfs;
    return real_vfs->xDlOpen(real_vfs, name);
}

static void v_dl_error(sqlite3_vfs *vfs, int n, char *msg)
{
    (void)vfs;
    real_vfs->xDlError(real_vfs, n, msg);
}

static void (*v_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
    (void)vfs;
    return real_vfs->xDlSym(real_vfs, h, sym);
}

static void v_dl_close(sqlite3_vfs *vfs, void *h)
{
    (void)vfs;
    real_vfs->xDlClose(real_vfs, h);
}

static int v_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return real_vfs->xRandomness(real_vfs, n, out);
}

static int v_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return real_vfs->xSleep(real_vfs, us);
}

static int v_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return real_vfs->xCurrentTime(real_vfs, out);
}

static int v_last_error(sqlite3_vfs *vfs, int n, char *msg)
{
    (void)vfs;
    return real_vfs->xGetLastError(real_vfs, n, msg);
}

static int v_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    if (real_vfs->iVersion >= 2 && real_vfs->xCurrentTimeInt64)
        return real_vfs->xCurrentTimeInt64(real_vfs, out);
    double day;
    int rc = real_vfs->xCurrentTime(real_vfs, &day);
    *out = (sqlite3_int64)(day * 86400000.0);
    return rc;
}

static sqlite3_vfs fault_vfs;
static pthread_once_t fault_once = PTHREAD_ONCE_INIT;
static int fault_reg_rc = SQLITE_OK;

static void fault_register(void)
{
    real_vfs = sqlite3_vfs_find(NULL);
    if (!real_vfs) {
        fault_reg_rc = SQLITE_ERROR;
        return;
    }
    fault_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(fault_file) + real_vfs->szOsFile,
        .mxPathname = real_vfs->mxPathname,
        .zName = FAULT_VFS_NAME,
        .xOpen = v_open, .xDelete = v_delete, .xAccess = v_access,
        .xFullPathname = v_full_pathname,
        .xDlOpen = v_dl_open, .xDlError = v_dl_error, .xDlSym = v_dl_sym,
        .xDlClose = v_dl_close, .xRandomness = v_randomness,
        .xSleep = v_sleep, .xCurrentTime = v_current_time,
        .xGetLastError = v_last_error,
        .xCurrentTimeInt64 = v_current_time64,
    };
    fault_reg_rc = sqlite3_vfs_register(&fault_vfs, 0);   /* not default */
}

int store__fault_vfs(const char **name, char *err, size_t errlen)
{
    pthread_once(&fault_once, fault_register);
    if (fault_reg_rc != SQLITE_OK)
        return err_set(err, errlen, -EIO,
                       "cannot register the fault-injection VFS: %s",
                       sqlite3_errstr(fault_reg_rc));
    *name = FAULT_VFS_NAME;
    return 0;
}

/* A non-negative integer environment variable; absent is *set = false. */
static int env_long(const char *var, long *out, bool *set, char *err,
                    size_t errlen)
{
    const char *v = getenv(var);
    *set = v && *v;
    if (!*set)
        return 0;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || end == v || n < 0)
        return err_set(err, errlen, -EINVAL,
                       "%s: must be an integer >= 0, got \"%s\"", var, v);
    *out = n;
    return 0;
}

int store__fault_env_read(struct fault_env *fe, char *err, size_t errlen)
{
    *fe = (struct fault_env){.code = SQLITE_FULL, .count = -1};
    bool count_set;
    int rc = env_long("RESWEEP_FAULT_WRITES", &fe->after, &fe->set, err,
                      errlen);
    if (rc < 0 ||
        (rc = env_long("RESWEEP_FAULT_COUNT", &fe->count, &count_set, err,
                       errlen)) < 0)
        return rc;
    const char *code = getenv("RESWEEP_FAULT_ERROR");
    if (code && *code) {
        if (strcasecmp(code, "full") == 0)
            fe->code = SQLITE_FULL;
        else if (strcasecmp(code, "ioerr") == 0)
            fe->code = SQLITE_IOERR;
        else
            return err_set(err, errlen, -EINVAL,
                           "RESWEEP_FAULT_ERROR: must be full or ioerr, got "
                           "\"%s\"", code);
    }
    return 0;
}

void store__fault_env_arm(const struct fault_env *fe)
{
    store_fault_arm(fe->after, fe->code);
    if (fe->count >= 0)
        atomic_store(&f_left, fe->count);
}
