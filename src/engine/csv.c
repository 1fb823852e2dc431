/* csv.c — numeric CSV tables (see csv.h; docs/theory.md §2 user data).
 *
 * The reader streams the file one cell at a time through a fixed buffer of
 * CSV_MAX_CELL_CHARS, so a line of any length costs no more memory than its
 * cells; the table grows by doubling but never past max_cells, which is
 * checked before each growth.
 */
#include "csv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

enum cell_end { END_COMMA, END_LINE, END_EOF };

typedef struct reader {
    FILE *f;
    const char *path;
    long line;          /* line number of the next byte, from 1 */
    int read_errno;     /* errno of a read error, 0 if none */
    poller *p;          /* ticked once a cell (may be NULL) */
} reader;

typedef struct cell {
    char text[CSV_MAX_CELL_CHARS + 1];
    size_t len;
    bool too_long;
    enum cell_end end;
} cell;

static void cell_append(cell *c, int ch)
{
    if (c->len < CSV_MAX_CELL_CHARS)
        c->text[c->len++] = (char)ch;
    else
        c->too_long = true;
}

/* Reads one cell up to a comma, a line end (LF, CRLF or CR) or the end of
 * the file. Blanks around the cell are dropped and a run of blanks inside
 * it becomes one space (it is invalid anyway, and this keeps a cell padded
 * with any number of blanks within the fixed buffer). */
static void read_cell(reader *r, cell *c)
{
    bool pending_blank = false;
    c->len = 0;
    c->too_long = false;
    for (;;) {
        int ch = getc_unlocked(r->f);
        if (ch == EOF) {
            if (ferror(r->f))
                r->read_errno = errno ? errno : EIO;
            c->end = END_EOF;
            break;
        }
        if (ch == ',') {
            c->end = END_COMMA;
            break;
        }
        if (ch == '\n' || ch == '\r') {
            if (ch == '\r') {
                int next = getc_unlocked(r->f);
                if (next != '\n' && next != EOF)
                    ungetc(next, r->f);
            }
            r->line++;
            c->end = END_LINE;
            break;
        }
        if (ch == ' ' || ch == '\t') {
            pending_blank = c->len > 0;
            continue;
        }
        if (pending_blank)
            cell_append(c, ' ');
        pending_blank = false;
        /* A NUL would cut the text short of what strtod must reject. */
        cell_append(c, ch == '\0' ? '?' : ch);
        if (c->too_long) {
            /* An error for every caller: stop here, so that even an
             * endless stream without separators ends. */
            c->end = END_COMMA;
            break;
        }
    }
    c->text[c->len] = '\0';
}

/* A line whose first cell is empty and not followed by a comma. */
static bool cell_is_blank_line(const cell *c)
{
    return c->len == 0 && !c->too_long && c->end != END_COMMA;
}

static int read_error(const reader *r, char *err, size_t errlen)
{
    return err_set(err, errlen, -EIO, "error reading %s: %s", r->path,
                   strerror(r->read_errno));
}

/* ---- quoting file contents in errors --------------------------------- */

/* Room for CSV_QUOTE_BYTES bytes escaped as \xNN, "..." and the NUL. */
#define QUOTE_LEN (CSV_QUOTE_BYTES * 4 + 4)

/* The text an error quotes from the file: its first CSV_QUOTE_BYTES bytes,
 * printable ASCII as is, '"' and '\\' escaped, every other byte as \xNN,
 * "..." when cut. Errors are stored with the run and shown to whoever
 * reads it, so a file that is not a CSV (a system file) must not have its
 * lines copied there, nor bytes that are not text. */
static const char *quote(const char *s, char out[QUOTE_LEN])
{
    size_t o = 0, i = 0;
    for (; s[i] && i < CSV_QUOTE_BYTES; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch >= 0x20 && ch < 0x7f) {
            out[o++] = (char)ch;
        } else {
            o += (size_t)snprintf(out + o, QUOTE_LEN - o, "\\x%02x", ch);
        }
    }
    if (s[i])
        o += (size_t)snprintf(out + o, QUOTE_LEN - o, "...");
    out[o] = '\0';
    return out;
}

/* ---- header ---------------------------------------------------------- */

