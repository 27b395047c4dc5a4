/*
 * libFuzzer harness for the message-log entry decoder: any bytes decode
 * or fail cleanly, and every decoded entry (publish, control, emitter
 * EMIT and EMIT_KICK) re-encodes to the same bytes.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/msg.h"

/* s lies inside data[0..size). */
#define INSIDE(s) assert((s).n == 0 || ((s).p >= (const char *)data \
    && (s).p + (s).n <= (const char *)data + size))

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct msg_view v;
    static unsigned char out[1 << 16];
    size_t n = 0;

    if (msg_decode(data, size, &v) != MSG_OK)
        return 0;
    struct msg_emit e = {v.target, v.targets, v.except, v.ntargets,
        v.nexcept, v.nsp, v.event, v.data, v.nargs, v.attach, v.nattach,
        v.close};

    for (size_t i = 0; i < v.ntargets; i++)
        assert(v.targets[i].p >= (const char *)data
            && v.targets[i].p + v.targets[i].n <= (const char *)data + size);
    for (size_t i = 0; i < v.nexcept; i++)
        INSIDE(v.except[i]);
    for (size_t i = 0; i < v.nattach; i++)
        INSIDE(v.attach[i]);
    INSIDE(v.nsp);
    INSIDE(v.data);
    switch (v.kind) {
    case MSG_PUBLISH:
        n = msg_encode_publish(out, sizeof(out), v.target, v.targets,
            v.ntargets, v.event, v.data);
        break;
    case MSG_DISCONNECT_USER:
        n = msg_encode_disconnect(out, sizeof(out), v.user, v.reason);
        break;
    case MSG_BROADCAST:
        n = msg_encode_broadcast(out, sizeof(out), v.data);
        break;
    case MSG_EMIT:
        n = msg_encode_emit(out, sizeof(out), &e);
        break;
    case MSG_EMIT_KICK:
        n = msg_encode_emit_kick(out, sizeof(out), &e);
        break;
    }
    if (size <= sizeof(out)) {
        assert(n == size);
        assert(memcmp(out, data, n) == 0);
    }
    return 0;
}
