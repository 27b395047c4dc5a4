/*
 * Unit tests for common/eio.c: Engine.IO v4 text packets, long-polling
 * payload splitting and building, base64, the open JSON, slot-carrying
 * session ids, handshake query checks and the reference error bodies.
 * Expected bytes are written out literally so an encoder bug cannot hide a
 * parser bug.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "eio.h"

#define S(lit) (lit), (sizeof(lit) - 1)

/* Collect the packets of body[0..n); returns the final status. */
static enum eio_status
split(const char *body, size_t n, struct eio_packet *pk, size_t max,
      size_t *count)
{
    size_t off = 0;
    enum eio_status st;

    *count = 0;
    while ((st = eio_payload_next(body, n, &off, &pk[*count])) == EIO_OK) {
        ck_assert_uint_lt(*count, max);
        ck_assert(pk[*count].data >= body && pk[*count].data <= body + n);
        (*count)++;
    }
    return st;
}

static void
assert_pk(const struct eio_packet *pk, enum eio_type type, int bin,
          const char *data)
{
    ck_assert_int_eq(pk->type, type);
    ck_assert_int_eq(pk->is_binary, bin);
    ck_assert_uint_eq(pk->len, strlen(data));
    ck_assert(memcmp(pk->data, data, pk->len) == 0);
}

START_TEST(eio_parses_every_text_packet_type)
{
    static const char *const in[] = {"0", "1", "2", "3", "4", "5", "6"};
    struct eio_packet pk;

    for (int t = 0; t <= EIO_NOOP; t++) {
        ck_assert_int_eq(eio_parse_text(in[t], 1, &pk), EIO_OK);
        assert_pk(&pk, (enum eio_type)t, 0, "");
        ck_assert_ptr_eq(pk.data, in[t] + 1);
    }
    ck_assert_int_eq(eio_parse_text(S("2probe"), &pk), EIO_OK);
    assert_pk(&pk, EIO_PING, 0, "probe");
    ck_assert_int_eq(eio_parse_text(S("4hello"), &pk), EIO_OK);
    assert_pk(&pk, EIO_MESSAGE, 0, "hello");
    ck_assert_int_eq(eio_parse_text(S("42[\"hello\",1]"), &pk), EIO_OK);
    assert_pk(&pk, EIO_MESSAGE, 0, "2[\"hello\",1]");
}
END_TEST

START_TEST(eio_parses_base64_packet_in_text_frame)
{
    struct eio_packet pk;

    ck_assert_int_eq(eio_parse_text(S("bAQIDBA=="), &pk), EIO_OK);
    assert_pk(&pk, EIO_MESSAGE, 1, "AQIDBA==");
    ck_assert_int_eq(eio_parse_text(S("b"), &pk), EIO_OK);
    assert_pk(&pk, EIO_MESSAGE, 1, "");
}
END_TEST

START_TEST(eio_rejects_bad_text_packets)
{
    struct eio_packet pk;

    ck_assert_int_eq(eio_parse_text("", 0, &pk), EIO_E_PACKET);
    ck_assert_int_eq(eio_parse_text(S("7"), &pk), EIO_E_PACKET);
    ck_assert_int_eq(eio_parse_text(S("abc"), &pk), EIO_E_PACKET);
    ck_assert_int_eq(eio_parse_text(S(" 4x"), &pk), EIO_E_PACKET);
    ck_assert_int_eq(eio_parse_text(S("B"), &pk), EIO_E_PACKET);
    ck_assert_int_eq(eio_parse_text(S("b!!!!"), &pk), EIO_E_PACKET);
    ck_assert_int_eq(eio_parse_text(S("bA"), &pk), EIO_E_PACKET);
}
END_TEST

START_TEST(eio_splits_payload_on_record_separator)
{
    static const char body[] = "42[\"hello\"]\x1e"
                               "42[\"world\"]\x1e"
                               "2\x1e"
                               "4";
    struct eio_packet pk[8];
    size_t n;

    ck_assert_int_eq(split(body, sizeof(body) - 1, pk, 8, &n), EIO_DONE);
    ck_assert_uint_eq(n, 4);
    assert_pk(&pk[0], EIO_MESSAGE, 0, "2[\"hello\"]");
    assert_pk(&pk[1], EIO_MESSAGE, 0, "2[\"world\"]");
    assert_pk(&pk[2], EIO_PING, 0, "");
    assert_pk(&pk[3], EIO_MESSAGE, 0, "");
    ck_assert_ptr_eq(pk[0].data, body + 1);
}
END_TEST

