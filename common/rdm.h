/*
 * What a message on the Socket.IO Redis channels becomes in wsgate: the
 * message-log entry (msg.h EMIT or EMIT_KICK) the master forwards into
 * the cluster stream, or the reason it forwards nothing. Decoding is
 * rde.h's; this is the mapping and the encoding. Pure: allocates only
 * temporarily (rde_broadcast's JSON buffer and view), never logs.
 */
#ifndef WSGATE_COMMON_RDM_H
#define WSGATE_COMMON_RDM_H

#include <stddef.h>

#include "rde.h"

enum rdm_result {
    RDM_FORWARD = 0,  /* out[0..len) is a log entry to forward */
    RDM_IGNORE,       /* nothing for clients: serverSideEmit, or a
                         broadcast flagged local (one server's own) */
    RDM_UNSUPPORTED,  /* well formed, but wsgate cannot act on it:
                         socketsJoin/socketsLeave, requests that wait for
                         a reply, acknowledgements */
    RDM_BAD,          /* malformed, oversized, or no entry fits cap */
};

struct rdm_out {
    size_t len;          /* RDM_FORWARD: entry length */
    enum rde_status why; /* the decoder's status (RDE_E_SIZE when the
                            entry does not fit cap) */
    int req_type;        /* request channel: the request type, else -1 */
};

/*
 * Map the message p[0..n) received on channel ch[0..chn) under key (NULL:
 * "socket.io"). A broadcast becomes an EMIT of its packet's namespace (a
 * packet whose namespace is not the channel's is RDM_BAD, RDE_E_NSP: the
 * servers of that channel ignore it); REMOTE_DISCONNECT (disconnectSockets)
 * an EMIT_KICK of the channel's namespace. Writes the entry into
 * out[0..cap). Borrows everything.
 */
enum rdm_result rdm_message(const char *key, const char *ch, size_t chn,
    const unsigned char *p, size_t n, unsigned char *out, size_t cap,
    struct rdm_out *o);

/* Static name of a result, for logs. */
const char *rdm_result_str(enum rdm_result r);

#endif
