/*
 * wsgate entry point: command-line flags, building the configuration in
 * precedence order (defaults < file < environment < flags), -t, -s,
 * daemonizing and the pidfile. Everything after startup is sup.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/config.h"
#include "common/log.h"
#include "common/tcx.h"
#include "common/tokcfg.h"
#include "common/wsg.h"
#include "master/pidf.h"
#include "master/sup.h"

#define MAIN_DEFAULT_CONF "/etc/wsgate/wsgate.conf"
#define MAIN_MAX_FLAGS 16

extern char **environ;

/* Flag values kept for reloads: flags always win over file and env. */
static struct {
    const char *key, *value, *origin;
} main_flags[MAIN_MAX_FLAGS];
static int main_nflags;
static const char *main_conf_path;
static int main_conf_explicit;

static void
main_usage(FILE *f)
{
    fprintf(f,
        "usage: wsgate [options]\n"
        "  -c FILE            configuration file (default %s)\n"
        "  -t                 check the configuration and exit\n"
        "  -p PORT            public port (key port)\n"
        "  -a HOST:PORT       admin listener (key admin_listen)\n"
        "  -w N               worker processes (key workers; 0 = CPUs)\n"
        "  -d                 daemonize (key daemonize; needs a pidfile)\n"
        "  --pid FILE         pidfile (key pid_file)\n"
        "  -l LEVEL           log level (key log_level)\n"
        "  -s SIGNAL          send stop, reload or reopen to the running\n"
        "                     master named by the pidfile, and exit\n"
        "  -V                 print the version and exit\n"
        "  -h                 print this help and exit\n"
        "usage: wsgate token -u USER [--role ROLE] [--rooms PATTERNS]\n"
        "                    [--ttl SECONDS] [-c FILE]\n"
        "  print a JWT signed with the configured HS secret\n",
        MAIN_DEFAULT_CONF);
}

static int
main_add_flag(const char *key, const char *value, const char *origin)
{
    if (main_nflags == MAIN_MAX_FLAGS)
        return -1;
    main_flags[main_nflags].key = key;
    main_flags[main_nflags].value = value;
    main_flags[main_nflags].origin = origin;
    main_nflags++;
    return 0;
}

/* Build a configuration from scratch (used at start and by reloads). */
static int
main_load(struct cfg *c, char *err, size_t errlen)
{
    if (cfg_init(c) == -1) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (main_conf_explicit || access(main_conf_path, F_OK) == 0) {
        if (cfg_load_file(c, main_conf_path, err, errlen) == -1)
            goto fail;
    }
    if (cfg_apply_env(c, environ, err, errlen) == -1)
        goto fail;
    for (int i = 0; i < main_nflags; i++)
        if (cfg_set(c, main_flags[i].key, main_flags[i].value,
                main_flags[i].origin, err, errlen) == -1)
            goto fail;
    if (cfg_validate(c, err, errlen) == -1)
        goto fail;
    struct tokcfg tc;
    if (tokcfg_load(&tc, c, err, errlen) == -1)
        goto fail;
    tokcfg_free(&tc);
    return 0;
fail:
    cfg_free(c);
    return -1;
}

/* 1 if pid has exited but is not reaped yet (state Z in /proc). */
static int
main_zombie(pid_t pid)
{
    char path[64], buf[256], *p;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    f = fopen(path, "re");
    if (f == NULL)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    return p != NULL && p[1] == ' ' && p[2] == 'Z';
}

