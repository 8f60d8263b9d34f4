/*
 * lexset: a word list of the engine, one per concept (the lists of a
 * lexicon, lexicon.h). The built-in lists are written in engine/data/
 * under "#!set=NAME" lines and compiled by gen/gaz_gen.c into read-only
 * lex_set_t values (words as written, with two 256-bit filters of their
 * tok_hash() top bytes computed at build time). No state, no I/O.
 */
#ifndef EXCERPT_LEXSET_H
#define EXCERPT_LEXSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lex_set {
    const char *const *w; /* the words (or phrases), NULL-terminated */
    const uint64_t *h;    /* tok_hash() of each word */
    const uint8_t *len;   /* length of each word */
    size_t n;             /* their count */
    uint64_t filter[4];   /* bit (tok_hash(word) >> 56) of every word */
    uint64_t last[4];     /* bit of the last byte of every word */
    uint64_t filter2[4];  /* bit (tok_hash(word) >> 48) & 0xFF of every
                             word: with filter, most other words miss */
} lex_set_t;

/* The word s[0..n) ends in a word of set (bytes as written) with at
 * least min_before bytes before it ("Tatneft" ends in "neft"). */
bool lex_set_ends(const lex_set_t *set, const char *s, size_t n,
                  size_t min_before);

/* Word i of set equals s[0..n) (ASCII case-insensitive). */
bool lex_set_word_is(const lex_set_t *set, size_t i, const char *s, size_t n);

/* The word s[0..n) with tok_hash() value hash is in set (ASCII
 * case-insensitive). Inline: most words miss the filter; the others are
 * compared by hash, and only an equal hash by bytes. */
static inline bool
lex_set_has(const lex_set_t *set, const char *s, size_t n, uint64_t hash)
{
    unsigned b = (unsigned)(hash >> 56), b2 = (unsigned)(hash >> 48) & 0xFF;
    if (!((set->filter[b >> 6] >> (b & 63)) & 1) ||
        !((set->filter2[b2 >> 6] >> (b2 & 63)) & 1))
        return false;
    for (size_t i = 0; i < set->n; i++)
        if (set->h[i] == hash && lex_set_word_is(set, i, s, n))
            return true;
    return false;
}

#endif
