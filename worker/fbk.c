/*
 * The fan-out's shared blocks: per read batch, one block per audience (a
 * room, or every client; with a filter, those of them in one namespace
 * (emitter broadcasts) and in none of a list of except rooms) and run of
 * entries, each entry encoded once per protocol into the block, the block
 * handed to each member with one reference when the batch is flushed.
 * Owns the per-client order across blocks (fbk_mark); fan.c owns the log
 * reading, the choice of path and the latency records.
 */
#include <stdlib.h>
#include <string.h>

#include "common/fnv.h"
#include "worker/cli.h"
#include "worker/fbk.h"
#include "worker/room.h"
#include "worker/wctr.h"
#include "worker/ws.h"

#define FBK_HASH 256 /* buckets of the per-audience block table */

/* A block's audience filter (fan_block.filt): with emit, only clients
 * of namespace nsp (emitter broadcasts); only clients in none of the
 * except rooms exc: an emitter broadcast's, then, for a multi-room
 * publish with a client in two of its rooms, the target rooms before
 * this block's (so each client is in the block of its first one). The
 * same for every entry of the block. */
struct fan_filt {
    int emit;
    struct msg_str nsp;
    size_t nexc;
    struct msg_str exc[]; /* then the bytes of nsp and of each */
};

/* The filter an entry needs, before it is a fan_filt: exc[0..nexc) then
 * prev[0..nprev) as except rooms. */
struct fbk_key {
    int emit;
    struct msg_str nsp;
    const struct msg_str *exc, *prev;
    size_t nexc, nprev;
};

static struct {
    struct fan_block *blocks;              /* pending, in creation order */
    struct fan_block **btail;
    /* This batch's blocks by serial - first_serial, and the serial the
     * next one gets. */
    struct fan_block *bvec[FBK_MAX];
    uint32_t first_serial, next_serial;
    struct fan_block *bhash[FBK_HASH];     /* by room, newest first */
    uint64_t pending;
    fan_append_fn wsj_append, sio_append;
} B = {.btail = &B.blocks};

void
fbk_set_append(fan_append_fn wsj, fan_append_fn sio)
{
    if (wsj)
        B.wsj_append = wsj;
    if (sio)
        B.sio_append = sio;
}

uint64_t
fbk_pending(void)
{
    return B.pending;
}

static unsigned
fbk_hash(const char *name, size_t n)
{
    return fnv1a(name, n) & (FBK_HASH - 1);
}

/*
 * Blocks are delivered in creation order, each to all its audience. A
 * client in two blocks b1 then b2 gets b1's entries first, so b1 may take
 * no entry once b2 exists: that entry would reach the client ahead of
 * b2's older ones (offsets out of order, and a recovery from its last
 * offset would replay some twice). A new block b therefore closes, for
 * each of its members, the newest earlier block that member is in (the
 * cli_fan_mark of this batch; older ones were closed when that one was
 * made), and marks the member with b. So two open blocks never share a
 * member (fbk_rooms relies on it), and clients in one room keep one block
 * per room and batch, however publishes to other rooms interleave; an
 * everyone block closes every block, and is closed by the next room
 * block. A block with a filter marks (and closes the blocks of) only its
 * audience: the members it delivers to. A mark from an earlier batch is
 * out of this batch's serial range; a stale one that wraps into it only
 * closes a block early, which costs a block, never the order.
 */
static void
fbk_mark(struct fan_block *b, struct cli *cl)
{
    uint32_t *mark = cli_fan_mark(cl);
    uint32_t i = *mark - B.first_serial;

    if (i < b->serial - B.first_serial)
        B.bvec[i]->closed = 1;
    *mark = b->serial;
    b->kinds |= cli_block_kinds(cl);
}

/* k as a fan_filt (NULL when it filters nothing: *err stays 0; when
 * out of memory: *err is set). */