static int add_name(csv_table *t, size_t *cap, cell *c, long line,
                    const reader *r, char *err, size_t errlen)
{
    char *s = c->text;
    size_t len = c->len;
    if (t->cols == 0 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3; /* UTF-8 byte order mark, as spreadsheets write it */
        len -= 3;
    }
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
        s++;
        len -= 2;
    }
    if (c->too_long)
        return err_set(err, errlen, -EINVAL,
                       "%s line %ld: the name of column %d is longer than %d characters",
                       r->path, line, t->cols + 1, CSV_MAX_CELL_CHARS);
    if (len == 0)
        return err_set(err, errlen, -EINVAL, "%s line %ld: column %d has no name",
                       r->path, line, t->cols + 1);
    if ((size_t)t->cols == *cap) {
        size_t ncap = *cap ? 2 * *cap : 16;
        char **names = realloc(t->names, ncap * sizeof *names);
        if (!names)
            return err_set(err, errlen, -ENOMEM, "out of memory reading the header of %s",
                           r->path);
        t->names = names;
        *cap = ncap;
    }
    char *name = malloc(len + 1);
    if (!name)
        return err_set(err, errlen, -ENOMEM, "out of memory reading the header of %s",
                       r->path);
    memcpy(name, s, len);
    name[len] = '\0';
    t->names[t->cols++] = name;
    return 0;
}

static int cmp_name_index(const void *a, const void *b, void *names)
{
    char **n = names;
    int ia = *(const int *)a, ib = *(const int *)b;
    int c = strcmp(n[ia], n[ib]);
    return c ? c : (ia > ib) - (ia < ib);
}

/* Duplicate names would make target_column ambiguous; sorting indices keeps
 * the check O(c log c) for the widest files. */
static int check_duplicates(const csv_table *t, long line, const reader *r,
                            char *err, size_t errlen)
{
    int *idx = malloc((size_t)t->cols * sizeof *idx);
    if (!idx)
        return err_set(err, errlen, -ENOMEM, "out of memory reading the header of %s",
                       r->path);
    for (int i = 0; i < t->cols; i++)
        idx[i] = i;
    qsort_r(idx, (size_t)t->cols, sizeof *idx, cmp_name_index, t->names);
    int rc = 0;
    char q[QUOTE_LEN];
    for (int i = 1; i < t->cols; i++)
        if (strcmp(t->names[idx[i - 1]], t->names[idx[i]]) == 0) {
            rc = err_set(err, errlen, -EINVAL,
                         "%s line %ld: column name \"%s\" appears twice (columns %d and %d)",
                         r->path, line, quote(t->names[idx[i]], q), idx[i - 1] + 1,
                         idx[i] + 1);
            break;
        }
    free(idx);
    return rc;
}

static int read_header(reader *r, cell *c, int max_cols, csv_table *t,
                       char *err, size_t errlen)
{
    long line;
    for (;;) { /* skip blank lines before the header */
        line = r->line;
        read_cell(r, c);
        if (r->read_errno)
            return read_error(r, err, errlen);
        if (!cell_is_blank_line(c))
            break;
        if (c->end == END_EOF)
            return err_set(err, errlen, -EINVAL,
                           "%s is empty: expected a header row of column names", r->path);
    }
    size_t cap = 0;
    for (;;) {
        if (t->cols >= max_cols)
            return err_set(err, errlen, -EFBIG, "%s line %ld: more than %d columns",
                           r->path, line, max_cols);
        int rc = add_name(t, &cap, c, line, r, err, errlen);
        if (rc)
            return rc;
        if (c->end != END_COMMA)
            break;
        read_cell(r, c);
        if (r->read_errno)
            return read_error(r, err, errlen);
    }
    return check_duplicates(t, line, r, err, errlen);
}

/* ---- rows ------------------------------------------------------------ */

/* Room for one more row, never past max_cells. */
static int reserve_row(csv_table *t, size_t *cap, long max_cells, long line,
                       const reader *r, char *err, size_t errlen)
{
    if ((size_t)t->rows < *cap)
        return 0;
    size_t limit = (size_t)(max_cells / t->cols);
    if ((size_t)t->rows >= limit)
        return err_set(err, errlen, -EFBIG,
                       "%s line %ld: more than %ld cells (rows x columns), the limit",
                       r->path, line, max_cells);
    size_t ncap = *cap ? 2 * *cap : 64;
    if (ncap > limit)
        ncap = limit;
    double *cells = realloc(t->cells, ncap * (size_t)t->cols * sizeof *cells);
    if (!cells)
        return err_set(err, errlen, -ENOMEM, "out of memory reading %s at line %ld",
                       r->path, line);
    t->cells = cells;
    long *lines = realloc(t->lines, ncap * sizeof *lines);
    if (!lines)
        return err_set(err, errlen, -ENOMEM, "out of memory reading %s at line %ld",
                       r->path, line);
    t->lines = lines;
    *cap = ncap;
    return 0;
}

/* Decimal numbers only: strtod also reads "nan", "inf" and hexadecimal,
 * none of which is a data value (the first two are caught as non-finite). */
