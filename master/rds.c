/*
 * Redis link of the master (rds.h). Two hiredis async connections on the
 * master's event base: `cmd` for the handshake and XADD, `fol` for XREAD
 * BLOCK. Sends the outbox of this node's own entries (master/rdo.c),
 * and hands what it reads to master/rdf.c, which appends it once. The publish API
 * (pub.c) decides what to answer; this module only moves entries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "common/config.h"
#include "common/log.h"
#include "common/rent.h"
#include "common/rurl.h"
#include "common/wsg.h"
#include "master/rdf.h"
#include "master/rdo.h"
#include "master/rds.h"
#include "shm/gmap.h"
#include "shm/shm.h"

#define RDS_TICK_MS 100
#define RDS_RETRY_MIN_MS 100
#define RDS_RETRY_MAX_MS 2000
#define RDS_BLOCK_MS 1000   /* XREAD BLOCK */
#define RDS_READ_COUNT 256  /* entries per XREAD */
#define RDS_RETAIN_MS 60000 /* own entries kept after read back */
#define RDS_MAX_DEAD 8

enum rds_state { RDS_S_DOWN, RDS_S_CONNECTING, RDS_S_UP };



static void rds_connect_cb(const redisAsyncContext *ac, int status);
static void rds_disconnect_cb(const redisAsyncContext *ac, int status);
static void rds_tick_cb(evutil_socket_t fd, short what, void *arg);
static void rds_retry_cb(evutil_socket_t fd, short what, void *arg);
static void rds_reap_cb(evutil_socket_t fd, short what, void *arg);
static void rds_down(const char *why);
static void rds_send_more(void);
static void rds_read_next(void);
static void rds_xadd_cb(redisAsyncContext *ac, void *r, void *priv);
static void rds_own_back(uint64_t oseq, uint64_t seq);

static struct {
    int enabled;
    struct event_base *base;
    struct shm_segment *seg;
    const struct cfg *cfg;
    rds_wake_fn wake;
    rds_progress_fn progress;
    struct rurl url;
    char where[RURL_HOST_MAX + 16]; /* host:port or path, for logs */
    char node[RENT_ORIGIN_MAX + 1];
    char inc[17];
    char stream[256];
    char counter[256 + 8]; /* <stream>:gseq, numbering its entries */
    void (*on_up)(int restarted);
    int restarted;         /* run_id changed: tell on_up */

    enum rds_state state;
    redisAsyncContext *cmd, *fol;
    redisAsyncContext *dead[RDS_MAX_DEAD]; /* freed from rds_reap_cb */
    size_t ndead;
    struct event *tick, *retry, *reap;
    int64_t attempt_ms;   /* when the current attempt began */
    int64_t backoff_ms;
    unsigned cmd_out;     /* commands on cmd awaiting a reply */
    int64_t cmd_progress_ms;
    int64_t fol_sent_ms;  /* XREAD outstanding since; 0: none */
    int quiet;            /* a failure while down was logged already */
    int followed;         /* pos was set once */
    char run_id[RENT_RUNID_LEN + 1];

    /* the outbox of own entries is master/rdo.c's */
    uint64_t send_next;   /* next oseq to XADD on this link */
    uint64_t acked;       /* highest oseq Redis answered on this run_id */
    int full_logged;

} R;

/* ---------------------------------------------------------------- */

