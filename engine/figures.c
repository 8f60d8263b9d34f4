/*
 * figures: one pass over the bytes, jumping from digit run to digit run
 * (word-at-a-time skipping), classifying each number by a small window of
 * words before and after it (the calendar patterns are in fig_date.c;
 * coordinated numbers wait in fig_coord.c for their parallel expression).
 * Spelled-out percentages and money are found by searching for their
 * keywords.
 */
#include "figures.h"

#include "fig_scan.h"
#include "swar.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Offset of the first byte with its high bit set in the sixteen bytes of
 * m (0xFF / 0 per byte), or 16. */
static size_t
v16_first(v16_t m)
{
    unsigned x = v16_bits(m);
    return x ? (size_t)__builtin_ctz(x) : 16;
}

/* Bytes of a that are ASCII digits: (a - '0') < 10 unsigned, which is
 * (a - '0' + 0x80) < 10 - 0x80 signed, one SSE2 compare (it has no
 * unsigned one). */
static v16_t
v16_digits(v16_t a)
{
    return (v16_t)((v16s_t)(v16_t)(a + (0x80 - '0')) < -118);
}

/* Position of the first ASCII digit at or after p, or n. Eight bytes at a
 * time: a byte is a digit iff (b - '0') < 10 unsigned. */
static size_t
next_digit(const unsigned char *t, size_t n, size_t p)
{
    /* thirty-two bytes a step: most of prose holds no digit */
    while (p + 32 <= n) {
        v16_t a, b;
        memcpy(&a, t + p, 16);
        memcpy(&b, t + p + 16, 16);
        v16_t da = v16_digits(a);
        v16_t db = v16_digits(b);
        unsigned x = v16_bits(da) | v16_bits(db) << 16;
        if (x)
            return p + (size_t)__builtin_ctz(x);
        p += 32;
    }
    while (p + 16 <= n) {
        v16_t a;
        memcpy(&a, t + p, 16);
        size_t k = v16_first(v16_digits(a));
        if (k < 16)
            return p + k;
        p += 16;
    }
    while (p + 8 <= n) {
        uint64_t w;
        memcpy(&w, t + p, 8);
        uint64_t m = swar_in(w, '0', '9');
        if (m)
            return p + swar_first(m);
        p += 8;
    }
    while (p < n && !fig_lex_is_digit(t[p]))
        p++;
    return p;
}

/* End of the alphanumeric token containing p (names like "Su-57b.2";
 * an en dash joins digits too: "Il-96\u2013400"). */
size_t
figures_skip_run(const scan_t *s, size_t p)
{
    while (p < s->n) {
        unsigned char c = s->t[p];
        if (is_alnum(c) || c == '_') {
            p++;
            continue;
        }
        if ((c == '.' || c == ',' || c == '-' || c == '/') && p + 1 < s->n &&
            is_alnum(s->t[p + 1])) {
            p++;
            continue;
        }
        if (c == 0xE2 && p + 3 < s->n && s->t[p + 1] == 0x80 &&
            s->t[p + 2] == 0x93 && fig_lex_is_digit(s->t[p + 3])) {
            p += 3;
            continue;
        }
        break;
    }
    return p;
}

/* Digit run with thousands separators and decimals. False when the token
 * is not a plain number (too many digits, "1.2.3"); *end is then where
 * the junk ends. */
bool
figures_parse_num(const scan_t *s, size_t p, num_t *o, size_t *end)
{
    const unsigned char *t = s->t;
    size_t q = p;
    uint64_t ip = 0;
    int nd = 0;
    while (q < s->n && fig_lex_is_digit(t[q])) {
        if (nd < 19)
            ip = ip * 10 + (uint64_t)(t[q] - '0');
        nd++;
        q++;
    }
    o->intdig = nd;
    o->sep = false;
    o->dec = false;
    if (nd <= 3) {
        while (q + 3 < s->n && t[q] == ',' && fig_lex_is_digit(t[q + 1]) &&
               fig_lex_is_digit(t[q + 2]) && fig_lex_is_digit(t[q + 3]) &&
               !digit_at(s, q + 4)) {
            for (int k = 1; k <= 3; k++) {
                if (nd < 19)
                    ip = ip * 10 + (uint64_t)(t[q + k] - '0');
                nd++;
            }
            q += 4;
            o->sep = true;
        }
        /* the last group may end the text */
        if (q + 4 == s->n && t[q] == ',' && fig_lex_is_digit(t[q + 1]) &&
            fig_lex_is_digit(t[q + 2]) && fig_lex_is_digit(t[q + 3])) {
            for (int k = 1; k <= 3; k++) {
                if (nd < 19)
                    ip = ip * 10 + (uint64_t)(t[q + k] - '0');
                nd++;
            }
            q += 4;
            o->sep = true;
        }
    }
    o->intdig = nd;
    uint64_t frac = 0;
    int fd = 0;
    /* a decimal comma before a scale word: "1,03 trillion" */
    bool dcomma = false;
    if (!o->sep && nd <= 3 && q + 1 < s->n && t[q] == ',' &&
        fig_lex_is_digit(t[q + 1])) {
        size_t d = q + 1;
        while (d < s->n && d < q + 4 && fig_lex_is_digit(t[d]))
            d++;
        const fig_word_t *w;
        size_t a = fig_lex_skip_blanks(t, s->n, d);
        dcomma = d - q - 1 < 3 && a > d &&
                 fig_lex_match_table(s->lx, t, s->n, a, s->lex->fig_scales,
                                     false, &w);
    }
    if (q + 1 < s->n && (t[q] == '.' || dcomma) && fig_lex_is_digit(t[q + 1])) {
        q++;
        while (q < s->n && fig_lex_is_digit(t[q])) {
            if (nd < 19) {
                frac = frac * 10 + (uint64_t)(t[q] - '0');
                fd++;
            }
            nd++;
            q++;
        }
        o->dec = true;
    }
    if (nd > MAX_DIGITS || (q + 1 < s->n && (t[q] == '.' || t[q] == ',') &&
                            fig_lex_is_digit(t[q + 1]) && (o->dec || o->sep))) {
        *end = figures_skip_run(s, q);
        return false;
    }
    o->start = p;
    o->end = q;
    o->ip = ip;
    o->val = (double)ip + (fd ? (double)frac / pow(10.0, fd) : 0.0);
    *end = q;
    return true;
}

