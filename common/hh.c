/*
 * hh: the HTTP/1.1 request-head parser (RFC 9112) the public port uses for
 * WebSocket upgrades and Engine.IO polling, plus lookups over its result.
 * It owns only the head: bodies, keep-alive and routing are the caller's.
 * Hand-written rather than a library because it is small, must be strict
 * (no bare LF, no obs-fold: nothing a proxy in front could read otherwise)
 * and must parse in place over an evbuffer pullup without allocating.
 */
#include <stddef.h>
#include <string.h>

#include "hh.h"

static enum hh_status hh_scan(struct hh_parser *p, const char *buf, size_t len,
                              size_t max_head, size_t *head_len);
static enum hh_status hh_parse_request_line(const char *l, size_t n,
                                            struct hh_req *out);
static enum hh_status hh_parse_field(const char *l, size_t n,
                                     struct hh_req *out);
static int hh_is_tchar(unsigned char c);
static int hh_is_ows(unsigned char c);
static unsigned char hh_lower(unsigned char c);
static int hh_eq_nocase(const char *a, size_t alen, const char *b, size_t blen);

void
hh_parser_init(struct hh_parser *p)
{
    p->scanned = 0;
    p->start = 0;
    p->line = 0;
}

enum hh_status
hh_parse(struct hh_parser *p, const char *buf, size_t len, size_t max_head,
         struct hh_req *out)
{
    struct hh_req r;
    size_t head_len = 0, pos, end;
    const char *eol;
    enum hh_status st;

    st = hh_scan(p, buf, len, max_head, &head_len);
    if (st != HH_OK)
        return st;

    /* The scan saw only CRLF line ends, so memchr(CR) finds each line's
     * end; end is the CR of the final empty line. */
    memset(&r, 0, sizeof(r));
    end = head_len - 2;
    pos = p->start;
    eol = memchr(buf + pos, '\r', end - pos);
    if (eol == NULL)
        return HH_E_BAD_REQUEST; /* can't happen: start < end */
    st = hh_parse_request_line(buf + pos, (size_t)(eol - buf) - pos, &r);
    if (st != HH_OK)
        return st;
    pos = (size_t)(eol - buf) + 2;
    while (pos < end) {
        eol = memchr(buf + pos, '\r', end - pos);
        if (eol == NULL)
            return HH_E_BAD_REQUEST; /* can't happen: lines end in CRLF */
        st = hh_parse_field(buf + pos, (size_t)(eol - buf) - pos, &r);
        if (st != HH_OK)
            return st;
        pos = (size_t)(eol - buf) + 2;
    }

    /* RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, and for
     * any request with more than one. */
    if (hh_header_count(&r, "host") > 1 ||
        (r.minor_version == 1 && hh_header_count(&r, "host") == 0))
        return HH_E_BAD_REQUEST;

    r.head_len = head_len;
    *out = r;
    return HH_OK;
}

const char *
hh_header(const struct hh_req *r, const char *name, size_t *len)
{
    return hh_header_nth(r, name, 0, len);
}

const char *
hh_header_nth(const struct hh_req *r, const char *name, size_t n, size_t *len)
{
    size_t nlen = strlen(name);

    for (size_t i = 0; i < r->nheaders; i++) {
        const struct hh_field *f = &r->headers[i];

        if (!hh_eq_nocase(f->name, f->name_len, name, nlen))
            continue;
        if (n-- > 0)
            continue;
        if (len != NULL)
            *len = f->value_len;
        return f->value;
    }
    return NULL;
}

size_t
hh_header_count(const struct hh_req *r, const char *name)
{
    size_t nlen = strlen(name), count = 0;

    for (size_t i = 0; i < r->nheaders; i++)
        if (hh_eq_nocase(r->headers[i].name, r->headers[i].name_len, name,
                         nlen))
            count++;
    return count;
}