static bool is_hex(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    return s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

static int parse_cell(const cell *c, const char *col, long line, const reader *r,
                      double *out, char *err, size_t errlen)
{
    char qcol[QUOTE_LEN], qcell[QUOTE_LEN];   /* filled on error only */
    if (c->too_long)
        return err_set(err, errlen, -EINVAL,
                       "%s line %ld: column \"%s\": cell is longer than %d characters",
                       r->path, line, quote(col, qcol), CSV_MAX_CELL_CHARS);
    if (c->len == 0)
        return err_set(err, errlen, -EINVAL, "%s line %ld: column \"%s\": empty cell",
                       r->path, line, quote(col, qcol));
    char *end;
    double v = strtod(c->text, &end);
    if (end == c->text || *end != '\0' || is_hex(c->text))
        return err_set(err, errlen, -EINVAL,
                       "%s line %ld: column \"%s\": \"%s\" is not a number",
                       r->path, line, quote(col, qcol), quote(c->text, qcell));
    if (!isfinite(v))
        return err_set(err, errlen, -EINVAL,
                       "%s line %ld: column \"%s\": \"%s\" is not a finite number",
                       r->path, line, quote(col, qcol), quote(c->text, qcell));
    *out = v;
    return 0;
}

/* The cells of one row whose first cell is already in c. */
static int read_row(reader *r, cell *c, long line, double *row, const csv_table *t,
                    char *err, size_t errlen)
{
    for (int col = 0;; col++) {
        if (col > 0) {
            read_cell(r, c);
            if (r->read_errno)
                return read_error(r, err, errlen);
        }
        if (col >= t->cols)
            return err_set(err, errlen, -EINVAL,
                           "%s line %ld: more cells than the %d columns of the header",
                           r->path, line, t->cols);
        int rc = parse_cell(c, t->names[col], line, r, row + col, err, errlen);
        if (rc || (rc = poller_tick(r->p, 1)))
            return rc;
        if (c->end == END_COMMA)
            continue;
        if (col + 1 < t->cols)
            return err_set(err, errlen, -EINVAL,
                           "%s line %ld: %d cells, but the header has %d columns",
                           r->path, line, col + 1, t->cols);
        return 0;
    }
}

static int read_rows(reader *r, cell *c, long max_cells, long max_rows,
                     csv_table *t, char *err, size_t errlen)
{
    size_t cap = 0;
    while (t->rows < max_rows) {
        long line = r->line;
        read_cell(r, c);
        if (r->read_errno)
            return read_error(r, err, errlen);
        if (cell_is_blank_line(c)) {
            if (c->end == END_EOF)
                return 0;
            int rc = poller_tick(r->p, 1);
            if (rc)
                return rc;
            continue;
        }
        int rc = reserve_row(t, &cap, max_cells, line, r, err, errlen);
        if (rc)
            return rc;
        rc = read_row(r, c, line, t->cells + (size_t)t->rows * (size_t)t->cols, t,
                      err, errlen);
        if (rc)
            return rc;
        t->lines[t->rows++] = line;
        if (c->end == END_EOF)
            return 0;
    }
    return 0;
}

/* ---- public ---------------------------------------------------------- */

static const char *file_kind(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

/* Opens a regular file for reading, and nothing else (issue 9 §2): a FIFO
 * or a device would block the worker in open() or read() where no cancel
 * reaches it. O_NONBLOCK keeps open() itself from waiting for a FIFO's
 * writer; once fstat() says the file is regular the flag is cleared (it
 * means nothing for regular files, but the stream should not see it). */
static int open_regular(const char *path, FILE **out, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return err_set(err, errlen, -e, "cannot open %s: %s", path, strerror(e));
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        rc = err_set(err, errlen, -e, "cannot stat %s: %s", path, strerror(e));
    } else if (!S_ISREG(st.st_mode)) {
        rc = err_set(err, errlen, -EINVAL, "%s is %s, not a regular file", path,
                     file_kind(st.st_mode));
    } else {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 ||
            !(*out = fdopen(fd, "r"))) {
            int e = errno;
            rc = err_set(err, errlen, -e, "cannot open %s: %s", path, strerror(e));
        }
    }
    if (rc)
        close(fd);
    return rc;
}

static int read_table(const char *path, int max_cols, long max_cells,
                      long max_rows, csv_table *out, poller *p, char *err,
                      size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *f = NULL;
    int orc = open_regular(path, &f, err, errlen);
    if (orc)
        return orc;
    int rc;
    reader r = {.f = f, .path = path, .line = 1, .read_errno = 0, .p = p};
    cell *c = malloc(sizeof *c);
    if (!c) {
        rc = err_set(err, errlen, -ENOMEM, "out of memory reading %s", path);
        goto out;
    }
    rc = read_header(&r, c, max_cols, out, err, errlen);
    if (rc == 0 && c->end != END_EOF)
        rc = read_rows(&r, c, max_cells, max_rows, out, err, errlen);
out:
    free(c);
    fclose(f);
    if (rc)
        csv_free(out);
    return rc;
}

