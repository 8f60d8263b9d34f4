/*
 * test_figures: the figure scanner on sentences written for these tests:
 * exact type, byte span, value, ISO value and unit for the hard cases,
 * plus hostile input (empty, NUL bytes, invalid UTF-8, truncated UTF-8 at
 * the end, 400-digit numbers, a 50 MB line). Every input is copied into a
 * heap buffer of exactly its length so that ASan catches any overread.
 */
#include "../common/result.h"
#include "../engine/figures.h"
#include "../engine/lexicon.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The word tables' index, built once for the whole group. */
static fig_lex_t *lx;

static int
group_setup(void **state)
{
    (void)state;
    lx = fig_lex_new(lexicon_builtin());
    return lx ? 0 : -1;
}

static int
group_teardown(void **state)
{
    (void)state;
    fig_lex_destroy(&lx);
    return 0;
}

/* Scan the first len bytes of s from an exact-size heap copy. */
static result_t *
scan_n(const char *s, size_t len)
{
    result_t *r = result_new();
    char *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    memcpy(buf, s, len);
    figures_scan(lx, buf, len, r);
    for (size_t i = 0; i < r->n_figures; i++) {
        const result_figure_t *f = &r->figures[i];
        assert_true(f->start < f->end);
        assert_true(f->end <= len);
        assert_memory_equal(f->text, s + f->start, f->end - f->start);
        assert_true(isfinite(f->value));
    }
    free(buf);
    result_finish(r);
    return r;
}

static result_t *
scan(const char *s)
{
    return scan_n(s, strlen(s));
}

/* Byte offset of the nth (0-based) occurrence of text in in. */
static uint32_t
offset_of(const char *in, const char *text, int nth)
{
    const char *p = in;
    for (;;) {
        const char *h = strstr(p, text);
        if (!h)
            fail_msg("'%s' not in input", text);
        if (nth-- == 0)
            return (uint32_t)(h - in);
        p = h + 1;
    }
}

/* The figure covering exactly the nth occurrence of text. */
static const result_figure_t *
find(const result_t *r, const char *in, const char *text, int nth)
{
    uint32_t st = offset_of(in, text, nth);
    uint32_t en = st + (uint32_t)strlen(text);
    for (size_t i = 0; i < r->n_figures; i++)
        if (r->figures[i].start == st && r->figures[i].end == en)
            return &r->figures[i];
    for (size_t i = 0; i < r->n_figures; i++)
        print_message("  have %s '%s' [%u,%u)\n",
                      result_figure_type_name(r->figures[i].type),
                      r->figures[i].text, r->figures[i].start,
                      r->figures[i].end);
    fail_msg("no figure '%s' at [%u,%u)", text, st, en);
    return NULL;
}

/* A numeric figure: type, exact span, value and unit ("" for none). */
static void
num_fig(const result_t *r, const char *in, int type, const char *text, int nth,
        double value, const char *unit)
{
    const result_figure_t *f = find(r, in, text, nth);
    assert_string_equal(result_figure_type_name(f->type),
                        result_figure_type_name(type));
    assert_true(f->has_value);
    if (fabs(f->value - value) > 1e-9 * fmax(1.0, fabs(value)))
        fail_msg("'%s' value %.17g, want %.17g", text, f->value, value);
    assert_string_equal(f->unit, unit);
}

/* A DATE or TIME figure: exact span and ISO value. */
static void
iso_fig(const result_t *r, const char *in, int type, const char *text, int nth,
        const char *iso)
{
    const result_figure_t *f = find(r, in, text, nth);
    assert_string_equal(result_figure_type_name(f->type),
                        result_figure_type_name(type));
    assert_false(f->has_value);
    assert_non_null(f->iso);
    assert_string_equal(f->iso, iso);
}

static void
test_percent_money_half_year(void **state)
{
    (void)state;
    const char *in = "Trade slowed in the first half of 2020 and fell "
                     "compared to 2019 by about 7.5 percent to $6.9 billion.";
    result_t *r = scan(in);
    assert_int_equal(r->n_figures, 4);
    iso_fig(r, in, RESULT_DATE, "first half of 2020", 0, "2020-H1");
    iso_fig(r, in, RESULT_DATE, "2019", 0, "2019");
    num_fig(r, in, RESULT_PERCENT, "7.5 percent", 0, 7.5, "");
    num_fig(r, in, RESULT_MONEY, "$6.9 billion", 0, 6.9e9, "USD");
    result_destroy(&r);
}

static void
test_first_months_of_year(void **state)
{
    (void)state;
    const char *in = "Output rose in the first six months of 2018, in the "
                     "first 3 months of 2019 and in the first nine months of "
                     "2017; the first half of the year was slow, and the "
                     "first 6 months of this year too.";
    result_t *r = scan(in);
    assert_int_equal(r->n_figures, 4);
    iso_fig(r, in, RESULT_DATE, "first six months of 2018", 0, "2018-H1");
    iso_fig(r, in, RESULT_DATE, "first 3 months of 2019", 0, "2019-Q1");
    iso_fig(r, in, RESULT_DATE, "first nine months of 2017", 0, "2017");
    iso_fig(r, in, RESULT_DATE, "6 months", 0, "P6M");
    result_destroy(&r);
}

static void
test_relative_periods(void **state)
{
    (void)state;
    const char *in = "Over the past 25 years and the last 10 years, and for "
                     "the next 5 years; 20 years ago we had 15 years of "
                     "work, and in the past 24 hours, ten years on.";
    result_t *r = scan(in);
    assert_int_equal(r->n_figures, 6);
    iso_fig(r, in, RESULT_DATE, "past 25 years", 0, "P25Y");
    iso_fig(r, in, RESULT_DATE, "last 10 years", 0, "P10Y");
    iso_fig(r, in, RESULT_DATE, "next 5 years", 0, "P5Y");
    iso_fig(r, in, RESULT_DATE, "20 years ago", 0, "P20Y");
    iso_fig(r, in, RESULT_DATE, "15 years", 0, "P15Y");
    iso_fig(r, in, RESULT_TIME, "past 24 hours", 0, "PT24H");
    result_destroy(&r);
}

static void
test_money_forms(void **state)
{
    (void)state;
    const char *in =
        "We set aside 580 billion roubles, 1.6 trillion rubles, "
        "RUB 200 bn, 47,000 rubles [a month], 28 billion [rubles], "
        "3 million yuan, 10 billion tenge, \xe2\x82\xac"
        "5 million, 12 million euros, 2 billion US dollars and "
        "5bn rub. The fund will reach 15 billion. Spending grew to "
        "1,03 trillion rubles.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_MONEY, "580 billion roubles", 0, 580e9, "RUB");
    num_fig(r, in, RESULT_MONEY, "1.6 trillion rubles", 0, 1.6e12, "RUB");
    num_fig(r, in, RESULT_MONEY, "RUB 200 bn", 0, 200e9, "RUB");
    num_fig(r, in, RESULT_MONEY, "47,000 rubles", 0, 47000, "RUB");
    num_fig(r, in, RESULT_MONEY, "28 billion [rubles]", 0, 28e9, "RUB");
    num_fig(r, in, RESULT_MONEY, "3 million yuan", 0, 3e6, "CNY");
    num_fig(r, in, RESULT_MONEY, "10 billion tenge", 0, 10e9, "KZT");
    num_fig(r, in, RESULT_MONEY,
            "\xe2\x82\xac"
            "5 million",
            0, 5e6, "EUR");
    num_fig(r, in, RESULT_MONEY, "12 million euros", 0, 12e6, "EUR");
    num_fig(r, in, RESULT_MONEY, "2 billion US dollars", 0, 2e9, "USD");
    num_fig(r, in, RESULT_MONEY, "5bn rub.", 0, 5e9, "RUB");
    num_fig(r, in, RESULT_MONEY, "1,03 trillion rubles", 0, 1.03e12, "RUB");
    /* money-like amount without a currency: CARDINAL, fully scaled */
    num_fig(r, in, RESULT_CARDINAL, "15 billion", 0, 15e9, "");
    assert_int_equal(r->n_figures, 13);
    result_destroy(&r);
}

/* Currencies come from ISO 4217 (codes, names, plurals) and data/fig/:
 * codes before the amount, irregular plurals, adjective + name forms;
 * three capitals that are not a currency code stay out. */
static void
test_money_iso_forms(void **state)
{
    (void)state;
    const char *in =
        "The bank lent CHF 10 million, 4 billion zlotys, 300 million "
        "Norwegian kroner and BRL 2 billion; the budget had 470 billion "
        "Russian roubles and 98 trillion Uzbek sum, 7 million Swiss francs, "
        "US$3 million and 2 billion Turkish lira. The TOP 10 firms met "
        "SDG 16 too.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_MONEY, "CHF 10 million", 0, 10e6, "CHF");
    num_fig(r, in, RESULT_MONEY, "4 billion zlotys", 0, 4e9, "PLN");
    num_fig(r, in, RESULT_MONEY, "300 million Norwegian kroner", 0, 300e6,
            "NOK");
    num_fig(r, in, RESULT_MONEY, "BRL 2 billion", 0, 2e9, "BRL");
    num_fig(r, in, RESULT_MONEY, "470 billion Russian roubles", 0, 470e9,
            "RUB");
    num_fig(r, in, RESULT_MONEY, "98 trillion Uzbek sum", 0, 98e12, "UZS");
    num_fig(r, in, RESULT_MONEY, "7 million Swiss francs", 0, 7e6, "CHF");
    num_fig(r, in, RESULT_MONEY, "US$3 million", 0, 3e6, "USD");
    num_fig(r, in, RESULT_MONEY, "2 billion Turkish lira", 0, 2e9, "TRY");
    /* "TOP 10", "SDG 16": names, not money */
    assert_int_equal(r->n_figures, 9);
    result_destroy(&r);
}

