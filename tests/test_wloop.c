/*
 * test_wloop: the worker loop against a fake broker. The test thread plays
 * the broker backend on a real ROUTER over ipc:// in a temp dir, speaking
 * the real protocol through wire_*; wloop_run runs in a second thread.
 * The worker may batch what it sends (PROTOCOL.md "Batches"): the fake
 * broker unwraps each frame and keeps count of frames and items.
 */
#include "../common/err.h"
#include "../common/now.h"
#include "../common/result.h"
#include "../engine/extract.h"
#include "../proto/pbraw.h"
#include "../proto/wire.h"
#include "../proto/wire_batch.h"
#include "../worker/wloop.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

static const char TEXT[] =
    "The Governor of the Northern Province met the Minister of Finance.\n"
    "Minister of Finance Anna Petrova: Good afternoon. Revenues rose by 4.5 "
    "percent to 120 million roubles in 2023.\n"
    "Governor Pavel Sokolov: Thank you, Ms Petrova. We will build 12 new "
    "schools in Tomsk by March 2025.\n";

typedef struct tb {
    char dir[64];        /* temp dir */
    char endpoint[128];  /* ipc:// endpoint of the fake backend */
    void *ctx;           /* test's ZeroMQ context */
    void *router;        /* the fake broker's backend ROUTER */
    wloop_t *w;          /* worker under test */
    pthread_t thread;    /* runs wloop_run */
    atomic_bool running; /* wloop_run has not returned yet */
    int rc;              /* what wloop_run returned */
    zmq_msg_t ident;     /* routing id of the last message received */
    bool have_ident;     /* ident holds a value */
    wire_msg_t *queue;   /* decoded items of the last frame not taken */
    size_t q_head;       /* next item to hand out */
    size_t q_n;          /* items in queue */
    size_t frames;       /* frames received from the worker */
    size_t items;        /* messages in them */
    size_t frame_items;  /* messages in the last frame */
    size_t frame_bytes;  /* its size */
    size_t frame_dones;  /* Dones in it */
    size_t done_frames;  /* frames that held at least one Done */
} tb_t;

/* ------------------------------------------------------------ harness */

static int
setup(void **state)
{
    tb_t *t = calloc(1, sizeof *t);
    assert_non_null(t);
    snprintf(t->dir, sizeof t->dir, "/tmp/test_wloop.XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->endpoint, sizeof t->endpoint, "ipc://%s/be.sock", t->dir);
    t->ctx = zmq_ctx_new();
    assert_non_null(t->ctx);
    t->router = zmq_socket(t->ctx, ZMQ_ROUTER);
    assert_non_null(t->router);
    int one = 1, zero = 0;
    assert_int_equal(
        zmq_setsockopt(t->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one), 0);
    assert_int_equal(zmq_setsockopt(t->router, ZMQ_LINGER, &zero, sizeof zero),
                     0);
    assert_int_equal(zmq_bind(t->router, t->endpoint), 0);
    zmq_msg_init(&t->ident);
    *state = t;
    return 0;
}

static void
stop_worker(tb_t *t)
{
    if (!t->w)
        return;
    wloop_request_stop(t->w);
    pthread_join(t->thread, NULL);
    wloop_destroy(&t->w);
}

static int
teardown(void **state)
{
    tb_t *t = *state;
    stop_worker(t);
    for (size_t i = t->q_head; i < t->q_n; i++)
        wire_msg_release(&t->queue[i]);
    free(t->queue);
    zmq_msg_close(&t->ident);
    zmq_close(t->router);
    zmq_ctx_term(t->ctx);
    char path[160];
    snprintf(path, sizeof path, "%s/be.sock", t->dir);
    unlink(path);
    rmdir(t->dir);
    free(t);
    return 0;
}

static void *
run_main(void *arg)
{
    tb_t *t = arg;
    t->rc = wloop_run(t->w);
    atomic_store(&t->running, false);
    return NULL;
}

static void
test_cfg(wloop_cfg_t *cfg, const tb_t *t, int threads)
{
    assert_int_equal(wloop_cfg_defaults(cfg), ERR_OK);
    assert_int_equal(cfg_set(wloop_cfg_table, wloop_cfg_table_len, cfg,
                             "broker", t->endpoint, "test"),
                     ERR_OK);
    cfg->threads = threads;
    cfg->prefetch = 1; /* credit = threads, unless a test says otherwise */
    cfg->heartbeat_ms = 50;
    /* long enough that a loaded machine (sanitizers, parallel tests) never
     * makes the worker think this fake broker is gone; tests of a silent
     * broker set their own short timeout */
    cfg->broker_timeout_ms = 5000;
    cfg->drain_timeout_ms = 5000;
    assert_int_equal(cfg_set(wloop_cfg_table, wloop_cfg_table_len, cfg, "name",
                             "test-worker", "test"),
                     ERR_OK);
}

static void
start_cfg(tb_t *t, const wloop_cfg_t *cfg)
{
    assert_int_equal(wloop_open(&t->w, cfg), ERR_OK);
    atomic_store(&t->running, true);
    assert_int_equal(pthread_create(&t->thread, NULL, run_main, t), 0);
}

static void
start_worker(tb_t *t, int threads)
{
    wloop_cfg_t cfg;
    test_cfg(&cfg, t, threads);
    start_cfg(t, &cfg);
    wloop_cfg_free(&cfg);
}

/* Receive one frame within timeout_ms and decode its messages (one, or
 * the items of a Batch) into t->queue. Remembers the sender in t->ident.
 * Returns ERR_TIMEOUT when nothing came. */
static int
recv_frame(tb_t *t, int timeout_ms)
{
    zmq_pollitem_t it = { .socket = t->router, .events = ZMQ_POLLIN };
    if (zmq_poll(&it, 1, timeout_ms) <= 0)
        return ERR_TIMEOUT;
    zmq_msg_t body;
    zmq_msg_init(&body);
    assert_true(zmq_msg_recv(&t->ident, t->router, 0) >= 0);
    assert_true(zmq_msg_more(&t->ident));
    assert_true(zmq_msg_recv(&body, t->router, 0) >= 0);
    assert_false(zmq_msg_more(&body));
    t->have_ident = true;
    const uint8_t *buf = zmq_msg_data(&body);
    size_t len = zmq_msg_size(&body);
    assert_int_equal(t->q_head, t->q_n);
    t->q_head = t->q_n = 0;
    t->frame_items = t->frame_dones = 0;
    t->frame_bytes = len;
    wire_batch_iter_t bi;
    int rc = wire_batch_open(buf, len, &bi);
    assert_true(rc == 0 || rc == 1);
    const uint8_t *item = buf;
    size_t item_len = len;
    while (rc == 0 || (rc = wire_batch_next(&bi, &item, &item_len)) == 1) {
        t->queue = realloc(t->queue, (t->q_n + 1) * sizeof *t->queue);
        assert_non_null(t->queue);
        wire_msg_t *m = &t->queue[t->q_n++];
        assert_int_equal(wire_decode(item, item_len, 0, m), ERR_OK);
        if (m->kind == WIRE_DONE)
            t->frame_dones++;
        if (rc == 0)
            break;
    }
    assert_true(rc >= 0);
    t->frame_items = t->q_n;
    assert_true(t->frame_items > 0);
    t->frames++;
    t->items += t->q_n;
    if (t->frame_dones > 0)
        t->done_frames++;
    zmq_msg_close(&body);
    return ERR_OK;
}

/* Receive one message within timeout_ms into *m (release it): the next
 * item of the last frame, or of a new one. */
static int
recv_any(tb_t *t, int timeout_ms, wire_msg_t *m)
{
    if (t->q_head == t->q_n) {
        int rc = recv_frame(t, timeout_ms);
        if (rc != ERR_OK)
            return rc;
    }
    *m = t->queue[t->q_head++];
    return ERR_OK;
}

static void
send_raw(tb_t *t, const void *data, size_t len)
{
    zmq_msg_t copy;
    zmq_msg_init(&copy);
    assert_true(t->have_ident);
    zmq_msg_copy(&copy, &t->ident);
    assert_true(zmq_msg_send(&copy, t->router, ZMQ_SNDMORE) >= 0);
    assert_true(zmq_send(t->router, data, len, 0) >= 0);
}

static void
send_msg(tb_t *t, const wire_msg_t *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_encode(m, &buf, &len), ERR_OK);
    send_raw(t, buf, len);
    free(buf);
}

