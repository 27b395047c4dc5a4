/*
 * Unit tests for common/wsf.c: RFC 6455 frame headers, unmasking, the
 * message receive rules and close payloads. Frames are written out byte by
 * byte here (not with wsf_build_hdr) so a builder bug cannot hide a parser
 * bug.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wsf.h"

static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Parse a client frame header with permessage-deflate off. */
static enum wsf_status
parse(const unsigned char *p, size_t n, struct wsf_hdr *h)
{
    return wsf_parse_hdr(p, n, h, 0);
}

/* Every proper prefix of a valid header must ask for more bytes. */
static void
assert_prefixes_again(const unsigned char *p, size_t hdr_len, unsigned flags)
{
    struct wsf_hdr h;

    for (size_t k = 0; k < hdr_len; k++)
        ck_assert_msg(wsf_parse_hdr(p, k, &h, flags) == WSF_AGAIN, "prefix %zu",
                      k);
}

/* Header with a 7-bit length field value len7, then ext bytes, then key. */
static size_t
mkhdr(unsigned char *out, unsigned b0, unsigned len7, const unsigned char *ext,
      size_t next)
{
    out[0] = (unsigned char)b0;
    out[1] = (unsigned char)(0x80 | len7);
    if (next > 0)
        memcpy(out + 2, ext, next);
    memcpy(out + 2 + next, key, 4);
    return 2 + next + 4;
}

START_TEST(wsf_parses_7bit_length_0_and_125)
{
    unsigned char b[WSF_MAX_HDR];
    struct wsf_hdr h;
    size_t n;

    n = mkhdr(b, 0x81, 0, NULL, 0);
    ck_assert_int_eq(parse(b, n, &h), WSF_OK);
    ck_assert_uint_eq(h.len, 0);
    ck_assert_uint_eq(h.hdr_len, 6);
    n = mkhdr(b, 0x82, 125, NULL, 0);
    ck_assert_int_eq(parse(b, n, &h), WSF_OK);
    ck_assert_uint_eq(h.len, 125);
    ck_assert_uint_eq(h.hdr_len, 6);
    ck_assert_uint_eq(h.fin, 1);
    ck_assert_uint_eq(h.opcode, WSF_OP_BINARY);
    ck_assert_uint_eq(h.masked, 1);
    ck_assert_uint_eq(h.rsv, 0);
    ck_assert_mem_eq(h.key, key, 4);
    assert_prefixes_again(b, n, 0);
}
END_TEST

START_TEST(wsf_parses_16bit_length_126_and_65535)
{
    unsigned char b[WSF_MAX_HDR];
    struct wsf_hdr h;
    size_t n;

    n = mkhdr(b, 0x01, 126, (const unsigned char *)"\x00\x7e", 2);
    ck_assert_int_eq(parse(b, n, &h), WSF_OK);
    ck_assert_uint_eq(h.len, 126);
    ck_assert_uint_eq(h.hdr_len, 8);
    ck_assert_uint_eq(h.fin, 0);
    ck_assert_uint_eq(h.opcode, WSF_OP_TEXT);
    ck_assert_mem_eq(h.key, key, 4);
    assert_prefixes_again(b, n, 0);
    n = mkhdr(b, 0x81, 126, (const unsigned char *)"\xff\xff", 2);
    ck_assert_int_eq(parse(b, n, &h), WSF_OK);
    ck_assert_uint_eq(h.len, 65535);
}
END_TEST

