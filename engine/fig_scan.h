/*
 * fig_scan: the figure scanner's state and the calls between its files,
 * internal to the engine: figures.c reads numbers, units and currencies
 * and runs the pattern pipeline, fig_date.c holds the calendar patterns
 * (dates, years, times, durations) and fig_coord.c the coordination of
 * shortened numbers and the emission of figures. Not a public interface.
 */
#ifndef EXCERPT_FIG_SCAN_H
#define EXCERPT_FIG_SCAN_H

#include "../common/result.h"
#include "fig_lex.h"
#include "lexicon.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* More digits than this is not a figure (and could not be exact). */
#define MAX_DIGITS 15
/* Pending coordinated numbers kept at most. */
#define QMAX 8
/* Loose inheritance looks this far (bytes) for the parallel expression. */
#define LOOSE_GAP 160
/* A scaled amount takes the last currency or unit this far (bytes) away. */
#define CARRY_GAP 240

enum { K_PLAIN, K_DAYMONTH, K_DUR, K_YEAR };

#define F_LINK 1u  /* followed by a connector and another number */
#define F_LOOSE 2u /* bare number not followed by a noun */
#define F_SCALE 4u /* carries a scale word (million, bn...) */
#define F_UNIT 8u  /* has its own percent/currency/unit word */
#define F_END 16u  /* ends a linked chain ("38,000-39,000") */

/* A number as written. */
typedef struct num {
    size_t start, end; /* digits span */
    double val;        /* value as written */
    uint64_t ip;       /* integer part */
    int intdig;        /* digits before the decimal point */
    bool sep;          /* thousands separators seen */
    bool dec;          /* decimal part seen */
} num_t;

/* A classified number: a figure to report once its coordination is
 * settled. */
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

/* One figures_scan() call: the text, the output and the coordination
 * state. */
typedef struct scan {
    const fig_lex_t *lx;    /* word tables' index */
    const lexicon_t *lex;   /* the word tables (lx's lexicon) */
    const unsigned char *t; /* input */
    size_t n;               /* input length */
    result_t *r;            /* output */
    size_t emitted;         /* figures added */
    size_t max_figs;        /* cap keeping memory bounded on junk input */
    cand_t q[QMAX];         /* pending coordinated numbers */
    size_t nq;              /* entries in q */
    cand_t last;            /* last emitted figure with unit or scale */
    bool has_last;          /* last is valid */
    size_t count_end;       /* end of the last count with a noun */
    cand_t day;             /* last emitted day of a month */
    bool has_day;           /* day is valid */
    size_t decade_end;      /* end of the last 1900s decade, or 0 */
} scan_t;

/* Small tests the patterns ask of every number. */
static inline bool
is_alnum(unsigned char c)
{
    return fig_lex_is_alpha(c) || fig_lex_is_digit(c);
}

static inline bool
digit_at(const scan_t *s, size_t p)
{
    return p < s->n && fig_lex_is_digit(s->t[p]);
}

static inline bool
alpha_at(const scan_t *s, size_t p)
{
    return p < s->n && fig_lex_is_alpha(s->t[p]);
}

static inline bool
is_int(const num_t *m)
{
    return !m->dec;
}

static inline bool
is_yearish(const num_t *m)
{
    return !m->dec && !m->sep && m->intdig == 4 && m->ip >= 1000 &&
           m->ip <= 2100;
}

/* True when t[ws..we) is a word of table. */
static inline bool
word_in_list(const scan_t *s, size_t ws, size_t we, const fig_word_t *table)
{
    return fig_lex_word_in(s->lx, s->t, ws, we, table) >= 0;
}

/* ---- classify: one function per pattern ---- */

/* What a pattern decided about the number. */
typedef enum step {
    STEP_NEXT,      /* not this pattern: try the next one */
    STEP_RETURN,    /* classified (or dropped): go on at x->ret */
    STEP_LOOKAHEAD, /* a glued scale was read: on with the words after it */
    STEP_PREFIX,    /* a unit was read: take a currency sign before it */
    STEP_DONE       /* typed: finish (coordination links) */
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
    size_t ret;       /* STEP_RETURN: where scanning goes on */
} numctx_t;

/* One pattern of classify (figures.c). */
typedef step_t pattern_fn(scan_t *s, numctx_t *x, cand_t *c);

