/*
 * entities: one pass over the words of a text. Lower-case prose is skipped;
 * runs of capitalised words (with the connectors "of", "and", "the"...
 * between them) are parsed left to right against the lexicon's gazetteer
 * (gaz.h) with rules for titles, honorifics, given names and head nouns.
 * Unknown capitalised words are remembered, and after the pass a word that
 * is the surname of a person seen anywhere in the document becomes a
 * mention of that person. Mentions are then grouped into entities. This
 * file is the word pass; head phrases and titles are ent_head.c, signs of
 * what an unknown word is ent_place.c, the document pass ent_doc.c
 * (ent_int.h).
 */
#include "entities.h"

#include "ent_int.h"

#include "../common/xalloc.h"
#include "gaz.h"
#include "lexicon.h"
#include "swar.h"
#include "tok.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SEG_MAX 64   /* words in one capitalised run */
#define NAME_MAX_W 4 /* words in a person's name */

struct entities {
    const lexicon_t *lx;   /* what the scan looks words up in (borrowed) */
    uint32_t keys;         /* gazetteer size, for logs */
    uint64_t nouns_any[4]; /* union of the filters of the noun and
                              modifier lists typed_before_noun() reads */
    uint64_t conn_any[4];  /* union of the connector and particle filters */
};

entities_t *
entities_new(const lexicon_t *lx)
{
    entities_t *e = xcalloc(1, sizeof *e);
    e->lx = lx;
    e->keys = gaz_count(lx);
    for (size_t k = 0; k < 4; k++)
        e->nouns_any[k] =
            lx->place_nouns_after->filter[k] | lx->org_nouns_after->filter[k] |
            lx->fac_nouns_after->filter[k] | lx->noun_modifiers->filter[k];
    for (size_t k = 0; k < 4; k++)
        e->conn_any[k] =
            lx->name_connectors->filter[k] | lx->name_particles->filter[k];
    return e;
}

void
entities_destroy(entities_t **e)
{
    if (!e || !*e)
        return;
    free(*e);
    *e = NULL;
}

/* Lower-case words that may join the words of a name: the connectors and
 * particles of the lexicon ("of", "and", "de", "bin"). */
static bool
is_connector(const entities_t *e, const char *s, const tok_t *t)
{
    const char *p = s + t->start;
    size_t n = t->end - t->start;
    unsigned b = (unsigned)(t->hash >> 56);
    if (!(t->flags & TOK_LOWER) || !((e->conn_any[b >> 6] >> (b & 63)) & 1))
        return false;
    return lex_set_has(e->lx->name_connectors, p, n, t->hash) ||
           lex_set_has(e->lx->name_particles, p, n, t->hash);
}

void
ent_add_person(doc_t *d, const word_t *w, size_t a, size_t b, uint32_t rs,
               uint32_t re)
{
    ent_doc_add_cand(d, w[a].t.start, w[b].t.end, RESULT_PERSON, NULL);
    cand_t *c = &d->c[d->n_c - 1];
    c->rstart = rs;
    c->rend = re;
    c->last = w[b].t.hash;
    c->words = (uint8_t)(b - a + 1);
}

/* True when the word at text[p] starts a sentence, a line or a quotation
 * (the scanner jumps to capitalised words, so their tokens do not carry
 * TOK_SENT reliably). */
static bool
starts_sentence(const char *text, uint32_t p)
{
    while (p > 0 && (text[p - 1] == ' ' || text[p - 1] == '\t'))
        p--;
    if (p == 0)
        return true;
    unsigned char c = (unsigned char)text[p - 1];
    if (c == '.' || c == '!' || c == '?' || c == ':' || c == '\n' ||
        c == '\r' || c == '"' || c == '(' || c == ';')
        return true;
    /* U+201C left quote, U+2013/U+2014 dashes, U+2026 ellipsis */
    return p >= 3 && (unsigned char)text[p - 3] == 0xE2 &&
           (unsigned char)text[p - 2] == 0x80 &&
           (c == 0x9C || c == 0x93 || c == 0x94 || c == 0xA6);
}

static void
add_maybe(doc_t *d, const word_t *w, size_t a, size_t b, bool caps)
{
    if (d->n_m == d->cap_m) {
        d->cap_m = d->cap_m ? d->cap_m * 2 : 64;
        d->m = xreallocarray(d->m, d->cap_m, sizeof *d->m);
    }
    maybe_t *m = &d->m[d->n_m++];
    m->start = w[a].t.start;
    m->end = w[b].t.end;
    m->last = w[b].t.hash;
    m->words = (uint8_t)(b - a + 1);
    m->caps = caps;
    m->sent = starts_sentence(d->text, w[a].t.start);
    m->place = false;
    m->used = false;
    m->seq = 0;
    for (size_t k = a; k <= b; k++)
        m->seq = tok_seq(m->seq, w[k].t.hash);
}

/* End (inclusive) of a name starting at i: up to max name-like words,
 * stopping after a possessive or before a comma. */
size_t
ent_name_end(const word_t *w, size_t n, size_t i, size_t max)
{
    size_t e = i;
    while (e + 1 < n && e + 1 - i < max && !(w[e].t.flags & TOK_POSS) &&
           !w[e + 1].comma && ent_name_like(&w[e + 1]))
        e++;
    return e;
}

/* A person that starts at i with a given name: "Sergei Chemezov". Returns
 * the last word or (size_t)-1. */
size_t
ent_given_person(const word_t *w, size_t n, size_t i)
{
    if (!(w[i].kinds & GAZ_GIVEN) || !(w[i].t.flags & TOK_CAP) ||
        (w[i].t.flags & TOK_POSS) || i + 1 >= n || w[i + 1].comma ||
        !ent_name_like(&w[i + 1]))
        return (size_t)-1;
    return ent_name_end(w, n, i, NAME_MAX_W);
}

/* Longest gazetteer sequence from i: entity end in *ent (or -1) and title
 * end in *title (or -1). */
void
ent_gaz_longest(const lexicon_t *lx, const word_t *w, size_t n, size_t i,
                size_t *ent, const gaz_slot_t **eslot, size_t *title)
{
    uint64_t h = 0;
    *ent = *title = (size_t)-1;
    *eslot = NULL;
    for (size_t j = i; j < n; j++) {
        if (j > i && w[j].comma)
            break;
        h = tok_seq(h, w[j].t.hash);
        const gaz_slot_t *g = gaz_find(lx, h);
        if (!g)
            break;
        bool caps_ok = !(g->kinds & GAZ_ACRONYM) ||
                       (w[j].t.flags & (TOK_ALLCAPS | TOK_DIGIT));
        if ((g->kinds & GAZ_ENT) && !w[j].conn && caps_ok) {
            *ent = j;
            *eslot = g;
        }
        if ((g->kinds & GAZ_TITLE) && !w[j].conn)
            *title = j;
        if (!(g->kinds & GAZ_PREFIX))
            break;
    }
}

