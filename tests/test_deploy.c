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
#include "../common/now.h"
#include "../proto/curve.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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
    char dir[64];    /* temp dir */
    char keys[128];  /* key pairs */
    char allow[128]; /* the broker's allow-list directory */
    char log[128];   /* broker log */
    char wlog[128];  /* worker log */
    pid_t broker;    /* 0 when not running */
    pid_t worker;    /* 0 when not running */
} fx_t;

static void
sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* fork + exec args with stdout and stderr to log (NULL: inherited). */
static pid_t
spawn(const char *const *args, const char *log)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (log) {
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
        }
        execv(args[0], (char *const *)args);
        _exit(127);
    }
    return pid;
}

static int
wait_exit(pid_t pid)
{
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void
stop(pid_t *pid)
{
    if (*pid > 0) {
        kill(*pid, SIGKILL);
        waitpid(*pid, NULL, 0);
    }
    *pid = 0;
}

static int
count_in_file(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0;
    char line[8192];
    while (fgets(line, sizeof line, f))
        if (strstr(line, needle))
            n++;
    fclose(f);
    return n;
}

static int
free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

static void
make_key(fx_t *f, const char *name, const char *role)
{
    curve_pair_t kp;
    assert_int_equal(curve_generate(&kp), ERR_OK);
    assert_int_equal(curve_write_pair(f->keys, name, &kp, role, false), ERR_OK);
    if (role) {
        char from[256], to[256];
        snprintf(from, sizeof from, "%s/%s.pub", f->keys, name);
        snprintf(to, sizeof to, "%s/%s.pub", f->allow, name);
        assert_int_equal(link(from, to), 0);
    }
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int
setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_deploy.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->keys, sizeof f->keys, "%s/keys", f->dir);
    snprintf(f->allow, sizeof f->allow, "%s/allow", f->dir);
    snprintf(f->log, sizeof f->log, "%s/broker.log", f->dir);
    snprintf(f->wlog, sizeof f->wlog, "%s/worker.log", f->dir);
    assert_int_equal(mkdir(f->keys, 0700), 0);
    assert_int_equal(mkdir(f->allow, 0700), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx_t *f = *state;
    stop(&f->worker);
    stop(&f->broker);
    if (!getenv("EXCERPT_TEST_KEEP"))
        nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    else
        fprintf(stderr, "kept %s\n", f->dir);
    free(f);
    return 0;
}

/* The shipped configs, keys on, paths and endpoints moved to the test's:
 * the broker says CURVE is on and the worker joins with its key. */
static void
test_shipped_configs_run_with_keys(void **state)
{
    fx_t *f = *state;
    if (!*EXCERPT_BROKER_BIN || !*EXCERPT_WORKER_BIN)
        fail_msg("excerpt-broker or excerpt-worker was not built");
    make_key(f, "broker", NULL);
    make_key(f, "w1", "worker");
    char data[128], bkey[192], bpub[192], wkey[192];
    char fe[64], be[64], pub[64];
    snprintf(data, sizeof data, "%s/data", f->dir);
    snprintf(bkey, sizeof bkey, "%s/broker.key", f->keys);
    snprintf(bpub, sizeof bpub, "%s/broker.pub", f->keys);
    snprintf(wkey, sizeof wkey, "%s/w1.key", f->keys);
    for (int attempt = 0; attempt < 5 && !f->broker; attempt++) {
        snprintf(fe, sizeof fe, "tcp://127.0.0.1:%d", free_port());
        snprintf(be, sizeof be, "tcp://127.0.0.1:%d", free_port());
        snprintf(pub, sizeof pub, "tcp://127.0.0.1:%d", free_port());
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
        int before = count_in_file(f->log, "listening");
        f->broker = spawn(args, f->log);
        uint64_t dl = now_mono_ms() + WAIT_MS;
        while (count_in_file(f->log, "listening") == before) {
            int st = 0;
            if (waitpid(f->broker, &st, WNOHANG) == f->broker) {
                f->broker = 0;
                if (!count_in_file(f->log, "Address already in use"))
                    fail_msg("the broker exited (see %s)", f->log);
                break;
            }
            if (now_mono_ms() > dl)
                fail_msg("the broker did not start (see %s)", f->log);
            sleep_ms(10);
        }
    }
    assert_true(f->broker > 0);
    assert_int_equal(count_in_file(f->log, "broker CURVE on"), 1);
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
    f->worker = spawn(wargs, f->wlog);
    uint64_t dl = now_mono_ms() + WAIT_MS;
    while (!count_in_file(f->log, "broker worker joined")) {
        if (now_mono_ms() > dl)
            fail_msg("the worker did not join (see %s, %s)", f->log, f->wlog);
        sleep_ms(10);
    }
    assert_int_equal(count_in_file(f->log, "auth refused"), 0);
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
    assert_int_equal(count_in_file(out, want), 1);
    snprintf(want, sizeof want, "EXCERPT_BROKER_ALLOW=%s/allow", mnt);
    assert_int_equal(count_in_file(out, want), 1);
    snprintf(path, sizeof path, "%s/broker.key", run);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(count_in_file(path, "secret = stub"), 1);
    /* a run dir it cannot make: a clear error and no program started */
    snprintf(cmd, sizeof cmd,
             "env -i PATH=/usr/bin:/bin EXCERPT_KEYS_DIR=%s "
             "EXCERPT_KEYS_RUN_DIR=/proc/no/such sh %s broker > %s 2>&1",
             mnt, script, out);
    int rc = system(cmd);
    assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 1);
    assert_int_equal(count_in_file(out, "cannot copy"), 1);
    assert_int_equal(count_in_file(out, "EXCERPT_BROKER_KEY_FILE"), 0);
}

static void
test_manifests_parse_and_hold_keys(void **state)
{
    (void)state;
    if (access(PY, X_OK) != 0)
        fail_msg(PY " is missing (CI installs python3-yaml)");
    const char *args[] = { PY, EXCERPT_SOURCE_DIR "/tests/check_deploy.py",
                           EXCERPT_SOURCE_DIR, NULL };
    assert_int_equal(wait_exit(spawn(args, NULL)), 0);
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
