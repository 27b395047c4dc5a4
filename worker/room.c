/*
 * Room tables of a worker. Two hash tables that grow by doubling: rooms
 * by name (chained), and memberships by (owner, room) (open addressing
 * over membership ids, linear probing, deletion by backward shift), the
 * latter making leave and membership tests O(1) without scanning an
 * owner's rooms. A room exists while it has members. Nothing here knows
 * about protocols.
 */
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define ROOM_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define ROOM_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define ROOM_POISON(p, n) ((void)(p), (void)(n))
#define ROOM_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#include "common/fnv.h"
#include "worker/room.h"

struct room {
    struct room *hnext;
    uint32_t head;      /* first member's id */
    uint32_t hash;
    uint32_t nmembers;
    uint16_t len;
    char name[];
};

#define RB_N (1u << ROOM_BLK_SHIFT)

/* A slab block's bookkeeping. Blocks with a free slot are on a doubly
 * linked list (ids are block index + 1); an emptied block is freed
 * unless it is the only one with free slots, so the slab holds at most
 * one empty block and gives the rest back to malloc. */
struct room_blk {
    uint32_t free;          /* first free slot's id */
    uint32_t nlive;
    uint32_t pprev, pnext;  /* on the partial list */
    int partial;
};

struct room_member **room_blk_;

static struct {
    struct room **rooms;    /* chains of rooms by name hash */
    size_t rcap, nrooms;    /* 2 rooms a bucket at most */
    uint32_t *memb;         /* (owner, room) hash: member ids, 0 empty */
    size_t mcap, nmemb;     /* at most 3/4 full */
    struct room_blk *bk;    /* parallel to room_blk_ */
    size_t nbk, bkcap, nheld;
    uint32_t partial;       /* block index + 1 */
} R;

static size_t
room_mhash(const void *owner, const struct room *r, size_t cap)
{
    uintptr_t a = (uintptr_t)owner, b = (uintptr_t)r;
    uint64_t h = (uint64_t)a * 0x9E3779B97F4A7C15ull
        ^ (uint64_t)b * 0xC2B2AE3D27D4EB4Full;

    return (size_t)(h >> 17) & (cap - 1);
}

static void
room_partial_add(uint32_t b)
{
    R.bk[b].partial = 1;
    R.bk[b].pprev = 0;
    R.bk[b].pnext = R.partial;
    if (R.partial)
        R.bk[R.partial - 1].pprev = b + 1;
    R.partial = b + 1;
}

static void
room_partial_del(uint32_t b)
{
    struct room_blk *k = &R.bk[b];

    if (k->pprev)
        R.bk[k->pprev - 1].pnext = k->pnext;
    else
        R.partial = k->pnext;
    if (k->pnext)
        R.bk[k->pnext - 1].pprev = k->pprev;
    k->partial = 0;
}

/* A new block at a free index: its slots chained as the free list. */
static int
room_blk_new(void)
{
    uint32_t b = 0;

    while (b < R.nbk && room_blk_[b])
        b++;
    if (b == R.nbk) {
        if (R.nbk == R.bkcap) {
            size_t ncap = R.bkcap ? R.bkcap * 2 : 16;
            struct room_member **np;
            struct room_blk *nk;
            if (ncap > ((size_t)UINT32_MAX >> ROOM_BLK_SHIFT)
                || (np = realloc(room_blk_, ncap * sizeof(*np))) == NULL)
                return -1;
            room_blk_ = np;
            if ((nk = realloc(R.bk, ncap * sizeof(*nk))) == NULL)
                return -1;
            R.bk = nk;
            R.bkcap = ncap;
        }
        room_blk_[R.nbk++] = NULL;
    }
    struct room_member *m = malloc(RB_N * sizeof(*m));
    if (m == NULL)
        return -1;
    uint32_t base = (b << ROOM_BLK_SHIFT) + 1;
    for (uint32_t i = 0; i < RB_N; i++)
        m[i].rnext = i + 1 < RB_N ? base + i + 1 : 0;
    ROOM_POISON(m, RB_N * sizeof(*m));
    room_blk_[b] = m;
    R.bk[b] = (struct room_blk){base, 0, 0, 0, 0};
    room_partial_add(b);
    R.nheld++;
    return 0;
}

/* A zeroed membership, its id in *id; NULL when out of memory. */
static struct room_member *
room_member_alloc(uint32_t *id)
{
    if (R.partial == 0 && room_blk_new() == -1)
        return NULL;
    uint32_t b = R.partial - 1;
    struct room_blk *k = &R.bk[b];
    struct room_member *m = room_at(k->free);

    ROOM_UNPOISON(m, sizeof(*m));
    *id = k->free;
    k->free = m->rnext;
    k->nlive++;
    if (k->free == 0)
        room_partial_del(b);
    memset(m, 0, sizeof(*m));
    return m;
}

