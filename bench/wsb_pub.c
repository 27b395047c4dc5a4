/*
 * wsbench publisher: --inflight keep-alive HTTP/1.1 connections to the
 * admin port, each with at most one POST /api/publish in flight. Each room
 * belongs to one connection (room mod connections), so the messages of a
 * room reach the server in sequence order and a receiver may read any
 * reordering as loss. A message's data is {"t":<monotonic ns>,"s":<room
 * sequence>,"r":<room>}; the request buffer is reused, never reallocated.
 * wsgate (and the Node peer) take POST /api/publish with
 * {"room","event":"e","data"} or an array of those; nchan (--proto nchan)
 * takes the raw data in POST /pub/bench:<room>, one message per request,
 * and answers 201 or 202. With --admin given more than once (a cluster),
 * connection j publishes through admin j mod their count, so each room
 * still enters through one node, one request at a time. --shape emit
 * publishes on Redis instead (--redis), as @socket.io/redis-emitter 5
 * does: --batch PUBLISH commands pipelined per request, each answered by
 * an integer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "wsb.h"

#define HDR_RESERVE 1024
#define RESP_CAP (512 * 1024)
#define MAX_NOTES 5

struct pconn {
    struct wsb_pub *p;
    int fd;
    struct event *ev;
    short evflags;
    unsigned id;
    const struct wsb_node *admin; /* o->admin_nodes[id % nadmin] */
    struct sockaddr_in dst;
    int busy;          /* a request is in flight */
    unsigned nmsg;     /* messages in it */
    uint32_t *mroom;   /* room and sequence of each of them */
    uint64_t *mseq;
    char *req;         /* HDR_RESERVE bytes for the head, then the body */
    size_t reqcap, reqstart, reqlen, reqoff;
    char *resp;
    size_t rlen;
    unsigned cursor;   /* next room this connection publishes to */
    unsigned nrep;     /* --shape emit: Redis replies read of nmsg */
    uint64_t sent;     /* messages sent, for --rate */
};

struct wsb_pub {
    const struct wsb_opts *o;
    struct event_base *base;
    struct wsb_shared *sh;
    struct pconn *pc;
    unsigned k;
    uint64_t *fin;     /* last[rooms], ok[rooms], failed[rooms] */
    uint64_t *members; /* snapshot after the ramp-up */
    uint64_t expected; /* deliveries owed for acknowledged messages */
    struct event *tick;
    uint64_t t0, t_end, pause_since;
    int stopping;
    uint64_t limit;    /* wsb_pub_count: stop when this many were sent */
    char *pad;         /* --payload bytes of 'x' */
    unsigned char *mp; /* --shape emit: one msgpack message */
    unsigned notes;
    struct wsb_pub_result r;
};

static void pc_cb(evutil_socket_t fd, short what, void *arg);
static void pump(struct wsb_pub *p);

