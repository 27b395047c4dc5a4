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
        sizeof(data), 0, 0}, d;
    const char *argv[RENT_XADD_ARGC];
    size_t len[RENT_XADD_ARGC];
    char num[RENT_NUMBUF];
    struct rent_str f[14] = {RS("ep"), RS("3"), RS("gn"), RS("77")};
    int n = rent_xadd_argv("wsgate", "wsgate:gseq", 100000, 2, &e, num,
        argv, len);

    ck_assert_int_eq(n, RENT_XADD_ARGC);
    ck_assert_str_eq(argv[0], "EVAL");
    ck_assert_ptr_nonnull(strstr(argv[1], "XADD"));
    ck_assert_str_eq(argv[2], "2");
    ck_assert_str_eq(argv[3], "wsgate");
    ck_assert_str_eq(argv[4], "wsgate:gseq");
    ck_assert_int_eq(memcmp(argv[5], "100000", len[5]), 0);
    ck_assert_int_eq(memcmp(argv[6], "2", len[6]), 0);
    /* What the script adds in front: ep and gn, as Redis would. */
    for (int i = 0; i < 10; i++)
        f[4 + i] = (struct rent_str){argv[7 + i], len[7 + i]};
    ck_assert_int_eq(rent_parse(f, 14, &d), RENT_OK);
    ck_assert_uint_eq(d.origin.n, 11);
    ck_assert_int_eq(memcmp(d.origin.p, "node-a:3001", 11), 0);
    ck_assert_int_eq(memcmp(d.inc.p, "9f3a", 4), 0);
    ck_assert_uint_eq(d.oseq, 42);
    ck_assert_uint_eq(d.kind, 1);
    ck_assert_uint_eq(d.len, sizeof(data));
    ck_assert_int_eq(memcmp(d.data, data, sizeof(data)), 0);
    ck_assert_uint_eq(d.epoch, 3);
    ck_assert_uint_eq(d.gn, 77);
    ck_assert_uint_eq(rent_offset(d.epoch, d.gn), (UINT64_C(3) << 32) + 77);
}
END_TEST

START_TEST(rent_offset_stays_below_2_to_53)
{
    ck_assert_uint_eq(rent_offset(1, 1), (UINT64_C(1) << 32) + 1);
    ck_assert_uint_eq(rent_offset(RENT_EPOCH_MAX, UINT32_MAX),
        (UINT64_C(1) << 53) - 1);
    ck_assert_uint_eq(rent_offset(RENT_EPOCH_MAX + 1, 1), 0);
    ck_assert_uint_eq(rent_offset(1, (uint64_t)UINT32_MAX + 1), 0);
    ck_assert_uint_eq(rent_offset(0, 1), 0);
    ck_assert_uint_eq(rent_offset(1, 0), 0);
}
END_TEST

START_TEST(rent_parse_ignores_unknown_fields_in_any_order)
{
    struct rent_str f[] = {RS("data"), RS("\x03{}"), RS("extra"), RS("x"),
        RS("kind"), RS("3"), RS("oseq"), RS("7"), RS("inc"), RS("i"),
        RS("origin"), RS("b"), RS("gn"), RS("1"), RS("ep"), RS("1")};
    struct rent e;

    ck_assert_int_eq(rent_parse(f, 16, &e), RENT_OK);
    ck_assert_uint_eq(e.kind, 3);
    ck_assert_uint_eq(e.oseq, 7);
    ck_assert_uint_eq(e.len, 3);
}
END_TEST

START_TEST(rent_parse_refuses_bad_entries)
{
    struct rent e;
    struct rent_str ok[] = {RS("origin"), RS("a"), RS("inc"), RS("i"),
        RS("oseq"), RS("1"), RS("kind"), RS("1"), RS("data"), RS("\x01x"),
        RS("ep"), RS("1"), RS("gn"), RS("9")};
    struct rent_str f[16];

    ck_assert_int_eq(rent_parse(ok, 14, &e), RENT_OK);
    ck_assert_int_eq(rent_parse(ok, 13, &e), RENT_E_FIELD);
    ck_assert_int_eq(rent_parse(ok, 12, &e), RENT_E_FIELD);
    memcpy(f, ok, sizeof(ok));
    f[14] = RS("oseq");
    f[15] = RS("2");
    ck_assert_int_eq(rent_parse(f, 16, &e), RENT_E_FIELD);
    memcpy(f, ok, sizeof(ok));
    f[1] = RS("");
    ck_assert_int_eq(rent_parse(f, 14, &e), RENT_E_ORIGIN);
    memcpy(f, ok, sizeof(ok));
    f[3] = RS("012345678901234567890123456789012");
    ck_assert_int_eq(rent_parse(f, 14, &e), RENT_E_ORIGIN);
    static const char *badnum[] = {"0", "-1", "+1", "1x", "",
        "18446744073709551616"};
    for (size_t i = 0; i < sizeof(badnum) / sizeof(*badnum); i++) {
        memcpy(f, ok, sizeof(ok));
        f[5] = (struct rent_str){badnum[i], strlen(badnum[i])};
        ck_assert_msg(rent_parse(f, 14, &e) == RENT_E_NUMBER, "%s",
            badnum[i]);
    }
    memcpy(f, ok, sizeof(ok));
    f[7] = RS("256");
    ck_assert_int_eq(rent_parse(f, 14, &e), RENT_E_NUMBER);
    memcpy(f, ok, sizeof(ok));
    f[7] = RS("2");
    ck_assert_int_eq(rent_parse(f, 14, &e), RENT_E_DATA);
    memcpy(f, ok, sizeof(ok));
    f[9] = RS("");
    ck_assert_int_eq(rent_parse(f, 14, &e), RENT_E_DATA);
    /* Not added by the script: no ep or gn. */
    ck_assert_int_eq(rent_parse(ok, 10, &e), RENT_E_FIELD);
    memcpy(f, ok, sizeof(ok));
    f[11] = RS("2097152"); /* epoch over RENT_EPOCH_MAX */
    ck_assert_int_eq(rent_parse(f, 14, &e), RENT_E_NUMBER);
    memcpy(f, ok, sizeof(ok));
    f[13] = RS("0");
    ck_assert_int_eq(rent_parse(f, 14, &e), RENT_E_NUMBER);
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
    tcase_add_test(t, rent_offset_stays_below_2_to_53);
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
