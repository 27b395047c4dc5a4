/*
 * The cluster offset map: which cluster-wide offset each local message-log
 * entry has. In cluster mode (redis_url) every node appends the entries of
 * one Redis stream, and Redis numbers them (common/rent.h: epoch * 2^32 +
 * n); a node's log holds them in the same order but with its own sequence
 * numbers, which also count what it held before and skip what it never
 * read. Clients see and send the cluster offset, so a client can recover
 * on any node; workers translate with this map.
 *
 * The map is a list of stretches: from local seq L on, the offsets are
 * O, O+1, O+2 ... A new stretch begins where that breaks (an entry this
 * node skipped as a duplicate, entries it never read, a new epoch). The
 * master, the only writer, notes every entry it appends; workers read.
 * Only the last GMAP_SLOTS stretches are kept: offsets of older ones are
 * unknown (a gap). Outside cluster mode the map is off and an offset is
 * the local seq.
 *
 * Shared-memory ABI (like shm/layout.h): fixed-width atomics, no pointers;
 * readers copy under a seqlock.
 */
#ifndef WSGATE_SHM_GMAP_H
#define WSGATE_SHM_GMAP_H

#include <stdatomic.h>
#include <stdint.h>

#define GMAP_SLOTS 256u /* a power of two */

/* gmap_stretch.flags */
#define GMAP_F_GAP 1u /* entries before this stretch were never read */

struct gmap_stretch {
    _Atomic uint64_t local; /* first local seq of the stretch */
    _Atomic uint64_t off;   /* its offset */
    _Atomic uint64_t flags;
};

struct gmap {
    _Atomic uint64_t on;  /* 1: cluster mode, offsets are mapped */
    _Atomic uint64_t ver; /* seqlock: odd while a stretch is written */
    _Atomic uint64_t n;   /* stretches begun, ever */
    uint64_t reserved;
    struct gmap_stretch s[GMAP_SLOTS];
};

enum gmap_status {
    GMAP_OK = 0,
    GMAP_GAP,    /* some entries after the offset never reached this log */
    GMAP_E_BUSY, /* the writer stayed mid-update; try again */
};

/* Master, before the workers start: an empty map, on (cluster mode) or
 * off. The memory may be zeroed already. */
void gmap_init(struct gmap *m, int on);

/* 1 when offsets are mapped. */
int gmap_on(const struct gmap *m);

/* Master, after appending entry `local` with cluster offset off: extend
 * the last stretch or begin a new one (gap: the master knows entries just
 * before this one were never read). Local seqs must be noted in
 * increasing order. */
void gmap_note(struct gmap *m, uint64_t local, uint64_t off, int gap);

/* The offset clients see for local entry seq: seq itself when the map is
 * off; 0 when seq is older than every stretch kept (or none is). */
uint64_t gmap_offset(const struct gmap *m, uint64_t seq);

/* The local seq L such that this log's entries after L are those with an
 * offset above off (a client that saw off is replayed from L + 1). When
 * off is beyond the last entry, L is where that entry would be if the
 * stretch goes on. GMAP_GAP when some entries above off, before the
 * newest, were never read by this node or are older than the map keeps
 * (L is then where the known entries above off begin, minus one). With
 * the map off, L = off. */
enum gmap_status gmap_local(const struct gmap *m, uint64_t off,
    uint64_t *local);

#endif
