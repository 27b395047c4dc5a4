/*
 * wsbench subscriber process: opens its share of the WebSocket connections
 * (connect, upgrade with a bearer token, subscribe, wait for the ack),
 * reports the ramp-up, then reads events until the parent sends the final
 * sequence numbers, and reports deliveries, latency, losses and duplicates.
 * Latency is the publisher's CLOCK_MONOTONIC reading before its send (the
 * "t" of the data) to this process's after its recv, and, beside it, to
 * the kernel's receive time of the bytes (SO_TIMESTAMPNS; plain sockets),
 * which leaves out how long this process took to get to the socket; the
 * parent merges the histograms bucket by bucket. A read that holds several
 * messages stamps them all with its last byte's time (a little late for
 * the first). One event loop, one shared 256 KiB read buffer: frames are
 * parsed in place and only an incomplete tail is kept per connection.
 * Nothing is allocated per message.
 *
 * Three protocols (--proto):
 *  ws     wsgate /ws: Authorization: Bearer on the upgrade,
 *         {"type":"subscribe",...} -> {"type":"ack",...,"ok":true},
 *         events {"type":"event","room":..,"data":{"t","s","r"},...}.
 *  sio    Socket.IO v5 / Engine.IO v4, WebSocket transport only: wait for
 *         the open packet 0{...}, CONNECT with auth 40{"token":".."},
 *         expect 40{"sid":..}, subscribe with an ack 420["subscribe","R"],
 *         expect 430[{"ok":true,..}], answer pings 2 with 3; events
 *         42["e",{"t","s","r"}(,"offset")]. No Authorization header: the
 *         token travels in the CONNECT packet only.
 *  nchan  nchan's websocket subscriber: GET <path prefix>bench:<room>, no
 *         auth, no subscribe message; ready at the 101; every text frame is
 *         a published body {"t","s","r"}.
 * With o->hb (sio only) every Engine.IO packet that matters to the
 * heartbeat, and how the server ended the session, also goes to wsb_hb.c;
 * the sessions it calls silent never answer an Engine.IO ping.
 * With o->recover (sio only, --scenario recover) each session keeps the
 * sid and pid of its CONNECT reply and the offset of its last event (the
 * event's last argument). From GO on, a ready session whose transport goes
 * away (its worker was killed; or, on WSB_MSG_CLOSE, closed by this side)
 * reconnects after 0..--rec-jitter s (on WSB_MSG_CLOSE: at
 * WSB_MSG_RECONNECT) with CONNECT 40{"token","pid","offset"}, as
 * socket.io-client does, and counts the reply: recovered (the old sid and
 * pid: the rooms are back, no subscribe), fresh (a new pid: it subscribes
 * again, and what it missed counts as lost), mismatch or failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "common/wsf.h"
#include "common/wsh.h"
#include "wsb.h"

#define RBUF_SIZE (256 * 1024)
#define MAX_FRAME (128 * 1024) /* larger server frames end the connection */
#define MAX_HEAD 8192
#define MAX_NOTES 5            /* failure lines printed per process */
#define TICK_NS 20000000       /* the timeout and ramp-up tick */
#define SCAN_NS 250000000      /* connection timeouts and the drain's
                                  caught-up check: at most this often, as
                                  both walk every connection (at 18,000 a
                                  process and 56 processes, a walk every
                                  tick took more CPU than 2 cores have) */

/* C_EIO and C_CONN are Socket.IO's: waiting for the Engine.IO open
 * packet, then for the CONNECT answer. Timeouts cover C_CONNECTING..C_SUB. */
enum cstate { C_IDLE, C_CONNECTING, C_TLS, C_HS, C_EIO, C_CONN, C_SUB, C_READY,
              C_DONE };

struct wconn {
    int fd;
    SSL *ssl;            /* --tls-ca */
    uint8_t state;       /* enum cstate */
    uint8_t member;      /* reached the ack during ramp-up */
    uint8_t churn;       /* this attempt is a churn reconnection */
    uint8_t silent;      /* heartbeat: never answers an Engine.IO ping */
    short evflags;       /* what ev waits for */
    uint32_t idx, room;
    uint32_t plen, pcap; /* incomplete input carried to the next read */
    uint32_t olen, ocap; /* output the socket did not take */
    char *pbuf, *obuf;
    struct event *ev;
    uint64_t last;       /* last sequence number seen */
    uint64_t gaps;       /* messages skipped over */
    uint64_t t_start;    /* this attempt started, ns */
    char accept[WSH_ACCEPT_SIZE];
    /* recover */
    uint8_t rec;         /* enum rstate */
    uint8_t recovered;   /* the last attempt recovered the session */
    uint64_t dups;       /* repeated or regressed sequence numbers */
    uint64_t off;        /* offset of the last event (its last argument) */
    uint64_t t_lost, t_rec; /* transport loss seen; recovered reply */
    char sid[24], pid[24];  /* of the CONNECT reply */
};

/* Recovery state of a session (o->recover). */
enum rstate { R_NONE, R_AWAY, R_TRYING, R_DONE };

enum phase { P_RAMP, P_RUN, P_DRAIN };

static struct {
    const struct wsb_opts *o;
    struct event_base *base;
    SSL_CTX *tls;                 /* --tls-ca */
    struct wsb_shared *sh;
    struct wconn *c;
    unsigned n, lo;
    unsigned next;       /* next connection the ramp-up starts */
    unsigned inprog;     /* attempts between connect and ack */
    unsigned settled;    /* ramp-up attempts that ended */
    enum phase phase;
    int ctl;
    struct event *ctl_ev, *tick;
    char *cbuf;          /* control input */
    size_t clen, ccap;
    unsigned char *rbuf;
    struct sockaddr_in dst[WSB_MAX_NODES]; /* o->url_nodes */
    uint64_t win_start, win_end, drain_end, last_tick, last_scan, last_drain;
    uint64_t *fin;       /* last[rooms], last_ok[rooms], failed[rooms] */
    double churn_quota;
    unsigned churn_cursor;
    uint64_t unflushed;  /* deliveries not yet added to sh->delivered */
    uint64_t rng;
    unsigned notes;
    int status;
    struct wsb_sub_result r;
    uint64_t hb_now;     /* heartbeat: this read's arrival, 0 outside */
    uint64_t kt;         /* this read's kernel receive time, 0: none */
    int64_t rt_off;      /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
    int rec_armed;       /* recover: lost transports reconnect (after GO) */
    int rec_hold;        /* recover: closed on purpose, wait for RECONNECT */
    uint64_t rec_ref;    /* recover: the kill or the close, monotonic ns */
} S;

