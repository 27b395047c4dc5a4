/*
 * Configuration parser. Owns the key table, the text-to-value conversion of
 * each key type, the file format (`key = value`, full-line `#` comments,
 * optional double quotes around a value) and the environment mapping. It
 * does not decide what a key means; master and workers read struct cfg.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "priv.h"
#include "prx.h"
#include "log.h"
#include "rent.h"
#include "rurl.h"

#define CFG_LINE_MAX 8192

const struct cfg_desc cfg_desc[CFG__COUNT] = {
#define CFG(key, type, dflt, min, max, help)                                   \
    [CFG_K_##key] = {#key, CFG_T_##type, dflt, min, max, help},
#include "config.def"
};

/* The deployment's historical variable names (DESIGN §7). */
static const struct {
    const char *env;
    const char *key;
} cfg_legacy_env[] = {
    {"PORT", "port"},
    {"FRONTEND_URL", "allowed_origins"},
    {"JWT_SECRET", "jwt_secret"},
};

static int cfg_convert(struct cfg *c, int k, const char *v, const char *origin,
    char *err, size_t errlen);

int
cfg_lookup(const char *key)
{
    for (int i = 0; i < CFG__COUNT; i++)
        if (strcmp(cfg_desc[i].key, key) == 0)
            return i;
    return -1;
}

int
cfg_init(struct cfg *c)
{
    char err[CFG_ERR_MAX];

    memset(c, 0, sizeof(*c));
    for (int i = 0; i < CFG__COUNT; i++) {
        /* Defaults are ours: failing here is a bug in config.def. */
        if (cfg_convert(c, i, cfg_desc[i].dflt, "default", err,
                sizeof(err)) == -1) {
            log_msg(LOG_CRIT, "%s", err);
            cfg_free(c);
            return -1;
        }
    }
    return 0;
}

void
cfg_free(struct cfg *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < CFG__COUNT; i++) {
        free(c->str[i]);
        c->str[i] = NULL;
    }
}

int
cfg_parse_number(enum cfg_type t, const char *s, int64_t *out)
{
    char *end;
    long long v;
    int64_t mul = 1;

    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0)
        return -1;
    if (t == CFG_T_MS || t == CFG_T_SEC) {
        mul = t == CFG_T_MS ? 1 : 1000;
        if (*end == '\0')
            ;
        else if (strcmp(end, "ms") == 0)
            mul = 1;
        else if (strcmp(end, "s") == 0)
            mul = 1000;
        else if (strcmp(end, "m") == 0)
            mul = 60000;
        else if (strcmp(end, "h") == 0)
            mul = 3600000;
        else
            return -1;
    } else if (t == CFG_T_SIZE) {
        if (*end == '\0')
            ;
        else if (strcasecmp(end, "k") == 0 || strcasecmp(end, "kb") == 0)
            mul = 1024;
        else if (strcasecmp(end, "m") == 0 || strcasecmp(end, "mb") == 0)
            mul = 1024 * 1024;
        else if (strcasecmp(end, "g") == 0 || strcasecmp(end, "gb") == 0)
            mul = 1024 * 1024 * 1024;
        else
            return -1;
    } else if (*end != '\0') {
        return -1;
    }
    if (v > INT64_MAX / mul)
        return -1;
    *out = (int64_t)v * mul;
    return 0;
}

/* Validate a host:port text; fills host/port. IPv6 as [::1]:9090. */
static int
cfg_split_addr(const char *v, char *host, size_t hostlen, int *port)
{
    const char *colon;
    size_t hl;
    int64_t p;
    unsigned char buf[sizeof(struct in6_addr)];

    if (*v == '[') {
        const char *rb = strchr(v, ']');
        if (rb == NULL || rb[1] != ':')
            return -1;
        hl = (size_t)(rb - v - 1);
        if (hl >= hostlen)
            return -1;
        memcpy(host, v + 1, hl);
        host[hl] = '\0';
        if (inet_pton(AF_INET6, host, buf) != 1)
            return -1;
        colon = rb + 1;
    } else {
        colon = strrchr(v, ':');
        if (colon == NULL)
            return -1;
        hl = (size_t)(colon - v);
        if (hl == 0 || hl >= hostlen)
            return -1;
        memcpy(host, v, hl);
        host[hl] = '\0';
        if (inet_pton(AF_INET, host, buf) != 1
            && strcmp(host, "localhost") != 0)
            return -1;
    }
    if (cfg_parse_number(CFG_T_INT, colon + 1, &p) == -1 || p < 1
        || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

static int
cfg_origins_ok(const char *v)
{
    const char *p = v;

    if (strcmp(v, "*") == 0)
        return 1;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n > 0 && isspace((unsigned char)*p)) {
            p++;
            n--;
        }
        while (n > 0 && isspace((unsigned char)p[n - 1]))
            n--;
        if (n == 0)
            return 0;
        if (!(n > 7 && strncmp(p, "http://", 7) == 0)
            && !(n > 8 && strncmp(p, "https://", 8) == 0))
            return 0;
        for (size_t i = 0; i < n; i++)
            if (isspace((unsigned char)p[i]) || p[i] == '*')
                return 0;
        if (e == NULL)
            break;
        p = e + 1;
    }
    return 1;
}

