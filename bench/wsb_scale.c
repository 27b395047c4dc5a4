/*
 * wsbench scale hold (--scenario scale, issue 18 item 1): with every
 * connection held, the parent measures the server idle for one interval,
 * then every --scale-interval s publishes one message to everyone (POST
 * /api/publish with no target) and one to each room (batched POSTs of up
 * to 1,000), and reads what the server and the kernel hold (RSS, its
 * anonymous part, /proc/net/sockstat, slab). Each subscriber process keeps
 * two bit masks per connection, the rounds of everyone and of its room it
 * received, so every message is counted at every client (lost, duplicated)
 * with 16 bytes per connection; the per-round counts and latest arrivals
 * are summed into a shared mapping made before fork. Published data:
 * {"t":<send time, monotonic ns>,"s":<round 1..64>,"r":<room, or the
 * room count for everyone>}.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "wsb.h"

#define SCALE_MAX_ROUNDS 64
#define SCALE_BATCH 1000        /* the admin API's largest batch */
#define SCALE_REPLY (64 * 1024)

struct scale_round {            /* in the shared mapping */
    uint64_t t_every;           /* everyone publish sent; 0: failed */
    uint64_t t_every_ok;        /* its reply */
    uint64_t t_rooms, t_rooms_ok; /* first room batch sent, last answered;
                                   t_rooms 0: a batch failed */
    _Atomic uint64_t every_got, room_got;  /* first receipts */
    _Atomic uint64_t every_last, room_last; /* latest receipt, ns */
};

/* What the server and the kernel hold at one moment. */
struct scale_look {
    uint64_t at;                /* monotonic ns */
    long rss_kb, anon_kb;       /* workers + master: VmRSS, Anonymous */
    long sockets_used, tcp_inuse, tcp_mem_pages, tcp_orphan, tcp_tw;
    long slab_kb, avail_kb;     /* /proc/meminfo Slab, MemAvailable */
    double cpu_s;               /* workers + master user + system */
};

struct scale_shared {
    unsigned rounds;            /* rounds published (or attempted) */
    uint64_t requests, errors;  /* POSTs, messages in failed POSTs */
    struct scale_look before, held, idle_end, end;
    long peak_tcp_mem_pages;    /* sampled every second of the hold */
    long min_avail_kb;
    struct scale_round r[SCALE_MAX_ROUNDS];
};

static struct scale_shared *SH;

/* Subscriber side: per local connection, rounds received. */
static struct {
    uint64_t *every, *room;
    unsigned n;
    uint64_t got_every[SCALE_MAX_ROUNDS], got_room[SCALE_MAX_ROUNDS];
    uint64_t last_every[SCALE_MAX_ROUNDS], last_room[SCALE_MAX_ROUNDS];
} L;

