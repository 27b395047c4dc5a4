/*
 * TLS transport (tio.h). OpenSSL reads and writes the socket itself (a
 * socket BIO): no copy through memory BIOs. Without read-ahead it never
 * takes more than one record from the kernel, so a readable socket is
 * what wakes a connection with data, and tio_read empties the record it
 * started (nothing decrypted waits unseen). Handshake errors are sorted
 * into the counters by OpenSSL's reason code.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/dlq.h"
#include "common/log.h"
#include "common/wsg.h"
#include "worker/conn.h"
#include "worker/tio.h"
#include "worker/wctr.h"

#define TIO_WRITE_MAX 16384 /* one record per SSL_write */

struct tio {
    SSL *ssl;
    struct conn *c;
    struct dlq_node hq;     /* in T.hs until the handshake completes */
    unsigned done : 1;
};

static struct {
    SSL_CTX *ctx;
    int64_t hs_ms;
    struct tio **tab;       /* by descriptor */
    size_t cap;
    struct dlq hs;          /* handshakes in progress, oldest first */
} T;

static int tio_read(struct conn *c, struct evbuffer *in, int max);
static int tio_write(struct conn *c, struct evbuffer *out);
static void tio_shut(struct conn *c);
static void tio_release(struct conn *c);

static const struct conn_io tio_io = {
    .read = tio_read,
    .write = tio_write,
    .shut = tio_shut,
    .release = tio_release,
};

int
tio_init(struct ssl_ctx_st *ctx, int64_t handshake_ms)
{
    T.ctx = ctx;
    T.hs_ms = handshake_ms;
    conn_set_io(&tio_io);
    return 0;
}

static struct tio *
tio_of(const struct conn *c)
{
    int fd = conn_fd(c);

    return fd >= 0 && (size_t)fd < T.cap ? T.tab[fd] : NULL;
}

int
tio_start(struct conn *c)
{
    int fd = conn_fd(c);
    struct tio *t = NULL;

    if ((size_t)fd >= T.cap) {
        size_t cap = T.cap ? T.cap : 1024;
        while (cap <= (size_t)fd)
            cap *= 2;
        struct tio **tab = realloc(T.tab, cap * sizeof(*tab));
        if (tab == NULL)
            goto fail;
        memset(tab + T.cap, 0, (cap - T.cap) * sizeof(*tab));
        T.tab = tab;
        T.cap = cap;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL || (t->ssl = SSL_new(T.ctx)) == NULL
        || SSL_set_fd(t->ssl, fd) != 1)
        goto fail;
    SSL_set_accept_state(t->ssl);
    t->c = c;
    T.tab[fd] = t;
    dlq_insert(&T.hs, &t->hq, wsg_mono_ms() + T.hs_ms);
    conn_use_io(c);
    return 0;
fail:
    if (t) {
        SSL_free(t->ssl);
        free(t);
    }
    ERR_clear_error();
    conn_close(c, "out of memory for TLS");
    return -1;
}

static void
tio_release(struct conn *c)
{
    struct tio *t = tio_of(c);

    if (t == NULL)
        return;
    if (!t->done)
        dlq_remove(&T.hs, &t->hq);
    SSL_free(t->ssl);
    T.tab[conn_fd(c)] = NULL;
    free(t);
}

void
tio_tick(int64_t now_ms)
{
    while (T.hs.head && T.hs.head->due <= now_ms) {
        struct tio *t = DLQ_ENTRY(T.hs.head, struct tio, hq);
        WCTR_INC(tls_fail_timeout);
        conn_close(t->c, "TLS handshake timeout");
    }
}

/* A plain HTTP request reached the TLS port: take the TLS layer off and
 * answer it in plain text, then close politely (conn.c lingers). */
static void
tio_plain_http(struct conn *c, struct tio *t)
{
    static const char resp[] = "HTTP/1.1 400 Bad Request\r\n"
        "Content-Type: application/json\r\nContent-Length: 90\r\n"
        "Connection: close\r\n\r\n"
        "{\"ok\":false,\"error\":{\"code\":\"TLS_REQUIRED\",\"message\":"
        "\"plain HTTP sent to the TLS port\"}}\n";

    WCTR_INC(tls_plain_http);
    (void)t;
    tio_release(c); /* frees t */
    conn_drop_io(c);
    if (conn_send(c, resp, sizeof(resp) - 1) == 0)
        conn_close_after_flush(c, "plain HTTP request on the TLS port");
}

/* Sort a failed handshake into its counter. */
static void
tio_count_failure(unsigned long e)
{
    int r = ERR_GET_REASON(e);

    switch (r) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_UNKNOWN_PROTOCOL:
        WCTR_INC(tls_fail_version);
        break;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_SHARED_GROUPS:
    case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
        WCTR_INC(tls_fail_cipher);
        break;
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
        WCTR_INC(tls_fail_cert);
        break;
    default:
        WCTR_INC(tls_fail_other);
    }
}

