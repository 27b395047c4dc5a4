/*
 * Unit tests for common/sio.c: every packet example of the socket.io-protocol
 * README (v5), the malformed packets a server must refuse, placeholder
 * checks for binary attachments, and the encoders (exact bytes, size
 * queries, argument checks, parse round trips).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sio.h"

#define S(lit) (lit), (sizeof(lit) - 1)

/* Parse a client packet; the caller clears pk. */
static enum sio_status
parse(const char *text, struct sio_packet *pk)
{
    return sio_parse(text, strlen(text), pk, 0);
}

/* Parse text, expect success with these fields, and clear. */
static void
expect_ok(const char *text, unsigned flags, enum sio_type type, size_t nattach,
          const char *nsp, long long ack, const char *payload)
{
    struct sio_packet pk;
    enum sio_status st = sio_parse(text, strlen(text), &pk, flags);

    ck_assert_msg(st == SIO_OK, "%s: %s", text, sio_status_str(st));
    ck_assert_int_eq(pk.type, type);
    ck_assert_uint_eq(pk.nattach, nattach);
    ck_assert_uint_eq(pk.nsp_len, strlen(nsp));
    ck_assert(memcmp(pk.nsp, nsp, pk.nsp_len) == 0);
    ck_assert_int_eq(pk.ack_id, ack);
    if (payload == NULL) {
        ck_assert_ptr_null(pk.payload);
        ck_assert_ptr_null(pk.json);
    } else {
        ck_assert_uint_eq(pk.payload_len, strlen(payload));
        ck_assert(memcmp(pk.payload, payload, pk.payload_len) == 0);
        ck_assert(pk.payload >= text && pk.payload < text + strlen(text));
        ck_assert_ptr_nonnull(pk.json);
    }
    sio_packet_clear(&pk);
    ck_assert_ptr_null(pk.json);
}

static void
expect_err(const char *text, size_t n, unsigned flags, enum sio_status want)
{
    struct sio_packet pk;
    enum sio_status st = sio_parse(text, n, &pk, flags);

    ck_assert_msg(st == want, "%.*s: got %s, want %s", (int)n, text,
                  sio_status_str(st), sio_status_str(want));
    ck_assert_ptr_null(pk.json);
}

#define BAD(lit, st) expect_err(S(lit), 0, (st))

START_TEST(sio_parses_readme_connect_examples)
{
    expect_ok("0", 0, SIO_CONNECT, 0, "/", -1, NULL);
    expect_ok("0/admin,", 0, SIO_CONNECT, 0, "/admin", -1, NULL);
    expect_ok("0{\"token\":\"123\"}", 0, SIO_CONNECT, 0, "/", -1,
              "{\"token\":\"123\"}");
    expect_ok("0/admin,{\"token\":\"123\"}", 0, SIO_CONNECT, 0, "/admin", -1,
              "{\"token\":\"123\"}");
    /* Server replies, as a test client reads them. */
    expect_ok("0{\"sid\":\"wZX3oN0bSVIhsaknAAAI\"}", SIO_F_FROM_SERVER,
              SIO_CONNECT, 0, "/", -1, "{\"sid\":\"wZX3oN0bSVIhsaknAAAI\"}");
    expect_ok("0/admin,{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}", SIO_F_FROM_SERVER,
              SIO_CONNECT, 0, "/admin", -1,
              "{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}");
    expect_ok("4{\"message\":\"Not authorized\"}", SIO_F_FROM_SERVER,
              SIO_CONNECT_ERROR, 0, "/", -1,
              "{\"message\":\"Not authorized\"}");
}
END_TEST

START_TEST(sio_parses_readme_disconnect_examples)
{
    expect_ok("1", 0, SIO_DISCONNECT, 0, "/", -1, NULL);
    expect_ok("1/admin,", 0, SIO_DISCONNECT, 0, "/admin", -1, NULL);
}
END_TEST

