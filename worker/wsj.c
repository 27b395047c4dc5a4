/*
 * /ws JSON protocol (DESIGN §3): a thin codec over the client model. Each
 * text message is one JSON object dispatched on "type": auth, subscribe,
 * unsubscribe, ping. Published events are encoded once per message and
 * room and shared between recipients. The token comes from
 * "Authorization: Bearer" on the upgrade or from a first auth message
 * within auth_timeout; fatal errors send an error object, then a close
 * frame with a 4xxx code (wsgate.8).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/config.h"
#include "common/evj.h"
#include "common/hh.h"
#include "common/wsf.h"
#include "common/wsg.h"
#include "worker/cli.h"
#include "worker/cpx.h"
#include "worker/epx.h"
#include "worker/conn.h"
#include "worker/fan.h"
#include "worker/http.h"
#include "worker/lmt.h"
#include "worker/ws.h"
#include "worker/sub.h"
#include "worker/wsj.h"
#include "worker/wctr.h"

/*
 * A /ws connection's state is its client: ws_app_state() is the struct
 * cli, and the client_message_rate bucket (lmt.h) is the two words
 * struct ws keeps for its app (ws_app_words). Only a connection waiting
 * for its first auth message has more, its auth_timeout timer: then
 * the app state is a struct wsj_pre with the low bit set (malloc aligns
 * to 16), until wsj_stop_auth_timer. Every byte of an idle connection
 * counts (BENCHMARKS.md, memory per idle connection).
 */
struct wsj_pre {
    struct cli *cl;
    struct event *auth_ev; /* auth_timeout, until the first auth */
};

#define WSJ_HOLD_MAX 16 /* messages kept while the connect proxy decides */

/* A connection waiting for the connect proxy, with the messages it sent
 * meanwhile (rare and short-lived: a list for the worker, no field per
 * connection). */
struct wsj_wait {
    struct wsj_wait *next;
    struct conn *c;
    struct cli *cl;
    json_t *id;          /* the auth message's id (or NULL) */
    int ack;             /* answer with an ack (auth message) */
    int refresh;
    struct tok_claims *claims; /* a refresh's new token, applied once
                                * the backend allows it */
    size_t nheld;
    char *held[WSJ_HOLD_MAX];
    size_t held_len[WSJ_HOLD_MAX];
};

static struct wsj_wait *wsj_waits;

static const struct cfg *wsj_cfg;
static struct event_base *wsj_base;

static int wsj_event(struct cli *cl, struct fan_msg *m, const char *room,
    size_t rlen);
static int wsj_notify(struct cli *cl, const char *event, const char *json);
static void wsj_kick(struct cli *cl, unsigned code, const char *reason);

static int wsj_batch(struct cli *cl, struct fan_block *b);
static void wsj_route(struct conn *c, const struct hh_req *r);
enum wsj_mode { WSJ_HEADER, WSJ_FIRST, WSJ_REFRESH };
static int wsj_admit(struct conn *c, struct cli *cl, const char *tok,
    size_t tl, json_t *id, enum wsj_mode mode, const char *origin,
    struct tok_claims *claims);
static void wsj_admit_origin(struct conn *c, struct cli *cl, const char *tok,
    size_t tl, const struct hh_req *r);
static int wsj_hold(struct conn *c, struct cli *cl, const unsigned char *p,
    size_t n);
static int wsj_emit(struct conn *c, struct cli *cl, json_t *m, json_t *id);
static int wsj_dispatch(struct conn *c, struct cli *cl, const unsigned char *p,
    size_t n);
static int wsj_batch_append(struct ws_batch *b, const struct fan_msg *m,
    const char *room, size_t rlen);

static const struct cli_ops wsj_ops = {
    .event = wsj_event,
    .batch = wsj_batch,
    .block_kinds = FAN_BLOCK_WSJ,
    .notify = wsj_notify,
    .kick = wsj_kick,
};

void
wsj_init(struct event_base *base, const struct cfg *c)
{
    wsj_base = base;
    wsj_cfg = c;
    http_route_add("/ws", wsj_route);
    fan_set_wsj_append(wsj_batch_append);
}

