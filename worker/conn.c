/*
 * Connection layer of a worker. Owns sockets, their readiness (in the
 * worker's one epoll set, pol.c) and buffers, the all-connections list, deadline queues and the flush batch:
 * protocols queue bytes and mark the connection dirty; one deferred flush
 * per loop iteration writes each dirty connection with a single writev, so
 * fan-out costs one syscall per connection per batch, not per message.
 * Buffers are allocated on first use and freed when empty, keeping an idle
 * connection small. Protocol logic lives in http.c / ws.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "common/log.h"
#include "common/wsg.h"
#include "worker/conn.h"
#include "worker/lmt.h"
#include "worker/pol.h"
#include "worker/wctr.h"
#include "worker/wev.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define CONN_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define CONN_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define CONN_POISON(p, n) ((void)(p), (void)(n))
#define CONN_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define CONN_READ_CHUNK 16384
#define CONN_READ_MAX 65536 /* per wakeup, for fairness */
#define CONN_LINGER_MS 5000 /* bound on flushing a closing connection */

enum {
    CONN_F_DIRTY = 1u << 0,   /* on the flush list */
    CONN_F_WWAIT = 1u << 1,   /* write event armed (socket full) */
    CONN_F_CLOSING = 1u << 2, /* close once output is written */
    CONN_F_SHUT = 1u << 3,    /* write side shut down, draining input */
    CONN_F_OVER = 1u << 4,    /* slow consumer: bound no longer checked */
    CONN_F_GONE = 1u << 5,    /* conn_close_later: on the reap list */
    CONN_F_PERSIST = 1u << 6, /* HTTP: the request allows keep-alive */
    CONN_F_REASON = 1u << 7,  /* close_reason is a copy c owns */
    CONN_F_LIMIT = 1u << 8,   /* counted by conn_limit_begin */
    CONN_F_EVENT = 1u << 9,   /* its connect went to the event log */
    CONN_F_IO = 1u << 10,     /* reads and writes go through C.io (TLS) */
    CONN_F_SLOW = 1u << 11,   /* its overflow was the event (conn_over) */
    CONN_F_POLLED = 1u << 12, /* its socket is in the epoll set (pol) */
    CONN_F_POLLOUT = 1u << 13, /* ... watched for writing too */
    CONN_F_ROOM = 1u << 14,   /* its room holds a protocol's state */
};

struct conn {
    int fd;
    unsigned flags;
    const struct conn_proto *proto;
    void *st;
    struct evbuffer *in, *out;
    struct conn *prev, *next;     /* all connections */
    struct conn *dprev, *dnext;   /* flush list */
    struct dlq_node qn;           /* in the deadline queue q */
    struct conn_tq *q;
    const char *close_reason;
    /* The peer's address, 19 bytes rather than a 28-byte sockaddr_in6
     * (its flow and scope are not used): one per connection. */
    unsigned char peer_ip[16];    /* IPv4 in the first 4 */
    uint16_t peer_port;           /* network order */
    uint8_t peer_family;          /* AF_INET, AF_INET6, 0: unknown */
};
/* With the 32-byte room (struct ws, struct http_st) one 176-byte chunk;
 * the room follows at c + 1, aligned for pointers. */
_Static_assert(sizeof(struct conn) <= 136, "struct conn + room fits 176");
_Static_assert(sizeof(struct conn) % 8 == 0, "the room is 8-aligned");

static struct {
    struct event_base *base;
    struct conn *all;
    size_t count;
    struct conn *dirty;
    struct event *flush_ev;
    size_t max_out;
    struct conn_tq closing;
    struct conn *reap;            /* conn_close_later, via dnext */
    conn_flushed_fn after;        /* conn_after_flush, once */
    const struct conn_io *io;     /* conn_set_io; kept out of struct conn */
    size_t room;                  /* conn_reserve */
} C = {.closing = {.timeout_ms = CONN_LINGER_MS,
           .reason = "peer did not read the final bytes in time"}};

