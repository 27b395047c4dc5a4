/*
 * Socket.IO layer: a thin codec between Engine.IO messages and the client
 * model. Each connected namespace of a session is one cli (cli.c), so
 * rooms, auth and fan-out are the same code as /ws. Malformed packets
 * close the session; a namespace not joined within connect_timeout closes
 * it too. Published events are encoded once per message (fan_msg->sio)
 * for every recipient in namespace "/". With echo_app on, /socket.io/
 * sessions run the echo test application on the same sessions and
 * namespaces, with no auth; what it answers is echo.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/config.h"
#include "common/eio.h"
#include "common/hh.h"
#include "common/sio.h"
#include "common/wsf.h"
#include "common/wsg.h"
#include "worker/cli.h"
#include "worker/cpx.h"
#include "worker/csr.h"
#include "worker/echo.h"
#include "worker/eng.h"
#include "worker/fan.h"
#include "worker/http.h"
#include "worker/lmt.h"
#include "worker/sev.h"
#include "worker/sge.h"
#include "worker/skt.h"
#include "worker/skti.h"
#include "worker/ws.h"
#include "worker/wctr.h"

#define SKT_KICK_GRACE_MS 2000 /* polling: time for the DISCONNECT to go */
#define SKT_FETCH_POLL_MS 5    /* cluster: looks for a session from Redis */
#define SKT_FETCH_MAX_MS 2000  /* ... for at most this long */

static int skt_notify(struct cli *cl, const char *event, const char *json);
static void skt_kick(struct cli *cl, unsigned code, const char *reason);
static const char *skt_nsp(const struct cli *cl);

static void skt_route(struct conn *c, const struct hh_req *r);

static struct {
    struct event_base *base;
    const struct cfg *cfg;
} K;

static const struct cli_ops skt_cli_ops = {
    .event = skn_event,
    .batch = skn_batch,
    .block_kinds = FAN_BLOCK_SIO,
    .notify = skt_notify,
    .kick = skt_kick,
    .nsp = skt_nsp,
};

static void skt_sge_send(struct cli *cl, const char *p, size_t n);
static void skt_sge_store(struct cli *cl);
static const char *skt_sge_sid(struct cli *cl);
static struct cpx_ctx skt_sge_ctx(struct cli *cl, const char *tok,
    const char *reason);
static void skt_sge_close(struct cli *cl, const char *reason);

static const struct sge_ops skt_sge_ops = {
    .send = skt_sge_send,
    .store = skt_sge_store,
    .sid = skt_sge_sid,
    .ctx = skt_sge_ctx,
    .close = skt_sge_close,
};

void
skt_init(struct event_base *base, const struct cfg *c)
{
    sge_init(&skt_sge_ops);
    K.base = base;
    K.cfg = c;
    skn_init(CFG_NUM(c, echo_app) ? ECHO_SIO_NAMESPACES
        : CFG_STR(c, namespaces));
    http_route_add("/socket.io/", skt_route);
    fan_set_sio_append(skn_batch_append);
}

/* Send a Socket.IO packet text p[0..n) as one Engine.IO message. */
static int
skt_send(struct skt *k, const char *p, size_t n)
{
    WCTR_INC(sio_packets_out);
    return eng_send(skn_eng(k), 0, p, n);
}

/* Encode with an encoder-convention function and send (common/sio.h). */
#define SKT_ENCODE(k, call_with_buf) \
    SIO_ENCODE_HEAP(call_with_buf, skt_send((k), out, len))

static void
skt_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct skt *k = arg;

    (void)fd;
    (void)what;
    if (k->ns0.rate_kicked) {
        eng_close(skn_eng(k), "RATE_LIMITED: messages faster than "
            "client_message_rate");
        return;
    }
    if (skn_any(k) == NULL)
        WCTR_INC(sio_connect_timeouts);
    eng_close(skn_eng(k), skn_any(k) ? "server disconnect"
        : "connect timeout");
}

