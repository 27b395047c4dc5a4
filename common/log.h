/*
 * Logging: one line per event with time, level, role, pid and message, in
 * plain text or JSON, to stderr or a file that USR1 reopens. Levels are
 * syslog's. Never call from signal context (signals are loop events).
 */
#ifndef WSGATE_COMMON_LOG_H
#define WSGATE_COMMON_LOG_H

#include <syslog.h>

/* Set the role shown on each line: "master", or "w<slot>" for a worker. */
void log_set_role(const char *role);

/* Lowest level written (LOG_DEBUG..LOG_EMERG). */
void log_set_level(int level);
int log_get_level(void);

/* 1 for JSON lines, 0 for plain text. */
void log_set_json(int on);

/* Parse "debug", "info", "notice", "warn", "err", "crit", "alert", "emerg"
 * (and "warning", "error"). Returns the level or -1. */
int log_level_parse(const char *s);
const char *log_level_name(int level);

/* Log to path (appending; created 0640) or to stderr when path is NULL or
 * empty. Returns 0, or -1 with errno set (the previous target is kept). */
int log_open(const char *path);

/* Reopen the current log file (after rotation). 0 or -1. */
int log_reopen(void);

/* The descriptor lines go to (2 for stderr); a forked child keeps it. */
int log_fileno(void);

void log_msg(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Like log_msg, appending ": " and strerror(errno). */
void log_errno(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
