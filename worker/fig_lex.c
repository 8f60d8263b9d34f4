/*
 * fig_lex: raw-byte lexical helpers and static word tables for figures.
 * Blanks and dashes are recognised in their UTF-8 forms so that offsets
 * stay byte offsets into the caller's input.
 */
#include "fig_lex.h"
#include "swar.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define CS FIG_LEX_CS
#define GL FIG_LEX_GLUE

const fig_word_t fig_lex_scales[] = {
    { "thousand", NULL, 1e3, 0 }, { "million", NULL, 1e6, 0 },
    { "billion", NULL, 1e9, 0 },  { "trillion", NULL, 1e12, 0 },
    { "bn", NULL, 1e9, GL },      { "bln", NULL, 1e9, GL },
    { "mln", NULL, 1e6, GL },     { "mn", NULL, 1e6, GL },
    { "tn", NULL, 1e12, GL },     { "trn", NULL, 1e12, GL },
    { NULL, NULL, 0, 0 },
};

const fig_word_t fig_lex_currencies[] = {
    { "Belarusian roubles", "BYN", 0, 0 },
    { "Belarusian rubles", "BYN", 0, 0 },
    { "Belarusian rouble", "BYN", 0, 0 },
    { "Belarusian ruble", "BYN", 0, 0 },
    { "roubles", "RUB", 0, 0 },
    { "rubles", "RUB", 0, 0 },
    { "rouble", "RUB", 0, 0 },
    { "ruble", "RUB", 0, 0 },
    { "rub.", "RUB", 0, 0 },
    { "rub", "RUB", 0, 0 },
    { "RUB", "RUB", 0, CS },
    { "US dollars", "USD", 0, 0 },
    { "U.S. dollars", "USD", 0, 0 },
    { "American dollars", "USD", 0, 0 },
    { "Canadian dollars", "CAD", 0, 0 },
    { "Australian dollars", "AUD", 0, 0 },
    { "Hong Kong dollars", "HKD", 0, 0 },
    { "Singapore dollars", "SGD", 0, 0 },
    { "dollars", "USD", 0, 0 },
    { "dollar", "USD", 0, 0 },
    { "USD", "USD", 0, CS },
    { "euros", "EUR", 0, 0 },
    { "euro", "EUR", 0, 0 },
    { "EUR", "EUR", 0, CS },
    { "yuan", "CNY", 0, 0 },
    { "renminbi", "CNY", 0, 0 },
    { "CNY", "CNY", 0, CS },
    { "RMB", "CNY", 0, CS },
    { "tenge", "KZT", 0, 0 },
    { "KZT", "KZT", 0, CS },
    { "sums", "UZS", 0, 0 },
    { "sum", "UZS", 0, 0 },
    { "soums", "UZS", 0, 0 },
    { "UZS", "UZS", 0, CS },
    { "soms", "KGS", 0, 0 },
    { "som", "KGS", 0, 0 },
    { "somoni", "TJS", 0, 0 },
    { "drams", "AMD", 0, 0 },
    { "dram", "AMD", 0, 0 },
    { "lari", "GEL", 0, 0 },
    { "manats", "AZN", 0, 0 },
    { "manat", "AZN", 0, 0 },
    { "hryvnias", "UAH", 0, 0 },
    { "hryvnia", "UAH", 0, 0 },
    { "hryvnas", "UAH", 0, 0 },
    { "rupees", "INR", 0, 0 },
    { "yen", "JPY", 0, 0 },
    { "pounds sterling", "GBP", 0, 0 },
    { "pounds", "GBP", 0, 0 },
    { "GBP", "GBP", 0, CS },
    { "Swiss francs", "CHF", 0, 0 },
    { "liras", "TRY", 0, 0 },
    { "lira", "TRY", 0, 0 },
    { "dirhams", "AED", 0, 0 },
    { "riyals", "SAR", 0, 0 },
    { "rials", "IRR", 0, 0 },
    { "reais", "BRL", 0, 0 },
    { "rand", "ZAR", 0, 0 },
    { "dong", "VND", 0, 0 },
    { NULL, NULL, 0, 0 },
};

