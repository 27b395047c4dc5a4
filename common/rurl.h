/*
 * The redis_url key: `redis://[[user]:password@]host[:port][/db]` or
 * `unix://[[user]:password@]/path[?db=N]`, parsed into the parts the master
 * needs to connect, AUTH and SELECT. Pure: no allocation, no I/O.
 */
#ifndef WSGATE_COMMON_RURL_H
#define WSGATE_COMMON_RURL_H

#define RURL_HOST_MAX 256   /* host name or address, with its NUL */
#define RURL_PATH_MAX 108   /* sizeof(sun_path) */
#define RURL_SECRET_MAX 256 /* user or password, decoded, with its NUL */
#define RURL_DEFAULT_PORT 6379
#define RURL_DB_MAX 1000000

struct rurl {
    int is_unix;                  /* 1: path holds the socket */
    char host[RURL_HOST_MAX];     /* TCP: name, IPv4 or IPv6 (no brackets) */
    int port;                     /* TCP: 1-65535 */
    char path[RURL_PATH_MAX];     /* unix: absolute socket path */
    char user[RURL_SECRET_MAX];   /* empty: AUTH with the password only */
    char password[RURL_SECRET_MAX]; /* empty: no AUTH */
    int db;                       /* SELECT when non-zero */
};

enum rurl_status {
    RURL_OK = 0,
    RURL_E_SCHEME,   /* not redis:// or unix:// */
    RURL_E_AUTH,     /* user or password too long or badly %-encoded */
    RURL_E_HOST,     /* host missing, too long or malformed */
    RURL_E_PORT,     /* port not 1-65535 */
    RURL_E_DB,       /* database not 0-RURL_DB_MAX */
    RURL_E_PATH,     /* unix path missing, relative or too long */
    RURL_E_TRAILING, /* anything else after the URL's parts */
};

/* Parse the NUL-terminated text s into *u (every field set). Percent
 * escapes (%XX) are decoded in user and password. Returns RURL_OK or the
 * first problem found; *u is unspecified then. */
enum rurl_status rurl_parse(const char *s, struct rurl *u);

/* Static English text for a status, for config errors (never echoes the
 * URL, which may hold a password). */
const char *rurl_strerror(enum rurl_status st);

#endif
