/*
 * Publish and control API. Validates JSON once, encodes each request as a
 * message-log entry and appends it; the reply carries the assigned log
 * offsets. disconnect-user replies once every live worker has handled the
 * entry (or a bound passes), with the number of connections closed, which
 * workers report through their shm records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "common/config.h"
#include "common/log.h"
#include "common/msg.h"
#include "common/wsg.h"
#include "master/arep.h"
#include "master/dsh.h"
#include "master/pub.h"
#include "master/rds.h"
#include "master/stor.h"
#include "shm/gmap.h"
#include "shm/mlog.h"
#include "shm/shm.h"

#define PUB_MAX_BATCH 1000
#define PUB_EVENT_MAX 200
#define PUB_USER_MAX 256
#define PUB_WAIT_MS 2000 /* bound on waiting for workers' results */
#define PUB_POLL_MS 5
#define PUB_MAX_PENDING 256
#define PUB_MAX_CWAIT 4096 /* cluster: requests waiting for the stream */
#define PUB_CWAIT_TICK_MS 20

struct pub_wait {
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    uint64_t seq;
    int64_t deadline;
};

/* Cluster mode: a request whose entries (oseq first .. first + n - 1)
 * went to Redis; it is answered once they came back and were appended
 * locally, or with 202 (queued) when that takes too long. */
enum pub_what { PUB_W_ONE, PUB_W_BATCH, PUB_W_BROADCAST, PUB_W_DISCONNECT };

struct pub_cwait {
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    uint64_t first;
    size_t n;
    enum pub_what what;
    int64_t deadline;
};

/* The offset clients see for log entry seq (cluster-wide in cluster
 * mode, shm/gmap.h). */
static uint64_t pub_offset(uint64_t seq);
static void pub_from_worker(const char *js, size_t n);

static struct {
    struct mlog *log;
    struct shm_segment *seg;
    const struct cfg *cfg;
    pub_wake_fn wake;
    struct event *poll;
    struct pub_wait wait[PUB_MAX_PENDING];
    size_t nwait;
    unsigned char *buf; /* encode buffer, max_publish_size + slack */
    size_t bufcap;
    struct pub_cwait cwait[PUB_MAX_CWAIT];
    size_t ncwait;
    struct event *ctick;
} P;

static void pub_poll_cb(evutil_socket_t fd, short what, void *arg);
static void pub_conn_closed(struct evhttp_connection *evcon, void *arg);
static void pub_ctick_cb(evutil_socket_t fd, short what, void *arg);
static int pub_cluster_submit(struct evhttp_request *req, const size_t *lens,
    size_t n, enum pub_what what);
static void pub_wait_workers(struct evhttp_request *req,
    struct evhttp_connection *evcon, uint64_t seq);

int
pub_init(struct event_base *base, struct mlog *log, struct shm_segment *seg,
    const struct cfg *c, pub_wake_fn wake)
{
    P.log = log;
    P.seg = seg;
    P.wake = wake;
    P.poll = event_new(base, -1, 0, pub_poll_cb, NULL);
    P.ctick = event_new(base, -1, 0, pub_ctick_cb, NULL);
    pub_set_cfg(c);
    stor_on_publish(pub_from_worker);
    return P.poll && P.ctick && P.buf ? 0 : -1;
}

void
pub_set_cfg(const struct cfg *c)
{
    size_t need = (size_t)CFG_NUM(c, max_publish_size) + 65536;

    P.cfg = c;
    if (need > P.bufcap) {
        unsigned char *nb = realloc(P.buf, need);
        if (nb == NULL) {
            log_msg(LOG_ERR, "out of memory for the publish buffer");
            return;
        }
        P.buf = nb;
        P.bufcap = need;
    }
}

static void
pub_error(struct evhttp_request *req, int code, const char *ecode,
    const char *msg)
{
    char body[512];
    json_t *m = json_string(msg);

    shm_master_add(P.seg, CTR_api_errors, 1);
    char *ms = m ? json_dumps(m, JSON_ENCODE_ANY) : NULL;

    snprintf(body, sizeof(body), "{\"ok\":false,\"error\":{\"code\":\"%s\","
        "\"message\":%s}}\n", ecode, ms ? ms : "\"\"");
    free(ms);
    json_decref(m);
    arep_json(req, code, code == 400 ? "Bad Request" : code == 503
        ? "Service Unavailable" : "Error", body);
}

