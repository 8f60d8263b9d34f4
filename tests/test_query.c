/*
 * test_query: Query over the store (entity index and figure scan, with
 * paging) through the broker and `excerpt query`; stats, get and query
 * read-only from a data dir with the broker gone (the same output); no
 * broker and no data dir said at once; `excerpt backup` of a store under
 * load, restored into a new data dir that a new broker serves with the
 * same results and seq. Real excerpt-broker/excerpt-worker processes on
 * ipc:// endpoints in a mkdtemp dir. EXCERPT_TEST_KEEP=1 keeps it.
 */
#include "../client/client.h"
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
    char dir[64];      /* temp dir */
    char data[128];    /* broker data dir */
    char fe[192];      /* frontend endpoint */
    char be[192];      /* backend endpoint */
    char pub[192];     /* publisher endpoint */
    char out[192];     /* stdout of the last CLI run */
    char err[192];     /* stderr of the last CLI run */
    hx_proc_t broker;  /* excerpt-broker */
    hx_proc_t broker2; /* excerpt-broker on the restored copy */
    hx_proc_t worker;  /* excerpt-worker */
    hx_proc_t sub;     /* a background excerpt submit */
    hx_proc_t cli;     /* the last CLI run */
    client_t *cl;      /* submits */
    int next_text;     /* texts made so far */
} fx_t;

