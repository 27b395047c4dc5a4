/*
 * Supervisor. Owns the public listeners (one SO_REUSEPORT socket per slot,
 * never closed while the slot is in use, so a respawned worker inherits the
 * kernel's accept queue), the admin socket, the worker table and every
 * signal the master takes. Signals arrive as libevent events, so all work
 * happens in the loop. Crash policy: respawn into the same slot with
 * per-slot exponential backoff that resets after a stable run; a worker
 * exiting WSG_EXIT_FATAL, or one that keeps dying, makes the master give the
 * slot up and close its listener so no client waits in a dead queue.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/config.h"
#include "common/log.h"
#include "common/priv.h"
#include "common/wsg.h"
#include "master/adm.h"
#include "master/dsh.h"
#include "master/dstr.h"
#include "master/pidf.h"
#include "master/lsn.h"
#include "master/prq.h"
#include "master/tlm.h"
#include "master/pub.h"
#include "master/rds.h"
#include "master/rnod.h"
#include "master/rem.h"
#include "master/stor.h"
#include "master/sup.h"
#include "shm/mlog.h"
#include "shm/ltab.h"
#include "shm/shm.h"
#include "worker/hof.h"
#include "worker/wrk.h"

#define SUP_TICK_MS 250
#define SUP_KILL_GRACE_MS 2000

struct sup_slot {
    int rec;             /* shm record of the current worker, -1 if none */
    unsigned failures;   /* quick deaths in a row */
    int64_t delay_ms;    /* delay before the next respawn */
    struct event *respawn;
    int abandoned;
};

struct sup_child {
    pid_t pid;           /* 0: record not ours / free */
    unsigned slot;
    int retiring;        /* told to drain (reload or stop) */
    int killed;          /* SIGKILL sent */
    int64_t start;       /* mono ms */
    int64_t kill_at;     /* mono ms; 0 = none */
};

static struct {
    struct event_base *base;
    struct cfg *cfg;
    sup_load_fn load;
    struct shm_segment *shm;
    struct sup_slot slot[SHM_MAX_WORKERS];
    unsigned nslots;
    struct sup_child child[SHM_NRECORDS];
    int evfd[SHM_NRECORDS];    /* wake-up of each record's worker */
    struct mlog *log;
    struct ltab *lt;         /* connection and handshake limits (ltab.h) */
    size_t log_bytes;
    unsigned gen;
    int stopping;
    int leaving;          /* the last worker is gone: rnod_leave called */
    int64_t stop_deadline;
    struct event *ev_tick;
    struct event *ev_sig[6];
} S;

static void sup_spawn(unsigned slot);
static void sup_respawn_cb(evutil_socket_t fd, short what, void *arg);
static void sup_exit(void);

void
sup_give_log(const struct cfg *c)
{
    struct priv_id who;
    char err[200];

    if (priv_lookup(CFG_STR(c, user), CFG_STR(c, group), &who, err,
            sizeof(err)) == 0
        && priv_give(&who, log_fileno()) == -1)
        log_errno(LOG_WARNING, "fchown() of the log file to the workers' "
            "user (they cannot reopen it)");
}

unsigned
sup_nslots(const struct cfg *c)
{
    long n = (long)CFG_NUM(c, workers);

    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > (long)SHM_MAX_WORKERS)
        n = SHM_MAX_WORKERS;
    return (unsigned)n;
}

int
sup_bind(const struct cfg *c)
{
    unsigned n = sup_nslots(c);

    for (unsigned i = 0; i < SHM_MAX_WORKERS; i++)
        S.slot[i].rec = -1;
    if (lsn_bind(c, n) == -1)
        return -1;
    if (tlm_init(c) == -1) {
        lsn_close_all();
        tlm_free();
        return -1;
    }
    S.nslots = n;
    return 0;
}

/* In a new worker: close every descriptor it must not hold (other slots'
 * listeners, the admin socket and its connections, the master's loop), so
 * a socket the master closes is really closed. */
