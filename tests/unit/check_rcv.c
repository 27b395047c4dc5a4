/*
 * worker/rcv.c against the master's side (master/stor.c) over a real
 * recovery channel: a forked "worker" puts, holds and drops sessions and
 * reads them back from the shared table; what it cannot store is counted;
 * a burst larger than the socket queues in order, and past the queue's
 * bound is dropped and counted; when it exits the master
 * drains its channel, holds what it left live, and expires held sessions.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/config.h"
#include "common/wsg.h"
#include "master/stor.h"
#include "shm/shm.h"
#include "shm/smsg.h"
#include "worker/rcv.h"
#include "worker/wctr.h"

#define PA "AAAAAAAAAAAAAAAAAAAA"
#define PB "BBBBBBBBBBBBBBBBBBBB"
#define PC "CCCCCCCCCCCCCCCCCCCC"
#define PD "DDDDDDDDDDDDDDDDDDDD"

static struct cfg C;
static struct shm_segment *seg;
static struct event_base *base;
static int chan[2] = {-1, -1};
static pid_t child;
static int child_status = -1;

static void
setup_with(const char *window)
{
    char err[CFG_ERR_MAX];
    int sz = STOR_CHAN_BUF;

    ck_assert_int_eq(cfg_init(&C), 0);
    ck_assert_int_eq(cfg_set(&C, "max_recoverable_sessions", "64", "test",
        err, sizeof(err)), 0);
    ck_assert_int_eq(cfg_set(&C, "recovery_window", window, "test", err,
        sizeof(err)), 0);
    seg = shm_create(getpid(), wsg_real_ms());
    base = event_base_new();
    ck_assert_ptr_nonnull(seg);
    ck_assert_ptr_nonnull(base);
    ck_assert_int_eq(stor_init(base, &C, seg), 0);
    ck_assert_ptr_nonnull(stor_table());
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK
        | SOCK_CLOEXEC, 0, chan), 0);
    setsockopt(chan[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    setsockopt(chan[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

static void
setup(void)
{
    setup_with("5s");
}

static void
setup_short(void)
{
    setup_with("300ms");
}

static void
teardown(void)
{
    stor_stop();
    if (base)
        event_base_free(base);
    shm_destroy(&seg);
    cfg_free(&C);
}

static void
reap_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (waitpid(child, &child_status, WNOHANG) == child)
        event_base_loopexit(base, NULL);
}

/* Run the master's loop until the worker exits, then reap it as sup.c
 * does. */
static void
run_master_until_child_exits(void)
{
    struct timeval tv = {0, 10000}, cap = {30, 0};
    struct event *ev = event_new(base, -1, EV_PERSIST, reap_cb, NULL);

    stor_attach(0, chan[0], child);
    event_add(ev, &tv);
    event_base_loopexit(base, &cap);
    event_base_dispatch(base);
    event_free(ev);
    ck_assert_msg(child_status != -1, "worker did not exit");
    stor_detach(0);
}

static uint64_t
mctr(int id)
{
    return atomic_load(&seg->hdr.master_ctr[id]);
}

/* Worker side: wait (up to 5 s) until pid looks as wanted. */
static int
wait_for(const char *pid, int state, const char *room)
{
    struct rcv_session s;

    for (int i = 0; i < 5000; i++) {
        int rc = rcv_lookup(pid, &s);
        if (state == 0 && rc == -1)
            return 1;
        if (rc == 0 && s.state == state && (room == NULL
                || memmem(s.rooms, s.rooms_len, room, strlen(room) + 1)))
            return 1;
        usleep(1000);
    }
    return 0;
}

#define WCHECK(c, code)                                                        \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "worker check failed: %s\n", #c);                  \
            _exit(code);                                                       \
        }                                                                      \
    } while (0)