/* Close k's session in ms (the connect timeout, or a kick's grace). */
static void
skt_arm(struct skt *k, int64_t ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    struct skt_x *x = skn_x(k);

    if (x && x->tev == NULL)
        x->tev = evtimer_new(K.base, skt_timer_cb, k);
    if (x && x->tev)
        evtimer_add(x->tev, &tv);
    else
        eng_close(skn_eng(k), "out of memory");
}

static int
skt_open(struct eng *e, const struct hh_req *r, int echo)
{
    struct skt *k = eng_app_state(e);
    struct skt_x *x = skn_x(k);
    size_t hl;
    const char *h = hh_header(r, "Authorization", &hl);

    if (x == NULL)
        return -1;
    k->ns0.echo = echo != 0;
    lmt_msg_init(&k->rl_tok, &k->rl_at);
    if (h && hl > 7 && strncasecmp(h, "Bearer ", 7) == 0
        && (x->bearer = strndup(h + 7, hl - 7)) == NULL)
        return -1;
    x->tev = evtimer_new(K.base, skt_timer_cb, k);
    if (x->tev == NULL)
        return -1;
    skt_arm(k, CFG_NUM(K.cfg, connect_timeout));
    return 0;
}

static int
skt_open_gw(struct eng *e, const struct hh_req *r)
{
    return skt_open(e, r, 0);
}

static int
skt_open_echo(struct eng *e, const struct hh_req *r)
{
    return skt_open(e, r, 1);
}

/* The session ends (its state goes with it: eng.h). */
static void
skt_close(struct eng *e, const char *reason)
{
    struct skt *k = eng_app_state(e);
    struct skt_ns *ns;

    (void)reason;
    while ((ns = skn_any(k)) != NULL)
        skn_free(k, ns, 1);
    skn_pending_clear(k);
    if (k->x) {
        if (k->x->tev)
            event_free(k->x->tev);
        free(k->x->bearer);
        free(k->x);
        k->x = NULL;
    }
}

static void
skt_connect_error(struct skt *k, const char *nsp, const char *msg,
    const char *code)
{
    WCTR_INC(sio_connect_errors);
    SKT_ENCODE(k, sio_encode_connect_error(out, cap, nsp, msg, code));
}

static void skt_connected(struct skt_ns *ns, enum csr_status cs,
    uint64_t off);
static void skt_recover(struct skt_ns *ns, json_t *auth, int phase);
static void skt_admit(struct skt_ns *ns, json_t *auth, const char *tok);


/* CONNECT to a namespace: authenticate (gateway) and answer 40/44. */
static void
skt_connect(struct skt *k, const struct sio_packet *pk)
{
    char nsp[SIO_NSP_MAX + 1];
    struct skt_ns *ns;
    const char *tok = NULL;
    int i = skn_nsp_index(pk->nsp, pk->nsp_len);

    snprintf(nsp, sizeof(nsp), "%.*s", (int)pk->nsp_len, pk->nsp);
    if (i < 0) {
        skt_connect_error(k, nsp, "Invalid namespace", NULL);
        return;
    }
    if (skn_find(k, pk->nsp, pk->nsp_len))
        return; /* already connected: nothing to do */
    if ((ns = skn_new(k, i)) == NULL) {
        eng_close(skn_eng(k), "out of memory");
        return;
    }
    if (!k->ns0.echo) {
        json_t *t = json_object_get(pk->json, "token");
        const char *bearer = k->x ? k->x->bearer : NULL;
        tok = json_is_string(t) ? json_string_value(t)
            : bearer ? bearer : "";
        size_t tl = json_is_string(t) ? json_string_length(t) : strlen(tok);
        ns->cl = cli_new(&skt_cli_ops, ns);
        if (ns->cl == NULL) {
            skn_free(k, ns, 0);
            eng_close(skn_eng(k), "out of memory");
            return;
        }
        enum tok_status st = tl == 0 && CFG_NUM(K.cfg, allow_anonymous)
            ? TOK_OK : cli_authenticate(ns->cl, tok, tl);
        if (tl == 0 && st == TOK_OK)
            cli_anonymous(ns->cl);
        if (st != TOK_OK) {
            skn_free(k, ns, 0);
            skt_connect_error(k, nsp, tok_status_message(st),
                tok_status_code(st));
            return;
        }
    }
    if (k->ns0.echo) {
        skt_connected(ns, CSR_NONE, 0);
        echo_sio_connected(skn_eng(k), pk, nsp);
        return;
    }
    skt_admit(ns, pk->json, tok);
}

