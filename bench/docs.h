/*
 * docs: the transcripts a benchmark reads, loaded into memory once: a
 * file, or every *.txt of a directory in name order.
 */
#ifndef EXCERPT_BENCH_DOCS_H
#define EXCERPT_BENCH_DOCS_H

#include <stddef.h>

typedef struct doc {
    char *path; /* file name */
    char *text; /* contents */
    size_t len; /* bytes */
} doc_t;

typedef struct docs {
    doc_t *v;      /* documents */
    size_t n, cap; /* count, capacity */
    size_t bytes;  /* total bytes */
} docs_t;

/* Append path (a file, or a directory's *.txt files sorted by name) to d.
 * Errors (ERR_IO) are reported on stderr prefixed with prog. */
int docs_load(docs_t *d, const char *prog, const char *path);

/* Free what d holds and empty it. */
void docs_free(docs_t *d);

#endif