static int
main_signal(const struct cfg *c, const char *what)
{
    int sig;
    const char *path = CFG_STR(c, pid_file);
    pid_t pid;

    if (strcmp(what, "stop") == 0)
        sig = SIGTERM;
    else if (strcmp(what, "reload") == 0)
        sig = SIGHUP;
    else if (strcmp(what, "reopen") == 0)
        sig = SIGUSR1;
    else {
        fprintf(stderr, "wsgate: -s: unknown signal '%s' (expected stop, "
            "reload or reopen)\n", what);
        return WSG_EXIT_CONFIG;
    }
    if (path[0] == '\0') {
        fprintf(stderr, "wsgate: -s %s: no pidfile configured (--pid FILE "
            "or key pid_file)\n", what);
        return WSG_EXIT_CONFIG;
    }
    if (pidf_read(path, &pid) == -1) {
        fprintf(stderr, "wsgate: -s %s: %s: no running master\n", what,
            path);
        return WSG_EXIT_RUNTIME;
    }
    if (kill(pid, sig) == -1) {
        fprintf(stderr, "wsgate: -s %s: kill(%ld): %s\n", what, (long)pid,
            strerror(errno));
        return WSG_EXIT_RUNTIME;
    }
    if (sig != SIGTERM)
        return WSG_EXIT_OK;
    /* Wait for the master to finish its graceful stop. */
    int64_t deadline = wsg_mono_ms() + CFG_NUM(c, shutdown_timeout) + 5000;
    /* Wait until the master is gone (an exited master nobody reaped yet
     * is a zombie: it counts as gone). */
    while ((kill(pid, 0) == 0 || errno == EPERM) && !main_zombie(pid)) {
        if (wsg_mono_ms() > deadline) {
            fprintf(stderr, "wsgate: -s stop: master %ld still running\n",
                (long)pid);
            return WSG_EXIT_RUNTIME;
        }
        usleep(50 * 1000);
    }
    return WSG_EXIT_OK;
}

/* Write end of the pipe the original process waits on (-d). */
static int main_ready_fd = -1;

/* Tell the waiting parent of -d that startup succeeded. */
static void
main_ready(void)
{
    if (main_ready_fd != -1) {
        ssize_t w = write(main_ready_fd, "1", 1);
        (void)w;
        close(main_ready_fd);
        main_ready_fd = -1;
    }
}

/* Detach from the terminal. The original process exits only when the
 * daemon reports that it started (pidfile written), so -d returns non-zero
 * when startup fails. */
static int
main_daemonize(const struct cfg *c)
{
    int pfd[2], fd;
    pid_t pid;

    if (pipe2(pfd, O_CLOEXEC) == -1) {
        log_errno(LOG_ERR, "pipe() to daemonize");
        return -1;
    }
    pid = fork();
    if (pid == -1) {
        log_errno(LOG_ERR, "fork() to daemonize");
        return -1;
    }
    if (pid > 0) {
        char b;
        close(pfd[1]);
        _exit(read(pfd[0], &b, 1) == 1 ? WSG_EXIT_OK : WSG_EXIT_RUNTIME);
    }
    close(pfd[0]);
    main_ready_fd = pfd[1];
    if (setsid() == -1) {
        log_errno(LOG_ERR, "setsid()");
        return -1;
    }
    pid = fork();
    if (pid == -1) {
        log_errno(LOG_ERR, "second fork() to daemonize");
        return -1;
    }
    if (pid > 0)
        _exit(0);
    if (chdir("/") == -1)
        log_errno(LOG_WARNING, "chdir(/)");
    umask(027);
    fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd != -1) {
        dup2(fd, 0);
        dup2(fd, 1);
        /* Without a log file, stderr stays where the caller sent it. */
        if (CFG_STR(c, log_file)[0] != '\0')
            dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
    return 0;
}

/* libevent's own warnings go through our log. */
static void
main_event_log(int severity, const char *msg)
{
    int lvl = severity >= EVENT_LOG_ERR ? LOG_ERR
        : severity == EVENT_LOG_WARN ? LOG_WARNING : LOG_DEBUG;

    log_msg(lvl, "libevent: %s", msg);
}

/* Raise the open-file soft limit to the hard one (DESIGN §6). */
static void
main_raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
            log_errno(LOG_WARNING, "setrlimit(RLIMIT_NOFILE)");
    }
}

