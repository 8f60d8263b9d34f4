/*
 * test_client: the client library against a fake broker, a thread that
 * plays the frontend on a real ROUTER over ipc:// in a temp dir, speaking
 * the real protocol through wire_*.
 */
#include "../client/client.h"
#include "../common/err.h"
#include "../common/now.h"
#include "../common/result.h"
#include "../proto/wire.h"
#include "../proto/wire_batch.h"
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#ifndef EXCERPT_BROKER_BIN
#define EXCERPT_BROKER_BIN ""
#endif

/* How the fake broker answers. */
enum {
    FAKE_NORMAL,      /* answer everything */
    FAKE_DROP,        /* ignore the first `count` requests */
    FAKE_FULL,        /* Rejected QUEUE_FULL to the first `count` requests */
    FAKE_GARBAGE,     /* garbage and a stale reply before the real one */
    FAKE_SILENT,      /* never answer */
    FAKE_ONLY_JUNK,   /* answer only with undecodable frames */
    FAKE_NOT_FOUND,   /* Rejected NOT_FOUND to everything */
    FAKE_FULL_EVERY,  /* QUEUE_FULL to the first try of every 7th job */
    FAKE_BATCH_REPLY, /* each reply in a Batch after a stale and a junk item */
    FAKE_NO_BATCH     /* a broker before Batch: INVALID, no request_id */
};

/* Replies to a Batch of requests are sent batched, this many per frame (a
 * grouping of the fake's choosing, as the protocol allows). */
#define FAKE_REPLIES_PER_FRAME 5

typedef struct fake {
    char dir[64];                /* temp dir */
    char endpoint[128];          /* ipc:// endpoint */
    int mode;                    /* FAKE_* */
    int count;                   /* parameter of the mode */
    uint32_t retry_after_ms;     /* in QUEUE_FULL rejections */
    atomic_int requests;         /* requests received */
    atomic_bool stop;            /* ask the thread to stop */
    atomic_bool ready;           /* socket bound */
    char last_key[1100];         /* key of the last Submit */
    uint64_t rejected_rid[4096]; /* FULL_EVERY: request ids refused once */
    size_t n_rejected;           /* entries in rejected_rid */
    atomic_int frames;           /* request frames received */
    atomic_int batches;          /* of which Batch frames */
    atomic_size_t max_items;     /* most requests in one frame */
    atomic_size_t max_frame;     /* largest Batch frame, bytes */
    wire_batch_t *acc;           /* replies held for one frame, or NULL */
    pthread_t thread;            /* the broker thread */
} fake_t;

static void
send_frame(void *sock, zmq_msg_t *ident, const void *data, size_t len)
{
    zmq_msg_t copy;
    zmq_msg_init(&copy);
    zmq_msg_copy(&copy, ident);
    assert_true(zmq_msg_send(&copy, sock, ZMQ_SNDMORE) >= 0);
    assert_true(zmq_send(sock, data, len, 0) >= 0);
}

/* Send the replies held in f->acc as one frame. */
static void
flush_replies(fake_t *f, void *sock, zmq_msg_t *ident)
{
    if (!f->acc || !f->acc->n)
        return;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_batch_finish(f->acc, &buf, &len), 0);
    send_frame(sock, ident, buf, len);
    free(buf);
}

/* Send m, or hold it for a batched reply while a Batch is handled. */
static void
send_reply(fake_t *f, void *sock, zmq_msg_t *ident, const wire_msg_t *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_encode(m, &buf, &len), 0);
    if (f->acc) {
        wire_batch_add(f->acc, buf, len);
        if (f->acc->n == FAKE_REPLIES_PER_FRAME)
            flush_replies(f, sock, ident);
    } else if (f->mode == FAKE_BATCH_REPLY) {
        wire_msg_t stale = { .kind = WIRE_ACCEPTED,
                             .request_id = m->request_id + 99 };
        stale.u.accepted.job_id = 1;
        uint8_t *sbuf = NULL;
        size_t slen = 0;
        assert_int_equal(wire_encode(&stale, &sbuf, &slen), 0);
        static const uint8_t junk[] = { 0x0a, 0x0b, 0x0c, 0x0d };
        wire_batch_t b;
        wire_batch_init(&b);
        wire_batch_add(&b, sbuf, slen);
        wire_batch_add(&b, junk, sizeof junk);
        wire_batch_add(&b, buf, len);
        uint8_t *out = NULL;
        size_t out_len = 0;
        assert_int_equal(wire_batch_finish(&b, &out, &out_len), 0);
        send_frame(sock, ident, out, out_len);
        free(out);
        free(sbuf);
    } else {
        send_frame(sock, ident, buf, len);
    }
    free(buf);
}