bool
figures_followed_loosely(const scan_t *s, size_t p)
{
    size_t a = fig_lex_skip_blanks(s->t, s->n, p);
    if (a >= s->n)
        return true;
    unsigned char c = s->t[a];
    if (c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?' ||
        c == ')' || c == '\n' || c == '\r')
        return true;
    size_t dl = fig_lex_dash(s->t, s->n, a);
    if (dl) /* "25 - a year earlier", but not "30-fold" */
        return !(a == p && alpha_at(s, a + dl));
    if (!fig_lex_is_alpha(c))
        return false;
    size_t e = a;
    while (e < s->n && fig_lex_is_alpha(s->t[e]))
        e++;
    return fig_lex_word_in(s->lx, s->t, a, e, s->lex->fig_loose_followers) >= 0;
}

/* Connector after a number: dash, to, or, and, and/or, through, comma
 * (maybe with "or" after it: "10, 20, or 30"), then
 * another number (maybe behind a currency sign). Returns where the next
 * number's expression starts, or 0. */
static size_t
connector(const scan_t *s, size_t p)
{
    const unsigned char *t = s->t;
    size_t a = fig_lex_skip_blanks(t, s->n, p);
    size_t k = fig_lex_dash(t, s->n, a);
    size_t b = 0;
    const fig_word_t *w;
    if (k) {
        b = a + k;
    } else {
        bool comma = a < s->n && t[a] == ',';
        if (comma) {
            a = fig_lex_skip_blanks(t, s->n, a + 1);
            b = a;
        }
        /* after a comma only "or" closes a list ("10, 20, or 30
         * percent"); ", and" starts a clause as often as it ends a list
         * (and a digit right after the comma needs no lookup) */
        size_t e = 0;
        if (!comma || (a < s->n && (t[a] | 0x20) == 'o'))
            e = fig_lex_match_table(s->lx, t, s->n, a,
                                    s->lex->fig_range_connectors, false, &w);
        if (e && (!comma || strncmp(w->pat, "or", 2) == 0))
            b = e;
        if (!b)
            return 0;
    }
    b = fig_lex_skip_blanks(t, s->n, b);
    if (digit_at(s, b))
        return b;
    if (b < s->n && t[b] == '$' && digit_at(s, b + 1))
        return b;
    return 0;
}

/* Currency sign (fig_currency_symbols, the longest ending there) or
 * ISO 4217 code (a case-sensitive three-letter entry of fig_currencies,
 * followed by a blank: "CHF 10 million") right before the number at p:
 * returns the code and sets *start. */
static const char *
money_prefix(const scan_t *s, size_t p, size_t *start)
{
    const unsigned char *t = s->t;
    size_t q = fig_lex_skip_blanks_back(t, p);
    const char *code = NULL;
    size_t best = 0;
    for (const fig_word_t *w = s->lex->fig_currency_symbols;
         q > 0 && fig_lex_sign_end(s->lx, t[q - 1]) && w->pat; w++) {
        size_t k = strlen(w->pat);
        if (k > best && k <= q && memcmp(t + q - k, w->pat, k) == 0 &&
            !(q - k > 0 && fig_lex_is_alpha(t[q - k - 1]) &&
              fig_lex_is_alpha((unsigned char)w->pat[0]))) {
            best = k;
            code = w->norm;
        }
    }
    if (code) {
        *start = q - best;
        return code;
    }
    size_t ws, we;
    if (q < p && fig_lex_prev_word(t, p, &ws, &we) && we == q && we - ws == 3 &&
        !(ws > 0 && is_alnum(t[ws - 1])) && t[ws] >= 'A' && t[ws] <= 'Z' &&
        t[ws + 1] >= 'A' && t[ws + 1] <= 'Z' && t[ws + 2] >= 'A' &&
        t[ws + 2] <= 'Z') {
        /* rare (three capitals before a number): a plain walk */
        for (const fig_word_t *w = s->lex->fig_currencies; w->pat; w++)
            if ((w->flags & FIG_LEX_CS) && memcmp(w->pat, t + ws, 3) == 0 &&
                w->pat[3] == '\0') {
                *start = ws;
                return w->norm;
            }
    }
    return NULL;
}

/* A capitalised word in mid-sentence right before p ("Nord Stream 2",
 * "Article 15"), which makes a small number part of a name. */
bool
figures_name_before(const scan_t *s, size_t p)
{
    size_t ws, we;
    if (fig_lex_blank_before(s->t, p) == 0 ||
        !fig_lex_prev_word(s->t, p, &ws, &we))
        return false;
    if (!(s->t[ws] >= 'A' && s->t[ws] <= 'Z'))
        return false;
    if (fig_lex_word_in(s->lx, s->t, ws, we, s->lex->fig_months) >= 0)
        return false;
    size_t q = fig_lex_skip_blanks_back(s->t, ws);
    if (q == 0)
        return false;
    unsigned char c = s->t[q - 1];
    if (c == '.' || c == '!' || c == '?' || c == ':' || c == ';' || c == '\n' ||
        c == '\r' || c == '"' || c == '(' ||
        (q >= 3 && s->t[q - 3] == 0xE2 && s->t[q - 2] == 0x80 &&
         (c == 0x9C || c == 0x94 || c == 0x93)))
        return false;
    return true;
}

/* The end of an editor's bracket whose unit word ends at p: after ']',
 * maybe behind a few words of what is counted ("[tonnes of cargo]"), or
 * 0 when the bracket says more. */
static size_t
bracket_end(const scan_t *s, size_t p)
{
    for (int words = 0;; words++) {
        p = fig_lex_skip_blanks(s->t, s->n, p);
        if (p < s->n && s->t[p] == ']')
            return p + 1;
        if (words == 3 || !alpha_at(s, p))
            return 0;
        while (alpha_at(s, p))
            p++;
    }
}

