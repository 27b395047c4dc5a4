/*
 * Unit tests for worker/hbt.c on a real event loop: a ping about
 * ping_interval after the start (never more than a tick early), the
 * timeout no sooner than ping_timeout after the ping when no pong comes, a
 * pong (hbt_start) that restarts the cycle, a late node that a request
 * finds expired before the timer has run, a late timer that does not
 * stretch the cycle, a doom that closes from the timer rather than at
 * once, and a stopped node that hears nothing.
 */
#include <check.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/wsg.h"
#include "worker/hbt.h"

#define PI 200  /* ping_interval, ms */
#define PT 100  /* ping_timeout, ms: the tick is PT / 10 */
#define TICK (PT / 10)

struct sess {
    struct hbt_node hb;
    int pings, timeouts, dooms;
    int64_t ping_at, timeout_at;
    int pong;   /* answer every ping at once */
    int ready;  /* a ping reaches the client at once (hbt_ops.ready) */
    int unread; /* deadlines that find the answer unread (ops.unread) */
    int asked;  /* times ops.unread was asked */
};

static struct event_base *base;

static struct sess *
of(struct hbt_node *n)
{
    return HBT_ENTRY(n, struct sess, hb);
}

static int
on_ready(const struct hbt_node *n)
{
    return HBT_ENTRY(n, const struct sess, hb)->ready;
}

static void
on_ping(struct hbt_node *n)
{
    struct sess *s = of(n);

    s->pings++;
    s->ping_at = wsg_mono_ms();
    if (s->pong)
        hbt_start(n);
}

static void
on_timeout(struct hbt_node *n)
{
    of(n)->timeouts++;
    of(n)->timeout_at = wsg_mono_ms();
    hbt_stop(n);
}

static int
on_unread(const struct hbt_node *n)
{
    struct sess *s = HBT_ENTRY(n, struct sess, hb);

    s->asked++;
    if (s->unread == 0)
        return 0;
    s->unread--;
    return 1;
}

static void
on_doom(struct hbt_node *n)
{
    of(n)->dooms++;
    hbt_stop(n);
}

static const struct hbt_ops ops = {
    .ready = on_ready,
    .ping = on_ping,
    .timeout = on_timeout,
    .doom = on_doom,
    .unread = on_unread,
};

static void
setup(void)
{
    base = event_base_new();
    ck_assert_ptr_nonnull(base);
    ck_assert_int_eq(hbt_init(base, PI, PT, &ops), 0);
}

