/*
 * WebSocket connections (RFC 6455, RFC 7692) on top of conn.c: the upgrade
 * reply, frame reassembly with the codec in common/wsf.c, control frames,
 * the close handshake, keepalive pings, and the send path, including
 * frames built once and shared by reference between recipients.
 * Applications (the /ws JSON protocol, /echo) plug in as struct ws_app.
 */
#ifndef WSGATE_WORKER_WS_H
#define WSGATE_WORKER_WS_H

#include <stddef.h>
#include <stdint.h>

struct cfg;
struct conn;
struct hh_req;

struct ws_app {
    const char *name;
    /* Connection is open (101 queued). r is the upgrade request (valid
     * only during the call). May send or close. NULL allowed. */
    void (*on_open)(struct conn *c, const struct hh_req *r);
    /* A complete data message: text (valid UTF-8) when binary == 0.
     * p is borrowed for the call. Return -1 if c was closed. */
    int (*on_message)(struct conn *c, int binary, const unsigned char *p,
        size_t n);
    /* Connection is going away: free the app state. NULL allowed. */
    void (*on_close)(struct conn *c);
    /* 1 when the application keeps its own heartbeat (Engine.IO): no
     * WebSocket ping after ping_interval of quiet. */
    int own_heartbeat;
};

/* Read the keys ws needs from c (borrowed for the worker's life). */
int ws_init(const struct cfg *c);

/* Upgrade c, whose request head r was parsed and routed to app: validate
 * the handshake (replying with the HTTP error and closing on failure), or
 * queue the 101 reply, switch c to WebSocket and call app->on_open. head
 * is the number of input bytes r occupies (drained here). Returns -1 if c
 * was closed. */
int ws_upgrade(struct conn *c, const struct hh_req *r, size_t head,
    const struct ws_app *app);

/* App state pointer of a WebSocket connection. */
void *ws_app_state(struct conn *c);
void ws_set_app_state(struct conn *c, void *st);

/* Two words of a WebSocket connection for its app (zero at the upgrade;
 * wsj.c keeps its message-rate bucket there), in struct ws itself. */
uint32_t *ws_app_words(struct conn *c);

/* Frame and queue one data message (WSF_OP_TEXT or WSF_OP_BINARY),
 * compressing it when permessage-deflate was agreed. Returns 0, or -1 if
 * c was closed (e.g. as a slow consumer). */
int ws_send(struct conn *c, unsigned opcode, const void *p, size_t n);

/* Send a close frame with code and reason, then close after the flush.
 * Counts the code's class. */
void ws_close(struct conn *c, unsigned code, const char *reason);

/* A batch: one or more messages framed back to back in one refcounted
 * block, built once and queued by reference on every recipient, so a
 * connection gets one reference (and its loop iteration one write) for
 * all the messages a fan-out batch holds for it. A single shared message
 * is a batch of one. */
struct ws_batch;

/* New empty batch (one reference) or NULL. */
struct ws_batch *ws_batch_new(void);

/* Append one message (copied), WSF_OP_TEXT or WSF_OP_BINARY. 0 or -1
 * (out of memory). Appends are allowed only before the batch is first
 * sent. */
int ws_batch_append(struct ws_batch *b, unsigned opcode, const void *p,
    size_t n);

/* A new batch holding one message, or NULL. */
struct ws_batch *ws_batch_one(unsigned opcode, const void *p, size_t n);

/* Messages in b, and the i-th message's payload (borrowed). */
size_t ws_batch_count(const struct ws_batch *b);
const unsigned char *ws_batch_msg(const struct ws_batch *b, size_t i,
    size_t *n);
/* The i-th message's opcode (WSF_OP_TEXT or WSF_OP_BINARY). */
unsigned ws_batch_opcode(const struct ws_batch *b, size_t i);

/* Queue every message of b on c by one reference (compressed once per
 * batch for recipients without context takeover). 0 or -1 if c closed. */
int ws_send_batch(struct conn *c, struct ws_batch *b);

void ws_batch_unref(struct ws_batch *b);

/* Pings for idle connections, close after ping_timeout. */
void ws_tick(int64_t now_ms);

#endif
