/*
 * test_broker: the broker library running in a thread on ipc:// endpoints
 * in a temp dir, with a real LMDB store. The test plays client, worker and
 * consumer with raw ZeroMQ sockets speaking the real protocol via wire_*.
 */
#include "../broker/broker.h"
#include "../common/err.h"
#include "../common/log.h"
#include "../common/now.h"
#include "../common/result.h"
#include "../proto/wire.h"
#include "../proto/wire_batch.h"
#include "../storage/store.h"
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
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

#define WAIT_MS 5000

typedef struct fx {
    char dir[64];     /* temp dir */
    broker_cfg_t cfg; /* broker settings */
    broker_t *b;      /* the broker */
    pthread_t thread; /* runs broker_run */
    int run_rc;       /* broker_run's result */
    void *ctx;        /* test-side context */
    void *client;     /* DEALER on the frontend */
    void *worker;     /* DEALER on the backend */
    void *sub;        /* SUB on the publisher */
    void *other;      /* a second worker DEALER, if a test made one */
    uint64_t rid;     /* request ids */
} fx_t;

static void *
run_thread(void *arg)
{
    fx_t *f = arg;
    f->run_rc = broker_run(f->b);
    return NULL;
}

static void *
dealer(fx_t *f, const char *endpoint)
{
    return hx_socket(f->ctx, ZMQ_DEALER, endpoint);
}

static int
setup(void **state)
{
    hx_setup();
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    hx_tempdir(f->dir, sizeof f->dir, "test_broker");
    assert_int_equal(broker_cfg_defaults(&f->cfg), 0);
    char buf[128];
    snprintf(buf, sizeof buf, "%s/data", f->dir);
    assert_int_equal(cfg_set(broker_cfg_table, broker_cfg_table_len, &f->cfg,
                             "data-dir", buf, "test"),
                     0);
    const char *names[] = { "frontend", "backend", "publisher" };
    const char *socks[] = { "f.sock", "b.sock", "p.sock" };
    for (int i = 0; i < 3; i++) {
        snprintf(buf, sizeof buf, "ipc://%s/%s", f->dir, socks[i]);
        assert_int_equal(cfg_set(broker_cfg_table, broker_cfg_table_len,
                                 &f->cfg, names[i], buf, "test"),
                         0);
    }
    f->cfg.retry_base_ms = 10;
    f->cfg.retry_max_ms = 20;
    f->ctx = zmq_ctx_new();
    assert_non_null(f->ctx);
    *state = f;
    return 0;
}

static void
start(fx_t *f)
{
    assert_int_equal(broker_open(&f->b, &f->cfg), 0);
    assert_int_equal(pthread_create(&f->thread, NULL, run_thread, f), 0);
    f->client = dealer(f, f->cfg.frontend);
    f->worker = dealer(f, f->cfg.backend);
    f->sub = hx_socket(f->ctx, ZMQ_SUB, NULL);
    assert_int_equal(zmq_setsockopt(f->sub, ZMQ_SUBSCRIBE, "committed", 9), 0);
    assert_int_equal(zmq_connect(f->sub, f->cfg.publisher), 0);
}

static void
stop(fx_t *f)
{
    if (!f->b)
        return;
    broker_request_stop(f->b);
    assert_int_equal(pthread_join(f->thread, NULL), 0);
    assert_int_equal(f->run_rc, 0);
    broker_destroy(&f->b);
}

static int
teardown(void **state)
{
    fx_t *f = *state;
    stop(f);
    /* every socket the test made, closed or not, and the binary's
     * processes: a failed test never hangs in zmq_ctx_term */
    hx_teardown(&f->ctx);
    broker_cfg_free(&f->cfg);
    hx_rmtree(f->dir);
    free(f);
    return 0;
}

static void
send_raw(void *sock, const void *buf, size_t len)
{
    assert_int_equal(zmq_send(sock, buf, len, 0), (int)len);
}

static uint64_t
send_wire(fx_t *f, void *sock, wire_msg_t *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (!m->request_id)
        m->request_id = ++f->rid;
    assert_int_equal(wire_encode(m, &buf, &len), 0);
    send_raw(sock, buf, len);
    free(buf);
    return m->request_id;
}

/* Receive one Envelope within timeout_ms; returns 0 or ERR_TIMEOUT. For a
 * SUB socket the topic frame is checked and skipped. */
static int
recv_wire(void *sock, int timeout_ms, wire_msg_t *out)
{
    zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };
    uint64_t end = now_mono_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = now_mono_ms();
        if (now >= end)
            return ERR_TIMEOUT;
        int n = zmq_poll(&it, 1, (long)(end - now));
        if (n > 0)
            break;
    }
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    assert_true(zmq_msg_recv(&msg, sock, 0) >= 0);
    while (zmq_msg_more(&msg)) {
        assert_int_equal(zmq_msg_size(&msg), 9);
        assert_memory_equal(zmq_msg_data(&msg), "committed", 9);
        zmq_msg_close(&msg);
        zmq_msg_init(&msg);
        assert_true(zmq_msg_recv(&msg, sock, 0) >= 0);
    }
    int rc = wire_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), 0, out);
    zmq_msg_close(&msg);
    assert_int_equal(rc, 0);
    return 0;
}

/* Send a request and wait for the reply with the same request_id. */
static void
rpc(fx_t *f, void *sock, wire_msg_t *req, wire_msg_t *rep)
{
    uint64_t rid = send_wire(f, sock, req);
    assert_int_equal(recv_wire(sock, WAIT_MS, rep), 0);
    assert_int_equal(rep->request_id, rid);
}

static uint64_t
submit(fx_t *f, const char *key, const char *text, int prio, int *kind,
       bool *dup)
{
    wire_msg_t m, r;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_SUBMIT;
    m.u.submit.job.key = key;
    m.u.submit.job.text = text;
    m.u.submit.job.text_len = strlen(text);
    m.u.submit.job.priority = prio;
    m.u.submit.job.title = "Test meeting";
    rpc(f, f->client, &m, &r);
    *kind = r.kind;
    uint64_t id = 0;
    if (r.kind == WIRE_ACCEPTED) {
        id = r.u.accepted.job_id;
        if (dup)
            *dup = r.u.accepted.duplicate;
    } else if (r.kind == WIRE_REJECTED) {
        id = (uint64_t)r.u.rejected.code;
    }
    wire_msg_release(&r);
    return id;
}

static uint64_t
submit_ok(fx_t *f, const char *key, const char *text)
{
    int kind;
    bool dup;
    uint64_t id = submit(f, key, text, 0, &kind, &dup);
    assert_int_equal(kind, WIRE_ACCEPTED);
    return id;
}

static void
ready(fx_t *f, void *w, uint32_t credit)
{
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_READY;
    m.u.ready.credit = credit;
    m.u.ready.capacity = credit;
    m.u.ready.worker_name = "test:1";
    send_wire(f, w, &m);
}

/* Wait for a Dispatch on worker socket w; returns job id and attempt. */
static uint64_t
expect_dispatch(void *w, uint32_t *attempt, int timeout_ms)
{
    wire_msg_t m;
    uint64_t end = now_mono_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = now_mono_ms();
        if (now >= end || recv_wire(w, (int)(end - now), &m) != 0)
            return 0;
        if (m.kind == WIRE_HEARTBEAT) {
            wire_msg_release(&m);
            continue;
        }
        assert_int_equal(m.kind, WIRE_DISPATCH);
        uint64_t id = m.u.dispatch.job.id;
        *attempt = m.u.dispatch.attempt;
        assert_true(m.u.dispatch.lease_ms > 0);
        assert_true(m.u.dispatch.job.text_len > 0);
        wire_msg_release(&m);
        return id;
    }
}

