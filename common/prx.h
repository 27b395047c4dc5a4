/*
 * The backend proxy's wire codec (issue 14): the JSON body of a connect
 * check sent to connect_proxy_url, the validation of the backend's reply,
 * and the check that a proxy URL names loopback or the one configured
 * host. Pure functions over buffers: no sockets, no logging, no globals;
 * the worker's HTTP client (worker/hcl.c) and the connect check
 * (worker/cpx.c) do the I/O.
 */
#ifndef WSGATE_COMMON_PRX_H
#define WSGATE_COMMON_PRX_H

#include <stddef.h>

struct json_t;

#define PRX_CODE_MAX 64   /* refusal code: [A-Z0-9_] */
#define PRX_MSG_MAX 200   /* refusal message, bytes */
#define PRX_ROOMS_MAX 100 /* rooms one reply may name */

enum prx_status {
    PRX_OK = 0,
    PRX_E_SIZE,  /* empty or over the size bound */
    PRX_E_JSON,  /* not a JSON object */
    PRX_E_SHAPE, /* a field of the wrong type or value */
};

/* A validated connect reply. rooms is a NUL-separated list of nrooms
 * valid room names (msg_room_valid) of rooms_len bytes, owned by the
 * verdict (prx_verdict_clear). code and message are set on a refusal:
 * code is the backend's when it is 1-64 of [A-Z0-9_], else "FORBIDDEN";
 * message the backend's when it is a string of at most PRX_MSG_MAX bytes,
 * else a fixed text. */
struct prx_verdict {
    int allow;
    char code[PRX_CODE_MAX + 1];
    char message[PRX_MSG_MAX + 1];
    char *rooms;
    size_t rooms_len, nrooms;
};

/* What a connect check tells the backend. Every string is borrowed and
 * may be NULL (sent as null). The token's claims are always sent (token
 * NULL: {}); the token itself only with send_token (proxy_forward_token). */
struct prx_conn {
    const char *user;
    const char *token;
    size_t token_len;
    int send_token;
    const char *transport; /* "websocket" or "polling" */
    const char *protocol;  /* "socket.io" or "ws" */
    const char *ip;
    const char *origin;
    const char *nsp;
    const char *reason;    /* "connect", "refresh" or "recover" */
};

/*
 * The JSON body {user, claims, transport, protocol, ip, origin,
 * namespace, reason[, token]}: claims is the token's payload (decoded
 * from its middle segment, which the caller has verified), or {} when
 * there is none (anonymous). Returns new text (caller frees) of length
 * *len, or NULL when out of memory.
 */
char *prx_connect_body(const struct prx_conn *w, size_t *len);

/*
 * Validate the backend's reply body[0..len): a JSON object of at most max
 * bytes with a boolean "allow"; on allow, "rooms" (optional) an array of
 * at most PRX_ROOMS_MAX valid room names and "data" (optional) an object;
 * on refusal, "code" and "message" (optional strings). Fills v (clear it
 * with prx_verdict_clear, also after an error). Borrows body.
 */
enum prx_status prx_connect_reply(const char *body, size_t len, size_t max,
    struct prx_verdict *v);

/* Free what v holds and zero it. Accepts NULL. */
void prx_verdict_clear(struct prx_verdict *v);

/* A deep copy of src into dst; 0, or -1 when out of memory (dst zeroed). */
int prx_verdict_copy(struct prx_verdict *dst, const struct prx_verdict *src);

/* What the event proxy tells the backend (borrowed; data may be NULL,
 * sent as null). */
struct prx_event {
    const char *user;      /* NULL: anonymous */
    const char *conn;      /* the connection's id */
    const char *protocol;  /* "socket.io" or "ws" */
    const char *nsp;
    const char *event;
    size_t event_len;
    const struct json_t *data;
};

#define PRX_PUBLISH_MAX 16 /* publishes one event reply may ask for */

/* The JSON body {user, connection, protocol, namespace, event, data}.
 * Returns new text (caller frees) of length *len, or NULL. */
char *prx_event_body(const struct prx_event *e, size_t *len);

/*
 * Validate an event reply body[0..len) of at most max bytes: an object
 * with a boolean "ok"; on ok, "data" (any JSON, optional: null); on
 * refusal, "error" {code, message} (code as for a connect refusal, else
 * "BACKEND_ERROR"; message at most PRX_MSG_MAX bytes, else a fixed text);
 * and optionally "publish", an array of at most PRX_PUBLISH_MAX objects
 * {"room"|"rooms", "event", "data"} with valid room names and an event
 * of 1-200 bytes. On PRX_OK, *ack is the client's ack ({ok:true, data}
 * or {ok:false, error:{code, message}}) and *publish the array or NULL,
 * both new (json_decref them). Borrows body.
 */
enum prx_status prx_event_reply(const char *body, size_t len, size_t max,
    struct json_t **ack, struct json_t **publish);

/*
 * Is url an http:// URL whose host is loopback (127.0.0.0/8, ::1,
 * localhost) or equal (case-insensitively) to allowed_host (may be "" or
 * NULL)? Returns 1, or 0 with a reason in err[0..errlen).
 */
int prx_url_ok(const char *url, const char *allowed_host, char *err,
    size_t errlen);

#endif
