/*
 * WebSocket connections: the upgrade, the send path (a frame sent to many
 * connections is built once, ws_batch, and queued by reference; output
 * goes through conn.c's batched flush), compression of what is sent, the
 * close handshake and keepalive pings. The receive path is wsr.c; what
 * the two share, worker/wsi.h. Framing is written here rather than taken
 * from a library because frame-once shared buffers are the product's core
 * (DESIGN §9).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "common/config.h"
#include "common/hh.h"
#include "common/log.h"
#include "common/pmd.h"
#include "common/wsf.h"
#include "common/wsh.h"
#include "worker/conn.h"
#include "worker/http.h"
#include "worker/ws.h"
#include "worker/wsi.h"
#include "worker/wctr.h"

/* Messages shorter than this are sent uncompressed even when
 * permessage-deflate was agreed: deflate only adds bytes to them. */
#define WS_COMPRESS_MIN 64

#define WS_MAX_APPS 8

struct ws_batch {
    unsigned refs;
    int sent;                 /* no appends after the first send */
    unsigned char *plain;     /* frames back to back */
    size_t len, cap;
    size_t n, ncap;
    size_t *poff, *plen;      /* each message's payload in plain */
    unsigned char *pop;       /* each message's opcode */
    size_t payload;           /* payload bytes over all messages */
    unsigned char *z;         /* the same messages, deflated (lazily) */
    size_t zlen;
    size_t zpayload;          /* compressed payload bytes in z */
    uint8_t zbits;            /* largest deflate window used in z */
    uint8_t zfailed;
};

static int ws_on_read(struct conn *c);
static int ws_on_shutdown(struct conn *c);
static void ws_on_free(struct conn *c);
static void ws_on_overflow(struct conn *c);
static void ws_idle_expire(struct conn *c);
static void ws_ping_expire(struct conn *c);
static void ws_msg_expire(struct conn *c);

static const struct conn_proto ws_proto = {
    .name = "websocket",
    .on_read = ws_on_read,
    .on_shutdown = ws_on_shutdown,
    .on_free = ws_on_free,
    .on_overflow = ws_on_overflow,
};

static struct {
    const struct cfg *cfg;
    struct pmd_policy policy;
    uint64_t max_msg;
    struct conn_tq idle_q;  /* quiet for less than ping_interval */
    struct conn_tq ping_q;  /* pinged, waiting for any traffic */
    struct conn_tq msg_q;   /* a frame or message started, not complete */
    const struct ws_app *apps[WS_MAX_APPS]; /* struct ws's app index */
    size_t napps;
} WS;

int
ws_init(const struct cfg *c)
{
    WS.cfg = c;
    WS.max_msg = (uint64_t)CFG_NUM(c, max_message_size);
    wsr_init(WS.max_msg);
    conn_reserve(sizeof(struct ws));
    pmd_policy_init(&WS.policy);
    WS.policy.enabled = (int)CFG_NUM(c, compression);
    WS.idle_q.timeout_ms = CFG_NUM(c, ping_interval);
    WS.idle_q.on_expire = ws_idle_expire;
    WS.idle_q.reason = "idle";
    WS.ping_q.timeout_ms = CFG_NUM(c, ping_timeout);
    WS.ping_q.on_expire = ws_ping_expire;
    WS.ping_q.reason = "ping timeout";
    WS.msg_q.timeout_ms = CFG_NUM(c, message_timeout);
    WS.msg_q.on_expire = ws_msg_expire;
    WS.msg_q.reason = "message not completed within message_timeout";
    return 0;
}

void *
ws_app_state(struct conn *c)
{
    return ((struct ws *)conn_state(c))->app_st;
}

void
ws_set_app_state(struct conn *c, void *st)
{
    ((struct ws *)conn_state(c))->app_st = st;
}

uint32_t *
ws_app_words(struct conn *c)
{
    return ((struct ws *)conn_state(c))->app_w;
}

const struct ws_app *
ws_app_of(const struct ws *w)
{
    return WS.apps[w->app];
}

/* app's index in WS.apps, added on first sight (a few static apps). */
static uint8_t
ws_app_index(const struct ws_app *app)
{
    size_t i;

    for (i = 0; i < WS.napps; i++)
        if (WS.apps[i] == app)
            return (uint8_t)i;
    assert(WS.napps < WS_MAX_APPS);
    WS.apps[WS.napps++] = app;
    return (uint8_t)i;
}

static void
ws_count_close(unsigned code)
{
    if (code == 1000 || code == 1001)
        WCTR_INC(ws_close_normal);
    else if (code >= 3000)
        WCTR_INC(ws_close_app);
    else
        WCTR_INC(ws_close_error);
}

