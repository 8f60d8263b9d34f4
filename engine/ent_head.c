/*
 * ent_head: the structure of an organisation's or office's name - a head
 * noun with its modifiers and "of ..." complement ("Federal Antimonopoly
 * Service", "Ministry of Agriculture"), and a title with the person and
 * body it names ("President of Transneft"). Used by the word pass of
 * entities.c (ent_int.h).
 */
#include "ent_int.h"

#include "gaz.h"
#include "tok.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* w[i..e) is exactly one listed name (entity or not): "Gazprom" before
 * "and Russian Railways" is complete, and a coordination does not merge
 * it with what follows. */
static bool
listed_whole(const lexicon_t *lx, const word_t *w, size_t e, size_t i)
{
    size_t ge, te;
    const gaz_slot_t *gs;
    if (e <= i)
        return false;
    ent_gaz_longest(lx, w, e, i, &ge, &gs, &te);
    return ge == e - 1;
}

/* w[a..b] is one phrase of the lists that names nothing: a function
 * phrase of data/stopwords.txt ("World Cup", "Victory Day") or a listed
 * non-entity ("Reserve Fund"). */
bool
ent_listed_nothing(const lexicon_t *lx, const word_t *w, size_t a, size_t b)
{
    uint64_t h = 0;
    for (size_t k = a; k <= b; k++)
        h = tok_seq(h, w[k].t.hash);
    const gaz_slot_t *g = gaz_find(lx, h);
    if (!g)
        return false;
    return (g->kinds & GAZ_ENT) ? !g->ent : (g->kinds & GAZ_STOP) != 0;
}

/* A listed entity starts at w[i] ("Astrakhan", "Black Sea"). */
static bool
known_from(const lexicon_t *lx, const word_t *w, size_t n, size_t i)
{
    size_t ge, te;
    const gaz_slot_t *gs;
    if (!(w[i].kinds & (GAZ_ENT | GAZ_PREFIX)))
        return false;
    ent_gaz_longest(lx, w, n, i, &ge, &gs, &te);
    return ge != (size_t)-1 && gs->ent;
}

/* A listed organisation starts at w[i] and is complete: nothing but a
 * connector, a comma or the run's end follows it ("and Sberbank"). */
static bool
listed_org(const lexicon_t *lx, const word_t *w, size_t n, size_t i)
{
    size_t ge, te;
    const gaz_slot_t *gs;
    ent_gaz_longest(lx, w, n, i, &ge, &gs, &te);
    if (ge == (size_t)-1 || gs->ent != RESULT_ORG)
        return false;
    return ge + 1 == n || w[ge + 1].conn || w[ge + 1].comma;
}

/* A plain capitalised word of a descriptive list ("Trade", "Scientific"):
 * not a known name, title, head, given name or function word. */
static bool
list_word(const word_t *w)
{
    return (w->t.flags & TOK_CAP) && !w->conn && !w->plural &&
           !(w->t.flags & (TOK_ALLCAPS | TOK_DIGIT | TOK_NUM | TOK_POSS)) &&
           !(w->kinds & (GAZ_ENT | GAZ_TITLE | GAZ_HONOR | GAZ_GIVEN |
                         GAZ_HEAD | GAZ_STOP));
}

/* The comma at w[i] goes on with a list of plain words closed by "and":
 * "on Trade, Economic, Scientific and Technical Cooperation". Returns the
 * list's last word, or -1 when the comma ends the name. */
