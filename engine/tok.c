/*
 * tok: byte-class driven word scanner. ASCII runs through a table; a
 * multi-byte UTF-8 sequence is a letter unless it is punctuation
 * (U+0080-00BF, U+2000-206F, U+3000-303F, U+FEFF) or invalid.
 */
#include "tok.h"
#include "swar.h"

#include <string.h>

enum {
    C_SEP = TOK_C_SEP,
    C_UP = TOK_C_UP,
    C_LO = TOK_C_LO,
    C_DIG = TOK_C_DIG,
    C_HI = TOK_C_HI,
    C_APOS = TOK_C_APOS,
    C_HYPH = TOK_C_HYPH
};

const unsigned char tok_class[256] = {
    ['A'] = C_UP,  ['B'] = C_UP,  ['C'] = C_UP,    ['D'] = C_UP,
    ['E'] = C_UP,  ['F'] = C_UP,  ['G'] = C_UP,    ['H'] = C_UP,
    ['I'] = C_UP,  ['J'] = C_UP,  ['K'] = C_UP,    ['L'] = C_UP,
    ['M'] = C_UP,  ['N'] = C_UP,  ['O'] = C_UP,    ['P'] = C_UP,
    ['Q'] = C_UP,  ['R'] = C_UP,  ['S'] = C_UP,    ['T'] = C_UP,
    ['U'] = C_UP,  ['V'] = C_UP,  ['W'] = C_UP,    ['X'] = C_UP,
    ['Y'] = C_UP,  ['Z'] = C_UP,  ['a'] = C_LO,    ['b'] = C_LO,
    ['c'] = C_LO,  ['d'] = C_LO,  ['e'] = C_LO,    ['f'] = C_LO,
    ['g'] = C_LO,  ['h'] = C_LO,  ['i'] = C_LO,    ['j'] = C_LO,
    ['k'] = C_LO,  ['l'] = C_LO,  ['m'] = C_LO,    ['n'] = C_LO,
    ['o'] = C_LO,  ['p'] = C_LO,  ['q'] = C_LO,    ['r'] = C_LO,
    ['s'] = C_LO,  ['t'] = C_LO,  ['u'] = C_LO,    ['v'] = C_LO,
    ['w'] = C_LO,  ['x'] = C_LO,  ['y'] = C_LO,    ['z'] = C_LO,
    ['0'] = C_DIG, ['1'] = C_DIG, ['2'] = C_DIG,   ['3'] = C_DIG,
    ['4'] = C_DIG, ['5'] = C_DIG, ['6'] = C_DIG,   ['7'] = C_DIG,
    ['8'] = C_DIG, ['9'] = C_DIG, ['\''] = C_APOS, ['-'] = C_HYPH,
#define HI16(b)                                                                \
    [b] = C_HI, [b + 1] = C_HI, [b + 2] = C_HI, [b + 3] = C_HI,                \
    [b + 4] = C_HI, [b + 5] = C_HI, [b + 6] = C_HI, [b + 7] = C_HI,            \
    [b + 8] = C_HI, [b + 9] = C_HI, [b + 10] = C_HI, [b + 11] = C_HI,          \
    [b + 12] = C_HI, [b + 13] = C_HI, [b + 14] = C_HI, [b + 15] = C_HI
    HI16(0xC0),    HI16(0xD0),    HI16(0xE0),      HI16(0xF0),
#undef HI16
};

/* The word hash (tok.h) of a word fed in pieces. */
typedef struct hs {
    uint64_t h;   /* blocks so far */
    uint64_t blk; /* pending bytes, low first */
    unsigned nb;  /* bytes pending (0..7) */
    uint32_t len; /* bytes fed */
} hs_t;

/* Feed k (1..8) bytes held in the low bytes of x (higher bytes 0). */
static inline void
hs_add(hs_t *st, uint64_t x, unsigned k)
{
    unsigned nb = st->nb;
    st->len += k;
    st->blk |= x << (8 * nb);
    if (nb + k < 8) {
        st->nb = nb + k;
        return;
    }
    st->h = tok_hs_absorb(st->h, st->blk);
    unsigned used = 8 - nb; /* bytes of x in that block */
    st->blk = used == 8 ? 0 : x >> (8 * used);
    st->nb = nb + k - 8;
}

static uint64_t
hs_end(const hs_t *st)
{
    return tok_hs_close(st->h, st->blk, st->len);
}

/* Length of the UTF-8 sequence at s[i] (1..4), or 0 if invalid; *cp gets
 * the code point. */
