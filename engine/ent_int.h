/*
 * ent_int: what the two halves of the entity scanner share - the word
 * pass of entities.c (runs of capitalised words parsed by rules) and the
 * document pass of ent_doc.c (per-thread buffers, speaker labels, name
 * and type propagation, grouping mentions into entities). Internal to
 * the engine: only those two files include it.
 */
#ifndef EXCERPT_ENT_INT_H
#define EXCERPT_ENT_INT_H

#include "../common/result.h"
#include "entities.h"
#include "lexicon.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A mention found by the rules. */
typedef struct cand {
    uint32_t start, end;   /* mention span in the text */
    uint32_t rstart, rend; /* role (title) span, empty when none */
    uint32_t cs, ce;       /* canonical name's span when canon is NULL */
    const char *canon;     /* lexicon's canonical name, or NULL: text[cs,ce) */
    uint64_t last;         /* hash of the last word (persons) */
    uint64_t pre;          /* head phrases: tok_seq() hash of the unknown
                              name before the head ("Unitech" of "Unitech
                              Agency"), 0 when none */
    uint8_t type;          /* result_entity_type_t */
    uint8_t words;         /* number of words (persons) */
} cand_t;

/* An unknown capitalised run, a possible later surname mention. */
typedef struct maybe {
    uint32_t start, end; /* span */
    uint64_t last;       /* hash of the last word */
    uint64_t seq;        /* tok_seq() hash of all its words */
    uint8_t words;       /* number of words */
    bool caps;           /* one unknown word in capitals ("FAS") */
    bool sent;           /* starts a sentence or line */
    bool place;          /* an unknown town ("in Rzhev"), GPE unless it
                            is a person's surname */
    bool used;           /* became a mention */
} maybe_t;

typedef struct doc {
    const entities_t *e; /* the scanner's handle */
    const lexicon_t *lx; /* e->lx */
    const char *text;
    size_t len; /* bytes of text */
    cand_t *c;
    size_t n_c, cap_c;
    maybe_t *m;
    size_t n_m, cap_m;
    int in_title;       /* > 0 while parsing a title's complement */
    struct scratch *sc; /* this thread's reusable buffers */
} doc_t;

/* The speaker-name span inside each turn label, in text order. */
typedef struct lab {
    uint32_t ns, ne; /* name span */
    uint32_t body;   /* first byte of the speech */
    uint32_t start;  /* first byte of the label */
    int32_t speaker; /* speaker index */
} lab_t;

/* Start the scan of text[0..len) (0 < len <= UINT32_MAX) with e and its
 * lexicon lx: *d gets this thread's buffers (which ent_doc_finish() gives
 * back) and *labs the speaker-name spans of r's turn labels, in text
 * order, borrowed from those buffers. Returns the number of labels. Only
 * memory can fail (aborts). */
size_t ent_doc_begin(doc_t *d, const entities_t *e, const lexicon_t *lx,
                     const char *text, size_t len, const result_t *r,
                     lab_t **labs);

/* After the word pass: link surnames and unknown runs to persons, type
 * unknown towns and names typed elsewhere in the document, append the
 * entities and their mentions to r, and keep d's buffers for the thread's
 * next document. d is not used again. */
void ent_doc_finish(doc_t *d, result_t *r);

/* Append a mention text[start..end) of type (result_entity_type_t) to d,
 * named canon (the lexicon's, borrowed) or, when NULL, by its own text.
 * An empty span adds nothing. */
void ent_doc_add_cand(doc_t *d, uint32_t start, uint32_t end, int type,
                      const char *canon);

/* True when the word text[a..b), lower-cased, occurs as a word of
 * text[0..len) near it (see ent_doc.c). */
bool ent_doc_occurs_lower(const char *text, size_t len, uint32_t a, uint32_t b);

#endif