static struct fan_filt *
fbk_filt_new(const struct fbk_key *k, int *err)
{
    size_t nx = k->nexc + k->nprev;
    size_t n = sizeof(struct fan_filt) + nx * sizeof(struct msg_str)
        + k->nsp.n;
    struct fan_filt *f;
    char *p;

    if (!k->emit && nx == 0)
        return NULL;
    for (size_t i = 0; i < nx; i++)
        n += i < k->nexc ? k->exc[i].n : k->prev[i - k->nexc].n;
    if ((f = malloc(n)) == NULL) {
        *err = 1;
        return NULL;
    }
    p = (char *)&f->exc[nx];
    f->emit = k->emit;
    if (k->nsp.n > 0) /* a publish's key has no namespace (NULL) */
        memcpy(p, k->nsp.p, k->nsp.n);
    f->nsp = (struct msg_str){p, k->nsp.n};
    p += k->nsp.n;
    f->nexc = nx;
    for (size_t i = 0; i < nx; i++) {
        struct msg_str x = i < k->nexc ? k->exc[i] : k->prev[i - k->nexc];
        memcpy(p, x.p, x.n);
        f->exc[i] = (struct msg_str){p, x.n};
        p += x.n;
    }
    return f;
}

static int
fbk_str_eq(struct msg_str a, struct msg_str b)
{
    return a.n == b.n && memcmp(a.p, b.p, a.n) == 0;
}

/* 1 when f is k's filter (NULL: k filters nothing). */
static int
fbk_filt_eq(const struct fan_filt *f, const struct fbk_key *k)
{
    if (f == NULL)
        return !k->emit && k->nexc + k->nprev == 0;
    if (f->emit != k->emit || f->nexc != k->nexc + k->nprev
        || (k->emit && !fbk_str_eq(f->nsp, k->nsp)))
        return 0;
    for (size_t i = 0; i < f->nexc; i++)
        if (!fbk_str_eq(f->exc[i],
                i < k->nexc ? k->exc[i] : k->prev[i - k->nexc]))
            return 0;
    return 1;
}

/* 1 when cl is in b's audience among the members of its room (or the
 * clients): with a filter, when cl is in its namespace (emitter
 * broadcasts) and in none of its except rooms. Membership only shrinks
 * between a block's making and its delivery (ended clients), so the
 * answer for a client still there is the same then as now. */
static int
fbk_reads(const struct fan_block *b, struct cli *cl)
{
    const struct fan_filt *f = b->filt;

    if (f == NULL)
        return 1;
    if (f->emit) {
        const char *nsp = cli_nsp(cl);
        if (strlen(nsp) != f->nsp.n || memcmp(nsp, f->nsp.p, f->nsp.n) != 0)
            return 0;
    }
    for (size_t i = 0; i < f->nexc; i++)
        if (room_is_member(cl, f->exc[i].p, f->exc[i].n))
            return 0;
    return 1;
}

/* The newest block of room name[0..len) (everyone when all) and filter
 * k, or NULL. */
static struct fan_block *
fbk_find(const char *name, size_t len, int all, const struct fbk_key *k)
{
    struct fan_block *b;

    for (b = B.bhash[fbk_hash(name, len)]; b; b = b->hnext)
        if (b->all == all && b->rlen == len
            && memcmp(b->room, name, len) == 0 && fbk_filt_eq(b->filt, k))
            return b;
    return NULL;
}

/* A new open block (room name[0..len), or everyone when all; filter k),
 * last in the delivery order; its members are not marked yet. NULL when
 * out of memory or, with *full set, of blocks for this batch. */
static struct fan_block *
fbk_new(const char *name, size_t len, int all, const struct fbk_key *k,
    int *full)
{
    struct fan_block *b;
    unsigned h;
    int err = 0;

    if (B.next_serial - B.first_serial >= FBK_MAX) {
        *full = 1;
        return NULL;
    }
    if (len >= sizeof(b->room) || (b = calloc(1, sizeof(*b))) == NULL)
        return NULL;
    b->wsj = ws_batch_new();
    b->sio = ws_batch_new();
    b->filt = fbk_filt_new(k, &err);
    if (b->wsj == NULL || b->sio == NULL || err) {
        ws_batch_unref(b->wsj);
        ws_batch_unref(b->sio);
        free(b->filt);
        free(b);
        return NULL;
    }
    memcpy(b->room, name, len);
    b->rlen = len;
    b->all = all;
    b->emit = k->emit;
    h = fbk_hash(name, len);
    b->hnext = B.bhash[h];
    B.bhash[h] = b;
    *B.btail = b;
    B.btail = &b->next;
    b->serial = B.next_serial++;
    B.bvec[b->serial - B.first_serial] = b;
    return b;
}

