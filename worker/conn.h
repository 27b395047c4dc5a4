/*
 * Client connections of a worker: socket I/O into lazily allocated
 * evbuffers, batched flushing (each connection gets at most one write per
 * loop iteration carrying all its pending bytes), deadline queues, and the
 * single exit conn_close(). Protocol code (http.c, ws.c, ...) plugs in
 * through struct conn_proto.
 */
#ifndef WSGATE_WORKER_CONN_H
#define WSGATE_WORKER_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "common/dlq.h"

struct conn;
struct evbuffer;
struct event_base;

/* What a protocol does with a connection. on_read is called with new
 * bytes in conn_in(c); it may close c (then it must return at once and
 * return -1). on_shutdown asks it to end the connection politely for a
 * graceful stop or a reload: it returns 0 when it ends c (c may be gone
 * already), 1 when c stays or was handed on (not counted as a shutdown
 * close); on_free releases its state. */
struct conn_proto {
    const char *name;
    int (*on_read)(struct conn *c);
    int (*on_shutdown)(struct conn *c);
    void (*on_free)(struct conn *c);
    /* Output passed max_outbound_buffer: end c (counted already). NULL:
     * conn_close(). */
    void (*on_overflow)(struct conn *c);
};

/* Another transport under a connection (TLS, worker/tio.c), registered
 * once with conn_set_io and switched on per connection with conn_use_io;
 * a connection without it reads and writes its socket directly. read
 * appends up to max bytes to in and returns like evbuffer_read (> 0, 0 at
 * the end, -1 with errno; EAGAIN to wait); write drains what it sent from
 * out and returns like evbuffer_write; shut precedes the half-close;
 * release frees the transport state (before the socket is closed). */
struct conn_io {
    int (*read)(struct conn *c, struct evbuffer *in, int max);
    int (*write)(struct conn *c, struct evbuffer *out);
    void (*shut)(struct conn *c);
    void (*release)(struct conn *c);
};

/* A FIFO of connections sharing one timeout: membership is O(1) to add,
 * move to the tail and remove, and expiry only looks at the head. */
struct conn_tq {
    struct dlq l;       /* members, oldest deadline first */
    int64_t timeout_ms;
    const char *reason; /* close reason when a member expires */
    void (*on_expire)(struct conn *c); /* NULL: conn_close(c, reason) */
};

/* Set up the connection layer on base. Borrows base. 0 or -1. */
int conn_init(struct event_base *base, size_t max_outbound);

/* Wrap an accepted socket (takes fd) with protocol p and state st.
 * Returns the connection or NULL (fd closed, logged). */
struct conn *conn_new(int fd, const struct conn_proto *p, void *st);

/* Room for a protocol's state inside each connection's own allocation,
 * so that the state costs no malloc header and rounding of its own:
 * conn_reserve(n) before the first conn_new makes it at least n bytes
 * (the largest of the calls, rounded up to 8). conn_st_alloc returns n
 * zeroed bytes for c's protocol state: the room when it is large enough
 * and free, else new heap memory; NULL when out of memory.
 * conn_st_free(c, p) gives p back (the room, or free(); NULL allowed).
 * Under ASan the room is poisoned while free. */
void conn_reserve(size_t n);
void *conn_st_alloc(struct conn *c, size_t n);
void conn_st_free(struct conn *c, void *p);

/* Close and free c, counting and logging reason at info. The only way a
 * connection ends; the caller must not touch c afterwards. */
/* The event log (worker/wev.h). conn_event_arm: c is a client
 * connection now (a WebSocket), so its connect and its close (with the
 * reason) go to the log, unless conn_event_quiet says it is not c's own
 * (an Engine.IO upgrade probe: the session logs itself).
 * conn_event_connect logs the connect of an armed c (what: a few words
 * on it). */
void conn_event_arm(struct conn *c);
void conn_event_quiet(struct conn *c);
void conn_event_connect(struct conn *c, const char *what);

void conn_close(struct conn *c, const char *reason);

/* Close c's descriptor later in this loop iteration without writing or
 * shutting anything down (the socket lives on elsewhere, e.g. after a
 * hand-off to another worker). Safe to call from inside c's callbacks. */
void conn_close_later(struct conn *c, const char *reason);

