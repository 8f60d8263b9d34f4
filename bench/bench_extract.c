/*
 * bench_extract: extraction engine throughput on one core, beside `wc -w`
 * on the same files in the same run.
 *   bench_extract [--min-seconds S] [--json] [DIR|FILE...]
 * Default input: the bundled samples. Prints MB/s, docs/s, peak RSS, and
 * the ratio to wc -w (both pinned to CPU 0), and MB per second of the
 * extraction's own CPU time, which other load on the machine disturbs
 * less than the wall-clock rate.
 */
#include "common/err.h"
#include "common/now.h"
#include "common/xalloc.h"
#include "docs.h"
#include "engine/extract.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef EXCERPT_SAMPLES_DIR
#define EXCERPT_SAMPLES_DIR "samples"
#endif

/* CPU time of the calling thread, seconds. */
static double
thread_cpu_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run `wc -w` over the files `reps` times; returns seconds per run. */
static double
time_wc(const docs_t *d, int reps)
{
    char **argv = xcalloc(d->n + 3, sizeof *argv);
    argv[0] = "wc";
    argv[1] = "-w";
    for (size_t i = 0; i < d->n; i++)
        argv[i + 2] = d->v[i].path;
    double best = -1;
    for (int r = 0; r < reps; r++) {
        uint64_t t0 = now_mono_us();
        pid_t pid = fork();
        if (pid < 0) {
            free(argv);
            return -1;
        }
        if (pid == 0) {
            if (!freopen("/dev/null", "w", stdout))
                _exit(127);
            execvp("wc", argv);
            _exit(127);
        }
        int st;
        if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
            WEXITSTATUS(st) != 0) {
            free(argv);
            return -1;
        }
        double s = (double)(now_mono_us() - t0) / 1e6;
        if (best < 0 || s < best)
            best = s;
    }
    free(argv);
    return best;
}

int
main(int argc, char **argv)
{
    double min_seconds = 3.0;
    int json = 0, i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--min-seconds") && i + 1 < argc)
            min_seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: bench_extract [--min-seconds S] [--json] "
                   "[DIR|FILE...]\n");
            return 0;
        } else
            break;
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0)
        fprintf(stderr, "bench_extract: cannot pin to CPU 0: %s\n",
                strerror(errno));

    docs_t d = { 0 };
    if (i == argc) {
        if (docs_load(&d, "bench_extract", EXCERPT_SAMPLES_DIR))
            return 1;
    }
    for (; i < argc; i++)
        if (docs_load(&d, "bench_extract", argv[i]))
            return 1;
    if (d.n == 0) {
        fprintf(stderr, "bench_extract: no .txt input\n");
        return 1;
    }
    struct rusage ru0;
    getrusage(RUSAGE_SELF, &ru0);

    extract_t *ex = extract_new();
    size_t passes = 0, entities = 0, figures = 0, turns = 0;
    double cpu0 = thread_cpu_s();
    uint64_t t0 = now_mono_us(), elapsed;
    do {
        for (size_t k = 0; k < d.n; k++) {
            result_t *r = NULL;
            if (extract_run(ex, d.v[k].text, d.v[k].len, &r)) {
                fprintf(stderr, "bench_extract: %s refused\n", d.v[k].path);
                return 1;
            }
            if (passes == 0) {
                entities += r->n_entities;
                figures += r->n_figures;
                turns += r->n_turns;
            }
            result_destroy(&r);
        }
        passes++;
        elapsed = now_mono_us() - t0;
    } while ((double)elapsed / 1e6 < min_seconds);
    double cpu_s = thread_cpu_s() - cpu0;
    double secs = (double)elapsed / 1e6;
    double mb = (double)d.bytes * (double)passes / 1e6;
    double mbps = mb / secs;
    double docsps = (double)(d.n * passes) / secs;
    double cpu_mbps = cpu_s > 0 ? mb / cpu_s : 0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    extract_destroy(&ex);

    int wc_reps = 5;
    double wc_s = time_wc(&d, wc_reps);
    double wc_mbps = wc_s > 0 ? (double)d.bytes / 1e6 / wc_s : 0;

    if (json) {
        printf("{\"docs\":%zu,\"bytes\":%zu,\"passes\":%zu,\"seconds\":%.3f,"
               "\"mb_per_s\":%.2f,\"docs_per_s\":%.1f,\"peak_rss_kb\":%ld,"
               "\"corpus_rss_kb\":%ld,\"wc_w_mb_per_s\":%.2f,"
               "\"ratio_wc_over_excerpt\":%.3f,\"turns\":%zu,"
               "\"entities\":%zu,\"figures\":%zu,\"mb_per_cpu_s\":%.2f}\n",
               d.n, d.bytes, passes, secs, mbps, docsps, ru.ru_maxrss,
               ru0.ru_maxrss, wc_mbps, mbps > 0 ? wc_mbps / mbps : 0.0, turns,
               entities, figures, cpu_mbps);
    } else {
        printf("input: %zu docs, %.2f MB (%zu turns, %zu entities, %zu "
               "figures per pass)\n",
               d.n, (double)d.bytes / 1e6, turns, entities, figures);
        printf("%-16s %10s %12s %14s\n", "tool (1 core)", "MB/s", "docs/s",
               "peak RSS MB");
        printf("%-16s %10.1f %12.0f %14.1f\n", "excerpt extract", mbps, docsps,
               (double)ru.ru_maxrss / 1024.0);
        if (wc_s > 0)
            printf("%-16s %10.1f %12.0f %14s\n", "wc -w", wc_mbps,
                   (double)d.n / wc_s, "-");
        else
            printf("%-16s %10s\n", "wc -w", "failed");
        printf("excerpt/wc speed: %.2fx  (input held in memory: %.1f MB "
               "RSS before extraction; %zu passes in %.2f s)\n",
               wc_mbps > 0 ? mbps / wc_mbps : 0.0,
               (double)ru0.ru_maxrss / 1024.0, passes, secs);
        printf("excerpt extract by CPU time: %.1f MB/s (%.2f s of CPU in "
               "%.2f s)\n",
               cpu_mbps, cpu_s, secs);
    }
    docs_free(&d);
    return 0;
}
