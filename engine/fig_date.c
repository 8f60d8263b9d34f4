/*
 * fig_date: the calendar patterns of the figure scanner: days of a month,
 * years with their context ("first half of 2020", "summer 2014"), year
 * ranges and ISO dates, clock times and durations ("25 years ago"), each
 * with its ISO 8601 value.
 */
#include "fig_scan.h"

#include <stdio.h>
#include <string.h>

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
void
fig_date_iso_ymd(char *iso, size_t cap, int y, int m, int d)
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
void
fig_date_iso_md(char *iso, size_t cap, int m, int d)
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

void
fig_date_iso_day(char *iso, size_t cap, int y, int m, int d)
{
    if (y)
        fig_date_iso_ymd(iso, cap, y, m, d);
    else
        fig_date_iso_md(iso, cap, m, d);
}

int
fig_date_clock_hour(int h, const fig_word_t *w)
{
    if (!w->norm || h < 0 || h > 24)
        return -1;
    char k = w->norm[0];
    if (k == 'z') /* "Moscow time": a 24-hour clock */
        return h;
    if (h == 0 || h > 12) /* "14:30 pm": already a 24-hour clock */
        return h;
    switch (k) {
    case 'a':
        return h % 12;
    case 'p':
        return h % 12 + 12;
    case 'n': /* "10.00 at night" is 22:00, "2.30 at night" 02:30 */
        return h >= 6 ? (h + 12) % 24 : h;
    case 'o': /* "3 o'clock" is afternoon, "7 o'clock" morning */
        return h % 12 < 7 ? h % 12 + 12 : h % 12;
    default:
        return -1;
    }
}

/* "T%02d:%02d" */
void
fig_date_iso_time(char *iso, size_t cap, int hh, int mm)
{
    if (cap < 7 || hh < 0 || hh > 99 || mm < 0 || mm > 99) {
        snprintf(iso, cap, "T%02d:%02d", hh, mm);
        return;
    }
    char *p = iso;
    *p++ = 'T';
    p = put_digits(p, hh, 2);
    *p++ = ':';
    *put_digits(p, mm, 2) = '\0';
}

/* Month name right before p ("June 30"): returns month or 0. */
int
fig_date_month_before(const scan_t *s, size_t p, size_t *start)
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
 * three months are Q1, six H1, one its month ("2017-01"); any other count
 * has no name of its own and is the year, as "the end of 2020" is (the
 * tune gold's "first 11 months of 2017" -> "2017"). */
static void
first_months_iso(char *iso, size_t cap, int year, int months)
{
    if (months == 3)
        snprintf(iso, cap, "%04d-Q1", year);
    else if (months == 6)
        snprintf(iso, cap, "%04d-H1", year);
    else if (months == 1)
        snprintf(iso, cap, "%04d-01", year);
    else
        iso_y(iso, cap, year);
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
    /* "the third quarter of 2024", and without "of" ("the third quarter
     * 2024"), which only a half or a quarter takes */
    bool of = fig_lex_word_is(t, w1s, w1e, "of");
    if (!of) {
        w2s = w1s;
        w2e = w1e;
    } else if (!fig_lex_prev_word(t, w1s, &w2s, &w2e)) {
        return;
    }
    if (of && word_in_list(s, w2s, w2e, s->lex->fig_year_edges)) {
        c->start = w2s;
        return;
    }
    /* "first six months of 2018": a spelled count of months (a count in
     * digits is found from the number, see first_months_after) */
    if (of && fig_lex_word_is(t, w2s, w2e, "months") &&
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
    if (k < 0) /* "last quarter of 2019": the year's last part */
        k = half ? 2 : 4;
    if (k < 1 || (half && k > 2))
        return;
    snprintf(c->iso, sizeof c->iso, "%04d-%c%d", year, half ? 'H' : 'Q', k);
    c->start = w3s;
}

/* A day of month mo at x (its end at e), with an optional year after:
 * "June 30", "30 June 2020", "the 30th of June". */
step_t
fig_date_day_of_month(scan_t *s, numctx_t *x, cand_t *c, int mo, size_t e)
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
    }
    fig_date_iso_day(c->iso, sizeof c->iso, y, mo, (int)x->m.ip);
    return give(x, c->end);
}

