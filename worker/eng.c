/*
 * Engine.IO v4 sessions. A session has one live transport: a held poll
 * (HTTP long-polling) or a WebSocket. Packets for a polling session are
 * queued as one 0x1e-separated payload and flushed into the next GET;
 * the upgrade follows the protocol (2probe/3probe on the new WebSocket, a
 * pending poll answered with 6, then 5 from the client), after which the
 * polling transport of that sid is refused; the WebSocket side of it is
 * ews.c's, which shares the session with this file through engi.h. The server pings every
 * ping_interval and closes a session that does not answer within
 * ping_timeout (hbt.c keeps that schedule; what a ping or a timeout does
 * to a session is here). Requests carrying another worker's sid are
 * handed to it (hof.c). The HTTP side (reply shapes, CORS, POST bodies,
 * the late GET of a session its client closed) is eph.c's; packet syntax
 * is common/eio.c's.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "common/config.h"
#include "common/eio.h"
#include "common/fnv.h"
#include "common/hh.h"
#include "common/log.h"
#include "common/wsf.h"
#include "common/wsg.h"
#include "common/wsh.h"
#include "worker/conn.h"
#include "worker/eng.h"
#include "worker/engi.h"
#include "worker/eph.h"
#include "worker/hbt.h"
#include "worker/hof.h"
#include "worker/http.h"
#include "worker/lmt.h"
#include "worker/ws.h"
#include "worker/wctr.h"
#include "worker/wev.h"

#define ENG_HASH 4096 /* buckets (power of two) */
#define ENG_PROBE_POLL_MS 20 /* see eng_poll_get */
#define ENG_PROBE_WAITS 64


static int eng_poll_read(struct conn *c);
static void eng_poll_free(struct conn *c);
static int eng_poll_shutdown(struct conn *c);
static void eng_post_done(struct conn *c, const char *sid,
    const char *origin, size_t len);

static const struct conn_proto eng_poll_proto = {
    .name = "eio-poll",
    .on_read = eng_poll_read,
    .on_shutdown = eng_poll_shutdown,
    .on_free = eng_poll_free,
};

static struct {
    struct event_base *base;
    const struct cfg *cfg;
    unsigned rec;           /* named by the session ids made here */
    int draining, keep;     /* see eng_stop */
    struct eng *tab[ENG_HASH];
    const struct eng_app *apps[4];     /* eng.app indexes it */
    unsigned napps;
    const struct eng_app *pending_app; /* app of the WebSocket being opened */
    const struct ws_app *ws_app;       /* the transport (ews.c) */
    /* The limits' count taken for the session being created (eng_new
     * takes it over; what is left is given back). */
    uint64_t pending_lkey;
    int pending_limited;
    /* Polls that came after 3probe, answered ENG_PROBE_POLL_MS later (see
     * eng_poll_get). */
    struct {
        char sid[EIO_SID_LEN + 1];
        int64_t due;
    } pw[ENG_PROBE_WAITS];
    unsigned npw;
    struct event *pw_ev;
} E;

static const struct hbt_ops eng_hb_ops;
static void eng_probe_poll_cb(evutil_socket_t fd, short what, void *arg);

/* The flags fill the byte after the raw id, and the app state follows
 * the struct 8-byte aligned: an idle WebSocket session is one chunk. */
_Static_assert(sizeof(struct eng) == 72, "struct eng grew");
_Static_assert(sizeof(struct eng) % 8 == 0, "app state alignment");

int
eng_init(struct event_base *base, const struct cfg *c, unsigned rec)
{
    E.base = base;
    E.cfg = c;
    E.rec = rec;
    if ((E.pw_ev = evtimer_new(base, eng_probe_poll_cb, NULL)) == NULL)
        return -1;
    eph_init(c, eng_post_done);
    return hbt_init(base, CFG_NUM(c, ping_interval), CFG_NUM(c,
        ping_timeout), &eng_hb_ops);
}

static unsigned
eng_bucket(const unsigned char raw[EIO_SID_RANDOM])
{
    return fnv1a(raw, EIO_SID_RANDOM) & (ENG_HASH - 1);
}

static struct eng *
eng_find(const char *sid, size_t n)
{
    unsigned char raw[EIO_SID_RANDOM];

    if (eio_sid_parse(sid, n, raw) == -1)
        return NULL;
    for (struct eng *s = E.tab[eng_bucket(raw)]; s; s = s->hnext)
        if (memcmp(s->sid, raw, sizeof(raw)) == 0)
            return s;
    return NULL;
}

