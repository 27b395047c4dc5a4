/*
 * Incremental UTF-8 validator (RFC 3629). A message may arrive in any number
 * of pieces (frames, TCP reads, inflate output); the state carries a
 * half-read sequence from one piece to the next and the validator stops at
 * the first byte that cannot be part of valid UTF-8, as RFC 6455 §8.1 asks
 * ("fail fast"). Pure code: no allocation, no logging, no globals.
 */
#ifndef WSGATE_COMMON_U8_H
#define WSGATE_COMMON_U8_H

#include <stddef.h>
#include <stdint.h>

enum u8_status {
    U8_OK = 0,     /* everything so far is valid and ends on a character */
    U8_INCOMPLETE, /* valid so far, but inside a multi-byte sequence */
    U8_E_INVALID   /* a byte that no valid UTF-8 can hold at that place */
};

/*
 * Validator state, owned by the caller (embed it, no allocation). The
 * fields are private. A zeroed struct is a valid fresh state, as is one
 * passed to u8_reset().
 */
struct u8_state {
    uint8_t need; /* continuation bytes still expected; 0xFF after an error */
    uint8_t lo;   /* smallest byte allowed next (when need > 0) */
    uint8_t hi;   /* largest byte allowed next (when need > 0) */
};

/* Start a new message: forget any partial sequence and any earlier error. */
void u8_reset(struct u8_state *st);

/*
 * Validate the next n bytes of the message (n may be 0; p may be NULL when
 * n is 0). Returns U8_OK when the bytes so far end on a character boundary,
 * U8_INCOMPLETE when they end inside a sequence that can still become valid,
 * U8_E_INVALID as soon as an invalid byte is seen: overlong forms (C0, C1,
 * E0 80..9F, F0 80..8F), surrogates (ED A0..BF), code points above U+10FFFF
 * (F4 90.., F5..FF), stray or missing continuation bytes. The error is
 * sticky: later calls return U8_E_INVALID until u8_reset(). ASCII runs are
 * checked 8 bytes at a time. Borrows st and p; never blocks.
 */
enum u8_status u8_feed(struct u8_state *st, const unsigned char *p, size_t n);

/*
 * End of message: U8_OK if the bytes fed so far are complete UTF-8,
 * U8_E_INVALID if an error was seen or a sequence is cut short.
 * Does not change st.
 */
enum u8_status u8_finish(const struct u8_state *st);

/*
 * One-shot check of a whole buffer (e.g. a close reason). Returns 1 when
 * p[0..n) is complete, valid UTF-8 (n == 0 is valid), 0 otherwise.
 */
int u8_valid(const unsigned char *p, size_t n);

#endif
