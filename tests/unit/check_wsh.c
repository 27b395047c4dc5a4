/*
 * Unit tests for common/wsh: WebSocket upgrade validation (RFC 6455 §4.2.1)
 * and Sec-WebSocket-Accept. Requests are parsed with hh first, as the
 * worker does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "hh.h"
#include "wsh.h"

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define ORIGINS "https://app.example.com, http://localhost:3000"

/* A request head plus the buffer its pointers borrow from. */
struct req {
    char buf[2048];
    struct hh_req r;
};

/* Parse request line + fields + CRLF into q; fields end in CRLF each. */
static void
build(struct req *q, const char *request_line, const char *fields)
{
    struct hh_parser p = {0};
    int n;

    n = snprintf(q->buf, sizeof(q->buf), "%s\r\nHost: example.com\r\n%s\r\n",
                 request_line, fields);
    ck_assert(n > 0 && (size_t)n < sizeof(q->buf));
    ck_assert_int_eq(hh_parse(&p, q->buf, (size_t)n, sizeof(q->buf), &q->r),
                     HH_OK);
}

/* A GET /ws upgrade with the standard headers plus extra. */
static enum wsh_status
check_std(struct req *q, const char *extra, const char *origins,
          struct wsh_result *res)
{
    char fields[1024];

    snprintf(fields, sizeof(fields),
             "Upgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Version: 13\r\n%s",
             extra);
    build(q, "GET /ws HTTP/1.1", fields);
    return wsh_check(&q->r, origins, res);
}

/* Status of an upgrade with the given Upgrade/Connection/Key/Version
 * fields (all spelled out by the caller). */
static enum wsh_status
check_fields(const char *fields, const char *origins)
{
    struct req q;
    struct wsh_result res;

    build(&q, "GET /ws HTTP/1.1", fields);
    return wsh_check(&q.r, origins, &res);
}

static int
eq(const char *p, size_t n, const char *want)
{
    return p != NULL && n == strlen(want) && memcmp(p, want, n) == 0;
}

START_TEST(wsh_accept_matches_rfc6455_example)
{
    char out[WSH_ACCEPT_SIZE];

    ck_assert_int_eq(wsh_accept(KEY, strlen(KEY), out), 0);
    ck_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}
END_TEST