static void
send_raw(void *sock, zmq_msg_t *ident, const void *data, size_t len)
{
    send_frame(sock, ident, data, len);
}

static void
answer(fake_t *f, void *sock, zmq_msg_t *ident, const wire_msg_t *req)
{
    wire_msg_t rep = { .request_id = req->request_id };
    uint8_t *res = NULL;
    size_t res_len = 0;
    result_t *r = NULL;
    switch (req->kind) {
    case WIRE_SUBMIT:
        snprintf(f->last_key, sizeof f->last_key, "%s",
                 req->u.submit.job.key ? req->u.submit.job.key : "");
        rep.kind = WIRE_ACCEPTED;
        /* job id derived from the text so that tests can check it */
        rep.u.accepted.job_id = 1000 + req->u.submit.job.text_len;
        rep.u.accepted.duplicate = req->u.submit.job.priority == 9;
        rep.u.accepted.text_differs = req->u.submit.job.priority == 9;
        break;
    case WIRE_GET:
        if (req->u.get.job_id == 404) {
            rep.kind = WIRE_REJECTED;
            rep.u.rejected.code = WIRE_CODE_NOT_FOUND;
            rep.u.rejected.reason = "no such job";
            break;
        }
        r = result_new();
        r->job_id = req->u.get.job_id;
        result_add_speaker(r, "Anna Petrova", "Minister");
        assert_int_equal(wire_result_encode(r, &res, &res_len), 0);
        rep.kind = WIRE_GET_REPLY;
        rep.u.get_reply.job.id = req->u.get.job_id;
        rep.u.get_reply.job.key = "k1";
        rep.u.get_reply.job.state = WIRE_JOB_DONE;
        rep.u.get_reply.job.seq = 7;
        rep.u.get_reply.result = res;
        rep.u.get_reply.result_len = res_len;
        break;
    case WIRE_STATS:
        rep.kind = WIRE_STATS_REPLY;
        rep.u.stats_reply.ready = 3;
        rep.u.stats_reply.done = 5;
        rep.u.stats_reply.commit_rate = 1.5;
        break;
    case WIRE_DEAD_REQUEUE:
    case WIRE_DEAD_PURGE:
        rep.kind = WIRE_DEAD_REPLY;
        rep.u.dead_reply.count = req->u.dead_ids.all ? 42 : req->u.dead_ids.n;
        break;
    default:
        rep.kind = WIRE_REJECTED;
        rep.u.rejected.code = WIRE_CODE_INVALID;
        rep.u.rejected.reason = "unexpected";
        break;
    }
    send_reply(f, sock, ident, &rep);
    free(res);
    result_destroy(&r);
}

/* Handle one request (a frame, or an item of a Batch). */
static void
handle(fake_t *f, void *sock, zmq_msg_t *ident, const uint8_t *buf, size_t len)
{
    wire_msg_t req;
    assert_int_equal(wire_decode(buf, len, 0, &req), 0);
    int n = atomic_fetch_add(&f->requests, 1) + 1;
    bool skip = false;
    switch (f->mode) {
    case FAKE_DROP:
        skip = n <= f->count;
        break;
    case FAKE_FULL:
        if (n <= f->count) {
            wire_msg_t rep = { .kind = WIRE_REJECTED,
                               .request_id = req.request_id };
            rep.u.rejected.code = WIRE_CODE_QUEUE_FULL;
            rep.u.rejected.reason = "queue holds 10 jobs";
            rep.u.rejected.retry_after_ms = f->retry_after_ms;
            send_reply(f, sock, ident, &rep);
            skip = true;
        }
        break;
    case FAKE_GARBAGE: {
        static const char junk[] = "\xff\x01garbage\x00\x7f";
        send_raw(sock, ident, junk, sizeof junk);
        wire_msg_t stale = { .kind = WIRE_ACCEPTED,
                             .request_id = req.request_id + 99 };
        stale.u.accepted.job_id = 1;
        send_reply(f, sock, ident, &stale);
        break;
    }
    case FAKE_SILENT:
        skip = true;
        break;
    case FAKE_ONLY_JUNK: {
        static const char junk[] = "\x0a\x0b\x0c\x0d";
        send_raw(sock, ident, junk, sizeof junk);
        skip = true;
        break;
    }
    case FAKE_NOT_FOUND: {
        wire_msg_t rep = { .kind = WIRE_REJECTED,
                           .request_id = req.request_id };
        rep.u.rejected.code = WIRE_CODE_NOT_FOUND;
        rep.u.rejected.reason = "no such key";
        send_reply(f, sock, ident, &rep);
        skip = true;
        break;
    }
    case FAKE_FULL_EVERY:
        if (req.kind == WIRE_SUBMIT && req.u.submit.job.text_len % 7 == 0) {
            bool seen = false;
            for (size_t i = 0; i < f->n_rejected; i++)
                seen |= f->rejected_rid[i] == req.request_id;
            if (!seen && f->n_rejected < 4096) {
                f->rejected_rid[f->n_rejected++] = req.request_id;
                wire_msg_t rep = { .kind = WIRE_REJECTED,
                                   .request_id = req.request_id };
                rep.u.rejected.code = WIRE_CODE_QUEUE_FULL;
                rep.u.rejected.reason = "full";
                rep.u.rejected.retry_after_ms = 20;
                send_reply(f, sock, ident, &rep);
                skip = true;
            }
        }
        break;
    default:
        break;
    }
    if (!skip)
        answer(f, sock, ident, &req);
    wire_msg_release(&req);
}

