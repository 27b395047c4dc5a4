/*
 * Presence queries, master side (issue 14). The rooms live in the
 * workers' private tables; rather than mirror every join and leave into
 * shared memory (a cost on every connection for a rare read), the master
 * asks each live worker over its recovery channel when a presence request
 * comes, merges what they answer (shm/pmsg.h, worker/prw.c) and replies
 * once all have, or after PRQ_WAIT_MS with "complete": false.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "common/log.h"
#include "common/wsg.h"
#include "master/arep.h"
#include "master/prq.h"
#include "master/stor.h"
#include "shm/layout.h"
#include "shm/pmsg.h"

#define PRQ_WAIT_MS 1000 /* bound on the workers' answers */
#define PRQ_MAX 64       /* requests waiting at once */
#define PRQ_TICK_MS 20

struct prq_wait {
    uint64_t tag;
    struct evhttp_request *req;       /* NULL once its client left */
    struct evhttp_connection *evcon;
    int kind;
    char name[PMSG_NAME_MAX + 1];
    unsigned char want[SHM_NRECORDS]; /* 1: answer not complete yet */
    pid_t pid[SHM_NRECORDS];
    unsigned nwant, nasked, nsent;
    int64_t deadline;
    json_t *acc;                      /* room: user -> count; user: array */
    size_t anon;
};

static struct {
    struct event_base *base;
    struct shm_segment *seg;
    struct event *tick;
    struct prq_wait *w[PRQ_MAX];
    uint64_t next_tag;
} Q;

static void prq_answer(unsigned rec, const unsigned char *b, size_t n);
static void prq_tick_cb(evutil_socket_t fd, short what, void *arg);
static void prq_finish(size_t i);

int
prq_init(struct event_base *base, struct shm_segment *seg)
{
    Q.base = base;
    Q.seg = seg;
    Q.tick = evtimer_new(base, prq_tick_cb, NULL);
    if (Q.tick == NULL) {
        log_msg(LOG_ERR, "out of memory for presence queries");
        return -1;
    }
    stor_on_answer(prq_answer);
    return 0;
}

void
prq_stop(void)
{
    for (size_t i = 0; i < PRQ_MAX; i++)
        if (Q.w[i]) {
            if (Q.w[i]->req)
                evhttp_connection_set_closecb(Q.w[i]->evcon, NULL, NULL);
            json_decref(Q.w[i]->acc);
            free(Q.w[i]);
            Q.w[i] = NULL;
        }
    if (Q.tick)
        event_free(Q.tick);
    Q.tick = NULL;
}

static void
prq_conn_closed(struct evhttp_connection *evcon, void *arg)
{
    (void)arg;
    for (size_t i = 0; i < PRQ_MAX; i++)
        if (Q.w[i] && Q.w[i]->evcon == evcon)
            Q.w[i]->req = NULL;
}

