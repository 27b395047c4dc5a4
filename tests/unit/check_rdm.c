/*
 * Emitter messages to log entries (rdm): what
 * @socket.io/redis-emitter publishes becomes an EMIT or EMIT_KICK entry
 * that decodes back to the same rooms, except rooms, namespace, event,
 * arguments and attachments; what wsgate cannot act on is sorted into
 * ignored, unsupported and bad. Broadcasts are built with msgpack-c's
 * packer in the emitter's layout ([uid, packet, opts]; check_rde.c holds
 * the bytes the npm package itself publishes).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/evj.h"
#include "common/msg.h"
#include "common/rdm.h"

#define CAP 4096

static void
pk_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void
pk_list(msgpack_packer *pk, const char *const *v)
{
    size_t n = 0;

    while (v && v[n])
        n++;
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        pk_str(pk, v[i]);
}

/* ["emitter", {type, data: [ev, bin(1,2), {"k": 1}], nsp}, {rooms, flags,
 * except}]; local sets flags.local, ack adds packet.id. */
static void
pk_bcast(msgpack_sbuffer *sb, const char *nsp, const char *const *rooms,
    const char *const *except, int local, int ack)
{
    msgpack_packer pk;

    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    pk_str(&pk, "emitter");
    msgpack_pack_map(&pk, ack ? 4 : 3);
    pk_str(&pk, "type");
    msgpack_pack_int(&pk, 2);
    pk_str(&pk, "data");
    msgpack_pack_array(&pk, 3);
    pk_str(&pk, "ev");
    msgpack_pack_bin(&pk, 2);
    msgpack_pack_bin_body(&pk, "\x01\x02", 2);
    msgpack_pack_map(&pk, 1);
    pk_str(&pk, "k");
    msgpack_pack_int(&pk, 1);
    pk_str(&pk, "nsp");
    pk_str(&pk, nsp);
    if (ack) {
        pk_str(&pk, "id");
        msgpack_pack_int(&pk, 7);
    }
    msgpack_pack_map(&pk, 3);
    pk_str(&pk, "rooms");
    pk_list(&pk, rooms);
    pk_str(&pk, "flags");
    msgpack_pack_map(&pk, local ? 1 : 0);
    if (local) {
        pk_str(&pk, "local");
        msgpack_pack_true(&pk);
    }
    pk_str(&pk, "except");
    pk_list(&pk, except);
}

static enum rdm_result
map(const char *ch, const void *p, size_t n, unsigned char *out,
    struct rdm_out *o)
{
    return rdm_message(NULL, ch, strlen(ch), p, n, out, CAP, o);
}