static int
pc_connect(struct pconn *pc)
{
    struct wsb_pub *p = pc->p;
    int one = 1;

    pc->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (pc->fd == -1 || connect(pc->fd, (struct sockaddr *)&pc->dst,
                                sizeof(pc->dst)) == -1) {
        fprintf(stderr, "wsbench: connect to admin %s:%u: %s\n",
                pc->admin->host, pc->admin->port, strerror(errno));
        return -1;
    }
    setsockopt(pc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    evutil_make_socket_nonblocking(pc->fd);
    pc->ev = event_new(p->base, pc->fd, EV_READ | EV_PERSIST, pc_cb, pc);
    if (pc->ev == NULL || event_add(pc->ev, NULL) == -1)
        return -1;
    pc->evflags = EV_READ;
    pc->rlen = 0;
    return 0;
}

static void
pc_close(struct pconn *pc)
{
    if (pc->ev)
        event_free(pc->ev);
    pc->ev = NULL;
    if (pc->fd != -1)
        close(pc->fd);
    pc->fd = -1;
}

static void
pc_watch(struct pconn *pc, short flags)
{
    if (pc->evflags == flags)
        return;
    event_del(pc->ev);
    event_assign(pc->ev, pc->p->base, pc->fd, (short)(flags | EV_PERSIST),
                 pc_cb, pc);
    event_add(pc->ev, NULL);
    pc->evflags = flags;
}

/* The request in flight ended: ok or not. */
static void
pc_done(struct pconn *pc, int ok, const char *why)
{
    struct wsb_pub *p = pc->p;
    uint64_t *last_ok = p->fin + p->o->rooms, *failed = last_ok + p->o->rooms;

    for (unsigned i = 0; i < pc->nmsg; i++) {
        uint32_t r = pc->mroom[i];
        if (ok) {
            if (pc->mseq[i] > last_ok[r])
                last_ok[r] = pc->mseq[i];
            p->expected += p->members[r];
        } else {
            failed[r]++;
        }
    }
    if (ok) {
        p->r.published += pc->nmsg;
    } else {
        p->r.errors += pc->nmsg;
        if (p->notes++ < MAX_NOTES)
            fprintf(stderr, "wsbench: publish failed: %s\n", why);
    }
    p->r.requests++;
    pc->busy = 0;
    pc->nmsg = 0;
}

/* Lost connection: fail what was in flight, reconnect unless stopping. */
static void
pc_lost(struct pconn *pc, const char *why)
{
    if (pc->busy)
        pc_done(pc, 0, why);
    pc_close(pc);
    if (!pc->p->stopping)
        pc_connect(pc);
}

static void
pc_flush(struct pconn *pc)
{
    while (pc->reqoff < pc->reqlen) {
        ssize_t w = send(pc->fd, pc->req + pc->reqstart + pc->reqoff,
                         pc->reqlen - pc->reqoff, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                pc_watch(pc, EV_READ | EV_WRITE);
                return;
            }
            pc_lost(pc, strerror(errno));
            return;
        }
        pc->reqoff += (size_t)w;
    }
    pc_watch(pc, EV_READ);
}

void
wsb_shape_room(const struct wsb_opts *o, unsigned idx, unsigned room,
               char *out, size_t cap)
{
    if (o->shape == WSB_SHAPE_ROOMS10)
        snprintf(out, cap, "bench:%u.%u", room,
                 idx / o->rooms % WSB_SHAPE_FANOUT);
    else
        snprintf(out, cap, "bench:%u", room);
}

void
wsb_shape_user(const struct wsb_opts *o, unsigned idx, unsigned room,
               char *out, size_t cap)
{
    if (o->shape == WSB_SHAPE_USER)
        snprintf(out, cap, "benchu%u", room);
    else
        snprintf(out, cap, "bench%u", idx);
}

/* The target fields of a message for room r, with their trailing comma,
 * at s (room for at most 32 * WSB_SHAPE_FANOUT bytes). Returns the
 * length. */
static int
pub_target(const struct wsb_opts *o, unsigned r, char *s)
{
    char *p = s;

    switch (o->shape) {
    case WSB_SHAPE_ROOMS10:
        p += sprintf(p, "\"rooms\":[");
        for (unsigned j = 0; j < WSB_SHAPE_FANOUT; j++)
            p += sprintf(p, "%s\"bench:%u.%u\"", j ? "," : "", r, j);
        p += sprintf(p, "],");
        break;
    case WSB_SHAPE_ALL:
        break;
    case WSB_SHAPE_USER:
        p += sprintf(p, "\"user\":\"benchu%u\",", r);
        break;
    default:
        p += sprintf(p, "\"room\":\"bench:%u\",", r);
    }
    return (int)(p - s);
}

/* msgpack (the subset an emitter broadcast needs): a string, an
 * unsigned integer. Return the end. */