/* "14:30", "9:15 pm": a TIME; other colons end the token. */
step_t
fig_date_clock(scan_t *s, numctx_t *x, cand_t *c)
{
    const unsigned char *t = s->t;
    size_t n = s->n, q = x->q;
    const num_t *m = &x->m;
    if (!(t[q] == ':' && is_int(m) && !m->sep && m->intdig <= 2 &&
          digit_at(s, q + 1) && digit_at(s, q + 2) && !digit_at(s, q + 3) &&
          !alpha_at(s, q + 3)))
        return STEP_NEXT;
    int hh = (int)m->ip;
    int mm = (t[q + 1] - '0') * 10 + (t[q + 2] - '0');
    if (hh > 24 || mm >= 60)
        return give(x, figures_skip_run(s, q + 1));
    size_t e = q + 3;
    size_t a = fig_lex_skip_blanks(t, n, e);
    const fig_word_t *w;
    size_t pe =
        fig_lex_match_table(s->lx, t, n, a, s->lex->fig_clock_words, false, &w);
    int h2 = pe && w->norm[0] != 'o' ? fig_date_clock_hour(hh, w) : -1;
    if (h2 >= 0) {
        hh = h2;
        e = pe;
    }
    c->type = RESULT_TIME;
    fig_date_iso_time(c->iso, sizeof c->iso, hh, mm);
    c->end = e;
    return give(x, e);
}

/* A dash and another number: "2011-11-25" (a DATE), "2020-2024" (an ISO
 * interval), else a range whose ends are linked ("3-4 percent"). */
