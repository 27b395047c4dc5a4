/*
 * The cluster follower's entries (rdf.h): each one read from the stream is
 * checked, appended to the local log once (master/rdd.c) with its cluster
 * offset noted (shm/gmap.h), and an own entry reported back.
 */
#include <string.h>

#include <hiredis/hiredis.h>

#include "common/log.h"
#include "common/msg.h"
#include "common/rent.h"
#include "common/wsg.h"
#include "master/rdd.h"
#include "master/rdf.h"
#include "shm/gmap.h"
#include "shm/mlog.h"
#include "shm/shm.h"

#define RDF_MAX_FIELDS 64

static struct {
    struct mlog *log;
    struct shm_segment *seg;
    const char *node, *inc;
    void (*own)(uint64_t oseq, uint64_t seq);
    struct rent_id pos;   /* last id read */
    uint64_t epoch;       /* highest epoch read (rent.h) */
    int gap_next;         /* entries before the next one were missed */
    int bad_logged;
} F;

void
rdf_init(struct mlog *log, struct shm_segment *seg, const char *node,
    const char *inc, void (*own)(uint64_t oseq, uint64_t seq))
{
    F.log = log;
    F.seg = seg;
    F.node = node;
    F.inc = inc;
    F.own = own;
}

struct rent_id
rdf_pos(void)
{
    return F.pos;
}

void
rdf_set_pos(struct rent_id pos, int gap)
{
    F.pos = pos;
    if (gap)
        F.gap_next = 1;
}

uint64_t
rdf_epoch(void)
{
    return F.epoch;
}

void
rdf_bad(const char *id, const char *why)
{
    shm_master_add(F.seg, CTR_redis_bad_entries, 1);
    if (!F.bad_logged)
        log_msg(LOG_WARNING, "cluster: stream entry %s is not a wsgate entry "
            "(%s): skipped; further ones are only counted "
            "(redis_bad_entries)", id, why);
    F.bad_logged = 1;
}

int
rdf_take(const redisReply *id, const redisReply *fields)
{
    static struct msg_view v;
    struct rent_str f[RDF_MAX_FIELDS];
    struct rent e;
    struct rent_id rid;
    char ids[RENT_ID_MAX];
    uint64_t missed;
    int gap = 0;

    if (id->type != REDIS_REPLY_STRING
        || rent_id_parse(id->str, id->len, &rid) != RENT_OK) {
        rdf_bad("?", "bad entry id");
        return 0;
    }
    F.pos = rid;
    rent_id_format(rid, ids);
    shm_master_add(F.seg, CTR_redis_read, 1);
    if (fields->type != REDIS_REPLY_ARRAY
        || fields->elements > RDF_MAX_FIELDS) {
        rdf_bad(ids, "not a short field list");
        return 0;
    }
    for (size_t i = 0; i < fields->elements; i++) {
        const redisReply *s = fields->element[i];
        if (s->type != REDIS_REPLY_STRING) {
            rdf_bad(ids, "a field is not a string");
            return 0;
        }
        f[i] = (struct rent_str){s->str, s->len};
    }
    if (rent_parse(f, fields->elements, &e) != RENT_OK) {
        rdf_bad(ids, "fields origin, inc, oseq, kind, data missing or bad");
        return 0;
    }
    if (e.len > mlog_max_len(F.log)
        || msg_decode(e.data, e.len, &v) != MSG_OK) {
        rdf_bad(ids, "data is not a message-log entry that fits the log");
        return 0;
    }
    if (rdd_take(e.origin, e.inc, e.oseq, wsg_mono_ms(), &missed)) {
        shm_master_add(F.seg, CTR_redis_duplicates, 1);
        return 0;
    }
    if (missed) {
        gap = 1;
        shm_master_add(F.seg, CTR_redis_gaps, missed);
        log_msg(LOG_WARNING, "cluster: %llu entries of %.*s were never read "
            "from the stream (oseq %llu to %llu: trimmed, or lost by Redis)",
            (unsigned long long)missed, (int)e.origin.n, e.origin.p,
            (unsigned long long)(e.oseq - missed),
            (unsigned long long)e.oseq - 1);
    }
    if (e.epoch > F.epoch)
        F.epoch = e.epoch;
    uint64_t seq = mlog_append(F.log, (uint16_t)e.kind, e.data,
        (uint32_t)e.len, wsg_real_us());
    gmap_note(shm_gmap(F.seg), seq, rent_offset(e.epoch, e.gn), F.gap_next
        || gap);
    F.gap_next = 0;
    shm_master_add(F.seg, CTR_redis_appended, 1);
    if (e.origin.n == strlen(F.node) && e.inc.n == strlen(F.inc)
        && memcmp(e.origin.p, F.node, e.origin.n) == 0
        && memcmp(e.inc.p, F.inc, e.inc.n) == 0)
        F.own(e.oseq, seq);
    return 1;
}
