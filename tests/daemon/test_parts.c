/* Byte strings in parts (parts.h) and the lease book that holds them
 * (remote.h): parts in order make the whole, bit for bit; a part out of
 * order, of another tag or total, or past the end is refused and leaves
 * the string as it was; a part sent again unchanged is taken again;
 * offset 0 starts again; runs and names do not mix; a run's strings over
 * the limit are refused before anything is allocated; a lease that ends
 * (finish, expiry) drops its run's parts, one that moves to its
 * reconnected worker keeps them. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "parts.h"
#include "proto.h"
#include "remote.h"

static parts_part part(int64_t run, const char *name, long tag,
                       size_t offset, size_t total, const void *data,
                       size_t len)
{
    return (parts_part){run, name, {{tag}}, offset, total, data, len};
}

static int add(parts **l, parts_part p, parts_whole *w)
{
    return parts_add(l, &p, 1 << 20, w);
}

static void parts_in_order_make_the_whole(void **state)
{
    (void)state;
    parts *l = NULL;
    unsigned char src[1000];
    for (int i = 0; i < 1000; i++)
        src[i] = (unsigned char)(i * 7 + 3);
    parts_whole w = {0};
    /* Many small parts: the buffer doubles, it is not copied each time. */
    for (int off = 0; off < 990; off += 10)
        assert_int_equal(add(&l, part(5, "ck", 40, off, 1000, src + off, 10),
                             &w), 0);
    assert_int_equal(parts_get(&l, 5, "ck", &w), 0);   /* not whole yet */
    assert_int_equal(add(&l, part(5, "ck", 40, 990, 1000, src + 990, 10), &w),
                     1);
    assert_int_equal(w.len, 1000);
    assert_int_equal(w.tag.v[0], 40);
    assert_memory_equal(w.data, src, 1000);
    assert_int_equal(parts_get(&l, 5, "ck", &w), 1);
    assert_memory_equal(w.data, src, 1000);
    parts_drop(&l, 5, "ck");
    assert_null(l);
}

static void parts_out_of_order_are_refused(void **state)
{
    (void)state;
    parts *l = NULL;
    char b[10] = "abcdefghij";
    parts_whole w = {0};
    assert_int_equal(add(&l, part(1, "x", 3, 5, 10, b, 5), &w), -EINVAL);  /* no start */
    assert_null(l);
    assert_int_equal(add(&l, part(1, "x", 3, 0, 10, b, 11), &w), -EINVAL); /* past the end */
    assert_null(l);
    assert_int_equal(add(&l, part(1, "x", 3, 0, 10, b, 4), &w), 0);
    assert_int_equal(add(&l, part(1, "x", 3, 5, 10, b + 5, 5), &w), -EINVAL);  /* a gap */
    assert_int_equal(add(&l, part(1, "x", 4, 4, 10, b + 4, 5), &w), -EINVAL);  /* another tag */
    assert_int_equal(add(&l, part(1, "x", 3, 4, 12, b + 4, 5), &w), -EINVAL);  /* another total */
    assert_int_equal(add(&l, part(1, "x", 3, 4, 10, b + 4, 7), &w), -EINVAL);  /* past the end */
    assert_int_equal(add(&l, part(1, "y", 3, 4, 10, b + 4, 6), &w), -EINVAL);  /* another name */
    assert_int_equal(add(&l, part(1, "x", 3, 4, 10, b + 4, 6), &w), 1);        /* still good */
    assert_memory_equal(w.data, b, 10);
    parts_free(&l);
}

/* uplink.h resends a request whose reply was lost with the connection:
 * the same part again is not out of order. */
