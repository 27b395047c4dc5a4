/*
 * Node records in Redis and the cluster view (issue 11 item 5). Every
 * node_record_interval the master writes its record (common/nrec.c) as
 * <stream>:node:<name> with a TTL of node_record_ttl and scores it in
 * the index <stream>:nodes (one script), so that a dead node's record
 * expires by itself. ?scope=cluster reads the index and the records in
 * another script, which also drops index members whose record expired.
 * Commands go over the Redis link of master/rds.c; the HTTP routing
 * stays in master/adm.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>

#include "common/config.h"
#include "common/counters.h"
#include "common/log.h"
#include "common/nrec.h"
#include "common/wsg.h"
#include "master/arep.h"
#include "master/rds.h"
#include "master/rnod.h"
#include "shm/shm.h"

/* KEYS[1] this node's record, KEYS[2] the index; ARGV[1] the record,
 * ARGV[2] the TTL (ms), ARGV[3] the heartbeat (unix ms), ARGV[4] the node
 * name. Writes the record, indexes it and gives the index the same TTL
 * (it goes when every node is gone), in one step. Returns the
 * incarnation of the record it replaced ("" if unreadable), or nil. */
static const char rnod_write_lua[] =
    "local old = redis.call('GET', KEYS[1])\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])\n"
    "redis.call('PEXPIRE', KEYS[2], ARGV[2])\n"
    "if not old then return false end\n"
    "local ok, r = pcall(cjson.decode, old)\n"
    "if ok and type(r) == 'table' and type(r.inc) == 'string' then\n"
    "  return r.inc\n"
    "end\n"
    "return ''\n";

/* KEYS[1] this node's record, KEYS[2] the index; ARGV[1] the node name,
 * ARGV[2] this master's incarnation. Deletes the record and its index
 * entry if the record is this master's (not a namesake's). */
static const char rnod_leave_lua[] =
    "local old = redis.call('GET', KEYS[1])\n"
    "if not old then return 0 end\n"
    "local ok, r = pcall(cjson.decode, old)\n"
    "if not ok or type(r) ~= 'table' or r.inc ~= ARGV[2] then\n"
    "  return 0\n"
    "end\n"
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "return 1\n";

/* KEYS[1] the index; ARGV[1] the record key prefix, ARGV[2] the most
 * nodes listed. Returns {expired, truncated, name, record, pttl, ...}:
 * the live nodes sorted by name; index members without a record are
 * removed (a node that writes again is indexed again by its write,
 * which sets its record and its index entry in one step). */
static const char rnod_read_lua[] =
    "local max = tonumber(ARGV[2])\n"
    "local names = redis.call('ZRANGE', KEYS[1], 0, max)\n"
    "local out = {0, 0}\n"
    "if #names > max then out[2] = 1; names[#names] = nil end\n"
    "table.sort(names)\n"
    "for _, n in ipairs(names) do\n"
    "  local k = ARGV[1] .. n\n"
    "  local v = redis.call('GET', k)\n"
    "  if v then\n"
    "    out[#out + 1] = n; out[#out + 1] = v\n"
    "    out[#out + 1] = redis.call('PTTL', k)\n"
    "  else\n"
    "    redis.call('ZREM', KEYS[1], n); out[1] = out[1] + 1\n"
    "  end\n"
    "end\n"
    "return out\n";

/* A ?scope=cluster request waiting for Redis. The Redis reply callback
 * owns it and frees it (rds_command calls it exactly once); req is NULL
 * once answered (timeout) or once its client went away. */
struct rnod_q {
    struct rnod_q *prev, *next;
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    struct event *timer;
    int stats;
};

static void rnod_tick_cb(evutil_socket_t fd, short what, void *arg);
static void rnod_write(void);
static void rnod_read_cb(const struct redisReply *rep, void *priv);
static void rnod_timeout_cb(evutil_socket_t fd, short what, void *arg);
static void rnod_conn_closed(struct evhttp_connection *evcon, void *arg);

