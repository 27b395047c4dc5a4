/*
 * TLS relays (tpx.h). Client to owner: what the connection decrypts is
 * written to the socketpair (the rest waits in a bounded buffer for the
 * pair's write event). Owner to client: what the pair yields goes to the
 * connection's output, bounded like any output by max_outbound_buffer.
 * The owner half-closing its end ends the client connection politely; the
 * client going away closes the pair, which the owner sees as a peer close.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "common/log.h"
#include "worker/conn.h"
#include "worker/tpx.h"
#include "worker/wctr.h"

#define TPX_READ_CHUNK 16384
#define TPX_READ_MAX 65536        /* per wakeup */
#define TPX_UP_MAX (1024 * 1024)  /* client bytes the owner has not taken */

struct tpx {
    int fd;
    struct event *rev, *wev;
    struct evbuffer *up;          /* towards the owner */
};

static int tpx_on_read(struct conn *c);
static int tpx_on_shutdown(struct conn *c);
static void tpx_on_free(struct conn *c);
static void tpx_pair_read_cb(evutil_socket_t fd, short what, void *arg);
static void tpx_pair_write_cb(evutil_socket_t fd, short what, void *arg);

static struct event_base *tpx_base;

static const struct conn_proto tpx_proto = {
    .name = "tls-relay",
    .on_read = tpx_on_read,
    .on_shutdown = tpx_on_shutdown,
    .on_free = tpx_on_free,
};

void
tpx_init(struct event_base *base)
{
    tpx_base = base;
}

int
tpx_start(struct conn *c, int pfd)
{
    const struct conn_proto *p = conn_get_proto(c);
    struct event_base *base;
    struct tpx *t = calloc(1, sizeof(*t));

    if (t == NULL) {
        close(pfd);
        conn_close(c, "out of memory for a TLS relay");
        return -1;
    }
    t->fd = pfd;
    base = tpx_base;
    t->up = evbuffer_new();
    t->rev = event_new(base, pfd, EV_READ | EV_PERSIST, tpx_pair_read_cb, c);
    t->wev = event_new(base, pfd, EV_WRITE, tpx_pair_write_cb, c);
    if (p && p->on_free)
        p->on_free(c);
    conn_tq_del(c);
    conn_set_proto(c, &tpx_proto, t);
    if (t->up == NULL || t->rev == NULL || t->wev == NULL
        || event_add(t->rev, NULL) == -1) {
        conn_close(c, "out of memory for a TLS relay");
        return -1;
    }
    if (conn_in(c))
        evbuffer_drain(conn_in(c), evbuffer_get_length(conn_in(c)));
    WCTR_INC(tls_relays);
    return 0;
}

/* Write what waits for the owner. 0, or -1 after closing c. */
static int
tpx_push(struct conn *c, struct tpx *t)
{
    if (evbuffer_get_length(t->up) > 0
        && evbuffer_write(t->up, t->fd) == -1 && errno != EAGAIN
        && errno != EINTR) {
        conn_close(c, "session's worker closed the relay");
        return -1;
    }
    if (evbuffer_get_length(t->up) > TPX_UP_MAX) {
        conn_close(c, "session's worker does not take the requests");
        return -1;
    }
    if (evbuffer_get_length(t->up) > 0)
        event_add(t->wev, NULL);
    return 0;
}

static int
tpx_on_read(struct conn *c)
{
    struct tpx *t = conn_state(c);
    struct evbuffer *in = conn_in(c);

    if (in && evbuffer_add_buffer(t->up, in) == -1) {
        conn_close(c, "out of memory relaying");
        return -1;
    }
    return tpx_push(c, t);
}

/* A drain leaves the relay to the owner's decision (its own drain or
 * reply ends it); shutdown_timeout bounds it. */
static int
tpx_on_shutdown(struct conn *c)
{
    (void)c;
    return 1;
}

static void
tpx_on_free(struct conn *c)
{
    struct tpx *t = conn_state(c);

    if (t == NULL)
        return;
    if (t->rev)
        event_free(t->rev);
    if (t->wev)
        event_free(t->wev);
    if (t->up)
        evbuffer_free(t->up);
    close(t->fd);
    free(t);
}

static void
tpx_pair_write_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    (void)fd;
    (void)what;
    (void)tpx_push(c, conn_state(c));
}

static void
tpx_pair_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    struct tpx *t = conn_state(c);
    struct evbuffer *o = conn_out(c);
    size_t got = 0;
    int n;

    (void)what;
    if (o == NULL) {
        conn_close(c, "out of memory relaying");
        return;
    }
    do {
        n = evbuffer_read(o, fd, TPX_READ_CHUNK);
        if (n > 0)
            got += (size_t)n;
    } while (n == TPX_READ_CHUNK && got < TPX_READ_MAX);
    if (got > 0 && conn_mark_dirty(c) == -1)
        return; /* slow consumer, ended */
    if (n == 0) {
        /* The owner is done with this connection. */
        event_del(t->rev);
        conn_close_after_flush(c, "session's worker ended the connection");
        return;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR)
        conn_close(c, "relay read error");
}