static const char *
cfg_type_expect(const struct cfg_desc *d)
{
    switch (d->type) {
    case CFG_T_BOOL:
        return "on or off";
    case CFG_T_INT:
        return "an integer";
    case CFG_T_PORT:
        return "a port number 1-65535";
    case CFG_T_MS:
        return "a duration (e.g. 500ms, 10s, 2m; bare numbers are ms)";
    case CFG_T_SEC:
        return "a duration (e.g. 30s, 2m; bare numbers are seconds)";
    case CFG_T_SIZE:
        return "a size in bytes (suffix k, m or g allowed)";
    case CFG_T_ADDR:
        return "host:port with an IP address (IPv6 as [addr]:port)";
    case CFG_T_LEVEL:
        return "debug, info, notice, warn, err, crit or alert";
    case CFG_T_FORMAT:
        return "plain or json";
    case CFG_T_ORIGINS:
        return "* or comma-separated origins like https://crm.example.com";
    case CFG_T_JWTALG:
        return "HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384 or ES512";
    case CFG_T_MULTI:
        return "PATTERN ROLE[,ROLE...]";
    case CFG_T_STR:
        break;
    }
    return "text";
}

/* room_rule-style keys: "PATTERN ROLE[,ROLE...]" lines appended in order.
 * An empty value clears the list (so a default of "" means none). */
static int
cfg_multi_add(struct cfg *c, int k, const char *v, const char *origin,
    char *err, size_t errlen)
{
    const char *sp = strpbrk(v, " \t");
    size_t old = c->str[k] ? strlen(c->str[k]) : 0, vl = strlen(v);
    char *s;

    if (*v == '\0') {
        free(c->str[k]);
        c->str[k] = strdup("");
        c->num[k] = 0;
        return c->str[k] ? 0 : -1;
    }
    if (sp == NULL || sp == v || sp[strspn(sp, " \t")] == '\0'
        || strpbrk(sp + strspn(sp, " \t"), " \t") != NULL) {
        snprintf(err, errlen, "%s: key '%s': bad value '%s': expected %s",
            origin, cfg_desc[k].key, v, cfg_type_expect(&cfg_desc[k]));
        return -1;
    }
    s = realloc(c->str[k], old + vl + 2);
    if (s == NULL) {
        snprintf(err, errlen, "%s: key '%s': out of memory", origin,
            cfg_desc[k].key);
        return -1;
    }
    memcpy(s + old, v, vl);
    s[old + vl] = '\n';
    s[old + vl + 1] = '\0';
    c->str[k] = s;
    c->num[k]++;
    snprintf(c->origin[k], sizeof(c->origin[k]), "%s", origin);
    return 0;
}

/* The STR keys with a grammar of their own; *n gets their numeric form
 * (redis_unavailable: 0 queue, 1 refuse; connect_proxy_fail: 0 closed,
 * 1 open). A redis_url is never echoed:
 * it may hold a password. */
