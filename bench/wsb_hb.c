/*
 * wsbench heartbeat scenario (--scenario heartbeat, --silent M; Socket.IO
 * only). Subscriber side: one record per session (the Engine.IO open, every
 * ping's arrival, WebSocket pings, and when and how the server ended it),
 * sent to the parent after the result. Parent side: collects the records,
 * checks them against the ping_interval and ping_timeout the server
 * announced in its open packets and the documented tick (10 % of the
 * smaller, capped at 1 s: worker/hbt.c), and reports. Sessions
 * lo + i with wsb_hb_is_silent never answer an Engine.IO ping; the others
 * answer each one at once (wsb_sub.c). Arrival times are the kernel's
 * receive times (SO_TIMESTAMPNS) where it gives them, so a busy client
 * loop does not shift them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "wsb.h"

#define HB_MAX_LOGGED 100000   /* ping times kept per session for --hb-log */
#define HB_TICK_CAP_MS 1000
#define HB_EARLY_GAP_TOL_MS 2  /* ms truncation in the server, loopback */
#define HB_EARLY_CLOSE_TOL_MS 5

struct hbc {
    struct wsb_hb_rec r;
    uint64_t *t;               /* ping times, --hb-log only */
    uint32_t cap;
};

/* Subscriber process. */
static struct {
    const struct wsb_opts *o;
    unsigned lo, n;
    struct hbc *c;
    struct wsb_hb_head h;
    int64_t tick_ms;
    int64_t rt_off;            /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
} H;

/* Parent. */
static struct {
    struct wsb_hb_rec *r;
    size_t n, cap;
    struct wsb_hb_head h;      /* merged; h.n unused */
    int have_cfg;
    /* results of wsb_hb_json, for wsb_hb_summary */
    unsigned conns, members, answering, silent, ans_closed;
    unsigned ans_how[WSB_HB__COUNT];
    uint64_t ans_pings, ans_pings_min, ans_pings_max, early;
    uint64_t gap_min, gap_max, first_min, first_max, ws_pings_ans,
        ws_pings_sil;
    unsigned sil_closed, sil_ok, sil_early, sil_late, sil_open, sil_unpinged,
        sil_twice, sil_reason_pt, sil_code1000;
    unsigned sil_how[WSB_HB__COUNT];
    uint64_t cl_min, cl_p50, cl_max;
    int64_t tick_ms, lo_ms, hi_ms;
    long long srv_pt, srv_wspt, srv_wsping, srv_open;
    long rss_per;
    int fail;
} P;

static const char *const how_name[WSB_HB__COUNT] = {
    "open", "ws close frame", "Engine.IO close packet",
    "Socket.IO DISCONNECT", "TCP EOF without close frame", "reset/error",
    "client gave up"};

/* The heartbeat timer's tick for these settings (worker/hbt.c). */
static int64_t
hb_tick(int64_t pi, int64_t pt)
{
    int64_t t = (pi < pt ? pi : pt) / 10;

    if (t > HB_TICK_CAP_MS)
        t = HB_TICK_CAP_MS;
    return t < 1 ? 1 : t;
}

/* "key":N in p[0..n); -1 when absent. */
static int64_t
json_int(const unsigned char *p, size_t n, const char *key)
{
    size_t kl = strlen(key);
    const unsigned char *q = memmem(p, n, key, kl), *e = p + n;
    int64_t v = 0;

    if (q == NULL || (q += kl) >= e || *q < '0' || *q > '9')
        return -1;
    while (q < e && *q >= '0' && *q <= '9' && v < INT64_MAX / 10)
        v = v * 10 + (*q++ - '0');
    return v;
}

/* --- subscriber side ------------------------------------------------- */

int
wsb_hb_is_silent(const struct wsb_opts *o, unsigned idx)
{
    /* Exactly o->silent of [0, conns), evenly spread, so every subscriber
     * process and (through the kernel's reuseport hash) every worker gets
     * its share. */
    return (uint64_t)(idx + 1) * o->silent / o->conns
           > (uint64_t)idx * o->silent / o->conns;
}

