/*
 * Exactly once across the cluster stream: the highest oseq appended per
 * origin incarnation (node name and incarnation, common/rent.h), so that
 * an entry sent twice (a reconnect, a Redis restart) is appended once, and
 * entries an origin sent that this node never read (trimmed, lost by
 * Redis) are noticed. Each origin's entries enter the stream in oseq
 * order, so a high-water mark is enough. RDD_ORIGINS origins are
 * remembered, the least recently seen forgotten first. A plain table in
 * the master's memory: no Redis, no clock of its own, no logging.
 */
#ifndef WSGATE_MASTER_RDD_H
#define WSGATE_MASTER_RDD_H

#include <stdint.h>

#include "common/rent.h"

#define RDD_ORIGINS 256

/* Entry oseq of origin incarnation (origin, inc) was read at time now (any
 * monotonic clock): 1 when it was appended already (a duplicate: skip
 * it); else 0, the entry becomes the high-water mark, and *missed is how
 * many of that origin's entries just before it were never seen (0 for
 * the first entry of an origin heard of). */
int rdd_take(struct rent_str origin, struct rent_str inc, uint64_t oseq,
    int64_t now, uint64_t *missed);

/* Forget every origin. */
void rdd_reset(void);

#endif
