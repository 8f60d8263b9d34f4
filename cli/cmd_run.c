/*
 * excerpt run / excerpt serve: the embedded default. The broker and
 * worker processes are cli/fleet's; `run` walks its inputs, submits them,
 * waits for every result and prints a summary, `serve` stays up until a
 * signal.
 */
#include "cli.h"
#include "clientopt.h"
#include "fleet.h"

#include "../client/client.h"
#include "../client/rjson.h"
#include "../common/cfg.h"
#include "../common/err.h"
#include "../common/log.h"
#include "../common/now.h"
#include "../common/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define RUN_WINDOW 256 /* Submits in flight: acks wait for an fsync */
#define TOP_ENTITIES 5
/* inputs read and submitted at a time */
#define SUBMIT_CHUNK 256

typedef struct run_args {
    fleet_opts_t fleet; /* the flags run shares with serve */
    bool json;          /* --json */
    bool quiet;         /* --quiet: only the total line */
    int64_t deadline_s; /* --deadline */
} run_args_t;

/* ------------------------------------------------------------- inputs */

typedef struct input {
    char *path;                /* file path */
    char *text;                /* contents */
    size_t len;                /* bytes */
    char key[CLIENT_KEY_SIZE]; /* default idempotency key */
    int rc;                    /* submit status */
    char reason[256];          /* refusal reason */
    uint64_t job_id;           /* accepted job */
    bool duplicate;            /* existed already */
    bool readable;             /* read and submitted */
    bool finished;             /* DONE or DEAD */
    bool dead;                 /* dead-lettered */
} input_t;

typedef struct inputs {
    input_t *v; /* inputs in order */
    size_t n;   /* count */
    size_t cap; /* allocated */
} inputs_t;

static void
add_input(inputs_t *in, char *path)
{
    if (in->n == in->cap) {
        in->cap = in->cap ? in->cap * 2 : 16;
        in->v = xreallocarray(in->v, in->cap, sizeof *in->v);
    }
    memset(&in->v[in->n], 0, sizeof in->v[in->n]);
    in->v[in->n++].path = path;
}

static int
collect(inputs_t *in, const char *path)
{
    char **paths = NULL;
    size_t n = 0, cap = 0;
    int rc = cli_collect_inputs("excerpt run", path, &paths, &n, &cap);
    for (size_t i = 0; i < n; i++)
        add_input(in, paths[i]); /* takes the string */
    free(paths);
    return rc;
}

static void
inputs_free(inputs_t *in)
{
    for (size_t i = 0; i < in->n; i++) {
        free(in->v[i].path);
        free(in->v[i].text);
    }
    free(in->v);
    memset(in, 0, sizeof *in);
}

static const char *
samples_dir(void)
{
    static const char *const dirs[] = { EXCERPT_SAMPLES_DIR,
                                        EXCERPT_INSTALLED_SAMPLES_DIR };
    for (size_t i = 0; i < 2; i++) {
        struct stat st;
        if (stat(dirs[i], &st) == 0 && S_ISDIR(st.st_mode))
            return dirs[i];
    }
    return NULL;
}

/* ------------------------------------------------------------ submit */

typedef struct submit_ctx {
    inputs_t *in; /* the inputs */
    size_t *map;  /* batch index -> input index */
} submit_ctx_t;

static void
on_submitted(void *ud, size_t index, int rc, uint64_t job_id, bool dup,
             const char *reason)
{
    submit_ctx_t *sc = ud;
    input_t *x = &sc->in->v[sc->map[index]];
    x->rc = rc;
    x->job_id = job_id;
    x->duplicate = dup;
    snprintf(x->reason, sizeof x->reason, "%s", reason ? reason : "");
}

/*
 * Read and submit the inputs in chunks (bounded memory; texts are freed
 * once accepted), checking between chunks that the children are alive.
 * Returns the number accepted; *rcp gets ERR_CLOSED when a child died or a
 * signal came, else 0.
 */
