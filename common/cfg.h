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
    CFG_BOOL, /* bool */
    CFG_INT,  /* int64_t, bounded by min/max */
    CFG_SIZE, /* uint64_t bytes; accepts suffixes k, M, G, T (powers of 2) */
    CFG_MS,   /* uint64_t milliseconds; accepts suffixes ms, s, m, h */
    CFG_STRING,
    /* char * owned by the struct, freed by cfg_free(); min/max,
       when set, bound its length in bytes */
    CFG_DOUBLE, /* double, any finite value (bounds unused) */
    CFG_LIST    /* cfg_list_t: a repeatable flag, every value kept in order;
                   command lines only (cfg_cli_parse) */
} cfg_type_t;

/* The values of a CFG_LIST flag, borrowed from argv; the array belongs to
 * the cfg_cli_t that filled it. */
typedef struct cfg_list {
    const char **v; /* values in command-line order */
    size_t n;       /* their count */
} cfg_list_t;

typedef struct cfg_entry {
    const char *name; /* key as written in files and flags: "data-dir" */
    cfg_type_t type;  /* how the value is parsed and stored */
    size_t offset;    /* offsetof() the field in the program's struct */
    const char *def;  /* default value as text (NULL: empty string/0) */
    int64_t min;      /* lower bound for numeric types */
    int64_t max;      /* upper bound for numeric types (0: unbounded) */
    const char *help; /* one line for --help; "E\tthe endpoint" names the
                         value E in cfg_cli_usage's flag column */
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

/*
 * Command lines of the `excerpt` subcommands: the same tables, parsed
 * from argv with positional arguments, -h/--help, and several tables
 * (groups) at once, such as a command's own flags and the flags every
 * broker-talking command shares. Strings are borrowed, not copied: a
 * CFG_STRING field of a group's object is a `const char *` pointing into
 * argv, at the table's default text, or NULL when neither; nothing to
 * free. Tables of a group have at most 64 entries.
 */
typedef struct cfg_group {
    const cfg_entry_t *tab; /* the flags */
    size_t n;               /* their count */
    void *obj;              /* the struct they fill */
    uint64_t seen;          /* out: bit i set when tab[i] was given */
} cfg_group_t;

typedef struct cfg_cli {
    const char *prog; /* message prefix, e.g. "excerpt run" */
    bool flags_first; /* the first positional argument ends the flags
                         (run, submit); else they may mix */
    int max_pos;      /* most positional arguments; -1 for any */
    const char **pos; /* out: positional arguments in order (borrowed
                         from argv; the array is freed by cfg_cli_free) */
    int n_pos;        /* out: their count */
    bool help;        /* out: -h or --help was given (parsing stopped) */
    int argc;         /* internal: argc of the parse */
    void **owned;     /* internal: arrays cfg_cli_free frees */
    size_t n_owned;   /* internal: their count */
} cfg_cli_t;

/*
 * Set every group's fields to their defaults, then read argv[1..argc-1]:
 * --name VALUE, --name=VALUE, --name alone for a CFG_BOOL, "--" ends the
 * flags, "-" is a positional argument; a later flag overrides an earlier
 * one. Every value is checked against its entry (type, bounds). Returns
 * ERR_OK (also when help is set), ERR_NOTFOUND for an unknown flag and
 * ERR_INVAL for a missing or bad value or too many positional arguments;
 * on an error a message starting with cli->prog is printed on stderr.
 */
int cfg_cli_parse(cfg_group_t *groups, size_t n_groups, int argc, char **argv,
                  cfg_cli_t *cli);

/* Free what cfg_cli_parse allocated in cli. Safe twice. */
void cfg_cli_free(cfg_cli_t *cli);

/* Print the flags of every group, one line each: "--name V  help
 * (default: D)", V from the help's tab prefix, D when non-empty. */
void cfg_cli_usage(const cfg_group_t *groups, size_t n_groups, FILE *out);

/* Free the strings the table owns in obj. Safe twice. */
void cfg_free(const cfg_entry_t *tab, size_t n, void *obj);

/* Parse helpers, also used for ad-hoc flags: 0 or ERR_INVAL. */
int cfg_parse_size(const char *s, uint64_t *out);
int cfg_parse_ms(const char *s, uint64_t *out);

#endif
