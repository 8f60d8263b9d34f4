/*
 * test_consume: the consumer API (client/consumer.h) and `excerpt tail`
 * on it, against real excerpt-broker and excerpt-worker processes on ipc://
 * endpoints in a mkdtemp dir: a broker killed (-9) and restarted mid-tail
 * (tail resumes: no gap, no duplicate), a tail killed and restarted with
 * its cursor file (every later result once), filters, the cursor file.
 * EXCERPT_TEST_KEEP=1 keeps the temp dir (logs).
 */
#include "../client/client.h"
#include "../client/consumer.h"
#include "../common/err.h"
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef EXCERPT_BROKER_BIN
#define EXCERPT_BROKER_BIN ""
#endif
#ifndef EXCERPT_WORKER_BIN
#define EXCERPT_WORKER_BIN ""
#endif

#define MAX_ARGS 32
/* every deadline is generous: a loaded machine or a sanitizer build */
#define WAIT_MS 120000
/* HX_WAIT_FOR scales by HX_SLACK: this waits WAIT_MS in all */
#define WAIT_FOR(cond) HX_WAIT_FOR(cond, WAIT_MS / HX_SLACK)

typedef struct fx {
    char dir[64];     /* temp dir */
    char data[128];   /* broker data dir */
    char fe[192];     /* frontend endpoint */
    char be[192];     /* backend endpoint */
    char pub[192];    /* publisher endpoint */
    char cur[192];    /* tail's cursor file */
    hx_proc_t broker; /* excerpt-broker */
    hx_proc_t worker; /* excerpt-worker */
    hx_proc_t tail;   /* excerpt tail */
    hx_proc_t sub;    /* excerpt submit */
    client_t *cl;     /* submits */
    int next_text;    /* texts made so far */
} fx_t;

static void
sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int
setup(void **state)
{
    hx_setup();
    hx_require_bin(EXCERPT_BROKER_BIN);
    hx_require_bin(EXCERPT_WORKER_BIN);
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *state = f;
    hx_tempdir(f->dir, sizeof f->dir, "test_consume");
    snprintf(f->data, sizeof f->data, "%s/data", f->dir);
    snprintf(f->fe, sizeof f->fe, "ipc://%s/fe.sock", f->dir);
    snprintf(f->be, sizeof f->be, "ipc://%s/be.sock", f->dir);
    snprintf(f->pub, sizeof f->pub, "ipc://%s/pub.sock", f->dir);
    snprintf(f->cur, sizeof f->cur, "%s/cursor", f->dir);
    const char *names[] = { "broker", "worker", "tail" };
    hx_proc_t *procs[] = { &f->broker, &f->worker, &f->tail };
    for (int i = 0; i < 3; i++) {
        snprintf(procs[i]->log, sizeof procs[i]->log, "%s/%s.out", f->dir,
                 names[i]);
        snprintf(procs[i]->err, sizeof procs[i]->err, "%s/%s.err", f->dir,
                 names[i]);
    }
    return 0;
}

static int
teardown(void **state)
{
    fx_t *f = *state;
    if (!f)
        return 0;
    client_destroy(&f->cl);
    hx_teardown(NULL);
    hx_proc_free(&f->sub);
    hx_proc_free(&f->tail);
    hx_proc_free(&f->worker);
    hx_proc_free(&f->broker);
    hx_rmtree(f->dir);
    free(f);
    return 0;
}

static void
start_broker(fx_t *f)
{
    hx_broker_args(&f->broker, EXCERPT_BROKER_BIN, f->data, f->fe, f->be,
                   f->pub, NULL);
    hx_spawn_listening(&f->broker, WAIT_MS / HX_SLACK);
    if (!f->cl) {
        client_opts_t o = { .timeout_ms = 10000 };
        assert_int_equal(client_open(&f->cl, f->fe, &o), ERR_OK);
    }
}

static void
start_worker(fx_t *f)
{
    const char *args[] = { EXCERPT_WORKER_BIN, "--broker", f->be,
                           "--threads",        "1",        NULL };
    hx_proc_args(&f->worker, args);
    hx_spawn(&f->worker);
}

