/*
 * test_recovery: crash-only and self-healing, on real processes (issue
 * 11). Broker kill -9 rounds with workers that must keep taking work,
 * attempts fenced across restarts, a store that turns unusable (injected
 * EIO on LMDB's meta page), a full filesystem, wall-clock jumps, a
 * consumer restarted from its cursor and a worker cut off by a network
 * partition. Each scenario ends with the oracle (check_oracle): every
 * accepted job committed exactly once, seq gap-free, every worker still
 * taking work. Built on tests/harness.h. EXCERPT_TEST_KEEP=1 keeps the
 * temp dir (logs); EXCERPT_TEST_FILTER=name runs one test.
 */
#include "../common/err.h"
#include "../common/now.h"
#include "../proto/wire.h"
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#ifndef EXCERPT_BROKER_BIN
#define EXCERPT_BROKER_BIN ""
#endif
#ifndef EXCERPT_WORKER_BIN
#define EXCERPT_WORKER_BIN ""
#endif
#ifndef EXCERPT_EIO_SHIM
#define EXCERPT_EIO_SHIM ""
#endif
/* ~6 s in a Debug build, ~10 s under ASan+UBSan */
#define KILL_ROUNDS 30
#define MAX_WORKERS 3
#define MAX_JOBS 4096

typedef struct fx {
    char dir[64];                    /* temp dir */
    char data[128];                  /* broker data dir */
    char fe[192], be[192], pub[192]; /* endpoints */
    void *ctx;                       /* ZeroMQ context */
    void *dealer;                    /* client socket to the frontend */
    uint64_t rid;                    /* last request id */
    hx_proc_t broker;                /* excerpt-broker */
    hx_proc_t workers[MAX_WORKERS];  /* excerpt-worker processes */
    /* the submitter's log: every job whose Accepted we saw */
    uint64_t accepted[MAX_JOBS]; /* job id by job number, 0: none yet */
    int n_jobs;                  /* job numbers used */
    char ns[32];                 /* network namespace made, "" if none */
    size_t pad;                  /* submit_range texts: about this long */
} fx_t;

static int
setup(void **state)
{
    hx_setup();
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    hx_tempdir(f->dir, sizeof f->dir, "test_recovery");
    snprintf(f->data, sizeof f->data, "%s/data", f->dir);
    snprintf(f->fe, sizeof f->fe, "ipc://%s/fe.sock", f->dir);
    snprintf(f->be, sizeof f->be, "ipc://%s/be.sock", f->dir);
    snprintf(f->pub, sizeof f->pub, "ipc://%s/pub.sock", f->dir);
    snprintf(f->broker.log, sizeof f->broker.log, "%s/broker.log", f->dir);
    for (int i = 0; i < MAX_WORKERS; i++)
        snprintf(f->workers[i].log, sizeof f->workers[i].log, "%s/worker%d.log",
                 f->dir, i);
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
    if (f->ns[0]) { /* its veth pair goes with it */
        char cmd[96];
        snprintf(cmd, sizeof cmd, "ip netns del %s 2>/dev/null", f->ns);
        if (system(cmd) != 0)
            fprintf(stderr, "could not delete netns %s\n", f->ns);
    }
    char mnt[160];
    snprintf(mnt, sizeof mnt, "%s/data", f->dir);
    (void)umount2(mnt, MNT_DETACH); /* the disk-full test's tmpfs */
    hx_rmtree(f->dir);
    free(f);
    return 0;
}

/* Start (or with extra NULL restart with the same arguments) the broker
 * and wait for its "listening" line; opens the client socket. */
static void
start_broker(fx_t *f, const char *const *extra)
{
    if (extra)
        hx_broker_args(&f->broker, EXCERPT_BROKER_BIN, f->data, f->fe, f->be,
                       f->pub, extra);
    hx_spawn_listening(&f->broker, 10000);
    hx_close(&f->dealer);
    f->dealer = hx_socket(f->ctx, ZMQ_DEALER, f->fe);
}

/* Start worker i; inside network namespace ns when not NULL (through
 * `ip netns exec`, which execs the worker: the pid is the worker's). */
static hx_proc_t *
start_worker_in(fx_t *f, int i, const char *const *extra, const char *ns)
{
    char name[16];
    snprintf(name, sizeof name, "w%d", i);
    const char *args[HX_MAX_ARGS] = { 0 };
    size_t n = 0;
    if (ns) {
        args[n++] =
            access("/usr/sbin/ip", X_OK) == 0 ? "/usr/sbin/ip" : "/sbin/ip";
        args[n++] = "netns";
        args[n++] = "exec";
        args[n++] = ns;
    }
    const char *base[] = { EXCERPT_WORKER_BIN,
                           "--broker",
                           f->be,
                           "--threads",
                           "1",
                           "--heartbeat-ms",
                           "200",
                           "--broker-timeout-ms",
                           "3000",
                           "--log-level",
                           "debug",
                           "--name",
                           name,
                           NULL };
    for (size_t k = 0; base[k]; k++)
        args[n++] = base[k];
    for (size_t k = 0; extra && extra[k]; k++) {
        assert_true(n < HX_MAX_ARGS - 1);
        args[n++] = extra[k];
    }
    args[n] = NULL;
    hx_proc_t *p = &f->workers[i];
    hx_proc_args(p, args);
    int before = hx_count_in_file(p->log, "connected");
    hx_spawn(p);
    HX_WAIT_FOR(hx_count_in_file(p->log, "connected") > before || !hx_alive(p),
                10000);
    assert_true(hx_alive(p));
    return p;
}

