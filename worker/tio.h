/*
 * TLS under a worker's connections: the transport conn.c calls through
 * struct conn_io for the connections accepted on the TLS port. Per
 * connection state (the SSL object, the handshake deadline) lives in a
 * table indexed by descriptor, outside struct conn, so plain connections
 * pay nothing. Counts handshakes, resumptions and failures by reason, and
 * answers a plain-HTTP request on the TLS port with a 400.
 */
#ifndef WSGATE_WORKER_TIO_H
#define WSGATE_WORKER_TIO_H

#include <stdint.h>

struct conn;
struct ssl_ctx_st;

/* Serve TLS with ctx (borrowed: the master built it before fork and it
 * lives as long as this process), handshakes bounded by handshake_ms.
 * Registers the transport with conn. 0 or -1. */
int tio_init(struct ssl_ctx_st *ctx, int64_t handshake_ms);

/* Put the new connection c on TLS (server side; the handshake starts with
 * its first read). Returns 0, or -1 after closing c. */
int tio_start(struct conn *c);

/* Close connections whose handshake has not completed in time. */
void tio_tick(int64_t now_ms);

#endif
