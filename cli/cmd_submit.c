/*
 * excerpt submit: send transcripts (files, every *.txt of directories, or
 * stdin) to the broker and print their job ids once each is Accepted, i.e.
 * committed to disk by the broker.
 */
#include "cli.h"
#include "clientopt.h"
#include "progress.h"

#include "../common/err.h"
#include "../common/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PREFIX "excerpt submit"
/* files read and submitted together; bounds memory for huge directories */
#define CHUNK 256

typedef struct outcome {
    int rc;           /* 0 or the failure */
    uint64_t job_id;  /* when rc == 0 */
    bool duplicate;   /* the key existed */
    char reason[256]; /* broker or local reason when rc != 0 */
} outcome_t;

typedef struct submit_state {
    outcome_t *out;    /* per job of the chunk */
    progress_t *bar;   /* may be NULL */
    size_t done;       /* over all chunks */
    size_t failed;     /* over all chunks */
    size_t accepted;   /* new jobs */
    size_t duplicates; /* existing jobs */
} submit_state_t;

typedef struct submit_args {
    const char *key;       /* --key */
    const char *url;       /* --url */
    const char *title;     /* --title */
    const char *published; /* --published */
    int64_t priority;      /* --priority */
    int64_t window;        /* --window */
    bool json;             /* --json */
    bool lines;            /* a line per accepted input (not only errors) */
} submit_args_t;

#define OFF(f) offsetof(submit_args_t, f)
static const cfg_entry_t submit_table[] = {
    { "key", CFG_STRING, OFF(key), NULL, 1, WIRE_MAX_KEY,
      "K\tidempotency key (one input only; default \"sha256:\" + hex "
      "SHA-256 of the text)" },
    { "priority", CFG_INT, OFF(priority), "0", 0, WIRE_MAX_PRIORITY,
      "P\thigher first" },
    { "url", CFG_STRING, OFF(url), NULL, 0, 0,
      "U\tsource URL (default: the file name)" },
    { "title", CFG_STRING, OFF(title), NULL, 0, 0, "T\tdocument title" },
    { "published", CFG_STRING, OFF(published), NULL, 0, 0,
      "D\tISO 8601 publication date" },
    { "window", CFG_INT, OFF(window), "256", 1, 4096,
      "N\tsubmissions in flight; acks wait for an fsync: keep the pipe full" },
    { "json", CFG_BOOL, OFF(json), NULL, 0, 0,
      "JSON Lines output (default when stdout is not a terminal)" },
};
#define N_SUBMIT (sizeof submit_table / sizeof submit_table[0])

static void
usage(FILE *out)
{
    fprintf(
        out,
        "usage: excerpt submit [FLAGS] FILE|DIR|-...\n"
        "Submit transcripts to the broker; each is printed with its job id\n"
        "once the broker has committed it to disk. A DIR contributes every\n"
        "*.txt file in it (sorted); \"-\" reads standard input.\n"
        "\n");
    cfg_group_t g[] = { { submit_table, N_SUBMIT, NULL, 0 },
                        clientopt_group(NULL) };
    cfg_cli_usage(g, 2, out);
    fprintf(
        out,
        "\nOutput: one line per input: job id and whether it was new or\n"
        "a duplicate of an existing job with the same key, then a total.\n"
        "On a terminal, more than 20 inputs show a progress bar and only\n"
        "the failures and the total instead.\n"
        "Exit: 0 all accepted, 1 some refused or unreadable, 2 usage\n"
        "(also a missing input path), 3 broker unreachable or timed out.\n");
}

static void
on_result(void *ud, size_t index, int rc, uint64_t job_id, bool duplicate,
          const char *reason)
{
    submit_state_t *s = ud;
    outcome_t *o = &s->out[index];
    o->rc = rc;
    o->job_id = job_id;
    o->duplicate = duplicate;
    snprintf(o->reason, sizeof o->reason, "%s", reason ? reason : "");
    s->done++;
    if (rc)
        s->failed++;
    progress_update(s->bar, s->done, s->failed);
}

static void
print_outcome(const char *source, const char *key, const outcome_t *o,
              bool json)
{
    if (json) {
        json_t *j = json_object();
        json_object_set_new(j, "source", json_string(source));
        if (o->rc == 0) {
            json_object_set_new(j, "job_id",
                                json_integer((json_int_t)o->job_id));
            json_object_set_new(j, "duplicate", json_boolean(o->duplicate));
            if (o->duplicate && *o->reason)
                json_object_set_new(j, "text_differs", json_true());
        } else {
            json_object_set_new(j, "error", json_string(err_str(o->rc)));
            json_object_set_new(j, "reason", json_string(o->reason));
        }
        if (key)
            json_object_set_new(j, "key", json_string(key));
        char *line = json_dumps(j, JSON_COMPACT);
        if (line)
            printf("%s\n", line);
        free(line);
        json_decref(j);
        return;
    }
    if (o->rc == 0)
        printf("job %-8llu %-9s %s%s%s%s\n", (unsigned long long)o->job_id,
               o->duplicate ? "duplicate" : "accepted", source,
               *o->reason ? " (" : "", o->reason, *o->reason ? ")" : "");
    else
        fprintf(stderr, PREFIX ": %s: %s%s%s\n", source, err_str(o->rc),
                *o->reason ? ": " : "", o->reason);
}

