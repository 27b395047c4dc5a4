/*
 * Room tables: join/leave/membership, owner lists, growth past the
 * initial table sizes, name validation, top rooms.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/room.h"

#define J(o, l, n) room_join((o), (l), (n), strlen(n))
#define L(o, l, n) room_leave((o), (l), (n), strlen(n))

static void
setup(void)
{
    ck_assert_int_eq(room_init(), 0);
}

static void
teardown(void)
{
    room_reset();
}

START_TEST(room_join_leave_and_counts)
{
    int a, b;
    uint32_t la = 0, lb = 0;

    ck_assert_int_eq(J(&a, &la, "lead:42"), 1);
    ck_assert_int_eq(J(&a, &la, "lead:42"), 0); /* already */
    ck_assert_int_eq(J(&b, &lb, "lead:42"), 1);
    ck_assert_int_eq(J(&b, &lb, "user:7"), 1);
    ck_assert_uint_eq(room_count(), 2);
    ck_assert_uint_eq(room_subscriptions(), 3);
    ck_assert_uint_eq(room_size(room_find("lead:42", 7)), 2);
    ck_assert_int_eq(room_is_member(&a, "lead:42", 7), 1);
    ck_assert_int_eq(room_is_member(&a, "user:7", 6), 0);
    ck_assert_int_eq(L(&a, &la, "user:7"), 0);
    ck_assert_int_eq(L(&a, &la, "lead:42"), 1);
    ck_assert_uint_eq(la, 0);
    ck_assert_uint_eq(room_size(room_find("lead:42", 7)), 1);
    room_leave_all(&b, &lb);
    ck_assert_uint_eq(lb, 0);
    ck_assert_uint_eq(room_count(), 0); /* empty rooms vanish */
    ck_assert_uint_eq(room_subscriptions(), 0);
    ck_assert_ptr_null(room_find("lead:42", 7));
}
END_TEST

START_TEST(room_members_iterate_each_owner_once)
{
    int owners[50];
    uint32_t lists[50] = {0};
    int seen[50] = {0};

    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(J(&owners[i], &lists[i], "team"), 1);
    for (int i = 0; i < 50; i += 2)
        ck_assert_int_eq(L(&owners[i], &lists[i], "team"), 1);
    for (struct room_member *m = room_first(room_find("team", 4)); m;
         m = room_next(m))
        seen[(int *)m->owner - owners]++;
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(seen[i], i % 2);
}
END_TEST

START_TEST(room_tables_grow)
{
    enum { N = 20000 };
    static int owners[N];
    static uint32_t lists[N];
    char name[32];

    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "r%d", i % 3000);
        ck_assert_int_eq(J(&owners[i], &lists[i], name), 1);
        snprintf(name, sizeof(name), "user:%d", i);
        ck_assert_int_eq(J(&owners[i], &lists[i], name), 1);
    }
    ck_assert_uint_eq(room_count(), 3000 + N);
    ck_assert_uint_eq(room_subscriptions(), 2 * N);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "r%d", i % 3000);
        ck_assert_int_eq(room_is_member(&owners[i], name, strlen(name)), 1);
    }
    /* 40,000 memberships in 256-slot slab blocks. */
    ck_assert_uint_ge(room_blocks(), 2 * N / 256);
    for (int i = 0; i < N; i++)
        room_leave_all(&owners[i], &lists[i]);
    ck_assert_uint_eq(room_count(), 0);
    /* The slab gives its blocks back: at most one empty block kept. */
    ck_assert_uint_le(room_blocks(), 1);
}
END_TEST

/* Slots freed and taken again in another order keep every link right:
 * owners' lists and rooms hold exactly their members. */
