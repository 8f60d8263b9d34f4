/*
 * lexicon: the built-in lexicon, assembled from the tables generated at
 * build time (gaz_data.inc by gen/gaz_gen.c, fig_data.inc by
 * gen/fig_gen.c), which are static to this file. Each generated file
 * also lists its tables (GAZ_DATA_SETS, FIG_DATA_TABLES), so a new list in
 * engine/data needs only its lexicon_t field.
 */
#include "lexicon.h"

#include "fig_data.inc"
#include "gaz_data.inc"

#define SET_FIELD(name) .name = &lex_##name,
#define FIG_FIELD(name) .fig_##name = fig_##name,

/* clang-format off */
static const lexicon_t builtin = {
    .gaz_table = gaz_table,
    .gaz_mask = GAZ_DATA_MASK,
    .gaz_keys = GAZ_DATA_KEYS,
    .gaz_names = gaz_names,
    GAZ_DATA_SETS(SET_FIELD)
    FIG_DATA_TABLES(FIG_FIELD)
};
/* clang-format on */

const lexicon_t *
lexicon_builtin(void)
{
    return &builtin;
}
