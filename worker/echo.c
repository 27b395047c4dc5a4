/*
 * The echo application: every data message goes back verbatim, text as
 * text and binary as binary, framed once as a shared batch of one (the same path
 * fan-out uses). Off by default; documented as a test endpoint.
 */
#include <stddef.h>

#include "common/config.h"
#include "common/hh.h"
#include "common/wsf.h"
#include "worker/echo.h"
#include "worker/http.h"
#include "worker/ws.h"

static int
echo_on_message(struct conn *c, int binary, const unsigned char *p, size_t n)
{
    struct ws_batch *f = ws_batch_one(binary ? WSF_OP_BINARY : WSF_OP_TEXT,
        p, n);
    int rc;

    if (f == NULL) {
        ws_close(c, WSF_CLOSE_INTERNAL, "out of memory");
        return 0;
    }
    rc = ws_send_batch(c, f);
    ws_batch_unref(f);
    return rc;
}

static const struct ws_app echo_ws_app = {
    .name = "echo",
    .on_message = echo_on_message,
};

static void
echo_route(struct conn *c, const struct hh_req *r)
{
    (void)ws_upgrade(c, r, r->head_len, &echo_ws_app);
}

void
echo_init(const struct cfg *c)
{
    if (CFG_NUM(c, echo_app))
        http_route_add("/echo", echo_route);
}
