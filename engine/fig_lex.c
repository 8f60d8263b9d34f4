/*
 * fig_lex: raw-byte lexical helpers for figures and the lookup index of
 * their word tables (the tables themselves are a lexicon's, lexicon.h). Blanks
 * and dashes are recognised in their UTF-8 forms so that offsets stay byte
 * offsets into the caller's input.
 */
#include "fig_lex.h"
#include "lexicon.h"
#include "swar.h"

#include "../common/xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* Entries a table may have to be indexed (the generated currency table,
 * with every ISO 4217 code and name, has several hundred). */
#define TSLOTS 1024

typedef struct tindex {
    const fig_word_t *table; /* the table indexed */
    uint16_t from[256];      /* first slot of the entries starting with c */
    uint16_t to[256];        /* one past their last slot */
    uint16_t sub[256];       /* 1 + the second-byte index of those entries
                                in fig_lex.subs, 0: none (few entries) */
    tslot_t slot[TSLOTS];    /* prefix tests, by slot */
    uint64_t raw[TSLOTS];    /* the bytes of pre as written (FULL_CS) */
    uint16_t idx[TSLOTS];    /* table entry of each slot */
    uint8_t len[TSLOTS];     /* pattern length of each slot */
    uint8_t full[TSLOTS];    /* FULL_*: pre holds the whole pattern */
} tindex_t;

/* tindex_t.full: the pattern has at most eight bytes and no blank, so a
 * match of pre (case-insensitive) or raw (FULL_CS) is a match of it all,
 * up to the word-boundary test. */
#define FULL_CI 1
#define FULL_CS 2

/* The entries of one first byte (SUB_MIN or more) by their second byte:
 * for each byte c, the slots whose prefix test can pass when the text's
 * second byte is c (lower-cased): those with that second byte and those
 * whose test does not cover it (a one-byte pattern, a blank second), in
 * slot order, so that matches are met in table order as without it. */
typedef struct sub2 {
    uint32_t from[256]; /* first position of c's slots in fig_lex.order */
    uint32_t to[256];   /* one past their last */
} sub2_t;

#define SUB_MIN 8

/* Tables indexed (fig_lex_new lists them). */
#define N_TABLES 22

#define TWHERE 64 /* slots of fig_lex.where, more than N_TABLES */

/* First slot of fig_lex.where for a table's address. */
static size_t
twhere_slot(const fig_word_t *table)
{
    uintptr_t a = (uintptr_t)table;
    return (size_t)(a ^ (a >> 6) ^ (a >> 12)) & (TWHERE - 1);
}

struct fig_lex {
    const lexicon_t *lex; /* the lexicon indexed (borrowed) */
    /* the tables indexed, side by side: tindex_of() compares with this
     * array, not with the indexes 30 KB apart */
    const fig_word_t *tab[N_TABLES];
    tindex_t idx[N_TABLES]; /* one per table */
    size_t n;               /* entries of idx in use */
    /* open addressing from a table's address to 1 + its index in tab (0:
     * free), so tindex_of() finds it in a probe or two */
    uint8_t where[TWHERE];
    uint64_t sign_end[4]; /* last bytes of the currency signs */
    sub2_t *subs;         /* second-byte indexes (tindex_t.sub) */
    size_t n_subs;        /* their count */
    uint16_t *order;      /* the slot lists they point into */
    size_t n_order;       /* slots in order */
};

/* Append slot k to lx->order (cap *cap, grown as needed). */
static void
order_push(fig_lex_t *lx, size_t *cap, size_t k)
{
    if (lx->n_order == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        lx->order = xreallocarray(lx->order, *cap, sizeof *lx->order);
    }
    lx->order[lx->n_order++] = (uint16_t)k;
}

/* Build the second-byte index of the slots [from, to) of x (the entries
 * of one first byte) as subs entry lx->n_subs. */
