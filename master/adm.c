/*
 * Admin HTTP on the master (evhttp). Routes are a table: path, method,
 * whether the bearer key is needed, handler. Everything is read from shared
 * memory; the master never touches client traffic. Errors are JSON
 * {ok:false,error:{code,message}} and never echo a secret.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>

#include "common/config.h"
#include "common/log.h"
#include "master/adm.h"
#include "master/prq.h"
#include "master/dsh.h"
#include "master/dstr.h"
#include "master/met.h"
#include "master/pub.h"
#include "master/rds.h"
#include "master/rnod.h"
#include "master/tlm.h"
#include "common/tokcfg.h"
#include "common/wsg.h"
#include "shm/shm.h"

typedef void (*adm_handler_fn)(struct evhttp_request *req,
    struct evbuffer *out);

struct adm_route {
    const char *path;
    enum evhttp_cmd_type method;
    int auth;
    adm_handler_fn fn;
};

static void adm_status(struct evhttp_request *req, struct evbuffer *out);
static void adm_stats(struct evhttp_request *req, struct evbuffer *out);
static void adm_metrics(struct evhttp_request *req, struct evbuffer *out);
static void adm_healthz(struct evhttp_request *req, struct evbuffer *out);
static void adm_readyz(struct evhttp_request *req, struct evbuffer *out);

static void adm_dashboard(struct evhttp_request *req, struct evbuffer *out);
static void adm_history(struct evhttp_request *req, struct evbuffer *out);
static void adm_events(struct evhttp_request *req, struct evbuffer *out);
static void adm_workers(struct evhttp_request *req, struct evbuffer *out);
static void adm_stream(struct evhttp_request *req, struct evbuffer *out);

static void adm_publish(struct evhttp_request *req, struct evbuffer *out);
static void adm_disconnect(struct evhttp_request *req, struct evbuffer *out);
static void adm_broadcast(struct evhttp_request *req, struct evbuffer *out);
static void adm_presence(struct evhttp_request *req, struct evbuffer *out);
static void adm_user(struct evhttp_request *req, struct evbuffer *out);

static const struct adm_route adm_routes[] = {
    {"/api/publish", EVHTTP_REQ_POST, 1, adm_publish},
    {"/socket/disconnect-user", EVHTTP_REQ_POST, 1, adm_disconnect},
    {"/socket/broadcast", EVHTTP_REQ_POST, 1, adm_broadcast},
    {"/socket-status", EVHTTP_REQ_GET, 0, adm_status},
    {"/socket-stats", EVHTTP_REQ_GET, 1, adm_stats},
    {"/metrics", EVHTTP_REQ_GET, 1, adm_metrics},
    {"/healthz", EVHTTP_REQ_GET, 0, adm_healthz},
    {"/readyz", EVHTTP_REQ_GET, 0, adm_readyz},
    {"/api/presence", EVHTTP_REQ_GET, 1, adm_presence},
    {"/api/user/", EVHTTP_REQ_GET, 1, adm_user}, /* a prefix: /api/user/ID */
    {"/dashboard", EVHTTP_REQ_GET, 0, adm_dashboard},
    {"/api/history", EVHTTP_REQ_GET, 1, adm_history},
    {"/api/events", EVHTTP_REQ_GET, 1, adm_events},
    {"/api/workers", EVHTTP_REQ_GET, 1, adm_workers},
    {"/api/stream", EVHTTP_REQ_GET, 1, adm_stream},
};

static struct {
    struct evhttp *http;
    struct shm_segment *shm;
    const struct cfg *cfg;
    struct tokcfg tc;
    int tc_ok;
} A;

static void
adm_reply(struct evhttp_request *req, int code, const char *reason,
    const char *ctype, struct evbuffer *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(req, code, reason, body);
}

