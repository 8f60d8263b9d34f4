/*
 * cfg: table-driven configuration parsing, see cfg.h for the layering.
 */
#include "cfg.h"

#include "err.h"
#include "log.h"
#include "xalloc.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const cfg_entry_t *
find(const cfg_entry_t *tab, size_t n, const char *key, size_t klen)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(tab[i].name) == klen && strncmp(tab[i].name, key, klen) == 0)
            return &tab[i];
    return NULL;
}

static int
parse_scaled(const char *s, uint64_t *out, const char *const *sfx,
             const uint64_t *mul, size_t nsfx)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return ERR_INVAL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return ERR_INVAL;
    uint64_t m = 1;
    if (*end) {
        size_t i;
        for (i = 0; i < nsfx; i++)
            if (strcmp(end, sfx[i]) == 0)
                break;
        if (i == nsfx)
            return ERR_INVAL;
        m = mul[i];
    }
    if (v > UINT64_MAX / m)
        return ERR_INVAL;
    *out = (uint64_t)v * m;
    return ERR_OK;
}

int
cfg_parse_size(const char *s, uint64_t *out)
{
    static const char *const sfx[] = { "k", "K", "M", "G", "T", "B" };
    static const uint64_t mul[] = { 1ull << 10, 1ull << 10, 1ull << 20,
                                    1ull << 30, 1ull << 40, 1 };
    return parse_scaled(s, out, sfx, mul, 6);
}

int
cfg_parse_ms(const char *s, uint64_t *out)
{
    static const char *const sfx[] = { "ms", "s", "m", "h" };
    static const uint64_t mul[] = { 1, 1000, 60000, 3600000 };
    return parse_scaled(s, out, sfx, mul, 4);
}

static bool
string_in_bounds(const cfg_entry_t *e, const char *v)
{
    size_t len = strlen(v);
    return len >= (uint64_t)e->min && (!e->max || len <= (uint64_t)e->max);
}

static int
parse_double(const char *v, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(d))
        return ERR_INVAL;
    *out = d;
    return ERR_OK;
}

static int
parse_value(const cfg_entry_t *e, void *obj, const char *v)
{
    char *field = (char *)obj + e->offset;
    switch (e->type) {
    case CFG_BOOL: {
        bool b;
        if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") ||
            !strcmp(v, "on"))
            b = true;
        else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no") ||
                 !strcmp(v, "off"))
            b = false;
        else
            return ERR_INVAL;
        *(bool *)field = b;
        return ERR_OK;
    }
    case CFG_INT: {
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (errno || end == v || *end)
            return ERR_INVAL;
        if (x < e->min || (e->max && x > e->max))
            return ERR_INVAL;
        *(int64_t *)field = x;
        return ERR_OK;
    }
    case CFG_SIZE:
    case CFG_MS: {
        uint64_t x;
        int rc =
            e->type == CFG_SIZE ? cfg_parse_size(v, &x) : cfg_parse_ms(v, &x);
        if (rc)
            return rc;
        if (x < (uint64_t)e->min || (e->max && x > (uint64_t)e->max))
            return ERR_INVAL;
        *(uint64_t *)field = x;
        return ERR_OK;
    }
    case CFG_STRING: {
        if (!string_in_bounds(e, v))
            return ERR_INVAL;
        char **sp = (char **)field;
        free(*sp);
        *sp = xstrdup(v);
        return ERR_OK;
    }
    case CFG_DOUBLE:
        return parse_double(v, (double *)field);
    case CFG_LIST:
        return ERR_INVAL; /* command lines only: see cli_set */
    }
    return ERR_INVAL;
}

/* Bytes of a field of this type. */
static size_t
field_size(cfg_type_t t)
{
    switch (t) {
    case CFG_BOOL:
        return sizeof(bool);
    case CFG_DOUBLE:
        return sizeof(double);
    case CFG_STRING:
        return sizeof(char *);
    case CFG_LIST:
        return sizeof(cfg_list_t);
    default:
        return sizeof(uint64_t);
    }
}

int
cfg_set(const cfg_entry_t *tab, size_t n, void *obj, const char *key,
        const char *value, const char *origin)
{
    const cfg_entry_t *e = find(tab, n, key, strlen(key));
    if (!e) {
        log_error("config: unknown key=%s origin=%s", key, origin);
        return ERR_NOTFOUND;
    }
    int rc = parse_value(e, obj, value);
    if (rc) {
        if (e->max)
            log_error("config: bad value key=%s value=\"%s\" origin=%s "
                      "bounds=[%" PRId64 ",%" PRId64 "]",
                      key, value, origin, e->min, e->max);
        else
            log_error("config: bad value key=%s value=\"%s\" origin=%s", key,
                      value, origin);
    }
    return rc;
}

