/*
 * The message log ring (mlog.h): appends by the single producer, eviction of
 * the oldest entries, and lock-free copying reads by any number of readers
 * in other processes. It owns nothing but the bytes it is given; where the
 * ring lives, who appends what and how readers are woken are the caller's.
 *
 * Positions. head_pos and tail_pos count bytes since init and never wrap;
 * an offset into data[] is pos & (capacity - 1). Entries are 8-byte aligned
 * and never straddle the end of data[]: when the next entry does not fit in
 * the room left, the producer skips that room (a wrap gap), writing a pad
 * marker (seq word 0, flag PAD) if the room holds an entry header. Readers
 * apply the same rule, so a gap of fewer than MLOG_EHDR bytes needs no
 * marker. Live bytes are [tail_pos, head_pos); the producer writes at
 * position w only after tail_pos > w - capacity.
 *
 * Ordering. Every shared byte is an _Atomic uint64_t word accessed with
 * relaxed loads and stores (no data race even while a reader copies words
 * that are being overwritten); fences give the order:
 *   append   1. evict: advance tail_seq/tail_pos past every entry the new
 *               one will cover, then a release fence, *then*
 *            2. write the pad marker, the entry header and payload words,
 *            3. a release fence, then store head_pos and head_seq.
 *   read     load head_seq (acquire): if cursor.seq < head_seq the entry is
 *            complete; copy its header and payload, an acquire fence, then
 *            load tail_pos. If tail_pos <= cursor.pos nothing read had been
 *            evicted, and since bytes are overwritten only after the release
 *            fence that follows the tail store, nothing read was torn (if a
 *            load had seen a new word, the fences would make the new
 *            tail_pos visible). Otherwise the copy is thrown away and the
 *            reader resynchronises: lapped if tail_seq passed its seq.
 * The check is on tail_pos rather than tail_seq because a wrap gap has a
 * position but no seq: the gap before entry s is reclaimed while s is still
 * live, and a cursor parked on that gap must notice and skip to s.
 * The four control words are also bracketed by a seqlock (ver odd while
 * they change; same fence pattern as shm.c) so that a reader can take a
 * consistent (seq, pos) pair to position a cursor at the head or the tail.
 *
 * Seeking. Positioning a cursor at seq walks entry headers from a known
 * (seq, pos) pair: the tail, or a reader's private checkpoint (struct
 * mlog_index). A checkpoint is only a hint. It is used only if the control
 * words say it can still be live, and the walk from it is validated like a
 * read: tail_pos loaded after the headers were read must not have passed
 * the start. A checkpoint is recorded only once what was read to reach it
 * has been validated the same way, so the index never holds a position
 * computed from torn words. A walk from a checkpoint that does not chain
 * (another ring's, or scribbled) is thrown away and redone from the tail.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "shm/mlog.h"

#define MLOG_F_PAD 1u        /* entry flag: wrap marker, no payload */
#define MLOG_SNAP_SPINS 64   /* seqlock retries before yielding the CPU */
#define MLOG_SNAP_TRIES 4096 /* then give up with MLOG_E_BUSY */
#define MLOG_READ_TRIES 8    /* resyncs one mlog_read / at_seq may do */
#define MLOG_RETRY (-1)      /* internal: cursor moved, read again */

/* Words of an entry header. */
#define MLOG_W_SEQ 0
#define MLOG_W_META 1 /* len | kind << 32 | flags << 48 */
#define MLOG_W_TS 2

struct mlog_ctl {
    uint64_t head_seq, head_pos, tail_seq, tail_pos;
};

/* An entry found by mlog_locate. */
struct mlog_loc {
    uint64_t off;  /* offset of its header in data[] */
    uint64_t next; /* position just after it */
    uint64_t meta;
    uint64_t ts;
};

/* Gathers bytes into whole words stored with relaxed atomics. */
struct mlog_wr {
    struct mlog *m;
    uint64_t off;
    uint64_t acc;
    unsigned fill;
};

