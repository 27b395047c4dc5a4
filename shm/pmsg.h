/*
 * Presence messages on the recovery channel (issue 14): the master asks
 * every worker who is in a room, or where a user is connected, and each
 * worker answers with one or more datagrams of JSON. Pure encoders and
 * decoders over buffers; the sockets are worker/rcv.c's and
 * master/stor.c's. Type bytes never collide with shm/smsg.h's.
 *   query  (master to worker): type, kind (1 byte), tag (8 bytes LE),
 *          name_len (1 byte, 1..PMSG_NAME_MAX), name
 *   answer (worker to master): type, tag (8 bytes LE), last (1 byte: 1 in
 *          the worker's final datagram), then a JSON array (may be empty
 *          text in a final datagram with nothing left)
 */
#ifndef WSGATE_SHM_PMSG_H
#define WSGATE_SHM_PMSG_H

#include <stddef.h>
#include <stdint.h>

#define PMSG_QUERY 0x40
#define PMSG_ANSWER 0x41
#define PMSG_PUBLISH 0x42 /* worker to master: type, then a JSON array of
                           * publishes ({room|rooms, event, data}) */
#define PMSG_NAME_MAX 220     /* "user:" and a room name fit */
#define PMSG_QUERY_MAX (11 + PMSG_NAME_MAX)
#define PMSG_HEAD 10          /* answer bytes before the JSON */
#define PMSG_MAX 16384        /* longest answer datagram */

enum pmsg_kind { PMSG_ROOM = 1, PMSG_USER = 2 };

/* Encode a query into b (PMSG_QUERY_MAX bytes suffice). Returns its
 * length, or 0 when name is empty or too long or kind unknown. */
size_t pmsg_query(unsigned char *b, uint64_t tag, int kind, const char *name,
    size_t len);

/* Decode a query; name borrows b. 0, or -1 when malformed. */
int pmsg_query_decode(const unsigned char *b, size_t n, uint64_t *tag,
    int *kind, const char **name, size_t *len);

/* Write an answer's head into b[0..PMSG_HEAD). */
void pmsg_answer_head(unsigned char *b, uint64_t tag, int last);

/* Decode an answer; json borrows b. 0, or -1 when malformed. */
int pmsg_answer_decode(const unsigned char *b, size_t n, uint64_t *tag,
    int *last, const char **json, size_t *jlen);

#endif
