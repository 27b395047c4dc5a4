/*
 * Shared segment: record lifecycle, seqlock snapshots against a writer in
 * another process, folding of a dead worker's counters, readiness.
 */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/wsg.h"
#include "shm/shm.h"

static struct shm_segment *seg;
static const uint64_t h0[HIST_WORDS]; /* no histogram observations */

static void
setup(void)
{
    seg = shm_create(getpid(), wsg_real_ms());
    ck_assert_ptr_nonnull(seg);
}

static void
teardown(void)
{
    shm_destroy(&seg);
    ck_assert_ptr_null(seg);
}

START_TEST(shm_header_is_self_describing)
{
    ck_assert_uint_eq(seg->hdr.magic, SHM_MAGIC);
    ck_assert_uint_eq(seg->hdr.version, SHM_LAYOUT_VERSION);
    ck_assert_uint_eq(seg->hdr.nrecords, SHM_NRECORDS);
    ck_assert_uint_eq(seg->hdr.size, sizeof(struct shm_segment));
    ck_assert_int_eq(atomic_load(&seg->hdr.master_pid), getpid());
}
END_TEST

START_TEST(shm_claim_uses_free_records_and_release_frees)
{
    int a = shm_record_claim(seg, 0, 0);
    int b = shm_record_claim(seg, 1, 0);
    ck_assert_int_ge(a, 0);
    ck_assert_int_ne(a, b);
    ck_assert_uint_eq(atomic_load(&seg->rec[a].state), SHM_STARTING);
    shm_worker_beat(&seg->rec[a], 5);
    ck_assert_uint_eq(atomic_load(&seg->rec[a].state), SHM_RUNNING);
    shm_record_release(seg, a);
    ck_assert_uint_eq(atomic_load(&seg->rec[a].state), SHM_FREE);
    ck_assert_int_eq(shm_record_claim(seg, 2, 1), a);
    for (unsigned i = 2; i < SHM_NRECORDS; i++)
        ck_assert_int_ge(shm_record_claim(seg, 0, 0), 0);
    ck_assert_int_eq(shm_record_claim(seg, 0, 0), -1);
}
END_TEST

START_TEST(shm_release_folds_counters_not_gauges)
{
    uint64_t v[CTR__COUNT] = {0}, tot[CTR__COUNT];
    int r = shm_record_claim(seg, 0, 0);

    v[CTR_conn_accepted] = 40;
    v[CTR_conn_open] = 7;
    shm_worker_publish(&seg->rec[r], v, h0);
    shm_master_add(seg, CTR_worker_starts, 1);
    shm_totals(seg, tot);
    ck_assert_uint_eq(tot[CTR_conn_accepted], 40);
    ck_assert_uint_eq(tot[CTR_conn_open], 7);
    ck_assert_uint_eq(tot[CTR_worker_starts], 1);
    shm_record_release(seg, r);
    shm_totals(seg, tot);
    ck_assert_uint_eq(tot[CTR_conn_accepted], 40); /* never goes back */
    ck_assert_uint_eq(tot[CTR_conn_open], 0);      /* gauge vanished */
    r = shm_record_claim(seg, 0, 0);
    v[CTR_conn_accepted] = 2;
    v[CTR_conn_open] = 2;
    shm_worker_publish(&seg->rec[r], v, h0);
    shm_totals(seg, tot);
    ck_assert_uint_eq(tot[CTR_conn_accepted], 42);
    ck_assert_uint_eq(tot[CTR_conn_open], 2);
}
END_TEST

/* Histograms fold like COUNTERs: a released record's words join the
 * retired totals, and the sums over workers never go down. */
