/*
 * The recovery channel's messages: what a worker sends the master, one
 * SOCK_SEQPACKET datagram each, to put, hold or drop a session of the
 * recoverable-session table (shm/sess.h). Pure encoders and a decoder
 * over buffers; the sockets are worker/rcv.c's and master/stor.c's.
 */
#ifndef WSGATE_SHM_SMSG_H
#define WSGATE_SHM_SMSG_H

#include <stddef.h>
#include <stdint.h>

#include "shm/sess.h"

enum smsg_status {
    SMSG_OK = 0,
    SMSG_E_INVAL, /* truncated, a length out of bounds, a stray NUL */
};

/*
 * Channel messages, worker to master: one datagram each, little-endian,
 * only the bytes in use:
 *   0  type      1 byte: SMSG_PUT, SMSG_HOLD, SMSG_DROP, SMSG_FETCH (and,
 *                master to worker, SMSG_FETCHED)
 *   1  pid_len   1 byte, 1..SESS_ID_LEN
 *   2  tag       8 bytes
 *  10  pid       pid_len bytes
 * PUT goes on with
 *      stamp     8 bytes (CLOCK_MONOTONIC ns when the worker sent it)
 *      sid_len   1 byte, 1..SESS_ID_LEN
 *      nsp_len   1 byte, 0..SESS_NSP_MAX
 *      user_len  1 byte, 0..SESS_USER_MAX
 *      rooms_len 2 bytes, 0..SESS_ROOMS_BYTES
 *      sid, nsp, user, rooms (room names, each followed by a NUL)
 * No string holds a NUL byte (the rooms separators aside). The sender is
 * the owner: the master knows it by the channel.
 */
enum smsg_type {
    SMSG_PUT = 1,
    SMSG_HOLD = 2,
    SMSG_DROP = 3,
    /* Cluster mode: a worker asks its master to bring pid's session from
     * Redis into the table (tag 0), and the master answers, master to
     * worker, when it has (or could not: the table then has what it had). */
    SMSG_FETCH = 4,
    SMSG_FETCHED = 5,
};

/* Largest datagram: a PUT with every field at its bound (2429 bytes). */
#define SMSG_MAX (10 + SESS_ID_LEN + 13 + SESS_ID_LEN + SESS_NSP_MAX \
    + SESS_USER_MAX + SESS_ROOMS_BYTES)

/* Encode a PUT into buf (cap bytes; SMSG_MAX always suffices). Room i
 * is rooms[i][0..room_lens[i]); user may be NULL (none). Borrows all.
 * Returns the length, or 0 when a length or byte is out of bounds (then
 * nothing of it can be stored) or cap is too small. */
size_t smsg_put(unsigned char *buf, size_t cap, uint64_t tag,
    uint64_t stamp, const char *pid, const char *sid, const char *nsp,
    const char *user, const char *const *rooms, const size_t *room_lens,
    size_t nrooms);

/* Encode a HOLD, DROP, FETCH or FETCHED (type). Returns the length or
 * 0. */
size_t smsg_end(unsigned char *buf, size_t cap, int type, uint64_t tag,
    const char *pid);

/* Decode one datagram of n bytes: *type, and out's pid, tag, and for a
 * PUT stamp, sid, nsp, user, rooms (owner, state, until_ms zeroed). Never
 * reads beyond n. SMSG_OK or SMSG_E_INVAL. */
int smsg_decode(const unsigned char *b, size_t n, int *type,
    struct sess_rec *out);

#endif
