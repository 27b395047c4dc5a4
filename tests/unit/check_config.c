/*
 * Config parser: file format, value types, errors naming file:line and
 * key, environment mapping and precedence.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"

static struct cfg C;
static char err[CFG_ERR_MAX];

static void
setup(void)
{
    ck_assert_int_eq(cfg_init(&C), 0);
    err[0] = '\0';
}

static void
teardown(void)
{
    cfg_free(&C);
}

static int
load(const char *text)
{
    return cfg_load_buffer(&C, text, strlen(text), "t.conf", err,
        sizeof(err));
}

START_TEST(cfg_defaults_match_table)
{
    ck_assert_int_eq(CFG_NUM(&C, port), 3001);
    ck_assert_int_eq(CFG_NUM(&C, handshake_timeout), 10000);
    ck_assert_int_eq(CFG_NUM(&C, max_header_size), 8192);
    ck_assert_str_eq(CFG_STR(&C, admin_listen), "127.0.0.1:9090");
    ck_assert_str_eq(C.admin_host, "127.0.0.1");
    ck_assert_int_eq(C.admin_port, 9090);
    ck_assert_str_eq(C.origin[CFG_K_port], "default");
}
END_TEST

START_TEST(cfg_parses_every_type)
{
    ck_assert_int_eq(load("# comment\n\n  port = 4000  \nworkers=3\n"
        "daemonize = yes\npid_file = /tmp/x.pid\nlog_level = debug\n"
        "log_format = json\nhandshake_timeout = 2s\nshutdown_timeout = 1m\n"
        "max_header_size = 16k\napi_key = \" spaced key \"\n"
        "admin_listen = [::1]:9999\n"
        "allowed_origins = https://a.example, http://b.example:8080\n"), 0);
    ck_assert_int_eq(CFG_NUM(&C, port), 4000);
    ck_assert_int_eq(CFG_NUM(&C, workers), 3);
    ck_assert_int_eq(CFG_NUM(&C, daemonize), 1);
    ck_assert_int_eq(CFG_NUM(&C, log_level), 7);
    ck_assert_int_eq(CFG_NUM(&C, log_format), 1);
    ck_assert_int_eq(CFG_NUM(&C, handshake_timeout), 2000);
    ck_assert_int_eq(CFG_NUM(&C, shutdown_timeout), 60000);
    ck_assert_int_eq(CFG_NUM(&C, max_header_size), 16384);
    ck_assert_str_eq(CFG_STR(&C, api_key), " spaced key ");
    ck_assert_str_eq(C.admin_host, "::1");
    ck_assert_int_eq(C.admin_port, 9999);
    ck_assert_str_eq(C.origin[CFG_K_port], "t.conf:3");
}
END_TEST

START_TEST(cfg_bare_ms_duration_is_milliseconds)
{
    ck_assert_int_eq(load("handshake_timeout = 1500\n"), 0);
    ck_assert_int_eq(CFG_NUM(&C, handshake_timeout), 1500);
}
END_TEST

START_TEST(cfg_unknown_key_names_file_line_key)
{
    ck_assert_int_eq(load("port = 1\n\nbogus_key = 3\n"), -1);
    ck_assert_ptr_nonnull(strstr(err, "t.conf:3"));
    ck_assert_ptr_nonnull(strstr(err, "bogus_key"));
}
END_TEST

START_TEST(cfg_bad_values_name_file_line_key)
{
    static const char *bad[] = {
        "workers = lots\n", "workers = -1\n", "workers = 129\n",
        "port = 0\n", "port = 65536\n", "daemonize = maybe\n",
        "handshake_timeout = 10x\n", "handshake_timeout = 50\n",
        "max_header_size = 1t\n", "admin_listen = 9090\n",
        "admin_listen = example.com:80\n", "admin_listen = 1.2.3.4:0\n",
        "log_level = loud\n", "log_format = xml\n", "bind = localhost\n",
        "allowed_origins = crm.example\n", "allowed_origins = ,\n",
        "port = 99999999999999999999999\n", "workers = 3 # four\n",
        "redis_url = redis://h:0\n", "redis_url = localhost:6379\n",
        "redis_unavailable = drop\n", "node_name = a b\n",
        "redis_stream = \"\"\n", "redis_queue_size = 1k\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        cfg_free(&C);
        ck_assert_int_eq(cfg_init(&C), 0);
        ck_assert_msg(load(bad[i]) == -1, "accepted %s", bad[i]);
        ck_assert_msg(strstr(err, "t.conf:1") != NULL, "%s", err);
        char key[64];
        sscanf(bad[i], "%63s", key);
        ck_assert_msg(strstr(err, key) != NULL, "%s", err);
    }
}
END_TEST

START_TEST(cfg_redis_keys_parse_and_never_echo_the_password)
{
    ck_assert_int_eq(load("redis_url = redis://:hunter2@127.0.0.1:6390/1\n"
        "redis_unavailable = refuse\nnode_name = node-a\n"), 0);
    ck_assert_int_eq(CFG_NUM(&C, redis_unavailable), 1);
    ck_assert_str_eq(CFG_STR(&C, node_name), "node-a");
    cfg_free(&C);
    ck_assert_int_eq(cfg_init(&C), 0);
    ck_assert_int_eq(CFG_NUM(&C, redis_unavailable), 0);
    ck_assert_int_eq(load("redis_url = redis://:hunter2@h:99999\n"), -1);
    ck_assert_ptr_eq(strstr(err, "hunter2"), NULL);
    ck_assert_ptr_ne(strstr(err, "port must be 1-65535"), NULL);
    ck_assert_ptr_ne(strstr(err, "redis_url"), NULL);
}
END_TEST

START_TEST(cfg_line_without_equals_is_error)
{
    ck_assert_int_eq(load("port 3000\n"), -1);
    ck_assert_ptr_nonnull(strstr(err, "t.conf:1"));
}
END_TEST

START_TEST(cfg_key_set_twice_is_error)
{
    ck_assert_int_eq(load("port = 1\nport = 2\n"), -1);
    ck_assert_ptr_nonnull(strstr(err, "t.conf:2"));
    ck_assert_ptr_nonnull(strstr(err, "line 1"));
}
END_TEST

START_TEST(cfg_unreadable_file_is_error)
{
    ck_assert_int_eq(cfg_load_file(&C, "/nonexistent/wsgate.conf", err,
        sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/wsgate.conf"));
}
END_TEST

START_TEST(cfg_file_roundtrip)
{
    char path[] = "/tmp/check_config_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ne(fd, -1);
    ck_assert_int_eq(write(fd, "port = 4321\n", 12), 12);
    close(fd);
    ck_assert_int_eq(cfg_load_file(&C, path, err, sizeof(err)), 0);
    ck_assert_int_eq(CFG_NUM(&C, port), 4321);
    unlink(path);
}
END_TEST

START_TEST(cfg_precedence_flag_env_file_default)
{
    char *env[] = {"PORT=5000", "WSGATE_PORT=6000", "HOME=/root", NULL};
    char *env_legacy[] = {"PORT=5000", "FRONTEND_URL=https://crm.example",
        NULL};

    ck_assert_int_eq(load("port = 4000\nworkers = 2\n"), 0);
    ck_assert_int_eq(cfg_apply_env(&C, env, err, sizeof(err)), 0);
    ck_assert_int_eq(CFG_NUM(&C, port), 6000);   /* WSGATE_ beats PORT */
    ck_assert_int_eq(CFG_NUM(&C, workers), 2);   /* file kept */
    ck_assert_int_eq(cfg_set(&C, "port", "7000", "flag -p", err,
        sizeof(err)), 0);
    ck_assert_int_eq(CFG_NUM(&C, port), 7000);   /* flag beats env */
    ck_assert_str_eq(C.origin[CFG_K_port], "flag -p");

    cfg_free(&C);
    ck_assert_int_eq(cfg_init(&C), 0);
    ck_assert_int_eq(load("port = 4000\n"), 0);
    ck_assert_int_eq(cfg_apply_env(&C, env_legacy, err, sizeof(err)), 0);
    ck_assert_int_eq(CFG_NUM(&C, port), 5000);   /* legacy env beats file */
    ck_assert_str_eq(CFG_STR(&C, allowed_origins), "https://crm.example");
}
END_TEST