int
wsb_hb_init(const struct wsb_opts *o, unsigned lo, unsigned n)
{
    H.o = o;
    H.lo = lo;
    H.n = n;
    H.c = calloc(n ? n : 1, sizeof(*H.c));
    if (H.c == NULL)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        H.c[i].r.idx = lo + i;
        H.c[i].r.silent = (uint8_t)wsb_hb_is_silent(o, lo + i);
    }
    H.h.ping_interval_ms = H.h.ping_timeout_ms = -1;
    H.rt_off = wsb_rt_off();
    return 0;
}

ssize_t
wsb_hb_recv(int fd, void *buf, size_t len, uint64_t *at)
{
    uint64_t kt;
    ssize_t r = wsb_recv_stamped(fd, buf, len, H.rt_off, at, &kt);

    if (r <= 0)
        return r;
    /* The kernel's receive time when it gave one (wsb_recv_stamped keeps
     * only a sane stamp); else the time now. */
    if (kt != 0) {
        *at = kt;
        H.h.stamped++;
    } else {
        H.h.unstamped++;
    }
    return r;
}

void
wsb_hb_open(unsigned i, const unsigned char *p, size_t len, uint64_t now)
{
    int64_t pi = json_int(p, len, "\"pingInterval\":");
    int64_t pt = json_int(p, len, "\"pingTimeout\":");

    if (i >= H.n)
        return;
    H.c[i].r.t_open = now;
    if (H.h.ping_interval_ms == -1 && pi > 0 && pt > 0) {
        H.h.ping_interval_ms = pi;
        H.h.ping_timeout_ms = pt;
        H.tick_ms = hb_tick(pi, pt);
    } else if (pi != H.h.ping_interval_ms || pt != H.h.ping_timeout_ms) {
        H.h.open_mismatch++;
    }
}

void
wsb_hb_ping(unsigned i, uint64_t now)
{
    struct hbc *c;
    struct wsb_hb_rec *r;

    if (i >= H.n)
        return;
    c = &H.c[i];
    r = &c->r;
    if (H.o->hb_log && r->pings < HB_MAX_LOGGED) {
        if (r->pings == c->cap) {
            uint32_t cap = c->cap ? c->cap * 2 : 64;
            uint64_t *t = realloc(c->t, cap * sizeof(*t));
            if (t) {
                c->t = t;
                c->cap = cap;
            }
        }
        if (r->pings < c->cap)
            c->t[r->pings] = now;
    }
    r->pings++;
    if (r->first_ping == 0) {
        r->first_ping = r->last_ping = now;
        return;
    }
    uint64_t gap = now - r->last_ping;
    r->last_ping = now;
    if (r->min_gap == 0 || gap < r->min_gap)
        r->min_gap = gap;
    if (gap > r->max_gap)
        r->max_gap = gap;
    if (r->silent)
        return;
    wsb_hist_add(&H.h.gaps, gap);
    if (H.h.ping_interval_ms > 0
        && (int64_t)(gap / 1000000)
               < H.h.ping_interval_ms - H.tick_ms - HB_EARLY_GAP_TOL_MS)
        r->early++;
}

void
wsb_hb_ws_ping(unsigned i)
{
    if (i < H.n)
        H.c[i].r.ws_pings++;
}

void
wsb_hb_member(unsigned i)
{
    if (i < H.n)
        H.c[i].r.member = 1;
}

void
wsb_hb_close(unsigned i, enum wsb_hb_how how, unsigned code,
             const unsigned char *reason, size_t rlen, uint64_t now)
{
    struct wsb_hb_rec *r;

    if (i >= H.n || H.c[i].r.how != WSB_HB_OPEN)
        return;
    r = &H.c[i].r;
    r->how = (uint8_t)how;
    r->code = code;
    r->reason_pt = reason && rlen == 12 && memcmp(reason, "ping timeout",
                                                   12) == 0;
    r->closed_at = now;
}

void
wsb_hb_lag(uint64_t late_ns)
{
    if (late_ns > H.h.loop_lag_max)
        H.h.loop_lag_max = late_ns;
}

