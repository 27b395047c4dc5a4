/*
 * Limits of a worker (lmt.h): the policy over shm/ltab.c (which limit is
 * checked first, what each refusal says, what it counts) and the message
 * buckets each protocol keeps per connection. The counts are in shared
 * memory so that every worker enforces the same total; the master clears
 * a dead worker's counts (ltab_release), so a crash never leaks them.
 */
#include <stdint.h>

#include "common/config.h"
#include "common/tb.h"
#include "common/wsg.h"
#include "shm/ltab.h"
#include "worker/lmt.h"
#include "worker/wctr.h"

static struct {
    struct ltab *lt;
    unsigned rec;
    uint64_t max_total;
    uint32_t max_ip, max_user;
    uint32_t hs_rate, hs_burst;
    uint32_t msg_rate, msg_burst;
} L;

void
lmt_init(const struct cfg *c, struct ltab *lt, unsigned rec)
{
    L.lt = lt;
    L.rec = rec;
    L.max_total = (uint64_t)CFG_NUM(c, max_connections);
    L.max_ip = (uint32_t)CFG_NUM(c, max_connections_per_ip);
    L.max_user = (uint32_t)CFG_NUM(c, max_connections_per_user);
    L.hs_rate = (uint32_t)CFG_NUM(c, handshake_rate_per_ip);
    L.hs_burst = (uint32_t)CFG_NUM(c, handshake_burst_per_ip);
    L.msg_rate = (uint32_t)CFG_NUM(c, client_message_rate);
    L.msg_burst = (uint32_t)CFG_NUM(c, client_message_burst);
}

static int
lmt_refuse(struct lmt_refusal *why, int status, const char *code,
    const char *msg)
{
    why->status = status;
    why->code = code;
    why->msg = msg;
    return -1;
}

int
lmt_conn_begin(const void *ip, size_t n, uint64_t *key,
    struct lmt_refusal *why)
{
    *key = 0;
    if (L.lt == NULL)
        return 0;
    *key = ltab_key(L.lt, LTAB_IP, ip, n);
    if (L.hs_rate > 0) {
        switch (ltab_rate(L.lt, *key, (uint32_t)wsg_mono_ms(), L.hs_rate,
            L.hs_burst)) {
        case LTAB_OK:
            break;
        case LTAB_OVER:
            WCTR_INC(limit_handshake_refused);
            return lmt_refuse(why, 429, "RATE_LIMITED",
                "too many handshakes from this address");
        case LTAB_FULL:
            /* Every bucket near this one is in use: let it through
             * rather than refuse addresses that did nothing. */
            WCTR_INC(limit_rate_table_full);
            break;
        }
    }
    if (ltab_total_add(L.lt, L.rec, L.max_total) != LTAB_OK) {
        WCTR_INC(limit_total_refused);
        return lmt_refuse(why, 503, "TOO_MANY_CONNECTIONS",
            "the gateway holds max_connections");
    }
    /* Addresses take table entries only when they are limited: with the
     * limit off, a full table can refuse nobody. */
    if (L.max_ip == 0)
        return 0;
    switch (ltab_add(L.lt, L.rec, *key, L.max_ip)) {
    case LTAB_OK:
        return 0;
    case LTAB_OVER:
        ltab_total_sub(L.lt, L.rec);
        WCTR_INC(limit_ip_refused);
        return lmt_refuse(why, 429, "TOO_MANY_CONNECTIONS",
            "too many connections from this address");
    case LTAB_FULL:
        break;
    }
    ltab_total_sub(L.lt, L.rec);
    WCTR_INC(limit_table_full);
    return lmt_refuse(why, 503, "OVERLOADED", "limit table full");
}

uint64_t
lmt_ip_key(const void *ip, size_t n)
{
    return L.lt ? ltab_key(L.lt, LTAB_IP, ip, n) : 0;
}

void
lmt_conn_end(uint64_t key)
{
    if (L.lt == NULL)
        return;
    if (L.max_ip != 0)
        ltab_sub(L.lt, L.rec, key);
    ltab_total_sub(L.lt, L.rec);
}

int
lmt_user_begin(const char *user, size_t n)
{
    if (L.lt == NULL || L.max_user == 0)
        return 0;
    switch (ltab_add(L.lt, L.rec, ltab_key(L.lt, LTAB_USER, user, n),
        L.max_user)) {
    case LTAB_OK:
        return 1;
    case LTAB_OVER:
        WCTR_INC(limit_user_refused);
        return -1;
    case LTAB_FULL:
        break;
    }
    WCTR_INC(limit_table_full);
    return -1;
}

void
lmt_user_end(const char *user, size_t n)
{
    if (L.lt != NULL)
        ltab_sub(L.lt, L.rec, ltab_key(L.lt, LTAB_USER, user, n));
}

void
lmt_msg_init(uint32_t *tok, uint32_t *at)
{
    tb_init(tok, at, (uint32_t)wsg_mono_ms(), L.msg_burst);
}

int
lmt_msg_take(uint32_t *tok, uint32_t *at)
{
    if (L.msg_rate == 0)
        return 1;
    return tb_take(tok, at, (uint32_t)wsg_mono_ms(), L.msg_rate,
        L.msg_burst);
}

void
lmt_msg_closed(void)
{
    WCTR_INC(rate_limited_closes);
}
