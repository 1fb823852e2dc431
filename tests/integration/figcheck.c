/* figcheck.c — checks the figure files of `resweep report` for
 * tests/integration/test_report.sh (compiled by the test itself, so that
 * the check needs no Python or libxml2):
 *
 *   figcheck svg FILE   well-formed XML whose root element is <svg> in the
 *                       SVG namespace, with at least one drawing element
 *   figcheck png FILE   PNG signature, IHDR first (13 bytes, non-zero
 *                       size), an IDAT, IEND last, every chunk's CRC right
 *
 * Prints one line saying what is wrong and exits 1, or exits 0.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 256
#define MAX_NAME  128

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, got;
    unsigned char *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            unsigned char *nb = realloc(buf, (cap *= 2) + 1);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = 0;
    *len = n;
    return buf;
}

/* --- XML ------------------------------------------------------------- */

typedef struct xml {
    const char *start, *p, *end;
    char stack[MAX_DEPTH][MAX_NAME];
    int depth;
    int roots;
    bool svg_ns;
    long drawings;      /* path, rect, circle, polyline, text, use... */
    char err[256];
} xml;

static bool fail(xml *x, const char *what)
{
    if (!x->err[0])
        snprintf(x->err, sizeof x->err, "%s at byte %ld", what,
                 (long)(x->p - x->start));
    return false;
}

static bool starts(const xml *x, const char *s)
{
    size_t n = strlen(s);
    return (size_t)(x->end - x->p) >= n && memcmp(x->p, s, n) == 0;
}

static bool skip_past(xml *x, const char *s, const char *what)
{
    const char *hit = strstr(x->p, s);
    if (!hit)
        return fail(x, what);
    x->p = hit + strlen(s);
    return true;
}

static bool name_char(int c, bool first)
{
    return isalpha(c) || c == '_' || c == ':' || c >= 0x80 ||
           (!first && (isdigit(c) || c == '-' || c == '.'));
}

static bool read_name(xml *x, char *out)
{
    size_t n = 0;
    if (x->p >= x->end || !name_char((unsigned char)*x->p, true))
        return fail(x, "expected a name");
    while (x->p < x->end && name_char((unsigned char)*x->p, false)) {
        if (n + 1 < MAX_NAME)
            out[n++] = *x->p;
        x->p++;
    }
    out[n] = 0;
    return true;
}

static void skip_space(xml *x)
{
    while (x->p < x->end && isspace((unsigned char)*x->p))
        x->p++;
}

/* An entity reference after '&': &name; &#digits; &#xhex; */
static bool entity(xml *x)
{
    x->p++;
    if (*x->p == '#') {
        x->p++;
        bool hex = *x->p == 'x';
        x->p += hex;
        const char *d = x->p;
        while (hex ? isxdigit((unsigned char)*x->p)
                   : isdigit((unsigned char)*x->p))
            x->p++;
        if (x->p == d || *x->p != ';')
            return fail(x, "bad character reference");
    } else {
        char name[MAX_NAME];
        if (!read_name(x, name) || *x->p != ';')
            return fail(x, "bad entity reference");
        if (strcmp(name, "lt") && strcmp(name, "gt") && strcmp(name, "amp") &&
            strcmp(name, "quot") && strcmp(name, "apos"))
            return fail(x, "undefined entity");
    }
    x->p++;
    return true;
}

static bool attribute(xml *x, const char *elem)
{
    char name[MAX_NAME];
    if (!read_name(x, name))
        return false;
    skip_space(x);
    if (*x->p != '=')
        return fail(x, "attribute without '='");
    x->p++;
    skip_space(x);
    char q = *x->p;
    if (q != '"' && q != '\'')
        return fail(x, "unquoted attribute value");
    const char *v = ++x->p;
    while (x->p < x->end && *x->p != q) {
        if (*x->p == '<')
            return fail(x, "'<' in an attribute value");
        if (*x->p != '&')
            x->p++;
        else if (!entity(x))
            return false;
    }
    if (x->p >= x->end)
        return fail(x, "unterminated attribute value");
    if (x->depth == 0 && !strcmp(elem, "svg") && !strcmp(name, "xmlns") &&
        (size_t)(x->p - v) == strlen("http://www.w3.org/2000/svg") &&
        !memcmp(v, "http://www.w3.org/2000/svg", (size_t)(x->p - v)))
        x->svg_ns = true;
    x->p++;
    return true;
}

