/*
 * JavaScript number and Date text (jsv.h): the shortest round-trip
 * digits found with snprintf/strtod, laid out as ECMA-262 says, and the
 * civil date of a unix time. Hand-written because no library in Debian
 * formats numbers the way JavaScript does, and interop with Node's
 * emitter needs byte-identical JSON.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsv.h"

static void jsv_dec_up(char *s, size_t cap);

/*
 * The shortest decimal (1-17 significant digits, "%.*e" form) that reads
 * back as v > 0, into e. If the nearest p-digit decimal reads back, so
 * does the nearest (p+1)-digit one, so a binary search finds p in five
 * tries (a message can hold 116,000 doubles). Except at a power of two:
 * there the values rounding to v reach twice as far above as below, and
 * the p-digit decimal just above v may read back when the nearest, below
 * it, does not; ECMA-262 takes it, so these go digit by digit and try
 * both.
 */
static void
jsv_digits(double v, char *e, size_t cap)
{
    int lo = 1, hi = 17, exp2;

    if (frexp(v, &exp2) == 0.5) {
        for (lo = 1; lo < 17; lo++) {
            snprintf(e, cap, "%.*e", lo - 1, v);
            if (strtod(e, NULL) == v)
                return;
            if (strtod(e, NULL) < v) {
                jsv_dec_up(e, cap);
                if (strtod(e, NULL) == v)
                    return;
            }
        }
        snprintf(e, cap, "%.16e", v);
        return;
    }
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        snprintf(e, cap, "%.*e", mid - 1, v);
        if (strtod(e, NULL) == v)
            hi = mid;
        else
            lo = mid + 1;
    }
    snprintf(e, cap, "%.*e", lo - 1, v);
}

/* The next decimal up with as many digits: "d.ddde±x" plus one in the
 * last place, 9.99e5 becoming 1.00e6. */
static void
jsv_dec_up(char *s, size_t cap)
{
    char *x = strchr(s, 'e'), *q = x - 1;
    int ex = atoi(x + 1);

    for (;; q--) {
        if (*q == '.')
            continue;
        if (*q < '9') {
            (*q)++;
            return;
        }
        *q = '0';
        if (q == s)
            break;
    }
    s[0] = '1';
    snprintf(x, cap - (size_t)(x - s), "e%+03d", ex + 1);
}

/*
 * A number as JavaScript's Number::toString writes it (ECMA-262
 * 6.1.6.1.20): the shortest digits that read back to v, then fixed
 * notation for exponents -7 < e < 21 and d.ddde±x beyond. NaN and the
 * infinities are null, as in JSON.stringify. Assumes the "C" numeric
 * locale, which the daemon never changes.
 */
size_t
jsv_number(double v, char *out, size_t cap)
{
    char e[40], dig[20];
    size_t k = 0, o = 0;
    int x;
    char *ep;

    if (cap < JSV_NUMBER_MAX)
        return 0;
    if (!isfinite(v))
        return (size_t)snprintf(out, cap, "null");
    if (v == 0) /* -0 too */
        return (size_t)snprintf(out, cap, "0");
    if (v < 0) {
        out[o++] = '-';
        v = -v;
    }
    jsv_digits(v, e, sizeof(e));
    for (ep = e; *ep != 'e'; ep++)
        if (*ep != '.')
            dig[k++] = *ep;
    x = atoi(ep + 1) + 1; /* v = 0.d1d2...dk * 10^x */
    while (k > 1 && dig[k - 1] == '0')
        k--;
    if ((int)k <= x && x <= 21) {
        memcpy(out + o, dig, k), o += k;
        for (int i = (int)k; i < x; i++)
            out[o++] = '0';
    } else if (0 < x && x <= 21) {
        memcpy(out + o, dig, (size_t)x), o += (size_t)x;
        out[o++] = '.';
        memcpy(out + o, dig + x, k - (size_t)x), o += k - (size_t)x;
    } else if (-6 < x && x <= 0) {
        out[o++] = '0', out[o++] = '.';
        for (int i = x; i < 0; i++)
            out[o++] = '0';
        memcpy(out + o, dig, k), o += k;
    } else {
        out[o++] = dig[0];
        if (k > 1) {
            out[o++] = '.';
            memcpy(out + o, dig + 1, k - 1), o += k - 1;
        }
        o += (size_t)snprintf(out + o, cap - o, "e%c%d",
                              x - 1 < 0 ? '-' : '+', abs(x - 1));
    }
    out[o] = '\0';
    return o;
}

/*
 * Date#toJSON of new Date(t): TimeClip (NaN beyond ±8.64e15 ms, else
 * truncated), then YYYY-MM-DDTHH:mm:ss.sssZ with the years outside
 * 0..9999 as ±YYYYYY; an invalid date is null.
 */
size_t
jsv_date(double t, char *out, size_t cap)
{
    long long ms, days, rem, y, m, d, era, doe, yoe, doy, mp;
    int n;

    if (cap < JSV_DATE_MAX)
        return 0;
    if (!isfinite(t) || fabs(t) > 8.64e15)
        return (size_t)snprintf(out, cap, "null");
    ms = (long long)trunc(t);
    days = ms / 86400000;
    rem = ms % 86400000;
    if (rem < 0)
        rem += 86400000, days--;
    /* civil_from_days (H. Hinnant), days since 1970-01-01 */
    days += 719468;
    era = (days >= 0 ? days : days - 146096) / 146097;
    doe = days - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    if (y >= 0 && y <= 9999)
        n = snprintf(out, cap, "\"%04lld", y);
    else
        n = snprintf(out, cap, "\"%c%06lld", y < 0 ? '-' : '+',
                     y < 0 ? -y : y);
    n += snprintf(out + n, cap - (size_t)n,
                  "-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ\"", m, d,
                  rem / 3600000, rem / 60000 % 60, rem / 1000 % 60, rem % 1000);
    return (size_t)n;
}

