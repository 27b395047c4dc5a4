/*
 * The shared segment: creation before fork, worker records, seqlock
 * publication of a worker's counters and consistent snapshots for readers,
 * and folding a dead worker's counters into the retired totals.
 */
#ifndef WSGATE_SHM_SHM_H
#define WSGATE_SHM_SHM_H

#include <stdint.h>
#include <sys/types.h>

#include "shm/layout.h"

/* A consistent copy of one worker record. */
struct shm_snap {
    int32_t pid;
    uint32_t state, slot, generation;
    int64_t start_ms, heartbeat_ms;
    uint64_t ctr[CTR__COUNT];
    uint64_t hist[HIST_WORDS];
};

/* Map a new anonymous shared segment and write its header. Returns the
 * segment (caller frees with shm_destroy) or NULL with errno set. */
struct shm_segment *shm_create(pid_t master_pid, int64_t start_ms);

/* Unmap seg and clear the pointer. Accepts NULL. */
void shm_destroy(struct shm_segment **seg);

/* Master: find a FREE record, reset it and claim it for slot/generation in
 * state STARTING. Returns its index or -1 when none is free. */
int shm_record_claim(struct shm_segment *seg, unsigned slot, unsigned gen);

/* Master: after fork, record the child's pid and start time. */
void shm_record_started(struct shm_segment *seg, int idx, pid_t pid,
    int64_t start_ms);

/* Master: fold the record's COUNTERs and histograms into the retired
 * totals, zero it and mark it FREE. Safe when the worker died in the middle of a publish. */
void shm_record_release(struct shm_segment *seg, int idx);

/* Worker: publish counters (CTR__COUNT values) and histograms (HIST_WORDS
 * values) under the seqlock. Only WORKER-scope counter rows are
 * meaningful. */
void shm_worker_publish(struct shm_worker *w, const uint64_t *ctr,
    const uint64_t *hist);

/* Worker: store the heartbeat (monotonic ms) and, on the first beat, move
 * STARTING to RUNNING. */
void shm_worker_beat(struct shm_worker *w, int64_t mono_ms);

/* Reader: copy record idx consistently. Returns 0, or -1 if the writer
 * kept it busy through every retry (the copy is then best effort). */
int shm_snapshot(const struct shm_segment *seg, int idx, struct shm_snap *out);

/* Reader: totals over retired + every live record + master counters.
 * GAUGEs sum live records only. */
void shm_totals(const struct shm_segment *seg, uint64_t *out);

/* Reader: histogram words (HIST_WORDS) summed over the retired totals and
 * every live record, so they never go down when a worker dies. */
void shm_hist_totals(const struct shm_segment *seg, uint64_t *out);

/* Summary for /socket-status (both the admin and the public port). */
struct shm_status {
    int ready;              /* shm_ready() */
    int stopping;
    int64_t uptime_s;
    unsigned workers;       /* RUNNING workers of the current generation */
    unsigned slots;         /* slots of the current generation */
    uint64_t connections;   /* open client connections, all workers */
    uint64_t capacity;      /* connections all workers may hold */
};

/* Readiness: every slot of the current generation has a RUNNING worker
 * whose heartbeat is younger than hb_timeout_ms, and no stop is under way.
 * Returns 1 or 0; if why is not NULL it says what is missing. */
int shm_ready(const struct shm_segment *seg, int64_t hb_timeout_ms,
    char *why, size_t whylen);

void shm_status(const struct shm_segment *seg, int64_t hb_timeout_ms,
    struct shm_status *out);

/* Format st as the /socket-status JSON object (no newline) into buf.
 * Returns the length snprintf would have written. */
int shm_status_format(const struct shm_status *st, char *buf, size_t len);

/* One room and its member count. */
struct shm_room {
    char name[SHM_ROOM_NAME + 1]; /* NUL-terminated copy */
    uint64_t members;
};

/* Worker: publish its largest rooms (names[i][0..lens[i]), members[i]). */
void shm_worker_rooms(struct shm_worker *w, size_t n,
    const char *const *names, const size_t *lens, const uint32_t *members);

/* Reader: the largest rooms summed over every live worker's published
 * top list, largest first, at most n into out. Returns how many. A room
 * just below a worker's top list is not counted for that worker, so the
 * sums are lower bounds. */
size_t shm_top_rooms(const struct shm_segment *seg, struct shm_room *out,
    size_t n);

/* Master: add n to a MASTER-scope counter. */
void shm_master_add(struct shm_segment *seg, int ctr, uint64_t n);

/* The cluster offset map in seg (shm/gmap.h). */
struct gmap *shm_gmap(struct shm_segment *seg);

/* Master: set a MASTER-scope GAUGE to v. */
void shm_master_set(struct shm_segment *seg, int ctr, uint64_t v);

#endif
