/*
 * The dashboard's data (master/dsh.h): owns the event log and the history
 * and the two timers that feed them. Workers never wait on the master:
 * their queues are drained here every DSH_DRAIN_MS, and what did not fit
 * is counted by the worker (events_dropped).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/wait.h>

#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/config.h"
#include "common/counters.h"
#include "common/log.h"
#include "common/wsg.h"
#include "master/dsh.h"
#include "master/evl.h"
#include "master/hst.h"
#include "master/met.h"
#include "shm/shm.h"

#define DSH_DRAIN_MS 100
#define DSH_EVENTS_LIMIT 100    /* default page of /api/events */
#define DSH_EVENTS_MAX 10000    /* largest limit accepted */

static struct {
    struct shm_segment *seg;
    struct evl *log;
    struct hst *hist;
    struct event *drain, *sample;
    uint64_t respawns[SHM_MAX_WORKERS];
} D;

static void dsh_drain_cb(evutil_socket_t fd, short what, void *arg);
static void dsh_sample_cb(evutil_socket_t fd, short what, void *arg);
static int dsh_num(const char *s, uint64_t max, uint64_t *out);

int
dsh_init(struct event_base *base, struct shm_segment *seg,
    const struct cfg *c)
{
    struct timeval drain = {0, DSH_DRAIN_MS * 1000}, sec = {1, 0};

    D.seg = seg;
    D.log = evl_new((size_t)CFG_NUM(c, event_log_size));
    D.hist = hst_new();
    D.drain = event_new(base, -1, EV_PERSIST, dsh_drain_cb, NULL);
    D.sample = event_new(base, -1, EV_PERSIST, dsh_sample_cb, NULL);
    if (D.log == NULL || D.hist == NULL || D.drain == NULL
        || D.sample == NULL || event_add(D.drain, &drain) == -1
        || event_add(D.sample, &sec) == -1) {
        log_msg(LOG_ERR, "cannot start the event log and history");
        dsh_stop();
        return -1;
    }
    return 0;
}

void
dsh_set_cfg(const struct cfg *c)
{
    if (D.log && evl_resize(D.log, (size_t)CFG_NUM(c, event_log_size)) == -1)
        log_msg(LOG_ERR, "event log: out of memory resizing it; kept "
            "its old size");
}

void
dsh_stop(void)
{
    if (D.drain)
        event_free(D.drain);
    if (D.sample)
        event_free(D.sample);
    D.drain = D.sample = NULL;
    evl_free(&D.log);
    hst_free(&D.hist);
}

void
dsh_note(enum evq_kind kind, unsigned code, int slot, int pid,
    const char *fmt, ...)
{
    struct evl_ent e = {0};
    va_list ap;

    if (D.log == NULL)
        return;
    e.ms = wsg_real_ms();
    e.kind = (uint16_t)kind;
    e.code = (uint16_t)code;
    e.slot = slot;
    e.pid = pid;
    va_start(ap, fmt);
    vsnprintf(e.text, sizeof(e.text), fmt, ap);
    va_end(ap);
    evl_add(D.log, &e);
    shm_master_add(D.seg, CTR_events_logged, 1);
}

void
dsh_drain_record(int idx)
{
    struct shm_worker *w = &D.seg->rec[idx];
    struct evq_ev ev;
    struct evl_ent e = {0};
    uint64_t n = 0;

    if (D.log == NULL)
        return;
    e.slot = (int32_t)atomic_load(&w->slot);
    e.pid = atomic_load(&w->pid);
    /* Bounded: at most one ring's worth per call. */
    for (unsigned i = 0; i < EVQ_LEN && evq_pop(&w->evq, &ev); i++) {
        e.ms = ev.ms;
        e.kind = ev.kind;
        e.code = ev.code;
        memcpy(e.peer, ev.peer, sizeof(e.peer));
        snprintf(e.text, sizeof(e.text), "%s", ev.text);
        evl_add(D.log, &e);
        n++;
    }
    if (n)
        shm_master_add(D.seg, CTR_events_logged, n);
}

void
dsh_worker_exit(int idx, int status, int expected)
{
    unsigned slot = atomic_load(&D.seg->rec[idx].slot);
    int pid = atomic_load(&D.seg->rec[idx].pid);

    dsh_drain_record(idx);
    if (WIFSIGNALED(status))
        dsh_note(EVQ_WORKER, 0, (int)slot, pid, "worker w%u killed by "
            "signal %d (%s)", slot, WTERMSIG(status),
            strsignal(WTERMSIG(status)));
    else if (!expected || WEXITSTATUS(status) != 0)
        dsh_note(EVQ_WORKER, (unsigned)WEXITSTATUS(status), (int)slot, pid,
            "worker w%u exited with status %d", slot, WEXITSTATUS(status));
}

void
dsh_respawned(unsigned slot, int rec)
{
    if (slot < SHM_MAX_WORKERS)
        D.respawns[slot]++;
    dsh_note(EVQ_WORKER, 0, (int)slot, rec < 0 ? 0
        : (int)atomic_load(&D.seg->rec[rec].pid), "worker w%u respawned",
        slot);
}

static void
dsh_drain_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    for (unsigned r = 0; r < SHM_NRECORDS; r++)
        if (atomic_load(&D.seg->rec[r].state) != SHM_FREE)
            dsh_drain_record((int)r);
}