START_TEST(sio_parses_readme_event_examples)
{
    expect_ok("2[\"foo\"]", 0, SIO_EVENT, 0, "/", -1, "[\"foo\"]");
    expect_ok("2[\"hello\",1]", 0, SIO_EVENT, 0, "/", -1, "[\"hello\",1]");
    expect_ok("2/admin,[\"bar\"]", 0, SIO_EVENT, 0, "/admin", -1, "[\"bar\"]");
    expect_ok("2/admin,456[\"project:delete\",123]", 0, SIO_EVENT, 0, "/admin",
              456, "[\"project:delete\",123]");
    expect_ok("212[\"foo\"]", 0, SIO_EVENT, 0, "/", 12, "[\"foo\"]");
    expect_ok("2/admin,13[\"foo\"]", 0, SIO_EVENT, 0, "/admin", 13,
              "[\"foo\"]");
    expect_ok("215[\"foo\"]", 0, SIO_EVENT, 0, "/", 15, "[\"foo\"]");
    expect_ok("2[\"message\",1,\"2\",{\"3\":[true]}]", 0, SIO_EVENT, 0, "/", -1,
              "[\"message\",1,\"2\",{\"3\":[true]}]");
}
END_TEST

START_TEST(sio_parses_readme_ack_examples)
{
    expect_ok("3/admin,456[]", 0, SIO_ACK, 0, "/admin", 456, "[]");
    expect_ok("312[]", 0, SIO_ACK, 0, "/", 12, "[]");
    expect_ok("3/admin,13[\"bar\"]", 0, SIO_ACK, 0, "/admin", 13, "[\"bar\"]");
    expect_ok("314[\"bar\"]", 0, SIO_ACK, 0, "/", 14, "[\"bar\"]");
}
END_TEST

START_TEST(sio_parses_readme_binary_examples)
{
    expect_ok("51-[\"hello\",{\"_placeholder\":true,\"num\":0}]", 0,
              SIO_BINARY_EVENT, 1, "/", -1,
              "[\"hello\",{\"_placeholder\":true,\"num\":0}]");
    expect_ok("51-[\"baz\",{\"_placeholder\":true,\"num\":0}]", 0,
              SIO_BINARY_EVENT, 1, "/", -1,
              "[\"baz\",{\"_placeholder\":true,\"num\":0}]");
    expect_ok("52-/admin,[\"baz\",{\"_placeholder\":true,\"num\":0},"
              "{\"_placeholder\":true,\"num\":1}]",
              0, SIO_BINARY_EVENT, 2, "/admin", -1,
              "[\"baz\",{\"_placeholder\":true,\"num\":0},"
              "{\"_placeholder\":true,\"num\":1}]");
    expect_ok("51-14[\"foo\",{\"_placeholder\":true,\"num\":0}]", 0,
              SIO_BINARY_EVENT, 1, "/", 14,
              "[\"foo\",{\"_placeholder\":true,\"num\":0}]");
    expect_ok("61-/admin,456[{\"_placeholder\":true,\"num\":0}]", 0,
              SIO_BINARY_ACK, 1, "/admin", 456,
              "[{\"_placeholder\":true,\"num\":0}]");
    expect_ok("61-15[\"bar\",{\"_placeholder\":true,\"num\":0}]", 0,
              SIO_BINARY_ACK, 1, "/", 15,
              "[\"bar\",{\"_placeholder\":true,\"num\":0}]");
}
END_TEST

START_TEST(sio_reads_namespace_without_comma_to_end)
{
    /* The reference test suite sends "40/custom" and "41/custom". */
    expect_ok("0/custom", 0, SIO_CONNECT, 0, "/custom", -1, NULL);
    expect_ok("1/custom", 0, SIO_DISCONNECT, 0, "/custom", -1, NULL);
    expect_ok("0/,", 0, SIO_CONNECT, 0, "/", -1, NULL);
    expect_ok("2/é,[\"x\"]", 0, SIO_EVENT, 0, "/é", -1, "[\"x\"]");
}
END_TEST

