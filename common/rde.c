/*
 * Redis-emitter interop (rde.h): channel names, the notepack.io msgpack
 * broadcast and the JSON requests that @socket.io/redis-emitter 5.1 and
 * redis-adapter 8.3 publish, turned into views that borrow the message.
 * Redis I/O, room membership and delivery are the caller's. msgpack is
 * decoded by msgpack-c, but only after a bounded pre-scan: msgpack-c's C
 * unpacker has no limits and allocates a container's elements from the
 * count in its header before reading them (five bytes can ask for 100 GB).
 * Requests are JSON, left to jansson.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <msgpack.h>
#include <msgpack/unpack_define.h> /* MSGPACK_EMBED_STACK_SIZE */

#include "jsv.h"
#include "msg.h"
#include "rde.h"
#include "sio.h"
#include "u8.h"

/* msgpack-c fails once MSGPACK_EMBED_STACK_SIZE containers are open; a
 * container at depth d has d - 1 open above it. */
_Static_assert(RDE_DEPTH_MAX <= MSGPACK_EMBED_STACK_SIZE, "msgpack-c depth");
_Static_assert(RDE_NSP_MAX == SIO_NSP_MAX, "namespace limits agree");
_Static_assert(RDE_ATTACH_MAX <= SIO_ATTACH_MAX, "sio can send them all");
_Static_assert(RDE_ROOMS_MAX <= MSG_MAX_TARGETS, "a log entry holds them");
_Static_assert(RDE_REQ_MAX <= RDE_MSG_MAX, "request limit");

/* JSON being written: bytes go in only while they and a NUL fit, but n
 * always counts them, so the walk goes on and a later error wins. */
struct rde_w {
    char *p;
    size_t cap, n;
};

struct rde_walk {
    const unsigned char *base; /* the message msgpack-c references */
    size_t len;
    struct rde_w w;
    struct rde_bcast *out;
    int literal_ph; /* saw an object {"_placeholder": true} */
};

/* Event names socket.io's emit refuses (RESERVED_EVENTS). */
static const char *const rde_reserved[] = {
    "connect",       "connect_error", "disconnect",
    "disconnecting", "newListener",   "removeListener",
};

/* What follows a msgpack type byte 0xc0-0xdf: FIX, w bytes of payload;
 * LEN (bin, str) and EXT, a w-byte length (EXT then a type byte); ARR and
 * MAP, a w-byte count. */
enum { RDE_MP_FIX, RDE_MP_LEN, RDE_MP_EXT, RDE_MP_ARR, RDE_MP_MAP, RDE_MP_BAD };
static const struct {
    unsigned char kind, w;
} rde_mp[32] = {
    {RDE_MP_FIX, 0},  {RDE_MP_BAD, 0}, {RDE_MP_FIX, 0}, {RDE_MP_FIX, 0},
    {RDE_MP_LEN, 1},  {RDE_MP_LEN, 2}, {RDE_MP_LEN, 4}, /* bin */
    {RDE_MP_EXT, 1},  {RDE_MP_EXT, 2}, {RDE_MP_EXT, 4}, /* ext */
    {RDE_MP_FIX, 4},  {RDE_MP_FIX, 8},                  /* float */
    {RDE_MP_FIX, 1},  {RDE_MP_FIX, 2}, {RDE_MP_FIX, 4}, {RDE_MP_FIX, 8},
    {RDE_MP_FIX, 1},  {RDE_MP_FIX, 2}, {RDE_MP_FIX, 4}, {RDE_MP_FIX, 8},
    {RDE_MP_FIX, 2},  {RDE_MP_FIX, 3}, {RDE_MP_FIX, 5}, {RDE_MP_FIX, 9},
    {RDE_MP_FIX, 17},                                   /* fixext: type, data */
    {RDE_MP_LEN, 1},  {RDE_MP_LEN, 2}, {RDE_MP_LEN, 4}, /* str */
    {RDE_MP_ARR, 2},  {RDE_MP_ARR, 4}, {RDE_MP_MAP, 2}, {RDE_MP_MAP, 4},
};

