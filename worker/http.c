/*
 * Plain HTTP on the public port: the request head (parsed by common/hh.c,
 * bounded by max_header_size and handshake_timeout), a JSON 404 for
 * unknown paths, and /socket-status from shared memory (DESIGN §10). The
 * protocol paths (/ws, /socket.io/, ...) go to the module that registered
 * them with http_route_add. A successful reply to an HTTP/1.1 request
 * keeps the connection for the next request (keepalive_timeout), which
 * long-polling clients reuse for every poll; error replies and HTTP/1.0
 * close it. Requests are not pipelined: bytes beyond the request being
 * answered close the connection after the reply.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "common/config.h"
#include "common/hh.h"
#include "common/wsg.h"
#include "shm/shm.h"
#include "worker/conn.h"
#include "worker/http.h"
#include "worker/wctr.h"

/* In the connection's room (conn_st_alloc): 32 bytes. */
struct http_st {
    struct hh_parser hp;
    uint32_t head;      /* bytes of the parsed head (<= max_header_size) */
    uint8_t reused;     /* waiting on a kept-alive connection */
};
_Static_assert(sizeof(struct http_st) <= 32, "http_st fits the room");

static int http_on_read(struct conn *c);
static void http_on_free(struct conn *c);
static void http_expire(struct conn *c);
static void http_idle_expire(struct conn *c);
static int http_on_shutdown(struct conn *c);

static const struct conn_proto http_proto = {
    .name = "http",
    .on_read = http_on_read,
    .on_shutdown = http_on_shutdown,
    .on_free = http_on_free,
};

static struct {
    const struct cfg *cfg;
    struct shm_segment *seg;
    struct conn_tq head_q;
    struct conn_tq idle_q;  /* kept-alive, waiting for the next request */
    int stopping;
    http_drain_fn drain;
    struct {
        const char *path;
        http_route_fn fn;
    } route[HTTP_MAX_ROUTES];
    size_t nroutes;
} H;

int
http_init(const struct cfg *c, struct shm_segment *seg)
{
    H.cfg = c;
    H.seg = seg;
    H.head_q.timeout_ms = CFG_NUM(c, handshake_timeout);
    H.head_q.reason = "request head not received in time";
    H.head_q.on_expire = http_expire;
    H.idle_q.timeout_ms = CFG_NUM(c, keepalive_timeout);
    H.idle_q.reason = "keep-alive connection idle";
    H.idle_q.on_expire = http_idle_expire;
    conn_reserve(sizeof(struct http_st));
    return 0;
}

void
http_stop(http_drain_fn drain)
{
    H.stopping = 1;
    H.drain = drain;
}

/* A stopping worker: nothing has been answered on c yet, or it waits
 * between requests, so its client may be sending a request right now;
 * closing it would lose (or reset) that request. It goes to whoever takes
 * over (the slot's next worker on a reload) with the bytes read so far. */
static int
http_on_shutdown(struct conn *c)
{
    struct evbuffer *o = conn_out(c);

    if (H.drain == NULL || o == NULL || evbuffer_get_length(o) != 0) {
        conn_close(c, "server shutting down");
        return 0;
    }
    conn_tq_del(c);
    return H.drain(c);
}

void
http_route_add(const char *path, http_route_fn fn)
{
    assert(H.nroutes < HTTP_MAX_ROUTES);
    H.route[H.nroutes].path = path;
    H.route[H.nroutes].fn = fn;
    H.nroutes++;
}

/* A new connection on fd waiting for its first request head, or NULL. */
static struct conn *
http_conn_new(int fd)
{
    struct conn *c = conn_new(fd, &http_proto, NULL);
    struct http_st *st;

    if (c == NULL)
        return NULL;
    if ((st = conn_st_alloc(c, sizeof(*st))) == NULL) {
        conn_close(c, "out of memory for a connection");
        return NULL;
    }
    conn_set_proto(c, &http_proto, st);
    conn_tq_add(&H.head_q, c);
    return c;
}

