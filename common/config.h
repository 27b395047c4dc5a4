/*
 * Configuration: the key table (config.def), a `key = value` file parser,
 * WSGATE_<KEY> environment overrides plus the CRM's legacy names, and
 * command-line values, applied in precedence order
 * defaults < file < environment < flags. Every error names its origin
 * (file:line, environment variable or flag) and the key.
 */
#ifndef WSGATE_COMMON_CONFIG_H
#define WSGATE_COMMON_CONFIG_H

#include <stddef.h>
#include <stdint.h>

enum cfg_type {
    CFG_T_STR, CFG_T_BOOL, CFG_T_INT, CFG_T_PORT, CFG_T_MS, CFG_T_SEC,
    CFG_T_SIZE, CFG_T_ADDR, CFG_T_LEVEL, CFG_T_FORMAT, CFG_T_ORIGINS,
    CFG_T_JWTALG, CFG_T_MULTI,
};

enum cfg_key {
#define CFG(key, type, dflt, min, max, help) CFG_K_##key,
#include "config.def"
    CFG__COUNT
};

struct cfg_desc {
    const char *key;
    enum cfg_type type;
    const char *dflt;
    int64_t min, max;
    const char *help;
};

extern const struct cfg_desc cfg_desc[CFG__COUNT];

/* Parsed configuration. Strings are owned by the struct (cfg_free). */
struct cfg {
    /* Numeric value of every key (ms for durations, bytes for sizes,
     * 0/1 for BOOL, the syslog level for LEVEL, 1 for json FORMAT). */
    int64_t num[CFG__COUNT];
    /* Text value of every key as last set (normalised for ADDR). */
    char *str[CFG__COUNT];
    /* Where each value came from, for -t and error messages. */
    char origin[CFG__COUNT][48];
    /* admin_listen split into host and port. */
    char admin_host[256];
    int admin_port;
    /* WSGATE_* variables that name no key, comma-separated (cut with
     * "..." when long): warned about, not fatal (cfg_apply_env). */
    char unknown_env[512];
};

#define CFG_NUM(c, k) ((c)->num[CFG_K_##k])
#define CFG_STR(c, k) ((const char *)(c)->str[CFG_K_##k])

/* Error text buffer size callers should provide. */
#define CFG_ERR_MAX 512

/* Fill c with the defaults. Returns 0, or -1 on allocation failure. */
int cfg_init(struct cfg *c);

/* Release the strings of c (c itself is the caller's). Accepts NULL. */
void cfg_free(struct cfg *c);

/* Set key to the text value; origin names the source for messages (e.g.
 * "wsgate.conf:12", "environment WSGATE_PORT", "flag -p"). Returns 0, or
 * -1 with a message in err naming origin and key. */
int cfg_set(struct cfg *c, const char *key, const char *value,
    const char *origin, char *err, size_t errlen);

/* Parse the file at path into c. Returns 0, or -1 with err naming file,
 * line and key (or the reason the file could not be read). */
int cfg_load_file(struct cfg *c, const char *path, char *err, size_t errlen);

/* Parse an in-memory buffer as if it were the file `name`. */
int cfg_load_buffer(struct cfg *c, const char *buf, size_t len,
    const char *name, char *err, size_t errlen);

/* Apply WSGATE_<KEY> variables and the legacy names PORT, FRONTEND_URL
 * from env (a NULL-terminated environ-style array). A WSGATE_ variable
 * that names no key is not an error (deployment tools set unrelated ones
 * with that prefix): its name goes to c->unknown_env for the caller to
 * warn about. A bad value of a known key is an error. Legacy names lose
 * to their WSGATE_ form. */
int cfg_apply_env(struct cfg *c, char *const *env, char *err, size_t errlen);

/* Cross-key checks after everything is applied. 0 or -1 with err. */
int cfg_validate(const struct cfg *c, char *err, size_t errlen);

/* Index of key, or -1. */
int cfg_lookup(const char *key);

/* Parse a duration/size text for a key type (exposed for tests). */
int cfg_parse_number(enum cfg_type t, const char *s, int64_t *out);

#endif