static void
worker(void)
{
    struct event_base *wb = event_base_new();
    const char *rooms[2] = {"user:u1", "lead:1"};
    size_t lens[2] = {7, 6};
    struct rcv_session s;
    static char big[SESS_ROOMS_BYTES];
    const char *bigr[1] = {big};
    size_t bigl[1] = {SESS_ROOMS_BYTES};

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(chan[0]);
    WCHECK(wb && rcv_init(wb, &C, chan[1], stor_table()) == 0, 10);
    WCHECK(rcv_enabled(), 11);
    uint64_t ta = rcv_tag(), tb = rcv_tag(), tc = rcv_tag();
    WCHECK(ta < tb && tb < tc, 12);
    WCHECK(rcv_put(ta, PA, "sa", "/", "u1", rooms, lens, 2) == 0, 13);
    WCHECK(rcv_put(tb, PB, "sb", "/chat", NULL, rooms, lens, 1) == 0, 14);
    WCHECK(rcv_put(tc, PC, "sc", "/", "u3", NULL, NULL, 0) == 0, 15);
    rcv_hold(ta, PA);
    rcv_drop(tc, PC);
    rcv_drop(tb + 100, PB); /* not this connection's: ignored */
    memset(big, 'r', sizeof(big));
    WCHECK(rcv_put(rcv_tag(), PD, "sd", "/", "u", bigr, bigl, 1) == -1, 16);
    WCHECK(rcv_put(rcv_tag(), PD, "sd", "/0123456789012345678901234567890"
        "12345678901234567890123456789012", "u", NULL, NULL, 0) == -1, 17);
    WCHECK(wctr_val[CTR_recovery_not_stored] == 2, 18);
    WCHECK(wait_for(PA, RCV_HELD, "lead:1"), 19);
    WCHECK(wait_for(PC, 0, NULL), 20);
    WCHECK(rcv_lookup(PB, &s) == 0 && s.state == RCV_LIVE
        && s.owner == getpid() && s.tag == tb && strcmp(s.nsp, "/chat") == 0
        && strcmp(s.user, "") == 0 && s.rooms_len == 8, 21);
    WCHECK(rcv_lookup(PA, &s) == 0 && s.tag == ta && strcmp(s.sid, "sa") == 0
        && s.until_ms > wsg_real_ms() + 3000, 22);
    WCHECK(rcv_put(rcv_tag(), PD, "sd", "/", "u", rooms, lens, 2) == 0, 23);
    WCHECK(wait_for(PD, RCV_LIVE, "user:u1"), 24);
    _exit(0); /* leaves PB and PD live: the master must hold them */
}

START_TEST(rcv_put_hold_drop_lookup_and_worker_exit)
{
    child = fork();
    ck_assert_int_ne(child, -1);
    if (child == 0)
        worker();
    close(chan[1]);
    run_master_until_child_exits();
    ck_assert(WIFEXITED(child_status));
    ck_assert_int_eq(WEXITSTATUS(child_status), 0);

    struct sess_rec r;
    const struct sess_table *t = stor_table();
    int64_t now = wsg_real_ms();
    ck_assert_int_eq(sess_lookup(t, PA, now, &r), SESS_OK);
    ck_assert_uint_eq(r.state, SESS_HELD);
    ck_assert_int_eq(r.owner, child);
    ck_assert_int_eq(sess_lookup(t, PB, now, &r), SESS_OK);
    ck_assert_uint_eq(r.state, SESS_HELD); /* held when its worker went */
    ck_assert_int_ge(r.until_ms, now + 4000);
    ck_assert_int_eq(sess_lookup(t, PC, now, &r), SESS_E_NOTFOUND);
    ck_assert_int_eq(sess_lookup(t, PD, now, &r), SESS_OK);
    ck_assert_uint_eq(r.state, SESS_HELD);
    ck_assert_uint_eq(mctr(CTR_recovery_orphaned), 2);
    ck_assert_uint_eq(mctr(CTR_recovery_sessions), 3);
    ck_assert_uint_eq(mctr(CTR_recovery_held), 3);
    ck_assert_uint_eq(mctr(CTR_recovery_bad_messages), 0);
}
END_TEST

/* Worker of the burst test: fill the socket while the master does not
 * read, then the queue until it overflows; let the master read; the
 * last state put must be the one stored. */
static void
burst_worker(int go)
{
    struct event_base *wb = event_base_new();
    char r0[1200];
    const char *one[1] = {r0};
    size_t l1[1] = {sizeof(r0)};
    unsigned char probe[64];
    int i;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(chan[0]);
    WCHECK(rcv_init(wb, &C, chan[1], stor_table()) == 0, 10);
    uint64_t td = rcv_tag();
    memset(r0, 'x', sizeof(r0));
    for (i = 0; i < 6000; i++) {
        snprintf(r0, sizeof(r0), "n%05d", i);
        r0[6] = 'x';
        WCHECK(rcv_put(td, PD, "sd", "/", "u", one, l1, 1) == 0, 11);
    }
    /* The socket is full (so the last puts wait in the queue). */
    size_t pn = smsg_end(probe, sizeof(probe), SMSG_DROP, 1, "none");
    WCHECK(send(chan[1], probe, pn, MSG_DONTWAIT) == -1 && errno == EAGAIN,
        12);
    for (; i < 20000 && rcv_put(td, PD, "sd", "/", "u", one, l1, 1) == 0; i++)
        ;
    WCHECK(i < 20000, 13);
    WCHECK(wctr_val[CTR_recovery_queue_drops] == 1, 14);
    WCHECK(write(go, "g", 1) == 1, 15);
    rcv_flush(10000);
    snprintf(r0, sizeof(r0), "last");
    l1[0] = 4;
    WCHECK(rcv_put(td, PD, "sd", "/", "u", one, l1, 1) == 0, 16);
    struct timeval tv = {0, 100000};
    event_base_loopexit(wb, &tv);
    event_base_dispatch(wb);
    WCHECK(wait_for(PD, RCV_LIVE, "last"), 17);
    WCHECK(wctr_val[CTR_recovery_queue_drops] == 1, 18);
    _exit(0);
}

