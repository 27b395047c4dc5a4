/*
 * Unit tests for common/u8.c: the incremental UTF-8 validator. Results are
 * compared against a plain decode-then-check reference written here, over
 * every input of up to three bytes and the Autobahn 6.x style vectors.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "u8.h"

struct vec {
    const char *s;
    size_t n;
    int valid;
};

#define V(lit, ok)                                                             \
    {                                                                          \
        lit, sizeof(lit) - 1, ok                                               \
    }

/* Whole-buffer reference: decode each sequence, then check its value. */
static int
ref_valid(const unsigned char *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned b = p[i], len, cp, min;

        if (b < 0x80) {
            i++;
            continue;
        } else if ((b & 0xE0) == 0xC0) {
            len = 2, cp = b & 0x1F, min = 0x80;
        } else if ((b & 0xF0) == 0xE0) {
            len = 3, cp = b & 0x0F, min = 0x800;
        } else if ((b & 0xF8) == 0xF0) {
            len = 4, cp = b & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (unsigned k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

static enum u8_status
feed_all(const void *p, size_t n)
{
    struct u8_state st;

    u8_reset(&st);
    return u8_feed(&st, p, n);
}

/* Index of the byte at which byte-by-byte feeding first fails, or n. */
static size_t
fail_index(const unsigned char *p, size_t n)
{
    struct u8_state st;

    u8_reset(&st);
    for (size_t i = 0; i < n; i++)
        if (u8_feed(&st, p + i, 1) == U8_E_INVALID)
            return i;
    return n;
}

START_TEST(u8_accepts_empty_input)
{
    struct u8_state st = {0};

    ck_assert_int_eq(u8_feed(&st, NULL, 0), U8_OK);
    ck_assert_int_eq(u8_finish(&st), U8_OK);
    ck_assert_int_eq(u8_valid(NULL, 0), 1);
}
END_TEST

START_TEST(u8_accepts_every_ascii_byte)
{
    unsigned char buf[128];

    for (int i = 0; i < 128; i++)
        buf[i] = (unsigned char)i;
    ck_assert_int_eq(feed_all(buf, sizeof(buf)), U8_OK);
    ck_assert_int_eq(u8_valid(buf, sizeof(buf)), 1);
}
END_TEST

START_TEST(u8_finds_non_ascii_byte_at_every_word_position)
{
    unsigned char buf[80];

    /* Every alignment and position, so both the word loop and the tail
     * loop have to notice the byte. */
    for (size_t start = 0; start < 8; start++) {
        for (size_t len = 1; len <= 64; len++) {
            for (size_t k = 0; k < len; k++) {
                unsigned char *p = buf + start;

                memset(buf, 'a', sizeof(buf));
                p[k] = 0xFF;
                ck_assert_int_eq(feed_all(p, len), U8_E_INVALID);
                ck_assert_uint_eq(fail_index(p, len), k);
                p[k] = 0xC3; /* starts a 2-byte sequence: é = C3 A9 */
                if (k + 1 < len) {
                    p[k + 1] = 0xA9;
                    ck_assert_int_eq(feed_all(p, len), U8_OK);
                } else {
                    ck_assert_int_eq(feed_all(p, len), U8_INCOMPLETE);
                }
            }
        }
    }
}
END_TEST

START_TEST(u8_accepts_long_ascii_runs_of_every_length)
{
    unsigned char buf[300];

    memset(buf, 'x', sizeof(buf));
    for (size_t n = 0; n <= sizeof(buf); n++)
        ck_assert_int_eq(feed_all(buf, n), U8_OK);
}
END_TEST

static const struct vec boundaries[] = {
    V("\xC2\x80", 1),                                     /* U+0080 */
    V("\xDF\xBF", 1),                                     /* U+07FF */
    V("\xE0\xA0\x80", 1),                                 /* U+0800 */
    V("\xED\x9F\xBF", 1),                                 /* U+D7FF */
    V("\xEE\x80\x80", 1),                                 /* U+E000 */
    V("\xEF\xBF\xBF", 1),                                 /* U+FFFF */
    V("\xF0\x90\x80\x80", 1),                             /* U+10000 */
    V("\xF4\x8F\xBF\xBF", 1),                             /* U+10FFFF */
    V("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5", 1), /* κόσμε */
};

START_TEST(u8_accepts_first_and_last_code_point_of_each_length)
{
    for (size_t i = 0; i < sizeof(boundaries) / sizeof(boundaries[0]); i++) {
        const struct vec *v = &boundaries[i];

        ck_assert_msg(u8_valid((const unsigned char *)v->s, v->n) == 1,
                      "vector %zu", i);
    }
}
END_TEST

struct bad {
    const char *s;
    size_t n;
    size_t at; /* index of the first byte that must be rejected */
};

#define B(lit, at)                                                             \
    {                                                                          \
        lit, sizeof(lit) - 1, at                                               \
    }

static const struct bad bads[] = {
    B("\xC0\x80", 0),         /* overlong NUL, 2 bytes */
    B("\xC1\xBF", 0),         /* overlong U+007F */
    B("\xE0\x80\x80", 1),     /* overlong NUL, 3 bytes */
    B("\xE0\x9F\xBF", 1),     /* overlong U+07FF */
    B("\xF0\x80\x80\x80", 1), /* overlong NUL, 4 bytes */
    B("\xF0\x8F\xBF\xBF", 1), /* overlong U+FFFF */
    B("\xED\xA0\x80", 1),     /* U+D800 */
    B("\xED\xBF\xBF", 1),     /* U+DFFF */
    B("\xF4\x90\x80\x80", 1), /* U+110000 */
    B("\xF5\x80\x80\x80", 0),
    B("\xF8\x88\x80\x80\x80", 0), /* old 5-byte form */
    B("\xFC\x84\x80\x80\x80\x80", 0),
    B("\xFE", 0),
    B("\xFF", 0),
    B("\x80", 0), /* stray continuation */
    B("ab\xBF", 2),
    B("\xC2\x41", 1), /* continuation missing */
    B("\xE1\x80\x41", 2),
    B("\xF1\x80\x80\xC0", 3),
    B("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80"
      "edited",
      12),
};

START_TEST(u8_rejects_at_first_invalid_byte)
{
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        const struct bad *b = &bads[i];
        const unsigned char *p = (const unsigned char *)b->s;

        ck_assert_msg(feed_all(p, b->n) == U8_E_INVALID, "vector %zu", i);
        ck_assert_msg(u8_valid(p, b->n) == 0, "vector %zu", i);
        ck_assert_msg(fail_index(p, b->n) == b->at, "vector %zu: at %zu", i,
                      fail_index(p, b->n));
        /* The prefix before the bad byte is still acceptable. */
        ck_assert_msg(feed_all(p, b->at) != U8_E_INVALID, "vector %zu", i);
    }
}
END_TEST

START_TEST(u8_rejects_every_lead_byte_f5_to_ff)
{
    for (unsigned b = 0xF5; b <= 0xFF; b++) {
        unsigned char c = (unsigned char)b;

        ck_assert_int_eq(feed_all(&c, 1), U8_E_INVALID);
    }
    for (unsigned b = 0xC0; b <= 0xC1; b++) {
        unsigned char c = (unsigned char)b;

        ck_assert_int_eq(feed_all(&c, 1), U8_E_INVALID);
    }
}
END_TEST

START_TEST(u8_error_is_sticky_until_reset)
{
    struct u8_state st;

    u8_reset(&st);
    ck_assert_int_eq(u8_feed(&st, (const unsigned char *)"\xFF", 1),
                     U8_E_INVALID);
    ck_assert_int_eq(u8_feed(&st, (const unsigned char *)"a", 1), U8_E_INVALID);
    ck_assert_int_eq(u8_finish(&st), U8_E_INVALID);
    u8_reset(&st);
    ck_assert_int_eq(u8_feed(&st, (const unsigned char *)"a", 1), U8_OK);
    ck_assert_int_eq(u8_finish(&st), U8_OK);
}
END_TEST

/* Every 1-, 2- and 3-byte input, and 4-byte inputs with interesting tails. */
START_TEST(u8_matches_reference_on_all_short_inputs)
{
    static const unsigned char tails[] = {0x00, 0x41, 0x7F, 0x80, 0x8F,
                                          0x90, 0x9F, 0xA0, 0xBF, 0xC0,
                                          0xC2, 0xE0, 0xF0, 0xFF};
    unsigned char b[4];

    for (unsigned a = 0; a < 256; a++) {
        b[0] = (unsigned char)a;
        ck_assert_int_eq(u8_valid(b, 1), ref_valid(b, 1));
        for (unsigned c = 0; c < 256; c++) {
            b[1] = (unsigned char)c;
            ck_assert_int_eq(u8_valid(b, 2), ref_valid(b, 2));
            for (unsigned d = 0; d < 256; d++) {
                b[2] = (unsigned char)d;
                if (u8_valid(b, 3) != ref_valid(b, 3))
                    ck_abort_msg("%02x %02x %02x", a, c, d);
                if (a < 0xF0 || a > 0xF4)
                    continue;
                for (size_t t = 0; t < sizeof(tails); t++) {
                    b[3] = tails[t];
                    if (u8_valid(b, 4) != ref_valid(b, 4))
                        ck_abort_msg("%02x %02x %02x %02x", a, c, d, b[3]);
                }
            }
        }
    }
}
END_TEST

START_TEST(u8_matches_reference_on_random_mixed_text)
{
    /* Pieces of valid and invalid text glued at random; the split feed
     * must agree with one shot and with the reference. */
    static const char *pieces[] = {"a",
                                   "hello world, ",
                                   "\xC3\xA9",
                                   "\xE2\x82\xAC",
                                   "\xF0\x9F\x98\x80",
                                   "\xED\x9F\xBF",
                                   "\xC0",
                                   "\xBF",
                                   "\xED\xA0\x80",
                                   "\xF4\x90\x80\x80"};
    unsigned char buf[512];
    unsigned seed = 12345;

    for (int iter = 0; iter < 20000; iter++) {
        size_t n = 0, cut;
        struct u8_state st;
        enum u8_status s1, s2;
        int valid;

        while (n < 400) {
            const char *pc;

            seed = seed * 1103515245u + 12345u;
            /* mostly valid pieces, now and then a bad one */
            pc = pieces[(seed >> 16) % ((seed >> 8) % 16 == 0 ? 10 : 6)];
            memcpy(buf + n, pc, strlen(pc));
            n += strlen(pc);
            if ((seed >> 4) % 23 == 0)
                break;
        }
        seed = seed * 1103515245u + 12345u;
        cut = (seed >> 16) % (n + 1);
        valid = ref_valid(buf, n);
        ck_assert_int_eq(u8_valid(buf, n), valid);
        u8_reset(&st);
        s1 = u8_feed(&st, buf, cut);
        s2 = u8_feed(&st, buf + cut, n - cut);
        if (valid)
            ck_assert_int_eq(s2, U8_OK);
        else
            ck_assert(s1 == U8_E_INVALID || s2 != U8_OK ||
                      u8_finish(&st) != U8_OK);
    }
}
END_TEST

static const char *const multibyte[] = {
    "\xC2\x80",         "\xC3\xA9",         "\xDF\xBF",
    "\xE0\xA0\x80",     "\xE2\x82\xAC",     "\xED\x9F\xBF",
    "\xEE\x80\x80",     "\xEF\xBF\xBD",     "\xEF\xBF\xBF",
    "\xF0\x90\x80\x80", "\xF0\x9F\x98\x80", "\xF3\xBF\xBF\xBF",
    "\xF4\x80\x80\x80", "\xF4\x8F\xBF\xBF",
};

START_TEST(u8_accepts_sequence_split_at_every_position)
{
    for (size_t i = 0; i < sizeof(multibyte) / sizeof(multibyte[0]); i++) {
        const unsigned char *s = (const unsigned char *)multibyte[i];
        size_t n = strlen(multibyte[i]);

        for (size_t cut = 0; cut <= n; cut++) {
            struct u8_state st;
            enum u8_status first;

            u8_reset(&st);
            first = u8_feed(&st, s, cut);
            ck_assert_int_eq(first,
                             cut == 0 || cut == n ? U8_OK : U8_INCOMPLETE);
            ck_assert_int_eq(u8_feed(&st, s + cut, n - cut), U8_OK);
            ck_assert_int_eq(u8_finish(&st), U8_OK);
        }
    }
}
END_TEST

START_TEST(u8_accepts_sequence_fed_byte_by_byte_inside_text)
{
    for (size_t i = 0; i < sizeof(multibyte) / sizeof(multibyte[0]); i++) {
        unsigned char buf[64];
        size_t n;
        struct u8_state st;

        n = (size_t)snprintf((char *)buf, sizeof(buf), "abcdefghij%sklm",
                             multibyte[i]);
        u8_reset(&st);
        for (size_t k = 0; k < n; k++)
            ck_assert_int_ne(u8_feed(&st, buf + k, 1), U8_E_INVALID);
        ck_assert_int_eq(u8_finish(&st), U8_OK);
    }
}
END_TEST

START_TEST(u8_rejects_sequence_truncated_at_message_end)
{
    for (size_t i = 0; i < sizeof(multibyte) / sizeof(multibyte[0]); i++) {
        const unsigned char *s = (const unsigned char *)multibyte[i];
        size_t n = strlen(multibyte[i]);

        for (size_t cut = 1; cut < n; cut++) {
            struct u8_state st;

            u8_reset(&st);
            ck_assert_int_eq(u8_feed(&st, (const unsigned char *)"ok", 2),
                             U8_OK);
            ck_assert_int_eq(u8_feed(&st, s, cut), U8_INCOMPLETE);
            ck_assert_int_eq(u8_finish(&st), U8_E_INVALID);
            ck_assert_int_eq(u8_valid(s, cut), 0);
        }
    }
}
END_TEST

START_TEST(u8_rejects_invalid_byte_in_second_fragment)
{
    struct u8_state st;

    /* E0 alone is fine; E0 80 is an overlong, caught on the 80. */
    u8_reset(&st);
    ck_assert_int_eq(u8_feed(&st, (const unsigned char *)"x\xE0", 2),
                     U8_INCOMPLETE);
    ck_assert_int_eq(u8_feed(&st, (const unsigned char *)"\x80\x80", 2),
                     U8_E_INVALID);
    /* ED then A0 in the next fragment: a surrogate. */
    u8_reset(&st);
    ck_assert_int_eq(u8_feed(&st, (const unsigned char *)"\xED", 1),
                     U8_INCOMPLETE);
    ck_assert_int_eq(u8_feed(&st, (const unsigned char *)"\xA0\x80", 2),
                     U8_E_INVALID);
    /* F4 then 90: above U+10FFFF. */
    u8_reset(&st);
    ck_assert_int_eq(u8_feed(&st, (const unsigned char *)"\xF4", 1),
                     U8_INCOMPLETE);
    ck_assert_int_eq(u8_feed(&st, (const unsigned char *)"\x90", 1),
                     U8_E_INVALID);
}
END_TEST

/*
 * Vectors in the style of Autobahn|Testsuite case 6 (after Markus Kuhn's
 * UTF-8 stress test): 6.2-6.4 κόσμε variants, 6.6 growing prefixes, 6.7-6.11
 * boundaries, 6.12-6.21 malformed, 6.22-6.23 noncharacters and U+FFFD.
 */
static const struct vec autobahn[] = {
    V("Hello-\xC2\xB5@\xC3\x9F\xC3\xB6\xC3\xA4\xC3\xBC\xC3\xA0\xC3\xA1"
      "-UTF-8!!",
      1),
    V("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5", 1),
    V("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80"
      "edited",
      0),
    V("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xF4\x90\x80\x80"
      "edited",
      0),
    V("\xCE", 0),
    V("\xCE\xBA", 1),
    V("\xCE\xBA\xE1", 0),
    V("\xCE\xBA\xE1\xBD", 0),
    V("\xCE\xBA\xE1\xBD\xB9", 1),
    V("\xCE\xBA\xE1\xBD\xB9\xCF", 0),
    V("\xCE\xBA\xE1\xBD\xB9\xCF\x83", 1),
    V("\x00", 1),
    V("\xC2\x80", 1),
    V("\xE0\xA0\x80", 1),
    V("\xF0\x90\x80\x80", 1),
    V("\xF8\x88\x80\x80\x80", 0),
    V("\xFC\x84\x80\x80\x80\x80", 0),
    V("\x7F", 1),
    V("\xDF\xBF", 1),
    V("\xEF\xBF\xBF", 1),
    V("\xF4\x8F\xBF\xBF", 1),
    V("\xF7\xBF\xBF\xBF", 0),
    V("\xFB\xBF\xBF\xBF\xBF", 0),
    V("\xFD\xBF\xBF\xBF\xBF\xBF", 0),
    V("\xED\x9F\xBF", 1),
    V("\xEE\x80\x80", 1),
    V("\xEF\xBF\xBD", 1),
    V("\xF4\x90\x80\x80", 0),
    V("\x80", 0),
    V("\xBF", 0),
    V("\x80\xBF", 0),
    V("\x80\xBF\x80", 0),
    V("\x80\xBF\x80\xBF", 0),
    V("\xC0\x20\xC1\x20", 0),
    V("\xE0\x20\xEF\x20", 0),
    V("\xF0\x20\xF7\x20", 0),
    V("\xC0", 0),
    V("\xE0\x80", 0),
    V("\xF0\x80\x80", 0),
    V("\xDF", 0),
    V("\xEF\xBF", 0),
    V("\xF7\xBF\xBF", 0),
    V("\xC0\xE0\x80\xF0\x80\x80\xDF\xEF\xBF\xF7\xBF\xBF", 0),
    V("\xFE", 0),
    V("\xFF", 0),
    V("\xFE\xFE\xFF\xFF", 0),
    V("\xC0\xAF", 0),
    V("\xE0\x80\xAF", 0),
    V("\xF0\x80\x80\xAF", 0),
    V("\xC1\xBF", 0),
    V("\xE0\x9F\xBF", 0),
    V("\xF0\x8F\xBF\xBF", 0),
    V("\xC0\x80", 0),
    V("\xE0\x80\x80", 0),
    V("\xF0\x80\x80\x80", 0),
    V("\xED\xA0\x80", 0),
    V("\xED\xAD\xBF", 0),
    V("\xED\xAE\x80", 0),
    V("\xED\xAF\xBF", 0),
    V("\xED\xB0\x80", 0),
    V("\xED\xBE\x80", 0),
    V("\xED\xBF\xBF", 0),
    V("\xED\xA0\x80\xED\xB0\x80", 0),
    V("\xED\xAF\xBF\xED\xBF\xBF", 0),
    V("\xEF\xBF\xBE", 1),
    V("\xF0\x9F\xBF\xBE", 1),
    V("\xF0\x9F\xBF\xBF", 1),
    V("\xF4\x8F\xBF\xBE", 1),
    V("\xEF\xB7\x90", 1),
    V("\xEF\xB7\xAF", 1),
};

START_TEST(u8_autobahn_case6_vectors)
{
    for (size_t i = 0; i < sizeof(autobahn) / sizeof(autobahn[0]); i++) {
        const struct vec *v = &autobahn[i];
        const unsigned char *p = (const unsigned char *)v->s;
        struct u8_state st;
        enum u8_status s;

        ck_assert_msg(u8_valid(p, v->n) == v->valid, "vector %zu", i);
        ck_assert_msg(ref_valid(p, v->n) == v->valid, "ref vector %zu", i);
        /* Same verdict when each byte is its own fragment. */
        u8_reset(&st);
        s = U8_OK;
        for (size_t k = 0; k < v->n && s != U8_E_INVALID; k++)
            s = u8_feed(&st, p + k, 1);
        ck_assert_msg((s != U8_E_INVALID && u8_finish(&st) == U8_OK) ==
                          v->valid,
                      "split vector %zu", i);
    }
}
END_TEST

static Suite *
u8_suite(void)
{
    Suite *s = suite_create("u8");
    TCase *tc;

    tc = tcase_create("ascii");
    tcase_add_test(tc, u8_accepts_empty_input);
    tcase_add_test(tc, u8_accepts_every_ascii_byte);
    tcase_add_test(tc, u8_accepts_long_ascii_runs_of_every_length);
    tcase_add_test(tc, u8_finds_non_ascii_byte_at_every_word_position);
    suite_add_tcase(s, tc);

    tc = tcase_create("rules");
    tcase_add_test(tc, u8_accepts_first_and_last_code_point_of_each_length);
    tcase_add_test(tc, u8_rejects_at_first_invalid_byte);
    tcase_add_test(tc, u8_rejects_every_lead_byte_f5_to_ff);
    tcase_add_test(tc, u8_error_is_sticky_until_reset);
    tcase_add_test(tc, u8_autobahn_case6_vectors);
    suite_add_tcase(s, tc);

    tc = tcase_create("reference");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, u8_matches_reference_on_all_short_inputs);
    tcase_add_test(tc, u8_matches_reference_on_random_mixed_text);
    suite_add_tcase(s, tc);

    tc = tcase_create("incremental");
    tcase_add_test(tc, u8_accepts_sequence_split_at_every_position);
    tcase_add_test(tc, u8_accepts_sequence_fed_byte_by_byte_inside_text);
    tcase_add_test(tc, u8_rejects_sequence_truncated_at_message_end);
    tcase_add_test(tc, u8_rejects_invalid_byte_in_second_fragment);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(u8_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
