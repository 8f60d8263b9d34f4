/*
 * extract: the extraction engine. A library: text in, result_t out.
 * No I/O, deterministic. Its knowledge (gazetteer, word tables and lists)
 * is a lexicon (lexicon.h) held by the extract_t and passed to every
 * stage; extract_new() uses the built-in one, generated at build time
 * from engine/data/ and iso-codes. The lookup index of the figure word
 * tables is built from it when the extract_t is made; the extract_t is
 * immutable afterwards and may be shared by any number of threads calling
 * extract_run() concurrently. The only other state is per-thread scratch
 * buffers (common/spare.h) that a run reuses for speed; they never change
 * a result.
 */
#ifndef EXCERPT_EXTRACT_H
#define EXCERPT_EXTRACT_H

#include "../common/result.h"

#include <stddef.h>

#define EXTRACT_VERSION "excerpt-extract/1"
/* Largest text extract_run() accepts (bytes); offsets are 32-bit. */
#define EXTRACT_MAX_TEXT ((size_t)1 << 30)

typedef struct extract extract_t;
typedef struct lexicon lexicon_t;

/* Build the engine over the built-in lexicon (lexicon_builtin()). Only
 * memory can fail (aborts). */
extract_t *extract_new(void);

/* Build the engine over lex, which is borrowed: it must outlive the
 * engine and stay unchanged. Only memory can fail (aborts). */
extract_t *extract_new_with(const lexicon_t *lex);

/* Free the engine; NULL-safe, sets *ex = NULL. */
void extract_destroy(extract_t **ex);

/*
 * Extract speakers, turns, entities and figures from text[0..len).
 * text need not be NUL-terminated and may hold any bytes: invalid UTF-8
 * and NUL bytes are treated as separators, CRLF as LF. On success *out is
 * a new result (caller destroys) with version = EXTRACT_VERSION, every
 * offset a byte offset into text, and extract_us set.
 * Errors: ERR_TOOBIG when len > EXTRACT_MAX_TEXT (nothing allocated).
 * Thread-safe on a shared engine.
 */
int extract_run(const extract_t *ex, const char *text, size_t len,
                result_t **out);

#endif
