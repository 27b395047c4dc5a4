/*
 * Recovery channel messages: PUT, HOLD and DROP round trips in the
 * compact encoding, the bounds the encoder refuses, and the decoder
 * refusing truncated, padded and malformed datagrams.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "shm/smsg.h"

static const char *const rooms3[] = {"user:42", "lead:7", "team:a"};
static const size_t lens3[] = {7, 6, 6};

START_TEST(smsg_put_round_trip_uses_only_the_bytes_in_use)
{
    unsigned char b[SMSG_MAX];
    struct sess_rec r;
    int type = 0;
    size_t n = smsg_put(b, sizeof(b), UINT64_C(0x0102030405060708), 77,
        "PPPPPPPPPPPPPPPPPPPP", "SSSSSSSSSSSSSSSSSSSS", "/admin", "42",
        rooms3, lens3, 3);

    ck_assert_uint_eq(n, 10 + 20 + 13 + 20 + 6 + 2 + (7 + 6 + 6 + 3));
    ck_assert_int_eq(b[0], SMSG_PUT);
    ck_assert_int_eq(b[2], 0x08); /* little-endian tag */
    ck_assert_int_eq(smsg_decode(b, n, &type, &r), SMSG_OK);
    ck_assert_int_eq(type, SMSG_PUT);
    ck_assert_uint_eq(r.tag, UINT64_C(0x0102030405060708));
    ck_assert_uint_eq(r.stamp, 77);
    ck_assert_str_eq(r.pid, "PPPPPPPPPPPPPPPPPPPP");
    ck_assert_str_eq(r.sid, "SSSSSSSSSSSSSSSSSSSS");
    ck_assert_str_eq(r.nsp, "/admin");
    ck_assert_str_eq(r.user, "42");
    ck_assert_uint_eq(r.rooms_len, 22);
    ck_assert_mem_eq(r.rooms, "user:42\0lead:7\0team:a\0", 22);
    ck_assert_int_eq(r.owner, 0);
    ck_assert_uint_eq(r.state, SESS_FREE);
}
END_TEST

START_TEST(smsg_put_without_user_or_rooms)
{
    unsigned char b[SMSG_MAX];
    struct sess_rec r;
    int type;
    size_t n = smsg_put(b, sizeof(b), 1, 2, "p", "s", "/", NULL, NULL, NULL,
        0);

    ck_assert_uint_eq(n, 10 + 1 + 13 + 1 + 1);
    ck_assert_int_eq(smsg_decode(b, n, &type, &r), SMSG_OK);
    ck_assert_str_eq(r.user, "");
    ck_assert_uint_eq(r.rooms_len, 0);
}
END_TEST

START_TEST(smsg_hold_and_drop_round_trip)
{
    unsigned char b[64];
    struct sess_rec r;
    int type;
    size_t n = smsg_end(b, sizeof(b), SMSG_HOLD, 9, "abc");

    ck_assert_uint_eq(n, 13);
    ck_assert_int_eq(smsg_decode(b, n, &type, &r), SMSG_OK);
    ck_assert_int_eq(type, SMSG_HOLD);
    ck_assert_uint_eq(r.tag, 9);
    ck_assert_str_eq(r.pid, "abc");
    n = smsg_end(b, sizeof(b), SMSG_DROP, 10, "abc");
    ck_assert_int_eq(smsg_decode(b, n, &type, &r), SMSG_OK);
    ck_assert_int_eq(type, SMSG_DROP);
    ck_assert_uint_eq(smsg_end(b, sizeof(b), SMSG_PUT, 1, "abc"), 0);
    ck_assert_uint_eq(smsg_end(b, 12, SMSG_DROP, 1, "abc"), 0);
    n = smsg_end(b, sizeof(b), SMSG_FETCH, 0, "abc");
    ck_assert_int_eq(smsg_decode(b, n, &type, &r), SMSG_OK);
    ck_assert_int_eq(type, SMSG_FETCH);
    n = smsg_end(b, sizeof(b), SMSG_FETCHED, 0, "abc");
    ck_assert_int_eq(smsg_decode(b, n, &type, &r), SMSG_OK);
    ck_assert_int_eq(type, SMSG_FETCHED);
    ck_assert_str_eq(r.pid, "abc");
    ck_assert_uint_eq(smsg_end(b, sizeof(b), 6, 1, "abc"), 0);
}
END_TEST