int
rds_init(struct event_base *base, struct mlog *log, struct shm_segment *seg,
    const struct cfg *c, rds_wake_fn wake, rds_progress_fn progress)
{
    uint64_t rnd;

    if (CFG_STR(c, redis_url)[0] == '\0')
        return 0;
    if (rurl_parse(CFG_STR(c, redis_url), &R.url) != RURL_OK) {
        log_msg(LOG_ERR, "redis_url cannot be parsed"); /* cfg checked it */
        return -1;
    }
    R.enabled = 1;
    R.base = base;
    R.seg = seg;
    R.wake = wake;
    R.progress = progress;
    rds_set_cfg(c);
    if (R.url.is_unix)
        snprintf(R.where, sizeof(R.where), "%s", R.url.path);
    else
        snprintf(R.where, sizeof(R.where), strchr(R.url.host, ':')
            ? "[%s]:%d" : "%s:%d", R.url.host, R.url.port);
    if (CFG_STR(c, node_name)[0]) {
        snprintf(R.node, sizeof(R.node), "%s", CFG_STR(c, node_name));
    } else {
        char host[RENT_ORIGIN_MAX - 8];
        if (gethostname(host, sizeof(host)) == -1)
            snprintf(host, sizeof(host), "wsgate");
        host[sizeof(host) - 1] = '\0';
        snprintf(R.node, sizeof(R.node), "%s:%lld", host,
            (long long)CFG_NUM(c, port));
    }
    if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
        rnd = (uint64_t)wsg_real_ms() ^ ((uint64_t)getpid() << 40);
    snprintf(R.inc, sizeof(R.inc), "%016llx", (unsigned long long)rnd);
    snprintf(R.stream, sizeof(R.stream), "%s", CFG_STR(c, redis_stream));
    snprintf(R.counter, sizeof(R.counter), "%s:gseq", R.stream);
    gmap_init(shm_gmap(seg), 1); /* before the workers: they read it */
    R.send_next = 1;
    R.tick = event_new(base, -1, EV_PERSIST, rds_tick_cb, NULL);
    R.retry = evtimer_new(base, rds_retry_cb, NULL);
    R.reap = event_new(base, -1, 0, rds_reap_cb, NULL);
    if (rdo_init() == -1 || R.tick == NULL || R.retry == NULL
        || R.reap == NULL)
        return -1;
    struct timeval tv = {0, RDS_TICK_MS * 1000};
    event_add(R.tick, &tv);
    log_msg(LOG_NOTICE, "cluster: node %s (incarnation %s) on Redis %s, "
        "stream %s; while Redis is down publishes are %s", R.node, R.inc,
        R.where, R.stream, CFG_NUM(c, redis_unavailable) ? "refused"
        : "queued");
    rdf_init(log, seg, R.node, R.inc, rds_own_back);
    rds_retry_cb(-1, 0, NULL);
    return 0;
}

void
rds_set_cfg(const struct cfg *c)
{
    R.cfg = c;
}

int
rds_enabled(void)
{
    return R.enabled;
}

int
rds_up(void)
{
    return R.state == RDS_S_UP;
}

uint64_t
rds_local_seq(uint64_t oseq)
{
    struct rdo_ent *o = rdo_at(oseq);
    return o ? o->seq : 0;
}

static void
rds_gauges(void)
{
    shm_master_set(R.seg, CTR_redis_up, R.state == RDS_S_UP);
    shm_master_set(R.seg, CTR_redis_queued, rdo_next() - rdo_first_pending());
}

enum rds_status
rds_submit(const unsigned char *buf, const size_t *lens, size_t n,
    uint64_t *first)
{
    size_t limit = (size_t)CFG_NUM(R.cfg, redis_queue_size);

    if (R.state != RDS_S_UP && CFG_NUM(R.cfg, redis_unavailable)) {
        shm_master_add(R.seg, CTR_redis_refused, 1);
        return RDS_E_DOWN;
    }
    if (rdo_push(buf, lens, n, limit, first) != RDO_OK) {
        shm_master_add(R.seg, CTR_redis_queue_full, 1);
        if (!R.full_logged)
            log_msg(LOG_WARNING, "cluster: redis_queue_size (%zu bytes) is "
                "full of entries not yet read back from Redis: publishes "
                "get 503 until it drains", limit);
        R.full_logged = 1;
        return RDS_E_FULL;
    }
    R.full_logged = 0;
    rds_gauges();
    if (R.state == RDS_S_UP)
        rds_send_more();
    return RDS_OK;
}

/* --- connections -------------------------------------------------- */

static int
rds_is_current(const redisAsyncContext *ac)
{
    return ac != NULL && (ac == R.cmd || ac == R.fol);
}

static void
rds_forget_dead(const redisAsyncContext *ac)
{
    for (size_t i = 0; i < R.ndead; i++)
        if (R.dead[i] == ac) {
            R.dead[i] = R.dead[--R.ndead];
            return;
        }
}