START_TEST(cfg_env_unknown_wsgate_variables_are_listed_not_fatal)
{
    char *env[] = {"WSGATE_TOKEN=abc", "WSGATE_PORT=6001", "WSGATE_=x",
        "WSGATE_BIN=/usr/bin/wsgate", NULL};
    char big[600][40];
    char *many[601];

    ck_assert_int_eq(cfg_apply_env(&C, env, err, sizeof(err)), 0);
    ck_assert_int_eq(CFG_NUM(&C, port), 6001);   /* known keys still apply */
    ck_assert_str_eq(C.unknown_env, "WSGATE_TOKEN, WSGATE_, WSGATE_BIN");
    /* A long list is cut, and says so. */
    cfg_free(&C);
    ck_assert_int_eq(cfg_init(&C), 0);
    for (int i = 0; i < 600; i++) {
        snprintf(big[i], sizeof(big[i]), "WSGATE_UNRELATED_%d=1", i);
        many[i] = big[i];
    }
    many[600] = NULL;
    ck_assert_int_eq(cfg_apply_env(&C, many, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(strstr(C.unknown_env, "WSGATE_UNRELATED_0, "));
    ck_assert_int_eq(strcmp(C.unknown_env + strlen(C.unknown_env) - 3,
        "..."), 0);
    ck_assert_int_lt(strlen(C.unknown_env), sizeof(C.unknown_env));
}
END_TEST

START_TEST(cfg_env_errors_name_variable)
{
    char *bad[] = {"WSGATE_WORKERS=many", NULL};

    ck_assert_int_eq(cfg_apply_env(&C, bad, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "WSGATE_WORKERS"));
    ck_assert_ptr_nonnull(strstr(err, "workers"));
}
END_TEST

START_TEST(cfg_validate_cross_keys)
{
    ck_assert_int_eq(load("daemonize = on\n"), 0);
    ck_assert_int_eq(cfg_validate(&C, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "pid_file"));
}
END_TEST

START_TEST(cfg_validate_node_record_ttl_covers_two_intervals)
{
    ck_assert_int_eq(load("node_record_interval = 1s\n"
        "node_record_ttl = 1999ms\n"), 0);
    ck_assert_int_eq(cfg_validate(&C, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "node_record_ttl"));
    ck_assert_int_eq(load("node_record_interval = 200ms\n"
        "node_record_ttl = 400ms\n"), 0);
    ck_assert_int_eq(cfg_validate(&C, err, sizeof(err)), 0);
}
END_TEST

START_TEST(cfg_validate_proxy_urls_stay_on_loopback_or_the_allowed_host)
{
    ck_assert_int_eq(load("connect_proxy_url = http://crm.example/c\n"), 0);
    ck_assert_int_eq(cfg_validate(&C, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "connect_proxy_url"));
    ck_assert_int_eq(load("event_proxy_url = http://crm.example/e\n"
        "proxy_allowed_host = crm.example\n"), 0);
    ck_assert_int_eq(cfg_validate(&C, err, sizeof(err)), 0);
    ck_assert_int_eq(load("connect_proxy_url = http://127.0.0.1:8080/c\n"),
        0);
    ck_assert_int_eq(cfg_validate(&C, err, sizeof(err)), 0);
    ck_assert_int_eq(load("connect_proxy_url = https://127.0.0.1/c\n"), -1);
    ck_assert_int_eq(load("connect_proxy_fail = maybe\n"), -1);
}
END_TEST

START_TEST(cfg_every_default_parses)
{
    for (int i = 0; i < CFG__COUNT; i++) {
        ck_assert_int_eq(cfg_lookup(cfg_desc[i].key), i);
        ck_assert_ptr_nonnull(cfg_desc[i].help);
        ck_assert_int_gt(strlen(cfg_desc[i].help), 0);
    }
}
END_TEST

static Suite *
config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *t = tcase_create("file");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, cfg_defaults_match_table);
    tcase_add_test(t, cfg_parses_every_type);
    tcase_add_test(t, cfg_bare_ms_duration_is_milliseconds);
    tcase_add_test(t, cfg_unknown_key_names_file_line_key);
    tcase_add_test(t, cfg_bad_values_name_file_line_key);
    tcase_add_test(t, cfg_line_without_equals_is_error);
    tcase_add_test(t, cfg_redis_keys_parse_and_never_echo_the_password);
    tcase_add_test(t, cfg_key_set_twice_is_error);
    tcase_add_test(t, cfg_unreadable_file_is_error);
    tcase_add_test(t, cfg_file_roundtrip);
    tcase_add_test(t, cfg_every_default_parses);
    suite_add_tcase(s, t);
    t = tcase_create("precedence");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, cfg_precedence_flag_env_file_default);
    tcase_add_test(t, cfg_env_errors_name_variable);
    tcase_add_test(t, cfg_env_unknown_wsgate_variables_are_listed_not_fatal);
    tcase_add_test(t, cfg_validate_cross_keys);
    tcase_add_test(t, cfg_validate_node_record_ttl_covers_two_intervals);
    tcase_add_test(t,
        cfg_validate_proxy_urls_stay_on_loopback_or_the_allowed_host);
    suite_add_tcase(s, t);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