static void conn_cb(evutil_socket_t fd, short what, void *arg);

static void
note(const char *fmt, ...)
{
    va_list ap;

    if (S.notes++ >= MAX_NOTES)
        return;
    va_start(ap, fmt);
    fprintf(stderr, "wsbench[%d]: ", (int)getpid());
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static uint64_t
rnd(void)
{
    S.rng ^= S.rng << 13;
    S.rng ^= S.rng >> 7;
    S.rng ^= S.rng << 17;
    return S.rng;
}

static void
conn_watch(struct wconn *c, short flags)
{
    if (c->evflags == flags)
        return;
    event_del(c->ev);
    event_assign(c->ev, S.base, c->fd, (short)(flags | EV_PERSIST), conn_cb,
                 c);
    event_add(c->ev, NULL);
    c->evflags = flags;
}

static void
conn_drop(struct wconn *c)
{
    SSL_free(c->ssl);
    c->ssl = NULL;
    if (c->ev)
        event_free(c->ev);
    c->ev = NULL;
    if (c->fd != -1)
        close(c->fd);
    c->fd = -1;
    c->plen = c->olen = 0;
    c->state = C_DONE;
}

/* An attempt ended before or at the ack: ok says which. */
static void rec_finish(struct wconn *c, uint64_t *counter, uint64_t now);

static void
conn_settle(struct wconn *c, int ok, uint64_t now)
{
    if (c->rec != R_NONE) {
        /* A reconnect: its outcome was counted at the CONNECT reply
         * unless it never got one. */
        if (c->rec == R_TRYING)
            rec_finish(c, ok ? &S.r.rec_fresh : &S.r.rec_failed, now);
        if (ok && S.o->rec_baseline)
            c->t_rec = now; /* baseline: ready again at the ack */
        return;
    }
    S.inprog--;
    if (c->churn) {
        if (ok)
            S.r.churn_ok++;
        else
            S.r.churn_failed++;
        return;
    }
    S.settled++;
    if (ok) {
        S.r.connected++;
        S.r.t_last = now;
        c->member = 1;
        atomic_fetch_add_explicit(&S.sh->members[c->room], 1,
                                  memory_order_relaxed);
    } else {
        S.r.failed++;
    }
}

/* Heartbeat: how the server ended c (the first report counts). */
static void
hb_close(struct wconn *c, enum wsb_hb_how how, unsigned code,
         const unsigned char *reason, size_t rlen)
{
    if (S.o->hb)
        wsb_hb_close((unsigned)(c - S.c), how, code, reason, rlen,
                     S.hb_now ? S.hb_now : wsb_now());
}

static void rec_away(struct wconn *c, uint64_t now);

static void
conn_fail(struct wconn *c, const char *why)
{
    if (S.rec_armed && c->state == C_READY) {
        /* recover: the transport went away; reconnect */
        conn_drop(c);
        rec_away(c, wsb_now());
        return;
    }
    hb_close(c, WSB_HB_OTHER, 0, NULL, 0);
    if (!(S.o->hb && c->silent && c->state == C_READY))
        note("connection %u: %s", c->idx, why); /* expected when silent */
    if (c->state == C_READY)
        S.r.closed++;
    else if (c->state != C_DONE && c->state != C_IDLE) {
        conn_settle(c, 0, wsb_now());
    }
    conn_drop(c);
}

/* send(2) or, over TLS, SSL_write with the same conventions (-1 and
 * EAGAIN: wait; partial writes allowed). */
static ssize_t
io_send(struct wconn *c, const void *p, size_t n)
{
    size_t w = 0;
    int e;

    if (c->ssl == NULL)
        return send(c->fd, p, n, MSG_NOSIGNAL);
    ERR_clear_error();
    if (SSL_write_ex(c->ssl, p, n, &w) == 1)
        return (ssize_t)w;
    e = SSL_get_error(c->ssl, 0);
    errno = e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ? EAGAIN
        : EPIPE;
    return -1;
}

/* recv(2) or SSL_read, alike (0: closed). */
static ssize_t
io_recv(struct wconn *c, void *p, size_t n)
{
    size_t r = 0;
    int e;

    if (c->ssl == NULL)
        return recv(c->fd, p, n, 0);
    ERR_clear_error();
    if (SSL_read_ex(c->ssl, p, n, &r) == 1)
        return (ssize_t)r;
    e = SSL_get_error(c->ssl, 0);
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    errno = e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ? EAGAIN
        : ECONNRESET;
    return -1;
}

/* Queue or send bytes; -1 after failing c. */
static int
conn_send(struct wconn *c, const void *p, size_t n)
{
    ssize_t w = 0;

    if (c->olen == 0) {
        w = io_send(c, p, n);
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            hb_close(c, WSB_HB_ERROR, 0, NULL, 0);
            conn_fail(c, "send failed");
            return -1;
        }
        if (w < 0)
            w = 0;
        if ((size_t)w == n)
            return 0;
    }
    n -= (size_t)w;
    if (c->olen + n > c->ocap) {
        char *b = realloc(c->obuf, c->olen + n);
        if (b == NULL) {
            conn_fail(c, "out of memory");
            return -1;
        }
        c->obuf = b;
        c->ocap = c->olen + (uint32_t)n;
    }
    memcpy(c->obuf + c->olen, (const char *)p + w, n);
    c->olen += (uint32_t)n;
    conn_watch(c, EV_READ | EV_WRITE);
    return 0;
}