/* Send o (taken) as one text message. */
static int
wsj_send(struct conn *c, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    int rc = 0;

    if (s) {
        rc = ws_send(c, WSF_OP_TEXT, s, strlen(s));
        free(s);
    }
    json_decref(o);
    return rc;
}

static int
wsj_error(struct conn *c, const char *code, const char *msg, json_t *id)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "type", "error", "code", code,
        "message", msg);

    if (o && id)
        json_object_set(o, "id", id);
    return wsj_send(c, o);
}

static int
wsj_ack_error(struct conn *c, json_t *id, const char *code, const char *msg,
    const char *room)
{
    json_t *e = json_pack("{s:s, s:s}", "code", code, "message", msg);
    json_t *o = json_pack("{s:s, s:O, s:b, s:o}", "type", "ack", "id",
        id ? id : json_null(), "ok", 0, "error", e);

    if (o && room)
        json_object_set_new(json_object_get(o, "error"), "room",
            json_string(room));
    return wsj_send(c, o);
}

/* A fatal auth failure: error object, then close 4002 with the code; a
 * user at max_connections_per_user is no auth failure: 1008. */
static void
wsj_auth_fail(struct conn *c, enum tok_status st)
{
    wsj_error(c, tok_status_code(st), tok_status_message(st), NULL);
    ws_close(c, st == TOK_E_LIMIT ? WSF_CLOSE_POLICY
        : CLI_CLOSE_AUTH_FAILED, tok_status_code(st));
}

static void
wsj_auth_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    (void)fd;
    (void)what;
    WCTR_INC(auth_timeouts);
    wsj_error(c, "TOKEN_MISSING", "no auth message within auth_timeout",
        NULL);
    ws_close(c, CLI_CLOSE_AUTH_TIMEOUT, "TOKEN_MISSING");
}

/* c's client, or NULL once it left the model (wsj_release). */
static struct cli *
wsj_cl(struct conn *c)
{
    uintptr_t p = (uintptr_t)ws_app_state(c);

    return p & 1 ? ((struct wsj_pre *)(p - 1))->cl : (struct cli *)p;
}

/* The first auth came (or the connection goes): no auth_timeout timer,
 * the app state is the client itself. */
static void
wsj_stop_auth_timer(struct conn *c)
{
    uintptr_t p = (uintptr_t)ws_app_state(c);
    struct wsj_pre *pre = (struct wsj_pre *)(p - 1);

    if ((p & 1) == 0)
        return;
    if (pre->auth_ev)
        event_free(pre->auth_ev);
    ws_set_app_state(c, pre->cl);
    free(pre);
}

/* The client leaves the model: c's state and the client are freed. */
static void
wsj_release(struct conn *c)
{
    struct cli *cl = wsj_cl(c);

    if (cl == NULL)
        return;
    wsj_stop_auth_timer(c);
    cli_free(cl);
    WCTR_DEC(wsj_open);
    ws_set_app_state(c, NULL);
}

static void
wsj_on_open(struct conn *c, const struct hh_req *r)
{
    struct cli *cl = cli_new(&wsj_ops, c);
    uint32_t *rl = ws_app_words(c);
    struct wsj_pre *pre;
    size_t hl;
    const char *h = hh_header(r, "Authorization", &hl);

    if (cl == NULL) {
        ws_close(c, WSF_CLOSE_INTERNAL, "out of memory");
        return;
    }
    lmt_msg_init(&rl[0], &rl[1]);
    ws_set_app_state(c, cl);
    WCTR_INC(wsj_open);
    /* "Bearer" followed by the token; the head parser trimmed trailing
     * blanks, so an empty credential is just "Bearer". */
    if (h && hl >= 6 && strncasecmp(h, "Bearer", 6) == 0
        && (hl == 6 || h[6] == ' ' || h[6] == '\t')) {
        size_t off = 6;
        while (off < hl && (h[off] == ' ' || h[off] == '\t'))
            off++;
        enum tok_status st = cli_authenticate(cl, h + off, hl - off);
        if (st != TOK_OK)
            wsj_auth_fail(c, st);
        else
            wsj_admit_origin(c, cl, h + off, hl - off, r);
        return;
    }
    if (CFG_NUM(wsj_cfg, allow_anonymous)) {
        /* Usable at once; an auth message may still come later. */
        cli_anonymous(cl);
        return;
    }
    int64_t ms = CFG_NUM(wsj_cfg, auth_timeout);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if ((pre = calloc(1, sizeof(*pre))) == NULL) {
        ws_close(c, WSF_CLOSE_INTERNAL, "out of memory");
        return;
    }
    pre->cl = cl;
    ws_set_app_state(c, (void *)((uintptr_t)pre | 1));
    pre->auth_ev = evtimer_new(wsj_base, wsj_auth_timeout, c);
    if (pre->auth_ev == NULL || evtimer_add(pre->auth_ev, &tv) == -1)
        ws_close(c, WSF_CLOSE_INTERNAL, "out of memory");
}

