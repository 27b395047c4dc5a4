/*
 * Renders shared-memory state for the admin port: /socket-status,
 * /socket-stats JSON and Prometheus text. Each format is one loop over
 * ctr_desc (varnishstat-style), then one over hist_desc for the latency
 * histograms; nothing here names a counter or a histogram by hand.
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "common/counters.h"
#include "common/hist.h"
#include "common/wsg.h"
#include "master/met.h"
#include "shm/shm.h"

#define MET_TOP_ROOMS 10

static const char *const met_state_names[] = {
    [SHM_FREE] = "free",
    [SHM_STARTING] = "starting",
    [SHM_RUNNING] = "running",
    [SHM_DRAINING] = "draining",
};

static const char *
met_state(unsigned st)
{
    return st <= SHM_DRAINING ? met_state_names[st] : "unknown";
}

void
met_status_json(const struct shm_segment *seg, int64_t hb_timeout_ms,
    struct evbuffer *out)
{
    struct shm_status st;
    char buf[256];
    int n;

    shm_status(seg, hb_timeout_ms, &st);
    n = shm_status_format(&st, buf, sizeof(buf));
    evbuffer_add(out, buf, (size_t)n < sizeof(buf) ? (size_t)n
        : sizeof(buf) - 1);
}

static void
met_counters_json(struct evbuffer *out, const uint64_t *v, int worker_only)
{
    int first = 1;

    evbuffer_add(out, "{", 1);
    for (int i = 0; i < CTR__COUNT; i++) {
        if (worker_only && ctr_desc[i].scope != CTR_S_WORKER)
            continue;
        evbuffer_add_printf(out, "%s\"%s\":%llu", first ? "" : ",",
            ctr_desc[i].name, (unsigned long long)v[i]);
        first = 0;
    }
    evbuffer_add(out, "}", 1);
}

/* "rooms": counts and the top rooms summed over workers. Room names are
 * printable (validated on subscribe) but may hold quotes: escaped here. */
static void
met_rooms_json(const struct shm_segment *seg, const uint64_t *tot,
    struct evbuffer *out)
{
    struct shm_room top[MET_TOP_ROOMS];
    size_t n = shm_top_rooms(seg, top, MET_TOP_ROOMS);

    evbuffer_add_printf(out, ",\"rooms\":{\"count\":%llu,"
        "\"subscriptions\":%llu,\"users\":%llu,\"clients\":%llu,\"top\":[",
        (unsigned long long)tot[CTR_rooms],
        (unsigned long long)tot[CTR_subscriptions],
        (unsigned long long)tot[CTR_users],
        (unsigned long long)tot[CTR_clients]);
    for (size_t i = 0; i < n; i++) {
        evbuffer_add_printf(out, "%s{\"room\":\"", i ? "," : "");
        for (const char *p = top[i].name; *p; p++) {
            if (*p == '"' || *p == '\\')
                evbuffer_add(out, "\\", 1);
            evbuffer_add(out, p, 1);
        }
        evbuffer_add_printf(out, "\",\"members\":%llu}",
            (unsigned long long)top[i].members);
    }
    evbuffer_add(out, "]}", 2);
}

/* "histograms": each one summed over workers (retired included), with
 * cumulative bucket counts in the order of "le_us". */
static void
met_hist_json(const struct shm_segment *seg, struct evbuffer *out)
{
    uint64_t tot[HIST_WORDS];

    shm_hist_totals(seg, tot);
    evbuffer_add(out, ",\"histograms\":{", 15);
    for (int h = 0; h < HIST__COUNT; h++) {
        const uint64_t *v = &tot[h * HIST_NVALS];
        uint64_t cum = 0;
        evbuffer_add_printf(out, "%s\"%s\":{\"count\":%llu,\"sum_us\":%llu,"
            "\"le_us\":[", h ? "," : "", hist_desc[h].name,
            (unsigned long long)hist_count(v),
            (unsigned long long)v[HIST_SUM]);
        for (int i = 0; i < HIST_NBOUNDS; i++)
            evbuffer_add_printf(out, "%s%llu", i ? "," : "",
                (unsigned long long)hist_bounds_us[i]);
        evbuffer_add(out, "],\"buckets\":[", 13);
        for (int i = 0; i < HIST_NBUCKETS; i++) {
            cum += v[i];
            evbuffer_add_printf(out, "%s%llu", i ? "," : "",
                (unsigned long long)cum);
        }
        evbuffer_add(out, "]}", 2);
    }
    evbuffer_add(out, "}", 1);
}

