/*
 * Line logger shared by master and workers. Each process keeps its own
 * file descriptor, opened O_APPEND so lines from several processes never
 * interleave within a line (one write() per line).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 2048

static int log_fd = 2;
static int log_level = LOG_INFO;
static int log_json;
static char log_role[16] = "master";
static char log_path[4096];

static const char *const log_names[] = {
    "emerg", "alert", "crit", "err", "warn", "notice", "info", "debug",
};

void
log_set_role(const char *role)
{
    snprintf(log_role, sizeof(log_role), "%s", role);
}

void
log_set_level(int level)
{
    log_level = level;
}

int
log_get_level(void)
{
    return log_level;
}

void
log_set_json(int on)
{
    log_json = on;
}

int
log_level_parse(const char *s)
{
    for (int i = 0; i < 8; i++)
        if (strcasecmp(s, log_names[i]) == 0)
            return i;
    if (strcasecmp(s, "warning") == 0)
        return LOG_WARNING;
    if (strcasecmp(s, "error") == 0)
        return LOG_ERR;
    return -1;
}

const char *
log_level_name(int level)
{
    if (level < 0 || level > 7)
        return "?";
    return log_names[level];
}

int
log_open(const char *path)
{
    int fd;

    if (path == NULL || *path == '\0') {
        if (log_fd > 2)
            close(log_fd);
        log_fd = 2;
        log_path[0] = '\0';
        return 0;
    }
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd == -1)
        return -1;
    if (log_fd > 2)
        close(log_fd);
    log_fd = fd;
    snprintf(log_path, sizeof(log_path), "%s", path);
    return 0;
}

int
log_fileno(void)
{
    return log_fd;
}

int
log_reopen(void)
{
    if (log_path[0] == '\0')
        return 0;
    char path[sizeof(log_path)];
    memcpy(path, log_path, sizeof(path));
    return log_open(path);
}

/* Append s to b as a JSON string body (no quotes). */
static size_t
log_json_escape(char *b, size_t cap, size_t n, const char *s)
{
    for (; *s && n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            b[n++] = '\\';
            b[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(b + n, cap - n, "\\u%04x", c);
        } else {
            b[n++] = (char)c;
        }
    }
    return n;
}

static void
log_vwrite(int level, const char *fmt, va_list ap, int err)
{
    char msg[LOG_LINE_MAX], line[LOG_LINE_MAX * 2], ts[40];
    struct timespec now;
    struct tm tm;
    size_t n;
    int m;

    if (level > log_level)
        return;
    m = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (m < 0)
        return;
    n = (size_t)m < sizeof(msg) ? (size_t)m : sizeof(msg) - 1;
    if (err)
        snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(err));

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", now.tv_nsec / 1000000);

    if (log_json) {
        n = (size_t)snprintf(line, sizeof(line),
            "{\"ts\":\"%s\",\"level\":\"%s\",\"role\":\"%s\",\"pid\":%ld,"
            "\"msg\":\"", ts, log_level_name(level), log_role, (long)getpid());
        n = log_json_escape(line, sizeof(line), n, msg);
        n += (size_t)snprintf(line + n, sizeof(line) - n, "\"}\n");
    } else {
        n = (size_t)snprintf(line, sizeof(line), "%s [%s] %s[%ld]: %s\n", ts,
            log_level_name(level), log_role, (long)getpid(), msg);
    }
    if (n >= sizeof(line)) {
        n = sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    /* One write per line; a short write to a log is not worth retrying. */
    ssize_t w = write(log_fd, line, n);
    (void)w;
}

void
log_msg(int level, const char *fmt, ...)
{
    va_list ap;
    int saved = errno;

    va_start(ap, fmt);
    log_vwrite(level, fmt, ap, 0);
    va_end(ap);
    errno = saved;
}

void
log_errno(int level, const char *fmt, ...)
{
    va_list ap;
    int saved = errno;

    va_start(ap, fmt);
    log_vwrite(level, fmt, ap, saved);
    va_end(ap);
    errno = saved;
}
