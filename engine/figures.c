/*
 * figures: one pass over the bytes, jumping from digit run to digit run
 * (word-at-a-time skipping), classifying each number by a small window of
 * words before and after it. Shortened numbers in coordinations ("157 to
 * 168 million tonnes", "29.1 percent, and 25.1 a year earlier") wait in a
 * small fixed queue until the parallel expression is seen. Spelled-out
 * percentages and money are found by searching for their keywords.
 */
#include "figures.h"

#include "fig_lex.h"
#include "lexicon.h"
#include "swar.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* More digits than this is not a figure (and could not be exact). */
#define MAX_DIGITS 15
/* Pending coordinated numbers kept at most. */
#define QMAX 8
/* Loose inheritance looks this far (bytes) for the parallel expression. */
#define LOOSE_GAP 160
/* A scaled amount takes the last currency or unit this far (bytes) away. */
#define CARRY_GAP 240

/* Compound units ("centner per hectare") a scan keeps, and their length. */
#define PER_MAX 16
#define PER_LEN 48

enum { K_PLAIN, K_DAYMONTH, K_DUR, K_YEAR };

#define F_LINK 1u  /* followed by a connector and another number */
#define F_LOOSE 2u /* bare number not followed by a noun */
#define F_SCALE 4u /* carries a scale word (million, bn...) */
#define F_UNIT 8u  /* has its own percent/currency/unit word */
#define F_END 16u  /* ends a linked chain ("38,000-39,000") */

typedef struct num {
    size_t start, end; /* digits span */
    double val;        /* value as written */
    uint64_t ip;       /* integer part */
    int intdig;        /* digits before the decimal point */
    bool sep;          /* thousands separators seen */
    bool dec;          /* decimal part seen */
} num_t;

typedef struct cand {
    int type;          /* result_figure_type_t, 0 = none */
    size_t start, end; /* span reported */
    double num;        /* number as written */
    double scale;      /* scale factor (1 when none) */
    const char *unit;  /* ISO 4217 code or unit name, or NULL */
    char iso[32];      /* DATE/TIME value */
    unsigned flags;    /* F_* */
    int kind;          /* K_* */
    int month, year;   /* K_DAYMONTH: month and year (0 when unknown) */
    const char *dur;   /* K_DUR: designator ("Y", "h"...) */
    double durmul;     /* K_DUR: multiplier (decades) */
    size_t link;       /* F_LINK: where the linked number starts */
    size_t chain;      /* F_END: where the chain's first number starts */
} cand_t;

typedef struct scan {
    const fig_lex_t *lx;        /* word tables' index */
    const lexicon_t *lex;       /* the word tables (lx's lexicon) */
    const unsigned char *t;     /* input */
    size_t n;                   /* input length */
    result_t *r;                /* output */
    size_t emitted;             /* figures added */
    size_t max_figs;            /* cap keeping memory bounded on junk input */
    cand_t q[QMAX];             /* pending coordinated numbers */
    size_t nq;                  /* entries in q */
    cand_t last;                /* last emitted figure with unit or scale */
    bool has_last;              /* last is valid */
    size_t count_end;           /* end of the last count with a noun */
    cand_t day;                 /* last emitted day of a month */
    bool has_day;               /* day is valid */
    char per[PER_MAX][PER_LEN]; /* compound units built ("tonne per day") */
    size_t nper;                /* entries in per */
} scan_t;

/* The ISO strings of the common dates, formatted without stdio (snprintf
 * was a few percent of the engine). Each writes exactly what the
 * snprintf format in its comment writes, falling back to it for values
 * outside the fixed widths. */

/* Write v (0 <= v < 10^w) as w digits at p. */
static char *
put_digits(char *p, int v, int w)
{
    for (int i = w - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + w;
}

/* "%04d" */
static void
iso_y(char *iso, size_t cap, int y)
{
    if (cap < 5 || y < 0 || y > 9999) {
        snprintf(iso, cap, "%04d", y);
        return;
    }
    *put_digits(iso, y, 4) = '\0';
}

/* "%04d-%02d-%02d" */
static void
iso_ymd(char *iso, size_t cap, int y, int m, int d)
{
    if (cap < 11 || y < 0 || y > 9999 || m < 0 || m > 99 || d < 0 || d > 99) {
        snprintf(iso, cap, "%04d-%02d-%02d", y, m, d);
        return;
    }
    char *p = put_digits(iso, y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    *put_digits(p, d, 2) = '\0';
}

/* "--%02d-%02d" */
static void
iso_md(char *iso, size_t cap, int m, int d)
{
    if (cap < 8 || m < 0 || m > 99 || d < 0 || d > 99) {
        snprintf(iso, cap, "--%02d-%02d", m, d);
        return;
    }
    char *p = iso;
    *p++ = '-';
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    *put_digits(p, d, 2) = '\0';
}

static bool
is_alnum(unsigned char c)
{
    return fig_lex_is_alpha(c) || fig_lex_is_digit(c);
}

static bool
digit_at(const scan_t *s, size_t p)
{
    return p < s->n && fig_lex_is_digit(s->t[p]);
}

static bool
alpha_at(const scan_t *s, size_t p)
{
    return p < s->n && fig_lex_is_alpha(s->t[p]);
}

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

/* End of the alphanumeric token containing p (names like "Su-57b.2"). */
static size_t
skip_run(const scan_t *s, size_t p)
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
        break;
    }
    return p;
}

