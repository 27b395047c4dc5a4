/*
 * Recoverable sessions in Redis (cluster mode): the master mirrors its
 * recovery store (master/stor.c) into Redis, one hash per session
 * (<redis_stream>:sess:<pid>, fields own and data), so that a client can
 * recover its Socket.IO session on any node; and it brings a session from
 * Redis into its own store when a worker asks (SMSG_FETCH). Through the
 * link's command connection (master/rds.h); nothing when the link is not
 * enabled, and nothing while it is down (the local store still works;
 * the counters say what was not mirrored).
 *
 * Lifetimes: a held session's hash expires recovery_window after the
 * hold; a live one's is renewed with rss_hold (every recovery_window /
 * 2), so it outlives its node by at most recovery_window * 1.5 and a
 * client of a node that died can recover elsewhere. A hold or drop only
 * applies in Redis if the same connection (node incarnation, worker,
 * tag) still owns the hash: one that lost the session to a recovery on
 * another node cannot end it there.
 */
#ifndef WSGATE_MASTER_RSS_H
#define WSGATE_MASTER_RSS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cfg;
struct sess_rec;
struct shm_segment;

/* Key names for stream s (the redis_stream) and the counters' segment.
 * resync() runs when the link comes up after Redis restarted, or after
 * writes were skipped while it was down: the caller then rss_puts every
 * session it holds again. Borrows seg. */
void rss_init(const char *stream, struct shm_segment *seg,
    void (*resync)(void));

/* 1 when sessions are mirrored (cluster mode). */
int rss_enabled(void);

/* Mirror a PUT: enc[0..n) is the worker's datagram (shm/smsg.h), kept
 * as it is as the hash's data; owner the worker's pid. ttl_ms: how long
 * until it is renewed (rss_hold). */
void rss_put(const unsigned char *enc, size_t n, const char *pid,
    pid_t owner, uint64_t tag, int64_t ttl_ms);

/* Mirror a HOLD (expire in window_ms; also how a live session's hash is
 * renewed) or a DROP, if owner and tag still own pid's hash. */
void rss_hold(const char *pid, pid_t owner, uint64_t tag, int64_t window_ms);
void rss_drop(const char *pid, pid_t owner, uint64_t tag);


/* Bring pid's session from Redis: done(arg, rec, ours) once, with rec the
 * decoded session (borrowed for the call; owner, state and until_ms
 * zeroed) or NULL (none, Redis down, or bad data), and ours 1 when the
 * hash was written by this master (its store has the same or newer). */
typedef void (*rss_done_fn)(void *arg, const struct sess_rec *rec, int ours);
void rss_fetch(const char *pid, rss_done_fn done, void *arg);

#endif