static void
wsj_on_close(struct conn *c)
{
    wsj_release(c);
}

/* auth message: first authentication, or a refresh. */
static int
wsj_auth(struct conn *c, struct cli *cl, json_t *m, json_t *id)
{
    json_t *t = json_object_get(m, "token");
    const char *tok = json_is_string(t) ? json_string_value(t) : "";
    size_t tl = json_is_string(t) ? json_string_length(t) : 0;
    int first = cli_user(cl) == NULL;
    struct tok_claims *claims = NULL;
    /* A refresh through the connect proxy counts once the backend
     * allows it: until then the connection is as it was. */
    enum tok_status st = first || !cpx_on()
        ? cli_authenticate(cl, tok, tl)
        : cli_verify(cl, tok, tl, &claims);

    if (st != TOK_OK) {
        if (first && !CFG_NUM(wsj_cfg, allow_anonymous)) {
            wsj_auth_fail(c, st);
            return 0;
        }
        /* A refused refresh leaves the connection as it was. */
        return wsj_ack_error(c, id, tok_status_code(st),
            tok_status_message(st), NULL);
    }
    if (cpx_on())
        return wsj_admit(c, cl, tok, tl, id, first ? WSJ_FIRST : WSJ_REFRESH,
            NULL, claims);
    wsj_stop_auth_timer(c);
    return wsj_send(c, json_pack("{s:s, s:O, s:b, s:s}", "type", "ack", "id",
        id ? id : json_null(), "ok", 1, "user", cli_user(cl)));
}

/* Collect "room" or "rooms" into out. Returns the count, or -1. */
static int
wsj_rooms(json_t *m, struct msg_str *out, size_t cap)
{
    json_t *r = json_object_get(m, "room"), *rs = json_object_get(m, "rooms");
    size_t i;
    json_t *v;

    if (r && !rs && json_is_string(r)) {
        out[0] = (struct msg_str){json_string_value(r), json_string_length(r)};
        return 1;
    }
    if (!r && json_is_array(rs) && json_array_size(rs) > 0
        && json_array_size(rs) <= cap) {
        json_array_foreach(rs, i, v) {
            if (!json_is_string(v))
                return -1;
            out[i] = (struct msg_str){json_string_value(v),
                json_string_length(v)};
        }
        return (int)json_array_size(rs);
    }
    return -1;
}

/* The ack of a subscribe (sub.h). arg is the request's id (a reference,
 * or NULL). */
static void
wsj_sub_done(struct cli *cl, const struct sub_done *d, int gone, void *arg)
{
    json_t *id = arg, *o;
    struct conn *c;

    if (gone) {
        json_decref(id);
        return;
    }
    c = cli_proto(cl);
    if (!d->ok) {
        (void)wsj_ack_error(c, id, d->code, d->msg, d->room);
        json_decref(id);
        return;
    }
    o = json_pack("{s:s, s:O, s:b, s:O}", "type", "ack", "id",
        id ? id : json_null(), "ok", 1, "rooms", d->rooms);
    if (o && d->replayed > 0)
        json_object_set_new(o, "replayed", json_integer(d->replayed));
    if (o && d->gap)
        json_object_set_new(o, "gap", json_true());
    (void)wsj_send(c, o);
    json_decref(id);
}

static void
wsj_json_free(void *p)
{
    json_decref(p);
}

