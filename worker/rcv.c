/*
 * Recovery, worker side (rcv.h): encodes put, hold and drop messages
 * (shm/smsg.h) onto this worker's SOCK_SEQPACKET channel to the master,
 * one datagram each, keeps those the socket cannot take yet in a bounded
 * FIFO flushed on EV_WRITE (so the order of one connection's messages is
 * kept), and reads the session table (shm/sess.h) for lookups. The master
 * applies the messages; the Socket.IO layer decides when to send them.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/config.h"
#include "common/log.h"
#include "common/wsg.h"
#include "shm/sess.h"
#include "shm/pmsg.h"
#include "shm/smsg.h"
#include "worker/rcv.h"
#include "worker/wctr.h"

#define RCV_LOG_EVERY_MS 10000
#define RCV_FETCHED 32 /* answered fetches remembered */

struct rcv_msg {
    struct rcv_msg *next;
    size_t len;
    unsigned char data[];
};

static struct {
    const struct sess_table *t;
    int fd;
    int on;
    int cluster;        /* redis_url set: sessions may be on other nodes */
    struct event *ev_w, *ev_r;
    char fetched[RCV_FETCHED][SESS_ID_LEN + 1]; /* answered, not consumed */
    unsigned fetched_next;
    rcv_query_fn qfn;      /* presence queries (rcv_on_query) */
    struct rcv_msg *head, *tail;
    size_t qbytes;
    uint64_t next_tag;
    int64_t drop_logged_at;
    unsigned char buf[SMSG_MAX];
} R = {.fd = -1};

static int rcv_send(const unsigned char *b, size_t n);
static int rcv_send_now(const unsigned char *b, size_t n);
static void rcv_write_cb(evutil_socket_t fd, short what, void *arg);
static void rcv_lost(const char *why);
static uint64_t rcv_stamp(void);
static void rcv_read_cb(evutil_socket_t fd, short what, void *arg);

int
rcv_init(struct event_base *base, const struct cfg *c, int chan_fd,
    const void *table)
{
    size_t len = sess_size((uint32_t)CFG_NUM(c, max_recoverable_sessions));

    R.fd = chan_fd;
    R.next_tag = (uint64_t)wsg_real_ms() << 20;
    if (table != NULL && len > 0) {
        if (sess_check(table, len) != SESS_OK) {
            log_msg(LOG_ERR, "recovery store: the shared table fails its "
                "checks; recovery is off in this worker");
        } else {
            R.t = table;
            /* Only the master writes it: a stray store here faults. */
            if (mprotect((void *)(uintptr_t)table, len, PROT_READ) == -1)
                log_errno(LOG_WARNING, "mprotect() of the recovery store");
        }
    }
    R.on = R.t != NULL && R.fd != -1 && CFG_NUM(c, recovery_window) > 0;
    R.cluster = CFG_STR(c, redis_url)[0] != '\0';
    if (R.fd != -1) {
        R.ev_w = event_new(base, R.fd, EV_WRITE, rcv_write_cb, NULL);
        R.ev_r = event_new(base, R.fd, EV_READ | EV_PERSIST, rcv_read_cb,
            NULL);
        if (R.ev_w == NULL || R.ev_r == NULL || event_add(R.ev_r, NULL) == -1)
            return -1;
    }
    return 0;
}

int
rcv_fetch(const char *pid)
{
    size_t n;

    if (!R.on || !R.cluster
        || (n = smsg_end(R.buf, sizeof(R.buf), SMSG_FETCH, 0, pid)) == 0)
        return -1;
    return rcv_send(R.buf, n);
}

int
rcv_fetched(const char *pid)
{
    for (unsigned i = 0; i < RCV_FETCHED; i++)
        if (R.fetched[i][0] && strcmp(R.fetched[i], pid) == 0) {
            R.fetched[i][0] = '\0';
            return 1;
        }
    return 0;
}

void
rcv_on_query(rcv_query_fn fn)
{
    R.qfn = fn;
}

int
rcv_send_any(const unsigned char *b, size_t n)
{
    return R.fd == -1 ? -1 : rcv_send(b, n);
}

/* The master's answers (SMSG_FETCHED), noted for rcv_fetched, and its
 * presence queries (shm/pmsg.h), passed to rcv_on_query's function. */
static void
rcv_read_cb(evutil_socket_t fd, short what, void *arg)
{
    static struct sess_rec r;
    unsigned char b[PMSG_QUERY_MAX + 1];
    int type;

    (void)what;
    (void)arg;
    for (;;) {
        ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT | MSG_TRUNC);
        if (n <= 0) {
            if (n == 0 || (errno != EAGAIN && errno != EINTR))
                event_del(R.ev_r); /* the master is gone */
            if (n == -1 && errno == EINTR)
                continue;
            return;
        }
        if ((size_t)n < sizeof(b) && b[0] == PMSG_QUERY) {
            if (R.qfn)
                R.qfn(b, (size_t)n);
            continue;
        }
        if ((size_t)n > sizeof(b) || smsg_decode(b, (size_t)n, &type, &r)
                != SMSG_OK || type != SMSG_FETCHED)
            continue;
        memcpy(R.fetched[R.fetched_next++ % RCV_FETCHED], r.pid,
            sizeof(r.pid));
    }
}

