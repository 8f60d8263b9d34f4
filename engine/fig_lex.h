/*
 * fig_lex: byte-level helpers and word tables for the figure scanner:
 * whitespace and dash recognition on raw UTF-8, phrase matching with
 * word boundaries, and the tables of scale words, currencies, units,
 * months and spelled-out numbers, generated at build time (gen/fig_gen.c)
 * from the lists in data/fig/ and iso-codes' ISO 4217. Everything is
 * bounds-checked against the text length; nothing allocates.
 */
#ifndef EXCERPT_FIG_LEX_H
#define EXCERPT_FIG_LEX_H

#include <stdbool.h>
#include <stddef.h>

/* Phrase table entry: pat is matched at a position (see fig_lex_match). */
typedef struct fig_word {
    const char *pat;  /* pattern; ' ' matches a run of blanks */
    const char *norm; /* normalised value: ISO code, unit name, ... */
    double num;       /* number carried: scale factor, month, value */
    unsigned flags;   /* FIG_LEX_* */
} fig_word_t;

/* Pattern is matched case-sensitively (abbreviations: "MW", "RUB"). */
#define FIG_LEX_CS 1u
/* Pattern may be glued to the digits ("5bn", "10km", "100MW"). */
#define FIG_LEX_GLUE 2u
/* Pattern matches only glued to the digits ("-40C"; "30 C-class" is none);
 * always with FIG_LEX_GLUE. */
#define FIG_LEX_ONLY_GLUED 4u

/* Tables; each ends with a {NULL} entry. */
extern const fig_word_t fig_lex_scales[];           /* million -> 1e6 */
extern const fig_word_t fig_lex_currencies[];       /* roubles -> RUB */
extern const fig_word_t fig_lex_currency_symbols[]; /* US$ -> USD */
extern const fig_word_t fig_lex_units[];            /* km -> kilometre */
extern const fig_word_t fig_lex_months[];           /* June -> 6 */
extern const fig_word_t fig_lex_percents[];         /* per cent */
extern const fig_word_t fig_lex_durations[];        /* years -> Y */
extern const fig_word_t fig_lex_numwords[];         /* seven -> 7 */
/* Word lists of the figure rules (the norm and number unused unless
 * said): words after a bare number that leave it elliptical, range
 * connectors ("to", "and/or"), words that make a year of a small number,
 * seasons, parts of a season or year ("end"), relative periods ("past"),
 * ordinals of a half or quarter (number = ordinal), rate denominators
 * after "per" (norm = unit), words before a bare amount that carry the
 * last currency or unit to it ("to", "from"). */
extern const fig_word_t fig_lex_loose_followers[];
extern const fig_word_t fig_lex_range_connectors[];
extern const fig_word_t fig_lex_year_preps[];
extern const fig_word_t fig_lex_seasons[];
extern const fig_word_t fig_lex_season_edges[];
extern const fig_word_t fig_lex_year_edges[];
extern const fig_word_t fig_lex_relative_periods[];
extern const fig_word_t fig_lex_part_ordinals[];
extern const fig_word_t fig_lex_per_times[];
extern const fig_word_t fig_lex_carry_preps[];
/* Clock words ("pm", "a.m.", "o'clock"; norm "am", "pm" or "o") and the
 * endings of ordinals in digits ("nd", "th"). */
extern const fig_word_t fig_lex_clock_words[];
extern const fig_word_t fig_lex_ordinal_suffixes[];
/* Words joined to a year by a hyphen that leave it a year ("mid-2020",
 * "pre-2014", "post-2018"). */
extern const fig_word_t fig_lex_year_prefixes[];

/* True for ASCII letters. Inline: the scanners ask it of every byte of a
 * word or number. */
static inline bool
fig_lex_is_alpha(unsigned char c)
{
    return (unsigned char)((c | 0x20) - 'a') < 26;
}

/* True for ASCII digits. */
static inline bool
fig_lex_is_digit(unsigned char c)
{
    return (unsigned char)(c - '0') < 10;
}

/* Length of the blank (space, tab, U+00A0, U+2009, U+202F) at t[p], or 0.
 * Newlines are not blanks: a figure never spans lines. */
size_t fig_lex_blank(const unsigned char *t, size_t n, size_t p);
/* Length of the blank ending just before t[p], or 0. */
size_t fig_lex_blank_before(const unsigned char *t, size_t p);
/* Skip blanks forward from p; returns the first non-blank position. */
size_t fig_lex_skip_blanks(const unsigned char *t, size_t n, size_t p);
/* Skip blanks backward from p; returns the position after the last
 * non-blank byte before p. */
size_t fig_lex_skip_blanks_back(const unsigned char *t, size_t p);

/* Length of a dash at t[p] ('-', U+2010..U+2014, U+2212), or 0. */
size_t fig_lex_dash(const unsigned char *t, size_t n, size_t p);
/* Length of a dash ending just before t[p], or 0. */
size_t fig_lex_dash_before(const unsigned char *t, size_t p);

/* Match pattern pat at t[p]: letters compare case-insensitively unless cs,
 * ' ' matches one or more blanks, other bytes exactly. The match must end
 * at a word boundary (no ASCII letter or digit follows, unless the pattern
 * ends in a non-letter). Returns the end position, or 0 on no match. */
size_t fig_lex_match(const unsigned char *t, size_t n, size_t p,
                     const char *pat, bool cs);

/* The lookup index of the tables above (by first byte, with eight-byte
 * prefix tests), built by fig_lex_new() and read-only afterwards: one per
 * engine handle, shared by its threads. */
typedef struct fig_lex fig_lex_t;

/* Build the index of every table above. Only memory can fail (aborts). */
fig_lex_t *fig_lex_new(void);

/* Free; NULL-safe, sets *lx = NULL. */
void fig_lex_destroy(fig_lex_t **lx);

/* c is the last byte of a currency sign of fig_lex_currency_symbols (a
 * byte before a number that is not one ends no sign). */
bool fig_lex_sign_end(const fig_lex_t *lx, unsigned char c);

/* Longest match of any table entry at t[p]; glued restricts to entries
 * with FIG_LEX_GLUE, and entries with FIG_LEX_ONLY_GLUED match only then.
 * Returns the end (0 if none) and the entry in *w. */
size_t fig_lex_match_table(const fig_lex_t *lx, const unsigned char *t,
                           size_t n, size_t p, const fig_word_t *table,
                           bool glued, const fig_word_t **w);

/* The ASCII word (letters only) ending at or before p after skipping
 * blanks backward: sets [*ws, *we) and returns true if there is one. */
bool fig_lex_prev_word(const unsigned char *t, size_t p, size_t *ws,
                       size_t *we);

/* True if t[ws..we) equals word case-insensitively. */
bool fig_lex_word_is(const unsigned char *t, size_t ws, size_t we,
                     const char *word);

/* Index of t[ws..we) in table (case rules as in fig_lex_match), or -1. */
int fig_lex_word_in(const fig_lex_t *lx, const unsigned char *t, size_t ws,
                    size_t we, const fig_word_t *table);

#endif