START_TEST(shm_release_folds_histograms)
{
    uint64_t v[CTR__COUNT] = {0}, h[HIST_WORDS] = {0}, tot[HIST_WORDS];
    uint64_t *d = &h[HIST_delivery_latency * HIST_NVALS];
    uint64_t *t = &tot[HIST_delivery_latency * HIST_NVALS];
    int a = shm_record_claim(seg, 0, 0), b = shm_record_claim(seg, 1, 0);

    hist_observe(d, 150, 3);   /* 3 in the 0.25 ms bucket */
    shm_worker_publish(&seg->rec[a], v, h);
    hist_observe(d, 20000000, 1); /* +Inf */
    shm_worker_publish(&seg->rec[b], v, h);
    shm_hist_totals(seg, tot);
    ck_assert_uint_eq(t[1], 6);
    ck_assert_uint_eq(t[HIST_NBOUNDS], 1);
    ck_assert_uint_eq(hist_count(t), 7);
    ck_assert_uint_eq(t[HIST_SUM], 2 * 450 + 20000000);
    shm_record_release(seg, b);
    shm_hist_totals(seg, tot);
    ck_assert_uint_eq(hist_count(t), 7); /* never goes back */
    ck_assert_uint_eq(t[HIST_SUM], 2 * 450 + 20000000);
    b = shm_record_claim(seg, 1, 0);
    ck_assert_uint_eq(atomic_load(&seg->rec[b].hist[1]), 0);
    memset(h, 0, sizeof(h));
    hist_observe(d, 0, 2);
    shm_worker_publish(&seg->rec[b], v, h);
    shm_hist_totals(seg, tot);
    ck_assert_uint_eq(hist_count(t), 9);
    ck_assert_uint_eq(t[0], 2);
}
END_TEST

START_TEST(shm_release_after_writer_died_mid_publish)
{
    int r = shm_record_claim(seg, 0, 0);
    uint64_t tot[CTR__COUNT];

    atomic_store(&seg->rec[r].ctr[CTR_conn_accepted], 9);
    atomic_store(&seg->rec[r].seq, 3); /* odd: writer died inside */
    shm_record_release(seg, r);
    shm_totals(seg, tot);
    ck_assert_uint_eq(tot[CTR_conn_accepted], 9);
    r = shm_record_claim(seg, 0, 0);
    ck_assert_uint_eq(atomic_load(&seg->rec[r].seq), 0);
}
END_TEST

/* A forked writer publishes vectors whose entries are all equal; every
 * snapshot the reader takes must be internally equal too. */
START_TEST(shm_snapshot_consistent_against_forked_writer)
{
    int r = shm_record_claim(seg, 0, 0);
    pid_t pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        uint64_t v[CTR__COUNT];
        for (uint64_t n = 1; n < 2000000; n++) {
            for (int i = 0; i < CTR__COUNT; i++)
                v[i] = n;
            shm_worker_publish(&seg->rec[r], v, h0);
        }
        _exit(0);
    }
    struct shm_snap s;
    unsigned ok = 0, torn = 0;
    uint64_t last = 0;
    for (int k = 0; k < 200000; k++) {
        if (shm_snapshot(seg, r, &s) != 0)
            continue;
        ok++;
        for (int i = 1; i < CTR__COUNT; i++)
            torn += s.ctr[i] != s.ctr[0];
        ck_assert_uint_ge(s.ctr[0], last);
        last = s.ctr[0];
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_uint_gt(ok, 0);
    ck_assert_uint_eq(torn, 0);
}
END_TEST

START_TEST(shm_ready_needs_every_slot_heartbeating)
{
    char why[128];
    int64_t now = wsg_mono_ms();

    atomic_store(&seg->hdr.nslots, 2);
    ck_assert_int_eq(shm_ready(seg, 5000, why, sizeof(why)), 0);
    int a = shm_record_claim(seg, 0, 0);
    int b = shm_record_claim(seg, 1, 0);
    shm_worker_beat(&seg->rec[a], now);
    ck_assert_int_eq(shm_ready(seg, 5000, why, sizeof(why)), 0);
    ck_assert_ptr_nonnull(strstr(why, "slot 1"));
    shm_worker_beat(&seg->rec[b], now - 10000); /* stale */
    ck_assert_int_eq(shm_ready(seg, 5000, NULL, 0), 0);
    shm_worker_beat(&seg->rec[b], now);
    ck_assert_int_eq(shm_ready(seg, 5000, NULL, 0), 1);
    atomic_store(&seg->hdr.generation, 1); /* old generation only */
    ck_assert_int_eq(shm_ready(seg, 5000, NULL, 0), 0);
    atomic_store(&seg->hdr.generation, 0);
    atomic_store(&seg->hdr.stopping, 1);
    ck_assert_int_eq(shm_ready(seg, 5000, why, sizeof(why)), 0);
    ck_assert_str_eq(why, "stopping");
}
END_TEST