int csv_read(const char *path, int max_cols, long max_cells, csv_table *out,
             poller *p, char *err, size_t errlen)
{
    return read_table(path, max_cols, max_cells, LONG_MAX, out, p, err, errlen);
}

int csv_read_head(const char *path, int max_cols, long max_rows,
                  csv_table *out, char *err, size_t errlen)
{
    return read_table(path, max_cols, LONG_MAX, max_rows, out, NULL, err,
                      errlen);
}

/* ---- measuring without parsing (csv_measure) ---- */

#define MEASURE_CHUNK (64u << 10)

typedef struct measure {
    csv_shape *sh;
    bool in_body, header_seen, prev_cr, pending;
    size_t line_len;
    int commas;
} measure;

/* Before the body: skip blank lines (blanks only), then take the first
 * other line as the header. */
static void measure_head(measure *m, int ch)
{
    if (ch == '\n' || ch == '\r') {
        if (m->header_seen) {
            m->in_body = true;
            m->prev_cr = ch == '\r';
            m->sh->cols = m->commas + 1;
            m->sh->header_bytes = m->line_len;
        }
        m->line_len = 0;
        m->commas = 0;
        return;
    }
    m->line_len++;
    m->commas += ch == ',';
    if (ch != ' ' && ch != '\t')
        m->header_seen = true;
}

/* A line ends at LF, CR or CRLF (one end, not two). */
static void measure_body(measure *m, int ch)
{
    if (ch == '\n' && m->prev_cr) {
        m->prev_cr = false;
        return;
    }
    m->prev_cr = ch == '\r';
    if (ch == '\n' || ch == '\r') {
        m->sh->rows++;
        m->pending = false;
    } else {
        m->pending = true;
    }
}

static void measure_bytes(measure *m, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (m->in_body)
            measure_body(m, p[i]);
        else
            measure_head(m, p[i]);
    }
}

int csv_measure(const char *path, csv_shape *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *f = NULL;
    int rc = open_regular(path, &f, err, errlen);
    if (rc)
        return rc;
    unsigned char *buf = malloc(MEASURE_CHUNK);
    if (!buf) {
        fclose(f);
        return err_set(err, errlen, -ENOMEM, "out of memory measuring %s", path);
    }
    measure m = {.sh = out};
    size_t n;
    while ((n = fread(buf, 1, MEASURE_CHUNK, f)) > 0)
        measure_bytes(&m, buf, n);
    if (ferror(f))
        rc = err_set(err, errlen, -EIO, "cannot read %s", path);
    else if (!m.in_body && m.header_seen) { /* a header and no line end */
        out->cols = m.commas + 1;
        out->header_bytes = m.line_len;
    } else if (m.pending) {
        out->rows++;
    }
    free(buf);
    fclose(f);
    return rc;
}

/* Mirrors csv_read: the cell buffer, the names (each a malloc, the array
 * doubling from 16), the duplicate check's index, and the table doubling
 * from 64 rows to the one that holds them all, never past max_cells.
 * While realloc copies, the old table and the new one are both live. */
size_t csv_read_bytes(const csv_shape *sh, long max_cells, size_t *table)
{
    size_t cols = (size_t)(sh->cols > 0 ? sh->cols : 0);
    size_t names = sh->header_bytes + cols * (24 + 2 * sizeof(char *) + sizeof(int));
    size_t rows = (size_t)(sh->rows > 0 ? sh->rows : 0), cap = 0, prev = 0;
    if (cols > 0 && rows > 0) {
        size_t limit = (size_t)max_cells / cols;
        if (rows > limit)
            rows = limit;
        for (cap = 64; cap < rows; cap *= 2)
            prev = cap;
        if (cap > limit)
            cap = limit;
    }
    size_t row = cols * sizeof(double) + sizeof(long);
    *table = names + cap * row;
    return *table + prev * row + sizeof(cell);
}

int csv_column(const csv_table *t, const char *name)
{
    for (int j = 0; j < t->cols; j++)
        if (strcmp(t->names[j], name) == 0)
            return j;
    return -1;
}

void csv_free(csv_table *t)
{
    if (!t)
        return;
    for (int j = 0; j < t->cols; j++)
        free(t->names[j]);
    free(t->names);
    free(t->cells);
    free(t->lines);
    memset(t, 0, sizeof *t);
}
