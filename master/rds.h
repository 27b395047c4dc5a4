/*
 * The master's link to Redis (redis_url set): own publishes and control
 * entries go to one Redis stream, and every entry of that stream, this
 * node's included, is appended to the local message log in stream order,
 * once. Only the master talks to Redis; workers keep reading the log.
 * doc/design-cluster.md says what is guaranteed and what is not.
 */
#ifndef WSGATE_MASTER_RDS_H
#define WSGATE_MASTER_RDS_H

#include <stddef.h>
#include <stdint.h>

struct cfg;
struct event_base;
struct mlog;
struct shm_segment;

/* After the follower appended entries to the log: wake the workers. */
typedef void (*rds_wake_fn)(void);
/* After own entries came back from the stream (or were given up on):
 * the publish API answers what waited for them. */
typedef void (*rds_progress_fn)(void);

enum rds_status {
    RDS_OK = 0,
    RDS_E_DOWN, /* Redis is down and redis_unavailable = refuse */
    RDS_E_FULL, /* redis_queue_size would be exceeded */
};

/* Set up the link when c has a redis_url (otherwise do nothing: the node
 * runs alone) and start connecting. Borrows every argument for the
 * master's life (c until rds_set_cfg). Returns 0, or -1 if the event
 * loop's objects cannot be made. */
int rds_init(struct event_base *base, struct mlog *log,
    struct shm_segment *seg, const struct cfg *c, rds_wake_fn wake,
    rds_progress_fn progress);

/* Take the reloadable keys of c (timeouts, redis_unavailable,
 * redis_queue_size, redis_stream_length). Borrows c. */
void rds_set_cfg(const struct cfg *c);

/* 1 when redis_url was set at start. */
int rds_enabled(void);

/* 1 while the link is up (handshake done, commands flowing). */
int rds_up(void);

/* Accept n entries (message-log payloads back to back in buf, lengths in
 * lens, each within mlog_max_len) for the stream, all or none, in order.
 * On RDS_OK *first is the oseq of the first; the others follow it. Copies
 * the payloads. Never blocks. */
enum rds_status rds_submit(const unsigned char *buf, const size_t *lens,
    size_t n, uint64_t *first);

/* The local log seq of own entry oseq once it came back from the stream
 * and was appended; 0 while it has not (or when it was lost from the
 * stream, or is no longer remembered). */
uint64_t rds_local_seq(uint64_t oseq);

struct redisAsyncContext;
struct redisReply;

/* The reply to an rds_command: rep is borrowed for the call; NULL when
 * the link dropped before the reply came. */
typedef void (*rds_reply_fn)(const struct redisReply *rep, void *priv);

/* Send one command (binary-safe argv) on the link's command connection,
 * in order with the XADDs; it counts against redis_command_timeout like
 * them. fn gets the reply (or NULL, see rds_reply_fn) exactly once.
 * -1 when the link is not up (fn is not called). */
int rds_command(rds_reply_fn fn, void *priv, int argc, const char **argv,
    const size_t *lens);

/* A new connection to redis_url on the master's event base, for a module
 * that needs its own (a subscriber): AUTH and SELECT per the URL are
 * queued, and if Redis refuses them the connection is closed (the
 * caller's hiredis disconnect callback then runs with the reason in
 * ac->errstr). The caller sets its connect and disconnect callbacks and
 * owns the context. NULL if it cannot be made. */
struct redisAsyncContext *rds_open_extra(void);

/* fn(restarted) runs each time the link comes up, restarted 1 when Redis
 * came back with another run_id (what it held is gone). One hook. */
void rds_on_up(void (*fn)(int restarted));

/* This node's name (node_name) and this master's incarnation (16 hex
 * digits, random at start); "" when the link is not enabled. */
const char *rds_node(void);
const char *rds_incarnation(void);

/* Close the link and free everything (at master exit). Logs how many
 * accepted entries never reached Redis. */
void rds_stop(void);

#endif
