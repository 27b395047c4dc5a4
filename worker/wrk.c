/*
 * Worker process main: one event loop, the accept path on the slot's
 * listener (with the connection limit and descriptor-exhaustion pause),
 * the heartbeat, publication of the private counters to the shm record
 * under its seqlock, and the graceful drain on TERM.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/config.h"
#include "common/log.h"
#include "common/wsg.h"
#include "shm/shm.h"
#include "worker/cli.h"
#include "worker/cpx.h"
#include "worker/epx.h"
#include "worker/conn.h"
#include "worker/echo.h"
#include "worker/eng.h"
#include "worker/fan.h"
#include "worker/hof.h"
#include "worker/room.h"
#include "worker/http.h"
#include "worker/pev.h"
#include "worker/prw.h"
#include "worker/eph.h"
#include "worker/ews.h"
#include "worker/lmt.h"
#include "worker/rcv.h"
#include "worker/wctr.h"
#include "worker/wev.h"
#include "worker/wrk.h"
#include "worker/skt.h"
#include "worker/tio.h"
#include "worker/tpx.h"
#include "worker/ws.h"
#include "worker/wsj.h"

#define WRK_TICK_MS 100
#define WRK_BEAT_MS 1000
#define WRK_ACCEPT_BATCH 128
#define WRK_ACCEPT_PAUSE_MS 100
#define WRK_LOG_EVERY_MS 10000
#define WRK_RCV_FLUSH_MS 1000

static struct {
    struct event_base *base;
    const struct cfg *cfg;
    struct shm_segment *seg;
    struct shm_worker *me;
    unsigned slot;
    int listen_fd, tls_fd;
    struct event *ev_accept, *ev_resume, *ev_tick, *ev_sig;
    struct event *ev_accept_tls;    /* NULL without tls_port */
    int sig_fd;
    long limit;
    int stopping;
    int keep_sessions;  /* draining for a reload: sessions may finish */
    int64_t stop_deadline, last_beat;
    int64_t err_logged_at;
    unsigned err_suppressed;
} W = {.listen_fd = -1, .tls_fd = -1, .sig_fd = -1};

static void
wrk_publish(void)
{
    shm_worker_publish(W.me, wctr_val, wctr_hist);
}

static void wrk_exit(int status) __attribute__((noreturn));

static void
wrk_exit(int status)
{
    rcv_flush(WRK_RCV_FLUSH_MS);
    wrk_publish();
    log_msg(LOG_INFO, "worker exiting with status %d", status);
    exit(status);
}

/* A full worker still accepts, so the client gets a clear 503 instead of
 * waiting in the queue. */
static void
wrk_refuse(int fd)
{
    static const char resp[] = "HTTP/1.1 503 Service Unavailable\r\n"
        "Content-Type: application/json\r\nContent-Length: 73\r\n"
        "Connection: close\r\n\r\n"
        "{\"ok\":false,\"error\":{\"code\":\"OVERLOADED\",\"message\":"
        "\"worker full\"}}\n";
    ssize_t w = send(fd, resp, sizeof(resp) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);

    (void)w;
    close(fd);
    WCTR_INC(conn_refused_limit);
    wev_add(EVQ_LIMIT, 503, NULL, "worker_connections: worker full");
}

static void
wrk_accept_error(void)
{
    int64_t now = wsg_mono_ms();
    struct timeval tv = {0, WRK_ACCEPT_PAUSE_MS * 1000};

    WCTR_INC(accept_errors);
    if (now - W.err_logged_at >= WRK_LOG_EVERY_MS) {
        log_errno(LOG_ERR, "accept() on slot %u (%u similar errors "
            "suppressed); pausing accepts for %d ms", W.slot,
            W.err_suppressed, WRK_ACCEPT_PAUSE_MS);
        W.err_logged_at = now;
        W.err_suppressed = 0;
    } else {
        W.err_suppressed++;
    }
    event_del(W.ev_accept);
    if (W.ev_accept_tls)
        event_del(W.ev_accept_tls);
    evtimer_add(W.ev_resume, &tv);
}