static const char *const rde_status_name[] = {
    [RDE_OK] = "ok",
    [RDE_IGNORED] = "ignored (server-side emit)",
    [RDE_E_CHANNEL] = "not an emitter channel",
    [RDE_E_SIZE] = "too large",
    [RDE_E_DEPTH] = "nested too deep",
    [RDE_E_MSGPACK] = "malformed msgpack",
    [RDE_E_JSON] = "malformed JSON",
    [RDE_E_SHAPE] = "wrong message shape",
    [RDE_E_PTYPE] = "unsupported packet type",
    [RDE_E_ACK] = "acknowledgement requested",
    [RDE_E_EVENT] = "invalid event name",
    [RDE_E_NSP] = "invalid namespace",
    [RDE_E_ROOM] = "invalid room",
    [RDE_E_UTF8] = "string not UTF-8",
    [RDE_E_VALUE] = "value with no JSON form",
    [RDE_E_ATTACH] = "too many binary values",
    [RDE_E_SPACE] = "JSON buffer too small",
    [RDE_E_REQTYPE] = "unsupported request",
    [RDE_E_NOMEM] = "out of memory",
};

static enum rde_status rde_scan(const unsigned char *p, size_t n);
static enum rde_status rde_envelope(struct rde_walk *c,
                                    const msgpack_object *root);
static enum rde_status rde_opts(struct rde_walk *c, const msgpack_object *opts);
static enum rde_status rde_payload(struct rde_walk *c,
                                   const msgpack_object *data);
static enum rde_status rde_mp_rooms(const struct rde_walk *c,
                                    const msgpack_object *o, struct rde_str *v,
                                    size_t *np);
static enum rde_status rde_json(struct rde_walk *c, const msgpack_object *o);
static enum rde_status rde_json_array(struct rde_walk *c,
                                      const msgpack_object *o);
static enum rde_status rde_json_map(struct rde_walk *c,
                                    const msgpack_object *o);
static enum rde_status rde_ext(struct rde_walk *c, const msgpack_object *o);
static enum rde_status rde_attach(struct rde_walk *c, const unsigned char *p,
                                  size_t n);
static const msgpack_object *rde_get(const msgpack_object *map,
                                     const char *key);
static int rde_is_undef(const struct rde_walk *c, const msgpack_object *o);
static int rde_absent(const struct rde_walk *c, const msgpack_object *o);
static int rde_truthy(const struct rde_walk *c, const msgpack_object *o);
static unsigned rde_ext_head(const struct rde_walk *c, const msgpack_object *o);
static int rde_nsp_valid(const char *p, size_t n);
static void rde_put(struct rde_w *w, const char *s, size_t n);
static void rde_put_str(struct rde_w *w, const char *s, size_t n);
static void rde_put_num(struct rde_w *w, double v);
static void rde_put_date(struct rde_w *w, double t);
static enum rde_status rde_req_json(const unsigned char *p, size_t n,
                                    struct rde_req *out);
static enum rde_status rde_req_targets(const json_t *root, int type,
                                       struct rde_req *out);
static enum rde_status rde_req_msgpack(const unsigned char *p, size_t n,
                                       struct rde_req *out);
static enum rde_status rde_js_rooms(const json_t *a, struct rde_str *v,
                                    size_t *np);

enum rde_status
rde_channel(const char *key, const char *ch, size_t n, struct rde_chan *out)
{
    size_t kl, rn, nl;
    const char *rest, *hash;

    if (key == NULL)
        key = RDE_KEY_DEFAULT;
    kl = strlen(key);
    if (ch == NULL || n < kl || memcmp(ch, key, kl) != 0)
        return RDE_E_CHANNEL;
    rest = ch + kl;
    rn = n - kl;
    if (rn >= 9 && memcmp(rest, "-request#", 9) == 0) {
        out->kind = RDE_CH_REQUEST;
        rest += 9, rn -= 9;
    } else if (rn >= 1 && rest[0] == '#') {
        out->kind = RDE_CH_BROADCAST;
        rest++, rn--;
    } else {
        return RDE_E_CHANNEL;
    }
    /* The emitter writes key#nsp# + room#; the namespace is the part up
     * to the first '#', the room everything up to the final one. */
    hash = memchr(rest, '#', rn);
    if (hash == NULL)
        return RDE_E_CHANNEL;
    nl = (size_t)(hash - rest);
    if (!rde_nsp_valid(rest, nl))
        return RDE_E_NSP;
    out->nsp = (struct rde_str){rest, nl};
    out->room = (struct rde_str){NULL, 0};
    rest += nl + 1, rn -= nl + 1;
    if (rn == 0)
        return RDE_OK;
    if (out->kind == RDE_CH_REQUEST || rest[rn - 1] != '#')
        return RDE_E_CHANNEL;
    if (!msg_room_valid(rest, rn - 1))
        return RDE_E_ROOM;
    out->room = (struct rde_str){rest, rn - 1};
    return RDE_OK;
}