/* One masked client frame (RFC 6455 §5.3). */
static int
conn_frame(struct wconn *c, unsigned op, const void *p, size_t n)
{
    unsigned char buf[WSF_MAX_HDR + 1024], key[4];
    uint32_t k = (uint32_t)rnd();
    size_t h;

    if (n > 1024)
        return 0;
    memcpy(key, &k, 4);
    h = wsf_build_hdr_masked(buf, op, 1, 0, n, key);
    memcpy(buf + h, p, n);
    wsf_unmask(buf + h, n, key, 0);
    return conn_send(c, buf, h + n);
}

/* The node c connects to (--url given more than once): consecutive
 * blocks of `rooms` connections take the nodes in turn, so each room's
 * members are spread over all of them. */
static unsigned
conn_node(const struct wconn *c)
{
    return (c->idx / S.o->rooms) % S.o->nurl;
}

static void
conn_start(struct wconn *c, uint64_t now)
{
    const struct wsb_opts *o = S.o;
    int fd, one = 1;

    c->t_start = now;
    c->state = C_CONNECTING;
    c->plen = c->olen = 0;
    S.inprog++;
    if (!c->churn && S.r.t_first == 0)
        S.r.t_first = now;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        note("socket: %s", strerror(errno));
        conn_fail(c, "socket() failed");
        return;
    }
    c->fd = fd;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* Kernel receive times: heartbeat records, and the latency of
     * published messages without this process's own queueing. */
    if (o->hb || o->publish)
        setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
    if (o->sources > 1) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000001u + c->idx % o->sources);
        /* Let connect() pick the port per 4-tuple, so each source
         * address has its own ephemeral range. */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
                   sizeof(one));
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) == -1) {
            note("bind to 127.0.0.%u: %s", 1 + c->idx % o->sources,
                 strerror(errno));
            conn_fail(c, "bind() failed");
            return;
        }
    }
    if (connect(fd, (struct sockaddr *)&S.dst[conn_node(c)],
                sizeof(S.dst[0])) == -1
        && errno != EINPROGRESS) {
        note("connect: %s", strerror(errno));
        conn_fail(c, "connect() failed");
        return;
    }
    c->ev = event_new(S.base, fd, EV_WRITE | EV_PERSIST, conn_cb, c);
    if (c->ev == NULL || event_add(c->ev, NULL) == -1) {
        conn_fail(c, "event_new failed");
        return;
    }
    c->evflags = EV_WRITE;
}

/* recover: the outcome of c's reconnect attempt (counter: one of S.r's
 * rec_ok, rec_fresh, rec_mismatch, rec_failed). */
static void
rec_finish(struct wconn *c, uint64_t *counter, uint64_t now)
{
    (*counter)++;
    c->rec = R_DONE;
    S.inprog--;
    if (counter == &S.r.rec_ok) {
        c->recovered = 1;
        c->t_rec = now;
        if (now > S.r.rec_t_last)
            S.r.rec_t_last = now;
    }
    atomic_fetch_add_explicit(&S.sh->rec_settled, 1, memory_order_relaxed);
}

static void
rec_go_cb(evutil_socket_t fd, short what, void *arg)
{
    struct wconn *c = arg;

    (void)fd;
    (void)what;
    if (c->rec != R_AWAY)
        return;
    c->rec = R_TRYING;
    c->churn = 0;
    conn_start(c, wsb_now());
}

/* Reconnect c after 0..--rec-jitter s. */
static void
rec_schedule(struct wconn *c)
{
    uint64_t us = S.o->rec_jitter > 0
        ? rnd() % ((uint64_t)(S.o->rec_jitter * 1e6) + 1) : 0;
    struct timeval tv = {(time_t)(us / 1000000), (suseconds_t)(us % 1000000)};

    if (event_base_once(S.base, -1, EV_TIMEOUT, rec_go_cb, c, &tv) == -1) {
        c->rec = R_TRYING;
        S.inprog++;
        rec_finish(c, &S.r.rec_failed, wsb_now());
    }
}

/* recover: the ready session c lost its transport (already dropped). */
static void
rec_away(struct wconn *c, uint64_t now)
{
    S.r.rec_away++;
    atomic_fetch_add_explicit(&S.sh->rec_away, 1, memory_order_relaxed);
    c->t_lost = now;
    if (now > S.r.rec_t_lost_last)
        S.r.rec_t_lost_last = now;
    c->rec = R_AWAY;
    c->recovered = 0;
    if (!S.rec_hold)
        rec_schedule(c);
}

/* A JSON string member "key":"..." of p[0..n) into out (cap bytes, at
 * least 1); "" when absent or too long. */
static void
json_sval(const unsigned char *p, size_t n, const char *key, char *out,
          size_t cap)
{
    size_t kl = strlen(key);
    const unsigned char *q = memmem(p, n, key, kl), *e = p + n, *v;

    out[0] = '\0';
    if (q == NULL || q + kl + 2 > e || q[kl] != ':' || q[kl + 1] != '"')
        return;
    v = q + kl + 2;
    q = memchr(v, '"', (size_t)(e - v));
    if (q == NULL || (size_t)(q - v) >= cap)
        return;
    memcpy(out, v, (size_t)(q - v));
    out[q - v] = '\0';
}

/* The token of c: --token, or one signed for user bench<idx>; NULL after
 * failing c. */
static const char *
conn_token(struct wconn *c, char *tok, size_t cap)
{
    char user[32];

    if (S.o->secret == NULL)
        return S.o->token;
    wsb_shape_user(S.o, c->idx, c->room, user, sizeof(user));
    if (wsb_jwt(tok, cap, S.o->secret, user, 24 * 3600) == 0) {
        conn_fail(c, "token signing failed");
        return NULL;
    }
    return tok;
}

