/*
 * libFuzzer harness for the emitter-to-log-entry mapping (rdm): the first
 * byte picks the channel (broadcast, single-room broadcast, another
 * namespace, request), the rest is the message. Any bytes map or are
 * sorted out cleanly; an entry that is forwarded decodes as a log entry of
 * the right kind, and the client JSON of an EMIT fits the size evj
 * announces.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/evj.h"
#include "common/msg.h"
#include "common/rdm.h"

static const char *const channels[] = {
    "socket.io#/#", "socket.io#/#lead:1#", "socket.io#/admin#",
    "socket.io-request#/#",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned char out[1 << 16];
    static struct msg_view v;
    const char *ch;
    struct rdm_out o;
    enum rdm_result r;

    if (size < 1)
        return 0;
    ch = channels[data[0] % 4];
    r = rdm_message(NULL, ch, strlen(ch), data + 1, size - 1, out,
        sizeof(out), &o);
    assert(r <= RDM_BAD);
    if (r != RDM_FORWARD)
        return 0;
    assert(o.len > 0 && o.len <= sizeof(out));
    assert(msg_decode(out, o.len, &v) == MSG_OK);
    assert(v.kind == (data[0] % 4 == 3 ? MSG_EMIT_KICK : MSG_EMIT));
    if (v.kind == MSG_EMIT) {
        size_t n = evj_sio_array(&v, "1", NULL, 0);
        char *js = malloc(n + 1);
        assert(js != NULL);
        assert(evj_sio_array(&v, "1", js, n + 1) == n && strlen(js) == n);
        free(js);
        n = evj_ws_data(&v, NULL, 0);
        js = malloc(n + 1);
        assert(js != NULL);
        assert(evj_ws_data(&v, js, n + 1) == n && strlen(js) == n);
        free(js);
    }
    return 0;
}