static int mlog_cap_ok(uint64_t cap);
static int mlog_hdr_ok(const struct mlog *m);
static inline uint64_t mlog_esize(uint64_t len);
static inline uint64_t mlog_word(const struct mlog *m, uint64_t off);
static inline void mlog_put(struct mlog *m, uint64_t off, uint64_t v);
static void mlog_ctl_begin(struct mlog *m);
static void mlog_ctl_end(struct mlog *m);
static void mlog_wr_bytes(struct mlog_wr *w, const unsigned char *p,
    size_t n);
static void mlog_copy_out(const struct mlog *m, uint64_t off,
    unsigned char *dst, uint32_t len);
static void mlog_evict(struct mlog *m, uint64_t hs, uint64_t hp,
    uint64_t end);
static int mlog_ctl_read(const struct mlog *m, struct mlog_ctl *c);
static int mlog_locate(const struct mlog *m, uint64_t cap, uint64_t pos,
    uint64_t seq, struct mlog_loc *loc);
static int mlog_resync(const struct mlog *m, struct mlog_cursor *cur,
    struct mlog_entry *out);
static int mlog_seek(const struct mlog *m, uint64_t seq,
    struct mlog_cursor *cur, struct mlog_index *ix);
static int mlog_walk(const struct mlog *m, struct mlog_ckpt from, int hint,
    uint64_t seq, struct mlog_index *ix, uint64_t *pos);
static int mlog_intact(const struct mlog *m, uint64_t pos);
static struct mlog_ckpt *mlog_ix_find(struct mlog_index *ix,
    const struct mlog_ctl *c, uint64_t seq);
static void mlog_ix_put(struct mlog_index *ix, uint64_t seq, uint64_t pos);
static void mlog_ix_reset(struct mlog_index *ix, uint64_t cap);

size_t
mlog_size(size_t capacity)
{
    if (!mlog_cap_ok(capacity))
        return 0;
    return sizeof(struct mlog) + capacity;
}

int
mlog_init(void *mem, size_t capacity)
{
    struct mlog *m = mem;

    if (m == NULL || (uintptr_t)mem % 8 != 0 || !mlog_cap_ok(capacity)) {
        errno = EINVAL;
        return -1;
    }
    memset(m, 0, sizeof(*m));
    m->magic = MLOG_MAGIC;
    m->version = MLOG_LAYOUT_VERSION;
    m->hdr_size = sizeof(struct mlog);
    m->capacity = capacity;
    atomic_init(&m->ver, 0);
    atomic_init(&m->head_seq, 1);
    atomic_init(&m->head_pos, 0);
    atomic_init(&m->tail_seq, 1);
    atomic_init(&m->tail_pos, 0);
    /* Readers attach after fork, which orders these plain stores. */
    atomic_thread_fence(memory_order_seq_cst);
    return 0;
}

int
mlog_check(const struct mlog *m, size_t memlen)
{
    struct mlog_ctl c;

    if (m == NULL || memlen < sizeof(*m) || !mlog_hdr_ok(m)
        || memlen < mlog_size(m->capacity))
        return MLOG_E_CORRUPT;
    return mlog_ctl_read(m, &c) == MLOG_E_CORRUPT ? MLOG_E_CORRUPT : MLOG_OK;
}

uint32_t
mlog_max_len(const struct mlog *m)
{
    return MLOG_MAX_LEN(m->capacity);
}

uint64_t
mlog_append(struct mlog *m, uint16_t kind, const void *payload,
    uint32_t len, int64_t ts_us)
{
    struct iovec iov = {.iov_base = (void *)(uintptr_t)payload,
        .iov_len = len};

    return mlog_append_v(m, kind, &iov, 1, ts_us);
}

