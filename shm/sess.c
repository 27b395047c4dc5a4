/*
 * The recoverable-session table (sess.h): layout, the single writer's
 * insert / replace / hold / remove / expiry with its private free list and
 * deadline queue, the readers' lock-free lookup, and the channel messages.
 * It owns only the bytes it is given; the mapping, the sockets and the
 * clocks belong to master/stor.c and worker/rcv.c.
 *
 * Ordering. Every shared word is _Atomic and accessed relaxed, with fences
 * giving the order (the seqlock pattern of shm.c):
 *   entry    the writer makes seq odd, a release fence, stores the fields,
 *            then stores seq even with release; a reader loads seq with
 *            acquire, copies, an acquire fence, and rechecks seq.
 *   insert   the entry is written completely before its number is stored
 *            into an index slot with release, so a reader that finds the
 *            number (acquire) finds the entry written.
 *   remove   the slot becomes a tombstone first, then the entry is marked
 *            FREE under its seqlock. A reader still holding the number
 *            copies either the old session or a FREE or reused entry, and
 *            the pid comparison in the copy tells which.
 *   rebuild  when tombstones pass a quarter of the index, the writer
 *            rebuilds it in place inside the table-wide idx_seq seqlock; a
 *            reader whose probe missed rechecks idx_seq and retries.
 * Entries never move, so a probe that ends at an empty slot while idx_seq
 * is unchanged proves the pid was absent at some point during the probe.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "common/dlq.h"
#include "common/tok.h"
#include "shm/sess.h"

_Static_assert(SESS_USER_MAX == TOK_USER_MAX - 1, "user bound is tok's");
_Static_assert(SESS_ID_LEN < 3 * 8, "an id and its NUL fit in pid[]");
_Static_assert(SESS_MAX_CAPACITY < SESS_TOMB, "entry numbers below TOMB");

#define SESS_HDR_BYTES 128u
#define SESS_MIN_NIDX 8u
#define SESS_SPINS 64      /* seqlock retries before yielding the CPU */
#define SESS_TRIES 1024    /* then give up with SESS_E_BUSY */
#define SESS_IDWORDS 3

/* What the writer keeps about each entry in its own memory. */
struct sess_meta {
    struct dlq_node dl; /* in heldq while HELD */
    uint32_t hash;
    int32_t owner;
    uint32_t state;
};

struct sess_writer {
    struct sess_table *t;
    struct sess_meta *meta; /* [capacity + 1]; 0 unused */
    uint32_t *freel;        /* entry numbers freed, reused last-in first */
    uint32_t nfree;
    uint32_t hwm;           /* entries 1..hwm have been used */
    uint32_t count, held, tombs;
    struct dlq heldq;       /* HELD entries by until_ms */
};

static size_t sess_geom(uint32_t cap, uint32_t *nidx, uint64_t *idx_off,
    uint64_t *ent_off);
static inline _Atomic uint32_t *sess_idx(const struct sess_table *t);
static inline struct sess_entry *sess_ent(const struct sess_table *t,
    uint32_t e);
static int sess_key(const char *pid, size_t len,
    uint64_t key[SESS_IDWORDS]);
static void sess_store(_Atomic uint64_t *w, const char *p, size_t n,
    size_t nwords);
static void sess_load(const _Atomic uint64_t *w, char *dst, size_t n);
static void sess_begin(struct sess_entry *x);
static void sess_end(struct sess_entry *x);
static int sess_read(const struct sess_table *t, uint32_t e,
    const uint64_t *key, struct sess_rec *out);
static uint32_t sess_find(const struct sess_writer *w, uint32_t h,
    const uint64_t *key, uint32_t *slot);
static void sess_remove(struct sess_writer *w, uint32_t e);
static void sess_rebuild(struct sess_writer *w);
static void sess_set_held(struct sess_writer *w, uint32_t e,
    int64_t until_ms);
static int sess_rec_ok(const struct sess_rec *r);
static void sess_write(struct sess_writer *w, uint32_t e,
    const struct sess_rec *r, uint32_t h);