static struct {
    int enabled;
    struct event_base *base;
    struct shm_segment *seg;
    const struct cfg *cfg;
    struct event *tick;
    int64_t interval_ms;      /* the tick's current period */
    int writing;              /* a write awaits its reply */
    int written;              /* this master wrote its record once */
    int write_err_logged, read_err_logged, bad_logged, conflict_logged;
    char key[NREC_KEY_MAX], idx[NREC_KEY_MAX], prefix[NREC_KEY_MAX];
    struct rnod_q *queries;
    unsigned nq;
    rnod_done_fn leave_done;  /* rnod_leave's, until called */
    struct event *leave_timer;
} N;

int
rnod_init(struct event_base *base, struct shm_segment *seg,
    const struct cfg *c)
{
    const char *stream = CFG_STR(c, redis_stream);

    if (!rds_enabled())
        return 0;
    N.base = base;
    N.seg = seg;
    if (nrec_key(stream, rds_node(), N.key, sizeof(N.key)) == -1
        || nrec_index_key(stream, N.idx, sizeof(N.idx)) == -1
        || nrec_key(stream, "", N.prefix, sizeof(N.prefix)) == -1)
        return -1; /* the config bounds both names: cannot happen */
    N.tick = event_new(base, -1, EV_PERSIST, rnod_tick_cb, NULL);
    if (N.tick == NULL)
        return -1;
    N.enabled = 1;
    rnod_set_cfg(c);
    log_msg(LOG_INFO, "cluster: this node's record is %s, written every "
        "%lld ms with a TTL of %lld ms and indexed in %s", N.key,
        (long long)CFG_NUM(c, node_record_interval),
        (long long)CFG_NUM(c, node_record_ttl), N.idx);
    return 0;
}

void
rnod_set_cfg(const struct cfg *c)
{
    int64_t iv = CFG_NUM(c, node_record_interval);

    N.cfg = c;
    if (!N.enabled || iv == N.interval_ms)
        return;
    N.interval_ms = iv;
    struct timeval tv = {iv / 1000, (iv % 1000) * 1000};
    event_add(N.tick, &tv);
}

static void
rnod_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (rds_up())
        rnod_write();
}

/* The write's reply: the incarnation of the record it replaced. After
 * this master's first write, another one means a second master under
 * the same node_name. */
static void
rnod_write_cb(const struct redisReply *rep, void *priv)
{
    (void)priv;
    N.writing = 0;
    if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
        shm_master_add(N.seg, CTR_cluster_record_errors, 1);
        if (rep != NULL && !N.write_err_logged)
            log_msg(LOG_WARNING, "cluster: writing this node's record to "
                "Redis failed: %.200s", rep->str);
        N.write_err_logged |= rep != NULL;
        return;
    }
    shm_master_add(N.seg, CTR_cluster_records_written, 1);
    N.write_err_logged = 0;
    if (rep->type == REDIS_REPLY_STRING && N.written
        && (rep->len != strlen(rds_incarnation())
            || memcmp(rep->str, rds_incarnation(), rep->len) != 0)) {
        shm_master_add(N.seg, CTR_cluster_name_conflicts, 1);
        if (!N.conflict_logged)
            log_msg(LOG_ERR, "cluster: another master (incarnation "
                "%.16s) writes the record of node_name %s too: the cluster "
                "view shows one of them; give every node its own name",
                rep->str, rds_node());
        N.conflict_logged = 1;
    }
    N.written = 1;
}

