/*
 * rjson: results as JSON (jansson), the machine-readable output of the
 * CLI: `excerpt extract --format json`, `excerpt get`, `excerpt tail`.
 * The shape is documented in README.md ("Output format").
 */
#ifndef EXCERPT_RJSON_H
#define EXCERPT_RJSON_H

#include "../common/result.h"

#include <jansson.h>
#include <stdio.h>

/* Build the JSON object of r; source overrides r->source when not NULL.
 * Strings that are not valid UTF-8 are repaired (invalid bytes become
 * U+FFFD). A figure value that is not finite is null. Returns a new
 * reference (caller json_decref()s). */
json_t *rjson_from_result(const result_t *r, const char *source);

/* Write r as one line of compact JSON plus "\n" to out, the bytes of
 * rjson_from_result() dumped compact, through client/jsonw (one write per
 * document; use a jsonw_t directly to reuse its buffer across documents).
 * Returns 0 or ERR_IO. */
int rjson_write_line(const result_t *r, const char *source, FILE *out);

/* New JSON string from bytes that may be invalid UTF-8 (repaired). */
json_t *rjson_string(const char *s, size_t n);

/* New JSON object of one figure, as in a result's "figures". */
json_t *rjson_figure(const result_figure_t *f);

#endif
