/*
 * Client model of a worker. Owns authentication state (a compact copy of
 * the verified claims), room membership through room.c, the all-clients
 * list used for broadcasts, and the token lifecycle: a token-expiring
 * notice token_expiry_warning seconds before exp and a close at
 * exp + jwt_leeway, from one deadline heap (common/dhp) and one timer for
 * the worker, a client in it only when its token has an exp. Protocols
 * see none of this beyond cli_ops.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/config.h"
#include "common/dhp.h"
#include "common/log.h"
#include "common/slb.h"
#include "common/tokcfg.h"
#include "common/wsg.h"
#include "worker/cli.h"
#include "worker/pev.h"
#include "worker/lmt.h"
#include "worker/room.h"
#include "worker/wctr.h"
#include "worker/wev.h"

#define CLI_WHO_CLAIMS 1u /* the low bit of cli.who */
#define CLI_OPS_MAX 4     /* protocols (cli_ops tables): cli.ops's 2 bits */

/* One per connection, so every byte counts (BENCHMARKS.md, memory per
 * idle connection): 48 bytes in a slot of the worker's client slab (no
 * malloc header, no rounding); the slab is also the all-clients list
 * (cli_first, cli_next walk it in id order). */
struct cli {
    void *proto;
    /* Who cl is, 0 until authenticated: for a token with no roles and
     * no rooms claim (the common case) its personal room user:<id>, a
     * struct room whose name holds the user id (one copy per user, none
     * per connection); else its claims (tokcfg_who) with the low bit
     * set. cli_user, cli_claims, cli_uroom read it. */
    uintptr_t who;
    uint64_t last_seq;
    uint32_t rooms;                /* first membership's id (room_at) */
    uint32_t id;                   /* in CL.slab */
    uint32_t fan_mark;             /* fan.c: see cli_fan_mark */
    uint32_t exp;                  /* unix seconds; 0 = none (cli_exp32) */
    struct dhp_node tq;            /* in CL.tq while exp is set */
    /* max_rooms_per_connection is at most 100,000, + the user's room */
    uint32_t nrooms : 17;
    uint32_t ops : 2;              /* CL.ops[ops]: its protocol's */
    uint32_t anon : 1;
    uint32_t warned : 1;
    uint32_t held : 1;             /* the connect proxy has not answered */
    uint32_t limited : 1;          /* counted for max_connections_per_user */
    uint32_t inflight : 8;         /* events out at the event proxy */
};
_Static_assert(sizeof(struct cli) <= 48, "struct cli is 48 bytes");

/* A client waiting for the log reader (cli_wait). Rare and short-lived:
 * one list for the worker, not a field per client. */
struct cli_waiter {
    struct cli_waiter *next;
    struct cli *cl;
    uint64_t seq;       /* UINT64_MAX: a timed wait only */
    struct event *tev;  /* fn runs at its time even if seq was not read */
    cli_wait_fn fn;
    void *arg;
    void (*free_arg)(void *);
};

#define CLI_WAIT_MAX_MS 3000 /* longest wait for the log reader */

static struct {
    struct cli_waiter *waits;
    struct event_base *base;
    const struct cfg *cfg;
    struct tokcfg tc;
    struct slb slab;       /* every client of the worker */
    const struct cli_ops *ops[CLI_OPS_MAX]; /* the protocols' (cli.ops) */
    unsigned nops;
    size_t users;
    struct dhp tq;         /* token deadlines (unix s): warning or close */
    struct event *tev;     /* fires at the earliest of tq */
    int64_t tat;           /* unix ms tev is armed for; INT64_MAX: none */
    int firing;            /* in cli_timer_cb: it re-arms tev at its end */
} CL;

static void cli_timer_cb(evutil_socket_t fd, short what, void *arg);
static void cli_schedule(void);
static uint32_t cli_exp32(int64_t exp);
static void cli_wait_cb(evutil_socket_t fd, short what, void *arg);
static struct dhp_node *cli_tq_node(uint32_t id, void *arg);

