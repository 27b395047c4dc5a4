/*
 * The outbox of own stream entries (rdo.h): a ring that doubles when
 * full, indexed by oseq - the head's oseq.
 */
#include <stdlib.h>
#include <string.h>

#include "master/rdo.h"

#define RDO_CAP0 1024

static struct {
    struct rdo_ent *out;
    size_t cap, head, n;
    uint64_t next_oseq;     /* oseq the next accepted entry gets */
    uint64_t first_pending; /* oldest oseq not yet read back */
    size_t bytes, pending_bytes;
} O;

int
rdo_init(void)
{
    rdo_free();
    O.cap = RDO_CAP0;
    O.out = calloc(O.cap, sizeof(*O.out));
    O.next_oseq = O.first_pending = 1;
    return O.out ? 0 : -1;
}

struct rdo_ent *
rdo_at(uint64_t oseq)
{
    if (O.n == 0 || oseq < O.out[O.head].oseq
        || oseq >= O.out[O.head].oseq + O.n)
        return NULL;
    return &O.out[(O.head + (oseq - O.out[O.head].oseq)) % O.cap];
}

/* Forget the oldest entry. */
static void
rdo_drop_head(void)
{
    struct rdo_ent *o = &O.out[O.head];

    O.bytes -= o->len;
    if (!o->done_ms)
        O.pending_bytes -= o->len;
    free(o->data);
    *o = (struct rdo_ent){0};
    O.head = (O.head + 1) % O.cap;
    O.n--;
}

static int
rdo_grow(void)
{
    size_t ncap = O.cap * 2;
    struct rdo_ent *no = calloc(ncap, sizeof(*no));

    if (no == NULL)
        return -1;
    for (size_t i = 0; i < O.n; i++)
        no[i] = O.out[(O.head + i) % O.cap];
    free(O.out);
    O.out = no;
    O.cap = ncap;
    O.head = 0;
    return 0;
}

enum rdo_status
rdo_push(const unsigned char *buf, const size_t *lens, size_t n,
    size_t limit, uint64_t *first)
{
    size_t total = 0;
    unsigned char **copies;

    for (size_t i = 0; i < n; i++)
        total += lens[i];
    /* Kept entries give way to new ones; pending ones never do. */
    while (O.n > 0 && O.out[O.head].done_ms != 0 && O.bytes + total > limit)
        rdo_drop_head();
    if (O.pending_bytes + total > limit)
        return RDO_E_FULL;
    while (O.n + n > O.cap)
        if (rdo_grow() == -1)
            return RDO_E_FULL;
    /* Copy first, so a failure accepts nothing. */
    if ((copies = calloc(n ? n : 1, sizeof(*copies))) == NULL)
        return RDO_E_FULL;
    for (size_t i = 0, off = 0; i < n; off += lens[i], i++)
        if ((copies[i] = malloc(lens[i] ? lens[i] : 1)) == NULL) {
            while (i > 0)
                free(copies[--i]);
            free(copies);
            return RDO_E_FULL;
        } else {
            memcpy(copies[i], buf + off, lens[i]);
        }
    *first = O.next_oseq;
    for (size_t i = 0; i < n; i++) {
        O.out[(O.head + O.n) % O.cap] = (struct rdo_ent){
            .oseq = O.next_oseq++, .len = lens[i], .data = copies[i]};
        O.n++;
        O.bytes += lens[i];
        O.pending_bytes += lens[i];
    }
    free(copies);
    return RDO_OK;
}

void
rdo_back(uint64_t oseq, uint64_t seq, int64_t now)
{
    for (uint64_t k = O.first_pending; k <= oseq; k++) {
        struct rdo_ent *o = rdo_at(k);
        if (o == NULL || o->done_ms)
            continue;
        o->done_ms = now;
        O.pending_bytes -= o->len;
        if (k == oseq)
            o->seq = seq;
    }
    if (oseq + 1 > O.first_pending)
        O.first_pending = oseq + 1;
}

void
rdo_expire(int64_t now, int64_t retain)
{
    while (O.n > 0 && O.out[O.head].done_ms
        && now - O.out[O.head].done_ms > retain)
        rdo_drop_head();
}

uint64_t
rdo_next(void)
{
    return O.next_oseq;
}

uint64_t
rdo_first_pending(void)
{
    return O.first_pending;
}

uint64_t
rdo_oldest(void)
{
    return O.n ? O.out[O.head].oseq : O.next_oseq;
}

void
rdo_free(void)
{
    while (O.n > 0)
        rdo_drop_head();
    free(O.out);
    memset(&O, 0, sizeof(O));
}
