/*
 * Message log ring: append/read order and payload integrity, wrap-around
 * and wrap gaps, lapped readers, positioning by seq (plain and through a
 * reader's checkpoint index), readers in another process racing the
 * producer, and corrupt shared memory.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm/mlog.h"

/* ck_assert_msg without the mark Check writes to its pipe on every pass:
 * for loops that check hundreds of thousands of times. */
#define CK_QUICK(c, ...)                                                       \
    do {                                                                       \
        if (!(c))                                                              \
            ck_abort_msg(__VA_ARGS__);                                         \
    } while (0)

static struct mlog *m;
static size_t mlen;
static struct mlog_index *ix;

static struct mlog *
ring_new(size_t cap)
{
    mlen = mlog_size(cap);
    ck_assert_uint_gt(mlen, 0);
    void *mem = mmap(NULL, mlen, PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(mem, MAP_FAILED);
    ck_assert_int_eq(mlog_init(mem, cap), 0);
    ck_assert_int_eq(mlog_check(mem, mlen), MLOG_OK);
    return mem;
}

static void
teardown(void)
{
    if (m != NULL)
        munmap(m, mlen);
    m = NULL;
    free(ix);
    ix = NULL;
}

static struct mlog_index *
ix_new(void)
{
    struct mlog_index *x = calloc(1, sizeof(*x));

    ck_assert_ptr_nonnull(x);
    return x;
}

/* Payload byte i of entry seq: every entry's content follows from its seq. */
static unsigned char
pat(uint64_t seq, uint32_t i)
{
    return (unsigned char)(seq * 131 + i * 7 + (seq >> 8) + (i >> 8));
}

static uint32_t
len_for(uint64_t seq, uint32_t max)
{
    return (uint32_t)((seq * 2654435761u) >> 7) % (max + 1);
}

static uint64_t
append_pat(struct mlog *r, uint64_t seq, uint32_t len)
{
    unsigned char buf[4096];

    ck_assert_uint_le(len, sizeof(buf));
    for (uint32_t i = 0; i < len; i++)
        buf[i] = pat(seq, i);
    return mlog_append(r, (uint16_t)(seq & 0xffff), buf, len,
        (int64_t)seq * 10);
}

/* 1 if e/buf is entry seq as append_pat wrote it. */
static int
entry_ok(const struct mlog_entry *e, const unsigned char *buf, uint64_t seq,
    uint32_t len)
{
    if (e->seq != seq || e->len != len || e->kind != (uint16_t)seq
        || e->ts_us != (int64_t)seq * 10 || e->lost != 0)
        return 0;
    for (uint32_t i = 0; i < len; i++)
        if (buf[i] != pat(seq, i))
            return 0;
    return 1;
}

START_TEST(mlog_size_and_init_reject_bad_capacity)
{
    static uint64_t mem[64];

    ck_assert_uint_eq(mlog_size(0), 0);
    ck_assert_uint_eq(mlog_size(100), 0);
    ck_assert_uint_eq(mlog_size(1000), 0);
    ck_assert_uint_eq(mlog_size(128), 0);
    ck_assert_uint_eq(mlog_size(256), sizeof(struct mlog) + 256);
    ck_assert_uint_eq(mlog_size((size_t)1 << 20),
        sizeof(struct mlog) + ((size_t)1 << 20));
    errno = 0;
    ck_assert_int_eq(mlog_init((char *)mem + 4, 256), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(mlog_init(mem, 300), -1);
    ck_assert_int_eq(mlog_init(NULL, 256), -1);
    ck_assert_int_eq(mlog_init(mem, 256), 0);
    ck_assert_uint_eq(mlog_max_len((struct mlog *)mem), 40);
    ck_assert_int_eq(mlog_check((struct mlog *)mem, mlog_size(256) - 8),
        MLOG_E_CORRUPT);
}
END_TEST

START_TEST(mlog_empty_ring_reads_empty)
{
    struct mlog_cursor c;
    struct mlog_entry e;
    unsigned char buf[8];

    m = ring_new(4096);
    ck_assert_uint_eq(mlog_head(m), 1);
    ck_assert_uint_eq(mlog_tail(m), 1);
    ck_assert_int_eq(mlog_cursor_at_head(m, &c), MLOG_OK);
    ck_assert_uint_eq(c.seq, 1);
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_EMPTY);
    ck_assert_int_eq(mlog_cursor_at_seq(m, 1, &c), MLOG_OK);
    ck_assert_int_eq(mlog_read(m, &c, &e, NULL, 0), MLOG_EMPTY);
    ck_assert_int_eq(mlog_cursor_at_seq(m, 2, &c), MLOG_E_NOTFOUND);
    ck_assert_int_eq(mlog_cursor_at_seq(m, 0, &c), MLOG_E_NOTFOUND);
}
END_TEST

START_TEST(mlog_reads_in_order_for_sizes_0_to_n)
{
    struct mlog_cursor c;
    struct mlog_entry e;
    unsigned char buf[512];

    m = ring_new(1 << 17);
    ck_assert_int_eq(mlog_cursor_at_head(m, &c), MLOG_OK);
    for (uint32_t len = 0; len <= 300; len++)
        ck_assert_uint_eq(append_pat(m, len + 1, len), len + 1);
    ck_assert_uint_eq(mlog_head(m), 302);
    ck_assert_uint_eq(mlog_tail(m), 1);
    for (uint32_t len = 0; len <= 300; len++) {
        memset(buf, 0xee, sizeof(buf));
        ck_assert_int_eq(mlog_read(m, &c, &e, buf, len), MLOG_OK);
        ck_assert(entry_ok(&e, buf, len + 1, len));
        ck_assert_uint_eq(buf[len], 0xee); /* nothing past len written */
    }
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_EMPTY);
    ck_assert_uint_eq(c.seq, 302);
}
END_TEST

START_TEST(mlog_too_small_buffer_reports_needed_len)
{
    struct mlog_cursor c;
    struct mlog_entry e;
    unsigned char buf[128];

    m = ring_new(4096);
    ck_assert_int_eq(mlog_cursor_at_head(m, &c), MLOG_OK);
    append_pat(m, 1, 100);
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, 99), MLOG_E_TOOSMALL);
    ck_assert_uint_eq(e.len, 100);
    ck_assert_uint_eq(e.seq, 1);
    ck_assert_uint_eq(c.seq, 1);
    ck_assert_int_eq(mlog_read(m, &c, &e, NULL, 0), MLOG_E_TOOSMALL);
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, 100), MLOG_OK);
    ck_assert(entry_ok(&e, buf, 1, 100));
}
END_TEST

