/*
 * ent_place: what its context says an unknown capitalised word is - a
 * town (its suffix, a place preposition, "the town of", "in the X
 * Region" after it), a company (its ending), a given name and surname the
 * lists lack, or a hyphenated pair of listed names. Used by the word pass
 * of entities.c (ent_int.h).
 */
#include "ent_int.h"

#include "gaz.h"
#include "tok.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

bool
ent_town_suffix(const lexicon_t *lx, const char *s, const tok_t *t)
{
    uint32_t e = t->start;
    while (e < t->end && s[e] != '-')
        e++;
    size_t n = e - t->start;
    const char *p = s + t->start;
    if (n < 6)
        return false;
    return lex_set_ends(lx->town_suffixes, p, n, 1);
}

bool
ent_place_prep_before(const char *s, uint32_t p, const lex_set_t *preps)
{
    if (p < 2 || s[p - 1] != ' ')
        return false;
    uint32_t a = p - 1;
    while (a > 0 && s[a - 1] >= 'a' && s[a - 1] <= 'z')
        a--;
    if (a == p - 1 || (a > 0 && s[a - 1] != ' ' && s[a - 1] != '\n'))
        return false;
    return lex_set_has(preps, s + a, p - 1 - a, tok_hash(s + a, p - 1 - a));
}

/* The word alone is a listed place that is not also a given name. */
static bool
place_word(const word_t *x)
{
    return (x->kinds & GAZ_ENT) && !(x->kinds & GAZ_GIVEN) &&
           (x->ent == RESULT_GPE || x->ent == RESULT_LOC);
}

bool
ent_place_sign(const doc_t *d, const word_t *w, size_t n, size_t i)
{
    if (ent_place_prep_before(d->text, w[i].t.start, d->lx->place_preps))
        return true;
    if (i > 0 && w[i].comma && place_word(&w[i - 1]))
        return true;
    if (i + 1 < n && w[i + 1].comma && place_word(&w[i + 1]))
        return true;
    if (i >= 2 && w[i - 1].conn && place_word(&w[i - 2]))
        return true;
    return i + 2 < n && w[i + 1].conn && place_word(&w[i + 2]);
}

bool
ent_settlement_before(const lexicon_t *lx, const char *s, uint32_t p)
{
    return p >= 5 && s[p - 1] == ' ' && s[p - 2] == 'f' && s[p - 3] == 'o' &&
           ent_place_prep_before(s, p - 3, lx->settlement_nouns);
}

bool
ent_in_region_after(const doc_t *d, const word_t *x)
{
    const char *s = d->text;
    size_t pos = x->t.after;
    tok_t t;
    if (!tok_next(s, d->len, &pos, &t) || t.gap != x->t.after ||
        t.start != x->t.after + 1 || t.end - t.start != 2 ||
        memcmp(s + t.start, "in", 2) != 0)
        return false;
    if (!tok_next(s, d->len, &pos, &t) || (t.flags & TOK_BREAK))
        return false;
    if (t.end - t.start == 3 && memcmp(s + t.start, "the", 3) == 0 &&
        (!tok_next(s, d->len, &pos, &t) || (t.flags & TOK_BREAK)))
        return false;
    for (int k = 0; k < 3; k++) {
        if (!(t.flags & TOK_CAP))
            return false;
        const gaz_slot_t *g = gaz_find(d->lx, t.hash);
        if (g && (g->kinds & GAZ_HEAD) && g->head == RESULT_GPE && k > 0)
            return true;
        if ((t.flags & TOK_POSS) || !tok_next(s, d->len, &pos, &t) ||
            (t.flags & TOK_BREAK))
            return false;
    }
    return false;
}

/* The word ends in one of the endings of set ("ism", "ogy"). */
static bool
ends_in(const char *s, const tok_t *t, const lex_set_t *set)
{
    return lex_set_ends(set, s + t->start, t->end - t->start, 1);
}

bool
ent_company_name(const lexicon_t *lx, const char *s, const tok_t *t)
{
    if (t->flags & TOK_HYPHEN)
        return false;
    return lex_set_ends(lx->org_name_endings, s + t->start, t->end - t->start,
                        3);
}

/* A number follows the word t: "in Item 8", "in Section 3" name parts of
 * a text, not places. */
static bool
numbered(const doc_t *d, const tok_t *t)
{
    size_t q = t->after;
    return q + 1 < d->len && d->text[q] == ' ' && d->text[q + 1] >= '0' &&
           d->text[q + 1] <= '9';
}

bool
ent_unknown_place(const doc_t *d, const word_t *x)
{
    const char *s = d->text;
    const tok_t *t = &x->t;
    if (d->in_title || (t->flags & TOK_POSS) || t->end - t->start < 4 ||
        !ent_place_prep_before(s, t->start, d->lx->place_preps_strong) ||
        ends_in(s, t, d->lx->adjective_suffixes) ||
        lex_set_has(d->lx->calendar_words, s + t->start, t->end - t->start,
                    t->hash) ||
        ends_in(s, t, d->lx->not_place_suffixes) || numbered(d, t))
        return false;
    /* "May-June", "Anglo-Russian": a date or a known name in a part;
     * "NefteTransServis": capitals inside are a company's */
    uint32_t a = t->start;
    for (uint32_t q = t->start; q <= t->end; q++) {
        if (q < t->end && s[q] != '-') {
            if (q > a && s[q] >= 'A' && s[q] <= 'Z')
                return false;
            continue;
        }
        uint64_t h = tok_hash(s + a, q - a);
        const gaz_slot_t *g = gaz_find(d->lx, h);
        if (q == a || (s[a] >= 'a' && s[a] <= 'z') ||
            (g && (g->kinds & GAZ_ENT)) ||
            lex_set_has(d->lx->calendar_words, s + a, q - a, h))
            return false;
        a = q + 1;
    }
    return !ent_doc_occurs_lower(s, d->len, t->start, t->end);
}

bool
ent_unknown_given_surname(const lexicon_t *lx, const char *s, const word_t *w,
                          size_t i)
{
    const tok_t *a = &w[i].t, *b = &w[i + 1].t;
    if (((w[i].kinds | w[i + 1].kinds) & (GAZ_ENT | GAZ_GIVEN)) ||
        (a->flags & TOK_POSS) || a->end - a->start < 3 ||
        ends_in(s, a, lx->adjective_suffixes))
        return false;
    return lex_set_ends(lx->surname_endings, s + b->start, b->end - b->start,
                        3);
}

bool
ent_hyphen_parts(const lexicon_t *lx, const char *s, const tok_t *t,
                 unsigned types)
{
    uint32_t a = t->start;
    for (uint32_t i = t->start; i <= t->end; i++) {
        if (i < t->end && s[i] != '-')
            continue;
        const gaz_slot_t *g =
            i > a ? gaz_find(lx, tok_hash(s + a, i - a)) : NULL;
        if (!g || !(g->kinds & GAZ_ENT) || (types && !(types & (1u << g->ent))))
            return false;
        a = i + 1;
    }
    return true;
}
