/*
 * A ring of recent emitter log entries (common/msg.h EMIT and EMIT_KICK
 * payloads) with the time each was received, kept by every node so that
 * a node that takes the emitter lease over can forward what the last
 * holder did not get into the stream: the entries after the newest one
 * whose hash the stream holds. Pure: no I/O, no globals; allocates what
 * it keeps.
 */
#ifndef WSGATE_COMMON_ERNG_H
#define WSGATE_COMMON_ERNG_H

#include <stddef.h>
#include <stdint.h>

struct erng;

/* A ring that keeps at most max_entries entries and max_bytes payload
 * bytes (the oldest give way). NULL when out of memory. */
struct erng *erng_new(size_t max_entries, size_t max_bytes);

/* Free r and clear *r. Accepts NULL and *r NULL. */
void erng_free(struct erng **r);

/* Keep a copy of p[0..n), received at time now (any monotonic ms), as the
 * newest entry. 0, or -1 when it cannot be kept (larger than max_bytes,
 * or out of memory: the ring is unchanged). */
int erng_push(struct erng *r, const unsigned char *p, size_t n, int64_t now);

/* Forget the entries received before `before`. */
void erng_prune(struct erng *r, int64_t before);

size_t erng_count(const struct erng *r);

/* Entry i (0 the oldest): its bytes (borrowed until the next push, prune
 * or free) and length. i must be < erng_count(r). */
const unsigned char *erng_at(const struct erng *r, size_t i, size_t *n);

/* 64-bit FNV-1a of p[0..n): what entries are matched by. */
uint64_t erng_hash(const unsigned char *p, size_t n);

/* The index of the first entry after the newest one whose hash is in
 * seen[0..nseen); 0 when none is (every entry is unseen). */
size_t erng_unseen(const struct erng *r, const uint64_t *seen, size_t nseen);

#endif