START_TEST(mlog_rejects_too_large_entry)
{
    static unsigned char big[2048];
    struct mlog_cursor c;
    struct mlog_entry e;
    uint32_t max;

    m = ring_new(4096);
    max = mlog_max_len(m);
    ck_assert_uint_eq(max, 4096 / 4 - MLOG_EHDR);
    ck_assert_int_eq(mlog_cursor_at_head(m, &c), MLOG_OK);
    ck_assert_uint_eq(mlog_append(m, 1, big, max + 1, 0), 0);
    ck_assert_uint_eq(mlog_append(m, 1, big, UINT32_MAX, 0), 0);
    ck_assert_uint_eq(mlog_head(m), 1);
    ck_assert_uint_eq(append_pat(m, 1, max), 1);
    ck_assert_int_eq(mlog_read(m, &c, &e, big, sizeof(big)), MLOG_OK);
    ck_assert(entry_ok(&e, big, 1, max));
}
END_TEST

START_TEST(mlog_append_v_gathers_parts)
{
    const char *a = "abc", *b = "defgh", *d = "ijklmnopqrstu";
    struct iovec iov[4] = {{(void *)a, 3}, {(void *)b, 5}, {NULL, 0},
        {(void *)d, 13}};
    struct mlog_cursor c;
    struct mlog_entry e;
    char buf[64];

    m = ring_new(4096);
    ck_assert_int_eq(mlog_cursor_at_head(m, &c), MLOG_OK);
    ck_assert_uint_eq(mlog_append_v(m, 7, iov, 4, 42), 1);
    ck_assert_uint_eq(mlog_append_v(m, 8, iov, 0, 43), 2);
    ck_assert_uint_eq(mlog_append_v(m, 8, iov, -1, 43), 0);
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_OK);
    ck_assert_uint_eq(e.len, 21);
    ck_assert_uint_eq(e.kind, 7);
    ck_assert_int_eq(e.ts_us, 42);
    ck_assert_int_eq(memcmp(buf, "abcdefghijklmnopqrstu", 21), 0);
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_OK);
    ck_assert_uint_eq(e.len, 0);
    ck_assert_uint_eq(e.seq, 2);
}
END_TEST

START_TEST(mlog_status_names)
{
    ck_assert_str_eq(mlog_status_str(MLOG_OK), "ok");
    ck_assert_str_eq(mlog_status_str(MLOG_E_LAPPED), "lapped");
    ck_assert_str_eq(mlog_status_str(MLOG_E_CORRUPT), "corrupt");
    ck_assert_str_eq(mlog_status_str(99), "unknown");
}
END_TEST

/* A reader that keeps up sees every entry across many laps. */
START_TEST(mlog_wraps_many_times_with_variable_sizes)
{
    struct mlog_cursor c;
    struct mlog_entry e;
    unsigned char buf[256];
    uint64_t next = 1, want = 1;

    m = ring_new(4096);
    ck_assert_int_eq(mlog_cursor_at_head(m, &c), MLOG_OK);
    for (int round = 0; round < 20000; round++) {
        int k = 1 + round % 5;
        for (int j = 0; j < k; j++, next++)
            ck_assert_uint_eq(append_pat(m, next, len_for(next, 200)), next);
        int r;
        while ((r = mlog_read(m, &c, &e, buf, sizeof(buf))) == MLOG_OK) {
            ck_assert(entry_ok(&e, buf, want, len_for(want, 200)));
            want++;
        }
        ck_assert_int_eq(r, MLOG_EMPTY);
        ck_assert_uint_eq(want, next);
    }
    ck_assert_uint_gt(atomic_load(&m->head_pos), 4096u * 500);
    ck_assert_uint_le(atomic_load(&m->head_pos) - atomic_load(&m->tail_pos),
        4096);
}
END_TEST

/* 256-byte ring: max payload 40, so an entry takes at most 64 bytes. */
START_TEST(mlog_entry_exactly_filling_remaining_space)
{
    struct mlog_cursor c;
    struct mlog_entry e;
    unsigned char buf[64];

    m = ring_new(256);
    for (uint64_t s = 1; s <= 3; s++)
        append_pat(m, s, 40);
    ck_assert_uint_eq(atomic_load(&m->head_pos), 192);
    append_pat(m, 4, 33); /* 24 + 40 = 64: exactly the room left */
    ck_assert_uint_eq(atomic_load(&m->head_pos), 256);
    ck_assert_uint_eq(mlog_tail(m), 1); /* full, nothing evicted yet */
    append_pat(m, 5, 40); /* at offset 0: evicts exactly entry 1 */
    ck_assert_uint_eq(atomic_load(&m->head_pos), 320);
    ck_assert_uint_eq(mlog_tail(m), 2);
    ck_assert_int_eq(mlog_cursor_at_seq(m, 2, &c), MLOG_OK);
    for (uint64_t s = 2; s <= 5; s++) {
        ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_OK);
        ck_assert(entry_ok(&e, buf, s, s == 4 ? 33 : 40));
    }
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_EMPTY);
}
END_TEST

START_TEST(mlog_wrap_gaps_with_and_without_marker)
{
    struct mlog_cursor c;
    struct mlog_entry e;
    unsigned char buf[64];

    m = ring_new(256);
    ck_assert_int_eq(mlog_cursor_at_head(m, &c), MLOG_OK);
    /* 40 + 64 + 64 + 64 = 232: 24 bytes left, room for a pad marker. */
    append_pat(m, 1, 16);
    for (uint64_t s = 2; s <= 4; s++)
        append_pat(m, s, 40);
    ck_assert_uint_eq(atomic_load(&m->head_pos), 232);
    append_pat(m, 5, 8); /* 32 bytes: does not fit in 24, pad + wrap */
    ck_assert_uint_eq(atomic_load(&m->head_pos), 256 + 32);
    ck_assert_uint_eq(mlog_tail(m), 2);
    /* 32 + 64 + 64 + 64 + 24 = 248: 8 left, too small for a marker. */
    for (uint64_t s = 6; s <= 8; s++)
        append_pat(m, s, 40);
    append_pat(m, 9, 0);
    ck_assert_uint_eq(atomic_load(&m->head_pos), 256 + 248);
    append_pat(m, 10, 1);
    ck_assert_uint_eq(atomic_load(&m->head_pos), 512 + 32);
    ck_assert_int_eq(mlog_cursor_at_seq(m, mlog_tail(m), &c), MLOG_OK);
    for (uint64_t s = mlog_tail(m); s <= 10; s++) {
        uint32_t len = s == 1 ? 16 : s == 5 ? 8 : s == 9 ? 0 : s == 10 ? 1
            : 40;
        ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_OK);
        ck_assert(entry_ok(&e, buf, s, len));
    }
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_EMPTY);
}
END_TEST

