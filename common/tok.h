/*
 * JWT verification and signing (DESIGN §5, §10). tok_verify() checks a
 * token against the configured algorithm and key and then checks the claims
 * itself (exp, nbf, iat with leeway, iss, aud, user, roles, rooms), because
 * libjwt 1.10 only checks signatures. It reports exactly one tok_status,
 * which maps one-to-one to a CONNECT_ERROR / error code. tok_sign() makes
 * HS* tokens for the `wsgate token` operator command. Pure code: no
 * logging, no globals; see each function for what it allocates.
 */
#ifndef WSGATE_COMMON_TOK_H
#define WSGATE_COMMON_TOK_H

#include <stddef.h>
#include <stdint.h>

/* Hard ceiling on a token's length, whatever cfg.max_size says. */
#define TOK_MAX_SIZE 16384
/* Used when cfg.max_size is 0. */
#define TOK_DEFAULT_MAX_SIZE 8192

#define TOK_USER_MAX 256     /* user id incl. NUL: 255 bytes at most */
#define TOK_ROLE_MAX 64      /* one role incl. NUL: 63 bytes at most */
#define TOK_ROLES_MAX 8      /* roles kept in tok_claims */
#define TOK_ROOM_PAT_MAX 200 /* one room pattern, bytes */
#define TOK_ROOM_PATS_MAX 64 /* room patterns in one token */
#define TOK_ROOMS_CLAIM "rooms"

enum tok_alg {
    TOK_ALG_HS256 = 0,
    TOK_ALG_HS384,
    TOK_ALG_HS512,
    TOK_ALG_RS256,
    TOK_ALG_RS384,
    TOK_ALG_RS512,
    TOK_ALG_ES256,
    TOK_ALG_ES384,
    TOK_ALG_ES512,
    TOK_ALG__COUNT
};

enum tok_status {
    TOK_OK = 0,
    TOK_E_MISSING,       /* TOKEN_MISSING: empty or whitespace only */
    TOK_E_MALFORMED,     /* TOKEN_MALFORMED: too long, not a JWS, bad JSON */
    TOK_E_INVALID,       /* TOKEN_INVALID: alg, signature, iss, aud, user */
    TOK_E_EXPIRED,       /* TOKEN_EXPIRED */
    TOK_E_NOT_YET_VALID, /* TOKEN_NOT_YET_VALID: nbf or iat in the future */
    TOK_E_FORBIDDEN,     /* FORBIDDEN: required_role not held */
    TOK_E_LIMIT          /* TOO_MANY_CONNECTIONS: a valid token whose user
                          * is at max_connections_per_user (never from
                          * tok_verify: the worker's client model says
                          * so) */
};

/*
 * Verification policy, filled by the caller from the config and borrowed
 * by tok_verify() for the duration of the call. Strings are NUL-terminated;
 * NULL and "" mean "not set".
 */
struct tok_cfg {
    enum tok_alg alg;          /* the only algorithm accepted */
    const unsigned char *key;  /* HS secret, or PEM public key for RS/ES */
    size_t keylen;             /* 0 (or key NULL) refuses every token */
    int64_t leeway_s;          /* clock skew allowed; negative counts as 0 */
    const char *issuer;        /* iss must equal this when set */
    const char *audience;      /* aud (string or array) must hold this */
    const char *user_claim;    /* default "sub" */
    const char *role_claim;    /* default "role" */
    const char *required_role; /* role needed to connect, else FORBIDDEN */
    int require_exp;           /* nonzero: a token without exp is INVALID */
    size_t max_size;           /* 0: TOK_DEFAULT_MAX_SIZE; capped at
                                  TOK_MAX_SIZE */
};

/*
 * What a verified token says. Every string is NUL-terminated. The struct is
 * about 13.7 KiB (checked against 16 KiB in tok.c): fine on a stack, but a
 * long-lived per-connection copy should keep only what it needs.
 */
struct tok_claims {
    char user[TOK_USER_MAX]; /* user claim; integers rendered in decimal */
    char role[TOK_ROLE_MAX]; /* roles[0], or "" when there is none */
    char roles[TOK_ROLES_MAX][TOK_ROLE_MAX];
    size_t nroles;
    int64_t exp; /* 0 when the token has none */
    int64_t nbf; /* 0 when the token has none */
    int64_t iat; /* 0 when the token has none */
    char rooms[TOK_ROOM_PATS_MAX][TOK_ROOM_PAT_MAX + 1]; /* glob patterns */
    unsigned char rooms_len[TOK_ROOM_PATS_MAX];
    size_t nrooms;
};

