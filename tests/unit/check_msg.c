/*
 * Message-log entry codec: round trips of every kind (emitter EMIT and
 * EMIT_KICK included), truncation at every length, bad kinds and counts.
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


START_TEST(msg_emit_roundtrip_and_truncation)
{
    unsigned char buf[512];
    struct msg_str rooms[2] = {S("lead:1"), S("lead:2")}, ex[1] = {S("vip")};
    struct msg_str att[2] = {S("\x00\x01\x02"), {"", 0}};
    struct msg_emit e = {MSG_T_ROOMS, rooms, ex, 2, 1, S("/"), S("ev"),
        S("{\"_placeholder\":true,\"num\":0},2,"
          "{\"_placeholder\":true,\"num\":1}"), 3, att, 2, 0};
    struct msg_view v;
    size_t n = msg_encode_emit(buf, sizeof(buf), &e);

    ck_assert_uint_gt(n, 0);
    ck_assert_int_eq(msg_decode(buf, n, &v), MSG_OK);
    ck_assert_int_eq(v.kind, MSG_EMIT);
    ck_assert_int_eq(v.target, MSG_T_ROOMS);
    ck_assert_uint_eq(v.ntargets, 2);
    ck_assert_uint_eq(v.nexcept, 1);
    ck_assert_int_eq(memcmp(v.except[0].p, "vip", 3), 0);
    ck_assert_uint_eq(v.nsp.n, 1);
    ck_assert_uint_eq(v.nargs, 3);
    ck_assert_uint_eq(v.data.n, e.args.n);
    ck_assert_uint_eq(v.nattach, 2);
    ck_assert_uint_eq(v.attach[0].n, 3);
    ck_assert_int_eq(memcmp(v.attach[0].p, "\x00\x01\x02", 3), 0);
    ck_assert_uint_eq(v.attach[1].n, 0);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_ne(msg_decode(buf, i, &v), MSG_OK);
    buf[n] = 0;
    ck_assert_int_eq(msg_decode(buf, n + 1, &v), MSG_E_COUNT);
    ck_assert_uint_eq(msg_encode_emit(buf, 20, &e), 0);
}
END_TEST

START_TEST(msg_emit_everyone_and_kick)
{
    unsigned char buf[256];
    struct msg_str ex[1] = {S("vip")}, rooms[1] = {S("kick")};
    struct msg_emit e = {MSG_T_ALL, NULL, ex, 0, 1, S("/admin"), S("hi"),
        {NULL, 0}, 0, NULL, 0, 0};
    struct msg_view v;
    size_t n = msg_encode_emit(buf, sizeof(buf), &e);

    ck_assert_int_eq(msg_decode(buf, n, &v), MSG_OK);
    ck_assert_int_eq(v.target, MSG_T_ALL);
    ck_assert_uint_eq(v.nargs, 0);
    ck_assert_uint_eq(v.data.n, 0);
    ck_assert_int_eq(memcmp(v.nsp.p, "/admin", 6), 0);
    e.target = MSG_T_ROOMS;
    e.rooms = rooms;
    e.nrooms = 1;
    e.close = 1;
    n = msg_encode_emit_kick(buf, sizeof(buf), &e);
    ck_assert_int_eq(msg_decode(buf, n, &v), MSG_OK);
    ck_assert_int_eq(v.kind, MSG_EMIT_KICK);
    ck_assert_int_eq(v.close, 1);
    ck_assert_uint_eq(v.ntargets, 1);
    ck_assert_uint_eq(v.nexcept, 1);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_ne(msg_decode(buf, i, &v), MSG_OK);
    buf[n - 1] = 3; /* close is 0 or 1 (found by fuzz_msg) */
    ck_assert_int_eq(msg_decode(buf, n, &v), MSG_E_COUNT);
}
END_TEST

START_TEST(msg_emit_rejects_inconsistent)
{
    unsigned char buf[256];
    struct msg_str rooms[1] = {S("r")};
    struct msg_emit e = {MSG_T_ALL, rooms, NULL, 1, 0, S("/"), S("e"),
        S("1"), 1, NULL, 0, 0};
    struct msg_view v;
    size_t n;

    ck_assert_uint_eq(msg_encode_emit(buf, sizeof(buf), &e), 0);
    e.target = MSG_T_USER;
    ck_assert_uint_eq(msg_encode_emit(buf, sizeof(buf), &e), 0);
    e.target = MSG_T_ROOMS;
    e.nargs = 0; /* arguments without a count */
    ck_assert_uint_eq(msg_encode_emit(buf, sizeof(buf), &e), 0);
    e.nargs = 1;
    e.nsp = (struct msg_str){NULL, 0};
    ck_assert_uint_eq(msg_encode_emit(buf, sizeof(buf), &e), 0);
    e.nsp = S("x");
    n = msg_encode_emit(buf, sizeof(buf), &e); /* the encoder allows it */
    ck_assert_uint_gt(n, 0);
    ck_assert_int_eq(msg_decode(buf, n, &v), MSG_E_COUNT);
    e.nsp = S("/");
    n = msg_encode_emit(buf, sizeof(buf), &e);
    buf[1] = MSG_T_ALL; /* one room listed */
    ck_assert_int_eq(msg_decode(buf, n, &v), MSG_E_COUNT);
    buf[1] = MSG_T_USER;
    ck_assert_int_eq(msg_decode(buf, n, &v), MSG_E_KIND);
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
    tcase_add_test(t, msg_emit_roundtrip_and_truncation);
    tcase_add_test(t, msg_emit_everyone_and_kick);
    tcase_add_test(t, msg_emit_rejects_inconsistent);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