static void
dsh_sample_cb(evutil_socket_t fd, short what, void *arg)
{
    uint64_t tot[CTR__COUNT];

    (void)fd;
    (void)what;
    (void)arg;
    shm_totals(D.seg, tot);
    hst_sample(D.hist, wsg_real_ms(), tot[CTR_conn_open],
        tot[CTR_deliveries]);
}

/* Parse the query string: each known key into its value; a value out of
 * shape or bound is a 400 with the endpoint's message bad. keys[i]
 * NULL-terminated; has[i] set when given. */
static int
dsh_query(const char *qs, const char *const *keys, const uint64_t *max,
    uint64_t *vals, int *has, const char *bad, const char **err)
{
    struct evkeyvalq q;
    struct evkeyval *kv;
    int rc = 0;

    TAILQ_INIT(&q);
    if (qs == NULL || *qs == '\0')
        return 0;
    if (evhttp_parse_query_str(qs, &q) == -1) {
        *err = "malformed query string";
        return -1;
    }
    TAILQ_FOREACH(kv, &q, next) {
        for (int i = 0; keys[i]; i++) {
            if (strcmp(kv->key, keys[i]) != 0)
                continue;
            if (dsh_num(kv->value, max[i], &vals[i]) == -1) {
                *err = bad;
                rc = -1;
            }
            has[i] = 1;
        }
    }
    evhttp_clear_headers(&q);
    return rc;
}

int
dsh_events_json(const char *qs, struct evbuffer *out, const char **err)
{
    static const char *const keys[] = {"since", "limit", NULL};
    static const uint64_t max[] = {UINT64_MAX / 2, DSH_EVENTS_MAX};
    uint64_t v[2] = {0, DSH_EVENTS_LIMIT};
    int has[2] = {0, 0};

    if (dsh_query(qs, keys, max, v, has, "since must be a non-negative "
            "integer, limit an integer from 1 to 10000", err) == -1)
        return -1;
    if (v[1] == 0) {
        *err = "limit must be between 1 and 10000";
        return -1;
    }
    evl_json(D.log, has[0], v[0], (size_t)v[1], out);
    return 0;
}

int
dsh_history_json(const char *qs, struct evbuffer *out, const char **err)
{
    static const char *const keys[] = {"since", NULL};
    static const uint64_t max[] = {INT64_MAX / 2};
    uint64_t v[1] = {0};
    int has[1] = {0};

    if (dsh_query(qs, keys, max, v, has, "since must be a non-negative "
            "integer (unix seconds)", err) == -1)
        return -1;
    hst_json(D.hist, (int64_t)v[0], out);
    return 0;
}

void
dsh_workers_json(struct evbuffer *out)
{
    struct shm_snap s;
    int64_t now = wsg_mono_ms();
    int first = 1;
    static const char *const st[] = {"free", "starting", "running",
        "draining"};

    evbuffer_add(out, "{\"ok\":true,\"workers\":[", 22);
    for (unsigned r = 0; r < SHM_NRECORDS; r++) {
        if (atomic_load(&D.seg->rec[r].state) == SHM_FREE)
            continue;
        (void)shm_snapshot(D.seg, (int)r, &s);
        evbuffer_add_printf(out, "%s{\"slot\":%u,\"pid\":%d,\"state\":\"%s\","
            "\"generation\":%u,\"connections\":%llu,\"clients\":%llu,"
            "\"heartbeat_age_ms\":%lld,\"respawns\":%llu,"
            "\"events_dropped\":%llu}", first ? "" : ",", s.slot, s.pid,
            s.state <= SHM_DRAINING ? st[s.state] : "unknown", s.generation,
            (unsigned long long)s.ctr[CTR_conn_open],
            (unsigned long long)s.ctr[CTR_clients],
            (long long)(s.heartbeat_ms ? now - s.heartbeat_ms : -1),
            (unsigned long long)(s.slot < SHM_MAX_WORKERS
                ? D.respawns[s.slot] : 0),
            (unsigned long long)s.ctr[CTR_events_dropped]);
        first = 0;
    }
    evbuffer_add(out, "]}", 2);
}

/* s as a decimal in [0, max]: digits only, no sign, no blank. */
static int
dsh_num(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (s == NULL || *s == '\0' || strlen(s) > 19)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

void
dsh_live_json(struct dsh_cursor *cur, struct evbuffer *out)
{
    uint64_t first = evl_first_seq(D.log), next = evl_next_seq(D.log);
    size_t nh = hst_count(D.hist, 0);

    evbuffer_add(out, "{\"stats\":", 9);
    met_stats_json(D.seg, out);
    evbuffer_add(out, ",\"workers\":", 11);
    dsh_workers_json(out);
    evbuffer_add(out, ",\"history\":", 11);
    hst_json(D.hist, cur->hist_s, out);
    if (nh > 0)
        cur->hist_s = hst_at(D.hist, 0, nh - 1)->t;
    evbuffer_add(out, ",\"events\":", 10);
    if (cur->ev_next == 0) {
        evl_json(D.log, 0, 0, DSH_LIVE_EVENTS, out);
        cur->ev_next = next;
    } else {
        uint64_t from = cur->ev_next < first ? first : cur->ev_next;
        evl_json(D.log, 1, cur->ev_next, DSH_LIVE_EVENTS, out);
        cur->ev_next = next - from > DSH_LIVE_EVENTS
            ? from + DSH_LIVE_EVENTS : next;
    }
    evbuffer_add(out, "}", 1);
}
