/* check.c — a bounded look for corruption when the store opens
 * (internal.h). A database with overwritten pages can still open and
 * answer simple queries, and SQLite reports the damage only when a
 * statement happens to touch it: perhaps hours into a sweep, perhaps as
 * wrong rows. PRAGMA quick_check reads every page and checks the b-trees
 * (not the indexes' contents; `resweep check` runs the full
 * integrity_check), and a progress handler bounds its cost on a huge
 * database: past the budget the start goes on, with a warning. */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "log.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int over_budget(void *deadline)
{
    return now_ms() > *(double *)deadline;
}

int store__quick_check(struct conn *c, int budget_ms, char *err,
                       size_t errlen)
{
    double deadline = now_ms() + budget_ms;
    sqlite3_progress_handler(c->db, 1000, over_budget, &deadline);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "PRAGMA quick_check(5)", -1, &st, NULL);
    char problems[512] = "";
    size_t used = 0;
    bool clean = true;
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(st, 0);
        rc = SQLITE_OK;
        if (line && strcmp(line, "ok") == 0)
            continue;
        clean = false;
        used += (size_t)snprintf(problems + used, sizeof problems - used,
                                 "%s%s", used ? "; " : "", line ? line : "?");
        if (used >= sizeof problems)
            used = sizeof problems - 1;
    }
    if (rc == SQLITE_OK)
        rc = SQLITE_DONE;
    sqlite3_finalize(st);
    sqlite3_progress_handler(c->db, 0, NULL, NULL);
    if (rc == SQLITE_INTERRUPT) {
        log_warn("database %s: the start-up quick check did not finish "
                 "within %d ms; run `resweep check` to check it whole",
                 c->path, budget_ms);
        return 0;
    }
    if (!clean || rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
        return err_set(err, errlen, -EIO,
                       "database %s is corrupt (%s): run `resweep check` for "
                       "the details, and restore it from a backup or move it "
                       "aside to start afresh",
                       c->path, clean ? sqlite3_errstr(rc) : problems);
    if (rc != SQLITE_DONE)
        return store__fail(c, rc, err, errlen, "checking the database");
    return 0;
}
