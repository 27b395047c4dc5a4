/*
 * Room membership of one worker: a hash of rooms, each with a doubly
 * linked list of members, and a hash of (owner, room) pairs, so join,
 * leave and membership tests are O(1) and fan-out is O(members). Owners
 * are opaque (the client model in cli.c); each owner keeps the head of
 * its own membership list (a membership id, 0: none) for leave-all.
 */
#ifndef WSGATE_WORKER_ROOM_H
#define WSGATE_WORKER_ROOM_H

#include <stddef.h>
#include <stdint.h>

struct room;

/* One owner's membership of one room: 32 bytes in a block of the
 * worker's membership slab (room.c), linked by 32-bit ids (0: none), not
 * a 56-byte struct in a 64-byte malloc chunk (BENCHMARKS.md, memory per
 * idle connection); the (owner, room) hash is an open-addressing table of
 * ids, so a membership holds no chain link. Fields are read-only outside
 * room.c; walk a room with room_next, an owner's list with room_onext. */
struct room_member {
    void *owner;
    struct room *room;
    uint32_t rprev, rnext; /* in the room; rnext: the free list */
    uint32_t oprev, onext; /* in the owner's list */
};

#define ROOM_BLK_SHIFT 8 /* 256 memberships (8 KB) per slab block */

/* The slab's blocks, for room_at (room.c owns them). */
extern struct room_member **room_blk_;

/* Membership id to pointer (0: NULL). */
static inline struct room_member *
room_at(uint32_t id)
{
    return id ? &room_blk_[(id - 1) >> ROOM_BLK_SHIFT]
        [(id - 1) & ((1u << ROOM_BLK_SHIFT) - 1)] : NULL;
}

static inline struct room_member *
room_next(const struct room_member *m)
{
    return room_at(m->rnext);
}

static inline struct room_member *
room_onext(const struct room_member *m)
{
    return room_at(m->onext);
}

/* Set up the tables. 0 or -1. */
int room_init(void);

/* Free every room and membership (for tests and exit). */
void room_reset(void);

/* Join owner to the room (created on first join). *list is the owner's
 * membership list head (its first membership's id; room_at reads it).
 * Returns 1 if joined now, 0 if already a member, -1 when out of
 * memory. */
int room_join(void *owner, uint32_t *list, const char *name, size_t len);

/* Leave. Returns 1 if it was a member, 0 if not. An empty room is freed. */
int room_leave(void *owner, uint32_t *list, const char *name, size_t len);

/* Leave every room of the owner. */
void room_leave_all(void *owner, uint32_t *list);

/* 1 if owner is in the room. */
int room_is_member(void *owner, const char *name, size_t len);

/* The room or NULL; its members from room_first(). */
struct room *room_find(const char *name, size_t len);
struct room_member *room_first(const struct room *r);
const char *room_name(const struct room *r, size_t *len);
uint32_t room_size(const struct room *r);

/* Totals: rooms, memberships, slab blocks held. */
size_t room_count(void);
size_t room_subscriptions(void);
size_t room_blocks(void);

/* Fill up to n of the largest rooms (by members) into out, largest
 * first. Returns how many. O(rooms). */
size_t room_top(const struct room **out, size_t n);

#endif