static void
encode_result(uint64_t id, uint8_t **buf, size_t *len)
{
    const char *text = "Lena Berg: Norway and Chile agreed.";
    result_t *r = result_new();
    r->job_id = id;
    int32_t sp = result_add_speaker(r, "Lena Berg", "");
    result_add_turn(r, sp, 0, 11, (uint32_t)strlen(text));
    int32_t e = result_add_entity(r, RESULT_GPE, "Norway", NULL);
    result_add_mention(r, e, text, 11, 17);
    result_finish(r);
    assert_int_equal(wire_result_encode(r, buf, len), 0);
    result_destroy(&r);
}

/* Send Done{id, attempt, result} on w without waiting; its request id. */
static uint64_t
send_done(fx_t *f, void *w, uint64_t id, uint32_t attempt,
          const uint8_t *result, size_t len)
{
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_DONE;
    m.u.done.job_id = id;
    m.u.done.attempt = attempt;
    m.u.done.result = result;
    m.u.done.result_len = len;
    return send_wire(f, w, &m);
}

/* Send Done and return the DoneAck code. */
static int
done(fx_t *f, void *w, uint64_t id, uint32_t attempt)
{
    uint8_t *buf;
    size_t len;
    encode_result(id, &buf, &len);
    wire_msg_t r;
    uint64_t rid = send_done(f, w, id, attempt, buf, len);
    assert_int_equal(recv_wire(w, WAIT_MS, &r), 0);
    assert_int_equal(r.request_id, rid);
    free(buf);
    assert_int_equal(r.kind, WIRE_DONE_ACK);
    assert_int_equal(r.u.done_ack.job_id, id);
    assert_int_equal(r.u.done_ack.attempt, attempt);
    int code = r.u.done_ack.code;
    wire_msg_release(&r);
    return code;
}

static int
failed(fx_t *f, void *w, uint64_t id, uint32_t attempt, const char *why,
       bool permanent)
{
    wire_msg_t m, r;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_FAILED;
    m.u.failed.job_id = id;
    m.u.failed.attempt = attempt;
    m.u.failed.reason = why;
    m.u.failed.permanent = permanent;
    rpc(f, w, &m, &r);
    assert_int_equal(r.kind, WIRE_DONE_ACK);
    int code = r.u.done_ack.code;
    wire_msg_release(&r);
    return code;
}

static void
get(fx_t *f, uint64_t id, const char *key, wire_msg_t *r)
{
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_GET;
    m.u.get.job_id = id;
    m.u.get.key = key;
    m.u.get.with_text = true;
    rpc(f, f->client, &m, r);
}

static void
test_submit_dispatch_done_get(void **state)
{
    fx_t *f = *state;
    start(f);
    const char *text = "Lena Berg: Norway and Chile agreed.";
    int kind;
    bool dup = true;
    uint64_t id = submit(f, NULL, text, 0, &kind, &dup);
    assert_int_equal(kind, WIRE_ACCEPTED);
    assert_int_equal(id, 1);
    assert_false(dup);

    ready(f, f->worker, 1);
    uint32_t att = 0;
    assert_int_equal(expect_dispatch(f->worker, &att, WAIT_MS), id);
    assert_int_equal(att, 1);
    assert_int_equal(done(f, f->worker, id, att), WIRE_CODE_OK);

    wire_msg_t r;
    get(f, id, NULL, &r);
    assert_int_equal(r.kind, WIRE_GET_REPLY);
    assert_int_equal(r.u.get_reply.job.state, WIRE_JOB_DONE);
    assert_int_equal(r.u.get_reply.job.seq, 1);
    assert_string_equal(r.u.get_reply.job.title, "Test meeting");
    assert_int_equal(r.u.get_reply.text_len, strlen(text));
    assert_memory_equal(r.u.get_reply.text, text, strlen(text));
    result_t *res = NULL;
    assert_int_equal(wire_result_decode(r.u.get_reply.result,
                                        r.u.get_reply.result_len, &res),
                     0);
    assert_int_equal(res->seq, 1);
    assert_int_equal(res->job_id, id);
    assert_int_equal(res->n_entities, 1);
    result_destroy(&res);
    wire_msg_release(&r);

    /* the default key is sha256 of the text */
    char *key = store_key_default(text, strlen(text));
    get(f, 0, key, &r);
    assert_int_equal(r.kind, WIRE_GET_REPLY);
    assert_int_equal(r.u.get_reply.job.id, id);
    wire_msg_release(&r);
    free(key);

    get(f, 42, NULL, &r);
    assert_int_equal(r.kind, WIRE_REJECTED);
    assert_int_equal(r.u.rejected.code, WIRE_CODE_NOT_FOUND);
    wire_msg_release(&r);

    /* the publisher announced it */
    assert_int_equal(recv_wire(f->sub, WAIT_MS, &r), 0);
    assert_int_equal(r.kind, WIRE_COMMITTED);
    assert_int_equal(r.u.committed.seq, 1);
    assert_int_equal(r.u.committed.job_id, id);
    wire_msg_release(&r);

    wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_STATS;
    rpc(f, f->client, &m, &r);
    assert_int_equal(r.kind, WIRE_STATS_REPLY);
    assert_int_equal(r.u.stats_reply.done, 1);
    assert_int_equal(r.u.stats_reply.last_seq, 1);
    assert_int_equal(r.u.stats_reply.workers, 1);
    assert_int_equal(r.u.stats_reply.committed_total, 1);
    assert_int_equal(r.u.stats_reply.submitted_total, 1);
    assert_true(r.u.stats_reply.map_bytes > 0);
    wire_msg_release(&r);
}

static void
test_duplicate_key_and_priority(void **state)
{
    fx_t *f = *state;
    start(f);
    int kind;
    bool dup;
    uint64_t a = submit(f, "url:1", "first text", 0, &kind, &dup);
    assert_false(dup);
    uint64_t b = submit(f, "url:1", "changed text", 0, &kind, &dup);
    assert_int_equal(kind, WIRE_ACCEPTED);
    assert_true(dup);
    assert_int_equal(a, b);
    uint64_t hi = submit(f, "url:2", "urgent text", 9, &kind, &dup);
    ready(f, f->worker, 2);
    uint32_t att;
    assert_int_equal(expect_dispatch(f->worker, &att, WAIT_MS), hi);
    assert_int_equal(expect_dispatch(f->worker, &att, WAIT_MS), a);
}

/* Submit key/text; the Accepted's duplicate and text_differs flags. */
static uint64_t
submit_flags(fx_t *f, const char *key, const char *text, bool *dup,
             bool *differs)
{
    wire_msg_t m, r;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_SUBMIT;
    m.u.submit.job.key = key;
    m.u.submit.job.text = text;
    m.u.submit.job.text_len = strlen(text);
    rpc(f, f->client, &m, &r);
    assert_int_equal(r.kind, WIRE_ACCEPTED);
    uint64_t id = r.u.accepted.job_id;
    *dup = r.u.accepted.duplicate;
    *differs = r.u.accepted.text_differs;
    wire_msg_release(&r);
    return id;
}

/* A key resubmitted with another text is still the existing job (nothing
 * changes, old clients see what they saw), but the Accepted says the
 * stored text differs, so a scraper can tell an edit from a repeat. */
