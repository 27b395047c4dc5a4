/*
 * Rendering of the shared-memory counters: /socket-status and
 * /socket-stats JSON and the Prometheus text exposition. One loop over
 * ctr_desc per format; the readers copy out of shm with seqlock checks.
 */
#ifndef WSGATE_MASTER_MET_H
#define WSGATE_MASTER_MET_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct shm_segment;

/* Append the /socket-status JSON object to out (borrowed). */
void met_status_json(const struct shm_segment *seg, int64_t hb_timeout_ms,
    struct evbuffer *out);

/* Append the /socket-stats JSON object to out. */
void met_stats_json(const struct shm_segment *seg, struct evbuffer *out);

/* Append the Prometheus text exposition (format 0.0.4) to out. */
void met_prometheus(const struct shm_segment *seg, int64_t hb_timeout_ms,
    struct evbuffer *out);

#endif
