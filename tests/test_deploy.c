/*
 * test_deploy: the shipped deploy/ files work as shipped. The broker and a
 * worker start from deploy/config/broker.conf and worker.conf (only the
 * paths and endpoints overridden with flags, to a temp dir and free ports
 * on 127.0.0.1) with CURVE keys, and the worker joins with its key; the
 * container entrypoint hands a mounted, group-readable secret key to the
 * program as a private 0600 copy; tests/check_deploy.py parses every
 * Kubernetes manifest (python3-yaml) and checks the key Secrets, the
 * NetworkPolicy and the systemd units.
 */
#include "../common/err.h"
#include "../proto/curve.h"
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef EXCERPT_BROKER_BIN
#define EXCERPT_BROKER_BIN ""
#endif
#ifndef EXCERPT_WORKER_BIN
#define EXCERPT_WORKER_BIN ""
#endif

#define PY "/usr/bin/python3"
#define DEPLOY EXCERPT_SOURCE_DIR "/deploy/"
#define WAIT_MS 60000 /* generous: loaded machines and sanitizer builds */

typedef struct fx {
    char dir[64];     /* temp dir */
    char keys[128];   /* key pairs */
    char allow[128];  /* the broker's allow-list directory */
    char log[128];    /* broker log */
    char wlog[128];   /* worker log */
    hx_proc_t broker; /* excerpt-broker, output in log */
    hx_proc_t worker; /* excerpt-worker, output in wlog */
    hx_proc_t check;  /* check_deploy.py */
} fx_t;

static int
setup(void **state)
{
    hx_setup();
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *state = f;
    hx_tempdir(f->dir, sizeof f->dir, "test_deploy");
    snprintf(f->keys, sizeof f->keys, "%s/keys", f->dir);
    snprintf(f->allow, sizeof f->allow, "%s/allow", f->dir);
    snprintf(f->log, sizeof f->log, "%s/broker.log", f->dir);
    snprintf(f->wlog, sizeof f->wlog, "%s/worker.log", f->dir);
    snprintf(f->broker.log, sizeof f->broker.log, "%s", f->log);
    snprintf(f->worker.log, sizeof f->worker.log, "%s", f->wlog);
    snprintf(f->check.log, sizeof f->check.log, "%s/check_deploy.out", f->dir);
    assert_int_equal(mkdir(f->keys, 0700), 0);
    assert_int_equal(mkdir(f->allow, 0700), 0);
    return 0;
}

static int
teardown(void **state)
{
    fx_t *f = *state;
    if (!f)
        return 0;
    hx_teardown(NULL);
    hx_proc_free(&f->check);
    hx_proc_free(&f->worker);
    hx_proc_free(&f->broker);
    hx_rmtree(f->dir);
    free(f);
    return 0;
}

/* The shipped configs, keys on, paths and endpoints moved to the test's:
 * the broker says CURVE is on and the worker joins with its key. */
static void
test_shipped_configs_run_with_keys(void **state)
{
    fx_t *f = *state;
    hx_require_bin(EXCERPT_BROKER_BIN);
    hx_require_bin(EXCERPT_WORKER_BIN);
    hx_make_key(f->keys, f->allow, "broker", NULL);
    hx_make_key(f->keys, f->allow, "w1", "worker");
    char data[128], bkey[192], bpub[192], wkey[192];
    char fe[64], be[64], pub[64];
    snprintf(data, sizeof data, "%s/data", f->dir);
    snprintf(bkey, sizeof bkey, "%s/broker.key", f->keys);
    snprintf(bpub, sizeof bpub, "%s/broker.pub", f->keys);
    snprintf(wkey, sizeof wkey, "%s/w1.key", f->keys);
    for (int attempt = 0; attempt < 5 && !f->broker.pid; attempt++) {
        snprintf(fe, sizeof fe, "tcp://127.0.0.1:%d", hx_free_port());
        snprintf(be, sizeof be, "tcp://127.0.0.1:%d", hx_free_port());
        snprintf(pub, sizeof pub, "tcp://127.0.0.1:%d", hx_free_port());
        const char *args[] = { EXCERPT_BROKER_BIN,
                               "--config",
                               DEPLOY "config/broker.conf",
                               "--data-dir",
                               data,
                               "--frontend",
                               fe,
                               "--backend",
                               be,
                               "--publisher",
                               pub,
                               "--metrics",
                               "",
                               "--map-limit",
                               "1G",
                               "--key-file",
                               bkey,
                               "--allow",
                               f->allow,
                               NULL };
        int before = hx_count_in_file(f->log, "listening");
        hx_proc_args(&f->broker, args);
        hx_spawn(&f->broker);
        uint64_t dl = hx_now_ms() + WAIT_MS;
        while (hx_count_in_file(f->log, "listening") == before) {
            if (!hx_alive(&f->broker)) {
                if (!hx_count_in_file(f->log, "Address already in use"))
                    fail_msg("the broker exited (see %s)", f->log);
                break;
            }
            if (hx_now_ms() > dl)
                fail_msg("the broker did not start (see %s)", f->log);
            usleep(10000);
        }
    }
    assert_true(f->broker.pid > 0);
    assert_int_equal(hx_count_in_file(f->log, "broker CURVE on"), 1);
    const char *wargs[] = { EXCERPT_WORKER_BIN,
                            "--config",
                            DEPLOY "config/worker.conf",
                            "--broker",
                            be,
                            "--threads",
                            "1",
                            "--key-file",
                            wkey,
                            "--broker-key-file",
                            bpub,
                            NULL };
    hx_proc_args(&f->worker, wargs);
    hx_spawn(&f->worker);
    uint64_t dl = hx_now_ms() + WAIT_MS;
    while (!hx_count_in_file(f->log, "broker worker joined")) {
        if (hx_now_ms() > dl)
            fail_msg("the worker did not join (see %s, %s)", f->log, f->wlog);
        usleep(10000);
    }
    assert_int_equal(hx_count_in_file(f->log, "auth refused"), 0);
}

