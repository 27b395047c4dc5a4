/*
 * The echo applications. /echo: every data message goes back verbatim,
 * text as text and binary as binary, framed once as a shared batch of one
 * (the same path fan-out uses). /engine.io/: every message packet goes
 * back unchanged. Socket.IO (skt.c's sessions in echo_app mode): message
 * -> message-back, message-with-ack -> ack, and the deferred "auth" event
 * after CONNECT. Off by default; documented as test endpoints.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/uio.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/config.h"
#include "common/eio.h"
#include "common/hh.h"
#include "common/sio.h"
#include "common/wsf.h"
#include "worker/echo.h"
#include "worker/eng.h"
#include "worker/http.h"
#include "worker/ws.h"
#include "worker/wctr.h"

#define ECHO_LATER_MS 5         /* see echo_later */

/* A packet sent in the loop iteration after the current one, so that it
 * leaves in its own write (see echo_later). */
struct echo_later {
    struct echo_later *next;
    char sid[EIO_SID_LEN + 1];
    size_t n;
    char p[];
};

/* Send on e the packet an encoder-convention call (common/sio.h) makes
 * with out and cap: asked for its size, then encoded into a heap buffer. */
#define ECHO_ENCODE(e, call_with_buf)                                         \
    do {                                                                      \
        char *out = NULL;                                                     \
        size_t cap = 0, len = call_with_buf;                                  \
        if (len == 0)                                                         \
            break;                                                            \
        cap = len + 1;                                                        \
        if ((out = malloc(cap)) != NULL && (len = call_with_buf) < cap)       \
            echo_sio_send((e), out, len);                                     \
        free(out);                                                            \
    } while (0)

static int echo_on_message(struct conn *c, int binary,
    const unsigned char *p, size_t n);
static void echo_route(struct conn *c, const struct hh_req *r);
static int echo_raw_open(struct eng *e, const struct hh_req *r);
static void echo_raw_message(struct eng *e, int binary,
    const unsigned char *p, size_t n);
static void echo_route_raw(struct conn *c, const struct hh_req *r);
static int echo_sio_send(struct eng *e, const char *p, size_t n);
static void echo_later(struct eng *e, const char *p, size_t n);
static void echo_later_cb(evutil_socket_t fd, short what, void *arg);

static const struct ws_app echo_ws_app = {
    .name = "echo",
    .on_message = echo_on_message,
};

static const struct eng_app echo_raw_app = {
    .name = "engine.io-echo",
    .on_open = echo_raw_open,
    .on_message = echo_raw_message,
};

static struct {
    struct event_base *base;
    struct echo_later *later, **later_tail;
    struct event *later_ev;
} EC;

void
echo_init(struct event_base *base, const struct cfg *c)
{
    EC.base = base;
    EC.later_tail = &EC.later;
    if (CFG_NUM(c, echo_app)) {
        http_route_add("/engine.io/", echo_route_raw);
        http_route_add("/echo", echo_route);
    }
}

void
echo_sio_connected(struct eng *e, const struct sio_packet *pk,
    const char *nsp)
{
    /* The test suites expect ["auth", <CONNECT payload or {}>]. */
    char *a = pk->json ? json_dumps(pk->json, JSON_COMPACT) : NULL;
    char buf[1024];
    size_t n = sio_encode_event(buf, sizeof(buf), nsp, SIO_ACK_NONE,
        "auth", a ? a : "{}", a ? strlen(a) : 2, NULL);

    if (n > 0 && n < sizeof(buf) && eng_on_websocket(e))
        echo_later(e, buf, n);
    else
        ECHO_ENCODE(e, sio_encode_event(out, cap, nsp, SIO_ACK_NONE,
            "auth", a ? a : "{}", a ? strlen(a) : 2, NULL));
    free(a);
}

