/*
 * permessage-deflate (RFC 7692). Owns the parsing of the extension offer and
 * the writing of the response, and the zlib streams that inflate a
 * connection's inbound messages and deflate its outbound ones. Framing (RSV1,
 * fragmentation) and the choice of which messages to compress are the
 * WebSocket layer's. The offer parser is hand-written because it is tiny and
 * must never fail the handshake; the compression itself is zlib's.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "pmd.h"

#define PMD_CHUNK 16384           /* output buffer on the stack */
#define PMD_FEED_MAX (1u << 30)   /* input slice, fits zlib's uInt */
#define PMD_MEMLEVEL_ONCE 8       /* transient streams: at most zlib's default */
#define PMD_MEMLEVEL_KEEP 4       /* persistent streams: 8 KiB of tables */
#define PMD_VALUE_MAX 8           /* longest parameter value we keep */

static const unsigned char pmd_tail[4] = {0x00, 0x00, 0xff, 0xff};

struct pmd_inflater {
    z_stream *zs;       /* NULL until data arrives; freed per message w/o ctx */
    size_t total;       /* bytes given to the sink in the current message */
    uint8_t window_bits;
    uint8_t no_context_takeover;
    uint8_t ended;      /* a BFINAL block ended the last bytes fed */
};

struct pmd_deflater {
    z_stream *zs;       /* NULL until the first message */
    int level;
    uint8_t window_bits;
    uint8_t no_context_takeover;
};

/* One permessage-deflate offer while it is being parsed. */
struct pmd_offer {
    int ok;             /* still acceptable */
    int snct, cnct;     /* *_no_context_takeover seen */
    int smwb;           /* server_max_window_bits: 0 absent, else 8-15 */
    int cmwb;           /* client_max_window_bits: 0 absent, -1 no value */
};

struct pmd_cursor {
    const char *p, *end;
};

static int pmd_parse_element(struct pmd_cursor *c, struct pmd_offer *o,
    int *is_pmd);
static void pmd_apply_param(struct pmd_offer *o, const char *name,
    size_t nlen, const char *val, size_t vlen, int has_val);
static int pmd_accept(const struct pmd_offer *o, const struct pmd_policy *pol,
    struct pmd_params *out, char *resp, size_t resp_size);
static int pmd_clamp(int v, int lo, int hi);
static int pmd_is_tchar(unsigned char ch);
static void pmd_skip_ows(struct pmd_cursor *c);
static size_t pmd_scan_token(struct pmd_cursor *c);
static int pmd_scan_value(struct pmd_cursor *c, char *buf, size_t *lenp);
static void pmd_skip_element(struct pmd_cursor *c);
static int pmd_window_value(const char *v, size_t len);
static int pmd_inflate_feed(struct pmd_inflater *inf, const unsigned char *in,
    size_t n, pmd_sink_fn sink, void *arg, size_t max_out);
static void pmd_inflate_drop(struct pmd_inflater *inf);
static int pmd_deflate_run(struct pmd_deflater *d, const unsigned char *in,
    size_t n, pmd_sink_fn sink, void *arg);
static void pmd_deflate_drop(struct pmd_deflater *d);
static int pmd_once_memlevel(size_t n);

void
pmd_policy_init(struct pmd_policy *p)
{
    p->enabled = 1;
    p->server_no_context_takeover = 1;
    p->client_no_context_takeover = 1;
    p->server_max_window_bits = 15;
    p->client_max_window_bits = 15;
}

int
pmd_negotiate(const char *offer, size_t len, const struct pmd_policy *policy,
    struct pmd_params *out, char *resp, size_t resp_size)
{
    struct pmd_cursor c = {offer, offer + len};
    struct pmd_offer o;
    int is_pmd;