static void conn_ready(void *arg, unsigned what);
static int conn_read_ready(struct conn *c);
static int conn_write_ready(struct conn *c);
static int conn_want_write(struct conn *c);
static void conn_unpoll(struct conn *c);
static void conn_flush_cb(evutil_socket_t fd, short what, void *arg);
static int conn_flush(struct conn *c);

/* The plain path is one predictable flag test away from the system call;
 * the transport's state lives outside struct conn (an idle plain
 * connection does not grow). */
static inline int
conn_io_read(struct conn *c, int max)
{
    if (__builtin_expect((c->flags & CONN_F_IO) != 0, 0))
        return C.io->read(c, c->in, max);
    return evbuffer_read(c->in, c->fd, max);
}

static inline int
conn_io_write(struct conn *c)
{
    if (__builtin_expect((c->flags & CONN_F_IO) != 0, 0))
        return C.io->write(c, c->out);
    return evbuffer_write(c->out, c->fd);
}

int
conn_init(struct event_base *base, size_t max_outbound)
{
    C.base = base;
    C.max_out = max_outbound;
    C.flush_ev = event_new(base, -1, 0, conn_flush_cb, NULL);
    if (C.flush_ev == NULL)
        return -1;
    return pol_init(base, conn_ready);
}

void
conn_reserve(size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (n > C.room)
        C.room = n;
}

void *
conn_st_alloc(struct conn *c, size_t n)
{
    if (n > C.room || (c->flags & CONN_F_ROOM))
        return calloc(1, n ? n : 1);
    c->flags |= CONN_F_ROOM;
    CONN_UNPOISON(c + 1, C.room);
    return memset(c + 1, 0, C.room);
}

void
conn_st_free(struct conn *c, void *p)
{
    if (p == NULL)
        return;
    if (!(c->flags & CONN_F_ROOM) || p != (void *)(c + 1)) {
        free(p);
        return;
    }
    c->flags &= ~CONN_F_ROOM;
    CONN_POISON(c + 1, C.room);
}

struct conn *
conn_new(int fd, const struct conn_proto *p, void *st)
{
    struct conn *c = calloc(1, sizeof(*c) + C.room);
    socklen_t sl = sizeof(struct sockaddr_storage);
    struct sockaddr_storage ss;

    if (c == NULL) {
        log_msg(LOG_ERR, "out of memory for a connection");
        close(fd);
        return NULL;
    }
    CONN_POISON(c + 1, C.room);
    c->fd = fd;
    c->proto = p;
    c->st = st;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
            c->peer_family = AF_INET6;
            c->peer_port = s6->sin6_port;
            memcpy(c->peer_ip, &s6->sin6_addr, 16);
        } else if (ss.ss_family == AF_INET) {
            const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
            c->peer_family = AF_INET;
            c->peer_port = s4->sin_port;
            memcpy(c->peer_ip, &s4->sin_addr, 4);
        }
    }
    if (pol_add(fd, c, POL_READ) == -1) {
        log_errno(LOG_ERR, "epoll_ctl(ADD) for a new connection");
        close(fd);
        free(c);
        return NULL;
    }
    c->flags |= CONN_F_POLLED;
    c->next = C.all;
    if (C.all)
        C.all->prev = c;
    C.all = c;
    C.count++;
    WCTR_INC(conn_accepted);
    WCTR_INC(conn_open);
    if (log_get_level() >= LOG_INFO)
        log_msg(LOG_INFO, "connection from %s opened", conn_peer(c));
    return c;
}

int
conn_fd(const struct conn *c)
{
    return c->fd;
}

size_t
conn_peer_ip(const struct conn *c, unsigned char ip[16])
{
    if (c->peer_family == AF_INET) {
        memcpy(ip, c->peer_ip, 4);
        return 4;
    }
    if (c->peer_family == AF_INET6) {
        /* An IPv4-mapped address is the IPv4 client it stands for. */
        static const unsigned char v4mapped[12] = {[10] = 0xff, [11] = 0xff};
        if (memcmp(c->peer_ip, v4mapped, 12) == 0) {
            memcpy(ip, c->peer_ip + 12, 4);
            return 4;
        }
        memcpy(ip, c->peer_ip, 16);
        return 16;
    }
    return 0;
}

