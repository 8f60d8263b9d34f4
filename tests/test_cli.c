/*
 * test_cli: the built `excerpt` program run as a process: run (twice on
 * one data dir), serve + submit/get/stats/dead against it, exit codes and
 * messages of the error paths, a killed child stopping serve cleanly.
 */
#include "../common/now.h"
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUN_TIMEOUT_MS 120000

typedef struct ctx {
    char dir[64];     /* temp dir */
    char inputs[128]; /* transcripts copied from samples/ */
    char data[128];   /* data dir */
    char out[128];    /* stdout of the last command */
    char err[128];    /* stderr of the last command */
} ctx_t;

static void
sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

/* The processes a test started (static: hx_teardown kills what a failed
 * test left running, serve and its children included). */
static hx_proc_t procs[16];

static pid_t
spawn_cli(ctx_t *c, const char *const *args)
{
    const char *argv[32];
    size_t n = 0;
    argv[n++] = EXCERPT_CLI_BIN;
    for (; args[n - 1] && n < 31; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    hx_proc_t *p = NULL;
    for (size_t i = 0; i < sizeof procs / sizeof procs[0] && !p; i++)
        if (procs[i].pid <= 0)
            p = &procs[i];
    assert_non_null(p);
    hx_proc_free(p);
    snprintf(p->log, sizeof p->log, "%s", c->out);
    snprintf(p->err, sizeof p->err, "%s", c->err);
    p->fresh = true;
    hx_proc_args(p, argv);
    hx_spawn(p);
    return p->pid;
}

/* The process spawn_cli started as pid. */
static hx_proc_t *
proc_of(pid_t pid)
{
    for (size_t i = 0; i < sizeof procs / sizeof procs[0]; i++)
        if (procs[i].pid == pid && pid > 0)
            return &procs[i];
    fail_msg("pid %d was not started by this test (or has exited)", (int)pid);
    return NULL;
}

/* Wait for pid up to ms; kill it and fail the test when it takes longer. */
static int
wait_exit(pid_t pid, long ms)
{
    hx_proc_t *p = proc_of(pid);
    int code = hx_wait_exit(p, (int)ms);
    if (code == -1) {
        hx_kill(p, SIGKILL);
        fail_msg("command did not finish in %ld ms", ms);
    }
    return code;
}

/* Run the CLI with args (NULL-terminated); returns its exit code. */
static int
run_cli(ctx_t *c, const char *const *args)
{
    return wait_exit(spawn_cli(c, args), RUN_TIMEOUT_MS);
}

static void
copy_file(const char *from, const char *to)
{
    char *text = slurp(from);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(text);
}

static int
setup(void **state)
{
    hx_setup();
    ctx_t *c = calloc(1, sizeof *c);
    assert_non_null(c);
    hx_tempdir(c->dir, sizeof c->dir, "test_cli");
    snprintf(c->inputs, sizeof c->inputs, "%s/in", c->dir);
    snprintf(c->data, sizeof c->data, "%s/data", c->dir);
    snprintf(c->out, sizeof c->out, "%s/stdout", c->dir);
    snprintf(c->err, sizeof c->err, "%s/stderr", c->dir);
    assert_int_equal(mkdir(c->inputs, 0755), 0);
    /* three of the bundled transcripts */
    struct dirent **ents = NULL;
    int n = scandir(EXCERPT_SOURCE_DIR "/samples", &ents, NULL, alphasort);
    int copied = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(ents[i]->d_name);
        if (copied < 3 && len > 4 &&
            !strcmp(ents[i]->d_name + len - 4, ".txt")) {
            char from[512], to[512];
            snprintf(from, sizeof from, "%s/samples/%s", EXCERPT_SOURCE_DIR,
                     ents[i]->d_name);
            snprintf(to, sizeof to, "%s/%s", c->inputs, ents[i]->d_name);
            copy_file(from, to);
            copied++;
        }
        free(ents[i]);
    }
    free(ents);
    if (copied == 0) {
        /* no samples: transcripts of our own */
        static const char *const docs[] = {
            "Meeting on river transport.\n\nIrina Volkova: Good afternoon. "
            "Freight on the Volga grew by 12 percent in 2023.\n\nOleg "
            "Sorokin: Thank you. We plan to invest 4 billion roubles.\n",
            "Talks in Kazan.\n\nMarat Galeev: Colleagues, the plant in "
            "Tatarstan will open in March 2025.\n\nElena Kirova: We "
            "welcome that.\n",
        };
        for (size_t i = 0; i < 2; i++) {
            char to[512];
            snprintf(to, sizeof to, "%s/doc%zu.txt", c->inputs, i);
            FILE *f = fopen(to, "wb");
            assert_non_null(f);
            fputs(docs[i], f);
            fclose(f);
        }
    }
    *state = c;
    return 0;
}

