/*
 * Unit tests for common/hh: the HTTP/1.1 request-head parser and its
 * lookups. Every parse goes through parse(), which also feeds the same
 * bytes one at a time into exactly-sized buffers and checks that the result
 * is the same as one call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "hh.h"

#define MAX_HEAD 8192

/* Offset of p inside base, for comparing results from different buffers. */
static long
off(const char *base, const char *p)
{
    return p == NULL ? -1 : (long)(p - base);
}

/* Feed s[0..len) one byte at a time, each time in a fresh buffer of exactly
 * the bytes so far so ASan sees any read past len. */
static enum hh_status
parse_bytewise(const char *s, size_t len, size_t max, struct hh_req *out,
               char **bufp)
{
    struct hh_parser p;
    enum hh_status st = HH_AGAIN;
    char *buf = NULL;

    hh_parser_init(&p);
    for (size_t n = 1; n <= len; n++) {
        free(buf);
        buf = malloc(n);
        ck_assert_ptr_nonnull(buf);
        memcpy(buf, s, n);
        st = hh_parse(&p, buf, n, max, out);
        if (st != HH_AGAIN)
            break;
    }
    *bufp = buf;
    return st;
}

/* One-shot parse of s[0..len) into *out (pointing into s), checked against
 * the byte-at-a-time result. */
static enum hh_status
parse_n(const char *s, size_t len, size_t max, struct hh_req *out)
{
    struct hh_parser p = {0};
    struct hh_req b;
    enum hh_status st, stb;
    char *buf = NULL;

    st = hh_parse(&p, s, len, max, out);
    /* a repeated call with the same bytes gives the same answer */
    ck_assert_int_eq(hh_parse(&p, s, len, max, &b), st);
    stb = parse_bytewise(s, len, max, &b, &buf);
    ck_assert_int_eq(stb, st);
    if (st == HH_OK) {
        ck_assert_uint_eq(b.head_len, out->head_len);
        ck_assert_uint_eq(b.nheaders, out->nheaders);
        ck_assert_int_eq(b.minor_version, out->minor_version);
        ck_assert_int_eq(off(buf, b.method), off(s, out->method));
        ck_assert_int_eq(off(buf, b.path), off(s, out->path));
        ck_assert_uint_eq(b.path_len, out->path_len);
        ck_assert_int_eq(off(buf, b.query), off(s, out->query));
        ck_assert_uint_eq(b.query_len, out->query_len);
        for (size_t i = 0; i < b.nheaders; i++) {
            ck_assert_int_eq(off(buf, b.headers[i].name),
                             off(s, out->headers[i].name));
            ck_assert_int_eq(off(buf, b.headers[i].value),
                             off(s, out->headers[i].value));
            ck_assert_uint_eq(b.headers[i].value_len,
                              out->headers[i].value_len);
        }
    }
    free(buf);
    return st;
}

static enum hh_status
parse(const char *s, struct hh_req *out)
{
    return parse_n(s, strlen(s), MAX_HEAD, out);
}

static enum hh_status
status_of(const char *s)
{
    struct hh_req r;

    return parse(s, &r);
}

/* Does (p, n) equal the C string want? */
static int
eq(const char *p, size_t n, const char *want)
{
    return p != NULL && n == strlen(want) && memcmp(p, want, n) == 0;
}

#define HOST "Host: example.com\r\n"

START_TEST(hh_parses_simple_get)
{
    const char *s = "GET /ws HTTP/1.1\r\n" HOST "Upgrade: websocket\r\n\r\n";
    struct hh_req r;

    ck_assert_int_eq(parse(s, &r), HH_OK);
    ck_assert(eq(r.method, r.method_len, "GET"));
    ck_assert(eq(r.target, r.target_len, "/ws"));
    ck_assert(eq(r.path, r.path_len, "/ws"));
    ck_assert_ptr_null(r.query);
    ck_assert_uint_eq(r.query_len, 0);
    ck_assert_int_eq(r.minor_version, 1);
    ck_assert_uint_eq(r.nheaders, 2);
    ck_assert(eq(r.headers[0].name, r.headers[0].name_len, "Host"));
    ck_assert(eq(r.headers[0].value, r.headers[0].value_len, "example.com"));
    ck_assert(eq(r.headers[1].name, r.headers[1].name_len, "Upgrade"));
    ck_assert(eq(r.headers[1].value, r.headers[1].value_len, "websocket"));
    ck_assert_uint_eq(r.head_len, strlen(s));
}
END_TEST

