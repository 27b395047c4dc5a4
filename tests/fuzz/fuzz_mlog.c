/*
 * libFuzzer harness for shm/mlog.c. The input is a script of appends,
 * reads by two cursors and repositionings on a small ring; a shadow model
 * (each seq's length, kind, timestamp and payload seed) checks that reads
 * come in order, carry exactly what was appended, and that eviction, lapping
 * and positioning by seq report what a single-threaded run must report.
 * Each cursor has a checkpoint index that notes it after every read and
 * positions it by seq; the plain walk must agree with it exactly.
 * With the first byte's top bit set the script may also scribble on the
 * shared memory (not the capacity or seqlock words, which mlog_check and
 * MLOG_E_BUSY cover): then only "no crash, no overrun, sane status" holds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shm/mlog.h"

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,  \
                    #c);                                                       \
            abort();                                                           \
        }                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct shadow {
    uint32_t len;
    uint16_t kind;
    uint8_t seed;
};

struct script {
    const uint8_t *p;
    size_t n;
};

static unsigned
next_byte(struct script *s)
{
    if (s->n == 0)
        return 0;
    s->n--;
    return *s->p++;
}

static uint8_t
pat(uint64_t seq, uint8_t seed, uint32_t i)
{
    return (uint8_t)(seed + i * 31 + seq);
}

static uint64_t
esize(uint32_t len)
{
    return MLOG_EHDR + (((uint64_t)len + 7) & ~(uint64_t)7);
}

static uint64_t ring_mem[(128 + 2048) / 8];
static unsigned char buf[2048];
static struct mlog_index ixs[2];

/* Check one mlog_read against the model; *next is the cursor's seq. */
static void
check_read(const struct mlog *m, struct mlog_cursor *c, struct mlog_index *ix,
    uint64_t *next, const struct shadow *sh, size_t buflen, int chaos)
{
    uint64_t head = mlog_head(m), tail = mlog_tail(m);
    struct mlog_entry e;
    int r = mlog_read(m, c, &e, buf, buflen);

    mlog_index_note(ix, c);
    CHECK(r >= MLOG_OK && r <= MLOG_E_CORRUPT);
    if (r == MLOG_OK)
        CHECK(e.len <= buflen);
    if (chaos)
        return;
    if (*next >= head) {
        CHECK(r == MLOG_EMPTY);
    } else if (*next < tail) {
        CHECK(r == MLOG_E_LAPPED);
        CHECK(e.seq == tail && e.lost == tail - *next && c->seq == tail);
        *next = tail;
    } else if (buflen < sh[*next].len) {
        CHECK(r == MLOG_E_TOOSMALL);
        CHECK(e.seq == *next && e.len == sh[*next].len && c->seq == *next);
    } else {
        const struct shadow *w = &sh[*next];
        CHECK(r == MLOG_OK);
        CHECK(e.seq == *next && e.len == w->len && e.kind == w->kind);
        CHECK(e.ts_us == -(int64_t)*next && e.lost == 0);
        for (uint32_t i = 0; i < e.len; i++)
            CHECK(buf[i] == pat(e.seq, w->seed, i));
        (*next)++;
        CHECK(c->seq == *next);
    }
}

/* Eviction keeps what fits and drops no more than wrap gaps explain. */
static void
check_occupancy(const struct mlog *m, const struct shadow *sh, uint64_t cap)
{
    uint64_t head = mlog_head(m), tail = mlog_tail(m), live = 0;

    CHECK(tail >= 1 && tail <= head);
    for (uint64_t s = tail; s < head; s++)
        live += esize(sh[s].len);
    CHECK(live <= cap);
    if (tail > 1)
        CHECK(live + esize(sh[tail - 1].len) > cap / 2);
    CHECK(mlog_check(m, mlog_size(cap)) == MLOG_OK);
}

static void
append_one(struct mlog *m, struct script *s, struct shadow *sh, size_t nsh,
    int vec, int chaos)
{
    uint32_t max = mlog_max_len(m);
    uint32_t len = next_byte(s) * (max + 16) / 255;
    uint16_t kind = (uint16_t)(next_byte(s) | next_byte(s) << 8);
    uint8_t seed = (uint8_t)next_byte(s);
    uint64_t seq = mlog_head(m), got;

    for (uint32_t i = 0; i < len && i < sizeof(buf); i++)
        buf[i] = pat(seq, seed, i);
    if (vec) {
        uint32_t cut = len ? next_byte(s) % (len + 1) : 0;
        struct iovec iov[3] = {{buf, cut}, {NULL, 0},
            {buf + cut, len - cut}};
        got = mlog_append_v(m, kind, iov, 3, -(int64_t)seq);
    } else {
        got = mlog_append(m, kind, buf, len, -(int64_t)seq);
    }
    if (chaos)
        return;
    if (len > max) {
        CHECK(got == 0 && mlog_head(m) == seq);
        return;
    }
    CHECK(got == seq && mlog_head(m) == seq + 1 && seq < nsh);
    sh[seq] = (struct shadow){.len = len, .kind = kind, .seed = seed};
}

