/*
 * FNV-1a over n bytes: the string hash of the worker's tables (rooms,
 * Engine.IO sessions, the fan-out's blocks). Fast on short names, no
 * state; callers mask or reduce it to their table size.
 */
#ifndef WSGATE_COMMON_FNV_H
#define WSGATE_COMMON_FNV_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t
fnv1a(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 16777619u;
    return h;
}

#endif