static void
test_duplicate_text_differs(void **state)
{
    fx_t *f = *state;
    start(f);
    bool dup, differs;
    uint64_t a = submit_flags(f, "url:1", "first text", &dup, &differs);
    assert_false(dup);
    assert_false(differs);
    assert_int_equal(submit_flags(f, "url:1", "first text", &dup, &differs), a);
    assert_true(dup);
    assert_false(differs);
    /* same length, one byte changed; then another length */
    assert_int_equal(submit_flags(f, "url:1", "first texT", &dup, &differs), a);
    assert_true(dup);
    assert_true(differs);
    assert_int_equal(submit_flags(f, "url:1", "a changed text", &dup, &differs),
                     a);
    assert_true(dup);
    assert_true(differs);
    /* the stored text is the first one */
    wire_msg_t m, r;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_GET;
    m.u.get.job_id = a;
    m.u.get.with_text = true;
    rpc(f, f->client, &m, &r);
    assert_int_equal(r.kind, WIRE_GET_REPLY);
    assert_int_equal(r.u.get_reply.text_len, 10);
    assert_memory_equal(r.u.get_reply.text, "first text", 10);
    wire_msg_release(&r);
    /* an empty key (proto3's unset) is the default key, the text's hash
     * (PROTOCOL.md Limits): a repeat is a duplicate that never differs */
    uint64_t b = submit_flags(f, "", "some text", &dup, &differs);
    assert_false(dup);
    assert_int_equal(submit_flags(f, "", "some text", &dup, &differs), b);
    assert_true(dup);
    assert_false(differs);
    memset(&m, 0, sizeof m);
    m.kind = WIRE_GET;
    m.u.get.job_id = b;
    rpc(f, f->client, &m, &r);
    assert_int_equal(r.kind, WIRE_GET_REPLY);
    assert_int_equal(strncmp(r.u.get_reply.job.key, "sha256:", 7), 0);
    assert_int_equal(strlen(r.u.get_reply.job.key), 7 + 64);
    wire_msg_release(&r);
}

/* Dispatch starts its scan of the queue after the leased jobs at its head
 * (they are skipped once, not at every pass); a job of a higher priority
 * that arrives meanwhile sorts before them and still goes out first, and
 * the jobs behind them follow in order. */
static void
test_dispatch_resumes_after_leased_head(void **state)
{
    fx_t *f = *state;
    start(f);
    uint64_t ids[4];
    char key[8];
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "r%d", i);
        ids[i] = submit_ok(f, key, "resume text");
    }
    ready(f, f->worker, 2);
    uint32_t att[2], a2;
    assert_int_equal(expect_dispatch(f->worker, &att[0], WAIT_MS), ids[0]);
    assert_int_equal(expect_dispatch(f->worker, &att[1], WAIT_MS), ids[1]);
    /* this pass skips the two leased ones and remembers where they end */
    ready(f, f->worker, 1);
    assert_int_equal(expect_dispatch(f->worker, &a2, WAIT_MS), ids[2]);
    int kind;
    bool dup;
    uint64_t hi = submit(f, "r-hi", "urgent text", 9, &kind, &dup);
    assert_int_equal(kind, WIRE_ACCEPTED);
    ready(f, f->worker, 1);
    assert_int_equal(expect_dispatch(f->worker, &a2, WAIT_MS), hi);
    assert_int_equal(done(f, f->worker, ids[0], att[0]), WIRE_CODE_OK);
    assert_int_equal(done(f, f->worker, ids[1], att[1]), WIRE_CODE_OK);
    ready(f, f->worker, 2);
    assert_int_equal(expect_dispatch(f->worker, &a2, WAIT_MS), ids[3]);
    assert_int_equal(expect_dispatch(f->worker, &a2, 300), 0);
}

static void
test_credit_respected(void **state)
{
    fx_t *f = *state;
    start(f);
    uint64_t ids[3];
    char key[8];
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "c%d", i);
        ids[i] = submit_ok(f, key, "credit text");
    }
    ready(f, f->worker, 1);
    uint32_t att;
    uint64_t first = expect_dispatch(f->worker, &att, WAIT_MS);
    assert_int_equal(first, ids[0]);
    /* no second job without more credit */
    assert_int_equal(expect_dispatch(f->worker, &att, 300), 0);
    assert_int_equal(done(f, f->worker, first, att), WIRE_CODE_OK);
    assert_int_equal(expect_dispatch(f->worker, &att, 300), 0);
    ready(f, f->worker, 1);
    assert_int_equal(expect_dispatch(f->worker, &att, WAIT_MS), ids[1]);
    assert_int_equal(expect_dispatch(f->worker, &att, 300), 0);
}

/* Credit is not the only bound: a worker holding max-worker-bytes of text
 * gets no further job until it answers, but always gets one. */
static void
test_worker_byte_bound(void **state)
{
    fx_t *f = *state;
    f->cfg.max_worker_bytes = 40;
    start(f);
    uint64_t ids[3];
    char key[8];
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "b%d", i);
        ids[i] = submit_ok(f, key, "A text of some thirty bytes.");
    }
    ready(f, f->worker, 8);
    uint32_t att;
    assert_int_equal(expect_dispatch(f->worker, &att, WAIT_MS), ids[0]);
    assert_int_equal(expect_dispatch(f->worker, &att, WAIT_MS), ids[1]);
    /* 56 bytes held: no third job despite the credit */
    assert_int_equal(expect_dispatch(f->worker, &att, 300), 0);
    /* the answer frees the room at once: the third job may come before
     * the DoneAck (which waits for the commit) */
    uint8_t *buf;
    size_t len;
    encode_result(ids[0], &buf, &len);
    wire_msg_t r;
    send_done(f, f->worker, ids[0], att, buf, len);
    free(buf);
    bool acked = false, third = false;
    while (!acked || !third) {
        assert_int_equal(recv_wire(f->worker, WAIT_MS, &r), 0);
        if (r.kind == WIRE_DONE_ACK) {
            assert_int_equal(r.u.done_ack.code, WIRE_CODE_OK);
            acked = true;
        } else if (r.kind == WIRE_DISPATCH) {
            assert_int_equal(r.u.dispatch.job.id, ids[2]);
            third = true;
        }
        wire_msg_release(&r);
    }
}

/* A Done whose result bytes do not parse stores nothing: the attempt
 * fails (DoneAck CODE_INVALID) without counting towards max-attempts (a
 * broken worker must not dead-letter good jobs), the worker that sent it
 * gets no more jobs, and another worker gets the retry. */
static void
test_undecodable_result_retried(void **state)
{
    fx_t *f = *state;
    f->cfg.max_attempts = 1;
    f->cfg.retry_base_ms = 1;
    start(f);
    uint64_t id = submit_ok(f, "garbled", "Garbled result text.");
    ready(f, f->worker, 1);
    uint32_t att;
    assert_int_equal(expect_dispatch(f->worker, &att, WAIT_MS), id);
    static const uint8_t junk[] = { 0x2a, 0xff, 0xff, 0xff, 0x0f, 0x01 };
    wire_msg_t r;
    uint64_t rid = send_done(f, f->worker, id, att, junk, sizeof junk);
    assert_int_equal(recv_wire(f->worker, WAIT_MS, &r), 0);
    assert_int_equal(r.request_id, rid);
    assert_int_equal(r.kind, WIRE_DONE_ACK);
    assert_int_equal(r.u.done_ack.code, WIRE_CODE_INVALID);
    wire_msg_release(&r);
    /* the broken worker asks for more; a healthy one joins after it */
    ready(f, f->worker, 1);
    void *healthy = dealer(f, f->cfg.backend);
    ready(f, healthy, 1);
    uint32_t att2;
    assert_int_equal(expect_dispatch(healthy, &att2, WAIT_MS), id);
    assert_int_equal(att2, att + 1);
    assert_int_equal(done(f, healthy, id, att2), WIRE_CODE_OK);
    /* the healthy worker's ack came after the retry's dispatch, so a
     * dispatch to the broken worker would be queued already */
    zmq_pollitem_t it = { .socket = f->worker, .events = ZMQ_POLLIN };
    assert_int_equal(zmq_poll(&it, 1, 0), 0);
    zmq_close(healthy);
    get(f, id, NULL, &r);
    assert_int_equal(r.u.get_reply.job.state, WIRE_JOB_DONE);
    assert_string_equal(r.u.get_reply.job.last_error,
                        "worker sent an undecodable result");
    wire_msg_release(&r);
}

