/*
 * bench_pipeline: submit -> committed result through the real
 * excerpt-broker and excerpt-worker processes (jobs/s, p50/p99 latency,
 * broker memory), beside beanstalkd doing put/reserve/delete of the same
 * payloads. A benchmark that prints figures, not a test. See README.md.
 *
 * This file owns the options and main: it parses the flags, loads the
 * corpus and runs the rows round by round. The rest is in pipe_*.c
 * behind pipe.h.
 */
#include "../common/err.h"
#include "../common/xalloc.h"

#include <zmq.h>

#include "pipe.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- main --------------------------------------------------------------- */

static char *
sibling_path(const char *rel)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return xstrdup(rel);
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    char out[PATH_MAX * 2];
    snprintf(out, sizeof out, "%s/%s", exe, rel);
    return xstrdup(out);
}

static char *
default_corpus(void)
{
    /* CMake compiles this file by its absolute path. */
    char src[PATH_MAX];
    snprintf(src, sizeof src, "%s", __FILE__);
    char *slash = strrchr(src, '/');
    if (!slash)
        return xstrdup("samples");
    *slash = '\0';
    char out[PATH_MAX * 2];
    snprintf(out, sizeof out, "%s/../samples", src);
    return xstrdup(out);
}

static void
usage(FILE *out)
{
    fprintf(
        out,
        "usage: bench_pipeline [options]\n"
        "  --jobs N          jobs per run (20000)\n"
        "  --size BYTES      payload size (4096)\n"
        "  --workers LIST    worker process counts, e.g. 1,2 (1,2)\n"
        "  --threads N       --threads of each worker (1)\n"
        "  --window N        submits/puts in flight (256)\n"
        "  --rounds N        repeat all runs N times, interleaved, and print\n"
        "                    medians and each round's ratio (1, at most 9)\n"
        "  --batch LIST      excerpt: most Submits per frame (and 64 KiB),\n"
        "                    a run per entry, e.g. 1,64 (64); 1 = a message\n"
        "                    per Submit and the subscriber on \"committed\";\n"
        "                    more = Batches, subscriber on \"group\"\n"
        "  --rate R          offered load in jobs/s instead of max speed\n"
        "  --fill N          only fill N jobs, no workers; print broker "
        "RssAnon\n"
        "  --corpus DIR      *.txt to cut payloads from (samples/)\n"
        "  --broker PATH     excerpt-broker (../broker/excerpt-broker)\n"
        "  --worker PATH     excerpt-worker (../worker/excerpt-worker)\n"
        "  --beanstalkd PATH (/usr/bin/beanstalkd)\n"
        "  --no-beanstalkd   skip the beanstalkd runs\n"
        "  --tmp DIR         where temp dirs go ($TMPDIR or /tmp)\n"
        "  --keep            keep temp dirs (stores, logs)\n"
        "  --timeout S       give up on a run after S seconds (600)\n"
        "  --scrape-ms MS    broker metrics on; scrape /metrics every MS ms\n"
        "                    during each excerpt run, print the scrape times\n"
        "  --curve           run every excerpt row twice, CURVE off then on\n"
        "                    (keys and an allow-list made in the temp dir),\n"
        "                    and print the cost of CURVE per row\n");
}

static int
parse_size(const char *s, size_t *out, size_t min)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v < min || v > (1ull << 40))
        return ERR_INVAL;
    *out = (size_t)v;
    return ERR_OK;
}