START_TEST(hh_splits_target_at_question_mark)
{
    struct hh_req r;
    const char *s = "GET /socket.io/?EIO=4&transport=polling&t=N8hyd6w "
                    "HTTP/1.1\r\n" HOST "\r\n";

    ck_assert_int_eq(parse(s, &r), HH_OK);
    ck_assert(eq(r.path, r.path_len, "/socket.io/"));
    ck_assert(eq(r.query, r.query_len, "EIO=4&transport=polling&t=N8hyd6w"));
    ck_assert(eq(r.target, r.target_len,
                 "/socket.io/?EIO=4&transport=polling&t=N8hyd6w"));

    ck_assert_int_eq(parse("GET /a? HTTP/1.1\r\n" HOST "\r\n", &r), HH_OK);
    ck_assert(eq(r.path, r.path_len, "/a"));
    ck_assert_ptr_nonnull(r.query);
    ck_assert_uint_eq(r.query_len, 0);

    ck_assert_int_eq(parse("GET /a?b?c HTTP/1.1\r\n" HOST "\r\n", &r), HH_OK);
    ck_assert(eq(r.path, r.path_len, "/a"));
    ck_assert(eq(r.query, r.query_len, "b?c"));

    ck_assert_int_eq(parse("OPTIONS * HTTP/1.1\r\n" HOST "\r\n", &r), HH_OK);
    ck_assert(eq(r.path, r.path_len, "*"));
}
END_TEST

START_TEST(hh_accepts_http10_without_host)
{
    struct hh_req r;

    ck_assert_int_eq(parse("GET / HTTP/1.0\r\n\r\n", &r), HH_OK);
    ck_assert_int_eq(r.minor_version, 0);
    ck_assert_uint_eq(r.nheaders, 0);
}
END_TEST

START_TEST(hh_trims_optional_whitespace_in_values)
{
    struct hh_req r;
    const char *s = "GET / HTTP/1.1\r\n" HOST "A: \t x y \t\r\nB:\r\n"
                    "C:   \r\nD:v\r\nE: caf\xc3\xa9\r\n\r\n";

    ck_assert_int_eq(parse(s, &r), HH_OK);
    ck_assert_uint_eq(r.nheaders, 6);
    ck_assert(eq(r.headers[1].value, r.headers[1].value_len, "x y"));
    ck_assert_uint_eq(r.headers[2].value_len, 0);
    ck_assert_uint_eq(r.headers[3].value_len, 0);
    ck_assert(eq(r.headers[4].value, r.headers[4].value_len, "v"));
    /* obs-text (bytes >= 0x80) is allowed in values */
    ck_assert(eq(r.headers[5].value, r.headers[5].value_len, "caf\xc3\xa9"));
}
END_TEST

START_TEST(hh_preserves_bytes_after_head)
{
    struct hh_req r;
    const char head[] = "POST /socket.io/?EIO=4&transport=polling&sid=x "
                        "HTTP/1.1\r\n" HOST "Content-Length: 5\r\n\r\n";
    const char s[] = "POST /socket.io/?EIO=4&transport=polling&sid=x "
                     "HTTP/1.1\r\n" HOST "Content-Length: 5\r\n\r\n"
                     "4helloGET /next";

    ck_assert_int_eq(parse(s, &r), HH_OK);
    ck_assert_uint_eq(r.head_len, sizeof(head) - 1);
    ck_assert(eq(s + r.head_len, strlen(s) - r.head_len, "4helloGET /next"));
    ck_assert(eq(r.method, r.method_len, "POST"));
}
END_TEST

START_TEST(hh_skips_leading_empty_lines)
{
    struct hh_req r;
    const char *s = "\r\n\r\nGET / HTTP/1.1\r\n" HOST "\r\n";

    ck_assert_int_eq(parse(s, &r), HH_OK);
    ck_assert(eq(r.method, r.method_len, "GET"));
    ck_assert_uint_eq(r.head_len, strlen(s));
}
END_TEST

START_TEST(hh_needs_more_bytes_for_partial_head)
{
    const char *s = "GET / HTTP/1.1\r\n" HOST "\r\n";
    struct hh_parser p = {0};
    struct hh_req r;

    for (size_t n = 0; n < strlen(s); n++) {
        hh_parser_init(&p);
        ck_assert_int_eq(hh_parse(&p, s, n, MAX_HEAD, &r), HH_AGAIN);
    }
    ck_assert_int_eq(hh_parse(&p, s, strlen(s), MAX_HEAD, &r), HH_OK);
}
END_TEST