START_TEST(sio_returns_parsed_json_owned_by_caller)
{
    struct sio_packet pk;
    json_t *j;

    ck_assert_int_eq(parse("2[\"hello\",{\"a\":1}]", &pk), SIO_OK);
    j = json_incref(pk.json);
    sio_packet_clear(&pk);
    ck_assert_int_eq(j->refcount, 1);
    ck_assert_str_eq(json_string_value(json_array_get(j, 0)), "hello");
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_array_get(j, 1), "a")), 1);
    json_decref(j);
    sio_packet_clear(NULL);
}
END_TEST

START_TEST(sio_rejects_bad_types)
{
    BAD("", SIO_E_TYPE);
    BAD("7", SIO_E_TYPE);
    BAD("9[\"x\"]", SIO_E_TYPE);
    BAD("x", SIO_E_TYPE);
    BAD("/", SIO_E_TYPE);
    /* A client never sends CONNECT_ERROR. */
    BAD("4{\"message\":\"Not authorized\"}", SIO_E_TYPE);
    expect_err(S("4\"Not authorized\""), SIO_F_FROM_SERVER, SIO_E_PAYLOAD);
    expect_err(S("4"), SIO_F_FROM_SERVER, SIO_E_PAYLOAD);
}
END_TEST

START_TEST(sio_rejects_bad_payloads)
{
    BAD("2", SIO_E_PAYLOAD);
    BAD("2{}", SIO_E_PAYLOAD);
    BAD("2[]", SIO_E_PAYLOAD);
    BAD("2[1]", SIO_E_PAYLOAD);
    BAD("2[null]", SIO_E_PAYLOAD);
    BAD("2[[\"x\"]]", SIO_E_PAYLOAD);
    BAD("2[\"x\"", SIO_E_PAYLOAD);
    BAD("2[\"x\"]]", SIO_E_PAYLOAD);
    BAD("2[\"x\"]x", SIO_E_PAYLOAD);
    BAD("2\"x\"", SIO_E_PAYLOAD);
    BAD("2/admin", SIO_E_PAYLOAD); /* namespace, then no payload */
    BAD("2/admin[\"x\"]", SIO_E_PAYLOAD);
    BAD("2,[\"x\"]", SIO_E_PAYLOAD);
    BAD("0[]", SIO_E_PAYLOAD);
    BAD("0\"tok\"", SIO_E_PAYLOAD);
    BAD("0abc", SIO_E_PAYLOAD);
    BAD("1{}", SIO_E_PAYLOAD);
    BAD("1/admin,[]", SIO_E_PAYLOAD);
    BAD("312{}", SIO_E_PAYLOAD);
    BAD("312", SIO_E_PAYLOAD);
    BAD("2[\"a\\u0000b\"]", SIO_E_PAYLOAD);
    expect_err("2[\"a\0\"]", 7, 0, SIO_E_PAYLOAD);
}
END_TEST

START_TEST(sio_rejects_reserved_event_names)
{
    BAD("2[\"connect\"]", SIO_E_PAYLOAD);
    BAD("2[\"connect_error\",1]", SIO_E_PAYLOAD);
    BAD("2[\"disconnect\"]", SIO_E_PAYLOAD);
    BAD("2[\"disconnecting\"]", SIO_E_PAYLOAD);
    BAD("2[\"newListener\"]", SIO_E_PAYLOAD);
    BAD("2[\"removeListener\"]", SIO_E_PAYLOAD);
    expect_ok("2[\"connected\"]", 0, SIO_EVENT, 0, "/", -1, "[\"connected\"]");
}
END_TEST

