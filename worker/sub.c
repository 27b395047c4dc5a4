/*
 * Subscribe requests with replay (sub.h): the parsing both client
 * protocols share, the all-or-nothing join through cli.c, and the replay
 * of what each room with a since missed, through fan.c's reader of the
 * message log, before any live event of that room reaches the client.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/msg.h"
#include "worker/cli.h"
#include "worker/fan.h"
#include "worker/sub.h"
#include "worker/wctr.h"

struct sub_req {
    size_t n;
    struct msg_str rooms[MSG_MAX_TARGETS]; /* point into names */
    uint64_t since[MSG_MAX_TARGETS]; /* offsets; seqs once sub_exec runs */
    unsigned char has_since[MSG_MAX_TARGETS];
    unsigned char replay[MSG_MAX_TARGETS]; /* newly joined, not a gap */
    char *names;                           /* one allocation */
};

/* A request waiting for the log reader (cli_wait). */
struct sub_wait {
    struct sub_req *rq;
    sub_done_fn done;
    void *arg;
    void (*free_arg)(void *);
};

int
sub_offset(json_t *v, uint64_t *seq)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *seq = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        if (*s < '0' || *s > '9' || json_string_length(v) > 20)
            return -1;
        errno = 0;
        *seq = strtoull(s, &end, 10);
        return *end == '\0' && errno == 0 ? 0 : -1;
    }
    return -1;
}

void
sub_free(struct sub_req *rq)
{
    if (rq == NULL)
        return;
    free(rq->names);
    free(rq);
}

int
sub_has_since(const struct sub_req *rq)
{
    for (size_t i = 0; i < rq->n; i++)
        if (rq->has_since[i])
            return 1;
    return 0;
}

/* One element: a room name or {room, since}. Returns 0 or -1. */
static int
sub_elem(json_t *v, json_t *since_all, struct sub_req *rq, size_t *bytes)
{
    json_t *room = v, *since = since_all;
    size_t i = rq->n;

    if (json_is_object(v)) {
        room = json_object_get(v, "room");
        if (json_object_get(v, "since"))
            since = json_object_get(v, "since");
    }
    if (!json_is_string(room) || i >= MSG_MAX_TARGETS)
        return -1;
    rq->rooms[i] = (struct msg_str){json_string_value(room),
        json_string_length(room)};
    if (since && !json_is_null(since)) {
        if (sub_offset(since, &rq->since[i]) == -1)
            return -1;
        rq->has_since[i] = 1;
    }
    *bytes += rq->rooms[i].n + 1;
    rq->n++;
    return 0;
}

struct sub_req *
sub_parse(json_t *arg, json_t *since_all, const char **err)
{
    struct sub_req *rq = calloc(1, sizeof(*rq));
    size_t bytes = 0, i;
    json_t *v;
    char *p;

    *err = "give a room name, {\"room\", \"since\"}, or an array of 1-100 "
        "of them (since: a decimal offset)";
    if (rq == NULL)
        return NULL;
    if (json_is_array(arg)) {
        if (json_array_size(arg) == 0
            || json_array_size(arg) > MSG_MAX_TARGETS)
            goto fail;
        json_array_foreach(arg, i, v)
            if (sub_elem(v, since_all, rq, &bytes) == -1)
                goto fail;
    } else if (sub_elem(arg, since_all, rq, &bytes) == -1) {
        goto fail;
    }
    /* Own the names: the request may outlive the message (sub_run). */
    if ((rq->names = malloc(bytes)) == NULL)
        goto fail;
    for (i = 0, p = rq->names; i < rq->n; i++) {
        memcpy(p, rq->rooms[i].p, rq->rooms[i].n);
        p[rq->rooms[i].n] = '\0';
        rq->rooms[i].p = p;
        p += rq->rooms[i].n + 1;
    }
    return rq;
fail:
    sub_free(rq);
    return NULL;
}

/* fan_want_fn: a publish to a room of rq that is replayed and whose since
 * is older than the entry. */