static int
parse_opts(opts_t *o, int argc, char **argv)
{
    static const struct option lo[] = {
        { "jobs", required_argument, NULL, 'n' },
        { "size", required_argument, NULL, 's' },
        { "workers", required_argument, NULL, 'w' },
        { "threads", required_argument, NULL, 't' },
        { "window", required_argument, NULL, 'W' },
        { "rounds", required_argument, NULL, 'R' },
        { "batch", required_argument, NULL, 'b' },
        { "rate", required_argument, NULL, 'r' },
        { "fill", required_argument, NULL, 'f' },
        { "corpus", required_argument, NULL, 'c' },
        { "broker", required_argument, NULL, 'B' },
        { "worker", required_argument, NULL, 'K' },
        { "beanstalkd", required_argument, NULL, 'S' },
        { "no-beanstalkd", no_argument, NULL, 'N' },
        { "tmp", required_argument, NULL, 'T' },
        { "keep", no_argument, NULL, 'k' },
        { "timeout", required_argument, NULL, 'o' },
        { "scrape-ms", required_argument, NULL, 'M' },
        { "curve", no_argument, NULL, 'C' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    size_t v;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 'n':
            if (parse_size(optarg, &o->jobs, 1))
                goto bad;
            break;
        case 's':
            if (parse_size(optarg, &o->size, 128) || o->size > (8u << 20))
                goto bad;
            break;
        case 'W':
            if (parse_size(optarg, &o->window, 1))
                goto bad;
            break;
        case 'R':
            if (parse_size(optarg, &o->rounds, 1) || o->rounds > MAX_ROUNDS)
                goto bad;
            break;
        case 't':
            if (parse_size(optarg, &v, 1) || v > 256)
                goto bad;
            o->threads = (unsigned)v;
            break;
        case 'f':
            if (parse_size(optarg, &o->fill, 1))
                goto bad;
            break;
        case 'o':
            if (parse_size(optarg, &v, 1) || v > 86400)
                goto bad;
            o->timeout_s = (unsigned)v;
            break;
        case 'M':
            if (parse_size(optarg, &v, 1) || v > 60000)
                goto bad;
            o->scrape_ms = (unsigned)v;
            break;
        case 'C':
            o->curve = true;
            break;
        case 'r': {
            char *end;
            o->rate = strtod(optarg, &end);
            if (*end || !(o->rate > 0) || o->rate > 1e7)
                goto bad;
            break;
        }
        case 'w': {
            o->n_workers = 0;
            char *copy = xstrdup(optarg), *save = NULL;
            for (char *tok = strtok_r(copy, ",", &save); tok;
                 tok = strtok_r(NULL, ",", &save)) {
                if (o->n_workers == MAX_WORKER_RUNS || parse_size(tok, &v, 1) ||
                    v > 16) {
                    free(copy);
                    goto bad;
                }
                o->workers[o->n_workers++] = (unsigned)v;
            }
            free(copy);
            if (!o->n_workers)
                goto bad;
            break;
        }
        case 'b': {
            o->n_batches = 0;
            char *copy = xstrdup(optarg), *save = NULL;
            for (char *tok = strtok_r(copy, ",", &save); tok;
                 tok = strtok_r(NULL, ",", &save)) {
                if (o->n_batches == MAX_BATCH_RUNS || parse_size(tok, &v, 1) ||
                    v > 4096) {
                    free(copy);
                    goto bad;
                }
                o->batches[o->n_batches++] = v;
            }
            free(copy);
            if (!o->n_batches)
                goto bad;
            break;
        }
        case 'c':
            free(o->corpus);
            o->corpus = xstrdup(optarg);
            break;
        case 'B':
            free(o->broker_bin);
            o->broker_bin = xstrdup(optarg);
            break;
        case 'K':
            free(o->worker_bin);
            o->worker_bin = xstrdup(optarg);
            break;
        case 'S':
            free(o->beanstalkd_bin);
            o->beanstalkd_bin = xstrdup(optarg);
            break;
        case 'N':
            o->no_beanstalkd = true;
            break;
        case 'T':
            free(o->tmp);
            o->tmp = xstrdup(optarg);
            break;
        case 'k':
            o->keep = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return ERR_INVAL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "bench: unexpected argument %s\n", argv[optind]);
        return ERR_INVAL;
    }
    return ERR_OK;
bad:
    fprintf(stderr, "bench: bad option value: %s\n", optarg);
    return ERR_INVAL;
}

static bool
executable(const char *path, const char *what)
{
    if (access(path, X_OK) == 0)
        return true;
    fprintf(stderr, "bench: %s not found at %s (use --%s PATH)\n", what, path,
            what);
    return false;
}