uint64_t
mlog_append_v(struct mlog *m, uint16_t kind, const struct iovec *iov,
    int iovcnt, int64_t ts_us)
{
    uint64_t cap = m->capacity, mask = cap - 1, total = 0;
    uint64_t hs, hp, off, room, need, gap, start;
    uint32_t max = MLOG_MAX_LEN(cap);
    struct mlog_wr w;

    if (iovcnt < 0 || !mlog_hdr_ok(m))
        return 0;
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len > max || total + iov[i].iov_len > max)
            return 0;
        total += iov[i].iov_len;
    }
    hs = atomic_load_explicit(&m->head_seq, memory_order_relaxed);
    hp = atomic_load_explicit(&m->head_pos, memory_order_relaxed);
    off = hp & mask;
    room = cap - off;
    need = mlog_esize(total);
    gap = room < need ? room : 0;
    start = hp + gap;
    mlog_evict(m, hs, hp, start + need);

    if (gap >= MLOG_EHDR) {
        mlog_put(m, off + 8 * MLOG_W_SEQ, 0);
        mlog_put(m, off + 8 * MLOG_W_META, (uint64_t)MLOG_F_PAD << 48);
    }
    off = start & mask;
    mlog_put(m, off + 8 * MLOG_W_SEQ, hs);
    mlog_put(m, off + 8 * MLOG_W_META, total | (uint64_t)kind << 32);
    mlog_put(m, off + 8 * MLOG_W_TS, (uint64_t)ts_us);
    w = (struct mlog_wr){.m = m, .off = off + MLOG_EHDR};
    for (int i = 0; i < iovcnt; i++)
        mlog_wr_bytes(&w, iov[i].iov_base, iov[i].iov_len);
    if (w.fill > 0)
        mlog_put(m, w.off, w.acc); /* zero-padded last word */

    /* The fence in mlog_ctl_begin orders the entry before the new head. */
    mlog_ctl_begin(m);
    atomic_store_explicit(&m->head_pos, start + need, memory_order_relaxed);
    atomic_store_explicit(&m->head_seq, hs + 1, memory_order_relaxed);
    mlog_ctl_end(m);
    return hs;
}

uint64_t
mlog_head(const struct mlog *m)
{
    return atomic_load_explicit(&m->head_seq, memory_order_acquire);
}

uint64_t
mlog_tail(const struct mlog *m)
{
    return atomic_load_explicit(&m->tail_seq, memory_order_acquire);
}

int
mlog_cursor_at_head(const struct mlog *m, struct mlog_cursor *cur)
{
    struct mlog_ctl c;
    int r;

    if (!mlog_hdr_ok(m))
        return MLOG_E_CORRUPT;
    if ((r = mlog_ctl_read(m, &c)) != MLOG_OK)
        return r;
    cur->seq = c.head_seq;
    cur->pos = c.head_pos;
    cur->cap = m->capacity;
    return MLOG_OK;
}

int
mlog_cursor_at_seq(const struct mlog *m, uint64_t seq,
    struct mlog_cursor *cur)
{
    return mlog_seek(m, seq, cur, NULL);
}

void
mlog_index_note(struct mlog_index *ix, const struct mlog_cursor *cur)
{
    if (cur->seq == 0 || cur->seq % MLOG_INDEX_EVERY != 0
        || !mlog_cap_ok(cur->cap))
        return;
    if (ix->cap != cur->cap)
        mlog_ix_reset(ix, cur->cap);
    mlog_ix_put(ix, cur->seq, cur->pos);
}

int
mlog_cursor_at_seq_ix(const struct mlog *m, uint64_t seq,
    struct mlog_cursor *cur, struct mlog_index *ix)
{
    return mlog_seek(m, seq, cur, ix);
}

int
mlog_read(const struct mlog *m, struct mlog_cursor *cur,
    struct mlog_entry *out, void *buf, size_t buflen)
{
    uint64_t cap = m->capacity;

