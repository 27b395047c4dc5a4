/*
 * TLS server context (tcx.h): the tls_* keys turned into an SSL_CTX, the
 * ALPN choice (http/1.1 only) and the session-ticket key callback. The
 * ticket keys are not stored anywhere: each is derived with HMAC-SHA256
 * from the master's secret and the current epoch (time / lifetime), so the
 * workers agree without talking and a key expires by itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509err.h>

#include "common/config.h"
#include "common/tcx.h"
#include "common/wsg.h"

/* What the ticket callback needs, hung on the context. */
struct tcx_tk {
    unsigned char secret[TCX_SECRET_LEN];
    int64_t lifetime_ms;
};

/* OpenSSL's ex_data index for struct tcx_tk: process-wide by OpenSSL's
 * design, taken once. */
static int tcx_idx = -1;

static void
tcx_tk_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    if (ptr) {
        OPENSSL_cleanse(ptr, sizeof(struct tcx_tk));
        free(ptr);
    }
}

int
tcx_enabled(const struct cfg *c)
{
    return CFG_NUM(c, tls_port) != 0;
}

static void
tcx_errstr(char *err, size_t errlen, const char *what, const char *obj)
{
    unsigned long e = ERR_peek_last_error();
    char es[256] = "";

    if (e)
        ERR_error_string_n(e, es, sizeof(es));
    snprintf(err, errlen, "%s %s%s%s", what, obj, es[0] ? ": " : "", es);
    ERR_clear_error();
}

int
tcx_ticket_key(const unsigned char *secret, uint64_t epoch,
    unsigned char name[TCX_NAME_LEN], unsigned char aes[TCX_KEY_LEN],
    unsigned char mac[TCX_KEY_LEN])
{
    unsigned char msg[12], out[EVP_MAX_MD_SIZE];
    unsigned char *dst[3] = {name, aes, mac};
    size_t lens[3] = {TCX_NAME_LEN, TCX_KEY_LEN, TCX_KEY_LEN};
    size_t outlen;

    for (int k = 0; k < 3; k++) {
        memcpy(msg, "tk", 2);
        msg[2] = (unsigned char)('n' + k);
        msg[3] = 0;
        for (int i = 0; i < 8; i++)
            msg[4 + i] = (unsigned char)(epoch >> (56 - 8 * i));
        if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret,
                TCX_SECRET_LEN, msg, sizeof(msg), out, sizeof(out), &outlen)
            == NULL)
            return -1;
        memcpy(dst[k], out, lens[k]);
    }
    OPENSSL_cleanse(out, sizeof(out));
    return 0;
}

/* OpenSSL 3's ticket key callback (SSL_CTX_set_tlsext_ticket_key_evp_cb).
 * Encrypt with the current epoch's key; decrypt with the current or the
 * previous one (2: ask for a new ticket), else 0 (full handshake). */
static int
tcx_ticket_cb(SSL *s, unsigned char *key_name, unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    const struct tcx_tk *tk = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(s),
        tcx_idx);
    unsigned char name[TCX_NAME_LEN], aes[TCX_KEY_LEN], mac[TCX_KEY_LEN];
    uint64_t now;
    int rc = 0;

    if (tk == NULL)
        return -1;
    now = (uint64_t)(wsg_real_ms() / tk->lifetime_ms);
    for (int back = 0; back < (enc ? 1 : 2); back++) {
        if (tcx_ticket_key(tk->secret, now - (uint64_t)back, name, aes, mac)
            == -1)
            return -1;
        if (!enc && memcmp(key_name, name, TCX_NAME_LEN) != 0)
            continue;
        OSSL_PARAM p[2] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                (char *)"SHA256", 0),
            OSSL_PARAM_construct_end()};
        if (enc) {
            memcpy(key_name, name, TCX_NAME_LEN);
            if (RAND_bytes(iv, 16) != 1
                || EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, aes, iv)
                    != 1)
                rc = -1;
            else
                rc = 1;
        } else {
            rc = EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, aes, iv)
                == 1 ? (back ? 2 : 1) : -1;
        }
        if (rc > 0 && EVP_MAC_init(hctx, mac, TCX_KEY_LEN, p) != 1)
            rc = -1;
        break;
    }
    OPENSSL_cleanse(aes, sizeof(aes));
    OPENSSL_cleanse(mac, sizeof(mac));
    return rc;
}

