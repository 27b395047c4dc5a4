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
#include <sys/random.h>
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
#include "worker/ws.h"
#include "worker/wctr.h"

#define SKT_KICK_GRACE_MS 2000 /* polling: time for the DISCONNECT to go */
#define SKT_FETCH_POLL_MS 5    /* cluster: looks for a session from Redis */
#define SKT_FETCH_MAX_MS 2000  /* ... for at most this long */

struct skt;

struct skt_ns {
    struct skt_ns *next;
    struct skt *k;
    struct cli *cl;           /* NULL for the echo app */
    int connected;            /* 40 sent */
    char *held;               /* a notice raised before 40 ("event\0json") */
    struct csr_id csr;        /* recovery identity (pid "" when off) */
    char sid[EIO_SID_LEN + 1];
    char nsp[];
};

struct skt {
    struct eng *e;
    struct skt_ns *ns;
    char *bearer;             /* Authorization header token, if any */
    struct event *tev;        /* connect_timeout, then kick grace */
    uint8_t echo;
    uint8_t rate_kicked;      /* disconnected for client_message_rate */
    uint32_t rl_tok, rl_at;   /* client_message_rate bucket (lmt.h) */
    /* a binary packet waiting for its attachments: its text is kept
     * (the parsed packet only borrows the frame it came in) */
    char *pend_text;
    size_t pend_len, pend_need;
    struct iovec *bins;       /* received attachments, in order */
    size_t nbins;
};

static struct {
    struct event_base *base;
    const struct cfg *cfg;
} K;

static int skt_event(struct cli *cl, struct fan_msg *m, const char *room,
    size_t rlen);
static int skt_notify(struct cli *cl, const char *event, const char *json);
static void skt_kick(struct cli *cl, unsigned code, const char *reason);
static const char *skt_nsp(const struct cli *cl);

static int skt_batch(struct cli *cl, struct fan_block *b);
static void skt_route(struct conn *c, const struct hh_req *r);
static int skt_batch_append(struct ws_batch *b, const struct fan_msg *m,
    const char *room, size_t rlen);

static const struct cli_ops skt_cli_ops = {
    .event = skt_event,
    .batch = skt_batch,
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
    http_route_add("/socket.io/", skt_route);
    fan_set_sio_append(skt_batch_append);
}

/* Send a Socket.IO packet text p[0..n) as one Engine.IO message. */
static int
skt_send(struct skt *k, const char *p, size_t n)
{
    WCTR_INC(sio_packets_out);
    return eng_send(k->e, 0, p, n);
}

/* Encode with an encoder-convention function and send (common/sio.h). */
#define SKT_ENCODE(k, call_with_buf) \
    SIO_ENCODE_HEAP(call_with_buf, skt_send((k), out, len))

static struct skt_ns *
skt_ns_find(struct skt *k, const char *nsp, size_t n)
{
    for (struct skt_ns *s = k->ns; s; s = s->next)
        if (strlen(s->nsp) == n && memcmp(s->nsp, nsp, n) == 0)
            return s;
    return NULL;
}

/* End namespace connection ns: its recoverable state is kept (hold: the
 * transport went away) or forgotten (the client left, it was kicked). */
static void
skt_ns_free(struct skt *k, struct skt_ns *ns, int hold)
{
    for (struct skt_ns **pp = &k->ns; *pp; pp = &(*pp)->next)
        if (*pp == ns) {
            *pp = ns->next;
            break;
        }
    if (ns->connected)
        csr_end(&ns->csr, hold);
    cli_free(ns->cl);
    free(ns->held);
    free(ns);
}

/* Is nsp one this server offers? "/" always; others from namespaces (or
 * the echo app's, ECHO_SIO_NAMESPACES). */
