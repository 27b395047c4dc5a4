/*
 * Socket.IO namespace connections (skti.h): the worker's table of
 * namespace names, a session's first namespace connection inside its
 * state and the others beside it, their ids (named by their tags, csr.h,
 * or kept when restored), the side state a session has only while it
 * needs it, and the published events and room blocks a namespace
 * connection gets (encoded once for "/" and shared, sev.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/eio.h"
#include "common/wsf.h"
#include "worker/cli.h"
#include "worker/csr.h"
#include "worker/eng.h"
#include "worker/fan.h"
#include "worker/sev.h"
#include "worker/skti.h"
#include "worker/ws.h"

#define SKN_NSP_MAX 65535      /* namespaces a worker can name (nsp index) */


static struct {
    struct skn_nspn *nsp;     /* "/", then the configured namespaces */
    size_t nnsp;
} N;

static const struct skn_nspn skn_root = {"/", 1};

/* The worker's namespace names, one copy each: "/" (index 0), then those
 * of the comma-separated list (blanks around a name trimmed; at most
 * SKN_NSP_MAX, the rest are not served). */
void
skn_init(const char *list)
{
    size_t cap = 2;
    const char *p = list;

    for (const char *q = list; *q; q++)
        cap += *q == ',';
    N.nsp = calloc(cap, sizeof(*N.nsp));
    if (N.nsp == NULL)
        return; /* every namespace is refused but "/" (skn_nsp_index) */
    N.nsp[N.nnsp++] = (struct skn_nspn){"/", 1};
    while (*p && N.nnsp < cap && N.nnsp <= SKN_NSP_MAX) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        while (l && *p == ' ') {
            p++;
            l--;
        }
        while (l && p[l - 1] == ' ')
            l--;
        if (l && !(l == 1 && p[0] == '/')) {
            char *n = strndup(p, l);
            if (n)
                N.nsp[N.nnsp++] = (struct skn_nspn){n, l};
        }
        if (e == NULL)
            break;
        p = e + 1;
    }
}

/* The table index of namespace nsp[0..n), or -1 when it is not served. */
int
skn_nsp_index(const char *nsp, size_t n)
{
    if (n == 1 && nsp[0] == '/')
        return 0;
    for (size_t i = 1; i < N.nnsp; i++)
        if (N.nsp[i].len == n && memcmp(N.nsp[i].name, nsp, n) == 0)
            return (int)i;
    return -1;
}

const struct skn_nspn *
skn_nsp(unsigned i)
{
    return i < N.nnsp ? &N.nsp[i] : &skn_root;
}

const char *
skn_name(const struct skt_ns *ns)
{
    return skn_nsp(ns->nsp)->name;
}

struct skt *
skn_of_ns(struct skt_ns *ns)
{
    if (ns->more)
        return ((struct skt_nsx *)(void *)((char *)ns
            - offsetof(struct skt_nsx, ns)))->k;
    return (struct skt *)(void *)((char *)ns - offsetof(struct skt, ns0));
}

struct eng *
skn_eng(struct skt *k)
{
    return eng_of_state(k);
}

/* k's side state, made if it has none; NULL when out of memory. */
struct skt_x *
skn_x(struct skt *k)
{
    if (k->x == NULL)
        k->x = calloc(1, sizeof(*k->x));
    return k->x;
}

/* Free k's side state if nothing in it is in use. */
void
skn_x_trim(struct skt *k)
{
    struct skt_x *x = k->x;

    if (x && x->bearer == NULL && x->tev == NULL && x->pend_text == NULL
        && x->nbins == 0 && x->more == NULL && x->d0.held == NULL
        && x->d0.rid == NULL) {
        free(x->bins);
        free(x);
        k->x = NULL;
    }
}

/* ns's side data: make it (when make) if it has none. NULL when it has
 * none (or out of memory). */
struct skt_nsd *
skn_nsd(struct skt_ns *ns, int make)
{
    struct skt *k;

    if (ns->more)
        return &((struct skt_nsx *)(void *)((char *)ns
            - offsetof(struct skt_nsx, ns)))->d;
    k = skn_of_ns(ns);
    if (k->x == NULL && (!make || skn_x(k) == NULL))
        return NULL;
    return &k->x->d0;
}

/* ns's socket id and pid ("" for none): restored, or named by its tag.
 * 0, or -1 when they cannot be made. */
int
skn_ids(struct skt_ns *ns, char sid[EIO_SID_LEN + 1],
    char pid[EIO_SID_LEN + 1])
{
    struct skt_nsd *d = ns->recovered ? skn_nsd(ns, 0) : NULL;

    if (d && d->rid) {
        memcpy(sid, d->rid, EIO_SID_LEN + 1);
        memcpy(pid, d->rid + EIO_SID_LEN + 1, EIO_SID_LEN + 1);
        return 0;
    }
    if (csr_ids(&ns->csr, sid, pid) == -1)
        return -1;
    if (ns->cl == NULL)
        pid[0] = '\0'; /* the echo app's sessions are not recoverable */
    return 0;
}

/* A live namespace connection of k: ns0 first, then the others. */
struct skt_ns *
skn_any(struct skt *k)
{
    if (k->ns0.live)
        return &k->ns0;
    return k->x && k->x->more ? &k->x->more->ns : NULL;
}

struct skt_ns *
skn_find(struct skt *k, const char *nsp, size_t n)
{
    int i = skn_nsp_index(nsp, n);

    if (i < 0)
        return NULL;
    if (k->ns0.live && k->ns0.nsp == i)
        return &k->ns0;
    for (struct skt_nsx *m = k->x ? k->x->more : NULL; m; m = m->next)
        if (m->ns.nsp == i)
            return &m->ns;
    return NULL;
}

