/*
 * wsbench: load generator for wsgate's /ws protocol, its Socket.IO
 * endpoint (--proto sio) and, to compare, nchan (--proto nchan). This file owns the
 * command line, the scenario presets, the resource checks, the forked
 * subscriber processes (wsb_sub.c) and their coordination, the publisher
 * run (wsb_pub.c), and the result: one JSON line on stdout and a short
 * summary on stderr (the heartbeat scenario's checks are wsb_hb.c's).
 * Exit 0 when nothing was lost, duplicated or refused, 1 when something
 * was, 2 on a usage or setup error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "shm/sess.h"
#include "wsb.h"

#define MAX_PROCS 64
#define MAX_WORKERS 128
#define LAG_AUTO UINT64_MAX

/* Server totals the recover scenario reports (/socket-stats "totals"). */
static const char *const rec_ctr[] = {
    "recovery_attempts", "recovery_ok", "recovery_failed_unknown",
    "recovery_failed_offset", "recovery_failed_rooms", "replayed_events",
    "replay_gaps", "recovery_sessions", "recovery_held", "recovery_orphaned",
    "recovery_store_full", "recovery_evicted", "recovery_expired",
    "recovery_queue_drops", "recovery_not_stored", "recovery_bad_messages",
    "worker_respawns", "worker_signaled", "eio_open"};
#define NREC_CTR (sizeof(rec_ctr) / sizeof(rec_ctr[0]))

/* v's total of rec_ctr name, -1 when absent. */
#define REC(v, name) rec_get((v)->rec, name)
static long long
rec_get(const long long *rec, const char *name)
{
    for (size_t i = 0; i < NREC_CTR; i++)
        if (strcmp(rec_ctr[i], name) == 0)
            return rec[i];
    return -1;
}

struct server_view {
    int pids[MAX_WORKERS];
    int slots[MAX_WORKERS];   /* the worker's slot */
    long long wopen[MAX_WORKERS]; /* its eio_open */
    double wcpu[MAX_WORKERS]; /* its CPU, s (-1 unknown) */
    int npids;
    int master;               /* 0 when unknown */
    long rss_all_kb;          /* master + workers VmRSS, -1 when unknown */
    long store_rss_kb, store_pss_kb; /* the master's store mapping, -1 */
    long long rec[NREC_CTR];  /* rec_ctr totals, -1 when absent */
    long rss_kb;            /* -1 when unknown */
    long anon_kb;           /* smaps_rollup Anonymous of the same, -1 */
    long long deliveries;   /* -1 when unknown */
    long long ping_timeouts, ws_ping_timeouts, ws_pings_sent, eio_open;
    double cpu_workers;     /* s, -1 when unknown */
    double cpu_master;
};

static void
usage(FILE *f)
{
    fprintf(f,
"usage: wsbench [options]\n"
"  --proto P           ws (default): wsgate /ws JSON, token in the upgrade's\n"
"                      Authorization header; sio: Socket.IO v5 over the\n"
"                      WebSocket transport, token in the CONNECT packet's\n"
"                      auth, subscribe with an ack; nchan: nchan websocket\n"
"                      subscriber, URL path + bench:<room>, no auth;\n"
"                      publishes POST /pub/bench:<room> with the raw data\n"
"                      (--batch 1 only)\n"
"  --url URL           WebSocket endpoint (default ws://127.0.0.1:3001/ws;\n"
"                      sio: ws://H:P/socket.io/?EIO=4&transport=websocket,\n"
"                      nchan: ws://H:P/sub/ , the prefix of the room)\n"
"  --tls-ca FILE       subscribers connect over TLS (wss; the --url port\n"
"                      is the TLS port), verifying the server's\n"
"                      certificate for the URL's IP against FILE; not\n"
"                      with --silent\n"
"  --admin HOST:PORT   where to publish (wsgate's admin port, or nginx for\n"
"                      nchan) and, for wsgate, /socket-stats\n"
"                      Both may be given up to 8 times (the nodes of a\n"
"                      cluster; same path for every URL): connection i\n"
"                      goes to URL number (i / rooms) mod the count, so\n"
"                      every room has members on every node; publish\n"
"                      connection j (rooms j, j+K...) to admin j mod the\n"
"                      count; /socket-stats is read from the first admin\n"
"  --api-key K         bearer key of the admin port\n"
"  --token T           token every connection sends (Authorization: Bearer)\n"
"  --secret S          or: sign one HS256 token per connection (sub benchN)\n"
"  --server-pids LIST  comma-separated pids whose RSS and CPU are the\n"
"                      server's (instead of /socket-stats' workers)\n"
"  -n, --conns N       connections (default 100)\n"
"  --rooms R           connection i joins bench:<i mod R> (default 4)\n"
"  --shape S           how a message of room R is addressed: room (default:\n"
"                      {\"room\":\"bench:R\"}), rooms10 (R's members spread\n"
"                      over bench:R.0..9, one each, and a publish names all\n"
"                      10), all (everyone; needs --rooms 1), user (R's\n"
"                      members sign in as user benchuR, a publish names\n"
"                      that user), emit (a @socket.io/redis-emitter\n"
"                      broadcast to bench:R except bench:<R+1 mod R's>,\n"
"                      PUBLISHed on the Redis at --redis HOST:PORT, --batch\n"
"                      commands pipelined); loss and duplicates are\n"
"                      counted per room R in every shape\n"
"  --rate N            messages published per second; 0 = as fast as the\n"
"                      server accepts them (default 1000)\n"
"  --inflight K        publish connections, one request in flight each\n"
"                      (default 2; room r is published by connection r mod K)\n"
"  --batch B           messages per POST, sent as a JSON array (default 1)\n"
"  --payload BYTES     padding added to each message's data (default 0)\n"
"  --payload-json      the padding is a CRM lead update, ~380 bytes of JSON\n"
"  --deflate           offer permessage-deflate (as Chromium does) and\n"
"                      inflate compressed frames; JSON adds bytes_in and the\n"
"                      compressed frames' bytes before/after (pmd_*)\n"
"  --max-lag N         pause publishing while more than N deliveries are\n"
"                      owed to the clients (default when --rate is 0: 200\n"
"                      per connection, at most 200000; else unlimited;\n"
"                      0 = unlimited)\n"
"  --no-publish        only connect and hold the connections\n"
"  --duration S        measured window in seconds (default 5)\n"
"  --warmup S          publishing before the window (default 1)\n"
"  --drain S           bound on waiting for the last deliveries (default 5)\n"
"  --timeout S         per connection: connect, upgrade and subscribe ack\n"
"                      (default 10)\n"
"  --concurrency N     handshakes in progress per process (default 256)\n"
"  --sources K         source addresses 127.0.0.1 .. 127.0.0.K (default 1)\n"
"  --procs P           subscriber processes, n/P connections each (default 1)\n"
"  --churn N           reconnections per second during the window\n"
"  --silent M          heartbeat records (--proto sio): M of the sessions,\n"
"                      evenly spread, never answer an Engine.IO ping, the\n"
"                      others answer every one; the run checks that no\n"
"                      answering session is closed, that every silent one\n"
"                      is closed between its first ping + pingTimeout and\n"
"                      2 ticks later, and that no ping comes more than a\n"
"                      tick early (tick: 10%% of the smaller of pingInterval\n"
"                      and pingTimeout, at most 1 s, as worker/hbt.c)\n"
"  --hb-log FILE       with --silent: every ping arrival per session into\n"
"                      FILE.<first connection of the process>\n"
"  --rec-before N      recover: messages per room before the outage (so\n"
"                      every session has an offset; default 2)\n"
"  --rec-during N      recover: messages per room published while the\n"
"                      sessions are away (default 3)\n"
"  --rec-after N       recover: messages per room after the reconnects\n"
"                      (default 2)\n"
"  --rec-jitter S      recover: each lost session reconnects after a random\n"
"                      0..S s (default 0: at once)\n"
"  --rec-timeout S     recover: bound on waiting for the reconnects\n"
"                      (default 60)\n"
"  --rec-worker SLOT   recover: the worker slot to kill (default: the one\n"
"                      with the most Engine.IO sessions)\n"
"  --rec-hold          recover: instead of killing a worker, every client\n"
"                      closes its transport (TCP close, no close frame);\n"
"                      when the master holds them all, the store's RSS is\n"
"                      read, the outage's messages published, and all\n"
"                      reconnect at once (the reference time)\n"
"  --rec-baseline      recover: the same outage, but the sessions reconnect\n"
"                      as new ones (no pid and offset) and subscribe again;\n"
"                      the time is to the subscribe ack; no events during\n"
"                      the outage unless --rec-during is given (they would\n"
"                      be lost)\n"
"  --store-sessions N  the server's max_recoverable_sessions (default\n"
"                      100000): finds the store's mapping in the master's\n"
"                      smaps by its size\n"
"  --scale-interval S  scale: seconds between publish rounds (default 10)\n"
"  --scenario NAME     preset: idle, fanout, rooms, latency, connect, churn,\n"
"                      heartbeat, recover, scale; explicit options override\n"
"                      it\n"
"  --label NAME        the \"scenario\" field of the result (default: the\n"
"                      preset's name, or custom)\n"
"  --json              JSON line only on stdout (the summary still goes to\n"
"                      stderr)\n"
"  --strict            failed connections also make the exit status 1\n"
"  --free-ports N      print N distinct free TCP ports of 127.0.0.1 and exit\n"
"                      (for scripts)\n"
"  -h, --help          this help\n"
"Presets: idle     -n 10000 --rooms 100 --no-publish --duration 10\n"
"         fanout   -n 1000 --rooms 1 --rate 0 --batch 50 --inflight 1\n"
"         rooms    -n 10000 --rooms 100 --rate 0 --batch 20 --inflight 4\n"
"         latency  -n 1000 --rooms 10 --rate 200 --batch 1 --inflight 4\n"
"                  (20,000 deliveries/s)\n"
"         connect  -n 10000 --rooms 100 --no-publish --duration 0\n"
"                  --concurrency 1000\n"
"         churn    -n 2000 --rooms 10 --no-publish --churn 500 --duration 10\n"
"         heartbeat --proto sio -n 10000 --silent 1000 --rooms 100\n"
"                  --no-publish --duration 120 (the server's pingInterval\n"
"                  and pingTimeout are read from its open packets)\n"
"         recover  --proto sio -n 10000 --rooms 100 --rate 0 --batch 100\n"
"                  --inflight 1 --max-lag 0 --timeout 30 --drain 15:\n"
"                  sessions connect, subscribe and get --rec-before events\n"
"                  per room; a worker is killed (SIGKILL: the reference\n"
"                  time) and --rec-during events per room are published;\n"
"                  its sessions reconnect with {pid, offset, token}; then\n"
"                  --rec-after per room. Reports recovered (old sid and pid),\n"
"                  fresh, failed, the time from the reference to each\n"
"                  recovered CONNECT reply, whether each recovered session\n"
"                  got every event exactly once, the server's recovery\n"
"                  counters and the RSS of the master's session store\n"
"         scale    -n 20000 --rooms 10000 --duration 60 --drain 60\n"
"                  --timeout 300 --strict: every connection held; the\n"
"                  server idle for one --scale-interval (its CPU), then\n"
"                  every interval one message to everyone (no target) and\n"
"                  one to each room (POSTs of 1,000), floor(duration /\n"
"                  interval) rounds; every message counted at every\n"
"                  client (exit 1 on any loss); reports userland RSS and\n"
"                  its anonymous part (workers + master), /proc/net/sockstat\n"
"                  and slab before and held, and each everyone publish's\n"
"                  time to reach every client\n"
"Exit status: 0 ok, 1 messages lost or duplicated (or publish errors, bad\n"
"messages, server closes; failed connections with --strict; with --silent:\n"
"a failed heartbeat check or a session that did not connect; recover: a\n"
"lost session not recovered, or recovered without every event once), 2\n"
"usage or setup error.\n");
}

