/*
 * test_pyexamples: examples/python/scraper.py and subscriber.py against a
 * real excerpt-broker and excerpt-worker: the scraper retries QUEUE_FULL
 * refusals (Rejected.retry_after_ms) until every file is accepted once;
 * the subscriber delivers every seq once, keeps its cursor file, and
 * restarted while the broker is down waits for it and resumes after its
 * cursor. Runs /usr/bin/python3 (python3-zmq, python3-protobuf, protoc).
 * A second run does it over TCP on 127.0.0.1 with CURVE: a broker with a
 * key and an allow-list, the worker and the examples with key files; a
 * stranger's key and a client key on the publisher are refused clearly.
 */
#include "../client/client.h"
#include "../client/consumer.h"
#include "../common/err.h"
#include "../proto/curve.h"
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define PY "/usr/bin/python3"
#define EXAMPLES EXCERPT_SOURCE_DIR "/examples/python/"

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
    char cur[192];     /* tail's cursor file */
    hx_proc_t broker;  /* excerpt-broker */
    hx_proc_t worker;  /* excerpt-worker */
    hx_proc_t tail;    /* subscriber.py */
    hx_proc_t scraper; /* scraper.py */
    client_t *cl;      /* submits */
    int next_text;     /* texts made so far */
    const char *key;   /* examples' key name in keys/ (NULL: no CURVE) */
    char keys[128];    /* key pairs, for the CURVE run */
    char allow[128];   /* the broker's allow-list directory */
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
    hx_tempdir(f->dir, sizeof f->dir, "test_pyex");
    snprintf(f->data, sizeof f->data, "%s/data", f->dir);
    snprintf(f->fe, sizeof f->fe, "ipc://%s/fe.sock", f->dir);
    snprintf(f->be, sizeof f->be, "ipc://%s/be.sock", f->dir);
    snprintf(f->pub, sizeof f->pub, "ipc://%s/pub.sock", f->dir);
    snprintf(f->cur, sizeof f->cur, "%s/cursor", f->dir);
    const char *names[] = { "broker", "worker", "subscriber", "scraper" };
    hx_proc_t *procs[] = { &f->broker, &f->worker, &f->tail, &f->scraper };
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
    hx_proc_free(&f->tail);
    hx_proc_free(&f->scraper);
    hx_proc_free(&f->worker);
    hx_proc_free(&f->broker);
    hx_rmtree(f->dir);
    free(f);
    return 0;
}