    if (!mlog_hdr_ok(m) || cur->cap != cap)
        return MLOG_E_CORRUPT;
    for (int tries = 0; tries < MLOG_READ_TRIES; tries++) {
        uint64_t hs = atomic_load_explicit(&m->head_seq,
            memory_order_acquire);
        struct mlog_loc loc;
        uint32_t len = 0;
        int bad, r = MLOG_OK;

        if (cur->seq >= hs)
            return cur->seq == hs ? MLOG_EMPTY : MLOG_E_CORRUPT;
        bad = mlog_locate(m, cap, cur->pos, cur->seq, &loc);
        if (!bad) {
            len = (uint32_t)loc.meta;
            if (len > buflen)
                r = MLOG_E_TOOSMALL;
            else
                mlog_copy_out(m, loc.off + MLOG_EHDR, buf, len);
        }
        /* Validate the copy: see the protocol at the top. */
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&m->tail_pos, memory_order_relaxed)
            <= cur->pos) {
            if (bad)
                return MLOG_E_CORRUPT;
            out->seq = cur->seq;
            out->lost = 0;
            out->ts_us = (int64_t)loc.ts;
            out->len = len;
            out->kind = (uint16_t)(loc.meta >> 32);
            if (r == MLOG_OK) {
                cur->seq++;
                cur->pos = loc.next;
            }
            return r;
        }
        if ((r = mlog_resync(m, cur, out)) != MLOG_RETRY)
            return r;
    }
    return MLOG_E_BUSY;
}

const char *
mlog_status_str(int status)
{
    switch (status) {
    case MLOG_OK:
        return "ok";
    case MLOG_EMPTY:
        return "empty";
    case MLOG_E_LAPPED:
        return "lapped";
    case MLOG_E_TOOSMALL:
        return "buffer too small";
    case MLOG_E_NOTFOUND:
        return "not found";
    case MLOG_E_BUSY:
        return "busy";
    case MLOG_E_CORRUPT:
        return "corrupt";
    }
    return "unknown";
}

/*
 * Producer: move the tail past every entry (and wrap gap) that the bytes up
 * to position end would overwrite, then publish it and fence so that no
 * store of the new entry can be seen before the new tail. hs/hp: the head.
 * If the producer's own entries look wrong (shared memory scribbled), it
 * drops everything rather than trust them.
 */
static void
mlog_evict(struct mlog *m, uint64_t hs, uint64_t hp, uint64_t end)
{
    uint64_t cap = m->capacity, mask = cap - 1;
    uint64_t ts = atomic_load_explicit(&m->tail_seq, memory_order_relaxed);
    uint64_t tp = atomic_load_explicit(&m->tail_pos, memory_order_relaxed);

    if (tp + cap >= end)
        return;
    while (tp + cap < end) {
        uint64_t off = tp & mask, room = cap - off, meta, len;

        if (ts >= hs || tp >= hp) {
            ts = hs, tp = hp; /* nothing live: end <= hp + cap */
            break;
        }
        if (room < MLOG_EHDR) {
            tp += room;
            continue;
        }
        meta = mlog_word(m, off + 8 * MLOG_W_META);
        if (mlog_word(m, off + 8 * MLOG_W_SEQ) == 0
            && meta >> 48 == MLOG_F_PAD) {
            tp += room;
            continue;
        }
        len = (uint32_t)meta;
        if (mlog_word(m, off + 8 * MLOG_W_SEQ) != ts
            || meta >> 48 != 0 || len > MLOG_MAX_LEN(cap)
            || off + mlog_esize(len) > cap) {
            ts = hs, tp = hp;
            break;
        }
        ts++;
        tp += mlog_esize(len);
    }
    mlog_ctl_begin(m);
    atomic_store_explicit(&m->tail_pos, tp, memory_order_relaxed);
    atomic_store_explicit(&m->tail_seq, ts, memory_order_relaxed);
    mlog_ctl_end(m);
    /* Readers validate by loading tail_pos after their copy: every byte
     * stored after this fence implies the new tail to them. */
    atomic_thread_fence(memory_order_release);
}

