/*
 * Log reader and dispatcher of a worker. Each wake-up reads entries in
 * batches (bounded per callback so the loop stays responsive), decodes
 * them (shared memory is input) and hands each to the clients it targets:
 * for rooms, every member once even when it is in several target rooms
 * (per-client last sequence); for a user, the user:<id> room; for everyone,
 * the all-clients list. A worker lapped by the producer counts it and closes
 * its clients with a "recover" reason instead of silently skipping.
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
#include "worker/room.h"
#include "worker/ws.h"
#include "worker/wctr.h"

#define FAN_BATCH 1024   /* entries per callback */
/* Deliveries per callback: each queued reference costs memory until the
 * flush, and the loop (heartbeat, accepts) must get its turn. */
#define FAN_DELIVERY_BUDGET 200000
#define FAN_BLOCK_HASH 256 /* buckets of the per-room block table */
#define FAN_NO_OBS UINT32_MAX

/* One entry of the read batch, for the latency histogram: its append time
 * and the deliveries made of it, which are observed together at the end
 * of the flush pass that writes them (fan_observe). bnext chains the
 * entries of one room block. */
struct fan_obs {
    int64_t ts_us;
    uint64_t n;
    uint32_t bnext;
};

static struct {
    struct mlog *log;
    struct mlog_cursor cur;
    struct shm_worker *me;
    int evfd;
    struct event *ev, *more;
    unsigned char *buf;
    size_t bufcap;
    struct fan_block *blocks;              /* pending, in creation order */
    struct fan_block **btail;
    /* This batch's blocks by serial - first_serial (at most one per
     * entry), and the serial the next one gets. */
    struct fan_block *bvec[FAN_BATCH];
    uint32_t first_serial, next_serial;
    struct fan_block *bhash[FAN_BLOCK_HASH];
    fan_append_fn wsj_append, sio_append;   /* registered by the protocols */
    struct mlog_index *ix;  /* checkpoints for replays (128 KiB) */
    const struct gmap *gm;  /* cluster offsets */
    struct fan_obs obs[FAN_BATCH]; /* this batch's entries, until observed */
    unsigned nobs;
} F = {.evfd = -1, .btail = &F.blocks};

static void fan_read_cb(evutil_socket_t fd, short what, void *arg);
static void fan_more_cb(evutil_socket_t fd, short what, void *arg);
static void fan_observe(void);

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
    F.wsj_append = fn;
}

void
fan_set_sio_append(fan_append_fn fn)
{
    F.sio_append = fn;
}

static void
fan_release(struct fan_msg *m)
{
    ws_batch_unref(m->wsj);
    ws_batch_unref(m->sio);
    m->wsj = m->sio = NULL;
}

static unsigned
fan_bhash(const char *name, size_t n)
{
    unsigned h = 2166136261u;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)name[i]) * 16777619u;
    return h & (FAN_BLOCK_HASH - 1);
}

/* Deliver and free every pending room block, in creation order. Members
 * are looked up now (by name), so a room that vanished is skipped. */
static void
fan_flush_blocks(void)
{
    struct fan_block *b, *next;

    for (b = F.blocks; b; b = next) {
        struct room *r = room_find(b->room, b->rlen);
        uint64_t k = 0;
        next = b->next;
        for (struct room_member *mb = r ? room_first(r) : NULL, *mn; mb;
             mb = mn) {
            mn = mb->rnext;
            if (!cli_authed(mb->owner))
                continue;
            WCTR_ADD(deliveries, b->n);
            k++;
            (void)cli_batch(mb->owner, b);
        }
        /* Each of the block's entries went to the k members. */
        for (uint32_t i = b->obs_head; i != FAN_NO_OBS; i = F.obs[i].bnext)
            F.obs[i].n += k;
        ws_batch_unref(b->wsj);
        ws_batch_unref(b->sio);
        free(b);
    }
    F.blocks = NULL;
    F.btail = &F.blocks;
    F.first_serial = F.next_serial;
    memset(F.bhash, 0, sizeof(F.bhash));
}

/*
 * Blocks are delivered in creation order, each to all its room's
 * members. A client in two rooms with blocks b1 then b2 gets b1's entries
 * first, so b1 may take no entry once b2 exists: that entry would reach
 * the client ahead of b2's older ones (offsets out of order, and a
 * recovery from its last offset would replay some twice). A new block b
 * therefore closes, for each of its members, the newest earlier block
 * that member is in (the cli_fan_mark of this batch; older ones were
 * closed when that one was made), and marks the member with b. Clients
 * in one room keep one block per room and batch, however the publishes
 * to different rooms interleave. A mark from an earlier batch is out of
 * this batch's serial range; a stale one that wraps into it only closes
 * a block early, which costs a block, never the order.
 */
