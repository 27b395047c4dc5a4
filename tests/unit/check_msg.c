/*
 * Message-log entry codec: round trips of every kind, truncation at every
 * length, bad kinds and counts.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/msg.h"

#define S(x) ((struct msg_str){(x), sizeof(x) - 1})

START_TEST(msg_publish_roundtrip_and_truncation)
{
    unsigned char buf[512];
    struct msg_str rooms[2] = {S("lead:42"), S("team:a")};
    struct msg_view v;
    size_t n = msg_encode_publish(buf, sizeof(buf), MSG_T_ROOMS, rooms, 2,
        S("lead.updated"), S("{\"id\":42}"));

    ck_assert_uint_gt(n, 0);
    ck_assert_int_eq(msg_decode(buf, n, &v), MSG_OK);
    ck_assert_int_eq(v.kind, MSG_PUBLISH);
    ck_assert_int_eq(v.target, MSG_T_ROOMS);
    ck_assert_uint_eq(v.ntargets, 2);
    ck_assert_int_eq(memcmp(v.targets[1].p, "team:a", 6), 0);
    ck_assert_uint_eq(v.event.n, 12);
    ck_assert_int_eq(memcmp(v.data.p, "{\"id\":42}", 9), 0);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_ne(msg_decode(buf, i, &v), MSG_OK);
    buf[n] = 0;
    ck_assert_int_eq(msg_decode(buf, n + 1, &v), MSG_E_COUNT);
    ck_assert_uint_eq(msg_encode_publish(buf, 10, MSG_T_ROOMS, rooms, 2,
        S("e"), S("1")), 0);
}
END_TEST

START_TEST(msg_control_roundtrip)
{
    unsigned char buf[128];
    struct msg_view v;
    size_t n = msg_encode_disconnect(buf, sizeof(buf), S("u1"), S("bye"));

    ck_assert_int_eq(msg_decode(buf, n, &v), MSG_OK);
    ck_assert_int_eq(v.kind, MSG_DISCONNECT_USER);
    ck_assert_int_eq(memcmp(v.user.p, "u1", 2), 0);
    ck_assert_uint_eq(v.reason.n, 3);
    n = msg_encode_broadcast(buf, sizeof(buf), S("{\"message\":\"m\"}"));
    ck_assert_int_eq(msg_decode(buf, n, &v), MSG_OK);
    ck_assert_int_eq(v.kind, MSG_BROADCAST);
    ck_assert_uint_eq(v.data.n, 15);
}
END_TEST

START_TEST(msg_rejects_bad_kind_target_count)
{
    unsigned char b1[] = {9};
    unsigned char b2[] = {MSG_PUBLISH, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    unsigned char b3[] = {MSG_PUBLISH, MSG_T_USER, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    unsigned char b4[] = {MSG_PUBLISH, MSG_T_ROOMS, 200, 0};
    struct msg_view v;

    ck_assert_int_eq(msg_decode(b1, 1, &v), MSG_E_KIND);
    ck_assert_int_eq(msg_decode(b2, sizeof(b2), &v), MSG_E_KIND);
    ck_assert_int_eq(msg_decode(b3, sizeof(b3), &v), MSG_E_COUNT);
    ck_assert_int_eq(msg_decode(b4, sizeof(b4), &v), MSG_E_COUNT);
    ck_assert_int_eq(msg_decode(b1, 0, &v), MSG_E_SHORT);
}
END_TEST

START_TEST(msg_room_names_validated)
{
    char big[202];

    ck_assert_int_eq(msg_room_valid("lead:42", 7), 1);
    ck_assert_int_eq(msg_room_valid("", 0), 0);
    ck_assert_int_eq(msg_room_valid("a b", 3), 0);
    ck_assert_int_eq(msg_room_valid("a\tb", 3), 0);
    ck_assert_int_eq(msg_room_valid("a\x7f", 2), 0);
    ck_assert_int_eq(msg_room_valid("caf\xc3\xa9", 5), 1);
    ck_assert_int_eq(msg_room_valid("caf\xc3", 4), 0);
    memset(big, 'x', sizeof(big));
    ck_assert_int_eq(msg_room_valid(big, 200), 1);
    ck_assert_int_eq(msg_room_valid(big, 201), 0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("msg");
    TCase *t = tcase_create("codec");
    tcase_add_test(t, msg_publish_roundtrip_and_truncation);
    tcase_add_test(t, msg_control_roundtrip);
    tcase_add_test(t, msg_rejects_bad_kind_target_count);
    tcase_add_test(t, msg_room_names_validated);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