/* The open block of room r (name[0..len); NULL: every client) for
 * entries with filter k: its newest one, or a new one, with its audience
 * marked, when that was closed. NULL as fbk_new. */
static struct fan_block *
fbk_open(struct room *r, const char *name, size_t len,
    const struct fbk_key *k, int *full)
{
    struct fan_block *b = fbk_find(name, len, r == NULL, k);

    if (b != NULL && !b->closed)
        return b;
    if ((b = fbk_new(name, len, r == NULL, k, full)) == NULL)
        return NULL;
    if (r == NULL) {
        for (struct cli *cl = cli_first(); cl; cl = cli_next(cl))
            if (fbk_reads(b, cl)) {
                fbk_mark(b, cl);
                b->members += cli_authed(cl) != 0;
            }
        return b;
    }
    for (struct room_member *mb = room_first(r); mb; mb = room_next(mb))
        if (fbk_reads(b, mb->owner)) {
            fbk_mark(b, mb->owner);
            b->members++;
        }
    return b;
}

/* Append m, as it reads through room[0..rlen) (NULL: no room), to b. */
static int
fbk_add(struct fan_block *b, const struct fan_msg *m, const char *room,
    size_t rlen, uint32_t oi)
{
    if (b->nobs == b->cobs) {
        uint32_t nc = b->cobs ? 2 * b->cobs : 8;
        uint32_t *o = realloc(b->obs, nc * sizeof(*o));
        if (o == NULL)
            return -1;
        b->obs = o;
        b->cobs = nc;
    }
    if (((b->kinds & FAN_BLOCK_WSJ)
            && B.wsj_append(b->wsj, m, room, rlen) == -1)
        || ((b->kinds & FAN_BLOCK_SIO)
            && B.sio_append(b->sio, m, room, rlen) == -1))
        return -1; /* the block is still consistent up to here */
    b->n++;
    b->obs[b->nobs++] = oi;
    B.pending += b->members;
    return 0;
}

/* m's filter: its namespace and except rooms for an emitter broadcast,
 * none for the other kinds. */
static struct fbk_key
fbk_key_of(const struct fan_msg *m)
{
    struct fbk_key k = {0};

    if (m->v.kind == MSG_EMIT) {
        k.emit = 1;
        k.nsp = m->v.nsp;
        k.exc = m->v.except;
        k.nexc = m->v.nexcept;
    }
    return k;
}

int
fbk_room(const struct fan_msg *m, const char *name, size_t len, uint32_t oi)
{
    struct room *r = room_find(name, len);
    struct fbk_key k = fbk_key_of(m);
    struct fan_block *b;
    int full = 0;

    if (r == NULL)
        return 0; /* no local members */
    if ((b = fbk_open(r, name, len, &k, &full)) == NULL)
        return full ? FBK_FULL : -1;
    return fbk_add(b, m, name, len, oi);
}

/* m's target rooms with local members, each once, in their order: n of
 * them in rs[] and names[]. */
static size_t
fbk_targets(const struct fan_msg *m, struct room **rs, struct msg_str *names)
{
    size_t k = 0;

    for (size_t i = 0; i < m->v.ntargets; i++) {
        struct room *r = room_find(m->v.targets[i].p, m->v.targets[i].n);
        size_t j = 0;
        if (r == NULL)
            continue;
        while (j < k && rs[j] != r)
            j++;
        if (j < k)
            continue;
        rs[k] = r;
        names[k++] = m->v.targets[i];
    }
    return k;
}

/* The blocks of targets rs[0..n) (names[]) for filter k, in bs[]: with
 * dedup, target j's excludes the members of targets 0..j-1 (so no client
 * is in two of them); without, each is the target's block for k (two of
 * them may share a client: the earlier one is closed then). With probe,
 * only blocks that exist and are open are taken. 0, or -1 (out of memory,
 * or, probing, a block missing), or FBK_FULL. */
static int
fbk_blocks(struct room **rs, const struct msg_str *names, size_t n,
    struct fbk_key k, int dedup, int probe, struct fan_block **bs)
{
    int full = 0;

