/*
 * Backend proxy codec (issue 14): builds the connect check's JSON body and
 * validates what the backend answers, so that a reply of any shape is
 * either a well-formed verdict or an error status, never a crash; and
 * checks that a proxy URL stays on loopback or the configured host.
 * Pure: jansson for JSON, libevent's URI parser, no I/O.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <jansson.h>

#include "common/b64.h"
#include "common/msg.h"
#include "common/prx.h"

static json_t *prx_claims(const char *tok, size_t len);
static int prx_code_ok(const char *s, size_t n);
static int prx_rooms(json_t *a, struct prx_verdict *v);
static int prx_publish_ok(json_t *p);

char *
prx_connect_body(const struct prx_conn *w, size_t *len)
{
    json_t *o = json_object();
    char *s = NULL;

#define PRX_STR(k, v) json_object_set_new(o, k, (v) ? json_string(v) \
    : json_null())
    if (o == NULL)
        return NULL;
    PRX_STR("user", w->user);
    json_object_set_new(o, "claims", w->token ? prx_claims(w->token,
        w->token_len) : json_object());
    PRX_STR("transport", w->transport);
    PRX_STR("protocol", w->protocol);
    PRX_STR("ip", w->ip);
    PRX_STR("origin", w->origin);
    PRX_STR("namespace", w->nsp);
    PRX_STR("reason", w->reason);
#undef PRX_STR
    if (w->send_token && w->token)
        json_object_set_new(o, "token", json_stringn(w->token,
            w->token_len));
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (s)
        *len = strlen(s);
    return s;
}

enum prx_status
prx_connect_reply(const char *body, size_t len, size_t max,
    struct prx_verdict *v)
{
    json_t *o, *a, *c, *m, *r, *d;
    enum prx_status st = PRX_E_SHAPE;

    memset(v, 0, sizeof(*v));
    if (body == NULL || len == 0 || len > max)
        return PRX_E_SIZE;
    o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return PRX_E_JSON;
    }
    a = json_object_get(o, "allow");
    if (!json_is_boolean(a))
        goto out;
    v->allow = json_is_true(a);
    if (v->allow) {
        r = json_object_get(o, "rooms");
        d = json_object_get(o, "data");
        if ((r && !json_is_null(r) && prx_rooms(r, v) == -1)
            || (d && !json_is_null(d) && !json_is_object(d)))
            goto out;
        st = PRX_OK;
        goto out;
    }
    c = json_object_get(o, "code");
    m = json_object_get(o, "message");
    if (json_is_string(c) && prx_code_ok(json_string_value(c),
            json_string_length(c)))
        snprintf(v->code, sizeof(v->code), "%s", json_string_value(c));
    else
        snprintf(v->code, sizeof(v->code), "FORBIDDEN");
    if (json_is_string(m) && json_string_length(m) <= PRX_MSG_MAX
        && strlen(json_string_value(m)) == json_string_length(m))
        snprintf(v->message, sizeof(v->message), "%s", json_string_value(m));
    else
        snprintf(v->message, sizeof(v->message), "refused by the backend");
    st = PRX_OK;
out:
    json_decref(o);
    if (st != PRX_OK)
        prx_verdict_clear(v);
    return st;
}

void
prx_verdict_clear(struct prx_verdict *v)
{
    if (v == NULL)
        return;
    free(v->rooms);
    memset(v, 0, sizeof(*v));
}

int
prx_verdict_copy(struct prx_verdict *dst, const struct prx_verdict *src)
{
    *dst = *src;
    dst->rooms = NULL;
    if (src->rooms_len == 0)
        return 0;
    dst->rooms = malloc(src->rooms_len);
    if (dst->rooms == NULL) {
        memset(dst, 0, sizeof(*dst));
        return -1;
    }
    memcpy(dst->rooms, src->rooms, src->rooms_len);
    return 0;
}

/* A literal loopback address: 127.0.0.0/8 or ::1 (a name such as
 * 127.example.com is not one). */
