/*
 * Unit tests for shm/evq.c: events come out in order and intact; a full
 * ring refuses the new event without touching what it holds, and takes
 * more once drained; texts are truncated and terminated; a consumer
 * facing a corrupt head skips to it; close reasons map to kinds.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shm/evq.h"

static struct evq q;

START_TEST(evq_fifo_in_order)
{
    struct evq_ev e;

    evq_reset(&q);
    ck_assert_int_eq(evq_pop(&q, &e), 0);
    ck_assert_int_eq(evq_push(&q, 1000, EVQ_CONNECT, 0, "1.2.3.4:5", NULL),
        0);
    ck_assert_int_eq(evq_push(&q, 1001, EVQ_DISCONNECT, 1000, "1.2.3.4:5",
        "peer closed"), 0);
    ck_assert_int_eq(evq_pop(&q, &e), 1);
    ck_assert_int_eq(e.ms, 1000);
    ck_assert_uint_eq(e.kind, EVQ_CONNECT);
    ck_assert_str_eq(e.peer, "1.2.3.4:5");
    ck_assert_str_eq(e.text, "");
    ck_assert_int_eq(evq_pop(&q, &e), 1);
    ck_assert_uint_eq(e.kind, EVQ_DISCONNECT);
    ck_assert_uint_eq(e.code, 1000);
    ck_assert_str_eq(e.text, "peer closed");
    ck_assert_int_eq(evq_pop(&q, &e), 0);
}
END_TEST

START_TEST(evq_full_ring_drops_new_events)
{
    struct evq_ev e;
    char t[16];

    evq_reset(&q);
    for (unsigned i = 0; i < EVQ_LEN; i++) {
        snprintf(t, sizeof(t), "e%u", i);
        ck_assert_int_eq(evq_push(&q, i, EVQ_CONNECT, 0, NULL, t), 0);
    }
    ck_assert_int_eq(evq_push(&q, 999, EVQ_CONNECT, 0, NULL, "late"), -1);
    ck_assert_int_eq(evq_pop(&q, &e), 1);
    ck_assert_str_eq(e.text, "e0");
    /* One slot free again: the next push fits, after the old ones. */
    ck_assert_int_eq(evq_push(&q, 1000, EVQ_LIMIT, 0, NULL, "next"), 0);
    for (unsigned i = 1; i < EVQ_LEN; i++) {
        snprintf(t, sizeof(t), "e%u", i);
        ck_assert_int_eq(evq_pop(&q, &e), 1);
        ck_assert_str_eq(e.text, t);
    }
    ck_assert_int_eq(evq_pop(&q, &e), 1);
    ck_assert_str_eq(e.text, "next");
    ck_assert_int_eq(evq_pop(&q, &e), 0);
}
END_TEST

START_TEST(evq_truncates_and_checks)
{
    struct evq_ev e;
    char big[300];

    evq_reset(&q);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(evq_push(&q, 1, EVQ_ADMIN, 70000, big, big), 0);
    ck_assert_int_eq(evq_pop(&q, &e), 1);
    ck_assert_uint_eq(strlen(e.peer), EVQ_PEER - 1);
    ck_assert_uint_eq(strlen(e.text), EVQ_TEXT - 1);
    ck_assert_uint_eq(e.code, 65535);
    /* A writer that left garbage: strings terminated, kind in range. */
    ck_assert_int_eq(evq_push(&q, 1, EVQ_CONNECT, 0, "a", "b"), 0);
    q.ev[1].kind = 77;
    memset(q.ev[1].text, 'y', sizeof(q.ev[1].text));
    ck_assert_int_eq(evq_pop(&q, &e), 1);
    ck_assert_uint_lt(e.kind, EVQ__COUNT);
    ck_assert_uint_eq(strlen(e.text), EVQ_TEXT - 1);
    /* A head more than a ring ahead: the reader skips to it. */
    atomic_store(&q.head, atomic_load(&q.tail) + EVQ_LEN + 5);
    ck_assert_int_eq(evq_pop(&q, &e), 0);
    ck_assert_uint_eq(atomic_load(&q.tail), atomic_load(&q.head));
}
END_TEST

START_TEST(evq_kinds_and_close_reasons)
{
    for (int k = 0; k < EVQ__COUNT; k++)
        ck_assert_int_eq(evq_kind_parse(evq_kind_name((unsigned)k)), k);
    ck_assert_str_eq(evq_kind_name(EVQ__COUNT), "unknown");
    ck_assert_int_eq(evq_kind_parse("nope"), -1);
    ck_assert_int_eq(evq_close_kind("slow consumer: outbound buffer"),
        EVQ_SLOW);
    ck_assert_int_eq(evq_close_kind("max_connections_per_ip limit"),
        EVQ_LIMIT);
    ck_assert_int_eq(evq_close_kind("too many messages"), EVQ_LIMIT);
    /* The limits' refusals and closes, as they word them. */
    ck_assert_int_eq(evq_close_kind(
        "http error reply: 429 TOO_MANY_CONNECTIONS"), EVQ_LIMIT);
    ck_assert_int_eq(evq_close_kind(
        "http error reply: 429 RATE_LIMITED"), EVQ_LIMIT);
    ck_assert_int_eq(evq_close_kind("peer closed"), EVQ_DISCONNECT);
    ck_assert_int_eq(evq_close_kind(NULL), EVQ_DISCONNECT);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("evq");
    TCase *tc = tcase_create("ring");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, evq_fifo_in_order);
    tcase_add_test(tc, evq_full_ring_drops_new_events);
    tcase_add_test(tc, evq_truncates_and_checks);
    tcase_add_test(tc, evq_kinds_and_close_reasons);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
