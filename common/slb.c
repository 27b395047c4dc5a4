/*
 * Slabs of fixed-size objects (slb.h). A block is 256 slots of one
 * malloc; its bookkeeping (free list head, live count, the partial-list
 * links and a bitmap of the live slots) sits apart, in an array parallel
 * to the blocks, so walking the live objects never reads a free, poisoned
 * slot. A free slot holds the id of the next free slot of its block.
 */
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define SLB_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define SLB_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define SLB_POISON(p, n) ((void)(p), (void)(n))
#define SLB_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#include "common/slb.h"

#define SLB_N (1u << SLB_SHIFT)
#define SLB_WORDS (SLB_N / 64)

struct slb_blk {
    uint32_t free;          /* first free slot's id; 0: full */
    uint32_t nlive;
    uint32_t pprev, pnext;  /* on the partial list: index + 1 */
    uint32_t partial;
    uint64_t live[SLB_WORDS];
};

static void
slb_partial_add(struct slb *s, uint32_t b)
{
    s->bk[b].partial = 1;
    s->bk[b].pprev = 0;
    s->bk[b].pnext = s->partial;
    if (s->partial)
        s->bk[s->partial - 1].pprev = b + 1;
    s->partial = b + 1;
}

static void
slb_partial_del(struct slb *s, uint32_t b)
{
    struct slb_blk *k = &s->bk[b];

    if (k->pprev)
        s->bk[k->pprev - 1].pnext = k->pnext;
    else
        s->partial = k->pnext;
    if (k->pnext)
        s->bk[k->pnext - 1].pprev = k->pprev;
    k->partial = 0;
}

static uint32_t *
slb_link(const struct slb *s, uint32_t id)
{
    return slb_at(s, id);
}

/* A new block at the first free index, its slots chained as the free
 * list and poisoned. 0 or -1. */
static int
slb_blk_new(struct slb *s)
{
    uint32_t b = 0;

    while (b < s->nbk && s->blk[b])
        b++;
    if (b == s->nbk) {
        if (s->nbk == s->bkcap) {
            size_t ncap = s->bkcap ? (size_t)s->bkcap * 2 : 16;
            unsigned char **nb;
            struct slb_blk *nk;
            if (ncap > ((size_t)UINT32_MAX >> SLB_SHIFT)
                || (nb = realloc(s->blk, ncap * sizeof(*nb))) == NULL)
                return -1;
            s->blk = nb;
            if ((nk = realloc(s->bk, ncap * sizeof(*nk))) == NULL)
                return -1;
            s->bk = nk;
            s->bkcap = (uint32_t)ncap;
        }
        s->blk[s->nbk++] = NULL;
    }
    unsigned char *p = malloc(SLB_N * s->size);
    if (p == NULL)
        return -1;
    s->blk[b] = p;
    uint32_t base = (b << SLB_SHIFT) + 1;
    for (uint32_t i = 0; i < SLB_N; i++)
        *slb_link(s, base + i) = i + 1 < SLB_N ? base + i + 1 : 0;
    SLB_POISON(p, SLB_N * s->size);
    memset(&s->bk[b], 0, sizeof(s->bk[b]));
    s->bk[b].free = base;
    slb_partial_add(s, b);
    s->nheld++;
    return 0;
}

void
slb_init(struct slb *s, size_t size)
{
    memset(s, 0, sizeof(*s));
    s->size = size < 8 ? 8 : (size + 7) & ~(size_t)7;
}

void
slb_free_all(struct slb *s)
{
    size_t size = s->size;

    for (uint32_t b = 0; b < s->nbk; b++) {
        if (s->blk[b])
            SLB_UNPOISON(s->blk[b], SLB_N * s->size);
        free(s->blk[b]);
    }
    free(s->blk);
    free(s->bk);
    slb_init(s, size);
}

void *
slb_alloc(struct slb *s, uint32_t *id)
{
    if (s->partial == 0 && slb_blk_new(s) == -1)
        return NULL;
    uint32_t b = s->partial - 1, slot;
    struct slb_blk *k = &s->bk[b];
    void *p = slb_at(s, k->free);

    *id = k->free;
    SLB_UNPOISON(p, s->size);
    k->free = *(uint32_t *)p;
    k->nlive++;
    slot = (*id - 1) & (SLB_N - 1);
    k->live[slot / 64] |= 1ull << (slot % 64);
    if (k->free == 0)
        slb_partial_del(s, b);
    s->nlive++;
    memset(p, 0, s->size);
    return p;
}

void
slb_free(struct slb *s, uint32_t id)
{
    uint32_t b = (id - 1) >> SLB_SHIFT, slot = (id - 1) & (SLB_N - 1);
    struct slb_blk *k = &s->bk[b];
    uint32_t *p = slb_link(s, id);

    *p = k->free;
    k->free = id;
    SLB_POISON(p, s->size);
    k->live[slot / 64] &= ~(1ull << (slot % 64));
    s->nlive--;
    if (!k->partial)
        slb_partial_add(s, b);
    if (--k->nlive == 0 && (k->pprev || k->pnext)) {
        slb_partial_del(s, b);
        SLB_UNPOISON(s->blk[b], SLB_N * s->size);
        free(s->blk[b]);
        s->blk[b] = NULL;
        s->nheld--;
    }
}

uint32_t
slb_next(const struct slb *s, uint32_t id)
{
    uint32_t b = id >> SLB_SHIFT, slot = id & (SLB_N - 1);

    /* id is the 0-based index of the slot after the previous one. */
    for (; b < s->nbk; b++, slot = 0) {
        if (s->blk[b] == NULL)
            continue;
        for (uint32_t w = slot / 64; w < SLB_WORDS; w++) {
            uint64_t m = s->bk[b].live[w];
            if (w == slot / 64)
                m &= ~0ull << (slot % 64);
            if (m)
                return (b << SLB_SHIFT) + w * 64
                    + (uint32_t)__builtin_ctzll(m) + 1;
        }
    }
    return 0;
}
