/*
 * Latency histograms: the table generated from hist.def, the fixed bucket
 * bounds, the observation (pure arithmetic on an array of words) and the
 * Prometheus text of one histogram. Pure code: the worker observes into
 * its private words, the shm record carries them, the master sums and
 * renders.
 */
#ifndef WSGATE_COMMON_HIST_H
#define WSGATE_COMMON_HIST_H

#include <stddef.h>
#include <stdint.h>

enum hist_id {
#define HIST(id, help) HIST_##id,
#include "hist.def"
    HIST__COUNT
};

/* Bucket upper bounds (inclusive, Prometheus "le"), in microseconds:
 * 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500 ms, 1, 2.5, 5,
 * 10 s. A histogram's words are HIST_NBUCKETS counts, not cumulative (the
 * last one is +Inf: above 10 s), then the sum of what was observed in
 * microseconds (HIST_SUM). The count is the sum of the buckets. */
#define HIST_NBOUNDS 16
#define HIST_NBUCKETS (HIST_NBOUNDS + 1)
#define HIST_SUM HIST_NBUCKETS
#define HIST_NVALS (HIST_NBUCKETS + 1)
/* Words of every histogram, histogram h at [h * HIST_NVALS]. */
#define HIST_WORDS (HIST__COUNT * HIST_NVALS)

extern const uint64_t hist_bounds_us[HIST_NBOUNDS];

struct hist_desc {
    const char *name; /* without wsgate_ and _seconds */
    const char *help;
};

extern const struct hist_desc hist_desc[HIST__COUNT];

/* Index of the bucket of an observation of us microseconds: the first
 * bound >= us, or HIST_NBOUNDS (+Inf). */
unsigned hist_bucket(uint64_t us);

/* Add n observations of us microseconds each to the HIST_NVALS words at
 * v. A negative us (the wall clock stepped back between the append and
 * the reading) counts as 0. */
void hist_observe(uint64_t *v, int64_t us, uint64_t n);

/* Observations in the HIST_NVALS words at v (the sum of the buckets). */
uint64_t hist_count(const uint64_t *v);

/* Largest text hist_format_prom writes (help text included). */
#define HIST_PROM_MAX 4096

/* Write histogram h with values v (HIST_NVALS words) as Prometheus text
 * exposition into buf (cap bytes, NUL-terminated): HELP, TYPE histogram,
 * cumulative _bucket lines with le in increasing order ending with +Inf,
 * _sum in seconds and _count. Returns the length snprintf would have
 * written (truncated when >= cap). */
int hist_format_prom(enum hist_id h, const uint64_t *v, char *buf,
    size_t cap);

#endif