static void
test_lease_expiry_fences_stale_done(void **state)
{
    fx_t *f = *state;
    f->cfg.lease_ms = 300;
    start(f);
    uint64_t id = submit_ok(f, "lease", "lease text");
    ready(f, f->worker, 1);
    uint32_t att1, att2;
    assert_int_equal(expect_dispatch(f->worker, &att1, WAIT_MS), id);
    assert_int_equal(att1, 1);

    /* heartbeats keep the lease past lease_ms */
    uint64_t end = now_mono_ms() + 700;
    while (now_mono_ms() < end) {
        wire_msg_t m, r;
        uint32_t a = att1;
        memset(&m, 0, sizeof m);
        m.kind = WIRE_HEARTBEAT;
        m.u.heartbeat.n = 1;
        m.u.heartbeat.job_ids = &id;
        m.u.heartbeat.attempts = &a;
        rpc(f, f->worker, &m, &r);
        assert_int_equal(r.kind, WIRE_HEARTBEAT);
        wire_msg_release(&r);
        zmq_poll(NULL, 0, 50);
    }
    wire_msg_t r;
    get(f, id, NULL, &r);
    assert_int_equal(r.u.get_reply.job.state, WIRE_JOB_LEASED);
    wire_msg_release(&r);

    /* silence: the lease expires, the job goes to a second worker */
    void *w2 = dealer(f, f->cfg.backend);
    ready(f, w2, 1);
    assert_int_equal(expect_dispatch(w2, &att2, WAIT_MS), id);
    assert_int_equal(att2, 2);
    /* the first worker's late Done is fenced off */
    assert_int_equal(done(f, f->worker, id, att1), WIRE_CODE_NOT_FOUND);
    assert_int_equal(done(f, w2, id, att2), WIRE_CODE_OK);
    assert_int_equal(done(f, w2, id, att2), WIRE_CODE_NOT_FOUND);
    get(f, id, NULL, &r);
    assert_int_equal(r.u.get_reply.job.state, WIRE_JOB_DONE);
    assert_int_equal(r.u.get_reply.job.seq, 1);
    wire_msg_release(&r);
    hx_close(&w2);
}

typedef struct dl {
    uint64_t id;      /* first dead job */
    char reason[256]; /* its reason */
    size_t n_hist;    /* its history lines */
    size_t n;         /* items */
} dl_t;

static void
dead_list(fx_t *f, dl_t *out)
{
    wire_msg_t m, r;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_DEAD_LIST;
    rpc(f, f->client, &m, &r);
    assert_int_equal(r.kind, WIRE_DEAD_LIST_REPLY);
    memset(out, 0, sizeof *out);
    out->n = r.u.dead_list_reply.n;
    if (out->n) {
        out->id = r.u.dead_list_reply.items[0].job.id;
        snprintf(out->reason, sizeof out->reason, "%s",
                 r.u.dead_list_reply.items[0].reason);
        out->n_hist = r.u.dead_list_reply.items[0].n_history;
    }
    wire_msg_release(&r);
}

static void
test_failed_retried_then_dead(void **state)
{
    fx_t *f = *state;
    f->cfg.max_attempts = 2;
    start(f);
    uint64_t id = submit_ok(f, "doomed", "doomed text");
    ready(f, f->worker, 4);
    uint32_t att;
    assert_int_equal(expect_dispatch(f->worker, &att, WAIT_MS), id);
    assert_int_equal(failed(f, f->worker, id, att, "engine crashed", false),
                     WIRE_CODE_OK);
    assert_int_equal(expect_dispatch(f->worker, &att, WAIT_MS), id);
    assert_int_equal(att, 2);
    assert_int_equal(
        failed(f, f->worker, id, att, "engine crashed again", false),
        WIRE_CODE_OK);
    assert_int_equal(expect_dispatch(f->worker, &att, 300), 0);
    dl_t d;
    dead_list(f, &d);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.id, id);
    assert_int_equal(d.n_hist, 2);
    assert_non_null(strstr(d.reason, "2 attempts"));
    assert_non_null(strstr(d.reason, "engine crashed again"));
    wire_msg_t r;
    get(f, id, NULL, &r);
    assert_int_equal(r.u.get_reply.job.state, WIRE_JOB_DEAD);
    assert_string_equal(r.u.get_reply.job.last_error, "engine crashed again");
    wire_msg_release(&r);

    /* requeue brings it back with a fresh attempt; permanent kills it */
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_DEAD_REQUEUE;
    m.u.dead_ids.n = 1;
    m.u.dead_ids.job_ids = &id;
    rpc(f, f->client, &m, &r);
    assert_int_equal(r.kind, WIRE_DEAD_REPLY);
    assert_int_equal(r.u.dead_reply.count, 1);
    wire_msg_release(&r);
    assert_int_equal(expect_dispatch(f->worker, &att, WAIT_MS), id);
    assert_int_equal(att, 3);
    assert_int_equal(failed(f, f->worker, id, att, "not a transcript", true),
                     WIRE_CODE_OK);
    dead_list(f, &d);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.reason, "permanent"));
    memset(&m, 0, sizeof m);
    m.kind = WIRE_DEAD_PURGE;
    m.u.dead_ids.all = true;
    rpc(f, f->client, &m, &r);
    assert_int_equal(r.kind, WIRE_DEAD_REPLY);
    assert_int_equal(r.u.dead_reply.count, 1);
    wire_msg_release(&r);
    dead_list(f, &d);
    assert_int_equal(d.n, 0);
}

static void
expect_reject(fx_t *f, void *sock, int code, uint64_t rid)
{
    wire_msg_t r;
    assert_int_equal(recv_wire(sock, WAIT_MS, &r), 0);
    assert_int_equal(r.kind, WIRE_REJECTED);
    assert_int_equal(r.u.rejected.code, code);
    assert_true(strlen(r.u.rejected.reason) > 0);
    if (rid)
        assert_int_equal(r.request_id, rid);
    wire_msg_release(&r);
    (void)f;
}

static void
test_bad_frames(void **state)
{
    fx_t *f = *state;
    start(f);
    send_raw(f->client, "\xff\xfe garbage", 10);
    expect_reject(f, f->client, WIRE_CODE_INVALID, 0);
    send_raw(f->client, "", 0); /* an empty Envelope has version 0 */
    expect_reject(f, f->client, WIRE_CODE_BAD_VERSION, 0);

    wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_STATS;
    m.version = 2;
    uint64_t rid = send_wire(f, f->client, &m);
    expect_reject(f, f->client, WIRE_CODE_BAD_VERSION, rid);

    memset(&m, 0, sizeof m);
    m.kind = WIRE_SUBMIT;
    m.u.submit.job.text = "bad \xc3\x28 utf8";
    m.u.submit.job.text_len = 12;
    rid = send_wire(f, f->client, &m);
    expect_reject(f, f->client, WIRE_CODE_BAD_UTF8, rid);

    int kind;
    assert_int_equal(submit(f, "k", "", 0, &kind, NULL), WIRE_CODE_INVALID);
    assert_int_equal(kind, WIRE_REJECTED);
    assert_int_equal(submit(f, "k", "text", 12, &kind, NULL),
                     WIRE_CODE_INVALID);

    /* a worker-side message on the frontend, a client one on the backend */
    memset(&m, 0, sizeof m);
    m.kind = WIRE_READY;
    rid = send_wire(f, f->client, &m);
    expect_reject(f, f->client, WIRE_CODE_INVALID, rid);
    send_raw(f->worker, "junk", 4);
    expect_reject(f, f->worker, WIRE_CODE_INVALID, 0);
    memset(&m, 0, sizeof m);
    m.kind = WIRE_HEARTBEAT;
    rid = send_wire(f, f->worker, &m);
    expect_reject(f, f->worker, WIRE_CODE_NOT_FOUND, rid);

    /* nothing changed and the broker still serves */
    wire_msg_t r;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_STATS;
    rpc(f, f->client, &m, &r);
    assert_int_equal(r.kind, WIRE_STATS_REPLY);
    assert_int_equal(r.u.stats_reply.ready, 0);
    assert_true(r.u.stats_reply.rejected_total >= 8);
    wire_msg_release(&r);
    assert_int_equal(submit_ok(f, "fine", "fine text"), 1);
}