enum {
    O_URL = 256, O_ADMIN, O_KEY, O_TOKEN, O_SECRET, O_ROOMS, O_RATE,
    O_INFLIGHT, O_BATCH, O_PAYLOAD, O_LAG, O_NOPUB, O_DURATION, O_WARMUP,
    O_DRAIN, O_TIMEOUT, O_CONC, O_SOURCES, O_PROCS, O_CHURN, O_SCENARIO,
    O_JSON, O_STRICT, O_FREEPORTS, O_LABEL, O_PROTO, O_SPIDS, O_SILENT,
    O_HBLOG, O_RBEFORE, O_RDURING, O_RAFTER, O_RJITTER, O_RTIMEOUT,
    O_RWORKER, O_RHOLD, O_STORE, O_RBASE, O_TLSCA, O_DEFLATE, O_PJSON,
    O_SHAPE, O_SCALEIV, O_REDIS
};

static const struct option longopts[] = {
    {"url", required_argument, NULL, O_URL},
    {"tls-ca", required_argument, NULL, O_TLSCA},
    {"admin", required_argument, NULL, O_ADMIN},
    {"api-key", required_argument, NULL, O_KEY},
    {"token", required_argument, NULL, O_TOKEN},
    {"secret", required_argument, NULL, O_SECRET},
    {"conns", required_argument, NULL, 'n'},
    {"rooms", required_argument, NULL, O_ROOMS},
    {"shape", required_argument, NULL, O_SHAPE},
    {"redis", required_argument, NULL, O_REDIS},
    {"rate", required_argument, NULL, O_RATE},
    {"inflight", required_argument, NULL, O_INFLIGHT},
    {"batch", required_argument, NULL, O_BATCH},
    {"payload", required_argument, NULL, O_PAYLOAD},
    {"payload-json", no_argument, NULL, O_PJSON},
    {"deflate", no_argument, NULL, O_DEFLATE},
    {"max-lag", required_argument, NULL, O_LAG},
    {"no-publish", no_argument, NULL, O_NOPUB},
    {"duration", required_argument, NULL, O_DURATION},
    {"warmup", required_argument, NULL, O_WARMUP},
    {"drain", required_argument, NULL, O_DRAIN},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"concurrency", required_argument, NULL, O_CONC},
    {"sources", required_argument, NULL, O_SOURCES},
    {"procs", required_argument, NULL, O_PROCS},
    {"churn", required_argument, NULL, O_CHURN},
    {"scenario", required_argument, NULL, O_SCENARIO},
    {"json", no_argument, NULL, O_JSON},
    {"strict", no_argument, NULL, O_STRICT},
    {"free-ports", required_argument, NULL, O_FREEPORTS},
    {"label", required_argument, NULL, O_LABEL},
    {"proto", required_argument, NULL, O_PROTO},
    {"server-pids", required_argument, NULL, O_SPIDS},
    {"silent", required_argument, NULL, O_SILENT},
    {"hb-log", required_argument, NULL, O_HBLOG},
    {"rec-before", required_argument, NULL, O_RBEFORE},
    {"rec-during", required_argument, NULL, O_RDURING},
    {"rec-after", required_argument, NULL, O_RAFTER},
    {"rec-jitter", required_argument, NULL, O_RJITTER},
    {"rec-timeout", required_argument, NULL, O_RTIMEOUT},
    {"rec-worker", required_argument, NULL, O_RWORKER},
    {"rec-hold", no_argument, NULL, O_RHOLD},
    {"rec-baseline", no_argument, NULL, O_RBASE},
    {"store-sessions", required_argument, NULL, O_STORE},
    {"scale-interval", required_argument, NULL, O_SCALEIV},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

static int
preset(struct wsb_opts *o, const char *name)
{
    o->scenario = name;
    if (strcmp(name, "idle") == 0) {
        o->conns = 10000, o->rooms = 100, o->publish = 0;
        o->duration = 10, o->warmup = 0;
    } else if (strcmp(name, "fanout") == 0) {
        o->conns = 1000, o->rooms = 1, o->rate = 0, o->batch = 50;
        o->inflight = 1, o->duration = 10, o->warmup = 2;
    } else if (strcmp(name, "rooms") == 0) {
        o->conns = 10000, o->rooms = 100, o->rate = 0, o->batch = 20;
        o->inflight = 4, o->duration = 10, o->warmup = 2;
    } else if (strcmp(name, "latency") == 0) {
        o->conns = 1000, o->rooms = 10, o->rate = 200, o->batch = 1;
        o->inflight = 4, o->duration = 10, o->warmup = 2;
    } else if (strcmp(name, "connect") == 0) {
        o->conns = 10000, o->rooms = 100, o->publish = 0;
        o->duration = 0, o->warmup = 0, o->concurrency = 1000;
    } else if (strcmp(name, "churn") == 0) {
        o->conns = 2000, o->rooms = 10, o->publish = 0, o->churn = 500;
        o->duration = 10, o->warmup = 0;
    } else if (strcmp(name, "heartbeat") == 0) {
        o->proto = WSB_SIO, o->hb = 1;
        o->conns = 10000, o->silent = 1000, o->rooms = 100, o->publish = 0;
        o->duration = 120, o->warmup = 0;
    } else if (strcmp(name, "recover") == 0) {
        o->proto = WSB_SIO, o->recover = o->recover ? o->recover : 1;
        o->conns = 10000, o->rooms = 100, o->rate = 0, o->batch = 100;
        o->inflight = 1, o->max_lag = 0, o->conn_timeout = 30;
        o->drain = 15, o->duration = 0, o->warmup = 0;
    } else if (strcmp(name, "scale") == 0) {
        o->scale = 1, o->conns = 20000, o->rooms = 10000, o->publish = 0;
        o->duration = 60, o->warmup = 0, o->drain = 60;
        o->conn_timeout = 300, o->strict = 1;
    } else {
        return -1;
    }
    return 0;
}

/* Parse a number in [lo, hi]; exits with status 2 on bad input. */
static double
num_arg(const char *opt, const char *s, double lo, double hi)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "wsbench: %s: expected a number in [%g, %g], got "
                        "\"%s\"\n", opt, lo, hi, s);
        exit(2);
    }
    return v;
}

