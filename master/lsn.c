/*
 * The sockets the master holds for its life (lsn.h): the public
 * listeners, one per worker slot (SO_REUSEPORT), the hand-off socketpair
 * of each slot and of each worker record, and the admin socket until the
 * admin server takes it.
 */
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "master/lsn.h"
#include "shm/layout.h"

static struct {
    int fd[SHM_MAX_WORKERS];         /* public listener; -1 when closed */
    int tfd[SHM_MAX_WORKERS];        /* TLS listener (tls_port) or -1 */
    int hof[SHM_MAX_WORKERS][2];     /* slot hand-offs: [0] read by the
                                      * slot's worker, [1] written by all */
    int rhof[SHM_NRECORDS][2];       /* record hand-offs (its sessions'
                                      * requests): [0] read by it, [1]
                                      * written by every worker */
    int admin_fd;
    char bind[64];
    int64_t port, tls_port;
} L;

/* Open one listening socket on host:port. reuseport for public slots;
 * probe binds without it, to find out whether anyone else holds the port
 * (SO_REUSEPORT would otherwise let a second gateway of the same user
 * share it silently) and closes it again. */
static int
lsn_listen(const char *host, int port, int backlog, int reuseport)
{
    int probe = backlog == 0;
    struct addrinfo hints = {0}, *ai = NULL;
    char ps[8];
    int fd = -1, on = 1, e;

    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    snprintf(ps, sizeof(ps), "%d", port);
    e = getaddrinfo(host, ps, &hints, &ai);
    if (e != 0) {
        log_msg(LOG_ERR, "getaddrinfo(%s): %s", host, gai_strerror(e));
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        log_errno(LOG_ERR, "socket() for %s:%d", host, port);
        goto fail;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1
        || (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
                             sizeof(on)) == -1)
        || bind(fd, ai->ai_addr, ai->ai_addrlen) == -1
        || (!probe && listen(fd, backlog) == -1)) {
        log_errno(LOG_ERR, "bind/listen on %s:%d%s", host, port, probe
            ? " (is another process listening on it?)" : "");
        goto fail;
    }
    freeaddrinfo(ai);
    if (probe) {
        close(fd);
        return 0;
    }
    return fd;
fail:
    if (fd != -1)
        close(fd);
    freeaddrinfo(ai);
    return -1;
}

/* Make sure slots [0, n) have listeners on bind:port and hand-off
 * sockets (kept for the master's life, like the listeners, so requests
 * queued for a slot survive its worker's respawn). */
int
lsn_open_slots(const struct cfg *c, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (L.hof[i][0] == -1) {
            int sz = 1 << 20;
            if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK
                    | SOCK_CLOEXEC, 0, L.hof[i]) == -1) {
                log_errno(LOG_ERR, "socketpair() for slot %u hand-offs", i);
                L.hof[i][0] = L.hof[i][1] = -1;
                return -1;
            }
            setsockopt(L.hof[i][1], SOL_SOCKET, SO_SNDBUF, &sz,
                sizeof(sz));
            setsockopt(L.hof[i][0], SOL_SOCKET, SO_RCVBUF, &sz,
                sizeof(sz));
        }
        if (L.fd[i] == -1)
            L.fd[i] = lsn_listen(CFG_STR(c, bind), (int)CFG_NUM(c, port),
                (int)CFG_NUM(c, backlog), 1);
        if (L.fd[i] == -1)
            return -1;
        if (CFG_NUM(c, tls_port) != 0 && L.tfd[i] == -1)
            L.tfd[i] = lsn_listen(CFG_STR(c, bind),
                (int)CFG_NUM(c, tls_port), (int)CFG_NUM(c, backlog), 1);
        if (CFG_NUM(c, tls_port) != 0 && L.tfd[i] == -1)
            return -1;
    }
    return 0;
}

/* One hand-off socketpair per worker record, for the master's life: a
 * session's requests reach the worker that created it, also while it
 * drains after a reload. */