    if (!policy->enabled || offer == NULL)
        return PMD_NONE;
    /* RFC 7230 §7: a list may hold empty elements; 1#element in RFC 6455. */
    for (;;) {
        pmd_skip_ows(&c);
        if (c.p == c.end)
            return PMD_NONE;
        if (*c.p == ',') {
            c.p++;
            continue;
        }
        if (pmd_parse_element(&c, &o, &is_pmd) == -1) {
            pmd_skip_element(&c);
            continue;
        }
        if (is_pmd && o.ok
            && pmd_accept(&o, policy, out, resp, resp_size) == 0)
            return PMD_OK;
    }
}

struct pmd_inflater *
pmd_inflater_new(const struct pmd_params *p)
{
    struct pmd_inflater *inf = calloc(1, sizeof(*inf));

    if (inf == NULL)
        return NULL;
    /*
     * zlib >= 1.2.9 turns a requested deflate window of 8 into 9, so a peer
     * that agreed to 8 may still reach 512 bytes back: inflate with >= 9.
     */
    inf->window_bits = (uint8_t)pmd_clamp(p->client_max_window_bits, 9, 15);
    inf->no_context_takeover = p->client_no_context_takeover != 0;
    return inf;
}

void
pmd_inflater_free(struct pmd_inflater *inf)
{
    if (inf == NULL)
        return;
    pmd_inflate_drop(inf);
    free(inf);
}

int
pmd_inflate(struct pmd_inflater *inf, const unsigned char *in, size_t n,
    int final, pmd_sink_fn sink, void *arg, size_t max_out)
{
    int rc;

    if (n == 0 && !final)
        return PMD_AGAIN;               /* stay lazy: no stream for nothing */
    if (inf->zs == NULL) {
        inf->zs = calloc(1, sizeof(*inf->zs));
        if (inf->zs == NULL)
            return PMD_E_NOMEM;
        if (inflateInit2(inf->zs, -(int)inf->window_bits) != Z_OK) {
            free(inf->zs);
            inf->zs = NULL;
            return PMD_E_NOMEM;
        }
    }
    rc = pmd_inflate_feed(inf, in, n, sink, arg, max_out);
    /*
     * A message whose last block had BFINAL set and no byte after it is
     * complete as it stands; otherwise append the tail, after which the
     * stream must wait for a block header (zlib.h: data_type bit 7), else
     * the message was cut inside a block.
     */
    if (rc == PMD_OK && final && !inf->ended) {
        rc = pmd_inflate_feed(inf, pmd_tail, sizeof(pmd_tail), sink, arg,
            max_out);
        if (rc == PMD_OK && !inf->ended && !(inf->zs->data_type & 128))
            rc = PMD_E_DATA;
    }
    if (rc != PMD_OK) {
        pmd_inflate_drop(inf);
        return rc;
    }
    if (!final)
        return PMD_AGAIN;
    inf->total = 0;
    inf->ended = 0;
    if (inf->no_context_takeover)
        pmd_inflate_drop(inf);
    return PMD_OK;
}

struct pmd_deflater *
pmd_deflater_new(const struct pmd_params *p, int level)
{
    struct pmd_deflater *d;

    if (level < -1 || level > 9)
        return NULL;
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->level = level;
    d->window_bits = (uint8_t)pmd_clamp(p->server_max_window_bits, 9, 15);
    d->no_context_takeover = p->server_no_context_takeover != 0;
    return d;
}

void
pmd_deflater_free(struct pmd_deflater *d)
{
    if (d == NULL)
        return;
    pmd_deflate_drop(d);
    free(d);
}