/* Receive a Rejected and check its code, request_id and reason. */
static void
expect_reason(void *sock, int code, uint64_t rid, const char *reason)
{
    wire_msg_t r;
    assert_int_equal(recv_wire(sock, WAIT_MS, &r), 0);
    assert_int_equal(r.kind, WIRE_REJECTED);
    assert_int_equal(r.u.rejected.code, code);
    assert_int_equal(r.request_id, rid);
    assert_string_equal(r.u.rejected.reason, reason);
    wire_msg_release(&r);
}

/* Each refusal of a Submit's fields has its own code and reason (invalid
 * UTF-8 in any string is BAD_UTF8), and a frame protobuf cannot parse
 * still gets its request_id back when field 2 precedes the damage. */
static void
test_refusals_named(void **state)
{
    fx_t *f = *state;
    start(f);
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_SUBMIT;
    m.u.submit.job.text = "fine text";
    m.u.submit.job.text_len = 9;
    m.u.submit.job.title = "bad \xc3\x28 title";
    uint64_t rid = send_wire(f, f->client, &m);
    expect_reason(f->client, WIRE_CODE_BAD_UTF8, rid,
                  "title is not valid UTF-8");

    char key[WIRE_MAX_KEY + 2];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    m.request_id = 0;
    m.u.submit.job.title = "ok";
    m.u.submit.job.key = key;
    rid = send_wire(f, f->client, &m);
    expect_reason(f->client, WIRE_CODE_INVALID, rid, "key over 1024 bytes");

    const char *k[] = { "site" }, *v[] = { "\xff" };
    m.request_id = 0;
    m.u.submit.job.key = "k1";
    m.u.submit.job.n_meta = 1;
    m.u.submit.job.meta_keys = k;
    m.u.submit.job.meta_values = v;
    rid = send_wire(f, f->client, &m);
    expect_reason(f->client, WIRE_CODE_BAD_UTF8, rid,
                  "a metadata value is not valid UTF-8");

    m.request_id = 0;
    m.u.submit.job.n_meta = 0;
    m.u.submit.job.text = "";
    m.u.submit.job.text_len = 0;
    rid = send_wire(f, f->client, &m);
    expect_reason(f->client, WIRE_CODE_INVALID, rid, "empty text");

    /* version 1, request_id 300, then a length running past the end: not
     * even a frame the Batch reader accepts */
    static const uint8_t cut[] = { 0x08, 0x01, 0x10, 0xAC, 0x02,
                                   0x52, 0xff, 0xff, 0x0f, 1 };
    send_raw(f->client, cut, sizeof cut);
    expect_reason(f->client, WIRE_CODE_INVALID, 300,
                  "malformed envelope or message");
    /* well-formed on top, a Submit that is not a message */
    static const uint8_t inner[] = { 0x08, 0x01, 0x10, 0x2A,
                                     0x52, 0x02, 0xff, 0xff };
    send_raw(f->client, inner, sizeof inner);
    expect_reason(f->client, WIRE_CODE_INVALID, 42,
                  "not a well-formed Envelope");
    send_raw(f->worker, inner, sizeof inner);
    expect_reason(f->worker, WIRE_CODE_INVALID, 42,
                  "not a well-formed Envelope");

    /* nothing was queued; the broker still serves */
    wire_msg_t r;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_STATS;
    rpc(f, f->client, &m, &r);
    assert_int_equal(r.u.stats_reply.ready, 0);
    wire_msg_release(&r);
    assert_int_equal(submit_ok(f, "fine", "fine text"), 1);
}

static void
test_queue_full(void **state)
{
    fx_t *f = *state;
    f->cfg.max_queued = 2;
    start(f);
    submit_ok(f, "q1", "text one");
    submit_ok(f, "q2", "text two");
    wire_msg_t m, r;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_SUBMIT;
    m.u.submit.job.key = "q3";
    m.u.submit.job.text = "text three";
    m.u.submit.job.text_len = 10;
    rpc(f, f->client, &m, &r);
    assert_int_equal(r.kind, WIRE_REJECTED);
    assert_int_equal(r.u.rejected.code, WIRE_CODE_QUEUE_FULL);
    assert_true(r.u.rejected.retry_after_ms > 0);
    wire_msg_release(&r);
    /* a key that exists adds no job: a full queue still answers with the
     * existing job (dedup comes before the queue bound) */
    int kind;
    bool dup = false;
    assert_int_equal(submit(f, "q1", "text one", 0, &kind, &dup), 1);
    assert_int_equal(kind, WIRE_ACCEPTED);
    assert_true(dup);
    /* finishing a job makes room */
    ready(f, f->worker, 1);
    uint32_t att;
    uint64_t id = expect_dispatch(f->worker, &att, WAIT_MS);
    assert_int_equal(done(f, f->worker, id, att), WIRE_CODE_OK);
    submit_ok(f, "q3", "text three");
}

/* A Done from a peer the broker does not know (e.g. after a restart) is
 * answered but does not register the peer: its next Heartbeat gets
 * "unknown worker", so it sends Ready with its free credit again. */
static void
test_unknown_worker_done_not_registered(void **state)
{
    fx_t *f = *state;
    start(f);
    uint64_t id = submit_ok(f, "u1", "unknown worker text");
    ready(f, f->worker, 1);
    uint32_t att;
    assert_int_equal(expect_dispatch(f->worker, &att, WAIT_MS), id);
    /* the holder comes back under a new identity and finishes the job */
    void *other = f->other = dealer(f, f->cfg.backend);
    assert_int_equal(done(f, other, id, att), WIRE_CODE_OK);
    wire_msg_t m, r;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_HEARTBEAT;
    rpc(f, other, &m, &r);
    assert_int_equal(r.kind, WIRE_REJECTED);
    assert_int_equal(r.u.rejected.code, WIRE_CODE_NOT_FOUND);
    wire_msg_release(&r);
    /* its first Ready may only top up credit the old connection had: it
     * joins with its whole capacity, not the top-up */
    submit_ok(f, "u2", "second text");
    submit_ok(f, "u3", "third text");
    submit_ok(f, "u4", "fourth text");
    memset(&m, 0, sizeof m);
    m.kind = WIRE_READY;
    m.u.ready.credit = 1;
    m.u.ready.capacity = 3;
    m.u.ready.worker_name = "test:2";
    send_wire(f, other, &m);
    for (uint64_t k = 1; k <= 3; k++)
        assert_int_equal(expect_dispatch(other, &att, WAIT_MS), id + k);
}

static void
test_store_full_reads_work(void **state)
{
    fx_t *f = *state;
    f->cfg.map_size = 1 << 20;
    f->cfg.map_limit = 1 << 20;
    start(f);
    char text[16385];
    memset(text, 'z', 16384);
    text[16384] = '\0';
    int kind = WIRE_ACCEPTED;
    uint64_t code = 0;
    int n = 0;
    for (; n < 200; n++) {
        char key[16];
        snprintf(key, sizeof key, "s%d", n);
        text[0] = (char)('a' + n % 26);
        text[1] = (char)('a' + n / 26);
        code = submit(f, key, text, 0, &kind, NULL);
        if (kind != WIRE_ACCEPTED)
            break;
    }
    assert_int_equal(kind, WIRE_REJECTED);
    assert_int_equal(code, WIRE_CODE_STORE_FULL);
    assert_true(n > 5);
    wire_msg_t r;
    get(f, 1, NULL, &r);
    assert_int_equal(r.kind, WIRE_GET_REPLY);
    wire_msg_release(&r);
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_STATS;
    rpc(f, f->client, &m, &r);
    assert_int_equal(r.kind, WIRE_STATS_REPLY);
    assert_int_equal(r.u.stats_reply.ready, (uint64_t)n);
    assert_int_equal(r.u.stats_reply.map_limit, 1 << 20);
    wire_msg_release(&r);
}

