/*
 * The message log: a single-producer, multi-consumer ring of variable-length
 * entries in memory the caller provides (the shared segment). The master is
 * the only writer; every worker reads with its own private cursor and never
 * writes to the ring. Wake-ups are the caller's business.
 */
#ifndef WSGATE_SHM_MLOG_H
#define WSGATE_SHM_MLOG_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define MLOG_MAGIC UINT64_C(0x31676f6c6d677377) /* "wsgmlog1" */
/* Version 2: the entry header's third word is the append time in unix
 * microseconds (version 1: milliseconds), fine enough for the 0.1 ms
 * buckets of the delivery latency histogram (common/hist.def). The word's
 * place and size are unchanged; only its unit is. */
#define MLOG_LAYOUT_VERSION 2u

/* Data capacity: a power of two in [MLOG_MIN_CAPACITY, MLOG_MAX_CAPACITY]
 * bytes, so an offset is a mask of a position, not a division. */
#define MLOG_MIN_CAPACITY ((size_t)256)
#define MLOG_MAX_CAPACITY ((size_t)1 << 32)

/* Each entry is an MLOG_EHDR-byte header (seq, len|kind|flags, ts_us) and
 * its payload padded to 8 bytes. One entry (header + padded payload) may
 * take at most a quarter of the ring, so a payload is at most
 * MLOG_MAX_LEN(cap) bytes: 40 for the minimum ring, about 1 MiB for 4 MiB. */
#define MLOG_EHDR 24u
#define MLOG_MAX_LEN(cap) ((uint32_t)((cap) / 4 - MLOG_EHDR))

/*
 * Shared-memory ABI, under the same rules as shm/layout.h: fixed-width and
 * _Atomic integers only, no pointers, so the ring works at any address in
 * any process. The first block is written once by mlog_init; the second
 * only by the producer. Positions are byte counts since init that never
 * wrap (offset = pos & (capacity - 1)); mlog.c explains the protocol.
 * Callers use the functions below and never touch the fields.
 */
struct mlog {
    uint64_t magic;    /* MLOG_MAGIC */
    uint32_t version;  /* MLOG_LAYOUT_VERSION */
    uint32_t hdr_size; /* sizeof(struct mlog): where data[] starts */
    uint64_t capacity; /* bytes in data[] */
    uint64_t reserved0[5];            /* pads the producer words to 64 */
    _Atomic uint64_t ver; /* seqlock: odd while the four below change */
    _Atomic uint64_t head_seq; /* seq the next append gets; starts at 1 */
    _Atomic uint64_t head_pos; /* where the next append starts */
    _Atomic uint64_t tail_seq; /* oldest seq still readable */
    _Atomic uint64_t tail_pos; /* bytes before this may be overwritten */
    uint64_t reserved1[3];
    _Atomic uint64_t data[]; /* capacity bytes of entries */
};

_Static_assert(offsetof(struct mlog, magic) == 0, "magic first");
_Static_assert(offsetof(struct mlog, version) == 8, "version at 8");
_Static_assert(offsetof(struct mlog, capacity) == 16, "capacity at 16");
_Static_assert(offsetof(struct mlog, ver) == 64, "producer line at 64");
_Static_assert(offsetof(struct mlog, head_seq) == 72, "head_seq at 72");
_Static_assert(offsetof(struct mlog, tail_pos) == 96, "tail_pos at 96");
_Static_assert(offsetof(struct mlog, data) == 128, "data at 128");
_Static_assert(sizeof(struct mlog) == 128, "header is two cache lines");
_Static_assert(alignof(struct mlog) == 8, "needs only 8-byte alignment");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "lock-free 64-bit atomics");

enum mlog_status {
    MLOG_OK = 0,         /* entry copied out */
    MLOG_EMPTY,          /* caught up: nothing newer than the cursor */
    MLOG_E_LAPPED,       /* entries were overwritten before they were read */
    MLOG_E_TOOSMALL,     /* the buffer cannot hold the payload */
    MLOG_E_NOTFOUND,     /* mlog_cursor_at_seq: seq not appended yet */
    MLOG_E_BUSY,         /* the producer stayed mid-update; try again */
    MLOG_E_CORRUPT,      /* the shared header, an entry or the cursor is bad */
};

