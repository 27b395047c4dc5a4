/*
 * Base64 digit values (b64.h). '=' is not a digit in either alphabet.
 */
#include "b64.h"

/* The 62 digits both alphabets share. */
static int
b64_common(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return -1;
}

int
b64_digit(unsigned char c)
{
    return c == '+' ? 62 : c == '/' ? 63 : b64_common(c);
}

int
b64_url_digit(unsigned char c)
{
    return c == '-' ? 62 : c == '_' ? 63 : b64_common(c);
}
