/*
 * Presence messages (shm/pmsg.c): queries and answers round-trip, and
 * every malformed datagram is refused.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "shm/pmsg.h"

START_TEST(pmsg_query_round_trip)
{
    unsigned char b[PMSG_QUERY_MAX];
    uint64_t tag;
    int kind;
    const char *name;
    size_t len, n = pmsg_query(b, 0x1122334455667788ull, PMSG_ROOM,
        "lead:42", 7);

    ck_assert_uint_eq(n, 18);
    ck_assert_int_eq(pmsg_query_decode(b, n, &tag, &kind, &name, &len), 0);
    ck_assert(tag == 0x1122334455667788ull);
    ck_assert_int_eq(kind, PMSG_ROOM);
    ck_assert_uint_eq(len, 7);
    ck_assert_mem_eq(name, "lead:42", 7);
    ck_assert_int_eq(pmsg_query_decode(b, n - 1, &tag, &kind, &name, &len),
        -1);
    b[1] = 9;
    ck_assert_int_eq(pmsg_query_decode(b, n, &tag, &kind, &name, &len), -1);
}
END_TEST

START_TEST(pmsg_query_refuses_bad_names)
{
    unsigned char b[PMSG_QUERY_MAX];
    char big[PMSG_NAME_MAX + 1];

    memset(big, 'a', sizeof(big));
    ck_assert_uint_eq(pmsg_query(b, 1, PMSG_USER, "", 0), 0);
    ck_assert_uint_eq(pmsg_query(b, 1, PMSG_USER, big, sizeof(big)), 0);
    ck_assert_uint_eq(pmsg_query(b, 1, PMSG_USER, "a\0b", 3), 0);
    ck_assert_uint_eq(pmsg_query(b, 1, 3, "a", 1), 0);
    ck_assert_uint_eq(pmsg_query(b, 1, PMSG_USER, big, PMSG_NAME_MAX),
        11 + PMSG_NAME_MAX);
}
END_TEST

START_TEST(pmsg_answer_round_trip)
{
    unsigned char b[64];
    uint64_t tag;
    int last;
    const char *js;
    size_t jl;

    pmsg_answer_head(b, 77, 1);
    memcpy(b + PMSG_HEAD, "[1]", 3);
    ck_assert_int_eq(pmsg_answer_decode(b, PMSG_HEAD + 3, &tag, &last, &js,
        &jl), 0);
    ck_assert(tag == 77);
    ck_assert_int_eq(last, 1);
    ck_assert_uint_eq(jl, 3);
    ck_assert_int_eq(pmsg_answer_decode(b, PMSG_HEAD, &tag, &last, &js,
        &jl), 0);
    ck_assert_uint_eq(jl, 0);
    ck_assert_int_eq(pmsg_answer_decode(b, PMSG_HEAD - 1, &tag, &last, &js,
        &jl), -1);
    b[9] = 2;
    ck_assert_int_eq(pmsg_answer_decode(b, PMSG_HEAD, &tag, &last, &js,
        &jl), -1);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("pmsg");
    TCase *t = tcase_create("codec");
    tcase_add_test(t, pmsg_query_round_trip);
    tcase_add_test(t, pmsg_query_refuses_bad_names);
    tcase_add_test(t, pmsg_answer_round_trip);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
