/*
 * Unit tests for the ids worker/csr.c names by a connection's tag
 * (csr_derive): well-formed slot-0 session ids, the same for the same
 * tag and kind, distinct across tags and between the socket id and the
 * pid, and another process's differ (its own key).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/eio.h"
#include "worker/csr.h"

#define N_TAGS 20000

static int
cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, EIO_SID_LEN);
}

START_TEST(csr_ids_are_well_formed_and_stable)
{
    char a[EIO_SID_LEN + 1], b[EIO_SID_LEN + 1];
    unsigned slot;

    for (uint32_t t = 0; t < 1000; t++) {
        ck_assert_int_eq(csr_derive(t * 7919u, CSR_SID, a), 0);
        ck_assert_uint_eq(strlen(a), EIO_SID_LEN);
        ck_assert_int_eq(eio_sid_slot(a, EIO_SID_LEN, &slot), 0);
        ck_assert_uint_eq(slot, 0);
        ck_assert_int_eq(csr_derive(t * 7919u, CSR_SID, b), 0);
        ck_assert_str_eq(a, b);
        ck_assert_int_eq(csr_derive(t * 7919u, CSR_PID, b), 0);
        ck_assert_str_ne(a, b);
    }
}
END_TEST

START_TEST(csr_ids_do_not_repeat)
{
    char (*ids)[EIO_SID_LEN + 1] = malloc(2 * N_TAGS * sizeof(*ids));

    ck_assert_ptr_nonnull(ids);
    for (uint32_t t = 0; t < N_TAGS; t++) {
        ck_assert_int_eq(csr_derive(t, CSR_SID, ids[2 * t]), 0);
        ck_assert_int_eq(csr_derive(t, CSR_PID, ids[2 * t + 1]), 0);
    }
    qsort(ids, 2 * N_TAGS, sizeof(*ids), cmp_id);
    for (size_t i = 1; i < 2 * N_TAGS; i++)
        ck_assert(memcmp(ids[i - 1], ids[i], EIO_SID_LEN) != 0);
    free(ids);
}
END_TEST

/* A forked worker draws its own key: the same tag names other ids. */
START_TEST(csr_ids_differ_between_processes)
{
    char mine[EIO_SID_LEN + 1], theirs[EIO_SID_LEN + 1] = "";
    int fd[2], st;
    pid_t p;

    ck_assert_int_eq(csr_derive(42, CSR_PID, mine), 0);
    ck_assert_int_eq(pipe(fd), 0);
    if ((p = fork()) == 0) {
        char id[EIO_SID_LEN + 1];
        _exit(csr_derive(42, CSR_PID, id) != 0
            || write(fd[1], id, sizeof(id)) != (ssize_t)sizeof(id));
    }
    ck_assert_int_gt(p, 0);
    ck_assert_int_eq(read(fd[0], theirs, sizeof(theirs)),
        (ssize_t)sizeof(theirs));
    ck_assert_int_eq(waitpid(p, &st, 0), p);
    ck_assert_int_eq(st, 0);
    ck_assert_str_ne(mine, theirs);
    close(fd[0]);
    close(fd[1]);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("csr");
    TCase *tc = tcase_create("ids");

    tcase_add_test(tc, csr_ids_are_well_formed_and_stable);
    tcase_add_test(tc, csr_ids_do_not_repeat);
    tcase_add_test(tc, csr_ids_differ_between_processes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
