/*
 * Builds the token and room-access settings from struct cfg. Owns the key
 * bytes and the parsed room rules; verification itself is tok.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/config.h"
#include "common/glob.h"
#include "common/tokcfg.h"

#define TOKCFG_KEY_MAX (64 * 1024)

static int
tokcfg_read_key(struct tokcfg *t, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    size_t n;

    if (f == NULL) {
        snprintf(err, errlen, "key 'jwt_public_key': cannot read %s: %s",
            path, strerror(errno));
        return -1;
    }
    t->keybuf = malloc(TOKCFG_KEY_MAX + 1);
    if (t->keybuf == NULL) {
        fclose(f);
        snprintf(err, errlen, "key 'jwt_public_key': out of memory");
        return -1;
    }
    n = fread(t->keybuf, 1, TOKCFG_KEY_MAX + 1, f);
    fclose(f);
    if (n == 0 || n > TOKCFG_KEY_MAX
        || strstr((char *)t->keybuf, "-----BEGIN") == NULL) {
        snprintf(err, errlen, "key 'jwt_public_key': %s is not a PEM public "
            "key (empty, too large or no BEGIN line)", path);
        return -1;
    }
    t->keybuf[n] = '\0';
    t->keylen = n;
    /* Refuse at load time a key OpenSSL cannot use, rather than failing
     * every token later. */
    BIO *bio = BIO_new_mem_buf(t->keybuf, (int)n);
    EVP_PKEY *pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (pk == NULL) {
        snprintf(err, errlen, "key 'jwt_public_key': %s holds no PEM public "
            "key OpenSSL can read", path);
        return -1;
    }
    EVP_PKEY_free(pk);
    return 0;
}

