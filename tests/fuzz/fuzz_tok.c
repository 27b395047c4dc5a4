/*
 * libFuzzer harness for common/tok.c and common/glob.c. Each input is used
 * three ways: as a token for tok_verify() under a fixed HS256 config; as a
 * payload that this harness signs with the right HMAC key, so the fuzzer
 * reaches the claim checks behind the signature; and, split in two, as a
 * glob pattern and a room name, checked against a dynamic-programming
 * matcher written here a different way. Outputs must be sane: a known
 * status, NUL-terminated bounded claims, claims zeroed on failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "glob.h"
#include "tok.h"

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #c);                                                       \
            abort();                                                           \
        }                                                                      \
    } while (0)

#define FUZZ_NOW INT64_C(1700000000)

static const char fuzz_key[] = "wsgate-fuzz-secret";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tok_cfg
fuzz_cfg(int strict)
{
    struct tok_cfg c;

    memset(&c, 0, sizeof(c));
    c.alg = TOK_ALG_HS256;
    c.key = (const unsigned char *)fuzz_key;
    c.keylen = sizeof(fuzz_key) - 1;
    c.max_size = TOK_MAX_SIZE;
    if (strict) {
        c.leeway_s = 30;
        c.issuer = "crm";
        c.audience = "wsgate";
        c.user_claim = "uid";
        c.role_claim = "roles";
        c.required_role = "agent";
        c.require_exp = 1;
    }
    return c;
}

static int
all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0)
            return 0;
    }
    return 1;
}

static void
check_claims(enum tok_status st, const struct tok_claims *c)
{
    size_t n;

    CHECK(st >= TOK_OK && st <= TOK_E_FORBIDDEN);
    CHECK(tok_status_code(st) != NULL && tok_status_message(st) != NULL);
    if (st != TOK_OK && st != TOK_E_FORBIDDEN) {
        CHECK(all_zero(c, sizeof(*c)));
        return;
    }
    n = strnlen(c->user, sizeof(c->user));
    CHECK(n > 0 && n < sizeof(c->user));
    for (size_t i = 0; i < n; i++)
        CHECK((unsigned char)c->user[i] >= 0x20 && c->user[i] != 0x7F);
    CHECK(c->nroles <= TOK_ROLES_MAX);
    for (size_t i = 0; i < c->nroles; i++) {
        n = strnlen(c->roles[i], TOK_ROLE_MAX);
        CHECK(n > 0 && n < TOK_ROLE_MAX);
        CHECK(tok_claims_has_role(c, c->roles[i]));
    }
    CHECK(strcmp(c->role, c->nroles ? c->roles[0] : "") == 0);
    CHECK(c->nrooms <= TOK_ROOM_PATS_MAX);
    for (size_t i = 0; i < c->nrooms; i++) {
        n = strnlen(c->rooms[i], TOK_ROOM_PAT_MAX + 1);
        CHECK(n > 0 && n <= TOK_ROOM_PAT_MAX && n == c->rooms_len[i]);
    }
}

static void
verify_one(const struct tok_cfg *cfg, const char *tok, size_t len,
           enum tok_status *stp)
{
    struct tok_claims c;
    enum tok_status st;

    memset(&c, 0xA5, sizeof(c));
    st = tok_verify(cfg, tok, len, FUZZ_NOW, &c);
    check_claims(st, &c);
    if (stp != NULL)
        *stp = st;
}

static size_t
b64url(const uint8_t *s, size_t n, char *o)
{
    static const char a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        "0123456789-_";
    char *q = o;
    size_t i;

    for (i = 0; i + 2 < n; i += 3) {
        *q++ = a[s[i] >> 2];
        *q++ = a[(s[i] & 3) << 4 | s[i + 1] >> 4];
        *q++ = a[(s[i + 1] & 15) << 2 | s[i + 2] >> 6];
        *q++ = a[s[i + 2] & 63];
    }
    if (n - i == 1) {
        *q++ = a[s[i] >> 2];
        *q++ = a[(s[i] & 3) << 4];
    } else if (n - i == 2) {
        *q++ = a[s[i] >> 2];
        *q++ = a[(s[i] & 3) << 4 | s[i + 1] >> 4];
        *q++ = a[(s[i + 1] & 15) << 2];
    }
    return (size_t)(q - o);
}

/* Does a payload parse as an object whose times are absent or integers? */
static int
payload_plain(const uint8_t *p, size_t n)
{
    static const char *const times[] = {"exp", "nbf", "iat"};
    json_t *v = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, NULL);
    int ok = json_is_object(v);

    for (size_t i = 0; ok && i < 3; i++) {
        json_t *t = json_object_get(v, times[i]);

        ok = t == NULL || json_is_integer(t);
    }
    json_decref(v);
    return ok;
}