int
rcv_put(uint64_t tag, const char *pid, const char *sid, const char *nsp,
    const char *user, const char *const *rooms, const size_t *room_lens,
    size_t nrooms)
{
    size_t n;

    if (!R.on)
        return -1;
    n = smsg_put(R.buf, sizeof(R.buf), tag, rcv_stamp(), pid, sid, nsp, user,
        rooms, room_lens, nrooms);
    if (n == 0) {
        WCTR_INC(recovery_not_stored);
        return -1;
    }
    return rcv_send(R.buf, n);
}

void
rcv_hold(uint64_t tag, const char *pid)
{
    size_t n;

    if (R.on && (n = smsg_end(R.buf, sizeof(R.buf), SMSG_HOLD, tag, pid)))
        (void)rcv_send(R.buf, n);
}

void
rcv_drop(uint64_t tag, const char *pid)
{
    size_t n;

    if (R.on && (n = smsg_end(R.buf, sizeof(R.buf), SMSG_DROP, tag, pid)))
        (void)rcv_send(R.buf, n);
}

int
rcv_lookup(const char *pid, struct rcv_session *out)
{
    static struct sess_rec r;

    if (!R.on || pid == NULL
        || sess_lookup(R.t, pid, wsg_real_ms(), &r) != SESS_OK)
        return -1;
    memcpy(out->pid, r.pid, sizeof(out->pid));
    memcpy(out->sid, r.sid, sizeof(out->sid));
    memcpy(out->nsp, r.nsp, sizeof(out->nsp));
    memcpy(out->user, r.user, sizeof(out->user));
    memcpy(out->rooms, r.rooms, r.rooms_len);
    out->rooms_len = r.rooms_len;
    out->state = (int)r.state;
    out->owner = r.owner;
    out->tag = r.tag;
    out->until_ms = r.until_ms;
    return 0;
}

uint64_t
rcv_tag(void)
{
    return ++R.next_tag;
}

int
rcv_enabled(void)
{
    return R.on;
}

void
rcv_flush(int timeout_ms)
{
    int64_t end = wsg_mono_ms() + timeout_ms;

    while (R.head != NULL) {
        struct pollfd p = {.fd = R.fd, .events = POLLOUT};
        int64_t left = end - wsg_mono_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        struct rcv_msg *m = R.head;
        int rc = rcv_send_now(m->data, m->len);
        if (rc == 1)
            continue;
        if (rc == -1)
            break;
        R.head = m->next;
        R.qbytes -= sizeof(*m) + m->len;
        free(m);
    }
    if (R.head == NULL)
        R.tail = NULL;
    else
        rcv_lost("the worker exits");
}

/* Send now, or queue behind what already waits. 0, or -1 (dropped). */
static int
rcv_send(const unsigned char *b, size_t n)
{
    struct rcv_msg *m;

    if (R.head == NULL) {
        int rc = rcv_send_now(b, n);
        if (rc == 0)
            return 0;
        if (rc == -1) {
            WCTR_INC(recovery_queue_drops);
            return -1;
        }
    }
    if (R.qbytes + sizeof(*m) + n > RCV_QUEUE_BYTES
        || (m = malloc(sizeof(*m) + n)) == NULL) {
        WCTR_INC(recovery_queue_drops);
        int64_t now = wsg_mono_ms();
        if (now - R.drop_logged_at >= RCV_LOG_EVERY_MS) {
            log_msg(LOG_WARNING, "recovery channel: %zu bytes queued for the "
                "master; dropping messages (see recovery_queue_drops)",
                R.qbytes);
            R.drop_logged_at = now;
        }
        return -1;
    }
    m->next = NULL;
    m->len = n;
    memcpy(m->data, b, n);
    if (R.tail)
        R.tail->next = m;
    else
        R.head = m;
    R.tail = m;
    R.qbytes += sizeof(*m) + n;
    if (R.head == m)
        event_add(R.ev_w, NULL);
    return 0;
}

/* One datagram: 0 sent, 1 the socket is full, -1 it failed (logged). */
static int
rcv_send_now(const unsigned char *b, size_t n)
{
    for (;;) {
        ssize_t k = send(R.fd, b, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k == (ssize_t)n)
            return 0;
        if (k == -1 && errno == EINTR)
            continue;
        if (k == -1 && (errno == EAGAIN || errno == ENOBUFS))
            return 1;
        if (k >= 0)
            errno = EMSGSIZE; /* a datagram is never cut */
        int64_t now = wsg_mono_ms();
        if (now - R.drop_logged_at >= RCV_LOG_EVERY_MS) {
            log_errno(LOG_ERR, "send() on the recovery channel");
            R.drop_logged_at = now;
        }
        return -1;
    }
}

static void
rcv_write_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    while (R.head != NULL) {
        struct rcv_msg *m = R.head;
        int rc = rcv_send_now(m->data, m->len);
        if (rc == 1) {
            event_add(R.ev_w, NULL);
            return;
        }
        if (rc == -1) {
            rcv_lost("the channel failed");
            return;
        }
        R.head = m->next;
        R.qbytes -= sizeof(*m) + m->len;
        free(m);
    }
    R.tail = NULL;
}

/* Drop everything queued, counting each message. */
static void
rcv_lost(const char *why)
{
    size_t k = 0;

    while (R.head != NULL) {
        struct rcv_msg *m = R.head;
        R.head = m->next;
        free(m);
        k++;
    }
    R.tail = NULL;
    R.qbytes = 0;
    WCTR_ADD(recovery_queue_drops, k);
    log_msg(LOG_WARNING, "recovery channel: %zu queued messages lost (%s)",
        k, why);
}

static uint64_t
rcv_stamp(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
