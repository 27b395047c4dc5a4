/*
 * The cluster follower's side of each stream entry (master/rds.c reads
 * them with XREAD): checks it is a wsgate entry, appends it to the local
 * message log unless it is a duplicate (master/rdd.c), notes its cluster
 * offset (shm/gmap.h, with a gap where entries were missed), and tells
 * the link when one of this master's own entries came back. Keeps the
 * stream position and the highest epoch read.
 */
#ifndef WSGATE_MASTER_RDF_H
#define WSGATE_MASTER_RDF_H

#include <stdint.h>

#include "common/rent.h"

struct mlog;
struct redisReply;
struct shm_segment;

/* Append to log, count in seg; node and inc name this master's own
 * entries, own(oseq, seq) is called when one is appended. Borrows all. */
void rdf_init(struct mlog *log, struct shm_segment *seg, const char *node,
    const char *inc, void (*own)(uint64_t oseq, uint64_t seq));

/* One entry of an XREAD reply (its id and field list): 1 when it was
 * appended; 0 when skipped (a duplicate, or not a wsgate entry: counted
 * in redis_bad_entries, the first logged). Moves the position to id. */
int rdf_take(const struct redisReply *id, const struct redisReply *fields);

/* Count (and log the first) stream entry id that is not a wsgate entry. */
void rdf_bad(const char *id, const char *why);

/* The last id read, and setting it (after a restart or a trim: gap 1
 * when entries before the next one were lost to this node). */
struct rent_id rdf_pos(void);
void rdf_set_pos(struct rent_id pos, int gap);

/* The highest epoch read (the floor for the next EVAL, rent.h). */
uint64_t rdf_epoch(void);

#endif
