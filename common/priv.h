/*
 * Privileges: the user and group that workers run as (keys user and
 * group). The master starts as root to bind its ports, forks each worker,
 * and the worker gives up root before it serves anyone; the master stays
 * root, because a reload that adds workers opens listeners on the public
 * port (which may be below 1024). No Redis, no events: plain libc.
 */
#ifndef WSGATE_COMMON_PRIV_H
#define WSGATE_COMMON_PRIV_H

#include <stddef.h>
#include <sys/types.h>

/* Who to become: no user means "stay who we are". */
struct priv_id {
    int set;    /* 0: keys user and group empty */
    uid_t uid;
    gid_t gid;
};

/* Resolve user (a name or a decimal uid; "" for none) and group (a name
 * or a decimal gid; "" for the user's primary group) into *id. 0, or -1
 * with a message in err: an unknown user or group, a group without a
 * user, or user root (uid 0: nothing would be given up). */
int priv_lookup(const char *user, const char *group, struct priv_id *id,
    char *err, size_t errlen);

/* In a freshly forked worker: become id (supplementary groups cleared to
 * gid alone, then the gid, then the uid) and check that root cannot be
 * regained. Nothing when id is not set. 0, or -1 with a message in err
 * (the caller must not go on as root). */
int priv_drop(const struct priv_id *id, char *err, size_t errlen);

/* Give the open file fd to id (so that workers running as id can reopen
 * a log file the master created). Nothing when id is not set or fd <= 2.
 * 0, or -1 (errno set). */
int priv_give(const struct priv_id *id, int fd);

#endif