int
ws_send_ctrl(struct conn *c, unsigned op, const unsigned char *p, size_t n)
{
    unsigned char hdr[WSF_MAX_HDR];
    size_t hl = wsf_build_hdr(hdr, op, 1, 0, n);
    struct evbuffer *o = conn_out(c);

    if (o == NULL || evbuffer_add(o, hdr, hl) == -1
        || (n && evbuffer_add(o, p, n) == -1)) {
        conn_close(c, "out of memory queueing a control frame");
        return -1;
    }
    WCTR_INC(ws_frames_out);
    return conn_mark_dirty(c);
}

int
ws_close_frame(struct conn *c, unsigned code, const char *reason)
{
    struct ws *w = conn_state(c);
    unsigned char pl[WSF_MAX_CTRL];
    size_t n;

    if ((w->flags & WS_F_CLOSE_SENT) || conn_closing(c))
        return 0;
    w->flags |= WS_F_CLOSE_SENT;
    n = wsf_close_build(pl, code, (const unsigned char *)reason,
        reason ? strlen(reason) : 0);
    if (code != WSF_CLOSE_NO_STATUS)
        ws_count_close(code);
    if (ws_send_ctrl(c, WSF_OP_CLOSE, pl, n) == -1)
        return -1;
    conn_close_after_flush(c, reason && *reason ? reason : "closed");
    return 0;
}

void
ws_close(struct conn *c, unsigned code, const char *reason)
{
    (void)ws_close_frame(c, code, reason);
}

/* pmd sink: append to an evbuffer. */
static int
ws_sink(void *arg, const unsigned char *p, size_t n)
{
    return evbuffer_add(arg, p, n);
}

/* Compress p into a new evbuffer. Without context takeover (what
 * ws_negotiate always answers) nothing is kept in the connection: the
 * stream lives for this one message; with it, the connection's deflater
 * keeps its stream (about 142 KiB) for as long as the connection. */
static struct evbuffer *
ws_deflate(struct ws *w, const void *p, size_t n)
{
    struct evbuffer *z = evbuffer_new();
    int st;

    if (z == NULL)
        return NULL;
    if (w->pmd.server_no_context_takeover)
        st = pmd_deflate_once(p, n, w->pmd.server_max_window_bits, -1,
            ws_sink, z);
    else if (wsr_x_get(w) != NULL && (w->x->def != NULL
        || (w->x->def = pmd_deflater_new(&w->pmd, -1)) != NULL))
        st = pmd_deflate_message(w->x->def, p, n, ws_sink, z);
    else
        st = PMD_E_NOMEM;
    if (st != PMD_OK) {
        evbuffer_free(z);
        return NULL;
    }
    return z;
}

int
ws_send(struct conn *c, unsigned opcode, const void *p, size_t n)
{
    struct ws *w = conn_state(c);
    struct evbuffer *o = conn_out(c), *z = NULL;
    unsigned char hdr[WSF_MAX_HDR];
    size_t hl;

    if ((w->flags & WS_F_CLOSE_SENT) || conn_closing(c))
        return 0;
    if (o == NULL)
        goto nomem;
    WCTR_INC(ws_messages_out);
    WCTR_ADD(ws_payload_out, n);
    if ((w->flags & WS_F_PMD) && n >= WS_COMPRESS_MIN) {
        z = ws_deflate(w, p, n);
        if (z == NULL) {
            ws_close(c, WSF_CLOSE_INTERNAL, "compression failed");
            return -1;
        }
        size_t zl = evbuffer_get_length(z);
        hl = wsf_build_hdr(hdr, opcode, 1, 1, zl);
        WCTR_ADD(ws_deflated_out, zl);
        if (evbuffer_add(o, hdr, hl) == -1
            || evbuffer_add_buffer(o, z) == -1)
            goto nomem;
        evbuffer_free(z);
    } else {
        hl = wsf_build_hdr(hdr, opcode, 1, 0, n);
        if (evbuffer_add(o, hdr, hl) == -1 || evbuffer_add(o, p, n) == -1)
            goto nomem;
    }
    WCTR_INC(ws_frames_out);
    return conn_mark_dirty(c);
nomem:
    if (z)
        evbuffer_free(z);
    conn_close(c, "out of memory queueing a message");
    return -1;
}

struct ws_batch *
ws_batch_new(void)
{
    struct ws_batch *b = calloc(1, sizeof(*b));

    if (b)
        b->refs = 1;
    return b;
}