static void
start_broker(fx_t *f)
{
    const char *extra[] = { "--max-queued", "5", NULL };
    hx_broker_args(&f->broker, EXCERPT_BROKER_BIN, f->data, f->fe, f->be,
                   f->pub, extra);
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

/* Append "--key-file K --broker-key-file B" for f->key to args at *k. */
static void
add_key_args(fx_t *f, const char **args, size_t *k, char key[256],
             char bkey[256])
{
    if (!f->key)
        return;
    snprintf(key, 256, "%s/%s.key", f->keys, f->key);
    snprintf(bkey, 256, "%s/broker.pub", f->keys);
    assert_true(*k + 4 < MAX_ARGS);
    args[(*k)++] = "--key-file";
    args[(*k)++] = key;
    args[(*k)++] = "--broker-key-file";
    args[(*k)++] = bkey;
}

static void
start_subscriber(fx_t *f, const char *until)
{
    const char *args[] = { PY,
                           EXAMPLES "subscriber.py",
                           "--endpoint",
                           f->fe,
                           "--publisher",
                           f->pub,
                           "--cursor",
                           f->cur,
                           "--until",
                           until,
                           "--timeout-ms",
                           "500",
                           NULL };
    const char *full[MAX_ARGS];
    size_t k = 0;
    char key[256], bkey[256];
    for (; args[k]; k++)
        full[k] = args[k];
    add_key_args(f, full, &k, key, bkey);
    full[k] = NULL;
    hx_proc_args(&f->tail, full);
    hx_spawn(&f->tail);
}

/* Write n files first..first+n-1 into dir; the scraper's argv after its
 * flags. */
static void
start_scraper(fx_t *f, int first, int n)
{
    const char *args[MAX_ARGS] = { PY,    EXAMPLES "scraper.py", "--endpoint",
                                   f->fe, "--max-wait-s",        "120" };
    size_t k = 6;
    char key[256], bkey[256];
    add_key_args(f, args, &k, key, bkey);
    static char paths[MAX_ARGS][256];
    for (int i = first; i < first + n; i++) {
        assert_true(k < MAX_ARGS - 1);
        snprintf(paths[k], sizeof paths[k], "%s/t%02d.txt", f->dir, i);
        FILE *fp = fopen(paths[k], "w");
        assert_non_null(fp);
        fprintf(fp,
                "Minister Anna Petrova: Revenues rose by %d percent to %d "
                "million roubles in Tomsk.\n",
                1 + i, 100 + i);
        fclose(fp);
        args[k] = paths[k];
        k++;
    }
    args[k] = NULL;
    hx_proc_args(&f->scraper, args);
    hx_spawn(&f->scraper);
}

/* Wait for p to exit by itself: its exit code; fails after WAIT_MS. */
static int
wait_exit(hx_proc_t *p)
{
    int code = hx_wait_exit(p, WAIT_MS);
    if (code == -1)
        fail_msg("%s did not finish", p->argv[1]);
    return code;
}

static json_t **
json_lines(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "r");
    size_t cap = 16, k = 0;
    json_t **v = malloc(cap * sizeof *v);
    assert_non_null(v);
    char *line = NULL;
    size_t lcap = 0;
    while (fp && getline(&line, &lcap, fp) > 0) {
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
    free(line);
    if (fp)
        fclose(fp);
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

static void
assert_seqs(const char *path, uint64_t first, uint64_t last)
{
    size_t n = 0;
    json_t **v = json_lines(path, &n);
    assert_int_equal(n, last - first + 1);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(json_integer_value(json_object_get(v[i], "seq")),
                         first + i);
    free_lines(v, n);
}

static void
test_python_scraper_and_subscriber(void **state)
{
    fx_t *f = *state;
    if (access(PY, X_OK) != 0)
        fail_msg(PY " is missing (CI installs python3-zmq, python3-protobuf, "
                    "protobuf-compiler)");
    /* no worker yet and max-queued 5: the scraper meets QUEUE_FULL */
    start_broker(f);
    start_subscriber(f, "12");
    start_scraper(f, 0, 12);
    WAIT_FOR(hx_count_in_file(f->scraper.err, "QUEUE_FULL") > 0);
    start_worker(f);
    assert_int_equal(wait_exit(&f->scraper), 0);
    size_t n = 0;
    json_t **v = json_lines(f->scraper.log, &n);
    assert_int_equal(n, 12);
    int retried = 0;
    for (size_t i = 0; i < n; i++) {
        assert_false(json_is_true(json_object_get(v[i], "duplicate")));
        retried += json_integer_value(json_object_get(v[i], "retries")) > 0;
    }
    assert_true(retried > 0);
    free_lines(v, n);
    assert_int_equal(wait_exit(&f->tail), 0);
    assert_seqs(f->tail.log, 1, 12);
    uint64_t cur = 0;
    assert_int_equal(consumer_cursor_load(f->cur, &cur), ERR_OK);
    assert_int_equal(cur, 12);
    /* the subscriber restarted while the broker is down: it waits, then
     * resumes after its cursor */
    hx_kill(&f->broker, SIGKILL);
    snprintf(f->tail.log, sizeof f->tail.log, "%s/subscriber2.out", f->dir);
    start_subscriber(f, "15");
    WAIT_FOR(hx_count_in_file(f->tail.err, "broker unavailable") > 0);
    start_broker(f);
    snprintf(f->scraper.log, sizeof f->scraper.log, "%s/scraper2.out", f->dir);
    start_scraper(f, 12, 3);
    assert_int_equal(wait_exit(&f->scraper), 0);
    assert_int_equal(wait_exit(&f->tail), 0);
    assert_seqs(f->tail.log, 13, 15);
}

/* ------------------------------------------------------------ CURVE */

/* The broker on fresh TCP ports with its key and the allow-list; ports
 * taken by someone else meanwhile are retried with new ones. */
static void
start_secure_broker(fx_t *f)
{
    char key[256];
    snprintf(key, sizeof key, "%s/broker.key", f->keys);
    for (int attempt = 0; attempt < 5; attempt++) {
        snprintf(f->fe, sizeof f->fe, "tcp://127.0.0.1:%d", hx_free_port());
        snprintf(f->be, sizeof f->be, "tcp://127.0.0.1:%d", hx_free_port());
        snprintf(f->pub, sizeof f->pub, "tcp://127.0.0.1:%d", hx_free_port());
        const char *args[] = { EXCERPT_BROKER_BIN,
                               "--data-dir",
                               f->data,
                               "--frontend",
                               f->fe,
                               "--backend",
                               f->be,
                               "--publisher",
                               f->pub,
                               "--key-file",
                               key,
                               "--allow",
                               f->allow,
                               NULL };
        hx_proc_args(&f->broker, args);
        int before = hx_count_in_file(f->broker.err, "listening");
        hx_spawn(&f->broker);
        uint64_t dl = hx_now_ms() + WAIT_MS;
        while (hx_count_in_file(f->broker.err, "listening") == before) {
            if (!hx_alive(&f->broker))
                break;
            if (hx_now_ms() > dl)
                fail_msg("the broker did not start (see %s)", f->broker.err);
            usleep(10000);
        }
        if (f->broker.pid)
            return;
        if (hx_count_in_file(f->broker.err, "Address already in use") == 0)
            fail_msg("the broker exited with %d (see %s)", f->broker.status,
                     f->broker.err);
    }
    fail_msg("no free ports for the broker");
}

static void
test_python_examples_with_curve(void **state)
{
    fx_t *f = *state;
    if (access(PY, X_OK) != 0)
        fail_msg(PY " is missing (CI installs python3-zmq, python3-protobuf, "
                    "protobuf-compiler)");
    snprintf(f->keys, sizeof f->keys, "%s/keys", f->dir);
    snprintf(f->allow, sizeof f->allow, "%s/allow", f->dir);
    assert_int_equal(mkdir(f->keys, 0700), 0);
    assert_int_equal(mkdir(f->allow, 0700), 0);
    hx_make_key(f->keys, f->allow, "broker", NULL);
    hx_make_key(f->keys, f->allow, "c1", "client");
    hx_make_key(f->keys, f->allow, "n1", "consumer");
    hx_make_key(f->keys, f->allow, "w1", "worker");
    hx_make_key(f->keys, f->allow, "x1", NULL); /* a stranger */
    start_secure_broker(f);
    char wkey[256], bkey[256];
    snprintf(wkey, sizeof wkey, "%s/w1.key", f->keys);
    snprintf(bkey, sizeof bkey, "%s/broker.pub", f->keys);
    const char *wargs[] = { EXCERPT_WORKER_BIN,
                            "--broker",
                            f->be,
                            "--threads",
                            "1",
                            "--key-file",
                            wkey,
                            "--broker-key-file",
                            bkey,
                            NULL };
    hx_proc_args(&f->worker, wargs);
    hx_spawn(&f->worker);

    /* the consumer follows, the client submits: both over CURVE */
    f->key = "n1";
    start_subscriber(f, "3");
    f->key = "c1";
    start_scraper(f, 0, 3);
    assert_int_equal(wait_exit(&f->scraper), 0);
    size_t n = 0;
    json_t **v = json_lines(f->scraper.log, &n);
    assert_int_equal(n, 3);
    free_lines(v, n);
    assert_int_equal(wait_exit(&f->tail), 0);
    assert_seqs(f->tail.log, 1, 3);

    /* a key not in the allow-list: refused at once and said so */
    f->key = "x1";
    snprintf(f->scraper.log, sizeof f->scraper.log, "%s/x1.out", f->dir);
    snprintf(f->scraper.err, sizeof f->scraper.err, "%s/x1.err", f->dir);
    start_scraper(f, 3, 1);
    assert_int_equal(wait_exit(&f->scraper), 2);
    assert_int_equal(hx_count_in_file(f->scraper.err,
                                      "the broker refused this key on the "
                                      "frontend"),
                     1);
    assert_int_equal(hx_count_in_file(f->scraper.log, "job_id"), 0);
    /* a client key may not subscribe: the publisher refuses it */
    f->key = "c1";
    snprintf(f->tail.log, sizeof f->tail.log, "%s/c1sub.out", f->dir);
    snprintf(f->tail.err, sizeof f->tail.err, "%s/c1sub.err", f->dir);
    start_subscriber(f, "100");
    assert_int_equal(wait_exit(&f->tail), 2);
    assert_int_equal(hx_count_in_file(f->tail.err,
                                      "the broker refused this key "
                                      "on the publisher"),
                     1);
    /* without keys the examples get nothing from a CURVE broker */
    f->key = NULL;
    snprintf(f->scraper.log, sizeof f->scraper.log, "%s/plain.out", f->dir);
    snprintf(f->scraper.err, sizeof f->scraper.err, "%s/plain.err", f->dir);
    const char *pargs[] = { PY,
                            EXAMPLES "excerpt_client.py",
                            "--endpoint",
                            f->fe,
                            "--timeout-ms",
                            "1000",
                            "stats",
                            NULL };
    hx_proc_args(&f->scraper, pargs);
    hx_spawn(&f->scraper);
    assert_int_equal(wait_exit(&f->scraper), 3);
    assert_true(hx_count_in_file(f->broker.err, "auth refused") >= 2);

    /* the consumer's key removed from the allow-list and reloaded: the
     * running subscriber stops with exit 2 and says why */
    f->key = "n1";
    snprintf(f->tail.log, sizeof f->tail.log, "%s/n1sub.out", f->dir);
    snprintf(f->tail.err, sizeof f->tail.err, "%s/n1sub.err", f->dir);
    assert_int_equal(unlink(f->cur), 0); /* replay from seq 1 */
    start_subscriber(f, "100");
    WAIT_FOR(hx_count_in_file(f->tail.log, "\"seq\": 3") == 1);
    char pub[256];
    snprintf(pub, sizeof pub, "%s/n1.pub", f->allow);
    assert_int_equal(unlink(pub), 0);
    assert_int_equal(kill(f->broker.pid, SIGHUP), 0);
    assert_int_equal(wait_exit(&f->tail), 2);
    assert_int_equal(
        hx_count_in_file(f->tail.err, "the broker refused this key"), 1);
    assert_int_equal(hx_count_in_file(f->broker.err, "allow-list reloaded"), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_python_scraper_and_subscriber,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_python_examples_with_curve, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
