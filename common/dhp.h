/*
 * Deadline heaps: a binary min-heap of nodes ordered by due time (any
 * clock and unit the caller chooses that fits 32 bits, e.g. unix
 * seconds), for deadlines that arrive in no particular order (token
 * expiries). A node is 4 bytes inside its owner; the heap keeps 8 bytes
 * per node (its due time and the owner's 32-bit reference, which the
 * heap's `node` function turns back into the node) in one array it grows
 * and shrinks by halves. Insert, remove and update are O(log n), the
 * earliest is O(1). No clock; allocates only to grow or shrink its array.
 */
#ifndef WSGATE_COMMON_DHP_H
#define WSGATE_COMMON_DHP_H

#include <stddef.h>
#include <stdint.h>

/* A member's place in a heap, embedded in the member. Zeroed, it is in no
 * heap. The field is dhp's own. */
struct dhp_node {
    uint32_t pos; /* index + 1 in the heap's array; 0: in none */
};

struct dhp_ent {
    uint32_t due;
    uint32_t ref;  /* the caller's name for the node */
};

/* The node that ref names (ref as given to dhp_set). */
typedef struct dhp_node *(*dhp_node_fn)(uint32_t ref, void *arg);

struct dhp {
    struct dhp_ent *v;
    uint32_t n, cap;
    dhp_node_fn node;
    void *arg;
};

/* An empty heap whose refs node(ref, arg) resolves. */
void dhp_init(struct dhp *h, dhp_node_fn node, void *arg);

/* The struct that contains node n as member m. */
#define DHP_ENTRY(n, type, m) \
    ((type *)(void *)((char *)(n) - offsetof(type, m)))

/* Put n (named ref: h's node function gives n for it) into h due at
 * `due`, or move it there if it is in h already. Borrows both; n must
 * stay where ref names it while it is in h. 0, or -1 when the array
 * cannot grow (n is then in no heap). */
int dhp_set(struct dhp *h, struct dhp_node *n, uint32_t ref, uint32_t due);

/* Take n out of h. A node in no heap is left as it is. n must be in h or
 * in none. May shrink h's array. */
void dhp_remove(struct dhp *h, struct dhp_node *n);

/* The earliest node of h (NULL when h is empty) and its due time in
 * *due (when due is not NULL). */
struct dhp_node *dhp_first(const struct dhp *h, uint32_t *due);

/* 1 when n is in a heap. */
int dhp_queued(const struct dhp_node *n);

/* Free h's array (every node must be out of it or abandoned). */
void dhp_free(struct dhp *h);

#endif
