/*
 * Engine.IO v4 sessions of a worker: the handshake, the WebSocket and
 * HTTP long-polling transports, the upgrade from polling to WebSocket,
 * the heartbeat, and hand-offs of requests for sessions another worker
 * owns. An application (Socket.IO in skt.c, or the raw echo test app)
 * sees whole messages through struct eng_app.
 */
#ifndef WSGATE_WORKER_ENG_H
#define WSGATE_WORKER_ENG_H

#include <stddef.h>
#include <stdint.h>

#include "common/eio.h"

struct cfg;
struct conn;
struct event_base;
struct hh_req;
struct eng;

struct eng_app {
    const char *name;
    /* Bytes of state the application keeps per session: allocated with
     * the session, zeroed, after it (eng_app_state), freed with it. */
    size_t state_size;
    /* A session opened; r is its handshake request (valid during the
     * call). Return -1 to refuse (the session is closed). */
    int (*on_open)(struct eng *s, const struct hh_req *r);
    /* A message packet: text (binary == 0) or binary. p is borrowed. */
    void (*on_message)(struct eng *s, int binary, const unsigned char *p,
        size_t n);
    /* The session is going away: free what the app state holds (the
     * state itself goes with the session). Also called after on_open
     * refused it, and with the state still zeroed when on_open was not
     * called. */
    void (*on_close)(struct eng *s, const char *reason);
};

/* Borrow base and c for the worker's life; slot is this worker's slot
 * (encoded in session ids). 0 or -1. */
/* rec: this worker's record, which the session ids it makes name (their
 * requests are handed to it, see hof.h). */
int eng_init(struct event_base *base, const struct cfg *c, unsigned rec);

/* The worker drains. keep: a reload, the sessions' held polls stay and
 * their requests are served until the clients end them (no new upgrade
 * to WebSocket is taken); otherwise held polls are closed at
 * conn_shutdown_all, as any connection. */
void eng_stop(int keep);

/* Serve a request on an Engine.IO path for app: handshake, poll, post,
 * or WebSocket upgrade. head is the request head's length in the
 * connection's input. */
void eng_request(struct conn *c, const struct hh_req *r, size_t head,
    const struct eng_app *app);

/* The application's state of s (state_size bytes, 8-byte aligned),
 * and the session of such a state. */
void *eng_app_state(struct eng *s);
struct eng *eng_of_state(void *st);

/* The id of s as a string, in buf (returned). */
const char *eng_sid(const struct eng *s, char buf[EIO_SID_LEN + 1]);

/* 1 when s's live transport is a WebSocket (0: long-polling). */
int eng_on_websocket(const struct eng *s);

/* The live session of this worker named sid (NUL-terminated), or NULL. */
struct eng *eng_by_sid(const char *sid);

/* The Origin of the session's polling handshake (NULL when it had none),
 * and the peer of its current transport as "ip:port" (static buffer;
 * NULL between polls). For the connect proxy. */
const char *eng_origin(const struct eng *s);
const char *eng_peer(const struct eng *s);

/* Send one message packet (text when binary == 0). 0, or -1 if the
 * session is gone. */
int eng_send(struct eng *s, int binary, const void *p, size_t n);

/* Send every message of b (Engine.IO text messages, "4...", and binary
 * messages, sent as Engine.IO binary messages) in order:
 * by one reference on the WebSocket transport, copied into the polling
 * payload otherwise. */
struct ws_batch;
int eng_send_batch(struct eng *s, struct ws_batch *b);

/* Close the session (sends the close packet where possible). */
void eng_close(struct eng *s, const char *reason);


#endif
