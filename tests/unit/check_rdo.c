/*
 * Unit tests for master/rdo.c, the outbox of own stream entries: oseqs
 * from 1 in order, all-or-none batches, entries read back in order (an
 * earlier one still waiting counts as lost), read-back entries giving way
 * to new ones and expiring, pending ones never dropped (the bound says
 * full instead), and growth past the first ring.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "master/rdo.h"

static void
setup(void)
{
    ck_assert_int_eq(rdo_init(), 0);
}

static void
teardown(void)
{
    rdo_free();
}

/* Push one entry of len bytes (all 'x'). */
static enum rdo_status
push1(size_t len, size_t limit, uint64_t *first)
{
    unsigned char buf[256];

    memset(buf, 'x', sizeof(buf));
    return rdo_push(buf, &len, 1, limit, first);
}

START_TEST(rdo_numbers_and_copies_in_order)
{
    const unsigned char buf[] = "abcdef";
    size_t lens[3] = {1, 2, 3};
    uint64_t first = 0;

    ck_assert_uint_eq(rdo_next(), 1);
    ck_assert_uint_eq(rdo_oldest(), 1);
    ck_assert_int_eq(rdo_push(buf, lens, 3, 100, &first), RDO_OK);
    ck_assert_uint_eq(first, 1);
    ck_assert_uint_eq(rdo_next(), 4);
    ck_assert_uint_eq(rdo_first_pending(), 1);
    ck_assert_uint_eq(rdo_at(2)->len, 2);
    ck_assert_int_eq(memcmp(rdo_at(2)->data, "bc", 2), 0);
    ck_assert_int_eq(memcmp(rdo_at(3)->data, "def", 3), 0);
    ck_assert_ptr_null(rdo_at(0));
    ck_assert_ptr_null(rdo_at(4));
}
END_TEST

START_TEST(rdo_read_back_in_order_and_kept_until_expiry)
{
    uint64_t first;

    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(push1(10, 100, &first), RDO_OK);
    /* 2 came back: 1, before it, was lost from the stream. */
    rdo_back(2, 77, 1000);
    ck_assert_uint_eq(rdo_first_pending(), 3);
    ck_assert_uint_eq(rdo_at(2)->seq, 77);
    ck_assert_uint_eq(rdo_at(1)->seq, 0);
    ck_assert_int_eq(rdo_at(1)->done_ms, 1000);
    ck_assert_int_eq(rdo_at(3)->done_ms, 0);
    rdo_expire(1500, 600);          /* kept */
    ck_assert_ptr_nonnull(rdo_at(1));
    rdo_expire(1700, 600);          /* gone; 3 is pending */
    ck_assert_ptr_null(rdo_at(2));
    ck_assert_ptr_nonnull(rdo_at(3));
    ck_assert_uint_eq(rdo_oldest(), 3);
}
END_TEST

START_TEST(rdo_kept_give_way_pending_never_do)
{
    uint64_t first;

    ck_assert_int_eq(push1(40, 100, &first), RDO_OK);   /* 1 */
    ck_assert_int_eq(push1(40, 100, &first), RDO_OK);   /* 2 */
    ck_assert_int_eq(push1(40, 100, &first), RDO_E_FULL);
    ck_assert_uint_eq(rdo_next(), 3);                   /* nothing taken */
    rdo_back(1, 5, 10);
    ck_assert_int_eq(push1(40, 100, &first), RDO_OK);   /* 1 gives way */
    ck_assert_uint_eq(first, 3);
    ck_assert_ptr_null(rdo_at(1));
    ck_assert_ptr_nonnull(rdo_at(2));
    /* A batch is all or none. */
    unsigned char buf[64] = {0};
    size_t lens[2] = {10, 30};
    ck_assert_int_eq(rdo_push(buf, lens, 2, 100, &first), RDO_E_FULL);
    ck_assert_uint_eq(rdo_next(), 4);
}
END_TEST

START_TEST(rdo_grows_past_its_first_ring)
{
    uint64_t first;

    for (int i = 0; i < 5000; i++)
        ck_assert_int_eq(push1(1, 1u << 20, &first), RDO_OK);
    ck_assert_uint_eq(first, 5000);
    ck_assert_uint_eq(rdo_at(4321)->oseq, 4321);
    rdo_back(2500, 9, 1);
    rdo_expire(100, 10);
    ck_assert_uint_eq(rdo_oldest(), 2501);
    ck_assert_uint_eq(rdo_at(4999)->oseq, 4999);
    for (int i = 0; i < 3000; i++)
        ck_assert_int_eq(push1(1, 1u << 20, &first), RDO_OK);
    ck_assert_uint_eq(rdo_at(7999)->oseq, 7999);
    ck_assert_uint_eq(rdo_at(2501)->oseq, 2501);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("rdo");
    TCase *tc = tcase_create("outbox");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rdo_numbers_and_copies_in_order);
    tcase_add_test(tc, rdo_read_back_in_order_and_kept_until_expiry);
    tcase_add_test(tc, rdo_kept_give_way_pending_never_do);
    tcase_add_test(tc, rdo_grows_past_its_first_ring);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