/* Split "Kyrgyz-Russian" into known parts; true when every part is a
 * known nationality or place. "Russian-made", "US-led": the known first
 * part of a word whose other parts are lower case. */
static bool
hyphen_split(doc_t *d, const word_t *x)
{
    const char *s = d->text;
    uint32_t a = x->t.start, parts[8][2];
    size_t np = 0;
    for (uint32_t i = x->t.start; i <= x->t.end; i++) {
        if (i == x->t.end || s[i] == '-') {
            if (np == 8 || i == a)
                return false;
            parts[np][0] = a;
            parts[np][1] = i;
            np++;
            a = i + 1;
        }
    }
    if (np < 2)
        return false;
    const gaz_slot_t *g[8];
    bool place = false;
    /* "Russian-made", "US-led", "Moscow-based": a known nationality or
     * place joined to lower-case words is that nationality or place */
    if (s[parts[1][0]] >= 'a' && s[parts[1][0]] <= 'z') {
        for (size_t k = 1; k < np; k++)
            if (!(s[parts[k][0]] >= 'a' && s[parts[k][0]] <= 'z'))
                return false;
        g[0] = gaz_find(d->lx,
                        tok_hash(s + parts[0][0], parts[0][1] - parts[0][0]));
        if (!g[0] || !(g[0]->kinds & GAZ_ENT) ||
            (g[0]->ent != RESULT_NORP && g[0]->ent != RESULT_GPE))
            return false;
        ent_doc_add_cand(d, parts[0][0], parts[0][1], g[0]->ent,
                         gaz_name(d->lx, g[0]));
        return true;
    }
    for (size_t k = 0; k < np; k++) {
        g[k] = gaz_find(d->lx,
                        tok_hash(s + parts[k][0], parts[k][1] - parts[k][0]));
        if (!g[k] || !(g[k]->kinds & GAZ_ENT))
            return false;
        /* "Russia-Africa", "Europe-Asia", "Volga-Kama": non-political
         * places too */
        if (g[k]->ent == RESULT_NORP || g[k]->ent == RESULT_GPE ||
            g[k]->ent == RESULT_LOC) {
            place = true;
            continue;
        }
        /* "Russia-EU", "Russia-NATO": an organisation's acronym beside a
         * place; "Lukoil-Perm" is a company of its own */
        if (g[k]->ent != RESULT_ORG)
            return false;
        for (uint32_t q = parts[k][0]; q < parts[k][1]; q++)
            if (!(s[q] >= 'A' && s[q] <= 'Z'))
                return false;
    }
    if (!place)
        return false;
    for (size_t k = 0; k < np; k++)
        ent_doc_add_cand(d, parts[k][0], parts[k][1], g[k]->ent,
                         gaz_name(d->lx, g[k]));
    return true;
}

/* An organisation's board after its name at w[e]: "Vnesheconombank
 * Supervisory Board", "Gazprom Board of Directors". Returns the board's
 * last word, or e. Not inside a title, where the board belongs to the
 * office ("Chairman of the Gazprom Management Board"), nor before one
 * ("Gazprom Neft Management Board Chairman"). */
static size_t
board_after(const doc_t *d, const word_t *w, size_t n, size_t e)
{
    const char *s = d->text;
    if (d->in_title || (w[e].t.flags & TOK_POSS))
        return e;
    size_t b = e;
    /* the longest board of lx->org_boards whose words follow, no comma */
    for (size_t i = 0; i < d->lx->org_boards->n; i++) {
        const char *p = d->lx->org_boards->w[i];
        size_t k = e + 1;
        while (*p && k < n && !w[k].comma) {
            size_t wl = w[k].t.end - w[k].t.start;
            if (strncmp(p, s + w[k].t.start, wl) != 0 ||
                (p[wl] != ' ' && p[wl] != '\0'))
                break;
            p += wl;
            if (*p == ' ')
                p++;
            k++;
        }
        if (!*p && k - 1 > b)
            b = k - 1;
    }
    if (b == e)
        return e;
    if (b + 1 < n && !w[b + 1].comma && !w[b + 1].conn)
        return e; /* "... Board Chairman", "... Board Alexei Miller" */
    return b;
}

/* The run's last word after a head phrase ending at w[b] is "No" with a
 * number after it: "City Clinical Hospital No. 40", "Thermal Power Plant
 * No.4", "School No 59". Returns the end of the number, or 0. */
static uint32_t
number_after(const doc_t *d, const word_t *w, size_t n, size_t b)
{
    const char *s = d->text;
    if (b + 2 != n || (w[b].t.flags & TOK_POSS) || w[b + 1].comma ||
        w[b + 1].t.end - w[b + 1].t.start != 2 ||
        memcmp(s + w[b + 1].t.start, "No", 2) != 0)
        return 0;
    size_t q = w[b + 1].t.end;
    if (q < d->len && s[q] == '.')
        q++;
    if (q < d->len && s[q] == ' ')
        q++;
    size_t a = q;
    while (q < d->len && q - a < 6 && s[q] >= '0' && s[q] <= '9')
        q++;
    if (q == a || q - a >= 6 ||
        (q < d->len && ((s[q] | 0x20) >= 'a' && (s[q] | 0x20) <= 'z')))
        return 0;
    return (uint32_t)q;
}

/* The words before w[i] are a document's name and "on" ("Declaration
 * on", "Agreement on the"): w[i]... is the subject of a treaty or law
 * ("Strategic Partnership", "Comprehensive Partnership"), no body. */
static bool
document_subject(const doc_t *d, const word_t *w, size_t i)
{
    if (i < 2)
        return false;
    size_t k = i - 1;
    if (ent_word_is(d->text, &w[k], "the") && k > 1)
        k--;
    return ent_word_is(d->text, &w[k], "on") &&
           ent_word_in_set(d->text, &w[k - 1], d->lx->document_nouns);
}

/* The end of a name from the word a to byte e, past a bracket it
 * leaves open ("Republic of Sakha (Yakutia)"). */