/* Sign data as the payload of an HS256 token and verify it both ways. */
static void
fuzz_signed(const uint8_t *data, size_t size)
{
    static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    size_t cap = (size + sizeof(hdr)) / 3 * 4 + 128, n;
    char *tok = malloc(cap);
    struct tok_cfg cfg = fuzz_cfg(0);
    enum tok_status st;

    CHECK(tok != NULL);
    n = b64url((const uint8_t *)hdr, sizeof(hdr) - 1, tok);
    tok[n++] = '.';
    n += b64url(data, size, tok + n);
    CHECK(HMAC(EVP_sha256(), fuzz_key, (int)sizeof(fuzz_key) - 1,
               (const unsigned char *)tok, n, mac, &maclen) != NULL);
    tok[n++] = '.';
    n += b64url(mac, maclen, tok + n);
    CHECK(n <= cap);

    verify_one(&cfg, tok, n, &st);
    CHECK(st != TOK_E_MISSING);
    if (n <= TOK_MAX_SIZE && size > 0 && payload_plain(data, size))
        CHECK(st != TOK_E_MALFORMED);
    cfg = fuzz_cfg(1);
    verify_one(&cfg, tok, n, NULL);
    free(tok);
}

/*
 * Reference glob: the pattern becomes a list of elements (-1 star, -2 any
 * byte, else a literal byte), then the textbook DP table over
 * (elements, string) decides.
 */
static int
ref_glob(const uint8_t *p, size_t plen, const uint8_t *s, size_t slen)
{
    int *el = malloc((plen + 1) * sizeof(*el));
    unsigned char *dp;
    size_t ne = 0, w = slen + 1;
    int r;

    CHECK(el != NULL);
    for (size_t i = 0; i < plen; i++) {
        if (p[i] == '*')
            el[ne++] = -1;
        else if (p[i] == '?')
            el[ne++] = -2;
        else if (p[i] == '\\' && i + 1 < plen)
            el[ne++] = p[++i];
        else
            el[ne++] = p[i];
    }
    dp = calloc((ne + 1) * w, 1);
    CHECK(dp != NULL);
    /* dp[i*w + j]: elements i.. match string j.. */
    dp[ne * w + slen] = 1;
    for (size_t i = ne; i-- > 0;) {
        for (size_t j = slen + 1; j-- > 0;) {
            unsigned char m;

            if (el[i] == -1)
                m = dp[(i + 1) * w + j] || (j < slen && dp[i * w + j + 1]);
            else
                m = j < slen && (el[i] == -2 || el[i] == s[j]) &&
                    dp[(i + 1) * w + j + 1];
            dp[i * w + j] = m;
        }
    }
    r = dp[0];
    free(dp);
    free(el);
    return r;
}

static void
fuzz_glob(const uint8_t *data, size_t size)
{
    size_t cut = size ? data[0] % size + 1 : 0;
    const uint8_t *pat = data + (size ? 1 : 0), *s = data + cut;
    size_t plen = cut ? cut - 1 : 0, slen = size - cut;
    char *pc = malloc(plen ? plen : 1), *sc = malloc(slen ? slen : 1);
    int got;

    CHECK(pc != NULL && sc != NULL);
    memcpy(pc, pat, plen); /* exact-size copies: ASan sees overreads */
    memcpy(sc, s, slen);
    got = glob_match(pc, plen, sc, slen);
    CHECK(got == 0 || got == 1);
    if ((plen + 1) * (slen + 1) <= (1u << 22))
        CHECK(got == ref_glob(pat, plen, s, slen));
    free(pc);
    free(sc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tok_cfg cfg = fuzz_cfg(0);
    char *tok = malloc(size ? size : 1);

    CHECK(tok != NULL);
    if (size > 0)
        memcpy(tok, data, size);
    verify_one(&cfg, tok, size, NULL);
    cfg = fuzz_cfg(1);
    verify_one(&cfg, tok, size, NULL);
    free(tok);

    fuzz_signed(data, size);
    fuzz_glob(data, size);
    return 0;
}