static int
ws_batch_grow(unsigned char **buf, size_t *cap, size_t need)
{
    size_t nc = *cap ? *cap : 1024;
    unsigned char *nb;

    if (need <= *cap)
        return 0;
    while (nc < need)
        nc *= 2;
    nb = realloc(*buf, nc);
    if (nb == NULL)
        return -1;
    *buf = nb;
    *cap = nc;
    return 0;
}

int
ws_batch_append(struct ws_batch *b, unsigned opcode, const void *p, size_t n)
{
    unsigned char hdr[WSF_MAX_HDR];
    size_t hl = wsf_build_hdr(hdr, opcode, 1, 0, n);

    assert(!b->sent);
    if (b->n == b->ncap) {
        size_t nc = b->ncap ? b->ncap * 2 : 16;
        size_t *o = realloc(b->poff, nc * sizeof(*o));
        if (o == NULL)
            return -1;
        b->poff = o;
        size_t *l = realloc(b->plen, nc * sizeof(*l));
        if (l == NULL)
            return -1;
        b->plen = l;
        unsigned char *op = realloc(b->pop, nc);
        if (op == NULL)
            return -1;
        b->pop = op;
        b->ncap = nc;
    }
    if (ws_batch_grow(&b->plain, &b->cap, b->len + hl + n) == -1)
        return -1;
    memcpy(b->plain + b->len, hdr, hl);
    memcpy(b->plain + b->len + hl, p, n);
    b->poff[b->n] = b->len + hl;
    b->plen[b->n] = n;
    b->pop[b->n] = (unsigned char)opcode;
    b->n++;
    b->len += hl + n;
    b->payload += n;
    return 0;
}

struct ws_batch *
ws_batch_one(unsigned opcode, const void *p, size_t n)
{
    struct ws_batch *b = ws_batch_new();

    if (b && ws_batch_append(b, opcode, p, n) == -1) {
        ws_batch_unref(b);
        return NULL;
    }
    return b;
}

size_t
ws_batch_count(const struct ws_batch *b)
{
    return b->n;
}

const unsigned char *
ws_batch_msg(const struct ws_batch *b, size_t i, size_t *n)
{
    *n = b->plen[i];
    return b->plain + b->poff[i];
}

unsigned
ws_batch_opcode(const struct ws_batch *b, size_t i)
{
    return b->pop[i];
}

void
ws_batch_unref(struct ws_batch *b)
{
    if (b == NULL || --b->refs > 0)
        return;
    free(b->plain);
    free(b->poff);
    free(b->plen);
    free(b->pop);
    free(b->z);
    free(b);
}

static void
ws_batch_release(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    ws_batch_unref(arg);
}

/* The deflated twin of b: each message compressed on its own without
 * context takeover, in the smallest window that holds it (b->zbits is the
 * largest of them), short ones left plain; built once. */
static int
ws_batch_compress(struct ws_batch *b)
{
    struct evbuffer *z;
    size_t zcap = 0;

    if (b->z || b->zfailed)
        return b->z ? 0 : -1;
    z = evbuffer_new();
    for (size_t i = 0; z && i < b->n; i++) {
        const unsigned char *p = b->plain + b->poff[i];
        unsigned char hdr[WSF_MAX_HDR];
        size_t hl;
        if (b->plen[i] < WS_COMPRESS_MIN) {
            hl = wsf_build_hdr(hdr, b->pop[i], 1, 0, b->plen[i]);
            evbuffer_add(z, hdr, hl);
            evbuffer_add(z, p, b->plen[i]);
            continue;
        }
        struct evbuffer *one = evbuffer_new();
        int bits = pmd_once_window_bits(b->plen[i], 15);
        if (bits > b->zbits)
            b->zbits = (uint8_t)bits;
        if (one == NULL || pmd_deflate_once(p, b->plen[i], 15, -1, ws_sink,
                               one) != PMD_OK) {
            if (one)
                evbuffer_free(one);
            evbuffer_free(z);
            z = NULL;
            break;
        }
        b->zpayload += evbuffer_get_length(one);
        hl = wsf_build_hdr(hdr, b->pop[i], 1, 1, evbuffer_get_length(one));
        evbuffer_add(z, hdr, hl);
        evbuffer_add_buffer(z, one);
        evbuffer_free(one);
    }
    if (z == NULL) {
        b->zfailed = 1;
        return -1;
    }
    b->zlen = evbuffer_get_length(z);
    if (ws_batch_grow(&b->z, &zcap, b->zlen ? b->zlen : 1) == -1) {
        evbuffer_free(z);
        b->zfailed = 1;
        return -1;
    }
    evbuffer_remove(z, b->z, b->zlen);
    evbuffer_free(z);
    return 0;
}

