/*
 * libFuzzer harness for common/prx.c: every input is a backend reply to
 * the connect proxy, under a generous and a tight size bound. The verdict
 * must be sane: a known status; on PRX_OK a NUL-terminated code and
 * message within their bounds on refusal, and on allow a room list whose
 * nrooms names are non-empty, NUL-terminated and exactly fill rooms_len;
 * on error nothing left allocated. The same input as an event reply:
 * on PRX_OK an ack object whose "ok" is a boolean (and an error object
 * with a bounded code when false), a publish array of at most
 * PRX_PUBLISH_MAX. The input also goes through
 * prx_url_ok, whose error text must stay NUL-terminated.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "prx.h"

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #c);                                                       \
            abort();                                                           \
        }                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_reply(const char *b, size_t n, size_t max)
{
    struct prx_verdict v;
    enum prx_status st = prx_connect_reply(b, n, max, &v);

    CHECK(st == PRX_OK || st == PRX_E_SIZE || st == PRX_E_JSON
        || st == PRX_E_SHAPE);
    if (st != PRX_OK) {
        CHECK(v.rooms == NULL && v.nrooms == 0 && v.rooms_len == 0);
        return;
    }
    CHECK(n <= max);
    if (!v.allow) {
        CHECK(strlen(v.code) >= 1 && strlen(v.code) <= PRX_CODE_MAX);
        CHECK(strlen(v.message) <= PRX_MSG_MAX);
        CHECK(v.rooms == NULL);
    } else {
        size_t off = 0, k = 0;
        CHECK(v.nrooms <= PRX_ROOMS_MAX);
        while (off < v.rooms_len) {
            size_t l = strnlen(v.rooms + off, v.rooms_len - off);
            CHECK(l > 0 && off + l < v.rooms_len);
            off += l + 1;
            k++;
        }
        CHECK(k == v.nrooms);
    }
    prx_verdict_clear(&v);
}

static void
fuzz_event(const char *b, size_t n)
{
    json_t *ack = NULL, *pub = NULL, *ok, *err;
    enum prx_status st = prx_event_reply(b, n, 65536, &ack, &pub);

    CHECK(st == PRX_OK || st == PRX_E_SIZE || st == PRX_E_JSON
        || st == PRX_E_SHAPE);
    if (st != PRX_OK) {
        CHECK(ack == NULL && pub == NULL);
        return;
    }
    ok = json_object_get(ack, "ok");
    CHECK(json_is_boolean(ok));
    if (json_is_false(ok)) {
        err = json_object_get(ack, "error");
        CHECK(json_is_string(json_object_get(err, "code")));
        CHECK(json_string_length(json_object_get(err, "code"))
            <= PRX_CODE_MAX);
        CHECK(json_string_length(json_object_get(err, "message"))
            <= PRX_MSG_MAX);
    }
    CHECK(pub == NULL || json_array_size(pub) <= PRX_PUBLISH_MAX);
    json_decref(ack);
    json_decref(pub);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *b = malloc(size ? size : 1), *s = malloc(size + 1), err[96];

    if (b == NULL || s == NULL) {
        free(b);
        free(s);
        return 0;
    }
    memcpy(b, data, size); /* exactly sized: ASan sees any overread */
    fuzz_reply(b, size, 65536);
    fuzz_reply(b, size, 64);
    fuzz_event(b, size);
    memcpy(s, data, size);
    s[size] = '\0';
    err[0] = '\0';
    if (!prx_url_ok(s, "crm.internal", err, sizeof(err)))
        CHECK(memchr(err, '\0', sizeof(err)) != NULL);
    free(b);
    free(s);
    return 0;
}
