/*
 * JWT verification and signing. This module owns the token rules of DESIGN
 * §5 and §10: which algorithm is acceptable, what each failure is called, and
 * how claims become a struct tok_claims. libjwt 1.10 checks the signature
 * only, and it trusts the header's alg, so the header is parsed and checked
 * here first and libjwt is asked to verify with the configured key only
 * after that. Claims are read from our own strict parse of the payload (the
 * bytes the signature covers), not through libjwt's getters, which cannot
 * tell a missing claim from a wrong type. Where tokens come from, and what
 * a connection may do with the claims, is the caller's business.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <jwt.h>

#include "glob.h"
#include "b64.h"
#include "tok.h"

/* Largest decoded header or payload: 3 bytes per 4 characters. */
#define TOK_DEC_MAX (TOK_MAX_SIZE / 4 * 3 + 3)

_Static_assert(sizeof(struct tok_claims) <= 16384,
               "struct tok_claims must stay stack-friendly (<= 16 KiB)");
_Static_assert(TOK_ROOM_PAT_MAX <= UCHAR_MAX, "rooms_len is unsigned char");

struct tok_times {
    int64_t exp, nbf, iat;
    int has_exp, has_nbf, has_iat;
};

static int tok_blank(const char *s, size_t n);
static int tok_b64_ok(const char *s, size_t n);
static json_t *tok_load_segment(const char *s, size_t n, unsigned char *buf);
static enum tok_status tok_check_header(const struct tok_cfg *cfg,
                                        json_t *head);
static enum tok_status tok_check_signature(const struct tok_cfg *cfg,
                                           const char *token, size_t len);
static int tok_time(json_t *body, const char *name, int round_up, int64_t *v,
                    int *present);
static enum tok_status tok_check_times(const struct tok_cfg *cfg, json_t *body,
                                       int64_t now, struct tok_times *t);
static int tok_aud_ok(json_t *aud, const char *want);
static int tok_user(json_t *v, char *dst);
static enum tok_status tok_roles(json_t *v, const char *required,
                                 struct tok_claims *out, int *held);
static enum tok_status tok_rooms(json_t *v, struct tok_claims *out);
static enum tok_status tok_check_claims(const struct tok_cfg *cfg, json_t *body,
                                        int64_t now, struct tok_claims *out);
static int64_t tok_sat_add(int64_t a, int64_t b);
static int tok_user_ok(const char *s, size_t n);
static int tok_add_rooms(jwt_t *jwt, const char *csv);

static const struct {
    const char *name;
    jwt_alg_t jalg;
} tok_algs[TOK_ALG__COUNT] = {
    [TOK_ALG_HS256] = {"HS256", JWT_ALG_HS256},
    [TOK_ALG_HS384] = {"HS384", JWT_ALG_HS384},
    [TOK_ALG_HS512] = {"HS512", JWT_ALG_HS512},
    [TOK_ALG_RS256] = {"RS256", JWT_ALG_RS256},
    [TOK_ALG_RS384] = {"RS384", JWT_ALG_RS384},
    [TOK_ALG_RS512] = {"RS512", JWT_ALG_RS512},
    [TOK_ALG_ES256] = {"ES256", JWT_ALG_ES256},
    [TOK_ALG_ES384] = {"ES384", JWT_ALG_ES384},
    [TOK_ALG_ES512] = {"ES512", JWT_ALG_ES512},
};

int
tok_alg_parse(const char *name)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < TOK_ALG__COUNT; i++) {
        if (strcasecmp(name, tok_algs[i].name) == 0)
            return i;
    }
    return -1;
}

const char *
tok_alg_name(enum tok_alg alg)
{
    if ((unsigned)alg >= TOK_ALG__COUNT)
        return NULL;
    return tok_algs[alg].name;
}

const char *
tok_status_code(enum tok_status st)
{
    switch (st) {
    case TOK_OK:
        return "OK";
    case TOK_E_MISSING:
        return "TOKEN_MISSING";
    case TOK_E_MALFORMED:
        return "TOKEN_MALFORMED";
    case TOK_E_INVALID:
        return "TOKEN_INVALID";
    case TOK_E_EXPIRED:
        return "TOKEN_EXPIRED";
    case TOK_E_NOT_YET_VALID:
        return "TOKEN_NOT_YET_VALID";
    case TOK_E_FORBIDDEN:
        return "FORBIDDEN";
    case TOK_E_LIMIT:
        return "TOO_MANY_CONNECTIONS";
    }
    return "TOKEN_INVALID";
}

