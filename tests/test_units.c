/*
 * test_units: the systemd units' SystemCallFilter lets both daemons work.
 * Each unit's SystemCallFilter= lines are read from deploy/systemd, its
 * @groups expanded with `systemd-analyze syscall-filter` (the tables of
 * the systemd that would run it), and the resulting allow-list installed
 * with libseccomp (anything else kills the process with SIGSYS, as under
 * systemd without SystemCallErrorNumber=) before exec'ing excerpt-broker
 * and excerpt-worker, which must then serve a job end to end and stop
 * cleanly. systemd-run needs a running systemd, which CI lacks; this
 * applies the same filter without it.
 */
#include "../common/err.h"
#include "../proto/wire.h"
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#ifndef EXCERPT_BROKER_BIN
#define EXCERPT_BROKER_BIN ""
#endif
#ifndef EXCERPT_WORKER_BIN
#define EXCERPT_WORKER_BIN ""
#endif

#define MAX_NAMES 4096
#define SAN_OPTIONS "ASAN_OPTIONS=disable_coredump=0:detect_leaks=0"
#define MAX_GROUPS 64

/* A set of syscall (or @group) names. */
typedef struct names {
    char *v[MAX_NAMES]; /* owned */
    size_t n;           /* used */
} names_t;

typedef struct group {
    char name[64];   /* "@system-service" */
    names_t members; /* syscalls and nested @groups */
} group_t;

static group_t groups[MAX_GROUPS];
static size_t n_groups;

static bool
names_has(const names_t *s, const char *x)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], x))
            return true;
    return false;
}

static void
names_add(names_t *s, const char *x)
{
    if (names_has(s, x))
        return;
    assert_true(s->n < MAX_NAMES);
    s->v[s->n] = strdup(x);
    assert_non_null(s->v[s->n]);
    s->n++;
}

static void
names_del(names_t *s, const char *x)
{
    for (size_t i = 0; i < s->n; i++) {
        if (!strcmp(s->v[i], x)) {
            free(s->v[i]);
            s->v[i] = s->v[--s->n];
            return;
        }
    }
}

static void
names_free(names_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    s->n = 0;
}

/* The group tables of the local systemd: `systemd-analyze syscall-filter`
 * prints each "@group" at column 0 and its members indented, comments
 * after '#'. */
static void
load_groups(void)
{
    if (n_groups)
        return;
    FILE *p = popen("systemd-analyze syscall-filter 2>/dev/null", "r");
    assert_non_null(p);
    char line[256];
    group_t *g = NULL;
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] == '@') {
            assert_true(n_groups < MAX_GROUPS);
            g = &groups[n_groups++];
            snprintf(g->name, sizeof g->name, "%.63s", line);
            continue;
        }
        if (line[0] != ' ' || !g) {
            g = NULL; /* a blank line or a comment section ends a group */
            continue;
        }
        const char *m = line + strspn(line, " ");
        if (*m && *m != '#')
            names_add(&g->members, m);
    }
    int st = pclose(p);
    if (st != 0 || n_groups < 10)
        fail_msg("`systemd-analyze syscall-filter` failed (status %d, %zu "
                 "groups): install Debian's systemd package",
                 st, n_groups);
}

static void
expand(const char *name, names_t *out, int depth)
{
    assert_true(depth < 16);
    if (name[0] != '@') {
        names_add(out, name);
        return;
    }
    for (size_t i = 0; i < n_groups; i++) {
        if (!strcmp(groups[i].name, name)) {
            for (size_t k = 0; k < groups[i].members.n; k++)
                expand(groups[i].members.v[k], out, depth + 1);
            return;
        }
    }
    fail_msg("unknown syscall group %s", name);
}

/* The allow-list of a unit file: SystemCallFilter= lines in order, the
 * first one an allow-list, "~" lines removing, others adding. */
