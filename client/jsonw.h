/*
 * jsonw: a streaming writer of the CLI's result JSON (README "What comes
 * out") into one growing buffer, written out with one write per document.
 * The bytes are those of json_dumpf(rjson_from_result(), JSON_COMPACT |
 * JSON_REAL_PRECISION(17)) plus "\n", without building a jansson tree.
 */
#ifndef EXCERPT_JSONW_H
#define EXCERPT_JSONW_H

#include "../common/result.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Past this many buffered bytes, jsonw_write_result() writes out what it
 * has between two elements, so a huge document needs about this much
 * memory instead of its whole JSON. Documents below it take one write. */
#define JSONW_SPILL_BYTES ((size_t)1 << 20)

typedef struct jsonw jsonw_t;

/* New empty writer. Only memory can fail (aborts). One thread at a time. */
jsonw_t *jsonw_new(void);

/* Free the writer and its buffer; NULL-safe, sets *w = NULL. */
void jsonw_destroy(jsonw_t **w);

/* Append r as one compact JSON object plus "\n"; source overrides
 * r->source when not NULL. Strings that are not valid UTF-8 are repaired
 * as rjson_string() does (each invalid byte becomes U+FFFD, NUL bytes are
 * dropped). A figure value that is not finite is written as null (jansson
 * cannot represent it and dropped the key). */
void jsonw_result(jsonw_t *w, const result_t *r, const char *source);

/* Append the JSON string of s[0..n), quoted, escaped and repaired as
 * above. s may be NULL when n is 0. */
void jsonw_string(jsonw_t *w, const char *s, size_t n);

/* Append v in decimal, as jansson prints a json_integer. */
void jsonw_int(jsonw_t *w, int64_t v);

/* Append v as jansson prints a json_real with JSON_REAL_PRECISION(17):
 * "%.17g", ".0" added when it would read as an integer, exponent without
 * "+" or leading zeros. Not finite: "null". */
void jsonw_real(jsonw_t *w, double v);

/* Append n bytes as they are (punctuation, literals such as "null"). */
void jsonw_raw(jsonw_t *w, const char *s, size_t n);

/* The bytes appended since the last write or clear; *len gets their
 * count. Borrowed until the next call on w. */
const char *jsonw_data(const jsonw_t *w, size_t *len);

/* Forget the buffered bytes (the allocation is kept for reuse). */
void jsonw_clear(jsonw_t *w);

/* Write the buffered bytes to out and clear the buffer. Anything stdio
 * holds for out is flushed first, then the bytes go out with write(2) on
 * its descriptor (one call unless the kernel takes less), so output stays
 * in order and a document is not split by stdio's buffer size; a FILE
 * without a descriptor (open_memstream) gets fwrite(). Returns 0 or ERR_IO
 * (the buffer is cleared either way). */
int jsonw_write(jsonw_t *w, FILE *out);

/* jsonw_result() then jsonw_write() to out, spilling early past
 * JSONW_SPILL_BYTES. Returns 0 or ERR_IO. */
int jsonw_write_result(jsonw_t *w, const result_t *r, const char *source,
                       FILE *out);

#endif