/* A cursor parked on a pad marker whose bytes get reused while the entry
 * after the pad is still live must move on to that entry, not report loss. */
START_TEST(mlog_reader_parked_on_reclaimed_gap_is_not_lapped)
{
    struct mlog_cursor c;
    struct mlog_entry e;
    unsigned char buf[64];

    m = ring_new(256);
    append_pat(m, 1, 40); /* 64 bytes */
    append_pat(m, 2, 40); /* 64 */
    append_pat(m, 3, 16); /* 40 */
    append_pat(m, 4, 8);  /* 32: head at 200 */
    ck_assert_uint_eq(atomic_load(&m->head_pos), 200);
    ck_assert_int_eq(mlog_cursor_at_head(m, &c), MLOG_OK);
    ck_assert_uint_eq(c.pos, 200);
    append_pat(m, 5, 40); /* pad at 200, entry 5 at 256 */
    append_pat(m, 6, 40); /* 320 */
    append_pat(m, 7, 40); /* 384 */
    append_pat(m, 8, 40); /* 448..512 covers the pad's old bytes */
    ck_assert_uint_eq(atomic_load(&m->tail_pos), 256);
    ck_assert_uint_eq(mlog_tail(m), 5);
    for (uint64_t s = 5; s <= 8; s++) {
        ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_OK);
        ck_assert(entry_ok(&e, buf, s, 40));
    }
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_EMPTY);
}
END_TEST

START_TEST(mlog_lapped_reader_gets_lost_count_then_continues)
{
    struct mlog_cursor c;
    struct mlog_entry e;
    unsigned char buf[64];
    uint64_t tail, s;

    m = ring_new(1024);
    ck_assert_int_eq(mlog_cursor_at_head(m, &c), MLOG_OK);
    for (s = 1; s <= 100; s++)
        append_pat(m, s, 16); /* 40 bytes each: about 25 stay */
    tail = mlog_tail(m);
    ck_assert_uint_gt(tail, 70);
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)),
        MLOG_E_LAPPED);
    ck_assert_uint_eq(e.seq, tail);
    ck_assert_uint_eq(e.lost, tail - 1);
    ck_assert_uint_eq(c.seq, tail);
    for (s = tail; s <= 100; s++) {
        ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_OK);
        ck_assert(entry_ok(&e, buf, s, 16));
    }
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_EMPTY);

    /* Lapped again mid-stream: the count is from where the cursor was. */
    ck_assert_int_eq(mlog_cursor_at_seq(m, 90, &c), MLOG_OK);
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_OK);
    for (s = 101; s <= 200; s++)
        append_pat(m, s, 16);
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)),
        MLOG_E_LAPPED);
    ck_assert_uint_eq(e.seq, mlog_tail(m));
    ck_assert_uint_eq(e.lost, mlog_tail(m) - 91);
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_OK);
    ck_assert(entry_ok(&e, buf, mlog_tail(m), 16));
}
END_TEST

START_TEST(mlog_cursor_at_seq_available_evicted_future)
{
    struct mlog_cursor c;
    struct mlog_entry e;
    unsigned char buf[256];
    uint64_t tail, head;

    m = ring_new(2048);
    for (uint64_t s = 1; s <= 300; s++)
        append_pat(m, s, len_for(s, 100));
    tail = mlog_tail(m);
    head = mlog_head(m);
    ck_assert_uint_gt(tail, 1);
    for (uint64_t s = tail; s < head; s++) {
        ck_assert_int_eq(mlog_cursor_at_seq(m, s, &c), MLOG_OK);
        ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_OK);
        ck_assert(entry_ok(&e, buf, s, len_for(s, 100)));
    }
    ck_assert_int_eq(mlog_cursor_at_seq(m, tail - 1, &c), MLOG_E_LAPPED);
    ck_assert_uint_eq(c.seq, tail);
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_OK);
    ck_assert_uint_eq(e.seq, tail);
    ck_assert_int_eq(mlog_cursor_at_seq(m, 1, &c), MLOG_E_LAPPED);
    ck_assert_int_eq(mlog_cursor_at_seq(m, head, &c), MLOG_OK);
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_EMPTY);
    append_pat(m, head, 5);
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_OK);
    ck_assert(entry_ok(&e, buf, head, 5));
    ck_assert_int_eq(mlog_cursor_at_seq(m, head + 2, &c), MLOG_E_NOTFOUND);
}
END_TEST

/* Reads everything new and notes each cursor, as the fan-out reader does. */
static void
follow(const struct mlog *r, struct mlog_cursor *c, struct mlog_index *x)
{
    static unsigned char buf[4096];
    struct mlog_entry e;
    int st;

    while ((st = mlog_read(r, c, &e, buf, sizeof(buf))) == MLOG_OK
        || st == MLOG_E_LAPPED)
        mlog_index_note(x, c);
    ck_assert_int_eq(st, MLOG_EMPTY);
    mlog_index_note(x, c);
}

/* Sets a cursor at seq both ways, checks that the index gives exactly what
 * the plain walk gives (status, and the cursor or its being untouched), and
 * reads the entry there. Returns the entries the indexed walk stepped over. */
static uint64_t
ix_matches_plain(const struct mlog *r, uint64_t seq, struct mlog_index *x)
{
    static unsigned char buf[4096];
    struct mlog_cursor a, b;
    struct mlog_entry e;
    uint64_t before = x->walked;
    int ra, rb;

    memset(&a, 0xa5, sizeof(a));
    b = a;
    ra = mlog_cursor_at_seq(r, seq, &a);
    rb = mlog_cursor_at_seq_ix(r, seq, &b, x);
    CK_QUICK(ra == rb, "seq %lu: plain %s, index %s", (unsigned long)seq,
        mlog_status_str(ra), mlog_status_str(rb));
    CK_QUICK(memcmp(&a, &b, sizeof(a)) == 0,
        "seq %lu: plain cursor %lu@%lu, index cursor %lu@%lu",
        (unsigned long)seq, (unsigned long)a.seq, (unsigned long)a.pos,
        (unsigned long)b.seq, (unsigned long)b.pos);
    if ((rb == MLOG_OK || rb == MLOG_E_LAPPED) && b.seq < mlog_head(r)) {
        CK_QUICK(mlog_read(r, &b, &e, buf, sizeof(buf)) == MLOG_OK
            && e.seq == a.seq && entry_ok(&e, buf, e.seq, e.len),
            "seq %lu: entry at the cursor", (unsigned long)seq);
    }
    return x->walked - before;
}

