/*
 * test_pyclient: the Python example client (examples/python), written from
 * proto/PROTOCOL.md alone, talks to the real excerpt-broker and
 * excerpt-worker processes: submit, get, stats, since, and a rejection.
 * Needs /usr/bin/python3 with python3-zmq, python3-protobuf and protoc;
 * the test is skipped (and says why) when they are missing.
 */
#include "../common/now.h"
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef EXCERPT_BROKER_BIN
#define EXCERPT_BROKER_BIN ""
#endif
#ifndef EXCERPT_WORKER_BIN
#define EXCERPT_WORKER_BIN ""
#endif

#define PY "/usr/bin/python3"
#define CLIENT EXCERPT_SOURCE_DIR "/examples/python/excerpt_client.py"
#define DEADLINE_MS 60000

typedef struct fx {
    char dir[64];     /* temp dir */
    char fe[128];     /* frontend endpoint */
    hx_proc_t broker; /* excerpt-broker */
    hx_proc_t worker; /* excerpt-worker */
} fx_t;

/* Run a shell command, capture up to cap-1 bytes of stdout; exit status. */
static int
run(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
setup(void **state)
{
    hx_setup();
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    hx_tempdir(f->dir, sizeof f->dir, "excerpt-py");
    snprintf(f->fe, sizeof f->fe, "ipc://%s/fe.sock", f->dir);
    char data[128], be[128], pub[128];
    snprintf(data, sizeof data, "%s/data", f->dir);
    snprintf(be, sizeof be, "ipc://%s/be.sock", f->dir);
    snprintf(pub, sizeof pub, "ipc://%s/pub.sock", f->dir);
    snprintf(f->broker.log, sizeof f->broker.log, "%s/broker.log", f->dir);
    snprintf(f->worker.log, sizeof f->worker.log, "%s/worker.log", f->dir);
    const char *bargv[] = {
        EXCERPT_BROKER_BIN, "--data-dir", data,          "--frontend", f->fe,
        "--backend",        be,           "--publisher", pub,          NULL
    };
    const char *wargv[] = { EXCERPT_WORKER_BIN, "--broker", be,
                            "--threads",        "1",        NULL };
    hx_proc_args(&f->broker, bargv);
    hx_proc_args(&f->worker, wargv);
    hx_spawn(&f->broker);
    hx_spawn(&f->worker);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx_t *f = *state;
    hx_teardown(NULL);
    hx_rmtree(f->dir);
    free(f);
    return 0;
}

static bool
python_ready(void)
{
    char out[64];
    return access(PY, X_OK) == 0 &&
           run(PY " -c 'import zmq, google.protobuf' 2>/dev/null && "
                  "command -v protoc >/dev/null && echo ok",
               out, sizeof out) == 0 &&
           strncmp(out, "ok", 2) == 0;
}

static void
test_python_client_round_trip(void **state)
{
    fx_t *f = *state;
    if (!python_ready())
        fail_msg("needs " PY " with python3-zmq, python3-protobuf and protoc "
                 "(protobuf-compiler): ./dev.sh deps installs them");
    char cmd[1024], out[65536];
    uint64_t deadline = now_mono_ms() + DEADLINE_MS;
    /* the broker answers Stats once it is bound */
    snprintf(cmd, sizeof cmd,
             PY " " CLIENT " --endpoint %s --timeout-ms 500 stats 2>/dev/null",
             f->fe);
    while (run(cmd, out, sizeof out) != 0)
        assert_true(now_mono_ms() < deadline);
    assert_non_null(strstr(out, "\"mapLimit\""));

    char sample[256];
    snprintf(sample, sizeof sample, "%s/t.txt", f->dir);
    FILE *fp = fopen(sample, "w");
    assert_non_null(fp);
    fputs("The meeting took place in Kazan.\n"
          "Prime Minister Mikhail Mishustin: Exports to Kazakhstan grew by "
          "7.5 percent to $6.9 billion in 2020.\n"
          "Anna Ivanova: Thank you, Mr Mishustin.\n",
          fp);
    assert_int_equal(fclose(fp), 0);

    snprintf(cmd, sizeof cmd, PY " " CLIENT " --endpoint %s submit %s", f->fe,
             sample);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "\"job_id\": 1"));
    assert_non_null(strstr(out, "\"duplicate\": false"));
    /* the same text again: the same job */
    assert_int_equal(run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "\"job_id\": 1"));
    assert_non_null(strstr(out, "\"duplicate\": true"));

    snprintf(cmd, sizeof cmd, PY " " CLIENT " --endpoint %s get 1", f->fe);
    do {
        assert_true(now_mono_ms() < deadline);
        assert_int_equal(run(cmd, out, sizeof out), 0);
    } while (!strstr(out, "JOB_STATE_DONE"));
    assert_non_null(strstr(out, "\"name\": \"Mikhail Mishustin\""));
    assert_non_null(strstr(out, "\"unit\": \"USD\""));

    snprintf(cmd, sizeof cmd, PY " " CLIENT " --endpoint %s since 0", f->fe);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "{\"seq\": 1, \"job_id\": 1,"));

    /* an empty text is refused with a clear code, exit 1 */
    snprintf(sample, sizeof sample, "%s/empty.txt", f->dir);
    fp = fopen(sample, "w");
    assert_non_null(fp);
    assert_int_equal(fclose(fp), 0);
    snprintf(cmd, sizeof cmd, PY " " CLIENT " --endpoint %s submit %s 2>&1",
             f->fe, sample);
    assert_int_equal(run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "rejected: CODE_INVALID"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_python_client_round_trip, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
