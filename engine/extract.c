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
#include "lexicon.h"
#include "turns.h"

#include <stdlib.h>

/* The engine: its lexicon, what every stage looks words up in, and the
 * stage handles built from it by extract_new_with(), read-only
 * afterwards. */
struct extract {
    const lexicon_t *lex; /* the lexicon (borrowed) */
    entities_t *entities; /* entity scanner over lex */
    fig_lex_t *fig_lex;   /* index of lex's figure word tables */
};

extract_t *
extract_new(void)
{
    return extract_new_with(lexicon_builtin());
}

extract_t *
extract_new_with(const lexicon_t *lex)
{
    extract_t *ex = xcalloc(1, sizeof *ex);
    ex->lex = lex;
    ex->entities = entities_new(lex);
    ex->fig_lex = fig_lex_new(lex);
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
    turns_parse(ex->lex, text, len, r);
    entities_scan(ex->entities, text, len, r);
    figures_scan(ex->fig_lex, text, len, r);
    result_finish(r);
    r->extract_us = now_mono_us() - t0;
    *out = r;
    return ERR_OK;
}
