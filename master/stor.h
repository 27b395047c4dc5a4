/*
 * The recovery store, master side: owns the shared mapping of the
 * recoverable-session table (shm/sess.h) and is its only writer. It reads
 * every worker's recovery channel in the master's loop and applies what
 * arrives (put, hold, drop), holds the live sessions of a worker that is
 * gone, and forgets held sessions whose window passed, once a second. The
 * supervisor creates the channels before fork and tells it about workers.
 * The module is stor, not sess: sess_ is shm/sess.h's prefix.
 */
#ifndef WSGATE_MASTER_STOR_H
#define WSGATE_MASTER_STOR_H

#include <sys/types.h>

struct cfg;
struct event_base;
struct sess_table;
struct shm_segment;

/* Socket buffer asked for on each end of a recovery channel (the kernel
 * clamps it to net.core.wmem_max / rmem_max). */
#define STOR_CHAN_BUF (4 << 20)

/* Map the table for c's max_recoverable_sessions (nothing when 0) and arm
 * the expiry timer on base. Call once, before the first fork. Borrows base,
 * c (until stor_set_cfg) and seg. 0, or -1 (logged). */
int stor_init(struct event_base *base, const struct cfg *c,
    struct shm_segment *seg);

/* The mapping workers read (NULL when the store is disabled). Valid until
 * stor_stop. */
const struct sess_table *stor_table(void);

/* A reload took effect: use c's recovery_window from now on. Borrows c.
 * (max_recoverable_sessions cannot change: the supervisor refuses it.) */
void stor_set_cfg(const struct cfg *c);

/* After fork: read channel fd (the master's end) as the channel of the
 * worker pid in shm record rec. Takes fd. Never blocks. */
void stor_attach(unsigned rec, int fd, pid_t pid);

/* The worker of record rec was reaped: apply whatever it left on its
 * channel (read until EAGAIN or end of file), then hold every session it
 * still had live for recovery_window, and close the channel. Does nothing
 * for a record without a channel. */
void stor_detach(unsigned rec);

/* Master exit: close the channels, free the writer, unmap the table. */
void stor_stop(void);

/* Presence (shm/pmsg.h): fn(rec, b, n) gets each answer a worker sends
 * (b borrowed for the call). */
typedef void (*stor_answer_fn)(unsigned rec, const unsigned char *b,
    size_t n);
void stor_on_answer(stor_answer_fn fn);

/* Event proxy (shm/pmsg.h PMSG_PUBLISH): fn(json, n) gets the publishes
 * a worker hands over (borrowed for the call). */
typedef void (*stor_publish_fn)(const char *json, size_t n);
void stor_on_publish(stor_publish_fn fn);

/* Send datagram b[0..n) to the worker of record rec at once (never
 * blocks). 0, or -1 (no channel, full, failed). */
int stor_send(unsigned rec, const void *b, size_t n);

#endif