START_TEST(wsh_accept_refuses_overlong_key)
{
    char key[WSH_KEY_MAX + 1], out[WSH_ACCEPT_SIZE];

    memset(key, 'A', sizeof(key));
    ck_assert_int_eq(wsh_accept(key, WSH_KEY_MAX, out), 0);
    ck_assert_uint_eq(strlen(out), WSH_ACCEPT_LEN);
    ck_assert_int_eq(wsh_accept(key, WSH_KEY_MAX + 1, out), -1);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(wsh_accepts_valid_handshake)
{
    struct req q;
    struct wsh_result res;

    ck_assert_int_eq(check_std(&q,
                               "Sec-WebSocket-Key: " KEY "\r\n"
                               "Sec-WebSocket-Extensions: permessage-deflate; "
                               "client_max_window_bits\r\n"
                               "Sec-WebSocket-Protocol: chat, superchat\r\n",
                               ORIGINS, &res),
                     WSH_OK);
    ck_assert(eq(res.key, res.key_len, KEY));
    ck_assert(eq(res.extensions, res.extensions_len,
                 "permessage-deflate; client_max_window_bits"));
    ck_assert_uint_eq(res.extensions_count, 1);
    ck_assert(eq(res.protocol, res.protocol_len, "chat, superchat"));
    ck_assert_uint_eq(res.protocol_count, 1);
    ck_assert_ptr_null(res.origin);
    ck_assert_uint_eq(res.origin_len, 0);
    ck_assert(wsh_is_upgrade(&q.r));
}
END_TEST

START_TEST(wsh_exposes_absent_and_repeated_extensions)
{
    struct req q;
    struct wsh_result res;
    const char *v;
    size_t n;

    ck_assert_int_eq(
        check_std(&q, "Sec-WebSocket-Key: " KEY "\r\n", NULL, &res), WSH_OK);
    ck_assert_ptr_null(res.extensions);
    ck_assert_uint_eq(res.extensions_count, 0);
    ck_assert_ptr_null(res.protocol);
    ck_assert_uint_eq(res.protocol_count, 0);

    ck_assert_int_eq(check_std(&q,
                               "Sec-WebSocket-Key: " KEY "\r\n"
                               "Sec-WebSocket-Extensions: a\r\n"
                               "sec-websocket-extensions: b; x=1\r\n",
                               NULL, &res),
                     WSH_OK);
    ck_assert(eq(res.extensions, res.extensions_len, "a"));
    ck_assert_uint_eq(res.extensions_count, 2);
    v = hh_header_nth(&q.r, "sec-websocket-extensions", 1, &n);
    ck_assert(eq(v, n, "b; x=1"));
}
END_TEST

START_TEST(wsh_rejects_key_of_15_bytes)
{
    struct req q;
    struct wsh_result res;

    /* 20 characters encode 15 bytes */
    ck_assert_int_eq(check_std(&q,
                               "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n",
                               NULL, &res),
                     WSH_E_KEY);
    ck_assert_ptr_null(res.key);
}
END_TEST

START_TEST(wsh_rejects_key_of_17_bytes)
{
    struct req q;
    struct wsh_result res;

    ck_assert_int_eq(
        check_std(&q, "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n", NULL,
                  &res),
        WSH_E_KEY);
    ck_assert_int_eq(
        check_std(&q, "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAAA\r\n", NULL,
                  &res),
        WSH_E_KEY);
}
END_TEST

START_TEST(wsh_rejects_non_base64_key)
{
    struct req q;
    struct wsh_result res;
    static const char *const bad[] = {
        "dGhlIHNhbXBsZSBub25jZQ=!",
        "dGhlIHNhbXBsZSBub25jZ*==",
        "dGhlIHNhbXBsZSBub25jZQ",
        "dGhlIHNhbXBsZSBub2 5jZQ==",
        "dGhlIHNhbXBsZSBub25j=Q==",
        "dGhlIHNhbXBsZSBub25jZQ-_",
        "",
    };
    char extra[128];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(extra, sizeof(extra), "Sec-WebSocket-Key: %s\r\n", bad[i]);
        ck_assert_msg(check_std(&q, extra, NULL, &res) == WSH_E_KEY, "'%s'",
                      bad[i]);
    }
}
END_TEST

START_TEST(wsh_rejects_missing_or_duplicated_key)
{
    struct req q;
    struct wsh_result res;

    ck_assert_int_eq(check_std(&q, "", NULL, &res), WSH_E_KEY);
    ck_assert_int_eq(check_std(&q,
                               "Sec-WebSocket-Key: " KEY "\r\n"
                               "Sec-WebSocket-Key: " KEY "\r\n",
                               NULL, &res),
                     WSH_E_KEY);
    ck_assert_int_eq(wsh_status_code(WSH_E_KEY), 400);
    ck_assert_str_eq(wsh_status_code_str(WSH_E_KEY), "BAD_KEY");
}
END_TEST

START_TEST(wsh_rejects_versions_other_than_13)
{
    static const char *const bad[] = {"8", "12", "14", "013", "13, 8", ""};
    char fields[256];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(fields, sizeof(fields),
                 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: " KEY "\r\n"
                 "Sec-WebSocket-Version: %s\r\n",
                 bad[i]);
        ck_assert_msg(check_fields(fields, NULL) == WSH_E_VERSION, "'%s'",
                      bad[i]);
    }
    ck_assert_int_eq(wsh_status_code(WSH_E_VERSION), 426);
    ck_assert_str_eq(wsh_status_headers(WSH_E_VERSION),
                     "Sec-WebSocket-Version: 13\r\n");
    ck_assert_str_eq(wsh_status_code_str(WSH_E_VERSION), "UNSUPPORTED_VERSION");
}
END_TEST

