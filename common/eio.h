/*
 * Engine.IO v4 codec: packets over WebSocket text frames, long-polling
 * payloads (0x1e-separated, binary as "b" + base64), the open-packet JSON,
 * session ids that carry the owning worker slot, handshake query checks and
 * the reference server's HTTP error bodies. Pure functions over
 * caller-owned bytes: nothing here allocates, logs, blocks or touches a
 * socket.
 *
 * Encoder convention (every function below that returns size_t and takes
 * out/cap): the return value is the full length of the output, not counting
 * a terminating NUL. The output and a NUL are written only when that length
 * is < cap; otherwise nothing is written. So (NULL, 0) asks for the size and
 * a caller allocates length + 1. A return of 0 means invalid arguments.
 */
#ifndef WSGATE_COMMON_EIO_H
#define WSGATE_COMMON_EIO_H

#include <stddef.h>

#define EIO_PROTOCOL "4"      /* the only EIO= value accepted */
#define EIO_SEP '\x1e'        /* record separator between polling packets */
#define EIO_SID_LEN 20        /* 15 bytes in URL-safe base64, no padding */
#define EIO_SID_RANDOM 15     /* random bytes eio_sid_new takes */
#define EIO_SLOT_MAX 255      /* highest worker slot a sid can carry */
#define EIO_ERROR_JSON_MAX 64 /* longest eio_error_json body + NUL */

/* Packet types: the digit (minus '0') that starts a text packet. */
enum eio_type {
    EIO_OPEN = 0,
    EIO_CLOSE = 1,
    EIO_PING = 2,
    EIO_PONG = 3,
    EIO_MESSAGE = 4,
    EIO_UPGRADE = 5,
    EIO_NOOP = 6,
};

enum eio_status {
    EIO_OK = 0,
    EIO_DONE,        /* payload iteration: no packet left */
    EIO_E_PACKET,    /* bad packet: empty, unknown type, bad base64;
                        the session is closed (polling: HTTP 400) */
    EIO_E_NOSPACE,   /* eio_b64_decode: output buffer too small */
    EIO_E_PROTOCOL,  /* EIO missing or not "4": EIO_ERR_PROTOCOL */
    EIO_E_TRANSPORT, /* transport missing or unknown: EIO_ERR_TRANSPORT */
};

/* The reference server's handshake/request errors; values are the "code"
 * sent in the JSON body (engine.io Server.errors). */
enum eio_err {
    EIO_ERR_TRANSPORT = 0,   /* "Transport unknown" */
    EIO_ERR_SID = 1,         /* "Session ID unknown" */
    EIO_ERR_METHOD = 2,      /* "Bad handshake method" */
    EIO_ERR_BAD_REQUEST = 3, /* "Bad request" */
    EIO_ERR_FORBIDDEN = 4,   /* "Forbidden" */
    EIO_ERR_PROTOCOL = 5,    /* "Unsupported protocol version" */
};

/*
 * One decoded packet. Text packets: data[0..len) is everything after the
 * type digit. Binary packets (is_binary, type EIO_MESSAGE): for a "b"
 * packet data[0..len) is the base64 text after the "b", checked but not
 * decoded (see eio_b64_decode). data always borrows the parsed input and
 * is not NUL-terminated.
 */
struct eio_packet {
    enum eio_type type;
    int is_binary;
    const char *data;
    size_t len;
};

/*
 * Parse one WebSocket text frame p[0..n) ("<digit><data>", or "b<base64>",
 * which the reference parser also accepts there). A binary frame needs no
 * parsing: it is a message whose bytes are the frame payload.
 * Returns EIO_OK, or EIO_E_PACKET (empty, unknown type, bad base64).
 * Borrows p; out borrows p on success.
 */
enum eio_status eio_parse_text(const char *p, size_t n, struct eio_packet *out);

/*
 * Iterate the packets of a long-polling POST body p[0..n). Start with
 * *off = 0 and call until it returns something other than EIO_OK; *off
 * advances past each packet and its separator. Returns EIO_OK with *out
 * filled, EIO_DONE after the last packet, or EIO_E_PACKET (an empty body
 * or empty packet, unknown type digit, bad base64), after which the whole
 * body must be rejected. Borrows p; out borrows p.
 */
enum eio_status eio_payload_next(const char *p, size_t n, size_t *off,
                                 struct eio_packet *out);

/* Length of the base64 text for n bytes (padded). */
size_t eio_b64_len(size_t n);

/* Upper bound on the bytes that base64 text of length n decodes to. */
size_t eio_b64_dlen(size_t n);

/* 1 if p[0..n) is base64 this codec decodes: standard alphabet (+/),
 * padding optional but correct when present, zero unused bits. */
int eio_b64_valid(const char *p, size_t n);