START_TEST(wsf_parses_64bit_length_65536_and_max)
{
    unsigned char b[WSF_MAX_HDR];
    struct wsf_hdr h;
    size_t n;

    n = mkhdr(b, 0x82, 127,
              (const unsigned char *)"\x00\x00\x00\x00\x00\x01\x00\x00", 8);
    ck_assert_int_eq(parse(b, n, &h), WSF_OK);
    ck_assert_uint_eq(h.len, 65536);
    ck_assert_uint_eq(h.hdr_len, 14);
    ck_assert_mem_eq(h.key, key, 4);
    assert_prefixes_again(b, n, 0);
    n = mkhdr(b, 0x82, 127,
              (const unsigned char *)"\x7f\xff\xff\xff\xff\xff\xff\xff", 8);
    ck_assert_int_eq(parse(b, n, &h), WSF_OK);
    ck_assert_uint_eq(h.len, UINT64_C(0x7fffffffffffffff));
    n = mkhdr(b, 0x82, 127,
              (const unsigned char *)"\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    ck_assert_int_eq(parse(b, n, &h), WSF_OK);
    ck_assert_uint_eq(h.len, UINT64_C(0x0102030405060708));
}
END_TEST

START_TEST(wsf_parse_ignores_bytes_after_the_header)
{
    unsigned char b[64];
    struct wsf_hdr h;

    memset(b, 0xEE, sizeof(b));
    mkhdr(b, 0x81, 5, NULL, 0);
    ck_assert_int_eq(parse(b, sizeof(b), &h), WSF_OK);
    ck_assert_uint_eq(h.hdr_len, 6);
    ck_assert_uint_eq(h.len, 5);
}
END_TEST

START_TEST(wsf_rejects_64bit_length_with_msb_set)
{
    unsigned char b[WSF_MAX_HDR];
    struct wsf_hdr h;
    size_t n;

    n = mkhdr(b, 0x82, 127,
              (const unsigned char *)"\x80\x00\x00\x00\x00\x00\x00\x00", 8);
    ck_assert_int_eq(parse(b, n, &h), WSF_E_LEN_MSB);
    /* The first length byte already proves it. */
    ck_assert_int_eq(parse(b, 3, &h), WSF_E_LEN_MSB);
    ck_assert_int_eq(parse(b, 2, &h), WSF_AGAIN);
    n = mkhdr(b, 0x82, 127,
              (const unsigned char *)"\xff\xff\xff\xff\xff\xff\xff\xff", 8);
    ck_assert_int_eq(parse(b, n, &h), WSF_E_LEN_MSB);
}
END_TEST

START_TEST(wsf_rejects_16bit_length_below_126)
{
    unsigned char b[WSF_MAX_HDR];
    struct wsf_hdr h;
    size_t n;

    n = mkhdr(b, 0x81, 126, (const unsigned char *)"\x00\x00", 2);
    ck_assert_int_eq(parse(b, n, &h), WSF_E_LEN_NOT_MINIMAL);
    n = mkhdr(b, 0x81, 126, (const unsigned char *)"\x00\x7d", 2);
    ck_assert_int_eq(parse(b, n, &h), WSF_E_LEN_NOT_MINIMAL);
    ck_assert_int_eq(parse(b, 4, &h), WSF_E_LEN_NOT_MINIMAL);
    ck_assert_int_eq(parse(b, 3, &h), WSF_AGAIN);
}
END_TEST

START_TEST(wsf_rejects_64bit_length_up_to_65535)
{
    unsigned char b[WSF_MAX_HDR];
    struct wsf_hdr h;
    size_t n;

    n = mkhdr(b, 0x82, 127,
              (const unsigned char *)"\x00\x00\x00\x00\x00\x00\xff\xff", 8);
    ck_assert_int_eq(parse(b, n, &h), WSF_E_LEN_NOT_MINIMAL);
    ck_assert_int_eq(parse(b, 10, &h), WSF_E_LEN_NOT_MINIMAL);
    n = mkhdr(b, 0x82, 127,
              (const unsigned char *)"\x00\x00\x00\x00\x00\x00\x00\x7e", 8);
    ck_assert_int_eq(parse(b, n, &h), WSF_E_LEN_NOT_MINIMAL);
    n = mkhdr(b, 0x82, 127,
              (const unsigned char *)"\x00\x00\x00\x00\x00\x00\x00\x00", 8);
    ck_assert_int_eq(parse(b, n, &h), WSF_E_LEN_NOT_MINIMAL);
}
END_TEST

START_TEST(wsf_rejects_unmasked_client_frame)
{
    const unsigned char in[] = {0x81, 0x02, 'h', 'i'}; /* FIN|text, MASK=0 */
    struct wsf_hdr h;

    ck_assert_int_eq(wsf_parse_hdr(in, sizeof(in), &h, 0), WSF_E_UNMASKED);
    ck_assert_int_eq(wsf_parse_hdr(in, 2, &h, 0), WSF_E_UNMASKED);
}
END_TEST

START_TEST(wsf_server_frames_must_be_unmasked)
{
    const unsigned char in[] = {0x81, 0x02, 'h', 'i'};
    unsigned char b[WSF_MAX_HDR];
    struct wsf_hdr h;
    size_t n;

    ck_assert_int_eq(wsf_parse_hdr(in, sizeof(in), &h, WSF_F_FROM_SERVER),
                     WSF_OK);
    ck_assert_uint_eq(h.hdr_len, 2);
    ck_assert_uint_eq(h.len, 2);
    ck_assert_uint_eq(h.masked, 0);
    n = mkhdr(b, 0x81, 2, NULL, 0);
    ck_assert_int_eq(wsf_parse_hdr(b, n, &h, WSF_F_FROM_SERVER), WSF_E_MASKED);
}
END_TEST

/* Expected verdict for RSV bits rsv on opcode op. */
static enum wsf_status
rsv_expect(unsigned rsv, unsigned op, int deflate)
{
    if (rsv & (WSF_RSV2 | WSF_RSV3))
        return WSF_E_RSV;
    if (rsv & WSF_RSV1) {
        if (!deflate || op == WSF_OP_CONT || WSF_OP_IS_CONTROL(op))
            return WSF_E_RSV;
    }
    return WSF_OK;
}

START_TEST(wsf_checks_every_rsv_combination_on_every_opcode)
{
    static const unsigned ops[] = {WSF_OP_CONT,  WSF_OP_TEXT, WSF_OP_BINARY,
                                   WSF_OP_CLOSE, WSF_OP_PING, WSF_OP_PONG};

    for (int deflate = 0; deflate <= 1; deflate++) {
        unsigned flags = deflate ? WSF_F_RSV1 : 0;

        for (unsigned rsv = 0; rsv < 8; rsv++) {
            for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
                unsigned char b[WSF_MAX_HDR];
                struct wsf_hdr h;
                size_t n = mkhdr(b, 0x80 | rsv << 4 | ops[i], 1, NULL, 0);
                enum wsf_status want = rsv_expect(rsv, ops[i], deflate);

                ck_assert_msg(wsf_parse_hdr(b, n, &h, flags) == want,
                              "deflate %d rsv %u op %u", deflate, rsv, ops[i]);
                if (want == WSF_OK)
                    ck_assert_uint_eq(h.rsv, rsv);
                else /* byte 0 alone is enough */
                    ck_assert_int_eq(wsf_parse_hdr(b, 1, &h, flags), want);
            }
        }
    }
}
END_TEST

