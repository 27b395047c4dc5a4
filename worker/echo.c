/*
 * The echo application: every data message goes back verbatim, text as
 * text and binary as binary, framed once as a shared frame (the same path
 * fan-out uses). Off by default; documented as a test endpoint.
 */
#include <stddef.h>

#include "common/wsf.h"
#include "worker/echo.h"
#include "worker/ws.h"

static int
echo_on_message(struct conn *c, int binary, const unsigned char *p, size_t n)
{
    struct ws_frame *f = ws_frame_new(binary ? WSF_OP_BINARY : WSF_OP_TEXT,
        p, n);
    int rc;

    if (f == NULL) {
        ws_close(c, WSF_CLOSE_INTERNAL, "out of memory");
        return 0;
    }
    rc = ws_send_frame(c, f);
    ws_frame_unref(f);
    return rc;
}

const struct ws_app echo_ws_app = {
    .name = "echo",
    .on_message = echo_on_message,
};
