/*
 * wsbench: shared declarations of the load generator. The parent process
 * (wsbench.c) parses options, forks the subscriber processes (wsb_sub.c),
 * drives the publisher (wsb_pub.c) and aggregates; wsb_util.c holds the
 * histogram, clocks, token signing and small helpers. Parent and children
 * talk over one socketpair each with fixed-layout messages (struct wsb_msg).
 */
#ifndef WSGATE_BENCH_WSB_H
#define WSGATE_BENCH_WSB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define WSB_MAX_ROOMS 1000000
#define WSB_MAX_BATCH 10000
#define WSB_MAX_SOURCES 254

/* Wire protocol of the subscribers and the publisher (--proto). */
enum wsb_proto {
    WSB_WS = 0, /* wsgate /ws JSON; publish on the admin /api/publish */
    WSB_SIO,    /* Socket.IO v5 over Engine.IO v4 WebSocket; same publish */
    WSB_NCHAN   /* nchan: subscribe by URL, raw body frames; POST /pub/ROOM */
};
/* How a message is addressed (--shape; wsb_pub.c builds the bodies).
 * Accounting stays per room R (connection i is in R = i mod --rooms, the
 * data carries "r":R and R's sequence), whatever the shape. */
enum wsb_shape {
    WSB_SHAPE_ROOM = 0, /* {"room":"bench:R"} */
    WSB_SHAPE_ROOMS10,  /* {"rooms":["bench:R.0",..,"bench:R.9"]}: R's
                           members spread over 10 server rooms, one each */
    WSB_SHAPE_ALL,      /* no target: everyone (only with --rooms 1) */
    WSB_SHAPE_USER,     /* {"user":"benchu<R>"}: R's members are that user */
    WSB_SHAPE_EMIT      /* a @socket.io/redis-emitter broadcast to room
                           bench:R except bench:<R+1 mod rooms>, published
                           on the Redis at --redis (wsb_pub.c) */
};
#define WSB_SHAPE_FANOUT 10 /* server rooms per rooms10 publish */
#define WSB_MAX_SERVER_PIDS 16
#define WSB_MAX_NODES 8

/* One node of a cluster: a numeric IPv4 host and a port. */
struct wsb_node {
    char host[64];
    unsigned port;
};

