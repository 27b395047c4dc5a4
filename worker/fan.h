/*
 * Fan-out: a worker reads the shared message log when the master wakes it
 * (eventfd), in batches, and delivers each entry to its local clients:
 * room members, a user's connections, or everyone. Wire frames are built
 * once per message per protocol (the protocols cache them in fan_msg, and
 * encode the blocks of worker/fbk.h with the fan_append_fn they register).
 */
#ifndef WSGATE_WORKER_FAN_H
#define WSGATE_WORKER_FAN_H

#include <stddef.h>
#include <stdint.h>

#include "common/msg.h"
#include "worker/fmsg.h"

struct event_base;
struct mlog;
struct shm_worker;

/* Register the encoder that fills fan_block.wsj (the /ws JSON protocol)
 * or fan_block.sio (Socket.IO). Each protocol registers its own at init;
 * both must be set before the loop runs (fan_drain calls them). */
void fan_set_wsj_append(fan_append_fn fn);
void fan_set_sio_append(fan_append_fn fn);

struct gmap;

/* Start reading log from its current head; woken through evfd (taken).
 * me is this worker's record (log_done and control results); gm the
 * cluster offset map (shm/gmap.h). Borrows all for the worker's life. */
int fan_init(struct event_base *base, struct mlog *log, int evfd,
    struct shm_worker *me, const struct gmap *gm);

/* Read and deliver everything pending (also called after start). */
void fan_drain(void);

/* Seq of the last log entry this worker has dispatched: live fan-out
 * continues with the next one. */
uint64_t fan_position(void);

/* The offset clients see for log entry seq: seq itself on a single node,
 * the cluster-wide one in cluster mode (shm/gmap.h; 0 if unknown). */
uint64_t fan_offset(uint64_t seq);

/* A client's offset off as a log seq: the entries after *seq are those
 * with a higher offset. 0, 1 when this node's log misses some entries
 * after off (a gap: trimmed from the cluster stream before this node read
 * them, or from before it joined), or -1 when it cannot tell now. */
int fan_seq_of(uint64_t off, uint64_t *seq);

/* 1 when seq names an entry that was appended, or, in cluster mode, one
 * that may soon be: fewer than FAN_AHEAD_MAX entries ahead (a client that
 * moved from a node whose follower was ahead of this one's). A wait for
 * it is bounded by cli_wait. */
#define FAN_AHEAD_MAX 100000u
int fan_seq_coming(uint64_t seq);

/* 1 when seq names an entry that was appended (a client's offset may not
 * be ahead of the log). */
int fan_seq_appended(uint64_t seq);

/* 1 when the log can still be read from seq on (oldest held <= seq <=
 * next to be appended). */
int fan_seq_held(uint64_t seq);

/* Replay selector: 1 when publish v (entry seq) goes to the client being
 * replayed to, with *room and *rlen the room it reached it through (NULL for
 * everyone); 0 to skip it. */
typedef int (*fan_want_fn)(const struct msg_view *v, uint64_t seq,
    void *arg, const char **room, size_t *rlen);

struct cli;

/* Deliver to cl, through its ops and in log order, the publishes with seq
 * in (after, fan_position()] that want selects: what live fan-out will
 * not deliver. Synchronous, so nothing live comes in between. Returns the
 * number delivered, or -1 when the log no longer holds after + 1 (a gap:
 * nothing is delivered) or the read failed. Borrows cl; cl may be ended
 * by a delivery (slow consumer): then the count so far is returned and
 * *gone is set. */
long fan_replay(struct cli *cl, uint64_t after, fan_want_fn want, void *arg,
    int *gone);

/* A fan_want_fn for a client's own rooms (connection state recovery):
 * arg is the struct cli; everyone-publishes are included. */
int fan_want_member(const struct msg_view *v, uint64_t seq, void *arg,
    const char **room, size_t *rlen);

#endif