static size_t
submit_all(client_t *c, fleet_t *f, inputs_t *in, double *mb, int *rcp)
{
    wire_job_t *jobs = xcalloc(SUBMIT_CHUNK, sizeof *jobs);
    size_t map[SUBMIT_CHUNK];
    size_t bytes = 0, next = 0;
    *rcp = ERR_OK;
    while (next < in->n) {
        if (fleet_stopping() || fleet_child_died(f)) {
            fprintf(stderr, "excerpt run: %s; stopping\n",
                    fleet_stopping() ? "interrupted" : "a child process died");
            *rcp = ERR_CLOSED;
            break;
        }
        size_t m = 0, first = next;
        for (; next < in->n && m < SUBMIT_CHUNK; next++) {
            input_t *x = &in->v[next];
            if (cli_read_file(x->path, WIRE_MAX_TEXT, &x->text, &x->len)) {
                x->rc = ERR_IO;
                snprintf(x->reason, sizeof x->reason, "cannot read");
                continue;
            }
            x->readable = true;
            client_default_key(x->text, x->len, x->key);
            jobs[m] = (wire_job_t){ .text = x->text,
                                    .text_len = x->len,
                                    .key = x->key,
                                    .source_url = x->path };
            bytes += x->len;
            map[m++] = next;
        }
        submit_ctx_t sc = { .in = in, .map = map };
        int rc = client_submit_many(c, jobs, m, RUN_WINDOW, on_submitted, &sc);
        if (rc)
            fprintf(stderr, "excerpt run: submitting failed: %s\n",
                    err_str(rc));
        for (size_t i = first; i < next; i++) {
            free(in->v[i].text);
            in->v[i].text = NULL;
        }
    }
    free(jobs);
    *mb = (double)bytes / 1e6;
    size_t ok = 0;
    for (size_t i = 0; i < in->n && !*rcp; i++) {
        input_t *x = &in->v[i];
        if (x->rc == 0 && x->readable)
            ok++;
        else
            fprintf(stderr, "excerpt run: %s: %s%s%s\n", x->path,
                    err_str(x->rc), *x->reason ? ": " : "", x->reason);
    }
    return ok;
}

/* ----------------------------------------------------------- summary */