static unsigned char *
mp_str(unsigned char *p, const char *s, size_t n)
{
    if (n < 32) {
        *p++ = (unsigned char)(0xa0 | n);
    } else {
        *p++ = 0xdb;
        for (int i = 3; i >= 0; i--)
            *p++ = (unsigned char)(n >> (8 * i));
    }
    memcpy(p, s, n);
    return p + n;
}

static unsigned char *
mp_u64(unsigned char *p, uint64_t v)
{
    *p++ = 0xcf;
    for (int i = 7; i >= 0; i--)
        *p++ = (unsigned char)(v >> (8 * i));
    return p;
}

/* One PUBLISH of an emitter broadcast of room r (sequence seq, time now)
 * at s, as RESP; returns the end. The message is the emitter's
 * ["wsbench", {type: 2, data: ["e", {t, s, r[, p]}], nsp: "/"},
 * {rooms: [bench:r], except: [bench:r+1 mod rooms], flags: {}}] on
 * channel socket.io#/#bench:r#, built in p->mp first. */
static char *
pub_emit(struct wsb_pub *p, unsigned r, uint64_t seq, uint64_t now, char *s)
{
    const struct wsb_opts *o = p->o;
    unsigned char *q = p->mp;
    char room[32], exc[32];
    int rl = snprintf(room, sizeof(room), "bench:%u", r);
    int xl = snprintf(exc, sizeof(exc), "bench:%u", (r + 1) % o->rooms);
    size_t ml;

    *q++ = 0x93;
    q = mp_str(q, "wsbench", 7);
    *q++ = 0x83;
    q = mp_str(q, "type", 4);
    *q++ = 2;
    q = mp_str(q, "data", 4);
    *q++ = 0x92;
    q = mp_str(q, "e", 1);
    *q++ = o->payload ? 0x84 : 0x83;
    q = mp_str(q, "t", 1);
    q = mp_u64(q, now);
    q = mp_str(q, "s", 1);
    q = mp_u64(q, seq);
    q = mp_str(q, "r", 1);
    q = mp_u64(q, r);
    if (o->payload) {
        q = mp_str(q, "p", 1);
        q = mp_str(q, p->pad, o->payload);
    }
    q = mp_str(q, "nsp", 3);
    q = mp_str(q, "/", 1);
    *q++ = 0x83;
    q = mp_str(q, "rooms", 5);
    *q++ = 0x91;
    q = mp_str(q, room, (size_t)rl);
    q = mp_str(q, "except", 6);
    *q++ = 0x91;
    q = mp_str(q, exc, (size_t)xl);
    q = mp_str(q, "flags", 5);
    *q++ = 0x80;
    ml = (size_t)(q - p->mp);
    s += sprintf(s, "*3\r\n$7\r\nPUBLISH\r\n$%d\r\nsocket.io#/#%s#\r\n"
                 "$%zu\r\n", rl + 13, room, ml);
    memcpy(s, p->mp, ml);
    memcpy(s + ml, "\r\n", 2);
    return s + ml + 2;
}

/* The room and sequence of pc's next message, recorded as message i of
 * its request; the room cursor moves on by the publishers' stride. */
static unsigned
pc_next(struct pconn *pc, unsigned i, uint64_t *seq)
{
    struct wsb_pub *p = pc->p;
    unsigned r = pc->cursor;

    *seq = ++p->fin[r];
    pc->cursor += p->k;
    if (pc->cursor >= p->o->rooms)
        pc->cursor = pc->id;
    pc->mroom[i] = r;
    pc->mseq[i] = *seq;
    return r;
}