size_t
ent_comma_list_end(const char *s, const word_t *w, size_t n, size_t i)
{
    size_t j = i;
    for (int items = 0; j < n && items < 8; items++) {
        if (!list_word(&w[j]))
            return (size_t)-1;
        size_t e = j;
        while (e + 1 < n && e + 1 - j < 3 && !w[e + 1].comma &&
               list_word(&w[e + 1]))
            e++;
        if (e + 1 < n && w[e + 1].comma) {
            j = e + 1;
            continue;
        }
        if (e + 2 < n && ent_word_is(s, &w[e + 1], "and") && !w[e + 2].comma &&
            list_word(&w[e + 2])) {
            size_t f = e + 2;
            while (f + 1 < n && f + 1 - (e + 2) < 3 && !w[f + 1].comma &&
                   list_word(&w[f + 1]))
                f++;
            /* "Ministry of Agriculture, Small and Medium-Sized Business
             * Corporation": the last item runs on into a name of its own */
            if (f + 1 < n && !w[f + 1].comma && !w[f + 1].conn &&
                ent_given_person(w, n, f + 1) == (size_t)-1)
                return (size_t)-1;
            return f;
        }
        return (size_t)-1;
    }
    return (size_t)-1;
}

/* The word x is a preposition of set in lower case ("of", not the "OF"
 * of a label in capitals). */
static bool
prep_in(const char *s, const word_t *x, const lex_set_t *set)
{
    return (x->t.flags & TOK_LOWER) && ent_word_in_set(s, x, set);
}

/* w[0..n) has a head noun with a complement of lx->complement_preps
 * ("of", "on", "for") opened after it. */
bool
ent_complement_open(const lexicon_t *lx, const char *s, const word_t *w,
                    size_t n)
{
    for (size_t j = 0; j + 1 < n; j++)
        if ((w[j].kinds & GAZ_HEAD) && w[j + 1].conn &&
            prep_in(s, &w[j + 1], lx->complement_preps))
            return true;
    return false;
}

/* A listed organisation right after the head w[h] of a body's kind,
 * ending the run or followed by a connector, comma, title or person:
 * "State Space Corporation ROSCOSMOS", "Joint Stock Company GLONASS".
 * Returns its last word, or -1. */
static size_t
listed_after_head(const lexicon_t *lx, const word_t *w, size_t n, size_t h)
{
    if (h + 1 >= n || (w[h].t.flags & TOK_POSS) || w[h + 1].comma ||
        w[h + 1].conn || !(w[h + 1].kinds & GAZ_ENT) ||
        w[h + 1].ent != RESULT_ORG)
        return (size_t)-1;
    size_t ge, te;
    const gaz_slot_t *g;
    ent_gaz_longest(lx, w, n, h + 1, &ge, &g, &te);
    if (ge == (size_t)-1 || g->ent != RESULT_ORG)
        return (size_t)-1;
    if (ge + 1 == n || w[ge + 1].conn || w[ge + 1].comma ||
        (w[ge + 1].kinds & GAZ_TITLE) ||
        ent_given_person(w, n, ge + 1) != (size_t)-1)
        return ge;
    return (size_t)-1;
}

/* The type of the head w[j] in the phrase starting at w[i]: a head of
 * two words listed with a type of its own ("Space Launch Centre" FAC,
 * "National Park" LOC) overrides the last word's (type). */
static int
two_word_head(const lexicon_t *lx, const word_t *w, size_t i, size_t j,
              int type)
{
    if (j == i || !(w[j - 1].kinds & GAZ_PREFIX))
        return type;
    const gaz_slot_t *g =
        gaz_find(lx, tok_seq(tok_seq(0, w[j - 1].t.hash), w[j].t.hash));
    return g && (g->kinds & GAZ_HEAD) ? g->head : type;
}

/*
 * A name ending in a head noun, with an optional "of ..." complement:
 * "Federal Antimonopoly Service", "Healthcare Ministry of the Russian
 * Federation", "Republic of Tatarstan". Returns the last word or -1.
 */