int
cfg_defaults(const cfg_entry_t *tab, size_t n, void *obj)
{
    for (size_t i = 0; i < n; i++) {
        int rc = parse_value(&tab[i], obj, tab[i].def ? tab[i].def : "");
        if (rc && tab[i].type != CFG_STRING && tab[i].def) {
            log_error("config: bad default key=%s", tab[i].name);
            return rc;
        }
        if (rc && !tab[i].def && tab[i].type != CFG_STRING)
            memset((char *)obj + tab[i].offset, 0, field_size(tab[i].type));
    }
    return ERR_OK;
}

static char *
trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int
cfg_load_file(const cfg_entry_t *tab, size_t n, void *obj, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        log_error("config: cannot read file=%s: %s", path, strerror(errno));
        return ERR_IO;
    }
    char line[4096];
    int lineno = 0, rc = ERR_OK;
    char origin[512];
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        snprintf(origin, sizeof origin, "%s:%d", path, lineno);
        if (!eq) {
            log_error("config: expected key = value origin=%s", origin);
            rc = ERR_INVAL;
            break;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        size_t vl = strlen(val);
        if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
            val[vl - 1] = '\0';
            val++;
        }
        rc = cfg_set(tab, n, obj, key, val, origin);
        if (rc) {
            rc = ERR_INVAL;
            break;
        }
    }
    fclose(f);
    return rc;
}

int
cfg_load_env(const cfg_entry_t *tab, size_t n, void *obj, const char *prefix)
{
    char name[256];
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)snprintf(name, sizeof name, "%s", prefix);
        for (const char *p = tab[i].name; *p && k < sizeof name - 1; p++)
            name[k++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
        name[k] = '\0';
        const char *v = getenv(name);
        if (v && cfg_set(tab, n, obj, tab[i].name, v, name))
            return ERR_INVAL;
    }
    return ERR_OK;
}

const char *
cfg_find_config(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            return argv[i + 1];
        if (!strncmp(argv[i], "--config=", 9))
            return argv[i] + 9;
    }
    return NULL;
}

int
cfg_parse_args(const cfg_entry_t *tab, size_t n, void *obj, int argc,
               char **argv, int *argi)
{
    int i = *argi;
    while (i < argc) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (strncmp(a, "--", 2) != 0 || !a[2])
            break;
        a += 2;
        const char *eq = strchr(a, '=');
        size_t klen = eq ? (size_t)(eq - a) : strlen(a);
        if (klen == 6 && !strncmp(a, "config", 6)) {
            i += eq ? 1 : 2; /* handled by cfg_find_config */
            continue;
        }
        const cfg_entry_t *e = find(tab, n, a, klen);
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)klen, a);
        if (!e) {
            log_error("config: unknown flag --%s", key);
            *argi = i;
            return ERR_INVAL;
        }
        const char *val;
        if (eq) {
            val = eq + 1;
            i++;
        } else if (e->type == CFG_BOOL) {
            val = "true";
            i++;
        } else if (i + 1 < argc) {
            val = argv[i + 1];
            i += 2;
        } else {
            log_error("config: flag --%s needs a value", key);
            *argi = i;
            return ERR_INVAL;
        }
        if (cfg_set(tab, n, obj, key, val, "flag")) {
            *argi = i;
            return ERR_INVAL;
        }
    }
    *argi = i;
    return ERR_OK;
}

static void
format_value(const cfg_entry_t *e, const void *obj, char *buf, size_t len)
{
    const char *field = (const char *)obj + e->offset;
    switch (e->type) {
    case CFG_BOOL:
        snprintf(buf, len, "%s", *(const bool *)field ? "true" : "false");
        break;
    case CFG_INT:
        snprintf(buf, len, "%" PRId64, *(const int64_t *)field);
        break;
    case CFG_SIZE:
    case CFG_MS:
        snprintf(buf, len, "%" PRIu64 "%s", *(const uint64_t *)field,
                 e->type == CFG_MS ? "ms" : "");
        break;
    case CFG_STRING: {
        const char *s = *(char *const *)field;
        snprintf(buf, len, "\"%s\"", s ? s : "");
        break;
    }
    case CFG_DOUBLE:
        snprintf(buf, len, "%g", *(const double *)field);
        break;
    case CFG_LIST:
        snprintf(buf, len, "(%zu values)", ((const cfg_list_t *)field)->n);
        break;
    }
}

