/*
 * Deadline heaps (see dhp.h): a binary min-heap in one array of {due,
 * ref} pairs, each node holding its own index so it can leave from the
 * middle. The array doubles when full and halves when a quarter full, so
 * a worker whose clients leave gives the memory back.
 */
#include <stdlib.h>

#include "dhp.h"

#define DHP_MIN_CAP 64

static void dhp_put(struct dhp *h, uint32_t i, struct dhp_ent e);
static void dhp_up(struct dhp *h, uint32_t i);
static void dhp_down(struct dhp *h, uint32_t i);
static void dhp_resize(struct dhp *h, uint32_t cap);

void
dhp_init(struct dhp *h, dhp_node_fn node, void *arg)
{
    *h = (struct dhp){NULL, 0, 0, node, arg};
}

int
dhp_set(struct dhp *h, struct dhp_node *n, uint32_t ref, uint32_t due)
{
    if (n->pos != 0) {
        uint32_t i = n->pos - 1;
        uint32_t old = h->v[i].due;
        h->v[i].due = due;
        if (due < old)
            dhp_up(h, i);
        else
            dhp_down(h, i);
        return 0;
    }
    if (h->n == h->cap) {
        uint32_t cap = h->cap ? h->cap * 2 : DHP_MIN_CAP;
        if (h->cap > UINT32_MAX / 2)
            return -1;
        dhp_resize(h, cap);
        if (h->cap != cap)
            return -1;
    }
    dhp_put(h, h->n++, (struct dhp_ent){due, ref});
    dhp_up(h, h->n - 1);
    return 0;
}

void
dhp_remove(struct dhp *h, struct dhp_node *n)
{
    uint32_t i;

    if (n->pos == 0)
        return;
    i = n->pos - 1;
    n->pos = 0;
    if (i != --h->n) {
        uint32_t old = h->v[i].due;
        dhp_put(h, i, h->v[h->n]);
        if (h->v[i].due < old)
            dhp_up(h, i);
        else
            dhp_down(h, i);
    }
    if (h->cap > DHP_MIN_CAP && h->n < h->cap / 4)
        dhp_resize(h, h->cap / 2);
}

struct dhp_node *
dhp_first(const struct dhp *h, uint32_t *due)
{
    if (h->n == 0)
        return NULL;
    if (due)
        *due = h->v[0].due;
    return h->node(h->v[0].ref, h->arg);
}

int
dhp_queued(const struct dhp_node *n)
{
    return n->pos != 0;
}

void
dhp_free(struct dhp *h)
{
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}

/* Place e at index i and tell its node. */
static void
dhp_put(struct dhp *h, uint32_t i, struct dhp_ent e)
{
    h->v[i] = e;
    h->node(e.ref, h->arg)->pos = i + 1;
}

static void
dhp_up(struct dhp *h, uint32_t i)
{
    struct dhp_ent e = h->v[i];

    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (h->v[p].due <= e.due)
            break;
        dhp_put(h, i, h->v[p]);
        i = p;
    }
    dhp_put(h, i, e);
}

static void
dhp_down(struct dhp *h, uint32_t i)
{
    struct dhp_ent e = h->v[i];

    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->v[c + 1].due < h->v[c].due)
            c++;
        if (e.due <= h->v[c].due)
            break;
        dhp_put(h, i, h->v[c]);
        i = c;
    }
    dhp_put(h, i, e);
}

/* Make room for cap entries (cap >= h->n); on failure h is unchanged
 * (a failed shrink costs only memory). */
static void
dhp_resize(struct dhp *h, uint32_t cap)
{
    struct dhp_ent *v = realloc(h->v, (size_t)cap * sizeof(*v));

    if (v == NULL)
        return;
    h->v = v;
    h->cap = cap;
}
