/*
 * The recovery store, master side (stor.h). The table's layout and the
 * writer's rules are shm/sess.c's and the message format shm/smsg.c's;
 * this module owns the mapping, the master's end of every worker's
 * channel, the clock (wall-clock unix ms, as readers check it), the
 * recovery window and the counters. The owner of a message is the worker
 * whose channel carried it, never a field of the message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/config.h"
#include "common/log.h"
#include "common/wsg.h"
#include "master/rss.h"
#include "master/stor.h"
#include "shm/layout.h"
#include "shm/sess.h"
#include "shm/shm.h"
#include "shm/pmsg.h"
#include "shm/smsg.h"

#define STOR_SWEEP_MS 1000
#define STOR_BATCH 512 /* messages per channel per loop iteration */

struct stor_chan {
    int fd;              /* master's end; -1 when none */
    pid_t pid;           /* the worker's: the owner of what it sends */
    struct event *ev;
    int bad_logged;
};

static struct {
    struct event_base *base;
    const struct cfg *cfg;
    struct shm_segment *seg;
    struct sess_table *t;
    size_t tlen;
    struct sess_writer *w;
    struct event *ev_sweep;
    struct stor_chan ch[SHM_NRECORDS];
    unsigned char buf[(SMSG_MAX > PMSG_MAX ? SMSG_MAX : PMSG_MAX) + 1];
    stor_answer_fn answer; /* presence answers (stor_on_answer) */
    stor_publish_fn publish; /* event proxy publishes */
    int64_t refreshed_ms; /* last renewal of live sessions in Redis (cluster) */
} T;

/* A worker's FETCH waiting for Redis: its channel, by record and pid (the
 * record may have a new worker by the time Redis answers). */
struct stor_fetch {
    unsigned rec;
    pid_t pid;
    char sid_pid[SESS_ID_LEN + 1];
};

static void stor_read_cb(evutil_socket_t fd, short what, void *arg);
static void stor_sweep_cb(evutil_socket_t fd, short what, void *arg);
static int stor_drain(struct stor_chan *ch, int limit);
static void stor_apply(struct stor_chan *ch, const unsigned char *b,
    size_t n);
static void stor_gauges(void);
static void stor_fetch(struct stor_chan *ch, const char *pid);
static void stor_resync(void);
static void stor_fetched(void *arg, const struct sess_rec *rec, int ours);

/* Cluster: a live session's hash in Redis lives this long, and is renewed
 * every half window, so it outlives a dead node by about one window. */
#define STOR_LIVE_TTL(win) ((win) + (win) / 2)

int
stor_init(struct event_base *base, const struct cfg *c,
    struct shm_segment *seg)
{
    uint32_t cap = (uint32_t)CFG_NUM(c, max_recoverable_sessions);
    struct timeval tv = {STOR_SWEEP_MS / 1000, 0};
    uint64_t seed;