/* A reader's private position. Set it only with mlog_cursor_at_head or
 * mlog_cursor_at_seq; mlog_read advances it. Plain memory, copyable. */
struct mlog_cursor {
    uint64_t seq; /* next seq to read */
    uint64_t pos; /* where that entry (or a wrap gap before it) starts */
    uint64_t cap; /* capacity when the cursor was set (sanity check) */
};

/* What mlog_read reports about one entry. */
struct mlog_entry {
    uint64_t seq;   /* OK/TOOSMALL: its seq; LAPPED: oldest still readable */
    uint64_t lost;  /* LAPPED: entries skipped (seq - cursor's old seq) */
    int64_t ts_us;  /* as given to mlog_append (the callers: unix us) */
    uint32_t len;   /* payload bytes (TOOSMALL: bytes needed) */
    uint16_t kind;  /* as given to mlog_append */
};

/* Bytes to reserve for a ring of capacity data bytes (header included),
 * or 0 if capacity is not a power of two in the allowed range. */
size_t mlog_size(size_t capacity);

/* Master, once, before fork: lay out an empty ring in mem, which must be
 * 8-byte aligned (64 keeps the producer words on one cache line), hold
 * mlog_size(capacity) bytes and stay mapped for the ring's life. The data
 * area is not cleared. Borrows mem. Returns 0, or -1 with errno EINVAL for
 * a bad capacity or alignment. */
int mlog_init(void *mem, size_t capacity);

/* Reader, once after attaching: sanity-check the shared header against the
 * length of memory mapped for it. Returns MLOG_OK or MLOG_E_CORRUPT. The
 * capacity is trusted after this; a later change to it is caught by
 * cursors set before the change. */
int mlog_check(const struct mlog *m, size_t memlen);

/* Largest payload one entry may hold (MLOG_MAX_LEN of the capacity). */
uint32_t mlog_max_len(const struct mlog *m);

/* Producer (the master, single writer): append one entry and publish it.
 * Evicts the oldest entries as needed. Copies payload (borrowed; may be
 * NULL when len is 0). Never blocks. Returns the entry's seq, or 0 when len
 * exceeds mlog_max_len or the header fails its sanity check. */
uint64_t mlog_append(struct mlog *m, uint16_t kind, const void *payload,
    uint32_t len, int64_t ts_us);

/* Same, gathering the payload from iovcnt parts (e.g. a header and a body)
 * without a staging copy. Borrows iov. Returns 0 if the total is too large
 * or iovcnt is negative. */
uint64_t mlog_append_v(struct mlog *m, uint16_t kind, const struct iovec *iov,
    int iovcnt, int64_t ts_us);

/* Seq the next append will get (1 for an empty ring). Acquire load. */
uint64_t mlog_head(const struct mlog *m);

/* Oldest seq still readable; equal to mlog_head when none is. Acquire load;
 * may be stale by the time the caller uses it. */
uint64_t mlog_tail(const struct mlog *m);

/* Reader: point cur at the next entry to be appended, so it sees only new
 * entries. Returns MLOG_OK, MLOG_E_BUSY or MLOG_E_CORRUPT. Never blocks. */
int mlog_cursor_at_head(const struct mlog *m, struct mlog_cursor *cur);

/* Reader: point cur at entry seq, found by walking from the oldest entry
 * (O(entries held); mlog_cursor_at_seq_ix is the indexed form). Returns
 * MLOG_OK (also for seq == head: the cursor waits for it), MLOG_E_LAPPED
 * when seq was evicted (cur is then set to the oldest readable entry),
 * MLOG_E_NOTFOUND when seq is beyond the head or 0 (cur untouched),
 * MLOG_E_BUSY or MLOG_E_CORRUPT. */
int mlog_cursor_at_seq(const struct mlog *m, uint64_t seq,
    struct mlog_cursor *cur);

