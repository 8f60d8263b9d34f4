/*
 * fig_gen: build-time generator of the figure scanner's word tables of the
 * built-in lexicon (lexicon.h). Reads the lists in engine/data/fig/ and
 * Debian's iso-codes ISO 4217 JSON and writes one C fragment (included by
 * lexicon.c) defining every table as a static fig_NAME, so the engine
 * reads no file at run time and no word list lives in C.
 *
 * usage: fig_gen OUT.inc ISO_4217_JSON DATA_DIR
 *
 * A table file (DATA_DIR/NAME.txt for NAME in the tables below) holds one
 * entry per line, "pattern | norm | number | flags" ("#" lines are
 * comments; norm "-" is none; flags "c" case-sensitive, "g" may be glued
 * to the digits, "o" only glued to them ("-40C"), "-" none). The
 * currencies table gets, after its own lines, every ISO 4217 code
 * (case-sensitive) and name with its plural (currency_forms.txt gives
 * irregular ones) except what currency_skip.txt drops. A pattern already
 * in a table is not added twice.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_LEN 512
#define MAX_FORMS 128
#define MAX_SKIPS 128

typedef struct entry {
    char *pat;
    char *norm; /* NULL for none */
    char *num;  /* as written */
    bool cs, gl;
    bool only_glued; /* flag "o": matched only when glued to the digits */
} entry_t;

typedef struct table {
    entry_t *e;
    size_t n, cap;
} table_t;

typedef struct form {
    char base[64];
    char forms[256]; /* comma-separated */
} form_t;

typedef struct skip {
    char code[4];
    int what; /* 0 all, 1 code, 2 name */
} skip_t;

static form_t forms[MAX_FORMS];
static size_t n_forms;
static skip_t skips[MAX_SKIPS];
static size_t n_skips;

static char *
xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        fprintf(stderr, "fig_gen: out of memory\n");
        exit(1);
    }
    return d;
}

/* Trim blanks at both ends in place. */
static char *
trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
                 s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static bool
same_pattern(const entry_t *a, const char *pat, bool cs)
{
    if (a->cs || cs)
        return strcmp(a->pat, pat) == 0;
    return strcasecmp(a->pat, pat) == 0;
}

static void
add(table_t *t, const char *pat, const char *norm, const char *num, bool cs,
    bool gl, bool only_glued)
{
    for (size_t i = 0; i < t->n; i++)
        if (same_pattern(&t->e[i], pat, cs))
            return;
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->e = realloc(t->e, t->cap * sizeof *t->e);
        if (!t->e) {
            fprintf(stderr, "fig_gen: out of memory\n");
            exit(1);
        }
    }
    entry_t *e = &t->e[t->n++];
    e->pat = xstrdup(pat);
    e->norm = norm ? xstrdup(norm) : NULL;
    e->num = xstrdup(num);
    e->cs = cs;
    e->gl = gl || only_glued;
    e->only_glued = only_glued;
}

static FILE *
open_list(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.txt", dir, name);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "fig_gen: cannot open %s\n", path);
        exit(1);
    }
    return f;
}

/* Split "a | b | c | d" into at most max fields; returns the count. */
static int
split(char *line, char **f, int max)
{
    int k = 0;
    char *p = line;
    while (k < max) {
        char *bar = strstr(p, " | ");
        if (bar)
            *bar = '\0';
        f[k++] = trim(p);
        if (!bar)
            break;
        p = bar + 3;
    }
    return k;
}