void
met_stats_json(const struct shm_segment *seg, struct evbuffer *out)
{
    uint64_t tot[CTR__COUNT];
    struct shm_snap s;
    int64_t now = wsg_mono_ms();
    int first = 1;

    evbuffer_add_printf(out, "{\"ok\":true,\"uptime_s\":%lld,"
        "\"generation\":%u,\"slots\":%u,\"workers\":[",
        (long long)((wsg_real_ms() - seg->hdr.start_ms) / 1000),
        atomic_load(&seg->hdr.generation), atomic_load(&seg->hdr.nslots));
    for (unsigned r = 0; r < SHM_NRECORDS; r++) {
        if (atomic_load(&seg->rec[r].state) == SHM_FREE)
            continue;
        int consistent = shm_snapshot(seg, (int)r, &s) == 0;
        evbuffer_add_printf(out, "%s{\"slot\":%u,\"pid\":%d,"
            "\"generation\":%u,\"state\":\"%s\",\"started_ms\":%lld,"
            "\"heartbeat_age_ms\":%lld,\"consistent\":%s,\"counters\":",
            first ? "" : ",", s.slot, s.pid, s.generation, met_state(s.state),
            (long long)s.start_ms,
            (long long)(s.heartbeat_ms ? now - s.heartbeat_ms : -1),
            consistent ? "true" : "false");
        met_counters_json(out, s.ctr, 1);
        evbuffer_add(out, "}", 1);
        first = 0;
    }
    shm_totals(seg, tot);
    evbuffer_add_printf(out, "],\"retired\":");
    uint64_t ret[CTR__COUNT];
    for (int i = 0; i < CTR__COUNT; i++)
        ret[i] = atomic_load(&seg->hdr.retired[i]);
    met_counters_json(out, ret, 1);
    evbuffer_add_printf(out, ",\"totals\":");
    met_counters_json(out, tot, 0);
    met_rooms_json(seg, tot, out);
    met_hist_json(seg, out);
    evbuffer_add(out, "}", 1);
}

/* The histograms of hist.def, summed over workers and retired totals. */
static void
met_hist_prometheus(const struct shm_segment *seg, struct evbuffer *out)
{
    uint64_t tot[HIST_WORDS];
    char buf[HIST_PROM_MAX];

    shm_hist_totals(seg, tot);
    for (int h = 0; h < HIST__COUNT; h++) {
        int n = hist_format_prom(h, &tot[h * HIST_NVALS], buf, sizeof(buf));
        if (n > 0 && (size_t)n < sizeof(buf))
            evbuffer_add(out, buf, (size_t)n);
    }
}

void
met_prometheus(const struct shm_segment *seg, int64_t hb_timeout_ms,
    struct evbuffer *out)
{
    uint64_t tot[CTR__COUNT];
    struct shm_status st;
    struct shm_snap s;
    int64_t now = wsg_mono_ms();

    shm_totals(seg, tot);
    for (int i = 0; i < CTR__COUNT; i++) {
        const struct ctr_desc *d = &ctr_desc[i];
        const char *total = d->kind == CTR_COUNTER ? "_total" : "";
        const char *suf = ctr_unit_suffix(d->unit);
        evbuffer_add_printf(out, "# HELP wsgate_%s%s%s %s.\n"
            "# TYPE wsgate_%s%s%s %s\nwsgate_%s%s%s %llu\n",
            d->name, suf, total, d->help, d->name, suf, total,
            d->kind == CTR_COUNTER ? "counter" : "gauge", d->name, suf, total,
            (unsigned long long)tot[i]);
    }
    met_hist_prometheus(seg, out);
    shm_status(seg, hb_timeout_ms, &st);
    evbuffer_add_printf(out,
        "# HELP wsgate_up 1 when every worker slot is live and heartbeating.\n"
        "# TYPE wsgate_up gauge\nwsgate_up %d\n"
        "# HELP wsgate_uptime_seconds Seconds since the master started.\n"
        "# TYPE wsgate_uptime_seconds gauge\nwsgate_uptime_seconds %lld\n"
        "# HELP wsgate_worker_slots Worker slots configured.\n"
        "# TYPE wsgate_worker_slots gauge\nwsgate_worker_slots %u\n"
        "# HELP wsgate_connection_capacity Connections all workers may "
        "hold.\n# TYPE wsgate_connection_capacity gauge\n"
        "wsgate_connection_capacity %llu\n",
        st.ready, (long long)st.uptime_s, st.slots,
        (unsigned long long)st.capacity);
    evbuffer_add_printf(out, "# HELP wsgate_worker_heartbeat_age_seconds "
        "Age of each worker's last heartbeat.\n"
        "# TYPE wsgate_worker_heartbeat_age_seconds gauge\n");
    for (unsigned r = 0; r < SHM_NRECORDS; r++) {
        if (atomic_load(&seg->rec[r].state) == SHM_FREE)
            continue;
        (void)shm_snapshot(seg, (int)r, &s);
        if (s.heartbeat_ms == 0)
            continue;
        evbuffer_add_printf(out, "wsgate_worker_heartbeat_age_seconds"
            "{slot=\"%u\",pid=\"%d\",state=\"%s\"} %.3f\n", s.slot, s.pid,
            met_state(s.state), (double)(now - s.heartbeat_ms) / 1000.0);
    }
}
