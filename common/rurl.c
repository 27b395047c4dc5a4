/*
 * redis_url parser (rurl.h). Hand-written because it is tiny and hiredis
 * 0.14 has no URL parser of its own; it accepts the forms redis-cli's -u
 * and the node redis clients accept, minus TLS (rediss://) and query
 * options other than db.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "rurl.h"

static int
rurl_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Copy s[0..n) into out (cap bytes with the NUL), decoding %XX. */
static int
rurl_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int h, l;
            if (i + 2 >= n)
                return -1;
            h = rurl_hex((unsigned char)s[i + 1]);
            l = rurl_hex((unsigned char)s[i + 2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0))
                return -1;
            c = h * 16 + l;
            i += 2;
        } else if (c < 0x21 || c == 0x7f) {
            return -1;
        }
        if (k + 1 >= cap)
            return -1;
        out[k++] = (char)c;
    }
    out[k] = '\0';
    return 0;
}

/* A decimal number in s[0..n) within [lo, hi]. */
static int
rurl_num(const char *s, size_t n, long lo, long hi, int *out)
{
    long v = 0;

    if (n == 0 || n > 7)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* userinfo "user:password" or ":password" or "password". */
static int
rurl_userinfo(const char *s, size_t n, struct rurl *u)
{
    const char *colon = memchr(s, ':', n);

    if (colon == NULL)
        return rurl_decode(s, n, u->password, sizeof(u->password));
    if (rurl_decode(s, (size_t)(colon - s), u->user, sizeof(u->user)) == -1)
        return -1;
    return rurl_decode(colon + 1, n - (size_t)(colon - s) - 1, u->password,
        sizeof(u->password));
}

/* host[:port] in s[0..n); IPv6 in brackets. */
static enum rurl_status
rurl_hostport(const char *s, size_t n, struct rurl *u)
{
    const char *h = s, *colon = NULL;
    size_t hl;

    if (n > 0 && s[0] == '[') {
        const char *rb = memchr(s, ']', n);
        if (rb == NULL)
            return RURL_E_HOST;
        h = s + 1;
        hl = (size_t)(rb - h);
        if (rb + 1 < s + n) {
            if (rb[1] != ':')
                return RURL_E_HOST;
            colon = rb + 1;
        }
        for (size_t i = 0; i < hl; i++)
            if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
                return RURL_E_HOST;
    } else {
        colon = memchr(s, ':', n);
        hl = colon ? (size_t)(colon - s) : n;
        for (size_t i = 0; i < hl; i++)
            if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.'
                && h[i] != '_')
                return RURL_E_HOST;
    }
    if (hl == 0 || hl >= sizeof(u->host))
        return RURL_E_HOST;
    memcpy(u->host, h, hl);
    u->host[hl] = '\0';
    u->port = RURL_DEFAULT_PORT;
    if (colon && rurl_num(colon + 1, (size_t)(s + n - colon - 1), 1, 65535,
                     &u->port) == -1)
        return RURL_E_PORT;
    return RURL_OK;
}

enum rurl_status
rurl_parse(const char *s, struct rurl *u)
{
    const char *p, *at, *end, *slash, *q;

    memset(u, 0, sizeof(*u));
    if (strncmp(s, "redis://", 8) == 0)
        p = s + 8;
    else if (strncmp(s, "unix://", 7) == 0) {
        p = s + 7;
        u->is_unix = 1;
    } else
        return RURL_E_SCHEME;
    end = p + strlen(p);
    /* userinfo ends at the last '@' before the path (passwords are
     * expected %-encoded, but a bare '@' in one is tolerated). */
    slash = strchr(p, '/');
    at = NULL;
    for (const char *c = p; c < (slash ? slash : end); c++)
        if (*c == '@')
            at = c;
    if (at) {
        if (rurl_userinfo(p, (size_t)(at - p), u) == -1)
            return RURL_E_AUTH;
        p = at + 1;
    }
    if (u->is_unix) {
        size_t pl;
        q = strchr(p, '?');
        pl = q ? (size_t)(q - p) : (size_t)(end - p);
        if (pl < 2 || p[0] != '/' || pl >= sizeof(u->path))
            return RURL_E_PATH;
        memcpy(u->path, p, pl);
        u->path[pl] = '\0';
        if (q == NULL)
            return RURL_OK;
        if (strncmp(q, "?db=", 4) != 0)
            return RURL_E_TRAILING;
        return rurl_num(q + 4, strlen(q + 4), 0, RURL_DB_MAX, &u->db) == 0
            ? RURL_OK : RURL_E_DB;
    }
    slash = strchr(p, '/');
    enum rurl_status st = rurl_hostport(p, (size_t)((slash ? slash : end) - p),
        u);
    if (st != RURL_OK)
        return st;
    if (slash == NULL || slash[1] == '\0')
        return RURL_OK;
    return rurl_num(slash + 1, strlen(slash + 1), 0, RURL_DB_MAX, &u->db) == 0
        ? RURL_OK : RURL_E_DB;
}

const char *
rurl_strerror(enum rurl_status st)
{
    switch (st) {
    case RURL_OK:
        return "ok";
    case RURL_E_SCHEME:
        return "expected redis://[:password@]host[:port][/db] or "
               "unix:///path[?db=N]";
    case RURL_E_AUTH:
        return "user or password too long (255 bytes) or badly %-encoded";
    case RURL_E_HOST:
        return "host missing or malformed (a name, an IPv4 address or "
               "[IPv6])";
    case RURL_E_PORT:
        return "port must be 1-65535";
    case RURL_E_DB:
        return "database must be a number 0-1000000";
    case RURL_E_PATH:
        return "unix socket path must be absolute and under 108 bytes";
    case RURL_E_TRAILING:
        return "unexpected text after the socket path (only ?db=N)";
    }
    return "bad redis_url";
}
