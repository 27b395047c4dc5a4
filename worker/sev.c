/*
 * Socket.IO event messages of log entries (sev.h). A publish carries one
 * data value: 42["event",data,"offset"]. An emitter broadcast (EMIT)
 * carries its arguments as the backend sent them, and its binary ones as
 * attachments: 45<n>-["event",{"_placeholder":true,"num":0},"offset"]
 * followed by n binary messages, as socket.io-parser writes them.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/evj.h"
#include "common/sio.h"
#include "common/wsf.h"
#include "worker/fan.h"
#include "worker/sev.h"
#include "worker/ws.h"

/* The EMIT packet: its JSON array built by evj, framed by sio_encode. */
static char *
sev_emit_text(const struct fan_msg *m, const char *nsp, const char *off,
    size_t *len)
{
    size_t jn = evj_sio_array(&m->v, off, NULL, 0), n, cap;
    enum sio_type type = m->v.nattach ? SIO_BINARY_EVENT : SIO_EVENT;
    char *json = malloc(jn + 1), *out = NULL;

    if (json == NULL)
        return NULL;
    evj_sio_array(&m->v, off, json, jn + 1);
    n = sio_encode(NULL, 0, type, nsp, SIO_ACK_NONE, json, jn,
        m->v.nattach);
    if (n > 0 && (out = malloc((cap = n + 2))) != NULL) {
        out[0] = '4'; /* the Engine.IO message type */
        sio_encode(out + 1, cap - 1, type, nsp, SIO_ACK_NONE, json, jn,
            m->v.nattach);
        *len = n + 1;
    }
    free(json);
    return out;
}

char *
sev_text(const struct fan_msg *m, const char *nsp, size_t *len)
{
    char ev[MSG_ROOM_MAX + 1], off[24];
    size_t n, cap;
    char *out;

    snprintf(off, sizeof(off), "%llu", (unsigned long long)m->off);
    if (m->v.kind == MSG_EMIT)
        return sev_emit_text(m, nsp, off, len);
    snprintf(ev, sizeof(ev), "%.*s", (int)m->v.event.n, m->v.event.p);
    n = sio_encode_event(NULL, 0, nsp, SIO_ACK_NONE, ev, m->v.data.p,
        m->v.data.n, off);
    if (n == 0)
        return NULL;
    cap = n + 2;
    out = malloc(cap);
    if (out == NULL)
        return NULL;
    out[0] = '4'; /* the Engine.IO message type */
    sio_encode_event(out + 1, cap - 1, nsp, SIO_ACK_NONE, ev, m->v.data.p,
        m->v.data.n, off);
    *len = n + 1;
    return out;
}

struct ws_batch *
sev_frames(const struct fan_msg *m, const char *nsp)
{
    struct ws_batch *b = ws_batch_new();

    if (b != NULL && sev_append(b, m, nsp) == -1) {
        ws_batch_unref(b);
        b = NULL;
    }
    return b;
}

int
sev_append(struct ws_batch *b, const struct fan_msg *m, const char *nsp)
{
    size_t n;
    char *t = sev_text(m, nsp, &n);
    int rc = t ? ws_batch_append(b, WSF_OP_TEXT, t, n) : -1;

    free(t);
    for (size_t i = 0; rc == 0 && m->v.kind == MSG_EMIT
         && i < m->v.nattach; i++)
        rc = ws_batch_append(b, WSF_OP_BINARY, m->v.attach[i].p,
            m->v.attach[i].n);
    return rc;
}