const fig_word_t fig_lex_units[] = {
    { "square kilometres", "square kilometre", 1, 0 },
    { "square kilometers", "square kilometre", 1, 0 },
    { "square kilometre", "square kilometre", 1, 0 },
    { "square kilometer", "square kilometre", 1, 0 },
    { "sq km", "square kilometre", 1, 0 },
    { "sq. km", "square kilometre", 1, 0 },
    { "km2", "square kilometre", 1, CS | GL },
    { "km\xc2\xb2", "square kilometre", 1, CS | GL },
    { "square metres", "square metre", 1, 0 },
    { "square meters", "square metre", 1, 0 },
    { "square metre", "square metre", 1, 0 },
    { "square meter", "square metre", 1, 0 },
    { "sq m", "square metre", 1, 0 },
    { "sq. m", "square metre", 1, 0 },
    { "m2", "square metre", 1, CS | GL },
    { "m\xc2\xb2", "square metre", 1, CS | GL },
    { "cubic kilometres", "cubic kilometre", 1, 0 },
    { "cubic metres", "cubic metre", 1, 0 },
    { "cubic meters", "cubic metre", 1, 0 },
    { "cubic metre", "cubic metre", 1, 0 },
    { "cubic meter", "cubic metre", 1, 0 },
    { "cu m", "cubic metre", 1, 0 },
    { "m3", "cubic metre", 1, CS | GL },
    { "m\xc2\xb3", "cubic metre", 1, CS | GL },
    { "bcm", "cubic metre", 1e9, 0 },
    { "tcm", "cubic metre", 1e12, 0 },
    { "tonne-kilometres", "tonne-kilometre", 1, 0 },
    { "tonne-kilometers", "tonne-kilometre", 1, 0 },
    { "tonne-kilometre", "tonne-kilometre", 1, 0 },
    { "tonne-km", "tonne-kilometre", 1, 0 },
    { "ton-kilometres", "tonne-kilometre", 1, 0 },
    { "ton-kilometers", "tonne-kilometre", 1, 0 },
    { "passenger-kilometres", "passenger-kilometre", 1, 0 },
    { "passenger-kilometers", "passenger-kilometre", 1, 0 },
    { "passenger-kilometre", "passenger-kilometre", 1, 0 },
    { "passenger-km", "passenger-kilometre", 1, 0 },
    { "centners", "centner", 1, 0 },
    { "centner", "centner", 1, 0 },
    { "metric tonnes", "tonne", 1, 0 },
    { "metric tons", "tonne", 1, 0 },
    { "tonnes", "tonne", 1, 0 },
    { "tonne", "tonne", 1, 0 },
    { "tons", "tonne", 1, 0 },
    { "ton", "tonne", 1, 0 },
    { "kilometres", "kilometre", 1, 0 },
    { "kilometers", "kilometre", 1, 0 },
    { "kilometre", "kilometre", 1, 0 },
    { "kilometer", "kilometre", 1, 0 },
    { "km", "kilometre", 1, CS | GL },
    { "metres", "metre", 1, 0 },
    { "meters", "metre", 1, 0 },
    { "metre", "metre", 1, 0 },
    { "meter", "metre", 1, 0 },
    { "centimetres", "centimetre", 1, 0 },
    { "centimeters", "centimetre", 1, 0 },
    { "centimetre", "centimetre", 1, 0 },
    { "cm", "centimetre", 1, CS | GL },
    { "millimetres", "millimetre", 1, 0 },
    { "millimeters", "millimetre", 1, 0 },
    { "millimetre", "millimetre", 1, 0 },
    { "mm", "millimetre", 1, CS | GL },
    { "hectares", "hectare", 1, 0 },
    { "hectare", "hectare", 1, 0 },
    { "ha", "hectare", 1, CS | GL },
    { "litres", "litre", 1, 0 },
    { "liters", "litre", 1, 0 },
    { "litre", "litre", 1, 0 },
    { "liter", "litre", 1, 0 },
    { "barrels", "barrel", 1, 0 },
    { "barrel", "barrel", 1, 0 },
    { "megawatts", "megawatt", 1, 0 },
    { "megawatt", "megawatt", 1, 0 },
    { "MW", "megawatt", 1, CS | GL },
    { "gigawatts", "gigawatt", 1, 0 },
    { "gigawatt", "gigawatt", 1, 0 },
    { "GW", "gigawatt", 1, CS | GL },
    { "watts", "watt", 1, 0 },
    { "kilowatts", "kilowatt", 1, 0 },
    { "kilowatt", "kilowatt", 1, 0 },
    { "kW", "kilowatt", 1, CS | GL },
    { "kilowatt-hours", "kilowatt-hour", 1, 0 },
    { "kilowatt hours", "kilowatt-hour", 1, 0 },
    { "kilowatt-hour", "kilowatt-hour", 1, 0 },
    { "kWh", "kilowatt-hour", 1, CS | GL },
    { "megawatt-hours", "megawatt-hour", 1, 0 },
    { "megawatt hours", "megawatt-hour", 1, 0 },
    { "MWh", "megawatt-hour", 1, CS | GL },
    { "gigawatt-hours", "gigawatt-hour", 1, 0 },
    { "gigawatt hours", "gigawatt-hour", 1, 0 },
    { "GWh", "gigawatt-hour", 1, CS | GL },
    { "terawatt-hours", "terawatt-hour", 1, 0 },
    { "terawatt hours", "terawatt-hour", 1, 0 },
    { "gigacalories", "gigacalorie", 1, 0 },
    { "gigacalorie", "gigacalorie", 1, 0 },
    { "Gcal", "gigacalorie", 1, CS | GL },
    { "TWh", "terawatt-hour", 1, CS | GL },
    { "kilograms", "kilogram", 1, 0 },
    { "kilogrammes", "kilogram", 1, 0 },
    { "kilogram", "kilogram", 1, 0 },
    { "kg", "kilogram", 1, CS | GL },
    { "kilos", "kilogram", 1, 0 },
    { "grams", "gram", 1, 0 },
    { "grammes", "gram", 1, 0 },
    { "milligrams", "milligram", 1, 0 },
    { "milligrammes", "milligram", 1, 0 },
    { "nautical miles", "nautical mile", 1, 0 },
    { "miles", "mile", 1, 0 },
    { "feet", "foot", 1, 0 },
    { "acres", "acre", 1, 0 },
    { "degrees Celsius", "degree", 1, 0 },
    { "degrees", "degree", 1, 0 },
    { "\xc2\xb0"
      "C",
      "degree", 1, CS | GL },
    { "knots", "knot", 1, 0 },
    { "kilovolts", "kilovolt", 1, 0 },
    { "kV", "kilovolt", 1, CS | GL },
    { "carats", "carat", 1, 0 },
    { "ounces", "ounce", 1, 0 },
    { "TEU", "teu", 1, CS },
    { NULL, NULL, 0, 0 },
};

