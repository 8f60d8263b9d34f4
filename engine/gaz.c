/*
 * gaz: lookup in a lexicon's gazetteer table.
 */
#include "gaz.h"
#include "lexicon.h"

#include <stddef.h>

const gaz_slot_t *
gaz_find(const lexicon_t *lx, uint64_t h)
{
    const gaz_slot_t *table = lx->gaz_table;
    uint32_t mask = lx->gaz_mask;
    uint32_t i = (uint32_t)(h ^ (h >> 32)) & mask;
    for (;;) {
        const gaz_slot_t *s = &table[i];
        if (s->hash == h)
            return s;
        if (!s->hash)
            return NULL;
        i = (i + 1) & mask;
    }
}

const char *
gaz_name(const lexicon_t *lx, const gaz_slot_t *s)
{
    return lx->gaz_names + s->canon;
}

uint32_t
gaz_count(const lexicon_t *lx)
{
    return lx->gaz_keys;
}
