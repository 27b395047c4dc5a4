/*
 * This worker's side of the event log: operational events (connects,
 * disconnects with their reason, auth failures, limit and slow-consumer
 * closes) appended to the event queue of its shm record (shm/evq.h),
 * which the master drains. At the bottom of worker/ beside wctr: it
 * includes no other worker module but wctr.
 */
#ifndef WSGATE_WORKER_WEV_H
#define WSGATE_WORKER_WEV_H

#include "shm/evq.h"

/* Append events to q (borrowed for the worker's life) from now on. Until
 * then, and with q NULL, events are discarded. */
void wev_init(struct evq *q);

/* Record one event now; peer and text are copied (either may be NULL).
 * Never blocks: when the master is a whole ring behind, the event is
 * dropped and counted (events_dropped). */
void wev_add(enum evq_kind kind, unsigned code, const char *peer,
    const char *text);

/* Whether events are recorded (skip formatting their text otherwise). */
int wev_on(void);

#endif
