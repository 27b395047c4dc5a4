/*
 * Token-verification settings built from the configuration: the algorithm,
 * the key (jwt_secret, or the PEM file named by jwt_public_key, read here)
 * and the claim rules, in the form tok_verify() takes, plus the room rules
 * (room_rule) used for access checks.
 */
#ifndef WSGATE_COMMON_TOKCFG_H
#define WSGATE_COMMON_TOKCFG_H

#include <stddef.h>
#include <stdint.h>

#include "common/tok.h"

struct cfg;

#define TOKCFG_MAX_RULES 256

struct tokcfg_rule {
    char *pattern;    /* glob over room names */
    char **roles;     /* roles allowed ("*" = any authenticated user) */
    size_t nroles;
};

struct tokcfg {
    struct tok_cfg tok;          /* key points into keybuf */
    unsigned char *keybuf;
    size_t keylen;
    struct tokcfg_rule rules[TOKCFG_MAX_RULES];
    size_t nrules;
    const char *admin_role;      /* borrowed from the cfg */
};

/* Fill t from c (borrowed; t keeps pointers into c's strings, so c must
 * outlive t). Reads the public key file for RS/ES. Returns 0, or -1 with
 * err naming the key and the problem. */
int tokcfg_load(struct tokcfg *t, const struct cfg *c, char *err,
    size_t errlen);

/* Release what tokcfg_load allocated. Accepts NULL. */
void tokcfg_free(struct tokcfg *t);

/* The parts of a verified token that access checks need, in compact form
 * (a connection keeps this, not the whole struct tok_claims): one
 * allocation of 8 bytes, the pointers to the roles and then to the rooms
 * claim's patterns, then the strings, the user first (a user with no
 * roles and no rooms claim: 8 bytes and the name). Read it through
 * tokcfg_who_user, _roles and _pats. */
struct tokcfg_who {
    uint32_t nroles;
    uint32_t npats;           /* the token's rooms claim */
    const char *arr[];        /* roles, then pats; the strings follow */
};

/* who's user, roles (nroles of them) and room patterns (npats), borrowed
 * from who. */
const char *tokcfg_who_user(const struct tokcfg_who *who);
const char *const *tokcfg_who_roles(const struct tokcfg_who *who);
const char *const *tokcfg_who_pats(const struct tokcfg_who *who);

/* Build a compact copy of cl in one allocation. Returns new (free() it)
 * or NULL when out of memory. */
struct tokcfg_who *tokcfg_who_new(const struct tok_claims *cl);

/* 1 when cl has roles or a rooms claim, which the access checks need
 * kept (a tokcfg_who); 0 when the user id is all there is to keep (the
 * common case: a connection then keeps no copy of its claims). */
int tokcfg_who_needed(const struct tok_claims *cl);

/* May user, with who's roles and rooms claim (who NULL: none), join
 * room[0..len)? Admin role: any room; the user's own personal room
 * user:<id>; a pattern of the token's rooms claim; or a room_rule whose
 * pattern matches and one of whose roles the user holds ("*" in a rule
 * means any authenticated user). */
int tokcfg_room_allowed(const struct tokcfg *t, const char *user,
    const struct tokcfg_who *who, const char *room, size_t len);

/* 1 if who holds role (who NULL: no roles). */
int tokcfg_who_has_role(const struct tokcfg_who *who, const char *role);

/* 1 if the claims hold the admin role. */
int tokcfg_is_admin(const struct tokcfg *t, const struct tok_claims *cl);

#endif
