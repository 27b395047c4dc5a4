/*
 * Subscribe requests with replay, for both client protocols: a room, an
 * object {room, since}, or an array of them, where since is the last
 * offset the client received. The rooms are joined all or nothing; the
 * events each room with a since missed are replayed from the message log
 * before any live one; rooms whose since the log no longer holds are
 * joined anyway and reported as a gap. The protocol only parses its
 * envelope and writes the ack.
 */
#ifndef WSGATE_WORKER_SUB_H
#define WSGATE_WORKER_SUB_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct cli;
struct sub_req;

/* What became of a request, for the protocol's ack. */
struct sub_done {
    int ok;             /* 0: refused, nothing joined */
    const char *code;   /* refused: BAD_ROOM, FORBIDDEN, ... */
    const char *msg;
    const char *room;   /* refused: the first refused room (NUL-ended) */
    json_t *rooms;      /* ok: array of the rooms newly joined (borrowed) */
    long replayed;      /* events replayed */
    int gap;            /* a since was older than the log holds */
};

/* Called once per request with its outcome. cl may have ended during the
 * replay (slow consumer): then gone is 1 and cl must not be touched. arg
 * is the protocol's, and is the callee's to free. */
typedef void (*sub_done_fn)(struct cli *cl, const struct sub_done *d,
    int gone, void *arg);

/* Parse a subscribe argument: a room name, {"room": R, "since": S}, or
 * an array of 1-MSG_MAX_TARGETS of those. S is a decimal string or a
 * non-negative integer; since_all (may be NULL) applies to rooms without
 * their own. Returns a new request (free with sub_free, or give it to
 * sub_run), or NULL with *err set to a static message. */
struct sub_req *sub_parse(json_t *arg, json_t *since_all, const char **err);

void sub_free(struct sub_req *rq);

/* 1 when some room of rq came with a since. */
int sub_has_since(const struct sub_req *rq);

/* Run rq for cl (takes rq): join, replay, then done(cl, outcome, gone,
 * arg). When a since is ahead of what this worker has read of the log
 * (the client saw it through another worker), the request waits until
 * the worker has read that far, and done runs from the log reader; if cl
 * ends first, free_arg(arg) runs instead. */
void sub_run(struct cli *cl, struct sub_req *rq, sub_done_fn done, void *arg,
    void (*free_arg)(void *));

/* Parse an offset: a decimal string or a non-negative JSON integer.
 * Returns 0 with *seq, or -1. */
int sub_offset(json_t *v, uint64_t *seq);

#endif
