/*
 * Accessors for the shared segment (layout.h). The worker side only ever
 * publishes its own record; the master side claims, releases and reads.
 * The seqlock follows the usual fence pattern: the writer makes seq odd,
 * fences, stores the data, then makes seq even with release; the reader
 * loads seq with acquire, copies, fences, and rechecks seq.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/wsg.h"
#include "shm/shm.h"

#define SHM_SNAP_TRIES 1000

struct shm_segment *
shm_create(pid_t master_pid, int64_t start_ms)
{
    struct shm_segment *seg;

    seg = mmap(NULL, sizeof(*seg), PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (seg == MAP_FAILED)
        return NULL;
    /* Anonymous mappings are zero-filled: every record starts FREE. */
    seg->hdr.magic = SHM_MAGIC;
    seg->hdr.version = SHM_LAYOUT_VERSION;
    seg->hdr.nrecords = SHM_NRECORDS;
    seg->hdr.size = sizeof(*seg);
    seg->hdr.start_ms = start_ms;
    atomic_store(&seg->hdr.master_pid, master_pid);
    return seg;
}

void
shm_destroy(struct shm_segment **seg)
{
    if (seg == NULL || *seg == NULL)
        return;
    munmap(*seg, sizeof(**seg));
    *seg = NULL;
}

static void
shm_record_zero(struct shm_worker *w)
{
    atomic_store_explicit(&w->seq, 0, memory_order_relaxed);
    atomic_store_explicit(&w->heartbeat_ms, 0, memory_order_relaxed);
    atomic_store_explicit(&w->log_done, 0, memory_order_relaxed);
    for (unsigned i = 0; i < SHM_CTL_RESULTS; i++) {
        atomic_store_explicit(&w->ctl[i].seq, 0, memory_order_relaxed);
        atomic_store_explicit(&w->ctl[i].count, 0, memory_order_relaxed);
    }
    for (int i = 0; i < CTR__COUNT; i++)
        atomic_store_explicit(&w->ctr[i], 0, memory_order_relaxed);
    for (int i = 0; i < HIST_WORDS; i++)
        atomic_store_explicit(&w->hist[i], 0, memory_order_relaxed);
    atomic_store_explicit(&w->rooms_seq, 0, memory_order_relaxed);
    atomic_store_explicit(&w->nrooms_top, 0, memory_order_relaxed);
    atomic_store_explicit(&w->pid, 0, memory_order_relaxed);
    atomic_store_explicit(&w->start_ms, 0, memory_order_relaxed);
    evq_reset(&w->evq);
}

int
shm_record_claim(struct shm_segment *seg, unsigned slot, unsigned gen)
{
    for (unsigned i = 0; i < SHM_NRECORDS; i++) {
        struct shm_worker *w = &seg->rec[i];
        if (atomic_load(&w->state) != SHM_FREE)
            continue;
        shm_record_zero(w);
        atomic_store(&w->slot, slot);
        atomic_store(&w->generation, gen);
        atomic_store_explicit(&w->state, SHM_STARTING, memory_order_release);
        return (int)i;
    }
    return -1;
}

void
shm_record_started(struct shm_segment *seg, int idx, pid_t pid,
    int64_t start_ms)
{
    atomic_store(&seg->rec[idx].start_ms, start_ms);
    atomic_store(&seg->rec[idx].pid, pid);
}

void
shm_record_release(struct shm_segment *seg, int idx)
{
    struct shm_snap s;

    /* The writer is dead, so an odd seq only means it died mid-publish;
     * each counter word is still a value it once had, never garbage. */
    (void)shm_snapshot(seg, idx, &s);
    for (int i = 0; i < CTR__COUNT; i++)
        if (ctr_desc[i].kind == CTR_COUNTER
            && ctr_desc[i].scope == CTR_S_WORKER)
            atomic_fetch_add_explicit(&seg->hdr.retired[i], s.ctr[i],
                memory_order_relaxed);
    for (int i = 0; i < HIST_WORDS; i++)
        atomic_fetch_add_explicit(&seg->hdr.retired_hist[i], s.hist[i],
            memory_order_relaxed);
    shm_record_zero(&seg->rec[idx]);
    atomic_store_explicit(&seg->rec[idx].state, SHM_FREE,
        memory_order_release);
}