int
conn_limit_begin(struct conn *c, struct lmt_refusal *why)
{
    unsigned char ip[16];
    size_t n = conn_peer_ip(c, ip);
    uint64_t key;

    if (lmt_conn_begin(ip, n, &key, why) == -1)
        return -1;
    c->flags |= CONN_F_LIMIT;
    return 0;
}

const char *
conn_peer(const struct conn *c)
{
    static char buf[INET6_ADDRSTRLEN + 8];
    char a[INET6_ADDRSTRLEN] = "?";

    if (c->peer_family == AF_INET)
        inet_ntop(AF_INET, c->peer_ip, a, sizeof(a));
    else if (c->peer_family == AF_INET6)
        inet_ntop(AF_INET6, c->peer_ip, a, sizeof(a));
    snprintf(buf, sizeof(buf), "%s:%u", a, ntohs(c->peer_port));
    return buf;
}

static void
conn_unlink_dirty(struct conn *c)
{
    if (!(c->flags & CONN_F_DIRTY))
        return;
    if (c->dprev)
        c->dprev->dnext = c->dnext;
    else
        C.dirty = c->dnext;
    if (c->dnext)
        c->dnext->dprev = c->dprev;
    c->dprev = c->dnext = NULL;
    c->flags &= ~CONN_F_DIRTY;
}

/* Keep reason for the close that comes later: callers pass their own
 * buffers (a kick's reason, a peer's close frame), gone by then. Only
 * closing connections hold a copy. */
static void
conn_set_reason(struct conn *c, const char *reason)
{
    char *copy = strdup(reason ? reason : "closed");

    if (c->flags & CONN_F_REASON)
        free((char *)c->close_reason);
    c->close_reason = copy ? copy : "closed";
    c->flags = copy ? c->flags | CONN_F_REASON : c->flags & ~CONN_F_REASON;
}

void
conn_event_arm(struct conn *c)
{
    c->flags |= CONN_F_EVENT;
}

void
conn_event_connect(struct conn *c, const char *what)
{
    if ((c->flags & CONN_F_EVENT) && wev_on())
        wev_add(EVQ_CONNECT, 0, conn_peer(c), what);
}

void
conn_event_quiet(struct conn *c)
{
    c->flags &= ~CONN_F_EVENT;
}

/* Whether c's close goes to the event log: that of a client connection
 * whose connect did; of a plain HTTP request (a poll, a status request),
 * only a limit or slow-consumer close, or a timeout (a head or body
 * trickled in). A hand-off moves the socket to another worker: not a
 * disconnect. */
static int
conn_close_noted(const struct conn *c, const char *reason)
{
    /* An overflow was the event already (conn_over): its close that
     * follows is that event's end, not another. */
    if (reason == NULL || strncmp(reason, "handed off", 10) == 0
        || (c->flags & CONN_F_SLOW))
        return 0;
    if (c->flags & CONN_F_EVENT)
        return 1;
    return evq_close_kind(reason) != EVQ_DISCONNECT
        || strstr(reason, "in time") || strstr(reason, "timeout");
}

void
conn_close(struct conn *c, const char *reason)
{
    if (log_get_level() >= LOG_INFO)
        log_msg(LOG_INFO, "connection from %s closed: %s", conn_peer(c),
            reason);
    if (wev_on() && conn_close_noted(c, reason))
        wev_add(evq_close_kind(reason), 0, conn_peer(c), reason);
    if (c->flags & CONN_F_REASON)
        free((char *)c->close_reason); /* reason may be it: logged above */
    if (c->proto && c->proto->on_free)
        c->proto->on_free(c);
    if (c->flags & CONN_F_LIMIT) {
        unsigned char ip[16];
        size_t n = conn_peer_ip(c, ip);
        lmt_conn_end(lmt_ip_key(ip, n));
    }
    conn_tq_del(c);
    conn_unlink_dirty(c);
    conn_unpoll(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        C.all = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->in)
        evbuffer_free(c->in);
    if (c->out)
        evbuffer_free(c->out);
    if (c->flags & CONN_F_IO)
        C.io->release(c);
    close(c->fd);
    free(c);
    C.count--;
    WCTR_DEC(conn_open);
}

