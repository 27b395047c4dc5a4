/*
 * Stream entries of the cluster: the field-value pairs a node XADDs for
 * each of its own publishes and control entries, and their decoding from
 * what XREAD returns; also the two other Redis replies the master reads
 * beyond hiredis (a stream entry id, the run_id line of INFO server).
 * Pure: strings borrow the caller's buffers, nothing is allocated.
 */
#ifndef WSGATE_COMMON_RENT_H
#define WSGATE_COMMON_RENT_H

#include <stddef.h>
#include <stdint.h>

#define RENT_ORIGIN_MAX 128 /* node_name, bytes */
#define RENT_INC_MAX 32     /* incarnation, bytes */
#define RENT_RUNID_LEN 40   /* INFO run_id: 40 hex digits */
#define RENT_ID_MAX 44      /* "<u64>-<u64>" with its NUL */
#define RENT_XADD_ARGC 17   /* EVAL script 2, 2 keys, 2 args, 5 pairs */
#define RENT_EPOCH_MAX ((UINT64_C(1) << 21) - 1) /* see rent_offset */
#define RENT_NUMBUF 64      /* scratch for the numbers of one XADD */

struct rent_str {
    const char *p; /* borrowed; not NUL-terminated */
    size_t n;
};

/* One entry: who published it (origin node and its incarnation, which
 * changes at every master start), the origin's own sequence number
 * (1, 2, 3 ... per incarnation), the message-log kind and the encoded
 * message-log payload (common/msg.h; its first byte is the kind). */
struct rent {
    struct rent_str origin;
    struct rent_str inc;
    uint64_t oseq;
    unsigned kind;
    const unsigned char *data;
    size_t len;
    /* Given by Redis when the entry was added (rent_xadd_argv's script),
     * decoded by rent_parse: the cluster's epoch (1, 2, ... one per life
     * of the stream's counter, i.e. per Redis restart without
     * persistence) and the entry's number in it (1, 2, 3 ...). */
    uint64_t epoch, gn;
};

/* A stream entry id <ms>-<seq>. */
struct rent_id {
    uint64_t ms, seq;
};

enum rent_status {
    RENT_OK = 0,
    RENT_E_FIELD,   /* a field missing or given twice, or an odd count */
    RENT_E_ORIGIN,  /* origin or inc empty or too long */
    RENT_E_NUMBER,  /* oseq, kind, ep or gn not a number in range */
    RENT_E_DATA,    /* data empty, or its first byte is not kind */
    RENT_E_ID,      /* not <ms>-<seq> */
    RENT_E_RUNID,   /* no run_id:<40 hex> line */
};

/* Fill argv/argvlen (RENT_XADD_ARGC each) with an EVAL of a short Lua
 * script that, atomically, numbers the entry and adds it:
 * XADD <stream> MAXLEN ~ <maxlen> * ep E gn N origin O inc I oseq N kind K
 * data D, where (E, N) comes from the hash <counter> (fields e and n): N
 * is one more than the last entry's, so entries are numbered 1, 2, 3 ...
 * in stream order; E is kept, or, when the hash is gone (a Redis
 * restarted without persistence), epoch_floor + 1 (the caller passes the
 * highest epoch it has read, so the new epoch is above every epoch its
 * entries were read with). N reaching 2^32 starts the next epoch.
 * Borrows the strings; numbers are written into num (RENT_NUMBUF bytes).
 * Returns the argument count. */
int rent_xadd_argv(const char *stream, const char *counter, uint64_t maxlen,
    uint64_t epoch_floor, const struct rent *e, char *num,
    const char **argv, size_t *argvlen);

/* The cluster-wide offset of an entry: epoch * 2^32 + gn, below 2^53 (a
 * number JSON clients hold exactly) while epoch <= RENT_EPOCH_MAX; 0 if
 * it is not. */
uint64_t rent_offset(uint64_t epoch, uint64_t gn);

/* Decode the field-value list of one XREAD entry: n strings, f[0] a name,
 * f[1] its value, and so on. Fields other than the seven (ep and gn
 * included: an entry not added by rent_xadd_argv's script is refused with
 * RENT_E_FIELD) are ignored.
 * Fills *e borrowing f's bytes. */
enum rent_status rent_parse(const struct rent_str *f, size_t n,
    struct rent *e);

/* Parse an entry id (s[0..n), no NUL needed). */
enum rent_status rent_id_parse(const char *s, size_t n, struct rent_id *id);

/* -1, 0 or 1 as a is before, equal to or after b. */
int rent_id_cmp(struct rent_id a, struct rent_id b);

/* Write id as text into out (RENT_ID_MAX bytes). */
void rent_id_format(struct rent_id id, char *out);

/* Find "run_id:<40 hex>" in the INFO text s[0..n) and copy the 40 digits
 * and a NUL into out (RENT_RUNID_LEN + 1 bytes). */
enum rent_status rent_info_run_id(const char *s, size_t n, char *out);

#endif