static void
sup_child_close_fds(unsigned slot, int rec, int keep_evfd, int keep_chan)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int dfd, keep_log = log_fileno();

    if (d == NULL)
        return;
    dfd = dirfd(d);
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd <= 2 || fd == dfd
            || lsn_child_keeps(fd, slot, rec, S.nslots) || fd == keep_log || fd == keep_evfd
            || fd == keep_chan)
            continue;
        close(fd);
    }
    closedir(d);
}

/* The recovery channel of a new worker: chan[1] is the worker's end,
 * chan[0] the master's (master/stor.c reads it). One datagram per message,
 * so SOCK_SEQPACKET; large buffers so that bursts (a reload closing every
 * connection of a worker) seldom make the worker queue. Both stay -1 when
 * the store is disabled or the pair cannot be made (the worker then runs
 * without recovery). */
static void
sup_chan_open(int chan[2])
{
    int sz = STOR_CHAN_BUF;

    chan[0] = chan[1] = -1;
    if (stor_table() == NULL)
        return;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
            chan) == -1) {
        log_errno(LOG_ERR, "socketpair() for a recovery channel; the worker "
            "runs without recovery");
        chan[0] = chan[1] = -1;
        return;
    }
    setsockopt(chan[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    setsockopt(chan[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

static const int sup_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD,
    SIGPIPE};

static void
sup_spawn(unsigned slot)
{
    struct sup_slot *s = &S.slot[slot];
    sigset_t all, old;
    int rec, chan[2];
    pid_t pid;
    struct priv_id who;
    char perr[200];

    if (lsn_slot_fd(slot) == -1 || S.stopping)
        return;
    rec = shm_record_claim(S.shm, slot, S.gen);
    if (rec == -1) {
        log_msg(LOG_ERR, "slot %u: no free worker record (too many draining "
            "workers); retrying in 1s", slot);
        s->delay_ms = 1000;
        struct timeval tv = {1, 0};
        evtimer_add(s->respawn, &tv);
        return;
    }
    S.evfd[rec] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (S.evfd[rec] == -1) {
        log_errno(LOG_ERR, "eventfd() for worker slot %u", slot);
        shm_record_release(S.shm, rec);
        struct timeval tv = {1, 0};
        evtimer_add(s->respawn, &tv);
        return;
    }
    /* Who the worker becomes, looked up now (the user database may have
     * changed since the configuration was checked): never root instead. */
    if (priv_lookup(CFG_STR(S.cfg, user), CFG_STR(S.cfg, group), &who, perr,
            sizeof(perr)) == -1) {
        log_msg(LOG_ERR, "slot %u: %s; retrying in 1s", slot, perr);
        close(S.evfd[rec]);
        S.evfd[rec] = -1;
        shm_record_release(S.shm, rec);
        struct timeval tv = {1, 0};
        evtimer_add(s->respawn, &tv);
        return;
    }
    sup_chan_open(chan);
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid = fork();
    if (pid == 0) {
        /* Child: the master's signal handlers must never run here. */
        for (size_t i = 0; i < sizeof(sup_signals) / sizeof(*sup_signals);
             i++)
            signal(sup_signals[i], SIG_DFL);
        signal(SIGPIPE, SIG_IGN);
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (priv_drop(&who, perr, sizeof(perr)) == -1) {
            log_msg(LOG_ERR, "worker: %s (keys user and group); exiting "
                "rather than serving as root", perr);
            _exit(WSG_EXIT_RUNTIME);
        }
        /* After the uid change: a credential change clears it. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
#if defined(__SANITIZE_ADDRESS__)
        /* LeakSanitizer inspects the process from a helper that must be
         * able to attach to it, which a uid change forbids; production
         * builds stay undumpable (their memory holds the secrets). */
        prctl(PR_SET_DUMPABLE, 1);
#endif
        int hof_send[SHM_MAX_WORKERS], rhof_send[SHM_NRECORDS];
        for (unsigned i = 0; i < S.nslots; i++)
            hof_send[i] = lsn_slot_hof(i, 1);
        for (unsigned r = 0; r < SHM_NRECORDS; r++)
            rhof_send[r] = lsn_rec_hof(r, 1);
        sup_child_close_fds(slot, rec, S.evfd[rec], chan[1]);
        wrk_main(S.cfg, S.shm, S.log, rec, slot, lsn_slot_fd(slot),
            S.evfd[rec], lsn_slot_hof(slot, 0), hof_send, S.nslots,
            lsn_rec_hof((unsigned)rec, 0), rhof_send,
            chan[1], stor_table(), S.lt, lsn_slot_tls_fd(slot), tlm_ctx());
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (chan[1] != -1)
        close(chan[1]);
    if (pid == -1) {
        log_errno(LOG_ERR, "fork() for worker slot %u", slot);
        if (chan[0] != -1)
            close(chan[0]);
        shm_record_release(S.shm, rec);
        close(S.evfd[rec]);
        S.evfd[rec] = -1;
        s->delay_ms = s->delay_ms ? s->delay_ms : 1000;
        struct timeval tv = {s->delay_ms / 1000, (s->delay_ms % 1000) * 1000};
        evtimer_add(s->respawn, &tv);
        return;
    }
    shm_record_started(S.shm, rec, pid, wsg_real_ms());
    stor_attach((unsigned)rec, chan[0], pid);
    S.child[rec] = (struct sup_child){.pid = pid, .slot = slot,
        .start = wsg_mono_ms()};
    s->rec = rec;
    shm_master_add(S.shm, CTR_worker_starts, 1);
    log_msg(LOG_INFO, "worker w%u started: pid %ld, generation %u", slot,
        (long)pid, S.gen);
}

static void
sup_abandon(unsigned slot, const char *why)
{
    struct sup_slot *s = &S.slot[slot];

    log_msg(LOG_ERR, "slot %u given up (%s): its listener is closed; "
        "%u of %u slots remain", slot, why, S.nslots - 1, S.nslots);
    lsn_close_slot(slot);
    s->abandoned = 1;
    shm_master_add(S.shm, CTR_slots_abandoned, 1);
}

/* The current worker of slot died: respawn with backoff, or give up. */
static void
sup_after_death(unsigned slot, int status, int64_t lifetime)
{
    const struct cfg *c = S.cfg;
    struct sup_slot *s = &S.slot[slot];
    int64_t dmin = CFG_NUM(c, respawn_delay_min);
    int64_t dmax = CFG_NUM(c, respawn_delay_max);
    int64_t maxf = CFG_NUM(c, respawn_max_failures);

    s->rec = -1;
    if (S.stopping)
        return;
    if (WIFEXITED(status) && WEXITSTATUS(status) == WSG_EXIT_FATAL) {
        shm_master_add(S.shm, CTR_worker_fatal, 1);
        sup_abandon(slot, "worker exited with the fatal-config code");
        return;
    }
    if (lifetime >= CFG_NUM(c, respawn_stable_after)) {
        s->failures = 0;
        s->delay_ms = dmin;
    } else {
        s->failures++;
        s->delay_ms = s->failures == 1 ? dmin : s->delay_ms * 2;
        if (s->delay_ms > dmax)
            s->delay_ms = dmax;
        if (s->delay_ms < dmin)
            s->delay_ms = dmin;
        if (maxf > 0 && s->failures >= (unsigned)maxf) {
            char why[96];
            snprintf(why, sizeof(why), "%u quick deaths in a row",
                s->failures);
            sup_abandon(slot, why);
            return;
        }
    }
    log_msg(LOG_NOTICE, "worker w%u: respawning in %lld ms (failure %u)",
        slot, (long long)s->delay_ms, s->failures);
    struct timeval tv = {s->delay_ms / 1000, (s->delay_ms % 1000) * 1000};
    evtimer_add(s->respawn, &tv);
}

static void
sup_respawn_cb(evutil_socket_t fd, short what, void *arg)
{
    unsigned slot = (unsigned)(uintptr_t)arg;

    (void)fd;
    (void)what;
    if (S.slot[slot].rec != -1 || slot >= S.nslots)
        return;
    shm_master_add(S.shm, CTR_worker_respawns, 1);
    sup_spawn(slot);
    dsh_respawned(slot, S.slot[slot].rec);
}

/* After appends to the message log: wake every worker. */
static void
sup_wake(void)
{
    uint64_t one = 1;

    for (unsigned r = 0; r < SHM_NRECORDS; r++)
        if (S.evfd[r] != -1 && write(S.evfd[r], &one, sizeof(one)) == -1
            && errno != EAGAIN)
            log_errno(LOG_WARNING, "write(eventfd) for worker record %u", r);
}

static unsigned
sup_live_children(void)
{
    unsigned n = 0;

    for (unsigned r = 0; r < SHM_NRECORDS; r++)
        n += S.child[r].pid != 0;
    return n;
}

/* The worker of a record is gone: each request still queued for it
 * goes, descriptor and all, to the current worker of a slot (sfd), which
 * answers it (the session is unknown there). */
static void
sup_requeue(int rfd, int sfd)
{
    unsigned char *buf = malloc(HOF_MAX_DATA);

    if (buf == NULL)
        return;
    for (int k = 0; k < 4096; k++) {
        union {
            struct cmsghdr h;
            char b[CMSG_SPACE(sizeof(int))];
        } ctl;
        struct iovec iov = {buf, HOF_MAX_DATA};
        struct msghdr mh = {0};
        ssize_t n;

        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = ctl.b;
        mh.msg_controllen = sizeof(ctl.b);
        n = recvmsg(rfd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n == -1)
            break;
        /* The same datagram, descriptor and all, to the slot. */
        iov.iov_len = (size_t)n;
        if (sfd == -1 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
            || sendmsg(sfd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == -1)
            log_errno(LOG_WARNING, "re-queueing a hand-off of a gone "
                "worker (its client's request is lost)");
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm;
             cm = CMSG_NXTHDR(&mh, cm))
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS
                && cm->cmsg_len == CMSG_LEN(sizeof(int))) {
                int fd;
                memcpy(&fd, CMSG_DATA(cm), sizeof(int));
                close(fd);
            }
    }
    free(buf);
}

static void
sup_reap(void)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) != 0) {
        if (pid == -1) {
            if (errno == EINTR)
                continue;
            break; /* ECHILD */
        }
        int r;
        for (r = 0; r < (int)SHM_NRECORDS; r++)
            if (S.child[r].pid == pid)
                break;
        if (r == (int)SHM_NRECORDS) {
            log_msg(LOG_WARNING, "reaped unknown child %ld", (long)pid);
            continue;
        }
        struct sup_child ch = S.child[r];
        int64_t life = wsg_mono_ms() - ch.start;
        int expected = ch.retiring || S.stopping;
        if (WIFSIGNALED(status)) {
            shm_master_add(S.shm, CTR_worker_signaled, 1);
            log_msg(expected && ch.killed ? LOG_WARNING
                : expected ? LOG_NOTICE : LOG_ERR,
                "worker w%u pid %ld killed by signal %d (%s) after %lld ms",
                ch.slot, (long)pid, WTERMSIG(status),
                strsignal(WTERMSIG(status)), (long long)life);
        } else {
            shm_master_add(S.shm, CTR_worker_exits, 1);
            log_msg(expected && WEXITSTATUS(status) == 0 ? LOG_INFO : LOG_ERR,
                "worker w%u pid %ld exited with status %d after %lld ms",
                ch.slot, (long)pid, WEXITSTATUS(status), (long long)life);
        }
        /* Before the record is reused: what the worker sent is applied,
         * then its live sessions are held. */
        stor_detach((unsigned)r);
        dsh_worker_exit(r, status, expected);
        /* What it counted for the limits goes with it, however it
         * ended (a crash closes no connection the worker's way). */
        ltab_release(S.lt, (unsigned)r);
        shm_record_release(S.shm, r);
        /* After the release, so the worker that gets them answers them
         * instead of sending them back here. */
        sup_requeue(lsn_rec_hof((unsigned)r, 0),
            lsn_slot_hof(ch.slot < S.nslots ? ch.slot : 0, 1));
        S.child[r] = (struct sup_child){0};
        if (S.evfd[r] != -1) {
            close(S.evfd[r]);
            S.evfd[r] = -1;
        }
        if (!ch.retiring && S.slot[ch.slot].rec == r)
            sup_after_death(ch.slot, status, life);
    }
    if (S.stopping && sup_live_children() == 0)
        sup_exit();
}

