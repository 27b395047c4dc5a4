/*
 * RFC 6455 framing: frame headers (parse and build), payload unmasking, the
 * per-message receive rules (fragmentation, size limit, UTF-8 of text) and
 * close-frame payloads. Pure functions over caller-owned bytes and structs:
 * nothing here allocates, logs, blocks or touches a socket. Every error is a
 * wsf_status that maps to one close code (wsf_status_close_code).
 */
#ifndef WSGATE_COMMON_WSF_H
#define WSGATE_COMMON_WSF_H

#include <stddef.h>
#include <stdint.h>

#include "u8.h"

#define WSF_MAX_HDR 14           /* 2 + 8 (64-bit length) + 4 (mask key) */
#define WSF_MAX_CTRL 125         /* largest control-frame payload, §5.5 */
#define WSF_MAX_CLOSE_REASON 123 /* WSF_MAX_CTRL minus the 2-byte code */

/* Opcodes (RFC 6455 §5.2). 3-7 and 0xB-0xF are reserved. */
#define WSF_OP_CONT 0x0
#define WSF_OP_TEXT 0x1
#define WSF_OP_BINARY 0x2
#define WSF_OP_CLOSE 0x8
#define WSF_OP_PING 0x9
#define WSF_OP_PONG 0xA
#define WSF_OP_IS_CONTROL(op) (((op)&0x8) != 0)

/* RSV bits as stored in wsf_hdr.rsv (same positions as in byte 0 >> 4). */
#define WSF_RSV1 0x4
#define WSF_RSV2 0x2
#define WSF_RSV3 0x1

/* Close codes (RFC 6455 §7.4.1 and the IANA registry). */
#define WSF_CLOSE_NORMAL 1000
#define WSF_CLOSE_GOING_AWAY 1001
#define WSF_CLOSE_PROTOCOL 1002
#define WSF_CLOSE_UNSUPPORTED 1003
#define WSF_CLOSE_NO_STATUS 1005 /* never sent: "the close had no code" */
#define WSF_CLOSE_ABNORMAL 1006  /* never sent: "no close frame at all" */
#define WSF_CLOSE_INVALID_DATA 1007
#define WSF_CLOSE_POLICY 1008
#define WSF_CLOSE_TOO_BIG 1009
#define WSF_CLOSE_MANDATORY_EXT 1010
#define WSF_CLOSE_INTERNAL 1011
#define WSF_CLOSE_RESTART 1012
#define WSF_CLOSE_TRY_AGAIN 1013

/*
 * Flags for wsf_parse_hdr. WSF_F_RSV1: permessage-deflate was negotiated, so
 * RSV1 may start a data message. WSF_F_FROM_SERVER: the bytes are server
 * frames (a test client or the bench reads them), which must be unmasked
 * (§5.1); without it they are client frames, which must be masked.
 */
#define WSF_F_RSV1 0x1
#define WSF_F_FROM_SERVER 0x2

enum wsf_status {
    WSF_OK = 0,
    WSF_AGAIN,             /* need more bytes; nothing consumed */
    WSF_E_UNMASKED,        /* client frame without MASK, §5.1 */
    WSF_E_MASKED,          /* server frame with MASK (WSF_F_FROM_SERVER) */
    WSF_E_RSV,             /* RSV bit not allowed here, §5.2 / RFC 7692 */
    WSF_E_OPCODE,          /* reserved opcode */
    WSF_E_CTRL_TOO_BIG,    /* control payload > 125, §5.5 */
    WSF_E_CTRL_FRAGMENTED, /* control frame without FIN, §5.5 */
    WSF_E_LEN_MSB,         /* 64-bit length with its top bit set */
    WSF_E_LEN_NOT_MINIMAL, /* longer length form than needed, §5.2 */
    WSF_E_CONTINUATION,    /* continuation with no message open */
    WSF_E_EXPECTED_CONTINUATION, /* new data frame inside a message */
    WSF_E_TOO_BIG,               /* message longer than the limit */
    WSF_E_UTF8,                  /* invalid UTF-8 in text or close reason */
    WSF_E_CLOSE_PAYLOAD,         /* close payload of exactly 1 byte */
    WSF_E_CLOSE_CODE             /* close code that may not be sent */
};