void
conn_close_later(struct conn *c, const char *reason)
{
    if (c->flags & CONN_F_GONE)
        return;
    conn_unlink_dirty(c);
    conn_tq_del(c);
    conn_unpoll(c);
    c->flags |= CONN_F_GONE | CONN_F_CLOSING | CONN_F_OVER;
    conn_set_reason(c, reason);
    c->dnext = C.reap;
    C.reap = c;
    event_active(C.flush_ev, 0, 0);
}

void
conn_close_after_flush(struct conn *c, const char *reason)
{
    if (c->flags & CONN_F_CLOSING)
        return;
    /* The outbound bound no longer applies: the linger timeout does. */
    c->flags |= CONN_F_CLOSING | CONN_F_OVER;
    conn_set_reason(c, reason);
    /* Input is discarded from now on; a peer that neither takes the last
     * bytes nor closes is cut off after a bounded time. */
    conn_tq_add(&C.closing, c);
    if (c->in)
        evbuffer_drain(c->in, evbuffer_get_length(c->in));
    (void)conn_mark_dirty(c);
}

int
conn_tq_in(const struct conn *c, const struct conn_tq *q)
{
    return c->q == q;
}

int
conn_closing(const struct conn *c)
{
    return (c->flags & CONN_F_CLOSING) != 0;
}

int
conn_peer_unread(const struct conn *c)
{
    int n = 0;

    return ioctl(c->fd, FIONREAD, &n) == 0 && n > 0;
}

struct evbuffer *
conn_in(struct conn *c)
{
    if (c->in == NULL)
        c->in = evbuffer_new();
    return c->in;
}

struct evbuffer *
conn_out(struct conn *c)
{
    if (c->out == NULL)
        c->out = evbuffer_new();
    return c->out;
}

void
conn_set_io(const struct conn_io *io)
{
    C.io = io;
}

void
conn_use_io(struct conn *c)
{
    if (C.io)
        c->flags |= CONN_F_IO;
}

void
conn_drop_io(struct conn *c)
{
    c->flags &= ~CONN_F_IO;
}

int
conn_uses_io(const struct conn *c)
{
    return (c->flags & CONN_F_IO) != 0;
}

int
conn_wait_write(struct conn *c)
{
    if (c->flags & CONN_F_WWAIT)
        return 0;
    return conn_want_write(c);
}

/* Watch c's socket for writing (CONN_F_WWAIT until it is writable).
 * 0, or -1 (errno set). */
static int
conn_want_write(struct conn *c)
{
    if (!(c->flags & CONN_F_POLLED))
        return -1; /* going away: nothing more is written */
    if (!(c->flags & CONN_F_POLLOUT)) {
        if (pol_mod(c->fd, c, POL_READ | POL_WRITE) == -1)
            return -1;
        c->flags |= CONN_F_POLLOUT;
    }
    c->flags |= CONN_F_WWAIT;
    return 0;
}

/* Take c's socket out of the epoll set (it is closing). */
static void
conn_unpoll(struct conn *c)
{
    if (!(c->flags & CONN_F_POLLED))
        return;
    pol_del(c->fd, c);
    c->flags &= ~(CONN_F_POLLED | CONN_F_POLLOUT | CONN_F_WWAIT);
}

void
conn_set_proto(struct conn *c, const struct conn_proto *p, void *st)
{
    c->proto = p;
    c->st = st;
}

void *
conn_state(struct conn *c)
{
    return c->st;
}

const struct conn_proto *
conn_get_proto(const struct conn *c)
{
    return c->proto;
}

void
conn_set_persistent(struct conn *c, int on)
{
    if (on)
        c->flags |= CONN_F_PERSIST;
    else
        c->flags &= ~CONN_F_PERSIST;
}