/* Options after parsing and scenario presets (wsbench.c). */
struct wsb_opts {
    int proto;            /* enum wsb_proto */
    char host[64];        /* public host (numeric IPv4) */
    unsigned port;        /* public port */
    char path[128];       /* /ws; sio: /socket.io/?EIO=4&transport=websocket;
                             nchan: prefix the room is appended to (/sub/) */
    char admin_host[64];  /* admin host, "" when --admin is absent */
    unsigned admin_port;
    /* --url and --admin given more than once (a cluster): connection i
     * goes to url_nodes[(i / rooms) % nurl], so every room has members
     * on every node, and publish connection j to admin_nodes[j % nadmin].
     * host, port, admin_host and admin_port are the first of each. */
    struct wsb_node url_nodes[WSB_MAX_NODES], admin_nodes[WSB_MAX_NODES];
    unsigned nurl, nadmin;
    const char *api_key;  /* bearer for the admin port */
    const char *tls_ca;   /* --tls-ca: WebSockets over TLS (wss), the
                             server's certificate verified against it */
    const char *token;    /* one token for every connection */
    const char *secret;   /* or: sign one HS256 token per connection */
    const char *scenario;
    unsigned conns;       /* -n */
    unsigned rooms;       /* connection i joins bench:<i mod rooms> */
    double rate;          /* messages/s; 0 = as fast as accepted */
    unsigned inflight;    /* concurrent publish requests */
    unsigned batch;       /* messages per POST */
    unsigned payload;     /* extra padding bytes per message */
    double duration;      /* measured window, s */
    double warmup;        /* publishing before the window, s */
    double drain;         /* bound on waiting for the last deliveries, s */
    double conn_timeout;  /* per connection: connect + 101 + ack, s */
    unsigned sources;     /* 127.0.0.1 .. 127.0.0.<sources> */
    unsigned procs;       /* subscriber processes */
    unsigned concurrency; /* handshakes in progress per process */
    double churn;         /* reconnects/s during the window (churn) */
    uint64_t max_lag;     /* deliveries outstanding before publish pauses */
    int publish;          /* 0: no publisher (idle, connect, churn) */
    int shape;            /* enum wsb_shape (--shape) */
    struct wsb_node redis; /* --redis: where --shape emit publishes */
    int json;
    int strict;           /* failed connections also fail the run */
    int server_pids[WSB_MAX_SERVER_PIDS]; /* --server-pids: RSS and CPU of
                             these instead of /socket-stats' workers */
    int nserver_pids;
    int hb;               /* heartbeat records (--scenario heartbeat,
                             --silent); sio only */
    unsigned silent;      /* sessions that never answer an Engine.IO ping */
    const char *hb_log;   /* --hb-log: every ping time, per session */
    int recover;          /* connection state recovery (--scenario recover);
                             sio only: 1 = SIGKILL a worker, 2 = --rec-hold
                             (the clients close their transports) */
    unsigned rec_before, rec_during, rec_after; /* messages per room */
    double rec_jitter;    /* reconnect after a random 0..rec_jitter s */
    double rec_timeout;   /* bound on waiting for the reconnects, s */
    int rec_victim;       /* worker slot to kill; -1: the busiest */
    unsigned store_sessions; /* the server's max_recoverable_sessions */
    int rec_baseline;     /* --rec-baseline: reconnect without pid and
                             offset, subscribe again (fresh sessions) */
    int deflate;          /* --deflate: offer permessage-deflate, inflate
                             RSV1 frames (wsb_pmd.c) */
    int payload_json;     /* --payload-json: the padding is a CRM-like JSON
                             body (wsb_pmd.c), o->payload its length */
    int scale;            /* --scenario scale: the hold of wsb_scale.c */
    double scale_interval; /* s between its publish rounds */
};

/*
 * Latency histogram, HDR style: values below 128 ns have their own bucket,
 * above that each power of two has 64 buckets (under 1.6 % error). Fixed
 * size; recording is an index computation and an increment.
 */
#define WSB_HIST_N (64 * 36)
struct wsb_hist {
    uint64_t b[WSB_HIST_N];
    uint64_t count;
    uint64_t max;
};

/* What one subscriber process reports at the end. */
struct wsb_sub_result {
    uint64_t connected;    /* reached the subscribe ack (ramp-up) */
    uint64_t failed;       /* connect, handshake, auth or ack failed */
    uint64_t closed;       /* ready connections closed by the server */
    uint64_t t_first;      /* first connect started, monotonic ns */
    uint64_t t_last;       /* last connection ready, monotonic ns */
    uint64_t received;     /* event messages, whole run */
    uint64_t in_window;    /* event messages received in the window */
    uint64_t lost;         /* gaps + never received, whole run */
    uint64_t dup;          /* repeated or regressed sequence numbers */
    uint64_t expected;     /* sum over rooms of members x published */
    uint64_t bad;          /* event messages the parser could not read */
    uint64_t wrong_room;   /* "r" differs from the connection's room */
    uint64_t bytes_in;
    uint64_t churn_ok;     /* reconnections completed under churn */
    uint64_t churn_failed;
    uint64_t drained;      /* 1 if every member caught up before --drain */
    struct wsb_hist hist;  /* latency of messages received in window:
                              publisher's clock reading before its send
                              -> this process's after its recv */
    struct wsb_hist khist; /* the same messages, to the kernel's receive
                              time (SO_TIMESTAMPNS): the subscriber's
                              own queueing left out (the recv time when
                              the kernel gave no stamp) */
    uint64_t kstamped;     /* of those, messages with a kernel stamp */
    /* recover: one outcome per reconnect attempt (rec_away of them) */
    uint64_t rec_away;     /* ready sessions whose transport went away */
    uint64_t rec_ok;       /* reply 40 with the old sid and pid */
    uint64_t rec_fresh;    /* reply 40 with a new pid: a fresh session */
    uint64_t rec_mismatch; /* old pid but another sid, or no pid */
    uint64_t rec_failed;   /* no reply 40 (refused, timed out, closed) */
    uint64_t rec_clean;    /* recovered, then every message of its room
                              exactly once, in order, to the end */
    uint64_t rec_offsetless; /* away before any event: no offset to send */
    uint64_t rec_t_last;   /* latest recovered reply, monotonic ns */
    uint64_t rec_t_lost_last; /* latest transport loss seen, monotonic ns */
    struct wsb_hist rec_hist;  /* reference time -> recovered reply */
    struct wsb_hist rec_rtt;   /* reconnect started -> recovered reply */
    struct wsb_hist rec_lost;  /* reference time -> transport loss seen */
    /* --deflate: compressed text frames, their payload bytes on the wire
     * and after inflating */
    uint64_t pmd_frames, pmd_bytes, pmd_inflated;
};

