/*
 * Backend HTTP client of a worker (issue 14). It is libevent's evhttp
 * client, not a hand-written one: the worker already links libevent, and
 * evhttp gives HTTP/1.1 keep-alive, chunked replies, a body size bound and
 * request cancellation; what this module adds is the bound on connections
 * and on the queue in front of them, one time limit from queueing to the
 * answer, and callbacks that never run inside the caller's call.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/log.h"
#include "worker/hcl.h"

#define HCL_SLACK_MS 1000

enum hcl_state { HCL_QUEUED, HCL_FLIGHT };

struct hcl_req {
    struct hcl *h;
    struct hcl_req *prev, *next; /* the queue, or the pool's in-flight list */
    enum hcl_state state;
    unsigned slot;
    struct evhttp_request *er;
    struct event *tev;
    hcl_done_fn fn;
    void *arg;
    size_t len;
    char body[];
};

struct hcl_slot {
    struct evhttp_connection *evc;
    struct hcl_req *cur;
};

struct hcl {
    struct event_base *base;
    struct hcl_opts o;
    char *host, *path;
    int port;
    struct event *kick;           /* dispatch from the loop */
    struct hcl_req *qhead, *qtail;
    size_t nqueued;
    struct hcl_slot *slots;
};

static void hcl_kick_cb(evutil_socket_t fd, short what, void *arg);
static void hcl_timeout_cb(evutil_socket_t fd, short what, void *arg);
static void hcl_http_cb(struct evhttp_request *er, void *arg);
static void hcl_unqueue(struct hcl_req *r);
static void hcl_req_free(struct hcl_req *r);

struct hcl *
hcl_new(struct event_base *base, const char *url, const struct hcl_opts *o)
{
    struct evhttp_uri *u = evhttp_uri_parse(url);
    struct hcl *h = calloc(1, sizeof(*h));
    const char *p = u ? evhttp_uri_get_path(u) : NULL;
    const char *q = u ? evhttp_uri_get_query(u) : NULL;

    if (u == NULL || h == NULL || evhttp_uri_get_host(u) == NULL) {
        log_msg(LOG_ERR, "proxy URL %s: cannot parse it", url);
        goto fail;
    }
    h->base = base;
    h->o = *o;
    h->port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
    h->host = strdup(evhttp_uri_get_host(u));
    h->path = malloc(strlen(p && *p ? p : "/") + (q ? strlen(q) + 1 : 0)
        + 1);
    h->slots = calloc(o->conns ? o->conns : 1, sizeof(*h->slots));
    h->kick = event_new(base, -1, 0, hcl_kick_cb, h);
    if (h->host == NULL || h->path == NULL || h->slots == NULL
        || h->kick == NULL) {
        log_msg(LOG_ERR, "out of memory for the proxy client");
        goto fail;
    }
    strcpy(h->path, p && *p ? p : "/");
    if (q) {
        strcat(h->path, "?");
        strcat(h->path, q);
    }
    evhttp_uri_free(u);
    return h;
fail:
    if (u)
        evhttp_uri_free(u);
    hcl_free(&h);
    return NULL;
}

void
hcl_free(struct hcl **hp)
{
    struct hcl *h = *hp;

    if (h == NULL)
        return;
    while (h->qhead)
        hcl_cancel(h->qhead);
    for (unsigned i = 0; h->slots && i < h->o.conns; i++) {
        if (h->slots[i].cur)
            hcl_cancel(h->slots[i].cur);
        if (h->slots[i].evc)
            evhttp_connection_free(h->slots[i].evc);
    }
    if (h->kick)
        event_free(h->kick);
    free(h->slots);
    free(h->host);
    free(h->path);
    free(h);
    *hp = NULL;
}

struct hcl_req *
hcl_post(struct hcl *h, const char *body, size_t len, hcl_done_fn fn,
    void *arg)
{
    struct hcl_req *r;
    struct timeval tv = {h->o.timeout_ms / 1000,
        (h->o.timeout_ms % 1000) * 1000};

    if (h->nqueued >= h->o.queue || (r = calloc(1, sizeof(*r) + len))
            == NULL)
        return NULL;
    r->h = h;
    r->fn = fn;
    r->arg = arg;
    r->len = len;
    memcpy(r->body, body, len);
    r->tev = evtimer_new(h->base, hcl_timeout_cb, r);
    if (r->tev == NULL || evtimer_add(r->tev, &tv) == -1) {
        hcl_req_free(r);
        return NULL;
    }
    r->state = HCL_QUEUED;
    r->prev = h->qtail;
    if (h->qtail)
        h->qtail->next = r;
    else
        h->qhead = r;
    h->qtail = r;
    h->nqueued++;
    event_active(h->kick, 0, 0);
    return r;
}