static void
room_member_free(uint32_t id)
{
    uint32_t b = (id - 1) >> ROOM_BLK_SHIFT;
    struct room_blk *k = &R.bk[b];
    struct room_member *m = room_at(id);

    m->owner = NULL;
    m->room = NULL;
    m->rnext = k->free;
    k->free = id;
    ROOM_POISON(m, sizeof(*m));
    if (!k->partial)
        room_partial_add(b);
    if (--k->nlive == 0 && (k->pprev || k->pnext)) {
        room_partial_del(b);
        ROOM_UNPOISON(room_blk_[b], RB_N * sizeof(*m));
        free(room_blk_[b]);
        room_blk_[b] = NULL;
        R.nheld--;
    }
}

int
room_init(void)
{
    R.rcap = 1024;
    R.mcap = 4096;
    R.rooms = calloc(R.rcap, sizeof(*R.rooms));
    R.memb = calloc(R.mcap, sizeof(*R.memb));
    return R.rooms && R.memb ? 0 : -1;
}

void
room_reset(void)
{
    for (size_t i = 0; i < R.rcap; i++) {
        struct room *r = R.rooms[i], *n;
        for (; r; r = n) {
            n = r->hnext;
            free(r);
        }
    }
    for (size_t b = 0; b < R.nbk; b++) {
        if (room_blk_[b])
            ROOM_UNPOISON(room_blk_[b], RB_N * sizeof(struct room_member));
        free(room_blk_[b]);
    }
    free(room_blk_);
    room_blk_ = NULL;
    free(R.bk);
    free(R.rooms);
    free(R.memb);
    memset(&R, 0, sizeof(R));
}

static int
room_grow_rooms(void)
{
    size_t ncap = R.rcap * 2;
    struct room **nt = calloc(ncap, sizeof(*nt));

    if (nt == NULL)
        return -1;
    for (size_t i = 0; i < R.rcap; i++)
        for (struct room *r = R.rooms[i], *n; r; r = n) {
            n = r->hnext;
            r->hnext = nt[r->hash & (ncap - 1)];
            nt[r->hash & (ncap - 1)] = r;
        }
    free(R.rooms);
    R.rooms = nt;
    R.rcap = ncap;
    return 0;
}

static int
room_grow_memb(void)
{
    size_t ncap = R.mcap * 2;
    uint32_t *nt = calloc(ncap, sizeof(*nt));

    if (nt == NULL)
        return -1;
    for (size_t i = 0; i < R.mcap; i++) {
        struct room_member *m = room_at(R.memb[i]);
        if (m == NULL)
            continue;
        size_t b = room_mhash(m->owner, m->room, ncap);
        while (nt[b])
            b = (b + 1) & (ncap - 1);
        nt[b] = R.memb[i];
    }
    free(R.memb);
    R.memb = nt;
    R.mcap = ncap;
    return 0;
}

struct room *
room_find(const char *name, size_t len)
{
    uint32_t h = fnv1a(name, len);

    for (struct room *r = R.rooms[h & (R.rcap - 1)]; r; r = r->hnext)
        if (r->hash == h && r->len == len && memcmp(r->name, name, len) == 0)
            return r;
    return NULL;
}

/* The table slot holding the (owner, r) member's id, or the empty one
 * (0) where it would go. The table is never full (at most 3/4). */
static uint32_t *
room_mslot(void *owner, const struct room *r)
{
    size_t i = room_mhash(owner, r, R.mcap);
    struct room_member *m;

    while ((m = room_at(R.memb[i])) && !(m->owner == owner && m->room == r))
        i = (i + 1) & (R.mcap - 1);
    return &R.memb[i];
}

/* Empty the slot *slot of the membership table, moving back the entries
 * after it that would no longer be found (backward-shift deletion). */
static void
room_mslot_clear(uint32_t *slot)
{
    size_t mask = R.mcap - 1, i = (size_t)(slot - R.memb), j = i;

    for (;;) {
        j = (j + 1) & mask;
        struct room_member *m = room_at(R.memb[j]);
        if (m == NULL)
            break;
        size_t k = room_mhash(m->owner, m->room, R.mcap);
        /* Move j's entry to i unless its home k lies cyclically in
         * (i, j]. */
        if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
            R.memb[i] = R.memb[j];
            i = j;
        }
    }
    R.memb[i] = 0;
}

