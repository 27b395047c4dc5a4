/*
 * Latency histograms (hist.h): the table of hist.def, bucket selection,
 * observation and the Prometheus text of one histogram. Where the words
 * live (the worker's private array, its shm record, the retired totals)
 * is the callers' business.
 */
#include <stdio.h>

#include "hist.h"

const uint64_t hist_bounds_us[HIST_NBOUNDS] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
    500000, 1000000, 2500000, 5000000, 10000000,
};

/* The same bounds in seconds as Prometheus "le" labels, so the text is
 * exact, not a float printed with a format. */
static const char *const hist_le[HIST_NBOUNDS] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
    "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
};

const struct hist_desc hist_desc[HIST__COUNT] = {
#define HIST(id, help) [HIST_##id] = {#id, help},
#include "hist.def"
};

unsigned
hist_bucket(uint64_t us)
{
    unsigned lo = 0, hi = HIST_NBOUNDS;

    /* The first bound >= us: a binary search, 4 or 5 steps. */
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (hist_bounds_us[mid] < us)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void
hist_observe(uint64_t *v, int64_t us, uint64_t n)
{
    uint64_t u = us < 0 ? 0 : (uint64_t)us;

    v[hist_bucket(u)] += n;
    v[HIST_SUM] += u * n;
}

uint64_t
hist_count(const uint64_t *v)
{
    uint64_t c = 0;

    for (unsigned i = 0; i < HIST_NBUCKETS; i++)
        c += v[i];
    return c;
}

int
hist_format_prom(enum hist_id h, const uint64_t *v, char *buf, size_t cap)
{
    const char *name = hist_desc[h].name;
    uint64_t cum = 0;
    size_t len = 0;
    int n;

#define HIST_PUT(...)                                                          \
    do {                                                                       \
        n = snprintf(buf + (len < cap ? len : cap),                            \
            len < cap ? cap - len : 0, __VA_ARGS__);                           \
        if (n < 0)                                                             \
            return -1;                                                         \
        len += (size_t)n;                                                      \
    } while (0)
    if (cap > 0)
        buf[0] = '\0';
    HIST_PUT("# HELP wsgate_%s_seconds %s.\n"
        "# TYPE wsgate_%s_seconds histogram\n", name, hist_desc[h].help,
        name);
    for (unsigned i = 0; i < HIST_NBOUNDS; i++) {
        cum += v[i];
        HIST_PUT("wsgate_%s_seconds_bucket{le=\"%s\"} %llu\n", name,
            hist_le[i], (unsigned long long)cum);
    }
    cum += v[HIST_NBOUNDS];
    HIST_PUT("wsgate_%s_seconds_bucket{le=\"+Inf\"} %llu\n"
        "wsgate_%s_seconds_sum %llu.%06llu\n"
        "wsgate_%s_seconds_count %llu\n", name, (unsigned long long)cum,
        name, (unsigned long long)(v[HIST_SUM] / 1000000),
        (unsigned long long)(v[HIST_SUM] % 1000000), name,
        (unsigned long long)cum);
#undef HIST_PUT
    return (int)len;
}
