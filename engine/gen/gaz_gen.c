/*
 * gaz_gen: build-time generator of the entity gazetteer. Reads Debian's
 * iso-codes JSON (countries, former countries, selected subdivisions) and
 * the curated lists in engine/data/, cuts every entry with the runtime
 * tokenizer (tok.c) and writes one C fragment (included by lexicon.c)
 * holding a ready open-addressing table, so the engine does no file I/O
 * and no parsing at run time.
 *
 * usage: gaz_gen OUT.inc ISO_JSON_DIR LIST.txt...
 * A list file holds one entry per line; "#" lines are comments, except a
 * "#!kind=K" line that sets the kind of the entries below it (ORG, GPE, LOC,
 * FAC, NORP, PERSON, TITLE, HONOR, GIVEN, STOP, COMMON, HEAD_<T>,
 * PLURAL_<T>, NONE: an entry with entity type 0, a phrase no rule may
 * name). "Surface = Canonical" gives an entity its canonical name.
 * A "#!set=NAME" line starts a word list instead (lexset.h): its entries
 * below become the lex_set_t lex_NAME, words as written, with the filters
 * of their tok_hash() values computed here, which lexicon.c puts in the
 * built-in lexicon; a set named iso_* steers this program (read_iso) and
 * is not written out.
 */
#include "../gaz.h"
#include "../tok.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 16

typedef struct rec {
    uint64_t hash;  /* key hash */
    char *canon;    /* canonical name or NULL */
    uint16_t kinds; /* GAZ_* */
    uint8_t ent;    /* entity type */
    uint8_t head;   /* head type */
} rec_t;

static rec_t *recs;
static size_t n_recs, cap_recs;

#define MAX_SETS 32
#define MAX_SET_WORDS 256

/* A word list of a "#!set=NAME" block. */
typedef struct wset {
    char name[48];
    char *w[MAX_SET_WORDS];
    size_t n;
} wset_t;

static wset_t sets[MAX_SETS];
static size_t n_sets;

/* The set called name, created empty when new; NULL when full. */
static wset_t *
get_set(const char *name)
{
    for (size_t i = 0; i < n_sets; i++)
        if (strcmp(sets[i].name, name) == 0)
            return &sets[i];
    if (n_sets == MAX_SETS || strlen(name) >= sizeof sets[0].name)
        return NULL;
    wset_t *w = &sets[n_sets++];
    strcpy(w->name, name);
    return w;
}

/* Entity type codes, as in common/result.h. */
static int
type_code(const char *s)
{
    static const char *const names[] = { "PERSON", "ORG", "GPE",
                                         "LOC",    "FAC", "NORP" };
    for (int i = 0; i < 6; i++)
        if (strcmp(s, names[i]) == 0)
            return i + 1;
    return 0;
}

static rec_t *
find_rec(uint64_t h)
{
    /* linear probing would be nicer; the generator runs once per build */
    for (size_t i = 0; i < n_recs; i++)
        if (recs[i].hash == h)
            return &recs[i];
    return NULL;
}

static rec_t *
get_rec(uint64_t h)
{
    rec_t *r = find_rec(h);
    if (r)
        return r;
    if (n_recs == cap_recs) {
        cap_recs = cap_recs ? cap_recs * 2 : 4096;
        recs = realloc(recs, cap_recs * sizeof *recs);
        if (!recs) {
            fprintf(stderr, "gaz_gen: out of memory\n");
            exit(1);
        }
    }
    r = &recs[n_recs++];
    memset(r, 0, sizeof *r);
    r->hash = h;
    return r;
}

/* Hashes of the word prefixes of s; returns the number of words. */
static int
key_hashes(const char *s, uint64_t *hs)
{
    size_t pos = 0, len = strlen(s);
    tok_t t;
    int n = 0;
    uint64_t h = 0;
    while (n < MAX_TOKENS && tok_next(s, len, &pos, &t)) {
        h = tok_seq(h, t.hash);
        hs[n++] = h;
    }
    return n;
}

/*
 * Add an entry. kinds/ent/head describe it; only_new: skip single-word
 * keys that already mean something else (iso names such as "Victoria").
 */