static void
run_for(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

/* Run the loop until *v reaches want, for 5 s at most: the tests do not
 * depend on how late a busy machine runs the timers. */
static void
run_until(const int *v, int want)
{
    int64_t end = wsg_mono_ms() + 5000;

    while (*v < want && wsg_mono_ms() < end)
        run_for(10);
}

START_TEST(hbt_pings_after_the_interval_then_times_out_silence)
{
    struct sess s = {0};
    int64_t t0 = wsg_mono_ms(); /* at or before the start's own reading */

    hbt_start(&s.hb);
    run_until(&s.timeouts, 1);
    ck_assert_int_eq(s.pings, 1);
    ck_assert_int_ge(s.ping_at - t0, PI - TICK);  /* up to a tick early */
    ck_assert_int_eq(s.timeouts, 1);
    /* The pong deadline: the batch's reading + PT + half a tick, but not
     * past the cycle's end; so never before the end minus half a tick. */
    ck_assert_int_ge(s.timeout_at - t0, PI + PT - TICK / 2);
    ck_assert_int_eq(s.dooms, 0);
    ck_assert_int_eq(hbt_doomed(&s.hb), 0);
}
END_TEST

/* A request that comes after the deadline must not depend on the timer
 * having run: the loop is kept from running past the deadline here. */
START_TEST(hbt_a_late_node_expires_before_the_timer_runs)
{
    struct sess s = {0};
    int64_t t0;
    int r;

    hbt_start(&s.hb);
    t0 = wsg_mono_ms();
    ck_assert_int_eq(hbt_expire_if_late(&s.hb), 0);   /* not pinged yet */
    run_until(&s.pings, 1);
    ck_assert_int_eq(s.pings, 1);
    if (wsg_mono_ms() - t0 < PI + PT - TICK) {        /* a fast machine */
        ck_assert_int_eq(hbt_expire_if_late(&s.hb), 0);
        ck_assert_int_eq(s.timeouts, 0);
    }
    /* Past the cycle's end, with the loop not running. */
    while (wsg_mono_ms() - t0 <= PI + PT)
        usleep(1000);
    r = hbt_expire_if_late(&s.hb);
    ck_assert_int_eq(s.timeouts, 1);
    if (r == 0) /* only if the loop above ran past the deadline itself */
        ck_assert_int_ge(s.timeout_at - t0, PI + PT - TICK);
    ck_assert_int_eq(hbt_expire_if_late(&s.hb), 0);   /* once */
    run_for(PT);
    ck_assert_int_eq(s.timeouts, 1);  /* the timer does not time it out again */
    ck_assert_int_eq(s.pings, 1);
}
END_TEST

/* However late the timer runs the batch, the pong deadline of a ping that
 * waits for its client (a polling client with no poll waiting) stays
 * within ping_interval + ping_timeout of the cycle's start. */
START_TEST(hbt_a_late_timer_does_not_extend_the_cycle)
{
    struct sess s = {0};
    int64_t t0;

    hbt_start(&s.hb);
    t0 = wsg_mono_ms();
    while (wsg_mono_ms() - t0 <= PI + PT / 2)   /* the timer is late */
        usleep(1000);
    run_until(&s.pings, 1);
    ck_assert_int_eq(s.pings, 1);
    while (wsg_mono_ms() - t0 <= PI + PT)
        usleep(1000);
    /* Due by now: ended here, or by the timer if the loop ran that long. */
    if (s.timeouts == 0)
        ck_assert_int_eq(hbt_expire_if_late(&s.hb), 1);
    ck_assert_int_eq(s.timeouts, 1);
    ck_assert_int_le(s.timeout_at - t0, wsg_mono_ms() - t0);
}
END_TEST

/* A ping that reaches its client at once gives it all of ping_timeout
 * from the (late) ping, not from when the ping was due. */
START_TEST(hbt_a_late_ping_on_its_way_gets_the_whole_timeout)
{
    struct sess s = {.ready = 1};
    int64_t t0;

    hbt_start(&s.hb);
    t0 = wsg_mono_ms();
    while (wsg_mono_ms() - t0 <= PI + PT / 2)   /* the timer is late */
        usleep(1000);
    run_until(&s.timeouts, 1);
    ck_assert_int_eq(s.pings, 1);
    ck_assert_int_eq(s.timeouts, 1);
    ck_assert_int_ge(s.timeout_at - s.ping_at, PT);
}
END_TEST

START_TEST(hbt_a_pong_restarts_the_cycle)
{
    struct sess s = {.pong = 1};

    hbt_start(&s.hb);
    run_until(&s.pings, 3);
    ck_assert_int_eq(s.pings, 3);
    ck_assert_int_eq(s.timeouts, 0);
    hbt_stop(&s.hb);
}
END_TEST

START_TEST(hbt_doom_closes_from_the_timer_and_sticks)
{
    struct sess s = {0};

    hbt_start(&s.hb);
    hbt_doom(&s.hb);
    ck_assert_int_eq(hbt_doomed(&s.hb), 1);
    ck_assert_int_eq(s.dooms, 0);             /* not at once */
    hbt_start(&s.hb);                         /* a pong changes nothing */
    ck_assert_int_eq(hbt_doomed(&s.hb), 1);
    run_until(&s.dooms, 1);
    run_for(PI + PT + 100);                   /* and nothing after it */
    ck_assert_int_eq(s.dooms, 1);
    ck_assert_int_eq(s.pings, 0);
    ck_assert_int_eq(s.timeouts, 0);
}
END_TEST

/* A deadline that passes with the client's answer unread (the worker was
 * late) waits ping_timeout more, each time it finds that, and times out
 * only when it does not; ops.unread is asked only at a passed deadline. */
START_TEST(hbt_an_unread_answer_waits_another_timeout)
{
    struct sess s = {.unread = 2};
    int64_t t0 = wsg_mono_ms();

    hbt_start(&s.hb);
    run_until(&s.pings, 1);
    ck_assert_int_eq(s.asked, 0);
    run_until(&s.timeouts, 1);
    ck_assert_int_eq(s.pings, 1);
    ck_assert_int_eq(s.timeouts, 1);
    ck_assert_int_eq(s.asked, 3);
    ck_assert_int_eq(s.unread, 0);
    ck_assert_int_ge(s.timeout_at - t0, PI + 3 * PT - TICK / 2);
}
END_TEST

/* The same when the session's own request finds it late (no timer). */
START_TEST(hbt_an_unread_answer_keeps_a_late_node)
{
    struct sess s = {.unread = 1};

    hbt_start(&s.hb);
    run_until(&s.pings, 1);
    usleep((PT + TICK) * 1000);             /* the loop does not run */
    ck_assert_int_eq(hbt_expire_if_late(&s.hb), 0);
    ck_assert_int_eq(s.asked, 1);
    ck_assert_int_eq(s.timeouts, 0);
    usleep((PT + TICK) * 1000);
    ck_assert_int_eq(hbt_expire_if_late(&s.hb), 1);
    ck_assert_int_eq(s.timeouts, 1);
}
END_TEST

START_TEST(hbt_a_stopped_node_hears_nothing)
{
    struct sess a = {0}, b = {0};

    hbt_start(&a.hb);
    hbt_start(&b.hb);
    hbt_stop(&a.hb);
    hbt_stop(&a.hb);                          /* twice is harmless */
    run_until(&b.timeouts, 1);
    ck_assert_int_eq(a.pings + a.timeouts + a.dooms, 0);
    ck_assert_int_eq(b.pings, 1);
    ck_assert_int_eq(b.timeouts, 1);
}
END_TEST

static Suite *
hbt_suite(void)
{
    Suite *s = suite_create("hbt");
    TCase *tc = tcase_create("cycle");

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, hbt_pings_after_the_interval_then_times_out_silence);
    tcase_add_test(tc, hbt_a_pong_restarts_the_cycle);
    tcase_add_test(tc, hbt_a_late_node_expires_before_the_timer_runs);
    tcase_add_test(tc, hbt_a_late_timer_does_not_extend_the_cycle);
    tcase_add_test(tc, hbt_a_late_ping_on_its_way_gets_the_whole_timeout);
    suite_add_tcase(s, tc);

    tc = tcase_create("doom_stop");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, hbt_doom_closes_from_the_timer_and_sticks);
    tcase_add_test(tc, hbt_a_stopped_node_hears_nothing);
    suite_add_tcase(s, tc);

    tc = tcase_create("unread");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, hbt_an_unread_answer_waits_another_timeout);
    tcase_add_test(tc, hbt_an_unread_answer_keeps_a_late_node);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(hbt_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