static void *
fake_main(void *arg)
{
    fake_t *f = arg;
    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_ROUTER);
    int one = 1, zero = 0;
    zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(sock, f->endpoint), 0);
    atomic_store(&f->ready, true);
    while (!atomic_load(&f->stop)) {
        zmq_pollitem_t it = { .socket = sock, .events = ZMQ_POLLIN };
        if (zmq_poll(&it, 1, 20) <= 0)
            continue;
        zmq_msg_t ident, body;
        zmq_msg_init(&ident);
        zmq_msg_init(&body);
        assert_true(zmq_msg_recv(&ident, sock, 0) >= 0);
        assert_true(zmq_msg_more(&ident));
        assert_true(zmq_msg_recv(&body, sock, 0) >= 0);
        assert_false(zmq_msg_more(&body));
        const uint8_t *buf = zmq_msg_data(&body);
        size_t len = zmq_msg_size(&body);
        wire_batch_iter_t bi;
        int isb = wire_batch_open(buf, len, &bi);
        assert_true(isb >= 0);
        atomic_fetch_add(&f->frames, 1);
        if (isb == 1 && f->mode == FAKE_NO_BATCH) {
            atomic_fetch_add(&f->batches, 1);
            wire_msg_t rep = { .kind = WIRE_REJECTED };
            rep.u.rejected.code = WIRE_CODE_INVALID;
            rep.u.rejected.reason = "no body";
            send_reply(f, sock, &ident, &rep);
        } else if (isb == 1) {
            atomic_fetch_add(&f->batches, 1);
            if (len > atomic_load(&f->max_frame))
                atomic_store(&f->max_frame, len);
            wire_batch_t acc;
            wire_batch_init(&acc);
            f->acc = &acc;
            size_t items = 0;
            const uint8_t *item;
            size_t item_len;
            int r;
            while ((r = wire_batch_next(&bi, &item, &item_len)) == 1) {
                handle(f, sock, &ident, item, item_len);
                items++;
            }
            assert_int_equal(r, 0);
            flush_replies(f, sock, &ident);
            f->acc = NULL;
            wire_batch_free(&acc);
            if (items > atomic_load(&f->max_items))
                atomic_store(&f->max_items, items);
        } else {
            if (atomic_load(&f->max_items) == 0)
                atomic_store(&f->max_items, 1);
            handle(f, sock, &ident, buf, len);
        }
        zmq_msg_close(&ident);
        zmq_msg_close(&body);
    }
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return NULL;
}

static fake_t *
fake_start(int mode, int count)
{
    fake_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_client.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->endpoint, sizeof f->endpoint, "ipc://%s/fe.sock", f->dir);
    f->mode = mode;
    f->count = count;
    f->retry_after_ms = 150;
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
    uint64_t deadline = now_mono_ms() + 5000;
    while (!atomic_load(&f->ready) && now_mono_ms() < deadline)
        usleep(1000);
    assert_true(atomic_load(&f->ready));
    return f;
}

static void
fake_stop(fake_t **fp)
{
    fake_t *f = *fp;
    atomic_store(&f->stop, true);
    pthread_join(f->thread, NULL);
    char path[160];
    snprintf(path, sizeof path, "%s/fe.sock", f->dir);
    unlink(path);
    rmdir(f->dir);
    free(f);
    *fp = NULL;
}

static client_t *
open_client(fake_t *f, uint32_t timeout_ms, uint32_t retries)
{
    client_opts_t o = { .timeout_ms = timeout_ms,
                        .retries = retries,
                        .retries_set = true,
                        .busy_budget_ms = 5000 };
    client_t *c = NULL;
    assert_int_equal(client_open(&c, f->endpoint, &o), 0);
    return c;
}

