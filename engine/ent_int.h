/*
 * ent_int: what the two halves of the entity scanner share - the word
 * pass of entities.c (runs of capitalised words parsed by rules) and the
 * document pass of ent_doc.c (per-thread buffers, speaker labels, name
 * and type propagation, grouping mentions into entities). Internal to
 * the engine: only those files, ent_place.c and ent_head.c include it.
 */
#ifndef EXCERPT_ENT_INT_H
#define EXCERPT_ENT_INT_H

#include "../common/result.h"
#include "entities.h"
#include "gaz.h"
#include "lexicon.h"
#include "tok.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* One word of a run, with what the gazetteer knows of it alone. */
typedef struct word {
    tok_t t;        /* the token */
    uint16_t kinds; /* GAZ_* of the word alone */
    uint8_t ent;    /* entity type of the word alone */
    uint8_t head;   /* head type of the word alone */
    bool conn;      /* a lower-case connector ("of", "and") */
    bool comma;     /* joined to the previous word by ", " */
    bool plural;    /* a lower-case plural head ("regions") */
} word_t;

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

/* The word w is in set (a word list of the lexicon). */
static inline bool
ent_word_in_set(const char *s, const word_t *w, const lex_set_t *set)
{
    return lex_set_has(set, s + w->t.start, w->t.end - w->t.start, w->t.hash);
}

/* The word w is the literal lit. */
static inline bool
ent_word_is(const char *s, const word_t *w, const char *lit)
{
    size_t n = w->t.end - w->t.start;
    return strlen(lit) == n && memcmp(s + w->t.start, lit, n) == 0;
}

/* A word that can be part of a person's name. */
static inline bool
ent_name_like(const word_t *w)
{
    if (!(w->t.flags & TOK_CAP) || (w->t.flags & (TOK_ALLCAPS | TOK_DIGIT)))
        return false;
    if (w->kinds & (GAZ_STOP | GAZ_COMMON | GAZ_TITLE | GAZ_HONOR | GAZ_HEAD))
        return false;
    if ((w->kinds & GAZ_ENT) && !(w->kinds & GAZ_GIVEN))
        return false;
    return true;
}

/* entities.c: the word pass's person names, gazetteer lookups and rules. */

/* Append a person w[a..b] with the role (title) span text[rs..re) to d. */
void ent_add_person(doc_t *d, const word_t *w, size_t a, size_t b, uint32_t rs,
                    uint32_t re);

/* End (inclusive) of a name starting at w[i]: up to max name-like words,
 * stopping after a possessive or before a comma. */
size_t ent_name_end(const word_t *w, size_t n, size_t i, size_t max);

/* A person that starts at w[i] with a given name ("Sergei Chemezov"): the
 * last word, or (size_t)-1. */
size_t ent_given_person(const word_t *w, size_t n, size_t i);

/* Longest gazetteer sequence from w[i] within w[0..n): entity end in *ent
 * (or -1) and its slot in *eslot, title end in *title (or -1). */
void ent_gaz_longest(const lexicon_t *lx, const word_t *w, size_t n, size_t i,
                     size_t *ent, const gaz_slot_t **eslot, size_t *title);

/* Parse the words w[0..n) of a run and add their mentions to d. */
void ent_process(doc_t *d, word_t *w, size_t n);

/* ent_head.c: the structure of an organisation's or office's name. */

/* The comma at w[i] goes on with a list of plain words closed by "and"
 * ("on Trade, Economic, Scientific and Technical Cooperation"): the list's
 * last word, or -1 when the comma ends the name. */
size_t ent_comma_list_end(const char *s, const word_t *w, size_t n, size_t i);

/* w[a..b] (a <= b) is one phrase of the lexicon that names nothing: a
 * function phrase ("World Cup", "Victory Day") or a listed non-entity
 * ("Reserve Fund"). */
bool ent_listed_nothing(const lexicon_t *lx, const word_t *w, size_t a,
                        size_t b);

/* w[0..n) has a head noun with a complement of lx->complement_preps
 * ("of", "on", "for") opened after it. */
bool ent_complement_open(const lexicon_t *lx, const char *s, const word_t *w,
                         size_t n);

