/*
 * cfg: table-driven configuration parsing, see cfg.h for the layering.
 */
#include "cfg.h"

#include "err.h"
#include "log.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
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
        char **sp = (char **)field;
        free(*sp);
        *sp = xstrdup(v);
        return ERR_OK;
    }
    }
    return ERR_INVAL;
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
            memset((char *)obj + tab[i].offset, 0,
                   tab[i].type == CFG_BOOL ? sizeof(bool) : sizeof(uint64_t));
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

void
cfg_usage(const cfg_entry_t *tab, size_t n, FILE *out)
{
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  --%-22s %s (default: %s)\n", tab[i].name, tab[i].help,
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