START_TEST(mlog_index_note_keeps_the_newer_checkpoint_per_slot)
{
    const uint64_t E = MLOG_INDEX_EVERY, far = E * MLOG_INDEX_SLOTS;
    struct mlog_cursor c = {.seq = E, .pos = 800, .cap = 4096};

    ix = ix_new();
    mlog_index_note(ix, &c);
    ck_assert_uint_eq(ix->cap, 4096);
    ck_assert_uint_eq(ix->ck[1].seq, E);
    ck_assert_uint_eq(ix->ck[1].pos, 800);
    c = (struct mlog_cursor){.seq = E, .pos = 808, .cap = 4096};
    mlog_index_note(ix, &c); /* same seq: the first stays */
    ck_assert_uint_eq(ix->ck[1].pos, 800);
    c = (struct mlog_cursor){.seq = E + 1, .pos = 900, .cap = 4096};
    mlog_index_note(ix, &c); /* not a multiple: nothing */
    c.seq = 0;
    mlog_index_note(ix, &c);
    ck_assert_uint_eq(ix->ck[0].seq, 0);
    ck_assert_uint_eq(ix->ck[2].seq, 0);
    c = (struct mlog_cursor){.seq = E + far, .pos = 99000, .cap = 4096};
    mlog_index_note(ix, &c); /* same slot, newer: replaces */
    ck_assert_uint_eq(ix->ck[1].seq, E + far);
    ck_assert_uint_eq(ix->ck[1].pos, 99000);
    c = (struct mlog_cursor){.seq = E, .pos = 800, .cap = 4096};
    mlog_index_note(ix, &c); /* older: ignored */
    ck_assert_uint_eq(ix->ck[1].seq, E + far);
    c = (struct mlog_cursor){.seq = 2 * E, .pos = 64, .cap = 1000};
    mlog_index_note(ix, &c); /* not a capacity at all: ignored */
    ck_assert_uint_eq(ix->cap, 4096);
    ck_assert_uint_eq(ix->ck[2].seq, 0);
    c = (struct mlog_cursor){.seq = 2 * E, .pos = 64, .cap = 8192};
    mlog_index_note(ix, &c); /* another capacity: start over */
    ck_assert_uint_eq(ix->cap, 8192);
    ck_assert_uint_eq(ix->ck[1].seq, 0);
    ck_assert_uint_eq(ix->ck[2].seq, 2 * E);
    ck_assert_uint_eq(ix->walked, 0);
}
END_TEST

START_TEST(mlog_index_empty_falls_back_to_plain_walk)
{
    const uint64_t E = MLOG_INDEX_EVERY;
    uint64_t tail, head, want;

    m = ring_new(1 << 14);
    ix = ix_new();
    for (uint64_t s = 1; s <= 1000; s++)
        append_pat(m, s, len_for(s, 100));
    tail = mlog_tail(m);
    head = mlog_head(m);
    ck_assert_uint_gt(tail, 1);
    ck_assert_uint_gt(head - tail, 3 * E);
    ck_assert_uint_eq(ix_matches_plain(m, 0, ix), 0);
    ck_assert_uint_eq(ix_matches_plain(m, head + 1, ix), 0);
    ck_assert_uint_eq(ix_matches_plain(m, tail - 1, ix), 0);
    ck_assert_uint_eq(ix_matches_plain(m, tail, ix), 0);
    ck_assert_uint_eq(ix_matches_plain(m, head, ix), 0);
    ck_assert_uint_eq(ix->cap, 1 << 14);
    /* Cold: the whole way from the oldest entry, like the plain walk... */
    want = head - 5;
    ck_assert_uint_eq(ix_matches_plain(m, want, ix), want - tail);
    /* ...noting what it passed, so the same and nearby seqs are short. */
    ck_assert_uint_lt(ix_matches_plain(m, want, ix), E);
    ck_assert_uint_lt(ix_matches_plain(m, tail + E + 3, ix), E);
    ck_assert_uint_eq(ix->walked, (want - tail) + want % E + (tail + 3) % E);
}
END_TEST

/* The fan-out reader notes every cursor while the producer laps the ring
 * many times; every seq, evicted, live or future, is answered as the plain
 * walk answers it, and once warm in fewer than MLOG_INDEX_EVERY steps. */
START_TEST(mlog_index_matches_plain_walk_for_every_seq_across_laps)
{
    struct mlog_cursor c;
    uint64_t next = 1, laps_before = 0;

    m = ring_new(1 << 18);
    ix = ix_new();
    ck_assert_int_eq(mlog_cursor_at_head(m, &c), MLOG_OK);
    mlog_index_note(ix, &c);
    for (int round = 0; round < 6; round++) {
        uint64_t tail, head;

        for (int k = 0; k < 10000; k++, next++)
            CK_QUICK(append_pat(m, next, len_for(next, 300)) == next, "append");
        follow(m, &c, ix);
        tail = mlog_tail(m);
        head = mlog_head(m);
        ck_assert_uint_gt(tail, laps_before + 1000);
        laps_before = tail;
        for (uint64_t s = tail - 3; s <= head + 2; s++) {
            uint64_t w = ix_matches_plain(m, s, ix);
            CK_QUICK(w < MLOG_INDEX_EVERY, "seq %lu walked %lu",
                (unsigned long)s, (unsigned long)w);
        }
    }
    ck_assert_uint_gt(atomic_load(&m->head_pos), (uint64_t)30 << 18);
}
END_TEST

/* Issue 10: a respawned worker's reader starts at the head, so its index
 * holds nothing older. Replays for 10,000 clients at scattered old seqs
 * must not each walk from the oldest entry: the walks note what they pass,
 * and the total stays within one pass over the ring plus
 * MLOG_INDEX_EVERY per replay. */
