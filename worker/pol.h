/*
 * The worker's readiness set for client sockets: one epoll instance,
 * watched by one libevent event, instead of a libevent event per socket
 * (128 bytes each, plus libevent's per-descriptor map). Level-triggered,
 * like libevent's persistent events; pol knows descriptors and an opaque
 * pointer per descriptor, not connections (conn.c is its user).
 */
#ifndef WSGATE_WORKER_POL_H
#define WSGATE_WORKER_POL_H

struct event_base;

#define POL_READ 1u  /* readable, or an error or hang-up to read */
#define POL_WRITE 2u /* writable, or an error or hang-up */

/* What a ready descriptor's owner is told, from the loop (pol's libevent
 * callback): arg as given to pol_add, what a mask of POL_READ and
 * POL_WRITE (only those it asked for, but an error or hang-up counts as
 * both). fn may pol_del any descriptor, its own too: a descriptor taken
 * out is not reported again, even later in the same batch. */
typedef void (*pol_fn)(void *arg, unsigned what);

/* Make the set and watch it from base. Borrows base for the worker's
 * life. 0, or -1 (logged). */
int pol_init(struct event_base *base, pol_fn fn);

/* Watch fd for what (POL_READ and/or POL_WRITE) on behalf of arg, or
 * change what it is watched for (pol_mod). 0, or -1 (errno set). */
int pol_add(int fd, void *arg, unsigned what);
int pol_mod(int fd, void *arg, unsigned what);

/* Stop watching fd (before it is closed: a descriptor passed to another
 * process would stay in the set) and forget arg for the rest of the
 * batch being dispatched. */
void pol_del(int fd, void *arg);

#endif