static void
test_default_key(void **state)
{
    (void)state;
    char key[CLIENT_KEY_SIZE];
    client_default_key("abc", 3, key);
    assert_string_equal(key, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a3"
                             "96177a9cb410ff61f20015ad");
    client_default_key("", 0, key);
    assert_string_equal(key, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4"
                             "649b934ca495991b7852b855");
}

static void
test_submit_default_key(void **state)
{
    (void)state;
    fake_t *f = fake_start(FAKE_NORMAL, 0);
    client_t *c = open_client(f, 2000, 1);
    wire_job_t job = { .text = "abc", .text_len = 3 };
    uint64_t id = 0;
    bool dup = true;
    assert_int_equal(client_submit(c, &job, &id, &dup), 0);
    assert_int_equal(id, 1003);
    assert_false(dup);
    assert_string_equal(client_last_error(c), "");
    assert_string_equal(f->last_key, "sha256:ba7816bf8f01cfea414140de5dae2223b"
                                     "00361a396177a9cb410ff61f20015ad");
    /* an explicit key goes through unchanged; duplicate is reported */
    job.key = "https://example.org/doc/1";
    job.priority = 9;
    assert_int_equal(client_submit(c, &job, &id, &dup), 0);
    assert_true(dup);
    assert_string_equal(client_last_error(c), CLIENT_TEXT_DIFFERS);
    assert_string_equal(f->last_key, "https://example.org/doc/1");
    assert_int_equal(atomic_load(&f->requests), 2);
    client_destroy(&c);
    assert_null(c);
    client_destroy(&c);
    fake_stop(&f);
}

static void
test_local_checks(void **state)
{
    (void)state;
    fake_t *f = fake_start(FAKE_NORMAL, 0);
    client_t *c = open_client(f, 2000, 1);
    uint64_t id = 0;
    wire_job_t empty = { .text = "", .text_len = 0 };
    assert_int_equal(client_submit(c, &empty, &id, NULL), ERR_INVAL);
    assert_non_null(strstr(client_last_error(c), "empty"));
    wire_job_t bad = { .text = "caf\xc3(", .text_len = 5 };
    assert_int_equal(client_submit(c, &bad, &id, NULL), ERR_UTF8);
    wire_job_t prio = { .text = "x", .text_len = 1, .priority = 10 };
    assert_int_equal(client_submit(c, &prio, &id, NULL), ERR_INVAL);
    /* nothing went on the wire */
    assert_int_equal(atomic_load(&f->requests), 0);
    client_destroy(&c);
    fake_stop(&f);
}

static void
test_timeout_retry(void **state)
{
    (void)state;
    fake_t *f = fake_start(FAKE_DROP, 2);
    client_t *c = open_client(f, 200, 3);
    wire_job_t job = { .text = "hello", .text_len = 5 };
    uint64_t id = 0;
    uint64_t t0 = now_mono_ms();
    assert_int_equal(client_submit(c, &job, &id, NULL), 0);
    uint64_t took = now_mono_ms() - t0;
    assert_int_equal(id, 1005);
    /* two dropped sends, answered on the third */
    assert_int_equal(atomic_load(&f->requests), 3);
    assert_true(took >= 400);
    client_destroy(&c);
    fake_stop(&f);
}

static void
test_timeout_gives_up(void **state)
{
    (void)state;
    fake_t *f = fake_start(FAKE_SILENT, 0);
    client_t *c = open_client(f, 100, 2);
    wire_stats_t st;
    uint64_t t0 = now_mono_ms();
    assert_int_equal(client_stats(c, &st), ERR_TIMEOUT);
    uint64_t took = now_mono_ms() - t0;
    assert_true(took >= 300);
    assert_non_null(strstr(client_last_error(c), "no reply"));
    /* each attempt reached the broker (socket reopened and resent) */
    uint64_t deadline = now_mono_ms() + 2000;
    while (atomic_load(&f->requests) < 3 && now_mono_ms() < deadline)
        usleep(1000);
    assert_int_equal(atomic_load(&f->requests), 3);
    client_destroy(&c);
    fake_stop(&f);
}

static void
test_unreachable(void **state)
{
    (void)state;
    client_opts_t o = { .timeout_ms = 100, .retries = 1, .retries_set = true };
    client_t *c = NULL;
    assert_int_equal(
        client_open(&c, "ipc:///nonexistent-dir-excerpt/x.sock", &o), 0);
    wire_stats_t st;
    assert_int_equal(client_stats(c, &st), ERR_TIMEOUT);
    client_destroy(&c);
    assert_int_equal(client_open(&c, "bogus://x", &o), ERR_INVAL);
    assert_null(c);
}