int
wsb_scale_init(void)
{
    SH = mmap(NULL, sizeof(*SH), PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (SH == MAP_FAILED) {
        SH = NULL;
        perror("wsbench: mmap (scale)");
        return -1;
    }
    memset(SH, 0, sizeof(*SH));
    return 0;
}

int
wsb_scale_sub_init(unsigned n)
{
    L.n = n;
    L.every = calloc(n ? n : 1, sizeof(*L.every));
    L.room = calloc(n ? n : 1, sizeof(*L.room));
    return L.every && L.room ? 0 : -1;
}

void
wsb_scale_sub_free(void)
{
    free(L.every);
    free(L.room);
    L.every = L.room = NULL;
}

void
wsb_scale_data(const struct wsb_opts *o, unsigned i, unsigned room,
               uint64_t t, uint64_t s, uint64_t r, uint64_t now,
               struct wsb_sub_result *res)
{
    uint64_t bit, *mask;
    unsigned k;

    (void)t;
    if (s == 0 || s > SCALE_MAX_ROUNDS || i >= L.n) {
        res->bad++;
        return;
    }
    k = (unsigned)(s - 1);
    bit = 1ull << k;
    if (r == o->rooms)
        mask = &L.every[i];
    else if (r == room)
        mask = &L.room[i];
    else {
        res->wrong_room++;
        return;
    }
    if (*mask & bit) {
        res->dup++;
        return;
    }
    *mask |= bit;
    if (mask == &L.every[i]) {
        L.got_every[k]++;
        if (now > L.last_every[k])
            L.last_every[k] = now;
    } else {
        L.got_room[k]++;
        if (now > L.last_room[k])
            L.last_room[k] = now;
    }
}

int
wsb_scale_has_all(unsigned i, const uint64_t *fin)
{
    return (L.every[i] & fin[0]) == fin[0] && (L.room[i] & fin[1]) == fin[1];
}

void
wsb_scale_account(unsigned i, const uint64_t *fin, struct wsb_sub_result *res)
{
    res->expected += (uint64_t)__builtin_popcountll(fin[0])
                     + (uint64_t)__builtin_popcountll(fin[1]);
    res->lost += (uint64_t)__builtin_popcountll(fin[0] & ~L.every[i])
                 + (uint64_t)__builtin_popcountll(fin[1] & ~L.room[i]);
}

static void
atomic_max(_Atomic uint64_t *p, uint64_t v)
{
    uint64_t cur = atomic_load_explicit(p, memory_order_relaxed);

    while (v > cur && !atomic_compare_exchange_weak_explicit(
                          p, &cur, v, memory_order_relaxed,
                          memory_order_relaxed))
        ;
}

void
wsb_scale_sub_flush(void)
{
    for (unsigned k = 0; k < SCALE_MAX_ROUNDS; k++) {
        struct scale_round *r = &SH->r[k];
        atomic_fetch_add_explicit(&r->every_got, L.got_every[k],
                                  memory_order_relaxed);
        atomic_fetch_add_explicit(&r->room_got, L.got_room[k],
                                  memory_order_relaxed);
        atomic_max(&r->every_last, L.last_every[k]);
        atomic_max(&r->room_last, L.last_room[k]);
    }
}

/* --- parent: looks at the server and the kernel ----------------------- */

static void
sockstat(struct scale_look *l)
{
    char line[256];
    FILE *f = fopen("/proc/net/sockstat", "r");

    l->sockets_used = l->tcp_inuse = l->tcp_mem_pages = -1;
    l->tcp_orphan = l->tcp_tw = -1;
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "sockets: used %ld", &l->sockets_used) == 1)
            continue;
        sscanf(line, "TCP: inuse %ld orphan %ld tw %ld alloc %*d mem %ld",
               &l->tcp_inuse, &l->tcp_orphan, &l->tcp_tw, &l->tcp_mem_pages);
    }
    fclose(f);
}

static void
look(struct scale_look *l, const int *pids, int npids, int master)
{
    char path[64];

    l->at = wsb_now();
    l->rss_kb = l->anon_kb = 0;
    l->cpu_s = 0;
    for (int i = 0; i <= npids; i++) {
        int pid = i < npids ? pids[i] : master;
        long rss, anon;
        double c;
        if (pid <= 1) {
            l->rss_kb = l->anon_kb = -1;
            l->cpu_s = -1;
            break;
        }
        snprintf(path, sizeof(path), "/proc/%d/status", pid);
        rss = wsb_kv_kb(path, "VmRSS:");
        snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
        anon = wsb_kv_kb(path, "Anonymous:");
        c = wsb_proc_cpu(pid, NULL);
        l->rss_kb = rss < 0 || l->rss_kb < 0 ? -1 : l->rss_kb + rss;
        l->anon_kb = anon < 0 || l->anon_kb < 0 ? -1 : l->anon_kb + anon;
        l->cpu_s = c < 0 || l->cpu_s < 0 ? -1 : l->cpu_s + c;
    }
    sockstat(l);
    l->slab_kb = wsb_kv_kb("/proc/meminfo", "Slab:");
    l->avail_kb = wsb_kv_kb("/proc/meminfo", "MemAvailable:");
}

