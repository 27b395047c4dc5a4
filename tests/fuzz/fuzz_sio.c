/*
 * libFuzzer harness for common/sio.c. Input: one flags byte (bit 0: parse
 * as server output, bits 1-7: an attachment count for sio_attach_check),
 * then one Socket.IO packet. A parsed packet must borrow the input, and
 * encoding it again (raw payload with sio_encode, and the parsed json_t
 * with sio_encode_json) must parse back to the same packet. The packet
 * bytes also go through sio_encode_event as an event name. Parsing uses
 * exactly-sized copies so ASan reports any read past n.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sio.h"

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #c);                                                       \
            abort();                                                           \
        }                                                                      \
    } while (0)

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

/* b, parsed from a re-encoding of a, is the same packet. */
static void
check_same(const struct sio_packet *a, const struct sio_packet *b, int raw)
{
    CHECK(a->type == b->type && a->nattach == b->nattach);
    CHECK(a->ack_id == b->ack_id);
    CHECK(a->nsp_len == b->nsp_len && memcmp(a->nsp, b->nsp, a->nsp_len) == 0);
    CHECK((a->json == NULL) == (b->json == NULL));
    if (a->json != NULL)
        CHECK(json_equal(a->json, b->json));
    if (raw)
        CHECK(a->payload_len == b->payload_len &&
              (a->payload_len == 0 ||
               memcmp(a->payload, b->payload, a->payload_len) == 0));
}

/* Encode with the raw payload and with the json_t; both must re-parse. */
static void
check_reencode(const struct sio_packet *pk, unsigned flags)
{
    char nsp[SIO_NSP_MAX + 1], *out;
    struct sio_packet again;
    size_t need;

    memcpy(nsp, pk->nsp, pk->nsp_len);
    nsp[pk->nsp_len] = '\0';
    for (int raw = 1; raw >= 0; raw--) {
        need = raw ? sio_encode(NULL, 0, pk->type, nsp, pk->ack_id, pk->payload,
                                pk->payload_len, pk->nattach)
                   : sio_encode_json(NULL, 0, pk->type, nsp, pk->ack_id,
                                     pk->json, pk->nattach);
        CHECK(need > 0);
        out = malloc(need + 1);
        CHECK(out != NULL);
        CHECK((raw ? sio_encode(out, need + 1, pk->type, nsp, pk->ack_id,
                                pk->payload, pk->payload_len, pk->nattach)
                   : sio_encode_json(out, need + 1, pk->type, nsp, pk->ack_id,
                                     pk->json, pk->nattach)) == need);
        CHECK(out[need] == '\0');
        CHECK(sio_parse(out, need, &again, flags) == SIO_OK);
        check_same(pk, &again, raw);
        sio_packet_clear(&again);
        free(out);
    }
}

static void
check_parse(const char *q, size_t n, unsigned flags, size_t nattach)
{
    struct sio_packet pk;
    enum sio_status st = sio_parse(q, n, &pk, flags);

    if (st != SIO_OK) {
        CHECK(st >= SIO_E_TYPE && st <= SIO_E_ATTACH);
        CHECK(pk.json == NULL);
        return;
    }
    CHECK((unsigned)pk.type <= SIO_BINARY_ACK);
    CHECK(pk.type != SIO_CONNECT_ERROR || (flags & SIO_F_FROM_SERVER));
    CHECK(pk.nsp_len >= 1 && pk.nsp_len <= SIO_NSP_MAX && pk.nsp[0] == '/');
    CHECK(pk.nsp_len == 1 || (pk.nsp > q && pk.nsp + pk.nsp_len <= q + n));
    CHECK(memchr(pk.nsp, ',', pk.nsp_len) == NULL);
    CHECK(pk.ack_id >= -1);
    CHECK(pk.nattach <= SIO_ATTACH_MAX);
    CHECK(pk.nattach == 0 || pk.type == SIO_BINARY_EVENT ||
          pk.type == SIO_BINARY_ACK);
    if (pk.payload == NULL) {
        CHECK(pk.json == NULL && pk.payload_len == 0);
    } else {
        CHECK(pk.json != NULL && pk.payload_len > 0);
        CHECK(pk.payload > q && pk.payload + pk.payload_len == q + n);
    }
    if (pk.type == SIO_BINARY_EVENT || pk.type == SIO_BINARY_ACK)
        CHECK(sio_attach_check(pk.json, pk.nattach) == SIO_OK);
    (void)sio_attach_check(pk.json, nattach);
    check_reencode(&pk, flags);
    sio_packet_clear(&pk);
}

/* The input as an event name: either refused (not UTF-8, reserved) or a
 * packet that parses back to that name. */
static void
check_event_name(const char *q, size_t n)
{
    char *name = malloc(n + 1), out[512];
    struct sio_packet pk;
    size_t len;

    CHECK(name != NULL);
    memcpy(name, q, n);
    name[n] = '\0';
    len = sio_encode_event(out, sizeof(out), NULL, SIO_ACK_NONE, name, "1", 1,
                           "o");
    if (len > 0 && len < sizeof(out)) {
        enum sio_status st = sio_parse(out, len, &pk, 0);

        CHECK(st == SIO_OK || st == SIO_E_PAYLOAD);
        if (st == SIO_OK) {
            CHECK(strcmp(json_string_value(json_array_get(pk.json, 0)), name) ==
                  0);
            CHECK(json_array_size(pk.json) == 3);
            sio_packet_clear(&pk);
        }
    }
    free(name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned flags;
    char *q;

    if (size < 1)
        return 0;
    flags = (data[0] & 1) ? SIO_F_FROM_SERVER : 0;
    q = dup_exact(data + 1, size - 1);
    check_parse(q, size - 1, flags, data[0] >> 1);
    check_event_name(q, strnlen(q, size - 1));
    free(q);
    return 0;
}
