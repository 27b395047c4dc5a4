/*
 * Log reader and dispatcher of a worker. Each wake-up reads entries in
 * batches (bounded per callback so the loop stays responsive), decodes
 * them (shared memory is input) and hands each to the clients it targets:
 * for rooms, every member once even when it is in several target rooms
 * (per-client last sequence); for a user, the user:<id> room; for everyone,
 * the all-clients list. Publishes and broadcasts go through the shared
 * blocks of fbk.c where they can, message by message otherwise. A worker
 * lapped by the producer counts it and closes its clients with a
 * "recover" reason instead of silently skipping.
 * It also times its deliveries for the delivery_latency histogram
 * (common/hist.def): see fan_observe.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/hist.h"
#include "common/log.h"
#include "common/msg.h"
#include "common/wsg.h"
#include "shm/layout.h"
#include "shm/gmap.h"
#include "shm/mlog.h"
#include "worker/cli.h"
#include "worker/conn.h"
#include "worker/fan.h"
#include "worker/fbk.h"
#include "worker/room.h"
#include "worker/ws.h"
#include "worker/wctr.h"

#define FAN_BATCH 1024   /* entries per callback */
/* Deliveries per callback: each queued reference costs memory until the
 * flush, and the loop (heartbeat, accepts) must get its turn. */
#define FAN_DELIVERY_BUDGET 200000

/* One entry of the read batch, for the latency histogram: its append time
 * and the deliveries made of it, which are observed together at the end
 * of the flush pass that writes them (fan_observe). */
struct fan_obs {
    int64_t ts_us;
    uint64_t n;
};

static struct {
    struct mlog *log;
    struct mlog_cursor cur;
    struct shm_worker *me;
    int evfd;
    struct event *ev, *more;
    unsigned char *buf;
    size_t bufcap;
    struct mlog_index *ix;  /* checkpoints for replays (128 KiB) */
    const struct gmap *gm;  /* cluster offsets */
    struct fan_obs obs[FAN_BATCH]; /* this batch's entries, until observed */
    unsigned nobs;
} F = {.evfd = -1};

static void fan_read_cb(evutil_socket_t fd, short what, void *arg);
static void fan_more_cb(evutil_socket_t fd, short what, void *arg);
static void fan_observe(void);
static size_t fan_target_room(const struct msg_view *v, size_t i, char *buf,
    size_t cap, const char **name);

int
fan_init(struct event_base *base, struct mlog *log, int evfd,
    struct shm_worker *me, const struct gmap *gm)
{
    F.log = log;
    F.gm = gm;
    F.evfd = evfd;
    F.me = me;
    F.bufcap = mlog_max_len(log) + 1;
    F.buf = malloc(F.bufcap);
    F.ix = calloc(1, sizeof(*F.ix));
    if (F.buf == NULL || F.ix == NULL
        || mlog_cursor_at_head(log, &F.cur) != MLOG_OK)
        return -1;
    atomic_store_explicit(&me->log_done, F.cur.seq - 1, memory_order_release);
    F.ev = event_new(base, evfd, EV_READ | EV_PERSIST, fan_read_cb, NULL);
    F.more = evtimer_new(base, fan_more_cb, NULL);
    if (F.ev == NULL || F.more == NULL || event_add(F.ev, NULL) == -1)
        return -1;
    return 0;
}

void
fan_set_wsj_append(fan_append_fn fn)
{
    fbk_set_append(fn, NULL);
}

void
fan_set_sio_append(fan_append_fn fn)
{
    fbk_set_append(NULL, fn);
}

static void
fan_release(struct fan_msg *m)
{
    ws_batch_unref(m->wsj);
    ws_batch_unref(m->sio);
    m->wsj = m->sio = NULL;
}

/* Deliver m to cl once. */
static void
fan_one(struct fan_msg *m, struct cli *cl, const char *room, size_t rlen)
{
    uint64_t *last = cli_last_seq(cl);

    if (*last == m->seq || !cli_authed(cl))
        return;
    *last = m->seq;
    WCTR_INC(deliveries);
    (void)cli_event(cl, m, room, rlen);
}

