/*
 * JavaScript values as text, exactly as Node writes them into JSON: a
 * number as Number::toString (ECMA-262 6.1.6.1.20: the shortest digits
 * that read back, fixed notation for exponents -7 < e < 21, d.ddde+-x
 * beyond; NaN and the infinities as null, as JSON.stringify does) and a
 * Date as Date#toJSON. For the Redis emitter codec (rde.c), whose
 * payloads come from Node's notepack. Pure functions, no allocation;
 * they assume the "C" numeric locale, which the daemon never changes.
 */
#ifndef WSGATE_COMMON_JSV_H
#define WSGATE_COMMON_JSV_H

#include <stddef.h>

#define JSV_NUMBER_MAX 48 /* room for any number's text and its NUL */
#define JSV_DATE_MAX 40   /* room for any date's text (quoted) and NUL */

/* Write v as JavaScript does into out (NUL-terminated); returns the
 * length, or 0 when cap < JSV_NUMBER_MAX. */
size_t jsv_number(double v, char *out, size_t cap);

/* Write Date#toJSON of new Date(t) (t in unix ms): a quoted
 * YYYY-MM-DDTHH:mm:ss.sssZ (years outside 0..9999 as +-YYYYYY), or null
 * for an invalid date (TimeClip: not finite, or beyond 8.64e15 ms).
 * Returns the length, or 0 when cap < JSV_DATE_MAX. */
size_t jsv_date(double t, char *out, size_t cap);

#endif
