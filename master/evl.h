/*
 * The event log of the master: a bounded ring of the last event_log_size
 * operational events (from the workers' event queues, shm/evq.h, and the
 * master's own: admin actions, respawns, reloads), each with a sequence
 * number that only grows, so a reader of /api/events sees what it missed
 * when the ring wrapped. Pure data structure: no I/O, no event loop.
 */
#ifndef WSGATE_MASTER_EVL_H
#define WSGATE_MASTER_EVL_H

#include <stddef.h>
#include <stdint.h>

#include "shm/evq.h"

struct evbuffer;
struct evl;

#define EVL_TEXT 128u

struct evl_ent {
    uint64_t seq;      /* 1, 2, ... */
    int64_t ms;        /* unix ms */
    uint16_t kind;     /* enum evq_kind */
    uint16_t code;     /* close code or status, 0 if none */
    int32_t slot;      /* worker slot, -1 for the master */
    int32_t pid;       /* process that saw it */
    char peer[EVQ_PEER];
    char text[EVL_TEXT];
};

/* A ring of cap entries (cap >= 1). Returns new (evl_free) or NULL. */
struct evl *evl_new(size_t cap);

/* Free *l and clear it. Accepts NULL. */
void evl_free(struct evl **l);

/* Keep the newest min(held, cap) entries in a ring of cap entries;
 * sequence numbers go on. Returns 0, or -1 (out of memory, unchanged). */
int evl_resize(struct evl *l, size_t cap);

/* Append e (borrowed; its seq is ignored). Returns the seq given. */
uint64_t evl_add(struct evl *l, const struct evl_ent *e);

/* The oldest seq held (next_seq when empty) and the seq the next entry
 * will get. */
uint64_t evl_first_seq(const struct evl *l);
uint64_t evl_next_seq(const struct evl *l);

/* The entry with sequence number seq, or NULL when not held (borrowed
 * until the next evl_add or evl_resize). */
const struct evl_ent *evl_get(const struct evl *l, uint64_t seq);

/* Append the /api/events JSON object to out: with since (has_since), the
 * entries from seq since on, oldest first, at most limit; without, the
 * newest limit entries, oldest first. The reply carries first_seq,
 * next_seq, next (the since to ask for next time), missed (entries from
 * since on that the ring no longer holds) and more (entries left after
 * this page). */
void evl_json(const struct evl *l, int has_since, uint64_t since,
    size_t limit, struct evbuffer *out);

#endif