static int
lsn_open_recs(void)
{
    for (unsigned r = 0; r < SHM_NRECORDS; r++) {
        int sz = 1 << 20;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK
                | SOCK_CLOEXEC, 0, L.rhof[r]) == -1) {
            log_errno(LOG_ERR, "socketpair() for record %u hand-offs", r);
            L.rhof[r][0] = L.rhof[r][1] = -1;
            return -1;
        }
        setsockopt(L.rhof[r][1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
        setsockopt(L.rhof[r][0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    }
    return 0;
}

int
lsn_bind(const struct cfg *c, unsigned n)
{
    for (unsigned i = 0; i < SHM_MAX_WORKERS; i++)
        L.fd[i] = L.tfd[i] = L.hof[i][0] = L.hof[i][1] = -1;
    for (unsigned r = 0; r < SHM_NRECORDS; r++)
        L.rhof[r][0] = L.rhof[r][1] = -1;
    L.admin_fd = -1;
    if (lsn_listen(CFG_STR(c, bind), (int)CFG_NUM(c, port), 0, 0) == -1
        || (CFG_NUM(c, tls_port) != 0 && lsn_listen(CFG_STR(c, bind),
            (int)CFG_NUM(c, tls_port), 0, 0) == -1)
        || lsn_open_slots(c, n) == -1 || lsn_open_recs() == -1)
        goto fail;
    L.admin_fd = lsn_listen(c->admin_host, c->admin_port, 128, 0);
    if (L.admin_fd == -1)
        goto fail;
    snprintf(L.bind, sizeof(L.bind), "%s", CFG_STR(c, bind));
    L.port = CFG_NUM(c, port);
    L.tls_port = CFG_NUM(c, tls_port);
    return 0;
fail:
    lsn_close_all();
    return -1;
}

int
lsn_slot_fd(unsigned i)
{
    return i < SHM_MAX_WORKERS ? L.fd[i] : -1;
}

int
lsn_slot_tls_fd(unsigned i)
{
    return i < SHM_MAX_WORKERS ? L.tfd[i] : -1;
}

void
lsn_close_slot(unsigned i)
{
    if (i < SHM_MAX_WORKERS && L.fd[i] != -1) {
        close(L.fd[i]);
        L.fd[i] = -1;
    }
    if (i < SHM_MAX_WORKERS && L.tfd[i] != -1) {
        close(L.tfd[i]);
        L.tfd[i] = -1;
    }
}

int
lsn_slot_hof(unsigned i, int end)
{
    return i < SHM_MAX_WORKERS ? L.hof[i][end ? 1 : 0] : -1;
}

int
lsn_rec_hof(unsigned r, int end)
{
    return r < SHM_NRECORDS ? L.rhof[r][end ? 1 : 0] : -1;
}

int
lsn_take_admin(void)
{
    int fd = L.admin_fd;

    L.admin_fd = -1;
    return fd;
}

const char *
lsn_bind_addr(void)
{
    return L.bind;
}

int64_t
lsn_port(void)
{
    return L.port;
}

int64_t
lsn_tls_port(void)
{
    return L.tls_port;
}

int
lsn_child_keeps(int fd, unsigned slot, int rec, unsigned nslots)
{
    if (fd == L.fd[slot] || fd == L.tfd[slot] || fd == L.hof[slot][0]
        || (rec >= 0 && fd == L.rhof[rec][0]))
        return 1;
    for (unsigned i = 0; i < nslots; i++)
        if (fd == L.hof[i][1])
            return 1;
    for (unsigned r = 0; r < SHM_NRECORDS; r++)
        if (fd == L.rhof[r][1])
            return 1;
    return 0;
}

void
lsn_close_all(void)
{
    for (unsigned i = 0; i < SHM_MAX_WORKERS; i++) {
        lsn_close_slot(i);
        for (int k = 0; k < 2; k++)
            if (L.hof[i][k] != -1) {
                close(L.hof[i][k]);
                L.hof[i][k] = -1;
            }
    }
    for (unsigned r = 0; r < SHM_NRECORDS; r++)
        for (int k = 0; k < 2; k++)
            if (L.rhof[r][k] != -1) {
                close(L.rhof[r][k]);
                L.rhof[r][k] = -1;
            }
    if (L.admin_fd != -1) {
        close(L.admin_fd);
        L.admin_fd = -1;
    }
}