START_TEST(sio_rejects_bad_ack_ids)
{
    BAD("3[]", SIO_E_ACKID);
    BAD("3/admin,[]", SIO_E_ACKID);
    BAD("61-[{\"_placeholder\":true,\"num\":0}]", SIO_E_ACKID);
    BAD("2999999999999999999999[\"x\"]", SIO_E_ACKID);
    BAD("29223372036854775808[\"x\"]", SIO_E_ACKID);
    BAD("01", SIO_E_ACKID);
    BAD("1/admin,5", SIO_E_ACKID);
    expect_err(S("412{\"message\":\"x\"}"), SIO_F_FROM_SERVER, SIO_E_ACKID);
    expect_ok("29223372036854775807[\"x\"]", 0, SIO_EVENT, 0, "/",
              9223372036854775807LL, "[\"x\"]");
    expect_ok("3007[]", 0, SIO_ACK, 0, "/", 7, "[]");
}
END_TEST

START_TEST(sio_rejects_bad_namespaces)
{
    char big[SIO_NSP_MAX + 16];

    BAD("2/a\tb,[\"x\"]", SIO_E_NSP);
    BAD("2/a\x7f,[\"x\"]", SIO_E_NSP);
    BAD("2/\xff,[\"x\"]", SIO_E_NSP);
    BAD("0/\xc3", SIO_E_NSP);
    big[0] = '0';
    big[1] = '/';
    memset(big + 2, 'a', SIO_NSP_MAX - 1);
    big[SIO_NSP_MAX + 1] = ',';
    expect_err(big, SIO_NSP_MAX + 2, 0, SIO_OK);
    big[SIO_NSP_MAX + 1] = 'a';
    big[SIO_NSP_MAX + 2] = ',';
    expect_err(big, SIO_NSP_MAX + 3, 0, SIO_E_NSP);
}
END_TEST

START_TEST(sio_rejects_bad_attachment_counts)
{
    BAD("5[\"x\"]", SIO_E_ATTACH);
    BAD("5-[\"x\"]", SIO_E_ATTACH);
    BAD("51[\"x\"]", SIO_E_ATTACH);
    BAD("51", SIO_E_ATTACH);
    BAD("5", SIO_E_ATTACH);
    BAD("599999999999999999999999-[\"x\"]", SIO_E_ATTACH);
    BAD("51025-[\"x\"]", SIO_E_ATTACH);
    /* Count and placeholders disagree. */
    BAD("51-[\"x\"]", SIO_E_ATTACH);
    BAD("50-[\"x\",{\"_placeholder\":true,\"num\":0}]", SIO_E_ATTACH);
    BAD("52-[\"x\",{\"_placeholder\":true,\"num\":0}]", SIO_E_ATTACH);
    /* Forbidden on non-binary types. */
    BAD("21-[\"x\"]", SIO_E_ATTACH);
    BAD("31-1[]", SIO_E_ATTACH);
    BAD("01-", SIO_E_ATTACH);
    expect_ok("50-[\"x\"]", 0, SIO_BINARY_EVENT, 0, "/", -1, "[\"x\"]");
    /* Placeholders mean nothing on a plain EVENT. */
    expect_ok("2[\"x\",{\"_placeholder\":true,\"num\":9}]", 0, SIO_EVENT, 0,
              "/", -1, "[\"x\",{\"_placeholder\":true,\"num\":9}]");
}
END_TEST

/* sio_attach_check on the JSON text js. */
static enum sio_status
attach(const char *js, size_t nattach)
{
    json_error_t e;
    json_t *j = json_loads(js, 0, &e);
    enum sio_status st;

    ck_assert_ptr_nonnull(j);
    st = sio_attach_check(j, nattach);
    json_decref(j);
    return st;
}