static void
send_hb_reply(tb_t *t, uint64_t rid)
{
    wire_msg_t hb = { .kind = WIRE_HEARTBEAT, .request_id = rid };
    send_msg(t, &hb);
}

/* Wait for the next message that is not a Heartbeat (answering each
 * Heartbeat when answer_hb, like a live broker). */
static void
expect(tb_t *t, int kind, wire_msg_t *m, bool answer_hb)
{
    uint64_t deadline = now_mono_ms() + 5000;
    for (;;) {
        int64_t left = (int64_t)(deadline - now_mono_ms());
        assert_true(left > 0);
        assert_int_equal(recv_any(t, (int)left, m), ERR_OK);
        if (m->kind == WIRE_HEARTBEAT) {
            if (answer_hb)
                send_hb_reply(t, m->request_id);
            wire_msg_release(m);
            continue;
        }
        if (m->kind != kind)
            fail_msg("expected %s, got %s", wire_kind_name(kind),
                     wire_kind_name(m->kind));
        return;
    }
}

static wire_msg_t
dispatch_msg(uint64_t id, uint32_t attempt, const char *text)
{
    wire_msg_t d = { .kind = WIRE_DISPATCH };
    d.u.dispatch.job.id = id;
    d.u.dispatch.job.key = "k";
    d.u.dispatch.job.source_url = "https://example.org/meeting";
    d.u.dispatch.job.text = text;
    d.u.dispatch.job.text_len = strlen(text);
    d.u.dispatch.attempt = attempt;
    d.u.dispatch.lease_ms = 60000;
    return d;
}

static void
dispatch(tb_t *t, uint64_t id, uint32_t attempt, const char *text)
{
    wire_msg_t d = dispatch_msg(id, attempt, text);
    send_msg(t, &d);
}

/* Append m, encoded, to batch b. */
static void
batch_add(wire_batch_t *b, const wire_msg_t *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_encode(m, &buf, &len), ERR_OK);
    wire_batch_add(b, buf, len);
    free(buf);
}

/* Send b as one frame (a Batch when it holds more than one message). */
static void
batch_send(tb_t *t, wire_batch_t *b)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_batch_finish(b, &buf, &len), ERR_OK);
    send_raw(t, buf, len);
    free(buf);
}

static void
done_ack(tb_t *t, uint64_t id, uint32_t attempt, int code)
{
    wire_msg_t a = { .kind = WIRE_DONE_ACK };
    a.u.done_ack.job_id = id;
    a.u.done_ack.attempt = attempt;
    a.u.done_ack.code = code;
    send_msg(t, &a);
}

static void
expect_ready(tb_t *t, uint32_t credit)
{
    wire_msg_t m;
    expect(t, WIRE_READY, &m, true);
    assert_int_equal(m.u.ready.credit, credit);
    assert_int_equal(m.u.ready.capacity, 2);
    assert_string_equal(m.u.ready.worker_name, "test-worker");
    assert_true(m.u.ready.batch);
    wire_msg_release(&m);
}

static void
expect_done(tb_t *t, uint64_t id, uint32_t attempt)
{
    wire_msg_t m;
    expect(t, WIRE_DONE, &m, true);
    assert_int_equal(m.u.done.job_id, id);
    assert_int_equal(m.u.done.attempt, attempt);
    result_t *r = NULL;
    assert_int_equal(
        wire_result_decode(m.u.done.result, m.u.done.result_len, &r), ERR_OK);
    assert_int_equal(r->job_id, id);
    assert_string_equal(r->source, "https://example.org/meeting");
    assert_true(r->version && *r->version);
    result_destroy(&r);
    wire_msg_release(&m);
}

/* Wait for wloop_run to return; its status. */
static int
join_worker(tb_t *t)
{
    /* what the last frame held besides the message awaited came before
     * the stop */
    while (t->q_head < t->q_n)
        wire_msg_release(&t->queue[t->q_head++]);
    uint64_t deadline = now_mono_ms() + 5000;
    while (atomic_load(&t->running) && now_mono_ms() < deadline) {
        wire_msg_t m;
        if (recv_any(t, 20, &m) == ERR_OK) {
            /* only heartbeats may come while it drains */
            assert_int_equal(m.kind, WIRE_HEARTBEAT);
            wire_msg_release(&m);
        }
    }
    assert_false(atomic_load(&t->running));
    pthread_join(t->thread, NULL);
    wloop_destroy(&t->w);
    return t->rc;
}

