/*
 * pipe_corpus: what bench_pipeline sends and how it sums up the answers.
 * The corpus (every *.txt of a directory, split into lines), the payload
 * of job i cut from it (the same bytes for the same i in every run and
 * system), and the latency statistics of a run (p50, p99, max, jobs/s).
 */
#include "../common/err.h"
#include "../common/xalloc.h"

#include "pipe.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CORPUS_MAX (64u << 20)

/* ---- payloads ---------------------------------------------------------- */

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read every *.txt in dir (sorted by name, so runs are deterministic)
 * and split it into non-empty lines. */
int
pipe_corpus_load(corpus_t *c, const char *dir)
{
    memset(c, 0, sizeof *c);
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "bench: corpus %s: %s\n", dir, strerror(errno));
        return ERR_IO;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".txt"))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = xreallocarray(names, cap, sizeof *names);
        }
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);

    size_t bcap = 1 << 20;
    c->buf = xmalloc(bcap);
    for (size_t i = 0; i < n && c->bytes < CORPUS_MAX; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        for (;;) {
            if (bcap - c->bytes < 65536 + 1) {
                bcap *= 2;
                c->buf = xreallocarray(c->buf, bcap, 1);
            }
            size_t got = fread(c->buf + c->bytes, 1, 65536, f);
            c->bytes += got;
            if (got < 65536)
                break;
        }
        fclose(f);
        c->buf[c->bytes++] = '\n';
        c->n_files++;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);

    size_t lcap = 0;
    for (size_t p = 0; p < c->bytes;) {
        char *nl = memchr(c->buf + p, '\n', c->bytes - p);
        size_t end = nl ? (size_t)(nl - c->buf) : c->bytes;
        size_t len = end - p;
        if (len && c->buf[end - 1] == '\r')
            len--;
        if (len) {
            if (c->n_lines == lcap) {
                lcap = lcap ? lcap * 2 : 4096;
                c->lines = xreallocarray(c->lines, lcap, sizeof *c->lines);
                c->lens = xreallocarray(c->lens, lcap, sizeof *c->lens);
            }
            c->lines[c->n_lines] = c->buf + p;
            c->lens[c->n_lines] = len;
            c->n_lines++;
        }
        p = end + 1;
    }
    if (c->n_lines == 0) {
        fprintf(stderr, "bench: no text in %s/*.txt\n", dir);
        return ERR_INVAL;
    }
    return ERR_OK;
}

void
pipe_corpus_free(corpus_t *c)
{
    free(c->buf);
    free(c->lines);
    free(c->lens);
    memset(c, 0, sizeof *c);
}

/* Longest prefix of s no longer than max that ends on a UTF-8 boundary. */
static size_t
utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/*
 * Transcript number i, about size bytes, into buf (capacity size + 256):
 * a lead line naming i (so every text and its content hash are unique),
 * then whole corpus lines from a position that depends only on i.
 */
size_t
pipe_corpus_gen_payload(const corpus_t *c, size_t i, size_t size, char *buf)
{
    int n = snprintf(buf, 256,
                     "Benchmark meeting number %zu on regional development."
                     "\nExcerpts from the transcript:\n",
                     i);
    size_t len = (size_t)n;
    size_t li = (i * 7919u) % c->n_lines;
    while (len < size) {
        size_t ll = c->lens[li];
        size_t room = size - len;
        if (ll + 1 > room) {
            if (len > size / 2)
                break;
            ll = utf8_cut(c->lines[li], ll, room - 1);
        }
        memcpy(buf + len, c->lines[li], ll);
        len += ll;
        buf[len++] = '\n';
        li = (li + 1) % c->n_lines;
    }
    return len;
}

/* ---- statistics -------------------------------------------------------- */

static int
u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Latencies t_end - t_start (us) of the n jobs, percentiles into r. */
void
pipe_corpus_latency_stats(run_result_t *r, const uint64_t *t_start,
                          const uint64_t *t_end, size_t n)
{
    uint64_t *lat = xcalloc(n ? n : 1, sizeof *lat);
    uint64_t first = UINT64_MAX, last = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!t_start[i] || !t_end[i])
            continue;
        lat[m++] = t_end[i] > t_start[i] ? t_end[i] - t_start[i] : 0;
        if (t_start[i] < first)
            first = t_start[i];
        if (t_end[i] > last)
            last = t_end[i];
    }
    r->jobs = m;
    if (m) {
        qsort(lat, m, sizeof *lat, u64_cmp);
        r->p50_ms = lat[(size_t)ceil(0.50 * (double)m) - 1] / 1000.0;
        r->p99_ms = lat[(size_t)ceil(0.99 * (double)m) - 1] / 1000.0;
        r->max_ms = lat[m - 1] / 1000.0;
        r->secs = (double)(last - first) / 1e6;
        r->jobs_per_s = r->secs > 0 ? (double)m / r->secs : 0;
    }
    free(lat);
}