const fig_word_t fig_lex_months[] = {
    { "January", NULL, 1, CS },   { "February", NULL, 2, CS },
    { "March", NULL, 3, CS },     { "April", NULL, 4, CS },
    { "May", NULL, 5, CS },       { "June", NULL, 6, CS },
    { "July", NULL, 7, CS },      { "August", NULL, 8, CS },
    { "September", NULL, 9, CS }, { "October", NULL, 10, CS },
    { "November", NULL, 11, CS }, { "December", NULL, 12, CS },
    { "Jan", NULL, 1, CS },       { "Feb", NULL, 2, CS },
    { "Mar", NULL, 3, CS },       { "Apr", NULL, 4, CS },
    { "Jun", NULL, 6, CS },       { "Jul", NULL, 7, CS },
    { "Aug", NULL, 8, CS },       { "Sep", NULL, 9, CS },
    { "Sept", NULL, 9, CS },      { "Oct", NULL, 10, CS },
    { "Nov", NULL, 11, CS },      { "Dec", NULL, 12, CS },
    { NULL, NULL, 0, 0 },
};

const fig_word_t fig_lex_percents[] = {
    { "percentage points", NULL, 0, 0 },
    { "percentage point", NULL, 0, 0 },
    { "percent", NULL, 0, 0 },
    { "per cent", NULL, 0, 0 },
    { "pct", NULL, 0, 0 },
    { "%", NULL, 0, GL },
    { NULL, NULL, 0, 0 },
};

/* norm: ISO 8601 duration designator; lowercase means a TIME duration. */
const fig_word_t fig_lex_durations[] = {
    { "years", "Y", 1, 0 },    { "year", "Y", 1, 0 },
    { "decades", "Y", 10, 0 }, { "months", "M", 1, 0 },
    { "month", "M", 1, 0 },    { "weeks", "W", 1, 0 },
    { "week", "W", 1, 0 },     { "days", "D", 1, 0 },
    { "day", "D", 1, 0 },      { "hours", "h", 1, 0 },
    { "hour", "h", 1, 0 },     { "minutes", "m", 1, 0 },
    { "minute", "m", 1, 0 },   { "seconds", "s", 1, 0 },
    { NULL, NULL, 0, 0 },
};