START_TEST(wsf_rejects_reserved_opcodes)
{
    for (unsigned op = 0; op < 16; op++) {
        unsigned char b[WSF_MAX_HDR];
        struct wsf_hdr h;
        size_t n = mkhdr(b, 0x80 | op, 0, NULL, 0);
        int reserved = (op >= 3 && op <= 7) || op >= 0xB;

        ck_assert_int_eq(parse(b, n, &h), reserved ? WSF_E_OPCODE : WSF_OK);
        ck_assert_int_eq(parse(b, 1, &h), reserved ? WSF_E_OPCODE : WSF_AGAIN);
        if (!reserved)
            ck_assert_uint_eq(h.opcode, op);
    }
}
END_TEST

START_TEST(wsf_rejects_control_frame_over_125)
{
    static const unsigned ops[] = {WSF_OP_CLOSE, WSF_OP_PING, WSF_OP_PONG};

    for (size_t i = 0; i < 3; i++) {
        unsigned char b[WSF_MAX_HDR];
        struct wsf_hdr h;
        size_t n;

        n = mkhdr(b, 0x80 | ops[i], 125, NULL, 0);
        ck_assert_int_eq(parse(b, n, &h), WSF_OK);
        n = mkhdr(b, 0x80 | ops[i], 126, (const unsigned char *)"\x00\x7e", 2);
        ck_assert_int_eq(parse(b, n, &h), WSF_E_CTRL_TOO_BIG);
        ck_assert_int_eq(parse(b, 2, &h), WSF_E_CTRL_TOO_BIG);
        n = mkhdr(b, 0x80 | ops[i], 127,
                  (const unsigned char *)"\x00\x00\x00\x00\x00\x01\x00\x00", 8);
        ck_assert_int_eq(parse(b, n, &h), WSF_E_CTRL_TOO_BIG);
    }
}
END_TEST

START_TEST(wsf_rejects_fragmented_control_frame)
{
    static const unsigned ops[] = {WSF_OP_CLOSE, WSF_OP_PING, WSF_OP_PONG};

    for (size_t i = 0; i < 3; i++) {
        unsigned char b[WSF_MAX_HDR];
        struct wsf_hdr h;
        size_t n = mkhdr(b, ops[i], 0, NULL, 0);

        ck_assert_int_eq(parse(b, n, &h), WSF_E_CTRL_FRAGMENTED);
        ck_assert_int_eq(parse(b, 1, &h), WSF_E_CTRL_FRAGMENTED);
    }
}
END_TEST

START_TEST(wsf_parse_asks_for_more_on_empty_input)
{
    struct wsf_hdr h;

    ck_assert_int_eq(parse(NULL, 0, &h), WSF_AGAIN);
}
END_TEST

/* Byte-at-a-time reference for wsf_unmask. */
static void
ref_unmask(unsigned char *p, size_t n, const unsigned char k[4], size_t off)
{
    for (size_t i = 0; i < n; i++)
        p[i] ^= k[(off + i) % 4];
}

START_TEST(wsf_unmask_matches_bytewise_at_every_offset_and_length)
{
    unsigned char src[64], a[64 + 8], b[64];

    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (unsigned char)(i * 7 + 3);
    for (size_t off = 0; off < 8; off++) {
        for (size_t len = 0; len <= 40; len++) {
            for (size_t align = 0; align < 8; align++) {
                memcpy(a + align, src, len);
                memcpy(b, src, len);
                wsf_unmask(a + align, len, key, off);
                ref_unmask(b, len, key, off);
                ck_assert_msg(memcmp(a + align, b, len) == 0,
                              "off %zu len %zu align %zu", off, len, align);
            }
        }
    }
}
END_TEST

START_TEST(wsf_unmask_in_chunks_equals_unmask_in_one_go)
{
    unsigned char whole[300], chunked[300];

    for (size_t i = 0; i < sizeof(whole); i++)
        whole[i] = (unsigned char)(i ^ 0x5a);
    memcpy(chunked, whole, sizeof(whole));
    wsf_unmask(whole, sizeof(whole), key, 0);
    for (size_t c1 = 0; c1 < 40; c1++) {
        for (size_t c2 = c1; c2 < 80; c2 += 3) {
            unsigned char t[300];

            memcpy(t, chunked, sizeof(t));
            wsf_unmask(t, c1, key, 0);
            wsf_unmask(t + c1, c2 - c1, key, c1);
            wsf_unmask(t + c2, sizeof(t) - c2, key, c2);
            ck_assert_mem_eq(t, whole, sizeof(t));
        }
    }
}
END_TEST

START_TEST(wsf_unmask_twice_restores_and_handles_large_offsets)
{
    unsigned char a[100], b[100];

    for (size_t i = 0; i < sizeof(a); i++)
        a[i] = b[i] = (unsigned char)i;
    wsf_unmask(a, sizeof(a), key, UINT64_C(0x100000003));
    ref_unmask(b, sizeof(b), key, 3);
    ck_assert_mem_eq(a, b, sizeof(a));
    wsf_unmask(a, sizeof(a), key, 3);
    for (size_t i = 0; i < sizeof(a); i++)
        ck_assert_uint_eq(a[i], i);
}
END_TEST

