/*
 * Emitter interop of the master (rem.h). Owns the subscriber connection
 * (PSUBSCRIBE <key>#* and <key>-request#*: patterns, so Node servers'
 * PUBSUB NUMSUB does not count wsgate and wait for replies it never
 * sends), the emitter lease and what is done with each message. Decoding
 * and mapping are common/rdm.c's; the stream, its order and dedup are
 * master/rds.c's: the lease holder hands each entry to rds_submit like a
 * publish of its own API, and every node gets it back from the stream.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "common/config.h"
#include "common/counters.h"
#include "common/erng.h"
#include "common/log.h"
#include "common/msg.h"
#include "common/rdm.h"
#include "common/rent.h"
#include "common/wsg.h"
#include "master/rds.h"
#include "master/rem.h"
#include "shm/mlog.h"
#include "shm/shm.h"

/* Compare-and-extend: only the holder renews its lease. */
static const char rem_renew_lua[] =
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

#define REM_RING_ENTRIES 4096    /* recent entries kept for a takeover */
#define REM_RING_BYTES (8u << 20)
#define REM_CATCHUP_READ "10000"  /* stream entries read back at takeover */

/* follow: another node forwards; catchup: the lease is ours, the stream
 * is being read to find what the last holder did not forward; lead:
 * forwarding. */
enum rem_state { REM_FOLLOW, REM_CATCHUP, REM_LEAD };

enum { REM_LOG_IGNORE, REM_LOG_UNSUPPORTED, REM_LOG_BAD, REM_LOG_REFUSED,
    REM_LOG_N };

static struct {
    int on;
    struct shm_segment *seg;
    redisAsyncContext *sub;
    int sub_quiet;           /* a failed subscriber attempt was logged */
    struct event *tick;
    char key[208];
    char pat_b[420], pat_r[420]; /* the two patterns, key escaped */
    char lease_key[280];
    char me[RENT_ORIGIN_MAX + 24]; /* node_name:incarnation */
    int64_t ttl;
    int64_t lease_until;     /* mono ms: the lease is ours before this */
    int64_t lease_sent;      /* when the outstanding lease command went */
    int lease_busy;
    enum rem_state state;
    int catchup_busy;        /* the XREVRANGE of a takeover is out */
    char stream[256];
    struct erng *ring;       /* recent entries, for a takeover */
    unsigned char *ebuf;     /* one log entry */
    size_t ecap;
    int logged[REM_LOG_N];
} E;

static void rem_tick_cb(evutil_socket_t fd, short what, void *arg);
static void rem_open(void);
static void rem_catchup(void);

/* Copy key into out escaping the glob characters of PSUBSCRIBE, then
 * suffix and '*'. */
static void
rem_pattern(char *out, size_t cap, const char *key, const char *suffix)
{
    size_t n = 0;

    for (const char *k = key; *k && n + 2 < cap; k++) {
        if (strchr("*?[]\\", *k))
            out[n++] = '\\';
        out[n++] = *k;
    }
    snprintf(out + n, cap - n, "%s*", suffix);
}

int
rem_init(struct event_base *base, struct mlog *log, struct shm_segment *seg,
    const struct cfg *c)
{
    struct timeval tv;

    if (!rds_enabled() || !CFG_NUM(c, redis_emitter))
        return 0;
    E.on = 1;
    E.seg = seg;
    E.ttl = CFG_NUM(c, redis_emitter_lease);
    snprintf(E.key, sizeof(E.key), "%s", CFG_STR(c, redis_emitter_key));
    rem_pattern(E.pat_b, sizeof(E.pat_b), E.key, "#");
    rem_pattern(E.pat_r, sizeof(E.pat_r), E.key, "-request#");
    snprintf(E.lease_key, sizeof(E.lease_key), "%s:emitter-lease",
        CFG_STR(c, redis_stream));
    snprintf(E.me, sizeof(E.me), "%s:%s", rds_node(), rds_incarnation());
    snprintf(E.stream, sizeof(E.stream), "%s", CFG_STR(c, redis_stream));
    E.ecap = mlog_max_len(log);
    E.ebuf = malloc(E.ecap);
    E.ring = erng_new(REM_RING_ENTRIES, REM_RING_BYTES);
    E.tick = event_new(base, -1, EV_PERSIST, rem_tick_cb, NULL);
    if (E.ebuf == NULL || E.ring == NULL || E.tick == NULL)
        return -1;
    /* A third of the lease: a holder renews twice before it could lapse,
     * and a free lease is taken within that much. */
    tv.tv_sec = (E.ttl / 3) / 1000;
    tv.tv_usec = ((E.ttl / 3) % 1000) * 1000;
    event_add(E.tick, &tv);
    log_msg(LOG_NOTICE, "cluster: taking @socket.io/redis-emitter messages "
        "on %s and %s; the node holding %s (lease %lld ms) forwards them "
        "into the stream", E.pat_b, E.pat_r, E.lease_key, (long long)E.ttl);
    return 0;
}