static uint32_t sess_alloc(struct sess_writer *w, int *evicted);
static int sess_holder(const struct sess_writer *w, const char *pid,
    int32_t owner, uint64_t tag, uint32_t *ep);

size_t
sess_size(uint32_t capacity)
{
    uint32_t nidx;
    uint64_t io, eo;

    return sess_geom(capacity, &nidx, &io, &eo);
}

int
sess_init(void *mem, uint32_t capacity, uint64_t seed)
{
    struct sess_table *t = mem;
    uint32_t nidx;
    uint64_t io, eo;
    size_t size = sess_geom(capacity, &nidx, &io, &eo);

    if (t == NULL || size == 0 || (uintptr_t)mem % 64 != 0) {
        errno = EINVAL;
        return -1;
    }
    memset(t, 0, sizeof(*t));
    t->magic = SESS_MAGIC;
    t->version = SESS_LAYOUT_VERSION;
    t->entry_size = sizeof(struct sess_entry);
    t->capacity = capacity;
    t->nidx = nidx;
    t->seed = seed;
    t->idx_off = io;
    t->ent_off = eo;
    t->size = size;
    atomic_init(&t->idx_seq, 0);
    for (uint32_t i = 0; i < nidx; i++)
        atomic_init(&sess_idx(t)[i], SESS_EMPTY);
    /* Entries are left untouched (a fresh mapping costs nothing until
     * used); the writer resets each one the first time it takes it. */
    return 0;
}

int
sess_check(const struct sess_table *t, size_t memlen)
{
    uint32_t nidx;
    uint64_t io, eo;
    size_t size;

    if (t == NULL || memlen < sizeof(*t) || t->magic != SESS_MAGIC
        || t->version != SESS_LAYOUT_VERSION
        || t->entry_size != sizeof(struct sess_entry))
        return SESS_E_CORRUPT;
    size = sess_geom(t->capacity, &nidx, &io, &eo);
    if (size == 0 || t->nidx != nidx || t->idx_off != io || t->ent_off != eo
        || t->size != size || size > memlen)
        return SESS_E_CORRUPT;
    return SESS_OK;
}

uint32_t
sess_hash(const struct sess_table *t, const char *pid, size_t len)
{
    uint64_t h = t->seed ^ UINT64_C(0xcbf29ce484222325);

    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)pid[i]) * UINT64_C(0x100000001b3);
    /* FNV-1a, then the murmur3 finaliser so the low bits mix well. */
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return (uint32_t)h;
}

int
sess_lookup(const struct sess_table *t, const char *pid, int64_t now_ms,
    struct sess_rec *out)
{
    uint64_t key[SESS_IDWORDS];
    size_t len = strnlen(pid, SESS_ID_LEN + 1);
    uint32_t mask = t->nidx - 1, h;
    const _Atomic uint32_t *idx = sess_idx(t);

    if (sess_key(pid, len, key) == -1)
        return SESS_E_NOTFOUND;
    h = sess_hash(t, pid, len);
    for (int tr = 0; tr < SESS_TRIES; tr++) {
        uint64_t g = atomic_load_explicit(&t->idx_seq, memory_order_acquire);
        if (g & 1) {
            if (tr >= SESS_SPINS)
                sched_yield();
            continue;
        }
        for (uint32_t i = 0; i <= mask; i++) {
            uint32_t e = atomic_load_explicit(&idx[(h + i) & mask],
                memory_order_acquire);
            if (e == SESS_EMPTY)
                break;
            if (e == SESS_TOMB || e > t->capacity)
                continue;
            int r = sess_read(t, e, key, out);
            if (r == -1)
                return SESS_E_BUSY;
            if (r == 0 || out->state == SESS_FREE)
                continue; /* another pid, or removed while we probed */
            if (out->state == SESS_LIVE
                || (out->state == SESS_HELD && out->until_ms > now_ms))
                return SESS_OK;
            return SESS_E_NOTFOUND; /* expired, or a bad state word */
        }
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&t->idx_seq, memory_order_relaxed) == g)
            return SESS_E_NOTFOUND;
    }
    return SESS_E_BUSY;
}