static int
setup(void **state)
{
    hx_setup();
    hx_require_bin(EXCERPT_BROKER_BIN);
    hx_require_bin(EXCERPT_WORKER_BIN);
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *state = f;
    hx_tempdir(f->dir, sizeof f->dir, "test_query");
    snprintf(f->data, sizeof f->data, "%s/data", f->dir);
    snprintf(f->fe, sizeof f->fe, "ipc://%s/fe.sock", f->dir);
    snprintf(f->be, sizeof f->be, "ipc://%s/be.sock", f->dir);
    snprintf(f->pub, sizeof f->pub, "ipc://%s/pub.sock", f->dir);
    snprintf(f->out, sizeof f->out, "%s/cli.out", f->dir);
    snprintf(f->err, sizeof f->err, "%s/cli.err", f->dir);
    const char *names[] = { "broker", "broker2", "worker", "submit" };
    hx_proc_t *procs[] = { &f->broker, &f->broker2, &f->worker, &f->sub };
    for (int i = 0; i < 4; i++) {
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
    hx_proc_free(&f->cli);
    hx_proc_free(&f->sub);
    hx_proc_free(&f->worker);
    hx_proc_free(&f->broker2);
    hx_proc_free(&f->broker);
    hx_rmtree(f->dir);
    free(f);
    return 0;
}

/* Start b as the broker of f's endpoints and wait until it listens. */
static void
start_broker_as(fx_t *f, hx_proc_t *b)
{
    hx_broker_args(b, EXCERPT_BROKER_BIN, f->data, f->fe, f->be, f->pub, NULL);
    hx_spawn_listening(b, WAIT_MS / HX_SLACK);
    if (!f->cl) {
        client_opts_t o = { .timeout_ms = 10000 };
        assert_int_equal(client_open(&f->cl, f->fe, &o), ERR_OK);
    }
}

static void
start_broker(fx_t *f)
{
    start_broker_as(f, &f->broker);
}

static void
start_worker(fx_t *f)
{
    const char *args[] = { EXCERPT_WORKER_BIN, "--broker", f->be,
                           "--threads",        "1",        NULL };
    hx_proc_args(&f->worker, args);
    hx_spawn(&f->worker);
}

/* Submit texts i = first..first+n-1: "<100+i> million roubles", Tomsk in
 * the even ones, Omsk in the odd ones. */
static void
submit_range(fx_t *f, int first, int n)
{
    for (int i = first; i < first + n; i++) {
        char text[1024], key[64];
        snprintf(text, sizeof text,
                 "Minister Anna Petrova: Revenues rose by %d.%d percent to "
                 "%d million roubles in %s.\nGovernor Pavel Sokolov: Thank "
                 "you. Meeting number %d.\n",
                 1 + i % 9, i % 10, 100 + i, i % 2 ? "Omsk" : "Tomsk", i);
        snprintf(key, sizeof key, "query-%d", i);
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

static char *
slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return strdup("");
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    size_t got = fread(buf, 1, (size_t)n, fp);
    buf[got] = '\0';
    fclose(fp);
    return buf;
}

/* Run the CLI with args; stdout to f->out (or out), stderr to f->err.
 * Returns the exit code; fails when it takes longer than ms. */
static int
cli_to(fx_t *f, const char *out, long ms, const char *const *args)
{
    const char *argv[MAX_ARGS];
    size_t n = 0;
    argv[n++] = EXCERPT_CLI_BIN;
    for (size_t i = 0; args[i]; i++) {
        assert_true(n < MAX_ARGS - 1);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    hx_proc_args(&f->cli, argv);
    snprintf(f->cli.log, sizeof f->cli.log, "%s", out ? out : f->out);
    snprintf(f->cli.err, sizeof f->cli.err, "%s", f->err);
    f->cli.fresh = true;
    hx_spawn(&f->cli);
    int code = hx_wait_exit(&f->cli, (int)ms);
    if (code == -1) {
        hx_kill(&f->cli, SIGKILL);
        fail_msg("excerpt %s took longer than %ld ms", args[0], ms);
    }
    return code;
}

static int
cli(fx_t *f, const char *const *args)
{
    return cli_to(f, NULL, WAIT_MS, args);
}

/* JSON lines of path, parsed; *n gets the count (caller json_decref()s
 * each and frees the array). */
static json_t **
json_lines(const char *path, size_t *n)
{
    char *text = slurp(path);
    size_t cap = 16, k = 0;
    json_t **v = malloc(cap * sizeof *v);
    assert_non_null(v);
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        json_error_t e;
        json_t *o = json_loads(line, 0, &e);
        if (!o)
            fail_msg("%s: not JSON: %s", path, line);
        if (k == cap) {
            cap *= 2;
            v = realloc(v, cap * sizeof *v);
            assert_non_null(v);
        }
        v[k++] = o;
    }
    free(text);
    *n = k;
    return v;
}

static void
free_lines(json_t **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(v[i]);
    free(v);
}

static uint64_t
jint(json_t *o, const char *k)
{
    return (uint64_t)json_integer_value(json_object_get(o, k));
}

static void
start_all(fx_t *f, int n)
{
    start_broker(f);
    start_worker(f);
    submit_range(f, 0, n);
    WAIT_FOR(last_seq(f) == (uint64_t)n);
}

/* Entity queries: every page in job id order, each job once, the pages
 * joined equal the whole; the library pages the same way. */
static void
test_query_entity_pages(void **state)
{
    fx_t *f = *state;
    start_all(f, 30);
    const char *all[] = { "query",    "--endpoint", f->fe, "--entity",
                          "  TOMSK ", "--type",     "GPE", "--limit",
                          "0",        NULL };
    assert_int_equal(cli(f, all), 0);
    size_t n = 0;
    json_t **v = json_lines(f->out, &n);
    assert_int_equal(n, 15);
    for (size_t i = 1; i < n; i++)
        assert_true(jint(v[i], "job_id") > jint(v[i - 1], "job_id"));
    free_lines(v, n);
    /* by pages of 4 through the CLI's --after token */
    char after[32] = "0";
    size_t total = 0;
    for (int page = 0; page < 10; page++) {
        const char *args[] = { "query", "--endpoint", f->fe, "--entity",
                               "tomsk", "--limit",    "4",   "--after",
                               after,   NULL };
        assert_int_equal(cli(f, args), 0);
        v = json_lines(f->out, &n);
        total += n;
        free_lines(v, n);
        char *err = slurp(f->err);
        char *tok = strstr(err, "next: --after ");
        if (!tok) {
            free(err);
            break;
        }
        snprintf(after, sizeof after, "%llu", strtoull(tok + 14, NULL, 10));
        free(err);
    }
    assert_int_equal(total, 15);
    /* the library, pages of 4 */
    wire_query_t q = { .entity = "Omsk", .limit = 4 };
    total = 0;
    uint64_t prev = 0;
    for (int page = 0; page < 10; page++) {
        wire_msg_t rep;
        assert_int_equal(client_query(f->cl, &q, &rep), ERR_OK);
        for (size_t i = 0; i < rep.u.query_reply.n; i++) {
            assert_true(rep.u.query_reply.hits[i].job_id > prev);
            prev = rep.u.query_reply.hits[i].job_id;
            assert_true(rep.u.query_reply.hits[i].seq > 0);
        }
        total += rep.u.query_reply.n;
        q.after = rep.u.query_reply.next;
        wire_msg_release(&rep);
        if (!q.after)
            break;
    }
    assert_int_equal(total, 15);
    /* refused terms: both kinds, or min above max */
    wire_query_t bad = { .entity = "Omsk", .figure = 2 };
    wire_msg_t rep;
    assert_int_equal(client_query(f->cl, &bad, &rep), ERR_INVAL);
    assert_int_equal(client_last_code(f->cl), WIRE_CODE_INVALID);
    wire_query_t bad2 = {
        .figure = 2, .has_min = true, .min = 5, .has_max = true, .max = 1
    };
    assert_int_equal(client_query(f->cl, &bad2, &rep), ERR_INVAL);
    assert_non_null(strstr(client_last_error(f->cl), "min is above max"));
}

/* Figure queries: type, unit and bounds; only matching figures listed;
 * the same bytes from the broker and read-only, and read-only still
 * works with the broker killed; no broker and no data dir fails fast. */
static void
test_query_figures_and_read_only(void **state)
{
    fx_t *f = *state;
    start_all(f, 30);
    char bout[256], rout[256];
    snprintf(bout, sizeof bout, "%s/broker.json", f->dir);
    snprintf(rout, sizeof rout, "%s/ro.json", f->dir);
    const char *q[] = { "query",     "--endpoint", f->fe,   "--data-dir",
                        f->data,     "--figure",   "money", "--unit",
                        "RUB",       "--min",      "110e6", "--max",
                        "119000000", NULL };
    assert_int_equal(cli_to(f, bout, WAIT_MS, q), 0);
    size_t n = 0;
    json_t **v = json_lines(bout, &n);
    assert_int_equal(n, 10);
    for (size_t i = 0; i < n; i++) {
        json_t *figs = json_object_get(v[i], "figures");
        assert_int_equal(json_array_size(figs), 1);
        json_t *fig = json_array_get(figs, 0);
        double val = json_number_value(json_object_get(fig, "value"));
        assert_true(val >= 110e6 && val <= 119e6);
        assert_string_equal(json_string_value(json_object_get(fig, "unit")),
                            "RUB");
    }
    free_lines(v, n);
    /* read-only: the same bytes, for query and get */
    const char *qr[] = { "query",     "--endpoint",  f->fe,   "--data-dir",
                         f->data,     "--figure",    "money", "--unit",
                         "RUB",       "--min",       "110e6", "--max",
                         "119000000", "--read-only", NULL };
    assert_int_equal(cli_to(f, rout, WAIT_MS, qr), 0);
    char *a = slurp(bout), *b = slurp(rout);
    assert_string_equal(a, b);
    free(a);
    free(b);
    const char *g[] = { "get",   "--endpoint", f->fe,    "--data-dir",
                        f->data, "7",          "--text", NULL };
    const char *gr[] = { "get",        "--endpoint",  f->fe,
                         "--data-dir", f->data,       "7",
                         "--text",     "--read-only", NULL };
    assert_int_equal(cli_to(f, bout, WAIT_MS, g), 0);
    assert_int_equal(cli_to(f, rout, WAIT_MS, gr), 0);
    a = slurp(bout);
    b = slurp(rout);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "\"text\""));
    free(a);
    free(b);
    /* the broker gone: stats, get, query read the store, at once */
    client_destroy(&f->cl);
    hx_kill(&f->worker, SIGKILL);
    hx_kill(&f->broker, SIGKILL);
    const char *st[] = { "stats", "--endpoint", f->fe, "--data-dir",
                         f->data, "--json",     NULL };
    uint64_t t0 = hx_now_ms();
    assert_int_equal(cli(f, st), 0);
    assert_true(hx_now_ms() - t0 < 10000);
    char *err = slurp(f->err);
    assert_non_null(strstr(err, "read-only"));
    free(err);
    v = json_lines(f->out, &n);
    assert_int_equal(n, 1);
    assert_int_equal(jint(v[0], "last_seq"), 30);
    assert_int_equal(jint(json_object_get(v[0], "jobs"), "done"), 30);
    free_lines(v, n);
    assert_int_equal(cli_to(f, rout, WAIT_MS, q), 0);
    v = json_lines(rout, &n);
    assert_int_equal(n, 10);
    free_lines(v, n);
    /* no broker and no data dir: said at once, exit 3 */
    const char *none[] = { "query",    "--endpoint", f->fe,
                           "--entity", "Omsk",       NULL };
    assert_int_equal(cli_to(f, NULL, 10000, none), 3);
    err = slurp(f->err);
    assert_non_null(strstr(err, "no broker is running"));
    free(err);
}

