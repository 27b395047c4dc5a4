/*
 * RFC 6455 frame codec: header parse/build, unmasking, the data-message
 * rules a receiver enforces, and close payloads. It owns the wire format
 * only; buffering, inflate and replies are the worker's. Hand-written rather
 * than a library (DESIGN §9): framing is the product's core, runs over shared
 * evbuffer memory in place, and must fail on exactly the bytes that prove an
 * error so each one maps to a precise close code.
 */
#include <assert.h>
#include <string.h>

#include "wsf.h"

#define WSF_B0_FIN 0x80
#define WSF_B0_RSV 0x70
#define WSF_B0_OP 0x0F
#define WSF_B1_MASK 0x80
#define WSF_B1_LEN 0x7F
#define WSF_LEN16 126
#define WSF_LEN64 127

static enum wsf_status wsf_check_b0(unsigned b0, unsigned flags);
static size_t wsf_put_len(unsigned char *out, unsigned opcode, int fin,
                          int rsv1, int masked, uint64_t len);
static enum wsf_status wsf_rx_u8(struct wsf_rx *rx, const unsigned char *p,
                                 size_t n, int last);

enum wsf_status
wsf_parse_hdr(const unsigned char *p, size_t n, struct wsf_hdr *h,
              unsigned flags)
{
    enum wsf_status st;
    unsigned b0, b1, len7, masked;
    size_t need, i;
    uint64_t len;

    if (n < 1)
        return WSF_AGAIN;
    b0 = p[0];
    if ((st = wsf_check_b0(b0, flags)) != WSF_OK)
        return st;
    if (n < 2)
        return WSF_AGAIN;
    b1 = p[1];
    masked = (b1 & WSF_B1_MASK) != 0;
    if (flags & WSF_F_FROM_SERVER) {
        if (masked)
            return WSF_E_MASKED;
    } else if (!masked) {
        return WSF_E_UNMASKED; /* §5.1: the server MUST close */
    }
    len7 = b1 & WSF_B1_LEN;
    if (WSF_OP_IS_CONTROL(b0 & WSF_B0_OP) && len7 > WSF_MAX_CTRL)
        return WSF_E_CTRL_TOO_BIG; /* §5.5, whatever the extended length */

    /* §5.2: 7-bit length, or 126 + 16 bits, or 127 + 64 bits, big-endian. */
    if (len7 == WSF_LEN16) {
        if (n < 4)
            return WSF_AGAIN;
        len = (uint64_t)p[2] << 8 | p[3];
        if (len < WSF_LEN16)
            return WSF_E_LEN_NOT_MINIMAL;
        need = 4;
    } else if (len7 == WSF_LEN64) {
        if (n < 3)
            return WSF_AGAIN;
        if (p[2] & 0x80)
            return WSF_E_LEN_MSB; /* provable from the first length byte */
        if (n < 10)
            return WSF_AGAIN;
        len = 0;
        for (i = 2; i < 10; i++)
            len = len << 8 | p[i];
        if (len <= 0xFFFF)
            return WSF_E_LEN_NOT_MINIMAL;
        need = 10;
    } else {
        len = len7;
        need = 2;
    }
    if (masked) {
        if (n < need + 4)
            return WSF_AGAIN;
        memcpy(h->key, p + need, 4);
        need += 4;
    } else {
        memset(h->key, 0, sizeof(h->key));
    }
    h->len = len;
    h->fin = (b0 & WSF_B0_FIN) != 0;
    h->rsv = (unsigned char)((b0 & WSF_B0_RSV) >> 4);
    h->opcode = (unsigned char)(b0 & WSF_B0_OP);
    h->masked = (unsigned char)masked;
    h->hdr_len = (unsigned char)need;
    return WSF_OK;
}

void
wsf_unmask(unsigned char *p, size_t n, const unsigned char key[4],
           uint64_t offset)
{
    unsigned char k8[8];
    uint64_t kw, w;
    size_t i = 0;

    for (i = 0; i < 8; i++)
        k8[i] = key[(offset + i) & 3];
    memcpy(&kw, k8, 8); /* byte order is kept, so no endian question */
    for (i = 0; i + 32 <= n; i += 32) {
        for (size_t j = 0; j < 32; j += 8) {
            memcpy(&w, p + i + j, 8);
            w ^= kw;
            memcpy(p + i + j, &w, 8);
        }
    }
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, p + i, 8);
        w ^= kw;
        memcpy(p + i, &w, 8);
    }
    for (; i < n; i++)
        p[i] ^= k8[i & 7];
}

size_t
wsf_build_hdr(unsigned char out[WSF_MAX_HDR], unsigned opcode, int fin,
              int rsv1, uint64_t len)
{
    return wsf_put_len(out, opcode, fin, rsv1, 0, len);
}

