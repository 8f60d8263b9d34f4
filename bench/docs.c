/* docs: see docs.h. */
#include "docs.h"

#include "common/err.h"
#include "common/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int
load_file(docs_t *d, const char *prog, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return ERR_IO;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return ERR_IO;
    }
    size_t n = (size_t)st.st_size;
    char *buf = xmalloc(n + 1);
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    if (got != n) {
        fprintf(stderr, "%s: short read on %s\n", prog, path);
        free(buf);
        return ERR_IO;
    }
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 64;
        d->v = xreallocarray(d->v, d->cap, sizeof *d->v);
    }
    d->v[d->n++] = (doc_t){ xstrdup(path), buf, n };
    d->bytes += n;
    return ERR_OK;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int
docs_load(docs_t *d, const char *prog, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return ERR_IO;
    }
    if (!S_ISDIR(st.st_mode))
        return load_file(d, prog, path);
    DIR *dir = opendir(path);
    if (!dir)
        return ERR_IO;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".txt"))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = xreallocarray(names, cap, sizeof *names);
        }
        size_t plen = strlen(path) + l + 2;
        names[n] = xmalloc(plen);
        snprintf(names[n], plen, "%s/%s", path, e->d_name);
        n++;
    }
    closedir(dir);
    qsort(names, n, sizeof *names, cmp_str);
    int rc = ERR_OK;
    for (size_t i = 0; i < n; i++) {
        if (!rc)
            rc = load_file(d, prog, names[i]);
        free(names[i]);
    }
    free(names);
    return rc;
}

void
docs_free(docs_t *d)
{
    for (size_t k = 0; k < d->n; k++) {
        free(d->v[k].path);
        free(d->v[k].text);
    }
    free(d->v);
    *d = (docs_t){ 0 };
}
