/*
 * Unit tests for common/priv.c: names and numbers resolve to ids, the
 * group defaults to the user's primary one, and root, unknown names and a
 * group without a user are refused with the key named; no user means
 * nothing to do.
 */
#include <check.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "common/priv.h"

START_TEST(priv_nothing_to_do_without_a_user)
{
    struct priv_id id;
    char err[200];

    ck_assert_int_eq(priv_lookup("", "", &id, err, sizeof(err)), 0);
    ck_assert_int_eq(id.set, 0);
    ck_assert_int_eq(priv_drop(&id, err, sizeof(err)), 0);
    ck_assert_int_eq(priv_give(&id, 5), 0);
}
END_TEST

START_TEST(priv_names_and_numbers)
{
    struct passwd *pw = getpwnam("nobody");
    struct priv_id id;
    char err[200];

    ck_assert_ptr_nonnull(pw);
    ck_assert_int_eq(priv_lookup("nobody", "", &id, err, sizeof(err)), 0);
    ck_assert_int_eq(id.set, 1);
    ck_assert_uint_eq(id.uid, pw->pw_uid);
    ck_assert_uint_eq(id.gid, pw->pw_gid);
    ck_assert_int_eq(priv_lookup("65534", "123", &id, err, sizeof(err)), 0);
    ck_assert_uint_eq(id.uid, 65534);
    ck_assert_uint_eq(id.gid, 123);
    ck_assert_int_eq(priv_lookup("nobody", "root", &id, err, sizeof(err)),
        0);
    ck_assert_uint_eq(id.gid, 0);
}
END_TEST

START_TEST(priv_refusals_name_the_key)
{
    struct priv_id id;
    char err[200];

    ck_assert_int_eq(priv_lookup("root", "", &id, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "key 'user'"));
    ck_assert_int_eq(priv_lookup("0", "", &id, err, sizeof(err)), -1);
    ck_assert_int_eq(priv_lookup("no-such-user-3f9", "", &id, err,
        sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "no user named"));
    ck_assert_int_eq(priv_lookup("", "users", &id, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "key 'group' needs key 'user'"));
    ck_assert_int_eq(priv_lookup("nobody", "no-such-group-3f9", &id, err,
        sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "key 'group'"));
    ck_assert_int_eq(priv_lookup("12x", "", &id, err, sizeof(err)), -1);
    ck_assert_int_eq(id.set, 0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("priv");
    TCase *tc = tcase_create("lookup");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, priv_nothing_to_do_without_a_user);
    tcase_add_test(tc, priv_names_and_numbers);
    tcase_add_test(tc, priv_refusals_name_the_key);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