static int
wsj_subscribe(struct conn *c, struct cli *cl, json_t *m, json_t *id)
{
    json_t *r = json_object_get(m, "room"), *rs = json_object_get(m, "rooms");
    const char *err;
    struct sub_req *rq = NULL;

    if (r ? !rs && json_is_string(r) : json_is_array(rs))
        rq = sub_parse(r ? r : rs, json_object_get(m, "since"), &err);
    if (rq == NULL)
        return wsj_ack_error(c, id, "BAD_REQUEST", "give \"room\" (string) "
            "or \"rooms\" (array of 1-100 names or {room, since}), and "
            "\"since\" as a decimal offset", NULL);
    sub_run(cl, rq, wsj_sub_done, json_incref(id), wsj_json_free);
    return 0;
}

static int
wsj_unsubscribe(struct conn *c, struct cli *cl, json_t *m, json_t *id)
{
    struct msg_str rooms[MSG_MAX_TARGETS];
    int n = wsj_rooms(m, rooms, MSG_MAX_TARGETS);
    json_t *list;

    if (n < 0)
        return wsj_ack_error(c, id, "BAD_REQUEST", "give \"room\" (string) "
            "or \"rooms\" (array of 1-100 strings)", NULL);
    list = json_array();
    for (int i = 0; i < n; i++)
        if (cli_unsubscribe(cl, &rooms[i], 1))
            json_array_append_new(list, json_stringn(rooms[i].p,
                rooms[i].n));
    return wsj_send(c, json_pack("{s:s, s:O, s:b, s:o}", "type", "ack", "id",
        id ? id : json_null(), "ok", 1, "rooms", list));
}

static int
wsj_on_message(struct conn *c, int binary, const unsigned char *p, size_t n)
{
    struct cli *cl = wsj_cl(c);
    uint32_t *rl = ws_app_words(c);

    if (cl == NULL)
        return 0;
    if (!lmt_msg_take(&rl[0], &rl[1])) {
        /* Before any parsing: a flood costs no JSON work. */
        lmt_msg_closed();
        wsj_error(c, "RATE_LIMITED", "messages sent faster than "
            "client_message_rate", NULL);
        ws_close(c, WSF_CLOSE_POLICY, "RATE_LIMITED");
        return 0;
    }
    if (binary) {
        ws_close(c, WSF_CLOSE_UNSUPPORTED, "binary messages are not "
            "supported on /ws");
        return 0;
    }
    return wsj_dispatch(c, cl, p, n);
}

/* One text message of c, past the rate limit (held messages come back
 * here from wsj_replay without paying for it twice). */
static int
wsj_dispatch(struct conn *c, struct cli *cl, const unsigned char *p, size_t n)
{
    json_error_t jerr;
    json_t *m, *id;
    const char *type;
    int rc = 0;

    m = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr);
    if (m == NULL || !json_is_object(m)) {
        json_decref(m);
        return wsj_error(c, "BAD_JSON", "message is not a JSON object",
            NULL);
    }
    id = json_object_get(m, "id");
    type = json_string_value(json_object_get(m, "type"));
    if (cli_held(cl) && (type == NULL || strcmp(type, "ping") != 0)) {
        rc = wsj_hold(c, cl, p, n); /* answered once the backend has */
    } else if (type == NULL) {
        rc = wsj_error(c, "BAD_JSON", "missing string field \"type\"", id);
    } else if (strcmp(type, "auth") == 0) {
        rc = wsj_auth(c, cl, m, id);
    } else if (strcmp(type, "ping") == 0) {
        json_t *o = json_pack("{s:s, s:I}", "type", "pong", "ts",
            (json_int_t)wsg_real_ms());
        if (o && id)
            json_object_set(o, "id", id);
        rc = wsj_send(c, o);
    } else if (!cli_authed(cl)) {
        wsj_error(c, "TOKEN_MISSING", "authenticate first", id);
        ws_close(c, CLI_CLOSE_AUTH_FAILED, "TOKEN_MISSING");
    } else if (strcmp(type, "subscribe") == 0) {
        rc = wsj_subscribe(c, cl, m, id);
    } else if (strcmp(type, "unsubscribe") == 0) {
        rc = wsj_unsubscribe(c, cl, m, id);
    } else if (strcmp(type, "emit") == 0) {
        rc = wsj_emit(c, cl, m, id);
    } else {
        rc = wsj_error(c, "UNKNOWN_TYPE", "unknown message type", id);
    }
    json_decref(m);
    return rc;
}