/* Digit run with thousands separators and decimals. False when the token
 * is not a plain number (too many digits, "1.2.3"); *end is then where
 * the junk ends. */
static bool
parse_num(const scan_t *s, size_t p, num_t *o, size_t *end)
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
        *end = skip_run(s, q);
        return false;
    }
    o->start = p;
    o->end = q;
    o->ip = ip;
    o->val = (double)ip + (fd ? (double)frac / pow(10.0, fd) : 0.0);
    *end = q;
    return true;
}

static bool
is_int(const num_t *m)
{
    return !m->dec;
}

static bool
is_yearish(const num_t *m)
{
    return !m->dec && !m->sep && m->intdig == 4 && m->ip >= 1000 &&
           m->ip <= 2100;
}

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

static void
emit(scan_t *s, const cand_t *c)
{
    if (!c->type || s->emitted >= s->max_figs || c->end > UINT32_MAX)
        return;
    if (c->type == RESULT_CARDINAL && !(c->flags & (F_LOOSE | F_SCALE)))
        s->count_end = c->end;
    if (c->kind == K_DAYMONTH) {
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
    if (x->type == y->type && !(x->flags & F_SCALE) && (y->flags & F_SCALE)) {
        x->scale = y->scale;
        x->flags |= F_SCALE;
        changed = true;
    }
    if (x->type == RESULT_CARDINAL && !(x->flags & F_SCALE) &&
        y->kind == K_DAYMONTH && x->num >= 1 && x->num <= 31 &&
        x->num == floor(x->num)) {
        x->type = RESULT_DATE;
        x->kind = K_DAYMONTH;
        if (y->year)
            iso_ymd(x->iso, sizeof x->iso, y->year, y->month, (int)x->num);
        else
            iso_md(x->iso, sizeof x->iso, y->month, (int)x->num);
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

/* "a limit of 50 billion rubles was raised to 75 billion": a bare amount
 * with a scale word of its own, after a word of fig_carry_preps, in
 * the sentence of the last amount with a currency or unit and followed by
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
    if (!fig_lex_prev_word(s->t, x->start, &ws, &we) ||
        fig_lex_word_in(s->lx, s->t, ws, we, s->lex->fig_carry_preps) < 0)
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
    const unsigned char *t = s->t;
    size_t a = fig_lex_skip_blanks(t, s->n, y->end);
    size_t k = fig_lex_dash(t, s->n, a);
    const fig_word_t *w;
    size_t b = k ? a + k
                 : fig_lex_match_table(s->lx, t, s->n, a,
                                       s->lex->fig_range_connectors, false, &w);
    return b && fig_lex_skip_blanks(t, s->n, b) == c->start;
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

static void
flush(scan_t *s)
{
    for (size_t i = 0; i < s->nq; i++) {
        emit(s, &s->q[i]);
        remember(s, &s->q[i]);
    }
    s->nq = 0;
}

/* Hand one classified number to the coordination logic. */
static void
push(scan_t *s, cand_t *c)
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
            flush(s);
        } else {
            /* keep the chain going only if c links on from the queue */
            bool chained = (s->q[s->nq - 1].flags & F_LINK) &&
                           s->q[s->nq - 1].link == c->start;
            if (!chained || s->nq == QMAX)
                flush(s);
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
    emit(s, c);
    remember(s, c);
}

static bool
followed_loosely(const scan_t *s, size_t p)
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

/* Month name right before p ("June 30"): returns month or 0. */
static int
month_before(const scan_t *s, size_t p, size_t *start)
{
    size_t ws, we;
    if (fig_lex_blank_before(s->t, p) == 0 ||
        !fig_lex_prev_word(s->t, p, &ws, &we))
        return 0;
    int i = fig_lex_word_in(s->lx, s->t, ws, we, s->lex->fig_months);
    if (i < 0)
        return 0;
    *start = ws;
    return (int)s->lex->fig_months[i].num;
}

/* ", 2020" or " 2020" after a day: the year, end in *end; 0 if none. */
static int
year_after(const scan_t *s, size_t p, size_t *end)
{
    size_t a = p;
    if (a < s->n && s->t[a] == ',')
        a++;
    size_t b = fig_lex_skip_blanks(s->t, s->n, a);
    if (b == a || b + 4 > s->n)
        return 0;
    for (int k = 0; k < 4; k++)
        if (!fig_lex_is_digit(s->t[b + k]))
            return 0;
    if (b + 4 < s->n &&
        (is_alnum(s->t[b + 4]) || (s->t[b + 4] == ',' && digit_at(s, b + 5))))
        return 0;
    int y = (s->t[b] - '0') * 1000 + (s->t[b + 1] - '0') * 100 +
            (s->t[b + 2] - '0') * 10 + (s->t[b + 3] - '0');
    if (y < 1000 || y > 2100)
        return 0;
    *end = b + 4;
    return y;
}

/* True when t[ws..we) is a word of table. */
static bool
word_in_list(const scan_t *s, size_t ws, size_t we, const fig_word_t *table)
{
    return fig_lex_word_in(s->lx, s->t, ws, we, table) >= 0;
}

/* The word [ws, we) before a year is a season or "of" after one ("summer
 * 2014", "autumn of 2019"): the date starts at the season, or at "early",
 * "late" or "the start of" before it. The value stays the year. */
static bool
season_before(const scan_t *s, size_t ws, size_t we, cand_t *c)
{
    const unsigned char *t = s->t;
    size_t as, ae;
    if (fig_lex_word_is(t, ws, we, "of")) {
        if (!fig_lex_prev_word(t, ws, &as, &ae))
            return false;
        ws = as;
        we = ae;
    }
    if (!word_in_list(s, ws, we, s->lex->fig_seasons))
        return false;
    c->start = ws;
    if (!fig_lex_prev_word(t, ws, &as, &ae))
        return true;
    if (fig_lex_word_is(t, as, ae, "early") ||
        fig_lex_word_is(t, as, ae, "late")) {
        c->start = as;
        return true;
    }
    size_t bs, be;
    if (fig_lex_word_is(t, as, ae, "of") &&
        fig_lex_prev_word(t, as, &bs, &be) &&
        word_in_list(s, bs, be, s->lex->fig_season_edges))
        c->start = bs;
    return true;
}

/* The opening months of a year, "first N months of YEAR", as an ISO value:
 * three months are Q1, six H1, twelve the year; any other count has no
 * name of its own and is the interval of its months ("first nine months of
 * 2017" -> "2017-01/2017-09", "first month" -> "2017-01"). */
static void
first_months_iso(char *iso, size_t cap, int year, int months)
{
    if (months == 3)
        snprintf(iso, cap, "%04d-Q1", year);
    else if (months == 6)
        snprintf(iso, cap, "%04d-H1", year);
    else if (months == 12)
        iso_y(iso, cap, year);
    else if (months == 1)
        snprintf(iso, cap, "%04d-01", year);
    else
        snprintf(iso, cap, "%04d-01/%04d-%02d", year, year, months);
}

/* "past", "last" or "next" before a duration belongs to it: "over the past
 * 25 years" -> "past 25 years", still P25Y, as "20 years ago" keeps its
 * "ago". */
static void
period_before(const scan_t *s, cand_t *c)
{
    size_t ws, we;
    if (fig_lex_blank_before(s->t, c->start) &&
        fig_lex_prev_word(s->t, c->start, &ws, &we) &&
        word_in_list(s, ws, we, s->lex->fig_relative_periods))
        c->start = ws;
}

/* "first 6 months of 2018": a count in digits of months ending at de,
 * after "first" and before "of YEAR", is one DATE for that part of the
 * year (first_months_iso). False, nothing changed, otherwise. */
static bool
first_months_after(const scan_t *s, cand_t *c, const num_t *m,
                   const fig_word_t *w, size_t de)
{
    size_t ws, we, ye;
    if (w->norm[0] != 'M' || w->num != 1 || !is_int(m) || m->sep || m->ip < 1 ||
        m->ip > 12 || !fig_lex_prev_word(s->t, c->start, &ws, &we) ||
        !fig_lex_word_is(s->t, ws, we, "first"))
        return false;
    size_t b = fig_lex_skip_blanks(s->t, s->n, de);
    size_t oe = b > de ? fig_lex_match(s->t, s->n, b, "of", false) : 0;
    int y = oe ? year_after(s, oe, &ye) : 0;
    if (!y)
        return false;
    first_months_iso(c->iso, sizeof c->iso, y, (int)m->ip);
    c->kind = K_YEAR;
    c->start = ws;
    c->end = ye;
    return true;
}

/* "first half of", "end of", "Q3" ... before a year at p: fills iso and
 * moves *start. */
static void
year_context(const scan_t *s, size_t p, int year, cand_t *c)
{
    const unsigned char *t = s->t;
    iso_y(c->iso, sizeof c->iso, year);
    size_t w1s, w1e, w2s, w2e, w3s, w3e;
    /* Q1 2020, H1 2020 */
    size_t q = fig_lex_skip_blanks_back(t, p);
    if (q < p && q >= 2 && (t[q - 2] == 'Q' || t[q - 2] == 'H') &&
        t[q - 1] >= '1' && t[q - 1] <= (t[q - 2] == 'Q' ? '4' : '2') &&
        (q == 2 || !is_alnum(t[q - 3]))) {
        snprintf(c->iso, sizeof c->iso, "%04d-%c%c", year, t[q - 2], t[q - 1]);
        c->start = q - 2;
        return;
    }
    if (!fig_lex_prev_word(t, p, &w1s, &w1e))
        return;
    if (season_before(s, w1s, w1e, c))
        return;
    if (fig_lex_word_is(t, w1s, w1e, "early") ||
        fig_lex_word_is(t, w1s, w1e, "late")) {
        c->start = w1s;
        return;
    }
    if (!fig_lex_word_is(t, w1s, w1e, "of") ||
        !fig_lex_prev_word(t, w1s, &w2s, &w2e))
        return;
    if (word_in_list(s, w2s, w2e, s->lex->fig_year_edges)) {
        c->start = w2s;
        return;
    }
    /* "first six months of 2018": a spelled count of months (a count in
     * digits is found from the number, see first_months_after) */
    if (fig_lex_word_is(t, w2s, w2e, "months") &&
        fig_lex_prev_word(t, w2s, &w3s, &w3e)) {
        int k = fig_lex_word_in(s->lx, t, w3s, w3e, s->lex->fig_numwords);
        size_t w4s, w4e;
        if (k >= 0 && s->lex->fig_numwords[k].num >= 1 &&
            s->lex->fig_numwords[k].num <= 12 &&
            fig_lex_prev_word(t, w3s, &w4s, &w4e) &&
            fig_lex_word_is(t, w4s, w4e, "first")) {
            first_months_iso(c->iso, sizeof c->iso, year,
                             (int)s->lex->fig_numwords[k].num);
            c->start = w4s;
        }
        return;
    }
    bool half = fig_lex_word_is(t, w2s, w2e, "half");
    bool quarter = fig_lex_word_is(t, w2s, w2e, "quarter");
    if ((!half && !quarter) || !fig_lex_prev_word(t, w2s, &w3s, &w3e))
        return;
    int i = fig_lex_word_in(s->lx, t, w3s, w3e, s->lex->fig_part_ordinals);
    int k = i >= 0 ? (int)s->lex->fig_part_ordinals[i].num : 0;
    if (k < 1 || (half && k > 2))
        return;
    snprintf(c->iso, sizeof c->iso, "%04d-%c%d", year, half ? 'H' : 'Q', k);
    c->start = w3s;
}

/* A capitalised word in mid-sentence right before p ("Nord Stream 2",
 * "Article 15"), which makes a small number part of a name. */
static bool
name_before(const scan_t *s, size_t p)
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

/* The unit "NUM per DEN" kept in the scan (one copy per distinct text),
 * or NULL when the scan's table is full or the name too long. */
static const char *
per_name(scan_t *s, const char *num, const char *den)
{
    char buf[PER_LEN];
    int k = snprintf(buf, sizeof buf, "%s per %s", num, den);
    if (k < 0 || (size_t)k >= sizeof buf)
        return NULL;
    for (size_t i = 0; i < s->nper; i++)
        if (strcmp(s->per[i], buf) == 0)
            return s->per[i];
    if (s->nper == PER_MAX)
        return NULL;
    memcpy(s->per[s->nper], buf, (size_t)k + 1);
    return s->per[s->nper++];
}

/* A quantity's unit followed by "per" and a unit or a time word is a rate
 * ("24 centners per hectare", "30 cubic metres per day"): one unit, one
 * span. */
static void
per_unit(scan_t *s, cand_t *c)
{
    size_t a = fig_lex_skip_blanks(s->t, s->n, c->end);
    size_t b = a > c->end ? fig_lex_match(s->t, s->n, a, "per", false) : 0;
    size_t d = b ? fig_lex_skip_blanks(s->t, s->n, b) : 0;
    if (!b || d == b)
        return;
    const fig_word_t *w;
    size_t e =
        fig_lex_match_table(s->lx, s->t, s->n, d, s->lex->fig_units, false, &w);
    if (!e || w->num != 1)
        e = fig_lex_match_table(s->lx, s->t, s->n, d, s->lex->fig_per_times,
                                false, &w);
    if (!e)
        return;
    const char *u = per_name(s, c->unit, w->norm);
    if (!u)
        return;
    c->unit = u;
    c->end = e;
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
     * billion [rubles]", "9.5 [percent]", "12 [tonnes]" */
    if (!glued && q < s->n && s->t[q] == '[') {
        size_t a = fig_lex_skip_blanks(s->t, s->n, q + 1);
        const fig_word_t *const tables[] = { s->lex->fig_currencies,
                                             s->lex->fig_percents,
                                             s->lex->fig_units };
        const int types[] = { RESULT_MONEY, RESULT_PERCENT, RESULT_QUANTITY };
        for (size_t i = 0; i < 3; i++) {
            e = fig_lex_match_table(s->lx, s->t, s->n, a, tables[i], false, &w);
            if (!e)
                continue;
            e = fig_lex_skip_blanks(s->t, s->n, e);
            if (e >= s->n || s->t[e] != ']')
                break;
            c->type = types[i];
            c->unit = types[i] == RESULT_PERCENT ? NULL : w->norm;
            if (types[i] == RESULT_QUANTITY)
                c->scale *= w->num;
            c->end = e + 1;
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
        per_unit(s, c);
        return true;
    }
    c->flags &= ~F_UNIT;
    return false;
}

/* ---- classify: one function per pattern ---- */

/* What a pattern decided about the number. */
typedef enum step {
    NEXT,      /* not this pattern: try the next one */
    RETURN,    /* classified (or dropped): scanning goes on at x->ret */
    LOOKAHEAD, /* a glued scale was read: go on with the words after it */
    PREFIX,    /* a unit was read: take a currency sign before it, finish */
    DONE       /* typed: finish (coordination links) */
} step_t;

/* The number being classified and where its patterns have got to. */
typedef struct numctx {
    size_t p;         /* its first digit */
    num_t m;          /* the number as written */
    size_t q;         /* after the number and any scale word read */
    bool pfx;         /* written "mid-2020", "pre-2014" (year_prefixes) */
    size_t pfx_start; /* where that word starts */
    bool glued;       /* a duration word glued to it ("70years") */
    size_t a;         /* lookahead: the first byte of the next word */
    bool hyph;        /* lookahead: joined to it by a hyphen ("5-year") */
    size_t ret;       /* RETURN: where scanning goes on */
} numctx_t;

typedef step_t pattern_fn(scan_t *s, numctx_t *x, cand_t *c);

static step_t
give(numctx_t *x, size_t ret)
{
    x->ret = ret;
    return RETURN;
}

/* A day of month mo at x (its end at e), with an optional year after:
 * "June 30", "30 June 2020", "the 30th of June". */
static step_t
day_of_month(scan_t *s, numctx_t *x, cand_t *c, int mo, size_t e)
{
    c->type = RESULT_DATE;
    c->kind = K_DAYMONTH;
    c->month = mo;
    c->end = e;
    size_t ye;
    int y = year_after(s, e, &ye);
    if (y) {
        c->year = y;
        c->end = ye;
        iso_ymd(c->iso, sizeof c->iso, y, mo, (int)x->m.ip);
    } else {
        iso_md(c->iso, sizeof c->iso, mo, (int)x->m.ip);
    }
    return give(x, c->end);
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
        if (b == '_')
            return give(x, skip_run(s, p));
        if (fig_lex_is_alpha(b)) {
            if (!missing_blank(s, p))
                return give(x, skip_run(s, p));
            unglue = true;
        }
        if ((b == '.' || b == '/' || b == '\\') && p >= 2 && is_alnum(t[p - 2]))
            return give(x, skip_run(s, p));
        size_t dl = fig_lex_dash_before(t, p);
        if (dl && p > dl && fig_lex_is_alpha(t[p - dl - 1]) &&
            !after_suffix_dash(s, p, dl)) {
            size_t ws, we;
            if (fig_lex_prev_word(t, p - dl, &ws, &we) && we == p - dl &&
                word_in_list(s, ws, we, s->lex->fig_year_prefixes)) {
                x->pfx = true;
                x->pfx_start = ws;
            } else {
                return give(x, skip_run(s, p));
            }
        }
    }
    size_t q;
    if (!parse_num(s, p, &x->m, &q))
        return give(x, q);
    if (unglue && skip_run(s, p) != q)
        return give(x, skip_run(s, p));
    x->q = q;
    c->num = x->m.val;
    c->start = x->pfx ? x->pfx_start : p;
    c->end = q;
    return NEXT;
}

/* "14:30", "9:15 pm": a TIME; other colons end the token. */
static step_t
pat_clock(scan_t *s, numctx_t *x, cand_t *c)
{
    const unsigned char *t = s->t;
    size_t n = s->n, q = x->q;
    const num_t *m = &x->m;
    if (!(t[q] == ':' && is_int(m) && !m->sep && m->intdig <= 2 &&
          digit_at(s, q + 1) && digit_at(s, q + 2) && !digit_at(s, q + 3) &&
          !alpha_at(s, q + 3)))
        return NEXT;
    int hh = (int)m->ip;
    int mm = (t[q + 1] - '0') * 10 + (t[q + 2] - '0');
    if (hh > 24 || mm >= 60)
        return give(x, skip_run(s, q + 1));
    size_t e = q + 3;
    size_t a = fig_lex_skip_blanks(t, n, e);
    const fig_word_t *w;
    size_t pe =
        fig_lex_match_table(s->lx, t, n, a, s->lex->fig_clock_words, false, &w);
    if (pe && w->norm[0] == 'p') {
        if (hh < 12)
            hh += 12;
        e = pe;
    } else if (pe && w->norm[0] == 'a') {
        if (hh == 12)
            hh = 0;
        e = pe;
    }
    c->type = RESULT_TIME;
    snprintf(c->iso, sizeof c->iso, "%02d:%02d", hh, mm);
    c->end = e;
    return give(x, e);
}

/* A dash and another number: "2011-11-25" (a DATE), "2020-2024" (an ISO
 * interval), else a range whose ends are linked ("3-4 percent"). */
static step_t
pat_dash(scan_t *s, numctx_t *x, cand_t *c)
{
    const unsigned char *t = s->t;
    size_t n = s->n, q = x->q;
    const num_t *m = &x->m;
    size_t dl = fig_lex_dash(t, n, q);
    if (!dl || !digit_at(s, q + dl))
        return NEXT;
    num_t m2;
    size_t q2;
    bool ok2 = parse_num(s, q + dl, &m2, &q2);
    if (ok2 && is_yearish(m) && dl == 1 && m2.intdig == 2 && !m2.dec &&
        q2 + 3 <= n && t[q2] == '-' && digit_at(s, q2 + 1) &&
        digit_at(s, q2 + 2) && !digit_at(s, q2 + 3) && !alpha_at(s, q2 + 3)) {
        int mo = (int)m2.ip;
        int d = (t[q2 + 1] - '0') * 10 + (t[q2 + 2] - '0');
        if (mo >= 1 && mo <= 12 && d >= 1 && d <= 31) {
            c->type = RESULT_DATE;
            iso_ymd(c->iso, sizeof c->iso, (int)m->ip, mo, d);
            c->end = q2 + 3;
            return give(x, c->end);
        }
    }
    if (ok2 && is_yearish(m) && !alpha_at(s, q2) && !m2.dec && !m2.sep) {
        uint64_t y2 = m2.ip;
        if (m2.intdig == 2)
            y2 += m->ip / 100 * 100;
        if ((m2.intdig == 4 || m2.intdig == 2) && y2 > m->ip && y2 <= 2100) {
            c->type = RESULT_DATE;
            snprintf(c->iso, sizeof c->iso, "%04d/%04d", (int)m->ip, (int)y2);
            c->end = q2;
            return give(x, q2);
        }
    }
    c->flags |= F_LINK;
    c->link = q + dl;
    return NEXT;
}

/* "2019/2020" (consecutive years) is a DATE; other fractions and codes
 * are no figures. */
static step_t
pat_slash(scan_t *s, numctx_t *x, cand_t *c)
{
    const unsigned char *t = s->t;
    size_t q = x->q;
    const num_t *m = &x->m;
    if (t[q] != '/' || !digit_at(s, q + 1))
        return NEXT;
    num_t m2;
    size_t q2;
    if (parse_num(s, q + 1, &m2, &q2) && is_yearish(m) && !alpha_at(s, q2) &&
        !m2.dec && !m2.sep && (m2.intdig == 4 || m2.intdig == 2)) {
        uint64_t y2 = m2.intdig == 2 ? m2.ip + m->ip / 100 * 100 : m2.ip;
        if (y2 == m->ip + 1) {
            c->type = RESULT_DATE;
            snprintf(c->iso, sizeof c->iso, "%04d/%04d", (int)m->ip, (int)y2);
            c->end = q2;
            return give(x, q2);
        }
    }
    return give(x, skip_run(s, q));
}

/* "the 90s", "late 80s": a word before a two-digit decade at p that makes
 * it one of the twentieth century. */
static bool
decade_word(const scan_t *s, size_t p)
{
    size_t ws, we;
    return fig_lex_blank_before(s->t, p) &&
           fig_lex_prev_word(s->t, p, &ws, &we) &&
           (fig_lex_word_is(s->t, ws, we, "the") ||
            fig_lex_word_is(s->t, ws, we, "early") ||
            fig_lex_word_is(s->t, ws, we, "late"));
}

/* Letters glued to the number: "30th" (a day after or before a month, or
 * an ORDINAL), "1990s" and "'90s" (decades), "5pm", then glued scales and
 * units ("5bn", "$5m", "10km"); any other letters make it no figure. */
static step_t
pat_suffix(scan_t *s, numctx_t *x, cand_t *c)
{
    const unsigned char *t = s->t;
    size_t n = s->n, q = x->q, p = x->p;
    const num_t *m = &x->m;
    if (!fig_lex_is_alpha(t[q]))
        return NEXT;
    size_t e = q;
    while (e < n && fig_lex_is_alpha(t[e]))
        e++;
    size_t wl = e - q;
    bool tail_ok = !(e < n && (fig_lex_is_digit(t[e]) || t[e] == '_'));
    if (tail_ok && is_int(m) &&
        fig_lex_word_in(s->lx, t, q, e, s->lex->fig_ordinal_suffixes) >= 0) {
        size_t ms;
        int mo = month_before(s, p, &ms);
        if (mo && m->ip >= 1 && m->ip <= 31) {
            c->start = ms;
            return day_of_month(s, x, c, mo, e);
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
            return day_of_month(s, x, c, (int)mw->num, me);
        c->type = RESULT_ORDINAL;
        c->end = e;
        return give(x, e);
    }
    if (tail_ok && wl == 1 && (t[q] == 's') && is_int(m) && !m->sep &&
        m->ip % 10 == 0 &&
        (m->intdig == 4 ||
         (m->intdig == 2 && p > 0 && (t[p - 1] == '\'' || t[p - 1] == 0x99)) ||
         (m->intdig == 2 && m->ip >= 30 && (x->pfx || decade_word(s, p))))) {
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
        return give(x, e);
    }
    int cw;
    if (tail_ok && is_int(m) && m->ip >= 1 && m->ip <= 12 &&
        (cw = fig_lex_word_in(s->lx, t, q, e, s->lex->fig_clock_words)) >= 0 &&
        s->lex->fig_clock_words[cw].norm[0] != 'o') {
        int hh = (int)m->ip % 12 + ((t[q] | 0x20) == 'p' ? 12 : 0);
        c->type = RESULT_TIME;
        snprintf(c->iso, sizeof c->iso, "%02d:00", hh);
        c->end = e;
        return give(x, e);
    }
    /* "70years": a duration word glued to the number (a missing blank) */
    const fig_word_t *w;
    if (tail_ok && !is_yearish(m) &&
        fig_lex_match_table(s->lx, t, n, q, s->lex->fig_durations, false, &w) ==
            e) {
        x->glued = true;
        return LOOKAHEAD;
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
            return give(x, skip_run(s, p));
        return PREFIX;
    }
    c->end = after;
    x->q = after;
    return LOOKAHEAD;
}

/* "7.5%": a PERCENT. */
static step_t
pat_percent_sign(scan_t *s, numctx_t *x, cand_t *c)
{
    if (s->t[x->q] != '%')
        return NEXT;
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
    if (b == se || !digit_at(s, b) || !parse_num(s, b, &m2, &q2) || m2.dec ||
        m2.ip >= 1000)
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
        return PREFIX;
    if (!(c->flags & F_SCALE))
        return NEXT;
    size_t ps;
    const char *cur = money_prefix(s, x->p, &ps);
    if (cur) {
        c->type = RESULT_MONEY;
        c->unit = cur;
        c->start = ps;
    } else {
        c->type = RESULT_CARDINAL;
    }
    return DONE;
}

/* A month before the number: "June 30 [, 2020]" (a day) or "June 2020". */
static step_t
pat_month_day(scan_t *s, numctx_t *x, cand_t *c)
{
    const num_t *m = &x->m;
    size_t ms;
    int mo = month_before(s, x->p, &ms);
    if (mo && is_int(m) && !m->sep && m->intdig <= 2 && m->ip >= 1 &&
        m->ip <= 31) {
        c->start = ms;
        return day_of_month(s, x, c, mo, x->q);
    }
    if (mo && is_yearish(m)) {
        c->type = RESULT_DATE;
        c->start = ms;
        snprintf(c->iso, sizeof c->iso, "%04d-%02d", (int)m->ip, mo);
        return give(x, c->end);
    }
    return NEXT;
}

/* A small number before a month ("30 June [2020]") or a clock word ("5
 * pm", "7 o'clock"). */
static step_t
pat_day_month_clock(scan_t *s, numctx_t *x, cand_t *c)
{
    const unsigned char *t = s->t;
    size_t n = s->n, a = x->a;
    const num_t *m = &x->m;
    const fig_word_t *w;
    size_t te;
    /* "3.35 pm": a dot between hours and minutes */
    if (!x->hyph && a > x->q && m->dec && !(c->flags & F_SCALE) &&
        m->intdig <= 2 && m->ip >= 1 && m->ip <= 12 &&
        m->end - m->start == (size_t)m->intdig + 3 &&
        (te = fig_lex_match_table(s->lx, t, n, a, s->lex->fig_clock_words,
                                  false, &w)) &&
        w->norm[0] != 'o') {
        int mm = (t[m->end - 2] - '0') * 10 + (t[m->end - 1] - '0');
        if (mm < 60) {
            int hh = (int)m->ip % 12 + (w->norm[0] == 'p' ? 12 : 0);
            c->type = RESULT_TIME;
            snprintf(c->iso, sizeof c->iso, "%02d:%02d", hh, mm);
            c->end = te;
            return give(x, te);
        }
    }
    if (x->hyph || a <= x->q || !is_int(m) || m->sep || m->intdig > 2)
        return NEXT;
    size_t me =
        fig_lex_match_table(s->lx, t, n, a, s->lex->fig_months, false, &w);
    if (me && m->ip >= 1 && m->ip <= 31)
        return day_of_month(s, x, c, (int)w->num, me);
    if (m->ip >= 1 && m->ip <= 12 &&
        (te = fig_lex_match_table(s->lx, t, n, a, s->lex->fig_clock_words,
                                  false, &w))) {
        int hh = (int)m->ip % 12;
        if (w->norm[0] == 'p')
            hh += 12;
        else if (w->norm[0] == 'o' && hh < 7)
            hh += 12; /* "7 o'clock" is evening, "9 o'clock" morning */
        c->type = RESULT_TIME;
        snprintf(c->iso, sizeof c->iso, "%02d:00", hh);
        c->end = te;
        return give(x, te);
    }
    return NEXT;
}

/* A duration: "25 years" (DATE P25Y), "24 hours" (TIME PT24H), with "ago",
 * "-old", "past"/"last"/"next", or "first 6 months of 2018". */
static step_t
pat_duration(scan_t *s, numctx_t *x, cand_t *c)
{
    const unsigned char *t = s->t;
    size_t n = s->n;
    if ((x->a <= x->q && !x->glued) || is_yearish(&x->m))
        return NEXT;
    const fig_word_t *w;
    size_t de = fig_lex_match_table(s->lx, t, n, x->a, s->lex->fig_durations,
                                    false, &w);
    if (!de)
        return NEXT;
    bool tm = w->norm[0] >= 'a';
    c->type = tm ? RESULT_TIME : RESULT_DATE;
    c->kind = K_DUR;
    c->dur = w->norm;
    c->durmul = w->num;
    snprintf(c->iso, sizeof c->iso, "%s%g%c", tm ? "PT" : "P",
             x->m.val * w->num, tm ? w->norm[0] - 32 : w->norm[0]);
    c->end = de;
    if (first_months_after(s, c, &x->m, w, de))
        return give(x, c->end);
    size_t b = fig_lex_skip_blanks(t, n, de);
    size_t ae = b > de ? fig_lex_match(t, n, b, "ago", false) : 0;
    if (ae)
        c->end = ae;
    else if (x->hyph && de + 4 <= n && t[de] == '-' &&
             (ae = fig_lex_match(t, n, de + 1, "old", false)))
        c->end = ae;
    else
        period_before(s, c); /* "past 25 years" */
    return give(x, c->end);
}

/* "the 2014 Winter Olympics", "the 2018 FIFA World Cup": a year between
 * "the" and a capitalised word (not a month) at a is part of a name. */
static bool
year_in_name(const scan_t *s, size_t p, size_t a)
{
    size_t ws, we;
    if (a >= s->n || !(s->t[a] >= 'A' && s->t[a] <= 'Z') ||
        fig_lex_blank_before(s->t, p) == 0 ||
        !fig_lex_prev_word(s->t, p, &ws, &we) ||
        !fig_lex_word_is(s->t, ws, we, "the"))
        return false;
    size_t e = a;
    while (e < s->n && fig_lex_is_alpha(s->t[e]))
        e++;
    return fig_lex_word_in(s->lx, s->t, a, e, s->lex->fig_months) < 0;
}

/* A year: from 1900, or after a word of fig_year_preps, or "mid-";
 * with its context ("first half of 2020", "Q3 2020", "summer 2014"). A
 * year in a name ("Expo 2017", "Russia 2018 Organising Committee", "the
 * 2014 Winter Olympics") is no figure. */
static step_t
pat_year(scan_t *s, numctx_t *x, cand_t *c)
{
    if (!is_yearish(&x->m))
        return NEXT;
    if (!x->pfx && !(c->flags & F_LINK) &&
        (name_before(s, x->p) || (x->a > x->q && year_in_name(s, x->p, x->a))))
        return give(x, skip_run(s, x->q));
    size_t ws, we;
    bool prep = fig_lex_prev_word(s->t, c->start, &ws, &we) &&
                word_in_list(s, ws, we, s->lex->fig_year_preps);
    if (!(x->m.ip >= 1900 || prep || x->pfx))
        return NEXT;
    c->type = RESULT_DATE;
    c->kind = K_YEAR;
    size_t st = c->start;
    year_context(s, x->p, (int)x->m.ip, c);
    if (x->pfx)
        c->start = st;
    return give(x, c->end);
}

/* A currency sign or code before a plain number: MONEY. */
static step_t
pat_money_sign(scan_t *s, numctx_t *x, cand_t *c)
{
    size_t ps;
    const char *cur = money_prefix(s, x->p, &ps);
    if (!cur)
        return NEXT;
    c->type = RESULT_MONEY;
    c->unit = cur;
    c->start = ps;
    return DONE;
}

/* Anything else is a CARDINAL, unless a small number is part of a name
 * ("Nord Stream 2", "Article 15"). */
static step_t
pat_cardinal(scan_t *s, numctx_t *x, cand_t *c)
{
    const num_t *m = &x->m;
    if (x->pfx)
        c->start = x->p;
    /* a dash range is no name: "in Afghanistan 14-15 years later" */
    if (is_int(m) && !m->sep && m->intdig <= 3 && !(c->flags & F_LINK) &&
        name_before(s, x->p))
        return give(x, skip_run(s, x->q));
    c->type = RESULT_CARDINAL;
    return DONE;
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

/* A typed number: is it loose ("25.1 a year earlier"), does it link on to
 * another ("157 to 168 million tonnes")? Returns where scanning goes on. */
static size_t
finish_done(scan_t *s, const numctx_t *x, cand_t *c)
{
    if (c->type == RESULT_CARDINAL) {
        if (followed_loosely(s, c->end))
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
    static pattern_fn *const glued[] = { pat_clock, pat_dash, pat_slash,
                                         pat_suffix, pat_percent_sign };
    static pattern_fn *const after[] = {
        pat_unit, pat_month_day,  pat_day_month_clock, pat_duration,
        pat_year, pat_money_sign, pat_cardinal
    };
    numctx_t x = { .p = p };
    memset(c, 0, sizeof *c);
    c->scale = 1;
    step_t st = pat_number(s, &x, c);
    for (size_t i = 0;
         st == NEXT && x.q < s->n && i < sizeof glued / sizeof *glued; i++)
        st = glued[i](s, &x, c);
    if (st == NEXT) {
        scale_word(s, &x, c);
        st = LOOKAHEAD;
    }
    if (st == LOOKAHEAD) {
        lookahead_at(s, &x);
        st = NEXT;
        for (size_t i = 0; st == NEXT && i < sizeof after / sizeof *after; i++)
            st = after[i](s, &x, c);
    }
    switch (st) {
    case RETURN:
        return x.ret;
    case PREFIX:
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
        bool numw =
            fig_lex_word_in(s->lx, t, ws, we, s->lex->fig_numwords) >= 0;
        bool glue = fig_lex_word_is(t, ws, we, "and") ||
                    fig_lex_word_is(t, ws, we, "a") ||
                    fig_lex_word_is(t, ws, we, "half");
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
    emit(s, &c);
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
    emit(s, &c);
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

/* One pass over byte pairs "ll" (million, billion, trillion) and "ce"
 * (percent, per cent): far cheaper than a search per keyword, and hits
 * are rare enough to check one by one. */
static void
scan_spelled(scan_t *s)
{
    const unsigned char *t = s->t;
    size_t n = s->n;
    size_t p = 0;
    /* sixteen positions per step in vector registers (GCC/Clang vector
     * extensions: SSE2 on x86-64, plain code elsewhere) */
    while (p + 18 <= n) {
        /* with the byte after the pair, which spelled_at() needs as well
         * ("illion", "cent"): the frequent "all", "will" and "ice" are no
         * hits (their branches mispredicted) */
        v16_t a, b, c;
        memcpy(&a, t + p, 16);
        memcpy(&b, t + p + 1, 16);
        memcpy(&c, t + p + 2, 16);
        v16_t m = (v16_t)(((a == 'l') & (b == 'l') & (c == 'i')) |
                          ((a == 'c') & (b == 'e') & (c == 'n')));
        /* most blocks hold no hit */
        for (unsigned x = v16_bits(m); x; x &= x - 1)
            spelled_at(s, p + (size_t)__builtin_ctz(x));
        p += 16;
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
            push(s, &c);
        }
        p = e > p ? e : p + 1;
    }
    flush(s);
    scan_spelled(s);
}