int
pmd_deflate_message(struct pmd_deflater *d, const unsigned char *in, size_t n,
    pmd_sink_fn sink, void *arg)
{
    static const unsigned char empty[1] = {0x00};
    int bits, memlevel, rc;

    /*
     * §7.2.3.6: an empty message is one empty stored block without its
     * LEN/NLEN, i.e. the byte 00. The stream is byte-aligned after every
     * message, so this is valid with context takeover too, and zlib would
     * refuse a second sync flush with no input anyway.
     */
    if (n == 0)
        return sink(arg, empty, 1) == 0 ? PMD_OK : PMD_E_SINK;
    if (d->zs == NULL) {
        d->zs = calloc(1, sizeof(*d->zs));
        if (d->zs == NULL)
            return PMD_E_NOMEM;
        /*
         * A stream for one message is sized to it: a window that reaches
         * its first byte from its last and a symbol buffer that holds it
         * in one block compress as well as the largest ones, and
         * a 256 KiB stream allocated and freed per message costs ~60
         * times the compression of a 400-byte one (page faults as malloc
         * trims the heap; see BENCHMARKS.md, issue 18 item 4).
         */
        bits = d->no_context_takeover
            ? pmd_once_window_bits(n, d->window_bits) : d->window_bits;
        memlevel = d->no_context_takeover ? pmd_once_memlevel(n)
                                          : PMD_MEMLEVEL_KEEP;
        if (deflateInit2(d->zs, d->level, Z_DEFLATED, -bits,
                memlevel, Z_DEFAULT_STRATEGY) != Z_OK) {
            free(d->zs);
            d->zs = NULL;
            return PMD_E_NOMEM;
        }
    }
    rc = pmd_deflate_run(d, in, n, sink, arg);
    if (rc != PMD_OK || d->no_context_takeover)
        pmd_deflate_drop(d);
    return rc;
}

int
pmd_deflate_once(const unsigned char *in, size_t n, int window_bits,
    int level, pmd_sink_fn sink, void *arg)
{
    struct pmd_deflater d;

    if (window_bits < 9 || window_bits > 15 || level < -1 || level > 9)
        return PMD_E_PARAM;
    memset(&d, 0, sizeof(d));
    d.level = level;
    d.window_bits = (uint8_t)window_bits;
    d.no_context_takeover = 1;
    return pmd_deflate_message(&d, in, n, sink, arg);   /* frees d.zs */
}

int
pmd_once_window_bits(size_t n, int max_bits)
{
    int bits = 9;

    max_bits = pmd_clamp(max_bits, 9, 15);
    /* zlib matches at most w_size - MIN_LOOKAHEAD (262) bytes back. */
    while (bits < max_bits && ((size_t)1 << bits) < n + 262)
        bits++;
    return bits;
}

/*
 * memLevel for a stream that compresses one message of n bytes: zlib's
 * symbol buffer holds 1 << (memLevel + 6) symbols, so with at least n the
 * message is one block (and the hash has 1 << (memLevel + 7) heads).
 */
static int
pmd_once_memlevel(size_t n)
{
    int ml = 1;

    while (ml < PMD_MEMLEVEL_ONCE && ((size_t)1 << (ml + 6)) < n)
        ml++;
    return ml;
}

int
pmd_status_close_code(int status)
{
    switch (status) {
    case PMD_OK:
    case PMD_AGAIN:
    case PMD_NONE:
        return 0;
    case PMD_E_TOO_BIG:
        return 1009;
    case PMD_E_DATA:
        return 1002;
    default:
        return 1011;
    }
}

const char *
pmd_status_str(int status)
{
    switch (status) {
    case PMD_OK:
        return "ok";
    case PMD_AGAIN:
        return "again";
    case PMD_NONE:
        return "no acceptable offer";
    case PMD_E_TOO_BIG:
        return "inflated message too big";
    case PMD_E_DATA:
        return "corrupt deflate data";
    case PMD_E_NOMEM:
        return "out of memory";
    case PMD_E_SINK:
        return "output refused";
    case PMD_E_PARAM:
        return "invalid parameter";
    default:
        return "unknown status";
    }
}

/* ---------------------------------------------------------------------- */

/*
 * One element of the list (RFC 6455 §9.1): token *( OWS ";" OWS param ),
 * param = token [ OWS "=" OWS ( token | quoted-string ) ]. Leaves c at the
 * ',' or end that closes it. Returns -1 on a syntax error.
 */