/* The "data" of m: a publish's JSON, or an emitter broadcast's
 * arguments (evj.h), as a new string (caller frees) of length *len. */
static char *
wsj_data(const struct fan_msg *m, size_t *len)
{
    size_t n = m->v.kind == MSG_EMIT ? evj_ws_data(&m->v, NULL, 0)
                                      : m->v.data.n;
    char *d = malloc(n + 1);

    if (d == NULL)
        return NULL;
    if (m->v.kind == MSG_EMIT)
        evj_ws_data(&m->v, d, n + 1);
    else
        memcpy(d, m->v.data.p, n);
    *len = n;
    return d;
}

/* {"type":"event","room":R,"event":E,"data":D,"offset":N} as a new
 * string (caller frees) of length *len; D is the validated JSON text from
 * the log. An emitter broadcast with binary arguments adds
 * "attachments":K before "offset": its K binary messages follow. */
static char *
wsj_text(const struct fan_msg *m, const char *room, size_t rlen, size_t *len)
{
    json_t *js = room ? json_stringn(room, rlen) : NULL;
    json_t *je = json_stringn(m->v.event.p, m->v.event.n);
    char *rs = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
    char *es = je ? json_dumps(je, JSON_ENCODE_ANY) : NULL;
    size_t dn = 0;
    char *ds = wsj_data(m, &dn), att[48] = "";
    size_t cap = dn + (rs ? strlen(rs) : 0) + (es ? strlen(es) : 0) + 128;
    char *buf = malloc(cap);
    int n = -1;

    if (m->v.kind == MSG_EMIT && m->v.nattach)
        snprintf(att, sizeof(att), ",\"attachments\":%zu", m->v.nattach);
    if (buf && es && ds)
        n = snprintf(buf, cap, "{\"type\":\"event\"%s%s,\"event\":%s,"
            "\"data\":%.*s%s,\"offset\":%llu}", rs ? ",\"room\":" : "",
            rs ? rs : "", es, (int)dn, ds, att, (unsigned long long)m->off);
    free(rs);
    free(es);
    free(ds);
    json_decref(js);
    json_decref(je);
    if (n < 0 || (size_t)n >= cap) {
        free(buf);
        return NULL;
    }
    *len = (size_t)n;
    return buf;
}

/* The event message, then an emitter broadcast's binary arguments. */
static struct ws_batch *
wsj_encode(const struct fan_msg *m, const char *room, size_t rlen)
{
    size_t n;
    char *t = wsj_text(m, room, rlen, &n);
    struct ws_batch *f = t ? ws_batch_one(WSF_OP_TEXT, t, n) : NULL;

    free(t);
    for (size_t i = 0; f != NULL && m->v.kind == MSG_EMIT
         && i < m->v.nattach; i++)
        if (ws_batch_append(f, WSF_OP_BINARY, m->v.attach[i].p,
                m->v.attach[i].n) == -1) {
            ws_batch_unref(f);
            f = NULL;
        }
    return f;
}

/* m's /ws event message for room, then an emitter broadcast's binary
 * arguments, appended to b (fan-out blocks). */
static int
wsj_batch_append(struct ws_batch *b, const struct fan_msg *m,
    const char *room, size_t rlen)
{
    size_t n;
    char *t = wsj_text(m, room, rlen, &n);
    int rc = t ? ws_batch_append(b, WSF_OP_TEXT, t, n) : -1;

    free(t);
    for (size_t i = 0; rc == 0 && m->v.kind == MSG_EMIT
         && i < m->v.nattach; i++)
        rc = ws_batch_append(b, WSF_OP_BINARY, m->v.attach[i].p,
            m->v.attach[i].n);
    return rc;
}

static int
wsj_batch(struct cli *cl, struct fan_block *b)
{
    return ws_send_batch(cli_proto(cl), b->wsj);
}

static int
wsj_event(struct cli *cl, struct fan_msg *m, const char *room, size_t rlen)
{
    struct conn *c = cli_proto(cl);

    /* /ws clients are in the main namespace only */
    if (m->v.kind == MSG_EMIT && (m->v.nsp.n != 1 || m->v.nsp.p[0] != '/'))
        return 0;
    if (!m->wsj_room_set || m->wsj_room != room) {
        ws_batch_unref(m->wsj);
        m->wsj = wsj_encode(m, room, rlen);
        m->wsj_room = room;
        m->wsj_room_set = 1;
    }
    if (m->wsj == NULL)
        return 0;
    return ws_send_batch(c, m->wsj);
}

