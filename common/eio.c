/*
 * Engine.IO v4 wire codec: packet and payload parsing, the polling payload
 * builder, base64, the open JSON, slot-carrying session ids and the
 * handshake error bodies. Sessions, timers and transports are the
 * worker's. Hand-written rather than a library (DESIGN §9): the format is a
 * type digit and a separator, parsed in place over evbuffer memory, and no C
 * Engine.IO library matches the reference server's error behaviour.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "b64.h"
#include "eio.h"

#define EIO_B64_PAD '='
#define EIO_OPEN_FMT                                                           \
    "{\"sid\":\"%s\",\"upgrades\":[%s],\"pingInterval\":%ld,"                  \
    "\"pingTimeout\":%ld,\"maxPayload\":%ld}"

static const char eio_b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char eio_b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const char *const eio_err_msg[] = {
    [EIO_ERR_TRANSPORT] = "Transport unknown",
    [EIO_ERR_SID] = "Session ID unknown",
    [EIO_ERR_METHOD] = "Bad handshake method",
    [EIO_ERR_BAD_REQUEST] = "Bad request",
    [EIO_ERR_FORBIDDEN] = "Forbidden",
    [EIO_ERR_PROTOCOL] = "Unsupported protocol version",
};

static enum eio_status eio_parse_one(const char *p, size_t n,
                                     struct eio_packet *out);
static size_t eio_b64_put(char *out, const unsigned char *in, size_t n,
                          const char *alpha, int pad);
static size_t eio_b64_content(const char *p, size_t n);

enum eio_status
eio_parse_text(const char *p, size_t n, struct eio_packet *out)
{
    return eio_parse_one(p, n, out);
}

enum eio_status
eio_payload_next(const char *p, size_t n, size_t *off, struct eio_packet *out)
{
    const char *sep;
    size_t start = *off, end;
    enum eio_status st;

    if (start > n)
        return EIO_E_PACKET; /* caller bug or corrupted state: never OK */
    if (start == n) {
        /* At the end: an empty body, or a trailing separator, leaves an
         * empty packet; the reference parser rejects both. */
        if (n == 0 || p[n - 1] == EIO_SEP)
            return EIO_E_PACKET;
        return EIO_DONE;
    }
    sep = memchr(p + start, EIO_SEP, n - start);
    end = sep != NULL ? (size_t)(sep - p) : n;
    st = eio_parse_one(p + start, end - start, out);
    if (st != EIO_OK)
        return st;
    *off = sep != NULL ? end + 1 : n;
    return EIO_OK;
}

size_t
eio_b64_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

size_t
eio_b64_dlen(size_t n)
{
    /* Padding, when present, only makes this an overestimate. */
    return n / 4 * 3 + (n % 4 > 1 ? n % 4 - 1 : 0);
}

int
eio_b64_valid(const char *p, size_t n)
{
    size_t m = eio_b64_content(p, n), last;

    if (m == (size_t)-1 || m % 4 == 1)
        return 0;
    for (size_t i = 0; i < m; i++)
        if (b64_digit((unsigned char)p[i]) < 0)
            return 0;
    /* The unused low bits of the last character must be zero, so each
     * byte string has exactly one accepted encoding (RFC 4648 §3.5). */
    if (m % 4 != 0) {
        last = (size_t)b64_digit((unsigned char)p[m - 1]);
        if ((m % 4 == 2 && (last & 0x0f) != 0) ||
            (m % 4 == 3 && (last & 0x03) != 0))
            return 0;
    }
    return 1;
}

size_t
eio_b64_encode(char *out, size_t cap, const unsigned char *in, size_t n)
{
    size_t len = eio_b64_len(n);

    if (len < cap)
        out[eio_b64_put(out, in, n, eio_b64_std, 1)] = '\0';
    return len;
}

enum eio_status
eio_b64_decode(const char *p, size_t n, unsigned char *out, size_t cap,
               size_t *outlen)
{
    size_t m, len, o = 0, i;
    unsigned long acc = 0;

    if (!eio_b64_valid(p, n))
        return EIO_E_PACKET;
    m = eio_b64_content(p, n);
    len = m / 4 * 3 + (m % 4 == 0 ? 0 : m % 4 - 1);
    if (len > cap)
        return EIO_E_NOSPACE;
    for (i = 0; i < m; i++) {
        acc = (acc << 6) | (unsigned long)b64_digit((unsigned char)p[i]);
        if (i % 4 == 3) {
            out[o++] = (unsigned char)(acc >> 16);
            out[o++] = (unsigned char)(acc >> 8);
            out[o++] = (unsigned char)acc;
            acc = 0;
        }
    }
    if (m % 4 == 2) {
        out[o++] = (unsigned char)(acc >> 4);
    } else if (m % 4 == 3) {
        out[o++] = (unsigned char)(acc >> 10);
        out[o++] = (unsigned char)(acc >> 2);
    }
    assert(o == len);
    *outlen = len;
    return EIO_OK;
}