static void
conn_upgrade(struct wconn *c)
{
    const struct wsb_opts *o = S.o;
    unsigned char raw[16];
    char key[32], tok[512], req[1024 + 512], auth[600] = "", path[192];
    const char *t;
    int n;

    for (int i = 0; i < 16; i += 8) {
        uint64_t v = rnd();
        memcpy(raw + i, &v, 8);
    }
    wsb_b64(raw, 16, key);
    if (wsh_accept(key, strlen(key), c->accept) == -1) {
        conn_fail(c, "wsh_accept failed");
        return;
    }
    if (o->proto == WSB_WS) {
        if ((t = conn_token(c, tok, sizeof(tok))) == NULL && o->secret)
            return;
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n",
                 t ? t : "");
    }
    if (o->proto == WSB_NCHAN)
        snprintf(path, sizeof(path), "%sbench:%u", o->path, c->room);
    else
        snprintf(path, sizeof(path), "%s", o->path);
    n = snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\nHost: %s:%u\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                 "Sec-WebSocket-Version: 13\r\n%s%s\r\n",
                 path, o->url_nodes[conn_node(c)].host,
                 o->url_nodes[conn_node(c)].port, key, auth,
                 o->deflate ? wsb_pmd_offer() : "");
    if (n < 0 || (size_t)n >= sizeof(req)) {
        conn_fail(c, "request too long");
        return;
    }
    c->state = C_HS;
    if (conn_send(c, req, (size_t)n) == 0 && c->olen == 0)
        conn_watch(c, EV_READ); /* no longer waiting for the connect */
}

/* 1 if the head (NUL-ended) has header name with exactly value. */
static int
head_has(const char *head, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    const char *p = strstr(head, "\r\n");

    while (p && p[2] != '\r' && p[2] != '\0') {
        const char *l = p + 2, *v;
        p = strstr(l, "\r\n");
        if (strncasecmp(l, name, nl) != 0 || l[nl] != ':')
            continue;
        for (v = l + nl + 1; *v == ' ' || *v == '\t'; v++)
            ;
        if (p && (size_t)(p - v) >= vl && strncmp(v, value, vl) == 0)
            return 1;
    }
    return 0;
}

static const unsigned char *
num(const unsigned char *p, const unsigned char *e, uint64_t *v)
{
    uint64_t x = 0;

    if (p >= e || *p < '0' || *p > '9')
        return NULL;
    while (p < e && *p >= '0' && *p <= '9')
        x = x * 10 + (uint64_t)(*p++ - '0');
    *v = x;
    return p;
}

/* The hot path, shared by the protocols: q is just past the '{' of the
 * published data {"t":T,"s":S,"r":R...}, e the end of the frame. */
static void
on_data(struct wconn *c, const unsigned char *q, const unsigned char *e,
        uint64_t now)
{
    uint64_t t = 0, s = 0, r = 0, v;
    unsigned got = 0;

    for (; got != 7 && q + 4 < e && q[0] == '"' && q[2] == '"'
                 && q[3] == ':';) {
        unsigned char k = q[1];
        q = num(q + 4, e, &v);
        if (q == NULL)
            break;
        if (k == 't')
            t = v, got |= 1;
        else if (k == 's')
            s = v, got |= 2;
        else if (k == 'r')
            r = v, got |= 4;
        if (q < e && *q == ',')
            q++;
    }
    if (got != 7) {
        S.r.bad++;
        return;
    }
    S.r.received++;
    S.unflushed++;
    if (S.o->scale) {
        /* bit masks per round (wsb_scale.c) instead of sequences */
        wsb_scale_data(S.o, (unsigned)(c - S.c), c->room, t, s, r, now,
                       &S.r);
        return;
    }
    if (r != c->room)
        S.r.wrong_room++;
    if (s > c->last) {
        c->gaps += s - c->last - 1;
        c->last = s;
    } else {
        S.r.dup++;
        c->dups++;
    }
    if (now >= S.win_start && now < S.win_end) {
        uint64_t k = S.kt ? S.kt : now;
        S.r.in_window++;
        wsb_hist_add(&S.r.hist, now > t ? now - t : 0);
        wsb_hist_add(&S.r.khist, k > t ? k - t : 0);
        S.r.kstamped += S.kt != 0;
    }
}

/* /ws: {"type":"event","room":..,"data":{"t":T,"s":S,"r":R..}..}, or
 * without "room" for a publish to everyone (event "e"). */
static void
on_event(struct wconn *c, const unsigned char *p, size_t n, uint64_t now)
{
    const unsigned char *q;

    if (n < 28 || (memcmp(p + 15, ",\"room\":", 8) != 0
                   && memcmp(p + 15, ",\"event\":\"e\",", 13) != 0))
        return; /* a notification (token-expiring...), not a publish */
    q = memmem(p + 15, n - 15, "\"data\":{", 8);
    if (q == NULL) {
        S.r.bad++;
        return;
    }
    on_data(c, q + 8, p + n, now);
}

/* Socket.IO or nchan: a ready connection. */
static int
conn_ready(struct wconn *c, uint64_t now)
{
    if (S.o->hb)
        wsb_hb_member((unsigned)(c - S.c));
    c->state = C_READY;
    conn_settle(c, 1, now);
    return 0;
}

/* One Engine.IO packet (a whole text message) of a Socket.IO connection;
 * -1 if c was failed. Namespace "/" only. */
