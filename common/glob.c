/*
 * Glob matching of room names against the patterns in a token's `rooms`
 * claim and in room_acl rules. It owns only the matching; which patterns
 * apply to a connection is the caller's business. Hand-written because
 * fnmatch(3) wants NUL-terminated strings, treats '[' specially and may
 * backtrack exponentially on patterns like "a*a*a*a*b"; this one is the
 * two-pointer, last-star backtracking matcher, which is O(plen * slen).
 */
#include <string.h>

#include "glob.h"

/*
 * One pattern element at pat[*pi]: returns 1 and advances *pi past it when
 * it is a literal (or `?`) that matches byte c. `\` quotes the next byte;
 * a trailing lone `\` is itself a literal backslash.
 */
static int
glob_step(const char *pat, size_t plen, size_t *pi, char c)
{
    size_t i = *pi;
    char want = pat[i];

    if (want == '?') {
        *pi = i + 1;
        return 1;
    }
    if (want == '\\' && i + 1 < plen) {
        want = pat[i + 1];
        i++;
    }
    if (want != c)
        return 0;
    *pi = i + 1;
    return 1;
}

/*
 * Walk both strings. On a `*`, remember where it was and where the string
 * stood; on a mismatch, go back to the last `*` and let it swallow one more
 * byte. Only the last star needs remembering: whatever an earlier star could
 * absorb, the later one can absorb instead, so this never revisits more than
 * slen start positions per star.
 */
int
glob_match(const char *pat, size_t plen, const char *s, size_t slen)
{
    size_t pi = 0, si = 0;
    size_t star_p = 0, star_s = 0;
    int have_star = 0;

    while (si < slen) {
        if (pi < plen && pat[pi] == '*') {
            while (pi < plen && pat[pi] == '*')
                pi++; /* "**" is the same as "*" */
            if (pi == plen)
                return 1; /* trailing star takes the rest */
            have_star = 1;
            star_p = pi;
            star_s = si;
            continue;
        }
        if (pi < plen && glob_step(pat, plen, &pi, s[si])) {
            si++;
            continue;
        }
        if (!have_star)
            return 0;
        pi = star_p;
        si = ++star_s;
    }
    while (pi < plen && pat[pi] == '*')
        pi++;
    return pi == plen;
}

int
glob_any(const char *const *pats, size_t n, const char *s, size_t slen)
{
    for (size_t i = 0; i < n; i++) {
        if (pats[i] != NULL && glob_match(pats[i], strlen(pats[i]), s, slen))
            return 1;
    }
    return 0;
}