int
ws_send_batch(struct conn *c, struct ws_batch *b)
{
    struct ws *w = conn_state(c);
    struct evbuffer *o;
    const unsigned char *data = b->plain;
    size_t len = b->len;

    if ((w->flags & WS_F_CLOSE_SENT) || conn_closing(c) || b->n == 0)
        return 0;
    b->sent = 1;
    /* A permessage-deflate peer may be sent uncompressed messages (RFC
     * 7692 §6), so only recipients that take the shared deflated form
     * (no context takeover, a window at least as large as the twin's)
     * get it; the others get the plain frames. */
    if ((w->flags & WS_F_PMD) && w->pmd.server_no_context_takeover
        && ws_batch_compress(b) == 0
        && w->pmd.server_max_window_bits >= b->zbits) {
        data = b->z;
        len = b->zlen;
        WCTR_ADD(ws_deflated_out, b->zpayload);
    }
    o = conn_out(c);
    b->refs++;
    if (o == NULL || evbuffer_add_reference(o, data, len, ws_batch_release,
                         b) == -1) {
        b->refs--;
        conn_close(c, "out of memory queueing a batch");
        return -1;
    }
    WCTR_ADD(ws_frames_out, b->n);
    WCTR_ADD(ws_messages_out, b->n);
    WCTR_ADD(ws_payload_out, b->payload);
    return conn_mark_dirty(c);
}

/* Every read refreshes the idle deadline, so a client trickling a frame
 * a byte at a time would never be cut off by it: once a read leaves a
 * frame or a fragmented message unfinished, the connection moves to
 * msg_q, whose deadline (message_timeout) runs from then and is not
 * refreshed by more bytes; it goes back when the message is complete. */
static int
ws_on_read(struct conn *c)
{
    struct ws *w = conn_state(c);
    int own_hb = ws_app_of(w)->own_heartbeat;
    int partial;

    if (!(w->flags & WS_F_CLOSE_SENT) && !own_hb
        && !conn_tq_in(c, &WS.msg_q))
        conn_tq_add(&WS.idle_q, c);
    if (wsr_process(c, w) == -1)
        return -1;
    if (conn_closing(c) || (w->flags & WS_F_CLOSE_SENT))
        return 0;
    partial = (w->x && (w->x->in_frame || w->x->rx.in_msg))
        || evbuffer_get_length(conn_in(c)) > 0;
    if (partial && !conn_tq_in(c, &WS.msg_q))
        conn_tq_add(&WS.msg_q, c);
    else if (!partial && conn_tq_in(c, &WS.msg_q)) {
        if (own_hb)
            conn_tq_del(c);
        else
            conn_tq_add(&WS.idle_q, c);
    }
    return 0;
}

static int
ws_on_shutdown(struct conn *c)
{
    ws_close(c, WSF_CLOSE_GOING_AWAY, "server shutting down");
    return 0;
}

static void
ws_on_overflow(struct conn *c)
{
    struct ws *w = conn_state(c);

    /* Over the bound with our close already queued (it was the bytes
     * that crossed it): no polite end left to wait for. */
    if (w->flags & WS_F_CLOSE_SENT) {
        conn_close(c, "slow consumer");
        return;
    }
    ws_close(c, WSF_CLOSE_POLICY, "slow consumer");
}

static void
ws_on_free(struct conn *c)
{
    struct ws *w = conn_state(c);

    if (ws_app_of(w)->on_close)
        ws_app_of(w)->on_close(c);
    wsr_drop(w);
    conn_st_free(c, w);
    WCTR_DEC(ws_open);
}

static void
ws_idle_expire(struct conn *c)
{
    WCTR_INC(ws_pings_sent);
    conn_tq_add(&WS.ping_q, c);
    (void)ws_send_ctrl(c, WSF_OP_PING, NULL, 0);
}

static void
ws_ping_expire(struct conn *c)
{
    if (conn_peer_unread(c)) {
        /* Its answer is in the socket: this worker was late, not the
         * client. It waits ping_timeout again; the read moves it back. */
        WCTR_INC(ws_ping_unread);
        conn_tq_add(&WS.ping_q, c);
        return;
    }
    WCTR_INC(ws_ping_timeouts);
    ws_close(c, WSF_CLOSE_GOING_AWAY, "ping timeout");
}

static void
ws_msg_expire(struct conn *c)
{
    WCTR_INC(message_timeouts);
    ws_close(c, WSF_CLOSE_POLICY, WS.msg_q.reason);
}

