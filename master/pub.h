/*
 * The publish and control API on the admin port: POST /api/publish,
 * POST /socket/disconnect-user, POST /socket/broadcast. Requests are
 * validated once here, encoded (common/msg.h) and appended to the shared
 * message log, from which every worker fans them out.
 */
#ifndef WSGATE_MASTER_PUB_H
#define WSGATE_MASTER_PUB_H

#include <stddef.h>
#include <stdint.h>

struct cfg;
struct evhttp_request;
struct json_t;
struct mlog;
struct shm_segment;
struct event_base;

/* Wake every worker after appends (sup.c). */
typedef void (*pub_wake_fn)(void);

/* Borrow base, log, seg and c. 0 or -1. */
int pub_init(struct event_base *base, struct mlog *log,
    struct shm_segment *seg, const struct cfg *c, pub_wake_fn wake);

void pub_set_cfg(const struct cfg *c);

/* Cluster mode (master/rds.c calls it): own entries came back from the
 * stream, or the link changed; answer the requests that waited. */
void pub_cluster_progress(void);

/* Handlers; the caller has authorised the request. */
void pub_publish(struct evhttp_request *req);
void pub_disconnect_user(struct evhttp_request *req);
void pub_broadcast(struct evhttp_request *req);

/* Validate one publish object and encode it into out[0..cap). Returns the
 * encoded length, or 0 with *code and *msg set (static strings) for a 400
 * reply. Exposed for unit tests. */
size_t pub_encode_one(const struct json_t *o, unsigned char *out, size_t cap,
    const char **code, const char **msg);

#endif
