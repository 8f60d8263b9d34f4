/*
 * test_harness: the shared test harness (harness.h) keeps its promises.
 * This program runs itself as a child in a "victim" mode whose one test
 * fails half-way, with a socket that still has a message queued for a
 * peer that never comes and a daemon-like child running; the child must
 * fail at once (exit non-zero within seconds, never hang in
 * zmq_ctx_term) and leave no process behind. A missing program must
 * fail, not skip.
 */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

typedef struct fx {
    char dir[64];      /* temp dir */
    void *ctx;         /* ZeroMQ context */
    hx_proc_t sleeper; /* a child that would outlive a careless teardown */
} fx_t;

static int
setup(void **state)
{
    hx_setup();
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    hx_tempdir(f->dir, sizeof f->dir, "test_harness");
    f->ctx = zmq_ctx_new();
    assert_non_null(f->ctx);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx_t *f = *state;
    hx_teardown(&f->ctx);
    hx_rmtree(f->dir);
    free(f);
    return 0;
}

/* ------------------------------------------------------- victim mode */

/* Fails with a queued message on an unconnected socket and a child
 * running; writes the child's pid to the file named by argv. */
static void
victim_fails(void **state)
{
    fx_t *f = *state;
    const char *pidfile = getenv("HX_VICTIM_PIDFILE");
    assert_non_null(pidfile);
    void *s = hx_socket(f->ctx, ZMQ_DEALER, NULL);
    /* linger would keep this message (and zmq_ctx_term) waiting for a
     * peer; the harness set linger 0 and closes the socket */
    char ep[128];
    snprintf(ep, sizeof ep, "ipc://%s/nobody.sock", f->dir);
    assert_int_equal(zmq_connect(s, ep), 0);
    assert_true(zmq_send(s, "hello", 5, ZMQ_DONTWAIT) == 5 || errno == EAGAIN);
    const char *argv[] = { "/bin/sleep", "1000", NULL };
    snprintf(f->sleeper.log, sizeof f->sleeper.log, "%s/sleep.log", f->dir);
    hx_proc_args(&f->sleeper, argv);
    hx_spawn(&f->sleeper);
    FILE *pf = fopen(pidfile, "w");
    assert_non_null(pf);
    fprintf(pf, "%d\n", (int)f->sleeper.pid);
    fclose(pf);
    fail_msg("victim: failing on purpose");
}

static void
victim_missing_bin(void **state)
{
    (void)state;
    hx_require_bin("/nonexistent/excerpt-broker");
}

/* ------------------------------------------------------------- tests */

/* Run this program in victim mode (one test); returns its exit code. */
static int
run_victim(fx_t *f, const char *which, hx_proc_t *p, const char *pidfile)
{
    char self[512];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(n > 0);
    self[n] = 0;
    char env[600];
    snprintf(p->log, sizeof p->log, "%s/%s.log", f->dir, which);
    const char *argv[] = { self, "--victim", which, NULL };
    hx_proc_args(p, argv);
    snprintf(env, sizeof env, "HX_VICTIM_PIDFILE=%s", pidfile);
    hx_proc_setenv(p, env);
    hx_spawn(p);
    int code = hx_wait_exit(p, 20000);
    if (code == -1)
        fail_msg("the failing test hung (still running after 20 s), see %s",
                 p->log);
    return code;
}

static void
test_failure_never_hangs(void **state)
{
    fx_t *f = *state;
    static hx_proc_t v;
    char pidfile[128];
    snprintf(pidfile, sizeof pidfile, "%s/sleeper.pid", f->dir);
    uint64_t t0 = hx_now_ms();
    int code = run_victim(f, "fails", &v, pidfile);
    uint64_t ms = hx_now_ms() - t0;
    assert_int_not_equal(code, 0);
    assert_true(hx_count_in_file(v.log, "failing on purpose") > 0);
    print_message("a failing test with a queued message and a child ended in "
                  "%llu ms, exit %d\n",
                  (unsigned long long)ms, code);
    /* and its child is gone */
    FILE *pf = fopen(pidfile, "r");
    assert_non_null(pf);
    int pid = 0;
    assert_int_equal(fscanf(pf, "%d", &pid), 1);
    fclose(pf);
    assert_true(pid > 0);
    HX_WAIT_FOR(kill(pid, 0) != 0 && errno == ESRCH, 5000);
    hx_proc_free(&v);
}

static void
test_missing_program_fails(void **state)
{
    fx_t *f = *state;
    static hx_proc_t v;
    char pidfile[128];
    snprintf(pidfile, sizeof pidfile, "%s/unused.pid", f->dir);
    int code = run_victim(f, "missing", &v, pidfile);
    assert_int_not_equal(code, 0);
    assert_true(hx_count_in_file(v.log, "/nonexistent/excerpt-broker") > 0);
    assert_int_equal(hx_count_in_file(v.log, "SKIPPED"), 0);
    hx_proc_free(&v);
}

int
main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--victim")) {
        const struct CMUnitTest fails[] = {
            cmocka_unit_test_setup_teardown(victim_fails, setup, teardown),
        };
        const struct CMUnitTest missing[] = {
            cmocka_unit_test_setup_teardown(victim_missing_bin, setup,
                                            teardown),
        };
        if (!strcmp(argv[2], "fails"))
            return cmocka_run_group_tests(fails, NULL, NULL);
        return cmocka_run_group_tests(missing, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failure_never_hangs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_missing_program_fails, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