size_t
ent_head_phrase(const lexicon_t *lx, const char *s, const word_t *w, size_t n,
                size_t i, int *type, size_t *head)
{
    size_t last_head = (size_t)-1, j = i, and_at = (size_t)-1;
    if (w[i].conn || (w[i].kinds & (GAZ_STOP | GAZ_TITLE | GAZ_HONOR)))
        return (size_t)-1;
    for (; j < n; j++) {
        const word_t *x = &w[j];
        if (j > i && x->comma)
            break;
        if (x->conn) {
            if (ent_word_is(s, x, "and") && j + 1 < n && !w[j + 1].conn &&
                last_head != j - 1 && !listed_whole(lx, w, j, i)) {
                and_at = j;
                continue;
            }
            break;
        }
        if (x->plural || (x->kinds & (GAZ_STOP | GAZ_TITLE | GAZ_HONOR)) ||
            (x->t.flags & TOK_NUM))
            break;
        if (x->kinds & GAZ_HEAD) {
            last_head = j;
            *type = two_word_head(lx, w, i, j, x->head);
        }
        if (w[j].t.flags & TOK_POSS) {
            j++;
            break;
        }
    }
    if (last_head == (size_t)-1)
        return (size_t)-1;
    /* "the town of Gusev and Talakhovskaya TPP": "and" after a town's
     * name joins two names, not the words of one */
    if (and_at < last_head && ent_settlement_before(lx, s, w[i].t.start))
        return (size_t)-1;
    /* "Development Bank Forum": the run goes on past the head, unless
     * with the body's listed name ("State Space Corporation ROSCOSMOS") */
    if (last_head + 1 < n && last_head + 1 < j && !w[last_head + 1].conn) {
        size_t ae = *type == RESULT_ORG && last_head > i
                        ? listed_after_head(lx, w, n, last_head)
                        : (size_t)-1;
        if (ae != (size_t)-1)
            *head = last_head;
        return ae;
    }
    size_t end = last_head;
    bool premod = last_head > i;
    bool complement = false;
    /* "Republic of Tatarstan"; "the Argentine Republic on Strategic
     * Dialogue": a place's head takes fewer complements than a body's */
    if (!(w[end].t.flags & TOK_POSS) && end + 2 < n && !w[end + 1].comma &&
        prep_in(s, &w[end + 1],
                *type == RESULT_ORG || *type == RESULT_FAC
                    ? lx->complement_preps
                    : lx->place_complement_preps)) {
        size_t k = end + 2;
        size_t cend = (size_t)-1;
        for (; k < n; k++) {
            const word_t *x = &w[k];
            if (x->comma) {
                size_t le = cend != (size_t)-1 ? ent_comma_list_end(s, w, n, k)
                                               : (size_t)-1;
                if (le != (size_t)-1)
                    cend = le;
                break;
            }
            if (x->conn && ent_word_is(s, x, "and")) {
                /* "... and the Federal Antimonopoly Service": a new body */
                size_t q0 = k + 1;
                if (q0 < n && ent_word_is(s, &w[q0], "the"))
                    q0++;
                if (q0 < n && listed_org(lx, w, n, q0))
                    break; /* "Bank of Russia and Sberbank" */
                /* a head after "and" opens a new body with "the" ("...
                 * and the Crimean Bridge"), or, but for a facility's,
                 * after a known name ("... and Astrakhan University")
                 * or a listed name before "and" ("Russian Academy of
                 * Sciences and National Research Centre ..."); else
                 * it is more of the subject ("Academy of National
                 * Economy and Public Administration", "Committee on
                 * Constitutional Law and State Building") */
                bool body = false, the = q0 > k + 1;
                bool named = listed_whole(lx, w, k, i);
                for (size_t q = k + 1; q < n && !w[q].comma; q++) {
                    if (w[q].conn && !ent_word_is(s, &w[q], "the"))
                        break;
                    if (!named && !w[q].conn && known_from(lx, w, n, q))
                        named = true;
                    if ((w[q].kinds & GAZ_HEAD) &&
                        (the || (named && w[q].head != RESULT_FAC)))
                        body = true;
                }
                if (body)
                    break;
            }
            if (x->conn)
                continue;
            if (x->plural || (x->kinds & (GAZ_STOP | GAZ_TITLE | GAZ_HONOR)))
                break;
            if (ent_given_person(w, n, k) != (size_t)-1)
                break;
            cend = k;
            if (x->t.flags & TOK_POSS)
                break;
        }
        if (cend != (size_t)-1) {
            end = cend;
            complement = true;
        }
    }
    if (!premod && !complement)
        return (size_t)-1; /* bare "Government", "the Ministry" */
    /* "The State Corporation's CEO": one common adjective and a
     * possessive head refer back to a body named before */
    if (!complement && *type == RESULT_ORG && last_head == i + 1 &&
        (w[i].kinds & GAZ_COMMON) && (w[last_head].t.flags & TOK_POSS))
        return (size_t)-1;
    *head = last_head;
    return end;
}