int
conn_persistent(const struct conn *c)
{
    return (c->flags & CONN_F_PERSIST) != 0;
}

size_t
conn_count(void)
{
    return C.count;
}

/* Slow-consumer check: output the peer has not taken exceeds the bound.
 * Returns 1 (c was ended through on_overflow) or 0. */
static int
conn_over(struct conn *c)
{
    if (c->out == NULL || C.max_out == 0 || (c->flags & CONN_F_OVER)
        || evbuffer_get_length(c->out) <= C.max_out)
        return 0;
    WCTR_INC(slow_consumer_closes);
    c->flags |= CONN_F_OVER | CONN_F_SLOW;
    /* The event is the overflow, now: a protocol's own end (a
     * WebSocket's close handshake) closes later with another reason, and
     * CONN_F_SLOW keeps that close from being a second event. */
    if (wev_on())
        wev_add(EVQ_SLOW, 0, conn_peer(c),
            "slow consumer: outbound buffer over its bound");
    if (c->proto->on_overflow)
        c->proto->on_overflow(c);
    else
        conn_close(c, "slow consumer: outbound buffer over its bound");
    return 1;
}

int
conn_mark_dirty(struct conn *c)
{
    if (c->flags & CONN_F_GONE)
        return 0;
    /* The bound applies to what the peer leaves unread: while the socket
     * still takes data (no write wait), the flush tries first. */
    if ((c->flags & CONN_F_WWAIT) && conn_over(c))
        return -1;
    if (c->flags & (CONN_F_DIRTY | CONN_F_WWAIT))
        return 0;
    c->flags |= CONN_F_DIRTY;
    c->dprev = NULL;
    c->dnext = C.dirty;
    if (C.dirty)
        C.dirty->dprev = c;
    C.dirty = c;
    event_active(C.flush_ev, 0, 0);
    return 0;
}

int
conn_send(struct conn *c, const void *p, size_t n)
{
    struct evbuffer *o = conn_out(c);

    if (o == NULL || evbuffer_add(o, p, n) == -1) {
        conn_close(c, "out of memory queueing output");
        return -1;
    }
    return conn_mark_dirty(c);
}

void
conn_after_flush(conn_flushed_fn fn)
{
    C.after = fn;
    event_active(C.flush_ev, 0, 0);
}

/* Write what c has queued with one writev. Returns -1 if c was closed. */
static int
conn_flush(struct conn *c)
{
    size_t len = c->out ? evbuffer_get_length(c->out) : 0;

    if (len > 0 || ((c->flags & CONN_F_IO) && conn_out(c))) {
        int n = conn_io_write(c);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                conn_close(c, errno == EPIPE || errno == ECONNRESET
                    ? "peer reset" : "write error");
                return -1;
            }
            n = 0;
        }
        WCTR_ADD(conn_written, n);
        if ((size_t)n < len) {
            /* The socket is full: wait until it takes more. */
            if (conn_want_write(c) == -1) {
                conn_close(c, "cannot wait to write");
                return -1;
            }
            return conn_over(c) ? -1 : 0;
        }
    }
    if ((c->flags & CONN_F_CLOSING) && !(c->flags & CONN_F_SHUT)) {
        /* Everything is written: half-close and wait for the peer's FIN
         * (read callback) or the linger bound. */
        c->flags |= CONN_F_SHUT;
        if (c->flags & CONN_F_IO)
            C.io->shut(c);
        if (shutdown(c->fd, SHUT_WR) == -1) {
            conn_close(c, c->close_reason);
            return -1;
        }
    }
    if (c->out) {
        /* Idle connections keep no buffer. */
        evbuffer_free(c->out);
        c->out = NULL;
    }
    return 0;
}

static void
conn_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    while (C.reap) {
        struct conn *c = C.reap;
        C.reap = c->dnext;
        c->dnext = NULL;
        conn_close(c, c->close_reason);
    }
    while (C.dirty) {
        struct conn *c = C.dirty;
        conn_unlink_dirty(c);
        (void)conn_flush(c);
    }
    if (C.after) {
        conn_flushed_fn fn = C.after;
        C.after = NULL;
        fn();
    }
}