/* A bare scaled amount parallel to an amount with a currency or unit in
 * the same sentence takes it; one with a noun of its own, one without a
 * parallel word, or one in the next sentence does not. */
static void
test_currency_carried(void **state)
{
    (void)state;
    const char *in =
        "Our limit of 40 billion roubles was raised to 65 billion this "
        "year. Funds fell from 300 million euros to 210 million, and we "
        "spend some 90 billion. Output of 12 million tonnes served 3.2 "
        "million people. Next year we expect 14 billion.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_MONEY, "40 billion roubles", 0, 40e9, "RUB");
    num_fig(r, in, RESULT_MONEY, "65 billion", 0, 65e9, "RUB");
    num_fig(r, in, RESULT_MONEY, "300 million euros", 0, 300e6, "EUR");
    num_fig(r, in, RESULT_MONEY, "210 million", 0, 210e6, "EUR");
    num_fig(r, in, RESULT_CARDINAL, "90 billion", 0, 90e9, "");
    num_fig(r, in, RESULT_QUANTITY, "12 million tonnes", 0, 12e6, "tonne");
    num_fig(r, in, RESULT_CARDINAL, "3.2 million", 0, 3.2e6, "");
    num_fig(r, in, RESULT_CARDINAL, "14 billion", 0, 14e9, "");
    assert_int_equal(r->n_figures, 8);
    result_destroy(&r);
}

/* A bare scaled amount that starts an item of a comma list, or follows
 * "another", is parallel to the amount before it in the sentence; one
 * with a noun of its own is not. */
static void
test_currency_list_items(void **state)
{
    (void)state;
    const char *in =
        "The plan gives 200 billion roubles for roads, 45 billion for "
        "schools and 30 billion roubles for housing. Exports reached $3 "
        "billion and another 2 billion. Sales were 5 billion euros, 40 "
        "million people bought them.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_MONEY, "200 billion roubles", 0, 200e9, "RUB");
    num_fig(r, in, RESULT_MONEY, "45 billion", 0, 45e9, "RUB");
    num_fig(r, in, RESULT_MONEY, "30 billion roubles", 0, 30e9, "RUB");
    num_fig(r, in, RESULT_MONEY, "$3 billion", 0, 3e9, "USD");
    num_fig(r, in, RESULT_MONEY, "2 billion", 0, 2e9, "USD");
    num_fig(r, in, RESULT_MONEY, "5 billion euros", 0, 5e9, "EUR");
    num_fig(r, in, RESULT_CARDINAL, "40 million", 0, 40e6, "");
    assert_int_equal(r->n_figures, 7);
    result_destroy(&r);
}

/* A unit names its scale when the text does ("degrees Celsius", "-40C");
 * a bare "degrees" stays "degree". */
static void
test_temperature_and_yield_units(void **state)
{
    (void)state;
    const char *in = "The yield was 48 quintals per hectare at 25 degrees "
                     "Celsius, and 10 degrees at night; 3 quintals of seed.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_QUANTITY, "48 quintals", 0, 48, "quintal");
    num_fig(r, in, RESULT_QUANTITY, "25 degrees Celsius", 0, 25,
            "degree celsius");
    num_fig(r, in, RESULT_QUANTITY, "10 degrees", 0, 10, "degree");
    num_fig(r, in, RESULT_QUANTITY, "3 quintals", 0, 3, "quintal");
    assert_int_equal(r->n_figures, 4);
    result_destroy(&r);
}

static void
test_negative_numbers(void **state)
{
    (void)state;
    const char *in = "Inflation came in at minus 0.2 percent, deflation of "
                     "-3% was feared, the balance was Minus 12 million and "
                     "nights fell to -40 degrees (-35 degrees in town). "
                     "Prices rose 5 -7 percent, Party \xe2\x80\x93"
                     "17 percent, the well-4 site and the Su-57 jet.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_PERCENT, "minus 0.2 percent", 0, -0.2, "");
    num_fig(r, in, RESULT_PERCENT, "-3%", 0, -3, "");
    num_fig(r, in, RESULT_CARDINAL, "Minus 12 million", 0, -12e6, "");
    num_fig(r, in, RESULT_QUANTITY, "-40 degrees", 0, -40, "degree");
    num_fig(r, in, RESULT_QUANTITY, "-35 degrees", 0, -35, "degree");
    /* a dash after a number, a glued en dash, a dash inside a name: no sign */
    num_fig(r, in, RESULT_PERCENT, "7 percent", 0, 7, "");
    num_fig(r, in, RESULT_PERCENT, "17 percent", 0, 17, "");
    for (size_t i = 0; i < r->n_figures; i++)
        if (r->figures[i].value < 0)
            assert_true(r->figures[i].start < offset_of(in, "Prices", 0));
    result_destroy(&r);
}

static void
test_coordinations(void **state)
{
    (void)state;
    const char *in = "The harvest grew from 157 to 168 million tonnes. "
                     "Growth was 102 or 102.2 percent. "
                     "The share fell from 30 to 15 percent. "
                     "Prices rose 3\xe2\x80\x93"
                     "4 percent, or 5, 6 or 7 percent elsewhere. "
                     "The grant is $5 to $7 billion. "
                     "The share was 29.1 percent, and 25.1 a year earlier. "
                     "It was 1.266 last year, and now we approach 1.6 "
                     "trillion. We met on 29 and 30 June.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_QUANTITY, "157", 0, 157e6, "tonne");
    num_fig(r, in, RESULT_QUANTITY, "168 million tonnes", 0, 168e6, "tonne");
    num_fig(r, in, RESULT_PERCENT, "102", 0, 102, "");
    num_fig(r, in, RESULT_PERCENT, "102.2 percent", 0, 102.2, "");
    num_fig(r, in, RESULT_PERCENT, "30", 0, 30, "");
    num_fig(r, in, RESULT_PERCENT, "15 percent", 0, 15, "");
    num_fig(r, in, RESULT_PERCENT, "3", 1, 3, "");
    num_fig(r, in, RESULT_PERCENT, "4 percent", 0, 4, "");
    num_fig(r, in, RESULT_PERCENT, "5", 2, 5, "");
    num_fig(r, in, RESULT_PERCENT, "6", 1, 6, "");
    num_fig(r, in, RESULT_PERCENT, "7 percent", 0, 7, "");
    num_fig(r, in, RESULT_MONEY, "$5", 0, 5e9, "USD");
    num_fig(r, in, RESULT_MONEY, "$7 billion", 0, 7e9, "USD");
    num_fig(r, in, RESULT_PERCENT, "29.1 percent", 0, 29.1, "");
    num_fig(r, in, RESULT_PERCENT, "25.1", 0, 25.1, "");
    num_fig(r, in, RESULT_CARDINAL, "1.266", 0, 1.266e12, "");
    num_fig(r, in, RESULT_CARDINAL, "1.6 trillion", 0, 1.6e12, "");
    iso_fig(r, in, RESULT_DATE, "29", 1, "--06-29");
    iso_fig(r, in, RESULT_DATE, "30 June", 0, "--06-30");
    assert_int_equal(r->n_figures, 19);
    result_destroy(&r);
}

static void
test_counts_not_coordinated(void **state)
{
    (void)state;
    /* a count followed by a noun keeps its own type */
    const char *in = "Nearly 30,000 farming machines were bought, and the "
                     "output rose 5 percent. We have 2,000 doctors and "
                     "1.5 times more nurses.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_CARDINAL, "30,000", 0, 30000, "");
    num_fig(r, in, RESULT_PERCENT, "5 percent", 0, 5, "");
    num_fig(r, in, RESULT_CARDINAL, "2,000", 0, 2000, "");
    num_fig(r, in, RESULT_CARDINAL, "1.5", 0, 1.5, "");
    assert_int_equal(r->n_figures, 4);
    result_destroy(&r);
}

static void
test_elliptical_amounts(void **state)
{
    (void)state;
    const char *in =
        "Sales grew by 4, and then by another 12 percent. Exports rose by "
        "9 percent, and by another 11 over the spring. The firm earned 700 "
        "billion roubles and will spend some 180 billion. Of 30.5 billion "
        "roubles, 6.2 billion came from the region and 4.1 from Moscow. "
        "Yields rose 2.5 percent, or 3-fold in the north.";
    result_t *r = scan(in);
    /* a bare number in a percent context takes the percent, either way */
    num_fig(r, in, RESULT_PERCENT, "4", 0, 4, "");
    num_fig(r, in, RESULT_PERCENT, "12 percent", 0, 12, "");
    num_fig(r, in, RESULT_PERCENT, "11", 0, 11, "");
    /* an amount with its own scale word but no currency is a CARDINAL */
    num_fig(r, in, RESULT_MONEY, "700 billion roubles", 0, 700e9, "RUB");
    num_fig(r, in, RESULT_CARDINAL, "180 billion", 0, 180e9, "");
    num_fig(r, in, RESULT_CARDINAL, "6.2 billion", 0, 6.2e9, "");
    /* ... and lends its scale to a shortened number after it */
    num_fig(r, in, RESULT_CARDINAL, "4.1", 0, 4.1e9, "");
    /* "3-fold" is a factor, not an elliptical percent */
    const result_figure_t *f = find(r, in, "3", 1);
    assert_true(f->start == offset_of(in, "3-fold", 0));
    assert_int_equal(f->type, RESULT_CARDINAL);
    assert_true(f->value == 3);
    result_destroy(&r);
}

