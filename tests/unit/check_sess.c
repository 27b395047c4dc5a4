/*
 * Recoverable-session table: layout and header checks, insert / replace /
 * take-over / hold / drop, tombstones and their reuse, index rebuilds,
 * probe sequences of colliding pids, a full table, refused lengths,
 * expiry and orphaning, a writer stuck mid-update, and a reader in
 * another process racing the writer.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shm/sess.h"

static struct sess_table *t;
static struct sess_writer *w;
static size_t tlen;

static void
table_new(uint32_t cap)
{
    tlen = sess_size(cap);
    ck_assert_uint_gt(tlen, 0);
    void *mem = mmap(NULL, tlen, PROT_READ | PROT_WRITE,
        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(mem, MAP_FAILED);
    ck_assert_int_eq(sess_init(mem, cap, 42), 0);
    t = mem;
    ck_assert_int_eq(sess_check(t, tlen), SESS_OK);
    w = sess_writer_new(t);
    ck_assert_ptr_nonnull(w);
}

static void
teardown(void)
{
    sess_writer_free(&w);
    if (t != NULL)
        munmap(t, tlen);
    t = NULL;
}

static void
pid_of(char *pid, unsigned i)
{
    snprintf(pid, SESS_ID_LEN + 1, "p%019u", i);
}

/* A session whose every field follows from (i, k). */
static void
rec_of(struct sess_rec *r, const char *pid, unsigned k, int32_t owner,
    uint64_t tag, uint64_t stamp)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->pid, sizeof(r->pid), "%s", pid);
    snprintf(r->sid, sizeof(r->sid), "s%019u", k);
    snprintf(r->nsp, sizeof(r->nsp), "/ns%u", k % 7);
    snprintf(r->user, sizeof(r->user), "user-%u", k);
    r->rooms_len = (uint32_t)snprintf(r->rooms, sizeof(r->rooms),
        "user:user-%u%clead:%u%cteam:%u", k, 0, k * 3, 0, k % 5) + 1;
    r->owner = owner;
    r->tag = tag;
    r->stamp = stamp;
}

static int
put(unsigned i, unsigned k, int32_t owner, uint64_t tag)
{
    struct sess_rec r;
    char pid[SESS_ID_LEN + 1];

    pid_of(pid, i);
    rec_of(&r, pid, k, owner, tag, 1000 + k);
    return sess_put(w, &r);
}

static int
found(unsigned i, int64_t now, struct sess_rec *out)
{
    char pid[SESS_ID_LEN + 1];

    pid_of(pid, i);
    return sess_lookup(t, pid, now, out) == SESS_OK;
}

/* Pids whose probe sequences start at the same index slot. */
static unsigned
colliding(unsigned *out, unsigned n)
{
    char pid[SESS_ID_LEN + 1];
    uint32_t mask = t->nidx - 1, want = 0;
    unsigned k = 0;

    for (unsigned i = 0; k < n && i < 1000000; i++) {
        pid_of(pid, i);
        uint32_t s = sess_hash(t, pid, strlen(pid)) & mask;
        if (k == 0)
            want = s;
        if (s == want)
            out[k++] = i;
    }
    return k;
}

/* Entry number holding pid i, or 0. */
static uint32_t
entry_of(unsigned i)
{
    char pid[SESS_ID_LEN + 1];
    struct sess_rec r;

    pid_of(pid, i);
    for (uint32_t e = 1; e <= t->capacity; e++)
        if (sess_entry_copy(t, e, &r) == SESS_OK && r.state != SESS_FREE
            && strcmp(r.pid, pid) == 0)
            return e;
    return 0;
}

