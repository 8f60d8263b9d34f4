/*
 * figures: numbers with their meaning - PERCENT, MONEY (ISO 4217), QUANTITY
 * (normalised unit), DATE and TIME (ISO 8601), ORDINAL, CARDINAL - with
 * values fully scaled. The word tables are a lexicon's (lexicon.h), looked
 * up through the caller's fig_lex_t, their index, which holds that
 * lexicon. No other state.
 */
#ifndef EXCERPT_FIGURES_H
#define EXCERPT_FIGURES_H

#include "../common/result.h"
#include "fig_lex.h"

#include <stddef.h>

/* Find figures in text[0..len) and append them to r (result_add_figure),
 * looking words up in lx's lexicon through lx (fig_lex_new). Nothing
 * happens when lx, text or r is NULL. Pure; thread-safe on a shared lx. */
void figures_scan(const fig_lex_t *lx, const char *text, size_t len,
                  result_t *r);

#endif