int
sess_entry_copy(const struct sess_table *t, uint32_t e, struct sess_rec *out)
{
    if (e == 0 || e > t->capacity)
        return SESS_E_INVAL;
    return sess_read(t, e, NULL, out) == 1 ? SESS_OK : SESS_E_BUSY;
}

struct sess_writer *
sess_writer_new(struct sess_table *t)
{
    struct sess_writer *w = calloc(1, sizeof(*w));

    if (w == NULL)
        return NULL;
    w->t = t;
    /* Large zeroed allocations come straight from mmap: pages are only
     * paid for as entries get used. */
    w->meta = calloc((size_t)t->capacity + 1, sizeof(*w->meta));
    w->freel = malloc((size_t)t->capacity * sizeof(*w->freel));
    if (w->meta == NULL || w->freel == NULL) {
        sess_writer_free(&w);
        return NULL;
    }
    return w;
}

void
sess_writer_free(struct sess_writer **w)
{
    if (w == NULL || *w == NULL)
        return;
    free((*w)->meta);
    free((*w)->freel);
    free(*w);
    *w = NULL;
}

int
sess_put(struct sess_writer *w, const struct sess_rec *r)
{
    uint64_t key[SESS_IDWORDS];
    size_t len = strnlen(r->pid, SESS_ID_LEN + 1);
    uint32_t h, e, slot, mask = w->t->nidx - 1;
    _Atomic uint32_t *idx = sess_idx(w->t);
    int evicted = 0;

    if (!sess_rec_ok(r) || sess_key(r->pid, len, key) == -1)
        return SESS_E_INVAL;
    h = sess_hash(w->t, r->pid, len);
    e = sess_find(w, h, key, &slot);
    if (e != 0) {
        struct sess_entry *x = sess_ent(w->t, e);
        int same = w->meta[e].owner == r->owner
            && atomic_load_explicit(&x->tag, memory_order_relaxed) == r->tag;
        if (!same && r->stamp
                < atomic_load_explicit(&x->stamp, memory_order_relaxed))
            return SESS_E_STALE;
        if (w->meta[e].state == SESS_HELD) {
            dlq_remove(&w->heldq, &w->meta[e].dl);
            w->held--;
        }
        sess_write(w, e, r, h);
        return SESS_OK;
    }
    e = sess_alloc(w, &evicted);
    if (e == 0)
        return SESS_E_FULL;
    sess_write(w, e, r, h);
    /* The eviction may have rebuilt the index: probe again for the first
     * reusable slot (the pid is known to be absent). */
    for (uint32_t i = 0;; i++) {
        slot = (h + i) & mask;
        uint32_t v = atomic_load_explicit(&idx[slot], memory_order_relaxed);
        if (v == SESS_EMPTY)
            break;
        if (v == SESS_TOMB) {
            w->tombs--;
            break;
        }
    }
    atomic_store_explicit(&idx[slot], e, memory_order_release);
    w->count++;
    return evicted ? SESS_EVICTED : SESS_OK;
}

int
sess_hold(struct sess_writer *w, const char *pid, int32_t owner,
    uint64_t tag, int64_t until_ms)
{
    uint32_t e;
    int rc = sess_holder(w, pid, owner, tag, &e);

    if (rc == SESS_OK)
        sess_set_held(w, e, until_ms);
    return rc;
}

int
sess_drop(struct sess_writer *w, const char *pid, int32_t owner,
    uint64_t tag)
{
    uint32_t e;
    int rc = sess_holder(w, pid, owner, tag, &e);

    if (rc == SESS_OK)
        sess_remove(w, e);
    return rc;
}

