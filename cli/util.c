/*
 * cli util: file reading and terminal checks shared by subcommands.
 */
#include "cli.h"

#include "../common/err.h"
#include "../common/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
cli_parse_flags(cfg_group_t *groups, size_t n_groups, int argc, char **argv,
                cfg_cli_t *cli, void (*usage)(FILE *out))
{
    int rc = cfg_cli_parse(groups, n_groups, argc, argv, cli);
    if (rc == ERR_NOTFOUND)
        usage(stderr);
    if (rc)
        return CLI_EXIT_USAGE;
    if (cli->help)
        usage(stdout);
    return CLI_EXIT_OK;
}

bool
cli_is_tty(int fd)
{
    return isatty(fd) == 1;
}

int
cli_read_file(const char *path, size_t max, char **bufp, size_t *lenp)
{
    bool is_stdin = !strcmp(path, "-");
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "excerpt: cannot open %s: %s\n", path, strerror(errno));
        return ERR_IO;
    }
    size_t cap = 65536, len = 0;
    char *buf = xmalloc(cap + 1);
    int rc = ERR_OK;
    for (;;) {
        if (len == cap) {
            if (cap >= max + 1) {
                rc = ERR_TOOBIG;
                fprintf(stderr, "excerpt: %s: larger than %zu bytes\n", path,
                        max);
                break;
            }
            cap *= 2;
            buf = xreallocarray(buf, cap + 1, 1);
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f)) {
                fprintf(stderr, "excerpt: cannot read %s: %s\n", path,
                        strerror(errno));
                rc = ERR_IO;
            }
            break;
        }
    }
    if (!rc && len > max) {
        fprintf(stderr, "excerpt: %s: larger than %zu bytes\n", path, max);
        rc = ERR_TOOBIG;
    }
    if (!is_stdin)
        fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    *bufp = buf;
    *lenp = len;
    return ERR_OK;
}

static int
txt_filter(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 4 && !strcmp(d->d_name + n - 4, ".txt");
}

static void
append(char ***list, size_t *n, size_t *cap, char *path)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *list = xreallocarray(*list, *cap, sizeof **list);
    }
    (*list)[(*n)++] = path;
}

int
cli_collect_inputs(const char *prefix, const char *path, char ***list,
                   size_t *n, size_t *cap)
{
    struct stat st;
    if (!strcmp(path, "-")) {
        append(list, n, cap, xstrdup(path));
        return ERR_OK;
    }
    if (stat(path, &st) != 0) {
        fprintf(stderr, "%s: %s: %s\n", prefix, path, strerror(errno));
        return ERR_IO;
    }
    if (!S_ISDIR(st.st_mode)) {
        append(list, n, cap, xstrdup(path));
        return ERR_OK;
    }
    struct dirent **ents = NULL;
    int k = scandir(path, &ents, txt_filter, alphasort);
    if (k < 0) {
        fprintf(stderr, "%s: %s: %s\n", prefix, path, strerror(errno));
        return ERR_IO;
    }
    if (k == 0)
        fprintf(stderr, "%s: %s: no *.txt files\n", prefix, path);
    size_t plen = strlen(path);
    bool slash = plen && path[plen - 1] == '/';
    for (int i = 0; i < k; i++) {
        size_t len = plen + strlen(ents[i]->d_name) + 2;
        char *p = xmalloc(len);
        snprintf(p, len, "%s%s%s", path, slash ? "" : "/", ents[i]->d_name);
        append(list, n, cap, p);
        free(ents[i]);
    }
    free(ents);
    return ERR_OK;
}