/* Parent <-> child messages: a header, then len bytes. */
enum wsb_msg_type {
    WSB_MSG_READY = 1, /* child -> parent: ramp-up over, wsb_ready */
    WSB_MSG_GO,        /* parent -> child: wsb_go */
    WSB_MSG_FINAL,     /* parent -> child: uint64 last[rooms], last_ok[rooms],
                          failed[rooms] (see wsb_pub_last) */
    WSB_MSG_RESULT,    /* child -> parent: wsb_sub_result */
    WSB_MSG_HB,        /* child -> parent, after RESULT when o->hb:
                          wsb_hb_head, then head.n wsb_hb_rec */
    WSB_MSG_REF,       /* parent -> child (recover): uint64 reference
                          time, the kill or the close, monotonic ns */
    WSB_MSG_CLOSE,     /* parent -> child (--rec-hold): close every ready
                          transport and wait for RECONNECT */
    WSB_MSG_RECONNECT  /* parent -> child (--rec-hold): reconnect them */
};
struct wsb_msg {
    uint32_t type;
    uint32_t pad;
    uint64_t len;
};
struct wsb_ready {
    uint64_t connected, failed, t_first, t_last;
};
struct wsb_go {
    uint64_t win_start, win_end; /* monotonic ns */
};

/*
 * Progress shared with the parent through an anonymous MAP_SHARED mapping
 * made before fork: children add deliveries, the parent reads them to
 * bound the publisher's lead (--max-lag). Relaxed atomics only.
 */
struct wsb_shared {
    _Atomic uint64_t delivered;
    /* recover: progress of the reconnects, summed over the children */
    _Atomic uint64_t rec_away, rec_settled;
    _Atomic uint64_t members[]; /* per room, added at subscribe ack */
};

/* wsb_sub.c: run one subscriber process over connections [lo, hi). Returns
 * the exit status. Takes fd (the control socket). */
int wsb_sub_main(const struct wsb_opts *o, unsigned lo, unsigned hi, int fd,
                 struct wsb_shared *sh);

/* wsb_pub.c, for o->shape: the server room that connection idx of
 * accounting room `room` subscribes to, and the user its token names
 * (benchN when the shape does not care). */
void wsb_shape_room(const struct wsb_opts *o, unsigned idx, unsigned room,
                    char *out, size_t cap);
void wsb_shape_user(const struct wsb_opts *o, unsigned idx, unsigned room,
                    char *out, size_t cap);
/* wsb_pub.c: the publisher, run by the parent on its own event base. */
struct wsb_pub_result {
    uint64_t published;    /* messages acknowledged by the server */
    uint64_t requests;
    uint64_t errors;       /* messages in failed requests */
    uint64_t paused_ms;    /* time held back by --max-lag */
    uint64_t t_start, t_end;
};
struct wsb_pub;
struct event_base;
/* Connect the publish connections. Returns NULL after printing why. */
struct wsb_pub *wsb_pub_new(struct event_base *base, const struct wsb_opts *o,
                            struct wsb_shared *sh);