/* --hb-log FILE: FILE.<first connection> per process, one line per
 * session: idx silent member open_ms closed_ms how code pings: t... (ms on
 * CLOCK_MONOTONIC, 0 = never). */
static void
hb_log(void)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s.%u", H.o->hb_log, H.lo);
    f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "wsbench: --hb-log %s: %s\n", path, strerror(errno));
        return;
    }
    fprintf(f, "# idx silent member open_ms closed_ms how code pings: ms...\n"
               "# (CLOCK_MONOTONIC ms; closed_ms 0: open at the end; how: "
               "enum wsb_hb_how in bench/wsb.h)\n");
    for (unsigned i = 0; i < H.n; i++) {
        const struct hbc *c = &H.c[i];
        uint32_t k = c->r.pings < c->cap ? c->r.pings : c->cap;
        fprintf(f, "%u %u %u %.3f %.3f %u %u pings:", c->r.idx, c->r.silent,
                c->r.member, c->r.t_open / 1e6, c->r.closed_at / 1e6,
                c->r.how, c->r.code);
        for (uint32_t j = 0; j < k; j++)
            fprintf(f, " %.3f", c->t[j] / 1e6);
        fputc('\n', f);
    }
    if (fclose(f) != 0)
        fprintf(stderr, "wsbench: --hb-log %s: write failed\n", path);
}

int
wsb_hb_send(int fd)
{
    size_t len = sizeof(H.h) + H.n * sizeof(struct wsb_hb_rec);
    char *buf = malloc(len);
    int rc;

    if (H.o->hb_log)
        hb_log();
    if (buf == NULL)
        return -1;
    H.h.n = H.n;
    memcpy(buf, &H.h, sizeof(H.h));
    for (unsigned i = 0; i < H.n; i++)
        memcpy(buf + sizeof(H.h) + i * sizeof(struct wsb_hb_rec), &H.c[i].r,
               sizeof(struct wsb_hb_rec));
    rc = wsb_send_msg(fd, WSB_MSG_HB, buf, len);
    free(buf);
    return rc;
}

void
wsb_hb_free(void)
{
    for (unsigned i = 0; H.c && i < H.n; i++)
        free(H.c[i].t);
    free(H.c);
    H.c = NULL;
}

/* --- parent side ----------------------------------------------------- */