START_TEST(eio_splits_payload_with_binary_packets)
{
    static const char body[] = "4hello\x1e"
                               "bAQIDBA==\x1e"
                               "b";
    struct eio_packet pk[4];
    unsigned char bin[8];
    size_t n, blen;

    ck_assert_int_eq(split(S(body), pk, 4, &n), EIO_DONE);
    ck_assert_uint_eq(n, 3);
    assert_pk(&pk[0], EIO_MESSAGE, 0, "hello");
    assert_pk(&pk[1], EIO_MESSAGE, 1, "AQIDBA==");
    assert_pk(&pk[2], EIO_MESSAGE, 1, "");
    ck_assert_int_eq(
        eio_b64_decode(pk[1].data, pk[1].len, bin, sizeof(bin), &blen), EIO_OK);
    ck_assert_uint_eq(blen, 4);
    ck_assert(memcmp(bin, "\x01\x02\x03\x04", 4) == 0);
}
END_TEST

START_TEST(eio_single_packet_payload_has_no_separator)
{
    struct eio_packet pk[2];
    size_t n;

    ck_assert_int_eq(split(S("1"), pk, 2, &n), EIO_DONE);
    ck_assert_uint_eq(n, 1);
    assert_pk(&pk[0], EIO_CLOSE, 0, "");
    /* A separator byte is only special between packets. */
    ck_assert_int_eq(split(S("4a\x1f"
                             "b"),
                           pk, 2, &n),
                     EIO_DONE);
    ck_assert_uint_eq(n, 1);
}
END_TEST