/* The index of app in E.apps (added on first sight). */
static unsigned
eng_app_index(const struct eng_app *app)
{
    for (unsigned i = 0; i < E.napps; i++)
        if (E.apps[i] == app)
            return i;
    if (E.napps == sizeof(E.apps) / sizeof(E.apps[0]))
        abort(); /* more applications than eng.app can name */
    E.apps[E.napps] = app;
    return E.napps++;
}

const struct eng_app *
eng_app_of(const struct eng *s)
{
    return E.apps[s->app];
}

/* The key s is counted under in the limits: kept in its side state, or
 * that of its WebSocket's address (a session made by a WebSocket, whose
 * key is that address's, has no side state to keep it in). */
static uint64_t
eng_lkey(const struct eng *s)
{
    unsigned char ip[16];

    if (s->x)
        return s->x->lkey;
    return s->ws ? lmt_ip_key(ip, conn_peer_ip(s->ws, ip)) : 0;
}

void
eng_limit_release(struct eng *s)
{
    if (s->limited) {
        s->limited = 0;
        lmt_conn_end(eng_lkey(s));
    }
}

/* A new side state with origin[0..olen) and the key s is counted under. */
static struct eng_side *
eng_side_new(struct eng *s, const char *origin, size_t olen)
{
    struct eng_side *x = calloc(1, sizeof(*x) + olen + 1);

    if (x == NULL)
        return NULL;
    if (olen)
        memcpy(x->origin, origin, olen);
    x->lkey = eng_lkey(s);
    return x;
}

struct eng_side *
eng_side(struct eng *s)
{
    if (s->x == NULL)
        s->x = eng_side_new(s, NULL, 0);
    return s->x;
}

void
eng_side_trim(struct eng *s)
{
    struct eng_side *x = s->x;
    unsigned char ip[16];

    if (x == NULL || x->probe || x->poll || x->origin[0]
        || (x->pq && evbuffer_get_length(x->pq) > 0) || s->ws == NULL
        || (s->limited && lmt_ip_key(ip, conn_peer_ip(s->ws, ip)) != x->lkey))
        return;
    if (x->pq)
        evbuffer_free(x->pq);
    free(x);
    s->x = NULL;
}

static void eng_hb_timeout(struct hbt_node *n);

/* eng_find for a client's request: a session whose pong is overdue ends
 * now (ping timeout) rather than when the heartbeat timer next runs, so
 * a request sent after ping_interval + ping_timeout of silence gets "no
 * such session" however late that timer is. */
struct eng *
eng_find_live(const char *sid, size_t n)
{
    struct eng *s = eng_find(sid, n);

    if (s && hbt_expire_if_late(&s->hb))
        return NULL;
    return s;
}

void *
eng_app_state(struct eng *s)
{
    return s + 1;
}

struct eng *
eng_of_state(void *st)
{
    return (struct eng *)st - 1;
}

const char *
eng_sid(const struct eng *s, char buf[EIO_SID_LEN + 1])
{
    eio_sid_format(buf, s->sid);
    return buf;
}

int
eng_on_websocket(const struct eng *s)
{
    return s->ws != NULL;
}

const char *
eng_origin(const struct eng *s)
{
    return s->x && s->x->origin[0] ? s->x->origin : NULL;
}

const char *
eng_peer(const struct eng *s)
{
    const struct conn *c = s->ws ? s->ws : s->x ? s->x->poll : NULL;

    return c ? conn_peer(c) : NULL;
}

struct eng *
eng_by_sid(const char *sid)
{
    struct eng *s = eng_find(sid, strlen(sid));

    return s && !s->closing ? s : NULL;
}

/* Answer the held poll with whatever is queued (or noop). */
static void
eng_flush_poll(struct eng *s, int force_noop)
{
    struct eng_side *x = s->x;
    struct conn *c = x ? x->poll : NULL;
    size_t n = c && x->pq ? evbuffer_get_length(x->pq) : 0;

    if (c == NULL || (n == 0 && !force_noop))
        return;
    x->poll = NULL;
    conn_set_proto(c, &eng_poll_proto, NULL);
    if (n == 0) {
        eph_reply(c, eng_origin(s), "6", 1);
        return;
    }
    eph_reply(c, eng_origin(s), evbuffer_pullup(x->pq, -1), n);
    evbuffer_drain(x->pq, n);
}