/* After the number and optional scale at p: percent, currency, unit. */
static bool
unit_after(scan_t *s, size_t q, bool glued, cand_t *c)
{
    const fig_word_t *w;
    size_t e;
    c->flags |= F_UNIT;
    if ((e = fig_lex_match_table(s->lx, s->t, s->n, q, s->lex->fig_percents,
                                 glued, &w))) {
        c->type = RESULT_PERCENT;
        c->unit = NULL;
        c->end = e;
        return true;
    }
    if ((e = fig_lex_match_table(s->lx, s->t, s->n, q, s->lex->fig_currencies,
                                 glued, &w))) {
        c->type = RESULT_MONEY;
        c->unit = w->norm;
        if (w->num > 0) /* "60 kopecks" */
            c->scale *= w->num;
        c->end = e;
        return true;
    }
    /* an editor's bracket supplying the currency, percent or unit: "28
     * billion [rubles]", "9.5 [percent]", "12 [tonnes]", with the scale
     * ("25 [billion rubles]") or what is counted ("16 million [tonnes of
     * cargo]", "10,000 [rubles a month]") */
    if (!glued && q < s->n && s->t[q] == '[') {
        size_t a = fig_lex_skip_blanks(s->t, s->n, q + 1);
        double scale = 1;
        if (!(c->flags & F_SCALE) &&
            (e = fig_lex_match_table(s->lx, s->t, s->n, a, s->lex->fig_scales,
                                     false, &w))) {
            scale = w->num;
            a = fig_lex_skip_blanks(s->t, s->n, e);
        }
        const fig_word_t *const tables[] = { s->lex->fig_currencies,
                                             s->lex->fig_percents,
                                             s->lex->fig_units };
        const int types[] = { RESULT_MONEY, RESULT_PERCENT, RESULT_QUANTITY };
        for (size_t i = 0; i < 3; i++) {
            e = fig_lex_match_table(s->lx, s->t, s->n, a, tables[i], false, &w);
            if (!e)
                continue;
            e = bracket_end(s, e);
            if (!e)
                break;
            c->type = types[i];
            c->unit = types[i] == RESULT_PERCENT ? NULL : w->norm;
            if (types[i] == RESULT_QUANTITY)
                c->scale *= w->num;
            if (scale != 1) {
                c->scale *= scale;
                c->flags |= F_SCALE;
            }
            c->end = e;
            return true;
        }
    }
    if ((e = fig_lex_match_table(s->lx, s->t, s->n, q, s->lex->fig_units, glued,
                                 &w))) {
        c->type = RESULT_QUANTITY;
        c->unit = w->norm;
        c->scale *= w->num;
        if (w->num != 1)
            c->flags |= F_SCALE;
        c->end = e;
        return true;
    }
    c->flags &= ~F_UNIT;
    return false;
}

/* A number glued to a lower-case word of two or more letters at p, with a
 * blank, a line start or a bracket before the word: a missing blank ("just1.5
 * percent", "gets100,000"). Names glue to capitals ("Rome2rio", "Tele2") or
 * to one letter ("x86"); the caller also checks that the token ends with the
 * number ("spe4cifically", "site2018.com" do not). */
static bool
missing_blank(const scan_t *s, size_t p)
{
    const unsigned char *t = s->t;
    size_t ws = p;
    while (ws > 0 && fig_lex_is_alpha(t[ws - 1])) {
        if (t[ws - 1] < 'a')
            return false;
        ws--;
    }
    if (p - ws < 2)
        return false;
    return ws == 0 || fig_lex_blank_before(t, ws) || t[ws - 1] == '\n' ||
           t[ws - 1] == '\r' || t[ws - 1] == '(';
}

/* "2040s-2050s", "13th-14th": the word before the dash at p - dl ends a
 * decade or an ordinal written with digits, so the number after the dash
 * is the other end of a range, not part of a name. */
static bool
after_suffix_dash(const scan_t *s, size_t p, size_t dl)
{
    size_t ws, we;
    const unsigned char *t = s->t;
    if (!fig_lex_prev_word(t, p - dl, &ws, &we) || we != p - dl || ws == 0 ||
        !fig_lex_is_digit(t[ws - 1]))
        return false;
    return fig_lex_word_is(t, ws, we, "s") ||
           fig_lex_word_in(s->lx, t, ws, we, s->lex->fig_ordinal_suffixes) >= 0;
}

/* "Hospital No. 40", "Federal Law No 253", "article 56 of the Air Code",
 * "Article 282." at a sentence's start: the number at p after a word of
 * fig_number_signs, maybe with a full stop, is an identifier. */
static bool
after_number_sign(const scan_t *s, size_t p)
{
    const unsigned char *t = s->t;
    /* one indexed lookup (by first letter and length) of the word */
    if (p < 3 || t[p - 1] != ' ')
        return false;
    size_t q = p - 1;
    if (t[q - 1] == '.')
        q--;
    size_t ws = q;
    while (ws > 0 && q - ws < 12 && fig_lex_is_alpha(t[ws - 1]))
        ws--;
    if (ws == q || (ws > 0 && is_alnum(t[ws - 1])))
        return false;
    return word_in_list(s, ws, q, s->lex->fig_number_signs);
}

/* The end of a telephone number starting at p, after a '+' ("+7 985 035
 * 1391", "+7 (495) 606-36-02"): a country code followed by more digit
 * groups; 0 when the number at p is not one ("+5 degrees", "17+1"). */
