/*
 * Backend proxy codec (issue 14): the connect check's body, every shape of
 * reply the backend may send (allow with rooms, refusal with a code,
 * garbage, wrong types, oversized), and the proxy URL host rule.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/prx.h"

#define R(s) (s), strlen(s)

/* {"alg":"HS256"} . {"sub":"42","role":"agent"} . sig */
static const char tok[] = "eyJhbGciOiJIUzI1NiJ9."
    "eyJzdWIiOiI0MiIsInJvbGUiOiJhZ2VudCJ9.c2ln";

START_TEST(prx_body_carries_claims_not_the_token)
{
    struct prx_conn w = {"42", tok, strlen(tok), 0, "websocket",
        "socket.io", "127.0.0.1", NULL, "/", "connect"};
    size_t n;
    char *s = prx_connect_body(&w, &n);
    json_t *o = json_loadb(s, n, 0, NULL);

    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "user")), "42");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(o,
        "claims"), "role")), "agent");
    ck_assert_str_eq(json_string_value(json_object_get(o, "namespace")), "/");
    ck_assert(json_is_null(json_object_get(o, "origin")));
    ck_assert_ptr_null(json_object_get(o, "token"));
    json_decref(o);
    free(s);
    w.send_token = 1;
    s = prx_connect_body(&w, &n);
    o = json_loadb(s, n, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(o, "token")), tok);
    json_decref(o);
    free(s);
    w.token = "not-a-jwt";
    w.token_len = 9;
    s = prx_connect_body(&w, &n);
    ck_assert_ptr_nonnull(strstr(s, "\"claims\":{}"));
    free(s);
}
END_TEST

START_TEST(prx_allow_with_rooms)
{
    struct prx_verdict v;
    const char *b = "{\"allow\":true,\"rooms\":[\"lead:1\",\"team:x\"],"
        "\"data\":{\"n\":1}}";

    ck_assert_int_eq(prx_connect_reply(R(b), 4096, &v), PRX_OK);
    ck_assert_int_eq(v.allow, 1);
    ck_assert_uint_eq(v.nrooms, 2);
    ck_assert_uint_eq(v.rooms_len, 14);
    ck_assert_mem_eq(v.rooms, "lead:1\0team:x\0", 14);
    prx_verdict_clear(&v);
    ck_assert_int_eq(prx_connect_reply(R("{\"allow\":true}"), 4096, &v),
        PRX_OK);
    ck_assert_uint_eq(v.nrooms, 0);
    ck_assert_ptr_null(v.rooms);
}
END_TEST

START_TEST(prx_refusal_codes_and_messages)
{
    struct prx_verdict v;

    ck_assert_int_eq(prx_connect_reply(R("{\"allow\":false,\"code\":"
        "\"USER_NOT_FOUND\",\"message\":\"gone\"}"), 4096, &v), PRX_OK);
    ck_assert_int_eq(v.allow, 0);
    ck_assert_str_eq(v.code, "USER_NOT_FOUND");
    ck_assert_str_eq(v.message, "gone");
    /* a code that is not [A-Z0-9_]{1,64}, a message that is too long or
     * not a string: fixed texts */
    ck_assert_int_eq(prx_connect_reply(R("{\"allow\":false,\"code\":"
        "\"bad code\",\"message\":7}"), 4096, &v), PRX_OK);
    ck_assert_str_eq(v.code, "FORBIDDEN");
    ck_assert_str_eq(v.message, "refused by the backend");
    char b[512];
    snprintf(b, sizeof(b), "{\"allow\":false,\"message\":\"%0*d\"}",
        PRX_MSG_MAX + 1, 0);
    ck_assert_int_eq(prx_connect_reply(R(b), 4096, &v), PRX_OK);
    ck_assert_str_eq(v.message, "refused by the backend");
    /* NUL inside a string: jansson refuses the document */
    ck_assert_int_eq(prx_connect_reply(R("{\"allow\":false,\"message\":"
        "\"a\\u0000b\"}"), 4096, &v), PRX_E_JSON);
}
END_TEST

START_TEST(prx_bad_replies_are_errors)
{
    struct prx_verdict v;
    static const struct { const char *b; enum prx_status st; } bad[] = {
        {"", PRX_E_SIZE},
        {"nope", PRX_E_JSON},
        {"[true]", PRX_E_JSON},
        {"{\"allow\":true,\"allow\":false}", PRX_E_JSON},
        {"{}", PRX_E_SHAPE},
        {"{\"allow\":1}", PRX_E_SHAPE},
        {"{\"allow\":true,\"rooms\":\"lead:1\"}", PRX_E_SHAPE},
        {"{\"allow\":true,\"rooms\":[\"has space\"]}", PRX_E_SHAPE},
        {"{\"allow\":true,\"rooms\":[\"\"]}", PRX_E_SHAPE},
        {"{\"allow\":true,\"rooms\":[1]}", PRX_E_SHAPE},
        {"{\"allow\":true,\"data\":[1]}", PRX_E_SHAPE},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        ck_assert_msg(prx_connect_reply(R(bad[i].b), 4096, &v) == bad[i].st,
            "%s", bad[i].b);
        ck_assert_ptr_null(v.rooms);
    }
    ck_assert_int_eq(prx_connect_reply(R("{\"allow\":true}"), 5, &v),
        PRX_E_SIZE);
}
END_TEST