size_t
eio_append_text(char *out, size_t cap, size_t used, enum eio_type type,
                const char *data, size_t len)
{
    size_t sep = used > 0, total;

    if ((unsigned)type > EIO_NOOP || len > (size_t)-1 - used - 2)
        return 0;
    total = used + sep + 1 + len;
    if (total < cap) {
        char *q = out + used;

        if (sep)
            *q++ = EIO_SEP;
        *q++ = (char)('0' + type);
        if (len > 0)
            memcpy(q, data, len);
        q[len] = '\0';
    }
    return total;
}

size_t
eio_append_binary(char *out, size_t cap, size_t used, const unsigned char *data,
                  size_t len)
{
    size_t sep = used > 0, total;

    if (len > ((size_t)-1 - used - 2) / 4 * 3 - 2)
        return 0;
    total = used + sep + 1 + eio_b64_len(len);
    if (total < cap) {
        char *q = out + used;

        if (sep)
            *q++ = EIO_SEP;
        *q++ = 'b';
        q[eio_b64_put(q, data, len, eio_b64_std, 1)] = '\0';
    }
    return total;
}

size_t
eio_open_json(char *out, size_t cap, const char *sid, int ws_upgrade_allowed,
              long ping_interval_ms, long ping_timeout_ms, long max_payload)
{
    int len;

    if (sid == NULL || sid[0] == '\0')
        return 0;
    for (const char *s = sid; *s != '\0'; s++)
        if (b64_url_digit((unsigned char)*s) < 0)
            return 0;
    /* snprintf writes a truncated string when it does not fit; measure
     * first so nothing is written then, as the convention promises. */
    len = snprintf(NULL, 0, EIO_OPEN_FMT, sid,
                   ws_upgrade_allowed ? "\"websocket\"" : "", ping_interval_ms,
                   ping_timeout_ms, max_payload);
    if (len < 0)
        return 0;
    if ((size_t)len < cap)
        snprintf(out, cap, EIO_OPEN_FMT, sid,
                 ws_upgrade_allowed ? "\"websocket\"" : "", ping_interval_ms,
                 ping_timeout_ms, max_payload);
    return (size_t)len;
}

void
eio_sid_make(unsigned char raw[EIO_SID_RANDOM], unsigned worker_slot,
             const unsigned char random[EIO_SID_RANDOM])
{
    assert(worker_slot <= EIO_SLOT_MAX);
    memcpy(raw, random, EIO_SID_RANDOM);
    /* Byte 0 is the slot masked by the last random byte: recoverable from
     * the id alone, yet ids of one worker do not share a first char. */
    raw[0] = (unsigned char)(worker_slot ^ raw[EIO_SID_RANDOM - 1]);
}

void
eio_sid_format(char out[EIO_SID_LEN + 1],
               const unsigned char raw[EIO_SID_RANDOM])
{
    out[eio_b64_put(out, raw, EIO_SID_RANDOM, eio_b64_url, 0)] = '\0';
}

void
eio_sid_new(char out[EIO_SID_LEN + 1], unsigned worker_slot,
            const unsigned char random[EIO_SID_RANDOM])
{
    unsigned char raw[EIO_SID_RANDOM];

    eio_sid_make(raw, worker_slot, random);
    eio_sid_format(out, raw);
}

int
eio_sid_parse(const char *sid, size_t len, unsigned char raw[EIO_SID_RANDOM])
{
    int v[EIO_SID_LEN];

    if (sid == NULL || len != EIO_SID_LEN)
        return -1;
    for (size_t i = 0; i < len; i++)
        if ((v[i] = b64_url_digit((unsigned char)sid[i])) < 0)
            return -1;
    /* 20 digits of 6 bits: five groups of four make three bytes each. */
    for (size_t g = 0; g < EIO_SID_LEN / 4; g++) {
        const int *d = v + 4 * g;
        raw[3 * g] = (unsigned char)((d[0] << 2) | (d[1] >> 4));
        raw[3 * g + 1] = (unsigned char)(((d[1] & 0x0f) << 4) | (d[2] >> 2));
        raw[3 * g + 2] = (unsigned char)(((d[2] & 0x03) << 6) | d[3]);
    }
    return 0;
}

int
eio_sid_slot(const char *sid, size_t len, unsigned *slot)
{
    int v[4], last = 0;

    if (sid == NULL || len != EIO_SID_LEN)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (b64_url_digit((unsigned char)sid[i]) < 0)
            return -1;
    /* raw[0] is the top 8 bits of chars 0-1; raw[14] the low 8 of 18-19. */
    v[0] = b64_url_digit((unsigned char)sid[0]);
    v[1] = b64_url_digit((unsigned char)sid[1]);
    v[2] = b64_url_digit((unsigned char)sid[18]);
    v[3] = b64_url_digit((unsigned char)sid[19]);
    last = ((v[2] & 0x03) << 6) | v[3];
    *slot = (unsigned)(((v[0] << 2) | (v[1] >> 4)) ^ last);
    return 0;
}

