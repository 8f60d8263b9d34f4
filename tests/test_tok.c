/*
 * test_tok: the tokenizer. tok_next()'s inline short path must cut, flag
 * and hash every word exactly as tok_next_any() does (the gazetteer was
 * built with the one, the text is read with the other), on generated
 * texts dense in the cases the short path hands over: long words,
 * apostrophes, hyphens, UTF-8, invalid bytes, NULs, line breaks, commas.
 */
#include "engine/tok.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* Deterministic pseudo-random numbers (xorshift64). */
static uint64_t
rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* clang-format off */
static const char *const pieces[] = {
    "a", "e", "z", "Q", "M", "7", "0", " ", " ", " ", "  ", ", ", ". ",
    "\n", "\r\n", "'", "'s ", "\xe2\x80\x99", "-", "\xe2\x80\x93",
    "\xc3\xa9", "\xd0\x96", "\xff", "\x80", "(", ")", ":", "\t",
    "Kremlin", "percent", "US", "1,200.5", "B2B",
    "ABCDEFGHIJKLM", "NIZHNEVARTOVSK", "Petropavlovskiy",
    "abcdefghijklmno", "ABCDEFGHIJKLMNOPQ",
};
/* clang-format on */

/* Fill buf with n bytes of pieces; returns the length written. */
static size_t
gen_text(uint64_t *seed, char *buf, size_t n)
{
    size_t len = 0;
    while (len < n) {
        const char *p = pieces[rnd(seed) % (sizeof pieces / sizeof *pieces)];
        size_t l = strlen(p);
        if (rnd(seed) % 64 == 0) { /* a NUL byte now and then */
            p = "\0";
            l = 1;
        }
        if (len + l > n)
            break;
        memcpy(buf + len, p, l);
        len += l;
    }
    return len;
}

static void
assert_same_tok(const tok_t *a, const tok_t *b, const char *s)
{
    if (a->start != b->start || a->end != b->end || a->after != b->after ||
        a->gap != b->gap || a->flags != b->flags || a->hash != b->hash)
        fail_msg("word at %u '%.*s': short %u..%u/%u gap %u flags %#x, "
                 "any %u..%u/%u gap %u flags %#x%s",
                 b->start, (int)(b->end - b->start), s + b->start, a->start,
                 a->end, a->after, a->gap, a->flags, b->start, b->end, b->after,
                 b->gap, b->flags, a->hash != b->hash ? ", hashes differ" : "");
}

static void
test_short_path_matches_any(void **state)
{
    (void)state;
    static char buf[2048];
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    size_t words = 0, long_caps = 0;
    for (int round = 0; round < 3000; round++) {
        size_t len = gen_text(&seed, buf, 20 + rnd(&seed) % 600);
        size_t pa = 0, pb = 0;
        for (;;) {
            tok_t a, b;
            bool ra = tok_next(buf, len, &pa, &a);
            bool rb = tok_next_any(buf, len, &pb, &b);
            assert_int_equal(ra, rb);
            if (!ra)
                break;
            assert_same_tok(&a, &b, buf);
            assert_int_equal(pa, pb);
            assert_int_equal(a.hash, tok_hash(buf + a.start, a.end - a.start));
            words++;
            long_caps += (b.flags & TOK_ALLCAPS) && b.end - b.start >= 12 &&
                         b.end - b.start < 16;
        }
    }
    /* the generator makes words, among them all-capital ones the short
     * path takes (12..15 letters) */
    assert_true(words > 50000);
    assert_true(long_caps > 1000);
}

/* Flags of hand-picked words, through the inline path. */
static void
test_flags(void **state)
{
    (void)state;
    /* padded so that every word has sixteen bytes after it */
    const char *s = "Putin met, the IMF's chief 42nd well-known\n"
                    "Trade rose                                        ";
    size_t len = strlen(s), pos = 0;
    tok_t t[16];
    size_t n = 0;
    while (n < 16 && tok_next(s, len, &pos, &t[n]))
        n++;
    assert_int_equal(n, 9);
    assert_true(t[0].flags & TOK_CAP);
    assert_true(t[0].flags & TOK_SENT);
    assert_true(t[2].flags & TOK_COMMA); /* "the" after ", " */
    assert_true(t[2].flags & TOK_LOWER);
    assert_true(t[3].flags & TOK_ALLCAPS);
    assert_true(t[3].flags & TOK_POSS);
    assert_int_equal(t[3].end - t[3].start, 3);
    assert_int_equal(t[3].after - t[3].start, 5);
    assert_true((t[5].flags & (TOK_NUM | TOK_DIGIT)) == (TOK_NUM | TOK_DIGIT));
    assert_true(t[6].flags & TOK_HYPHEN);
    assert_true(t[7].flags & TOK_NL);
    assert_int_equal(t[1].hash, tok_hash("MET", 3)); /* ASCII lowered */
    assert_int_equal(tok_hash("IMF\xe2\x80\x99", 6), tok_hash("imf'", 4));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_path_matches_any),
        cmocka_unit_test(test_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
