/*
 * Presence events of a worker (issue 14): notes joins and leaves of rooms
 * matching presence_events and hands them to the master as publishes to
 * those rooms (shm/pmsg.h PMSG_PUBLISH), as many as fit in one datagram,
 * once per loop turn, so a worker whose clients all leave at once sends a
 * few datagrams rather than one per client. The master refuses them in
 * cluster mode, where entries come through the stream.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/config.h"
#include "common/glob.h"
#include "shm/pmsg.h"
#include "worker/pev.h"
#include "worker/rcv.h"
#include "worker/wctr.h"

#define PEV_PATS_MAX 64

static struct {
    char *buf;
    const char *pats[PEV_PATS_MAX];
    size_t npats;
    struct event *flush;
    unsigned char out[PMSG_MAX];
    size_t n, count; /* bytes and events waiting */
} V;

static void pev_flush_cb(evutil_socket_t fd, short what, void *arg);

int
pev_init(struct event_base *base, const struct cfg *c)
{
    char *p, *save = NULL;

    if (*CFG_STR(c, presence_events) == '\0')
        return 0;
    V.buf = strdup(CFG_STR(c, presence_events));
    V.flush = event_new(base, -1, 0, pev_flush_cb, NULL);
    if (V.buf == NULL || V.flush == NULL)
        return -1;
    for (p = strtok_r(V.buf, ", ", &save); p && V.npats < PEV_PATS_MAX;
         p = strtok_r(NULL, ", ", &save))
        V.pats[V.npats++] = p;
    return 0;
}

/* Hand what waits to the master. */
static void
pev_flush(void)
{
    if (V.count == 0)
        return;
    V.out[V.n++] = ']';
    if (rcv_send_any(V.out, V.n) == 0)
        WCTR_ADD(presence_events_sent, V.count);
    else
        WCTR_ADD(presence_events_dropped, V.count);
    V.n = V.count = 0;
}

static void
pev_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    pev_flush();
}

void
pev_note(const char *room, size_t len, const char *user, int join)
{
    json_t *o;
    char *s;
    size_t l;

    if (V.npats == 0 || user == NULL || !glob_any(V.pats, V.npats, room,
            len))
        return;
    o = json_pack("{s:s%, s:s, s:{s:s%, s:s, s:s}}", "room", room, len,
        "event", "presence", "data", "room", room, len, "user", user,
        "action", join ? "join" : "leave");
    s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    l = s ? strlen(s) : 0;
    if (s == NULL || l + 3 > PMSG_MAX) {
        WCTR_INC(presence_events_dropped);
        free(s);
        return;
    }
    if (V.n + l + 2 > PMSG_MAX)
        pev_flush();
    if (V.count == 0) {
        V.out[0] = PMSG_PUBLISH;
        V.out[1] = '[';
        V.n = 2;
    } else {
        V.out[V.n++] = ',';
    }
    memcpy(V.out + V.n, s, l);
    V.n += l;
    V.count++;
    free(s);
    event_active(V.flush, 0, 0);
}
