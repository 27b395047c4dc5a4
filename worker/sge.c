/*
 * Socket.IO client events of the gateway: the built-ins (subscribe with
 * since, unsubscribe, ping, auth:refresh with the connect proxy's check),
 * events for the backend (the event proxy), and UNKNOWN_EVENT, each with
 * its ack. What belongs to the session (sending, the recovery store, the
 * socket id) is skt's, reached through sge_ops.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/msg.h"
#include "common/sio.h"
#include "common/tok.h"
#include "common/wsg.h"
#include "worker/cli.h"
#include "worker/cpx.h"
#include "worker/epx.h"
#include "worker/sge.h"
#include "worker/sub.h"
#include "worker/wctr.h"

/* Encode with an encoder-convention function and send (common/sio.h). */
#define SGE_ENCODE(cl, call_with_buf) \
    SIO_ENCODE_HEAP(call_with_buf, S.ops->send((cl), out, len))

static struct {
    const struct sge_ops *ops;
} S;

static void sge_refresh(struct cli *cl, json_t *arg, long long id);

void
sge_init(const struct sge_ops *ops)
{
    S.ops = ops;
}

/* Ack helper: 43<id>[<json>] for cl's namespace. Takes v. */
static void
sge_ack(struct cli *cl, long long id, json_t *v)
{
    json_t *arr = json_array();
    char *s;

    if (id == SIO_ACK_NONE || arr == NULL) {
        json_decref(v);
        json_decref(arr);
        return;
    }
    json_array_append_new(arr, v);
    s = json_dumps(arr, JSON_COMPACT);
    if (s)
        SGE_ENCODE(cl, sio_encode_ack(out, cap, cli_nsp(cl), id, s,
            strlen(s)));
    free(s);
    json_decref(arr);
}

static json_t *
sge_err(const char *code, const char *msg, const char *room)
{
    json_t *e = json_pack("{s:s, s:s}", "code", code, "message", msg);

    if (e && room)
        json_object_set_new(e, "room", json_string(room));
    return json_pack("{s:b, s:o}", "ok", 0, "error", e);
}

/* The ack of a subscribe (sub.h); arg is the heap copy of its ack id. */
static void
sge_sub_done(struct cli *cl, const struct sub_done *d, int gone, void *arg)
{
    long long id = *(long long *)arg;
    json_t *v;

    free(arg);
    if (gone)
        return;
    if (!d->ok) {
        sge_ack(cl, id, sge_err(d->code, d->msg, d->room));
        return;
    }
    v = json_pack("{s:b, s:O}", "ok", 1, "rooms", d->rooms);
    if (v && d->replayed > 0)
        json_object_set_new(v, "replayed", json_integer(d->replayed));
    if (v && d->gap)
        json_object_set_new(v, "gap", json_true());
    sge_ack(cl, id, v);
    if (json_array_size(d->rooms) > 0)
        S.ops->store(cl);
}

/* subscribe: a room, {room, since}, or an array of them (sub.h). */
static void
sge_subscribe(struct cli *cl, json_t *arg, long long id)
{
    const char *err;
    struct sub_req *rq = sub_parse(arg, NULL, &err);
    long long *idp;

    if (rq == NULL || (idp = malloc(sizeof(*idp))) == NULL) {
        sub_free(rq);
        sge_ack(cl, id, sge_err("BAD_REQUEST", err, NULL));
        return;
    }
    *idp = id;
    sub_run(cl, rq, sge_sub_done, idp, free);
}

/* unsubscribe with a room name or an array of them. */
static void
sge_unsubscribe(struct cli *cl, json_t *arg, long long id)
{
    struct msg_str rooms[MSG_MAX_TARGETS];
    size_t n = 0, i;
    json_t *v, *list;

    if (json_is_string(arg)) {
        rooms[n++] = (struct msg_str){json_string_value(arg),
            json_string_length(arg)};
    } else if (json_is_array(arg) && json_array_size(arg) > 0
        && json_array_size(arg) <= MSG_MAX_TARGETS) {
        json_array_foreach(arg, i, v) {
            if (!json_is_string(v))
                break;
            rooms[n++] = (struct msg_str){json_string_value(v),
                json_string_length(v)};
        }
    }
    if (n == 0 || (json_is_array(arg) && n != json_array_size(arg))) {
        sge_ack(cl, id, sge_err("BAD_REQUEST", "give a room name or "
            "an array of 1-100 room names", NULL));
        return;
    }
    list = json_array();
    for (i = 0; i < n; i++)
        if (cli_unsubscribe(cl, &rooms[i], 1))
            json_array_append_new(list, json_stringn(rooms[i].p,
                rooms[i].n));
    if (json_array_size(list) > 0)
        S.ops->store(cl);
    sge_ack(cl, id, json_pack("{s:b, s:o}", "ok", 1, "rooms", list));
}

/* The event proxy's answer: the client's ack. arg: the ack id. */
static void
sge_forward_done(struct cli *cl, json_t *ack, void *arg)
{
    long long id = *(long long *)arg;

    free(arg);
    sge_ack(cl, id, ack);
}

