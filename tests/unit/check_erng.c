/*
 * Ring of recent emitter entries: bounds by count and bytes, pruning by
 * age, and the match that tells a new lease holder which entries the
 * stream does not hold yet.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/erng.h"

#define B(s) (const unsigned char *)(s), sizeof(s) - 1

START_TEST(erng_bounds_and_prune)
{
    struct erng *r = erng_new(3, 10);
    size_t n;

    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(erng_push(r, B("aaaa"), 1), 0);
    ck_assert_int_eq(erng_push(r, B("bbbb"), 2), 0);
    ck_assert_int_eq(erng_push(r, B("cc"), 3), 0);
    ck_assert_uint_eq(erng_count(r), 3);
    /* a fourth: the oldest gives way by count */
    ck_assert_int_eq(erng_push(r, B("d"), 4), 0);
    ck_assert_uint_eq(erng_count(r), 3);
    ck_assert_int_eq(memcmp(erng_at(r, 0, &n), "bbbb", 4), 0);
    /* 4 + 2 + 1 + 5 > 10: by bytes */
    ck_assert_int_eq(erng_push(r, B("eeeee"), 5), 0);
    ck_assert_uint_eq(erng_count(r), 3);
    ck_assert_int_eq(memcmp(erng_at(r, 0, &n), "cc", 2), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(erng_push(r, B("0123456789x"), 6), -1);
    ck_assert_uint_eq(erng_count(r), 3);
    erng_prune(r, 5);
    ck_assert_uint_eq(erng_count(r), 1);
    ck_assert_int_eq(memcmp(erng_at(r, 0, &n), "eeeee", 5), 0);
    erng_prune(r, 100);
    ck_assert_uint_eq(erng_count(r), 0);
    erng_free(&r);
    ck_assert_ptr_null(r);
    erng_free(&r);
}
END_TEST

START_TEST(erng_unseen_after_newest_match)
{
    struct erng *r = erng_new(8, 1000);
    uint64_t seen[3];

    erng_push(r, B("m1"), 1);
    erng_push(r, B("m2"), 2);
    erng_push(r, B("m3"), 3);
    erng_push(r, B("m4"), 4);
    /* the stream holds m1 and m2 (and something else): m3, m4 unseen */
    seen[0] = erng_hash(B("zz"));
    seen[1] = erng_hash(B("m2"));
    seen[2] = erng_hash(B("m1"));
    ck_assert_uint_eq(erng_unseen(r, seen, 3), 2);
    seen[0] = erng_hash(B("m4"));
    ck_assert_uint_eq(erng_unseen(r, seen, 1), 4);
    /* nothing matches: all of them */
    ck_assert_uint_eq(erng_unseen(r, seen + 2, 0), 0);
    seen[0] = erng_hash(B("other"));
    ck_assert_uint_eq(erng_unseen(r, seen, 1), 0);
    ck_assert_uint_ne(erng_hash(B("m1")), erng_hash(B("m2")));
    erng_free(&r);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("erng");
    TCase *t = tcase_create("erng");
    SRunner *sr;
    int failed;

    tcase_add_test(t, erng_bounds_and_prune);
    tcase_add_test(t, erng_unseen_after_newest_match);
    suite_add_tcase(s, t);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