    T.base = base;
    T.cfg = c;
    T.seg = seg;
    for (unsigned r = 0; r < SHM_NRECORDS; r++)
        T.ch[r].fd = -1;
    if (cap == 0) {
        log_msg(LOG_INFO, "recovery store disabled "
            "(max_recoverable_sessions = 0)");
        return 0;
    }
    T.tlen = sess_size(cap);
    /* Anonymous shared memory is zero-filled and paid for page by page:
     * an entry costs memory only once the writer first uses it. */
    T.t = mmap(NULL, T.tlen, PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (T.t == MAP_FAILED) {
        T.t = NULL;
        log_errno(LOG_ERR, "mmap() of the %zu-byte recovery store", T.tlen);
        return -1;
    }
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
        seed = (uint64_t)wsg_real_ms() ^ ((uint64_t)getpid() << 32)
            ^ (uint64_t)clock();
    if (sess_init(T.t, cap, seed) == -1 || (T.w = sess_writer_new(T.t))
        == NULL) {
        log_msg(LOG_ERR, "recovery store of %u sessions cannot be set up",
            cap);
        return -1;
    }
    if (CFG_STR(c, redis_url)[0])
        rss_init(CFG_STR(c, redis_stream), seg, stor_resync);
    T.ev_sweep = event_new(base, -1, EV_PERSIST, stor_sweep_cb, NULL);
    if (T.ev_sweep == NULL || event_add(T.ev_sweep, &tv) == -1) {
        log_msg(LOG_ERR, "recovery store: cannot arm its timer");
        return -1;
    }
    log_msg(LOG_INFO, "recovery store: %u sessions, %zu bytes of address "
        "space, window %lld ms", cap, T.tlen,
        (long long)CFG_NUM(c, recovery_window));
    return 0;
}

const struct sess_table *
stor_table(void)
{
    return T.t;
}

void
stor_set_cfg(const struct cfg *c)
{
    T.cfg = c;
}

void
stor_attach(unsigned rec, int fd, pid_t pid)
{
    struct stor_chan *ch;

    if (rec >= SHM_NRECORDS || fd == -1) {
        if (fd != -1)
            close(fd);
        return;
    }
    ch = &T.ch[rec];
    ch->fd = fd;
    ch->pid = pid;
    ch->bad_logged = 0;
    ch->ev = event_new(T.base, fd, EV_READ | EV_PERSIST, stor_read_cb, ch);
    if (ch->ev == NULL || event_add(ch->ev, NULL) == -1)
        /* Still drained when the worker is reaped. */
        log_msg(LOG_ERR, "recovery channel of worker pid %ld: cannot watch "
            "it; its messages wait until it exits", (long)pid);
}

void
stor_detach(unsigned rec)
{
    struct stor_chan *ch;
    int64_t win = CFG_NUM(T.cfg, recovery_window);
    size_t n;

    if (rec >= SHM_NRECORDS || T.ch[rec].fd == -1)
        return;
    ch = &T.ch[rec];
    /* Unix sockets keep what was sent after the sender is gone. */
    (void)stor_drain(ch, -1);
    if (T.w != NULL) {
        int64_t now = wsg_real_ms();
        n = sess_orphan(T.w, ch->pid, now + win);
        if (win > 0) {
            shm_master_add(T.seg, CTR_recovery_orphaned, n);
        } else if (n > 0) {
            /* Recovery was turned off by a reload: forget them. */
            shm_master_add(T.seg, CTR_recovery_expired,
                sess_expire(T.w, now));
        }
        if (n > 0)
            log_msg(LOG_INFO, "recovery store: %zu live session%s of worker "
                "pid %ld %s", n, n == 1 ? "" : "s", (long)ch->pid,
                win > 0 ? "held" : "dropped");
        stor_gauges();
    }
    if (ch->ev)
        event_free(ch->ev);
    close(ch->fd);
    *ch = (struct stor_chan){.fd = -1};
}

void
stor_on_answer(stor_answer_fn fn)
{
    T.answer = fn;
}

void
stor_on_publish(stor_publish_fn fn)
{
    T.publish = fn;
}

int
stor_send(unsigned rec, const void *b, size_t n)
{
    if (rec >= SHM_NRECORDS || T.ch[rec].fd == -1)
        return -1;
    return send(T.ch[rec].fd, b, n, MSG_DONTWAIT | MSG_NOSIGNAL)
        == (ssize_t)n ? 0 : -1;
}

void
stor_stop(void)
{
    for (unsigned r = 0; r < SHM_NRECORDS; r++) {
        if (T.ch[r].ev)
            event_free(T.ch[r].ev);
        if (T.ch[r].fd != -1)
            close(T.ch[r].fd);
        T.ch[r] = (struct stor_chan){.fd = -1};
    }
    if (T.ev_sweep) {
        event_free(T.ev_sweep);
        T.ev_sweep = NULL;
    }
    sess_writer_free(&T.w);
    if (T.t)
        munmap(T.t, T.tlen);
    T.t = NULL;
}

static void
stor_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct stor_chan *ch = arg;

    (void)fd;
    (void)what;
    if (stor_drain(ch, STOR_BATCH) == 1)
        event_del(ch->ev); /* the worker closed its end; reaped soon */
    stor_gauges();
}