/* "H:P" into host and port. */
static int
host_port(const char *s, char *host, size_t cap, unsigned *port)
{
    const char *colon = strrchr(s, ':');
    long p;

    if (colon == NULL || (size_t)(colon - s) >= cap || colon == s)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    p = strtol(colon + 1, NULL, 10);
    if (p <= 0 || p > 65535)
        return -1;
    *port = (unsigned)p;
    return 0;
}

static int
parse_url(struct wsb_opts *o, const char *url)
{
    char hp[128];
    const char *s = url, *slash;

    if (strncmp(s, "ws://", 5) != 0)
        return -1;
    s += 5;
    slash = strchr(s, '/');
    if (slash == NULL || (size_t)(slash - s) >= sizeof(hp)
        || strlen(slash) >= sizeof(o->path))
        return -1;
    memcpy(hp, s, (size_t)(slash - s));
    hp[slash - s] = '\0';
    strcpy(o->path, slash);
    return host_port(hp, o->host, sizeof(o->host), &o->port);
}

/* Bind n sockets to port 0 at once (so the ports differ), print them. */
static int
free_ports(int n)
{
    int fds[64], rc = 0;
    struct sockaddr_in sa = {.sin_family = AF_INET};

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < n; i++) {
        socklen_t len = sizeof(sa);
        sa.sin_port = 0;
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fds[i] == -1 || bind(fds[i], (struct sockaddr *)&sa, len) == -1
            || getsockname(fds[i], (struct sockaddr *)&sa, &len) == -1) {
            perror("wsbench: free port");
            rc = 2;
            n = i + 1;
            break;
        }
        printf("%u\n", ntohs(sa.sin_port));
    }
    for (int i = 0; i < n; i++)
        if (fds[i] != -1)
            close(fds[i]);
    return rc;
}

static void
parse_args(struct wsb_opts *o, int argc, char **argv)
{
    int ch, during_set = 0;

    /* First pass: the preset, so explicit options override it. */
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "n:h", longopts, NULL)) != -1)
        if (ch == O_SCENARIO && preset(o, optarg) == -1) {
            fprintf(stderr, "wsbench: unknown scenario \"%s\"\n", optarg);
            exit(2);
        }
    opterr = 1;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "n:h", longopts, NULL)) != -1) {
        switch (ch) {
        case O_TLSCA:
            o->tls_ca = optarg;
            break;
        case O_URL: {
            struct wsb_opts u = *o;
            if (o->nurl == WSB_MAX_NODES || parse_url(&u, optarg) == -1
                || (o->nurl && strcmp(u.path, o->path) != 0)) {
                fprintf(stderr, "wsbench: --url: expected ws://HOST:PORT/"
                                "PATH (at most %d, one path), got \"%s\"\n",
                        WSB_MAX_NODES, optarg);
                exit(2);
            }
            if (o->nurl == 0) {
                strcpy(o->host, u.host);
                o->port = u.port;
                strcpy(o->path, u.path);
            }
            strcpy(o->url_nodes[o->nurl].host, u.host);
            o->url_nodes[o->nurl++].port = u.port;
            break;
        }
        case O_ADMIN: {
            struct wsb_node *a = &o->admin_nodes[o->nadmin];
            if (o->nadmin == WSB_MAX_NODES
                || host_port(optarg, a->host, sizeof(a->host), &a->port)
                       == -1) {
                fprintf(stderr, "wsbench: --admin: expected HOST:PORT (at "
                                "most %d)\n", WSB_MAX_NODES);
                exit(2);
            }
            if (o->nadmin++ == 0) {
                strcpy(o->admin_host, a->host);
                o->admin_port = a->port;
            }
            break;
        }
        case O_KEY: o->api_key = optarg; break;
        case O_TOKEN: o->token = optarg; break;
        case O_SECRET: o->secret = optarg; break;
        case 'n': o->conns = (unsigned)num_arg("-n", optarg, 1, 1e7); break;
        case O_ROOMS:
            o->rooms = (unsigned)num_arg("--rooms", optarg, 1, WSB_MAX_ROOMS);
            break;
        case O_RATE: o->rate = num_arg("--rate", optarg, 0, 1e9); break;
        case O_INFLIGHT:
            o->inflight = (unsigned)num_arg("--inflight", optarg, 1, 1024);
            break;
        case O_BATCH:
            o->batch = (unsigned)num_arg("--batch", optarg, 1, WSB_MAX_BATCH);
            break;
        case O_PAYLOAD:
            o->payload = (unsigned)num_arg("--payload", optarg, 0, 65536);
            break;
        case O_PJSON: o->payload_json = 1; break;
        case O_DEFLATE: o->deflate = 1; break;
        case O_LAG:
            o->max_lag = (uint64_t)num_arg("--max-lag", optarg, 0, 1e15);
            break;
        case O_NOPUB: o->publish = 0; break;
        case O_DURATION:
            o->duration = num_arg("--duration", optarg, 0, 3600);
            break;
        case O_WARMUP: o->warmup = num_arg("--warmup", optarg, 0, 3600); break;
        case O_DRAIN: o->drain = num_arg("--drain", optarg, 0, 3600); break;
        case O_TIMEOUT:
            o->conn_timeout = num_arg("--timeout", optarg, 0.1, 3600);
            break;
        case O_CONC:
            o->concurrency = (unsigned)num_arg("--concurrency", optarg, 1,
                                               1e6);
            break;
        case O_SOURCES:
            o->sources = (unsigned)num_arg("--sources", optarg, 1,
                                           WSB_MAX_SOURCES);
            break;
        case O_PROCS:
            o->procs = (unsigned)num_arg("--procs", optarg, 1, MAX_PROCS);
            break;
        case O_CHURN: o->churn = num_arg("--churn", optarg, 0, 1e7); break;
        case O_SCENARIO: break;
        case O_LABEL: o->scenario = optarg; break;
        case O_SHAPE:
            if (strcmp(optarg, "room") == 0)
                o->shape = WSB_SHAPE_ROOM;
            else if (strcmp(optarg, "rooms10") == 0)
                o->shape = WSB_SHAPE_ROOMS10;
            else if (strcmp(optarg, "all") == 0)
                o->shape = WSB_SHAPE_ALL;
            else if (strcmp(optarg, "user") == 0)
                o->shape = WSB_SHAPE_USER;
            else if (strcmp(optarg, "emit") == 0)
                o->shape = WSB_SHAPE_EMIT;
            else {
                fprintf(stderr, "wsbench: --shape: room, rooms10, all, "
                                "user or emit\n");
                exit(2);
            }
            break;
        case O_REDIS:
            if (host_port(optarg, o->redis.host, sizeof(o->redis.host),
                          &o->redis.port) == -1) {
                fprintf(stderr, "wsbench: --redis: expected HOST:PORT\n");
                exit(2);
            }
            break;
        case O_PROTO:
            if (strcmp(optarg, "ws") == 0)
                o->proto = WSB_WS;
            else if (strcmp(optarg, "sio") == 0)
                o->proto = WSB_SIO;
            else if (strcmp(optarg, "nchan") == 0)
                o->proto = WSB_NCHAN;
            else {
                fprintf(stderr, "wsbench: --proto: ws, sio or nchan\n");
                exit(2);
            }
            break;
        case O_SPIDS: {
            char *save = NULL, *tok, *list = strdup(optarg);
            o->nserver_pids = 0;
            for (tok = strtok_r(list, ",", &save); tok;
                 tok = strtok_r(NULL, ",", &save)) {
                if (o->nserver_pids == WSB_MAX_SERVER_PIDS) {
                    fprintf(stderr, "wsbench: --server-pids: at most %d\n",
                            WSB_MAX_SERVER_PIDS);
                    exit(2);
                }
                o->server_pids[o->nserver_pids++] =
                    (int)num_arg("--server-pids", tok, 1, 4194304);
            }
            free(list);
            break;
        }
        case O_SILENT:
            o->silent = (unsigned)num_arg("--silent", optarg, 0, 1e7);
            o->hb = 1;
            break;
        case O_HBLOG: o->hb_log = optarg; break;
        case O_RBEFORE:
            o->rec_before = (unsigned)num_arg("--rec-before", optarg, 1, 1e4);
            break;
        case O_RDURING:
            o->rec_during = (unsigned)num_arg("--rec-during", optarg, 0, 1e4);
            during_set = 1;
            break;
        case O_RAFTER:
            o->rec_after = (unsigned)num_arg("--rec-after", optarg, 0, 1e4);
            break;
        case O_RJITTER:
            o->rec_jitter = num_arg("--rec-jitter", optarg, 0, 60);
            break;
        case O_RTIMEOUT:
            o->rec_timeout = num_arg("--rec-timeout", optarg, 1, 3600);
            break;
        case O_RWORKER:
            o->rec_victim = (int)num_arg("--rec-worker", optarg, 0, 1023);
            break;
        case O_RHOLD: o->recover = 2; break;
        case O_RBASE: o->rec_baseline = 1; break;
        case O_STORE:
            o->store_sessions = (unsigned)num_arg("--store-sessions", optarg,
                                                  1, SESS_MAX_CAPACITY);
            break;
        case O_SCALEIV:
            o->scale_interval = num_arg("--scale-interval", optarg, 0.1,
                                        3600);
            break;
        case O_JSON: o->json = 1; break;
        case O_STRICT: o->strict = 1; break;
        case O_FREEPORTS:
            exit(free_ports((int)num_arg("--free-ports", optarg, 1, 64)));
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (o->rec_baseline && !during_set)
        o->rec_during = 0;
    if (o->payload_json)
        o->payload = wsb_pad_json_len();
    if (optind < argc) {
        fprintf(stderr, "wsbench: unexpected argument \"%s\"\n", argv[optind]);
        exit(2);
    }
}

/* Open files and ephemeral ports: fail early with a clear message. */
static int
check_limits(const struct wsb_opts *o)
{
    struct rlimit rl;
    rlim_t per_proc = (o->conns + o->procs - 1) / o->procs + 64;
    unsigned lo = 32768, hi = 60999;
    FILE *f;

    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        return -1;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
        perror("wsbench: setrlimit(RLIMIT_NOFILE)");
        return -1;
    }
    if (per_proc > rl.rlim_cur || o->inflight + o->procs + 64 > rl.rlim_cur) {
        fprintf(stderr,
                "wsbench: %u connections over %u process(es) need %llu open "
                "files each, but the limit is %llu; use --procs %llu or "
                "more\n",
                o->conns, o->procs, (unsigned long long)per_proc,
                (unsigned long long)rl.rlim_cur,
                (unsigned long long)((o->conns + rl.rlim_cur - 65)
                                     / (rl.rlim_cur - 64)));
        return -1;
    }
    f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%u %u", &lo, &hi) != 2)
            lo = 32768, hi = 60999;
        fclose(f);
    }
    if ((unsigned long long)o->conns
        > (unsigned long long)(hi - lo + 1) * o->sources) {
        fprintf(stderr,
                "wsbench: %u connections need more than the %u ephemeral "
                "ports of %u source address(es); use --sources %u\n",
                o->conns, hi - lo + 1, o->sources,
                o->conns / (hi - lo + 1) + 1);
        return -1;
    }
    return 0;
}

