/*
 * Test and diagnostic echo endpoints (echo_app = on), the ones the public
 * protocol and endpoint conformance suites drive: /echo sends every
 * WebSocket message back unchanged, /engine.io/ every Engine.IO message
 * packet; and the replies of the Socket.IO echo application, which skt.c
 * serves on /socket.io/ in this mode (its sessions and namespaces are
 * skt.c's, what it answers is here).
 */
#ifndef WSGATE_WORKER_ECHO_H
#define WSGATE_WORKER_ECHO_H

#include <stddef.h>

struct cfg;
struct eng;
struct event_base;
struct iovec;
struct sio_packet;

/* The namespaces the Socket.IO echo application offers besides "/"
 * (comma-separated, like the namespaces key). */
#define ECHO_SIO_NAMESPACES "/custom"

/* When c's echo_app is on, serve /echo and /engine.io/ (http_route_add).
 * Borrows base and c for the worker's life. */
void echo_init(struct event_base *base, const struct cfg *c);

/* The Socket.IO echo application has just answered pk, a CONNECT to nsp,
 * with 40 on session e: send the "auth" event the public suites expect,
 * ["auth", <the CONNECT payload or {}>]. On a WebSocket it leaves a few
 * milliseconds later in a write of its own (echo.c says why); a session
 * that closed meanwhile is skipped. Borrows all. */
void echo_sio_connected(struct eng *e, const struct sio_packet *pk,
    const char *nsp);

/* The Socket.IO echo application's answer to pk, an EVENT or
 * BINARY_EVENT on namespace nsp of session e whose attachments are
 * att[0..natt): "message" comes back as "message-back", and
 * "message-with-ack" as its ack with the same arguments; attachments go
 * back unchanged. Other events get nothing. Borrows all. */
void echo_sio_event(struct eng *e, const char *nsp,
    const struct sio_packet *pk, const struct iovec *att, size_t natt);

#endif