int
cli_init(struct event_base *base, const struct cfg *c)
{
    char err[256];

    CL.base = base;
    CL.cfg = c;
    CL.tat = INT64_MAX;
    slb_init(&CL.slab, sizeof(struct cli));
    dhp_init(&CL.tq, cli_tq_node, NULL);
    CL.tev = evtimer_new(base, cli_timer_cb, NULL);
    if (CL.tev == NULL) {
        log_msg(LOG_ERR, "evtimer_new() for the token timer failed");
        return -1;
    }
    if (tokcfg_load(&CL.tc, c, err, sizeof(err)) == -1) {
        log_msg(LOG_ERR, "token settings: %s", err);
        return -1;
    }
    return room_init();
}

struct cli *
cli_new(const struct cli_ops *ops, void *proto)
{
    uint32_t id;
    unsigned oi = 0;
    struct cli *cl;

    while (oi < CL.nops && CL.ops[oi] != ops)
        oi++;
    if (oi == CL.nops) {
        if (CL.nops == CLI_OPS_MAX) {
            log_msg(LOG_ERR, "more than %d client protocols", CLI_OPS_MAX);
            return NULL;
        }
        CL.ops[CL.nops++] = ops;
    }
    if ((cl = slb_alloc(&CL.slab, &id)) == NULL)
        return NULL;
    cl->ops = oi & 3;
    cl->proto = proto;
    cl->id = id;
    return cl;
}

static void
cli_gauges(void)
{
    wctr_val[CTR_rooms] = room_count();
    wctr_val[CTR_subscriptions] = room_subscriptions();
    wctr_val[CTR_users] = CL.users;
}

/* cl's claims when it keeps them (roles or a rooms claim), else NULL. */
static const struct tokcfg_who *
cli_claims(const struct cli *cl)
{
    return cl->who & CLI_WHO_CLAIMS
        ? (const struct tokcfg_who *)(cl->who & ~(uintptr_t)CLI_WHO_CLAIMS)
        : NULL;
}

/* The personal room name of user into buf; returns its length (0: does
 * not fit). */
static size_t
cli_user_room_of(const char *user, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "user:%s", user);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static size_t
cli_user_room(const struct cli *cl, char *buf, size_t cap)
{
    return cli_user_room_of(cli_user(cl), buf, cap);
}

/* The personal room of authenticated cl (it is a member while it
 * lives: it cannot leave it). */
static struct room *
cli_uroom(const struct cli *cl)
{
    char ur[TOK_USER_MAX + 8];
    size_t ul;

    if (!(cl->who & CLI_WHO_CLAIMS))
        return (struct room *)cl->who;
    ul = cli_user_room(cl, ur, sizeof(ur));
    return ul ? room_find(ur, ul) : NULL;
}

void
cli_free(struct cli *cl)
{
    char ur[TOK_USER_MAX + 8];
    size_t ul;

    if (cl == NULL)
        return;
    if (cl->limited)
        lmt_user_end(cli_user(cl), strlen(cli_user(cl)));
    if (cl->who && (ul = cli_user_room(cl, ur, sizeof(ur))) > 0) {
        struct room *r = room_find(ur, ul);
        if (r && room_size(r) == 1 && room_is_member(cl, ur, ul))
            CL.users--;
    }
    for (struct cli_waiter **pp = &CL.waits; *pp;) {
        struct cli_waiter *w = *pp;
        if (w->cl == cl) {
            *pp = w->next;
            event_free(w->tev);
            if (w->free_arg)
                w->free_arg(w->arg);
            free(w);
        } else {
            pp = &w->next;
        }
    }
    if (cl->who)
        for (const struct room_member *m = room_at(cl->rooms); m;
             m = room_onext(m)) {
            size_t rl;
            const char *rn = room_name(m->room, &rl);
            pev_note(rn, rl, cli_user(cl), 0);
        }
    room_leave_all(cl, &cl->rooms); /* cli_user is gone with user:<id> */
    if (dhp_queued(&cl->tq)) {
        dhp_remove(&CL.tq, &cl->tq);
        cli_schedule();
    }
    if (cl->who || cl->anon)
        WCTR_DEC(clients);
    free((void *)cli_claims(cl));
    slb_free(&CL.slab, cl->id);
    cli_gauges();
}

void *
cli_proto(const struct cli *cl)
{
    return cl->proto;
}

int
cli_authed(const struct cli *cl)
{
    return cl->who != 0 || cl->anon;
}

