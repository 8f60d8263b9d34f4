/*
 * tok: the word tokenizer shared by the entity scanner and the gazetteer
 * generator, so that gazetteer keys and text are cut and hashed the same
 * way. No allocation; one call yields the next word with its flags.
 */
#ifndef EXCERPT_TOK_H
#define EXCERPT_TOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
 * and punctuation separate words. Offsets must fit in 32 bits.
 */
bool tok_next(const char *s, size_t len, size_t *pos, tok_t *t);

/* Hash of a word: its bytes with ASCII lowered and U+2018/U+2019 folded
 * to an apostrophe, mixed eight at a time (the same value tok_next() gives
 * the word). Never 0. */
uint64_t tok_hash(const char *s, size_t n);

/* Extend a word-sequence hash h (0 for the empty sequence) by a word. */
uint64_t tok_seq(uint64_t h, uint64_t word);

#endif
