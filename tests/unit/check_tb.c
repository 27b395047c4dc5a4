/*
 * Unit tests for common/tb.c: a full bucket gives burst tokens at once,
 * refills at the rate up to burst, survives a wrapped clock, and packs
 * into one word.
 */
#include <check.h>
#include <stdlib.h>

#include "common/tb.h"

START_TEST(tb_burst_then_rate)
{
    uint32_t t, at;

    tb_init(&t, &at, 100, 5);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(tb_take(&t, &at, 100, 10, 5), 1);
    ck_assert_int_eq(tb_take(&t, &at, 100, 10, 5), 0);
    ck_assert_int_eq(tb_take(&t, &at, 150, 10, 5), 0);   /* half a token */
    ck_assert_int_eq(tb_take(&t, &at, 200, 10, 5), 1);   /* 100 ms: one */
    ck_assert_int_eq(tb_take(&t, &at, 200, 10, 5), 0);
    /* A long pause fills it to burst, not beyond. */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(tb_take(&t, &at, 100000, 10, 5), 1);
    ck_assert_int_eq(tb_take(&t, &at, 100000, 10, 5), 0);
}
END_TEST

START_TEST(tb_wrapped_clock_and_pack)
{
    uint32_t t, at, t2, at2;

    tb_init(&t, &at, UINT32_MAX - 10, 1);
    ck_assert_int_eq(tb_take(&t, &at, UINT32_MAX - 10, 1, 1), 1);
    ck_assert_int_eq(tb_take(&t, &at, 500, 1, 1), 0);     /* 511 ms on */
    ck_assert_int_eq(tb_take(&t, &at, 1000, 1, 1), 1);    /* 1011 ms on */
    tb_unpack(tb_pack(t, at), &t2, &at2);
    ck_assert_uint_eq(t2, t);
    ck_assert_uint_eq(at2, at);
    tb_init(&t, &at, 0, 2 * TB_MAX_BURST);                /* clamped */
    ck_assert_uint_eq(t, TB_MAX_BURST * 1000u);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("tb");
    TCase *tc = tcase_create("bucket");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, tb_burst_then_rate);
    tcase_add_test(tc, tb_wrapped_clock_and_pack);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
