/*
 * Engine.IO sessions, inside: what eng.c (sessions, polling, requests,
 * heartbeat) and ews.c (the WebSocket transport and the upgrade) share.
 * No other module includes it: they use eng.h.
 */
#ifndef WSGATE_WORKER_ENGI_H
#define WSGATE_WORKER_ENGI_H

#include <stddef.h>
#include <stdint.h>

#include "common/eio.h"
#include "worker/hbt.h"

struct cfg;
struct conn;
struct eng_app;
struct evbuffer;
struct ws_app;

/* What only a session on polling, or during an upgrade, or one whose
 * handshake had an Origin needs (eng_side): an idle session on a
 * WebSocket has none. */
struct eng_side {
    struct conn *probe;     /* WebSocket being probed for an upgrade */
    struct conn *poll;      /* held GET */
    struct evbuffer *pq;    /* polling payload waiting for a GET */
    uint64_t lkey;          /* the limits' IP key (see eng_lkey) */
    char origin[];          /* for CORS and the connect proxy; "" if none */
};

/* One allocation per session: struct eng, then its application's state
 * (eng_app.state_size bytes, eng_app_state). The id is kept as its 15
 * raw bytes (eio_sid_format gives the string). The flags fill the byte
 * after it. */
struct eng {
    struct eng *hnext;
    struct hbt_node hb;     /* its place in the heartbeat (hbt.c) */
    unsigned char sid[EIO_SID_RANDOM];
    unsigned polling : 1;
    unsigned upgraded : 1;
    unsigned closing : 1;
    unsigned probed : 1;      /* 3probe sent: polls are answered at once */
    unsigned peer_closed : 1; /* the client sent a close packet */
    unsigned limited : 1;     /* counted by lmt_conn_begin (eng_lkey) */
    unsigned app : 2;         /* index of its eng_app (eng.c) */
    struct conn *ws;        /* WebSocket transport */
    struct eng_side *x;     /* NULL while not needed */
};

/* The side state of s, made if it has none. NULL when out of memory. */
struct eng_side *eng_side(struct eng *s);

/* s's application. */
const struct eng_app *eng_app_of(const struct eng *s);

/* Give back s's count in the limits now (its WebSocket is closing and
 * names its address; eng_close would no longer find it). */
void eng_limit_release(struct eng *s);

/* The WebSocket transport's application for ws_upgrade (ews.c registers
 * it at init: eng.c sits below ews.c). */
void eng_set_ws_app(const struct ws_app *app);

/* The configuration, and the application of the WebSocket being opened
 * now (set around ws_upgrade; NULL otherwise). */
const struct cfg *eng_cfg(void);
const struct eng_app *eng_pending_app(void);

/* The live session named sid[0..n) of this worker (one whose pong is
 * overdue ends now and is not found), or NULL. */
struct eng *eng_find_live(const char *sid, size_t n);

/* A new session of app on polling (polling != 0) or a WebSocket, its
 * heartbeat armed. NULL when out of memory. */
struct eng *eng_new(const struct eng_app *app, int polling,
    const char *origin, size_t olen);

/* After an upgrade: drop s's side state if nothing in it is needed. */
void eng_side_trim(struct eng *s);

/* One decoded packet from either transport. */
void eng_on_packet(struct eng *s, int type, int binary,
    const unsigned char *p, size_t n);

/* 3probe went out: the held poll gets its noop soon (see eng.c). */
void eng_probe_poll(struct eng *s);

/* The held poll c of an upgraded session: answered 400, as any poll
 * after an upgrade. */
void eng_poll_refuse(struct conn *c);

#endif