const char *
cli_user(const struct cli *cl)
{
    const struct tokcfg_who *w = cli_claims(cl);

    if (w)
        return tokcfg_who_user(w);
    return cl->who ? room_name((const struct room *)cl->who, NULL) + 5 : NULL;
}

int
cli_event(struct cli *cl, struct fan_msg *m, const char *room, size_t rlen)
{
    return CL.ops[cl->ops]->event(cl, m, room, rlen);
}

int
cli_batch(struct cli *cl, struct fan_block *b)
{
    return CL.ops[cl->ops]->batch(cl, b);
}

void
cli_kick(struct cli *cl, unsigned code, const char *reason)
{
    CL.ops[cl->ops]->kick(cl, code, reason);
}

unsigned
cli_block_kinds(const struct cli *cl)
{
    return CL.ops[cl->ops]->block_kinds;
}

const char *
cli_nsp(const struct cli *cl)
{
    return CL.ops[cl->ops]->nsp ? CL.ops[cl->ops]->nsp(cl) : "/";
}

uint64_t *
cli_last_seq(struct cli *cl)
{
    return &cl->last_seq;
}

uint32_t *
cli_fan_mark(struct cli *cl)
{
    return &cl->fan_mark;
}

size_t
cli_rooms(const struct cli *cl, const char **names, size_t *lens, size_t cap)
{
    size_t n = 0;

    for (const struct room_member *m = room_at(cl->rooms); m && n < cap;
         m = room_onext(m))
        names[n] = room_name(m->room, &lens[n]), n++;
    return n;
}

static int
cli_wait_add(struct cli *cl, uint64_t seq, int ms, cli_wait_fn fn, void *arg,
    void (*free_arg)(void *))
{
    struct cli_waiter *w = malloc(sizeof(*w)), **pp = &CL.waits;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    if (w == NULL)
        return -1;
    *w = (struct cli_waiter){NULL, cl, seq, NULL, fn, arg, free_arg};
    w->tev = evtimer_new(CL.base, cli_wait_cb, w);
    if (w->tev == NULL || evtimer_add(w->tev, &tv) == -1) {
        if (w->tev)
            event_free(w->tev);
        free(w);
        return -1;
    }
    while (*pp)
        pp = &(*pp)->next; /* in order of arrival */
    *pp = w;
    return 0;
}

int
cli_wait(struct cli *cl, uint64_t seq, cli_wait_fn fn, void *arg,
    void (*free_arg)(void *))
{
    return cli_wait_add(cl, seq, CLI_WAIT_MAX_MS, fn, arg, free_arg);
}

int
cli_wait_ms(struct cli *cl, int ms, cli_wait_fn fn, void *arg,
    void (*free_arg)(void *))
{
    return cli_wait_add(cl, UINT64_MAX, ms, fn, arg, free_arg);
}

/* A wait reached its time: it runs as if the reader had got there (the
 * caller finds what it waited for, or that it is still missing). */
static void
cli_wait_cb(evutil_socket_t fd, short what, void *arg)
{
    struct cli_waiter *me = arg, **pp = &CL.waits;

    (void)fd;
    (void)what;
    while (*pp && *pp != me)
        pp = &(*pp)->next;
    if (*pp == NULL)
        return;
    *pp = me->next;
    event_free(me->tev);
    me->fn(me->cl, me->arg); /* may end cl: its other waits go too */
    free(me);
}

void
cli_waits_run(uint64_t pos)
{
    struct cli_waiter **pp = &CL.waits;

    while (*pp) {
        struct cli_waiter *w = *pp;
        if (w->seq > pos) {
            pp = &w->next;
            continue;
        }
        *pp = w->next;
        event_free(w->tev);
        w->fn(w->cl, w->arg); /* may end cl: its other waits go too */
        free(w);
        pp = &CL.waits;       /* the list may have changed */
    }
}

struct cli *
cli_first(void)
{
    return slb_at(&CL.slab, slb_next(&CL.slab, 0));
}

struct cli *
cli_next(const struct cli *cl)
{
    return slb_at(&CL.slab, slb_next(&CL.slab, cl->id));
}

void
cli_anonymous(struct cli *cl)
{
    if (!cl->who && !cl->anon)
        WCTR_INC(clients);
    cl->anon = 1;
}