void
ws_tick(int64_t now_ms)
{
    conn_tq_expire(&WS.idle_q, now_ms);
    conn_tq_expire(&WS.ping_q, now_ms);
    conn_tq_expire(&WS.msg_q, now_ms);
}

static void
ws_count_refusal(enum wsh_status s)
{
    switch (s) {
    case WSH_E_METHOD:
        WCTR_INC(hs_bad_method);
        break;
    case WSH_E_VERSION:
        WCTR_INC(hs_bad_version);
        break;
    case WSH_E_KEY:
        WCTR_INC(hs_bad_key);
        break;
    case WSH_E_ORIGIN:
        WCTR_INC(hs_forbidden_origin);
        break;
    default:
        WCTR_INC(hs_bad_request);
        break;
    }
}

/* Join every Sec-WebSocket-Extensions line with ", " and negotiate. */
static int
ws_negotiate(const struct hh_req *r, const struct wsh_result *res,
    struct pmd_params *pp, char *resp, size_t resp_size)
{
    char joined[4096];
    size_t jl = 0;

    if (!WS.policy.enabled || res->extensions == NULL)
        return 0;
    for (size_t i = 0; i < res->extensions_count; i++) {
        size_t vl;
        const char *v = hh_header_nth(r, "Sec-WebSocket-Extensions", i, &vl);
        if (v == NULL || jl + vl + 2 >= sizeof(joined))
            break;
        if (jl) {
            memcpy(joined + jl, ", ", 2);
            jl += 2;
        }
        memcpy(joined + jl, v, vl);
        jl += vl;
    }
    return pmd_negotiate(joined, jl, &WS.policy, pp, resp, resp_size)
        == PMD_OK;
}

int
ws_upgrade(struct conn *c, const struct hh_req *r, size_t head,
    const struct ws_app *app)
{
    struct wsh_result res;
    enum wsh_status s = wsh_check(r, CFG_STR(WS.cfg, allowed_origins), &res);
    char accept[WSH_ACCEPT_SIZE], ext[PMD_RESP_MAX], extra[64];
    struct ws wl = {0}, *w;
    struct evbuffer *o;

    if (s != WSH_OK) {
        ws_count_refusal(s);
        snprintf(extra, sizeof(extra), "%s",
            s == WSH_E_VERSION ? "Sec-WebSocket-Version: 13\r\n"
            : s == WSH_E_METHOD ? "Allow: GET\r\n" : "");
        http_error(c, wsh_status_code(s), wsh_status_code_str(s),
            s == WSH_E_ORIGIN ? "origin not allowed"
            : s == WSH_E_VERSION ? "only WebSocket version 13 is supported"
            : s == WSH_E_KEY ? "bad Sec-WebSocket-Key"
            : s == WSH_E_METHOD ? "WebSocket upgrades use GET"
                                : "not a valid WebSocket upgrade request",
            extra);
        return 0;
    }
    wl.app = ws_app_index(app);
    if (ws_negotiate(r, &res, &wl.pmd, ext, sizeof(ext)))
        wl.flags |= WS_F_PMD;
    wsh_accept(res.key, res.key_len, accept);
    o = conn_out(c);
    if (o == NULL || evbuffer_add_printf(o, "HTTP/1.1 101 Switching "
            "Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: %s\r\n%s%s%s\r\n", accept,
            (wl.flags & WS_F_PMD) ? "Sec-WebSocket-Extensions: " : "",
            (wl.flags & WS_F_PMD) ? ext : "",
            (wl.flags & WS_F_PMD) ? "\r\n" : "") == -1) {
        conn_close(c, "out of memory upgrading");
        return -1;
    }
    /* The HTTP state gives up the connection's room; struct ws takes it
     * (r is not in it: it points into the input). */
    http_release(c);
    if ((w = conn_st_alloc(c, sizeof(*w))) == NULL) {
        conn_close(c, "out of memory upgrading");
        return -1;
    }
    *w = wl;
    conn_set_proto(c, &ws_proto, w);
    if (!app->own_heartbeat)
        conn_tq_add(&WS.idle_q, c);
    WCTR_INC(ws_handshakes);
    WCTR_INC(ws_open);
    conn_event_arm(c);
    if (app->on_open)
        app->on_open(c, r);
    conn_event_connect(c, "WebSocket");
    if (conn_closing(c))
        return 0;
    /* r points into the input: done with it only now. */
    evbuffer_drain(conn_in(c), head);
    if (conn_mark_dirty(c) == -1)
        return -1;
    /* Frames may have arrived right behind the request head. */
    if (evbuffer_get_length(conn_in(c)) > 0)
        return wsr_process(c, w);
    return 0;
}