static int
teardown(void **state)
{
    ctx_t *c = *state;
    hx_teardown(NULL); /* what a failed test left running */
    hx_rmtree(c->dir);
    free(c);
    return 0;
}

/* First speaker of each input per `excerpt extract`, to look for in the
 * run summary. Returns a JSON array of names (caller decrefs). */
static json_t *
expected_speakers(ctx_t *c)
{
    json_t *names = json_array();
    struct dirent **ents = NULL;
    int n = scandir(c->inputs, &ents, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        if (ents[i]->d_name[0] != '.') {
            char path[512];
            snprintf(path, sizeof path, "%s/%s", c->inputs, ents[i]->d_name);
            const char *args[] = { "extract", "--format", "json", path, NULL };
            assert_int_equal(run_cli(c, args), 0);
            char *out = slurp(c->out);
            json_error_t je;
            json_t *r = json_loads(out, 0, &je);
            assert_non_null(r);
            json_t *sp = json_object_get(r, "speakers");
            if (json_array_size(sp))
                json_array_append(
                    names, json_object_get(json_array_get(sp, 0), "name"));
            json_decref(r);
            free(out);
        }
        free(ents[i]);
    }
    free(ents);
    return names;
}

static void
test_help(void **state)
{
    ctx_t *c = *state;
    static const char *const cmds[] = { "submit", "get", "stats",
                                        "dead",   "run", "serve" };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        const char *args[] = { cmds[i], "--help", NULL };
        assert_int_equal(run_cli(c, args), 0);
        char *out = slurp(c->out);
        assert_non_null(strstr(out, "usage: excerpt"));
        assert_non_null(strstr(out, cmds[i]));
        free(out);
    }
    const char *bad[] = { "submit", "--priority", "12", "x", NULL };
    assert_int_equal(run_cli(c, bad), 2);
}

/* Every command's flags come from one table: --help and -h list them in
 * lines of at most 79 columns, and a bad or unknown flag is refused with
 * exit 2 and a message naming it, before anything else happens. */