START_TEST(sio_attach_check_accepts_each_attachment_once)
{
    ck_assert_int_eq(sio_attach_check(NULL, 0), SIO_OK);
    ck_assert_int_eq(attach("[\"x\"]", 0), SIO_OK);
    ck_assert_int_eq(attach("[\"x\",{\"_placeholder\":true,\"num\":1},"
                            "{\"a\":[{\"_placeholder\":true,\"num\":0}]}]",
                            2),
                     SIO_OK);
    ck_assert_int_eq(attach("{\"k\":{\"num\":0,\"_placeholder\":true}}", 1),
                     SIO_OK);
    /* "_placeholder" other than true is ordinary data. */
    ck_assert_int_eq(attach("[{\"_placeholder\":false,\"num\":0}]", 0), SIO_OK);
    ck_assert_int_eq(attach("[{\"_placeholder\":1,\"num\":0}]", 0), SIO_OK);
}
END_TEST

START_TEST(sio_attach_check_rejects_bad_placeholders)
{
    ck_assert_int_eq(attach("[{\"_placeholder\":true,\"num\":1}]", 1),
                     SIO_E_ATTACH);
    ck_assert_int_eq(attach("[{\"_placeholder\":true,\"num\":-1}]", 1),
                     SIO_E_ATTACH);
    ck_assert_int_eq(attach("[{\"_placeholder\":true,\"num\":\"0\"}]", 1),
                     SIO_E_ATTACH);
    ck_assert_int_eq(attach("[{\"_placeholder\":true,\"num\":0.0}]", 1),
                     SIO_E_ATTACH);
    ck_assert_int_eq(attach("[{\"_placeholder\":true}]", 1), SIO_E_ATTACH);
    ck_assert_int_eq(attach("[{\"_placeholder\":true,\"num\":0},"
                            "{\"_placeholder\":true,\"num\":0}]",
                            2),
                     SIO_E_ATTACH);
    ck_assert_int_eq(attach("[{\"_placeholder\":true,\"num\":0}]", 2),
                     SIO_E_ATTACH);
    ck_assert_int_eq(attach("[\"x\"]", SIO_ATTACH_MAX + 1), SIO_E_ATTACH);
    ck_assert_int_eq(attach("[{\"_placeholder\":true,\"num\":"
                            "9223372036854775807}]",
                            1),
                     SIO_E_ATTACH);
}
END_TEST

START_TEST(sio_encodes_readme_examples_exactly)
{
    char out[128];

    ck_assert_uint_eq(
        sio_encode(out, sizeof(out), SIO_CONNECT, NULL, -1, NULL, 0, 0), 1);
    ck_assert_str_eq(out, "0");
    sio_encode(out, sizeof(out), SIO_CONNECT, "/admin", -1, NULL, 0, 0);
    ck_assert_str_eq(out, "0/admin,");
    sio_encode(out, sizeof(out), SIO_DISCONNECT, "/", -1, NULL, 0, 0);
    ck_assert_str_eq(out, "1");
    sio_encode(out, sizeof(out), SIO_EVENT, "/admin", 456,
               S("[\"project:delete\",123]"), 0);
    ck_assert_str_eq(out, "2/admin,456[\"project:delete\",123]");
    sio_encode(out, sizeof(out), SIO_ACK, "/admin", 456, S("[]"), 0);
    ck_assert_str_eq(out, "3/admin,456[]");
    sio_encode(out, sizeof(out), SIO_BINARY_EVENT, NULL, -1,
               S("[\"hello\",{\"_placeholder\":true,\"num\":0}]"), 1);
    ck_assert_str_eq(out, "51-[\"hello\",{\"_placeholder\":true,\"num\":0}]");
    sio_encode(out, sizeof(out), SIO_BINARY_ACK, "/admin", 456,
               S("[{\"_placeholder\":true,\"num\":0}]"), 1);
    ck_assert_str_eq(out, "61-/admin,456[{\"_placeholder\":true,\"num\":0}]");
    sio_encode(out, sizeof(out), SIO_CONNECT_ERROR, NULL, -1,
               S("{\"message\":\"Not authorized\"}"), 0);
    ck_assert_str_eq(out, "4{\"message\":\"Not authorized\"}");
}
END_TEST