/* Reader: a consistent, sane copy of the control words (seqlock). */
static int
mlog_ctl_read(const struct mlog *m, struct mlog_ctl *c)
{
    uint64_t cap = m->capacity;

    for (int i = 0; i < MLOG_SNAP_TRIES; i++) {
        uint64_t v1 = atomic_load_explicit(&m->ver, memory_order_acquire);

        if (v1 % 2 == 0) {
            c->head_seq = atomic_load_explicit(&m->head_seq,
                memory_order_relaxed);
            c->head_pos = atomic_load_explicit(&m->head_pos,
                memory_order_relaxed);
            c->tail_seq = atomic_load_explicit(&m->tail_seq,
                memory_order_relaxed);
            c->tail_pos = atomic_load_explicit(&m->tail_pos,
                memory_order_relaxed);
            atomic_thread_fence(memory_order_acquire);
            if (atomic_load_explicit(&m->ver, memory_order_relaxed) == v1) {
                if (c->tail_seq == 0 || c->tail_seq > c->head_seq
                    || c->tail_pos > c->head_pos
                    || c->head_pos - c->tail_pos > cap
                    || (c->head_seq - c->tail_seq) > cap / MLOG_EHDR)
                    return MLOG_E_CORRUPT;
                return MLOG_OK;
            }
        }
        if (i >= MLOG_SNAP_SPINS)
            sched_yield(); /* the producer was preempted mid-update */
    }
    return MLOG_E_BUSY;
}

/*
 * Reader: find entry seq, which starts at pos or, after a wrap gap there,
 * at the start of the next lap. Reads only; the words may be torn until the
 * caller validates against tail_pos. Returns 0 with *loc set, or -1 when
 * the words there do not describe entry seq (torn or corrupt).
 */
static int
mlog_locate(const struct mlog *m, uint64_t cap, uint64_t pos, uint64_t seq,
    struct mlog_loc *loc)
{
    uint64_t off = pos & (cap - 1), room = cap - off, meta, len;

    if (room >= MLOG_EHDR) {
        uint64_t w0 = mlog_word(m, off + 8 * MLOG_W_SEQ);

        if (w0 == seq)
            goto found;
        if (w0 != 0
            || mlog_word(m, off + 8 * MLOG_W_META) >> 48 != MLOG_F_PAD)
            return -1;
    }
    pos += room;
    off = 0;
    if (mlog_word(m, 8 * MLOG_W_SEQ) != seq)
        return -1;
found:
    meta = mlog_word(m, off + 8 * MLOG_W_META);
    len = (uint32_t)meta;
    if (meta >> 48 != 0 || len > MLOG_MAX_LEN(cap)
        || off + mlog_esize(len) > cap)
        return -1;
    loc->off = off;
    loc->next = pos + mlog_esize(len);
    loc->meta = meta;
    loc->ts = mlog_word(m, off + 8 * MLOG_W_TS);
    return 0;
}

/*
 * Reader: set cur at seq, walking from the tail or, with ix, from the
 * newest live checkpoint at or before seq (see Seeking at the top).
 */
static int
mlog_seek(const struct mlog *m, uint64_t seq, struct mlog_cursor *cur,
    struct mlog_index *ix)
{
    uint64_t cap = m->capacity;
    int use_ix = ix != NULL;

    if (!mlog_hdr_ok(m))
        return MLOG_E_CORRUPT;
    if (ix != NULL && ix->cap != cap)
        mlog_ix_reset(ix, cap); /* its checkpoints are for another ring */
    for (int tries = 0; tries < MLOG_READ_TRIES; tries++) {
        struct mlog_ctl c;
        struct mlog_ckpt from, *hint = NULL;
        uint64_t p = 0;
        int r;

        if ((r = mlog_ctl_read(m, &c)) != MLOG_OK)
            return r;
        if (seq == 0 || seq > c.head_seq)
            return MLOG_E_NOTFOUND;
        if (seq < c.tail_seq || seq == c.head_seq) {
            int lapped = seq < c.tail_seq;
            cur->seq = lapped ? c.tail_seq : c.head_seq;
            cur->pos = lapped ? c.tail_pos : c.head_pos;
            cur->cap = cap;
            if (ix != NULL)
                mlog_index_note(ix, cur);
            return lapped ? MLOG_E_LAPPED : MLOG_OK;
        }
        from = (struct mlog_ckpt){.seq = c.tail_seq, .pos = c.tail_pos};
        if (use_ix && (hint = mlog_ix_find(ix, &c, seq)) != NULL)
            from = *hint;
        r = mlog_walk(m, from, hint != NULL, seq, ix, &p);
        if (r == MLOG_RETRY)
            continue; /* evicted under us: walk again from the new tail */
        if (r == MLOG_E_CORRUPT && hint != NULL) {
            hint->seq = 0; /* led nowhere: not this ring's, or scribbled */
            use_ix = 0;
            continue;
        }
        if (r != MLOG_OK)
            return r;
        cur->seq = seq;
        cur->pos = p;
        cur->cap = cap;
        if (ix != NULL)
            mlog_index_note(ix, cur);
        return MLOG_OK;
    }
    return MLOG_E_BUSY;
}