static void
add_entry(const char *surface, const char *canon, uint16_t kinds, int ent,
          int head, bool only_new)
{
    uint64_t hs[MAX_TOKENS];
    int n = key_hashes(surface, hs);
    if (n == 0)
        return;
    rec_t *r = find_rec(hs[n - 1]);
    if (only_new && r && (r->kinds & ~GAZ_PREFIX))
        return;
    for (int i = 0; i < n - 1; i++)
        get_rec(hs[i])->kinds |= GAZ_PREFIX;
    r = get_rec(hs[n - 1]);
    if ((kinds & GAZ_ENT) && (r->kinds & GAZ_ENT))
        kinds &= ~GAZ_ENT; /* first list wins */
    if ((kinds & (GAZ_HEAD | GAZ_PLURAL)) && r->head)
        kinds &= ~(GAZ_HEAD | GAZ_PLURAL);
    if ((kinds & GAZ_ENT) && n == 1 && strlen(surface) >= 2) {
        bool caps = true;
        for (const char *c = surface; *c; c++)
            if (*c >= 'a' && *c <= 'z')
                caps = false;
        if (caps)
            kinds |= GAZ_ACRONYM;
    }
    r->kinds |= kinds;
    if (kinds & GAZ_ENT) {
        r->ent = (uint8_t)ent;
        r->canon = strdup(canon ? canon : surface);
        if (!r->canon)
            exit(1);
    }
    if (kinds & (GAZ_HEAD | GAZ_PLURAL))
        r->head = (uint8_t)head;
}

static char *
trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
                 s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

static int
parse_kind(const char *k, uint16_t *kinds, int *ent, int *head)
{
    *ent = *head = 0;
    if ((*ent = type_code(k))) {
        *kinds = GAZ_ENT;
        return 0;
    }
    if (strcmp(k, "NONE") == 0) { /* a known phrase that names nothing */
        *kinds = GAZ_ENT;
        return 0;
    }
    static const struct {
        const char *name;
        uint16_t kind;
    } simple[] = { { "TITLE", GAZ_TITLE },
                   { "HONOR", GAZ_HONOR },
                   { "GIVEN", GAZ_GIVEN },
                   { "STOP", GAZ_STOP },
                   { "COMMON", GAZ_COMMON } };
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
        if (strcmp(k, simple[i].name) == 0) {
            *kinds = simple[i].kind;
            return 0;
        }
    if (strncmp(k, "HEAD_", 5) == 0 && (*head = type_code(k + 5))) {
        *kinds = GAZ_HEAD;
        return 0;
    }
    if (strncmp(k, "PLURAL_", 7) == 0 && (*head = type_code(k + 7))) {
        *kinds = GAZ_PLURAL;
        return 0;
    }
    return -1;
}

static int
read_list(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    char line[1024];
    uint16_t kinds = 0;
    int ent = 0, head = 0, lineno = 0;
    wset_t *set = NULL;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (strncmp(s, "#!set=", 6) == 0) {
            if (!(set = get_set(s + 6))) {
                fprintf(stderr, "%s:%d: too many sets or name too long\n", path,
                        lineno);
                fclose(f);
                return -1;
            }
            kinds = 0;
            continue;
        }
        if (set && *s && *s != '#') {
            if (set->n == MAX_SET_WORDS || !(set->w[set->n] = strdup(s))) {
                fprintf(stderr, "%s:%d: set %s too long\n", path, lineno,
                        set->name);
                fclose(f);
                return -1;
            }
            set->n++;
            continue;
        }
        if (strncmp(s, "#!kind=", 7) == 0) {
            set = NULL;
            if (parse_kind(s + 7, &kinds, &ent, &head) < 0) {
                fprintf(stderr, "%s:%d: unknown kind %s\n", path, lineno,
                        s + 7);
                fclose(f);
                return -1;
            }
            continue;
        }
        if (!*s || *s == '#')
            continue;
        if (!kinds) {
            fprintf(stderr, "%s:%d: entry before #!kind\n", path, lineno);
            fclose(f);
            return -1;
        }
        char *canon = NULL, *eq = strstr(s, " = ");
        if (eq) {
            *eq = '\0';
            canon = trim(eq + 3);
            s = trim(s);
        }
        add_entry(s, canon, kinds, ent, head, false);
    }
    fclose(f);
    return 0;
}

static json_t *
load_iso(const char *dir, const char *name, const char *key)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    if (!root) {
        fprintf(stderr, "%s:%d: %s\n", path, e.line, e.text);
        return NULL;
    }
    json_t *arr = json_object_get(root, key);
    if (!json_is_array(arr)) {
        fprintf(stderr, "%s: no array %s\n", path, key);
        json_decref(root);
        return NULL;
    }
    json_incref(arr);
    json_decref(root);
    return arr;
}

