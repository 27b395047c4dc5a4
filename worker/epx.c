/*
 * Event proxy of a worker (issue 14): forwards matching client events to
 * the backend through its own HTTP client pool (hcl.c), turns the reply
 * into the client's ack (prx.c validates it), hands the publishes a reply
 * asks for to the master (the single writer of the message log) over the
 * worker's channel, and bounds what one connection has in flight. A
 * client that ends first cancels its request through its cli wait, as
 * the connect proxy does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/config.h"
#include "common/glob.h"
#include "common/log.h"
#include "common/prx.h"
#include "shm/pmsg.h"
#include "worker/cli.h"
#include "worker/epx.h"
#include "worker/hcl.h"
#include "worker/rcv.h"
#include "worker/wctr.h"

#define EPX_BACKSTOP_MS 1000
#define EPX_PATS_MAX 64

struct epx_tk {
    struct cli *cl;
    struct hcl_req *r;
    epx_done_fn done;
    void *arg;
    void (*free_arg)(void *);
};

static struct {
    const struct cfg *cfg;
    struct hcl *h;
    char *pats_buf;
    const char *pats[EPX_PATS_MAX];
    size_t npats;
} E;

static void epx_answer(void *arg, int status, const char *body, size_t len);
static void epx_backstop(struct cli *cl, void *arg);
static void epx_gone(void *arg);

int
epx_init(struct event_base *base, const struct cfg *c)
{
    char err[128], *p, *save = NULL;
    const char *url = CFG_STR(c, event_proxy_url);
    struct hcl_opts o = {
        .conns = (unsigned)CFG_NUM(c, proxy_connections),
        .queue = (unsigned)CFG_NUM(c, proxy_queue),
        .timeout_ms = CFG_NUM(c, event_proxy_timeout),
        .max_body = (size_t)CFG_NUM(c, proxy_max_reply_size),
        .secret_header = CFG_STR(c, proxy_secret_header),
        .secret = CFG_STR(c, proxy_secret),
    };

    E.cfg = c;
    if (*url == '\0')
        return 0;
    if (!prx_url_ok(url, CFG_STR(c, proxy_allowed_host), err, sizeof(err))) {
        log_msg(LOG_ERR, "event_proxy_url: %s", err);
        return -1;
    }
    if ((E.pats_buf = strdup(CFG_STR(c, event_proxy_events))) == NULL)
        return -1;
    for (p = strtok_r(E.pats_buf, ", ", &save); p && E.npats < EPX_PATS_MAX;
         p = strtok_r(NULL, ", ", &save))
        E.pats[E.npats++] = p;
    return (E.h = hcl_new(base, url, &o)) ? 0 : -1;
}

int
epx_match(const char *event, size_t len)
{
    return E.h != NULL && glob_any(E.pats, E.npats, event, len);
}

static json_t *
epx_err(const char *code, const char *msg)
{
    return json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", code,
        "message", msg);
}

int
epx_forward(struct cli *cl, const struct epx_ctx *x, epx_done_fn done,
    void *arg, void (*free_arg)(void *), json_t **ack)
{
    struct prx_event e = {cli_user(cl), x->conn, x->protocol, cli_nsp(cl),
        x->event, x->event_len, x->data};
    struct epx_tk *tk;
    size_t blen;
    char *body;

    WCTR_INC(event_proxy_requests);
    if (cli_inflight(cl) >= CFG_NUM(E.cfg, event_proxy_max_inflight)) {
        WCTR_INC(event_proxy_inflight_refused);
        *ack = epx_err("TOO_MANY_REQUESTS", "event_proxy_max_inflight "
            "events of this connection wait for the backend");
        return -1;
    }
    body = prx_event_body(&e, &blen);
    tk = body ? calloc(1, sizeof(*tk)) : NULL;
    if (tk)
        *tk = (struct epx_tk){cl, NULL, done, arg, free_arg};
    if (tk && (tk->r = hcl_post(E.h, body, blen, epx_answer, tk)) != NULL
        && cli_wait_ms(cl, (int)CFG_NUM(E.cfg, event_proxy_timeout)
               + EPX_BACKSTOP_MS, epx_backstop, tk, epx_gone) == 0) {
        free(body);
        cli_inflight_add(cl, 1);
        return 0;
    }
    if (tk && tk->r)
        hcl_cancel(tk->r);
    free(tk);
    free(body);
    WCTR_INC(event_proxy_queue_full);
    *ack = epx_err("BACKEND_UNAVAILABLE", "the backend cannot take this "
        "event now");
    return -1;
}

/* Hand the publishes of a reply to the master (shm/pmsg.h). */
static void
epx_publish(json_t *p)
{
    char *s = json_dumps(p, JSON_COMPACT);
    size_t n = s ? strlen(s) : 0;
    unsigned char *b = s && n + 1 <= PMSG_MAX ? malloc(n + 1) : NULL;
    int sent = 0;

    if (b) {
        b[0] = PMSG_PUBLISH;
        memcpy(b + 1, s, n);
        sent = rcv_send_any(b, n + 1) == 0;
    }
    if (sent)
        WCTR_ADD(event_proxy_publishes, json_array_size(p));
    else
        WCTR_ADD(event_proxy_publish_dropped, json_array_size(p));
    free(b);
    free(s);
}

static void
epx_answer(void *arg, int status, const char *body, size_t len)
{
    struct epx_tk *tk = arg;
    struct cli *cl = tk->cl;
    json_t *ack = NULL, *pub = NULL;

    (void)cli_wait_drop(cl, tk);
    cli_inflight_add(cl, -1);
    if (status == HCL_TIMEOUT) {
        WCTR_INC(event_proxy_timeouts);
    } else if (status != 200) {
        WCTR_INC(event_proxy_errors);
    } else if (prx_event_reply(body, len,
                   (size_t)CFG_NUM(E.cfg, proxy_max_reply_size), &ack, &pub)
        != PRX_OK) {
        WCTR_INC(event_proxy_bad_replies);
    } else {
        WCTR_INC(event_proxy_answers);
    }
    if (pub) {
        epx_publish(pub);
        json_decref(pub);
    }
    if (ack == NULL)
        ack = epx_err("BACKEND_UNAVAILABLE", status == HCL_TIMEOUT
            ? "the backend did not answer in time"
            : "the backend gave no usable answer");
    tk->done(cl, ack, tk->arg);
    free(tk);
}

static void
epx_backstop(struct cli *cl, void *arg)
{
    struct epx_tk *tk = arg;

    hcl_cancel(tk->r);
    cli_inflight_add(cl, -1);
    WCTR_INC(event_proxy_timeouts);
    tk->done(cl, epx_err("BACKEND_UNAVAILABLE", "the backend did not "
        "answer in time"), tk->arg);
    free(tk);
}

static void
epx_gone(void *arg)
{
    struct epx_tk *tk = arg;

    hcl_cancel(tk->r);
    if (tk->free_arg)
        tk->free_arg(tk->arg);
    free(tk);
}
