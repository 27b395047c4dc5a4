/*
 * libFuzzer harness for what the master reads from Redis beyond hiredis:
 * stream entry fields (the input split at 0x00 0x00 into strings), entry
 * ids and INFO text; and for redis_url. Any bytes parse or fail cleanly;
 * a parsed entry re-encodes to fields that parse to the same entry.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rent.h"
#include "common/rurl.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rent_str f[64];
    struct rent e, d;
    struct rent_id id;
    struct rurl u;
    char runid[RENT_RUNID_LEN + 1], text[512], num[RENT_NUMBUF];
    const char *argv[RENT_XADD_ARGC];
    size_t len[RENT_XADD_ARGC], n = 0, start = 0;

    for (size_t i = 0; i + 1 < size && n < 64; i++)
        if (data[i] == 0 && data[i + 1] == 0) {
            f[n++] = (struct rent_str){(const char *)data + start,
                i - start};
            start = i + 2;
            i++;
        }
    if (n < 64)
        f[n++] = (struct rent_str){(const char *)data + start,
            size - start};
    if (rent_parse(f, n, &e) == RENT_OK) {
        assert(e.data[0] == e.kind && e.oseq > 0);
        assert(rent_offset(e.epoch, e.gn) != 0);
        int argc = rent_xadd_argv("s", "s:gseq", 10, e.epoch, &e, num, argv,
            len);
        assert(argc == RENT_XADD_ARGC);
        /* What the script adds in front (ep, gn), then the pairs. */
        char ep[24], gn[24];
        snprintf(ep, sizeof(ep), "%llu", (unsigned long long)e.epoch);
        snprintf(gn, sizeof(gn), "%llu", (unsigned long long)e.gn);
        struct rent_str g[14] = {{"ep", 2}, {ep, strlen(ep)}, {"gn", 2},
            {gn, strlen(gn)}};
        for (int i = 0; i < 10; i++)
            g[4 + i] = (struct rent_str){argv[7 + i], len[7 + i]};
        assert(rent_parse(g, 14, &d) == RENT_OK);
        assert(d.oseq == e.oseq && d.kind == e.kind && d.len == e.len);
        assert(d.epoch == e.epoch && d.gn == e.gn);
        assert(memcmp(d.data, e.data, e.len) == 0);
    }
    if (rent_id_parse((const char *)data, size, &id) == RENT_OK) {
        char out[RENT_ID_MAX];
        struct rent_id back;
        rent_id_format(id, out);
        assert(rent_id_parse(out, strlen(out), &back) == RENT_OK);
        assert(rent_id_cmp(id, back) == 0);
    }
    (void)rent_info_run_id((const char *)data, size, runid);
    if (size < sizeof(text)) {
        memcpy(text, data, size);
        text[size] = '\0';
        if (rurl_parse(text, &u) == RURL_OK)
            assert(u.is_unix ? u.path[0] == '/' : u.port > 0);
    }
    return 0;
}