static void
adm_error(struct evhttp_request *req, int code, const char *reason,
    const char *ecode, const char *msg)
{
    struct evbuffer *b = evbuffer_new();

    if (b == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    evbuffer_add_printf(b, "{\"ok\":false,\"error\":{\"code\":\"%s\","
        "\"message\":\"%s\"}}\n", ecode, msg);
    if (code == 401)
        evhttp_add_header(evhttp_request_get_output_headers(req),
            "WWW-Authenticate", "Bearer");
    adm_reply(req, code, reason, "application/json", b);
    evbuffer_free(b);
}

/* Constant-time comparison of the presented key with the configured one. */
static int
adm_key_equal(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    unsigned char d = alen != blen;

    for (size_t i = 0; i < alen; i++)
        d |= (unsigned char)(a[i] ^ b[i % (blen ? blen : 1)]);
    return d == 0;
}

/* Returns 1 if the request may proceed; otherwise replies 401 (no or bad
 * credentials) or 403 (a valid JWT without the admin role). Credentials
 * are the api_key, or a JWT whose role claim holds admin_role. */
static int
adm_authorized(struct evhttp_request *req)
{
    const char *key = CFG_STR(A.cfg, api_key);
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req),
        "Authorization");
    struct tok_claims *cl;
    enum tok_status st;

    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
        adm_error(req, 401, "Unauthorized", "UNAUTHORIZED",
            "missing Authorization: Bearer credentials");
        return 0;
    }
    h += 7;
    while (*h == ' ')
        h++;
    if (key[0] != '\0' && adm_key_equal(h, strlen(h), key))
        return 1;
    /* Not the key: perhaps an operator's JWT. */
    cl = A.tc_ok && strchr(h, '.') ? malloc(sizeof(*cl)) : NULL;
    st = cl ? tok_verify(&A.tc.tok, h, strlen(h), wsg_real_ms() / 1000, cl)
            : TOK_E_INVALID;
    if (st == TOK_OK && A.tc.admin_role[0]
        && tok_claims_has_role(cl, A.tc.admin_role)) {
        free(cl);
        return 1;
    }
    free(cl);
    if (st == TOK_OK) {
        adm_error(req, 403, "Forbidden", "FORBIDDEN",
            "this token does not carry the admin role");
        return 0;
    }
    adm_error(req, 401, "Unauthorized", key[0] == '\0' && !strchr(h, '.')
        ? "API_KEY_NOT_CONFIGURED" : "UNAUTHORIZED",
        key[0] == '\0' && !strchr(h, '.')
        ? "no api_key is configured on this gateway" : "invalid credentials");
    return 0;
}

static void
adm_dispatch(struct evhttp_request *req, void *arg)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    struct evbuffer *out;
    int path_known = 0;

    (void)arg;
    shm_master_add(A.shm, CTR_admin_requests, 1);
    if (path == NULL)
        path = "";
    for (size_t i = 0; i < sizeof(adm_routes) / sizeof(*adm_routes); i++) {
        const struct adm_route *r = &adm_routes[i];
        size_t pl = strlen(r->path);
        if (strcmp(path, r->path) != 0 && !(r->path[pl - 1] == '/'
                && strncmp(path, r->path, pl) == 0 && path[pl] != '\0'))
            continue;
        path_known = 1;
        if (r->method != m && !(r->method == EVHTTP_REQ_GET
                                && m == EVHTTP_REQ_HEAD))
            continue;
        if (r->auth && !adm_authorized(req)) {
            shm_master_add(A.shm, CTR_admin_unauthorized, 1);
            return;
        }
        out = evbuffer_new();
        if (out == NULL) {
            evhttp_send_error(req, HTTP_INTERNAL, NULL);
            return;
        }
        r->fn(req, out);
        evbuffer_free(out);
        return;
    }
    if (path_known)
        adm_error(req, 405, "Method Not Allowed", "METHOD_NOT_ALLOWED",
            "method not allowed on this path");
    else
        adm_error(req, 404, "Not Found", "NOT_FOUND", "no such endpoint");
}

static int64_t
adm_hb_timeout(void)
{
    return CFG_NUM(A.cfg, worker_heartbeat_timeout);
}

/* The scope query parameter: 0 this node (absent or "node"), 1 the
 * cluster ("cluster"); -1 after answering 400 BAD_SCOPE. */
static int
adm_scope(struct evhttp_request *req)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq q;
    const char *v;
    int scope = -1;

    if (qs == NULL || *qs == '\0')
        return 0;
    TAILQ_INIT(&q);
    if (evhttp_parse_query_str(qs, &q) == 0) {
        v = evhttp_find_header(&q, "scope");
        scope = v == NULL || strcmp(v, "node") == 0 ? 0
            : strcmp(v, "cluster") == 0 ? 1 : -1;
    }
    evhttp_clear_headers(&q);
    if (scope == -1)
        adm_error(req, 400, "Bad Request", "BAD_SCOPE",
            "scope must be node or cluster");
    return scope;
}