/* This node's record from shared memory. */
static void
rnod_fill(struct nrec *r, uint64_t *tot)
{
    struct shm_status st;

    shm_status(N.seg, CFG_NUM(N.cfg, worker_heartbeat_timeout), &st);
    shm_totals(N.seg, tot);
    memset(r, 0, sizeof(*r));
    snprintf(r->node, sizeof(r->node), "%s", rds_node());
    snprintf(r->inc, sizeof(r->inc), "%s", rds_incarnation());
    snprintf(r->version, sizeof(r->version), "%s", WSG_VERSION);
    snprintf(r->status, sizeof(r->status), "%s", st.stopping ? "stopping"
        : st.ready ? "ok" : "degraded");
    r->pid = getpid();
    r->started_ms = N.seg->hdr.start_ms;
    r->heartbeat_ms = wsg_real_ms();
    r->interval_ms = CFG_NUM(N.cfg, node_record_interval);
    r->ttl_ms = CFG_NUM(N.cfg, node_record_ttl);
    r->workers = st.workers;
    r->slots = st.slots;
    r->connections = st.connections;
    r->capacity = st.capacity;
    r->rooms = tot[CTR_rooms];
    r->subscriptions = tot[CTR_subscriptions];
    r->users = tot[CTR_users];
    r->ctr = tot;
}

/* Write the record (rnod_write_lua). Skipped while the last write is
 * unanswered (rds.c drops a link that stays silent). */
static void
rnod_write(void)
{
    uint64_t tot[CTR__COUNT];
    struct nrec r;
    char *json, ttl[24], score[24];

    if (N.writing)
        return;
    rnod_fill(&r, tot);
    if ((json = nrec_encode(&r)) == NULL) {
        shm_master_add(N.seg, CTR_cluster_record_errors, 1);
        return;
    }
    snprintf(ttl, sizeof(ttl), "%lld", (long long)r.ttl_ms);
    snprintf(score, sizeof(score), "%lld", (long long)r.heartbeat_ms);
    const char *argv[9] = {"EVAL", rnod_write_lua, "2", N.key, N.idx, json,
        ttl, score, r.node};
    size_t lens[9] = {4, sizeof(rnod_write_lua) - 1, 1, strlen(N.key),
        strlen(N.idx), strlen(json), strlen(ttl), strlen(score),
        strlen(r.node)};
    if (rds_command(rnod_write_cb, NULL, 9, argv, lens) == 0)
        N.writing = 1;
    else
        shm_master_add(N.seg, CTR_cluster_record_errors, 1);
    free(json);
}

/* --- ?scope=cluster ----------------------------------------------- */

static void
rnod_error(struct evhttp_request *req, int code, const char *reason,
    const char *ecode, const char *msg)
{
    char body[512];

    if (code == 503)
        shm_master_add(N.seg, CTR_cluster_query_errors, 1);
    snprintf(body, sizeof(body), "{\"ok\":false,\"error\":{\"code\":\"%s\","
        "\"message\":\"%s\"}}", ecode, msg);
    arep_json(req, code, reason, body);
}

void
rnod_query(struct evhttp_request *req, int stats)
{
    struct rnod_q *q;
    char max[24];

    if (!N.enabled) {
        rnod_error(req, 400, "Bad Request", "NOT_A_CLUSTER", "scope=cluster "
            "needs redis_url: this node runs alone");
        return;
    }
    if (!rds_up()) {
        rnod_error(req, 503, "Service Unavailable", "REDIS_UNAVAILABLE",
            "Redis is down: the cluster view cannot be read (this node "
            "alone: leave out scope=cluster)");
        return;
    }
    if (N.nq >= (unsigned)CFG_NUM(N.cfg, cluster_max_queries)) {
        rnod_error(req, 503, "Service Unavailable", "BUSY", "too many "
            "scope=cluster requests waiting for Redis (cluster_max_queries)");
        return;
    }
    if ((q = calloc(1, sizeof(*q))) == NULL
        || (q->timer = evtimer_new(N.base, rnod_timeout_cb, q)) == NULL) {
        free(q);
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    snprintf(max, sizeof(max), "%lld",
        (long long)CFG_NUM(N.cfg, cluster_max_nodes));
    const char *argv[6] = {"EVAL", rnod_read_lua, "1", N.idx, N.prefix, max};
    size_t lens[6] = {4, sizeof(rnod_read_lua) - 1, 1, strlen(N.idx),
        strlen(N.prefix), strlen(max)};
    if (rds_command(rnod_read_cb, q, 6, argv, lens) == -1) {
        event_free(q->timer);
        free(q);
        rnod_error(req, 503, "Service Unavailable", "REDIS_UNAVAILABLE",
            "Redis is down: the cluster view cannot be read");
        return;
    }
    q->req = req;
    q->stats = stats;
    q->evcon = evhttp_request_get_connection(req);
    /* If the client goes away first, evhttp frees req: forget it then. */
    if (q->evcon)
        evhttp_connection_set_closecb(q->evcon, rnod_conn_closed, NULL);
    int64_t to = CFG_NUM(N.cfg, redis_command_timeout);
    struct timeval tv = {to / 1000, (to % 1000) * 1000};
    evtimer_add(q->timer, &tv);
    q->next = N.queries;
    if (N.queries)
        N.queries->prev = q;
    N.queries = q;
    N.nq++;
}

/* Take q's request out for an answer (NULL if it needs none). */
static struct evhttp_request *
rnod_take(struct rnod_q *q)
{
    struct evhttp_request *req = q->req;

    if (req && q->evcon)
        evhttp_connection_set_closecb(q->evcon, NULL, NULL);
    q->req = NULL;
    q->evcon = NULL;
    evtimer_del(q->timer);
    return req;
}

static void
rnod_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct evhttp_request *req = rnod_take(arg);

    (void)fd;
    (void)what;
    if (req)
        rnod_error(req, 503, "Service Unavailable", "REDIS_TIMEOUT",
            "Redis did not answer within redis_command_timeout");
}

