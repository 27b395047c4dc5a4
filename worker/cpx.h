/*
 * The connect proxy (issue 14): after a token passes the JWT checks, the
 * backend at connect_proxy_url says whether its user may connect and
 * which rooms the connection joins. Asked at connect, on a token refresh
 * and on a Socket.IO recovery; answers cached per user and namespace for
 * connect_proxy_cache. Off when connect_proxy_url is empty.
 */
#ifndef WSGATE_WORKER_CPX_H
#define WSGATE_WORKER_CPX_H

#include <stddef.h>

struct cfg;
struct cli;
struct event_base;

/* CPX_UNAVAILABLE: no usable answer and connect_proxy_fail = closed (code
 * BACKEND_UNAVAILABLE); a refresh keeps its connection then. */
enum cpx_result { CPX_ALLOW, CPX_REFUSE, CPX_PENDING, CPX_UNAVAILABLE };

/* What the check tells the backend about the connection (all borrowed
 * for the call; NULL is sent as null). */
struct cpx_ctx {
    const char *token;
    size_t token_len;
    const char *transport, *protocol, *peer, *origin, *nsp, *reason;
};

/* The answer res: CPX_ALLOW (its rooms joined already), or CPX_REFUSE or
 * CPX_UNAVAILABLE with code and msg (borrowed for the call). The callee
 * owns arg. */
typedef void (*cpx_done_fn)(struct cli *cl, enum cpx_result res,
    const char *code, const char *msg, void *arg);

/* Borrow base and c for the worker's life. 0, or -1 (logged) when the
 * URL is refused (prx_url_ok) or out of memory. */
int cpx_init(struct event_base *base, const struct cfg *c);

/* Is the connect proxy on? */
int cpx_on(void);

/*
 * Ask about cl (authenticated). Returns CPX_ALLOW (the backend's rooms
 * joined), CPX_REFUSE or CPX_UNAVAILABLE with *code and *msg (valid
 * until the next call), or
 * CPX_PENDING: done(cl, ...) runs later from the loop, or free_arg(arg)
 * if cl ends first. Also CPX_ALLOW when the proxy is off.
 */
enum cpx_result cpx_check(struct cli *cl, const struct cpx_ctx *x,
    cpx_done_fn done, void *arg, void (*free_arg)(void *),
    const char **code, const char **msg);

#endif