static void
unit_allowed(const char *unit, names_t *allowed)
{
    load_groups();
    char path[512];
    snprintf(path, sizeof path, "%s/deploy/systemd/%s", EXCERPT_SOURCE_DIR,
             unit);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot read %s: %s", path, strerror(errno));
    char line[1024];
    size_t lines = 0;
    while (fgets(line, sizeof line, f)) {
        static const char key[] = "SystemCallFilter=";
        if (strncmp(line, key, sizeof key - 1))
            continue;
        char *v = line + sizeof key - 1;
        bool deny = *v == '~';
        if (deny)
            v++;
        if (lines == 0)
            assert_false(deny); /* the units start from an allow-list */
        lines++;
        for (char *save = NULL, *tok = strtok_r(v, " \t\n", &save); tok;
             tok = strtok_r(NULL, " \t\n", &save)) {
            names_t set = { 0 };
            expand(tok, &set, 0);
            for (size_t i = 0; i < set.n; i++) {
                if (deny)
                    names_del(allowed, set.v[i]);
                else
                    names_add(allowed, set.v[i]);
            }
            names_free(&set);
        }
    }
    fclose(f);
    if (lines == 0)
        fail_msg("%s has no SystemCallFilter=", path);
}

/* The filter as a BPF program (built before fork: the child may only
 * make async-signal-safe calls). */
typedef struct filt {
    struct sock_fprog prog; /* what the child installs */
    size_t n_allowed;       /* syscalls allowed on this architecture */
} filt_t;

static void
build_filter(const names_t *allowed, filt_t *out, const char *dir)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    assert_non_null(ctx);
    out->n_allowed = 0;
    for (size_t i = 0; i < allowed->n; i++) {
        int nr = seccomp_syscall_resolve_name(allowed->v[i]);
        if (nr == __NR_SCMP_ERROR || nr < 0)
            continue; /* not a syscall of this architecture */
        if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) == 0)
            out->n_allowed++;
    }
    char path[256];
    snprintf(path, sizeof path, "%s/filter.bpf", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(seccomp_export_bpf(ctx, fd), 0);
    seccomp_release(ctx);
    off_t len = lseek(fd, 0, SEEK_END);
    assert_true(len > 0 && len % (off_t)sizeof(struct sock_filter) == 0);
    struct sock_filter *code = malloc((size_t)len);
    assert_non_null(code);
    assert_int_equal(pread(fd, code, (size_t)len, 0), len);
    close(fd);
    out->prog.len = (unsigned short)((size_t)len / sizeof *code);
    out->prog.filter = code;
}

/* In the child, before exec: what systemd does for SystemCallFilter=. */
static void
install_filter(void *arg)
{
    filt_t *f = arg;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &f->prog) != 0)
        _exit(126);
}

typedef struct fx {
    char dir[64];
    void *ctx;
    hx_proc_t broker, worker;
    names_t allowed[2]; /* broker's, worker's */
    filt_t filt[2];
} fx_t;

static int
setup(void **state)
{
    hx_setup();
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    hx_tempdir(f->dir, sizeof f->dir, "test_units");
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
    for (int i = 0; i < 2; i++) {
        names_free(&f->allowed[i]);
        free(f->filt[i].prog.filter);
    }
    hx_rmtree(f->dir);
    free(f);
    return 0;
}

/* The allow-lists hold what libzmq's threads need: it sets their
 * scheduling (pthread_setschedparam, i.e. sched_setscheduler) when it
 * starts them, and dies of SIGSYS (or aborts on EPERM) without it. */
static void
test_units_allow_libzmq(void **state)
{
    fx_t *f = *state;
    unit_allowed("excerpt-broker.service", &f->allowed[0]);
    unit_allowed("excerpt-worker@.service", &f->allowed[1]);
    for (int i = 0; i < 2; i++) {
        assert_true(names_has(&f->allowed[i], "sched_setscheduler"));
        assert_true(names_has(&f->allowed[i], "sched_getscheduler"));
        assert_true(names_has(&f->allowed[i], "sched_getparam"));
        assert_false(names_has(&f->allowed[i], "mount"));
        assert_false(names_has(&f->allowed[i], "setrlimit"));
    }
}

/* Both daemons under their unit's filter: the broker listens, the worker
 * registers and extracts a job, both exit 0 on SIGTERM. */
