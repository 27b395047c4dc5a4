/*
 * Engine.IO over WebSocket (see ews.h): the open of a session on a
 * WebSocket or of an upgrade probe, the probe's 2probe/3probe and the
 * client's 5, the switch of the transport with what polling had queued,
 * and the session's packets over the WebSocket.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "common/config.h"
#include "common/eio.h"
#include "common/hh.h"
#include "common/wsf.h"
#include "worker/conn.h"
#include "worker/eng.h"
#include "worker/engi.h"
#include "worker/ews.h"
#include "worker/ws.h"
#include "worker/wctr.h"

/* WebSocket transport: a new session, or the probe of an upgrade. */
static int
ews_open(struct conn *c, const struct hh_req *r)
{
    size_t sl = 0, olen = 0;
    const char *sid = hh_query_param(r, "sid", &sl);
    const char *origin = hh_header(r, "Origin", &olen);
    struct eng *s;
    char open[256], sb[EIO_SID_LEN + 1];
    size_t n;

    if (sid) {
        s = eng_find_live(sid, sl);
        /* a polling session has its side state (eng_new) */
        if (s == NULL || !s->polling || s->x == NULL || s->x->probe) {
            ws_close(c, WSF_CLOSE_POLICY, "unknown or busy session");
            return 0;
        }
        s->x->probe = c;
        conn_event_quiet(c); /* the session's own events cover it */
        ws_set_app_state(c, s);
        return 0;
    }
    s = eng_new(eng_pending_app(), 0, origin, olen);
    if (s == NULL) {
        ws_close(c, WSF_CLOSE_INTERNAL, "cannot create a session");
        return 0;
    }
    s->ws = c;
    ws_set_app_state(c, s);
    n = eio_open_json(open + 1, sizeof(open) - 1, eng_sid(s, sb), 0,
        (long)CFG_NUM(eng_cfg(), ping_interval), (long)CFG_NUM(eng_cfg(),
            ping_timeout), (long)CFG_NUM(eng_cfg(), max_payload));
    open[0] = '0';
    ws_send(c, WSF_OP_TEXT, open, n + 1);
    if (eng_app_of(s)->on_open(s, r) == -1)
        eng_close(s, "refused");
    return 0;
}

static void
ews_on_open(struct conn *c, const struct hh_req *r)
{
    (void)ews_open(c, r);
}

/* The upgrade completes: the WebSocket becomes the transport, and what
 * was queued for polling goes over it. */
static void
ews_upgrade(struct eng *s)
{
    struct eng_side *x = s->x;
    struct eio_packet pk;
    size_t off = 0, n;
    const char *p;

    s->ws = x->probe;
    x->probe = NULL;
    s->polling = 0;
    WCTR_DEC(eio_polling);
    s->upgraded = 1;
    s->probed = 0;
    WCTR_INC(eio_upgrades);
    if (x->poll) {
        /* Held during the probe: the client sent it after 5 (see
         * eng_probe_poll). Polling ended with the upgrade; what was queued
         * goes over the WebSocket below. */
        struct conn *c = x->poll;
        x->poll = NULL;
        eng_poll_refuse(c);
    }
    n = x->pq ? evbuffer_get_length(x->pq) : 0;
    p = n ? (const char *)evbuffer_pullup(x->pq, -1) : NULL;
    while (n && eio_payload_next(p, n, &off, &pk) == EIO_OK) {
        if (pk.is_binary) {
            unsigned char *b = malloc(pk.len + 1);
            size_t bl;
            if (b && eio_b64_decode(pk.data, pk.len, b, pk.len + 1, &bl)
                    == EIO_OK)
                ws_send(s->ws, WSF_OP_BINARY, b, bl);
            free(b);
        } else {
            char *t = malloc(pk.len + 1);
            if (t) {
                t[0] = (char)('0' + pk.type);
                memcpy(t + 1, pk.data, pk.len);
                ws_send(s->ws, WSF_OP_TEXT, t, pk.len + 1);
                free(t);
            }
        }
    }
    if (x->pq)
        evbuffer_drain(x->pq, evbuffer_get_length(x->pq));
    /* On the WebSocket now: no side state unless the Origin or the
     * limits' key needs it. */
    eng_side_trim(s);
}

static int
ews_message(struct conn *c, int binary, const unsigned char *p, size_t n)
{
    struct eng *s = ws_app_state(c);
    struct eio_packet pk;

    if (s == NULL)
        return 0;
    if (s->x && c == s->x->probe) {
        /* Before the upgrade only the probe ping and the upgrade packet
         * are meaningful here (Engine.IO v4 "upgrade"). */
        if (!binary && n == 6 && memcmp(p, "2probe", 6) == 0) {
            ws_send(c, WSF_OP_TEXT, "3probe", 6);
            s->probed = 1;
            eng_probe_poll(s); /* the pending poll gets a noop, soon */
        } else if (!binary && n == 1 && p[0] == '5' && s->probed) {
            ews_upgrade(s);
        } else {
            /* A bad probe ends the probe, not the polling session. */
            s->x->probe = NULL;
            ws_set_app_state(c, NULL);
            ws_close(c, WSF_CLOSE_PROTOCOL, "bad upgrade");
        }
        return 0;
    }
    if (binary) {
        eng_on_packet(s, EIO_MESSAGE, 1, p, n);
        return 0;
    }
    if (eio_parse_text((const char *)p, n, &pk) != EIO_OK) {
        eng_close(s, "parse error");
        return 0;
    }
    eng_on_packet(s, pk.type, 0, (const unsigned char *)pk.data, pk.len);
    return 0;
}

static void
ews_close(struct conn *c)
{
    struct eng *s = ws_app_state(c);

    if (s == NULL)
        return;
    ws_set_app_state(c, NULL);
    if (s->x && c == s->x->probe) {
        s->x->probe = NULL;
        s->probed = 0;
        return;
    }
    if (c == s->ws) {
        /* its count in the limits may be named by c's address */
        eng_limit_release(s);
        s->ws = NULL;
        eng_close(s, "transport close");
    }
}

static const struct ws_app ews_app = {
    .name = "engine.io",
    .on_open = ews_on_open,
    .on_message = ews_message,
    .on_close = ews_close,
    .own_heartbeat = 1,
};

void
ews_init(void)
{
    eng_set_ws_app(&ews_app);
}
