/*
 * wsh: the server side of the WebSocket opening handshake (RFC 6455 §4.2):
 * validating a parsed request head and computing Sec-WebSocket-Accept.
 * Pure functions: nothing here logs or allocates; results borrow the
 * buffer the request head was parsed from.
 */
#ifndef WSGATE_COMMON_WSH_H
#define WSGATE_COMMON_WSH_H

#include <stddef.h>

#include "hh.h"

/* Length of a Sec-WebSocket-Accept value, and the buffer it needs. */
#define WSH_ACCEPT_LEN 28
#define WSH_ACCEPT_SIZE (WSH_ACCEPT_LEN + 1)

/*
 * Result of wsh_check. Each value maps to one HTTP status (wsh_status_code),
 * one stable code string (wsh_status_code_str) and the extra reply headers
 * in wsh_status_headers.
 */
enum wsh_status {
    WSH_OK = 0,        /* 101: reply with the handshake */
    WSH_E_METHOD,      /* 405 METHOD_NOT_ALLOWED, reply carries Allow: GET */
    WSH_E_NOT_UPGRADE, /* 400 BAD_HANDSHAKE: not HTTP/1.1, no Upgrade
                          websocket token or no Connection upgrade token */
    WSH_E_VERSION,     /* 426 UNSUPPORTED_VERSION: Sec-WebSocket-Version
                          missing, repeated or not "13"; reply carries
                          Sec-WebSocket-Version: 13 (RFC 6455 §4.4) */
    WSH_E_KEY,         /* 400 BAD_KEY: Sec-WebSocket-Key missing, repeated,
                          or not base64 of exactly 16 bytes */
    WSH_E_ORIGIN       /* 403 ORIGIN_FORBIDDEN: Origin not allowed */
};

/*
 * What a valid handshake carries, all borrowed from the request's buffer
 * (not NUL-terminated). Fields not present are NULL with length 0.
 */
struct wsh_result {
    const char *key; /* Sec-WebSocket-Key, 24 base64 characters */
    size_t key_len;
    const char *extensions; /* first Sec-WebSocket-Extensions value, raw */
    size_t extensions_len;
    size_t extensions_count; /* lines; use hh_header_nth for the others */
    const char *protocol;    /* first Sec-WebSocket-Protocol value, raw list */
    size_t protocol_len;
    size_t protocol_count; /* lines; use hh_header_nth for the others */
    const char *origin;    /* Origin, NULL for a non-browser client */
    size_t origin_len;
};

/*
 * 1 if r asks for a WebSocket, that is, has an Upgrade header whose list
 * holds "websocket" (case-insensitive), whatever its method or Connection
 * header; else 0. The caller serves a request for which this is 0 as
 * ordinary HTTP, and passes the others to wsh_check.
 */
int wsh_is_upgrade(const struct hh_req *r);

/*
 * Validate r as a WebSocket opening handshake (RFC 6455 §4.2.1), checking
 * in this order:
 * 1. method is exactly "GET", else WSH_E_METHOD (405, not 400: the
 *    resource exists, only by GET);
 * 2. HTTP/1.1, an Upgrade list with "websocket" and a Connection list with
 *    "upgrade" (tokens case-insensitive, over all lines of each header),
 *    else WSH_E_NOT_UPGRADE (Host was already required by hh_parse);
 * 3. exactly one Sec-WebSocket-Key, 22 base64 characters then "==" (what
 *    16 bytes encode to; unused low bits in the last character are not
 *    checked), else WSH_E_KEY;
 * 4. exactly one Sec-WebSocket-Version, exactly "13", else WSH_E_VERSION;
 * 5. Origin (DESIGN §10): a request without Origin is accepted. Otherwise
 *    there must be exactly one Origin, and allowed_origins (a
 *    comma-separated list, OWS around elements ignored) must hold "*" or an
 *    element equal to it, compared case-insensitively as a whole (scheme
 *    and host are case-insensitive; no other normalisation, so
 *    "https://a.example:443" differs from "https://a.example"). NULL or ""
 *    allows no browser origin. Else WSH_E_ORIGIN.
 * On WSH_OK fills *res (borrowing r's buffer); on error *res is zeroed.
 * Borrows r and allowed_origins. Does not block, log or allocate.
 */
enum wsh_status wsh_check(const struct hh_req *r, const char *allowed_origins,
                          struct wsh_result *res);

/*
 * 1 if origin[0..len) is allowed by allowed_origins under rule 5 above
 * (origin must be non-NULL here), else 0. For polling requests, which get
 * the same Origin check without the rest of the handshake.
 */
int wsh_origin_allowed(const char *allowed_origins, const char *origin,
                       size_t len);

/* Longest key wsh_accept takes (a valid key has 24 characters). */
#define WSH_KEY_MAX 128

/*
 * Write Sec-WebSocket-Accept for key[0..keylen) into out: base64 of the
 * SHA-1 of the key followed by the RFC 6455 GUID (§4.2.2 step 5.4), 28
 * characters and a NUL. The key is used as received (after hh's whitespace
 * trim). Returns 0, or -1 with out = "" when keylen > WSH_KEY_MAX or
 * OpenSSL fails. Borrows key. Uses OpenSSL's SHA1(), which may allocate
 * internally; nothing is left allocated.
 */
int wsh_accept(const char *key, size_t keylen, char out[WSH_ACCEPT_SIZE]);

/* HTTP status for s: 101, 405, 400, 426, 400, 403. */
int wsh_status_code(enum wsh_status s);

/* Reason phrase for s, e.g. "Upgrade Required". Static. */
const char *wsh_status_str(enum wsh_status s);

/* Stable code for JSON error bodies: "OK", "METHOD_NOT_ALLOWED",
 * "BAD_HANDSHAKE", "UNSUPPORTED_VERSION", "BAD_KEY", "ORIGIN_FORBIDDEN".
 * Static. */
const char *wsh_status_code_str(enum wsh_status s);

/*
 * Extra header lines an error reply for s must carry, each ending in CRLF,
 * or "" when none: "Allow: GET\r\n" for WSH_E_METHOD (RFC 9110 §15.5.6)
 * and "Sec-WebSocket-Version: 13\r\n" for WSH_E_VERSION (RFC 6455 §4.4).
 * Static.
 */
const char *wsh_status_headers(enum wsh_status s);

#endif
