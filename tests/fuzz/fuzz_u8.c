/*
 * libFuzzer harness for common/u8.c. The word-at-a-time validator is checked
 * against a byte-at-a-time reference written here a different way (decode
 * the code point prefix and ask whether any valid completion remains), for
 * the verdict, the position of the first bad byte, and agreement between
 * one-shot, two-piece and byte-by-byte feeding. Input bytes are copied into
 * exactly-sized buffers so ASan catches any read past the end.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "u8.h"

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #c);                                                       \
            abort();                                                           \
        }                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Can a code point in [lo, hi] of at least min still be valid? */
static int
ref_possible(uint32_t lo, uint32_t hi, uint32_t min)
{
    uint32_t a = lo > min ? lo : min;

    if (a <= hi && a <= 0xD7FF)
        return 1;
    if (a < 0xE000)
        a = 0xE000;
    return a <= hi && a <= 0x10FFFF;
}

/*
 * Index of the first byte that cannot belong to valid UTF-8, or n; on n,
 * *complete says whether the input also ends on a character.
 */
static size_t
ref_scan(const uint8_t *p, size_t n, int *complete)
{
    size_t i = 0;

    *complete = 1;
    while (i < n) {
        unsigned b = p[i], len;
        uint32_t cp, min;

        if (b < 0x80) {
            i++;
            continue;
        }
        if (b >= 0xC0 && b < 0xE0) {
            len = 2, cp = b & 0x1F, min = 0x80;
        } else if (b >= 0xE0 && b < 0xF0) {
            len = 3, cp = b & 0x0F, min = 0x800;
        } else if (b >= 0xF0 && b < 0xF8) {
            len = 4, cp = b & 0x07, min = 0x10000;
        } else {
            return i;
        }
        for (unsigned k = 0; k < len; k++) {
            unsigned rem = len - 1 - k;
            uint32_t lo, hi;

            if (k > 0) {
                if (i + k >= n) {
                    *complete = 0;
                    return n;
                }
                if ((p[i + k] & 0xC0) != 0x80)
                    return i + k;
                cp = cp << 6 | (p[i + k] & 0x3F);
            }
            lo = cp << (6 * rem);
            hi = lo | ((UINT32_C(1) << (6 * rem)) - 1);
            if (!ref_possible(lo, hi, min))
                return i + k;
        }
        i += len;
    }
    return n;
}

static unsigned char *
dup_exact(const uint8_t *p, size_t n)
{
    unsigned char *q = malloc(n ? n : 1);

    CHECK(q != NULL);
    if (n > 0)
        memcpy(q, p, n);
    return q;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct u8_state st;
    enum u8_status whole, s;
    unsigned char *buf, *a, *b;
    size_t bad, cut;
    int complete;

    bad = ref_scan(data, size, &complete);
    buf = dup_exact(data, size);

    u8_reset(&st);
    whole = u8_feed(&st, buf, size);
    if (bad < size)
        CHECK(whole == U8_E_INVALID);
    else
        CHECK(whole == (complete ? U8_OK : U8_INCOMPLETE));
    CHECK(u8_valid(buf, size) == (bad == size && complete));
    CHECK((u8_finish(&st) == U8_OK) == (bad == size && complete));

    /* Two pieces, cut where the first byte says: same verdict. */
    cut = size ? data[0] % (size + 1) : 0;
    a = dup_exact(data, cut);
    b = dup_exact(data + cut, size - cut);
    u8_reset(&st);
    s = u8_feed(&st, a, cut);
    if (bad < cut)
        CHECK(s == U8_E_INVALID);
    else
        CHECK(s != U8_E_INVALID);
    s = u8_feed(&st, b, size - cut);
    CHECK(s == whole);
    free(a);
    free(b);

    /* Fail fast: the prefix before the bad byte passes, the bad byte not. */
    if (bad < size) {
        a = dup_exact(data, bad);
        u8_reset(&st);
        CHECK(u8_feed(&st, a, bad) != U8_E_INVALID);
        CHECK(u8_feed(&st, buf + bad, 1) == U8_E_INVALID);
        CHECK(u8_feed(&st, buf, size) == U8_E_INVALID); /* sticky */
        free(a);
    }

    /* One byte per call, as a byte-at-a-time transport would deliver. */
    u8_reset(&st);
    s = U8_OK;
    for (size_t i = 0; i < size; i++) {
        s = u8_feed(&st, buf + i, 1);
        CHECK((s == U8_E_INVALID) == (i >= bad));
    }
    CHECK(s == whole);
    free(buf);
    return 0;
}