/* A list item's number ("; 4)") is no shortened amount: it takes nothing
 * from the figures of its item; "(up to 20)" still may. */
static void
test_list_markers(void **state)
{
    (void)state;
    const char *in = "By 2030: 1) exports will grow by 25 percent; 2) "
                     "value added may reach 7 trillion rubles.\n3) Output "
                     "(up to 20) will grow 30 percent.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_CARDINAL, "1", 0, 1, "");
    num_fig(r, in, RESULT_CARDINAL, "2", 2, 2, "");
    num_fig(r, in, RESULT_MONEY, "7 trillion rubles", 0, 7e12, "RUB");
    num_fig(r, in, RESULT_CARDINAL, "3", 1, 3, "");
    num_fig(r, in, RESULT_PERCENT, "20", 1, 20, "");
    result_destroy(&r);
}

/* An amount after "including" is a part of the amount before it. */
static void
test_including_part(void **state)
{
    (void)state;
    const char *in =
        "The budget gave 300 billion rubles, including 120 billion "
        "to the regions. It spent 50 billion rubles, including "
        "40 regions. Exports were 9 million tonnes, including "
        "2 million by rail. Sales hit 10 billion rubles. Debt, "
        "including 20 billion, grew.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_MONEY, "120 billion", 0, 120e9, "RUB");
    num_fig(r, in, RESULT_CARDINAL, "40", 0, 40, "");
    num_fig(r, in, RESULT_QUANTITY, "2 million", 0, 2e6, "tonne");
    num_fig(r, in, RESULT_CARDINAL, "20 billion", 1, 20e9, "");
    result_destroy(&r);
}

static void
test_dates(void **state)
{
    (void)state;
    const char *in =
        "We spoke on June 30, then on June 30, 2020, on 30 June 2020 and "
        "after 1 March. The 2020-2024 plan follows the 2012\xe2\x80\x93"
        "2015 concept. By the end of 2020, in May 2019, in the third "
        "quarter of 2019, in Q1 2021, in the 1990s, since the mid-1990s, "
        "from 2020 to 2025, on 2011-11-25. We began 20 years ago and "
        "worked for 6 months. On October 1st it changed. It opened on the "
        "12th of May, closed on the 3rd of April 2019 and was the 5th of "
        "many.";
    result_t *r = scan(in);
    iso_fig(r, in, RESULT_DATE, "June 30", 0, "--06-30");
    iso_fig(r, in, RESULT_DATE, "June 30, 2020", 0, "2020-06-30");
    iso_fig(r, in, RESULT_DATE, "30 June 2020", 0, "2020-06-30");
    iso_fig(r, in, RESULT_DATE, "1 March", 0, "--03-01");
    iso_fig(r, in, RESULT_DATE, "12th of May", 0, "--05-12");
    iso_fig(r, in, RESULT_DATE, "3rd of April 2019", 0, "2019-04-03");
    num_fig(r, in, RESULT_ORDINAL, "5th", 0, 5, "");
    iso_fig(r, in, RESULT_DATE, "2020-2024", 0, "2020/2024");
    iso_fig(r, in, RESULT_DATE,
            "2012\xe2\x80\x93"
            "2015",
            0, "2012/2015");
    iso_fig(r, in, RESULT_DATE, "end of 2020", 0, "2020");
    iso_fig(r, in, RESULT_DATE, "May 2019", 0, "2019-05");
    iso_fig(r, in, RESULT_DATE, "third quarter of 2019", 0, "2019-Q3");
    iso_fig(r, in, RESULT_DATE, "Q1 2021", 0, "2021-Q1");
    iso_fig(r, in, RESULT_DATE, "1990s", 0, "199");
    iso_fig(r, in, RESULT_DATE, "mid-1990s", 0, "199");
    iso_fig(r, in, RESULT_DATE, "2020", 4, "2020");
    iso_fig(r, in, RESULT_DATE, "2025", 0, "2025");
    iso_fig(r, in, RESULT_DATE, "2011-11-25", 0, "2011-11-25");
    iso_fig(r, in, RESULT_DATE, "20 years ago", 0, "P20Y");
    iso_fig(r, in, RESULT_DATE, "6 months", 0, "P6M");
    iso_fig(r, in, RESULT_DATE, "October 1st", 0, "--10-01");
    assert_int_equal(r->n_figures, 21);
    result_destroy(&r);
}

/* Seasons before a year belong to the date; the value stays the year. */
static void
test_season_dates(void **state)
{
    (void)state;
    const char *in = "Floods came at the start of summer 2013. Work resumed "
                     "in the autumn of 2016, slowed in winter 2017, ended in "
                     "late spring 2018 and by mid-2019. Summer, 2020 was dry.";
    result_t *r = scan(in);
    iso_fig(r, in, RESULT_DATE, "start of summer 2013", 0, "2013");
    iso_fig(r, in, RESULT_DATE, "autumn of 2016", 0, "2016");
    iso_fig(r, in, RESULT_DATE, "winter 2017", 0, "2017");
    iso_fig(r, in, RESULT_DATE, "late spring 2018", 0, "2018");
    iso_fig(r, in, RESULT_DATE, "mid-2019", 0, "2019");
    iso_fig(r, in, RESULT_DATE, "2020", 0, "2020");
    assert_int_equal(r->n_figures, 6);
    result_destroy(&r);
}

static void
test_times_ordinals_cardinals(void **state)
{
    (void)state;
    const char *in = "The 22nd meeting and the 22th session start at 10 am, "
                     "the 1st stage at 14:30 and the 3rd at 6:15 pm; "
                     "it lasts 3 hours. We counted 2,000 and 1,234,567.89 "
                     "and 0.5.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_ORDINAL, "22nd", 0, 22, "");
    num_fig(r, in, RESULT_ORDINAL, "22th", 0, 22, "");
    num_fig(r, in, RESULT_ORDINAL, "1st", 0, 1, "");
    num_fig(r, in, RESULT_ORDINAL, "3rd", 0, 3, "");
    iso_fig(r, in, RESULT_TIME, "10 am", 0, "T10:00");
    iso_fig(r, in, RESULT_TIME, "14:30", 0, "T14:30");
    iso_fig(r, in, RESULT_TIME, "6:15 pm", 0, "T18:15");
    iso_fig(r, in, RESULT_TIME, "3 hours", 0, "PT3H");
    num_fig(r, in, RESULT_CARDINAL, "2,000", 0, 2000, "");
    num_fig(r, in, RESULT_CARDINAL, "1,234,567.89", 0, 1234567.89, "");
    num_fig(r, in, RESULT_CARDINAL, "0.5", 0, 0.5, "");
    assert_int_equal(r->n_figures, 11);
    result_destroy(&r);
}

static void
test_quantities(void **state)
{
    (void)state;
    const char *in = "A 1,200-kilometre road crosses 5,000 hectares; we "
                     "built 300 square metres, pump 2 billion cubic metres "
                     "and 55 bcm, install 500 megawatts and 10 GW, lay "
                     "15 km and 40km of pipe, ship 3 million barrels, "
                     "1,200 tonnes, 7 metric tonnes and 120 million tonnes, "
                     "and 200 litres and 3 sq km.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_QUANTITY, "1,200-kilometre", 0, 1200, "kilometre");
    num_fig(r, in, RESULT_QUANTITY, "5,000 hectares", 0, 5000, "hectare");
    num_fig(r, in, RESULT_QUANTITY, "300 square metres", 0, 300,
            "square metre");
    num_fig(r, in, RESULT_QUANTITY, "2 billion cubic metres", 0, 2e9,
            "cubic metre");
    num_fig(r, in, RESULT_QUANTITY, "55 bcm", 0, 55e9, "cubic metre");
    num_fig(r, in, RESULT_QUANTITY, "500 megawatts", 0, 500, "megawatt");
    num_fig(r, in, RESULT_QUANTITY, "10 GW", 0, 10, "gigawatt");
    num_fig(r, in, RESULT_QUANTITY, "15 km", 0, 15, "kilometre");
    num_fig(r, in, RESULT_QUANTITY, "40km", 0, 40, "kilometre");
    num_fig(r, in, RESULT_QUANTITY, "3 million barrels", 0, 3e6, "barrel");
    num_fig(r, in, RESULT_QUANTITY, "1,200 tonnes", 0, 1200, "tonne");
    num_fig(r, in, RESULT_QUANTITY, "7 metric tonnes", 0, 7, "tonne");
    num_fig(r, in, RESULT_QUANTITY, "120 million tonnes", 0, 120e6, "tonne");
    num_fig(r, in, RESULT_QUANTITY, "200 litres", 0, 200, "litre");
    num_fig(r, in, RESULT_QUANTITY, "3 sq km", 0, 3, "square kilometre");
    assert_int_equal(r->n_figures, 15);
    result_destroy(&r);
}