static uint32_t
paren_end(const doc_t *d, const word_t *a, uint32_t e)
{
    if (e >= d->len || d->text[e] != ')' || e - a->t.start < 4 ||
        !memchr(d->text + a->t.start, '(', e - a->t.start))
        return e;
    return e + 1;
}

/* Parse words w[0..n) (no commas inside unless a list closes them). */
void
ent_process(doc_t *d, word_t *w, size_t n)
{
    const char *s = d->text;
    size_t i = 0, unk = (size_t)-1;
    while (i < n) {
        word_t *x = &w[i];
        if (x->conn || x->plural || (x->t.flags & TOK_NUM) || i == unk) {
            i++;
            continue;
        }
        size_t ge, te;
        const gaz_slot_t *gs;
        ent_gaz_longest(d->lx, w, n, i, &ge, &gs, &te);
        int htype = 0;
        size_t hh = (size_t)-1;
        size_t he = ent_head_phrase(d->lx, s, w, n, i, &htype, &hh);
        size_t pe = ent_given_person(w, n, i);
        /* longest wins; ties: gazetteer, head phrase, person */
        size_t best = (size_t)-1;
        int kind = 0;
        if (ge != (size_t)-1) {
            best = ge;
            kind = 1;
        }
        if (he != (size_t)-1 && (best == (size_t)-1 || he > best)) {
            best = he;
            kind = 2;
        }
        if (pe != (size_t)-1 && (best == (size_t)-1 || pe > best)) {
            best = pe;
            kind = 3;
        }
        if (te != (size_t)-1 && (best == (size_t)-1 || te >= best)) {
            i = ent_title_phrase(d, w, n, i, te);
            continue;
        }
        if (kind == 1 && !gs->ent) {
            i = best + 1; /* a listed non-entity ("Reserve Fund") */
            continue;
        }
        if (kind == 1 && best == i && (gs->kinds & GAZ_GIVEN) &&
            gs->ent == RESULT_GPE && !ent_place_sign(d, w, n, i)) {
            /* "dear Vladimir", "Vladimir and I": a town that is also a
             * given name, with no sign of a place, is a person */
            ent_add_person(d, w, i, i, 0, 0);
            i++;
            continue;
        }
        if (kind == 1) {
            size_t b =
                gs->ent == RESULT_ORG ? board_after(d, w, n, best) : best;
            if (b > best)
                ent_doc_add_cand(d, w[i].t.start, w[b].t.end, RESULT_ORG, NULL);
            else
                ent_doc_add_cand(d, w[i].t.start,
                                 paren_end(d, &w[i], w[best].t.end), gs->ent,
                                 gaz_name(d->lx, gs));
            i = b + 1;
            continue;
        }
        if (kind == 2 && htype == RESULT_ORG && document_subject(d, w, i)) {
            i = best + 1; /* "the Declaration on Strategic Partnership" */
            continue;
        }
        if (kind == 2) {
            size_t b = htype == RESULT_ORG ? board_after(d, w, n, best) : best;
            uint32_t ne = b == best ? number_after(d, w, n, b) : 0;
            ent_doc_add_cand(d, w[i].t.start, ne ? ne : w[b].t.end, htype,
                             NULL);
            d->c[d->n_c - 1].pre = ent_unknown_name_hash(d->lx, s, w, i, hh);
            i = ne ? b + 2 : b + 1;
            continue;
        }
        if (kind == 3) {
            ent_add_person(d, w, i, best, 0, 0);
            i = best + 1;
            continue;
        }
        if (i + 1 < n && !w[i + 1].comma && !(x->t.flags & TOK_POSS) &&
            ent_name_like(&w[i + 1]) && !(w[i + 1].kinds & GAZ_GIVEN) &&
            (x->t.flags & TOK_CAP) &&
            ent_word_in_set(s, x, d->lx->place_nouns_before)) {
            /* "Lake Yarovoye", "Mount Elbrus": a place noun before a name */
            size_t e = ent_name_end(w, n, i + 1, 2);
            ent_doc_add_cand(d, x->t.start, w[e].t.end, RESULT_LOC, NULL);
            i = e + 1;
            continue;
        }
        if ((x->kinds & GAZ_HONOR) && i + 1 < n && !w[i + 1].comma &&
            !(x->t.flags & TOK_POSS)) {
            size_t k = i + 1, ke, kt;
            const gaz_slot_t *kg;
            ent_gaz_longest(d->lx, w, n, k, &ke, &kg, &kt);
            if (kt == (size_t)-1 &&
                (ent_name_like(&w[k]) || (w[k].kinds & GAZ_GIVEN))) {
                size_t e = ent_name_end(w, n, k, 3);
                ent_add_person(d, w, k, e, 0, 0);
                i = e + 1;
                continue;
            }
        }
        if ((x->t.flags & TOK_HYPHEN) && hyphen_split(d, x)) {
            i++;
            continue;
        }
        if (ent_name_like(x)) {
            size_t e = i;
            while (e + 1 < n && e + 1 - i < NAME_MAX_W &&
                   !(w[e].t.flags & TOK_POSS) && !w[e + 1].comma &&
                   ent_name_like(&w[e + 1]) && !(w[e + 1].kinds & GAZ_GIVEN) &&
                   !((w[e + 1].t.flags & TOK_HYPHEN) &&
                     ent_hyphen_parts(d->lx, s, &w[e + 1].t,
                                      1u << RESULT_NORP | 1u << RESULT_GPE |
                                          1u << RESULT_LOC)))
                e++;
            /* "Tatneft", "Lenenergo": a company by its name's ending */
            if (e == i && !(x->kinds & GAZ_GIVEN) &&
                ent_company_name(d->lx, s, &x->t)) {
                ent_doc_add_cand(d, x->t.start, x->t.end, RESULT_ORG, NULL);
                i++;
                continue;
            }
            /* "in Mendeleyevsk", "from Odintsovo", "near Botlikh": an
             * unknown town */
            if (e == i && (i + 1 == n || w[i + 1].conn || w[i + 1].comma) &&
                !(x->kinds & GAZ_GIVEN) &&
                ((ent_town_suffix(d->lx, s, &x->t) &&
                  ent_place_prep_before(s, x->t.start, d->lx->place_preps)) ||
                 ent_unknown_place(d, x))) {
                /* GPE after the pass, unless a person of the document
                 * has this surname ("in Trump properties") */
                add_maybe(d, w, i, i, false);
                d->m[d->n_m - 1].place = true;
                i++;
                continue;
            }
            /* "the town of Kamenka", "Mytishchi in the Moscow Region" */
            bool run_end = e + 1 == n || w[e + 1].conn || w[e + 1].comma;
            if (!(x->kinds & GAZ_GIVEN) && !(w[e].t.flags & TOK_POSS) &&
                run_end &&
                (ent_settlement_before(d->lx, s, x->t.start) ||
                 (i == 0 && n == 1 && !d->in_title &&
                  !starts_sentence(s, x->t.start) &&
                  (s[x->t.end - 1] | 0x20) != 's' &&
                  ent_in_region_after(d, x) &&
                  !ent_doc_occurs_lower(s, d->len, x->t.start, x->t.end)))) {
                add_maybe(d, w, i, e, false);
                d->m[d->n_m - 1].place = true;
                i = e + 1;
                continue;
            }
            /* "Rosgeo CEO Sergei Gorkov": the unknown name right before
             * an office in an organisation is that organisation */
            if (e + 1 < n && (w[e + 1].kinds & GAZ_TITLE) && !w[e + 1].comma &&
                !(w[e].t.flags & TOK_POSS)) {
                size_t oe, ot;
                const gaz_slot_t *og;
                ent_gaz_longest(d->lx, w, n, e + 1, &oe, &og, &ot);
                /* the cheap tests first: ent_doc_occurs_lower() reads the text
                 */
                if (ot != (size_t)-1 && ent_org_title(d->lx, s, w, e + 1, ot) &&
                    ent_unknown_run(d->lx, s, w, i, e + 1) &&
                    !starts_sentence(s, x->t.start) &&
                    !(e == i &&
                      ent_doc_occurs_lower(s, d->len, x->t.start, x->t.end))) {
                    ent_doc_add_cand(d, x->t.start, w[e].t.end, RESULT_ORG,
                                     NULL);
                    i = e + 1;
                    continue;
                }
            }
            /* "Iskhak Mashbashev": an unknown given name before a
             * surname */
            if (e == i + 1 && ent_unknown_given_surname(d->lx, s, w, i)) {
                ent_add_person(d, w, i, e, 0, 0);
                i = e + 1;
                continue;
            }
            add_maybe(d, w, i, e, false);
            i = e + 1;
            continue;
        }
        /* an unknown word in capitals: an acronym defined elsewhere in
         * the text may name it ("FAS" after "... Service (FAS)") */
        if ((x->t.flags & TOK_ALLCAPS) && !(x->t.flags & TOK_DIGIT) &&
            !(x->kinds & (GAZ_ENT | GAZ_TITLE | GAZ_HONOR | GAZ_STOP)))
            add_maybe(d, w, i, i, true);
        i++;
    }
}