static void
adm_status(struct evhttp_request *req, struct evbuffer *out)
{
    int scope = adm_scope(req);

    if (scope != 0) {
        if (scope == 1)
            rnod_query(req, 0);
        return;
    }
    met_status_json(A.shm, adm_hb_timeout(), out);
    evbuffer_add(out, "\n", 1);
    adm_reply(req, 200, "OK", "application/json", out);
}

static void
adm_stats(struct evhttp_request *req, struct evbuffer *out)
{
    int scope = adm_scope(req);

    if (scope != 0) {
        if (scope == 1)
            rnod_query(req, 1);
        return;
    }
    met_stats_json(A.shm, out);
    evbuffer_add(out, "\n", 1);
    adm_reply(req, 200, "OK", "application/json", out);
}

static void
adm_metrics(struct evhttp_request *req, struct evbuffer *out)
{
    met_prometheus(A.shm, adm_hb_timeout(), out);
    adm_reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8",
        out);
}

static void
adm_publish(struct evhttp_request *req, struct evbuffer *out)
{
    (void)out;
    pub_publish(req);
}

static void
adm_disconnect(struct evhttp_request *req, struct evbuffer *out)
{
    (void)out;
    pub_disconnect_user(req);
}

static void
adm_broadcast(struct evhttp_request *req, struct evbuffer *out)
{
    (void)out;
    pub_broadcast(req);
}

/* The page holds no data: it asks for the key and then reads the
 * authenticated endpoints below. Nothing may load from another host. */
static void
adm_dashboard(struct evhttp_request *req, struct evbuffer *out)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    evbuffer_add(out, dsh_page_html, dsh_page_html_len);
    evhttp_add_header(h, "Content-Security-Policy", "default-src 'none'; "
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    adm_reply(req, 200, "OK", "text/html; charset=utf-8", out);
}

static const char *
adm_query(struct evhttp_request *req)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);

    return uri ? evhttp_uri_get_query(uri) : NULL;
}

static void
adm_history(struct evhttp_request *req, struct evbuffer *out)
{
    const char *err = NULL;

    if (dsh_history_json(adm_query(req), out, &err) == -1) {
        adm_error(req, 400, "Bad Request", "BAD_PARAM", err);
        return;
    }
    evbuffer_add(out, "\n", 1);
    adm_reply(req, 200, "OK", "application/json", out);
}

static void
adm_events(struct evhttp_request *req, struct evbuffer *out)
{
    const char *err = NULL;

    if (dsh_events_json(adm_query(req), out, &err) == -1) {
        adm_error(req, 400, "Bad Request", "BAD_PARAM", err);
        return;
    }
    evbuffer_add(out, "\n", 1);
    adm_reply(req, 200, "OK", "application/json", out);
}

static void
adm_workers(struct evhttp_request *req, struct evbuffer *out)
{
    dsh_workers_json(out);
    evbuffer_add(out, "\n", 1);
    adm_reply(req, 200, "OK", "application/json", out);
}

static void
adm_stream(struct evhttp_request *req, struct evbuffer *out)
{
    (void)out;
    dstr_open(req);
}

static void
adm_healthz(struct evhttp_request *req, struct evbuffer *out)
{
    evbuffer_add_printf(out, "{\"ok\":true,\"status\":\"alive\"}\n");
    adm_reply(req, 200, "OK", "application/json", out);
}

static void
adm_readyz(struct evhttp_request *req, struct evbuffer *out)
{
    char why[128];

    if (shm_ready(A.shm, adm_hb_timeout(), why, sizeof(why))) {
        /* Redis down: local clients are still served, so the node stays
         * in its load balancer (200), but says it is degraded. */
        if (rds_enabled() && !rds_up())
            evbuffer_add_printf(out, "{\"ok\":true,\"status\":"
                "\"degraded\",\"redis\":\"down\"}\n");
        else
            evbuffer_add_printf(out, "{\"ok\":true,\"status\":"
                "\"ready\"}\n");
        adm_reply(req, 200, "OK", "application/json", out);
        return;
    }
    evbuffer_add_printf(out, "{\"ok\":false,\"error\":{\"code\":"
        "\"NOT_READY\",\"message\":\"%s\"}}\n", why);
    adm_reply(req, 503, "Service Unavailable", "application/json", out);
}