/* Backup while submits keep coming, restore into a new data dir, serve
 * it: the copy's seq and results are intact and gap-free. */
static void
test_backup_restore(void **state)
{
    fx_t *f = *state;
    start_all(f, 20);
    /* load: 300 more transcripts from a background `excerpt submit` */
    char in[192];
    snprintf(in, sizeof in, "%s/in", f->dir);
    assert_int_equal(mkdir(in, 0755), 0);
    for (int i = 0; i < 300; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/t%03d.txt", in, i);
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fprintf(fp,
                "Governor Pavel Sokolov: We spent %d million roubles in "
                "Tomsk, load %d.\n",
                500 + i, i);
        fclose(fp);
    }
    const char *sargs[] = { EXCERPT_CLI_BIN, "submit", "--endpoint", f->fe,
                            "--window",      "8",      in,           NULL };
    hx_proc_args(&f->sub, sargs);
    hx_spawn(&f->sub);
    WAIT_FOR(last_seq(f) > 40);
    char bk[192];
    snprintf(bk, sizeof bk, "%s/backup", f->dir);
    const char *b[] = { "backup", "--data-dir", f->data, bk, NULL };
    assert_int_equal(cli(f, b), 0);
    size_t n = 0;
    json_t **v = json_lines(f->out, &n);
    assert_int_equal(n, 1);
    uint64_t seq = jint(v[0], "last_seq");
    free_lines(v, n);
    assert_true(seq >= 40);
    char path[256];
    snprintf(path, sizeof path, "%s/data.mdb", bk);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* a second backup into the same dir is refused */
    assert_int_equal(cli(f, b), 1);
    /* let the load finish, then serve the copy from a new data dir */
    int code = hx_wait_exit(&f->sub, WAIT_MS);
    if (code == -1)
        fail_msg("excerpt submit did not finish");
    assert_int_equal(code, 0);
    WAIT_FOR(last_seq(f) == 320);
    /* results of the original, to compare with */
    client_t *orig = f->cl;
    f->cl = NULL;
    char data2[sizeof f->data];
    snprintf(data2, sizeof data2, "%s/restored", f->dir);
    assert_int_equal(mkdir(data2, 0700), 0);
    char to[256];
    snprintf(to, sizeof to, "%s/data.mdb", data2);
    assert_int_equal(rename(path, to), 0);
    snprintf(f->data, sizeof f->data, "%s", data2);
    snprintf(f->fe, sizeof f->fe, "ipc://%s/fe2.sock", f->dir);
    snprintf(f->be, sizeof f->be, "ipc://%s/be2.sock", f->dir);
    snprintf(f->pub, sizeof f->pub, "ipc://%s/pub2.sock", f->dir);
    start_broker_as(f, &f->broker2);
    assert_int_equal(last_seq(f), seq);
    /* every seq of the copy, gap-free, with the original's bytes */
    uint64_t after = 0;
    while (after < seq) {
        wire_msg_t a, o;
        assert_int_equal(client_since(f->cl, after, 100, true, &a), ERR_OK);
        assert_int_equal(client_since(orig, after, 100, true, &o), ERR_OK);
        assert_true(a.u.since_reply.n > 0);
        for (size_t i = 0; i < a.u.since_reply.n; i++) {
            const wire_committed_t *x = &a.u.since_reply.items[i];
            const wire_committed_t *y = &o.u.since_reply.items[i];
            if (x->seq > seq)
                fail_msg("the copy holds seq %llu past its last %llu",
                         (unsigned long long)x->seq, (unsigned long long)seq);
            assert_int_equal(x->seq, after + 1);
            assert_int_equal(x->job_id, y->job_id);
            assert_int_equal(x->result_len, y->result_len);
            assert_memory_equal(x->result, y->result, x->result_len);
            after = x->seq;
        }
        wire_msg_release(&a);
        wire_msg_release(&o);
    }
    client_destroy(&orig);
    hx_proc_free(&f->broker);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_query_entity_pages, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_query_figures_and_read_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_backup_restore, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
