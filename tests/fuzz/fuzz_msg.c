/*
 * libFuzzer harness for the message-log entry decoder: any bytes decode
 * or fail cleanly, and a decoded publish re-encodes to the same bytes.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/msg.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct msg_view v;
    static unsigned char out[1 << 16];
    size_t n = 0;

    if (msg_decode(data, size, &v) != MSG_OK)
        return 0;
    for (size_t i = 0; i < v.ntargets; i++)
        assert(v.targets[i].p >= (const char *)data
            && v.targets[i].p + v.targets[i].n <= (const char *)data + size);
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
    }
    if (size <= sizeof(out)) {
        assert(n == size);
        assert(memcmp(out, data, n) == 0);
    }
    return 0;
}