START_TEST(wsh_rejects_missing_or_repeated_version)
{
    ck_assert_int_eq(
        check_fields("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: " KEY "\r\n",
                     NULL),
        WSH_E_VERSION);
    ck_assert_int_eq(
        check_fields("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: " KEY "\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Version: 13\r\n",
                     NULL),
        WSH_E_VERSION);
    /* surrounding whitespace is trimmed by hh, so this is fine */
    ck_assert_int_eq(
        check_fields("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: " KEY "\r\n"
                     "Sec-WebSocket-Version:   13 \r\n",
                     NULL),
        WSH_OK);
}
END_TEST

START_TEST(wsh_accepts_connection_token_lists)
{
    static const char *const ok[] = {
        "Upgrade",
        "upgrade",
        "keep-alive, Upgrade",
        "Upgrade,keep-alive",
        "keep-alive ,\tUPGRADE",
        ", upgrade,",
    };
    static const char *const bad[] = {
        "keep-alive", "close", "Upgrades", "keep-alive upgrade", "",
    };
    char fields[256];

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(fields, sizeof(fields),
                 "Upgrade: websocket\r\nConnection: %s\r\n"
                 "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n",
                 ok[i]);
        ck_assert_msg(check_fields(fields, NULL) == WSH_OK, "'%s'", ok[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(fields, sizeof(fields),
                 "Upgrade: websocket\r\nConnection: %s\r\n"
                 "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n",
                 bad[i]);
        ck_assert_msg(check_fields(fields, NULL) == WSH_E_NOT_UPGRADE, "'%s'",
                      bad[i]);
    }
    /* split over two lines */
    ck_assert_int_eq(check_fields("Upgrade: websocket\r\n"
                                  "Connection: keep-alive\r\n"
                                  "Connection: Upgrade\r\n"
                                  "Sec-WebSocket-Key: " KEY "\r\n"
                                  "Sec-WebSocket-Version: 13\r\n",
                                  NULL),
                     WSH_OK);
}
END_TEST

START_TEST(wsh_rejects_missing_connection)
{
    ck_assert_int_eq(check_fields("Upgrade: websocket\r\n"
                                  "Sec-WebSocket-Key: " KEY "\r\n"
                                  "Sec-WebSocket-Version: 13\r\n",
                                  NULL),
                     WSH_E_NOT_UPGRADE);
    ck_assert_int_eq(wsh_status_code(WSH_E_NOT_UPGRADE), 400);
    ck_assert_str_eq(wsh_status_code_str(WSH_E_NOT_UPGRADE), "BAD_HANDSHAKE");
}
END_TEST

START_TEST(wsh_upgrade_token_is_case_insensitive)
{
    static const char *const ok[] = {"websocket", "WebSocket", "WEBSOCKET",
                                     "foo, websocket"};
    char fields[256];

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(fields, sizeof(fields),
                 "Upgrade: %s\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n",
                 ok[i]);
        ck_assert_msg(check_fields(fields, NULL) == WSH_OK, "'%s'", ok[i]);
    }
}
END_TEST

START_TEST(wsh_is_upgrade_only_for_websocket)
{
    struct req q;

    build(&q, "GET /socket-status HTTP/1.1", "Accept: */*\r\n");
    ck_assert(!wsh_is_upgrade(&q.r));
    build(&q, "GET / HTTP/1.1", "Upgrade: h2c\r\nConnection: Upgrade\r\n");
    ck_assert(!wsh_is_upgrade(&q.r));
    ck_assert_int_eq(wsh_check(&q.r, NULL, &(struct wsh_result){0}),
                     WSH_E_NOT_UPGRADE);
    build(&q, "POST /ws HTTP/1.1", "Upgrade: WebSocket\r\n");
    ck_assert(wsh_is_upgrade(&q.r));
}
END_TEST

START_TEST(wsh_rejects_http10)
{
    struct req q;
    struct hh_parser p = {0};
    struct wsh_result res;
    const char *s = "GET /ws HTTP/1.0\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n";

    strcpy(q.buf, s);
    ck_assert_int_eq(hh_parse(&p, q.buf, strlen(s), 4096, &q.r), HH_OK);
    ck_assert_int_eq(wsh_check(&q.r, NULL, &res), WSH_E_NOT_UPGRADE);
}
END_TEST

