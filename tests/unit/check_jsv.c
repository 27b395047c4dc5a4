/*
 * Unit tests for common/jsv.c: numbers as JavaScript's Number::toString
 * writes them (fixed and exponent forms, the shortest round-trip digits,
 * powers of two, -0, NaN and the infinities as JSON null) and Date#toJSON
 * (epoch, before 1970, six-digit years, the TimeClip limit). Expected
 * texts are what node 20 prints for String(v) and JSON.stringify(new
 * Date(t)).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsv.h"

static const char *
num(double v)
{
    static char buf[JSV_NUMBER_MAX];

    ck_assert_uint_eq(jsv_number(v, buf, sizeof(buf)), strlen(buf));
    return buf;
}

static const char *
date(double t)
{
    static char buf[JSV_DATE_MAX];

    ck_assert_uint_eq(jsv_date(t, buf, sizeof(buf)), strlen(buf));
    return buf;
}

START_TEST(jsv_integers_and_fractions_in_fixed_notation)
{
    ck_assert_str_eq(num(0), "0");
    ck_assert_str_eq(num(-0.0), "0");
    ck_assert_str_eq(num(1), "1");
    ck_assert_str_eq(num(-42), "-42");
    ck_assert_str_eq(num(0.1), "0.1");
    ck_assert_str_eq(num(0.1 + 0.2), "0.30000000000000004");
    ck_assert_str_eq(num(123.456), "123.456");
    ck_assert_str_eq(num(1e20), "100000000000000000000");
    ck_assert_str_eq(num(0.000001), "0.000001");
    ck_assert_str_eq(num(9007199254740993.0), "9007199254740992");
}
END_TEST

START_TEST(jsv_exponent_form_beyond_the_fixed_range)
{
    ck_assert_str_eq(num(1e21), "1e+21");
    ck_assert_str_eq(num(1.5e300), "1.5e+300");
    ck_assert_str_eq(num(1e-7), "1e-7");
    ck_assert_str_eq(num(-2.5e-8), "-2.5e-8");
    ck_assert_str_eq(num(5e-324), "5e-324");
    ck_assert_str_eq(num(1.7976931348623157e308), "1.7976931348623157e+308");
}
END_TEST

START_TEST(jsv_powers_of_two_take_the_shortest_digits)
{
    ck_assert_str_eq(num(9007199254740992.0), "9007199254740992");
    ck_assert_str_eq(num(ldexp(1, 70)), "1.1805916207174113e+21");
    ck_assert_str_eq(num(ldexp(1, -20)), "9.5367431640625e-7");
}
END_TEST

START_TEST(jsv_non_finite_numbers_are_null)
{
    ck_assert_str_eq(num(NAN), "null");
    ck_assert_str_eq(num(INFINITY), "null");
    ck_assert_str_eq(num(-INFINITY), "null");
}
END_TEST

START_TEST(jsv_dates_as_to_json)
{
    ck_assert_str_eq(date(0), "\"1970-01-01T00:00:00.000Z\"");
    ck_assert_str_eq(date(1765100000123.9), "\"2025-12-07T09:33:20.123Z\"");
    ck_assert_str_eq(date(-1), "\"1969-12-31T23:59:59.999Z\"");
    ck_assert_str_eq(date(8.64e15), "\"+275760-09-13T00:00:00.000Z\"");
    ck_assert_str_eq(date(-8.64e15), "\"-271821-04-20T00:00:00.000Z\"");
    ck_assert_str_eq(date(8.64e15 + 1), "null");
    ck_assert_str_eq(date(NAN), "null");
}
END_TEST

START_TEST(jsv_small_buffers_are_refused)
{
    char b[8];

    ck_assert_uint_eq(jsv_number(1, b, sizeof(b)), 0);
    ck_assert_uint_eq(jsv_date(0, b, sizeof(b)), 0);
}
END_TEST

static Suite *
jsv_suite(void)
{
    Suite *s = suite_create("jsv");
    TCase *tc = tcase_create("number");

    tcase_add_test(tc, jsv_integers_and_fractions_in_fixed_notation);
    tcase_add_test(tc, jsv_exponent_form_beyond_the_fixed_range);
    tcase_add_test(tc, jsv_powers_of_two_take_the_shortest_digits);
    tcase_add_test(tc, jsv_non_finite_numbers_are_null);
    suite_add_tcase(s, tc);
    tc = tcase_create("date");
    tcase_add_test(tc, jsv_dates_as_to_json);
    tcase_add_test(tc, jsv_small_buffers_are_refused);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(jsv_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