int
room_join(void *owner, uint32_t *list, const char *name, size_t len)
{
    struct room *r = room_find(name, len);
    struct room_member *m;
    uint32_t id;
    int created = 0;

    if (r && *room_mslot(owner, r))
        return 0;
    if (r == NULL) {
        if (R.nrooms >= 2 * R.rcap && room_grow_rooms() == -1)
            return -1;
        r = calloc(1, sizeof(*r) + len + 1);
        if (r == NULL)
            return -1;
        memcpy(r->name, name, len);
        r->len = (uint16_t)len;
        r->hash = fnv1a(name, len);
        r->hnext = R.rooms[r->hash & (R.rcap - 1)];
        R.rooms[r->hash & (R.rcap - 1)] = r;
        R.nrooms++;
        created = 1;
    }
    if ((R.nmemb + 1) * 4 > R.mcap * 3 && room_grow_memb() == -1)
        goto fail;
    m = room_member_alloc(&id);
    if (m == NULL)
        goto fail;
    m->owner = owner;
    m->room = r;
    m->rnext = r->head;
    if (r->head)
        room_at(r->head)->rprev = id;
    r->head = id;
    r->nmembers++;
    m->onext = *list;
    if (*list)
        room_at(*list)->oprev = id;
    *list = id;
    *room_mslot(owner, r) = id;
    R.nmemb++;
    return 1;
fail:
    if (created) {
        struct room **pp = &R.rooms[r->hash & (R.rcap - 1)];
        while (*pp != r)
            pp = &(*pp)->hnext;
        *pp = r->hnext;
        R.nrooms--;
        free(r);
    }
    return -1;
}

/* Unlink membership id (the table slot holding it: slot) and free it. */
static void
room_unlink(uint32_t id, uint32_t *slot, uint32_t *list)
{
    struct room_member *m = room_at(id);
    struct room *r = m->room;

    room_mslot_clear(slot);
    if (m->rprev)
        room_at(m->rprev)->rnext = m->rnext;
    else
        r->head = m->rnext;
    if (m->rnext)
        room_at(m->rnext)->rprev = m->rprev;
    if (m->oprev)
        room_at(m->oprev)->onext = m->onext;
    else
        *list = m->onext;
    if (m->onext)
        room_at(m->onext)->oprev = m->oprev;
    R.nmemb--;
    room_member_free(id);
    if (--r->nmembers == 0) {
        struct room **pp = &R.rooms[r->hash & (R.rcap - 1)];
        while (*pp != r)
            pp = &(*pp)->hnext;
        *pp = r->hnext;
        R.nrooms--;
        free(r);
    }
}

int
room_leave(void *owner, uint32_t *list, const char *name, size_t len)
{
    struct room *r = room_find(name, len);
    uint32_t *slot;

    if (r == NULL || *(slot = room_mslot(owner, r)) == 0)
        return 0;
    room_unlink(*slot, slot, list);
    return 1;
}

void
room_leave_all(void *owner, uint32_t *list)
{
    (void)owner;
    while (*list) {
        struct room_member *m = room_at(*list);
        room_unlink(*list, room_mslot(m->owner, m->room), list);
    }
}

int
room_is_member(void *owner, const char *name, size_t len)
{
    struct room *r = room_find(name, len);

    return r != NULL && *room_mslot(owner, r) != 0;
}

struct room_member *
room_first(const struct room *r)
{
    return room_at(r->head);
}

const char *
room_name(const struct room *r, size_t *len)
{
    if (len)
        *len = r->len;
    return r->name;
}

uint32_t
room_size(const struct room *r)
{
    return r->nmembers;
}

size_t
room_count(void)
{
    return R.nrooms;
}

size_t
room_subscriptions(void)
{
    return R.nmemb;
}

size_t
room_blocks(void)
{
    return R.nheld;
}

size_t
room_top(const struct room **out, size_t n)
{
    size_t k = 0;

    if (n == 0)
        return 0;
    for (size_t i = 0; i < R.rcap; i++)
        for (const struct room *r = R.rooms[i]; r; r = r->hnext) {
            /* Insertion into the small sorted array out[0..k). */
            size_t j = k < n ? k++ : n;
            if (j == n && out[n - 1]->nmembers >= r->nmembers)
                continue;
            if (j == n)
                j = n - 1;
            while (j > 0 && out[j - 1]->nmembers < r->nmembers) {
                out[j] = out[j - 1];
                j--;
            }
            out[j] = r;
        }
    return k;
}
