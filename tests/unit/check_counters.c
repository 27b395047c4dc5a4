/*
 * The counters table: every row well-formed and unique, so the shm slot,
 * JSON and Prometheus renderings derived from it are valid.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/counters.h"

START_TEST(ctr_names_are_snake_case)
{
    for (int i = 0; i < CTR__COUNT; i++) {
        const char *n = ctr_desc[i].name;
        ck_assert_ptr_nonnull(n);
        ck_assert_int_gt(strlen(n), 0);
        ck_assert_msg(strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789_")
            == strlen(n), "bad counter name %s", n);
        ck_assert_msg(n[0] >= 'a' && n[0] <= 'z', "bad start %s", n);
    }
}
END_TEST

START_TEST(ctr_names_have_no_suffix)
{
    static const char *sfx[] = {"_total", "_bytes", "_seconds"};
    for (int i = 0; i < CTR__COUNT; i++) {
        size_t n = strlen(ctr_desc[i].name);
        for (size_t j = 0; j < 3; j++) {
            size_t m = strlen(sfx[j]);
            ck_assert_msg(n <= m || strcmp(ctr_desc[i].name + n - m, sfx[j]),
                "%s carries a suffix the renderer adds", ctr_desc[i].name);
        }
    }
}
END_TEST

START_TEST(ctr_help_nonempty_single_line)
{
    for (int i = 0; i < CTR__COUNT; i++) {
        ck_assert_int_gt(strlen(ctr_desc[i].help), 0);
        ck_assert_ptr_null(strchr(ctr_desc[i].help, '\n'));
        ck_assert_ptr_null(strchr(ctr_desc[i].help, '\\'));
    }
}
END_TEST

START_TEST(ctr_no_duplicates)
{
    for (int i = 0; i < CTR__COUNT; i++)
        for (int j = i + 1; j < CTR__COUNT; j++)
            ck_assert_msg(strcmp(ctr_desc[i].name, ctr_desc[j].name) != 0,
                "duplicate counter %s", ctr_desc[i].name);
}
END_TEST

START_TEST(ctr_enum_matches_table)
{
    ck_assert_str_eq(ctr_desc[CTR_conn_open].name, "conn_open");
    ck_assert_int_eq(ctr_desc[CTR_conn_open].kind, CTR_GAUGE);
    ck_assert_int_eq(ctr_desc[CTR_conn_read].unit, CTR_U_BYTES);
    ck_assert_str_eq(ctr_unit_suffix(CTR_U_BYTES), "_bytes");
    ck_assert_str_eq(ctr_unit_suffix(CTR_U_NONE), "");
    ck_assert_int_eq(ctr_desc[CTR_worker_starts].scope, CTR_S_MASTER);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("counters");
    TCase *t = tcase_create("table");
    tcase_add_test(t, ctr_names_are_snake_case);
    tcase_add_test(t, ctr_names_have_no_suffix);
    tcase_add_test(t, ctr_help_nonempty_single_line);
    tcase_add_test(t, ctr_no_duplicates);
    tcase_add_test(t, ctr_enum_matches_table);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
