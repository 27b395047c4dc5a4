/*
 * Unit tests for common/dhp.c: the earliest node first whatever the
 * insertion order, moves earlier and later, removal from anywhere (each
 * node's index kept right), growing and giving the array back.
 */
#include <check.h>
#include <stdlib.h>

#include "dhp.h"

struct item {
    int id;
    uint32_t due;
    struct dhp_node n;
};

/* The items of a test, for the heap's node function: ref = index. */
static struct item *items;

static struct dhp_node *
node_of(uint32_t ref, void *arg)
{
    ck_assert_ptr_eq(arg, &items);
    return &items[ref].n;
}

/* Every node's index points back at its entry, and every parent is due
 * no later than its children. */
static void
check_heap(const struct dhp *h)
{
    for (uint32_t i = 0; i < h->n; i++) {
        ck_assert_uint_eq(items[h->v[i].ref].n.pos, i + 1);
        if (i > 0)
            ck_assert(h->v[(i - 1) / 2].due <= h->v[i].due);
    }
}

/* Pop everything, checking the dues come out in order and match the
 * items'; returns how many came out. */
static int
drain(struct dhp *h)
{
    int64_t last = -1;
    uint32_t due;
    struct dhp_node *n;
    int k = 0;

    while ((n = dhp_first(h, &due)) != NULL) {
        struct item *it = DHP_ENTRY(n, struct item, n);
        ck_assert(due >= last);
        ck_assert(due == it->due);
        last = due;
        dhp_remove(h, n);
        ck_assert(!dhp_queued(n));
        k++;
    }
    return k;
}

START_TEST(dhp_earliest_first_whatever_the_order)
{
    struct dhp h;
    struct item it[5] = {{0, 50}, {1, 10}, {2, 40}, {3, 10}, {4, 30}};
    uint32_t due;

    items = it;
    dhp_init(&h, node_of, &items);
    ck_assert_ptr_null(dhp_first(&h, &due));
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(dhp_set(&h, &it[i].n, (uint32_t)i, it[i].due), 0);
    check_heap(&h);
    ck_assert_int_eq(DHP_ENTRY(dhp_first(&h, &due), struct item, n)->due,
        10);
    ck_assert_int_eq(drain(&h), 5);
    dhp_free(&h);
}
END_TEST

START_TEST(dhp_set_moves_a_queued_node_earlier_or_later)
{
    struct dhp h;
    struct item it[3] = {{1, 100}, {2, 200}, {3, 300}};
    struct item *a = &it[0], *c = &it[2];
    uint32_t due;

    items = it;
    dhp_init(&h, node_of, &items);
    for (uint32_t i = 0; i < 3; i++)
        dhp_set(&h, &it[i].n, i, it[i].due);
    c->due = 50; /* earlier: a refresh to a shorter token */
    dhp_set(&h, &c->n, 2, c->due);
    ck_assert_ptr_eq(dhp_first(&h, &due), &c->n);
    ck_assert_int_eq(due, 50);
    c->due = 500; /* later */
    dhp_set(&h, &c->n, 2, c->due);
    ck_assert_ptr_eq(dhp_first(&h, NULL), &a->n);
    ck_assert_uint_eq(h.n, 3);
    check_heap(&h);
    ck_assert_int_eq(drain(&h), 3);
    dhp_free(&h);
}
END_TEST

START_TEST(dhp_remove_from_anywhere_keeps_the_order)
{
    enum { N = 5000 };
    struct dhp h;
    struct item *it = calloc(N, sizeof(*it));
    int left = N;

    items = it;
    dhp_init(&h, node_of, &items);
    srandom(18);
    for (int i = 0; i < N; i++) {
        it[i].id = i;
        it[i].due = (uint32_t)(random() % 1000);
        ck_assert_int_eq(dhp_set(&h, &it[i].n, (uint32_t)i, it[i].due), 0);
    }
    check_heap(&h);
    for (int i = 0; i < N; i += 3) {
        dhp_remove(&h, &it[i].n);
        ck_assert(!dhp_queued(&it[i].n));
        left--;
    }
    dhp_remove(&h, &it[0].n); /* in no heap: nothing happens */
    check_heap(&h);
    for (int i = 1; i < N; i += 3) {
        it[i].due = (uint32_t)(random() % 1000);
        dhp_set(&h, &it[i].n, (uint32_t)i, it[i].due);
    }
    check_heap(&h);
    ck_assert_int_eq(drain(&h), left);
    free(it);
    dhp_free(&h);
}
END_TEST

START_TEST(dhp_array_grows_and_gives_memory_back)
{
    enum { N = 4096 };
    struct dhp h;
    struct item *it = calloc(N, sizeof(*it));

    items = it;
    dhp_init(&h, node_of, &items);
    for (int i = 0; i < N; i++)
        dhp_set(&h, &it[i].n, (uint32_t)i, (uint32_t)(N - i));
    ck_assert_uint_ge(h.cap, N);
    for (int i = 0; i < N - 10; i++)
        dhp_remove(&h, &it[i].n);
    ck_assert_uint_le(h.cap, 64);
    check_heap(&h);
    ck_assert_uint_eq(h.n, 10);
    free(it);
    dhp_free(&h);
}
END_TEST

static Suite *
dhp_suite(void)
{
    Suite *s = suite_create("dhp");
    TCase *tc = tcase_create("order");

    tcase_add_test(tc, dhp_earliest_first_whatever_the_order);
    tcase_add_test(tc, dhp_set_moves_a_queued_node_earlier_or_later);
    suite_add_tcase(s, tc);

    tc = tcase_create("remove");
    tcase_add_test(tc, dhp_remove_from_anywhere_keeps_the_order);
    tcase_add_test(tc, dhp_array_grows_and_gives_memory_back);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(dhp_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