/* Counter name in the "totals" object at p; -1 when absent. */
static long long
total(const char *p, const char *name)
{
    char key[64];

    snprintf(key, sizeof(key), "\"%s\":", name);
    p = strstr(p, key);
    return p ? atoll(p + strlen(key)) : -1;
}

/* Rss and Pss (kB) of the recovery store in the master's smaps: the
 * shared mapping of sess_size(cap) bytes, page-rounded. -1 when absent. */
static void
store_rss(int master, unsigned cap, long *rss, long *pss)
{
    char path[64], line[512];
    unsigned long want = (sess_size(cap) + 4095) & ~4095ul;
    int in = 0;
    FILE *f;

    *rss = *pss = -1;
    snprintf(path, sizeof(path), "/proc/%d/smaps", master);
    if (master <= 1 || want == 0 || (f = fopen(path, "r")) == NULL)
        return;
    while (fgets(line, sizeof(line), f)) {
        unsigned long a, b;
        char perm[8];
        if (sscanf(line, "%lx-%lx %7s", &a, &b, perm) == 3) {
            in = b - a == want && perm[3] == 's';
            continue;
        }
        if (in && strncmp(line, "Rss:", 4) == 0)
            *rss = atol(line + 4);
        else if (in && strncmp(line, "Pss:", 4) == 0)
            *pss = atol(line + 4);
    }
    fclose(f);
}

/* Worker pids, their RSS and counters (deliveries, heartbeat, recovery)
 * from /socket-stats. */
static void
server_look(const struct wsb_opts *o, struct server_view *v)
{
    static char body[1 << 20];
    const char *p, *w;

    v->npids = 0;
    v->master = 0;
    v->rss_all_kb = v->store_rss_kb = v->store_pss_kb = -1;
    for (size_t i = 0; i < NREC_CTR; i++)
        v->rec[i] = -1;
    v->rss_kb = v->anon_kb = -1;
    v->deliveries = -1;
    v->ping_timeouts = v->ws_ping_timeouts = v->ws_pings_sent = -1;
    v->eio_open = -1;
    v->cpu_workers = v->cpu_master = -1;
    if (o->nserver_pids) {
        v->rss_kb = wsb_rss_kb(o->server_pids, o->nserver_pids);
        v->anon_kb = wsb_anon_kb(o->server_pids, o->nserver_pids);
        v->cpu_workers = 0;
        v->cpu_master = 0;
        for (int i = 0; i < o->nserver_pids && v->cpu_workers >= 0; i++) {
            double c = wsb_proc_cpu(o->server_pids[i], NULL);
            v->cpu_workers = c < 0 ? -1 : v->cpu_workers + c;
        }
        return;
    }
    if (o->proto == WSB_NCHAN)
        return;
    if (o->admin_host[0] == '\0' || o->api_key == NULL
        || wsb_http(o->admin_host, o->admin_port, "GET", "/socket-stats",
                    o->api_key, NULL, body, sizeof(body)) != 200)
        return;
    w = strstr(body, "\"workers\":[");
    for (p = w; p && v->npids < MAX_WORKERS;) {
        const char *q, *slot;
        p = strstr(p, "\"pid\":");
        if (p == NULL)
            break;
        /* "slot" comes just before "pid" in each worker's object */
        for (slot = p; slot > w && *slot != '{'; slot--)
            ;
        slot = strstr(slot, "\"slot\":");
        v->slots[v->npids] = slot && slot < p ? atoi(slot + 7) : -1;
        q = strstr(p, "\"eio_open\":");
        v->wopen[v->npids] = q ? atoll(q + 11) : -1;
        p += 6;
        v->pids[v->npids++] = atoi(p);
    }
    if (v->npids) {
        int master = 0;
        v->rss_kb = wsb_rss_kb(v->pids, v->npids);
        v->anon_kb = wsb_anon_kb(v->pids, v->npids);
        v->cpu_workers = 0;
        for (int i = 0; i < v->npids; i++) {
            double c = wsb_proc_cpu(v->pids[i], &master);
            v->wcpu[i] = c;
            if (v->cpu_workers >= 0)
                v->cpu_workers = c < 0 ? -1 : v->cpu_workers + c;
        }
        if (master > 1) {
            v->cpu_master = wsb_proc_cpu(master, NULL);
            v->master = master;
            if (v->rss_kb >= 0) {
                long m = wsb_rss_kb(&master, 1);
                v->rss_all_kb = m < 0 ? -1 : v->rss_kb + m;
            }
            store_rss(master, o->store_sessions, &v->store_rss_kb,
                      &v->store_pss_kb);
        }
    }
    p = strstr(body, "\"totals\":");
    if (p) {
        v->deliveries = total(p, "deliveries");
        v->ping_timeouts = total(p, "eio_ping_timeouts");
        v->ws_ping_timeouts = total(p, "ws_ping_timeouts");
        v->ws_pings_sent = total(p, "ws_pings_sent");
        v->eio_open = total(p, "eio_open");
        for (size_t i = 0; i < NREC_CTR; i++)
            v->rec[i] = total(p, rec_ctr[i]);
    }
}

static int
read_msg(int fd, uint32_t type, void *p, size_t n)
{
    struct wsb_msg m;

    if (wsb_read_all(fd, &m, sizeof(m)) == -1 || m.type != type
        || m.len != n || wsb_read_all(fd, p, n) == -1)
        return -1;
    return 0;
}

static double
cpu_s(const struct rusage *ru)
{
    return (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6
           + (double)ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
}

struct run {
    struct wsb_opts o;
    pid_t pid[MAX_PROCS];
    int fd[MAX_PROCS];
    struct wsb_shared *sh;
    size_t shlen;
    struct server_view sv0, sv1, sv2;
    struct server_view sv3; /* after the results: every delivery made */
    struct wsb_sub_result sum;
    struct wsb_pub_result pub;
    uint64_t t_begin, t_first, t_last, win_start, win_end;
    double cpu_pub, cpu_sub;
    int hb_fail;
    /* recover */
    struct server_view svl, svh, sva; /* live, held (--rec-hold), after */
    uint64_t t_ref, t_settled, away_want, t_svl, t_sva;
    int victim_slot, victim_pid, rec_timed_out, rec_fail;
    long long victim_sessions;
    uint64_t before_delivered, before_want;
};

static int
spawn(struct run *R)
{
    const struct wsb_opts *o = &R->o;

    fflush(stdout);
    fflush(stderr);
    for (unsigned i = 0; i < o->procs; i++) {
        int sv[2];
        unsigned lo = (unsigned)((uint64_t)o->conns * i / o->procs);
        unsigned hi = (unsigned)((uint64_t)o->conns * (i + 1) / o->procs);

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
            perror("wsbench: socketpair");
            return -1;
        }
        R->pid[i] = fork();
        if (R->pid[i] == -1) {
            perror("wsbench: fork");
            return -1;
        }
        if (R->pid[i] == 0) {
            for (unsigned j = 0; j < i; j++)
                close(R->fd[j]);
            close(sv[0]);
            _exit(wsb_sub_main(o, lo, hi, sv[1], R->sh));
        }
        close(sv[1]);
        R->fd[i] = sv[0];
    }
    return 0;
}

