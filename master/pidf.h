/*
 * The master's pidfile: written after daemonizing, refused while another
 * live master owns it, removed on a clean stop.
 */
#ifndef WSGATE_MASTER_PIDF_H
#define WSGATE_MASTER_PIDF_H

#include <sys/types.h>

/* Write getpid() to path. Fails (logged) if the file names a live
 * process. Returns 0 or -1. */
int pidf_write(const char *path);

/* Read the pid in path. Returns 0, or -1 if missing, malformed or the
 * process is gone. Does not log. */
int pidf_read(const char *path, pid_t *pid);

/* Remove path if it still holds our pid. */
void pidf_remove(const char *path);

#endif
