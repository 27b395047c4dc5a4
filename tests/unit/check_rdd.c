/*
 * Unit tests for master/rdd.c: an origin's entries are taken once, in
 * oseq order; a jump counts the entries never seen; incarnations of one
 * node are separate origins; the least recently seen origin is forgotten
 * when the table is full.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "master/rdd.h"

#define RS(x) ((struct rent_str){(x), strlen(x)})

static void
setup(void)
{
    rdd_reset();
}

START_TEST(rdd_once_in_order_and_gaps_counted)
{
    uint64_t missed = 99;

    ck_assert_int_eq(rdd_take(RS("a"), RS("i1"), 5, 1, &missed), 0);
    ck_assert_uint_eq(missed, 0);          /* first heard of: no gap */
    ck_assert_int_eq(rdd_take(RS("a"), RS("i1"), 5, 2, &missed), 1);
    ck_assert_int_eq(rdd_take(RS("a"), RS("i1"), 3, 3, &missed), 1);
    ck_assert_int_eq(rdd_take(RS("a"), RS("i1"), 6, 4, &missed), 0);
    ck_assert_uint_eq(missed, 0);
    ck_assert_int_eq(rdd_take(RS("a"), RS("i1"), 10, 5, &missed), 0);
    ck_assert_uint_eq(missed, 3);          /* 7, 8, 9 never seen */
    /* Another incarnation of the same node starts over. */
    ck_assert_int_eq(rdd_take(RS("a"), RS("i2"), 1, 6, &missed), 0);
    ck_assert_int_eq(rdd_take(RS("a"), RS("i1"), 10, 7, &missed), 1);
}
END_TEST

START_TEST(rdd_forgets_the_least_recently_seen)
{
    char name[32];
    uint64_t missed;

    for (int i = 0; i < RDD_ORIGINS; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        ck_assert_int_eq(rdd_take(RS(name), RS("i"), 1, i, &missed), 0);
    }
    /* n0 seen again: n1 is now the least recent. */
    ck_assert_int_eq(rdd_take(RS("n0"), RS("i"), 1, 1000, &missed), 1);
    ck_assert_int_eq(rdd_take(RS("new"), RS("i"), 1, 1001, &missed), 0);
    ck_assert_int_eq(rdd_take(RS("n0"), RS("i"), 1, 1002, &missed), 1);
    /* n1 was forgotten: its entry 1 reads as new. */
    ck_assert_int_eq(rdd_take(RS("n1"), RS("i"), 1, 1003, &missed), 0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("rdd");
    TCase *tc = tcase_create("dedup");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, rdd_once_in_order_and_gaps_counted);
    tcase_add_test(tc, rdd_forgets_the_least_recently_seen);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