/* Ramp-up reports from every child. */
static int
gather_ready(struct run *R)
{
    R->t_first = UINT64_MAX;
    R->t_last = 0;
    for (unsigned i = 0; i < R->o.procs; i++) {
        struct wsb_ready rd;
        if (read_msg(R->fd[i], WSB_MSG_READY, &rd, sizeof(rd)) == -1) {
            fprintf(stderr, "wsbench: subscriber process %d failed during "
                            "the ramp-up\n", (int)R->pid[i]);
            return -1;
        }
        R->sum.connected += rd.connected;
        R->sum.failed += rd.failed;
        if (rd.t_first && rd.t_first < R->t_first)
            R->t_first = rd.t_first;
        if (rd.t_last > R->t_last)
            R->t_last = rd.t_last;
    }
    return 0;
}

static int collect(struct run *R, const uint64_t *fin, size_t finlen);

/* GO, the window (publishing or holding), FINAL, results. */
static int
measure(struct run *R)
{
    const struct wsb_opts *o = &R->o;
    struct event_base *base = NULL;
    struct wsb_pub *pub = NULL;
    uint64_t *zero = NULL;
    const uint64_t *fin;
    struct wsb_go go;
    size_t finlen = 3 * sizeof(uint64_t) * o->rooms;
    int rc = -1;

    if (o->publish) {
        base = event_base_new();
        if (base == NULL || (pub = wsb_pub_new(base, o, R->sh)) == NULL)
            goto out;
    }
    go.win_start = wsb_now() + (uint64_t)(o->warmup * 1e9);
    go.win_end = go.win_start + (uint64_t)(o->duration * 1e9);
    R->win_start = go.win_start;
    R->win_end = go.win_end;
    for (unsigned i = 0; i < o->procs; i++)
        if (wsb_send_msg(R->fd[i], WSB_MSG_GO, &go, sizeof(go)) == -1)
            goto out;
    if (o->scale) {
        fin = zero = calloc(1, finlen);
        if (zero == NULL
            || wsb_scale_hold(o, R->sv1.pids, R->sv1.npids, R->sv1.master,
                              go.win_end) == -1)
            goto out;
        wsb_scale_final(o, zero);
        R->pub.errors = wsb_scale_errors();
    } else if (pub) {
        wsb_pub_run(pub, go.win_end);
        wsb_pub_result(pub, &R->pub);
        fin = wsb_pub_final(pub);
    } else {
        wsb_sleep_until(go.win_end);
        fin = zero = calloc(1, finlen);
        if (zero == NULL)
            goto out;
    }
    server_look(o, &R->sv2);
    if (o->scale)
        wsb_scale_end(R->sv1.pids, R->sv1.npids, R->sv1.master);
    if (collect(R, fin, finlen) == -1)
        goto out;
    server_look(o, &R->sv3);
    rc = 0;
out:
    wsb_pub_free(&pub);
    if (base)
        event_base_free(base);
    free(zero);
    return rc;
}

/* FINAL to every child, then their results. */
static int
collect(struct run *R, const uint64_t *fin, size_t finlen)
{
    const struct wsb_opts *o = &R->o;

    for (unsigned i = 0; i < o->procs; i++)
        if (wsb_send_msg(R->fd[i], WSB_MSG_FINAL, fin, finlen) == -1)
            return -1;
    for (unsigned i = 0; i < o->procs; i++) {
        struct wsb_sub_result *r = malloc(sizeof(*r));
        if (r == NULL
            || read_msg(R->fd[i], WSB_MSG_RESULT, r, sizeof(*r)) == -1) {
            fprintf(stderr, "wsbench: no result from subscriber process "
                            "%d\n", (int)R->pid[i]);
            free(r);
            return -1;
        }
        R->sum.closed += r->closed;
        R->sum.received += r->received;
        R->sum.in_window += r->in_window;
        R->sum.lost += r->lost;
        R->sum.dup += r->dup;
        R->sum.expected += r->expected;
        R->sum.bad += r->bad;
        R->sum.wrong_room += r->wrong_room;
        R->sum.bytes_in += r->bytes_in;
        wsb_pmd_sum(&R->sum, r);
        R->sum.churn_ok += r->churn_ok;
        R->sum.churn_failed += r->churn_failed;
        R->sum.drained += r->drained;
        wsb_hist_merge(&R->sum.hist, &r->hist);
        wsb_hist_merge(&R->sum.khist, &r->khist);
        R->sum.kstamped += r->kstamped;
        R->sum.rec_away += r->rec_away;
        R->sum.rec_ok += r->rec_ok;
        R->sum.rec_fresh += r->rec_fresh;
        R->sum.rec_mismatch += r->rec_mismatch;
        R->sum.rec_failed += r->rec_failed;
        R->sum.rec_clean += r->rec_clean;
        R->sum.rec_offsetless += r->rec_offsetless;
        if (r->rec_t_last > R->sum.rec_t_last)
            R->sum.rec_t_last = r->rec_t_last;
        if (r->rec_t_lost_last > R->sum.rec_t_lost_last)
            R->sum.rec_t_lost_last = r->rec_t_lost_last;
        wsb_hist_merge(&R->sum.rec_hist, &r->rec_hist);
        wsb_hist_merge(&R->sum.rec_rtt, &r->rec_rtt);
        wsb_hist_merge(&R->sum.rec_lost, &r->rec_lost);
        free(r);
        if (o->hb && wsb_hb_collect(R->fd[i]) == -1) {
            fprintf(stderr, "wsbench: no heartbeat records from subscriber "
                            "process %d\n", (int)R->pid[i]);
            return -1;
        }
    }
    return 0;
}

static void
send_all(struct run *R, uint32_t type, const void *p, size_t n)
{
    for (unsigned i = 0; i < R->o.procs; i++)
        (void)wsb_send_msg(R->fd[i], type, p, n);
}

static void
sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* The recover scenario after the ramp-up: events before, the outage (a
 * worker killed, or every transport closed and held), the reconnects,
 * events after, then the usual FINAL and results. */
static int
measure_recover(struct run *R)
{
    struct wsb_opts *o = &R->o;
    struct event_base *base = NULL;
    struct wsb_pub *pub = NULL;
    struct wsb_go go;
    size_t finlen = 3 * sizeof(uint64_t) * o->rooms;
    uint64_t now, bound, members = 0, last_away, t_change;
    int rc = -1;

    base = event_base_new();
    if (base == NULL || (pub = wsb_pub_new(base, o, R->sh)) == NULL)
        goto out;
    go.win_start = wsb_now();
    go.win_end = go.win_start + 3600000000000ull;
    R->win_start = go.win_start;
    R->win_end = go.win_end;
    send_all(R, WSB_MSG_GO, &go, sizeof(go));
    /* Before: every member gets rec_before events (and so an offset). */
    for (unsigned r = 0; r < o->rooms; r++)
        members += atomic_load_explicit(&R->sh->members[r],
                                        memory_order_relaxed);
    wsb_pub_count(pub, (uint64_t)o->rec_before * o->rooms);
    R->before_want = members * o->rec_before;
    for (bound = wsb_now() + 15000000000ull; wsb_now() < bound;
         sleep_ms(5))
        if (atomic_load_explicit(&R->sh->delivered, memory_order_relaxed)
            >= R->before_want)
            break;
    R->before_delivered = atomic_load_explicit(&R->sh->delivered,
                                               memory_order_relaxed);
    sleep_ms(300); /* workers publish their counters every 100 ms */
    server_look(o, &R->svl);
    R->t_svl = wsb_now();
    R->victim_slot = R->victim_pid = -1;
    if (o->recover == 2) {
        /* Every client closes its transport; wait until the master holds
         * them all, read the store, publish, then reconnect them all. */
        send_all(R, WSB_MSG_CLOSE, NULL, 0);
        R->away_want = R->sum.connected;
        for (bound = wsb_now() + 30000000000ull; wsb_now() < bound;
             sleep_ms(100)) {
            server_look(o, &R->svh);
            if (atomic_load(&R->sh->rec_away) >= R->away_want
                && REC(&R->svh, "recovery_held")
                       >= (long long)R->away_want)
                break;
        }
        sleep_ms(200); /* the last frees settle */
        server_look(o, &R->svh);
        wsb_pub_count(pub, (uint64_t)o->rec_during * o->rooms);
        R->t_ref = wsb_now();
        send_all(R, WSB_MSG_REF, &R->t_ref, sizeof(R->t_ref));
        send_all(R, WSB_MSG_RECONNECT, NULL, 0);
    } else {
        int best = -1;
        for (int i = 0; i < R->svl.npids; i++)
            if (o->rec_victim >= 0 ? R->svl.slots[i] == o->rec_victim
                    : best == -1 || R->svl.wopen[i] > R->svl.wopen[best])
                best = i;
        if (best == -1) {
            fprintf(stderr, "wsbench: recover: no worker to kill (slot %d) "
                            "in /socket-stats\n", o->rec_victim);
            goto out;
        }
        R->victim_slot = R->svl.slots[best];
        R->victim_pid = R->svl.pids[best];
        R->victim_sessions = R->svl.wopen[best];
        R->away_want = R->victim_sessions > 0
            ? (uint64_t)R->victim_sessions : 1;
        R->t_ref = wsb_now();
        if (kill(R->victim_pid, SIGKILL) == -1) {
            perror("wsbench: recover: kill");
            goto out;
        }
        send_all(R, WSB_MSG_REF, &R->t_ref, sizeof(R->t_ref));
        wsb_pub_count(pub, (uint64_t)o->rec_during * o->rooms);
    }
    /* Until every lost session has an outcome and no new loss was seen
     * for 500 ms (bounded). */
    bound = R->t_ref + (uint64_t)(o->rec_timeout * 1e9);
    for (now = wsb_now(), last_away = 0, t_change = now; now < bound;
         now = wsb_now()) {
        uint64_t away = atomic_load(&R->sh->rec_away);
        if (away != last_away)
            last_away = away, t_change = now;
        if (away >= R->away_want && atomic_load(&R->sh->rec_settled) >= away
            && now - t_change >= 500000000ull)
            break;
        sleep_ms(2);
    }
    R->t_settled = wsb_now();
    R->rec_timed_out = R->t_settled >= bound;
    sleep_ms(300); /* workers publish their counters every 100 ms */
    server_look(o, &R->sva);
    R->t_sva = wsb_now();
    wsb_pub_count(pub, (uint64_t)o->rec_after * o->rooms);
    wsb_pub_result(pub, &R->pub);
    server_look(o, &R->sv2);
    if (collect(R, wsb_pub_final(pub), finlen) == -1)
        goto out;
    rc = 0;
out:
    wsb_pub_free(&pub);
    if (base)
        event_base_free(base);
    return rc;
}