static void
test_since_in_order(void **state)
{
    fx_t *f = *state;
    start(f);
    ready(f, f->worker, 8);
    for (int i = 0; i < 3; i++) {
        char key[8];
        snprintf(key, sizeof key, "s%d", i);
        uint64_t id = submit_ok(f, key, "since text");
        uint32_t att;
        assert_int_equal(expect_dispatch(f->worker, &att, WAIT_MS), id);
        assert_int_equal(done(f, f->worker, id, att), WIRE_CODE_OK);
    }
    wire_msg_t m, r;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_SINCE;
    m.u.since.with_result = true;
    rpc(f, f->client, &m, &r);
    assert_int_equal(r.kind, WIRE_SINCE_REPLY);
    assert_int_equal(r.u.since_reply.n, 3);
    assert_int_equal(r.u.since_reply.last_seq, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(r.u.since_reply.items[i].seq, i + 1);
        assert_int_equal(r.u.since_reply.items[i].job_id, i + 1);
        assert_true(r.u.since_reply.items[i].result_len > 0);
    }
    wire_msg_release(&r);
    memset(&m, 0, sizeof m);
    m.kind = WIRE_SINCE;
    m.u.since.after_seq = 1;
    m.u.since.limit = 1;
    rpc(f, f->client, &m, &r);
    assert_int_equal(r.u.since_reply.n, 1);
    assert_int_equal(r.u.since_reply.items[0].seq, 2);
    assert_int_equal(r.u.since_reply.items[0].result_len, 0);
    wire_msg_release(&r);
    /* every commit was published, in order */
    for (uint64_t s = 1; s <= 3; s++) {
        assert_int_equal(recv_wire(f->sub, WAIT_MS, &r), 0);
        assert_int_equal(r.u.committed.seq, s);
        wire_msg_release(&r);
    }
}

static void
test_restart_keeps_jobs(void **state)
{
    fx_t *f = *state;
    start(f);
    uint64_t id = submit_ok(f, "survivor", "survivor text");
    ready(f, f->worker, 1);
    uint32_t att;
    assert_int_equal(expect_dispatch(f->worker, &att, WAIT_MS), id);
    stop(f);
    /* the lease does not survive the restart; the old attempt's Done does */
    assert_int_equal(broker_open(&f->b, &f->cfg), 0);
    assert_int_equal(pthread_create(&f->thread, NULL, run_thread, f), 0);
    assert_int_equal(done(f, f->worker, id, att), WIRE_CODE_OK);
    wire_msg_t r;
    get(f, id, NULL, &r);
    assert_int_equal(r.u.get_reply.job.state, WIRE_JOB_DONE);
    wire_msg_release(&r);
}

/* Wait until the broker has read everything worker socket w sent so far:
 * it answers a Heartbeat on the same connection after those. */
static void
sync_worker(fx_t *f, void *w)
{
    wire_msg_t m, r;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_HEARTBEAT;
    rpc(f, w, &m, &r);
    assert_int_equal(r.kind, WIRE_HEARTBEAT);
    wire_msg_release(&r);
}

/* Send a Submit without waiting for its answer; returns its request id. */
static uint64_t
submit_async(fx_t *f, const char *key, const char *text)
{
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_SUBMIT;
    m.u.submit.job.key = key;
    m.u.submit.job.text = text;
    m.u.submit.job.text_len = strlen(text);
    return send_wire(f, f->client, &m);
}

/* Wait for the Accepted answering request rid; returns the job id. */
static uint64_t
expect_accepted(fx_t *f, uint64_t rid, bool *dup)
{
    wire_msg_t r;
    assert_int_equal(recv_wire(f->client, WAIT_MS, &r), 0);
    assert_int_equal(r.kind, WIRE_ACCEPTED);
    assert_int_equal(r.request_id, rid);
    uint64_t id = r.u.accepted.job_id;
    *dup = r.u.accepted.duplicate;
    wire_msg_release(&r);
    return id;
}

/* With an idle worker, a new job goes out before its Submit commits; the
 * Submit is answered only after the commit, which waits (early-wait-us)
 * for the result so that job and result commit together. */
static void
test_early_dispatch(void **state)
{
    fx_t *f = *state;
    f->cfg.early_wait_us = 60 * 1000 * 1000; /* longer than any test */
    start(f);
    ready(f, f->worker, 2);
    sync_worker(f, f->worker);
    wire_msg_t r;
    uint64_t rid = submit_async(f, "early", "Early text for the worker.");
    uint32_t att;
    uint64_t id = expect_dispatch(f->worker, &att, WAIT_MS);
    assert_true(id > 0);
    assert_int_equal(att, 1);
    /* not accepted yet: its commit waits for the result */
    zmq_pollitem_t it = { f->client, 0, ZMQ_POLLIN, 0 };
    assert_int_equal(zmq_poll(&it, 1, 200), 0);
    assert_int_equal(done(f, f->worker, id, att), WIRE_CODE_OK);
    bool dup;
    assert_int_equal(expect_accepted(f, rid, &dup), id);
    assert_false(dup);
    get(f, id, NULL, &r);
    assert_int_equal(r.u.get_reply.job.state, WIRE_JOB_DONE);
    assert_true(r.u.get_reply.job.seq > 0);
    wire_msg_release(&r);
}

/* An id that reached a worker is never given to another job, even when
 * its Submit did not commit (here: a duplicate key in the same batch) and
 * the broker restarts; the worker's late Done for it finds no job. */
static void
test_early_ids_never_reused(void **state)
{
    fx_t *f = *state;
    f->cfg.early_wait_us = 500 * 1000;
    start(f);
    ready(f, f->worker, 4);
    sync_worker(f, f->worker);
    wire_msg_t r;
    uint64_t rid1 = submit_async(f, "same", "First text.");
    uint64_t rid2 = submit_async(f, "same", "Second text, same key.");
    uint32_t a1, a2;
    uint64_t e1 = expect_dispatch(f->worker, &a1, WAIT_MS);
    uint64_t e2 = expect_dispatch(f->worker, &a2, WAIT_MS);
    assert_true(e1 > 0 && e2 > 0 && e1 != e2);
    bool dup1, dup2;
    uint64_t id1 = expect_accepted(f, rid1, &dup1);
    uint64_t id2 = expect_accepted(f, rid2, &dup2);
    assert_false(dup1);
    assert_true(dup2);
    assert_int_equal(id1, e1);
    assert_int_equal(id2, e1); /* e2 never became a job */
    stop(f);
    assert_int_equal(broker_open(&f->b, &f->cfg), 0);
    assert_int_equal(pthread_create(&f->thread, NULL, run_thread, f), 0);
    uint64_t fresh = submit_ok(f, "fresh", "A new job after the restart.");
    assert_true(fresh > e2);
    /* the late answer for e2 finds no job and changes nothing */
    assert_int_not_equal(done(f, f->worker, e2, a2), WIRE_CODE_OK);
    get(f, fresh, NULL, &r);
    assert_int_not_equal(r.u.get_reply.job.state, WIRE_JOB_DONE);
    wire_msg_release(&r);
    get(f, e2, NULL, &r);
    assert_int_equal(r.kind, WIRE_REJECTED);
    wire_msg_release(&r);
}

/* ------------------------------------------------------------ batches */

#define MAX_ITEMS 64

/* Receive one frame within timeout_ms and decode its messages (a Batch's
 * items, or the one message) into out; returns how many, 0 on timeout.
 * For a SUB socket the topic must be want_topic. */