/* Build and send one POST of count messages (count <= batch). */
static void
pc_send(struct pconn *pc, unsigned count, uint64_t now)
{
    struct wsb_pub *p = pc->p;
    const struct wsb_opts *o = p->o;
    char *b = pc->req + HDR_RESERVE, *s = b, hdr[HDR_RESERVE];
    int arr = o->batch > 1, n;

    if (pc->fd == -1 && pc_connect(pc) == -1)
        return;
    if (o->shape == WSB_SHAPE_EMIT) {
        for (unsigned i = 0; i < count; i++) {
            uint64_t seq;
            unsigned r = pc_next(pc, i, &seq);

            s = pub_emit(p, r, seq, now, s);
        }
        n = 0;
        pc->nrep = 0;
        goto send;
    }
    if (o->proto == WSB_NCHAN) {
        uint64_t seq;
        unsigned r = pc_next(pc, 0, &seq);

        count = 1;
        s += sprintf(s, "{\"t\":%llu,\"s\":%llu,\"r\":%u%s%s%s}",
                     (unsigned long long)now, (unsigned long long)seq, r,
                     o->payload ? ",\"p\":\"" : "", o->payload ? p->pad : "",
                     o->payload ? "\"" : "");
        n = snprintf(hdr, sizeof(hdr),
                     "POST /pub/bench:%u HTTP/1.1\r\nHost: %s:%u\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     r, pc->admin->host, pc->admin->port, (size_t)(s - b));
        goto send;
    }
    if (arr)
        *s++ = '[';
    for (unsigned i = 0; i < count; i++) {
        uint64_t seq;
        unsigned r = pc_next(pc, i, &seq);

        s += sprintf(s, "%s{", i ? "," : "");
        s += pub_target(o, r, s);
        s += sprintf(s,
                     "\"event\":\"e\",\"data\":"
                     "{\"t\":%llu,\"s\":%llu,\"r\":%u%s%s%s}}",
                     (unsigned long long)now,
                     (unsigned long long)seq, r, o->payload ? ",\"p\":\"" : "",
                     o->payload ? p->pad : "", o->payload ? "\"" : "");
    }
    if (arr)
        *s++ = ']';
    n = snprintf(hdr, sizeof(hdr),
                 "POST /api/publish HTTP/1.1\r\nHost: %s:%u\r\n"
                 "Authorization: Bearer %s\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n",
                 pc->admin->host, pc->admin->port, o->api_key,
                 (size_t)(s - b));
send:
    if (n > 0)
        memcpy(b - n, hdr, (size_t)n);
    pc->reqstart = HDR_RESERVE - (size_t)n;
    pc->reqlen = (size_t)n + (size_t)(s - b);
    pc->reqoff = 0;
    pc->nmsg = count;
    pc->busy = 1;
    pc->sent += count;
    pc_flush(pc);
}

/* --shape emit: a complete Redis reply in pc->resp (":N" to a PUBLISH,
 * or an error)? Handle it; 1 if one was consumed. The request is done
 * when each of its commands was answered. */
static int
pc_resp_redis(struct pconn *pc)
{
    char *end;
    size_t len;

    pc->resp[pc->rlen] = '\0';
    if ((end = strstr(pc->resp, "\r\n")) == NULL)
        return 0;
    len = (size_t)(end + 2 - pc->resp);
    if (pc->resp[0] != ':') {
        char why[200];
        snprintf(why, sizeof(why), "Redis: %.*s", (int)(end - pc->resp),
                 pc->resp);
        if (pc->busy)
            pc_done(pc, 0, why);
    } else if (pc->busy && ++pc->nrep == pc->nmsg) {
        pc_done(pc, 1, NULL);
    }
    pc->rlen -= len;
    memmove(pc->resp, pc->resp + len, pc->rlen);
    return 1;
}

/* A complete response in pc->resp? Handle it; 1 if one was consumed. */
static int
pc_response(struct pconn *pc)
{
    char *end, *cl, *body;
    size_t head, len;
    int status, ok, closing;

    if (pc->p->o->shape == WSB_SHAPE_EMIT)
        return pc_resp_redis(pc);
    pc->resp[pc->rlen] = '\0';
    end = strstr(pc->resp, "\r\n\r\n");
    if (end == NULL)
        return 0;
    head = (size_t)(end + 4 - pc->resp);
    *end = '\0';
    cl = strcasestr(pc->resp, "\r\nContent-Length:");
    len = cl ? strtoul(cl + 17, NULL, 10) : 0;
    closing = strcasestr(pc->resp, "\r\nConnection: close") != NULL;
    *end = '\r';
    if (pc->rlen < head + len)
        return 0;
    status = strncmp(pc->resp, "HTTP/1.1 ", 9) == 0 ? atoi(pc->resp + 9) : 0;
    body = pc->resp + head;
    if (pc->p->o->proto == WSB_NCHAN)
        ok = status >= 200 && status <= 202;
    else
        ok = status == 200 && len >= 9 && memmem(body, len, "\"ok\":true", 9);
    if (!ok) {
        char why[256];
        snprintf(why, sizeof(why), "HTTP %d %.*s", status,
                 (int)(len > 160 ? 160 : len), body);
        pc_done(pc, 0, why);
    } else if (pc->busy) {
        pc_done(pc, 1, NULL);
    }
    pc->rlen -= head + len;
    memmove(pc->resp, pc->resp + head + len, pc->rlen);
    if (closing)
        pc_lost(pc, "server closed the connection");
    return 1;
}

static void
pc_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pconn *pc = arg;
    struct wsb_pub *p = pc->p;
    ssize_t r;

    (void)fd;
    if (what & EV_WRITE) {
        pc_flush(pc);
        if (pc->fd == -1)
            return;
    }
    if (!(what & EV_READ))
        return;
    r = recv(pc->fd, pc->resp + pc->rlen, RESP_CAP - pc->rlen, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0 || pc->rlen + (size_t)r >= RESP_CAP) {
        pc_lost(pc, r == 0 ? "connection closed" : "recv failed");
        pump(p);
        return;
    }
    pc->rlen += (size_t)r;
    while (pc->fd != -1 && pc_response(pc))
        ;
    pump(p);
}