/*
 * Reader: step entry by entry from from (from.seq <= seq < head) to seq,
 * adding the steps to ix->walked and recording in ix (both if ix is not
 * NULL) each checkpoint passed, once the headers read to reach it have
 * been validated. from is the tail, or a hint whose entry is looked up
 * even when from.seq == seq. Returns MLOG_OK with *pos where entry seq (or
 * a wrap gap before it) starts, MLOG_RETRY when the tail passed from.pos
 * so what was read may be torn, or MLOG_E_CORRUPT when the entries do not
 * chain.
 */
static int
mlog_walk(const struct mlog *m, struct mlog_ckpt from, int hint,
    uint64_t seq, struct mlog_index *ix, uint64_t *pos)
{
    uint64_t cap = m->capacity, p = from.pos, s = from.seq;
    struct mlog_loc loc;
    int bad = 0;

    if (hint && s == seq)
        bad = mlog_locate(m, cap, p, s, &loc);
    for (; s < seq && !bad; s++, p = loc.next) {
        if (ix != NULL && s % MLOG_INDEX_EVERY == 0 && s != from.seq) {
            if (!mlog_intact(m, from.pos))
                break;
            mlog_ix_put(ix, s, p);
        }
        if ((bad = mlog_locate(m, cap, p, s, &loc)) != 0)
            break;
    }
    if (ix != NULL)
        ix->walked += s - from.seq;
    if (!mlog_intact(m, from.pos))
        return MLOG_RETRY;
    if (bad)
        return MLOG_E_CORRUPT;
    *pos = p;
    return MLOG_OK;
}

/* Reader: 1 if nothing at or after pos read so far can have been
 * overwritten, because the tail has not passed pos (protocol at the top). */
static int
mlog_intact(const struct mlog *m, uint64_t pos)
{
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&m->tail_pos, memory_order_relaxed) <= pos;
}

/*
 * Reader: the newest checkpoint at or before seq that the control words c
 * allow to be live (an aligned position at or after the tail and before
 * the head), probing slots down from seq's, not below the tail's and not
 * more than all of them; NULL if none. A slot holding another seq (empty,
 * or won by a newer checkpoint) is a miss. The walk checks the rest.
 */
static struct mlog_ckpt *
mlog_ix_find(struct mlog_index *ix, const struct mlog_ctl *c, uint64_t seq)
{
    uint64_t j = seq / MLOG_INDEX_EVERY;
    uint64_t lo = (c->tail_seq + MLOG_INDEX_EVERY - 1) / MLOG_INDEX_EVERY;

    for (unsigned n = 0; j >= lo && n < MLOG_INDEX_SLOTS; j--, n++) {
        struct mlog_ckpt *k = &ix->ck[j % MLOG_INDEX_SLOTS];

        if (k->seq == j * MLOG_INDEX_EVERY && k->pos % 8 == 0
            && k->pos >= c->tail_pos && k->pos < c->head_pos)
            return k;
    }
    return NULL;
}

/* Reader: record that entry seq starts at pos unless its slot holds a
 * checkpoint as new (the newer one is evicted later). */
static void
mlog_ix_put(struct mlog_index *ix, uint64_t seq, uint64_t pos)
{
    struct mlog_ckpt *k =
        &ix->ck[seq / MLOG_INDEX_EVERY % MLOG_INDEX_SLOTS];

    if (seq > k->seq) {
        k->seq = seq;
        k->pos = pos;
    }
}

/* Reader: empty ix and give it to a ring of capacity cap. An index with
 * no capacity yet is zero-initialised, hence already empty. */