size_t
sess_orphan(struct sess_writer *w, int32_t owner, int64_t until_ms)
{
    size_t n = 0;

    for (uint32_t e = 1; e <= w->hwm; e++)
        if (w->meta[e].state == SESS_LIVE && w->meta[e].owner == owner) {
            sess_set_held(w, e, until_ms);
            n++;
        }
    return n;
}

size_t
sess_each_live(struct sess_writer *w, sess_live_fn fn, void *arg)
{
    size_t n = 0;

    for (uint32_t e = 1; e <= w->hwm; e++) {
        const struct sess_entry *x;
        uint64_t id[SESS_IDWORDS];
        char pid[SESS_ID_LEN + 1];
        if (w->meta[e].state != SESS_LIVE)
            continue;
        x = sess_ent(w->t, e);
        for (int i = 0; i < SESS_IDWORDS; i++)
            id[i] = atomic_load_explicit(&x->pid[i], memory_order_relaxed);
        memcpy(pid, id, SESS_ID_LEN);
        pid[SESS_ID_LEN] = '\0';
        fn(arg, pid, w->meta[e].owner, atomic_load_explicit(&x->tag,
            memory_order_relaxed));
        n++;
    }
    return n;
}

size_t
sess_each(struct sess_writer *w, sess_each_fn fn, void *arg)
{
    static struct sess_rec r;
    size_t n = 0;

    for (uint32_t e = 1; e <= w->hwm; e++) {
        if (w->meta[e].state == SESS_FREE
            || sess_entry_copy(w->t, e, &r) != SESS_OK)
            continue;
        fn(arg, &r);
        n++;
    }
    return n;
}

size_t
sess_expire(struct sess_writer *w, int64_t now_ms)
{
    size_t n = 0;

    while (w->heldq.head && w->heldq.head->due <= now_ms) {
        struct sess_meta *m = DLQ_ENTRY(w->heldq.head, struct sess_meta, dl);
        sess_remove(w, (uint32_t)(m - w->meta));
        n++;
    }
    return n;
}

uint32_t
sess_count(const struct sess_writer *w)
{
    return w->count;
}

uint32_t
sess_held(const struct sess_writer *w)
{
    return w->held;
}

static size_t
sess_geom(uint32_t cap, uint32_t *nidx, uint64_t *idx_off, uint64_t *ent_off)
{
    uint64_t n = SESS_MIN_NIDX;

    if (cap == 0 || cap > SESS_MAX_CAPACITY)
        return 0;
    while (n < 2 * (uint64_t)cap)
        n <<= 1;
    *nidx = (uint32_t)n;
    *idx_off = SESS_HDR_BYTES;
    *ent_off = (SESS_HDR_BYTES + 4 * n + 63) & ~(uint64_t)63;
    return (size_t)(*ent_off + (uint64_t)cap * sizeof(struct sess_entry));
}

static inline _Atomic uint32_t *
sess_idx(const struct sess_table *t)
{
    return (_Atomic uint32_t *)(void *)((char *)(uintptr_t)t + t->idx_off);
}

static inline struct sess_entry *
sess_ent(const struct sess_table *t, uint32_t e)
{
    return (struct sess_entry *)(void *)((char *)(uintptr_t)t + t->ent_off
        + (uint64_t)(e - 1) * sizeof(struct sess_entry));
}

/* The zero-padded words of a pid of 1..SESS_ID_LEN bytes, or -1. */
static int
sess_key(const char *pid, size_t len, uint64_t key[SESS_IDWORDS])
{
    if (len == 0 || len > SESS_ID_LEN)
        return -1;
    memset(key, 0, SESS_IDWORDS * sizeof(*key));
    memcpy(key, pid, len);
    return 0;
}

/* Store n bytes of p into words w[0..nwords), zero-padding the rest. */
static void
sess_store(_Atomic uint64_t *w, const char *p, size_t n, size_t nwords)
{
    for (size_t i = 0; i < nwords; i++) {
        uint64_t v = 0;
        size_t k = i * 8 < n ? n - i * 8 : 0;
        memcpy(&v, p + i * 8, k < 8 ? k : 8);
        atomic_store_explicit(&w[i], v, memory_order_relaxed);
    }
}