static hx_proc_t *
start_worker(fx_t *f, int i, const char *const *extra)
{
    return start_worker_in(f, i, extra, NULL);
}

/* ------------------------------------------------------------ client */

static int
rpc(fx_t *f, wire_msg_t *req, wire_msg_t *rep)
{
    return hx_rpc(f->dealer, &f->rid, req, rep, HX_RPC_MS);
}

static wire_stats_t
stats(fx_t *f)
{
    wire_msg_t req = { .kind = WIRE_STATS }, rep;
    assert_int_equal(rpc(f, &req, &rep), ERR_OK);
    assert_int_equal(rep.kind, WIRE_STATS_REPLY);
    wire_stats_t st = rep.u.stats_reply;
    wire_msg_release(&rep);
    return st;
}

typedef struct jinfo {
    int state;         /* wire_job_state_t, 0 when not found */
    uint32_t attempts; /* attempt recorded */
    uint64_t seq;      /* commit seq */
} jinfo_t;

static jinfo_t
get_job(fx_t *f, uint64_t id)
{
    wire_msg_t req = { .kind = WIRE_GET }, rep;
    req.u.get.job_id = id;
    assert_int_equal(rpc(f, &req, &rep), ERR_OK);
    jinfo_t j = { 0 };
    if (rep.kind == WIRE_GET_REPLY) {
        j.state = rep.u.get_reply.job.state;
        j.attempts = rep.u.get_reply.job.attempts;
        j.seq = rep.u.get_reply.job.seq;
    }
    wire_msg_release(&rep);
    return j;
}

