/*
 * The plain WebSocket JSON protocol on /ws (DESIGN §3): one JSON object
 * per text message, {"type": ...}. Replies and errors are JSON objects;
 * fatal errors are followed by a close frame.
 */
#ifndef WSGATE_WORKER_WSJ_H
#define WSGATE_WORKER_WSJ_H

struct cfg;
struct event_base;
struct ws_app;

extern const struct ws_app wsj_app;

/* Borrow base and c for the worker's life. */
void wsj_init(struct event_base *base, const struct cfg *c);

#endif
