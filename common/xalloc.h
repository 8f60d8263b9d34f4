/*
 * xalloc: allocation that aborts on out-of-memory, so callers need no
 * NULL checks. Bound any size read from the wire or disk before calling.
 */
#ifndef EXCERPT_XALLOC_H
#define EXCERPT_XALLOC_H

#include <stddef.h>

/* malloc that never returns NULL (aborts with a message on OOM). */
void *xmalloc(size_t n);
/* calloc that never returns NULL; also aborts on n * size overflow. */
void *xcalloc(size_t n, size_t size);
/* realloc that never returns NULL; also aborts on n * size overflow. */
void *xreallocarray(void *p, size_t n, size_t size);
/* Copy of a NUL-terminated string; caller frees. */
char *xstrdup(const char *s);
/* Copy of n bytes plus a NUL; caller frees. */
char *xstrndup(const char *s, size_t n);

#endif