int
hh_has_token(const char *value, size_t len, const char *token)
{
    size_t tlen = strlen(token), i = 0;

    /* RFC 9110 §5.6.1: #element = [ element ] *( OWS "," OWS [ element ] ) */
    while (i < len) {
        size_t b, e;

        while (i < len && hh_is_ows((unsigned char)value[i]))
            i++;
        b = i;
        while (i < len && value[i] != ',')
            i++;
        e = i;
        while (e > b && hh_is_ows((unsigned char)value[e - 1]))
            e--;
        if (e > b && hh_eq_nocase(value + b, e - b, token, tlen))
            return 1;
        if (i < len)
            i++; /* the comma */
    }
    return 0;
}

int
hh_header_has_token(const struct hh_req *r, const char *name, const char *token)
{
    size_t nlen = strlen(name);

    /* Lists may be split over several lines (RFC 9110 §5.3). */
    for (size_t i = 0; i < r->nheaders; i++) {
        const struct hh_field *f = &r->headers[i];

        if (hh_eq_nocase(f->name, f->name_len, name, nlen) &&
            hh_has_token(f->value, f->value_len, token))
            return 1;
    }
    return 0;
}

const char *
hh_query_param(const struct hh_req *r, const char *name, size_t *len)
{
    size_t nlen = strlen(name), i = 0, qlen = r->query_len;
    const char *q = r->query;

    if (q == NULL)
        return NULL;
    while (i <= qlen) {
        size_t b = i, eq, e;

        while (i < qlen && q[i] != '&')
            i++;
        e = i;
        for (eq = b; eq < e && q[eq] != '='; eq++)
            ;
        if (eq - b == nlen && memcmp(q + b, name, nlen) == 0) {
            if (len != NULL)
                *len = eq < e ? e - eq - 1 : 0;
            return eq < e ? q + eq + 1 : q + e;
        }
        i++; /* past the '&' (or past the end, which stops the loop) */
    }
    return NULL;
}

int
hh_status_code(enum hh_status s)
{
    switch (s) {
    case HH_OK:
        return 200;
    case HH_AGAIN:
        return 0;
    case HH_E_BAD_REQUEST:
        return 400;
    case HH_E_TOO_LARGE:
        return 431;
    case HH_E_VERSION:
        return 505;
    }
    return 400;
}

const char *
hh_status_str(enum hh_status s)
{
    switch (s) {
    case HH_OK:
        return "OK";
    case HH_AGAIN:
        return "Incomplete";
    case HH_E_BAD_REQUEST:
        return "Bad Request";
    case HH_E_TOO_LARGE:
        return "Request Header Fields Too Large";
    case HH_E_VERSION:
        return "HTTP Version Not Supported";
    }
    return "Bad Request";
}

const char *
hh_status_code_str(enum hh_status s)
{
    switch (s) {
    case HH_OK:
        return "OK";
    case HH_AGAIN:
        return "AGAIN";
    case HH_E_BAD_REQUEST:
        return "BAD_REQUEST";
    case HH_E_TOO_LARGE:
        return "HEADERS_TOO_LARGE";
    case HH_E_VERSION:
        return "HTTP_VERSION";
    }
    return "BAD_REQUEST";
}

/*
 * Look for the end of the head (an empty line) in buf[p->scanned..limit),
 * checking line ends and control bytes on the way. Every byte is looked at
 * once over all calls; the checks need only the byte and the one before it,
 * which is why feeding in pieces gives the same answer as one call. On an
 * error or at the end, p->scanned stays on the deciding byte so a repeated
 * call gives the same answer.
 */
