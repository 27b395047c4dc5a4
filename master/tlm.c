/*
 * Master TLS context (tlm.h). The ticket secret is random, made once per
 * master and never written anywhere; workers inherit it with the context
 * across fork, which is how it is shared (no shm region needed: the keys
 * derive from it and the clock, common/tcx.c).
 */
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "common/config.h"
#include "common/log.h"
#include "common/tcx.h"
#include "master/tlm.h"

static struct {
    SSL_CTX *ctx, *admin;
    unsigned char secret[TCX_SECRET_LEN];
    int have_secret;
} M;

/* The admin port's context of c (or none). 0 or -1 (logged, the old one
 * kept). */
static int
tlm_build_admin(const struct cfg *c, const char *when)
{
    char err[512];
    SSL_CTX *ctx;

    if (!CFG_NUM(c, admin_tls)) {
        tcx_free(&M.admin);
        return 0;
    }
    ctx = tcx_new_admin(c, err, sizeof(err));
    if (ctx == NULL) {
        log_msg(LOG_ERR, "admin TLS %s: %s%s", when, err, M.admin
            ? "; the certificate in use stays" : "");
        return -1;
    }
    /* Connections open keep a reference to the old one. */
    tcx_free(&M.admin);
    M.admin = ctx;
    return 0;
}

static int
tlm_build(const struct cfg *c, const char *when)
{
    char err[512], desc[160];
    SSL_CTX *ctx;

    if (!tcx_enabled(c)) {
        tcx_free(&M.ctx);
        return 0;
    }
    if (!M.have_secret) {
        if (RAND_bytes(M.secret, sizeof(M.secret)) != 1) {
            log_msg(LOG_ERR, "RAND_bytes() for the TLS ticket secret failed");
            return -1;
        }
        M.have_secret = 1;
    }
    ctx = tcx_new(c, M.secret, err, sizeof(err));
    if (ctx == NULL) {
        log_msg(LOG_ERR, "TLS %s: %s%s", when, err, M.ctx
            ? "; the certificate in use stays" : "");
        return -1;
    }
    tcx_free(&M.ctx);
    M.ctx = ctx;
    tcx_describe(ctx, desc, sizeof(desc));
    log_msg(LOG_NOTICE, "TLS certificate %s loaded (%s)", CFG_STR(c,
        tls_cert), desc);
    return 0;
}

int
tlm_init(const struct cfg *c)
{
    char err[512];

    /* What wsgate -t and a reload refuse, a start refuses too (a
     * tls_client_verify without admin_tls would serve the admin port
     * with no client check). */
    if (tcx_check(c, err, sizeof(err)) == -1) {
        log_msg(LOG_ERR, "TLS settings refused at start: %s", err);
        return -1;
    }
    return tlm_build(c, "at start") == 0
        && tlm_build_admin(c, "at start") == 0 ? 0 : -1;
}

int
tlm_reload(const struct cfg *nc)
{
    char err[512];

    /* Check both before changing either: a refused reload changes
     * nothing. */
    if (tcx_check(nc, err, sizeof(err)) == -1) {
        log_msg(LOG_ERR, "TLS reload refused: %s%s", err, M.ctx || M.admin
            ? "; the certificate in use stays" : "");
        return -1;
    }
    return tlm_build(nc, "reload refused") == 0
        && tlm_build_admin(nc, "reload refused") == 0 ? 0 : -1;
}

struct ssl_ctx_st *
tlm_admin_ctx(void)
{
    return M.admin;
}

struct ssl_ctx_st *
tlm_ctx(void)
{
    return M.ctx;
}

void
tlm_free(void)
{
    tcx_free(&M.ctx);
    tcx_free(&M.admin);
    OPENSSL_cleanse(M.secret, sizeof(M.secret));
}