/* Submit files[0..n) in one pipelined batch. Updates *worst. */
static int
submit_chunk(client_t *c, const submit_args_t *a, char **files, size_t n,
             submit_state_t *st, int *worst)
{
    wire_job_t *jobs = xcalloc(n, sizeof *jobs);
    char **texts = xcalloc(n, sizeof *texts);
    char(*keys)[CLIENT_KEY_SIZE] = xcalloc(n, sizeof *keys);
    bool *readable = xcalloc(n, sizeof *readable);
    outcome_t *out = xcalloc(n, sizeof *out);
    size_t *map = xcalloc(n, sizeof *map);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        if (cli_read_file(files[i], WIRE_MAX_TEXT, &texts[i], &len)) {
            out[i].rc = ERR_IO;
            snprintf(out[i].reason, sizeof out[i].reason, "cannot read");
            st->done++;
            st->failed++;
            continue;
        }
        readable[i] = true;
        wire_job_t *j = &jobs[m];
        j->text = texts[i];
        j->text_len = len;
        if (a->key) {
            j->key = a->key;
        } else {
            client_default_key(texts[i], len, keys[i]);
            j->key = keys[i];
        }
        j->source_url =
            a->url ? a->url : (strcmp(files[i], "-") ? files[i] : "stdin");
        j->title = a->title;
        j->published = a->published;
        j->priority = (int32_t)a->priority;
        map[m++] = i;
    }
    outcome_t *batch = xcalloc(m ? m : 1, sizeof *batch);
    st->out = batch;
    int rc = client_submit_many(c, jobs, m, (size_t)a->window, on_result, st);
    for (size_t k = 0; k < m; k++)
        out[map[k]] = batch[k];
    progress_clear(st->bar);
    for (size_t i = 0; i < n; i++) {
        const char *source = strcmp(files[i], "-") ? files[i] : "stdin";
        if (readable[i] && !out[i].rc) {
            st->accepted += !out[i].duplicate;
            st->duplicates += out[i].duplicate;
        }
        if (readable[i] && (a->lines || out[i].rc))
            print_outcome(source, a->key ? a->key : keys[i], &out[i], a->json);
        else if (!readable[i])
            *worst = *worst == CLI_EXIT_UNAVAIL ? *worst : CLI_EXIT_FAIL;
        if (readable[i] && out[i].rc) {
            int code = clientopt_exit_code(out[i].rc);
            if (code == CLI_EXIT_NOTFOUND)
                code = CLI_EXIT_FAIL;
            if (code == CLI_EXIT_UNAVAIL || *worst == CLI_EXIT_OK)
                *worst = code;
        }
    }
    fflush(stdout);
    progress_update(st->bar, st->done, st->failed);
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
    free(batch);
    free(map);
    free(out);
    free(readable);
    free(keys);
    free(texts);
    free(jobs);
    return rc;
}

int
cmd_submit(int argc, char **argv)
{
    clientopt_t co = { 0 };
    submit_args_t a;
    memset(&a, 0, sizeof a);
    cfg_group_t g[] = { { submit_table, N_SUBMIT, &a, 0 },
                        clientopt_group(&co) };
    cfg_cli_t cli = { .prog = PREFIX, .flags_first = true, .max_pos = -1 };
    int status = cli_parse_flags(g, 2, argc, argv, &cli, usage);
    if (status || cli.help) {
        cfg_cli_free(&cli);
        return status;
    }
    a.json = a.json || !cli_is_tty(STDOUT_FILENO);
    if (cli.n_pos == 0) {
        fprintf(stderr, PREFIX ": no input (give FILE, DIR or -)\n");
        usage(stderr);
        cfg_cli_free(&cli);
        return CLI_EXIT_USAGE;
    }
    char **files = NULL;
    size_t n = 0, cap = 0;
    for (int i = 0; i < cli.n_pos; i++)
        if (cli_collect_inputs(PREFIX, cli.pos[i], &files, &n, &cap))
            status = CLI_EXIT_USAGE;
    cfg_cli_free(&cli);
    if (status == CLI_EXIT_OK && a.key && n != 1) {
        fprintf(stderr, PREFIX ": --key needs exactly one input, got %zu\n", n);
        status = CLI_EXIT_USAGE;
    }
    if (status == CLI_EXIT_OK && n == 0)
        status = CLI_EXIT_FAIL;
    client_t *c = NULL;
    if (status == CLI_EXIT_OK)
        status = clientopt_open(&co, PREFIX, &c);
    if (status == CLI_EXIT_OK) {
        submit_state_t st = { 0 };
        /* on a terminal, many inputs get a progress bar and a total
         * instead of a line each (--json lists them all) */
        a.lines = a.json || n <= 20;
        st.bar = progress_new(stderr, "submit", n, 21);
        for (size_t off = 0; off < n; off += CHUNK) {
            size_t k = n - off < CHUNK ? n - off : CHUNK;
            int rc = submit_chunk(c, &a, files + off, k, &st, &status);
            if (rc) {
                status = CLI_EXIT_UNAVAIL;
                break;
            }
        }
        progress_finish(&st.bar);
        if (!a.json)
            printf("%zu accepted, %zu duplicate%s, %zu failed\n", st.accepted,
                   st.duplicates, st.duplicates == 1 ? "" : "s", st.failed);
        if (status == CLI_EXIT_UNAVAIL)
            fprintf(stderr,
                    PREFIX ": broker at %s unreachable or not answering\n",
                    co.resolved);
    }
    client_destroy(&c);
    for (size_t k = 0; k < n; k++)
        free(files[k]);
    free(files);
    if (fflush(stdout) != 0 && status == CLI_EXIT_OK)
        status = CLI_EXIT_FAIL;
    return status;
}