/* A small transcript of our own, different for every i. */
static size_t
make_text(char *buf, size_t cap, int i)
{
    int n = snprintf(buf, cap,
                     "The Minister of Finance met the Governor, meeting %d.\n"
                     "Minister of Finance Anna Petrova: Revenues rose by "
                     "%d.%d percent to %d million roubles in 2023.\n"
                     "Governor Pavel Sokolov: We will build %d schools in "
                     "Tomsk by March 2025.\n",
                     i, 1 + i % 9, i % 10, 100 + i, 2 + i % 40);
    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

/* Submit job numbers [from, to) pipelined (window 64) under keys
 * "<tag>-<n>"; records each Accepted in f->accepted. Stops early, without
 * failing, when stop_after Accepteds came (0: never) or the broker stops
 * answering (it was killed): the unanswered are resubmitted later under
 * the same key. Returns how many were accepted. */
static int
submit_range(fx_t *f, const char *tag, int from, int to, int stop_after)
{
    int next = from, inflight = 0, got = 0;
    char key[48];
    size_t cap = 512 + f->pad;
    char *text = malloc(cap);
    assert_non_null(text);
    while (next < to || inflight > 0) {
        while (inflight < 64 && next < to) {
            if (f->accepted[next]) {
                next++;
                continue;
            }
            wire_msg_t req = { .kind = WIRE_SUBMIT };
            req.request_id = 1000000u + (uint64_t)next;
            snprintf(key, sizeof key, "%s-%d", tag, next);
            size_t len = make_text(text, cap, next);
            while (len + 400 < cap)
                len += make_text(text + len, cap - len, next + (int)len);
            req.u.submit.job.key = key;
            req.u.submit.job.text = text;
            req.u.submit.job.text_len = len;
            hx_send(f->dealer, &req);
            next++;
            inflight++;
        }
        if (inflight == 0)
            break;
        wire_msg_t rep;
        if (hx_recv(f->dealer, 5000, &rep) != ERR_OK) {
            free(text);
            return got; /* broker gone */
        }
        if (rep.kind == WIRE_ACCEPTED && rep.request_id >= 1000000u) {
            uint64_t n = rep.request_id - 1000000u;
            assert_true(n < MAX_JOBS);
            if (f->accepted[n])
                assert_int_equal(f->accepted[n], rep.u.accepted.job_id);
            f->accepted[n] = rep.u.accepted.job_id;
            got++;
        }
        inflight--;
        wire_msg_release(&rep);
        if (stop_after && got >= stop_after) {
            free(text);
            return got;
        }
    }
    free(text);
    if (to > f->n_jobs)
        f->n_jobs = to;
    return got;
}

/* Items of the committed log, via Since pages. */
typedef struct item {
    uint64_t seq, job_id;
} item_t;

static item_t *
since_all(fx_t *f, uint64_t after, size_t *n, uint64_t *last_seq)
{
    size_t cap = 1024, k = 0;
    item_t *items = malloc(cap * sizeof *items);
    assert_non_null(items);
    for (;;) {
        wire_msg_t req = { .kind = WIRE_SINCE }, rep;
        req.u.since.after_seq = after;
        req.u.since.limit = 1000;
        assert_int_equal(rpc(f, &req, &rep), ERR_OK);
        assert_int_equal(rep.kind, WIRE_SINCE_REPLY);
        size_t m = rep.u.since_reply.n;
        *last_seq = rep.u.since_reply.last_seq;
        for (size_t i = 0; i < m; i++) {
            if (k == cap) {
                cap *= 2;
                items = realloc(items, cap * sizeof *items);
                assert_non_null(items);
            }
            items[k].seq = rep.u.since_reply.items[i].seq;
            items[k].job_id = rep.u.since_reply.items[i].job_id;
            after = items[k].seq;
            k++;
        }
        wire_msg_release(&rep);
        if (m == 0)
            break;
    }
    *n = k;
    return items;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* What the oracle found; printed as a row of the closing table. */
typedef struct verdict {
    int accepted;     /* jobs whose Accepted the submitter saw */
    int lost;         /* accepted, never committed */
    int duplicated;   /* committed more than once */
    int gaps;         /* holes in seq 1..last */
    int stray;        /* committed, never accepted (resubmitted dups) */
    size_t committed; /* items in the log */
} verdict_t;

/* The oracle: wait (up to wait_ms) for every accepted job to be DONE, then
 * reconcile the submitter's log (f->accepted) with the consumer's view
 * (Since from 0): zero lost, zero duplicated, zero seq gaps. */
static verdict_t
check_oracle(fx_t *f, const char *scenario, int rounds, int wait_ms)
{
    verdict_t v = { 0 };
    uint64_t ids[MAX_JOBS];
    for (int i = 0; i < f->n_jobs; i++)
        if (f->accepted[i])
            ids[v.accepted++] = f->accepted[i];
    qsort(ids, (size_t)v.accepted, sizeof ids[0], cmp_u64);
    HX_WAIT_FOR(stats(f).done >= (uint64_t)v.accepted, wait_ms);
    uint64_t last = 0;
    item_t *items = since_all(f, 0, &v.committed, &last);
    uint64_t *seen = calloc(v.committed + 1, sizeof *seen);
    assert_non_null(seen);
    for (size_t i = 0; i < v.committed; i++) {
        if (items[i].seq != i + 1)
            v.gaps++;
        seen[i] = items[i].job_id;
    }
    if (last != v.committed)
        v.gaps++;
    qsort(seen, v.committed, sizeof *seen, cmp_u64);
    for (size_t i = 1; i < v.committed; i++)
        if (seen[i] == seen[i - 1])
            v.duplicated++;
    for (int i = 0; i < v.accepted; i++)
        if (!bsearch(&ids[i], seen, v.committed, sizeof *seen, cmp_u64))
            v.lost++;
    for (size_t i = 0; i < v.committed; i++)
        if (!bsearch(&seen[i], ids, (size_t)v.accepted, sizeof ids[0], cmp_u64))
            v.stray++;
    print_message("oracle %-22s rounds=%d accepted=%d committed=%zu lost=%d "
                  "duplicated=%d gaps=%d\n",
                  scenario, rounds, v.accepted, v.committed, v.lost,
                  v.duplicated, v.gaps);
    assert_int_equal(v.lost, 0);
    assert_int_equal(v.duplicated, 0);
    assert_int_equal(v.gaps, 0);
    assert_int_equal(v.stray, 0);
    free(seen);
    free(items);
    return v;
}

/* Every live worker takes work: submit a batch and wait until each
 * worker's log shows a dispatch it did not have before. */
static void
check_workers_serve(fx_t *f, int n_workers, const char *tag)
{
    int before[MAX_WORKERS];
    for (int i = 0; i < n_workers; i++)
        before[i] = hx_count_in_file(f->workers[i].log, " dispatched ");
    int from = f->n_jobs, to = from + 8 * n_workers;
    assert_true(to <= MAX_JOBS);
    assert_int_equal(submit_range(f, tag, from, to, 0), to - from);
    for (int i = 0; i < n_workers; i++)
        HX_WAIT_FOR(hx_count_in_file(f->workers[i].log, " dispatched ") >
                        before[i],
                    15000);
}

/* ------------------------------------------------------------ tests */

/* Issue 11 item 1: a job dispatched (attempt 1) by a broker that is then
 * killed with kill -9 is dispatched by the restarted broker under a NEW
 * attempt (2), never again as 1. The first worker is stopped (SIGSTOP)
 * while it holds attempt 1, so the order is certain: a second worker
 * gets the job from the restarted broker, then the first one resumes and
 * its late Done for attempt 1 is fenced. One result is kept; the resumed
 * worker's answers do not pile up unacked, it takes work again, and
 * SIGTERM drains at once with exit 0. */
static void
test_restart_gives_new_attempt(void **state)
{
    fx_t *f = *state;
    const char *bargs[] = { "--worker-timeout-ms", "60000", NULL };
    start_broker(f, bargs);
    hx_proc_t *a = start_worker(f, 0, NULL);
    HX_WAIT_FOR(stats(f).workers == 1, 10000);
    hx_kill(a, SIGSTOP);
    assert_int_equal(submit_range(f, "fence", 0, 1, 0), 1);
    uint64_t id = f->accepted[0];
    /* the broker leased it to the stopped worker: the Dispatch is out */
    HX_WAIT_FOR(stats(f).leased == 1, 10000);
    hx_kill(&f->broker, SIGKILL);
    start_broker(f, NULL);
    hx_proc_t *b = start_worker(f, 1, NULL);
    HX_WAIT_FOR(get_job(f, id).state == WIRE_JOB_DONE, 30000);
    char needle[64];
    snprintf(needle, sizeof needle, "job=%" PRIu64 " attempt=2 dispatched", id);
    assert_int_equal(hx_count_in_file(b->log, needle), 1);
    snprintf(needle, sizeof needle, "job=%" PRIu64 " attempt=1 dispatched", id);
    assert_int_equal(hx_count_in_file(b->log, needle), 0);
    assert_int_equal(get_job(f, id).attempts, 2);
    /* the stopped worker resumes with attempt 1: fenced, never a result */
    hx_kill(a, SIGCONT);
    snprintf(needle, sizeof needle, "job=%" PRIu64 " attempt=1 fenced", id);
    HX_WAIT_FOR(hx_count_in_file(a->log, needle) == 1, 30000);
    check_oracle(f, "restart-new-attempt", 1, 10000);
    check_workers_serve(f, 2, "after");
    check_oracle(f, "restart-new-attempt", 1, 30000);
    /* nothing waits unacked: the drain ends at once, exit 0 */
    uint64_t t0 = hx_now_ms();
    assert_int_equal(hx_term(a, 20000), 0);
    uint64_t ms = hx_now_ms() - t0;
    print_message("worker drained in %" PRIu64 " ms after a broker restart\n",
                  ms);
    assert_true(ms < 5000);
    assert_int_equal(hx_count_in_file(a->log, "drain timed out"), 0);
}

/* KILL_ROUNDS broker kill -9 rounds while jobs flow and three workers
 * keep taking work; then the oracle, every worker still taking work, and
 * every worker stopping promptly with exit 0 on SIGTERM. */
static void
test_broker_kill9_rounds(void **state)
{
    fx_t *f = *state;
    const char *bargs[] = { "--max-queued", "100000", NULL };
    start_broker(f, bargs);
    const char *wargs[] = { "--prefetch", "8", NULL };
    for (int i = 0; i < MAX_WORKERS; i++)
        start_worker(f, i, wargs);
    HX_WAIT_FOR(stats(f).workers == MAX_WORKERS, 10000);
    int per_round = 60;
    uint64_t recovery_max = 0, recovery_sum = 0;
    unsigned seed = 11;
    for (int r = 0; r < KILL_ROUNDS; r++) {
        int from = r * per_round, to = from + per_round;
        /* resubmit what the last kill left unanswered, then this round's
         * jobs; the kill comes after a random share was accepted */
        (void)submit_range(f, "kr", 0, from, 0);
        int stop = 1 + (int)(rand_r(&seed) % (unsigned)per_round);
        (void)submit_range(f, "kr", from, to, stop);
        f->n_jobs = to;
        usleep((useconds_t)(rand_r(&seed) % 50000));
        hx_kill(&f->broker, SIGKILL);
        uint64_t t0 = hx_now_ms();
        start_broker(f, NULL);
        /* recovered: every worker registered again */
        HX_WAIT_FOR(stats(f).workers == MAX_WORKERS, 20000);
        uint64_t rec = hx_now_ms() - t0;
        recovery_sum += rec;
        if (rec > recovery_max)
            recovery_max = rec;
    }
    (void)submit_range(f, "kr", 0, f->n_jobs, 0);
    for (int i = 0; i < f->n_jobs; i++)
        assert_true(f->accepted[i] != 0);
    check_oracle(f, "broker-kill9-rounds", KILL_ROUNDS, 60000);
    check_workers_serve(f, MAX_WORKERS, "serve");
    verdict_t v = check_oracle(f, "broker-kill9-rounds", KILL_ROUNDS, 60000);
    print_message(
        "broker kill -9 x%d: %d jobs accepted, recovery (restart "
        "to all workers registered) mean %" PRIu64 " ms, max %" PRIu64 " ms\n",
        KILL_ROUNDS, v.accepted, recovery_sum / KILL_ROUNDS, recovery_max);
    for (int i = 0; i < MAX_WORKERS; i++) {
        uint64_t t0 = hx_now_ms();
        assert_int_equal(hx_term(&f->workers[i], 20000), 0);
        assert_true(hx_now_ms() - t0 < 5000);
        assert_int_equal(hx_count_in_file(f->workers[i].log, "never acked"), 0);
    }
}

/* Issue 11 item 2: one EIO on LMDB's meta page write leaves the
 * environment fatal (MDB_PANIC). The broker says so once and exits
 * non-zero instead of serving errors; `excerpt stats` then fails; the
 * normal start recovers everything that was committed. */
static void
test_fatal_store_exits(void **state)
{
    fx_t *f = *state;
    hx_require_bin(EXCERPT_EIO_SHIM);
    char trigger[160], env[200];
    snprintf(trigger, sizeof trigger, "%s/eio", f->dir);
    const char *bargs[] = { NULL };
    hx_proc_t *b = &f->broker;
    snprintf(env, sizeof env, "LD_PRELOAD=%s", EXCERPT_EIO_SHIM);
    hx_proc_setenv(b, env);
    snprintf(env, sizeof env, "EXCERPT_FAULT_TRIGGER=%s", trigger);
    hx_proc_setenv(b, env);
    hx_proc_setenv(b, "ASAN_OPTIONS=verify_asan_link_order=0");
    start_broker(f, bargs);
    start_worker(f, 0, NULL);
    assert_int_equal(submit_range(f, "before", 0, 20, 0), 20);
    check_oracle(f, "fatal-store", 1, 20000);
    int fd = open(trigger, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    /* the next commit fails on the meta page: the broker must exit */
    (void)submit_range(f, "after", 20, 21, 0);
    int code = hx_wait_exit(b, 20000 * HX_SLACK);
    assert_int_not_equal(code, -1);
    assert_int_not_equal(code, 0);
    assert_true(code < 128); /* an exit, not a crash */
    assert_int_equal(hx_count_in_file(b->log, "store unusable"), 1);
    assert_int_equal(hx_count_in_file(b->log, "broker exiting"), 1);
    assert_true(hx_count_in_file(b->log, "ERROR") < 10);
    /* a stats-based health check sees it */
    static hx_proc_t st; /* outlives this frame for hx_teardown */
    snprintf(st.log, sizeof st.log, "%s/stats.log", f->dir);
    const char *sargs[] = { EXCERPT_CLI_BIN, "stats", "--endpoint", f->fe,
                            "--timeout",     "1000",  "--json",     NULL };
    hx_proc_args(&st, sargs);
    hx_spawn(&st);
    int sc = hx_wait_exit(&st, 60000);
    assert_true(sc > 0 && sc < 128);
    hx_proc_free(&st);
    /* recovery is the normal start */
    unlink(trigger);
    hx_close(&f->dealer);
    uint64_t t_start = hx_now_ms();
    start_broker(f, NULL);
    HX_WAIT_FOR(stats(f).workers == 1, 20000);
    print_message("fatal store: broker exit %d; restarted and the worker "
                  "registered again in %" PRIu64 " ms\n",
                  code, hx_now_ms() - t_start);
    f->accepted[20] = 0; /* the refused one goes again */
    assert_int_equal(submit_range(f, "after", 20, 21, 0), 1);
    check_oracle(f, "fatal-store", 1, 20000);
    check_workers_serve(f, 1, "serve");
    check_oracle(f, "fatal-store", 1, 20000);
}

/* A transient fdatasync EIO (eio_shim, sync mode) fails commits but does
 * not make the store unusable: the broker stays up, answers Submits with
 * a retryable code, holds the Dones it could not commit and retries them
 * with backoff; once the disk behaves, every accepted job completes once. */
static void
test_fsync_eio_transient(void **state)
{
    fx_t *f = *state;
    hx_require_bin(EXCERPT_EIO_SHIM);
    char trigger[160], env[200];
    snprintf(trigger, sizeof trigger, "%s/eio", f->dir);
    hx_proc_t *b = &f->broker;
    snprintf(env, sizeof env, "LD_PRELOAD=%s", EXCERPT_EIO_SHIM);
    hx_proc_setenv(b, env);
    snprintf(env, sizeof env, "EXCERPT_FAULT_TRIGGER=%s", trigger);
    hx_proc_setenv(b, env);
    hx_proc_setenv(b, "EXCERPT_FAULT_MODE=sync");
    hx_proc_setenv(b, "ASAN_OPTIONS=verify_asan_link_order=0");
    const char *bargs[] = { "--retry-base-ms", "100", "--retry-max-ms", "500",
                            NULL };
    start_broker(f, bargs);
    start_worker(f, 0, NULL);
    start_worker(f, 1, NULL);
    f->pad = 32 * 1024; /* slower jobs: Dones are in flight at the fault */
    assert_int_equal(submit_range(f, "sync", 0, 100, 0), 100);
    f->pad = 0;
    int fd = open(trigger, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    /* two seconds of failing syncs while jobs keep coming */
    uint64_t t0 = hx_now_ms();
    int refused = 0;
    for (int n = 100; hx_now_ms() - t0 < 2000 && n < 400; n += 20)
        refused += 20 - submit_range(f, "sync", n, n + 20, 0);
    assert_true(hx_alive(b));
    assert_int_equal(hx_count_in_file(b->log, "store unusable"), 0);
    unlink(trigger);
    uint64_t t_ok = hx_now_ms();
    /* what was refused goes again under its key */
    f->pad = 32 * 1024;
    (void)submit_range(f, "sync", 0, 100, 0);
    f->pad = 0;
    (void)submit_range(f, "sync", 100, f->n_jobs, 0);
    for (int i = 0; i < f->n_jobs; i++)
        assert_true(f->accepted[i] != 0);
    check_oracle(f, "fsync-eio", 1, 60000);
    print_message("fsync EIO for 2 s: %d submits refused (retryable), all "
                  "committed %" PRIu64 " ms after the disk recovered\n",
                  refused, hx_now_ms() - t_ok);
    assert_true(refused > 0);
    check_workers_serve(f, 2, "serve");
    check_oracle(f, "fsync-eio", 1, 30000);
}

/* Issue 11 item 3: a full filesystem (a 4 MiB tmpfs as the data dir, as
 * root) answers STORE_FULL "filesystem full", not the map limit; a Done
 * whose commit fails is held and retried with backoff and a new attempt,
 * not re-dispatched in a hot loop; the log stays small; once space is
 * back every accepted job completes exactly once. */
static void
test_disk_full(void **state)
{
    fx_t *f = *state;
    assert_int_equal(mkdir(f->data, 0700), 0);
    if (mount("tmpfs", f->data, "tmpfs", 0, "size=4m") != 0)
        fail_msg("cannot mount a tmpfs for the disk-full test (run as "
                 "root): %s",
                 strerror(errno));
    const char *bargs[] = { "--map-size",
                            "1M",
                            "--map-limit",
                            "64M",
                            "--retry-base-ms",
                            "200",
                            "--retry-max-ms",
                            "1000",
                            NULL };
    start_broker(f, bargs);
    /* fill the filesystem next to the store, leaving ~300 KiB */
    char filler[200];
    snprintf(filler, sizeof filler, "%s/filler", f->data);
    int fd = open(filler, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    static char block[64 * 1024];
    memset(block, 'x', sizeof block);
    size_t written = 0;
    while (write(fd, block, sizeof block) == (ssize_t)sizeof block)
        written += sizeof block;
    close(fd);
    assert_int_equal(truncate(filler, (off_t)(written - 320 * 1024)), 0);
    /* submits until the disk refuses */
    char text[512], key[32];
    int code = 0, ok = 0;
    char reason[128] = "";
    for (int i = 0; i < 2000 && !code; i++) {
        wire_msg_t req = { .kind = WIRE_SUBMIT }, rep;
        snprintf(key, sizeof key, "full-%d", i);
        size_t len = make_text(text, sizeof text, i);
        req.u.submit.job.key = key;
        req.u.submit.job.text = text;
        req.u.submit.job.text_len = len;
        assert_int_equal(rpc(f, &req, &rep), ERR_OK);
        if (rep.kind == WIRE_ACCEPTED) {
            f->accepted[i] = rep.u.accepted.job_id;
            f->n_jobs = i + 1;
            ok++;
        } else {
            assert_int_equal(rep.kind, WIRE_REJECTED);
            code = rep.u.rejected.code;
            snprintf(reason, sizeof reason, "%s",
                     rep.u.rejected.reason ? rep.u.rejected.reason : "");
        }
        wire_msg_release(&rep);
    }
    print_message("disk full after %d submits: %s \"%s\"\n", ok,
                  wire_code_name(code), reason);
    assert_int_equal(code, WIRE_CODE_STORE_FULL);
    assert_string_equal(reason, "filesystem full");
    /* results cannot commit either: the worker's Dones fail; the jobs are
     * held and retried with backoff, not re-dispatched at once */
    hx_proc_t *w = start_worker(f, 0, NULL);
    sleep(4);
    assert_true(hx_alive(&f->broker));
    int dispatches = hx_count_in_file(w->log, " dispatched ");
    struct stat sb;
    assert_int_equal(stat(f->broker.log, &sb), 0);
    print_message("4 s on a full disk: %d dispatches for %d jobs, broker log "
                  "%lld bytes\n",
                  dispatches, ok, (long long)sb.st_size);
    assert_true(dispatches < ok * 4 + 64);
    assert_true(sb.st_size < 256 * 1024);
    /* space again: everything completes exactly once, the held jobs
     * under a new attempt (the failed one was recorded by its expiry) */
    uint64_t t_room = hx_now_ms();
    assert_int_equal(unlink(filler), 0);
    check_oracle(f, "disk-full", 1, 60000);
    print_message("disk full: every held job committed %" PRIu64
                  " ms after space came back\n",
                  hx_now_ms() - t_room);
    assert_true(get_job(f, f->accepted[0]).attempts >= 2);
    check_workers_serve(f, 1, "serve");
    check_oracle(f, "disk-full", 1, 30000);
}

/* Issue 11 item 5: retries wait on the monotonic clock. The broker runs
 * under libfaketime (Debian faketime) with its wall clock driven by a
 * file, the monotonic clock left real; a job failing its first attempt
 * waits its backoff whatever the wall clock does: a jump of a day ahead
 * does not fire it early, a jump back does not hold it. */
static void
test_clock_jump_retry(void **state)
{
    fx_t *f = *state;
    glob_t g;
    if (glob("/usr/lib/*/faketime/libfaketime.so.1", 0, NULL, &g) != 0 &&
        glob("/usr/lib/faketime/libfaketime.so.1", 0, NULL, &g) != 0)
        fail_msg("libfaketime.so.1 missing: install Debian's faketime");
    char lib[256];
    snprintf(lib, sizeof lib, "%s", g.gl_pathv[0]);
    globfree(&g);
    char tsfile[160], env[320];
    snprintf(tsfile, sizeof tsfile, "%s/faketime", f->dir);
    FILE *tf = fopen(tsfile, "w");
    assert_non_null(tf);
    fputs("+0\n", tf);
    fclose(tf);
    hx_proc_t *b = &f->broker;
    snprintf(env, sizeof env, "LD_PRELOAD=%s", lib);
    hx_proc_setenv(b, env);
    snprintf(env, sizeof env, "FAKETIME_TIMESTAMP_FILE=%s", tsfile);
    hx_proc_setenv(b, env);
    hx_proc_setenv(b, "FAKETIME_NO_CACHE=1");
    hx_proc_setenv(b, "FAKETIME_DONT_FAKE_MONOTONIC=1");
    hx_proc_setenv(b, "ASAN_OPTIONS=verify_asan_link_order=0");
    const char *bargs[] = { "--retry-base-ms", "6000", "--retry-max-ms", "6000",
                            NULL };
    start_broker(f, bargs);
    /* a worker that fails texts over 300 bytes */
    const char *wargs[] = { "--max-text", "300", NULL };
    hx_proc_t *w = start_worker(f, 0, wargs);
    char big[1024];
    size_t blen = make_text(big, sizeof big, 1);
    blen += make_text(big + blen, sizeof big - blen, 2);
    wire_msg_t req = { .kind = WIRE_SUBMIT }, rep;
    req.u.submit.job.key = "retry";
    req.u.submit.job.text = big;
    req.u.submit.job.text_len = blen;
    assert_int_equal(rpc(f, &req, &rep), ERR_OK);
    assert_int_equal(rep.kind, WIRE_ACCEPTED);
    uint64_t id = rep.u.accepted.job_id;
    wire_msg_release(&rep);
    HX_WAIT_FOR(get_job(f, id).state == WIRE_JOB_DELAYED, 10000);
    uint64_t t_fail = hx_now_ms();
    /* a day ahead: without the fix the next tick promotes it */
    tf = fopen(tsfile, "w");
    assert_non_null(tf);
    fputs("+1d\n", tf);
    fclose(tf);
    usleep(1500 * 1000);
    if (hx_now_ms() - t_fail < 2500)
        assert_int_equal(get_job(f, id).state, WIRE_JOB_DELAYED);
    char needle[64];
    snprintf(needle, sizeof needle, "job=%" PRIu64 " attempt=2 dispatched", id);
    assert_int_equal(hx_count_in_file(w->log, needle), 0);
    /* and back a day: the retry still comes after its ~3-6 s */
    tf = fopen(tsfile, "w");
    assert_non_null(tf);
    fputs("-1d\n", tf);
    fclose(tf);
    HX_WAIT_FOR(hx_count_in_file(w->log, needle) == 1, 10000);
    uint64_t waited = hx_now_ms() - t_fail;
    print_message("retry came %" PRIu64 " ms after the failure (backoff "
                  "3000-6000 ms) across wall-clock jumps of +1d and -1d\n",
                  waited);
    assert_true(waited >= 2500);
    assert_true(hx_alive(b));
    /* and ordinary jobs flow under the faked clock: all committed once */
    assert_int_equal(submit_range(f, "clock", 0, 40, 0), 40);
    check_oracle(f, "clock-jump", 2, 30000);
    check_workers_serve(f, 1, "serve");
    check_oracle(f, "clock-jump", 2, 30000);
}

/* The seqs a consumer printed (lines {"seq":N,...}) into seqs; returns
 * how many. */
static size_t
consumer_seqs(const char *log, uint64_t *seqs, size_t cap)
{
    FILE *fp = fopen(log, "r");
    if (!fp)
        return 0;
    size_t n = 0;
    char line[8192];
    while (fgets(line, sizeof line, fp)) {
        if (strncmp(line, "{\"seq\":", 7) || !strchr(line, '\n'))
            continue; /* not a whole result line (stderr, a cut line) */
        assert_true(n < cap);
        seqs[n++] = strtoull(line + 7, NULL, 10);
    }
    fclose(fp);
    return n;
}

static void
start_consumer(fx_t *f, hx_proc_t *c, const char *log, uint64_t from)
{
    char fromv[32];
    snprintf(fromv, sizeof fromv, "%" PRIu64, from);
    snprintf(c->log, sizeof c->log, "%s/%s", f->dir, log);
    const char *args[] = { EXCERPT_CLI_BIN, "tail",        "--endpoint",
                           f->fe,           "--publisher", f->pub,
                           "--from",        fromv,         NULL };
    hx_proc_args(c, args);
    hx_spawn(c);
}

/* A consumer (`excerpt tail`) killed with kill -9 mid-stream and started
 * again from the last seq it wrote out sees every result once: its two
 * runs' lines together are seq 1..N without a gap or a repeat. */
static void
test_consumer_restart_from_cursor(void **state)
{
    fx_t *f = *state;
    const char *bargs[] = { NULL };
    start_broker(f, bargs);
    start_worker(f, 0, NULL);
    start_worker(f, 1, NULL);
    static hx_proc_t c1, c2; /* outlive this frame for hx_teardown */
    start_consumer(f, &c1, "consumer1.log", 0);
    static uint64_t s1[MAX_JOBS], s2[MAX_JOBS];
    assert_int_equal(submit_range(f, "cons", 0, 300, 0), 300);
    HX_WAIT_FOR(consumer_seqs(c1.log, s1, MAX_JOBS) >= 100, 20000);
    hx_kill(&c1, SIGKILL);
    size_t n1 = consumer_seqs(c1.log, s1, MAX_JOBS);
    uint64_t cursor = n1 ? s1[n1 - 1] : 0;
    /* more results land while no consumer runs */
    assert_int_equal(submit_range(f, "cons", 300, 600, 0), 300);
    start_consumer(f, &c2, "consumer2.log", cursor);
    assert_int_equal(submit_range(f, "cons", 600, 800, 0), 200);
    verdict_t v = check_oracle(f, "consumer-restart", 1, 60000);
    HX_WAIT_FOR(consumer_seqs(c2.log, s2, MAX_JOBS) + n1 >= v.committed, 20000);
    size_t n2 = consumer_seqs(c2.log, s2, MAX_JOBS);
    uint64_t expect = 1;
    for (size_t i = 0; i < n1 + n2; i++, expect++) {
        uint64_t got = i < n1 ? s1[i] : s2[i - n1];
        if (got != expect)
            fail_msg("consumer line %zu: seq %" PRIu64 ", expected %" PRIu64
                     " (cursor %" PRIu64 ")",
                     i, got, expect, cursor);
    }
    print_message("consumer: %zu lines before kill -9 (cursor %" PRIu64
                  "), %zu after; seq 1..%zu each once\n",
                  n1, cursor, n2, n1 + n2);
    assert_int_equal(n1 + n2, v.committed);
    hx_proc_free(&c1);
    assert_int_equal(hx_term(&c2, 20000), 0);
    hx_proc_free(&c2);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Run a shell command; fail the test, naming it, if it fails. */
static void
sh(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc != 0)
        fail_msg("command failed (status %d): %s", rc, cmd);
}

/* A worker cut off from the broker by a network partition: it runs in
 * its own network namespace, joined by a veth pair, and nftables in that
 * namespace drops everything to and from the broker for 8 s (as root;
 * CI runs as root: a namespace that cannot be made fails the test). The
 * broker re-leases its jobs to the other worker; after the heal the cut
 * worker's late answers are fenced, it registers again and takes work. */
static void
test_worker_partition(void **state)
{
    fx_t *f = *state;
    int x = 1 + (int)(getpid() % 250);
    snprintf(f->ns, sizeof f->ns, "excp%d", (int)getpid());
    char vh[16], vn[16];
    snprintf(vh, sizeof vh, "exh%d", (int)(getpid() % 1000000));
    snprintf(vn, sizeof vn, "exn%d", (int)(getpid() % 1000000));
    if (system("command -v nft >/dev/null") != 0)
        fail_msg("nft missing: install Debian's nftables (dev.sh does)");
    int rc = system("ip netns add excp-probe 2>/dev/null && ip netns del "
                    "excp-probe");
    if (rc != 0)
        fail_msg("cannot create a network namespace (needs root and "
                 "CAP_SYS_ADMIN; CI runs as root)");
    sh("ip netns add %s", f->ns);
    sh("ip link add %s type veth peer name %s", vh, vn);
    sh("ip link set %s netns %s", vn, f->ns);
    sh("ip addr add 10.213.%d.1/30 dev %s && ip link set %s up", x, vh, vh);
    sh("ip -n %s addr add 10.213.%d.2/30 dev %s && ip -n %s link set %s up "
       "&& ip -n %s link set lo up",
       f->ns, x, vn, f->ns, vn, f->ns);
    /* the backend on the veth address: no one else binds it */
    snprintf(f->be, sizeof f->be, "tcp://10.213.%d.1:7441", x);
    /* a veth address is not loopback: without keys the broker needs
     * --insecure to bind it (the namespace is this test's own) */
    const char *bargs[] = { "--insecure", "--worker-timeout-ms",
                            "2000",       "--lease-ms",
                            "4000",       "--retry-base-ms",
                            "100",        "--retry-max-ms",
                            "500",        NULL };
    start_broker(f, bargs);
    const char *wargs[] = { "--prefetch", "4", NULL };
    hx_proc_t *cut = start_worker_in(f, 0, wargs, f->ns);
    start_worker(f, 1, wargs);
    HX_WAIT_FOR(stats(f).workers == 2, 10000);
    f->pad = 16 * 1024;
    assert_int_equal(submit_range(f, "part", 0, 400, 0), 400);
    HX_WAIT_FOR(hx_count_in_file(cut->log, " dispatched ") >= 8, 20000);
    sh("ip netns exec %s nft -f - <<'EOF'\n"
       "table inet excerpt_cut {\n"
       " chain out { type filter hook output priority 0; ip daddr 10.213.%d.1 "
       "drop; }\n"
       " chain in { type filter hook input priority 0; ip saddr 10.213.%d.1 "
       "drop; }\n"
       "}\n"
       "EOF",
       f->ns, x, x);
    uint64_t t_cut = hx_now_ms();
    HX_WAIT_FOR(hx_count_in_file(f->broker.log, "worker lost worker=w0") >= 1,
                10000);
    HX_WAIT_FOR(stats(f).workers == 1, 10000);
    /* the other worker takes over what the cut one held */
    assert_int_equal(submit_range(f, "part", 400, 450, 0), 50);
    while (hx_now_ms() - t_cut < 8000)
        usleep(50000);
    sh("ip netns exec %s nft delete table inet excerpt_cut", f->ns);
    uint64_t t_heal = hx_now_ms();
    HX_WAIT_FOR(stats(f).workers == 2, 30000);
    uint64_t rec = hx_now_ms() - t_heal;
    print_message("partition 8 s: the cut worker registered again %" PRIu64
                  " ms after the heal\n",
                  rec);
    check_oracle(f, "worker-partition", 1, 60000);
    check_workers_serve(f, 2, "serve");
    check_oracle(f, "worker-partition", 1, 60000);
    assert_true(hx_alive(cut));
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const char *filter = getenv("EXCERPT_TEST_FILTER");
    if (filter)
        cmocka_set_test_filter(filter);
    hx_require_bin(EXCERPT_BROKER_BIN);
    hx_require_bin(EXCERPT_WORKER_BIN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_restart_gives_new_attempt, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fatal_store_exits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fsync_eio_transient, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_clock_jump_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consumer_restart_from_cursor,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_partition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broker_kill9_rounds, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