static void
sup_exit_now(void)
{
    event_base_loopexit(S.base, NULL);
}

/* Stopping and no worker left: the node leaves the cluster view
 * (rnod_leave, bounded by redis_command_timeout), then the loop ends. */
static void
sup_exit(void)
{
    if (S.leaving)
        return;
    S.leaving = 1;
    rnod_leave(sup_exit_now);
}

/* Ask a worker to drain and exit; it is killed if still alive after
 * shutdown_timeout plus a grace period. */
static void
sup_retire(int rec)
{
    struct sup_child *ch = &S.child[rec];

    if (ch->pid == 0 || ch->retiring)
        return;
    ch->retiring = 1;
    ch->kill_at = wsg_mono_ms() + CFG_NUM(S.cfg, shutdown_timeout)
        + SUP_KILL_GRACE_MS;
    atomic_store(&S.shm->rec[rec].state, SHM_DRAINING);
    if (kill(ch->pid, SIGTERM) == -1)
        log_errno(LOG_WARNING, "kill(%ld, TERM)", (long)ch->pid);
}

static void
sup_stop(int fast)
{
    if (!S.stopping) {
        log_msg(LOG_NOTICE, "graceful stop: draining %u workers (bound %lld "
            "ms)", sup_live_children(),
            (long long)CFG_NUM(S.cfg, shutdown_timeout));
        S.stopping = 1;
        atomic_store(&S.shm->hdr.stopping, 1);
        S.stop_deadline = wsg_mono_ms() + CFG_NUM(S.cfg, shutdown_timeout)
            + SUP_KILL_GRACE_MS;
        for (unsigned i = 0; i < SHM_MAX_WORKERS; i++)
            if (S.slot[i].respawn)
                evtimer_del(S.slot[i].respawn);
        for (unsigned r = 0; r < SHM_NRECORDS; r++)
            sup_retire((int)r);
    } else if (fast) {
        log_msg(LOG_WARNING, "second stop signal: killing workers");
        S.stop_deadline = 0;
    }
    if (sup_live_children() == 0)
        sup_exit();
}

