/* table.c — aligned text tables for the CLI (cli.h). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct table {
    int ncols;
    char **headers;
    bool *right;
    size_t *width;
    char **cells;              /* row-major */
    size_t ncells, cap;
};

table *table_new(void)
{
    return calloc(1, sizeof(table));
}

static void *grow(void *p, size_t n, size_t size)
{
    void *q = realloc(p, n * size);
    if (!q) {
        fputs("resweep: out of memory\n", stderr);
        abort();   /* a CLI table: nothing to save */
    }
    return q;
}

void table_col(table *t, const char *header, bool right)
{
    int i = t->ncols++;
    t->headers = grow(t->headers, (size_t)t->ncols, sizeof *t->headers);
    t->right = grow(t->right, (size_t)t->ncols, sizeof *t->right);
    t->width = grow(t->width, (size_t)t->ncols, sizeof *t->width);
    t->headers[i] = strdup(header);
    t->right[i] = right;
    t->width[i] = strlen(header);
}

void table_align(table *t, int col, bool right)
{
    if (col >= 0 && col < t->ncols)
        t->right[col] = right;
}

void table_cell(table *t, const char *text)
{
    if (t->ncells == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->cells = grow(t->cells, t->cap, sizeof *t->cells);
    }
    size_t col = t->ncells % (size_t)t->ncols;
    t->cells[t->ncells++] = strdup(text ? text : "");
    size_t len = strlen(text ? text : "");
    if (len > t->width[col])
        t->width[col] = len;
}

static void print_cell(const table *t, FILE *f, int col, const char *s)
{
    int w = (int)t->width[col];
    if (col > 0)
        fputs("  ", f);
    if (t->right[col])
        fprintf(f, "%*s", w, s);
    else if (col == t->ncols - 1)
        fputs(s, f);   /* no trailing blanks */
    else
        fprintf(f, "%-*s", w, s);
}

void table_print(const table *t, FILE *f)
{
    for (int c = 0; c < t->ncols; c++)
        print_cell(t, f, c, t->headers[c]);
    fputc('\n', f);
    for (size_t i = 0; i < t->ncells; i++) {
        int c = (int)(i % (size_t)t->ncols);
        print_cell(t, f, c, t->cells[i]);
        if (c == t->ncols - 1 || i + 1 == t->ncells)
            fputc('\n', f);
    }
}

void table_free(table *t)
{
    if (!t)
        return;
    for (int c = 0; c < t->ncols; c++)
        free(t->headers[c]);
    for (size_t i = 0; i < t->ncells; i++)
        free(t->cells[i]);
    free(t->headers);
    free(t->right);
    free(t->width);
    free(t->cells);
    free(t);
}