START_TEST(hh_restarts_when_buffer_shrinks)
{
    const char *s = "GET / HTTP/1.1\r\n" HOST "\r\n";
    struct hh_parser p = {0};
    struct hh_req r;

    ck_assert_int_eq(hh_parse(&p, s, 20, MAX_HEAD, &r), HH_AGAIN);
    ck_assert_int_eq(hh_parse(&p, "GET /", 5, MAX_HEAD, &r), HH_AGAIN);
    ck_assert_int_eq(hh_parse(&p, s, strlen(s), MAX_HEAD, &r), HH_OK);
}
END_TEST

START_TEST(hh_chunked_feed_matches_one_shot)
{
    /* parse() checks byte-at-a-time against one shot for every case;
     * here a valid request is also fed in uneven chunks. */
    const char *s =
        "GET /ws?x=1 HTTP/1.1\r\n" HOST "Connection: keep-alive, Upgrade\r\n"
        "Upgrade: websocket\r\n\r\nrest";
    size_t len = strlen(s);

    for (size_t a = 0; a <= len; a += 3) {
        for (size_t b = a; b <= len; b += 7) {
            struct hh_parser p = {0};
            struct hh_req r;
            enum hh_status st = hh_parse(&p, s, a, MAX_HEAD, &r);

            if (st == HH_AGAIN)
                st = hh_parse(&p, s, b, MAX_HEAD, &r);
            if (st == HH_AGAIN)
                st = hh_parse(&p, s, len, MAX_HEAD, &r);
            ck_assert_int_eq(st, HH_OK);
            ck_assert_uint_eq(r.head_len, len - 4);
            ck_assert_uint_eq(r.nheaders, 3);
        }
    }
}
END_TEST

/* Build a GET head of exactly total bytes by padding one header value. */
static char *
head_of_size(size_t total)
{
    const char *pre = "GET / HTTP/1.1\r\n" HOST "X-Pad: ";
    const char *post = "\r\n\r\n";
    size_t fixed = strlen(pre) + strlen(post);
    char *s;

    ck_assert_uint_gt(total, fixed);
    s = malloc(total + 1);
    ck_assert_ptr_nonnull(s);
    memcpy(s, pre, strlen(pre));
    memset(s + strlen(pre), 'a', total - fixed);
    memcpy(s + total - strlen(post), post, strlen(post) + 1);
    return s;
}

START_TEST(hh_accepts_head_exactly_at_limit)
{
    char *s = head_of_size(200);
    struct hh_req r;

    ck_assert_uint_eq(strlen(s), 200);
    ck_assert_int_eq(parse_n(s, 200, 200, &r), HH_OK);
    ck_assert_uint_eq(r.head_len, 200);
    free(s);
}
END_TEST

START_TEST(hh_rejects_head_one_byte_over_limit)
{
    char *s = head_of_size(201);
    struct hh_req r;

    ck_assert_int_eq(parse_n(s, 201, 200, &r), HH_E_TOO_LARGE);
    /* also when only the first max_head bytes have arrived */
    ck_assert_int_eq(parse_n(s, 200, 200, &r), HH_E_TOO_LARGE);
    ck_assert_int_eq(parse_n(s, 199, 200, &r), HH_AGAIN);
    free(s);
}
END_TEST

START_TEST(hh_rejects_oversized_before_head_is_complete)
{
    char *s = head_of_size(5000);
    struct hh_parser p = {0};
    struct hh_req r;

    ck_assert_int_eq(hh_parse(&p, s, 4000, 1024, &r), HH_E_TOO_LARGE);
    free(s);
}
END_TEST

START_TEST(hh_allows_trailing_bytes_beyond_limit)
{
    /* the limit applies to the head; later bytes (a frame) don't count */
    char *h = head_of_size(200);
    char s[300];
    struct hh_req r;

    memcpy(s, h, 200);
    memset(s + 200, 'z', 100);
    ck_assert_int_eq(parse_n(s, 300, 200, &r), HH_OK);
    ck_assert_uint_eq(r.head_len, 200);
    free(h);
}
END_TEST

