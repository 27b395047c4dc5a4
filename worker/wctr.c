/*
 * Storage for this worker's private counters (wctr.h). Nothing else lives
 * here: the modules count, wrk.c publishes.
 */
#include "worker/wctr.h"

uint64_t wctr_val[CTR__COUNT];
uint64_t wctr_hist[HIST_WORDS];