const char *
tok_status_message(enum tok_status st)
{
    switch (st) {
    case TOK_OK:
        return "Token accepted";
    case TOK_E_MISSING:
        return "No token was given";
    case TOK_E_MALFORMED:
        return "Token is not a well-formed JWT";
    case TOK_E_INVALID:
        return "Token signature, algorithm or claims are not valid";
    case TOK_E_EXPIRED:
        return "Token has expired";
    case TOK_E_NOT_YET_VALID:
        return "Token is not valid yet";
    case TOK_E_FORBIDDEN:
        return "Token does not grant the required role";
    case TOK_E_LIMIT:
        return "Too many connections for this user";
    }
    return "Token is not valid";
}

enum tok_status
tok_verify(const struct tok_cfg *cfg, const char *token, size_t len,
           int64_t now_s, struct tok_claims *out)
{
    unsigned char dec[TOK_DEC_MAX];
    json_t *head = NULL, *body = NULL;
    const char *dot1, *dot2, *sig;
    size_t max = cfg->max_size ? cfg->max_size : TOK_DEFAULT_MAX_SIZE;
    size_t hlen, plen, slen;
    enum tok_status st;

    memset(out, 0, sizeof(*out));
    if (len == 0)
        return TOK_E_MISSING;
    if (max > TOK_MAX_SIZE)
        max = TOK_MAX_SIZE;
    if (len > max)
        return TOK_E_MALFORMED;
    if (tok_blank(token, len))
        return TOK_E_MISSING;

    /* Compact JWS (RFC 7515 §7.1): exactly two dots, three segments. */
    dot1 = memchr(token, '.', len);
    if (dot1 == NULL)
        return TOK_E_MALFORMED;
    hlen = (size_t)(dot1 - token);
    dot2 = memchr(dot1 + 1, '.', len - hlen - 1);
    if (dot2 == NULL)
        return TOK_E_MALFORMED;
    plen = (size_t)(dot2 - dot1 - 1);
    sig = dot2 + 1;
    slen = len - hlen - plen - 2;
    if (!tok_b64_ok(sig, slen))
        return TOK_E_MALFORMED; /* also catches a third dot */

    st = TOK_E_MALFORMED;
    head = tok_load_segment(token, hlen, dec);
    if (head == NULL)
        goto out;
    body = tok_load_segment(dot1 + 1, plen, dec);
    if (body == NULL)
        goto out;

    st = tok_check_header(cfg, head);
    if (st != TOK_OK)
        goto out;
    if (slen == 0) {
        st = TOK_E_INVALID;
        goto out;
    }
    st = tok_check_signature(cfg, token, len);
    if (st != TOK_OK)
        goto out;

    /* Only now, with the signature good, do the claims mean anything. */
    st = tok_check_claims(cfg, body, now_s, out);
out:
    json_decref(head);
    json_decref(body);
    if (st != TOK_OK && st != TOK_E_FORBIDDEN)
        memset(out, 0, sizeof(*out));
    return st;
}

int
tok_claims_has_role(const struct tok_claims *c, const char *role)
{
    if (role == NULL || role[0] == '\0')
        return 0;
    for (size_t i = 0; i < c->nroles && i < TOK_ROLES_MAX; i++) {
        if (strcmp(c->roles[i], role) == 0)
            return 1;
    }
    return 0;
}

int
tok_claims_room_allowed(const struct tok_claims *c, const char *room,
                        size_t len)
{
    for (size_t i = 0; i < c->nrooms && i < TOK_ROOM_PATS_MAX; i++) {
        if (glob_match(c->rooms[i], c->rooms_len[i], room, len))
            return 1;
    }
    return 0;
}