static int
on_sio(struct wconn *c, const unsigned char *p, size_t n, uint64_t now)
{
    char buf[800], tok[512], room[96];
    const char *t;
    int len;

    if (n == 0)
        return 0;
    switch (p[0]) {
    case '0': /* open */
        if (c->state != C_EIO)
            return 0;
        if (S.o->hb)
            wsb_hb_open((unsigned)(c - S.c), p, n, S.hb_now);
        if ((t = conn_token(c, tok, sizeof(tok))) == NULL && S.o->secret)
            return -1;
        if (c->rec == R_TRYING && c->pid[0] && c->off && !S.o->rec_baseline)
            /* recover: what socket.io-client sends on a reconnect */
            len = snprintf(buf, sizeof(buf),
                           "40{\"token\":\"%s\",\"pid\":\"%s\","
                           "\"offset\":\"%llu\"}", t ? t : "", c->pid,
                           (unsigned long long)c->off);
        else
            len = snprintf(buf, sizeof(buf),
                           t ? "40{\"token\":\"%s\"}" : "40", t);
        if (c->rec == R_TRYING && !(c->pid[0] && c->off)
            && !S.o->rec_baseline)
            S.r.rec_offsetless++;
        c->state = C_CONN;
        return conn_frame(c, WSF_OP_TEXT, buf, (size_t)len);
    case '1': /* close */
        hb_close(c, WSB_HB_EIO_CLOSE, 0, NULL, 0);
        conn_fail(c, "Engine.IO close packet");
        return -1;
    case '2': /* ping: pong with the same payload */
        if (S.o->hb) {
            wsb_hb_ping((unsigned)(c - S.c), S.hb_now);
            if (c->silent)
                return 0;
        }
        buf[0] = '3';
        len = (int)(n > 64 ? 64 : n);
        memcpy(buf + 1, p + 1, (size_t)len - 1);
        return conn_frame(c, WSF_OP_TEXT, buf, (size_t)len);
    case '4': /* message: a Socket.IO packet */
        break;
    default:
        return 0;
    }
    if (n < 2)
        return 0;
    switch (p[1]) {
    case '2': /* EVENT: 42["e",{...}...] */
        if (c->state != C_READY)
            return 0;
        if (n < 8 || memcmp(p + 2, "[\"e\",{", 6) != 0)
            return 0; /* another event (token-expiring...) */
        on_data(c, p + 8, p + n, now);
        if (S.o->recover && n > 12 && p[n - 1] == ']' && p[n - 2] == '"') {
            /* the offset: the last argument, a decimal string */
            const unsigned char *q = p + n - 3;
            uint64_t v;
            while (q > p && *q >= '0' && *q <= '9')
                q--;
            if (*q == '"' && num(q + 1, p + n - 2, &v) && v > c->off)
                c->off = v;
        }
        return 0;
    case '0': /* CONNECT answer: 40{"sid":..} */
        if (c->state != C_CONN || n < 3 || p[2] != '{')
            return 0;
        if (S.o->recover) {
            char sid[sizeof(c->sid)], pid[sizeof(c->pid)];
            json_sval(p, n, "\"sid\"", sid, sizeof(sid));
            json_sval(p, n, "\"pid\"", pid, sizeof(pid));
            if (c->rec == R_TRYING && !S.o->rec_baseline) {
                if (pid[0] && strcmp(pid, c->pid) == 0
                    && strcmp(sid, c->sid) == 0) {
                    /* recovered: rooms back, the replay follows */
                    rec_finish(c, &S.r.rec_ok, wsb_now());
                    c->state = C_READY;
                    return 0;
                }
                rec_finish(c, pid[0] && strcmp(pid, c->pid) != 0
                                  ? &S.r.rec_fresh : &S.r.rec_mismatch,
                           wsb_now());
            }
            memcpy(c->sid, sid, sizeof(sid));
            memcpy(c->pid, pid, sizeof(pid));
        }
        wsb_shape_room(S.o, c->idx, c->room, room, sizeof(room));
        len = snprintf(buf, sizeof(buf), "420[\"subscribe\",\"%s\"]",
                       room);
        c->state = C_SUB;
        return conn_frame(c, WSF_OP_TEXT, buf, (size_t)len);
    case '3': /* ACK 430[{...}] */
        if (c->state != C_SUB || n < 4 || p[2] != '0' || p[3] != '[')
            return 0;
        if (memmem(p, n, "\"ok\":true", 9) == NULL) {
            note("subscribe refused: %.*s", (int)(n > 200 ? 200 : n), p);
            conn_fail(c, "subscribe refused");
            return -1;
        }
        return conn_ready(c, now);
    case '4': /* CONNECT_ERROR */
        note("connect refused: %.*s", (int)(n > 200 ? 200 : n), p);
        conn_fail(c, "Socket.IO CONNECT_ERROR");
        return -1;
    case '1': /* DISCONNECT */
        hb_close(c, WSB_HB_SIO_DISCONNECT, 0, NULL, 0);
        conn_fail(c, "Socket.IO DISCONNECT");
        return -1;
    default:
        return 0;
    }
}

/* A whole text message; -1 if c was failed. */
static int
on_text(struct wconn *c, const unsigned char *p, size_t n, uint64_t now)
{
    if (S.o->proto == WSB_SIO)
        return on_sio(c, p, n, now);
    if (S.o->proto == WSB_NCHAN) {
        if (c->state != C_READY)
            return 0;
        if (n < 2 || p[0] != '{')
            S.r.bad++;
        else
            on_data(c, p + 1, p + n, now);
        return 0;
    }
    if (n >= 15 && memcmp(p, "{\"type\":\"event\"", 15) == 0) {
        if (c->state == C_READY)
            on_event(c, p, n, now);
        return 0;
    }
    if (n >= 13 && memcmp(p, "{\"type\":\"ack\"", 13) == 0
        && c->state == C_SUB) {
        if (memmem(p, n, "\"ok\":true", 9) == NULL) {
            note("subscribe refused: %.*s", (int)(n > 200 ? 200 : n), p);
            conn_fail(c, "subscribe refused");
            return -1;
        }
        c->state = C_READY;
        conn_settle(c, 1, now);
        return 0;
    }
    if (n >= 15 && memcmp(p, "{\"type\":\"error\"", 15) == 0) {
        note("server error: %.*s", (int)(n > 200 ? 200 : n), p);
        if (c->state != C_READY) {
            conn_fail(c, "error before the ack");
            return -1;
        }
    }
    return 0;
}