const fig_word_t fig_lex_numwords[] = {
    { "zero", NULL, 0, 0 },      { "one", NULL, 1, 0 },
    { "two", NULL, 2, 0 },       { "three", NULL, 3, 0 },
    { "four", NULL, 4, 0 },      { "five", NULL, 5, 0 },
    { "six", NULL, 6, 0 },       { "seven", NULL, 7, 0 },
    { "eight", NULL, 8, 0 },     { "nine", NULL, 9, 0 },
    { "ten", NULL, 10, 0 },      { "eleven", NULL, 11, 0 },
    { "twelve", NULL, 12, 0 },   { "thirteen", NULL, 13, 0 },
    { "fourteen", NULL, 14, 0 }, { "fifteen", NULL, 15, 0 },
    { "sixteen", NULL, 16, 0 },  { "seventeen", NULL, 17, 0 },
    { "eighteen", NULL, 18, 0 }, { "nineteen", NULL, 19, 0 },
    { "twenty", NULL, 20, 0 },   { "thirty", NULL, 30, 0 },
    { "forty", NULL, 40, 0 },    { "fifty", NULL, 50, 0 },
    { "sixty", NULL, 60, 0 },    { "seventy", NULL, 70, 0 },
    { "eighty", NULL, 80, 0 },   { "ninety", NULL, 90, 0 },
    { "hundred", NULL, 100, 0 }, { NULL, NULL, 0, 0 },
};

static unsigned char
lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

size_t
fig_lex_blank(const unsigned char *t, size_t n, size_t p)
{
    if (p >= n)
        return 0;
    unsigned char c = t[p];
    if (c == ' ' || c == '\t')
        return 1;
    if (c == 0xC2 && p + 1 < n && t[p + 1] == 0xA0)
        return 2;
    if (c == 0xE2 && p + 2 < n && t[p + 1] == 0x80 &&
        (t[p + 2] <= 0x8A || t[p + 2] == 0xAF) && t[p + 2] >= 0x80)
        return 3;
    return 0;
}

size_t
fig_lex_blank_before(const unsigned char *t, size_t p)
{
    if (p == 0)
        return 0;
    unsigned char c = t[p - 1];
    if (c == ' ' || c == '\t')
        return 1;
    if (c == 0xA0 && p >= 2 && t[p - 2] == 0xC2)
        return 2;
    if (p >= 3 && t[p - 3] == 0xE2 && t[p - 2] == 0x80 &&
        ((c >= 0x80 && c <= 0x8A) || c == 0xAF))
        return 3;
    return 0;
}

size_t
fig_lex_skip_blanks(const unsigned char *t, size_t n, size_t p)
{
    size_t k;
    while ((k = fig_lex_blank(t, n, p)) != 0)
        p += k;
    return p;
}

size_t
fig_lex_skip_blanks_back(const unsigned char *t, size_t p)
{
    size_t k;
    while ((k = fig_lex_blank_before(t, p)) != 0)
        p -= k;
    return p;
}

size_t
fig_lex_dash(const unsigned char *t, size_t n, size_t p)
{
    if (p >= n)
        return 0;
    if (t[p] == '-')
        return 1;
    if (t[p] == 0xE2 && p + 2 < n) {
        if (t[p + 1] == 0x80 && t[p + 2] >= 0x90 && t[p + 2] <= 0x94)
            return 3;
        if (t[p + 1] == 0x88 && t[p + 2] == 0x92)
            return 3;
    }
    return 0;
}

size_t
fig_lex_dash_before(const unsigned char *t, size_t p)
{
    if (p == 0)
        return 0;
    if (t[p - 1] == '-')
        return 1;
    if (p >= 3 && t[p - 3] == 0xE2) {
        if (t[p - 2] == 0x80 && t[p - 1] >= 0x90 && t[p - 1] <= 0x94)
            return 3;
        if (t[p - 2] == 0x88 && t[p - 1] == 0x92)
            return 3;
    }
    return 0;
}

size_t
fig_lex_match(const unsigned char *t, size_t n, size_t p, const char *pat,
              bool cs)
{
    size_t q = p;
    const unsigned char *s = (const unsigned char *)pat;
    if (!*s)
        return 0;
    for (; *s; s++) {
        if (*s == ' ') {
            size_t k = fig_lex_blank(t, n, q);
            if (!k)
                return 0;
            q = fig_lex_skip_blanks(t, n, q);
            continue;
        }
        if (q >= n)
            return 0;
        if (cs ? t[q] != *s : lower(t[q]) != lower(*s))
            return 0;
        q++;
    }
    unsigned char last = s[-1];
    if ((fig_lex_is_alpha(last) || fig_lex_is_digit(last)) && q < n &&
        (fig_lex_is_alpha(t[q]) || fig_lex_is_digit(t[q])))
        return 0;
    return q;
}

