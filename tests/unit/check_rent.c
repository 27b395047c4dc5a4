/*
 * Stream entry codec: the XADD argument list decodes back to the entry
 * (binary data included), missing/duplicate/bad fields are refused,
 * entry ids and INFO's run_id are parsed strictly.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/rent.h"

#define RS(x) ((struct rent_str){(x), sizeof(x) - 1})

START_TEST(rent_xadd_argv_roundtrips_binary_data)
{
    static const unsigned char data[] = {1, 0, 0xff, '\r', '\n', 0, 7};
    struct rent e = {RS("node-a:3001"), RS("9f3a"), 42, 1, data,
        sizeof(data)}, d;
    const char *argv[RENT_XADD_ARGC];
    size_t len[RENT_XADD_ARGC];
    char num[RENT_NUMBUF];
    struct rent_str f[10];
    int n = rent_xadd_argv("wsgate", 100000, &e, num, argv, len);

    ck_assert_int_eq(n, RENT_XADD_ARGC);
    ck_assert_str_eq(argv[0], "XADD");
    ck_assert_str_eq(argv[1], "wsgate");
    ck_assert_str_eq(argv[2], "MAXLEN");
    ck_assert_str_eq(argv[3], "~");
    ck_assert_int_eq(memcmp(argv[4], "100000", len[4]), 0);
    ck_assert_str_eq(argv[5], "*");
    for (int i = 0; i < 10; i++)
        f[i] = (struct rent_str){argv[6 + i], len[6 + i]};
    ck_assert_int_eq(rent_parse(f, 10, &d), RENT_OK);
    ck_assert_uint_eq(d.origin.n, 11);
    ck_assert_int_eq(memcmp(d.origin.p, "node-a:3001", 11), 0);
    ck_assert_int_eq(memcmp(d.inc.p, "9f3a", 4), 0);
    ck_assert_uint_eq(d.oseq, 42);
    ck_assert_uint_eq(d.kind, 1);
    ck_assert_uint_eq(d.len, sizeof(data));
    ck_assert_int_eq(memcmp(d.data, data, sizeof(data)), 0);
}
END_TEST

START_TEST(rent_parse_ignores_unknown_fields_in_any_order)
{
    struct rent_str f[] = {RS("data"), RS("\x03{}"), RS("extra"), RS("x"),
        RS("kind"), RS("3"), RS("oseq"), RS("7"), RS("inc"), RS("i"),
        RS("origin"), RS("b")};
    struct rent e;

    ck_assert_int_eq(rent_parse(f, 12, &e), RENT_OK);
    ck_assert_uint_eq(e.kind, 3);
    ck_assert_uint_eq(e.oseq, 7);
    ck_assert_uint_eq(e.len, 3);
}
END_TEST

START_TEST(rent_parse_refuses_bad_entries)
{
    struct rent e;
    struct rent_str ok[] = {RS("origin"), RS("a"), RS("inc"), RS("i"),
        RS("oseq"), RS("1"), RS("kind"), RS("1"), RS("data"), RS("\x01x")};
    struct rent_str f[12];

    ck_assert_int_eq(rent_parse(ok, 10, &e), RENT_OK);
    ck_assert_int_eq(rent_parse(ok, 9, &e), RENT_E_FIELD);
    ck_assert_int_eq(rent_parse(ok, 8, &e), RENT_E_FIELD);
    memcpy(f, ok, sizeof(ok));
    f[10] = RS("oseq");
    f[11] = RS("2");
    ck_assert_int_eq(rent_parse(f, 12, &e), RENT_E_FIELD);
    memcpy(f, ok, sizeof(ok));
    f[1] = RS("");
    ck_assert_int_eq(rent_parse(f, 10, &e), RENT_E_ORIGIN);
    memcpy(f, ok, sizeof(ok));
    f[3] = RS("012345678901234567890123456789012");
    ck_assert_int_eq(rent_parse(f, 10, &e), RENT_E_ORIGIN);
    static const char *badnum[] = {"0", "-1", "+1", "1x", "",
        "18446744073709551616"};
    for (size_t i = 0; i < sizeof(badnum) / sizeof(*badnum); i++) {
        memcpy(f, ok, sizeof(ok));
        f[5] = (struct rent_str){badnum[i], strlen(badnum[i])};
        ck_assert_msg(rent_parse(f, 10, &e) == RENT_E_NUMBER, "%s",
            badnum[i]);
    }
    memcpy(f, ok, sizeof(ok));
    f[7] = RS("256");
    ck_assert_int_eq(rent_parse(f, 10, &e), RENT_E_NUMBER);
    memcpy(f, ok, sizeof(ok));
    f[7] = RS("2");
    ck_assert_int_eq(rent_parse(f, 10, &e), RENT_E_DATA);
    memcpy(f, ok, sizeof(ok));
    f[9] = RS("");
    ck_assert_int_eq(rent_parse(f, 10, &e), RENT_E_DATA);
}
END_TEST

START_TEST(rent_ids_parse_compare_format)
{
    struct rent_id a, b;
    char out[RENT_ID_MAX];

    ck_assert_int_eq(rent_id_parse("1700000000000-5", 15, &a), RENT_OK);
    ck_assert_uint_eq(a.ms, 1700000000000ULL);
    ck_assert_uint_eq(a.seq, 5);
    ck_assert_int_eq(rent_id_parse("1700000000000-12", 16, &b), RENT_OK);
    ck_assert_int_eq(rent_id_cmp(a, b), -1);
    ck_assert_int_eq(rent_id_cmp(b, a), 1);
    ck_assert_int_eq(rent_id_cmp(a, a), 0);
    rent_id_format(b, out);
    ck_assert_str_eq(out, "1700000000000-12");
    ck_assert_int_eq(rent_id_parse("0-0", 3, &a), RENT_OK);
    ck_assert_int_eq(rent_id_parse("12", 2, &a), RENT_E_ID);
    ck_assert_int_eq(rent_id_parse("-1", 2, &a), RENT_E_ID);
    ck_assert_int_eq(rent_id_parse("1-", 2, &a), RENT_E_ID);
    ck_assert_int_eq(rent_id_parse("1-2-3", 5, &a), RENT_E_ID);
}
END_TEST

START_TEST(rent_info_run_id_found_only_on_its_line)
{
    static const char info[] = "# Server\r\nredis_version:7.0.15\r\n"
        "run_id:0123456789abcdef0123456789abcdef01234567\r\ntcp_port:6379\r\n";
    static const char fake[] = "x_run_id:0123456789abcdef0123456789abcdef0123"
        "4567\r\n";
    static const char shortid[] = "run_id:0123\r\n";
    char id[RENT_RUNID_LEN + 1];

    ck_assert_int_eq(rent_info_run_id(info, sizeof(info) - 1, id), RENT_OK);
    ck_assert_str_eq(id, "0123456789abcdef0123456789abcdef01234567");
    ck_assert_int_eq(rent_info_run_id(fake, sizeof(fake) - 1, id),
        RENT_E_RUNID);
    ck_assert_int_eq(rent_info_run_id(shortid, sizeof(shortid) - 1, id),
        RENT_E_RUNID);
    ck_assert_int_eq(rent_info_run_id("", 0, id), RENT_E_RUNID);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("rent");
    TCase *t = tcase_create("codec");
    tcase_add_test(t, rent_xadd_argv_roundtrips_binary_data);
    tcase_add_test(t, rent_parse_ignores_unknown_fields_in_any_order);
    tcase_add_test(t, rent_parse_refuses_bad_entries);
    tcase_add_test(t, rent_ids_parse_compare_format);
    tcase_add_test(t, rent_info_run_id_found_only_on_its_line);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