static void
test_flags(void **state)
{
    ctx_t *c = *state;
    static const struct {
        const char *cmd;  /* subcommand */
        const char *flag; /* one of its flags, listed by --help */
    } listed[] = {
        { "extract", "--format json|table" },
        { "submit", "--window N" },
        { "get", "--wait SECS" },
        { "stats", "--read-only" },
        { "tail", "--type T,T.." },
        { "keygen", "--role ROLE" },
        { "query", "--figure T" },
        { "backup", "--data-dir D" },
        { "run", "--deadline SECS" },
        { "serve", "--map-limit SZ" },
    };
    for (size_t i = 0; i < sizeof listed / sizeof listed[0]; i++) {
        const char *args[] = { listed[i].cmd, i % 2 ? "-h" : "--help", NULL };
        assert_int_equal(run_cli(c, args), 0);
        char *out = slurp(c->out);
        if (!strstr(out, listed[i].flag))
            fail_msg("%s --help does not list %s", listed[i].cmd,
                     listed[i].flag);
        for (char *l = out, *nl; *l; l = nl + 1) {
            nl = strchr(l, '\n');
            assert_non_null(nl);
            if (nl - l > 79)
                fail_msg("%s --help: line of %d columns", listed[i].cmd,
                         (int)(nl - l));
        }
        free(out);
    }
    static const struct {
        const char *argv[6]; /* a command line that must be refused */
        const char *says;    /* in its message */
    } bad[] = {
        { { "serve", "--deadline", "5" }, "unknown flag --deadline" },
        { { "run", "--workers", "65" }, "--workers wants" },
        { { "get", "--wait", "x", "1" }, "--wait wants" },
        { { "submit", "--timeout", "0", "x" }, "--timeout wants" },
        { { "query", "--min", "abc" }, "--min wants" },
        { { "tail", "--type", "MONEY", "--type", "FOO" }, "not \"FOO\"" },
        { { "dead", "list", "--all" }, "unknown flag --all" },
        { { "stats", "extra" }, "unexpected argument extra" },
        { { "keygen", "a", "b" }, "one NAME only" },
        { { "extract", "--format" }, "--format needs a value" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *args[7] = { 0 };
        for (size_t k = 0; k < 6 && bad[i].argv[k]; k++)
            args[k] = bad[i].argv[k];
        assert_int_equal(run_cli(c, args), 2);
        char *err = slurp(c->err);
        if (!strstr(err, bad[i].says))
            fail_msg("%s: expected \"%s\" in: %s", bad[i].argv[0], bad[i].says,
                     err);
        free(err);
    }
}

static void
test_submit_missing_file(void **state)
{
    ctx_t *c = *state;
    char path[256];
    snprintf(path, sizeof path, "%s/no-such-file.txt", c->dir);
    const char *args[] = { "submit", "--endpoint", "ipc:///nonexistent/x", path,
                           NULL };
    assert_int_equal(run_cli(c, args), 2);
    char *err = slurp(c->err);
    assert_non_null(strstr(err, "no-such-file.txt"));
    assert_non_null(strstr(err, "No such file"));
    free(err);
}

static void
test_unreachable(void **state)
{
    ctx_t *c = *state;
    char ep[256];
    snprintf(ep, sizeof ep, "ipc://%s/nobody.sock", c->dir);
    const char *args[] = {
        "stats", "--endpoint", ep, "--timeout", "100", NULL
    };
    /* nothing listens: said at once, without waiting out the timeout */
    assert_int_equal(run_cli(c, args), 3);
    char *err = slurp(c->err);
    assert_non_null(strstr(err, "no broker is running"));
    free(err);
}

static void
test_run_twice(void **state)
{
    ctx_t *c = *state;
    json_t *names = expected_speakers(c);
    const char *args[] = { "run", "--data-dir", c->data, c->inputs, NULL };
    assert_int_equal(run_cli(c, args), 0);
    char *out = slurp(c->out);
    size_t i;
    json_t *name;
    json_array_foreach(names, i, name)
    {
        if (!strstr(out, json_string_value(name)))
            fail_msg("summary lacks speaker \"%s\":\n%s",
                     json_string_value(name), out);
    }
    assert_non_null(strstr(out, "0 from earlier runs"));
    free(out);

    /* the same inputs again: recognised by key, results reused */
    assert_int_equal(run_cli(c, args), 0);
    out = slurp(c->out);
    assert_non_null(strstr(out, "from an earlier run"));
    assert_null(strstr(out, " 0 from earlier runs"));
    json_array_foreach(names, i, name)
    {
        assert_non_null(strstr(out, json_string_value(name)));
    }
    free(out);

    /* --json: one result object per input */
    const char *jargs[] = { "run",   "--json",  "--data-dir",
                            c->data, c->inputs, NULL };
    assert_int_equal(run_cli(c, jargs), 0);
    out = slurp(c->out);
    size_t lines = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t je;
        json_t *r = json_loads(line, 0, &je);
        assert_non_null(r);
        assert_true(json_is_array(json_object_get(r, "speakers")));
        assert_true(json_integer_value(json_object_get(r, "job_id")) > 0);
        json_decref(r);
        lines++;
    }
    assert_int_equal(lines, json_array_size(names));
    free(out);
    json_decref(names);
}

static void
test_run_missing_input(void **state)
{
    ctx_t *c = *state;
    const char *args[] = { "run", "--data-dir", c->data, "/nonexistent.txt",
                           NULL };
    assert_int_equal(run_cli(c, args), 2);
    char *err = slurp(c->err);
    assert_non_null(strstr(err, "/nonexistent.txt"));
    free(err);
}

/* Start serve and wait until `stats` answers. */
static pid_t
start_serve(ctx_t *c, const char *workers)
{
    const char *args[] = { "serve",     "--data-dir", c->data,
                           "--workers", workers,      NULL };
    pid_t pid = spawn_cli(c, args);
    char out[128], err[128];
    memcpy(out, c->out, sizeof out);
    memcpy(err, c->err, sizeof err);
    /* commands below write elsewhere so serve's stderr stays readable */
    snprintf(c->out, sizeof c->out, "%s/cmd.out", c->dir);
    snprintf(c->err, sizeof c->err, "%s/cmd.err", c->dir);
    /* up once serve says so (its own startup check is done then: a
     * SIGTERM before that is a stop during startup) */
    uint64_t deadline = now_mono_ms() + 30000;
    for (;;) {
        char *text = slurp(err);
        bool up = strstr(text, "broker up") != NULL;
        free(text);
        if (up)
            break;
        if (hx_wait_exit(proc_of(pid), 0) != -1)
            fail_msg("serve exited early");
        if (now_mono_ms() > deadline)
            fail_msg("serve did not come up"); /* teardown kills it */
        sleep_ms(20);
    }
    (void)out;
    return pid;
}

