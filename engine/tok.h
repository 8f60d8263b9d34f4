/*
 * tok: the word tokenizer shared by the entity scanner and the gazetteer
 * generator, so that gazetteer keys and text are cut and hashed the same
 * way. No allocation; one call yields the next word with its flags.
 */
#ifndef EXCERPT_TOK_H
#define EXCERPT_TOK_H

#include "swar.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TOK_CAP 0x001     /* first letter is upper case */
#define TOK_LOWER 0x002   /* first character is a lower-case letter */
#define TOK_DIGIT 0x004   /* contains a digit */
#define TOK_NUM 0x008     /* starts with a digit */
#define TOK_POSS 0x010    /* followed by a possessive 's or ' (excluded) */
#define TOK_HYPHEN 0x020  /* contains an inner hyphen */
#define TOK_BREAK 0x040   /* punctuation or a line break since the last word */
#define TOK_SENT 0x080    /* starts a sentence or line */
#define TOK_NL 0x100      /* a line break since the last word */
#define TOK_ALLCAPS 0x200 /* two or more letters, all upper case */
#define TOK_COMMA 0x400   /* the gap before it is exactly ", " */

typedef struct tok {
    uint32_t start; /* first byte of the word */
    uint32_t end;   /* one past the word, possessive excluded */
    uint32_t after; /* one past the word including its possessive */
    uint32_t gap;   /* first byte of the gap before the word */
    uint16_t flags; /* TOK_* */
    uint64_t hash;  /* tok_hash() of the word (possessive excluded) */
} tok_t;

/*
 * Find the next word in s[*pos..len) and describe it in *t; advance *pos
 * past it. Returns false at the end of the text. Invalid UTF-8, NUL bytes
 * and punctuation separate words. Offsets must fit in 32 bits. Inline:
 * the usual word is cut in its caller (defined at the end of this
 * header), any other by tok_next_any().
 */
static inline bool tok_next(const char *s, size_t len, size_t *pos, tok_t *t);

/* Hash of a word: its bytes with ASCII lowered and U+2018/U+2019 folded
 * to an apostrophe, mixed eight at a time (the same value tok_next() gives
 * the word). Never 0. */
uint64_t tok_hash(const char *s, size_t n);

/* Extend a word-sequence hash h (0 for the empty sequence) by a word. */
uint64_t tok_seq(uint64_t h, uint64_t word);

/*
 * What follows is tok_next()'s short path, inline in its callers (the
 * entity scanner calls it for half a million words of the corpus), and
 * what it shares with tok.c; other code uses only the functions above.
 */

/* Byte classes of tok_class[]. */
enum {
    TOK_C_SEP = 0, /* separator: blank, punctuation, 0x80-0xBF, control */
    TOK_C_UP,      /* 'A'-'Z' */
    TOK_C_LO,      /* 'a'-'z' */
    TOK_C_DIG,     /* '0'-'9' */
    TOK_C_HI,      /* 0xC0-0xFF: starts a multi-byte sequence */
    TOK_C_APOS,    /* '\'' */
    TOK_C_HYPH     /* '-' */
};

/* The class of every byte. */
extern const unsigned char tok_class[256];

/* For a gap byte (not a letter or digit, below 0xC0): the flags it adds
 * to the next word, XOR TOK_BREAK (most add just that). */
extern const uint16_t tok_gap_flags_x[256];

/* tok_next() for any word: the gap byte by byte, then the word in runs
 * of ASCII letters and digits and one step per other letter, apostrophe
 * or hyphen. */
bool tok_next_any(const char *s, size_t len, size_t *pos, tok_t *t);

/*
 * Word hash. A word's canonical bytes (ASCII lowered, U+2018/U+2019 as an
 * apostrophe) are taken eight at a time, little-endian, each block mixed
 * in with a multiply; the length closes it. Blocks instead of bytes let
 * the scanner hash a run of ASCII letters in one step, and the chain of
 * dependent multiplies is an eighth as long as a per-byte hash's. The
 * value depends only on the bytes, however they were fed.
 */
#define TOK_HS_SEED 0x243F6A8885A308D3ULL
#define TOK_HS_K1 0x9FB21C651E98DF25ULL
#define TOK_HS_K2 0xC2B2AE3D27D4EB4FULL

/* Mix the block blk (eight bytes, first lowest) into h. */
static inline uint64_t
tok_hs_absorb(uint64_t h, uint64_t blk)
{
    h = (h ^ blk) * TOK_HS_K1;
    return h ^ (h >> 32);
}

