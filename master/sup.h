/*
 * Supervisor: the master's process model. Holds the public listeners (one
 * SO_REUSEPORT socket per worker slot, for the master's whole life), forks
 * and respawns workers, runs the heartbeat watchdog, and turns TERM/INT,
 * HUP and USR1 into graceful stop, reload and log reopen.
 */
#ifndef WSGATE_MASTER_SUP_H
#define WSGATE_MASTER_SUP_H

#include <stddef.h>

struct cfg;

/* Builds a fresh configuration the same way startup did (defaults, file,
 * environment, flags). Returns 0, or -1 with a message in err. */
typedef int (*sup_load_fn)(struct cfg *out, char *err, size_t errlen);

/* Open the public listeners and the admin socket for c. Logs and returns
 * -1 on failure (nothing is left open). Call before daemonizing so errors
 * reach the terminal. */
int sup_bind(const struct cfg *c);

/* Run the master until a stop completes. Takes c (it is freed at exit or
 * replaced on reload). Returns the process exit status. */
int sup_run(struct cfg *c, sup_load_fn reload);

/* Number of worker slots c asks for (the workers key, or the CPU count). */
unsigned sup_nslots(const struct cfg *c);

/* Give the open log file to the workers' user of c (keys user, group), so
 * that they can reopen it on SIGUSR1. Logs a failure. */
void sup_give_log(const struct cfg *c);

#endif
