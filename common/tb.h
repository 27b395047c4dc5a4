/*
 * Token buckets in eight bytes: the tokens in thousandths and the time of
 * the last refill as a coarse 32-bit millisecond clock (wraps after 49
 * days; a bucket untouched that long only refills less). Pure functions
 * over a caller's words, so a connection keeps one in its own struct and
 * shared memory packs one into a 64-bit word (shm/ltab.c).
 */
#ifndef WSGATE_COMMON_TB_H
#define WSGATE_COMMON_TB_H

#include <stdint.h>

/* Largest rate (tokens per second) and burst a bucket can hold: the
 * tokens are thousandths in 32 bits. */
#define TB_MAX_RATE 1000000u
#define TB_MAX_BURST 1000000u

/* A new bucket: full (burst tokens) at now_ms. */
void tb_init(uint32_t *tokens, uint32_t *at, uint32_t now_ms, uint32_t burst);

/* Refill the bucket for the time since *at at rate tokens per second (at
 * most burst tokens), then take one token. Returns 1 (taken; *tokens and
 * *at updated) or 0 (empty: refilled but nothing taken). rate or burst
 * above the TB_MAX_* bounds are clamped to them. */
int tb_take(uint32_t *tokens, uint32_t *at, uint32_t now_ms, uint32_t rate,
    uint32_t burst);

/* Pack and unpack a bucket into one word (tokens high, time low). */
uint64_t tb_pack(uint32_t tokens, uint32_t at);
void tb_unpack(uint64_t w, uint32_t *tokens, uint32_t *at);

#endif
