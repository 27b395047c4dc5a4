/*
 * The event proxy (issue 14): client events whose names match
 * event_proxy_events (Socket.IO EVENT, /ws "emit") are POSTed to
 * event_proxy_url; the backend's reply becomes the client's ack and may
 * ask for publishes to rooms in the same step. Off when the URL is empty.
 */
#ifndef WSGATE_WORKER_EPX_H
#define WSGATE_WORKER_EPX_H

#include <stddef.h>

struct cfg;
struct cli;
struct event_base;
struct json_t;

/* What is forwarded (borrowed for the call). */
struct epx_ctx {
    const char *conn;     /* the connection's id */
    const char *protocol; /* "socket.io" or "ws" */
    const char *event;
    size_t event_len;
    const struct json_t *data; /* NULL: null */
};

/* The ack for the client (taken: json_decref it). The callee owns arg. */
typedef void (*epx_done_fn)(struct cli *cl, struct json_t *ack, void *arg);

/* Borrow base and c. 0, or -1 (logged) for a refused URL. */
int epx_init(struct event_base *base, const struct cfg *c);

/* Is the event proxy on and does event[0..len) match its list? */
int epx_match(const char *event, size_t len);

/*
 * Forward an event of cl. Returns 0: done(cl, ack, arg) runs later from
 * the loop (or free_arg(arg) if cl ends first); or -1 with *ack (new)
 * to send at once: event_proxy_max_inflight reached (TOO_MANY_REQUESTS)
 * or the queue full (BACKEND_UNAVAILABLE).
 */
int epx_forward(struct cli *cl, const struct epx_ctx *x, epx_done_fn done,
    void *arg, void (*free_arg)(void *), struct json_t **ack);

#endif