START_TEST(shm_status_sums_open_connections)
{
    struct shm_status st;
    uint64_t v[CTR__COUNT] = {0};
    char buf[256];
    int a = shm_record_claim(seg, 0, 0);
    int b = shm_record_claim(seg, 1, 0);

    atomic_store(&seg->hdr.nslots, 2);
    atomic_store(&seg->hdr.capacity, 100);
    v[CTR_conn_open] = 3;
    shm_worker_publish(&seg->rec[a], v, h0);
    v[CTR_conn_open] = 4;
    shm_worker_publish(&seg->rec[b], v, h0);
    shm_worker_beat(&seg->rec[a], wsg_mono_ms());
    shm_worker_beat(&seg->rec[b], wsg_mono_ms());
    shm_status(seg, 5000, &st);
    ck_assert_uint_eq(st.connections, 7);
    ck_assert_uint_eq(st.workers, 2);
    ck_assert_int_eq(st.ready, 1);
    shm_status_format(&st, buf, sizeof(buf));
    ck_assert_ptr_nonnull(strstr(buf, "\"status\":\"ok\""));
    ck_assert_ptr_nonnull(strstr(buf, "\"connections\":7"));
    ck_assert_ptr_nonnull(strstr(buf, "\"capacity\":100"));
}
END_TEST

START_TEST(shm_top_rooms_sum_over_workers)
{
    const char *n1[] = {"lead:1", "team:a"}, *n2[] = {"team:a", "x\"y"};
    size_t l1[] = {6, 6}, l2[] = {6, 3};
    uint32_t m1[] = {5, 2}, m2[] = {4, 1};
    struct shm_room top[10];
    int a = shm_record_claim(seg, 0, 0), b = shm_record_claim(seg, 1, 0);

    shm_worker_rooms(&seg->rec[a], 2, n1, l1, m1);
    shm_worker_rooms(&seg->rec[b], 2, n2, l2, m2);
    ck_assert_uint_eq(shm_top_rooms(seg, top, 10), 3);
    ck_assert_str_eq(top[0].name, "team:a");
    ck_assert_uint_eq(top[0].members, 6);
    ck_assert_str_eq(top[1].name, "lead:1");
    ck_assert_uint_eq(top[1].members, 5);
    ck_assert_str_eq(top[2].name, "x\"y");
    ck_assert_uint_eq(shm_top_rooms(seg, top, 1), 1);
    shm_record_release(seg, b); /* a dead worker's rooms vanish */
    ck_assert_uint_eq(shm_top_rooms(seg, top, 10), 2);
    ck_assert_uint_eq(top[0].members, 5);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("shm");
    TCase *t = tcase_create("records");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, shm_header_is_self_describing);
    tcase_add_test(t, shm_claim_uses_free_records_and_release_frees);
    tcase_add_test(t, shm_release_folds_counters_not_gauges);
    tcase_add_test(t, shm_release_folds_histograms);
    tcase_add_test(t, shm_release_after_writer_died_mid_publish);
    suite_add_tcase(s, t);
    t = tcase_create("snapshot");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, shm_snapshot_consistent_against_forked_writer);
    tcase_add_test(t, shm_ready_needs_every_slot_heartbeating);
    tcase_add_test(t, shm_status_sums_open_connections);
    tcase_add_test(t, shm_top_rooms_sum_over_workers);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
