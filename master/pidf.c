/*
 * Pidfile handling for -d and -s. A stale file (its process is gone) is
 * replaced; a live one stops the start so two masters never share it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "master/pidf.h"

static int
pidf_parse(const char *path, pid_t *pid)
{
    char buf[32];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *end;
    long v;

    if (fd == -1)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    v = strtol(buf, &end, 10);
    if (v <= 0 || (*end != '\n' && *end != '\0'))
        return -1;
    *pid = (pid_t)v;
    return 0;
}

int
pidf_read(const char *path, pid_t *pid)
{
    if (pidf_parse(path, pid) == -1)
        return -1;
    if (kill(*pid, 0) == -1 && errno == ESRCH)
        return -1;
    return 0;
}

int
pidf_write(const char *path)
{
    char buf[32];
    pid_t old;
    int fd, n;

    if (pidf_read(path, &old) == 0 && old != getpid()) {
        log_msg(LOG_ERR, "pidfile %s: master %ld is already running", path,
            (long)old);
        return -1;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1) {
        log_errno(LOG_ERR, "open(%s) for the pidfile", path);
        return -1;
    }
    n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (write(fd, buf, (size_t)n) != n) {
        log_errno(LOG_ERR, "write(%s)", path);
        close(fd);
        unlink(path);
        return -1;
    }
    close(fd);
    return 0;
}

void
pidf_remove(const char *path)
{
    pid_t pid;

    if (path == NULL || path[0] == '\0')
        return;
    if (pidf_parse(path, &pid) == 0 && pid == getpid())
        unlink(path);
}
