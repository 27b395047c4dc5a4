/*
 * Hand-offs between workers: a request for a session owned by another
 * worker (Engine.IO polling, or the WebSocket upgrade of a polling
 * session) is passed to the owner together with its socket (SCM_RIGHTS)
 * and the bytes already read, over per-slot SOCK_SEQPACKET sockets the
 * master creates before fork. No sticky sessions needed on one machine.
 */
#ifndef WSGATE_WORKER_HOF_H
#define WSGATE_WORKER_HOF_H

#include <stddef.h>

struct conn;
struct event_base;

/* Maximum bytes that travel with a handed-off socket. */
#define HOF_MAX_DATA (256 * 1024)

/* recv_fd: this slot's receiving end; send_fds[0..n): every slot's
 * sending end (-1 where none). Borrows the array's values (the fds stay
 * open for the worker's life). 0 or -1. */
int hof_init(struct event_base *base, int recv_fd, const int *send_fds,
    unsigned n);

/* Stop taking hand-offs (a draining worker leaves them to its slot's
 * successor). */
void hof_stop(void);

/* Send c (its descriptor and everything in its input) to the worker of
 * slot, then let go of c. Replies 503 and closes if that is impossible.
 * c must not be touched afterwards. */
void hof_forward(struct conn *c, unsigned slot);

#endif
