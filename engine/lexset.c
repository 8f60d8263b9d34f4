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
lex_set_has(const lex_set_t *set, const char *s, size_t n, uint64_t hash)
{
    unsigned b = (unsigned)(hash >> 56);
    if (!((set->filter[b >> 6] >> (b & 63)) & 1))
        return false;
    for (size_t i = 0; i < set->n; i++) {
        const char *w = set->w[i];
        size_t k = 0;
        while (k < n && w[k] && ascii_lower(w[k]) == ascii_lower(s[k]))
            k++;
        if (k == n && w[k] == '\0')
            return true;
    }
    return false;
}