static void a_part_sent_again_is_taken_again(void **state)
{
    (void)state;
    parts *l = NULL;
    char b[9] = "abcdefghi";
    parts_whole w = {0};
    assert_int_equal(add(&l, part(1, "x", 0, 0, 9, b, 3), &w), 0);
    assert_int_equal(add(&l, part(1, "x", 0, 3, 9, b + 3, 3), &w), 0);
    assert_int_equal(add(&l, part(1, "x", 0, 3, 9, b + 3, 3), &w), 0);      /* again */
    assert_int_equal(add(&l, part(1, "x", 0, 3, 9, "XYZ", 3), &w), -EINVAL); /* changed */
    assert_int_equal(add(&l, part(1, "x", 0, 6, 9, b + 6, 3), &w), 1);
    assert_int_equal(add(&l, part(1, "x", 0, 6, 9, b + 6, 3), &w), 1);      /* again, whole */
    assert_memory_equal(w.data, b, 9);
    parts_free(&l);
}

static void offset_zero_starts_again_and_runs_do_not_mix(void **state)
{
    (void)state;
    parts *l = NULL;
    parts_whole w = {0};
    assert_int_equal(add(&l, part(1, "x", 3, 0, 4, "ab", 2), &w), 0);
    assert_int_equal(add(&l, part(2, "x", 9, 0, 2, "xy", 2), &w), 1);
    assert_memory_equal(w.data, "xy", 2);
    assert_int_equal(add(&l, part(1, "y", 7, 0, 2, "pq", 2), &w), 1);
    assert_int_equal(add(&l, part(1, "x", 5, 0, 3, "cde", 3), &w), 1);   /* a new one */
    assert_int_equal(w.tag.v[0], 5);
    assert_memory_equal(w.data, "cde", 3);
    assert_int_equal(parts_get(&l, 1, "y", &w), 1);
    assert_memory_equal(w.data, "pq", 2);
    parts_drop(&l, 1, NULL);   /* every string of run 1 */
    assert_int_equal(parts_get(&l, 1, "x", &w), 0);
    assert_int_equal(parts_get(&l, 1, "y", &w), 0);
    assert_int_equal(parts_get(&l, 2, "x", &w), 1);
    parts_drop(&l, 2, "x");
    parts_drop(&l, 3, NULL);   /* none: nothing happens */
    assert_null(l);
}

static void a_run_over_the_limit_is_refused(void **state)
{
    (void)state;
    parts *l = NULL;
    parts_whole w = {0};
    parts_part p = part(1, "a", 0, 0, 60, "0123456789", 10);
    assert_int_equal(parts_add(&l, &p, 100, &w), 0);
    p = part(1, "b", 0, 0, 41, "0123456789", 10);
    assert_int_equal(parts_add(&l, &p, 100, &w), -EFBIG);   /* 60 + 41 */
    p = part(1, "b", 0, 0, 40, "0123456789", 10);
    assert_int_equal(parts_add(&l, &p, 100, &w), 0);        /* 60 + 40 */
    p = part(2, "b", 0, 0, 101, "0123456789", 10);
    assert_int_equal(parts_add(&l, &p, 100, &w), -EFBIG);   /* alone */
    p = part(1, "a", 0, 0, 60, "abc", 3);
    assert_int_equal(parts_add(&l, &p, 100, &w), 0);        /* replaces a: 60 + 40 */
    /* A claimed total is refused before anything is allocated for it. */
    p = part(3, "huge", 0, 0, SIZE_MAX / 2, "x", 1);
    assert_int_equal(parts_add(&l, &p, SIZE_MAX / 4, &w), -EFBIG);
    parts_free(&l);
}

/* --- the lease book holds a run's arrays while its lease lives --- */

static const run_array head_w = {.name = "W", .ndim = 2, .shape = {2, 3}};

/* 48 bytes (six float64) in two parts of array W of run 7. */
static void send_w(remote *rm, const rlease *l, const unsigned char *b)
{
    assert_int_equal(remote_array_part(rm, l, &head_w, 0, 48, b, 24), 0);
    assert_int_equal(remote_array_part(rm, l, &head_w, 24, 48, b + 24, 24), 0);
}

