/*
 * hh: strict, incremental parser of an HTTP/1.1 request head (RFC 9112) and
 * small lookups over the result (headers, token lists, query parameters).
 * Pure functions over the caller's bytes: nothing here logs, allocates or
 * copies; every pointer handed back points into the caller's buffer.
 */
#ifndef WSGATE_COMMON_HH_H
#define WSGATE_COMMON_HH_H

#include <stddef.h>

/* Most header lines in one request head; one more is HH_E_TOO_LARGE. */
#define HH_MAX_HEADERS 64

/*
 * Result of hh_parse. Each error maps to exactly one HTTP status
 * (hh_status_code) and one stable code string (hh_status_code_str).
 */
enum hh_status {
    HH_OK = 0,        /* 200: a complete, valid head; out is filled */
    HH_AGAIN,         /* (no reply) need more bytes */
    HH_E_BAD_REQUEST, /* 400 BAD_REQUEST: malformed head */
    HH_E_TOO_LARGE,   /* 431 HEADERS_TOO_LARGE: > max_head bytes or
                         > HH_MAX_HEADERS header lines */
    HH_E_VERSION      /* 505 HTTP_VERSION: well-formed HTTP/x.y that is
                         neither HTTP/1.0 nor HTTP/1.1 */
};

/* One header line. Not NUL-terminated; points into the parsed buffer. */
struct hh_field {
    const char *name; /* token, case as received */
    size_t name_len;
    const char *value; /* leading/trailing SP and HTAB removed; may be "" */
    size_t value_len;
};

/*
 * A parsed request head. Every pointer borrows from the buffer given to
 * hh_parse and is valid only while that buffer is unchanged (do not keep
 * them across an evbuffer drain or a later pullup).
 */
struct hh_req {
    const char *method; /* token, case-sensitive ("GET") */
    size_t method_len;
    const char *target; /* whole request-target, e.g. "/a/b?x=1" */
    size_t target_len;
    const char *path; /* target up to, not including, the first '?' */
    size_t path_len;
    const char *query; /* after the first '?'; NULL when there is no '?' */
    size_t query_len;  /* (a '?' at the end gives query != NULL, len 0) */
    int minor_version; /* 0 or 1 (HTTP/1.0 or HTTP/1.1) */
    size_t nheaders;
    struct hh_field headers[HH_MAX_HEADERS]; /* in arrival order */
    size_t head_len; /* bytes of the head, through the final CRLFCRLF,
                        including any skipped leading CRLFs; bytes from
                        here on (a body, a first frame) belong to the
                        caller */
};

/*
 * Scanning state kept by the caller between hh_parse calls for one
 * request. Zero-initialised ({0}) is the same as hh_parser_init.
 */
struct hh_parser {
    size_t scanned; /* bytes already checked, none of them ending the head */
    size_t start;   /* where the request line starts (after leading CRLFs) */
    size_t line;    /* start of the line being scanned */
};

/* Reset p for a new request (also before reusing it after HH_OK). */
void hh_parser_init(struct hh_parser *p);

/*
 * Parse the request head at the start of buf[0..len). Call again with the
 * same buf (grown) each time more bytes arrive: bytes before p->scanned are
 * not looked at again, so feeding n bytes one at a time costs O(n) for the
 * scan, and the result is the same as feeding them in one call. A request
 * line, header lines and the final empty line must all end in CRLF.
 *
 * Returns HH_OK with *out filled (see struct hh_req; out borrows buf),
 * HH_AGAIN when the head is incomplete and len < max_head, or:
 * - HH_E_TOO_LARGE when no complete head lies within the first max_head
 *   bytes and len >= max_head (so a head of exactly max_head bytes is
 *   accepted), or when there are more than HH_MAX_HEADERS header lines;
 * - HH_E_VERSION for HTTP-version "HTTP/" DIGIT "." DIGIT other than 1.0
 *   and 1.1;
 * - HH_E_BAD_REQUEST for anything else that is not a strict RFC 9112 head:
 *   a bare LF (not preceded by CR) or a bare CR (not followed by LF)
 *   anywhere; a control byte (0x00-0x1f except HTAB, or 0x7f) anywhere; a
 *   method or header name that is not a token; a request line that is not
 *   exactly method SP target SP version, or whose target is empty or holds
 *   bytes outside 0x21-0x7e; a malformed version ("http/1.1", "HTTP/1.10");
 *   a header line starting with SP/HTAB (obs-fold, also right after the
 *   request line); a header line without ':' or with whitespace before it;
 *   an HTTP/1.1 request without exactly one Host header, or an HTTP/1.0
 *   request with more than one (RFC 9112 §3.2).
 *   Errors found while scanning (bare CR/LF, control bytes) are reported as
 *   soon as the bytes showing them arrive (for a bare CR, the byte after
 *   it), without waiting for the end of the head.
 * Empty lines (CRLF) before the request line are skipped (RFC 9112 §2.2).
 * *out is written only on HH_OK. After an error the connection should get
 * the mapped status and be closed. Repeating a call with the same bytes
 * returns the same result. Does not block, log or allocate.
 */
enum hh_status hh_parse(struct hh_parser *p, const char *buf, size_t len,
                        size_t max_head, struct hh_req *out);

/*
 * First value of header name (compared case-insensitively), its length in
 * *len (len may be NULL). Returns NULL when absent. Borrows from the buffer.
 */
const char *hh_header(const struct hh_req *r, const char *name, size_t *len);

/* The n-th (0-based) value of header name, or NULL; like hh_header. */
const char *hh_header_nth(const struct hh_req *r, const char *name, size_t n,
                          size_t *len);

/* How many header lines are named name (case-insensitive). */
size_t hh_header_count(const struct hh_req *r, const char *name);

/*
 * 1 if the comma-separated list value[0..len) holds token as one of its
 * elements (case-insensitive, OWS around elements and empty elements
 * allowed, RFC 9110 §5.6.1), else 0. "keep-alive, Upgrade" has "upgrade".
 */
int hh_has_token(const char *value, size_t len, const char *token);

/* 1 if any header line named name has token in its list (hh_has_token). */
int hh_header_has_token(const struct hh_req *r, const char *name,
                        const char *token);

/*
 * Value of the first query parameter called name in r->query, split on '&'
 * and the first '='; names compare byte for byte (case-sensitive). The value
 * is raw: no percent-decoding and no '+' to space, so "sid=a%2Fb" gives
 * "a%2Fb" (callers compare such values byte for byte or decode themselves).
 * "a&b=1" gives a value of length 0 for "a". Returns NULL when absent or
 * when there is no query. Borrows from the buffer.
 */
const char *hh_query_param(const struct hh_req *r, const char *name,
                           size_t *len);

/* HTTP status for s: 200, 0 for HH_AGAIN, 400, 431 or 505. */
int hh_status_code(enum hh_status s);

/* Reason phrase for s, e.g. "Request Header Fields Too Large". Static. */
const char *hh_status_str(enum hh_status s);

/* Stable code for JSON error bodies: "OK", "AGAIN", "BAD_REQUEST",
 * "HEADERS_TOO_LARGE", "HTTP_VERSION". Static. */
const char *hh_status_code_str(enum hh_status s);

#endif