/* HUP: build a new configuration; on success start a new generation on the
 * same listeners and retire the old workers. */
/* WSGATE_* variables that name no key: not fatal, but said once per
 * (re)load, in the log. */
static void
sup_warn_env(const struct cfg *c)
{
    if (c->unknown_env[0])
        log_msg(LOG_WARNING, "environment variables that name no key, "
            "ignored: %s", c->unknown_env);
}

static void
sup_reload_failed(void)
{
    shm_master_add(S.shm, CTR_reload_failures, 1);
    dsh_note(EVQ_RELOAD, 0, -1, getpid(), "reload refused (see the log)");
}

static void
sup_reload(void)
{
    struct cfg *nc = calloc(1, sizeof(*nc));
    char err[CFG_ERR_MAX];
    unsigned n, old_n = S.nslots;

    if (nc == NULL || S.load(nc, err, sizeof(err)) == -1) {
        log_msg(LOG_ERR, "reload refused, keeping the running "
            "configuration: %s", nc ? err : "out of memory");
        sup_reload_failed();
        free(nc);
        return;
    }
    if (strcmp(CFG_STR(nc, bind), lsn_bind_addr()) != 0
        || CFG_NUM(nc, port) != lsn_port()
        || CFG_NUM(nc, tls_port) != lsn_tls_port()
        || CFG_NUM(nc, admin_tls) != CFG_NUM(S.cfg, admin_tls)
        || strcmp(CFG_STR(nc, admin_listen), CFG_STR(S.cfg, admin_listen))
            != 0
        || strcmp(CFG_STR(nc, pid_file), CFG_STR(S.cfg, pid_file)) != 0
        || CFG_NUM(nc, message_log_size) != CFG_NUM(S.cfg, message_log_size)
        || CFG_NUM(nc, max_recoverable_sessions)
            != CFG_NUM(S.cfg, max_recoverable_sessions)
        || strcmp(CFG_STR(nc, redis_url), CFG_STR(S.cfg, redis_url)) != 0
        || strcmp(CFG_STR(nc, node_name), CFG_STR(S.cfg, node_name)) != 0
        || strcmp(CFG_STR(nc, redis_stream), CFG_STR(S.cfg, redis_stream))
            != 0
        || CFG_NUM(nc, limit_table_size) != CFG_NUM(S.cfg, limit_table_size)) {
        log_msg(LOG_ERR, "reload refused: bind, port, tls_port, "
            "admin_tls, admin_listen, pid_file, "
            "message_log_size, max_recoverable_sessions, redis_url, "
            "node_name, redis_stream and limit_table_size need a restart to "
            "change");
        sup_reload_failed();
        cfg_free(nc);
        free(nc);
        return;
    }
    if (tlm_reload(nc) == -1) {
        shm_master_add(S.shm, CTR_tls_cert_failures, 1);
        sup_reload_failed();
        cfg_free(nc);
        free(nc);
        return;
    }
    n = sup_nslots(nc);
    if (lsn_open_slots(nc, n) == -1) {
        log_msg(LOG_ERR, "reload refused: cannot open listeners for %u "
            "slots", n);
        sup_reload_failed();
        for (unsigned i = old_n; i < n; i++)
            lsn_close_slot(i);
        cfg_free(nc);
        free(nc);
        return;
    }
    log_set_level((int)CFG_NUM(nc, log_level));
    log_set_json((int)CFG_NUM(nc, log_format));
    if (strcmp(CFG_STR(nc, log_file), CFG_STR(S.cfg, log_file)) != 0
        && log_open(CFG_STR(nc, log_file)) == -1)
        log_errno(LOG_ERR, "reload: log_file %s", CFG_STR(nc, log_file));
    cfg_free(S.cfg);
    free(S.cfg);
    S.cfg = nc;
    sup_give_log(nc); /* the new workers' user may differ */
    adm_set_cfg(nc);
    dsh_set_cfg(nc);
    dstr_set_cfg(nc);
    pub_set_cfg(nc);
    rds_set_cfg(nc);
    rnod_set_cfg(nc);
    stor_set_cfg(nc);

    /* Old generation drains; slots beyond the new count lose their
     * listener (its queue is reset when the draining worker lets go).
     * The header first: a draining worker reads nslots to know where
     * to hand the requests it has not answered. */
    atomic_store(&S.shm->hdr.nslots, n);
    for (unsigned r = 0; r < SHM_NRECORDS; r++)
        sup_retire((int)r);
    for (unsigned i = n; i < old_n; i++) {
        evtimer_del(S.slot[i].respawn);
        S.slot[i].rec = -1;
        lsn_close_slot(i);
    }
    S.gen++;
    S.nslots = n;
    atomic_store(&S.shm->hdr.generation, S.gen);
    atomic_store(&S.shm->hdr.nslots, n);
    atomic_store(&S.shm->hdr.capacity,
        (uint64_t)n * (uint64_t)wsg_conn_limit(
            (long)CFG_NUM(nc, worker_connections)));
    for (unsigned i = 0; i < n; i++) {
        struct sup_slot *s = &S.slot[i];
        evtimer_del(s->respawn);
        s->rec = -1;
        s->failures = 0;
        s->delay_ms = 0;
        s->abandoned = 0;
        sup_spawn(i);
    }
    shm_master_add(S.shm, CTR_reloads, 1);
    log_msg(LOG_NOTICE, "reloaded: generation %u with %u workers (was %u)",
        S.gen, n, old_n);
    dsh_note(EVQ_RELOAD, 0, -1, getpid(), "reloaded: generation %u with %u "
        "workers (was %u)", S.gen, n, old_n);
    sup_warn_env(S.cfg);
}