/* Agricultural, transport and energy units; a rate ("X per Y") is a
 * quantity of X, as annotators write it ("24 centners per hectare" ->
 * "24 centners", unit "centner"). */
static void
test_units_and_rates(void **state)
{
    (void)state;
    const char *in =
        "Farms gathered 31 centners per hectare, against 5\xe2\x80\x93"
        "6 centners once. Freight reached 1.8 trillion tonne-kilometres "
        "and 95 billion passenger-kilometres. The plant burns 40 tonnes "
        "per day and the pipe carries 12 cubic metres per hour. Heat: "
        "300 gigacalories, 20 Gcal; a parcel of 3 kilos and 250 grammes; "
        "lamps of 60 watts. Prices rose 4 per cent.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_QUANTITY, "31 centners", 0, 31, "centner");
    num_fig(r, in, RESULT_QUANTITY, "5", 0, 5, "centner");
    num_fig(r, in, RESULT_QUANTITY, "6 centners", 0, 6, "centner");
    num_fig(r, in, RESULT_QUANTITY, "1.8 trillion tonne-kilometres", 0, 1.8e12,
            "tonne-kilometre");
    num_fig(r, in, RESULT_QUANTITY, "95 billion passenger-kilometres", 0, 95e9,
            "passenger-kilometre");
    num_fig(r, in, RESULT_QUANTITY, "40 tonnes", 0, 40, "tonne");
    num_fig(r, in, RESULT_QUANTITY, "12 cubic metres", 0, 12, "cubic metre");
    num_fig(r, in, RESULT_QUANTITY, "300 gigacalories", 0, 300, "gigacalorie");
    num_fig(r, in, RESULT_QUANTITY, "20 Gcal", 0, 20, "gigacalorie");
    num_fig(r, in, RESULT_QUANTITY, "3 kilos", 0, 3, "kilogram");
    num_fig(r, in, RESULT_QUANTITY, "250 grammes", 0, 250, "gram");
    num_fig(r, in, RESULT_QUANTITY, "60 watts", 0, 60, "watt");
    num_fig(r, in, RESULT_PERCENT, "4 per cent", 0, 4, "");
    assert_int_equal(r->n_figures, 13);
    result_destroy(&r);
}

static void
test_percent_forms_and_spelled(void **state)
{
    (void)state;
    const char *in = "Rates rose by 0.5 percentage points, by 3 per cent, by "
                     "4%, by 12\xc2\xa0percent, by five percent and by "
                     "twenty-five per cent; we spent two billion roubles "
                     "and one and a half trillion rubles. Five people came.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_PERCENT, "0.5 percentage points", 0, 0.5, "");
    num_fig(r, in, RESULT_PERCENT, "3 per cent", 0, 3, "");
    num_fig(r, in, RESULT_PERCENT, "4%", 0, 4, "");
    num_fig(r, in, RESULT_PERCENT, "12\xc2\xa0percent", 0, 12, "");
    num_fig(r, in, RESULT_PERCENT, "five percent", 0, 5, "");
    num_fig(r, in, RESULT_PERCENT, "twenty-five per cent", 0, 25, "");
    num_fig(r, in, RESULT_MONEY, "two billion roubles", 0, 2e9, "RUB");
    num_fig(r, in, RESULT_MONEY, "one and a half trillion rubles", 0, 1.5e12,
            "RUB");
    assert_int_equal(r->n_figures, 8);
    result_destroy(&r);
}

/* "half" starts a spelled amount of its own: "half a billion dollars"
 * (no number word before it); a bare "half a billion" is no money. */
static void
test_spelled_half(void **state)
{
    (void)state;
    const char *in = "The fund invested half a billion dollars, about half "
                     "a trillion rubles more; trade grew by a half a percent. "
                     "Profit exceeded half a billion: 546 million rubles.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_MONEY, "half a billion dollars", 0, 5e8, "USD");
    num_fig(r, in, RESULT_MONEY, "half a trillion rubles", 0, 5e11, "RUB");
    num_fig(r, in, RESULT_PERCENT, "half a percent", 0, 0.5, "");
    num_fig(r, in, RESULT_MONEY, "546 million rubles", 0, 5.46e8, "RUB");
    assert_int_equal(r->n_figures, 4);
    result_destroy(&r);
}

static void
test_names_with_digits(void **state)
{
    (void)state;
    const char *in = "COVID-19, G20, the Su-57, S-400 systems, Nord Stream 2, "
                     "Article 15, 5G networks, 3D printing, version 1.2.3 "
                     "and MiG-29 jets are no figures.";
    result_t *r = scan(in);
    for (size_t i = 0; i < r->n_figures; i++)
        print_message("unexpected %s '%s'\n",
                      result_figure_type_name(r->figures[i].type),
                      r->figures[i].text);
    assert_int_equal(r->n_figures, 0);
    result_destroy(&r);
}

/* A factor after a capitalised word is a count, not part of a name. */
static void
test_factor_after_name(void **state)
{
    (void)state;
    const char *in = "The IAEA inspected Iran 13 times, but Sakhalin 2 works.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_CARDINAL, "13", 0, 13, "");
    assert_int_equal(r->n_figures, 1);
    result_destroy(&r);
}

static void
test_typographic_and_crlf(void **state)
{
    (void)state;
    const char *in = "Prices rose 3\xe2\x80\x94"
                     "4\xc2\xa0percent in 2019\r\nand 10\xe2\x80\xaf"
                     "percent in the country\xe2\x80\x99s 2020 budget.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_PERCENT, "3", 0, 3, "");
    num_fig(r, in, RESULT_PERCENT, "4\xc2\xa0percent", 0, 4, "");
    iso_fig(r, in, RESULT_DATE, "2019", 0, "2019");
    num_fig(r, in, RESULT_PERCENT,
            "10\xe2\x80\xaf"
            "percent",
            0, 10, "");
    iso_fig(r, in, RESULT_DATE, "2020", 0, "2020");
    assert_int_equal(r->n_figures, 5);
    result_destroy(&r);
}

static void
test_empty_nul_invalid_utf8(void **state)
{
    (void)state;
    result_t *r = scan_n("", 0);
    assert_int_equal(r->n_figures, 0);
    result_destroy(&r);

    r = result_new();
    figures_scan(lx, NULL, 0, r);
    figures_scan(NULL, "5 percent", 9, r);
    assert_int_equal(r->n_figures, 0);
    result_destroy(&r);

    /* NUL separates words like any other non-letter byte */
    static const char nul[] = "Up 5 percent\0 and 7\0percent, 2020\0";
    r = scan_n(nul, sizeof nul - 1);
    num_fig(r, nul, RESULT_PERCENT, "5 percent", 0, 5, "");
    assert_int_equal(r->figures[1].type, RESULT_CARDINAL);
    assert_int_equal(r->figures[1].start, 18);
    assert_int_equal(r->figures[2].type, RESULT_DATE);
    assert_int_equal(r->n_figures, 3);
    result_destroy(&r);

    /* invalid and truncated UTF-8 around numbers, at both ends */
    static const char bad[] = "\xff\xfe"
                              "12 percent \xc0\xaf 3\xe2\x80 4\xe2";
    r = scan_n(bad, sizeof bad - 1);
    assert_int_equal(r->figures[0].type, RESULT_PERCENT);
    assert_int_equal(r->figures[0].start, 2);
    assert_int_equal(r->n_figures, 3);
    result_destroy(&r);

    /* every single-byte prefix of a tricky sentence stays in bounds */
    const char *t = "On June 30, 2020 $6.9 bn, 1,200-km, 3\xe2\x80\x93"
                    "4 per cent, 14:30, 1990s, 22nd, RUB 5, 20 [million], "
                    "April 10\xe2\x80\x93"
                    "15, 2020, 3 more tonnes; 4) 2 trln, 45 billion [";
    for (size_t k = 0; k <= strlen(t); k++) {
        r = scan_n(t, k);
        result_destroy(&r);
    }
}

static void
test_huge_numbers(void **state)
{
    (void)state;
    char big[460];
    memset(big, '9', 400);
    strcpy(big + 400, " percent and 1e400 and 123456789012345");
    result_t *r = scan(big);
    /* 400 digits: no figure at all rather than inf; 15 digits are exact */
    num_fig(r, big, RESULT_CARDINAL, "123456789012345", 0, 123456789012345.0,
            "");
    assert_int_equal(r->n_figures, 1);
    result_destroy(&r);

    /* a scale on the largest accepted number stays finite */
    const char *in = "999,999,999,999,999 trillion rubles";
    r = scan(in);
    assert_int_equal(r->n_figures, 1);
    assert_true(isfinite(r->figures[0].value));
    assert_true(r->figures[0].value > 9.9e26);
    result_destroy(&r);
}

/* A missing blank between a lower-case word and a number ("just3.2
 * percent") hides no figure; names glued to numbers stay out. */