START_TEST(rdm_broadcast_to_rooms_except_binary)
{
    static const char *const rooms[] = {"lead:1", "lead:2", NULL};
    static const char *const except[] = {"vip", NULL};
    unsigned char out[CAP];
    char js[256];
    struct rdm_out o;
    struct msg_view v;
    msgpack_sbuffer sb;

    msgpack_sbuffer_init(&sb);
    pk_bcast(&sb, "/", rooms, except, 0, 0);
    ck_assert_int_eq(map("socket.io#/#", sb.data, sb.size, out, &o),
        RDM_FORWARD);
    ck_assert_int_eq(msg_decode(out, o.len, &v), MSG_OK);
    ck_assert_int_eq(v.kind, MSG_EMIT);
    ck_assert_int_eq(v.target, MSG_T_ROOMS);
    ck_assert_uint_eq(v.ntargets, 2);
    ck_assert_int_eq(memcmp(v.targets[1].p, "lead:2", 6), 0);
    ck_assert_uint_eq(v.nexcept, 1);
    ck_assert_uint_eq(v.nargs, 2);
    ck_assert_uint_eq(v.nattach, 1);
    ck_assert_uint_eq(v.attach[0].n, 2);
    ck_assert_int_eq(memcmp(v.attach[0].p, "\x01\x02", 2), 0);
    ck_assert_uint_eq(evj_sio_array(&v, "42", js, sizeof(js)), strlen(js));
    ck_assert_str_eq(js,
        "[\"ev\",{\"_placeholder\":true,\"num\":0},{\"k\":1},\"42\"]");
    evj_ws_data(&v, js, sizeof(js));
    ck_assert_str_eq(js, "[{\"_placeholder\":true,\"num\":0},{\"k\":1}]");
    /* the single-room channel form carries the same message */
    ck_assert_int_eq(map("socket.io#/#lead:1#", sb.data, sb.size, out, &o),
        RDM_FORWARD);
    /* no room: everyone of the namespace */
    msgpack_sbuffer_clear(&sb);
    pk_bcast(&sb, "/admin", NULL, NULL, 0, 0);
    ck_assert_int_eq(map("socket.io#/admin#", sb.data, sb.size, out, &o),
        RDM_FORWARD);
    ck_assert_int_eq(msg_decode(out, o.len, &v), MSG_OK);
    ck_assert_int_eq(v.target, MSG_T_ALL);
    ck_assert_int_eq(memcmp(v.nsp.p, "/admin", 6), 0);
    /* an entry that does not fit */
    ck_assert_int_eq(rdm_message(NULL, "socket.io#/admin#", 17,
        (const unsigned char *)sb.data, sb.size, out, 20, &o), RDM_BAD);
    ck_assert_int_eq(o.why, RDE_E_SIZE);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(rdm_broadcast_not_forwarded)
{
    unsigned char out[CAP];
    struct rdm_out o;
    msgpack_sbuffer sb;

    msgpack_sbuffer_init(&sb);
    pk_bcast(&sb, "/", NULL, NULL, 1, 0);
    ck_assert_int_eq(map("socket.io#/#", sb.data, sb.size, out, &o),
        RDM_IGNORE);
    msgpack_sbuffer_clear(&sb);
    pk_bcast(&sb, "/", NULL, NULL, 0, 1);
    ck_assert_int_eq(map("socket.io#/#", sb.data, sb.size, out, &o),
        RDM_UNSUPPORTED);
    ck_assert_int_eq(o.why, RDE_E_ACK);
    msgpack_sbuffer_clear(&sb);
    pk_bcast(&sb, "/admin", NULL, NULL, 0, 0);
    ck_assert_int_eq(map("socket.io#/#", sb.data, sb.size, out, &o),
        RDM_BAD);
    ck_assert_int_eq(o.why, RDE_E_NSP);
    ck_assert_int_eq(map("socket.io#/#", "\xc1", 1, out, &o), RDM_BAD);
    ck_assert_int_eq(map("other#/#", sb.data, sb.size, out, &o), RDM_BAD);
    ck_assert_int_eq(o.why, RDE_E_CHANNEL);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(rdm_requests)
{
    static const char kick[] = "{\"type\":4,\"opts\":{\"rooms\":[\"kick\"],"
        "\"except\":[\"safe\"]},\"close\":true}";
    static const char sse[] = "{\"uid\":\"emitter\",\"type\":6,"
        "\"data\":[\"x\"]}";
    static const char join[] = "{\"type\":2,\"opts\":{\"rooms\":[],"
        "\"except\":[]},\"rooms\":[\"r\"]}";
    unsigned char out[CAP];
    struct rdm_out o;
    struct msg_view v;

    ck_assert_int_eq(map("socket.io-request#/#", kick, strlen(kick), out,
        &o), RDM_FORWARD);
    ck_assert_int_eq(msg_decode(out, o.len, &v), MSG_OK);
    ck_assert_int_eq(v.kind, MSG_EMIT_KICK);
    ck_assert_int_eq(v.close, 1);
    ck_assert_uint_eq(v.ntargets, 1);
    ck_assert_int_eq(memcmp(v.except[0].p, "safe", 4), 0);
    ck_assert_int_eq(map("socket.io-request#/#", sse, strlen(sse), out, &o),
        RDM_IGNORE);
    ck_assert_int_eq(map("socket.io-request#/#", join, strlen(join), out,
        &o), RDM_UNSUPPORTED);
    ck_assert_int_eq(o.req_type, 2);
    ck_assert_int_eq(map("socket.io-request#/#", "{\"type\":99}", 11, out,
        &o), RDM_UNSUPPORTED);
    ck_assert_int_eq(map("socket.io-request#/#", "{\"type\":", 8, out, &o),
        RDM_BAD);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("rdm");
    TCase *t = tcase_create("rdm");
    SRunner *sr;
    int failed;

    tcase_add_test(t, rdm_broadcast_to_rooms_except_binary);
    tcase_add_test(t, rdm_broadcast_not_forwarded);
    tcase_add_test(t, rdm_requests);
    suite_add_tcase(s, t);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
