/*
 * The public port's HTTP side: reads a request head within
 * handshake_timeout and a size bound, answers the few plain HTTP routes
 * (/socket-status) and hands upgrades to the protocol that owns the path.
 */
#ifndef WSGATE_WORKER_HTTP_H
#define WSGATE_WORKER_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct cfg;
struct conn;
struct hh_req;
struct shm_segment;

/* At most this many paths can be routed (http_route_add). */
#define HTTP_MAX_ROUTES 8

/* Serves a request routed to its path: r is the parsed head (valid during
 * the call), held in the first r->head_len bytes of conn_in(c). Takes c:
 * it must end up replied to, upgraded or closed. */
typedef void (*http_route_fn)(struct conn *c, const struct hh_req *r);

/* Borrow c and seg for the worker's life. 0 or -1. */
int http_init(const struct cfg *c, struct shm_segment *seg);

/* Serve requests for path (exact match; borrowed for the worker's life)
 * with fn. The protocols above http register their paths at their init,
 * so http knows none of them; other paths get the plain routes or a 404.
 * More than HTTP_MAX_ROUTES paths is a bug (assert). */
void http_route_add(const char *path, http_route_fn fn);

/* Start serving an accepted socket (takes fd). Returns its connection
 * (borrowed), or NULL (fd closed). */
struct conn *http_accept(int fd);

/* Serve a socket handed over by another worker; data[0..n) was already
 * read from it (copied). */
void http_adopt(int fd, const void *data, size_t n);

/* Expire connections whose head did not arrive in time. */
void http_tick(int64_t now_ms);

/* Takes a connection that waits for a request head (takes c). Returns
 * 0 if it closed c, 1 if it handed it on. */
typedef int (*http_drain_fn)(struct conn *c);

/* The worker is stopping: replies close their connections from now on,
 * and at conn_shutdown_all every connection still waiting for a request
 * head (a new one, part of a head read or not, or one kept alive between
 * requests) with no reply left to write goes to drain, which takes it;
 * drain NULL closes them. Borrows drain. */
void http_stop(http_drain_fn drain);

/* Stop treating c as an HTTP request connection (free the head parser,
 * cancel the head deadline) before another module takes it over with
 * conn_set_proto. */
void http_release(struct conn *c);

/* Send a complete HTTP/1.1 response with a JSON error body
 * {"ok":false,"error":{"code":code,"message":msg}} and close after it is
 * written. extra is zero or more "Name: value\r\n" lines (or NULL). */
void http_error(struct conn *c, int status, const char *code,
    const char *msg, const char *extra);

/* Send a complete response (status, content type, body) and close. */
void http_reply(struct conn *c, int status, const char *ctype,
    const char *extra, const char *body, size_t len);

#endif