static void
test_missing_blank(void **state)
{
    (void)state;
    const char *in = "Unemployment fell to just3.2 percent, a petition that "
                     "collects200,000 votes is debated and the hall will "
                     "hold8,500 fans. Tele2, Rome2rio, a spe4cial x86 chip "
                     "and site2024.com stay out.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_PERCENT, "3.2 percent", 0, 3.2, "");
    num_fig(r, in, RESULT_CARDINAL, "200,000", 0, 200000, "");
    num_fig(r, in, RESULT_CARDINAL, "8,500", 0, 8500, "");
    assert_int_equal(r->n_figures, 3);
    result_destroy(&r);
}

/* Scale words, durations and units glued to the digits or joined by a
 * hyphen; a glued-only unit ("-42C") is no unit after a blank. */
static void
test_glued_and_hyphenated_words(void **state)
{
    (void)state;
    const char *in = "The town marks 250years since its founding; 2million "
                     "tourists came, past the 5-million mark, for "
                     "400-billion rouble projects. Frost hit -42C, yet 20 "
                     "C-class buses ran.";
    result_t *r = scan(in);
    iso_fig(r, in, RESULT_DATE, "250years", 0, "P250Y");
    num_fig(r, in, RESULT_CARDINAL, "2million", 0, 2e6, "");
    num_fig(r, in, RESULT_CARDINAL, "5-million", 0, 5e6, "");
    num_fig(r, in, RESULT_MONEY, "400-billion rouble", 0, 400e9, "RUB");
    num_fig(r, in, RESULT_QUANTITY, "-42C", 0, -42, "degree celsius");
    num_fig(r, in, RESULT_CARDINAL, "20", 0, 20, "");
    assert_int_equal(r->n_figures, 6);
    result_destroy(&r);
}

/* Two-digit decades after "the", "early", "late" or "mid-"; years after
 * "pre-" and "post-"; the far end of a range of decades or ordinals. */
static void
test_decades_and_year_prefixes(void **state)
{
    (void)state;
    const char *in = "In the 80s and the late 70s, through the mid-60s, in "
                     "her 90s; pre-2008 levels and post-2030 goals; the "
                     "1950s-1960s and the 18th-19th centuries.";
    result_t *r = scan(in);
    iso_fig(r, in, RESULT_DATE, "80s", 0, "198");
    iso_fig(r, in, RESULT_DATE, "late 70s", 0, "197");
    iso_fig(r, in, RESULT_DATE, "mid-60s", 0, "196");
    iso_fig(r, in, RESULT_DATE, "pre-2008", 0, "2008");
    iso_fig(r, in, RESULT_DATE, "post-2030", 0, "2030");
    iso_fig(r, in, RESULT_DATE, "1950s", 0, "195");
    iso_fig(r, in, RESULT_DATE, "1960s", 0, "196");
    num_fig(r, in, RESULT_ORDINAL, "18th", 0, 18, "");
    num_fig(r, in, RESULT_ORDINAL, "19th", 0, 19, "");
    assert_int_equal(r->n_figures, 9);
    result_destroy(&r);
}

/* A decade written with an apostrophe: "1930's", "the 60's"; a year of
 * this century with one is the year's ("2016's record"). */
static void
test_decades_with_apostrophe(void **state)
{
    (void)state;
    const char *in = "As in the Great Depression of the 1930\xe2\x80\x99s, "
                     "since the late 1980's and back in the 60\xe2\x80\x99s; "
                     "we beat 2016\xe2\x80\x99s record and the 2010's results.";
    result_t *r = scan(in);
    iso_fig(r, in, RESULT_DATE, "1930\xe2\x80\x99s", 0, "193");
    iso_fig(r, in, RESULT_DATE, "late 1980's", 0, "198");
    iso_fig(r, in, RESULT_DATE, "60\xe2\x80\x99s", 0, "196");
    iso_fig(r, in, RESULT_DATE, "2016", 0, "2016");
    iso_fig(r, in, RESULT_DATE, "2010", 0, "2010");
    assert_int_equal(r->n_figures, 5);
    result_destroy(&r);
}

/* A bare two-digit decade coordinated with a decade of the 1900s is one
 * too; a plain number after one stays a count. */
static void
test_decades_coordinated(void **state)
{
    (void)state;
    const char *in = "In the 1920s and 30s, the 80s and 90s, the "
                     "1980s-90s; the 1990s, and 40 people came.";
    result_t *r = scan(in);
    iso_fig(r, in, RESULT_DATE, "30s", 0, "193");
    iso_fig(r, in, RESULT_DATE, "90s", 0, "199");
    iso_fig(r, in, RESULT_DATE, "90s", 1, "199");
    num_fig(r, in, RESULT_CARDINAL, "40", 0, 40, "");
    assert_int_equal(r->n_figures, 8);
    result_destroy(&r);
}

/* A model name with digits runs on over an en dash ("Il-96\u2013400");
 * an en dash between plain numbers is still a range. */
static void
test_en_dash_in_names(void **state)
{
    (void)state;
    const char *in = "We build the Il-96\xe2\x80\x93"
                     "400 and the "
                     "Il-114\xe2\x80\x93"
                     "300; output grew 10\xe2\x80\x93"
                     "15 percent in 2014\xe2\x80\x93"
                     "2015.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_PERCENT, "10", 0, 10, "");
    num_fig(r, in, RESULT_PERCENT, "15 percent", 0, 15, "");
    iso_fig(r, in, RESULT_DATE,
            "2014\xe2\x80\x93"
            "2015",
            0, "2014/2015");
    assert_int_equal(r->n_figures, 3);
    result_destroy(&r);
}

/* "9.15 am": a dot between hours and minutes; a dash range after a
 * capitalised word is no name ("Nord Stream 2" still is). */
static void
test_dot_times_and_ranges_after_names(void **state)
{
    (void)state;
    const char *in = "The session opened at 9.15 am and closed at 6.40 pm; "
                     "the debate took 2.75 hours. In Syria 10\xe2\x80\x93"
                     "12 years later Nord Stream 2 was built.";
    result_t *r = scan(in);
    iso_fig(r, in, RESULT_TIME, "9.15 am", 0, "T09:15");
    iso_fig(r, in, RESULT_TIME, "6.40 pm", 0, "T18:40");
    iso_fig(r, in, RESULT_TIME, "2.75 hours", 0, "PT2.75H");
    iso_fig(r, in, RESULT_DATE, "10", 0, "P10Y");
    iso_fig(r, in, RESULT_DATE, "12 years", 0, "P12Y");
    assert_int_equal(r->n_figures, 5);
    result_destroy(&r);
}

/* An amount with a currency word of its own takes no scale from the
 * next one in a list ("10 yuan, 700 million yen"); a bare first end of
 * a range still does ("$9-10 billion"). */
static void
test_own_unit_keeps_scale(void **state)
{
    (void)state;
    const char *in = "A ticket is 10 yuan, 700 million yen in all; change "
                     "of 50 kopecks, 5 mln euros; a deal of $9-10 billion.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_MONEY, "10 yuan", 0, 10, "CNY");
    num_fig(r, in, RESULT_MONEY, "700 million yen", 0, 7e8, "JPY");
    num_fig(r, in, RESULT_MONEY, "50 kopecks", 0, 0.5, "RUB");
    num_fig(r, in, RESULT_MONEY, "5 mln euros", 0, 5e6, "EUR");
    num_fig(r, in, RESULT_MONEY, "$9", 0, 9e9, "USD");
    num_fig(r, in, RESULT_MONEY, "10 billion", 0, 1e10, "USD");
    assert_int_equal(r->n_figures, 6);
    result_destroy(&r);
}

/* The first end of a range takes the scale of the last only when it is
 * written short for it: "from 700,000 to 1.4 million [rubles]" is
 * 700,000 rubles, "from 20 to 50 million rubles" 20 million. */
static void
test_range_scale_fits(void **state)
{
    (void)state;
    const char *in = "Coverage doubled from 700,000 to 1.4 million "
                     "[rubles]; grants run from 20 to 50 million rubles.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_MONEY, "700,000", 0, 7e5, "RUB");
    num_fig(r, in, RESULT_MONEY, "1.4 million [rubles]", 0, 1.4e6, "RUB");
    num_fig(r, in, RESULT_MONEY, "20", 0, 2e7, "RUB");
    num_fig(r, in, RESULT_MONEY, "50 million rubles", 0, 5e7, "RUB");
    assert_int_equal(r->n_figures, 4);
    result_destroy(&r);
}

/* A telephone number after '+' is no figure (not four CARDINALs); a
 * sign before a single number still is one ("+5 degrees"). */
static void
test_phone_numbers(void **state)
{
    (void)state;
    const char *in = "Call +7 985 035 1391 or +7 (495) 606-36-02 today. "
                     "It was +5 degrees in a 17+1 format.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_QUANTITY, "5 degrees", 0, 5, "degree");
    num_fig(r, in, RESULT_CARDINAL, "17", 0, 17, "");
    num_fig(r, in, RESULT_CARDINAL, "1", 3, 1, ""); /* "17+1" */
    assert_int_equal(r->n_figures, 3);
    result_destroy(&r);
}

/* A four-digit number after a capitalised word in mid-sentence is part
 * of a name like a shorter one ("Resolution 2254", "Resolution 15");
 * with separators, or after a lower-case word, it is a count. */
