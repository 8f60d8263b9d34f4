/*
 * lexicon: the built-in lexicon, assembled from the tables generated at
 * build time (gaz_data.inc by gen/gaz_gen.c, fig_data.inc by
 * gen/fig_gen.c), which are static to this file.
 */
#include "lexicon.h"

#include "fig_data.inc"
#include "gaz_data.inc"

static const lexicon_t builtin = {
    .gaz_table = gaz_table,
    .gaz_mask = GAZ_DATA_MASK,
    .gaz_keys = GAZ_DATA_KEYS,
    .gaz_names = gaz_names,

    .name_connectors = &lex_name_connectors,
    .name_particles = &lex_name_particles,
    .title_preps = &lex_title_preps,
    .anonymous_roles = &lex_anonymous_roles,
    .place_preps = &lex_place_preps,
    .place_preps_strong = &lex_place_preps_strong,
    .not_place_suffixes = &lex_not_place_suffixes,
    .town_suffixes = &lex_town_suffixes,
    .place_nouns_before = &lex_place_nouns_before,
    .place_nouns_after = &lex_place_nouns_after,
    .noun_modifiers = &lex_noun_modifiers,
    .line_kinds = &lex_line_kinds,
    .settlement_nouns = &lex_settlement_nouns,
    .org_boards = &lex_org_boards,
    .org_nouns_after = &lex_org_nouns_after,
    .fac_nouns_after = &lex_fac_nouns_after,
    .org_titles = &lex_org_titles,
    .org_name_endings = &lex_org_name_endings,
    .place_named_heads = &lex_place_named_heads,
    .calendar_words = &lex_calendar_words,
    .adjective_suffixes = &lex_adjective_suffixes,
    .surname_endings = &lex_surname_endings,

    .fig_scales = fig_scales,
    .fig_currencies = fig_currencies,
    .fig_currency_symbols = fig_currency_symbols,
    .fig_units = fig_units,
    .fig_months = fig_months,
    .fig_percents = fig_percents,
    .fig_durations = fig_durations,
    .fig_numwords = fig_numwords,
    .fig_loose_followers = fig_loose_followers,
    .fig_range_connectors = fig_range_connectors,
    .fig_year_preps = fig_year_preps,
    .fig_seasons = fig_seasons,
    .fig_season_edges = fig_season_edges,
    .fig_year_edges = fig_year_edges,
    .fig_relative_periods = fig_relative_periods,
    .fig_part_ordinals = fig_part_ordinals,
    .fig_per_times = fig_per_times,
    .fig_carry_preps = fig_carry_preps,
    .fig_clock_words = fig_clock_words,
    .fig_ordinal_suffixes = fig_ordinal_suffixes,
    .fig_year_prefixes = fig_year_prefixes,
    .fig_year_prep_blockers = fig_year_prep_blockers,
    .fig_count_approximators = fig_count_approximators,
    .fig_number_signs = fig_number_signs,
    .fig_event_heads = fig_event_heads,
};

const lexicon_t *
lexicon_builtin(void)
{
    return &builtin;
}
