/*
 * Worker events into the shm event queue (worker/wev.h). The queue is the
 * only state; a full queue costs one counter increment, never a wait.
 */
#include <stddef.h>

#include "common/wsg.h"
#include "worker/wctr.h"
#include "worker/wev.h"

static struct evq *wev_q;

void
wev_init(struct evq *q)
{
    wev_q = q;
}

int
wev_on(void)
{
    return wev_q != NULL;
}

void
wev_add(enum evq_kind kind, unsigned code, const char *peer,
    const char *text)
{
    if (wev_q == NULL)
        return;
    if (evq_push(wev_q, wsg_real_ms(), kind, code, peer, text) == -1)
        WCTR_INC(events_dropped);
}