/* The words w[a..b] name a region: the gazetteer lists them followed by
 * "Region" or "Territory" as a GPE ("Amur" of "Amur Region", "Rostov"
 * of "Rostov Region"). */
static bool
names_region(const lexicon_t *lx, const word_t *w, size_t a, size_t b)
{
    static const char *const heads[] = { "Region", "Territory" };
    uint64_t h = 0;
    for (size_t k = a; k <= b; k++)
        h = tok_seq(h, w[k].t.hash);
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        const gaz_slot_t *g =
            gaz_find(lx, tok_seq(h, tok_hash(heads[i], strlen(heads[i]))));
        if (g && (g->kinds & GAZ_ENT) && g->ent == RESULT_GPE)
            return true;
    }
    return false;
}

/* A run closed by a plural head: "the Amur and Irkutsk regions",
 * "Kursk and Voronezh regions". Each listed name takes the head's type;
 * names with their own head ("Rostov Region") are parsed as usual. */
static void
coordination(doc_t *d, word_t *w, size_t n)
{
    const char *s = d->text;
    int type = w[n - 1].head;
    size_t end = n - 1; /* one past the current item */
    size_t first = end;
    while (end > 0) {
        size_t a = end;
        while (a > 0 && !w[a - 1].conn && ent_name_like(&w[a - 1]) &&
               !(a < end && w[a].comma))
            a--;
        if (a == end) {
            /* an item with its own head or a known name */
            size_t b = end;
            while (b > 0 && !w[b - 1].conn && (w[b - 1].t.flags & TOK_CAP) &&
                   !(w[b - 1].kinds & (GAZ_STOP | GAZ_TITLE)) &&
                   !(b < end && w[b].comma))
                b--;
            if (b == end || end - b > 4)
                break;
            a = b;
        }
        if (end - a > 3)
            break;
        first = a;
        if (a == 0)
            break;
        if (w[a].comma)
            end = a;
        else if (w[a - 1].conn && ent_word_is(s, &w[a - 1], "and"))
            end = a - 1;
        else
            break;
    }
    /* "Key deposits include ...": one capitalised word opening a
     * sentence before a plural head is no name */
    if (first == n - 1 ||
        (first == n - 2 && starts_sentence(s, w[first].t.start))) {
        ent_process(d, w, n - 1);
        return;
    }
    /* the words before the list */
    size_t pre = first;
    if (pre > 0 && w[pre - 1].conn)
        pre--;
    if (pre > 0)
        ent_process(d, w, pre);
    /* the items */
    size_t i = first;
    while (i < n - 1) {
        if (w[i].conn) {
            i++;
            continue;
        }
        size_t e = i;
        while (e + 1 < n - 1 && !w[e + 1].conn && !w[e + 1].comma)
            e++;
        bool own = false;
        for (size_t k = i; k <= e; k++)
            if (w[k].kinds & (GAZ_HEAD | GAZ_ENT))
                own = true;
        size_t ge, te;
        const gaz_slot_t *g;
        ent_gaz_longest(d->lx, w, e + 1, i, &ge, &g, &te);
        if (ent_listed_nothing(d->lx, w, i, e)) {
            i = e + 1; /* "all the World Cup regions" */
            continue;
        }
        if (ge == e && g->ent == RESULT_LOC && type == RESULT_GPE &&
            !names_region(d->lx, w, i, e))
            /* "the Arctic regions", "the Far East regions": a listed
             * place that names no region keeps its type */
            ent_doc_add_cand(d, w[i].t.start, w[e].t.end, RESULT_LOC,
                             gaz_name(d->lx, g));
        else if (own && (!(e == i && (w[i].kinds & GAZ_ENT) &&
                           w[i].ent != RESULT_NORP) ||
                         type == RESULT_FAC))
            /* "Moscow airports": a listed town keeps its type */
            ent_process(d, w + i, e - i + 1);
        else
            ent_doc_add_cand(d, w[i].t.start, w[e].t.end, type, NULL);
        i = e + 1;
    }
}

