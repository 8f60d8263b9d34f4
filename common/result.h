/*
 * result: the plain data model of one extraction result (speakers, turns,
 * entities with mentions, figures). The engine builds it, proto/wire.c
 * converts it to and from the protobuf Result, the CLI prints it as JSON.
 * All strings and the arrays grown by result_add_* live in the result's
 * own arena and die with it; the empty ones the adders copy share one
 * read-only "", so strings of a result are not written to.
 */
#ifndef EXCERPT_RESULT_H
#define EXCERPT_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Entity types (OntoNotes). Values match proto EntityType. */
typedef enum {
    RESULT_PERSON = 1,
    RESULT_ORG = 2,
    RESULT_GPE = 3,
    RESULT_LOC = 4,
    RESULT_FAC = 5,
    RESULT_NORP = 6
} result_entity_type_t;

/* Figure types. Values match proto FigureType. */
typedef enum {
    RESULT_PERCENT = 1,
    RESULT_MONEY = 2,
    RESULT_QUANTITY = 3,
    RESULT_DATE = 4,
    RESULT_TIME = 5,
    RESULT_ORDINAL = 6,
    RESULT_CARDINAL = 7
} result_figure_type_t;

/* No turn: text before the first speaker label (lead line). */
#define RESULT_NO_TURN (-1)

typedef struct result_speaker {
    char *name;     /* person's name without title, e.g. "Vladimir Putin" */
    char *title;    /* title from the label, "" when none */
    uint32_t turns; /* number of turns this speaker took */
} result_speaker_t;

typedef struct result_turn {
    int32_t speaker; /* index into speakers */
    uint32_t start;  /* byte offset of the label's first byte */
    uint32_t body;   /* byte offset where the speech starts, after "Label: " */
    uint32_t end;    /* byte offset one past the turn's last byte */
} result_turn_t;

typedef struct result_mention {
    char *text;     /* surface text as in the input (possessive dropped) */
    uint32_t start; /* byte offset into the input */
    uint32_t end;   /* byte offset one past the mention */
    int32_t turn;   /* index into turns, or RESULT_NO_TURN */
} result_mention_t;

typedef struct result_entity {
    int type;                   /* result_entity_type_t */
    char *name;                 /* canonical name, e.g. "Askar Mamin" */
    char *role;                 /* title seen attached to the name, or "" */
    result_mention_t *mentions; /* in text order after result_finish() */
    size_t n_mentions;          /* number of mentions */
    size_t cap_mentions;        /* allocated slots */
} result_entity_t;

typedef struct result_figure {
    int type;       /* result_figure_type_t */
    char *text;     /* surface text */
    double value;   /* numeric value, fully scaled; valid if has_value */
    bool has_value; /* false for DATE/TIME, which carry iso instead */
    char *iso;      /* ISO 8601 value for DATE/TIME ("2020-H1", "--06-30") */
    char *unit;     /* ISO 4217 code for MONEY, unit name for QUANTITY, "" */
    uint32_t start; /* byte offset into the input */
    uint32_t end;   /* byte offset one past the figure */
    int32_t turn;   /* index into turns, or RESULT_NO_TURN */
} result_figure_t;

typedef struct result {
    uint64_t job_id;            /* job this result belongs to, 0 if local */
    uint64_t seq;               /* commit sequence number, 0 if uncommitted */
    char *source;               /* source name or URL, "" when unknown */
    char *version;              /* extractor version string */
    uint64_t extract_us;        /* time spent extracting, microseconds */
    result_speaker_t *speakers; /* distinct speakers in order of first turn */
    size_t n_speakers;          /* number of speakers */
    result_turn_t *turns;       /* turns in text order */
    size_t n_turns;             /* number of turns */
    result_entity_t *entities;  /* entities, ordered by first mention */
    size_t n_entities;          /* number of entities */
    result_figure_t *figures;   /* figures in text order */
    size_t n_figures;           /* number of figures */
    size_t cap[4];              /* allocated slots of the four arrays */
    struct result_arena *arena; /* owns every string above */
} result_t;

/* Empty result; source and version are "". Only memory can fail (aborts). */
result_t *result_new(void);

/* Free the result and everything it owns; NULL-safe, sets *r = NULL. */
void result_destroy(result_t **r);

/* Copy n bytes into the result's arena as a NUL-terminated string. */
char *result_strndup(result_t *r, const char *s, size_t n);

/* Append a speaker; returns its index. Strings are copied. */
int32_t result_add_speaker(result_t *r, const char *name, const char *title);

/* Append a turn of speaker (an index from result_add_speaker) and count it
 * on the speaker. Returns the turn index. Turns must come in text order. */
int32_t result_add_turn(result_t *r, int32_t speaker, uint32_t start,
                        uint32_t body, uint32_t end);

/* Append an entity; returns its index. name and role are copied (role may
 * be NULL). Pointers into r->entities are invalidated by later adds. */
int32_t result_add_entity(result_t *r, int type, const char *name,
                          const char *role);

/* Room for n more mentions of entity idx (in the arena): returns where
 * the next one goes (NULL when n is 0 and the entity has no room yet);
 * whoever fills them counts them in n_mentions. For builders that know
 * the count, such as a decoder. */
result_mention_t *result_reserve_mentions(result_t *r, int32_t entity,
                                          size_t n);

/* Add a mention of entity idx covering text[start..end) of the input; the
 * surface text is copied from text. turn is filled by result_finish(). */
void result_add_mention(result_t *r, int32_t entity, const char *text,
                        uint32_t start, uint32_t end);

/* Append a figure covering input[start..end); text is copied from input.
 * iso and unit may be NULL. Returns a pointer valid until the next add. */
result_figure_t *result_add_figure(result_t *r, int type, const char *input,
                                   uint32_t start, uint32_t end, double value,
                                   bool has_value, const char *iso,
                                   const char *unit);

/* Sort figures and each entity's mentions by offset, order entities by
 * first mention, and set every mention's and figure's turn from the turns
 * array. Call once after the engine has added everything. */
void result_finish(result_t *r);

/* Turn index containing byte offset off, or RESULT_NO_TURN. */
int32_t result_turn_at(const result_t *r, uint32_t off);

/* Names of the enum values ("PERSON", "MONEY"); "UNKNOWN" otherwise. */
const char *result_entity_type_name(int type);
const char *result_figure_type_name(int type);
/* Inverse of the above; 0 when unknown. */
int result_entity_type_parse(const char *s);
int result_figure_type_parse(const char *s);

#endif