/* Copy n bytes out of words w into dst and NUL-terminate it. */
static void
sess_load(const _Atomic uint64_t *w, char *dst, size_t n)
{
    for (size_t i = 0; i * 8 < n; i++) {
        uint64_t v = atomic_load_explicit(&w[i], memory_order_relaxed);
        memcpy(dst + i * 8, &v, n - i * 8 < 8 ? n - i * 8 : 8);
    }
    dst[n] = '\0';
}

static void
sess_begin(struct sess_entry *x)
{
    uint64_t s = atomic_load_explicit(&x->seq, memory_order_relaxed);

    atomic_store_explicit(&x->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

static void
sess_end(struct sess_entry *x)
{
    uint64_t s = atomic_load_explicit(&x->seq, memory_order_relaxed);

    atomic_store_explicit(&x->seq, s + 1, memory_order_release);
}

static uint32_t
sess_bound(uint32_t v, uint32_t max)
{
    return v < max ? v : max;
}

/* Copy entry e under its seqlock. With key, stop early when its pid is
 * another. 1 copied (and matching), 0 another pid, -1 writer busy. */
static int
sess_read(const struct sess_table *t, uint32_t e, const uint64_t *key,
    struct sess_rec *out)
{
    const struct sess_entry *x = sess_ent(t, e);
    uint64_t id[SESS_IDWORDS];

    for (int tr = 0; tr < SESS_TRIES; tr++) {
        uint64_t s1 = atomic_load_explicit(&x->seq, memory_order_acquire);
        if (s1 & 1) {
            if (tr >= SESS_SPINS)
                sched_yield();
            continue;
        }
        for (int i = 0; i < SESS_IDWORDS; i++)
            id[i] = atomic_load_explicit(&x->pid[i], memory_order_relaxed);
        if (key && memcmp(id, key, sizeof(id)) != 0) {
            atomic_thread_fence(memory_order_acquire);
            if (atomic_load_explicit(&x->seq, memory_order_relaxed) == s1)
                return 0;
            continue;
        }
        memcpy(out->pid, id, SESS_ID_LEN);
        out->pid[SESS_ID_LEN] = '\0';
        sess_load(x->sid, out->sid, SESS_ID_LEN);
        out->tag = atomic_load_explicit(&x->tag, memory_order_relaxed);
        out->until_ms = atomic_load_explicit(&x->until_ms,
            memory_order_relaxed);
        out->stamp = atomic_load_explicit(&x->stamp, memory_order_relaxed);
        out->owner = atomic_load_explicit(&x->owner, memory_order_relaxed);
        out->state = atomic_load_explicit(&x->state, memory_order_relaxed);
        /* Lengths are shm input: bounded before use. */
        sess_load(x->nsp, out->nsp, sess_bound(atomic_load_explicit(
            &x->nsp_len, memory_order_relaxed), SESS_NSP_MAX));
        sess_load(x->user, out->user, sess_bound(atomic_load_explicit(
            &x->user_len, memory_order_relaxed), SESS_USER_MAX));
        out->rooms_len = sess_bound(atomic_load_explicit(&x->rooms_len,
            memory_order_relaxed), SESS_ROOMS_BYTES);
        if (out->rooms_len) {
            sess_load(x->rooms, out->rooms, out->rooms_len - 1);
            out->rooms[out->rooms_len - 1] = '\0';
        }
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&x->seq, memory_order_relaxed) == s1)
            return 1;
    }
    return -1;
}

/* Writer: the entry of the pid with hash h and key, or 0; *slot is where
 * the probe ended. The writer reads its own stores: no seqlock needed. */