static double
ms_after(uint64_t t, uint64_t ref)
{
    return t > ref ? (double)(t - ref) / 1e6 : 0;
}

/* The recover fields: f == stdout, JSON members (,"rec_...":...);
 * otherwise the human summary. Sets R->rec_fail. */
static void
report_recover(struct run *R, FILE *f)
{
    const struct wsb_opts *o = &R->o;
    const struct wsb_sub_result *s = &R->sum;
    const struct wsb_hist *h = &s->rec_hist, *rt = &s->rec_rtt,
                          *lo = &s->rec_lost;
    const struct server_view *held = o->recover == 2 ? &R->svh : &R->svl;
    /* the third point of the JSON arrays: held, or after the reconnects */
    const struct server_view *mid = o->recover == 2 ? &R->svh : &R->sva;
    long long nheld = REC(held, o->recover == 2 ? "recovery_held"
                                                : "recovery_sessions");
    long store_b = R->sv0.store_rss_kb >= 0 && held->store_rss_kb >= 0
                       && nheld > 0
        ? (long)((held->store_rss_kb - R->sv0.store_rss_kb) * 1024 / nheld)
        : -1;
    double last_ms = ms_after(s->rec_t_last, R->t_ref);
    /* Server CPU from before the outage to after the reconnects: the
     * master, and the workers alive after it (a new worker's whole CPU;
     * the killed one's last 300 ms are not in it). */
    double cpu_m = R->svl.cpu_master >= 0 && R->sva.cpu_master >= 0
                       ? R->sva.cpu_master - R->svl.cpu_master : -1;
    double cpu_w = 0;

    for (int i = 0; i < R->sva.npids; i++) {
        double c0 = 0;
        for (int j = 0; j < R->svl.npids; j++)
            if (R->svl.pids[j] == R->sva.pids[i])
                c0 = R->svl.wcpu[j];
        cpu_w += R->sva.wcpu[i] - c0;
    }

    uint64_t done = o->rec_baseline ? s->rec_fresh : s->rec_ok;

    R->rec_fail = s->rec_away < R->away_want || done < s->rec_away
                  || s->rec_clean < done || R->rec_timed_out;
    if (f == stdout) {
        fprintf(f, ",\"rec_mode\":\"%s\",\"rec_victim_slot\":%d,"
                   "\"rec_victim_pid\":%d,\"rec_victim_sessions\":%lld,"
                   "\"rec_jitter_s\":%.3f,\"rec_before\":%u,"
                   "\"rec_during\":%u,\"rec_after\":%u,"
                   "\"rec_before_delivered\":%llu,\"rec_before_want\":%llu,"
                   "\"rec_away\":%llu,\"rec_ok\":%llu,\"rec_fresh\":%llu,"
                   "\"rec_mismatch\":%llu,\"rec_failed\":%llu,"
                   "\"rec_offsetless\":%llu,\"rec_clean\":%llu,"
                   "\"rec_timed_out\":%d,\"rec_last_ms\":%.1f,"
                   "\"rec_p50_ms\":%.1f,\"rec_p90_ms\":%.1f,"
                   "\"rec_p99_ms\":%.1f,\"rec_max_ms\":%.1f,"
                   "\"rec_rtt_p50_ms\":%.1f,\"rec_rtt_p99_ms\":%.1f,"
                   "\"rec_rtt_max_ms\":%.1f,\"rec_lost_p50_ms\":%.1f,"
                   "\"rec_lost_max_ms\":%.1f,\"rec_settled_ms\":%.1f,"
                   "\"rec_cpu_master_s\":%.2f,\"rec_cpu_workers_s\":%.2f,"
                   "\"rec_window_s\":%.2f",
                o->recover == 2 ? (o->rec_baseline ? "hold-baseline" : "hold")
                    : (o->rec_baseline ? "kill-baseline" : "kill"),
                R->victim_slot,
                R->victim_pid, R->victim_sessions, o->rec_jitter,
                o->rec_before, o->rec_during, o->rec_after,
                (unsigned long long)R->before_delivered,
                (unsigned long long)R->before_want,
                (unsigned long long)s->rec_away,
                (unsigned long long)s->rec_ok,
                (unsigned long long)s->rec_fresh,
                (unsigned long long)s->rec_mismatch,
                (unsigned long long)s->rec_failed,
                (unsigned long long)s->rec_offsetless,
                (unsigned long long)s->rec_clean, R->rec_timed_out, last_ms,
                wsb_hist_pct(h, 50) / 1e6, wsb_hist_pct(h, 90) / 1e6,
                wsb_hist_pct(h, 99) / 1e6, h->max / 1e6,
                wsb_hist_pct(rt, 50) / 1e6, wsb_hist_pct(rt, 99) / 1e6,
                rt->max / 1e6, wsb_hist_pct(lo, 50) / 1e6, lo->max / 1e6,
                ms_after(R->t_settled, R->t_ref), cpu_m, cpu_w,
                (double)(R->t_sva - R->t_svl) / 1e9);
        /* Server counters: the change from before the outage to the end,
         * and the gauges before the outage, held and after. */
        for (size_t i = 0; i < NREC_CTR; i++) {
            long long a = R->svl.rec[i], b = R->sv2.rec[i];
            if (strcmp(rec_ctr[i], "recovery_sessions") == 0
                || strcmp(rec_ctr[i], "recovery_held") == 0
                || strcmp(rec_ctr[i], "eio_open") == 0)
                fprintf(f, ",\"srv_%s\":[%lld,%lld,%lld,%lld]", rec_ctr[i],
                        R->sv0.rec[i], a, mid->rec[i], b);
            else
                fprintf(f, ",\"srv_%s\":%lld", rec_ctr[i],
                        a >= 0 && b >= 0 ? b - a : -1);
        }
        fprintf(f, ",\"store_rss_kb\":[%ld,%ld,%ld,%ld],"
                   "\"store_pss_kb\":[%ld,%ld,%ld,%ld],"
                   "\"store_b_per_session\":%ld,\"store_sessions_counted\":%lld,"
                   "\"rss_all_kb\":[%ld,%ld,%ld,%ld]",
                R->sv0.store_rss_kb, R->svl.store_rss_kb, mid->store_rss_kb,
                R->sv2.store_rss_kb, R->sv0.store_pss_kb,
                R->svl.store_pss_kb, mid->store_pss_kb, R->sv2.store_pss_kb,
                store_b, nheld, R->sv0.rss_all_kb, R->svl.rss_all_kb,
                mid->rss_all_kb, R->sv2.rss_all_kb);
        return;
    }
    fprintf(f, "  recover (%s%s): %llu sessions lost their transport "
               "(expected %llu%s): %llu recovered (old sid and pid), "
               "%llu fresh, %llu mismatched, %llu failed; %llu recovered "
               "with every event exactly once\n",
            o->recover == 2 ? "every transport closed by the client"
                            : "worker killed",
            o->rec_jitter > 0 ? ", jittered reconnects" : "",
            (unsigned long long)s->rec_away,
            (unsigned long long)R->away_want,
            R->rec_timed_out ? ", TIMED OUT" : "",
            (unsigned long long)s->rec_ok, (unsigned long long)s->rec_fresh,
            (unsigned long long)s->rec_mismatch,
            (unsigned long long)s->rec_failed,
            (unsigned long long)s->rec_clean);
    if (o->recover == 1)
        fprintf(f, "  killed worker slot %d pid %d (%lld Engine.IO "
                   "sessions)\n", R->victim_slot, R->victim_pid,
                R->victim_sessions);
    fprintf(f, "  reference -> recovered CONNECT reply, ms: p50 %.1f p90 "
               "%.1f p99 %.1f max %.1f (last %.1f); reconnect -> reply p50 "
               "%.1f p99 %.1f max %.1f; loss seen p50 %.1f max %.1f\n",
            wsb_hist_pct(h, 50) / 1e6, wsb_hist_pct(h, 90) / 1e6,
            wsb_hist_pct(h, 99) / 1e6, h->max / 1e6, last_ms,
            wsb_hist_pct(rt, 50) / 1e6, wsb_hist_pct(rt, 99) / 1e6,
            rt->max / 1e6, wsb_hist_pct(lo, 50) / 1e6, lo->max / 1e6);
    fprintf(f, "  server CPU from before the outage to after the "
               "reconnects (%.2f s): master %.2f s, workers alive after "
               "it %.2f s\n", (double)(R->t_sva - R->t_svl) / 1e9, cpu_m,
            cpu_w);
    fprintf(f, "  server: recovery_ok +%lld, failed unknown +%lld offset "
               "+%lld rooms +%lld, replayed_events +%lld, orphaned +%lld\n",
            REC(&R->sv2, "recovery_ok") - REC(&R->svl, "recovery_ok"),
            REC(&R->sv2, "recovery_failed_unknown")
                - REC(&R->svl, "recovery_failed_unknown"),
            REC(&R->sv2, "recovery_failed_offset")
                - REC(&R->svl, "recovery_failed_offset"),
            REC(&R->sv2, "recovery_failed_rooms")
                - REC(&R->svl, "recovery_failed_rooms"),
            REC(&R->sv2, "replayed_events") - REC(&R->svl, "replayed_events"),
            REC(&R->sv2, "recovery_orphaned")
                - REC(&R->svl, "recovery_orphaned"));
    fprintf(f, "  store RSS (master) %ld kB with none -> %ld kB with %lld "
               "%s sessions: %ld bytes per session\n",
            R->sv0.store_rss_kb, held->store_rss_kb, nheld,
            o->recover == 2 ? "held" : "stored", store_b);
}