/* Start requests on idle connections, within --rate and --max-lag. */
static void
pump(struct wsb_pub *p)
{
    const struct wsb_opts *o = p->o;
    uint64_t now = wsb_now(), sent = 0;
    unsigned busy = 0;

    if (now >= p->t_end)
        p->stopping = 1;
    for (unsigned i = 0; i < p->k; i++) {
        busy += p->pc[i].busy;
        sent += p->pc[i].sent;
    }
    if (p->limit && sent >= p->limit)
        p->stopping = 1;
    if (p->stopping) {
        if (busy == 0 || now >= p->t_end + 5000000000ull)
            event_base_loopbreak(p->base);
        return;
    }
    if (o->max_lag) {
        uint64_t got = atomic_load_explicit(&p->sh->delivered,
                                            memory_order_relaxed);
        if (p->expected > got && p->expected - got > o->max_lag) {
            if (p->pause_since == 0)
                p->pause_since = now;
            return;
        }
        if (p->pause_since) {
            p->r.paused_ms += (now - p->pause_since) / 1000000;
            p->pause_since = 0;
        }
    }
    for (unsigned i = 0; i < p->k; i++) {
        struct pconn *pc = &p->pc[i];
        unsigned count = o->batch;

        if (pc->busy)
            continue;
        if (o->rate > 0) {
            double due = o->rate / p->k * (double)(now - p->t0) / 1e9;
            if (due < (double)pc->sent + 1)
                continue;
            if (due - (double)pc->sent < count)
                count = (unsigned)(due - (double)pc->sent);
        }
        if (p->limit) {
            if (sent >= p->limit)
                break;
            if (p->limit - sent < count)
                count = (unsigned)(p->limit - sent);
            sent += count;
        }
        pc_send(pc, count, now);
    }
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pump(arg);
}

struct wsb_pub *
wsb_pub_new(struct event_base *base, const struct wsb_opts *o,
            struct wsb_shared *sh)
{
    struct wsb_pub *p = calloc(1, sizeof(*p));
    size_t per = 160 + 32 * WSB_SHAPE_FANOUT + o->payload;

