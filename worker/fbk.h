/*
 * Shared blocks of the fan-out (fan.c): the publishes of one read batch
 * that go to a room, to a user, to several rooms, to everyone, admin
 * broadcasts, and emitter broadcasts (to everyone or to rooms, as
 * publishes), gathered per audience (a room, or every client; for
 * emitter broadcasts, those of them in its namespace and in none of its
 * except rooms; for several rooms sharing a client, each room but the
 * members of the target rooms before it) and encoded once per protocol,
 * so each member gets a block's messages with one reference and its
 * connection one write. Every client still gets its events in log order,
 * each once.
 */
#ifndef WSGATE_WORKER_FBK_H
#define WSGATE_WORKER_FBK_H

#include <stddef.h>
#include <stdint.h>

#include "worker/fmsg.h"

/* Blocks per read batch: a publish that needs one more is refused with
 * FBK_FULL, to be offered again after fbk_flush. */
#define FBK_MAX 1024
#define FBK_FULL 1

/* The encoders of fan_block.wsj and fan_block.sio (fan_set_*_append). */
void fbk_set_append(fan_append_fn wsj, fan_append_fn sio);

/* Add m (whose latency record is oi, see fbk_flush) to the blocks:
 * fbk_room for room name[0..len) (a user's room too), fbk_rooms for
 * every target room of m (each member once, labelled with the room it is
 * in), fbk_all for every client (no room label). An emitter broadcast
 * (MSG_EMIT) goes through fbk_rooms or fbk_all, to the clients of its
 * namespace in none of its except rooms. Returns 0 when m is taken (or
 * has no local member), FBK_FULL when this batch is out of blocks (flush,
 * then offer m again), -1 when it must take the per-message path after
 * fbk_flush: out of memory. Borrows m; its frames are built at once.
 * Never delivers, never ends a client. */
int fbk_room(const struct fan_msg *m, const char *name, size_t len,
    uint32_t oi);
int fbk_rooms(const struct fan_msg *m, uint32_t oi);
int fbk_all(const struct fan_msg *m, uint32_t oi);

/* Deliveries the pending blocks will make (entries times members when
 * they were made), for the fan-out's delivery budget. */
uint64_t fbk_pending(void);

/* Deliver and free every pending block, in the order they were made, to
 * its audience as it is now (authenticated clients only), counting the
 * deliveries; obs(oi, k) for each entry of a block that went to k
 * clients. A delivery may end the client it goes to (slow consumer). */
typedef void (*fbk_obs_fn)(uint32_t oi, uint64_t k);
void fbk_flush(fbk_obs_fn obs);

#endif