void
hcl_cancel(struct hcl_req *r)
{
    struct hcl *h = r->h;

    if (r->state == HCL_QUEUED) {
        hcl_unqueue(r);
    } else {
        /* evhttp frees the request and resets the connection; its
         * callback does not run. */
        h->slots[r->slot].cur = NULL;
        evhttp_cancel_request(r->er);
        event_active(h->kick, 0, 0);
    }
    hcl_req_free(r);
}

size_t
hcl_queued(const struct hcl *h)
{
    return h->nqueued;
}

static void
hcl_req_free(struct hcl_req *r)
{
    if (r->tev)
        event_free(r->tev);
    free(r);
}

static void
hcl_unqueue(struct hcl_req *r)
{
    struct hcl *h = r->h;

    if (r->prev)
        r->prev->next = r->next;
    else
        h->qhead = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        h->qtail = r->prev;
    r->prev = r->next = NULL;
    h->nqueued--;
}

/* Start r on slot i (free). 0, or -1 when evhttp refused it. */
static int
hcl_start(struct hcl *h, unsigned i, struct hcl_req *r)
{
    struct hcl_slot *s = &h->slots[i];
    struct evkeyvalq *hd;
    /* evhttp's own limit only frees a connection stuck after ours
     * (hcl_timeout_cb cancels the request when ours passes). */
    int64_t ms = h->o.timeout_ms + HCL_SLACK_MS;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    if (s->evc == NULL) {
        s->evc = evhttp_connection_base_new(h->base, NULL, h->host,
            (unsigned short)h->port);
        if (s->evc == NULL)
            return -1;
        evhttp_connection_set_timeout_tv(s->evc, &tv);
        evhttp_connection_set_max_body_size(s->evc,
            (ev_ssize_t)h->o.max_body);
        evhttp_connection_set_retries(s->evc, 0);
    }
    r->er = evhttp_request_new(hcl_http_cb, r);
    if (r->er == NULL)
        return -1;
    hd = evhttp_request_get_output_headers(r->er);
    evhttp_add_header(hd, "Host", h->host);
    evhttp_add_header(hd, "Content-Type", "application/json");
    if (h->o.secret && *h->o.secret)
        evhttp_add_header(hd, h->o.secret_header, h->o.secret);
    evbuffer_add(evhttp_request_get_output_buffer(r->er), r->body, r->len);
    if (evhttp_make_request(s->evc, r->er, EVHTTP_REQ_POST, h->path) == -1) {
        r->er = NULL; /* evhttp freed it */
        return -1;
    }
    r->state = HCL_FLIGHT;
    r->slot = i;
    s->cur = r;
    return 0;
}

/* Give queued requests the free connections. */
static void
hcl_kick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct hcl *h = arg;

    (void)fd;
    (void)what;
    for (unsigned i = 0; i < h->o.conns && h->qhead; i++) {
        struct hcl_req *r = h->qhead;
        if (h->slots[i].cur)
            continue;
        hcl_unqueue(r);
        if (hcl_start(h, i, r) == -1) {
            log_msg(LOG_WARNING, "proxy request to %s:%d not started",
                h->host, h->port);
            r->fn(r->arg, HCL_FAILED, NULL, 0);
            hcl_req_free(r);
        }
    }
}

static void
hcl_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct hcl_req *r = arg;
    hcl_done_fn fn = r->fn;
    void *farg = r->arg;

    (void)fd;
    (void)what;
    hcl_cancel(r);
    fn(farg, HCL_TIMEOUT, NULL, 0);
}

static void
hcl_http_cb(struct evhttp_request *er, void *arg)
{
    struct hcl_req *r = arg;
    struct hcl *h = r->h;
    int status = er ? evhttp_request_get_response_code(er) : 0;
    struct evbuffer *in = er ? evhttp_request_get_input_buffer(er) : NULL;
    size_t n = in ? evbuffer_get_length(in) : 0;
    const char *body = n ? (const char *)evbuffer_pullup(in, -1) : NULL;

    h->slots[r->slot].cur = NULL;
    event_active(h->kick, 0, 0);
    r->fn(r->arg, status > 0 ? status : HCL_FAILED, body, n);
    hcl_req_free(r);
}
