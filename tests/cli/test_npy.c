/* The .npy writer of `resweep export` (clients/cli/npy.c): headers of
 * NumPy's format 1.0 whose length is a multiple of 64 and whose dict
 * parses back to the shape, for every rank from 0 to 4 and dimensions
 * of 12 digits; the file is the header and the values, bit for bit; an
 * unwritable path is a sentence. (test_export.sh has numpy read them.) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"
#include "engine.h"

/* The header's dict parsed back the way numpy reads it: the literal
 * between the braces, its three keys, the shape tuple. */
static int parse_header(const unsigned char *b, int total, long *shape)
{
    assert_memory_equal(b, "\x93NUMPY\x01\x00", 8);
    int hlen = b[8] | b[9] << 8;
    assert_int_equal(10 + hlen, total);
    assert_int_equal(total % 64, 0);
    assert_int_equal(b[total - 1], '\n');
    char dict[CLI_NPY_HEADER_MAX];
    memcpy(dict, b + 10, (size_t)hlen);
    dict[hlen] = '\0';
    assert_non_null(strstr(dict, "'descr': '<f8'"));
    assert_non_null(strstr(dict, "'fortran_order': False"));
    char *p = strstr(dict, "'shape': (");
    assert_non_null(p);
    p += strlen("'shape': (");
    int n = 0;
    while (*p != ')') {
        char *end;
        shape[n++] = strtol(p, &end, 10);
        assert_true(end > p);
        p = end;
        if (*p == ',')
            p++;
        while (*p == ' ')
            p++;
    }
    /* a 1-tuple needs its comma, as Python writes it */
    if (n == 1)
        assert_non_null(strstr(dict, ",)"));
    for (p++; *p && *p != '\n'; p++)
        assert_true(*p == ' ' || *p == ',' || *p == '}');
    return n;
}

static void headers_parse_back(void **state)
{
    (void)state;
    const long shapes[][4] = {{0}, {7}, {3, 4}, {1, 8, 8}, {2, 1, 16, 16},
                              {123456789012L, 98765432109L, 3, 4}};
    const int ndims[] = {0, 1, 2, 3, 4, 4};
    for (size_t i = 0; i < sizeof ndims / sizeof ndims[0]; i++) {
        unsigned char b[CLI_NPY_HEADER_MAX];
        int total = cli_npy_header(b, sizeof b, ndims[i], shapes[i]);
        assert_true(total >= 64);
        long back[4];
        assert_int_equal(parse_header(b, total, back), ndims[i]);
        for (int k = 0; k < ndims[i]; k++)
            assert_int_equal(back[k], shapes[i][k]);
    }
    unsigned char small[32];
    assert_int_equal(cli_npy_header(small, sizeof small, 1, shapes[1]), -1);
}

static void file_is_header_then_values(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_npy.XXXXXX", path[64], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/a.npy", dir);
    double v[6] = {1.5, -2, 0.1, 1e300, -0.0, 3};
    unsigned char le[48];
    run_array_to_le(v, 6, le);
    long shape[2] = {2, 3};
    assert_int_equal(cli_npy_write(path, 2, shape, le, sizeof le, err,
                                   sizeof err), 0);
    FILE *f = fopen(path, "rb");
    unsigned char b[256];
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    unsigned char head[CLI_NPY_HEADER_MAX];
    int total = cli_npy_header(head, sizeof head, 2, shape);
    assert_int_equal(n, (size_t)total + 48);
    assert_memory_equal(b, head, (size_t)total);
    long back[4];
    assert_int_equal(parse_header(b, total, back), 2);
    assert_true(back[0] == 2 && back[1] == 3);
    assert_memory_equal(b + total, le, 48);
    double again[6];
    run_array_from_le(b + total, 6, again);
    assert_memory_equal(again, v, sizeof v);
    snprintf(path, sizeof path, "%s/no/such/dir/a.npy", dir);
    assert_int_equal(cli_npy_write(path, 2, shape, le, sizeof le, err,
                                   sizeof err), -ENOENT);
    assert_non_null(strstr(err, "cannot write: No such file or directory"));
    assert_non_null(strstr(err, path));
    snprintf(path, sizeof path, "%s/a.npy", dir);
    remove(path);
    remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(headers_parse_back),
        cmocka_unit_test(file_is_header_then_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
