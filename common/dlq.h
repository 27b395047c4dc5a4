/*
 * Deadline queues: an intrusive doubly linked list of nodes ordered by
 * due time (milliseconds on any clock the caller chooses). Insertion
 * walks from the tail, so it is O(1) when deadlines arrive in order, the
 * common case of members that share one delay, and still correct when
 * delays differ (after a reload, or between queues' users). Nodes with
 * equal due times keep their insertion order. No allocation, no clock.
 */
#ifndef WSGATE_COMMON_DLQ_H
#define WSGATE_COMMON_DLQ_H

#include <stddef.h>
#include <stdint.h>

struct dlq_node {
    struct dlq_node *prev, *next;
    int64_t due;
};

struct dlq {
    struct dlq_node *head, *tail;
};

/* The struct that contains node n as member m. */
#define DLQ_ENTRY(n, type, m) \
    ((type *)(void *)((char *)(n) - offsetof(type, m)))

/* Insert n, which must not be in any queue, into q at its place for due
 * (after every node due at or before it). Borrows both. */
void dlq_insert(struct dlq *q, struct dlq_node *n, int64_t due);

/* Remove n from q, which must hold it. n's links are cleared. */
void dlq_remove(struct dlq *q, struct dlq_node *n);

/* 1 when n is in q (n must be in q or in no queue at all). O(1). */
int dlq_contains(const struct dlq *q, const struct dlq_node *n);

#endif
