/*
 * libFuzzer harness for the recovery channel (shm/smsg.c) and what the
 * master does with it (shm/sess.c). The input is a run of frames, each
 * [length: 2 bytes LE][sender: 1 byte][datagram]: every datagram decodes or
 * fails cleanly, a decoded PUT re-encodes to the same bytes, and applying
 * the messages to a small table (as the master does, with the sender as
 * owner and the frame index as the clock) keeps it consistent: a stored
 * session reads back as put, a dropped one is gone, the count never
 * exceeds the capacity and expiry empties the held ones.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shm/sess.h"
#include "shm/smsg.h"

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,  \
                    #c);                                                       \
            abort();                                                           \
        }                                                                      \
    } while (0)

#define CAP 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static _Alignas(64) unsigned char mem[1 << 15];

/* Re-encode a decoded PUT from its rooms blob. */
static size_t
reencode(const struct sess_rec *r, unsigned char *out, size_t cap)
{
    const char *rooms[SESS_ROOMS_BYTES];
    size_t lens[SESS_ROOMS_BYTES], n = 0;

    for (size_t o = 0; o < r->rooms_len; n++) {
        rooms[n] = r->rooms + o;
        lens[n] = strlen(r->rooms + o);
        o += lens[n] + 1;
    }
    return smsg_put(out, cap, r->tag, r->stamp, r->pid, r->sid, r->nsp,
        r->user, rooms, lens, n);
}

static void
apply(struct sess_table *t, struct sess_writer *w, int type,
    struct sess_rec *r, int64_t now)
{
    struct sess_rec got;
    int rc;

    switch (type) {
    case SMSG_PUT:
        rc = sess_put(w, r);
        CHECK(rc == SESS_OK || rc == SESS_EVICTED || rc == SESS_E_FULL
            || rc == SESS_E_STALE);
        if (rc == SESS_OK || rc == SESS_EVICTED) {
            CHECK(sess_lookup(t, r->pid, now, &got) == SESS_OK);
            CHECK(got.state == SESS_LIVE && got.owner == r->owner
                && got.tag == r->tag && got.rooms_len == r->rooms_len
                && strcmp(got.sid, r->sid) == 0
                && strcmp(got.nsp, r->nsp) == 0
                && strcmp(got.user, r->user) == 0
                && memcmp(got.rooms, r->rooms, r->rooms_len) == 0);
        }
        break;
    case SMSG_HOLD:
        rc = sess_hold(w, r->pid, r->owner, r->tag, now + 3);
        CHECK(rc == SESS_OK || rc == SESS_E_NOTFOUND || rc == SESS_E_STALE);
        if (rc == SESS_OK) {
            CHECK(sess_lookup(t, r->pid, now, &got) == SESS_OK);
            CHECK(got.state == SESS_HELD && got.until_ms == now + 3);
        }
        break;
    default:
        rc = sess_drop(w, r->pid, r->owner, r->tag);
        CHECK(rc == SESS_OK || rc == SESS_E_NOTFOUND || rc == SESS_E_STALE);
        if (rc == SESS_OK)
            CHECK(sess_lookup(t, r->pid, now, &got) == SESS_E_NOTFOUND);
        break;
    }
    CHECK(sess_count(w) <= CAP && sess_held(w) <= sess_count(w));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned char out[SMSG_MAX];
    struct sess_table *t = (struct sess_table *)(void *)mem;
    struct sess_writer *w;
    struct sess_rec r;
    int64_t now = 0;
    int type;

    CHECK(sess_size(CAP) <= sizeof(mem));
    memset(mem, 0, sizeof(mem));
    CHECK(sess_init(mem, CAP, 7) == 0);
    w = sess_writer_new(t);
    CHECK(w != NULL);
    while (size >= 3) {
        size_t n = (size_t)data[0] | (size_t)data[1] << 8;
        int32_t owner = 1 + data[2] % 3;
        data += 3;
        size -= 3;
        if (n > size)
            n = size;
        now++;
        if (smsg_decode(data, n, &type, &r) == SMSG_OK) {
            if (type == SMSG_PUT) {
                size_t m = reencode(&r, out, sizeof(out));
                CHECK(m == n && memcmp(out, data, n) == 0);
            }
            r.owner = owner;
            apply(t, w, type, &r, now);
        }
        data += n;
        size -= n;
        if (now % 4 == 0)
            sess_expire(w, now);
    }
    sess_expire(w, now + 10);
    CHECK(sess_held(w) == 0);
    sess_orphan(w, 1, now + 20);
    sess_orphan(w, 2, now + 20);
    sess_orphan(w, 3, now + 20);
    sess_expire(w, now + 20);
    CHECK(sess_count(w) == 0);
    sess_writer_free(&w);
    return 0;
}