/* A command on cmd; the reply goes to fn. */
static int
rds_cmd(redisCallbackFn *fn, void *priv, int argc, const char **argv,
    const size_t *lens)
{
    if (R.cmd == NULL
        || redisAsyncCommandArgv(R.cmd, fn, priv, argc, argv, lens)
            != REDIS_OK)
        return -1;
    if (R.cmd_out++ == 0)
        R.cmd_progress_ms = wsg_mono_ms();
    return 0;
}

/* A reply on cmd arrived (reply NULL: the context is going away). */
static const redisReply *
rds_cmd_reply(redisAsyncContext *ac, void *r)
{
    if (r == NULL || ac != R.cmd)
        return NULL;
    R.cmd_out--;
    R.cmd_progress_ms = wsg_mono_ms();
    return r;
}

/* A connection on the master's base; own: with the link's connect and
 * disconnect callbacks (hiredis takes a callback only once, so an extra
 * connection's owner sets its own). */
static redisAsyncContext *
rds_open(int own)
{
    redisAsyncContext *ac = R.url.is_unix
        ? redisAsyncConnectUnix(R.url.path)
        : redisAsyncConnect(R.url.host, R.url.port);

    if (ac == NULL)
        return NULL;
    if (ac->err) {
        redisAsyncFree(ac);
        return NULL;
    }
    if (redisLibeventAttach(ac, R.base) != REDIS_OK) {
        redisAsyncFree(ac);
        return NULL;
    }
    if (own) {
        redisAsyncSetConnectCallback(ac, rds_connect_cb);
        redisAsyncSetDisconnectCallback(ac, rds_disconnect_cb);
    }
    return ac;
}

struct rds_call {
    rds_reply_fn fn;
    void *priv;
};

static void
rds_call_cb(redisAsyncContext *ac, void *r, void *priv)
{
    struct rds_call *k = priv;
    const redisReply *rep = rds_cmd_reply(ac, r);

    k->fn(rep, k->priv);
    free(k);
}

int
rds_command(rds_reply_fn fn, void *priv, int argc, const char **argv,
    const size_t *lens)
{
    struct rds_call *k;

    if (R.state != RDS_S_UP || (k = malloc(sizeof(*k))) == NULL)
        return -1;
    k->fn = fn;
    k->priv = priv;
    if (rds_cmd(rds_call_cb, k, argc, argv, lens) == -1) {
        free(k);
        return -1;
    }
    return 0;
}

const char *
rds_node(void)
{
    return R.enabled ? R.node : "";
}

const char *
rds_incarnation(void)
{
    return R.enabled ? R.inc : "";
}

static void rds_auth_cb(redisAsyncContext *ac, void *r, void *priv);
static int rds_login(redisAsyncContext *ac, redisCallbackFn *cb);

/* An extra connection's AUTH or SELECT answered: refused closes it. */
static void
rds_extra_auth_cb(redisAsyncContext *ac, void *r, void *priv)
{
    const redisReply *rep = r;

    (void)priv;
    if (rep && rep->type == REDIS_REPLY_ERROR) {
        log_msg(LOG_WARNING, "cluster: Redis %s refused AUTH/SELECT: %.120s",
            R.where, rep->str);
        redisAsyncDisconnect(ac);
    }
}

redisAsyncContext *
rds_open_extra(void)
{
    redisAsyncContext *ac;

    if (!R.enabled)
        return NULL;
    ac = rds_open(0);
    if (ac == NULL)
        return NULL;
    if (rds_login(ac, rds_extra_auth_cb) == -1) {
        redisAsyncFree(ac);
        return NULL;
    }
    return ac;
}

/* AUTH and SELECT per the URL, pipelined on ac; their replies go to
 * cb (rds_auth_cb for the link's own connections). */
