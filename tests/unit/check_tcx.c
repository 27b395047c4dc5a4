/*
 * TLS server context: wsgate -t's checks (files, a key that is not the
 * certificate's, versions, ciphers, ports), the context built from them,
 * and the ticket keys every worker derives alike from the master's secret.
 * Certificates are made here with OpenSSL in a temporary directory.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/config.h"
#include "common/tcx.h"

static char dir[64];
static char certp[128], keyp[128], otherp[128];

/* A self-signed EC certificate (serial 0x1234) in path, its key in kpath;
 * another key in opath. */
static void
make_files(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256"), *o = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    FILE *f;

    ck_assert_ptr_nonnull(k);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
        (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
    f = fopen(certp, "w");
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(keyp, "w");
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    f = fopen(otherp, "w");
    PEM_write_PrivateKey(f, o, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(k);
    EVP_PKEY_free(o);
}

static void
setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/check_tcx.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(certp, sizeof(certp), "%s/c.pem", dir);
    snprintf(keyp, sizeof(keyp), "%s/k.pem", dir);
    snprintf(otherp, sizeof(otherp), "%s/o.pem", dir);
    make_files();
}

static void
teardown(void)
{
    unlink(certp);
    unlink(keyp);
    unlink(otherp);
    rmdir(dir);
}

/* c with TLS on the given files. */
static void
tls_cfg(struct cfg *c, const char *cert, const char *key)
{
    char err[CFG_ERR_MAX];

    ck_assert_int_eq(cfg_init(c), 0);
    ck_assert_int_eq(cfg_set(c, "tls_port", "3443", "test", err,
        sizeof(err)), 0);
    ck_assert_int_eq(cfg_set(c, "tls_cert", cert, "test", err, sizeof(err)),
        0);
    ck_assert_int_eq(cfg_set(c, "tls_key", key, "test", err, sizeof(err)),
        0);
}

START_TEST(tcx_off_needs_nothing)
{
    struct cfg c;
    char err[CFG_ERR_MAX] = "";

    ck_assert_int_eq(cfg_init(&c), 0);
    ck_assert_int_eq(tcx_enabled(&c), 0);
    ck_assert_int_eq(tcx_check(&c, err, sizeof(err)), 0);
    cfg_free(&c);
}
END_TEST

START_TEST(tcx_check_accepts_a_matching_pair)
{
    struct cfg c;
    char err[CFG_ERR_MAX] = "";

    tls_cfg(&c, certp, keyp);
    ck_assert_int_eq(tcx_check(&c, err, sizeof(err)), 0);
    cfg_free(&c);
}
END_TEST

START_TEST(tcx_check_refuses_a_key_of_another_certificate)
{
    struct cfg c;
    char err[CFG_ERR_MAX] = "";

    tls_cfg(&c, certp, otherp);
    ck_assert_int_eq(tcx_check(&c, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "does not match"));
    cfg_free(&c);
}
END_TEST

START_TEST(tcx_check_names_the_bad_key)
{
    struct cfg c;
    char err[CFG_ERR_MAX] = "";

    tls_cfg(&c, "/nonexistent/cert.pem", keyp);
    ck_assert_int_eq(tcx_check(&c, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "tls_cert"));
    cfg_free(&c);

    tls_cfg(&c, "", "");
    ck_assert_int_eq(tcx_check(&c, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "tls_cert"));
    cfg_free(&c);

    tls_cfg(&c, certp, keyp);
    ck_assert_int_eq(cfg_set(&c, "tls_min_version", "TLSv1.1", "test", err,
        sizeof(err)), 0);
    ck_assert_int_eq(tcx_check(&c, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "tls_min_version"));
    cfg_free(&c);

    tls_cfg(&c, certp, keyp);
    ck_assert_int_eq(cfg_set(&c, "tls_ciphers", "NOPE-CIPHER", "test", err,
        sizeof(err)), 0);
    ck_assert_int_eq(tcx_check(&c, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "tls_ciphers"));
    cfg_free(&c);

    tls_cfg(&c, certp, keyp);
    ck_assert_int_eq(cfg_set(&c, "port", "3443", "test", err, sizeof(err)),
        0);
    ck_assert_int_eq(tcx_check(&c, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "tls_port"));
    cfg_free(&c);
}
END_TEST

START_TEST(tcx_admin_client_verify_needs_a_ca)
{
    struct cfg c;
    char err[CFG_ERR_MAX] = "";
    struct ssl_ctx_st *ctx;

    tls_cfg(&c, certp, keyp);
    ck_assert_int_eq(cfg_set(&c, "tls_client_verify", "on", "test", err,
        sizeof(err)), 0);
    ck_assert_int_eq(tcx_check(&c, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "tls_client_verify"));
    ck_assert_int_eq(cfg_set(&c, "admin_tls", "on", "test", err,
        sizeof(err)), 0);
    ck_assert_int_eq(cfg_set(&c, "tls_ca", "/nonexistent/ca.pem", "test",
        err, sizeof(err)), 0);
    ck_assert_int_eq(tcx_check(&c, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "tls_ca"));
    /* The self-signed certificate is its own CA. */
    ck_assert_int_eq(cfg_set(&c, "tls_ca", certp, "test", err, sizeof(err)),
        0);
    ck_assert_int_eq(tcx_check(&c, err, sizeof(err)), 0);
    ctx = tcx_new_admin(&c, err, sizeof(err));
    ck_assert_msg(ctx != NULL, "%s", err);
    ck_assert_int_eq(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER
        | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
    tcx_free(&ctx);
    cfg_free(&c);
}
END_TEST

START_TEST(tcx_new_builds_a_context_with_the_certificate)
{
    struct cfg c;
    char err[CFG_ERR_MAX] = "", desc[160];
    unsigned char secret[TCX_SECRET_LEN] = {1, 2, 3};
    struct ssl_ctx_st *ctx;

    tls_cfg(&c, certp, keyp);
    ctx = tcx_new(&c, secret, err, sizeof(err));
    ck_assert_msg(ctx != NULL, "%s", err);
    ck_assert_int_eq(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
    ck_assert(SSL_CTX_get_mode(ctx) & SSL_MODE_RELEASE_BUFFERS);
    tcx_describe(ctx, desc, sizeof(desc));
    ck_assert_ptr_nonnull(strstr(desc, "serial 1234"));
    tcx_free(&ctx);
    ck_assert_ptr_null(ctx);
    tcx_free(&ctx);
    cfg_free(&c);
}
END_TEST

START_TEST(tcx_ticket_keys_derive_alike_and_differ_by_epoch)
{
    unsigned char s1[TCX_SECRET_LEN] = {7}, s2[TCX_SECRET_LEN] = {8};
    unsigned char n1[TCX_NAME_LEN], a1[TCX_KEY_LEN], m1[TCX_KEY_LEN];
    unsigned char n2[TCX_NAME_LEN], a2[TCX_KEY_LEN], m2[TCX_KEY_LEN];

    ck_assert_int_eq(tcx_ticket_key(s1, 42, n1, a1, m1), 0);
    ck_assert_int_eq(tcx_ticket_key(s1, 42, n2, a2, m2), 0);
    ck_assert_mem_eq(n1, n2, TCX_NAME_LEN);
    ck_assert_mem_eq(a1, a2, TCX_KEY_LEN);
    ck_assert_mem_eq(m1, m2, TCX_KEY_LEN);
    ck_assert_int_ne(memcmp(a1, m1, TCX_KEY_LEN), 0);
    ck_assert_int_eq(tcx_ticket_key(s1, 43, n2, a2, m2), 0);
    ck_assert_int_ne(memcmp(n1, n2, TCX_NAME_LEN), 0);
    ck_assert_int_ne(memcmp(a1, a2, TCX_KEY_LEN), 0);
    ck_assert_int_eq(tcx_ticket_key(s2, 42, n2, a2, m2), 0);
    ck_assert_int_ne(memcmp(n1, n2, TCX_NAME_LEN), 0);
    ck_assert_int_ne(memcmp(m1, m2, TCX_KEY_LEN), 0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("tcx");
    TCase *t = tcase_create("check");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, tcx_off_needs_nothing);
    tcase_add_test(t, tcx_check_accepts_a_matching_pair);
    tcase_add_test(t, tcx_check_refuses_a_key_of_another_certificate);
    tcase_add_test(t, tcx_check_names_the_bad_key);
    tcase_add_test(t, tcx_new_builds_a_context_with_the_certificate);
    tcase_add_test(t, tcx_admin_client_verify_needs_a_ca);
    suite_add_tcase(s, t);
    TCase *k = tcase_create("tickets");
    tcase_add_test(k, tcx_ticket_keys_derive_alike_and_differ_by_epoch);
    suite_add_tcase(s, k);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