static void
cli_count(enum tok_status st)
{
    static const int ids[] = {
        [TOK_OK] = CTR_auth_ok,
        [TOK_E_MISSING] = CTR_auth_missing,
        [TOK_E_MALFORMED] = CTR_auth_malformed,
        [TOK_E_INVALID] = CTR_auth_invalid,
        [TOK_E_EXPIRED] = CTR_auth_expired,
        [TOK_E_NOT_YET_VALID] = CTR_auth_not_yet_valid,
        [TOK_E_FORBIDDEN] = CTR_auth_forbidden,
    };
    if ((size_t)st < sizeof(ids) / sizeof(*ids))
        wctr_val[ids[st]]++;
}

/* Put cl in the token deadline heap for the next step of its token's
 * lifecycle (the warning, else the close), or out of it without an exp. */
static void
cli_arm(struct cli *cl)
{
    int64_t now = wsg_real_ms() / 1000, at;
    int64_t warn = CFG_NUM(CL.cfg, token_expiry_warning) / 1000;
    int64_t end = (int64_t)cl->exp + CFG_NUM(CL.cfg, jwt_leeway) / 1000;

    if (cl->exp == 0) {
        dhp_remove(&CL.tq, &cl->tq);
        cli_schedule();
        return;
    }
    at = !cl->warned && warn > 0 && cl->exp - warn > now ? cl->exp - warn
        : end;
    if (dhp_set(&CL.tq, &cl->tq, cl->id, cli_exp32(at)) == -1)
        log_msg(LOG_ERR, "out of memory for a token deadline");
    cli_schedule();
}

/* Arm the one token timer for the earliest deadline of the heap (unless
 * the timer's callback is running: it re-arms at its end). */
static void
cli_schedule(void)
{
    int64_t at, ms;
    uint32_t due;
    struct timeval tv;

    if (CL.firing)
        return;
    if (dhp_first(&CL.tq, &due) == NULL) {
        if (CL.tat != INT64_MAX)
            event_del(CL.tev);
        CL.tat = INT64_MAX;
        return;
    }
    at = (int64_t)due * 1000;
    if (at == CL.tat)
        return;
    CL.tat = at;
    ms = at - wsg_real_ms();
    if (ms < 0)
        ms = 0;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    evtimer_add(CL.tev, &tv);
}

static void
cli_warn(struct cli *cl)
{
    char js[96];
    int64_t now = wsg_real_ms() / 1000;

    cl->warned = 1;
    WCTR_INC(token_warnings);
    snprintf(js, sizeof(js), "{\"exp\":%lld,\"in\":%lld}",
        (long long)cl->exp, (long long)(cl->exp > now ? cl->exp - now : 0));
    (void)CL.ops[cl->ops]->notify(cl, "token-expiring", js);
}

/* The token steps that are due: a close at exp + leeway, else the
 * warning and then cl's next step. Each client leaves the heap before its
 * step runs (a kick frees it). */
static void
cli_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    int64_t now = wsg_real_ms() / 1000;
    uint32_t due;
    struct dhp_node *n;

    (void)fd;
    (void)what;
    (void)arg;
    CL.tat = INT64_MAX;
    CL.firing = 1;
    while ((n = dhp_first(&CL.tq, &due)) != NULL && (int64_t)due <= now) {
        struct cli *cl = DHP_ENTRY(n, struct cli, tq);
        dhp_remove(&CL.tq, n);
        if (now >= (int64_t)cl->exp + CFG_NUM(CL.cfg, jwt_leeway) / 1000) {
            WCTR_INC(token_expiry_closes);
            cli_kick(cl, CLI_CLOSE_TOKEN_EXPIRED, "TOKEN_EXPIRED");
            continue;
        }
        if (!cl->warned)
            cli_warn(cl);
        cli_arm(cl); /* due later than now: the loop ends */
    }
    CL.firing = 0;
    cli_schedule();
}

enum tok_status
cli_authenticate(struct cli *cl, const char *token, size_t len)
{
    struct tok_claims *claims;
    enum tok_status st = cli_verify(cl, token, len, &claims);

    return st == TOK_OK ? cli_apply(cl, claims) : st;
}