/* arg is non-NULL on the TLS listener. */
static void
wrk_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
    (void)what;
    for (int i = 0; i < WRK_ACCEPT_BATCH; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                return;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS
                || errno == ENOMEM) {
                wrk_accept_error();
                return;
            }
            log_errno(LOG_ERR, "accept() on slot %u", W.slot);
            WCTR_INC(accept_errors);
            return;
        }
        if ((long)conn_count() >= W.limit) {
            if (arg) { /* no plain-text 503 on the TLS port */
                close(fd);
                WCTR_INC(conn_refused_limit);
            } else {
                wrk_refuse(fd);
            }
            continue;
        }
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
        struct conn *c = http_accept(fd);
        if (c && arg)
            (void)tio_start(c);
    }
}

static void
wrk_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (!W.stopping) {
        event_add(W.ev_accept, NULL);
        if (W.ev_accept_tls)
            event_add(W.ev_accept_tls, NULL);
    }
}

/* Publish this worker's largest rooms for /socket-stats. */
static void
wrk_publish_rooms(void)
{
    const struct room *top[SHM_TOP_ROOMS];
    const char *names[SHM_TOP_ROOMS];
    size_t lens[SHM_TOP_ROOMS];
    uint32_t members[SHM_TOP_ROOMS];
    size_t n = room_top(top, SHM_TOP_ROOMS);

    for (size_t i = 0; i < n; i++) {
        names[i] = room_name(top[i], &lens[i]);
        members[i] = room_size(top[i]);
    }
    shm_worker_rooms(W.me, n, names, lens, members);
}

static void
wrk_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    int64_t now = wsg_mono_ms();

    (void)fd;
    (void)what;
    (void)arg;
    http_tick(now);
    ws_tick(now);
    eph_tick(now);
    conn_tick(now);
    tio_tick(now);
    if (now - W.last_beat >= WRK_BEAT_MS) {
        shm_worker_beat(W.me, now);
        W.last_beat = now;
        wrk_publish_rooms();
        if (getppid() == 1 && !W.stopping) {
            log_msg(LOG_ERR, "master is gone: stopping");
            raise(SIGTERM);
        }
    }
    wrk_publish();
    /* Engine.IO sessions count too: between two polls a session has no
     * connection, and its client is about to send the next request. */
    if (W.stopping && ((conn_count() == 0
            && (!W.keep_sessions || wctr_val[CTR_eio_open] == 0))
            || now >= W.stop_deadline)) {
        if (now >= W.stop_deadline
            && (conn_count() > 0 || wctr_val[CTR_eio_open] > 0))
            log_msg(LOG_WARNING, "shutdown_timeout reached with %zu "
                "connections and %llu Engine.IO sessions open",
                conn_count(),
                (unsigned long long)wctr_val[CTR_eio_open]);
        wrk_exit(WSG_EXIT_OK);
    }
}

/* A connection of a stopping worker that waits for a request: on a
 * reload, to the worker that now serves this slot (or, with fewer slots,
 * one that still exists), through the slot hand-off socket, which the
 * master keeps open and the successor reads. On a stop nobody takes
 * over: close. */
static int
wrk_drain_conn(struct conn *c)
{
    unsigned n = atomic_load(&W.seg->hdr.nslots);

    if (atomic_load(&W.seg->hdr.stopping) || n == 0) {
        conn_close(c, "server shutting down");
        return 0;
    }
    WCTR_INC(drain_handoffs);
    hof_forward(c, W.slot % n);
    return 1;
}

/* The TLS listener, when there is one. 0 or -1. */
static int
wrk_tls_init(const struct cfg *c, struct ssl_ctx_st *ctx)
{
    tpx_init(W.base);
    if (W.tls_fd == -1)
        return 0;
    if (tio_init(ctx, CFG_NUM(c, tls_handshake_timeout)) == -1)
        return -1;
    W.ev_accept_tls = event_new(W.base, W.tls_fd, EV_READ | EV_PERSIST,
        wrk_accept_cb, (void *)1);
    return W.ev_accept_tls && event_add(W.ev_accept_tls, NULL) == 0 ? 0 : -1;
}

static void
wrk_term(void)
{
    if (W.stopping)
        return;
    W.stopping = 1;
    W.stop_deadline = wsg_mono_ms() + CFG_NUM(W.cfg, shutdown_timeout);
    log_msg(LOG_INFO, "draining %zu connections", conn_count());
    /* Stop accepting; the master keeps the listener and its queue for
     * the next worker of this slot. */
    event_del(W.ev_accept);
    event_del(W.ev_resume);
    close(W.listen_fd);
    W.listen_fd = -1;
    if (W.ev_accept_tls) {
        event_del(W.ev_accept_tls);
        close(W.tls_fd);
        W.tls_fd = -1;
    }
    hof_stop();
    http_stop(wrk_drain_conn);
    /* On a reload, long-polling sessions stay until their clients end
     * them (or shutdown_timeout): their requests still come here. */
    W.keep_sessions = !atomic_load(&W.seg->hdr.stopping);
    eng_stop(W.keep_sessions);
    conn_shutdown_all();
}

