/*
 * entities: named-entity recognition (PERSON, ORG, GPE, LOC, FAC, NORP)
 * from the gazetteer and word lists of a lexicon (lexicon.h) plus
 * capitalisation, title, head-noun and context rules, with document-level
 * propagation of names and types.
 */
#ifndef EXCERPT_ENTITIES_H
#define EXCERPT_ENTITIES_H

#include "../common/result.h"
#include "lexicon.h"

#include <stddef.h>

typedef struct entities entities_t;

/* The scanner's handle over lexicon lx, which is borrowed and must
 * outlive it (the handle holds nothing the scan changes). Only memory can
 * fail (aborts). */
entities_t *entities_new(const lexicon_t *lx);

/* Free; NULL-safe, sets *e = NULL. */
void entities_destroy(entities_t **e);

/* Find entities in text[0..len) and append them with their mentions to r.
 * r already holds the speakers and turns from turns_parse(). Pure and
 * thread-safe on a shared entities_t. */
void entities_scan(const entities_t *e, const char *text, size_t len,
                   result_t *r);

#endif