/* ------------------------------------------------------------ tests */

/* Ready{credit = threads}, Dispatch -> Done with the result, then
 * Ready{credit = 1}; idle heartbeats keep flowing; stop drains to 0. */
static void
test_ready_dispatch_done(void **state)
{
    tb_t *t = *state;
    start_worker(t, 2);
    expect_ready(t, 2);

    wire_msg_t m;
    assert_int_equal(recv_any(t, 2000, &m), ERR_OK);
    assert_int_equal(m.kind, WIRE_HEARTBEAT);
    assert_int_equal(m.u.heartbeat.n, 0);
    send_hb_reply(t, m.request_id);
    wire_msg_release(&m);

    dispatch(t, 7, 1, TEXT);
    expect_done(t, 7, 1);
    expect_ready(t, 1);
    done_ack(t, 7, 1, WIRE_CODE_OK);

    dispatch(t, 8, 3, TEXT);
    dispatch(t, 9, 1, TEXT);
    /* two slots, two jobs: both come back and both slots are credited */
    int dones = 0;
    uint32_t credit = 0; /* one Ready per Done, or one for both */
    while (dones < 2 || credit < 2) {
        wire_msg_t x;
        assert_int_equal(recv_any(t, 5000, &x), ERR_OK);
        if (x.kind == WIRE_DONE) {
            assert_true(x.u.done.job_id == 8 || x.u.done.job_id == 9);
            assert_int_equal(x.u.done.attempt, x.u.done.job_id == 8 ? 3u : 1u);
            done_ack(t, x.u.done.job_id, x.u.done.attempt, WIRE_CODE_OK);
            dones++;
        } else if (x.kind == WIRE_READY) {
            credit += x.u.ready.credit;
            assert_true(credit <= 2);
        } else if (x.kind == WIRE_HEARTBEAT) {
            send_hb_reply(t, x.request_id);
        } else {
            fail_msg("unexpected %s", wire_kind_name(x.kind));
        }
        wire_msg_release(&x);
    }
    wloop_request_stop(t->w);
    assert_int_equal(join_worker(t), ERR_OK);
}

/* A text over max-text fails, retryably, with the reason; the slot is
 * credited again. */
static void
test_failed_over_max_text(void **state)
{
    tb_t *t = *state;
    wloop_cfg_t cfg;
    test_cfg(&cfg, t, 2);
    assert_int_equal(cfg_set(wloop_cfg_table, wloop_cfg_table_len, &cfg,
                             "max-text", "64", "test"),
                     ERR_OK);
    start_cfg(t, &cfg);
    wloop_cfg_free(&cfg);
    expect_ready(t, 2);
    dispatch(t, 11, 2, TEXT);
    wire_msg_t m;
    expect(t, WIRE_FAILED, &m, true);
    assert_int_equal(m.u.failed.job_id, 11);
    assert_int_equal(m.u.failed.attempt, 2);
    assert_false(m.u.failed.permanent);
    assert_non_null(strstr(m.u.failed.reason, "max-text"));
    wire_msg_release(&m);
    expect_ready(t, 1);
    done_ack(t, 11, 2, WIRE_CODE_OK);
    wloop_request_stop(t->w);
    assert_int_equal(join_worker(t), ERR_OK);
}

/* A silent broker: after broker-timeout the worker makes a new socket (a
 * new routing id), registers with all its free slots and resends the Done
 * that was never acknowledged. */
static void
test_silent_broker_reconnect_resends(void **state)
{
    tb_t *t = *state;
    wloop_cfg_t cfg;
    test_cfg(&cfg, t, 2);
    cfg.broker_timeout_ms = 400;
    start_cfg(t, &cfg);
    wloop_cfg_free(&cfg);
    expect_ready(t, 2);
    zmq_msg_t first;
    zmq_msg_init(&first);
    zmq_msg_copy(&first, &t->ident);

    dispatch(t, 21, 1, TEXT);
    wire_msg_t m;
    expect(t, WIRE_DONE, &m, false);
    wire_msg_release(&m);

    /* say nothing more; the next Ready must come from a new socket */
    uint64_t t0 = now_mono_ms();
    for (;;) {
        assert_int_equal(recv_any(t, 5000, &m), ERR_OK);
        int kind = m.kind;
        uint32_t credit = kind == WIRE_READY ? m.u.ready.credit : 0;
        wire_msg_release(&m);
        if (kind != WIRE_READY)
            continue;
        bool same = zmq_msg_size(&first) == zmq_msg_size(&t->ident) &&
                    !memcmp(zmq_msg_data(&first), zmq_msg_data(&t->ident),
                            zmq_msg_size(&first));
        if (same) {
            assert_int_equal(credit, 1); /* the credit after the Done */
            continue;
        }
        assert_int_equal(credit, 2);
        break;
    }
    assert_true(now_mono_ms() - t0 >= 200);
    zmq_msg_close(&first);
    expect_done(t, 21, 1);
    done_ack(t, 21, 1, WIRE_CODE_OK);
    wloop_request_stop(t->w);
    assert_int_equal(join_worker(t), ERR_OK);
}

/* Receive until a Done (skipping Ready and Heartbeat, the latter answered
 * unless silent); returns its job id. */
static uint64_t
next_done(tb_t *t, bool silent)
{
    for (;;) {
        wire_msg_t m;
        assert_int_equal(recv_any(t, 5000, &m), ERR_OK);
        if (m.kind == WIRE_DONE) {
            uint64_t id = m.u.done.job_id;
            wire_msg_release(&m);
            return id;
        }
        if (m.kind == WIRE_HEARTBEAT && !silent)
            send_hb_reply(t, m.request_id);
        else if (m.kind != WIRE_HEARTBEAT && m.kind != WIRE_READY)
            fail_msg("unexpected %s", wire_kind_name(m.kind));
        wire_msg_release(&m);
    }
}

/* prefetch: one thread grants credit for three jobs, which it queues and
 * runs. Results wait for their DoneAck in numbers far above the credit
 * (a broker acks a whole group commit at once): none is forgotten, and a
 * new socket resends every one of them. */