/* Signals come through a signalfd: libevent's signal handling belongs to
 * the master's event base, which this process inherited but never runs. */
static void
wrk_signal_cb(evutil_socket_t fd, short what, void *arg)
{
    struct signalfd_siginfo si;

    (void)what;
    (void)arg;
    while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGTERM)
            wrk_term();
        else if (si.ssi_signo == SIGUSR1 && log_reopen() == -1)
            log_errno(LOG_ERR, "reopen log file");
    }
}

static int
wrk_signals(void)
{
    sigset_t set;

    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN); /* a terminal ^C goes to the master */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
        return -1;
    W.sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (W.sig_fd == -1) {
        log_errno(LOG_ERR, "signalfd()");
        return -1;
    }
    W.ev_sig = event_new(W.base, W.sig_fd, EV_READ | EV_PERSIST,
        wrk_signal_cb, NULL);
    return W.ev_sig ? event_add(W.ev_sig, NULL) : -1;
}

void
wrk_main(const struct cfg *c, struct shm_segment *seg, struct mlog *log,
    int rec, unsigned slot, int listen_fd, int evfd, int hof_recv,
    const int *hof_send, unsigned nslots, int rec_hof_recv,
    const int *rec_hof_send, int rcv_fd,
    const struct sess_table *sess, struct ltab *lt, int tls_fd,
    struct ssl_ctx_st *tls_ctx)
{
    char role[16];
    struct timeval tick = {0, WRK_TICK_MS * 1000};

    snprintf(role, sizeof(role), "w%u", slot);
    log_set_role(role);
    W.cfg = c;
    W.seg = seg;
    W.me = &seg->rec[rec];
    wev_init(&W.me->evq);
    W.slot = slot;
    W.listen_fd = listen_fd;
    W.tls_fd = tls_ctx ? tls_fd : -1;
    W.limit = wsg_conn_limit((long)CFG_NUM(c, worker_connections));
    lmt_init(c, lt, (unsigned)rec);
    W.base = event_base_new();
    if (W.base == NULL) {
        log_msg(LOG_ERR, "event_base_new() failed");
        exit(WSG_EXIT_FATAL);
    }
    W.ev_accept = event_new(W.base, listen_fd, EV_READ | EV_PERSIST,
        wrk_accept_cb, NULL);
    W.ev_resume = evtimer_new(W.base, wrk_resume_cb, NULL);
    W.ev_tick = event_new(W.base, -1, EV_PERSIST, wrk_tick_cb, NULL);
    if (W.ev_accept == NULL || W.ev_resume == NULL || W.ev_tick == NULL
        || wrk_signals() == -1
        || conn_init(W.base, (size_t)CFG_NUM(c, max_outbound_buffer)) == -1
        || http_init(c, seg) == -1 || ws_init(c) == -1
        || cli_init(W.base, c) == -1 || cpx_init(W.base, c) == -1
        || epx_init(W.base, c) == -1 || pev_init(W.base, c) == -1
        || rcv_init(W.base, c, rcv_fd, sess) == -1
        || fan_init(W.base, log, evfd, W.me, shm_gmap(seg)) == -1
        || eng_init(W.base, c, (unsigned)rec) == -1
        || hof_init(W.base, seg, hof_recv, hof_send, nslots, rec_hof_recv,
            rec_hof_send) == -1
        || event_add(W.ev_tick, &tick) == -1
        || event_add(W.ev_accept, NULL) == -1
        || wrk_tls_init(c, tls_ctx) == -1) {
        log_msg(LOG_ERR, "worker setup failed");
        exit(WSG_EXIT_FATAL);
    }
    ews_init();
    wsj_init(W.base, c);
    skt_init(W.base, c);
    prw_init();
    echo_init(W.base, c);
    W.last_beat = wsg_mono_ms();
    shm_worker_beat(W.me, W.last_beat);
    log_msg(LOG_DEBUG, "worker ready on slot %u, up to %ld connections",
        slot, W.limit);
    event_base_dispatch(W.base);
    wrk_exit(WSG_EXIT_OK);
}
