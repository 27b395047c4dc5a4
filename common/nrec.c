/*
 * Node record codec and the cluster view (issue 11 item 5). A record is
 * one JSON object per node, written by its master with a TTL; the view
 * sums the records of the live nodes for ?scope=cluster. Counters are
 * carried by name, so nodes of different versions sum what they share.
 * No I/O: master/rnod.c talks to Redis.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/counters.h"
#include "common/nrec.h"

/* The numeric fields, shared by encode, decode and the view. */
#define NREC_NUM_FIELDS(X) \
    X(workers) X(slots) X(connections) X(capacity) \
    X(rooms) X(subscriptions) X(users)

static int nrec_get_str(json_t *o, const char *k, char *dst, size_t cap,
    int need);
static int nrec_get_int(json_t *o, const char *k, int64_t *v);

char *
nrec_encode(const struct nrec *r)
{
    json_t *o = json_object(), *c = json_object();
    char *s = NULL;

    if (o == NULL || c == NULL)
        goto out;
    if (r->ctr)
        for (int i = 0; i < CTR__COUNT; i++)
            json_object_set_new(c, ctr_desc[i].name,
                json_integer((json_int_t)r->ctr[i]));
    if (json_object_set_new(o, "v", json_integer(NREC_FORMAT))
        || json_object_set_new(o, "node", json_string(r->node))
        || json_object_set_new(o, "inc", json_string(r->inc))
        || json_object_set_new(o, "version", json_string(r->version))
        || json_object_set_new(o, "status", json_string(r->status))
        || json_object_set_new(o, "pid", json_integer(r->pid))
        || json_object_set_new(o, "started_ms", json_integer(r->started_ms))
        || json_object_set_new(o, "heartbeat_ms",
            json_integer(r->heartbeat_ms))
        || json_object_set_new(o, "interval_ms",
            json_integer(r->interval_ms))
        || json_object_set_new(o, "ttl_ms", json_integer(r->ttl_ms)))
        goto out;
#define X(f) \
    if (json_object_set_new(o, #f, json_integer((json_int_t)r->f))) \
        goto out;
    NREC_NUM_FIELDS(X)
#undef X
    if (json_object_set(o, "counters", c))
        goto out;
    s = json_dumps(o, JSON_COMPACT);
out:
    json_decref(c);
    json_decref(o);
    return s;
}

enum nrec_status
nrec_decode(const char *s, size_t len, struct nrec *r)
{
    json_t *o = json_loadb(s, len, JSON_REJECT_DUPLICATES, NULL), *c;
    enum nrec_status st = NREC_E_FIELD;
    int64_t v = 0, n;

    memset(r, 0, sizeof(*r));
    if (o == NULL || !json_is_object(o)) {
        json_decref(o);
        return NREC_E_JSON;
    }
    if (nrec_get_int(o, "v", &v) == -1 || v != NREC_FORMAT) {
        st = NREC_E_FORMAT;
        goto out;
    }
    if (nrec_get_str(o, "node", r->node, sizeof(r->node), 1) == -1
        || nrec_get_str(o, "inc", r->inc, sizeof(r->inc), 1) == -1
        || nrec_get_str(o, "version", r->version, sizeof(r->version), 0)
            == -1
        || nrec_get_str(o, "status", r->status, sizeof(r->status), 1) == -1
        || nrec_get_int(o, "pid", &r->pid) == -1
        || nrec_get_int(o, "started_ms", &r->started_ms) == -1
        || nrec_get_int(o, "heartbeat_ms", &r->heartbeat_ms) == -1
        || nrec_get_int(o, "interval_ms", &r->interval_ms) == -1
        || nrec_get_int(o, "ttl_ms", &r->ttl_ms) == -1)
        goto out;
#define X(f) \
    if (nrec_get_int(o, #f, &n) == -1 || n < 0) \
        goto out; \
    r->f = (uint64_t)n;
    NREC_NUM_FIELDS(X)
#undef X
    c = json_object_get(o, "counters");
    if (c != NULL && !json_is_object(c))
        goto out;
    r->counters = c ? json_incref(c) : json_object();
    if (r->counters == NULL)
        goto out;
    st = NREC_OK;
out:
    json_decref(o);
    if (st != NREC_OK)
        nrec_clear(r);
    return st;
}

void
nrec_clear(struct nrec *r)
{
    json_decref(r->counters);
    memset(r, 0, sizeof(*r));
}

int
nrec_key(const char *stream, const char *node, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s:node:%s", stream, node);
    return n < 0 || (size_t)n >= len ? -1 : n;
}

int
nrec_index_key(const char *stream, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s:nodes", stream);
    return n < 0 || (size_t)n >= len ? -1 : n;
}

/* One node of the view. */
static json_t *
nrec_node_json(const struct nrec_live *l, int self, int with_counters)
{
    const struct nrec *r = &l->rec;
    json_t *o = json_pack("{s:s,s:s,s:b,s:s,s:s,s:I,s:I,s:I,s:I,s:I}",
        "node", r->node, "incarnation", r->inc, "self", self,
        "status", r->status, "version", r->version,
        "pid", (json_int_t)r->pid,
        "uptime_s", (json_int_t)((r->heartbeat_ms - r->started_ms) / 1000),
        "heartbeat_ms", (json_int_t)r->heartbeat_ms,
        "heartbeat_age_ms", (json_int_t)l->age_ms,
        "ttl_ms", (json_int_t)r->ttl_ms);

    if (o == NULL)
        return NULL;
#define X(f) json_object_set_new(o, #f, json_integer((json_int_t)r->f));
    NREC_NUM_FIELDS(X)
#undef X
    if (with_counters)
        json_object_set(o, "counters", r->counters);
    return o;
}

/* Add every integer counter of from to sum, by name. */
static void
nrec_sum_counters(json_t *sum, json_t *from)
{
    const char *k;
    json_t *v;

    json_object_foreach(from, k, v) {
        if (!json_is_integer(v))
            continue;
        json_t *s = json_object_get(sum, k);
        json_int_t base = s ? json_integer_value(s) : 0;
        json_object_set_new(sum, k,
            json_integer(base + json_integer_value(v)));
    }
}

char *
nrec_view(const struct nrec_live *nodes, size_t n, const char *self_node,
    const char *self_inc, int with_counters, int truncated,
    uint64_t expired)
{
    json_t *o = json_object(), *arr = json_array(), *tot = json_object();
    json_t *sum = json_object();
    uint64_t t[7] = {0};
    int all_ok = 1;
    char *s = NULL;

    if (o == NULL || arr == NULL || tot == NULL || sum == NULL)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const struct nrec *r = &nodes[i].rec;
        int self = strcmp(r->node, self_node) == 0
            && strcmp(r->inc, self_inc) == 0;
        json_t *j = nrec_node_json(&nodes[i], self, with_counters);
        if (j == NULL || json_array_append_new(arr, j))
            goto out;
        all_ok &= strcmp(r->status, "ok") == 0;
        size_t k = 0;
#define X(f) t[k++] += r->f;
        NREC_NUM_FIELDS(X)
#undef X
        if (with_counters)
            nrec_sum_counters(sum, r->counters);
    }
    json_object_set_new(tot, "nodes", json_integer((json_int_t)n));
    size_t k = 0;
#define X(f) json_object_set_new(tot, #f, json_integer((json_int_t)t[k++]));
    NREC_NUM_FIELDS(X)
#undef X
    if (json_object_set_new(o, "ok", json_true())
        || json_object_set_new(o, "scope", json_string("cluster"))
        || json_object_set_new(o, "status",
            json_string(n > 0 && all_ok ? "ok" : "degraded"))
        || json_object_set_new(o, "node", json_string(self_node))
        || json_object_set_new(o, "truncated", json_boolean(truncated))
        || json_object_set_new(o, "expired",
            json_integer((json_int_t)expired))
        || json_object_set(o, "nodes", arr)
        || json_object_set(o, "totals", tot))
        goto out;
    if (with_counters && json_object_set(o, "counters", sum))
        goto out;
    s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
    json_decref(sum);
    json_decref(tot);
    json_decref(arr);
    json_decref(o);
    return s;
}

/* Copy string field k of o into dst (cap bytes with the NUL). need: a
 * missing field is an error (else dst stays ""). -1 when wrong. */
static int
nrec_get_str(json_t *o, const char *k, char *dst, size_t cap, int need)
{
    json_t *v = json_object_get(o, k);
    size_t n;

    if (v == NULL)
        return need ? -1 : 0;
    if (!json_is_string(v) || (n = json_string_length(v)) >= cap
        || (need && n == 0) || memchr(json_string_value(v), 0, n))
        return -1;
    memcpy(dst, json_string_value(v), n + 1);
    return 0;
}

static int
nrec_get_int(json_t *o, const char *k, int64_t *v)
{
    json_t *j = json_object_get(o, k);

    if (!json_is_integer(j))
        return -1;
    *v = json_integer_value(j);
    return 0;
}
