/*
 * Stream entry codec (rent.h). The entry is a flat field-value list rather
 * than one packed blob so that redis-cli XRANGE shows who published what;
 * the message itself stays in the message-log encoding, binary-safe, so
 * a node appends it to its log without re-encoding.
 */
#include <stdio.h>
#include <string.h>

#include "rent.h"

static int
rent_eq(struct rent_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* Unsigned decimal s[0..n) without sign, leading '+' or overflow. */
static int
rent_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0 || n > 20)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* Numbers the entry and adds it in one step (see rent_xadd_argv).
 * KEYS: stream, counter. ARGV: maxlen, epoch floor, the field-value
 * pairs. Lua 5.1 numbers are doubles: exact far beyond 2^32 * 2^21. */
static const char rent_script[] =
    "local e = tonumber(redis.call('HGET', KEYS[2], 'e'))\n"
    "local n\n"
    "if not e then\n"
    "  e = tonumber(ARGV[2]) + 1\n"
    "  redis.call('HSET', KEYS[2], 'e', e, 'n', 0)\n"
    "end\n"
    "n = redis.call('HINCRBY', KEYS[2], 'n', 1)\n"
    "if n > 4294967295 then\n"
    "  e = e + 1\n"
    "  n = 1\n"
    "  redis.call('HSET', KEYS[2], 'e', e, 'n', 1)\n"
    "end\n"
    "return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',\n"
    "  'ep', string.format('%d', e), 'gn', string.format('%d', n),\n"
    "  unpack(ARGV, 3))\n";

int
rent_xadd_argv(const char *stream, const char *counter, uint64_t maxlen,
    uint64_t epoch_floor, const struct rent *e, char *num,
    const char **argv, size_t *argvlen)
{
    int n = 0, k;
    char *ml = num, *ef, *os, *kd;

    k = snprintf(ml, 21, "%llu", (unsigned long long)maxlen);
    ef = ml + k + 1;
    k = snprintf(ef, 21, "%llu", (unsigned long long)epoch_floor);
    os = ef + k + 1;
    k = snprintf(os, 21, "%llu", (unsigned long long)e->oseq);
    kd = os + k + 1;
    snprintf(kd, 4, "%u", e->kind % 1000);
#define ARG(p, l) (argv[n] = (const char *)(p), argvlen[n++] = (l))
    ARG("EVAL", 4);
    ARG(rent_script, sizeof(rent_script) - 1);
    ARG("2", 1);
    ARG(stream, strlen(stream));
    ARG(counter, strlen(counter));
    ARG(ml, strlen(ml));
    ARG(ef, strlen(ef));
    ARG("origin", 6);
    ARG(e->origin.p, e->origin.n);
    ARG("inc", 3);
    ARG(e->inc.p, e->inc.n);
    ARG("oseq", 4);
    ARG(os, strlen(os));
    ARG("kind", 4);
    ARG(kd, strlen(kd));
    ARG("data", 4);
    ARG(e->data, e->len);
#undef ARG
    return n;
}

uint64_t
rent_offset(uint64_t epoch, uint64_t gn)
{
    if (epoch == 0 || epoch > RENT_EPOCH_MAX || gn == 0
        || gn > UINT32_MAX)
        return 0;
    return epoch << 32 | gn;
}

enum rent_status
rent_parse(const struct rent_str *f, size_t n, struct rent *e)
{
    const struct rent_str *origin = NULL, *inc = NULL, *oseq = NULL,
                          *kind = NULL, *data = NULL, *ep = NULL,
                          *gn = NULL;
    uint64_t k;

    if (n % 2 != 0)
        return RENT_E_FIELD;
    for (size_t i = 0; i < n; i += 2) {
        const struct rent_str **slot = rent_eq(f[i], "origin") ? &origin
            : rent_eq(f[i], "inc")                             ? &inc
            : rent_eq(f[i], "oseq")                            ? &oseq
            : rent_eq(f[i], "kind")                            ? &kind
            : rent_eq(f[i], "data")                            ? &data
            : rent_eq(f[i], "ep")                              ? &ep
            : rent_eq(f[i], "gn")                              ? &gn
                                                               : NULL;
        if (slot == NULL)
            continue;
        if (*slot != NULL)
            return RENT_E_FIELD;
        *slot = &f[i + 1];
    }
    if (!origin || !inc || !oseq || !kind || !data || !ep || !gn)
        return RENT_E_FIELD;
    if (origin->n == 0 || origin->n > RENT_ORIGIN_MAX || inc->n == 0
        || inc->n > RENT_INC_MAX)
        return RENT_E_ORIGIN;
    if (rent_u64(oseq->p, oseq->n, &e->oseq) == -1 || e->oseq == 0
        || rent_u64(kind->p, kind->n, &k) == -1 || k == 0 || k > 255
        || rent_u64(ep->p, ep->n, &e->epoch) == -1
        || rent_u64(gn->p, gn->n, &e->gn) == -1
        || rent_offset(e->epoch, e->gn) == 0)
        return RENT_E_NUMBER;
    if (data->n == 0 || (unsigned char)data->p[0] != k)
        return RENT_E_DATA;
    e->origin = *origin;
    e->inc = *inc;
    e->kind = (unsigned)k;
    e->data = (const unsigned char *)data->p;
    e->len = data->n;
    return RENT_OK;
}

enum rent_status
rent_id_parse(const char *s, size_t n, struct rent_id *id)
{
    const char *dash = memchr(s, '-', n);

    if (dash == NULL
        || rent_u64(s, (size_t)(dash - s), &id->ms) == -1
        || rent_u64(dash + 1, n - (size_t)(dash - s) - 1, &id->seq) == -1)
        return RENT_E_ID;
    return RENT_OK;
}

int
rent_id_cmp(struct rent_id a, struct rent_id b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}

void
rent_id_format(struct rent_id id, char *out)
{
    snprintf(out, RENT_ID_MAX, "%llu-%llu", (unsigned long long)id.ms,
        (unsigned long long)id.seq);
}

enum rent_status
rent_info_run_id(const char *s, size_t n, char *out)
{
    static const char key[] = "run_id:";
    size_t kl = sizeof(key) - 1;

    for (size_t i = 0; i + kl + RENT_RUNID_LEN <= n; i++) {
        if ((i != 0 && s[i - 1] != '\n') || memcmp(s + i, key, kl) != 0)
            continue;
        const char *h = s + i + kl;
        for (size_t k = 0; k < RENT_RUNID_LEN; k++) {
            char c = h[k];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                return RENT_E_RUNID;
        }
        memcpy(out, h, RENT_RUNID_LEN);
        out[RENT_RUNID_LEN] = '\0';
        return RENT_OK;
    }
    return RENT_E_RUNID;
}