static int
sub_want(const struct msg_view *v, uint64_t seq, void *arg,
    const char **room, size_t *rlen)
{
    const struct sub_req *rq = arg;

    if (v->target != MSG_T_ROOMS)
        return 0; /* user and everyone publishes are not room history */
    for (size_t t = 0; t < v->ntargets; t++)
        for (size_t i = 0; i < rq->n; i++)
            if (rq->replay[i] && rq->since[i] < seq
                && rq->rooms[i].n == v->targets[t].n
                && memcmp(rq->rooms[i].p, v->targets[t].p,
                    v->targets[t].n) == 0) {
                *room = rq->rooms[i].p;
                *rlen = rq->rooms[i].n;
                return 1;
            }
    return 0;
}

/* Join, replay, report. Takes rq. */
static void
sub_exec(struct cli *cl, struct sub_req *rq, sub_done_fn done, void *arg)
{
    unsigned char joined[MSG_MAX_TARGETS];
    struct sub_done d = {0};
    uint64_t from = UINT64_MAX;
    size_t bad;
    int gone = 0;

    if (cli_subscribe(cl, rq->rooms, rq->n, joined, &d.code, &d.msg,
            &bad) == -1) {
        d.room = rq->rooms[bad].p;
        done(cl, &d, 0, arg);
        sub_free(rq);
        return;
    }
    d.ok = 1;
    d.rooms = json_array();
    for (size_t i = 0; i < rq->n; i++) {
        if (joined[i] && d.rooms)
            json_array_append_new(d.rooms, json_stringn(rq->rooms[i].p,
                rq->rooms[i].n));
        /* A room the connection was already in got its events live. */
        if (!rq->has_since[i] || !joined[i])
            continue;
        /* since was the client's offset; from here on it is this log's
         * seq (sub_want compares seqs). */
        if (fan_seq_of(rq->since[i], &rq->since[i]) != 0
            || !fan_seq_held(rq->since[i] + 1)) {
            d.gap = 1;
            continue;
        }
        rq->replay[i] = 1;
        if (rq->since[i] < from)
            from = rq->since[i];
    }
    if (from != UINT64_MAX) {
        d.replayed = fan_replay(cl, from, sub_want, rq, &gone);
        if (d.replayed < 0) {
            d.replayed = 0;
            d.gap = 1;
        }
    }
    if (d.gap)
        WCTR_INC(subscribe_gaps);
    done(cl, &d, gone, arg);
    json_decref(d.rooms);
    sub_free(rq);
}

static void
sub_wait_free(void *p)
{
    struct sub_wait *w = p;

    sub_free(w->rq);
    if (w->free_arg)
        w->free_arg(w->arg);
    free(w);
}

static void
sub_resume(struct cli *cl, void *p)
{
    struct sub_wait *w = p;

    sub_exec(cl, w->rq, w->done, w->arg);
    free(w);
}

void
sub_run(struct cli *cl, struct sub_req *rq, sub_done_fn done, void *arg,
    void (*free_arg)(void *))
{
    uint64_t need = 0;
    struct sub_wait *w;

    for (size_t i = 0; i < rq->n; i++) {
        uint64_t seq;
        if (rq->has_since[i] && fan_seq_of(rq->since[i], &seq) == 0
            && seq > need && fan_seq_coming(seq))
            need = seq;
    }
    if (need <= fan_position()) {
        sub_exec(cl, rq, done, arg);
        return;
    }
    /* The client saw entries this worker has not read yet: joining now
     * would deliver them again. Wait until the reader is past them. */
    w = malloc(sizeof(*w));
    if (w == NULL) {
        sub_exec(cl, rq, done, arg);
        return;
    }
    *w = (struct sub_wait){rq, done, arg, free_arg};
    if (cli_wait(cl, need, sub_resume, w, sub_wait_free) == -1) {
        free(w);
        sub_exec(cl, rq, done, arg);
    }
}
