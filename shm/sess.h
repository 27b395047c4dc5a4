/*
 * The recoverable-session table: Socket.IO sessions (connection state
 * recovery) kept in a mapping the master creates before fork, so that they
 * survive a worker crash and a reload. The master is the only writer; any
 * worker reads an entry lock-free under its seqlock and copies it out.
 * Also the datagrams workers send the master to change it (the channel
 * protocol is part of the same ABI). The mapping, the channels, the clock
 * and the counters are the callers' (master/stor.c, worker/rcv.c).
 */
#ifndef WSGATE_SHM_SESS_H
#define WSGATE_SHM_SESS_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define SESS_MAGIC UINT64_C(0x3173736573677377) /* "wsgsess1" */
#define SESS_LAYOUT_VERSION 1u

/* Bounds of the stored strings, NUL excluded. SESS_USER_MAX is
 * TOK_USER_MAX - 1 (checked in sess.c). */
#define SESS_ID_LEN 20          /* pid, sid: Engine.IO-style ids */
#define SESS_NSP_MAX 63         /* namespace */
#define SESS_USER_MAX 255       /* user id */
#define SESS_ROOMS_BYTES 2048   /* room names, each followed by a NUL */
#define SESS_MAX_CAPACITY 1000000u

/* Index words: 0 is an empty slot, SESS_TOMB a removed one, anything else
 * an entry number in [1, capacity]. */
#define SESS_EMPTY 0u
#define SESS_TOMB UINT32_MAX

enum sess_state {
    SESS_FREE = 0, /* not in use */
    SESS_LIVE = 1, /* a connection holds it */
    SESS_HELD = 2, /* disconnected; recoverable until until_ms */
};

/*
 * Shared-memory ABI, under the rules of shm/layout.h: fixed-width and
 * _Atomic integers only, no pointers. Memory is: this header, the index
 * (nidx _Atomic uint32_t words at idx_off, nidx a power of two >= 2 x
 * capacity, open addressing with linear probing on sess_hash) and the
 * entries (capacity struct sess_entry at ent_off; entry number e is at
 * ent_off + (e - 1) * entry_size). The first block is written once by
 * sess_init. idx_seq is a seqlock over the whole index, odd while the
 * writer rebuilds it (to clear tombstones).
 */
struct sess_table {
    uint64_t magic;      /* SESS_MAGIC */
    uint32_t version;    /* SESS_LAYOUT_VERSION */
    uint32_t entry_size; /* sizeof(struct sess_entry) */
    uint32_t capacity;   /* entries */
    uint32_t nidx;       /* index slots */
    uint64_t seed;       /* of sess_hash */
    uint64_t idx_off;    /* bytes from the table to the index */
    uint64_t ent_off;    /* bytes from the table to entry 1 */
    uint64_t size;       /* bytes of the whole mapping */
    uint64_t reserved0;
    _Atomic uint64_t idx_seq;
    uint64_t reserved1[7];
};

/*
 * One session. seq is the entry's seqlock (odd while the master writes
 * it). The strings are stored in whole words, zero-padded, so they can be
 * copied with relaxed atomic loads; only the words in use are written.
 */
struct sess_entry {
    _Atomic uint64_t seq;
    _Atomic uint64_t tag;       /* per-connection id in the owner process */
    _Atomic int64_t until_ms;   /* HELD: unix ms it stops being recoverable */
    _Atomic uint64_t stamp;     /* CLOCK_MONOTONIC ns of the last PUT */
    _Atomic int32_t owner;      /* pid of the worker that put it */
    _Atomic uint32_t state;     /* enum sess_state */
    _Atomic uint32_t hash;      /* sess_hash of pid */
    _Atomic uint32_t nsp_len;
    _Atomic uint32_t user_len;
    _Atomic uint32_t rooms_len;
    uint64_t reserved;
    _Atomic uint64_t pid[3];
    _Atomic uint64_t sid[3];
    _Atomic uint64_t nsp[(SESS_NSP_MAX + 1) / 8];
    _Atomic uint64_t user[(SESS_USER_MAX + 1) / 8];
    _Atomic uint64_t rooms[SESS_ROOMS_BYTES / 8];
};

_Static_assert(offsetof(struct sess_table, magic) == 0, "magic first");
_Static_assert(offsetof(struct sess_table, version) == 8, "version at 8");
_Static_assert(offsetof(struct sess_table, capacity) == 16, "capacity at 16");
_Static_assert(offsetof(struct sess_table, idx_seq) == 64,
    "writer word on its own cache line");
_Static_assert(sizeof(struct sess_table) == 128, "header is two lines");
_Static_assert(offsetof(struct sess_entry, pid) == 64, "ids at 64");
_Static_assert(offsetof(struct sess_entry, rooms) == 432, "rooms at 432");
_Static_assert(sizeof(struct sess_entry) == 2480, "entry is 2480 bytes");
_Static_assert(alignof(struct sess_entry) == 8, "8-byte aligned entries");
_Static_assert(sizeof(_Atomic uint32_t) == 4, "index words are 4 bytes");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "lock-free 64-bit atomics");

/* A private copy of one session (plain memory). Strings NUL-terminated;
 * rooms holds rooms_len bytes: each room name followed by a NUL. */