static int
skt_nsp_known(const struct skt *k, const char *nsp, size_t n)
{
    const char *list = k->echo ? ECHO_SIO_NAMESPACES
        : CFG_STR(K.cfg, namespaces);
    const char *p = list;

    if (n == 1 && nsp[0] == '/')
        return 1;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        while (l && *p == ' ') {
            p++;
            l--;
        }
        while (l && p[l - 1] == ' ')
            l--;
        if (l == n && memcmp(p, nsp, n) == 0)
            return 1;
        if (e == NULL)
            break;
        p = e + 1;
    }
    return 0;
}

static void
skt_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct skt *k = arg;

    (void)fd;
    (void)what;
    if (k->rate_kicked) {
        eng_close(k->e, "RATE_LIMITED: messages faster than "
            "client_message_rate");
        return;
    }
    if (k->ns == NULL)
        WCTR_INC(sio_connect_timeouts);
    eng_close(k->e, k->ns ? "server disconnect" : "connect timeout");
}

static void
skt_arm(struct skt *k, int64_t ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    if (k->tev == NULL)
        k->tev = evtimer_new(K.base, skt_timer_cb, k);
    if (k->tev)
        evtimer_add(k->tev, &tv);
}

static int
skt_open(struct eng *e, const struct hh_req *r, int echo)
{
    struct skt *k = calloc(1, sizeof(*k));
    size_t hl;
    const char *h = hh_header(r, "Authorization", &hl);

    if (k == NULL)
        return -1;
    k->e = e;
    k->echo = echo;
    lmt_msg_init(&k->rl_tok, &k->rl_at);
    if (h && hl > 7 && strncasecmp(h, "Bearer ", 7) == 0)
        k->bearer = strndup(h + 7, hl - 7);
    k->tev = evtimer_new(K.base, skt_timer_cb, k);
    if (k->tev == NULL) {
        free(k->bearer);
        free(k);
        return -1;
    }
    eng_set_app_state(e, k);
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

static void
skt_pending_clear(struct skt *k)
{
    for (size_t i = 0; i < k->nbins; i++)
        free(k->bins[i].iov_base);
    free(k->bins);
    free(k->pend_text);
    k->bins = NULL;
    k->nbins = 0;
    k->pend_text = NULL;
    k->pend_need = 0;
}

static void
skt_close(struct eng *e, const char *reason)
{
    struct skt *k = eng_app_state(e);

    (void)reason;
    if (k == NULL)
        return;
    while (k->ns)
        skt_ns_free(k, k->ns, 1);
    skt_pending_clear(k);
    if (k->tev)
        event_free(k->tev);
    free(k->bearer);
    free(k);
    eng_set_app_state(e, NULL);
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
    unsigned char rnd[EIO_SID_RANDOM];
    const char *tok = NULL;

    snprintf(nsp, sizeof(nsp), "%.*s", (int)pk->nsp_len, pk->nsp);
    if (!skt_nsp_known(k, pk->nsp, pk->nsp_len)) {
        skt_connect_error(k, nsp, "Invalid namespace", NULL);
        return;
    }
    if (skt_ns_find(k, pk->nsp, pk->nsp_len))
        return; /* already connected: nothing to do */
    ns = calloc(1, sizeof(*ns) + pk->nsp_len + 1);
    if (ns == NULL || getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        free(ns);
        eng_close(k->e, "out of memory");
        return;
    }
    memcpy(ns->nsp, pk->nsp, pk->nsp_len);
    ns->k = k;
    eio_sid_new(ns->sid, 0, rnd);
    if (!k->echo) {
        json_t *t = json_object_get(pk->json, "token");
        tok = json_is_string(t) ? json_string_value(t)
            : k->bearer ? k->bearer : "";
        size_t tl = json_is_string(t) ? json_string_length(t) : strlen(tok);
        ns->cl = cli_new(&skt_cli_ops, ns);
        if (ns->cl == NULL) {
            free(ns);
            eng_close(k->e, "out of memory");
            return;
        }
        enum tok_status st = tl == 0 && CFG_NUM(K.cfg, allow_anonymous)
            ? TOK_OK : cli_authenticate(ns->cl, tok, tl);
        if (tl == 0 && st == TOK_OK)
            cli_anonymous(ns->cl);
        if (st != TOK_OK) {
            cli_free(ns->cl);
            free(ns->held);
            free(ns);
            skt_connect_error(k, nsp, tok_status_message(st),
                tok_status_code(st));
            return;
        }
    }
    ns->next = k->ns;
    k->ns = ns;
    if (k->echo) {
        skt_connected(ns, CSR_NONE, 0);
        echo_sio_connected(k->e, pk, nsp);
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
    struct skt *k = ns->k;
    char nsp[SIO_NSP_MAX + 1];

    if (res == CPX_ALLOW) {
        skt_recover(ns, arg, 0);
    } else {
        snprintf(nsp, sizeof(nsp), "%s", ns->nsp);
        skt_ns_free(k, ns, 0);
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
    return (struct cpx_ctx){tok, tok ? strlen(tok) : 0,
        eng_on_websocket(ns->k->e) ? "websocket" : "polling", "socket.io",
        eng_peer(ns->k->e), eng_origin(ns->k->e), ns->nsp, reason};
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
    struct skt *k = ns->k;

    /* Connected: the connect timer is not needed again (a kick makes a
     * new one), so an idle session does not carry it. */
    if (k->tev) {
        event_free(k->tev);
        k->tev = NULL;
    }
    if (cs != CSR_OK && ns->cl)
        csr_fresh(&ns->csr);
    WCTR_INC(sio_connects);
    SKT_ENCODE(k, sio_encode_connect(out, cap, ns->nsp, ns->sid,
        ns->csr.pid[0] ? ns->csr.pid : NULL));
    ns->connected = 1;
    if (ns->held) {
        /* e.g. token-expiring raised while authenticating */
        const char *ev = ns->held, *js = ns->held + strlen(ns->held) + 1;
        SKT_ENCODE(k, sio_encode_event(out, cap, ns->nsp, SIO_ACK_NONE, ev,
            js, strlen(js), NULL));
        free(ns->held);
        ns->held = NULL;
    }
    if (ns->cl == NULL)
        return;
    if (cs == CSR_OK) {
        int gone;
        (void)csr_replay(ns->cl, off, &gone);
        if (gone)
            return;
    }
    csr_store(ns->cl, &ns->csr, ns->sid, ns->nsp);
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
    enum csr_status cs = csr_restore(ns->cl, ns->nsp, auth, &ns->csr,
        ns->sid, &off, phase);

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
    struct skt_ns *ns = skt_ns_find(k, pk->nsp, pk->nsp_len);

    switch (pk->type) {
    case SIO_CONNECT:
        skt_connect(k, pk);
        break;
    case SIO_DISCONNECT:
        if (ns)
            skt_ns_free(k, ns, 0);
        break;
    case SIO_EVENT:
    case SIO_BINARY_EVENT:
        if (ns == NULL || !ns->connected)
            break; /* not connected to it: ignored, like the reference */
        if (k->echo)
            echo_sio_event(k->e, ns->nsp, pk, k->bins, k->nbins);
        else
            sge_event(ns->cl, pk);
        break;
    case SIO_ACK:
    case SIO_BINARY_ACK:
        break; /* the gateway asks no acks of clients */
    default:
        eng_close(k->e, "parse error");
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

    lmt_msg_closed();
    if (k->ns == NULL) {
        eng_close(k->e, "RATE_LIMITED: messages faster than "
            "client_message_rate");
        return;
    }
    k->rate_kicked = 1;
    while (k->ns) {
        struct skt_ns *ns = k->ns;
        snprintf(nsp, sizeof(nsp), "%s", ns->nsp);
        if (ns->connected)
            SKT_ENCODE(k, sio_encode_event(out, cap, nsp, SIO_ACK_NONE,
                "error", js, sizeof(js) - 1, NULL));
        skt_ns_free(k, ns, 0);
        SKT_ENCODE(k, sio_encode_disconnect(out, cap, nsp));
    }
    skt_arm(k, SKT_KICK_GRACE_MS);
}

static void
skt_message(struct eng *e, int binary, const unsigned char *p, size_t n)
{
    struct skt *k = eng_app_state(e);
    struct sio_packet pk;

    if (k == NULL || k->rate_kicked)
        return;
    /* A packet's binary attachments are part of it: not counted again. */
    if (!binary && !lmt_msg_take(&k->rl_tok, &k->rl_at)) {
        skt_rate_kick(k);
        return;
    }
    WCTR_INC(sio_packets_in);
    if (binary) {
        struct iovec *nb;
        if (k->pend_text == NULL) {
            eng_close(e, "parse error");
            return;
        }
        nb = realloc(k->bins, (k->nbins + 1) * sizeof(*nb));
        if (nb == NULL) {
            eng_close(e, "out of memory");
            return;
        }
        k->bins = nb;
        nb[k->nbins].iov_base = malloc(n ? n : 1);
        if (nb[k->nbins].iov_base == NULL) {
            eng_close(e, "out of memory");
            return;
        }
        memcpy(nb[k->nbins].iov_base, p, n);
        nb[k->nbins++].iov_len = n;
        if (k->nbins < k->pend_need)
            return;
        /* All attachments are here: parse the kept text again. */
        if (sio_parse(k->pend_text, k->pend_len, &pk, 0) == SIO_OK) {
            skt_dispatch(k, &pk);
            sio_packet_clear(&pk);
        }
        skt_pending_clear(k);
        return;
    }
    if (k->pend_text || sio_parse((const char *)p, n, &pk, 0) != SIO_OK) {
        WCTR_INC(sio_bad_packets);
        eng_close(e, "parse error");
        return;
    }
    if (pk.nattach > 0) {
        k->pend_text = malloc(n);
        if (k->pend_text == NULL) {
            sio_packet_clear(&pk);
            eng_close(e, "out of memory");
            return;
        }
        memcpy(k->pend_text, p, n);
        k->pend_len = n;
        k->pend_need = pk.nattach;
        sio_packet_clear(&pk);
        return;
    }
    skt_dispatch(k, &pk);
    sio_packet_clear(&pk);
}

/* m's Socket.IO event message (namespace /, the same for every room; an
 * emitter broadcast's in its own namespace, with its attachments),
 * appended to b (fan-out blocks). */
static int
skt_batch_append(struct ws_batch *b, const struct fan_msg *m,
    const char *room, size_t rlen)
{
    char nsp[MSG_NSP_MAX + 1] = "/";

    (void)room;
    (void)rlen;
    if (m->v.kind == MSG_EMIT)
        snprintf(nsp, sizeof(nsp), "%.*s", (int)m->v.nsp.n, m->v.nsp.p);
    return sev_append(b, m, nsp);
}

/* Published events, encoded once per message for namespace "/" and shared
 * by every recipient; other namespaces get their own encoding. An emitter
 * broadcast goes only to its own namespace, so its recipients share one
 * encoding whatever the namespace. */
static int
skt_event(struct cli *cl, struct fan_msg *m, const char *room, size_t rlen)
{
    struct skt_ns *ns = cli_proto(cl);
    struct ws_batch *b;
    int rc = 0;

    (void)room;
    (void)rlen;
    if (m->v.kind == MSG_EMIT && (strlen(ns->nsp) != m->v.nsp.n
            || memcmp(ns->nsp, m->v.nsp.p, m->v.nsp.n) != 0))
        return 0;
    if (strcmp(ns->nsp, "/") == 0 || m->v.kind == MSG_EMIT) {
        if (m->sio == NULL)
            m->sio = sev_frames(m, ns->nsp);
        return m->sio ? eng_send_batch(ns->k->e, m->sio) : 0;
    }
    if ((b = sev_frames(m, ns->nsp)) != NULL) {
        rc = eng_send_batch(ns->k->e, b);
        ws_batch_unref(b);
    }
    return rc;
}

/* A room block: namespace "/" takes the shared batch; another namespace
 * gets each message re-addressed ("42[" becomes "42/nsp,["). An emitter
 * broadcasts' block is encoded for its members' namespace already. */
static int
skt_batch(struct cli *cl, struct fan_block *b)
{
    struct skt_ns *ns = cli_proto(cl);
    size_t nl = strlen(ns->nsp);

    if (strcmp(ns->nsp, "/") == 0 || b->emit)
        return eng_send_batch(ns->k->e, b->sio);
    for (size_t i = 0; i < ws_batch_count(b->sio); i++) {
        size_t n;
        const unsigned char *p = ws_batch_msg(b->sio, i, &n);
        char *t = malloc(n + nl + 1);
        if (t == NULL || n < 3)
            return free(t), -1;
        memcpy(t, p + 1, 1);            /* "2" */
        memcpy(t + 1, ns->nsp, nl);
        t[1 + nl] = ',';
        memcpy(t + 2 + nl, p + 2, n - 2);
        eng_send(ns->k->e, 0, t, n + nl - 1 + 1);
        free(t);
    }
    return 0;
}

static int
skt_notify(struct cli *cl, const char *event, const char *json)
{
    struct skt_ns *ns = cli_proto(cl);
    struct skt *k = ns->k;

    if (!ns->connected) {
        /* Not before the CONNECT reply: hold it until 40 is sent. */
        size_t el = strlen(event), jl = strlen(json);
        free(ns->held);
        ns->held = malloc(el + jl + 2);
        if (ns->held) {
            memcpy(ns->held, event, el + 1);
            memcpy(ns->held + el + 1, json, jl + 1);
        }
        return 0;
    }
    SKT_ENCODE(k, sio_encode_event(out, cap, ns->nsp, SIO_ACK_NONE, event,
        json, strlen(json), NULL));
    return 0;
}

/* A forced disconnect: DISCONNECT for the namespace (the client sees
 * "io server disconnect"), then the session ends once nothing is left. */
static void
skt_kick(struct cli *cl, unsigned code, const char *reason)
{
    struct skt_ns *ns = cli_proto(cl);
    struct skt *k = ns->k;
    char nsp[SIO_NSP_MAX + 1];

    (void)reason;
    if (code == CLI_CLOSE_RECOVER) {
        /* The worker lost log entries: end the transport without a
         * DISCONNECT, so the client reconnects by itself and recovers
         * what the log still holds (skt_close keeps its state). */
        eng_close(k->e, "recover");
        return;
    }
    snprintf(nsp, sizeof(nsp), "%s", ns->nsp);
    skt_ns_free(k, ns, 0);
    SKT_ENCODE(k, sio_encode_disconnect(out, cap, nsp));
    if (k->ns == NULL)
        skt_arm(k, SKT_KICK_GRACE_MS);
}

static const char *
skt_nsp(const struct cli *cl)
{
    const struct skt_ns *ns = cli_proto(cl);

    return ns->nsp;
}

static const struct eng_app skt_app = {
    .name = "socket.io",
    .on_open = skt_open_gw,
    .on_message = skt_message,
    .on_close = skt_close,
};

static const struct eng_app skt_echo_app = {
    .name = "socket.io-echo",
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

    skt_send(ns->k, p, n);
}

static void
skt_sge_store(struct cli *cl)
{
    struct skt_ns *ns = cli_proto(cl);

    csr_store(cl, &ns->csr, ns->sid, ns->nsp);
}

static const char *
skt_sge_sid(struct cli *cl)
{
    const struct skt_ns *ns = cli_proto(cl);

    return ns->sid;
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

    eng_close(ns->k->e, reason);
}
