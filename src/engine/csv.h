/* csv.h — numeric CSV tables, the file form of user data (docs/theory.md §2;
 * docs/data.md "CSV files").
 *
 * Format: the first non-blank line is a header of column names separated
 * by commas (a name may be wrapped in double quotes, which are dropped; a
 * UTF-8 byte order mark before it is ignored). Every further non-blank line
 * is a row with exactly one cell per column. A cell is a decimal number as
 * C's strtod reads it in the "C" locale (sign, digits, '.', exponent),
 * with optional spaces or tabs around it; empty cells, NaN, infinities,
 * hexadecimal and any other text are errors. Lines end with LF, CRLF or CR;
 * lines may be of any length (the reader streams cell by cell and never
 * holds a whole line). Blank lines are skipped but still counted, so error
 * messages give the line number an editor shows.
 *
 * Limits: at most max_cols columns and max_cells cells (rows * cols),
 * checked while reading, so a huge file costs an error, not memory; a cell
 * or column name of more than CSV_MAX_CELL_CHARS characters (surrounding
 * blanks excluded) is an error.
 *
 * Error sentences start with the path ("/x/y.csv line 17: column \"x3\":
 * \"abc\" is not a number", "cannot open /x/y.csv: No such file or
 * directory"); the caller prefixes the key that named the file.
 */
#ifndef RESWEEP_CSV_H
#define RESWEEP_CSV_H

#include <stddef.h>

#include "poller.h"

#define CSV_MAX_CELL_CHARS 1024
/* Error sentences quote a cell or column name as its first
 * CSV_QUOTE_BYTES bytes, escaped (\xNN for bytes that are not printable
 * ASCII), followed by "..." when cut: the file may be anything. */
#define CSV_QUOTE_BYTES 40

typedef struct csv_table {
    int rows, cols;
    char **names;    /* cols column names, owned */
    double *cells;   /* rows * cols, row-major, owned */
    long *lines;     /* rows: the file line number of each row, owned */
} csv_table;

/* Reads the file at path into *out. Returns 0; or -ENOENT/-EACCES/...
 * (cannot open), -EIO (read error), -EINVAL (malformed: bad cell, ragged
 * row, empty or duplicate column name, no header), -EFBIG (more than
 * max_cols columns or max_cells cells), -ENOMEM, each with a sentence.
 * A header without rows is not an error here (rows = 0). The poller p
 * (may be NULL) is ticked once a cell; when it says stop, its code is
 * returned without a sentence. On error *out holds nothing to free. */
int csv_read(const char *path, int max_cols, long max_cells, csv_table *out,
             poller *p, char *err, size_t errlen);

/* The header and at most the first max_rows rows of path, as csv_read
 * reads them, for checking a file before a run reads all of it: the
 * same errors, for the lines it reads. */
int csv_read_head(const char *path, int max_cols, long max_rows,
                  csv_table *out, char *err, size_t errlen);

/* What csv_read would find in a file, measured in one pass over its
 * bytes without parsing a cell, for estimating a run's memory before it
 * runs: cols is exact (the commas of the first non-blank line, plus
 * one), rows an upper bound (every line after the header, blank ones
 * included), header_bytes the header line's length. */
typedef struct csv_shape {
    long rows;
    int cols;
    size_t header_bytes;
} csv_shape;

/* Opens path as csv_read does (a regular file only, never blocking) and
 * measures it. 0, or the errors of csv_read's open and read. */
int csv_measure(const char *path, csv_shape *out, char *err, size_t errlen);

/* Peak bytes csv_read allocates for a file of shape sh under max_cells,
 * the doubling of its table included; *table receives the bytes the
 * returned table keeps until csv_free. */
size_t csv_read_bytes(const csv_shape *sh, long max_cells, size_t *table);

/* Index of the column called name, or -1. */
int csv_column(const csv_table *t, const char *name);

void csv_free(csv_table *t);

#endif