static void
test_queue_full_retry_after(void **state)
{
    (void)state;
    fake_t *f = fake_start(FAKE_FULL, 2);
    client_t *c = open_client(f, 2000, 1);
    wire_job_t job = { .text = "hello", .text_len = 5 };
    uint64_t id = 0;
    uint64_t t0 = now_mono_ms();
    assert_int_equal(client_submit(c, &job, &id, NULL), 0);
    uint64_t took = now_mono_ms() - t0;
    assert_int_equal(id, 1005);
    assert_int_equal(atomic_load(&f->requests), 3);
    /* retry_after_ms = 150 was honoured twice */
    assert_true(took >= 300);
    client_destroy(&c);
    fake_stop(&f);
}

static void
test_queue_full_budget(void **state)
{
    (void)state;
    fake_t *f = fake_start(FAKE_FULL, 1000);
    client_opts_t o = { .timeout_ms = 2000, .busy_budget_ms = 400 };
    client_t *c = NULL;
    assert_int_equal(client_open(&c, f->endpoint, &o), 0);
    wire_job_t job = { .text = "hello", .text_len = 5 };
    uint64_t id = 0;
    assert_int_equal(client_submit(c, &job, &id, NULL), ERR_FULL);
    assert_int_equal(client_last_code(c), WIRE_CODE_QUEUE_FULL);
    assert_non_null(strstr(client_last_error(c), "queue holds 10 jobs"));
    /* 400 ms budget, 150 ms apart: a few tries, not unbounded */
    int n = atomic_load(&f->requests);
    assert_true(n >= 2 && n <= 4);
    client_destroy(&c);
    fake_stop(&f);
}

static void
test_garbage_and_stale(void **state)
{
    (void)state;
    fake_t *f = fake_start(FAKE_GARBAGE, 0);
    client_t *c = open_client(f, 2000, 0);
    wire_job_t job = { .text = "hello!", .text_len = 6 };
    uint64_t id = 0;
    assert_int_equal(client_submit(c, &job, &id, NULL), 0);
    assert_int_equal(id, 1006); /* not the stale reply's 1 */
    assert_int_equal(atomic_load(&f->requests), 1);
    client_destroy(&c);
    fake_stop(&f);
}

static void
test_only_garbage(void **state)
{
    (void)state;
    fake_t *f = fake_start(FAKE_ONLY_JUNK, 0);
    client_t *c = open_client(f, 150, 1);
    wire_stats_t st;
    assert_int_equal(client_stats(c, &st), ERR_PROTO);
    client_destroy(&c);
    fake_stop(&f);
}

static void
test_get_and_not_found(void **state)
{
    (void)state;
    fake_t *f = fake_start(FAKE_NORMAL, 0);
    client_t *c = open_client(f, 2000, 1);
    wire_msg_t rep;
    result_t *r = NULL;
    assert_int_equal(client_get(c, 12, NULL, false, &rep, &r), 0);
    assert_int_equal(rep.u.get_reply.job.id, 12);
    assert_int_equal(rep.u.get_reply.job.state, WIRE_JOB_DONE);
    assert_string_equal(rep.u.get_reply.job.key, "k1");
    assert_non_null(r);
    assert_int_equal(r->n_speakers, 1);
    assert_string_equal(r->speakers[0].name, "Anna Petrova");
    result_destroy(&r);
    wire_msg_release(&rep);
    assert_int_equal(client_get(c, 404, NULL, false, &rep, &r), ERR_NOTFOUND);
    assert_null(r);
    assert_int_equal(client_last_code(c), WIRE_CODE_NOT_FOUND);
    assert_non_null(strstr(client_last_error(c), "no such job"));
    assert_int_equal(client_get(c, 0, NULL, false, &rep, &r), ERR_INVAL);

    wire_stats_t st;
    assert_int_equal(client_stats(c, &st), 0);
    assert_int_equal(st.ready, 3);
    assert_int_equal(st.done, 5);
    uint64_t ids[] = { 4, 5 }, count = 0;
    assert_int_equal(client_dead_requeue(c, ids, 2, false, &count), 0);
    assert_int_equal(count, 2);
    assert_int_equal(client_dead_purge(c, NULL, 0, true, &count), 0);
    assert_int_equal(count, 42);
    assert_int_equal(client_dead_purge(c, NULL, 0, false, &count), ERR_INVAL);
    client_destroy(&c);
    fake_stop(&f);
}