START_TEST(mlog_index_cold_replays_cost_one_pass_plus_every)
{
    const uint64_t E = MLOG_INDEX_EVERY;
    struct mlog_cursor c;
    uint64_t tail, head, start, rnd = 7, total, last = 0;

    m = ring_new(1 << 20);
    ix = ix_new();
    for (uint64_t s = 1; s <= 40000; s++)
        append_pat(m, s, len_for(s, 300));
    ck_assert_int_eq(mlog_cursor_at_head(m, &c), MLOG_OK);
    mlog_index_note(ix, &c);
    start = c.seq;
    for (uint64_t s = start; s < start + 200; s++)
        append_pat(m, s, len_for(s, 300));
    follow(m, &c, ix);
    tail = mlog_tail(m);
    head = mlog_head(m);
    ck_assert_uint_gt(start - tail, 40 * E);
    for (int i = 0; i < 10000; i++) {
        uint64_t s, w;

        rnd = rnd * 6364136223846793005u + 1442695040888963407u;
        s = tail + (rnd >> 33) % (start - tail);
        last = s > last ? s : last;
        if (i % 16 == 0) {
            w = ix_matches_plain(m, s, ix);
        } else {
            uint64_t before = ix->walked;
            CK_QUICK(mlog_cursor_at_seq_ix(m, s, &c, ix) == MLOG_OK
                && c.seq == s, "replay at %lu", (unsigned long)s);
            w = ix->walked - before;
        }
        CK_QUICK(w <= start - tail, "replay at %lu walked %lu",
            (unsigned long)s, (unsigned long)w);
    }
    total = ix->walked;
    ck_assert_msg(total <= (start - tail) + 10001 * E,
        "walked %lu for %lu entries held", (unsigned long)total,
        (unsigned long)(head - tail));
    /* Now warm up to the last replay; past it, until the reader's first
     * checkpoint, may lie one that nothing has passed yet. */
    for (uint64_t s = tail; s <= head; s++) {
        uint64_t w = ix_matches_plain(m, s, ix);
        CK_QUICK(s <= last ? w < E : w <= E, "seq %lu walked %lu",
            (unsigned long)s, (unsigned long)w);
    }
}
END_TEST

/* Checkpoints left behind by a reader that stopped following: the ring
 * moved on and evicted them. They never start a walk. */
START_TEST(mlog_index_ignores_evicted_checkpoints)
{
    const uint64_t E = MLOG_INDEX_EVERY, newest = 601 / E * E;
    struct mlog_cursor c;
    uint64_t tail, head, s;

    m = ring_new(1 << 12);
    ix = ix_new();
    ck_assert_int_eq(mlog_cursor_at_head(m, &c), MLOG_OK);
    for (s = 1; s <= 600; s++) {
        append_pat(m, s, len_for(s, 200));
        follow(m, &c, ix);
    }
    for (; s <= 700; s++)
        append_pat(m, s, len_for(s, 200));
    tail = mlog_tail(m);
    head = mlog_head(m);
    ck_assert_uint_eq(ix->ck[newest / E % MLOG_INDEX_SLOTS].seq, newest);
    ck_assert_uint_lt(newest, tail); /* every checkpoint noted is evicted */
    /* Ascending, so each walk from the oldest entry has noted the
     * checkpoints below s that are still live. */
    for (s = 0; s <= head + 1; s++) {
        uint64_t from = (s - 1) / E * E > tail ? (s - 1) / E * E : tail;
        uint64_t w = ix_matches_plain(m, s, ix);
        CK_QUICK(w == (s > tail && s < head ? s - from : 0),
            "seq %lu walked %lu", (unsigned long)s, (unsigned long)w);
    }
}
END_TEST

/* A checkpoint on a wrap gap whose bytes were reused while its entry is
 * still the oldest: its position is behind the tail and now holds another
 * entry's payload, here one made to look like the checkpoint's header. */
START_TEST(mlog_index_ignores_checkpoint_on_reclaimed_gap)
{
    const uint64_t E = MLOG_INDEX_EVERY;
    unsigned char fake[40];
    struct mlog_cursor c;
    uint64_t w[3] = {E, 8, 0};
    uint64_t s;

    ck_assert_uint_eq(E, 64); /* the layout below counts on it */
    m = ring_new(256);
    ix = ix_new();
    for (s = 1; s <= 56; s++)
        append_pat(m, s, 40); /* 64 bytes each: 3584, offset 0 */
    for (; s <= 63; s++)
        append_pat(m, s, 8); /* 32 each: 3808, offset 224 */
    ck_assert_int_eq(mlog_cursor_at_head(m, &c), MLOG_OK);
    ck_assert_uint_eq(c.seq, 64);
    ck_assert_uint_eq(c.pos, 3808);
    mlog_index_note(ix, &c);
    ck_assert_uint_eq(ix->ck[1].pos, 3808);
    append_pat(m, 64, 40); /* pad at 3808, entry 64 at 3840 */
    append_pat(m, 65, 40);
    append_pat(m, 66, 40);
    /* Entry 67 at 4032 (offset 192): payload byte 8 sits at offset 224. */
    for (unsigned i = 0; i < sizeof(fake); i++)
        fake[i] = pat(67, i);
    memcpy(fake + 8, w, sizeof(w));
    ck_assert_uint_eq(mlog_append(m, 67, fake, sizeof(fake), 670), 67);
    ck_assert_uint_eq(mlog_tail(m), 64);
    ck_assert_uint_eq(atomic_load(&m->tail_pos), 3840);
    ck_assert_uint_eq(ix_matches_plain(m, 64, ix), 0);
    ck_assert_uint_eq(ix_matches_plain(m, 66, ix), 2);
}
END_TEST

/* Checkpoints that are not where they say (scribbled, or from another
 * ring): each is refused or found out by the walk, never trusted. */
START_TEST(mlog_index_ignores_checkpoints_that_do_not_match)
{
    const uint64_t E = MLOG_INDEX_EVERY;
    struct mlog_cursor c;
    struct mlog_ckpt good, *k;
    uint64_t tail, head, j, want;

    m = ring_new(1 << 15);
    ix = ix_new();
    ck_assert_int_eq(mlog_cursor_at_head(m, &c), MLOG_OK);
    for (uint64_t s = 1; s <= 2000; s++)
        append_pat(m, s, len_for(s, 100));
    follow(m, &c, ix);
    tail = mlog_tail(m);
    head = mlog_head(m);
    j = (tail + head) / 2 / E;
    ck_assert_uint_gt(j * E, tail + E);
    k = &ix->ck[j % MLOG_INDEX_SLOTS];
    good = *k;
    ck_assert_uint_eq(good.seq, j * E);
    want = j * E + 5;
    ck_assert_uint_lt(want, head);
    ck_assert_uint_eq(ix_matches_plain(m, want, ix), 5);
    {
        const uint64_t forged[] = {
            good.pos + 8, good.pos + 4, good.pos - 8,
            ix->ck[(j - 1) % MLOG_INDEX_SLOTS].pos, /* another entry */
            atomic_load(&m->tail_pos) - 8, atomic_load(&m->head_pos),
            atomic_load(&m->head_pos) + (1 << 15), 0, UINT64_MAX,
        };
        for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
            *k = (struct mlog_ckpt){.seq = j * E, .pos = forged[i]};
            ix_matches_plain(m, want, ix);
            ix_matches_plain(m, j * E, ix);
            *k = good;
        }
    }
    /* Every checkpoint shifted by one entry, as another ring's might be. */
    for (uint64_t i = 0; i < MLOG_INDEX_SLOTS; i++)
        if (ix->ck[i].seq != 0)
            ix->ck[i].pos = ix->ck[(i + 1) % MLOG_INDEX_SLOTS].pos;
    for (uint64_t s = tail; s <= head; s++)
        ix_matches_plain(m, s, ix);
    ck_assert_uint_eq(ix_matches_plain(m, want, ix), 5);
}
END_TEST

