/*
 * cfg: one configuration table per program (name, type, default, bounds,
 * help) filled into the program's own struct. Layers, later wins:
 * defaults -> file ("key = value" lines, '#' comments) -> environment
 * (PREFIX_KEY, upper case, '-' as '_') -> command-line flags (--key=value
 * or --key value; --flag alone sets a bool).
 */
#ifndef EXCERPT_CFG_H
#define EXCERPT_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    CFG_BOOL,  /* bool */
    CFG_INT,   /* int64_t, bounded by min/max */
    CFG_SIZE,  /* uint64_t bytes; accepts suffixes k, M, G, T (powers of 2) */
    CFG_MS,    /* uint64_t milliseconds; accepts suffixes ms, s, m, h */
    CFG_STRING /* char * owned by the struct, freed by cfg_free() */
} cfg_type_t;

typedef struct cfg_entry {
    const char *name; /* key as written in files and flags: "data-dir" */
    cfg_type_t type;  /* how the value is parsed and stored */
    size_t offset;    /* offsetof() the field in the program's struct */
    const char *def;  /* default value as text (NULL: empty string/0) */
    int64_t min;      /* lower bound for numeric types */
    int64_t max;      /* upper bound for numeric types (0: unbounded) */
    const char *help; /* one line for --help */
} cfg_entry_t;

/* Set every field to its default. Returns ERR_INVAL naming a bad default. */
int cfg_defaults(const cfg_entry_t *tab, size_t n, void *obj);

/* Set one key from text. Returns ERR_NOTFOUND for an unknown key and
 * ERR_INVAL for a value that does not parse or is out of bounds; in both
 * cases the field is unchanged and a message is logged naming the key. */
int cfg_set(const cfg_entry_t *tab, size_t n, void *obj, const char *key,
            const char *value, const char *origin);

/* Read a "key = value" file. ERR_IO if unreadable, ERR_INVAL on a bad line
 * (the message names file and line). */
int cfg_load_file(const cfg_entry_t *tab, size_t n, void *obj,
                  const char *path);

/* Apply environment variables PREFIX + upper-cased key ('-' -> '_'). */
int cfg_load_env(const cfg_entry_t *tab, size_t n, void *obj,
                 const char *prefix);

/* Parse flags from argv[*argi] on; stops at the first non-flag argument
 * or after "--", leaving *argi there. "--config FILE" is handled by the
 * caller beforehand (see cfg_find_config). Returns ERR_INVAL on an unknown
 * flag or bad value. */
int cfg_parse_args(const cfg_entry_t *tab, size_t n, void *obj, int argc,
                   char **argv, int *argi);

/* Value of "--config FILE" / "--config=FILE" in argv, or NULL. */
const char *cfg_find_config(int argc, char **argv);

/* Log every key and value at info level (one line). */
void cfg_log(const cfg_entry_t *tab, size_t n, const void *obj);

/* Print the flag list with defaults and help. */
void cfg_usage(const cfg_entry_t *tab, size_t n, FILE *out);

/* Free the strings the table owns in obj. Safe twice. */
void cfg_free(const cfg_entry_t *tab, size_t n, void *obj);

/* Parse helpers, also used for ad-hoc flags: 0 or ERR_INVAL. */
int cfg_parse_size(const char *s, uint64_t *out);
int cfg_parse_ms(const char *s, uint64_t *out);

#endif