static size_t
phone_end(const scan_t *s, size_t p)
{
    const unsigned char *t = s->t;
    if (p == 0 || t[p - 1] != '+' || (p >= 2 && is_alnum(t[p - 2])))
        return 0;
    size_t q = p, groups = 0;
    for (;;) {
        size_t d = q;
        while (digit_at(s, d))
            d++;
        if (d == q)
            break;
        groups++;
        q = d;
        size_t b = fig_lex_skip_blanks(t, s->n, q);
        if (b < s->n && (t[b] == '-' || t[b] == '(' || t[b] == ')'))
            b = fig_lex_skip_blanks(t, s->n, b + 1);
        if (b < s->n && t[b] == ')')
            b = fig_lex_skip_blanks(t, s->n, b + 1);
        if (!digit_at(s, b))
            break;
        q = b;
    }
    return groups >= 3 ? q : 0;
}

/* Digits glued to a word or a path ("Su57", "v2.5", "A-12") are no
 * figure, unless a blank is missing ("just1.5 percent"); "mid-2020" and
 * the other year prefixes are. Then the number itself: junk ("1.2.3", too
 * many digits) is skipped. */
static step_t
pat_number(scan_t *s, numctx_t *x, cand_t *c)
{
    const unsigned char *t = s->t;
    size_t p = x->p;
    bool unglue = false;
    x->pfx_start = p;
    if (p > 0) {
        unsigned char b = t[p - 1];
        size_t pe;
        if (b == '+' && (pe = phone_end(s, p)))
            return give(x, pe);
        if (b == '_')
            return give(x, figures_skip_run(s, p));
        if (fig_lex_is_alpha(b)) {
            if (!missing_blank(s, p))
                return give(x, figures_skip_run(s, p));
            unglue = true;
        }
        if ((b == '.' || b == '/' || b == '\\') && p >= 2 && is_alnum(t[p - 2]))
            return give(x, figures_skip_run(s, p));
        size_t dl = fig_lex_dash_before(t, p);
        if (dl && p > dl && fig_lex_is_alpha(t[p - dl - 1]) &&
            !after_suffix_dash(s, p, dl)) {
            size_t ws, we;
            if (fig_lex_prev_word(t, p - dl, &ws, &we) && we == p - dl &&
                word_in_list(s, ws, we, s->lex->fig_year_prefixes)) {
                x->pfx = true;
                x->pfx_start = ws;
            } else {
                return give(x, figures_skip_run(s, p));
            }
        }
    }
    size_t q;
    if (!figures_parse_num(s, p, &x->m, &q))
        return give(x, q);
    if (unglue && figures_skip_run(s, p) != q)
        return give(x, figures_skip_run(s, p));
    if (after_number_sign(s, p))
        return give(x, figures_skip_run(s, p));
    x->q = q;
    c->num = x->m.val;
    c->start = x->pfx ? x->pfx_start : p;
    c->end = q;
    return STEP_NEXT;
}

/* The decade of the number at x->p, whose text ends at e: "1990s",
 * "late 80s" (an "early" or "late" before it joins the span). */
static step_t
decade(scan_t *s, numctx_t *x, cand_t *c, size_t e)
{
    const unsigned char *t = s->t;
    const num_t *m = &x->m;
    c->type = RESULT_DATE;
    if (m->intdig == 4)
        snprintf(c->iso, sizeof c->iso, "%03d", (int)(m->ip / 10));
    else
        snprintf(c->iso, sizeof c->iso, "19%d", (int)(m->ip / 10));
    size_t ws, we;
    if (fig_lex_prev_word(t, c->start, &ws, &we) &&
        (fig_lex_word_is(t, ws, we, "early") ||
         fig_lex_word_is(t, ws, we, "late")))
        c->start = ws;
    c->end = e;
    if (m->intdig == 2 || m->ip < 2000)
        s->decade_end = e;
    return give(x, e);
}

/* A two-digit decade at p right after a decade of the 1900s and "and",
 * "or", "to" or a dash: "the 1920s and 30s", "the 1980s-90s". */
static bool
after_decade(const scan_t *s, size_t p)
{
    return s->decade_end && s->decade_end < p &&
           fig_coord_range_gap(s, s->decade_end, p);
}

/* Length of an apostrophe and "s" at q ("1930's", "60’s") with no letter
 * after them, or 0. */
static size_t
apostrophe_s(const scan_t *s, size_t q)
{
    size_t k = 0;
    if (q < s->n && s->t[q] == '\'')
        k = 1;
    else if (q + 2 < s->n && s->t[q] == 0xE2 && s->t[q + 1] == 0x80 &&
             s->t[q + 2] == 0x99)
        k = 3;
    if (!k || q + k >= s->n || s->t[q + k] != 's' || alpha_at(s, q + k + 1))
        return 0;
    return k + 1;
}

/* Letters glued to the number: "30th" (a day after or before a month, or
 * an ORDINAL), "1990s" and "'90s" (decades; also "1930's", "the 60's",
 * but "2010's results" is the year's), "5pm", then glued scales and
 * units ("5bn", "$5m", "10km"); any other letters make it no figure. */