/* The words w[a..h) before a head at h when they are one to three unknown
 * name-like words ("Unitech" of "Unitech Agency", "Ob" of "Ob River"): their
 * tok_seq() hash, else 0. A later mention of those words alone names the
 * same body or place (propagate_types). */
uint64_t
ent_unknown_name_hash(const lexicon_t *lx, const char *s, const word_t *w,
                      size_t a, size_t h)
{
    if (h == (size_t)-1 || h <= a || h - a > 3 || w[h].head == RESULT_FAC)
        return 0;
    /* "Kuban University", "Hague Court": the name of a place */
    if (ent_word_in_set(s, &w[h], lx->place_named_heads))
        return 0;
    /* "Olympic Committee", "Presidential Council": a modifier */
    const tok_t *lt = &w[h - 1].t;
    if (lex_set_ends(lx->adjective_suffixes, s + lt->start, lt->end - lt->start,
                     1))
        return 0;
    uint64_t x = 0;
    for (size_t k = a; k < h; k++) {
        if (!ent_name_like(&w[k]) || (w[k].kinds & (GAZ_GIVEN | GAZ_ENT)) ||
            w[k].comma || (w[k].t.flags & TOK_POSS))
            return 0;
        x = tok_seq(x, w[k].t.hash);
    }
    return x;
}

/* A title's complement w[c..n) that ends in a known place followed by two
 * or three unknown name words up to its end: where that person's name
 * starts ("of Mongolia Khaltmaagiin Battulga", "of India Satish Kumar
 * Sharma"), or -1. Given names are found without this ("of Russia
 * Vladimir Putin"); after an organisation the words are as often more of
 * its name ("Gazprom Management Board", "Gazprom Dobycha Noyabrsk"). */
static size_t
complement_person(const lexicon_t *lx, const word_t *w, size_t n, size_t c)
{
    for (size_t len = 3; len >= 2; len--) {
        if (n < c + len + 1)
            continue;
        size_t p = n - len;
        bool names = true;
        for (size_t k = p; k < n && names; k++)
            if (!ent_name_like(&w[k]) || (w[k].kinds & GAZ_ENT) ||
                (k + 1 < n && (w[k].t.flags & TOK_POSS)))
                names = false;
        if (!names)
            continue;
        /* the known place may start anywhere: "of Defence of Mongolia" */
        for (size_t j = c; j < p; j++) {
            if (w[j].conn)
                continue;
            size_t ge, te;
            const gaz_slot_t *g;
            ent_gaz_longest(lx, w, p, j, &ge, &g, &te);
            if (ge == p - 1 && g->ent == RESULT_GPE)
                return p;
        }
    }
    return (size_t)-1;
}

/* The word is a word of a board's name of lx->org_boards ("Management",
 * "Board", "Directors"): "Chairman of the Management Board" names no
 * organisation. */
