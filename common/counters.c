/*
 * Descriptor table for the counters declared in counters.def. Everything
 * that lists counters (shm layout, JSON, Prometheus, docs test) loops over
 * ctr_desc; nothing else names counters by string.
 */
#include "counters.h"

const struct ctr_desc ctr_desc[CTR__COUNT] = {
#define CTR(id, kind, unit, scope, help)                                       \
    [CTR_##id] = {#id, CTR_##kind, CTR_U_##unit, CTR_S_##scope, help},
#include "counters.def"
};

const char *
ctr_unit_suffix(enum ctr_unit u)
{
    switch (u) {
    case CTR_U_BYTES:
        return "_bytes";
    case CTR_U_SECONDS:
        return "_seconds";
    case CTR_U_NONE:
        break;
    }
    return "";
}
