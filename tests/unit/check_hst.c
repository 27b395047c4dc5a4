/*
 * Unit tests for master/hst.c: one point per second with the deliveries
 * rate from the counter's change; a second sampled twice is replaced; the
 * 1 s ring keeps the last hour; a minute point (averages, stamped with the
 * minute's end) appears when the minute changes; since filters the JSON.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "master/hst.h"

#define T0 INT64_C(1800000000) /* a whole minute, unix seconds */

START_TEST(hst_rates_from_counter)
{
    struct hst *h = hst_new();

    ck_assert_ptr_nonnull(h);
    hst_sample(h, T0 * 1000, 5, 100);
    hst_sample(h, (T0 + 1) * 1000, 6, 150);
    hst_sample(h, (T0 + 2) * 1000, 7, 140); /* went backwards: 0 */
    ck_assert_uint_eq(hst_count(h, 0), 3);
    ck_assert_double_eq(hst_at(h, 0, 0)->dps, 0);
    ck_assert_int_eq(hst_at(h, 0, 1)->t, T0 + 1);
    ck_assert_uint_eq(hst_at(h, 0, 1)->conns, 6);
    ck_assert_double_eq_tol(hst_at(h, 0, 1)->dps, 50, 1e-9);
    ck_assert_double_eq(hst_at(h, 0, 2)->dps, 0);
    /* The same second again: replaced, not added. */
    hst_sample(h, (T0 + 2) * 1000 + 500, 9, 190);
    ck_assert_uint_eq(hst_count(h, 0), 3);
    ck_assert_uint_eq(hst_at(h, 0, 2)->conns, 9);
    ck_assert_double_eq_tol(hst_at(h, 0, 2)->dps, 100, 1e-9);
    ck_assert_ptr_null(hst_at(h, 0, 3));
    hst_free(&h);
    ck_assert_ptr_null(h);
}
END_TEST

START_TEST(hst_rings_are_bounded_and_minutes_average)
{
    struct hst *h = hst_new();
    uint64_t d = 0;

    for (int64_t s = 0; s < HST_SECONDS + 120; s++) {
        d += 10;
        hst_sample(h, (T0 + s) * 1000, (uint64_t)(s % 60 < 30 ? 10 : 20), d);
    }
    ck_assert_uint_eq(hst_count(h, 0), HST_SECONDS);
    ck_assert_int_eq(hst_at(h, 0, 0)->t, T0 + 120);
    ck_assert_int_eq(hst_at(h, 0, HST_SECONDS - 1)->t,
        T0 + HST_SECONDS + 119);
    /* 61 minutes complete (the 62nd is open). */
    ck_assert_uint_eq(hst_count(h, 1), (HST_SECONDS + 120) / 60 - 1);
    ck_assert_int_eq(hst_at(h, 1, 0)->t, T0 + 60);
    ck_assert_uint_eq(hst_at(h, 1, 1)->conns, 15);
    ck_assert_double_eq_tol(hst_at(h, 1, 1)->dps, 10, 1e-9);
    hst_free(&h);
}
END_TEST

START_TEST(hst_json_since)
{
    struct hst *h = hst_new();
    struct evbuffer *b = evbuffer_new();
    char s[512];
    size_t n;

    for (int64_t i = 0; i < 3; i++)
        hst_sample(h, (T0 + i) * 1000, 1, 0);
    hst_json(h, T0, b);
    n = evbuffer_remove(b, s, sizeof(s) - 1);
    s[n] = '\0';
    ck_assert_str_eq(s, "{\"ok\":true,\"seconds\":{\"interval_s\":1,"
        "\"capacity\":3600,\"points\":[[1800000001,1,0.00],"
        "[1800000002,1,0.00]]},\"minutes\":{\"interval_s\":60,"
        "\"capacity\":1440,\"points\":[]}}");
    evbuffer_free(b);
    hst_free(&h);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("hst");
    TCase *tc = tcase_create("sample");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, hst_rates_from_counter);
    tcase_add_test(tc, hst_rings_are_bounded_and_minutes_average);
    tcase_add_test(tc, hst_json_since);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
