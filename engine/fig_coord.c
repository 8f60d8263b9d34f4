/*
 * fig_coord: shortened numbers in coordinations ("157 to 168 million
 * tonnes", "29.1 percent, and 25.1 a year earlier") wait in the scan's
 * small queue until the parallel expression is seen and take its unit,
 * scale or month; then every figure is added to the result here.
 */
#include "fig_scan.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* True when [a, b) contains a sentence end or a line break. */
static bool
crosses_sentence(const scan_t *s, size_t a, size_t b)
{
    /* a span may end in its own full stop ("5bn rub.") */
    for (size_t i = a > 0 ? a - 1 : a; i < b && i < s->n; i++) {
        unsigned char c = s->t[i];
        if (c == '\n' || c == '\r')
            return true;
        if ((c == '.' || c == '!' || c == '?') &&
            (i + 1 >= s->n || fig_lex_blank(s->t, s->n, i + 1) ||
             s->t[i + 1] == '\n' || s->t[i + 1] == '\r'))
            return true;
    }
    return false;
}

/* "April 10-15, 2020", "May 7 and 9, 2017", "April 1 to June 30, 2020":
 * the year written after the last day of a range is also that of the
 * first, emitted before without one (not back into an earlier month's
 * year: "December 25 to January 10, 2021"). */
static void
year_to_first_day(scan_t *s, const cand_t *c)
{
    const cand_t *y = &s->day;
    if (!s->has_day || y->year || !c->year || y->month < 1 ||
        y->month > c->month || y->end > c->start ||
        !fig_coord_range_gap(s, y->end, c->start))
        return;
    for (size_t i = s->r->n_figures; i-- > 0;) {
        result_figure_t *f = &s->r->figures[i];
        if (f->start < y->start)
            return;
        if (f->start == y->start && f->type == RESULT_DATE) {
            char iso[16];
            fig_date_iso_ymd(iso, sizeof iso, c->year, y->month, (int)y->num);
            f->iso = result_strndup(s->r, iso, strlen(iso));
            return;
        }
    }
}

void
fig_coord_emit(scan_t *s, const cand_t *c)
{
    if (!c->type || s->emitted >= s->max_figs || c->end > UINT32_MAX)
        return;
    if (c->type == RESULT_CARDINAL && !(c->flags & (F_LOOSE | F_SCALE)))
        s->count_end = c->end;
    if (c->kind == K_DAYMONTH) {
        year_to_first_day(s, c);
        s->day = *c;
        s->has_day = true;
    }
    bool numeric = c->type != RESULT_DATE && c->type != RESULT_TIME;
    double v = c->num * c->scale;
    if (!isfinite(v))
        return;
    /* "16.6 million" is 16600000, not 16600000.000000002 */
    if (c->scale >= 1e3 && fabs(v) < 1e15)
        v = round(v * 100) / 100;
    result_add_figure(s->r, c->type, (const char *)s->t, (uint32_t)c->start,
                      (uint32_t)c->end, numeric ? v : 0.0, numeric,
                      numeric ? NULL : c->iso, c->unit);
    s->emitted++;
}

/* X's number is of the order of Y's, so that it may be written short
 * for Y's scale ("157 to 168 million", "from 1 to 10 billion"); "from
 * 700,000 to 1.4 million [rubles]" is written in full. */
static bool
scale_fits(const cand_t *x, const cand_t *y)
{
    if (x->num <= 0 || y->num <= 0)
        return true;
    double ratio = x->num / y->num;
    return ratio >= 1e-3 && ratio <= 1e3;
}

/* X takes the unit, type and scale of the parallel expression Y. */
static bool
inherit(cand_t *x, const cand_t *y)
{
    bool changed = false;
    if (x->type == RESULT_CARDINAL &&
        (y->type == RESULT_PERCENT || y->type == RESULT_MONEY ||
         y->type == RESULT_QUANTITY)) {
        x->type = y->type;
        x->unit = y->unit;
        changed = true;
    }
    /* a number with a currency or unit word of its own is complete:
     * "10 yuan, 700 million yen", "100 roubles 50 kopecks, 5 mln euros"
     * (but "$9-10 billion" and "157 to 168 million tonnes") */
    if (x->type == y->type && !(x->flags & (F_SCALE | F_UNIT)) &&
        (y->flags & F_SCALE) && scale_fits(x, y)) {
        x->scale = y->scale;
        x->flags |= F_SCALE;
        changed = true;
    }
    if (x->type == RESULT_CARDINAL && !(x->flags & F_SCALE) &&
        y->kind == K_DAYMONTH && x->num >= 1 && x->num <= 31 &&
        x->num == floor(x->num)) {
        x->type = RESULT_DATE;
        x->kind = K_DAYMONTH;
        x->month = y->month;
        x->year = y->year;
        fig_date_iso_day(x->iso, sizeof x->iso, y->year, y->month, (int)x->num);
        changed = true;
    }
    if (x->type == RESULT_CARDINAL && !(x->flags & F_SCALE) &&
        y->kind == K_DUR) {
        x->type = y->type;
        x->kind = K_DUR;
        bool t = y->dur[0] >= 'a';
        snprintf(x->iso, sizeof x->iso, "%s%g%c", t ? "PT" : "P",
                 x->num * y->durmul, t ? y->dur[0] - 32 : y->dur[0]);
        changed = true;
    }
    return changed;
}

