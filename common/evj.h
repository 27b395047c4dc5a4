/*
 * The JSON texts an EMIT log entry (msg.h: a @socket.io/redis-emitter
 * broadcast) becomes for clients: the Socket.IO event array and the /ws
 * event's "data". Pure: writes into the caller's buffer, never allocates.
 */
#ifndef WSGATE_COMMON_EVJ_H
#define WSGATE_COMMON_EVJ_H

#include <stddef.h>

struct msg_view;

/* ["<event>",<arg>...,"<offset>"] for EMIT v (offset NULL: none). Writes
 * out[0..cap) with a NUL when the returned length is < cap (the
 * encoder convention of sio.h: (NULL, 0) asks for the size). Borrows
 * all. */
size_t evj_sio_array(const struct msg_view *v, const char *offset, char *out,
    size_t cap);

/* The /ws "data" of EMIT v: null for no argument, the argument for one,
 * an array of them for several. Same convention as evj_sio_array. */
size_t evj_ws_data(const struct msg_view *v, char *out, size_t cap);

/* Append the JSON string of s[0..n) (escaped as JSON.stringify does) at
 * out + *len, advancing *len even when it does not fit cap. */
void evj_put_str(char *out, size_t cap, size_t *len, const char *s, size_t n);

#endif
