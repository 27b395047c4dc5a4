/*
 * The client model shared by every protocol (/ws JSON, Socket.IO): who the
 * connection is (verified token claims), which rooms it joined, when its
 * token expires. Protocol codecs create a cli per connection and supply
 * cli_ops to turn model events into their wire format.
 */
#ifndef WSGATE_WORKER_CLI_H
#define WSGATE_WORKER_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "common/msg.h"
#include "common/tok.h"

struct cfg;
struct cli;
struct event_base;
struct fan_block;
struct fan_msg;

/* Close codes of the /ws protocol (wsgate.8); Socket.IO maps them to a
 * DISCONNECT. */
#define CLI_CLOSE_TOKEN_EXPIRED 4001 /* token passed exp + leeway */
#define CLI_CLOSE_AUTH_FAILED 4002   /* auth failed (reason: the code) */
#define CLI_CLOSE_KICKED 4003        /* disconnect-user */
#define CLI_CLOSE_RECOVER 4004       /* worker lost log entries: reconnect */
#define CLI_CLOSE_AUTH_TIMEOUT 4008  /* no auth message in time */

struct cli_ops {
    /* Deliver a published event; room is the room it reached the client
     * through (NULL for everyone/broadcast). Return -1 if the connection
     * was closed. */
    int (*event)(struct cli *cl, struct fan_msg *m, const char *room,
        size_t rlen);
    /* Deliver the messages of a fan-out block (fan.h) in order. */
    int (*batch)(struct cli *cl, struct fan_block *b);
    /* The encodings of a block batch reads (FAN_BLOCK_WSJ, FAN_BLOCK_SIO
     * of worker/fmsg.h): a block builds only those its members read. */
    unsigned block_kinds;
    /* A model notice (token-expiring) with a JSON payload. */
    int (*notify)(struct cli *cl, const char *event, const char *json);
    /* End the connection from the server side with code and reason. Must
     * free cl (cli_free) before returning, so loops over rooms and the
     * all-clients list make progress. */
    void (*kick)(struct cli *cl, unsigned code, const char *reason);
    /* The Socket.IO namespace cl is connected to; NULL (the member) for a
     * protocol without namespaces, whose clients count as "/". */
    const char *(*nsp)(const struct cli *cl);
};

/* Dispatch through cl's ops (for fan.c and the timers). */
int cli_event(struct cli *cl, struct fan_msg *m, const char *room,
    size_t rlen);
void cli_kick(struct cli *cl, unsigned code, const char *reason);
int cli_batch(struct cli *cl, struct fan_block *b);
/* cli_ops.block_kinds of cl. */
unsigned cli_block_kinds(const struct cli *cl);
/* cl's namespace (cli_ops.nsp), "/" when the protocol has none. */
const char *cli_nsp(const struct cli *cl);

/* Borrow base and c for the worker's life. 0 or -1 (logged). */
int cli_init(struct event_base *base, const struct cfg *c);

/* New unauthenticated client for protocol state `proto` (borrowed).
 * Returns NULL when out of memory. */
struct cli *cli_new(const struct cli_ops *ops, void *proto);

/* Leave every room, stop timers, free. Accepts NULL. */
void cli_free(struct cli *cl);

void *cli_proto(const struct cli *cl);
int cli_authed(const struct cli *cl);
const char *cli_user(const struct cli *cl); /* NULL when anonymous */

/* Verify token[0..len) and authenticate cl with it: on the first success
 * cl joins user:<id>; on a later call (refresh) the token must name the
 * same user (else TOK_E_FORBIDDEN) and its expiry replaces the old one; a
 * failed refresh changes nothing. Counts the outcome. */
enum tok_status cli_authenticate(struct cli *cl, const char *token,
    size_t len);

