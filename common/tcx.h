/*
 * The server TLS context of the public TLS port: built from the tls_* keys
 * (certificate chain, key, versions, ciphers, ALPN http/1.1, released
 * idle buffers) and the session-ticket keys, derived from a secret the
 * master makes once so that every worker it forks encrypts and decrypts
 * the same tickets (resumption on any worker). Pure: no sockets, no
 * globals; OpenSSL does the cryptography.
 */
#ifndef WSGATE_COMMON_TCX_H
#define WSGATE_COMMON_TCX_H

#include <stddef.h>
#include <stdint.h>

struct cfg;
struct ssl_ctx_st;

#define TCX_SECRET_LEN 32
#define TCX_NAME_LEN 16
#define TCX_KEY_LEN 32

/* 1 when c serves TLS (tls_port set). */
int tcx_enabled(const struct cfg *c);

/* Check c's tls_* and admin_tls keys without keeping anything: files
 * readable, key matching the certificate, version and cipher strings
 * known, tls_ca usable. 0 when TLS is off or all is well; -1 with a
 * message in err. */
int tcx_check(const struct cfg *c, char *err, size_t errlen);

/* A new server context for c, whose ticket keys derive from secret
 * (TCX_SECRET_LEN bytes, copied). Returns new (caller frees with
 * tcx_free), or NULL with a message in err. */
struct ssl_ctx_st *tcx_new(const struct cfg *c, const unsigned char *secret,
    char *err, size_t errlen);

/* A new context for the admin port (admin_tls): tls_cert and tls_key, and
 * with tls_client_verify a client certificate signed by tls_ca required.
 * No session tickets. Returns new (caller frees), or NULL with err. */
struct ssl_ctx_st *tcx_new_admin(const struct cfg *c, char *err,
    size_t errlen);

/* Free *ctxp (NULL is fine) and clear it. */
void tcx_free(struct ssl_ctx_st **ctxp);

/* The ticket key of epoch (a count of ticket lifetimes since 1970) under
 * secret: its 16-byte name (sent in the ticket), the AES-256 key and the
 * HMAC-SHA256 key. Deterministic: every process with the secret derives
 * the same. 0 or -1. */
int tcx_ticket_key(const unsigned char *secret, uint64_t epoch,
    unsigned char name[TCX_NAME_LEN], unsigned char aes[TCX_KEY_LEN],
    unsigned char mac[TCX_KEY_LEN]);

/* Serial number and SHA-256 fingerprint prefix of ctx's certificate, for
 * log lines ("serial 1A2B, sha256 ab:cd:..."). Writes at most len bytes. */
void tcx_describe(struct ssl_ctx_st *ctx, char *buf, size_t len);

#endif