/* `wsgate token`: a JWT for testing and support, signed with jwt_secret
 * (like centrifugo gentoken). */
static int
main_token(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"role", required_argument, NULL, 'r'},
        {"rooms", required_argument, NULL, 'R'},
        {"ttl", required_argument, NULL, 'T'},
        {NULL, 0, NULL, 0},
    };
    const char *user = NULL, *role = NULL, *rooms = NULL;
    long long ttl = 3600;
    char err[CFG_ERR_MAX], *tok = NULL, *end;
    struct cfg c;
    int opt, alg;

    main_conf_path = MAIN_DEFAULT_CONF;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "u:c:", longopts, NULL)) != -1) {
        switch (opt) {
        case 'u':
            user = optarg;
            break;
        case 'c':
            main_conf_path = optarg;
            main_conf_explicit = 1;
            break;
        case 'r':
            role = optarg;
            break;
        case 'R':
            rooms = optarg;
            break;
        case 'T':
            ttl = strtoll(optarg, &end, 10);
            if (*end != '\0' || ttl < 0) {
                fprintf(stderr, "wsgate token: --ttl: expected seconds\n");
                return WSG_EXIT_CONFIG;
            }
            break;
        default:
            main_usage(stderr);
            return WSG_EXIT_CONFIG;
        }
    }
    if (user == NULL || *user == '\0') {
        fprintf(stderr, "wsgate token: -u USER is required\n");
        return WSG_EXIT_CONFIG;
    }
    if (main_load(&c, err, sizeof(err)) == -1) {
        fprintf(stderr, "wsgate: %s\n", err);
        return WSG_EXIT_CONFIG;
    }
    alg = tok_alg_parse(CFG_STR(&c, jwt_alg));
    if (alg < 0 || alg > TOK_ALG_HS512 || CFG_STR(&c, jwt_secret)[0] == 0) {
        fprintf(stderr, "wsgate token: needs an HS* jwt_alg and a jwt_secret "
            "(or JWT_SECRET)\n");
        cfg_free(&c);
        return WSG_EXIT_CONFIG;
    }
    if (tok_sign((enum tok_alg)alg,
            (const unsigned char *)CFG_STR(&c, jwt_secret),
            strlen(CFG_STR(&c, jwt_secret)), user, role, rooms,
            wsg_real_ms() / 1000, ttl, CFG_STR(&c, jwt_user_claim),
            CFG_STR(&c, jwt_role_claim), &tok) == -1) {
        fprintf(stderr, "wsgate token: signing failed\n");
        cfg_free(&c);
        return WSG_EXIT_RUNTIME;
    }
    printf("%s\n", tok);
    free(tok);
    cfg_free(&c);
    return WSG_EXIT_OK;
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"pid", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct cfg *c = NULL;
    char err[CFG_ERR_MAX];
    const char *sigwhat = NULL;
    int test = 0, opt, rc;

    if (argc > 1 && strcmp(argv[1], "token") == 0)
        return main_token(argc - 1, argv + 1);
    main_conf_path = MAIN_DEFAULT_CONF;
    while ((opt = getopt_long(argc, argv, "c:tp:a:w:dl:s:Vh", longopts,
                NULL)) != -1) {
        int r = 0;
        switch (opt) {
        case 'c':
            main_conf_path = optarg;
            main_conf_explicit = 1;
            break;
        case 't':
            test = 1;
            break;
        case 'p':
            r = main_add_flag("port", optarg, "flag -p");
            break;
        case 'a':
            r = main_add_flag("admin_listen", optarg, "flag -a");
            break;
        case 'w':
            r = main_add_flag("workers", optarg, "flag -w");
            break;
        case 'd':
            r = main_add_flag("daemonize", "on", "flag -d");
            break;
        case 'P':
            r = main_add_flag("pid_file", optarg, "flag --pid");
            break;
        case 'l':
            r = main_add_flag("log_level", optarg, "flag -l");
            break;
        case 's':
            sigwhat = optarg;
            break;
        case 'V':
            printf("wsgate %s\n", WSG_VERSION);
            return WSG_EXIT_OK;
        case 'h':
            main_usage(stdout);
            return WSG_EXIT_OK;
        default:
            main_usage(stderr);
            return WSG_EXIT_CONFIG;
        }
        if (r == -1) {
            fprintf(stderr, "wsgate: too many flags\n");
            return WSG_EXIT_CONFIG;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wsgate: unexpected argument '%s'\n", argv[optind]);
        main_usage(stderr);
        return WSG_EXIT_CONFIG;
    }

    c = calloc(1, sizeof(*c));
    if (c == NULL || main_load(c, err, sizeof(err)) == -1) {
        fprintf(stderr, "wsgate: %s\n", c ? err : "out of memory");
        /* -s only needs the pidfile: with --pid it works even when the
         * configuration is broken (e.g. to stop a running master). */
        for (int i = 0; c && sigwhat && i < main_nflags; i++)
            if (strcmp(main_flags[i].key, "pid_file") == 0
                && cfg_init(c) == 0) {
                char e2[CFG_ERR_MAX];
                if (cfg_set(c, "pid_file", main_flags[i].value,
                        "flag --pid", e2, sizeof(e2)) == 0) {
                    rc = main_signal(c, sigwhat);
                    cfg_free(c);
                    free(c);
                    return rc;
                }
                cfg_free(c);
            }
        free(c);
        return WSG_EXIT_CONFIG;
    }
    if (sigwhat != NULL) {
        rc = main_signal(c, sigwhat);
        cfg_free(c);
        free(c);
        return rc;
    }
    if (test) {
        char terr[CFG_ERR_MAX];
        if (tcx_check(c, terr, sizeof(terr)) == -1) {
            fprintf(stderr, "wsgate: %s\n", terr);
            cfg_free(c);
            free(c);
            return WSG_EXIT_CONFIG;
        }
        printf("wsgate: configuration %s is ok (%u workers, public %s:%lld, "
            "admin %s)\n", main_conf_explicit || access(main_conf_path,
                F_OK) == 0 ? main_conf_path : "(defaults)",
            sup_nslots(c), CFG_STR(c, bind), (long long)CFG_NUM(c, port),
            CFG_STR(c, admin_listen));
        if (c->unknown_env[0])
            printf("wsgate: ignored environment variables that name no "
                "key: %s\n", c->unknown_env);
        cfg_free(c);
        free(c);
        return WSG_EXIT_OK;
    }

    log_set_role("master");
    log_set_level((int)CFG_NUM(c, log_level));
    log_set_json((int)CFG_NUM(c, log_format));
    if (log_open(CFG_STR(c, log_file)) == -1) {
        fprintf(stderr, "wsgate: log_file %s: %s\n", CFG_STR(c, log_file),
            strerror(errno));
        goto fail;
    }
    event_set_log_callback(main_event_log);
    if (CFG_STR(c, user)[0] && geteuid() != 0) {
        log_msg(LOG_ERR, "%s: key 'user': the master must start as root to "
            "run its workers as '%s'; leave the key empty to run as uid "
            "%ld", c->origin[CFG_K_user], CFG_STR(c, user), (long)geteuid());
        goto fail;
    }
    sup_give_log(c);
    main_raise_nofile();
    if (sup_bind(c) == -1)
        goto fail;
    if (CFG_NUM(c, daemonize) && main_daemonize(c) == -1)
        goto fail;
    if (CFG_STR(c, pid_file)[0] != '\0'
        && pidf_write(CFG_STR(c, pid_file)) == -1)
        goto fail;
    main_ready();
    return sup_run(c, main_load);
fail:
    cfg_free(c);
    free(c);
    return WSG_EXIT_RUNTIME;
}
