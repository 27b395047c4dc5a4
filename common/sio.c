/*
 * Socket.IO v5 packet codec: the packet head (type, attachment count,
 * namespace, ack id) by hand, the JSON payload and its shape rules through
 * jansson, placeholder checks for binary attachments, and the encoders for
 * what the gateway sends. Namespaces, acks in flight and the attachments
 * themselves are the worker's. Hand-written rather than a library
 * (DESIGN §9): the head is a few bytes of ad-hoc grammar with no C parser
 * worth a dependency, while the JSON is left to jansson.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "sio.h"
#include "u8.h"

#define SIO_JSON_FLAGS (JSON_COMPACT)

/* An encoder's output so far: bytes are written only while they (and a
 * NUL) fit, but len always counts them, so the caller learns the size. */
struct sio_buf {
    char *out;
    size_t cap;
    size_t len;
    int bad;
};

/* Event names the reference parser refuses (socket.io-parser
 * RESERVED_EVENTS): they would collide with the library's own events. */
static const char *const sio_reserved[] = {
    "connect",       "connect_error", "disconnect",
    "disconnecting", "newListener",   "removeListener",
};

static enum sio_status sio_parse_head(const char *p, size_t n, size_t *ip,
                                      struct sio_packet *out, unsigned flags);
static enum sio_status sio_check_shape(const struct sio_packet *pk);
static int sio_is_binary(enum sio_type type);
static int sio_nsp_ok(const char *s, size_t n);
static enum sio_status sio_walk(const json_t *j, size_t nattach,
                                unsigned char *seen, size_t *count);
static void sio_put(struct sio_buf *b, const char *s, size_t n);
static void sio_put_ull(struct sio_buf *b, unsigned long long v);
static void sio_put_json(struct sio_buf *b, const json_t *j, size_t flags);
static void sio_put_jstr(struct sio_buf *b, const char *s);
static void sio_head(struct sio_buf *b, enum sio_type type, const char *nsp,
                     long long ack_id, size_t nattach);
static size_t sio_finish(struct sio_buf *b);

enum sio_status
sio_parse(const char *p, size_t n, struct sio_packet *out, unsigned flags)
{
    enum sio_status st;
    json_error_t jerr;
    size_t i = 0;

    out->json = NULL;
    if ((st = sio_parse_head(p, n, &i, out, flags)) != SIO_OK)
        return st;
    out->payload = i < n ? p + i : NULL;
    out->payload_len = n - i;
    if (out->payload != NULL) {
        /* Flags 0: the top level must be an array or an object, which is
         * all any packet type carries, and trailing bytes are an error. */
        out->json = json_loadb(out->payload, out->payload_len, 0, &jerr);
        if (out->json == NULL)
            return SIO_E_PAYLOAD;
    }
    st = sio_check_shape(out);
    if (st == SIO_OK && sio_is_binary(out->type))
        st = sio_attach_check(out->json, out->nattach);
    if (st != SIO_OK)
        sio_packet_clear(out);
    return st;
}

void
sio_packet_clear(struct sio_packet *out)
{
    if (out == NULL)
        return;
    json_decref(out->json);
    out->json = NULL;
}

enum sio_status
sio_attach_check(const json_t *payload, size_t nattach)
{
    unsigned char seen[(SIO_ATTACH_MAX + 7) / 8];
    size_t count = 0;
    enum sio_status st;

    if (nattach > SIO_ATTACH_MAX)
        return SIO_E_ATTACH;
    memset(seen, 0, sizeof(seen));
    if (payload != NULL &&
        (st = sio_walk(payload, nattach, seen, &count)) != SIO_OK)
        return st;
    return count == nattach ? SIO_OK : SIO_E_ATTACH;
}

size_t
sio_encode(char *out, size_t cap, enum sio_type type, const char *nsp,
           long long ack_id, const char *json, size_t json_len, size_t nattach)
{
    struct sio_buf b = {out, cap, 0, 0};

    sio_head(&b, type, nsp, ack_id, nattach);
    if (json != NULL)
        sio_put(&b, json, json_len);
    return sio_finish(&b);
}