enum tok_status
cli_verify(struct cli *cl, const char *token, size_t len,
    struct tok_claims **out)
{
    struct tok_claims *claims = malloc(sizeof(*claims));
    enum tok_status st;

    *out = NULL;
    if (claims == NULL)
        return TOK_E_INVALID;
    st = tok_verify(&CL.tc.tok, token, len, wsg_real_ms() / 1000, claims);
    if (st == TOK_OK && cl->who && strcmp(cli_user(cl), claims->user) != 0)
        st = TOK_E_FORBIDDEN; /* a refresh must name the same user */
    cli_count(st);
    if (st != TOK_OK) {
        wev_add(EVQ_AUTH_FAIL, 0, NULL, tok_status_code(st));
        free(claims);
        return st;
    }
    *out = claims;
    return TOK_OK;
}

/* cl's first authentication, as claims->user: the user's connection
 * limit, then its personal room (joined; made if new). The room, or NULL
 * with *st set (TOK_E_LIMIT; TOK_E_INVALID when out of memory), nothing
 * changed. */
static struct room *
cli_first_auth(struct cli *cl, const struct tok_claims *claims,
    enum tok_status *st)
{
    char ur[TOK_USER_MAX + 8];
    size_t ul = cli_user_room_of(claims->user, ur, sizeof(ur));
    size_t len = strlen(claims->user);
    int lim = lmt_user_begin(claims->user, len), j = -1;

    if (lim == -1) {
        *st = TOK_E_LIMIT;
        return NULL;
    }
    if (ul == 0 || (j = room_join(cl, &cl->rooms, ur, ul)) == -1) {
        if (lim == 1)
            lmt_user_end(claims->user, len);
        *st = TOK_E_INVALID;
        return NULL;
    }
    struct room *r = room_find(ur, ul);
    cl->limited = lim == 1;
    if (!cl->anon)
        WCTR_INC(clients);
    if (j == 1) {
        cl->nrooms++;
        pev_note(ur, ul, claims->user, 1);
        if (room_size(r) == 1)
            CL.users++;
    }
    cli_gauges();
    return r;
}

enum tok_status
cli_apply(struct cli *cl, struct tok_claims *claims)
{
    struct tokcfg_who *w = NULL;
    struct room *ur = NULL;
    enum tok_status st = TOK_OK;

    if (tokcfg_who_needed(claims) && (w = tokcfg_who_new(claims)) == NULL)
        st = TOK_E_INVALID;
    else if (cl->who == 0)
        ur = cli_first_auth(cl, claims, &st);
    else if (w == NULL && (ur = cli_uroom(cl)) == NULL)
        st = TOK_E_INVALID; /* cannot be: cl is in its room */
    if (st != TOK_OK) {
        free(w);
        free(claims);
        return st;
    }
    free((void *)cli_claims(cl));
    cl->who = w ? (uintptr_t)w | CLI_WHO_CLAIMS : (uintptr_t)ur;
    cl->exp = cli_exp32(claims->exp);
    cl->warned = 0;
    free(claims);
    /* Less than the warning time left: warn at once (DESIGN §10). */
    if (cl->exp && CFG_NUM(CL.cfg, token_expiry_warning) > 0
        && cl->exp - wsg_real_ms() / 1000
            <= CFG_NUM(CL.cfg, token_expiry_warning) / 1000)
        cli_warn(cl);
    cli_arm(cl);
    return TOK_OK;
}