/* Write path with text and mode. */
static void
write_file(const char *path, const char *text, mode_t mode)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_true(fputs(text, fp) >= 0);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* The entrypoint with its /usr/local/bin programs replaced by a stub that
 * prints its environment: a mounted broker.key that is group-readable
 * reaches the broker as a 0600 copy in the run dir, the allow-list in
 * place; a variable set already is kept. */
static void
test_entrypoint_hands_over_keys(void **state)
{
    fx_t *f = *state;
    char bin[128], mnt[128], run[128], script[192], out[192], cmd[1024];
    snprintf(bin, sizeof bin, "%s/bin", f->dir);
    snprintf(mnt, sizeof mnt, "%s/mnt", f->dir);
    snprintf(run, sizeof run, "%s/run", f->dir);
    snprintf(script, sizeof script, "%s/entrypoint.sh", f->dir);
    snprintf(out, sizeof out, "%s/env.out", f->dir);
    assert_int_equal(mkdir(bin, 0700), 0);
    assert_int_equal(mkdir(mnt, 0755), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/allow", mnt);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/broker.key", mnt);
    write_file(path, "secret = stub\n", 0440);
    snprintf(path, sizeof path, "%s/excerpt-broker", bin);
    write_file(path, "#!/bin/sh\nenv | grep '^EXCERPT_' | sort\n", 0700);
    snprintf(cmd, sizeof cmd,
             "sed 's|/usr/local/bin/|%s/|g' " DEPLOY
             "container/entrypoint.sh > %s",
             bin, script);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "env -i PATH=/usr/bin:/bin EXCERPT_KEYS_DIR=%s "
             "EXCERPT_KEYS_RUN_DIR=%s EXCERPT_BROKER_METRICS=x sh %s broker "
             "> %s 2>&1",
             mnt, run, script, out);
    assert_int_equal(system(cmd), 0);
    char want[256];
    snprintf(want, sizeof want, "EXCERPT_BROKER_KEY_FILE=%s/broker.key", run);
    assert_int_equal(hx_count_in_file(out, want), 1);
    snprintf(want, sizeof want, "EXCERPT_BROKER_ALLOW=%s/allow", mnt);
    assert_int_equal(hx_count_in_file(out, want), 1);
    snprintf(path, sizeof path, "%s/broker.key", run);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(hx_count_in_file(path, "secret = stub"), 1);
    /* a run dir it cannot make: a clear error and no program started */
    snprintf(cmd, sizeof cmd,
             "env -i PATH=/usr/bin:/bin EXCERPT_KEYS_DIR=%s "
             "EXCERPT_KEYS_RUN_DIR=/proc/no/such sh %s broker > %s 2>&1",
             mnt, script, out);
    int rc = system(cmd);
    assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 1);
    assert_int_equal(hx_count_in_file(out, "cannot copy"), 1);
    assert_int_equal(hx_count_in_file(out, "EXCERPT_BROKER_KEY_FILE"), 0);
}

static void
test_manifests_parse_and_hold_keys(void **state)
{
    fx_t *f = *state;
    if (access(PY, X_OK) != 0)
        fail_msg(PY " is missing (CI installs python3-yaml)");
    const char *args[] = { PY, EXCERPT_SOURCE_DIR "/tests/check_deploy.py",
                           EXCERPT_SOURCE_DIR, NULL };
    hx_proc_args(&f->check, args);
    hx_spawn(&f->check);
    int code = hx_wait_exit(&f->check, WAIT_MS);
    if (code != 0) {
        /* what it found, on the test's stderr as before */
        FILE *fp = fopen(f->check.log, "r");
        char line[1024];
        while (fp && fgets(line, sizeof line, fp))
            fputs(line, stderr);
        if (fp)
            fclose(fp);
    }
    if (code == -1)
        fail_msg("check_deploy.py did not finish within %d ms", WAIT_MS);
    assert_int_equal(code, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shipped_configs_run_with_keys,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_entrypoint_hands_over_keys, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_manifests_parse_and_hold_keys,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
