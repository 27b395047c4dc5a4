/*
 * Hand-offs (hof.h). One datagram per request: the bytes already read
 * plus the socket in an SCM_RIGHTS control message. The receiver adopts
 * the socket as a fresh connection with those bytes in its input, so the
 * request is parsed again and finds its session locally.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "common/log.h"
#include "shm/layout.h"
#include "worker/conn.h"
#include "worker/hof.h"
#include "worker/http.h"
#include "worker/tpx.h"
#include "worker/wctr.h"

static struct {
    const struct shm_segment *seg;
    int recv_fd;
    int send_fds[SHM_MAX_WORKERS];
    int rec_send_fds[SHM_NRECORDS];
    unsigned n;
    struct event *ev, *rec_ev;
    unsigned char *buf;
} H = {.recv_fd = -1};

static void hof_recv_cb(evutil_socket_t fd, short what, void *arg);
static void hof_send(struct conn *c, int sfd, const char *what,
    unsigned which);

int
hof_init(struct event_base *base, const struct shm_segment *seg,
    int recv_fd, const int *send_fds, unsigned n, int rec_recv_fd,
    const int *rec_send_fds)
{
    H.seg = seg;
    H.recv_fd = recv_fd;
    H.n = n < SHM_MAX_WORKERS ? n : SHM_MAX_WORKERS;
    for (unsigned i = 0; i < H.n; i++)
        H.send_fds[i] = send_fds[i];
    for (unsigned i = 0; i < SHM_NRECORDS; i++)
        H.rec_send_fds[i] = rec_send_fds ? rec_send_fds[i] : -1;
    H.buf = malloc(HOF_MAX_DATA);
    if (H.buf == NULL)
        return -1;
    if (rec_recv_fd != -1) {
        H.rec_ev = event_new(base, rec_recv_fd, EV_READ | EV_PERSIST,
            hof_recv_cb, NULL);
        if (H.rec_ev == NULL || event_add(H.rec_ev, NULL) == -1)
            return -1;
    }
    if (recv_fd == -1)
        return 0;
    H.ev = event_new(base, recv_fd, EV_READ | EV_PERSIST, hof_recv_cb, NULL);
    return H.ev && event_add(H.ev, NULL) == 0 ? 0 : -1;
}

int
hof_rec_alive(unsigned rec)
{
    uint32_t st;

    if (rec >= SHM_NRECORDS || H.seg == NULL)
        return 0;
    st = atomic_load(&H.seg->rec[rec].state);
    return st == SHM_STARTING || st == SHM_RUNNING || st == SHM_DRAINING;
}

void
hof_forward_rec(struct conn *c, unsigned rec)
{
    hof_send(c, rec < SHM_NRECORDS ? H.rec_send_fds[rec] : -1, "record",
        rec);
}

void
hof_stop(void)
{
    if (H.ev)
        event_del(H.ev);
}

void
hof_forward(struct conn *c, unsigned slot)
{
    hof_send(c, slot < H.n ? H.send_fds[slot] : -1, "slot", slot);
}

static void
hof_send(struct conn *c, int sfd, const char *what, unsigned which)
{
    struct evbuffer *in = conn_in(c);
    size_t n = in ? evbuffer_get_length(in) : 0;
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct iovec iov;
    struct msghdr mh = {0};
    int fd = conn_fd(c), pair[2] = {-1, -1};

    if (sfd != -1 && n <= HOF_MAX_DATA && conn_uses_io(c)) {
        /* TLS stays here: the owner gets a socketpair end instead, and
         * this worker relays (doc/design-tls.md). */
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                0, pair) == -1) {
            log_errno(LOG_WARNING, "socketpair() for a TLS relay");
            pair[0] = pair[1] = -1;
            sfd = -1;
        }
        fd = pair[1];
    }
    if (sfd == -1 || n > HOF_MAX_DATA) {
        WCTR_INC(handoff_failures);
        http_error(c, 400, "UNKNOWN_SESSION", "session unknown", NULL);
        return;
    }
    iov.iov_base = n ? evbuffer_pullup(in, (ssize_t)n) : (void *)"";
    iov.iov_len = n;
    memset(&ctl, 0, sizeof(ctl));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.b;
    mh.msg_controllen = sizeof(ctl.b);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    if (sendmsg(sfd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == -1) {
        WCTR_INC(handoff_failures);
        log_errno(LOG_WARNING, "hand-off to worker %s %u", what, which);
        if (pair[0] != -1) {
            close(pair[0]);
            close(pair[1]);
        }
        http_error(c, 503, "OVERLOADED", "session owner is busy", NULL);
        return;
    }
    WCTR_INC(handoffs_out);
    if (pair[0] != -1) {
        close(pair[1]); /* the owner holds it now */
        (void)tpx_start(c, pair[0]);
        return;
    }
    /* The owner has its own reference to the socket now. */
    conn_close_later(c, "handed off to its session's worker");
}

static void
hof_recv_cb(evutil_socket_t rfd, short what, void *arg)
{
    (void)what;
    (void)arg;
    for (int k = 0; k < 64; k++) {
        union {
            struct cmsghdr h;
            char b[CMSG_SPACE(sizeof(int))];
        } ctl;
        struct iovec iov = {H.buf, HOF_MAX_DATA};
        struct msghdr mh = {0};
        int fd = -1;
        ssize_t n;

        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = ctl.b;
        mh.msg_controllen = sizeof(ctl.b);
        n = recvmsg(rfd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n == -1) {
            if (errno != EAGAIN && errno != EINTR)
                log_errno(LOG_ERR, "recvmsg() on the hand-off socket");
            return;
        }
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm;
             cm = CMSG_NXTHDR(&mh, cm))
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS
                && cm->cmsg_len == CMSG_LEN(sizeof(int)))
                memcpy(&fd, CMSG_DATA(cm), sizeof(int));
        if (fd == -1 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
            WCTR_INC(handoff_failures);
            if (fd != -1)
                close(fd);
            continue;
        }
        WCTR_INC(handoffs_in);
        http_adopt(fd, H.buf, (size_t)n);
    }
}
