/*
 * Base64 digit values for the two RFC 4648 alphabets, shared by the
 * codecs that decode by hand (Engine.IO polling payloads and session ids,
 * JWT segments). Pure functions.
 */
#ifndef WSGATE_COMMON_B64_H
#define WSGATE_COMMON_B64_H

/* Value 0-63 of c in the standard alphabet (RFC 4648 §4, "+/"), or -1. */
int b64_digit(unsigned char c);

/* Value 0-63 of c in the URL-safe alphabet (§5, "-_"), or -1. */
int b64_url_digit(unsigned char c);

#endif