/* Checkpoints taken at another capacity are never used on this ring, and
 * a cursor of another capacity starts the index over. */
START_TEST(mlog_index_capacity_mismatch_is_ignored)
{
    const uint64_t E = MLOG_INDEX_EVERY;
    size_t big = mlog_size(1 << 16);
    struct mlog *m2;
    struct mlog_cursor c, c2;
    uint64_t tail2, want;

    m = ring_new(1 << 14);
    m2 = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
        -1, 0);
    ck_assert_ptr_ne(m2, MAP_FAILED);
    ck_assert_int_eq(mlog_init(m2, 1 << 16), 0);
    ix = ix_new();
    ck_assert_int_eq(mlog_cursor_at_head(m, &c), MLOG_OK);
    for (uint64_t s = 1; s <= 1200; s++) {
        append_pat(m, s, len_for(s, 100));
        append_pat(m2, s, len_for(s, 100));
    }
    follow(m, &c, ix); /* checkpoints at 1 << 14 */
    tail2 = mlog_tail(m2);
    want = mlog_head(m2) - 3;
    ck_assert_uint_gt(want - tail2, 4 * E);
    ck_assert_uint_eq(ix->ck[want / E % MLOG_INDEX_SLOTS].seq, want / E * E);
    ck_assert_uint_eq(ix_matches_plain(m2, want, ix), want - tail2);
    ck_assert_uint_eq(ix->cap, 1 << 16);
    ck_assert_uint_lt(ix_matches_plain(m2, want, ix), E);
    /* A cursor on the first ring is noted: the index follows it again. */
    ck_assert_int_eq(mlog_cursor_at_seq(m, want / E * E, &c), MLOG_OK);
    mlog_index_note(ix, &c);
    ck_assert_uint_eq(ix->cap, 1 << 14);
    ck_assert_uint_eq(ix_matches_plain(m2, want, ix), want - tail2);
    /* A cursor set on m2 against m is corrupt either way. */
    ck_assert_int_eq(mlog_cursor_at_seq_ix(m2, want, &c2, ix), MLOG_OK);
    ck_assert_int_eq(mlog_read(m, &c2, &(struct mlog_entry){0}, NULL, 0),
        MLOG_E_CORRUPT);
    munmap(m2, big);
}
END_TEST

/* More entries than the index reaches (slots x every): the newest
 * checkpoints win the slots, and older seqs fall back to the walk from the
 * oldest entry, answering the same. */
START_TEST(mlog_index_beyond_its_reach_walks_from_oldest)
{
    const uint64_t E = MLOG_INDEX_EVERY, reach = E * MLOG_INDEX_SLOTS;
    const uint64_t n = reach + reach / 8;
    struct mlog_cursor c;
    uint64_t newest, oldest_kept;

    m = ring_new((size_t)1 << 24); /* 24-byte entries: 699,050 fit */
    ix = ix_new();
    ck_assert_int_eq(mlog_cursor_at_head(m, &c), MLOG_OK);
    for (uint64_t s = 1; s <= n; s++)
        CK_QUICK(append_pat(m, s, 0) == s, "append %lu", (unsigned long)s);
    follow(m, &c, ix);
    ck_assert_uint_eq(mlog_tail(m), 1);
    newest = (n + 1) / E * E;
    oldest_kept = newest - reach + E;
    ck_assert_uint_eq(ix->ck[oldest_kept / E % MLOG_INDEX_SLOTS].seq,
        oldest_kept);
    ck_assert_uint_eq(ix_matches_plain(m, 1000, ix), 999);
    ck_assert_uint_eq(ix_matches_plain(m, 1000, ix), 999);
    ck_assert_uint_eq(ix_matches_plain(m, oldest_kept - 1, ix),
        oldest_kept - 2);
    ck_assert_uint_eq(ix_matches_plain(m, oldest_kept + 9, ix), 9);
    ck_assert_uint_eq(ix_matches_plain(m, n - 1, ix), (n - 1) % E);
}
END_TEST

START_TEST(mlog_corrupt_shared_memory_is_reported_not_fatal)
{
    struct mlog_cursor c, c2;
    struct mlog_entry e;
    unsigned char buf[64];
    uint64_t saved;

    m = ring_new(1024);
    for (uint64_t s = 1; s <= 5; s++)
        append_pat(m, s, 16);
    ck_assert_int_eq(mlog_cursor_at_seq(m, 2, &c), MLOG_OK);

    saved = m->magic;
    m->magic ^= 1;
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_E_CORRUPT);
    ck_assert_int_eq(mlog_cursor_at_head(m, &c2), MLOG_E_CORRUPT);
    ck_assert_int_eq(mlog_check(m, mlen), MLOG_E_CORRUPT);
    m->magic = saved;

    saved = m->capacity;
    m->capacity = 1 << 20; /* valid shape, but not what the cursor saw */
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_E_CORRUPT);
    ck_assert_int_eq(mlog_check(m, mlen), MLOG_E_CORRUPT);
    m->capacity = 1000;
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_E_CORRUPT);
    m->capacity = saved;

    /* Control words out of order. */
    saved = atomic_load(&m->tail_seq);
    atomic_store(&m->tail_seq, 100);
    ck_assert_int_eq(mlog_cursor_at_head(m, &c2), MLOG_E_CORRUPT);
    ck_assert_int_eq(mlog_check(m, mlen), MLOG_E_CORRUPT);
    atomic_store(&m->tail_seq, saved);
    saved = atomic_load(&m->head_seq);
    atomic_store(&m->head_seq, 1); /* behind the cursor */
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_E_CORRUPT);
    atomic_store(&m->head_seq, saved);

    /* Entry header: wrong seq, absurd length, unknown flag. */
    size_t w = c.pos / 8;
    uint64_t w0 = atomic_load(&m->data[w]), w1 = atomic_load(&m->data[w + 1]);
    atomic_store(&m->data[w], 77);
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_E_CORRUPT);
    atomic_store(&m->data[w], w0);
    atomic_store(&m->data[w + 1], w1 | 0xffffff);
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_E_CORRUPT);
    atomic_store(&m->data[w + 1], w1 | (uint64_t)4 << 48);
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_E_CORRUPT);
    ck_assert_uint_eq(c.seq, 2); /* cursor untouched by errors */

    /* The producer does not trust a scribbled tail entry either: it drops
     * what it holds and carries on. */
    atomic_store(&m->data[atomic_load(&m->tail_pos) / 8], 12345);
    for (uint64_t s = 6; s <= 200; s++)
        ck_assert_uint_eq(append_pat(m, s, 16), s);
    ck_assert_int_eq(mlog_check(m, mlen), MLOG_OK);
    ck_assert_int_eq(mlog_cursor_at_seq(m, 200, &c), MLOG_OK);
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_OK);
    ck_assert(entry_ok(&e, buf, 200, 16));
}
END_TEST

