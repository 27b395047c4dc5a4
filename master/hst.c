/*
 * The connection history (master/hst.h): two rings of points and the
 * minute being accumulated. Nothing here reads shared memory or a clock.
 */
#include <stdlib.h>

#include <event2/buffer.h>

#include "master/hst.h"

struct hst_ring {
    size_t cap, n, head; /* head: index of the next point */
    struct hst_point *p;
};

struct hst {
    struct hst_ring ring[2];
    int64_t last_ms;     /* time of the last sample, 0 before the first */
    uint64_t last_deliv; /* deliveries total at the last sample */
    int64_t min_t;       /* the minute being accumulated (unix s) */
    unsigned min_n;      /* samples in it */
    double min_conns, min_dps;
};

static struct hst_point *
hst_last(struct hst_ring *r)
{
    return r->n ? &r->p[(r->head + r->cap - 1) % r->cap] : NULL;
}

static void
hst_push(struct hst_ring *r, const struct hst_point *pt)
{
    r->p[r->head] = *pt;
    r->head = (r->head + 1) % r->cap;
    if (r->n < r->cap)
        r->n++;
}

struct hst *
hst_new(void)
{
    struct hst *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    h->ring[0].cap = HST_SECONDS;
    h->ring[1].cap = HST_MINUTES;
    h->ring[0].p = calloc(HST_SECONDS, sizeof(struct hst_point));
    h->ring[1].p = calloc(HST_MINUTES, sizeof(struct hst_point));
    if (h->ring[0].p == NULL || h->ring[1].p == NULL)
        hst_free(&h);
    return h;
}

void
hst_free(struct hst **h)
{
    if (h == NULL || *h == NULL)
        return;
    free((*h)->ring[0].p);
    free((*h)->ring[1].p);
    free(*h);
    *h = NULL;
}

/* Close the minute being accumulated into the 1 min ring. */
static void
hst_minute_done(struct hst *h)
{
    struct hst_point pt;

    if (h->min_n == 0)
        return;
    pt.t = h->min_t + 60; /* its end: newer than the seconds before it */
    pt.conns = (uint64_t)(h->min_conns / h->min_n + 0.5);
    pt.dps = h->min_dps / h->min_n;
    hst_push(&h->ring[1], &pt);
    h->min_n = 0;
    h->min_conns = h->min_dps = 0;
}

void
hst_sample(struct hst *h, int64_t now_ms, uint64_t conns,
    uint64_t deliveries)
{
    struct hst_point pt = {now_ms / 1000, conns, 0};
    struct hst_point *last = hst_last(&h->ring[0]);

    if (h->last_ms && now_ms > h->last_ms && deliveries >= h->last_deliv)
        pt.dps = (double)(deliveries - h->last_deliv) * 1000.0
            / (double)(now_ms - h->last_ms);
    h->last_ms = now_ms;
    h->last_deliv = deliveries;
    if (h->min_n && pt.t / 60 * 60 != h->min_t)
        hst_minute_done(h);
    if (h->min_n == 0)
        h->min_t = pt.t / 60 * 60;
    if (last && last->t == pt.t) {
        /* Same second again (a late timer): replace, count it once. */
        h->min_conns += (double)conns - (double)last->conns;
        h->min_dps += pt.dps - last->dps;
        *last = pt;
        return;
    }
    h->min_n++;
    h->min_conns += (double)conns;
    h->min_dps += pt.dps;
    hst_push(&h->ring[0], &pt);
}

size_t
hst_count(const struct hst *h, int ring)
{
    return h->ring[ring != 0].n;
}

const struct hst_point *
hst_at(const struct hst *h, int ring, size_t i)
{
    const struct hst_ring *r = &h->ring[ring != 0];

    if (i >= r->n)
        return NULL;
    return &r->p[(r->head + r->cap - r->n + i) % r->cap];
}

static void
hst_ring_json(const struct hst *h, int ring, int64_t since_s,
    struct evbuffer *out)
{
    int first = 1;

    evbuffer_add_printf(out, "{\"interval_s\":%d,\"capacity\":%u,"
        "\"points\":[", ring ? 60 : 1, ring ? HST_MINUTES : HST_SECONDS);
    for (size_t i = 0; i < hst_count(h, ring); i++) {
        const struct hst_point *p = hst_at(h, ring, i);
        if (p->t <= since_s)
            continue;
        evbuffer_add_printf(out, "%s[%lld,%llu,%.2f]", first ? "" : ",",
            (long long)p->t, (unsigned long long)p->conns, p->dps);
        first = 0;
    }
    evbuffer_add(out, "]}", 2);
}

void
hst_json(const struct hst *h, int64_t since_s, struct evbuffer *out)
{
    evbuffer_add(out, "{\"ok\":true,\"seconds\":", 21);
    hst_ring_json(h, 0, since_s, out);
    evbuffer_add(out, ",\"minutes\":", 11);
    hst_ring_json(h, 1, since_s, out);
    evbuffer_add(out, "}", 1);
}
