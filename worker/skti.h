/*
 * Socket.IO sessions, inside: the state skt.c (the protocol) and skn.c
 * (namespace connections, their names and ids, the session's side state,
 * and the published events they get) share. No other module includes it:
 * they use skt.h.
 */
#ifndef WSGATE_WORKER_SKTI_H
#define WSGATE_WORKER_SKTI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/eio.h"
#include "worker/csr.h"

struct cli;
struct eng;
struct event;
struct fan_block;
struct fan_msg;
struct ws_batch;

struct skt;

/* A namespace connection. The session's first is embedded in struct skt
 * (ns0); others are in a struct skt_nsx. Its name is an index into the
 * worker's table (skn_nsp), its socket id and pid are named by its tag
 * (csr_ids) unless restored (skt_nsd.rid). */
struct skt_ns {
    struct cli *cl;           /* NULL for the echo app */
    struct csr_id csr;        /* its tag (recovery, and its ids) */
    uint16_t nsp;             /* skn_nsp index; 0 is "/" */
    uint8_t live : 1;         /* in use (ns0 may be free) */
    uint8_t connected : 1;    /* 40 sent */
    uint8_t more : 1;         /* in a struct skt_nsx, not ns0 */
    uint8_t recovered : 1;    /* restored: its ids are in skt_nsd.rid */
    /* The session's flags, in ns0 only (bits that would be padding). */
    uint8_t echo : 1;
    uint8_t rate_kicked : 1;  /* disconnected for client_message_rate */
};

/* What a namespace connection keeps only while it needs it. */
struct skt_nsd {
    char *held;               /* a notice raised before 40 ("event\0json") */
    char *rid;                /* restored ids: sid and pid, each NUL-ended */
};

/* A namespace connection besides the session's first. */
struct skt_nsx {
    struct skt_nsx *next;
    struct skt *k;
    struct skt_nsd d;
    struct skt_ns ns;
};

/* What a session keeps only while it needs it (skn_x, skn_x_trim). */
struct skt_x {
    char *bearer;             /* Authorization header token, if any */
    struct event *tev;        /* connect_timeout, then kick grace */
    /* a binary packet waiting for its attachments: its text is kept
     * (the parsed packet only borrows the frame it came in) */
    char *pend_text;
    size_t pend_len, pend_need;
    struct iovec *bins;       /* received attachments, in order */
    size_t nbins;
    struct skt_nsx *more;     /* namespace connections besides ns0 */
    struct skt_nsd d0;        /* ns0's */
};

/* A Socket.IO session: the app state of its Engine.IO session (eng.h),
 * allocated with it. */
struct skt {
    struct skt_x *x;          /* NULL while not needed */
    uint32_t rl_tok, rl_at;   /* client_message_rate bucket (lmt.h) */
    struct skt_ns ns0;
};

_Static_assert(sizeof(struct skt) == 32, "struct skt grew");

/* A namespace name of the worker's table (skn_init). */
struct skn_nspn {
    const char *name;
    size_t len;
};

/* Make the worker's namespace table: "/" (index 0), then those of the
 * comma-separated list (blanks around a name trimmed; at most
 * SKN_NSP_MAX, the rest are not served). Borrows list. */
void skn_init(const char *list);

/* The table index of namespace nsp[0..n), or -1 when it is not served;
 * the entry of index i. */
int skn_nsp_index(const char *nsp, size_t n);
const struct skn_nspn *skn_nsp(unsigned i);

/* ns's namespace name (the table's copy). */
const char *skn_name(const struct skt_ns *ns);

/* The session of ns, and the Engine.IO session of k. */
struct skt *skn_of_ns(struct skt_ns *ns);
struct eng *skn_eng(struct skt *k);

/* k's side state, made if it has none (NULL when out of memory); and
 * freed when nothing in it is in use. */
struct skt_x *skn_x(struct skt *k);
void skn_x_trim(struct skt *k);

/* ns's side data, made (make != 0) if it has none; NULL when it has none
 * or out of memory. */
struct skt_nsd *skn_nsd(struct skt_ns *ns, int make);

/* ns's socket id and pid ("" for none): restored, or named by its tag.
 * 0, or -1 when they cannot be made. */
int skn_ids(struct skt_ns *ns, char sid[EIO_SID_LEN + 1],
    char pid[EIO_SID_LEN + 1]);

/* A live namespace connection of k (ns0 first), or NULL; the one to
 * namespace nsp[0..n), or NULL. */
struct skt_ns *skn_any(struct skt *k);
struct skt_ns *skn_find(struct skt *k, const char *nsp, size_t n);

/* A new namespace connection of k to table entry i, with a fresh tag:
 * ns0 when it is free. NULL when out of memory. */
struct skt_ns *skn_new(struct skt *k, int i);

/* End namespace connection ns (its client freed): its recoverable state
 * is kept (hold: the transport went away) or forgotten (the client left,
 * it was kicked). */
void skn_free(struct skt *k, struct skt_ns *ns, int hold);

/* Drop k's pending binary packet and its attachments. */
void skn_pending_clear(struct skt *k);

/* cli_ops of a namespace connection's client: published events, room
 * blocks; and fan.c's encoder of room blocks (fan_set_sio_append). */
int skn_event(struct cli *cl, struct fan_msg *m, const char *room,
    size_t rlen);
int skn_batch(struct cli *cl, struct fan_block *b);
int skn_batch_append(struct ws_batch *b, const struct fan_msg *m,
    const char *room, size_t rlen);

#endif