/* Child pids of pid, from /proc (0-terminated array, at most max-1). */
static size_t
children_of(pid_t pid, pid_t *kids, size_t max)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid,
             (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = 0;
    if (!f)
        return 0;
    int k;
    while (n + 1 < max && fscanf(f, "%d", &k) == 1)
        kids[n++] = k;
    fclose(f);
    kids[n] = 0;
    return n;
}

static bool
is_gone(pid_t pid)
{
    /* not our child: a zombie of serve counts as gone once reaped */
    return kill(pid, 0) != 0 && errno == ESRCH;
}

static void
test_serve_submit_get(void **state)
{
    ctx_t *c = *state;
    pid_t serve = start_serve(c, "1");

    const char *unknown[] = { "get", "--data-dir", c->data, "987654", NULL };
    assert_int_equal(run_cli(c, unknown), 4);
    char *err = slurp(c->err);
    assert_non_null(strstr(err, "no job 987654"));
    free(err);
    const char *nokey[] = { "get",   "--data-dir",  c->data,
                            "--key", "no-such-key", NULL };
    assert_int_equal(run_cli(c, nokey), 4);

    const char *sub[] = { "submit", "--json",  "--data-dir",
                          c->data,  c->inputs, NULL };
    assert_int_equal(run_cli(c, sub), 0);
    char *out = slurp(c->out);
    json_error_t je;
    json_t *first = json_loads(strtok(out, "\n"), 0, &je);
    assert_non_null(first);
    json_int_t id = json_integer_value(json_object_get(first, "job_id"));
    assert_true(id > 0);
    char key[1100];
    snprintf(key, sizeof key, "%s",
             json_string_value(json_object_get(first, "key")));
    assert_int_equal(strncmp(key, "sha256:", 7), 0);
    json_decref(first);
    free(out);

    char ids[32];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    const char *get[] = { "get", "--data-dir", c->data, "--wait",
                          "60",  ids,          NULL };
    assert_int_equal(run_cli(c, get), 0);
    out = slurp(c->out);
    json_t *r = json_loads(out, 0, &je);
    assert_non_null(r);
    json_t *job = json_object_get(r, "job");
    assert_string_equal(json_string_value(json_object_get(job, "state")),
                        "DONE");
    assert_string_equal(json_string_value(json_object_get(job, "key")), key);
    assert_true(json_is_array(json_object_get(r, "speakers")));
    json_decref(r);
    free(out);

    const char *bykey[] = { "get", "--data-dir", c->data, "--key",
                            key,   "--text",     NULL };
    assert_int_equal(run_cli(c, bykey), 0);
    out = slurp(c->out);
    r = json_loads(out, 0, &je);
    assert_non_null(r);
    assert_true(json_string_length(json_object_get(r, "text")) > 0);
    json_decref(r);
    free(out);

    const char *stats[] = { "stats", "--json", "--data-dir", c->data, NULL };
    assert_int_equal(run_cli(c, stats), 0);
    out = slurp(c->out);
    r = json_loads(out, 0, &je);
    assert_non_null(r);
    assert_true(json_is_object(json_object_get(r, "jobs")));
    json_decref(r);
    free(out);

    const char *dead[] = {
        "dead", "list", "--json", "--data-dir", c->data, NULL
    };
    assert_int_equal(run_cli(c, dead), 0);
    const char *requeue[] = { "dead", "requeue", "--data-dir", c->data, NULL };
    assert_int_equal(run_cli(c, requeue), 2);

    /* a second run/serve on the same data dir is refused */
    const char *again[] = { "run", "--data-dir", c->data, c->inputs, NULL };
    assert_int_equal(run_cli(c, again), 1);
    err = slurp(c->err);
    assert_non_null(strstr(err, "in use"));
    free(err);

    kill(serve, SIGTERM);
    assert_int_equal(wait_exit(serve, 30000), 0);
}