/* A request with n headers (Host first, then X-H<i>). */
static char *
head_with_headers(size_t n)
{
    size_t cap = 64 + n * 32, len;
    char *s = malloc(cap);

    ck_assert_ptr_nonnull(s);
    strcpy(s, "GET / HTTP/1.1\r\n" HOST);
    for (size_t i = 1; i < n; i++) {
        len = strlen(s);
        snprintf(s + len, cap - len, "X-H%zu: %zu\r\n", i, i);
    }
    strcat(s, "\r\n");
    return s;
}

START_TEST(hh_accepts_64_headers)
{
    char *s = head_with_headers(HH_MAX_HEADERS);
    struct hh_req r;

    ck_assert_int_eq(parse(s, &r), HH_OK);
    ck_assert_uint_eq(r.nheaders, 64);
    ck_assert(eq(r.headers[63].name, r.headers[63].name_len, "X-H63"));
    free(s);
}
END_TEST

START_TEST(hh_rejects_65_headers)
{
    char *s = head_with_headers(HH_MAX_HEADERS + 1);

    ck_assert_int_eq(status_of(s), HH_E_TOO_LARGE);
    free(s);
}
END_TEST

START_TEST(hh_rejects_obs_fold)
{
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\n" HOST "X: a\r\n b\r\n\r\n"),
                     HH_E_BAD_REQUEST);
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\n" HOST "X: a\r\n\tb\r\n\r\n"),
                     HH_E_BAD_REQUEST);
    /* whitespace before the first header line (RFC 9112 §2.2) */
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\n " HOST "\r\n"),
                     HH_E_BAD_REQUEST);
}
END_TEST

START_TEST(hh_rejects_bare_lf)
{
    ck_assert_int_eq(status_of("GET / HTTP/1.1\n" HOST "\r\n"),
                     HH_E_BAD_REQUEST);
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\n" HOST "\n"),
                     HH_E_BAD_REQUEST);
    ck_assert_int_eq(status_of("\nGET / HTTP/1.1\r\n" HOST "\r\n"),
                     HH_E_BAD_REQUEST);
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nX: a\nb\r\n" HOST "\r\n"),
                     HH_E_BAD_REQUEST);
}
END_TEST

START_TEST(hh_rejects_bare_lf_before_head_is_complete)
{
    struct hh_parser p = {0};
    struct hh_req r;

    ck_assert_int_eq(hh_parse(&p, "GET / HTTP/1.1\nHo", 17, MAX_HEAD, &r),
                     HH_E_BAD_REQUEST);
}
END_TEST

START_TEST(hh_rejects_bare_cr)
{
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r" HOST "\r\n"),
                     HH_E_BAD_REQUEST);
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nX: a\rb\r\n" HOST "\r\n"),
                     HH_E_BAD_REQUEST);
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\n" HOST "\r\r\n"),
                     HH_E_BAD_REQUEST);
}
END_TEST

START_TEST(hh_rejects_header_without_colon)
{
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\n" HOST "Upgrade\r\n\r\n"),
                     HH_E_BAD_REQUEST);
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\n" HOST ": v\r\n\r\n"),
                     HH_E_BAD_REQUEST);
}
END_TEST

START_TEST(hh_rejects_whitespace_before_colon)
{
    ck_assert_int_eq(
        status_of("GET / HTTP/1.1\r\n" HOST "Upgrade : websocket\r\n\r\n"),
        HH_E_BAD_REQUEST);
    ck_assert_int_eq(
        status_of("GET / HTTP/1.1\r\n" HOST "Upgrade\t: websocket\r\n\r\n"),
        HH_E_BAD_REQUEST);
}
END_TEST

START_TEST(hh_rejects_bad_header_name_chars)
{
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\n" HOST "X(y): 1\r\n\r\n"),
                     HH_E_BAD_REQUEST);
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\n" HOST "X\"y: 1\r\n\r\n"),
                     HH_E_BAD_REQUEST);
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\n" HOST "X\xc3y: 1\r\n\r\n"),
                     HH_E_BAD_REQUEST);
    /* every tchar is fine */
    ck_assert_int_eq(
        status_of("GET / HTTP/1.1\r\n" HOST "!#$%&'*+-.^_`|~09aZ: 1\r\n\r\n"),
        HH_OK);
}
END_TEST

