/* A checkpoint in parts (ckparts.h): parts in order make the whole, bit
 * for bit; a part out of order, of another step or past the total is
 * refused; offset 0 starts again; runs do not mix. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ckparts.h"

static void parts_in_order_make_the_whole(void **state)
{
    (void)state;
    ckparts *l = NULL;
    unsigned char src[1000];
    for (int i = 0; i < 1000; i++)
        src[i] = (unsigned char)(i * 7 + 3);
    checkpoint w = {0};
    assert_int_equal(ckparts_add(&l, 5, 40, 0, 1000, src, 300, &w), 0);
    assert_int_equal(ckparts_add(&l, 5, 40, 300, 1000, src + 300, 300, &w), 0);
    assert_int_equal(ckparts_add(&l, 5, 40, 600, 1000, src + 600, 400, &w), 1);
    assert_int_equal(w.len, 1000);
    assert_int_equal(w.step, 40);
    assert_memory_equal(w.data, src, 1000);
    ckparts_drop(&l, 5);
    assert_null(l);
}

static void parts_out_of_order_are_refused(void **state)
{
    (void)state;
    ckparts *l = NULL;
    char b[10] = "abcdefghij";
    checkpoint w = {0};
    assert_int_equal(ckparts_add(&l, 1, 3, 5, 10, b, 5, &w), -EINVAL);  /* no start */
    assert_int_equal(ckparts_add(&l, 1, 3, 0, 10, b, 4, &w), 0);
    assert_int_equal(ckparts_add(&l, 1, 3, 5, 10, b, 5, &w), -EINVAL);  /* a gap */
    assert_int_equal(ckparts_add(&l, 1, 4, 4, 10, b, 5, &w), -EINVAL);  /* another step */
    assert_int_equal(ckparts_add(&l, 1, 3, 4, 12, b, 5, &w), -EINVAL);  /* another total */
    assert_int_equal(ckparts_add(&l, 1, 3, 4, 10, b, 7, &w), -EINVAL);  /* past the end */
    assert_int_equal(ckparts_add(&l, 1, 3, 4, 10, b + 4, 6, &w), 1);     /* still good */
    assert_memory_equal(w.data, b, 10);
    ckparts_free(&l);
}

static void offset_zero_starts_again_and_runs_do_not_mix(void **state)
{
    (void)state;
    ckparts *l = NULL;
    checkpoint w = {0};
    assert_int_equal(ckparts_add(&l, 1, 3, 0, 4, "ab", 2, &w), 0);
    assert_int_equal(ckparts_add(&l, 2, 9, 0, 2, "xy", 2, &w), 1);
    assert_memory_equal(w.data, "xy", 2);
    assert_int_equal(ckparts_add(&l, 1, 5, 0, 3, "cde", 3, &w), 1);   /* a new one */
    assert_int_equal(w.step, 5);
    assert_memory_equal(w.data, "cde", 3);
    ckparts_drop(&l, 1);
    ckparts_drop(&l, 2);
    ckparts_drop(&l, 3);   /* none: nothing happens */
    assert_null(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parts_in_order_make_the_whole),
        cmocka_unit_test(parts_out_of_order_are_refused),
        cmocka_unit_test(offset_zero_starts_again_and_runs_do_not_mix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