START_TEST(wsf_builds_server_headers_with_minimal_length)
{
    static const struct {
        uint64_t len;
        size_t hlen;
        unsigned char b1;
    } cases[] = {{0, 2, 0},        {125, 2, 125},
                 {126, 4, 126},    {65535, 4, 126},
                 {65536, 10, 127}, {UINT64_C(0x7fffffffffffffff), 10, 127}};
    unsigned char out[WSF_MAX_HDR];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wsf_hdr h;
        size_t n = wsf_build_hdr(out, WSF_OP_BINARY, 1, 0, cases[i].len);

        ck_assert_uint_eq(n, cases[i].hlen);
        ck_assert_uint_eq(out[0], 0x82);
        ck_assert_uint_eq(out[1], cases[i].b1);
        ck_assert_int_eq(wsf_parse_hdr(out, n, &h, WSF_F_FROM_SERVER), WSF_OK);
        ck_assert_uint_eq(h.len, cases[i].len);
        ck_assert_uint_eq(h.hdr_len, n);
    }
    ck_assert_uint_eq(wsf_build_hdr(out, WSF_OP_TEXT, 1, 0, 300), 4);
    ck_assert_mem_eq(out, "\x81\x7e\x01\x2c", 4);
    ck_assert_uint_eq(wsf_build_hdr(out, WSF_OP_TEXT, 0, 1, 5), 2);
    ck_assert_mem_eq(out, "\x41\x05", 2);
    ck_assert_uint_eq(wsf_build_hdr(out, WSF_OP_PONG, 1, 0, 0), 2);
    ck_assert_mem_eq(out, "\x8a\x00", 2);
}
END_TEST

START_TEST(wsf_masked_build_round_trips_through_parse)
{
    static const uint64_t lens[] = {0,   1,     125,   126,
                                    127, 65535, 65536, UINT64_C(1) << 40};
    static const unsigned ops[] = {WSF_OP_CONT, WSF_OP_TEXT, WSF_OP_BINARY};

    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        for (size_t j = 0; j < 3; j++) {
            for (int fin = 0; fin <= 1; fin++) {
                unsigned char out[WSF_MAX_HDR];
                struct wsf_hdr h;
                int rsv1 = ops[j] != WSF_OP_CONT && fin;
                size_t n =
                    wsf_build_hdr_masked(out, ops[j], fin, rsv1, lens[i], key);

                ck_assert_uint_le(n, WSF_MAX_HDR);
                ck_assert_int_eq(wsf_parse_hdr(out, n, &h, WSF_F_RSV1), WSF_OK);
                ck_assert_uint_eq(h.hdr_len, n);
                ck_assert_uint_eq(h.len, lens[i]);
                ck_assert_uint_eq(h.opcode, ops[j]);
                ck_assert_uint_eq(h.fin, fin);
                ck_assert_uint_eq(h.rsv, rsv1 ? WSF_RSV1 : 0);
                ck_assert_uint_eq(h.masked, 1);
                ck_assert_mem_eq(h.key, key, 4);
                assert_prefixes_again(out, n, WSF_F_RSV1);
            }
        }
    }
}
END_TEST

/* Run a header through the receive machine. */
static enum wsf_status
rx_hdr(struct wsf_rx *rx, unsigned op, int fin, int rsv1, uint64_t len)
{
    struct wsf_hdr h;

    memset(&h, 0, sizeof(h));
    h.opcode = (unsigned char)op;
    h.fin = (unsigned char)fin;
    h.rsv = rsv1 ? WSF_RSV1 : 0;
    h.len = len;
    h.masked = 1;
    return wsf_rx_frame(rx, &h);
}

/* A whole frame: header, then the payload in one piece. */
static enum wsf_status
rx_frame(struct wsf_rx *rx, unsigned op, int fin, const char *s, size_t n)
{
    enum wsf_status st = rx_hdr(rx, op, fin, 0, n);

    if (st != WSF_OK)
        return st;
    return wsf_rx_payload(rx, (const unsigned char *)s, n);
}

START_TEST(wsf_rejects_continuation_without_message)
{
    struct wsf_rx rx;

    wsf_rx_init(&rx, 1000);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_CONT, 1, "x", 1), WSF_E_CONTINUATION);
    wsf_rx_init(&rx, 1000);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_TEXT, 1, "a", 1), WSF_OK);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_CONT, 0, "b", 1), WSF_E_CONTINUATION);
}
END_TEST

START_TEST(wsf_rejects_new_message_inside_fragmented_one)
{
    struct wsf_rx rx;

    wsf_rx_init(&rx, 1000);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_TEXT, 0, "a", 1), WSF_OK);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_BINARY, 1, "b", 1),
                     WSF_E_EXPECTED_CONTINUATION);
    wsf_rx_init(&rx, 1000);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_BINARY, 0, "a", 1), WSF_OK);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_CONT, 0, "b", 1), WSF_OK);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_TEXT, 1, "c", 1),
                     WSF_E_EXPECTED_CONTINUATION);
}
END_TEST

START_TEST(wsf_allows_control_frames_between_fragments)
{
    struct wsf_rx rx;

    wsf_rx_init(&rx, 1000);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_TEXT, 0, "frag1", 5), WSF_OK);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_PING, 1, "ping", 4), WSF_OK);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_CONT, 0, "frag2", 5), WSF_OK);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_PONG, 1, "", 0), WSF_OK);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_PING, 1, "\xff", 1), WSF_OK);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_CONT, 1, "frag3", 5), WSF_OK);
    ck_assert_uint_eq(rx.msg_op, WSF_OP_TEXT);
    ck_assert_uint_eq(rx.msg_len, 15);
    /* The message ended: a new one may start. */
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_BINARY, 1, "\xff", 1), WSF_OK);
    ck_assert_uint_eq(rx.msg_op, WSF_OP_BINARY);
    ck_assert_uint_eq(rx.msg_len, 1);
}
END_TEST