static int
pmd_parse_element(struct pmd_cursor *c, struct pmd_offer *o, int *is_pmd)
{
    static const char pmd_name[] = "permessage-deflate";
    const char *name;
    size_t nlen, vlen;
    char val[PMD_VALUE_MAX];
    int has_val;

    memset(o, 0, sizeof(*o));
    o->ok = 1;
    name = c->p;
    nlen = pmd_scan_token(c);
    if (nlen == 0)
        return -1;
    *is_pmd = nlen == sizeof(pmd_name) - 1
        && strncasecmp(name, pmd_name, nlen) == 0;
    for (;;) {
        pmd_skip_ows(c);
        if (c->p == c->end || *c->p == ',')
            return 0;
        if (*c->p != ';')
            return -1;
        c->p++;
        pmd_skip_ows(c);
        name = c->p;
        nlen = pmd_scan_token(c);
        if (nlen == 0)
            return -1;
        pmd_skip_ows(c);
        has_val = c->p != c->end && *c->p == '=';
        vlen = 0;
        if (has_val) {
            c->p++;
            pmd_skip_ows(c);
            if (pmd_scan_value(c, val, &vlen) == -1)
                return -1;
        }
        if (*is_pmd && o->ok)
            pmd_apply_param(o, name, nlen, val, vlen, has_val);
    }
}

/*
 * RFC 7692 §7.1: the four parameters, each at most once; anything else
 * makes the offer unacceptable. val holds the first PMD_VALUE_MAX bytes of
 * a value vlen long; a longer value is invalid for every parameter.
 */
static void
pmd_apply_param(struct pmd_offer *o, const char *name, size_t nlen,
    const char *val, size_t vlen, int has_val)
{
#define PMD_IS(lit)                                                            \
    (nlen == sizeof(lit) - 1 && strncasecmp(name, lit, nlen) == 0)
    int bits = has_val ? pmd_window_value(val, vlen) : 0;

    if (PMD_IS("server_no_context_takeover")) {
        if (o->snct || has_val)
            o->ok = 0;
        o->snct = 1;
    } else if (PMD_IS("client_no_context_takeover")) {
        if (o->cnct || has_val)
            o->ok = 0;
        o->cnct = 1;
    } else if (PMD_IS("server_max_window_bits")) {
        /* §7.1.2.1: the value is mandatory. */
        if (o->smwb != 0 || bits == -1 || !has_val)
            o->ok = 0;
        o->smwb = bits;
    } else if (PMD_IS("client_max_window_bits")) {
        /* §7.1.2.2: the value is optional in an offer. */
        if (o->cmwb != 0 || bits == -1)
            o->ok = 0;
        o->cmwb = has_val ? bits : -1;
    } else {
        o->ok = 0;
    }
#undef PMD_IS
}

/*
 * Decide the agreed parameters for an acceptable offer and write the
 * response. Returns -1 when the offer cannot be honoured or the response does
 * not fit.
 */
static int
pmd_accept(const struct pmd_offer *o, const struct pmd_policy *pol,
    struct pmd_params *out, char *resp, size_t resp_size)
{
    int sbits = pmd_clamp(pol->server_max_window_bits, 9, 15);
    int cbits = pmd_clamp(pol->client_max_window_bits, 8, 15);
    int n;