enum rde_status
rde_broadcast(const unsigned char *p, size_t n, char *json, size_t cap,
              struct rde_bcast *out)
{
    struct rde_walk c = {p, n, {json, cap, 0}, out, 0};
    msgpack_unpacked up;
    msgpack_unpack_return ur;
    enum rde_status st;
    size_t off = 0;

    if (n > RDE_MSG_MAX)
        return RDE_E_SIZE;
    if ((st = rde_scan(p, n)) != RDE_OK)
        return st;
    msgpack_unpacked_init(&up);
    ur = msgpack_unpack_next(&up, (const char *)p, n, &off);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR)
        st = RDE_E_NOMEM;
    else if (ur != MSGPACK_UNPACK_SUCCESS || off != n)
        st = RDE_E_MSGPACK; /* the scan should have caught it */
    else
        st = rde_envelope(&c, &up.data);
    msgpack_unpacked_destroy(&up);
    if (st == RDE_OK && c.w.n >= cap)
        st = RDE_E_SPACE;
    if (st == RDE_OK)
        out->json_len = c.w.n;
    return st;
}

enum rde_status
rde_request(const unsigned char *p, size_t n, struct rde_req *out)
{
    memset(out, 0, sizeof(*out));
    out->type = -1;
    if (n > RDE_REQ_MAX)
        return RDE_E_SIZE;
    /* The adapter's own test: a message starting with '{' is JSON. */
    if (n > 0 && p[0] == '{')
        return rde_req_json(p, n, out);
    return rde_req_msgpack(p, n, out);
}

void
rde_req_clear(struct rde_req *out)
{
    int type;

    if (out == NULL)
        return;
    type = out->type;
    json_decref(out->json);
    memset(out, 0, sizeof(*out));
    out->type = type;
}

const char *
rde_status_str(enum rde_status st)
{
    if ((unsigned)st >= sizeof(rde_status_name) / sizeof(rde_status_name[0]))
        return "unknown status";
    return rde_status_name[st];
}

static uint64_t
rde_be(const unsigned char *p, size_t w)
{
    uint64_t v = 0;

    for (size_t i = 0; i < w; i++)
        v = v << 8 | p[i];
    return v;
}

/*
 * Walk p[0..n) as exactly one msgpack value without building anything:
 * every length and element count must be backed by bytes still unread
 * (each element takes at least one), containers nest at most
 * RDE_DEPTH_MAX deep, values number at most RDE_NODES_MAX. After this,
 * msgpack-c allocates one msgpack_object (24 bytes) per value, in zone
 * chunks.
 */
static enum rde_status
rde_scan(const unsigned char *p, size_t n)
{
    uint64_t left[RDE_DEPTH_MAX + 1];
    size_t off = 0, nodes = 0;
    int top = 0;

    left[0] = 1;
    for (;;) {
        uint64_t skip = 0, count = 0;
        int kind = RDE_MP_FIX;
        unsigned char b;

        while (top > 0 && left[top] == 0)
            top--;
        if (left[top] == 0)
            break;
        left[top]--;
        if (off == n)
            return RDE_E_MSGPACK;
        if (++nodes > RDE_NODES_MAX)
            return RDE_E_SIZE;
        b = p[off++];
        if (b >= 0x80 && b <= 0x8f)
            kind = RDE_MP_MAP, count = b & 0x0f;
        else if (b >= 0x90 && b <= 0x9f)
            kind = RDE_MP_ARR, count = b & 0x0f;
        else if (b >= 0xa0 && b <= 0xbf)
            skip = b & 0x1f;
        else if (b >= 0xc0 && b <= 0xdf) {
            kind = rde_mp[b - 0xc0].kind;
            if (kind == RDE_MP_BAD)
                return RDE_E_MSGPACK;
            if (kind == RDE_MP_FIX)
                skip = rde_mp[b - 0xc0].w;
            else if (n - off < rde_mp[b - 0xc0].w)
                return RDE_E_MSGPACK;
            else
                count = rde_be(p + off, rde_mp[b - 0xc0].w),
                off += rde_mp[b - 0xc0].w;
            if (kind == RDE_MP_LEN || kind == RDE_MP_EXT)
                skip = count + (kind == RDE_MP_EXT); /* ext: type byte */
        }
        if (skip > n - off)
            return RDE_E_MSGPACK;
        off += (size_t)skip;
        if (kind != RDE_MP_ARR && kind != RDE_MP_MAP)
            continue;
        if (kind == RDE_MP_MAP)
            count *= 2;
        if (count > n - off)
            return RDE_E_MSGPACK;
        if (top == RDE_DEPTH_MAX)
            return RDE_E_DEPTH;
        left[++top] = count;
    }
    return off == n ? RDE_OK : RDE_E_MSGPACK;
}