START_TEST(wsf_enforces_message_limit_across_fragments)
{
    struct wsf_rx rx;

    wsf_rx_init(&rx, 10);
    ck_assert_int_eq(rx_hdr(&rx, WSF_OP_BINARY, 0, 0, 4), WSF_OK);
    ck_assert_int_eq(rx_hdr(&rx, WSF_OP_CONT, 0, 0, 4), WSF_OK);
    ck_assert_int_eq(rx_hdr(&rx, WSF_OP_PING, 1, 0, 100), WSF_OK);
    ck_assert_int_eq(rx_hdr(&rx, WSF_OP_CONT, 1, 0, 2), WSF_OK);
    ck_assert_uint_eq(rx.msg_len, 10);
    ck_assert_int_eq(rx_hdr(&rx, WSF_OP_BINARY, 0, 0, 10), WSF_OK);
    ck_assert_int_eq(rx_hdr(&rx, WSF_OP_CONT, 1, 0, 1), WSF_E_TOO_BIG);
    wsf_rx_init(&rx, 10);
    ck_assert_int_eq(rx_hdr(&rx, WSF_OP_TEXT, 1, 0, 11), WSF_E_TOO_BIG);
    wsf_rx_init(&rx, 10);
    ck_assert_int_eq(rx_hdr(&rx, WSF_OP_BINARY, 0, 0, 1), WSF_OK);
    ck_assert_int_eq(
        rx_hdr(&rx, WSF_OP_CONT, 1, 0, UINT64_C(0x7fffffffffffffff)),
        WSF_E_TOO_BIG);
    wsf_rx_init(&rx, UINT64_MAX);
    ck_assert_int_eq(
        rx_hdr(&rx, WSF_OP_BINARY, 0, 0, UINT64_C(0x7fffffffffffffff)), WSF_OK);
    ck_assert_int_eq(
        rx_hdr(&rx, WSF_OP_CONT, 1, 0, UINT64_C(0x7fffffffffffffff)), WSF_OK);
}
END_TEST

START_TEST(wsf_records_compression_from_first_frame)
{
    struct wsf_rx rx;

    wsf_rx_init(&rx, 1000);
    ck_assert_int_eq(rx_hdr(&rx, WSF_OP_TEXT, 0, 1, 2), WSF_OK);
    ck_assert_uint_eq(rx.compressed, 1);
    /* Compressed bytes are not UTF-8 and are not checked as such. */
    ck_assert_int_eq(wsf_rx_payload(&rx, (const unsigned char *)"\xff\xfe", 2),
                     WSF_OK);
    ck_assert_int_eq(rx_hdr(&rx, WSF_OP_CONT, 1, 0, 1), WSF_OK);
    ck_assert_uint_eq(rx.compressed, 1);
    ck_assert_int_eq(wsf_rx_payload(&rx, (const unsigned char *)"\xc0", 1),
                     WSF_OK);
    /* The inflated text goes through wsf_rx_text instead. */
    ck_assert_int_eq(wsf_rx_text(&rx, (const unsigned char *)"caf\xc3", 4, 0),
                     WSF_OK);
    ck_assert_int_eq(wsf_rx_text(&rx, (const unsigned char *)"\xa9", 1, 1),
                     WSF_OK);
    ck_assert_int_eq(rx_hdr(&rx, WSF_OP_TEXT, 1, 0, 0), WSF_OK);
    ck_assert_uint_eq(rx.compressed, 0);
}
END_TEST

START_TEST(wsf_rx_text_reports_bad_and_truncated_inflated_text)
{
    struct wsf_rx rx;

    wsf_rx_init(&rx, 1000);
    ck_assert_int_eq(rx_hdr(&rx, WSF_OP_TEXT, 1, 1, 3), WSF_OK);
    ck_assert_int_eq(wsf_rx_payload(&rx, (const unsigned char *)"zzz", 3),
                     WSF_OK);
    ck_assert_int_eq(wsf_rx_text(&rx, (const unsigned char *)"\xed\xa0", 2, 0),
                     WSF_E_UTF8);
    ck_assert_int_eq(rx_hdr(&rx, WSF_OP_TEXT, 1, 1, 3), WSF_OK);
    ck_assert_int_eq(wsf_rx_payload(&rx, (const unsigned char *)"zzz", 3),
                     WSF_OK);
    ck_assert_int_eq(
        wsf_rx_text(&rx, (const unsigned char *)"ok\xe2\x82", 4, 0), WSF_OK);
    ck_assert_int_eq(wsf_rx_text(&rx, NULL, 0, 1), WSF_E_UTF8);
}
END_TEST

START_TEST(wsf_accepts_utf8_split_across_fragments)
{
    static const char *const seqs[] = {"\xc3\xa9", "\xe2\x82\xac",
                                       "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf"};

    for (size_t i = 0; i < 4; i++) {
        size_t n = strlen(seqs[i]);

        for (size_t cut = 1; cut < n; cut++) {
            struct wsf_rx rx;

            wsf_rx_init(&rx, 1000);
            ck_assert_int_eq(rx_frame(&rx, WSF_OP_TEXT, 0, seqs[i], cut),
                             WSF_OK);
            ck_assert_int_eq(rx_frame(&rx, WSF_OP_PING, 1, "p", 1), WSF_OK);
            ck_assert_int_eq(
                rx_frame(&rx, WSF_OP_CONT, 1, seqs[i] + cut, n - cut), WSF_OK);
        }
    }
}
END_TEST