size_t
wsf_build_hdr_masked(unsigned char out[WSF_MAX_HDR], unsigned opcode, int fin,
                     int rsv1, uint64_t len, const unsigned char key[4])
{
    size_t n = wsf_put_len(out, opcode, fin, rsv1, 1, len);

    memcpy(out + n, key, 4);
    return n + 4;
}

void
wsf_rx_init(struct wsf_rx *rx, uint64_t limit)
{
    memset(rx, 0, sizeof(*rx));
    rx->limit = limit;
    u8_reset(&rx->u8);
}

enum wsf_status
wsf_rx_frame(struct wsf_rx *rx, const struct wsf_hdr *h)
{
    /* A text frame's bytes must all pass the validator before the next. */
    assert(!rx->frame_utf8 || rx->frame_left == 0);
    rx->frame_left = h->len;
    rx->frame_fin = h->fin;
    rx->frame_utf8 = 0;
    if (WSF_OP_IS_CONTROL(h->opcode))
        return WSF_OK; /* §5.4: may sit between fragments, message intact */
    if (h->opcode == WSF_OP_CONT) {
        if (!rx->in_msg)
            return WSF_E_CONTINUATION;
        if (h->len > rx->limit - rx->msg_len)
            return WSF_E_TOO_BIG;
        rx->msg_len += h->len;
    } else {
        if (rx->in_msg)
            return WSF_E_EXPECTED_CONTINUATION;
        if (h->len > rx->limit)
            return WSF_E_TOO_BIG;
        rx->msg_op = h->opcode;
        rx->compressed = (h->rsv & WSF_RSV1) != 0;
        rx->msg_len = h->len;
        u8_reset(&rx->u8);
    }
    rx->in_msg = !h->fin;
    rx->frame_utf8 = rx->msg_op == WSF_OP_TEXT && !rx->compressed;
    if (rx->frame_utf8 && h->fin && h->len == 0)
        return wsf_rx_u8(rx, NULL, 0, 1); /* empty last frame ends it */
    return WSF_OK;
}

enum wsf_status
wsf_rx_payload(struct wsf_rx *rx, const unsigned char *p, size_t n)
{
    assert(n <= rx->frame_left);
    rx->frame_left -= n;
    if (!rx->frame_utf8)
        return WSF_OK;
    return wsf_rx_u8(rx, p, n, rx->frame_fin && rx->frame_left == 0);
}

enum wsf_status
wsf_rx_text(struct wsf_rx *rx, const unsigned char *p, size_t n, int last)
{
    return wsf_rx_u8(rx, p, n, last);
}

enum wsf_status
wsf_close_parse(const unsigned char *payload, size_t n, unsigned *code,
                const unsigned char **reason, size_t *rlen)
{
    /* §5.5.1: empty, or a 2-byte code followed by a UTF-8 reason. */
    if (n == 0) {
        *code = WSF_CLOSE_NO_STATUS;
        *reason = payload;
        *rlen = 0;
        return WSF_OK;
    }
    if (n == 1)
        return WSF_E_CLOSE_PAYLOAD;
    *code = (unsigned)payload[0] << 8 | payload[1];
    if (!wsf_close_code_valid(*code))
        return WSF_E_CLOSE_CODE;
    if (!u8_valid(payload + 2, n - 2))
        return WSF_E_UTF8;
    *reason = payload + 2;
    *rlen = n - 2;
    return WSF_OK;
}

int
wsf_close_code_valid(unsigned code)
{
    /* §7.4.1-7.4.2: 1004-1006 and 1015 are reserved or local-only,
     * 1016-2999 unassigned, 3000-4999 registered and private use. */
    if (code >= 1000 && code <= 1003)
        return 1;
    if (code >= 1007 && code <= 1014)
        return 1;
    return code >= 3000 && code <= 4999;
}

size_t
wsf_close_build(unsigned char out[WSF_MAX_CTRL], unsigned code,
                const unsigned char *reason, size_t rlen)
{
    if (code == WSF_CLOSE_NO_STATUS)
        return 0;
    assert(wsf_close_code_valid(code));
    if (rlen > WSF_MAX_CLOSE_REASON) {
        rlen = WSF_MAX_CLOSE_REASON;
        while (rlen > 0 && (reason[rlen] & 0xC0) == 0x80)
            rlen--; /* reason[rlen] continues a character: cut before it */
    }
    out[0] = (unsigned char)(code >> 8);
    out[1] = (unsigned char)code;
    if (rlen > 0)
        memcpy(out + 2, reason, rlen);
    return rlen + 2;
}