START_TEST(sio_encode_refuses_bad_arguments)
{
    char out[64];

    ck_assert_uint_eq(
        sio_encode(out, sizeof(out), (enum sio_type)7, NULL, -1, NULL, 0, 0),
        0);
    ck_assert_uint_eq(
        sio_encode(out, sizeof(out), SIO_EVENT, "admin", -1, S("[\"x\"]"), 0),
        0);
    ck_assert_uint_eq(
        sio_encode(out, sizeof(out), SIO_EVENT, "/a,b", -1, S("[\"x\"]"), 0),
        0);
    ck_assert_uint_eq(
        sio_encode(out, sizeof(out), SIO_EVENT, "", -1, S("[\"x\"]"), 0), 0);
    ck_assert_uint_eq(
        sio_encode(out, sizeof(out), SIO_EVENT, NULL, -2, S("[\"x\"]"), 0), 0);
    ck_assert_uint_eq(
        sio_encode(out, sizeof(out), SIO_EVENT, NULL, -1, S("[\"x\"]"), 1), 0);
    ck_assert_uint_eq(
        sio_encode(out, sizeof(out), SIO_ACK, NULL, -1, S("[]"), 0), 0);
    ck_assert_uint_eq(
        sio_encode(out, sizeof(out), SIO_CONNECT, NULL, 3, NULL, 0, 0), 0);
    ck_assert_uint_eq(sio_encode(out, sizeof(out), SIO_BINARY_EVENT, NULL, -1,
                                 S("[\"x\"]"), SIO_ATTACH_MAX + 1),
                      0);
    ck_assert_uint_eq(sio_encode_ack(out, sizeof(out), NULL, -1, NULL, 0), 0);
    ck_assert_uint_eq(
        sio_encode_event(out, sizeof(out), NULL, -1, "\xff", NULL, 0, NULL), 0);
    ck_assert_uint_eq(
        sio_encode_event(out, sizeof(out), NULL, -1, NULL, NULL, 0, NULL), 0);
}
END_TEST

START_TEST(sio_encode_sizes_before_writing)
{
    char out[8];
    size_t need = sio_encode_connect(NULL, 0, NULL, "abc", NULL);

    ck_assert_uint_eq(need, strlen("0{\"sid\":\"abc\"}"));
    ck_assert_uint_eq(sio_encode_connect(out, sizeof(out), NULL, "abc", NULL),
                      need);
    ck_assert_uint_eq(sio_encode(out, 1, SIO_DISCONNECT, NULL, -1, NULL, 0, 0),
                      1);
    ck_assert_uint_eq(sio_encode(out, 2, SIO_DISCONNECT, NULL, -1, NULL, 0, 0),
                      1);
    ck_assert_str_eq(out, "1");
}
END_TEST

START_TEST(sio_encodes_connect_reply)
{
    char out[128];

    sio_encode_connect(out, sizeof(out), NULL, "wZX3oN0bSVIhsaknAAAI", NULL);
    ck_assert_str_eq(out, "0{\"sid\":\"wZX3oN0bSVIhsaknAAAI\"}");
    sio_encode_connect(out, sizeof(out), "/admin", "oSO0OpakMV_3jnilAAAA",
                       "Pk1wLJ3xoSnU2T5xAAAB");
    ck_assert_str_eq(out, "0/admin,{\"sid\":\"oSO0OpakMV_3jnilAAAA\","
                          "\"pid\":\"Pk1wLJ3xoSnU2T5xAAAB\"}");
    ck_assert_uint_eq(sio_encode_connect(out, sizeof(out), NULL, NULL, NULL),
                      0);
}
END_TEST