START_TEST(wsf_rejects_utf8_truncated_at_message_end)
{
    struct wsf_rx rx;

    wsf_rx_init(&rx, 1000);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_TEXT, 1, "ab\xe2\x82", 4),
                     WSF_E_UTF8);
    /* Truncation revealed by an empty final continuation. */
    wsf_rx_init(&rx, 1000);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_TEXT, 0, "ab\xe2\x82", 4), WSF_OK);
    ck_assert_int_eq(rx_hdr(&rx, WSF_OP_CONT, 1, 0, 0), WSF_E_UTF8);
    /* And fed in two pieces inside the final frame. */
    wsf_rx_init(&rx, 1000);
    ck_assert_int_eq(rx_hdr(&rx, WSF_OP_TEXT, 1, 0, 3), WSF_OK);
    ck_assert_int_eq(wsf_rx_payload(&rx, (const unsigned char *)"a\xf0", 2),
                     WSF_OK);
    ck_assert_int_eq(wsf_rx_payload(&rx, (const unsigned char *)"\x9f", 1),
                     WSF_E_UTF8);
}
END_TEST

START_TEST(wsf_rejects_invalid_utf8_on_first_bad_byte)
{
    struct wsf_rx rx;

    /* Autobahn 6.4.x: the frame that carries the bad byte fails at once,
     * before the message is complete. */
    wsf_rx_init(&rx, 1000);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_TEXT, 0,
                              "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5",
                              11),
                     WSF_OK);
    ck_assert_int_eq(rx_hdr(&rx, WSF_OP_CONT, 0, 0, 4), WSF_OK);
    ck_assert_int_eq(wsf_rx_payload(&rx, (const unsigned char *)"\xf4", 1),
                     WSF_OK);
    ck_assert_int_eq(wsf_rx_payload(&rx, (const unsigned char *)"\x90", 1),
                     WSF_E_UTF8);
}
END_TEST

START_TEST(wsf_does_not_check_binary_or_control_payload_as_utf8)
{
    struct wsf_rx rx;

    wsf_rx_init(&rx, 1000);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_BINARY, 0, "\xff\xc0", 2), WSF_OK);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_CONT, 1, "\xed\xa0\x80", 3), WSF_OK);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_PONG, 1, "\xff", 1), WSF_OK);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_TEXT, 1, "\xc3\xa9", 2), WSF_OK);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_TEXT, 1, "", 0), WSF_OK);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_TEXT, 1, "\xc3", 1), WSF_E_UTF8);
}
END_TEST

START_TEST(wsf_close_empty_payload_means_no_status)
{
    unsigned code = 0;
    const unsigned char *reason = NULL;
    size_t rlen = 99;

    ck_assert_int_eq(
        wsf_close_parse((const unsigned char *)"", 0, &code, &reason, &rlen),
        WSF_OK);
    ck_assert_uint_eq(code, WSF_CLOSE_NO_STATUS);
    ck_assert_uint_eq(rlen, 0);
}
END_TEST

START_TEST(wsf_close_rejects_one_byte_payload)
{
    unsigned code;
    const unsigned char *reason;
    size_t rlen;

    ck_assert_int_eq(wsf_close_parse((const unsigned char *)"\x03", 1, &code,
                                     &reason, &rlen),
                     WSF_E_CLOSE_PAYLOAD);
    ck_assert_uint_eq(wsf_status_close_code(WSF_E_CLOSE_PAYLOAD), 1002);
}
END_TEST

START_TEST(wsf_close_checks_every_code_from_0_to_5000)
{
    for (unsigned c = 0; c <= 5000; c++) {
        unsigned char p[2] = {(unsigned char)(c >> 8), (unsigned char)c};
        unsigned code = 0;
        const unsigned char *reason;
        size_t rlen;
        int ok = (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) ||
                 (c >= 3000 && c <= 4999);

        ck_assert_int_eq(wsf_close_code_valid(c), ok);
        ck_assert_int_eq(wsf_close_parse(p, 2, &code, &reason, &rlen),
                         ok ? WSF_OK : WSF_E_CLOSE_CODE);
        if (ok) {
            ck_assert_uint_eq(code, c);
            ck_assert_uint_eq(rlen, 0);
        }
    }
    ck_assert_int_eq(wsf_close_code_valid(65535), 0);
}
END_TEST

START_TEST(wsf_close_returns_reason_and_checks_its_utf8)
{
    unsigned code;
    const unsigned char *reason;
    size_t rlen;
    const unsigned char ok[] = "\x03\xe8"
                               "bye \xc3\xa9";
    const unsigned char bad[] = "\x03\xe8"
                                "bye \xc3";
    const unsigned char surr[] = "\x0f\xa0\xed\xa0\x80";

    ck_assert_int_eq(wsf_close_parse(ok, sizeof(ok) - 1, &code, &reason, &rlen),
                     WSF_OK);
    ck_assert_uint_eq(code, 1000);
    ck_assert_uint_eq(rlen, 6);
    ck_assert_ptr_eq(reason, ok + 2);
    ck_assert_int_eq(
        wsf_close_parse(bad, sizeof(bad) - 1, &code, &reason, &rlen),
        WSF_E_UTF8);
    ck_assert_int_eq(
        wsf_close_parse(surr, sizeof(surr) - 1, &code, &reason, &rlen),
        WSF_E_UTF8);
    ck_assert_uint_eq(wsf_status_close_code(WSF_E_UTF8), 1007);
}
END_TEST

