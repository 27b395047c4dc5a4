/*
 * libFuzzer harness for the redis-emitter codec: any bytes go through
 * rde_broadcast, rde_request and rde_channel and decode or fail cleanly.
 * A decoded broadcast borrows only the input, its payload is JSON of the
 * announced shape whose placeholders use every attachment once, the
 * status does not depend on the buffer except for RDE_E_SPACE, and
 * RDE_JSON_CAP(n) is always enough.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/msg.h"
#include "common/rde.h"
#include "common/sio.h"

static int
within(const void *p, size_t n, const uint8_t *data, size_t size)
{
    const uint8_t *q = p;
    return n == 0 || (q >= data && q + n <= data + size);
}

static void
check_broadcast(const uint8_t *data, size_t size)
{
    static struct rde_bcast b, b2;
    size_t cap = RDE_JSON_CAP(size);
    char *json = malloc(cap), *small = NULL;
    enum rde_status st, st2;
    json_error_t err;
    json_t *j;

    assert(json != NULL);
    st = rde_broadcast(data, size, json, cap, &b);
    assert(st != RDE_E_SPACE);
    if (st != RDE_OK) {
        /* the same error with no room at all */
        assert(rde_broadcast(data, size, NULL, 0, &b2) == st);
        free(json);
        return;
    }
    assert(b.json_len < cap && json[b.json_len] == '\0');
    assert(within(b.uid.p, b.uid.n, data, size));
    assert(within(b.event.p, b.event.n, data, size));
    assert(b.nsp.n == 1 || within(b.nsp.p, b.nsp.n, data, size));
    assert(b.nrooms <= RDE_ROOMS_MAX && b.nexcept <= RDE_ROOMS_MAX);
    for (size_t i = 0; i < b.nrooms; i++)
        assert(within(b.rooms[i].p, b.rooms[i].n, data, size) &&
               msg_room_valid(b.rooms[i].p, b.rooms[i].n));
    for (size_t i = 0; i < b.nexcept; i++)
        assert(within(b.except[i].p, b.except[i].n, data, size) &&
               msg_room_valid(b.except[i].p, b.except[i].n));
    assert(b.nattach <= RDE_ATTACH_MAX);
    for (size_t i = 0; i < b.nattach; i++)
        assert(within(b.attach[i].p, b.attach[i].n, data, size));
    assert(b.type == SIO_EVENT || b.type == SIO_BINARY_EVENT);
    assert(b.args_off + b.args_len < b.json_len);

    /* a JSON array of the event and nargs arguments (unless a key holds
     * U+0000, valid JSON that jansson cannot load) */
    j = json_loadb(json, b.json_len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL,
                   &err);
    if (j == NULL) {
        assert(json_error_code(&err) == json_error_null_byte_in_key);
    } else {
        assert(json_is_array(j) && json_array_size(j) == b.nargs + 1);
        assert(json_string_length(json_array_get(j, 0)) == b.event.n);
        json_decref(j);
    }
    /* without duplicate keys (which JSON.parse resolves like notepack)
     * and integers beyond jansson's, every attachment is used exactly
     * once */
    j = json_loadb(json, b.json_len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
                   NULL);
    if (j != NULL && b.nattach > 0)
        assert(sio_attach_check(j, b.nattach) == SIO_OK);
    json_decref(j);

    /* exactly json_len + 1 bytes suffice; one fewer does not */
    small = malloc(b.json_len + 1);
    assert(small != NULL);
    assert(rde_broadcast(data, size, small, b.json_len, &b2) == RDE_E_SPACE);
    st2 = rde_broadcast(data, size, small, b.json_len + 1, &b2);
    assert(st2 == RDE_OK && b2.json_len == b.json_len);
    assert(memcmp(small, json, b.json_len + 1) == 0);
    free(small);
    free(json);
}

static void
check_request(const uint8_t *data, size_t size)
{
    static struct rde_req r;
    enum rde_status st = rde_request(data, size, &r);

    if (st != RDE_OK && st != RDE_IGNORED) {
        assert(r.json == NULL && r.uid.n == 0 && r.nrooms == 0);
        return;
    }
    assert(r.json != NULL);
    assert(r.nrooms <= RDE_ROOMS_MAX && r.nexcept <= RDE_ROOMS_MAX &&
           r.ntarget <= RDE_ROOMS_MAX);
    for (size_t i = 0; i < r.ntarget; i++)
        assert(msg_room_valid(r.target[i].p, r.target[i].n));
    if (st == RDE_IGNORED)
        assert(r.type == RDE_REQ_SERVER_SIDE_EMIT);
    else
        assert(r.type >= RDE_REQ_REMOTE_JOIN &&
               r.type <= RDE_REQ_REMOTE_DISCONNECT);
    rde_req_clear(&r);
    assert(r.json == NULL);
}

static void
check_channel(const uint8_t *data, size_t size)
{
    struct rde_chan c;

    if (rde_channel(NULL, (const char *)data, size, &c) != RDE_OK)
        return;
    assert(within(c.nsp.p, c.nsp.n, data, size) && c.nsp.n > 0);
    assert(within(c.room.p, c.room.n, data, size));
    assert(c.kind == RDE_CH_BROADCAST || c.room.n == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_broadcast(data, size);
    check_request(data, size);
    check_channel(data, size);
    return 0;
}