static step_t
pat_suffix(scan_t *s, numctx_t *x, cand_t *c)
{
    const unsigned char *t = s->t;
    size_t n = s->n, q = x->q, p = x->p;
    const num_t *m = &x->m;
    size_t as = apostrophe_s(s, q);
    if (as && is_int(m) && !m->sep && m->ip % 10 == 0 &&
        ((m->intdig == 4 && m->ip < 2000) ||
         (m->intdig == 2 && m->ip >= 30 &&
          (x->pfx || fig_date_decade_word(s, p) || after_decade(s, p)))))
        return decade(s, x, c, q + as);
    if (!fig_lex_is_alpha(t[q]))
        return STEP_NEXT;
    size_t e = q;
    while (e < n && fig_lex_is_alpha(t[e]))
        e++;
    size_t wl = e - q;
    bool tail_ok = !(e < n && (fig_lex_is_digit(t[e]) || t[e] == '_'));
    if (tail_ok && is_int(m) &&
        fig_lex_word_in(s->lx, t, q, e, s->lex->fig_ordinal_suffixes) >= 0) {
        size_t ms;
        int mo = fig_date_month_before(s, p, &ms);
        if (mo && m->ip >= 1 && m->ip <= 31) {
            c->start = ms;
            return fig_date_day_of_month(s, x, c, mo, e);
        }
        /* "the 30th of June [2020]" */
        size_t a = fig_lex_skip_blanks(t, n, e);
        size_t oe = a > e ? fig_lex_match(t, n, a, "of", false) : 0;
        size_t b = oe ? fig_lex_skip_blanks(t, n, oe) : 0;
        const fig_word_t *mw;
        size_t me = b > oe ? fig_lex_match_table(s->lx, t, n, b,
                                                 s->lex->fig_months, false, &mw)
                           : 0;
        if (me && !alpha_at(s, me) && m->ip >= 1 && m->ip <= 31)
            return fig_date_day_of_month(s, x, c, (int)mw->num, me);
        c->type = RESULT_ORDINAL;
        c->end = e;
        return give(x, e);
    }
    if (tail_ok && wl == 1 && (t[q] == 's') && is_int(m) && !m->sep &&
        m->ip % 10 == 0 &&
        (m->intdig == 4 ||
         (m->intdig == 2 && p > 0 && (t[p - 1] == '\'' || t[p - 1] == 0x99)) ||
         (m->intdig == 2 && m->ip >= 30 &&
          (x->pfx || fig_date_decade_word(s, p) || after_decade(s, p)))))
        return decade(s, x, c, e);
    /* "5pm": a clock word glued on; as after a blank, a part of the day
     * ("5tonight") needs minutes, and the hour must be one */
    int cw, hh;
    if (tail_ok && is_int(m) && m->ip >= 1 && m->ip <= 12 &&
        (cw = fig_lex_word_in(s->lx, t, q, e, s->lex->fig_clock_words)) >= 0 &&
        s->lex->fig_clock_words[cw].norm[0] != 'o' &&
        s->lex->fig_clock_words[cw].num == 0 &&
        (hh = fig_date_clock_hour((int)m->ip, &s->lex->fig_clock_words[cw])) >=
            0) {
        c->type = RESULT_TIME;
        fig_date_iso_time(c->iso, sizeof c->iso, hh, 0);
        c->end = e;
        return give(x, e);
    }
    /* "70years": a duration word glued to the number (a missing blank) */
    const fig_word_t *w;
    if (tail_ok && !is_yearish(m) &&
        fig_lex_match_table(s->lx, t, n, q, s->lex->fig_durations, false, &w) ==
            e) {
        x->glued = true;
        return STEP_LOOKAHEAD;
    }
    /* glued scale and units: 5bn, 10km, 100MW, $5m */
    size_t se;
    size_t after = q;
    if ((se = fig_lex_match_table(s->lx, t, n, q, s->lex->fig_scales, true,
                                  &w))) {
        c->scale = w->num;
        c->flags |= F_SCALE;
        after = se;
    } else if ((t[q] == 'm' || t[q] == 'b' || t[q] == 'k') &&
               !alpha_at(s, q + 1) && !digit_at(s, q + 1)) {
        /* "$5m", "$500b", "$40k": one letter after a currency sign */
        size_t ps;
        if (money_prefix(s, p, &ps)) {
            c->scale = t[q] == 'm' ? 1e6 : t[q] == 'b' ? 1e9 : 1e3;
            c->flags |= F_SCALE;
            after = q + 1;
        }
    }
    if (after == q) {
        if (!unit_after(s, q, true, c))
            return give(x, figures_skip_run(s, p));
        return STEP_PREFIX;
    }
    c->end = after;
    x->q = after;
    return STEP_LOOKAHEAD;
}

/* "7.5%": a PERCENT. */
static step_t
pat_percent_sign(scan_t *s, numctx_t *x, cand_t *c)
{
    if (s->t[x->q] != '%')
        return STEP_NEXT;
    c->type = RESULT_PERCENT;
    c->end = x->q + 1;
    return give(x, c->end);
}

/* A scale word after blanks ("5 billion") or a hyphen ("a 2-million
 * mark", "300-billion ruble") joins the number. */
static void
scale_word(scan_t *s, numctx_t *x, cand_t *c)
{
    size_t a = fig_lex_skip_blanks(s->t, s->n, x->q);
    if (a == x->q) {
        if (!(a + 1 < s->n && s->t[a] == '-' && fig_lex_is_alpha(s->t[a + 1])))
            return;
        a++;
    }
    const fig_word_t *w;
    size_t se = fig_lex_match_table(s->lx, s->t, s->n, a, s->lex->fig_scales,
                                    false, &w);
    if (!se && a > x->q && a < s->n && s->t[a] == '[') {
        /* "20 [million]": the editor's scale word */
        size_t b = fig_lex_skip_blanks(s->t, s->n, a + 1);
        se = fig_lex_match_table(s->lx, s->t, s->n, b, s->lex->fig_scales,
                                 false, &w);
        b = se ? fig_lex_skip_blanks(s->t, s->n, se) : 0;
        if (!se || b >= s->n || s->t[b] != ']')
            return;
        c->scale = w->num;
        c->flags |= F_SCALE;
        c->end = b + 1;
        x->q = b + 1;
        return;
    }
    if (!se)
        return;
    c->scale = w->num;
    c->flags |= F_SCALE;
    c->end = se;
    x->q = se;
    /* "1 trillion 600 billion rubles": a whole number under a thousand
     * with a smaller scale word right after adds to it */
    size_t b = fig_lex_skip_blanks(s->t, s->n, se);
    num_t m2;
    size_t q2;
    const fig_word_t *w2;
    if (b == se || !digit_at(s, b) || !figures_parse_num(s, b, &m2, &q2) ||
        m2.dec || m2.ip >= 1000)
        return;
    size_t b2 = fig_lex_skip_blanks(s->t, s->n, q2);
    size_t se2 = b2 > q2 ? fig_lex_match_table(s->lx, s->t, s->n, b2,
                                               s->lex->fig_scales, false, &w2)
                         : 0;
    if (se2 && w2->num < w->num) {
        c->num += (double)m2.ip * w2->num / w->num;
        c->end = se2;
        x->q = se2;
    }
}

