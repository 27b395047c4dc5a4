/*
 * Cluster offset map (gmap.h). The writer bumps ver to odd, writes a
 * stretch and n, and bumps ver to even; a reader copies what it needs
 * between two equal even readings of ver.
 */
#include <string.h>

#include "shm/gmap.h"

#define GMAP_TRIES 64

void
gmap_init(struct gmap *m, int on)
{
    memset((void *)m, 0, sizeof(*m));
    atomic_store_explicit(&m->on, on ? 1 : 0, memory_order_release);
}

int
gmap_on(const struct gmap *m)
{
    return atomic_load_explicit(&m->on, memory_order_acquire) != 0;
}

void
gmap_note(struct gmap *m, uint64_t local, uint64_t off, int gap)
{
    uint64_t n = atomic_load_explicit(&m->n, memory_order_relaxed);

    if (n > 0 && !gap) {
        const struct gmap_stretch *l = &m->s[(n - 1) % GMAP_SLOTS];
        uint64_t ll = atomic_load_explicit(&l->local, memory_order_relaxed);
        uint64_t lo = atomic_load_explicit(&l->off, memory_order_relaxed);
        if (local > ll && off > lo && off - lo == local - ll)
            return; /* the last stretch goes on */
    }
    struct gmap_stretch *s = &m->s[n % GMAP_SLOTS];
    uint64_t v = atomic_load_explicit(&m->ver, memory_order_relaxed);
    atomic_store_explicit(&m->ver, v + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&s->local, local, memory_order_relaxed);
    atomic_store_explicit(&s->off, off, memory_order_relaxed);
    atomic_store_explicit(&s->flags, gap ? GMAP_F_GAP : 0,
        memory_order_relaxed);
    atomic_store_explicit(&m->n, n + 1, memory_order_relaxed);
    atomic_store_explicit(&m->ver, v + 2, memory_order_release);
}

/* A consistent copy of the stretches kept, oldest first, into out
 * (GMAP_SLOTS); returns how many, or -1 when the writer stayed busy. */
static int
gmap_copy(const struct gmap *m, struct gmap_stretch *out)
{
    for (int t = 0; t < GMAP_TRIES; t++) {
        uint64_t v = atomic_load_explicit(&m->ver, memory_order_acquire);
        if (v & 1)
            continue;
        uint64_t n = atomic_load_explicit(&m->n, memory_order_relaxed);
        uint64_t first = n > GMAP_SLOTS ? n - GMAP_SLOTS : 0;
        for (uint64_t i = first; i < n; i++) {
            const struct gmap_stretch *s = &m->s[i % GMAP_SLOTS];
            struct gmap_stretch *o = &out[i - first];
            atomic_store_explicit(&o->local, atomic_load_explicit(&s->local,
                memory_order_relaxed), memory_order_relaxed);
            atomic_store_explicit(&o->off, atomic_load_explicit(&s->off,
                memory_order_relaxed), memory_order_relaxed);
            atomic_store_explicit(&o->flags, atomic_load_explicit(&s->flags,
                memory_order_relaxed), memory_order_relaxed);
        }
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&m->ver, memory_order_relaxed) == v)
            return (int)(n - first);
    }
    return -1;
}

#define LD(x) atomic_load_explicit(&(x), memory_order_relaxed)

uint64_t
gmap_offset(const struct gmap *m, uint64_t seq)
{
    if (!gmap_on(m))
        return seq;
    for (int t = 0; t < GMAP_TRIES; t++) {
        uint64_t v = atomic_load_explicit(&m->ver, memory_order_acquire);
        if (v & 1)
            continue;
        uint64_t n = LD(m->n), r = 0;
        uint64_t first = n > GMAP_SLOTS ? n - GMAP_SLOTS : 0;
        /* Nearly always the newest stretch: walk back from it. */
        for (uint64_t i = n; i > first; i--) {
            const struct gmap_stretch *s = &m->s[(i - 1) % GMAP_SLOTS];
            uint64_t l = LD(s->local);
            if (l <= seq) {
                r = LD(s->off) + (seq - l);
                break;
            }
        }
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&m->ver, memory_order_relaxed) == v)
            return r;
    }
    return 0;
}

enum gmap_status
gmap_local(const struct gmap *m, uint64_t off, uint64_t *local)
{
    static _Thread_local struct gmap_stretch s[GMAP_SLOTS];
    int n, i, gap = 0;

    if (!gmap_on(m)) {
        *local = off;
        return GMAP_OK;
    }
    if ((n = gmap_copy(m, s)) < 0)
        return GMAP_E_BUSY;
    if (n == 0) { /* nothing appended yet: it would come first */
        *local = 0;
        return GMAP_OK;
    }
    /* The newest stretch starting at or below off. */
    for (i = n - 1; i >= 0 && LD(s[i].off) > off; i--)
        if (LD(s[i].flags) & GMAP_F_GAP)
            gap = 1;
    if (i < 0) {
        /* Older than everything kept: only the very first stretch ever,
         * starting right after off, leaves nothing out. */
        uint64_t n_ever = atomic_load_explicit(&m->n, memory_order_relaxed);
        *local = LD(s[0].local) - 1;
        if (n_ever > GMAP_SLOTS || LD(s[0].off) != off + 1)
            gap = 1;
        return gap ? GMAP_GAP : GMAP_OK;
    }
    *local = LD(s[i].local) + (off - LD(s[i].off));
    if (i < n - 1 && *local >= LD(s[i + 1].local))
        *local = LD(s[i + 1].local) - 1;
    return gap ? GMAP_GAP : GMAP_OK;
}
