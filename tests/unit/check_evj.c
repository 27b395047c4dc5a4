/*
 * Client JSON of emitter entries (evj): the Socket.IO event array and the
 * /ws "data" framed around the arguments an EMIT entry holds, the event
 * name escaped as JSON.stringify does, the size reported when it does
 * not fit. rdm's tests check the same on entries made from messages.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/evj.h"
#include "common/msg.h"

START_TEST(evj_escapes_and_shapes)
{
    unsigned char buf[256];
    struct msg_emit e = {MSG_T_ALL, NULL, NULL, 0, 0, {"/", 1},
        {"a\"b\\c\n\x01", 7}, {NULL, 0}, 0, NULL, 0, 0};
    struct msg_view v;
    char js[64];

    ck_assert_int_eq(msg_decode(buf, msg_encode_emit(buf, sizeof(buf), &e),
        &v), MSG_OK);
    evj_sio_array(&v, NULL, js, sizeof(js));
    ck_assert_str_eq(js, "[\"a\\\"b\\\\c\\n\\u0001\"]");
    evj_ws_data(&v, js, sizeof(js));
    ck_assert_str_eq(js, "null");
    e.args = (struct msg_str){"5", 1};
    e.nargs = 1;
    ck_assert_int_eq(msg_decode(buf, msg_encode_emit(buf, sizeof(buf), &e),
        &v), MSG_OK);
    ck_assert_uint_eq(evj_ws_data(&v, js, sizeof(js)), 1);
    ck_assert_str_eq(js, "5");
    /* too small: the length is still the full one */
    ck_assert_uint_eq(evj_sio_array(&v, "1", js, 4), 25);
}
END_TEST

START_TEST(evj_several_arguments_and_offset)
{
    unsigned char buf[256];
    struct msg_emit e = {MSG_T_ALL, NULL, NULL, 0, 0, {"/", 1}, {"e", 1},
        {"1,\"x\",null", 10}, 3, NULL, 0, 0};
    struct msg_view v;
    char js[64];

    ck_assert_int_eq(msg_decode(buf, msg_encode_emit(buf, sizeof(buf), &e),
        &v), MSG_OK);
    evj_sio_array(&v, "17", js, sizeof(js));
    ck_assert_str_eq(js, "[\"e\",1,\"x\",null,\"17\"]");
    evj_ws_data(&v, js, sizeof(js));
    ck_assert_str_eq(js, "[1,\"x\",null]");
    ck_assert_uint_eq(evj_ws_data(&v, NULL, 0), 12);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("evj");
    TCase *t = tcase_create("evj");
    SRunner *sr;
    int failed;

    tcase_add_test(t, evj_escapes_and_shapes);
    tcase_add_test(t, evj_several_arguments_and_offset);
    suite_add_tcase(s, t);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