/* A producer that died (or stalls) between the seqlock stores: readers
 * that only need head_seq keep reading; positioning reports BUSY. */
START_TEST(mlog_producer_stuck_mid_update_reports_busy)
{
    struct mlog_cursor c, c2;
    struct mlog_entry e;
    unsigned char buf[64];

    m = ring_new(1024);
    ck_assert_int_eq(mlog_cursor_at_head(m, &c), MLOG_OK);
    append_pat(m, 1, 16);
    atomic_fetch_add(&m->ver, 1);
    ck_assert_int_eq(mlog_cursor_at_head(m, &c2), MLOG_E_BUSY);
    ck_assert_int_eq(mlog_cursor_at_seq(m, 1, &c2), MLOG_E_BUSY);
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_OK);
    ck_assert(entry_ok(&e, buf, 1, 16));
    ck_assert_int_eq(mlog_read(m, &c, &e, buf, sizeof(buf)), MLOG_EMPTY);
    atomic_fetch_add(&m->ver, 1);
    ck_assert_int_eq(mlog_cursor_at_head(m, &c2), MLOG_OK);
}
END_TEST

/* Shared between the test and its forked readers. */
struct race {
    _Atomic int ready, done;
    _Atomic uint64_t reads, laps, lost, edge_reads, edge_torn;
};

enum {
    RACE_OK, RACE_ORDER, RACE_PAYLOAD, RACE_LAPCOUNT, RACE_STATUS,
    RACE_TOTAL, RACE_NONE
};

#define RACE_CAP 4096
#define RACE_MAX 1000 /* the most a 4096-byte ring takes */
#define RACE_N 200000
#define RACE_PAUSE 1024

/* Reads in order, as a worker does: every entry intact, every gap a lap. */
static int
race_reader(struct mlog *r, struct race *sh)
{
    static unsigned char buf[RACE_MAX];
    struct mlog_cursor c;
    struct mlog_entry e;
    uint64_t start, want, reads = 0, laps = 0, lost = 0;

    if (mlog_cursor_at_head(r, &c) != MLOG_OK)
        return RACE_STATUS;
    start = want = c.seq;
    atomic_fetch_add(&sh->ready, 1);
    for (;;) {
        int done = atomic_load(&sh->done);
        int st = mlog_read(r, &c, &e, buf, sizeof(buf));

        if (st == MLOG_OK) {
            if (e.seq != want)
                return RACE_ORDER;
            if (!entry_ok(&e, buf, e.seq, len_for(e.seq, RACE_MAX)))
                return RACE_PAYLOAD;
            want++, reads++;
        } else if (st == MLOG_E_LAPPED) {
            if (e.seq <= want || e.lost != e.seq - want || c.seq != e.seq)
                return RACE_LAPCOUNT;
            lost += e.lost, laps++;
            want = e.seq;
        } else if (st == MLOG_EMPTY) {
            if (done)
                break; /* done was set before this read: all seen */
        } else if (st != MLOG_E_BUSY) {
            return RACE_STATUS;
        }
    }
    atomic_store(&sh->reads, reads);
    atomic_store(&sh->laps, laps);
    atomic_store(&sh->lost, lost);
    if (reads + lost != mlog_head(r) - start || want != mlog_head(r))
        return RACE_TOTAL;
    return reads > 0 ? RACE_OK : RACE_NONE;
}

/* Keeps jumping to the oldest entry, the one the producer overwrites next,
 * so that copies race the overwrite: nothing torn may come back as OK. */
static int
race_edge_reader(struct mlog *r, struct race *sh)
{
    static unsigned char buf[RACE_MAX];
    struct mlog_cursor c;
    struct mlog_entry e;
    uint64_t reads = 0, torn = 0;

    atomic_fetch_add(&sh->ready, 1);
    while (!atomic_load(&sh->done)) {
        int st = mlog_cursor_at_seq(r, mlog_tail(r), &c);

        if (st != MLOG_OK && st != MLOG_E_LAPPED && st != MLOG_E_BUSY)
            return RACE_STATUS;
        for (int i = 0; i < 4 && st != MLOG_E_BUSY; i++) {
            st = mlog_read(r, &c, &e, buf, sizeof(buf));
            if (st == MLOG_OK) {
                if (!entry_ok(&e, buf, e.seq, len_for(e.seq, RACE_MAX)))
                    return RACE_PAYLOAD;
                reads++;
            } else if (st == MLOG_E_LAPPED) {
                torn++;
            } else if (st != MLOG_EMPTY && st != MLOG_E_BUSY) {
                return RACE_STATUS;
            }
        }
    }
    atomic_store(&sh->edge_reads, reads);
    atomic_store(&sh->edge_torn, torn);
    return reads > 0 ? RACE_OK : RACE_NONE;
}

/* Jumps with the index to seqs near the tail (checkpoints there are being
 * evicted) and anywhere held, reading a few entries from each and noting
 * every cursor: the first entry is the one asked for, and none is torn. */
