/*
 * The plain-HTTP side of Engine.IO (eng.c's handshake, poll and POST
 * requests): replies in the reference server's shapes (JSON errors, text
 * payloads with CORS, the CORS preflight), POST bodies read up to their
 * Content-Length, and the short memory of sessions their client closed
 * from a POST, whose late GET gets a noop. Sessions are eng.c's: eph is
 * given sids, and hands a complete POST body back through the callback
 * registered at eph_init.
 */
#ifndef WSGATE_WORKER_EPH_H
#define WSGATE_WORKER_EPH_H

#include <stddef.h>
#include <stdint.h>

#include "common/eio.h"

struct cfg;
struct conn;
struct hh_req;

/* The body of a POST for session sid (NUL-terminated) is complete: it is
 * the first len bytes of conn_in(c). origin is the request's Origin (NULL:
 * none), for the reply's CORS. Borrows both. The callee must answer c,
 * and drain the body before a reply that keeps the connection. */
typedef void (*eph_body_fn)(struct conn *c, const char *sid,
    const char *origin, size_t len);

/* Borrow c (max_payload) for the worker's life; complete POST bodies go
 * to on_body. */
void eph_init(const struct cfg *c, eph_body_fn on_body);

/* Close POSTs whose body did not arrive within post_timeout (408). */
void eph_tick(int64_t now_ms);

/* Answer c with status and the reference server's JSON error for code
 * ({"code":…,"message":…}); counts eio_bad_requests. An error reply
 * closes c after it is written (http_reply). */
void eph_error(struct conn *c, int status, enum eio_err code);

/* Answer c with 200 and the text payload p[0..n) (copied), with CORS
 * headers for origin (NULL or "": none; credentials allowed). */
void eph_reply(struct conn *c, const char *origin, const void *p, size_t n);

/* Answer an OPTIONS preflight on c (204, the CORS headers for origin[0..
 * olen) when it is not NULL, and the methods and headers polling uses). */
void eph_preflight(struct conn *c, const char *origin, size_t olen);

/* A POST for session sid (EIO_SID_LEN characters and a NUL) whose head r
 * is the first head bytes of c's input: check its Content-Length, take c
 * over (http_release) and read the body, then hand it to the eph_init
 * callback (at once when it is all here). A bad length gets a 400 here.
 * Returns 0, or -1 when the body is over max_payload: the 413 is sent
 * and the caller ends the session. Borrows r; sid and origin[0..olen)
 * are copied. */
int eph_post(struct conn *c, const struct hh_req *r, size_t head,
    const char *sid, const char *origin, size_t olen);

/* Session sid (NUL-terminated) was just closed by its client from a POST
 * while no GET was held: remember it for a short grace (eph_late_poll). */
void eph_closed_note(const char *sid);

/* A GET for the unknown session sid[0..n): if its client closed it within
 * the grace (eph_closed_note), answer c with a noop, forget sid, count
 * eio_late_polls and return 1; else 0 (c untouched). Borrows all. */
int eph_late_poll(struct conn *c, const char *sid, size_t n,
    const char *origin, size_t olen);

#endif