    /* zlib cannot deflate with a 256-byte window; 9 would exceed the offer. */
    if (o->smwb == 8)
        return -1;
    if (o->smwb != 0 && o->smwb < sbits)
        sbits = o->smwb;
    if (o->cmwb > 0 && o->cmwb < cbits)
        cbits = o->cmwb;
    if (o->cmwb == 0)
        cbits = 15;         /* §7.1.2.2: the client did not offer a limit */
    out->server_no_context_takeover =
        o->snct || pol->server_no_context_takeover;
    out->client_no_context_takeover =
        o->cnct || pol->client_no_context_takeover;
    out->server_max_window_bits = (uint8_t)sbits;
    out->client_max_window_bits = (uint8_t)cbits;
    /*
     * server_max_window_bits is answered only when offered: a smaller window
     * of ours needs no consent, and some clients reject the unrequested
     * parameter. client_max_window_bits must not appear unless offered.
     */
    n = snprintf(resp, resp_size, "permessage-deflate%s%s",
        out->server_no_context_takeover ? "; server_no_context_takeover" : "",
        out->client_no_context_takeover ? "; client_no_context_takeover" : "");
    if (n >= 0 && (size_t)n < resp_size && o->smwb != 0)
        n += snprintf(resp + n, resp_size - (size_t)n,
            "; server_max_window_bits=%d", sbits);
    if (n >= 0 && (size_t)n < resp_size && o->cmwb != 0)
        n += snprintf(resp + n, resp_size - (size_t)n,
            "; client_max_window_bits=%d", cbits);
    if (n < 0 || (size_t)n >= resp_size)
        return -1;
    return 0;
}

static int
pmd_clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* RFC 7230 §3.2.6 tchar. */
static int
pmd_is_tchar(unsigned char ch)
{
    if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z')
        || (ch >= 'A' && ch <= 'Z'))
        return 1;
    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static void
