/*
 * Duplicate detection over the cluster stream (rdd.h): a small array
 * searched linearly (RDD_ORIGINS entries, a handful in use).
 */
#include <string.h>

#include "master/rdd.h"

struct rdd_origin {
    char name[RENT_ORIGIN_MAX];
    size_t nlen;
    char inc[RENT_INC_MAX];
    size_t ilen;
    uint64_t hw;       /* highest oseq appended */
    int64_t used;      /* when last seen */
};

static struct {
    struct rdd_origin o[RDD_ORIGINS];
    size_t n;
} D;

/* The record of (origin, inc), made (evicting the least recently seen)
 * if new. */
static struct rdd_origin *
rdd_find(struct rent_str origin, struct rent_str inc)
{
    struct rdd_origin *o, *lru = NULL;

    for (size_t i = 0; i < D.n; i++) {
        o = &D.o[i];
        if (o->nlen == origin.n && o->ilen == inc.n
            && memcmp(o->name, origin.p, o->nlen) == 0
            && memcmp(o->inc, inc.p, o->ilen) == 0)
            return o;
        if (lru == NULL || o->used < lru->used)
            lru = o;
    }
    o = D.n < RDD_ORIGINS ? &D.o[D.n++] : lru;
    memset(o, 0, sizeof(*o));
    o->nlen = origin.n < sizeof(o->name) ? origin.n : sizeof(o->name);
    memcpy(o->name, origin.p, o->nlen);
    o->ilen = inc.n < sizeof(o->inc) ? inc.n : sizeof(o->inc);
    memcpy(o->inc, inc.p, o->ilen);
    return o;
}

int
rdd_take(struct rent_str origin, struct rent_str inc, uint64_t oseq,
    int64_t now, uint64_t *missed)
{
    struct rdd_origin *o = rdd_find(origin, inc);

    o->used = now;
    *missed = 0;
    if (oseq <= o->hw)
        return 1;
    if (o->hw && oseq > o->hw + 1)
        *missed = oseq - o->hw - 1;
    o->hw = oseq;
    return 0;
}

void
rdd_reset(void)
{
    memset(&D, 0, sizeof(D));
}
