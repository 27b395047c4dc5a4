/*
 * The limit tables (ltab.h): per-record count tables with linear probing
 * (a slot whose count fell to 0 keeps its key, so probe chains stay whole
 * for readers, and is reused by the next new key of its chain), the
 * per-record totals, and the handshake-rate buckets. The hash is SipHash-
 * 2-4 with a per-start random key, so a client cannot choose addresses or
 * user names that crowd one probe window.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "common/tb.h"
#include "shm/layout.h"
#include "shm/ltab.h"

#define LTAB_MAGIC UINT64_C(0x316261746c677377) /* "wsgltab1" */

struct ltab_ent {
    _Atomic uint64_t key;
    _Atomic uint32_t n;
    uint32_t pad;
};

struct ltab_bkt {
    _Atomic uint64_t key;
    _Atomic uint64_t st; /* tb_pack(tokens, at) */
};

struct ltab {
    uint64_t magic;
    uint64_t size;
    uint32_t nent, nbkt; /* powers of two */
    uint64_t k0, k1;     /* SipHash key */
    /* Per record: connections counted for max_connections, and slots of
     * its table with a count above 0 (0: nothing to read there). */
    alignas(64) _Atomic uint64_t total[SHM_NRECORDS];
    _Atomic uint32_t held[SHM_NRECORDS];
    /* then nbkt buckets, then SHM_NRECORDS tables of nent entries */
};

_Static_assert(sizeof(struct ltab) % 16 == 0, "tables aligned");
_Static_assert(sizeof(struct ltab_ent) == 16, "entry size");

static unsigned
ltab_pow2(unsigned n)
{
    unsigned p = 16;

    while (p < n && p < (1u << 30))
        p <<= 1;
    return p;
}

static struct ltab_bkt *
ltab_bkts(const struct ltab *lt)
{
    return (struct ltab_bkt *)(void *)((char *)(uintptr_t)lt
        + sizeof(*lt));
}

static struct ltab_ent *
ltab_tab(const struct ltab *lt, unsigned rec)
{
    return (struct ltab_ent *)(void *)((char *)ltab_bkts(lt)
        + (size_t)lt->nbkt * sizeof(struct ltab_bkt))
        + (size_t)rec * lt->nent;
}

size_t
ltab_size(unsigned nent, unsigned nbkt)
{
    return sizeof(struct ltab) + (size_t)ltab_pow2(nbkt)
        * sizeof(struct ltab_bkt) + (size_t)SHM_NRECORDS * ltab_pow2(nent)
        * sizeof(struct ltab_ent);
}

struct ltab *
ltab_format(void *mem, unsigned nent, unsigned nbkt, uint64_t seed)
{
    struct ltab *lt = mem;

    lt->magic = LTAB_MAGIC;
    lt->size = ltab_size(nent, nbkt);
    lt->nent = ltab_pow2(nent);
    lt->nbkt = ltab_pow2(nbkt);
    lt->k0 = seed;
    lt->k1 = seed ^ UINT64_C(0x9e3779b97f4a7c15);
    return lt;
}

struct ltab *
ltab_create(unsigned nent, unsigned nbkt)
{
    size_t sz = ltab_size(nent, nbkt);
    uint64_t seed[2];
    struct ltab *lt;
    void *mem;

    if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
        return NULL;
    mem = mmap(NULL, sz, PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED)
        return NULL;
    lt = ltab_format(mem, nent, nbkt, seed[0]);
    lt->k1 = seed[1];
    return lt;
}

void
ltab_destroy(struct ltab **lt)
{
    if (lt == NULL || *lt == NULL)
        return;
    munmap(*lt, (*lt)->size);
    *lt = NULL;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                       \
    do {                                                               \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);      \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                         \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                         \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);      \
    } while (0)