pmd_skip_ows(struct pmd_cursor *c)
{
    while (c->p != c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static size_t
pmd_scan_token(struct pmd_cursor *c)
{
    const char *start = c->p;

    while (c->p != c->end && pmd_is_tchar((unsigned char)*c->p))
        c->p++;
    return (size_t)(c->p - start);
}

/*
 * token or quoted-string (RFC 7230 §3.2.6; quoted-pair unescaped). Copies
 * the value into buf[PMD_VALUE_MAX], truncated, and sets *lenp to its full
 * length. RFC 6455 §9.1 requires the unescaped value to be a token; the
 * window-bits check below enforces that for the values we read.
 */
static int
pmd_scan_value(struct pmd_cursor *c, char *buf, size_t *lenp)
{
    const char *start = c->p;
    size_t len = 0;
    unsigned char ch;

    if (c->p == c->end || *c->p != '"') {
        len = pmd_scan_token(c);
        if (len == 0)
            return -1;
        memcpy(buf, start, len < PMD_VALUE_MAX ? len : PMD_VALUE_MAX);
        *lenp = len;
        return 0;
    }
    for (c->p++; c->p != c->end; c->p++) {
        ch = (unsigned char)*c->p;
        if (ch == '"') {
            c->p++;
            *lenp = len;
            return 0;
        }
        if (ch == '\\') {
            if (++c->p == c->end)
                return -1;
            ch = (unsigned char)*c->p;
        }
        /* qdtext / quoted-pair: HTAB, SP, VCHAR, obs-text; no controls. */
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return -1;
        if (len < PMD_VALUE_MAX)
            buf[len] = (char)ch;
        len++;
    }
    return -1;                          /* unterminated */
}

/* Resynchronise after a syntax error: skip to the next ',' outside quotes. */
static void
pmd_skip_element(struct pmd_cursor *c)
{
    int quoted = 0;

    for (; c->p != c->end; c->p++) {
        if (quoted && *c->p == '\\') {
            if (c->p + 1 == c->end)
                break;
            c->p++;
        } else if (*c->p == '"') {
            quoted = !quoted;
        } else if (!quoted && *c->p == ',') {
            return;
        }
    }
}

/* §7.1.2: "8" to "15", decimal, no leading zeros, no sign. -1 otherwise. */
static int
pmd_window_value(const char *v, size_t len)
{
    if (len == 1 && (v[0] == '8' || v[0] == '9'))
        return v[0] - '0';
    if (len == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5')
        return 10 + (v[1] - '0');
    return -1;
}

/*
 * Run in[0..n) through the inflate stream, draining output into sink in
 * chunks. The output buffer is capped at one byte past what max_out still
 * allows, so a bomb is detected after at most that one extra byte.
 * Returns PMD_OK or an error.
 */
static int
pmd_inflate_feed(struct pmd_inflater *inf, const unsigned char *in,
    size_t n, pmd_sink_fn sink, void *arg, size_t max_out)
{
    unsigned char buf[PMD_CHUNK];
    z_stream *zs = inf->zs;
    size_t slice, room, cap, got;
    int zrc;

    while (n > 0) {
        slice = n < PMD_FEED_MAX ? n : PMD_FEED_MAX;
        zs->next_in = (unsigned char *)(uintptr_t)in;
        zs->avail_in = (uInt)slice;
        in += slice;
        n -= slice;
        inf->ended = 0;
        for (;;) {
            room = max_out - inf->total;
            cap = room < PMD_CHUNK ? room + 1 : PMD_CHUNK;
            zs->next_out = buf;
            zs->avail_out = (uInt)cap;
            zrc = inflate(zs, Z_SYNC_FLUSH);
            if (zrc == Z_MEM_ERROR)
                return PMD_E_NOMEM;
            if (zrc != Z_OK && zrc != Z_BUF_ERROR && zrc != Z_STREAM_END)
                return PMD_E_DATA;
            got = cap - zs->avail_out;
            if (got > room)
                return PMD_E_TOO_BIG;
            if (got > 0 && sink(arg, buf, got) != 0)
                return PMD_E_SINK;
            inf->total += got;
            if (zrc == Z_STREAM_END) {
                /*
                 * §7.2.3.4: a sender may flush with a BFINAL block; what
                 * follows (normally 00, then our tail) is a new stream.
                 * The window is not carried over.
                 */
                if (inflateReset(zs) != Z_OK)
                    abort();
                inf->ended = zs->avail_in == 0;
                if (inf->ended)
                    break;
                continue;
            }
            /* Room left in buf means zlib consumed all it could. */
            if (zs->avail_out != 0)
                break;
        }
    }
    return PMD_OK;
}

static void
pmd_inflate_drop(struct pmd_inflater *inf)
{
    if (inf->zs != NULL) {
        inflateEnd(inf->zs);
        free(inf->zs);
        inf->zs = NULL;
    }
    inf->total = 0;
    inf->ended = 0;
}

/*
 * Deflate in[0..n) with a sync flush at the end, holding back the last four
 * output bytes so that the 00 00 ff ff of the flush (§7.2.1) never reaches
 * the sink. buf[0..held) carries them over between rounds.
 */
static int
pmd_deflate_run(struct pmd_deflater *d, const unsigned char *in, size_t n,
    pmd_sink_fn sink, void *arg)
{
    unsigned char buf[sizeof(pmd_tail) + PMD_CHUNK];
    z_stream *zs = d->zs;
    size_t slice, held = 0, have;
    int flush, zrc;

    while (n > 0) {
        slice = n < PMD_FEED_MAX ? n : PMD_FEED_MAX;
        zs->next_in = (unsigned char *)(uintptr_t)in;
        zs->avail_in = (uInt)slice;
        in += slice;
        n -= slice;
        flush = n == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
        do {
            zs->next_out = buf + held;
            zs->avail_out = PMD_CHUNK;
            zrc = deflate(zs, flush);
            if (zrc == Z_STREAM_ERROR)
                abort();                /* our stream is never inconsistent */
            have = held + (PMD_CHUNK - zs->avail_out);
            held = have < sizeof(pmd_tail) ? have : sizeof(pmd_tail);
            if (have > held && sink(arg, buf, have - held) != 0)
                return PMD_E_SINK;
            memmove(buf, buf + have - held, held);
        } while (zs->avail_out == 0);
    }
    /* A sync flush always ends with an empty stored block. */
    if (held != sizeof(pmd_tail) || memcmp(buf, pmd_tail, held) != 0)
        abort();
    return PMD_OK;
}

static void
pmd_deflate_drop(struct pmd_deflater *d)
{
    if (d->zs != NULL) {
        deflateEnd(d->zs);
        free(d->zs);
        d->zs = NULL;
    }
}