static void
test_not_found_no_retry(void **state)
{
    (void)state;
    fake_t *f = fake_start(FAKE_NOT_FOUND, 0);
    client_t *c = open_client(f, 2000, 3);
    wire_msg_t rep;
    assert_int_equal(client_get(c, 0, "missing", false, &rep, NULL),
                     ERR_NOTFOUND);
    assert_int_equal(atomic_load(&f->requests), 1);
    client_destroy(&c);
    fake_stop(&f);
}

typedef struct seen {
    size_t calls;           /* callbacks */
    size_t ok;              /* rc == 0 */
    unsigned char *hit;     /* per index */
    const wire_job_t *jobs; /* to check the ids */
    bool wrong_id;          /* a job id that does not match its job */
} seen_t;

static void
on_done(void *ud, size_t index, int rc, uint64_t job_id, bool dup,
        const char *reason)
{
    seen_t *s = ud;
    (void)dup;
    (void)reason;
    s->calls++;
    s->hit[index]++;
    if (rc == 0) {
        s->ok++;
        if (job_id != 1000 + s->jobs[index].text_len)
            s->wrong_id = true;
    }
}

static void
test_submit_many(void **state)
{
    (void)state;
    fake_t *f = fake_start(FAKE_FULL_EVERY, 0);
    client_t *c = open_client(f, 2000, 2);
    enum { N = 300 };
    static char texts[N][N + 2];
    wire_job_t jobs[N];
    for (size_t i = 0; i < N; i++) {
        memset(texts[i], 'a', i + 1);
        texts[i][i + 1] = '\0';
        jobs[i] = (wire_job_t){ .text = texts[i], .text_len = i + 1 };
    }
    jobs[5].text_len = 0; /* refused locally, still reported */
    unsigned char hit[N] = { 0 };
    seen_t s = { .hit = hit, .jobs = jobs };
    assert_int_equal(client_submit_many(c, jobs, N, 16, on_done, &s), 0);
    assert_int_equal(s.calls, N);
    assert_int_equal(s.ok, N - 1);
    assert_false(s.wrong_id);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(hit[i], 1);
    /* every 7th was refused once and resent */
    assert_true(f->n_rejected >= N / 7 - 1);
    assert_int_equal(atomic_load(&f->requests), N - 1 + (int)f->n_rejected);
    client_destroy(&c);
    fake_stop(&f);
}

static void
test_submit_many_timeout(void **state)
{
    (void)state;
    fake_t *f = fake_start(FAKE_DROP, 3);
    client_t *c = open_client(f, 200, 2);
    enum { N = 10 };
    static char texts[N][16];
    wire_job_t jobs[N];
    for (size_t i = 0; i < N; i++) {
        snprintf(texts[i], sizeof texts[i], "job %zu", i + 10);
        jobs[i] =
            (wire_job_t){ .text = texts[i], .text_len = strlen(texts[i]) };
    }
    unsigned char hit[N] = { 0 };
    seen_t s = { .hit = hit, .jobs = jobs };
    assert_int_equal(client_submit_many(c, jobs, N, 4, on_done, &s), 0);
    assert_int_equal(s.calls, N);
    assert_int_equal(s.ok, N);
    client_destroy(&c);
    fake_stop(&f);
}

static client_t *
open_client_batch(fake_t *f, uint32_t batch_max)
{
    client_opts_t o = { .timeout_ms = 2000,
                        .retries = 1,
                        .retries_set = true,
                        .busy_budget_ms = 5000,
                        .batch_max = batch_max };
    client_t *c = NULL;
    assert_int_equal(client_open(&c, f->endpoint, &o), 0);
    return c;
}