static uint32_t
sess_find(const struct sess_writer *w, uint32_t h, const uint64_t *key,
    uint32_t *slot)
{
    const _Atomic uint32_t *idx = sess_idx(w->t);
    uint32_t mask = w->t->nidx - 1;

    for (uint32_t i = 0; i <= mask; i++) {
        uint32_t s = (h + i) & mask;
        uint32_t e = atomic_load_explicit(&idx[s], memory_order_relaxed);
        *slot = s;
        if (e == SESS_EMPTY)
            return 0;
        if (e == SESS_TOMB || w->meta[e].hash != h)
            continue;
        const struct sess_entry *x = sess_ent(w->t, e);
        int same = 1;
        for (int k = 0; k < SESS_IDWORDS; k++)
            same &= atomic_load_explicit(&x->pid[k], memory_order_relaxed)
                == key[k];
        if (same)
            return e;
    }
    return 0;
}

static void
sess_remove(struct sess_writer *w, uint32_t e)
{
    _Atomic uint32_t *idx = sess_idx(w->t);
    uint32_t mask = w->t->nidx - 1, h = w->meta[e].hash;
    struct sess_entry *x = sess_ent(w->t, e);

    for (uint32_t i = 0; i <= mask; i++) {
        uint32_t s = (h + i) & mask;
        uint32_t v = atomic_load_explicit(&idx[s], memory_order_relaxed);
        if (v == e) {
            atomic_store_explicit(&idx[s], SESS_TOMB, memory_order_release);
            w->tombs++;
            break;
        }
        if (v == SESS_EMPTY)
            abort(); /* the writer's own index lost an entry */
    }
    sess_begin(x);
    atomic_store_explicit(&x->state, SESS_FREE, memory_order_relaxed);
    sess_end(x);
    if (w->meta[e].state == SESS_HELD) {
        dlq_remove(&w->heldq, &w->meta[e].dl);
        w->held--;
    }
    w->meta[e].state = SESS_FREE;
    w->freel[w->nfree++] = e;
    w->count--;
    if (w->tombs > w->t->nidx / 4)
        sess_rebuild(w);
}