/* Queue one packet for the polling transport. */
static int
eng_queue(struct eng *s, char type, int binary, const void *p, size_t n)
{
    struct eng_side *x = eng_side(s);

    if (x == NULL || (x->pq == NULL && (x->pq = evbuffer_new()) == NULL))
        return -1;
    if (evbuffer_get_length(x->pq) > (size_t)CFG_NUM(E.cfg,
            max_outbound_buffer)) {
        WCTR_INC(slow_consumer_closes);
        hbt_doom(&s->hb); /* its close ("slow consumer") is the event */ /* not now: we may be inside a fan-out loop */
        return -1;
    }
    if (evbuffer_get_length(x->pq) > 0)
        evbuffer_add(x->pq, "\x1e", 1);
    if (binary) {
        size_t bl = eio_b64_len(n);
        struct evbuffer_iovec v;
        evbuffer_add(x->pq, "b", 1);
        if (evbuffer_reserve_space(x->pq, (ev_ssize_t)bl + 1, &v, 1) < 1)
            return -1;
        v.iov_len = eio_b64_encode(v.iov_base, bl + 1, p, n);
        evbuffer_commit_space(x->pq, &v, 1);
    } else {
        evbuffer_add(x->pq, &type, 1);
        if (n)
            evbuffer_add(x->pq, p, n);
    }
    eng_flush_poll(s, 0);
    return 0;
}

/* Send a packet of type on whichever transport is live. */
static int
eng_packet(struct eng *s, char type, int binary, const void *p, size_t n)
{
    if (s->closing || hbt_doomed(&s->hb))
        return -1;
    WCTR_INC(eio_packets_out);
    if (s->ws) {
        if (binary)
            return ws_send(s->ws, WSF_OP_BINARY, p, n);
        char stack[512], *buf = n + 1 <= sizeof(stack) ? stack
            : malloc(n + 1);
        int rc;
        if (buf == NULL)
            return -1;
        buf[0] = type;
        if (n)
            memcpy(buf + 1, p, n);
        rc = ws_send(s->ws, WSF_OP_TEXT, buf, n + 1);
        if (buf != stack)
            free(buf);
        return rc;
    }
    return eng_queue(s, type, binary, p, n);
}

int
eng_send(struct eng *s, int binary, const void *p, size_t n)
{
    return eng_packet(s, '4', binary, p, n);
}

int
eng_send_batch(struct eng *s, struct ws_batch *b)
{
    size_t cnt = ws_batch_count(b);

    if (s->closing || hbt_doomed(&s->hb))
        return -1;
    WCTR_ADD(eio_packets_out, cnt);
    if (s->ws)
        return ws_send_batch(s->ws, b);
    for (size_t i = 0; i < cnt; i++) {
        size_t n;
        const unsigned char *p = ws_batch_msg(b, i, &n);
        /* a binary message (an attachment) goes as is, as "b<base64>" */
        if (ws_batch_opcode(b, i) == WSF_OP_BINARY) {
            if (eng_queue(s, 0, 1, p, n) == -1)
                return -1;
        } else if (n && eng_queue(s, (char)p[0], 0, p + 1, n - 1) == -1) {
            return -1;
        }
    }
    return 0;
}

/* Start a heartbeat cycle (a new session, or a pong): wait
 * ping_interval, then ping. */
static void
eng_hb_arm(struct eng *s)
{
    if (!s->closing)
        hbt_start(&s->hb);
}

#define ENG_OF(n) HBT_ENTRY(n, struct eng, hb)

/* The heartbeat's events (hbt.c), and what they mean for a session. */
static int
eng_hb_ready(const struct hbt_node *n)
{
    const struct eng *s = HBT_ENTRY(n, const struct eng, hb);

    return s->ws != NULL || (s->polling && s->x && s->x->poll != NULL);
}

static void
eng_hb_ping(struct hbt_node *n)
{
    eng_packet(ENG_OF(n), '2', 0, NULL, 0); /* may doom or close it */
}

static void
eng_hb_timeout(struct hbt_node *n)
{
    WCTR_INC(eio_ping_timeouts);
    eng_close(ENG_OF(n), "ping timeout");
}

