/* report_doc.c — the report's two documents written side by side:
 * report.md (figures by reference) and report.html (self-contained: SVG
 * inline, PNG as a base64 data URI, no external assets). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define DOC_MAX_FILE (64L << 20)   /* a figure larger than this is refused */

static const char html_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>resweep report: %s</title>\n<style>\n"
    "body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;"
    "padding:0 1em;color:#222;line-height:1.45}\n"
    "table{border-collapse:collapse;font-size:.88em;margin:.5em 0 1.5em}\n"
    "th,td{border:1px solid #ccc;padding:2px 7px}th{background:#f2f2f2}\n"
    "td.r{text-align:right;font-variant-numeric:tabular-nums}\n"
    "figure{margin:1em 0 2em}figure svg{max-width:100%;height:auto}\n"
    "figcaption{font-size:.9em;color:#444;max-width:60em}\n"
    "pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:.85em}\n"
    "code{background:#f3f3f3;padding:0 .2em}\n"
    "</style>\n</head>\n<body>\n";

static void html_escape(FILE *f, const char *s, size_t n);

int rep_doc_open(rep_doc *d, const char *dir, const char *title, char *err,
                 size_t errlen)
{
    char path[4200];
    memset(d, 0, sizeof *d);
    d->dir = dir;
    snprintf(path, sizeof path, "%s/report.md", dir);
    d->md = fopen(path, "w");
    if (!d->md)
        goto fail;
    snprintf(path, sizeof path, "%s/report.html", dir);
    d->html = fopen(path, "w");
    if (!d->html)
        goto fail;
    /* The title is the job's name, which the user wrote: escaped. */
    const char *mark = strstr(html_head, "%s");
    fwrite(html_head, 1, (size_t)(mark - html_head), d->html);
    html_escape(d->html, title, strlen(title));
    fputs(mark + 2, d->html);
    return 0;
fail:;
    int e = errno;
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(e));
    if (d->md)
        fclose(d->md);
    d->md = NULL;
    return -e;
}

static void html_escape(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i]; i++) {
        switch (s[i]) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(s[i], f); break;
        }
    }
}

/* Markdown's **bold** and `code` (the only inline markup the report
 * writes) as HTML; everything else escaped. */
static void html_inline(FILE *f, const char *s)
{
    bool bold = false, code = false;
    while (*s) {
        if (!code && s[0] == '*' && s[1] == '*') {
            fputs(bold ? "</strong>" : "<strong>", f);
            bold = !bold;
            s += 2;
        } else if (*s == '`') {
            fputs(code ? "</code>" : "<code>", f);
            code = !code;
            s++;
        } else {
            html_escape(f, s, 1);
            s++;
        }
    }
    if (code)
        fputs("</code>", f);
    if (bold)
        fputs("</strong>", f);
}

void rep_doc_h(rep_doc *d, int level, const char *text)
{
    fprintf(d->md, "%s%.*s %s\n\n", ftell(d->md) > 0 ? "\n" : "", level,
            "######", text);
    fprintf(d->html, "<h%d>", level);
    html_inline(d->html, text);
    fprintf(d->html, "</h%d>\n", level);
}

void rep_doc_p(rep_doc *d, const char *fmt, ...)
{
    char *text = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;   /* out of memory: rep_doc_close reports the short file */
    fprintf(d->md, "%s\n\n", text);
    fputs("<p>", d->html);
    html_inline(d->html, text);
    fputs("</p>\n", d->html);
    free(text);
}

void rep_doc_code(rep_doc *d, const char *lang, const char *text)
{
    fprintf(d->md, "```%s\n%s%s```\n\n", lang, text,
            *text && text[strlen(text) - 1] == '\n' ? "" : "\n");
    fputs("<pre><code>", d->html);
    html_escape(d->html, text, strlen(text));
    fputs("</code></pre>\n", d->html);
}

/* A Markdown table cell: '|' would end it. */
static void md_cell(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
}

void rep_doc_table(rep_doc *d, int ncols, const char *const *headers,
                   const bool *right)
{
    d->ncols = ncols;
    free(d->right);
    d->right = calloc((size_t)ncols, sizeof *d->right);
    if (d->right && right)
        memcpy(d->right, right, (size_t)ncols * sizeof *right);
    fputs("|", d->md);
    fputs("<table>\n<tr>", d->html);
    for (int i = 0; i < ncols; i++) {
        fputc(' ', d->md);
        md_cell(d->md, headers[i]);
        fputs(" |", d->md);
        fputs("<th>", d->html);
        html_inline(d->html, headers[i]);
        fputs("</th>", d->html);
    }
    fputs("\n|", d->md);
    for (int i = 0; i < ncols; i++)
        fputs(d->right && d->right[i] ? "---:|" : "---|", d->md);
    fputs("\n", d->md);
    fputs("</tr>\n", d->html);
}