static void
read_table(const char *dir, const char *name, table_t *t)
{
    FILE *f = open_list(dir, name);
    char line[LINE_MAX_LEN];
    int ln = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *fld[4];
        if (split(s, fld, 4) != 4 || !*fld[0]) {
            fprintf(stderr,
                    "fig_gen: %s.txt:%d: want 'pattern | norm | "
                    "number | flags'\n",
                    name, ln);
            exit(1);
        }
        char *end;
        (void)strtod(fld[2], &end);
        if (*end || end == fld[2]) {
            fprintf(stderr, "fig_gen: %s.txt:%d: bad number '%s'\n", name, ln,
                    fld[2]);
            exit(1);
        }
        bool cs = strchr(fld[3], 'c') != NULL;
        bool gl = strchr(fld[3], 'g') != NULL;
        bool og = strchr(fld[3], 'o') != NULL;
        add(t, fld[0], strcmp(fld[1], "-") == 0 ? NULL : fld[1], fld[2], cs, gl,
            og);
    }
    fclose(f);
}

static void
read_forms(const char *dir)
{
    FILE *f = open_list(dir, "currency_forms");
    char line[LINE_MAX_LEN];
    while (fgets(line, sizeof line, f)) {
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *fld[2];
        if (split(s, fld, 2) != 2 || n_forms == MAX_FORMS ||
            strlen(fld[0]) >= sizeof forms[0].base ||
            strlen(fld[1]) >= sizeof forms[0].forms) {
            fprintf(stderr, "fig_gen: currency_forms.txt: bad line '%s'\n", s);
            exit(1);
        }
        strcpy(forms[n_forms].base, fld[0]);
        strcpy(forms[n_forms].forms, fld[1]);
        n_forms++;
    }
    fclose(f);
}

static void
read_skips(const char *dir)
{
    FILE *f = open_list(dir, "currency_skip");
    char line[LINE_MAX_LEN];
    while (fgets(line, sizeof line, f)) {
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char code[8], what[8] = "";
        if (sscanf(s, "%7s %7s", code, what) < 1 || strlen(code) != 3 ||
            n_skips == MAX_SKIPS ||
            (*what && strcmp(what, "code") && strcmp(what, "name"))) {
            fprintf(stderr, "fig_gen: currency_skip.txt: bad line '%s'\n", s);
            exit(1);
        }
        memcpy(skips[n_skips].code, code, 4);
        skips[n_skips].what = !*what ? 0 : strcmp(what, "code") == 0 ? 1 : 2;
        n_skips++;
    }
    fclose(f);
}

/* True when currency_skip.txt drops this part (1 code, 2 name) of code. */
static bool
skipped(const char *code, int part)
{
    for (size_t i = 0; i < n_skips; i++)
        if (strcmp(skips[i].code, code) == 0 &&
            (skips[i].what == 0 || skips[i].what == part))
            return true;
    return false;
}

static const char *
forms_of(const char *base)
{
    for (size_t i = 0; i < n_forms; i++)
        if (strcasecmp(forms[i].base, base) == 0)
            return forms[i].forms;
    return NULL;
}

/* The name and its plural or listed forms: "Norwegian Krone" gives
 * "Norwegian Krone" and "Norwegian kroner". */
static void
add_name(table_t *t, const char *name, const char *code)
{
    add(t, name, code, "0", false, false, false);
    const char *fl = forms_of(name);
    const char *last = strrchr(name, ' ');
    size_t plen = 0;
    if (!fl) {
        last = last ? last + 1 : name;
        plen = (size_t)(last - name);
        fl = forms_of(last);
    }
    char buf[LINE_MAX_LEN];
    if (!fl) {
        size_t n = strlen(name);
        if (n && tolower((unsigned char)name[n - 1]) != 's' &&
            n + 2 < sizeof buf) {
            snprintf(buf, sizeof buf, "%ss", name);
            add(t, buf, code, "0", false, false, false);
        }
        return;
    }
    char list[256];
    snprintf(list, sizeof list, "%s", fl);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        tok = trim(tok);
        if (!*tok || plen + strlen(tok) + 1 >= sizeof buf)
            continue;
        memcpy(buf, name, plen);
        strcpy(buf + plen, tok);
        add(t, buf, code, "0", false, false, false);
    }
}

