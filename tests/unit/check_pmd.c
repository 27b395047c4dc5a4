/*
 * Unit tests for common/pmd.c: permessage-deflate negotiation (RFC 7692
 * §7.1), bounded inflation and compression (§7.2), with the RFC's own
 * examples as vectors.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmd.h"

/* A growable sink that can also refuse data after `limit` bytes. */
struct tbuf {
    unsigned char *p;
    size_t len, cap;
    size_t limit;       /* 0: unlimited */
    size_t calls;
};

static int
tbuf_sink(void *arg, const unsigned char *p, size_t n)
{
    struct tbuf *b = arg;
    size_t ncap;

    ck_assert_uint_gt(n, 0);
    b->calls++;
    if (b->limit != 0 && b->len + n > b->limit)
        return -1;
    if (b->len + n > b->cap) {
        ncap = b->cap ? b->cap : 256;
        while (ncap < b->len + n)
            ncap *= 2;
        b->p = realloc(b->p, ncap);
        ck_assert_ptr_nonnull(b->p);
        b->cap = ncap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

/* Counts bytes without keeping them, for the bomb. */
static int
count_sink(void *arg, const unsigned char *p, size_t n)
{
    (void)p;
    *(size_t *)arg += n;
    return 0;
}

static void
tbuf_reset(struct tbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static void
fill_random(unsigned char *p, size_t n, uint32_t seed)
{
    uint32_t x = seed ? seed : 1;
    size_t i;

    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)x;
    }
}

/* JSON-like, compressible, varied by salt. */
static void
fill_text(unsigned char *p, size_t n, unsigned salt)
{
    static const char pat[] =
        "{\"room\":\"lead:42\",\"event\":\"update\",\"data\":{\"n\":";
    size_t i;

    for (i = 0; i < n; i++)
        p[i] = (unsigned char)pat[(i + salt) % (sizeof(pat) - 1)];
    for (i = 0; i < n; i += 61)
        p[i] = (unsigned char)('0' + (i / 61 + salt) % 10);
}

static struct pmd_params
params(int snct, int cnct, int sbits, int cbits)
{
    struct pmd_params p;

    p.server_no_context_takeover = (uint8_t)snct;
    p.client_no_context_takeover = (uint8_t)cnct;
    p.server_max_window_bits = (uint8_t)sbits;
    p.client_max_window_bits = (uint8_t)cbits;
    return p;
}

static int
neg(const char *hdr, const struct pmd_policy *pol, struct pmd_params *out,
    char *resp)
{
    struct pmd_policy def;

    if (pol == NULL) {
        pmd_policy_init(&def);
        pol = &def;
    }
    return pmd_negotiate(hdr, strlen(hdr), pol, out, resp, PMD_RESP_MAX);
}

/* Value of `name=N` in a response, or -1 when absent. */
static int
resp_param(const char *resp, const char *name)
{
    const char *s = strstr(resp, name);

    if (s == NULL)
        return -1;
    s += strlen(name);
    if (*s != '=')
        return -1;
    return atoi(s + 1);
}

/* ---------------------------------------------------------------- negotiate */

START_TEST(neg_plain_offer_gets_default_policy)
{
    struct pmd_params p;
    char resp[PMD_RESP_MAX];

    ck_assert_int_eq(neg("permessage-deflate", NULL, &p, resp), PMD_OK);
    ck_assert_str_eq(resp, "permessage-deflate; server_no_context_takeover; "
                           "client_no_context_takeover");
    ck_assert_uint_eq(p.server_no_context_takeover, 1);
    ck_assert_uint_eq(p.client_no_context_takeover, 1);
    ck_assert_uint_eq(p.server_max_window_bits, 15);
    ck_assert_uint_eq(p.client_max_window_bits, 15);
}
END_TEST

START_TEST(neg_browser_offer)
{
    struct pmd_params p;
    struct pmd_policy pol;
    char resp[PMD_RESP_MAX];

    ck_assert_int_eq(neg("permessage-deflate; client_max_window_bits", NULL,
                         &p, resp), PMD_OK);
    ck_assert_str_eq(resp, "permessage-deflate; server_no_context_takeover; "
                           "client_no_context_takeover; "
                           "client_max_window_bits=15");
    pmd_policy_init(&pol);
    pol.server_no_context_takeover = 0;
    pol.client_no_context_takeover = 0;
    pol.client_max_window_bits = 12;
    ck_assert_int_eq(neg("permessage-deflate; client_max_window_bits", &pol,
                         &p, resp), PMD_OK);
    ck_assert_str_eq(resp, "permessage-deflate; client_max_window_bits=12");
    ck_assert_uint_eq(p.client_max_window_bits, 12);
    ck_assert_uint_eq(p.server_no_context_takeover, 0);
    ck_assert_uint_eq(p.client_no_context_takeover, 0);
}
END_TEST

START_TEST(neg_rfc7692_examples)
{
    struct pmd_params p;
    struct pmd_policy pol;
    char resp[PMD_RESP_MAX];

    pmd_policy_init(&pol);
    pol.server_no_context_takeover = 0;
    pol.client_no_context_takeover = 0;
    /* §7.1.2.1: a preferred window limit with a fallback offer. */
    ck_assert_int_eq(neg("permessage-deflate; server_max_window_bits=10, "
                         "permessage-deflate", &pol, &p, resp), PMD_OK);
    ck_assert_str_eq(resp, "permessage-deflate; server_max_window_bits=10");
    ck_assert_uint_eq(p.server_max_window_bits, 10);
    /* §5.2-style list with both window parameters. */
    ck_assert_int_eq(neg("permessage-deflate; client_max_window_bits; "
                         "server_max_window_bits=10, permessage-deflate; "
                         "client_max_window_bits", &pol, &p, resp), PMD_OK);
    ck_assert_str_eq(resp, "permessage-deflate; server_max_window_bits=10; "
                           "client_max_window_bits=15");
    /* §7.1.1: the context takeover parameters are echoed. */
    ck_assert_int_eq(neg("permessage-deflate; server_no_context_takeover; "
                         "client_no_context_takeover", &pol, &p, resp),
        PMD_OK);
    ck_assert_str_eq(resp, "permessage-deflate; server_no_context_takeover; "
                           "client_no_context_takeover");
    ck_assert_uint_eq(p.server_no_context_takeover, 1);
    ck_assert_uint_eq(p.client_no_context_takeover, 1);
    ck_assert_int_eq(neg("permessage-deflate; client_max_window_bits=10",
                         &pol, &p, resp), PMD_OK);
    ck_assert_str_eq(resp, "permessage-deflate; client_max_window_bits=10");
    ck_assert_uint_eq(p.client_max_window_bits, 10);
}
END_TEST

START_TEST(neg_disabled_policy_is_none)
{
    struct pmd_params p;
    struct pmd_policy pol;
    char resp[PMD_RESP_MAX];

    pmd_policy_init(&pol);
    pol.enabled = 0;
    ck_assert_int_eq(neg("permessage-deflate", &pol, &p, resp), PMD_NONE);
}
END_TEST

START_TEST(neg_rejects_bad_offers)
{
    static const char *bad[] = {
        "",
        " , ,\t",
        "x-webkit-deflate-frame",
        "permessage-deflate; server_no_context_takeover; "
        "server_no_context_takeover",
        "permessage-deflate; client_no_context_takeover; "
        "client_no_context_takeover",
        "permessage-deflate; client_max_window_bits; client_max_window_bits",
        "permessage-deflate; client_max_window_bits=9; "
        "client_max_window_bits=10",
        "permessage-deflate; server_max_window_bits=10; "
        "server_max_window_bits=10",
        "permessage-deflate; foo",
        "permessage-deflate; foo=1",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=08",
        "permessage-deflate; server_max_window_bits=+9",
        "permessage-deflate; server_max_window_bits=1a",
        "permessage-deflate; server_max_window_bits=\"\"",
        "permessage-deflate; server_max_window_bits=\"10 \"",
        "permessage-deflate; server_max_window_bits=100000000000000010",
        "permessage-deflate; server_max_window_bits=8",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=0",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=\"\"",
        "permessage-deflate; server_max_window_bits=",
        "permessage-deflate; =10",
        "permessage-deflate;; client_max_window_bits",
        "permessage-deflate client_max_window_bits",
        "permessage-deflate; server_max_window_bits=\"10",
        "permessage-deflate; server_max_window_bits=\"1\\",
        "permessage-deflatex",
        "permessage",
    };
    struct pmd_params p;
    char resp[PMD_RESP_MAX];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(neg(bad[i], NULL, &p, resp) == PMD_NONE,
            "accepted: %s", bad[i]);
}
END_TEST

START_TEST(neg_takes_second_offer_when_first_unacceptable)
{
    struct pmd_params p;
    char resp[PMD_RESP_MAX];

    ck_assert_int_eq(neg("permessage-deflate; foo, "
                         "permessage-deflate; client_max_window_bits=10",
                         NULL, &p, resp), PMD_OK);
    ck_assert_uint_eq(p.client_max_window_bits, 10);
    ck_assert_int_eq(resp_param(resp, "client_max_window_bits"), 10);
    /* 8 cannot be honoured by zlib: the fallback is taken, unlimited. */
    ck_assert_int_eq(neg("permessage-deflate; server_max_window_bits=8, "
                         "permessage-deflate", NULL, &p, resp), PMD_OK);
    ck_assert_ptr_null(strstr(resp, "server_max_window_bits"));
    ck_assert_uint_eq(p.server_max_window_bits, 15);
    /* A syntax error skips only its own element, quotes respected. */
    ck_assert_int_eq(neg("permessage-deflate; =x; a=\"b,c\", "
                         "permessage-deflate; server_max_window_bits=11",
                         NULL, &p, resp), PMD_OK);
    ck_assert_uint_eq(p.server_max_window_bits, 11);
    ck_assert_int_eq(neg("foo; bar=\"a,\\\"b\", x-webkit-deflate-frame, "
                         "permessage-deflate", NULL, &p, resp), PMD_OK);
}
END_TEST

START_TEST(neg_accepts_ows_quotes_and_case)
{
    struct pmd_params p;
    char resp[PMD_RESP_MAX];

    ck_assert_int_eq(neg(" ,permessage-deflate ;\tclient_max_window_bits = 12"
                         " ; server_max_window_bits=\"9\" ,", NULL, &p, resp),
        PMD_OK);
    ck_assert_uint_eq(p.client_max_window_bits, 12);
    ck_assert_uint_eq(p.server_max_window_bits, 9);
    ck_assert_int_eq(neg("permessage-deflate; server_max_window_bits=\"1\\3\"",
                         NULL, &p, resp), PMD_OK);
    ck_assert_uint_eq(p.server_max_window_bits, 13);
    ck_assert_int_eq(neg("PerMessage-Deflate; Client_Max_Window_Bits", NULL,
                         &p, resp), PMD_OK);
}
END_TEST

START_TEST(neg_client_bits_only_when_offered)
{
    struct pmd_params p;
    struct pmd_policy pol;
    char resp[PMD_RESP_MAX];

    pmd_policy_init(&pol);
    pol.client_max_window_bits = 10;
    pol.server_max_window_bits = 11;
    ck_assert_int_eq(neg("permessage-deflate", &pol, &p, resp), PMD_OK);
    ck_assert_ptr_null(strstr(resp, "client_max_window_bits"));
    ck_assert_ptr_null(strstr(resp, "server_max_window_bits"));
    ck_assert_uint_eq(p.client_max_window_bits, 15);
    ck_assert_uint_eq(p.server_max_window_bits, 11);
}
END_TEST

START_TEST(neg_response_never_exceeds_offered_bits)
{
    struct pmd_params p;
    struct pmd_policy pol;
    char hdr[160], resp[PMD_RESP_MAX];
    int s, c, ps, pc, rs, rc;

    pmd_policy_init(&pol);
    for (s = 9; s <= 15; s++)
        for (c = 8; c <= 15; c++)
            for (ps = 8; ps <= 15; ps++)
                for (pc = 8; pc <= 15; pc++) {
                    pol.server_max_window_bits = ps;
                    pol.client_max_window_bits = pc;
                    snprintf(hdr, sizeof(hdr), "permessage-deflate; "
                        "server_max_window_bits=%d; "
                        "client_max_window_bits=%d", s, c);
                    ck_assert_int_eq(neg(hdr, &pol, &p, resp), PMD_OK);
                    rs = resp_param(resp, "server_max_window_bits");
                    rc = resp_param(resp, "client_max_window_bits");
                    ck_assert_int_ge(rs, 9);
                    ck_assert_int_le(rs, s);
                    ck_assert_int_ge(rc, 8);
                    ck_assert_int_le(rc, c);
                    ck_assert_int_le(rc, pc);
                    ck_assert_int_eq(p.server_max_window_bits, rs);
                    ck_assert_int_eq(p.client_max_window_bits, rc);
                    ck_assert_int_le(p.server_max_window_bits,
                        ps < 9 ? 9 : ps);
                }
}
END_TEST

START_TEST(neg_small_response_buffer_is_none)
{
    struct pmd_params p;
    struct pmd_policy pol;
    char resp[20];
    const char *h = "permessage-deflate";

    pmd_policy_init(&pol);
    ck_assert_int_eq(pmd_negotiate(h, strlen(h), &pol, &p, resp, sizeof(resp)),
        PMD_NONE);
    pol.server_no_context_takeover = 0;
    pol.client_no_context_takeover = 0;
    ck_assert_int_eq(pmd_negotiate(h, strlen(h), &pol, &p, resp, sizeof(resp)),
        PMD_OK);
    ck_assert_str_eq(resp, "permessage-deflate");
    /* Not NUL-terminated input: only len bytes are read. */
    ck_assert_int_eq(pmd_negotiate("permessage-deflate; foo", 18, &pol, &p,
                         resp, sizeof(resp)), PMD_OK);
}
END_TEST

/* ------------------------------------------------------------------ inflate */

/* Inflate one whole message from pieces split at the given offsets. */
static int
inflate_pieces(struct pmd_inflater *inf, const unsigned char *in, size_t n,
    const size_t *cuts, size_t ncuts, struct tbuf *out, size_t max_out)
{
    size_t i, at = 0, next;
    int rc;

    for (i = 0; i <= ncuts; i++) {
        next = i < ncuts ? cuts[i] : n;
        rc = pmd_inflate(inf, in + at, next - at, i == ncuts, tbuf_sink, out,
            max_out);
        if (i < ncuts && rc != PMD_AGAIN)
            return rc;
        at = next;
    }
    return rc;
}

static int
inflate_all(struct pmd_inflater *inf, const unsigned char *in, size_t n,
    struct tbuf *out, size_t max_out)
{
    return inflate_pieces(inf, in, n, NULL, 0, out, max_out);
}

static const unsigned char rfc_hello[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9,
    0x07, 0x00};

START_TEST(inflate_rfc7692_examples)
{
    /* §7.2.3.1 .. §7.2.3.5 */
    static const unsigned char again[] = {0xf2, 0x00, 0x11, 0x00, 0x00};
    static const unsigned char stored[] = {0x00, 0x05, 0x00, 0xfa, 0xff,
        'H', 'e', 'l', 'l', 'o', 0x00};
    static const unsigned char bfinal[] = {0xf3, 0x48, 0xcd, 0xc9, 0xc9,
        0x07, 0x00, 0x00};
    static const unsigned char two[] = {0xf2, 0x48, 0x05, 0x00, 0x00, 0x00,
        0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00};
    struct pmd_params pp = params(0, 0, 15, 15);
    struct pmd_inflater *inf = pmd_inflater_new(&pp);
    struct tbuf out = {0};
    size_t cut = 3;

    ck_assert_ptr_nonnull(inf);
    ck_assert_int_eq(inflate_all(inf, rfc_hello, sizeof(rfc_hello), &out,
                         100), PMD_OK);
    /* §7.2.3.2: the second message refers back into the first. */
    ck_assert_int_eq(inflate_all(inf, again, sizeof(again), &out, 100),
        PMD_OK);
    ck_assert_int_eq(inflate_pieces(inf, rfc_hello, sizeof(rfc_hello), &cut,
                         1, &out, 100), PMD_OK);
    ck_assert_int_eq(inflate_all(inf, stored, sizeof(stored), &out, 100),
        PMD_OK);
    ck_assert_int_eq(inflate_all(inf, bfinal, sizeof(bfinal), &out, 100),
        PMD_OK);
    ck_assert_int_eq(inflate_all(inf, two, sizeof(two), &out, 100), PMD_OK);
    /* BFINAL without the extra 00, and a BFINAL block split from it. */
    ck_assert_int_eq(inflate_all(inf, bfinal, sizeof(bfinal) - 1, &out, 100),
        PMD_OK);
    cut = sizeof(bfinal) - 1;
    ck_assert_int_eq(inflate_pieces(inf, bfinal, sizeof(bfinal), &cut, 1,
                         &out, 100), PMD_OK);
    ck_assert_uint_eq(out.len, 40);
    ck_assert_int_eq(memcmp(out.p, "HelloHelloHelloHelloHelloHelloHelloHello",
                         40), 0);
    pmd_inflater_free(inf);
    tbuf_reset(&out);
}
END_TEST

START_TEST(inflate_without_context_takeover_forgets_window)
{
    static const unsigned char again[] = {0xf2, 0x00, 0x11, 0x00, 0x00};
    struct pmd_params pp = params(0, 1, 15, 15);
    struct pmd_inflater *inf = pmd_inflater_new(&pp);
    struct tbuf out = {0};

    ck_assert_int_eq(inflate_all(inf, rfc_hello, sizeof(rfc_hello), &out,
                         100), PMD_OK);
    ck_assert_int_eq(inflate_all(inf, again, sizeof(again), &out, 100),
        PMD_E_DATA);
    ck_assert_uint_eq(out.len, 5);
    pmd_inflater_free(inf);
    tbuf_reset(&out);
}
END_TEST

START_TEST(inflate_every_split)
{
    unsigned char msg[3000];
    struct tbuf c = {0}, out = {0};
    struct pmd_params pp = params(1, 1, 15, 15);
    struct pmd_inflater *inf = pmd_inflater_new(&pp);
    size_t i, cuts[2];

    fill_text(msg, sizeof(msg), 7);
    fill_random(msg + 1000, 200, 3);
    ck_assert_int_eq(pmd_deflate_once(msg, sizeof(msg), 15, -1, tbuf_sink, &c),
        PMD_OK);
    for (i = 0; i <= c.len; i++) {
        cuts[0] = i;
        out.len = 0;
        ck_assert_int_eq(inflate_pieces(inf, c.p, c.len, cuts, 1, &out,
                             sizeof(msg)), PMD_OK);
        ck_assert_uint_eq(out.len, sizeof(msg));
        ck_assert_int_eq(memcmp(out.p, msg, sizeof(msg)), 0);
    }
    for (i = 0; i + 7 <= c.len; i += 7) {
        cuts[0] = i;
        cuts[1] = i + 7;
        out.len = 0;
        ck_assert_int_eq(inflate_pieces(inf, c.p, c.len, cuts, 2, &out,
                             sizeof(msg)), PMD_OK);
        ck_assert_int_eq(memcmp(out.p, msg, sizeof(msg)), 0);
    }
    /* One byte per frame, then an empty final frame. */
    out.len = 0;
    for (i = 0; i < c.len; i++)
        ck_assert_int_eq(pmd_inflate(inf, c.p + i, 1, 0, tbuf_sink, &out,
                             sizeof(msg)), PMD_AGAIN);
    ck_assert_int_eq(pmd_inflate(inf, NULL, 0, 1, tbuf_sink, &out,
                         sizeof(msg)), PMD_OK);
    ck_assert_uint_eq(out.len, sizeof(msg));
    ck_assert_int_eq(memcmp(out.p, msg, sizeof(msg)), 0);
    pmd_inflater_free(inf);
    tbuf_reset(&c);
    tbuf_reset(&out);
}
END_TEST

START_TEST(inflate_bomb_is_too_big_and_bounded)
{
    size_t big = 10u << 20, bound = 1u << 20, got = 0, i;
    unsigned char *zeros = calloc(1, big);
    struct tbuf c = {0};
    struct pmd_params pp = params(1, 1, 15, 15);
    struct pmd_inflater *inf = pmd_inflater_new(&pp);
    int rc = PMD_AGAIN;

    ck_assert_ptr_nonnull(zeros);
    ck_assert_int_eq(pmd_deflate_once(zeros, big, 15, 9, tbuf_sink, &c),
        PMD_OK);
    ck_assert_uint_lt(c.len, 20000);
    ck_assert_int_eq(pmd_inflate(inf, c.p, c.len, 1, count_sink, &got,
                         bound), PMD_E_TOO_BIG);
    ck_assert_uint_le(got, bound);
    /* Fed frame by frame, the error comes as soon as the bound is passed. */
    got = 0;
    for (i = 0; i < c.len && rc == PMD_AGAIN; i += 100)
        rc = pmd_inflate(inf, c.p + i, c.len - i < 100 ? c.len - i : 100,
            i + 100 >= c.len, count_sink, &got, bound);
    ck_assert_int_eq(rc, PMD_E_TOO_BIG);
    ck_assert_uint_le(got, bound);
    ck_assert_uint_lt(i, c.len);
    /* The inflater is usable again for the next message. */
    c.len = 0;
    ck_assert_int_eq(pmd_deflate_once(zeros, 1000, 15, 9, tbuf_sink, &c),
        PMD_OK);
    got = 0;
    ck_assert_int_eq(pmd_inflate(inf, c.p, c.len, 1, count_sink, &got,
                         bound), PMD_OK);
    ck_assert_uint_eq(got, 1000);
    pmd_inflater_free(inf);
    tbuf_reset(&c);
    free(zeros);
}
END_TEST

START_TEST(inflate_bound_is_exact)
{
    unsigned char msg[50000];
    struct tbuf c = {0}, out = {0};
    struct pmd_params pp = params(1, 0, 15, 15);
    struct pmd_inflater *inf = pmd_inflater_new(&pp);

    fill_text(msg, sizeof(msg), 1);
    ck_assert_int_eq(pmd_deflate_once(msg, sizeof(msg), 15, -1, tbuf_sink, &c),
        PMD_OK);
    ck_assert_int_eq(inflate_all(inf, c.p, c.len, &out, sizeof(msg)), PMD_OK);
    ck_assert_uint_eq(out.len, sizeof(msg));
    out.len = 0;
    ck_assert_int_eq(inflate_all(inf, c.p, c.len, &out, sizeof(msg) - 1),
        PMD_E_TOO_BIG);
    ck_assert_uint_le(out.len, sizeof(msg) - 1);
    out.len = 0;
    ck_assert_int_eq(inflate_all(inf, c.p, c.len, &out, 0), PMD_E_TOO_BIG);
    ck_assert_uint_eq(out.len, 0);
    pmd_inflater_free(inf);
    tbuf_reset(&c);
    tbuf_reset(&out);
}
END_TEST

START_TEST(inflate_corrupt_is_data_error)
{
    static const unsigned char reserved[] = {0x07, 0x00};  /* BTYPE 11 */
    static const unsigned char far[] = {0xf2, 0x00, 0x11, 0x00, 0x00};
    static const unsigned char bad_stored[] = {0x00, 0x05, 0x00, 0x00, 0x00};
    struct pmd_params pp = params(0, 0, 15, 15);
    struct pmd_inflater *inf = pmd_inflater_new(&pp);
    struct tbuf out = {0};
    unsigned char junk[256];

    ck_assert_int_eq(inflate_all(inf, reserved, sizeof(reserved), &out, 100),
        PMD_E_DATA);
    ck_assert_int_eq(inflate_all(inf, far, sizeof(far), &out, 100),
        PMD_E_DATA);
    ck_assert_int_eq(inflate_all(inf, bad_stored, sizeof(bad_stored), &out,
                         100), PMD_E_DATA);
    /* Truncated: the message stops inside a block. */
    ck_assert_int_eq(inflate_all(inf, rfc_hello, 4, &out, 100), PMD_E_DATA);
    fill_random(junk, sizeof(junk), 99);
    junk[0] = 0x06;     /* BFINAL 0, BTYPE 11: reserved */
    ck_assert_int_eq(inflate_all(inf, junk, sizeof(junk), &out, 1 << 20),
        PMD_E_DATA);
    /* Still usable afterwards. */
    out.len = 0;
    ck_assert_int_eq(inflate_all(inf, rfc_hello, sizeof(rfc_hello), &out,
                         100), PMD_OK);
    ck_assert_uint_eq(out.len, 5);
    pmd_inflater_free(inf);
    tbuf_reset(&out);
}
END_TEST

START_TEST(inflate_sink_refusal)
{
    struct pmd_params pp = params(1, 1, 15, 15);
    struct pmd_inflater *inf = pmd_inflater_new(&pp);
    struct tbuf out = {0};

    out.limit = 3;
    ck_assert_int_eq(inflate_all(inf, rfc_hello, sizeof(rfc_hello), &out,
                         100), PMD_E_SINK);
    ck_assert_int_eq(pmd_status_close_code(PMD_E_SINK), 1011);
    ck_assert_int_eq(pmd_inflate(inf, NULL, 0, 0, tbuf_sink, &out, 100),
        PMD_AGAIN);
    pmd_inflater_free(inf);
    pmd_inflater_free(NULL);
    tbuf_reset(&out);
}
END_TEST

/* ------------------------------------------------------------------ deflate */

START_TEST(deflate_hello_matches_rfc)
{
    struct tbuf c = {0};
    struct pmd_params pp = params(0, 0, 15, 15);
    struct pmd_deflater *d = pmd_deflater_new(&pp, -1);

    ck_assert_int_eq(pmd_deflate_once((const unsigned char *)"Hello", 5, 15,
                         -1, tbuf_sink, &c), PMD_OK);
    ck_assert_uint_eq(c.len, sizeof(rfc_hello));
    ck_assert_int_eq(memcmp(c.p, rfc_hello, c.len), 0);
    /* With context takeover the second "Hello" is a back-reference. */
    c.len = 0;
    ck_assert_int_eq(pmd_deflate_message(d, (const unsigned char *)"Hello",
                         5, tbuf_sink, &c), PMD_OK);
    ck_assert_int_eq(memcmp(c.p, rfc_hello, c.len), 0);
    c.len = 0;
    ck_assert_int_eq(pmd_deflate_message(d, (const unsigned char *)"Hello",
                         5, tbuf_sink, &c), PMD_OK);
    ck_assert_uint_lt(c.len, sizeof(rfc_hello));
    pmd_deflater_free(d);
    tbuf_reset(&c);
}
END_TEST

START_TEST(deflate_empty_message)
{
    struct tbuf c = {0}, out = {0};
    struct pmd_params pp = params(0, 0, 15, 15);
    struct pmd_deflater *d = pmd_deflater_new(&pp, 6);
    struct pmd_inflater *inf = pmd_inflater_new(&pp);
    int i;

    ck_assert_int_eq(pmd_deflate_once(NULL, 0, 15, -1, tbuf_sink, &c),
        PMD_OK);
    ck_assert_uint_eq(c.len, 1);
    ck_assert_uint_eq(c.p[0], 0x00);
    /* Empty messages between others keep the shared stream in step. */
    for (i = 0; i < 4; i++) {
        c.len = 0;
        out.len = 0;
        ck_assert_int_eq(pmd_deflate_message(d, (const unsigned char *)"ab",
                             (size_t)(i % 2) * 2, tbuf_sink, &c), PMD_OK);
        ck_assert_int_eq(inflate_all(inf, c.p, c.len, &out, 10), PMD_OK);
        ck_assert_uint_eq(out.len, (size_t)(i % 2) * 2);
    }
    pmd_deflater_free(d);
    pmd_inflater_free(inf);
    tbuf_reset(&c);
    tbuf_reset(&out);
}
END_TEST

static void
roundtrip(int ctx, int once, int bits, size_t size, int random)
{
    unsigned char *msg = malloc(size ? size : 1);
    struct pmd_params pp = params(!ctx, !ctx, bits, bits);
    struct pmd_deflater *d = pmd_deflater_new(&pp, once ? 1 : -1);
    struct pmd_inflater *inf = pmd_inflater_new(&pp);
    struct tbuf c = {0}, out = {0};
    unsigned m;

    ck_assert_ptr_nonnull(msg);
    ck_assert_ptr_nonnull(d);
    for (m = 0; m < 3; m++) {
        if (random)
            fill_random(msg, size, m + 1);
        else
            fill_text(msg, size, m);
        c.len = 0;
        out.len = 0;
        if (once)
            ck_assert_int_eq(pmd_deflate_once(msg, size, bits, 1, tbuf_sink,
                                 &c), PMD_OK);
        else
            ck_assert_int_eq(pmd_deflate_message(d, msg, size, tbuf_sink, &c),
                PMD_OK);
        ck_assert_uint_ge(c.len, 1);
        ck_assert_msg(c.len < 4 || memcmp(c.p + c.len - 4, "\0\0\xff\xff", 4)
            != 0, "tail not stripped");
        ck_assert_int_eq(inflate_all(inf, c.p, c.len, &out, size), PMD_OK);
        ck_assert_uint_eq(out.len, size);
        if (size)
            ck_assert_int_eq(memcmp(out.p, msg, size), 0);
    }
    pmd_deflater_free(d);
    pmd_inflater_free(inf);
    tbuf_reset(&c);
    tbuf_reset(&out);
    free(msg);
}

START_TEST(deflate_roundtrip_sizes)
{
    static const size_t sizes[] = {0, 1, 100, 64 << 10, 1 << 20};
    size_t i;
    int ctx, once, random;

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        for (random = 0; random < 2; random++)
            for (ctx = 0; ctx < 2; ctx++)
                for (once = 0; once <= !ctx; once++)
                    roundtrip(ctx, once, 15, sizes[i], random);
}
END_TEST

START_TEST(deflate_roundtrip_small_windows)
{
    int bits;

    for (bits = 9; bits <= 15; bits++) {
        roundtrip(1, 0, bits, 20000, 0);
        roundtrip(0, 1, bits, 20000, 0);
    }
}
END_TEST

START_TEST(deflate_window8_client_is_inflated_with_9)
{
    /* A zlib client that agreed to 8 actually deflates with 9. */
    unsigned char msg[4000];
    struct pmd_params pp = params(1, 0, 15, 8);
    struct pmd_inflater *inf = pmd_inflater_new(&pp);
    struct tbuf c = {0}, out = {0};

    fill_text(msg, sizeof(msg), 5);
    ck_assert_int_eq(pmd_deflate_once(msg, sizeof(msg), 9, -1, tbuf_sink, &c),
        PMD_OK);
    ck_assert_int_eq(inflate_all(inf, c.p, c.len, &out, sizeof(msg)), PMD_OK);
    ck_assert_int_eq(memcmp(out.p, msg, sizeof(msg)), 0);
    pmd_inflater_free(inf);
    tbuf_reset(&c);
    tbuf_reset(&out);
}
END_TEST

START_TEST(deflate_once_window_fits_the_message)
{
    /* Issue 18: a stream for one message is sized to it. */
    static const size_t sizes[] = {1, 250, 251, 423, 762, 763, 3000, 40000};
    unsigned char *msg = malloc(40000);
    struct pmd_params ctx = params(0, 0, 15, 15);
    struct tbuf once = {0}, full = {0}, out = {0};

    ck_assert_int_eq(pmd_once_window_bits(0, 15), 9);
    ck_assert_int_eq(pmd_once_window_bits(250, 15), 9);   /* 250+262=512 */
    ck_assert_int_eq(pmd_once_window_bits(251, 15), 10);
    ck_assert_int_eq(pmd_once_window_bits(423, 15), 10);
    ck_assert_int_eq(pmd_once_window_bits(763, 15), 11);
    ck_assert_int_eq(pmd_once_window_bits(40000, 15), 15);
    ck_assert_int_eq(pmd_once_window_bits(40000, 12), 12);
    ck_assert_int_eq(pmd_once_window_bits(40000, 99), 15);
    ck_assert_int_eq(pmd_once_window_bits(40000, 3), 9);
    ck_assert_ptr_nonnull(msg);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i];
        int bits = pmd_once_window_bits(n, 15);
        struct pmd_params pp = params(1, 1, 15, bits);
        struct pmd_inflater *inf = pmd_inflater_new(&pp);
        struct pmd_deflater *d = pmd_deflater_new(&ctx, -1);

        fill_text(msg, n, (unsigned)i);
        once.len = full.len = out.len = 0;
        ck_assert_int_eq(pmd_deflate_once(msg, n, 15, -1, tbuf_sink, &once),
            PMD_OK);
        /* A persistent window-15 stream's first message: the reference. */
        ck_assert_int_eq(pmd_deflate_message(d, msg, n, tbuf_sink, &full),
            PMD_OK);
        ck_assert_msg(once.len <= full.len + full.len / 50 + 2,
            "%zu bytes: %zu sized vs %zu full", n, once.len, full.len);
        ck_assert_int_eq(inflate_all(inf, once.p, once.len, &out, n), PMD_OK);
        ck_assert_uint_eq(out.len, n);
        ck_assert_int_eq(memcmp(out.p, msg, n), 0);
        pmd_inflater_free(inf);
        pmd_deflater_free(d);
    }
    tbuf_reset(&once);
    tbuf_reset(&full);
    tbuf_reset(&out);
    free(msg);
}
END_TEST