/* Close c once its queued output is written: then shut down the write
 * side and discard input until the peer closes (so unread input does not
 * turn the close into a reset that loses the last bytes), all bounded by
 * a linger timeout. reason (for the log line of the close) is copied. */
void conn_close_after_flush(struct conn *c, const char *reason);

/* Input buffer (bytes read and not yet consumed by the protocol). */
struct evbuffer *conn_in(struct conn *c);

/* Output buffer; add bytes then call conn_mark_dirty(c). */
struct evbuffer *conn_out(struct conn *c);

/* Queue n bytes (copied) and schedule a flush. 0 or -1 (c closed). */
int conn_send(struct conn *c, const void *p, size_t n);

/* Schedule a flush of c in this loop iteration. Returns -1 if c's output
 * exceeds the outbound bound: c is then counted as a slow consumer and
 * ended through on_overflow; the caller must not touch it again. */
int conn_mark_dirty(struct conn *c);

/* Called once at the end of a flush pass: every connection marked dirty
 * before it has had its writev (a socket that was full keeps the rest in
 * its buffer for its write event). */
typedef void (*conn_flushed_fn)(void);

/* Call fn once at the end of the next flush pass, and make sure that pass
 * runs in this loop iteration even when no connection is dirty. A second
 * call before the pass replaces fn. Used by fan-out to time its writes
 * (one clock reading per pass). */
void conn_after_flush(conn_flushed_fn fn);

/* Register the one alternative transport (borrowed for the worker's
 * life), then put c on it or take c off it (release is not called by
 * conn_drop_io). conn_uses_io: 1 when c is on it. */
void conn_set_io(const struct conn_io *io);
void conn_use_io(struct conn *c);
void conn_drop_io(struct conn *c);
int conn_uses_io(const struct conn *c);

/* Wait until c's socket is writable, then flush c (its transport may
 * need to write while nothing is queued, e.g. a TLS handshake). */
int conn_wait_write(struct conn *c);

/* Replace the protocol (e.g. HTTP head -> WebSocket). */
void conn_set_proto(struct conn *c, const struct conn_proto *p, void *st);
void *conn_state(struct conn *c);
const struct conn_proto *conn_get_proto(const struct conn *c);

/* Whether the HTTP request being answered on c allows the connection to
 * stay open for another one (http.c sets it from each request head). */
void conn_set_persistent(struct conn *c, int on);
int conn_persistent(const struct conn *c);

/* Deadline queues. tq_add appends c with deadline now + q->timeout_ms
 * (removing it from any queue it was in, so it also refreshes a member);
 * tq_del removes it. */
void conn_tq_add(struct conn_tq *q, struct conn *c);
void conn_tq_del(struct conn *c);

/* 1 when c is in deadline queue q. */
int conn_tq_in(const struct conn *c, const struct conn_tq *q);

/* Close (or on_expire) every member of q whose deadline has passed. */
void conn_tq_expire(struct conn_tq *q, int64_t now_ms);

/* Expire the layer's own deadlines (closing connections). */
void conn_tick(int64_t now_ms);

/* Ask every connection to end (on_shutdown). */
void conn_shutdown_all(void);

/* 1 once conn_close_after_flush was called on c. */
int conn_closing(const struct conn *c);

/* 1 when c's peer sent bytes this worker has not read yet (in the
 * socket's receive queue): the peer is there, and the read will come. A
 * heartbeat deadline that passed while its answer waited unread is this
 * worker's lateness (a starved process; more ready sockets than one loop
 * pass reads), not the peer's. */
int conn_peer_unread(const struct conn *c);

/* Connections currently open in this worker. */
size_t conn_count(void);

/* The socket of c (borrowed). */
int conn_fd(const struct conn *c);

/* The peer's IP address: 4 (IPv4) or 16 bytes into ip; returns the
 * length, 0 when unknown. */
size_t conn_peer_ip(const struct conn *c, unsigned char ip[16]);

/* Count c as a /ws connection for the limits (lmt_conn_begin with its
 * peer address); conn_close gives the count back. Returns 0, or -1 with
 * *why filled when a limit refuses it (c untouched: the caller replies
 * and closes). */
struct lmt_refusal;
int conn_limit_begin(struct conn *c, struct lmt_refusal *why);

/* The peer address as text (for logs). */
const char *conn_peer(const struct conn *c);

#endif
