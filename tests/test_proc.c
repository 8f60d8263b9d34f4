/*
 * test_proc: proc_install_signals installs exactly what it is asked for
 * (stop on SIGTERM/SIGINT, the SIGHUP hook only when given, SIGPIPE
 * ignored only when asked, no SA_RESTART) and refuses a missing stop
 * handler; proc_block_stop_signals holds a stop signal pending;
 * proc_tune_malloc keeps a 4 MiB block off mmap; proc_log_cpu logs its
 * line. Real signals raised at this process.
 */
#include "common/err.h"
#include "common/log.h"
#include "common/proc.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__GLIBC__) /* set by the headers above */
#include <malloc.h>
#endif

#include <cmocka.h>

static volatile sig_atomic_t stops, hups, last_sig;

static void
on_stop(int sig)
{
    stops++;
    last_sig = sig;
}

static void
on_hup(int sig)
{
    hups++;
    last_sig = sig;
}

/* The handler installed for sig now. */
static struct sigaction
current(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    assert_int_equal(sigaction(sig, NULL, &sa), 0);
    return sa;
}

static void
set_disposition(int sig, void (*h)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(sig, &sa, NULL), 0);
}

static int
reset(void **state)
{
    (void)state;
    stops = hups = last_sig = 0;
    set_disposition(SIGTERM, SIG_DFL);
    set_disposition(SIGINT, SIG_DFL);
    set_disposition(SIGHUP, SIG_DFL);
    set_disposition(SIGPIPE, SIG_DFL);
    return 0;
}

static void
test_daemon_signals(void **state)
{
    (void)state;
    const proc_signals_t s = { .on_stop = on_stop,
                               .on_hup = on_hup,
                               .ignore_pipe = true };
    assert_int_equal(proc_install_signals(&s), ERR_OK);
    assert_ptr_equal(current(SIGTERM).sa_handler, on_stop);
    assert_ptr_equal(current(SIGINT).sa_handler, on_stop);
    assert_ptr_equal(current(SIGHUP).sa_handler, on_hup);
    assert_ptr_equal(current(SIGPIPE).sa_handler, SIG_IGN);
    /* blocking calls must see EINTR so loops notice the stop */
    assert_false(current(SIGTERM).sa_flags & SA_RESTART);
    assert_false(current(SIGHUP).sa_flags & SA_RESTART);

    assert_int_equal(raise(SIGTERM), 0);
    assert_int_equal(stops, 1);
    assert_int_equal(last_sig, SIGTERM);
    assert_int_equal(raise(SIGINT), 0);
    assert_int_equal(stops, 2);
    assert_int_equal(last_sig, SIGINT);
    assert_int_equal(raise(SIGHUP), 0);
    assert_int_equal(hups, 1);
    assert_int_equal(stops, 2);
    assert_int_equal(raise(SIGPIPE), 0); /* ignored: still here */
    assert_int_equal(stops, 2);
    assert_int_equal(hups, 1);
}

/* The CLI's set: SIGHUP and SIGPIPE keep what they had. */
static void
test_stop_only_leaves_the_rest(void **state)
{
    (void)state;
    set_disposition(SIGHUP, SIG_IGN);
    const proc_signals_t s = { .on_stop = on_stop };
    assert_int_equal(proc_install_signals(&s), ERR_OK);
    assert_ptr_equal(current(SIGTERM).sa_handler, on_stop);
    assert_ptr_equal(current(SIGINT).sa_handler, on_stop);
    assert_ptr_equal(current(SIGHUP).sa_handler, SIG_IGN);
    assert_ptr_equal(current(SIGPIPE).sa_handler, SIG_DFL);
}

static void
test_missing_stop_handler_refused(void **state)
{
    (void)state;
    const proc_signals_t s = { .on_hup = on_hup, .ignore_pipe = true };
    assert_int_equal(proc_install_signals(&s), ERR_INVAL);
    assert_int_equal(proc_install_signals(NULL), ERR_INVAL);
    /* nothing changed */
    assert_ptr_equal(current(SIGTERM).sa_handler, SIG_DFL);
    assert_ptr_equal(current(SIGHUP).sa_handler, SIG_DFL);
    assert_ptr_equal(current(SIGPIPE).sa_handler, SIG_DFL);
}

static void
test_block_stop_signals(void **state)
{
    (void)state;
    sigset_t old, pending;
    assert_int_equal(sigprocmask(SIG_SETMASK, NULL, &old), 0);
    const proc_signals_t s = { .on_stop = on_stop };
    assert_int_equal(proc_install_signals(&s), ERR_OK);
    assert_int_equal(proc_block_stop_signals(), ERR_OK);
    assert_int_equal(raise(SIGTERM), 0);
    assert_int_equal(stops, 0);
    assert_int_equal(sigpending(&pending), 0);
    assert_int_equal(sigismember(&pending, SIGTERM), 1);
    /* unblocked, the pending signal is delivered before this returns */
    assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
    assert_int_equal(stops, 1);
    assert_int_equal(last_sig, SIGTERM);
}

static void
test_tune_malloc(void **state)
{
    (void)state;
    proc_tune_malloc();
#if defined(__GLIBC__)
    /* glibc's first threshold is 128 KiB: without the tuning this block
     * would be an mmap of its own */
    struct mallinfo2 before = mallinfo2();
    char *p = malloc(4u << 20);
    assert_non_null(p);
    memset(p, 1, 4u << 20);
    assert_int_equal(mallinfo2().hblks, before.hblks);
    free(p);
#endif
}

static void
test_log_cpu(void **state)
{
    (void)state;
    char path[] = "/tmp/test_proc_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    log_set_level(LOG_LEVEL_INFO);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    proc_log_cpu();
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    char buf[512] = { 0 };
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "cpu user_ms="));
    assert_non_null(strstr(buf, " sys_ms="));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_daemon_signals, reset, reset),
        cmocka_unit_test_setup_teardown(test_stop_only_leaves_the_rest, reset,
                                        reset),
        cmocka_unit_test_setup_teardown(test_missing_stop_handler_refused,
                                        reset, reset),
        cmocka_unit_test_setup_teardown(test_block_stop_signals, reset, reset),
        cmocka_unit_test(test_tune_malloc),
        cmocka_unit_test(test_log_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