/* A run of this one word names nothing: a function word ("The", "We"
 * at a sentence start; GAZ_STOP: never part of a name alone) that is no
 * entity, title, given name or honorific, with no hyphen to split.
 * Half the runs are one; ent_process() would go through all its rules. */
static bool
lone_function_word(const word_t *x)
{
    return (x->kinds & GAZ_STOP) && !x->conn && !x->plural &&
           !(x->kinds & (GAZ_ENT | GAZ_TITLE | GAZ_GIVEN | GAZ_HONOR)) &&
           !(x->t.flags & TOK_HYPHEN);
}

/* Split a run at commas unless a plural head closes it as a list. */
static void
flush(doc_t *d, word_t *w, size_t n)
{
    while (n > 0 && w[n - 1].conn && !w[n - 1].plural)
        n--;
    if (n == 0 || (n == 1 && lone_function_word(&w[0])))
        return;
    /* "the Azov and Black Seas": a capitalised plural head closing an
     * "X and Y" list is a plural head too */
    if (!w[n - 1].plural && (w[n - 1].kinds & GAZ_PLURAL) && n >= 4 &&
        !w[n - 1].comma && !w[n - 2].conn && !w[n - 2].comma &&
        ent_word_is(d->text, &w[n - 3], "and") && !(w[n - 2].kinds & GAZ_HEAD))
        w[n - 1].plural = true;
    if (w[n - 1].plural) {
        coordination(d, w, n);
        return;
    }
    size_t a = 0;
    for (size_t i = 1; i <= n; i++) {
        if (i < n && w[i].comma &&
            ent_complement_open(d->lx, d->text, w + a, i - a)) {
            size_t le = ent_comma_list_end(d->text, w, n, i);
            if (le != (size_t)-1) {
                i = le;
                continue;
            }
        }
        if (i == n || w[i].comma) {
            size_t b = i;
            while (b > a && w[b - 1].conn)
                b--;
            size_t s0 = a;
            while (s0 < b && w[s0].conn)
                s0++;
            if (b > s0)
                ent_process(d, w + s0, b - s0);
            a = i;
        }
    }
}

/* A hyphenated pair of capitalised names followed by a lower-case kind of
 * line is a named line between places: "Moscow-Adler railway",
 * "Skovorodino-Mohe pipeline", "Bishkek-Osh motorway" (FAC). */
static bool
line_between(const lexicon_t *lx, const char *s, const word_t *w,
             const tok_t *t)
{
    if (w->conn || w->plural || !(w->t.flags & TOK_CAP) ||
        !(w->t.flags & TOK_HYPHEN) ||
        (w->t.flags & (TOK_POSS | TOK_DIGIT | TOK_ALLCAPS)))
        return false;
    if (!lex_set_has(lx->line_kinds, s + t->start, t->end - t->start, t->hash))
        return false;
    for (uint32_t q = w->t.start; q + 1 < w->t.end; q++) {
        unsigned char c = (unsigned char)s[q + 1];
        if (s[q] == '-' && !((c >= 'A' && c <= 'Z') || c >= 0xC0))
            return false;
    }
    return true;
}

/* The word w is a road's number (one capital letter, a hyphen or not,
 * one to three digits: "M11", "M-12", "R-21") and the lower-case t a kind
 * of line of lx->line_kinds ("motorway"): a road (FAC). */
static bool
road_code(const lexicon_t *lx, const char *s, const word_t *w, const tok_t *t)
{
    uint32_t a = w->t.start, b = w->t.end;
    if (w->conn || !(w->t.flags & TOK_DIGIT) || (w->t.flags & TOK_POSS) ||
        b - a < 2 || b - a > 5 || s[a] < 'A' || s[a] > 'Z')
        return false;
    a += s[a + 1] == '-' ? 2 : 1;
    if (b - a < 1 || b - a > 3)
        return false;
    for (uint32_t q = a; q < b; q++)
        if (s[q] < '0' || s[q] > '9')
            return false;
    return lex_set_has(lx->line_kinds, s + t->start, t->end - t->start,
                       t->hash);
}

/* The type a lower-case noun gives the unknown name before it: LOC for
 * lx->place_nouns_after ("field"), ORG for lx->org_nouns_after ("company"),
 * FAC for lx->fac_nouns_after ("shipyard"); 0 for other words. */
static int
noun_type(const lexicon_t *lx, const char *p, size_t wl, uint64_t hash)
{
    if (lex_set_has(lx->place_nouns_after, p, wl, hash))
        return RESULT_LOC;
    if (lex_set_has(lx->org_nouns_after, p, wl, hash))
        return RESULT_ORG;
    if (lex_set_has(lx->fac_nouns_after, p, wl, hash))
        return RESULT_FAC;
    return 0;
}

/* The lower-case word t after the run seg[0..n) is a noun of noun_type(),
 * or up to two words of lx->noun_modifiers ("gas", "transport") lead to
 * one: the unknown name words ending the run (one to three, none known, no
 * given name, not starting a sentence, not joined to a known name) take
 * its type ("the Vankor field" LOC, "the Globaltruck transport company"
 * ORG; a town's name before a plant is GPE), and the words before them are
 * parsed as usual. Returns false, nothing done, otherwise. pos is where
 * the text after t goes on. */