/* Frames in b[0..n); returns bytes consumed, or -1 if c was failed. */
static long
on_frames(struct wconn *c, unsigned char *b, size_t n, uint64_t now)
{
    size_t pos = 0;

    while (pos < n) {
        struct wsf_hdr h;
        enum wsf_status st = wsf_parse_hdr(b + pos, n - pos, &h,
            WSF_F_FROM_SERVER | (S.o->deflate ? WSF_F_RSV1 : 0));
        unsigned char *pl;
        const unsigned char *tp;
        size_t tl;

        if (st == WSF_AGAIN)
            break;
        if (st != WSF_OK) {
            note("bad server frame: %s", wsf_status_str(st));
            conn_fail(c, "bad frame");
            return -1;
        }
        if (h.len > MAX_FRAME) {
            conn_fail(c, "server frame larger than the bench reads");
            return -1;
        }
        if (h.hdr_len + h.len > n - pos)
            break;
        pl = b + pos + h.hdr_len;
        switch (h.opcode) {
        case WSF_OP_TEXT:
            if (!h.fin) {
                conn_fail(c, "fragmented message (not supported)");
                return -1;
            }
            tp = pl;
            tl = (size_t)h.len;
            if ((h.rsv & WSF_RSV1)
                && (tp = wsb_pmd_inflate(&S.r, pl, tl, &tl)) == NULL) {
                conn_fail(c, "compressed frame does not inflate");
                return -1;
            }
            if (on_text(c, (unsigned char *)(uintptr_t)tp, tl, now) == -1)
                return -1;
            break;
        case WSF_OP_PING:
            if (S.o->hb)
                wsb_hb_ws_ping((unsigned)(c - S.c));
            if (conn_frame(c, WSF_OP_PONG, pl, (size_t)h.len) == -1)
                return -1;
            break;
        case WSF_OP_CLOSE:
            hb_close(c, WSB_HB_WS_CLOSE,
                     h.len >= 2 ? (unsigned)pl[0] << 8 | pl[1] : 0,
                     h.len > 2 ? pl + 2 : NULL,
                     h.len > 2 ? (size_t)h.len - 2 : 0);
            if (!(S.o->hb && c->silent))
                note("connection %u: close frame %u", c->idx,
                     h.len >= 2 ? (unsigned)pl[0] << 8 | pl[1] : 0);
            conn_fail(c, "closed by the server");
            return -1;
        default:
            break;
        }
        pos += h.hdr_len + (size_t)h.len;
    }
    return (long)pos;
}

/* The 101 reply; returns bytes consumed, 0 for more, -1 if c was failed. */
static long
on_head(struct wconn *c, unsigned char *b, size_t n)
{
    unsigned char *end = memmem(b, n, "\r\n\r\n", 4);
    char sub[192], room[96];
    int len;

    if (end == NULL) {
        if (n > MAX_HEAD)
            conn_fail(c, "response head too large");
        return n > MAX_HEAD ? -1 : 0;
    }
    end[2] = '\0'; /* the head's last CRLF stays; restored below */
    if (strncmp((char *)b, "HTTP/1.1 101", 12) != 0
        || !head_has((char *)b, "Sec-WebSocket-Accept", c->accept)) {
        note("upgrade refused: %.*s", (int)strcspn((char *)b, "\r"), b);
        conn_fail(c, "upgrade refused");
        return -1;
    }
    if (S.o->deflate && wsb_pmd_agreed((char *)b) == -1) {
        conn_fail(c, "permessage-deflate with context takeover");
        return -1;
    }
    end[2] = '\r';
    if (S.o->proto == WSB_SIO) {
        c->state = C_EIO;
        return end + 4 - b;
    }
    if (S.o->proto == WSB_NCHAN) {
        conn_ready(c, wsb_now());
        return end + 4 - b;
    }
    wsb_shape_room(S.o, c->idx, c->room, room, sizeof(room));
    len = snprintf(sub, sizeof(sub),
                   "{\"type\":\"subscribe\",\"room\":\"%s\",\"id\":1}",
                   room);
    c->state = C_SUB;
    if (conn_frame(c, WSF_OP_TEXT, sub, (size_t)len) == -1)
        return -1;
    return end + 4 - b;
}

static void
conn_read(struct wconn *c)
{
    size_t off = c->plen, total;
    ssize_t r;
    long used = 0, u;
    uint64_t now;

    if (off)
        memcpy(S.rbuf, c->pbuf, off);
    S.kt = 0;
    if (S.o->hb)
        r = wsb_hb_recv(c->fd, S.rbuf + off, RBUF_SIZE - off - 1, &S.hb_now);
    else if (c->ssl == NULL && S.o->publish)
        r = wsb_recv_stamped(c->fd, S.rbuf + off, RBUF_SIZE - off - 1,
                             S.rt_off, &now, &S.kt);
    else
        r = io_recv(c, S.rbuf + off, RBUF_SIZE - off - 1);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        hb_close(c, r == 0 ? WSB_HB_EOF : WSB_HB_ERROR, 0, NULL, 0);
        conn_fail(c, r == 0 ? "connection closed" : "recv failed");
        return;
    }
    now = wsb_now();
    S.r.bytes_in += (uint64_t)r;
    total = off + (size_t)r;
    if (c->state == C_HS) {
        used = on_head(c, S.rbuf, total);
        if (used <= 0)
            goto keep;
    }
    u = on_frames(c, S.rbuf + used, total - (size_t)used, now);
    if (u == -1)
        return;
    used += u;
keep:
    if (used == -1)
        return;
    c->plen = (uint32_t)(total - (size_t)used);
    if (c->plen > c->pcap) {
        char *p = realloc(c->pbuf, c->plen);
        if (p == NULL) {
            conn_fail(c, "out of memory");
            return;
        }
        c->pbuf = p;
        c->pcap = c->plen;
    }
    memmove(c->pbuf, S.rbuf + used, c->plen);
    if (S.unflushed) {
        atomic_fetch_add_explicit(&S.sh->delivered, S.unflushed,
                                  memory_order_relaxed);
        S.unflushed = 0;
    }
}

/* --tls-ca: go on with c's handshake; the upgrade request follows it. */
static void
conn_tls_step(struct wconn *c)
{
    int r, e;

    ERR_clear_error();
    r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        conn_upgrade(c);
        return;
    }
    e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ)
        conn_watch(c, EV_READ);
    else if (e == SSL_ERROR_WANT_WRITE)
        conn_watch(c, EV_WRITE);
    else {
        unsigned long ee = ERR_peek_error();
        note("TLS handshake: %s", ee ? ERR_reason_error_string(ee) : "?");
        conn_fail(c, "TLS handshake failed");
    }
}