/* Parse the room_rule lines: "PATTERN ROLE[,ROLE...]". */
static int
tokcfg_rules(struct tokcfg *t, const char *text, char *err, size_t errlen)
{
    const char *line = text;

    while (line && *line) {
        const char *nl = strchr(line, '\n');
        size_t ll = nl ? (size_t)(nl - line) : strlen(line);
        const char *sp = memchr(line, ' ', ll);
        struct tokcfg_rule *r;

        if (t->nrules == TOKCFG_MAX_RULES) {
            snprintf(err, errlen, "key 'room_rule': more than %d rules",
                TOKCFG_MAX_RULES);
            return -1;
        }
        r = &t->rules[t->nrules++];
        if (sp == NULL)
            sp = line + ll;
        r->pattern = strndup(line, (size_t)(sp - line));
        const char *rs = sp < line + ll ? sp + 1 : sp;
        char *roles = strndup(rs, (size_t)(line + ll - rs));
        if (r->pattern == NULL || roles == NULL) {
            free(roles);
            snprintf(err, errlen, "key 'room_rule': out of memory");
            return -1;
        }
        for (char *tokp, *save = NULL, *s = roles;
             (tokp = strtok_r(s, ",", &save)) != NULL; s = NULL) {
            char **nr = realloc(r->roles, (r->nroles + 1) * sizeof(*nr));
            if (nr == NULL || (nr[r->nroles] = strdup(tokp)) == NULL) {
                if (nr)
                    r->roles = nr;
                free(roles);
                snprintf(err, errlen, "key 'room_rule': out of memory");
                return -1;
            }
            r->roles = nr;
            r->nroles++;
        }
        free(roles);
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

int
tokcfg_load(struct tokcfg *t, const struct cfg *c, char *err, size_t errlen)
{
    int alg = tok_alg_parse(CFG_STR(c, jwt_alg));

    memset(t, 0, sizeof(*t));
    if (alg < 0) {
        snprintf(err, errlen, "key 'jwt_alg': unsupported algorithm '%s'",
            CFG_STR(c, jwt_alg));
        return -1;
    }
    t->tok.alg = (enum tok_alg)alg;
    if (alg <= TOK_ALG_HS512) {
        t->tok.key = (const unsigned char *)CFG_STR(c, jwt_secret);
        t->tok.keylen = strlen(CFG_STR(c, jwt_secret));
    } else {
        if (CFG_STR(c, jwt_public_key)[0] == '\0') {
            snprintf(err, errlen, "key 'jwt_public_key': %s needs a PEM "
                "public key file", CFG_STR(c, jwt_alg));
            return -1;
        }
        if (tokcfg_read_key(t, CFG_STR(c, jwt_public_key), err, errlen)
            == -1) {
            tokcfg_free(t);
            return -1;
        }
        t->tok.key = t->keybuf;
        t->tok.keylen = t->keylen;
    }
    t->tok.leeway_s = CFG_NUM(c, jwt_leeway) / 1000;
    t->tok.issuer = CFG_STR(c, jwt_issuer);
    t->tok.audience = CFG_STR(c, jwt_audience);
    t->tok.user_claim = CFG_STR(c, jwt_user_claim);
    t->tok.role_claim = CFG_STR(c, jwt_role_claim);
    t->tok.required_role = CFG_STR(c, required_role);
    t->tok.require_exp = (int)CFG_NUM(c, jwt_require_exp);
    t->tok.max_size = (size_t)CFG_NUM(c, max_token_size);
    t->admin_role = CFG_STR(c, admin_role);
    if (tokcfg_rules(t, CFG_STR(c, room_rule), err, errlen) == -1) {
        tokcfg_free(t);
        return -1;
    }
    return 0;
}

void
tokcfg_free(struct tokcfg *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nrules; i++) {
        free(t->rules[i].pattern);
        for (size_t j = 0; j < t->rules[i].nroles; j++)
            free(t->rules[i].roles[j]);
        free(t->rules[i].roles);
    }
    t->nrules = 0;
    free(t->keybuf);
    t->keybuf = NULL;
}

int
tokcfg_is_admin(const struct tokcfg *t, const struct tok_claims *cl)
{
    return t->admin_role[0] != '\0' && tok_claims_has_role(cl, t->admin_role);
}

struct tokcfg_who *
tokcfg_who_new(const struct tok_claims *cl)
{
    size_t n = sizeof(struct tokcfg_who)
        + (cl->nroles + cl->nrooms) * sizeof(char *) + strlen(cl->user) + 1;
    struct tokcfg_who *w;
    char *p;

    for (size_t i = 0; i < cl->nroles; i++)
        n += strlen(cl->roles[i]) + 1;
    for (size_t i = 0; i < cl->nrooms; i++)
        n += (size_t)cl->rooms_len[i] + 1;
    w = malloc(n);
    if (w == NULL)
        return NULL;
    w->nroles = (uint32_t)cl->nroles;
    w->npats = (uint32_t)cl->nrooms;
    p = (char *)(w->arr + cl->nroles + cl->nrooms);
    p = stpcpy(p, cl->user) + 1; /* the user first: tokcfg_who_user */
    for (size_t i = 0; i < cl->nroles; i++) {
        size_t l = strlen(cl->roles[i]) + 1;
        w->arr[i] = memcpy(p, cl->roles[i], l);
        p += l;
    }
    for (size_t i = 0; i < cl->nrooms; i++) {
        size_t l = cl->rooms_len[i];
        w->arr[cl->nroles + i] = memcpy(p, cl->rooms[i], l);
        p[l] = '\0';
        p += l + 1;
    }
    return w;
}

const char *
tokcfg_who_user(const struct tokcfg_who *who)
{
    return (const char *)(who->arr + who->nroles + who->npats);
}

const char *const *
tokcfg_who_roles(const struct tokcfg_who *who)
{
    return who->arr;
}

const char *const *
tokcfg_who_pats(const struct tokcfg_who *who)
{
    return who->arr + who->nroles;
}

int
tokcfg_who_needed(const struct tok_claims *cl)
{
    return cl->nroles > 0 || cl->nrooms > 0;
}

int
tokcfg_who_has_role(const struct tokcfg_who *who, const char *role)
{
    for (size_t i = 0; who && i < who->nroles; i++)
        if (strcmp(who->arr[i], role) == 0)
            return 1;
    return 0;
}

int
tokcfg_room_allowed(const struct tokcfg *t, const char *user,
    const struct tokcfg_who *who, const char *room, size_t len)
{
    const char *const *pats = who ? tokcfg_who_pats(who) : NULL;
    uint32_t npats = who ? who->npats : 0;
    size_t ul = strlen(user);

    if (t->admin_role[0] != '\0' && tokcfg_who_has_role(who, t->admin_role))
        return 1;
    if (len == ul + 5 && memcmp(room, "user:", 5) == 0
        && memcmp(room + 5, user, ul) == 0)
        return 1;
    for (size_t i = 0; i < npats; i++)
        if (glob_match(pats[i], strlen(pats[i]), room, len))
            return 1;
    for (size_t i = 0; i < t->nrules; i++) {
        const struct tokcfg_rule *r = &t->rules[i];
        if (!glob_match(r->pattern, strlen(r->pattern), room, len))
            continue;
        for (size_t j = 0; j < r->nroles; j++)
            if (strcmp(r->roles[j], "*") == 0
                || tokcfg_who_has_role(who, r->roles[j]))
                return 1;
    }
    return 0;
}
