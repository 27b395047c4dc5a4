/*
 * Latency histograms (common/hist.c): the table, bucket selection at and
 * around every bound, observation with weights, and the Prometheus text
 * (cumulative buckets in increasing order ending with +Inf, _sum in
 * seconds, _count).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/counters.h"
#include "common/hist.h"

START_TEST(hist_table_rows_well_formed_and_unique)
{
    for (int i = 0; i < HIST__COUNT; i++) {
        const char *n = hist_desc[i].name;
        ck_assert_int_gt(strlen(n), 0);
        ck_assert_msg(strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789_")
            == strlen(n), "bad histogram name %s", n);
        ck_assert_int_gt(strlen(hist_desc[i].help), 0);
        ck_assert_ptr_null(strchr(hist_desc[i].help, '\n'));
        ck_assert_ptr_null(strchr(hist_desc[i].help, '\\'));
        for (int j = i + 1; j < HIST__COUNT; j++)
            ck_assert_str_ne(n, hist_desc[j].name);
        /* No clash with a counter's Prometheus names either. */
        for (int c = 0; c < CTR__COUNT; c++)
            ck_assert_str_ne(n, ctr_desc[c].name);
    }
}
END_TEST

START_TEST(hist_bounds_increase_from_100us_to_10s)
{
    ck_assert_uint_eq(hist_bounds_us[0], 100);
    ck_assert_uint_eq(hist_bounds_us[HIST_NBOUNDS - 1], 10000000);
    for (int i = 1; i < HIST_NBOUNDS; i++)
        ck_assert_uint_gt(hist_bounds_us[i], hist_bounds_us[i - 1]);
}
END_TEST

START_TEST(hist_bucket_is_first_bound_at_or_above)
{
    ck_assert_uint_eq(hist_bucket(0), 0);
    ck_assert_uint_eq(hist_bucket(100), 0);  /* le is inclusive */
    ck_assert_uint_eq(hist_bucket(101), 1);
    for (unsigned i = 0; i < HIST_NBOUNDS; i++) {
        ck_assert_uint_eq(hist_bucket(hist_bounds_us[i]), i);
        ck_assert_uint_eq(hist_bucket(hist_bounds_us[i] + 1), i + 1);
        ck_assert_uint_eq(hist_bucket(hist_bounds_us[i] - 1), i);
    }
    ck_assert_uint_eq(hist_bucket(10000001), HIST_NBOUNDS); /* +Inf */
    ck_assert_uint_eq(hist_bucket(UINT64_MAX), HIST_NBOUNDS);
}
END_TEST

START_TEST(hist_observe_weights_and_clamps_negative)
{
    uint64_t v[HIST_NVALS] = {0};

    hist_observe(v, 700, 5);  /* 1 ms bucket */
    hist_observe(v, -30, 2);  /* clock stepped back: 0 */
    hist_observe(v, 3000000, 1);
    ck_assert_uint_eq(v[3], 5);
    ck_assert_uint_eq(v[0], 2);
    ck_assert_uint_eq(v[14], 1); /* 2.5 s < 3 s <= 5 s */
    ck_assert_uint_eq(hist_count(v), 8);
    ck_assert_uint_eq(v[HIST_SUM], 3500 + 3000000);
    hist_observe(v, 5, 0);
    ck_assert_uint_eq(hist_count(v), 8);
}
END_TEST

/* Parse the text back: HELP, TYPE, 16 + 1 buckets with increasing le and
 * non-decreasing cumulative counts, +Inf = _count, _sum in seconds. */
START_TEST(hist_prom_text_is_cumulative_and_complete)
{
    uint64_t v[HIST_NVALS] = {0};
    char buf[HIST_PROM_MAX], *line, *save = NULL;
    double prev_le = -1, sum = -1;
    unsigned long long prev = 0, count = 0, inf = 0;
    int buckets = 0, n;

    hist_observe(v, 50, 3);
    hist_observe(v, 1200, 2);
    hist_observe(v, 12000000, 1);
    n = hist_format_prom(HIST_delivery_latency, v, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    ck_assert_int_lt(n, (int)sizeof(buf));
    ck_assert_int_eq(strncmp(buf, "# HELP wsgate_delivery_latency_seconds ",
        39), 0);
    ck_assert_ptr_nonnull(strstr(buf,
        "\n# TYPE wsgate_delivery_latency_seconds histogram\n"));
    for (line = strtok_r(buf, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char le[32];
        unsigned long long c;
        if (line[0] == '#')
            continue;
        if (sscanf(line, "wsgate_delivery_latency_seconds_bucket{le=\"%31[^\"]"
                "\"} %llu", le, &c) == 2) {
            ck_assert_int_eq(inf, 0); /* nothing after +Inf */
            ck_assert_uint_ge(c, prev);
            prev = c;
            buckets++;
            if (strcmp(le, "+Inf") == 0) {
                inf = c;
                continue;
            }
            ck_assert_double_gt(strtod(le, NULL), prev_le);
            prev_le = strtod(le, NULL);
            if (strcmp(le, "0.0001") == 0)
                ck_assert_uint_eq(c, 3);
            if (strcmp(le, "0.001") == 0)
                ck_assert_uint_eq(c, 3);
            if (strcmp(le, "0.0025") == 0)
                ck_assert_uint_eq(c, 5);
            if (strcmp(le, "10") == 0)
                ck_assert_uint_eq(c, 5);
        } else if (sscanf(line, "wsgate_delivery_latency_seconds_sum %lf",
                       &sum) == 1) {
            ck_assert_uint_eq(inf, 6);
        } else {
            ck_assert_int_eq(sscanf(line,
                "wsgate_delivery_latency_seconds_count %llu", &count), 1);
        }
    }
    ck_assert_int_eq(buckets, HIST_NBUCKETS);
    ck_assert_double_eq(prev_le, 10);
    ck_assert_uint_eq(count, 6);
    ck_assert_double_eq_tol(sum, 12.002550, 1e-9);
}
END_TEST

START_TEST(hist_prom_truncates_safely)
{
    uint64_t v[HIST_NVALS] = {0};
    char small[64];
    int n = hist_format_prom(HIST_delivery_latency, v, small, sizeof(small));

    ck_assert_int_gt(n, (int)sizeof(small));
    ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
}
END_TEST

static Suite *
hist_suite(void)
{
    Suite *s = suite_create("hist");
    TCase *t = tcase_create("table");

    tcase_add_test(t, hist_table_rows_well_formed_and_unique);
    tcase_add_test(t, hist_bounds_increase_from_100us_to_10s);
    suite_add_tcase(s, t);
    t = tcase_create("observe");
    tcase_add_test(t, hist_bucket_is_first_bound_at_or_above);
    tcase_add_test(t, hist_observe_weights_and_clamps_negative);
    suite_add_tcase(s, t);
    t = tcase_create("prometheus");
    tcase_add_test(t, hist_prom_text_is_cumulative_and_complete);
    tcase_add_test(t, hist_prom_truncates_safely);
    suite_add_tcase(s, t);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(hist_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