void rep_doc_row(rep_doc *d, const char *const *cells)
{
    fputs("|", d->md);
    fputs("<tr>", d->html);
    for (int i = 0; i < d->ncols; i++) {
        fputc(' ', d->md);
        md_cell(d->md, cells[i]);
        fputs(" |", d->md);
        fputs(d->right && d->right[i] ? "<td class=\"r\">" : "<td>", d->html);
        html_inline(d->html, cells[i]);
        fputs("</td>", d->html);
    }
    fputs("\n", d->md);
    fputs("</tr>\n", d->html);
}

void rep_doc_table_end(rep_doc *d)
{
    fputs("\n", d->md);
    fputs("</table>\n", d->html);
    d->ncols = 0;
}

/* The whole of a file in a buffer of *len bytes (NUL-terminated). */
static char *slurp(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (n < 0 || n > DOC_MAX_FILE || fseek(f, 0, SEEK_SET) != 0) {
        snprintf(err, errlen, "cannot read %s: %s", path,
                 n > DOC_MAX_FILE ? "file too large" : strerror(errno));
        goto out;
    }
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        snprintf(err, errlen, "cannot read %s: %s", path,
                 buf ? "short read" : "out of memory");
        free(buf);
        buf = NULL;
        goto out;
    }
    buf[n] = 0;
    *len = (size_t)n;
out:
    if (f)
        fclose(f);
    return buf;
}

/* gnuplot names its SVG ids the same in every figure (gpPt0, textbox,
 * gnuplot_canvas...); several figures inline in one page need distinct
 * ones, so every id and reference gets the prefix "f<n>_". */
static void svg_inline(FILE *f, const char *svg, int n)
{
    static const char *const marks[] = {
        "id='", "id=\"", "href='#", "href=\"#", "url(#",
    };
    const char *s = strstr(svg, "<svg");
    s = s ? s : svg;
    while (*s) {
        size_t hit = 0;
        for (size_t m = 0; m < sizeof marks / sizeof marks[0]; m++) {
            size_t len = strlen(marks[m]);
            if (strncmp(s, marks[m], len) == 0)
                hit = len;
        }
        if (hit) {
            fwrite(s, 1, hit, f);
            fprintf(f, "f%d_", n);
            s += hit;
        } else {
            fputc(*s++, f);
        }
    }
}

static void base64(FILE *f, const unsigned char *p, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        fputc(tab[v >> 18 & 63], f);
        fputc(tab[v >> 12 & 63], f);
        fputc(i + 1 < n ? tab[v >> 6 & 63] : '=', f);
        fputc(i + 2 < n ? tab[v & 63] : '=', f);
    }
}

int rep_doc_figure(rep_doc *d, const char *name, const char *caption,
                   char *err, size_t errlen)
{
    char path[4200];
    size_t svg_len, png_len;
    snprintf(path, sizeof path, "%s/%s.svg", d->dir, name);
    char *svg = slurp(path, &svg_len, err, errlen);
    snprintf(path, sizeof path, "%s/%s.png", d->dir, name);
    char *png = svg ? slurp(path, &png_len, err, errlen) : NULL;
    if (!png) {
        free(svg);
        return -EIO;
    }
    d->nfig++;
    fprintf(d->md, "![%s](%s.png)\n\n*Figure %d.* %s ([SVG](%s.svg))\n\n",
            name, name, d->nfig, caption, name);
    fprintf(d->html, "<figure id=\"%s\">\n", name);
    svg_inline(d->html, svg, d->nfig);
    fprintf(d->html, "\n<figcaption><strong>Figure %d.</strong> ", d->nfig);
    html_inline(d->html, caption);
    fprintf(d->html, " <a download=\"%s.png\" href=\"data:image/png;base64,",
            name);
    base64(d->html, (const unsigned char *)png, png_len);
    fputs("\">PNG</a></figcaption>\n</figure>\n", d->html);
    free(svg);
    free(png);
    return 0;
}

/* True when f had a write error or fails to close. */
static bool close_checked(FILE *f)
{
    if (!f)
        return false;
    bool bad = ferror(f) != 0;
    return (fclose(f) != 0) || bad;
}

int rep_doc_close(rep_doc *d, char *err, size_t errlen)
{
    int rc = 0;
    if (d->html)
        fputs("</body>\n</html>\n", d->html);
    bool bad_md = close_checked(d->md);
    bool bad_html = close_checked(d->html);
    if (bad_md || bad_html) {
        snprintf(err, errlen, "cannot write %s/%s: %s", d->dir,
                 bad_md ? "report.md" : "report.html", strerror(errno));
        rc = -EIO;
    }
    free(d->right);
    d->md = d->html = NULL;
    d->right = NULL;
    return rc;
}
