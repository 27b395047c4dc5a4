/*
 * UTF-8 validation for WebSocket text messages and close reasons. It owns
 * only the byte rules of RFC 3629; what to do on failure (close 1007) is the
 * caller's. Hand-written rather than taken from a library because it sits on
 * the per-byte hot path of every text frame, must resume across fragments and
 * must stop at the first bad byte (RFC 6455 §8.1), which general-purpose
 * converters (iconv) do not promise.
 */
#include <string.h>

#include "u8.h"

#define U8_NEED_BAD 0xFF
#define U8_HIGH_BITS UINT64_C(0x8080808080808080)

static size_t u8_skip_ascii(const unsigned char *p, size_t i, size_t n);

void
u8_reset(struct u8_state *st)
{
    st->need = 0;
    st->lo = 0x80;
    st->hi = 0xBF;
}

/*
 * The byte automaton is the table of RFC 3629 §4 written as ranges: the lead
 * byte fixes the sequence length and narrows the range of the first
 * continuation byte (that narrowing is what rejects overlongs, surrogates and
 * code points above U+10FFFF); every later continuation byte is 80..BF.
 */
enum u8_status
u8_feed(struct u8_state *st, const unsigned char *p, size_t n)
{
    unsigned need = st->need, lo = st->lo, hi = st->hi;
    size_t i = 0;

    if (need == U8_NEED_BAD)
        return U8_E_INVALID;
    while (i < n) {
        unsigned b;

        if (need == 0) {
            i = u8_skip_ascii(p, i, n);
            if (i == n)
                break;
            b = p[i++];
            if (b < 0xC2) {
                goto bad; /* 80..BF stray continuation, C0/C1 overlong */
            } else if (b < 0xE0) {
                need = 1;
                lo = 0x80;
                hi = 0xBF;
            } else if (b < 0xF0) {
                need = 2;
                lo = b == 0xE0 ? 0xA0 : 0x80; /* E0 80..9F: overlong */
                hi = b == 0xED ? 0x9F : 0xBF; /* ED A0..BF: surrogates */
            } else if (b < 0xF5) {
                need = 3;
                lo = b == 0xF0 ? 0x90 : 0x80; /* F0 80..8F: overlong */
                hi = b == 0xF4 ? 0x8F : 0xBF; /* F4 90..: > U+10FFFF */
            } else {
                goto bad; /* F5..FF: beyond U+10FFFF or never UTF-8 */
            }
            continue;
        }
        b = p[i++];
        if (b < lo || b > hi)
            goto bad;
        need--;
        lo = 0x80;
        hi = 0xBF;
    }
    st->need = (uint8_t)need;
    st->lo = (uint8_t)lo;
    st->hi = (uint8_t)hi;
    return need == 0 ? U8_OK : U8_INCOMPLETE;
bad:
    st->need = U8_NEED_BAD;
    return U8_E_INVALID;
}

enum u8_status
u8_finish(const struct u8_state *st)
{
    return st->need == 0 ? U8_OK : U8_E_INVALID;
}

int
u8_valid(const unsigned char *p, size_t n)
{
    struct u8_state st = {0};

    return u8_feed(&st, p, n) == U8_OK;
}

/*
 * Return the index of the first byte at or after i that is not ASCII, or n.
 * Loads are memcpy'd so any alignment is fine (and UBSan stays quiet); the
 * position of the first high bit inside a word comes from counting zeros,
 * low end first on little-endian machines because memcpy keeps byte order.
 */
static size_t
u8_skip_ascii(const unsigned char *p, size_t i, size_t n)
{
    uint64_t w0, w1, hb;

    if (i < n && p[i] >= 0x80)
        return i; /* non-ASCII text: don't pay for word loads per char */
    while (n - i >= 16) {
        memcpy(&w0, p + i, 8);
        memcpy(&w1, p + i + 8, 8);
        if (((w0 | w1) & U8_HIGH_BITS) != 0)
            break;
        i += 16;
    }
    while (n - i >= 8) {
        memcpy(&w0, p + i, 8);
        hb = w0 & U8_HIGH_BITS;
        if (hb != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
            return i + (size_t)(__builtin_clzll(hb) >> 3);
#else
            return i + (size_t)(__builtin_ctzll(hb) >> 3);
#endif
        }
        i += 8;
    }
    while (i < n && p[i] < 0x80)
        i++;
    return i;
}
