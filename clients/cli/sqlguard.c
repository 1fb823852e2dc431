/* sqlguard.c — what `resweep sql` lets a statement do: read, and nothing
 * else (issue 9 §14). A read-only connection and query_only stop writes
 * to the database, but not what reaches the file system around it:
 * `VACUUM INTO 'x.db'` and ATTACH create files before they fail (or
 * succeed: VACUUM INTO only reads the database). The authorizer runs while
 * SQLite compiles each statement, so a refused action never reaches the
 * file system. */
#include <stdbool.h>
#include <string.h>

#include <sqlite3.h>

#include "cli.h"

/* Pragmas that only report. Those in with_arg take a table or index name
 * (or a row limit) as argument; the others are allowed only bare, since
 * their argument would set them. */
static const char *const pragmas_with_arg[] = {
    "table_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "foreign_key_check", "integrity_check",
    "quick_check", "table_list",
};
static const char *const pragmas_bare[] = {
    "application_id", "auto_vacuum", "cache_size", "collation_list",
    "compile_options", "data_version", "database_list", "encoding",
    "foreign_keys", "freelist_count", "function_list", "journal_mode",
    "module_list", "page_count", "page_size", "pragma_list", "query_only",
    "schema_version", "synchronous", "user_version",
};

static bool in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, list[i]) == 0)
            return true;
    return false;
}

static bool pragma_reads(const char *name, const char *arg)
{
    if (!name)
        return false;
    if (in_list(name, pragmas_with_arg,
                sizeof pragmas_with_arg / sizeof *pragmas_with_arg))
        return true;
    return !arg && in_list(name, pragmas_bare,
                           sizeof pragmas_bare / sizeof *pragmas_bare);
}

static int decide(int action, const char *a, const char *b)
{
    switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
        return SQLITE_OK;
    case SQLITE_PRAGMA:
        return pragma_reads(a, b) ? SQLITE_OK : SQLITE_DENY;
    case SQLITE_UPDATE:
        /* SQLite asks this for the schema table's columns when it
         * compiles a pragma table-valued function (pragma_table_info('runs'));
         * a statement that really writes is refused by cli_sql_check's
         * sqlite3_stmt_readonly test and by query_only. */
        return a && strcmp(a, "sqlite_master") == 0 ? SQLITE_OK : SQLITE_DENY;
    default:   /* ATTACH (also inside VACUUM INTO), writes, DDL, ... */
        return SQLITE_DENY;
    }
}

static int authorize(void *ctx, int action, const char *a, const char *b,
                     const char *db_name, const char *trigger)
{
    (void)db_name, (void)trigger;
    int verdict = decide(action, a, b);
    if (verdict == SQLITE_DENY && ctx)
        *(bool *)ctx = true;
    return verdict;
}

void cli_sql_guard(sqlite3 *db, bool *denied)
{
    if (denied)
        *denied = false;
    sqlite3_set_authorizer(db, authorize, denied);
}

int cli_sql_check(sqlite3_stmt *st)
{
    if (sqlite3_stmt_readonly(st))
        return CLI_OK;
    /* VACUUM compiles without asking the authorizer anything (its ATTACH
     * is compiled when it runs): refused here, before its first step. */
    return cli_fail(CLI_ERROR, "sql: only statements that read are allowed "
                               "(SELECT, WITH, reporting PRAGMAs); the "
                               "database is read-only here");
}
