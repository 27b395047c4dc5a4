/*
 * Presence, worker side (issue 14): answers the master's presence queries
 * (shm/pmsg.h) from this worker's room tables: who is in a room, and the
 * connections and rooms of a user.
 */
#ifndef WSGATE_WORKER_PRW_H
#define WSGATE_WORKER_PRW_H

/* Register with rcv. */
void prw_init(void);

#endif
