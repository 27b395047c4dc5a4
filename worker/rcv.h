/*
 * Recovery, worker side: tells the master, over this worker's recovery
 * channel, which Socket.IO sessions it holds and how their connections
 * ended, and looks sessions up in the master's recoverable-session table
 * (shm/sess.h), which any worker reads without a lock. Low in worker/:
 * it includes wctr, common and shm only, and knows nothing of connections;
 * the Socket.IO layer calls it. The module is rcv ("recovery").
 */
#ifndef WSGATE_WORKER_RCV_H
#define WSGATE_WORKER_RCV_H

#include <stddef.h>
#include <stdint.h>

#include "shm/sess.h"

struct cfg;
struct event_base;

/* Messages the channel cannot take at once (EAGAIN) wait, in order, in a
 * queue of at most this many bytes (message bytes plus 16 of bookkeeping
 * each); beyond it a message is dropped and counted in
 * recovery_queue_drops. */
#define RCV_QUEUE_BYTES ((size_t)8 << 20)

/* A session's state in the store. */
enum rcv_state {
    RCV_LIVE = SESS_LIVE, /* a connection holds it */
    RCV_HELD = SESS_HELD, /* disconnected; recoverable until until_ms */
};

/* A copy of one stored session (plain memory, the caller's). */
struct rcv_session {
    char pid[SESS_ID_LEN + 1];   /* private session id */
    char sid[SESS_ID_LEN + 1];   /* Socket.IO socket id */
    char nsp[SESS_NSP_MAX + 1];  /* namespace */
    char user[SESS_USER_MAX + 1];/* user id; empty for none */
    /* Room names, each followed by a NUL, back to back: rooms_len bytes
     * (0 for none). Iterate with p += strlen(p) + 1 while
     * p < rooms + rooms_len. */
    char rooms[SESS_ROOMS_BYTES];
    size_t rooms_len;
    int state;                   /* enum rcv_state */
    int32_t owner;               /* pid of the worker that stored it */
    uint64_t tag;                /* that worker's connection tag */
    int64_t until_ms;            /* RCV_HELD: unix ms it expires */
};

/* Start: chan_fd is this worker's end of its recovery channel (-1: none),
 * table the master's mapping of sess_size(max_recoverable_sessions) bytes
 * (NULL: none); the worker maps it read-only from here on. Borrows base,
 * c and table; the channel stays open for the process's life. Without a
 * channel or table, or with recovery_window or max_recoverable_sessions
 * 0, recovery is off and every call below is a no-op that fails. 0, or -1
 * when an event cannot be created. */
int rcv_init(struct event_base *base, const struct cfg *c, int chan_fd,
    const void *table /* mapped table */);

/* A live Socket.IO connection's recoverable state, sent at connect and
 * again after every change of its rooms (full replacement). Takes nothing,
 * copies everything: room i is rooms[i][0..room_lens[i]); user may be NULL.
 * tag: unique per connection in this process (use rcv_tag()). Returns 0,
 * or -1 when it cannot be stored (rooms over SESS_ROOMS_BYTES with a NUL
 * each, nsp over SESS_NSP_MAX, an id empty or over SESS_ID_LEN: counted in
 * recovery_not_stored; queue full: counted in recovery_queue_drops;
 * recovery off: not counted). Never blocks. */
int rcv_put(uint64_t tag, const char *pid, const char *sid, const char *nsp,
    const char *user, const char *const *rooms, const size_t *room_lens,
    size_t nrooms);

/* The connection ended with a recoverable reason: keep it for
 * recovery_window from now. Ignored by the master unless this connection
 * (this process and tag) still holds pid. Never blocks. */
void rcv_hold(uint64_t tag, const char *pid);

/* The connection ended for good (client namespace disconnect, kicked):
 * forget it. Same conditions as rcv_hold. Never blocks. */
void rcv_drop(uint64_t tag, const char *pid);

/* Copy out the session named pid if it is LIVE or HELD and not expired:
 * fills *out. 0 found, -1 not (or recovery off). Lock-free read of shared
 * memory: no syscall but the clock, never blocks. A put, hold or drop sent
 * just before may not be applied yet: the master applies them in its own
 * loop. */
int rcv_lookup(const char *pid, struct rcv_session *out);

/* Cluster mode (redis_url): ask the master to bring pid's session from
 * Redis into the table, where another node may have left it; answered
 * with rcv_fetched. Never blocks. 0, or -1 (not sent: recovery off, not
 * in cluster mode, or the queue is full). */
int rcv_fetch(const char *pid);

/* 1 once the master has answered a fetch of pid (the table then has what
 * Redis had, or what it had before), consuming the answer; else 0. */
int rcv_fetched(const char *pid);

/* A new connection tag: unique within this process, and unlikely to
 * repeat in a later process that gets the same pid. */
uint64_t rcv_tag(void);

/* 1 when recovery is on (recovery_window > 0 and max_recoverable_sessions
 * > 0, with a channel and a valid table), else 0. */
int rcv_enabled(void);

/* Presence (shm/pmsg.h): fn(b, n) gets each query the master sends
 * (b borrowed for the call). */
typedef void (*rcv_query_fn)(const unsigned char *b, size_t n);
void rcv_on_query(rcv_query_fn fn);

/* Send datagram b[0..n) to the master (queued like the recovery
 * messages), recovery on or off. 0, or -1 (no channel, dropped). */
int rcv_send_any(const unsigned char *b, size_t n);

/* Worker exit: wait up to timeout_ms for the channel to take what is still
 * queued. Blocks (poll). What is left is lost; the master holds the live
 * sessions of a worker it reaps, so only room changes and drops are. */
void rcv_flush(int timeout_ms);

#endif