/* Publish from now until t_end (monotonic ns), then wait up to 5 s for the
 * answers in flight. Runs base. */
void wsb_pub_run(struct wsb_pub *p, uint64_t t_end);
/* Publish exactly n more messages (rooms in turn, --batch per POST, as
 * fast as answered) and wait for their answers; bounded by 30 s. */
void wsb_pub_count(struct wsb_pub *p, uint64_t n);
/* Per room: highest sequence number assigned, highest one the server
 * acknowledged, and how many messages failed; three arrays of o->rooms,
 * in that order in one block (the FINAL message's payload). */
const uint64_t *wsb_pub_final(const struct wsb_pub *p);
void wsb_pub_result(const struct wsb_pub *p, struct wsb_pub_result *r);
void wsb_pub_free(struct wsb_pub **pp);

/*
 * Heartbeat records (wsb_hb.c). One per session of a subscriber process,
 * filled as its Engine.IO packets arrive; times are monotonic ns (one
 * clock for every process of the machine), 0 when it did not happen.
 */
enum wsb_hb_how {          /* how the server ended a session */
    WSB_HB_OPEN = 0,       /* it did not (still open at the end) */
    WSB_HB_WS_CLOSE,       /* WebSocket close frame (code in rec.code) */
    WSB_HB_EIO_CLOSE,      /* Engine.IO close packet "1" */
    WSB_HB_SIO_DISCONNECT, /* Socket.IO DISCONNECT "41" */
    WSB_HB_EOF,            /* TCP closed without a close frame */
    WSB_HB_ERROR,          /* recv or send failed (reset) */
    WSB_HB_OTHER,          /* the client gave up (bad frame, timeout...) */
    WSB_HB__COUNT
};
struct wsb_hb_rec {
    uint32_t idx;          /* connection number */
    uint8_t silent;        /* never answers an Engine.IO ping */
    uint8_t member;        /* reached the subscribe ack */
    uint8_t how;           /* enum wsb_hb_how */
    uint8_t reason_pt;     /* the close frame's reason was "ping timeout" */
    uint32_t code;         /* close frame status code, 0 without one */
    uint32_t pings;        /* Engine.IO pings "2" received */
    uint32_t ws_pings;     /* WebSocket ping frames received (answered) */
    uint32_t early;        /* gaps shorter than ping_interval - tick - 2 ms */
    uint64_t t_open;       /* Engine.IO open packet received */
    uint64_t first_ping, last_ping;
    uint64_t min_gap, max_gap; /* between consecutive pings; 0: < 2 pings */
    uint64_t closed_at;    /* when the server's close was read */
};
struct wsb_hb_head {
    struct wsb_hist gaps;  /* every gap between consecutive pings of
                              answering sessions */
    int64_t ping_interval_ms, ping_timeout_ms; /* from the open packets;
                              -1 when none arrived */
    uint64_t open_mismatch; /* open packets announcing other values */
    uint64_t loop_lag_max; /* ns: worst lateness of the 20 ms tick */
    uint64_t stamped, unstamped; /* reads with and without the kernel's
                              receive time (SO_TIMESTAMPNS) */
    uint64_t n;            /* records that follow */
};
/* Subscriber side, over connections [lo, lo + n) of one process. */
int wsb_hb_init(const struct wsb_opts *o, unsigned lo, unsigned n);
int wsb_hb_is_silent(const struct wsb_opts *o, unsigned idx);
/* The Engine.IO open packet p[0..len) of local connection i. */
void wsb_hb_open(unsigned i, const unsigned char *p, size_t len,
                 uint64_t now);
void wsb_hb_ping(unsigned i, uint64_t now);
void wsb_hb_ws_ping(unsigned i);
void wsb_hb_member(unsigned i);
/* The server ended i (the first call counts); reason may be NULL. */
void wsb_hb_close(unsigned i, enum wsb_hb_how how, unsigned code,
                  const unsigned char *reason, size_t rlen, uint64_t now);