/*
 * A reader's private index of checkpoints into one ring, so that setting a
 * cursor at an old seq walks at most MLOG_INDEX_EVERY - 1 entries instead
 * of every entry from the oldest. A checkpoint says where entry seq starts,
 * for seqs that are multiples of MLOG_INDEX_EVERY; it lives in slot
 * (seq / MLOG_INDEX_EVERY) % MLOG_INDEX_SLOTS, and the newer of two
 * checkpoints wins a slot. So the index takes MLOG_INDEX_SLOTS x 16 bytes
 * (128 KiB) and reaches back MLOG_INDEX_SLOTS x MLOG_INDEX_EVERY = 524,288
 * entries from the newest checkpoint, a 64 MiB ring of 128-byte entries;
 * older seqs are found by walking from the oldest entry, as without one.
 * Plain memory, never shared; zero-initialised is empty. Checkpoints are
 * hints: each is checked against the ring before use, and one that was
 * evicted, taken at another capacity or does not match is ignored. An
 * index belongs to one ring: zero it if the ring is laid out again.
 * Callers read walked and touch nothing else.
 */
#define MLOG_INDEX_EVERY 64u
#define MLOG_INDEX_SLOTS 8192u /* a power of two */

struct mlog_ckpt {
    uint64_t seq; /* a multiple of MLOG_INDEX_EVERY; 0: empty slot */
    uint64_t pos; /* where entry seq (or a wrap gap before it) starts */
};

struct mlog_index {
    uint64_t cap;    /* capacity the checkpoints were taken at; 0: none */
    uint64_t walked; /* entries stepped over by mlog_cursor_at_seq_ix, in
                      * total (a statistic: replay cost) */
    struct mlog_ckpt ck[MLOG_INDEX_SLOTS];
};

_Static_assert(sizeof(struct mlog_ckpt) == 16, "16 bytes a checkpoint");
_Static_assert((MLOG_INDEX_SLOTS & (MLOG_INDEX_SLOTS - 1)) == 0,
    "slots a power of two");

/* Reader: note that cur (a cursor just set or advanced by this library)
 * points at an entry boundary. Records a checkpoint when cur->seq is a
 * multiple of MLOG_INDEX_EVERY and newer than the one in its slot; does
 * nothing otherwise, so it may follow every mlog_read whatever it
 * returned. Borrows both. O(1), except that a cursor of another capacity
 * than the index's empties the index first. */
void mlog_index_note(struct mlog_index *ix, const struct mlog_cursor *cur);

/* Reader: mlog_cursor_at_seq, with the same return values and effect on
 * cur, but walking from the newest checkpoint in ix at or before seq that
 * is still readable (falling back to the oldest entry), and noting in ix
 * the checkpoints it passes and the cursor it sets, so the next call near
 * seq is short: fewer than MLOG_INDEX_EVERY entries once ix holds the
 * last checkpoint at or before seq; otherwise the walk also covers the
 * stretch it fills in. Probes at most MLOG_INDEX_SLOTS slots. Borrows m; updates ix
 * (and its walked count). Never blocks, like mlog_cursor_at_seq. */
int mlog_cursor_at_seq_ix(const struct mlog *m, uint64_t seq,
    struct mlog_cursor *cur, struct mlog_index *ix);

/*
 * Reader: copy the entry at cur into buf (buflen bytes; borrowed, may be
 * NULL when buflen is 0) and describe it in out. Reads shared memory only,
 * no syscalls; call in a loop until MLOG_EMPTY to drain a batch.
 *   MLOG_OK          out filled, payload in buf, cur advanced.
 *   MLOG_EMPTY       nothing new; cur unchanged.
 *   MLOG_E_LAPPED    the producer overwrote out->lost entries cur had not
 *                    read; cur now points at the oldest readable entry,
 *                    out->seq; read on to continue from there.
 *   MLOG_E_TOOSMALL  out->len bytes needed (out->seq, kind, ts set); cur
 *                    unchanged.
 *   MLOG_E_BUSY      the producer stayed mid-update; cur unchanged.
 *   MLOG_E_CORRUPT   the shared header, the entry or cur failed a sanity
 *                    check; cur unchanged.
 * A torn copy is never returned as MLOG_OK.
 */
int mlog_read(const struct mlog *m, struct mlog_cursor *cur,
    struct mlog_entry *out, void *buf, size_t buflen);

/* Static name of a status ("ok", "empty", "lapped", ...). */
const char *mlog_status_str(int status);

#endif
