/*
 * figures: numbers with their meaning - PERCENT, MONEY (ISO 4217), QUANTITY
 * (normalised unit), DATE and TIME (ISO 8601), ORDINAL, CARDINAL - with
 * values fully scaled. Tables are static const; no state.
 */
#ifndef EXCERPT_FIGURES_H
#define EXCERPT_FIGURES_H

#include "../common/result.h"

#include <stddef.h>

/* Find figures in text[0..len) and append them to r (result_add_figure).
 * Pure and thread-safe. */
void figures_scan(const char *text, size_t len, result_t *r);

#endif
