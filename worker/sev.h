/*
 * Socket.IO encoding of message-log entries: what a client of a
 * namespace receives for a publish or an emitter broadcast, as Engine.IO
 * messages ("42..." or "45<n>-..." and its binary attachments). skt.c
 * delivers them; the fan-out's blocks use sev_append.
 */
#ifndef WSGATE_WORKER_SEV_H
#define WSGATE_WORKER_SEV_H

#include <stddef.h>

struct fan_msg;
struct ws_batch;

/* "4" + the EVENT (or BINARY_EVENT) packet of m for namespace nsp, with
 * m's seq as the trailing offset argument: a new string (caller frees)
 * of length *len, or NULL (out of memory, or nothing encodable). */
char *sev_text(const struct fan_msg *m, const char *nsp, size_t *len);

/* A new batch (caller unrefs) holding sev_text and then, for an EMIT
 * with binary arguments, each attachment as a binary message; NULL when
 * out of memory. */
struct ws_batch *sev_frames(const struct fan_msg *m, const char *nsp);

/* The messages of sev_frames appended to b (borrowed): 0, or -1 when
 * out of memory (b may then hold some of them). */
int sev_append(struct ws_batch *b, const struct fan_msg *m, const char *nsp);

#endif