size_t
sio_encode_json(char *out, size_t cap, enum sio_type type, const char *nsp,
                long long ack_id, const json_t *payload, size_t nattach)
{
    struct sio_buf b = {out, cap, 0, 0};

    sio_head(&b, type, nsp, ack_id, nattach);
    if (payload != NULL)
        sio_put_json(&b, payload, SIO_JSON_FLAGS);
    return sio_finish(&b);
}

size_t
sio_encode_connect(char *out, size_t cap, const char *nsp, const char *sid,
                   const char *pid)
{
    struct sio_buf b = {out, cap, 0, 0};

    sio_head(&b, SIO_CONNECT, nsp, SIO_ACK_NONE, 0);
    sio_put(&b, "{\"sid\":", 7);
    sio_put_jstr(&b, sid);
    if (pid != NULL) {
        sio_put(&b, ",\"pid\":", 7);
        sio_put_jstr(&b, pid);
    }
    sio_put(&b, "}", 1);
    return sio_finish(&b);
}

size_t
sio_encode_connect_error(char *out, size_t cap, const char *nsp,
                         const char *message, const char *code)
{
    struct sio_buf b = {out, cap, 0, 0};

    sio_head(&b, SIO_CONNECT_ERROR, nsp, SIO_ACK_NONE, 0);
    sio_put(&b, "{\"message\":", 11);
    sio_put_jstr(&b, message);
    if (code != NULL) {
        sio_put(&b, ",\"data\":{\"code\":", 16);
        sio_put_jstr(&b, code);
        sio_put(&b, "}", 1);
    }
    sio_put(&b, "}", 1);
    return sio_finish(&b);
}

size_t
sio_encode_disconnect(char *out, size_t cap, const char *nsp)
{
    struct sio_buf b = {out, cap, 0, 0};

    sio_head(&b, SIO_DISCONNECT, nsp, SIO_ACK_NONE, 0);
    return sio_finish(&b);
}

size_t
sio_encode_event(char *out, size_t cap, const char *nsp, long long ack_id,
                 const char *event, const char *data, size_t data_len,
                 const char *offset)
{
    struct sio_buf b = {out, cap, 0, 0};

    sio_head(&b, SIO_EVENT, nsp, ack_id, 0);
    sio_put(&b, "[", 1);
    sio_put_jstr(&b, event);
    if (data != NULL && data_len > 0) {
        sio_put(&b, ",", 1);
        sio_put(&b, data, data_len);
    }
    if (offset != NULL) {
        sio_put(&b, ",", 1);
        sio_put_jstr(&b, offset);
    }
    sio_put(&b, "]", 1);
    return sio_finish(&b);
}

size_t
sio_encode_ack(char *out, size_t cap, const char *nsp, long long ack_id,
               const char *args, size_t args_len)
{
    struct sio_buf b = {out, cap, 0, 0};

    if (ack_id < 0)
        return 0;
    sio_head(&b, SIO_ACK, nsp, ack_id, 0);
    if (args != NULL && args_len > 0)
        sio_put(&b, args, args_len);
    else
        sio_put(&b, "[]", 2);
    return sio_finish(&b);
}

const char *
sio_status_str(enum sio_status st)
{
    switch (st) {
    case SIO_OK:
        return "ok";
    case SIO_E_TYPE:
        return "invalid packet type";
    case SIO_E_NSP:
        return "invalid namespace";
    case SIO_E_ACKID:
        return "invalid ack id";
    case SIO_E_PAYLOAD:
        return "invalid payload";
    case SIO_E_ATTACH:
        return "invalid attachments";
    }
    return "unknown status";
}