void
wsb_scale_before(const int *pids, int npids, int master)
{
    look(&SH->before, pids, npids, master);
}

/* --- parent: the publishes ---------------------------------------------- */

/* Sleep until t, sampling the kernel's TCP memory and MemAvailable each
 * second. */
static void
hold_until(uint64_t t)
{
    while (wsb_now() < t) {
        struct scale_look l;
        uint64_t next = wsb_now() + 1000000000u;
        long av = wsb_kv_kb("/proc/meminfo", "MemAvailable:");
        sockstat(&l);
        if (l.tcp_mem_pages > SH->peak_tcp_mem_pages)
            SH->peak_tcp_mem_pages = l.tcp_mem_pages;
        if (av >= 0 && (SH->min_avail_kb == 0 || av < SH->min_avail_kb))
            SH->min_avail_kb = av;
        wsb_sleep_until(next < t ? next : t);
    }
}

/* One POST of body; n messages. 0 when answered 200 with "ok":true. */
static int
post(const struct wsb_opts *o, const char *body, unsigned n, char *reply)
{
    int st;

    SH->requests++;
    st = wsb_http(o->admin_host, o->admin_port, "POST", "/api/publish",
                  o->api_key, body, reply, SCALE_REPLY);
    if (st == 200 && strstr(reply, "\"ok\":true"))
        return 0;
    fprintf(stderr, "wsbench: scale publish of %u message(s): HTTP %d %.200s\n",
            n, st, reply);
    SH->errors += n;
    return -1;
}

/* Round k (1-based): everyone, then every room in batches. */
static void
publish_round(const struct wsb_opts *o, unsigned k, char *body, size_t cap,
              char *reply)
{
    struct scale_round *r = &SH->r[k - 1];
    uint64_t t = wsb_now();
    int ok = 1;

    snprintf(body, cap, "{\"event\":\"e\",\"data\":{\"t\":%llu,\"s\":%u,"
                        "\"r\":%u}}", (unsigned long long)t, k, o->rooms);
    if (post(o, body, 1, reply) == 0) {
        r->t_every = t;
        r->t_every_ok = wsb_now();
    }
    r->t_rooms = wsb_now();
    for (unsigned lo = 0; lo < o->rooms; lo += SCALE_BATCH) {
        unsigned hi = lo + SCALE_BATCH < o->rooms ? lo + SCALE_BATCH
                                                  : o->rooms;
        size_t len = 0;
        t = wsb_now();
        body[len++] = '[';
        for (unsigned room = lo; room < hi; room++)
            len += (size_t)snprintf(body + len, cap - len,
                                    "%s{\"room\":\"bench:%u\",\"event\":\"e\","
                                    "\"data\":{\"t\":%llu,\"s\":%u,\"r\":%u}}",
                                    room > lo ? "," : "", room,
                                    (unsigned long long)t, k, room);
        body[len++] = ']';
        body[len] = '\0';
        if (post(o, body, hi - lo, reply) == -1)
            ok = 0;
    }
    r->t_rooms_ok = wsb_now();
    if (!ok)
        r->t_rooms = 0;
}

int
wsb_scale_hold(const struct wsb_opts *o, const int *pids, int npids,
               int master, uint64_t t_end)
{
    uint64_t iv = (uint64_t)(o->scale_interval * 1e9), t0 = wsb_now();
    size_t cap = (size_t)SCALE_BATCH * 128 + 64;
    char *body = malloc(cap), *reply = malloc(SCALE_REPLY);
    unsigned k, n = (unsigned)(o->duration / o->scale_interval + 1e-9);

    if (n > SCALE_MAX_ROUNDS)
        n = SCALE_MAX_ROUNDS;
    if (body == NULL || reply == NULL) {
        free(body);
        free(reply);
        return -1;
    }
    /* Idle: nothing published for one interval. */
    look(&SH->held, pids, npids, master);
    hold_until(t0 + iv);
    look(&SH->idle_end, pids, npids, master);
    for (k = 1; k <= n; k++) {
        hold_until(t0 + k * iv);
        publish_round(o, k, body, cap, reply);
        SH->rounds = k;
        fprintf(stderr, "wsbench: scale round %u published (everyone + %u "
                        "rooms) in %.0f ms\n", k, o->rooms,
                (double)(wsb_now() - (t0 + k * iv)) / 1e6);
    }
    hold_until(t_end);
    free(body);
    free(reply);
    return 0;
}

