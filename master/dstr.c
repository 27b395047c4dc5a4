/*
 * /api/stream: server-sent events from the master's admin server (see
 * dstr.h). Each stream is a chunked evhttp reply that never ends by
 * itself; the connection's close callback removes it. One timer for all
 * streams sends an update a second.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "common/config.h"
#include "common/counters.h"
#include "common/log.h"
#include "master/arep.h"
#include "master/dsh.h"
#include "master/dstr.h"
#include "shm/shm.h"

#define DSTR_TICK_MS 1000
#define DSTR_WRITE_TIMEOUT_S 30 /* a reader that takes nothing is cut */

struct dstr {
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    struct dsh_cursor cur;
    struct dstr *prev, *next;
};

static struct {
    struct shm_segment *seg;
    const struct cfg *cfg;
    struct event *tick;
    struct dstr *all;
    unsigned n;
} R;

static void dstr_tick_cb(evutil_socket_t fd, short what, void *arg);

int
dstr_init(struct event_base *base, struct shm_segment *seg,
    const struct cfg *c)
{
    struct timeval tv = {DSTR_TICK_MS / 1000, (DSTR_TICK_MS % 1000) * 1000};

    R.seg = seg;
    R.cfg = c;
    R.tick = event_new(base, -1, EV_PERSIST, dstr_tick_cb, NULL);
    if (R.tick == NULL || event_add(R.tick, &tv) == -1) {
        log_msg(LOG_ERR, "cannot start the timer of /api/stream");
        dstr_stop();
        return -1;
    }
    return 0;
}

void
dstr_set_cfg(const struct cfg *c)
{
    R.cfg = c;
}

static void
dstr_unlink(struct dstr *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        R.all = s->next;
    if (s->next)
        s->next->prev = s->prev;
    R.n--;
    shm_master_set(R.seg, CTR_admin_streams, R.n);
    free(s);
}

/* The connection is going down. When its reader went away in the middle
 * of the reply, evhttp has already taken the request off the connection
 * and left it to us (a reply in progress is the caller's): ending the
 * reply frees it. A request still on the connection is freed with it. */
static void
dstr_closed_cb(struct evhttp_connection *evcon, void *arg)
{
    struct dstr *s = arg;
    struct evhttp_request *req = s->req;

    (void)evcon;
    dstr_unlink(s);
    if (evhttp_request_get_connection(req) == NULL)
        evhttp_send_reply_end(req);
}

/* End s from this side (a stop, a reader too far behind): the reply is
 * finished and the connection closed. */
static void
dstr_end(struct dstr *s)
{
    struct evhttp_request *req = s->req;

    evhttp_connection_set_closecb(s->evcon, NULL, NULL);
    dstr_unlink(s);
    /* "Connection: close" was sent: evhttp closes it once flushed. */
    evhttp_send_reply_end(req);
}

/* Bytes written to s's socket buffer and not yet taken by its reader. */
static size_t
dstr_backlog(const struct dstr *s)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(s->evcon);

    return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

/* One update: "data: <json>\n\n". The JSON is on one line: its writers
 * escape newlines inside strings, so a raw newline is only whitespace
 * between tokens. */
static int
dstr_send(struct dstr *s)
{
    struct evbuffer *b = evbuffer_new(), *j = evbuffer_new();
    size_t n;
    unsigned char *p;

    if (b == NULL || j == NULL) {
        evbuffer_free(b);
        evbuffer_free(j);
        return -1;
    }
    dsh_live_json(&s->cur, j);
    n = evbuffer_get_length(j);
    p = evbuffer_pullup(j, -1);
    for (size_t i = 0; p && i < n; i++)
        if (p[i] == '\n' || p[i] == '\r')
            p[i] = ' ';
    evbuffer_add(b, "data: ", 6);
    evbuffer_add_buffer(b, j);
    evbuffer_add(b, "\n\n", 2);
    evhttp_send_reply_chunk(s->req, b);
    evbuffer_free(b);
    evbuffer_free(j);
    return 0;
}

void
dstr_open(struct evhttp_request *req)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct timeval wt = {DSTR_WRITE_TIMEOUT_S, 0};
    struct bufferevent *bev;
    struct dstr *s;

    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        evhttp_add_header(h, "Content-Type", "text/event-stream");
        evhttp_send_reply(req, 200, "OK", NULL);
        return;
    }
    if (R.tick == NULL || evcon == NULL
        || R.n >= (unsigned)CFG_NUM(R.cfg, admin_max_streams)) {
        shm_master_add(R.seg, CTR_admin_streams_refused, 1);
        evhttp_add_header(h, "Retry-After", "5");
        arep_json(req, 503, "Service Unavailable", "{\"ok\":false,"
            "\"error\":{\"code\":\"TOO_MANY_STREAMS\",\"message\":"
            "\"admin_max_streams live streams are open\"}}");
        return;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    s->req = req;
    s->evcon = evcon;
    s->next = R.all;
    if (R.all)
        R.all->prev = s;
    R.all = s;
    R.n++;
    shm_master_set(R.seg, CTR_admin_streams, R.n);
    shm_master_add(R.seg, CTR_admin_streams_opened, 1);
    evhttp_add_header(h, "Content-Type", "text/event-stream");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Accel-Buffering", "no");
    evhttp_add_header(h, "Connection", "close");
    evhttp_send_reply_start(req, 200, "OK");
    evhttp_connection_set_closecb(evcon, dstr_closed_cb, s);
    /* No read timeout: the reader sends nothing more. A write that
     * cannot proceed for DSTR_WRITE_TIMEOUT_S still ends it. */
    bev = evhttp_connection_get_bufferevent(evcon);
    if (bev)
        bufferevent_set_timeouts(bev, NULL, &wt);
    (void)dstr_send(s);
}

static void
dstr_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct dstr *s, *next;
    size_t cap = (size_t)CFG_NUM(R.cfg, admin_stream_buffer);

    (void)fd;
    (void)what;
    (void)arg;
    for (s = R.all; s; s = next) {
        next = s->next;
        if (dstr_backlog(s) > cap) {
            shm_master_add(R.seg, CTR_admin_streams_cut, 1);
            log_msg(LOG_NOTICE, "/api/stream: a reader %zu bytes behind "
                "(admin_stream_buffer) was cut off", dstr_backlog(s));
            dstr_end(s);
            continue;
        }
        (void)dstr_send(s);
    }
}

void
dstr_stop(void)
{
    while (R.all)
        dstr_end(R.all);
    if (R.tick)
        event_free(R.tick);
    R.tick = NULL;
}