static size_t
recv_frame(void *sock, int timeout_ms, const char *want_topic, wire_msg_t *out)
{
    zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };
    uint64_t end = now_mono_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = now_mono_ms();
        if (now >= end)
            return 0;
        if (zmq_poll(&it, 1, (long)(end - now)) > 0)
            break;
    }
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    assert_true(zmq_msg_recv(&msg, sock, 0) >= 0);
    if (want_topic) {
        assert_true(zmq_msg_more(&msg));
        assert_int_equal(zmq_msg_size(&msg), strlen(want_topic));
        assert_memory_equal(zmq_msg_data(&msg), want_topic, strlen(want_topic));
        zmq_msg_close(&msg);
        zmq_msg_init(&msg);
        assert_true(zmq_msg_recv(&msg, sock, 0) >= 0);
    }
    assert_false(zmq_msg_more(&msg));
    const uint8_t *data = zmq_msg_data(&msg);
    size_t len = zmq_msg_size(&msg), n = 0;
    wire_batch_iter_t bi;
    int rc = wire_batch_open(data, len, &bi);
    assert_true(rc == 0 || rc == 1);
    if (rc == 0) {
        assert_int_equal(wire_decode(data, len, 0, &out[n++]), 0);
    } else {
        const uint8_t *item;
        size_t item_len;
        while ((rc = wire_batch_next(&bi, &item, &item_len)) == 1) {
            assert_true(n < MAX_ITEMS);
            assert_int_equal(wire_decode(item, item_len, 0, &out[n++]), 0);
        }
        assert_int_equal(rc, 0);
        assert_true(n > 1); /* one message goes alone, not in a Batch */
    }
    zmq_msg_close(&msg);
    return n;
}

static void
release_all(wire_msg_t *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        wire_msg_release(&m[i]);
}

/* Encode m (request id from the fixture) into batch b; its request id. */
static uint64_t
batch_add(fx_t *f, wire_batch_t *b, wire_msg_t *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    m->request_id = ++f->rid;
    assert_int_equal(wire_encode(m, &buf, &len), 0);
    wire_batch_add(b, buf, len);
    free(buf);
    return m->request_id;
}

static void
batch_send(void *sock, wire_batch_t *b)
{
    uint8_t *frame = NULL;
    size_t len = 0;
    assert_int_equal(wire_batch_finish(b, &frame, &len), 0);
    send_raw(sock, frame, len);
    free(frame);
}

/* Submit n jobs (keys prefix-i) in one Batch; rids get their request ids. */
static void
batch_submit(fx_t *f, const char *prefix, size_t n, uint64_t *rids)
{
    static char texts[MAX_ITEMS][64], keys[MAX_ITEMS][32];
    wire_batch_t b;
    wire_batch_init(&b);
    for (size_t i = 0; i < n; i++) {
        wire_msg_t m;
        memset(&m, 0, sizeof m);
        m.kind = WIRE_SUBMIT;
        snprintf(keys[i], sizeof keys[i], "%s-%zu", prefix, i);
        snprintf(texts[i], sizeof texts[i], "Lena Berg: item %zu of %s.", i,
                 prefix);
        m.u.submit.job.key = keys[i];
        m.u.submit.job.text = texts[i];
        m.u.submit.job.text_len = strlen(texts[i]);
        rids[i] = batch_add(f, &b, &m);
    }
    batch_send(f->client, &b);
}

/* Collect the replies to rids[0..n) (any framing) into ids (job ids;
 * 0 for a rejection); returns the number of frames they came in. */
static size_t
collect_accepted(fx_t *f, const uint64_t *rids, size_t n, uint64_t *ids,
                 int *kinds)
{
    wire_msg_t r[MAX_ITEMS];
    size_t got = 0, frames = 0;
    while (got < n) {
        size_t k = recv_frame(f->client, WAIT_MS, NULL, r);
        assert_true(k > 0);
        frames++;
        for (size_t j = 0; j < k; j++) {
            size_t i = 0;
            while (i < n && rids[i] != r[j].request_id)
                i++;
            assert_true(i < n);
            kinds[i] = r[j].kind;
            ids[i] = r[j].kind == WIRE_ACCEPTED ? r[j].u.accepted.job_id : 0;
            got++;
        }
        release_all(r, k);
    }
    return frames;
}

/* Requests in a Batch are handled one by one as if alone: each gets its
 * own reply (a bad one its own rejection), and the replies that leave in
 * the same pass share a frame. A plain request still gets a plain reply. */
static void
test_batch_submit(void **state)
{
    fx_t *f = *state;
    start(f);
    wire_batch_t b;
    wire_batch_init(&b);
    uint64_t rids[6], ids[6];
    int kinds[6];
    static const char *const texts[] = {
        "Anna Holm: one.",   "Anna Holm: two.",  "",
        "Anna Holm: three.", "Anna Holm: four.", "Anna Holm: five."
    };
    for (size_t i = 0; i < 6; i++) {
        wire_msg_t m;
        memset(&m, 0, sizeof m);
        m.kind = WIRE_SUBMIT;
        m.u.submit.job.text = texts[i];
        m.u.submit.job.text_len = strlen(texts[i]);
        rids[i] = batch_add(f, &b, &m);
    }
    batch_send(f->client, &b);
    size_t frames = collect_accepted(f, rids, 6, ids, kinds);
    /* the rejection leaves at once, the five Accepted after one commit */
    assert_int_equal(frames, 2);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(kinds[i], i == 2 ? WIRE_REJECTED : WIRE_ACCEPTED);
        for (size_t j = 0; j < i; j++)
            if (i != 2 && j != 2)
                assert_true(ids[i] != ids[j]);
    }
    wire_msg_t r;
    get(f, ids[4], NULL, &r);
    assert_int_equal(r.kind, WIRE_GET_REPLY);
    assert_int_equal(r.u.get_reply.job.text_bytes, strlen(texts[4]));
    wire_msg_release(&r);
    /* a nested Batch: the items before it count, the rest is rejected */
    wire_batch_t inner;
    wire_batch_init(&inner);
    wire_msg_t st;
    memset(&st, 0, sizeof st);
    st.kind = WIRE_STATS;
    (void)batch_add(f, &inner, &st);
    (void)batch_add(f, &inner, &st);
    uint8_t *nested = NULL;
    size_t nested_len = 0;
    assert_int_equal(wire_batch_finish(&inner, &nested, &nested_len), 0);
    uint64_t first = batch_add(f, &b, &st);
    wire_batch_add(&b, nested, nested_len);
    free(nested);
    batch_send(f->client, &b);
    wire_msg_t out[MAX_ITEMS];
    size_t k = recv_frame(f->client, WAIT_MS, NULL, out);
    assert_int_equal(k, 2);
    assert_int_equal(out[0].kind, WIRE_STATS_REPLY);
    assert_int_equal(out[0].request_id, first);
    assert_int_equal(out[0].u.stats_reply.ready, 5);
    assert_int_equal(out[1].kind, WIRE_REJECTED);
    assert_int_equal(out[1].u.rejected.code, WIRE_CODE_INVALID);
    assert_true(out[1].u.rejected.batch); /* "this broker reads Batches" */
    release_all(out, k);
    /* plain in, plain out; the broker still serves */
    assert_true(submit_ok(f, "plain", "Anna Holm: plain.") > 0);
}

/* A worker whose Ready set batch gets the jobs leased in one pass in one
 * frame, and the DoneAcks of one commit in one frame; a Batch of Dones
 * counts each. The "group" topic carries the group's Committed. */