START_TEST(deflate_sink_refusal_and_params)
{
    unsigned char *msg = malloc(1 << 20);
    struct pmd_params pp = params(0, 0, 15, 15);
    struct pmd_deflater *d = pmd_deflater_new(&pp, -1);
    struct tbuf c = {0};

    ck_assert_ptr_nonnull(msg);
    fill_random(msg, 1 << 20, 42);
    c.limit = 100000;
    ck_assert_int_eq(pmd_deflate_message(d, msg, 1 << 20, tbuf_sink, &c),
        PMD_E_SINK);
    ck_assert_uint_gt(c.calls, 1);
    tbuf_reset(&c);
    c.limit = 1;
    ck_assert_int_eq(pmd_deflate_once(NULL, 0, 15, -1, tbuf_sink, &c),
        PMD_OK);
    ck_assert_int_eq(pmd_deflate_once(msg, 10, 15, -1, tbuf_sink, &c),
        PMD_E_SINK);
    ck_assert_int_eq(pmd_deflate_once(msg, 10, 8, -1, tbuf_sink, &c),
        PMD_E_PARAM);
    ck_assert_int_eq(pmd_deflate_once(msg, 10, 16, -1, tbuf_sink, &c),
        PMD_E_PARAM);
    ck_assert_int_eq(pmd_deflate_once(msg, 10, 15, 10, tbuf_sink, &c),
        PMD_E_PARAM);
    ck_assert_ptr_null(pmd_deflater_new(&pp, 10));
    ck_assert_ptr_null(pmd_deflater_new(&pp, -2));
    pmd_deflater_free(d);
    pmd_deflater_free(NULL);
    tbuf_reset(&c);
    free(msg);
}
END_TEST

