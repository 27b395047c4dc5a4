/*
 * Clocks. Monotonic time is what heartbeats and timeouts use; wall time is
 * for display (start times, log lines, pong timestamps) and for the
 * append time of message-log entries (microseconds), which workers compare
 * with their own reading to measure delivery latency.
 */
#include <sys/resource.h>
#include <time.h>

#include "wsg.h"

int64_t
wsg_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
wsg_real_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
wsg_real_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long
wsg_conn_limit(long configured)
{
    struct rlimit rl;
    long lim;

    if (configured > 0)
        return configured;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
        return 1000000;
    /* Keep descriptors for the listener, log, handoff sockets and the
     * accept-then-refuse path of a full worker. */
    lim = (long)rl.rlim_cur - 64;
    return lim > 0 ? lim : 1;
}