void
echo_sio_event(struct eng *e, const char *nsp, const struct sio_packet *pk,
    const struct iovec *att, size_t natt)
{
    const char *name = json_string_value(json_array_get(pk->json, 0));
    json_t *args = json_array();
    size_t i;
    json_t *v;
    char *s;

    json_array_foreach(pk->json, i, v)
        if (i > 0)
            json_array_append(args, v);
    if (strcmp(name, "message") == 0) {
        json_array_insert_new(args, 0, json_string("message-back"));
        s = json_dumps(args, JSON_COMPACT);
        if (s)
            ECHO_ENCODE(e, sio_encode(out, cap, pk->nattach
                ? SIO_BINARY_EVENT : SIO_EVENT, nsp, SIO_ACK_NONE, s,
                strlen(s), pk->nattach));
        free(s);
    } else if (strcmp(name, "message-with-ack") == 0
        && pk->ack_id != SIO_ACK_NONE) {
        s = json_dumps(args, JSON_COMPACT);
        if (s)
            ECHO_ENCODE(e, sio_encode(out, cap, pk->nattach ? SIO_BINARY_ACK
                : SIO_ACK, nsp, pk->ack_id, s, strlen(s), pk->nattach));
        free(s);
    } else {
        json_decref(args);
        return;
    }
    json_decref(args);
    for (i = 0; i < pk->nattach && i < natt; i++)
        eng_send(e, 1, att[i].iov_base, att[i].iov_len);
}

static int
echo_on_message(struct conn *c, int binary, const unsigned char *p, size_t n)
{
    struct ws_batch *f = ws_batch_one(binary ? WSF_OP_BINARY : WSF_OP_TEXT,
        p, n);
    int rc;

    if (f == NULL) {
        ws_close(c, WSF_CLOSE_INTERNAL, "out of memory");
        return 0;
    }
    rc = ws_send_batch(c, f);
    ws_batch_unref(f);
    return rc;
}

static void
echo_route(struct conn *c, const struct hh_req *r)
{
    (void)ws_upgrade(c, r, r->head_len, &echo_ws_app);
}

/* /engine.io/ echo: every message packet goes back unchanged. */
static int
echo_raw_open(struct eng *e, const struct hh_req *r)
{
    (void)e;
    (void)r;
    return 0;
}

static void
echo_raw_message(struct eng *e, int binary, const unsigned char *p, size_t n)
{
    eng_send(e, binary, p, n);
}

static void
echo_route_raw(struct conn *c, const struct hh_req *r)
{
    eng_request(c, r, r->head_len, &echo_raw_app);
}

/* Send a Socket.IO packet text p[0..n) as one Engine.IO message. */
static int
echo_sio_send(struct eng *e, const char *p, size_t n)
{
    WCTR_INC(sio_packets_out);
    return eng_send(e, 0, p, n);
}

/* Socket.IO echo on a WebSocket: send p[0..n) ECHO_LATER_MS after this
 * loop iteration's writes. The reference server writes its CONNECT reply
 * and the "auth" event of the public suites with two socket writes, the
 * second once the first has completed, and the suites read one WebSocket
 * message per await: two frames that reach the client in one read make
 * them miss the second, and one loop iteration apart is not enough for a
 * client on the same machine. (On polling both go in one payload, as the
 * reference server's do.) The session is looked up again by sid, so one
 * that closed meanwhile is skipped. */
static void
echo_later(struct eng *e, const char *p, size_t n)
{
    struct timeval now = {0, ECHO_LATER_MS * 1000};
    struct echo_later *l = malloc(sizeof(*l) + n);

    if (l == NULL || (EC.later_ev == NULL && (EC.later_ev = evtimer_new(
            EC.base, echo_later_cb, NULL)) == NULL)) {
        free(l);
        (void)echo_sio_send(e, p, n);
        return;
    }
    eng_sid(e, l->sid);
    l->n = n;
    memcpy(l->p, p, n);
    l->next = NULL;
    *EC.later_tail = l;
    EC.later_tail = &l->next;
    evtimer_add(EC.later_ev, &now);
}

static void
echo_later_cb(evutil_socket_t fd, short what, void *arg)
{
    struct echo_later *l;

    (void)fd;
    (void)what;
    (void)arg;
    while ((l = EC.later) != NULL) {
        struct eng *e = eng_by_sid(l->sid);
        EC.later = l->next;
        if (e)
            (void)echo_sio_send(e, l->p, l->n);
        free(l);
    }
    EC.later_tail = &EC.later;
}