static bool
board_word(const lexicon_t *lx, const char *s, const word_t *x)
{
    size_t wl = x->t.end - x->t.start;
    for (size_t i = 0; i < lx->org_boards->n; i++)
        for (const char *p = lx->org_boards->w[i]; *p;) {
            size_t k = strcspn(p, " ");
            if (k == wl && strncmp(p, s + x->t.start, k) == 0)
                return true;
            p += k;
            while (*p == ' ')
                p++;
        }
    return false;
}

/* The title w[i..te] holds an office in an organisation: one of its words
 * is in lx->org_titles ("CEO", "Chairman", "President"). */
bool
ent_org_title(const lexicon_t *lx, const char *s, const word_t *w, size_t i,
              size_t te)
{
    for (size_t k = i; k <= te; k++)
        if (ent_word_in_set(s, &w[k], lx->org_titles))
            return true;
    return false;
}

/* w[a..b) is one to three unknown name words: name-like, not known, no
 * given name, no possessive before the end, no comma. */
bool
ent_unknown_run(const lexicon_t *lx, const char *s, const word_t *w, size_t a,
                size_t b)
{
    if (b <= a || b - a > 3)
        return false;
    for (size_t k = a; k < b; k++) {
        size_t ge, te;
        const gaz_slot_t *g;
        if (!ent_name_like(&w[k]) || (w[k].kinds & (GAZ_ENT | GAZ_GIVEN)) ||
            (k > a && w[k].comma) || (w[k].t.flags & TOK_POSS) ||
            board_word(lx, s, &w[k]))
            return false;
        /* "the United States", "Sri Lanka": known as a sequence */
        ent_gaz_longest(lx, w, b, k, &ge, &g, &te);
        if (ge != (size_t)-1 || te != (size_t)-1)
            return false;
    }
    return true;
}

/* The end of the longest listed entity that starts at one of w[c..p] and
 * runs past w[p] ("People's Republic of China" over the possessive
 * "People's"), or -1. */
static size_t
listed_past(const lexicon_t *lx, const word_t *w, size_t n, size_t c, size_t p)
{
    size_t best = (size_t)-1;
    for (size_t j = c; j <= p; j++) {
        size_t ge, te;
        const gaz_slot_t *g;
        if (w[j].conn)
            continue;
        ent_gaz_longest(lx, w, n, j, &ge, &g, &te);
        if (ge != (size_t)-1 && ge > p && (best == (size_t)-1 || ge > best))
            best = ge;
    }
    return best;
}

/* A word that may qualify a title it stands before ("Financial" in
 * "Chief Financial Officer"): capitalised, not an acronym, a number, a
 * possessive, a given name, a listed entity, a title or a stop word. */
static bool
title_modifier(const word_t *x)
{
    return (x->t.flags & TOK_CAP) &&
           !(x->t.flags & (TOK_ALLCAPS | TOK_DIGIT | TOK_POSS)) &&
           !(x->kinds &
             (GAZ_GIVEN | GAZ_ENT | GAZ_TITLE | GAZ_HONOR | GAZ_STOP));
}

/* Title at i..te: the person it introduces, and entities in its "of ..."
 * complement. Returns the next word to look at. */