step_t
fig_date_dash(scan_t *s, numctx_t *x, cand_t *c)
{
    const unsigned char *t = s->t;
    size_t n = s->n, q = x->q;
    const num_t *m = &x->m;
    size_t dl = fig_lex_dash(t, n, q);
    if (!dl || !digit_at(s, q + dl))
        return STEP_NEXT;
    num_t m2;
    size_t q2;
    bool ok2 = figures_parse_num(s, q + dl, &m2, &q2);
    if (ok2 && is_yearish(m) && dl == 1 && m2.intdig == 2 && !m2.dec &&
        q2 + 3 <= n && t[q2] == '-' && digit_at(s, q2 + 1) &&
        digit_at(s, q2 + 2) && !digit_at(s, q2 + 3) && !alpha_at(s, q2 + 3)) {
        int mo = (int)m2.ip;
        int d = (t[q2 + 1] - '0') * 10 + (t[q2 + 2] - '0');
        if (mo >= 1 && mo <= 12 && d >= 1 && d <= 31) {
            c->type = RESULT_DATE;
            fig_date_iso_ymd(c->iso, sizeof c->iso, (int)m->ip, mo, d);
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
    return STEP_NEXT;
}

/* "2019/2020" (consecutive years) is a DATE; other fractions and codes
 * are no figures. */
step_t
fig_date_slash(scan_t *s, numctx_t *x, cand_t *c)
{
    const unsigned char *t = s->t;
    size_t q = x->q;
    const num_t *m = &x->m;
    if (t[q] != '/' || !digit_at(s, q + 1))
        return STEP_NEXT;
    num_t m2;
    size_t q2;
    if (figures_parse_num(s, q + 1, &m2, &q2) && is_yearish(m) &&
        !alpha_at(s, q2) && !m2.dec && !m2.sep &&
        (m2.intdig == 4 || m2.intdig == 2)) {
        uint64_t y2 = m2.intdig == 2 ? m2.ip + m->ip / 100 * 100 : m2.ip;
        if (y2 == m->ip + 1) {
            c->type = RESULT_DATE;
            snprintf(c->iso, sizeof c->iso, "%04d/%04d", (int)m->ip, (int)y2);
            c->end = q2;
            return give(x, q2);
        }
    }
    return give(x, figures_skip_run(s, q));
}

/* "the 90s", "late 80s": a word before a two-digit decade at p that makes
 * it one of the twentieth century. */
bool
fig_date_decade_word(const scan_t *s, size_t p)
{
    size_t ws, we;
    return fig_lex_blank_before(s->t, p) &&
           fig_lex_prev_word(s->t, p, &ws, &we) &&
           (fig_lex_word_is(s->t, ws, we, "the") ||
            fig_lex_word_is(s->t, ws, we, "early") ||
            fig_lex_word_is(s->t, ws, we, "late"));
}

/* "January-March 2018": an earlier month and a dash before the month at
 * ms, which starts a range of months: returns that month (its start in
 * *start), or 0. */
static int
month_range_start(const scan_t *s, size_t ms, int mo, size_t *start)
{
    size_t q = fig_lex_skip_blanks_back(s->t, ms);
    size_t dl = fig_lex_dash_before(s->t, q);
    size_t ws, we;
    if (!dl || !fig_lex_prev_word(s->t, q - dl, &ws, &we) ||
        fig_lex_skip_blanks_back(s->t, q - dl) != we)
        return 0;
    int i = fig_lex_word_in(s->lx, s->t, ws, we, s->lex->fig_months);
    if (i < 0 || (int)s->lex->fig_months[i].num >= mo)
        return 0;
    *start = ws;
    return (int)s->lex->fig_months[i].num;
}

/* A month before the number: "June 30 [, 2020]" (a day), "June 2020" or
 * "January-March 2018" (an interval of months). */
step_t
fig_date_month_day(scan_t *s, numctx_t *x, cand_t *c)
{
    const num_t *m = &x->m;
    size_t ms;
    int mo = fig_date_month_before(s, x->p, &ms);
    if (mo && is_int(m) && !m->sep && m->intdig <= 2 && m->ip >= 1 &&
        m->ip <= 31) {
        c->start = ms;
        return fig_date_day_of_month(s, x, c, mo, x->q);
    }
    if (mo && is_yearish(m)) {
        c->type = RESULT_DATE;
        c->start = ms;
        size_t rs;
        int mo1 = month_range_start(s, ms, mo, &rs);
        if (mo1) {
            c->start = rs;
            snprintf(c->iso, sizeof c->iso, "%04d-%02d/%04d-%02d", (int)m->ip,
                     mo1, (int)m->ip, mo);
        } else {
            snprintf(c->iso, sizeof c->iso, "%04d-%02d", (int)m->ip, mo);
        }
        return give(x, c->end);
    }
    return STEP_NEXT;
}

/* "June 11-12, 2013", "May 7 and 9": a small number after the last day
 * of a month and a dash or range word (no comma: "On June 12, 15 died")
 * is another day of that month, in the year written after it or that of
 * the first day, unless a noun follows ("June 11-12 people"). */
step_t
fig_date_next_day(scan_t *s, numctx_t *x, cand_t *c)
{
    const num_t *m = &x->m;
    const cand_t *y = &s->day;
    if (!s->has_day || x->hyph || (c->flags & F_SCALE) || !is_int(m) ||
        m->sep || m->intdig > 2 || m->ip < 1 || m->ip > 31 || y->end > x->p ||
        x->p - y->end > 16)
        return STEP_NEXT;
    if (!fig_coord_range_gap(s, y->end, x->p))
        return STEP_NEXT;
    size_t ye;
    int yr = year_after(s, x->q, &ye);
    if (!yr && !figures_followed_loosely(s, x->q))
        return STEP_NEXT;
    c->type = RESULT_DATE;
    c->kind = K_DAYMONTH;
    c->month = y->month;
    c->year = yr ? yr : y->year;
    c->end = yr ? ye : x->q;
    fig_date_iso_day(c->iso, sizeof c->iso, c->year, c->month, (int)m->ip);
    return give(x, c->end);
}

/* A small number before a month ("30 June [2020]") or a clock word ("5
 * pm", "7 o'clock"). */
step_t
fig_date_day_month_clock(scan_t *s, numctx_t *x, cand_t *c)
{
    const unsigned char *t = s->t;
    size_t n = s->n, a = x->a;
    const num_t *m = &x->m;
    const fig_word_t *w;
    size_t te;
    /* "3.35 pm", "7.20 this morning": a dot between hours and minutes */
    if (!x->hyph && a > x->q && m->dec && !(c->flags & F_SCALE) &&
        m->intdig <= 2 && m->ip <= 23 &&
        m->end - m->start == (size_t)m->intdig + 3 &&
        (te = fig_lex_match_table(s->lx, t, n, a, s->lex->fig_clock_words,
                                  false, &w)) &&
        w->norm[0] != 'o') {
        int mm = (t[m->end - 2] - '0') * 10 + (t[m->end - 1] - '0');
        int hh = fig_date_clock_hour((int)m->ip, w);
        if (mm < 60 && hh >= 0) {
            c->type = RESULT_TIME;
            fig_date_iso_time(c->iso, sizeof c->iso, hh, mm);
            c->end = te;
            return give(x, te);
        }
    }
    if (x->hyph || a <= x->q || !is_int(m) || m->sep || m->intdig > 2)
        return STEP_NEXT;
    size_t me =
        fig_lex_match_table(s->lx, t, n, a, s->lex->fig_months, false, &w);
    if (me && m->ip >= 1 && m->ip <= 31)
        return fig_date_day_of_month(s, x, c, (int)w->num, me);
    /* "5 pm", "7 o'clock"; a part of the day ("this morning") or a time
     * zone (number 1 in fig_clock_words) follows only a time with its
     * minutes ("we had 5 this morning" is a count) */
    int hh;
    if (m->ip >= 1 && m->ip <= 12 &&
        (te = fig_lex_match_table(s->lx, t, n, a, s->lex->fig_clock_words,
                                  false, &w)) &&
        w->num == 0 && (hh = fig_date_clock_hour((int)m->ip, w)) >= 0) {
        c->type = RESULT_TIME;
        fig_date_iso_time(c->iso, sizeof c->iso, hh, 0);
        c->end = te;
        return give(x, te);
    }
    return STEP_NEXT;
}

/* A duration: "25 years" (DATE P25Y), "24 hours" (TIME PT24H), with "ago",
 * "-old", "past"/"last"/"next", or "first 6 months of 2018". */
step_t
fig_date_duration(scan_t *s, numctx_t *x, cand_t *c)
{
    const unsigned char *t = s->t;
    size_t n = s->n;
    if ((x->a <= x->q && !x->glued) || is_yearish(&x->m))
        return STEP_NEXT;
    const fig_word_t *w;
    size_t de = fig_lex_match_table(s->lx, t, n, x->a, s->lex->fig_durations,
                                    false, &w);
    if (!de)
        return STEP_NEXT;
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

/* The line holding p is a headline: it ends in no full stop, question or
 * exclamation mark or colon ("Meeting on preparations for 2014 Winter
 * Olympics in Sochi"). Headlines drop their articles. */
static bool
in_headline(const scan_t *s, size_t p)
{
    const unsigned char *nl = memchr(s->t + p, '\n', s->n - p);
    size_t e = nl ? (size_t)(nl - s->t) : s->n;
    while (e > p && (s->t[e - 1] == ' ' || s->t[e - 1] == '\r'))
        e--;
    unsigned char c = s->t[e - 1];
    return c != '.' && c != '?' && c != '!' && c != ':';
}

/* "the 2014 Winter Olympics", "the 2018 FIFA World Cup": a year between
 * "the" (or anything, in a headline) and a capitalised word (not a month)
 * at a is part of a name. */
static bool
year_in_name(const scan_t *s, size_t p, size_t a)
{
    size_t ws, we;
    if (a >= s->n || !(s->t[a] >= 'A' && s->t[a] <= 'Z'))
        return false;
    if (!(fig_lex_blank_before(s->t, p) &&
          fig_lex_prev_word(s->t, p, &ws, &we) &&
          fig_lex_word_is(s->t, ws, we, "the")) &&
        !in_headline(s, p))
        return false;
    size_t e = a;
    while (e < s->n && fig_lex_is_alpha(s->t[e]))
        e++;
    if (fig_lex_word_in(s->lx, s->t, a, e, s->lex->fig_months) >= 0)
        return false;
    /* under 1900 it is an identifier ("the 1432 Programme") */
    if (s->t[p] == '1' && s->t[p + 1] < '9')
        return true;
    /* the name of an event ("2018 FIFA World Cup", "2014 Winter Olympic
     * and Paralympic Games"), not a thing of a year ("the 2015
     * Presidential Prize", "the 2016 Union budget") */
    for (int k = 0; k < 8; k++) {
        if (word_in_list(s, a, e, s->lex->fig_event_heads))
            return true;
        /* "Men's World Boxing Championship" */
        if (e + 1 < s->n && s->t[e] == '\'' && s->t[e + 1] == 's')
            e += 2;
        else if (e + 3 < s->n && s->t[e] == 0xE2 && s->t[e + 1] == 0x80 &&
                 s->t[e + 2] == 0x99 && s->t[e + 3] == 's')
            e += 4;
        size_t b = fig_lex_skip_blanks(s->t, s->n, e);
        if (b == e || b >= s->n || !fig_lex_is_alpha(s->t[b]))
            return false;
        a = b;
        for (e = a; e < s->n && fig_lex_is_alpha(s->t[e]); e++)
            ;
        if (!(s->t[a] >= 'A' && s->t[a] <= 'Z') &&
            !fig_lex_word_is(s->t, a, e, "and"))
            return false;
    }
    return false;
}

/* The word at a has a capital after its first letter ("2019-nCoV"): a
 * code, of which a number joined to it by a hyphen is part. */
static bool
inner_capital(const scan_t *s, size_t a)
{
    for (size_t e = a + 1; e < s->n && fig_lex_is_alpha(s->t[e]); e++)
        if (s->t[e] >= 'A' && s->t[e] <= 'Z')
            return true;
    return false;
}

/* "around 2000 companies", "more than 2000 social workers": a word of
 * fig_count_approximators right before the number and a word after it
 * that is not one of fig_loose_followers make it a count ("around 2008,
 * we", "by about 2030." are years). */
static bool
approximate_count(const scan_t *s, const numctx_t *x)
{
    size_t ws, we, e;
    if (x->hyph || x->a <= x->q || x->a >= s->n || s->t[x->a] < 'a' ||
        s->t[x->a] > 'z' || fig_lex_blank_before(s->t, x->p) == 0 ||
        !fig_lex_prev_word(s->t, x->p, &ws, &we) ||
        !word_in_list(s, ws, we, s->lex->fig_count_approximators))
        return false;
    for (e = x->a; e < s->n && fig_lex_is_alpha(s->t[e]); e++)
        ;
    return !word_in_list(s, x->a, e, s->lex->fig_loose_followers);
}

/* A year: from 1900, or after a word of fig_year_preps, or "mid-";
 * with its context ("first half of 2020", "Q3 2020", "summer 2014"). A
 * year in a name ("Expo 2017", "Russia 2018 Organising Committee", "the
 * 2014 Winter Olympics") is no figure. */
step_t
fig_date_year(scan_t *s, numctx_t *x, cand_t *c)
{
    if (!is_yearish(&x->m))
        return STEP_NEXT;
    if (!x->pfx && !(c->flags & F_LINK) &&
        (figures_name_before(s, x->p) ||
         (x->a > x->q && year_in_name(s, x->p, x->a))))
        return give(x, figures_skip_run(s, x->q));
    if (x->hyph && inner_capital(s, x->a))
        return give(x, figures_skip_run(s, x->q));
    size_t ws, we, bs, be;
    bool prep = fig_lex_prev_word(s->t, c->start, &ws, &we) &&
                word_in_list(s, ws, we, s->lex->fig_year_preps);
    /* "up to 1000": a count (from 1900 it is a year all the same) */
    if (prep && x->m.ip < 1900 && fig_lex_prev_word(s->t, ws, &bs, &be) &&
        word_in_list(s, bs, be, s->lex->fig_year_prep_blockers))
        prep = false;
    if (!(x->m.ip >= 1900 || prep || x->pfx) || approximate_count(s, x))
        return STEP_NEXT;
    c->type = RESULT_DATE;
    c->kind = K_YEAR;
    size_t st = c->start;
    year_context(s, x->p, (int)x->m.ip, c);
    if (x->pfx)
        c->start = st;
    return give(x, c->end);
}