#define UNACKED_JOBS 150
static void
test_prefetch_and_many_unacked(void **state)
{
    tb_t *t = *state;
    wloop_cfg_t cfg;
    test_cfg(&cfg, t, 1);
    cfg.prefetch = 3;
    cfg.broker_timeout_ms = 300;
    start_cfg(t, &cfg);
    wloop_cfg_free(&cfg);
    wire_msg_t m;
    expect(t, WIRE_READY, &m, true);
    assert_int_equal(m.u.ready.credit, 3);
    assert_int_equal(m.u.ready.capacity, 3);
    assert_true(m.u.ready.batch);
    wire_msg_release(&m);
    zmq_msg_t first;
    zmq_msg_init(&first);
    zmq_msg_copy(&first, &t->ident);

    bool seen[UNACKED_JOBS + 1] = { false };
    for (uint64_t id = 1; id <= 3; id++)
        dispatch(t, id, 1, TEXT);
    for (int i = 0; i < 3; i++)
        seen[next_done(t, false)] = true;
    assert_true(seen[1] && seen[2] && seen[3]);
    for (uint64_t id = 4; id <= UNACKED_JOBS; id++) {
        dispatch(t, id, 1, TEXT);
        assert_int_equal(next_done(t, false), id);
    }
    /* now silence: the worker redoes its socket and resends them all */
    for (;;) {
        assert_int_equal(recv_any(t, 5000, &m), ERR_OK);
        int kind = m.kind;
        wire_msg_release(&m);
        bool same = zmq_msg_size(&first) == zmq_msg_size(&t->ident) &&
                    !memcmp(zmq_msg_data(&first), zmq_msg_data(&t->ident),
                            zmq_msg_size(&first));
        if (kind == WIRE_READY && !same)
            break;
    }
    zmq_msg_close(&first);
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < UNACKED_JOBS; i++) {
        uint64_t id = next_done(t, false);
        assert_true(id >= 1 && id <= UNACKED_JOBS);
        assert_false(seen[id]);
        seen[id] = true;
    }
    for (uint64_t id = 1; id <= UNACKED_JOBS; id++)
        done_ack(t, id, 1, WIRE_CODE_OK);
    wloop_request_stop(t->w);
    assert_int_equal(join_worker(t), ERR_OK);
}

/* One thread: texts up to inline-max run on the socket thread, a longer
 * one on the extraction thread; still one job at a time, in dispatch
 * order, each answered and credited again. */
static void
test_one_thread_inline_and_handoff(void **state)
{
    tb_t *t = *state;
    wloop_cfg_t cfg;
    test_cfg(&cfg, t, 1);
    cfg.prefetch = 3;
    assert_int_equal(cfg_set(wloop_cfg_table, wloop_cfg_table_len, &cfg,
                             "inline-max", "100", "test"),
                     ERR_OK);
    start_cfg(t, &cfg);
    wloop_cfg_free(&cfg);
    wire_msg_t m;
    expect(t, WIRE_READY, &m, true);
    assert_int_equal(m.u.ready.credit, 3);
    wire_msg_release(&m);
    static const char small[] = "Anna Petrova: Revenues rose by 4.5 percent.";
    assert_true(sizeof small - 1 <= 100 && strlen(TEXT) > 100);
    for (int round = 0; round < 3; round++) {
        uint64_t base = 100 + 10 * (uint64_t)round;
        dispatch(t, base + 1, 1, small);
        dispatch(t, base + 2, 1, TEXT); /* over inline-max: handed off */
        dispatch(t, base + 3, 1, small);
        /* Dones in dispatch order; all three slots come back, in one or
         * more Readys between or after them */
        uint64_t k = 1;
        uint32_t credit = 0;
        while (k <= 3 || credit < 3) {
            assert_int_equal(recv_any(t, 5000, &m), ERR_OK);
            if (m.kind == WIRE_HEARTBEAT) {
                send_hb_reply(t, m.request_id);
            } else if (m.kind == WIRE_READY) {
                credit += m.u.ready.credit;
            } else {
                assert_int_equal(m.kind, WIRE_DONE);
                assert_int_equal(m.u.done.job_id, base + k);
                result_t *r = NULL;
                assert_int_equal(wire_result_decode(m.u.done.result,
                                                    m.u.done.result_len, &r),
                                 ERR_OK);
                assert_true(k == 2 ? r->n_entities > 0 : r->n_figures > 0);
                result_destroy(&r);
                done_ack(t, base + k, 1, WIRE_CODE_OK);
                k++;
            }
            wire_msg_release(&m);
        }
        assert_int_equal(credit, 3);
    }
    wloop_request_stop(t->w);
    assert_int_equal(join_worker(t), ERR_OK);
}

/* Credit stops while the unacked window (1024 answers with one slot) is
 * full, and resumes once DoneAcks arrive even though no job finishes. */
#define WINDOW_JOBS 1024
static void
test_credit_resumes_after_acks(void **state)
{
    tb_t *t = *state;
    wloop_cfg_t cfg;
    test_cfg(&cfg, t, 1);
    start_cfg(t, &cfg);
    wloop_cfg_free(&cfg);
    wire_msg_t m;
    static const char small[] = "Anna Petrova: Good afternoon.";
    for (uint64_t id = 1; id <= WINDOW_JOBS; id++) {
        expect(t, WIRE_READY, &m, true);
        assert_int_equal(m.u.ready.credit, 1);
        wire_msg_release(&m);
        dispatch(t, id, 1, small);
        expect(t, WIRE_DONE, &m, true);
        assert_int_equal(m.u.done.job_id, id);
        wire_msg_release(&m);
    }
    /* window full: heartbeats only, no Ready */
    uint64_t until = now_mono_ms() + 200;
    while (now_mono_ms() < until) {
        if (recv_any(t, 20, &m) == ERR_OK) {
            assert_int_equal(m.kind, WIRE_HEARTBEAT);
            send_hb_reply(t, m.request_id);
            wire_msg_release(&m);
        }
    }
    for (uint64_t id = 1; id <= WINDOW_JOBS; id++)
        done_ack(t, id, 1, WIRE_CODE_OK);
    expect(t, WIRE_READY, &m, true);
    assert_int_equal(m.u.ready.credit, 1);
    wire_msg_release(&m);
    wloop_request_stop(t->w);
    assert_int_equal(join_worker(t), ERR_OK);
}

