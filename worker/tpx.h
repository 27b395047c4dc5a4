/*
 * TLS relays: a TLS session cannot move to another process, so a request
 * on a TLS connection for a session another worker owns is handed over as
 * one end of a fresh socketpair (the owner adopts it like any handed-off
 * plain socket); the worker holding the TLS connection keeps the other
 * end and copies decrypted bytes both ways until either side ends. See
 * doc/design-tls.md.
 */
#ifndef WSGATE_WORKER_TPX_H
#define WSGATE_WORKER_TPX_H

struct conn;
struct event_base;

/* Relays run on base (borrowed). */
void tpx_init(struct event_base *base);

/* Make c, whose input was already sent along with the other end, the
 * relay of pfd (takes pfd): its protocol state is freed and its deadline
 * dropped. 0, or -1 after closing c (and pfd). */
int tpx_start(struct conn *c, int pfd);

#endif
