/*
 * lexset: membership test of the generated word lists.
 */
#include "lexset.h"

static unsigned char
ascii_lower(char c)
{
    unsigned char u = (unsigned char)c;
    return u >= 'A' && u <= 'Z' ? (unsigned char)(u + 32) : u;
}

bool
lex_set_word_is(const lex_set_t *set, size_t i, const char *s, size_t n)
{
    const char *w = set->w[i];
    size_t k = 0;
    while (k < n && w[k] && ascii_lower(w[k]) == ascii_lower(s[k]))
        k++;
    return k == n && w[k] == '\0';
}