START_TEST(sess_size_and_header_checks)
{
    ck_assert_uint_eq(sess_size(0), 0);
    ck_assert_uint_eq(sess_size(SESS_MAX_CAPACITY + 1), 0);
    ck_assert_uint_gt(sess_size(SESS_MAX_CAPACITY), 0);
    ck_assert_uint_ge(sess_size(100000), 100000u * sizeof(struct sess_entry));
    table_new(100);
    ck_assert_uint_eq(t->nidx, 256);
    ck_assert_uint_eq(t->nidx & (t->nidx - 1), 0);
    ck_assert_uint_eq(t->ent_off % 64, 0);
    ck_assert_int_eq(sess_check(t, tlen - 1), SESS_E_CORRUPT);
    t->nidx = 128;
    ck_assert_int_eq(sess_check(t, tlen), SESS_E_CORRUPT);
    t->nidx = 256;
    t->magic ^= 1;
    ck_assert_int_eq(sess_check(t, tlen), SESS_E_CORRUPT);
    t->magic ^= 1;
    ck_assert_int_eq(sess_check(t, tlen), SESS_OK);
    ck_assert_int_eq(sess_init((char *)t + 8, 10, 0), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(sess_init(t, 0, 0), -1);
}
END_TEST

START_TEST(sess_insert_then_lookup_copies_every_field)
{
    struct sess_rec r, in;

    table_new(16);
    ck_assert(!found(1, 0, &r));
    rec_of(&in, "p0000000000000000001", 7, 4242, 99, 5);
    ck_assert_int_eq(sess_put(w, &in), SESS_OK);
    ck_assert(found(1, 0, &r));
    ck_assert_str_eq(r.pid, in.pid);
    ck_assert_str_eq(r.sid, in.sid);
    ck_assert_str_eq(r.nsp, in.nsp);
    ck_assert_str_eq(r.user, in.user);
    ck_assert_uint_eq(r.rooms_len, in.rooms_len);
    ck_assert_mem_eq(r.rooms, in.rooms, in.rooms_len);
    ck_assert_uint_eq(r.state, SESS_LIVE);
    ck_assert_int_eq(r.owner, 4242);
    ck_assert_uint_eq(r.tag, 99);
    ck_assert_uint_eq(r.stamp, 5);
    ck_assert_uint_eq(sess_count(w), 1);
    ck_assert(!found(2, 0, &r));
    ck_assert_int_eq(sess_lookup(t, "", 0, &r), SESS_E_NOTFOUND);
    ck_assert_int_eq(sess_lookup(t, "p00000000000000000001", 0, &r),
        SESS_E_NOTFOUND);
}
END_TEST

START_TEST(sess_short_ids_and_empty_fields)
{
    struct sess_rec in = {0}, r;

    table_new(4);
    snprintf(in.pid, sizeof(in.pid), "abc");
    snprintf(in.sid, sizeof(in.sid), "x");
    ck_assert_int_eq(sess_put(w, &in), SESS_OK);
    ck_assert_int_eq(sess_lookup(t, "abc", 0, &r), SESS_OK);
    ck_assert_str_eq(r.sid, "x");
    ck_assert_str_eq(r.nsp, "");
    ck_assert_str_eq(r.user, "");
    ck_assert_uint_eq(r.rooms_len, 0);
    ck_assert_int_eq(sess_lookup(t, "abcd", 0, &r), SESS_E_NOTFOUND);
    ck_assert_int_eq(sess_lookup(t, "ab", 0, &r), SESS_E_NOTFOUND);
}
END_TEST

START_TEST(sess_replace_by_same_connection_keeps_one_entry)
{
    struct sess_rec r;

    table_new(8);
    ck_assert_int_eq(put(1, 1, 100, 7), SESS_OK);
    uint32_t e = entry_of(1);
    ck_assert_int_eq(put(1, 2, 100, 7), SESS_OK);
    ck_assert_uint_eq(sess_count(w), 1);
    ck_assert_uint_eq(entry_of(1), e);
    ck_assert(found(1, 0, &r));
    ck_assert_str_eq(r.user, "user-2");
    ck_assert_ptr_nonnull(memmem(r.rooms, r.rooms_len, "lead:6", 7));
}
END_TEST

START_TEST(sess_put_from_another_connection_takes_over_unless_older)
{
    struct sess_rec r, in;
    char pid[SESS_ID_LEN + 1];

    table_new(8);
    pid_of(pid, 1);
    rec_of(&in, pid, 1, 100, 7, 500);
    ck_assert_int_eq(sess_put(w, &in), SESS_OK);
    /* A recovery on worker 200 claims it. */
    rec_of(&in, pid, 2, 200, 1, 600);
    ck_assert_int_eq(sess_put(w, &in), SESS_OK);
    ck_assert(found(1, 0, &r));
    ck_assert_int_eq(r.owner, 200);
    /* The old connection's late room change is older: refused. */
    rec_of(&in, pid, 3, 100, 7, 550);
    ck_assert_int_eq(sess_put(w, &in), SESS_E_STALE);
    /* ...and so are its hold and drop. */
    ck_assert_int_eq(sess_hold(w, pid, 100, 7, 1000), SESS_E_STALE);
    ck_assert_int_eq(sess_drop(w, pid, 100, 7), SESS_E_STALE);
    ck_assert(found(1, 0, &r));
    ck_assert_int_eq(r.owner, 200);
    ck_assert_uint_eq(r.state, SESS_LIVE);
    ck_assert_uint_eq(sess_count(w), 1);
}
END_TEST

START_TEST(sess_hold_needs_owner_and_tag_and_expires)
{
    struct sess_rec r;
    char pid[SESS_ID_LEN + 1];

    table_new(8);
    pid_of(pid, 1);
    ck_assert_int_eq(put(1, 1, 100, 7), SESS_OK);
    ck_assert_int_eq(sess_hold(w, pid, 100, 8, 1000), SESS_E_STALE);
    ck_assert_int_eq(sess_hold(w, pid, 101, 7, 1000), SESS_E_STALE);
    ck_assert_int_eq(sess_hold(w, "nope", 100, 7, 1000), SESS_E_NOTFOUND);
    ck_assert_int_eq(sess_hold(w, pid, 100, 7, 1000), SESS_OK);
    ck_assert_uint_eq(sess_held(w), 1);
    ck_assert(found(1, 999, &r));
    ck_assert_uint_eq(r.state, SESS_HELD);
    ck_assert_int_eq(r.until_ms, 1000);
    /* Readers check the deadline themselves, before the writer sweeps. */
    ck_assert(!found(1, 1000, &r));
    ck_assert_uint_eq(sess_expire(w, 999), 0);
    ck_assert_uint_eq(sess_expire(w, 1000), 1);
    ck_assert_uint_eq(sess_count(w), 0);
    ck_assert_uint_eq(sess_held(w), 0);
    ck_assert_int_eq(sess_hold(w, pid, 100, 7, 1000), SESS_E_NOTFOUND);
}
END_TEST

START_TEST(sess_recovering_put_makes_a_held_session_live_again)
{
    struct sess_rec r;
    char pid[SESS_ID_LEN + 1];

    table_new(8);
    pid_of(pid, 1);
    ck_assert_int_eq(put(1, 1, 100, 7), SESS_OK);
    ck_assert_int_eq(sess_hold(w, pid, 100, 7, 1000), SESS_OK);
    ck_assert_int_eq(put(1, 1, 200, 3), SESS_OK);
    ck_assert_uint_eq(sess_held(w), 0);
    ck_assert(found(1, 5000, &r));
    ck_assert_uint_eq(r.state, SESS_LIVE);
    ck_assert_uint_eq(sess_expire(w, 5000), 0);
    ck_assert_uint_eq(sess_count(w), 1);
}
END_TEST

START_TEST(sess_expire_frees_in_deadline_order)
{
    char pid[SESS_ID_LEN + 1];
    struct sess_rec r;

    table_new(16);
    for (unsigned i = 0; i < 6; i++) {
        ck_assert_int_eq(put(i, i, 100, i), SESS_OK);
        pid_of(pid, i);
        /* Deadlines out of order, as after a reload changed the window. */
        ck_assert_int_eq(sess_hold(w, pid, 100, i, 100 + (i % 3) * 10),
            SESS_OK);
    }
    ck_assert_int_eq(put(9, 9, 100, 9), SESS_OK);
    ck_assert_uint_eq(sess_held(w), 6);
    ck_assert_uint_eq(sess_expire(w, 105), 2);  /* i = 0, 3 */
    ck_assert(!found(0, 0, &r) && !found(3, 0, &r) && found(1, 0, &r));
    ck_assert_uint_eq(sess_expire(w, 120), 4);
    ck_assert_uint_eq(sess_count(w), 1);
    ck_assert(found(9, 1000000, &r)); /* live sessions never expire */
}
END_TEST

START_TEST(sess_orphan_holds_only_that_workers_live_sessions)
{
    struct sess_rec r;
    char pid[SESS_ID_LEN + 1];

    table_new(16);
    ck_assert_int_eq(put(1, 1, 100, 1), SESS_OK);
    ck_assert_int_eq(put(2, 2, 100, 2), SESS_OK);
    ck_assert_int_eq(put(3, 3, 200, 3), SESS_OK);
    ck_assert_int_eq(put(4, 4, 100, 4), SESS_OK);
    pid_of(pid, 4);
    ck_assert_int_eq(sess_hold(w, pid, 100, 4, 50), SESS_OK);
    ck_assert_uint_eq(sess_orphan(w, 100, 500), 2);
    ck_assert(found(1, 0, &r));
    ck_assert_uint_eq(r.state, SESS_HELD);
    ck_assert_int_eq(r.until_ms, 500);
    ck_assert(found(3, 0, &r));
    ck_assert_uint_eq(r.state, SESS_LIVE);
    ck_assert(found(4, 0, &r));
    ck_assert_int_eq(r.until_ms, 50); /* already held: unchanged */
    ck_assert_uint_eq(sess_held(w), 3);
    ck_assert_uint_eq(sess_orphan(w, 100, 500), 0);
    ck_assert_uint_eq(sess_expire(w, 500), 3);
    ck_assert_uint_eq(sess_count(w), 1);
}
END_TEST

struct live_seen {
    int n;
    char pids[8][SESS_ID_LEN + 1];
    int32_t owners[8];
    uint64_t tags[8];
};

static void
live_cb(void *arg, const char *pid, int32_t owner, uint64_t tag)
{
    struct live_seen *ls = arg;

    ck_assert_int_lt(ls->n, 8);
    strcpy(ls->pids[ls->n], pid);
    ls->owners[ls->n] = owner;
    ls->tags[ls->n++] = tag;
}

static void
each_cb(void *arg, const struct sess_rec *r)
{
    live_cb(arg, r->pid, r->owner, r->tag);
}

START_TEST(sess_each_live_visits_live_sessions_only)
{
    struct live_seen ls = {0};
    char pid[SESS_ID_LEN + 1];

    table_new(16);
    ck_assert_int_eq(put(1, 1, 100, 11), SESS_OK);
    ck_assert_int_eq(put(2, 2, 200, 22), SESS_OK);
    ck_assert_int_eq(put(3, 3, 100, 33), SESS_OK);
    pid_of(pid, 2);
    ck_assert_int_eq(sess_hold(w, pid, 200, 22, 50), SESS_OK);
    ck_assert_uint_eq(sess_each_live(w, live_cb, &ls), 2);
    ck_assert_int_eq(ls.n, 2);
    pid_of(pid, 1);
    ck_assert_str_eq(ls.pids[0], pid);
    ck_assert_int_eq(ls.owners[0], 100);
    ck_assert_uint_eq(ls.tags[0], 11);
    pid_of(pid, 3);
    ck_assert_str_eq(ls.pids[1], pid);
    ck_assert_uint_eq(ls.tags[1], 33);
    ls.n = 0;
    ck_assert_uint_eq(sess_each(w, each_cb, &ls), 3); /* held ones too */
    ck_assert_int_eq(ls.n, 3);
    pid_of(pid, 2);
    ck_assert_str_eq(ls.pids[1], pid);
    ck_assert_uint_eq(ls.tags[1], 22);
}
END_TEST

START_TEST(sess_drop_leaves_a_tombstone_probes_pass_and_inserts_reuse)
{
    unsigned c[4];
    char pid[SESS_ID_LEN + 1];
    struct sess_rec r;
    _Atomic uint32_t *idx;

    table_new(8); /* 16 slots: 4 tombstones rebuild */
    idx = (_Atomic uint32_t *)(void *)((char *)t + t->idx_off);
    ck_assert_uint_eq(colliding(c, 4), 4);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(put(c[i], c[i], 100, c[i]), SESS_OK);
    pid_of(pid, c[0]);
    uint32_t s0 = sess_hash(t, pid, strlen(pid)) & (t->nidx - 1);
    /* The three sit in consecutive slots of one probe sequence. */
    for (uint32_t k = 0; k < 3; k++)
        ck_assert_uint_ne(atomic_load(&idx[(s0 + k) & (t->nidx - 1)]), 0);
    uint32_t e1 = entry_of(c[1]);
    pid_of(pid, c[1]);
    ck_assert_int_eq(sess_drop(w, pid, 100, c[1]), SESS_OK);
    ck_assert_uint_eq(atomic_load(&idx[(s0 + 1) & (t->nidx - 1)]),
        SESS_TOMB);
    ck_assert(!found(c[1], 0, &r));
    ck_assert(found(c[0], 0, &r) && found(c[2], 0, &r)); /* past it */
    /* A new colliding pid takes the tombstone and the freed entry. */
    ck_assert_int_eq(put(c[3], c[3], 100, c[3]), SESS_OK);
    ck_assert_uint_eq(atomic_load(&idx[(s0 + 1) & (t->nidx - 1)]), e1);
    ck_assert_uint_eq(entry_of(c[3]), e1);
    ck_assert(found(c[3], 0, &r));
    char want[32];
    snprintf(want, sizeof(want), "user-%u", c[3]);
    ck_assert_str_eq(r.user, want);
    ck_assert_uint_eq(atomic_load(&t->idx_seq), 0); /* no rebuild yet */
}
END_TEST

START_TEST(sess_many_tombstones_rebuild_the_index)
{
    struct sess_rec r;
    char pid[SESS_ID_LEN + 1];

    table_new(8);
    for (unsigned round = 0; round < 50; round++) {
        for (unsigned i = 0; i < 8; i++)
            ck_assert_int_eq(put(round * 8 + i, i, 100, i), SESS_OK);
        for (unsigned i = 0; i < 8; i++) {
            ck_assert(found(round * 8 + i, 0, &r));
            if (i % 4 == 3)
                continue; /* two survive each round... */
            pid_of(pid, round * 8 + i);
            ck_assert_int_eq(sess_drop(w, pid, 100, i), SESS_OK);
        }
        for (unsigned i = 3; i < 8; i += 4) { /* ...until the next */
            pid_of(pid, round * 8 + i);
            ck_assert_int_eq(sess_drop(w, pid, 100, i), SESS_OK);
        }
        ck_assert_uint_eq(sess_count(w), 0);
    }
    uint64_t g = atomic_load(&t->idx_seq);
    ck_assert_uint_gt(g, 0);
    ck_assert_uint_eq(g % 2, 0);
    /* Survivors of a rebuild are all still found. */
    for (unsigned i = 0; i < 8; i++)
        ck_assert_int_eq(put(1000 + i, i, 100, i), SESS_OK);
    for (unsigned i = 0; i < 5; i++) {
        pid_of(pid, 1000 + i);
        ck_assert_int_eq(sess_drop(w, pid, 100, i), SESS_OK);
    }
    ck_assert_uint_gt(atomic_load(&t->idx_seq), g);
    for (unsigned i = 5; i < 8; i++)
        ck_assert(found(1000 + i, 0, &r));
}
END_TEST

START_TEST(sess_full_table_refuses_or_evicts_the_oldest_held)
{
    struct sess_rec r;
    char pid[SESS_ID_LEN + 1];

    table_new(4);
    for (unsigned i = 0; i < 4; i++)
        ck_assert_int_eq(put(i, i, 100, i), SESS_OK);
    ck_assert_int_eq(put(10, 10, 100, 10), SESS_E_FULL);
    ck_assert(!found(10, 0, &r));
    /* Replacing a stored pid needs no room. */
    ck_assert_int_eq(put(2, 7, 100, 2), SESS_OK);
    pid_of(pid, 1);
    ck_assert_int_eq(sess_hold(w, pid, 100, 1, 900), SESS_OK);
    pid_of(pid, 3);
    ck_assert_int_eq(sess_hold(w, pid, 100, 3, 800), SESS_OK);
    ck_assert_int_eq(put(10, 10, 100, 10), SESS_EVICTED);
    ck_assert(!found(3, 0, &r));  /* closest to expiry went */
    ck_assert(found(1, 0, &r) && found(10, 0, &r));
    ck_assert_uint_eq(sess_count(w), 4);
    ck_assert_uint_eq(sess_held(w), 1);
}
END_TEST

START_TEST(sess_refuses_out_of_bounds_records)
{
    struct sess_rec r;

    table_new(4);
    rec_of(&r, "p1", 1, 100, 1, 1);
    memset(r.nsp, 'n', SESS_NSP_MAX + 1); /* no NUL within the bound */
    ck_assert_int_eq(sess_put(w, &r), SESS_E_INVAL);
    rec_of(&r, "p1", 1, 100, 1, 1);
    r.rooms[r.rooms_len - 1] = 'x';        /* last room not terminated */
    ck_assert_int_eq(sess_put(w, &r), SESS_E_INVAL);
    rec_of(&r, "p1", 1, 100, 1, 1);
    r.rooms_len = SESS_ROOMS_BYTES + 1;
    ck_assert_int_eq(sess_put(w, &r), SESS_E_INVAL);
    rec_of(&r, "", 1, 100, 1, 1);
    ck_assert_int_eq(sess_put(w, &r), SESS_E_INVAL);
    rec_of(&r, "p1", 1, 100, 1, 1);
    r.sid[0] = '\0';
    ck_assert_int_eq(sess_put(w, &r), SESS_E_INVAL);
    rec_of(&r, "p1", 1, 100, 1, 1);
    memset(r.user, 'u', SESS_USER_MAX);
    r.user[SESS_USER_MAX] = '\0';
    memset(r.rooms, 'r', SESS_ROOMS_BYTES - 1);
    r.rooms[SESS_ROOMS_BYTES - 1] = '\0';
    r.rooms_len = SESS_ROOMS_BYTES;
    memset(r.nsp, 'n', SESS_NSP_MAX);
    r.nsp[SESS_NSP_MAX] = '\0';
    ck_assert_int_eq(sess_put(w, &r), SESS_OK); /* every bound exactly */
    struct sess_rec o;
    ck_assert_int_eq(sess_lookup(t, "p1", 0, &o), SESS_OK);
    ck_assert_str_eq(o.user, r.user);
    ck_assert_str_eq(o.nsp, r.nsp);
    ck_assert_mem_eq(o.rooms, r.rooms, SESS_ROOMS_BYTES);
    ck_assert_uint_eq(sess_count(w), 1);
}
END_TEST

START_TEST(sess_writer_stuck_mid_update_reports_busy_not_torn)
{
    struct sess_rec r;

    table_new(4);
    ck_assert_int_eq(put(1, 1, 100, 1), SESS_OK);
    struct sess_entry *x = (struct sess_entry *)(void *)((char *)t
        + t->ent_off + (entry_of(1) - 1) * sizeof(*x));
    atomic_fetch_add(&x->seq, 1); /* odd: as if the writer were inside */
    ck_assert_int_eq(sess_lookup(t, "p0000000000000000001", 0, &r),
        SESS_E_BUSY);
    ck_assert(!found(2, 0, &r)); /* other probes do not read it... */
    atomic_fetch_add(&x->seq, 1);
    ck_assert(found(1, 0, &r));
    atomic_fetch_add(&t->idx_seq, 1); /* ...but an index rebuild blocks all */
    ck_assert_int_eq(sess_lookup(t, "p0000000000000000002", 0, &r),
        SESS_E_BUSY);
    atomic_fetch_add(&t->idx_seq, 1);
    ck_assert(found(1, 0, &r));
}
END_TEST

#define STABLE 100000u /* pids STABLE.. are put once and never touched */

/* Child: look sessions up while the parent rewrites them. Every copy must
 * be self-consistent: its sid, user and rooms all follow from one k. The
 * stable pids must always be found, index rebuilds or not. */
static int
reader_child(unsigned n)
{
    struct sess_rec r;
    unsigned ok = 0;
    time_t end = time(NULL) + 10;

    for (unsigned it = 0; ok < 50000 || it < 300000; it++) {
        unsigned i = it % n;
        char pid[SESS_ID_LEN + 1];
        pid_of(pid, STABLE + it % 8);
        int rc = sess_lookup(t, pid, 0, &r);
        if (rc == SESS_E_NOTFOUND)
            return 5;
        pid_of(pid, i);
        rc = sess_lookup(t, pid, 0, &r);
        if (rc == SESS_E_NOTFOUND || rc == SESS_E_BUSY)
            continue;
        unsigned k;
        if (sscanf(r.user, "user-%u", &k) != 1)
            return 2;
        struct sess_rec want;
        rec_of(&want, pid, k, r.owner, r.tag, r.stamp);
        if (strcmp(r.sid, want.sid) != 0 || strcmp(r.nsp, want.nsp) != 0
            || r.rooms_len != want.rooms_len
            || memcmp(r.rooms, want.rooms, r.rooms_len) != 0
            || strcmp(r.pid, pid) != 0)
            return 3;
        ok++;
        if (it % 4096 == 0 && time(NULL) > end)
            break;
    }
    return ok > 0 ? 0 : 4;
}

START_TEST(sess_reader_process_never_sees_a_torn_session)
{
    const unsigned n = 32;
    int status;

    table_new(64); /* 128 slots: churn rebuilds the index often */
    for (unsigned i = 0; i < n; i++)
        ck_assert_int_eq(put(i, i, 100, i), SESS_OK);
    for (unsigned i = 0; i < 8; i++)
        ck_assert_int_eq(put(STABLE + i, i, 100, i), SESS_OK);
    pid_t pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        _exit(reader_child(n));
    }
    for (unsigned k = 0; waitpid(pid, &status, WNOHANG) == 0; k++) {
        unsigned i = k % n;
        char p[SESS_ID_LEN + 1];
        pid_of(p, i);
        /* Rewrite (rooms of varying length), drop and re-insert, and churn
         * ever new pids through tombstones. */
        ck_assert_int_eq(put(i, k, 100, i), SESS_OK);
        if (k % 3 == 0) {
            ck_assert_int_eq(sess_drop(w, p, 100, i), SESS_OK);
            ck_assert_int_eq(put(i, k + 1, 100, i), SESS_OK);
        }
        ck_assert_int_eq(put(n + k, k, 100, 7), SESS_OK);
        pid_of(p, n + k);
        ck_assert_int_eq(sess_drop(w, p, 100, 7), SESS_OK);
    }
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    ck_assert_uint_gt(atomic_load(&t->idx_seq), 0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("sess");
    TCase *tc = tcase_create("layout");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, sess_size_and_header_checks);
    suite_add_tcase(s, tc);
    tc = tcase_create("writer");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, sess_insert_then_lookup_copies_every_field);
    tcase_add_test(tc, sess_short_ids_and_empty_fields);
    tcase_add_test(tc, sess_replace_by_same_connection_keeps_one_entry);
    tcase_add_test(tc,
        sess_put_from_another_connection_takes_over_unless_older);
    tcase_add_test(tc, sess_full_table_refuses_or_evicts_the_oldest_held);
    tcase_add_test(tc, sess_refuses_out_of_bounds_records);
    suite_add_tcase(s, tc);
    tc = tcase_create("held");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, sess_hold_needs_owner_and_tag_and_expires);
    tcase_add_test(tc, sess_recovering_put_makes_a_held_session_live_again);
    tcase_add_test(tc, sess_expire_frees_in_deadline_order);
    tcase_add_test(tc, sess_orphan_holds_only_that_workers_live_sessions);
    tcase_add_test(tc, sess_each_live_visits_live_sessions_only);
    suite_add_tcase(s, tc);
    tc = tcase_create("index");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc,
        sess_drop_leaves_a_tombstone_probes_pass_and_inserts_reuse);
    tcase_add_test(tc, sess_many_tombstones_rebuild_the_index);
    suite_add_tcase(s, tc);
    tc = tcase_create("readers");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, sess_writer_stuck_mid_update_reports_busy_not_torn);
    tcase_add_test(tc, sess_reader_process_never_sees_a_torn_session);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
