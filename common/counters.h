/*
 * The counters table: one enum and one descriptor array generated from
 * counters.def. Pure data; the shm slot, /socket-stats and /metrics all
 * iterate over ctr_desc.
 */
#ifndef WSGATE_COMMON_COUNTERS_H
#define WSGATE_COMMON_COUNTERS_H

enum ctr_kind { CTR_COUNTER, CTR_GAUGE };
enum ctr_unit { CTR_U_NONE, CTR_U_BYTES, CTR_U_SECONDS };
enum ctr_scope { CTR_S_WORKER, CTR_S_MASTER };

enum ctr_id {
#define CTR(id, kind, unit, scope, help) CTR_##id,
#include "counters.def"
    CTR__COUNT
};

struct ctr_desc {
    const char *name;
    enum ctr_kind kind;
    enum ctr_unit unit;
    enum ctr_scope scope;
    const char *help;
};

extern const struct ctr_desc ctr_desc[CTR__COUNT];

/* Prometheus suffix for a unit ("", "_bytes", "_seconds"). */
const char *ctr_unit_suffix(enum ctr_unit u);

#endif