/* The WebSocket's pong may be in its socket, unread: see hbt.h. */
static int
eng_hb_unread(const struct hbt_node *n)
{
    const struct eng *s = HBT_ENTRY(n, const struct eng, hb);

    if (s->ws == NULL || !conn_peer_unread(s->ws))
        return 0;
    WCTR_INC(eio_ping_unread);
    return 1;
}

static void
eng_hb_doom(struct hbt_node *n)
{
    eng_close(ENG_OF(n), "slow consumer");
}

static const struct hbt_ops eng_hb_ops = {
    .ready = eng_hb_ready,
    .ping = eng_hb_ping,
    .timeout = eng_hb_timeout,
    .unread = eng_hb_unread,
    .doom = eng_hb_doom,
};

struct eng *
eng_new(const struct eng_app *app, int polling, const char *origin,
    size_t olen)
{
    struct eng *s = calloc(1, sizeof(*s) + app->state_size);
    unsigned char rnd[EIO_SID_RANDOM];
    unsigned b;

    if (s == NULL)
        return NULL;
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        free(s);
        return NULL;
    }
    eio_sid_make(s->sid, E.rec, rnd);
    s->app = eng_app_index(app) & 3;
    s->polling = polling != 0;
    if (E.pending_limited) {
        s->limited = 1;
        E.pending_limited = 0;
    }
    /* The key is kept aside only where no WebSocket of the session's own
     * address names it (polling); a session made by a WebSocket finds it
     * again from that connection's address (eng_lkey). */
    if ((polling || (origin && olen))
        && (s->x = eng_side_new(s, origin, origin ? olen : 0)) == NULL) {
        if (s->limited)
            lmt_conn_end(E.pending_lkey);
        free(s);
        return NULL;
    }
    if (s->x)
        s->x->lkey = s->limited ? E.pending_lkey : 0;
    b = eng_bucket(s->sid);
    s->hnext = E.tab[b];
    E.tab[b] = s;
    WCTR_INC(eio_sessions);
    WCTR_INC(eio_open);
    if (s->polling)
        WCTR_INC(eio_polling);
    eng_hb_arm(s);
    return s;
}

void
eng_close(struct eng *s, const char *reason)
{
    struct eng **pp;
    struct eng_side *x;
    char sid[EIO_SID_LEN + 1];

    if (s->closing)
        return;
    s->closing = 1;
    if (eng_app_of(s)->on_close)
        eng_app_of(s)->on_close(s, reason);
    for (pp = &E.tab[eng_bucket(s->sid)]; *pp; pp = &(*pp)->hnext)
        if (*pp == s) {
            *pp = s->hnext;
            break;
        }
    WCTR_DEC(eio_open);
    if (s->polling)
        WCTR_DEC(eio_polling);
    eng_sid(s, sid);
    if ((s->polling || s->upgraded) && wev_on()) {
        /* It began on polling and logged its connect (a session that
         * began on a WebSocket is that connection's events). */
        char what[160];
        snprintf(what, sizeof(what), "polling session %s: %s", sid,
            reason ? reason : "closed");
        wev_add(evq_close_kind(reason), 0, NULL, what);
    }
    eng_limit_release(s);
    hbt_stop(&s->hb);
    x = s->x;
    if (x && x->poll) {
        /* Like the reference server: a close the client asked for ends
         * the pending poll with a noop, one the server decided with a
         * close packet. */
        struct conn *c = x->poll;
        x->poll = NULL;
        conn_set_proto(c, &eng_poll_proto, NULL);
        eph_reply(c, eng_origin(s), s->peer_closed ? "6" : "1", 1);
    } else if (s->peer_closed && s->polling) {
        eph_closed_note(sid);
    }
    if (s->ws) {
        ws_set_app_state(s->ws, NULL);
        ws_close(s->ws, WSF_CLOSE_NORMAL, reason);
    }
    if (x && x->probe) {
        ws_set_app_state(x->probe, NULL);
        ws_close(x->probe, WSF_CLOSE_NORMAL, reason);
    }
    if (x && x->pq)
        evbuffer_free(x->pq);
    free(x);
    free(s);
}

void
eng_on_packet(struct eng *s, int type, int binary, const unsigned char *p,
    size_t n)
{
    WCTR_INC(eio_packets_in);
    switch (type) {
    case EIO_PONG:
        eng_hb_arm(s);
        break;
    case EIO_MESSAGE:
        eng_app_of(s)->on_message(s, binary, p, n);
        break;
    case EIO_CLOSE:
        s->peer_closed = 1;
        eng_close(s, "transport close");
        break;
    case EIO_PING: /* a v3 client would ping; v4 servers ignore it */
    case EIO_NOOP:
        break;
    default:
        eng_close(s, "parse error");
        break;
    }
}