static int
rds_login(redisAsyncContext *ac, redisCallbackFn *cb)
{
    char db[16];
    const char *argv[3];
    size_t lens[3];
    int n = 0;

    if (R.url.password[0]) {
        argv[n] = "AUTH";
        lens[n++] = 4;
        if (R.url.user[0]) {
            argv[n] = R.url.user;
            lens[n] = strlen(R.url.user);
            n++;
        }
        argv[n] = R.url.password;
        lens[n] = strlen(R.url.password);
        n++;
        if (ac == R.cmd ? rds_cmd(rds_auth_cb, NULL, n, argv, lens)
                : redisAsyncCommandArgv(ac, cb, NULL, n, argv,
                      lens))
            return -1;
    }
    if (R.url.db) {
        snprintf(db, sizeof(db), "%d", R.url.db);
        argv[0] = "SELECT";
        lens[0] = 6;
        argv[1] = db;
        lens[1] = strlen(db);
        if (ac == R.cmd ? rds_cmd(rds_auth_cb, NULL, 2, argv, lens)
                : redisAsyncCommandArgv(ac, cb, NULL, 2, argv,
                      lens))
            return -1;
    }
    return 0;
}

/* AUTH or SELECT answered. */
static void
rds_auth_cb(redisAsyncContext *ac, void *r, void *priv)
{
    const redisReply *rep = ac == R.cmd ? rds_cmd_reply(ac, r)
        : ac == R.fol ? r : NULL;
    char why[160];

    (void)priv;
    if (rep == NULL || rep->type != REDIS_REPLY_ERROR)
        return;
    snprintf(why, sizeof(why), "AUTH/SELECT refused: %.120s", rep->str);
    rds_down(why);
}

static void rds_info_cb(redisAsyncContext *ac, void *r, void *priv);

static void
rds_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (R.state != RDS_S_DOWN)
        return;
    R.state = RDS_S_CONNECTING;
    R.attempt_ms = wsg_mono_ms();
    R.cmd_out = 0;
    R.fol_sent_ms = 0;
    R.cmd = rds_open(1);
    if (R.cmd == NULL) {
        rds_down("cannot create a connection");
        return;
    }
    const char *argv[2] = {"INFO", "server"};
    size_t lens[2] = {4, 6};
    if (rds_login(R.cmd, rds_auth_cb) == -1
        || rds_cmd(rds_info_cb, NULL, 2, argv, lens) == -1)
        rds_down("cannot queue the handshake");
}

/* Connection ac failed or closed (hiredis frees it after the callback
 * that reports it): if it is one of ours, Redis is down for us. */
static void
rds_lost(const redisAsyncContext *ac, const char *why)
{
    rds_forget_dead(ac);
    if (!rds_is_current(ac))
        return;
    if (ac == R.cmd)
        R.cmd = NULL;
    else
        R.fol = NULL;
    rds_down(why);
}

static void
rds_connect_cb(const redisAsyncContext *ac, int status)
{
    char why[160];

    if (status == REDIS_OK)
        return; /* the handshake is already queued */
    snprintf(why, sizeof(why), "connect: %.120s", ac->errstr);
    rds_lost(ac, why);
}

static void
rds_disconnect_cb(const redisAsyncContext *ac, int status)
{
    char why[160];

    (void)status;
    snprintf(why, sizeof(why), "%s connection closed: %.120s",
        ac == R.cmd ? "command" : "stream reader",
        ac->err ? ac->errstr : "by the server");
    rds_lost(ac, why);
}

/* Contexts that rds_down let go of are freed here, outside any hiredis
 * callback (freeing a context inside its own connect callback is not
 * safe in hiredis 0.14). */
static void
rds_reap_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    while (R.ndead > 0) {
        redisAsyncContext *ac = R.dead[--R.ndead];
        redisAsyncFree(ac);
    }
}

static void
rds_let_go(redisAsyncContext *ac)
{
    if (ac == NULL)
        return;
    if (R.ndead < RDS_MAX_DEAD) {
        R.dead[R.ndead++] = ac;
        event_active(R.reap, 0, 0);
    }
}