void
rem_stop(void)
{
    if (!E.on)
        return;
    if (E.sub != NULL) {
        redisAsyncContext *ac = E.sub;
        E.sub = NULL;
        redisAsyncFree(ac);
    }
    if (E.tick)
        event_free(E.tick);
    E.tick = NULL;
    free(E.ebuf);
    E.ebuf = NULL;
    erng_free(&E.ring);
    E.on = 0;
}

/* 1 while this node may forward: it holds the lease and the link is up
 * (an entry accepted while the link is down would reach the stream after
 * the next holder's, out of order). */
static int
rem_leader(void)
{
    return rds_up() && wsg_mono_ms() < E.lease_until;
}

static int
rem_forwarding(void)
{
    return E.state == REM_LEAD && rem_leader();
}

static void
rem_set_leader(int64_t until)
{
    int was = wsg_mono_ms() < E.lease_until;

    E.lease_until = until;
    if (!was && wsg_mono_ms() < until) {
        log_msg(LOG_NOTICE, "cluster: this node holds the emitter lease "
            "%s: it forwards emitter messages", E.lease_key);
        E.state = REM_CATCHUP;
        rem_catchup();
    } else if (was && until == 0) {
        log_msg(LOG_NOTICE, "cluster: this node no longer holds the "
            "emitter lease %s", E.lease_key);
        E.state = REM_FOLLOW;
    }
    shm_master_set(E.seg, CTR_redis_emitter_leader, rem_forwarding());
}

/* The lease is ours until the command's send time plus the TTL, less a
 * tenth for the clocks of Redis and this node. */
static void
rem_lease_cb(const struct redisReply *rep, void *priv)
{
    int renew = priv != NULL;
    int ok;

    E.lease_busy = 0;
    if (!E.on)
        return;
    if (renew)
        ok = rep && rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
    else
        ok = rep && rep->type == REDIS_REPLY_STATUS;
    if (ok)
        rem_set_leader(E.lease_sent + E.ttl - E.ttl / 10);
    else if (renew || rep == NULL)
        rem_set_leader(0);
}

/* Take the lease (SET NX PX) or, while it is ours, extend it; one
 * command at a time, on the link's command connection. */
static void
rem_lease(void)
{
    char ttl[24];
    int renew = wsg_mono_ms() < E.lease_until;
    const char *renew_argv[6] = {"EVAL", rem_renew_lua, "1", E.lease_key,
        E.me, ttl};
    const char *take_argv[6] = {"SET", E.lease_key, E.me, "PX", ttl, "NX"};
    const char **argv = renew ? renew_argv : take_argv;
    size_t lens[6];

    snprintf(ttl, sizeof(ttl), "%lld", (long long)E.ttl);
    for (int i = 0; i < 6; i++)
        lens[i] = strlen(argv[i]);
    E.lease_sent = wsg_mono_ms();
    if (rds_command(rem_lease_cb, renew ? (void *)1 : NULL, 6, argv,
            lens) == 0)
        E.lease_busy = 1;
}

static void
rem_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (E.lease_until && wsg_mono_ms() >= E.lease_until)
        rem_set_leader(0);
    shm_master_set(E.seg, CTR_redis_emitter_leader, rem_forwarding());
    /* What a takeover may have to forward: what arrived since the last
     * holder's last renewal, at most a lease and a tick ago, twice. */
    erng_prune(E.ring, wsg_mono_ms() - 2 * E.ttl - E.ttl / 3);
    if (!rds_up())
        return;
    if (E.sub == NULL)
        rem_open();
    if (!E.lease_busy)
        rem_lease();
    if (E.state == REM_CATCHUP && !E.catchup_busy)
        rem_catchup();
}