/* The connect proxy's answer to a CONNECT: in (recovering the session if
 * the CONNECT asks to), or CONNECT_ERROR with the backend's code. */
static void
skt_admit_done(struct cli *cl, enum cpx_result res, const char *code,
    const char *msg, void *arg)
{
    struct skt_ns *ns = cli_proto(cl);
    struct skt *k = skn_of_ns(ns);
    char nsp[SIO_NSP_MAX + 1];

    if (res == CPX_ALLOW) {
        skt_recover(ns, arg, 0);
    } else {
        snprintf(nsp, sizeof(nsp), "%s", skn_name(ns));
        skn_free(k, ns, 0);
        skt_connect_error(k, nsp, msg, code);
    }
    json_decref(arg);
}

static void
skt_json_free(void *p)
{
    json_decref(p);
}

/* The connect proxy's context for ns (token borrowed). */
static struct cpx_ctx
skt_cpx_ctx(struct skt_ns *ns, const char *tok, const char *reason)
{
    struct eng *e = skn_eng(skn_of_ns(ns));

    return (struct cpx_ctx){tok, tok ? strlen(tok) : 0,
        eng_on_websocket(e) ? "websocket" : "polling", "socket.io",
        eng_peer(e), eng_origin(e), skn_name(ns), reason};
}

/* Ask the connect proxy (when on, for a user) before the namespace
 * connects; auth is the CONNECT payload (borrowed). */
static void
skt_admit(struct skt_ns *ns, json_t *auth, const char *tok)
{
    const char *code, *msg;
    struct cpx_ctx x = skt_cpx_ctx(ns, tok, json_is_string(
        json_object_get(auth, "pid")) ? "recover" : "connect");

    if (!cpx_on() || cli_user(ns->cl) == NULL) {
        skt_recover(ns, auth, 0);
        return;
    }
    enum cpx_result res = cpx_check(ns->cl, &x, skt_admit_done,
        json_incref(auth), skt_json_free, &code, &msg);
    if (res != CPX_PENDING)
        skt_admit_done(ns->cl, res, code, msg, auth);
}

/* Answer a CONNECT (the namespace connection is linked, authenticated):
 * 40 with the sid and, when recovery is on, the pid; a restored session
 * then gets what it missed after off, before anything live. */
static void
skt_connected(struct skt_ns *ns, enum csr_status cs, uint64_t off)
{
    struct skt *k = skn_of_ns(ns);
    struct skt_nsd *d;
    char sid[EIO_SID_LEN + 1], pid[EIO_SID_LEN + 1];
    const char *nsp = skn_name(ns);

    /* Connected: the connect timer is not needed again (a kick makes a
     * new one), so an idle session does not carry it. */
    if (k->x && k->x->tev) {
        event_free(k->x->tev);
        k->x->tev = NULL;
    }
    if (skn_ids(ns, sid, pid) == -1) {
        eng_close(skn_eng(k), "out of memory");
        return;
    }
    WCTR_INC(sio_connects);
    SKT_ENCODE(k, sio_encode_connect(out, cap, nsp, sid,
        pid[0] ? pid : NULL));
    ns->connected = 1;
    if ((d = skn_nsd(ns, 0)) != NULL && d->held) {
        /* e.g. token-expiring raised while authenticating */
        const char *ev = d->held, *js = d->held + strlen(d->held) + 1;
        SKT_ENCODE(k, sio_encode_event(out, cap, nsp, SIO_ACK_NONE, ev,
            js, strlen(js), NULL));
        free(d->held);
        d->held = NULL;
    }
    skn_x_trim(k);
    if (ns->cl == NULL)
        return;
    if (cs == CSR_OK) {
        int gone;
        (void)csr_replay(ns->cl, off, &gone);
        if (gone)
            return;
    }
    csr_store(ns->cl, &ns->csr, sid, pid, nsp);
}