size_t
ent_title_phrase(doc_t *d, word_t *w, size_t n, size_t i, size_t te)
{
    const char *s = d->text;
    uint32_t rs = w[i].t.start;
    size_t k = te + 1;
    bool complement = false, named = false;
    /* "President of Russia", "Head of the Federal Tax Service" */
    while (k + 1 < n && !w[k].comma && !(w[k - 1].t.flags & TOK_POSS) &&
           prep_in(s, &w[k], d->lx->complement_preps)) {
        size_t c = k + 1;
        while (c < n && w[c].conn)
            c++;
        size_t stop = c;
        while (stop < n && ent_given_person(w, n, stop) == (size_t)-1 &&
               !(w[stop].kinds & GAZ_TITLE)) {
            if (w[stop].comma) {
                /* "Head of the Federal Service for Supervision of
                 * Communications, Information Technology and Mass
                 * Media": a list inside the body's name */
                size_t le = ent_complement_open(d->lx, s, w + c, stop - c)
                                ? ent_comma_list_end(s, w, n, stop)
                                : (size_t)-1;
                if (le == (size_t)-1)
                    break;
                stop = le + 1;
                continue;
            }
            if (w[stop].t.flags & TOK_POSS) {
                /* "of the People's Republic of China Xi Jinping": a
                 * listed name goes on past its possessive word */
                size_t past = listed_past(d->lx, w, n, c, stop);
                if (past != (size_t)-1) {
                    stop = past + 1;
                    continue;
                }
                stop++;
                break;
            }
            stop++;
        }
        if (stop == c)
            break;
        size_t ce = stop; /* "... Battulga and Minister ...": drop "and" */
        while (ce > c && w[ce - 1].conn)
            ce--;
        size_t pe = complement_person(d->lx, w, ce, c);
        if (pe != (size_t)-1) {
            /* "President of Mongolia Khaltmaagiin Battulga" */
            d->in_title++;
            ent_process(d, w + c, pe - c);
            d->in_title--;
            ent_add_person(d, w, pe, ce - 1, rs, w[pe - 1].t.end);
            named = true;
        } else if (ent_org_title(d->lx, s, w, i, te) &&
                   (ent_unknown_run(d->lx, s, w, c, ce) ||
                    (ce == c + 2 && (w[c].kinds & GAZ_ENT) &&
                     (w[c].ent == RESULT_NORP || w[c].ent == RESULT_LOC) &&
                     !(w[c].t.flags & TOK_POSS) &&
                     ent_unknown_run(d->lx, s, w, c + 1, ce)))) {
            /* "President of Transneft", "CEO of Globaltruck"; "President
             * of Russian Platinum": a nationality or region before the
             * unknown words is part of the name */
            ent_doc_add_cand(d, w[c].t.start, w[ce - 1].t.end, RESULT_ORG,
                             NULL);
        } else {
            d->in_title++;
            ent_process(d, w + c, stop - c);
            d->in_title--;
        }
        complement = true;
        k = stop;
        if (k < n && (w[k].kinds & GAZ_TITLE)) {
            size_t e2, t2;
            const gaz_slot_t *g;
            ent_gaz_longest(d->lx, w, n, k, &e2, &g, &t2);
            if (t2 != (size_t)-1)
                return ent_title_phrase(d, w, n, k, t2);
        }
        if (named)
            return k;
    }
    if (k >= n || w[k].comma || (w[k - 1].t.flags & TOK_POSS))
        return k;
    if (!complement) {
        /* "Chief Operating Officer", "Deputy Supreme Commander": up to
         * two unlisted capitalised words between a title and a listed
         * title or a noun of office (lx->title_nouns) qualify the
         * second; the whole is one title */
        size_t j = k;
        while (j < n && j < k + 2 && !w[j].comma && title_modifier(&w[j]) &&
               !ent_word_in_set(s, &w[j], d->lx->title_nouns))
            j++;
        if (j < n && !w[j].comma &&
            ent_word_in_set(s, &w[j], d->lx->title_nouns))
            return ent_title_phrase(d, w, n, i, j);
        if (j > k && j < n && !w[j].comma && (w[j].kinds & GAZ_TITLE)) {
            size_t e2, t2;
            const gaz_slot_t *g;
            ent_gaz_longest(d->lx, w, n, j, &e2, &g, &t2);
            if (t2 != (size_t)-1)
                return ent_title_phrase(d, w, n, i, t2);
        }
    }
    uint32_t re = w[k - 1].t.end;
    size_t pe = ent_given_person(w, n, k);
    if (pe == (size_t)-1 && !complement && ent_name_like(&w[k]))
        pe = ent_name_end(w, n, k, 3);
    if (pe == (size_t)-1)
        return k;
    ent_add_person(d, w, k, pe, rs, re);
    return pe + 1;
}
