/*
 * WebSocket receive path: frames parsed with common/wsf.c as bytes arrive,
 * text unmasked and UTF-8-checked incrementally (an invalid byte fails the
 * connection at once, 1007), fragments collected up to max_message_size,
 * compressed messages inflated, control frames answered. A message that
 * fits in one frame goes to the app straight from the input buffer.
 * Parser state lives in one scratch per worker while a read holds whole
 * frames; only a frame or message that a read ends inside keeps its own
 * (struct ws_x, worker/wsi.h), until it completes.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "common/log.h"
#include "common/pmd.h"
#include "common/wsf.h"
#include "worker/conn.h"
#include "worker/ws.h"
#include "worker/wsi.h"
#include "worker/wctr.h"

/* The scratch is poisoned while no read owns it, so that ASan reports a
 * use of parser state past the read that held it. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define WSR_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define WSR_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define WSR_POISON(p, n) ((void)(p), (void)(n))
#define WSR_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

static struct {
    uint64_t max_msg;
    struct ws *scratch_w;   /* whose read the scratch holds, NULL: free */
} R;
/* Parser state of the read being handled. */
static _Alignas(16) struct ws_x wsr_scratch;

void
wsr_init(uint64_t max_msg)
{
    R.max_msg = max_msg;
    WSR_POISON(&wsr_scratch, sizeof(wsr_scratch));
}

static void
wsr_x_init(struct ws_x *x)
{
    memset(x, 0, sizeof(*x));
    wsf_rx_init(&x->rx, R.max_msg);
}

/* Also for a deflater with context takeover outside a read. */
struct ws_x *
wsr_x_get(struct ws *w)
{
    if (w->x == NULL && (w->x = malloc(sizeof(*w->x))) != NULL) {
        wsr_x_init(w->x);
        WCTR_INC(ws_state_held);
    }
    return w->x;
}

void
wsr_drop(struct ws *w)
{
    struct ws_x *x = w->x;

    if (x == NULL)
        return;
    if (x->msg)
        evbuffer_free(x->msg);
    pmd_inflater_free(x->inf);
    pmd_deflater_free(x->def);
    if (x == &wsr_scratch) {
        R.scratch_w = NULL;
        WSR_POISON(x, sizeof(*x));
    } else {
        free(x);
        WCTR_DEC(ws_state_held);
    }
    w->x = NULL;
}

/* 1 while x must survive until the next read or send. */
static int
wsr_x_needed(const struct ws_x *x)
{
    return x->in_frame || x->rx.in_msg || x->msg || x->inf || x->def;
}

/* pmd sink: append to an evbuffer. */
static int
wsr_sink(void *arg, const unsigned char *p, size_t n)
{
    return evbuffer_add(arg, p, n);
}

/* Fail the connection for a protocol error (RFC 6455 §7.1.7). 0, or -1
 * when c is gone. */
static int
wsr_fail(struct conn *c, unsigned code, const char *why)
{
    if (code == WSF_CLOSE_TOO_BIG)
        WCTR_INC(ws_too_big);
    log_msg(LOG_DEBUG, "websocket %s failed: %s (%u)", conn_peer(c), why,
        code);
    return ws_close_frame(c, code, why);
}

/* Deliver a complete message to the app (after inflating it). */
static int
wsr_deliver(struct conn *c, struct ws *w, const unsigned char *p, size_t n)
{
    struct ws_x *x = w->x;
    int binary = x->rx.msg_op == WSF_OP_BINARY;
    struct evbuffer *plain = NULL;
    int rc;

    WCTR_INC(ws_messages_in);
    if (x->rx.compressed) {
        WCTR_ADD(ws_deflated_in, n);
        plain = evbuffer_new();
        if (x->inf == NULL)
            x->inf = pmd_inflater_new(&w->pmd);
        if (plain == NULL || x->inf == NULL) {
            if (plain)
                evbuffer_free(plain);
            return wsr_fail(c, WSF_CLOSE_INTERNAL, "out of memory");
        }
        int st = pmd_inflate(x->inf, p, n, 1, wsr_sink, plain,
            (size_t)R.max_msg);
        if (w->pmd.client_no_context_takeover) {
            /* Nothing carries over to the next message: hold nothing. */
            pmd_inflater_free(x->inf);
            x->inf = NULL;
        }
        if (st != PMD_OK) {
            evbuffer_free(plain);
            return wsr_fail(c, (unsigned)pmd_status_close_code(st),
                st == PMD_E_TOO_BIG ? "message too big"
                                    : "invalid compressed data");
        }
        n = evbuffer_get_length(plain);
        p = evbuffer_pullup(plain, -1);
        if (!binary && wsf_rx_text(&x->rx, p, n, 1) != WSF_OK) {
            evbuffer_free(plain);
            return wsr_fail(c, WSF_CLOSE_INVALID_DATA, "invalid UTF-8");
        }
    }
    WCTR_ADD(ws_payload_in, n);
    rc = ws_app_of(w)->on_message(c, binary,
        p ? p : (const unsigned char *)"", n);
    if (plain)
        evbuffer_free(plain);
    return rc;
}

