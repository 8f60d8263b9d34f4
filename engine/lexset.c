/*
 * lexset: membership test of the generated word lists.
 */
#include "lexset.h"

#include <string.h>

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

bool
lex_set_ends(const lex_set_t *set, const char *s, size_t n, size_t min_before)
{
    if (n == 0)
        return false;
    char last = s[n - 1];
    unsigned char lb = (unsigned char)last;
    if (!((set->last[lb >> 6] >> (lb & 63)) & 1))
        return false;
    for (size_t i = 0; i < set->n; i++) {
        size_t k = set->len[i];
        if (k == 0 || k + min_before > n || set->w[i][k - 1] != last)
            continue;
        if (memcmp(s + n - k, set->w[i], k) == 0)
            return true;
    }
    return false;
}