static int
cfg_check_str(int k, const char *v, int64_t *n, const char *origin,
    char *err, size_t errlen)
{
    const char *key = cfg_desc[k].key;
    struct rurl u;
    enum rurl_status st;
    size_t len = strlen(v);

    switch (k) {
    case CFG_K_redis_url:
        if (*v == '\0' || (st = rurl_parse(v, &u)) == RURL_OK)
            return 0;
        snprintf(err, errlen, "%s: key '%s': bad URL: %s", origin, key,
            rurl_strerror(st));
        return -1;
    case CFG_K_node_name:
        if (len > RENT_ORIGIN_MAX)
            goto bad_name;
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e)
                goto bad_name;
        return 0;
    case CFG_K_redis_stream:
    case CFG_K_redis_emitter_key:
        if (len == 0 || len > 200)
            goto bad_name;
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e)
                goto bad_name;
        return 0;
    case CFG_K_redis_unavailable:
        if (strcmp(v, "queue") == 0 || strcmp(v, "refuse") == 0) {
            *n = v[0] == 'r';
            return 0;
        }
        snprintf(err, errlen, "%s: key '%s': bad value '%s': expected queue "
            "or refuse", origin, key, v);
        return -1;
    case CFG_K_connect_proxy_fail:
        if (strcmp(v, "closed") == 0 || strcmp(v, "open") == 0) {
            *n = v[0] == 'o';
            return 0;
        }
        snprintf(err, errlen, "%s: key '%s': bad value '%s': expected closed "
            "or open", origin, key, v);
        return -1;
    case CFG_K_connect_proxy_url:
    case CFG_K_event_proxy_url:
        if (*v == '\0' || strncmp(v, "http://", 7) == 0)
            return 0;
        snprintf(err, errlen, "%s: key '%s': expected an http:// URL", origin,
            key);
        return -1;
    case CFG_K_proxy_secret_header:
        for (size_t i = 0; i < len; i++)
            if (!(isalnum((unsigned char)v[i]) || v[i] == '-' || v[i] == '_'))
                len = 0;
        if (len > 0 && len <= 64)
            return 0;
        snprintf(err, errlen, "%s: key '%s': expected a header name", origin,
            key);
        return -1;
    default:
        return 0;
    }
bad_name:
    snprintf(err, errlen, "%s: key '%s': bad value '%s': expected %s "
        "printable ASCII characters without spaces", origin, key, v,
        k == CFG_K_node_name ? "0-128" : "1-200");
    return -1;
}