static void
rnod_conn_closed(struct evhttp_connection *evcon, void *arg)
{
    (void)arg;
    for (struct rnod_q *q = N.queries; q; q = q->next)
        if (q->evcon == evcon) {
            q->req = NULL;
            q->evcon = NULL;
        }
}

static int
rnod_is_str(const redisReply *r)
{
    return r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS;
}

/* The script's reply as the view's JSON text (new, caller frees); NULL
 * and *why set when it is not what the script returns. */
static char *
rnod_render(const redisReply *rep, int stats, const char **why)
{
    struct nrec_live *live = NULL;
    size_t n = 0;
    char *s = NULL;

    *why = "unexpected reply";
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 2
        || (rep->elements - 2) % 3 != 0
        || rep->element[0]->type != REDIS_REPLY_INTEGER
        || rep->element[1]->type != REDIS_REPLY_INTEGER)
        return NULL;
    live = calloc((rep->elements - 2) / 3 + 1, sizeof(*live));
    if (live == NULL) {
        *why = "out of memory";
        return NULL;
    }
    for (size_t i = 2; i + 2 < rep->elements; i += 3) {
        const redisReply *name = rep->element[i], *val = rep->element[i + 1],
            *pttl = rep->element[i + 2];
        struct nrec_live *l = &live[n];
        if (!rnod_is_str(name) || !rnod_is_str(val)
            || pttl->type != REDIS_REPLY_INTEGER)
            goto out;
        if (nrec_decode(val->str, val->len, &l->rec) != NREC_OK
            || strlen(l->rec.node) != name->len
            || memcmp(l->rec.node, name->str, name->len) != 0) {
            shm_master_add(N.seg, CTR_cluster_bad_records, 1);
            if (!N.bad_logged)
                log_msg(LOG_WARNING, "cluster: the record of node %.128s "
                    "in Redis is unreadable or not its own; left out",
                    name->str);
            N.bad_logged = 1;
            nrec_clear(&l->rec);
            continue;
        }
        l->age_ms = pttl->integer < 0 ? -1 : l->rec.ttl_ms - pttl->integer;
        if (l->age_ms < -1)
            l->age_ms = 0;
        n++;
    }
    shm_master_add(N.seg, CTR_cluster_nodes_expired,
        (uint64_t)rep->element[0]->integer);
    s = nrec_view(live, n, rds_node(), rds_incarnation(), stats,
        rep->element[1]->integer != 0,
        (uint64_t)rep->element[0]->integer);
    if (s == NULL)
        *why = "out of memory";
