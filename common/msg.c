/*
 * Encoding of message-log entries (msg.h). Little-endian length prefixes:
 * u8 kind, then per kind: PUBLISH u8 target, u16 count, count x (u16 len,
 * bytes), u16 event len, event, u32 data len, data; DISCONNECT_USER u16
 * len user, u16 len reason; BROADCAST u32 len data; EMIT and EMIT_KICK
 * as msg.h says. Pure byte code: the
 * master encodes once per publish, workers decode every entry they read.
 */
#include <string.h>

#include "msg.h"
#include "u8.h"

struct msg_w {
    unsigned char *p;
    size_t cap, n;
    int bad;
};

static void
msg_put(struct msg_w *w, const void *src, size_t n)
{
    if (w->bad || n > w->cap - w->n) {
        w->bad = 1;
        return;
    }
    if (n > 0) /* an empty string may come as (NULL, 0) */
        memcpy(w->p + w->n, src, n);
    w->n += n;
}

static void
msg_put_u(struct msg_w *w, uint32_t v, size_t width)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8),
        (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    msg_put(w, b, width);
}

static void
msg_put_str(struct msg_w *w, struct msg_str s, size_t width)
{
    if (width == 2 && s.n > 0xffff)
        w->bad = 1;
    msg_put_u(w, (uint32_t)s.n, width);
    msg_put(w, s.p, s.n);
}

size_t
msg_encode_publish(unsigned char *out, size_t cap, enum msg_target target,
    const struct msg_str *targets, size_t n, struct msg_str event,
    struct msg_str data)
{
    struct msg_w w = {out, cap, 0, 0};

    if (n > MSG_MAX_TARGETS || data.n > UINT32_MAX)
        return 0;
    msg_put_u(&w, MSG_PUBLISH, 1);
    msg_put_u(&w, target, 1);
    msg_put_u(&w, (uint32_t)n, 2);
    for (size_t i = 0; i < n; i++)
        msg_put_str(&w, targets[i], 2);
    msg_put_str(&w, event, 2);
    msg_put_str(&w, data, 4);
    return w.bad ? 0 : w.n;
}

size_t
msg_encode_disconnect(unsigned char *out, size_t cap, struct msg_str user,
    struct msg_str reason)
{
    struct msg_w w = {out, cap, 0, 0};

    msg_put_u(&w, MSG_DISCONNECT_USER, 1);
    msg_put_str(&w, user, 2);
    msg_put_str(&w, reason, 2);
    return w.bad ? 0 : w.n;
}

size_t
msg_encode_broadcast(unsigned char *out, size_t cap, struct msg_str data)
{
    struct msg_w w = {out, cap, 0, 0};

    if (data.n > UINT32_MAX)
        return 0;
    msg_put_u(&w, MSG_BROADCAST, 1);
    msg_put_str(&w, data, 4);
    return w.bad ? 0 : w.n;
}

static void
msg_put_rooms(struct msg_w *w, const struct msg_str *v, size_t n)
{
    if (n > MSG_MAX_TARGETS)
        w->bad = 1;
    msg_put_u(w, (uint32_t)n, 2);
    for (size_t i = 0; i < n; i++)
        msg_put_str(w, v[i], 2);
}

/* What EMIT and EMIT_KICK start with. */
static void
msg_put_emit_head(struct msg_w *w, enum msg_kind kind,
    const struct msg_emit *e)
{
    if ((e->target != MSG_T_ALL && e->target != MSG_T_ROOMS)
        || (e->target == MSG_T_ALL) != (e->nrooms == 0)
        || e->nsp.n == 0 || e->nsp.n > MSG_NSP_MAX)
        w->bad = 1;
    msg_put_u(w, kind, 1);
    msg_put_u(w, e->target, 1);
    msg_put_rooms(w, e->rooms, e->nrooms);
    msg_put_rooms(w, e->except, e->nexcept);
    msg_put_str(w, e->nsp, 2);
}

size_t
msg_encode_emit(unsigned char *out, size_t cap, const struct msg_emit *e)
{
    struct msg_w w = {out, cap, 0, 0};

    if (e->nattach > MSG_ATTACH_MAX || e->nargs > 0xffff
        || e->args.n > UINT32_MAX || (e->nargs == 0) != (e->args.n == 0))
        return 0;
    msg_put_emit_head(&w, MSG_EMIT, e);
    msg_put_str(&w, e->event, 2);
    msg_put_u(&w, (uint32_t)e->nargs, 2);
    msg_put_str(&w, e->args, 4);
    msg_put_u(&w, (uint32_t)e->nattach, 2);
    for (size_t i = 0; i < e->nattach; i++) {
        if (e->attach[i].n > UINT32_MAX)
            return 0;
        msg_put_str(&w, e->attach[i], 4);
    }
    return w.bad ? 0 : w.n;
}

size_t
msg_encode_emit_kick(unsigned char *out, size_t cap,
    const struct msg_emit *e)
{
    struct msg_w w = {out, cap, 0, 0};

    msg_put_emit_head(&w, MSG_EMIT_KICK, e);
    msg_put_u(&w, e->close ? 1 : 0, 1);
    return w.bad ? 0 : w.n;
}

struct msg_r {
    const unsigned char *p;
    size_t n, off;
    int bad;
};

