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
#include "docs.h"
#include "engine/extract.h"
#include "proto/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef EXCERPT_SAMPLES_DIR
#define EXCERPT_SAMPLES_DIR "samples"
#endif

typedef struct enc {
    uint8_t *buf; /* a serialised Result */
    size_t len;   /* its bytes */
} enc_t;

typedef struct set {
    enc_t *v;     /* the Results */
    size_t n;     /* count */
    size_t bytes; /* their total bytes */
} set_t;

/* Extract each document and keep its serialised Result. */
static int
encode_all(set_t *s, const docs_t *d)
{
    extract_t *ex = extract_new();
    int rc = ERR_OK;
    s->v = xreallocarray(NULL, d->n ? d->n : 1, sizeof *s->v);
    for (size_t i = 0; rc == ERR_OK && i < d->n; i++) {
        result_t *r = NULL;
        rc = extract_run(ex, d->v[i].text, d->v[i].len, &r);
        if (rc)
            break;
        enc_t *e = &s->v[s->n];
        rc = wire_result_encode(r, &e->buf, &e->len);
        result_destroy(&r);
        if (rc == ERR_OK) {
            s->bytes += e->len;
            s->n++;
        }
    }
    extract_destroy(&ex);
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
    docs_t d = { 0 };
    int rc = ERR_OK;
    if (i == argc)
        rc = docs_load(&d, "bench_result_check", EXCERPT_SAMPLES_DIR);
    for (; rc == ERR_OK && i < argc; i++)
        rc = docs_load(&d, "bench_result_check", argv[i]);
    set_t s = { 0 };
    if (rc == ERR_OK)
        rc = encode_all(&s, &d);
    docs_free(&d);
    if (rc || s.n == 0) {
        fprintf(stderr, "bench_result_check: no input (%d)\n", rc);
        return 1;
    }
    printf("%zu results, %.1f MB serialised\n", s.n, s.bytes / 1e6);
    printf("%-20s %10s %14s\n", "side", "MB/s", "us/result");
    const char *names[2] = { "wire_result_check", "wire_result_decode" };
    for (int side = 0; side < 2; side++) {
        uint64_t us = 0;
        unsigned passes = run(&s, side == 1, (uint64_t)(min_s * 1e6), &us);
        double secs = us / 1e6;
        printf("%-20s %10.1f %14.2f\n", names[side],
               passes * s.bytes / 1e6 / secs, us / (double)(passes * s.n));
    }
    for (size_t k = 0; k < s.n; k++)
        free(s.v[k].buf);
    free(s.v);
    return 0;
}
