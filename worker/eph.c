/*
 * The plain-HTTP side of Engine.IO (see eph.h): the reference server's
 * error and payload replies with their CORS headers, the preflight, POST
 * bodies read up to their Content-Length, and the ring of sessions their
 * client closed from a POST. Which session a request is for, and what
 * its packets do, is eng.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "common/config.h"
#include "common/eio.h"
#include "common/hh.h"
#include "common/wsg.h"
#include "worker/conn.h"
#include "worker/eph.h"
#include "worker/http.h"
#include "worker/wctr.h"

#define EPH_CLOSED_RING 64      /* see eph_closed_note */
#define EPH_CLOSED_GRACE_MS 1000

/* A POST whose body is still arriving. */
struct eph_post {
    char sid[EIO_SID_LEN + 1];
    size_t len;
    char origin[256];
};

static int eph_post_read(struct conn *c);
static void eph_post_free(struct conn *c);
static void eph_cors(char *out, size_t cap, const char *origin);

static const struct conn_proto eph_post_proto = {
    .name = "eio-post",
    .on_read = eph_post_read,
    .on_free = eph_post_free,
};

static struct {
    const struct cfg *cfg;
    eph_body_fn on_body;
    struct {
        char sid[EIO_SID_LEN + 1];
        int64_t at;
    } closed[EPH_CLOSED_RING];
    unsigned closed_next;
    struct conn_tq post_q;  /* POSTs waiting for the rest of their body */
} P;

static void eph_post_expire(struct conn *c);

void
eph_init(const struct cfg *c, eph_body_fn on_body)
{
    P.cfg = c;
    P.on_body = on_body;
    P.post_q.timeout_ms = CFG_NUM(c, post_timeout);
    P.post_q.reason = "POST body not received within post_timeout";
    P.post_q.on_expire = eph_post_expire;
}

void
eph_tick(int64_t now_ms)
{
    conn_tq_expire(&P.post_q, now_ms);
}

/* A body trickled in (or never sent) is cut off: the head's deadline
 * ended with the head, and the session's heartbeat does not see a
 * connection that holds no poll. */
static void
eph_post_expire(struct conn *c)
{
    WCTR_INC(post_timeouts);
    http_error(c, 408, "TIMEOUT", "request body not received within "
        "post_timeout", NULL);
}

/* Reply to an Engine.IO request with the reference server's JSON error. */
void
eph_error(struct conn *c, int status, enum eio_err code)
{
    char body[EIO_ERROR_JSON_MAX];
    size_t n = eio_error_json(code, body, sizeof(body));

    WCTR_INC(eio_bad_requests);
    http_reply(c, status, "application/json", NULL, body,
        n < sizeof(body) ? n : 0);
}

void
eph_reply(struct conn *c, const char *origin, const void *p, size_t n)
{
    char extra[512];

    eph_cors(extra, sizeof(extra), origin);
    http_reply(c, 200, "text/plain; charset=UTF-8", extra, p, n);
}

void
eph_preflight(struct conn *c, const char *origin, size_t olen)
{
    char extra[640], o[256] = "";
    size_t n;

    if (origin && olen < sizeof(o))
        memcpy(o, origin, olen);
    eph_cors(extra, sizeof(extra) - 128, o);
    n = strlen(extra);
    snprintf(extra + n, sizeof(extra) - n, "Access-Control-Allow-Methods:"
        " GET, POST\r\nAccess-Control-Allow-Headers: content-type\r\n");
    http_reply(c, 204, "text/plain", extra, "", 0);
}

int
eph_post(struct conn *c, const struct hh_req *r, size_t head,
    const char *sid, const char *origin, size_t olen)
{
    size_t cl_len;
    const char *cl = hh_header(r, "Content-Length", &cl_len);
    char num[24];
    unsigned long long len;
    char *end;
    struct eph_post *ps;

    if (cl == NULL || cl_len == 0 || cl_len >= sizeof(num)
        || hh_header_count(r, "Content-Length") != 1
        || hh_header(r, "Transfer-Encoding", NULL) != NULL) {
        eph_error(c, 400, EIO_ERR_BAD_REQUEST);
        return 0;
    }
    memcpy(num, cl, cl_len);
    num[cl_len] = '\0';
    len = strtoull(num, &end, 10);
    if (*end != '\0' || num[0] < '0' || num[0] > '9') {
        eph_error(c, 400, EIO_ERR_BAD_REQUEST);
        return 0;
    }
    if (len > (unsigned long long)CFG_NUM(P.cfg, max_payload)) {
        WCTR_INC(eio_bad_requests);
        http_error(c, 413, "PAYLOAD_TOO_LARGE", "body over max_payload", NULL);
        return -1;
    }
    ps = calloc(1, sizeof(*ps));
    if (ps == NULL) {
        conn_close(c, "out of memory");
        return 0;
    }
    memcpy(ps->sid, sid, sizeof(ps->sid));
    ps->len = (size_t)len;
    if (origin && olen < sizeof(ps->origin))
        memcpy(ps->origin, origin, olen);
    evbuffer_drain(conn_in(c), head);
    http_release(c);
    conn_set_proto(c, &eph_post_proto, ps);
    conn_tq_add(&P.post_q, c);
    (void)eph_post_read(c);
    return 0;
}

/* A polling client that ends its session with a close packet in a POST
 * while its GET is in flight expects that GET to get a noop, as it does
 * when the GET is held first. With several workers the GET can arrive
 * second (handed over from another worker while the POST came straight
 * to the owner), so the sids of sessions closed that way are remembered
 * for EPH_CLOSED_GRACE_MS in a small ring, and one GET for such a sid is
 * answered with a noop instead of "Session ID unknown". */
void
eph_closed_note(const char *sid)
{
    unsigned i = P.closed_next++ % EPH_CLOSED_RING;

    memcpy(P.closed[i].sid, sid, sizeof(P.closed[i].sid));
    P.closed[i].at = wsg_mono_ms();
}

int
eph_late_poll(struct conn *c, const char *sid, size_t n, const char *origin,
    size_t olen)
{
    int64_t now = wsg_mono_ms();
    char o[256] = "";

    if (n != EIO_SID_LEN)
        return 0;
    for (unsigned i = 0; i < EPH_CLOSED_RING; i++)
        if (P.closed[i].at && now - P.closed[i].at <= EPH_CLOSED_GRACE_MS
            && memcmp(P.closed[i].sid, sid, n) == 0) {
            P.closed[i].at = 0;
            if (origin && olen < sizeof(o))
                memcpy(o, origin, olen);
            WCTR_INC(eio_late_polls);
            eph_reply(c, o, "6", 1);
            return 1;
        }
    return 0;
}

/* CORS headers for an allowed browser origin (credentials allowed). */
static void
eph_cors(char *out, size_t cap, const char *origin)
{
    if (origin && *origin)
        snprintf(out, cap, "Access-Control-Allow-Origin: %s\r\n"
            "Access-Control-Allow-Credentials: true\r\nVary: Origin\r\n",
            origin);
    else
        out[0] = '\0';
}

static int
eph_post_read(struct conn *c)
{
    struct eph_post *ps = conn_state(c);

    if (evbuffer_get_length(conn_in(c)) < ps->len)
        return 0;
    conn_tq_del(c);
    conn_set_proto(c, &eph_post_proto, NULL);
    P.on_body(c, ps->sid, ps->origin[0] ? ps->origin : NULL, ps->len);
    free(ps);
    return 0;
}

static void
eph_post_free(struct conn *c)
{
    free(conn_state(c));
}
