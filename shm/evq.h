/*
 * The event queue of one worker record: a single-producer single-consumer
 * ring in shared memory that carries operational events (connects,
 * disconnects with their reason, auth failures) from a worker to the
 * master, which drains it on a timer into the event log (master/evl.h).
 * The worker only ever writes entries and head; the master only tail. A
 * full ring never blocks the worker: the entry is dropped (the caller
 * counts it). Part of the shared-memory ABI (shm/layout.h): fixed-width
 * integers and char arrays, no pointers; the master copies an entry out
 * and checks it before use.
 */
#ifndef WSGATE_SHM_EVQ_H
#define WSGATE_SHM_EVQ_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define EVQ_LEN 128u /* entries per worker record, a power of two */
#define EVQ_PEER 48u /* "address:port", NUL-terminated */
#define EVQ_TEXT 64u /* reason or detail, NUL-terminated, truncated */

/* Kinds of event (the JSON names are evq_kind_name()). */
enum evq_kind {
    EVQ_CONNECT = 0,   /* a client connection opened */
    EVQ_DISCONNECT,    /* closed; text is the reason */
    EVQ_AUTH_FAIL,     /* a token refused; text is its code */
    EVQ_SLOW,          /* closed as a slow consumer */
    EVQ_LIMIT,         /* refused or closed by a limit */
    EVQ_ADMIN,         /* an admin action (master) */
    EVQ_WORKER,        /* a worker died or was respawned (master) */
    EVQ_RELOAD,        /* a configuration reload (master) */
    EVQ__COUNT
};

struct evq_ev {
    int64_t ms;     /* unix ms */
    uint16_t kind;  /* enum evq_kind */
    uint16_t code;  /* close code or HTTP status, 0 if none */
    uint32_t pad;
    char peer[EVQ_PEER];
    char text[EVQ_TEXT];
};

struct evq {
    alignas(64) _Atomic uint64_t head; /* written by the worker */
    alignas(64) _Atomic uint64_t tail; /* written by the master */
    alignas(64) struct evq_ev ev[EVQ_LEN];
};

_Static_assert(sizeof(struct evq_ev) == 128, "evq entries are 128 bytes");
_Static_assert((EVQ_LEN & (EVQ_LEN - 1)) == 0, "EVQ_LEN a power of two");

/* Empty q (master, while no worker uses the record). */
void evq_reset(struct evq *q);

/* Worker: append an event. peer and text (borrowed, may be NULL) are
 * copied and truncated. Returns 0, or -1 when the ring is full (nothing
 * written; the caller counts the drop). Never blocks. */
int evq_push(struct evq *q, int64_t ms, enum evq_kind kind, unsigned code,
    const char *peer, const char *text);

/* Master: take the oldest event into *out (checked: strings terminated,
 * kind in range). Returns 1, or 0 when the ring is empty. */
int evq_pop(struct evq *q, struct evq_ev *out);

/* The JSON name of kind ("connect", "disconnect", ...), "unknown" when
 * out of range; evq_kind_parse is its inverse (-1 when unknown). */
const char *evq_kind_name(unsigned kind);
int evq_kind_parse(const char *name);

/* The kind of a close with this reason: EVQ_SLOW for a slow consumer
 * (the reason begins "slow consumer"), EVQ_LIMIT for a reason naming a
 * limit ("limit", "too many" or "too_many" in it, as in RATE_LIMITED
 * and TOO_MANY_CONNECTIONS), else EVQ_DISCONNECT. */
enum evq_kind evq_close_kind(const char *reason);

#endif