/* The link failed: drop both connections, log once, retry later. */
static void
rds_down(const char *why)
{
    int was_up = R.state == RDS_S_UP;

    if (R.state == RDS_S_DOWN)
        return;
    R.state = RDS_S_DOWN;
    rds_let_go(R.cmd);
    rds_let_go(R.fol);
    R.cmd = R.fol = NULL;
    shm_master_add(R.seg, CTR_redis_disconnects, 1);
    rds_gauges();
    if (was_up) {
        log_msg(LOG_WARNING, "cluster: Redis %s link lost (%s); local "
            "clients are still served, publishes are %s until it is back",
            R.where, why, CFG_NUM(R.cfg, redis_unavailable) ? "refused"
            : "queued");
        R.backoff_ms = RDS_RETRY_MIN_MS;
        R.quiet = 1;
    } else {
        if (!R.quiet)
            log_msg(LOG_WARNING, "cluster: cannot reach Redis %s (%s); "
                "retrying every %d ms at most, quietly; publishes are %s",
                R.where, why, RDS_RETRY_MAX_MS,
                CFG_NUM(R.cfg, redis_unavailable) ? "refused" : "queued");
        R.quiet = 1;
        R.backoff_ms = R.backoff_ms ? R.backoff_ms * 2 : RDS_RETRY_MIN_MS;
        if (R.backoff_ms > RDS_RETRY_MAX_MS)
            R.backoff_ms = RDS_RETRY_MAX_MS;
    }
    struct timeval tv = {R.backoff_ms / 1000, (R.backoff_ms % 1000) * 1000};
    evtimer_add(R.retry, &tv);
    if (R.progress)
        R.progress(); /* waiting requests answer 202 now */
}

static void rds_edge_cb(redisAsyncContext *ac, void *r, void *priv);

/* INFO server answered: a new run_id means Redis restarted, and what it
 * held is gone: every kept own entry is sent again. */
static void
rds_info_cb(redisAsyncContext *ac, void *r, void *priv)
{
    const redisReply *rep = rds_cmd_reply(ac, r);
    char id[RENT_RUNID_LEN + 1];

    (void)priv;
    if (rep == NULL)
        return;
    if (rep->type != REDIS_REPLY_STRING
        || rent_info_run_id(rep->str, rep->len, id) != RENT_OK) {
        rds_down("INFO server has no run_id");
        return;
    }
    R.send_next = R.acked + 1 > rdo_first_pending() ? R.acked + 1
                                                    : rdo_first_pending();
    if (R.run_id[0] && strcmp(R.run_id, id) != 0) {
        uint64_t from = rdo_oldest();
        shm_master_add(R.seg, CTR_redis_restarts, 1);
        log_msg(LOG_WARNING, "cluster: Redis %s restarted (run_id %.8s... "
            "became %.8s...): appending again the %llu own entries kept "
            "(oseq %llu on), which it may have lost", R.where, R.run_id, id,
            (unsigned long long)(rdo_next() - from),
            (unsigned long long)from);
        R.send_next = from;
        R.acked = from - 1;
        rdf_set_pos((struct rent_id){0, 0}, 0); /* the new stream whole */
        R.restarted = 1;
    }
    memcpy(R.run_id, id, sizeof(id));
    /* Where to follow from. The first time: after the stream's last entry
     * (history is not replayed to a node that just started). Later: after
     * the last id read, if the stream still holds it; else from its first
     * entry (a new or trimmed stream). */
    const char *argv[6] = {R.followed ? "XRANGE" : "XREVRANGE", R.stream,
        R.followed ? "-" : "+", R.followed ? "+" : "-", "COUNT", "1"};
    size_t lens[6] = {R.followed ? 6 : 9, strlen(R.stream), 1, 1, 5, 1};
    if (rds_cmd(rds_edge_cb, NULL, 6, argv, lens) == -1)
        rds_down("cannot queue XRANGE");
}

static void rds_read_cb(redisAsyncContext *ac, void *r, void *priv);

/* Both connections are ready: follow, and send what waits. */
static void
rds_link_up(void)
{
    char pos[RENT_ID_MAX];

    R.state = RDS_S_UP;
    R.backoff_ms = 0;
    R.quiet = 0;
    R.fol = rds_open(1);
    if (R.fol == NULL || rds_login(R.fol, rds_auth_cb) == -1) {
        rds_down("cannot open the stream reader connection");
        return;
    }
    rds_read_next();
    shm_master_add(R.seg, CTR_redis_connects, 1);
    rent_id_format(rdf_pos(), pos);
    log_msg(LOG_NOTICE, "cluster: connected to Redis %s (run_id %.8s...); "
        "following stream %s after %s; %llu own entries to send", R.where,
        R.run_id, R.stream, pos,
        (unsigned long long)(rdo_next() - R.send_next));
    rds_send_more();
    rds_gauges();
    if (R.on_up)
        R.on_up(R.restarted);
    R.restarted = 0;
}