struct conn *
http_accept(int fd)
{
    return http_conn_new(fd);
}

void
http_adopt(int fd, const void *data, size_t n)
{
    struct conn *c = http_conn_new(fd);

    if (c == NULL)
        return;
    if (n && (conn_in(c) == NULL || evbuffer_add(conn_in(c), data, n) == -1)) {
        conn_close(c, "out of memory adopting a connection");
        return;
    }
    if (n)
        (void)http_on_read(c);
}

void
http_tick(int64_t now_ms)
{
    conn_tq_expire(&H.head_q, now_ms);
    conn_tq_expire(&H.idle_q, now_ms);
}

static void
http_idle_expire(struct conn *c)
{
    WCTR_INC(keepalive_timeouts);
    conn_close(c, H.idle_q.reason);
}

static void
http_expire(struct conn *c)
{
    WCTR_INC(handshake_timeouts);
    conn_close(c, H.head_q.reason);
}

static void
http_on_free(struct conn *c)
{
    conn_st_free(c, conn_state(c));
}

void
http_release(struct conn *c)
{
    conn_tq_del(c);
    conn_st_free(c, conn_state(c));
    conn_set_proto(c, &http_proto, NULL);
}

/* 1 if the connection may take another request once this reply is out:
 * the request allowed it, the worker is not stopping, and the input holds
 * nothing beyond what the request consumed (a head not yet taken by a
 * protocol counts as consumed). */
static int
http_reusable(struct conn *c)
{
    size_t used = 0;
    struct evbuffer *in = conn_in(c);

    if (!conn_persistent(c) || H.stopping || in == NULL)
        return 0;
    if (conn_get_proto(c) == &http_proto && conn_state(c) != NULL)
        used = ((struct http_st *)conn_state(c))->head;
    return evbuffer_get_length(in) == used;
}

/* After a reply: wait on c for the next request head. */
static void
http_keepalive(struct conn *c)
{
    struct http_st *st = NULL;

    conn_set_persistent(c, 0);
    if (conn_get_proto(c) == &http_proto)
        st = conn_state(c);
    if (st == NULL) {
        if ((st = conn_st_alloc(c, sizeof(*st))) == NULL) {
            conn_close_after_flush(c, "http reply sent");
            return;
        }
    } else {
        evbuffer_drain(conn_in(c), st->head);
        memset(st, 0, sizeof(*st));
    }
    st->reused = 1;
    conn_set_proto(c, &http_proto, st);
    conn_tq_add(&H.idle_q, c);
}

static const char *
http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 204: return "No Content";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 429: return "Too Many Requests";
    case 413: return "Payload Too Large";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

static void http_send(struct conn *c, int status, const char *ctype,
    const char *extra, const char *body, size_t len, const char *why);

void
http_reply(struct conn *c, int status, const char *ctype, const char *extra,
    const char *body, size_t len)
{
    http_send(c, status, ctype, extra, body, len, NULL);
}

/* http_reply; why (or NULL) is the close reason logged for an error. */
static void
http_send(struct conn *c, int status, const char *ctype, const char *extra,
    const char *body, size_t len, const char *why)
{
    struct evbuffer *o = conn_out(c);

    if (o == NULL) {
        conn_close(c, "out of memory replying");
        return;
    }
    if (status >= 400)
        WCTR_INC(http_errors);
    int keep = status < 400 && http_reusable(c);
    evbuffer_add_printf(o, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
        "Content-Length: %zu\r\nCache-Control: no-store\r\n"
        "%s%s\r\n", status, http_reason(status), ctype, len,
        keep ? "" : "Connection: close\r\n", extra ? extra : "");
    evbuffer_add(o, body, len);
    if (keep) {
        http_keepalive(c);
        (void)conn_mark_dirty(c); /* last: it may end c (slow consumer) */
    } else
        conn_close_after_flush(c, status >= 400 ? why ? why
            : "http error reply" : "http reply sent");
}