START_TEST(eio_rejects_empty_payload_and_empty_packets)
{
    struct eio_packet pk[4];
    size_t n;

    ck_assert_int_eq(split("", 0, pk, 4, &n), EIO_E_PACKET);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(split(S("\x1e"), pk, 4, &n), EIO_E_PACKET);
    ck_assert_int_eq(split(S("4a\x1e"), pk, 4, &n), EIO_E_PACKET);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(split(S("4a\x1e\x1e"
                             "4b"),
                           pk, 4, &n),
                     EIO_E_PACKET);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(split(S("\x1e"
                             "4a"),
                           pk, 4, &n),
                     EIO_E_PACKET);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(eio_rejects_payload_with_bad_packet_inside)
{
    struct eio_packet pk[4];
    size_t n;

    ck_assert_int_eq(split(S("4a\x1e"
                             "9\x1e"
                             "4b"),
                           pk, 4, &n),
                     EIO_E_PACKET);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(split(S("abc"), pk, 4, &n), EIO_E_PACKET);
    ck_assert_int_eq(split(S("4a\x1e"
                             "bAQ=D"),
                           pk, 4, &n),
                     EIO_E_PACKET);
    ck_assert_uint_eq(n, 1);
    /* EIO v3 length-prefixed framing is not v4. */
    ck_assert_int_eq(split(S("6:4hello"), pk, 4, &n), EIO_DONE);
    assert_pk(&pk[0], EIO_NOOP, 0, ":4hello");
    ck_assert_int_eq(split(S("16:4hello"), pk, 4, &n), EIO_DONE);
    assert_pk(&pk[0], EIO_CLOSE, 0, "6:4hello");
}
END_TEST

START_TEST(eio_payload_next_rejects_offset_past_end)
{
    struct eio_packet pk;
    size_t off = 3;

    ck_assert_int_eq(eio_payload_next("4a", 2, &off, &pk), EIO_E_PACKET);
}
END_TEST

START_TEST(eio_b64_matches_rfc4648_vectors)
{
    static const char *const plain[] = {"",     "f",     "fo",    "foo",
                                        "foob", "fooba", "foobar"};
    static const char *const enc[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char out[16];
    unsigned char dec[16];
    size_t dlen;

    for (size_t i = 0; i < 7; i++) {
        size_t n = strlen(plain[i]);

        ck_assert_uint_eq(eio_b64_len(n), strlen(enc[i]));
        ck_assert_uint_eq(eio_b64_encode(out, sizeof(out),
                                         (const unsigned char *)plain[i], n),
                          strlen(enc[i]));
        ck_assert_str_eq(out, enc[i]);
        ck_assert(eio_b64_valid(enc[i], strlen(enc[i])));
        ck_assert_int_eq(
            eio_b64_decode(enc[i], strlen(enc[i]), dec, sizeof(dec), &dlen),
            EIO_OK);
        ck_assert_uint_eq(dlen, n);
        ck_assert(memcmp(dec, plain[i], n) == 0);
        ck_assert_uint_ge(eio_b64_dlen(strlen(enc[i])), n);
    }
}
END_TEST

START_TEST(eio_b64_round_trips_all_lengths_and_bytes)
{
    unsigned char in[300], dec[300];
    char enc[404];
    size_t dlen, elen;

    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (unsigned char)(i * 7 + 3);
    for (size_t n = 0; n <= sizeof(in); n++) {
        elen = eio_b64_encode(enc, sizeof(enc), in, n);
        ck_assert_uint_eq(elen, eio_b64_len(n));
        ck_assert_uint_eq(strlen(enc), elen);
        ck_assert(eio_b64_valid(enc, elen));
        ck_assert_uint_ge(eio_b64_dlen(elen), n);
        ck_assert_int_eq(eio_b64_decode(enc, elen, dec, n, &dlen), EIO_OK);
        ck_assert_uint_eq(dlen, n);
        ck_assert(n == 0 || memcmp(dec, in, n) == 0);
    }
}
END_TEST

START_TEST(eio_b64_accepts_missing_padding)
{
    unsigned char dec[4];
    size_t dlen;

    ck_assert_int_eq(eio_b64_decode(S("Zg"), dec, sizeof(dec), &dlen), EIO_OK);
    ck_assert_uint_eq(dlen, 1);
    ck_assert_int_eq(dec[0], 'f');
    ck_assert_int_eq(eio_b64_decode(S("Zm8"), dec, sizeof(dec), &dlen), EIO_OK);
    ck_assert_uint_eq(dlen, 2);
    ck_assert_uint_ge(eio_b64_dlen(2), 1);
    ck_assert_uint_ge(eio_b64_dlen(3), 2);
}
END_TEST

START_TEST(eio_b64_rejects_malformed_text)
{
    static const char *const bad[] = {
        "Z",    "Zg=",      "Zg===", "Zm8==",  "Zm9v=", "Z===",  "====", "Zh==",
        "Zm9=", "Zg==Zg==", "Zm-_",  "Zm9v\n", " Zm9v", "Zm\0v", "Zg=a",
    };
    static const size_t len[] = {1, 3, 5, 5, 5, 4, 4, 4, 4, 8, 4, 5, 5, 4, 4};
    unsigned char dec[16];
    size_t dlen;

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        ck_assert_msg(!eio_b64_valid(bad[i], len[i]), "valid: %s", bad[i]);
        ck_assert_int_eq(
            eio_b64_decode(bad[i], len[i], dec, sizeof(dec), &dlen),
            EIO_E_PACKET);
    }
}
END_TEST

START_TEST(eio_b64_decode_reports_small_buffer)
{
    unsigned char dec[8];
    size_t dlen;

    ck_assert_int_eq(eio_b64_decode(S("Zm9vYmFy"), dec, 5, &dlen),
                     EIO_E_NOSPACE);
    ck_assert_int_eq(eio_b64_decode(S("Zm9vYmFy"), dec, 6, &dlen), EIO_OK);
    ck_assert_uint_eq(dlen, 6);
}
END_TEST

START_TEST(eio_b64_encode_writes_nothing_when_short)
{
    char out[5] = "xxxx";

    ck_assert_uint_eq(eio_b64_encode(NULL, 0, (const unsigned char *)"foo", 3),
                      4);
    ck_assert_uint_eq(eio_b64_encode(out, 4, (const unsigned char *)"foo", 3),
                      4);
    ck_assert_str_eq(out, "xxxx");
    ck_assert_uint_eq(eio_b64_encode(out, 5, (const unsigned char *)"foo", 3),
                      4);
    ck_assert_str_eq(out, "Zm9v");
}
END_TEST

START_TEST(eio_builds_payload_that_splits_back)
{
    char buf[64];
    size_t used = 0, need;
    struct eio_packet pk[4];
    size_t n;

    need = eio_append_text(NULL, 0, used, EIO_MESSAGE, S("hello"));
    ck_assert_uint_eq(need, 6);
    used = eio_append_text(buf, sizeof(buf), used, EIO_MESSAGE, S("hello"));
    ck_assert_uint_eq(used, 6);
    used = eio_append_binary(buf, sizeof(buf), used,
                             (const unsigned char *)"\x01\x02\x03\x04", 4);
    ck_assert_uint_eq(used, 16);
    used = eio_append_text(buf, sizeof(buf), used, EIO_NOOP, NULL, 0);
    ck_assert_uint_eq(used, 18);
    ck_assert_str_eq(buf, "4hello\x1e"
                          "bAQIDBA==\x1e"
                          "6");
    ck_assert_int_eq(split(buf, used, pk, 4, &n), EIO_DONE);
    ck_assert_uint_eq(n, 3);
    assert_pk(&pk[1], EIO_MESSAGE, 1, "AQIDBA==");
    assert_pk(&pk[2], EIO_NOOP, 0, "");
}
END_TEST

START_TEST(eio_append_needs_room_for_nul_and_keeps_prefix)
{
    char buf[8] = "4ab";

    ck_assert_uint_eq(eio_append_text(buf, 6, 3, EIO_PING, S("x")), 6);
    ck_assert_str_eq(buf, "4ab");
    ck_assert_uint_eq(eio_append_text(buf, 7, 3, EIO_PING, S("x")), 6);
    ck_assert_str_eq(buf, "4ab\x1e"
                          "2x");
    ck_assert_uint_eq(eio_append_text(buf, 8, 0, (enum eio_type)7, S("x")), 0);
    ck_assert_uint_eq(eio_append_binary(NULL, 0, 0, NULL, 0), 1);
}
END_TEST

START_TEST(eio_open_json_is_exact)
{
    char out[256];
    size_t n;

    n = eio_open_json(out, sizeof(out), "lv_VI97HAXpY6yYWAAAC", 1, 25000, 20000,
                      1000000);
    ck_assert_str_eq(out, "{\"sid\":\"lv_VI97HAXpY6yYWAAAC\","
                          "\"upgrades\":[\"websocket\"],"
                          "\"pingInterval\":25000,\"pingTimeout\":20000,"
                          "\"maxPayload\":1000000}");
    ck_assert_uint_eq(n, strlen(out));
    n = eio_open_json(out, sizeof(out), "abc-_", 0, 300, 200, 1000000);
    ck_assert_str_eq(out, "{\"sid\":\"abc-_\",\"upgrades\":[],"
                          "\"pingInterval\":300,\"pingTimeout\":200,"
                          "\"maxPayload\":1000000}");
    ck_assert_uint_eq(n, strlen(out));
}
END_TEST

START_TEST(eio_open_json_sizes_and_refuses_unsafe_sid)
{
    char out[16] = "untouched";
    size_t need = eio_open_json(NULL, 0, "abc", 1, 1, 2, 3);

    ck_assert_uint_gt(need, 0);
    ck_assert_uint_eq(eio_open_json(out, sizeof(out), "abc", 1, 1, 2, 3), need);
    ck_assert_str_eq(out, "untouched");
    ck_assert_uint_eq(eio_open_json(out, sizeof(out), "a\"b", 1, 1, 2, 3), 0);
    ck_assert_uint_eq(eio_open_json(out, sizeof(out), "a/b", 1, 1, 2, 3), 0);
    ck_assert_uint_eq(eio_open_json(out, sizeof(out), "", 1, 1, 2, 3), 0);
    ck_assert_uint_eq(eio_open_json(out, sizeof(out), NULL, 1, 1, 2, 3), 0);
}
END_TEST

START_TEST(eio_sid_round_trips_every_slot)
{
    unsigned char rnd[EIO_SID_RANDOM];
    char sid[EIO_SID_LEN + 1];
    unsigned slot;

    for (unsigned s = 0; s <= EIO_SLOT_MAX; s++) {
        for (unsigned k = 0; k < 4; k++) {
            for (size_t i = 0; i < sizeof(rnd); i++)
                rnd[i] = (unsigned char)(s * 31 + k * 97 + i * 13);
            if (k == 3)
                memset(rnd, 0xff, sizeof(rnd));
            eio_sid_new(sid, s, rnd);
            ck_assert_uint_eq(strlen(sid), EIO_SID_LEN);
            ck_assert_uint_eq(strspn(sid, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "abcdefghijklmnopqrstuvwxyz"
                                          "0123456789-_"),
                              EIO_SID_LEN);
            slot = 999;
            ck_assert_int_eq(eio_sid_slot(sid, EIO_SID_LEN, &slot), 0);
            ck_assert_uint_eq(slot, s);
        }
    }
}
END_TEST

START_TEST(eio_sid_raw_form_round_trips)
{
    unsigned char rnd[EIO_SID_RANDOM], raw[EIO_SID_RANDOM], back[EIO_SID_RANDOM];
    char sid[EIO_SID_LEN + 1], viaraw[EIO_SID_LEN + 1];
    unsigned slot;

    for (unsigned k = 0; k < 300; k++) {
        for (size_t i = 0; i < sizeof(rnd); i++)
            rnd[i] = (unsigned char)(k * 7 + i * 29 + (k >> 3) * i);
        eio_sid_new(sid, k % (EIO_SLOT_MAX + 1), rnd);
        eio_sid_make(raw, k % (EIO_SLOT_MAX + 1), rnd);
        eio_sid_format(viaraw, raw);
        ck_assert_str_eq(viaraw, sid);
        memset(back, 0xa5, sizeof(back));
        ck_assert_int_eq(eio_sid_parse(sid, EIO_SID_LEN, back), 0);
        ck_assert(memcmp(back, raw, sizeof(raw)) == 0);
        ck_assert_int_eq(eio_sid_slot(viaraw, EIO_SID_LEN, &slot), 0);
        ck_assert_uint_eq(slot, k % (EIO_SLOT_MAX + 1));
    }
    /* Every byte value survives (a bit lost in a shift would show). */
    for (unsigned v = 0; v < 256; v++) {
        memset(raw, (int)v, sizeof(raw));
        raw[7] = (unsigned char)(255 - v);
        eio_sid_format(sid, raw);
        ck_assert_int_eq(eio_sid_parse(sid, EIO_SID_LEN, back), 0);
        ck_assert(memcmp(back, raw, sizeof(raw)) == 0);
    }
    memcpy(back, raw, sizeof(raw));
    ck_assert_int_eq(eio_sid_parse(sid, EIO_SID_LEN - 1, raw), -1);
    sid[4] = '+';
    ck_assert_int_eq(eio_sid_parse(sid, EIO_SID_LEN, raw), -1);
    ck_assert_int_eq(eio_sid_parse(NULL, EIO_SID_LEN, raw), -1);
    ck_assert(memcmp(back, raw, sizeof(raw)) == 0);
}
END_TEST

START_TEST(eio_sid_keeps_randomness_and_hides_slot_prefix)
{
    unsigned char a[EIO_SID_RANDOM] = {0}, b[EIO_SID_RANDOM] = {0};
    char sa[EIO_SID_LEN + 1], sb[EIO_SID_LEN + 1];

    b[5] = 1;
    eio_sid_new(sa, 3, a);
    eio_sid_new(sb, 3, b);
    ck_assert_str_ne(sa, sb);
    /* Same slot, different last random byte: different first char. */
    b[5] = 0;
    b[EIO_SID_RANDOM - 1] = 0x80;
    eio_sid_new(sb, 3, b);
    ck_assert_int_ne(sa[0], sb[0]);
}
END_TEST

START_TEST(eio_sid_slot_rejects_malformed_ids)
{
    unsigned slot = 77;
    char sid[EIO_SID_LEN + 2];

    memset(sid, 'A', sizeof(sid));
    ck_assert_int_eq(eio_sid_slot(sid, EIO_SID_LEN, &slot), 0);
    ck_assert_uint_eq(slot, 0);
    slot = 77;
    ck_assert_int_eq(eio_sid_slot(sid, EIO_SID_LEN - 1, &slot), -1);
    ck_assert_int_eq(eio_sid_slot(sid, EIO_SID_LEN + 1, &slot), -1);
    ck_assert_int_eq(eio_sid_slot(sid, 0, &slot), -1);
    ck_assert_int_eq(eio_sid_slot(NULL, EIO_SID_LEN, &slot), -1);
    for (const char *c = "+/=.\"% \x7f\x80"; *c != '\0'; c++) {
        sid[7] = *c;
        ck_assert_int_eq(eio_sid_slot(sid, EIO_SID_LEN, &slot), -1);
    }
    sid[7] = '\0';
    ck_assert_int_eq(eio_sid_slot(sid, EIO_SID_LEN, &slot), -1);
    ck_assert_uint_eq(slot, 77);
}
END_TEST

START_TEST(eio_query_accepts_v4_polling_and_websocket)
{
    int polling = -1;

    ck_assert_int_eq(eio_check_query(S("4"), S("polling"), &polling), EIO_OK);
    ck_assert_int_eq(polling, 1);
    ck_assert_int_eq(eio_check_query(S("4"), S("websocket"), &polling), EIO_OK);
    ck_assert_int_eq(polling, 0);
}
END_TEST

START_TEST(eio_query_rejects_protocol_versions_other_than_4)
{
    int polling;

    ck_assert_int_eq(eio_check_query(NULL, 0, S("polling"), &polling),
                     EIO_E_PROTOCOL);
    ck_assert_int_eq(eio_check_query(S("3"), S("polling"), &polling),
                     EIO_E_PROTOCOL);
    ck_assert_int_eq(eio_check_query(S("abc"), S("websocket"), &polling),
                     EIO_E_PROTOCOL);
    ck_assert_int_eq(eio_check_query(S("40"), S("polling"), &polling),
                     EIO_E_PROTOCOL);
    ck_assert_int_eq(eio_check_query("", 0, S("polling"), &polling),
                     EIO_E_PROTOCOL);
}
END_TEST

START_TEST(eio_query_rejects_unknown_transport_first)
{
    int polling;

    ck_assert_int_eq(eio_check_query(S("4"), NULL, 0, &polling),
                     EIO_E_TRANSPORT);
    ck_assert_int_eq(eio_check_query(S("4"), S("tobi"), &polling),
                     EIO_E_TRANSPORT);
    ck_assert_int_eq(eio_check_query(S("4"), S("constructor"), &polling),
                     EIO_E_TRANSPORT);
    ck_assert_int_eq(eio_check_query(S("4"), S("webtransport"), &polling),
                     EIO_E_TRANSPORT);
    ck_assert_int_eq(eio_check_query(S("4"), S("Polling"), &polling),
                     EIO_E_TRANSPORT);
    ck_assert_int_eq(eio_check_query(S("4"), S("pollingx"), &polling),
                     EIO_E_TRANSPORT);
    /* engine.io verify() runs before the version check in handshake(). */
    ck_assert_int_eq(eio_check_query(S("3"), S("abc"), &polling),
                     EIO_E_TRANSPORT);
    ck_assert_int_eq(eio_check_query(NULL, 0, NULL, 0, &polling),
                     EIO_E_TRANSPORT);
}
END_TEST

START_TEST(eio_error_bodies_match_reference_server)
{
    static const char *const want[] = {
        "{\"code\":0,\"message\":\"Transport unknown\"}",
        "{\"code\":1,\"message\":\"Session ID unknown\"}",
        "{\"code\":2,\"message\":\"Bad handshake method\"}",
        "{\"code\":3,\"message\":\"Bad request\"}",
        "{\"code\":4,\"message\":\"Forbidden\"}",
        "{\"code\":5,\"message\":\"Unsupported protocol version\"}",
    };
    char out[EIO_ERROR_JSON_MAX];

    for (int e = EIO_ERR_TRANSPORT; e <= EIO_ERR_PROTOCOL; e++) {
        ck_assert_uint_eq(eio_error_json((enum eio_err)e, NULL, 0),
                          strlen(want[e]));
        ck_assert_uint_eq(eio_error_json((enum eio_err)e, out, sizeof(out)),
                          strlen(want[e]));
        ck_assert_str_eq(out, want[e]);
        ck_assert_int_eq(eio_err_http_status((enum eio_err)e),
                         e == EIO_ERR_FORBIDDEN ? 403 : 400);
    }
    ck_assert_uint_eq(eio_error_json((enum eio_err)6, out, sizeof(out)), 0);
}
END_TEST

START_TEST(eio_maps_query_status_to_error_code)
{
    ck_assert_int_eq(eio_status_err(EIO_E_TRANSPORT), EIO_ERR_TRANSPORT);
    ck_assert_int_eq(eio_status_err(EIO_E_PROTOCOL), EIO_ERR_PROTOCOL);
    ck_assert_int_eq(eio_status_err(EIO_E_PACKET), EIO_ERR_BAD_REQUEST);
    for (int s = EIO_OK; s <= EIO_E_TRANSPORT; s++)
        ck_assert_str_ne(eio_status_str((enum eio_status)s), "unknown status");
}
END_TEST

static Suite *
eio_suite(void)
{
    Suite *s = suite_create("eio");
    TCase *tc;

    tc = tcase_create("text");
    tcase_add_test(tc, eio_parses_every_text_packet_type);
    tcase_add_test(tc, eio_parses_base64_packet_in_text_frame);
    tcase_add_test(tc, eio_rejects_bad_text_packets);
    suite_add_tcase(s, tc);

    tc = tcase_create("payload");
    tcase_add_test(tc, eio_splits_payload_on_record_separator);
    tcase_add_test(tc, eio_splits_payload_with_binary_packets);
    tcase_add_test(tc, eio_single_packet_payload_has_no_separator);
    tcase_add_test(tc, eio_rejects_empty_payload_and_empty_packets);
    tcase_add_test(tc, eio_rejects_payload_with_bad_packet_inside);
    tcase_add_test(tc, eio_payload_next_rejects_offset_past_end);
    tcase_add_test(tc, eio_builds_payload_that_splits_back);
    tcase_add_test(tc, eio_append_needs_room_for_nul_and_keeps_prefix);
    suite_add_tcase(s, tc);

    tc = tcase_create("base64");
    tcase_add_test(tc, eio_b64_matches_rfc4648_vectors);
    tcase_add_test(tc, eio_b64_round_trips_all_lengths_and_bytes);
    tcase_add_test(tc, eio_b64_accepts_missing_padding);
    tcase_add_test(tc, eio_b64_rejects_malformed_text);
    tcase_add_test(tc, eio_b64_decode_reports_small_buffer);
    tcase_add_test(tc, eio_b64_encode_writes_nothing_when_short);
    suite_add_tcase(s, tc);

    tc = tcase_create("open");
    tcase_add_test(tc, eio_open_json_is_exact);
    tcase_add_test(tc, eio_open_json_sizes_and_refuses_unsafe_sid);
    suite_add_tcase(s, tc);

    tc = tcase_create("sid");
    tcase_add_test(tc, eio_sid_round_trips_every_slot);
    tcase_add_test(tc, eio_sid_raw_form_round_trips);
    tcase_add_test(tc, eio_sid_keeps_randomness_and_hides_slot_prefix);
    tcase_add_test(tc, eio_sid_slot_rejects_malformed_ids);
    suite_add_tcase(s, tc);

    tc = tcase_create("handshake");
    tcase_add_test(tc, eio_query_accepts_v4_polling_and_websocket);
    tcase_add_test(tc, eio_query_rejects_protocol_versions_other_than_4);
    tcase_add_test(tc, eio_query_rejects_unknown_transport_first);
    tcase_add_test(tc, eio_error_bodies_match_reference_server);
    tcase_add_test(tc, eio_maps_query_status_to_error_code);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(eio_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