START_TEST(prx_too_many_rooms)
{
    struct prx_verdict v;
    char b[4096] = "{\"allow\":true,\"rooms\":[";
    size_t n = strlen(b);

    for (int i = 0; i <= PRX_ROOMS_MAX; i++)
        n += (size_t)snprintf(b + n, sizeof(b) - n, "%s\"r%d\"",
            i ? "," : "", i);
    snprintf(b + n, sizeof(b) - n, "]}");
    ck_assert_int_eq(prx_connect_reply(R(b), sizeof(b), &v), PRX_E_SHAPE);
}
END_TEST

START_TEST(prx_url_hosts)
{
    char err[128];

    ck_assert_int_eq(prx_url_ok("http://127.0.0.1:8080/x", "", err,
        sizeof(err)), 1);
    ck_assert_int_eq(prx_url_ok("http://localhost/x", NULL, err,
        sizeof(err)), 1);
    ck_assert_int_eq(prx_url_ok("http://[::1]:80/", NULL, err,
        sizeof(err)), 1);
    ck_assert_int_eq(prx_url_ok("http://crm.internal:80/", "crm.internal",
        err, sizeof(err)), 1);
    ck_assert_int_eq(prx_url_ok("http://evil.example/", "crm.internal",
        err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(strstr(err, "evil.example"));
    ck_assert_int_eq(prx_url_ok("https://127.0.0.1/", NULL, err,
        sizeof(err)), 0);
    ck_assert_int_eq(prx_url_ok("127.0.0.1:80", NULL, err, sizeof(err)), 0);
    /* A name that begins like a loopback address is a name. */
    ck_assert_int_eq(prx_url_ok("http://127.evil.example/", NULL, err,
        sizeof(err)), 0);
    ck_assert_int_eq(prx_url_ok("http://127.0.0.1.evil.example/", NULL, err,
        sizeof(err)), 0);
    ck_assert_int_eq(prx_url_ok("http://127.8.9.10:1/", NULL, err,
        sizeof(err)), 1);
}
END_TEST

START_TEST(prx_event_replies)
{
    json_t *ack, *pub;
    char *s;

    ck_assert_int_eq(prx_event_reply(R("{\"ok\":true,\"data\":{\"a\":1}}"),
        4096, &ack, &pub), PRX_OK);
    s = json_dumps(ack, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(s, "{\"data\":{\"a\":1},\"ok\":true}");
    ck_assert_ptr_null(pub);
    free(s);
    json_decref(ack);
    ck_assert_int_eq(prx_event_reply(R("{\"ok\":false,\"error\":{\"code\":"
        "\"LEAD_LOCKED\",\"message\":\"m\"},\"extra\":1}"), 4096, &ack,
        &pub), PRX_OK);
    s = json_dumps(ack, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(s, "{\"error\":{\"code\":\"LEAD_LOCKED\","
        "\"message\":\"m\"},\"ok\":false}");
    free(s);
    json_decref(ack);
    /* a bad code or message: fixed texts */
    ck_assert_int_eq(prx_event_reply(R("{\"ok\":false,\"error\":7}"),
        4096, &ack, &pub), PRX_OK);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(ack,
        "error"), "code")), "BACKEND_ERROR");
    json_decref(ack);
    ck_assert_int_eq(prx_event_reply(R("{\"ok\":true,\"publish\":[{\"room\":"
        "\"lead:1\",\"event\":\"typing\",\"data\":{}}]}"), 4096, &ack,
        &pub), PRX_OK);
    ck_assert_uint_eq(json_array_size(pub), 1);
    json_decref(ack);
    json_decref(pub);
}
END_TEST

START_TEST(prx_event_bad_replies)
{
    json_t *ack, *pub;
    static const char *const bad[] = {
        "{}", "{\"ok\":1}", "[]",
        "{\"ok\":true,\"publish\":{}}",
        "{\"ok\":true,\"publish\":[{\"event\":\"e\"}]}",
        "{\"ok\":true,\"publish\":[{\"room\":\"a\",\"rooms\":[\"b\"],"
            "\"event\":\"e\"}]}",
        "{\"ok\":true,\"publish\":[{\"room\":\"a b\",\"event\":\"e\"}]}",
        "{\"ok\":true,\"publish\":[{\"room\":\"a\",\"event\":\"\"}]}",
        "{\"ok\":true,\"publish\":[{\"room\":\"a\",\"event\":\"e\","
            "\"user\":\"x\"}]}",
        "{\"ok\":true,\"publish\":[{\"rooms\":[],\"event\":\"e\"}]}",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        ck_assert_msg(prx_event_reply(R(bad[i]), 4096, &ack, &pub) != PRX_OK,
            "%s", bad[i]);
        ck_assert_ptr_null(ack);
        ck_assert_ptr_null(pub);
    }
    ck_assert_int_eq(prx_event_reply(R("{\"ok\":true}"), 4, &ack, &pub),
        PRX_E_SIZE);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("prx");
    TCase *t = tcase_create("connect");
    tcase_add_test(t, prx_body_carries_claims_not_the_token);
    tcase_add_test(t, prx_allow_with_rooms);
    tcase_add_test(t, prx_refusal_codes_and_messages);
    tcase_add_test(t, prx_bad_replies_are_errors);
    tcase_add_test(t, prx_too_many_rooms);
    tcase_add_test(t, prx_url_hosts);
    suite_add_tcase(s, t);
    TCase *e = tcase_create("event");
    tcase_add_test(e, prx_event_replies);
    tcase_add_test(e, prx_event_bad_replies);
    suite_add_tcase(s, e);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