static int
wsj_notify(struct cli *cl, const char *event, const char *json)
{
    struct conn *c = cli_proto(cl);
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "{\"type\":\"event\",\"event\":\"%s\","
        "\"data\":%s}", event, json);

    if (n < 0 || (size_t)n >= sizeof(buf))
        return 0;
    return ws_send(c, WSF_OP_TEXT, buf, (size_t)n);
}

static void
wsj_kick(struct cli *cl, unsigned code, const char *reason)
{
    struct conn *c = cli_proto(cl);

    /* The client leaves the model now; the socket closes after the
     * close frame is written. */
    wsj_release(c);
    ws_close(c, code, reason);
}

static const struct ws_app wsj_app = {
    .name = "ws-json",
    .on_open = wsj_on_open,
    .on_message = wsj_on_message,
    .on_close = wsj_on_close,
};

/* /ws: the WebSocket upgrade, then this protocol. */
static void
wsj_route(struct conn *c, const struct hh_req *r)
{
    struct lmt_refusal why;

    /* max_connections, max_connections_per_ip, handshake_rate_per_ip:
     * refused before the upgrade, with the JSON error of every HTTP
     * refusal; conn_close gives the count back. */
    if (conn_limit_begin(c, &why) == -1) {
        http_error(c, why.status, why.code, why.msg, why.status == 429
            ? "Retry-After: 1\r\n" : NULL);
        return;
    }
    (void)ws_upgrade(c, r, r->head_len, &wsj_app);
}

