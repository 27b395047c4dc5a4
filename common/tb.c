/*
 * Token buckets (tb.h): the refill arithmetic only; where a bucket lives
 * and who may write it is the caller's business. Tiny, so hand-written.
 */
#include "common/tb.h"

#define TB_ONE 1000u /* one token in thousandths */

void
tb_init(uint32_t *tokens, uint32_t *at, uint32_t now_ms, uint32_t burst)
{
    if (burst > TB_MAX_BURST)
        burst = TB_MAX_BURST;
    *tokens = burst * TB_ONE;
    *at = now_ms;
}

int
tb_take(uint32_t *tokens, uint32_t *at, uint32_t now_ms, uint32_t rate,
    uint32_t burst)
{
    uint64_t cap, t;
    uint32_t dt = now_ms - *at; /* modulo 2^32: a wrapped clock still works */

    if (rate > TB_MAX_RATE)
        rate = TB_MAX_RATE;
    if (burst > TB_MAX_BURST)
        burst = TB_MAX_BURST;
    cap = (uint64_t)burst * TB_ONE;
    /* rate tokens per second is rate thousandths per millisecond. */
    t = (uint64_t)*tokens + (uint64_t)dt * rate;
    if (t > cap)
        t = cap;
    *at = now_ms;
    if (t < TB_ONE) {
        *tokens = (uint32_t)t;
        return 0;
    }
    *tokens = (uint32_t)(t - TB_ONE);
    return 1;
}

uint64_t
tb_pack(uint32_t tokens, uint32_t at)
{
    return (uint64_t)tokens << 32 | at;
}

void
tb_unpack(uint64_t w, uint32_t *tokens, uint32_t *at)
{
    *tokens = (uint32_t)(w >> 32);
    *at = (uint32_t)w;
}
