/*
 * Socket.IO v5 packet codec: parse one packet (the text after the
 * Engine.IO "4"), check binary-attachment placeholders, and encode packets
 * and the replies the gateway sends. Nothing here logs, blocks or touches a
 * socket. JSON payloads go through jansson, which allocates: sio_parse
 * returns a new json_t the caller owns, and the encoders that escape
 * strings or dump a json_t allocate only temporarily inside jansson.
 *
 * Encoders write the bare Socket.IO packet (no Engine.IO "4"; a caller
 * that wants the wire text puts the '4' at out[0] and encodes at out + 1).
 * They return the full packet length, not counting a NUL; the packet and a
 * NUL are in out only when that length is < cap, otherwise out[0..cap)
 * holds unspecified bytes. (NULL, 0) asks for the size. 0 means invalid
 * arguments (bad type, namespace or ack id, or a string that is not UTF-8).
 */
#ifndef WSGATE_COMMON_SIO_H
#define WSGATE_COMMON_SIO_H

#include <stddef.h>

/* Run an encoder call written with the names out and cap until its packet
 * fits a heap buffer, then run use with out and len (the packet) in scope;
 * nothing when the encoder refuses (0) or memory runs out. The buffer is
 * freed after use. */
#define SIO_ENCODE_HEAP(call_with_buf, use)                                   \
    do {                                                                      \
        char *out = NULL;                                                     \
        size_t cap = 0, len;                                                  \
        for (;;) {                                                            \
            len = call_with_buf;                                              \
            if (len == 0 || len < cap)                                        \
                break;                                                        \
            cap = len + 1;                                                    \
            free(out);                                                        \
            if ((out = malloc(cap)) == NULL)                                  \
                break;                                                        \
        }                                                                     \
        if (out && len) {                                                     \
            use;                                                              \
        }                                                                     \
        free(out);                                                            \
    } while (0)

#include <jansson.h>

#define SIO_NSP_MAX 256     /* longest namespace, bytes, with the '/' */
#define SIO_ATTACH_MAX 1024 /* most binary attachments in one packet */
#define SIO_ACK_NONE (-1LL) /* "no ack id" for the encoders */

/* sio_parse flags. SIO_F_FROM_SERVER: the text was sent by a server (a
 * test client or the bench reads it), so CONNECT_ERROR is allowed; without
 * it the sender is a client, which never sends CONNECT_ERROR. */
#define SIO_F_FROM_SERVER 0x1

enum sio_type {
    SIO_CONNECT = 0,
    SIO_DISCONNECT = 1,
    SIO_EVENT = 2,
    SIO_ACK = 3,
    SIO_CONNECT_ERROR = 4,
    SIO_BINARY_EVENT = 5,
    SIO_BINARY_ACK = 6,
};

/* Every error is a malformed packet: the reference server closes the
 * Engine.IO session ("parse error"). The values say which part was bad. */
enum sio_status {
    SIO_OK = 0,
    SIO_E_TYPE,    /* empty, unknown type, CONNECT_ERROR from a client */
    SIO_E_NSP,     /* namespace too long, control bytes, or not UTF-8 */
    SIO_E_ACKID,   /* ack id overflows 63 bits, missing on ACK, or
                      present on CONNECT, DISCONNECT or CONNECT_ERROR */
    SIO_E_PAYLOAD, /* not JSON, or the wrong shape for the type */
    SIO_E_ATTACH,  /* attachment count missing, malformed, too big or
                      given on a non-binary type; placeholders that do
                      not use each attachment exactly once */
};

/*
 * A parsed packet. nsp and payload borrow the parsed text (nsp may instead
 * point to a static "/"); neither is NUL-terminated. json is a new
 * reference to the parsed payload (NULL when there is none): the caller
 * json_decref()s it, e.g. with sio_packet_clear.
 */
struct sio_packet {
    enum sio_type type;
    size_t nattach;  /* binary types only; 0 otherwise */
    const char *nsp; /* "/" when absent */
    size_t nsp_len;
    long long ack_id;    /* SIO_ACK_NONE when absent, else 0..2^63-1 */
    const char *payload; /* JSON text, NULL when absent */
    size_t payload_len;
    json_t *json;
};