static void
test_daemons_serve_under_filter(void **state)
{
    fx_t *f = *state;
    hx_require_bin(EXCERPT_BROKER_BIN);
    hx_require_bin(EXCERPT_WORKER_BIN);
    unit_allowed("excerpt-broker.service", &f->allowed[0]);
    unit_allowed("excerpt-worker@.service", &f->allowed[1]);
    build_filter(&f->allowed[0], &f->filt[0], f->dir);
    build_filter(&f->allowed[1], &f->filt[1], f->dir);
    print_message("filters: broker %zu syscalls, worker %zu\n",
                  f->filt[0].n_allowed, f->filt[1].n_allowed);
    char data[128], fe[160], be[160], pub[160];
    snprintf(data, sizeof data, "%s/data", f->dir);
    snprintf(fe, sizeof fe, "ipc://%s/fe.sock", f->dir);
    snprintf(be, sizeof be, "ipc://%s/be.sock", f->dir);
    snprintf(pub, sizeof pub, "ipc://%s/pub.sock", f->dir);
    snprintf(f->broker.log, sizeof f->broker.log, "%s/broker.log", f->dir);
    snprintf(f->worker.log, sizeof f->worker.log, "%s/worker.log", f->dir);
    const char *bargs[] = {
        EXCERPT_BROKER_BIN, "--data-dir", data,          "--frontend", fe,
        "--backend",        be,           "--publisher", pub,          NULL
    };
    hx_proc_args(&f->broker, bargs);
    f->broker.pre_exec = install_filter;
    f->broker.pre_exec_arg = &f->filt[0];
    /* sanitizer runtimes make calls of their own that no unit allows
     * (setrlimit for core dumps, ptrace for the leak check at exit); the
     * other tests check the daemons for leaks */
    hx_proc_setenv(&f->broker, SAN_OPTIONS);
    hx_spawn(&f->broker);
    HX_WAIT_FOR(hx_count_in_file(f->broker.log, "listening") == 1 ||
                    !hx_alive(&f->broker),
                10000);
    if (!hx_alive(&f->broker))
        fail_msg("broker died under its unit's syscall filter (exit %d; "
                 "159 = SIGSYS), see %s",
                 hx_wait_exit(&f->broker, 0), f->broker.log);
    const char *wargs[] = { EXCERPT_WORKER_BIN, "--broker", be,
                            "--threads",        "2",        NULL };
    hx_proc_args(&f->worker, wargs);
    f->worker.pre_exec = install_filter;
    f->worker.pre_exec_arg = &f->filt[1];
    hx_proc_setenv(&f->worker, SAN_OPTIONS);
    hx_spawn(&f->worker);
    void *d = hx_socket(f->ctx, ZMQ_DEALER, fe);
    uint64_t rid = 0;
    wire_msg_t req = { .kind = WIRE_SUBMIT }, rep;
    static const char text[] =
        "Minister of Finance Anna Petrova: Revenues rose by 4.5 percent to "
        "120 million roubles in 2023.\n";
    req.u.submit.job.key = "unit";
    req.u.submit.job.text = text;
    req.u.submit.job.text_len = sizeof text - 1;
    assert_int_equal(hx_rpc(d, &rid, &req, &rep, HX_RPC_MS), ERR_OK);
    assert_int_equal(rep.kind, WIRE_ACCEPTED);
    uint64_t id = rep.u.accepted.job_id;
    wire_msg_release(&rep);
    int state_now = 0;
    uint64_t deadline = hx_now_ms() + 20000 * HX_SLACK;
    while (state_now != WIRE_JOB_DONE) {
        if (!hx_alive(&f->worker))
            fail_msg("worker died under its unit's syscall filter (exit %d; "
                     "159 = SIGSYS), see %s",
                     hx_wait_exit(&f->worker, 0), f->worker.log);
        if (!hx_alive(&f->broker))
            fail_msg("broker died under its unit's syscall filter (exit %d)",
                     hx_wait_exit(&f->broker, 0));
        if (hx_now_ms() > deadline)
            fail_msg("job not done under the filter");
        wire_msg_t g = { .kind = WIRE_GET };
        g.u.get.job_id = id;
        assert_int_equal(hx_rpc(d, &rid, &g, &rep, HX_RPC_MS), ERR_OK);
        if (rep.kind == WIRE_GET_REPLY)
            state_now = rep.u.get_reply.job.state;
        wire_msg_release(&rep);
        usleep(20000);
    }
    assert_int_equal(hx_term(&f->worker, 30000), 0);
    assert_int_equal(hx_term(&f->broker, 30000), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_units_allow_libzmq, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_daemons_serve_under_filter, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
