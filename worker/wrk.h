/*
 * Worker process: its event loop, heartbeat, counter publication and
 * graceful drain. Entered right after fork; never returns.
 */
#ifndef WSGATE_WORKER_WRK_H
#define WSGATE_WORKER_WRK_H

struct cfg;
struct ltab;
struct mlog;
struct sess_table;
struct shm_segment;
struct ssl_ctx_st;

/* Run worker `slot` in shm record `rec`, accepting on listen_fd,
 * reading the message log when evfd fires, and taking hand-offs on
 * hof_recv (hof_send[0..nslots) reach every slot); those of the
 * sessions it creates on rec_hof_recv (rec_hof_send[0..SHM_NRECORDS)
 * reach every record's worker). rcv_fd is its end of
 * the recovery channel to the master and sess the recovery store (-1 and
 * NULL when the store is disabled), lt the limit tables. tls_fd and
 * tls_ctx: the slot's TLS listener and the master's TLS context (-1 and
 * NULL without tls_port). Borrows c, seg, log, sess and lt (inherited
 * from the master). Exits the process: 0 after a graceful
 * stop, WSG_EXIT_FATAL if it cannot start. */
void wrk_main(const struct cfg *c, struct shm_segment *seg, struct mlog *log,
    int rec, unsigned slot, int listen_fd, int evfd, int hof_recv,
    const int *hof_send, unsigned nslots, int rec_hof_recv,
    const int *rec_hof_send, int rcv_fd,
    const struct sess_table *sess, struct ltab *lt, int tls_fd,
    struct ssl_ctx_st *tls_ctx) __attribute__((noreturn));


#endif