static int
cfg_convert(struct cfg *c, int k, const char *v, const char *origin,
    char *err, size_t errlen)
{
    const struct cfg_desc *d = &cfg_desc[k];
    int64_t n = 0;
    int ok = 1;
    char host[256];
    int port = 0;
    unsigned char ab[sizeof(struct in6_addr)];

    switch (d->type) {
    case CFG_T_STR:
        if (k == CFG_K_bind && inet_pton(AF_INET, v, ab) != 1
            && inet_pton(AF_INET6, v, ab) != 1) {
            snprintf(err, errlen, "%s: key '%s': bad value '%s': expected an "
                "IPv4 or IPv6 address", origin, d->key, v);
            return -1;
        }
        if (cfg_check_str(k, v, &n, origin, err, errlen) == -1)
            return -1;
        break;
    case CFG_T_BOOL:
        if (strcasecmp(v, "on") == 0 || strcasecmp(v, "yes") == 0
            || strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
            n = 1;
        else if (strcasecmp(v, "off") == 0 || strcasecmp(v, "no") == 0
            || strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
            n = 0;
        else
            ok = 0;
        break;
    case CFG_T_INT:
    case CFG_T_PORT:
    case CFG_T_MS:
    case CFG_T_SEC:
    case CFG_T_SIZE:
        ok = cfg_parse_number(d->type, v, &n) == 0;
        if (ok && (d->min != 0 || d->max != 0) && (n < d->min || n > d->max)) {
            snprintf(err, errlen, "%s: key '%s': value '%s' out of range "
                "[%lld, %lld]%s", origin, d->key, v, (long long)d->min,
                (long long)d->max,
                d->type == CFG_T_MS || d->type == CFG_T_SEC ? " ms"
                : d->type == CFG_T_SIZE ? " bytes" : "");
            return -1;
        }
        break;
    case CFG_T_ADDR:
        ok = cfg_split_addr(v, host, sizeof(host), &port) == 0;
        break;
    case CFG_T_LEVEL:
        n = log_level_parse(v);
        ok = n >= 0;
        break;
    case CFG_T_FORMAT:
        if (strcmp(v, "plain") == 0)
            n = 0;
        else if (strcmp(v, "json") == 0)
            n = 1;
        else
            ok = 0;
        break;
    case CFG_T_ORIGINS:
        ok = cfg_origins_ok(v);
        break;
    case CFG_T_JWTALG:
        ok = strlen(v) == 5 && strchr("HRE", v[0]) != NULL && v[1] == 'S'
            && (strcmp(v + 2, "256") == 0 || strcmp(v + 2, "384") == 0
                || strcmp(v + 2, "512") == 0);
        break;
    case CFG_T_MULTI:
        return cfg_multi_add(c, k, v, origin, err, errlen);
    }
    if (!ok) {
        snprintf(err, errlen, "%s: key '%s': bad value '%s': expected %s",
            origin, d->key, v, cfg_type_expect(d));
        return -1;
    }
    char *s = strdup(v);
    if (s == NULL) {
        snprintf(err, errlen, "%s: key '%s': out of memory", origin, d->key);
        return -1;
    }
    free(c->str[k]);
    c->str[k] = s;
    c->num[k] = n;
    snprintf(c->origin[k], sizeof(c->origin[k]), "%s", origin);
    if (d->type == CFG_T_ADDR && k == CFG_K_admin_listen) {
        snprintf(c->admin_host, sizeof(c->admin_host), "%s", host);
        c->admin_port = port;
    }
    return 0;
}

int
cfg_set(struct cfg *c, const char *key, const char *value, const char *origin,
    char *err, size_t errlen)
{
    int k = cfg_lookup(key);

    if (k < 0) {
        snprintf(err, errlen, "%s: unknown key '%s'", origin, key);
        return -1;
    }
    return cfg_convert(c, k, value, origin, err, errlen);
}

/* Trim ASCII whitespace at both ends in place; returns the new start. */
static char *
cfg_trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int
cfg_parse_line(struct cfg *c, char *line, const char *name, int lineno,
    int *seen, char *err, size_t errlen)
{
    char origin[300], *eq, *key, *val;
    int k;
    size_t vl;

    snprintf(origin, sizeof(origin), "%s:%d", name, lineno);
    key = cfg_trim(line);
    if (*key == '\0' || *key == '#')
        return 0;
    eq = strchr(key, '=');
    if (eq == NULL) {
        snprintf(err, errlen, "%s: expected 'key = value'", origin);
        return -1;
    }
    *eq = '\0';
    key = cfg_trim(key);
    val = cfg_trim(eq + 1);
    vl = strlen(val);
    if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
        val[vl - 1] = '\0';
        val++;
    }
    k = cfg_lookup(key);
    if (k < 0) {
        snprintf(err, errlen, "%s: unknown key '%s'", origin, key);
        return -1;
    }
    if (seen[k] && cfg_desc[k].type != CFG_T_MULTI) {
        snprintf(err, errlen, "%s: key '%s' set twice (first at line %d)",
            origin, key, seen[k]);
        return -1;
    }
    seen[k] = lineno;
    return cfg_convert(c, k, val, origin, err, errlen);
}

int
cfg_load_buffer(struct cfg *c, const char *buf, size_t len, const char *name,
    char *err, size_t errlen)
{
    int seen[CFG__COUNT] = {0};
    char line[CFG_LINE_MAX];
    size_t pos = 0;
    int lineno = 0;

    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
        lineno++;
        if (n >= sizeof(line)) {
            snprintf(err, errlen, "%s:%d: line longer than %d bytes", name,
                lineno, CFG_LINE_MAX - 1);
            return -1;
        }
        memcpy(line, buf + pos, n);
        line[n] = '\0';
        if (memchr(line, '\0', n) != NULL) {
            snprintf(err, errlen, "%s:%d: NUL byte in line", name, lineno);
            return -1;
        }
        if (cfg_parse_line(c, line, name, lineno, seen, err, errlen) == -1)
            return -1;
        pos += n + (nl != NULL);
    }
    return 0;
}

