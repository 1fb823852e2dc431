/* cell.c — how `sql` and `results` write a database cell (cli.h): in a
 * table for reading, in CSV and JSON for programs. Reals are the shortest
 * text that reads back as the same double (0.1, not 0.10000000000000001),
 * times (REAL columns named *_at, Unix seconds) are ISO 8601 in UTC, a
 * BLOB is its size, and a table cell longer than CLI_CELL_MAX is cut (at
 * a character boundary) unless it is the last column's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "cli.h"

static void shortest(double v, char *buf, size_t len)
{
    for (int p = 15; p <= 17; p++) {
        snprintf(buf, len, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static bool is_time_column(sqlite3_stmt *st, int i)
{
    const char *name = sqlite3_column_name(st, i);
    size_t n = name ? strlen(name) : 0;
    return n > 3 && strcmp(name + n - 3, "_at") == 0;
}

/* 2026-12-03T12:34:56.789Z; the seconds to milliseconds. */
static bool iso_time(double unix_s, char *buf, size_t len)
{
    if (!isfinite(unix_s) || unix_s < 0 || unix_s > 253402300799.0)
        return false;
    time_t t = (time_t)floor(unix_s);
    int ms = (int)floor((unix_s - (double)t) * 1000.0);
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return false;
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03dZ", day, ms > 999 ? 999 : ms);
    return true;
}

static void cut(char *buf, size_t max)
{
    if (strlen(buf) <= max)
        return;
    size_t at = max - 3;
    while (at > 0 && ((unsigned char)buf[at] & 0xC0) == 0x80)
        at--;   /* not inside a UTF-8 sequence */
    strcpy(buf + at, "...");
}

void cli_cell_text(sqlite3_stmt *st, int i, bool for_table, bool last, char *buf,
                   size_t len)
{
    double v;
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL:
        snprintf(buf, len, "%s", for_table ? "NULL" : "");
        return;
    case SQLITE_INTEGER:
        snprintf(buf, len, "%lld", (long long)sqlite3_column_int64(st, i));
        return;
    case SQLITE_FLOAT:
        v = sqlite3_column_double(st, i);
        if (is_time_column(st, i) && iso_time(v, buf, len))
            return;
        if (for_table)
            snprintf(buf, len, "%.6g", v);
        else
            shortest(v, buf, len);
        return;
    case SQLITE_BLOB:
        snprintf(buf, len, "<%d-byte blob>", sqlite3_column_bytes(st, i));
        return;
    default:
        snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, i));
        if (for_table && !last)
            cut(buf, CLI_CELL_MAX);
        return;
    }
}

cJSON *cli_row_json(sqlite3_stmt *st)
{
    cJSON *o = cJSON_CreateObject();
    int n = sqlite3_column_count(st);
    char buf[64];
    for (int i = 0; o && i < n; i++) {
        const char *name = sqlite3_column_name(st, i);
        switch (sqlite3_column_type(st, i)) {
        case SQLITE_NULL:
            cJSON_AddNullToObject(o, name);
            break;
        case SQLITE_INTEGER:
            cJSON_AddNumberToObject(o, name,
                                    (double)sqlite3_column_int64(st, i));
            break;
        case SQLITE_FLOAT:
            cJSON_AddNumberToObject(o, name, sqlite3_column_double(st, i));
            break;
        case SQLITE_BLOB:
            cli_cell_text(st, i, false, true, buf, sizeof buf);
            cJSON_AddStringToObject(o, name, buf);
            break;
        default:
            cJSON_AddStringToObject(o, name,
                                    (const char *)sqlite3_column_text(st, i));
            break;
        }
    }
    return o;
}