START_TEST(hh_rejects_control_chars)
{
    static const char nul[] = "GET / HTTP/1.1\r\nX: a\0b\r\n" HOST "\r\n";
    struct hh_req r;

    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\n" HOST "X: a\x01b\r\n\r\n"),
                     HH_E_BAD_REQUEST);
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\n" HOST "X: a\x7f\r\n\r\n"),
                     HH_E_BAD_REQUEST);
    ck_assert_int_eq(parse_n(nul, sizeof(nul) - 1, MAX_HEAD, &r),
                     HH_E_BAD_REQUEST);
    ck_assert_int_eq(status_of("GET /\x1b HTTP/1.1\r\n" HOST "\r\n"),
                     HH_E_BAD_REQUEST);
    /* HTAB inside a value is fine */
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\n" HOST "X: a\tb\r\n\r\n"),
                     HH_OK);
}
END_TEST

START_TEST(hh_rejects_bad_method)
{
    ck_assert_int_eq(status_of("G(T / HTTP/1.1\r\n" HOST "\r\n"),
                     HH_E_BAD_REQUEST);
    ck_assert_int_eq(status_of(" GET / HTTP/1.1\r\n" HOST "\r\n"),
                     HH_E_BAD_REQUEST);
    ck_assert_int_eq(status_of("G\xc3T / HTTP/1.1\r\n" HOST "\r\n"),
                     HH_E_BAD_REQUEST);
}
END_TEST

START_TEST(hh_rejects_malformed_request_line)
{
    static const char *const bad[] = {
        "GET  / HTTP/1.1\r\n" HOST "\r\n",
        "GET /  HTTP/1.1\r\n" HOST "\r\n",
        "GET / HTTP/1.1 \r\n" HOST "\r\n",
        "GET\t/ HTTP/1.1\r\n" HOST "\r\n",
        "GET /\tHTTP/1.1\r\n" HOST "\r\n",
        "GET HTTP/1.1\r\n" HOST "\r\n",
        "GET /\r\n" HOST "\r\n",
        "GET\r\n" HOST "\r\n",
        "GET / http/1.1\r\n" HOST "\r\n",
        "GET / HTTP/1.10\r\n" HOST "\r\n",
        "GET / HTTP/1\r\n" HOST "\r\n",
        "GET / HTTP/a.1\r\n" HOST "\r\n",
        "GET / HTTP/1,1\r\n" HOST "\r\n",
        "GET / HTTPS/1.1\r\n" HOST "\r\n",
        "GET /caf\xc3\xa9 HTTP/1.1\r\n" HOST "\r\n",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(status_of(bad[i]) == HH_E_BAD_REQUEST, "case %zu", i);
}
END_TEST

START_TEST(hh_rejects_unsupported_version)
{
    ck_assert_int_eq(status_of("GET / HTTP/2.0\r\n" HOST "\r\n"), HH_E_VERSION);
    ck_assert_int_eq(status_of("GET / HTTP/1.2\r\n" HOST "\r\n"), HH_E_VERSION);
    ck_assert_int_eq(status_of("GET / HTTP/0.9\r\n" HOST "\r\n"), HH_E_VERSION);
    ck_assert_int_eq(status_of("GET / HTTP/3.0\r\n\r\n"), HH_E_VERSION);
}
END_TEST

START_TEST(hh_rejects_http11_without_host)
{
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nX: y\r\n\r\n"),
                     HH_E_BAD_REQUEST);
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\n\r\n"), HH_E_BAD_REQUEST);
}
END_TEST

START_TEST(hh_rejects_duplicate_host)
{
    ck_assert_int_eq(status_of("GET / HTTP/1.1\r\n" HOST "host: b\r\n\r\n"),
                     HH_E_BAD_REQUEST);
    ck_assert_int_eq(status_of("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"),
                     HH_E_BAD_REQUEST);
}
END_TEST

START_TEST(hh_header_lookup_is_case_insensitive)
{
    struct hh_req r;
    const char *v;
    size_t n = 99;

    ck_assert_int_eq(
        parse("GET / HTTP/1.1\r\n" HOST "SEC-WebSocket-KEY: abc\r\n\r\n", &r),
        HH_OK);
    v = hh_header(&r, "sec-websocket-key", &n);
    ck_assert(eq(v, n, "abc"));
    ck_assert_ptr_eq(hh_header(&r, "Sec-WebSocket-Key", NULL), v);
    ck_assert_ptr_eq(hh_header(&r, "HOST", NULL), r.headers[0].value);
    ck_assert_ptr_null(hh_header(&r, "sec-websocket-ke", &n));
    ck_assert_ptr_null(hh_header(&r, "origin", &n));
}
END_TEST

