/*
 * Engine.IO heartbeat scheduling (see hbt.h): the three deadline queues
 * (common/dlq), the one libevent timer armed for the earliest head, the
 * tick, and the rule for when a ping leaves and when its pong is late.
 * The sessions, and what a ping or a timeout means for one, are eng.c's:
 * hbt calls back through the struct hbt_ops it was given at init.
 */
#include <stdint.h>
#include <sys/time.h>

#include <event2/event.h>

#include "common/dlq.h"
#include "common/wsg.h"
#include "worker/hbt.h"

/* Heartbeats without a timer per session. Every session is in exactly
 * one deadline queue, chosen by its state (hbt_queue): waiting to be
 * pinged (due at its last pong + ping_interval), waiting for the pong
 * (due at its ping + ping_timeout), or doomed (close now). One timer
 * serves the three queues: it is armed for the earliest head (a ping
 * head `slack` ms before it is due), and when it fires it closes every
 * session whose pong deadline has passed and sends every ping due within
 * the next slack ms, then re-arms. A ping thus goes out between slack
 * early and on time (slack = 10% of the smaller of ping_interval and
 * ping_timeout, at most HBT_SLACK_MAX_MS; timer lateness aside), so
 * the pings of sessions whose cycles are close share one wake-up, and so
 * do their pong deadlines (one clock reading per batch); a silent session
 * is closed half a tick after its deadline (its ping + ping_timeout), so
 * the time a ping waits for the loop's flush is not taken from its
 * client; a session whose ping waits for a poll that has not come is
 * closed no later than ping_interval + ping_timeout after the cycle's
 * start, even when the timer fires late. A request that arrives
 * past the deadline before the timer has run finds the session ended
 * (hbt_expire_if_late), so no reply depends on the timer's lateness. */
#define HBT_SLACK_MAX_MS 1000

/* hbt_node.state; a zeroed node waits for a ping (in no queue yet). */
enum { HBT_PING, HBT_PONG, HBT_DOOM };

#define HBT_OF(d) DLQ_ENTRY(d, struct hbt_node, dn)

static void hbt_cb(evutil_socket_t fd, short what, void *arg);
static struct dlq *hbt_queue(const struct hbt_node *n);
static void hbt_schedule(int64_t at, int64_t now);
static void hbt_insert(struct hbt_node *n, int64_t due, int64_t now);
static int hbt_overdue(struct hbt_node *n, int64_t now);

static struct {
    const struct hbt_ops *ops;
    struct dlq q_ping, q_pong, q_doom;
    struct event *ev;
    int64_t at;             /* when ev fires; INT64_MAX: not armed */
    int64_t interval, timeout;
    int64_t slack;
} H;

int
hbt_init(struct event_base *base, int64_t ping_interval_ms,
    int64_t ping_timeout_ms, const struct hbt_ops *ops)
{
    int64_t pi = ping_interval_ms, pt = ping_timeout_ms;

    H.ops = ops;
    H.interval = pi;
    H.timeout = pt;
    H.slack = (pi < pt ? pi : pt) / 10;
    if (H.slack > HBT_SLACK_MAX_MS)
        H.slack = HBT_SLACK_MAX_MS;
    if (H.slack < 1)
        H.slack = 1;
    H.at = INT64_MAX;
    H.ev = evtimer_new(base, hbt_cb, NULL);
    return H.ev ? 0 : -1;
}

void
hbt_start(struct hbt_node *n)
{
    int64_t now = wsg_mono_ms();

    if (n->state == HBT_DOOM)
        return;
    hbt_stop(n);
    n->state = HBT_PING;
    hbt_insert(n, now + H.interval, now);
}

void
hbt_doom(struct hbt_node *n)
{
    int64_t now = wsg_mono_ms();

    hbt_stop(n);
    n->state = HBT_DOOM;
    hbt_insert(n, now, now);
}

int
hbt_doomed(const struct hbt_node *n)
{
    return n->state == HBT_DOOM;
}

void
hbt_stop(struct hbt_node *n)
{
    struct dlq *q = hbt_queue(n);

    if (dlq_contains(q, &n->dn))
        dlq_remove(q, &n->dn);
}

int
hbt_expire_if_late(struct hbt_node *n)
{
    if (n->state != HBT_PONG || !dlq_contains(&H.q_pong, &n->dn)
        || n->dn.due > wsg_mono_ms())
        return 0;
    dlq_remove(&H.q_pong, &n->dn);
    return hbt_overdue(n, wsg_mono_ms());
}

/* n (out of q_pong) is past its pong deadline: ops->timeout, 1; or, when
 * its answer waits unread (ops->unread), back in q_pong due ping_timeout
 * from now, 0. */
static int
hbt_overdue(struct hbt_node *n, int64_t now)
{
    if (H.ops->unread != NULL && H.ops->unread(n)) {
        hbt_insert(n, now + H.timeout, now);
        return 0;
    }
    H.ops->timeout(n);
    return 1;
}

/* The queue n belongs in, from its state. */
static struct dlq *
hbt_queue(const struct hbt_node *n)
{
    return n->state == HBT_DOOM ? &H.q_doom : n->state == HBT_PONG
        ? &H.q_pong : &H.q_ping;
}

/* Make sure the timer fires by mono time `at`. */
static void
hbt_schedule(int64_t at, int64_t now)
{
    int64_t ms = at > now ? at - now : 0;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    if (at >= H.at)
        return;
    H.at = at;
    evtimer_add(H.ev, &tv);
}

/* Put n (out of every queue, state set) into its queue, due at `due`. */
static void
hbt_insert(struct hbt_node *n, int64_t due, int64_t now)
{
    struct dlq *q = hbt_queue(n);

    dlq_insert(q, &n->dn, due);
    hbt_schedule(q == &H.q_ping ? due - H.slack : due, now);
}

static void
hbt_cb(evutil_socket_t fd, short what, void *arg)
{
    int64_t now = wsg_mono_ms();
    struct dlq_node *d;

    (void)fd;
    (void)what;
    (void)arg;
    H.at = INT64_MAX;
    while ((d = H.q_doom.head) != NULL) {
        dlq_remove(&H.q_doom, d);
        H.ops->doom(HBT_OF(d));
    }
    while ((d = H.q_pong.head) != NULL && d->due <= now) {
        dlq_remove(&H.q_pong, d);
        (void)hbt_overdue(HBT_OF(d), now);
    }
    while ((d = H.q_ping.head) != NULL && d->due <= now + H.slack) {
        struct hbt_node *n = HBT_OF(d);
        dlq_remove(&H.q_ping, d);
        n->state = HBT_PONG;
        /* The ping leaves at the flush, after whatever else the loop
         * runs first: half a tick of grace keeps a busy loop from taking
         * that time from the client's ping_timeout, counted from now
         * (the timer may be late: the client still gets all of it). A
         * ping that waits for a poll is not on its way: its session ends
         * no later than the cycle's end (due + ping_timeout), however
         * late the timer. */
        int64_t late = now + H.timeout + H.slack / 2;
        if (!H.ops->ready(n) && late > d->due + H.timeout)
            late = d->due + H.timeout;
        dlq_insert(&H.q_pong, d, late);
        H.ops->ping(n); /* may doom n or end its session */
    }
    if ((d = H.q_doom.head) != NULL)
        hbt_schedule(now, now);
    if ((d = H.q_ping.head) != NULL)
        hbt_schedule(d->due - H.slack, now);
    if ((d = H.q_pong.head) != NULL)
        hbt_schedule(d->due, now);
}
