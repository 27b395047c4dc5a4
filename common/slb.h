/*
 * Slabs of fixed-size objects: one per object type of a process, objects
 * in blocks of 256 slots without a malloc header or rounding each, named
 * by 32-bit ids (block index * 256 + slot + 1; 0 is none) the caller keeps
 * where it needs them. A block is freed when its last object goes, unless
 * it is the only block with a free slot, so a slab holds at most one empty
 * block and gives the rest back to malloc. The live objects can be walked
 * in id order (slb_next). Under AddressSanitizer a free slot is poisoned,
 * so a use after slb_free is reported. No globals: the caller owns the
 * struct slb.
 */
#ifndef WSGATE_COMMON_SLB_H
#define WSGATE_COMMON_SLB_H

#include <stddef.h>
#include <stdint.h>

#define SLB_SHIFT 8 /* 256 slots per block */

struct slb_blk;

struct slb {
    size_t size;          /* of an object: a multiple of 8, at least 8 */
    unsigned char **blk;  /* blocks by index; NULL: given back */
    struct slb_blk *bk;   /* their bookkeeping, parallel to blk */
    uint32_t nbk, bkcap;  /* block indexes used, allocated */
    uint32_t partial;     /* blocks with a free slot: index + 1 */
    size_t nheld, nlive;  /* blocks held, objects live */
};

/* An empty slab of objects of size bytes (rounded up to 8). */
void slb_init(struct slb *s, size_t size);

/* Give every block back (the live objects too). s can be used again. */
void slb_free_all(struct slb *s);

/* A zeroed object, its id in *id. NULL when out of memory. */
void *slb_alloc(struct slb *s, uint32_t *id);

/* Free object id (from slb_alloc, not freed since). */
void slb_free(struct slb *s, uint32_t id);

/* Object id (live) to pointer; 0: NULL. */
static inline void *
slb_at(const struct slb *s, uint32_t id)
{
    return id ? s->blk[(id - 1) >> SLB_SHIFT]
        + ((id - 1) & ((1u << SLB_SHIFT) - 1)) * s->size : NULL;
}

/* The first live object's id after id (0: from the start), or 0 when
 * there is none. Objects freed or allocated while walking: an id freed is
 * not returned again, one allocated may or may not be. */
uint32_t slb_next(const struct slb *s, uint32_t id);

#endif