static int
eng_origin_ok(const struct hh_req *r, const char **origin, size_t *olen)
{
    *origin = hh_header(r, "Origin", olen);
    return *origin == NULL
        || wsh_origin_allowed(CFG_STR(E.cfg, allowed_origins), *origin, *olen);
}

/* GET without sid on polling: the handshake. */
static void
eng_handshake_poll(struct conn *c, const struct hh_req *r,
    const struct eng_app *app, const char *origin, size_t olen)
{
    char open[256], sid[EIO_SID_LEN + 1];
    struct eng *s = eng_new(app, 1, origin, olen);
    struct evbuffer *pq;
    size_t n;

    if (s == NULL) {
        http_error(c, 503, "OVERLOADED", "cannot create a session", NULL);
        return;
    }
    if (wev_on()) {
        char what[64];
        snprintf(what, sizeof(what), "polling session %s", eng_sid(s, sid));
        wev_add(EVQ_CONNECT, 0, conn_peer(c), what);
    }
    n = eio_open_json(open + 1, sizeof(open) - 1, eng_sid(s, sid), 1,
        (long)CFG_NUM(E.cfg, ping_interval), (long)CFG_NUM(E.cfg,
            ping_timeout), (long)CFG_NUM(E.cfg, max_payload));
    open[0] = '0';
    if (app->on_open(s, r) == -1) {
        eng_close(s, "refused");
        eph_error(c, 403, EIO_ERR_FORBIDDEN);
        return;
    }
    /* The open packet goes first; anything the app queued follows. */
    pq = s->x ? s->x->pq : NULL;
    if (pq && evbuffer_get_length(pq) > 0) {
        evbuffer_prepend(pq, "\x1e", 1);
        evbuffer_prepend(pq, open, n + 1);
        eph_reply(c, eng_origin(s), evbuffer_pullup(pq, -1),
            evbuffer_get_length(pq));
        evbuffer_drain(pq, evbuffer_get_length(pq));
    } else {
        eph_reply(c, eng_origin(s), open, n + 1);
    }
}

/* A GET for s; its head is `head` bytes of c's input (consumed here). */
static void
eng_poll_get(struct conn *c, struct eng *s, size_t head)
{
    struct eng_side *x = eng_side(s);

    if (x == NULL) {
        http_error(c, 503, "OVERLOADED", "out of memory", NULL);
        return;
    }
    if (x->poll) {
        /* A second concurrent poll is a protocol error: both end. */
        eph_error(c, 400, EIO_ERR_BAD_REQUEST);
        eng_close(s, "multiple polls");
        return;
    }
    evbuffer_drain(conn_in(c), head);
    http_release(c);
    conn_set_proto(c, &eng_poll_proto, s);
    x->poll = c;
    if (s->probed)
        eng_probe_poll(s);
    else
        eng_flush_poll(s, 0);
}

/* During an upgrade (2probe received) the client sends 5 only once its
 * last poll is back, so a held poll is either that one, which must get its
 * noop soon, or one the client sent after 5, whose 5 is still in flight on
 * the WebSocket (the public suites do that). Answering the held poll
 * ENG_PROBE_POLL_MS later tells them apart: the upgrade answers the
 * second kind 400, like any poll after an upgrade (eng_upgrade). */
void
eng_probe_poll(struct eng *s)
{
    if (s->x == NULL || s->x->poll == NULL)
        return;
    if (E.npw == ENG_PROBE_WAITS) {
        eng_flush_poll(s, 1);
        return;
    }
    eng_sid(s, E.pw[E.npw].sid);
    E.pw[E.npw].due = wsg_mono_ms() + ENG_PROBE_POLL_MS;
    if (E.npw++ == 0) {
        struct timeval tv = {0, ENG_PROBE_POLL_MS * 1000};
        evtimer_add(E.pw_ev, &tv);
    }
}

