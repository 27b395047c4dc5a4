/*
 * Recoverable sessions in Redis (rss.h). The ownership checks of hold,
 * drop and refresh run in Redis (EVAL of one-line scripts), so that a
 * stale message cannot undo a newer owner's write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "common/log.h"
#include "master/rds.h"
#include "master/rss.h"
#include "shm/sess.h"
#include "shm/shm.h"
#include "shm/smsg.h"

#define RSS_KEY_MAX (256 + 8 + SESS_ID_LEN + 1)
#define RSS_OWN_MAX 96

/* KEYS[1] the hash; ARGV[1] the owner; ARGV[2] a ttl (ms) or "" to drop. */
static const char rss_script[] =
    "if redis.call('HGET', KEYS[1], 'own') ~= ARGV[1] then return 0 end\n"
    "if ARGV[2] == '' then return redis.call('DEL', KEYS[1]) end\n"
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2])\n";

static struct {
    int on;
    char prefix[256 + 8];
    struct shm_segment *seg;
    int err_logged;
    int dirty;              /* a write was skipped: resync when up */
    void (*resync)(void);
} S;

struct rss_fetch {
    rss_done_fn done;
    void *arg;
    char pid[SESS_ID_LEN + 1];
};

/* The link is up: write everything again if Redis lost it or we could
 * not write meanwhile. */
static void
rss_up(int restarted)
{
    if (!restarted && !S.dirty)
        return;
    S.dirty = 0;
    if (S.resync)
        S.resync();
}

void
rss_init(const char *stream, struct shm_segment *seg, void (*resync)(void))
{
    S.on = 1;
    S.seg = seg;
    S.resync = resync;
    snprintf(S.prefix, sizeof(S.prefix), "%s:sess:", stream);
    rds_on_up(rss_up);
}

int
rss_enabled(void)
{
    return S.on;
}

static void
rss_key(char *key, const char *pid)
{
    snprintf(key, RSS_KEY_MAX, "%s%s", S.prefix, pid);
}

/* Who owns a session: this master's incarnation, the worker, the tag. */
static void
rss_own(char *own, pid_t owner, uint64_t tag)
{
    snprintf(own, RSS_OWN_MAX, "%s/%ld/%llu", rds_incarnation(),
        (long)owner, (unsigned long long)tag);
}

/* A mirroring write answered: errors are counted, and logged once. */
static void
rss_write_cb(const redisReply *rep, void *priv)
{
    (void)priv;
    if (rep == NULL || rep->type != REDIS_REPLY_ERROR)
        return;
    shm_master_add(S.seg, CTR_recovery_redis_errors, 1);
    if (!S.err_logged++)
        log_msg(LOG_WARNING, "cluster: Redis refused a session write: "
            "%.120s (further ones are only counted)", rep->str);
}

static void
rss_send(int argc, const char **argv, const size_t *lens)
{
    if (rds_command(rss_write_cb, NULL, argc, argv, lens) == -1) {
        shm_master_add(S.seg, CTR_recovery_redis_skipped, 1);
        S.dirty = 1;
    }
}

void
rss_put(const unsigned char *enc, size_t n, const char *pid, pid_t owner,
    uint64_t tag, int64_t ttl_ms)
{
    char key[RSS_KEY_MAX], own[RSS_OWN_MAX], ttl[24];

    if (!S.on)
        return;
    rss_key(key, pid);
    rss_own(own, owner, tag);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
    const char *a1[6] = {"HSET", key, "own", own, "data", (const char *)enc};
    size_t l1[6] = {4, strlen(key), 3, strlen(own), 4, n};
    const char *a2[3] = {"PEXPIRE", key, ttl};
    size_t l2[3] = {7, strlen(key), strlen(ttl)};
    rss_send(6, a1, l1);
    rss_send(3, a2, l2);
}

/* The conditional script: ttl NULL drops. */
static void
rss_if_owner(const char *pid, pid_t owner, uint64_t tag, const char *ttl)
{
    char key[RSS_KEY_MAX], own[RSS_OWN_MAX];

    if (!S.on)
        return;
    rss_key(key, pid);
    rss_own(own, owner, tag);
    const char *argv[6] = {"EVAL", rss_script, "1", key, own,
        ttl ? ttl : ""};
    size_t lens[6] = {4, sizeof(rss_script) - 1, 1, strlen(key),
        strlen(own), ttl ? strlen(ttl) : 0};
    rss_send(6, argv, lens);
}

void
rss_hold(const char *pid, pid_t owner, uint64_t tag, int64_t window_ms)
{
    char ttl[24];

    snprintf(ttl, sizeof(ttl), "%lld", (long long)window_ms);
    rss_if_owner(pid, owner, tag, ttl);
}

void
rss_drop(const char *pid, pid_t owner, uint64_t tag)
{
    rss_if_owner(pid, owner, tag, NULL);
}

/* HMGET own data answered. */
static void
rss_fetch_cb(const redisReply *rep, void *priv)
{
    struct rss_fetch *f = priv;
    static struct sess_rec r;
    const redisReply *own, *data;
    int type, ours = 0;
    const char *inc = rds_incarnation();

    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2
        || (own = rep->element[0])->type != REDIS_REPLY_STRING
        || (data = rep->element[1])->type != REDIS_REPLY_STRING) {
        if (rep && rep->type == REDIS_REPLY_ERROR)
            rss_write_cb(rep, NULL);
        f->done(f->arg, NULL, 0);
        free(f);
        return;
    }
    if (smsg_decode((const unsigned char *)data->str, data->len, &type, &r)
            != SMSG_OK || type != SMSG_PUT || strcmp(r.pid, f->pid) != 0) {
        shm_master_add(S.seg, CTR_recovery_bad_messages, 1);
        f->done(f->arg, NULL, 0);
        free(f);
        return;
    }
    ours = own->len > strlen(inc) && own->str[strlen(inc)] == '/'
        && memcmp(own->str, inc, strlen(inc)) == 0;
    shm_master_add(S.seg, CTR_recovery_redis_fetched, 1);
    f->done(f->arg, &r, ours);
    free(f);
}

void
rss_fetch(const char *pid, rss_done_fn done, void *arg)
{
    struct rss_fetch *f;
    char key[RSS_KEY_MAX];

    if (!S.on || strlen(pid) > SESS_ID_LEN
        || (f = calloc(1, sizeof(*f))) == NULL) {
        done(arg, NULL, 0);
        return;
    }
    f->done = done;
    f->arg = arg;
    memcpy(f->pid, pid, strlen(pid) + 1);
    rss_key(key, pid);
    const char *argv[4] = {"HMGET", key, "own", "data"};
    size_t lens[4] = {5, strlen(key), 3, 4};
    if (rds_command(rss_fetch_cb, f, 4, argv, lens) == -1) {
        shm_master_add(S.seg, CTR_recovery_redis_skipped, 1);
        free(f);
        done(arg, NULL, 0);
    }
}