/* cli_authenticate in two steps, for a refresh that waits for the
 * connect proxy before it takes effect: cli_verify checks token[0..len)
 * for cl (the same user on a refresh), counts the outcome and on TOK_OK
 * gives the claims in *out (the caller's: cli_apply or free); cl is
 * unchanged. cli_apply authenticates cl with them (taking them over). */
struct tok_claims;
enum tok_status cli_verify(struct cli *cl, const char *token, size_t len,
    struct tok_claims **out);
enum tok_status cli_apply(struct cli *cl, struct tok_claims *claims);

/* Mark cl as an anonymous client (allow_anonymous). */
void cli_anonymous(struct cli *cl);

/* Join every room of rooms[0..n) or none: on refusal returns -1 with
 * *code and *msg (static) and *bad (index of the first refused room).
 * Returns 0 and, in joined[] (n entries), 1 for each room newly joined. */
int cli_subscribe(struct cli *cl, const struct msg_str *rooms, size_t n,
    unsigned char *joined, const char **code, const char **msg, size_t *bad);

/* Leave rooms; the personal room cannot be left. Returns how many were
 * left. */
size_t cli_unsubscribe(struct cli *cl, const struct msg_str *rooms,
    size_t n);

/* The sequence number of the last log entry delivered to cl (for
 * exactly-once delivery over several target rooms). */
uint64_t *cli_last_seq(struct cli *cl);

/* The fan-out's mark on cl: the serial of the newest block of the
 * read batch that cl is a member of (fan.c keeps blocks of one client in
 * log order with it). In padding: it costs a client nothing. */
uint32_t *cli_fan_mark(struct cli *cl);

/* The rooms cl is in (its personal room included): up to cap names and
 * lengths, borrowed until cl's rooms change. Returns how many. */
size_t cli_rooms(const struct cli *cl, const char **names, size_t *lens,
    size_t cap);

/* Wait for the log reader: fn(cl, arg) runs once this worker has
 * dispatched log entry seq, from the reader's own callback (nothing of
 * the caller's on the stack), or after about 3 s if it has not by then
 * (seq was never appended: fn must check). If cl ends first,
 * free_arg(arg) runs instead (free_arg may be NULL). Returns 0, or -1
 * when out of memory. */
typedef void (*cli_wait_fn)(struct cli *cl, void *arg);
int cli_wait(struct cli *cl, uint64_t seq, cli_wait_fn fn, void *arg,
    void (*free_arg)(void *));

/* The same, for a time only: fn(cl, arg) runs after ms milliseconds (or
 * free_arg(arg) if cl ends first). */
int cli_wait_ms(struct cli *cl, int ms, cli_wait_fn fn, void *arg,
    void (*free_arg)(void *));

/* Drop cl's wait whose arg is arg without running fn or free_arg.
 * Returns 0, or -1 when there is none. */
int cli_wait_drop(struct cli *cl, void *arg);

/* Join the NUL-separated rooms of blob[0..len) without the room access
 * rules (they come from the connect proxy, which is trusted), as many as
 * max_rooms_per_connection leaves room for; *over counts the rest.
 * Returns how many were joined. */
size_t cli_join_trusted(struct cli *cl, const char *blob, size_t len,
    size_t *over);

/* Is cl held: authenticated, but the connect proxy has not let it in
 * yet? The protocols hold its messages meanwhile. */
int cli_held(const struct cli *cl);
void cli_set_held(struct cli *cl, int on);

/* Events of cl waiting for the event proxy (0-255), and a change of it. */
unsigned cli_inflight(const struct cli *cl);
void cli_inflight_add(struct cli *cl, int d);

/* The log reader, after dispatching through pos: run the waits it
 * satisfies. */
void cli_waits_run(uint64_t pos);

/* Iterate every client of the worker: first, then next (of a live cl:
 * fetch the next one before anything that may end cl). In the order of
 * their slots in the client slab; a client made meanwhile may or may not
 * be visited. */
struct cli *cli_first(void);
struct cli *cli_next(const struct cli *cl);


#endif
