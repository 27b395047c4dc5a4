/*
 * This worker's private counters: one array indexed by the counter table
 * of common/counters.h (and one of histogram words, common/hist.h),
 * which every module of worker/ counts into and wrk.c publishes to the worker's shm record. The bottom of worker/: it
 * includes no other worker module, so counting adds no dependency.
 * The module is wctr and not ctr because ctr_ is the prefix of
 * common/counters.h (as eng and skt are not named eio and sio).
 */
#ifndef WSGATE_WORKER_WCTR_H
#define WSGATE_WORKER_WCTR_H

#include <stdint.h>

#include "common/counters.h"
#include "common/hist.h"

/* Private counters of this worker, published to its shm record by wrk.c.
 * Only this process writes them, and only from its loop (no atomics).
 * Defined in wctr.c, zero at start. */
extern uint64_t wctr_val[CTR__COUNT];
#define WCTR_INC(id) (wctr_val[CTR_##id]++)
#define WCTR_ADD(id, n) (wctr_val[CTR_##id] += (uint64_t)(n))
#define WCTR_DEC(id) (wctr_val[CTR_##id]--)

/* Private histogram words of this worker (common/hist.h), published with
 * the counters. WCTR_HIST(id) is histogram id's HIST_NVALS words, for
 * hist_observe. */
extern uint64_t wctr_hist[HIST_WORDS];
#define WCTR_HIST(id) (&wctr_hist[HIST_##id * HIST_NVALS])

#endif