/* Type, attachment count, namespace and ack id; *ip ends on the payload. */
static enum sio_status
sio_parse_head(const char *p, size_t n, size_t *ip, struct sio_packet *out,
               unsigned flags)
{
    size_t i = 1, start;
    unsigned long long v;

    if (n == 0 || p[0] < '0' || p[0] > '0' + SIO_BINARY_ACK)
        return SIO_E_TYPE;
    out->type = (enum sio_type)(p[0] - '0');
    if (out->type == SIO_CONNECT_ERROR && !(flags & SIO_F_FROM_SERVER))
        return SIO_E_TYPE;

    /* "<digits>-" right after the type is an attachment count: required
     * on binary types, an error on the others (not an ack id). */
    for (v = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++)
        if ((v = v * 10 + (unsigned)(p[i] - '0')) > SIO_ATTACH_MAX)
            v = SIO_ATTACH_MAX + 1; /* saturate; rejected below */
    if (sio_is_binary(out->type)) {
        if (i == 1 || i >= n || p[i] != '-' || v > SIO_ATTACH_MAX)
            return SIO_E_ATTACH;
        out->nattach = (size_t)v;
        i++;
    } else {
        if (i > 1 && i < n && p[i] == '-')
            return SIO_E_ATTACH;
        out->nattach = 0;
        i = 1;
    }

    out->nsp = "/";
    out->nsp_len = 1;
    if (i < n && p[i] == '/') {
        const char *comma = memchr(p + i, ',', n - i);
        size_t end = comma != NULL ? (size_t)(comma - p) : n;

        if (!sio_nsp_ok(p + i, end - i))
            return SIO_E_NSP;
        out->nsp = p + i;
        out->nsp_len = end - i;
        i = comma != NULL ? end + 1 : n;
    }

    out->ack_id = SIO_ACK_NONE;
    for (start = i, v = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
        if (v > ((unsigned long long)LLONG_MAX - (unsigned)(p[i] - '0')) / 10)
            return SIO_E_ACKID;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    if (i > start) {
        if (out->type == SIO_CONNECT || out->type == SIO_DISCONNECT ||
            out->type == SIO_CONNECT_ERROR)
            return SIO_E_ACKID;
        out->ack_id = (long long)v;
    } else if (out->type == SIO_ACK || out->type == SIO_BINARY_ACK) {
        return SIO_E_ACKID;
    }
    *ip = i;
    return SIO_OK;
}

/* The payload shape each type must carry (socket.io-parser
 * isPayloadValid, with EVENT's payload required as the spec says). */
static enum sio_status
sio_check_shape(const struct sio_packet *pk)
{
    const json_t *j = pk->json, *name;

    switch (pk->type) {
    case SIO_CONNECT:
        return j == NULL || json_is_object(j) ? SIO_OK : SIO_E_PAYLOAD;
    case SIO_DISCONNECT:
        return j == NULL ? SIO_OK : SIO_E_PAYLOAD;
    case SIO_CONNECT_ERROR:
        return json_is_object(j) ? SIO_OK : SIO_E_PAYLOAD;
    case SIO_ACK:
    case SIO_BINARY_ACK:
        return json_is_array(j) ? SIO_OK : SIO_E_PAYLOAD;
    case SIO_EVENT:
    case SIO_BINARY_EVENT:
        if (!json_is_array(j) || json_array_size(j) == 0)
            return SIO_E_PAYLOAD;
        name = json_array_get(j, 0);
        if (!json_is_string(name))
            return SIO_E_PAYLOAD;
        for (size_t k = 0; k < sizeof(sio_reserved) / sizeof(*sio_reserved);
             k++)
            if (strcmp(json_string_value(name), sio_reserved[k]) == 0)
                return SIO_E_PAYLOAD;
        return SIO_OK;
    }
    return SIO_E_TYPE;
}

static int
sio_is_binary(enum sio_type type)
{
    return type == SIO_BINARY_EVENT || type == SIO_BINARY_ACK;
}

/* A namespace s[0..n): '/', then no ',' (it ends the namespace), no
 * control bytes, valid UTF-8 (it is echoed in CONNECT_ERROR and logs). */
static int
sio_nsp_ok(const char *s, size_t n)
{
    if (n == 0 || n > SIO_NSP_MAX || s[0] != '/')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f || c == ',')
            return 0;
    }
    return u8_valid((const unsigned char *)s, n);
}

/* Count and mark the placeholders under j. Depth is bounded by jansson's
 * parser (JSON_PARSER_MAX_DEPTH), so recursion is too. */