out:
    for (size_t i = 0; i < n; i++)
        nrec_clear(&live[i].rec);
    free(live);
    return s;
}

static void
rnod_read_cb(const struct redisReply *rep, void *priv)
{
    struct rnod_q *q = priv;
    struct evhttp_request *req = rnod_take(q);
    const char *why = "the link to Redis dropped";
    char *body = NULL;

    if (q->prev)
        q->prev->next = q->next;
    else
        N.queries = q->next;
    if (q->next)
        q->next->prev = q->prev;
    N.nq--;
    if (rep && rep->type == REDIS_REPLY_ERROR) {
        why = "Redis refused the query";
        if (!N.read_err_logged)
            log_msg(LOG_WARNING, "cluster: reading the node records: "
                "%.200s", rep->str);
        N.read_err_logged = 1;
    } else if (rep) {
        body = rnod_render(rep, q->stats, &why);
    }
    if (req && body) {
        shm_master_add(N.seg, CTR_cluster_queries, 1);
        arep_json(req, 200, "OK", body);
    } else if (req) {
        char msg[128];
        snprintf(msg, sizeof(msg), "cluster view unavailable: %s", why);
        rnod_error(req, 503, "Service Unavailable", rep
            ? "REDIS_ERROR" : "REDIS_UNAVAILABLE", msg);
    }
    free(body);
    event_free(q->timer);
    free(q);
}

/* rnod_leave is over (replied, link gone, or timed out): once. */
static void
rnod_left(void)
{
    rnod_done_fn done = N.leave_done;

    N.leave_done = NULL;
    if (N.leave_timer)
        evtimer_del(N.leave_timer);
    if (done)
        done();
}

static void
rnod_leave_cb(const struct redisReply *rep, void *priv)
{
    (void)priv;
    if (N.leave_done && rep && rep->type == REDIS_REPLY_INTEGER)
        log_msg(LOG_NOTICE, "cluster: %s", rep->integer == 1
            ? "this node's record deleted: it left the cluster view"
            : "this node's record was not there or not its own: left "
              "as it is");
    rnod_left();
}

static void
rnod_leave_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    log_msg(LOG_WARNING, "cluster: Redis did not confirm the deletion of "
        "this node's record within redis_command_timeout; it expires "
        "after node_record_ttl");
    rnod_left();
}

void
rnod_leave(rnod_done_fn done)
{
    const char *inc = rds_incarnation(), *node = rds_node();

    N.leave_done = done;
    if (N.tick)
        event_del(N.tick); /* no write after the deletion */
    if (!N.enabled || !rds_up()
        || (N.leave_timer = evtimer_new(N.base, rnod_leave_timeout_cb,
            NULL)) == NULL) {
        rnod_left();
        return;
    }
    const char *argv[7] = {"EVAL", rnod_leave_lua, "2", N.key, N.idx, node,
        inc};
    size_t lens[7] = {4, sizeof(rnod_leave_lua) - 1, 1, strlen(N.key),
        strlen(N.idx), strlen(node), strlen(inc)};
    if (rds_command(rnod_leave_cb, NULL, 7, argv, lens) == -1) {
        rnod_left();
        return;
    }
    int64_t to = CFG_NUM(N.cfg, redis_command_timeout);
    struct timeval tv = {to / 1000, (to % 1000) * 1000};
    evtimer_add(N.leave_timer, &tv);
}

void
rnod_stop(void)
{
    /* Before adm_stop: the waiting requests go with the HTTP server,
     * unanswered; their Redis callbacks (rds_stop calls them with NULL)
     * free them. */
    for (struct rnod_q *q = N.queries; q; q = q->next) {
        if (q->evcon)
            evhttp_connection_set_closecb(q->evcon, NULL, NULL);
        q->req = NULL;
        q->evcon = NULL;
    }
    if (N.tick)
        event_free(N.tick);
    if (N.leave_timer)
        event_free(N.leave_timer);
    N.tick = N.leave_timer = NULL;
    N.leave_done = NULL;
    N.enabled = 0;
    N.interval_ms = 0;
}