/* A whole control frame payload (unmasked) is at p. */
static int
wsr_control(struct conn *c, struct ws *w, const unsigned char *p, size_t n)
{
    unsigned code;
    const unsigned char *reason;
    size_t rlen;
    enum wsf_status st;

    switch (w->x->h.opcode) {
    case WSF_OP_PING:
        return ws_send_ctrl(c, WSF_OP_PONG, p, n);
    case WSF_OP_PONG:
        return 0; /* unsolicited pongs are fine; traffic is traffic */
    case WSF_OP_CLOSE:
        st = wsf_close_parse(p, n, &code, &reason, &rlen);
        if (st != WSF_OK)
            return wsr_fail(c, wsf_status_close_code(st),
                wsf_status_str(st));
        if (w->flags & WS_F_CLOSE_SENT) {
            conn_close(c, "close handshake complete");
            return -1;
        }
        /* Echo the peer's code (RFC 6455 §5.5.1); an empty close gets an
         * empty close. */
        return ws_close_frame(c, code, code == WSF_CLOSE_NO_STATUS ? NULL
            : "closing");
    default:
        return wsr_fail(c, WSF_CLOSE_PROTOCOL, "unexpected opcode");
    }
}

/* Consume as many frames from the input as are available, with w's
 * parser state in x (w->x). Returns -1 if c is gone. */
static int
wsr_frames(struct conn *c, struct ws *w, struct ws_x *x)
{
    struct evbuffer *in = conn_in(c);
    unsigned flags = (w->flags & WS_F_PMD) ? WSF_F_RSV1 : 0;
    enum wsf_status st;

    for (;;) {
        size_t len = evbuffer_get_length(in);
        unsigned char *p;

        if (conn_closing(c))
            return 0;
        if (!x->in_frame) {
            size_t hn = len < WSF_MAX_HDR ? len : WSF_MAX_HDR;
            if (hn < 2)
                return 0;
            p = evbuffer_pullup(in, (ssize_t)hn);
            st = wsf_parse_hdr(p, hn, &x->h, flags);
            if (st == WSF_AGAIN)
                return 0;
            if (st == WSF_OK)
                st = wsf_rx_frame(&x->rx, &x->h);
            if (st != WSF_OK)
                return wsr_fail(c, wsf_status_close_code(st),
                    wsf_status_str(st));
            WCTR_INC(ws_frames_in);
            evbuffer_drain(in, x->h.hdr_len);
            len -= x->h.hdr_len;
            x->in_frame = 1;
            x->off = 0;
        }
        if (WSF_OP_IS_CONTROL(x->h.opcode)) {
            size_t n = (size_t)x->h.len;
            if (len < n)
                return 0;
            p = evbuffer_pullup(in, (ssize_t)n);
            if (n)
                wsf_unmask(p, n, x->h.key, 0);
            x->in_frame = 0;
            int rc = wsr_control(c, w, p, n);
            if (rc == -1)
                return -1;
            if (!conn_closing(c))
                evbuffer_drain(in, n);
            continue;
        }
        uint64_t left = x->h.len - x->off;
        size_t n = len < left ? len : (size_t)left;
        if (n == 0 && left > 0)
            return 0;
        p = n ? evbuffer_pullup(in, (ssize_t)n) : NULL;
        if (n) {
            wsf_unmask(p, n, x->h.key, x->off);
            st = wsf_rx_payload(&x->rx, p, n);
            if (st != WSF_OK)
                return wsr_fail(c, wsf_status_close_code(st),
                    wsf_status_str(st));
        }
        if (x->h.fin && x->off == 0 && n == left && x->msg == NULL) {
            /* Whole message in one frame, all here: no copy. */
            x->in_frame = 0;
            if (wsr_deliver(c, w, p, n) == -1)
                return -1;
            if (!conn_closing(c))
                evbuffer_drain(in, n);
            continue;
        }
        if (x->msg == NULL && (x->msg = evbuffer_new()) == NULL)
            return wsr_fail(c, WSF_CLOSE_INTERNAL, "out of memory");
        evbuffer_remove_buffer(in, x->msg, n);
        x->off += n;
        if (x->off < x->h.len)
            return 0;
        x->in_frame = 0;
        if (x->h.fin) {
            size_t ml = evbuffer_get_length(x->msg);
            const unsigned char *mp = evbuffer_pullup(x->msg, -1);
            int rc = wsr_deliver(c, w, mp, ml);
            if (rc == -1)
                return -1;
            if (conn_closing(c))
                return 0;
            evbuffer_free(x->msg);
            x->msg = NULL;
        }
    }
}

/* Parse what c's input holds. The parser state is the worker's scratch
 * unless c kept its own (a frame or message a read ended inside, or a
 * context-takeover stream), or the scratch is busy with a read this one
 * runs inside. Afterwards only what must survive until the next read is
 * kept, in its own allocation; a closing c keeps nothing (its input is
 * discarded from now on). Returns -1 if c is gone (ws_on_free released
 * the state). */
int
wsr_process(struct conn *c, struct ws *w)
{
    struct ws_x *x = w->x;

    if (x == NULL && R.scratch_w == NULL) {
        x = w->x = &wsr_scratch;
        R.scratch_w = w;
        WSR_UNPOISON(x, sizeof(*x));
        wsr_x_init(x);
    } else if (x == NULL && (x = wsr_x_get(w)) == NULL) {
        return wsr_fail(c, WSF_CLOSE_INTERNAL, "out of memory");
    }
    if (wsr_frames(c, w, x) == -1)
        return -1;
    if (conn_closing(c) || !wsr_x_needed(x)) {
        wsr_drop(w);
        return 0;
    }
    if (x != &wsr_scratch)
        return 0;
    /* A read ended inside a frame or a message: its state moves out of
     * the scratch until the message completes. */
    R.scratch_w = NULL;
    w->x = malloc(sizeof(*x));
    if (w->x == NULL) {
        w->x = x;
        R.scratch_w = w;
        wsr_drop(w);
        return wsr_fail(c, WSF_CLOSE_INTERNAL, "out of memory");
    }
    memcpy(w->x, x, sizeof(*x));
    WSR_POISON(x, sizeof(*x));
    WCTR_INC(ws_state_held);
    WCTR_INC(ws_parser_kept);
    return 0;
}

