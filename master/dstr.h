/*
 * /api/stream on the admin port: the dashboard's live feed as
 * server-sent events. One update a second to every open stream (the
 * stats, the workers, and the history points and events each reader has
 * not had yet: dsh_live_json), at most admin_max_streams streams at once,
 * each cut when its reader falls admin_stream_buffer bytes behind. The
 * page reads it with fetch() (EventSource cannot send the Authorization
 * header), so the key never goes into a URL.
 */
#ifndef WSGATE_MASTER_DSTR_H
#define WSGATE_MASTER_DSTR_H

struct cfg;
struct event_base;
struct evhttp_request;
struct shm_segment;

/* Start the one-second timer. Borrows base, seg and c. Returns 0 or -1
 * (logged). */
int dstr_init(struct event_base *base, struct shm_segment *seg,
    const struct cfg *c);

/* Use c (borrowed) after a reload: new bounds for new streams and for
 * the next updates. */
void dstr_set_cfg(const struct cfg *c);

/* Answer an authorized GET /api/stream: start the stream and send its
 * first update now, or 503 TOO_MANY_STREAMS at admin_max_streams. */
void dstr_open(struct evhttp_request *req);

/* End every stream and stop the timer. Safe when not started. */
void dstr_stop(void);

#endif