/*
 * Parse one packet p[0..n):
 *   <type>[<#attachments>-][<nsp>,][<ack id>][<JSON payload>]
 * The namespace starts with '/' and runs to the first ',' or, as the
 * reference parser reads "0/admin", to the end. Payload rules: CONNECT
 * absent or an object; DISCONNECT none; EVENT and BINARY_EVENT a non-empty
 * array whose first element is a string that is not a reserved event name
 * ("connect", "connect_error", "disconnect", "disconnecting",
 * "newListener", "removeListener"); ACK and BINARY_ACK an array and an ack
 * id; CONNECT_ERROR an object. Binary types need "<n>-" and pass
 * sio_attach_check. flags: SIO_F_*.
 * Returns SIO_OK with *out filled (out->json is the caller's), or an
 * error with out->json NULL and the rest of *out unspecified. Borrows p;
 * allocates only the returned json.
 */
enum sio_status sio_parse(const char *p, size_t n, struct sio_packet *out,
                          unsigned flags);

/* Drop out->json (if any) and set it to NULL. Accepts NULL. */
void sio_packet_clear(struct sio_packet *out);

/*
 * Check the placeholders {"_placeholder":true,"num":N} anywhere in
 * payload against nattach following binary messages: every placeholder
 * has an integer num < nattach, no num appears twice, and there are
 * exactly nattach of them (every attachment is used once). An object with
 * "_placeholder": true is a placeholder whatever else it holds. Returns
 * SIO_OK or SIO_E_ATTACH (also for nattach > SIO_ATTACH_MAX). Borrows
 * payload (NULL: no placeholders).
 */
enum sio_status sio_attach_check(const json_t *payload, size_t nattach);

/*
 * Encode a packet whose payload is the JSON text json[0..json_len) (NULL or
 * empty: none), copied as is, so placeholders come back unchanged. nsp NULL
 * or "/" is the main namespace, else it must start with '/' and hold no ','
 * (SIO_NSP_MAX, no control bytes). ack_id SIO_ACK_NONE or >= 0. nattach is
 * written ("<n>-") for the binary types and must be 0 for the others. The
 * JSON is not checked: the caller vouches that it has the type's shape.
 */
size_t sio_encode(char *out, size_t cap, enum sio_type type, const char *nsp,
                  long long ack_id, const char *json, size_t json_len,
                  size_t nattach);

/* Same with the payload dumped compactly from a json_t (NULL: none), e.g.
 * a parsed BINARY_EVENT whose event name the echo app replaced; its
 * placeholder objects are dumped unchanged. Borrows payload. */
size_t sio_encode_json(char *out, size_t cap, enum sio_type type,
                       const char *nsp, long long ack_id, const json_t *payload,
                       size_t nattach);

/* CONNECT reply: 0[<nsp>,]{"sid":"…"} or {"sid":"…","pid":"…"} when pid
 * is not NULL. Borrows the strings. */
size_t sio_encode_connect(char *out, size_t cap, const char *nsp,
                          const char *sid, const char *pid);

/* CONNECT_ERROR: 4[<nsp>,]{"message":"…","data":{"code":"…"}}, without
 * "data" when code is NULL. Borrows the strings. */
size_t sio_encode_connect_error(char *out, size_t cap, const char *nsp,
                                const char *message, const char *code);

/* DISCONNECT: 1[<nsp>,]. */
size_t sio_encode_disconnect(char *out, size_t cap, const char *nsp);

/*
 * EVENT: 2[<nsp>,][<ack id>]["<event>"[,<data>][,"<offset>"]]. data[0..
 * data_len) is one JSON value copied as is (NULL or empty: no argument,
 * not checked); offset (NULL: none) is appended as a trailing string
 * argument, the way connection state recovery sends it. Borrows all.
 */
size_t sio_encode_event(char *out, size_t cap, const char *nsp,
                        long long ack_id, const char *event, const char *data,
                        size_t data_len, const char *offset);

/* ACK: 3[<nsp>,]<ack id><args>, args[0..args_len) a JSON array copied as
 * is (NULL or empty: "[]"); ack_id must be >= 0. Borrows all. */
size_t sio_encode_ack(char *out, size_t cap, const char *nsp, long long ack_id,
                      const char *args, size_t args_len);

/* Static name of a status, for logs and tests. */
const char *sio_status_str(enum sio_status st);

#endif