/* Entries of one table by lower-cased first byte, in table order, so the
 * longest-match and first-found rules see the same entries as a full scan
 * (every other entry fails the first-byte test anyway). The entries of one
 * first byte are consecutive slots: a lookup walks an array, not a chain
 * of dependent loads. */
typedef struct tslot {
    uint64_t pre;   /* lower-cased bytes before the first blank (up to 8) */
    uint64_t pmask; /* which bytes of pre to compare */
} tslot_t;

typedef struct tindex {
    const fig_word_t *table; /* the table indexed */
    uint8_t from[256];       /* first slot of the entries starting with c */
    uint8_t to[256];         /* one past their last slot */
    tslot_t slot[255];       /* prefix tests, by slot */
    uint64_t raw[255];       /* the bytes of pre as written (FULL_CS) */
    uint8_t idx[255];        /* table entry of each slot */
    uint8_t len[255];        /* pattern length of each slot */
    uint8_t full[255];       /* FULL_*: pre holds the whole pattern */
} tindex_t;

/* tindex_t.full: the pattern has at most eight bytes and no blank, so a
 * match of pre (case-insensitive) or raw (FULL_CS) is a match of it all,
 * up to the word-boundary test. */
#define FULL_CI 1
#define FULL_CS 2

#define TINDEX_MAX 7 /* tables tindex_build() indexes */
static tindex_t tindex[TINDEX_MAX];
static size_t n_tindex;
static pthread_once_t tindex_once = PTHREAD_ONCE_INIT;
static atomic_bool tindex_ready; /* set once tindex is complete */

static void
tindex_add(const fig_word_t *table)
{
    size_t n = 0;
    for (; table[n].pat; n++)
        if (strlen(table[n].pat) >= 255)
            return; /* not indexed: scanned in full */
    if (n >= 255 || n_tindex >= TINDEX_MAX)
        return; /* not indexed: scanned in full */
    tindex_t *x = &tindex[n_tindex++];
    memset(x, 0, sizeof *x);
    x->table = table;
    size_t count[256] = { 0 };
    for (size_t i = 0; i < n; i++)
        count[lower((unsigned char)table[i].pat[0])]++;
    size_t at = 0;
    for (size_t c = 0; c < 256; c++) {
        x->from[c] = x->to[c] = (uint8_t)at;
        at += count[c];
    }
    for (size_t i = 0; i < n; i++) {
        const char *pat = table[i].pat;
        size_t k = x->to[lower((unsigned char)pat[0])]++;
        x->idx[k] = (uint8_t)i;
        x->len[k] = (uint8_t)strlen(pat);
        /* a blank in the pattern matches any blank run: bytes up to it */
        for (size_t j = 0; j < 8 && pat[j] && pat[j] != ' '; j++) {
            x->slot[k].pre |= (uint64_t)lower((unsigned char)pat[j]) << (8 * j);
            x->slot[k].pmask |= (uint64_t)0xFF << (8 * j);
            x->raw[k] |= (uint64_t)(unsigned char)pat[j] << (8 * j);
        }
        if (x->len[k] <= 8 && !strchr(pat, ' '))
            x->full[k] = table[i].flags & FIG_LEX_CS ? FULL_CS : FULL_CI;
    }
}

/* Built once, read-only afterwards: the tables are static and so is this. */
static void
tindex_build(void)
{
    /* the tables looked up after every number first */
    tindex_add(fig_lex_percents);
    tindex_add(fig_lex_currencies);
    tindex_add(fig_lex_units);
    tindex_add(fig_lex_scales);
    tindex_add(fig_lex_months);
    tindex_add(fig_lex_durations);
    tindex_add(fig_lex_numwords);
    atomic_store_explicit(&tindex_ready, true, memory_order_release);
}

/* The index of table, or NULL for a table not listed in tindex_build(). */
static const tindex_t *
tindex_of(const fig_word_t *table)
{
    /* pthread_once() is a call every time; the flag is a load */
    if (!atomic_load_explicit(&tindex_ready, memory_order_acquire) &&
        (pthread_once(&tindex_once, tindex_build) != 0 ||
         !atomic_load_explicit(&tindex_ready, memory_order_acquire)))
        return NULL;
    for (size_t i = 0; i < n_tindex; i++)
        if (tindex[i].table == table)
            return &tindex[i];
    return NULL;
}

