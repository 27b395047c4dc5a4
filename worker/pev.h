/*
 * Presence events (issue 14): when a user's connection joins or leaves a
 * room matching presence_events, the room gets a "presence" event
 * {room, user, action: join|leave}, published through the master like
 * any other (the worker hands it over on its channel, batched per loop
 * turn). Off when presence_events is empty.
 */
#ifndef WSGATE_WORKER_PEV_H
#define WSGATE_WORKER_PEV_H

#include <stddef.h>

struct cfg;
struct event_base;

/* Borrow base and c. 0, or -1 when out of memory. */
int pev_init(struct event_base *base, const struct cfg *c);

/* user (NUL-terminated) joined (join 1) or left room[0..len). Cheap when
 * off or when the room does not match. Never blocks. */
void pev_note(const char *room, size_t len, const char *user, int join);

#endif