/* Rejected "unknown worker" (a restarted broker) makes the worker send
 * Ready again; a rejection of a message older than that Ready does not
 * (it would grant the same slots twice). */
static void
test_unknown_worker_registers_again(void **state)
{
    tb_t *t = *state;
    start_worker(t, 2);
    expect_ready(t, 2);
    wire_msg_t m;
    uint64_t old_rid = 0;
    int kind;
    do {
        assert_int_equal(recv_any(t, 2000, &m), ERR_OK);
        old_rid = m.request_id;
        kind = m.kind;
        wire_msg_release(&m);
    } while (kind != WIRE_HEARTBEAT);

    wire_msg_t rej = { .kind = WIRE_REJECTED, .request_id = old_rid };
    rej.u.rejected.code = WIRE_CODE_NOT_FOUND;
    rej.u.rejected.reason = "unknown worker";
    send_msg(t, &rej);
    expect(t, WIRE_READY, &m, true);
    assert_int_equal(m.u.ready.credit, 2);
    assert_true(m.request_id > old_rid);
    wire_msg_release(&m);

    /* stale: the same old request again, then work; the next message
     * that is not a heartbeat must be the Done, not another Ready */
    send_msg(t, &rej);
    dispatch(t, 31, 1, TEXT);
    expect_done(t, 31, 1);
    expect_ready(t, 1);
    done_ack(t, 31, 1, WIRE_CODE_OK);
    wloop_request_stop(t->w);
    assert_int_equal(join_worker(t), ERR_OK);
}

/* After stop: jobs already granted still run and are answered, no new
 * credit is sent, and wloop_run returns only once everything is acked. */
static void
test_drain_waits_for_ack_and_sends_no_credit(void **state)
{
    tb_t *t = *state;
    start_worker(t, 2);
    expect_ready(t, 2);
    dispatch(t, 41, 1, TEXT);
    expect_done(t, 41, 1);
    expect_ready(t, 1);
    /* Done 41 is unacked, so the worker cannot finish draining yet */
    wloop_request_stop(t->w);
    /* a slot of credit granted before the stop, used after it */
    dispatch(t, 42, 1, TEXT);
    expect_done(t, 42, 1);
    /* only heartbeats now: no Ready, and it keeps running */
    wire_msg_t m;
    uint64_t until = now_mono_ms() + 200;
    while (now_mono_ms() < until) {
        if (recv_any(t, 20, &m) == ERR_OK) {
            assert_int_equal(m.kind, WIRE_HEARTBEAT);
            send_hb_reply(t, m.request_id);
            wire_msg_release(&m);
        }
    }
    assert_true(atomic_load(&t->running));
    done_ack(t, 41, 1, WIRE_CODE_OK);
    done_ack(t, 42, 1, WIRE_CODE_NOT_FOUND); /* fenced counts as answered */
    assert_int_equal(join_worker(t), ERR_OK);
}

/* A drain that cannot finish (no DoneAck ever) ends at drain-timeout. */
static void
test_drain_timeout(void **state)
{
    tb_t *t = *state;
    wloop_cfg_t cfg;
    test_cfg(&cfg, t, 2);
    cfg.drain_timeout_ms = 300;
    start_cfg(t, &cfg);
    wloop_cfg_free(&cfg);
    expect_ready(t, 2);
    dispatch(t, 51, 1, TEXT);
    wire_msg_t m;
    expect(t, WIRE_DONE, &m, true);
    wire_msg_release(&m);
    expect_ready(t, 1);
    uint64_t t0 = now_mono_ms();
    wloop_request_stop(t->w);
    assert_int_equal(join_worker(t), ERR_TIMEOUT);
    assert_true(now_mono_ms() - t0 >= 250);
}

/* Garbage, a wrong version and unexpected kinds from the broker are
 * logged and ignored; the worker keeps working. */
static void
test_garbage_from_broker(void **state)
{
    tb_t *t = *state;
    start_worker(t, 2);
    expect_ready(t, 2);
    static const char junk[] = "\xff\xfe garbage \x00\x01";
    send_raw(t, junk, sizeof junk);
    send_raw(t, "", 0);
    wire_msg_t v2 = { .kind = WIRE_HEARTBEAT, .version = 2 };
    send_msg(t, &v2);
    wire_msg_t odd = { .kind = WIRE_STATS_REPLY };
    send_msg(t, &odd);
    done_ack(t, 999, 1, WIRE_CODE_OK); /* for nothing we sent */
    dispatch(t, 61, 1, TEXT);
    expect_done(t, 61, 1);
    expect_ready(t, 1);
    done_ack(t, 61, 1, WIRE_CODE_OK);
    wloop_request_stop(t->w);
    assert_int_equal(join_worker(t), ERR_OK);
}

/* A Batch of Dispatches (behind a Heartbeat reply) is taken item by item:
 * every job is answered once and its slot credited again; the DoneAcks,
 * sent back as one Batch, let the drain finish. */