/* Rewrite the index without tombstones, inside the idx_seq seqlock. */
static void
sess_rebuild(struct sess_writer *w)
{
    struct sess_table *t = w->t;
    _Atomic uint32_t *idx = sess_idx(t);
    uint32_t mask = t->nidx - 1;
    uint64_t g = atomic_load_explicit(&t->idx_seq, memory_order_relaxed);

    atomic_store_explicit(&t->idx_seq, g + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    for (uint32_t i = 0; i <= mask; i++)
        atomic_store_explicit(&idx[i], SESS_EMPTY, memory_order_relaxed);
    for (uint32_t e = 1; e <= w->hwm; e++) {
        if (w->meta[e].state == SESS_FREE)
            continue;
        uint32_t s = w->meta[e].hash & mask;
        while (atomic_load_explicit(&idx[s], memory_order_relaxed)
            != SESS_EMPTY)
            s = (s + 1) & mask;
        atomic_store_explicit(&idx[s], e, memory_order_relaxed);
    }
    atomic_store_explicit(&t->idx_seq, g + 2, memory_order_release);
    w->tombs = 0;
}

static void
sess_set_held(struct sess_writer *w, uint32_t e, int64_t until_ms)
{
    struct sess_entry *x = sess_ent(w->t, e);

    sess_begin(x);
    atomic_store_explicit(&x->until_ms, until_ms, memory_order_relaxed);
    atomic_store_explicit(&x->state, SESS_HELD, memory_order_relaxed);
    sess_end(x);
    if (w->meta[e].state == SESS_HELD)
        dlq_remove(&w->heldq, &w->meta[e].dl);
    else
        w->held++;
    w->meta[e].state = SESS_HELD;
    dlq_insert(&w->heldq, &w->meta[e].dl, until_ms);
}

/* A record the writer may store: every length in bounds, no NUL inside a
 * string, rooms ending with a NUL. */
static int
sess_rec_ok(const struct sess_rec *r)
{
    size_t pl = strnlen(r->pid, sizeof(r->pid));
    size_t sl = strnlen(r->sid, sizeof(r->sid));

    return pl > 0 && pl <= SESS_ID_LEN && sl > 0 && sl <= SESS_ID_LEN
        && strnlen(r->nsp, sizeof(r->nsp)) <= SESS_NSP_MAX
        && strnlen(r->user, sizeof(r->user)) <= SESS_USER_MAX
        && r->rooms_len <= SESS_ROOMS_BYTES
        && (r->rooms_len == 0 || r->rooms[r->rooms_len - 1] == '\0');
}

/* Write r into entry e as a LIVE session (the whole entry). */
static void
sess_write(struct sess_writer *w, uint32_t e, const struct sess_rec *r,
    uint32_t h)
{
    struct sess_entry *x = sess_ent(w->t, e);
    size_t nl = strlen(r->nsp), ul = strlen(r->user);

    sess_begin(x);
    atomic_store_explicit(&x->tag, r->tag, memory_order_relaxed);
    atomic_store_explicit(&x->until_ms, 0, memory_order_relaxed);
    atomic_store_explicit(&x->stamp, r->stamp, memory_order_relaxed);
    atomic_store_explicit(&x->owner, r->owner, memory_order_relaxed);
    atomic_store_explicit(&x->state, SESS_LIVE, memory_order_relaxed);
    atomic_store_explicit(&x->hash, h, memory_order_relaxed);
    atomic_store_explicit(&x->nsp_len, (uint32_t)nl, memory_order_relaxed);
    atomic_store_explicit(&x->user_len, (uint32_t)ul, memory_order_relaxed);
    atomic_store_explicit(&x->rooms_len, r->rooms_len, memory_order_relaxed);
    sess_store(x->pid, r->pid, strlen(r->pid), SESS_IDWORDS);
    sess_store(x->sid, r->sid, strlen(r->sid), SESS_IDWORDS);
    sess_store(x->nsp, r->nsp, nl, (nl + 7) / 8);
    sess_store(x->user, r->user, ul, (ul + 7) / 8);
    sess_store(x->rooms, r->rooms, r->rooms_len, (r->rooms_len + 7) / 8);
    sess_end(x);
    w->meta[e].hash = h;
    w->meta[e].owner = r->owner;
    w->meta[e].state = SESS_LIVE;
}

/* A free entry number, evicting the held session closest to expiry when
 * none is left. 0 when every entry is live. */
static uint32_t
sess_alloc(struct sess_writer *w, int *evicted)
{
    uint32_t e;

    if (w->nfree == 0 && w->hwm == w->t->capacity && w->heldq.head) {
        struct sess_meta *m = DLQ_ENTRY(w->heldq.head, struct sess_meta, dl);
        sess_remove(w, (uint32_t)(m - w->meta));
        *evicted = 1;
    }
    if (w->nfree > 0)
        return w->freel[--w->nfree];
    if (w->hwm == w->t->capacity)
        return 0;
    e = ++w->hwm;
    /* First use: whatever the memory held, start the seqlock even. */
    atomic_store_explicit(&sess_ent(w->t, e)->seq, 0, memory_order_relaxed);
    return e;
}

/* The entry of pid when owner and tag hold it: SESS_OK and *ep,
 * SESS_E_NOTFOUND or SESS_E_STALE. */
static int
sess_holder(const struct sess_writer *w, const char *pid, int32_t owner,
    uint64_t tag, uint32_t *ep)
{
    uint64_t key[SESS_IDWORDS];
    size_t len = strnlen(pid, SESS_ID_LEN + 1);
    uint32_t slot, e;

    if (sess_key(pid, len, key) == -1)
        return SESS_E_NOTFOUND;
    e = sess_find(w, sess_hash(w->t, pid, len), key, &slot);
    if (e == 0)
        return SESS_E_NOTFOUND;
    if (w->meta[e].owner != owner || atomic_load_explicit(
            &sess_ent(w->t, e)->tag, memory_order_relaxed) != tag)
        return SESS_E_STALE;
    *ep = e;
    return SESS_OK;
}