static void
reposition(const struct mlog *m, struct script *s, struct mlog_cursor *c,
    struct mlog_index *ix, uint64_t *next, int chaos)
{
    unsigned b = next_byte(s);
    uint64_t head = mlog_head(m), tail = mlog_tail(m), want;
    struct mlog_cursor plain = *c;
    int r, rp;

    if (b == 255) {
        r = mlog_cursor_at_head(m, c);
        CHECK(r == MLOG_OK || (chaos && r == MLOG_E_CORRUPT));
        mlog_index_note(ix, c);
        if (!chaos)
            *next = head;
        return;
    }
    want = head > b ? head - b : 0;
    rp = mlog_cursor_at_seq(m, want, &plain);
    r = mlog_cursor_at_seq_ix(m, want, c, ix);
    CHECK(r >= MLOG_OK && r <= MLOG_E_CORRUPT);
    CHECK(rp >= MLOG_OK && rp <= MLOG_E_CORRUPT);
    if (chaos)
        return; /* scribbles may lie on one walk and not the other */
    CHECK(r == rp && memcmp(c, &plain, sizeof(plain)) == 0);
    if (want == 0) {
        CHECK(r == MLOG_E_NOTFOUND);
    } else if (want < tail) {
        CHECK(r == MLOG_E_LAPPED && c->seq == tail);
        *next = tail;
    } else {
        CHECK(r == MLOG_OK && c->seq == want);
        *next = want;
    }
}

/* Flip a byte of the ring, sparing capacity (16..23) and ver (64..71). */
static void
scribble(struct script *s, uint64_t cap)
{
    unsigned char *mem = (unsigned char *)ring_mem;
    size_t at = (next_byte(s) | next_byte(s) << 8) % (128 + cap);

    if ((at >= 16 && at < 24) || (at >= 64 && at < 72))
        return;
    mem[at] ^= (unsigned char)(next_byte(s) | 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct script s = {data, size};
    unsigned b0 = next_byte(&s);
    uint64_t cap = (uint64_t)256 << (b0 & 3), next[2] = {1, 1};
    int chaos_ok = (b0 & 0x80) != 0, chaos = 0;
    struct mlog *m = (struct mlog *)ring_mem;
    struct mlog_cursor cur[2];
    size_t nsh = size + 2;
    struct shadow *sh = calloc(nsh, sizeof(*sh));

    CHECK(sh != NULL);
    CHECK(mlog_init(m, cap) == 0);
    memset(ixs, 0, sizeof(ixs)); /* an index belongs to one ring */
    CHECK(mlog_cursor_at_head(m, &cur[0]) == MLOG_OK);
    cur[1] = cur[0];
    while (s.n > 0) {
        unsigned op = next_byte(&s), who = op >> 7;

        switch (op % 8) {
        case 0:
        case 1:
        case 2:
            append_one(m, &s, sh, nsh, 0, chaos);
            if (!chaos)
                check_occupancy(m, sh, cap);
            break;
        case 3:
            append_one(m, &s, sh, nsh, 1, chaos);
            if (!chaos)
                check_occupancy(m, sh, cap);
            break;
        case 4: {
            unsigned l = next_byte(&s);
            size_t buflen = l == 255 ? sizeof(buf) : l;
            check_read(m, &cur[who], &ixs[who], &next[who], sh, buflen,
                chaos);
            break;
        }
        case 5:
            for (int i = 0; i < 64 && mlog_head(m) > cur[who].seq; i++)
                check_read(m, &cur[who], &ixs[who], &next[who], sh,
                    sizeof(buf), chaos);
            break;
        case 6:
            reposition(m, &s, &cur[who], &ixs[who], &next[who], chaos);
            break;
        case 7:
            if (chaos_ok) {
                scribble(&s, cap);
                chaos = 1;
            }
            break;
        }
    }
    free(sh);
    return 0;
}