/* A client event for the backend (epx.h): its first argument is the
 * data; without an ack id the reply is dropped. */
static void
sge_forward(struct cli *cl, long long id, const char *name,
    json_t *arg)
{
    struct epx_ctx x = {S.ops->sid(cl), "socket.io", name, strlen(name), arg};
    long long *idp = malloc(sizeof(*idp));
    json_t *ack = NULL;

    if (idp == NULL) {
        S.ops->close(cl, "out of memory");
        return;
    }
    *idp = id;
    if (epx_forward(cl, &x, sge_forward_done, idp, free, &ack) == -1) {
        free(idp);
        sge_ack(cl, id, ack);
    }
}

/* Built-in events of the gateway. */
void
sge_event(struct cli *cl, const struct sio_packet *pk)
{
    const char *name = json_string_value(json_array_get(pk->json, 0));
    json_t *arg = json_array_get(pk->json, 1);

    WCTR_INC(sio_events_in);
    if (strcmp(name, "subscribe") == 0) {
        sge_subscribe(cl, arg, pk->ack_id);
    } else if (strcmp(name, "unsubscribe") == 0) {
        sge_unsubscribe(cl, arg, pk->ack_id);
    } else if (strcmp(name, "ping") == 0) {
        char d[48];
        long long ts = (long long)wsg_real_ms();
        snprintf(d, sizeof(d), "{\"ts\":%lld}", ts);
        SGE_ENCODE(cl, sio_encode_event(out, cap, cli_nsp(cl), SIO_ACK_NONE,
            "pong", d, strlen(d), NULL));
        sge_ack(cl, pk->ack_id, json_pack("{s:I}", "ts",
            (json_int_t)ts));
    } else if (strcmp(name, "auth:refresh") == 0) {
        sge_refresh(cl, arg, pk->ack_id);
    } else if (epx_match(name, strlen(name))) {
        sge_forward(cl, pk->ack_id, name, arg);
    } else {
        sge_ack(cl, pk->ack_id, sge_err("UNKNOWN_EVENT",
            "this server handles subscribe, unsubscribe, ping and "
            "auth:refresh", NULL));
    }
}

/* A refresh waiting for the connect proxy: its ack id, and the new
 * token's claims, applied only once the backend allows it (a refused
 * refresh leaves the connection as it was, DESIGN section 10). */
struct sge_rf {
    long long id;
    struct tok_claims *claims;
};

static void
sge_rf_free(void *arg)
{
    struct sge_rf *rf = arg;

    free(rf->claims);
    free(rf);
}

/* The connect proxy's answer to a refresh: the new token takes effect
 * and the ack; a refusal by the backend (a deleted user) also ends the
 * connection (DISCONNECT), a backend that gave no answer does not. */
static void
sge_refresh_done(struct cli *cl, enum cpx_result res, const char *code,
    const char *msg, void *arg)
{
    struct sge_rf *rf = arg;
    long long id = rf->id;
    enum tok_status st = TOK_OK;

    if (res == CPX_ALLOW) {
        st = cli_apply(cl, rf->claims);
        rf->claims = NULL;
    }
    sge_rf_free(rf);
    if (res == CPX_ALLOW)
        sge_ack(cl, id, st == TOK_OK ? json_pack("{s:b}", "ok", 1)
            : sge_err(tok_status_code(st), tok_status_message(st), NULL));
    else
        sge_ack(cl, id, sge_err(code, msg, NULL));
    if (res == CPX_REFUSE)
        cli_kick(cl, CLI_CLOSE_KICKED, code);
}

/* auth:refresh: the token's checks, then the connect proxy's; the new
 * token counts only once both passed. */
static void
sge_refresh(struct cli *cl, json_t *arg, long long id)
{
    json_t *t = json_object_get(arg, "token");
    const char *tok = json_is_string(t) ? json_string_value(t) : "";
    struct tok_claims *claims;
    enum tok_status st = cli_verify(cl, tok,
        json_is_string(t) ? json_string_length(t) : 0, &claims);
    struct cpx_ctx x;
    const char *code, *msg;
    struct sge_rf *rf;

    if (st == TOK_OK && !cpx_on())
        st = cli_apply(cl, claims);
    if (st != TOK_OK || !cpx_on()) {
        sge_ack(cl, id, st == TOK_OK ? json_pack("{s:b}", "ok", 1)
            : sge_err(tok_status_code(st), tok_status_message(st), NULL));
        return;
    }
    if ((rf = malloc(sizeof(*rf))) == NULL) {
        free(claims);
        S.ops->close(cl, "out of memory");
        return;
    }
    *rf = (struct sge_rf){id, claims};
    x = S.ops->ctx(cl, tok, "refresh");
    enum cpx_result res = cpx_check(cl, &x, sge_refresh_done, rf,
        sge_rf_free, &code, &msg);
    if (res != CPX_PENDING)
        sge_refresh_done(cl, res, code, msg, rf);
}