/* Members of a room: the next member is fetched before delivery, since a
 * delivery may end the client and with it its own membership (never
 * another client's). */
static void
fan_room(struct fan_msg *m, const char *name, size_t len)
{
    struct room *r = room_find(name, len);
    struct room_member *mb, *next;
    const char *rn;
    size_t rl;

    if (r == NULL)
        return;
    rn = room_name(r, &rl);
    for (mb = room_first(r); mb; mb = next) {
        next = room_next(mb);
        fan_one(m, mb->owner, rn, rl);
    }
}

static void
fan_everyone(struct fan_msg *m)
{
    struct cli *cl, *next;

    for (cl = cli_first(); cl; cl = next) {
        next = cli_next(cl);
        fan_one(m, cl, NULL, 0);
    }
}

static void
fan_disconnect(uint64_t seq, const struct msg_view *v)
{
    char room[MSG_ROOM_MAX + 8], reason[128];
    uint64_t n = 0;
    int rl = snprintf(room, sizeof(room), "user:%.*s", (int)v->user.n,
        v->user.p);
    struct room *r;

    snprintf(reason, sizeof(reason), "%.*s", (int)v->reason.n, v->reason.p);
    if (rl > 0 && (size_t)rl < sizeof(room)) {
        while ((r = room_find(room, (size_t)rl)) != NULL) {
            struct cli *cl = room_first(r)->owner;
            WCTR_INC(kicked);
            n++;
            /* kick frees cl and its memberships; the room shrinks */
            cli_kick(cl, CLI_CLOSE_KICKED, reason);
        }
    }
    unsigned i = (unsigned)(seq % SHM_CTL_RESULTS);
    atomic_store(&F.me->ctl[i].count, n);
    atomic_store_explicit(&F.me->ctl[i].seq, seq, memory_order_release);
}

/* 1 when cl is in one of v's except rooms (EMIT, EMIT_KICK). */
static int
fan_excepted(const struct msg_view *v, struct cli *cl)
{
    for (size_t i = 0; i < v->nexcept; i++)
        if (room_is_member(cl, v->except[i].p, v->except[i].n))
            return 1;
    return 0;
}

/* 1 when cl belongs to namespace nsp (a /ws client: "/"). */
static int
fan_in_nsp(struct cli *cl, struct msg_str nsp)
{
    const char *have = cli_nsp(cl);

    return strlen(have) == nsp.n && memcmp(have, nsp.p, nsp.n) == 0;
}

/* An emitter broadcast: the members of its rooms (or everyone) that are
 * in its namespace and in none of its except rooms, once each. */
static void
fan_emit(struct fan_msg *m)
{
    struct cli *cl, *next;

    if (m->v.target == MSG_T_ALL) {
        for (cl = cli_first(); cl; cl = next) {
            next = cli_next(cl);
            if (fan_in_nsp(cl, m->v.nsp) && !fan_excepted(&m->v, cl))
                fan_one(m, cl, NULL, 0);
        }
        return;
    }
    for (size_t i = 0; i < m->v.ntargets; i++) {
        struct room *r = room_find(m->v.targets[i].p, m->v.targets[i].n);
        struct room_member *mb, *mn;
        const char *rn;
        size_t rl;
        if (r == NULL)
            continue;
        rn = room_name(r, &rl);
        for (mb = room_first(r); mb; mb = mn) {
            mn = room_next(mb);
            if (fan_in_nsp(mb->owner, m->v.nsp)
                && !fan_excepted(&m->v, mb->owner))
                fan_one(m, mb->owner, rn, rl);
        }
    }
}

/* disconnectSockets: kick the matching clients. A kick frees only the
 * client kicked (and its memberships), so the next one is fetched first;
 * one kicked through a room is no longer in the next room. */