static int
race_ix_reader(struct mlog *r, struct race *sh)
{
    static unsigned char buf[RACE_MAX];
    struct mlog_index *x = calloc(1, sizeof(*x));
    struct mlog_cursor c;
    struct mlog_entry e;
    uint64_t reads = 0, torn = 0, rnd = 1;

    if (x == NULL)
        return RACE_STATUS;
    atomic_fetch_add(&sh->ready, 1);
    while (!atomic_load(&sh->done)) {
        uint64_t tail = mlog_tail(r), span = mlog_head(r) - tail + 1, want;
        int st;

        rnd = rnd * 6364136223846793005u + 1442695040888963407u;
        want = tail + (rnd >> 33) % (rnd & 1 ? 8 : span);
        st = mlog_cursor_at_seq_ix(r, want, &c, x);
        if (st == MLOG_E_BUSY || st == MLOG_E_NOTFOUND)
            continue;
        if (st == MLOG_E_LAPPED) {
            if (c.seq <= want)
                return RACE_LAPCOUNT;
            torn++;
            continue;
        }
        if (st != MLOG_OK || c.seq != want)
            return RACE_STATUS;
        for (int i = 0; i < 4; i++) {
            st = mlog_read(r, &c, &e, buf, sizeof(buf));
            mlog_index_note(x, &c);
            if (st == MLOG_OK) {
                if (i == 0 && e.seq != want)
                    return RACE_ORDER;
                if (!entry_ok(&e, buf, e.seq, len_for(e.seq, RACE_MAX)))
                    return RACE_PAYLOAD;
                reads++;
            } else if (st == MLOG_E_LAPPED) {
                torn++;
                break;
            } else if (st == MLOG_EMPTY || st == MLOG_E_BUSY) {
                break;
            } else {
                return RACE_STATUS;
            }
        }
    }
    atomic_store(&sh->edge_reads, reads);
    atomic_store(&sh->edge_torn, torn);
    free(x);
    return reads > 0 ? RACE_OK : RACE_NONE;
}

static pid_t
race_fork(int (*fn)(struct mlog *, struct race *), struct race *sh)
{
    pid_t pid = fork();

    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        /* Do not outlive a parent whose assertion failed. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        _exit(fn(m, sh));
    }
    return pid;
}

static int
race_verdict(pid_t pid)
{
    int st;

    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st));
    return WEXITSTATUS(st);
}

START_TEST(mlog_forked_readers_see_intact_entries_or_laps)
{
    struct race *sh;
    pid_t reader, edge;
    int v;

    m = ring_new(RACE_CAP);
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(sh, MAP_FAILED);
    memset(sh, 0, sizeof(*sh));
    reader = race_fork(race_reader, sh);
    edge = race_fork(race_edge_reader, sh);
    while (atomic_load(&sh->ready) < 2)
        ;
    for (uint64_t s = 1; s <= RACE_N; s++) {
        ck_assert_uint_eq(append_pat(m, s, len_for(s, RACE_MAX)), s);
        if (s % RACE_PAUSE == 0)
            usleep(100); /* let the in-order reader catch up now and then */
    }
    atomic_store(&sh->done, 1);
    v = race_verdict(reader);
    ck_assert_msg(v == RACE_OK, "reader verdict %d (reads %lu laps %lu "
        "lost %lu)", v, (unsigned long)atomic_load(&sh->reads),
        (unsigned long)atomic_load(&sh->laps),
        (unsigned long)atomic_load(&sh->lost));
    v = race_verdict(edge);
    ck_assert_msg(v == RACE_OK, "edge reader verdict %d (reads %lu torn %lu)",
        v, (unsigned long)atomic_load(&sh->edge_reads),
        (unsigned long)atomic_load(&sh->edge_torn));
    munmap(sh, sizeof(*sh));
}
END_TEST

START_TEST(mlog_index_seek_racing_producer_returns_no_torn_entry)
{
    struct race *sh;
    pid_t pid;
    int v;

    m = ring_new(RACE_CAP * 4);
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(sh, MAP_FAILED);
    memset(sh, 0, sizeof(*sh));
    pid = race_fork(race_ix_reader, sh);
    while (atomic_load(&sh->ready) < 1)
        ;
    for (uint64_t s = 1; s <= RACE_N; s++) {
        CK_QUICK(append_pat(m, s, len_for(s, RACE_MAX)) == s, "append");
        if (s % RACE_PAUSE == 0)
            usleep(100);
    }
    atomic_store(&sh->done, 1);
    v = race_verdict(pid);
    ck_assert_msg(v == RACE_OK, "index reader verdict %d (reads %lu torn %lu)",
        v, (unsigned long)atomic_load(&sh->edge_reads),
        (unsigned long)atomic_load(&sh->edge_torn));
    munmap(sh, sizeof(*sh));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("mlog");
    TCase *t = tcase_create("append/read");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_add_test(t, mlog_size_and_init_reject_bad_capacity);
    tcase_add_test(t, mlog_empty_ring_reads_empty);
    tcase_add_test(t, mlog_reads_in_order_for_sizes_0_to_n);
    tcase_add_test(t, mlog_too_small_buffer_reports_needed_len);
    tcase_add_test(t, mlog_rejects_too_large_entry);
    tcase_add_test(t, mlog_append_v_gathers_parts);
    tcase_add_test(t, mlog_status_names);
    tcase_add_test(t, mlog_corrupt_shared_memory_is_reported_not_fatal);
    tcase_add_test(t, mlog_producer_stuck_mid_update_reports_busy);
    suite_add_tcase(s, t);
    t = tcase_create("wrap");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_add_test(t, mlog_wraps_many_times_with_variable_sizes);
    tcase_add_test(t, mlog_entry_exactly_filling_remaining_space);
    tcase_add_test(t, mlog_wrap_gaps_with_and_without_marker);
    tcase_add_test(t, mlog_reader_parked_on_reclaimed_gap_is_not_lapped);
    suite_add_tcase(s, t);
    t = tcase_create("lapping");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_add_test(t, mlog_lapped_reader_gets_lost_count_then_continues);
    tcase_add_test(t, mlog_cursor_at_seq_available_evicted_future);
    suite_add_tcase(s, t);
    t = tcase_create("index");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, mlog_index_note_keeps_the_newer_checkpoint_per_slot);
    tcase_add_test(t, mlog_index_empty_falls_back_to_plain_walk);
    tcase_add_test(t, mlog_index_matches_plain_walk_for_every_seq_across_laps);
    tcase_add_test(t, mlog_index_cold_replays_cost_one_pass_plus_every);
    tcase_add_test(t, mlog_index_ignores_evicted_checkpoints);
    tcase_add_test(t, mlog_index_ignores_checkpoint_on_reclaimed_gap);
    tcase_add_test(t, mlog_index_ignores_checkpoints_that_do_not_match);
    tcase_add_test(t, mlog_index_capacity_mismatch_is_ignored);
    tcase_add_test(t, mlog_index_beyond_its_reach_walks_from_oldest);
    suite_add_tcase(s, t);
    t = tcase_create("processes");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_set_timeout(t, 30);
    tcase_add_test(t, mlog_forked_readers_see_intact_entries_or_laps);
    tcase_add_test(t, mlog_index_seek_racing_producer_returns_no_torn_entry);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