static bool
typed_before_noun(doc_t *d, word_t *seg, size_t n, size_t len, size_t pos,
                  const tok_t *t)
{
    const char *s = d->text;
    const tok_t *x = t;
    tok_t peek;
    int type = 0;
    for (int k = 0;; k++) {
        const char *p = s + x->start;
        size_t wl = x->end - x->start;
        if ((type = noun_type(d->lx, p, wl, x->hash)) != 0)
            break;
        if (k == 2 || !lex_set_has(d->lx->noun_modifiers, p, wl, x->hash))
            return false;
        if (!tok_next(s, len, &pos, &peek) || (peek.flags & TOK_BREAK) ||
            !(peek.flags & TOK_LOWER))
            return false;
        x = &peek;
    }
    if (n == 0 || (seg[n - 1].t.flags & TOK_POSS))
        return false;
    /* a plural head closes a coordination ("the Orlovo and Kamenka
     * fields"): coordination() types every item */
    const gaz_slot_t *pg = gaz_find(d->lx, t->hash);
    if (pg && (pg->kinds & GAZ_PLURAL))
        return false;
    size_t a = n;
    while (a > 0 && n - a < 3) {
        const word_t *w = &seg[a - 1];
        /* "the TANEKO company": a name in capitals too, of four letters
         * or more ("the LNG plant", "the TV company" are no names) */
        bool caps = (w->t.flags & TOK_ALLCAPS) && !(w->t.flags & TOK_DIGIT) &&
                    w->t.end - w->t.start >= 4 &&
                    !(w->kinds & (GAZ_STOP | GAZ_TITLE | GAZ_HONOR));
        if ((!ent_name_like(w) && !caps) ||
            (w->kinds & (GAZ_ENT | GAZ_GIVEN)) ||
            ((w->t.flags & TOK_HYPHEN) && ent_hyphen_parts(d->lx, s, &w->t, 0)))
            break;
        a--;
        if (w->comma)
            break;
    }
    /* "Key deposits include ...": a sentence's first word is capitalised
     * anyway; "the Russian Helicopters holding": a known word joined to
     * the name makes it one the rules or the gazetteer type as a whole */
    if (a == n || starts_sentence(s, seg[a].t.start) ||
        (a > 0 && !seg[a].comma && !seg[a - 1].conn &&
         (seg[a - 1].kinds & GAZ_ENT)))
        return false;
    /* "the South Stream pipeline": a listed name ends the run, starting
     * before the unknown words ("South" is no name alone) */
    for (size_t j = 0; j < a; j++) {
        size_t ge, te;
        const gaz_slot_t *g;
        if (seg[j].conn)
            continue;
        ent_gaz_longest(d->lx, seg, n, j, &ge, &g, &te);
        if (ge == n - 1)
            return false;
    }
    /* "the Komsomolsk plant": a town's name before a plant or company
     * names the town */
    if (type != RESULT_LOC &&
        ((a == n - 1 && ent_town_suffix(d->lx, s, &seg[a].t)) ||
         names_region(d->lx, seg, a, n - 1)))
        type = RESULT_GPE;
    flush(d, seg, a);
    ent_doc_add_cand(d, seg[a].t.start, seg[n - 1].t.end, type, NULL);
    return true;
}

/* The number t, right after the run seg[0..n), ends a listed name with
 * the run's last one to four words ("Nord Stream 2", "Arctic LNG 2"): the
 * run takes it in, so that the gazetteer finds the whole name. */
static bool
listed_with_number(const lexicon_t *lx, const word_t *seg, size_t n,
                   const tok_t *t)
{
    for (size_t j = n; j > 0 && n - j < 4; j--) {
        /* a listed name of several words starts with a prefix key: most
         * numbers after a run ("May 2019") cost one test a word */
        if (!(seg[j - 1].kinds & GAZ_PREFIX))
            continue;
        uint64_t h = 0;
        for (size_t k = j - 1; k < n; k++)
            h = tok_seq(h, seg[k].t.hash);
        const gaz_slot_t *g = gaz_find(lx, tok_seq(h, t->hash));
        if (g && (g->kinds & GAZ_ENT))
            return true;
    }
    return false;
}

/* Bytes that may start a capitalised word: A-Z and any non-ASCII lead. */
static const bool maybe_cap[256] = {
#define R16(b)                                                                 \
    [b] = 1, [b + 1] = 1, [b + 2] = 1, [b + 3] = 1, [b + 4] = 1, [b + 5] = 1,  \
    [b + 6] = 1, [b + 7] = 1, [b + 8] = 1, [b + 9] = 1, [b + 10] = 1,          \
    [b + 11] = 1, [b + 12] = 1, [b + 13] = 1, [b + 14] = 1, [b + 15] = 1
    R16(0x41), ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1,
    ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1,
    ['Z'] = 1, R16(0xC0), R16(0xD0), R16(0xE0), R16(0xF0),
};

/* ASCII bytes that continue a word: a capital after one is not a word
 * start. After a non-ASCII byte the tokenizer decides. */
