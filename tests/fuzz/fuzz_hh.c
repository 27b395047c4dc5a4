/*
 * libFuzzer harness for common/hh and common/wsh: parses the input in one
 * call and again fed in up to three pieces (split points derived from the
 * input), each piece in an exactly-sized copy so ASan sees reads past len.
 * Both runs must agree, every pointer returned must lie inside the head,
 * and an OK head goes through wsh_check and the lookups.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hh.h"
#include "wsh.h"

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "fuzz_hh: %s:%d: %s\n", __FILE__, __LINE__, #c);   \
            abort();                                                           \
        }                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* p[0..n) lies inside base[0..len); NULL is fine when n is 0. */
static void
check_span(const char *base, size_t len, const char *p, size_t n)
{
    if (p == NULL) {
        CHECK(n == 0);
        return;
    }
    CHECK(p >= base && p <= base + len);
    CHECK(n <= (size_t)(base + len - p));
}

static long
off(const char *base, const char *p)
{
    return p == NULL ? -1 : (long)(p - base);
}

static void
check_req(const char *buf, const struct hh_req *r)
{
    size_t hl = r->head_len, n;
    const char *v;

    CHECK(hl >= 4 && memcmp(buf + hl - 4, "\r\n\r\n", 4) == 0);
    CHECK(r->minor_version == 0 || r->minor_version == 1);
    CHECK(r->nheaders <= HH_MAX_HEADERS);
    check_span(buf, hl, r->method, r->method_len);
    check_span(buf, hl, r->target, r->target_len);
    check_span(buf, hl, r->path, r->path_len);
    check_span(buf, hl, r->query, r->query_len);
    CHECK(r->method_len > 0 && r->target_len > 0);
    for (size_t i = 0; i < r->nheaders; i++) {
        check_span(buf, hl, r->headers[i].name, r->headers[i].name_len);
        check_span(buf, hl, r->headers[i].value, r->headers[i].value_len);
        CHECK(r->headers[i].name_len > 0);
        (void)hh_has_token(r->headers[i].value, r->headers[i].value_len,
                           "upgrade");
    }
    v = hh_query_param(r, "sid", &n);
    check_span(buf, hl, v, v == NULL ? 0 : n);
    v = hh_header(r, "connection", &n);
    check_span(buf, hl, v, v == NULL ? 0 : n);
}

static void
check_same(const char *a, const struct hh_req *ra, const char *b,
           const struct hh_req *rb)
{
    CHECK(ra->head_len == rb->head_len);
    CHECK(ra->nheaders == rb->nheaders);
    CHECK(ra->minor_version == rb->minor_version);
    CHECK(off(a, ra->method) == off(b, rb->method));
    CHECK(ra->method_len == rb->method_len);
    CHECK(off(a, ra->target) == off(b, rb->target));
    CHECK(ra->target_len == rb->target_len);
    CHECK(off(a, ra->query) == off(b, rb->query));
    CHECK(ra->query_len == rb->query_len);
    for (size_t i = 0; i < ra->nheaders; i++) {
        CHECK(off(a, ra->headers[i].name) == off(b, rb->headers[i].name));
        CHECK(off(a, ra->headers[i].value) == off(b, rb->headers[i].value));
        CHECK(ra->headers[i].value_len == rb->headers[i].value_len);
    }
}

static void
check_ws(const char *buf, const struct hh_req *r)
{
    static const char *const lists[] = {NULL, "*",
                                        "https://a.example, http://b:1"};
    struct wsh_result res;
    char acc[WSH_ACCEPT_SIZE];
    size_t hl = r->head_len;

    (void)wsh_is_upgrade(r);
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        enum wsh_status st = wsh_check(r, lists[i], &res);

        CHECK(wsh_status_code(st) >= 101 && wsh_status_code(st) <= 426);
        CHECK(wsh_status_code_str(st) != NULL);
        if (st != WSH_OK) {
            CHECK(res.key == NULL && res.origin == NULL);
            continue;
        }
        CHECK(res.key_len == 24);
        check_span(buf, hl, res.key, res.key_len);
        check_span(buf, hl, res.extensions, res.extensions_len);
        check_span(buf, hl, res.protocol, res.protocol_len);
        check_span(buf, hl, res.origin, res.origin_len);
        CHECK(wsh_accept(res.key, res.key_len, acc) == 0);
        CHECK(strlen(acc) == WSH_ACCEPT_LEN);
    }
}

/* Feed data in pieces ending at cut[0], cut[1], size; each call gets a
 * fresh buffer holding exactly the bytes so far. *bufp keeps the last. */
static enum hh_status
parse_pieces(const uint8_t *data, size_t size, const size_t cut[2],
             size_t max_head, struct hh_req *r, char **bufp)
{
    struct hh_parser p;
    size_t ends[3] = {cut[0], cut[1], size};
    enum hh_status st = HH_AGAIN;
    char *buf = NULL;

    hh_parser_init(&p);
    for (size_t i = 0; i < 3; i++) {
        free(buf);
        buf = malloc(ends[i] ? ends[i] : 1);
        CHECK(buf != NULL);
        if (ends[i] > 0)
            memcpy(buf, data, ends[i]);
        st = hh_parse(&p, buf, ends[i], max_head, r);
        if (st != HH_AGAIN)
            break;
    }
    *bufp = buf;
    return st;
}

static void
run(const uint8_t *data, size_t size, size_t max_head)
{
    struct hh_parser p = {0};
    struct hh_req r1, r2;
    enum hh_status s1, s2;
    char *one = malloc(size ? size : 1), *pieces = NULL;
    size_t h = 5381, cut[2];

    CHECK(one != NULL);
    if (size > 0)
        memcpy(one, data, size);
    s1 = hh_parse(&p, one, size, max_head, &r1);
    CHECK(s1 == HH_OK || s1 == HH_AGAIN || s1 == HH_E_BAD_REQUEST ||
          s1 == HH_E_TOO_LARGE || s1 == HH_E_VERSION);
    CHECK(hh_status_code_str(s1) != NULL && hh_status_str(s1) != NULL);
    /* a repeated call with the same bytes gives the same answer */
    CHECK(hh_parse(&p, one, size, max_head, &r2) == s1);

    for (size_t i = 0; i < size; i++)
        h = h * 33 + data[i];
    cut[0] = h % (size + 1);
    cut[1] = cut[0] + (h / 7919) % (size - cut[0] + 1);
    s2 = parse_pieces(data, size, cut, max_head, &r2, &pieces);
    CHECK(s1 == s2);

    if (s1 == HH_OK) {
        CHECK(r1.head_len <= size && r1.head_len <= max_head);
        check_req(one, &r1);
        check_req(pieces, &r2);
        check_same(one, &r1, pieces, &r2);
        check_ws(one, &r1);
    } else if (s1 == HH_AGAIN) {
        CHECK(size < max_head);
    }
    free(pieces);
    free(one);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(data, size, 8192);
    /* and with a limit inside the input, to reach the 431 paths */
    if (size > 0)
        run(data, size, size - size / 4);
    return 0;
}
