/*
 * Channel message codec (smsg.h). Lengths are checked against the table's
 * bounds on both sides: the encoder refuses what the table could not
 * store, the decoder anything a well-behaved worker would not send.
 */
#include <string.h>

#include "shm/smsg.h"

static void smsg_put_le(unsigned char *p, uint64_t v, int n);
static uint64_t smsg_get_le(const unsigned char *p, int n);
static long smsg_str_len(const char *s, size_t max, int empty_ok);
static int smsg_take(char *dst, const unsigned char *src, size_t n);

size_t
smsg_put(unsigned char *buf, size_t cap, uint64_t tag, uint64_t stamp,
    const char *pid, const char *sid, const char *nsp, const char *user,
    const char *const *rooms, const size_t *room_lens, size_t nrooms)
{
    long pl = smsg_str_len(pid, SESS_ID_LEN, 0);
    long sl = smsg_str_len(sid, SESS_ID_LEN, 0);
    long nl = smsg_str_len(nsp, SESS_NSP_MAX, 1);
    long ul = smsg_str_len(user, SESS_USER_MAX, 1);
    size_t rl = 0, n, o;

    if (pl < 0 || sl < 0 || nl < 0 || ul < 0)
        return 0;
    for (size_t i = 0; i < nrooms; i++) {
        if (room_lens[i] >= SESS_ROOMS_BYTES
            || memchr(rooms[i], '\0', room_lens[i]) != NULL)
            return 0;
        rl += room_lens[i] + 1;
        if (rl > SESS_ROOMS_BYTES)
            return 0;
    }
    n = 10 + (size_t)pl + 13 + (size_t)sl + (size_t)nl + (size_t)ul + rl;
    if (n > cap)
        return 0;
    buf[0] = SMSG_PUT;
    buf[1] = (unsigned char)pl;
    smsg_put_le(buf + 2, tag, 8);
    memcpy(buf + 10, pid, (size_t)pl);
    o = 10 + (size_t)pl;
    smsg_put_le(buf + o, stamp, 8);
    buf[o + 8] = (unsigned char)sl;
    buf[o + 9] = (unsigned char)nl;
    buf[o + 10] = (unsigned char)ul;
    smsg_put_le(buf + o + 11, rl, 2);
    o += 13;
    memcpy(buf + o, sid, (size_t)sl);
    o += (size_t)sl;
    if (nl)
        memcpy(buf + o, nsp, (size_t)nl);
    o += (size_t)nl;
    if (ul)
        memcpy(buf + o, user, (size_t)ul);
    o += (size_t)ul;
    for (size_t i = 0; i < nrooms; i++) {
        if (room_lens[i])
            memcpy(buf + o, rooms[i], room_lens[i]);
        o += room_lens[i];
        buf[o++] = '\0';
    }
    return o;
}

size_t
smsg_end(unsigned char *buf, size_t cap, int type, uint64_t tag,
    const char *pid)
{
    long pl = smsg_str_len(pid, SESS_ID_LEN, 0);

    if (pl < 0 || type < SMSG_HOLD || type > SMSG_FETCHED
        || cap < 10 + (size_t)pl)
        return 0;
    buf[0] = (unsigned char)type;
    buf[1] = (unsigned char)pl;
    smsg_put_le(buf + 2, tag, 8);
    memcpy(buf + 10, pid, (size_t)pl);
    return 10 + (size_t)pl;
}

int
smsg_decode(const unsigned char *b, size_t n, int *type,
    struct sess_rec *out)
{
    size_t pl, sl, nl, ul, rl, o;

    if (n < 10 || b[0] < SMSG_PUT || b[0] > SMSG_FETCHED)
        return SMSG_E_INVAL;
    pl = b[1];
    if (pl == 0 || pl > SESS_ID_LEN || n < 10 + pl)
        return SMSG_E_INVAL;
    memset(out, 0, offsetof(struct sess_rec, rooms));
    out->rooms_len = 0;
    out->state = SESS_FREE;
    out->owner = 0;
    out->until_ms = 0;
    out->stamp = 0;
    *type = b[0];
    out->tag = smsg_get_le(b + 2, 8);
    if (smsg_take(out->pid, b + 10, pl) == -1)
        return SMSG_E_INVAL;
    o = 10 + pl;
    if (*type != SMSG_PUT)
        return n == o ? SMSG_OK : SMSG_E_INVAL;
    if (n < o + 13)
        return SMSG_E_INVAL;
    out->stamp = smsg_get_le(b + o, 8);
    sl = b[o + 8];
    nl = b[o + 9];
    ul = b[o + 10];
    rl = (size_t)smsg_get_le(b + o + 11, 2);
    o += 13;
    if (sl == 0 || sl > SESS_ID_LEN || nl > SESS_NSP_MAX
        || ul > SESS_USER_MAX || rl > SESS_ROOMS_BYTES
        || n != o + sl + nl + ul + rl
        || (rl > 0 && b[n - 1] != '\0'))
        return SMSG_E_INVAL;
    if (smsg_take(out->sid, b + o, sl) == -1
        || smsg_take(out->nsp, b + o + sl, nl) == -1
        || smsg_take(out->user, b + o + sl + nl, ul) == -1)
        return SMSG_E_INVAL;
    memcpy(out->rooms, b + o + sl + nl + ul, rl);
    out->rooms_len = (uint32_t)rl;
    return SMSG_OK;
}

/* Little-endian fields of the channel messages. */
static void
smsg_put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
smsg_get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Length of s if it is 1..max bytes (0..max when empty_ok), else -1. */
static long
smsg_str_len(const char *s, size_t max, int empty_ok)
{
    size_t n = s ? strnlen(s, max + 1) : 0;

    if (n > max || (n == 0 && !empty_ok))
        return -1;
    return (long)n;
}

/* Copy n bytes that must hold no NUL into dst and terminate it. */
static int
smsg_take(char *dst, const unsigned char *src, size_t n)
{
    if (memchr(src, '\0', n) != NULL)
        return -1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return 0;
}