static void
wsj_wait_free(void *arg)
{
    struct wsj_wait *w = arg;

    for (struct wsj_wait **pp = &wsj_waits; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    for (size_t i = 0; i < w->nheld; i++)
        free(w->held[i]);
    json_decref(w->id);
    free(w->claims);
    free(w);
}

/* The messages held while the proxy decided, in order, until one ends
 * the connection. */
static void
wsj_replay(struct conn *c, struct cli *cl, struct wsj_wait *w)
{
    for (size_t i = 0; i < w->nheld; i++)
        if (wsj_dispatch(c, cl, (const unsigned char *)w->held[i],
                w->held_len[i]) == -1 || conn_closing(c)
            || wsj_cl(c) != cl)
            return;
}

/* The connect proxy's answer: the ack (auth message) and the held
 * messages, or error and close 4003; a refresh gets an error ack, then
 * the same close only when the backend refused (not when it gave no
 * answer). */
static void
wsj_admit_done(struct cli *cl, enum cpx_result res, const char *code,
    const char *msg, void *arg)
{
    struct wsj_wait *w = arg;
    struct conn *c = w->c;
    json_t *id = w->id;

    cli_set_held(cl, 0);
    if (res == CPX_ALLOW && w->claims) {
        enum tok_status st = cli_apply(cl, w->claims);
        w->claims = NULL;
        if (st != TOK_OK) {
            (void)wsj_ack_error(c, id, tok_status_code(st),
                tok_status_message(st), NULL);
            wsj_wait_free(w);
            return;
        }
    }
    if (res == CPX_ALLOW) {
        if (!w->refresh)
            wsj_stop_auth_timer(c);
        if (w->ack && wsj_send(c, json_pack("{s:s, s:O, s:b, s:s}", "type",
                "ack", "id", id ? id : json_null(), "ok", 1, "user",
                cli_user(cl))) == -1) {
            wsj_wait_free(w);
            return;
        }
        wsj_replay(c, cl, w);
    } else if (w->refresh) {
        if (wsj_ack_error(c, id, code, msg, NULL) == 0
            && res == CPX_REFUSE)
            ws_close(c, CLI_CLOSE_KICKED, code);
    } else if (wsj_error(c, code, msg, id) == 0) {
        ws_close(c, CLI_CLOSE_KICKED, code);
    }
    wsj_wait_free(w);
}

/* Ask the connect proxy about cl's user (token tok[0..tl), borrowed) and
 * hold c's messages until it answers. id: the auth message's; the
 * Authorization header gets no ack. */
static int
wsj_admit(struct conn *c, struct cli *cl, const char *tok, size_t tl,
    json_t *id, enum wsj_mode mode, const char *origin,
    struct tok_claims *claims)
{
    int refresh = mode == WSJ_REFRESH;
    struct wsj_wait *w;
    struct cpx_ctx x = {tok, tl, "websocket", "ws", conn_peer(c), origin,
        "/", refresh ? "refresh" : "connect"};
    const char *code, *msg;

    if (!cpx_on() || cli_user(cl) == NULL
        || (w = calloc(1, sizeof(*w))) == NULL) {
        free(claims);
        if (!cpx_on() || cli_user(cl) == NULL)
            return 0;
        ws_close(c, WSF_CLOSE_INTERNAL, "out of memory");
        return -1;
    }
    *w = (struct wsj_wait){wsj_waits, c, cl, json_incref(id),
        mode != WSJ_HEADER, refresh, claims};
    wsj_waits = w;
    if (!refresh)
        cli_set_held(cl, 1);
    enum cpx_result res = cpx_check(cl, &x, wsj_admit_done, w,
        wsj_wait_free, &code, &msg);
    if (res != CPX_PENDING)
        wsj_admit_done(cl, res, code, msg, w);
    return 0;
}

/* wsj_admit for the token of the upgrade's Authorization header, with
 * the upgrade's Origin (the auth message path has none to give). */
static void
wsj_admit_origin(struct conn *c, struct cli *cl, const char *tok, size_t tl,
    const struct hh_req *r)
{
    size_t ol;
    const char *o = hh_header(r, "Origin", &ol);
    char origin[256];

    if (o)
        snprintf(origin, sizeof(origin), "%.*s", (int)ol, o);
    (void)wsj_admit(c, cl, tok, tl, NULL, WSJ_HEADER, o ? origin : NULL,
        NULL);
}

/* Keep message p[0..n) of a held connection for wsj_replay. */
static int
wsj_hold(struct conn *c, struct cli *cl, const unsigned char *p, size_t n)
{
    struct wsj_wait *w = wsj_waits;

    while (w && w->cl != cl)
        w = w->next;
    if (w == NULL || w->nheld == WSJ_HOLD_MAX
        || (w->held[w->nheld] = malloc(n ? n : 1)) == NULL) {
        ws_close(c, WSF_CLOSE_POLICY, "too many messages before the "
            "backend answered");
        return -1;
    }
    memcpy(w->held[w->nheld], p, n);
    w->held_len[w->nheld++] = n;
    return 0;
}

/* The event proxy's ack ack (taken) as {"type":"ack","id",...}; arg is
 * the message's id (a reference, or NULL). */
static void
wsj_emit_done(struct cli *cl, json_t *ack, void *arg)
{
    json_t *id = arg;

    if (ack) {
        json_object_set_new(ack, "type", json_string("ack"));
        json_object_set(ack, "id", id ? id : json_null());
    }
    (void)wsj_send(cli_proto(cl), ack);
    json_decref(id);
}

/* emit: {"event", "data", "id"} for the backend (epx.h). */
static int
wsj_emit(struct conn *c, struct cli *cl, json_t *m, json_t *id)
{
    json_t *ev = json_object_get(m, "event"), *ack = NULL;
    char cid[32];

    if (!json_is_string(ev) || json_string_length(ev) == 0)
        return wsj_ack_error(c, id, "BAD_REQUEST", "give \"event\" (a "
            "non-empty string)", NULL);
    if (!epx_match(json_string_value(ev), json_string_length(ev)))
        return wsj_ack_error(c, id, "UNKNOWN_EVENT", "no handler for this "
            "event", NULL);
    snprintf(cid, sizeof(cid), "%ld.%d", (long)getpid(), conn_fd(c));
    struct epx_ctx x = {cid, "ws", json_string_value(ev),
        json_string_length(ev), json_object_get(m, "data")};
    json_t *ref = json_incref(id);
    if (epx_forward(cl, &x, wsj_emit_done, ref, wsj_json_free, &ack)
        == -1)
        wsj_emit_done(cl, ack, ref); /* at once: a bound was reached */
    return 0;
}