/* Where the next word starts (after blanks, or after a hyphen glued to
 * the number and a letter: "5-year"). */
static void
lookahead_at(scan_t *s, numctx_t *x)
{
    const unsigned char *t = s->t;
    size_t q = x->q;
    x->hyph = false;
    if (x->glued) {
        x->a = q;
        return;
    }
    x->a = fig_lex_skip_blanks(t, s->n, q);
    if (x->a == q && x->a + 1 < s->n && t[x->a] == '-' &&
        fig_lex_is_alpha(t[x->a + 1])) {
        x->a++;
        x->hyph = true;
    }
}

/* A percent, currency or unit word after the number; else a scaled number
 * is MONEY behind a currency sign and CARDINAL without one. */
static step_t
pat_unit(scan_t *s, numctx_t *x, cand_t *c)
{
    if (x->a > x->q && unit_after(s, x->a, false, c))
        return STEP_PREFIX;
    /* "13.5 billion more cubic metres": a word of fig_unit_gaps between */
    const fig_word_t *w;
    size_t we = x->a > x->q && !x->hyph
                    ? fig_lex_match_table(s->lx, s->t, s->n, x->a,
                                          s->lex->fig_unit_gaps, false, &w)
                    : 0;
    if (we) {
        size_t b = fig_lex_skip_blanks(s->t, s->n, we);
        if (b > we && unit_after(s, b, false, c))
            return STEP_PREFIX;
    }
    if (!(c->flags & F_SCALE))
        return STEP_NEXT;
    size_t ps;
    const char *cur = money_prefix(s, x->p, &ps);
    if (cur) {
        c->type = RESULT_MONEY;
        c->unit = cur;
        c->start = ps;
    } else {
        c->type = RESULT_CARDINAL;
    }
    return STEP_DONE;
}

/* A currency sign or code before a plain number: MONEY. */
static step_t
pat_money_sign(scan_t *s, numctx_t *x, cand_t *c)
{
    size_t ps;
    const char *cur = money_prefix(s, x->p, &ps);
    if (!cur)
        return STEP_NEXT;
    c->type = RESULT_MONEY;
    c->unit = cur;
    c->start = ps;
    return STEP_DONE;
}

/* A whole number joined by a hyphen to a word of fig_ordinal_heads is
 * an ordinal ("647,000 11-graders": the eleventh grade), reported
 * without the word. */
static step_t
pat_ordinal_head(scan_t *s, numctx_t *x, cand_t *c)
{
    const fig_word_t *w;
    size_t e;
    if (!x->hyph || !is_int(&x->m) || x->m.sep || (c->flags & F_SCALE) ||
        !(e = fig_lex_match_table(s->lx, s->t, s->n, x->a,
                                  s->lex->fig_ordinal_heads, false, &w)))
        return STEP_NEXT;
    c->type = RESULT_ORDINAL;
    return give(x, e);
}

/* Anything else is a CARDINAL, unless a whole number of up to four
 * digits without separators is part of a name ("Nord Stream 2", "Article
 * 15", "Security Council Resolution 2254"; from 1000 to 2100 the year
 * patterns have asked already: "Executive Order 1564"). */
static step_t
pat_cardinal(scan_t *s, numctx_t *x, cand_t *c)
{
    const num_t *m = &x->m;
    if (x->pfx)
        c->start = x->p;
    /* a dash range is no name: "in Afghanistan 14-15 years later"; nor
     * is a factor: "inspected Iran 13 times" */
    const fig_word_t *w;
    if (is_int(m) && !m->sep && m->intdig <= 4 && !(c->flags & F_LINK) &&
        figures_name_before(s, x->p) &&
        !(x->a > x->q &&
          fig_lex_match_table(s->lx, s->t, s->n, x->a, s->lex->fig_multipliers,
                              false, &w)))
        return give(x, figures_skip_run(s, x->q));
    c->type = RESULT_CARDINAL;
    return STEP_DONE;
}

/* After a unit: a currency sign before the number belongs to the span
 * ("$5 billion"); "mid-" does not start a quantity or percent. */
static void
finish_prefix(scan_t *s, const numctx_t *x, cand_t *c)
{
    size_t ps;
    if (c->type == RESULT_MONEY) {
        if (money_prefix(s, x->p, &ps))
            c->start = ps;
    } else if (c->type == RESULT_QUANTITY || c->type == RESULT_PERCENT) {
        if (x->pfx)
            c->start = x->p;
    }
}

/* The number [ps, pe) marks an item of a list ("by 2030: 1) output will
 * grow ...; 4) value added may reach 7 trillion rubles"): a ')' right
 * after it, and a list's start (':' or ';') or a line's before it. No
 * elliptical amount: it takes nothing from the item's figures. */
static bool
list_marker(const scan_t *s, size_t ps, size_t pe)
{
    if (pe >= s->n || s->t[pe] != ')')
        return false;
    size_t q = fig_lex_skip_blanks_back(s->t, ps);
    return q == 0 || s->t[q - 1] == ':' || s->t[q - 1] == ';' ||
           s->t[q - 1] == '\n';
}

/* A typed number: is it loose ("25.1 a year earlier"), does it link on to
 * another ("157 to 168 million tonnes")? Returns where scanning goes on. */
static size_t
finish_done(scan_t *s, const numctx_t *x, cand_t *c)
{
    if (c->type == RESULT_CARDINAL) {
        if (figures_followed_loosely(s, c->end) &&
            !list_marker(s, c->start, c->end))
            c->flags |= F_LOOSE;
    }
    if (!(c->flags & F_LINK) &&
        (c->type == RESULT_CARDINAL || c->type == RESULT_MONEY)) {
        size_t l = connector(s, c->end);
        if (l) {
            c->flags |= F_LINK;
            c->link = l;
        }
    }
    if ((c->flags & F_LINK) && c->type != RESULT_CARDINAL &&
        c->type != RESULT_MONEY)
        c->flags &= ~F_LINK;
    return c->end > x->q ? c->end : x->q;
}

