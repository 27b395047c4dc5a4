/*
 * The Engine.IO heartbeat schedule of a worker's sessions: when each is
 * pinged, when its pong is late, and a deferred close ("doom"), with one
 * timer for all of them. hbt knows nodes, not sessions: what a ping, a
 * missed pong or a doom means is the caller's (eng.c), through struct
 * hbt_ops.
 */
#ifndef WSGATE_WORKER_HBT_H
#define WSGATE_WORKER_HBT_H

#include <stddef.h>
#include <stdint.h>

#include "common/dlq.h"

struct event_base;

/* A session's place in the heartbeat, embedded in the session. Zeroed
 * (calloc) it is in no queue. The members are hbt's own. */
struct hbt_node {
    struct dlq_node dn;     /* in one of hbt's queues, or in none */
    uint8_t state;          /* which queue (private to hbt.c) */
};

/* The struct that contains node n as member m. */
#define HBT_ENTRY(n, type, m) \
    ((type *)(void *)((char *)(n) - offsetof(type, m)))

/* What the heartbeat timer asks of the sessions, called from the timer
 * callback. n is borrowed; each may end n's session (and hbt_stop n). */
struct hbt_ops {
    /* 1 when a ping to n's session would reach its client now (an open
     * WebSocket, or a poll waiting); 0 when it would wait in a queue
     * until the client asks (see ping). */
    int (*ready)(const struct hbt_node *n);
    /* Ping n's session now. n already waits for its pong, due at this
     * batch's clock reading + ping_timeout + half a tick; but when the
     * ping cannot reach the client now (ready 0: a polling client with no
     * poll waiting), at the ping's due time + ping_timeout if that is
     * sooner, so a late timer does not keep an absent client alive past
     * ping_interval + ping_timeout; sending may
     * hbt_doom n or end its session. */
    void (*ping)(struct hbt_node *n);
    /* n's pong did not come in time: end its session. n is out of its
     * queue already. Also called from hbt_expire_if_late. */
    void (*timeout)(struct hbt_node *n);
    /* Optional: 1 when the pong (or anything) from n's client waits
     * unread in this worker (its socket's receive queue): the deadline
     * passed while this worker was late, not the client; n then waits
     * ping_timeout more instead of ending (its read restarts the cycle).
     * Asked only for a node whose deadline has passed. */
    int (*unread)(const struct hbt_node *n);
    /* n was doomed (hbt_doom): end its session. n is out of its queue
     * already. */
    void (*doom)(struct hbt_node *n);
};

/* Make the worker's one heartbeat timer on base with the sessions' cycle
 * (ping_interval_ms between a pong and the next ping, ping_timeout_ms
 * for the pong) and the tick both allow. Borrows base and ops for the
 * worker's life. 0, or -1 when the timer cannot be made. */
int hbt_init(struct event_base *base, int64_t ping_interval_ms,
    int64_t ping_timeout_ms, const struct hbt_ops *ops);

/* Start a heartbeat cycle for n (a new session, or its pong came): ops->
 * ping about ping_interval from now. Moves n out of whichever queue it
 * was in. A doomed n stays doomed (nothing happens). Borrows n, which
 * must stay put until hbt_stop. Does not re-enter the loop. */
void hbt_start(struct hbt_node *n);

/* Have n's session closed soon, from the heartbeat timer (ops->doom in
 * the loop's next round) rather than now: the caller may be in the middle
 * of a fan-out loop over clients that closing would free. Borrows n. */
void hbt_doom(struct hbt_node *n);

/* 1 once n is doomed (hbt_doom), for good; else 0. */
int hbt_doomed(const struct hbt_node *n);

/* If n's pong deadline has passed (whether or not the timer has run
 * since), end it now as the timer would: out of its queue, then
 * ops->timeout, and 1 (unless ops->unread says its answer is waiting:
 * then it waits ping_timeout more, and 0). Else 0 and nothing changes. For a request of n's
 * session that arrives after its deadline: it must find the session
 * ended, whatever the timer's lateness. ops->timeout may free n. */
int hbt_expire_if_late(struct hbt_node *n);

/* Take n out of the heartbeat (its session is ending; n may then be
 * freed). A node in no queue is left as it is. */
void hbt_stop(struct hbt_node *n);

#endif