void wsb_hb_lag(uint64_t late_ns);
/* recv on fd (a socket with SO_TIMESTAMPNS) into buf; *at gets the
 * kernel's receive time of the data on CLOCK_MONOTONIC (on loopback about
 * when the server wrote it), or the time now when the kernel gave none, so
 * the records do not depend on how late the subscriber's loop reads.
 * Returns what recvmsg returns. */
ssize_t wsb_hb_recv(int fd, void *buf, size_t len, uint64_t *at);
/* Write --hb-log, then send WSB_MSG_HB on fd; 0 or -1. */
int wsb_hb_send(int fd);
void wsb_hb_free(void);
/* Parent side: read one WSB_MSG_HB from fd into the sums; 0 or -1. */
int wsb_hb_collect(int fd);
/* Server counters the parent read before the ramp, after it and at the
 * end of the window (-1: unknown); rss: the workers' VmRSS, kB. */
struct wsb_hb_server {
    long long ping_timeouts[3], ws_ping_timeouts[3], ws_pings_sent[3];
    long long eio_open[3];
    long rss_kb[3];
};
/* Check the collected records: returns 1 when the run failed (a session
 * never reached the ack, an answering session was closed, a silent one
 * was not closed within [ping_timeout - tolerance, ping_timeout + 2 ticks]
 * of its first ping, or a ping came early), else 0. Then append the
 * heartbeat fields (,"hb_...":...) to the JSON line being printed on f. */
int wsb_hb_json(FILE *f, const struct wsb_opts *o,
                const struct wsb_hb_server *sv);
/* The human summary of the same, on stderr (after wsb_hb_json). */
void wsb_hb_summary(void);

/*
 * Scale hold (wsb_scale.c, --scenario scale). Parent: wsb_scale_init
 * before fork (a shared mapping); wsb_scale_before with the server's pids
 * before the ramp; wsb_scale_hold instead of the window: one interval
 * idle, then every interval everyone + every room, until t_end (monotonic
 * ns; floor(duration / interval) rounds, at most 64); wsb_scale_final
 * fills the FINAL payload (3 x rooms uint64: [0] the rounds of everyone
 * published, [1] those of the rooms, as bit masks); wsb_scale_end after
 * the results; then wsb_scale_json / wsb_scale_summary. Subscriber:
 * wsb_scale_sub_init(n), wsb_scale_data per event of local connection i,
 * wsb_scale_has_all (caught up), wsb_scale_account (expected and lost
 * into res), wsb_scale_sub_flush before RESULT.
 */
int wsb_scale_init(void);
void wsb_scale_before(const int *pids, int npids, int master);
int wsb_scale_hold(const struct wsb_opts *o, const int *pids, int npids,
                   int master, uint64_t t_end);
void wsb_scale_final(const struct wsb_opts *o, uint64_t *fin);
void wsb_scale_end(const int *pids, int npids, int master);
uint64_t wsb_scale_errors(void);
void wsb_scale_json(FILE *f, uint64_t members);
void wsb_scale_summary(uint64_t members);
int wsb_scale_sub_init(unsigned n);
void wsb_scale_sub_free(void);
void wsb_scale_data(const struct wsb_opts *o, unsigned i, unsigned room,
                    uint64_t t, uint64_t s, uint64_t r, uint64_t now,
                    struct wsb_sub_result *res);
int wsb_scale_has_all(unsigned i, const uint64_t *fin);
void wsb_scale_account(unsigned i, const uint64_t *fin,
                       struct wsb_sub_result *res);
void wsb_scale_sub_flush(void);