static void
fan_emit_kick(const struct msg_view *v)
{
    struct cli *cl, *next;
    const char *why = v->close ? "server disconnect (close)"
                               : "server disconnect";

    if (v->target == MSG_T_ALL) {
        for (cl = cli_first(); cl; cl = next) {
            next = cli_next(cl);
            if (cli_authed(cl) && fan_in_nsp(cl, v->nsp)
                && !fan_excepted(v, cl)) {
                WCTR_INC(emit_kicked);
                cli_kick(cl, CLI_CLOSE_KICKED, why);
            }
        }
        return;
    }
    for (size_t i = 0; i < v->ntargets; i++) {
        struct room *r = room_find(v->targets[i].p, v->targets[i].n);
        struct room_member *mb, *mn;
        for (mb = r ? room_first(r) : NULL; mb; mb = mn) {
            mn = room_next(mb);
            cl = mb->owner;
            if (cli_authed(cl) && fan_in_nsp(cl, v->nsp)
                && !fan_excepted(v, cl)) {
                WCTR_INC(emit_kicked);
                cli_kick(cl, CLI_CLOSE_KICKED, why);
            }
        }
    }
}

/* A block's entry oi went to k clients (fbk_flush). */
static void
fan_obs_add(uint32_t oi, uint64_t k)
{
    F.obs[oi].n += k;
}

/* m into the shared blocks: 0 when taken (or nobody's here), FBK_FULL
 * when the batch is out of blocks, -1 when it takes the per-message
 * path (fbk.h). */
static int
fan_to_blocks(const struct fan_msg *m, uint32_t oi)
{
    char room[MSG_ROOM_MAX + 8];
    const char *rn;
    size_t rl;

    if (m->v.kind == MSG_BROADCAST
        || ((m->v.kind == MSG_PUBLISH || m->v.kind == MSG_EMIT)
            && m->v.target == MSG_T_ALL))
        return fbk_all(m, oi);
    if (m->v.kind == MSG_EMIT)
        return fbk_rooms(m, oi);
    if (m->v.kind != MSG_PUBLISH)
        return -1;
    if (m->v.target == MSG_T_ROOMS && m->v.ntargets > 1)
        return fbk_rooms(m, oi);
    rl = fan_target_room(&m->v, 0, room, sizeof(room), &rn);
    return rl ? fbk_room(m, rn, rl, oi) : 0;
}

/* Deliver log entry seq (payload p[0..n), appended at ts), whose latency
 * record is F.obs[oi]. */
static void
fan_dispatch(uint64_t seq, int64_t ts, const unsigned char *p, size_t n,
    uint32_t oi)
{
    struct fan_msg m = {.seq = seq, .off = fan_offset(seq), .ts_us = ts};
    uint64_t d0;
    int rc;

    if (msg_decode(p, n, &m.v) != MSG_OK) {
        log_msg(LOG_ERR, "message log entry %llu is malformed: skipped",
            (unsigned long long)seq);
        return;
    }
    if (m.v.kind == MSG_BROADCAST)
        m.v.event = (struct msg_str){"maintenance", 11};
    /* Publishes and broadcasts join the pending blocks (fbk.h) when they
     * can (after a flush when the batch ran out of blocks); anything
     * else first delivers those, so every client sees its events in log
     * order, across rooms and shapes too. */
    if ((rc = fan_to_blocks(&m, oi)) == FBK_FULL) {
        fbk_flush(fan_obs_add);
        rc = fan_to_blocks(&m, oi);
    }
    if (rc == 0)
        return;
    fbk_flush(fan_obs_add);
    if (m.v.kind == MSG_PUBLISH || m.v.kind == MSG_BROADCAST
        || m.v.kind == MSG_EMIT)
        WCTR_INC(fan_single);
    d0 = wctr_val[CTR_deliveries];
    switch (m.v.kind) {
    case MSG_PUBLISH:
        if (m.v.target == MSG_T_ALL) {
            fan_everyone(&m);
        } else if (m.v.target == MSG_T_USER) {
            char room[MSG_ROOM_MAX + 8];
            int rl = snprintf(room, sizeof(room), "user:%.*s",
                (int)m.v.targets[0].n, m.v.targets[0].p);
            if (rl > 0 && (size_t)rl < sizeof(room))
                fan_room(&m, room, (size_t)rl);
        } else {
            for (size_t i = 0; i < m.v.ntargets; i++)
                fan_room(&m, m.v.targets[i].p, m.v.targets[i].n);
        }
        break;
    case MSG_BROADCAST:
        fan_everyone(&m);
        break;
    case MSG_DISCONNECT_USER:
        fan_disconnect(seq, &m.v);
        break;
    case MSG_EMIT:
        fan_emit(&m);
        break;
    case MSG_EMIT_KICK:
        fan_emit_kick(&m.v);
        break;
    }
    F.obs[oi].n += wctr_val[CTR_deliveries] - d0;
    fan_release(&m);
}