static void
eng_probe_poll_cb(evutil_socket_t fd, short what, void *arg)
{
    int64_t now = wsg_mono_ms();
    unsigned keep = 0;

    (void)fd;
    (void)what;
    (void)arg;
    for (unsigned i = 0; i < E.npw; i++) {
        struct eng *s;
        if (E.pw[i].due > now) {
            E.pw[keep++] = E.pw[i];
            continue;
        }
        s = eng_find(E.pw[i].sid, EIO_SID_LEN);
        if (s && s->x && s->x->poll && s->polling && !s->closing)
            eng_flush_poll(s, 1);
    }
    E.npw = keep;
    if (keep) {
        int64_t ms = E.pw[0].due > now ? E.pw[0].due - now : 0;
        struct timeval tv = {0, (suseconds_t)(ms * 1000)};
        evtimer_add(E.pw_ev, &tv);
    }
}

/* The body of a POST is complete at the head of the input: act on its
 * packets. Returns 0, or -1 for a malformed body (s is closed then). */
static int
eng_post_body(struct eng *s, const char *p, size_t n)
{
    size_t off = 0;
    struct eio_packet pk;
    unsigned char *bin = NULL;
    char sid[EIO_SID_LEN + 1];

    eng_sid(s, sid);
    for (;;) {
        int st = eio_payload_next(p, n, &off, &pk);
        if (st == EIO_DONE)
            break;
        if (st != EIO_OK) {
            eng_close(s, "parse error");
            return -1;
        }
        if (pk.is_binary) {
            size_t bl;
            free(bin);
            bin = malloc(pk.len + 1);
            if (bin == NULL || eio_b64_decode(pk.data, pk.len, bin, pk.len + 1,
                    &bl) != EIO_OK) {
                free(bin);
                eng_close(s, "parse error");
                return -1;
            }
            eng_on_packet(s, EIO_MESSAGE, 1, bin, bl);
        } else {
            eng_on_packet(s, pk.type, 0, (const unsigned char *)pk.data,
                pk.len);
        }
        /* The app may have closed (and freed) the session. */
        if (eng_find(sid, EIO_SID_LEN) != s)
            break;
    }
    free(bin);
    return 0;
}

/* A POST's body is complete (eph.c): act on its packets and answer. */
static void
eng_post_done(struct conn *c, const char *sid, const char *origin,
    size_t len)
{
    struct evbuffer *in = conn_in(c);
    struct eng *s = eng_find(sid, EIO_SID_LEN);

    if (s == NULL || s->upgraded || !s->polling) {
        eph_error(c, 400, s ? EIO_ERR_BAD_REQUEST : EIO_ERR_SID);
    } else {
        int rc = eng_post_body(s, (const char *)evbuffer_pullup(in,
            (ssize_t)len), len);
        /* The body is consumed before the reply, so that the connection
         * can be kept for the next request. */
        evbuffer_drain(in, len);
        if (rc == 0)
            eph_reply(c, origin, "ok", 2);
        else
            eph_error(c, 400, EIO_ERR_BAD_REQUEST);
    }
}

static int
eng_poll_read(struct conn *c)
{
    /* Nothing is expected on a held poll; bytes are a pipelined request,
     * which this server does not do: drop them. */
    evbuffer_drain(conn_in(c), evbuffer_get_length(conn_in(c)));
    return 0;
}

static void
eng_poll_free(struct conn *c)
{
    struct eng *s = conn_state(c);

    if (s && s->x && s->x->poll == c)
        s->x->poll = NULL;
}

void
eng_stop(int keep)
{
    E.draining = 1;
    E.keep = keep;
}

static int
eng_poll_shutdown(struct conn *c)
{
    if (E.keep)
        return 1;
    conn_close(c, "server shutting down");
    return 0;
}

/* A request that opens a session (the handshake GET, or a WebSocket
 * without sid): count it for max_connections, max_connections_per_ip and
 * handshake_rate_per_ip. A session counts once however many requests and
 * workers serve it. Returns 0, or -1 after answering c with the refusal. */
static int
eng_limit_begin(struct conn *c)
{
    unsigned char ip[16];
    size_t n = conn_peer_ip(c, ip);
    struct lmt_refusal why;

    if (lmt_conn_begin(ip, n, &E.pending_lkey, &why) == -1) {
        http_error(c, why.status, why.code, why.msg, why.status == 429
            ? "Retry-After: 1\r\n" : NULL);
        return -1;
    }
    E.pending_limited = 1;
    return 0;
}

/* Give back a count eng_limit_begin took for a session never made. */
static void
eng_limit_end_pending(void)
{
    if (E.pending_limited) {
        E.pending_limited = 0;
        lmt_conn_end(E.pending_lkey);
    }
}

