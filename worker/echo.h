/*
 * Test and diagnostic echo endpoints (echo_app = on): /echo sends every
 * WebSocket message back unchanged, the endpoint conformance suites drive.
 */
#ifndef WSGATE_WORKER_ECHO_H
#define WSGATE_WORKER_ECHO_H

struct ws_app;

extern const struct ws_app echo_ws_app;

#endif