START_TEST(hh_counts_duplicate_headers)
{
    struct hh_req r;
    const char *v;
    size_t n;

    ck_assert_int_eq(parse("GET / HTTP/1.1\r\n" HOST "X-A: 1\r\nx-a: 2\r\n"
                           "Y: q\r\nX-a: 3\r\n\r\n",
                           &r),
                     HH_OK);
    ck_assert_uint_eq(hh_header_count(&r, "X-A"), 3);
    ck_assert_uint_eq(hh_header_count(&r, "y"), 1);
    ck_assert_uint_eq(hh_header_count(&r, "z"), 0);
    v = hh_header(&r, "x-a", &n);
    ck_assert(eq(v, n, "1"));
    v = hh_header_nth(&r, "x-a", 2, &n);
    ck_assert(eq(v, n, "3"));
    ck_assert_ptr_null(hh_header_nth(&r, "x-a", 3, &n));
}
END_TEST

START_TEST(hh_has_token_tolerates_spacing_and_case)
{
    static const char *const yes[] = {
        "Upgrade",
        "upgrade",
        "keep-alive, Upgrade",
        "keep-alive,Upgrade",
        " ,UPGRADE , ",
        "a,\tuPgRaDe\t,b",
        ",,upgrade,,",
        "Upgrade, close",
    };
    static const char *const no[] = {
        "",         "keep-alive", "upgrade-insecure", "upgrades", "up grade",
        "xupgrade", ", ,",        "\"upgrade\"",
    };

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        ck_assert_msg(hh_has_token(yes[i], strlen(yes[i]), "upgrade"), "'%s'",
                      yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        ck_assert_msg(!hh_has_token(no[i], strlen(no[i]), "upgrade"), "'%s'",
                      no[i]);
    /* only len bytes count */
    ck_assert(!hh_has_token("upgrade", 6, "upgrade"));
}
END_TEST

START_TEST(hh_header_has_token_spans_lines)
{
    struct hh_req r;

    ck_assert_int_eq(parse("GET / HTTP/1.1\r\n" HOST
                           "Connection: keep-alive\r\n"
                           "Connection: Upgrade\r\n\r\n",
                           &r),
                     HH_OK);
    ck_assert(hh_header_has_token(&r, "connection", "upgrade"));
    ck_assert(hh_header_has_token(&r, "CONNECTION", "Keep-Alive"));
    ck_assert(!hh_header_has_token(&r, "connection", "close"));
    ck_assert(!hh_header_has_token(&r, "upgrade", "websocket"));
}
END_TEST

START_TEST(hh_query_param_finds_raw_values)
{
    struct hh_req r;
    const char *v;
    size_t n = 99;

    ck_assert_int_eq(parse("GET /socket.io/?EIO=4&transport=polling&sid=a%2Fb"
                           "&flag&empty=&sid=second HTTP/1.1\r\n" HOST "\r\n",
                           &r),
                     HH_OK);
    v = hh_query_param(&r, "EIO", &n);
    ck_assert(eq(v, n, "4"));
    v = hh_query_param(&r, "transport", &n);
    ck_assert(eq(v, n, "polling"));
    v = hh_query_param(&r, "sid", &n);
    ck_assert(eq(v, n, "a%2Fb")); /* first one, not percent-decoded */
    v = hh_query_param(&r, "flag", &n);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(n, 0);
    v = hh_query_param(&r, "empty", &n);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(hh_query_param(&r, "si", &n));
    ck_assert_ptr_null(hh_query_param(&r, "eio", &n)); /* case-sensitive */
    ck_assert_ptr_null(hh_query_param(&r, "t", NULL));
}
END_TEST

START_TEST(hh_query_param_without_query_is_null)
{
    struct hh_req r;
    size_t n;

    ck_assert_int_eq(parse("GET /ws HTTP/1.1\r\n" HOST "\r\n", &r), HH_OK);
    ck_assert_ptr_null(hh_query_param(&r, "sid", &n));
    ck_assert_int_eq(parse("GET /ws? HTTP/1.1\r\n" HOST "\r\n", &r), HH_OK);
    ck_assert_ptr_null(hh_query_param(&r, "sid", &n));
    ck_assert_int_eq(parse("GET /ws?sid HTTP/1.1\r\n" HOST "\r\n", &r), HH_OK);
    ck_assert_ptr_nonnull(hh_query_param(&r, "sid", &n));
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(hh_maps_status_codes)
{
    ck_assert_int_eq(hh_status_code(HH_OK), 200);
    ck_assert_int_eq(hh_status_code(HH_AGAIN), 0);
    ck_assert_int_eq(hh_status_code(HH_E_BAD_REQUEST), 400);
    ck_assert_int_eq(hh_status_code(HH_E_TOO_LARGE), 431);
    ck_assert_int_eq(hh_status_code(HH_E_VERSION), 505);
    ck_assert_str_eq(hh_status_code_str(HH_E_BAD_REQUEST), "BAD_REQUEST");
    ck_assert_str_eq(hh_status_code_str(HH_E_TOO_LARGE), "HEADERS_TOO_LARGE");
    ck_assert_str_eq(hh_status_code_str(HH_E_VERSION), "HTTP_VERSION");
    ck_assert_str_eq(hh_status_str(HH_E_TOO_LARGE),
                     "Request Header Fields Too Large");
    ck_assert_str_eq(hh_status_str(HH_E_VERSION), "HTTP Version Not Supported");
    ck_assert_str_eq(hh_status_str(HH_E_BAD_REQUEST), "Bad Request");
}
END_TEST

static Suite *
hh_suite(void)
{
    Suite *s = suite_create("hh");
    TCase *tc;

    tc = tcase_create("parse");
    tcase_add_test(tc, hh_parses_simple_get);
    tcase_add_test(tc, hh_splits_target_at_question_mark);
    tcase_add_test(tc, hh_accepts_http10_without_host);
    tcase_add_test(tc, hh_trims_optional_whitespace_in_values);
    tcase_add_test(tc, hh_preserves_bytes_after_head);
    tcase_add_test(tc, hh_skips_leading_empty_lines);
    tcase_add_test(tc, hh_needs_more_bytes_for_partial_head);
    tcase_add_test(tc, hh_restarts_when_buffer_shrinks);
    tcase_add_test(tc, hh_chunked_feed_matches_one_shot);
    suite_add_tcase(s, tc);

    tc = tcase_create("limits");
    tcase_add_test(tc, hh_accepts_head_exactly_at_limit);
    tcase_add_test(tc, hh_rejects_head_one_byte_over_limit);
    tcase_add_test(tc, hh_rejects_oversized_before_head_is_complete);
    tcase_add_test(tc, hh_allows_trailing_bytes_beyond_limit);
    tcase_add_test(tc, hh_accepts_64_headers);
    tcase_add_test(tc, hh_rejects_65_headers);
    suite_add_tcase(s, tc);

    tc = tcase_create("reject");
    tcase_add_test(tc, hh_rejects_obs_fold);
    tcase_add_test(tc, hh_rejects_bare_lf);
    tcase_add_test(tc, hh_rejects_bare_lf_before_head_is_complete);
    tcase_add_test(tc, hh_rejects_bare_cr);
    tcase_add_test(tc, hh_rejects_header_without_colon);
    tcase_add_test(tc, hh_rejects_whitespace_before_colon);
    tcase_add_test(tc, hh_rejects_bad_header_name_chars);
    tcase_add_test(tc, hh_rejects_control_chars);
    tcase_add_test(tc, hh_rejects_bad_method);
    tcase_add_test(tc, hh_rejects_malformed_request_line);
    tcase_add_test(tc, hh_rejects_unsupported_version);
    tcase_add_test(tc, hh_rejects_http11_without_host);
    tcase_add_test(tc, hh_rejects_duplicate_host);
    suite_add_tcase(s, tc);

    tc = tcase_create("lookup");
    tcase_add_test(tc, hh_header_lookup_is_case_insensitive);
    tcase_add_test(tc, hh_counts_duplicate_headers);
    tcase_add_test(tc, hh_has_token_tolerates_spacing_and_case);
    tcase_add_test(tc, hh_header_has_token_spans_lines);
    tcase_add_test(tc, hh_query_param_finds_raw_values);
    tcase_add_test(tc, hh_query_param_without_query_is_null);
    suite_add_tcase(s, tc);

    tc = tcase_create("status");
    tcase_add_test(tc, hh_maps_status_codes);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(hh_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