static void skt_recover_resume(struct cli *cl, void *arg);
static void skt_fetch_poll(struct cli *cl, void *arg);

/* A recovery waiting (for the log reader or for a fetch from Redis): the
 * CONNECT's auth, what was waited for already, and since when. */
struct skt_rwait {
    json_t *auth;
    int phase;
    int64_t since;
};

static void
skt_rwait_free(void *p)
{
    struct skt_rwait *w = p;

    json_decref(w->auth);
    free(w);
}

/* Recover the session named in the CONNECT payload auth, or start a
 * fresh one. phase: what was waited for already (CSR_PH_*). */
static void
skt_recover(struct skt_ns *ns, json_t *auth, int phase)
{
    uint64_t off = 0;
    char sid[EIO_SID_LEN + 1], pid[EIO_SID_LEN + 1];
    enum csr_status cs = csr_restore(ns->cl, skn_name(ns), auth,
        &ns->csr, sid, pid, &off, phase);

    if (cs == CSR_WAIT || cs == CSR_FETCH) {
        /* This worker has not read what the client has seen, or the
         * session is on its way from Redis: answer once it is here (the
         * namespace stays unconnected meanwhile). */
        struct skt_rwait *w = malloc(sizeof(*w));
        if (w) {
            *w = (struct skt_rwait){auth, phase, wsg_mono_ms()};
            json_incref(auth);
            if ((cs == CSR_WAIT ? cli_wait(ns->cl, off, skt_recover_resume,
                     w, skt_rwait_free)
                    : cli_wait_ms(ns->cl, SKT_FETCH_POLL_MS, skt_fetch_poll,
                          w, skt_rwait_free)) == 0)
                return;
            skt_rwait_free(w);
        }
        cs = CSR_NONE;
    }
    if (cs == CSR_OK) {
        /* The restored ids are not its tag's: keep them. */
        struct skt_nsd *d = skn_nsd(ns, 1);
        if (d == NULL || (d->rid = malloc(2 * (EIO_SID_LEN + 1))) == NULL) {
            eng_close(skn_eng(skn_of_ns(ns)), "out of memory");
            return;
        }
        memcpy(d->rid, sid, EIO_SID_LEN + 1);
        memcpy(d->rid + EIO_SID_LEN + 1, pid, EIO_SID_LEN + 1);
        ns->recovered = 1;
    }
    skt_connected(ns, cs, off);
}

static void
skt_recover_resume(struct cli *cl, void *arg)
{
    struct skt_rwait *w = arg;

    skt_recover(cli_proto(cl), w->auth, w->phase | CSR_PH_READER);
    skt_rwait_free(w);
}

/* Has the master brought the session from Redis yet? Look every few ms,
 * for SKT_FETCH_MAX_MS at most (the master answers even when Redis is
 * down, so the limit is for a master that stopped answering). */
static void
skt_fetch_poll(struct cli *cl, void *arg)
{
    struct skt_rwait *w = arg;

    if (!csr_fetched(w->auth)
        && wsg_mono_ms() - w->since < SKT_FETCH_MAX_MS
        && cli_wait_ms(cl, SKT_FETCH_POLL_MS, skt_fetch_poll, w,
               skt_rwait_free) == 0)
        return;
    skt_recover(cli_proto(cl), w->auth, w->phase | CSR_PH_FETCHED);
    skt_rwait_free(w);
}

static void
skt_dispatch(struct skt *k, struct sio_packet *pk)
{
    struct skt_ns *ns = skn_find(k, pk->nsp, pk->nsp_len);

    switch (pk->type) {
    case SIO_CONNECT:
        skt_connect(k, pk);
        break;
    case SIO_DISCONNECT:
        if (ns)
            skn_free(k, ns, 0);
        break;
    case SIO_EVENT:
    case SIO_BINARY_EVENT:
        if (ns == NULL || !ns->connected)
            break; /* not connected to it: ignored, like the reference */
        if (k->ns0.echo)
            echo_sio_event(skn_eng(k), skn_name(ns), pk,
                k->x ? k->x->bins : NULL, k->x ? k->x->nbins : 0);
        else
            sge_event(ns->cl, pk);
        break;
    case SIO_ACK:
    case SIO_BINARY_ACK:
        break; /* the gateway asks no acks of clients */
    default:
        eng_close(skn_eng(k), "parse error");
        break;
    }
}