int
cfg_load_file(struct cfg *c, const char *path, char *err, size_t errlen)
{
    FILE *f = NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = -1;

    f = fopen(path, "re");
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    for (;;) {
        if (len + 4096 > cap) {
            if (cap >= (size_t)16 << 20) {
                snprintf(err, errlen, "%s: file larger than 16 MiB", path);
                goto out;
            }
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (nb == NULL) {
                snprintf(err, errlen, "%s: out of memory", path);
                goto out;
            }
            buf = nb;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        goto out;
    }
    rc = cfg_load_buffer(c, buf, len, path, err, errlen);
out:
    free(buf);
    fclose(f);
    return rc;
}

/* Add name[0..n) to c->unknown_env, or "..." once it is full. */
static void
cfg_note_unknown_env(struct cfg *c, const char *name, size_t n)
{
    size_t used = strlen(c->unknown_env), cap = sizeof(c->unknown_env);

    if (used >= 3 && strcmp(c->unknown_env + used - 3, "...") == 0)
        return;
    if (used + (used ? 2 : 0) + n + 4 >= cap) {
        snprintf(c->unknown_env + used, cap - used, "%s...", used ? ", "
            : "");
        return;
    }
    snprintf(c->unknown_env + used, cap - used, "%s%.*s", used ? ", " : "",
        (int)n, name);
}

int
cfg_apply_env(struct cfg *c, char *const *env, char *err, size_t errlen)
{
    char origin[160], key[128];
    int wsgate_set[CFG__COUNT] = {0};

    for (char *const *e = env; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        size_t kl;
        if (eq == NULL || strncmp(*e, "WSGATE_", 7) != 0)
            continue;
        kl = (size_t)(eq - *e) - 7;
        int k = -1;
        if (kl > 0 && kl < sizeof(key)) {
            for (size_t i = 0; i < kl; i++)
                key[i] = (char)tolower((unsigned char)(*e)[7 + i]);
            key[kl] = '\0';
            k = cfg_lookup(key);
        }
        if (k < 0) {
            cfg_note_unknown_env(c, *e, (size_t)(eq - *e));
            continue;
        }
        snprintf(origin, sizeof(origin), "environment %.*s", (int)(eq - *e),
            *e);
        if (cfg_convert(c, k, eq + 1, origin, err, errlen) == -1)
            return -1;
        wsgate_set[k] = 1;
    }
    for (size_t i = 0; i < sizeof(cfg_legacy_env) / sizeof(*cfg_legacy_env);
         i++) {
        int k = cfg_lookup(cfg_legacy_env[i].key);
        size_t nl = strlen(cfg_legacy_env[i].env);
        if (wsgate_set[k])
            continue;
        for (char *const *e = env; e && *e; e++) {
            if (strncmp(*e, cfg_legacy_env[i].env, nl) != 0 || (*e)[nl] != '=')
                continue;
            snprintf(origin, sizeof(origin), "environment %s",
                cfg_legacy_env[i].env);
            if (cfg_convert(c, k, *e + nl + 1, origin, err, errlen) == -1)
                return -1;
        }
    }
    return 0;
}

int
cfg_validate(const struct cfg *c, char *err, size_t errlen)
{
    if (CFG_NUM(c, daemonize) && CFG_STR(c, pid_file)[0] == '\0') {
        snprintf(err, errlen, "%s: key 'daemonize': needs pid_file to be set",
            c->origin[CFG_K_daemonize]);
        return -1;
    }
    struct priv_id pv;
    char perr[200];
    if (priv_lookup(CFG_STR(c, user), CFG_STR(c, group), &pv, perr,
            sizeof(perr)) == -1) {
        snprintf(err, errlen, "%s: %s", c->origin[CFG_STR(c, user)[0]
            ? CFG_K_user : CFG_K_group], perr);
        return -1;
    }
    int64_t ls = CFG_NUM(c, message_log_size);
    if ((ls & (ls - 1)) != 0) {
        snprintf(err, errlen, "%s: key 'message_log_size': %lld is not a "
            "power of two (e.g. 16m, 64m, 256m)",
            c->origin[CFG_K_message_log_size], (long long)ls);
        return -1;
    }
    if (CFG_NUM(c, respawn_delay_min) > CFG_NUM(c, respawn_delay_max)) {
        snprintf(err, errlen, "%s: key 'respawn_delay_min': larger than "
            "respawn_delay_max", c->origin[CFG_K_respawn_delay_min]);
        return -1;
    }
    static const int urls[] = {CFG_K_connect_proxy_url, CFG_K_event_proxy_url};
    for (size_t i = 0; i < sizeof(urls) / sizeof(*urls); i++) {
        char why[128];
        if (c->str[urls[i]][0] != '\0' && !prx_url_ok(c->str[urls[i]],
                CFG_STR(c, proxy_allowed_host), why, sizeof(why))) {
            snprintf(err, errlen, "%s: key '%s': %s", c->origin[urls[i]],
                cfg_desc[urls[i]].key, why);
            return -1;
        }
    }
    if (CFG_NUM(c, node_record_ttl) < 2 * CFG_NUM(c, node_record_interval)) {
        snprintf(err, errlen, "%s: key 'node_record_ttl': shorter than twice "
            "node_record_interval (a live node would drop out between two "
            "writes)", c->origin[CFG_K_node_record_ttl]);
        return -1;
    }
    return 0;
}
