/* utf8_sanitize: what reaches a client is well-formed UTF-8 (RFC 3629),
 * whatever the user sent and wherever a sentence was cut. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "utf8.h"

static void valid_text_is_kept(void **state)
{
    (void)state;
    const char *in = "gap \xE2\x89\xA4 cert: \xCE\xB8 \xF0\x9F\x98\x80 ok";
    char out[64];
    assert_int_equal(utf8_sanitize(in, out, sizeof out), strlen(in));
    assert_string_equal(out, in);
}

static void invalid_bytes_are_replaced(void **state)
{
    (void)state;
    char out[64];
    /* a lone continuation byte, an overlong '/', a surrogate, > U+10FFFF */
    utf8_sanitize("a\x80" "b\xC0\xAF" "c\xED\xA0\x80" "d\xF4\x90\x80\x80", out, sizeof out);
    assert_int_equal(strstr(out, "\xC0") == NULL, 1);
    assert_int_equal(strstr(out, "\xED\xA0") == NULL, 1);
    for (const unsigned char *p = (const unsigned char *)out; *p;) {
        int n = utf8_sequence_len(p);
        assert_true(n > 0);
        p += n;
    }
    assert_memory_equal(out, "a\xEF\xBF\xBD" "b", 5);
}

static void a_cut_character_is_dropped_or_replaced(void **state)
{
    (void)state;
    char out[64];
    /* "%.4s" of "ab\xCE\xB8\xCE\xB8" keeps half of the second theta */
    utf8_sanitize("ab\xCE\xB8\xCE", out, sizeof out);
    assert_string_equal(out, "ab\xCE\xB8\xEF\xBF\xBD");
    /* a character that does not fit in the output is left out whole */
    char small[5];
    assert_int_equal(utf8_sanitize("abc\xCE\xB8", small, sizeof small), 3);
    assert_string_equal(small, "abc");
}

static void valid_len_finds_the_first_bad_byte(void **state)
{
    (void)state;
    const char ok[] = "gap \xE2\x89\xA4 \xF0\x9F\x98\x80";
    assert_int_equal(utf8_valid_len(ok, strlen(ok)), strlen(ok));
    assert_int_equal(utf8_valid_len("ab\0cd", 5), 5);       /* NUL is a character */
    assert_int_equal(utf8_valid_len("ab\x80", 3), 2);        /* lone continuation */
    assert_int_equal(utf8_valid_len("ab\xC0\xAF", 4), 2);    /* overlong */
    assert_int_equal(utf8_valid_len("a\xED\xA0\x80", 4), 1); /* surrogate */
    /* a sequence cut by the end of the buffer, not by a NUL */
    assert_int_equal(utf8_valid_len("a\xE2\x89\xA4", 3), 1);
    assert_int_equal(utf8_valid_len("a\xF0\x9F\x98\x80", 4), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_text_is_kept),
        cmocka_unit_test(invalid_bytes_are_replaced),
        cmocka_unit_test(a_cut_character_is_dropped_or_replaced),
        cmocka_unit_test(valid_len_finds_the_first_bad_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
