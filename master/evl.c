/*
 * The master's event log (master/evl.h): a ring of entries indexed by
 * sequence number modulo its capacity, and its JSON rendering. Nothing
 * here knows where events come from.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "common/u8.h"
#include "master/evl.h"

struct evl {
    size_t cap;
    uint64_t first; /* oldest seq held (== next when empty) */
    uint64_t next;  /* seq of the next entry; entries 1..next-1 were added */
    struct evl_ent *ring;
};

static void evl_json_str(struct evbuffer *out, const char *s);

struct evl *
evl_new(size_t cap)
{
    struct evl *l = calloc(1, sizeof(*l));

    if (l == NULL || cap == 0
        || (l->ring = calloc(cap, sizeof(*l->ring))) == NULL) {
        free(l);
        return NULL;
    }
    l->cap = cap;
    l->first = l->next = 1;
    return l;
}

void
evl_free(struct evl **l)
{
    if (l == NULL || *l == NULL)
        return;
    free((*l)->ring);
    free(*l);
    *l = NULL;
}

int
evl_resize(struct evl *l, size_t cap)
{
    struct evl_ent *r;

    if (cap == 0 || (r = calloc(cap, sizeof(*r))) == NULL)
        return -1;
    if (l->next - l->first > cap)
        l->first = l->next - cap;
    for (uint64_t s = l->first; s < l->next; s++)
        r[s % cap] = l->ring[s % l->cap];
    free(l->ring);
    l->ring = r;
    l->cap = cap;
    return 0;
}

uint64_t
evl_add(struct evl *l, const struct evl_ent *e)
{
    struct evl_ent *d = &l->ring[l->next % l->cap];

    *d = *e;
    d->seq = l->next;
    d->peer[sizeof(d->peer) - 1] = '\0';
    d->text[sizeof(d->text) - 1] = '\0';
    if (++l->next - l->first > l->cap)
        l->first = l->next - l->cap;
    return l->next - 1;
}

uint64_t
evl_first_seq(const struct evl *l)
{
    return l->first;
}

uint64_t
evl_next_seq(const struct evl *l)
{
    return l->next;
}

const struct evl_ent *
evl_get(const struct evl *l, uint64_t seq)
{
    if (seq < evl_first_seq(l) || seq >= l->next)
        return NULL;
    return &l->ring[seq % l->cap];
}

void
evl_json(const struct evl *l, int has_since, uint64_t since, size_t limit,
    struct evbuffer *out)
{
    uint64_t first = evl_first_seq(l), from, to, missed = 0;

    if (has_since) {
        from = since < first ? first : since;
        missed = since < first && since > 0 ? first - since : 0;
    } else {
        from = l->next - first > limit ? l->next - limit : first;
    }
    if (from > l->next)
        from = l->next;
    to = l->next - from > limit ? from + limit : l->next;
    evbuffer_add_printf(out, "{\"ok\":true,\"first_seq\":%llu,"
        "\"next_seq\":%llu,\"next\":%llu,\"missed\":%llu,\"more\":%s,"
        "\"events\":[", (unsigned long long)first,
        (unsigned long long)l->next, (unsigned long long)to,
        (unsigned long long)missed, to < l->next ? "true" : "false");
    for (uint64_t s = from; s < to; s++) {
        const struct evl_ent *e = evl_get(l, s);
        evbuffer_add_printf(out, "%s{\"seq\":%llu,\"time_ms\":%lld,"
            "\"kind\":\"%s\",\"code\":%u,\"worker\":%d,\"pid\":%d,"
            "\"peer\":", s == from ? "" : ",", (unsigned long long)e->seq,
            (long long)e->ms, evq_kind_name(e->kind), e->code, e->slot,
            e->pid);
        evl_json_str(out, e->peer);
        evbuffer_add(out, ",\"text\":", 8);
        evl_json_str(out, e->text);
        evbuffer_add(out, "}", 1);
    }
    evbuffer_add(out, "]}", 2);
}

/* s as a JSON string: quotes, backslashes and control bytes escaped;
 * bytes >= 0x80 pass when s is valid UTF-8, else (a text truncated in the
 * middle of a character, or bytes that never were UTF-8) each becomes
 * '?'. */
static void
evl_json_str(struct evbuffer *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    int utf8 = u8_valid(p, strlen(s));

    evbuffer_add(out, "\"", 1);
    while (*p) {
        const unsigned char *run = p;
        /* The bytes that pass as they are, in one call. */
        while (*p && *p != '"' && *p != '\\' && *p >= 0x20 && *p != 0x7f
               && (*p < 0x80 || utf8))
            p++;
        if (p > run)
            evbuffer_add(out, run, (size_t)(p - run));
        if (*p == '\0')
            break;
        if (*p == '"' || *p == '\\')
            evbuffer_add_printf(out, "\\%c", *p);
        else if (*p >= 0x80)
            evbuffer_add(out, "?", 1);
        else
            evbuffer_add_printf(out, "\\u%04x", *p);
        p++;
    }
    evbuffer_add(out, "\"", 1);
}