static void
sup_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    (void)arg;
    switch (sig) {
    case SIGCHLD:
        sup_reap();
        break;
    case SIGTERM:
    case SIGINT:
        sup_stop(1);
        break;
    case SIGHUP:
        if (!S.stopping)
            sup_reload();
        break;
    case SIGUSR1:
        if (log_reopen() == -1)
            log_errno(LOG_ERR, "reopen log file");
        else
            log_msg(LOG_NOTICE, "log file reopened");
        sup_give_log(S.cfg);
        for (unsigned r = 0; r < SHM_NRECORDS; r++)
            if (S.child[r].pid)
                kill(S.child[r].pid, SIGUSR1);
        break;
    default:
        break;
    }
}

/* Watchdog and deadlines, every SUP_TICK_MS. */
static void
sup_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    int64_t now = wsg_mono_ms();
    int64_t hb_to = CFG_NUM(S.cfg, worker_heartbeat_timeout);

    (void)fd;
    (void)what;
    (void)arg;
    shm_master_set(S.shm, CTR_limit_counted, ltab_total(S.lt));
    for (unsigned r = 0; r < SHM_NRECORDS; r++) {
        struct sup_child *ch = &S.child[r];
        if (ch->pid == 0 || ch->killed)
            continue;
        if (ch->retiring || S.stopping) {
            int64_t dl = S.stopping && S.stop_deadline < ch->kill_at
                ? S.stop_deadline : ch->kill_at;
            if (now >= dl) {
                log_msg(LOG_WARNING, "worker w%u pid %ld still draining "
                    "after the shutdown bound: killing", ch->slot,
                    (long)ch->pid);
                kill(ch->pid, SIGKILL);
                ch->killed = 1;
            }
            continue;
        }
        int64_t hb = atomic_load(&S.shm->rec[r].heartbeat_ms);
        if (hb == 0)
            hb = ch->start;
        if (now - hb > hb_to) {
            log_msg(LOG_ERR, "watchdog: worker w%u pid %ld heartbeat is %lld "
                "ms old (limit %lld): killing", ch->slot, (long)ch->pid,
                (long long)(now - hb), (long long)hb_to);
            kill(ch->pid, SIGKILL);
            ch->killed = 1;
            shm_master_add(S.shm, CTR_worker_watchdog_kills, 1);
        }
    }
}