int
wsb_hb_collect(int fd)
{
    struct wsb_msg m;
    struct wsb_hb_head h;
    size_t n;

    if (wsb_read_all(fd, &m, sizeof(m)) == -1 || m.type != WSB_MSG_HB
        || m.len < sizeof(h)
        || (m.len - sizeof(h)) % sizeof(struct wsb_hb_rec) != 0
        || wsb_read_all(fd, &h, sizeof(h)) == -1)
        return -1;
    n = (size_t)(m.len - sizeof(h)) / sizeof(struct wsb_hb_rec);
    if (n != h.n)
        return -1;
    if (P.n + n > P.cap) {
        size_t cap = P.n + n;
        struct wsb_hb_rec *r = realloc(P.r, cap * sizeof(*r));
        if (r == NULL)
            return -1;
        P.r = r;
        P.cap = cap;
    }
    if (n && wsb_read_all(fd, P.r + P.n, n * sizeof(*P.r)) == -1)
        return -1;
    P.n += n;
    wsb_hist_merge(&P.h.gaps, &h.gaps);
    P.h.open_mismatch += h.open_mismatch;
    P.h.stamped += h.stamped;
    P.h.unstamped += h.unstamped;
    if (h.loop_lag_max > P.h.loop_lag_max)
        P.h.loop_lag_max = h.loop_lag_max;
    if (h.ping_interval_ms > 0) {
        if (!P.have_cfg) {
            P.h.ping_interval_ms = h.ping_interval_ms;
            P.h.ping_timeout_ms = h.ping_timeout_ms;
            P.have_cfg = 1;
        } else if (h.ping_interval_ms != P.h.ping_interval_ms
                   || h.ping_timeout_ms != P.h.ping_timeout_ms) {
            P.h.open_mismatch++;
        }
    }
    return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static long long
delta(const long long v[3], int from, int to)
{
    return v[from] >= 0 && v[to] >= 0 ? v[to] - v[from] : -1;
}

/* The silent sessions' close - first ping, sorted into d; returns how
 * many. Counts the silent outcomes into P. */
static size_t
hb_silent(uint64_t *d)
{
    size_t k = 0;
    int64_t lo = P.lo_ms * 1000000, hi = P.hi_ms * 1000000;

    for (size_t i = 0; i < P.n; i++) {
        const struct wsb_hb_rec *r = &P.r[i];
        if (!r->silent || !r->member)
            continue;
        P.silent++;
        P.ws_pings_sil += r->ws_pings;
        P.sil_how[r->how]++;
        if (r->pings > 1)
            P.sil_twice++;
        if (r->how == WSB_HB_OPEN) {
            P.sil_open++;
            continue;
        }
        P.sil_closed++;
        P.sil_reason_pt += r->reason_pt;
        P.sil_code1000 += r->how == WSB_HB_WS_CLOSE && r->code == 1000;
        if (r->first_ping == 0 || r->closed_at < r->first_ping) {
            P.sil_unpinged++;
            continue;
        }
        d[k] = r->closed_at - r->first_ping;
        if ((int64_t)d[k] < lo)
            P.sil_early++;
        else if ((int64_t)d[k] > hi)
            P.sil_late++;
        else
            P.sil_ok++;
        k++;
    }
    qsort(d, k, sizeof(*d), cmp_u64);
    return k;
}

/* Answering members: closes, pings, gaps. */
static void
hb_answering(void)
{
    P.ans_pings_min = UINT64_MAX;
    P.gap_min = UINT64_MAX;
    P.first_min = UINT64_MAX;
    for (size_t i = 0; i < P.n; i++) {
        const struct wsb_hb_rec *r = &P.r[i];
        if (!r->member)
            continue;
        P.members++;
        if (r->first_ping && r->t_open && r->first_ping > r->t_open) {
            uint64_t f = r->first_ping - r->t_open;
            if (f < P.first_min)
                P.first_min = f;
            if (f > P.first_max)
                P.first_max = f;
        }
        if (r->silent)
            continue;
        P.answering++;
        P.ws_pings_ans += r->ws_pings;
        if (r->how != WSB_HB_OPEN) {
            P.ans_closed++;
            P.ans_how[r->how]++;
        }
        P.ans_pings += r->pings;
        if (r->pings < P.ans_pings_min)
            P.ans_pings_min = r->pings;
        if (r->pings > P.ans_pings_max)
            P.ans_pings_max = r->pings;
        if (r->min_gap && r->min_gap < P.gap_min)
            P.gap_min = r->min_gap;
        if (r->max_gap > P.gap_max)
            P.gap_max = r->max_gap;
        P.early += r->early;
    }
    if (P.ans_pings_min == UINT64_MAX)
        P.ans_pings_min = 0;
    if (P.gap_min == UINT64_MAX)
        P.gap_min = 0;
    if (P.first_min == UINT64_MAX)
        P.first_min = 0;
}

int
wsb_hb_json(FILE *f, const struct wsb_opts *o, const struct wsb_hb_server *sv)
{
    uint64_t *d = calloc(P.n ? P.n : 1, sizeof(*d));
    size_t k;
    int64_t pi = P.h.ping_interval_ms, pt = P.h.ping_timeout_ms;

    P.conns = o->conns;
    P.tick_ms = pi > 0 ? hb_tick(pi, pt) : 0;
    /* A silent session's close must come at its first ping + ping_timeout
     * (never before: a few ms for the server's ms clock and loopback; when
     * some reads had no kernel receive time, the client may have read the
     * ping up to its own loop lag late, which makes the interval look
     * shorter) and within 2 ticks after. */
    P.lo_ms = pt - HB_EARLY_CLOSE_TOL_MS
              - (P.h.unstamped
                     ? (int64_t)((P.h.loop_lag_max + 999999) / 1000000)
                     : 0);
    P.hi_ms = pt + 2 * P.tick_ms;
    hb_answering();
    k = d ? hb_silent(d) : 0;
    if (k) {
        P.cl_min = d[0];
        P.cl_p50 = d[k / 2];
        P.cl_max = d[k - 1];
    }
    free(d);
    P.srv_pt = delta(sv->ping_timeouts, 0, 2);
    P.srv_wspt = delta(sv->ws_ping_timeouts, 0, 2);
    P.srv_wsping = delta(sv->ws_pings_sent, 0, 2);
    P.srv_open = sv->eio_open[2];
    P.rss_per = sv->rss_kb[0] >= 0 && sv->rss_kb[1] >= 0 && P.members
                    ? (sv->rss_kb[1] - sv->rss_kb[0]) * 1024 / (long)P.members
                    : -1;
    P.fail = pi <= 0 || P.members < o->conns || P.ans_closed
             || P.sil_ok < P.silent || P.early > 0;
    fprintf(f,
            ",\"hb_silent\":%u,\"hb_answering\":%u,"
            "\"hb_ping_interval_ms\":%lld,\"hb_ping_timeout_ms\":%lld,"
            "\"hb_tick_ms\":%lld,\"hb_answering_closed\":%u,"
            "\"hb_pings\":%llu,\"hb_pings_per_session_min\":%llu,"
            "\"hb_pings_per_session_max\":%llu,"
            "\"hb_gap_min_ms\":%.1f,\"hb_gap_p50_ms\":%.1f,"
            "\"hb_gap_p99_ms\":%.1f,\"hb_gap_max_ms\":%.1f,"
            "\"hb_early_pings\":%llu,\"hb_first_ping_min_ms\":%.1f,"
            "\"hb_first_ping_max_ms\":%.1f,\"hb_silent_closed\":%u,"
            "\"hb_silent_ok\":%u,\"hb_silent_early\":%u,"
            "\"hb_silent_late\":%u,\"hb_silent_open\":%u,"
            "\"hb_silent_pinged_twice\":%u,\"hb_silent_close_1000\":%u,"
            "\"hb_silent_reason_ping_timeout\":%u,"
            "\"hb_close_min_ms\":%.1f,\"hb_close_p50_ms\":%.1f,"
            "\"hb_close_max_ms\":%.1f,\"hb_close_lo_ms\":%lld,"
            "\"hb_close_hi_ms\":%lld,\"hb_ws_pings_answering\":%llu,"
            "\"hb_ws_pings_silent\":%llu,\"hb_client_lag_max_ms\":%.1f,"
            "\"hb_open_mismatch\":%llu,\"hb_reads_kernel_stamped\":%llu,"
            "\"hb_reads_unstamped\":%llu,\"server_eio_ping_timeouts\":%lld,"
            "\"server_ws_ping_timeouts\":%lld,\"server_ws_pings_sent\":%lld,"
            "\"server_eio_open_end\":%lld,\"server_rss_per_session_b\":%ld,"
            "\"hb_ok\":%s",
            P.silent, P.answering, (long long)pi, (long long)pt,
            (long long)P.tick_ms, P.ans_closed,
            (unsigned long long)P.ans_pings,
            (unsigned long long)P.ans_pings_min,
            (unsigned long long)P.ans_pings_max, P.gap_min / 1e6,
            wsb_hist_pct(&P.h.gaps, 50) / 1e6,
            wsb_hist_pct(&P.h.gaps, 99) / 1e6, P.gap_max / 1e6,
            (unsigned long long)P.early, P.first_min / 1e6,
            P.first_max / 1e6, P.sil_closed, P.sil_ok, P.sil_early,
            P.sil_late, P.sil_open, P.sil_twice, P.sil_code1000,
            P.sil_reason_pt, P.cl_min / 1e6, P.cl_p50 / 1e6, P.cl_max / 1e6,
            (long long)P.lo_ms, (long long)P.hi_ms,
            (unsigned long long)P.ws_pings_ans,
            (unsigned long long)P.ws_pings_sil, P.h.loop_lag_max / 1e6,
            (unsigned long long)P.h.open_mismatch,
            (unsigned long long)P.h.stamped,
            (unsigned long long)P.h.unstamped, P.srv_pt, P.srv_wspt,
            P.srv_wsping, P.srv_open, P.rss_per, P.fail ? "false" : "true");
    return P.fail;
}

static void
hb_hows(const unsigned *how)
{
    const char *sep = "";

    for (int i = 1; i < WSB_HB__COUNT; i++)
        if (how[i]) {
            fprintf(stderr, "%s%s %u", sep, how_name[i], how[i]);
            sep = ", ";
        }
    if (*sep == '\0')
        fprintf(stderr, "none");
}

void
wsb_hb_summary(void)
{
    fprintf(stderr,
            "  heartbeat: %u sessions ready of %u (%u answering, %u "
            "silent); server pingInterval %lld ms, pingTimeout %lld ms, "
            "tick %lld ms\n",
            P.members, P.conns, P.answering, P.silent,
            (long long)P.h.ping_interval_ms, (long long)P.h.ping_timeout_ms,
            (long long)P.tick_ms);
    fprintf(stderr, "  answering: %u closed", P.ans_closed);
    if (P.ans_closed) {
        fprintf(stderr, " (");
        hb_hows(P.ans_how);
        fprintf(stderr, ")");
    }
    fprintf(stderr,
            "; %llu pings, %llu-%llu per session; gap between pings ms: "
            "min %.1f p50 %.1f p99 %.1f max %.1f; %llu early (< interval - "
            "tick - %d ms)\n",
            (unsigned long long)P.ans_pings,
            (unsigned long long)P.ans_pings_min,
            (unsigned long long)P.ans_pings_max, P.gap_min / 1e6,
            wsb_hist_pct(&P.h.gaps, 50) / 1e6,
            wsb_hist_pct(&P.h.gaps, 99) / 1e6, P.gap_max / 1e6,
            (unsigned long long)P.early, HB_EARLY_GAP_TOL_MS);
    fprintf(stderr, "  silent: %u/%u closed (", P.sil_closed, P.silent);
    hb_hows(P.sil_how);
    fprintf(stderr,
            "; code 1000 %u, reason \"ping timeout\" %u); close - first "
            "ping ms: min %.1f p50 %.1f max %.1f, allowed [%lld, %lld]: "
            "%u in, %u early, %u late, %u still open, %u never pinged, %u "
            "pinged twice\n",
            P.sil_code1000, P.sil_reason_pt, P.cl_min / 1e6, P.cl_p50 / 1e6,
            P.cl_max / 1e6, (long long)P.lo_ms, (long long)P.hi_ms, P.sil_ok,
            P.sil_early, P.sil_late, P.sil_open, P.sil_unpinged, P.sil_twice);
    fprintf(stderr,
            "  first ping after the open packet: %.1f-%.1f ms; WebSocket "
            "pings received: answering %llu, silent %llu; client loop lag "
            "max %.1f ms; reads with the kernel's receive time %llu, "
            "without %llu\n",
            P.first_min / 1e6, P.first_max / 1e6,
            (unsigned long long)P.ws_pings_ans,
            (unsigned long long)P.ws_pings_sil, P.h.loop_lag_max / 1e6,
            (unsigned long long)P.h.stamped,
            (unsigned long long)P.h.unstamped);
    fprintf(stderr,
            "  server: eio_ping_timeouts +%lld, ws_ping_timeouts +%lld, "
            "ws_pings_sent +%lld, eio_open at the end %lld; RSS %ld B per "
            "session (before -> after the ramp)\n",
            P.srv_pt, P.srv_wspt, P.srv_wsping, P.srv_open, P.rss_per);
    if (P.h.open_mismatch)
        fprintf(stderr, "  %llu open packets announced other intervals\n",
                (unsigned long long)P.h.open_mismatch);
    fprintf(stderr, "  heartbeat: %s\n", P.fail ? "FAILED" : "ok");
}
