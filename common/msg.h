/*
 * Message-log entry payloads: the binary form in which the master writes a
 * publish, a disconnect-user or a broadcast into the shared log, and the
 * view workers decode it into. Shared memory is input: the decoder checks
 * every length.
 */
#ifndef WSGATE_COMMON_MSG_H
#define WSGATE_COMMON_MSG_H

#include <stddef.h>
#include <stdint.h>

#define MSG_MAX_TARGETS 100
#define MSG_ROOM_MAX 200   /* longest room name, bytes */
#define MSG_ATTACH_MAX 256 /* binary attachments of one EMIT */
#define MSG_NSP_MAX 256    /* longest namespace, bytes, with the '/' */

enum msg_kind {
    MSG_PUBLISH = 1,
    MSG_DISCONNECT_USER = 2,
    MSG_BROADCAST = 3,
    MSG_EMIT = 4,       /* a @socket.io/redis-emitter broadcast */
    MSG_EMIT_KICK = 5,  /* its disconnectSockets */
};

enum msg_target {
    MSG_T_ALL = 0,   /* everyone */
    MSG_T_ROOMS = 1, /* members of any listed room, once each */
    MSG_T_USER = 2,  /* every connection of one user */
};

struct msg_str {
    const char *p; /* borrowed from the entry; not NUL-terminated */
    size_t n;
};

/* Decoded entry; every string borrows the buffer given to msg_decode.
 * EMIT and EMIT_KICK target MSG_T_ALL (every socket of the namespace) or
 * MSG_T_ROOMS (a socket in any of them, once), minus the sockets in any
 * except room, and only sockets of namespace nsp (/ws clients are in
 * "/"). An EMIT's data is its arguments as JSON values separated by
 * commas, without brackets (empty when nargs is 0); binary arguments are
 * {"_placeholder":true,"num":N} there, with attach[N] their bytes. */
struct msg_view {
    enum msg_kind kind;
    enum msg_target target;
    size_t ntargets;
    struct msg_str targets[MSG_MAX_TARGETS]; /* rooms, or the user */
    struct msg_str event;                    /* PUBLISH, EMIT */
    struct msg_str data;                     /* PUBLISH, BROADCAST: JSON */
    struct msg_str user, reason;             /* DISCONNECT_USER */
    size_t nexcept;                          /* EMIT, EMIT_KICK */
    struct msg_str except[MSG_MAX_TARGETS];
    struct msg_str nsp;
    size_t nargs;                            /* EMIT */
    size_t nattach;
    struct msg_str attach[MSG_ATTACH_MAX];
    int close;                               /* EMIT_KICK */
};

/* What msg_encode_emit and msg_encode_emit_kick write (borrowed). */
struct msg_emit {
    enum msg_target target; /* MSG_T_ALL or MSG_T_ROOMS */
    const struct msg_str *rooms, *except;
    size_t nrooms, nexcept;
    struct msg_str nsp;
    struct msg_str event, args; /* EMIT */
    size_t nargs;
    const struct msg_str *attach;
    size_t nattach;
    int close;                  /* EMIT_KICK */
};

enum msg_status {
    MSG_OK = 0,
    MSG_E_SHORT, /* truncated */
    MSG_E_KIND,  /* unknown kind or target */
    MSG_E_COUNT, /* too many targets, or trailing bytes */
};

/* Encoders write into out[0..cap) and return the length, or 0 if it does
 * not fit (or a count is out of range). Strings are copied. */
size_t msg_encode_publish(unsigned char *out, size_t cap,
    enum msg_target target, const struct msg_str *targets, size_t n,
    struct msg_str event, struct msg_str data);
size_t msg_encode_disconnect(unsigned char *out, size_t cap,
    struct msg_str user, struct msg_str reason);
size_t msg_encode_broadcast(unsigned char *out, size_t cap,
    struct msg_str data);

/* EMIT: u8 target, rooms, except, nsp, event, u16 nargs, u32 args,
 * u16 nattach, nattach x (u32 len, bytes). EMIT_KICK: u8 target, rooms,
 * except, nsp, u8 close. Room lists are u16 count, count x (u16 len,
 * bytes). 0 when a count or length is out of range or cap too small. */
size_t msg_encode_emit(unsigned char *out, size_t cap,
    const struct msg_emit *e);
size_t msg_encode_emit_kick(unsigned char *out, size_t cap,
    const struct msg_emit *e);

/* 1 if name[0..len) is a valid room name: 1-MSG_ROOM_MAX bytes of
 * printable ASCII (0x21-0x7e) or valid UTF-8 above 0x7f; no spaces or
 * control characters. */
int msg_room_valid(const char *name, size_t len);

/* Decode p[0..n) into v (borrowing p). */
enum msg_status msg_decode(const unsigned char *p, size_t n,
    struct msg_view *v);

#endif