static enum hh_status
hh_scan(struct hh_parser *p, const char *buf, size_t len, size_t max_head,
        size_t *head_len)
{
    size_t limit = len < max_head ? len : max_head, i;

    if (p->scanned > len || p->start > p->scanned || p->line > p->scanned ||
        p->start > p->line)
        hh_parser_init(p); /* not the buffer it saw before: start over */
    for (i = p->scanned; i < limit; i++) {
        unsigned char c = (unsigned char)buf[i];
        unsigned char prev = i > 0 ? (unsigned char)buf[i - 1] : 0;

        if (prev == '\r' && c != '\n')
            goto bad; /* bare CR */
        if (c == '\n') {
            if (prev != '\r')
                goto bad; /* bare LF: we do not take LF alone as a line end */
            if (i - 1 != p->line) {
                p->line = i + 1;
            } else if (p->line == p->start) {
                /* RFC 9112 §2.2: skip empty lines before the request */
                p->start = p->line = i + 1;
            } else {
                p->scanned = i;
                *head_len = i + 1;
                return HH_OK;
            }
        } else if (c != '\r' && c != '\t' && (c < 0x20 || c == 0x7f)) {
            goto bad;
        }
    }
    p->scanned = i;
    return len >= max_head ? HH_E_TOO_LARGE : HH_AGAIN;
bad:
    p->scanned = i;
    return HH_E_BAD_REQUEST;
}

/* request-line = method SP request-target SP HTTP-version (RFC 9112 §3) */
static enum hh_status
hh_parse_request_line(const char *l, size_t n, struct hh_req *out)
{
    size_t i = 0, t;
    const char *v;

    while (i < n && hh_is_tchar((unsigned char)l[i]))
        i++;
    if (i == 0 || i >= n || l[i] != ' ')
        return HH_E_BAD_REQUEST;
    out->method = l;
    out->method_len = i;

    t = ++i;
    while (i < n && (unsigned char)l[i] > 0x20 && (unsigned char)l[i] < 0x7f)
        i++;
    if (i == t || i >= n || l[i] != ' ')
        return HH_E_BAD_REQUEST;
    out->target = l + t;
    out->target_len = i - t;
    out->path = out->target;
    out->path_len = out->target_len;
    for (size_t k = 0; k < out->target_len; k++) {
        if (out->target[k] == '?') {
            out->path_len = k;
            out->query = out->target + k + 1;
            out->query_len = out->target_len - k - 1;
            break;
        }
    }

    /* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive */
    v = l + i + 1;
    if (n - i - 1 != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' ||
        v[5] > '9' || v[6] != '.' || v[7] < '0' || v[7] > '9')
        return HH_E_BAD_REQUEST;
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
        return HH_E_VERSION;
    out->minor_version = v[7] - '0';
    return HH_OK;
}

/* field-line = field-name ":" OWS field-value OWS (RFC 9112 §5) */
static enum hh_status
hh_parse_field(const char *l, size_t n, struct hh_req *out)
{
    size_t i = 0, b, e;
    struct hh_field *f;

    /* A line starting with SP/HTAB is obs-fold (or, after the request
     * line, an attempt to hide a header); RFC 9112 §5.2 allows 400. */
    while (i < n && hh_is_tchar((unsigned char)l[i]))
        i++;
    if (i == 0 || i >= n || l[i] != ':')
        return HH_E_BAD_REQUEST; /* empty name, no colon, or SP before it */
    if (out->nheaders == HH_MAX_HEADERS)
        return HH_E_TOO_LARGE;

    /* The scan already refused control bytes other than HTAB, so what is
     * left is field-vchar (VCHAR / obs-text), SP and HTAB. */
    b = i + 1;
    while (b < n && hh_is_ows((unsigned char)l[b]))
        b++;
    e = n;
    while (e > b && hh_is_ows((unsigned char)l[e - 1]))
        e--;
    f = &out->headers[out->nheaders++];
    f->name = l;
    f->name_len = i;
    f->value = l + b;
    f->value_len = e - b;
    return HH_OK;
}

/* tchar (RFC 9110 §5.6.2) */
static int
hh_is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
hh_is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* ASCII only: header names and tokens are ASCII whatever the locale. */
static unsigned char
hh_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

static int
hh_eq_nocase(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++)
        if (hh_lower((unsigned char)a[i]) != hh_lower((unsigned char)b[i]))
            return 0;
    return 1;
}
