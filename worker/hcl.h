/*
 * A small pool of keep-alive HTTP/1.1 connections to one backend URL, for
 * the proxies of issue 14: POST a JSON body, get the status and the body
 * back through a callback, within a time limit, or never if cancelled.
 */
#ifndef WSGATE_WORKER_HCL_H
#define WSGATE_WORKER_HCL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct hcl;
struct hcl_req;

#define HCL_TIMEOUT (-1) /* no answer within the time limit */
#define HCL_FAILED 0     /* no answer: connect, reset, reply too large */

struct hcl_opts {
    unsigned conns;        /* keep-alive connections at most */
    unsigned queue;        /* requests waiting for a connection at most */
    int64_t timeout_ms;    /* from hcl_post to the answer */
    size_t max_body;       /* longest reply body accepted */
    const char *secret_header; /* both borrowed for the pool's life */
    const char *secret;        /* "" sends no secret header */
};

/* The answer: status is the HTTP status, HCL_TIMEOUT or HCL_FAILED;
 * body[0..len) is borrowed for the call (NULL when there is none). Runs
 * from the loop, never from inside hcl_post or hcl_cancel. */
typedef void (*hcl_done_fn)(void *arg, int status, const char *body,
    size_t len);

/* A pool for url (an http:// URL; borrowed for the call). Borrows base
 * and o's strings. Returns NULL (logged) on a bad URL or out of memory. */
struct hcl *hcl_new(struct event_base *base, const char *url,
    const struct hcl_opts *o);

/* Cancel everything (no callback runs) and free; clears *hp. */
void hcl_free(struct hcl **hp);

/* Queue a POST of body[0..len) (copied). Returns the request, or NULL
 * when the queue is full or out of memory (fn will not run). */
struct hcl_req *hcl_post(struct hcl *h, const char *body, size_t len,
    hcl_done_fn fn, void *arg);

/* Forget r: its callback will not run. r must not have answered yet. */
void hcl_cancel(struct hcl_req *r);

/* Requests waiting for a connection, and connections busy. */
size_t hcl_queued(const struct hcl *h);

#endif
