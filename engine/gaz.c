/*
 * gaz: lookup in the generated table (gaz_data.c in the build tree).
 */
#include "gaz.h"

#include <stddef.h>

/* Defined by the generated gaz_data.c. */
extern const gaz_slot_t gaz_table[];
extern const uint32_t gaz_mask;
extern const uint32_t gaz_keys;
extern const char gaz_names[];

const gaz_slot_t *
gaz_find(uint64_t h)
{
    uint32_t i = (uint32_t)(h ^ (h >> 32)) & gaz_mask;
    for (;;) {
        const gaz_slot_t *s = &gaz_table[i];
        if (s->hash == h)
            return s;
        if (!s->hash)
            return NULL;
        i = (i + 1) & gaz_mask;
    }
}

const char *
gaz_name(const gaz_slot_t *s)
{
    return gaz_names + s->canon;
}

uint32_t
gaz_count(void)
{
    return gaz_keys;
}