static bool
loose_ok(const scan_t *s, const cand_t *x, const cand_t *y, size_t a, size_t b)
{
    if (b < a || b - a > LOOSE_GAP || crosses_sentence(s, a, b))
        return false;
    /* the end of a range or list takes nothing from outside it: "aged
     * 10-17 were sold at 50 percent", "is 28,000 rubles, but ... earn
     * 38,000-39,000 on average" (but "from 125 billion to 250") */
    if ((x->flags & F_END) && (y->start < x->chain || y->start > x->start))
        return false;
    /* a count with a noun of its own between them is the parallel
     * expression: "by 74 percent, from 17 units to 24" */
    if (s->count_end > a && s->count_end <= b)
        return false;
    if (!(y->type == RESULT_PERCENT || y->type == RESULT_MONEY ||
          y->type == RESULT_QUANTITY ||
          (y->type == RESULT_CARDINAL && (y->flags & F_SCALE))))
        return false;
    if (y->num <= 0 || x->num <= 0)
        return false;
    /* "invest some 251 billion" after "900 billion rubles" is a complete
     * amount of its own (no currency word: CARDINAL), not an ellipsis */
    if (x->flags & F_SCALE)
        return false;
    double ratio = x->num / y->num;
    return ratio >= 0.2 && ratio <= 5.0;
}

/* "430 billion rubles, including 161 billion to ...": an amount after
 * "including" is a part of the last amount in the sentence and is counted
 * in its unit, even with a scale word of its own. */
static bool
part_of_last(const scan_t *s, const cand_t *x)
{
    const cand_t *y = &s->last;
    size_t ws, we;
    if (y->type != RESULT_MONEY && y->type != RESULT_QUANTITY)
        return false;
    /* "including 20 regions" counts regions */
    if (!(x->flags & (F_SCALE | F_LOOSE)))
        return false;
    if (!fig_lex_prev_word(s->t, x->start, &ws, &we) ||
        !fig_lex_word_is(s->t, ws, we, "including"))
        return false;
    if (y->end > x->start || x->start - y->end > LOOSE_GAP ||
        crosses_sentence(s, y->end, x->start))
        return false;
    double xv = x->num * x->scale, yv = y->num * y->scale;
    return xv > 0 && xv <= yv;
}

/* A comma (and blanks) right before text[at]: the start of an item of a
 * list ("200 billion rubles for roads, 45 billion for schools"). */
static bool
list_item_start(const scan_t *s, size_t at)
{
    while (at > 0 && s->t[at - 1] == ' ')
        at--;
    return at > 0 && s->t[at - 1] == ',';
}

/* "a limit of 50 billion rubles was raised to 75 billion": a bare amount
 * with a scale word of its own, after a word of fig_carry_preps or at
 * the start of a list item ("..., 45 billion for schools"), in the
 * sentence of the last amount with a currency or unit and followed by
 * no noun of its own, is parallel to it and takes its currency or unit
 * ("invest some 251 billion" after "900 billion rubles" is not: no such
 * word; nor is "by 1.6 million people": a noun). */
static bool
carried_from_last(const scan_t *s, const cand_t *x)
{
    const cand_t *y = &s->last;
    size_t ws, we;
    if ((y->type != RESULT_MONEY && y->type != RESULT_QUANTITY) ||
        !(x->flags & F_SCALE) || !(y->flags & F_SCALE) || !(x->flags & F_LOOSE))
        return false;
    if (y->end > x->start || x->start - y->end > CARRY_GAP ||
        crosses_sentence(s, y->end, x->start))
        return false;
    if (!list_item_start(s, x->start) &&
        (!fig_lex_prev_word(s->t, x->start, &ws, &we) ||
         fig_lex_word_in(s->lx, s->t, ws, we, s->lex->fig_carry_preps) < 0))
        return false;
    double xv = x->num * x->scale, yv = y->num * y->scale;
    return xv > 0 && yv > 0 && xv / yv >= 0.01 && xv / yv <= 100;
}

