/*
 * Presence messages (issue 14): the framing of the master's presence
 * queries and the workers' answers on the recovery channel. Pure code.
 */
#include <string.h>

#include "shm/pmsg.h"

static void
pmsg_put64(unsigned char *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
pmsg_get64(const unsigned char *b)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

size_t
pmsg_query(unsigned char *b, uint64_t tag, int kind, const char *name,
    size_t len)
{
    if (len == 0 || len > PMSG_NAME_MAX || (kind != PMSG_ROOM
            && kind != PMSG_USER) || memchr(name, '\0', len))
        return 0;
    b[0] = PMSG_QUERY;
    b[1] = (unsigned char)kind;
    pmsg_put64(b + 2, tag);
    b[10] = (unsigned char)len;
    memcpy(b + 11, name, len);
    return 11 + len;
}

int
pmsg_query_decode(const unsigned char *b, size_t n, uint64_t *tag,
    int *kind, const char **name, size_t *len)
{
    if (n < 12 || b[0] != PMSG_QUERY || (b[1] != PMSG_ROOM
            && b[1] != PMSG_USER) || b[10] == 0 || b[10] > PMSG_NAME_MAX
        || n != 11u + b[10] || memchr(b + 11, '\0', b[10]))
        return -1;
    *kind = b[1];
    *tag = pmsg_get64(b + 2);
    *name = (const char *)b + 11;
    *len = b[10];
    return 0;
}

void
pmsg_answer_head(unsigned char *b, uint64_t tag, int last)
{
    b[0] = PMSG_ANSWER;
    pmsg_put64(b + 1, tag);
    b[9] = last != 0;
}

int
pmsg_answer_decode(const unsigned char *b, size_t n, uint64_t *tag,
    int *last, const char **json, size_t *jlen)
{
    if (n < PMSG_HEAD || n > PMSG_MAX || b[0] != PMSG_ANSWER || b[9] > 1)
        return -1;
    *tag = pmsg_get64(b + 1);
    *last = b[9];
    *json = (const char *)b + PMSG_HEAD;
    *jlen = n - PMSG_HEAD;
    return 0;
}