static void
test_four_digit_names(void **state)
{
    (void)state;
    const char *in = "We act under UN Security Council Resolution 2254 and "
                     "Resolution 15, while in Moscow 2,500 people and some "
                     "2500 volunteers took part.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_CARDINAL, "2,500", 0, 2500, "");
    num_fig(r, in, RESULT_CARDINAL, "2500", 0, 2500, "");
    assert_int_equal(r->n_figures, 2);
    result_destroy(&r);
}

/* A number after a word of number_signs is an identifier, in lower case
 * or at a sentence's start too ("article 56", "Article 282."); a plural
 * is a common noun ("British articles 2.2 times"). */
static void
test_identifier_heads(void **state)
{
    (void)state;
    const char *in = "They cancel article 56 of the Air Code under "
                     "resolution 633 and clause 9. Article 282. Our "
                     "articles trail British articles 2.2 times.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_CARDINAL, "2.2", 0, 2.2, "");
    assert_int_equal(r->n_figures, 1);
    result_destroy(&r);
}

/* A school year joined to "graders" is an ORDINAL, reported alone; the
 * count before it stays a CARDINAL. */
static void
test_ordinal_heads(void **state)
{
    (void)state;
    const char *in = "This year, 647,000 11-graders graduate, and 1.41 "
                     "million 9-graders complete their studies.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_CARDINAL, "647,000", 0, 647000, "");
    num_fig(r, in, RESULT_ORDINAL, "11", 0, 11, "");
    num_fig(r, in, RESULT_CARDINAL, "1.41 million", 0, 1410000, "");
    num_fig(r, in, RESULT_ORDINAL, "9", 0, 9, "");
    assert_int_equal(r->n_figures, 4);
    result_destroy(&r);
}

/* "last quarter of 2019" is the year's fourth quarter, "the final half
 * of 2020" its second half. */
static void
test_last_part_of_year(void **state)
{
    (void)state;
    const char *in = "Output grew in the last quarter of 2019 and will "
                     "grow in the final half of 2020.";
    result_t *r = scan(in);
    iso_fig(r, in, RESULT_DATE, "last quarter of 2019", 0, "2019-Q4");
    iso_fig(r, in, RESULT_DATE, "final half of 2020", 0, "2020-H2");
    assert_int_equal(r->n_figures, 2);
    result_destroy(&r);
}

/* A half or a quarter before its year without "of" ("the third quarter
 * 2024", as company reports write it) is the same part of the year;
 * a sentence or a comma between them breaks it. */
static void
test_part_of_year_without_of(void **state)
{
    (void)state;
    const char *in = "Revenue rose in the third quarter 2024 and the second "
                     "half 2023. In the first half, 2020 was hard.";
    result_t *r = scan(in);
    iso_fig(r, in, RESULT_DATE, "third quarter 2024", 0, "2024-Q3");
    iso_fig(r, in, RESULT_DATE, "second half 2023", 0, "2023-H2");
    iso_fig(r, in, RESULT_DATE, "2020", 0, "2020");
    assert_int_equal(r->n_figures, 3);
    result_destroy(&r);
}

/* A time with its minutes before a part of the day or a time zone
 * ("7.20 this morning", "10.00 at night", "14:00 Moscow time") is one TIME;
 * a bare count before one is not ("we had 5 this morning"). */
static void
test_times_with_parts_of_day(void **state)
{
    (void)state;
    const char *in = "The meteorite broke up at 7.20 this morning. The "
                     "shift ends at 10.00 at night, the next at 2.30 at "
                     "night; the call is at 14:00 Moscow time and 9:40 in "
                     "the evening. We had 5 this morning, 3tonight and a "
                     "call at 5pm.";
    result_t *r = scan(in);
    iso_fig(r, in, RESULT_TIME, "7.20 this morning", 0, "T07:20");
    iso_fig(r, in, RESULT_TIME, "10.00 at night", 0, "T22:00");
    iso_fig(r, in, RESULT_TIME, "2.30 at night", 0, "T02:30");
    iso_fig(r, in, RESULT_TIME, "14:00 Moscow time", 0, "T14:00");
    iso_fig(r, in, RESULT_TIME, "9:40 in the evening", 0, "T21:40");
    num_fig(r, in, RESULT_CARDINAL, "5", 0, 5, "");
    /* glued on, a part of the day still needs minutes: no figure */
    iso_fig(r, in, RESULT_TIME, "5pm", 0, "T17:00");
    assert_int_equal(r->n_figures, 7);
    result_destroy(&r);
}

/* A currency sign on the first end of a range is the currency of the
 * scaled last end ("\xe2\x82\xac" "7-8 billion"); "plus" coordinates. */
static void
test_money_ranges_and_plus(void **state)
{
    (void)state;
    const char *in = "Exports may reach \xe2\x82\xac"
                     "7\xe2\x80\x93"
                     "8 billion, and each nurse gets 20,000 plus 10,000 "
                     "roubles.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_MONEY,
            "\xe2\x82\xac"
            "7",
            0, 7e9, "EUR");
    num_fig(r, in, RESULT_MONEY, "8 billion", 0, 8e9, "EUR");
    num_fig(r, in, RESULT_MONEY, "20,000", 0, 20000, "RUB");
    num_fig(r, in, RESULT_MONEY, "10,000 roubles", 0, 10000, "RUB");
    assert_int_equal(r->n_figures, 4);
    result_destroy(&r);
}

/* Units in the singular after a hyphen, hyphenated and "linear" units,
 * abbreviations of rates, frequencies, pressure and data; "m" is a metre
 * unless a currency sign makes it a million. */
static void
test_more_units(void **state)
{
    (void)state;
    const char *in = "A 500-square-metre shop, 12 linear kilometres of "
                     "track, gusts of 25 m/s, the 800 MHz band, 15 MPa of "
                     "pressure, 100 GB per second, a 12-mile limit and a "
                     "5-gram sample. The hall is 40 m long, the pool 25m "
                     "wide, for a $3m grant.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_QUANTITY, "500-square-metre", 0, 500, "square metre");
    num_fig(r, in, RESULT_QUANTITY, "12 linear kilometres", 0, 12,
            "linear kilometre");
    num_fig(r, in, RESULT_QUANTITY, "25 m/s", 0, 25, "metre per second");
    num_fig(r, in, RESULT_QUANTITY, "800 MHz", 0, 800, "megahertz");
    num_fig(r, in, RESULT_QUANTITY, "15 MPa", 0, 15, "megapascal");
    num_fig(r, in, RESULT_QUANTITY, "100 GB", 0, 100, "gigabyte");
    num_fig(r, in, RESULT_QUANTITY, "12-mile", 0, 12, "mile");
    num_fig(r, in, RESULT_QUANTITY, "5-gram", 0, 5, "gram");
    num_fig(r, in, RESULT_QUANTITY, "40 m", 0, 40, "metre");
    num_fig(r, in, RESULT_QUANTITY, "25m", 0, 25, "metre");
    num_fig(r, in, RESULT_MONEY, "$3m", 0, 3e6, "USD");
    assert_int_equal(r->n_figures, 11);
    result_destroy(&r);
}

/* Scale abbreviations of government releases: "bln", "mln", "trln". */
static void
test_scale_abbreviations(void **state)
{
    (void)state;
    const char *in = "Funds: RUB 1.2 bln, 700 mln roubles and 1.1 trln "
                     "roubles.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_MONEY, "RUB 1.2 bln", 0, 1.2e9, "RUB");
    num_fig(r, in, RESULT_MONEY, "700 mln roubles", 0, 700e6, "RUB");
    num_fig(r, in, RESULT_MONEY, "1.1 trln roubles", 0, 1.1e12, "RUB");
    assert_int_equal(r->n_figures, 3);
    result_destroy(&r);
}

/* Units of infrastructure and energy reports: broadband speeds, grid
 * capacity, speeds "an hour", abbreviated square metres; "more" between
 * a number and its unit. */
static void
test_report_units(void **state)
{
    (void)state;
    const char *in = "Schools get 100 Mbps, hospitals 1 gigabit per second; "
                     "the grid adds 2,500 MVA; trains run at 80 kilometres "
                     "an hour; 1 cubic kilometre of water, 5 million sq "
                     "metres of housing and 300 kilotonnes of steel. We "
                     "sold 13.5 billion more cubic metres, added 7,000 more "
                     "hectares and 2,000 more doctors.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_QUANTITY, "13.5 billion more cubic metres", 0, 13.5e9,
            "cubic metre");
    num_fig(r, in, RESULT_QUANTITY, "7,000 more hectares", 0, 7000, "hectare");
    num_fig(r, in, RESULT_CARDINAL, "2,000", 0, 2000, "");
    num_fig(r, in, RESULT_QUANTITY, "100 Mbps", 0, 100, "megabit per second");
    num_fig(r, in, RESULT_QUANTITY, "1 gigabit per second", 0, 1,
            "gigabit per second");
    num_fig(r, in, RESULT_QUANTITY, "2,500 MVA", 0, 2500, "megavolt-ampere");
    num_fig(r, in, RESULT_QUANTITY, "80 kilometres an hour", 0, 80,
            "kilometre per hour");
    num_fig(r, in, RESULT_QUANTITY, "1 cubic kilometre", 0, 1,
            "cubic kilometre");
    num_fig(r, in, RESULT_QUANTITY, "5 million sq metres", 0, 5e6,
            "square metre");
    num_fig(r, in, RESULT_QUANTITY, "300 kilotonnes", 0, 300, "kilotonne");
    assert_int_equal(r->n_figures, 10);
    result_destroy(&r);
}

