/*
 * spare: one spare object per thread and per kind, so that code which
 * builds and drops an object of the same usual size for every message or
 * document (a decode arena block, a result arena block, the entity
 * scanner's buffers) reuses it instead: no malloc and free per item, and
 * no glibc consolidation that freeing a large chunk triggers. A thread's
 * spares are freed when it exits.
 */
#ifndef EXCERPT_SPARE_H
#define EXCERPT_SPARE_H

#include <stdbool.h>

/* Kinds of spare objects; each thread keeps at most one of each. */
typedef enum {
    SPARE_DECODE,   /* proto/wire.c decode arena blocks */
    SPARE_RESULT,   /* common/result.c result arena blocks */
    SPARE_ENTITIES, /* engine/entities.c scan buffers */
    SPARE_KINDS
} spare_kind_t;

/* This thread's spare of kind (an object given to spare_put), or NULL.
 * The caller owns it from now on. */
void *spare_take(spare_kind_t kind);

/* Keep obj as this thread's spare of kind; destroy(obj) frees it if the
 * thread exits first (free for a plain block). Returns false when the
 * thread already has one (or none can be kept): the caller frees obj. */
bool spare_put(spare_kind_t kind, void *obj, void (*destroy)(void *));

#endif
