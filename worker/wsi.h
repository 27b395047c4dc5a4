/*
 * WebSocket connections, inside: what ws.c (upgrade, send path, close,
 * keepalive) and wsr.c (the receive path: frames, messages, control
 * frames) share. No other module includes it: they use ws.h.
 */
#ifndef WSGATE_WORKER_WSI_H
#define WSGATE_WORKER_WSI_H

#include <stddef.h>
#include <stdint.h>

#include "common/pmd.h"
#include "common/wsf.h"

struct conn;
struct evbuffer;
struct ws_app;

/* What a connection holds only while it needs it: the parser state of a
 * frame or a fragmented message that a read ended inside, and the
 * compression streams kept with context takeover. A read that holds
 * whole frames parses them in the worker's one scratch (wsr.c);
 * only what must survive until the next read gets its own allocation,
 * freed again when the message completes (BENCHMARKS.md, memory per
 * idle connection, third round). */
struct ws_x {
    struct wsf_rx rx;
    struct wsf_hdr h;        /* current frame, while in_frame */
    uint64_t off;            /* payload bytes of the frame consumed */
    struct evbuffer *msg;    /* fragments of the message so far */
    struct pmd_inflater *inf; /* client context takeover only */
    struct pmd_deflater *def; /* server context takeover only */
    uint8_t in_frame;
};

enum {
    WS_F_PMD = 1u << 0,        /* permessage-deflate agreed (w->pmd) */
    WS_F_CLOSE_SENT = 1u << 1, /* our close frame is queued */
};

/* One per connection, all an idle one holds. */
struct ws {
    void *app_st;
    struct ws_x *x;          /* NULL, wsr.c's scratch while parsing, or own */
    uint32_t app_w[2];       /* ws_app_words */
    struct pmd_params pmd;   /* what was agreed, when WS_F_PMD */
    uint8_t app;             /* index in ws.c's table of apps */
    uint8_t flags;           /* WS_F_* */
};
_Static_assert(sizeof(struct ws) <= 32, "struct ws stays 32 bytes");

/* The app of w (its index in ws.c's table). */
const struct ws_app *ws_app_of(const struct ws *w);

/* Queue a control frame (payload <= 125 bytes, copied). 0, or -1 when c
 * must not be touched again. */
int ws_send_ctrl(struct conn *c, unsigned op, const unsigned char *p,
    size_t n);

/* ws_close; -1 when c must not be touched again (closed for lack of
 * memory, or ended as a slow consumer). */
int ws_close_frame(struct conn *c, unsigned code, const char *reason);

/* Receive path (wsr.c). wsr_init: the largest message accepted.
 * wsr_process: parse what c's input holds (see wsr.c); -1 if c is gone.
 * wsr_x_get: w's own extra state, allocated if it has none, or NULL.
 * wsr_drop: free everything w->x holds (w->x NULL after). */
void wsr_init(uint64_t max_msg);
int wsr_process(struct conn *c, struct ws *w);
struct ws_x *wsr_x_get(struct ws *w);
void wsr_drop(struct ws *w);

#endif