/* Classify the number starting at p (a digit) by trying its patterns in
 * order: those of what is glued to it, then a scale word, then those of
 * the words after it. Returns the position to continue scanning from;
 * c->type is 0 when nothing is to be reported. */
static size_t
classify(scan_t *s, size_t p, cand_t *c)
{
    static pattern_fn *const glued[] = { fig_date_clock, fig_date_dash,
                                         fig_date_slash, pat_suffix,
                                         pat_percent_sign };
    static pattern_fn *const after[] = {
        pat_unit,          fig_date_month_day, fig_date_day_month_clock,
        fig_date_next_day, fig_date_duration,  fig_date_year,
        pat_money_sign,    pat_ordinal_head,   pat_cardinal
    };
    numctx_t x = { .p = p };
    memset(c, 0, sizeof *c);
    c->scale = 1;
    step_t st = pat_number(s, &x, c);
    for (size_t i = 0;
         st == STEP_NEXT && x.q < s->n && i < sizeof glued / sizeof *glued; i++)
        st = glued[i](s, &x, c);
    if (st == STEP_NEXT) {
        scale_word(s, &x, c);
        st = STEP_LOOKAHEAD;
    }
    if (st == STEP_LOOKAHEAD) {
        lookahead_at(s, &x);
        st = STEP_NEXT;
        for (size_t i = 0; st == STEP_NEXT && i < sizeof after / sizeof *after;
             i++)
            st = after[i](s, &x, c);
    }
    switch (st) {
    case STEP_RETURN:
        return x.ret;
    case STEP_PREFIX:
        finish_prefix(s, &x, c);
        return finish_done(s, &x, c);
    default:
        return finish_done(s, &x, c);
    }
}

/* ---- spelled-out percentages and money ---- */

/* Value of the spelled number in [a, b) ("twenty-five", "one hundred and
 * five", "one and a half"); false when it is not a number. */
static bool
spelled_value(const scan_t *s, size_t a, size_t b, double *out)
{
    const unsigned char *t = s->t;
    double cur = 0;
    bool any = false;
    size_t p = a;
    while (p < b) {
        size_t e = p;
        while (e < b && fig_lex_is_alpha(t[e]))
            e++;
        if (e == p) {
            p++;
            continue;
        }
        int i = fig_lex_word_in(s->lx, t, p, e, s->lex->fig_numwords);
        if (i >= 0) {
            double v = s->lex->fig_numwords[i].num;
            if (v == 100)
                cur = (cur > 0 ? cur : 1) * 100;
            else
                cur += v;
            any = true;
        } else if (fig_lex_word_is(t, p, e, "half")) {
            cur += 0.5;
            any = true;
        } else if (!fig_lex_word_is(t, p, e, "and") &&
                   !fig_lex_word_is(t, p, e, "a")) {
            return false;
        }
        p = e;
    }
    *out = cur;
    return any;
}

/* Start of the spelled number ending right before p, or p if none. */
static size_t
spelled_start(const scan_t *s, size_t p)
{
    const unsigned char *t = s->t;
    size_t start = p;
    size_t cur = p;
    for (int guard = 0; guard < 12; guard++) {
        size_t ws, we;
        size_t dl = fig_lex_dash_before(t, cur);
        if (dl && dl == 1 && cur > 1 && fig_lex_is_alpha(t[cur - 2])) {
            if (!fig_lex_prev_word(t, cur - 1, &ws, &we) || we != cur - 1)
                break;
        } else if (!fig_lex_prev_word(t, cur, &ws, &we) ||
                   fig_lex_blank_before(t, cur) == 0) {
            break;
        }
        /* "half" may start the number: "half a billion dollars" */
        bool numw =
            fig_lex_word_in(s->lx, t, ws, we, s->lex->fig_numwords) >= 0 ||
            fig_lex_word_is(t, ws, we, "half");
        bool glue = fig_lex_word_is(t, ws, we, "and") ||
                    fig_lex_word_is(t, ws, we, "a");
        if (!numw && !glue)
            break;
        cur = ws;
        if (numw)
            start = ws;
    }
    return start;
}

static void
spelled_percent(scan_t *s, size_t k, size_t e)
{
    if (k > 0 && is_alnum(s->t[k - 1]))
        return;
    size_t st = spelled_start(s, k);
    double v;
    if (st == k || !spelled_value(s, st, fig_lex_skip_blanks_back(s->t, k), &v))
        return;
    cand_t c;
    memset(&c, 0, sizeof c);
    c.type = RESULT_PERCENT;
    c.start = st;
    c.end = e;
    c.num = v;
    c.scale = 1;
    fig_coord_emit(s, &c);
}

static void
spelled_money(scan_t *s, size_t ws, size_t we, double scale)
{
    if (ws > 0 && is_alnum(s->t[ws - 1]))
        return;
    if (we < s->n && is_alnum(s->t[we]))
        return;
    size_t a = fig_lex_skip_blanks(s->t, s->n, we);
    const fig_word_t *w;
    size_t e;
    if (a == we ||
        !(e = fig_lex_match_table(s->lx, s->t, s->n, a, s->lex->fig_currencies,
                                  false, &w)))
        return;
    size_t st = spelled_start(s, ws);
    double v;
    if (st == ws ||
        !spelled_value(s, st, fig_lex_skip_blanks_back(s->t, ws), &v))
        return;
    cand_t c;
    memset(&c, 0, sizeof c);
    c.type = RESULT_MONEY;
    c.start = st;
    c.end = e;
    c.num = v;
    c.scale = scale;
    c.unit = w->norm;
    fig_coord_emit(s, &c);
}