/* SipHash-2-4 of p[0..n). */
static uint64_t
ltab_sip(uint64_t k0, uint64_t k1, const unsigned char *p, size_t n)
{
    uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575);
    uint64_t v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
    uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261);
    uint64_t v3 = k1 ^ UINT64_C(0x7465646279746573);
    uint64_t b = (uint64_t)n << 56, m;
    size_t i, left = n & 7;

    for (i = 0; i + 8 <= n; i += 8) {
        m = 0;
        for (int j = 7; j >= 0; j--)
            m = m << 8 | p[i + (size_t)j];
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    for (size_t j = 0; j < left; j++)
        b |= (uint64_t)p[i + j] << (8 * j);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t
ltab_key(const struct ltab *lt, enum ltab_kind kind, const void *p, size_t n)
{
    uint64_t h = ltab_sip(lt->k0 + (uint64_t)kind, lt->k1, p, n);

    return h ? h : 1;
}

/* The slot of key in rec's table, or NULL. */
static struct ltab_ent *
ltab_find(const struct ltab *lt, unsigned rec, uint64_t key)
{
    struct ltab_ent *t = ltab_tab(lt, rec);
    uint32_t mask = lt->nent - 1;

    for (uint32_t j = 0; j < LTAB_PROBE && j <= mask; j++) {
        struct ltab_ent *e = &t[(key + j) & mask];
        uint64_t k = atomic_load(&e->key);
        if (k == key)
            return e;
        if (k == 0)
            return NULL;
    }
    return NULL;
}

uint64_t
ltab_count(const struct ltab *lt, uint64_t key)
{
    uint64_t sum = 0;

    for (unsigned r = 0; r < SHM_NRECORDS; r++) {
        struct ltab_ent *e;
        if (atomic_load(&((struct ltab *)(uintptr_t)lt)->held[r]) == 0)
            continue;
        if ((e = ltab_find(lt, r, key)) != NULL)
            sum += atomic_load(&e->n);
    }
    return sum;
}

enum ltab_status
ltab_add(struct ltab *lt, unsigned rec, uint64_t key, uint32_t max)
{
    struct ltab_ent *t = ltab_tab(lt, rec), *e = NULL, *reuse = NULL;
    uint32_t mask = lt->nent - 1;

    for (uint32_t j = 0; j < LTAB_PROBE && j <= mask; j++) {
        struct ltab_ent *s = &t[(key + j) & mask];
        uint64_t k = atomic_load(&s->key);
        if (k == key) {
            e = s;
            break;
        }
        if (k == 0) {
            if (reuse == NULL)
                reuse = s;
            break;
        }
        if (reuse == NULL && atomic_load(&s->n) == 0)
            reuse = s;
    }
    if (e == NULL) {
        if (reuse == NULL)
            return LTAB_FULL;
        e = reuse;
        atomic_store(&e->key, key); /* its count is 0: no reader loses */
    }
    if (atomic_fetch_add(&e->n, 1) == 0)
        atomic_fetch_add(&lt->held[rec], 1);
    if (max != 0 && ltab_count(lt, key) > max) {
        ltab_sub(lt, rec, key);
        return LTAB_OVER;
    }
    return LTAB_OK;
}

void
ltab_sub(struct ltab *lt, unsigned rec, uint64_t key)
{
    struct ltab_ent *e = ltab_find(lt, rec, key);

    if (e == NULL || atomic_load(&e->n) == 0)
        return; /* released by the master meanwhile: nothing to undo */
    if (atomic_fetch_sub(&e->n, 1) == 1)
        atomic_fetch_sub(&lt->held[rec], 1);
}

uint64_t
ltab_total(const struct ltab *lt)
{
    uint64_t sum = 0;

    for (unsigned r = 0; r < SHM_NRECORDS; r++)
        sum += atomic_load(&((struct ltab *)(uintptr_t)lt)->total[r]);
    return sum;
}

enum ltab_status
ltab_total_add(struct ltab *lt, unsigned rec, uint64_t max)
{
    atomic_fetch_add(&lt->total[rec], 1);
    if (max != 0 && ltab_total(lt) > max) {
        atomic_fetch_sub(&lt->total[rec], 1);
        return LTAB_OVER;
    }
    return LTAB_OK;
}

void
ltab_total_sub(struct ltab *lt, unsigned rec)
{
    if (atomic_load(&lt->total[rec]) > 0)
        atomic_fetch_sub(&lt->total[rec], 1);
}

void
ltab_release(struct ltab *lt, unsigned rec)
{
    struct ltab_ent *t;

    if (rec >= SHM_NRECORDS)
        return;
    t = ltab_tab(lt, rec);
    atomic_store(&lt->total[rec], 0);
    /* Counts first: a reader that still finds a key then reads 0. */
    for (uint32_t i = 0; i < lt->nent; i++)
        if (atomic_load_explicit(&t[i].key, memory_order_relaxed) != 0)
            atomic_store(&t[i].n, 0);
    atomic_store(&lt->held[rec], 0);
    for (uint32_t i = 0; i < lt->nent; i++)
        atomic_store_explicit(&t[i].key, 0, memory_order_relaxed);
}

/* Refill and take from bucket b. */
static enum ltab_status
ltab_take(struct ltab_bkt *b, uint32_t now_ms, uint32_t rate, uint32_t burst)
{
    uint64_t old = atomic_load(&b->st), nw;
    uint32_t tok, at;
    int ok;

    do {
        tb_unpack(old, &tok, &at);
        ok = tb_take(&tok, &at, now_ms, rate, burst);
        nw = tb_pack(tok, at);
    } while (!atomic_compare_exchange_weak(&b->st, &old, nw));
    return ok ? LTAB_OK : LTAB_OVER;
}

enum ltab_status
ltab_rate(struct ltab *lt, uint64_t key, uint32_t now_ms, uint32_t rate,
    uint32_t burst)
{
    struct ltab_bkt *bk = ltab_bkts(lt);
    uint32_t mask = lt->nbkt - 1;
    uint32_t full, tok, at;

    for (uint32_t j = 0; j < LTAB_BPROBE && j <= mask; j++) {
        struct ltab_bkt *b = &bk[(key + j) & mask];
        uint64_t k = atomic_load(&b->key);
        if (k == 0) {
            if (atomic_compare_exchange_strong(&b->key, &k, key)) {
                tb_init(&tok, &at, now_ms, burst);
                atomic_store(&b->st, tb_pack(tok, at));
                return ltab_take(b, now_ms, rate, burst);
            }
        }
        if (k == key)
            return ltab_take(b, now_ms, rate, burst);
    }
    /* The window is taken: a bucket that would be full again by now is
     * as good as new, so another key may have it. */
    tb_init(&full, &at, 0, burst);
    for (uint32_t j = 0; j < LTAB_BPROBE && j <= mask; j++) {
        struct ltab_bkt *b = &bk[(key + j) & mask];
        uint64_t k = atomic_load(&b->key), st = atomic_load(&b->st);
        tb_unpack(st, &tok, &at);
        if ((uint64_t)tok + (uint64_t)(uint32_t)(now_ms - at)
            * (rate ? rate : 1) < full)
            continue;
        if (atomic_compare_exchange_strong(&b->key, &k, key)) {
            tb_init(&tok, &at, now_ms, burst);
            atomic_store(&b->st, tb_pack(tok, at));
            return ltab_take(b, now_ms, rate, burst);
        }
    }
    return LTAB_FULL;
}