/* Parse the request body as JSON, bounded by max_publish_size. */
static json_t *
pub_body(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    json_error_t jerr;
    json_t *j;

    if (n > (size_t)CFG_NUM(P.cfg, max_publish_size)) {
        pub_error(req, 400, "BODY_TOO_LARGE", "request body is over "
            "max_publish_size");
        return NULL;
    }
    j = json_loadb((const char *)evbuffer_pullup(in, -1), n,
        JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL)
        pub_error(req, 400, "BAD_JSON", "request body is not valid JSON");
    return j;
}

/* A user id: a non-empty string, or an integer rendered in decimal. */
static int
pub_user(const json_t *u, char *out, size_t cap)
{
    if (json_is_string(u) && json_string_length(u) > 0
        && json_string_length(u) < cap
        && strlen(json_string_value(u)) == json_string_length(u)) {
        memcpy(out, json_string_value(u), json_string_length(u) + 1);
        return 0;
    }
    if (json_is_integer(u)) {
        snprintf(out, cap, "%lld", (long long)json_integer_value(u));
        return 0;
    }
    return -1;
}

size_t
pub_encode_one(const json_t *o, unsigned char *out, size_t cap,
    const char **code, const char **msg)
{
    struct msg_str targets[MSG_MAX_TARGETS], ev, data;
    enum msg_target tk = MSG_T_ALL;
    size_t nt = 0, n = 0;
    const char *key;
    json_t *v, *room, *rooms, *user, *event;
    char ubuf[PUB_USER_MAX], *ds = NULL;

    *code = "BAD_REQUEST";
    if (!json_is_object(o)) {
        *msg = "each publish must be a JSON object";
        return 0;
    }
    json_object_foreach((json_t *)o, key, v) {
        if (strcmp(key, "room") && strcmp(key, "rooms") && strcmp(key, "user")
            && strcmp(key, "event") && strcmp(key, "data")) {
            *code = "UNKNOWN_FIELD";
            *msg = "unknown field (expected room, rooms, user, event, data)";
            return 0;
        }
    }
    room = json_object_get(o, "room");
    rooms = json_object_get(o, "rooms");
    user = json_object_get(o, "user");
    event = json_object_get(o, "event");
    if ((room != NULL) + (rooms != NULL) + (user != NULL) > 1) {
        *code = "AMBIGUOUS_TARGET";
        *msg = "give at most one of room, rooms and user";
        return 0;
    }
    if (!json_is_string(event) || json_string_length(event) == 0
        || json_string_length(event) > PUB_EVENT_MAX
        || strlen(json_string_value(event)) != json_string_length(event)) {
        *code = "BAD_EVENT";
        *msg = "event must be a string of 1-200 characters";
        return 0;
    }
    ev = (struct msg_str){json_string_value(event), json_string_length(event)};
    if (room) {
        rooms = NULL;
        tk = MSG_T_ROOMS;
        nt = 1;
        if (!json_is_string(room)
            || !msg_room_valid(json_string_value(room),
                json_string_length(room))) {
            *code = "BAD_ROOM";
            *msg = "room must be 1-200 printable characters";
            return 0;
        }
        targets[0] = (struct msg_str){json_string_value(room),
            json_string_length(room)};
    } else if (rooms) {
        size_t i;
        json_t *r;
        tk = MSG_T_ROOMS;
        if (!json_is_array(rooms) || json_array_size(rooms) == 0
            || json_array_size(rooms) > MSG_MAX_TARGETS) {
            *code = "BAD_ROOM";
            *msg = "rooms must be an array of 1-100 room names";
            return 0;
        }
        json_array_foreach(rooms, i, r) {
            if (!json_is_string(r) || !msg_room_valid(json_string_value(r),
                    json_string_length(r))) {
                *code = "BAD_ROOM";
                *msg = "room names are 1-200 printable characters";
                return 0;
            }
            targets[nt++] = (struct msg_str){json_string_value(r),
                json_string_length(r)};
        }
    } else if (user) {
        tk = MSG_T_USER;
        if (pub_user(user, ubuf, sizeof(ubuf)) == -1) {
            *code = "BAD_USER";
            *msg = "user must be a non-empty string or an integer";
            return 0;
        }
        targets[0] = (struct msg_str){ubuf, strlen(ubuf)};
        nt = 1;
    }
    v = json_object_get(o, "data");
    ds = json_dumps(v ? v : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
    if (ds == NULL) {
        *code = "BAD_DATA";
        *msg = "data cannot be encoded";
        return 0;
    }
    data = (struct msg_str){ds, strlen(ds)};
    n = msg_encode_publish(out, cap, tk, targets, nt, ev, data);
    free(ds);
    if (n == 0) {
        *code = "BODY_TOO_LARGE";
        *msg = "publish is too large";
    }
    return n;
}

static uint64_t
pub_append(const unsigned char *p, size_t n)
{
    return mlog_append(P.log, (uint16_t)p[0], p, (uint32_t)n,
        wsg_real_us());
}

void
pub_publish(struct evhttp_request *req)
{
    json_t *j = pub_body(req), *items;
    size_t count, off = 0, lens[PUB_MAX_BATCH];
    const char *code, *msg;
    char *reply = NULL;
    json_t *offs = NULL;

    if (j == NULL)
        return;
    items = json_is_array(j) ? j : NULL;
    count = items ? json_array_size(items) : 1;
    if (items && (count == 0 || count > PUB_MAX_BATCH)) {
        pub_error(req, 400, "BAD_BATCH", "a batch holds 1-1000 publishes");
        goto out;
    }
    /* Validate and encode everything before appending anything, so a bad
     * item leaves no partial batch in the log. */
    for (size_t i = 0; i < count; i++) {
        const json_t *o = items ? json_array_get(items, i) : j;
        lens[i] = pub_encode_one(o, P.buf + off, P.bufcap - off, &code, &msg);
        if (lens[i] > mlog_max_len(P.log)) {
            lens[i] = 0;
            code = "BODY_TOO_LARGE";
            msg = "larger than one message-log entry may be "
                "(a quarter of message_log_size)";
        }
        if (lens[i] == 0) {
            char m[256];
            if (items)
                snprintf(m, sizeof(m), "item %zu: %s", i, msg);
            else
                snprintf(m, sizeof(m), "%s", msg);
            pub_error(req, 400, code, m);
            goto out;
        }
        off += lens[i];
    }
    if (rds_enabled()) {
        if (pub_cluster_submit(req, lens, count, items ? PUB_W_BATCH
                : PUB_W_ONE) == 0)
            shm_master_add(P.seg, CTR_publishes, count);
        goto out;
    }
    offs = json_array();
    off = 0;
    for (size_t i = 0; i < count; i++) {
        uint64_t seq = pub_append(P.buf + off, lens[i]);
        if (seq == 0) {
            pub_error(req, 400, "BODY_TOO_LARGE", "publish is larger than "
                "one message-log entry may be");
            goto out;
        }
        json_array_append_new(offs, json_integer((json_int_t)seq));
        off += lens[i];
    }
    shm_master_add(P.seg, CTR_publishes, count);
    P.wake();
    if (items) {
        json_t *r = json_pack("{s:b, s:O}", "ok", 1, "offsets", offs);
        reply = json_dumps(r, JSON_COMPACT);
        json_decref(r);
    } else {
        json_t *r = json_pack("{s:b, s:O}", "ok", 1, "offset",
            json_array_get(offs, 0));
        reply = json_dumps(r, JSON_COMPACT);
        json_decref(r);
    }
    arep_json(req, 200, "OK", reply ? reply : "{\"ok\":true}");
out:
    free(reply);
    json_decref(offs);
    json_decref(j);
}

/* Count an accepted control request and note it in the event log. */
static void
pub_note_broadcast(const json_t *m, const json_t *t)
{
    shm_master_add(P.seg, CTR_control_requests, 1);
    dsh_note(EVQ_ADMIN, 0, -1, getpid(), "broadcast (%s): %s",
        t ? json_string_value(t) : "info", json_string_value(m));
}

static void
pub_note_disconnect(const char *user, const char *reason)
{
    shm_master_add(P.seg, CTR_control_requests, 1);
    dsh_note(EVQ_ADMIN, 0, -1, getpid(), "disconnect-user %s: %s", user,
        reason);
}

void
pub_broadcast(struct evhttp_request *req)
{
    json_t *j = pub_body(req), *m, *t, *d = NULL;
    char *ds = NULL, reply[96];
    size_t n;
    uint64_t seq;

    if (j == NULL)
        return;
    m = json_object_get(j, "message");
    t = json_object_get(j, "type");
    if (!json_is_object(j) || !json_is_string(m) || (t && !json_is_string(t))) {
        pub_error(req, 400, "BAD_REQUEST", "expected {\"message\": string, "
            "\"type\": string}");
        goto out;
    }
    d = json_pack("{s:O, s:s, s:I}", "message", m, "type",
        t ? json_string_value(t) : "info", "ts", (json_int_t)wsg_real_ms());
    ds = d ? json_dumps(d, JSON_COMPACT) : NULL;
    n = ds ? msg_encode_broadcast(P.buf, P.bufcap,
        (struct msg_str){ds, strlen(ds)}) : 0;
    if (n && n <= mlog_max_len(P.log) && rds_enabled()) {
        if (pub_cluster_submit(req, &n, 1, PUB_W_BROADCAST) == 0)
            pub_note_broadcast(m, t);
        goto out;
    }
    seq = n ? pub_append(P.buf, n) : 0;
    if (seq == 0) {
        pub_error(req, 400, "BODY_TOO_LARGE", "broadcast is too large");
        goto out;
    }
    pub_note_broadcast(m, t);
    P.wake();
    snprintf(reply, sizeof(reply), "{\"ok\":true,\"offset\":%llu}",
        (unsigned long long)seq);
    arep_json(req, 200, "OK", reply);
out:
    free(ds);
    json_decref(d);
    json_decref(j);
}

void
pub_disconnect_user(struct evhttp_request *req)
{
    json_t *j = pub_body(req), *r;
    char user[PUB_USER_MAX];
    const char *reason = "disconnected by the server";
    size_t n;
    uint64_t seq;

    if (j == NULL)
        return;
    r = json_object_get(j, "reason");
    if (!json_is_object(j)
        || pub_user(json_object_get(j, "userId"), user, sizeof(user)) == -1
        || (r && !json_is_string(r))) {
        pub_error(req, 400, "BAD_REQUEST", "expected {\"userId\": string or "
            "integer, \"reason\": string}");
        goto out;
    }
    if (r)
        reason = json_string_value(r);
    if (P.nwait == PUB_MAX_PENDING) {
        pub_error(req, 503, "BUSY", "too many disconnect requests waiting");
        goto out;
    }
    n = msg_encode_disconnect(P.buf, P.bufcap,
        (struct msg_str){user, strlen(user)},
        (struct msg_str){reason, strlen(reason) > 120 ? 120 : strlen(reason)});
    if (n && rds_enabled()) {
        if (pub_cluster_submit(req, &n, 1, PUB_W_DISCONNECT) == 0)
            pub_note_disconnect(user, reason);
        goto out;
    }
    seq = n ? pub_append(P.buf, n) : 0;
    if (seq == 0) {
        pub_error(req, 400, "BODY_TOO_LARGE", "request is too large");
        goto out;
    }
    pub_note_disconnect(user, reason);
    P.wake();
    pub_wait_workers(req, evhttp_request_get_connection(req), seq);
out:
    json_decref(j);
}

/* Answer req once every worker handled seq (pub_poll_cb). */
static void
pub_wait_workers(struct evhttp_request *req, struct evhttp_connection *evcon,
    uint64_t seq)
{
    if (P.nwait == PUB_MAX_PENDING) { /* cluster: too many came back */
        char body[96];
        snprintf(body, sizeof(body), "{\"ok\":true,\"connections\":null,"
            "\"offset\":%llu}", (unsigned long long)pub_offset(seq));
        arep_json(req, 200, "OK", body);
        return;
    }
    /* If the client goes away first, evhttp frees req: forget it then. */
    if (evcon)
        evhttp_connection_set_closecb(evcon, pub_conn_closed, NULL);
    P.wait[P.nwait++] = (struct pub_wait){req, evcon, seq,
        wsg_mono_ms() + PUB_WAIT_MS};
    struct timeval tv = {0, PUB_POLL_MS * 1000};
    evtimer_add(P.poll, &tv);
}

static void
pub_conn_closed(struct evhttp_connection *evcon, void *arg)
{
    size_t k = 0;

    (void)arg;
    for (size_t i = 0; i < P.nwait; i++)
        if (P.wait[i].evcon != evcon)
            P.wait[k++] = P.wait[i];
    P.nwait = k;
    k = 0;
    for (size_t i = 0; i < P.ncwait; i++)
        if (P.cwait[i].evcon != evcon)
            P.cwait[k++] = P.cwait[i];
    P.ncwait = k;
}

/* Cluster mode: hand n encoded entries (in P.buf) to the Redis link and
 * park req until they come back. Replies at once when they cannot be
 * accepted (503 REDIS_UNAVAILABLE) or when Redis is down (202 queued).
 * Returns 0 if the entries were accepted. */
static int
pub_cluster_submit(struct evhttp_request *req, const size_t *lens, size_t n,
    enum pub_what what)
{
    uint64_t first;
    struct evhttp_connection *evcon;

    if (P.ncwait == PUB_MAX_CWAIT
        || (what == PUB_W_DISCONNECT && P.nwait == PUB_MAX_PENDING)) {
        pub_error(req, 503, "BUSY", "too many requests waiting for Redis");
        return -1;
    }
    switch (rds_submit(P.buf, lens, n, &first)) {
    case RDS_OK:
        break;
    case RDS_E_DOWN:
        pub_error(req, 503, "REDIS_UNAVAILABLE", "Redis is unavailable and "
            "this node refuses publishes meanwhile (redis_unavailable = "
            "refuse)");
        return -1;
    case RDS_E_FULL:
        pub_error(req, 503, "REDIS_UNAVAILABLE", "Redis is unavailable or "
            "slow and this node's queue for it is full (redis_queue_size)");
        return -1;
    }
    if (!rds_up()) {
        shm_master_add(P.seg, CTR_redis_replied_queued, 1);
        arep_json(req, 202, "Accepted", "{\"ok\":true,\"queued\":true}");
        return 0;
    }
    evcon = evhttp_request_get_connection(req);
    if (evcon)
        evhttp_connection_set_closecb(evcon, pub_conn_closed, NULL);
    P.cwait[P.ncwait++] = (struct pub_cwait){req, evcon, first, n, what,
        wsg_mono_ms() + CFG_NUM(P.cfg, redis_command_timeout)};
    if (!evtimer_pending(P.ctick, NULL)) {
        struct timeval tv = {0, PUB_CWAIT_TICK_MS * 1000};
        evtimer_add(P.ctick, &tv);
    }
    return 0;
}

/* Answer w if its entries are in the local log (1), or, when late or
 * Redis went down, with 202 (1); else 0. */
static int
pub_cluster_answer(struct pub_cwait *w, int64_t now)
{
    json_t *offs;
    char *body;
    uint64_t last = rds_local_seq(w->first + w->n - 1);

    if (last == 0) {
        if (now < w->deadline && rds_up())
            return 0;
        shm_master_add(P.seg, CTR_redis_replied_queued, 1);
        if (w->evcon)
            evhttp_connection_set_closecb(w->evcon, NULL, NULL);
        arep_json(w->req, 202, "Accepted", "{\"ok\":true,\"queued\":true}");
        return 1;
    }
    if (w->evcon)
        evhttp_connection_set_closecb(w->evcon, NULL, NULL);
    if (w->what == PUB_W_DISCONNECT) {
        pub_wait_workers(w->req, w->evcon, last);
        return 1;
    }
    offs = json_array();
    for (size_t i = 0; offs && i < w->n; i++) {
        uint64_t seq = rds_local_seq(w->first + i);
        json_array_append_new(offs, seq
            ? json_integer((json_int_t)pub_offset(seq)) : json_null());
    }
    json_t *r = w->what == PUB_W_BATCH
        ? json_pack("{s:b, s:O}", "ok", 1, "offsets", offs)
        : json_pack("{s:b, s:O}", "ok", 1, "offset", json_array_get(offs, 0));
    body = r ? json_dumps(r, JSON_COMPACT) : NULL;
    arep_json(w->req, 200, "OK", body ? body : "{\"ok\":true}");
    free(body);
    json_decref(r);
    json_decref(offs);
    return 1;
}

void
pub_cluster_progress(void)
{
    int64_t now = wsg_mono_ms();
    size_t k = 0;

    for (size_t i = 0; i < P.ncwait; i++)
        if (!pub_cluster_answer(&P.cwait[i], now))
            P.cwait[k++] = P.cwait[i];
    P.ncwait = k;
}

static void
pub_ctick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    pub_cluster_progress();
    if (P.ncwait) {
        struct timeval tv = {0, PUB_CWAIT_TICK_MS * 1000};
        evtimer_add(P.ctick, &tv);
    }
}

