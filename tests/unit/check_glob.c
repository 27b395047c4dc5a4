/*
 * Unit tests for common/glob.c: literal bytes, `*` anywhere, `?`, escapes,
 * empty inputs, room names with ':' separators, and a pathological pattern
 * that would take exponential time in a naive backtracking matcher.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "glob.h"

static int
gm(const char *pat, const char *s)
{
    return glob_match(pat, strlen(pat), s, strlen(s));
}

START_TEST(glob_literal_matches_only_itself)
{
    ck_assert_int_eq(gm("lead:42", "lead:42"), 1);
    ck_assert_int_eq(gm("lead:42", "lead:420"), 0);
    ck_assert_int_eq(gm("lead:42", "lead:4"), 0);
    ck_assert_int_eq(gm("lead:42", "Lead:42"), 0); /* case-sensitive */
    ck_assert_int_eq(gm("lead:42", ""), 0);
}
END_TEST

START_TEST(glob_star_at_end_matches_any_suffix)
{
    ck_assert_int_eq(gm("lead:*", "lead:42"), 1);
    ck_assert_int_eq(gm("lead:*", "lead:"), 1);
    ck_assert_int_eq(gm("lead:*", "lead"), 0);
    ck_assert_int_eq(gm("team:*", "team:sales:eu"), 1); /* crosses ':' */
    ck_assert_int_eq(gm("user:*", "lead:7"), 0);
}
END_TEST

START_TEST(glob_star_at_start_matches_any_prefix)
{
    ck_assert_int_eq(gm("*:eu", "team:sales:eu"), 1);
    ck_assert_int_eq(gm("*:eu", ":eu"), 1);
    ck_assert_int_eq(gm("*:eu", "team:sales:us"), 0);
    ck_assert_int_eq(gm("*42", "lead:42"), 1);
    ck_assert_int_eq(gm("*42", "lead:421"), 0);
}
END_TEST

START_TEST(glob_star_in_middle)
{
    ck_assert_int_eq(gm("team:*:eu", "team:sales:eu"), 1);
    ck_assert_int_eq(gm("team:*:eu", "team::eu"), 1);
    ck_assert_int_eq(gm("team:*:eu", "team:a:b:eu"), 1);
    ck_assert_int_eq(gm("team:*:eu", "team:sales:us"), 0);
    ck_assert_int_eq(gm("team:*:eu", "team:eu"), 0);
}
END_TEST

START_TEST(glob_multiple_stars)
{
    ck_assert_int_eq(gm("*", ""), 1);
    ck_assert_int_eq(gm("*", "anything:at:all"), 1);
    ck_assert_int_eq(gm("**", ""), 1);
    ck_assert_int_eq(gm("*:*", "lead:42"), 1);
    ck_assert_int_eq(gm("*:*", "lead42"), 0);
    ck_assert_int_eq(gm("*a*b*c*", "xxaxxbxxcxx"), 1);
    ck_assert_int_eq(gm("*a*b*c*", "xxaxxcxxbxx"), 0);
    ck_assert_int_eq(gm("a*b*a", "abba"), 1);
    ck_assert_int_eq(gm("a*b*a", "abab"), 0);
    ck_assert_int_eq(gm("*ab", "aab"), 1);
    ck_assert_int_eq(gm("*ab", "xa"), 0);
}
END_TEST

START_TEST(glob_question_mark_is_exactly_one_byte)
{
    ck_assert_int_eq(gm("user:?", "user:7"), 1);
    ck_assert_int_eq(gm("user:?", "user:"), 0);
    ck_assert_int_eq(gm("user:?", "user:77"), 0);
    ck_assert_int_eq(gm("lead?42", "lead:42"), 1);
    ck_assert_int_eq(gm("??", "ab"), 1);
    ck_assert_int_eq(gm("?*", ""), 0);
    ck_assert_int_eq(gm("*?", "x"), 1);
}
END_TEST

