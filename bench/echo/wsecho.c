/*
 * wsecho: WebSocket echo round trips against wsgate's /echo test endpoint
 * (echo_app = on). Each of N connections keeps one message in flight:
 * send, wait for the echo, send again; the run reports round trips per
 * second and the round-trip time percentiles. Bounded by --duration and
 * ends by itself. Plain epoll and the project's frame codec; separate from
 * wsbench because it measures the request/response path, not fan-out.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/wsf.h"

#define ECHO_BUF 65536

struct econn {
    int fd;
    int upgraded;
    size_t have;
    int64_t sent_ns;
    unsigned char in[ECHO_BUF];
};

static int64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static int
send_msg(struct econn *c, size_t size)
{
    static const unsigned char key[4] = {1, 2, 3, 4};
    unsigned char buf[WSF_MAX_HDR + 4096];
    size_t h = wsf_build_hdr_masked(buf, WSF_OP_BINARY, 1, 0, size, key);

    memset(buf + h, 'x', size);
    wsf_unmask(buf + h, size, key, 0);
    c->sent_ns = now_ns();
    return write(c->fd, buf, h + size) == (ssize_t)(h + size) ? 0 : -1;
}

int
main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 3001, n = 1, duration = 5, size = 32, ep;
    static const struct option lo[] = {
        {"port", required_argument, NULL, 'p'},
        {"conns", required_argument, NULL, 'n'},
        {"duration", required_argument, NULL, 'd'},
        {"size", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int o;

    while ((o = getopt_long(argc, argv, "p:n:d:s:h", lo, NULL)) != -1) {
        switch (o) {
        case 'p': port = atoi(optarg); break;
        case 'n': n = atoi(optarg); break;
        case 'd': duration = atoi(optarg); break;
        case 's': size = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: wsecho [--port P] [--conns N] "
                "[--duration S] [--size BYTES<=4096]\n"
                "  echo round trips on ws://127.0.0.1:P/echo (echo_app = on)"
                "\n");
            return o == 'h' ? 0 : 2;
        }
    }
    if (n < 1 || n > 15000 || size < 0 || size > 4096 || duration < 1
        || duration > 120) {
        fprintf(stderr, "wsecho: bad arguments\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    struct econn *cs = calloc((size_t)n, sizeof(*cs));
    size_t cap = 1 << 20, cnt = 0;
    int64_t *rtt = malloc(cap * sizeof(*rtt));
    ep = epoll_create1(0);
    if (cs == NULL || rtt == NULL || ep == -1)
        return 1;
    struct sockaddr_in sa = {.sin_family = AF_INET,
        .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    for (int i = 0; i < n; i++) {
        char req[256];
        int on = 1, len;
        cs[i].fd = socket(AF_INET, SOCK_STREAM, 0);
        if (cs[i].fd == -1
            || connect(cs[i].fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
            perror("wsecho: connect");
            return 1;
        }
        setsockopt(cs[i].fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
        len = snprintf(req, sizeof(req), "GET /echo HTTP/1.1\r\nHost: %s\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n", host);
        if (write(cs[i].fd, req, (size_t)len) != len)
            return 1;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    int64_t start = 0, end = 0, t0 = now_ns();
    long rounds = 0;
    struct epoll_event evs[256];
    for (;;) {
        int64_t t = now_ns();
        if (start && t >= end)
            break;
        if (!start && t - t0 > 30LL * 1000000000) {
            fprintf(stderr, "wsecho: upgrades did not complete\n");
            return 1;
        }
        int k = epoll_wait(ep, evs, 256, 100);
        for (int e = 0; e < k; e++) {
            struct econn *c = evs[e].data.ptr;
            ssize_t r = read(c->fd, c->in + c->have, ECHO_BUF - c->have);
            if (r <= 0) {
                fprintf(stderr, "wsecho: connection closed by the server\n");
                return 1;
            }
            c->have += (size_t)r;
            if (!c->upgraded) {
                unsigned char *eoh = memmem(c->in, c->have, "\r\n\r\n", 4);
                if (eoh == NULL)
                    continue;
                if (memcmp(c->in, "HTTP/1.1 101", 12) != 0) {
                    fprintf(stderr, "wsecho: upgrade refused (is echo_app "
                        "on?)\n");
                    return 1;
                }
                c->upgraded = 1;
                c->have = 0;
                static int ups;
                if (++ups == n) {
                    start = now_ns();
                    end = start + (int64_t)duration * 1000000000;
                    for (int i = 0; i < n; i++)
                        send_msg(&cs[i], (size_t)size);
                }
                continue;
            }
            for (;;) {
                struct wsf_hdr h;
                if (wsf_parse_hdr(c->in, c->have, &h, WSF_F_FROM_SERVER)
                    != WSF_OK || c->have < h.hdr_len + h.len)
                    break;
                size_t used = h.hdr_len + (size_t)h.len;
                memmove(c->in, c->in + used, c->have - used);
                c->have -= used;
                if (h.opcode != WSF_OP_BINARY)
                    continue; /* a ping: the server tolerates no pong */
                if (cnt == cap) {
                    cap *= 2;
                    rtt = realloc(rtt, cap * sizeof(*rtt));
                    if (rtt == NULL)
                        return 1;
                }
                rtt[cnt++] = now_ns() - c->sent_ns;
                rounds++;
                if (now_ns() < end)
                    send_msg(c, (size_t)size);
            }
        }
    }
    qsort(rtt, cnt, sizeof(*rtt), cmp_i64);
    double secs = (double)(end - start) / 1e9;
    printf("{\"conns\":%d,\"size\":%d,\"duration_s\":%.1f,"
        "\"round_trips_per_s\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
        "\"max_us\":%.1f}\n", n, size, secs, (double)rounds / secs,
        cnt ? (double)rtt[cnt / 2] / 1e3 : 0,
        cnt ? (double)rtt[cnt * 99 / 100] / 1e3 : 0,
        cnt ? (double)rtt[cnt - 1] / 1e3 : 0);
    return 0;
}