START_TEST(wsh_rejects_post_with_405)
{
    struct req q;
    struct wsh_result res;

    build(&q, "POST /ws HTTP/1.1",
          "Upgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n");
    ck_assert_int_eq(wsh_check(&q.r, "*", &res), WSH_E_METHOD);
    ck_assert_int_eq(wsh_status_code(WSH_E_METHOD), 405);
    ck_assert_str_eq(wsh_status_headers(WSH_E_METHOD), "Allow: GET\r\n");
    ck_assert_str_eq(wsh_status_code_str(WSH_E_METHOD), "METHOD_NOT_ALLOWED");
    /* methods are case-sensitive */
    build(&q, "get /ws HTTP/1.1",
          "Upgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n");
    ck_assert_int_eq(wsh_check(&q.r, "*", &res), WSH_E_METHOD);
}
END_TEST

START_TEST(wsh_accepts_allowed_origin)
{
    struct req q;
    struct wsh_result res;

    ck_assert_int_eq(check_std(&q,
                               "Sec-WebSocket-Key: " KEY "\r\n"
                               "Origin: http://localhost:3000\r\n",
                               ORIGINS, &res),
                     WSH_OK);
    ck_assert(eq(res.origin, res.origin_len, "http://localhost:3000"));
    /* scheme and host compare case-insensitively */
    ck_assert_int_eq(check_std(&q,
                               "Sec-WebSocket-Key: " KEY "\r\n"
                               "Origin: HTTPS://App.Example.COM\r\n",
                               ORIGINS, &res),
                     WSH_OK);
    /* OWS around list elements is ignored */
    ck_assert(wsh_origin_allowed(" https://a.example ,\thttps://b.example\t",
                                 "https://b.example", 17));
}
END_TEST

START_TEST(wsh_rejects_forbidden_origin)
{
    struct req q;
    struct wsh_result res;
    static const char *const bad[] = {
        "https://evil.example",
        "https://app.example.com.evil.example",
        "https://app.example.co",
        "http://app.example.com",
        "https://app.example.com:443",
        "https://app.example.com/",
        "null",
    };
    char extra[256];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(extra, sizeof(extra),
                 "Sec-WebSocket-Key: " KEY "\r\nOrigin: %s\r\n", bad[i]);
        ck_assert_msg(check_std(&q, extra, ORIGINS, &res) == WSH_E_ORIGIN,
                      "'%s'", bad[i]);
    }
    ck_assert_int_eq(wsh_status_code(WSH_E_ORIGIN), 403);
    ck_assert_str_eq(wsh_status_code_str(WSH_E_ORIGIN), "ORIGIN_FORBIDDEN");
}
END_TEST

START_TEST(wsh_rejects_origin_with_empty_list)
{
    struct req q;
    struct wsh_result res;

    ck_assert_int_eq(check_std(&q,
                               "Sec-WebSocket-Key: " KEY "\r\n"
                               "Origin: https://app.example.com\r\n",
                               NULL, &res),
                     WSH_E_ORIGIN);
    ck_assert_int_eq(check_std(&q,
                               "Sec-WebSocket-Key: " KEY "\r\n"
                               "Origin: https://app.example.com\r\n",
                               "", &res),
                     WSH_E_ORIGIN);
    ck_assert_int_eq(check_std(&q,
                               "Sec-WebSocket-Key: " KEY "\r\n"
                               "Origin: https://app.example.com\r\n",
                               " , ", &res),
                     WSH_E_ORIGIN);
}
END_TEST

START_TEST(wsh_rejects_duplicate_origin)
{
    struct req q;
    struct wsh_result res;

    ck_assert_int_eq(check_std(&q,
                               "Sec-WebSocket-Key: " KEY "\r\n"
                               "Origin: https://app.example.com\r\n"
                               "Origin: https://evil.example\r\n",
                               ORIGINS, &res),
                     WSH_E_ORIGIN);
}
END_TEST

