/*
 * The shared-memory ABI between the master and its workers. Fixed-width and
 * atomic integers only, no pointers. Regions and their single writers:
 *   header          master (identity, master-scope counters, retired totals
 *                   of counters and histograms)
 *   worker record   master writes its identity part when it forks a worker
 *                   (pid, slot, generation, state, start); the worker writes
 *                   its live part (seqlock, heartbeat, counters, histograms,
 *                   event queue entries and head) and nothing else; the
 *                   master, reading the event queue, writes its tail.
 *   gmap            master (the cluster offset of each log entry).
 * Readers copy out and check the seqlock before use (shm.h).
 */
#ifndef WSGATE_SHM_LAYOUT_H
#define WSGATE_SHM_LAYOUT_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/counters.h"
#include "common/hist.h"
#include "shm/evq.h"
#include "shm/gmap.h"

#define SHM_MAGIC UINT64_C(0x3174616773777367) /* "gswsgat1" */
/* Version 4: the latency histograms (common/hist.def), hist[] in each
 * worker record under its seqlock and retired_hist[] in the header.
 * Version 5: the event queue (shm/evq.h) at the end of each record. */
#define SHM_LAYOUT_VERSION 5u

/* Workers per generation (the -w bound) and records in the segment: a
 * reload runs a new generation beside the draining old one. */
#define SHM_MAX_WORKERS 128u
#define SHM_NRECORDS (2u * SHM_MAX_WORKERS)

/* Results of control entries (disconnect-user) a worker keeps for the
 * master to collect, indexed by log sequence modulo this. */
#define SHM_CTL_RESULTS 64u

/* Largest rooms each worker publishes, and the longest name kept. */
#define SHM_TOP_ROOMS 16u
#define SHM_ROOM_NAME 200u

enum shm_state {
    SHM_FREE = 0,     /* no process */
    SHM_STARTING = 1, /* forked, not yet heartbeating */
    SHM_RUNNING = 2,  /* serving its slot */
    SHM_DRAINING = 3, /* retired by a reload or stop; finishing connections */
};

struct shm_header {
    uint64_t magic;
    uint32_t version;
    uint32_t nrecords;
    uint64_t size;           /* bytes of the whole segment */
    int64_t start_ms;        /* master start, unix ms */
    _Atomic int32_t master_pid;
    _Atomic uint32_t nslots; /* worker slots of the current generation */
    _Atomic uint32_t generation; /* current reload generation */
    _Atomic uint32_t stopping;   /* 1 once a graceful stop began */
    _Atomic uint64_t capacity; /* connections all workers may hold */
    alignas(128) _Atomic uint64_t master_ctr[CTR__COUNT];
    alignas(128) _Atomic uint64_t retired[CTR__COUNT];
    /* Histograms of workers that died, folded like COUNTERs. */
    alignas(128) _Atomic uint64_t retired_hist[HIST_WORDS];
};

struct shm_worker {
    /* identity: written by the master */
    alignas(128) _Atomic int32_t pid;
    _Atomic uint32_t state;      /* enum shm_state */
    _Atomic uint32_t slot;       /* listener slot index */
    _Atomic uint32_t generation; /* reload generation that started it */
    _Atomic int64_t start_ms;    /* unix ms */
    /* live part: written by the worker only */
    alignas(64) _Atomic uint64_t seq; /* seqlock: odd while writing ctr */
    _Atomic int64_t heartbeat_ms;     /* CLOCK_MONOTONIC ms */
    _Atomic uint64_t log_done;        /* last message-log seq handled */
    _Atomic uint64_t ctr[CTR__COUNT];
    _Atomic uint64_t hist[HIST_WORDS]; /* under seq, like ctr */
    struct {
        _Atomic uint64_t seq;   /* control entry this result is for */
        _Atomic uint64_t count; /* connections it closed */
    } ctl[SHM_CTL_RESULTS];
    /* The worker's largest rooms, published about once a second under
     * their own seqlock (rooms_seq odd while writing). */
    alignas(64) _Atomic uint64_t rooms_seq;
    _Atomic uint32_t nrooms_top;
    struct {
        _Atomic uint32_t members;
        _Atomic uint32_t len;
        char name[SHM_ROOM_NAME];
    } top[SHM_TOP_ROOMS];
    /* Events for the master's event log: the worker writes the entries
     * and head, the master (the reader) writes only tail. */
    struct evq evq;
};

struct shm_segment {
    struct shm_header hdr;
    struct shm_worker rec[SHM_NRECORDS];
    struct gmap gmap; /* master writes (cluster offsets, shm/gmap.h) */
};

_Static_assert(offsetof(struct shm_segment, hdr) == 0, "header first");
_Static_assert(sizeof(struct shm_worker) % 128 == 0, "records cache-aligned");
_Static_assert(offsetof(struct shm_worker, seq) % 64 == 0,
    "live part on its own cache line");
_Static_assert(offsetof(struct shm_worker, evq) % 64 == 0,
    "event queue on its own cache lines");
_Static_assert(sizeof(_Atomic uint64_t) == 8, "lock-free 64-bit atomics");
_Static_assert(offsetof(struct shm_header, magic) == 0, "magic first");
_Static_assert(offsetof(struct shm_header, version) == 8, "version at 8");

#endif