/* ALPN: http/1.1 is all the public port speaks; a client that offers only
 * other protocols goes on without ALPN rather than failing. */
static int
tcx_alpn_cb(SSL *s, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char h11[] = "\x08http/1.1";
    unsigned char *sel = NULL;

    (void)s;
    (void)arg;
    if (SSL_select_next_proto(&sel, outlen, h11, sizeof(h11) - 1, in, inlen)
        != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static int
tcx_version(const char *s)
{
    if (strcmp(s, "TLSv1.2") == 0 || strcmp(s, "1.2") == 0)
        return TLS1_2_VERSION;
    if (strcmp(s, "TLSv1.3") == 0 || strcmp(s, "1.3") == 0)
        return TLS1_3_VERSION;
    return 0;
}

/* Context settings that need no files. 0 or -1 (err set). */
static int
tcx_setup(SSL_CTX *ctx, const struct cfg *c, char *err, size_t errlen)
{
    int v = tcx_version(CFG_STR(c, tls_min_version));

    if (v == 0) {
        snprintf(err, errlen, "key 'tls_min_version': '%s' is not TLSv1.2 "
            "or TLSv1.3", CFG_STR(c, tls_min_version));
        return -1;
    }
    if (SSL_CTX_set_min_proto_version(ctx, v) != 1) {
        tcx_errstr(err, errlen, "tls_min_version", CFG_STR(c,
            tls_min_version));
        return -1;
    }
    if (SSL_CTX_set_cipher_list(ctx, CFG_STR(c, tls_ciphers)) != 1) {
        tcx_errstr(err, errlen, "key 'tls_ciphers': no usable cipher in",
            CFG_STR(c, tls_ciphers));
        return -1;
    }
    if (SSL_CTX_set_ciphersuites(ctx, CFG_STR(c, tls_ciphersuites)) != 1) {
        tcx_errstr(err, errlen, "key 'tls_ciphersuites': bad list",
            CFG_STR(c, tls_ciphersuites));
        return -1;
    }
    /* Idle connections give their 16k+ read and write buffers back; the
     * output evbuffer may move between partial writes. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS
        | SSL_MODE_ENABLE_PARTIAL_WRITE
        | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION
        | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION
        | SSL_OP_IGNORE_UNEXPECTED_EOF); /* a bare FIN is a close */
    /* Stateless tickets only: a per-process session cache cannot resume
     * on another worker and costs memory. One TLS 1.3 ticket is enough. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 1);
    SSL_CTX_set_timeout(ctx, (long)(CFG_NUM(c, tls_ticket_lifetime) / 1000));
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"wsgate", 6);
    SSL_CTX_set_alpn_select_cb(ctx, tcx_alpn_cb, NULL);
    return 0;
}

static SSL_CTX *
tcx_build(const struct cfg *c, char *err, size_t errlen)
{
    SSL_CTX *ctx = NULL;

    if (CFG_STR(c, tls_cert)[0] == '\0' || CFG_STR(c, tls_key)[0] == '\0') {
        snprintf(err, errlen, "TLS is on (tls_port or admin_tls): keys "
            "'tls_cert' and 'tls_key' are needed");
        return NULL;
    }
    if (CFG_NUM(c, tls_port) != 0 && CFG_NUM(c, tls_port) == CFG_NUM(c, port)) {
        snprintf(err, errlen, "key 'tls_port': must differ from 'port'");
        return NULL;
    }
    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        tcx_errstr(err, errlen, "SSL_CTX_new()", "");
        return NULL;
    }
    if (tcx_setup(ctx, c, err, errlen) == -1)
        goto fail;
    if (SSL_CTX_use_certificate_chain_file(ctx, CFG_STR(c, tls_cert)) != 1) {
        tcx_errstr(err, errlen, "key 'tls_cert': cannot use",
            CFG_STR(c, tls_cert));
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, CFG_STR(c, tls_key),
            SSL_FILETYPE_PEM) != 1) {
        /* OpenSSL compares the key with the certificate right here. */
        if (ERR_GET_REASON(ERR_peek_last_error())
            == X509_R_KEY_VALUES_MISMATCH)
            tcx_errstr(err, errlen, "key 'tls_key': does not match the "
                "certificate of", CFG_STR(c, tls_cert));
        else
            tcx_errstr(err, errlen, "key 'tls_key': cannot use",
                CFG_STR(c, tls_key));
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        tcx_errstr(err, errlen, "key 'tls_key': does not match the "
            "certificate of", CFG_STR(c, tls_cert));
        goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

int
tcx_check(const struct cfg *c, char *err, size_t errlen)
{
    SSL_CTX *ctx;

    if (CFG_NUM(c, tls_client_verify) && (!CFG_NUM(c, admin_tls)
            || CFG_STR(c, tls_ca)[0] == '\0')) {
        snprintf(err, errlen, "key 'tls_client_verify': needs admin_tls = "
            "on and tls_ca");
        return -1;
    }
    if (tcx_enabled(c)) {
        ctx = tcx_build(c, err, errlen);
        if (ctx == NULL)
            return -1;
        SSL_CTX_free(ctx);
    }
    if (CFG_NUM(c, admin_tls)) {
        ctx = tcx_new_admin(c, err, errlen);
        if (ctx == NULL)
            return -1;
        SSL_CTX_free(ctx);
    }
    return 0;
}

struct ssl_ctx_st *
tcx_new_admin(const struct cfg *c, char *err, size_t errlen)
{
    SSL_CTX *ctx = tcx_build(c, err, errlen);
    STACK_OF(X509_NAME) *names;

    if (ctx == NULL || !CFG_NUM(c, tls_client_verify))
        return ctx;
    names = SSL_load_client_CA_file(CFG_STR(c, tls_ca));
    if (SSL_CTX_load_verify_locations(ctx, CFG_STR(c, tls_ca), NULL) != 1
        || names == NULL) {
        tcx_errstr(err, errlen, "key 'tls_ca': cannot use",
            CFG_STR(c, tls_ca));
        sk_X509_NAME_pop_free(names, X509_NAME_free);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
        NULL);
    return ctx;
}

struct ssl_ctx_st *
tcx_new(const struct cfg *c, const unsigned char *secret, char *err,
    size_t errlen)
{
    SSL_CTX *ctx = tcx_build(c, err, errlen);
    struct tcx_tk *tk;

    if (ctx == NULL)
        return NULL;
    if (tcx_idx == -1)
        tcx_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, tcx_tk_free);
    tk = calloc(1, sizeof(*tk));
    if (tk == NULL || tcx_idx == -1
        || SSL_CTX_set_ex_data(ctx, tcx_idx, tk) != 1) {
        free(tk);
        snprintf(err, errlen, "out of memory for the TLS context");
        SSL_CTX_free(ctx);
        return NULL;
    }
    memcpy(tk->secret, secret, TCX_SECRET_LEN);
    tk->lifetime_ms = CFG_NUM(c, tls_ticket_lifetime);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tcx_ticket_cb);
    return ctx;
}

void
tcx_free(struct ssl_ctx_st **ctxp)
{
    if (ctxp && *ctxp) {
        SSL_CTX_free(*ctxp);
        *ctxp = NULL;
    }
}

void
tcx_describe(struct ssl_ctx_st *ctx, char *buf, size_t len)
{
    X509 *x = ctx ? SSL_CTX_get0_certificate(ctx) : NULL;
    unsigned char md[EVP_MAX_MD_SIZE] = {0};
    unsigned int mdlen = 0;
    char *serial = NULL;
    BIGNUM *bn = NULL;

    if (x == NULL) {
        snprintf(buf, len, "no certificate");
        return;
    }
    bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    serial = bn ? BN_bn2hex(bn) : NULL;
    X509_digest(x, EVP_sha256(), md, &mdlen);
    snprintf(buf, len, "serial %s, sha256 %02x%02x%02x%02x%02x%02x%02x%02x...",
        serial ? serial : "?", md[0], md[1], md[2], md[3], md[4], md[5],
        md[6], md[7]);
    OPENSSL_free(serial);
    BN_free(bn);
}