START_TEST(smsg_put_refuses_what_the_table_cannot_store)
{
    unsigned char b[SMSG_MAX + 16];
    char nsp[SESS_NSP_MAX + 2], user[SESS_USER_MAX + 2];
    static char big[SESS_ROOMS_BYTES];
    const char *one[1] = {big};
    size_t len[1];

    memset(nsp, 'n', sizeof(nsp) - 1);
    nsp[sizeof(nsp) - 1] = '\0';
    memset(user, 'u', sizeof(user) - 1);
    user[sizeof(user) - 1] = '\0';
    memset(big, 'r', sizeof(big));
    ck_assert_uint_eq(smsg_put(b, sizeof(b), 1, 1, "", "s", "/", "", NULL,
        NULL, 0), 0);
    ck_assert_uint_eq(smsg_put(b, sizeof(b), 1, 1, "p", "", "/", "", NULL,
        NULL, 0), 0);
    ck_assert_uint_eq(smsg_put(b, sizeof(b), 1, 1, "123456789012345678901",
        "s", "/", "", NULL, NULL, 0), 0);
    ck_assert_uint_eq(smsg_put(b, sizeof(b), 1, 1, "p", "s", nsp, "", NULL,
        NULL, 0), 0);
    nsp[SESS_NSP_MAX] = '\0';
    ck_assert_uint_gt(smsg_put(b, sizeof(b), 1, 1, "p", "s", nsp, "", NULL,
        NULL, 0), 0);
    ck_assert_uint_eq(smsg_put(b, sizeof(b), 1, 1, "p", "s", "/", user, NULL,
        NULL, 0), 0);
    user[SESS_USER_MAX] = '\0';
    /* Rooms: exactly SESS_ROOMS_BYTES with the terminator fits... */
    len[0] = SESS_ROOMS_BYTES - 1;
    size_t n = smsg_put(b, sizeof(b), 1, 1, "12345678901234567890",
        "12345678901234567890", nsp, user, one, len, 1);
    ck_assert_uint_eq(n, SMSG_MAX);
    struct sess_rec r;
    int type;
    ck_assert_int_eq(smsg_decode(b, n, &type, &r), SMSG_OK);
    ck_assert_uint_eq(r.rooms_len, SESS_ROOMS_BYTES);
    /* ...one byte more does not, nor a room holding a NUL. */
    len[0] = SESS_ROOMS_BYTES;
    ck_assert_uint_eq(smsg_put(b, sizeof(b), 1, 1, "p", "s", "/", "", one,
        len, 1), 0);
    const char *two[2] = {"a", "b"};
    size_t l2[2] = {1, SESS_ROOMS_BYTES - 2}; /* 2 + 2047 bytes */
    two[1] = big;
    ck_assert_uint_eq(smsg_put(b, sizeof(b), 1, 1, "p", "s", "/", "", two, l2,
        2), 0);
    size_t lnul[1] = {3};
    const char *nul[1] = {"a\0b"};
    ck_assert_uint_eq(smsg_put(b, sizeof(b), 1, 1, "p", "s", "/", "", nul,
        lnul, 1), 0);
    ck_assert_uint_eq(smsg_put(b, 30, 1, 1, "p", "s", "/", "", rooms3, lens3,
        3), 0);
}
END_TEST

