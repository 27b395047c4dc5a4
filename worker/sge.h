/*
 * The Socket.IO gateway's client events (DESIGN §3): the built-ins
 * subscribe, unsubscribe, ping and auth:refresh, the events forwarded to
 * the backend (epx.h), and UNKNOWN_EVENT for the rest, each answered with
 * its ack. Below skt, which gives it the session side through sge_ops.
 */
#ifndef WSGATE_WORKER_SGE_H
#define WSGATE_WORKER_SGE_H

#include <stddef.h>

#include "worker/cpx.h"

struct cli;
struct sio_packet;

/* What skt does for this module; cl is a namespace connection's client. */
struct sge_ops {
    /* Send the Socket.IO packet text p[0..n). */
    void (*send)(struct cli *cl, const char *p, size_t n);
    /* Its rooms changed: store them for recovery. */
    void (*store)(struct cli *cl);
    /* Its Socket.IO socket id. */
    const char *(*sid)(struct cli *cl);
    /* The connect proxy's context for a check of token tok (borrowed). */
    struct cpx_ctx (*ctx)(struct cli *cl, const char *tok,
        const char *reason);
    /* End the session (out of memory). */
    void (*close)(struct cli *cl, const char *reason);
};

/* Borrow ops for the worker's life. */
void sge_init(const struct sge_ops *ops);

/* Handle the EVENT pk (its first element a string) of a connected
 * namespace connection; may end it (cli_kick). */
void sge_event(struct cli *cl, const struct sio_packet *pk);

#endif