static uint32_t
msg_get_u(struct msg_r *r, size_t width)
{
    uint32_t v = 0;

    if (r->bad || width > r->n - r->off) {
        r->bad = 1;
        return 0;
    }
    for (size_t i = 0; i < width; i++)
        v |= (uint32_t)r->p[r->off + i] << (8 * i);
    r->off += width;
    return v;
}

static struct msg_str
msg_get_str(struct msg_r *r, size_t width)
{
    struct msg_str s = {NULL, 0};
    uint32_t n = msg_get_u(r, width);

    if (r->bad || n > r->n - r->off) {
        r->bad = 1;
        return s;
    }
    s.p = (const char *)r->p + r->off;
    s.n = n;
    r->off += n;
    return s;
}

/* A room list into v[0..*np). */
static enum msg_status
msg_get_rooms(struct msg_r *r, struct msg_str *v, size_t *np)
{
    uint32_t cnt = msg_get_u(r, 2);

    if (r->bad)
        return MSG_E_SHORT;
    if (cnt > MSG_MAX_TARGETS)
        return MSG_E_COUNT;
    for (uint32_t i = 0; i < cnt; i++)
        v[i] = msg_get_str(r, 2);
    *np = cnt;
    return r->bad ? MSG_E_SHORT : MSG_OK;
}

/* The body of an EMIT or EMIT_KICK (after the kind byte). */
static enum msg_status
msg_get_emit(struct msg_r *r, uint32_t kind, struct msg_view *v)
{
    uint32_t t = msg_get_u(r, 1), k;
    enum msg_status st;

    if (r->bad)
        return MSG_E_SHORT;
    if (t != MSG_T_ALL && t != MSG_T_ROOMS)
        return MSG_E_KIND;
    v->target = (enum msg_target)t;
    if ((st = msg_get_rooms(r, v->targets, &v->ntargets)) != MSG_OK
        || (st = msg_get_rooms(r, v->except, &v->nexcept)) != MSG_OK)
        return st;
    if ((t == MSG_T_ALL) != (v->ntargets == 0))
        return MSG_E_COUNT;
    v->nsp = msg_get_str(r, 2);
    if (kind == MSG_EMIT_KICK) {
        k = msg_get_u(r, 1);
        if (r->bad)
            return MSG_E_SHORT;
        v->close = (int)k;
        return k > 1 ? MSG_E_COUNT : MSG_OK;
    }
    v->event = msg_get_str(r, 2);
    v->nargs = msg_get_u(r, 2);
    v->data = msg_get_str(r, 4);
    k = msg_get_u(r, 2);
    if (r->bad)
        return MSG_E_SHORT;
    if (k > MSG_ATTACH_MAX || (v->nargs == 0) != (v->data.n == 0))
        return MSG_E_COUNT;
    for (uint32_t i = 0; i < k; i++)
        v->attach[i] = msg_get_str(r, 4);
    v->nattach = k;
    return r->bad ? MSG_E_SHORT : MSG_OK;
}

enum msg_status
msg_decode(const unsigned char *p, size_t n, struct msg_view *v)
{
    struct msg_r r = {p, n, 0, 0};
    uint32_t kind = msg_get_u(&r, 1);

    memset(v, 0, sizeof(*v));
    switch (kind) {
    case MSG_PUBLISH: {
        uint32_t t = msg_get_u(&r, 1), cnt = msg_get_u(&r, 2);
        if (r.bad)
            return MSG_E_SHORT;
        if (t > MSG_T_USER)
            return MSG_E_KIND;
        if (cnt > MSG_MAX_TARGETS || (t == MSG_T_USER && cnt != 1)
            || (t == MSG_T_ROOMS && cnt == 0) || (t == MSG_T_ALL && cnt))
            return MSG_E_COUNT;
        v->target = (enum msg_target)t;
        v->ntargets = cnt;
        for (uint32_t i = 0; i < cnt; i++)
            v->targets[i] = msg_get_str(&r, 2);
        v->event = msg_get_str(&r, 2);
        v->data = msg_get_str(&r, 4);
        break;
    }
    case MSG_DISCONNECT_USER:
        v->user = msg_get_str(&r, 2);
        v->reason = msg_get_str(&r, 2);
        break;
    case MSG_BROADCAST:
        v->data = msg_get_str(&r, 4);
        break;
    case MSG_EMIT:
    case MSG_EMIT_KICK: {
        enum msg_status st = msg_get_emit(&r, kind, v);
        if (st != MSG_OK)
            return st;
        if (v->nsp.n == 0 || v->nsp.n > MSG_NSP_MAX || v->nsp.p[0] != '/')
            return MSG_E_COUNT;
        break;
    }
    default:
        return r.bad ? MSG_E_SHORT : MSG_E_KIND;
    }
    if (r.bad)
        return MSG_E_SHORT;
    if (r.off != n)
        return MSG_E_COUNT;
    v->kind = (enum msg_kind)kind;
    return MSG_OK;
}

int
msg_room_valid(const char *name, size_t len)
{
    struct u8_state st;
    int high = 0;

    if (len == 0 || len > MSG_ROOM_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch < 0x21 || ch == 0x7f)
            return 0;
        high |= ch >= 0x80;
    }
    if (!high)
        return 1;
    u8_reset(&st);
    return u8_feed(&st, (const unsigned char *)name, len) == U8_OK;
}