START_TEST(rcv_burst_queues_in_order_and_overflow_is_counted)
{
    int go[2];
    char c;

    ck_assert_int_eq(pipe(go), 0);
    child = fork();
    ck_assert_int_ne(child, -1);
    if (child == 0) {
        close(go[0]);
        burst_worker(go[1]);
    }
    close(chan[1]);
    close(go[1]);
    ck_assert_int_eq(read(go[0], &c, 1), 1); /* socket and queue full */
    run_master_until_child_exits();
    ck_assert(WIFEXITED(child_status));
    ck_assert_int_eq(WEXITSTATUS(child_status), 0);
    struct sess_rec r;
    ck_assert_int_eq(sess_lookup(stor_table(), PD, wsg_real_ms(), &r),
        SESS_OK);
    ck_assert_mem_eq(r.rooms, "last", 5);
    ck_assert_uint_eq(r.state, SESS_HELD);
    ck_assert_uint_eq(mctr(CTR_recovery_bad_messages), 0);
}
END_TEST

START_TEST(rcv_master_applies_what_a_dead_worker_left_unread)
{
    child = fork();
    ck_assert_int_ne(child, -1);
    if (child == 0) {
        struct event_base *wb = event_base_new();
        close(chan[0]);
        WCHECK(rcv_init(wb, &C, chan[1], stor_table()) == 0, 10);
        uint64_t t1 = rcv_tag();
        WCHECK(rcv_put(t1, PA, "sa", "/", "u", NULL, NULL, 0) == 0, 11);
        WCHECK(rcv_put(rcv_tag(), PB, "sb", "/", "u", NULL, NULL, 0) == 0,
            12);
        rcv_hold(t1, PA);
        raise(SIGKILL); /* dies before the master read a byte */
    }
    close(chan[1]);
    /* Not attached while it runs: everything is read at the reap. */
    while (waitpid(child, &child_status, 0) != child)
        ;
    ck_assert(WIFSIGNALED(child_status));
    stor_attach(0, chan[0], child);
    stor_detach(0);
    struct sess_rec r;
    ck_assert_int_eq(sess_lookup(stor_table(), PA, wsg_real_ms(), &r),
        SESS_OK);
    ck_assert_uint_eq(r.state, SESS_HELD);
    ck_assert_int_eq(sess_lookup(stor_table(), PB, wsg_real_ms(), &r),
        SESS_OK);
    ck_assert_uint_eq(r.state, SESS_HELD);
    ck_assert_uint_eq(mctr(CTR_recovery_orphaned), 1);
}
END_TEST

START_TEST(rcv_held_sessions_expire_after_the_window)
{
    child = fork();
    ck_assert_int_ne(child, -1);
    if (child == 0) {
        struct event_base *wb = event_base_new();
        close(chan[0]);
        WCHECK(rcv_init(wb, &C, chan[1], stor_table()) == 0, 10);
        for (int i = 0; i < 5; i++) {
            char pid[SESS_ID_LEN + 1];
            snprintf(pid, sizeof(pid), "P%019d", i);
            WCHECK(rcv_put(rcv_tag(), pid, "s", "/", "u", NULL, NULL, 0) == 0,
                11);
        }
        rcv_flush(1000);
        _exit(0);
    }
    close(chan[1]);
    run_master_until_child_exits();
    ck_assert_uint_eq(mctr(CTR_recovery_held), 5);
    struct timeval tv = {1, 500000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base); /* the 1 s sweep runs */
    ck_assert_uint_eq(mctr(CTR_recovery_expired), 5);
    ck_assert_uint_eq(mctr(CTR_recovery_sessions), 0);
    ck_assert_uint_eq(mctr(CTR_recovery_held), 0);
}
END_TEST

START_TEST(rcv_bad_datagrams_are_counted_not_applied)
{
    static const unsigned char junk[] = {9, 9, 9};
    unsigned char big[SMSG_MAX + 10];

    memset(big, 1, sizeof(big));
    ck_assert_int_eq(send(chan[1], junk, sizeof(junk), 0), sizeof(junk));
    ck_assert_int_eq(send(chan[1], big, sizeof(big), 0), sizeof(big));
    close(chan[1]);
    stor_attach(0, chan[0], 4242);
    stor_detach(0);
    ck_assert_uint_eq(mctr(CTR_recovery_bad_messages), 2);
    ck_assert_uint_eq(mctr(CTR_recovery_sessions), 0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("rcv");
    TCase *t = tcase_create("channel");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, rcv_put_hold_drop_lookup_and_worker_exit);
    tcase_add_test(t, rcv_burst_queues_in_order_and_overflow_is_counted);
    tcase_add_test(t, rcv_master_applies_what_a_dead_worker_left_unread);
    tcase_add_test(t, rcv_bad_datagrams_are_counted_not_applied);
    suite_add_tcase(s, t);
    t = tcase_create("expiry");
    tcase_add_checked_fixture(t, setup_short, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, rcv_held_sessions_expire_after_the_window);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
