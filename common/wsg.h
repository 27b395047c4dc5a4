/*
 * Project-wide constants (version, exit codes) and the two clocks.
 */
#ifndef WSGATE_COMMON_WSG_H
#define WSGATE_COMMON_WSG_H

#include <stdint.h>

#define WSG_VERSION "0.1.0"

/* Exit statuses (documented in wsgate.8). A worker exiting with
 * WSG_EXIT_FATAL cannot start and is never respawned. */
#define WSG_EXIT_OK 0
#define WSG_EXIT_RUNTIME 1 /* could not start (bind, pidfile, shm, ...) */
#define WSG_EXIT_CONFIG 2  /* bad flags or configuration */
#define WSG_EXIT_FATAL 3   /* worker: fatal init error, do not respawn */

/* CLOCK_MONOTONIC in milliseconds (shared by all processes on the host). */
int64_t wsg_mono_ms(void);

/* Connections one worker may hold: `configured` when non-zero, else the
 * open-file soft limit minus a reserve for listeners, logs and replies.
 * Never below 1. */
long wsg_conn_limit(long configured);

/* Wall clock, unix milliseconds. */
int64_t wsg_real_ms(void);

/* Wall clock, unix microseconds: the append time of message-log entries,
 * which workers compare with their own reading (the same clock on every
 * process of the host) for the delivery latency histogram. */
int64_t wsg_real_us(void);

#endif
