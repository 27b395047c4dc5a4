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

/* The flags are bits in the padding after sid, so that the embedded
 * heartbeat node's state byte costs a session nothing. */
struct eng {
    char sid[EIO_SID_LEN + 1];
    unsigned polling : 1;
    unsigned upgraded : 1;
    unsigned closing : 1;
    unsigned probed : 1;      /* 3probe sent: polls are answered at once */
    unsigned peer_closed : 1; /* the client sent a close packet */
    unsigned limited : 1;     /* counted by lmt_conn_begin under lkey */
    struct eng *hnext;
    uint64_t lkey;          /* its client's IP key for the limits */
    const struct eng_app *app;
    void *app_st;
    struct conn *ws;        /* WebSocket transport */
    struct conn *probe;     /* WebSocket being probed for an upgrade */
    struct conn *poll;      /* held GET */
    struct evbuffer *pq;    /* polling payload waiting for a GET */
    struct hbt_node hb;     /* its place in the heartbeat (hbt.c) */
    char *origin;           /* for CORS on held polls */
};

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

/* One decoded packet from either transport. */
void eng_on_packet(struct eng *s, int type, int binary,
    const unsigned char *p, size_t n);

/* 3probe went out: the held poll gets its noop soon (see eng.c). */
void eng_probe_poll(struct eng *s);

/* The held poll c of an upgraded session: answered 400, as any poll
 * after an upgrade. */
void eng_poll_refuse(struct conn *c);

#endif