int
main(int argc, char **argv)
{
    const char *tmpenv = getenv("TMPDIR");
    opts_t o = {
        .broker_bin = sibling_path("../broker/excerpt-broker"),
        .worker_bin = sibling_path("../worker/excerpt-worker"),
        .beanstalkd_bin = xstrdup("/usr/bin/beanstalkd"),
        .corpus = default_corpus(),
        .tmp = xstrdup(tmpenv && *tmpenv ? tmpenv : "/tmp"),
        .jobs = 20000,
        .size = 4096,
        .window = 256,
        .rounds = 1,
        .workers = { 1, 2 },
        .n_workers = 2,
        .batches = { 64 },
        .n_batches = 1,
        .threads = 1,
        .timeout_s = 600,
    };
    corpus_t c = { 0 };
    void *ctx = NULL;
    int status = 1;
    static run_result_t all[MAX_ROUNDS][ROW_MAX];
    run_result_t *rows = all[0];
    size_t n_rows = 0;
    run_result_t *bs_def = NULL, *bs_f0 = NULL;

    if (parse_opts(&o, argc, argv) != ERR_OK)
        goto out;
    if (!executable(o.broker_bin, "broker"))
        goto out;
    if (!o.fill && !executable(o.worker_bin, "worker"))
        goto out;
    if (!o.fill && !o.no_beanstalkd &&
        !executable(o.beanstalkd_bin, "beanstalkd"))
        goto out;
    if (pipe_corpus_load(&c, o.corpus) != ERR_OK)
        goto out;

    struct sigaction sa = { .sa_handler = pipe_proc_on_signal };
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* as the broker and worker do: keep freed memory (Batch frames that
     * ZeroMQ frees in its I/O thread) instead of giving the top of the
     * heap back and faulting it in again */
    (void)mallopt(M_MMAP_THRESHOLD, 32 << 20);
    (void)mallopt(M_TRIM_THRESHOLD, 64 << 20);
    ctx = zmq_ctx_new();
    if (!ctx)
        goto out;

    memset(all, 0, sizeof all);
    if (o.fill) {
        run_result_t *r = &rows[n_rows++];
        snprintf(r->name, sizeof r->name, "excerpt fill, no workers");
        printf("fill: %zu jobs of ~%zu bytes into a fresh broker, no "
               "workers\n",
               o.fill, o.size);
        fflush(stdout);
        (void)pipe_excerpt_run(&o, &c, ctx, 0, o.fill, 0, o.batches[0], r);
        printf("\naccepted %zu jobs in %.1f s (%.0f submits/s, window "
               "%zu, batch %zu)\n",
               r->jobs, r->secs, r->jobs_per_s, o.window, o.batches[0]);
        printf("broker RssAnon at the end: %.1f MiB (peak %.1f MiB), "
               "VmHWM %.1f MiB, store %.1f MiB\n",
               r->end_anon_kb / 1024.0, r->anon_kb / 1024.0, r->hwm_kb / 1024.0,
               r->store_bytes / 1048576.0);
        status = r->ok ? 0 : 1;
        goto out;
    }

    printf("pipeline: %zu jobs of ~%zu bytes cut from %zu files in %s, "
           "window %zu, %s\n",
           o.jobs, o.size, c.n_files, o.corpus, o.window,
           o.rate > 0 ? "fixed offered rate" : "as fast as possible");
    if (o.rate > 0)
        printf("offered rate: %.0f jobs/s\n", o.rate);
    fflush(stdout);
    status = 0;
    size_t rounds_done = 0, round_rows = 0;
    for (size_t round = 0; round < o.rounds && !pipe_proc_interrupted;
         round++) {
        rows = all[round];
        n_rows = 0;
        bs_def = bs_f0 = NULL;
        if (o.rounds > 1)
            fprintf(stderr, "bench: round %zu of %zu\n", round + 1, o.rounds);
        for (size_t k = 0; k < o.n_workers && !pipe_proc_interrupted; k++) {
            for (size_t b = 0; b < o.n_batches && !pipe_proc_interrupted; b++) {
                for (int cv = 0; cv <= (int)o.curve && !pipe_proc_interrupted;
                     cv++) {
                    run_result_t *r = &rows[n_rows++];
                    snprintf(r->name, sizeof r->name,
                             "excerpt %u worker%s x%u thread%s, batch %zu%s",
                             o.workers[k], o.workers[k] == 1 ? "" : "s",
                             o.threads, o.threads == 1 ? "" : "s", o.batches[b],
                             cv ? ", CURVE" : "");
                    fprintf(stderr, "bench: running %s\n", r->name);
                    opts_t ro = o;
                    ro.curve_on = cv;
                    r->curve = cv;
                    if (pipe_excerpt_run(&ro, &c, ctx, o.workers[k], o.jobs,
                                         o.rate, o.batches[b], r) != ERR_OK)
                        status = 1;
                }
            }
        }
        if (!o.no_beanstalkd && !pipe_proc_interrupted) {
            bs_def = &rows[n_rows++];
            snprintf(bs_def->name, sizeof bs_def->name,
                     "beanstalkd -b (fsync <= 50 ms)");
            fprintf(stderr, "bench: running %s\n", bs_def->name);
            if (pipe_beanstalkd_run(&o, &c, -1, o.jobs, o.rate, bs_def) !=
                ERR_OK)
                status = 1;
        }
        if (!o.no_beanstalkd && !pipe_proc_interrupted) {
            bs_f0 = &rows[n_rows++];
            snprintf(bs_f0->name, sizeof bs_f0->name,
                     "beanstalkd -b -f0 (fsync each)");
            fprintf(stderr, "bench: running %s\n", bs_f0->name);
            if (pipe_beanstalkd_run(&o, &c, 0, o.jobs, o.rate, bs_f0) != ERR_OK)
                status = 1;
        }
        pipe_report_print_table(rows, n_rows, bs_def, bs_f0);
        if (!pipe_proc_interrupted) {
            rounds_done++;
            round_rows = n_rows;
        }
    }
    if (rounds_done > 1)
        pipe_report_print_rounds(all, rounds_done, round_rows,
                                 !o.no_beanstalkd);
    if (o.curve && rounds_done)
        pipe_report_print_curve_cost(all, rounds_done, round_rows);
    printf("\nexcerpt: submit -> Accepted (fsynced) -> extract -> result "
           "committed (PUB Committed seen).\n"
           "batch N: at most N Submits per frame (Batch), Committed read "
           "from topic \"group\";\n"
           "batch 1: a frame per Submit, topic \"committed\" (one message "
           "per result).\n"
           "beanstalkd: put -> reserve -> delete acknowledged; no work "
           "done on the payload.\n"
           "peakRSS = server VmHWM; RssAnon = server peak anonymous "
           "memory (sampled every 100 ms).\n");
out:
    pipe_proc_kill_children();
    if (ctx)
        zmq_ctx_term(ctx);
    pipe_corpus_free(&c);
    free(o.broker_bin);
    free(o.worker_bin);
    free(o.beanstalkd_bin);
    free(o.corpus);
    free(o.tmp);
    return status;
}