/* [uid, packet, opts]: the envelope and the packet, checked in the order
 * a receiver needs them, then opts and the payload. */
static enum rde_status
rde_envelope(struct rde_walk *c, const msgpack_object *root)
{
    const msgpack_object *uid, *pk, *opts, *type, *nsp, *id, *data, *ev;
    struct rde_bcast *out = c->out;
    enum rde_status st;

    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size != 3)
        return RDE_E_SHAPE;
    uid = &root->via.array.ptr[0];
    pk = &root->via.array.ptr[1];
    opts = &root->via.array.ptr[2];
    if (uid->type != MSGPACK_OBJECT_STR || pk->type != MSGPACK_OBJECT_MAP ||
        opts->type != MSGPACK_OBJECT_MAP)
        return RDE_E_SHAPE;
    out->uid = (struct rde_str){uid->via.str.ptr, uid->via.str.size};

    type = rde_get(pk, "type");
    if (type == NULL || type->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        (type->via.u64 != SIO_EVENT && type->via.u64 != SIO_BINARY_EVENT))
        return RDE_E_PTYPE;
    out->type = (int)type->via.u64;

    /* The adapter sets nsp "/" only when it is undefined: nil is a
     * namespace of its own that no client is in. */
    nsp = rde_get(pk, "nsp");
    if (nsp == NULL || rde_is_undef(c, nsp)) {
        out->nsp = (struct rde_str){"/", 1};
    } else if (nsp->type == MSGPACK_OBJECT_STR &&
               rde_nsp_valid(nsp->via.str.ptr, nsp->via.str.size)) {
        out->nsp = (struct rde_str){nsp->via.str.ptr, nsp->via.str.size};
    } else {
        return RDE_E_NSP;
    }

    /* socket.io-parser writes an id unless it is null or undefined. */
    id = rde_get(pk, "id");
    if (id != NULL && !rde_absent(c, id))
        return RDE_E_ACK;

    data = rde_get(pk, "data");
    if (data == NULL || data->type != MSGPACK_OBJECT_ARRAY)
        return RDE_E_SHAPE;
    if (data->via.array.size == 0)
        return RDE_E_EVENT;
    ev = &data->via.array.ptr[0];
    if (ev->type != MSGPACK_OBJECT_STR)
        return RDE_E_EVENT;
    if (!u8_valid((const unsigned char *)ev->via.str.ptr, ev->via.str.size))
        return RDE_E_UTF8;
    for (size_t i = 0; i < sizeof(rde_reserved) / sizeof(rde_reserved[0]); i++)
        if (ev->via.str.size == strlen(rde_reserved[i]) &&
            memcmp(ev->via.str.ptr, rde_reserved[i], ev->via.str.size) == 0)
            return RDE_E_EVENT;
    out->event = (struct rde_str){ev->via.str.ptr, ev->via.str.size};

    if ((st = rde_opts(c, opts)) != RDE_OK)
        return st;
    return rde_payload(c, data);
}

/* opts: {rooms, except, flags} in any order. */
static enum rde_status
rde_opts(struct rde_walk *c, const msgpack_object *opts)
{
    struct rde_bcast *out = c->out;
    const msgpack_object *fl, *v;
    enum rde_status st;

    /* The receiver does new Set(opts.rooms): absent, nil and undefined
     * are all empty. */
    if ((st = rde_mp_rooms(c, rde_get(opts, "rooms"), out->rooms,
                           &out->nrooms)) != RDE_OK ||
        (st = rde_mp_rooms(c, rde_get(opts, "except"), out->except,
                           &out->nexcept)) != RDE_OK)
        return st;
    out->flags = 0;
    fl = rde_get(opts, "flags");
    if (fl == NULL || rde_absent(c, fl))
        return RDE_OK;
    if (fl->type != MSGPACK_OBJECT_MAP)
        return RDE_E_SHAPE;
    /* socket.io reads `if (flags.volatile)` and `compress !== false` */
    if ((v = rde_get(fl, "volatile")) != NULL && rde_truthy(c, v))
        out->flags |= RDE_F_VOLATILE;
    if ((v = rde_get(fl, "local")) != NULL && rde_truthy(c, v))
        out->flags |= RDE_F_LOCAL;
    if ((v = rde_get(fl, "compress")) != NULL &&
        v->type == MSGPACK_OBJECT_BOOLEAN && !v->via.boolean)
        out->flags |= RDE_F_NO_COMPRESS;
    return RDE_OK;
}