/* Map an SSL error of rc on c to the evbuffer_read/write convention.
 * Returns -1 with errno (EAGAIN: wait), or 0 for a clean end. c may be
 * switched to plain text (tio_plain_http), never freed here. */
static int
tio_error(struct conn *c, struct tio *t, int rc)
{
    int e = SSL_get_error(t->ssl, rc);
    unsigned long ee = ERR_peek_error();

    if (e == SSL_ERROR_WANT_READ) {
        errno = EAGAIN;
        return -1;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        errno = EAGAIN;
        if (conn_wait_write(c) == -1)
            errno = ENOMEM;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN) {
        ERR_clear_error();
        return 0;
    }
    if (!t->done) {
        if (e == SSL_ERROR_SSL && ERR_GET_REASON(ee) == SSL_R_HTTP_REQUEST) {
            ERR_clear_error();
            tio_plain_http(c, t);
            errno = EAGAIN;
            return -1;
        }
        if (e == SSL_ERROR_SSL)
            tio_count_failure(ee);
        else
            WCTR_INC(tls_fail_other);
        if (log_get_level() >= LOG_INFO && e == SSL_ERROR_SSL)
            log_msg(LOG_INFO, "TLS handshake from %s failed: %s",
                conn_peer(c), ERR_reason_error_string(ee)
                ? ERR_reason_error_string(ee) : "?");
    }
    ERR_clear_error();
    if (e == SSL_ERROR_SYSCALL && errno != 0)
        return -1;
    errno = EPROTO;
    return -1;
}

/* 1 once the handshake is complete, else what tio_error says (0: the
 * peer closed; -1 with errno, EAGAIN to wait). */
static int
tio_handshake(struct conn *c, struct tio *t)
{
    int rc;

    ERR_clear_error();
    rc = SSL_do_handshake(t->ssl);
    if (rc != 1)
        return tio_error(c, t, rc);
    t->done = 1;
    dlq_remove(&T.hs, &t->hq);
    WCTR_INC(tls_handshakes);
    if (SSL_session_reused(t->ssl))
        WCTR_INC(tls_resumed);
    return 1;
}

static int
tio_read(struct conn *c, struct evbuffer *in, int max)
{
    struct tio *t = tio_of(c);
    size_t got = 0;

    if (t == NULL) {
        errno = EPROTO;
        return -1;
    }
    if (!t->done) {
        int r = tio_handshake(c, t);
        if (r != 1)
            return r; /* also when c now answers in plain text (EAGAIN) */
    }
    /* Up to max bytes, then whatever of the current record is left. */
    while (got < (size_t)max || SSL_pending(t->ssl) > 0) {
        struct evbuffer_iovec v;
        size_t n = 0;
        int want = max - (int)got > 0 ? max - (int)got : SSL_pending(t->ssl);
        if (evbuffer_reserve_space(in, want, &v, 1) < 1) {
            errno = ENOMEM;
            return -1;
        }
        ERR_clear_error();
        int rc = SSL_read_ex(t->ssl, v.iov_base, (size_t)want, &n);
        if (rc != 1) {
            v.iov_len = 0;
            evbuffer_commit_space(in, &v, 1);
            if (got > 0) {
                ERR_clear_error();
                break; /* what was read first; the error comes back */
            }
            return tio_error(c, t, rc);
        }
        v.iov_len = n;
        evbuffer_commit_space(in, &v, 1);
        got += n;
    }
    return (int)got;
}

static int
tio_write(struct conn *c, struct evbuffer *out)
{
    struct tio *t = tio_of(c);
    size_t sent = 0, len;

    if (t == NULL) {
        errno = EPIPE;
        return -1;
    }
    if (!t->done) {
        int r = tio_handshake(c, t);
        if (r == -1 && errno == EAGAIN)
            return 0;
        if (r != 1) {
            errno = EPIPE;
            return -1;
        }
    }
    while ((len = evbuffer_get_length(out)) > 0) {
        size_t n = len < TIO_WRITE_MAX ? len : TIO_WRITE_MAX, w = 0;
        unsigned char *p = evbuffer_pullup(out, (ssize_t)n);
        ERR_clear_error();
        int rc = p ? SSL_write_ex(t->ssl, p, n, &w) : 0;
        if (rc != 1) {
            if (p == NULL) {
                errno = ENOMEM;
                return -1;
            }
            if (tio_error(c, t, rc) == -1 && errno == EAGAIN)
                break;
            errno = EPIPE;
            return -1;
        }
        evbuffer_drain(out, w);
        sent += w;
    }
    return (int)sent;
}

static void
tio_shut(struct conn *c)
{
    struct tio *t = tio_of(c);

    /* close_notify, best effort: the socket's half-close follows. */
    if (t && t->done) {
        ERR_clear_error();
        (void)SSL_shutdown(t->ssl);
        ERR_clear_error();
    }
}
