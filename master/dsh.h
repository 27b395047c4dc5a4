/*
 * The dashboard's data on the master: the event log (master/evl.h), fed
 * by draining every worker's event queue (shm/evq.h) on a timer and by
 * the master's own events; the connection history (master/hst.h),
 * sampled once a second; respawns per worker slot; and the page itself
 * (master/dashboard.html, compiled in). Renders /api/events,
 * /api/history and /api/workers, and the updates of /api/stream; adm.c
 * and dstr.c own the HTTP side.
 */
#ifndef WSGATE_MASTER_DSH_H
#define WSGATE_MASTER_DSH_H

#include <stddef.h>
#include <stdint.h>

#include "shm/evq.h"

struct cfg;
struct evbuffer;
struct event_base;
struct shm_segment;

/* The page: master/dashboard.html, turned into this array at build time
 * (the Makefile's gen rule). */
extern const unsigned char dsh_page_html[];
extern const size_t dsh_page_html_len;

/* Start the timers (drain every 100 ms, sample every second). Borrows
 * base, seg and c. Returns 0 or -1 (logged). */
int dsh_init(struct event_base *base, struct shm_segment *seg,
    const struct cfg *c);

/* Use c (borrowed) after a reload: the event log takes its new
 * event_log_size, keeping its newest entries. */
void dsh_set_cfg(const struct cfg *c);

/* Stop the timers and free everything. Safe when not started. */
void dsh_stop(void);

/* A master event: kind, code (0 if none), worker slot (-1: the master)
 * and pid, and a printf-style text (truncated to EVL_TEXT). No-op before
 * dsh_init. */
void dsh_note(enum evq_kind kind, unsigned code, int slot, int pid,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Drain the event queue of worker record idx now (before the master
 * releases a dead worker's record). */
void dsh_drain_record(int idx);

/* Worker record idx's process ended with wait status (its record not yet
 * released): drain its queue, and note the death unless it was an
 * expected clean exit. */
void dsh_worker_exit(int idx, int status, int expected);

/* Worker slot was respawned into record rec (-1 if the spawn failed):
 * counted per slot for the dashboard, and noted. */
void dsh_respawned(unsigned slot, int rec);

/* /api/events and /api/history for the query string qs (borrowed, may be
 * NULL): append the JSON object to out and return 0, or return -1 with a
 * static message in *err for a 400 BAD_PARAM. */
int dsh_events_json(const char *qs, struct evbuffer *out, const char **err);
int dsh_history_json(const char *qs, struct evbuffer *out, const char **err);

/* /api/workers: one row per live worker record (slot, pid, state,
 * connections, heartbeat age, respawns of its slot). */
void dsh_workers_json(struct evbuffer *out);

/* Where a live reader (/api/stream, master/dstr.h) is: the next event it
 * has not had (0: none had yet) and the newest history second it has. */
struct dsh_cursor {
    uint64_t ev_next;
    int64_t hist_s;
};

/* One live update for cur: {"stats": the /socket-stats object,
 * "workers", "history", "events": the /api/workers, /api/history and
 * /api/events objects with only what cur has not had (at most
 * DSH_LIVE_EVENTS events; the newest of them on the first update)},
 * appended to out; cur moves past it. */
#define DSH_LIVE_EVENTS 1000
void dsh_live_json(struct dsh_cursor *cur, struct evbuffer *out);

#endif
