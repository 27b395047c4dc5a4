/*
 * The sockets the master holds for its whole life, so that a worker's
 * respawn or a reload loses nothing queued on them: a public listener per
 * worker slot (SO_REUSEPORT; its accept queue survives the worker), a
 * hand-off socketpair per slot and per worker record (requests passed
 * between workers), and the admin listener until the admin server takes
 * it. One set per process.
 */
#ifndef WSGATE_MASTER_LSN_H
#define WSGATE_MASTER_LSN_H

#include <stdint.h>

struct cfg;

/* Probe that nobody else holds bind:port, then open slots [0, n) and the
 * records' hand-off pairs and the admin listener of c; remembers bind and
 * port. Logs and returns -1 on failure (nothing is left open). */
int lsn_bind(const struct cfg *c, unsigned n);

/* Make sure slots [0, n) have a listener on c's bind:port and a hand-off
 * pair (a reload that adds workers). 0, or -1 (logged; what was opened
 * stays open: the caller closes the slots it does not keep). */
int lsn_open_slots(const struct cfg *c, unsigned n);

/* Slot i's listener (-1 when closed), and closing it (a slot given up or
 * no longer in use; its hand-off pair stays). */
int lsn_slot_fd(unsigned i);
/* Slot i's TLS listener (tls_port), -1 when TLS is off; closed with the
 * slot. */
int lsn_slot_tls_fd(unsigned i);
void lsn_close_slot(unsigned i);

/* Hand-off sockets: end 0 is read by the slot's (record's) worker, end 1
 * written by every worker. */
int lsn_slot_hof(unsigned i, int end);
int lsn_rec_hof(unsigned r, int end);

/* The admin listener, handed over to the caller (-1 afterwards). */
int lsn_take_admin(void);

/* The public bind address and port opened (a reload may not change them). */
const char *lsn_bind_addr(void);
int64_t lsn_port(void);
int64_t lsn_tls_port(void);

/* In a worker of slot and record rec, whose slots are [0, nslots): 1 if
 * it must keep descriptor fd (its listener, the read ends meant for it,
 * every write end), 0 if it must close it. */
int lsn_child_keeps(int fd, unsigned slot, int rec, unsigned nslots);

/* Close everything still open (master exit). */
void lsn_close_all(void);

#endif
