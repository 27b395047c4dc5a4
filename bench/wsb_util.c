/*
 * wsbench helpers: the monotonic clock, the fixed-size latency histogram,
 * HS256 token signing (OpenSSL HMAC: a dozen lines, so no JWT library on
 * the client), base64, exact reads and writes on the control sockets, one
 * blocking HTTP request for the admin port, and /proc VmRSS.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "wsb.h"

uint64_t
wsb_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
wsb_sleep_until(uint64_t t)
{
    for (uint64_t now = wsb_now(); now < t; now = wsb_now()) {
        struct timespec ts = {(time_t)((t - now) / 1000000000u),
                              (long)((t - now) % 1000000000u)};
        nanosleep(&ts, NULL);
    }
}

int64_t
wsb_rt_off(void)
{
    struct timespec rt, mt;

    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mt);
    return ((int64_t)rt.tv_sec - mt.tv_sec) * 1000000000
           + (rt.tv_nsec - mt.tv_nsec);
}

ssize_t
wsb_recv_stamped(int fd, void *buf, size_t len, int64_t rt_off,
                 uint64_t *now, uint64_t *kt)
{
    union {
        char b[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {buf, len};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1,
                       .msg_control = ctl.b, .msg_controllen = sizeof(ctl)};
    ssize_t r = recvmsg(fd, &m, 0);
    struct cmsghdr *cm;

    *now = wsb_now();
    *kt = 0;
    if (r <= 0)
        return r;
    for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS
            && cm->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
            struct timespec ts;
            int64_t t;
            memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
            t = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - rt_off;
            /* Never later than now; one older than 10 s is a quirk. */
            if (t > 0 && (uint64_t)t <= *now
                && *now - (uint64_t)t < 10000000000ull)
                *kt = (uint64_t)t;
        }
    return r;
}

/* Bucket of v: v itself below 128; else the top 7 significant bits select
 * one of 64 buckets of the power of two. */
static unsigned
hist_idx(uint64_t v)
{
    unsigned msb, shift, i;

    if (v < 128)
        return (unsigned)v;
    msb = 63u - (unsigned)__builtin_clzll(v);
    shift = msb - 6;
    i = (shift + 1) * 64 + (unsigned)(v >> shift) - 64;
    return i < WSB_HIST_N ? i : WSB_HIST_N - 1;
}

/* Middle of bucket i. */
static uint64_t
hist_value(unsigned i)
{
    unsigned shift;

    if (i < 128)
        return i;
    shift = i / 64 - 1;
    return ((uint64_t)(i % 64 + 64) << shift) + ((1ull << shift) >> 1);
}

void
wsb_hist_add(struct wsb_hist *h, uint64_t v)
{
    h->b[hist_idx(v)]++;
    h->count++;
    if (v > h->max)
        h->max = v;
}

