/*
 * The admin port's JSON reply (see arep.h).
 */
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "master/arep.h"

void
arep_json(struct evhttp_request *req, int code, const char *reason,
    const char *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *b = evbuffer_new();

    if (b == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    evbuffer_add(b, body, strlen(body));
    evbuffer_add(b, "\n", 1);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(req, code, reason, b);
    evbuffer_free(b);
}
