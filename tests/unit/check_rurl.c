/*
 * redis_url parser: every accepted form, defaults, %-decoding, and each
 * error with its own status.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/rurl.h"

START_TEST(rurl_tcp_forms_and_defaults)
{
    struct rurl u;

    ck_assert_int_eq(rurl_parse("redis://127.0.0.1:6390/2", &u), RURL_OK);
    ck_assert_int_eq(u.is_unix, 0);
    ck_assert_str_eq(u.host, "127.0.0.1");
    ck_assert_int_eq(u.port, 6390);
    ck_assert_int_eq(u.db, 2);
    ck_assert_str_eq(u.password, "");
    ck_assert_int_eq(rurl_parse("redis://redis.internal", &u), RURL_OK);
    ck_assert_str_eq(u.host, "redis.internal");
    ck_assert_int_eq(u.port, 6379);
    ck_assert_int_eq(u.db, 0);
    ck_assert_int_eq(rurl_parse("redis://cache-1/", &u), RURL_OK);
    ck_assert_int_eq(u.db, 0);
    ck_assert_int_eq(rurl_parse("redis://[::1]:7000/15", &u), RURL_OK);
    ck_assert_str_eq(u.host, "::1");
    ck_assert_int_eq(u.port, 7000);
    ck_assert_int_eq(u.db, 15);
}
END_TEST

START_TEST(rurl_password_and_user_are_decoded)
{
    struct rurl u;

    ck_assert_int_eq(rurl_parse("redis://:s3cret@10.0.0.5:6379/1", &u),
        RURL_OK);
    ck_assert_str_eq(u.user, "");
    ck_assert_str_eq(u.password, "s3cret");
    ck_assert_str_eq(u.host, "10.0.0.5");
    ck_assert_int_eq(rurl_parse("redis://gw:p%40ss%2Fw@h:1", &u), RURL_OK);
    ck_assert_str_eq(u.user, "gw");
    ck_assert_str_eq(u.password, "p@ss/w");
    ck_assert_int_eq(rurl_parse("redis://a:b@c@h", &u), RURL_OK);
    ck_assert_str_eq(u.password, "b@c");
    ck_assert_int_eq(rurl_parse("redis://pw@h", &u), RURL_OK);
    ck_assert_str_eq(u.password, "pw");
}
END_TEST

START_TEST(rurl_unix_socket)
{
    struct rurl u;

    ck_assert_int_eq(rurl_parse("unix:///run/redis/redis.sock", &u),
        RURL_OK);
    ck_assert_int_eq(u.is_unix, 1);
    ck_assert_str_eq(u.path, "/run/redis/redis.sock");
    ck_assert_int_eq(u.db, 0);
    ck_assert_int_eq(rurl_parse("unix://:pw@/tmp/r.sock?db=3", &u), RURL_OK);
    ck_assert_str_eq(u.path, "/tmp/r.sock");
    ck_assert_str_eq(u.password, "pw");
    ck_assert_int_eq(u.db, 3);
}
END_TEST

START_TEST(rurl_errors_are_precise)
{
    struct rurl u;
    char longp[300];
    static const struct {
        const char *s;
        enum rurl_status st;
    } bad[] = {
        {"http://h", RURL_E_SCHEME},
        {"rediss://h", RURL_E_SCHEME},
        {"127.0.0.1:6379", RURL_E_SCHEME},
        {"redis://", RURL_E_HOST},
        {"redis://:pw@", RURL_E_HOST},
        {"redis://h h", RURL_E_HOST},
        {"redis://[::1", RURL_E_HOST},
        {"redis://[::1]x", RURL_E_HOST},
        {"redis://h:0", RURL_E_PORT},
        {"redis://h:65536", RURL_E_PORT},
        {"redis://h:", RURL_E_PORT},
        {"redis://h:-1", RURL_E_PORT},
        {"redis://h:6379/x", RURL_E_DB},
        {"redis://h:6379/1/2", RURL_E_DB},
        {"redis://h/1000001", RURL_E_DB},
        {"redis://:p%zz@h", RURL_E_AUTH},
        {"redis://:p%4@h", RURL_E_AUTH},
        {"redis://:p%00@h", RURL_E_AUTH},
        {"redis://:p w@h", RURL_E_AUTH},
        {"unix://", RURL_E_PATH},
        {"unix://relative.sock", RURL_E_PATH},
        {"unix:///", RURL_E_PATH},
        {"unix:///tmp/s?x=1", RURL_E_TRAILING},
        {"unix:///tmp/s?db=a", RURL_E_DB},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        ck_assert_msg(rurl_parse(bad[i].s, &u) == bad[i].st,
            "%s: got %d want %d", bad[i].s, rurl_parse(bad[i].s, &u),
            bad[i].st);
        ck_assert_ptr_ne(strstr(rurl_strerror(bad[i].st), " "), NULL);
    }
    memcpy(longp, "unix:///", 8);
    memset(longp + 8, 'a', 200);
    longp[208] = '\0';
    ck_assert_int_eq(rurl_parse(longp, &u), RURL_E_PATH);
    memcpy(longp, "redis://:", 9);
    memset(longp + 9, 'a', 280);
    memcpy(longp + 289, "@h", 3);
    ck_assert_int_eq(rurl_parse(longp, &u), RURL_E_AUTH);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("rurl");
    TCase *t = tcase_create("parse");
    tcase_add_test(t, rurl_tcp_forms_and_defaults);
    tcase_add_test(t, rurl_password_and_user_are_decoded);
    tcase_add_test(t, rurl_unix_socket);
    tcase_add_test(t, rurl_errors_are_precise);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