/* ", or" and "and even" / "or even" link a list whose last item has the
 * unit; ", and" does not (it starts a clause as often). */
static void
test_list_connectors(void **state)
{
    (void)state;
    const char *in = "Unemployment reached 8, 12 and even 14% in places; "
                     "prices rose 3, 4, or even 6 percent. Output may reach "
                     "300 tonnes by 2025 against the planned 250, and 320 "
                     "against 270 by 2030.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_PERCENT, "8", 0, 8, "");
    num_fig(r, in, RESULT_PERCENT, "12", 0, 12, "");
    num_fig(r, in, RESULT_PERCENT, "14%", 0, 14, "");
    num_fig(r, in, RESULT_PERCENT, "3", 0, 3, "");
    num_fig(r, in, RESULT_PERCENT, "4", 1, 4, "");
    num_fig(r, in, RESULT_PERCENT, "6 percent", 0, 6, "");
    num_fig(r, in, RESULT_QUANTITY, "250", 0, 250, "tonne");
    num_fig(r, in, RESULT_QUANTITY, "320", 0, 320, "tonne");
    result_destroy(&r);
}

/* The end of a range takes a currency, unit or scale only from its own
 * chain; a count with a noun between a bare number and an earlier
 * percent is its parallel expression. */
static void
test_range_ends_and_counts_between(void **state)
{
    (void)state;
    const char *in = "The average wage is 30,000 roubles, but our staff "
                     "earn 41,000\xe2\x80\x93"
                     "43,000 on average. Seats for pupils aged 7\xe2\x80\x93"
                     "15 were sold at a 40 percent discount. Exports will "
                     "double from 150 billion to 300. Fares rose from "
                     "20,000 roubles to 31,500. Capacity grew by 60 "
                     "percent, from 15 power units to 24.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_CARDINAL, "41,000", 0, 41000, "");
    num_fig(r, in, RESULT_CARDINAL, "43,000", 0, 43000, "");
    num_fig(r, in, RESULT_CARDINAL, "7", 0, 7, "");
    num_fig(r, in, RESULT_CARDINAL, "15", 0, 15, "");
    num_fig(r, in, RESULT_PERCENT, "40 percent", 0, 40, "");
    num_fig(r, in, RESULT_CARDINAL, "300", 0, 300e9, "");
    num_fig(r, in, RESULT_MONEY, "31,500", 0, 31500, "RUB");
    num_fig(r, in, RESULT_CARDINAL, "24", 0, 24, "");
    result_destroy(&r);
}

/* "2 trillion 350 billion roubles" is one amount; kopecks are hundredths
 * of a rouble; "b" and "k" after a currency sign scale like "m". */
static void
test_compound_amounts_and_kopecks(void **state)
{
    (void)state;
    const char *in = "Investment reached 2 trillion 350 billion roubles. "
                     "A litre cost 40 roubles and 50 kopecks, and 16.6 "
                     "million people bought it. Reserves fell from $500b to "
                     "$400 billion; a car costs $40k.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_MONEY, "2 trillion 350 billion roubles", 0, 2.35e12,
            "RUB");
    num_fig(r, in, RESULT_MONEY, "40 roubles", 0, 40, "RUB");
    num_fig(r, in, RESULT_MONEY, "50 kopecks", 0, 0.5, "RUB");
    const result_figure_t *f = find(r, in, "16.6 million", 0);
    assert_true(f->value == 16600000.0);
    num_fig(r, in, RESULT_MONEY, "$500b", 0, 500e9, "USD");
    num_fig(r, in, RESULT_MONEY, "$400 billion", 0, 400e9, "USD");
    num_fig(r, in, RESULT_MONEY, "$40k", 0, 40e3, "USD");
    assert_int_equal(r->n_figures, 7);
    result_destroy(&r);
}

/* A year inside a name is no DATE: after a capitalised word ("Expo 2027",
 * "Russia 2025 award") or between "the" and a capitalised word ("the 2030
 * Winter Olympics"); months and sentence starts are no names. */
static void
test_years_in_names(void **state)
{
    (void)state;
    const char *in = "Preparations for the 2030 Winter Olympics and for Expo "
                     "2027 in Kazan went on in 2026, and the Volunteer of "
                     "Russia 2025 award went to a student. In the summer of "
                     "2019 we met, in January 2020 too. 2021 was hard, and "
                     "the 2022 budget grew.";
    result_t *r = scan(in);
    iso_fig(r, in, RESULT_DATE, "2026", 0, "2026");
    iso_fig(r, in, RESULT_DATE, "summer of 2019", 0, "2019");
    iso_fig(r, in, RESULT_DATE, "January 2020", 0, "2020-01");
    iso_fig(r, in, RESULT_DATE, "2021", 0, "2021");
    iso_fig(r, in, RESULT_DATE, "2022", 0, "2022");
    assert_int_equal(r->n_figures, 5);
    result_destroy(&r);
}

/* A bare day after a day of a month and a dash or range word is another
 * day of that month; after a comma, or with a noun, it is not. */
static void
test_day_ranges(void **state)
{
    (void)state;
    const char *in = "The forum runs on October 14\xe2\x80\x93"
                     "16 in Kazan, the fair from May 3 to 9. On June 12, 15 "
                     "delegates came, and on July 4 and 7 people left.";
    result_t *r = scan(in);
    iso_fig(r, in, RESULT_DATE, "October 14", 0, "--10-14");
    iso_fig(r, in, RESULT_DATE, "16", 0, "--10-16");
    iso_fig(r, in, RESULT_DATE, "May 3", 0, "--05-03");
    iso_fig(r, in, RESULT_DATE, "9", 0, "--05-09");
    iso_fig(r, in, RESULT_DATE, "June 12", 0, "--06-12");
    num_fig(r, in, RESULT_CARDINAL, "15", 0, 15, "");
    iso_fig(r, in, RESULT_DATE, "July 4", 0, "--07-04");
    num_fig(r, in, RESULT_CARDINAL, "7", 0, 7, "");
    assert_int_equal(r->n_figures, 8);
    result_destroy(&r);
}

/* The other day of a range takes the year written after it ("11-12,
 * 2026"), or the first day's, also when a year ends the range; a year
 * after the last day is the first day's too ("March 2-4, 2027", "April 1
 * to June 30, 2026"), but never an earlier month's ("December 28 to
 * January 9, 2026") nor a day's in another phrase ("On May 5 we met, on
 * 7 May 2026"). */
static void
test_day_ranges_with_year(void **state)
{
    (void)state;
    const char *in = "The talks ran on March 2\xe2\x80\x93"
                     "4, 2027 in Minsk, the fair on August 30 and 31, 2026, "
                     "and the show on July 9, 2025 to 11. Leave runs from "
                     "April 1 to June 30, 2026, holidays from December 28 to "
                     "January 9, 2026. On May 5 we met, on 7 May 2026 not. "
                     "Sales ran 1\xe2\x80\x93"
                     "10 January 2026.";
    result_t *r = scan(in);
    iso_fig(r, in, RESULT_DATE, "March 2", 0, "2027-03-02");
    iso_fig(r, in, RESULT_DATE, "4, 2027", 0, "2027-03-04");
    iso_fig(r, in, RESULT_DATE, "August 30", 0, "2026-08-30");
    iso_fig(r, in, RESULT_DATE, "31, 2026", 0, "2026-08-31");
    iso_fig(r, in, RESULT_DATE, "July 9, 2025", 0, "2025-07-09");
    iso_fig(r, in, RESULT_DATE, "11", 0, "2025-07-11");
    iso_fig(r, in, RESULT_DATE, "April 1", 0, "2026-04-01");
    iso_fig(r, in, RESULT_DATE, "June 30, 2026", 0, "2026-06-30");
    iso_fig(r, in, RESULT_DATE, "December 28", 0, "--12-28");
    iso_fig(r, in, RESULT_DATE, "January 9, 2026", 0, "2026-01-09");
    iso_fig(r, in, RESULT_DATE, "May 5", 0, "--05-05");
    iso_fig(r, in, RESULT_DATE, "7 May 2026", 0, "2026-05-07");
    iso_fig(r, in, RESULT_DATE, "1", 4, "2026-01-01");
    iso_fig(r, in, RESULT_DATE, "10 January 2026", 0, "2026-01-10");
    assert_int_equal(r->n_figures, 14);
    result_destroy(&r);
}

/* "February-May 2026": a range of months in one year is one DATE with an
 * ISO interval; a later month first is no range. */
static void
test_month_ranges(void **state)
{
    (void)state;
    const char *in = "Sales rose in February-May 2026 and in July \xe2\x80\x93 "
                     "September 2025, but fell in October-April 2024.";
    result_t *r = scan(in);
    iso_fig(r, in, RESULT_DATE, "February-May 2026", 0, "2026-02/2026-05");
    iso_fig(r, in, RESULT_DATE, "July \xe2\x80\x93 September 2025", 0,
            "2025-07/2025-09");
    iso_fig(r, in, RESULT_DATE, "April 2024", 0, "2024-04");
    assert_int_equal(r->n_figures, 3);
    result_destroy(&r);
}

