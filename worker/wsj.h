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
struct fan_msg;
struct ws_batch;

/* Borrow base and c for the worker's life; serve /ws (http_route_add). */
void wsj_init(struct event_base *base, const struct cfg *c);

/* Append m's /ws event message for room to b (fan-out batches). 0/-1. */
int wsj_batch_append(struct ws_batch *b, const struct fan_msg *m,
    const char *room, size_t rlen);

#endif