START_TEST(wsf_close_build_round_trips)
{
    unsigned char out[WSF_MAX_CTRL];
    unsigned code;
    const unsigned char *reason;
    size_t rlen, n;

    n = wsf_close_build(out, 1001, (const unsigned char *)"going", 5);
    ck_assert_uint_eq(n, 7);
    ck_assert_mem_eq(out, "\x03\xe9going", 7);
    ck_assert_int_eq(wsf_close_parse(out, n, &code, &reason, &rlen), WSF_OK);
    ck_assert_uint_eq(code, 1001);
    ck_assert_uint_eq(rlen, 5);
    ck_assert_uint_eq(wsf_close_build(out, 4000, NULL, 0), 2);
    ck_assert_uint_eq(wsf_close_build(out, WSF_CLOSE_NO_STATUS,
                                      (const unsigned char *)"x", 1),
                      0);
}
END_TEST

START_TEST(wsf_close_build_cuts_long_reason_on_char_boundary)
{
    unsigned char reason[200], out[WSF_MAX_CTRL];
    unsigned code;
    const unsigned char *r;
    size_t rlen, n;

    /* 122 ASCII bytes then a 3-byte character straddling the limit. */
    memset(reason, 'a', sizeof(reason));
    memcpy(reason + 122, "\xe2\x82\xac", 3);
    n = wsf_close_build(out, 1000, reason, sizeof(reason));
    ck_assert_uint_eq(n, 2 + 122);
    ck_assert_int_eq(wsf_close_parse(out, n, &code, &r, &rlen), WSF_OK);
    /* Ending exactly on the limit keeps the whole character. */
    memset(reason, 'a', sizeof(reason));
    memcpy(reason + 120, "\xe2\x82\xac", 3);
    n = wsf_close_build(out, 1000, reason, sizeof(reason));
    ck_assert_uint_eq(n, 2 + WSF_MAX_CLOSE_REASON);
    ck_assert_int_eq(wsf_close_parse(out, n, &code, &r, &rlen), WSF_OK);
    memset(reason, 'b', sizeof(reason));
    n = wsf_close_build(out, 1000, reason, sizeof(reason));
    ck_assert_uint_eq(n, WSF_MAX_CTRL);
}
END_TEST

START_TEST(wsf_maps_every_status_to_close_code_and_name)
{
    for (int s = WSF_OK; s <= WSF_E_CLOSE_CODE; s++) {
        unsigned c = wsf_status_close_code((enum wsf_status)s);
        const char *name = wsf_status_str((enum wsf_status)s);

        ck_assert_ptr_nonnull(name);
        ck_assert_str_ne(name, "unknown");
        if (s == WSF_OK || s == WSF_AGAIN)
            ck_assert_uint_eq(c, 0);
        else if (s == WSF_E_UTF8)
            ck_assert_uint_eq(c, 1007);
        else if (s == WSF_E_TOO_BIG)
            ck_assert_uint_eq(c, 1009);
        else
            ck_assert_uint_eq(c, 1002);
        for (int t = WSF_OK; t < s; t++)
            ck_assert_str_ne(name, wsf_status_str((enum wsf_status)t));
    }
    ck_assert_str_eq(wsf_status_str(WSF_E_UNMASKED), "unmasked");
}
END_TEST

/*
 * worker/ws.c parses whole frames in one scratch state per worker and
 * re-initialises it for every read that starts between messages, and it
 * moves the state of a partial message to the heap with a plain copy. Both
 * rely on what these two check: between messages the state behaves like a
 * fresh one, and a copied state carries on exactly like the original.
 */
static void
next_frames_like_fresh(const struct wsf_rx *after, const char *what)
{
    static const struct {
        unsigned op;
        int fin;
        const char *p;
        size_t n;
    } nf[] = {
        {WSF_OP_CONT, 1, "x", 1},      {WSF_OP_CONT, 0, "x", 1},
        {WSF_OP_TEXT, 1, "ok", 2},     {WSF_OP_TEXT, 1, "\xc3", 1},
        {WSF_OP_TEXT, 1, "\xff", 1},   {WSF_OP_TEXT, 0, "\xc3", 1},
        {WSF_OP_BINARY, 1, "\xff", 1}, {WSF_OP_PING, 1, "p", 1},
        {WSF_OP_TEXT, 1, "", 0},
    };

    for (size_t i = 0; i < sizeof(nf) / sizeof(nf[0]); i++) {
        struct wsf_rx a = *after, f;
        wsf_rx_init(&f, 1000);
        ck_assert_msg(rx_frame(&a, nf[i].op, nf[i].fin, nf[i].p, nf[i].n)
                          == rx_frame(&f, nf[i].op, nf[i].fin, nf[i].p,
                                      nf[i].n),
                      "%s: next frame %zu", what, i);
        ck_assert_uint_eq(a.in_msg, f.in_msg);
    }
}

START_TEST(wsf_rx_between_messages_acts_like_a_fresh_state)
{
    struct wsf_rx rx;

    wsf_rx_init(&rx, 1000);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_TEXT, 1, "h\xc3\xa9", 3), WSF_OK);
    next_frames_like_fresh(&rx, "one text frame");
    wsf_rx_init(&rx, 1000);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_TEXT, 0, "\xf0\x9f", 2), WSF_OK);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_PING, 1, "p", 1), WSF_OK);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_CONT, 1, "\x98\x80", 2), WSF_OK);
    ck_assert_int_eq(rx_frame(&rx, WSF_OP_PONG, 1, "", 0), WSF_OK);
    next_frames_like_fresh(&rx, "fragmented text, control frames after");
    wsf_rx_init(&rx, 1000);
    ck_assert_int_eq(rx_hdr(&rx, WSF_OP_TEXT, 1, 1, 3), WSF_OK);
    ck_assert_int_eq(wsf_rx_payload(&rx, (const unsigned char *)"\xff\0\0",
                                    3), WSF_OK);
    next_frames_like_fresh(&rx, "compressed text");
}
END_TEST

