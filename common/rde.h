/*
 * Redis-emitter interop codec: what a Node backend publishes through
 * @socket.io/redis-emitter 5.1 (or a @socket.io/redis-adapter 8.3 node) on
 * Redis pub/sub, turned into wsgate's terms. Channel names, the msgpack
 * broadcast [uid, packet, opts] and the JSON requests. No Redis I/O, no
 * logging, no globals.
 *
 * Allocation: rde_broadcast and the msgpack form of rde_request allocate
 * temporarily inside msgpack-c (a zone freed before they return: 24 bytes
 * per msgpack value on 64-bit, so about 3 MiB at RDE_NODES_MAX);
 * rde_request allocates the jansson tree its result borrows from, which
 * rde_req_clear frees. Everything else borrows the caller's buffers.
 */
#ifndef WSGATE_COMMON_RDE_H
#define WSGATE_COMMON_RDE_H

#include <stddef.h>
#include <stdint.h>

struct json_t;

/* Limits. Depth counts every array and map on the way down, the outer
 * [uid, packet, opts] being 1; room lists are rooms, except, and the
 * rooms a socketsJoin/socketsLeave names. */
#define RDE_KEY_DEFAULT "socket.io" /* the emitter's and adapter's key */
#define RDE_MSG_MAX (1u << 20)      /* longest broadcast message, bytes */
#define RDE_REQ_MAX (128u << 10)    /* longest request message, bytes */
#define RDE_NODES_MAX (1u << 17)    /* msgpack values in one message */
#define RDE_DEPTH_MAX 32            /* nested arrays and maps */
#define RDE_ROOMS_MAX 100           /* entries in one room list */
#define RDE_ATTACH_MAX 256          /* binary values in one broadcast */
#define RDE_NSP_MAX 256             /* longest namespace, with the '/' */

/* A json buffer of RDE_JSON_CAP(n) bytes always holds the payload of an
 * n-byte message (at most 6 output bytes per input byte, plus the
 * placeholders), so rde_broadcast never returns RDE_E_SPACE with it. */
#define RDE_JSON_CAP(n) (6 * (size_t)(n) + 40 * (size_t)RDE_ATTACH_MAX + 8)

/* Broadcast flags (opts.flags), read the way socket.io reads them. */
#define RDE_F_VOLATILE 0x1    /* flags.volatile is truthy */
#define RDE_F_NO_COMPRESS 0x2 /* flags.compress === false */
#define RDE_F_LOCAL 0x4       /* flags.local is truthy */

enum rde_status {
    RDE_OK = 0,
    RDE_IGNORED,   /* rde_request: a well-formed serverSideEmit (type 6),
                      addressed to Socket.IO servers, not to clients:
                      nothing for wsgate to do (out->type and, if sent,
                      out->uid and out->request_id are set) */
    RDE_E_CHANNEL, /* channel not under the key, or malformed */
    RDE_E_SIZE,    /* message over RDE_MSG_MAX / RDE_REQ_MAX bytes, over
                      RDE_NODES_MAX values, or a list over RDE_ROOMS_MAX */
    RDE_E_DEPTH,   /* arrays/maps nested deeper than RDE_DEPTH_MAX */
    RDE_E_MSGPACK, /* not exactly one msgpack value: truncated, reserved
                      byte 0xc1, or trailing bytes */
    RDE_E_JSON,    /* request starting with '{' that is not a JSON object
                      (invalid JSON or UTF-8) */
    RDE_E_SHAPE,   /* valid msgpack/JSON of the wrong shape: not
                      [uid:str, packet:map, opts:map], packet.data, rooms
                      or except not an array, flags not a map; a request
                      type missing or not an integer, request opts not an
                      object, close not a bool */
    RDE_E_PTYPE,   /* packet.type missing or not 2 (EVENT) / 5
                      (BINARY_EVENT) */
    RDE_E_ACK,     /* an acknowledgement is requested: packet.id set, or
                      a BROADCAST request (type 7, msgpack) */
    RDE_E_EVENT,   /* packet.data empty, data[0] not a string, or a
                      reserved event name ("connect", "disconnect", ...) */
    RDE_E_NSP,     /* namespace not '/'-led, over RDE_NSP_MAX, holding
                      ',' or control bytes, or not UTF-8 (also nil) */
    RDE_E_ROOM,    /* a room (rooms, except, channel, join/leave list)
                      that is not a string or fails msg_room_valid */
    RDE_E_UTF8,    /* a msgpack string that is not valid UTF-8 */
    RDE_E_VALUE,   /* a value with no JSON form: a map key that is not a
                      string, an ext type notepack does not produce, or an
                      object {"_placeholder": true} in a message that also
                      carries binary (the client could not tell them apart) */
    RDE_E_ATTACH,  /* more than RDE_ATTACH_MAX binary values */
    RDE_E_SPACE,   /* the JSON (and its NUL) does not fit the buffer */
    RDE_E_REQTYPE, /* a request wsgate does not serve: any type but 2,
                      3, 4 and 6 (a msgpack 7 is RDE_E_ACK), or the
                      per-socket form of 2/3/4 ({sid, room}, no opts, which
                      waits for a reply); out->type says which type (-1:
                      not an int) */
    RDE_E_NOMEM,   /* msgpack-c or jansson could not allocate */
};