static const bool word_byte[256] = {
    R16(0x41), R16(0x61), ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
    ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1,
    ['z'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['-'] = 1,
#undef R16
};

/* Bytes of w that are A-Z or >= 0xC0 (maybe_cap), as bit 7 of each byte
 * (a byte >= 0xC0 has bits 7 and 6 set). */
static uint64_t
cap_bytes(uint64_t w)
{
    return swar_in(w, 'A', 'Z') | (w & (w << 1) & SWAR_HIGH);
}

/* First q >= pos where a capitalised word may start (maybe_cap[u[q]] and
 * no word byte before it), or len. Eight bytes at a time: prose is mostly
 * lower case. */
static size_t
next_cap(const unsigned char *u, size_t len, size_t pos)
{
    size_t q = pos;
    while (q + 16 <= len) {
        /* sixteen at a time: bytes that may start a capitalised word
         * (maybe_cap), kept when no word byte comes before them */
        v16_t a;
        memcpy(&a, u + q, 16);
        /* with the top bit flipped, unsigned order is signed order,
         * which SSE2 compares in one instruction: (a - 'A') < 26 and
         * a >= 0xC0 unsigned */
        v16_t b = a ^ 0x80;
        v16_t m =
            (v16_t)(((v16s_t)(v16_t)(b - 'A') < -102) | ((v16s_t)b > 0x3F));
        /* prose: many blocks hold no capital */
        for (unsigned x = v16_bits(m); x; x &= x - 1) {
            size_t k = q + (size_t)__builtin_ctz(x);
            if (k == 0 || !word_byte[u[k - 1]])
                return k;
        }
        q += 16;
    }
    while (q + 8 <= len) {
        uint64_t w;
        memcpy(&w, u + q, 8);
        for (uint64_t m = cap_bytes(w); m; m &= m - 1) {
            size_t k = q + swar_first(m);
            if (k == 0 || !word_byte[u[k - 1]])
                return k;
        }
        q += 8;
    }
    while (q < len && !(maybe_cap[u[q]] && (q == 0 || !word_byte[u[q - 1]])))
        q++;
    return q;
}

/* The hyphenated lower-case word t is a name particle of
 * lx->name_particles joined to a capitalised name: "al-Assad", "el-Sisi". */
static bool
particle_name(const lexicon_t *lx, const char *s, const tok_t *t)
{
    uint32_t h = t->start;
    while (h < t->end && s[h] != '-')
        h++;
    if (h == t->start || h + 1 >= t->end || s[h + 1] < 'A' || s[h + 1] > 'Z')
        return false;
    return lex_set_has(lx->name_particles, s + t->start, h - t->start,
                       tok_hash(s + t->start, h - t->start));
}

/* The capitalised word t follows the word p after a dot with no blank:
 * "DOM.RF", "VEB.RF", "Gazeta.Ru". 1 when the two words start or make a
 * listed name (the run goes on over the dot), -1 when t is a dotted
 * suffix of lx->dotted_suffixes after an unknown name (an organisation
 * of its own), 0 otherwise ("yes.People": a blank left out). */
static int
dotted_name(const lexicon_t *lx, const char *s, const word_t *p, const tok_t *t)
{
    if (t->gap != p->t.end || s[p->t.end] != '.' || t->start != p->t.end + 1 ||
        !(p->t.flags & TOK_CAP) || (t->flags & TOK_HYPHEN))
        return 0;
    const gaz_slot_t *g = gaz_find(lx, tok_seq(tok_seq(0, p->t.hash), t->hash));
    if (g && (g->kinds & (GAZ_ENT | GAZ_PREFIX)))
        return 1;
    if (!(p->kinds & (GAZ_ENT | GAZ_TITLE | GAZ_HONOR | GAZ_STOP)) &&
        lex_set_has(lx->dotted_suffixes, s + t->start, t->end - t->start,
                    t->hash))
        return -1;
    return 0;
}

/* The gap before t is exactly gap (of glen bytes). */
static bool
gap_is(const char *s, const tok_t *t, const char *gap, size_t glen)
{
    return t->start - t->gap == glen && memcmp(s + t->gap, gap, glen) == 0;
}

/* The run seg[0..n) goes on over the gap " – " or " (" before the
 * capitalised word t: its last words and t start or make a listed name
 * ("Khanty-Mansi Autonomous Area – Yugra", "Republic of Sakha
 * (Yakutia)"), or t opens a bracket of one to three capitalised words
 * after which one to three more end in a head noun ("Russian
 * Technologies (Rostekhnologii) State Corporation", "Tavrichesky
 * (Tauride) Palace"): one flat name. *join gets where the word after the
 * bracket starts (0 when none), which goes on with the run too. */
static bool
run_goes_on(const lexicon_t *lx, const char *s, size_t len, size_t pos,
            const word_t *seg, size_t n, const tok_t *t, uint32_t *join)
{
    static const char dash[] = " \xE2\x80\x93 ";
    bool paren = gap_is(s, t, " (", 2);
    *join = 0;
    if (!paren && !gap_is(s, t, dash, sizeof dash - 1))
        return false;
    if (seg[n - 1].t.flags & TOK_POSS)
        return false;
    uint64_t h = 0;
    for (size_t j = n; j > 0 && n - j < 5; j--) {
        h = 0;
        for (size_t k = j - 1; k < n; k++)
            h = tok_seq(h, seg[k].t.hash);
        const gaz_slot_t *g = gaz_find(lx, tok_seq(h, t->hash));
        if (g && (g->kinds & (GAZ_ENT | GAZ_PREFIX)))
            return true;
    }
    if (!paren)
        return false;
    tok_t u;
    int inside = 1;
    for (;;) {
        if (!tok_next(s, len, &pos, &u) || !(u.flags & TOK_CAP))
            return false;
        if (!(u.flags & TOK_BREAK)) {
            if (++inside > 3)
                return false;
            continue;
        }
        if (!gap_is(s, &u, ") ", 2))
            return false;
        break;
    }
    *join = u.start;
    for (int k = 0; k < 3; k++) {
        const gaz_slot_t *g = gaz_find(lx, u.hash);
        if (g && (g->kinds & (GAZ_GIVEN | GAZ_TITLE | GAZ_HONOR | GAZ_STOP)))
            return false;
        if (g && (g->kinds & GAZ_HEAD))
            return true;
        if ((u.flags & TOK_POSS) || !tok_next(s, len, &pos, &u) ||
            (u.flags & TOK_BREAK) || !(u.flags & TOK_CAP))
            return false;
    }
    return false;
}

/* The word t is a facility's head noun with a unit's number joined by a
 * hyphen: "GRES-2", "HPP-1", "NPP-2" (one or two digits). */
static bool
numbered_fac_head(const lexicon_t *lx, const char *s, const tok_t *t)
{
    uint32_t h = t->end;
    while (h > t->start && s[h - 1] >= '0' && s[h - 1] <= '9')
        h--;
    if (h == t->end || t->end - h > 2 || h < t->start + 3 || s[h - 1] != '-')
        return false;
    const gaz_slot_t *g =
        gaz_find(lx, tok_hash(s + t->start, h - 1 - t->start));
    return g && (g->kinds & GAZ_HEAD) && g->head == RESULT_FAC;
}

/* Append the word at x (seg[*n], or a slot past it when a flush emptied
 * the run after x was read) to the run. */
static void
push_word(word_t *seg, size_t *n, const word_t *x)
{
    if (x != &seg[*n])
        seg[*n] = *x;
    (*n)++;
}

void
entities_scan(const entities_t *e, const char *text, size_t len, result_t *r)
{
    const lexicon_t *lx = e->lx;
    if (!text || !len || len > UINT32_MAX)
        return;
    doc_t d;
    word_t seg[SEG_MAX + 1]; /* seg[n] takes the next word in place */
    size_t n = 0;
    lab_t *labs = NULL;
    size_t n_labs = ent_doc_begin(&d, e, lx, text, len, r, &labs), li = 0;
    /* where the next label's name starts (SIZE_MAX after the last): one
     * compare per word */
    size_t next_ns = n_labs ? labs[0].ns : SIZE_MAX;
    uint32_t skip_until = 0, join_at = 0;
    size_t pos = 0;
    for (;;) {
        if (n == 0 && pos < next_ns) {
            /* no run open: jump to the next word that may be capitalised;
             * the gap before a run's first word does not matter */
            size_t q = next_cap((const unsigned char *)text, len, pos);
            if (q > next_ns)
                q = next_ns;
            pos = q;
        }
        /* tokenised straight into its slot: no copies of a tok_t whose
         * fields were just stored one by one (store-forwarding stalls) */
        word_t *x = &seg[n];
        if (!tok_next(text, len, &pos, &x->t))
            break;
        const tok_t *t = &x->t;
        while (t->start >= next_ns) {
            flush(&d, seg, n);
            n = 0;
            const lab_t *lb = &labs[li];
            const result_speaker_t *sp = &r->speakers[lb->speaker];
            ent_doc_add_cand(&d, lb->ns, lb->ne, RESULT_PERSON, NULL);
            cand_t *c = &d.c[d.n_c - 1];
            const char *ls = text + lb->ns, *sp2 = ls;
            const char *q = memrchr(ls, ' ', lb->ne - lb->ns);
            if (q)
                sp2 = q + 1;
            c->last = tok_hash(sp2, (size_t)(text + lb->ne - sp2));
            c->words = (uint8_t)(sp2 == ls ? 1 : 2);
            uint32_t re = lb->ns;
            while (re > lb->start &&
                   (text[re - 1] == ' ' || text[re - 1] == ','))
                re--;
            if (re > lb->start && sp->title[0]) {
                c->rstart = lb->start;
                c->rend = re;
            }
            skip_until = lb->body;
            li++;
            next_ns = li < n_labs ? labs[li].ns : SIZE_MAX;
        }
        if (t->start < skip_until) {
            /* the rest of the label is the speaker's name, already a
             * mention: go on at the speech (no run is open) */
            if (pos < skip_until)
                pos = skip_until;
            continue;
        }
        /* every field after the token is zero: one store */
        memset(&x->kinds, 0, sizeof *x - offsetof(word_t, kinds));
        bool cap = (t->flags & TOK_CAP) != 0;
        if (n > 0 && (t->flags & TOK_BREAK)) {
            const word_t *p = &seg[n - 1];
            bool dot = text[p->t.after] == '.' &&
                       ((p->kinds & GAZ_HONOR) ||
                        (p->t.end - p->t.start == 2 &&
                         (text[p->t.start] | 0x20) == 's' &&
                         (text[p->t.start + 1] | 0x20) == 't'));
            for (uint32_t q = p->t.after + 1; dot && q < t->start; q++)
                if (text[q] != ' ')
                    dot = false;
            int dotted = cap && !dot ? dotted_name(lx, text, p, t) : 0;
            if (t->start == join_at)
                dot = true; /* the word after a joined bracket */
            else if (cap && !dot && !dotted && !(t->flags & TOK_COMMA) &&
                     run_goes_on(lx, text, len, pos, seg, n, t, &join_at))
                dot = true;
            if ((t->flags & TOK_COMMA) && !(p->t.flags & TOK_POSS))
                x->comma = true;
            else if (dotted < 0) {
                /* "VRB.RF": an unknown name with a dotted suffix */
                uint32_t ds = p->t.start;
                flush(&d, seg, n - 1);
                ent_doc_add_cand(&d, ds, t->end, RESULT_ORG, NULL);
                n = 0;
                continue;
            } else if (!dot && !dotted) {
                flush(&d, seg, n);
                n = 0;
            }
        }
        if (!cap) {
            if (n == 0)
                continue;
            if (t->flags & TOK_LOWER) {
                if (is_connector(e, text, t)) {
                    x->conn = true;
                } else if ((t->flags & TOK_HYPHEN) &&
                           particle_name(lx, text, t)) {
                    /* "Bashar al-Assad", "Mr al-Assad": a name with a
                     * particle joined to it reads as a capitalised word
                     * (only inside a run: the jump to the next capital
                     * passes it by otherwise) */
                    x->t.flags =
                        (uint16_t)((x->t.flags & ~TOK_LOWER) | TOK_CAP);
                    const gaz_slot_t *g = gaz_find(lx, t->hash);
                    if (g) {
                        x->kinds = g->kinds;
                        x->ent = g->ent;
                        x->head = g->head;
                    }
                } else {
                    unsigned hb = (unsigned)(t->hash >> 56);
                    /* first: a kind of line may be a facility noun
                     * too ("pipeline") */
                    if (!(t->flags & TOK_BREAK) &&
                        line_between(lx, text, &seg[n - 1], t)) {
                        /* "the Moscow-Adler railway" */
                        uint32_t ls = seg[n - 1].t.start;
                        flush(&d, seg, n - 1);
                        ent_doc_add_cand(&d, ls, t->end, RESULT_FAC, NULL);
                        n = 0;
                        continue;
                    }
                    if ((seg[n - 1].t.flags & TOK_DIGIT) &&
                        !(t->flags & TOK_BREAK) &&
                        road_code(lx, text, &seg[n - 1], t)) {
                        /* "the M11 motorway", "the M-12 highway" */
                        const tok_t *rc = &seg[n - 1].t;
                        flush(&d, seg, n - 1);
                        ent_doc_add_cand(&d, rc->start, rc->end, RESULT_FAC,
                                         NULL);
                        n = 0;
                        continue;
                    }
                    if (!(t->flags & TOK_BREAK) &&
                        ((e->nouns_any[hb >> 6] >> (hb & 63)) & 1) &&
                        typed_before_noun(&d, seg, n, len, pos, t)) {
                        /* "the Vankor field", "the Kovykta gas field" */
                        n = 0;
                        continue;
                    }
                    /* every plural head ends in 's' (test_entities
                     * checks the list): other words skip the lookup */
                    const gaz_slot_t *g = (text[t->end - 1] | 0x20) == 's'
                                              ? gaz_find(lx, t->hash)
                                              : NULL;
                    if (g && (g->kinds & GAZ_PLURAL)) {
                        x->plural = true;
                        x->head = g->head;
                        x->kinds = g->kinds;
                        push_word(seg, &n, x);
                    }
                    flush(&d, seg, n);
                    n = 0;
                    continue;
                }
            } else if (!(t->flags & TOK_NUM) || (t->flags & TOK_BREAK) ||
                       !listed_with_number(lx, seg, n, t)) {
                flush(&d, seg, n);
                n = 0;
                continue;
            }
        } else {
            const gaz_slot_t *g = gaz_find(lx, t->hash);
            if (g) {
                x->kinds = g->kinds;
                x->ent = g->ent;
                x->head = g->head;
            } else if ((t->flags & (TOK_DIGIT | TOK_HYPHEN)) ==
                           (TOK_DIGIT | TOK_HYPHEN) &&
                       numbered_fac_head(lx, text, t)) {
                /* "Yakutsk GRES-2", "Zaramagskaya HPP-1" */
                x->kinds = GAZ_HEAD;
                x->head = RESULT_FAC;
            }
        }
        if (n == 0 && !cap)
            continue;
        if (n == SEG_MAX) {
            flush(&d, seg, n);
            n = 0;
        }
        push_word(seg, &n, x);
    }
    flush(&d, seg, n);
    ent_doc_finish(&d, r);
}
