/*
 * test_faults: the guarantees of DESIGN.md checked on real processes. Each
 * test starts excerpt-broker and excerpt-worker with fork/exec on ipc://
 * endpoints in a mkdtemp dir, plays the client on a DEALER through wire_*,
 * kills, stops and resumes processes, and waits on broker state with
 * deadlines. EXCERPT_TEST_KEEP=1 keeps the temp dir (logs) for a look.
 */
#include "../common/err.h"
#include "../common/now.h"
#include "../common/result.h"
#include "../proto/wire.h"
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#ifndef EXCERPT_BROKER_BIN
#define EXCERPT_BROKER_BIN ""
#endif
#ifndef EXCERPT_WORKER_BIN
#define EXCERPT_WORKER_BIN ""
#endif

#define MAX_ARGS HX_MAX_ARGS
#define MAX_WORKERS 4
#define RPC_MS HX_RPC_MS

typedef struct fx {
    char dir[64];                   /* temp dir */
    char data[128];                 /* broker data dir */
    char fe[192];                   /* frontend endpoint */
    char be[192];                   /* backend endpoint */
    char pub[192];                  /* publisher endpoint */
    void *ctx;                      /* ZeroMQ context of the test */
    void *dealer;                   /* client socket to the frontend */
    uint64_t rid;                   /* last request id */
    hx_proc_t broker;               /* excerpt-broker */
    hx_proc_t workers[MAX_WORKERS]; /* excerpt-worker processes */
} fx_t;

/* ------------------------------------------------------------ fixture */

