/*
 * Readiness of the worker's client sockets (see pol.h): one epoll set,
 * read in batches when libevent reports the set readable. What each
 * descriptor is for is the caller's; pol keeps only the batch it is
 * dispatching, so that a descriptor removed by an earlier callback of
 * the batch is skipped (its owner may be freed).
 */
#include <errno.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "worker/pol.h"

#define POL_BATCH 256 /* events per read of the set */
#define POL_ROUNDS 16 /* reads per wake-up (4,096 events, as libevent's
                       * own epoll backend at most); the rest next round */

static void pol_cb(evutil_socket_t fd, short what, void *arg);
static int pol_batch(void);

static struct {
    int ep;
    struct event *ev;
    pol_fn fn;
    struct epoll_event batch[POL_BATCH];
    int n, i;             /* the batch being dispatched, and where */
} P = {.ep = -1};

int
pol_init(struct event_base *base, pol_fn fn)
{
    P.fn = fn;
    P.ep = epoll_create1(EPOLL_CLOEXEC);
    if (P.ep == -1) {
        log_errno(LOG_ERR, "epoll_create1() for the client sockets");
        return -1;
    }
    P.ev = event_new(base, P.ep, EV_READ | EV_PERSIST, pol_cb, NULL);
    if (P.ev == NULL || event_add(P.ev, NULL) == -1) {
        log_msg(LOG_ERR, "event for the client sockets' epoll set failed");
        return -1;
    }
    return 0;
}

static uint32_t
pol_mask(unsigned what)
{
    return ((what & POL_READ) ? EPOLLIN : 0)
        | ((what & POL_WRITE) ? EPOLLOUT : 0);
}

int
pol_add(int fd, void *arg, unsigned what)
{
    struct epoll_event e = {.events = pol_mask(what), .data.ptr = arg};

    return epoll_ctl(P.ep, EPOLL_CTL_ADD, fd, &e);
}

int
pol_mod(int fd, void *arg, unsigned what)
{
    struct epoll_event e = {.events = pol_mask(what), .data.ptr = arg};

    return epoll_ctl(P.ep, EPOLL_CTL_MOD, fd, &e);
}

void
pol_del(int fd, void *arg)
{
    struct epoll_event e = {0}; /* kernels before 2.6.9 want one */

    if (epoll_ctl(P.ep, EPOLL_CTL_DEL, fd, &e) == -1 && errno != ENOENT
        && errno != EBADF)
        log_errno(LOG_ERR, "epoll_ctl(DEL) fd %d", fd);
    for (int i = P.i; i < P.n; i++)
        if (P.batch[i].data.ptr == arg)
            P.batch[i].data.ptr = NULL;
}

static void
pol_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    for (int r = 0; r < POL_ROUNDS && pol_batch() == POL_BATCH; r++)
        ;
}

/* Read one batch of the set and dispatch it; returns its size. */
static int
pol_batch(void)
{
    int n = epoll_wait(P.ep, P.batch, POL_BATCH, 0);

    if (n == -1) {
        if (errno != EINTR)
            log_errno(LOG_ERR, "epoll_wait() on the client sockets");
        return 0;
    }
    P.n = n;
    for (P.i = 0; P.i < P.n;) {
        struct epoll_event *e = &P.batch[P.i++];
        unsigned w = 0;
        if (e->data.ptr == NULL)
            continue; /* removed by an earlier callback */
        if (e->events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
            w |= POL_READ;
        if (e->events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            w |= POL_WRITE;
        P.fn(e->data.ptr, w);
    }
    P.n = P.i = 0;
    return n;
}
