/* utf8.c — see utf8.h. */
#include "utf8.h"

#include <string.h>

static int continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

int utf8_sequence_len(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return continuation(s[1]) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        /* E0 needs A0..BF (no overlong), ED needs 80..9F (no surrogate) */
        unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return s[1] >= lo && s[1] <= hi && continuation(s[2]) ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        /* F0 needs 90..BF (no overlong), F4 needs 80..8F (<= U+10FFFF) */
        unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return s[1] >= lo && s[1] <= hi && continuation(s[2]) &&
                       continuation(s[3])
                   ? 4
                   : 0;
    }
    return 0;
}

size_t utf8_sanitize(const char *in, char *out, size_t outlen)
{
    static const char replacement[] = "\xEF\xBF\xBD";
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;
    if (outlen == 0)
        return 0;
    while (*s) {
        int n = utf8_sequence_len(s);
        const char *src = n ? (const char *)s : replacement;
        size_t len = n ? (size_t)n : 3;
        if (o + len >= outlen)
            break;
        memcpy(out + o, src, len);
        o += len;
        s += n ? n : 1;
    }
    out[o] = 0;
    return o;
}

size_t utf8_valid_len(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) {  /* the common case, and NUL, which ends no sequence here */
            i++;
            continue;
        }
        /* utf8_sequence_len reads up to 4 bytes and stops at a NUL: give it
         * a padded copy near the end of the buffer. */
        unsigned char q[5] = {0};
        memcpy(q, p + i, len - i < 4 ? len - i : 4);
        int n = utf8_sequence_len(q);
        if (n == 0)
            return i;
        i += (size_t)n;
    }
    return len;
}
