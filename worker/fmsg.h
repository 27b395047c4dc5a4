/*
 * The fan-out's shared types: a log entry being delivered (struct fan_msg,
 * with the protocols' frames cached in it), a shared block of one read
 * batch (struct fan_block, worker/fbk.h) and the protocols' block encoder
 * (fan_append_fn). Both the log reader (worker/fan.h) and the blocks
 * (worker/fbk.h) stand on them; the protocols see them through fan.h.
 */
#ifndef WSGATE_WORKER_FMSG_H
#define WSGATE_WORKER_FMSG_H

#include <stddef.h>
#include <stdint.h>

#include "common/msg.h"

struct ws_batch;

/* One log entry being delivered, with the protocols' encoded frames. */
struct fan_msg {
    uint64_t seq;
    uint64_t off;   /* the offset clients see (fan_offset of seq) */
    int64_t ts_us;
    struct msg_view v;
    /* /ws JSON: frame for the room in wsj_room (re-encoded per room). */
    struct ws_batch *wsj;
    const void *wsj_room;
    int wsj_room_set;
    /* Socket.IO: one message for all recipients in namespace "/". */
    struct ws_batch *sio;
};

/* A block's audience filter (worker/fbk.c). */
struct fan_filt;

/* Publishes of one read batch to one audience: a room (room[0..rlen)) or,
 * with all, every client (worker/fbk.h); with filt, those of them in its
 * namespace (emitter broadcasts) and in none of its except rooms. Every
 * protocol's encoding of them is framed back to back, so each member
 * gets them with one reference and its connection one write. */
struct fan_block {
    struct fan_block *next, *hnext;
    char room[MSG_ROOM_MAX + 8];
    size_t rlen;
    int all;                /* every client, messages without a room */
    /* Emitter broadcasts (MSG_EMIT) of one namespace: the Socket.IO
     * messages are encoded for it, binary attachments included, and go
     * to every member as they are (not re-addressed per namespace). */
    int emit;
    struct fan_filt *filt;  /* NULL: the whole room, or every client */
    uint32_t n;             /* messages */
    uint32_t serial;        /* creation order (fbk.c) */
    int closed;             /* takes no more entries (fbk.c) */
    uint64_t members;       /* audience when made (the delivery budget) */
    unsigned kinds;         /* the encodings its members read (below) */
    struct ws_batch *wsj;   /* /ws JSON event frames */
    struct ws_batch *sio;   /* Socket.IO "42[...]" messages (namespace /) */
    uint32_t *obs, nobs, cobs; /* its entries' latency records (fan.c) */
};

/* fan_block.kinds: wsj is built when a member reads it (a /ws client),
 * sio when one reads that (a Socket.IO client, of any namespace). A
 * block's audience can only shrink between its making and its delivery
 * (the same callback), so what its members were then is what it needs. */
#define FAN_BLOCK_WSJ 1u
#define FAN_BLOCK_SIO 2u

/* A protocol's encoder for blocks: append m's message, as a member of
 * room[0..rlen) receives it (room NULL: no room, as everyone-publishes
 * and broadcasts read), to b; an emitter broadcast's (MSG_EMIT) in its
 * own namespace, with its binary attachments after it. 0 or -1 (out of
 * memory). */
typedef int (*fan_append_fn)(struct ws_batch *b, const struct fan_msg *m,
    const char *room, size_t rlen);

#endif
