/*
 * Connection state recovery (csr.h): pids, the checks of a reconnect, the
 * saved rooms joined back and the replay, over the session store of
 * rcv.c (the master keeps it, so it outlives this worker), the client
 * model (cli.c) and the log reader (fan.c).
 */
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/msg.h"
#include "worker/cli.h"
#include "worker/csr.h"
#include "worker/fan.h"
#include "worker/rcv.h"
#include "worker/sub.h"
#include "worker/wctr.h"

/* Rooms a stored session can hold: SESS_ROOMS_BYTES of names with a NUL
 * each, so at most half as many rooms. */
#define CSR_MAX_ROOMS (SESS_ROOMS_BYTES / 2)

/* The key of csr_derive: made at its first call in this process. */
static struct {
    EVP_CIPHER_CTX *aes;
    pid_t pid;
} C;

int
csr_enabled(void)
{
    return rcv_enabled();
}

void
csr_fresh(struct csr_id *id)
{
    id->tag = (uint32_t)rcv_tag();
}

/* This process's AES-128 key (a forked copy of another's is replaced). */
static EVP_CIPHER_CTX *
csr_key(void)
{
    unsigned char key[16];
    pid_t me = getpid();

    if (C.aes && C.pid == me)
        return C.aes;
    EVP_CIPHER_CTX_free(C.aes);
    C.aes = NULL;
    if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
        return NULL;
    if ((C.aes = EVP_CIPHER_CTX_new()) == NULL
        || EVP_EncryptInit_ex(C.aes, EVP_aes_128_ecb(), NULL, key, NULL) != 1
        || EVP_CIPHER_CTX_set_padding(C.aes, 0) != 1) {
        EVP_CIPHER_CTX_free(C.aes);
        C.aes = NULL;
    }
    OPENSSL_cleanse(key, sizeof(key));
    C.pid = me;
    return C.aes;
}

int
csr_derive(uint32_t tag, enum csr_which which, char out[EIO_SID_LEN + 1])
{
    EVP_CIPHER_CTX *aes = csr_key();
    unsigned char in[16] = {0}, blk[32];
    uint32_t me = (uint32_t)C.pid;
    int n = 0;

    out[0] = '\0';
    memcpy(in, &tag, sizeof(tag));
    in[4] = (unsigned char)which;
    memcpy(in + 5, &me, sizeof(me));
    if (aes == NULL || EVP_EncryptUpdate(aes, blk, &n, in, sizeof(in)) != 1
        || n != (int)sizeof(in))
        return -1;
    eio_sid_new(out, 0, blk);
    return 0;
}

int
csr_ids(const struct csr_id *id, char sid[EIO_SID_LEN + 1],
    char pid[EIO_SID_LEN + 1])
{
    pid[0] = '\0';
    if (csr_derive(id->tag, CSR_SID, sid) == -1 || (csr_enabled()
            && csr_derive(id->tag, CSR_PID, pid) == -1)) {
        sid[0] = '\0';
        return -1;
    }
    return 0;
}

/* Join the NUL-separated rooms of blob[0..len) (all or nothing). */
static int
csr_join(struct cli *cl, const char *blob, size_t len)
{
    struct msg_str rooms[CSR_MAX_ROOMS];
    unsigned char joined[CSR_MAX_ROOMS];
    const char *code, *msg;
    size_t n = 0, bad;

    for (size_t i = 0; i < len && n < CSR_MAX_ROOMS;) {
        size_t l = strnlen(blob + i, len - i);
        if (l)
            rooms[n++] = (struct msg_str){blob + i, l};
        i += l + 1;
    }
    return n == 0 ? 0 : cli_subscribe(cl, rooms, n, joined, &code, &msg,
        &bad);
}

enum csr_status
csr_restore(struct cli *cl, const char *nsp, json_t *auth, struct csr_id *id,
    char *sid_out, char *pid_out, uint64_t *off, int phase)
{
    json_t *jp = json_object_get(auth, "pid");
    json_t *jo = json_object_get(auth, "offset");
    const char *user = cli_user(cl);
    struct rcv_session rs;
    uint64_t coff;

    if (!csr_enabled() || !json_is_string(jp) || !json_is_string(jo))
        return CSR_NONE;
    if (!phase)
        WCTR_INC(recovery_attempts);
    if (json_string_length(jp) != EIO_SID_LEN) {
        WCTR_INC(recovery_failed_unknown);
        return CSR_NONE;
    }
    /* Cluster: the session may have been held last on another node. */
    if (!(phase & CSR_PH_FETCHED) && rcv_fetch(json_string_value(jp)) == 0)
        return CSR_FETCH;
    if (rcv_lookup(json_string_value(jp), &rs) == -1
        || strcmp(rs.nsp, nsp) != 0
        || strcmp(rs.user, user ? user : "") != 0) {
        WCTR_INC(recovery_failed_unknown);
        return CSR_NONE;
    }
    /* The client's offset (cluster-wide in cluster mode) as a seq of
     * this log; one this node has not appended yet is waited for, once
     * and for a bounded time, if it may still come (cluster mode). */
    if (sub_offset(jo, &coff) == -1 || fan_seq_of(coff, off) != 0
        || (!fan_seq_appended(*off) && ((phase & CSR_PH_READER)
            || !fan_seq_coming(*off)))
        || (fan_seq_appended(*off) && !fan_seq_held(*off + 1))) {
        WCTR_INC(recovery_failed_offset);
        return CSR_NONE;
    }
    if (*off > fan_position())
        return CSR_WAIT; /* not counted twice: the retry comes back here */
    if (csr_join(cl, rs.rooms, rs.rooms_len) == -1) {
        WCTR_INC(recovery_failed_rooms);
        return CSR_NONE;
    }
    memcpy(pid_out, rs.pid, EIO_SID_LEN + 1);
    csr_fresh(id);
    memcpy(sid_out, rs.sid, EIO_SID_LEN + 1);
    WCTR_INC(recovery_ok);
    return CSR_OK;
}

int
csr_fetched(json_t *auth)
{
    json_t *jp = json_object_get(auth, "pid");

    return json_is_string(jp) && rcv_fetched(json_string_value(jp));
}

long
csr_replay(struct cli *cl, uint64_t off, int *gone)
{
    long n = fan_replay(cl, off, fan_want_member, cl, gone);

    return n < 0 ? 0 : n;
}

void
csr_store(struct cli *cl, const struct csr_id *id, const char *sid,
    const char *pid, const char *nsp)
{
    const char *names[CSR_MAX_ROOMS + 1];
    size_t lens[CSR_MAX_ROOMS + 1];
    size_t n;
    const char *user = cli_user(cl);

    if (pid[0] == '\0')
        return;
    /* More than fit is refused (and counted) by rcv_put for its size. */
    n = cli_rooms(cl, names, lens, CSR_MAX_ROOMS + 1);
    (void)rcv_put(id->tag, pid, sid, nsp, user ? user : "", names, lens,
        n);
}

void
csr_end(const struct csr_id *id, const char *pid, int hold)
{
    if (pid[0] == '\0')
        return;
    if (hold)
        rcv_hold(id->tag, pid);
    else
        rcv_drop(id->tag, pid);
}
