/*
 * Socket.IO connection state recovery on the model side: a session's
 * private id (pid), its saved state in the master's session store (rcv.h:
 * user, namespace, sid, rooms), the checks a reconnect with {pid, offset}
 * must pass, the rooms it gets back and the replay of what it missed.
 * The protocol (skt.c) owns the wire: the CONNECT reply and when it goes.
 */
#ifndef WSGATE_WORKER_CSR_H
#define WSGATE_WORKER_CSR_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/eio.h"

struct cli;

/* A namespace connection's recovery identity. */
struct csr_id {
    uint64_t tag;                 /* this connection in the store */
    char pid[EIO_SID_LEN + 1];    /* "" when recovery is off */
};

enum csr_status {
    CSR_OK = 0,     /* restored: rooms joined, *sid and *off set */
    CSR_WAIT,       /* the client saw entries this worker has not read:
                       call csr_restore again once it has (*off) */
    CSR_NONE,       /* nothing to recover, or refused: a fresh session */
    CSR_FETCH,      /* cluster: the session is being brought from Redis:
                       call csr_restore again with CSR_PH_FETCHED once
                       rcv_fetched says so (or after a while) */
};

/* csr_restore's phase: what the caller already waited for. */
#define CSR_PH_READER 1  /* the log reader (after CSR_WAIT) */
#define CSR_PH_FETCHED 2 /* the fetch from Redis (after CSR_FETCH) */

/* 1 when sessions are stored and CONNECT replies carry a pid. */
int csr_enabled(void);

/* A fresh session: new pid and tag into *id. */
void csr_fresh(struct csr_id *id);

/* Try to restore the session named by auth's "pid" and "offset" (strings,
 * as socket.io-client sends them) for cl, already authenticated, in
 * namespace nsp. On CSR_OK the saved rooms are joined, sid_out (at least
 * EIO_SID_LEN + 1 bytes) holds the old sid, *off the client's offset and
 * *id the session's identity (a new tag). On CSR_WAIT, *off is the seq
 * the worker must read first. CSR_NONE is counted by reason (unknown
 * pid, other user or namespace, offset not in the log, rooms no longer
 * allowed) and also means "auth carried no recovery". phase: CSR_PH_*
 * bits of what was waited for already (0 the first time; the attempt is
 * counted once). */
enum csr_status csr_restore(struct cli *cl, const char *nsp, json_t *auth,
    struct csr_id *id, char *sid_out, uint64_t *off, int phase);

/* After CSR_FETCH: 1 once the session named by auth's pid is back from
 * Redis (or known not to be there); else 0. */
int csr_fetched(json_t *auth);

/* Replay to cl what it missed after off (its rooms, everyone-events).
 * Returns the count; *gone when cl ended during the replay. */
long csr_replay(struct cli *cl, uint64_t off, int *gone);

/* Save (or replace) the recoverable state of a live session: call at
 * connect and after each change of its rooms. */
void csr_store(struct cli *cl, const struct csr_id *id, const char *sid,
    const char *nsp);

/* The connection ended: keep its state for recovery_window (hold=1: the
 * transport went away, the server stops or restarts, a ping timed out),
 * or forget it (hold=0: the client left the namespace, it was kicked). */
void csr_end(const struct csr_id *id, int hold);

#endif