/* Read and apply up to limit messages (all when limit < 0). Returns 1 at
 * end of file, 0 otherwise. */
static int
stor_drain(struct stor_chan *ch, int limit)
{
    for (int k = 0; limit < 0 || k < limit; k++) {
        ssize_t n = recv(ch->fd, T.buf, sizeof(T.buf), MSG_DONTWAIT
            | MSG_TRUNC);
        if (n == 0)
            return 1;
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                log_errno(LOG_ERR, "recv() on the recovery channel of "
                    "worker pid %ld", (long)ch->pid);
            return errno == EAGAIN ? 0 : 1;
        }
        stor_apply(ch, T.buf, (size_t)n);
    }
    return 0;
}

static void
stor_apply(struct stor_chan *ch, const unsigned char *b, size_t n)
{
    static struct sess_rec r;
    int64_t win = CFG_NUM(T.cfg, recovery_window);
    int type, rc;

    if (n > 0 && b[0] == PMSG_PUBLISH) {
        if (T.publish && n <= PMSG_MAX)
            T.publish((const char *)b + 1, n - 1);
        return;
    }
    if (n > 0 && b[0] == PMSG_ANSWER) {
        if (T.answer && n <= PMSG_MAX)
            T.answer((unsigned)(ch - T.ch), b, n);
        return;
    }
    if (n > SMSG_MAX || smsg_decode(b, n, &type, &r) != SMSG_OK) {
        shm_master_add(T.seg, CTR_recovery_bad_messages, 1);
        if (!ch->bad_logged++)
            log_msg(LOG_ERR, "recovery channel of worker pid %ld: malformed "
                "message of %zu bytes ignored (further ones only counted)",
                (long)ch->pid, n);
        return;
    }
    if (T.w == NULL)
        return;
    r.owner = ch->pid;
    switch (type) {
    case SMSG_PUT:
        rc = sess_put(T.w, &r);
        if (rc == SESS_E_FULL)
            shm_master_add(T.seg, CTR_recovery_store_full, 1);
        else if (rc == SESS_EVICTED)
            shm_master_add(T.seg, CTR_recovery_evicted, 1);
        else if (rc == SESS_E_INVAL)
            shm_master_add(T.seg, CTR_recovery_bad_messages, 1);
        if (rc == SESS_OK || rc == SESS_EVICTED)
            rss_put(b, n, r.pid, r.owner, r.tag, STOR_LIVE_TTL(win));
        break;
    case SMSG_HOLD:
        if (win > 0) {
            if (sess_hold(T.w, r.pid, r.owner, r.tag, wsg_real_ms() + win)
                == SESS_OK)
                rss_hold(r.pid, r.owner, r.tag, win);
        } else if (sess_drop(T.w, r.pid, r.owner, r.tag) == SESS_OK) {
            rss_drop(r.pid, r.owner, r.tag);
        }
        break;
    case SMSG_FETCH:
        stor_fetch(ch, r.pid);
        break;
    case SMSG_DROP:
        /* Stale ones (another connection took the session over) and
         * unknown ones (store full when it was put) are no error. */
        if (sess_drop(T.w, r.pid, r.owner, r.tag) == SESS_OK)
            rss_drop(r.pid, r.owner, r.tag);
        break;
    default: /* SMSG_FETCHED goes the other way */
        shm_master_add(T.seg, CTR_recovery_bad_messages, 1);
        break;
    }
}

/* Cluster: bring pid's session from Redis (another node may have held it
 * last), then tell the worker, which looks in the table again. */