    for (size_t j = 0; j < n; j++) {
        if (dedup) {
            k.prev = names;
            k.nprev = j;
        }
        if (probe) {
            bs[j] = fbk_find(names[j].p, names[j].n, 0, &k);
            if (bs[j] == NULL || bs[j]->closed)
                return -1;
        } else if ((bs[j] = fbk_open(rs[j], names[j].p, names[j].n, &k,
                        &full)) == NULL) {
            return full ? FBK_FULL : -1;
        }
    }
    return 0;
}

/* Each target room's open block (made now where needed): if they are all
 * still open once all are made, no client of m's audience is in two of
 * them, and each takes m under its own room name, which is the label the
 * client's first target room gives. Otherwise each target's block leaves
 * out the members of the targets before it (except rooms), which are
 * also found open when this publish's shape came before in the batch. A
 * target named twice counts once. */
int
fbk_rooms(const struct fan_msg *m, uint32_t oi)
{
    struct fan_block *bs[MSG_MAX_TARGETS];
    struct room *rs[MSG_MAX_TARGETS];
    struct msg_str names[MSG_MAX_TARGETS];
    struct fbk_key key = fbk_key_of(m);
    size_t n = fbk_targets(m, rs, names), j;
    int rc;

    if (n > 1 && fbk_blocks(rs, names, n, key, 1, 1, bs) == 0)
        goto add; /* deduplicated before in this batch */
    if ((rc = fbk_blocks(rs, names, n, key, 0, 0, bs)) != 0)
        return rc;
    for (j = 0; j < n && !bs[j]->closed; j++)
        ;
    if (j < n && (rc = fbk_blocks(rs, names, n, key, 1, 0, bs)) != 0)
        return rc;
add:
    for (j = 0; j < n; j++)
        if (fbk_add(bs[j], m, bs[j]->room, bs[j]->rlen, oi) == -1)
            return j == 0 ? -1 : 0; /* XXX(#18): out of memory midway:
                                     * the rest of the rooms miss m */
    return 0;
}

int
fbk_all(const struct fan_msg *m, uint32_t oi)
{
    struct fbk_key k = fbk_key_of(m);
    int full = 0;
    struct fan_block *b = fbk_open(NULL, "", 0, &k, &full);

    if (b == NULL)
        return full ? FBK_FULL : -1;
    return fbk_add(b, m, NULL, 0, oi);
}

/* Hand b to cl; 1 if it went (cl is authenticated and in its audience). */
static int
fbk_give(struct fan_block *b, struct cli *cl)
{
    if (!cli_authed(cl) || !fbk_reads(b, cl))
        return 0;
    WCTR_ADD(deliveries, b->n);
    (void)cli_batch(cl, b);
    return 1;
}

/* b's audience now: room members are looked up by name, so a room that
 * vanished is skipped. The next member or client is fetched before a
 * delivery, which may end the client it goes to (never another). */
static uint64_t
fbk_deliver(struct fan_block *b)
{
    uint64_t k = 0;

    if (b->all) {
        for (struct cli *cl = cli_first(), *cn; cl; cl = cn) {
            cn = cli_next(cl);
            k += fbk_give(b, cl);
        }
        return k;
    }
    struct room *r = room_find(b->room, b->rlen);
    for (struct room_member *mb = r ? room_first(r) : NULL, *mn; mb;
         mb = mn) {
        mn = room_next(mb);
        k += fbk_give(b, mb->owner);
    }
    return k;
}

void
fbk_flush(fbk_obs_fn obs)
{
    struct fan_block *b, *next;

    for (b = B.blocks; b; b = next) {
        next = b->next;
        if (b->n > 0) { /* a block fbk_rooms made for nothing is empty */
            uint64_t k = fbk_deliver(b);
            WCTR_INC(fan_blocks);
            for (uint32_t i = 0; i < b->nobs; i++)
                obs(b->obs[i], k);
        }
        ws_batch_unref(b->wsj);
        ws_batch_unref(b->sio);
        free(b->filt);
        free(b->obs);
        free(b);
    }
    B.blocks = NULL;
    B.btail = &B.blocks;
    B.pending = 0;
    B.first_serial = B.next_serial;
    memset(B.bhash, 0, sizeof(B.bhash));
}
