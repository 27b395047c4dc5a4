/*
 * The connection and rate limits of a worker (DESIGN §6), over the limit
 * tables every worker shares (shm/ltab.h): max_connections,
 * max_connections_per_ip and handshake_rate_per_ip for each /ws
 * connection and Engine.IO session, max_connections_per_user for each
 * authenticated client, and the per-connection message bucket
 * (client_message_rate, client_message_burst). Counts what it refuses.
 * At the bottom of worker/ with wctr: it includes no worker module.
 */
#ifndef WSGATE_WORKER_LMT_H
#define WSGATE_WORKER_LMT_H

#include <stddef.h>
#include <stdint.h>

struct cfg;
struct ltab;

/* Read the keys (borrows c) and use table lt (NULL: no connection
 * limits) as record rec's worker. */
void lmt_init(const struct cfg *c, struct ltab *lt, unsigned rec);

/* Why a connection was refused: the HTTP status, the error code and
 * message of the JSON error (static strings). */
struct lmt_refusal {
    int status;
    const char *code;
    const char *msg;
};

/* A new /ws connection or Engine.IO session from IP address ip[0..n) (4
 * or 16 bytes): take a handshake token and count it for the gateway and
 * its IP. Returns 0 and the key to give back to lmt_conn_end, or -1 with
 * *why filled (nothing counted; the refusal is counted). */
int lmt_conn_begin(const void *ip, size_t n, uint64_t *key,
    struct lmt_refusal *why);

/* The key lmt_conn_begin gives for ip[0..n) (0 without tables). */
uint64_t lmt_ip_key(const void *ip, size_t n);

/* The connection or session counted under key ended. */
void lmt_conn_end(uint64_t key);

/* A client of user user[0..n) authenticated: count it. Returns 1
 * (counted: call lmt_user_end with the same name when it ends), 0 (no
 * per-user limit: nothing counted), or -1 when max_connections_per_user
 * (or a full table) refuses it (the refusal is counted). */
int lmt_user_begin(const char *user, size_t n);
void lmt_user_end(const char *user, size_t n);

/* Message bucket of one connection, in two words of the caller's. */
void lmt_msg_init(uint32_t *tok, uint32_t *at);

/* An inbound message: 1 when client_message_rate allows it (or is 0), 0
 * when the bucket is empty (the caller sends an error and closes; count
 * it with lmt_msg_closed). */
int lmt_msg_take(uint32_t *tok, uint32_t *at);
void lmt_msg_closed(void);

#endif