void
wsb_scale_final(const struct wsb_opts *o, uint64_t *fin)
{
    memset(fin, 0, 3 * sizeof(uint64_t) * o->rooms);
    for (unsigned k = 0; k < SH->rounds; k++) {
        if (SH->r[k].t_every)
            fin[0] |= 1ull << k;
        if (SH->r[k].t_rooms)
            fin[1] |= 1ull << k;
    }
}

void
wsb_scale_end(const int *pids, int npids, int master)
{
    look(&SH->end, pids, npids, master);
}

uint64_t
wsb_scale_errors(void)
{
    return SH->errors;
}

/* --- the result ---------------------------------------------------------- */

static long
per_conn(long after_kb, long before_kb, uint64_t conns)
{
    if (after_kb < 0 || before_kb < 0 || conns == 0)
        return -1;
    return (after_kb - before_kb) * 1024 / (long)conns;
}

/* Reach-all time of round k's everyone publish, ms; -1 when not every
 * member got it (or the publish failed). */
static double
reach_ms(unsigned k, uint64_t members)
{
    const struct scale_round *r = &SH->r[k];

    if (r->t_every == 0 || r->every_got != members || r->every_last == 0)
        return -1;
    return (double)(r->every_last - r->t_every) / 1e6;
}

void
wsb_scale_json(FILE *f, uint64_t members)
{
    const struct scale_look *b = &SH->before, *h = &SH->held,
                            *i = &SH->idle_end;
    double idle_s = (double)(i->at - h->at) / 1e9;
    double max_ms = -1;

    fprintf(f, ",\"scale_rounds\":%u,\"scale_requests\":%llu,"
               "\"scale_publish_errors\":%llu",
            SH->rounds, (unsigned long long)SH->requests,
            (unsigned long long)SH->errors);
    fprintf(f, ",\"scale_rss_kb\":[%ld,%ld,%ld],\"scale_anon_kb\":[%ld,%ld,%ld]"
               ",\"scale_rss_per_conn_b\":%ld,\"scale_anon_per_conn_b\":%ld",
            b->rss_kb, h->rss_kb, SH->end.rss_kb, b->anon_kb, h->anon_kb,
            SH->end.anon_kb, per_conn(h->rss_kb, b->rss_kb, members),
            per_conn(h->anon_kb, b->anon_kb, members));
    fprintf(f, ",\"sockets_used\":[%ld,%ld],\"tcp_inuse\":[%ld,%ld],"
               "\"tcp_mem_bytes\":[%ld,%ld],\"slab_kb\":[%ld,%ld],"
               "\"mem_available_kb\":[%ld,%ld],"
               "\"kernel_slab_per_conn_b\":%ld,\"tcp_mem_per_conn_b\":%ld",
            b->sockets_used, h->sockets_used, b->tcp_inuse, h->tcp_inuse,
            b->tcp_mem_pages * 4096, h->tcp_mem_pages * 4096, b->slab_kb,
            h->slab_kb, b->avail_kb, h->avail_kb,
            per_conn(h->slab_kb, b->slab_kb, members),
            members ? (h->tcp_mem_pages - b->tcp_mem_pages) * 4096
                          / (long)members : -1);
    fprintf(f, ",\"tcp_mem_peak_bytes\":%ld,\"mem_available_min_kb\":%ld",
            SH->peak_tcp_mem_pages * 4096, SH->min_avail_kb);
    fprintf(f, ",\"idle_s\":%.1f,\"idle_server_cpu_s\":%.2f,"
               "\"idle_server_cores\":%.3f",
            idle_s, i->cpu_s >= 0 && h->cpu_s >= 0 ? i->cpu_s - h->cpu_s : -1,
            i->cpu_s >= 0 && h->cpu_s >= 0 && idle_s > 0
                ? (i->cpu_s - h->cpu_s) / idle_s : -1);
    fprintf(f, ",\"every_reach_ms\":[");
    for (unsigned k = 0; k < SH->rounds; k++) {
        double ms = reach_ms(k, members);
        fprintf(f, "%s%.0f", k ? "," : "", ms);
        if (ms > max_ms)
            max_ms = ms;
    }
    fprintf(f, "],\"every_reach_max_ms\":%.0f,\"every_got\":[", max_ms);
    for (unsigned k = 0; k < SH->rounds; k++)
        fprintf(f, "%s%llu", k ? "," : "",
                (unsigned long long)SH->r[k].every_got);
    fprintf(f, "],\"room_got\":[");
    for (unsigned k = 0; k < SH->rounds; k++)
        fprintf(f, "%s%llu", k ? "," : "",
                (unsigned long long)SH->r[k].room_got);
    fprintf(f, "],\"rooms_reach_ms\":[");
    for (unsigned k = 0; k < SH->rounds; k++) {
        const struct scale_round *r = &SH->r[k];
        fprintf(f, "%s%.0f", k ? "," : "",
                r->t_rooms && r->room_got == members && r->room_last
                    ? (double)(r->room_last - r->t_rooms) / 1e6 : -1);
    }
    fprintf(f, "]");
}