/* The session sends faster than client_message_rate: every namespace it
 * joined gets an "error" event with code RATE_LIMITED, then a DISCONNECT
 * (the client sees "io server disconnect"), and the session ends after
 * the kick grace; one that joined none ends at once. */
static void
skt_rate_kick(struct skt *k)
{
    static const char js[] = "{\"code\":\"RATE_LIMITED\",\"message\":"
        "\"messages sent faster than client_message_rate\"}";
    char nsp[SIO_NSP_MAX + 1];
    struct skt_ns *ns;

    lmt_msg_closed();
    if (skn_any(k) == NULL) {
        eng_close(skn_eng(k), "RATE_LIMITED: messages faster than "
            "client_message_rate");
        return;
    }
    k->ns0.rate_kicked = 1;
    while ((ns = skn_any(k)) != NULL) {
        snprintf(nsp, sizeof(nsp), "%s", skn_name(ns));
        if (ns->connected)
            SKT_ENCODE(k, sio_encode_event(out, cap, nsp, SIO_ACK_NONE,
                "error", js, sizeof(js) - 1, NULL));
        skn_free(k, ns, 0);
        SKT_ENCODE(k, sio_encode_disconnect(out, cap, nsp));
    }
    skt_arm(k, SKT_KICK_GRACE_MS);
}

/* One attachment of the binary packet pending in x: kept; when it is the
 * last, the packet is dispatched. */
static void
skt_attachment(struct skt *k, const unsigned char *p, size_t n)
{
    struct eng *e = skn_eng(k);
    struct skt_x *x = k->x;
    struct iovec *nb;
    struct sio_packet pk;
    char sid[EIO_SID_LEN + 1];

    if (x == NULL || x->pend_text == NULL) {
        eng_close(e, "parse error");
        return;
    }
    nb = realloc(x->bins, (x->nbins + 1) * sizeof(*nb));
    if (nb == NULL) {
        eng_close(e, "out of memory");
        return;
    }
    x->bins = nb;
    nb[x->nbins].iov_base = malloc(n ? n : 1);
    if (nb[x->nbins].iov_base == NULL) {
        eng_close(e, "out of memory");
        return;
    }
    memcpy(nb[x->nbins].iov_base, p, n);
    nb[x->nbins++].iov_len = n;
    if (x->nbins < x->pend_need)
        return;
    /* All attachments are here: parse the kept text again. */
    eng_sid(e, sid);
    if (sio_parse(x->pend_text, x->pend_len, &pk, 0) == SIO_OK) {
        skt_dispatch(k, &pk);
        sio_packet_clear(&pk);
    }
    /* The dispatch may have ended the session (and freed k). */
    if (eng_by_sid(sid) == e)
        skn_pending_clear(k);
}

static void
skt_message(struct eng *e, int binary, const unsigned char *p, size_t n)
{
    struct skt *k = eng_app_state(e);
    struct skt_x *x;
    struct sio_packet pk;

    if (k->ns0.rate_kicked)
        return;
    /* A packet's binary attachments are part of it: not counted again. */
    if (!binary && !lmt_msg_take(&k->rl_tok, &k->rl_at)) {
        skt_rate_kick(k);
        return;
    }
    WCTR_INC(sio_packets_in);
    if (binary) {
        skt_attachment(k, p, n);
        return;
    }
    if ((k->x && k->x->pend_text)
        || sio_parse((const char *)p, n, &pk, 0) != SIO_OK) {
        WCTR_INC(sio_bad_packets);
        eng_close(e, "parse error");
        return;
    }
    if (pk.nattach > 0) {
        size_t need = pk.nattach;
        sio_packet_clear(&pk);
        if ((x = skn_x(k)) == NULL || (x->pend_text = malloc(n)) == NULL) {
            skn_x_trim(k);
            eng_close(e, "out of memory");
            return;
        }
        memcpy(x->pend_text, p, n);
        x->pend_len = n;
        x->pend_need = need;
        return;
    }
    skt_dispatch(k, &pk);
    sio_packet_clear(&pk);
}