/* A parsed frame header; filled by wsf_parse_hdr. */
struct wsf_hdr {
    uint64_t len;          /* payload length, < 2^63 */
    unsigned char key[4];  /* mask key, valid when masked */
    unsigned char fin;     /* 1 or 0 */
    unsigned char rsv;     /* WSF_RSV1 | WSF_RSV2 | WSF_RSV3 bits */
    unsigned char opcode;  /* WSF_OP_* (never a reserved one on WSF_OK) */
    unsigned char masked;  /* 1 or 0 */
    unsigned char hdr_len; /* bytes of header before the payload, 2..14 */
};

/*
 * Receive state of one connection's data messages. Caller-owned, set up by
 * wsf_rx_init; no allocation. The caller may read msg_op, compressed and
 * msg_len (the current or last data message) and must not write any field.
 */
struct wsf_rx {
    uint64_t limit;       /* largest message payload accepted */
    uint64_t msg_len;     /* payload bytes of the message so far (headers) */
    uint64_t frame_left;  /* payload bytes of this frame not yet fed */
    unsigned char msg_op; /* WSF_OP_TEXT or WSF_OP_BINARY */
    unsigned char compressed; /* RSV1 was set on the first frame */
    unsigned char in_msg;     /* a message waits for continuation frames */
    unsigned char frame_fin;  /* the current frame ends the message */
    unsigned char frame_utf8; /* wsf_rx_payload validates this frame */
    struct u8_state u8;       /* UTF-8 of the current text message */
};

/*
 * Parse the frame header at p[0..n). flags: WSF_F_RSV1 when
 * permessage-deflate was negotiated, WSF_F_FROM_SERVER to parse server
 * frames instead of client frames. Returns WSF_OK with *h filled
 * (h->hdr_len <= n), WSF_AGAIN when more bytes are needed, or an error as
 * soon as the bytes present prove one: WSF_E_OPCODE, WSF_E_RSV (RSV2/RSV3
 * ever; RSV1 without WSF_F_RSV1, or on a control or continuation frame),
 * WSF_E_CTRL_FRAGMENTED, WSF_E_UNMASKED / WSF_E_MASKED, WSF_E_CTRL_TOO_BIG,
 * WSF_E_LEN_MSB, WSF_E_LEN_NOT_MINIMAL. Never reads p[n] or beyond; on
 * anything but WSF_OK *h is unspecified. Borrows p and h.
 */
enum wsf_status wsf_parse_hdr(const unsigned char *p, size_t n,
                              struct wsf_hdr *h, unsigned flags);

/*
 * XOR p[0..n) in place with the mask key, as if p started at byte `offset`
 * of the payload (§5.3), so a payload can be unmasked in chunks. Works a
 * word at a time; p needs no alignment. Unmasking twice restores the data.
 */
void wsf_unmask(unsigned char *p, size_t n, const unsigned char key[4],
                uint64_t offset);

/*
 * Write an unmasked (server) frame header into out and return its length
 * (2, 4 or 10), using the shortest length form. opcode is a WSF_OP_*, len
 * < 2^63; a control frame needs fin and len <= 125 (asserted).
 */
size_t wsf_build_hdr(unsigned char out[WSF_MAX_HDR], unsigned opcode, int fin,
                     int rsv1, uint64_t len);

/*
 * Same with MASK set and key appended (a client frame, for test clients and
 * the bench); returns 6, 8 or 14. The caller masks the payload with
 * wsf_unmask(payload, len, key, 0).
 */
size_t wsf_build_hdr_masked(unsigned char out[WSF_MAX_HDR], unsigned opcode,
                            int fin, int rsv1, uint64_t len,
                            const unsigned char key[4]);