/* Log the first message of each kind that is not forwarded; count all. */
static void
rem_note(int what, int ctr, const char *ch, size_t chn,
    const struct rdm_out *o)
{
    static const char *const says[REM_LOG_N] = {
        [REM_LOG_IGNORE] = "nothing for clients (serverSideEmit or a "
            "local broadcast): ignored",
        [REM_LOG_UNSUPPORTED] = "not supported by wsgate: dropped",
        [REM_LOG_BAD] = "malformed: dropped",
        [REM_LOG_REFUSED] = "not forwarded: the stream refused it "
            "(redis_queue_size full or link down)",
    };

    shm_master_add(E.seg, ctr, 1);
    if (E.logged[what])
        return;
    E.logged[what] = 1;
    log_msg(what == REM_LOG_IGNORE ? LOG_NOTICE : LOG_WARNING,
        "cluster: emitter message on %.*s (%s%s%d) %s; further ones are "
        "only counted", (int)(chn > 200 ? 200 : chn), ch,
        rde_status_str(o->why), o->req_type >= 0 ? ", request type " : "",
        o->req_type >= 0 ? o->req_type : 0, says[what]);
}

/* One pub/sub message. */
static void
rem_message(const char *ch, size_t chn, const unsigned char *p, size_t n)
{
    struct rdm_out o;
    uint64_t first;

    shm_master_add(E.seg, CTR_redis_emitter_received, 1);
    switch (rdm_message(E.key, ch, chn, p, n, E.ebuf, E.ecap, &o)) {
    case RDM_FORWARD:
        /* Kept for a takeover, even by the holder (it may lose the lease
         * and take it again). */
        (void)erng_push(E.ring, E.ebuf, o.len, wsg_mono_ms());
        if (!rem_forwarding()) {
            if (E.state != REM_CATCHUP)
                shm_master_add(E.seg, CTR_redis_emitter_skipped, 1);
        } else if (rds_submit(E.ebuf, &o.len, 1, &first) != RDS_OK) {
            rem_note(REM_LOG_REFUSED, CTR_redis_emitter_skipped, ch, chn, &o);
        } else {
            shm_master_add(E.seg, CTR_redis_emitter_forwarded, 1);
        }
        break;
    case RDM_IGNORE:
        rem_note(REM_LOG_IGNORE, CTR_redis_emitter_ignored, ch, chn, &o);
        break;
    case RDM_UNSUPPORTED:
        rem_note(REM_LOG_UNSUPPORTED, CTR_redis_emitter_unsupported, ch, chn,
            &o);
        break;
    case RDM_BAD:
        rem_note(REM_LOG_BAD, CTR_redis_emitter_bad, ch, chn, &o);
        break;
    }
}

/* PSUBSCRIBE replies: a confirmation per pattern, then
 * ["pmessage", pattern, channel, message] per message. */
static void
rem_sub_cb(redisAsyncContext *ac, void *r, void *priv)
{
    const redisReply *rep = r, *k;

    (void)priv;
    if (rep == NULL || ac != E.sub)
        return;
    if (rep->type == REDIS_REPLY_ERROR) {
        log_msg(LOG_WARNING, "cluster: emitter subscriber: Redis refused "
            "PSUBSCRIBE: %.120s", rep->str);
        return;
    }
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 3
        || (k = rep->element[0])->type != REDIS_REPLY_STRING)
        return;
    if (k->len == 10 && memcmp(k->str, "psubscribe", 10) == 0) {
        if (rep->element[1]->type == REDIS_REPLY_STRING
            && strcmp(rep->element[1]->str, E.pat_r) == 0) {
            log_msg(LOG_NOTICE, "cluster: emitter subscriber connected");
            E.sub_quiet = 0;
        }
        return;
    }
    if (rep->elements == 4 && k->len == 8 && memcmp(k->str, "pmessage", 8) == 0
        && rep->element[2]->type == REDIS_REPLY_STRING
        && rep->element[3]->type == REDIS_REPLY_STRING)
        rem_message(rep->element[2]->str, rep->element[2]->len,
            (const unsigned char *)rep->element[3]->str,
            rep->element[3]->len);
}

/* hiredis frees the context after either callback reports its end. */
static void
rem_connect_cb(const redisAsyncContext *ac, int status)
{
    if (status == REDIS_OK || ac != E.sub)
        return;
    if (!E.sub_quiet)
        log_msg(LOG_WARNING, "cluster: emitter subscriber cannot connect "
            "(%.120s); retrying", ac->errstr);
    E.sub_quiet = 1;
    E.sub = NULL;
}

