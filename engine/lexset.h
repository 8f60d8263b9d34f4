/*
 * lexset: the engine's word lists, one per concept, written in
 * engine/data/ under "#!set=NAME" lines and compiled by gen/gaz_gen.c into
 * read-only lex_set_t values (words as written, with a 256-bit filter of
 * their tok_hash() top bytes computed at build time). No state, no I/O.
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
    unsigned b = (unsigned)(hash >> 56);
    if (!((set->filter[b >> 6] >> (b & 63)) & 1))
        return false;
    for (size_t i = 0; i < set->n; i++)
        if (set->h[i] == hash && lex_set_word_is(set, i, s, n))
            return true;
    return false;
}

/* data/connectors.txt: lower-case words joining the words of a name ("of",
 * "and"), name particles ("de", "von", "bin"), and the prepositions a
 * title may take besides them ("Ambassador to", "Minister in"). */
extern const lex_set_t lex_name_connectors;
extern const lex_set_t lex_name_particles;
extern const lex_set_t lex_title_preps;
/* data/roles.txt: words that label a turn without naming anyone. */
extern const lex_set_t lex_anonymous_roles;
/* data/places.txt: prepositions before a place ("in", "from"), endings
 * of Russian town names ("sk", "grad"), place nouns before a name ("Lake",
 * "Mount"), lower-case nouns after a place name ("the Vankor field") and
 * the words that may stand between such a noun or those of data/kinds.txt
 * and the name ("gas"), kinds of lines between two places ("Moscow-Adler
 * railway"). */
extern const lex_set_t lex_place_preps;
extern const lex_set_t lex_place_preps_strong;
extern const lex_set_t lex_not_place_suffixes;
extern const lex_set_t lex_town_suffixes;
extern const lex_set_t lex_place_nouns_before;
extern const lex_set_t lex_place_nouns_after;
extern const lex_set_t lex_noun_modifiers;
extern const lex_set_t lex_line_kinds;
/* data/boards.txt: boards that follow an organisation's name
 * ("Gazprom Management Board"), as phrases. */
extern const lex_set_t lex_org_boards;
/* data/kinds.txt: lower-case nouns after an unknown name that make it an
 * organisation ("company") or a facility ("shipyard"), and offices whose
 * "of" complement or preceding unknown name is an organisation ("CEO"),
 * and endings of company names ("neft", "energo"). */
extern const lex_set_t lex_org_nouns_after;
extern const lex_set_t lex_fac_nouns_after;
extern const lex_set_t lex_org_titles;
extern const lex_set_t lex_org_name_endings;
/* data/kinds.txt: heads of bodies usually named after a place
 * ("University", "Court"). */
extern const lex_set_t lex_place_named_heads;
/* data/calendar.txt: names of months and days. */
extern const lex_set_t lex_calendar_words;
/* data/suffixes.txt: endings of English adjectives ("ic", "al", "ing"). */
extern const lex_set_t lex_adjective_suffixes;
/* data/suffixes.txt: endings of surnames ("ov", "enko", "shvili"). */
extern const lex_set_t lex_surname_endings;

#endif