/* Lines in a file (0 when it does not exist yet). */
static size_t
count_lines(const char *path)
{
    char *text = slurp(path);
    size_t n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    free(text);
    return n;
}

static void
test_serve_many_and_tail(void **state)
{
    ctx_t *c = *state;
    enum { N = 300 }; /* two chunks of `submit`, each sent in Batches */
    char many[160];
    snprintf(many, sizeof many, "%s/many", c->dir);
    assert_int_equal(mkdir(many, 0755), 0);
    for (int i = 0; i < N; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/doc%03d.txt", many, i);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fprintf(f,
                "Meeting %d on river freight.\n\nAnna Petrova: Item %d "
                "grew by %d percent in 2023.\n",
                i, i, i % 50);
        fclose(f);
    }
    pid_t serve = start_serve(c, "1");

    /* tail follows from the start, in the background */
    char out[128], tail_out[128];
    memcpy(out, c->out, sizeof out);
    snprintf(tail_out, sizeof tail_out, "%s/tail.out", c->dir);
    memcpy(c->out, tail_out, sizeof c->out);
    const char *tail[] = { "tail", "--data-dir", c->data, "--from", "0", NULL };
    pid_t tailer = spawn_cli(c, tail);
    memcpy(c->out, out, sizeof c->out);

    const char *sub[] = {
        "submit", "--json", "--data-dir", c->data, many, NULL
    };
    for (int round = 0; round < 2; round++) {
        assert_int_equal(run_cli(c, sub), 0);
        char *text = slurp(c->out);
        size_t lines = 0, dups = 0;
        json_int_t ids[N];
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            json_error_t je;
            json_t *j = json_loads(line, 0, &je);
            assert_non_null(j);
            assert_true(lines < N);
            ids[lines] = json_integer_value(json_object_get(j, "job_id"));
            assert_true(ids[lines] > 0);
            dups += json_is_true(json_object_get(j, "duplicate"));
            for (size_t k = 0; k < lines; k++)
                assert_true(ids[k] != ids[lines]);
            lines++;
            json_decref(j);
        }
        free(text);
        assert_int_equal(lines, N);
        /* the second round finds every key: the same jobs */
        assert_int_equal(dups, round ? N : 0);
    }

    /* every result appears in tail once, in commit order */
    uint64_t deadline = now_mono_ms() + RUN_TIMEOUT_MS;
    while (count_lines(tail_out) < N && now_mono_ms() < deadline)
        sleep_ms(20);
    assert_int_equal(count_lines(tail_out), N);
    kill(tailer, SIGTERM);
    assert_int_equal(wait_exit(tailer, 30000), 0);
    char *text = slurp(tail_out);
    json_int_t prev = 0;
    char *save = NULL;
    size_t lines = 0;
    for (char *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        assert_non_null(j);
        json_int_t seq = json_integer_value(json_object_get(j, "seq"));
        assert_int_equal(seq, prev + 1);
        prev = seq;
        assert_true(json_integer_value(json_object_get(j, "job_id")) > 0);
        lines++;
        json_decref(j);
    }
    free(text);
    assert_int_equal(lines, N);

    kill(serve, SIGTERM);
    assert_int_equal(wait_exit(serve, 30000), 0);
}

static void
test_serve_child_killed(void **state)
{
    ctx_t *c = *state;
    pid_t serve = start_serve(c, "2");
    pid_t kids[16];
    size_t n = children_of(serve, kids, 16);
    assert_int_equal(n, 3); /* broker + 2 workers */
    kill(kids[n - 1], SIGKILL);
    /* serve notices, stops the others and exits non-zero */
    int rc = wait_exit(serve, 30000);
    assert_int_not_equal(rc, 0);
    uint64_t deadline = now_mono_ms() + 5000;
    for (size_t i = 0; i < n; i++) {
        while (!is_gone(kids[i]) && now_mono_ms() < deadline)
            sleep_ms(10);
        assert_true(is_gone(kids[i]));
    }
    char path[160];
    snprintf(path, sizeof path, "%s/stderr", c->dir);
    char *err = slurp(path);
    if (!strstr(err, "killed by signal 9"))
        fail_msg("serve did not name the dead child:\n%s", err);
    free(err);
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_help, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_submit_missing_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_missing_input, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serve_submit_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serve_many_and_tail, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_serve_child_killed, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
