/*
 * Emitter messages to log entries (rdm.h): the channel says broadcast or
 * request, rde.c decodes, msg.c encodes. What each outcome means for the
 * operator (counters, logs) is the master's (master/rem.c).
 */
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "rdm.h"

_Static_assert(RDE_ATTACH_MAX <= MSG_ATTACH_MAX, "a log entry holds them");
_Static_assert(RDE_NSP_MAX <= MSG_NSP_MAX, "namespace limits agree");

static enum rdm_result rdm_broadcast(const struct rde_chan *chan,
    const unsigned char *p, size_t n, unsigned char *out, size_t cap,
    struct rdm_out *o);
static enum rdm_result rdm_request(const struct rde_chan *chan,
    const unsigned char *p, size_t n, unsigned char *out, size_t cap,
    struct rdm_out *o);

enum rdm_result
rdm_message(const char *key, const char *ch, size_t chn,
    const unsigned char *p, size_t n, unsigned char *out, size_t cap,
    struct rdm_out *o)
{
    struct rde_chan chan;

    o->len = 0;
    o->req_type = -1;
    o->why = rde_channel(key, ch, chn, &chan);
    if (o->why != RDE_OK)
        return RDM_BAD;
    if (chan.kind == RDE_CH_REQUEST)
        return rdm_request(&chan, p, n, out, cap, o);
    return rdm_broadcast(&chan, p, n, out, cap, o);
}

const char *
rdm_result_str(enum rdm_result r)
{
    switch (r) {
    case RDM_FORWARD: return "forward";
    case RDM_IGNORE: return "ignored";
    case RDM_UNSUPPORTED: return "unsupported";
    case RDM_BAD: return "bad";
    }
    return "unknown";
}

/* rde strings are msg strings. */
static void
rdm_strs(const struct rde_str *from, size_t n, struct msg_str *to)
{
    for (size_t i = 0; i < n; i++)
        to[i] = (struct msg_str){from[i].p, from[i].n};
}

static enum rdm_result
rdm_encoded(size_t len, struct rdm_out *o)
{
    if (len == 0) {
        o->why = RDE_E_SIZE;
        return RDM_BAD;
    }
    o->len = len;
    return RDM_FORWARD;
}

static enum rdm_result
rdm_broadcast(const struct rde_chan *chan, const unsigned char *p, size_t n,
    unsigned char *out, size_t cap, struct rdm_out *o)
{
    size_t jcap = RDE_JSON_CAP(n);
    char *json = n <= RDE_MSG_MAX ? malloc(jcap) : NULL;
    struct rde_bcast *b = malloc(sizeof(*b));
    struct msg_str rooms[RDE_ROOMS_MAX], except[RDE_ROOMS_MAX];
    struct msg_str attach[RDE_ATTACH_MAX];
    struct msg_emit e = {0};
    enum rdm_result r = RDM_BAD;

    if (n > RDE_MSG_MAX)
        o->why = RDE_E_SIZE;
    else if (json == NULL || b == NULL)
        o->why = RDE_E_NOMEM;
    else
        o->why = rde_broadcast(p, n, json, jcap, b);
    if (o->why == RDE_E_ACK || o->why == RDE_E_PTYPE)
        r = RDM_UNSUPPORTED;
    if (o->why != RDE_OK)
        goto out;
    if (b->nsp.n != chan->nsp.n
        || memcmp(b->nsp.p, chan->nsp.p, b->nsp.n) != 0) {
        o->why = RDE_E_NSP;
        goto out;
    }
    if (b->flags & RDE_F_LOCAL) {
        r = RDM_IGNORE;
        goto out;
    }
    rdm_strs(b->rooms, b->nrooms, rooms);
    rdm_strs(b->except, b->nexcept, except);
    for (size_t i = 0; i < b->nattach; i++)
        attach[i] = (struct msg_str){(const char *)b->attach[i].p,
            b->attach[i].n};
    e.target = b->nrooms ? MSG_T_ROOMS : MSG_T_ALL;
    e.rooms = rooms;
    e.nrooms = b->nrooms;
    e.except = except;
    e.nexcept = b->nexcept;
    e.nsp = (struct msg_str){b->nsp.p, b->nsp.n};
    e.event = (struct msg_str){b->event.p, b->event.n};
    e.args = (struct msg_str){json + b->args_off, b->args_len};
    e.nargs = b->nargs;
    e.attach = attach;
    e.nattach = b->nattach;
    r = rdm_encoded(msg_encode_emit(out, cap, &e), o);
out:
    free(json);
    free(b);
    return r;
}

static enum rdm_result
rdm_request(const struct rde_chan *chan, const unsigned char *p, size_t n,
    unsigned char *out, size_t cap, struct rdm_out *o)
{
    struct rde_req *q = malloc(sizeof(*q));
    struct msg_str rooms[RDE_ROOMS_MAX], except[RDE_ROOMS_MAX];
    struct msg_emit e = {0};
    enum rdm_result r;

    if (q == NULL) {
        o->why = RDE_E_NOMEM;
        return RDM_BAD;
    }
    o->why = rde_request(p, n, q);
    o->req_type = q->type;
    if (o->why == RDE_IGNORED) {
        r = RDM_IGNORE;
    } else if (o->why == RDE_E_REQTYPE || o->why == RDE_E_ACK
        || (o->why == RDE_OK && q->type != RDE_REQ_REMOTE_DISCONNECT)) {
        r = RDM_UNSUPPORTED;
    } else if (o->why != RDE_OK) {
        r = RDM_BAD;
    } else {
        rdm_strs(q->rooms, q->nrooms, rooms);
        rdm_strs(q->except, q->nexcept, except);
        e.target = q->nrooms ? MSG_T_ROOMS : MSG_T_ALL;
        e.rooms = rooms;
        e.nrooms = q->nrooms;
        e.except = except;
        e.nexcept = q->nexcept;
        e.nsp = (struct msg_str){chan->nsp.p, chan->nsp.n};
        e.close = q->close;
        r = rdm_encoded(msg_encode_emit_kick(out, cap, &e), o);
    }
    rde_req_clear(q);
    free(q);
    return r;
}