unsigned
wsf_status_close_code(enum wsf_status st)
{
    switch (st) {
    case WSF_OK:
    case WSF_AGAIN:
        return 0;
    case WSF_E_UTF8:
        return WSF_CLOSE_INVALID_DATA;
    case WSF_E_TOO_BIG:
        return WSF_CLOSE_TOO_BIG;
    case WSF_E_UNMASKED:
    case WSF_E_MASKED:
    case WSF_E_RSV:
    case WSF_E_OPCODE:
    case WSF_E_CTRL_TOO_BIG:
    case WSF_E_CTRL_FRAGMENTED:
    case WSF_E_LEN_MSB:
    case WSF_E_LEN_NOT_MINIMAL:
    case WSF_E_CONTINUATION:
    case WSF_E_EXPECTED_CONTINUATION:
    case WSF_E_CLOSE_PAYLOAD:
    case WSF_E_CLOSE_CODE:
        break;
    }
    return WSF_CLOSE_PROTOCOL;
}

const char *
wsf_status_str(enum wsf_status st)
{
    switch (st) {
    case WSF_OK:
        return "ok";
    case WSF_AGAIN:
        return "again";
    case WSF_E_UNMASKED:
        return "unmasked";
    case WSF_E_MASKED:
        return "masked";
    case WSF_E_RSV:
        return "rsv";
    case WSF_E_OPCODE:
        return "opcode";
    case WSF_E_CTRL_TOO_BIG:
        return "ctrl_too_big";
    case WSF_E_CTRL_FRAGMENTED:
        return "ctrl_fragmented";
    case WSF_E_LEN_MSB:
        return "len_msb";
    case WSF_E_LEN_NOT_MINIMAL:
        return "len_not_minimal";
    case WSF_E_CONTINUATION:
        return "continuation";
    case WSF_E_EXPECTED_CONTINUATION:
        return "expected_continuation";
    case WSF_E_TOO_BIG:
        return "too_big";
    case WSF_E_UTF8:
        return "utf8";
    case WSF_E_CLOSE_PAYLOAD:
        return "close_payload";
    case WSF_E_CLOSE_CODE:
        return "close_code";
    }
    return "unknown";
}

/*
 * Checks that need only byte 0, so an error is reported even when the rest
 * of the header has not arrived.
 */
static enum wsf_status
wsf_check_b0(unsigned b0, unsigned flags)
{
    unsigned op = b0 & WSF_B0_OP, rsv = (b0 & WSF_B0_RSV) >> 4;

    if ((op >= 0x3 && op <= 0x7) || op >= 0xB)
        return WSF_E_OPCODE;
    /* RFC 7692 §6: RSV1 marks the first frame of a compressed message, so it
     * is wrong on control and continuation frames even when negotiated. */
    if (rsv & (WSF_RSV2 | WSF_RSV3))
        return WSF_E_RSV;
    if ((rsv & WSF_RSV1) &&
        (!(flags & WSF_F_RSV1) || op == WSF_OP_CONT || WSF_OP_IS_CONTROL(op)))
        return WSF_E_RSV;
    if (WSF_OP_IS_CONTROL(op) && !(b0 & WSF_B0_FIN))
        return WSF_E_CTRL_FRAGMENTED;
    return WSF_OK;
}

/* Write byte 0, byte 1 and the extended length; return bytes written. */
static size_t
wsf_put_len(unsigned char *out, unsigned opcode, int fin, int rsv1, int masked,
            uint64_t len)
{
    size_t n;

    assert(opcode <= 0xF && (len >> 63) == 0);
    assert(!WSF_OP_IS_CONTROL(opcode) || (fin && len <= WSF_MAX_CTRL));
    out[0] =
        (unsigned char)((fin ? WSF_B0_FIN : 0) | (rsv1 ? 0x40 : 0) | opcode);
    if (len < WSF_LEN16) {
        out[1] = (unsigned char)len;
        n = 2;
    } else if (len <= 0xFFFF) {
        out[1] = WSF_LEN16;
        out[2] = (unsigned char)(len >> 8);
        out[3] = (unsigned char)len;
        n = 4;
    } else {
        out[1] = WSF_LEN64;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (unsigned char)(len >> (56 - 8 * i));
        n = 10;
    }
    if (masked)
        out[1] |= WSF_B1_MASK;
    return n;
}

/* Feed the message's validator; `last` also requires a complete ending. */
static enum wsf_status
wsf_rx_u8(struct wsf_rx *rx, const unsigned char *p, size_t n, int last)
{
    if (u8_feed(&rx->u8, p, n) == U8_E_INVALID)
        return WSF_E_UTF8;
    if (last && u8_finish(&rx->u8) != U8_OK)
        return WSF_E_UTF8;
    return WSF_OK;
}