/* A name from w[i] ending in a head noun, with an optional "of ..."
 * complement ("Federal Antimonopoly Service", "Republic of Tatarstan"):
 * its last word, or -1; *type gets its type and *head the head's index. */
size_t ent_head_phrase(const lexicon_t *lx, const char *s, const word_t *w,
                       size_t n, size_t i, int *type, size_t *head);

/* The tok_seq() hash of one to three unknown name-like words w[a..h)
 * before the head w[h] ("Unitech" of "Unitech Agency"), else 0. */
uint64_t ent_unknown_name_hash(const lexicon_t *lx, const char *s,
                               const word_t *w, size_t a, size_t h);

/* The title w[i..te] holds an office in an organisation: one of its words
 * is in lx->org_titles ("CEO", "Chairman"). */
bool ent_org_title(const lexicon_t *lx, const char *s, const word_t *w,
                   size_t i, size_t te);

/* w[a..b) is one to three unknown name words: name-like, not known, no
 * given name, board word, possessive before the end or comma. */
bool ent_unknown_run(const lexicon_t *lx, const char *s, const word_t *w,
                     size_t a, size_t b);

/* The title w[i..te]: add the person it introduces and the entities of its
 * "of ..." complement to d. Returns the next word to look at. */
size_t ent_title_phrase(doc_t *d, word_t *w, size_t n, size_t i, size_t te);

/* ent_place.c: signs of what an unknown word is. */

/* True when the word, of six letters or more, ends in a Russian town
 * suffix of lx->town_suffixes ("Rybinsk", "Kaliningrad", "Odintsovo"); a
 * hyphenated word by its first part ("Petropavlovsk- Kamchatsky"). */
bool ent_town_suffix(const lexicon_t *lx, const char *s, const tok_t *t);

/* A place preposition of lx->place_preps right before text[p] ("in ",
 * "from "), itself after a blank or the start. */
bool ent_place_prep_before(const char *s, uint32_t p, const lex_set_t *preps);

/* A sign that the word w[i] names a place: a place preposition before
 * it ("in Vladimir", "towards Vladimir") or a listed place beside it in
 * a list ("Tver, Yaroslavl, Vladimir", "Vladimir and Pskov"). */
bool ent_place_sign(const doc_t *d, const word_t *w, size_t n, size_t i);

/* "the town of " or another settlement of lx->settlement_nouns and "of"
 * right before text[p]. */
bool ent_settlement_before(const lexicon_t *lx, const char *s, uint32_t p);

/* The word x is followed by "in" and a region: "Mytishchi in the Moscow
 * Region", "Kamenka in the Altai Territory" (a GPE head among the next
 * three capitalised words; a town alone is too weak a sign: "the
 * Universiade in Krasnoyarsk"). */
bool ent_in_region_after(const doc_t *d, const word_t *x);

/* The word ends in a company name's ending of lx->org_name_endings with
 * three letters or more before it, and has no hyphen. */
bool ent_company_name(const lexicon_t *lx, const char *s, const tok_t *t);

/* The single unknown word x after a preposition of lx->place_preps_strong
 * ("in Rzhev", "near Botlikh") is a place: not in a title, not a possessive,
 * not a date (lx->calendar_words), four letters or more, no common-noun
 * or adjective ending, no part that is lower case, a date or a known name
 * ("Russian-language", "May-June"), no capital inside a part, no number
 * after it ("in Item 8"), and not a word the text also writes in lower
 * case ("in Science"). */
bool ent_unknown_place(const doc_t *d, const word_t *x);

/* w[i] and w[i + 1], name-like and unknown, are a given name the lists
 * lack and a surname: the first no adjective ("Central", "Sanitary") nor
 * possessive, three letters or more; the second ending in a surname's
 * ending of lex_surname_endings with three letters before it. */
bool ent_unknown_given_surname(const lexicon_t *lx, const char *s,
                               const word_t *w, size_t i);

/* Every part of the hyphenated word t is a listed name of a type in the
 * mask types (1 << result_entity_type_t; 0: any type). "Russia-Kyrgyzstan"
 * of places, "Austrian-Canadian": hyphen_split() types the parts, so an
 * unknown run does not take the word in. */
bool ent_hyphen_parts(const lexicon_t *lx, const char *s, const tok_t *t,
                      unsigned types);

#endif
