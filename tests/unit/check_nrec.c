/*
 * Node record codec and cluster view: a record round-trips with its
 * counters by name, records of another format or with missing or bad
 * fields are refused, keys carry the stream prefix, and the view sums
 * the nodes (counters by name, across versions) and marks this node.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/counters.h"
#include "common/nrec.h"

static struct nrec
sample(const char *node, const char *inc, uint64_t conns)
{
    struct nrec r;

    memset(&r, 0, sizeof(r));
    strcpy(r.node, node);
    strcpy(r.inc, inc);
    strcpy(r.version, "0.1.0");
    strcpy(r.status, "ok");
    r.pid = 4242;
    r.started_ms = 1700000000000;
    r.heartbeat_ms = 1700000012345;
    r.interval_ms = 1000;
    r.ttl_ms = 5000;
    r.workers = 2;
    r.slots = 2;
    r.connections = conns;
    r.capacity = 40000;
    r.rooms = 3;
    r.subscriptions = 7;
    r.users = 5;
    return r;
}

static enum nrec_status
dec(const char *s, struct nrec *r)
{
    return nrec_decode(s, strlen(s), r);
}

START_TEST(nrec_roundtrips_fields_and_counters)
{
    uint64_t ctr[CTR__COUNT];
    struct nrec r = sample("node-a:3001", "00ff00ff00ff00ff", 12), d;
    char *s;

    for (int i = 0; i < CTR__COUNT; i++)
        ctr[i] = (uint64_t)i * 1000 + 1;
    r.ctr = ctr;
    s = nrec_encode(&r);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(dec(s, &d), NREC_OK);
    ck_assert_str_eq(d.node, "node-a:3001");
    ck_assert_str_eq(d.inc, "00ff00ff00ff00ff");
    ck_assert_str_eq(d.version, "0.1.0");
    ck_assert_str_eq(d.status, "ok");
    ck_assert_int_eq(d.pid, 4242);
    ck_assert_int_eq(d.started_ms, 1700000000000);
    ck_assert_int_eq(d.heartbeat_ms, 1700000012345);
    ck_assert_int_eq(d.interval_ms, 1000);
    ck_assert_int_eq(d.ttl_ms, 5000);
    ck_assert_uint_eq(d.workers, 2);
    ck_assert_uint_eq(d.connections, 12);
    ck_assert_uint_eq(d.capacity, 40000);
    ck_assert_uint_eq(d.rooms, 3);
    ck_assert_uint_eq(d.subscriptions, 7);
    ck_assert_uint_eq(d.users, 5);
    ck_assert_uint_eq(json_object_size(d.counters), CTR__COUNT);
    for (int i = 0; i < CTR__COUNT; i++)
        ck_assert_int_eq(json_integer_value(json_object_get(d.counters,
            ctr_desc[i].name)), i * 1000 + 1);
    nrec_clear(&d);
    free(s);
}
END_TEST

START_TEST(nrec_decode_without_counters_gives_empty_object)
{
    struct nrec r = sample("n", "1", 0), d;
    char *s = nrec_encode(&r);

    ck_assert_int_eq(dec(s, &d), NREC_OK);
    ck_assert_ptr_nonnull(d.counters);
    ck_assert_uint_eq(json_object_size(d.counters), 0);
    nrec_clear(&d);
    free(s);
}
END_TEST

START_TEST(nrec_decode_ignores_unknown_fields)
{
    struct nrec d;
    const char *s = "{\"v\":1,\"node\":\"n1\",\"inc\":\"ab\",\"status\":"
        "\"ok\",\"pid\":1,\"started_ms\":1,\"heartbeat_ms\":2,"
        "\"interval_ms\":1000,\"ttl_ms\":5000,\"workers\":1,\"slots\":1,"
        "\"connections\":4,\"capacity\":9,\"rooms\":0,\"subscriptions\":0,"
        "\"users\":0,\"future\":{\"x\":[1,2]}}";

    ck_assert_int_eq(dec(s, &d), NREC_OK);
    ck_assert_str_eq(d.node, "n1");
    ck_assert_str_eq(d.version, ""); /* optional */
    ck_assert_uint_eq(d.connections, 4);
    nrec_clear(&d);
}
END_TEST