static void
fan_block_mark(struct fan_block *b, struct room *r)
{
    b->serial = F.next_serial++;
    F.bvec[b->serial - F.first_serial] = b;
    for (struct room_member *mb = room_first(r); mb; mb = mb->rnext) {
        uint32_t *mark = cli_fan_mark(mb->owner);
        uint32_t i = *mark - F.first_serial;
        if (i < b->serial - F.first_serial)
            F.bvec[i]->closed = 1;
        *mark = b->serial;
    }
}

/* Add a single-room publish to that room's block. Returns 0, or -1 when
 * the message must take the per-message path (out of memory). */
static int
fan_block_add(const struct fan_msg *m, const char *name, size_t len,
    uint32_t oi)
{
    unsigned h = fan_bhash(name, len);
    struct room *r = room_find(name, len);
    struct fan_block *b;

    if (r == NULL)
        return 0; /* no local members */
    /* The newest block of the room (new ones go first in the chain),
     * unless it was closed (fan_block_mark): then a new one. */
    for (b = F.bhash[h]; b; b = b->hnext)
        if (b->rlen == len && memcmp(b->room, name, len) == 0)
            break;
    if (b != NULL && b->closed)
        b = NULL;
    if (b == NULL) {
        if (len >= sizeof(b->room)
            || F.next_serial - F.first_serial >= FAN_BATCH
            || (b = calloc(1, sizeof(*b))) == NULL)
            return -1;
        b->wsj = ws_batch_new();
        b->sio = ws_batch_new();
        if (b->wsj == NULL || b->sio == NULL) {
            ws_batch_unref(b->wsj);
            ws_batch_unref(b->sio);
            free(b);
            return -1;
        }
        memcpy(b->room, name, len);
        b->rlen = len;
        b->obs_head = b->obs_tail = FAN_NO_OBS;
        b->hnext = F.bhash[h];
        F.bhash[h] = b;
        *F.btail = b;
        F.btail = &b->next;
        fan_block_mark(b, r);
    }
    if (F.wsj_append(b->wsj, m, name, len) == -1
        || F.sio_append(b->sio, m, name, len) == -1)
        return -1; /* the block is still consistent up to here */
    b->n++;
    if (b->obs_tail == FAN_NO_OBS)
        b->obs_head = oi;
    else
        F.obs[b->obs_tail].bnext = oi;
    b->obs_tail = oi;
    return 0;
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
        next = mb->rnext;
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
            mn = mb->rnext;
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
            mn = mb->rnext;
            cl = mb->owner;
            if (cli_authed(cl) && fan_in_nsp(cl, v->nsp)
                && !fan_excepted(v, cl)) {
                WCTR_INC(emit_kicked);
                cli_kick(cl, CLI_CLOSE_KICKED, why);
            }
        }
    }
}

/* Deliver log entry seq (payload p[0..n), appended at ts), whose latency
 * record is F.obs[oi]. */
static void
fan_dispatch(uint64_t seq, int64_t ts, const unsigned char *p, size_t n,
    uint32_t oi)
{
    struct fan_msg m = {.seq = seq, .off = fan_offset(seq), .ts_us = ts};
    uint64_t d0;

    if (msg_decode(p, n, &m.v) != MSG_OK) {
        log_msg(LOG_ERR, "message log entry %llu is malformed: skipped",
            (unsigned long long)seq);
        return;
    }
    /* Single-room publishes (a room or a user) join the newest block
     * when it is their room's (fan_block_add); anything else first
     * delivers the pending blocks, so every client sees its events in
     * log order, across rooms too. */
    if (m.v.kind == MSG_PUBLISH && (m.v.target == MSG_T_USER
            || (m.v.target == MSG_T_ROOMS && m.v.ntargets == 1))) {
        char room[MSG_ROOM_MAX + 8];
        const char *rn = m.v.targets[0].p;
        size_t rl = m.v.targets[0].n;
        if (m.v.target == MSG_T_USER) {
            int k = snprintf(room, sizeof(room), "user:%.*s", (int)rl, rn);
            if (k <= 0 || (size_t)k >= sizeof(room))
                return;
            rn = room;
            rl = (size_t)k;
        }
        if (fan_block_add(&m, rn, rl, oi) == 0)
            return;
    }
    fan_flush_blocks();
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
        m.v.event = (struct msg_str){"maintenance", 11};
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

    fan_flush_blocks();
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
    for (int i = 0; i < FAN_BATCH
         && wctr_val[CTR_deliveries] - start < FAN_DELIVERY_BUDGET; i++) {
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
        F.obs[F.nobs] = (struct fan_obs){.ts_us = e.ts_us,
            .bnext = FAN_NO_OBS};
        fan_dispatch(e.seq, e.ts_us, F.buf, e.len, F.nobs++);
    }
    fan_flush_blocks();
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
