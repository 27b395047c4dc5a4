/*
 * libFuzzer harness for common/eio.c. The whole input is, at once, a
 * WebSocket text frame (eio_parse_text), a long-polling POST body
 * (eio_payload_next) and base64 text; its first bytes also feed the
 * session-id and query checks. Parsed packets must borrow the input, and
 * a payload rebuilt with eio_append_text/eio_append_binary must split back
 * into the same packets. Inputs are parsed from exactly-sized copies so
 * ASan reports any read past n.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eio.h"

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #c);                                                       \
            abort();                                                           \
        }                                                                      \
    } while (0)

#define MAX_PK 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
dup_exact(const void *p, size_t n)
{
    char *q = malloc(n ? n : 1);

    CHECK(q != NULL);
    if (n > 0)
        memcpy(q, p, n);
    return q;
}

/* Decode a checked binary packet into a new buffer; *n gets its size. */
static unsigned char *
decode(const struct eio_packet *pk, size_t *n)
{
    size_t cap = eio_b64_dlen(pk->len);
    unsigned char *b = malloc(cap ? cap : 1);

    CHECK(b != NULL);
    CHECK(eio_b64_decode(pk->data, pk->len, b, cap, n) == EIO_OK);
    CHECK(*n <= cap);
    return b;
}

static void
check_text(const uint8_t *data, size_t size)
{
    char *q = dup_exact(data, size);
    struct eio_packet pk;
    enum eio_status st = eio_parse_text(q, size, &pk);

    if (st == EIO_OK) {
        CHECK(size > 0 && pk.data == q + 1 && pk.len == size - 1);
        CHECK((unsigned)pk.type <= EIO_NOOP);
        CHECK(pk.is_binary == (q[0] == 'b'));
        CHECK(pk.is_binary || q[0] == '0' + (int)pk.type);
    } else {
        CHECK(st == EIO_E_PACKET);
    }
    free(q);
}

/* Packet a (from one payload) and b (from its rebuild) are the same. */
static void
check_same(const struct eio_packet *a, const struct eio_packet *b)
{
    CHECK(a->type == b->type && a->is_binary == b->is_binary);
    if (!a->is_binary) {
        CHECK(a->len == b->len);
        CHECK(a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
    } else {
        size_t na, nb;
        unsigned char *da = decode(a, &na), *db = decode(b, &nb);

        CHECK(na == nb && (na == 0 || memcmp(da, db, na) == 0));
        free(da);
        free(db);
    }
}

static void
check_payload(const uint8_t *data, size_t size)
{
    char *q = dup_exact(data, size), *re = NULL;
    struct eio_packet *pk = malloc(MAX_PK * sizeof(*pk)), again;
    size_t off = 0, prev = 0, count = 0, used = 0, cap;
    enum eio_status st = EIO_OK;

    CHECK(pk != NULL);
    while (count < MAX_PK &&
           (st = eio_payload_next(q, size, &off, &pk[count])) == EIO_OK) {
        CHECK(off > prev && off <= size);
        CHECK(pk[count].data > q && pk[count].data + pk[count].len <= q + off);
        prev = off;
        count++;
    }
    if (count == MAX_PK || st != EIO_DONE) {
        CHECK(count == MAX_PK || st == EIO_E_PACKET);
        goto out;
    }
    CHECK(off == size && count > 0);

    /* Rebuild: size each append first, then write it exactly. */
    cap = 1;
    re = malloc(cap);
    CHECK(re != NULL);
    for (size_t i = 0; i < count; i++) {
        size_t need, got;
        unsigned char *bin = NULL;
        size_t blen = 0;

        if (pk[i].is_binary) {
            bin = decode(&pk[i], &blen);
            need = eio_append_binary(NULL, 0, used, bin, blen);
        } else {
            need = eio_append_text(NULL, 0, used, pk[i].type, pk[i].data,
                                   pk[i].len);
        }
        CHECK(need > used);
        re = realloc(re, need + 1);
        CHECK(re != NULL);
        got = pk[i].is_binary ? eio_append_binary(re, need + 1, used, bin, blen)
                              : eio_append_text(re, need + 1, used, pk[i].type,
                                                pk[i].data, pk[i].len);
        CHECK(got == need && re[need] == '\0');
        used = need;
        free(bin);
    }
    /* Without binary packets the rebuild is byte for byte the input. */
    off = 0;
    for (size_t i = 0; i < count; i++) {
        CHECK(eio_payload_next(re, used, &off, &again) == EIO_OK);
        check_same(&pk[i], &again);
    }
    CHECK(eio_payload_next(re, used, &off, &again) == EIO_DONE);
    if (memchr(q, 'b', size) == NULL)
        CHECK(used == size && memcmp(re, q, size) == 0);
out:
    free(re);
    free(pk);
    free(q);
}

static void
check_b64(const uint8_t *data, size_t size)
{
    char *q = dup_exact(data, size), *enc;
    size_t cap = eio_b64_dlen(size), n, elen;
    unsigned char *dec = malloc(cap ? cap : 1);
    int valid = eio_b64_valid(q, size);

    CHECK(dec != NULL);
    if (eio_b64_decode(q, size, dec, cap, &n) != EIO_OK) {
        CHECK(!valid);
        goto out;
    }
    CHECK(valid);
    elen = eio_b64_encode(NULL, 0, dec, n);
    CHECK(elen == eio_b64_len(n) && elen >= size && elen - size < 3);
    enc = malloc(elen + 1);
    CHECK(enc != NULL);
    CHECK(eio_b64_encode(enc, elen + 1, dec, n) == elen);
    /* Canonical: the input is the encoding, maybe without its padding. */
    CHECK(memcmp(enc, q, size) == 0);
    for (size_t i = size; i < elen; i++)
        CHECK(enc[i] == '=');
    free(enc);
out:
    free(dec);
    free(q);
}

static void
check_sid_and_query(const uint8_t *data, size_t size)
{
    char sid[EIO_SID_LEN + 1], body[EIO_ERROR_JSON_MAX];
    unsigned slot, slot2;
    int polling = -1;
    enum eio_status st;
    size_t cut;

    if (size >= EIO_SID_LEN) {
        char *q = dup_exact(data, EIO_SID_LEN);

        if (eio_sid_slot(q, EIO_SID_LEN, &slot) == 0)
            CHECK(slot <= EIO_SLOT_MAX);
        free(q);
    }
    if (size >= 1 + EIO_SID_RANDOM) {
        eio_sid_new(sid, data[0], data + 1);
        CHECK(strlen(sid) == EIO_SID_LEN);
        CHECK(eio_sid_slot(sid, EIO_SID_LEN, &slot2) == 0 && slot2 == data[0]);
    }
    cut = size > 0 ? data[0] % (size + 1) : 0;
    st = eio_check_query((const char *)data, cut, (const char *)data + cut,
                         size - cut, &polling);
    CHECK(st == EIO_OK || st == EIO_E_PROTOCOL || st == EIO_E_TRANSPORT);
    if (st == EIO_OK)
        CHECK(cut == 1 && data[0] == '4' && (polling == 0 || polling == 1));
    CHECK(eio_error_json(eio_status_err(st), body, sizeof(body)) > 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_text(data, size);
    check_payload(data, size);
    check_b64(data, size);
    check_sid_and_query(data, size);
    return 0;
}