void
wsb_hist_merge(struct wsb_hist *dst, const struct wsb_hist *src)
{
    for (unsigned i = 0; i < WSB_HIST_N; i++)
        dst->b[i] += src->b[i];
    dst->count += src->count;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t
wsb_hist_pct(const struct wsb_hist *h, double pct)
{
    uint64_t want, seen = 0, v;

    if (h->count == 0)
        return 0;
    want = (uint64_t)((double)h->count * pct / 100.0 + 0.5);
    if (want < 1)
        want = 1;
    for (unsigned i = 0; i < WSB_HIST_N; i++) {
        seen += h->b[i];
        if (seen >= want) {
            v = hist_value(i);
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}

static const char b64std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Base64 of in[0..n) into out with alphabet a; pad adds '='. Returns the
 * length written (out is NUL-ended). */
static size_t
b64(const unsigned char *in, size_t n, char *out, const char *a, int pad)
{
    size_t o = 0, i;

    for (i = 0; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        out[o++] = a[v >> 6 & 63];
        out[o++] = a[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        if (pad) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (n - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        out[o++] = a[v >> 6 & 63];
        if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

void
wsb_b64(const unsigned char *in, size_t n, char *out)
{
    b64(in, n, out, b64std, 1);
}

size_t
wsb_jwt(char *out, size_t cap, const char *secret, const char *user,
        long ttl)
{
    static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char claims[256];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    long now = (long)time(NULL);
    int n;
    size_t o;

    n = snprintf(claims, sizeof(claims),
                 "{\"sub\":\"%s\",\"iat\":%ld,\"exp\":%ld}", user, now,
                 now + ttl);
    if (n < 0 || (size_t)n >= sizeof(claims))
        return 0;
    /* Header, claims and signature grow by 4/3 each; plus two dots. */
    if (cap < (sizeof(hdr) + (size_t)n + 32) * 4 / 3 + 8)
        return 0;
    o = b64((const unsigned char *)hdr, sizeof(hdr) - 1, out, b64url, 0);
    out[o++] = '.';
    o += b64((const unsigned char *)claims, (size_t)n, out + o, b64url, 0);
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret),
             (const unsigned char *)out, o, mac, &maclen) == NULL)
        return 0;
    out[o++] = '.';
    o += b64(mac, maclen, out + o, b64url, 0);
    return o;
}

int
wsb_write_all(int fd, const void *p, size_t n)
{
    const char *s = p;

    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct pollfd pf = {.fd = fd, .events = POLLOUT};
                poll(&pf, 1, 1000);
                continue;
            }
            return -1;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

int
wsb_read_all(int fd, void *p, size_t n)
{
    char *s = p;

    while (n > 0) {
        ssize_t r = read(fd, s, n);
        if (r == 0)
            return -1;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct pollfd pf = {.fd = fd, .events = POLLIN};
                poll(&pf, 1, 1000);
                continue;
            }
            return -1;
        }
        s += r;
        n -= (size_t)r;
    }
    return 0;
}

int
wsb_send_msg(int fd, uint32_t type, const void *p, size_t n)
{
    struct wsb_msg m = {.type = type, .len = n};

    if (wsb_write_all(fd, &m, sizeof(m)) == -1)
        return -1;
    return n ? wsb_write_all(fd, p, n) : 0;
}

int
wsb_http(const char *host, unsigned port, const char *method,
         const char *path, const char *bearer, const char *body, char *out,
         size_t cap)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    char req[1024], *resp = NULL, *b;
    size_t rcap = 1 << 20, rlen = 0;
    int fd = -1, status = -1, n;
    struct timeval tv = {.tv_sec = 5};

    out[0] = '\0';
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    n = snprintf(req, sizeof(req),
                 "%s %s HTTP/1.1\r\nHost: %s:%u\r\n"
                 "Authorization: Bearer %s\r\nConnection: close\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu"
                 "\r\n\r\n",
                 method, path, host, port, bearer ? bearer : "",
                 body ? strlen(body) : 0);
    if (n < 0 || (size_t)n >= sizeof(req))
        return -1;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    resp = malloc(rcap + 1);
    if (fd == -1 || resp == NULL)
        goto out;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1
        || wsb_write_all(fd, req, (size_t)n) == -1
        || (body && wsb_write_all(fd, body, strlen(body)) == -1))
        goto out;
    for (;;) {
        ssize_t r = read(fd, resp + rlen, rcap - rlen);
        if (r <= 0)
            break;
        rlen += (size_t)r;
        if (rlen == rcap)
            break;
    }
    resp[rlen] = '\0';
    if (rlen < 12 || strncmp(resp, "HTTP/1.", 7) != 0)
        goto out;
    status = atoi(resp + 9);
    b = strstr(resp, "\r\n\r\n");
    if (b) {
        b += 4;
        snprintf(out, cap, "%s", b);
    }
out:
    if (fd != -1)
        close(fd);
    free(resp);
    return status;
}

long
wsb_kv_kb(const char *path, const char *key)
{
    char line[256];
    size_t kl = strlen(key);
    long v = -1;
    FILE *f = fopen(path, "r");

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, kl) == 0) {
            v = strtol(line + kl, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* The sum of /proc/PID/file's key line (kB) over pids, -1 if one is
 * missing. */
static long
sum_kb(const int *pids, int n, const char *file, const char *key)
{
    long total = 0;

    for (int i = 0; i < n; i++) {
        char path[64];
        long kb;

        snprintf(path, sizeof(path), "/proc/%d/%s", pids[i], file);
        kb = wsb_kv_kb(path, key);
        if (kb < 0)
            return -1;
        total += kb;
    }
    return total;
}

long
wsb_rss_kb(const int *pids, int n)
{
    return sum_kb(pids, n, "status", "VmRSS:");
}

long
wsb_anon_kb(const int *pids, int n)
{
    return sum_kb(pids, n, "smaps_rollup", "Anonymous:");
}

double
wsb_proc_cpu(int pid, int *ppid)
{
    char path[64], buf[1024], *p;
    unsigned long long ut = 0, st = 0;
    int parent = 0;
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after "(comm)": state ppid ... utime(14) stime(15). */
    p = strrchr(buf, ')');
    if (p == NULL
        || sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
                         "%llu", &parent, &ut, &st) != 3)
        return -1;
    if (ppid)
        *ppid = parent;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}