int
tok_sign(enum tok_alg alg, const unsigned char *key, size_t keylen,
         const char *user, const char *role, const char *rooms_csv, int64_t iat,
         int64_t ttl_s, const char *user_claim, const char *role_claim,
         char **out)
{
    const char *uc = user_claim && *user_claim ? user_claim : "sub";
    const char *rc = role_claim && *role_claim ? role_claim : "role";
    jwt_t *jwt = NULL;
    char *enc = NULL;

    *out = NULL;
    /* RS and ES sign with a private key; wsgate only holds public ones. */
    if (alg != TOK_ALG_HS256 && alg != TOK_ALG_HS384 && alg != TOK_ALG_HS512)
        return -1;
    if (key == NULL || keylen == 0 || keylen > INT_MAX || user == NULL ||
        !tok_user_ok(user, strlen(user)) || ttl_s < 0 || strcmp(uc, rc) == 0)
        return -1;
    if (iat < LONG_MIN || iat > LONG_MAX || ttl_s > LONG_MAX - iat)
        return -1; /* jwt_add_grant_int takes a long */

    if (jwt_new(&jwt) != 0)
        goto fail;
    if (jwt_add_grant(jwt, uc, user) != 0)
        goto fail;
    if (role != NULL && role[0] != '\0' && jwt_add_grant(jwt, rc, role) != 0)
        goto fail;
    if (rooms_csv != NULL && tok_add_rooms(jwt, rooms_csv) != 0)
        goto fail;
    if (jwt_add_grant_int(jwt, "iat", (long)iat) != 0)
        goto fail;
    if (ttl_s > 0 && jwt_add_grant_int(jwt, "exp", (long)(iat + ttl_s)) != 0)
        goto fail;
    if (jwt_set_alg(jwt, tok_algs[alg].jalg, key, (int)keylen) != 0)
        goto fail;
    enc = jwt_encode_str(jwt);
    if (enc == NULL)
        goto fail;
    /* libjwt 1.10 returns plain malloc memory; copy anyway so the caller's
     * free() never depends on how libjwt was built. */
    *out = strdup(enc);
    free(enc);
    jwt_free(jwt);
    return *out != NULL ? 0 : -1;
fail:
    jwt_free(jwt);
    return -1;
}

static int
tok_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case ' ':
        case '\t':
        case '\r':
        case '\n':
        case '\v':
        case '\f':
            break;
        default:
            return 0;
        }
    }
    return 1;
}

/* A well-formed unpadded base64url string (RFC 7515 §2); "" is one. */
static int
tok_b64_ok(const char *s, size_t n)
{
    if (n % 4 == 1)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (b64_url_digit((unsigned char)s[i]) < 0)
            return 0;
    }
    return 1;
}

/*
 * Decode one segment into buf (TOK_DEC_MAX bytes) and parse it as a JSON
 * object. Duplicate member names are refused: a claim must have one value.
 * Returns a new reference, or NULL.
 */