START_TEST(glob_backslash_escapes_next_byte)
{
    ck_assert_int_eq(gm("a\\*", "a*"), 1);
    ck_assert_int_eq(gm("a\\*", "ab"), 0);
    ck_assert_int_eq(gm("a\\?", "a?"), 1);
    ck_assert_int_eq(gm("a\\?", "ab"), 0);
    ck_assert_int_eq(gm("a\\\\b", "a\\b"), 1);
    ck_assert_int_eq(gm("\\a", "a"), 1);   /* escaped ordinary byte */
    ck_assert_int_eq(gm("a\\", "a\\"), 1); /* trailing lone '\' */
    ck_assert_int_eq(gm("a\\", "a"), 0);
    ck_assert_int_eq(gm("*\\*", "xx*"), 1);
    ck_assert_int_eq(gm("*\\*", "xx*y"), 0);
    ck_assert_int_eq(gm("\\**", "*abc"), 1);
    ck_assert_int_eq(gm("\\**", "abc"), 0);
}
END_TEST

START_TEST(glob_empty_pattern_and_string)
{
    ck_assert_int_eq(glob_match(NULL, 0, NULL, 0), 1);
    ck_assert_int_eq(glob_match("", 0, "x", 1), 0);
    ck_assert_int_eq(glob_match("x", 1, NULL, 0), 0);
    ck_assert_int_eq(glob_match("*", 1, NULL, 0), 1);
}
END_TEST

START_TEST(glob_uses_lengths_not_nul)
{
    /* Only the first 6 pattern bytes and 7 string bytes count. */
    ck_assert_int_eq(glob_match("lead:*XYZ", 6, "lead:42!!", 7), 1);
    ck_assert_int_eq(glob_match("a\0b", 3, "a\0b", 3), 1);
    ck_assert_int_eq(glob_match("a?b", 3, "a\0b", 3), 1);
    ck_assert_int_eq(glob_match("a\0b", 3, "a", 1), 0);
}
END_TEST

START_TEST(glob_any_matches_if_one_does)
{
    const char *pats[] = {"user:7", NULL, "lead:*", "team:?:eu"};

    ck_assert_int_eq(glob_any(pats, 4, "lead:42", 7), 1);
    ck_assert_int_eq(glob_any(pats, 4, "team:x:eu", 9), 1);
    ck_assert_int_eq(glob_any(pats, 4, "user:8", 6), 0);
    ck_assert_int_eq(glob_any(pats, 1, "lead:42", 7), 0);
    ck_assert_int_eq(glob_any(pats, 0, "user:7", 6), 0);
}
END_TEST

START_TEST(glob_pathological_pattern_is_fast)
{
    static const char pat[] = "a*a*a*a*a*a*b";
    size_t n = 10 * 1024;
    char *s = malloc(n);
    clock_t t0;
    double secs;

    ck_assert_ptr_nonnull(s);
    memset(s, 'a', n);
    t0 = clock();
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(glob_match(pat, sizeof(pat) - 1, s, n), 0);
    s[n - 1] = 'b';
    ck_assert_int_eq(glob_match(pat, sizeof(pat) - 1, s, n), 1);
    ck_assert_int_eq(glob_match("*a*a*a*a*a*a*a*a*a*a*c", 22, s, n), 0);
    secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    ck_assert_msg(secs < 0.5, "pathological glob took %.3f s", secs);
    free(s);
}
END_TEST

static Suite *
glob_suite(void)
{
    Suite *s = suite_create("glob");
    TCase *tc;

    tc = tcase_create("match");
    tcase_add_test(tc, glob_literal_matches_only_itself);
    tcase_add_test(tc, glob_star_at_end_matches_any_suffix);
    tcase_add_test(tc, glob_star_at_start_matches_any_prefix);
    tcase_add_test(tc, glob_star_in_middle);
    tcase_add_test(tc, glob_multiple_stars);
    tcase_add_test(tc, glob_question_mark_is_exactly_one_byte);
    tcase_add_test(tc, glob_backslash_escapes_next_byte);
    tcase_add_test(tc, glob_empty_pattern_and_string);
    tcase_add_test(tc, glob_uses_lengths_not_nul);
    suite_add_tcase(s, tc);

    tc = tcase_create("any");
    tcase_add_test(tc, glob_any_matches_if_one_does);
    suite_add_tcase(s, tc);

    tc = tcase_create("complexity");
    tcase_add_test(tc, glob_pathological_pattern_is_fast);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(glob_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