struct sess_rec {
    char pid[SESS_ID_LEN + 1];
    char sid[SESS_ID_LEN + 1];
    char nsp[SESS_NSP_MAX + 1];
    char user[SESS_USER_MAX + 1];
    char rooms[SESS_ROOMS_BYTES];
    uint32_t rooms_len;
    uint32_t state;   /* enum sess_state */
    int32_t owner;
    uint64_t tag;
    int64_t until_ms;
    uint64_t stamp;
};

enum sess_status {
    SESS_OK = 0,
    SESS_EVICTED,      /* put: stored, after evicting the held session
                        * closest to expiry to make room */
    SESS_E_NOTFOUND,   /* no such session (or it expired) */
    SESS_E_FULL,       /* put: every entry holds a live session */
    SESS_E_INVAL,      /* a length or a byte out of bounds; bad message */
    SESS_E_STALE,      /* hold, drop: another connection holds it now;
                        * put: older than the current holder's last put */
    SESS_E_BUSY,       /* lookup: the writer stayed mid-update */
    SESS_E_CORRUPT,    /* sess_check: the header does not match */
};

/* Bytes to map for capacity entries, or 0 when capacity is 0 or over
 * SESS_MAX_CAPACITY. */
size_t sess_size(uint32_t capacity);

/* Master, once, before fork: lay out an empty table of capacity entries in
 * mem (sess_size(capacity) bytes, 64-byte aligned, zero-filled as a fresh
 * anonymous mapping is: the entries are not touched, so unused ones cost
 * no memory). seed keys sess_hash. Borrows mem. 0, or -1 (EINVAL). */
int sess_init(void *mem, uint32_t capacity, uint64_t seed);

/* Reader, once after attaching: check the header against memlen, the
 * bytes mapped. SESS_OK or SESS_E_CORRUPT. */
int sess_check(const struct sess_table *t, size_t memlen);

/* Hash of a pid of len bytes under t's seed (index slot: & (nidx - 1)). */
uint32_t sess_hash(const struct sess_table *t, const char *pid, size_t len);

/* Reader: copy out the session named pid when it is LIVE, or HELD with
 * until_ms > now_ms. Reads shared memory only: no syscall, no lock, never
 * blocks (a writer stuck mid-update gives SESS_E_BUSY after bounded
 * retries). SESS_OK (out filled), SESS_E_NOTFOUND, SESS_E_BUSY. */
int sess_lookup(const struct sess_table *t, const char *pid, int64_t now_ms,
    struct sess_rec *out);

/* Reader: copy entry number e (1..capacity) under its seqlock, whatever
 * its state. SESS_OK, SESS_E_INVAL (bad e), SESS_E_BUSY. */
int sess_entry_copy(const struct sess_table *t, uint32_t e,
    struct sess_rec *out);

/* The writer's private state (free list, deadlines of held sessions,
 * owners), kept in the master's own memory. */
struct sess_writer;

/* Master: writer for t, which must be freshly initialised. Returns new
 * (free with sess_writer_free) or NULL (out of memory). */
struct sess_writer *sess_writer_new(struct sess_table *t);

/* Free *w and clear it. Accepts NULL. Leaves the table as it is. */
void sess_writer_free(struct sess_writer **w);

/* Master: store r as a LIVE session (r->state and until_ms are ignored),
 * inserting or replacing by pid; a put from another owner or tag takes
 * the session over unless r->stamp is older than the holder's last put.
 * Copies r. SESS_OK, SESS_EVICTED, SESS_E_FULL, SESS_E_INVAL, SESS_E_STALE. */
int sess_put(struct sess_writer *w, const struct sess_rec *r);

/* Master: if owner and tag hold pid, mark it HELD until until_ms.
 * SESS_OK, SESS_E_NOTFOUND, SESS_E_STALE. */
int sess_hold(struct sess_writer *w, const char *pid, int32_t owner,
    uint64_t tag, int64_t until_ms);

/* Master: if owner and tag hold pid, remove it. SESS_OK, SESS_E_NOTFOUND,
 * SESS_E_STALE. */
int sess_drop(struct sess_writer *w, const char *pid, int32_t owner,
    uint64_t tag);

/* Master: a worker is gone: every LIVE session of owner becomes HELD until
 * until_ms. Returns how many. O(entries ever used). */
size_t sess_orphan(struct sess_writer *w, int32_t owner, int64_t until_ms);

/* Master: fn(arg, pid, owner, tag) for every LIVE session (pid borrowed
 * for the call; fn must not change the table). Returns how many.
 * O(entries ever used). */
typedef void (*sess_live_fn)(void *arg, const char *pid, int32_t owner,
    uint64_t tag);
size_t sess_each_live(struct sess_writer *w, sess_live_fn fn, void *arg);

/* Master: fn(arg, r) with a copy of every stored session, LIVE or HELD
 * (r borrowed for the call; fn must not change the table). Returns how
 * many. O(entries ever used), a full copy each: for rare events. */
typedef void (*sess_each_fn)(void *arg, const struct sess_rec *r);
size_t sess_each(struct sess_writer *w, sess_each_fn fn, void *arg);

/* Master: remove every HELD session with until_ms <= now_ms. Returns how
 * many. O(removed). */
size_t sess_expire(struct sess_writer *w, int64_t now_ms);

/* Sessions stored (LIVE and HELD), and HELD ones. */
uint32_t sess_count(const struct sess_writer *w);
uint32_t sess_held(const struct sess_writer *w);

#endif