/* A spelled keyword may touch position k (see scan_spelled). */
static void
spelled_at(scan_t *s, size_t k)
{
    const unsigned char *t = s->t;
    size_t n = s->n;
    if (t[k] == 'l') {
        /* "illion" starts at k - 1 */
        if (k < 1 || k + 5 > n || memcmp(t + k - 1, "illion", 6) != 0)
            return;
        size_t b = k - 1, e = k + 5;
        if (b >= 1 && (t[b - 1] == 'm' || t[b - 1] == 'M'))
            spelled_money(s, b - 1, e, 1e6);
        else if (b >= 1 && (t[b - 1] == 'b' || t[b - 1] == 'B'))
            spelled_money(s, b - 1, e, 1e9);
        else if (b >= 2 && (t[b - 2] | 0x20) == 't' && t[b - 1] == 'r')
            spelled_money(s, b - 2, e, 1e12);
        return;
    }
    /* "percent" / "per cent": the 'c' of "cent" is at k */
    if (k >= 3 && k + 4 <= n && memcmp(t + k - 3, "percent", 7) == 0)
        spelled_percent(s, k - 3, k + 4);
    else if (k >= 4 && k + 4 <= n && memcmp(t + k - 4, "per cent", 8) == 0)
        spelled_percent(s, k - 4, k + 4);
}

/* Bit i set where bytes i, i + 1 of t[0..16] are "ll" or "ce": one
 * compare a byte and pair half (SSE2 on x86-64). */
static inline unsigned
pair_bits(const unsigned char *t)
{
    v16_t a, b;
    memcpy(&a, t, 16);     /* the pairs' first bytes */
    memcpy(&b, t + 1, 16); /* their second bytes */
    return v16_bits(
        (v16_t)(((a == 'l') & (b == 'l')) | ((a == 'c') & (b == 'e'))));
}

/* One pass over byte pairs "ll" (million, billion, trillion) and "ce"
 * (percent, per cent): far cheaper than a search per keyword, and hits
 * are rare enough to check one by one. */
static void
scan_spelled(scan_t *s)
{
    const unsigned char *t = s->t;
    size_t n = s->n;
    size_t p = 0;
    /* thirty-two positions per step in vector registers (GCC/Clang vector
     * extensions: SSE2 on x86-64, plain code elsewhere): the pairs' first
     * bytes from one load, their second bytes from a second; the byte
     * after the pair, which spelled_at() needs as well ("illion",
     * "cent"), is tested per hit, so the frequent "all", "will" and "ice"
     * cost a compare, not a call */
    while (p + 34 <= n) {
        unsigned x = pair_bits(t + p) | pair_bits(t + p + 16) << 16;
        /* most blocks hold no hit */
        for (; x; x &= x - 1) {
            size_t k = p + (size_t)__builtin_ctz(x);
            if (t[k + 2] == 'i' || t[k + 2] == 'n')
                spelled_at(s, k);
        }
        p += 32;
    }
    while (p + 10 <= n) {
        uint64_t w0, w1, w2;
        memcpy(&w0, t + p, 8);
        memcpy(&w1, t + p + 1, 8);
        memcpy(&w2, t + p + 2, 8);
        uint64_t m = (swar_eq(w0, 'l') & swar_eq(w1, 'l') & swar_eq(w2, 'i')) |
                     (swar_eq(w0, 'c') & swar_eq(w1, 'e') & swar_eq(w2, 'n'));
        while (m) {
            spelled_at(s, p + swar_first(m));
            m &= m - 1;
        }
        p += 8;
    }
    for (; p + 1 < n; p++)
        if ((t[p] == 'l' && t[p + 1] == 'l') ||
            (t[p] == 'c' && t[p + 1] == 'e'))
            spelled_at(s, p);
}

/* A minus sign or the word "minus" right before the number at p makes an
 * amount negative ("minus 0.1 percent", "-3%", "-40C"). A dash counts only
 * when glued to the digits, with a blank, bracket or line start before it
 * and no number before that: "5 -7" is a range and "Party \u2013 17" or
 * a glued en dash are typographic dashes, not signs. */
static void
apply_sign(const scan_t *s, size_t p, cand_t *c)
{
    if (c->start != p ||
        !(c->type == RESULT_PERCENT || c->type == RESULT_MONEY ||
          c->type == RESULT_QUANTITY || c->type == RESULT_CARDINAL))
        return;
    const unsigned char *t = s->t;
    size_t dl = 0;
    if (p >= 1 && t[p - 1] == '-')
        dl = 1;
    else if (p >= 3 && t[p - 3] == 0xE2 && t[p - 2] == 0x88 &&
             t[p - 1] == 0x92) /* U+2212 minus sign */
        dl = 3;
    if (dl) {
        size_t d = p - dl;
        if (d > 0 && t[d - 1] != '(' && t[d - 1] != '\n' &&
            fig_lex_blank_before(t, d) == 0)
            return;
        size_t q = fig_lex_skip_blanks_back(t, d);
        if (q > 0 && (fig_lex_is_digit(t[q - 1]) || t[q - 1] == '%'))
            return;
        c->start = d;
        c->num = -c->num;
        return;
    }
    size_t ws, we;
    if (fig_lex_blank_before(t, p) && fig_lex_prev_word(t, p, &ws, &we) &&
        fig_lex_word_is(t, ws, we, "minus") &&
        !(ws > 0 && is_alnum(t[ws - 1]))) {
        c->start = ws;
        c->num = -c->num;
    }
}

void
figures_scan(const fig_lex_t *lx, const char *text, size_t len, result_t *r)
{
    if (!lx || !text || !r || len == 0)
        return;
    scan_t *s = &(scan_t){ 0 };
    s->lx = lx;
    s->lex = fig_lex_lexicon(lx);
    s->t = (const unsigned char *)text;
    s->n = len;
    s->r = r;
    s->max_figs = 1024 + len / 32;
    size_t p = 0;
    while (p < len) {
        p = next_digit(s->t, len, p);
        if (p >= len)
            break;
        cand_t c;
        size_t e = classify(s, p, &c);
        if (c.type != RESULT_CARDINAL && c.type != RESULT_MONEY)
            c.flags &= ~F_LINK;
        if (c.type) {
            apply_sign(s, p, &c);
            fig_coord_push(s, &c);
        }
        p = e > p ? e : p + 1;
    }
    fig_coord_flush(s);
    scan_spelled(s);
}