void
wsb_scale_summary(uint64_t members)
{
    const struct scale_look *b = &SH->before, *h = &SH->held,
                            *i = &SH->idle_end;
    double idle_s = (double)(i->at - h->at) / 1e9;

    fprintf(stderr, "  scale: %llu held; userland RSS %ld -> %ld kB "
                    "(%ld B/conn), anonymous %ld -> %ld kB (%ld B/conn)\n",
            (unsigned long long)members, b->rss_kb, h->rss_kb,
            per_conn(h->rss_kb, b->rss_kb, members), b->anon_kb, h->anon_kb,
            per_conn(h->anon_kb, b->anon_kb, members));
    fprintf(stderr, "  kernel: sockets used %ld -> %ld, TCP mem %ld -> %ld "
                    "MB, slab %ld -> %ld MB (%ld B/conn), MemAvailable %ld "
                    "-> %ld MB\n",
            b->sockets_used, h->sockets_used, b->tcp_mem_pages * 4096 >> 20,
            h->tcp_mem_pages * 4096 >> 20, b->slab_kb >> 10, h->slab_kb >> 10,
            per_conn(h->slab_kb, b->slab_kb, members), b->avail_kb >> 10,
            h->avail_kb >> 10);
    fprintf(stderr, "  during the hold: TCP mem peak %ld MB, MemAvailable "
                    "low %ld MB\n", SH->peak_tcp_mem_pages * 4096 >> 20,
            SH->min_avail_kb >> 10);
    fprintf(stderr, "  idle server CPU %.2f s over %.1f s (%.3f cores)\n",
            i->cpu_s - h->cpu_s, idle_s,
            idle_s > 0 ? (i->cpu_s - h->cpu_s) / idle_s : 0);
    for (unsigned k = 0; k < SH->rounds; k++) {
        const struct scale_round *r = &SH->r[k];
        fprintf(stderr, "  round %u: everyone %llu/%llu reached all in %.0f "
                        "ms; rooms %llu/%llu, all in %.0f ms\n",
                k + 1, (unsigned long long)r->every_got,
                (unsigned long long)members, reach_ms(k, members),
                (unsigned long long)r->room_got, (unsigned long long)members,
                r->t_rooms && r->room_got == members && r->room_last
                    ? (double)(r->room_last - r->t_rooms) / 1e6 : -1);
    }
}