void
rds_on_up(void (*fn)(int restarted))
{
    R.on_up = fn;
}

/* The stream's first (XRANGE) or last (XREVRANGE, first link) entry, or
 * none. */
static void
rds_edge_cb(redisAsyncContext *ac, void *r, void *priv)
{
    const redisReply *rep = rds_cmd_reply(ac, r), *e;
    struct rent_id edge;
    int have = 0;

    (void)priv;
    if (rep == NULL)
        return;
    if (rep->type != REDIS_REPLY_ARRAY) {
        rds_down("XRANGE: not an array (is the key a stream?)");
        return;
    }
    e = rep->elements > 0 ? rep->element[0] : NULL;
    if (e && e->type == REDIS_REPLY_ARRAY && e->elements == 2
        && e->element[0]->type == REDIS_REPLY_STRING
        && rent_id_parse(e->element[0]->str, e->element[0]->len, &edge)
            == RENT_OK)
        have = 1;
    if (!R.followed) {
        rdf_set_pos(have ? edge : (struct rent_id){0, 0}, 0);
        R.followed = 1;
    } else if (have && (rdf_pos().ms || rdf_pos().seq)
        && rent_id_cmp(edge, rdf_pos()) > 0) {
        /* Our position is gone: read the stream from its start; what we
         * already have is skipped by (origin, oseq). */
        log_msg(LOG_NOTICE, "cluster: stream %s no longer holds the last "
            "entry read (new or trimmed); following it from its first "
            "entry", R.stream);
        /* trimmed: what came between is lost to us */
        rdf_set_pos((struct rent_id){0, 0}, 1);
    }
    rds_link_up();
}

/* XADD every accepted entry not yet sent on this link, in oseq order. */
static void
rds_send_more(void)
{
    uint64_t maxlen = (uint64_t)CFG_NUM(R.cfg, redis_stream_length);

    while (R.state == RDS_S_UP && R.send_next < rdo_next()) {
        struct rdo_ent *o = rdo_at(R.send_next);
        const char *argv[RENT_XADD_ARGC];
        size_t lens[RENT_XADD_ARGC];
        char num[RENT_NUMBUF];
        struct rent e = {{R.node, strlen(R.node)}, {R.inc, strlen(R.inc)},
            R.send_next, 0, NULL, 0};

        if (o == NULL) { /* forgotten already: nothing to send */
            R.send_next++;
            continue;
        }
        e.kind = o->data[0];
        e.data = o->data;
        e.len = o->len;
        int argc = rent_xadd_argv(R.stream, R.counter, maxlen, rdf_epoch(), &e,
            num, argv, lens);
        if (rds_cmd(rds_xadd_cb, (void *)(uintptr_t)o->oseq, argc, argv,
                lens) == -1) {
            rds_down("cannot queue XADD");
            return;
        }
        if (o->sent)
            shm_master_add(R.seg, CTR_redis_resent, 1);
        o->sent = 1;
        shm_master_add(R.seg, CTR_redis_xadds, 1);
        R.send_next++;
    }
}

static void
rds_xadd_cb(redisAsyncContext *ac, void *r, void *priv)
{
    const redisReply *rep = rds_cmd_reply(ac, r);
    uint64_t oseq = (uint64_t)(uintptr_t)priv;
    char why[160];

    if (rep == NULL)
        return;
    if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof(why), "EVAL (XADD) refused: %.120s", rep->str);
        rds_down(why);
        return;
    }
    if (oseq > R.acked)
        R.acked = oseq;
}

