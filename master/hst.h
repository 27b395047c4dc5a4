/*
 * The connection history of the master: open connections and deliveries
 * per second, sampled once a second into two bounded rings, the last hour
 * at one second and the last 24 hours at one minute (averages of the
 * minute's samples). Pure data structure: the caller samples on a timer.
 */
#ifndef WSGATE_MASTER_HST_H
#define WSGATE_MASTER_HST_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct hst;

#define HST_SECONDS 3600u /* points of the 1 s ring */
#define HST_MINUTES 1440u /* points of the 1 min ring */

struct hst_point {
    int64_t t;      /* unix seconds (the end of the minute in the 1 min
                     * ring, so it is newer than every second point taken
                     * before the minute closed) */
    uint64_t conns; /* open connections */
    double dps;     /* deliveries per second */
};

/* Empty history. Returns new (hst_free) or NULL. */
struct hst *hst_new(void);

/* Free *h and clear it. Accepts NULL. */
void hst_free(struct hst **h);

/* One sample at now_ms (unix ms): conns open, deliveries the total so far
 * (a counter; the rate is its change since the last sample, 0 for the
 * first one or if it went backwards). A sample in the same second as the
 * last replaces it. Completes a minute point when the minute changes. */
void hst_sample(struct hst *h, int64_t now_ms, uint64_t conns,
    uint64_t deliveries);

/* How many points ring (0: seconds, 1: minutes) holds, and point i of it,
 * oldest first (borrowed; NULL when i is out of range). */
size_t hst_count(const struct hst *h, int ring);
const struct hst_point *hst_at(const struct hst *h, int ring, size_t i);

/* Append the /api/history JSON object to out: both rings, points newer
 * than since_s (unix seconds; 0 for all), oldest first, each point
 * [t, connections, deliveries_per_s]. */
void hst_json(const struct hst *h, int64_t since_s, struct evbuffer *out);

#endif