/*
 * Parse an algorithm name from the config ("HS256" ... "ES512", any case).
 * Returns the enum tok_alg value, or -1 for anything else, "none" included.
 */
int tok_alg_parse(const char *name);

/* "HS256" ... "ES512"; NULL for a value outside enum tok_alg. */
const char *tok_alg_name(enum tok_alg alg);

/* The wire code: "TOKEN_MISSING" ... "FORBIDDEN"; "OK" for TOK_OK. */
const char *tok_status_code(enum tok_status st);

/*
 * A short fixed English sentence for clients and logs. It is a static
 * string, so it never contains the token, a claim value or a key.
 */
const char *tok_status_message(enum tok_status st);

/*
 * Verify token[0..len) (need not be NUL-terminated; the caller has already
 * removed any "Bearer " prefix) at time now_s (unix seconds). Checks, in
 * this order, stopping at the first failure:
 *  - len 0 or only whitespace: TOK_E_MISSING.
 *  - len above the max size (cfg->max_size, 0 meaning 8192, never more
 *    than TOK_MAX_SIZE): TOK_E_MALFORMED, before any parsing.
 *  - not three base64url segments (no padding, no other bytes, header and
 *    payload non-empty), header or payload not a JSON object (duplicate
 *    keys refused): TOK_E_MALFORMED.
 *  - header alg missing, "none" in any case, or not exactly the configured
 *    alg; typ present and not "JWT"; a crit header; an empty signature;
 *    signature wrong (libjwt, keyed by the configured alg, never by the
 *    header); no key configured: TOK_E_INVALID.
 *  - (claims are only read once the signature is good)
 *    exp/nbf/iat present but not a number: TOK_E_MALFORMED.
 *  - exp present and now >= exp + leeway: TOK_E_EXPIRED.
 *  - nbf present and now + leeway < nbf, or iat likewise in the future:
 *    TOK_E_NOT_YET_VALID.
 *  - no exp while cfg->require_exp: TOK_E_INVALID (the token is well formed
 *    but does not meet policy, like a wrong issuer).
 *  - issuer or audience set and not matched; user claim missing, empty,
 *    longer than 255 bytes, holding control bytes, or neither a string nor
 *    an integer; role claim or rooms claim present but not a string or an
 *    array of strings; more than TOK_ROOM_PATS_MAX room patterns or one
 *    longer than TOK_ROOM_PAT_MAX: TOK_E_INVALID.
 *  - cfg->required_role set and not in the role claim: TOK_E_FORBIDDEN.
 * Roles longer than 63 bytes and roles past the eighth are checked against
 * required_role but not stored in out; empty roles and room patterns are
 * ignored. Fractional exp is rounded down, fractional nbf and iat up.
 *
 * On TOK_OK and TOK_E_FORBIDDEN (a genuine token, so the caller may log who
 * was refused) *out is filled; on every other status it is zeroed. Borrows
 * cfg and token; writes out. Uses about 29 KiB of stack and allocates only
 * inside libjwt and jansson, all freed before returning. Never blocks, never
 * logs.
 */
enum tok_status tok_verify(const struct tok_cfg *cfg, const char *token,
                           size_t len, int64_t now_s, struct tok_claims *out);

/* Returns 1 when role (non-empty) is one of c->roles, else 0. Borrows. */
int tok_claims_has_role(const struct tok_claims *c, const char *role);

/*
 * Returns 1 when room[0..len) matches one of the token's room patterns
 * (glob_match() rules), else 0; a token without a rooms claim allows
 * nothing here. Borrows.
 */
int tok_claims_room_allowed(const struct tok_claims *c, const char *room,
                            size_t len);

/*
 * Make a signed token for `wsgate token`: claims user_claim (default "sub")
 * = user, role_claim (default "role") = role when role is non-NULL and
 * non-empty, "rooms" = the comma-separated patterns of rooms_csv as a JSON
 * array (spaces around each are trimmed, empty ones skipped; NULL or
 * nothing left: no claim), "iat" = iat, and "exp" = iat + ttl_s when ttl_s
 * > 0. Only HS256/384/512: RS and ES need a private key, which wsgate never
 * holds, so they return -1. Also -1 on an empty user or key, ttl_s < 0,
 * equal claim names, a pattern set tok_verify() would refuse, or out of
 * memory. On 0, *out is a new NUL-terminated token (caller frees with
 * free()); on -1, *out is NULL. Borrows everything else. Never logs.
 */
int tok_sign(enum tok_alg alg, const unsigned char *key, size_t keylen,
             const char *user, const char *role, const char *rooms_csv,
             int64_t iat, int64_t ttl_s, const char *user_claim,
             const char *role_claim, char **out);

#endif