#define BATCH_JOBS 8
static void
test_batch_of_dispatches(void **state)
{
    tb_t *t = *state;
    wloop_cfg_t cfg;
    test_cfg(&cfg, t, 2);
    cfg.prefetch = BATCH_JOBS / 2;
    start_cfg(t, &cfg);
    wloop_cfg_free(&cfg);
    wire_msg_t m;
    expect(t, WIRE_READY, &m, true);
    assert_int_equal(m.u.ready.credit, BATCH_JOBS);
    assert_true(m.u.ready.batch);
    wire_msg_release(&m);

    extract_t *ex = extract_new();
    result_t *want = NULL;
    assert_int_equal(extract_run(ex, TEXT, strlen(TEXT), &want), ERR_OK);
    assert_true(want->n_entities > 0);

    wire_batch_t b;
    wire_batch_init(&b);
    wire_msg_t hb = { .kind = WIRE_HEARTBEAT, .request_id = 1 };
    batch_add(&b, &hb);
    for (uint64_t i = 1; i <= BATCH_JOBS; i++) {
        wire_msg_t d = dispatch_msg(70 + i, 1, TEXT);
        batch_add(&b, &d);
    }
    batch_send(t, &b);

    /* Slots come back in Readys of at least a quarter of the capacity
     * (unless the queue could run dry), so with the Dones spread over
     * passes a last slot or so may stay ungranted: count credit, but wait
     * only for the Dones. */
    bool seen[BATCH_JOBS + 1] = { false };
    size_t dones = 0, frames0 = t->done_frames;
    uint32_t credit = 0;
    uint64_t deadline = now_mono_ms() + 10000;
    while (dones < BATCH_JOBS) {
        assert_true(now_mono_ms() < deadline);
        assert_int_equal(recv_any(t, 5000, &m), ERR_OK);
        if (m.kind == WIRE_DONE) {
            uint64_t i = m.u.done.job_id - 70;
            assert_true(i >= 1 && i <= BATCH_JOBS);
            assert_false(seen[i]);
            seen[i] = true;
            assert_int_equal(m.u.done.attempt, 1);
            result_t *r = NULL;
            assert_int_equal(
                wire_result_decode(m.u.done.result, m.u.done.result_len, &r),
                ERR_OK);
            assert_int_equal(r->job_id, 70 + i);
            /* the texts were read in place from the one frame, on two
             * threads: each result is the text's */
            assert_int_equal(r->n_entities, want->n_entities);
            assert_int_equal(r->n_figures, want->n_figures);
            assert_int_equal(r->n_turns, want->n_turns);
            for (size_t k = 0; k < r->n_entities; k++)
                assert_string_equal(r->entities[k].name,
                                    want->entities[k].name);
            result_destroy(&r);
            dones++;
        } else if (m.kind == WIRE_READY) {
            credit += m.u.ready.credit;
            assert_true(credit <= BATCH_JOBS);
        } else if (m.kind == WIRE_HEARTBEAT) {
            send_hb_reply(t, m.request_id);
        } else {
            fail_msg("unexpected %s", wire_kind_name(m.kind));
        }
        wire_msg_release(&m);
    }
    /* the Ready of the pass that sent the last Done follows it in its
     * frame; what remains ungranted is less than a quarter */
    while (t->q_head < t->q_n) {
        wire_msg_t *x = &t->queue[t->q_head++];
        if (x->kind == WIRE_READY)
            credit += x->u.ready.credit;
        wire_msg_release(x);
    }
    assert_true(credit > BATCH_JOBS - BATCH_JOBS / 4);
    assert_true(credit <= BATCH_JOBS);
    /* how the answers were grouped depends on thread timing: totals only */
    size_t frames = t->done_frames - frames0;
    assert_true(frames >= 1 && frames <= BATCH_JOBS);
    print_message("%d Dones came in %zu frames\n", BATCH_JOBS, frames);
    result_destroy(&want);
    extract_destroy(&ex);

    for (uint64_t i = 1; i <= BATCH_JOBS; i++) {
        wire_msg_t a = { .kind = WIRE_DONE_ACK };
        a.u.done_ack.job_id = 70 + i;
        a.u.done_ack.attempt = 1;
        a.u.done_ack.code = WIRE_CODE_OK;
        batch_add(&b, &a);
    }
    batch_send(t, &b);
    wloop_request_stop(t->w);
    assert_int_equal(join_worker(t), ERR_OK);
}

/* What one loop pass sends is one frame, up to about 64 KiB: after a
 * silent broker, the new socket's Ready and every unacked Done (here
 * about 400 KB of them) come in frames that each hold several messages,
 * the first one led by the Ready, none much over the cap. */
#define CAP_JOBS 100
#define OUT_CAP (64u << 10)
static void
test_batches_capped_on_resend(void **state)
{
    tb_t *t = *state;
    wloop_cfg_t cfg;
    test_cfg(&cfg, t, 1);
    cfg.prefetch = CAP_JOBS;
    cfg.broker_timeout_ms = 1000;
    start_cfg(t, &cfg);
    wloop_cfg_free(&cfg);
    wire_msg_t m;
    expect(t, WIRE_READY, &m, true);
    assert_int_equal(m.u.ready.credit, CAP_JOBS);
    wire_msg_release(&m);
    zmq_msg_t first;
    zmq_msg_init(&first);
    zmq_msg_copy(&first, &t->ident);

    /* each Result carries its 4000-byte source: Dones of over 4 KB */
    static char url[4001];
    memset(url, 'u', sizeof url - 1);
    memcpy(url, "https://", 8);
    static const char small[] = "Anna Petrova: Revenues rose by 4.5 percent.";
    wire_batch_t b;
    wire_batch_init(&b);
    for (uint64_t id = 1; id <= CAP_JOBS; id++) {
        wire_msg_t d = dispatch_msg(id, 1, small);
        d.u.dispatch.job.source_url = url;
        batch_add(&b, &d);
    }
    batch_send(t, &b);
    /* one thread runs them in dispatch order */
    for (uint64_t id = 1; id <= CAP_JOBS; id++)
        assert_int_equal(next_done(t, false), id);

    /* silence: the worker redoes its socket and resends them all */
    for (;;) {
        assert_int_equal(recv_any(t, 5000, &m), ERR_OK);
        int kind = m.kind;
        uint32_t credit = kind == WIRE_READY ? m.u.ready.credit : 0;
        wire_msg_release(&m);
        bool same = zmq_msg_size(&first) == zmq_msg_size(&t->ident) &&
                    !memcmp(zmq_msg_data(&first), zmq_msg_data(&t->ident),
                            zmq_msg_size(&first));
        if (same)
            continue;
        /* the new socket's first frame: its Ready, then the answers */
        assert_int_equal(kind, WIRE_READY);
        assert_int_equal(t->q_head, 1);
        assert_int_equal(credit, CAP_JOBS);
        break;
    }
    zmq_msg_close(&first);
    bool seen[CAP_JOBS + 1] = { false };
    size_t frames0 = t->done_frames - 1, max_bytes = t->frame_bytes;
    assert_true(t->frame_dones > 1);
    for (int i = 0; i < CAP_JOBS; i++) {
        uint64_t id = next_done(t, false);
        assert_true(id >= 1 && id <= CAP_JOBS);
        assert_false(seen[id]);
        seen[id] = true;
        assert_true(t->frame_dones > 1);
        if (t->frame_bytes > max_bytes)
            max_bytes = t->frame_bytes;
    }
    size_t frames = t->done_frames - frames0;
    print_message("%d resent Dones came in %zu frames, largest %zu bytes\n",
                  CAP_JOBS, frames, max_bytes);
    assert_true(max_bytes <= OUT_CAP + 2 * sizeof url);
    /* no frame over the cap plus one Done, so at least this many */
    assert_true(frames * (OUT_CAP + 2 * sizeof url) >=
                CAP_JOBS * (sizeof url - 1));
    assert_true(frames <= CAP_JOBS / 4);

    for (uint64_t id = 1; id <= CAP_JOBS; id++) {
        wire_msg_t a = { .kind = WIRE_DONE_ACK };
        a.u.done_ack.job_id = id;
        a.u.done_ack.attempt = 1;
        a.u.done_ack.code = WIRE_CODE_OK;
        batch_add(&b, &a);
    }
    batch_send(t, &b);
    wloop_request_stop(t->w);
    assert_int_equal(join_worker(t), ERR_OK);
}