/* Base64 of in[0..n) into out (encoder convention; never 0 for n > 0). */
size_t eio_b64_encode(char *out, size_t cap, const unsigned char *in, size_t n);

/*
 * Decode base64 p[0..n) into out[0..cap); *outlen gets the byte count.
 * Returns EIO_OK, EIO_E_PACKET if !eio_b64_valid, EIO_E_NOSPACE if cap is
 * less than the decoded length (eio_b64_dlen(n) always suffices); out is
 * unspecified on error. Borrows everything.
 */
enum eio_status eio_b64_decode(const char *p, size_t n, unsigned char *out,
                               size_t cap, size_t *outlen);

/*
 * Append one text packet ("<digit><data>") to the polling payload held in
 * out[0..used), preceded by EIO_SEP when used > 0. With used = 0 the output
 * is also exactly one WebSocket text frame. Returns the new total length
 * (encoder convention: written, from out + used on, only if it is < cap);
 * 0 if type is not an eio_type. out[0..used) is left as it is.
 */
size_t eio_append_text(char *out, size_t cap, size_t used, enum eio_type type,
                       const char *data, size_t len);

/* Same for a binary message: EIO_SEP if used > 0, then "b" + base64. */
size_t eio_append_binary(char *out, size_t cap, size_t used,
                         const unsigned char *data, size_t len);

/*
 * The open packet's JSON (without the "0"), exactly
 * {"sid":"…","upgrades":["websocket"],"pingInterval":N,"pingTimeout":N,
 * "maxPayload":N} with upgrades [] when ws_upgrade_allowed is 0.
 * Encoder convention; 0 if sid is empty or has a byte outside the URL-safe
 * base64 alphabet (so it never needs escaping). Borrows sid.
 */
size_t eio_open_json(char *out, size_t cap, const char *sid,
                     int ws_upgrade_allowed, long ping_interval_ms,
                     long ping_timeout_ms, long max_payload);

/*
 * New session id: EIO_SID_LEN URL-safe base64 characters and a NUL. The id
 * holds 112 bits of random[1..14] and the worker slot (0..EIO_SLOT_MAX,
 * asserted) mixed with them, so ids of one worker share no prefix;
 * random[0] is not used. The caller supplies the randomness (getrandom).
 * Also used for Socket.IO sid and pid.
 */
void eio_sid_new(char out[EIO_SID_LEN + 1], unsigned worker_slot,
                 const unsigned char random[EIO_SID_RANDOM]);

/* The same id in its raw form (EIO_SID_RANDOM bytes, what eio_sid_new
 * encodes), for callers that keep ids compactly; eio_sid_format writes
 * raw's id (EIO_SID_LEN characters and a NUL) and eio_sid_parse reads one
 * back: 0, or -1 (raw untouched) if len is not EIO_SID_LEN or a byte is
 * outside the URL-safe base64 alphabet. */
void eio_sid_make(unsigned char raw[EIO_SID_RANDOM], unsigned worker_slot,
                  const unsigned char random[EIO_SID_RANDOM]);
void eio_sid_format(char out[EIO_SID_LEN + 1],
                    const unsigned char raw[EIO_SID_RANDOM]);
int eio_sid_parse(const char *sid, size_t len,
                  unsigned char raw[EIO_SID_RANDOM]);

/* The worker slot in sid[0..len). Returns 0, or -1 (slot untouched) if len
 * is not EIO_SID_LEN or a byte is outside the URL-safe base64 alphabet.
 * Any well-formed id yields a slot: the caller still looks the id up. */
int eio_sid_slot(const char *sid, size_t len, unsigned *slot);

/*
 * Check the handshake query values (as hh_query_param gives them; NULL
 * when absent) in the reference server's order: transport first
 * ("polling" sets *is_polling = 1, "websocket" sets 0, anything else
 * EIO_E_TRANSPORT), then EIO (exactly "4", else EIO_E_PROTOCOL).
 * Returns EIO_OK or one of those. Borrows the strings.
 */
enum eio_status eio_check_query(const char *eio, size_t eio_len,
                                const char *transport, size_t tlen,
                                int *is_polling);

/* The eio_err for a query status (EIO_E_TRANSPORT, EIO_E_PROTOCOL);
 * EIO_ERR_BAD_REQUEST for any other status. */
enum eio_err eio_status_err(enum eio_status st);

/* HTTP status the reference server answers err with: 403 for
 * EIO_ERR_FORBIDDEN, else 400. */
int eio_err_http_status(enum eio_err err);

/* The reference server's body for err, e.g.
 * {"code":0,"message":"Transport unknown"} (encoder convention; always
 * fits in EIO_ERROR_JSON_MAX; 0 for a value outside enum eio_err). */
size_t eio_error_json(enum eio_err err, char *out, size_t cap);

/* Static name of a status, for logs and tests. */
const char *eio_status_str(enum eio_status st);

#endif
