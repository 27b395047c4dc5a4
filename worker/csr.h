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

/* A namespace connection's recovery identity: its tag in the store,
 * which also names its socket id and pid (csr_ids), so that neither is
 * kept per connection. The tag is the low 32 bits of rcv_tag() (unique
 * within the process for 2^32 connections), given to rcv as is. */
struct csr_id {
    uint32_t tag;
};

/* The ids csr_derive makes. */
enum csr_which { CSR_SID = 's', CSR_PID = 'p' };

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

/* A fresh namespace connection: a new tag into *id. */
void csr_fresh(struct csr_id *id);

/* The socket id and pid of a fresh connection id (pid "" when recovery
 * is off), each EIO_SID_LEN characters and a NUL: derived from its tag
 * (csr_derive). 0, or -1 (both "") when the key cannot be made. */
int csr_ids(const struct csr_id *id, char sid[EIO_SID_LEN + 1],
    char pid[EIO_SID_LEN + 1]);

/* Id `which` of tag: AES-128 of (tag, which, this process's pid) under a
 * key this process draws at its first call, as a session id of slot 0
 * (eio_sid_new). Distinct tags or kinds give distinct blocks, so ids do
 * not repeat within a process, nor across processes but by the chance of
 * two random ids; without the key nothing about one id follows from
 * another, nor from the tag. 0, or -1 (out "") when the key cannot be
 * made. */
int csr_derive(uint32_t tag, enum csr_which which, char out[EIO_SID_LEN + 1]);

/* Try to restore the session named by auth's "pid" and "offset" (strings,
 * as socket.io-client sends them) for cl, already authenticated, in
 * namespace nsp. On CSR_OK the saved rooms are joined, sid_out and
 * pid_out (at least EIO_SID_LEN + 1 bytes each) hold the old sid and pid
 * (the caller keeps them: csr_ids does not name them), *off the client's
 * offset and *id the session's identity (a new tag). On CSR_WAIT, *off is the seq
 * the worker must read first. CSR_NONE is counted by reason (unknown
 * pid, other user or namespace, offset not in the log, rooms no longer
 * allowed) and also means "auth carried no recovery". phase: CSR_PH_*
 * bits of what was waited for already (0 the first time; the attempt is
 * counted once). */
enum csr_status csr_restore(struct cli *cl, const char *nsp, json_t *auth,
    struct csr_id *id, char *sid_out, char *pid_out, uint64_t *off,
    int phase);

/* After CSR_FETCH: 1 once the session named by auth's pid is back from
 * Redis (or known not to be there); else 0. */
int csr_fetched(json_t *auth);

/* Replay to cl what it missed after off (its rooms, everyone-events).
 * Returns the count; *gone when cl ended during the replay. */
long csr_replay(struct cli *cl, uint64_t off, int *gone);

/* Save (or replace) the recoverable state of a live session (its ids sid
 * and pid; nothing when pid is ""): call at connect and after each
 * change of its rooms. */
void csr_store(struct cli *cl, const struct csr_id *id, const char *sid,
    const char *pid, const char *nsp);

/* The connection ended: keep its state for recovery_window (hold=1: the
 * transport went away, the server stops or restarts, a ping timed out),
 * or forget it (hold=0: the client left the namespace, it was kicked). */
void csr_end(const struct csr_id *id, const char *pid, int hold);

#endif
