/*
 * Unit tests for shm/ltab.c: counts are summed over every record's
 * table, a limit takes back the count that would pass it, a released
 * record's counts vanish, a full probe window is LTAB_FULL, slots whose
 * count fell to 0 are reused, and handshake buckets refill with time and
 * are shared by every record.
 */
#include <check.h>
#include <stdlib.h>

#include "shm/ltab.h"

static struct ltab *
mk(unsigned nent, unsigned nbkt)
{
    void *mem = calloc(1, ltab_size(nent, nbkt));

    ck_assert_ptr_nonnull(mem);
    return ltab_format(mem, nent, nbkt, 42);
}

START_TEST(ltab_counts_sum_over_records)
{
    struct ltab *lt = mk(64, 64);
    uint64_t ip = ltab_key(lt, LTAB_IP, "\x7f\0\0\x01", 4);
    uint64_t ip2 = ltab_key(lt, LTAB_IP, "\x7f\0\0\x02", 4);

    ck_assert_uint_ne(ip, ip2);
    ck_assert_uint_ne(ltab_key(lt, LTAB_USER, "\x7f\0\0\x01", 4), ip);
    ck_assert_int_eq(ltab_add(lt, 0, ip, 3), LTAB_OK);
    ck_assert_int_eq(ltab_add(lt, 5, ip, 3), LTAB_OK);
    ck_assert_int_eq(ltab_add(lt, 200, ip, 3), LTAB_OK);
    ck_assert_int_eq(ltab_add(lt, 0, ip, 3), LTAB_OVER);
    ck_assert_uint_eq(ltab_count(lt, ip), 3);
    ck_assert_int_eq(ltab_add(lt, 5, ip2, 3), LTAB_OK);  /* another IP */
    ltab_sub(lt, 5, ip);
    ck_assert_uint_eq(ltab_count(lt, ip), 2);
    ck_assert_int_eq(ltab_add(lt, 0, ip, 3), LTAB_OK);
    ck_assert_int_eq(ltab_add(lt, 1, ip, 0), LTAB_OK);   /* no limit */
    ck_assert_uint_eq(ltab_count(lt, ip), 4);
    free(lt);
}
END_TEST

START_TEST(ltab_release_forgets_a_dead_record)
{
    struct ltab *lt = mk(64, 64);
    uint64_t u = ltab_key(lt, LTAB_USER, "alice", 5);

    ck_assert_int_eq(ltab_add(lt, 3, u, 2), LTAB_OK);
    ck_assert_int_eq(ltab_add(lt, 3, u, 2), LTAB_OK);
    ck_assert_int_eq(ltab_total_add(lt, 3, 2), LTAB_OK);
    ck_assert_int_eq(ltab_total_add(lt, 3, 2), LTAB_OK);
    ck_assert_int_eq(ltab_total_add(lt, 4, 2), LTAB_OVER);
    ck_assert_int_eq(ltab_add(lt, 4, u, 2), LTAB_OVER);
    ltab_release(lt, 3);
    ck_assert_uint_eq(ltab_count(lt, u), 0);
    ck_assert_uint_eq(ltab_total(lt), 0);
    ck_assert_int_eq(ltab_add(lt, 4, u, 2), LTAB_OK);
    ck_assert_int_eq(ltab_total_add(lt, 4, 2), LTAB_OK);
    ltab_sub(lt, 3, u);      /* late undo on a released record: no-op */
    ltab_total_sub(lt, 3);
    ck_assert_uint_eq(ltab_count(lt, u), 1);
    ck_assert_uint_eq(ltab_total(lt), 1);
    free(lt);
}
END_TEST

START_TEST(ltab_full_window_and_reuse)
{
    struct ltab *lt = mk(16, 16);   /* 16 slots: the window is the table */
    uint64_t k[17];

    for (unsigned i = 0; i < 17; i++)
        k[i] = ltab_key(lt, LTAB_IP, &i, sizeof(i));
    for (unsigned i = 0; i < 16; i++)
        ck_assert_int_eq(ltab_add(lt, 0, k[i], 0), LTAB_OK);
    ck_assert_int_eq(ltab_add(lt, 0, k[16], 0), LTAB_FULL);
    ck_assert_uint_eq(ltab_count(lt, k[16]), 0);
    ltab_sub(lt, 0, k[7]);          /* its slot keeps the key, count 0 */
    ck_assert_int_eq(ltab_add(lt, 0, k[16], 0), LTAB_OK);
    ck_assert_uint_eq(ltab_count(lt, k[16]), 1);
    for (unsigned i = 0; i < 16; i++)
        ck_assert_uint_eq(ltab_count(lt, k[i]), i == 7 ? 0 : 1);
    free(lt);
}
END_TEST

START_TEST(ltab_rate_buckets_refill_and_are_shared)
{
    struct ltab *lt = mk(64, 16);
    uint64_t a = ltab_key(lt, LTAB_IP, "a", 1), b = ltab_key(lt, LTAB_IP,
        "b", 1);

    /* burst 3 at 1/s: three at once, the fourth refused, one more a
     * second later. */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ltab_rate(lt, a, 1000, 1, 3), LTAB_OK);
    ck_assert_int_eq(ltab_rate(lt, a, 1000, 1, 3), LTAB_OVER);
    ck_assert_int_eq(ltab_rate(lt, a, 1500, 1, 3), LTAB_OVER);
    ck_assert_int_eq(ltab_rate(lt, b, 1500, 1, 3), LTAB_OK);
    ck_assert_int_eq(ltab_rate(lt, a, 2000, 1, 3), LTAB_OK);
    ck_assert_int_eq(ltab_rate(lt, a, 2000, 1, 3), LTAB_OVER);
    free(lt);
}
END_TEST

START_TEST(ltab_rate_takes_over_idle_buckets_only)
{
    struct ltab *lt = mk(64, 16);   /* 16 buckets, windows of 8 */
    uint64_t k[40];
    unsigned full = 0, i;

    for (i = 0; i < 40; i++)
        k[i] = ltab_key(lt, LTAB_IP, &i, sizeof(i));
    /* Every bucket busy (empty, burst 1): some keys find no bucket. */
    for (i = 0; i < 40; i++)
        if (ltab_rate(lt, k[i], 5000, 1, 1) == LTAB_FULL)
            full++;
    ck_assert_uint_gt(full, 0);
    /* Ten seconds later every bucket is full again: any key gets one. */
    for (i = 0; i < 40; i++)
        ck_assert_int_ne(ltab_rate(lt, k[i], 15000 + i * 2000, 1, 1),
            LTAB_FULL);
    free(lt);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ltab");
    TCase *tc = tcase_create("counts");
    TCase *tr = tcase_create("rate");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, ltab_counts_sum_over_records);
    tcase_add_test(tc, ltab_release_forgets_a_dead_record);
    tcase_add_test(tc, ltab_full_window_and_reuse);
    tcase_add_test(tr, ltab_rate_buckets_refill_and_are_shared);
    tcase_add_test(tr, ltab_rate_takes_over_idle_buckets_only);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, tr);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