/* Send Envelope{version, batch = body} with a hand-made body. */
static void
send_batch_body(tb_t *t, uint64_t version, const uint8_t *body, size_t len)
{
    uint8_t *f = malloc(len + 16);
    assert_non_null(f);
    size_t n = 0;
    f[n++] = 0x08; /* field 1, varint */
    n += pbraw_put_varint(f + n, version);
    n += pbraw_put_varint(f + n, 31u << 3 | 2u); /* Envelope.batch */
    n += pbraw_put_varint(f + n, len);
    memcpy(f + n, body, len);
    send_raw(t, f, n + len);
    free(f);
}

/* Malformed Batches from the broker: the items before the bad one are
 * handled, the rest of the frame is dropped, and the worker keeps
 * serving. With one thread the Dones come in dispatch order, so a
 * dropped job answered by mistake would show up before the next one. */
static void
test_malformed_batch(void **state)
{
    tb_t *t = *state;
    wloop_cfg_t cfg;
    test_cfg(&cfg, t, 1);
    cfg.prefetch = 4;
    start_cfg(t, &cfg);
    wloop_cfg_free(&cfg);
    wire_msg_t m;
    expect(t, WIRE_READY, &m, true);
    assert_int_equal(m.u.ready.credit, 4);
    wire_msg_release(&m);

    /* a Batch nested in a Batch: 81 runs, the nested one and 89 not */
    wire_batch_t inner, b;
    wire_batch_init(&inner);
    wire_batch_init(&b);
    wire_msg_t hb = { .kind = WIRE_HEARTBEAT };
    batch_add(&inner, &hb);
    batch_add(&inner, &hb);
    uint8_t *nested = NULL;
    size_t nested_len = 0;
    assert_int_equal(wire_batch_finish(&inner, &nested, &nested_len), ERR_OK);
    wire_msg_t d = dispatch_msg(81, 1, TEXT);
    batch_add(&b, &d);
    wire_batch_add(&b, nested, nested_len);
    d = dispatch_msg(89, 1, TEXT);
    batch_add(&b, &d);
    batch_send(t, &b);
    free(nested);

    /* an item whose length runs past the end: 82 runs */
    uint8_t *item = NULL;
    size_t item_len = 0;
    d = dispatch_msg(82, 1, TEXT);
    assert_int_equal(wire_encode(&d, &item, &item_len), ERR_OK);
    uint8_t *body = malloc(item_len + 16);
    assert_non_null(body);
    size_t n = 0;
    body[n++] = 0x0a; /* Batch.items */
    n += pbraw_put_varint(body + n, item_len);
    memcpy(body + n, item, item_len);
    n += item_len;
    body[n++] = 0x0a;
    body[n++] = 0x7f;
    send_batch_body(t, 1, body, n);
    free(body);
    free(item);

    /* an items field that is a number; a Batch of another version; a
     * Batch field longer than the frame */
    static const uint8_t number[] = { 0x08, 0x05 };
    send_batch_body(t, 1, number, sizeof number);
    send_batch_body(t, 2, number, 0);
    static const uint8_t cut[] = { 0x08, 0x01, 0xfa, 0x01, 0x50, 0x0a };
    send_raw(t, cut, sizeof cut);

    dispatch(t, 83, 1, TEXT);
    assert_int_equal(next_done(t, false), 81);
    assert_int_equal(next_done(t, false), 82);
    assert_int_equal(next_done(t, false), 83);
    done_ack(t, 81, 1, WIRE_CODE_OK);
    done_ack(t, 82, 1, WIRE_CODE_OK);
    done_ack(t, 83, 1, WIRE_CODE_OK);
    wloop_request_stop(t->w);
    assert_int_equal(join_worker(t), ERR_OK);
}

/* A broker that predates Batch refuses a Batch frame as a whole with
 * Rejected{INVALID} and request_id 0: the worker then sends one message
 * per frame, resends the answers and grants again the credit the refused
 * frames held. */
static void
test_broker_without_batches(void **state)
{
    tb_t *t = *state;
    wloop_cfg_t cfg;
    test_cfg(&cfg, t, 1);
    cfg.prefetch = 4; /* a Ready after every job, with its Done: a Batch */
    start_cfg(t, &cfg);
    wloop_cfg_free(&cfg);
    wire_msg_t m;
    expect(t, WIRE_READY, &m, true);
    assert_int_equal(m.u.ready.credit, 4);
    wire_msg_release(&m);

    dispatch(t, 91, 1, TEXT);
    expect(t, WIRE_DONE, &m, true);
    assert_int_equal(m.u.done.job_id, 91);
    wire_msg_release(&m);
    assert_true(t->frame_items > 1);
    while (t->q_head < t->q_n)
        wire_msg_release(&t->queue[t->q_head++]);
    wire_msg_t rej = { .kind = WIRE_REJECTED };
    rej.u.rejected.code = WIRE_CODE_INVALID;
    rej.u.rejected.reason = "malformed envelope";
    send_msg(t, &rej);

    /* the Done again, the slot granted again, then two more jobs: every
     * frame holds one message */
    uint64_t next = 91;
    uint32_t credit = 0;
    uint64_t deadline = now_mono_ms() + 10000;
    while (next <= 93 || credit < 3) {
        assert_true(now_mono_ms() < deadline);
        assert_int_equal(recv_any(t, 5000, &m), ERR_OK);
        assert_int_equal(t->frame_items, 1);
        if (m.kind == WIRE_DONE) {
            assert_int_equal(m.u.done.job_id, next);
            done_ack(t, next, 1, WIRE_CODE_OK);
            if (next < 93)
                dispatch(t, next + 1, 1, TEXT);
            next++;
        } else if (m.kind == WIRE_READY) {
            credit += m.u.ready.credit;
            assert_true(credit <= 3);
        } else if (m.kind == WIRE_HEARTBEAT) {
            send_hb_reply(t, m.request_id);
        } else {
            fail_msg("unexpected %s", wire_kind_name(m.kind));
        }
        wire_msg_release(&m);
    }
    wloop_request_stop(t->w);
    assert_int_equal(join_worker(t), ERR_OK);
}

