/*
 * extract: runs the stages in order (turns, entities, figures) and
 * finishes the result (ordering, turn attribution).
 */
#include "extract.h"

#include "../common/err.h"
#include "../common/now.h"
#include "../common/xalloc.h"
#include "entities.h"
#include "figures.h"
#include "turns.h"

#include <stdlib.h>

/* The engine's lexicon: what its stages look words up in, built once by
 * extract_new() and read-only afterwards. */
struct extract {
    entities_t *entities; /* entity scanner (the gazetteer is const data) */
    fig_lex_t *fig_lex;   /* index of the figure word tables */
};

extract_t *
extract_new(void)
{
    extract_t *ex = xcalloc(1, sizeof *ex);
    ex->entities = entities_new();
    ex->fig_lex = fig_lex_new();
    return ex;
}

void
extract_destroy(extract_t **exp)
{
    if (!exp || !*exp)
        return;
    entities_destroy(&(*exp)->entities);
    fig_lex_destroy(&(*exp)->fig_lex);
    free(*exp);
    *exp = NULL;
}

int
extract_run(const extract_t *ex, const char *text, size_t len, result_t **out)
{
    if (len > EXTRACT_MAX_TEXT)
        return ERR_TOOBIG;
    uint64_t t0 = now_mono_us();
    result_t *r = result_new();
    r->version = result_strndup(r, EXTRACT_VERSION, sizeof EXTRACT_VERSION - 1);
    turns_parse(text, len, r);
    entities_scan(ex->entities, text, len, r);
    figures_scan(ex->fig_lex, text, len, r);
    result_finish(r);
    r->extract_us = now_mono_us() - t0;
    *out = r;
    return ERR_OK;
}
