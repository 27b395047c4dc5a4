/*
 * The worker-to-master event ring (shm/evq.h): a lock-free SPSC ring with
 * release/acquire on head and tail. The producer never waits: when the
 * consumer is behind by a whole ring, the new event is dropped.
 */
#include <string.h>
#include <strings.h>

#include "shm/evq.h"

static const char *const evq_names[EVQ__COUNT] = {
    [EVQ_CONNECT] = "connect",
    [EVQ_DISCONNECT] = "disconnect",
    [EVQ_AUTH_FAIL] = "auth_failure",
    [EVQ_SLOW] = "slow_consumer",
    [EVQ_LIMIT] = "limit",
    [EVQ_ADMIN] = "admin",
    [EVQ_WORKER] = "worker",
    [EVQ_RELOAD] = "reload",
};

static void
evq_copy(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;

    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

void
evq_reset(struct evq *q)
{
    atomic_store_explicit(&q->head, 0, memory_order_relaxed);
    atomic_store_explicit(&q->tail, 0, memory_order_release);
}

int
evq_push(struct evq *q, int64_t ms, enum evq_kind kind, unsigned code,
    const char *peer, const char *text)
{
    uint64_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
    uint64_t t = atomic_load_explicit(&q->tail, memory_order_acquire);
    struct evq_ev *e;

    if (h - t >= EVQ_LEN)
        return -1;
    e = &q->ev[h & (EVQ_LEN - 1)];
    e->ms = ms;
    e->kind = (uint16_t)kind;
    e->code = (uint16_t)(code > 65535 ? 65535 : code);
    e->pad = 0;
    evq_copy(e->peer, sizeof(e->peer), peer);
    evq_copy(e->text, sizeof(e->text), text);
    /* The entry before the index that publishes it. */
    atomic_store_explicit(&q->head, h + 1, memory_order_release);
    return 0;
}

int
evq_pop(struct evq *q, struct evq_ev *out)
{
    uint64_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);

    /* h - t > EVQ_LEN: a writer gone wrong; start over from its head. */
    if (h - t > EVQ_LEN) {
        atomic_store_explicit(&q->tail, h, memory_order_release);
        return 0;
    }
    if (h == t)
        return 0;
    memcpy(out, &q->ev[t & (EVQ_LEN - 1)], sizeof(*out));
    /* Copied before the slot is handed back to the writer. */
    atomic_store_explicit(&q->tail, t + 1, memory_order_release);
    out->peer[sizeof(out->peer) - 1] = '\0';
    out->text[sizeof(out->text) - 1] = '\0';
    if (out->kind >= EVQ__COUNT)
        out->kind = EVQ_DISCONNECT;
    return 1;
}

const char *
evq_kind_name(unsigned kind)
{
    return kind < EVQ__COUNT ? evq_names[kind] : "unknown";
}

int
evq_kind_parse(const char *name)
{
    for (int i = 0; i < EVQ__COUNT; i++)
        if (strcmp(name, evq_names[i]) == 0)
            return i;
    return -1;
}

enum evq_kind
evq_close_kind(const char *reason)
{
    if (reason == NULL)
        return EVQ_DISCONNECT;
    if (strncasecmp(reason, "slow consumer", 13) == 0)
        return EVQ_SLOW;
    if (strcasestr(reason, "limit") || strcasestr(reason, "too many")
        || strcasestr(reason, "too_many"))
        return EVQ_LIMIT;
    return EVQ_DISCONNECT;
}