START_TEST(smsg_decode_refuses_every_truncation_and_padding)
{
    unsigned char b[SMSG_MAX + 1];
    struct sess_rec r;
    int type;
    size_t n = smsg_put(b, sizeof(b), 5, 6, "pid", "sid", "/", "u", rooms3,
        lens3, 3);

    ck_assert_uint_gt(n, 0);
    for (size_t k = 0; k < n; k++)
        ck_assert_int_eq(smsg_decode(b, k, &type, &r), SMSG_E_INVAL);
    b[n] = 0;
    ck_assert_int_eq(smsg_decode(b, n + 1, &type, &r), SMSG_E_INVAL);
    n = smsg_end(b, sizeof(b), SMSG_DROP, 1, "pid");
    for (size_t k = 0; k < n; k++)
        ck_assert_int_eq(smsg_decode(b, k, &type, &r), SMSG_E_INVAL);
    ck_assert_int_eq(smsg_decode(b, n + 1, &type, &r), SMSG_E_INVAL);
}
END_TEST

START_TEST(smsg_decode_refuses_bad_fields)
{
    unsigned char b[SMSG_MAX], c[SMSG_MAX];
    struct sess_rec r;
    int type;
    size_t n = smsg_put(b, sizeof(b), 5, 6, "pid", "sid", "/", "u", rooms3,
        lens3, 3);

    ck_assert_int_eq(smsg_decode(b, n, &type, &r), SMSG_OK);
    memcpy(c, b, n);
    c[0] = 0;
    ck_assert_int_eq(smsg_decode(c, n, &type, &r), SMSG_E_INVAL);
    c[0] = 4; /* a FETCH is only a pid */
    ck_assert_int_eq(smsg_decode(c, n, &type, &r), SMSG_E_INVAL);
    c[0] = 6;
    ck_assert_int_eq(smsg_decode(c, n, &type, &r), SMSG_E_INVAL);
    memcpy(c, b, n);
    c[11] = '\0'; /* a NUL inside the pid */
    ck_assert_int_eq(smsg_decode(c, n, &type, &r), SMSG_E_INVAL);
    memcpy(c, b, n);
    c[n - 1] = 'x'; /* last room unterminated */
    ck_assert_int_eq(smsg_decode(c, n, &type, &r), SMSG_E_INVAL);
    memcpy(c, b, n);
    c[10 + 3 + 8] = 0; /* sid_len 0 */
    ck_assert_int_eq(smsg_decode(c, n, &type, &r), SMSG_E_INVAL);
    memcpy(c, b, n);
    c[10 + 3 + 8] = SESS_ID_LEN + 1;
    ck_assert_int_eq(smsg_decode(c, n, &type, &r), SMSG_E_INVAL);
    memcpy(c, b, n);
    c[10 + 3 + 9] = SESS_NSP_MAX + 1;
    ck_assert_int_eq(smsg_decode(c, n, &type, &r), SMSG_E_INVAL);
    memcpy(c, b, n);
    c[10 + 3 + 11] = 0xff; /* rooms_len far beyond the datagram */
    c[10 + 3 + 12] = 0xff;
    ck_assert_int_eq(smsg_decode(c, n, &type, &r), SMSG_E_INVAL);
    memcpy(c, b, n);
    c[1] = 0; /* pid_len 0 */
    ck_assert_int_eq(smsg_decode(c, n, &type, &r), SMSG_E_INVAL);
    c[1] = SESS_ID_LEN + 1;
    ck_assert_int_eq(smsg_decode(c, n, &type, &r), SMSG_E_INVAL);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("smsg");
    TCase *t = tcase_create("encode");
    tcase_add_test(t, smsg_put_round_trip_uses_only_the_bytes_in_use);
    tcase_add_test(t, smsg_put_without_user_or_rooms);
    tcase_add_test(t, smsg_hold_and_drop_round_trip);
    tcase_add_test(t, smsg_put_refuses_what_the_table_cannot_store);
    suite_add_tcase(s, t);
    t = tcase_create("decode");
    tcase_add_test(t, smsg_decode_refuses_every_truncation_and_padding);
    tcase_add_test(t, smsg_decode_refuses_bad_fields);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