/* Start `excerpt tail --results --cursor FILE` plus extra args. */
static void
start_tail(fx_t *f, const char *const *extra)
{
    const char *args[MAX_ARGS] = { EXCERPT_CLI_BIN, "tail",        "--endpoint",
                                   f->fe,           "--publisher", f->pub,
                                   "--cursor",      f->cur,        "--timeout",
                                   "1000" };
    size_t n = 10;
    for (size_t i = 0; extra && extra[i]; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    hx_proc_args(&f->tail, args);
    hx_spawn(&f->tail);
}

/* Submit n new texts; returns the highest job id. Money in every text,
 * a place named "Tomsk" only in the even ones. */
static void
submit_n(fx_t *f, int n)
{
    for (int k = 0; k < n; k++) {
        int i = f->next_text++;
        char text[1024], key[64];
        snprintf(text, sizeof text,
                 "Minister Anna Petrova: Revenues rose by %d.%d percent to "
                 "%d million roubles in %s.\nGovernor Pavel Sokolov: Thank "
                 "you. Meeting number %d.\n",
                 1 + i % 9, i % 10, 100 + i, i % 2 ? "Omsk" : "Tomsk", i);
        snprintf(key, sizeof key, "consume-%d", i);
        wire_job_t job = { .key = key,
                           .source_url = key,
                           .text = text,
                           .text_len = strlen(text) };
        uint64_t id = 0;
        assert_int_equal(client_submit(f->cl, &job, &id, NULL), ERR_OK);
    }
}

static uint64_t
last_seq(fx_t *f)
{
    wire_stats_t st;
    assert_int_equal(client_stats(f->cl, &st), ERR_OK);
    return st.last_seq;
}

/* The seqs printed in path (JSON Lines with "seq"), into *out; count. */
static size_t
read_seqs(const char *path, uint64_t **out)
{
    FILE *fp = fopen(path, "r");
    size_t n = 0, cap = 64;
    uint64_t *v = malloc(cap * sizeof *v);
    assert_non_null(v);
    char *line = NULL;
    size_t lcap = 0;
    while (fp && getline(&line, &lcap, fp) > 0) {
        if (line[strlen(line) - 1] != '\n')
            break; /* a line being written */
        json_error_t e;
        json_t *o = json_loads(line, 0, &e);
        if (!o)
            fail_msg("tail printed a bad line: %s", line);
        if (n == cap) {
            cap *= 2;
            v = realloc(v, cap * sizeof *v);
            assert_non_null(v);
        }
        v[n++] = (uint64_t)json_integer_value(json_object_get(o, "seq"));
        json_decref(o);
    }
    free(line);
    if (fp)
        fclose(fp);
    *out = v;
    return n;
}

static size_t
lines_in(const char *path)
{
    uint64_t *v = NULL;
    size_t n = read_seqs(path, &v);
    free(v);
    return n;
}

/* path holds exactly the seqs first..last, once each, in order. */
static void
assert_seqs(const char *path, uint64_t first, uint64_t last)
{
    uint64_t *v = NULL;
    size_t n = read_seqs(path, &v);
    for (size_t i = 0; i < n; i++)
        if (v[i] != first + i)
            fail_msg("%s: line %zu has seq %llu, expected %llu", path, i + 1,
                     (unsigned long long)v[i], (unsigned long long)(first + i));
    assert_int_equal(n, last - first + 1);
    free(v);
}

static uint64_t
cursor_value(fx_t *f)
{
    uint64_t seq = 0;
    if (consumer_cursor_load(f->cur, &seq) != ERR_OK)
        return 0;
    return seq;
}

typedef struct collect {
    uint64_t seqs[64];          /* delivered, in order */
    size_t n;                   /* count */
    uint64_t stop_at;           /* set stop once this seq came */
    volatile sig_atomic_t stop; /* consumer_run's stop flag */
} collect_t;

static int
collect(void *ud, const wire_committed_t *it)
{
    collect_t *c = ud;
    if (c->n == 64)
        return ERR_FULL;
    c->seqs[c->n++] = it->seq;
    if (it->seq >= c->stop_at)
        c->stop = 1;
    return 0;
}

/* A broker killed -9 and restarted while tail follows: tail waits it out
 * and resumes after its last seq, no gap, no duplicate. */
static void
test_tail_survives_broker_kill(void **state)
{
    fx_t *f = *state;
    start_broker(f);
    start_worker(f);
    const char *extra[] = { "--from", "0", NULL };
    start_tail(f, extra);
    submit_n(f, 20);
    WAIT_FOR(last_seq(f) == 20);
    WAIT_FOR(lines_in(f->tail.log) == 20);
    hx_kill(&f->broker, SIGKILL);
    /* down long enough for several failed requests and backoffs */
    WAIT_FOR(hx_count_in_file(f->tail.err, "broker unavailable") >= 1);
    sleep_ms(1500);
    start_broker(f);
    WAIT_FOR(hx_count_in_file(f->tail.err, "reachable again") >= 1);
    submit_n(f, 20);
    WAIT_FOR(last_seq(f) == 40);
    WAIT_FOR(lines_in(f->tail.log) >= 40);
    WAIT_FOR(cursor_value(f) == 40);
    assert_int_equal(hx_term(&f->tail, WAIT_MS), 0);
    assert_seqs(f->tail.log, 1, 40);
}

/* Run `excerpt submit --timeout 500 DIR` to its end; its exit code. */
static int
submit_dir(fx_t *f, const char *dir)
{
    hx_proc_t *p = &f->sub;
    snprintf(p->log, sizeof p->log, "%s/submit.out", f->dir);
    snprintf(p->err, sizeof p->err, "%s/submit.err", f->dir);
    const char *args[] = { EXCERPT_CLI_BIN, "submit", "--endpoint", f->fe,
                           "--timeout",     "500",    dir,          NULL };
    hx_proc_args(p, args);
    hx_spawn(p);
    int code = hx_wait_exit(p, WAIT_MS);
    hx_proc_free(p);
    if (code == -1)
        fail_msg("excerpt submit did not finish");
    return code;
}

/* The broker killed -9 while a submitter and the worker are busy: once
 * the submitter is rerun (idempotent keys) every job commits once, and the
 * tail that lived through it all printed 1..N once each, in order. */
static void
test_tail_broker_kill_under_load(void **state)
{
    fx_t *f = *state;
    enum { N = 200 };
    char in[192];
    snprintf(in, sizeof in, "%s/in", f->dir);
    assert_int_equal(mkdir(in, 0755), 0);
    for (int i = 0; i < N; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/t%03d.txt", in, i);
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fprintf(fp, "Governor Pavel Sokolov: %d million roubles for Tomsk.\n",
                100 + i);
        fclose(fp);
    }
    start_broker(f);
    start_worker(f);
    const char *extra[] = { "--from", "0", NULL };
    start_tail(f, extra);
    hx_proc_t *sub = &f->sub;
    snprintf(sub->log, sizeof sub->log, "%s/submit1.out", f->dir);
    snprintf(sub->err, sizeof sub->err, "%s/submit1.err", f->dir);
    const char *sargs[] = {
        EXCERPT_CLI_BIN, "submit", "--endpoint", f->fe, "--window", "4",
        "--timeout",     "500",    in,           NULL
    };
    hx_proc_args(sub, sargs);
    hx_spawn(sub);
    WAIT_FOR(lines_in(f->tail.log) >= 20);
    hx_kill(&f->broker, SIGKILL);
    hx_kill(sub, SIGKILL); /* or it gives up by itself; rerun below */
    hx_proc_free(sub);
    WAIT_FOR(hx_count_in_file(f->tail.err, "broker unavailable") >= 1);
    start_broker(f);
    assert_int_equal(submit_dir(f, in), 0);
    WAIT_FOR(last_seq(f) == N);
    WAIT_FOR(lines_in(f->tail.log) >= N);
    WAIT_FOR(cursor_value(f) == N);
    assert_int_equal(hx_term(&f->tail, WAIT_MS), 0);
    assert_seqs(f->tail.log, 1, N);
}

/* A tail killed -9 and restarted with its cursor file sees every result
 * after the cursor once: the union is 1..N with no gap; the second run
 * starts right after the cursor it found. */
static void
test_tail_restart_with_cursor(void **state)
{
    fx_t *f = *state;
    start_broker(f);
    start_worker(f);
    const char *extra[] = { "--from", "0", NULL };
    start_tail(f, extra);
    submit_n(f, 15);
    WAIT_FOR(cursor_value(f) == 15);
    hx_kill(&f->tail, SIGKILL);
    submit_n(f, 15);
    WAIT_FOR(last_seq(f) == 30);
    uint64_t cur = cursor_value(f);
    assert_int_equal(cur, 15);
    /* --from is ignored once the cursor file exists */
    snprintf(f->tail.log, sizeof f->tail.log, "%s/tail2.out", f->dir);
    start_tail(f, extra);
    submit_n(f, 5);
    WAIT_FOR(cursor_value(f) == 35);
    WAIT_FOR(lines_in(f->tail.log) >= 20);
    assert_int_equal(hx_term(&f->tail, WAIT_MS), 0);
    assert_seqs(f->tail.log, cur + 1, 35);
    struct stat st;
    assert_int_equal(stat(f->cur, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

/* Filters: --type MONEY keeps all, --entity Tomsk the even texts only;
 * --no-follow ends after catching up; an unreachable broker with
 * --no-follow exits 3 at once. */
static void
test_tail_filters(void **state)
{
    fx_t *f = *state;
    start_broker(f);
    start_worker(f);
    submit_n(f, 10);
    WAIT_FOR(last_seq(f) == 10);
    const char *a1[] = {
        "--from", "0", "--no-follow", "--entity", "TOMSK", NULL
    };
    unlink(f->cur);
    start_tail(f, a1);
    int code = hx_wait_exit(&f->tail, WAIT_MS);
    if (code == -1)
        fail_msg("tail --no-follow did not end");
    assert_int_equal(code, 0);
    assert_int_equal(lines_in(f->tail.log), 5);
    assert_int_equal(hx_count_in_file(f->tail.log, "Tomsk"),
                     0); /* brief form */
    assert_int_equal(cursor_value(f), 10);
    hx_kill(&f->broker, SIGKILL);
    const char *a2[] = { "--from", "0", "--no-follow", NULL };
    unlink(f->cur);
    start_tail(f, a2);
    code = hx_wait_exit(&f->tail, WAIT_MS);
    if (code == -1)
        fail_msg("tail --no-follow did not end");
    assert_int_equal(code, 3);
}

/* A silent publisher (here: none at all on that endpoint) does not stall
 * the consumer: the periodic Since check delivers everything. */
static void
test_consumer_silent_publisher(void **state)
{
    fx_t *f = *state;
    start_broker(f);
    start_worker(f);
    submit_n(f, 5);
    WAIT_FOR(last_seq(f) == 5);
    char silent[256];
    snprintf(silent, sizeof silent, "ipc://%s/nobody.sock", f->dir);
    consumer_opts_t o = { .frontend = f->fe,
                          .publisher = silent,
                          .cursor_path = f->cur,
                          .from = 2,
                          .check_ms = 100 };
    consumer_t *c = NULL;
    assert_int_equal(consumer_open(&c, &o), ERR_OK);
    submit_n(f, 3);
    WAIT_FOR(last_seq(f) == 8);
    collect_t got = { .stop_at = 8 };
    assert_int_equal(consumer_run(c, collect, &got, &got.stop), ERR_OK);
    assert_int_equal(consumer_last_seq(c), 8);
    consumer_destroy(&c);
    assert_int_equal(got.n, 6);
    for (size_t i = 0; i < got.n; i++)
        assert_int_equal(got.seqs[i], 3 + i);
    assert_int_equal(cursor_value(f), 8);
}

/* The cursor file: saved atomically, read back, bad content refused. */
static void
test_cursor_file(void **state)
{
    fx_t *f = *state;
    uint64_t v = 0;
    assert_int_equal(consumer_cursor_load(f->cur, &v), ERR_NOTFOUND);
    assert_int_equal(consumer_cursor_save(f->cur, 123456789012345ull), ERR_OK);
    assert_int_equal(consumer_cursor_load(f->cur, &v), ERR_OK);
    assert_int_equal(v, 123456789012345ull);
    FILE *fp = fopen(f->cur, "w");
    assert_non_null(fp);
    fputs("12x\n", fp);
    fclose(fp);
    assert_int_equal(consumer_cursor_load(f->cur, &v), ERR_INVAL);
    consumer_opts_t o = { .frontend = "ipc:///nonexistent/fe.sock",
                          .cursor_path = f->cur };
    consumer_t *c = NULL;
    assert_int_equal(consumer_open(&c, &o), ERR_INVAL);
    assert_null(c);
    char bad[256];
    snprintf(bad, sizeof bad, "%s/no/such/dir/cursor", f->dir);
    assert_int_equal(consumer_cursor_save(bad, 1), ERR_IO);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cursor_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consumer_silent_publisher, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tail_restart_with_cursor, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tail_survives_broker_kill, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tail_broker_kill_under_load, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