int
cli_subscribe(struct cli *cl, const struct msg_str *rooms, size_t n,
    unsigned char *joined, const char **code, const char **msg, size_t *bad)
{
    size_t fresh = 0, over = n;
    size_t max = (size_t)CFG_NUM(CL.cfg, max_rooms_per_connection);

    for (size_t i = 0; i < n; i++) {
        *bad = i;
        if (!msg_room_valid(rooms[i].p, rooms[i].n)) {
            *code = "BAD_ROOM";
            *msg = "room names are 1-200 printable characters";
            goto refused;
        }
        /* A room cl is in already (the connect proxy's, say) stays
         * allowed. */
        if (cl->who == 0 || (!tokcfg_room_allowed(&CL.tc, cli_user(cl),
                cli_claims(cl), rooms[i].p, rooms[i].n)
                && !room_is_member(cl, rooms[i].p, rooms[i].n))) {
            *code = "FORBIDDEN";
            *msg = "not allowed to join this room";
            goto refused;
        }
        if (!room_is_member(cl, rooms[i].p, rooms[i].n)
            && cl->nrooms + ++fresh > max && over == n)
            over = i; /* the first room that does not fit */
    }
    if (over < n) {
        *bad = over;
        *code = "TOO_MANY_ROOMS";
        *msg = "max_rooms_per_connection reached";
        goto refused;
    }
    for (size_t i = 0; i < n; i++) {
        int r = room_join(cl, &cl->rooms, rooms[i].p, rooms[i].n);
        if (r == -1) {
            /* Undo this request's joins to stay all-or-nothing. */
            for (size_t j = 0; j < i; j++)
                if (joined[j]) {
                    room_leave(cl, &cl->rooms, rooms[j].p, rooms[j].n);
                    cl->nrooms--;
                }
            *bad = i;
            *code = "INTERNAL";
            *msg = "out of memory";
            goto refused;
        }
        joined[i] = (unsigned char)r;
        cl->nrooms += (unsigned)r;
    }
    for (size_t i = 0; i < n; i++)
        if (joined[i])
            pev_note(rooms[i].p, rooms[i].n, cli_user(cl), 1);
    WCTR_INC(subscribe_ok);
    cli_gauges();
    return 0;
refused:
    WCTR_INC(subscribe_refused);
    return -1;
}

size_t
cli_unsubscribe(struct cli *cl, const struct msg_str *rooms, size_t n)
{
    char ur[TOK_USER_MAX + 8];
    size_t ul = cl->who ? cli_user_room(cl, ur, sizeof(ur)) : 0, left = 0;

    for (size_t i = 0; i < n; i++) {
        if (ul && rooms[i].n == ul && memcmp(rooms[i].p, ur, ul) == 0)
            continue;
        if (room_leave(cl, &cl->rooms, rooms[i].p, rooms[i].n) == 1) {
            cl->nrooms--;
            left++;
            if (cl->who)
                pev_note(rooms[i].p, rooms[i].n, cli_user(cl), 0);
        }
    }
    cli_gauges();
    return left;
}

size_t
cli_join_trusted(struct cli *cl, const char *blob, size_t len, size_t *over)
{
    size_t max = (size_t)CFG_NUM(CL.cfg, max_rooms_per_connection), n = 0;

    *over = 0;
    for (size_t i = 0; i < len;) {
        size_t l = strnlen(blob + i, len - i);
        if (l && !room_is_member(cl, blob + i, l)) {
            if (cl->nrooms >= max)
                (*over)++;
            else if (room_join(cl, &cl->rooms, blob + i, l) == 1) {
                cl->nrooms++, n++;
                if (cl->who)
                    pev_note(blob + i, l, cli_user(cl), 1);
            }
        }
        i += l + 1;
    }
    cli_gauges();
    return n;
}

int
cli_wait_drop(struct cli *cl, void *arg)
{
    for (struct cli_waiter **pp = &CL.waits; *pp; pp = &(*pp)->next) {
        struct cli_waiter *w = *pp;
        if (w->cl == cl && w->arg == arg) {
            *pp = w->next;
            event_free(w->tev);
            free(w);
            return 0;
        }
    }
    return -1;
}

int
cli_held(const struct cli *cl)
{
    return cl->held;
}

void
cli_set_held(struct cli *cl, int on)
{
    cl->held = on != 0;
}

unsigned
cli_inflight(const struct cli *cl)
{
    return cl->inflight;
}

void
cli_inflight_add(struct cli *cl, int d)
{
    int v = (int)cl->inflight + d;

    cl->inflight = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* The deadline heap's node of client id. */
static struct dhp_node *
cli_tq_node(uint32_t id, void *arg)
{
    (void)arg;
    return &((struct cli *)slb_at(&CL.slab, id))->tq;
}

/* A token's exp as kept in struct cli: unix seconds in 32 bits, a later
 * exp (past 2106) kept as the latest second that fits. */
static uint32_t
cli_exp32(int64_t exp)
{
    return exp <= 0 ? 0 : exp > UINT32_MAX ? UINT32_MAX : (uint32_t)exp;
}