static void
rds_read_next(void)
{
    char pos[RENT_ID_MAX], block[16], count[16];
    const char *argv[8] = {"XREAD", "COUNT", count, "BLOCK", block,
        "STREAMS", R.stream, pos};
    size_t lens[8];

    rent_id_format(rdf_pos(), pos);
    snprintf(block, sizeof(block), "%d", RDS_BLOCK_MS);
    snprintf(count, sizeof(count), "%d", RDS_READ_COUNT);
    for (int i = 0; i < 8; i++)
        lens[i] = strlen(argv[i]);
    if (R.fol == NULL
        || redisAsyncCommandArgv(R.fol, rds_read_cb, NULL, 8, argv, lens)
            != REDIS_OK) {
        rds_down("cannot queue XREAD");
        return;
    }
    R.fol_sent_ms = wsg_mono_ms();
}

/* Own entry oseq is in the log as seq (rdo_back); nothing before it is
 * sent again on this link. */
static void
rds_own_back(uint64_t oseq, uint64_t seq)
{
    rdo_back(oseq, seq, wsg_mono_ms());
    if (R.send_next < rdo_first_pending())
        R.send_next = rdo_first_pending();
}

/* XREAD answered: nil (nothing within BLOCK) or
 * [[stream, [[id, [field, value, ...]], ...]]]. */
static void
rds_read_cb(redisAsyncContext *ac, void *r, void *priv)
{
    const redisReply *rep = r, *entries;
    char why[160];
    int any = 0;

    (void)priv;
    if (rep == NULL || ac != R.fol)
        return;
    R.fol_sent_ms = 0;
    if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof(why), "XREAD refused: %.120s", rep->str);
        rds_down(why);
        return;
    }
    if (rep->type == REDIS_REPLY_ARRAY) {
        if (rep->elements != 1 || rep->element[0]->type != REDIS_REPLY_ARRAY
            || rep->element[0]->elements != 2
            || rep->element[0]->element[1]->type != REDIS_REPLY_ARRAY) {
            rds_down("XREAD: unexpected reply shape");
            return;
        }
        entries = rep->element[0]->element[1];
        for (size_t i = 0; i < entries->elements; i++) {
            const redisReply *en = entries->element[i];
            if (en->type != REDIS_REPLY_ARRAY || en->elements != 2) {
                rdf_bad("?", "not [id, fields]");
                continue;
            }
            any |= rdf_take(en->element[0], en->element[1]);
        }
    } else if (rep->type != REDIS_REPLY_NIL) {
        rds_down("XREAD: unexpected reply type");
        return;
    }
    if (any) {
        R.wake();
        rds_gauges();
        if (R.progress)
            R.progress();
    }
    rds_read_next();
}

static void
rds_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    int64_t now = wsg_mono_ms();
    int64_t cto = CFG_NUM(R.cfg, redis_command_timeout);

    (void)fd;
    (void)what;
    (void)arg;
    if (R.state == RDS_S_CONNECTING
        && now - R.attempt_ms > CFG_NUM(R.cfg, redis_connect_timeout))
        rds_down("no answer within redis_connect_timeout");
    else if (R.state == RDS_S_UP && R.cmd_out > 0
        && now - R.cmd_progress_ms > cto)
        rds_down("no reply within redis_command_timeout");
    else if (R.state == RDS_S_UP && R.fol_sent_ms
        && now - R.fol_sent_ms > RDS_BLOCK_MS + cto)
        rds_down("stream read: no reply within BLOCK plus "
                 "redis_command_timeout");
    rdo_expire(now, RDS_RETAIN_MS);
}

void
rds_stop(void)
{
    uint64_t unsent;

    if (!R.enabled)
        return;
    unsent = rdo_next() - rdo_first_pending();
    if (unsent)
        log_msg(LOG_WARNING, "cluster: stopping with %llu accepted entries "
            "not yet read back from Redis (those never sent are lost)",
            (unsigned long long)unsent);
    R.progress = NULL;
    R.state = RDS_S_DOWN;
    rds_let_go(R.cmd);
    rds_let_go(R.fol);
    R.cmd = R.fol = NULL;
    rds_reap_cb(-1, 0, NULL);
    rdo_free();
    if (R.tick)
        event_free(R.tick);
    if (R.retry)
        event_free(R.retry);
    if (R.reap)
        event_free(R.reap);
    R.tick = R.retry = R.reap = NULL;
    R.enabled = 0;
}