/* admin_tls: a fatal alert the master sends during a handshake (no or
 * bad client certificate, version, cipher) is a refused client. */
static void
adm_tls_info(const SSL *ssl, int where, int ret)
{
    if ((where & SSL_CB_ALERT) && (where & SSL_CB_WRITE)
        && !SSL_is_init_finished(ssl)
        && strcmp(SSL_alert_type_string(ret), "F") == 0)
        shm_master_add(A.shm, CTR_admin_tls_failures, 1);
}

/* admin_tls: each admin connection gets an OpenSSL bufferevent on the
 * current context (evhttp sets the socket). */
static struct bufferevent *
adm_tls_bev(struct event_base *base, void *arg)
{
    SSL *ssl = SSL_new(tlm_admin_ctx());

    (void)arg;
    if (ssl == NULL)
        return NULL;
    SSL_set_info_callback(ssl, adm_tls_info);
    return bufferevent_openssl_socket_new(base, -1, ssl,
        BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

int
adm_start(struct event_base *base, int fd, struct shm_segment *seg,
    const struct cfg *c)
{
    A.shm = seg;
    adm_set_cfg(c);
    A.http = evhttp_new(base);
    if (A.http == NULL) {
        log_msg(LOG_ERR, "evhttp_new() failed");
        return -1;
    }
    evhttp_set_allowed_methods(A.http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD
        | EVHTTP_REQ_POST);
    evhttp_set_max_headers_size(A.http, 16384);
    /* Bodies a little over max_publish_size still reach pub.c, which
     * answers 400 BODY_TOO_LARGE; far larger ones get evhttp's 413. */
    evhttp_set_max_body_size(A.http,
        (ev_ssize_t)CFG_NUM(c, max_publish_size) * 4 + 4096);
    evhttp_set_timeout(A.http, 30);
    evhttp_set_gencb(A.http, adm_dispatch, NULL);
    if (tlm_admin_ctx())
        evhttp_set_bevcb(A.http, adm_tls_bev, NULL);
    if (evhttp_accept_socket(A.http, fd) == -1) {
        log_msg(LOG_ERR, "evhttp_accept_socket() on the admin listener "
            "failed");
        evhttp_free(A.http);
        A.http = NULL;
        return -1;
    }
    return 0;
}

void
adm_set_cfg(const struct cfg *c)
{
    char err[256];

    A.cfg = c;
    if (A.tc_ok)
        tokcfg_free(&A.tc);
    A.tc_ok = tokcfg_load(&A.tc, c, err, sizeof(err)) == 0;
    if (!A.tc_ok)
        log_msg(LOG_ERR, "admin API: JWT settings unusable: %s", err);
    if (A.http)
        evhttp_set_max_body_size(A.http,
            (ev_ssize_t)CFG_NUM(c, max_publish_size) * 4 + 4096);
}

void
adm_stop(void)
{
    if (A.http) {
        evhttp_free(A.http);
        A.http = NULL;
    }
    if (A.tc_ok)
        tokcfg_free(&A.tc);
    A.tc_ok = 0;
}

/* GET /api/presence?room=R: who is in R, over every worker (prq.c). */
static void
adm_presence(struct evhttp_request *req, struct evbuffer *out)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *qs = uri ? evhttp_uri_get_query(uri) : NULL, *room = NULL;
    struct evkeyvalq q;

    (void)out;
    TAILQ_INIT(&q);
    if (qs && evhttp_parse_query_str(qs, &q) == 0)
        room = evhttp_find_header(&q, "room");
    if (room == NULL || *room == '\0')
        adm_error(req, 400, "Bad Request", "BAD_REQUEST",
            "give the room: /api/presence?room=R");
    else
        prq_ask(req, 1, room, strlen(room));
    evhttp_clear_headers(&q);
}

/* GET /api/user/ID: that user's connections and rooms (prq.c). */
static void
adm_user(struct evhttp_request *req, struct evbuffer *out)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : "";
    char *id = evhttp_uridecode(path + strlen("/api/user/"), 0, NULL);

    (void)out;
    if (id == NULL || *id == '\0' || strchr(id, '/'))
        adm_error(req, 400, "Bad Request", "BAD_REQUEST",
            "give the user id: /api/user/ID");
    else
        prq_ask(req, 2, id, strlen(id));
    free(id);
}