void
eng_request(struct conn *c, const struct hh_req *r, size_t head,
    const struct eng_app *app)
{
    size_t el = 0, tl = 0, sl = 0, olen = 0;
    const char *eio = hh_query_param(r, "EIO", &el);
    const char *tr = hh_query_param(r, "transport", &tl);
    const char *sid = hh_query_param(r, "sid", &sl);
    const char *origin;
    int polling = 0, st;
    unsigned slot;
    struct eng *s = NULL;

    WCTR_INC(eio_requests);
    st = eio_check_query(eio, el, tr, tl, &polling);
    if (st != EIO_OK) {
        eph_error(c, 400, st == EIO_E_PROTOCOL
            ? EIO_ERR_PROTOCOL : EIO_ERR_TRANSPORT);
        return;
    }
    if (!eng_origin_ok(r, &origin, &olen)) {
        eph_error(c, 403, EIO_ERR_FORBIDDEN);
        return;
    }
    if (polling && r->method_len == 7 && memcmp(r->method, "OPTIONS", 7)
        == 0) {
        eph_preflight(c, origin, olen);
        return;
    }
    if (sid) {
        if (eio_sid_slot(sid, sl, &slot) != 0) {
            eph_error(c, 400, EIO_ERR_SID);
            return;
        }
        if (slot != E.rec) {
            /* Its worker is gone (crash, or drained after a reload):
             * the session is unknown, as on a miss here. */
            if (!hof_rec_alive(slot))
                eph_error(c, 400, EIO_ERR_SID);
            else
                hof_forward_rec(c, slot);
            return;
        }
        s = eng_find_live(sid, sl);
        if (s == NULL && polling && r->method_len == 3
            && memcmp(r->method, "GET", 3) == 0
            && eph_late_poll(c, sid, sl, origin, olen))
            return;
        if (s == NULL) {
            eph_error(c, 400, EIO_ERR_SID);
            return;
        }
    }
    if (!polling && s && E.draining) {
        /* No upgrade on a worker that is going: the probe fails and the
         * client stays on polling until it ends the session. */
        eph_error(c, 400, EIO_ERR_BAD_REQUEST);
        return;
    }
    if (!polling && !hh_header_has_token(r, "Upgrade", "websocket")) {
        /* transport=websocket on a plain request: the reference server's
         * "Bad request" (code 3), not the WebSocket handshake's error. */
        eph_error(c, 400, EIO_ERR_BAD_REQUEST);
        return;
    }
    if (!polling) {
        /* A WebSocket for a session that cannot take one (already
         * upgraded, or probing) is accepted and closed at once, as the
         * reference server does; eng_ws_open sees to it. */
        if (s == NULL && eng_limit_begin(c) == -1)
            return;
        E.pending_app = app;
        (void)ws_upgrade(c, r, head, E.ws_app);
        E.pending_app = NULL;
        eng_limit_end_pending();
        return;
    }
    if (s && (s->upgraded || !s->polling)) {
        eph_error(c, 400, EIO_ERR_BAD_REQUEST);
        return;
    }
    if (r->method_len == 3 && memcmp(r->method, "GET", 3) == 0) {
        char *o = origin ? strndup(origin, olen) : NULL;
        if (s == NULL) {
            if (eng_limit_begin(c) == 0) {
                eng_handshake_poll(c, r, app, o, o ? olen : 0);
                eng_limit_end_pending();
            }
        } else
            eng_poll_get(c, s, head);
        free(o);
        return;
    }
    if (s && r->method_len == 4 && memcmp(r->method, "POST", 4) == 0) {
        char sb[EIO_SID_LEN + 1];
        if (eph_post(c, r, head, eng_sid(s, sb), origin, olen) == -1)
            eng_close(s, "payload too large");
        return;
    }
    eph_error(c, 400, s ? EIO_ERR_BAD_REQUEST : EIO_ERR_METHOD);
}

void
eng_set_ws_app(const struct ws_app *app)
{
    E.ws_app = app;
}

const struct cfg *
eng_cfg(void)
{
    return E.cfg;
}

const struct eng_app *
eng_pending_app(void)
{
    return E.pending_app;
}

void
eng_poll_refuse(struct conn *c)
{
    conn_set_proto(c, &eng_poll_proto, NULL);
    eph_error(c, 400, EIO_ERR_BAD_REQUEST);
}