/* Has every live worker handled seq? Sums their results into *count. */
static int
pub_collect(uint64_t seq, uint64_t *count)
{
    int done = 1;

    *count = 0;
    for (unsigned r = 0; r < SHM_NRECORDS; r++) {
        const struct shm_worker *w = &P.seg->rec[r];
        unsigned st = atomic_load(&w->state);
        if (st != SHM_RUNNING && st != SHM_DRAINING)
            continue;
        if (atomic_load_explicit(&w->log_done, memory_order_acquire) < seq) {
            done = 0;
            continue;
        }
        unsigned i = (unsigned)(seq % SHM_CTL_RESULTS);
        if (atomic_load(&w->ctl[i].seq) == seq)
            *count += atomic_load(&w->ctl[i].count);
    }
    return done;
}

static void
pub_poll_cb(evutil_socket_t fd, short what, void *arg)
{
    int64_t now = wsg_mono_ms();
    size_t k = 0;

    (void)fd;
    (void)what;
    (void)arg;
    for (size_t i = 0; i < P.nwait; i++) {
        struct pub_wait *w = &P.wait[i];
        uint64_t count;
        int done = pub_collect(w->seq, &count);
        if (done || now >= w->deadline) {
            char body[128];
            if (!done)
                log_msg(LOG_WARNING, "disconnect-user: not every worker "
                    "answered within %d ms; counting those that did",
                    PUB_WAIT_MS);
            snprintf(body, sizeof(body), "{\"ok\":true,\"connections\":%llu,"
                "\"offset\":%llu}", (unsigned long long)count,
                (unsigned long long)pub_offset(w->seq));
            if (w->evcon)
                evhttp_connection_set_closecb(w->evcon, NULL, NULL);
            arep_json(w->req, 200, "OK", body);
        } else {
            P.wait[k++] = *w;
        }
    }
    P.nwait = k;
    if (P.nwait) {
        struct timeval tv = {0, PUB_POLL_MS * 1000};
        evtimer_add(P.poll, &tv);
    }
}

static uint64_t
pub_offset(uint64_t seq)
{
    return gmap_offset(shm_gmap(P.seg), seq);
}

/* Publishes an event proxy reply asked for (a worker hands them over,
 * stor.c): validated like /api/publish items, appended one by one.
 * Refused in cluster mode, where entries must come through the stream. */
static void
pub_from_worker(const char *js, size_t n)
{
    json_t *a = json_loadb(js, n, 0, NULL), *o;
    const char *code, *msg;
    size_t i, len, done = 0;

    if (rds_enabled() || !json_is_array(a)) {
        shm_master_add(P.seg, CTR_event_proxy_publish_refused,
            json_is_array(a) ? json_array_size(a) : 1);
        json_decref(a);
        return;
    }
    json_array_foreach(a, i, o) {
        len = pub_encode_one(o, P.buf, P.bufcap, &code, &msg);
        if (len == 0 || len > mlog_max_len(P.log)
            || pub_append(P.buf, len) == 0) {
            shm_master_add(P.seg, CTR_event_proxy_publish_refused, 1);
            continue;
        }
        done++;
    }
    if (done) {
        shm_master_add(P.seg, CTR_publishes, done);
        P.wake();
    }
    json_decref(a);
}