static void
sub_add(fig_lex_t *lx, tindex_t *x, size_t c0, size_t *cap_subs,
        size_t *cap_order)
{
    size_t from = x->from[c0], to = x->to[c0];
    if (lx->n_subs == *cap_subs) {
        *cap_subs = *cap_subs ? *cap_subs * 2 : 16;
        lx->subs = xreallocarray(lx->subs, *cap_subs, sizeof *lx->subs);
    }
    sub2_t *sb = &lx->subs[lx->n_subs++];
    x->sub[c0] = (uint16_t)lx->n_subs;
    bool seen[256] = { false };
    for (size_t k = from; k < to; k++)
        if ((x->slot[k].pmask >> 8) & 0xFF)
            seen[(x->slot[k].pre >> 8) & 0xFF] = true;
    /* the slots of a second byte no entry has: the wildcards alone */
    uint32_t wild_from = (uint32_t)lx->n_order;
    for (size_t k = from; k < to; k++)
        if (!((x->slot[k].pmask >> 8) & 0xFF))
            order_push(lx, cap_order, k);
    uint32_t wild_to = (uint32_t)lx->n_order;
    for (size_t c = 0; c < 256; c++) {
        if (!seen[c]) {
            sb->from[c] = wild_from;
            sb->to[c] = wild_to;
            continue;
        }
        sb->from[c] = (uint32_t)lx->n_order;
        for (size_t k = from; k < to; k++)
            if (!((x->slot[k].pmask >> 8) & 0xFF) ||
                ((x->slot[k].pre >> 8) & 0xFF) == c)
                order_push(lx, cap_order, k);
        sb->to[c] = (uint32_t)lx->n_order;
    }
}