/* A new namespace connection of k to table entry i: ns0 when it is free.
 * NULL when out of memory. */
struct skt_ns *
skn_new(struct skt *k, int i)
{
    struct skt_ns *ns = &k->ns0;
    struct skt_nsx *m;

    if (k->ns0.live) {
        if (skn_x(k) == NULL || (m = calloc(1, sizeof(*m))) == NULL) {
            skn_x_trim(k);
            return NULL;
        }
        m->k = k;
        m->next = k->x->more;
        k->x->more = m;
        ns = &m->ns;
        ns->more = 1;
    }
    ns->live = 1;
    ns->nsp = (uint16_t)i;
    csr_fresh(&ns->csr);
    return ns;
}

/* End namespace connection ns: its recoverable state is kept (hold: the
 * transport went away) or forgotten (the client left, it was kicked). */
void
skn_free(struct skt *k, struct skt_ns *ns, int hold)
{
    struct skt_nsd *d = skn_nsd(ns, 0);

    if (ns->connected && ns->cl) {
        char sid[EIO_SID_LEN + 1], pid[EIO_SID_LEN + 1];
        if (skn_ids(ns, sid, pid) == 0)
            csr_end(&ns->csr, pid, hold);
    }
    cli_free(ns->cl);
    if (d) {
        free(d->held);
        free(d->rid);
        d->held = d->rid = NULL;
    }
    if (ns->more) {
        for (struct skt_nsx **pp = &k->x->more; *pp; pp = &(*pp)->next)
            if (&(*pp)->ns == ns) {
                struct skt_nsx *m = *pp;
                *pp = m->next;
                free(m);
                break;
            }
    } else {
        ns->cl = NULL;
        ns->csr.tag = 0;
        ns->nsp = 0;
        ns->live = ns->connected = ns->recovered = 0;
    }
    skn_x_trim(k);
}

void
skn_pending_clear(struct skt *k)
{
    struct skt_x *x = k->x;

    if (x == NULL)
        return;
    for (size_t i = 0; i < x->nbins; i++)
        free(x->bins[i].iov_base);
    free(x->bins);
    free(x->pend_text);
    x->bins = NULL;
    x->nbins = 0;
    x->pend_text = NULL;
    x->pend_need = 0;
    skn_x_trim(k);
}

/* m's Socket.IO event message (namespace /, the same for every room; an
 * emitter broadcast's in its own namespace, with its attachments),
 * appended to b (fan-out blocks). */
int
skn_batch_append(struct ws_batch *b, const struct fan_msg *m,
    const char *room, size_t rlen)
{
    char nsp[MSG_NSP_MAX + 1] = "/";

    (void)room;
    (void)rlen;
    if (m->v.kind == MSG_EMIT)
        snprintf(nsp, sizeof(nsp), "%.*s", (int)m->v.nsp.n, m->v.nsp.p);
    return sev_append(b, m, nsp);
}

/* Published events, encoded once per message for namespace "/" and shared
 * by every recipient; other namespaces get their own encoding. An emitter
 * broadcast goes only to its own namespace, so its recipients share one
 * encoding whatever the namespace. */
int
skn_event(struct cli *cl, struct fan_msg *m, const char *room, size_t rlen)
{
    struct skt_ns *ns = cli_proto(cl);
    struct eng *e = skn_eng(skn_of_ns(ns));
    const struct skn_nspn *nn = skn_nsp(ns->nsp);
    struct ws_batch *b;
    int rc = 0;

    (void)room;
    (void)rlen;
    if (m->v.kind == MSG_EMIT && (nn->len != m->v.nsp.n
            || memcmp(nn->name, m->v.nsp.p, m->v.nsp.n) != 0))
        return 0;
    if (ns->nsp == 0 || m->v.kind == MSG_EMIT) {
        if (m->sio == NULL)
            m->sio = sev_frames(m, nn->name);
        return m->sio ? eng_send_batch(e, m->sio) : 0;
    }
    if ((b = sev_frames(m, nn->name)) != NULL) {
        rc = eng_send_batch(e, b);
        ws_batch_unref(b);
    }
    return rc;
}

/* A room block: namespace "/" takes the shared batch; another namespace
 * gets each message re-addressed ("42[" becomes "42/nsp,["). An emitter
 * broadcast's block is encoded for its members' namespace already. */
int
skn_batch(struct cli *cl, struct fan_block *b)
{
    struct skt_ns *ns = cli_proto(cl);
    struct eng *e = skn_eng(skn_of_ns(ns));
    const struct skn_nspn *nn = skn_nsp(ns->nsp);
    size_t nl = nn->len;

    if (ns->nsp == 0 || b->emit)
        return eng_send_batch(e, b->sio);
    for (size_t i = 0; i < ws_batch_count(b->sio); i++) {
        size_t n;
        const unsigned char *p = ws_batch_msg(b->sio, i, &n);
        char *t = malloc(n + nl + 1);
        if (t == NULL || n < 3)
            return free(t), -1;
        memcpy(t, p + 1, 1);            /* "2" */
        memcpy(t + 1, nn->name, nl);
        t[1 + nl] = ',';
        memcpy(t + 2 + nl, p + 2, n - 2);
        eng_send(e, 0, t, n + nl - 1 + 1);
        free(t);
    }
    return 0;
}