static json_t *
tok_load_segment(const char *s, size_t n, unsigned char *buf)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    json_error_t err;
    json_t *v;

    if (n == 0 || !tok_b64_ok(s, n))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        acc =
            (acc << 6 | (uint32_t)b64_url_digit((unsigned char)s[i])) & 0xFFFFFF;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (unsigned char)(acc >> bits);
        }
    }
    v = json_loadb((const char *)buf, o, JSON_REJECT_DUPLICATES, &err);
    if (v != NULL && !json_is_object(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

/*
 * The header must name exactly the configured algorithm: this refuses
 * "none" and stops a token from choosing its own key type (an HS token
 * "signed" with a server's RSA public key as the secret). typ, when present,
 * must be "JWT" (libjwt insists too), and crit names extensions we do not
 * implement, so RFC 7515 §4.1.11 says refuse it.
 */
static enum tok_status
tok_check_header(const struct tok_cfg *cfg, json_t *head)
{
    json_t *alg = json_object_get(head, "alg");
    json_t *typ = json_object_get(head, "typ");

    if ((unsigned)cfg->alg >= TOK_ALG__COUNT || !json_is_string(alg) ||
        strcmp(json_string_value(alg), tok_algs[cfg->alg].name) != 0)
        return TOK_E_INVALID;
    if (typ != NULL && (!json_is_string(typ) ||
                        strcasecmp(json_string_value(typ), "JWT") != 0))
        return TOK_E_INVALID;
    if (json_object_get(head, "crit") != NULL)
        return TOK_E_INVALID;
    return TOK_OK;
}

/*
 * libjwt wants a NUL-terminated token and, without a key, skips the
 * signature check entirely, so no key means no token. The copy is wiped:
 * it is a bearer credential.
 */
static enum tok_status
tok_check_signature(const struct tok_cfg *cfg, const char *token, size_t len)
{
    char copy[TOK_MAX_SIZE + 1];
    jwt_t *jwt = NULL;
    enum tok_status st = TOK_E_INVALID;

    if (cfg->key == NULL || cfg->keylen == 0 || cfg->keylen > INT_MAX ||
        len > TOK_MAX_SIZE)
        return TOK_E_INVALID;
    memcpy(copy, token, len);
    copy[len] = '\0';
    if (jwt_decode(&jwt, copy, cfg->key, (int)cfg->keylen) == 0 &&
        jwt != NULL && jwt_get_alg(jwt) == tok_algs[cfg->alg].jalg)
        st = TOK_OK;
    jwt_free(jwt);
    explicit_bzero(copy, len);
    return st;
}

/*
 * Read a NumericDate (RFC 7519 §2). Returns 0 (with *present 0 when the
 * claim is absent) or -1 when it is not a number or out of int64 range.
 * Fractions round toward the stricter side, chosen by round_up.
 */
static int
tok_time(json_t *body, const char *name, int round_up, int64_t *v, int *present)
{
    json_t *j = json_object_get(body, name);
    double d;
    int64_t t;

    *v = 0;
    *present = j != NULL;
    if (j == NULL)
        return 0;
    if (json_is_integer(j)) {
        *v = json_integer_value(j);
        return 0;
    }
    if (!json_is_real(j))
        return -1;
    d = json_real_value(j);
    if (!(d >= -9.0e18 && d <= 9.0e18))
        return -1;
    t = (int64_t)d;
    if (round_up && (double)t < d)
        t++;
    else if (!round_up && (double)t > d)
        t--;
    *v = t;
    return 0;
}

static enum tok_status
tok_check_times(const struct tok_cfg *cfg, json_t *body, int64_t now,
                struct tok_times *t)
{
    int64_t leeway = cfg->leeway_s > 0 ? cfg->leeway_s : 0;

    if (tok_time(body, "exp", 0, &t->exp, &t->has_exp) != 0 ||
        tok_time(body, "nbf", 1, &t->nbf, &t->has_nbf) != 0 ||
        tok_time(body, "iat", 1, &t->iat, &t->has_iat) != 0)
        return TOK_E_MALFORMED;
    if (t->has_exp && now >= tok_sat_add(t->exp, leeway))
        return TOK_E_EXPIRED;
    if (t->has_nbf && tok_sat_add(now, leeway) < t->nbf)
        return TOK_E_NOT_YET_VALID;
    if (t->has_iat && tok_sat_add(now, leeway) < t->iat)
        return TOK_E_NOT_YET_VALID;
    if (!t->has_exp && cfg->require_exp)
        return TOK_E_INVALID;
    return TOK_OK;
}

/* RFC 7519 §4.1.3: aud is one string or an array of strings. */
static int
tok_aud_ok(json_t *aud, const char *want)
{
    size_t i;
    json_t *el;

    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    if (!json_is_array(aud))
        return 0;
    json_array_foreach(aud, i, el)
    {
        if (json_is_string(el) && strcmp(json_string_value(el), want) == 0)
            return 1;
    }
    return 0;
}

/*
 * The user id goes into room names ("user:<id>") and log lines, so it must
 * be short and free of control bytes. Many backends put a numeric id in
 * sub; integers are accepted and rendered in decimal.
 */
static int
tok_user(json_t *v, char *dst)
{
    const char *s;
    size_t n;

    if (json_is_integer(v)) {
        snprintf(dst, TOK_USER_MAX, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    s = json_string_value(v);
    n = json_string_length(v);
    if (!tok_user_ok(s, n))
        return -1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

static int
tok_user_ok(const char *s, size_t n)
{
    if (n == 0 || n >= TOK_USER_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7F)
            return 0;
    }
    return 1;
}

/*
 * The role claim: absent (or null), a string, or an array of strings.
 * required_role is looked for in the whole claim; only roles that fit are
 * stored.
 */
static enum tok_status
tok_roles(json_t *v, const char *required, struct tok_claims *out, int *held)
{
    size_t n = 1, i;

    *held = 0;
    if (v == NULL || json_is_null(v))
        return TOK_OK;
    if (json_is_array(v))
        n = json_array_size(v);
    else if (!json_is_string(v))
        return TOK_E_INVALID;
    for (i = 0; i < n; i++) {
        json_t *el = json_is_array(v) ? json_array_get(v, i) : v;
        size_t len;

        if (!json_is_string(el))
            return TOK_E_INVALID;
        len = json_string_length(el);
        if (required != NULL && strcmp(json_string_value(el), required) == 0)
            *held = 1;
        if (len == 0 || len >= TOK_ROLE_MAX || out->nroles == TOK_ROLES_MAX)
            continue;
        memcpy(out->roles[out->nroles], json_string_value(el), len + 1);
        out->nroles++;
    }
    if (out->nroles > 0)
        memcpy(out->role, out->roles[0], sizeof(out->role));
    return TOK_OK;
}

/* The rooms claim: absent (or null), a pattern, or an array of them. */
static enum tok_status
tok_rooms(json_t *v, struct tok_claims *out)
{
    size_t n = 1, i;

    if (v == NULL || json_is_null(v))
        return TOK_OK;
    if (json_is_array(v))
        n = json_array_size(v);
    else if (!json_is_string(v))
        return TOK_E_INVALID;
    for (i = 0; i < n; i++) {
        json_t *el = json_is_array(v) ? json_array_get(v, i) : v;
        size_t len;

        if (!json_is_string(el))
            return TOK_E_INVALID;
        len = json_string_length(el);
        if (len == 0)
            continue;
        if (len > TOK_ROOM_PAT_MAX || out->nrooms == TOK_ROOM_PATS_MAX)
            return TOK_E_INVALID;
        memcpy(out->rooms[out->nrooms], json_string_value(el), len + 1);
        out->rooms_len[out->nrooms] = (unsigned char)len;
        out->nrooms++;
    }
    return TOK_OK;
}

/*
 * Claims, after the signature: times first (so a stale token says EXPIRED
 * rather than whatever else is wrong with it), then policy, then identity,
 * and FORBIDDEN last, once everything else about the token is fine.
 */
static enum tok_status
tok_check_claims(const struct tok_cfg *cfg, json_t *body, int64_t now,
                 struct tok_claims *out)
{
    const char *uc =
        cfg->user_claim && *cfg->user_claim ? cfg->user_claim : "sub";
    const char *rc =
        cfg->role_claim && *cfg->role_claim ? cfg->role_claim : "role";
    const char *req =
        cfg->required_role && *cfg->required_role ? cfg->required_role : NULL;
    struct tok_times t = {0};
    enum tok_status st;
    json_t *iss;
    int held;

    st = tok_check_times(cfg, body, now, &t);
    if (st != TOK_OK)
        return st;
    if (cfg->issuer != NULL && cfg->issuer[0] != '\0') {
        iss = json_object_get(body, "iss");
        if (!json_is_string(iss) || strcmp(json_string_value(iss), cfg->issuer))
            return TOK_E_INVALID;
    }
    if (cfg->audience != NULL && cfg->audience[0] != '\0' &&
        !tok_aud_ok(json_object_get(body, "aud"), cfg->audience))
        return TOK_E_INVALID;
    if (tok_user(json_object_get(body, uc), out->user) != 0)
        return TOK_E_INVALID;
    st = tok_roles(json_object_get(body, rc), req, out, &held);
    if (st != TOK_OK)
        return st;
    st = tok_rooms(json_object_get(body, TOK_ROOMS_CLAIM), out);
    if (st != TOK_OK)
        return st;
    out->exp = t.has_exp ? t.exp : 0;
    out->nbf = t.has_nbf ? t.nbf : 0;
    out->iat = t.has_iat ? t.iat : 0;
    if (req != NULL && !held)
        return TOK_E_FORBIDDEN;
    return TOK_OK;
}

static int64_t
tok_sat_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

/* Split "a, b,,c" into ["a","b","c"] and add it as the rooms claim. */
static int
tok_add_rooms(jwt_t *jwt, const char *csv)
{
    json_t *obj = json_object(), *arr = json_array();
    char *js = NULL;
    int rc = -1;

    if (obj == NULL || arr == NULL)
        goto out;
    while (*csv != '\0') {
        const char *end = strchr(csv, ','), *a = csv, *b;

        if (end == NULL)
            end = csv + strlen(csv);
        b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b > a) {
            if ((size_t)(b - a) > TOK_ROOM_PAT_MAX ||
                json_array_size(arr) == TOK_ROOM_PATS_MAX ||
                json_array_append_new(arr, json_stringn(a, (size_t)(b - a))) !=
                    0)
                goto out;
        }
        csv = *end == ',' ? end + 1 : end;
    }
    if (json_array_size(arr) == 0) {
        rc = 0;
        goto out;
    }
    if (json_object_set(obj, TOK_ROOMS_CLAIM, arr) != 0)
        goto out;
    js = json_dumps(obj, JSON_COMPACT);
    if (js != NULL && jwt_add_grants_json(jwt, js) == 0)
        rc = 0;
out:
    free(js);
    json_decref(arr);
    json_decref(obj);
    return rc;
}
