/*
 * The limit tables: what max_connections, max_connections_per_ip,
 * max_connections_per_user and the handshake rate per IP count, shared by
 * every worker of the machine. A region of its own, mapped by the master
 * before fork:
 *   - one count table per worker record, written by that worker only
 *     (keys are seeded 64-bit hashes of an IP or a user; a key's count is
 *     the sum over every record's table), with the record's total of
 *     counted connections. When a worker dies the master clears its
 *     record's table, so a crash takes back everything it had counted.
 *   - one table of handshake-rate token buckets keyed by IP, updated by
 *     every worker with compare-and-swap (a bucket needs no cleaning: it
 *     refills with time; an idle, full one may be taken over by another
 *     key when its probe window is taken).
 * Shared-memory ABI like shm/layout.h: fixed-width atomics, no pointers.
 * No locks: a worker counts first and then sums (seq_cst), so of two
 * workers admitting the last allowed connection at once at least one
 * sees the other and refuses; a limit may refuse one too many at such a
 * race, never admit one too many.
 */
#ifndef WSGATE_SHM_LTAB_H
#define WSGATE_SHM_LTAB_H

#include <stddef.h>
#include <stdint.h>

struct ltab;

/* Slots probed from a key's home slot before a table counts as full. */
#define LTAB_PROBE 64u
#define LTAB_BPROBE 8u

enum ltab_kind {
    LTAB_IP = 1,
    LTAB_USER = 2,
};

enum ltab_status {
    LTAB_OK = 0,
    LTAB_OVER,   /* over the limit (nothing counted) / bucket empty */
    LTAB_FULL,   /* no slot in the probe window: nothing counted */
};

/* Bytes of a region with nent entries per record table and nbkt rate
 * buckets (both rounded up to powers of two). */
size_t ltab_size(unsigned nent, unsigned nbkt);

/* Map a new shared region (zeroed, random hash seed). Returns it or NULL
 * with errno set. Caller frees with ltab_destroy. */
struct ltab *ltab_create(unsigned nent, unsigned nbkt);

/* Lay a region out in mem (ltab_size(nent, nbkt) zeroed bytes) with
 * the given seed: for tests. Returns mem as a table. */
struct ltab *ltab_format(void *mem, unsigned nent, unsigned nbkt,
    uint64_t seed);

/* Unmap a region from ltab_create and clear the pointer. Accepts NULL. */
void ltab_destroy(struct ltab **lt);

/* The key of an IP address (4 or 16 bytes) or a user name: never 0. */
uint64_t ltab_key(const struct ltab *lt, enum ltab_kind kind, const void *p,
    size_t n);

/* Worker of record rec: count one more for key, then, when max is not 0,
 * check the sum over every record: over max, the count is taken back and
 * LTAB_OVER returned. LTAB_FULL: rec's table has no slot for key
 * (nothing counted). */
enum ltab_status ltab_add(struct ltab *lt, unsigned rec, uint64_t key,
    uint32_t max);

/* Worker of record rec: one less for key (which ltab_add counted). */
void ltab_sub(struct ltab *lt, unsigned rec, uint64_t key);

/* The count of key over every record. */
uint64_t ltab_count(const struct ltab *lt, uint64_t key);

/* Worker: one more connection for the whole gateway, unless that makes
 * more than max (0: no bound) over every record: then LTAB_OVER and
 * nothing counted. */
enum ltab_status ltab_total_add(struct ltab *lt, unsigned rec, uint64_t max);
void ltab_total_sub(struct ltab *lt, unsigned rec);

/* Connections counted over every record. */
uint64_t ltab_total(const struct ltab *lt);

/* Master: record rec's worker is gone; forget everything it counted. */
void ltab_release(struct ltab *lt, unsigned rec);

/* Take a token from key's handshake bucket (rate per second, burst),
 * creating it full if it is new. LTAB_OK (taken), LTAB_OVER (empty) or
 * LTAB_FULL (no bucket could be had: the caller decides). now_ms is a
 * millisecond clock every process shares (CLOCK_MONOTONIC). */
enum ltab_status ltab_rate(struct ltab *lt, uint64_t key, uint32_t now_ms,
    uint32_t rate, uint32_t burst);

#endif
