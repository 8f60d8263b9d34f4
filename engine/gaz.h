/*
 * gaz: lookup in a lexicon's gazetteer (lexicon.h), a read-only
 * open-addressing hash table keyed by tok_seq() hashes of lower-cased word
 * sequences. The built-in one is generated at build time (gen/gaz_gen.c)
 * from Debian's iso-codes and the curated lists in engine/data/. No I/O,
 * no mutable state: share freely.
 */
#ifndef EXCERPT_GAZ_H
#define EXCERPT_GAZ_H

#include <stdint.h>

#define GAZ_ENT 0x001    /* a named entity; type in ent (0: names nothing) */
#define GAZ_TITLE 0x002  /* a title or office ("Deputy Prime Minister") */
#define GAZ_HONOR 0x004  /* an honorific ("Mr") */
#define GAZ_GIVEN 0x008  /* a given name */
#define GAZ_HEAD 0x010   /* a head noun of a name; phrase type in head */
#define GAZ_PLURAL 0x020 /* a lower-case plural head closing a list */
#define GAZ_STOP 0x040   /* a function word, never part of a name alone */
#define GAZ_COMMON 0x080 /* a common adjective ("Federal", "North") */
#define GAZ_PREFIX 0x100 /* a longer key starts with this sequence */
#define GAZ_ACRONYM                                                            \
    0x200 /* listed in capitals ("WHO"): match capitals only                   \
           */

typedef struct gaz_slot {
    uint64_t hash;  /* tok_seq() key hash; 0 marks an empty slot */
    uint32_t canon; /* offset of the canonical name in the
                       lexicon's gaz_names */
    uint16_t kinds; /* GAZ_* bits */
    uint8_t ent;    /* result_entity_type_t when GAZ_ENT */
    uint8_t head;   /* result_entity_type_t when GAZ_HEAD or GAZ_PLURAL */
} gaz_slot_t;

typedef struct lexicon lexicon_t;

/* The slot of lx's gazetteer for key hash h, or NULL when the sequence is
 * unknown. */
const gaz_slot_t *gaz_find(const lexicon_t *lx, uint64_t h);

/* Canonical name of an entity slot of lx (NUL-terminated, lives as long
 * as lx). */
const char *gaz_name(const lexicon_t *lx, const gaz_slot_t *s);

/* Number of keys in lx's gazetteer (for tests and logs). */
uint32_t gaz_count(const lexicon_t *lx);

#endif