static void
tindex_add(fig_lex_t *lx, const fig_word_t *table, size_t *cap_subs,
           size_t *cap_order)
{
    size_t n = 0;
    for (; table[n].pat; n++)
        if (strlen(table[n].pat) >= 255)
            return; /* not indexed: scanned in full */
    if (n >= TSLOTS || lx->n == N_TABLES)
        return;
    size_t w = twhere_slot(table);
    while (lx->where[w] && lx->tab[lx->where[w] - 1] != table)
        w = (w + 1) & (TWHERE - 1);
    if (!lx->where[w]) /* a table listed twice: the first index serves */
        lx->where[w] = (uint8_t)(lx->n + 1);
    lx->tab[lx->n] = table;
    tindex_t *x = &lx->idx[lx->n++];
    memset(x, 0, sizeof *x);
    x->table = table;
    size_t count[256] = { 0 };
    for (size_t i = 0; i < n; i++)
        count[lower((unsigned char)table[i].pat[0])]++;
    size_t at = 0;
    for (size_t c = 0; c < 256; c++) {
        x->from[c] = x->to[c] = (uint16_t)at;
        at += count[c];
    }
    for (size_t i = 0; i < n; i++) {
        const char *pat = table[i].pat;
        size_t k = x->to[lower((unsigned char)pat[0])]++;
        x->idx[k] = (uint16_t)i;
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
    for (size_t c = 0; c < 256; c++)
        if (x->to[c] - x->from[c] >= SUB_MIN)
            sub_add(lx, x, c, cap_subs, cap_order);
}

fig_lex_t *
fig_lex_new(const lexicon_t *lex)
{
    fig_lex_t *lx = xcalloc(1, sizeof *lx);
    lx->lex = lex;
    /* the tables looked up after every number first */
    const fig_word_t *const tables[N_TABLES] = {
        lex->fig_percents,         lex->fig_currencies,
        lex->fig_currency_symbols, lex->fig_units,
        lex->fig_scales,           lex->fig_months,
        lex->fig_durations,        lex->fig_numwords,
        lex->fig_loose_followers,  lex->fig_range_connectors,
        lex->fig_year_preps,       lex->fig_seasons,
        lex->fig_season_edges,     lex->fig_year_edges,
        lex->fig_relative_periods, lex->fig_part_ordinals,
        lex->fig_carry_preps,      lex->fig_clock_words,
        lex->fig_ordinal_suffixes, lex->fig_year_prefixes,
        lex->fig_unit_gaps,        lex->fig_number_signs,
    };
    size_t cap_subs = 0, cap_order = 0;
    for (size_t i = 0; i < N_TABLES; i++)
        tindex_add(lx, tables[i], &cap_subs, &cap_order);
    for (const fig_word_t *w = lex->fig_currency_symbols; w->pat; w++) {
        size_t k = strlen(w->pat);
        if (k) {
            unsigned char c = (unsigned char)w->pat[k - 1];
            lx->sign_end[c >> 6] |= 1ULL << (c & 63);
        }
    }
    return lx;
}

const lexicon_t *
fig_lex_lexicon(const fig_lex_t *lx)
{
    return lx->lex;
}

void
fig_lex_destroy(fig_lex_t **lx)
{
    if (!lx || !*lx)
        return;
    free((*lx)->subs);
    free((*lx)->order);
    free(*lx);
    *lx = NULL;
}

/* The index of table, or NULL for a table fig_lex_new() did not index
 * (scanned in full). */
static const tindex_t *
tindex_of(const fig_lex_t *lx, const fig_word_t *table)
{
    for (size_t w = twhere_slot(table); lx->where[w];
         w = (w + 1) & (TWHERE - 1))
        if (lx->tab[lx->where[w] - 1] == table)
            return &lx->idx[lx->where[w] - 1];
    return NULL;
}

bool
fig_lex_sign_end(const fig_lex_t *lx, unsigned char c)
{
    return (lx->sign_end[c >> 6] >> (c & 63)) & 1;
}

/* fig_lex_match_table() for slot k of x at t[p] (raw: up to eight bytes
 * there, tw: the same lower-cased): a match longer than *best becomes the
 * best, its entry *w. */
static inline void
slot_try(const tindex_t *x, size_t k, const unsigned char *t, size_t n,
         size_t p, uint64_t raw, uint64_t tw, bool glued, size_t *best,
         const fig_word_t **w)
{
    if ((tw ^ x->slot[k].pre) & x->slot[k].pmask)
        return;
    const fig_word_t *e = &x->table[x->idx[k]];
    if (glued ? !(e->flags & FIG_LEX_GLUE) : (e->flags & FIG_LEX_ONLY_GLUED))
        return;
    size_t q;
    if (x->full[k]) {
        /* what fig_lex_match() finds, without its byte loop (the zeros
         * past the text end match no pattern byte) */
        if (x->full[k] == FULL_CS && ((raw ^ x->raw[k]) & x->slot[k].pmask))
            return;
        size_t len = x->len[k];
        unsigned char last = (unsigned char)e->pat[len - 1];
        q = p + len;
        if ((fig_lex_is_alpha(last) || fig_lex_is_digit(last)) && q < n &&
            (fig_lex_is_alpha(t[q]) || fig_lex_is_digit(t[q])))
            q = 0;
    } else {
        q = fig_lex_match(t, n, p, e->pat, e->flags & FIG_LEX_CS);
    }
    if (q > *best) {
        *best = q;
        *w = e;
    }
}

/* fig_lex_match_table() through x, the index of table, when entries
 * start with the text's first byte c0. Out of line: the lookups that find
 * none (most) save no registers for it. */
static __attribute__((noinline)) size_t
match_indexed(const fig_lex_t *lx, const tindex_t *x, const unsigned char *t,
              size_t n, size_t p, unsigned c0, bool glued, const fig_word_t **w)
{
    size_t best = 0;
    /* up to eight bytes at p, lower-cased, zeros past the end (where no
     * pattern byte can match): most entries fail on them */
    uint64_t raw = swar_load((const unsigned char *)t + p, n - p);
    uint64_t tw = raw | swar_in(raw, 'A', 'Z') >> 2;
    if (x->sub[c0]) {
        /* many entries: only those the text's second byte allows */
        const sub2_t *sb = &lx->subs[x->sub[c0] - 1];
        unsigned c1 = (unsigned)(tw >> 8) & 0xFF;
        for (size_t j = sb->from[c1]; j < sb->to[c1]; j++)
            slot_try(x, lx->order[j], t, n, p, raw, tw, glued, &best, w);
    } else {
        for (size_t k = x->from[c0]; k < x->to[c0]; k++)
            slot_try(x, k, t, n, p, raw, tw, glued, &best, w);
    }
    return best;
}

/* fig_lex_match_table() of a table fig_lex_new() did not index: every
 * entry is tried. */
static __attribute__((noinline)) size_t
match_scan(const unsigned char *t, size_t n, size_t p, unsigned c0,
           const fig_word_t *table, bool glued, const fig_word_t **w)
{
    size_t best = 0;
    for (const fig_word_t *e = table; e->pat; e++) {
        if (glued ? !(e->flags & FIG_LEX_GLUE)
                  : (e->flags & FIG_LEX_ONLY_GLUED))
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

size_t
fig_lex_match_table(const fig_lex_t *lx, const unsigned char *t, size_t n,
                    size_t p, const fig_word_t *table, bool glued,
                    const fig_word_t **w)
{
    *w = NULL;
    if (p >= n)
        return 0;
    unsigned char c0 = lower(t[p]);
    const tindex_t *x = tindex_of(lx, table);
    if (!x)
        return match_scan(t, n, p, c0, table, glued, w);
    if (x->from[c0] == x->to[c0])
        return 0;
    return match_indexed(lx, x, t, n, p, c0, glued, w);
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
fig_lex_word_in(const fig_lex_t *lx, const unsigned char *t, size_t ws,
                size_t we, const fig_word_t *table)
{
    size_t k = we - ws;
    const tindex_t *x = tindex_of(lx, table);
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
