/*
 * Message log ring: append/read order and payload integrity, wrap-around
 * and wrap gaps, lapped readers, positioning by seq, a reader in another
 * process racing the producer, and corrupt shared memory.
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

static struct mlog *m;
static size_t mlen;

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
        || e->ts_ms != (int64_t)seq * 10 || e->lost != 0)
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
    ck_assert_int_eq(e.ts_ms, 42);
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
    t = tcase_create("processes");
    tcase_add_checked_fixture(t, NULL, teardown);
    tcase_set_timeout(t, 30);
    tcase_add_test(t, mlog_forked_readers_see_intact_entries_or_laps);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
