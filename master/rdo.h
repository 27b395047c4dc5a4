/*
 * The outbox of a node's own stream entries (cluster mode): accepted
 * entries in oseq order (1, 2, 3 ... per master incarnation), first those
 * read back from the stream (kept a while, in case Redis restarts and
 * loses them) and then those not read back yet (never dropped). A plain
 * data structure in the master's memory: no Redis, no clock, no logging
 * (master/rds.c does those). One outbox per process.
 */
#ifndef WSGATE_MASTER_RDO_H
#define WSGATE_MASTER_RDO_H

#include <stddef.h>
#include <stdint.h>

/* One own entry. */
struct rdo_ent {
    uint64_t oseq;
    uint64_t seq;        /* local log seq once read back; 0 before */
    int64_t done_ms;     /* when read back (or given up on); 0: not yet */
    int sent;            /* XADDed at least once */
    size_t len;
    unsigned char *data;
};

enum rdo_status {
    RDO_OK = 0,
    RDO_E_FULL, /* entries not read back would exceed the bound */
};

/* An empty outbox; the first entry gets oseq 1. 0, or -1 (no memory). */
int rdo_init(void);

/* Append n entries (payloads back to back in buf, lengths in lens), all
 * or none, copying them. limit bounds the bytes held: read-back entries
 * give way (oldest first); entries not read back never do, and when they
 * would exceed it, RDO_E_FULL. On RDO_OK *first is the first's oseq. */
enum rdo_status rdo_push(const unsigned char *buf, const size_t *lens,
    size_t n, size_t limit, uint64_t *first);

/* Entry oseq, or NULL when it is not (or no longer) held. */
struct rdo_ent *rdo_at(uint64_t oseq);

/* Own entry oseq came back as local seq at time now: it, and any earlier
 * one still waiting (lost from the stream: own entries come back in
 * order), are done. */
void rdo_back(uint64_t oseq, uint64_t seq, int64_t now);

/* Forget read-back entries done before now - retain. */
void rdo_expire(int64_t now, int64_t retain);

/* The oseq the next entry gets; the oldest not read back (== next when
 * none); the oldest held (== next when none). */
uint64_t rdo_next(void);
uint64_t rdo_first_pending(void);
uint64_t rdo_oldest(void);

/* Free everything (the outbox is empty and unusable until rdo_init). */
void rdo_free(void);

#endif