/* The hash of blocks h followed by the last, partial one (bytes past the
 * word zero) of a word of len bytes. */
static inline uint64_t
tok_hs_close(uint64_t h, uint64_t last, uint64_t len)
{
    h = tok_hs_absorb(h, last ^ (len << 56)) * TOK_HS_K2;
    h ^= h >> 29;
    return h ? h : 1;
}

static inline bool
tok_is_alnum(unsigned c)
{
    return (unsigned)tok_class[c] - TOK_C_UP < 3u;
}

/* Eight-bit lanes shifted as sixteen-bit ones (one SSE2 instruction). */
typedef uint16_t tok_v8h_t __attribute__((vector_size(16)));

/*
 * tok_next(): here the usual word, in few instructions: at most two ASCII
 * bytes of gap, then one to fifteen ASCII letters and digits ended by a
 * separator, sixteen bytes readable from the word's start. Flags and
 * hash come out as tok_next_any() gives them; every other word goes
 * there.
 */
static inline bool
tok_next(const char *str, size_t len, size_t *pos, tok_t *t)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = *pos, start = i;
    unsigned flags = 0;
    if (i + 18 > len)
        return tok_next_any(str, len, pos, t);
    if (!tok_is_alnum(s[i])) {
        unsigned c = s[i], c1 = s[i + 1];
        start = i + 1;
        if (c != ' ' || !tok_is_alnum(c1)) {
            if (c >= 0xC0 || c1 >= 0xC0)
                return tok_next_any(str, len, pos, t);
            flags = tok_gap_flags_x[c] ^ TOK_BREAK;
            if (!tok_is_alnum(c1)) {
                if (!tok_is_alnum(s[i + 2]))
                    return tok_next_any(str, len, pos, t);
                flags |= tok_gap_flags_x[c1] ^ TOK_BREAK;
                if (c == ',' && c1 == ' ')
                    flags |= TOK_COMMA;
                start = i + 2;
            }
        }
    }
    /* stored apart from end and after: four stores, not a vector built
     * from four registers (tok_next_any() overwrites them if need be) */
    t->gap = (uint32_t)i;
    t->start = (uint32_t)start;
    v16_t v;
    memcpy(&v, s + start, 16);
    /* letters: (v | 0x20) in 'a'..'z'; digits: v in '0'..'9'; as signed
     * compares after moving the range's start to -128. Digits have 0x20
     * set too, so lv is the word lowered. */
    v16_t lv = v | 0x20;
    unsigned let =
        v16_bits((v16_t)((v16s_t)(v16_t)(lv + (0x80 - 'a')) < -128 + 26));
    unsigned dig =
        v16_bits((v16_t)((v16s_t)(v16_t)(v + (0x80 - '0')) < -128 + 10));
    unsigned k = (unsigned)__builtin_ctz(~(let | dig));
    if (k == 16 || tok_class[s[start + k]] != TOK_C_SEP)
        return tok_next_any(str, len, pos, t);
    unsigned keep = (1u << k) - 1;
    /* bit 5 (lower case) of each byte moved to bit 7 */
    unsigned lower = v16_bits((v16_t)((tok_v8h_t)v << 2));
    let &= keep;
    flags |= dig & 1 ? TOK_NUM | TOK_DIGIT : lower & 1 ? TOK_LOWER : TOK_CAP;
    if (dig & keep)
        flags |= TOK_DIGIT;
    if ((let & (let - 1)) && !(let & lower))
        flags |= TOK_ALLCAPS;
    /* the hash as tok_hash() gives it: whole blocks, then the rest with
     * the length */
    uint64_t half[2];
    memcpy(half, &lv, 16);
    uint64_t h = TOK_HS_SEED, rest = half[0];
    unsigned r = k;
    if (k >= 8) {
        h = tok_hs_absorb(h, rest);
        rest = half[1];
        r = k - 8;
    }
    rest &= (1ULL << (8 * r)) - 1;
    t->end = t->after = (uint32_t)(start + k);
    t->flags = (uint16_t)flags;
    t->hash = tok_hs_close(h, rest, k);
    *pos = start + k;
    /* the text's first word, once: as tok_next_any() sets it */
    if (i == 0)
        t->flags |= TOK_SENT | TOK_BREAK;
    return true;
}

#endif
