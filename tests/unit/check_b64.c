/*
 * Base64 digit tables: every byte value against both alphabets.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/b64.h"

static const char STD[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char URL[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

START_TEST(b64_digits_match_rfc4648_tables)
{
    for (int c = 0; c < 256; c++) {
        const char *s = c ? memchr(STD, c, 64) : NULL;
        const char *u = c ? memchr(URL, c, 64) : NULL;
        ck_assert_int_eq(b64_digit((unsigned char)c), s ? s - STD : -1);
        ck_assert_int_eq(b64_url_digit((unsigned char)c), u ? u - URL : -1);
    }
    ck_assert_int_eq(b64_digit('='), -1);
    ck_assert_int_eq(b64_url_digit('='), -1);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("b64");
    TCase *t = tcase_create("digits");
    tcase_add_test(t, b64_digits_match_rfc4648_tables);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
