/*
 * Ring of recent emitter entries (erng.h): a circular array of copies,
 * oldest first, bounded by count and bytes. Entries are matched with the
 * stream by FNV-1a of their bytes: two identical entries cannot be told
 * apart (doc/design-cluster.md says what that costs).
 */
#include <stdlib.h>
#include <string.h>

#include "erng.h"

struct erng_e {
    unsigned char *p;
    size_t n;
    int64_t at;
    uint64_t hash;
};

struct erng {
    struct erng_e *e;
    size_t cap, head, count;
    size_t bytes, max_bytes;
};

struct erng *
erng_new(size_t max_entries, size_t max_bytes)
{
    struct erng *r = calloc(1, sizeof(*r));

    if (r == NULL || max_entries == 0
        || (r->e = calloc(max_entries, sizeof(*r->e))) == NULL) {
        free(r);
        return NULL;
    }
    r->cap = max_entries;
    r->max_bytes = max_bytes;
    return r;
}

static void
erng_drop_oldest(struct erng *r)
{
    struct erng_e *x = &r->e[r->head];

    r->bytes -= x->n;
    free(x->p);
    *x = (struct erng_e){0};
    r->head = (r->head + 1) % r->cap;
    r->count--;
}

void
erng_free(struct erng **rp)
{
    struct erng *r = rp ? *rp : NULL;

    if (r == NULL)
        return;
    while (r->count > 0)
        erng_drop_oldest(r);
    free(r->e);
    free(r);
    *rp = NULL;
}

uint64_t
erng_hash(const unsigned char *p, size_t n)
{
    uint64_t h = 14695981039346656037ULL;

    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

int
erng_push(struct erng *r, const unsigned char *p, size_t n, int64_t now)
{
    unsigned char *c;

    if (n > r->max_bytes || (c = malloc(n ? n : 1)) == NULL)
        return -1;
    if (n > 0)
        memcpy(c, p, n);
    while (r->count == r->cap || r->bytes + n > r->max_bytes)
        erng_drop_oldest(r);
    r->e[(r->head + r->count) % r->cap] = (struct erng_e){c, n, now,
        erng_hash(p, n)};
    r->count++;
    r->bytes += n;
    return 0;
}

void
erng_prune(struct erng *r, int64_t before)
{
    while (r->count > 0 && r->e[r->head].at < before)
        erng_drop_oldest(r);
}

size_t
erng_count(const struct erng *r)
{
    return r->count;
}

const unsigned char *
erng_at(const struct erng *r, size_t i, size_t *n)
{
    const struct erng_e *x = &r->e[(r->head + i) % r->cap];

    *n = x->n;
    return x->p;
}

size_t
erng_unseen(const struct erng *r, const uint64_t *seen, size_t nseen)
{
    for (size_t i = r->count; i > 0; i--) {
        uint64_t h = r->e[(r->head + i - 1) % r->cap].hash;
        for (size_t k = 0; k < nseen; k++)
            if (seen[k] == h)
                return i;
    }
    return 0;
}
