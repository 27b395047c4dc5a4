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

struct shm_segment;

/* Two kinds of hand-off sockets. Per slot: read by the slot's current
 * worker, for requests without a session (what a draining worker had not
 * answered yet). Per worker record: read by the one worker of that record
 * for the requests of the sessions it created (a session id names its
 * record), draining or not, so a reload does not cut them off.
 * recv_fd / rec_recv_fd: this worker's receiving ends; send_fds[0..n) and
 * rec_send_fds[0..SHM_NRECORDS): every slot's and record's sending end (-1
 * where none). Borrows the arrays' values (the fds stay open for the
 * worker's life) and seg (record states). 0 or -1. */
int hof_init(struct event_base *base, const struct shm_segment *seg,
    int recv_fd, const int *send_fds, unsigned n, int rec_recv_fd,
    const int *rec_send_fds);

/* Stop taking the slot's hand-offs (a draining worker leaves them to its
 * slot's successor); those of its own sessions still come. */
void hof_stop(void);

/* Send c (its descriptor and everything in its input) to the worker of
 * slot, then let go of c. Replies 503 and closes if that is impossible.
 * c must not be touched afterwards. */
void hof_forward(struct conn *c, unsigned slot);

/* 1 if worker record rec has a live worker (started, running or
 * draining), which may own sessions. */
int hof_rec_alive(unsigned rec);

/* hof_forward, to the worker of record rec. */
void hof_forward_rec(struct conn *c, unsigned rec);

#endif