START_TEST(sio_encodes_connect_error_with_code)
{
    char out[160];

    sio_encode_connect_error(out, sizeof(out), NULL, "Not authorized", NULL);
    ck_assert_str_eq(out, "4{\"message\":\"Not authorized\"}");
    sio_encode_connect_error(out, sizeof(out), "/random", "Invalid namespace",
                             NULL);
    ck_assert_str_eq(out, "4/random,{\"message\":\"Invalid namespace\"}");
    sio_encode_connect_error(out, sizeof(out), NULL, "token expired",
                             "token_expired");
    ck_assert_str_eq(out, "4{\"message\":\"token expired\","
                          "\"data\":{\"code\":\"token_expired\"}}");
    sio_encode_connect_error(out, sizeof(out), NULL, "say \"hi\"\n", "a\\b");
    ck_assert_str_eq(out, "4{\"message\":\"say \\\"hi\\\"\\n\","
                          "\"data\":{\"code\":\"a\\\\b\"}}");
}
END_TEST

START_TEST(sio_encodes_disconnect)
{
    char out[32];

    ck_assert_uint_eq(sio_encode_disconnect(out, sizeof(out), NULL), 1);
    ck_assert_str_eq(out, "1");
    ck_assert_uint_eq(sio_encode_disconnect(out, sizeof(out), "/admin"), 8);
    ck_assert_str_eq(out, "1/admin,");
}
END_TEST

START_TEST(sio_encodes_events_with_escaped_name_and_offset)
{
    char out[160];

    sio_encode_event(out, sizeof(out), NULL, -1, "hey", S("\"Jude\""), NULL);
    ck_assert_str_eq(out, "2[\"hey\",\"Jude\"]");
    sio_encode_event(out, sizeof(out), NULL, -1, "ping", NULL, 0, NULL);
    ck_assert_str_eq(out, "2[\"ping\"]");
    sio_encode_event(out, sizeof(out), "/admin", 7, "lead:update",
                     S("{\"id\":42}"), "1700000000000-0");
    ck_assert_str_eq(out, "2/admin,7[\"lead:update\",{\"id\":42},"
                          "\"1700000000000-0\"]");
    sio_encode_event(out, sizeof(out), NULL, -1, "a\"b\\c\x01/é", NULL, 0,
                     "o\"1");
    ck_assert_str_eq(out, "2[\"a\\\"b\\\\c\\u0001/é\",\"o\\\"1\"]");
}
END_TEST

START_TEST(sio_encodes_acks)
{
    char out[64];

    ck_assert_uint_eq(sio_encode_ack(out, sizeof(out), NULL, 12, NULL, 0), 5);
    ck_assert_str_eq(out, "312[]");
    sio_encode_ack(out, sizeof(out), "/admin", 13, S("[\"bar\"]"));
    ck_assert_str_eq(out, "3/admin,13[\"bar\"]");
    sio_encode_ack(out, sizeof(out), NULL, 0,
                   S("[{\"ok\":true,\"rooms\":[\"a\"]}]"));
    ck_assert_str_eq(out, "30[{\"ok\":true,\"rooms\":[\"a\"]}]");
}
END_TEST

START_TEST(sio_echo_reencodes_binary_event_with_placeholders)
{
    static const char in[] = "52-[\"message\",{\"_placeholder\":true,"
                             "\"num\":0},{\"_placeholder\":true,\"num\":1}]";
    struct sio_packet pk;
    char out[128];

    ck_assert_int_eq(sio_parse(S(in), &pk, 0), SIO_OK);
    /* Raw: the payload text comes back byte for byte. */
    sio_encode(out, sizeof(out), pk.type, NULL, pk.ack_id, pk.payload,
               pk.payload_len, pk.nattach);
    ck_assert_str_eq(out, in);
    /* Through jansson, with the event renamed as the echo app does. */
    json_array_set_new(pk.json, 0, json_string("message-back"));
    sio_encode_json(out, sizeof(out), pk.type, NULL, pk.ack_id, pk.json,
                    pk.nattach);
    ck_assert_str_eq(out, "52-[\"message-back\",{\"_placeholder\":true,"
                          "\"num\":0},{\"_placeholder\":true,\"num\":1}]");
    sio_packet_clear(&pk);
}
END_TEST