/* wsb_util.c */
uint64_t wsb_now(void); /* CLOCK_MONOTONIC, ns */
/* Sleep until wsb_now() reaches t (ns). */
void wsb_sleep_until(uint64_t t);
/* CLOCK_REALTIME - CLOCK_MONOTONIC now, ns (kernel stamps are REALTIME). */
int64_t wsb_rt_off(void);
/* recvmsg on fd (a socket with SO_TIMESTAMPNS) into buf; *now gets
 * wsb_now() after it, *kt the kernel's receive time of the last byte read
 * on CLOCK_MONOTONIC (with rt_off from wsb_rt_off; on loopback about when
 * the server's write went through), 0 when it gave none. Returns what
 * recvmsg returns. */
ssize_t wsb_recv_stamped(int fd, void *buf, size_t len, int64_t rt_off,
                         uint64_t *now, uint64_t *kt);
void wsb_hist_add(struct wsb_hist *h, uint64_t v);
void wsb_hist_merge(struct wsb_hist *dst, const struct wsb_hist *src);
uint64_t wsb_hist_pct(const struct wsb_hist *h, double pct); /* ns */
/* HS256 JWT {"sub":user,"iat","exp"} into out; returns its length or 0. */
size_t wsb_jwt(char *out, size_t cap, const char *secret, const char *user,
               long ttl);
void wsb_b64(const unsigned char *in, size_t n, char *out); /* NUL-ends */
/* Write/read exactly n bytes on a blocking fd; 0 or -1. */
int wsb_write_all(int fd, const void *p, size_t n);
int wsb_read_all(int fd, void *p, size_t n);
int wsb_send_msg(int fd, uint32_t type, const void *p, size_t n);
/* One blocking HTTP/1.1 request to host:port (bounded by 5 s); the body of
 * the answer into out (NUL-ended). Returns the status or -1. */
int wsb_http(const char *host, unsigned port, const char *method,
             const char *path, const char *bearer, const char *body,
             char *out, size_t cap);
/* Sum of VmRSS, or of smaps_rollup's Anonymous (private heap and
 * stacks: what a connection costs in userland, without the code and
 * shared pages VmRSS also counts), in kB over pids; -1 when one cannot be
 * read. */
long wsb_rss_kb(const int *pids, int n);
long wsb_anon_kb(const int *pids, int n);
/* The number after key in the file at path (a /proc kB line), or -1. */
long wsb_kv_kb(const char *path, const char *key);
/* CPU time (user + system, s) of pid from /proc, -1 if unreadable; *ppid
 * gets its parent when ppid is not NULL. */
double wsb_proc_cpu(int pid, int *ppid);

/*
 * wsb_pmd.c: --deflate and --payload-json. wsb_pmd_offer(): the header line
 * a connection adds to its upgrade (static). wsb_pmd_agreed(head): head is
 * the NUL-ended 101 reply; 1 if it agreed permessage-deflate with
 * server_no_context_takeover, 0 if no compression, -1 if agreed with
 * context takeover (not supported). wsb_pmd_inflate(): inflate one
 * message in[0..n) (borrowed), count it in *r; returns the text in a
 * buffer of the process valid until the next call, and its length in
 * *outlen, or NULL when it does not inflate (or exceeds 1 MiB).
 * wsb_pmd_sum() adds r's counts to sum; wsb_pmd_json() prints them and
 * bytes_in as JSON members (server CPU per delivery is the report's
 * server_us_per_delivery). wsb_pad_fill(): pad[0..o->payload] with the
 * padding ('x' or the --payload-json body) and a NUL; wsb_pad_json_len():
 * the length of that body.
 */
const char *wsb_pmd_offer(void);
int wsb_pmd_agreed(const char *head);
const unsigned char *wsb_pmd_inflate(struct wsb_sub_result *r,
                                     const unsigned char *in, size_t n,
                                     size_t *outlen);
void wsb_pmd_sum(struct wsb_sub_result *sum, const struct wsb_sub_result *r);
void wsb_pmd_json(FILE *f, const struct wsb_opts *o,
                  const struct wsb_sub_result *s);
unsigned wsb_pad_json_len(void);
void wsb_pad_fill(char *pad, const struct wsb_opts *o);

#endif