/* Server CPU seconds of v (workers and master; the --server-pids), -1
 * when unknown. */
static double
server_cpu(const struct server_view *v)
{
    if (v->cpu_workers < 0)
        return -1;
    return v->cpu_workers + (v->cpu_master > 0 ? v->cpu_master : 0);
}

static void
report(struct run *R)
{
    const struct wsb_opts *o = &R->o;
    const struct wsb_sub_result *s = &R->sum;
    const struct wsb_hist *h = &s->hist;
    double ramp = R->t_last > R->t_first
                      ? (double)(R->t_last - R->t_first) / 1e9 : 0;
    double conn_rate = ramp > 0 ? (double)s->connected / ramp : 0;
    double win = o->duration;
    double dps = win > 0 ? (double)s->in_window / win : 0;
    double wall = (double)(wsb_now() - R->t_begin) / 1e9;
    double pubs = R->pub.t_end > R->pub.t_start
        ? (double)R->pub.published
              / ((double)(R->pub.t_end - R->pub.t_start) / 1e9) : 0;
    double cpu = R->cpu_pub + R->cpu_sub;
    long rss_per = -1, anon_per = -1;
    long long sdel = R->sv2.deliveries >= 0 && R->sv0.deliveries >= 0
                         ? R->sv2.deliveries - R->sv0.deliveries : -1;

    double scpu_w = R->sv0.cpu_workers >= 0 && R->sv2.cpu_workers >= 0
                        ? R->sv2.cpu_workers - R->sv0.cpu_workers : -1;
    double scpu_m = R->sv0.cpu_master >= 0 && R->sv2.cpu_master >= 0
                        ? R->sv2.cpu_master - R->sv0.cpu_master : -1;

    /* Server CPU per delivery: from the end of the ramp-up to every
     * result in (the drain included), over every event the clients got
     * in that time, whatever the server. */
    double c1 = server_cpu(&R->sv1), c3 = server_cpu(&R->sv3);
    double pcpu = !o->recover && o->publish && c1 >= 0 && c3 >= c1
                      ? c3 - c1 : -1;
    double us_per = pcpu >= 0 && s->received
                        ? pcpu * 1e6 / (double)s->received : -1;
    const struct wsb_hist *kh = &s->khist;

    if (R->sv0.rss_kb >= 0 && R->sv2.rss_kb >= 0 && s->connected)
        rss_per = (R->sv2.rss_kb - R->sv0.rss_kb) * 1024
                  / (long)s->connected;
    if (R->sv0.anon_kb >= 0 && R->sv2.anon_kb >= 0 && s->connected)
        anon_per = (R->sv2.anon_kb - R->sv0.anon_kb) * 1024
                   / (long)s->connected;
    printf("{\"scenario\":\"%s\",\"proto\":\"%s\",\"conns\":%u,\"connected\":%llu,"
           "\"failed\":%llu,\"closed\":%llu,\"connect_rate\":%.0f,"
           "\"ramp_s\":%.3f,\"rooms\":%u,\"procs\":%u,"
           "\"deliveries_per_s\":%.0f,\"published\":%llu,"
           "\"publish_rate\":%.0f,\"publish_errors\":%llu,"
           "\"expected\":%llu,\"received\":%llu,\"lost\":%llu,\"dup\":%llu,"
           "\"bad\":%llu,\"wrong_room\":%llu,\"drained\":%s,"
           "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,"
           "\"p999_us\":%.1f,\"max_us\":%.1f,\"samples\":%llu,"
           "\"k_p50_us\":%.1f,\"k_p99_us\":%.1f,\"k_p999_us\":%.1f,"
           "\"k_max_us\":%.1f,\"k_stamped\":%llu,"
           "\"server_cpu_pub_s\":%.3f,\"server_us_per_delivery\":%.3f,"
           "\"paused_ms\":%llu,"
           "\"client_cpu_s\":%.2f,\"client_cpu_pub_s\":%.2f,"
           "\"client_cpu_sub_s\":%.2f,\"client_cores\":%.2f,"
           "\"churn_ok\":%llu,\"churn_failed\":%llu,"
           "\"server_rss_before_kb\":%ld,\"server_rss_ramp_kb\":%ld,"
           "\"server_rss_end_kb\":%ld,\"server_rss_per_conn_b\":%ld,"
           "\"server_anon_per_conn_b\":%ld,"
           "\"server_deliveries\":%lld,\"server_cpu_workers_s\":%.2f,"
           "\"server_cpu_master_s\":%.2f,\"duration_s\":%.1f,"
           "\"wall_s\":%.1f",
           o->scenario,
           o->proto == WSB_SIO ? "sio" : o->proto == WSB_NCHAN ? "nchan" : "ws",
           o->conns, (unsigned long long)s->connected,
           (unsigned long long)s->failed, (unsigned long long)s->closed,
           conn_rate, ramp, o->rooms, o->procs, dps,
           (unsigned long long)R->pub.published, pubs,
           (unsigned long long)R->pub.errors,
           (unsigned long long)s->expected, (unsigned long long)s->received,
           (unsigned long long)s->lost, (unsigned long long)s->dup,
           (unsigned long long)s->bad, (unsigned long long)s->wrong_room,
           s->drained == o->procs ? "true" : "false",
           wsb_hist_pct(h, 50) / 1e3, wsb_hist_pct(h, 90) / 1e3,
           wsb_hist_pct(h, 99) / 1e3, wsb_hist_pct(h, 99.9) / 1e3,
           h->max / 1e3, (unsigned long long)h->count,
           wsb_hist_pct(kh, 50) / 1e3, wsb_hist_pct(kh, 99) / 1e3,
           wsb_hist_pct(kh, 99.9) / 1e3, kh->max / 1e3,
           (unsigned long long)s->kstamped, pcpu, us_per,
           (unsigned long long)R->pub.paused_ms, cpu, R->cpu_pub, R->cpu_sub,
           wall > 0 ? cpu / wall : 0, (unsigned long long)s->churn_ok,
           (unsigned long long)s->churn_failed, R->sv0.rss_kb,
           R->sv1.rss_kb, R->sv2.rss_kb, rss_per, anon_per, sdel, scpu_w,
           scpu_m, win,
           wall);
    wsb_pmd_json(stdout, o, s);
    if (o->recover)
        report_recover(R, stdout);
    if (o->scale)
        wsb_scale_json(stdout, s->connected);
    if (o->hb) {
        struct wsb_hb_server hs = {
            {R->sv0.ping_timeouts, R->sv1.ping_timeouts,
             R->sv2.ping_timeouts},
            {R->sv0.ws_ping_timeouts, R->sv1.ws_ping_timeouts,
             R->sv2.ws_ping_timeouts},
            {R->sv0.ws_pings_sent, R->sv1.ws_pings_sent,
             R->sv2.ws_pings_sent},
            {R->sv0.eio_open, R->sv1.eio_open, R->sv2.eio_open},
            {R->sv0.rss_kb, R->sv1.rss_kb, R->sv2.rss_kb}};
        R->hb_fail = wsb_hb_json(stdout, o, &hs);
    }
    printf("}\n");
    fflush(stdout);
    fprintf(stderr,
            "wsbench %s: %llu/%u connected (%llu failed, %llu closed), "
            "%.0f conn/s over %.2f s\n",
            o->scenario, (unsigned long long)s->connected, o->conns,
            (unsigned long long)s->failed, (unsigned long long)s->closed,
            conn_rate, ramp);
    if (o->publish)
        fprintf(stderr,
                "  published %llu (%.0f/s, %llu errors), %.0f deliveries/s "
                "in %.1f s, lost %llu, dup %llu of %llu expected\n"
                "  latency us p50 %.0f p90 %.0f p99 %.0f p99.9 %.0f max %.0f "
                "(%llu samples)\n"
                "  to the kernel's receive time: p50 %.0f p99 %.0f p99.9 %.0f "
                "max %.0f (%llu stamped)\n",
                (unsigned long long)R->pub.published, pubs,
                (unsigned long long)R->pub.errors, dps, win,
                (unsigned long long)s->lost, (unsigned long long)s->dup,
                (unsigned long long)s->expected, wsb_hist_pct(h, 50) / 1e3,
                wsb_hist_pct(h, 90) / 1e3, wsb_hist_pct(h, 99) / 1e3,
                wsb_hist_pct(h, 99.9) / 1e3, h->max / 1e3,
                (unsigned long long)h->count, wsb_hist_pct(kh, 50) / 1e3,
                wsb_hist_pct(kh, 99) / 1e3, wsb_hist_pct(kh, 99.9) / 1e3,
                kh->max / 1e3, (unsigned long long)s->kstamped);
    if (o->churn > 0)
        fprintf(stderr, "  churn: %llu reconnected (%.0f/s), %llu failed\n",
                (unsigned long long)s->churn_ok,
                win > 0 ? (double)s->churn_ok / win : 0,
                (unsigned long long)s->churn_failed);
    if (rss_per >= 0)
        fprintf(stderr, "  server RSS %ld -> %ld kB: %ld bytes/connection"
                        " (anonymous: %ld)\n",
                R->sv0.rss_kb, R->sv2.rss_kb, rss_per, anon_per);
    fprintf(stderr, "  client CPU %.2f s (publisher %.2f, subscribers %.2f) "
                    "= %.2f cores over %.1f s\n",
            cpu, R->cpu_pub, R->cpu_sub, wall > 0 ? cpu / wall : 0, wall);
    if (scpu_w >= 0)
        fprintf(stderr, "  server CPU %.2f s in workers, %.2f s in master "
                        "(until the end of the window)\n", scpu_w, scpu_m);
    if (us_per >= 0)
        fprintf(stderr, "  server CPU %.3f s from the end of the ramp-up to "
                        "the last delivery: %.3f us per delivery\n",
                pcpu, us_per);
    if (o->hb)
        wsb_hb_summary();
    if (o->recover)
        report_recover(R, stderr);
    if (o->scale)
        wsb_scale_summary(s->connected);
}