/* packet.data as the Socket.IO payload ["event", args...]. */
static enum rde_status
rde_payload(struct rde_walk *c, const msgpack_object *data)
{
    struct rde_bcast *out = c->out;
    enum rde_status st;

    out->nattach = 0;
    out->nargs = data->via.array.size - 1;
    rde_put(&c->w, "[", 1);
    rde_put_str(&c->w, out->event.p, out->event.n);
    if (out->nargs > 0)
        rde_put(&c->w, ",", 1);
    out->args_off = c->w.n;
    for (size_t i = 1; i < data->via.array.size; i++) {
        if (i > 1)
            rde_put(&c->w, ",", 1);
        if ((st = rde_json(c, &data->via.array.ptr[i])) != RDE_OK)
            return st;
    }
    out->args_len = c->w.n - out->args_off;
    rde_put(&c->w, "]", 1);
    /* sio_attach_check's rule, and the client's: an object with
     * "_placeholder": true is an attachment, whatever else it holds */
    if (c->literal_ph && out->nattach > 0)
        return RDE_E_VALUE;
    return RDE_OK;
}

/* A list of rooms, opts.rooms or opts.except. */
static enum rde_status
rde_mp_rooms(const struct rde_walk *c, const msgpack_object *o,
             struct rde_str *v, size_t *np)
{
    *np = 0;
    if (o == NULL || rde_absent(c, o))
        return RDE_OK;
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return RDE_E_SHAPE;
    if (o->via.array.size > RDE_ROOMS_MAX)
        return RDE_E_SIZE;
    for (size_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *r = &o->via.array.ptr[i];
        if (r->type != MSGPACK_OBJECT_STR ||
            !msg_room_valid(r->via.str.ptr, r->via.str.size))
            return RDE_E_ROOM;
        v[i] = (struct rde_str){r->via.str.ptr, r->via.str.size};
    }
    *np = o->via.array.size;
    return RDE_OK;
}

/* One value as JSON.stringify would write what notepack decodes, with
 * binaries swapped for socket.io-parser placeholders. Depth is bounded by
 * the scan. */
static enum rde_status
rde_json(struct rde_walk *c, const msgpack_object *o)
{
    char num[24];

    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        rde_put(&c->w, "null", 4);
        return RDE_OK;
    case MSGPACK_OBJECT_BOOLEAN:
        rde_put(&c->w, o->via.boolean ? "true" : "false",
                o->via.boolean ? 4 : 5);
        return RDE_OK;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 <= (1ULL << 53)) {
            rde_put(&c->w, num,
                    (size_t)snprintf(num, sizeof(num), "%llu",
                                     (unsigned long long)o->via.u64));
            return RDE_OK;
        }
        rde_put_num(&c->w, (double)o->via.u64); /* hi * 2^32 + lo in JS */
        return RDE_OK;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        if (o->via.i64 >= -(1LL << 53)) {
            rde_put(&c->w, num,
                    (size_t)snprintf(num, sizeof(num), "%lld",
                                     (long long)o->via.i64));
            return RDE_OK;
        }
        rde_put_num(&c->w, (double)o->via.i64);
        return RDE_OK;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        rde_put_num(&c->w, o->via.f64);
        return RDE_OK;
    case MSGPACK_OBJECT_STR:
        if (!u8_valid((const unsigned char *)o->via.str.ptr, o->via.str.size))
            return RDE_E_UTF8;
        rde_put_str(&c->w, o->via.str.ptr, o->via.str.size);
        return RDE_OK;
    case MSGPACK_OBJECT_BIN:
        return rde_attach(c, (const unsigned char *)o->via.bin.ptr,
                          o->via.bin.size);
    case MSGPACK_OBJECT_ARRAY:
        return rde_json_array(c, o);
    case MSGPACK_OBJECT_MAP:
        return rde_json_map(c, o);
    case MSGPACK_OBJECT_EXT:
        return rde_ext(c, o);
    }
    return RDE_E_VALUE;
}

static enum rde_status
rde_json_array(struct rde_walk *c, const msgpack_object *o)
{
    enum rde_status st;

    rde_put(&c->w, "[", 1);
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *e = &o->via.array.ptr[i];
        if (i > 0)
            rde_put(&c->w, ",", 1);
        if (rde_is_undef(c, e)) /* JSON.stringify: null in arrays */
            rde_put(&c->w, "null", 4);
        else if ((st = rde_json(c, e)) != RDE_OK)
            return st;
    }
    rde_put(&c->w, "]", 1);
    return RDE_OK;
}

/* Keys must be strings (notepack only writes Object.keys); they keep the
 * message's order and duplicates. */
