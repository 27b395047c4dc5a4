/*
 * wsh: the server half of the WebSocket opening handshake (RFC 6455 §4.2):
 * which requests are upgrades, whether one is acceptable (method, Upgrade
 * and Connection tokens, key, version, Origin) and the accept hash. It
 * leaves extension negotiation (permessage-deflate) and subprotocol choice
 * to their owners and only hands them the raw header values. Hand-written
 * because it is a few string checks over hh's result; SHA-1 and base64 come
 * from OpenSSL.
 */
#include <stddef.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "hh.h"
#include "wsh.h"

/* RFC 6455 §1.3 */
#define WSH_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WSH_GUID_LEN (sizeof(WSH_GUID) - 1)

static int wsh_key_valid(const char *key, size_t len);
static int wsh_is_b64(unsigned char c);
static int wsh_eq_nocase(const char *a, size_t alen, const char *b,
                         size_t blen);

int
wsh_is_upgrade(const struct hh_req *r)
{
    return hh_header_has_token(r, "upgrade", "websocket");
}

enum wsh_status
wsh_check(const struct hh_req *r, const char *allowed_origins,
          struct wsh_result *res)
{
    struct wsh_result w;
    const char *ver;
    size_t ver_len = 0;

    memset(res, 0, sizeof(*res));
    memset(&w, 0, sizeof(w));

    if (r->method_len != 3 || memcmp(r->method, "GET", 3) != 0)
        return WSH_E_METHOD;

    /* §4.2.1 items 1, 3, 4: HTTP/1.1 or higher, Upgrade and Connection
     * tokens. Host (item 2) is enforced by hh_parse. */
    if (r->minor_version < 1 || !wsh_is_upgrade(r) ||
        !hh_header_has_token(r, "connection", "upgrade"))
        return WSH_E_NOT_UPGRADE;

    /* §4.2.1 item 5: a nonce of 16 bytes, base64-encoded */
    if (hh_header_count(r, "sec-websocket-key") != 1)
        return WSH_E_KEY;
    w.key = hh_header(r, "sec-websocket-key", &w.key_len);
    if (!wsh_key_valid(w.key, w.key_len))
        return WSH_E_KEY;

    /* §4.2.1 item 6, §4.4: only version 13 */
    if (hh_header_count(r, "sec-websocket-version") != 1)
        return WSH_E_VERSION;
    ver = hh_header(r, "sec-websocket-version", &ver_len);
    if (ver_len != 2 || memcmp(ver, "13", 2) != 0)
        return WSH_E_VERSION;

    /* §4.2.1 item 7 and §10.2; the policy is DESIGN §10 */
    w.origin = hh_header(r, "origin", &w.origin_len);
    if (w.origin != NULL &&
        (hh_header_count(r, "origin") != 1 ||
         !wsh_origin_allowed(allowed_origins, w.origin, w.origin_len)))
        return WSH_E_ORIGIN;

    w.extensions = hh_header(r, "sec-websocket-extensions", &w.extensions_len);
    w.extensions_count = hh_header_count(r, "sec-websocket-extensions");
    w.protocol = hh_header(r, "sec-websocket-protocol", &w.protocol_len);
    w.protocol_count = hh_header_count(r, "sec-websocket-protocol");
    *res = w;
    return WSH_OK;
}

int
wsh_origin_allowed(const char *allowed_origins, const char *origin, size_t len)
{
    const char *s = allowed_origins;

    if (s == NULL)
        return 0;
    while (*s != '\0') {
        const char *b, *e;

        while (*s == ' ' || *s == '\t')
            s++;
        b = s;
        while (*s != '\0' && *s != ',')
            s++;
        e = s;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if ((e - b == 1 && *b == '*') ||
            (e > b && wsh_eq_nocase(b, (size_t)(e - b), origin, len)))
            return 1;
        if (*s == ',')
            s++;
    }
    return 0;
}

int
wsh_accept(const char *key, size_t keylen, char out[WSH_ACCEPT_SIZE])
{
    unsigned char in[WSH_KEY_MAX + WSH_GUID_LEN];
    unsigned char md[SHA_DIGEST_LENGTH];

    out[0] = '\0';
    if (keylen > WSH_KEY_MAX)
        return -1;
    if (keylen > 0)
        memcpy(in, key, keylen);
    memcpy(in + keylen, WSH_GUID, WSH_GUID_LEN);
    if (SHA1(in, keylen + WSH_GUID_LEN, md) == NULL)
        return -1;
    /* 20 bytes encode to 28 characters plus the NUL EVP_EncodeBlock adds */
    if (EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH) !=
        WSH_ACCEPT_LEN) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

int
wsh_status_code(enum wsh_status s)
{
    switch (s) {
    case WSH_OK:
        return 101;
    case WSH_E_METHOD:
        return 405;
    case WSH_E_NOT_UPGRADE:
        return 400;
    case WSH_E_VERSION:
        return 426;
    case WSH_E_KEY:
        return 400;
    case WSH_E_ORIGIN:
        return 403;
    }
    return 400;
}

const char *
wsh_status_str(enum wsh_status s)
{
    switch (s) {
    case WSH_OK:
        return "Switching Protocols";
    case WSH_E_METHOD:
        return "Method Not Allowed";
    case WSH_E_NOT_UPGRADE:
    case WSH_E_KEY:
        return "Bad Request";
    case WSH_E_VERSION:
        return "Upgrade Required";
    case WSH_E_ORIGIN:
        return "Forbidden";
    }
    return "Bad Request";
}

const char *
wsh_status_code_str(enum wsh_status s)
{
    switch (s) {
    case WSH_OK:
        return "OK";
    case WSH_E_METHOD:
        return "METHOD_NOT_ALLOWED";
    case WSH_E_NOT_UPGRADE:
        return "BAD_HANDSHAKE";
    case WSH_E_VERSION:
        return "UNSUPPORTED_VERSION";
    case WSH_E_KEY:
        return "BAD_KEY";
    case WSH_E_ORIGIN:
        return "ORIGIN_FORBIDDEN";
    }
    return "BAD_HANDSHAKE";
}

const char *
wsh_status_headers(enum wsh_status s)
{
    switch (s) {
    case WSH_E_METHOD:
        return "Allow: GET\r\n";
    case WSH_E_VERSION:
        return "Sec-WebSocket-Version: 13\r\n";
    default:
        return "";
    }
}

/* base64 of 16 bytes: 22 alphabet characters, then "==" (RFC 4648 §4) */
static int
wsh_key_valid(const char *key, size_t len)
{
    if (len != 24 || key[22] != '=' || key[23] != '=')
        return 0;
    for (size_t i = 0; i < 22; i++)
        if (!wsh_is_b64((unsigned char)key[i]))
            return 0;
    return 1;
}

static int
wsh_is_b64(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '+' || c == '/';
}

static int
wsh_eq_nocase(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + ('a' - 'A'));
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y + ('a' - 'A'));
        if (x != y)
            return 0;
    }
    return 1;
}