int
main(int argc, char **argv)
{
    static struct run R;
    struct wsb_opts *o = &R.o;
    struct rusage ru;
    unsigned alive = 0;
    int rc = 2;

    *o = (struct wsb_opts){
        .host = "127.0.0.1", .port = 3001, .path = "/ws",
        .scenario = "custom", .conns = 100, .rooms = 4, .rate = 1000,
        .inflight = 2, .batch = 1, .duration = 5, .warmup = 1, .drain = 5,
        .conn_timeout = 10, .sources = 1, .procs = 1, .concurrency = 256,
        .max_lag = LAG_AUTO, .publish = 1, .rec_before = 2, .rec_during = 3,
        .rec_after = 2, .rec_timeout = 60, .rec_victim = -1,
        .store_sessions = 100000, .scale_interval = 10};
    parse_args(o, argc, argv);
    if (o->nurl == 0) { /* the default URL: one node */
        strcpy(o->url_nodes[0].host, o->host);
        o->url_nodes[0].port = o->port;
        o->nurl = 1;
    }
    if (o->nadmin == 0) {
        strcpy(o->admin_nodes[0].host, o->admin_host);
        o->admin_nodes[0].port = o->admin_port;
        o->nadmin = 1;
    }
    if (o->max_lag == LAG_AUTO)
        o->max_lag = o->rate == 0
                         ? (o->conns < 1000 ? 200ull * o->conns : 200000)
                         : 0;
    if (o->procs > o->conns)
        o->procs = o->conns;
    if (o->scale && (o->admin_host[0] == '\0' || o->api_key == NULL
                     || o->proto == WSB_NCHAN || o->nserver_pids)) {
        fprintf(stderr, "wsbench: scale needs wsgate's --admin and "
                        "--api-key (ws or sio, no --server-pids)\n");
        return 2;
    }
    if (o->publish && (o->admin_host[0] == '\0'
                       || (o->api_key == NULL && o->proto != WSB_NCHAN))) {
        fprintf(stderr, "wsbench: publishing needs --admin and --api-key "
                        "(or --no-publish)\n");
        return 2;
    }
    if (o->proto == WSB_NCHAN && o->publish && o->batch > 1) {
        fprintf(stderr, "wsbench: --proto nchan publishes one message per "
                        "request: use --batch 1\n");
        return 2;
    }
    if (o->shape != WSB_SHAPE_ROOM
        && (o->proto == WSB_NCHAN || o->recover
            || (o->shape == WSB_SHAPE_ALL && o->rooms != 1)
            || (o->shape == WSB_SHAPE_USER && o->secret == NULL)
            || ((o->shape == WSB_SHAPE_EMIT) != (o->redis.port != 0)))) {
        fprintf(stderr, "wsbench: --shape: wsgate only, not with recover; "
                        "all needs --rooms 1, user needs --secret, emit "
                        "(and only emit) --redis\n");
        return 2;
    }
    if (o->tls_ca && o->hb) {
        fprintf(stderr, "wsbench: --tls-ca: not with --silent\n");
        return 2;
    }
    if (o->hb && (o->proto != WSB_SIO || o->silent > o->conns)) {
        fprintf(stderr, "wsbench: --silent (heartbeat) needs --proto sio "
                        "and at most -n sessions\n");
        return 2;
    }
    if (o->recover && (o->proto != WSB_SIO || o->nserver_pids
                       || o->admin_host[0] == '\0' || o->api_key == NULL)) {
        fprintf(stderr, "wsbench: recover needs --proto sio, wsgate's "
                        "--admin and --api-key, and no --server-pids\n");
        return 2;
    }
    if (o->token == NULL && o->secret == NULL && o->proto != WSB_NCHAN) {
        fprintf(stderr, "wsbench: need --token or --secret\n");
        return 2;
    }
    if (check_limits(o) == -1)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    R.shlen = sizeof(struct wsb_shared) + sizeof(uint64_t) * o->rooms;
    R.sh = mmap(NULL, R.shlen, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (R.sh == MAP_FAILED) {
        perror("wsbench: mmap");
        return 2;
    }
    if (o->scale && wsb_scale_init() == -1)
        return 2;
    R.t_begin = wsb_now();
    server_look(o, &R.sv0);
    if (o->scale)
        wsb_scale_before(R.sv0.pids, R.sv0.npids, R.sv0.master);
    if (spawn(&R) == -1)
        goto out;
    alive = o->procs;
    if (gather_ready(&R) == -1)
        goto out;
    server_look(o, &R.sv1);
    if ((o->recover ? measure_recover(&R) : measure(&R)) == -1)
        goto out;
    getrusage(RUSAGE_SELF, &ru);
    R.cpu_pub = cpu_s(&ru);
    rc = 0;
out:
    for (unsigned i = 0; i < alive; i++) {
        int st;
        if (rc != 0)
            kill(R.pid[i], SIGTERM);
        close(R.fd[i]);
        if (waitpid(R.pid[i], &st, 0) == R.pid[i] && rc == 0
            && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            fprintf(stderr, "wsbench: subscriber process %d ended badly\n",
                    (int)R.pid[i]);
            rc = 2;
        }
    }
    if (rc != 0)
        return 2;
    getrusage(RUSAGE_CHILDREN, &ru);
    R.cpu_sub = cpu_s(&ru);
    report(&R);
    if (R.sum.lost || R.sum.dup || R.pub.errors || R.sum.bad
        || R.sum.wrong_room || (o->publish && R.sum.closed)
        || (o->strict && (R.sum.failed || R.sum.closed
                          || R.sum.connected < o->conns))
        || R.hb_fail || R.rec_fail)
        return 1;
    return 0;
}
