/*
 * cli util: file reading and terminal checks shared by subcommands.
 */
#include "cli.h"

#include "../common/err.h"
#include "../common/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
