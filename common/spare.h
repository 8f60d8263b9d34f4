/*
 * spare: one spare memory block per thread and per kind of block, so that
 * code which allocates and frees a block of the same usual size for every
 * message or document (a decode arena, a result arena) reuses it instead:
 * no malloc and free per item, and no glibc consolidation that freeing a
 * large chunk triggers. A thread's spares are freed when it exits.
 */
#ifndef EXCERPT_SPARE_H
#define EXCERPT_SPARE_H

#include <stdbool.h>

/* Kinds of spare blocks; each thread keeps at most one of each. */
typedef enum {
    SPARE_DECODE, /* proto/wire.c decode arena blocks */
    SPARE_RESULT, /* common/result.c result arena blocks */
    SPARE_KINDS
} spare_kind_t;

/* This thread's spare of kind (a block given to spare_put), or NULL. The
 * caller owns it from now on. */
void *spare_take(spare_kind_t kind);

/* Keep block (malloc'd, of the kind's usual size) as this thread's spare
 * of kind. Returns false when the thread already has one (or no spare can
 * be kept): the caller frees block then. */
bool spare_put(spare_kind_t kind, void *block);

#endif