/* Lost entries: nobody can tell whose they were, so every client is told
 * to reconnect (and recover) rather than miss messages silently. */
static void
fan_lapped(uint64_t lost)
{
    struct cli *cl;

    fbk_flush(fan_obs_add);
    WCTR_INC(log_lapped);
    log_msg(LOG_ERR, "fell behind the message log by %llu entries: closing "
        "%zu clients with a recover reason", (unsigned long long)lost,
        (size_t)wctr_val[CTR_clients]);
    while ((cl = cli_first()) != NULL) {
        WCTR_INC(recover_closes);
        cli_kick(cl, CLI_CLOSE_RECOVER, "recover");
    }
}

void
fan_drain(void)
{
    struct mlog_entry e;
    uint64_t start = wctr_val[CTR_deliveries];

    if (F.nobs > 0)
        fan_observe(); /* no flush pass since the last batch */
    /* Deliveries made, and those the pending blocks will make. */
    for (int i = 0; i < FAN_BATCH && wctr_val[CTR_deliveries] - start
         + fbk_pending() < FAN_DELIVERY_BUDGET; i++) {
        int st = mlog_read(F.log, &F.cur, &e, F.buf, F.bufcap);
        mlog_index_note(F.ix, &F.cur);
        if (st == MLOG_EMPTY)
            break;
        if (st == MLOG_E_LAPPED) {
            fan_lapped(e.lost);
            continue;
        }
        if (st == MLOG_E_BUSY)
            break; /* producer mid-update; the next wake-up retries */
        if (st != MLOG_OK) {
            log_msg(LOG_ERR, "message log read failed: %s; resyncing at "
                "the head", mlog_status_str(st));
            mlog_cursor_at_head(F.log, &F.cur);
            break;
        }
        WCTR_INC(log_entries);
        F.obs[F.nobs] = (struct fan_obs){.ts_us = e.ts_us};
        fan_dispatch(e.seq, e.ts_us, F.buf, e.len, F.nobs++);
    }
    fbk_flush(fan_obs_add);
    if (wctr_val[CTR_deliveries] != start)
        conn_after_flush(fan_observe);
    else
        F.nobs = 0;
    atomic_store_explicit(&F.me->log_done, F.cur.seq - 1,
        memory_order_release);
    cli_waits_run(F.cur.seq - 1);
    /* More to read: continue from a zero timeout, not event_active.
     * libevent runs an event activated from a callback in the same
     * dispatch pass, so a publisher that keeps appending would keep the
     * loop here, with no socket I/O and no heartbeat (the watchdog then
     * kills the worker). A timer waits for the next pass, after the
     * flush, the sockets and the heartbeat had their turn. */
    if (mlog_head(F.log) > F.cur.seq) {
        struct timeval zero = {0, 0};
        evtimer_add(F.more, &zero);
    }
}

/*
 * The delivery_latency histogram: one observation per delivery (the same
 * set the deliveries counter counts: live fan-out, not replays), of the
 * time from the entry's append to the message log (its wall-clock
 * microseconds, mlog.h) to the end of the flush pass that issued the
 * writes of this read batch (conn_after_flush). One clock reading per
 * batch: the entries of a batch are observed together, each with its
 * own append time and its count of deliveries as the weight, so the hot
 * path adds no per-recipient work. A client on HTTP long-polling gets its
 * bytes when its next poll comes; that wait is not included.
 */
static void
fan_observe(void)
{
    int64_t now = wsg_real_us();

    for (unsigned i = 0; i < F.nobs; i++)
        if (F.obs[i].n > 0)
            hist_observe(WCTR_HIST(delivery_latency), now - F.obs[i].ts_us,
                F.obs[i].n);
    F.nobs = 0;
}

static void
fan_read_cb(evutil_socket_t fd, short what, void *arg)
{
    uint64_t n;

    (void)what;
    (void)arg;
    if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
        log_errno(LOG_ERR, "read(eventfd)");
    fan_drain();
}

