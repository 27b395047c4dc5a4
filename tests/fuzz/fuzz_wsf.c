/*
 * libFuzzer harness for common/wsf.c. Input: one flags byte (bit 0:
 * permessage-deflate negotiated, bit 1: no size limit), one byte that sets
 * the message limit, then a stream of client frames. Each frame goes
 * through wsf_parse_hdr, wsf_rx_frame, wsf_unmask and wsf_rx_payload, close
 * payloads through wsf_close_parse, and the invariants below abort on
 * violation. Headers are parsed from exactly-sized copies so ASan reports
 * any read past n.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "u8.h"
#include "wsf.h"

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #c);                                                       \
            abort();                                                           \
        }                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char *
dup_exact(const uint8_t *p, size_t n)
{
    unsigned char *q = malloc(n ? n : 1);

    CHECK(q != NULL);
    if (n > 0)
        memcpy(q, p, n);
    return q;
}

static int
is_error(enum wsf_status st)
{
    unsigned c = wsf_status_close_code(st);

    CHECK(wsf_status_str(st) != NULL);
    if (st == WSF_OK || st == WSF_AGAIN) {
        CHECK(c == 0);
        return 0;
    }
    CHECK(c == 1002 || c == 1007 || c == 1009);
    return 1;
}

/* Parse the header at p[0..n) from an exact copy. */
static enum wsf_status
parse_exact(const uint8_t *p, size_t n, struct wsf_hdr *h, unsigned flags)
{
    unsigned char *q = dup_exact(p, n);
    enum wsf_status st = wsf_parse_hdr(q, n, h, flags);

    free(q);
    return st;
}

/* Header invariants, prefix behaviour and build round trips. */
static enum wsf_status
check_header(const uint8_t *p, size_t left, unsigned flags, struct wsf_hdr *h)
{
    size_t win = left < WSF_MAX_HDR ? left : WSF_MAX_HDR;
    enum wsf_status st = parse_exact(p, win, h, flags);
    unsigned char out[WSF_MAX_HDR];
    struct wsf_hdr h2;
    size_t n, end;

    /* A prefix never errs differently, and never succeeds early. */
    end = st == WSF_OK ? h->hdr_len : win;
    for (size_t k = 0; k < end; k++) {
        enum wsf_status s2 = parse_exact(p, k, &h2, flags);

        CHECK(s2 == WSF_AGAIN || (st != WSF_OK && s2 == st));
    }
    if (st != WSF_OK)
        return st;
    CHECK(h->hdr_len >= 6 && h->hdr_len <= WSF_MAX_HDR && h->hdr_len <= win);
    CHECK(h->masked == 1 && h->opcode <= 0xF && (h->len >> 63) == 0);
    CHECK(!WSF_OP_IS_CONTROL(h->opcode) || (h->fin && h->len <= 125));
    CHECK((h->rsv & ~WSF_RSV1) == 0);

    /* Minimal lengths are enforced, so building gives the same bytes. */
    n = wsf_build_hdr_masked(out, h->opcode, h->fin, h->rsv & WSF_RSV1, h->len,
                             h->key);
    CHECK(n == h->hdr_len && memcmp(out, p, n) == 0);
    n = wsf_build_hdr(out, h->opcode, h->fin, h->rsv & WSF_RSV1, h->len);
    CHECK(n == (size_t)h->hdr_len - 4);
    CHECK(parse_exact(out, n, &h2, flags | WSF_F_FROM_SERVER) == WSF_OK);
    CHECK(h2.len == h->len && h2.opcode == h->opcode && h2.fin == h->fin);
    CHECK(h2.rsv == h->rsv && h2.hdr_len == n && h2.masked == 0);
    return WSF_OK;
}

static void
check_close(const unsigned char *pl, size_t n)
{
    unsigned code = 0;
    const unsigned char *reason = NULL;
    size_t rlen = 0;
    enum wsf_status st = wsf_close_parse(pl, n, &code, &reason, &rlen);
    unsigned char out[WSF_MAX_CTRL];
    size_t m;

    if (is_error(st)) {
        CHECK(st == WSF_E_CLOSE_PAYLOAD || st == WSF_E_CLOSE_CODE ||
              st == WSF_E_UTF8);
        return;
    }
    if (n == 0) {
        CHECK(code == WSF_CLOSE_NO_STATUS && rlen == 0);
        return;
    }
    CHECK(wsf_close_code_valid(code) && rlen == n - 2 && reason == pl + 2);
    CHECK(u8_valid(reason, rlen));
    m = wsf_close_build(out, code, reason, rlen);
    CHECK(m == n && memcmp(out, pl, n) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *msg = NULL; /* the uncompressed text message so far */
    size_t msg_n = 0, pos = 0;
    unsigned flags;
    struct wsf_rx rx;

    if (size < 2)
        return 0;
    flags = (data[0] & 1) ? WSF_F_RSV1 : 0;
    wsf_rx_init(&rx, (data[0] & 2) ? UINT64_MAX : (uint64_t)data[1] * 8);
    data += 2;
    size -= 2;
    msg = malloc(size ? size : 1);
    CHECK(msg != NULL);

    while (pos < size) {
        struct wsf_hdr h;
        enum wsf_status st;
        unsigned char *pl, *ref;
        size_t avail, cut;
        int checked;

        st = check_header(data + pos, size - pos, flags, &h);
        if (st == WSF_AGAIN || is_error(st))
            break;
        pos += h.hdr_len;
        st = wsf_rx_frame(&rx, &h);
        if (is_error(st)) {
            CHECK(st != WSF_E_UTF8 || !u8_valid(msg, msg_n));
            break;
        }
        CHECK(rx.msg_len <= rx.limit);
        if (h.opcode == WSF_OP_TEXT)
            msg_n = 0;
        checked = rx.msg_op == WSF_OP_TEXT && !rx.compressed &&
                  !WSF_OP_IS_CONTROL(h.opcode);

        /* The payload (maybe cut short by the end of input), unmasked in
         * two chunks, must match a byte-at-a-time unmask. */
        avail = size - pos < h.len ? size - pos : (size_t)h.len;
        pl = dup_exact(data + pos, avail);
        ref = dup_exact(data + pos, avail);
        for (size_t i = 0; i < avail; i++)
            ref[i] ^= h.key[i % 4];
        cut = avail ? (pl[0] * 7u + 3u) % (avail + 1) : 0;
        wsf_unmask(pl, cut, h.key, 0);
        wsf_unmask(pl + cut, avail - cut, h.key, cut);
        CHECK(avail == 0 || memcmp(pl, ref, avail) == 0);
        free(ref);

        if (checked) {
            memcpy(msg + msg_n, pl, avail);
            msg_n += avail;
        }
        st = wsf_rx_payload(&rx, pl, cut);
        if (st == WSF_OK)
            st = wsf_rx_payload(&rx, pl + cut, avail - cut);
        if (is_error(st)) {
            CHECK(st == WSF_E_UTF8 && checked && !u8_valid(msg, msg_n));
            free(pl);
            break;
        }
        if (checked) {
            /* Accepted so far: a valid prefix, and valid UTF-8 outright
             * once the final frame is complete. */
            struct u8_state us;

            u8_reset(&us);
            CHECK(u8_feed(&us, msg, msg_n) != U8_E_INVALID);
            if (avail == h.len && h.fin)
                CHECK(u8_valid(msg, msg_n));
        }
        if (h.opcode == WSF_OP_CLOSE && avail == h.len)
            check_close(pl, avail);
        free(pl);
        if (avail < h.len)
            break;
        pos += avail;
    }
    free(msg);
    return 0;
}
