/*
 * Test and diagnostic echo endpoints (echo_app = on): /echo sends every
 * WebSocket message back unchanged, the endpoint conformance suites drive.
 */
#ifndef WSGATE_WORKER_ECHO_H
#define WSGATE_WORKER_ECHO_H

struct cfg;

/* Serve /echo (http_route_add) when c's echo_app is on. Borrows c. */
void echo_init(const struct cfg *c);

#endif
