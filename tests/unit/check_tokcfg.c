/*
 * Unit tests for the compact claims of common/tokcfg.c (struct
 * tokcfg_who): the user, roles and room patterns read back as the token
 * had them, whatever of them there are, and the access rules on them.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tok.h"
#include "tokcfg.h"

static void
add_pat(struct tok_claims *cl, const char *p)
{
    size_t l = strlen(p);

    memcpy(cl->rooms[cl->nrooms], p, l);
    cl->rooms_len[cl->nrooms++] = (unsigned char)l;
}

START_TEST(tokcfg_who_without_roles_or_rooms_is_the_user_alone)
{
    struct tok_claims cl = {0};
    struct tokcfg_who *w;

    strcpy(cl.user, "bench1234");
    w = tokcfg_who_new(&cl);
    ck_assert_ptr_nonnull(w);
    ck_assert_str_eq(tokcfg_who_user(w), "bench1234");
    ck_assert_uint_eq(w->nroles, 0);
    ck_assert_uint_eq(w->npats, 0);
    ck_assert(!tokcfg_who_has_role(w, "admin"));
    ck_assert(!tokcfg_who_needed(&cl)); /* a connection keeps no copy */
    free(w);
}
END_TEST

/* Without a tokcfg_who (no roles, no rooms claim) the user still has its
 * own room and the rules for any authenticated user ("*"), and nothing a
 * role or a rooms claim would give. */
START_TEST(tokcfg_room_allowed_without_claims_kept)
{
    struct tokcfg t = {.admin_role = "boss", .nrules = 2};
    char pat0[] = "pub:*", pat1[] = "team:*", star[] = "*", mgr[] = "boss";
    char *r0[] = {star}, *r1[] = {mgr};
    struct tok_claims cl = {0};

    t.rules[0] = (struct tokcfg_rule){pat0, r0, 1};
    t.rules[1] = (struct tokcfg_rule){pat1, r1, 1};
    ck_assert(tokcfg_room_allowed(&t, "u7", NULL, "user:u7", 7));
    ck_assert(!tokcfg_room_allowed(&t, "u7", NULL, "user:u70", 8));
    ck_assert(!tokcfg_room_allowed(&t, "u7", NULL, "user:u", 6));
    ck_assert(tokcfg_room_allowed(&t, "u7", NULL, "pub:x", 5));
    ck_assert(!tokcfg_room_allowed(&t, "u7", NULL, "team:x", 6));
    ck_assert(!tokcfg_who_has_role(NULL, "boss"));
    strcpy(cl.user, "u7");
    strcpy(cl.roles[0], "boss");
    cl.nroles = 1;
    ck_assert(tokcfg_who_needed(&cl));
    struct tokcfg_who *w = tokcfg_who_new(&cl);
    ck_assert(tokcfg_room_allowed(&t, "u7", w, "team:x", 6));
    free(w);
    cl.nroles = 0;
    add_pat(&cl, "doc:*");
    ck_assert(tokcfg_who_needed(&cl));
}
END_TEST

START_TEST(tokcfg_who_keeps_user_roles_and_patterns)
{
    struct tok_claims cl = {0};
    struct tokcfg t = {.admin_role = "boss"};
    struct tokcfg_who *w;

    strcpy(cl.user, "u42");
    strcpy(cl.roles[0], "reader");
    strcpy(cl.roles[1], "writer");
    cl.nroles = 2;
    add_pat(&cl, "team:*");
    add_pat(&cl, "doc:7");
    w = tokcfg_who_new(&cl);
    ck_assert_ptr_nonnull(w);
    ck_assert_str_eq(tokcfg_who_user(w), "u42");
    ck_assert_uint_eq(w->nroles, 2);
    ck_assert_str_eq(tokcfg_who_roles(w)[0], "reader");
    ck_assert_str_eq(tokcfg_who_roles(w)[1], "writer");
    ck_assert_uint_eq(w->npats, 2);
    ck_assert_str_eq(tokcfg_who_pats(w)[0], "team:*");
    ck_assert_str_eq(tokcfg_who_pats(w)[1], "doc:7");
    ck_assert(tokcfg_who_has_role(w, "writer"));
    ck_assert(!tokcfg_who_has_role(w, "boss"));
    ck_assert(tokcfg_room_allowed(&t, "u42", w, "user:u42", 8));
    ck_assert(!tokcfg_room_allowed(&t, "u42", w, "user:u4", 7));
    ck_assert(tokcfg_room_allowed(&t, "u42", w, "team:a", 6));
    ck_assert(tokcfg_room_allowed(&t, "u42", w, "doc:7", 5));
    ck_assert(!tokcfg_room_allowed(&t, "u42", w, "doc:8", 5));
    free(w);
    strcpy(cl.roles[1], "boss"); /* the admin role: any room */
    w = tokcfg_who_new(&cl);
    ck_assert(tokcfg_room_allowed(&t, "u42", w, "doc:8", 5));
    free(w);
}
END_TEST

static Suite *
tokcfg_suite(void)
{
    Suite *s = suite_create("tokcfg");
    TCase *tc = tcase_create("who");

    tcase_add_test(tc, tokcfg_who_without_roles_or_rooms_is_the_user_alone);
    tcase_add_test(tc, tokcfg_who_keeps_user_roles_and_patterns);
    tcase_add_test(tc, tokcfg_room_allowed_without_claims_kept);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(tokcfg_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
