/*
 * wsbench --deflate: permessage-deflate (RFC 7692) on the subscriber side,
 * and --payload-json, the realistic message body to compress. Each
 * connection offers what Chromium offers; a server that answers without
 * server_no_context_takeover fails the connection (the bench keeps no
 * inflate stream per connection), one that answers nothing runs plain.
 * Compressed text frames are inflated with one raw inflate stream per
 * process, reset per message, into one buffer; bytes on the wire and
 * after inflating are counted in the process's result.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "wsb.h"

#define WSB_PMD_OUT (1u << 20) /* largest inflated message read */

static const unsigned char wsb_pmd_tail[4] = {0x00, 0x00, 0xff, 0xff};

/*
 * The --payload-json body: it closes the "p" string the publisher opens,
 * adds the members of a CRM lead update (about 380 bytes of JSON), and
 * opens "q" for the publisher's closing quote, so the data object is
 * {"t":T,"s":S,"r":R,"p":"","lead":{...},...,"q":""}.
 */
static const char wsb_pmd_json_pad[] =
    "\",\"type\":\"lead.updated\",\"lead\":{\"id\":48217,"
    "\"name\":\"Lead number 7\",\"email\":\"lead7@example.com\","
    "\"phone\":\"+1-555-0107\",\"status\":\"qualified\","
    "\"owner\":{\"id\":17,\"name\":\"Dana Whitfield\"},"
    "\"tags\":[\"inbound\",\"webinar\",\"q4\"],\"score\":62},"
    "\"changes\":[{\"field\":\"status\",\"from\":\"new\","
    "\"to\":\"contacted\"},{\"field\":\"score\",\"from\":47,\"to\":62}],"
    "\"source\":\"web form / pricing page\","
    "\"updated_at\":\"2026-12-07T20:07:00Z\",\"q\":\"";

static struct {
    z_stream zs;
    int init;
    unsigned char out[WSB_PMD_OUT];
} P;

const char *
wsb_pmd_offer(void)
{
    return "Sec-WebSocket-Extensions: permessage-deflate; "
           "client_max_window_bits\r\n";
}

int
wsb_pmd_agreed(const char *head)
{
    static const char name[] = "\r\nSec-WebSocket-Extensions:";
    const char *p = head, *e;
    char v[256];
    size_t n;

    for (; (p = strchr(p, '\r')) != NULL; p++)
        if (strncasecmp(p, name, sizeof(name) - 1) == 0)
            break;
    if (p == NULL)
        return 0;
    p += sizeof(name) - 1;
    e = strchr(p, '\r');
    n = e ? (size_t)(e - p) : strlen(p);
    if (n >= sizeof(v))
        return -1;
    memcpy(v, p, n);
    v[n] = '\0';
    if (strstr(v, "permessage-deflate") == NULL)
        return 0;
    return strstr(v, "server_no_context_takeover") ? 1 : -1;
}

const unsigned char *
wsb_pmd_inflate(struct wsb_sub_result *r, const unsigned char *in, size_t n,
                size_t *outlen)
{
    z_stream *zs = &P.zs;
    int rc;

    if (!P.init) {
        if (inflateInit2(zs, -15) != Z_OK)
            return NULL;
        P.init = 1;
    } else if (inflateReset(zs) != Z_OK) {
        return NULL;
    }
    zs->next_out = P.out;
    zs->avail_out = WSB_PMD_OUT;
    for (int i = 0; i < 2; i++) {
        /* the message, then the tail the sender removed (§7.2.2) */
        zs->next_in = (unsigned char *)(uintptr_t)(i ? wsb_pmd_tail : in);
        zs->avail_in = (uInt)(i ? sizeof(wsb_pmd_tail) : n);
        rc = inflate(zs, Z_SYNC_FLUSH);
        if ((rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END)
            || zs->avail_out == 0)
            return NULL;
        if (rc == Z_STREAM_END)
            break;
    }
    *outlen = WSB_PMD_OUT - zs->avail_out;
    r->pmd_frames++;
    r->pmd_bytes += n;
    r->pmd_inflated += *outlen;
    return P.out;
}

void
wsb_pmd_sum(struct wsb_sub_result *sum, const struct wsb_sub_result *r)
{
    sum->pmd_frames += r->pmd_frames;
    sum->pmd_bytes += r->pmd_bytes;
    sum->pmd_inflated += r->pmd_inflated;
}

void
wsb_pmd_json(FILE *f, const struct wsb_opts *o,
             const struct wsb_sub_result *s)
{
    fprintf(f, ",\"bytes_in\":%llu,\"wire_b_per_delivery\":%.1f,"
               "\"deflate\":%s,\"payload_json\":%s,"
               "\"payload_b\":%u,\"pmd_frames\":%llu,\"pmd_bytes\":%llu,"
               "\"pmd_inflated\":%llu",
            (unsigned long long)s->bytes_in,
            s->received ? (double)s->bytes_in / (double)s->received : 0,
            o->deflate ? "true" : "false",
            o->payload_json ? "true" : "false", o->payload,
            (unsigned long long)s->pmd_frames,
            (unsigned long long)s->pmd_bytes,
            (unsigned long long)s->pmd_inflated);
}

unsigned
wsb_pad_json_len(void)
{
    return (unsigned)(sizeof(wsb_pmd_json_pad) - 1);
}

void
wsb_pad_fill(char *pad, const struct wsb_opts *o)
{
    if (o->payload_json)
        memcpy(pad, wsb_pmd_json_pad, o->payload);
    else
        memset(pad, 'x', o->payload);
    pad[o->payload] = '\0';
}