START_TEST(sio_encode_json_refuses_scalar_payload)
{
    char out[32];
    json_t *j = json_integer(1);

    ck_assert_uint_eq(
        sio_encode_json(out, sizeof(out), SIO_EVENT, NULL, -1, j, 0), 0);
    json_decref(j);
    ck_assert_uint_eq(
        sio_encode_json(out, sizeof(out), SIO_DISCONNECT, "/x", -1, NULL, 0),
        4);
    ck_assert_str_eq(out, "1/x,");
}
END_TEST

START_TEST(sio_encoded_packets_parse_back)
{
    char out[128];
    struct sio_packet pk;
    size_t n;

    n = sio_encode_event(out, sizeof(out), "/n", 9, "e", S("[1]"), "off");
    ck_assert_int_eq(sio_parse(out, n, &pk, 0), SIO_OK);
    ck_assert_int_eq(pk.type, SIO_EVENT);
    ck_assert_int_eq(pk.ack_id, 9);
    ck_assert_uint_eq(json_array_size(pk.json), 3);
    ck_assert_str_eq(json_string_value(json_array_get(pk.json, 2)), "off");
    sio_packet_clear(&pk);
    n = sio_encode_connect_error(out, sizeof(out), "/n", "m", "c");
    ck_assert_int_eq(sio_parse(out, n, &pk, SIO_F_FROM_SERVER), SIO_OK);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(pk.json, "data"), "code")),
                     "c");
    sio_packet_clear(&pk);
    n = sio_encode_connect(out, sizeof(out), NULL, "s", "p");
    ck_assert_int_eq(sio_parse(out, n, &pk, SIO_F_FROM_SERVER), SIO_OK);
    sio_packet_clear(&pk);
}
END_TEST

static Suite *
sio_suite(void)
{
    Suite *s = suite_create("sio");
    TCase *tc;

    tc = tcase_create("parse");
    tcase_add_test(tc, sio_parses_readme_connect_examples);
    tcase_add_test(tc, sio_parses_readme_disconnect_examples);
    tcase_add_test(tc, sio_parses_readme_event_examples);
    tcase_add_test(tc, sio_parses_readme_ack_examples);
    tcase_add_test(tc, sio_parses_readme_binary_examples);
    tcase_add_test(tc, sio_reads_namespace_without_comma_to_end);
    tcase_add_test(tc, sio_returns_parsed_json_owned_by_caller);
    suite_add_tcase(s, tc);

    tc = tcase_create("reject");
    tcase_add_test(tc, sio_rejects_bad_types);
    tcase_add_test(tc, sio_rejects_bad_payloads);
    tcase_add_test(tc, sio_rejects_reserved_event_names);
    tcase_add_test(tc, sio_rejects_bad_ack_ids);
    tcase_add_test(tc, sio_rejects_bad_namespaces);
    tcase_add_test(tc, sio_rejects_bad_attachment_counts);
    suite_add_tcase(s, tc);

    tc = tcase_create("attach");
    tcase_add_test(tc, sio_attach_check_accepts_each_attachment_once);
    tcase_add_test(tc, sio_attach_check_rejects_bad_placeholders);
    suite_add_tcase(s, tc);

    tc = tcase_create("encode");
    tcase_add_test(tc, sio_encodes_readme_examples_exactly);
    tcase_add_test(tc, sio_encode_refuses_bad_arguments);
    tcase_add_test(tc, sio_encode_sizes_before_writing);
    tcase_add_test(tc, sio_encodes_connect_reply);
    tcase_add_test(tc, sio_encodes_connect_error_with_code);
    tcase_add_test(tc, sio_encodes_disconnect);
    tcase_add_test(tc, sio_encodes_events_with_escaped_name_and_offset);
    tcase_add_test(tc, sio_encodes_acks);
    tcase_add_test(tc, sio_echo_reencodes_binary_event_with_placeholders);
    tcase_add_test(tc, sio_encode_json_refuses_scalar_payload);
    tcase_add_test(tc, sio_encoded_packets_parse_back);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(sio_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
