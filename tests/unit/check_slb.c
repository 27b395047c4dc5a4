/*
 * Slabs of fixed-size objects: ids and pointers, zeroed objects, slots
 * reused, the walk over live objects in id order (with objects freed
 * while walking), and blocks given back.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/slb.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISONED(p) __asan_address_is_poisoned(p)
#else
#define POISONED(p) ((void)(p), -1) /* not known without ASan */
#endif

struct obj {
    uint32_t id;
    uint32_t tag;
    char pad[48];
};

START_TEST(slb_alloc_gives_zeroed_objects_by_id)
{
    struct slb s;
    uint32_t id, id2;

    slb_init(&s, sizeof(struct obj));
    ck_assert_uint_eq(s.size, 56);
    struct obj *a = slb_alloc(&s, &id);
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_ne(id, 0);
    ck_assert_ptr_eq(slb_at(&s, id), a);
    ck_assert_ptr_null(slb_at(&s, 0));
    a->id = id;
    a->tag = 7;
    memset(a->pad, 0xAB, sizeof(a->pad));
    ck_assert_int_ne(POISONED(&a->pad[47]), 1);
    slb_free(&s, id);
    /* Under ASan a freed object is poisoned: a use after free is seen. */
    ck_assert_int_ne(POISONED(&a->tag), 0);
    ck_assert_int_ne(POISONED(&a->pad[47]), 0);
    struct obj *b = slb_alloc(&s, &id2);
    ck_assert_uint_eq(id2, id); /* the slot is taken again, zeroed */
    ck_assert_uint_eq(b->tag, 0);
    ck_assert_int_ne(POISONED(&b->pad[47]), 1);
    for (size_t i = 0; i < sizeof(b->pad); i++)
        ck_assert_int_eq(b->pad[i], 0);
    ck_assert_uint_eq(s.nlive, 1);
    slb_free_all(&s);
    ck_assert_uint_eq(s.nheld, 0);
    ck_assert_uint_eq(s.nlive, 0);
}
END_TEST

/* The walk visits each live object once, in id order, past freed slots
 * and blocks given back; freeing the current object while walking (what
 * a kick during a broadcast does) does not lose the rest. */
START_TEST(slb_walk_visits_the_live_ones)
{
    enum { N = 1500 };
    static uint32_t ids[N];
    static int seen[N];
    struct slb s;

    slb_init(&s, sizeof(struct obj));
    for (int i = 0; i < N; i++) {
        struct obj *o = slb_alloc(&s, &ids[i]);
        ck_assert_ptr_nonnull(o);
        o->id = ids[i];
        o->tag = (uint32_t)i;
    }
    /* Free every third, and all of the second block (slots 256-511). */
    for (int i = 0; i < N; i++)
        if (i % 3 == 0 || (i >= 256 && i < 512))
            slb_free(&s, ids[i]);
    uint32_t prev = 0;
    size_t n = 0;
    for (uint32_t id = slb_next(&s, 0), nx; id; id = nx) {
        struct obj *o = slb_at(&s, id);
        nx = slb_next(&s, id);
        ck_assert_uint_gt(id, prev);
        ck_assert_uint_eq(o->id, id);
        seen[o->tag]++;
        prev = id;
        n++;
        if (o->tag % 5 == 0)
            slb_free(&s, id); /* the current one goes */
    }
    size_t want = 0;
    for (int i = 0; i < N; i++) {
        int live = !(i % 3 == 0 || (i >= 256 && i < 512));
        ck_assert_int_eq(seen[i], live);
        want += (size_t)live;
    }
    ck_assert_uint_eq(n, want);
    /* A second walk sees what the first left. */
    size_t m = 0;
    for (uint32_t id = slb_next(&s, 0); id; id = slb_next(&s, id)) {
        struct obj *o = slb_at(&s, id);
        ck_assert_uint_ne(o->tag % 5, 0);
        m++;
    }
    ck_assert_uint_eq(m, s.nlive);
    slb_free_all(&s);
}
END_TEST

/* Emptied blocks go back to malloc: at most one empty block is kept. */
START_TEST(slb_gives_blocks_back)
{
    enum { N = 5000 };
    static uint32_t ids[N];
    struct slb s;

    slb_init(&s, sizeof(struct obj));
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++)
            ck_assert_ptr_nonnull(slb_alloc(&s, &ids[i]));
        ck_assert_uint_ge(s.nheld, N / 256);
        ck_assert_uint_le(s.nheld, N / 256 + 1);
        for (int i = round % 2; i < N; i += 2) /* half, interleaved */
            slb_free(&s, ids[i]);
        ck_assert_uint_eq(s.nlive, N / 2);
        for (int i = 1 - round % 2; i < N; i += 2)
            slb_free(&s, ids[i]);
        ck_assert_uint_eq(s.nlive, 0);
        ck_assert_uint_le(s.nheld, 1);
        ck_assert_uint_eq(slb_next(&s, 0), 0);
    }
    slb_free_all(&s);
}
END_TEST

int
main(void)
{
    Suite *su = suite_create("slb");
    TCase *t = tcase_create("slab");
    tcase_add_test(t, slb_alloc_gives_zeroed_objects_by_id);
    tcase_add_test(t, slb_walk_visits_the_live_ones);
    tcase_add_test(t, slb_gives_blocks_back);
    suite_add_tcase(su, t);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
