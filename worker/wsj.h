/*
 * The plain WebSocket JSON protocol on /ws (DESIGN §3): one JSON object
 * per text message, {"type": ...}. Replies and errors are JSON objects;
 * fatal errors are followed by a close frame.
 */
#ifndef WSGATE_WORKER_WSJ_H
#define WSGATE_WORKER_WSJ_H

#include <stddef.h>

struct cfg;
struct event_base;

/* Borrow base and c for the worker's life; serve /ws (http_route_add)
 * and encode fan-out room blocks (fan_set_wsj_append). */
void wsj_init(struct event_base *base, const struct cfg *c);

#endif