START_TEST(room_slab_reuses_slots)
{
    enum { N = 600 };
    static int owners[N];
    static uint32_t lists[N];
    char name[16];

    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            snprintf(name, sizeof(name), "a%d", i % 7);
            ck_assert_int_eq(J(&owners[i], &lists[i], name), 1);
            ck_assert_int_eq(J(&owners[i], &lists[i], "all"), 1);
        }
        for (int i = round % 2; i < N; i += 2)
            room_leave_all(&owners[i], &lists[i]);
        size_t n = 0;
        for (struct room_member *m = room_first(room_find("all", 3)); m;
             m = room_next(m)) {
            ck_assert_int_eq(((int *)m->owner - owners) % 2, 1 - round % 2);
            n++;
        }
        ck_assert_uint_eq(n, N / 2);
        for (int i = 1 - round % 2; i < N; i += 2) {
            int k = 0;
            for (struct room_member *m = room_at(lists[i]); m;
                 m = room_onext(m))
                k++;
            ck_assert_int_eq(k, 2);
            ck_assert_int_eq(L(&owners[i], &lists[i], "all"), 1);
            ck_assert_uint_ne(lists[i], 0);
            ck_assert_ptr_null(room_onext(room_at(lists[i])));
        }
        for (int i = 0; i < N; i++)
            room_leave_all(&owners[i], &lists[i]);
        ck_assert_uint_eq(room_subscriptions(), 0);
    }
    ck_assert_uint_le(room_blocks(), 1);
}
END_TEST

/* Joins and leaves in a random order, checked against a plain table of
 * who is where: the membership table (open addressing, entries moved
 * back on delete) finds exactly the memberships that exist, through its
 * growth and after many deletions. */
START_TEST(room_membership_table_random_ops)
{
    enum { O = 1500, RM = 24, OPS = 100000 };
    static int owners[O];
    static uint32_t lists[O];
    static unsigned char in[O][RM];
    unsigned sizes[RM] = {0};
    unsigned x = 12345;
    char name[16];

    for (int op = 0; op < OPS; op++) {
        x = x * 1103515245u + 12345u;
        int o = (int)((x >> 8) % O), r = (int)((x >> 20) % RM);
        snprintf(name, sizeof(name), "t%d", r);
        if ((x >> 4) % 3 != 0) {
            ck_assert_int_eq(J(&owners[o], &lists[o], name), !in[o][r]);
            sizes[r] += !in[o][r];
            in[o][r] = 1;
        } else {
            ck_assert_int_eq(L(&owners[o], &lists[o], name), in[o][r]);
            sizes[r] -= in[o][r];
            in[o][r] = 0;
        }
        if (op % 20000 == 0 && op > 0 && (x & 1)) /* someone leaves all */
            for (int k = 0; k < O; k += 97) {
                room_leave_all(&owners[k], &lists[k]);
                for (int j = 0; j < RM; j++) {
                    sizes[j] -= in[k][j];
                    in[k][j] = 0;
                }
            }
    }
    size_t total = 0;
    for (int o = 0; o < O; o++)
        for (int r = 0; r < RM; r++) {
            snprintf(name, sizeof(name), "t%d", r);
            ck_assert_int_eq(room_is_member(&owners[o], name, strlen(name)),
                in[o][r]);
            total += in[o][r];
        }
    ck_assert_uint_eq(room_subscriptions(), total);
    for (int r = 0; r < RM; r++) {
        snprintf(name, sizeof(name), "t%d", r);
        const struct room *rm = room_find(name, strlen(name));
        ck_assert_uint_eq(rm ? room_size(rm) : 0, sizes[r]);
    }
}
END_TEST

START_TEST(room_top_orders_by_members)
{
    int o[10];
    uint32_t l[10] = {0};
    const struct room *top[3];
    char name[16];

    for (int i = 0; i < 10; i++)
        for (int r = 0; r <= i % 5; r++) {
            snprintf(name, sizeof(name), "r%d", r);
            J(&o[i], &l[i], name);
        }
    /* r0: 10 members, r1: 8, r2: 6, r3: 4, r4: 2 */
    ck_assert_uint_eq(room_top(top, 3), 3);
    ck_assert_uint_eq(room_size(top[0]), 10);
    ck_assert_uint_eq(room_size(top[1]), 8);
    ck_assert_uint_eq(room_size(top[2]), 6);
    ck_assert_uint_eq(room_top(top, 0), 0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("room");
    TCase *t = tcase_create("membership");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, room_join_leave_and_counts);
    tcase_add_test(t, room_members_iterate_each_owner_once);
    tcase_add_test(t, room_tables_grow);
    tcase_add_test(t, room_slab_reuses_slots);
    tcase_add_test(t, room_membership_table_random_ops);
    tcase_add_test(t, room_top_orders_by_members);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