void
http_error(struct conn *c, int status, const char *code, const char *msg,
    const char *extra)
{
    char body[512];
    int n = snprintf(body, sizeof(body), "{\"ok\":false,\"error\":{\"code\":"
        "\"%s\",\"message\":\"%s\"}}\n", code, msg);

    char why[96];

    if (n < 0 || (size_t)n >= sizeof(body))
        n = snprintf(body, sizeof(body), "{\"ok\":false}\n");
    /* The code in the close reason: the log (and what reads reasons)
     * tells a limit's refusal from a bad request. */
    snprintf(why, sizeof(why), "http error reply: %d %s", status, code);
    http_send(c, status, "application/json", extra, body, (size_t)n, why);
}

static int
http_path_is(const struct hh_req *r, const char *p)
{
    size_t n = strlen(p);
    return r->path_len == n && memcmp(r->path, p, n) == 0;
}

static void
http_route(struct conn *c, const struct hh_req *r)
{
    for (size_t i = 0; i < H.nroutes; i++)
        if (http_path_is(r, H.route[i].path)) {
            H.route[i].fn(c, r);
            return;
        }
    WCTR_INC(http_requests);
    if (http_path_is(r, "/socket-status")) {
        struct shm_status st;
        char body[256];
        int n;
        if (!(r->method_len == 3 && memcmp(r->method, "GET", 3) == 0)) {
            http_error(c, 405, "METHOD_NOT_ALLOWED", "use GET",
                "Allow: GET\r\n");
            return;
        }
        /* Workers do not talk to Redis: the cluster view is the admin
         * port's (master/rnod.c); say so rather than answer for one
         * node. */
        size_t sl;
        const char *sc = hh_query_param(r, "scope", &sl);
        if (sc && !(sl == 4 && memcmp(sc, "node", 4) == 0)) {
            http_error(c, 400, "BAD_SCOPE", sl == 7
                && memcmp(sc, "cluster", 7) == 0 ? "scope=cluster is "
                "served on the admin port only" : "scope must be node or "
                "cluster", NULL);
            return;
        }
        shm_status(H.seg, CFG_NUM(H.cfg, worker_heartbeat_timeout), &st);
        n = shm_status_format(&st, body, sizeof(body) - 1);
        if (n < 0 || (size_t)n >= sizeof(body) - 1)
            n = 0;
        body[n++] = '\n';
        http_reply(c, 200, "application/json", NULL, body, (size_t)n);
        return;
    }
    WCTR_INC(hs_not_found);
    http_error(c, 404, "NOT_FOUND", "no such endpoint", NULL);
}

static int
http_on_read(struct conn *c)
{
    struct http_st *st = conn_state(c);
    struct evbuffer *in = conn_in(c);
    size_t max = (size_t)CFG_NUM(H.cfg, max_header_size);
    size_t len = evbuffer_get_length(in);
    struct hh_req req;
    enum hh_status s;
    const char *p;

    if (len > max)
        len = max;
    p = (const char *)evbuffer_pullup(in, (ssize_t)len);
    s = hh_parse(&st->hp, p, len, max, &req);
    switch (s) {
    case HH_AGAIN:
        return 0;
    case HH_OK:
        conn_tq_del(c);
        if (st->reused)
            WCTR_INC(keepalive_reuses);
        st->head = (uint32_t)req.head_len; /* <= max_header_size */
        conn_set_persistent(c, CFG_NUM(H.cfg, keepalive_timeout) > 0
            && req.minor_version == 1
            && !hh_header_has_token(&req, "Connection", "close"));
        http_route(c, &req);
        return 0;
    default:
        if (s == HH_E_TOO_LARGE)
            WCTR_INC(hs_too_large);
        else
            WCTR_INC(hs_bad_request);
        http_error(c, hh_status_code(s), hh_status_code_str(s),
            hh_status_str(s), NULL);
        return 0;
    }
}