/* A usable name: no comma, bracket or parenthesis ("Korea, Republic of"). */
static bool
plain_name(const char *s)
{
    return s && *s && !strpbrk(s, ",()[]");
}

static const char *
str_of(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int
read_iso(const char *dir)
{
    json_t *c = load_iso(dir, "iso_3166-1.json", "3166-1");
    if (!c)
        return -1;
    size_t i;
    json_t *x;
    json_array_foreach(c, i, x)
    {
        const char *common = str_of(x, "common_name");
        const char *name = str_of(x, "name");
        const char *official = str_of(x, "official_name");
        const char *canon = plain_name(common) ? common
                            : plain_name(name) ? name
                                               : official;
        if (!plain_name(canon))
            continue;
        const char *forms[] = { common, name, official };
        for (int k = 0; k < 3; k++)
            if (plain_name(forms[k]))
                add_entry(forms[k], canon, GAZ_ENT, 3, 0, true);
    }
    json_decref(c);

    json_t *f = load_iso(dir, "iso_3166-3.json", "3166-3");
    if (!f)
        return -1;
    json_array_foreach(f, i, x)
    {
        const char *name = str_of(x, "name");
        if (plain_name(name))
            add_entry(name, name, GAZ_ENT, 3, 0, true);
    }
    json_decref(f);

    /* Subdivisions: only states of the federations of data/iso.txt and
     * cities with their own code; other subdivision names are
     * transliterations nobody writes in English text, or ordinary words. */
    const wset_t *states = get_set("iso_state_countries");
    if (!states || !states->n) {
        fprintf(stderr, "gaz_gen: no #!set=iso_state_countries list\n");
        return -1;
    }
    json_t *s = load_iso(dir, "iso_3166-2.json", "3166-2");
    if (!s)
        return -1;
    json_array_foreach(s, i, x)
    {
        const char *name = str_of(x, "name");
        const char *type = str_of(x, "type");
        const char *code = str_of(x, "code");
        if (!plain_name(name) || !type || !code)
            continue;
        bool ok =
            strcmp(type, "City") == 0 || strcmp(type, "Autonomous city") == 0;
        if (strcmp(type, "State") == 0 || strcmp(type, "Land") == 0)
            for (size_t k = 0; k < states->n; k++)
                if (strncmp(code, states->w[k], strlen(states->w[k])) == 0)
                    ok = true;
        if (ok)
            add_entry(name, name, GAZ_ENT, 3, 0, true);
    }
    json_decref(s);
    return 0;
}

static void
put_c_string(FILE *o, const char *s)
{
    fputc('"', o);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(o, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(o, "\\%03o", c);
        else
            fputc(c, o);
    }
    fputs("\\0\"\n", o);
}

/* s as a C string literal, nothing after it. */
static void
put_plain(FILE *o, const char *s)
{
    fputc('"', o);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(o, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(o, "\\%03o", c);
        else
            fputc(c, o);
    }
    fputc('"', o);
}

static int
write_table(const char *out)
{
    uint32_t size = 1024;
    while (size < n_recs * 3)
        size *= 2;
    rec_t **table = calloc(size, sizeof *table);
    if (!table)
        return -1;
    for (size_t i = 0; i < n_recs; i++) {
        uint64_t h = recs[i].hash;
        uint32_t k = (uint32_t)(h ^ (h >> 32)) & (size - 1);
        while (table[k])
            k = (k + 1) & (size - 1);
        table[k] = &recs[i];
    }
    FILE *o = fopen(out, "w");
    if (!o) {
        perror(out);
        free(table);
        return -1;
    }
    fprintf(
        o,
        "/* Generated by engine/gen/gaz_gen.c: the gazetteer and word lists "
        "of the built-in lexicon, included by lexicon.c. Do not edit. */\n"
        "#include \"gaz.h\"\n#include \"lexset.h\"\n\n#include <stddef.h>\n\n");
    fprintf(o, "enum { GAZ_DATA_MASK = %uu, GAZ_DATA_KEYS = %zuu };\n",
            size - 1, n_recs);
    fprintf(o, "static const char gaz_names[] =\n\"\\0\"\n");
    uint32_t off = 1;
    uint32_t *offs = calloc(n_recs, sizeof *offs);
    if (!offs) {
        fclose(o);
        free(table);
        return -1;
    }
    for (size_t i = 0; i < n_recs; i++) {
        if (!recs[i].canon)
            continue;
        offs[i] = off;
        put_c_string(o, recs[i].canon);
        off += (uint32_t)strlen(recs[i].canon) + 1;
    }
    fprintf(o, ";\n\nstatic const gaz_slot_t gaz_table[] = {\n");
    for (uint32_t k = 0; k < size; k++) {
        rec_t *r = table[k];
        if (!r) {
            fprintf(o, "    { 0, 0, 0, 0, 0 },\n");
            continue;
        }
        fprintf(o, "    { 0x%016llxull, %u, 0x%x, %u, %u },\n",
                (unsigned long long)r->hash, offs[r - recs], r->kinds, r->ent,
                r->head);
    }
    fprintf(o, "};\n");
    for (size_t i = 0; i < n_sets; i++) {
        const wset_t *w = &sets[i];
        if (strncmp(w->name, "iso_", 4) == 0)
            continue; /* read by read_iso() here, not by the engine */
        uint64_t filter[4] = { 0 }, last[4] = { 0 }, filter2[4] = { 0 };
        fprintf(o, "\nstatic const char *const lex_w_%s[] = {\n", w->name);
        for (size_t k = 0; k < w->n; k++) {
            uint64_t h = tok_hash(w->w[k], strlen(w->w[k]));
            unsigned b = (unsigned)(h >> 56), b2 = (unsigned)(h >> 48) & 0xFF;
            filter[b >> 6] |= 1ULL << (b & 63);
            filter2[b2 >> 6] |= 1ULL << (b2 & 63);
            size_t wl = strlen(w->w[k]);
            if (wl) {
                unsigned lb = (unsigned char)w->w[k][wl - 1];
                last[lb >> 6] |= 1ULL << (lb & 63);
            }
            fputs("    ", o);
            put_plain(o, w->w[k]);
            fputs(",\n", o);
        }
        fprintf(o, "    NULL,\n};\nstatic const uint64_t lex_h_%s[] = {\n",
                w->name);
        for (size_t k = 0; k < w->n; k++)
            fprintf(o, "    0x%016llxull,\n",
                    (unsigned long long)tok_hash(w->w[k], strlen(w->w[k])));
        fprintf(o, "    0,\n};\nstatic const uint8_t lex_l_%s[] = {\n",
                w->name);
        for (size_t k = 0; k < w->n; k++) {
            size_t l = strlen(w->w[k]);
            fprintf(o, "    %zu,\n", l < 255 ? l : 255);
        }
        fprintf(
            o,
            "    0,\n};\nstatic const lex_set_t lex_%s = { lex_w_%s, lex_h_%s, "
            "lex_l_%s, %zu, { 0x%llxull, 0x%llxull, 0x%llxull, 0x%llxull "
            "}, { 0x%llxull, 0x%llxull, 0x%llxull, 0x%llxull }, { 0x%llxull, "
            "0x%llxull, 0x%llxull, 0x%llxull } };\n",
            w->name, w->name, w->name, w->name, w->n,
            (unsigned long long)filter[0], (unsigned long long)filter[1],
            (unsigned long long)filter[2], (unsigned long long)filter[3],
            (unsigned long long)last[0], (unsigned long long)last[1],
            (unsigned long long)last[2], (unsigned long long)last[3],
            (unsigned long long)filter2[0], (unsigned long long)filter2[1],
            (unsigned long long)filter2[2], (unsigned long long)filter2[3]);
    }
    /* every set the engine reads, for lexicon.c's initialiser: a set
     * without a lexicon_t field of its name fails the build there */
    fputs("\n#define GAZ_DATA_SETS(X)", o);
    for (size_t i = 0; i < n_sets; i++)
        if (strncmp(sets[i].name, "iso_", 4) != 0)
            fprintf(o, " \\\n    X(%s)", sets[i].name);
    fputs("\n", o);
    free(offs);
    free(table);
    if (fclose(o) != 0) {
        perror(out);
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: gaz_gen OUT.inc ISO_JSON_DIR LIST.txt...\n");
        return 2;
    }
    for (int i = 3; i < argc; i++)
        if (read_list(argv[i]) < 0)
            return 1;
    if (read_iso(argv[2]) < 0)
        return 1;
    if (write_table(argv[1]) < 0)
        return 1;
    return 0;
}