enum rde_chan_kind {
    RDE_CH_BROADCAST = 1, /* <key>#<nsp># or <key>#<nsp>#<room># */
    RDE_CH_REQUEST = 2,   /* <key>-request#<nsp># */
};

/* Request types on the request channel (redis-adapter RequestType). */
enum rde_req_type {
    RDE_REQ_SOCKETS = 0,
    RDE_REQ_ALL_ROOMS = 1,
    RDE_REQ_REMOTE_JOIN = 2,
    RDE_REQ_REMOTE_LEAVE = 3,
    RDE_REQ_REMOTE_DISCONNECT = 4,
    RDE_REQ_REMOTE_FETCH = 5,
    RDE_REQ_SERVER_SIDE_EMIT = 6,
    RDE_REQ_BROADCAST = 7,
    RDE_REQ_BROADCAST_CLIENT_COUNT = 8,
    RDE_REQ_BROADCAST_ACK = 9,
};

struct rde_str {
    const char *p; /* not NUL-terminated; NULL when n == 0 and absent */
    size_t n;
};

struct rde_bin {
    const unsigned char *p;
    size_t n;
};

struct rde_chan {
    enum rde_chan_kind kind;
    struct rde_str nsp;  /* borrows the channel name */
    struct rde_str room; /* the single targeted room; n == 0: none */
};

/*
 * A decoded broadcast. Strings and attachments borrow the message; the
 * payload is in the caller's json buffer.
 *
 * json[0..json_len) is the Socket.IO EVENT/BINARY_EVENT payload, an array
 * ["<event>", arg1, ...] in compact JSON, NUL-terminated: what
 * sio_encode(..., json, json_len, nattach) sends, as type BINARY_EVENT
 * when nattach > 0. json[args_off..args_off + args_len) is the arguments
 * alone, comma-separated without brackets (empty when nargs == 0; for a
 * one-argument emit, exactly that argument's JSON).
 *
 * Values come out as a Node receiver (notepack.io decode, then
 * socket.io-parser) would send them: nil and notepack 2.x undefined as
 * null (an undefined map value drops its key); numbers as JavaScript's
 * Number#toString writes them, integers beyond 2^53 rounded to a double
 * as notepack does; NaN and infinities as null; timestamps (ext -1) and
 * notepack 2.x dates (fixext8 type 0) as Date#toJSON strings (null when
 * out of range); bin and notepack 2.x ArrayBuffers (ext type 0) replaced
 * by {"_placeholder":true,"num":N}, numbered in document order, with
 * attach[N] the bytes. Map keys keep the message's order and duplicates
 * (JSON.parse on the client makes the same object of them).
 */
struct rde_bcast {
    struct rde_str uid;   /* "emitter", or the sending adapter's uid */
    struct rde_str nsp;   /* packet.nsp; a static "/" when absent */
    struct rde_str event; /* data[0], raw UTF-8 (also escaped in json) */
    int type;             /* packet.type as sent: 2 or 5 */
    size_t json_len;
    size_t args_off, args_len;
    size_t nargs;
    size_t nattach;
    struct rde_bin attach[RDE_ATTACH_MAX];
    size_t nrooms; /* 0: every socket of the namespace */
    struct rde_str rooms[RDE_ROOMS_MAX];
    size_t nexcept;
    struct rde_str except[RDE_ROOMS_MAX]; /* rooms (or socket ids) left out */
    unsigned flags;                       /* RDE_F_* */
};