void
shm_worker_publish(struct shm_worker *w, const uint64_t *ctr,
    const uint64_t *hist)
{
    uint64_t s = atomic_load_explicit(&w->seq, memory_order_relaxed);

    atomic_store_explicit(&w->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    for (int i = 0; i < CTR__COUNT; i++)
        atomic_store_explicit(&w->ctr[i], ctr[i], memory_order_relaxed);
    for (int i = 0; i < HIST_WORDS; i++)
        atomic_store_explicit(&w->hist[i], hist[i], memory_order_relaxed);
    atomic_store_explicit(&w->seq, s + 2, memory_order_release);
}

void
shm_worker_beat(struct shm_worker *w, int64_t mono_ms)
{
    unsigned expect = SHM_STARTING;

    atomic_store_explicit(&w->heartbeat_ms, mono_ms, memory_order_relaxed);
    atomic_compare_exchange_strong(&w->state, &expect, SHM_RUNNING);
}

int
shm_snapshot(const struct shm_segment *seg, int idx, struct shm_snap *out)
{
    const struct shm_worker *w = &seg->rec[idx];

    for (int t = 0; t < SHM_SNAP_TRIES; t++) {
        uint64_t s1 = atomic_load_explicit(&w->seq, memory_order_acquire);
        for (int i = 0; i < CTR__COUNT; i++)
            out->ctr[i] = atomic_load_explicit(&w->ctr[i],
                memory_order_relaxed);
        for (int i = 0; i < HIST_WORDS; i++)
            out->hist[i] = atomic_load_explicit(&w->hist[i],
                memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        uint64_t s2 = atomic_load_explicit(&w->seq, memory_order_relaxed);
        out->pid = atomic_load(&w->pid);
        out->state = atomic_load(&w->state);
        out->slot = atomic_load(&w->slot);
        out->generation = atomic_load(&w->generation);
        out->start_ms = atomic_load(&w->start_ms);
        out->heartbeat_ms = atomic_load(&w->heartbeat_ms);
        if (s1 == s2 && (s1 & 1) == 0)
            return 0;
    }
    return -1;
}

void
shm_totals(const struct shm_segment *seg, uint64_t *out)
{
    struct shm_snap s;

    for (int i = 0; i < CTR__COUNT; i++)
        out[i] = ctr_desc[i].scope == CTR_S_MASTER
            ? atomic_load(&seg->hdr.master_ctr[i])
            : atomic_load(&seg->hdr.retired[i]);
    for (unsigned r = 0; r < SHM_NRECORDS; r++) {
        if (atomic_load(&seg->rec[r].state) == SHM_FREE)
            continue;
        (void)shm_snapshot(seg, (int)r, &s);
        for (int i = 0; i < CTR__COUNT; i++)
            if (ctr_desc[i].scope == CTR_S_WORKER)
                out[i] += s.ctr[i];
    }
}

void
shm_hist_totals(const struct shm_segment *seg, uint64_t *out)
{
    struct shm_snap s;

    for (int i = 0; i < HIST_WORDS; i++)
        out[i] = atomic_load(&seg->hdr.retired_hist[i]);
    for (unsigned r = 0; r < SHM_NRECORDS; r++) {
        if (atomic_load(&seg->rec[r].state) == SHM_FREE)
            continue;
        (void)shm_snapshot(seg, (int)r, &s);
        for (int i = 0; i < HIST_WORDS; i++)
            out[i] += s.hist[i];
    }
}

void
shm_master_add(struct shm_segment *seg, int ctr, uint64_t n)
{
    atomic_fetch_add_explicit(&seg->hdr.master_ctr[ctr], n,
        memory_order_relaxed);
}

void
shm_master_set(struct shm_segment *seg, int ctr, uint64_t v)
{
    atomic_store_explicit(&seg->hdr.master_ctr[ctr], v, memory_order_relaxed);
}

int
shm_ready(const struct shm_segment *seg, int64_t hb_timeout_ms, char *why,
    size_t whylen)
{
    unsigned nslots = atomic_load(&seg->hdr.nslots);
    unsigned gen = atomic_load(&seg->hdr.generation);
    int64_t now = wsg_mono_ms();

    if (atomic_load(&seg->hdr.stopping)) {
        if (why)
            snprintf(why, whylen, "stopping");
        return 0;
    }
    for (unsigned slot = 0; slot < nslots; slot++) {
        int ok = 0;
        for (unsigned r = 0; r < SHM_NRECORDS && !ok; r++) {
            const struct shm_worker *w = &seg->rec[r];
            ok = atomic_load(&w->state) == SHM_RUNNING
                && atomic_load(&w->slot) == slot
                && atomic_load(&w->generation) == gen
                && now - atomic_load(&w->heartbeat_ms) <= hb_timeout_ms;
        }
        if (!ok) {
            if (why)
                snprintf(why, whylen, "slot %u has no live, heartbeating "
                    "worker", slot);
            return 0;
        }
    }
    return 1;
}

void
shm_status(const struct shm_segment *seg, int64_t hb_timeout_ms,
    struct shm_status *out)
{
    unsigned gen = atomic_load(&seg->hdr.generation);

    out->ready = shm_ready(seg, hb_timeout_ms, NULL, 0);
    out->stopping = (int)atomic_load(&seg->hdr.stopping);
    out->uptime_s = (wsg_real_ms() - seg->hdr.start_ms) / 1000;
    out->slots = atomic_load(&seg->hdr.nslots);
    out->capacity = atomic_load(&seg->hdr.capacity);
    out->workers = 0;
    out->connections = 0;
    for (unsigned r = 0; r < SHM_NRECORDS; r++) {
        const struct shm_worker *w = &seg->rec[r];
        unsigned st = atomic_load(&w->state);
        if (st == SHM_FREE)
            continue;
        if (st == SHM_RUNNING && atomic_load(&w->generation) == gen)
            out->workers++;
        out->connections += atomic_load_explicit(&w->ctr[CTR_conn_open],
            memory_order_relaxed);
    }
}

int
shm_status_format(const struct shm_status *st, char *buf, size_t len)
{
    return snprintf(buf, len, "{\"status\":\"%s\",\"uptime_s\":%lld,"
        "\"workers\":%u,\"slots\":%u,\"connections\":%llu,"
        "\"capacity\":%llu}",
        st->stopping ? "stopping" : st->ready ? "ok" : "degraded",
        (long long)st->uptime_s, st->workers, st->slots,
        (unsigned long long)st->connections,
        (unsigned long long)st->capacity);
}

void
shm_worker_rooms(struct shm_worker *w, size_t n, const char *const *names,
    const size_t *lens, const uint32_t *members)
{
    uint64_t s = atomic_load_explicit(&w->rooms_seq, memory_order_relaxed);

    if (n > SHM_TOP_ROOMS)
        n = SHM_TOP_ROOMS;
    atomic_store_explicit(&w->rooms_seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    for (size_t i = 0; i < n; i++) {
        size_t l = lens[i] < SHM_ROOM_NAME ? lens[i] : SHM_ROOM_NAME;
        memcpy(w->top[i].name, names[i], l);
        atomic_store_explicit(&w->top[i].len, (uint32_t)l,
            memory_order_relaxed);
        atomic_store_explicit(&w->top[i].members, members[i],
            memory_order_relaxed);
    }
    atomic_store_explicit(&w->nrooms_top, (uint32_t)n, memory_order_relaxed);
    atomic_store_explicit(&w->rooms_seq, s + 2, memory_order_release);
}

/* Copy record r's top list consistently; returns the count or 0. */
static size_t
shm_rooms_copy(const struct shm_worker *w, struct shm_room *out)
{
    for (int t = 0; t < SHM_SNAP_TRIES; t++) {
        uint64_t s1 = atomic_load_explicit(&w->rooms_seq,
            memory_order_acquire);
        size_t n = atomic_load_explicit(&w->nrooms_top, memory_order_relaxed);
        if (s1 & 1)
            continue;
        if (n > SHM_TOP_ROOMS)
            n = SHM_TOP_ROOMS;
        for (size_t i = 0; i < n; i++) {
            size_t l = atomic_load_explicit(&w->top[i].len,
                memory_order_relaxed);
            if (l > SHM_ROOM_NAME)
                l = SHM_ROOM_NAME;
            memcpy(out[i].name, w->top[i].name, l);
            out[i].name[l] = '\0';
            out[i].members = atomic_load_explicit(&w->top[i].members,
                memory_order_relaxed);
        }
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&w->rooms_seq, memory_order_relaxed) == s1)
            return n;
    }
    return 0;
}

static int
shm_room_cmp(const void *a, const void *b)
{
    const struct shm_room *x = a, *y = b;

    if (x->members != y->members)
        return x->members < y->members ? 1 : -1;
    return strcmp(x->name, y->name);
}

size_t
shm_top_rooms(const struct shm_segment *seg, struct shm_room *out, size_t n)
{
    struct shm_room *all, one[SHM_TOP_ROOMS];
    size_t k = 0;

    all = calloc(SHM_NRECORDS * SHM_TOP_ROOMS, sizeof(*all));
    if (all == NULL)
        return 0;
    for (unsigned r = 0; r < SHM_NRECORDS; r++) {
        if (atomic_load(&seg->rec[r].state) == SHM_FREE)
            continue;
        size_t m = shm_rooms_copy(&seg->rec[r], one);
        for (size_t i = 0; i < m; i++) {
            size_t j;
            for (j = 0; j < k; j++)
                if (strcmp(all[j].name, one[i].name) == 0)
                    break;
            if (j == k)
                all[k++] = one[i];
            else
                all[j].members += one[i].members;
        }
    }
    qsort(all, k, sizeof(*all), shm_room_cmp);
    if (k > n)
        k = n;
    memcpy(out, all, k * sizeof(*out));
    free(all);
    return k;
}

struct gmap *
shm_gmap(struct shm_segment *seg)
{
    return &seg->gmap;
}