static int
setup(void **state)
{
    hx_setup();
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    hx_tempdir(f->dir, sizeof f->dir, "test_faults");
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

static void
close_dealer(fx_t *f)
{
    hx_close(&f->dealer);
}

static void
open_dealer(fx_t *f)
{
    close_dealer(f);
    f->dealer = hx_socket(f->ctx, ZMQ_DEALER, f->fe);
}

/* Runs after a failed assertion too: kills every process, closes every
 * socket (zmq_ctx_term never waits), removes the temp dir. */
static int
teardown(void **state)
{
    fx_t *f = *state;
    hx_teardown(&f->ctx);
    hx_rmtree(f->dir);
    free(f);
    return 0;
}

/* Start (or restart, with the same arguments when extra is NULL) the
 * broker; waits for its "listening" line. */
static void
start_broker(fx_t *f, const char *const *extra)
{
    if (extra)
        hx_broker_args(&f->broker, EXCERPT_BROKER_BIN, f->data, f->fe, f->be,
                       f->pub, extra);
    hx_spawn_listening(&f->broker, 10000);
    open_dealer(f);
}

static hx_proc_t *
start_worker(fx_t *f, int i, const char *const *extra)
{
    const char *args[MAX_ARGS] = { EXCERPT_WORKER_BIN,
                                   "--broker",
                                   f->be,
                                   "--threads",
                                   "1",
                                   "--heartbeat-ms",
                                   "200",
                                   "--broker-timeout-ms",
                                   "3000" };
    size_t n = 9;
    char name[32];
    snprintf(name, sizeof name, "w%d", i);
    args[n++] = "--name";
    args[n++] = name;
    for (size_t k = 0; extra && extra[k]; k++) {
        assert_true(n < MAX_ARGS - 1);
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

/* ------------------------------------------------------------ client */

static void
send_env(fx_t *f, wire_msg_t *m)
{
    hx_send(f->dealer, m);
}

/* Receive one reply within timeout_ms; ERR_TIMEOUT when none. */
static int
recv_env(fx_t *f, int timeout_ms, wire_msg_t *m)
{
    return hx_recv(f->dealer, timeout_ms, m);
}

/* One request, the reply with the same request_id (others discarded). */
static int
rpc(fx_t *f, wire_msg_t *req, wire_msg_t *rep, int timeout_ms)
{
    return hx_rpc(f->dealer, &f->rid, req, rep, timeout_ms);
}

static wire_stats_t
stats(fx_t *f)
{
    wire_msg_t req = { .kind = WIRE_STATS }, rep;
    assert_int_equal(rpc(f, &req, &rep, RPC_MS), ERR_OK);
    assert_int_equal(rep.kind, WIRE_STATS_REPLY);
    wire_stats_t st = rep.u.stats_reply;
    wire_msg_release(&rep);
    return st;
}

typedef struct jinfo {
    int state;         /* wire_job_state_t, 0 when not found */
    uint32_t attempts; /* attempts started */
    uint64_t seq;      /* commit seq */
    uint64_t id;       /* job id */
    bool has_result;   /* GetReply carried a result */
} jinfo_t;

static jinfo_t
get_job(fx_t *f, uint64_t id)
{
    wire_msg_t req = { .kind = WIRE_GET }, rep;
    req.u.get.job_id = id;
    assert_int_equal(rpc(f, &req, &rep, RPC_MS), ERR_OK);
    jinfo_t j = { 0 };
    if (rep.kind == WIRE_GET_REPLY) {
        j.state = rep.u.get_reply.job.state;
        j.attempts = rep.u.get_reply.job.attempts;
        j.seq = rep.u.get_reply.job.seq;
        j.id = rep.u.get_reply.job.id;
        j.has_result = rep.u.get_reply.result_len > 0;
    }
    wire_msg_release(&rep);
    return j;
}

static int
job_state(fx_t *f, uint64_t id)
{
    return get_job(f, id).state;
}

typedef struct sub {
    int code;        /* WIRE_CODE_OK when accepted, else Rejected.code */
    uint64_t job_id; /* accepted job id */
    bool duplicate;  /* Accepted.duplicate */
    uint32_t retry_after_ms; /* Rejected.retry_after_ms */
} sub_t;

static sub_t
submit(fx_t *f, const char *key, const char *text, size_t len)
{
    wire_msg_t req = { .kind = WIRE_SUBMIT }, rep;
    req.u.submit.job.key = key;
    req.u.submit.job.source_url = key;
    req.u.submit.job.text = text;
    req.u.submit.job.text_len = len;
    assert_int_equal(rpc(f, &req, &rep, RPC_MS), ERR_OK);
    sub_t s = { 0 };
    if (rep.kind == WIRE_ACCEPTED) {
        s.job_id = rep.u.accepted.job_id;
        s.duplicate = rep.u.accepted.duplicate;
    } else {
        assert_int_equal(rep.kind, WIRE_REJECTED);
        s.code = rep.u.rejected.code;
        s.retry_after_ms = rep.u.rejected.retry_after_ms;
    }
    wire_msg_release(&rep);
    return s;
}

/* A small transcript of our own, different for every i. */
static size_t
make_text(char *buf, size_t cap, int i)
{
    int n = snprintf(buf, cap,
                     "The Minister of Finance met the Governor of the Northern "
                     "Province, meeting %d.\n"
                     "Minister of Finance Anna Petrova: Revenues rose by "
                     "%d.%d percent to %d million roubles in 2023.\n"
                     "Governor Pavel Sokolov: Thank you. We will build %d new "
                     "schools in Tomsk by March 2025.\n",
                     i, 1 + i % 9, i % 10, 100 + i, 2 + i % 40);
    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

typedef struct item {
    uint64_t seq;    /* commit sequence */
    uint64_t job_id; /* committed job */
} item_t;

/* Every committed result, in order, via Since pages. *n gets the count;
 * the caller frees the array. */
static item_t *
since_all(fx_t *f, size_t *n, uint64_t *last_seq)
{
    size_t cap = 1024, k = 0;
    item_t *items = malloc(cap * sizeof *items);
    assert_non_null(items);
    uint64_t after = 0;
    for (;;) {
        wire_msg_t req = { .kind = WIRE_SINCE }, rep;
        req.u.since.after_seq = after;
        req.u.since.limit = 1000;
        assert_int_equal(rpc(f, &req, &rep, RPC_MS), ERR_OK);
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

/* The log is gap-free from 1, and no job appears twice. Returns count. */
static size_t
check_log(fx_t *f, item_t **out)
{
    size_t n = 0;
    uint64_t last = 0;
    item_t *items = since_all(f, &n, &last);
    assert_int_equal(last, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(items[i].seq, i + 1);
        for (size_t j = 0; j < i; j++)
            if (items[j].job_id == items[i].job_id)
                fail_msg("job %" PRIu64 " committed twice (seq %" PRIu64
                         " and %" PRIu64 ")",
                         items[i].job_id, items[j].seq, items[i].seq);
    }
    if (out)
        *out = items;
    else
        free(items);
    return n;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------ tests */

/* Happy path: transcripts in, one result each, with speakers; a worker
 * drains on SIGTERM and exits 0. */
static void
test_pipeline(void **state)
{
    fx_t *f = *state;
    const char *bargs[] = { NULL };
    start_broker(f, bargs);
    start_worker(f, 0, NULL);
    start_worker(f, 1, NULL);
    HX_WAIT_FOR(stats(f).workers == 2, 5000);
    uint64_t ids[20];
    char text[1024], key[32];
    for (int i = 0; i < 20; i++) {
        size_t len = make_text(text, sizeof text, i);
        snprintf(key, sizeof key, "pipe-%d", i);
        sub_t s = submit(f, key, text, len);
        assert_int_equal(s.code, WIRE_CODE_OK);
        assert_false(s.duplicate);
        ids[i] = s.job_id;
    }
    HX_WAIT_FOR(stats(f).done == 20, 20000);
    for (int i = 0; i < 20; i++) {
        wire_msg_t req = { .kind = WIRE_GET }, rep;
        req.u.get.job_id = ids[i];
        assert_int_equal(rpc(f, &req, &rep, RPC_MS), ERR_OK);
        assert_int_equal(rep.kind, WIRE_GET_REPLY);
        assert_int_equal(rep.u.get_reply.job.state, WIRE_JOB_DONE);
        result_t *r = NULL;
        assert_int_equal(wire_result_decode(rep.u.get_reply.result,
                                            rep.u.get_reply.result_len, &r),
                         ERR_OK);
        assert_int_equal(r->job_id, ids[i]);
        assert_true(r->n_speakers >= 2);
        assert_true(r->n_turns >= 2);
        result_destroy(&r);
        wire_msg_release(&rep);
    }
    assert_int_equal(check_log(f, NULL), 20);
    assert_int_equal(hx_term(&f->workers[0], 20000), 0);
    assert_int_equal(hx_term(&f->workers[1], 20000), 0);
    assert_int_equal(hx_term(&f->broker, 30000), 0);
}

#define N_CRASH 2000

/* Guarantees 1-3: kill -9 of the broker during a 2,000-job run. Every job
 * whose Accepted we saw is committed exactly once after a restart; jobs
 * without an answer are resubmitted under the same key. */
static void
test_broker_kill9_exactly_once(void **state)
{
    fx_t *f = *state;
    const char *bargs[] = { "--max-queued", "100000", NULL };
    start_broker(f, bargs);
    start_worker(f, 0, NULL);
    start_worker(f, 1, NULL);

    static char texts[N_CRASH][400];
    static size_t lens[N_CRASH];
    static uint64_t accepted[N_CRASH]; /* job id, 0 if no Accepted seen */
    char keys[N_CRASH][16];
    memset(accepted, 0, sizeof accepted);
    for (int i = 0; i < N_CRASH; i++) {
        lens[i] = make_text(texts[i], sizeof texts[i], i);
        snprintf(keys[i], sizeof keys[i], "crash-%04d", i);
    }

    uint64_t t0 = now_mono_ms();
    /* phase 1: pipelined, window 100; kill -9 after a third is accepted */
    size_t next = 0, n_acc = 0, inflight = 0;
    while (n_acc < N_CRASH / 3) {
        while (inflight < 100 && next < N_CRASH) {
            wire_msg_t req = { .kind = WIRE_SUBMIT, .request_id = next + 1 };
            req.u.submit.job.key = keys[next];
            req.u.submit.job.text = texts[next];
            req.u.submit.job.text_len = lens[next];
            send_env(f, &req);
            next++;
            inflight++;
        }
        wire_msg_t rep;
        assert_int_equal(recv_env(f, RPC_MS, &rep), ERR_OK);
        assert_int_equal(rep.kind, WIRE_ACCEPTED);
        assert_true(rep.request_id >= 1 && rep.request_id <= next);
        accepted[rep.request_id - 1] = rep.u.accepted.job_id;
        n_acc++;
        inflight--;
        wire_msg_release(&rep);
    }
    hx_kill(&f->broker, SIGKILL);
    close_dealer(f);

    /* phase 2: restart; resubmit what had no answer, same keys */
    start_broker(f, NULL);
    size_t resubmitted = 0;
    uint64_t *ids = calloc(N_CRASH, sizeof *ids);
    assert_non_null(ids);
    inflight = 0;
    next = 0;
    size_t answered = 0, to_answer = 0;
    for (int i = 0; i < N_CRASH; i++)
        to_answer += accepted[i] == 0;
    while (answered < to_answer) {
        while (inflight < 100 && next < N_CRASH) {
            if (accepted[next]) {
                ids[next] = accepted[next];
                next++;
                continue;
            }
            wire_msg_t req = { .kind = WIRE_SUBMIT,
                               .request_id = 100000 + next };
            req.u.submit.job.key = keys[next];
            req.u.submit.job.text = texts[next];
            req.u.submit.job.text_len = lens[next];
            send_env(f, &req);
            resubmitted++;
            next++;
            inflight++;
        }
        wire_msg_t rep;
        assert_int_equal(recv_env(f, RPC_MS, &rep), ERR_OK);
        assert_int_equal(rep.kind, WIRE_ACCEPTED);
        size_t i = rep.request_id - 100000;
        assert_true(i < N_CRASH);
        ids[i] = rep.u.accepted.job_id;
        answered++;
        inflight--;
        wire_msg_release(&rep);
    }
    while (next < N_CRASH) {
        ids[next] = accepted[next];
        next++;
    }
    /* an accepted key sent again is the same job (dedup survived) */
    for (int i = 0; i < N_CRASH; i++) {
        if (!accepted[i])
            continue;
        sub_t s = submit(f, keys[i], texts[i], lens[i]);
        assert_int_equal(s.code, WIRE_CODE_OK);
        assert_true(s.duplicate);
        assert_int_equal(s.job_id, accepted[i]);
        break;
    }

    HX_WAIT_FOR(stats(f).done >= N_CRASH, 120000);
    uint64_t elapsed = now_mono_ms() - t0;
    wire_stats_t st = stats(f);
    assert_int_equal(st.done, N_CRASH);
    assert_int_equal(st.ready + st.leased + st.delayed + st.dead, 0);

    item_t *items = NULL;
    size_t n = check_log(f, &items);
    assert_int_equal(n, N_CRASH);
    /* the committed job ids are exactly the ids the keys got */
    uint64_t *a = malloc(N_CRASH * sizeof *a), *b = malloc(n * sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    for (size_t i = 0; i < N_CRASH; i++)
        a[i] = ids[i];
    for (size_t i = 0; i < n; i++)
        b[i] = items[i].job_id;
    qsort(a, N_CRASH, sizeof *a, cmp_u64);
    qsort(b, n, sizeof *b, cmp_u64);
    for (size_t i = 0; i < N_CRASH; i++) {
        assert_true(a[i] != 0);
        assert_int_equal(a[i], b[i]);
        if (i)
            assert_true(a[i] != a[i - 1]);
    }
    print_message("broker kill -9 after %zu accepted, %zu resubmitted, "
                  "%d committed once each; %" PRIu64
                  " ms from first submit to last commit, restart included\n",
                  n_acc, resubmitted, N_CRASH, elapsed);
    free(a);
    free(b);
    free(items);
    free(ids);
}

/* Guarantee 2: a worker killed with the job leased to it; the job is
 * leased again to another worker and completed. The worker is stopped
 * before the job is submitted so that it is certainly holding it. */
static void
test_worker_kill9_job_released(void **state)
{
    fx_t *f = *state;
    const char *bargs[] = { "--lease-ms",
                            "2000",
                            "--worker-timeout-ms",
                            "1000",
                            "--retry-base-ms",
                            "50",
                            "--retry-max-ms",
                            "200",
                            NULL };
    start_broker(f, bargs);
    hx_proc_t *a = start_worker(f, 0, NULL);
    HX_WAIT_FOR(stats(f).workers == 1, 5000);
    hx_kill(a, SIGSTOP);
    char text[1024];
    size_t len = make_text(text, sizeof text, 1);
    sub_t s = submit(f, "kill-worker", text, len);
    assert_int_equal(s.code, WIRE_CODE_OK);
    HX_WAIT_FOR(job_state(f, s.job_id) == WIRE_JOB_LEASED, 5000);
    hx_kill(a, SIGKILL);
    start_worker(f, 1, NULL);
    HX_WAIT_FOR(job_state(f, s.job_id) == WIRE_JOB_DONE, 15000);
    jinfo_t j = get_job(f, s.job_id);
    assert_int_equal(j.attempts, 2);
    assert_true(j.has_result);
    assert_int_equal(check_log(f, NULL), 1);
}

/* Guarantee 2 (fencing): a worker SIGSTOPped past its lease; another
 * worker completes the job; the first resumes and its late Done is
 * answered NOT_FOUND and changes nothing. */
static void
test_stopped_worker_late_done_fenced(void **state)
{
    fx_t *f = *state;
    /* the stopped worker is lost after worker-timeout (1 s); the lease
     * (1.5 s) only has to outlast the second worker's heartbeat period */
    const char *bargs[] = { "--lease-ms",
                            "1500",
                            "--worker-timeout-ms",
                            "1000",
                            "--retry-base-ms",
                            "50",
                            "--retry-max-ms",
                            "200",
                            NULL };
    start_broker(f, bargs);
    /* stopped for longer than its own broker-timeout too: once resumed it
     * must still read the Dispatch that waited in its socket */
    /* one slot: the stopped worker holds only this job, so its retry
     * goes to the second worker, never back to the stopped one */
    const char *wargs[] = { "--broker-timeout-ms", "2000", "--threads", "1",
                            "--prefetch",          "1",    NULL };
    hx_proc_t *a = start_worker(f, 0, wargs);
    HX_WAIT_FOR(stats(f).workers == 1, 5000);
    hx_kill(a, SIGSTOP);
    uint64_t stopped_at = now_mono_ms();
    char text[1024];
    size_t len = make_text(text, sizeof text, 2);
    sub_t s = submit(f, "late-done", text, len);
    assert_int_equal(s.code, WIRE_CODE_OK);
    HX_WAIT_FOR(job_state(f, s.job_id) == WIRE_JOB_LEASED, 5000);
    start_worker(f, 1, NULL);
    HX_WAIT_FOR(job_state(f, s.job_id) == WIRE_JOB_DONE, 15000);
    jinfo_t before = get_job(f, s.job_id);
    assert_int_equal(before.attempts, 2);

    while (now_mono_ms() - stopped_at < 2500)
        usleep(10000);
    hx_kill(a, SIGCONT);
    HX_WAIT_FOR(hx_count_in_file(a->log, "fenced by broker code=NOT_FOUND") ==
                    1,
                10000);
    jinfo_t after = get_job(f, s.job_id);
    assert_int_equal(after.state, WIRE_JOB_DONE);
    assert_int_equal(after.seq, before.seq);
    assert_int_equal(after.attempts, 2);
    assert_int_equal(check_log(f, NULL), 1);
    wire_stats_t st = stats(f);
    assert_int_equal(st.done, 1);
    assert_int_equal(st.committed_total, 1);
    /* the resumed worker is healthy: it drains and exits 0 */
    assert_int_equal(hx_term(a, 20000), 0);
}

/* Guarantee 4: the same key twice is one job, also once it is done. */
static void
test_duplicate_key_one_job(void **state)
{
    fx_t *f = *state;
    const char *bargs[] = { NULL };
    start_broker(f, bargs);
    char text[1024];
    size_t len = make_text(text, sizeof text, 3);
    sub_t a = submit(f, "same-key", text, len);
    sub_t b = submit(f, "same-key", text, len);
    assert_int_equal(a.code, WIRE_CODE_OK);
    assert_int_equal(b.code, WIRE_CODE_OK);
    assert_false(a.duplicate);
    assert_true(b.duplicate);
    assert_int_equal(a.job_id, b.job_id);
    assert_int_equal(stats(f).ready, 1);
    start_worker(f, 0, NULL);
    HX_WAIT_FOR(job_state(f, a.job_id) == WIRE_JOB_DONE, 10000);
    sub_t c = submit(f, "same-key", text, len);
    assert_int_equal(c.code, WIRE_CODE_OK);
    assert_true(c.duplicate);
    assert_int_equal(c.job_id, a.job_id);
    assert_int_equal(check_log(f, NULL), 1);
}

/* Guarantee 5: a full queue answers Rejected QUEUE_FULL with a retry hint
 * and changes nothing; reads still work. */
static void
test_queue_full_rejected(void **state)
{
    fx_t *f = *state;
    const char *bargs[] = { "--max-queued", "3", NULL };
    start_broker(f, bargs);
    char text[1024], key[32];
    uint64_t first = 0;
    for (int i = 0; i < 3; i++) {
        size_t len = make_text(text, sizeof text, 10 + i);
        snprintf(key, sizeof key, "full-%d", i);
        sub_t s = submit(f, key, text, len);
        assert_int_equal(s.code, WIRE_CODE_OK);
        if (!first)
            first = s.job_id;
    }
    size_t len = make_text(text, sizeof text, 13);
    sub_t s = submit(f, "full-3", text, len);
    assert_int_equal(s.code, WIRE_CODE_QUEUE_FULL);
    assert_true(s.retry_after_ms > 0);
    wire_stats_t st = stats(f);
    assert_int_equal(st.ready, 3);
    assert_true(st.rejected_total >= 1);
    assert_int_equal(job_state(f, first), WIRE_JOB_READY);
    /* once a worker drains the queue, the refused job goes in */
    start_worker(f, 0, NULL);
    HX_WAIT_FOR(stats(f).done == 3, 10000);
    len = make_text(text, sizeof text, 13);
    s = submit(f, "full-3", text, len);
    assert_int_equal(s.code, WIRE_CODE_OK);
    assert_false(s.duplicate);
}

/* A job that fails every attempt (its text is over the worker's max-text)
 * ends in the dead letters with the reason and one history line per
 * attempt. */
static void
test_failing_job_dead_lettered(void **state)
{
    fx_t *f = *state;
    const char *bargs[] = { "--max-attempts",
                            "3",
                            "--retry-base-ms",
                            "50",
                            "--retry-max-ms",
                            "200",
                            NULL };
    start_broker(f, bargs);
    const char *wargs[] = { "--max-text", "300", NULL };
    start_worker(f, 0, wargs);
    char text[1024];
    size_t len = make_text(text, sizeof text, 20);
    assert_true(len < 300);
    sub_t ok = submit(f, "short", text, len);
    char big[2048];
    size_t blen = 0;
    while (blen < 600)
        blen += make_text(big + blen, sizeof big - blen, 21);
    sub_t bad = submit(f, "too-long", big, blen);
    assert_int_equal(ok.code, WIRE_CODE_OK);
    assert_int_equal(bad.code, WIRE_CODE_OK);
    HX_WAIT_FOR(job_state(f, bad.job_id) == WIRE_JOB_DEAD, 15000);
    assert_int_equal(job_state(f, ok.job_id), WIRE_JOB_DONE);

    wire_msg_t req = { .kind = WIRE_DEAD_LIST }, rep;
    assert_int_equal(rpc(f, &req, &rep, RPC_MS), ERR_OK);
    assert_int_equal(rep.kind, WIRE_DEAD_LIST_REPLY);
    assert_int_equal(rep.u.dead_list_reply.n, 1);
    const wire_dead_t *d = &rep.u.dead_list_reply.items[0];
    assert_int_equal(d->job.id, bad.job_id);
    assert_non_null(strstr(d->reason, "max-text"));
    assert_int_equal(d->n_history, 3);
    assert_int_equal(d->job.attempts, 3);
    wire_msg_release(&rep);
    wire_stats_t st = stats(f);
    assert_int_equal(st.dead, 1);
    assert_int_equal(st.done, 1);
}

/* A map limit that fills: submits get STORE_FULL, reads keep working. */
static void
test_map_limit_store_full(void **state)
{
    fx_t *f = *state;
    const char *bargs[] = { "--map-size", "1M", "--map-limit", "2M", NULL };
    start_broker(f, bargs);
    size_t len = 64 * 1024;
    char *text = malloc(len);
    assert_non_null(text);
    size_t k = 0;
    while (k < len) {
        char line[400];
        size_t n = make_text(line, sizeof line, (int)k);
        if (n > len - k)
            n = len - k;
        memcpy(text + k, line, n);
        k += n;
    }
    uint64_t first = 0;
    sub_t s = { 0 };
    int i;
    for (i = 0; i < 200; i++) {
        char key[32];
        snprintf(key, sizeof key, "fill-%d", i);
        text[0] = (char)('A' + i % 26); /* distinct payloads */
        s = submit(f, key, text, len);
        if (s.code != WIRE_CODE_OK)
            break;
        if (!first)
            first = s.job_id;
    }
    assert_true(i > 2 && i < 200);
    assert_int_equal(s.code, WIRE_CODE_STORE_FULL);
    assert_true(s.retry_after_ms > 0);
    /* the refusal changed nothing, and reads are still served */
    s = submit(f, "fill-again", text, len);
    assert_int_equal(s.code, WIRE_CODE_STORE_FULL);
    wire_stats_t st = stats(f);
    assert_int_equal(st.ready, (uint64_t)i);
    assert_true(st.map_limit == 2u << 20);
    wire_msg_t req = { .kind = WIRE_GET }, rep;
    req.u.get.job_id = first;
    req.u.get.with_text = true;
    assert_int_equal(rpc(f, &req, &rep, RPC_MS), ERR_OK);
    assert_int_equal(rep.kind, WIRE_GET_REPLY);
    assert_int_equal(rep.u.get_reply.text_len, len);
    wire_msg_release(&rep);
    assert_true(hx_alive(&f->broker));
    free(text);
}

/* Guarantee 6: garbage, a wrong version, an oversized text and a frame
 * over ZMQ_MAXMSGSIZE are refused (or the connection dropped) and the
 * broker keeps serving. */
static void
test_bad_frames_rejected(void **state)
{
    fx_t *f = *state;
    const char *bargs[] = { NULL };
    start_broker(f, bargs);
    wire_msg_t rep;

    static const char junk[] = "\xff\xfe\x01 not an envelope";
    assert_true(zmq_send(f->dealer, junk, sizeof junk, 0) >= 0);
    assert_int_equal(recv_env(f, RPC_MS, &rep), ERR_OK);
    assert_int_equal(rep.kind, WIRE_REJECTED);
    assert_int_equal(rep.u.rejected.code, WIRE_CODE_INVALID);
    wire_msg_release(&rep);

    wire_msg_t v2 = { .kind = WIRE_STATS, .version = 2 };
    assert_int_equal(rpc(f, &v2, &rep, RPC_MS), ERR_OK);
    assert_int_equal(rep.kind, WIRE_REJECTED);
    assert_int_equal(rep.u.rejected.code, WIRE_CODE_BAD_VERSION);
    wire_msg_release(&rep);

    sub_t s = submit(f, "bad-utf8", "Minister: \xc3\x28 rose", 17);
    assert_int_equal(s.code, WIRE_CODE_BAD_UTF8);
    s = submit(f, "empty", "", 0);
    assert_int_equal(s.code, WIRE_CODE_INVALID);

    /* 64 MiB + 1: fits in a frame, over the text limit */
    size_t big = WIRE_MAX_TEXT + 1;
    char *text = malloc(big);
    assert_non_null(text);
    memset(text, 'a', big);
    s = submit(f, "too-large", text, big);
    assert_int_equal(s.code, WIRE_CODE_TOO_LARGE);
    free(text);

    /* over ZMQ_MAXMSGSIZE: the connection is dropped, nothing answered */
    size_t huge = WIRE_MAX_FRAME + 1;
    char *frame = calloc(1, huge);
    assert_non_null(frame);
    assert_true(zmq_send(f->dealer, frame, huge, 0) >= 0);
    free(frame);
    open_dealer(f);

    /* a worker-side socket sending garbage gets refused too */
    void *w = zmq_socket(f->ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(w, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_connect(w, f->be), 0);
    assert_true(zmq_send(w, junk, sizeof junk, 0) >= 0);
    zmq_pollitem_t it = { .socket = w, .events = ZMQ_POLLIN };
    assert_int_equal(zmq_poll(&it, 1, RPC_MS), 1);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    assert_true(zmq_msg_recv(&msg, w, 0) >= 0);
    assert_int_equal(
        wire_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), 0, &rep), ERR_OK);
    assert_int_equal(rep.kind, WIRE_REJECTED);
    wire_msg_release(&rep);
    zmq_msg_close(&msg);
    zmq_close(w);

    /* and the broker still works */
    wire_stats_t st = stats(f);
    assert_int_equal(st.ready, 0);
    char ok[1024];
    size_t len = make_text(ok, sizeof ok, 30);
    s = submit(f, "after-garbage", ok, len);
    assert_int_equal(s.code, WIRE_CODE_OK);
    assert_true(hx_alive(&f->broker));
}

/* A worker outlives its broker: kill -9 the broker while the worker idles,
 * restart it, and the worker registers again and takes work. */
static void
test_worker_survives_broker_restart(void **state)
{
    fx_t *f = *state;
    const char *bargs[] = { NULL };
    start_broker(f, bargs);
    hx_proc_t *w = start_worker(f, 0, NULL);
    HX_WAIT_FOR(stats(f).workers == 1, 5000);
    hx_kill(&f->broker, SIGKILL);
    close_dealer(f);
    start_broker(f, NULL);
    HX_WAIT_FOR(stats(f).workers == 1, 10000);
    char text[1024];
    size_t len = make_text(text, sizeof text, 40);
    sub_t s = submit(f, "after-restart", text, len);
    assert_int_equal(s.code, WIRE_CODE_OK);
    HX_WAIT_FOR(job_state(f, s.job_id) == WIRE_JOB_DONE, 10000);
    assert_true(hx_alive(w));
    assert_int_equal(hx_term(w, 20000), 0);
}

/* A transcript of about n bytes (caller frees), slow enough to extract
 * that a job is certainly running for a while. */
static char *
make_big_text(size_t n, size_t *len)
{
    char *text = malloc(n + 512);
    assert_non_null(text);
    size_t k = 0;
    for (int i = 0; k < n; i++)
        k += make_text(text + k, n + 512 - k, i);
    *len = k;
    return text;
}

#define BIG_TEXT (8u << 20)

/* Heartbeats extend the lease: a job that takes longer than lease-ms to
 * extract is still finished by its first attempt. */
static void
test_heartbeats_extend_lease(void **state)
{
    fx_t *f = *state;
    /* The lease starts when the broker sends the Dispatch, so it must also
     * cover moving 8 MiB to the worker on a loaded machine (a 300 ms lease
     * expired before a sanitizer build had even decoded the job); 1.5 s is
     * still shorter than the extraction in sanitizer builds. */
    const char *bargs[] = {
        "--lease-ms", "1500", "--worker-timeout-ms", "5000", "--retry-base-ms",
        "50",         NULL
    };
    start_broker(f, bargs);
    const char *wargs[] = { "--heartbeat-ms", "100", "--log-level", "debug",
                            NULL };
    hx_proc_t *w = start_worker(f, 0, wargs);
    size_t len;
    char *text = make_big_text(BIG_TEXT, &len);
    sub_t s = submit(f, "slow-job", text, len);
    free(text);
    assert_int_equal(s.code, WIRE_CODE_OK);
    HX_WAIT_FOR(job_state(f, s.job_id) == WIRE_JOB_DONE, 90000);

    jinfo_t j = get_job(f, s.job_id);
    assert_int_equal(j.attempts, 1);
    assert_true(j.has_result);
    /* how long the engine took, from the worker's own log line */
    unsigned long long us = 0;
    FILE *lf = fopen(w->log, "r");
    assert_non_null(lf);
    char line[4096];
    while (fgets(line, sizeof line, lf)) {
        const char *p = strstr(line, " attempt=1 done extract_us=");
        if (p)
            us = strtoull(p + strlen(" attempt=1 done extract_us="), NULL, 10);
    }
    fclose(lf);
    assert_true(us > 0);
    print_message("%zu-byte job extracted in %llu ms under a 1500 ms lease%s\n",
                  len, us / 1000,
                  us < 1500000 ? " (faster than the lease: not conclusive)"
                               : "");
    assert_int_equal(check_log(f, NULL), 1);
}

/* SIGTERM while a job runs: the worker finishes it, its Done is
 * committed, and it exits 0. */
static void
test_worker_drains_on_sigterm(void **state)
{
    fx_t *f = *state;
    const char *bargs[] = { NULL };
    start_broker(f, bargs);
    const char *wargs[] = { "--log-level", "debug", NULL };
    hx_proc_t *w = start_worker(f, 0, wargs);
    size_t len;
    char *text = make_big_text(BIG_TEXT, &len);
    sub_t s = submit(f, "drain-job", text, len);
    free(text);
    assert_int_equal(s.code, WIRE_CODE_OK);
    char needle[64];
    snprintf(needle, sizeof needle, "job=%" PRIu64 " attempt=1 dispatched",
             s.job_id);
    HX_WAIT_FOR(hx_count_in_file(w->log, needle) == 1, 10000);
    assert_int_equal(hx_term(w, 90000), 0);
    jinfo_t j = get_job(f, s.job_id);
    assert_int_equal(j.state, WIRE_JOB_DONE);
    assert_int_equal(j.attempts, 1);
    assert_int_equal(hx_count_in_file(w->log, "draining"), 1);
    assert_int_equal(check_log(f, NULL), 1);
}

/* kill -9 of a worker while it extracts: the job is leased again to
 * another worker and completed once. */
static void
test_worker_kill9_mid_extraction(void **state)
{
    fx_t *f = *state;
    const char *bargs[] = { "--worker-timeout-ms",
                            "1000",
                            "--retry-base-ms",
                            "50",
                            "--retry-max-ms",
                            "200",
                            NULL };
    start_broker(f, bargs);
    const char *wargs[] = { "--log-level", "debug", NULL };
    hx_proc_t *a = start_worker(f, 0, wargs);
    size_t len;
    char *text = make_big_text(BIG_TEXT, &len);
    sub_t s = submit(f, "kill-mid-job", text, len);
    free(text);
    assert_int_equal(s.code, WIRE_CODE_OK);
    char needle[64];
    snprintf(needle, sizeof needle, "job=%" PRIu64 " attempt=1 dispatched",
             s.job_id);
    HX_WAIT_FOR(hx_count_in_file(a->log, needle) == 1, 10000);
    hx_kill(a, SIGKILL);
    start_worker(f, 1, NULL);
    HX_WAIT_FOR(job_state(f, s.job_id) == WIRE_JOB_DONE, 90000);
    jinfo_t j = get_job(f, s.job_id);
    if (j.attempts == 1)
        print_message("the worker finished before the kill: not conclusive\n");
    else
        assert_int_equal(j.attempts, 2);
    assert_int_equal(check_log(f, NULL), 1);
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const char *filter = getenv("EXCERPT_TEST_FILTER");
    if (filter)
        cmocka_set_test_filter(filter);
    /* a program the build did not make fails the suite, never skips it */
    hx_require_bin(EXCERPT_BROKER_BIN);
    hx_require_bin(EXCERPT_WORKER_BIN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pipeline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_key_one_job, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_queue_full_rejected, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_frames_rejected, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_map_limit_store_full, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failing_job_dead_lettered, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_worker_kill9_job_released, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stopped_worker_late_done_fenced,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_survives_broker_restart,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeats_extend_lease, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_worker_drains_on_sigterm, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_worker_kill9_mid_extraction, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_broker_kill9_exactly_once, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
