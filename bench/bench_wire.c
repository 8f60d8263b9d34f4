/*
 * bench_wire: CPU time of the worker's Done serialisation
 * (wire_done_encode) per result, beside the protobuf-c reference path
 * (wire_result_encode, then wire_encode of a Done around it), on results
 * the real extractor gives for the bundled samples (or the files named);
 * and of the worker's Dispatch decode (wire_decode_borrow, which reads
 * the text in place) beside wire_decode, on Dispatches of their first
 * 4 KiB (the pipeline benchmark's job size).
 *
 *   bench_wire [--iters N] [FILE...]
 */
#include "../common/err.h"
#include "../common/result.h"
#include "../engine/extract.h"
#include "../proto/wire.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_DOCS 256

static double
cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Encode every result once per round, iters rounds; returns ns per
 * result. ref picks the protobuf-c path. */
static double
run(result_t **rs, size_t n, long iters, int ref, size_t *bytes)
{
    double t0 = cpu_ns();
    size_t total = 0;
    for (long it = 0; it < iters; it++) {
        for (size_t i = 0; i < n; i++) {
            uint8_t *buf = NULL;
            size_t len = 0;
            if (ref) {
                uint8_t *rb = NULL;
                size_t rl = 0;
                if (wire_result_encode(rs[i], &rb, &rl) != ERR_OK)
                    abort();
                wire_msg_t m = { .kind = WIRE_DONE };
                m.u.done.job_id = rs[i]->job_id;
                m.u.done.attempt = 1;
                m.u.done.result = rb;
                m.u.done.result_len = rl;
                if (wire_encode(&m, &buf, &len) != ERR_OK)
                    abort();
                free(rb);
            } else if (wire_done_encode(rs[i]->job_id, 1, rs[i], &buf, &len) !=
                       ERR_OK) {
                abort();
            }
            total += len;
            free(buf);
        }
    }
    *bytes = total / (size_t)iters / n;
    return (cpu_ns() - t0) / ((double)iters * (double)n);
}

/* Decode every frame iters times; returns ns per frame. */
static double
run_decode(uint8_t **fr, size_t *fl, size_t n, long iters, int ref)
{
    double t0 = cpu_ns();
    for (long it = 0; it < iters; it++) {
        for (size_t i = 0; i < n; i++) {
            wire_msg_t m;
            bool borrowed;
            int rc = ref ? wire_decode(fr[i], fl[i], 0, &m)
                         : wire_decode_borrow(fr[i], fl[i], &m, &borrowed);
            if (rc != ERR_OK || m.kind != WIRE_DISPATCH)
                abort();
            wire_msg_release(&m);
        }
    }
    return (cpu_ns() - t0) / ((double)iters * (double)n);
}

int
main(int argc, char **argv)
{
    long iters = 2000;
    const char *files[MAX_DOCS];
    size_t nfiles = 0;
    char *owned[MAX_DOCS];
    size_t nowned = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--iters") && i + 1 < argc)
            iters = atol(argv[++i]);
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: bench_wire [--iters N] [FILE...]\n");
            return 0;
        } else if (nfiles < MAX_DOCS)
            files[nfiles++] = argv[i];
    }
    if (iters < 1)
        iters = 1;
    if (!nfiles) {
        DIR *d = opendir(EXCERPT_SAMPLES_DIR);
        struct dirent *de;
        while (d && (de = readdir(d)) && nowned < MAX_DOCS) {
            size_t nl = strlen(de->d_name);
            if (nl < 4 || strcmp(de->d_name + nl - 4, ".txt"))
                continue;
            size_t need = strlen(EXCERPT_SAMPLES_DIR) + nl + 2;
            owned[nowned] = malloc(need);
            snprintf(owned[nowned], need, "%s/%s", EXCERPT_SAMPLES_DIR,
                     de->d_name);
            files[nfiles++] = owned[nowned++];
        }
        if (d)
            closedir(d);
    }
    extract_t *ex = extract_new();
    result_t *rs[MAX_DOCS];
    uint8_t *frames[MAX_DOCS];
    size_t frame_len[MAX_DOCS];
    size_t n = 0;
    for (size_t i = 0; i < nfiles; i++) {
        size_t len = 0;
        char *text = slurp(files[i], &len);
        if (!text) {
            fprintf(stderr, "bench_wire: cannot read %s\n", files[i]);
            return 1;
        }
        if (extract_run(ex, text, len, &rs[n]) != ERR_OK) {
            fprintf(stderr, "bench_wire: cannot extract %s\n", files[i]);
            return 1;
        }
        /* a Dispatch of the first 4 KiB, cut at a line end */
        size_t cut = len < 4096 ? len : 4096;
        while (cut > 0 && cut < len && text[cut - 1] != '\n')
            cut--;
        wire_msg_t d = { .kind = WIRE_DISPATCH };
        d.u.dispatch.job.id = 100000 + n;
        d.u.dispatch.job.key = "bench-1";
        d.u.dispatch.job.text = text;
        d.u.dispatch.job.text_len = cut ? cut : len;
        d.u.dispatch.attempt = 1;
        d.u.dispatch.lease_ms = 60000;
        if (wire_encode(&d, &frames[n], &frame_len[n]) != ERR_OK)
            return 1;
        rs[n]->job_id = 100000 + n;
        rs[n]->source = result_strndup(rs[n], files[i], strlen(files[i]));
        rs[n]->extract_us = 40;
        n++;
        free(text);
    }
    if (!n) {
        fprintf(stderr, "bench_wire: no input\n");
        return 1;
    }
    size_t bytes_new = 0, bytes_ref = 0;
    /* warm-up, then alternate the two paths */
    (void)run(rs, n, iters / 10 + 1, 0, &bytes_new);
    double best_new = 1e30, best_ref = 1e30;
    for (int round = 0; round < 3; round++) {
        double a = run(rs, n, iters, 0, &bytes_new);
        double b = run(rs, n, iters, 1, &bytes_ref);
        if (a < best_new)
            best_new = a;
        if (b < best_ref)
            best_ref = b;
    }
    printf("%zu results, mean Done envelope %zu bytes, %ld iterations x 3\n", n,
           bytes_new, iters);
    printf("wire_done_encode:                            %8.0f ns/result "
           "(best of 3)\n",
           best_new);
    printf("wire_result_encode + wire_encode (protobuf-c): %6.0f ns/result "
           "(best of 3)\n",
           best_ref);
    double best_borrow = 1e30, best_decode = 1e30;
    for (int round = 0; round < 3; round++) {
        double a = run_decode(frames, frame_len, n, iters, 0);
        double b = run_decode(frames, frame_len, n, iters, 1);
        if (a < best_borrow)
            best_borrow = a;
        if (b < best_decode)
            best_decode = b;
    }
    printf("wire_decode_borrow (Dispatch, 4 KiB text):     %6.0f ns/frame "
           "(best of 3)\n",
           best_borrow);
    printf("wire_decode (Dispatch, 4 KiB text, protobuf-c): %5.0f ns/frame "
           "(best of 3)\n",
           best_decode);
    for (size_t i = 0; i < n; i++) {
        result_destroy(&rs[i]);
        free(frames[i]);
    }
    for (size_t i = 0; i < nowned; i++)
        free(owned[i]);
    extract_destroy(&ex);
    return 0;
}
