/*
 * @socket.io/redis-emitter interop of the master (redis_url set and
 * redis_emitter on): a pub/sub subscriber on the Socket.IO channels, and a
 * Redis lease that makes exactly one node forward what it hears into the
 * cluster stream, so emitter messages get the stream's one order,
 * exactly-once delivery and recovery. doc/design-cluster.md says what is
 * guaranteed and what is not.
 */
#ifndef WSGATE_MASTER_REM_H
#define WSGATE_MASTER_REM_H

struct cfg;
struct event_base;
struct mlog;
struct shm_segment;

/* Start when the Redis link is enabled (rds_init ran) and c has
 * redis_emitter on; otherwise do nothing. Borrows every argument for the
 * master's life; the redis_emitter* keys are read here only. Returns 0,
 * or -1 if the event loop's objects cannot be made. */
int rem_init(struct event_base *base, struct mlog *log,
    struct shm_segment *seg, const struct cfg *c);

/* Close the subscriber and free everything (at master exit, before
 * rds_stop). The lease is not released: it expires. */
void rem_stop(void);

#endif