static void
test_submit_many_batched(void **state)
{
    (void)state;
    enum { N = 200 };
    static char texts[N][N + 2];
    wire_job_t jobs[N];
    for (size_t i = 0; i < N; i++) {
        memset(texts[i], 'b', i + 1);
        texts[i][i + 1] = '\0';
        jobs[i] = (wire_job_t){ .text = texts[i], .text_len = i + 1 };
    }
    /* default: the first pass sends the whole window in one Batch and the
     * batched replies (5 per frame here) are each matched to their job */
    fake_t *f = fake_start(FAKE_NORMAL, 0);
    client_t *c = open_client_batch(f, 0);
    unsigned char hit[N] = { 0 };
    seen_t s = { .hit = hit, .jobs = jobs };
    assert_int_equal(client_submit_many(c, jobs, N, 64, on_done, &s), 0);
    assert_int_equal(s.calls, N);
    assert_int_equal(s.ok, N);
    assert_false(s.wrong_id);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(hit[i], 1);
    assert_int_equal(atomic_load(&f->requests), N);
    assert_int_equal(atomic_load(&f->max_items), 64);
    assert_true(atomic_load(&f->batches) >= 1);
    assert_true(atomic_load(&f->frames) < N);
    client_destroy(&c);
    fake_stop(&f);

    /* batch_max 1: one frame per Submit, as for a broker without Batch */
    f = fake_start(FAKE_NORMAL, 0);
    c = open_client_batch(f, 1);
    memset(hit, 0, sizeof hit);
    s = (seen_t){ .hit = hit, .jobs = jobs };
    assert_int_equal(client_submit_many(c, jobs, N, 64, on_done, &s), 0);
    assert_int_equal(s.ok, N);
    assert_int_equal(atomic_load(&f->frames), N);
    assert_int_equal(atomic_load(&f->batches), 0);
    client_destroy(&c);
    fake_stop(&f);

    /* batch_max 10: at most 10 per frame */
    f = fake_start(FAKE_NORMAL, 0);
    c = open_client_batch(f, 10);
    memset(hit, 0, sizeof hit);
    s = (seen_t){ .hit = hit, .jobs = jobs };
    assert_int_equal(client_submit_many(c, jobs, N, 64, on_done, &s), 0);
    assert_int_equal(s.ok, N);
    assert_int_equal(atomic_load(&f->max_items), 10);
    client_destroy(&c);
    fake_stop(&f);
}

static void
test_submit_many_frame_bytes(void **state)
{
    (void)state;
    /* 20 KiB texts: at most three fit the 64 KiB a frame carries; a
     * 200 KiB text goes alone, as a plain Submit */
    enum { N = 12, BIG = 20 * 1024 };
    char *texts[N];
    wire_job_t jobs[N];
    for (size_t i = 0; i < N; i++) {
        size_t len = i == 5 ? 200u << 10 : BIG + i;
        texts[i] = malloc(len);
        assert_non_null(texts[i]);
        memset(texts[i], 'c', len);
        jobs[i] = (wire_job_t){ .text = texts[i], .text_len = len };
    }
    fake_t *f = fake_start(FAKE_NORMAL, 0);
    client_t *c = open_client_batch(f, 0);
    unsigned char hit[N] = { 0 };
    seen_t s = { .hit = hit, .jobs = jobs };
    assert_int_equal(client_submit_many(c, jobs, N, N, on_done, &s), 0);
    assert_int_equal(s.ok, N);
    assert_false(s.wrong_id);
    assert_int_equal(atomic_load(&f->max_items), 3);
    assert_true(atomic_load(&f->max_frame) <= (64u << 10) + 16);
    assert_true(atomic_load(&f->batches) >= 3);
    client_destroy(&c);
    fake_stop(&f);
    for (size_t i = 0; i < N; i++)
        free(texts[i]);
}

static void
test_batched_reply(void **state)
{
    (void)state;
    /* a reply inside a Batch, after a stale reply and an undecodable
     * item, is found by its request_id */
    fake_t *f = fake_start(FAKE_BATCH_REPLY, 0);
    client_t *c = open_client(f, 2000, 0);
    wire_job_t job = { .text = "hello", .text_len = 5 };
    uint64_t id = 0;
    assert_int_equal(client_submit(c, &job, &id, NULL), 0);
    assert_int_equal(id, 1005);
    wire_stats_t st;
    assert_int_equal(client_stats(c, &st), 0);
    assert_int_equal(st.done, 5);
    assert_int_equal(atomic_load(&f->requests), 2);
    client_destroy(&c);
    fake_stop(&f);
}

static void
test_old_broker_fallback(void **state)
{
    (void)state;
    /* a broker that cannot read Batch refuses the whole frame: the client
     * resends each Submit alone, and does so from then on */
    fake_t *f = fake_start(FAKE_NO_BATCH, 0);
    client_t *c = open_client(f, 2000, 1);
    enum { N = 50 };
    static char texts[N][N + 2];
    wire_job_t jobs[N];
    for (size_t i = 0; i < N; i++) {
        memset(texts[i], 'd', i + 1);
        texts[i][i + 1] = '\0';
        jobs[i] = (wire_job_t){ .text = texts[i], .text_len = i + 1 };
    }
    unsigned char hit[N] = { 0 };
    seen_t s = { .hit = hit, .jobs = jobs };
    assert_int_equal(client_submit_many(c, jobs, N, 16, on_done, &s), 0);
    assert_int_equal(s.ok, N);
    assert_false(s.wrong_id);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(hit[i], 1);
    assert_int_equal(atomic_load(&f->batches), 1);
    assert_int_equal(atomic_load(&f->requests), N);
    memset(hit, 0, sizeof hit);
    s = (seen_t){ .hit = hit, .jobs = jobs };
    assert_int_equal(client_submit_many(c, jobs, N, 16, on_done, &s), 0);
    assert_int_equal(s.ok, N);
    assert_int_equal(atomic_load(&f->batches), 1);
    assert_int_equal(atomic_load(&f->frames), 1 + 2 * N);
    client_destroy(&c);
    fake_stop(&f);
}

