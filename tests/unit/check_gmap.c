/*
 * Unit tests for shm/gmap.c: offsets are the local seq when the map is
 * off; stretches extend while local and cluster offsets step together and
 * a new one begins where they do not; a client's offset maps to the local
 * seq to replay after, holes of skipped duplicates are no gap, holes the
 * master marked and offsets older than the map are.
 */
#include <check.h>
#include <stdlib.h>

#include "shm/gmap.h"

static struct gmap m;

#define E(o) ((UINT64_C(1) << 32) + (o)) /* offset o of epoch 1 */

START_TEST(gmap_off_is_identity)
{
    uint64_t l = 99;

    gmap_init(&m, 0);
    ck_assert_int_eq(gmap_on(&m), 0);
    ck_assert_uint_eq(gmap_offset(&m, 42), 42);
    ck_assert_int_eq(gmap_local(&m, 42, &l), GMAP_OK);
    ck_assert_uint_eq(l, 42);
}
END_TEST

START_TEST(gmap_stretches_map_both_ways)
{
    uint64_t l = 0;

    gmap_init(&m, 1);
    ck_assert_int_eq(gmap_on(&m), 1);
    ck_assert_uint_eq(gmap_offset(&m, 1), 0);      /* nothing noted */
    /* Local 1..3 are E(10)..E(12); E(13) was skipped (a duplicate);
     * local 4..5 are E(14)..E(15). */
    for (uint64_t i = 1; i <= 3; i++)
        gmap_note(&m, i, E(9 + i), 0);
    gmap_note(&m, 4, E(14), 0);
    gmap_note(&m, 5, E(15), 0);
    ck_assert_uint_eq(atomic_load(&m.n), 2);
    ck_assert_uint_eq(gmap_offset(&m, 1), E(10));
    ck_assert_uint_eq(gmap_offset(&m, 3), E(12));
    ck_assert_uint_eq(gmap_offset(&m, 4), E(14));
    ck_assert_uint_eq(gmap_offset(&m, 5), E(15));
    ck_assert_uint_eq(gmap_offset(&m, 7), E(17));  /* if it goes on */
    ck_assert_int_eq(gmap_local(&m, E(10), &l), GMAP_OK);
    ck_assert_uint_eq(l, 1);
    ck_assert_int_eq(gmap_local(&m, E(12), &l), GMAP_OK);
    ck_assert_uint_eq(l, 3);
    /* A client that saw E(13) elsewhere: replay from local 4, no gap. */
    ck_assert_int_eq(gmap_local(&m, E(13), &l), GMAP_OK);
    ck_assert_uint_eq(l, 3);
    ck_assert_int_eq(gmap_local(&m, E(15), &l), GMAP_OK);
    ck_assert_uint_eq(l, 5);
    ck_assert_int_eq(gmap_local(&m, E(17), &l), GMAP_OK);  /* ahead */
    ck_assert_uint_eq(l, 7);
    /* The node's first entry is E(10): E(9) leaves nothing out, E(8)
     * does. */
    ck_assert_int_eq(gmap_local(&m, E(9), &l), GMAP_OK);
    ck_assert_uint_eq(l, 0);
    ck_assert_int_eq(gmap_local(&m, E(8), &l), GMAP_GAP);
    ck_assert_uint_eq(l, 0);
}
END_TEST

START_TEST(gmap_marked_gaps_and_new_epochs)
{
    uint64_t l = 0, e2 = UINT64_C(2) << 32;

    gmap_init(&m, 1);
    gmap_note(&m, 1, E(1), 0);
    gmap_note(&m, 2, E(2), 0);
    gmap_note(&m, 3, E(6), 1);   /* E(3)..E(5) trimmed before we read */
    gmap_note(&m, 4, e2 + 1, 0); /* Redis restarted: epoch 2 */
    gmap_note(&m, 5, e2 + 2, 0);
    ck_assert_uint_eq(gmap_offset(&m, 3), E(6));
    ck_assert_uint_eq(gmap_offset(&m, 5), e2 + 2);
    ck_assert_int_eq(gmap_local(&m, E(1), &l), GMAP_GAP);
    ck_assert_uint_eq(l, 1);
    ck_assert_int_eq(gmap_local(&m, E(2), &l), GMAP_GAP);
    ck_assert_uint_eq(l, 2);
    ck_assert_int_eq(gmap_local(&m, E(6), &l), GMAP_OK);
    ck_assert_uint_eq(l, 3);
    ck_assert_int_eq(gmap_local(&m, e2 + 1, &l), GMAP_OK);
    ck_assert_uint_eq(l, 4);
}
END_TEST

START_TEST(gmap_keeps_the_last_slots)
{
    uint64_t l = 0;

    gmap_init(&m, 1);
    /* Every entry its own stretch (each skips one offset). */
    for (uint64_t i = 1; i <= GMAP_SLOTS + 10; i++)
        gmap_note(&m, i, E(2 * i), 0);
    ck_assert_uint_eq(gmap_offset(&m, GMAP_SLOTS + 10),
        E(2 * (GMAP_SLOTS + 10)));
    ck_assert_uint_eq(gmap_offset(&m, 5), 0);      /* forgotten */
    ck_assert_int_eq(gmap_local(&m, E(2), &l), GMAP_GAP);
    ck_assert_uint_eq(l, 10);
    ck_assert_int_eq(gmap_local(&m, E(2 * 20), &l), GMAP_OK);
    ck_assert_uint_eq(l, 20);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("gmap");
    TCase *tc = tcase_create("map");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, gmap_off_is_identity);
    tcase_add_test(tc, gmap_stretches_map_both_ways);
    tcase_add_test(tc, gmap_marked_gaps_and_new_epochs);
    tcase_add_test(tc, gmap_keeps_the_last_slots);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
