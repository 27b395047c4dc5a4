/*
 * Presence queries, master side (issue 14): GET /api/presence?room=R and
 * GET /api/user/ID ask every live worker over its channel (shm/pmsg.h),
 * merge the answers and reply, within a bounded wait.
 */
#ifndef WSGATE_MASTER_PRQ_H
#define WSGATE_MASTER_PRQ_H

#include <stddef.h>

struct event_base;
struct evhttp_request;
struct shm_segment;

/* Borrow base and seg. 0, or -1 (logged). */
int prq_init(struct event_base *base, struct shm_segment *seg);

/* Answer req (later, from the loop) with who is in room[0..len)
 * (kind 1) or where user[0..len) is connected (kind 2): 200 with the
 * merged view, "complete": false when a worker did not answer within
 * PRQ_WAIT_MS; 400 for a bad name, 503 BUSY when too many wait. */
void prq_ask(struct evhttp_request *req, int kind, const char *name,
    size_t len);

/* Drop every waiting request without a reply (the master stops). */
void prq_stop(void);

#endif
