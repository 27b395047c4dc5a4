/*
 * Privileges (priv.h).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "priv.h"

/* A decimal id, or -1. */
static long long
priv_number(const char *s)
{
    long long v = 0;

    if (*s == '\0' || strlen(s) > 10)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v <= UINT32_MAX - 1 ? v : -1;
}

int
priv_lookup(const char *user, const char *group, struct priv_id *id,
    char *err, size_t errlen)
{
    struct passwd pw, *pp = NULL;
    struct group gr, *gp = NULL;
    char buf[16384];
    long long n;

    memset(id, 0, sizeof(*id));
    if (*user == '\0') {
        if (*group == '\0')
            return 0;
        snprintf(err, errlen, "key 'group' needs key 'user'");
        return -1;
    }
    if ((n = priv_number(user)) >= 0) {
        id->uid = (uid_t)n;
        if (getpwuid_r(id->uid, &pw, buf, sizeof(buf), &pp) == 0 && pp)
            id->gid = pw.pw_gid;
        else if (*group == '\0') {
            snprintf(err, errlen, "key 'user': uid %s has no entry in the "
                "user database; give key 'group' too", user);
            return -1;
        }
    } else {
        if (getpwnam_r(user, &pw, buf, sizeof(buf), &pp) != 0 || pp == NULL) {
            snprintf(err, errlen, "key 'user': no user named '%s'", user);
            return -1;
        }
        id->uid = pw.pw_uid;
        id->gid = pw.pw_gid;
    }
    if (id->uid == 0) {
        snprintf(err, errlen, "key 'user': '%s' is root; name an "
            "unprivileged user, or leave the key empty", user);
        return -1;
    }
    if (*group != '\0') {
        if ((n = priv_number(group)) >= 0) {
            id->gid = (gid_t)n;
        } else if (getgrnam_r(group, &gr, buf, sizeof(buf), &gp) != 0
            || gp == NULL) {
            snprintf(err, errlen, "key 'group': no group named '%s'", group);
            return -1;
        } else {
            id->gid = gr.gr_gid;
        }
    }
    id->set = 1;
    return 0;
}

int
priv_drop(const struct priv_id *id, char *err, size_t errlen)
{
    if (!id->set)
        return 0;
    if (setgroups(1, &id->gid) == -1 || setgid(id->gid) == -1
        || setuid(id->uid) == -1) {
        snprintf(err, errlen, "cannot become uid %ld gid %ld: %s",
            (long)id->uid, (long)id->gid, strerror(errno));
        return -1;
    }
    if (getuid() != id->uid || geteuid() != id->uid || getgid() != id->gid
        || getegid() != id->gid || setuid(0) != -1) {
        snprintf(err, errlen, "uid %ld gid %ld did not stick", (long)id->uid,
            (long)id->gid);
        return -1;
    }
    return 0;
}

int
priv_give(const struct priv_id *id, int fd)
{
    if (!id->set || fd <= 2)
        return 0;
    return fchown(fd, id->uid, id->gid);
}