int
sup_run(struct cfg *c, sup_load_fn load)
{
    int rc = WSG_EXIT_RUNTIME;
    struct timeval tick = {0, SUP_TICK_MS * 1000};

    S.cfg = c;
    S.load = load;
    S.shm = shm_create(getpid(), wsg_real_ms());
    if (S.shm == NULL) {
        log_errno(LOG_ERR, "mmap() of the shared segment");
        goto out;
    }
    for (unsigned r = 0; r < SHM_NRECORDS; r++)
        S.evfd[r] = -1;
    S.lt = ltab_create((unsigned)CFG_NUM(c, limit_table_size),
        (unsigned)CFG_NUM(c, limit_table_size));
    if (S.lt == NULL) {
        log_errno(LOG_ERR, "mmap() of the limit tables");
        goto out;
    }
    S.log_bytes = mlog_size((size_t)CFG_NUM(c, message_log_size));
    S.log = mmap(NULL, S.log_bytes, PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (S.log == MAP_FAILED) {
        S.log = NULL;
        log_errno(LOG_ERR, "mmap() of the %zu-byte message log", S.log_bytes);
        goto out;
    }
    if (mlog_init(S.log, (size_t)CFG_NUM(c, message_log_size)) != 0) {
        log_msg(LOG_ERR, "message log of %lld bytes cannot be set up",
            (long long)CFG_NUM(c, message_log_size));
        goto out;
    }
    S.base = event_base_new();
    if (S.base == NULL) {
        log_msg(LOG_ERR, "event_base_new() failed");
        goto out;
    }
    for (size_t i = 0; i < sizeof(sup_signals) / sizeof(*sup_signals); i++) {
        if (sup_signals[i] == SIGPIPE) {
            signal(SIGPIPE, SIG_IGN);
            continue;
        }
        S.ev_sig[i] = evsignal_new(S.base, sup_signals[i], sup_signal_cb,
            NULL);
        if (S.ev_sig[i] == NULL || evsignal_add(S.ev_sig[i], NULL) == -1) {
            log_msg(LOG_ERR, "cannot install handler for signal %d",
                sup_signals[i]);
            goto out;
        }
    }
    for (unsigned i = 0; i < SHM_MAX_WORKERS; i++) {
        S.slot[i].respawn = evtimer_new(S.base, sup_respawn_cb,
            (void *)(uintptr_t)i);
        if (S.slot[i].respawn == NULL)
            goto out;
    }
    S.ev_tick = event_new(S.base, -1, EV_PERSIST, sup_tick_cb, NULL);
    if (S.ev_tick == NULL || event_add(S.ev_tick, &tick) == -1)
        goto out;
    if (stor_init(S.base, c, S.shm) == -1 || prq_init(S.base, S.shm) == -1
        || pub_init(S.base, S.log, S.shm, c, sup_wake) == -1
        || rds_init(S.base, S.log, S.shm, c, sup_wake, pub_cluster_progress)
            == -1
        || rnod_init(S.base, S.shm, c) == -1
        || rem_init(S.base, S.log, S.shm, c) == -1
        || dsh_init(S.base, S.shm, c) == -1
        || dstr_init(S.base, S.shm, c) == -1
        || adm_start(S.base, lsn_take_admin(), S.shm, c) == -1)
        goto out;

    long per = wsg_conn_limit((long)CFG_NUM(c, worker_connections));
    atomic_store(&S.shm->hdr.nslots, S.nslots);
    atomic_store(&S.shm->hdr.capacity, (uint64_t)S.nslots * (uint64_t)per);
    log_msg(LOG_NOTICE, "wsgate %s starting: %u workers on %s:%lld, admin on "
        "%s, capacity %u x %ld = %llu connections", WSG_VERSION, S.nslots,
        lsn_bind_addr(), (long long)lsn_port(), CFG_STR(c, admin_listen),
        S.nslots, per,
        (unsigned long long)S.nslots * (unsigned long long)per);
    if (CFG_STR(c, api_key)[0] == '\0')
        log_msg(LOG_WARNING, "api_key is empty: /socket-stats and /metrics "
            "answer 401 until one is configured");
    sup_warn_env(c);
    for (unsigned i = 0; i < S.nslots; i++)
        sup_spawn(i);

    event_base_dispatch(S.base);
    rc = WSG_EXIT_OK;
    log_msg(LOG_NOTICE, "stopped");
out:
    rnod_stop();
    dstr_stop();
    adm_stop();
    dsh_stop();
    rem_stop();
    rds_stop();
    prq_stop();
    stor_stop();
    for (unsigned i = 0; i < SHM_MAX_WORKERS; i++)
        if (S.slot[i].respawn)
            event_free(S.slot[i].respawn);
    lsn_close_all();
    tlm_free();
    for (size_t i = 0; i < sizeof(S.ev_sig) / sizeof(*S.ev_sig); i++)
        if (S.ev_sig[i])
            event_free(S.ev_sig[i]);
    if (S.ev_tick)
        event_free(S.ev_tick);
    if (S.base)
        event_base_free(S.base);
    pidf_remove(CFG_STR(S.cfg, pid_file));
    shm_destroy(&S.shm);
    ltab_destroy(&S.lt);
    if (S.log)
        munmap(S.log, S.log_bytes);
    cfg_free(S.cfg);
    free(S.cfg);
    return rc;
}
