/*
 * lexicon: everything the extraction stages look words up in - the entity
 * gazetteer (gaz.h), the word lists (lexset.h) and the figure word tables
 * (fig_lex.h) - as one read-only value. The engine handle (extract_t)
 * holds a lexicon and passes it to every stage; no stage names a table
 * of its own. The built-in lexicon is compiled at build time from
 * engine/data/ and iso-codes (gen/gaz_gen.c, gen/fig_gen.c).
 */
#ifndef EXCERPT_LEXICON_H
#define EXCERPT_LEXICON_H

#include "fig_lex.h"
#include "gaz.h"
#include "lexset.h"

#include <stdint.h>

struct lexicon {
    /* The gazetteer (gaz.h): an open-addressing table of gaz_mask + 1
     * slots (a power of two, never full) keyed by tok_seq() hashes. */
    const gaz_slot_t *gaz_table; /* the slots */
    uint32_t gaz_mask;           /* slot count - 1 */
    uint32_t gaz_keys;           /* slots in use */
    const char *gaz_names;       /* canonical names, at gaz_slot_t.canon */

    /* Word lists, written in engine/data/ under "#!set=NAME" lines.
     * data/connectors.txt: lower-case words joining the words of a name
     * ("of", "and"), the prepositions opening the complement of a body's
     * head or an office ("Ministry of", "Committee on") and those of them
     * a place's head takes ("Republic of"), name particles ("de", "von",
     * "bin"), and the prepositions a title may take besides them
     * ("Ambassador to", "Minister in"). */
    const lex_set_t *name_connectors;
    const lex_set_t *complement_preps;
    const lex_set_t *place_complement_preps;
    const lex_set_t *name_particles;
    const lex_set_t *title_preps;
    /* data/roles.txt: words that label a turn without naming anyone. */
    const lex_set_t *anonymous_roles;
    /* data/roles.txt: words that make the part after a label's comma a
     * clause, not a description of its speaker. */
    const lex_set_t *clause_words;
    /* data/titles.txt: nouns of office that close a title built on a
     * listed one ("Chief Financial Officer"). */
    const lex_set_t *title_nouns;
    /* data/places.txt: prepositions before a place ("in", "from"),
     * endings of common nouns that are no places ("ism"), endings of
     * Russian town names ("sk", "grad"), place nouns before a name
     * ("Lake", "Mount"), lower-case nouns after a place name ("the Vankor
     * field") and the words that may stand between such a noun or those
     * of data/kinds.txt and the name ("gas"), kinds of lines between two
     * places ("Moscow-Adler railway"). */
    const lex_set_t *place_preps;
    const lex_set_t *place_preps_strong;
    const lex_set_t *not_place_suffixes;
    const lex_set_t *town_suffixes;
    const lex_set_t *place_nouns_before;
    const lex_set_t *place_nouns_after;
    const lex_set_t *noun_modifiers;
    const lex_set_t *line_kinds;
    /* data/places.txt: settlements before "of" and a name ("town"). */
    const lex_set_t *settlement_nouns;
    /* data/boards.txt: boards that follow an organisation's name
     * ("Gazprom Management Board"), as phrases. */
    const lex_set_t *org_boards;
    /* data/kinds.txt: lower-case nouns after an unknown name that make it
     * an organisation ("company") or a facility ("shipyard"), offices
     * whose "of" complement or preceding unknown name is an organisation
     * ("CEO"), and endings of company names ("neft", "energo"). */
    const lex_set_t *org_nouns_after;
    const lex_set_t *fac_nouns_after;
    const lex_set_t *org_titles;
    const lex_set_t *org_name_endings;
    /* data/kinds.txt: suffixes after a dot that make a name of the word
     * before it ("RF" of "DOM.RF"). */
    const lex_set_t *dotted_suffixes;
    /* data/kinds.txt: names of documents before "on" and their subject
     * ("Declaration on Strategic Partnership"): no body. */
    const lex_set_t *document_nouns;
    /* data/kinds.txt: heads of bodies usually named after a place
     * ("University", "Court"). */
    const lex_set_t *place_named_heads;
    /* data/calendar.txt: names of months and days. */
    const lex_set_t *calendar_words;
    /* data/suffixes.txt: endings of English adjectives ("ic", "al"). */
    const lex_set_t *adjective_suffixes;
    /* data/suffixes.txt: endings of surnames ("ov", "enko", "shvili"). */
    const lex_set_t *surname_endings;

    /* Figure word tables (data/fig/), each ending with a {NULL} entry. */
    const fig_word_t *fig_scales;           /* million -> 1e6 */
    const fig_word_t *fig_currencies;       /* roubles -> RUB */
    const fig_word_t *fig_currency_symbols; /* US$ -> USD */
    const fig_word_t *fig_units;            /* km -> kilometre */
    const fig_word_t *fig_months;           /* June -> 6 */
    const fig_word_t *fig_percents;         /* per cent */
    const fig_word_t *fig_durations;        /* years -> Y */
    const fig_word_t *fig_numwords;         /* seven -> 7 */
    /* Word lists of the figure rules (the norm and number unused unless
     * said): words after a bare number that leave it elliptical, range
     * connectors ("to", "and/or"), words that make a year of a small
     * number, seasons, parts of a season or year ("end"), relative
     * periods ("past"), ordinals of a half or quarter (number = ordinal),
     * words before a bare
     * amount that carry the last currency or unit to it ("to", "from"). */
    const fig_word_t *fig_loose_followers;
    const fig_word_t *fig_range_connectors;
    const fig_word_t *fig_year_preps;
    const fig_word_t *fig_seasons;
    const fig_word_t *fig_season_edges;
    const fig_word_t *fig_year_edges;
    const fig_word_t *fig_relative_periods;
    const fig_word_t *fig_part_ordinals;
    const fig_word_t *fig_carry_preps;
    /* Clock words ("pm", "a.m.", "o'clock"; norm "am", "pm" or "o") and
     * the endings of ordinals in digits ("nd", "th"). */
    const fig_word_t *fig_clock_words;
    const fig_word_t *fig_ordinal_suffixes;
    /* Words joined to a year by a hyphen that leave it a year
     * ("mid-2020", "pre-2014", "post-2018"). */
    const fig_word_t *fig_year_prefixes;
    /* Words right before a year preposition that make a number under
     * 1900 after it a count ("up to 1000"); not in fig_lex's index (rare
     * lookups scan it). */
    const fig_word_t *fig_year_prep_blockers;
    /* Words right before a number that make it a count when a noun
     * follows ("around 2000 companies"); not indexed either. */
    const fig_word_t *fig_count_approximators;
    /* Words before a number that make it an identifier ("No. 40",
     * "article 56"); indexed (asked after most numbers). */
    const fig_word_t *fig_number_signs;
    /* Words of an event's name that make a year before it part of the
     * name ("the 2018 FIFA World Cup"); not indexed either. */
    const fig_word_t *fig_event_heads;
    /* Words between a number and its unit ("5 more tonnes"). */
    const fig_word_t *fig_unit_gaps;
    /* Words after a number that make it a factor ("13 times", "3-fold"),
     * never part of a name; not indexed (asked only after a capital). */
    const fig_word_t *fig_multipliers;
    /* Words joined to a number by a hyphen that make it an ordinal
     * ("11-graders"); not indexed (asked only after a hyphen). */
    const fig_word_t *fig_ordinal_heads;
};

/* The lexicon compiled into the library (static, immutable, never
 * freed): what extract_new() uses. */
const lexicon_t *lexicon_builtin(void);

#endif