/* What pol reports for c's socket: writable first (the flush may end
 * c), then readable. */
static void
conn_ready(void *arg, unsigned what)
{
    struct conn *c = arg;

    if ((what & POL_WRITE) && (c->flags & CONN_F_POLLOUT)
        && conn_write_ready(c) == -1)
        return;
    if (what & POL_READ)
        (void)conn_read_ready(c);
}

/* c's socket takes more: flush, and stop watching for writing unless
 * the flush filled it again. Returns -1 if c was closed (or is going). */
static int
conn_write_ready(struct conn *c)
{
    c->flags &= ~CONN_F_WWAIT;
    if (conn_flush(c) == -1)
        return -1;
    if ((c->flags & (CONN_F_WWAIT | CONN_F_POLLOUT | CONN_F_POLLED))
        == (CONN_F_POLLOUT | CONN_F_POLLED)) {
        if (pol_mod(c->fd, c, POL_READ) == -1) {
            conn_close(c, "cannot stop waiting to write");
            return -1;
        }
        c->flags &= ~CONN_F_POLLOUT;
    }
    return (c->flags & CONN_F_GONE) ? -1 : 0;
}

/* c's socket has bytes (or an end). Returns -1 if c was closed. */
static int
conn_read_ready(struct conn *c)
{
    size_t got = 0;
    int n;

    if (c->flags & CONN_F_CLOSING) {
        char sink[4096];
        ssize_t r;
        while ((r = read(c->fd, sink, sizeof(sink))) > 0)
            WCTR_ADD(conn_read, r);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            conn_close(c, c->close_reason);
            return -1;
        }
        return 0;
    }
    if (conn_in(c) == NULL) {
        conn_close(c, "out of memory reading");
        return -1;
    }
    do {
        n = conn_io_read(c, CONN_READ_CHUNK);
        if (n > 0)
            got += (size_t)n;
    } while (n == CONN_READ_CHUNK && got < CONN_READ_MAX);
    if (got > 0) {
        WCTR_ADD(conn_read, got);
        if (c->proto->on_read(c) == -1)
            return -1; /* closed */
        if (c->flags & CONN_F_CLOSING)
            return 0; /* the protocol ended it; input is discarded */
    }
    if (n == 0) {
        conn_close(c, "peer closed");
        return -1;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
        conn_close(c, errno == ECONNRESET ? "peer reset"
            : errno == EPROTO ? "TLS error" : "read error");
        return -1;
    }
    if (evbuffer_get_length(c->in) == 0) {
        evbuffer_free(c->in);
        c->in = NULL;
    }
    return 0;
}

void
conn_tq_del(struct conn *c)
{
    if (c->q == NULL)
        return;
    dlq_remove(&c->q->l, &c->qn);
    c->q = NULL;
}

void
conn_tq_add(struct conn_tq *q, struct conn *c)
{
    conn_tq_del(c);
    c->q = q;
    dlq_insert(&q->l, &c->qn, wsg_mono_ms() + q->timeout_ms);
}

void
conn_tq_expire(struct conn_tq *q, int64_t now_ms)
{
    while (q->l.head && q->l.head->due <= now_ms) {
        struct conn *c = DLQ_ENTRY(q->l.head, struct conn, qn);
        conn_tq_del(c);
        if (q->on_expire)
            q->on_expire(c);
        else
            conn_close(c, q->reason);
    }
}

void
conn_tick(int64_t now_ms)
{
    conn_tq_expire(&C.closing, now_ms);
}

void
conn_shutdown_all(void)
{
    struct conn *c = C.all, *next;

    while (c) {
        next = c->next;
        if (c->flags & CONN_F_CLOSING) {
            c = next;
            continue;
        }
        if (c->proto->on_shutdown == NULL) {
            WCTR_INC(shutdown_closes);
            conn_close(c, "server shutting down");
        } else if (c->proto->on_shutdown(c) == 0) {
            WCTR_INC(shutdown_closes);
        }
        c = next;
    }
}