void
cfg_log(const cfg_entry_t *tab, size_t n, const void *obj)
{
    char line[1800];
    size_t k = 0;
    for (size_t i = 0; i < n && k < sizeof line - 1; i++) {
        char v[256];
        format_value(&tab[i], obj, v, sizeof v);
        int w = snprintf(line + k, sizeof line - k, "%s%s=%s", i ? " " : "",
                         tab[i].name, v);
        if (w < 0)
            break;
        k += (size_t)w;
    }
    log_info("config %s", line);
}

/* The help text after its value name ("E\thelp"), and that name. */
static const char *
help_text(const cfg_entry_t *e, char *name, size_t len)
{
    const char *tab = e->help ? strchr(e->help, '\t') : NULL;
    if (!tab) {
        snprintf(name, len, "%s", "");
        return e->help ? e->help : "";
    }
    snprintf(name, len, "%.*s", (int)(tab - e->help), e->help);
    return tab + 1;
}

void
cfg_usage(const cfg_entry_t *tab, size_t n, FILE *out)
{
    char name[32];
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  --%-22s %s (default: %s)\n", tab[i].name,
                help_text(&tab[i], name, sizeof name),
                tab[i].def && *tab[i].def ? tab[i].def : "none");
    fprintf(out, "  --%-22s %s\n", "config FILE",
            "read key = value settings from FILE first");
}

void
cfg_free(const cfg_entry_t *tab, size_t n, void *obj)
{
    for (size_t i = 0; i < n; i++) {
        if (tab[i].type != CFG_STRING)
            continue;
        char **sp = (char **)((char *)obj + tab[i].offset);
        free(*sp);
        *sp = NULL;
    }
}

/* ------------------------------------------------------ command lines */

/* A CLI field takes the default text itself (strings are borrowed). */
static int
cli_default(const cfg_entry_t *e, void *obj)
{
    char *field = (char *)obj + e->offset;
    if (e->type == CFG_STRING) {
        *(const char **)field = e->def;
        return ERR_OK;
    }
    if (!e->def || e->type == CFG_LIST) {
        memset(field, 0, field_size(e->type));
        return ERR_OK;
    }
    return parse_value(e, obj, e->def);
}

/* What a flag's value must look like, for the error message. */
static void
describe(const cfg_entry_t *e, char *buf, size_t len)
{
    switch (e->type) {
    case CFG_BOOL:
        snprintf(buf, len, "true or false");
        break;
    case CFG_INT:
        if (e->max)
            snprintf(buf, len, "a whole number in %" PRId64 "..%" PRId64,
                     e->min, e->max);
        else
            snprintf(buf, len, "a whole number >= %" PRId64, e->min);
        break;
    case CFG_MS:
        if (e->max)
            snprintf(buf, len,
                     "milliseconds in %" PRId64 "..%" PRId64
                     " (or with s, m, h)",
                     e->min, e->max);
        else
            snprintf(buf, len, "milliseconds (or with s, m, h)");
        break;
    case CFG_SIZE:
        snprintf(buf, len, "a size such as 512M or 4G");
        break;
    case CFG_STRING:
        if (e->max)
            snprintf(buf, len, "%" PRId64 "..%" PRId64 " bytes", e->min,
                     e->max);
        else
            snprintf(buf, len, "a value");
        break;
    case CFG_DOUBLE:
        snprintf(buf, len, "a number");
        break;
    case CFG_LIST:
        snprintf(buf, len, "a value");
        break;
    }
}

/* The entry named name (klen bytes) in some group, or NULL. */
static const cfg_entry_t *
cli_find(cfg_group_t *groups, size_t n_groups, const char *name, size_t klen,
         cfg_group_t **group)
{
    for (size_t g = 0; g < n_groups; g++) {
        const cfg_entry_t *e = find(groups[g].tab, groups[g].n, name, klen);
        if (e) {
            *group = &groups[g];
            return e;
        }
    }
    return NULL;
}

/* Set e in group from v (CLI rules: strings borrowed, bounds checked). */
static int
cli_set(cfg_cli_t *cli, cfg_group_t *group, const cfg_entry_t *e, const char *v)
{
    int rc;
    char *field = (char *)group->obj + e->offset;
    if (e->type == CFG_STRING || e->type == CFG_LIST) {
        rc = string_in_bounds(e, v) ? ERR_OK : ERR_INVAL;
    } else {
        rc = parse_value(e, group->obj, v);
    }
    if (rc) {
        char want[96];
        describe(e, want, sizeof want);
        fprintf(stderr, "%s: --%s wants %s, not \"%s\"\n", cli->prog, e->name,
                want, v);
        return ERR_INVAL;
    }
    if (e->type == CFG_STRING) {
        *(const char **)field = v;
    } else if (e->type == CFG_LIST) {
        cfg_list_t *l = (cfg_list_t *)(void *)field;
        if (!l->v) { /* room for every argument: no regrowth */
            l->v = xcalloc((size_t)cli->argc, sizeof *l->v);
            cli->owned[cli->n_owned++] = (void *)l->v;
        }
        l->v[l->n++] = v;
    }
    group->seen |= 1ull << (size_t)(e - group->tab);
    return ERR_OK;
}

