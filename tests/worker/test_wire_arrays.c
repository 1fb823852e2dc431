/* A finish's "arrays" member (src/worker/wire_arrays.c, docs/protocol.md):
 * the values come back bit for bit (NaN, -0, subnormals included), and an
 * entry whose shape does not match its data, a name given twice, a name
 * too long or more arrays than RUN_ARRAYS_MAX are refused with a sentence
 * naming the entry. Arrays past what a finish carries are split off, in
 * order, for arrays_part, whose head (name, shape) reads back as sent
 * and is refused past its limit. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "wire.h"

static run_arrays two(double *u, double *W)
{
    run_arrays as = {.n = 2};
    as.a[0] = (run_array){.name = "u_star", .ndim = 1, .shape = {3}, .data = u};
    as.a[1] = (run_array){.name = "W_hidden", .ndim = 3, .shape = {1, 2, 2},
                          .data = W};
    return as;
}

static void values_round_trip_bit_for_bit(void **state)
{
    (void)state;
    double u[3] = {NAN, -0.0, 4.9e-324}, W[4] = {1.0 / 3, -1e308, INFINITY, 2};
    run_arrays as = two(u, W);
    cJSON *j = wire_arrays_to_json(&as);
    assert_non_null(j);
    char *text = cJSON_PrintUnformatted(j);
    cJSON *back = cJSON_Parse(text);
    run_arrays *got = NULL;
    char err[256] = "";
    assert_int_equal(wire_arrays_from_json(back, &got, err, sizeof err), 0);
    assert_int_equal(got->n, 2);
    assert_string_equal(got->a[1].name, "W_hidden");
    assert_int_equal(got->a[1].ndim, 3);
    assert_int_equal(got->a[1].shape[2], 2);
    assert_memory_equal(got->a[0].data, u, sizeof u);
    assert_memory_equal(got->a[1].data, W, sizeof W);
    assert_int_equal(wire_arrays_bytes(got), 56);
    free(got);
    free(text);
    cJSON_Delete(back);
    cJSON_Delete(j);
}

static void refused(cJSON *arr, const char *want)
{
    run_arrays *got = (run_arrays *)1;
    char err[256] = "";
    assert_int_equal(wire_arrays_from_json(arr, &got, err, sizeof err),
                     -EINVAL);
    assert_null(got);
    if (!strstr(err, want))
        fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static void bad_entries_are_refused_by_name(void **state)
{
    (void)state;
    double u[3] = {1, 2, 3}, W[4] = {4, 5, 6, 7};
    run_arrays as = two(u, W);
    cJSON *j = wire_arrays_to_json(&as);
    cJSON *shape = cJSON_GetObjectItem(cJSON_GetArrayItem(j, 1), "shape");
    cJSON_ReplaceItemInArray(shape, 2, cJSON_CreateNumber(3));
    refused(j, "arrays[1].data: must be the base64 of 6 little-endian");
    cJSON_Delete(j);

    as.a[1] = as.a[0];
    j = wire_arrays_to_json(&as);
    refused(j, "arrays[1]: a second array named u_star");
    cJSON_Delete(j);

    as = two(u, W);
    j = wire_arrays_to_json(&as);
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(j, 0), "name",
                              cJSON_CreateString("a_name_of_16_byt"));
    refused(j, "arrays[0]: needs a name of 1 to 15 bytes");
    cJSON_Delete(j);

    j = wire_arrays_to_json(&as);
    cJSON_ReplaceItemInArray(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0),
                                                 "shape"), 0,
                             cJSON_CreateNumber(-1));
    refused(j, "arrays[0].shape[0]: must be an integer");
    cJSON_Delete(j);

    j = cJSON_CreateArray();
    for (int i = 0; i <= RUN_ARRAYS_MAX; i++)
        cJSON_AddItemToArray(j, cJSON_CreateObject());
    refused(j, "at most 8 objects");
    cJSON_Delete(j);
}

/* Sizes only: the split never reads the values. */
static run_array sized(const char *name, long n)
{
    run_array a = {.ndim = 1, .shape = {n}};
    strcpy(a.name, name);
    return a;
}

static void what_does_not_fit_goes_in_parts(void **state)
{
    (void)state;
    const long room = (long)(WIRE_MAX_ARRAY_BYTES / 8);
    run_arrays as = {.n = 5}, inl, big;
    as.a[0] = sized("u_star", 10);
    as.a[1] = sized("w", 10);
    as.a[2] = sized("W_hidden", room);       /* with u_star and w: too many */
    as.a[3] = sized("b1", room - 30);        /* fits beside the first two */
    as.a[4] = sized("V", 11);                /* 10 + 10 + room - 30 + 11: no */
    wire_arrays_split(&as, &inl, &big);
    assert_int_equal(inl.n, 3);
    assert_string_equal(inl.a[0].name, "u_star");
    assert_string_equal(inl.a[1].name, "w");
    assert_string_equal(inl.a[2].name, "b1");
    assert_int_equal(big.n, 2);
    assert_string_equal(big.a[0].name, "W_hidden");
    assert_string_equal(big.a[1].name, "V");
    assert_true(wire_arrays_bytes(&inl) <= WIRE_MAX_ARRAY_BYTES);

    as.n = 2;   /* a small run's arrays all stay in the finish */
    wire_arrays_split(&as, &inl, &big);
    assert_int_equal(inl.n, 2);
    assert_int_equal(big.n, 0);
    wire_arrays_split(NULL, &inl, &big);
    assert_int_equal(inl.n + big.n, 0);
}

static void a_head_reads_back_within_its_limit(void **state)
{
    (void)state;
    run_array a = {.name = "W_hidden", .ndim = 3, .shape = {2, 1000, 1000}};
    run_array got;
    size_t n = 0;
    char err[256] = "";
    cJSON *o = cJSON_CreateObject();
    assert_true(wire_array_head_to_json(o, &a));
    assert_int_equal(wire_array_head_from_json(o, "arrays_part", 2000000,
                                               &got, &n, err, sizeof err), 0);
    assert_string_equal(got.name, "W_hidden");
    assert_int_equal(got.ndim, 3);
    assert_int_equal(got.shape[1], 1000);
    assert_null(got.data);
    assert_int_equal(n, 2000000);
    assert_int_equal(wire_array_head_from_json(o, "arrays_part", 1999999,
                                               &got, &n, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "arrays_part: more than 1999999 values"));
    cJSON_Delete(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values_round_trip_bit_for_bit),
        cmocka_unit_test(bad_entries_are_refused_by_name),
        cmocka_unit_test(what_does_not_fit_goes_in_parts),
        cmocka_unit_test(a_head_reads_back_within_its_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