/* "June 11-12", "May 7 and 9": a bare day number, followed by no noun,
 * right after a day of a month and a dash or range word (no comma: "On
 * June 12, 15 died") is another day of that month. */
static bool
day_after_day(const scan_t *s, const cand_t *c)
{
    const cand_t *y = &s->day;
    if (!s->has_day || !(c->flags & F_LOOSE) || (c->flags & F_SCALE) ||
        c->num < 1 || c->num > 31 || c->num != floor(c->num) ||
        y->end > c->start || c->start - y->end > 16)
        return false;
    return fig_coord_range_gap(s, y->end, c->start);
}

bool
fig_coord_range_gap(const scan_t *s, size_t from, size_t to)
{
    const unsigned char *t = s->t;
    size_t a = fig_lex_skip_blanks(t, s->n, from);
    size_t k = fig_lex_dash(t, s->n, a);
    const fig_word_t *w;
    size_t b = k ? a + k
                 : fig_lex_match_table(s->lx, t, s->n, a,
                                       s->lex->fig_range_connectors, false, &w);
    return b && fig_lex_skip_blanks(t, s->n, b) == to;
}

/* Keep c as the expression later elliptical numbers may take after. */
static void
remember(scan_t *s, const cand_t *c)
{
    if (c->type == RESULT_PERCENT || c->type == RESULT_MONEY ||
        c->type == RESULT_QUANTITY ||
        (c->type == RESULT_CARDINAL && (c->flags & F_SCALE))) {
        s->last = *c;
        s->has_last = true;
    }
}

void
fig_coord_flush(scan_t *s)
{
    for (size_t i = 0; i < s->nq; i++) {
        fig_coord_emit(s, &s->q[i]);
        remember(s, &s->q[i]);
    }
    s->nq = 0;
}

/* Hand one classified number to the coordination logic. */
void
fig_coord_push(scan_t *s, cand_t *c)
{
    if (s->nq) {
        /* linked chain ending at c: all of it inherits from c */
        size_t i = s->nq;
        size_t at = c->start;
        while (i > 0 && (s->q[i - 1].flags & F_LINK) &&
               s->q[i - 1].link == at) {
            at = s->q[i - 1].start;
            i--;
        }
        if (i < s->nq) {
            c->flags |= F_END;
            c->chain = s->q[i].start;
            /* "$9-10 billion": the sign of the first end is the currency
             * of the last, which gives its scale back */
            if (c->type == RESULT_CARDINAL && (c->flags & F_SCALE) &&
                s->q[i].type == RESULT_MONEY && !(s->q[i].flags & F_SCALE)) {
                c->type = RESULT_MONEY;
                c->unit = s->q[i].unit;
            }
            for (size_t j = i; j < s->nq; j++)
                inherit(&s->q[j], c);
        } else {
            cand_t *x = &s->q[s->nq - 1];
            if ((x->flags & F_LOOSE) && loose_ok(s, x, c, x->end, c->start))
                inherit(x, c);
        }
        if (!(c->flags & F_LINK)) {
            fig_coord_flush(s);
        } else {
            /* keep the chain going only if c links on from the queue */
            bool chained = (s->q[s->nq - 1].flags & F_LINK) &&
                           s->q[s->nq - 1].link == c->start;
            if (!chained || s->nq == QMAX)
                fig_coord_flush(s);
        }
    }
    bool bare = c->type == RESULT_CARDINAL;
    if (bare && !(c->flags & F_LINK) && day_after_day(s, c)) {
        inherit(c, &s->day);
        c->flags &= ~F_LOOSE;
    }
    bare = c->type == RESULT_CARDINAL;
    if (bare && !(c->flags & F_LINK) && s->has_last &&
        (((c->flags & F_LOOSE) &&
          loose_ok(s, c, &s->last, s->last.end, c->start)) ||
         part_of_last(s, c) || carried_from_last(s, c)))
        inherit(c, &s->last);
    bool wait = (c->flags & F_LINK) ||
                ((c->flags & F_LOOSE) && c->type == RESULT_CARDINAL);
    if (wait && s->nq < QMAX) {
        s->q[s->nq++] = *c;
        return;
    }
    fig_coord_emit(s, c);
    remember(s, c);
}