/* "up to 1200", "a total of 1500": a count, though "to" and "of" make a
 * year of a smaller number elsewhere ("back to 1865"); a number joined to
 * a code ("2031-xVir") is part of the name. */
static void
test_years_and_counts(void **state)
{
    (void)state;
    const char *in = "The plan adds up to 1200 beds and a total of 1500 "
                     "jobs; the bond goes back to 1865. The strain 2031-xVir "
                     "spread in 2031.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_CARDINAL, "1200", 0, 1200, "");
    num_fig(r, in, RESULT_CARDINAL, "1500", 0, 1500, "");
    iso_fig(r, in, RESULT_DATE, "1865", 0, "1865");
    iso_fig(r, in, RESULT_DATE, "2031", 1, "2031");
    assert_int_equal(r->n_figures, 4);
    result_destroy(&r);
}

/* "around 2400 firms": an approximating word before and a noun after
 * make a count of a number that would be a year; with punctuation or a
 * loose follower after it ("around 2030, we", "about 2040 the") it
 * stays a year. */
static void
test_approximate_counts(void **state)
{
    (void)state;
    const char *in = "Around 2400 firms took part and more than 1950 young "
                     "workers came; around 2030, we will see, and by about "
                     "2040 the plan ends.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_CARDINAL, "2400", 0, 2400, "");
    num_fig(r, in, RESULT_CARDINAL, "1950", 0, 1950, "");
    iso_fig(r, in, RESULT_DATE, "2030", 0, "2030");
    iso_fig(r, in, RESULT_DATE, "2040", 0, "2040");
    assert_int_equal(r->n_figures, 4);
    result_destroy(&r);
}

/* A headline (a line with no full stop, question mark or colon at its
 * end) drops its articles: a year before a capitalised word there is part
 * of a name as it is after "the"; in a sentence it is not. */
static void
test_years_in_headlines(void **state)
{
    (void)state;
    const char *in = "Meeting on preparations for 2030 Winter Games in Kazan\n"
                     "2029-05-01\n"
                     "In 2029 Russia hosted the talks on 2031 budgets.\n";
    result_t *r = scan(in);
    iso_fig(r, in, RESULT_DATE, "2029-05-01", 0, "2029-05-01");
    iso_fig(r, in, RESULT_DATE, "2029", 1, "2029");
    iso_fig(r, in, RESULT_DATE, "2031", 0, "2031");
    assert_int_equal(r->n_figures, 3);
    result_destroy(&r);
}

/* "Hospital No. 12", "Federal Law No 301": a number after a word of
 * number_signs is an identifier; "No, 12 people" is a count. */
static void
test_number_signs(void **state)
{
    (void)state;
    const char *in = "She runs City Hospital No. 12 and cites Federal Law No "
                     "301 and Order No. 1650. No, 14 people came.";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_CARDINAL, "14", 0, 14, "");
    assert_int_equal(r->n_figures, 1);
    result_destroy(&r);
}

/* Only an event's name (a word of event_heads in the capitalised run)
 * holds its year; "the 2026 Presidential Prize" is a thing of a year. A
 * number under 1900 there is an identifier. */
static void
test_years_of_events_and_things(void **state)
{
    (void)state;
    const char *in = "The 2026 Presidential Prize went to her, not the 2027 "
                     "Men's Hockey Championship, under the 1432 Programme.";
    result_t *r = scan(in);
    iso_fig(r, in, RESULT_DATE, "2026", 0, "2026");
    assert_int_equal(r->n_figures, 1);
    result_destroy(&r);
}

/* An editor's bracket supplies a percent or a unit as it does a
 * currency. */
static void
test_bracketed_units(void **state)
{
    (void)state;
    const char *in = "Inflation there was 6.5 [percent], the new unit gives "
                     "450 [MW] and the fund got 12 billion [roubles]. Now 25 "
                     "[billion roubles], $24 [billion] and 20 [million] "
                     "people; 16 million [tonnes of cargo] and 5 [tonnes or "
                     "so a year]; 8 [International Women's Day].";
    result_t *r = scan(in);
    num_fig(r, in, RESULT_PERCENT, "6.5 [percent]", 0, 6.5, "");
    num_fig(r, in, RESULT_QUANTITY, "450 [MW]", 0, 450, "megawatt");
    num_fig(r, in, RESULT_MONEY, "12 billion [roubles]", 0, 12e9, "RUB");
    num_fig(r, in, RESULT_MONEY, "25 [billion roubles]", 0, 25e9, "RUB");
    num_fig(r, in, RESULT_MONEY, "$24 [billion]", 0, 24e9, "USD");
    num_fig(r, in, RESULT_CARDINAL, "20 [million]", 0, 20e6, "");
    num_fig(r, in, RESULT_QUANTITY, "16 million [tonnes of cargo]", 0, 16e6,
            "tonne");
    num_fig(r, in, RESULT_CARDINAL, "5", 3, 5, "");
    num_fig(r, in, RESULT_CARDINAL, "8", 0, 8, "");
    assert_int_equal(r->n_figures, 9);
    result_destroy(&r);
}

static void
test_50mb_line(void **state)
{
    (void)state;
    size_t n = 50u << 20;
    char *buf = malloc(n);
    assert_non_null(buf);
    /* one endless grouped number: skipped as a whole, in linear time */
    for (size_t i = 0; i < n; i++)
        buf[i] = (i % 4 == 3) ? ',' : (char)('1' + i % 4);
    result_t *r = result_new();
    figures_scan(lx, buf, n, r);
    assert_int_equal(r->n_figures, 0);
    result_destroy(&r);

    /* a list of small numbers: many figures, but capped */
    for (size_t i = 0; i < n; i++)
        buf[i] = "12, "[i % 4];
    r = result_new();
    figures_scan(lx, buf, n, r);
    assert_true(r->n_figures > 1000);
    assert_true(r->n_figures <= 1024 + n / 32);
    assert_int_equal(r->figures[0].type, RESULT_CARDINAL);
    assert_true(r->figures[0].value == 12);
    result_destroy(&r);
    free(buf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percent_money_half_year),
        cmocka_unit_test(test_money_forms),
        cmocka_unit_test(test_money_iso_forms),
        cmocka_unit_test(test_currency_carried),
        cmocka_unit_test(test_currency_list_items),
        cmocka_unit_test(test_temperature_and_yield_units),
        cmocka_unit_test(test_negative_numbers),
        cmocka_unit_test(test_coordinations),
        cmocka_unit_test(test_counts_not_coordinated),
        cmocka_unit_test(test_elliptical_amounts),
        cmocka_unit_test(test_list_markers),
        cmocka_unit_test(test_including_part),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_season_dates),
        cmocka_unit_test(test_times_ordinals_cardinals),
        cmocka_unit_test(test_quantities),
        cmocka_unit_test(test_units_and_rates),
        cmocka_unit_test(test_percent_forms_and_spelled),
        cmocka_unit_test(test_spelled_half),
        cmocka_unit_test(test_names_with_digits),
        cmocka_unit_test(test_factor_after_name),
        cmocka_unit_test(test_typographic_and_crlf),
        cmocka_unit_test(test_empty_nul_invalid_utf8),
        cmocka_unit_test(test_huge_numbers),
        cmocka_unit_test(test_first_months_of_year),
        cmocka_unit_test(test_relative_periods),
        cmocka_unit_test(test_missing_blank),
        cmocka_unit_test(test_glued_and_hyphenated_words),
        cmocka_unit_test(test_decades_and_year_prefixes),
        cmocka_unit_test(test_decades_with_apostrophe),
        cmocka_unit_test(test_decades_coordinated),
        cmocka_unit_test(test_en_dash_in_names),
        cmocka_unit_test(test_dot_times_and_ranges_after_names),
        cmocka_unit_test(test_times_with_parts_of_day),
        cmocka_unit_test(test_last_part_of_year),
        cmocka_unit_test(test_part_of_year_without_of),
        cmocka_unit_test(test_ordinal_heads),
        cmocka_unit_test(test_own_unit_keeps_scale),
        cmocka_unit_test(test_range_scale_fits),
        cmocka_unit_test(test_phone_numbers),
        cmocka_unit_test(test_four_digit_names),
        cmocka_unit_test(test_identifier_heads),
        cmocka_unit_test(test_money_ranges_and_plus),
        cmocka_unit_test(test_more_units),
        cmocka_unit_test(test_report_units),
        cmocka_unit_test(test_scale_abbreviations),
        cmocka_unit_test(test_list_connectors),
        cmocka_unit_test(test_range_ends_and_counts_between),
        cmocka_unit_test(test_compound_amounts_and_kopecks),
        cmocka_unit_test(test_years_in_names),
        cmocka_unit_test(test_day_ranges),
        cmocka_unit_test(test_day_ranges_with_year),
        cmocka_unit_test(test_month_ranges),
        cmocka_unit_test(test_years_and_counts),
        cmocka_unit_test(test_approximate_counts),
        cmocka_unit_test(test_years_in_headlines),
        cmocka_unit_test(test_number_signs),
        cmocka_unit_test(test_years_of_events_and_things),
        cmocka_unit_test(test_bracketed_units),
        cmocka_unit_test(test_50mb_line),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
