/*
 * Connect proxy of a worker (issue 14): builds the check (prx.c), sends
 * it through the HTTP client (hcl.c), applies the verdict to the client
 * (trusted rooms, bounded by max_rooms_per_connection), keeps verdicts
 * per user and namespace for connect_proxy_cache, and counts every
 * outcome. A client that ends while its check is out cancels it through
 * its cli wait (cli_wait_ms), so no answer reaches a freed client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/log.h"
#include "common/prx.h"
#include "common/wsg.h"
#include "worker/cli.h"
#include "worker/cpx.h"
#include "worker/hcl.h"
#include "worker/wctr.h"

#define CPX_BACKSTOP_MS 1000 /* after the client's own limit */
#define CPX_SWEEP_MS 1000    /* a full cache looks for expired entries */

struct cpx_ent {
    struct cpx_ent *next;
    int64_t until; /* monotonic ms */
    struct prx_verdict v;
    char key[];    /* nsp "\n" user */
};

struct cpx_tk {
    struct cli *cl;
    struct hcl_req *r;
    cpx_done_fn done;
    void *arg;
    void (*free_arg)(void *);
    char key[];
};

static struct {
    const struct cfg *cfg;
    struct hcl *h;
    struct cpx_ent **tab;
    size_t nbuckets, nents, max;
    int64_t swept;
    char code[PRX_CODE_MAX + 1], msg[PRX_MSG_MAX + 1];
} X;

static void cpx_answer(void *arg, int status, const char *body, size_t len);
static void cpx_backstop(struct cli *cl, void *arg);
static void cpx_gone(void *arg);
static enum cpx_result cpx_apply(struct cli *cl, const struct prx_verdict *v);
static enum cpx_result cpx_failed(struct cli *cl);
static const struct prx_verdict *cpx_cached(const char *key);
static void cpx_remember(const char *key, const struct prx_verdict *v);

int
cpx_init(struct event_base *base, const struct cfg *c)
{
    char err[128];
    const char *url = CFG_STR(c, connect_proxy_url);
    struct hcl_opts o = {
        .conns = (unsigned)CFG_NUM(c, proxy_connections),
        .queue = (unsigned)CFG_NUM(c, proxy_queue),
        .timeout_ms = CFG_NUM(c, connect_proxy_timeout),
        .max_body = (size_t)CFG_NUM(c, proxy_max_reply_size),
        .secret_header = CFG_STR(c, proxy_secret_header),
        .secret = CFG_STR(c, proxy_secret),
    };

    X.cfg = c;
    if (*url == '\0')
        return 0;
    if (!prx_url_ok(url, CFG_STR(c, proxy_allowed_host), err, sizeof(err))) {
        log_msg(LOG_ERR, "connect_proxy_url: %s", err);
        return -1;
    }
    X.max = (size_t)CFG_NUM(c, connect_proxy_cache_size);
    X.nbuckets = X.max > 4 ? X.max / 4 : 1;
    if (CFG_NUM(c, connect_proxy_cache) > 0
        && (X.tab = calloc(X.nbuckets, sizeof(*X.tab))) == NULL)
        return -1;
    return (X.h = hcl_new(base, url, &o)) ? 0 : -1;
}

int
cpx_on(void)
{
    return X.h != NULL;
}

enum cpx_result
cpx_check(struct cli *cl, const struct cpx_ctx *x, cpx_done_fn done,
    void *arg, void (*free_arg)(void *), const char **code,
    const char **msg)
{
    const char *user = cli_user(cl);
    char ip[64];
    const char *colon;
    size_t klen = strlen(x->nsp ? x->nsp : "/") + 1
        + (user ? strlen(user) : 0);
    struct cpx_tk *tk;
    const struct prx_verdict *cv;
    char *body;
    size_t blen;

    *code = X.code;
    *msg = X.msg;
    if (X.h == NULL)
        return CPX_ALLOW;
    WCTR_INC(connect_proxy_checks);
    tk = calloc(1, sizeof(*tk) + klen + 1);
    if (tk == NULL)
        return cpx_failed(cl);
    snprintf(tk->key, klen + 1, "%s\n%s", x->nsp ? x->nsp : "/",
        user ? user : "");
    if (user && (cv = cpx_cached(tk->key)) != NULL) {
        WCTR_INC(connect_proxy_cache_hits);
        free(tk);
        return cpx_apply(cl, cv);
    }
    snprintf(ip, sizeof(ip), "%s", x->peer ? x->peer : "");
    if ((colon = strrchr(ip, ':')) != NULL)
        ip[colon - ip] = '\0';
    struct prx_conn w = {user, x->token, x->token_len,
        (int)CFG_NUM(X.cfg, proxy_forward_token), x->transport, x->protocol,
        x->peer ? ip : NULL, x->origin, x->nsp, x->reason};
    body = prx_connect_body(&w, &blen);
    *tk = (struct cpx_tk){cl, NULL, done, arg, free_arg};
    tk->r = body ? hcl_post(X.h, body, blen, cpx_answer, tk) : NULL;
    free(body);
    if (tk->r == NULL) {
        WCTR_INC(connect_proxy_queue_full);
        free(tk);
        return cpx_failed(cl);
    }
    if (cli_wait_ms(cl, (int)CFG_NUM(X.cfg, connect_proxy_timeout)
            + CPX_BACKSTOP_MS, cpx_backstop, tk, cpx_gone) == -1) {
        hcl_cancel(tk->r);
        free(tk);
        return cpx_failed(cl);
    }
    return CPX_PENDING;
}