static rlease *lease7(remote *rm, rworker *w, double now)
{
    run_lease rl = {.run_id = 7, .job_id = 1, .attempt = 1};
    assert_int_equal(remote_lease_add(rm, w, &rl, now), 0);
    return remote_lease_renew(rm, w, 7, 1, now);
}

static void arrays_are_held_with_their_shape(void **state)
{
    (void)state;
    remote *rm;
    assert_int_equal(remote_new(2.0, &rm), 0);
    rworker *w = remote_worker_add(rm, 1, "h", 1, 1, 0.0);
    rlease *l = lease7(rm, w, 0.0);
    unsigned char b[48];
    for (int i = 0; i < 48; i++)
        b[i] = (unsigned char)i;
    run_array a;
    const void *le;
    assert_int_equal(remote_array_part(rm, l, &head_w, 0, 48, b, 24), 0);
    assert_int_equal(remote_array_get(rm, l, "W", &a, &le), 0);   /* half */
    run_array other = head_w;
    other.shape[1] = 4;
    assert_int_equal(remote_array_part(rm, l, &other, 24, 48, b + 24, 24),
                     -EINVAL);                                     /* another shape */
    assert_int_equal(remote_array_part(rm, l, &head_w, 24, 48, b + 24, 24), 0);
    assert_int_equal(remote_array_get(rm, l, "W", &a, &le), 1);
    assert_string_equal(a.name, "W");
    assert_int_equal(a.ndim, 2);
    assert_int_equal(a.shape[0], 2);
    assert_int_equal(a.shape[1], 3);
    assert_memory_equal(le, b, 48);
    run_array huge = {.name = "H", .ndim = 1, .shape = {1}};
    assert_int_equal(remote_array_part(rm, l, &huge, 0, PROTO_MAX_ARRAYS - 47,
                                       b, 8), -EFBIG);   /* with W's 48 */
    remote_free(rm);
}

static void a_lease_that_ends_drops_its_parts(void **state)
{
    (void)state;
    remote *rm;
    unsigned char b[48] = {1, 2, 3};
    run_array a;
    const void *le;
    assert_int_equal(remote_new(2.0, &rm), 0);
    rworker *w = remote_worker_add(rm, 1, "h", 1, 1, 0.0);

    /* Finished: the lease ends, and W with it. */
    rlease *l = lease7(rm, w, 0.0);
    send_w(rm, l, b);
    rlease copy = *l;
    remote_lease_end(rm, w, 7);
    assert_int_equal(remote_array_get(rm, &copy, "W", &a, &le), 0);

    /* Expired. */
    l = lease7(rm, w, 0.0);
    send_w(rm, l, b);
    copy = *l;
    rlease gone;
    rworker owner;
    assert_true(remote_lease_expired(rm, 10.0, &gone, &owner));
    assert_int_equal(gone.run_id, 7);
    assert_int_equal(remote_array_get(rm, &copy, "W", &a, &le), 0);

    /* Moved to the same worker reconnected: the same attempt goes on
     * sending, so W stays. */
    l = lease7(rm, w, 0.0);
    send_w(rm, l, b);
    remote_conn_closed(rm, 1);
    rworker *back = remote_worker_add(rm, 2, "h", 1, 1, 1.0);
    assert_true(remote_lease_adopt(rm, back, 7, 1, 1.0));
    l = remote_lease_renew(rm, back, 7, 1, 1.0);
    assert_non_null(l);
    assert_int_equal(remote_array_get(rm, l, "W", &a, &le), 1);
    assert_memory_equal(le, b, 48);
    remote_free(rm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parts_in_order_make_the_whole),
        cmocka_unit_test(parts_out_of_order_are_refused),
        cmocka_unit_test(a_part_sent_again_is_taken_again),
        cmocka_unit_test(offset_zero_starts_again_and_runs_do_not_mix),
        cmocka_unit_test(a_run_over_the_limit_is_refused),
        cmocka_unit_test(arrays_are_held_with_their_shape),
        cmocka_unit_test(a_lease_that_ends_drops_its_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
