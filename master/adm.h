/*
 * Admin HTTP server on the master (libevent evhttp): status, stats,
 * metrics, health and readiness, with bearer-key protection.
 */
#ifndef WSGATE_MASTER_ADM_H
#define WSGATE_MASTER_ADM_H

struct event_base;
struct shm_segment;
struct cfg;

/* Serve the admin API on the listening socket fd (borrowed; the caller
 * closes it). Borrows base, seg and c. Returns 0 or -1 (logged). */
int adm_start(struct event_base *base, int fd, struct shm_segment *seg,
    const struct cfg *c);

/* Use c (borrowed) from now on, after a reload. */
void adm_set_cfg(const struct cfg *c);

/* Free the HTTP server. Safe to call when not started. */
void adm_stop(void);

#endif