enum eio_status
eio_check_query(const char *eio, size_t eio_len, const char *transport,
                size_t tlen, int *is_polling)
{
    /* engine.io verify() checks the transport before handshake() looks at
     * the protocol version, so a request wrong in both gets code 0. */
    if (transport != NULL && tlen == 7 && memcmp(transport, "polling", 7) == 0)
        *is_polling = 1;
    else if (transport != NULL && tlen == 9 &&
             memcmp(transport, "websocket", 9) == 0)
        *is_polling = 0;
    else
        return EIO_E_TRANSPORT;
    if (eio == NULL || eio_len != 1 || eio[0] != EIO_PROTOCOL[0])
        return EIO_E_PROTOCOL;
    return EIO_OK;
}

enum eio_err
eio_status_err(enum eio_status st)
{
    switch (st) {
    case EIO_E_TRANSPORT:
        return EIO_ERR_TRANSPORT;
    case EIO_E_PROTOCOL:
        return EIO_ERR_PROTOCOL;
    default:
        return EIO_ERR_BAD_REQUEST;
    }
}

int
eio_err_http_status(enum eio_err err)
{
    return err == EIO_ERR_FORBIDDEN ? 403 : 400;
}

size_t
eio_error_json(enum eio_err err, char *out, size_t cap)
{
    char tmp[EIO_ERROR_JSON_MAX];
    int len;

    if ((unsigned)err > EIO_ERR_PROTOCOL)
        return 0;
    len = snprintf(tmp, sizeof(tmp), "{\"code\":%d,\"message\":\"%s\"}",
                   (int)err, eio_err_msg[err]);
    assert(len > 0 && (size_t)len < sizeof(tmp));
    if ((size_t)len < cap)
        memcpy(out, tmp, (size_t)len + 1);
    return (size_t)len;
}

const char *
eio_status_str(enum eio_status st)
{
    switch (st) {
    case EIO_OK:
        return "ok";
    case EIO_DONE:
        return "done";
    case EIO_E_PACKET:
        return "invalid packet";
    case EIO_E_NOSPACE:
        return "buffer too small";
    case EIO_E_PROTOCOL:
        return "unsupported protocol version";
    case EIO_E_TRANSPORT:
        return "unknown transport";
    }
    return "unknown status";
}

/* One packet p[0..n) without separators: "<0-6><data>" or "b<base64>". */
static enum eio_status
eio_parse_one(const char *p, size_t n, struct eio_packet *out)
{
    if (n == 0)
        return EIO_E_PACKET;
    if (p[0] == 'b') {
        if (!eio_b64_valid(p + 1, n - 1))
            return EIO_E_PACKET;
        out->type = EIO_MESSAGE;
        out->is_binary = 1;
    } else if (p[0] >= '0' && p[0] <= '0' + EIO_NOOP) {
        out->type = (enum eio_type)(p[0] - '0');
        out->is_binary = 0;
    } else {
        return EIO_E_PACKET;
    }
    out->data = p + 1;
    out->len = n - 1;
    return EIO_OK;
}

/* Encode in[0..n) with alpha into out; returns the characters written. */
static size_t
eio_b64_put(char *out, const unsigned char *in, size_t n, const char *alpha,
            int pad)
{
    size_t o = 0, i = 0;
    unsigned long v;

    for (; i + 3 <= n; i += 3) {
        v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 |
            in[i + 2];
        out[o++] = alpha[v >> 18 & 0x3f];
        out[o++] = alpha[v >> 12 & 0x3f];
        out[o++] = alpha[v >> 6 & 0x3f];
        out[o++] = alpha[v & 0x3f];
    }
    if (n - i == 1) {
        v = (unsigned long)in[i] << 16;
        out[o++] = alpha[v >> 18 & 0x3f];
        out[o++] = alpha[v >> 12 & 0x3f];
        if (pad) {
            out[o++] = EIO_B64_PAD;
            out[o++] = EIO_B64_PAD;
        }
    } else if (n - i == 2) {
        v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8;
        out[o++] = alpha[v >> 18 & 0x3f];
        out[o++] = alpha[v >> 12 & 0x3f];
        out[o++] = alpha[v >> 6 & 0x3f];
        if (pad)
            out[o++] = EIO_B64_PAD;
    }
    return o;
}

/*
 * Characters of p[0..n) before the padding, or (size_t)-1 if the padding
 * is malformed: padding is optional (Node's decoder accepts both), but
 * when present it must make the length a multiple of 4 and be 1 or 2 '='.
 */
static size_t
eio_b64_content(const char *p, size_t n)
{
    size_t m = n;

    while (m > 0 && p[m - 1] == EIO_B64_PAD && n - m < 3)
        m--;
    if (m == n)
        return m;
    if (n % 4 != 0 || n - m > 2 || (m > 0 && p[m - 1] == EIO_B64_PAD))
        return (size_t)-1;
    if (m % 4 == 0 || m % 4 == 1)
        return (size_t)-1; /* "AAAA=" or "A===" style */
    if ((m % 4 == 2 && n - m != 2) || (m % 4 == 3 && n - m != 1))
        return (size_t)-1;
    return m;
}
