/*
 * Unit tests for master/evl.c: sequence numbers start at 1 and only grow;
 * the ring keeps the newest cap entries and says which it lost; the JSON
 * page honours since and limit and reports missed, next and more; a
 * resize keeps the newest entries; texts are escaped, UTF-8 kept whole.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "master/evl.h"

static uint64_t
add(struct evl *l, const char *text)
{
    struct evl_ent e = {0};

    e.kind = EVQ_CONNECT;
    e.slot = 1;
    snprintf(e.text, sizeof(e.text), "%s", text);
    return evl_add(l, &e);
}

/* evl_json as a NUL-terminated string (caller frees). */
static char *
json(struct evl *l, int has, uint64_t since, size_t limit)
{
    struct evbuffer *b = evbuffer_new();
    size_t n;
    char *s;

    evl_json(l, has, since, limit, b);
    n = evbuffer_get_length(b);
    s = malloc(n + 1);
    evbuffer_remove(b, s, n);
    s[n] = '\0';
    evbuffer_free(b);
    return s;
}

START_TEST(evl_seq_grows_and_ring_wraps)
{
    struct evl *l = evl_new(4);
    char t[16];

    ck_assert_ptr_nonnull(l);
    ck_assert_uint_eq(evl_first_seq(l), 1);
    ck_assert_uint_eq(evl_next_seq(l), 1);
    ck_assert_ptr_null(evl_get(l, 1));
    for (int i = 1; i <= 6; i++) {
        snprintf(t, sizeof(t), "e%d", i);
        ck_assert_uint_eq(add(l, t), (uint64_t)i);
    }
    ck_assert_uint_eq(evl_first_seq(l), 3);
    ck_assert_uint_eq(evl_next_seq(l), 7);
    ck_assert_ptr_null(evl_get(l, 2));
    ck_assert_str_eq(evl_get(l, 3)->text, "e3");
    ck_assert_str_eq(evl_get(l, 6)->text, "e6");
    ck_assert_uint_eq(evl_get(l, 6)->seq, 6);
    ck_assert_ptr_null(evl_get(l, 7));
    evl_free(&l);
    ck_assert_ptr_null(l);
    evl_free(&l);
}
END_TEST

START_TEST(evl_json_pages_and_gaps)
{
    struct evl *l = evl_new(4);
    char *s;

    for (int i = 1; i <= 6; i++)
        add(l, "x");
    /* Without since: the newest limit, oldest first. */
    s = json(l, 0, 0, 2);
    ck_assert_ptr_nonnull(strstr(s, "\"first_seq\":3,\"next_seq\":7,"
        "\"next\":7,\"missed\":0,\"more\":false"));
    ck_assert_ptr_nonnull(strstr(s, "{\"seq\":5,"));
    ck_assert_ptr_nonnull(strstr(s, "{\"seq\":6,"));
    ck_assert_ptr_null(strstr(s, "{\"seq\":4,"));
    free(s);
    /* since 1: entries 1 and 2 were overwritten. */
    s = json(l, 1, 1, 3);
    ck_assert_ptr_nonnull(strstr(s, "\"next\":6,\"missed\":2,"
        "\"more\":true"));
    ck_assert_ptr_nonnull(strstr(s, "[{\"seq\":3,"));
    ck_assert_ptr_null(strstr(s, "{\"seq\":6,"));
    free(s);
    /* since next_seq: nothing new, nothing missed. */
    s = json(l, 1, 7, 10);
    ck_assert_ptr_nonnull(strstr(s, "\"next\":7,\"missed\":0,"
        "\"more\":false,\"events\":[]"));
    free(s);
    /* since beyond next_seq: empty, next stays at next_seq. */
    s = json(l, 1, 100, 10);
    ck_assert_ptr_nonnull(strstr(s, "\"next\":7,"));
    ck_assert_ptr_nonnull(strstr(s, "\"events\":[]"));
    free(s);
    evl_free(&l);
}
END_TEST

START_TEST(evl_resize_keeps_newest)
{
    struct evl *l = evl_new(8);
    char t[16];

    for (int i = 1; i <= 6; i++) {
        snprintf(t, sizeof(t), "e%d", i);
        add(l, t);
    }
    ck_assert_int_eq(evl_resize(l, 3), 0);
    ck_assert_uint_eq(evl_first_seq(l), 4);
    ck_assert_str_eq(evl_get(l, 4)->text, "e4");
    ck_assert_str_eq(evl_get(l, 6)->text, "e6");
    ck_assert_uint_eq(add(l, "e7"), 7);
    ck_assert_uint_eq(evl_first_seq(l), 5);
    ck_assert_int_eq(evl_resize(l, 16), 0);
    ck_assert_uint_eq(evl_first_seq(l), 5);
    ck_assert_str_eq(evl_get(l, 7)->text, "e7");
    ck_assert_int_eq(evl_resize(l, 0), -1);
    evl_free(&l);
}
END_TEST

START_TEST(evl_json_escapes_text)
{
    struct evl *l = evl_new(2);
    char *s;

    add(l, "a\"b\\c\nd\xc3\xa9");
    add(l, "cut \xc3");
    s = json(l, 0, 0, 10);
    /* Valid UTF-8 passes; a character cut in two does not. */
    ck_assert_ptr_nonnull(strstr(s,
        "\"text\":\"a\\\"b\\\\c\\u000ad\xc3\xa9\""));
    ck_assert_ptr_nonnull(strstr(s, "\"text\":\"cut ?\""));
    ck_assert_ptr_nonnull(strstr(s, "\"kind\":\"connect\""));
    free(s);
    evl_free(&l);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("evl");
    TCase *tc = tcase_create("ring");
    TCase *tj = tcase_create("json");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, evl_seq_grows_and_ring_wraps);
    tcase_add_test(tc, evl_resize_keeps_newest);
    tcase_add_test(tj, evl_json_pages_and_gaps);
    tcase_add_test(tj, evl_json_escapes_text);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, tj);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