static enum rde_status
rde_json_map(struct rde_walk *c, const msgpack_object *o)
{
    enum rde_status st;
    int first = 1;

    rde_put(&c->w, "{", 1);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        const msgpack_object *v = &o->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR)
            return RDE_E_VALUE;
        if (!u8_valid((const unsigned char *)k->via.str.ptr, k->via.str.size))
            return RDE_E_UTF8;
        if (rde_is_undef(c, v)) /* JSON.stringify drops the key */
            continue;
        if (k->via.str.size == 12 &&
            memcmp(k->via.str.ptr, "_placeholder", 12) == 0 &&
            v->type == MSGPACK_OBJECT_BOOLEAN && v->via.boolean)
            c->literal_ph = 1;
        if (!first)
            rde_put(&c->w, ",", 1);
        first = 0;
        rde_put_str(&c->w, k->via.str.ptr, k->via.str.size);
        rde_put(&c->w, ":", 1);
        if ((st = rde_json(c, v)) != RDE_OK)
            return st;
    }
    rde_put(&c->w, "}", 1);
    return RDE_OK;
}

/*
 * The ext values notepack.io's decoder turns into something: type -1
 * timestamps (fixext 4, fixext 8, ext 8 of 12 bytes) into a Date, and for
 * notepack 2.x, type 0 as fixext 1 (undefined, placed by the caller),
 * fixext 8 (a Date of int64 milliseconds) and ext 8/16/32 (an
 * ArrayBuffer). The Date arithmetic is JavaScript's, in doubles.
 */
static enum rde_status
rde_ext(struct rde_walk *c, const msgpack_object *o)
{
    const unsigned char *d = (const unsigned char *)o->via.ext.ptr;
    unsigned head = rde_ext_head(c, o);
    uint32_t hi, lo;

    if (o->via.ext.type == -1) {
        switch (head) {
        case 0xd6: /* timestamp 32 */
            rde_put_date(&c->w, (double)rde_be(d, 4) * 1e3);
            return RDE_OK;
        case 0xd7: /* timestamp 64: 30 bits of ns, 34 bits of seconds */
            hi = (uint32_t)rde_be(d, 4);
            lo = (uint32_t)rde_be(d + 4, 4);
            rde_put_date(&c->w, ((double)(hi & 3) * 4294967296.0 + lo) * 1e3 +
                                    (double)(hi >> 2) / 1e6);
            return RDE_OK;
        case 0xc7: /* timestamp 96: u32 ns, i64 seconds */
            if (o->via.ext.size != 12)
                break;
            hi = (uint32_t)rde_be(d + 4, 4);
            lo = (uint32_t)rde_be(d + 8, 4);
            rde_put_date(&c->w,
                         ((double)(int32_t)hi * 4294967296.0 + lo) * 1e3 +
                             (double)rde_be(d, 4) / 1e6);
            return RDE_OK;
        }
    } else if (o->via.ext.type == 0) {
        switch (head) {
        case 0xd4: /* undefined, where the caller did not place it */
            rde_put(&c->w, "null", 4);
            return RDE_OK;
        case 0xd7: /* notepack 2.x Date */
            hi = (uint32_t)rde_be(d, 4);
            lo = (uint32_t)rde_be(d + 4, 4);
            rde_put_date(&c->w, (double)(int32_t)hi * 4294967296.0 + lo);
            return RDE_OK;
        case 0xc7:
        case 0xc8: /* notepack 2.x ArrayBuffer */
            return rde_attach(c, d, o->via.ext.size);
        }
    }
    return RDE_E_VALUE;
}

/* A binary value: the next attachment, and its placeholder in the JSON
 * (socket.io-parser's deconstructPacket numbers them in this order). */
static enum rde_status
rde_attach(struct rde_walk *c, const unsigned char *p, size_t n)
{
    char num[48];
    int k;

    if (c->out->nattach == RDE_ATTACH_MAX)
        return RDE_E_ATTACH;
    c->out->attach[c->out->nattach] = (struct rde_bin){p, n};
    k = snprintf(num, sizeof(num), "{\"_placeholder\":true,\"num\":%zu}",
                 c->out->nattach++);
    rde_put(&c->w, num, (size_t)k);
    return RDE_OK;
}

/* Last match wins, as when notepack assigns the keys to an object. */
static const msgpack_object *
rde_get(const msgpack_object *map, const char *key)
{
    const msgpack_object *hit = NULL;
    size_t kl = strlen(key);

    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kl &&
            memcmp(k->via.str.ptr, key, kl) == 0)
            hit = &map->via.map.ptr[i].val;
    }
    return hit;
}