START_TEST(wsh_accepts_absent_origin)
{
    struct req q;
    struct wsh_result res;

    ck_assert_int_eq(
        check_std(&q, "Sec-WebSocket-Key: " KEY "\r\n", ORIGINS, &res), WSH_OK);
    ck_assert_int_eq(
        check_std(&q, "Sec-WebSocket-Key: " KEY "\r\n", NULL, &res), WSH_OK);
}
END_TEST

START_TEST(wsh_star_allows_any_origin)
{
    struct req q;
    struct wsh_result res;

    ck_assert_int_eq(check_std(&q,
                               "Sec-WebSocket-Key: " KEY "\r\n"
                               "Origin: https://anything.example\r\n",
                               "*", &res),
                     WSH_OK);
    ck_assert_int_eq(check_std(&q,
                               "Sec-WebSocket-Key: " KEY "\r\n"
                               "Origin: null\r\n",
                               "https://a.example, *", &res),
                     WSH_OK);
    /* "*" must be a whole element */
    ck_assert(
        !wsh_origin_allowed("https://*.example", "https://a.example", 17));
}
END_TEST

START_TEST(wsh_maps_status_codes)
{
    ck_assert_int_eq(wsh_status_code(WSH_OK), 101);
    ck_assert_str_eq(wsh_status_code_str(WSH_OK), "OK");
    ck_assert_str_eq(wsh_status_headers(WSH_OK), "");
    ck_assert_str_eq(wsh_status_headers(WSH_E_ORIGIN), "");
    ck_assert_str_eq(wsh_status_str(WSH_E_VERSION), "Upgrade Required");
    ck_assert_str_eq(wsh_status_str(WSH_E_METHOD), "Method Not Allowed");
    ck_assert_str_eq(wsh_status_str(WSH_E_ORIGIN), "Forbidden");
    ck_assert_str_eq(wsh_status_str(WSH_E_KEY), "Bad Request");
}
END_TEST

static Suite *
wsh_suite(void)
{
    Suite *s = suite_create("wsh");
    TCase *tc;

    tc = tcase_create("accept");
    tcase_add_test(tc, wsh_accept_matches_rfc6455_example);
    tcase_add_test(tc, wsh_accept_refuses_overlong_key);
    suite_add_tcase(s, tc);

    tc = tcase_create("handshake");
    tcase_add_test(tc, wsh_accepts_valid_handshake);
    tcase_add_test(tc, wsh_exposes_absent_and_repeated_extensions);
    tcase_add_test(tc, wsh_accepts_connection_token_lists);
    tcase_add_test(tc, wsh_rejects_missing_connection);
    tcase_add_test(tc, wsh_upgrade_token_is_case_insensitive);
    tcase_add_test(tc, wsh_is_upgrade_only_for_websocket);
    tcase_add_test(tc, wsh_rejects_http10);
    tcase_add_test(tc, wsh_rejects_post_with_405);
    suite_add_tcase(s, tc);

    tc = tcase_create("key");
    tcase_add_test(tc, wsh_rejects_key_of_15_bytes);
    tcase_add_test(tc, wsh_rejects_key_of_17_bytes);
    tcase_add_test(tc, wsh_rejects_non_base64_key);
    tcase_add_test(tc, wsh_rejects_missing_or_duplicated_key);
    suite_add_tcase(s, tc);

    tc = tcase_create("version");
    tcase_add_test(tc, wsh_rejects_versions_other_than_13);
    tcase_add_test(tc, wsh_rejects_missing_or_repeated_version);
    suite_add_tcase(s, tc);

    tc = tcase_create("origin");
    tcase_add_test(tc, wsh_accepts_allowed_origin);
    tcase_add_test(tc, wsh_rejects_forbidden_origin);
    tcase_add_test(tc, wsh_rejects_origin_with_empty_list);
    tcase_add_test(tc, wsh_rejects_duplicate_origin);
    tcase_add_test(tc, wsh_accepts_absent_origin);
    tcase_add_test(tc, wsh_star_allows_any_origin);
    suite_add_tcase(s, tc);

    tc = tcase_create("status");
    tcase_add_test(tc, wsh_maps_status_codes);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(wsh_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