START_TEST(wsf_rx_state_copied_mid_message_carries_on)
{
    /* A 4-byte character cut between two fragments, the second fed in
     * two pieces, the state copied at every point in between. */
    const unsigned char good[] = "a\xf0\x9f\x98\x80z";
    const unsigned char bad[] = "a\xf0\x9f\x28\x80z";

    for (int which = 0; which < 2; which++) {
        const unsigned char *m = which ? bad : good;
        for (size_t cut = 1; cut < 6; cut++) {
            struct wsf_rx rx, moved;
            enum wsf_status st;
            wsf_rx_init(&rx, 1000);
            ck_assert_int_eq(rx_hdr(&rx, WSF_OP_TEXT, 0, 0, 2), WSF_OK);
            st = wsf_rx_payload(&rx, m, 2);
            ck_assert_int_eq(st, WSF_OK);
            memcpy(&moved, &rx, sizeof(rx));
            memset(&rx, 0xa5, sizeof(rx));
            ck_assert_int_eq(rx_hdr(&moved, WSF_OP_CONT, 1, 0, 4), WSF_OK);
            size_t first = cut < 4 ? cut : 4;
            st = wsf_rx_payload(&moved, m + 2, first);
            if (st == WSF_OK && first < 4) {
                memcpy(&rx, &moved, sizeof(rx));
                memset(&moved, 0x5a, sizeof(moved));
                st = wsf_rx_payload(&rx, m + 2 + first, 4 - first);
            }
            ck_assert_msg(st == (which ? WSF_E_UTF8 : WSF_OK),
                          "%s message, cut %zu", which ? "bad" : "good", cut);
        }
    }
}
END_TEST

static Suite *
wsf_suite(void)
{
    Suite *s = suite_create("wsf");
    TCase *tc;

    tc = tcase_create("parse_length");
    tcase_add_test(tc, wsf_parses_7bit_length_0_and_125);
    tcase_add_test(tc, wsf_parses_16bit_length_126_and_65535);
    tcase_add_test(tc, wsf_parses_64bit_length_65536_and_max);
    tcase_add_test(tc, wsf_parse_ignores_bytes_after_the_header);
    tcase_add_test(tc, wsf_rejects_64bit_length_with_msb_set);
    tcase_add_test(tc, wsf_rejects_16bit_length_below_126);
    tcase_add_test(tc, wsf_rejects_64bit_length_up_to_65535);
    tcase_add_test(tc, wsf_parse_asks_for_more_on_empty_input);
    suite_add_tcase(s, tc);

    tc = tcase_create("parse_rules");
    tcase_add_test(tc, wsf_rejects_unmasked_client_frame);
    tcase_add_test(tc, wsf_server_frames_must_be_unmasked);
    tcase_add_test(tc, wsf_checks_every_rsv_combination_on_every_opcode);
    tcase_add_test(tc, wsf_rejects_reserved_opcodes);
    tcase_add_test(tc, wsf_rejects_control_frame_over_125);
    tcase_add_test(tc, wsf_rejects_fragmented_control_frame);
    suite_add_tcase(s, tc);

    tc = tcase_create("unmask");
    tcase_add_test(tc, wsf_unmask_matches_bytewise_at_every_offset_and_length);
    tcase_add_test(tc, wsf_unmask_in_chunks_equals_unmask_in_one_go);
    tcase_add_test(tc, wsf_unmask_twice_restores_and_handles_large_offsets);
    suite_add_tcase(s, tc);

    tc = tcase_create("build");
    tcase_add_test(tc, wsf_builds_server_headers_with_minimal_length);
    tcase_add_test(tc, wsf_masked_build_round_trips_through_parse);
    suite_add_tcase(s, tc);

    tc = tcase_create("rx");
    tcase_add_test(tc, wsf_rejects_continuation_without_message);
    tcase_add_test(tc, wsf_rx_between_messages_acts_like_a_fresh_state);
    tcase_add_test(tc, wsf_rx_state_copied_mid_message_carries_on);
    tcase_add_test(tc, wsf_rejects_new_message_inside_fragmented_one);
    tcase_add_test(tc, wsf_allows_control_frames_between_fragments);
    tcase_add_test(tc, wsf_enforces_message_limit_across_fragments);
    tcase_add_test(tc, wsf_records_compression_from_first_frame);
    tcase_add_test(tc, wsf_rx_text_reports_bad_and_truncated_inflated_text);
    tcase_add_test(tc, wsf_accepts_utf8_split_across_fragments);
    tcase_add_test(tc, wsf_rejects_utf8_truncated_at_message_end);
    tcase_add_test(tc, wsf_rejects_invalid_utf8_on_first_bad_byte);
    tcase_add_test(tc, wsf_does_not_check_binary_or_control_payload_as_utf8);
    suite_add_tcase(s, tc);

    tc = tcase_create("close");
    tcase_add_test(tc, wsf_close_empty_payload_means_no_status);
    tcase_add_test(tc, wsf_close_rejects_one_byte_payload);
    tcase_add_test(tc, wsf_close_checks_every_code_from_0_to_5000);
    tcase_add_test(tc, wsf_close_returns_reason_and_checks_its_utf8);
    tcase_add_test(tc, wsf_close_build_round_trips);
    tcase_add_test(tc, wsf_close_build_cuts_long_reason_on_char_boundary);
    tcase_add_test(tc, wsf_maps_every_status_to_close_code_and_name);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(wsf_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
