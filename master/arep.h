/*
 * A JSON reply on the admin port: one shape for every module that answers
 * there (pub.c, prq.c, rnod.c): Content-Type application/json,
 * Cache-Control no-store, the body and a newline.
 */
#ifndef WSGATE_MASTER_AREP_H
#define WSGATE_MASTER_AREP_H

struct evhttp_request;

/* Reply code/reason with body (a NUL-terminated JSON text, borrowed).
 * Out of memory: a bare 500. */
void arep_json(struct evhttp_request *req, int code, const char *reason,
    const char *body);

#endif