/*
 * Start a connection: no message open; limit is the largest message payload
 * accepted (the sum over its fragments, as sent: for a compressed message
 * the caller also bounds the inflated size), UINT64_MAX for none.
 */
void wsf_rx_init(struct wsf_rx *rx, uint64_t limit);

/*
 * Account for a frame whose header wsf_parse_hdr accepted, before its
 * payload is fed. Data frames: WSF_E_CONTINUATION for a continuation when
 * no message is open, WSF_E_EXPECTED_CONTINUATION for a text/binary frame
 * while one is, WSF_E_TOO_BIG when the message would exceed the limit, and
 * WSF_E_UTF8 when an empty final frame ends a text message inside a
 * sequence. A text/binary frame starts a message (msg_op, compressed from
 * RSV1, msg_len reset); FIN ends it, so the next data frame must start a new
 * one. Control frames may come between fragments and leave the message
 * alone. Any payload of the previous frame must have been fed (asserted if
 * it was text). After an error the state is unspecified.
 */
enum wsf_status wsf_rx_frame(struct wsf_rx *rx, const struct wsf_hdr *h);

/*
 * Feed the next n unmasked payload bytes of the current frame (n at most
 * what is left of it: asserted). For an uncompressed text message the bytes
 * go through the UTF-8 validator: WSF_E_UTF8 on the first invalid byte, and
 * also when the last byte of the final frame leaves a sequence cut short.
 * Other frames only count bytes, and feeding them is optional. Returns
 * WSF_OK otherwise. Borrows rx and p.
 */
enum wsf_status wsf_rx_payload(struct wsf_rx *rx, const unsigned char *p,
                               size_t n);

/*
 * UTF-8 check alone, on the message's validator: for a compressed text
 * message the caller feeds the inflated bytes here (wsf_rx_payload leaves
 * the validator untouched for compressed messages), with last = 1 on the
 * final call (n may be 0). Returns WSF_OK or WSF_E_UTF8. The validator is
 * reset when the next message starts, so this may be called after the
 * final frame's header and payload went through wsf_rx_frame/payload.
 */
enum wsf_status wsf_rx_text(struct wsf_rx *rx, const unsigned char *p, size_t n,
                            int last);

/*
 * Parse a close frame's (unmasked) payload. Empty: WSF_OK with *code =
 * WSF_CLOSE_NO_STATUS and an empty reason (reply with an empty close).
 * 1 byte: WSF_E_CLOSE_PAYLOAD. A code that may not appear on the wire
 * (wsf_close_code_valid): WSF_E_CLOSE_CODE. A reason that is not UTF-8:
 * WSF_E_UTF8. On WSF_OK, *reason points into payload (borrowed) and *rlen
 * is its length. Outputs are unspecified on error.
 */
enum wsf_status wsf_close_parse(const unsigned char *payload, size_t n,
                                unsigned *code, const unsigned char **reason,
                                size_t *rlen);

/*
 * 1 if code may be sent in a close frame: 1000-1003, 1007-1014 and
 * 3000-4999; 0 otherwise (< 1000, 1004-1006, 1015, 1016-2999, >= 5000).
 */
int wsf_close_code_valid(unsigned code);

/*
 * Build a close payload into out and return its length. WSF_CLOSE_NO_STATUS
 * gives the empty payload (reason ignored); any other code must be valid
 * (asserted). A reason longer than WSF_MAX_CLOSE_REASON is cut at a UTF-8
 * character boundary so the result stays valid; reason may be NULL when
 * rlen is 0.
 */
size_t wsf_close_build(unsigned char out[WSF_MAX_CTRL], unsigned code,
                       const unsigned char *reason, size_t rlen);

/*
 * Close code to send for an error: 1002 for protocol errors, 1007 for
 * WSF_E_UTF8, 1009 for WSF_E_TOO_BIG; 0 for WSF_OK and WSF_AGAIN.
 */
unsigned wsf_status_close_code(enum wsf_status st);

/* Short static name ("ok", "unmasked", "utf8", ...) for logs and counters. */
const char *wsf_status_str(enum wsf_status st);

#endif