/* The number is classified (or dropped): scanning goes on at ret. */
static inline step_t
give(numctx_t *x, size_t ret)
{
    x->ret = ret;
    return STEP_RETURN;
}

/* ---- figures.c ---- */

/* End of the alphanumeric token containing p (names like "Su-57b.2"). */
size_t figures_skip_run(const scan_t *s, size_t p);

/* Digit run at p with thousands separators and decimals into *o. False
 * when the token is not a plain number (too many digits, "1.2.3"); *end
 * is then where the junk ends, else where the number ends. */
bool figures_parse_num(const scan_t *s, size_t p, num_t *o, size_t *end);

/* A capitalised word in mid-sentence right before p ("Nord Stream 2",
 * "Article 15"), which makes a small number part of a name. */
bool figures_name_before(const scan_t *s, size_t p);

/* Nothing follows the number ending at p but punctuation, a dash or a
 * word of fig_loose_followers: it may be elliptical ("25.1 a year
 * earlier"). */
bool figures_followed_loosely(const scan_t *s, size_t p);

/* ---- fig_date.c: calendar patterns ---- */

/* "%04d-%02d-%02d" and "--%02d-%02d" into iso[0..cap). */
void fig_date_iso_ymd(char *iso, size_t cap, int y, int m, int d);
void fig_date_iso_md(char *iso, size_t cap, int m, int d);
/* A day: fig_date_iso_ymd(), or fig_date_iso_md() when y is 0 (the year
 * is unknown). */
void fig_date_iso_day(char *iso, size_t cap, int y, int m, int d);

/* A clock time's hour h read with the clock word w (fig_clock_words:
 * "pm", "in the morning", "at night", "o'clock", "Moscow time"), or -1
 * when w does not go with it; its ISO value "Thh:mm" into iso[0..cap). */
int fig_date_clock_hour(int h, const fig_word_t *w);
void fig_date_iso_time(char *iso, size_t cap, int hh, int mm);

/* Month name right before p ("June 30"): returns the month (its word's
 * start in *start), or 0. */
int fig_date_month_before(const scan_t *s, size_t p, size_t *start);

/* The number of x is a day of month mo ending at e, with an optional year
 * after it: "June 30", "30 June 2020", "the 30th of June". */
step_t fig_date_day_of_month(scan_t *s, numctx_t *x, cand_t *c, int mo,
                             size_t e);

/* "the 90s", "late 80s": a word before a two-digit decade at p that makes
 * it one of the twentieth century. */
bool fig_date_decade_word(const scan_t *s, size_t p);

/* Patterns of what is glued to the number (see classify in figures.c):
 * "14:30" (TIME), "2011-11-25", "2020-2024" or a linked range "3-4",
 * "2019/2020". */
step_t fig_date_clock(scan_t *s, numctx_t *x, cand_t *c);
step_t fig_date_dash(scan_t *s, numctx_t *x, cand_t *c);
step_t fig_date_slash(scan_t *s, numctx_t *x, cand_t *c);

/* Patterns of the words around the number: "June 30", "30 June", "5 pm",
 * "25 years" (a duration), a year with its context ("first half of
 * 2020"). */
step_t fig_date_month_day(scan_t *s, numctx_t *x, cand_t *c);
step_t fig_date_day_month_clock(scan_t *s, numctx_t *x, cand_t *c);
step_t fig_date_next_day(scan_t *s, numctx_t *x, cand_t *c);
step_t fig_date_duration(scan_t *s, numctx_t *x, cand_t *c);
step_t fig_date_year(scan_t *s, numctx_t *x, cand_t *c);

/* ---- fig_coord.c: coordination and emission ---- */

/* Add the figure c to the scan's result (nothing for type 0, past the
 * scan's cap, or a value that is not finite). */
void fig_coord_emit(scan_t *s, const cand_t *c);

/* Hand one classified number to the coordination logic, which emits it
 * at once or keeps it until its parallel expression is seen. */
void fig_coord_push(scan_t *s, cand_t *c);

/* Emit every number still waiting. */
void fig_coord_flush(scan_t *s);

/* True when t[from..to) is blanks around a dash or a range connector
 * ("11-12", "7 and 9", "2018 to 2020"). */
bool fig_coord_range_gap(const scan_t *s, size_t from, size_t to);

#endif