static void
stor_fetch(struct stor_chan *ch, const char *pid)
{
    struct stor_fetch *f = calloc(1, sizeof(*f));
    unsigned char m[64];
    size_t n;

    if (f == NULL) { /* answer now: the worker looks in its table as is */
        if ((n = smsg_end(m, sizeof(m), SMSG_FETCHED, 0, pid)) > 0)
            (void)send(ch->fd, m, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        return;
    }
    f->rec = (unsigned)(ch - T.ch);
    f->pid = ch->pid;
    snprintf(f->sid_pid, sizeof(f->sid_pid), "%s", pid);
    rss_fetch(pid, stor_fetched, f);
}

/* Redis answered a fetch: a session another master wrote (or none) is
 * stored here, held for recovery_window, over what this table had; one
 * this master wrote is here already. Then the worker is told. */
static void
stor_fetched(void *arg, const struct sess_rec *rec, int ours)
{
    struct stor_fetch *f = arg;
    int64_t win = CFG_NUM(T.cfg, recovery_window);
    unsigned char m[64];
    size_t n;

    if (rec && !ours && T.w && win > 0) {
        struct sess_rec r = *rec;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        r.owner = 0; /* no worker of this node holds it */
        r.stamp = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        if (sess_put(T.w, &r) != SESS_E_FULL)
            (void)sess_hold(T.w, r.pid, 0, r.tag, wsg_real_ms() + win);
    }
    if (f->rec < SHM_NRECORDS && T.ch[f->rec].fd != -1
        && T.ch[f->rec].pid == f->pid
        && (n = smsg_end(m, sizeof(m), SMSG_FETCHED, 0, f->sid_pid)) > 0)
        (void)send(T.ch[f->rec].fd, m, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    free(f);
}

/* Cluster: write one stored session to Redis again, live or held for
 * what is left of its window. */
static void
stor_resync_one(void *arg, const struct sess_rec *r)
{
    const char *names[SESS_ROOMS_BYTES / 2];
    size_t lens[SESS_ROOMS_BYTES / 2], k = 0, n;
    int64_t win = CFG_NUM(T.cfg, recovery_window), left;

    (void)arg;
    for (size_t i = 0; i < r->rooms_len && k < sizeof(lens) / sizeof(*lens);
         k++) {
        names[k] = r->rooms + i;
        lens[k] = strlen(names[k]);
        i += lens[k] + 1;
    }
    n = smsg_put(T.buf, sizeof(T.buf), r->tag, r->stamp, r->pid, r->sid,
        r->nsp, r->user[0] ? r->user : NULL, names, lens, k);
    if (n == 0)
        return;
    if (r->state == SESS_LIVE) {
        rss_put(T.buf, n, r->pid, r->owner, r->tag, STOR_LIVE_TTL(win));
    } else if ((left = r->until_ms - wsg_real_ms()) > 0) {
        rss_put(T.buf, n, r->pid, r->owner, r->tag, left);
    }
}

static void
stor_resync(void)
{
    size_t n;

    if (T.w == NULL)
        return;
    n = sess_each(T.w, stor_resync_one, NULL);
    if (n > 0)
        log_msg(LOG_NOTICE, "cluster: %zu recoverable sessions written to "
            "Redis again (it restarted, or was out of reach)", n);
}

/* Cluster: renew the Redis lifetime of one live session. */
static void
stor_refresh_cb(void *arg, const char *pid, int32_t owner, uint64_t tag)
{
    (void)arg;
    rss_hold(pid, owner, tag, STOR_LIVE_TTL(CFG_NUM(T.cfg,
        recovery_window)));
}

static void
stor_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    size_t n;

    (void)fd;
    (void)what;
    (void)arg;
    n = sess_expire(T.w, wsg_real_ms());
    if (n > 0)
        shm_master_add(T.seg, CTR_recovery_expired, n);
    int64_t win = CFG_NUM(T.cfg, recovery_window), now = wsg_mono_ms();
    if (rss_enabled() && win > 0 && now - T.refreshed_ms >= win / 2) {
        T.refreshed_ms = now;
        (void)sess_each_live(T.w, stor_refresh_cb, NULL);
    }
    stor_gauges();
}

static void
stor_gauges(void)
{
    if (T.w == NULL)
        return;
    shm_master_set(T.seg, CTR_recovery_sessions, sess_count(T.w));
    shm_master_set(T.seg, CTR_recovery_held, sess_held(T.w));
}