/* A broker that reads Batches says so in every Rejected (batch = true):
 * its refusal of something with request_id 0 (here: as for a malformed
 * Batch item) does not make the worker stop batching. */
static void
test_batch_broker_rejection_keeps_batches(void **state)
{
    tb_t *t = *state;
    wloop_cfg_t cfg;
    test_cfg(&cfg, t, 1);
    cfg.prefetch = 4; /* a Ready after every job, with its Done: a Batch */
    start_cfg(t, &cfg);
    wloop_cfg_free(&cfg);
    wire_msg_t m;
    expect(t, WIRE_READY, &m, true);
    wire_msg_release(&m);
    wire_msg_t rej = { .kind = WIRE_REJECTED };
    rej.u.rejected.code = WIRE_CODE_INVALID;
    rej.u.rejected.reason = "malformed Batch: items from here on were dropped";
    rej.u.rejected.batch = true;
    send_msg(t, &rej);
    for (uint64_t id = 95; id <= 96; id++) {
        dispatch(t, id, 1, TEXT);
        expect(t, WIRE_DONE, &m, true);
        assert_int_equal(m.u.done.job_id, id);
        wire_msg_release(&m);
        assert_true(t->frame_items > 1); /* still Done + Ready in one */
        while (t->q_head < t->q_n)
            wire_msg_release(&t->queue[t->q_head++]);
        done_ack(t, id, 1, WIRE_CODE_OK);
    }
    wloop_request_stop(t->w);
    assert_int_equal(join_worker(t), ERR_OK);
}

/* Stop with nothing held returns at once. */
static void
test_idle_stop(void **state)
{
    tb_t *t = *state;
    start_worker(t, 2);
    expect_ready(t, 2);
    uint64_t t0 = now_mono_ms();
    wloop_request_stop(t->w);
    assert_int_equal(join_worker(t), ERR_OK);
    /* nothing to drain: it must not sit out drain-timeout (5 s) */
    assert_true(now_mono_ms() - t0 < 4500);
}

/* Stop before run: nothing is sent, no credit granted. */
static void
test_stop_before_run(void **state)
{
    tb_t *t = *state;
    wloop_cfg_t cfg;
    test_cfg(&cfg, t, 2);
    assert_int_equal(wloop_open(&t->w, &cfg), ERR_OK);
    wloop_cfg_free(&cfg);
    wloop_request_stop(t->w);
    assert_int_equal(wloop_run(t->w), ERR_OK);
    wloop_destroy(&t->w);
    wire_msg_t m;
    assert_int_equal(recv_any(t, 200, &m), ERR_TIMEOUT);
}

/* Defaults, bounds, and settings wloop_open refuses. */
static void
test_config(void **state)
{
    tb_t *t = *state;
    wloop_cfg_t cfg;
    assert_int_equal(wloop_cfg_defaults(&cfg), ERR_OK);
    assert_string_equal(cfg.broker, "tcp://127.0.0.1:7441");
    assert_int_equal(cfg.threads, 0);
    assert_int_equal(cfg.heartbeat_ms, 1000);
    assert_int_equal(cfg.broker_timeout_ms, 10000);
    assert_int_equal(cfg.max_text, WIRE_MAX_TEXT);
    assert_string_equal(cfg.log_level, "info");
    const cfg_entry_t *tab = wloop_cfg_table;
    size_t n = wloop_cfg_table_len;
    assert_int_equal(cfg_set(tab, n, &cfg, "threads", "-1", "t"), ERR_INVAL);
    assert_int_equal(cfg_set(tab, n, &cfg, "threads", "4", "t"), ERR_OK);
    assert_int_equal(cfg.threads, 4);
    assert_int_equal(cfg_set(tab, n, &cfg, "heartbeat-ms", "2s", "t"), ERR_OK);
    assert_int_equal(cfg.heartbeat_ms, 2000);
    assert_int_equal(cfg_set(tab, n, &cfg, "max-text", "65M", "t"), ERR_INVAL);
    assert_int_equal(cfg_set(tab, n, &cfg, "nope", "1", "t"), ERR_NOTFOUND);

    wloop_t *w = NULL;
    assert_int_equal(cfg_set(tab, n, &cfg, "broker", "nope://x", "t"), ERR_OK);
    assert_int_equal(wloop_open(&w, &cfg), ERR_INVAL);
    assert_null(w);
    assert_int_equal(cfg_set(tab, n, &cfg, "broker", t->endpoint, "t"), ERR_OK);
    cfg.broker_timeout_ms = 3000; /* less than twice heartbeat-ms */
    assert_int_equal(wloop_open(&w, &cfg), ERR_INVAL);
    cfg.broker_timeout_ms = 10000;
    assert_int_equal(cfg_set(tab, n, &cfg, "log-level", "loud", "t"), ERR_OK);
    assert_int_equal(wloop_open(&w, &cfg), ERR_INVAL);
    assert_int_equal(cfg_set(tab, n, &cfg, "log-level", "warn", "t"), ERR_OK);
    assert_int_equal(wloop_open(&w, &cfg), ERR_OK);
    wloop_destroy(&w);
    assert_null(w);
    wloop_destroy(&w);
    wloop_cfg_free(&cfg);
    wloop_cfg_free(&cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ready_dispatch_done, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failed_over_max_text, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_silent_broker_reconnect_resends,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefetch_and_many_unacked, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_one_thread_inline_and_handoff,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_credit_resumes_after_acks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_worker_registers_again,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_drain_waits_for_ack_and_sends_no_credit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_from_broker, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_batch_of_dispatches, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_batches_capped_on_resend, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_malformed_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_batch_broker_rejection_keeps_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broker_without_batches, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_idle_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_before_run, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