static int
cmp_mentions(const void *a, const void *b)
{
    const result_entity_t *x = *(const result_entity_t *const *)a;
    const result_entity_t *y = *(const result_entity_t *const *)b;
    if (x->n_mentions != y->n_mentions)
        return x->n_mentions > y->n_mentions ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void
print_summary(const input_t *x, const result_t *r)
{
    printf("== %s  (job %llu%s)\n", x->path, (unsigned long long)x->job_id,
           x->duplicate ? ", from an earlier run" : "");
    printf("   speakers: ");
    if (!r->n_speakers)
        printf("none found");
    for (size_t i = 0; i < r->n_speakers; i++) {
        const result_speaker_t *s = &r->speakers[i];
        printf("%s%s", i ? "; " : "", s->name);
        if (s->title && *s->title)
            printf(" (%s)", s->title);
        printf(" %u turn%s", s->turns, s->turns == 1 ? "" : "s");
    }
    printf("\n   entities: %zu", r->n_entities);
    if (r->n_entities) {
        const result_entity_t **top = xcalloc(r->n_entities, sizeof *top);
        for (size_t i = 0; i < r->n_entities; i++)
            top[i] = &r->entities[i];
        qsort(top, r->n_entities, sizeof *top, cmp_mentions);
        printf(", top:");
        for (size_t i = 0; i < r->n_entities && i < TOP_ENTITIES; i++)
            printf("%s %s [%s x%zu]", i ? "," : "", top[i]->name,
                   result_entity_type_name(top[i]->type), top[i]->n_mentions);
        free(top);
    }
    size_t by_type[8] = { 0 };
    for (size_t i = 0; i < r->n_figures; i++)
        if (r->figures[i].type >= 1 && r->figures[i].type <= 7)
            by_type[r->figures[i].type]++;
    printf("\n   figures: %zu", r->n_figures);
    bool first = true;
    for (int t = 1; t <= 7; t++)
        if (by_type[t]) {
            printf("%s%zu %s", first ? " (" : ", ", by_type[t],
                   result_figure_type_name(t));
            first = false;
        }
    printf("%s\n", first ? "" : ")");
}

/* ------------------------------------------------------------- wait */

/* Mark inputs whose jobs are DONE or DEAD, asking the broker by id. */
static int
poll_jobs(client_t *c, inputs_t *in, size_t *left)
{
    *left = 0;
    for (size_t i = 0; i < in->n; i++) {
        input_t *x = &in->v[i];
        if (x->rc || !x->readable || x->finished)
            continue;
        wire_msg_t rep;
        int rc = client_get(c, x->job_id, NULL, false, &rep, NULL);
        if (rc)
            return rc;
        int st = rep.u.get_reply.job.state;
        if (st == WIRE_JOB_DONE || st == WIRE_JOB_DEAD) {
            x->finished = true;
            x->dead = st == WIRE_JOB_DEAD;
            if (x->dead)
                snprintf(x->reason, sizeof x->reason, "%s",
                         rep.u.get_reply.job.last_error
                             ? rep.u.get_reply.job.last_error
                             : "");
        } else {
            (*left)++;
        }
        wire_msg_release(&rep);
    }
    return ERR_OK;
}

typedef struct job_ref {
    uint64_t job_id; /* accepted job */
    input_t *input;  /* its input */
} job_ref_t;

static int
cmp_ref(const void *a, const void *b)
{
    uint64_t x = ((const job_ref_t *)a)->job_id;
    uint64_t y = ((const job_ref_t *)b)->job_id;
    return x < y ? -1 : x > y;
}

/*
 * Wait until every accepted job is DONE or DEAD: follow the change log
 * with Since from after_seq (one request per batch of commits), and ask
 * for each remaining job at the start and whenever the broker's dead
 * letter count grows (Since shows only results).
 */
static int
wait_all(client_t *c, fleet_t *f, inputs_t *in, uint64_t after_seq,
         uint64_t dead0, uint64_t deadline_ms)
{
    job_ref_t *refs = xcalloc(in->n ? in->n : 1, sizeof *refs);
    size_t nrefs = 0;
    for (size_t i = 0; i < in->n; i++)
        if (!in->v[i].rc && in->v[i].readable)
            refs[nrefs++] = (job_ref_t){ in->v[i].job_id, &in->v[i] };
    qsort(refs, nrefs, sizeof *refs, cmp_ref);
    size_t left = 0;
    int rc = poll_jobs(c, in, &left);
    uint64_t next_stats = now_mono_ms() + 500;
    while (!rc && left) {
        if (fleet_stopping()) {
            fprintf(stderr, "excerpt run: interrupted\n");
            rc = ERR_CLOSED;
            goto out;
        }
        if (fleet_child_died(f)) {
            fprintf(stderr, "excerpt run: a child process died; stopping "
                            "(the data directory keeps every accepted job)\n");
            rc = ERR_CLOSED;
            goto out;
        }
        if (now_mono_ms() >= deadline_ms) {
            fprintf(stderr,
                    "excerpt run: %zu job%s not finished before the "
                    "deadline\n",
                    left, left == 1 ? "" : "s");
            rc = ERR_TIMEOUT;
            goto out;
        }
        wire_msg_t rep;
        rc = client_since(c, after_seq, WIRE_MAX_BATCH, false, &rep);
        if (rc)
            break;
        size_t n = rep.u.since_reply.n;
        for (size_t i = 0; i < n; i++) {
            const wire_committed_t *it = &rep.u.since_reply.items[i];
            job_ref_t key = { .job_id = it->job_id };
            job_ref_t *r = bsearch(&key, refs, nrefs, sizeof *refs, cmp_ref);
            if (r && !r->input->finished) {
                r->input->finished = true;
                left--;
            }
            if (it->seq > after_seq)
                after_seq = it->seq;
        }
        wire_msg_release(&rep);
        if (now_mono_ms() >= next_stats) {
            wire_stats_t st;
            rc = client_stats(c, &st);
            if (!rc && st.dead > dead0) {
                dead0 = st.dead;
                rc = poll_jobs(c, in, &left);
            }
            next_stats = now_mono_ms() + 500;
        }
        if (!n && left) {
            struct timespec ts = { 0, 10 * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    if (rc)
        fprintf(stderr, "excerpt run: lost the broker: %s\n",
                *client_last_error(c) ? client_last_error(c) : err_str(rc));
out:
    free(refs);
    return rc;
}

static int
report(client_t *c, inputs_t *in, const run_args_t *a)
{
    int status = CLI_EXIT_OK;
    for (size_t i = 0; i < in->n; i++) {
        input_t *x = &in->v[i];
        if (x->rc || !x->readable) {
            status = CLI_EXIT_FAIL;
            continue;
        }
        if (x->dead) {
            fprintf(stderr, "excerpt run: %s: job %llu dead-lettered: %s\n",
                    x->path, (unsigned long long)x->job_id, x->reason);
            status = CLI_EXIT_FAIL;
            continue;
        }
        wire_msg_t rep;
        result_t *r = NULL;
        int rc = client_get(c, x->job_id, NULL, false, &rep, &r);
        if (rc || !r) {
            fprintf(stderr, "excerpt run: %s: no result for job %llu: %s\n",
                    x->path, (unsigned long long)x->job_id,
                    rc ? client_last_error(c) : "not done");
            if (!rc)
                wire_msg_release(&rep);
            status = rc ? clientopt_exit_code(rc) : CLI_EXIT_FAIL;
            continue;
        }
        if (a->json) {
            if (rjson_write_line(r, x->path, stdout))
                status = CLI_EXIT_FAIL;
        } else if (!a->quiet) {
            print_summary(x, r);
        }
        result_destroy(&r);
        wire_msg_release(&rep);
    }
    return status;
}

/* ------------------------------------------------------------ flags */

#define OFF(f) offsetof(run_args_t, f)

/* Flags of run only: how it reports and how long it waits. */
static const cfg_entry_t run_table[] = {
    { "json", CFG_BOOL, OFF(json), NULL, 0, 0,
      "results as JSON Lines instead of the summary" },
    { "quiet", CFG_BOOL, OFF(quiet), NULL, 0, 0, "only the total line" },
    { "deadline", CFG_INT, OFF(deadline_s), "600", 1, 86400,
      "SECS\tgive up waiting after SECS" },
};
#define N_RUN (sizeof run_table / sizeof run_table[0])

static void
usage_run(FILE *out)
{
    fprintf(out, "usage: excerpt run [FLAGS] [FILE|DIR...]\n"
                 "Start a broker, workers and the store on this machine, "
                 "submit the\ninputs (every *.txt of a DIR; the bundled "
                 "samples when none are\ngiven), wait for every result and "
                 "print what was extracted, then\nstop. Running again on the "
                 "same data directory reuses the results\nof transcripts "
                 "seen before.\n\n");
    cfg_group_t g[] = { { fleet_table, fleet_table_len, NULL, 0 },
                        { run_table, N_RUN, NULL, 0 } };
    cfg_cli_usage(g, 2, out);
    fprintf(out, "\nExit: 0 every input extracted, 1 some failed or a child "
                 "process\ndied, 2 usage, 3 the broker did not start.\n");
}

static void
usage_serve(FILE *out)
{
    fprintf(out, "usage: excerpt serve [FLAGS]\n"
                 "Run the broker (store in the data directory) and local "
                 "workers\nuntil SIGTERM or SIGINT. Other processes submit "
                 "with\n`excerpt submit --data-dir D` or over --frontend; "
                 "more workers\ncan join with `excerpt-worker --broker "
                 "BACKEND`.\n\n");
    cfg_group_t g = { fleet_table, fleet_table_len, NULL, 0 };
    cfg_cli_usage(&g, 1, out);
    fprintf(out, "\nExit: 0 after a clean stop, 1 a child process "
                 "died, 2 usage.\n");
}

/* Parse run's or serve's flags into a; run's inputs are cli's positional
 * arguments (free cli in every case). Returns an exit code; CLI_EXIT_OK
 * with cli->help set when usage was printed. */
static int
parse_args(int argc, char **argv, bool serve, run_args_t *a, cfg_cli_t *cli)
{
    cfg_group_t g[] = { { fleet_table, fleet_table_len, &a->fleet, 0 },
                        { run_table, N_RUN, a, 0 } };
    memset(a, 0, sizeof *a);
    cli->prog = serve ? "excerpt serve" : "excerpt run";
    cli->flags_first = true;
    cli->max_pos = serve ? 0 : -1;
    int status = cli_parse_flags(g, serve ? 1 : 2, argc, argv, cli,
                                 serve ? usage_serve : usage_run);
    if (status || cli->help)
        return status;
    if (!serve && a->fleet.workers == 0) {
        fprintf(stderr,
                "%s: --workers 0 would never finish; use `excerpt "
                "serve --workers 0` for a broker alone\n",
                cli->prog);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* ----------------------------------------------------------- commands */

int
cmd_run(int argc, char **argv)
{
    run_args_t a;
    cfg_cli_t cli = { 0 };
    int status = parse_args(argc, argv, false, &a, &cli);
    if (status || cli.help) {
        cfg_cli_free(&cli);
        return status;
    }
    inputs_t in = { 0 };
    if (cli.n_pos == 0) {
        const char *dir = samples_dir();
        if (!dir) {
            fprintf(stderr,
                    "excerpt run: no input given and no bundled "
                    "samples found (looked in %s and %s)\n",
                    EXCERPT_SAMPLES_DIR, EXCERPT_INSTALLED_SAMPLES_DIR);
            cfg_cli_free(&cli);
            return CLI_EXIT_USAGE;
        }
        fprintf(stderr,
                "excerpt run: no input given, using the samples in "
                "%s\n",
                dir);
        if (collect(&in, dir))
            status = CLI_EXIT_USAGE;
    }
    for (int i = 0; i < cli.n_pos; i++)
        if (collect(&in, cli.pos[i]))
            status = CLI_EXIT_USAGE;
    cfg_cli_free(&cli);
    if (!status && in.n == 0) {
        fprintf(stderr, "excerpt run: nothing to do\n");
        status = CLI_EXIT_USAGE;
    }
    fleet_t *f = NULL;
    client_t *c = NULL;
    if (!status)
        status = fleet_open(&f, &a.fleet, "excerpt run");
    if (!status)
        status = fleet_start(f, "excerpt run", &c);
    if (!status) {
        wire_stats_t st0;
        int rc = client_stats(c, &st0);
        uint64_t t0 = now_mono_us();
        double mb = 0;
        size_t accepted = 0;
        if (rc)
            fprintf(stderr, "excerpt run: the broker stopped answering: %s\n",
                    client_last_error(c));
        else
            accepted = submit_all(c, f, &in, &mb, &rc);
        if (!rc)
            rc = wait_all(c, f, &in, st0.last_seq, st0.dead,
                          now_mono_ms() + (uint64_t)a.deadline_s * 1000);
        double secs = (double)(now_mono_us() - t0) / 1e6;
        if (rc) {
            status =
                rc == ERR_TIMEOUT ? CLI_EXIT_FAIL : clientopt_exit_code(rc);
            if (status == CLI_EXIT_UNAVAIL || status == CLI_EXIT_NOTFOUND)
                status = CLI_EXIT_FAIL;
        } else {
            status = report(c, &in, &a);
            size_t reused = 0;
            for (size_t i = 0; i < in.n; i++)
                reused += in.v[i].duplicate && !in.v[i].rc;
            fprintf(a.json ? stderr : stdout,
                    "%zu document%s (%zu accepted, %zu from earlier runs), "
                    "%.2f MB in %.2f s, %.1f jobs/s, data in %s\n",
                    in.n, in.n == 1 ? "" : "s", accepted, reused, mb, secs,
                    secs > 0 ? (double)accepted / secs : 0.0, fleet_dir(f));
        }
        if (accepted < in.n && status == CLI_EXIT_OK)
            status = CLI_EXIT_FAIL;
    }
    client_destroy(&c);
    fflush(stdout);
    fleet_destroy(&f);
    inputs_free(&in);
    if (fflush(stdout) != 0 && status == CLI_EXIT_OK)
        status = CLI_EXIT_FAIL;
    return status;
}

int
cmd_serve(int argc, char **argv)
{
    run_args_t a;
    cfg_cli_t cli = { 0 };
    int status = parse_args(argc, argv, true, &a, &cli);
    cfg_cli_free(&cli);
    if (status || cli.help)
        return status;
    fleet_t *f = NULL;
    client_t *c = NULL;
    status = fleet_open(&f, &a.fleet, "excerpt serve");
    if (!status)
        status = fleet_start(f, "excerpt serve", &c);
    if (status && fleet_stopping()) {
        /* SIGTERM/SIGINT is how serve is stopped, also while it starts */
        fprintf(stderr, "excerpt serve: stopped by a signal while starting\n");
        status = CLI_EXIT_OK;
    } else if (!status) {
        fprintf(stderr,
                "excerpt serve: broker up with %d worker%s, data in %s\n"
                "  frontend  %s\n  backend   %s\n  publisher %s\n"
                "SIGINT or SIGTERM stops it.\n",
                (int)a.fleet.workers, a.fleet.workers == 1 ? "" : "s",
                fleet_dir(f), fleet_frontend(f), fleet_backend(f),
                fleet_publisher(f));
        client_destroy(&c);
        while (!fleet_stopping()) {
            if (fleet_child_died(f)) {
                fprintf(stderr, "excerpt serve: a child process died; "
                                "stopping\n");
                status = CLI_EXIT_FAIL;
                break;
            }
            struct timespec ts = { 0, 100 * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    client_destroy(&c);
    fleet_destroy(&f);
    return status;
}