void
prq_ask(struct evhttp_request *req, int kind, const char *name, size_t len)
{
    unsigned char q[PMSG_QUERY_MAX];
    size_t i, qn;
    struct prq_wait *w;
    struct timeval tv = {0, PRQ_TICK_MS * 1000};

    for (i = 0; i < PRQ_MAX && Q.w[i]; i++)
        ;
    if (i == PRQ_MAX) {
        arep_json(req, 503, "Service Unavailable", "{\"ok\":false,\"error\":"
            "{\"code\":\"BUSY\",\"message\":\"too many presence requests "
            "wait\"}}");
        return;
    }
    if ((qn = pmsg_query(q, Q.next_tag + 1, kind, name, len)) == 0) {
        arep_json(req, 400, "Bad Request", "{\"ok\":false,\"error\":{\"code\":"
            "\"BAD_REQUEST\",\"message\":\"give a room or user id of 1-200 "
            "bytes\"}}");
        return;
    }
    if ((w = calloc(1, sizeof(*w))) == NULL
        || (w->acc = kind == PMSG_ROOM ? json_object() : json_array())
            == NULL) {
        free(w);
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    w->tag = ++Q.next_tag;
    w->req = req;
    w->evcon = evhttp_request_get_connection(req);
    w->kind = kind;
    memcpy(w->name, name, len);
    w->deadline = wsg_mono_ms() + PRQ_WAIT_MS;
    for (unsigned r = 0; r < SHM_NRECORDS; r++) {
        unsigned st = atomic_load(&Q.seg->rec[r].state);
        if (st != SHM_RUNNING && st != SHM_DRAINING)
            continue;
        w->nasked++;
        w->pid[r] = atomic_load(&Q.seg->rec[r].pid);
        if (stor_send(r, q, qn) == 0) {
            w->want[r] = 1;
            w->nwant++;
            w->nsent++;
        }
    }
    Q.w[i] = w;
    if (w->evcon)
        evhttp_connection_set_closecb(w->evcon, prq_conn_closed, NULL);
    if (w->nwant == 0)
        prq_finish(i);
    else if (!evtimer_pending(Q.tick, NULL))
        evtimer_add(Q.tick, &tv);
}

/* Merge one worker datagram into w. */
static void
prq_merge(struct prq_wait *w, unsigned rec, const char *js, size_t n)
{
    json_t *a = n ? json_loadb(js, n, 0, NULL) : NULL, *e;
    size_t i;

    json_array_foreach(a, i, e) {
        if (w->kind == PMSG_ROOM) {
            json_t *u = json_object_get(e, "u");
            if (!json_is_string(u)) {
                w->anon++;
                continue;
            }
            json_t *c = json_object_get(w->acc, json_string_value(u));
            json_object_set_new(w->acc, json_string_value(u), json_integer(
                (c ? json_integer_value(c) : 0) + 1));
        } else if (json_is_object(e)) {
            json_object_set_new(e, "worker", json_integer(w->pid[rec]));
            json_array_append(w->acc, e);
        }
    }
    json_decref(a);
}

static void
prq_answer(unsigned rec, const unsigned char *b, size_t n)
{
    uint64_t tag;
    int last;
    const char *js;
    size_t jl;

    if (rec >= SHM_NRECORDS
        || pmsg_answer_decode(b, n, &tag, &last, &js, &jl) == -1)
        return;
    for (size_t i = 0; i < PRQ_MAX; i++) {
        struct prq_wait *w = Q.w[i];
        if (w == NULL || w->tag != tag || !w->want[rec])
            continue;
        prq_merge(w, rec, js, jl);
        if (last) {
            w->want[rec] = 0;
            if (--w->nwant == 0)
                prq_finish(i);
        }
        return;
    }
}

/* The body for a room: users by connection count, then the totals. */
static json_t *
prq_room_body(struct prq_wait *w)
{
    json_t *users = json_array(), *v;
    const char *k;
    json_int_t total = (json_int_t)w->anon;

    json_object_foreach(w->acc, k, v) {
        json_array_append_new(users, json_pack("{s:s, s:I}", "user", k,
            "connections", json_integer_value(v)));
        total += json_integer_value(v);
    }
    return json_pack("{s:b, s:s, s:I, s:I, s:o, s:I}", "ok", 1, "room",
        w->name, "connections", total, "anonymous", (json_int_t)w->anon,
        "users", users, "user_count", (json_int_t)json_object_size(w->acc));
}

/* The body for a user: its connections and the union of their rooms. */
static json_t *
prq_user_body(struct prq_wait *w)
{
    json_t *rooms = json_object(), *list = json_array(), *c, *r;
    size_t i, j;
    const char *k;

    json_array_foreach(w->acc, i, c)
        json_array_foreach(json_object_get(c, "rooms"), j, r)
            if (json_is_string(r))
                json_object_set_new(rooms, json_string_value(r), json_true());
    json_object_foreach(rooms, k, r)
        json_array_append_new(list, json_string(k));
    json_decref(rooms);
    return json_pack("{s:b, s:s, s:I, s:O, s:o}", "ok", 1, "user", w->name,
        "connection_count", (json_int_t)json_array_size(w->acc),
        "connections", w->acc, "rooms", list);
}

/* Reply to Q.w[i] with what came (all, or what came in time) and free. */
static void
prq_finish(size_t i)
{
    struct prq_wait *w = Q.w[i];
    json_t *o = w->kind == PMSG_ROOM ? prq_room_body(w) : prq_user_body(w);
    char *s;

    Q.w[i] = NULL;
    if (o) {
        json_object_set_new(o, "workers", json_integer(w->nasked));
        json_object_set_new(o, "complete", json_boolean(w->nwant == 0
            && w->nsent == w->nasked));
    }
    s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (w->req) {
        if (w->evcon)
            evhttp_connection_set_closecb(w->evcon, NULL, NULL);
        if (s)
            arep_json(w->req, 200, "OK", s);
        else
            evhttp_send_error(w->req, HTTP_INTERNAL, NULL);
    }
    if (w->nwant)
        log_msg(LOG_WARNING, "presence: %u of %u workers did not answer "
            "within %d ms", w->nwant, w->nasked, PRQ_WAIT_MS);
    free(s);
    json_decref(o);
    json_decref(w->acc);
    free(w);
}

static void
prq_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    int64_t now = wsg_mono_ms();
    int any = 0;
    struct timeval tv = {0, PRQ_TICK_MS * 1000};

    (void)fd;
    (void)what;
    (void)arg;
    for (size_t i = 0; i < PRQ_MAX; i++) {
        if (Q.w[i] && now >= Q.w[i]->deadline)
            prq_finish(i);
        any |= Q.w[i] != NULL;
    }
    if (any)
        evtimer_add(Q.tick, &tv);
}