static int
prx_loopback(const char *h)
{
    struct in_addr a4;
    struct in6_addr a6;
    char buf[64];
    size_t n = strlen(h);

    if (inet_pton(AF_INET, h, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']' && n - 2 < sizeof(buf)) {
        memcpy(buf, h + 1, n - 2);
        buf[n - 2] = '\0';
        h = buf;
    }
    return inet_pton(AF_INET6, h, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

int
prx_url_ok(const char *url, const char *allowed_host, char *err,
    size_t errlen)
{
    struct evhttp_uri *u = url ? evhttp_uri_parse(url) : NULL;
    const char *sch = u ? evhttp_uri_get_scheme(u) : NULL;
    const char *h = u ? evhttp_uri_get_host(u) : NULL;
    int ok = 0;

    if (u == NULL || sch == NULL || strcasecmp(sch, "http") != 0
        || h == NULL || *h == '\0') {
        snprintf(err, errlen, "not an http://host[:port]/path URL");
    } else if (prx_loopback(h) || strcasecmp(h, "localhost") == 0
        || (allowed_host && *allowed_host && strcasecmp(h, allowed_host)
            == 0)) {
        ok = 1;
    } else {
        snprintf(err, errlen, "host %.64s is neither loopback nor "
            "proxy_allowed_host", h);
    }
    if (u)
        evhttp_uri_free(u);
    return ok;
}

/* The token's payload segment, base64url-decoded and parsed; {} when it
 * is not an object (the caller verified the token, so this is rare). */
static json_t *
prx_claims(const char *tok, size_t len)
{
    const char *p = memchr(tok, '.', len), *e;
    unsigned char *buf;
    size_t n = 0, bits = 0;
    unsigned acc = 0;
    json_t *o = NULL;

    if (p == NULL || (e = memchr(p + 1, '.', len - (size_t)(p + 1 - tok)))
            == NULL)
        return json_object();
    p++;
    buf = malloc((size_t)(e - p) + 1);
    for (const char *q = p; buf && q < e; q++) {
        int dv = b64_url_digit((unsigned char)*q);
        if (dv < 0)
            break;
        acc = (acc << 6) | (unsigned)dv;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (buf)
        o = json_loadb((const char *)buf, n, 0, NULL);
    free(buf);
    if (!json_is_object(o)) {
        json_decref(o);
        return json_object();
    }
    return o;
}

static int
prx_code_ok(const char *s, size_t n)
{
    if (n == 0 || n > PRX_CODE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')
                || s[i] == '_'))
            return 0;
    return 1;
}

/* rooms: an array of valid room names into v (NUL-separated). */
static int
prx_rooms(json_t *a, struct prx_verdict *v)
{
    size_t i, total = 0;
    json_t *r;

    if (!json_is_array(a) || json_array_size(a) > PRX_ROOMS_MAX)
        return -1;
    json_array_foreach(a, i, r) {
        if (!json_is_string(r) || !msg_room_valid(json_string_value(r),
                json_string_length(r)))
            return -1;
        total += json_string_length(r) + 1;
    }
    if (total == 0)
        return 0;
    v->rooms = malloc(total);
    if (v->rooms == NULL)
        return -1;
    json_array_foreach(a, i, r) {
        memcpy(v->rooms + v->rooms_len, json_string_value(r),
            json_string_length(r) + 1);
        v->rooms_len += json_string_length(r) + 1;
        v->nrooms++;
    }
    return 0;
}

char *
prx_event_body(const struct prx_event *e, size_t *len)
{
    json_t *o = json_pack("{s:o, s:s?, s:s?, s:s?, s:s%, s:O}", "user",
        e->user ? json_string(e->user) : json_null(), "connection", e->conn,
        "protocol", e->protocol, "namespace", e->nsp, "event", e->event,
        e->event_len, "data", e->data ? (json_t *)e->data : json_null());
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

    json_decref(o);
    if (s)
        *len = strlen(s);
    return s;
}

enum prx_status
prx_event_reply(const char *body, size_t len, size_t max, json_t **ack,
    json_t **publish)
{
    json_t *o, *ok, *err, *c, *m, *p;
    enum prx_status st = PRX_E_SHAPE;
    char code[PRX_CODE_MAX + 1] = "BACKEND_ERROR";
    const char *msg = "the backend refused this event";

    *ack = *publish = NULL;
    if (body == NULL || len == 0 || len > max)
        return PRX_E_SIZE;
    o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return PRX_E_JSON;
    }
    ok = json_object_get(o, "ok");
    p = json_object_get(o, "publish");
    if (!json_is_boolean(ok) || (p && !json_is_null(p)
            && !prx_publish_ok(p)))
        goto out;
    if (json_is_true(ok)) {
        json_t *d = json_object_get(o, "data");
        *ack = json_pack("{s:b, s:O}", "ok", 1, "data", d ? d : json_null());
    } else {
        err = json_object_get(o, "error");
        c = json_object_get(err, "code");
        m = json_object_get(err, "message");
        if (json_is_string(c) && prx_code_ok(json_string_value(c),
                json_string_length(c)))
            snprintf(code, sizeof(code), "%s", json_string_value(c));
        if (json_is_string(m) && json_string_length(m) <= PRX_MSG_MAX)
            msg = json_string_value(m);
        *ack = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code",
            code, "message", msg);
    }
    if (*ack == NULL)
        goto out;
    if (p && !json_is_null(p))
        *publish = json_incref(p);
    st = PRX_OK;
out:
    json_decref(o);
    return st;
}

/* One publish of an event reply: {"room"|"rooms", "event", "data"}. */
static int
prx_publish_one(json_t *e)
{
    json_t *r = json_object_get(e, "room"), *rs = json_object_get(e, "rooms");
    json_t *ev = json_object_get(e, "event"), *x;
    const char *k;
    size_t i;

    if (!json_is_object(e) || !json_is_string(ev)
        || json_string_length(ev) == 0 || json_string_length(ev) > 200
        || strlen(json_string_value(ev)) != json_string_length(ev)
        || (r != NULL) == (rs != NULL))
        return 0;
    json_object_foreach(e, k, x)
        if (strcmp(k, "room") && strcmp(k, "rooms") && strcmp(k, "event")
            && strcmp(k, "data"))
            return 0;
    if (r)
        return json_is_string(r) && msg_room_valid(json_string_value(r),
            json_string_length(r));
    if (!json_is_array(rs) || json_array_size(rs) == 0
        || json_array_size(rs) > PRX_ROOMS_MAX)
        return 0;
    json_array_foreach(rs, i, x)
        if (!json_is_string(x) || !msg_room_valid(json_string_value(x),
                json_string_length(x)))
            return 0;
    return 1;
}

static int
prx_publish_ok(json_t *p)
{
    size_t i;
    json_t *e;

    if (!json_is_array(p) || json_array_size(p) > PRX_PUBLISH_MAX)
        return 0;
    json_array_foreach(p, i, e)
        if (!prx_publish_one(e))
            return 0;
    return 1;
}
