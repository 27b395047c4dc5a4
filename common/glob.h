/*
 * Glob matching for room names ("lead:*", "team:sales:?u", "user:7"). The
 * pattern language is small on purpose: `*` matches any run of bytes (empty
 * included, ':' included), `?` matches exactly one byte, `\` makes the next
 * byte literal, and every other byte matches itself, case-sensitively. There
 * are no character classes. Pure code: no allocation, no logging, no globals.
 */
#ifndef WSGATE_COMMON_GLOB_H
#define WSGATE_COMMON_GLOB_H

#include <stddef.h>

/*
 * Returns 1 when s[0..slen) matches the pattern pat[0..plen), else 0.
 * Both are byte strings and need not be NUL-terminated (a NUL byte is an
 * ordinary literal); either pointer may be NULL when its length is 0. A
 * trailing lone `\` matches a literal backslash. Time is O(plen * slen) in
 * the worst case and O(plen + slen) for patterns with at most one `*`; there
 * is no exponential backtracking. Borrows both buffers; never blocks.
 */
int glob_match(const char *pat, size_t plen, const char *s, size_t slen);

/*
 * Returns 1 when s[0..slen) matches any of the n NUL-terminated patterns in
 * pats (NULL entries are skipped), else 0; n == 0 matches nothing. Borrows
 * everything; never blocks.
 */
int glob_any(const char *const *pats, size_t n, const char *s, size_t slen);

#endif