START_TEST(status_codes_and_strings)
{
    int s;

    ck_assert_int_eq(pmd_status_close_code(PMD_OK), 0);
    ck_assert_int_eq(pmd_status_close_code(PMD_AGAIN), 0);
    ck_assert_int_eq(pmd_status_close_code(PMD_NONE), 0);
    ck_assert_int_eq(pmd_status_close_code(PMD_E_TOO_BIG), 1009);
    ck_assert_int_eq(pmd_status_close_code(PMD_E_DATA), 1002);
    ck_assert_int_eq(pmd_status_close_code(PMD_E_NOMEM), 1011);
    ck_assert_int_eq(pmd_status_close_code(PMD_E_PARAM), 1011);
    for (s = PMD_OK; s <= PMD_E_PARAM; s++)
        ck_assert_str_ne(pmd_status_str(s), "unknown status");
    ck_assert_str_eq(pmd_status_str(-1), "unknown status");
}
END_TEST

static Suite *
pmd_suite(void)
{
    Suite *s = suite_create("pmd");
    TCase *tn = tcase_create("negotiate");
    TCase *ti = tcase_create("inflate");
    TCase *td = tcase_create("deflate");

    tcase_add_test(tn, neg_plain_offer_gets_default_policy);
    tcase_add_test(tn, neg_browser_offer);
    tcase_add_test(tn, neg_rfc7692_examples);
    tcase_add_test(tn, neg_disabled_policy_is_none);
    tcase_add_test(tn, neg_rejects_bad_offers);
    tcase_add_test(tn, neg_takes_second_offer_when_first_unacceptable);
    tcase_add_test(tn, neg_accepts_ows_quotes_and_case);
    tcase_add_test(tn, neg_client_bits_only_when_offered);
    tcase_add_test(tn, neg_response_never_exceeds_offered_bits);
    tcase_add_test(tn, neg_small_response_buffer_is_none);
    suite_add_tcase(s, tn);

    tcase_add_test(ti, inflate_rfc7692_examples);
    tcase_add_test(ti, inflate_without_context_takeover_forgets_window);
    tcase_add_test(ti, inflate_every_split);
    tcase_add_test(ti, inflate_bomb_is_too_big_and_bounded);
    tcase_add_test(ti, inflate_bound_is_exact);
    tcase_add_test(ti, inflate_corrupt_is_data_error);
    tcase_add_test(ti, inflate_sink_refusal);
    suite_add_tcase(s, ti);

    tcase_add_test(td, deflate_hello_matches_rfc);
    tcase_add_test(td, deflate_empty_message);
    tcase_add_test(td, deflate_roundtrip_sizes);
    tcase_add_test(td, deflate_roundtrip_small_windows);
    tcase_add_test(td, deflate_window8_client_is_inflated_with_9);
    tcase_add_test(td, deflate_once_window_fits_the_message);
    tcase_add_test(td, deflate_sink_refusal_and_params);
    tcase_add_test(td, status_codes_and_strings);
    suite_add_tcase(s, td);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(pmd_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