static void
rem_disconnect_cb(const redisAsyncContext *ac, int status)
{
    (void)status;
    if (ac != E.sub)
        return;
    log_msg(LOG_WARNING, "cluster: emitter subscriber connection lost "
        "(%.120s): emitter messages published until it is back are not "
        "seen by this node (pub/sub keeps nothing)",
        ac->err ? ac->errstr : "closed by the server");
    E.sub_quiet = 1;
    E.sub = NULL;
    /* What was kept was heard before a gap this node cannot fill: after
     * a Redis restart, forwarding it at a takeover would repeat what the
     * last holder delivered before the restart. */
    erng_prune(E.ring, INT64_MAX);
}

static void
rem_open(void)
{
    const char *argv[3] = {"PSUBSCRIBE", E.pat_b, E.pat_r};
    size_t lens[3] = {10, strlen(E.pat_b), strlen(E.pat_r)};

    E.sub = rds_open_extra();
    if (E.sub == NULL)
        return;
    redisAsyncSetConnectCallback(E.sub, rem_connect_cb);
    redisAsyncSetDisconnectCallback(E.sub, rem_disconnect_cb);
    if (redisAsyncCommandArgv(E.sub, rem_sub_cb, NULL, 3, argv, lens)
        != REDIS_OK) {
        redisAsyncContext *ac = E.sub;
        E.sub = NULL;
        redisAsyncFree(ac);
    }
}

/* The hashes of the emitter entries in a stream read (XREVRANGE reply
 * [[id, [field, value, ...]], ...]) into seen; returns how many. */
static size_t
rem_seen(const redisReply *rep, uint64_t *seen)
{
    struct rent_str f[16];
    struct rent e;
    size_t n = 0;

    for (size_t i = 0; i < rep->elements; i++) {
        const redisReply *en = rep->element[i], *fl;
        size_t k;
        if (en->type != REDIS_REPLY_ARRAY || en->elements != 2
            || (fl = en->element[1])->type != REDIS_REPLY_ARRAY
            || fl->elements > 16)
            continue;
        for (k = 0; k < fl->elements; k++) {
            if (fl->element[k]->type != REDIS_REPLY_STRING)
                break;
            f[k] = (struct rent_str){fl->element[k]->str,
                fl->element[k]->len};
        }
        if (k == fl->elements && rent_parse(f, k, &e) == RENT_OK
            && (e.kind == MSG_EMIT || e.kind == MSG_EMIT_KICK))
            seen[n++] = erng_hash(e.data, e.len);
    }
    return n;
}

/* The stream's recent entries, read at a takeover: forward the kept
 * entries after the newest one the stream holds, then go live. */
static void
rem_catchup_cb(const struct redisReply *rep, void *priv)
{
    uint64_t *seen = NULL, first;
    size_t nseen = 0, from, n = 0, len;

    (void)priv;
    E.catchup_busy = 0;
    if (!E.on || E.state != REM_CATCHUP || rep == NULL
        || rep->type != REDIS_REPLY_ARRAY)
        return; /* lost the lease meanwhile, or retry at the next tick */
    if (rep->elements > 0
        && (seen = malloc(rep->elements * sizeof(*seen))) == NULL)
        return;
    if (seen != NULL)
        nseen = rem_seen(rep, seen);
    from = erng_unseen(E.ring, seen, nseen);
    free(seen);
    for (size_t i = from; i < erng_count(E.ring); i++) {
        const unsigned char *p = erng_at(E.ring, i, &len);
        if (rds_submit(p, &len, 1, &first) != RDS_OK)
            break;
        n++;
    }
    shm_master_add(E.seg, CTR_redis_emitter_recovered, n);
    shm_master_add(E.seg, CTR_redis_emitter_forwarded, n);
    if (n > 0)
        log_msg(LOG_NOTICE, "cluster: emitter lease taken over: forwarded "
            "%zu recent emitter messages the stream did not hold", n);
    E.state = REM_LEAD;
    shm_master_set(E.seg, CTR_redis_emitter_leader, rem_forwarding());
}

static void
rem_catchup(void)
{
    const char *argv[6] = {"XREVRANGE", E.stream, "+", "-", "COUNT",
        REM_CATCHUP_READ};
    size_t lens[6];

    for (int i = 0; i < 6; i++)
        lens[i] = strlen(argv[i]);
    if (rds_command(rem_catchup_cb, NULL, 6, argv, lens) == 0)
        E.catchup_busy = 1;
}
