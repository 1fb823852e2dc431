/* columns.c — the results table's columns, from engine.h's
 * RUN_RESULT_COLUMNS: the insert's and the read-back's SQL, binding a
 * run_result and reading one back (see internal.h). */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The results table's columns and the run_result fields they hold, from
 * the one list in engine.h, so that the insert and the read-back cannot
 * drift apart (a round-trip test checks every field, and another the
 * schema's columns against the list). */
enum col_type { COL_REAL, COL_COUNT, COL_INT, COL_BOOL };
static const struct result_col {
    const char *name;
    enum col_type type;
    size_t off;
} result_cols[] = {
#define X(field, column, type, doc) {#column, COL_##type, offsetof(run_result, field)},
    RUN_RESULT_COLUMNS(X)
#undef X
};
#define N_RESULT_COLS (sizeof result_cols / sizeof result_cols[0])

char *store__result_sql(enum stmt_id id)
{
    size_t cap = 64 + N_RESULT_COLS * 24 + 256;
    char *sql = malloc(cap);
    if (!sql)
        return NULL;
    size_t len = 0;
#define ADD(...) (len += (size_t)snprintf(sql + len, cap - len, __VA_ARGS__))
    if (id == ST_RESULT_INSERT) {
        ADD("INSERT OR REPLACE INTO results (run_id");
        for (size_t i = 0; i < N_RESULT_COLS; i++)
            ADD(", %s", result_cols[i].name);
        ADD(") VALUES (?1");
        for (size_t i = 0; i < N_RESULT_COLS; i++)
            ADD(", ?%zu", i + 2);
        ADD(")");
    } else {
        /* Column 0: the run's state; 1: whether it has a result row. */
        ADD("SELECT r.status, x.run_id IS NOT NULL");
        for (size_t i = 0; i < N_RESULT_COLS; i++)
            ADD(", x.%s", result_cols[i].name);
        ADD(" FROM runs r LEFT JOIN results x ON x.run_id = r.run_id"
            " WHERE r.run_id = ?1");
    }
#undef ADD
    return sql;
}

void store__result_bind(sqlite3_stmt *st, const run_result *res)
{
    const char *base = (const char *)res;
    for (size_t i = 0; i < N_RESULT_COLS; i++) {
        const void *p = base + result_cols[i].off;
        int k = (int)i + 2;
        switch (result_cols[i].type) {
        case COL_REAL: store__bind_real(st, k, *(const double *)p); break;
        case COL_COUNT: store__bind_count(st, k, *(const long *)p); break;
        case COL_INT: store__bind_count(st, k, *(const int *)p); break;
        case COL_BOOL: sqlite3_bind_int(st, k, *(const bool *)p); break;
        }
    }
}

/* "Not measured" for every field, as engine.h's run_result_clear
 * documents (the store does not link the engine's training code). */
void store__result_clear(run_result *r)
{
    memset(r, 0, sizeof *r);
    char *base = (char *)r;
    for (size_t i = 0; i < N_RESULT_COLS; i++) {
        void *p = base + result_cols[i].off;
        switch (result_cols[i].type) {
        case COL_REAL: *(double *)p = NAN; break;
        case COL_COUNT: *(long *)p = -1; break;
        case COL_INT: *(int *)p = -1; break;
        case COL_BOOL: *(bool *)p = false; break;
        }
    }
    r->status = RUN_DONE;
}

void store__result_columns(sqlite3_stmt *st, int first, run_result *r)
{
    char *base = (char *)r;
    for (size_t i = 0; i < N_RESULT_COLS; i++) {
        void *p = base + result_cols[i].off;
        int k = first + (int)i;
        switch (result_cols[i].type) {
        case COL_REAL: *(double *)p = store__column_real(st, k); break;
        case COL_COUNT: *(long *)p = store__column_count(st, k); break;
        case COL_INT: *(int *)p = (int)store__column_count(st, k); break;
        case COL_BOOL: *(bool *)p = sqlite3_column_int(st, k) != 0; break;
        }
    }
}

size_t store__result_ncols(void)
{
    return N_RESULT_COLS;
}

const char *store__result_col(size_t i)
{
    return i < N_RESULT_COLS ? result_cols[i].name : NULL;
}