static void
add_iso(table_t *t, const char *path)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    json_t *arr = root ? json_object_get(root, "4217") : NULL;
    if (!json_is_array(arr)) {
        fprintf(stderr, "fig_gen: %s: no '4217' array (%s)\n", path,
                root ? "wrong layout" : err.text);
        exit(1);
    }
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o)
    {
        const char *code = json_string_value(json_object_get(o, "alpha_3"));
        const char *name = json_string_value(json_object_get(o, "name"));
        if (!code || strlen(code) != 3 || skipped(code, 0))
            continue;
        if (!skipped(code, 1))
            add(t, code, code, "0", true, false, false);
        if (name && !skipped(code, 2) && !strchr(name, '('))
            add_name(t, name, code);
    }
    json_decref(root);
}

static void
put_c_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            fprintf(out, "\\%03o", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void
write_table(FILE *out, const char *name, const table_t *t)
{
    fprintf(out, "static const fig_word_t fig_%s[] = {\n", name);
    for (size_t i = 0; i < t->n; i++) {
        const entry_t *e = &t->e[i];
        fputs("    { ", out);
        put_c_string(out, e->pat);
        fputs(", ", out);
        if (e->norm)
            put_c_string(out, e->norm);
        else
            fputs("NULL", out);
        fprintf(out, ", %s, %s%s },\n", e->num,
                e->cs && e->gl ? "FIG_LEX_CS | FIG_LEX_GLUE"
                : e->cs        ? "FIG_LEX_CS"
                : e->gl        ? "FIG_LEX_GLUE"
                               : "0",
                e->only_glued ? " | FIG_LEX_ONLY_GLUED" : "");
    }
    fputs("    { NULL, NULL, 0, 0 },\n};\n\n", out);
}

int
main(int argc, char **argv)
{
    static const char *const names[] = { "scales",
                                         "currencies",
                                         "currency_symbols",
                                         "units",
                                         "months",
                                         "percents",
                                         "durations",
                                         "numwords",
                                         "loose_followers",
                                         "range_connectors",
                                         "year_preps",
                                         "seasons",
                                         "season_edges",
                                         "year_edges",
                                         "relative_periods",
                                         "part_ordinals",
                                         "carry_preps",
                                         "clock_words",
                                         "ordinal_suffixes",
                                         "year_prefixes",
                                         "year_prep_blockers",
                                         "count_approximators",
                                         "number_signs",
                                         "event_heads",
                                         "unit_gaps",
                                         "multipliers",
                                         "ordinal_heads",
                                         NULL };
    if (argc != 4) {
        fprintf(stderr, "usage: fig_gen OUT.inc ISO_4217_JSON DATA_DIR\n");
        return 2;
    }
    read_forms(argv[3]);
    read_skips(argv[3]);
    FILE *out = fopen(argv[1], "w");
    if (!out) {
        fprintf(stderr, "fig_gen: cannot write %s\n", argv[1]);
        return 1;
    }
    fputs("/* Generated by engine/gen/fig_gen.c from engine/data/fig/ and "
          "ISO 4217: the figure tables of the built-in lexicon, included by "
          "lexicon.c. Do not edit. */\n#include \"fig_lex.h\"\n\n",
          out);
    for (int k = 0; names[k]; k++) {
        table_t t = { 0 };
        read_table(argv[3], names[k], &t);
        if (strcmp(names[k], "currencies") == 0)
            add_iso(&t, argv[2]);
        write_table(out, names[k], &t);
        for (size_t i = 0; i < t.n; i++) {
            free(t.e[i].pat);
            free(t.e[i].norm);
            free(t.e[i].num);
        }
        free(t.e);
    }
    /* every table, for lexicon.c's initialiser: a table without a
     * lexicon_t field fig_NAME fails the build there */
    fputs("#define FIG_DATA_TABLES(X)", out);
    for (int k = 0; names[k]; k++)
        fprintf(out, " \\\n    X(%s)", names[k]);
    fputs("\n", out);
    if (fclose(out) != 0) {
        fprintf(stderr, "fig_gen: write error on %s\n", argv[1]);
        return 1;
    }
    return 0;
}