static bool start_tag(xml *x)
{
    char name[MAX_NAME];
    x->p++;
    if (!read_name(x, name))
        return false;
    if (x->depth == 0) {
        if (x->roots++)
            return fail(x, "more than one root element");
        if (strcmp(name, "svg"))
            return fail(x, "the root element is not <svg>");
    }
    static const char *const drawing[] = {"path", "rect", "circle", "line",
                                          "polyline", "polygon", "text",
                                          "use", "ellipse", "image"};
    for (size_t i = 0; i < sizeof drawing / sizeof *drawing; i++)
        x->drawings += !strcmp(name, drawing[i]);
    for (;;) {
        bool space = x->p < x->end && isspace((unsigned char)*x->p);
        skip_space(x);
        if (starts(x, "/>")) {
            x->p += 2;
            return true;
        }
        if (*x->p == '>') {
            x->p++;
            if (x->depth == MAX_DEPTH)
                return fail(x, "elements nested too deep");
            snprintf(x->stack[x->depth++], MAX_NAME, "%s", name);
            return true;
        }
        if (!space)
            return fail(x, "expected a space, '>' or '/>' in a tag");
        if (!attribute(x, name))
            return false;
    }
}

static bool end_tag(xml *x)
{
    char name[MAX_NAME];
    x->p += 2;
    if (!read_name(x, name))
        return false;
    skip_space(x);
    if (*x->p != '>')
        return fail(x, "bad end tag");
    x->p++;
    if (x->depth == 0 || strcmp(x->stack[x->depth - 1], name))
        return fail(x, "end tag does not match the open element");
    x->depth--;
    return true;
}

static bool markup(xml *x)
{
    if (starts(x, "<!--"))
        return skip_past(x, "-->", "unterminated comment");
    if (starts(x, "<?"))
        return skip_past(x, "?>", "unterminated processing instruction");
    if (starts(x, "<![CDATA[")) {
        if (x->depth == 0)
            return fail(x, "CDATA outside the root element");
        return skip_past(x, "]]>", "unterminated CDATA");
    }
    if (starts(x, "<!DOCTYPE")) {
        if (x->roots)
            return fail(x, "DOCTYPE after the root element");
        const char *sub = strchr(x->p, '[');
        const char *gt = strchr(x->p, '>');
        if (sub && gt && sub < gt)
            return skip_past(x, "]>", "unterminated DOCTYPE");
        return skip_past(x, ">", "unterminated DOCTYPE");
    }
    if (starts(x, "</"))
        return end_tag(x);
    return start_tag(x);
}

static bool check_svg(xml *x)
{
    if (starts(x, "\xEF\xBB\xBF"))
        x->p += 3;
    while (x->p < x->end) {
        if (*x->p == '<') {
            if (!markup(x))
                return false;
        } else if (*x->p == '&') {
            if (x->depth == 0)
                return fail(x, "text outside the root element");
            if (!entity(x))
                return false;
        } else {
            if (x->depth == 0 && !isspace((unsigned char)*x->p))
                return fail(x, "text outside the root element");
            if (*x->p == 0)
                return fail(x, "NUL byte");
            x->p++;
        }
    }
    if (x->depth)
        return fail(x, "unclosed element at the end");
    if (!x->roots)
        return fail(x, "no root element");
    if (!x->svg_ns)
        return fail(x, "the <svg> root lacks xmlns=\"http://www.w3.org/2000/svg\"");
    if (!x->drawings)
        return fail(x, "nothing is drawn");
    return true;
}

/* --- PNG ------------------------------------------------------------- */

static uint32_t crc32_png(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

static const char *check_png(const unsigned char *p, size_t n)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n',
                                         0x1A, '\n'};
    if (n < 8 || memcmp(p, sig, 8))
        return "no PNG signature";
    size_t off = 8;
    int chunks = 0, idat = 0;
    bool iend = false;
    while (off + 12 <= n && !iend) {
        uint32_t len = be32(p + off);
        const unsigned char *type = p + off + 4;
        if (len > n - off - 12)
            return "a chunk runs past the end of the file";
        if (be32(p + off + 8 + len) != crc32_png(type, len + 4))
            return "a chunk's CRC is wrong";
        if (chunks == 0 && (memcmp(type, "IHDR", 4) || len != 13 ||
                            be32(p + off + 8) == 0 ||
                            be32(p + off + 12) == 0))
            return "the first chunk is not a valid IHDR";
        idat += !memcmp(type, "IDAT", 4);
        iend = !memcmp(type, "IEND", 4);
        chunks++;
        off += 12 + len;
    }
    if (!iend)
        return "no IEND chunk";
    if (!idat)
        return "no IDAT chunk";
    if (off != n)
        return "bytes after IEND";
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "svg") && strcmp(argv[1], "png"))) {
        fprintf(stderr, "usage: figcheck svg|png FILE\n");
        return 2;
    }
    size_t n;
    unsigned char *buf = slurp(argv[2], &n);
    if (!buf) {
        printf("%s: cannot read\n", argv[2]);
        return 1;
    }
    const char *why = NULL;
    static xml x;
    if (!strcmp(argv[1], "png")) {
        why = check_png(buf, n);
    } else if (memchr(buf, 0, n)) {
        why = "NUL byte in an SVG file";
    } else {
        x.start = x.p = (const char *)buf;
        x.end = x.p + n;
        if (!check_svg(&x))
            why = x.err;
    }
    if (why)
        printf("%s: %s\n", argv[2], why);
    free(buf);
    return why ? 1 : 0;
}