static void
conn_cb(evutil_socket_t fd, short what, void *arg)
{
    struct wconn *c = arg;
    int err = 0;
    socklen_t el = sizeof(err);

    (void)fd;
    if (c->state == C_CONNECTING) {
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) == -1 || err) {
            note("connect: %s", strerror(err ? err : errno));
            conn_fail(c, "connect failed");
            return;
        }
        if (S.tls) {
            c->ssl = SSL_new(S.tls);
            if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1
                || X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
                       S.o->url_nodes[conn_node(c)].host) != 1) {
                conn_fail(c, "SSL_new failed");
                return;
            }
            SSL_set_connect_state(c->ssl);
            c->state = C_TLS;
        } else {
            conn_upgrade(c);
            return;
        }
    }
    if (c->state == C_TLS) {
        conn_tls_step(c);
        return;
    }
    if ((what & EV_WRITE) && c->olen) {
        ssize_t w = io_send(c, c->obuf, c->olen);
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            hb_close(c, WSB_HB_ERROR, 0, NULL, 0);
            conn_fail(c, "send failed");
            return;
        }
        if (w > 0) {
            memmove(c->obuf, c->obuf + w, c->olen - (size_t)w);
            c->olen -= (uint32_t)w;
        }
        if (c->olen == 0)
            conn_watch(c, EV_READ);
    }
    if (what & EV_READ) {
        /* A record read in part is not seen by the socket's readiness. */
        do
            conn_read(c);
        while (c->ssl && c->fd != -1 && SSL_pending(c->ssl) > 0);
    }
    S.hb_now = 0;
}

static void
ramp_fill(uint64_t now)
{
    while (S.inprog < S.o->concurrency && S.next < S.n)
        conn_start(&S.c[S.next++], now);
}

static void
finish(void)
{
    const uint64_t *last = S.fin, *ok, *failed;
    unsigned rooms = S.o->rooms;

    ok = last + rooms;
    failed = ok + rooms;
    for (unsigned i = 0; i < S.n; i++) {
        struct wconn *c = &S.c[i];
        uint64_t miss;

        if (!c->member)
            continue;
        if (S.o->scale) {
            wsb_scale_account(i, S.fin, &S.r);
            continue;
        }
        miss = c->gaps + (last[c->room] > c->last ? last[c->room] - c->last
                                                  : 0);
        /* Failed publishes were never sent: not a loss. */
        miss = miss > failed[c->room] ? miss - failed[c->room] : 0;
        S.r.lost += miss;
        S.r.expected += last[c->room] - failed[c->room];
        if (c->recovered || (S.o->rec_baseline && c->t_rec)) {
            if (miss == 0 && c->dups == 0)
                S.r.rec_clean++;
            if (c->t_rec > S.r.rec_t_last)
                S.r.rec_t_last = c->t_rec;
            if (c->t_rec >= S.rec_ref)
                wsb_hist_add(&S.r.rec_hist, c->t_rec - S.rec_ref);
            wsb_hist_add(&S.r.rec_rtt, c->t_rec - c->t_start);
        }
        if (c->t_lost && c->t_lost >= S.rec_ref)
            wsb_hist_add(&S.r.rec_lost, c->t_lost - S.rec_ref);
    }
    if (S.o->scale)
        wsb_scale_sub_flush();
    if (wsb_send_msg(S.ctl, WSB_MSG_RESULT, &S.r, sizeof(S.r)) == -1
        || (S.o->hb && wsb_hb_send(S.ctl) == -1))
        S.status = 1;
    event_base_loopbreak(S.base);
}

/* 1 when every open member has what the server acknowledged. */
static int
caught_up(void)
{
    const uint64_t *ok = S.fin + S.o->rooms;

    for (unsigned i = 0; i < S.n; i++) {
        struct wconn *c = &S.c[i];
        if (c->member && c->state == C_READY
            && (S.o->scale ? !wsb_scale_has_all(i, S.fin)
                           : c->last < ok[c->room]))
            return 0;
    }
    return 1;
}

static void
churn_step(uint64_t now)
{
    double dt = (double)(now - S.last_tick) / 1e9;

    if (now < S.win_start || now >= S.win_end)
        return;
    S.churn_quota += S.o->churn / S.o->procs * dt;
    for (unsigned tries = 0; S.churn_quota >= 1 && tries < S.n; tries++) {
        struct wconn *c = &S.c[S.churn_cursor];
        S.churn_cursor = (S.churn_cursor + 1) % S.n;
        if (c->state != C_READY && c->state != C_DONE)
            continue;
        if (S.inprog >= S.o->concurrency)
            break;
        conn_drop(c);
        c->churn = 1;
        S.churn_quota -= 1;
        conn_start(c, now);
    }
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
    uint64_t now = wsb_now(), limit = (uint64_t)(S.o->conn_timeout * 1e9);

    (void)fd;
    (void)what;
    (void)arg;
    if (S.o->hb && now > S.last_tick + TICK_NS)
        wsb_hb_lag(now - S.last_tick - TICK_NS);
    if (S.inprog && now - S.last_scan >= SCAN_NS) {
        S.last_scan = now;
        for (unsigned i = 0; i < S.n; i++) {
            struct wconn *c = &S.c[i];
            if (c->state >= C_CONNECTING && c->state <= C_SUB
                && now - c->t_start > limit)
                conn_fail(c, "timed out before the subscribe ack");
        }
    }
    if (S.phase == P_RAMP) {
        ramp_fill(now);
        if (S.settled == S.n) {
            struct wsb_ready rd = {S.r.connected, S.r.failed, S.r.t_first,
                                   S.r.t_last};
            if (wsb_send_msg(S.ctl, WSB_MSG_READY, &rd, sizeof(rd)) == -1) {
                S.status = 1;
                event_base_loopbreak(S.base);
            }
            S.phase = P_RUN;
        }
    } else if (S.phase == P_RUN && S.o->churn > 0 && S.win_end) {
        churn_step(now);
    } else if (S.phase == P_DRAIN && now - S.last_drain >= SCAN_NS) {
        S.last_drain = now;
        if (caught_up()) {
            S.r.drained = 1;
            finish();
        } else if (now >= S.drain_end) {
            finish();
        }
    }
    S.last_tick = now;
}