/* The backend answered (or not): apply, count, tell the protocol. */
static void
cpx_answer(void *arg, int status, const char *body, size_t len)
{
    struct cpx_tk *tk = arg;
    struct cli *cl = tk->cl;
    struct prx_verdict v;
    enum cpx_result rc;
    enum prx_status ps = PRX_E_SIZE;

    (void)cli_wait_drop(cl, tk);
    if (status == HCL_TIMEOUT) {
        WCTR_INC(connect_proxy_timeouts);
        rc = cpx_failed(cl);
    } else if (status != 200) {
        WCTR_INC(connect_proxy_errors);
        rc = cpx_failed(cl);
    } else if ((ps = prx_connect_reply(body, len,
                   (size_t)CFG_NUM(X.cfg, proxy_max_reply_size), &v))
        != PRX_OK) {
        WCTR_INC(connect_proxy_bad_replies);
        log_msg(LOG_WARNING, "connect proxy: a bad reply (%s)",
            ps == PRX_E_JSON ? "not a JSON object" : ps == PRX_E_SIZE
            ? "empty or too large" : "a field of the wrong type");
        rc = cpx_failed(cl);
    } else {
        if (X.tab && cli_user(cl)) /* only users' verdicts are looked up */
            cpx_remember(tk->key, &v);
        rc = cpx_apply(cl, &v);
        prx_verdict_clear(&v);
    }
    tk->done(cl, rc, X.code, X.msg, tk->arg);
    free(tk);
}

/* The client's own limit passed without an answer (hcl's did not fire:
 * should not happen). */
static void
cpx_backstop(struct cli *cl, void *arg)
{
    struct cpx_tk *tk = arg;

    (void)cl;
    hcl_cancel(tk->r);
    WCTR_INC(connect_proxy_timeouts);
    tk->done(tk->cl, cpx_failed(tk->cl), X.code, X.msg, tk->arg);
    free(tk);
}

/* The client ended first: forget the request. */
static void
cpx_gone(void *arg)
{
    struct cpx_tk *tk = arg;

    hcl_cancel(tk->r);
    if (tk->free_arg)
        tk->free_arg(tk->arg);
    free(tk);
}

static enum cpx_result
cpx_apply(struct cli *cl, const struct prx_verdict *v)
{
    size_t over = 0;

    if (!v->allow) {
        WCTR_INC(connect_proxy_refused);
        snprintf(X.code, sizeof(X.code), "%s", v->code);
        snprintf(X.msg, sizeof(X.msg), "%s", v->message);
        return CPX_REFUSE;
    }
    WCTR_INC(connect_proxy_allowed);
    if (v->rooms_len)
        (void)cli_join_trusted(cl, v->rooms, v->rooms_len, &over);
    WCTR_ADD(connect_proxy_rooms_dropped, over);
    return CPX_ALLOW;
}

/* No usable answer: connect_proxy_fail decides. */
static enum cpx_result
cpx_failed(struct cli *cl)
{
    (void)cl;
    if (CFG_NUM(X.cfg, connect_proxy_fail) == 1) {
        WCTR_INC(connect_proxy_failed_open);
        return CPX_ALLOW;
    }
    snprintf(X.code, sizeof(X.code), "BACKEND_UNAVAILABLE");
    snprintf(X.msg, sizeof(X.msg), "the backend did not confirm this "
        "connection; try again later");
    return CPX_UNAVAILABLE;
}

static size_t
cpx_hash(const char *s)
{
    size_t h = 5381;

    while (*s)
        h = h * 33 + (unsigned char)*s++;
    return h;
}

static void
cpx_sweep(int64_t now)
{
    X.swept = now;
    for (size_t i = 0; i < X.nbuckets; i++)
        for (struct cpx_ent **pp = &X.tab[i]; *pp;) {
            struct cpx_ent *e = *pp;
            if (e->until > now) {
                pp = &e->next;
                continue;
            }
            *pp = e->next;
            prx_verdict_clear(&e->v);
            free(e);
            X.nents--;
        }
}

static const struct prx_verdict *
cpx_cached(const char *key)
{
    int64_t now = wsg_mono_ms();

    if (X.tab == NULL)
        return NULL;
    for (struct cpx_ent *e = X.tab[cpx_hash(key) % X.nbuckets]; e;
         e = e->next)
        if (strcmp(e->key, key) == 0)
            return e->until > now ? &e->v : NULL;
    return NULL;
}

static void
cpx_remember(const char *key, const struct prx_verdict *v)
{
    int64_t now = wsg_mono_ms();
    size_t b = cpx_hash(key) % X.nbuckets, kl = strlen(key);
    struct cpx_ent *e, **pp;

    for (pp = &X.tab[b]; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->key, key) == 0) {
            e = *pp;
            *pp = e->next;
            prx_verdict_clear(&e->v);
            free(e);
            X.nents--;
            break;
        }
    if (X.nents >= X.max && now - X.swept >= CPX_SWEEP_MS)
        cpx_sweep(now);
    if (X.nents >= X.max || (e = malloc(sizeof(*e) + kl + 1)) == NULL)
        return;
    if (prx_verdict_copy(&e->v, v) == -1) {
        free(e);
        return;
    }
    memcpy(e->key, key, kl + 1);
    e->until = now + CFG_NUM(X.cfg, connect_proxy_cache);
    e->next = X.tab[b];
    X.tab[b] = e;
    X.nents++;
}