static enum sio_status
sio_walk(const json_t *j, size_t nattach, unsigned char *seen, size_t *count)
{
    const json_t *v;
    void *it;
    size_t k;
    json_int_t num;

    if (json_is_array(j)) {
        for (k = 0; k < json_array_size(j); k++)
            if (sio_walk(json_array_get(j, k), nattach, seen, count) != SIO_OK)
                return SIO_E_ATTACH;
        return SIO_OK;
    }
    if (!json_is_object(j))
        return SIO_OK;
    if (json_is_true(json_object_get(j, "_placeholder"))) {
        v = json_object_get(j, "num");
        if (!json_is_integer(v))
            return SIO_E_ATTACH;
        num = json_integer_value(v);
        if (num < 0 || (unsigned long long)num >= nattach ||
            (seen[num / 8] & (1u << (num % 8))))
            return SIO_E_ATTACH;
        seen[num / 8] |= (unsigned char)(1u << (num % 8));
        (*count)++;
        return SIO_OK;
    }
    /* jansson's iterator API takes a non-const object; it only reads. */
    for (it = json_object_iter((json_t *)j); it != NULL;
         it = json_object_iter_next((json_t *)j, it))
        if (sio_walk(json_object_iter_value(it), nattach, seen, count) !=
            SIO_OK)
            return SIO_E_ATTACH;
    return SIO_OK;
}

static void
sio_put(struct sio_buf *b, const char *s, size_t n)
{
    if (b->bad)
        return;
    if (n > (size_t)-1 - b->len - 1) {
        b->bad = 1;
        return;
    }
    if (b->len + n < b->cap && n > 0)
        memcpy(b->out + b->len, s, n);
    b->len += n;
}

static void
sio_put_ull(struct sio_buf *b, unsigned long long v)
{
    char tmp[24];
    int len = snprintf(tmp, sizeof(tmp), "%llu", v);

    sio_put(b, tmp, (size_t)len);
}

/* Dump j at the end of b. json_dumpb writes at most the room left and
 * returns the full size, so one call both writes and measures. */
static void
sio_put_json(struct sio_buf *b, const json_t *j, size_t flags)
{
    size_t room, n;

    if (b->bad)
        return;
    room = b->len < b->cap ? b->cap - b->len : 0;
    n = json_dumpb(j, room > 0 ? b->out + b->len : NULL, room, flags);
    if (n == 0 || n > (size_t)-1 - b->len - 1) {
        b->bad = 1;
        return;
    }
    b->len += n;
}

/* s as a JSON string literal, escaped by jansson; bad if not UTF-8. */
static void
sio_put_jstr(struct sio_buf *b, const char *s)
{
    json_t *j = s != NULL ? json_string(s) : NULL;

    if (j == NULL) {
        b->bad = 1;
        return;
    }
    sio_put_json(b, j, SIO_JSON_FLAGS | JSON_ENCODE_ANY);
    json_decref(j);
}

/* <type>[<n>-][<nsp>,][<ack id>], checking the arguments. */
static void
sio_head(struct sio_buf *b, enum sio_type type, const char *nsp,
         long long ack_id, size_t nattach)
{
    char t = (char)('0' + type);

    if ((unsigned)type > SIO_BINARY_ACK || ack_id < SIO_ACK_NONE ||
        (!sio_is_binary(type) && nattach != 0) || nattach > SIO_ATTACH_MAX ||
        ((type == SIO_ACK || type == SIO_BINARY_ACK) && ack_id < 0) ||
        ((type == SIO_CONNECT || type == SIO_DISCONNECT ||
          type == SIO_CONNECT_ERROR) &&
         ack_id >= 0)) {
        b->bad = 1;
        return;
    }
    sio_put(b, &t, 1);
    if (sio_is_binary(type)) {
        sio_put_ull(b, nattach);
        sio_put(b, "-", 1);
    }
    if (nsp != NULL && strcmp(nsp, "/") != 0) {
        if (!sio_nsp_ok(nsp, strnlen(nsp, SIO_NSP_MAX + 1))) {
            b->bad = 1;
            return;
        }
        sio_put(b, nsp, strlen(nsp));
        sio_put(b, ",", 1);
    }
    if (ack_id >= 0)
        sio_put_ull(b, (unsigned long long)ack_id);
}

static size_t
sio_finish(struct sio_buf *b)
{
    if (b->bad)
        return 0;
    if (b->len < b->cap)
        b->out[b->len] = '\0';
    return b->len;
}