/* notepack 2.x undefined: fixext 1, type 0. */
static int
rde_is_undef(const struct rde_walk *c, const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_EXT && o->via.ext.type == 0 &&
           rde_ext_head(c, o) == 0xd4;
}

/* null or undefined */
static int
rde_absent(const struct rde_walk *c, const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_NIL || rde_is_undef(c, o);
}

/* JavaScript truthiness of the value notepack decodes. */
static int
rde_truthy(const struct rde_walk *c, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return 0;
    case MSGPACK_OBJECT_BOOLEAN:
        return o->via.boolean;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return o->via.u64 != 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return 1;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return o->via.f64 != 0 && !isnan(o->via.f64);
    case MSGPACK_OBJECT_STR:
        return o->via.str.size > 0;
    case MSGPACK_OBJECT_EXT:
        return !rde_is_undef(c, o);
    default:
        return 1; /* objects, arrays, Buffers */
    }
}

/*
 * Which header carried an ext: 0xd4-0xd8 (fixext 1-16), 0xc7 (ext 8) or
 * 0xc8 (ext 16/32). msgpack-c points ext.ptr into the message just after
 * the type byte, so the header sits right before it: a fixext byte two
 * back (an ext 8 has its length there, never 0xd4-0xd8 for those sizes),
 * or 0xc7 three back with the length after it (an ext 16/32 has a zero
 * or its high length bytes there).
 */
static unsigned
rde_ext_head(const struct rde_walk *c, const msgpack_object *o)
{
    const unsigned char *d = (const unsigned char *)o->via.ext.ptr;
    size_t sz = o->via.ext.size;

    if (d < c->base + 2 || d > c->base + c->len)
        return 0; /* not in the message: msgpack-c copied it */
    if (d[-2] >= 0xd4 && d[-2] <= 0xd8 && sz == (size_t)1 << (d[-2] - 0xd4))
        return d[-2];
    if (d >= c->base + 3 && d[-3] == 0xc7 && d[-2] == sz)
        return 0xc7;
    return 0xc8;
}

/* A namespace the gateway can carry: '/' first, RDE_NSP_MAX bytes, UTF-8,
 * no control bytes and no ',' (it would end the namespace on the
 * Socket.IO wire). */
static int
rde_nsp_valid(const char *p, size_t n)
{
    if (n == 0 || n > RDE_NSP_MAX || p[0] != '/')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch < 0x20 || ch == 0x7f || ch == ',')
            return 0;
    }
    return u8_valid((const unsigned char *)p, n);
}

static void
rde_put(struct rde_w *w, const char *s, size_t n)
{
    if (w->n < w->cap && n < w->cap - w->n) {
        memcpy(w->p + w->n, s, n);
        w->p[w->n + n] = '\0';
    }
    w->n += n;
}

/* A JSON string, escaped as JSON.stringify does: quote, backslash and
 * the C0 controls (short forms where JSON has them); the rest raw. */
static void
rde_put_str(struct rde_w *w, const char *s, size_t n)
{
    static const char from[] = "\"\\\b\f\n\r\t", to[] = "\"\\bfnrt";
    static const char hexd[] = "0123456789abcdef";
    size_t run = 0;

    rde_put(w, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[6] = {'\\', 'u', '0', '0', hexd[ch >> 4], hexd[ch & 15]};
        const char *f;

        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        f = ch != 0 ? memchr(from, ch, sizeof(from) - 1) : NULL;
        rde_put(w, s + run, i - run);
        run = i + 1;
        if (f != NULL)
            esc[1] = to[f - from];
        rde_put(w, esc, f != NULL ? 2 : 6);
    }
    rde_put(w, s + run, n - run);
    rde_put(w, "\"", 1);
}

/* A number as JavaScript writes it (jsv.h). */
static void
rde_put_num(struct rde_w *w, double v)
{
    char out[JSV_NUMBER_MAX];

    rde_put(w, out, jsv_number(v, out, sizeof(out)));
}

/* Date#toJSON of new Date(t) (jsv.h). */
static void
rde_put_date(struct rde_w *w, double t)
{
    char out[JSV_DATE_MAX];

    rde_put(w, out, jsv_date(t, out, sizeof(out)));
}