/*
 * A decoded request. Strings borrow json, which rde_req_clear frees.
 * REMOTE_JOIN / REMOTE_LEAVE: the sockets matching rooms/except (nrooms
 * 0: every socket of the namespace) join / leave target[0..ntarget).
 * REMOTE_DISCONNECT: the matching sockets disconnect; close asks for the
 * underlying transport to be closed too.
 */
struct rde_req {
    int type;                  /* enum rde_req_type, or -1 when unknown */
    struct rde_str uid;        /* absent in the emitter's forms but type 6 */
    struct rde_str request_id; /* present: the sender waits for replies */
    size_t nrooms;
    struct rde_str rooms[RDE_ROOMS_MAX]; /* opts.rooms */
    size_t nexcept;
    struct rde_str except[RDE_ROOMS_MAX]; /* opts.except */
    size_t ntarget;
    struct rde_str target[RDE_ROOMS_MAX]; /* the rooms to join or leave */
    int close;                            /* REMOTE_DISCONNECT */
    struct json_t *json;                  /* owner of the strings */
};

/*
 * Parse the pub/sub channel ch[0..n) under key (NUL-terminated; NULL for
 * RDE_KEY_DEFAULT). Broadcast: "<key>#<nsp>#" or "<key>#<nsp>#<room>#",
 * where the namespace runs to the first '#' after it (a namespace holding
 * '#' is not supported) and the room is everything up to the final '#'.
 * Request: "<key>-request#<nsp>#". The room in a channel name is only the
 * emitter's routing hint for single-room emits; the message's opts.rooms
 * is authoritative. Returns RDE_OK, RDE_E_CHANNEL, RDE_E_NSP or
 * RDE_E_ROOM. Borrows ch (out points into it); never allocates.
 */
enum rde_status rde_channel(const char *key, const char *ch, size_t n,
                            struct rde_chan *out);

/*
 * Decode the broadcast message p[0..n) (notepack.io 3.x msgpack, notepack
 * 2.x extensions tolerated):
 *   [uid, {type: 2|5, data: [event, ...args], nsp?, id?},
 *    {rooms?: [str...], except?: [str...], flags?: {...}}]
 * Map keys are found by name in any order (the emitter writes rooms,
 * flags, except; the adapter rooms, except, flags); unknown keys are
 * ignored; an absent or nil rooms/except is empty. The packet's nsp is
 * not compared with the channel's: that is the caller's. The JSON goes
 * to json[0..cap) (see struct rde_bcast). Returns RDE_OK with *out
 * filled, or an error with *out unspecified. Borrows p (out points into
 * it) and json; allocates only temporarily (msgpack-c zone).
 */
enum rde_status rde_broadcast(const unsigned char *p, size_t n, char *json,
                              size_t cap, struct rde_bcast *out);

/*
 * Decode the request message p[0..n) from the request channel. A message
 * starting with '{' is JSON (every emitter request, and the adapter's
 * JSON ones); anything else is the adapter's msgpack map, of which only
 * the type is read: BROADCAST (7) gives RDE_E_ACK, the rest
 * RDE_E_REQTYPE. Per type:
 *   2, 3  {type, opts: {rooms?, except?}, rooms: [str...], uid?}
 *   4     {type, opts: {rooms?, except?}, close?: bool, uid?}
 *   6     {type, uid?, requestId?, data}: RDE_IGNORED
 *   other RDE_E_REQTYPE
 * Returns RDE_OK or RDE_IGNORED with *out filled and out->json owning its
 * strings (call rde_req_clear), or an error with out->json NULL, the
 * strings empty and out->type set if it was read (else -1). Borrows p;
 * allocates the jansson tree kept in out->json.
 */
enum rde_status rde_request(const unsigned char *p, size_t n,
                            struct rde_req *out);

/* Free out->json and empty the strings. Accepts NULL and a cleared
 * request. */
void rde_req_clear(struct rde_req *out);

/* Static name of a status, for logs and tests. */
const char *rde_status_str(enum rde_status st);

#endif