static int
cli_positional(cfg_cli_t *cli, const char *arg)
{
    if (cli->max_pos >= 0 && cli->n_pos >= cli->max_pos) {
        fprintf(stderr, "%s: unexpected argument %s\n", cli->prog, arg);
        return ERR_INVAL;
    }
    cli->pos[cli->n_pos++] = arg;
    return ERR_OK;
}

int
cfg_cli_parse(cfg_group_t *groups, size_t n_groups, int argc, char **argv,
              cfg_cli_t *cli)
{
    cli->argc = argc > 0 ? argc : 1;
    cli->pos = xcalloc((size_t)cli->argc, sizeof *cli->pos);
    cli->n_pos = 0;
    /* each list's first value uses an argument: at most argc lists */
    cli->owned = xcalloc((size_t)cli->argc, sizeof *cli->owned);
    cli->n_owned = 0;
    cli->help = false;
    for (size_t g = 0; g < n_groups; g++) {
        assert(groups[g].n <= 64);
        groups[g].seen = 0;
        for (size_t i = 0; i < groups[g].n; i++)
            if (cli_default(&groups[g].tab[i], groups[g].obj)) {
                fprintf(stderr, "%s: bad default for --%s\n", cli->prog,
                        groups[g].tab[i].name);
                return ERR_INVAL;
            }
    }
    bool flags = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!flags || a[0] != '-' || !a[1]) {
            if (cli_positional(cli, a))
                return ERR_INVAL;
            if (cli->flags_first)
                flags = false;
            continue;
        }
        if (!strcmp(a, "--")) {
            flags = false;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cli->help = true;
            return ERR_OK;
        }
        const char *name = a[1] == '-' ? a + 2 : a + 1;
        const char *eq = strchr(name, '=');
        size_t klen = eq ? (size_t)(eq - name) : strlen(name);
        cfg_group_t *group = NULL;
        const cfg_entry_t *e =
            a[1] == '-' ? cli_find(groups, n_groups, name, klen, &group) : NULL;
        if (!e) {
            fprintf(stderr, "%s: unknown flag %s\n", cli->prog, a);
            return ERR_NOTFOUND;
        }
        const char *v;
        if (eq)
            v = eq + 1;
        else if (e->type == CFG_BOOL)
            v = "true";
        else if (i + 1 < argc && *argv[i + 1])
            v = argv[++i];
        else
            v = NULL;
        if (!v || (!*v && e->type != CFG_STRING)) {
            fprintf(stderr, "%s: --%s needs a value\n", cli->prog, e->name);
            return ERR_INVAL;
        }
        if (cli_set(cli, group, e, v))
            return ERR_INVAL;
    }
    return ERR_OK;
}

void
cfg_cli_free(cfg_cli_t *cli)
{
    free(cli->pos);
    cli->pos = NULL;
    cli->n_pos = 0;
    for (size_t i = 0; i < cli->n_owned; i++)
        free(cli->owned[i]);
    free(cli->owned);
    cli->owned = NULL;
    cli->n_owned = 0;
}

/* Print text from column indent (the cursor is there), wrapped at words
 * before column 80; a word longer than a line stays whole. */
static void
print_wrapped(FILE *out, const char *text, int indent)
{
    int col = indent;
    const char *p = text;
    while (*p) {
        size_t w = strcspn(p, " ");
        if (col > indent && col + 1 + (int)w > 79) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', out);
            col++;
        }
        fprintf(out, "%.*s", (int)w, p);
        col += (int)w;
        p += w;
        while (*p == ' ')
            p++;
    }
    fputc('\n', out);
}

void
cfg_cli_usage(const cfg_group_t *groups, size_t n_groups, FILE *out)
{
    char name[32], flag[64], text[1024];
    for (size_t g = 0; g < n_groups; g++)
        for (size_t i = 0; i < groups[g].n; i++) {
            const cfg_entry_t *e = &groups[g].tab[i];
            const char *help = help_text(e, name, sizeof name);
            snprintf(flag, sizeof flag, "--%s%s%s", e->name, *name ? " " : "",
                     name);
            if (e->def && *e->def && e->type != CFG_BOOL)
                snprintf(text, sizeof text, "%s (default: %s)", help, e->def);
            else
                snprintf(text, sizeof text, "%s", help);
            fprintf(out, "  %-20s ", flag);
            print_wrapped(out, text, 23);
        }
}