/* ---------------------------------------------- against the real broker */

typedef struct ids {
    uint64_t *id;      /* per job */
    size_t ok;         /* rc == 0 */
    size_t duplicates; /* duplicate == true */
} ids_t;

static void
on_id(void *ud, size_t index, int rc, uint64_t job_id, bool dup,
      const char *reason)
{
    ids_t *s = ud;
    (void)reason;
    if (rc)
        return;
    s->ok++;
    s->duplicates += dup;
    s->id[index] = job_id;
}

static void
test_real_broker_batched(void **state)
{
    (void)state;
    hx_setup();
    hx_require_bin(EXCERPT_BROKER_BIN);
    /* static: outlives a failure; the broker dies with this process
     * (hx_spawn sets PR_SET_PDEATHSIG) */
    static hx_proc_t broker;
    char dir[64], data[128], fe[160], be[160], pub[160];
    hx_tempdir(dir, sizeof dir, "test_client");
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(fe, sizeof fe, "ipc://%s/fe.sock", dir);
    snprintf(be, sizeof be, "ipc://%s/be.sock", dir);
    snprintf(pub, sizeof pub, "ipc://%s/pub.sock", dir);
    snprintf(broker.log, sizeof broker.log, "%s/broker.log", dir);
    const char *argv[] = { EXCERPT_BROKER_BIN,
                           "--data-dir",
                           data,
                           "--frontend",
                           fe,
                           "--backend",
                           be,
                           "--publisher",
                           pub,
                           "--log-level",
                           "warn",
                           NULL };
    hx_proc_args(&broker, argv);
    hx_spawn(&broker);
    client_opts_t o = { .timeout_ms = 5000, .retries = 2, .retries_set = true };
    client_t *c = NULL;
    assert_int_equal(client_open(&c, fe, &o), 0);
    wire_stats_t st;
    assert_int_equal(client_stats(c, &st), 0);

    enum { N = 300 };
    static char texts[N][64];
    wire_job_t jobs[N];
    for (size_t i = 0; i < N; i++) {
        snprintf(texts[i], sizeof texts[i], "Transcript %zu.\n\nAnna: Hi.\n",
                 i);
        jobs[i] =
            (wire_job_t){ .text = texts[i], .text_len = strlen(texts[i]) };
    }
    uint64_t first[N] = { 0 }, again[N] = { 0 };
    ids_t s = { .id = first };
    assert_int_equal(client_submit_many(c, jobs, N, 64, on_id, &s), 0);
    assert_int_equal(s.ok, N);
    assert_int_equal(s.duplicates, 0);
    for (size_t i = 0; i < N; i++) {
        assert_true(first[i] > 0);
        for (size_t k = 0; k < i; k++)
            assert_true(first[k] != first[i]);
    }
    /* the same keys again, batched differently: the same jobs */
    s = (ids_t){ .id = again };
    assert_int_equal(client_submit_many(c, jobs, N, 17, on_id, &s), 0);
    assert_int_equal(s.ok, N);
    assert_int_equal(s.duplicates, N);
    assert_memory_equal(first, again, sizeof first);
    assert_int_equal(client_stats(c, &st), 0);
    assert_int_equal(st.ready, N);

    client_destroy(&c);
    assert_int_equal(hx_term(&broker, 30000), 0);
    hx_teardown(NULL);
    hx_rmtree(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_key),
        cmocka_unit_test(test_submit_default_key),
        cmocka_unit_test(test_local_checks),
        cmocka_unit_test(test_timeout_retry),
        cmocka_unit_test(test_timeout_gives_up),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_queue_full_retry_after),
        cmocka_unit_test(test_queue_full_budget),
        cmocka_unit_test(test_garbage_and_stale),
        cmocka_unit_test(test_only_garbage),
        cmocka_unit_test(test_get_and_not_found),
        cmocka_unit_test(test_not_found_no_retry),
        cmocka_unit_test(test_submit_many),
        cmocka_unit_test(test_submit_many_timeout),
        cmocka_unit_test(test_submit_many_batched),
        cmocka_unit_test(test_submit_many_frame_bytes),
        cmocka_unit_test(test_batched_reply),
        cmocka_unit_test(test_old_broker_fallback),
        cmocka_unit_test(test_real_broker_batched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