static int
skt_notify(struct cli *cl, const char *event, const char *json)
{
    struct skt_ns *ns = cli_proto(cl);
    struct skt *k = skn_of_ns(ns);

    if (!ns->connected) {
        /* Not before the CONNECT reply: hold it until 40 is sent. */
        size_t el = strlen(event), jl = strlen(json);
        struct skt_nsd *d = skn_nsd(ns, 1);
        if (d == NULL)
            return 0;
        free(d->held);
        d->held = malloc(el + jl + 2);
        if (d->held) {
            memcpy(d->held, event, el + 1);
            memcpy(d->held + el + 1, json, jl + 1);
        }
        skn_x_trim(k);
        return 0;
    }
    SKT_ENCODE(k, sio_encode_event(out, cap, skn_name(ns), SIO_ACK_NONE,
        event, json, strlen(json), NULL));
    return 0;
}

/* A forced disconnect: DISCONNECT for the namespace (the client sees
 * "io server disconnect"), then the session ends once nothing is left. */
static void
skt_kick(struct cli *cl, unsigned code, const char *reason)
{
    struct skt_ns *ns = cli_proto(cl);
    struct skt *k = skn_of_ns(ns);
    char nsp[SIO_NSP_MAX + 1];

    (void)reason;
    if (code == CLI_CLOSE_RECOVER) {
        /* The worker lost log entries: end the transport without a
         * DISCONNECT, so the client reconnects by itself and recovers
         * what the log still holds (skt_close keeps its state). */
        eng_close(skn_eng(k), "recover");
        return;
    }
    snprintf(nsp, sizeof(nsp), "%s", skn_name(ns));
    skn_free(k, ns, 0);
    SKT_ENCODE(k, sio_encode_disconnect(out, cap, nsp));
    if (skn_any(k) == NULL)
        skt_arm(k, SKT_KICK_GRACE_MS);
}

static const char *
skt_nsp(const struct cli *cl)
{
    const struct skt_ns *ns = cli_proto(cl);

    return skn_name(ns);
}

static const struct eng_app skt_app = {
    .name = "socket.io",
    .state_size = sizeof(struct skt),
    .on_open = skt_open_gw,
    .on_message = skt_message,
    .on_close = skt_close,
};

static const struct eng_app skt_echo_app = {
    .name = "socket.io-echo",
    .state_size = sizeof(struct skt),
    .on_open = skt_open_echo,
    .on_message = skt_message,
    .on_close = skt_close,
};

static void
skt_route(struct conn *c, const struct hh_req *r)
{
    eng_request(c, r, r->head_len, CFG_NUM(K.cfg, echo_app)
        ? &skt_echo_app : &skt_app);
}

/* sge_ops: what the client events need of the session. */
static void
skt_sge_send(struct cli *cl, const char *p, size_t n)
{
    struct skt_ns *ns = cli_proto(cl);

    skt_send(skn_of_ns(ns), p, n);
}

static void
skt_sge_store(struct cli *cl)
{
    struct skt_ns *ns = cli_proto(cl);
    char sid[EIO_SID_LEN + 1], pid[EIO_SID_LEN + 1];

    if (skn_ids(ns, sid, pid) == 0)
        csr_store(cl, &ns->csr, sid, pid, skn_name(ns));
}

/* The socket id, in a buffer the next call reuses (sge reads it at
 * once). */
static const char *
skt_sge_sid(struct cli *cl)
{
    static char sid[EIO_SID_LEN + 1];
    char pid[EIO_SID_LEN + 1];

    if (skn_ids(cli_proto(cl), sid, pid) == -1)
        sid[0] = '\0';
    return sid;
}

static struct cpx_ctx
skt_sge_ctx(struct cli *cl, const char *tok, const char *reason)
{
    return skt_cpx_ctx(cli_proto(cl), tok, reason);
}

static void
skt_sge_close(struct cli *cl, const char *reason)
{
    struct skt_ns *ns = cli_proto(cl);

    eng_close(skn_eng(skn_of_ns(ns)), reason);
}
