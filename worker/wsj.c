/*
 * /ws JSON protocol: parses each text message with jansson and dispatches
 * on "type". Known now: ping -> pong {ts}. Anything else is an error
 * message with a stable code (UNKNOWN_TYPE, BAD_JSON); binary messages
 * are not part of the protocol and close with 1003.
 */
#include <string.h>

#include <jansson.h>

#include "common/wsf.h"
#include "common/wsg.h"
#include "worker/ws.h"
#include "worker/wsj.h"
#include "worker/wrk.h"

/* Send {"type":"error","code":...,"message":...[,"id":id]}. */
static int
wsj_error(struct conn *c, const char *code, const char *msg, json_t *id)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "type", "error", "code", code,
        "message", msg);
    char *s;
    int rc = 0;

    if (o == NULL)
        return 0;
    if (id)
        json_object_set(o, "id", id);
    s = json_dumps(o, JSON_COMPACT);
    if (s) {
        rc = ws_send(c, WSF_OP_TEXT, s, strlen(s));
        free(s);
    }
    json_decref(o);
    return rc;
}

static int
wsj_reply(struct conn *c, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    int rc = 0;

    if (s) {
        rc = ws_send(c, WSF_OP_TEXT, s, strlen(s));
        free(s);
    }
    json_decref(o);
    return rc;
}

static int
wsj_on_message(struct conn *c, int binary, const unsigned char *p, size_t n)
{
    json_error_t jerr;
    json_t *m, *id;
    const char *type;
    int rc;

    if (binary) {
        ws_close(c, WSF_CLOSE_UNSUPPORTED, "binary messages are not "
            "supported on /ws");
        return 0;
    }
    m = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr);
    if (m == NULL || !json_is_object(m)) {
        json_decref(m);
        return wsj_error(c, "BAD_JSON", "message is not a JSON object",
            NULL);
    }
    id = json_object_get(m, "id");
    type = json_string_value(json_object_get(m, "type"));
    if (type == NULL)
        rc = wsj_error(c, "BAD_JSON", "missing string field \"type\"", id);
    else if (strcmp(type, "ping") == 0) {
        json_t *o = json_pack("{s:s, s:I}", "type", "pong", "ts",
            (json_int_t)wsg_real_ms());
        if (o && id)
            json_object_set(o, "id", id);
        rc = o ? wsj_reply(c, o) : 0;
    } else
        rc = wsj_error(c, "UNKNOWN_TYPE", "unknown message type", id);
    json_decref(m);
    return rc;
}

const struct ws_app wsj_app = {
    .name = "ws-json",
    .on_message = wsj_on_message,
};
