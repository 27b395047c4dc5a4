/*
 * Presence, worker side (issue 14). A query names a room or a user; the
 * answer is this worker's part as JSON arrays, cut into datagrams of at
 * most PMSG_MAX bytes, the last one flagged: for a room, one element per
 * member connection {"u": user or null, "ns": namespace}; for a user, one
 * per connection {"ns", "rooms": [...]}. Nothing is kept per connection
 * for it: the room tables already say everything, and the master merges.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "common/msg.h"
#include "shm/pmsg.h"
#include "worker/cli.h"
#include "worker/prw.h"
#include "worker/rcv.h"
#include "worker/room.h"

#define PRW_ROOMS_MAX 1000 /* rooms listed per connection at most */

struct prw_out {
    unsigned char b[PMSG_MAX];
    size_t n;     /* bytes used, head included */
    uint64_t tag;
};

static void prw_query(const unsigned char *b, size_t n);

void
prw_init(void)
{
    rcv_on_query(prw_query);
}

/* Send what o holds (closing its array) and start the next datagram. */
static void
prw_flush(struct prw_out *o, int last)
{
    if (o->n > PMSG_HEAD)
        o->b[o->n++] = ']';
    pmsg_answer_head(o->b, o->tag, last);
    (void)rcv_send_any(o->b, o->n);
    o->n = PMSG_HEAD;
}

/* Append element e (taken) to the answer. */
static void
prw_add(struct prw_out *o, json_t *e)
{
    char *s = e ? json_dumps(e, JSON_COMPACT) : NULL;
    size_t l = s ? strlen(s) : 0;

    json_decref(e);
    if (s == NULL || l + PMSG_HEAD + 2 > PMSG_MAX) {
        free(s); /* cannot fit any datagram: left out */
        return;
    }
    if (o->n + l + 2 > PMSG_MAX)
        prw_flush(o, 0);
    o->b[o->n] = o->n == PMSG_HEAD ? '[' : ',';
    o->n++;
    memcpy(o->b + o->n, s, l);
    o->n += l;
    free(s);
}

static json_t *
prw_rooms(const struct cli *cl)
{
    static const char *names[PRW_ROOMS_MAX];
    static size_t lens[PRW_ROOMS_MAX];
    size_t k = cli_rooms(cl, names, lens, PRW_ROOMS_MAX);
    json_t *a = json_array();

    for (size_t i = 0; a && i < k; i++)
        json_array_append_new(a, json_stringn(names[i], lens[i]));
    return a;
}

static void
prw_query(const unsigned char *b, size_t n)
{
    static struct prw_out o;
    char ur[PMSG_NAME_MAX + 8];
    const char *name, *u;
    size_t len;
    int kind, rl;
    struct room *r;

    if (pmsg_query_decode(b, n, &o.tag, &kind, &name, &len) == -1)
        return;
    o.n = PMSG_HEAD;
    if (kind == PMSG_USER) {
        rl = snprintf(ur, sizeof(ur), "user:%.*s", (int)len, name);
        name = ur;
        len = rl > 0 && (size_t)rl < sizeof(ur) ? (size_t)rl : 0;
    }
    r = len ? room_find(name, len) : NULL;
    for (struct room_member *m = r ? room_first(r) : NULL; m;
         m = room_next(m)) {
        struct cli *cl = m->owner;
        if (kind == PMSG_ROOM) {
            u = cli_user(cl);
            prw_add(&o, json_pack("{s:o, s:s}", "u", u ? json_string(u)
                : json_null(), "ns", cli_nsp(cl)));
        } else {
            prw_add(&o, json_pack("{s:s, s:o}", "ns", cli_nsp(cl), "rooms",
                prw_rooms(cl)));
        }
    }
    prw_flush(&o, 1);
}
