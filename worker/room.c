/*
 * Room tables of a worker. Two chained hash tables that grow by doubling:
 * rooms by name, and memberships by (owner, room), the latter making leave
 * and membership tests O(1) without scanning an owner's rooms. A room
 * exists while it has members. Nothing here knows about protocols.
 */
#include <stdlib.h>
#include <string.h>

#include "worker/room.h"

struct room {
    struct room *hnext;
    struct room_member *head;
    uint32_t hash;
    uint32_t nmembers;
    uint16_t len;
    char name[];
};

static struct {
    struct room **rooms;
    size_t rcap, nrooms;
    struct room_member **memb;
    size_t mcap, nmemb;
} R;

static uint32_t
room_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static size_t
room_mhash(const void *owner, const struct room *r, size_t cap)
{
    uintptr_t a = (uintptr_t)owner, b = (uintptr_t)r;
    uint64_t h = (uint64_t)a * 0x9E3779B97F4A7C15ull
        ^ (uint64_t)b * 0xC2B2AE3D27D4EB4Full;

    return (size_t)(h >> 17) & (cap - 1);
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
            for (struct room_member *m = r->head, *mn; m; m = mn) {
                mn = m->rnext;
                free(m);
            }
            free(r);
        }
    }
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
    struct room_member **nt = calloc(ncap, sizeof(*nt));

    if (nt == NULL)
        return -1;
    for (size_t i = 0; i < R.mcap; i++)
        for (struct room_member *m = R.memb[i], *n; m; m = n) {
            n = m->hnext;
            size_t b = room_mhash(m->owner, m->room, ncap);
            m->hnext = nt[b];
            nt[b] = m;
        }
    free(R.memb);
    R.memb = nt;
    R.mcap = ncap;
    return 0;
}

struct room *
room_find(const char *name, size_t len)
{
    uint32_t h = room_hash(name, len);

    for (struct room *r = R.rooms[h & (R.rcap - 1)]; r; r = r->hnext)
        if (r->hash == h && r->len == len && memcmp(r->name, name, len) == 0)
            return r;
    return NULL;
}

static struct room_member **
room_mslot(void *owner, const struct room *r)
{
    struct room_member **pp = &R.memb[room_mhash(owner, r, R.mcap)];

    while (*pp && !((*pp)->owner == owner && (*pp)->room == r))
        pp = &(*pp)->hnext;
    return pp;
}

int
room_join(void *owner, struct room_member **list, const char *name,
    size_t len)
{
    struct room *r = room_find(name, len);
    struct room_member *m;
    int created = 0;

    if (r && *room_mslot(owner, r))
        return 0;
    if (r == NULL) {
        if (R.nrooms >= R.rcap && room_grow_rooms() == -1)
            return -1;
        r = calloc(1, sizeof(*r) + len + 1);
        if (r == NULL)
            return -1;
        memcpy(r->name, name, len);
        r->len = (uint16_t)len;
        r->hash = room_hash(name, len);
        r->hnext = R.rooms[r->hash & (R.rcap - 1)];
        R.rooms[r->hash & (R.rcap - 1)] = r;
        R.nrooms++;
        created = 1;
    }
    if (R.nmemb >= R.mcap && room_grow_memb() == -1)
        goto fail;
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        goto fail;
    m->owner = owner;
    m->room = r;
    m->rnext = r->head;
    if (r->head)
        r->head->rprev = m;
    r->head = m;
    r->nmembers++;
    m->onext = *list;
    if (*list)
        (*list)->oprev = m;
    *list = m;
    struct room_member **slot = room_mslot(owner, r);
    m->hnext = *slot;
    *slot = m;
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

static void
room_unlink(struct room_member *m, struct room_member **list)
{
    struct room *r = m->room;
    struct room_member **slot = room_mslot(m->owner, r);

    *slot = m->hnext;
    if (m->rprev)
        m->rprev->rnext = m->rnext;
    else
        r->head = m->rnext;
    if (m->rnext)
        m->rnext->rprev = m->rprev;
    if (m->oprev)
        m->oprev->onext = m->onext;
    else
        *list = m->onext;
    if (m->onext)
        m->onext->oprev = m->oprev;
    R.nmemb--;
    free(m);
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
room_leave(void *owner, struct room_member **list, const char *name,
    size_t len)
{
    struct room *r = room_find(name, len);
    struct room_member *m;

    if (r == NULL || (m = *room_mslot(owner, r)) == NULL)
        return 0;
    room_unlink(m, list);
    return 1;
}

void
room_leave_all(void *owner, struct room_member **list)
{
    (void)owner;
    while (*list)
        room_unlink(*list, list);
}

int
room_is_member(void *owner, const char *name, size_t len)
{
    struct room *r = room_find(name, len);

    return r != NULL && *room_mslot(owner, r) != NULL;
}

struct room_member *
room_first(const struct room *r)
{
    return r->head;
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