static void
fan_more_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    fan_drain();
}

uint64_t
fan_position(void)
{
    return F.cur.seq - 1;
}

uint64_t
fan_offset(uint64_t seq)
{
    return gmap_offset(F.gm, seq);
}

int
fan_seq_of(uint64_t off, uint64_t *seq)
{
    switch (gmap_local(F.gm, off, seq)) {
    case GMAP_OK:
        return 0;
    case GMAP_GAP:
        return 1;
    default:
        return -1;
    }
}

int
fan_seq_coming(uint64_t seq)
{
    uint64_t head = mlog_head(F.log);

    return seq < head || (gmap_on(F.gm) && seq - head < FAN_AHEAD_MAX);
}

int
fan_seq_appended(uint64_t seq)
{
    return seq < mlog_head(F.log);
}

int
fan_seq_held(uint64_t seq)
{
    return seq >= mlog_tail(F.log) && seq <= mlog_head(F.log);
}

/* The room name a target of v stands for (user:<id> for a user). */
static size_t
fan_target_room(const struct msg_view *v, size_t i, char *buf, size_t cap,
    const char **name)
{
    if (v->target == MSG_T_USER) {
        int k = snprintf(buf, cap, "user:%.*s", (int)v->targets[0].n,
            v->targets[0].p);
        *name = buf;
        return k > 0 && (size_t)k < cap ? (size_t)k : 0;
    }
    *name = v->targets[i].p;
    return v->targets[i].n;
}

int
fan_want_member(const struct msg_view *v, uint64_t seq, void *arg,
    const char **room, size_t *rlen)
{
    static char ubuf[MSG_ROOM_MAX + 8];
    size_t n = v->target == MSG_T_USER ? 1 : v->ntargets;

    (void)seq;
    if (v->target == MSG_T_ALL) {
        *room = NULL;
        *rlen = 0;
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name;
        size_t len = fan_target_room(v, i, ubuf, sizeof(ubuf), &name);
        if (len && room_is_member(arg, name, len)) {
            *room = name;
            *rlen = len;
            return 1;
        }
    }
    return 0;
}

long
fan_replay(struct cli *cl, uint64_t after, fan_want_fn want, void *arg,
    int *gone)
{
    uint64_t upto = F.cur.seq; /* first seq live fan-out will deliver */
    struct mlog_cursor c;
    struct mlog_entry e;
    long n = 0;
    int st;

    *gone = 0;
    if (after + 1 >= upto)
        return 0;
    st = mlog_cursor_at_seq_ix(F.log, after + 1, &c, F.ix);
    if (st != MLOG_OK) {
        if (st == MLOG_E_LAPPED)
            WCTR_INC(replay_gaps);
        return -1;
    }
    while (c.seq < upto) {
        struct fan_msg m = {0};
        const char *room;
        size_t rlen;
        st = mlog_read(F.log, &c, &e, F.buf, F.bufcap);
        mlog_index_note(F.ix, &c);
        if (st != MLOG_OK) {
            /* Overwritten under the replay (or unreadable): what was
             * sent stays sent; the rest is a gap the client must learn
             * of from the caller. */
            WCTR_INC(replay_gaps);
            log_msg(LOG_WARNING, "replay stopped at seq %llu: %s",
                (unsigned long long)c.seq, mlog_status_str(st));
            return -1;
        }
        m.seq = e.seq;
        m.off = fan_offset(e.seq);
        m.ts_us = e.ts_us;
        if (msg_decode(F.buf, e.len, &m.v) != MSG_OK
            || (m.v.kind != MSG_PUBLISH && m.v.kind != MSG_EMIT)
            || (m.v.kind == MSG_EMIT && fan_excepted(&m.v, cl))
            || !want(&m.v, e.seq, arg, &room, &rlen))
            continue;
        *cli_last_seq(cl) = e.seq;
        if (cli_event(cl, &m, room, rlen) == -1) {
            fan_release(&m);
            *gone = 1;
            return n;
        }
        fan_release(&m);
        n++;
        WCTR_INC(replayed_events);
    }
    return n;
}
