/*
 * Node records of a cluster (issue 11 item 5): the JSON text each
 * master stores in Redis about itself every node_record_interval, the
 * Redis key names, and the cluster view that /socket-status and
 * /socket-stats render from the records of every live node. Pure code:
 * the Redis traffic is master/rnod.c's.
 */
#ifndef WSGATE_COMMON_NREC_H
#define WSGATE_COMMON_NREC_H

#include <stddef.h>
#include <stdint.h>

#define NREC_FORMAT 1      /* "v" of the record */
#define NREC_NODE_MAX 128  /* as node_name */
#define NREC_KEY_MAX (200 + 16 + NREC_NODE_MAX + 1)

struct json_t;

enum nrec_status {
    NREC_OK = 0,
    NREC_E_JSON,    /* not a JSON object */
    NREC_E_FORMAT,  /* "v" missing or another format */
    NREC_E_FIELD,   /* a field missing, of the wrong type, or too long */
};

struct nrec {
    char node[NREC_NODE_MAX + 1];
    char inc[17];              /* the master's incarnation, hex */
    char version[32];          /* WSG_VERSION of the writer */
    char status[16];           /* ok, degraded or stopping */
    int64_t pid;               /* the master's */
    int64_t started_ms;        /* unix ms, the writer's clock */
    int64_t heartbeat_ms;      /* unix ms of this write, same clock */
    int64_t interval_ms;       /* node_record_interval */
    int64_t ttl_ms;            /* node_record_ttl */
    uint64_t workers, slots, connections, capacity;
    uint64_t rooms, subscriptions, users;
    /* Counter name -> value (JSON integers). Encode: NULL, or an array
     * of CTR__COUNT values in counters.def order, named from ctr_desc.
     * Decode: a new JSON object owned by the record (nrec_clear). */
    const uint64_t *ctr;
    struct json_t *counters;
};

/* The record as JSON text, NUL-terminated. Returns new (caller frees),
 * or NULL when out of memory. Borrows r. */
char *nrec_encode(const struct nrec *r);

/* Parse a record (len bytes of s, need not be NUL-terminated) into r.
 * Unknown fields are ignored (a newer writer); on NREC_OK r->counters
 * holds a new object (empty if the record had none). On an error r is
 * cleared. */
enum nrec_status nrec_decode(const char *s, size_t len, struct nrec *r);

/* Free what nrec_decode allocated. Accepts a zeroed record. */
void nrec_clear(struct nrec *r);

/* "<stream>:node:<node>" (a record) and "<stream>:nodes" (the index of
 * live nodes, a sorted set scored by heartbeat_ms) into buf (at least
 * NREC_KEY_MAX bytes). Return the length, or -1 if it does not fit. */
int nrec_key(const char *stream, const char *node, char *buf, size_t len);
int nrec_index_key(const char *stream, char *buf, size_t len);

/* One live node as read back from Redis: its record and the age of that
 * record by Redis's clock (ttl_ms minus the key's PTTL), so that the age
 * does not depend on the nodes' clocks agreeing. */
struct nrec_live {
    struct nrec rec;
    int64_t age_ms;
};

/* The ?scope=cluster reply (DESIGN §4, man wsgate(8)): "nodes" (one
 * object per record, in the order given), "totals" (the sums), with
 * counters when with_counters (/socket-stats). self_node/self_inc mark
 * this node; truncated says cluster_max_nodes cut the list; expired is
 * how many index members this read found gone. Returns new JSON text
 * (caller frees), or NULL when out of memory. Borrows every argument. */
char *nrec_view(const struct nrec_live *nodes, size_t n,
    const char *self_node, const char *self_inc, int with_counters,
    int truncated, uint64_t expired);

#endif
