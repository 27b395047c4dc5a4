/*
 * Cluster-wide status and stats (issue 11 item 5): with redis_url set,
 * the master writes this node's record (common/nrec.h) to Redis every
 * node_record_interval with a TTL of node_record_ttl, so that a node
 * that dies disappears by itself, and answers ?scope=cluster on
 * /socket-status and /socket-stats from the records of every live node.
 */
#ifndef WSGATE_MASTER_RNOD_H
#define WSGATE_MASTER_RNOD_H

struct cfg;
struct event_base;
struct evhttp_request;
struct shm_segment;

/* Start writing records when rds_enabled() (otherwise do nothing).
 * Borrows base, seg and c (c until rnod_set_cfg). Returns 0, or -1 if
 * the timer cannot be made. Call after rds_init. */
int rnod_init(struct event_base *base, struct shm_segment *seg,
    const struct cfg *c);

/* Take the reloadable keys of c (node_record_interval, node_record_ttl,
 * cluster_max_nodes, cluster_max_queries). Borrows c. */
void rnod_set_cfg(const struct cfg *c);

/* Answer req with the cluster view: stats 0 for /socket-status, 1 for
 * /socket-stats (counters per node and summed). Replies at once with
 * 400 NOT_A_CLUSTER (no redis_url), 503 REDIS_UNAVAILABLE (link down),
 * 503 BUSY (cluster_max_queries waiting); otherwise once Redis answered,
 * or 503 REDIS_TIMEOUT after redis_command_timeout. Takes req (it is
 * answered exactly once, unless its client goes away first). */
void rnod_query(struct evhttp_request *req, int stats);

typedef void (*rnod_done_fn)(void);

/* Graceful stop, once the workers are gone: stop writing and delete this
 * node's record and index entry (if the record is still this master's),
 * so that it leaves the cluster view at once. done is called exactly
 * once: when Redis answered, at once when there is no link, or after
 * redis_command_timeout. */
void rnod_leave(rnod_done_fn done);

/* Stop writing records and drop the requests still waiting, unanswered
 * (call before adm_stop, which closes their connections, and before
 * rds_stop, whose NULL replies free them). */
void rnod_stop(void);

#endif