static void
test_batch_worker_and_group_topic(void **state)
{
    fx_t *f = *state;
    start(f);
    void *gsub = f->other = hx_socket(f->ctx, ZMQ_SUB, NULL);
    assert_int_equal(zmq_setsockopt(gsub, ZMQ_SUBSCRIBE, "group", 5), 0);
    assert_int_equal(zmq_connect(gsub, f->cfg.publisher), 0);
    enum { N = 5 };
    uint64_t rids[N], ids[N];
    int kinds[N];
    batch_submit(f, "w", N, rids);
    (void)collect_accepted(f, rids, N, ids, kinds);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(kinds[i], WIRE_ACCEPTED);

    wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_READY;
    m.u.ready.credit = 8;
    m.u.ready.capacity = 8;
    m.u.ready.batch = true;
    m.u.ready.worker_name = "batch:1";
    send_wire(f, f->worker, &m);
    /* all five jobs were ready when the credit came: one pass, one frame */
    wire_msg_t d[MAX_ITEMS];
    size_t k = recv_frame(f->worker, WAIT_MS, NULL, d);
    assert_int_equal(k, N);
    wire_batch_t b;
    wire_batch_init(&b);
    uint8_t *res[N];
    size_t res_len[N];
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(d[i].kind, WIRE_DISPATCH);
        uint64_t id = d[i].u.dispatch.job.id;
        encode_result(id, &res[i], &res_len[i]);
        wire_msg_t dm;
        memset(&dm, 0, sizeof dm);
        dm.kind = WIRE_DONE;
        dm.u.done.job_id = id;
        dm.u.done.attempt = d[i].u.dispatch.attempt;
        dm.u.done.result = res[i];
        dm.u.done.result_len = res_len[i];
        (void)batch_add(f, &b, &dm);
    }
    release_all(d, k);
    batch_send(f->worker, &b);
    /* the five Dones commit in one group: one frame of five DoneAcks */
    k = recv_frame(f->worker, WAIT_MS, NULL, d);
    assert_int_equal(k, N);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(d[i].kind, WIRE_DONE_ACK);
        assert_int_equal(d[i].u.done_ack.code, WIRE_CODE_OK);
        free(res[i]);
    }
    release_all(d, k);
    for (size_t i = 0; i < N; i++) {
        wire_msg_t r;
        get(f, ids[i], NULL, &r);
        assert_int_equal(r.u.get_reply.job.state, WIRE_JOB_DONE);
        wire_msg_release(&r);
    }
    /* The subscription reaches the broker at some point; from then on
     * each group commit publishes its results in one "group" frame. Run
     * jobs until one shows up, then check it: seqs in order, no gaps. */
    uint64_t end = now_mono_ms() + WAIT_MS;
    size_t seen = 0;
    for (int round = 0; seen == 0 && now_mono_ms() < end; round++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "g%d", round);
        batch_submit(f, prefix, 3, rids);
        k = 0;
        while (k < 3) {
            size_t got = recv_frame(f->worker, WAIT_MS, NULL, d + k);
            assert_true(got > 0);
            k += got;
        }
        (void)collect_accepted(f, rids, 3, ids, kinds);
        wire_batch_init(&b);
        for (size_t i = 0; i < 3; i++) {
            if (d[i].kind != WIRE_DISPATCH)
                continue;
            encode_result(d[i].u.dispatch.job.id, &res[i], &res_len[i]);
            wire_msg_t dm;
            memset(&dm, 0, sizeof dm);
            dm.kind = WIRE_DONE;
            dm.u.done.job_id = d[i].u.dispatch.job.id;
            dm.u.done.attempt = d[i].u.dispatch.attempt;
            dm.u.done.result = res[i];
            dm.u.done.result_len = res_len[i];
            (void)batch_add(f, &b, &dm);
            free(res[i]);
        }
        release_all(d, k);
        batch_send(f->worker, &b);
        k = recv_frame(f->worker, WAIT_MS, NULL, d);
        assert_int_equal(k, 3);
        release_all(d, k);
        wire_msg_t g[MAX_ITEMS];
        seen = recv_frame(gsub, 200, "group", g);
        for (size_t i = 0; i < seen; i++) {
            assert_int_equal(g[i].kind, WIRE_COMMITTED);
            if (i > 0)
                assert_int_equal(g[i].u.committed.seq,
                                 g[i - 1].u.committed.seq + 1);
        }
        /* the first group seen: this round's, or the five above if the
         * subscription was in place before they committed */
        assert_true(seen == 0 || seen == 3 || seen == N);
        release_all(g, seen);
    }
    assert_true(seen > 0);
}

static void
test_binary_listens_and_drains(void **state)
{
    fx_t *f = *state;
    hx_require_bin(EXCERPT_BROKER_BIN);
    char a[6][160];
    snprintf(a[0], sizeof a[0], "%s", EXCERPT_BROKER_BIN);
    snprintf(a[1], sizeof a[1], "--data-dir=%s", f->cfg.data_dir);
    snprintf(a[2], sizeof a[2], "--frontend=%s", f->cfg.frontend);
    snprintf(a[3], sizeof a[3], "--backend=%s", f->cfg.backend);
    snprintf(a[4], sizeof a[4], "--publisher=%s", f->cfg.publisher);
    snprintf(a[5], sizeof a[5], "--lease-ms=abc");
    /* static: the harness kills them after a failure, when this frame is
     * gone */
    static hx_proc_t bad, p, p2;
    snprintf(bad.log, sizeof bad.log, "%s/bad.log", f->dir);
    snprintf(p.log, sizeof p.log, "%s/broker.log", f->dir);
    snprintf(p2.log, sizeof p2.log, "%s/second.log", f->dir);
    const char *badv[] = { a[0], a[1], a[5], NULL };
    hx_proc_args(&bad, badv);
    hx_spawn(&bad);
    assert_int_equal(hx_wait_exit(&bad, WAIT_MS), 2);
    assert_true(hx_count_in_file(bad.log, "lease-ms") > 0);

    const char *argv[] = { a[0], a[1], a[2], a[3], a[4], NULL };
    hx_proc_args(&p, argv);
    hx_spawn(&p);
    HX_WAIT_FOR(hx_count_in_file(p.log, "listening") > 0, WAIT_MS);
    /* a second broker on the same data dir is refused, clearly */
    hx_proc_args(&p2, argv);
    hx_spawn(&p2);
    assert_int_equal(hx_wait_exit(&p2, WAIT_MS), 1);
    assert_true(hx_count_in_file(p2.log, "in use by another broker") > 0);
    f->client = dealer(f, f->cfg.frontend);
    f->worker = dealer(f, f->cfg.backend);
    assert_int_equal(submit_ok(f, "bin", "binary text"), 1);
    ready(f, f->worker, 1);
    uint32_t att;
    assert_int_equal(expect_dispatch(f->worker, &att, WAIT_MS), 1);
    assert_int_equal(hx_term(&p, WAIT_MS), 0);
    /* a clean exit leaves no ipc socket files behind */
    assert_int_not_equal(access(f->cfg.frontend + 6, F_OK), 0);
    assert_int_not_equal(access(f->cfg.backend + 6, F_OK), 0);
    assert_int_not_equal(access(f->cfg.publisher + 6, F_OK), 0);

    /* what it accepted is there for the next run; leases are not */
    assert_int_equal(broker_open(&f->b, &f->cfg), 0);
    assert_int_equal(pthread_create(&f->thread, NULL, run_thread, f), 0);
    wire_msg_t r;
    get(f, 1, NULL, &r);
    assert_int_equal(r.kind, WIRE_GET_REPLY);
    assert_int_equal(r.u.get_reply.job.state, WIRE_JOB_READY);
    wire_msg_release(&r);
    /* the attempt that was running when it stopped still counts */
    assert_int_equal(done(f, f->worker, 1, att), WIRE_CODE_OK);
    hx_proc_free(&bad);
    hx_proc_free(&p);
    hx_proc_free(&p2);
}

int
main(void)
{
    log_set_level(LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_submit_dispatch_done_get, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_key_and_priority, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_text_differs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_credit_respected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_resumes_after_leased_head,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_byte_bound, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_undecodable_result_retried, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lease_expiry_fences_stale_done,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_retried_then_dead, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_worker_done_not_registered,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_full_reads_work, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_since_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_early_dispatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_early_ids_never_reused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_jobs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_batch_submit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_worker_and_group_topic,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_listens_and_drains, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