static unsigned
u8_decode(const unsigned char *s, size_t len, size_t i, uint32_t *cp)
{
    unsigned c = s[i], n;
    uint32_t v;
    if (c < 0xC2 || c > 0xF4)
        return 0;
    if (c < 0xE0) {
        n = 2;
        v = c & 0x1F;
    } else if (c < 0xF0) {
        n = 3;
        v = c & 0x0F;
    } else {
        n = 4;
        v = c & 0x07;
    }
    if (i + n > len)
        return 0;
    for (unsigned k = 1; k < n; k++) {
        if ((s[i + k] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i + k] & 0x3F);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
        (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

static bool
cp_is_punct(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0xBF) || cp == 0xD7 || cp == 0xF7 ||
           (cp >= 0x2000 && cp <= 0x206F) || (cp >= 0x3000 && cp <= 0x303F) ||
           cp == 0xFEFF;
}

static bool
cp_is_upper(uint32_t cp)
{
    if (cp >= 0xC0 && cp <= 0xDE)
        return cp != 0xD7;
    if (cp >= 0x100 && cp <= 0x17F)
        return (cp & 1) == 0;
    if (cp >= 0x400 && cp <= 0x42F)
        return true;
    return false;
}

/* Letter length at s[i]: 1 for ASCII alnum, the sequence length for a
 * non-punctuation code point, 0 otherwise. */
static unsigned
letter_len(const unsigned char *s, size_t len, size_t i, uint32_t *cp)
{
    unsigned c = tok_class[s[i]];
    if (c == C_UP || c == C_LO || c == C_DIG) {
        *cp = s[i];
        return 1;
    }
    if (c != C_HI)
        return 0;
    unsigned n = u8_decode(s, len, i, cp);
    if (!n || cp_is_punct(*cp))
        return 0;
    return n;
}

/* An apostrophe (ASCII or U+2019) at s[i]: its length, else 0. */
static unsigned
apos_len(const unsigned char *s, size_t len, size_t i)
{
    if (s[i] == '\'')
        return 1;
    if (s[i] == 0xE2 && i + 2 < len && s[i + 1] == 0x80 &&
        (s[i + 2] == 0x99 || s[i + 2] == 0x98))
        return 3;
    return 0;
}

/* The word ends at s[e], a letter or digit before it, at an apostrophe
 * the slow loop would end it at (a possessive 's, s' or a closing quote):
 * where the loop would go on after it (0 if the apostrophe may be inside
 * the word or there is none), with *poss set as the loop would set
 * TOK_POSS. */
static size_t
apos_end(const unsigned char *s, size_t len, size_t e, bool *poss)
{
    unsigned a = apos_len(s, len, e);
    if (!a)
        return 0;
    size_t j = e + a;
    uint32_t cp2;
    *poss = true;
    if (j < len && (s[j] == 's' || s[j] == 'S') &&
        (j + 1 >= len || !letter_len(s, len, j + 1, &cp2)))
        return j + 1;
    if (j < len && letter_len(s, len, j, &cp2))
        return 0;
    if (s[e - 1] == 's' || s[e - 1] == 'S')
        return j;
    *poss = false;
    return e;
}

/* tok_hash() of any word, block by block. Out of line: the short words'
 * path saves no registers for it. */
static __attribute__((noinline)) uint64_t
hash_any(const unsigned char *s, size_t n)
{
    hs_t st = { TOK_HS_SEED, 0, 0, 0 };
    size_t i = 0;
    /* whole blocks straight into the hash while no 0xE2 came (the usual
     * case: the block state stays empty) */
    while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (swar_eq(w, 0xE2))
            break;
        st.h = tok_hs_absorb(st.h, w | (swar_in(w, 'A', 'Z') >> 2));
        st.len += 8;
        i += 8;
    }
    while (i < n) {
        /* up to eight bytes at once (zeros past the end), when no 0xE2
         * (start of U+2018/U+2019) is among them */
        size_t k = n - i < 8 ? n - i : 8;
        uint64_t w = swar_load(s + i, k);
        if (!swar_eq(w, 0xE2)) {
            hs_add(&st, w | (swar_in(w, 'A', 'Z') >> 2), (unsigned)k);
            i += k;
            continue;
        }
        unsigned c = s[i];
        if (c >= 'A' && c <= 'Z')
            c += 32;
        else if (c == 0xE2 && i + 2 < n && s[i + 1] == 0x80 &&
                 (s[i + 2] == 0x99 || s[i + 2] == 0x98)) {
            c = '\'';
            i += 2;
        }
        hs_add(&st, c, 1);
        i++;
    }
    return hs_end(&st);
}

uint64_t
tok_hash(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    if (n < 16) {
        /* one or two blocks: no loop when no 0xE2 (start of
         * U+2018/U+2019) is among them */
        uint64_t lo = swar_load(s, n);
        uint64_t hi = n > 8 ? swar_load(s + 8, n - 8) : 0;
        if (!(swar_eq(lo, 0xE2) | swar_eq(hi, 0xE2))) {
            lo |= swar_in(lo, 'A', 'Z') >> 2;
            if (n < 8)
                return tok_hs_close(TOK_HS_SEED, lo, n);
            hi |= swar_in(hi, 'A', 'Z') >> 2;
            return tok_hs_close(tok_hs_absorb(TOK_HS_SEED, lo), hi, n);
        }
    }
    return hash_any(s, n);
}

uint64_t
tok_seq(uint64_t h, uint64_t word)
{
    if (!h)
        return word;
    h = ((h << 17) | (h >> 47)) ^ word;
    h *= 0x9E3779B97F4A7C15ULL;
    return h ? h : 1;
}

static bool
is_sent_punct(unsigned c)
{
    return c == '.' || c == '!' || c == '?' || c == ':' || c == ';' ||
           c == '\n' || c == '\r';
}

bool
tok_next_any(const char *str, size_t len, size_t *pos, tok_t *t)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = *pos;
    uint16_t flags = i == 0 ? TOK_SENT | TOK_BREAK : 0;
    size_t gap = i;
    uint32_t cp = 0;
    unsigned n = 0;
    /* the usual gap, one blank before an ASCII letter or digit, sets no
     * flag: step over it (the loop below stops at once) */
    if (i + 1 < len && s[i] == ' ' && (unsigned)tok_class[s[i + 1]] - C_UP < 3u)
        i++;
    /* gap: everything up to the first letter or digit */
    while (i < len) {
        unsigned c = s[i];
        unsigned k = tok_class[c];
        if (k == C_UP || k == C_LO || k == C_DIG)
            break;
        if (k == C_HI) {
            /* U+2000-U+203F (dashes, curly quotes): punctuation */
            if (c == 0xE2 && i + 2 < len && s[i + 1] == 0x80 &&
                (s[i + 2] & 0xC0) == 0x80) {
                cp = 0x2000 + (s[i + 2] & 0x3Fu);
                i += 3;
                flags |= TOK_BREAK;
                continue;
            }
            /* letter_len() of a C_HI byte, decoding it once */
            unsigned m = u8_decode(s, len, i, &cp);
            if (m && !cp_is_punct(cp)) {
                n = m;
                break;
            }
            i += m ? m : 1;
            if (!(m == 2 && cp == 0xA0))
                flags |= TOK_BREAK;
            continue;
        }
        if (c != ' ' && c != '\t') {
            flags |= TOK_BREAK;
            if (is_sent_punct(c))
                flags |= TOK_SENT;
            if (c == '\n')
                flags |= TOK_NL;
        }
        i++;
    }
    if (i >= len) {
        *pos = len;
        return false;
    }
    if (i - gap == 2 && s[gap] == ',' && s[gap + 1] == ' ')
        flags |= TOK_COMMA;
    t->gap = (uint32_t)gap;
    t->start = (uint32_t)i;
    unsigned k0 = tok_class[s[i]];
    if (k0 == C_UP || (k0 == C_HI && cp_is_upper(cp)))
        flags |= TOK_CAP;
    else if (k0 == C_LO || k0 == C_HI)
        flags |= TOK_LOWER;
    else
        flags |= TOK_NUM | TOK_DIGIT;
    /* The common word: one to seven ASCII letters and digits, then a
     * blank or punctuation. Its flags and hash come from one block, as
     * the loop below would compute them. */
    if (i + 8 <= len) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        uint64_t up = swar_in(w, 'A', 'Z');
        uint64_t dig = swar_in(w, '0', '9');
        uint64_t stop = ~(up | dig | swar_in(w, 'a', 'z')) & SWAR_HIGH;
        unsigned k = stop ? (unsigned)swar_first(stop) : 0;
        size_t after = i + k;
        bool poss = false;
        /* "Russia's" (or with U+2019): a possessive ends the word too */
        if (k && tok_class[s[i + k]] != C_SEP)
            after = apos_end(s, len, i + k, &poss);
        if (k && after) {
            uint64_t keep = (1ULL << (8 * k)) - 1;
            up &= keep;
            dig &= keep;
            uint64_t let = keep & SWAR_HIGH & ~dig;
            if (dig)
                flags |= TOK_DIGIT;
            if ((let & (let - 1)) && !(let & ~up))
                flags |= TOK_ALLCAPS;
            uint64_t blk = (w | (up >> 2)) & keep;
            hs_t one = { TOK_HS_SEED, blk, k, k };
            if (poss)
                flags |= TOK_POSS;
            t->end = (uint32_t)(i + k);
            t->after = (uint32_t)after;
            t->flags = flags;
            t->hash = hs_end(&one);
            *pos = after;
            return true;
        }
    }
    /* letters counted (only >= 2 matters) and whether one was not upper
     * case: together they decide TOK_ALLCAPS */
    unsigned letters = 0;
    bool lower_seen = false;
    hs_t st = { TOK_HS_SEED, 0, 0, 0 };
    for (;;) {
        /* a run of ASCII letters and digits, eight bytes at a time */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            uint64_t up = swar_in(w, 'A', 'Z');
            uint64_t dig = swar_in(w, '0', '9');
            uint64_t an = up | dig | swar_in(w, 'a', 'z');
            uint64_t stop = ~an & SWAR_HIGH;
            unsigned k = stop ? (unsigned)swar_first(stop) : 8;
            if (!k)
                break;
            uint64_t keep = k == 8 ? ~0ULL : (1ULL << (8 * k)) - 1;
            up &= keep;
            dig &= keep;
            uint64_t let = an & keep & ~dig;
            if (dig)
                flags |= TOK_DIGIT;
            letters += (let != 0) + ((let & (let - 1)) != 0);
            lower_seen |= (let & ~up) != 0;
            hs_add(&st, (w | (up >> 2)) & keep, k);
            i += k;
            if (k < 8)
                break;
        }
        /* most words end at a blank or punctuation: no letter,
         * apostrophe or hyphen to look into */
        if (i >= len || tok_class[s[i]] == C_SEP)
            break;
        /* U+2000-U+203F (a curly apostrophe, a dash) is no letter */
        n = s[i] == 0xE2 && i + 2 < len && s[i + 1] == 0x80 &&
                    (s[i + 2] & 0xC0) == 0x80
                ? 0
                : letter_len(s, len, i, &cp);
        if (n) {
            unsigned c = s[i];
            if (n == 1) {
                if (tok_class[c] == C_DIG) {
                    flags |= TOK_DIGIT;
                } else {
                    letters++;
                    if (tok_class[c] == C_UP)
                        c += 32;
                    else
                        lower_seen = true;
                }
                hs_add(&st, c, 1);
            } else {
                letters++;
                lower_seen |= !cp_is_upper(cp);
                for (unsigned q = 0; q < n; q++)
                    hs_add(&st, s[i + q], 1);
            }
            i += n;
            continue;
        }
        unsigned a = apos_len(s, len, i);
        if (a) {
            size_t j = i + a;
            uint32_t cp2;
            /* possessive 's or s' ends the word; an inner apostrophe
             * followed by a letter ("O'Neill", "Xi'an") stays inside */
            if (j < len && (s[j] == 's' || s[j] == 'S') &&
                (j + 1 >= len || !letter_len(s, len, j + 1, &cp2))) {
                t->end = (uint32_t)i;
                t->after = (uint32_t)(j + 1);
                flags |= TOK_POSS;
                goto done;
            }
            if (j < len && letter_len(s, len, j, &cp2)) {
                hs_add(&st, '\'', 1);
                i = j;
                continue;
            }
            if (i > 0 && (s[i - 1] == 's' || s[i - 1] == 'S')) {
                t->end = (uint32_t)i;
                t->after = (uint32_t)j;
                flags |= TOK_POSS;
                goto done;
            }
            break;
        }
        if (s[i] == '-' && i + 1 < len && letter_len(s, len, i + 1, &cp)) {
            flags |= TOK_HYPHEN;
            hs_add(&st, '-', 1);
            i++;
            continue;
        }
        break;
    }
    t->end = (uint32_t)i;
    t->after = (uint32_t)i;
done:
    if (letters >= 2 && !lower_seen)
        flags |= TOK_ALLCAPS;
    t->flags = flags;
    t->hash = hs_end(&st);
    *pos = t->after;
    return true;
}

/* XOR TOK_BREAK: the default, 0, is a byte that adds just TOK_BREAK. */
const uint16_t tok_gap_flags_x[256] = {
    [' '] = TOK_BREAK, ['\t'] = TOK_BREAK, ['.'] = TOK_SENT,
    ['!'] = TOK_SENT,  ['?'] = TOK_SENT,   [':'] = TOK_SENT,
    [';'] = TOK_SENT,  ['\r'] = TOK_SENT,  ['\n'] = TOK_SENT | TOK_NL,
};
