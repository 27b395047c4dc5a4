/*
 * Deadline queues (see dlq.h): ordered insertion from the tail, O(1)
 * removal. The callers own the clock, the timers and the nodes.
 */
#include "common/dlq.h"

void
dlq_insert(struct dlq *q, struct dlq_node *n, int64_t due)
{
    struct dlq_node *after = q->tail;

    n->due = due;
    while (after && after->due > due)
        after = after->prev;
    n->prev = after;
    n->next = after ? after->next : q->head;
    if (n->next)
        n->next->prev = n;
    else
        q->tail = n;
    if (after)
        after->next = n;
    else
        q->head = n;
}

void
dlq_remove(struct dlq *q, struct dlq_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        q->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        q->tail = n->prev;
    n->prev = n->next = NULL;
}

int
dlq_contains(const struct dlq *q, const struct dlq_node *n)
{
    return n->prev != NULL || q->head == n;
}
