/*
 * Unit tests for common/dlq.c: order by due time, FIFO among equal dues,
 * insertion out of order (delays that differ between members), removal
 * from head, middle and tail, membership.
 */
#include <check.h>
#include <stdlib.h>

#include "dlq.h"

struct item {
    int id;
    struct dlq_node n;
};

/* The ids of q from head to tail into out; returns the count, and checks
 * that the backward links mirror the forward ones. */
static int
ids(const struct dlq *q, int *out, int cap)
{
    int k = 0;
    const struct dlq_node *prev = NULL;

    for (const struct dlq_node *n = q->head; n && k < cap; n = n->next) {
        ck_assert_ptr_eq(n->prev, prev);
        if (prev)
            ck_assert(prev->due <= n->due);
        out[k++] = DLQ_ENTRY(n, struct item, n)->id;
        prev = n;
    }
    ck_assert_ptr_eq(q->tail, prev);
    return k;
}

START_TEST(dlq_in_order_inserts_are_fifo)
{
    struct dlq q = {0};
    struct item it[4] = {{0}, {1}, {2}, {3}};
    int got[8];

    dlq_insert(&q, &it[0].n, 100);
    dlq_insert(&q, &it[1].n, 100);
    dlq_insert(&q, &it[2].n, 150);
    dlq_insert(&q, &it[3].n, 150);
    ck_assert_int_eq(ids(&q, got, 8), 4);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(got[i], i);
}
END_TEST

START_TEST(dlq_earlier_deadline_goes_before_later_ones)
{
    /* A member with a shorter delay (say a session created after a
     * reload lowered ping_interval) must not wait behind longer ones. */
    struct dlq q = {0};
    struct item a = {1}, b = {2}, c = {3}, d = {4};
    int got[8];

    dlq_insert(&q, &a.n, 1000);
    dlq_insert(&q, &b.n, 2000);
    dlq_insert(&q, &c.n, 500);   /* new head */
    dlq_insert(&q, &d.n, 1500);  /* middle */
    ck_assert_int_eq(ids(&q, got, 8), 4);
    ck_assert_int_eq(got[0], 3);
    ck_assert_int_eq(got[1], 1);
    ck_assert_int_eq(got[2], 4);
    ck_assert_int_eq(got[3], 2);
    ck_assert_int_eq(q.head->due, 500);
}
END_TEST

START_TEST(dlq_equal_due_inserted_in_the_middle_stays_after_its_peers)
{
    struct dlq q = {0};
    struct item a = {1}, b = {2}, c = {3};
    int got[8];

    dlq_insert(&q, &a.n, 10);
    dlq_insert(&q, &b.n, 30);
    dlq_insert(&q, &c.n, 10);
    ck_assert_int_eq(ids(&q, got, 8), 3);
    ck_assert_int_eq(got[0], 1);
    ck_assert_int_eq(got[1], 3);
    ck_assert_int_eq(got[2], 2);
}
END_TEST

START_TEST(dlq_remove_head_middle_tail)
{
    struct dlq q = {0};
    struct item it[5] = {{0}, {1}, {2}, {3}, {4}};
    int got[8];

    for (int i = 0; i < 5; i++)
        dlq_insert(&q, &it[i].n, i * 10);
    dlq_remove(&q, &it[0].n);
    dlq_remove(&q, &it[2].n);
    dlq_remove(&q, &it[4].n);
    ck_assert_int_eq(ids(&q, got, 8), 2);
    ck_assert_int_eq(got[0], 1);
    ck_assert_int_eq(got[1], 3);
    ck_assert_int_eq(dlq_contains(&q, &it[0].n), 0);
    ck_assert_int_eq(dlq_contains(&q, &it[1].n), 1);
    ck_assert_int_eq(dlq_contains(&q, &it[3].n), 1);
    dlq_remove(&q, &it[1].n);
    dlq_remove(&q, &it[3].n);
    ck_assert_ptr_null(q.head);
    ck_assert_ptr_null(q.tail);
    ck_assert_int_eq(dlq_contains(&q, &it[3].n), 0);
}
END_TEST

START_TEST(dlq_reinsert_after_remove_moves_to_new_place)
{
    struct dlq q = {0};
    struct item a = {1}, b = {2};
    int got[8];

    dlq_insert(&q, &a.n, 5);
    dlq_insert(&q, &b.n, 6);
    dlq_remove(&q, &a.n);
    dlq_insert(&q, &a.n, 7);     /* a pong re-arms the next ping */
    ck_assert_int_eq(ids(&q, got, 8), 2);
    ck_assert_int_eq(got[0], 2);
    ck_assert_int_eq(got[1], 1);
}
END_TEST

START_TEST(dlq_many_random_inserts_stay_sorted)
{
    struct dlq q = {0};
    enum { N = 2000 };
    struct item *it = calloc(N, sizeof(*it));
    int *got = calloc(N, sizeof(*got));
    unsigned x = 12345;
    int removed = 0;

    ck_assert_ptr_nonnull(it);
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        it[i].id = i;
        dlq_insert(&q, &it[i].n, (int64_t)(x >> 16) % 500);
        if (i % 7 == 3 && dlq_contains(&q, &it[i / 2].n)) {
            dlq_remove(&q, &it[i / 2].n);
            removed++;
        }
    }
    ck_assert_int_eq(ids(&q, got, N), N - removed); /* order and links */
    free(it);
    free(got);
}
END_TEST

static Suite *
dlq_suite(void)
{
    Suite *s = suite_create("dlq");
    TCase *tc = tcase_create("order");

    tcase_add_test(tc, dlq_in_order_inserts_are_fifo);
    tcase_add_test(tc, dlq_earlier_deadline_goes_before_later_ones);
    tcase_add_test(tc, dlq_equal_due_inserted_in_the_middle_stays_after_its_peers);
    tcase_add_test(tc, dlq_many_random_inserts_stay_sorted);
    suite_add_tcase(s, tc);

    tc = tcase_create("remove");
    tcase_add_test(tc, dlq_remove_head_middle_tail);
    tcase_add_test(tc, dlq_reinsert_after_remove_moves_to_new_place);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(dlq_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