static void
mlog_ix_reset(struct mlog_index *ix, uint64_t cap)
{
    if (ix->cap != 0)
        memset(ix->ck, 0, sizeof(ix->ck));
    ix->cap = cap;
}

/*
 * Reader: the copy at cur was invalidated by the tail passing cur->pos.
 * Either entries were lost (report them, park cur at the oldest readable
 * entry) or only the wrap gap cur was parked on was reclaimed (move to the
 * entry, MLOG_RETRY).
 */
static int
mlog_resync(const struct mlog *m, struct mlog_cursor *cur,
    struct mlog_entry *out)
{
    struct mlog_ctl c;
    int r;

    if ((r = mlog_ctl_read(m, &c)) != MLOG_OK)
        return r;
    if (c.tail_seq > cur->seq) {
        memset(out, 0, sizeof(*out));
        out->seq = c.tail_seq;
        out->lost = c.tail_seq - cur->seq;
        cur->seq = c.tail_seq;
        cur->pos = c.tail_pos;
        return MLOG_E_LAPPED;
    }
    if (c.tail_seq == cur->seq && c.tail_pos > cur->pos) {
        cur->pos = c.tail_pos;
        return MLOG_RETRY;
    }
    return MLOG_E_CORRUPT;
}

static int
mlog_cap_ok(uint64_t cap)
{
    return cap >= MLOG_MIN_CAPACITY && cap <= MLOG_MAX_CAPACITY
        && (cap & (cap - 1)) == 0;
}

static int
mlog_hdr_ok(const struct mlog *m)
{
    return m->magic == MLOG_MAGIC && m->version == MLOG_LAYOUT_VERSION
        && m->hdr_size == sizeof(struct mlog) && mlog_cap_ok(m->capacity);
}

static inline uint64_t
mlog_esize(uint64_t len)
{
    return MLOG_EHDR + ((len + 7) & ~(uint64_t)7);
}

static inline uint64_t
mlog_word(const struct mlog *m, uint64_t off)
{
    return atomic_load_explicit(&m->data[off / 8], memory_order_relaxed);
}

static inline void
mlog_put(struct mlog *m, uint64_t off, uint64_t v)
{
    atomic_store_explicit(&m->data[off / 8], v, memory_order_relaxed);
}

/* Seqlock writer side for the control words (producer only). */
static void
mlog_ctl_begin(struct mlog *m)
{
    uint64_t v = atomic_load_explicit(&m->ver, memory_order_relaxed);

    atomic_store_explicit(&m->ver, v + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

static void
mlog_ctl_end(struct mlog *m)
{
    uint64_t v = atomic_load_explicit(&m->ver, memory_order_relaxed);

    atomic_store_explicit(&m->ver, v + 1, memory_order_release);
}

static void
mlog_wr_bytes(struct mlog_wr *w, const unsigned char *p, size_t n)
{
    while (n > 0) {
        size_t k;

        if (w->fill == 0) {
            for (; n >= 8; p += 8, n -= 8, w->off += 8) {
                uint64_t v;
                memcpy(&v, p, 8);
                mlog_put(w->m, w->off, v);
            }
            if (n == 0)
                break;
        }
        k = 8 - w->fill < n ? 8 - w->fill : n;
        memcpy((unsigned char *)&w->acc + w->fill, p, k);
        w->fill += (unsigned)k;
        p += k;
        n -= k;
        if (w->fill == 8) {
            mlog_put(w->m, w->off, w->acc);
            w->off += 8;
            w->acc = 0;
            w->fill = 0;
        }
    }
}

/* Reader: copy len payload bytes at off out of the ring, word by word. */
static void
mlog_copy_out(const struct mlog *m, uint64_t off, unsigned char *dst,
    uint32_t len)
{
    const _Atomic uint64_t *src = &m->data[off / 8];
    uint32_t i;

    for (i = 0; i + 8 <= len; i += 8) {
        uint64_t v = atomic_load_explicit(src++, memory_order_relaxed);
        memcpy(dst + i, &v, 8);
    }
    if (i < len) {
        uint64_t v = atomic_load_explicit(src, memory_order_relaxed);
        memcpy(dst + i, &v, len - i);
    }
}