static void
ctl_msg(uint32_t type, const char *p, size_t n)
{
    if (type == WSB_MSG_GO && n == sizeof(struct wsb_go)) {
        struct wsb_go g;
        memcpy(&g, p, sizeof(g));
        S.win_start = g.win_start;
        S.win_end = g.win_end;
        if (S.o->recover)
            S.rec_armed = 1;
    } else if (type == WSB_MSG_REF && n == sizeof(uint64_t)) {
        memcpy(&S.rec_ref, p, sizeof(S.rec_ref));
    } else if (type == WSB_MSG_CLOSE) {
        uint64_t now = wsb_now();
        S.rec_hold = 1;
        for (unsigned i = 0; i < S.n; i++)
            if (S.c[i].state == C_READY) {
                conn_drop(&S.c[i]);
                rec_away(&S.c[i], now);
            }
    } else if (type == WSB_MSG_RECONNECT) {
        S.rec_hold = 0;
        for (unsigned i = 0; i < S.n; i++)
            if (S.c[i].rec == R_AWAY)
                rec_schedule(&S.c[i]);
    } else if (type == WSB_MSG_FINAL && n == 3 * 8 * (size_t)S.o->rooms) {
        S.fin = malloc(n);
        if (S.fin == NULL) {
            S.status = 1;
            event_base_loopbreak(S.base);
            return;
        }
        memcpy(S.fin, p, n);
        S.phase = P_DRAIN;
        S.drain_end = wsb_now() + (uint64_t)(S.o->drain * 1e9);
    }
}

static void
ctl_cb(evutil_socket_t fd, short what, void *arg)
{
    ssize_t r;
    struct wsb_msg m;

    (void)what;
    (void)arg;
    if (S.clen == S.ccap) {
        char *b = realloc(S.cbuf, S.ccap ? S.ccap * 2 : 4096);
        if (b == NULL)
            goto quit;
        S.cbuf = b;
        S.ccap = S.ccap ? S.ccap * 2 : 4096;
    }
    r = read(fd, S.cbuf + S.clen, S.ccap - S.clen);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0)
        goto quit;
    S.clen += (size_t)r;
    while (S.clen >= sizeof(m)) {
        memcpy(&m, S.cbuf, sizeof(m));
        if (S.clen < sizeof(m) + m.len)
            return;
        ctl_msg(m.type, S.cbuf + sizeof(m), m.len);
        S.clen -= sizeof(m) + m.len;
        memmove(S.cbuf, S.cbuf + sizeof(m) + m.len, S.clen);
    }
    return;
quit:
    /* The parent went away: stop quietly. */
    S.status = 1;
    event_base_loopbreak(S.base);
}

int
wsb_sub_main(const struct wsb_opts *o, unsigned lo, unsigned hi, int fd,
             struct wsb_shared *sh)
{
    struct timeval tv = {0, TICK_NS / 1000};

    S.o = o;
    S.sh = sh;
    S.lo = lo;
    S.n = hi - lo;
    S.ctl = fd;
    S.rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)getpid() << 20) ^ wsb_now();
    S.rt_off = wsb_rt_off();
    for (unsigned i = 0; i < o->nurl; i++) {
        S.dst[i].sin_family = AF_INET;
        S.dst[i].sin_port = htons((uint16_t)o->url_nodes[i].port);
        inet_pton(AF_INET, o->url_nodes[i].host, &S.dst[i].sin_addr);
    }
    S.base = event_base_new();
    if (o->tls_ca) {
        S.tls = SSL_CTX_new(TLS_client_method());
        if (S.tls == NULL
            || SSL_CTX_load_verify_locations(S.tls, o->tls_ca, NULL) != 1) {
            fprintf(stderr, "wsbench: --tls-ca %s: cannot load\n", o->tls_ca);
            return 2;
        }
        SSL_CTX_set_verify(S.tls, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_mode(S.tls, SSL_MODE_ENABLE_PARTIAL_WRITE
            | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
            | SSL_MODE_RELEASE_BUFFERS);
    }
    S.c = calloc(S.n ? S.n : 1, sizeof(*S.c));
    S.rbuf = malloc(RBUF_SIZE);
    if (S.base == NULL || S.c == NULL || S.rbuf == NULL) {
        fprintf(stderr, "wsbench: out of memory\n");
        return 2;
    }
    if ((o->hb && wsb_hb_init(o, lo, S.n) == -1)
        || (o->scale && wsb_scale_sub_init(S.n) == -1)) {
        fprintf(stderr, "wsbench: out of memory\n");
        return 2;
    }
    for (unsigned i = 0; i < S.n; i++) {
        S.c[i].fd = -1;
        S.c[i].idx = lo + i;
        S.c[i].room = (lo + i) % o->rooms;
        S.c[i].silent = (uint8_t)(o->hb && wsb_hb_is_silent(o, lo + i));
    }
    evutil_make_socket_nonblocking(fd);
    S.ctl_ev = event_new(S.base, fd, EV_READ | EV_PERSIST, ctl_cb, NULL);
    S.tick = event_new(S.base, -1, EV_PERSIST, tick_cb, NULL);
    if (S.ctl_ev == NULL || S.tick == NULL)
        return 2;
    event_add(S.ctl_ev, NULL);
    event_add(S.tick, &tv);
    S.last_tick = wsb_now();
    ramp_fill(S.last_tick);
    event_base_dispatch(S.base);
    for (unsigned i = 0; i < S.n; i++) {
        conn_drop(&S.c[i]);
        free(S.c[i].pbuf);
        free(S.c[i].obuf);
    }
    event_free(S.ctl_ev);
    event_free(S.tick);
    event_base_free(S.base);
    free(S.c);
    free(S.rbuf);
    free(S.cbuf);
    free(S.fin);
    wsb_hb_free();
    wsb_scale_sub_free();
    return S.status;
}