static enum rde_status
rde_req_json(const unsigned char *p, size_t n, struct rde_req *out)
{
    json_error_t err;
    json_t *type, *s;
    enum rde_status st = RDE_E_SHAPE;
    json_int_t t;

    out->json = json_loadb((const char *)p, n, JSON_ALLOW_NUL, &err);
    if (out->json == NULL)
        return json_error_code(&err) == json_error_out_of_memory ? RDE_E_NOMEM
                                                                 : RDE_E_JSON;
    type = json_object_get(out->json, "type");
    if (!json_is_integer(type))
        goto fail;
    t = json_integer_value(type);
    out->type = t >= 0 && t <= INT_MAX ? (int)t : -1;
    if (json_is_string(s = json_object_get(out->json, "uid")))
        out->uid =
            (struct rde_str){json_string_value(s), json_string_length(s)};
    if (json_is_string(s = json_object_get(out->json, "requestId")))
        out->request_id =
            (struct rde_str){json_string_value(s), json_string_length(s)};
    if (t == RDE_REQ_SERVER_SIDE_EMIT)
        return RDE_IGNORED;
    st = RDE_E_REQTYPE;
    if (t >= RDE_REQ_REMOTE_JOIN && t <= RDE_REQ_REMOTE_DISCONNECT &&
        (st = rde_req_targets(out->json, (int)t, out)) == RDE_OK)
        return RDE_OK;
fail:
    rde_req_clear(out);
    return st;
}

/* REMOTE_JOIN, REMOTE_LEAVE, REMOTE_DISCONNECT: which sockets (opts),
 * then the rooms to join or leave, or close. */
static enum rde_status
rde_req_targets(const json_t *root, int type, struct rde_req *out)
{
    const json_t *opts, *v;
    enum rde_status st;

    /* Without opts it is the per-socket form ({sid, room}), which waits
     * for a reply from the node that holds the socket. */
    opts = json_object_get(root, "opts");
    if (opts == NULL || json_is_null(opts) || json_is_false(opts))
        return RDE_E_REQTYPE;
    if (!json_is_object(opts))
        return RDE_E_SHAPE;
    if ((st = rde_js_rooms(json_object_get(opts, "rooms"), out->rooms,
                           &out->nrooms)) != RDE_OK ||
        (st = rde_js_rooms(json_object_get(opts, "except"), out->except,
                           &out->nexcept)) != RDE_OK)
        return st;
    if (type == RDE_REQ_REMOTE_DISCONNECT) {
        v = json_object_get(root, "close");
        if (v != NULL && !json_is_null(v) && !json_is_boolean(v))
            return RDE_E_SHAPE;
        out->close = json_is_true(v);
        return RDE_OK;
    }
    v = json_object_get(root, "rooms");
    if (!json_is_array(v))
        return RDE_E_SHAPE;
    return rde_js_rooms(v, out->target, &out->ntarget);
}

/* The adapter's msgpack requests (BROADCAST with ack, and the like):
 * only the type is read. */
static enum rde_status
rde_req_msgpack(const unsigned char *p, size_t n, struct rde_req *out)
{
    msgpack_unpacked up;
    msgpack_unpack_return ur;
    const msgpack_object *type;
    enum rde_status st;
    size_t off = 0;

    if ((st = rde_scan(p, n)) != RDE_OK)
        return st;
    msgpack_unpacked_init(&up);
    ur = msgpack_unpack_next(&up, (const char *)p, n, &off);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
        st = RDE_E_NOMEM;
    } else if (ur != MSGPACK_UNPACK_SUCCESS || off != n) {
        st = RDE_E_MSGPACK;
    } else if (up.data.type != MSGPACK_OBJECT_MAP ||
               (type = rde_get(&up.data, "type")) == NULL ||
               type->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        st = RDE_E_SHAPE;
    } else {
        out->type = type->via.u64 <= INT_MAX ? (int)type->via.u64 : -1;
        st = out->type == RDE_REQ_BROADCAST ? RDE_E_ACK : RDE_E_REQTYPE;
    }
    msgpack_unpacked_destroy(&up);
    return st;
}

/* A JSON list of rooms: absent or null is empty (new Set(undefined)). */
static enum rde_status
rde_js_rooms(const json_t *a, struct rde_str *v, size_t *np)
{
    size_t i;
    json_t *r;

    *np = 0;
    if (a == NULL || json_is_null(a))
        return RDE_OK;
    if (!json_is_array(a))
        return RDE_E_SHAPE;
    if (json_array_size(a) > RDE_ROOMS_MAX)
        return RDE_E_SIZE;
    json_array_foreach(a, i, r)
    {
        if (!json_is_string(r) ||
            !msg_room_valid(json_string_value(r), json_string_length(r)))
            return RDE_E_ROOM;
        v[i] = (struct rde_str){json_string_value(r), json_string_length(r)};
    }
    *np = json_array_size(a);
    return RDE_OK;
}
