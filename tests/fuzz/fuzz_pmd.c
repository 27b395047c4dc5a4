/*
 * libFuzzer harness for common/pmd.c. The same input is used three ways:
 * as a Sec-WebSocket-Extensions offer (the response must re-negotiate), as
 * compressed payload inflated under a small bound (the bound must hold), and
 * as plain data compressed and inflated back (it must come back unchanged).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pmd.h"

#define FZ_BOUND 4096

struct fz_buf {
    unsigned char *p;
    size_t len, cap;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fz_check(int cond)
{
    if (!cond)
        abort();
}

static int
fz_count(void *arg, const unsigned char *p, size_t n)
{
    (void)p;
    fz_check(n > 0);
    *(size_t *)arg += n;
    return 0;
}

static int
fz_append(void *arg, const unsigned char *p, size_t n)
{
    struct fz_buf *b = arg;
    unsigned char *np;
    size_t ncap;

    fz_check(n > 0);
    if (b->len + n > b->cap) {
        ncap = (b->len + n) * 2;
        np = realloc(b->p, ncap);
        if (np == NULL)
            return -1;
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

static void
fz_negotiate(const uint8_t *data, size_t size)
{
    struct pmd_policy pol;
    struct pmd_params p, again;
    char resp[PMD_RESP_MAX], resp2[PMD_RESP_MAX];
    size_t rlen;

    pmd_policy_init(&pol);
    if (size > 0) {
        pol.server_no_context_takeover = data[0] & 1;
        pol.client_no_context_takeover = (data[0] >> 1) & 1;
        pol.server_max_window_bits = 8 + (data[0] >> 2) % 8;
        pol.client_max_window_bits = 8 + (data[0] >> 5) % 8;
    }
    if (pmd_negotiate((const char *)data, size, &pol, &p, resp,
            sizeof(resp)) != PMD_OK)
        return;
    rlen = strlen(resp);
    fz_check(rlen < sizeof(resp));
    fz_check(strncmp(resp, "permessage-deflate", 18) == 0);
    fz_check(p.server_max_window_bits >= 9 && p.server_max_window_bits <= 15);
    fz_check(p.client_max_window_bits >= 8 && p.client_max_window_bits <= 15);
    fz_check(p.server_max_window_bits <= pol.server_max_window_bits
        || pol.server_max_window_bits < 9);
    /* The response is itself an acceptable offer, with no larger windows. */
    pmd_policy_init(&pol);
    fz_check(pmd_negotiate(resp, rlen, &pol, &again, resp2, sizeof(resp2))
        == PMD_OK);
    fz_check(again.server_max_window_bits <= p.server_max_window_bits
        || strstr(resp, "server_max_window_bits") == NULL);
    fz_check(again.client_max_window_bits <= p.client_max_window_bits);
}

static void
fz_inflate(const uint8_t *data, size_t size)
{
    struct pmd_params pp = {1, 1, 15, 15};
    struct pmd_inflater *inf;
    size_t got, cut, m;
    int rc;

    if (size == 0)
        return;
    pp.client_no_context_takeover = data[0] & 1;
    pp.client_max_window_bits = 8 + (data[0] >> 1) % 8;
    inf = pmd_inflater_new(&pp);
    fz_check(inf != NULL);
    cut = size > 1 ? data[1] % size : 0;
    /* Two messages, the first in two pieces, so state carries over. */
    for (m = 0; m < 2; m++) {
        got = 0;
        rc = pmd_inflate(inf, data, cut, 0, fz_count, &got, FZ_BOUND);
        fz_check(got <= FZ_BOUND);
        if (rc == PMD_AGAIN)
            rc = pmd_inflate(inf, data + cut, size - cut, 1, fz_count, &got,
                FZ_BOUND);
        fz_check(got <= FZ_BOUND);
        fz_check(rc == PMD_OK || rc == PMD_E_DATA || rc == PMD_E_TOO_BIG);
        fz_check(rc != PMD_E_TOO_BIG || got <= FZ_BOUND);
        cut = 0;
    }
    pmd_inflater_free(inf);
}

static void
fz_roundtrip(const uint8_t *data, size_t size)
{
    struct pmd_params pp = {0, 0, 15, 15};
    struct pmd_deflater *d;
    struct pmd_inflater *inf;
    struct fz_buf c = {0}, out = {0};
    size_t cut = size > 0 ? data[0] % (size + 1) : 0;
    size_t at[3] = {0, cut, size};
    int ctx = size > 1 ? data[1] & 1 : 1, m;

    pp.server_no_context_takeover = (uint8_t)!ctx;
    pp.client_no_context_takeover = (uint8_t)!ctx;
    pp.server_max_window_bits = (uint8_t)(9 + (size > 2 ? data[2] % 7 : 6));
    pp.client_max_window_bits = pp.server_max_window_bits;
    d = pmd_deflater_new(&pp, size > 3 ? data[3] % 11 - 1 : -1);
    inf = pmd_inflater_new(&pp);
    fz_check(d != NULL && inf != NULL);
    for (m = 0; m < 2; m++) {
        c.len = 0;
        out.len = 0;
        fz_check(pmd_deflate_message(d, data + at[m], at[m + 1] - at[m],
                     fz_append, &c) == PMD_OK);
        fz_check(pmd_inflate(inf, c.p, c.len, 1, fz_append, &out,
                     at[m + 1] - at[m]) == PMD_OK);
        fz_check(out.len == at[m + 1] - at[m]);
        fz_check(out.len == 0 || memcmp(out.p, data + at[m], out.len) == 0);
    }
    /* The shared, context-free form decodes with a fresh inflater. */
    c.len = 0;
    out.len = 0;
    fz_check(pmd_deflate_once(data, size, pp.server_max_window_bits, 1,
                 fz_append, &c) == PMD_OK);
    pmd_inflater_free(inf);
    inf = pmd_inflater_new(&pp);
    fz_check(inf != NULL);
    fz_check(pmd_inflate(inf, c.p, c.len, 1, fz_append, &out, size)
        == PMD_OK);
    fz_check(out.len == size && (size == 0 || memcmp(out.p, data, size) == 0));
    pmd_deflater_free(d);
    pmd_inflater_free(inf);
    free(c.p);
    free(out.p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_negotiate(data, size);
    fz_inflate(data, size);
    fz_roundtrip(data, size);
    return 0;
}
