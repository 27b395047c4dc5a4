/*
 * RFC 7692 permessage-deflate: negotiation of the Sec-WebSocket-Extensions
 * offer, bounded inflation of inbound messages and compression of outbound
 * ones (per connection with context takeover, or once per message for every
 * recipient without it). Pure functions over buffers; no libevent, no logging.
 */
#ifndef WSGATE_COMMON_PMD_H
#define WSGATE_COMMON_PMD_H

#include <stddef.h>
#include <stdint.h>

/*
 * Results. PMD_E_* values map one-to-one to a WebSocket close code through
 * pmd_status_close_code().
 */
enum pmd_status {
    PMD_OK = 0,    /* negotiated / message complete / message compressed */
    PMD_AGAIN,     /* inflate: frame consumed, message not finished yet */
    PMD_NONE,      /* negotiate: no acceptable offer, run uncompressed */
    PMD_E_TOO_BIG, /* inflated message exceeds max_out (1009) */
    PMD_E_DATA,    /* corrupt or truncated deflate data (1002) */
    PMD_E_NOMEM,   /* zlib or malloc could not allocate (1011) */
    PMD_E_SINK,    /* the sink callback returned non-zero (1011) */
    PMD_E_PARAM    /* invalid window bits or level from the caller (1011) */
};

/* Room for the longest response pmd_negotiate() writes (129 with NUL). */
#define PMD_RESP_MAX 160

/*
 * The server's preferences. pmd_policy_init() fills the defaults; out of
 * range values are clamped by pmd_negotiate().
 */
struct pmd_policy {
    int enabled;   /* 0: pmd_negotiate() always answers PMD_NONE (default 1) */
    /*
     * Always answer server_no_context_takeover (default 1), so that one
     * message compressed with pmd_deflate_once() can be shared by every
     * recipient with the same server_max_window_bits, and no connection keeps
     * a deflate stream between messages.
     */
    int server_no_context_takeover;
    /*
     * Always answer client_no_context_takeover (default 1): the inflate
     * stream of a connection is freed after each message instead of keeping
     * about 40 KiB for a connection that has sent one compressed message.
     */
    int client_no_context_takeover;
    /*
     * Largest window the server's deflater uses, 9-15 (default 15). zlib's
     * raw deflate cannot use 8 (zlib >= 1.2.9 refuses it, older ones silently
     * use 9), so an offer demanding server_max_window_bits=8 is declined.
     * A persistent deflater costs about (4 << bits) + 14 KiB.
     */
    int server_max_window_bits;
    /*
     * Largest window the server asks the client to use, 8-15 (default 15).
     * Only sent when the offer carries client_max_window_bits (RFC 7692
     * §7.1.2.2); the inflater allocates 1 << max(bits, 9) bytes of window.
     */
    int client_max_window_bits;
};

/*
 * What was agreed for one connection: 4 bytes, kept in the connection.
 * "server" values drive the deflater, "client" values the inflater.
 */
struct pmd_params {
    uint8_t server_no_context_takeover;
    uint8_t client_no_context_takeover;
    uint8_t server_max_window_bits; /* 9-15 */
    uint8_t client_max_window_bits; /* 8-15 */
};

/*
 * Output callback used by inflate and deflate: receives p[0..n) (borrowed,
 * valid only during the call; n > 0) and returns 0, or non-zero to stop the
 * operation with PMD_E_SINK. It must not call back into the same stream.
 */
typedef int (*pmd_sink_fn)(void *arg, const unsigned char *p, size_t n);

struct pmd_inflater;
struct pmd_deflater;

/* Fill *p (borrowed) with the defaults described in struct pmd_policy. */
void
pmd_policy_init(struct pmd_policy *p);

/*
 * Negotiate permessage-deflate (RFC 7692 §5, §7.1) from the request header
 * value offer[0..len) (borrowed; need not be NUL-terminated). Several
 * Sec-WebSocket-Extensions lines are one list: join them with ", ", or call
 * once per line in order until PMD_OK.
 * Takes the first permessage-deflate offer that is acceptable: an offer with
 * an unknown or duplicated parameter, an invalid value, a syntax error or
 * server_max_window_bits=8 is skipped. Other extensions are ignored.
 * On PMD_OK fills *out and writes the response header value, NUL-terminated,
 * into resp[0..resp_size) (both borrowed); resp_size should be at least
 * PMD_RESP_MAX. Returns PMD_NONE when nothing is acceptable, compression is
 * disabled by policy, or the response does not fit; *out and resp are then
 * unspecified and the connection proceeds uncompressed. Never fails on input.
 */
int
pmd_negotiate(const char *offer, size_t len, const struct pmd_policy *policy,
    struct pmd_params *out, char *resp, size_t resp_size);