    if (p == NULL)
        return NULL;
    p->o = o;
    p->base = base;
    p->sh = sh;
    p->k = o->inflight < o->rooms ? o->inflight : o->rooms;
    p->pc = calloc(p->k, sizeof(*p->pc));
    p->fin = calloc(3 * (size_t)o->rooms, sizeof(uint64_t));
    p->members = calloc(o->rooms, sizeof(uint64_t));
    p->pad = malloc(o->payload + 1);
    p->mp = malloc(256 + o->payload);
    p->tick = event_new(base, -1, EV_PERSIST, tick_cb, p);
    if (!p->pc || !p->fin || !p->members || !p->pad || !p->mp || !p->tick)
        goto fail;
    wsb_pad_fill(p->pad, o);
    for (unsigned r = 0; r < o->rooms; r++)
        p->members[r] = atomic_load_explicit(&sh->members[r],
                                             memory_order_relaxed);
    for (unsigned i = 0; i < p->k; i++) {
        struct pconn *pc = &p->pc[i];
        pc->p = p;
        pc->fd = -1;
        pc->id = pc->cursor = i;
        pc->admin = o->shape == WSB_SHAPE_EMIT ? &o->redis
                                               : &o->admin_nodes[i % o->nadmin];
        pc->dst.sin_family = AF_INET;
        pc->dst.sin_port = htons((uint16_t)pc->admin->port);
        inet_pton(AF_INET, pc->admin->host, &pc->dst.sin_addr);
        pc->reqcap = HDR_RESERVE + 16 + per * o->batch;
        pc->req = malloc(pc->reqcap);
        pc->resp = malloc(RESP_CAP + 1);
        pc->mroom = calloc(o->batch, sizeof(uint32_t));
        pc->mseq = calloc(o->batch, sizeof(uint64_t));
        if (!pc->req || !pc->resp || !pc->mroom || !pc->mseq
            || pc_connect(pc) == -1)
            goto fail;
    }
    return p;
fail:
    wsb_pub_free(&p);
    return NULL;
}

void
wsb_pub_run(struct wsb_pub *p, uint64_t t_end)
{
    struct timeval tv = {0, 1000};

    p->t0 = p->r.t_start = wsb_now();
    p->t_end = t_end;
    event_add(p->tick, &tv);
    pump(p);
    event_base_dispatch(p->base);
    event_del(p->tick);
    for (unsigned i = 0; i < p->k; i++)
        if (p->pc[i].busy)
            pc_done(&p->pc[i], 0, "no answer within 5 s of the end");
    p->r.t_end = wsb_now();
}

void
wsb_pub_count(struct wsb_pub *p, uint64_t n)
{
    uint64_t sent = 0;

    for (unsigned i = 0; i < p->k; i++)
        sent += p->pc[i].sent;
    p->limit = sent + n;
    p->stopping = 0;
    if (n)
        wsb_pub_run(p, wsb_now() + 30000000000ull);
    p->limit = 0;
}

const uint64_t *
wsb_pub_final(const struct wsb_pub *p)
{
    return p->fin;
}

void
wsb_pub_result(const struct wsb_pub *p, struct wsb_pub_result *r)
{
    *r = p->r;
}

void
wsb_pub_free(struct wsb_pub **pp)
{
    struct wsb_pub *p = *pp;

    if (p == NULL)
        return;
    for (unsigned i = 0; p->pc && i < p->k; i++) {
        pc_close(&p->pc[i]);
        free(p->pc[i].req);
        free(p->pc[i].resp);
        free(p->pc[i].mroom);
        free(p->pc[i].mseq);
    }
    if (p->tick)
        event_free(p->tick);
    free(p->pc);
    free(p->fin);
    free(p->members);
    free(p->pad);
    free(p->mp);
    free(p);
    *pp = NULL;
}
