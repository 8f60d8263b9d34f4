/*
 * bench_result_check: cost of the check the broker runs on every Done
 * (wire_result_check), beside a full decode (wire_result_decode, what a
 * consumer runs) of the same serialised Results in the same run.
 *   bench_result_check [--min-seconds S] [DIR|FILE...]
 * Default input: the bundled samples. Each file is extracted and its
 * Result serialised once; then each side loops over all of them for at
 * least S seconds (default 1) and prints MB/s of Result bytes and the
 * mean time per Result.
 */
#include "common/err.h"
#include "common/now.h"
#include "common/xalloc.h"
#include "engine/extract.h"
#include "proto/wire.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef EXCERPT_SAMPLES_DIR
#define EXCERPT_SAMPLES_DIR "samples"
#endif

typedef struct enc {
    uint8_t *buf; /* a serialised Result */
    size_t len;   /* its bytes */
} enc_t;

typedef struct set {
    enc_t *v;      /* the Results */
    size_t n, cap; /* count, capacity */
    size_t bytes;  /* their total bytes */
} set_t;

static int
add_file(set_t *s, const extract_t *ex, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench_result_check: %s: %s\n", path, strerror(errno));
        return ERR_IO;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return ERR_IO;
    }
    size_t n = (size_t)st.st_size;
    char *text = xmalloc(n + 1);
    size_t got = fread(text, 1, n, f);
    fclose(f);
    if (got != n) {
        free(text);
        return ERR_IO;
    }
    result_t *r = NULL;
    int rc = extract_run(ex, text, n, &r);
    free(text);
    if (rc)
        return rc;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->v = xreallocarray(s->v, s->cap, sizeof *s->v);
    }
    enc_t *e = &s->v[s->n];
    rc = wire_result_encode(r, &e->buf, &e->len);
    result_destroy(&r);
    if (rc)
        return rc;
    s->bytes += e->len;
    s->n++;
    return ERR_OK;
}

static int
add_path(set_t *s, const extract_t *ex, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "bench_result_check: %s: %s\n", path, strerror(errno));
        return ERR_IO;
    }
    if (!S_ISDIR(st.st_mode))
        return add_file(s, ex, path);
    DIR *d = opendir(path);
    if (!d)
        return ERR_IO;
    struct dirent *de;
    int rc = ERR_OK;
    while (rc == ERR_OK && (de = readdir(d))) {
        size_t k = strlen(de->d_name);
        if (k < 5 || strcmp(de->d_name + k - 4, ".txt") != 0)
            continue;
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, de->d_name);
        rc = add_file(s, ex, full);
    }
    closedir(d);
    return rc;
}

/* Passes over the set until min_us have gone by; returns passes, sets
 * *us. decode selects the side. Exits on a refusal: every Result here is
 * good, so either side refusing one is a bug. */
static unsigned
run(const set_t *s, bool decode, uint64_t min_us, uint64_t *us)
{
    uint64_t t0 = now_mono_us();
    unsigned passes = 0;
    do {
        for (size_t i = 0; i < s->n; i++) {
            int rc;
            if (decode) {
                result_t *r = NULL;
                rc = wire_result_decode(s->v[i].buf, s->v[i].len, &r);
                result_destroy(&r);
            } else {
                rc = wire_result_check(s->v[i].buf, s->v[i].len);
            }
            if (rc) {
                fprintf(stderr, "bench_result_check: result %zu refused\n", i);
                exit(1);
            }
        }
        passes++;
        *us = now_mono_us() - t0;
    } while (*us < min_us);
    return passes;
}

int
main(int argc, char **argv)
{
    double min_s = 1.0;
    int i = 1;
    if (i + 1 < argc && strcmp(argv[i], "--min-seconds") == 0) {
        min_s = atof(argv[i + 1]);
        i += 2;
    }
    extract_t *ex = extract_new();
    set_t s = { 0 };
    int rc = ERR_OK;
    if (i == argc)
        rc = add_path(&s, ex, EXCERPT_SAMPLES_DIR);
    for (; rc == ERR_OK && i < argc; i++)
        rc = add_path(&s, ex, argv[i]);
    extract_destroy(&ex);
    if (rc || s.n == 0) {
        fprintf(stderr, "bench_result_check: no input (%d)\n", rc);
        return 1;
    }
    printf("%zu results, %.1f MB serialised\n", s.n, s.bytes / 1e6);
    printf("%-20s %10s %14s\n", "side", "MB/s", "us/result");
    const char *names[2] = { "wire_result_check", "wire_result_decode" };
    for (int d = 0; d < 2; d++) {
        uint64_t us = 0;
        unsigned passes = run(&s, d == 1, (uint64_t)(min_s * 1e6), &us);
        double secs = us / 1e6;
        printf("%-20s %10.1f %14.2f\n", names[d], passes * s.bytes / 1e6 / secs,
               us / (double)(passes * s.n));
    }
    for (size_t k = 0; k < s.n; k++)
        free(s.v[k].buf);
    free(s.v);
    return 0;
}