size_t
fig_lex_match_table(const unsigned char *t, size_t n, size_t p,
                    const fig_word_t *table, bool glued, const fig_word_t **w)
{
    size_t best = 0;
    *w = NULL;
    if (p >= n)
        return 0;
    unsigned char c0 = lower(t[p]);
    const tindex_t *x = tindex_of(table);
    if (x) {
        /* up to eight bytes at p, lower-cased, zeros past the end (where
         * no pattern byte can match): most entries fail on them */
        uint64_t raw = swar_load((const unsigned char *)t + p, n - p);
        uint64_t tw = raw | swar_in(raw, 'A', 'Z') >> 2;
        for (size_t k = x->from[c0]; k < x->to[c0]; k++) {
            if ((tw ^ x->slot[k].pre) & x->slot[k].pmask)
                continue;
            const fig_word_t *e = &table[x->idx[k]];
            if (glued && !(e->flags & FIG_LEX_GLUE))
                continue;
            size_t q;
            if (x->full[k]) {
                /* what fig_lex_match() finds, without its byte loop (the
                 * zeros past the text end match no pattern byte) */
                if (x->full[k] == FULL_CS &&
                    ((raw ^ x->raw[k]) & x->slot[k].pmask))
                    continue;
                size_t len = x->len[k];
                unsigned char last = (unsigned char)e->pat[len - 1];
                q = p + len;
                if ((fig_lex_is_alpha(last) || fig_lex_is_digit(last)) &&
                    q < n && (fig_lex_is_alpha(t[q]) || fig_lex_is_digit(t[q])))
                    q = 0;
            } else {
                q = fig_lex_match(t, n, p, e->pat, e->flags & FIG_LEX_CS);
            }
            if (q > best) {
                best = q;
                *w = e;
            }
        }
        return best;
    }
    for (const fig_word_t *e = table; e->pat; e++) {
        if (glued && !(e->flags & FIG_LEX_GLUE))
            continue;
        if (lower((unsigned char)e->pat[0]) != c0)
            continue;
        size_t q = fig_lex_match(t, n, p, e->pat, e->flags & FIG_LEX_CS);
        if (q > best) {
            best = q;
            *w = e;
        }
    }
    return best;
}

bool
fig_lex_prev_word(const unsigned char *t, size_t p, size_t *ws, size_t *we)
{
    size_t q = fig_lex_skip_blanks_back(t, p);
    size_t e = q;
    while (q > 0 && fig_lex_is_alpha(t[q - 1]))
        q--;
    if (q == e)
        return false;
    *ws = q;
    *we = e;
    return true;
}

bool
fig_lex_word_is(const unsigned char *t, size_t ws, size_t we, const char *word)
{
    /* no strlen: the word's NUL ends the comparison */
    size_t k = we - ws;
    for (size_t i = 0; i < k; i++)
        if (!word[i] || lower(t[ws + i]) != lower((unsigned char)word[i]))
            return false;
    return word[k] == '\0';
}

/* t[ws..we) (k bytes) equals table entry i under the entry's case rule. */
static bool
entry_is(const unsigned char *t, size_t ws, size_t k, const fig_word_t *e)
{
    const char *pat = e->pat;
    bool cs = e->flags & FIG_LEX_CS;
    for (size_t j = 0; j < k; j++) {
        unsigned char a = t[ws + j], b = (unsigned char)pat[j];
        if (cs ? a != b : lower(a) != lower(b))
            return false;
    }
    return true;
}

int
fig_lex_word_in(const unsigned char *t, size_t ws, size_t we,
                const fig_word_t *table)
{
    size_t k = we - ws;
    const tindex_t *x = tindex_of(table);
    if (x) {
        if (k == 0 || k >= 255)
            return -1; /* no pattern is empty; none is that long */
        unsigned char c0 = lower(t[ws]);
        for (size_t j = x->from[c0]; j < x->to[c0]; j++)
            if (x->len[j] == k && entry_is(t, ws, k, &table[x->idx[j]]))
                return x->idx[j];
        return -1;
    }
    for (int i = 0; table[i].pat; i++)
        if (strlen(table[i].pat) == k && entry_is(t, ws, k, &table[i]))
            return i;
    return -1;
}