START_TEST(nrec_decode_refuses_bad_records)
{
    struct nrec r = sample("n", "1", 0), d;
    char *good = nrec_encode(&r);
    json_t *o = json_loads(good, 0, NULL);
    static const char *const drop[] = {"node", "inc", "status", "pid",
        "heartbeat_ms", "ttl_ms", "connections", "rooms"};

    ck_assert_int_eq(dec("", &d), NREC_E_JSON);
    ck_assert_int_eq(dec("[1]", &d), NREC_E_JSON);
    ck_assert_int_eq(dec("{\"node\":\"n\"", &d), NREC_E_JSON);
    ck_assert_int_eq(dec("{\"v\":2,\"node\":\"n\"}", &d), NREC_E_FORMAT);
    ck_assert_int_eq(dec("{\"node\":\"n\"}", &d), NREC_E_FORMAT);
    ck_assert_ptr_null(d.counters);
    for (size_t i = 0; i < sizeof(drop) / sizeof(*drop); i++) {
        json_t *c = json_deep_copy(o);
        json_object_del(c, drop[i]);
        char *s = json_dumps(c, JSON_COMPACT);
        ck_assert_msg(dec(s, &d) == NREC_E_FIELD, "without %s", drop[i]);
        free(s);
        json_decref(c);
    }
    /* Wrong types, negative counts, an over-long name, counters not an
     * object, an empty node name. */
    static const char *const bad[][2] = {
        {"connections", "-1"}, {"connections", "\"4\""},
        {"node", "\"\""}, {"inc", "\"0123456789abcdef0\""},
        {"counters", "[]"}, {"pid", "1.5"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        json_t *c = json_deep_copy(o);
        json_object_set_new(c, bad[i][0], json_loads(bad[i][1],
            JSON_DECODE_ANY, NULL));
        char *s = json_dumps(c, JSON_COMPACT);
        ck_assert_msg(dec(s, &d) == NREC_E_FIELD, "%s = %s", bad[i][0],
            bad[i][1]);
        free(s);
        json_decref(c);
    }
    char name[NREC_NODE_MAX + 2];
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    json_object_set_new(o, "node", json_string(name));
    char *s = json_dumps(o, JSON_COMPACT);
    ck_assert_int_eq(dec(s, &d), NREC_E_FIELD);
    free(s);
    json_decref(o);
    free(good);
}
END_TEST

START_TEST(nrec_keys_carry_the_stream_prefix)
{
    char buf[NREC_KEY_MAX];

    ck_assert_int_eq(nrec_key("wsgate", "n1:3001", buf, sizeof(buf)), 19);
    ck_assert_str_eq(buf, "wsgate:node:n1:3001");
    ck_assert_int_eq(nrec_index_key("crm-a", buf, sizeof(buf)), 11);
    ck_assert_str_eq(buf, "crm-a:nodes");
    ck_assert_int_eq(nrec_key("wsgate", "n1", buf, 10), -1);
}
END_TEST

/* Decode the view text (it must be JSON). */
static json_t *
view(const struct nrec_live *l, size_t n, int stats, int trunc)
{
    char *s = nrec_view(l, n, "b", "2", stats, trunc, 1);
    json_t *o;

    ck_assert_ptr_nonnull(s);
    o = json_loads(s, 0, NULL);
    ck_assert_ptr_nonnull(o);
    free(s);
    return o;
}

START_TEST(nrec_view_sums_nodes_and_marks_self)
{
    struct nrec_live l[2];
    uint64_t ctr[CTR__COUNT] = {0};
    json_t *o, *t, *n0;

    l[0].rec = sample("a", "1", 3);
    l[1].rec = sample("b", "2", 4);
    l[0].age_ms = 100;
    l[1].age_ms = 250;
    /* Through the codec, as rnod.c does; b is of a version with one
     * more counter. */
    for (int i = 0; i < 2; i++) {
        char *s;
        ctr[CTR_conn_open] = 10 + (uint64_t)i;
        l[i].rec.ctr = ctr;
        s = nrec_encode(&l[i].rec);
        ck_assert_int_eq(dec(s, &l[i].rec), NREC_OK);
        free(s);
    }
    json_object_set_new(l[1].rec.counters, "only_new", json_integer(5));
    o = view(l, 2, 1, 0);
    ck_assert_str_eq(json_string_value(json_object_get(o, "scope")),
        "cluster");
    ck_assert_str_eq(json_string_value(json_object_get(o, "status")), "ok");
    ck_assert(json_is_false(json_object_get(o, "truncated")));
    ck_assert_int_eq(json_integer_value(json_object_get(o, "expired")), 1);
    n0 = json_array_get(json_object_get(o, "nodes"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(n0, "node")), "a");
    ck_assert(json_is_false(json_object_get(n0, "self")));
    ck_assert_int_eq(json_integer_value(json_object_get(n0,
        "heartbeat_age_ms")), 100);
    ck_assert_int_eq(json_integer_value(json_object_get(n0, "uptime_s")),
        12);
    ck_assert(json_is_true(json_object_get(json_array_get(
        json_object_get(o, "nodes"), 1), "self")));
    t = json_object_get(o, "totals");
    ck_assert_int_eq(json_integer_value(json_object_get(t, "nodes")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(t, "connections")),
        7);
    ck_assert_int_eq(json_integer_value(json_object_get(t, "workers")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(t, "rooms")), 6);
    t = json_object_get(o, "counters");
    ck_assert_int_eq(json_integer_value(json_object_get(t, "conn_open")),
        21);
    ck_assert_int_eq(json_integer_value(json_object_get(t, "only_new")), 5);
    ck_assert_ptr_nonnull(json_object_get(n0, "counters"));
    json_decref(o);
    /* /socket-status: no counters; one node not ok makes it degraded. */
    strcpy(l[0].rec.status, "stopping");
    o = view(l, 2, 0, 1);
    ck_assert_ptr_null(json_object_get(o, "counters"));
    ck_assert_ptr_null(json_object_get(json_array_get(
        json_object_get(o, "nodes"), 0), "counters"));
    ck_assert_str_eq(json_string_value(json_object_get(o, "status")),
        "degraded");
    ck_assert(json_is_true(json_object_get(o, "truncated")));
    json_decref(o);
    nrec_clear(&l[0].rec);
    nrec_clear(&l[1].rec);
}
END_TEST

START_TEST(nrec_view_of_no_node)
{
    json_t *o = view(NULL, 0, 1, 0);

    ck_assert_uint_eq(json_array_size(json_object_get(o, "nodes")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(
        json_object_get(o, "totals"), "nodes")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(o, "status")),
        "degraded");
    json_decref(o);
}
END_TEST

static Suite *
nrec_suite(void)
{
    Suite *s = suite_create("nrec");
    TCase *c = tcase_create("codec");
    TCase *v = tcase_create("view");

    tcase_add_test(c, nrec_roundtrips_fields_and_counters);
    tcase_add_test(c, nrec_decode_without_counters_gives_empty_object);
    tcase_add_test(c, nrec_decode_ignores_unknown_fields);
    tcase_add_test(c, nrec_decode_refuses_bad_records);
    tcase_add_test(c, nrec_keys_carry_the_stream_prefix);
    tcase_add_test(v, nrec_view_sums_nodes_and_marks_self);
    tcase_add_test(v, nrec_view_of_no_node);
    suite_add_tcase(s, c);
    suite_add_tcase(s, v);
    return s;
}

int
main(void)
{
    SRunner *r = srunner_create(nrec_suite());
    int failed;

    srunner_run_all(r, CK_NORMAL);
    failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