/*
 * Inflater for the client's messages under params *p (borrowed, copied).
 * Returns new (caller frees with pmd_inflater_free), or NULL when out of
 * memory. The object is small (no zlib state): the zlib stream and its window
 * are allocated at the first compressed frame, and freed again at the end of
 * each message when client_no_context_takeover was agreed. The caller may
 * still create the inflater only when the first compressed message arrives.
 */
struct pmd_inflater *
pmd_inflater_new(const struct pmd_params *p);

/* Free inf and its zlib stream. Takes inf; accepts NULL. */
void
pmd_inflater_free(struct pmd_inflater *inf);

/*
 * Inflate in[0..n) (borrowed), the next piece of the payload of one
 * compressed message (typically one frame; any split is fine). final != 0
 * marks the last piece: the 00 00 ff ff tail is appended (RFC 7692 §7.2.2)
 * and the message must then end on a block boundary. Output goes to sink(arg,
 * ...) in chunks of at most 16 KiB as it is produced.
 * max_out bounds the whole message: the sink never receives more than max_out
 * bytes in total, and inflation stops one byte past the bound, so a
 * compression bomb costs no memory. Returns PMD_AGAIN (more pieces expected),
 * PMD_OK (message complete, final != 0), or PMD_E_TOO_BIG, PMD_E_DATA,
 * PMD_E_NOMEM, PMD_E_SINK. After an error the message is abandoned and the
 * inflater's context dropped: the caller should close the connection with
 * pmd_status_close_code(). Does not block; calls only sink.
 */
int
pmd_inflate(struct pmd_inflater *inf, const unsigned char *in, size_t n,
    int final, pmd_sink_fn sink, void *arg, size_t max_out);

/*
 * Deflater for the server's messages under params *p (borrowed, copied) at
 * zlib level (-1 for zlib's default, 0-9). Returns new (caller frees with
 * pmd_deflater_free), or NULL when out of memory or level is invalid. Like
 * the inflater it holds no zlib state until the first message, and with
 * server_no_context_takeover it frees the stream after each message
 * (window and memLevel sized to each message, see pmd_deflate_once()); with
 * context takeover the stream stays (memLevel 4, about
 * (4 << server_max_window_bits) + 14 KiB).
 */
struct pmd_deflater *
pmd_deflater_new(const struct pmd_params *p, int level);

/* Free d and its zlib stream. Takes d; accepts NULL. */
void
pmd_deflater_free(struct pmd_deflater *d);

/*
 * Compress the whole message in[0..n) (borrowed; n may be 0) and pass the
 * payload, with the trailing 00 00 ff ff removed (RFC 7692 §7.2.1), to
 * sink(arg, ...) in one or more chunks. The caller sets RSV1 on the first
 * frame. An empty message becomes the single byte 00 (§7.2.3.6). Returns
 * PMD_OK, PMD_E_NOMEM or PMD_E_SINK; after an error the context is dropped and
 * the peer can no longer decode this connection's later messages, so close.
 * Does not block; calls only sink.
 */
int
pmd_deflate_message(struct pmd_deflater *d, const unsigned char *in, size_t n,
    pmd_sink_fn sink, void *arg);

/*
 * Compress in[0..n) (borrowed) as one message without context takeover,
 * with a window of at most window_bits (9-15) and level -1 or 0-9, into
 * sink(arg, ...) like pmd_deflate_message(). The window actually used is
 * pmd_once_window_bits(n, window_bits): the result can be sent to every
 * connection that agreed server_no_context_takeover and a
 * server_max_window_bits of at least that. Allocates and frees a zlib
 * stream sized to the message (about 15 KiB for 400 bytes, 262 KiB from
 * 32 KiB up) per call; a deflater with server_no_context_takeover does the
 * same per message. Returns PMD_OK, PMD_E_PARAM, PMD_E_NOMEM or PMD_E_SINK.
 */
int
pmd_deflate_once(const unsigned char *in, size_t n, int window_bits,
    int level, pmd_sink_fn sink, void *arg);

/*
 * The deflate window (9 to max_bits, clamped to 9-15) used for a message of
 * n bytes compressed without context takeover: the smallest that lets
 * every byte refer back to the message's first, so no match is lost to a
 * smaller window. Pure.
 */
int
pmd_once_window_bits(size_t n, int max_bits);

/*
 * WebSocket close code for a status: 0 for PMD_OK, PMD_AGAIN and PMD_NONE;
 * 1009 (message too big) for PMD_E_TOO_BIG; 1002 (protocol error) for
 * PMD_E_DATA, since RFC 7692 §8 makes undecodable data a failure of the
 * extension's framing rather than of the message's content (1007); 1011
 * (internal error) for PMD_E_NOMEM, PMD_E_SINK and PMD_E_PARAM.
 */
int
pmd_status_close_code(int status);

/* Static text naming a status, for logs; never NULL. */
const char *
pmd_status_str(int status);

#endif
