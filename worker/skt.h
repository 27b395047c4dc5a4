/*
 * Socket.IO v5 over Engine.IO sessions (eng.c): namespaces, CONNECT with
 * the JWT in the auth payload, built-in events (subscribe, unsubscribe,
 * ping, auth:refresh) on the shared client model, published events and
 * forced disconnects; and, with echo_app, the sessions of the Socket.IO
 * echo test application the public protocol test suites expect (its
 * replies are echo.c's).
 */
#ifndef WSGATE_WORKER_SKT_H
#define WSGATE_WORKER_SKT_H

struct cfg;
struct event_base;

/* Borrow base and c for the worker's life; serve /socket.io/ (the
 * gateway, or the echo application when echo_app is on) through
 * http_route_add; encode fan-out room blocks (fan_set_sio_append). */
void skt_init(struct event_base *base, const struct cfg *c);

#endif
