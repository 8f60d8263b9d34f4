/*
 * test_security: the broker's CURVE + allow-list model (PROTOCOL.md
 * "Security") on real processes over TCP on 127.0.0.1. The test writes
 * key pairs for every role and a stranger, starts excerpt-broker (and
 * excerpt-worker) through tests/harness.h, and plays clients, consumers and
 * workers on CURVE sockets: each role can do exactly its part, a stranger
 * nothing, a forged Done changes nothing, a removed key is refused after
 * SIGHUP, and captured bytes carry no transcript text.
 * EXCERPT_TEST_KEEP=1 keeps the temp dir (logs, keys).
 */
#include "../client/client.h"
#include "../common/err.h"
#include "../common/now.h"
#include "../common/result.h"
#include "../proto/curve.h"
#include "../proto/wire.h"
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#ifndef EXCERPT_BROKER_BIN
#define EXCERPT_BROKER_BIN ""
#endif
#ifndef EXCERPT_WORKER_BIN
#define EXCERPT_WORKER_BIN ""
#endif

#define MAX_ARGS 48
#define WAIT_MS 20000 /* generous: loaded machines and sanitizer builds */
#define MARKER "Zanzibar-Quetzalcoatl-Marker-7731"

typedef struct fx {
    char dir[64];                   /* temp dir */
    char keys[128];                 /* key pairs: NAME.key, NAME.pub */
    char allow[128];                /* the broker's allow-list directory */
    char data[128];                 /* broker data dir */
    char fe[64];                    /* frontend endpoint */
    char be[64];                    /* backend endpoint */
    char pub[64];                   /* publisher endpoint */
    char broker_key[CURVE_KEY_Z85]; /* the broker's public key */
    void *ctx;        /* the test's ZeroMQ context (hx_socket's) */
    hx_proc_t broker; /* excerpt-broker */
    hx_proc_t worker; /* excerpt-worker */
} fx_t;

/* ------------------------------------------------------------ keys */

static curve_pair_t
key_of(fx_t *f, const char *name)
{
    char path[256];
    curve_pair_t kp;
    snprintf(path, sizeof path, "%s/%s.key", f->keys, name);
    assert_int_equal(curve_read_secret(path, &kp), ERR_OK);
    return kp;
}

/* A key pair; listed (in the allow-list) when it has a role. */
static void
make_key(fx_t *f, const char *name, const char *role)
{
    hx_make_key(f->keys, f->allow, name, role);
    if (!strcmp(name, "broker")) {
        curve_pair_t kp = key_of(f, name);
        memcpy(f->broker_key, kp.public_key, CURVE_KEY_Z85);
    }
}

/* ------------------------------------------------------------ fixture */

static int
setup(void **state)
{
    hx_setup();
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    hx_tempdir(f->dir, sizeof f->dir, "test_security");
    snprintf(f->keys, sizeof f->keys, "%s/keys", f->dir);
    snprintf(f->allow, sizeof f->allow, "%s/allow", f->dir);
    snprintf(f->data, sizeof f->data, "%s/data", f->dir);
    assert_int_equal(mkdir(f->keys, 0700), 0);
    assert_int_equal(mkdir(f->allow, 0700), 0);
    snprintf(f->broker.log, sizeof f->broker.log, "%s/broker.log", f->dir);
    snprintf(f->worker.log, sizeof f->worker.log, "%s/worker.log", f->dir);
    make_key(f, "broker", NULL);
    make_key(f, "c1", "client");
    make_key(f, "n1", "consumer");
    make_key(f, "w1", "worker");
    make_key(f, "w2", "worker");
    make_key(f, "a1", "admin");
    make_key(f, "x1", NULL); /* a stranger: not in the allow-list */
    f->ctx = zmq_ctx_new();
    assert_non_null(f->ctx);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx_t *f = *state;
    /* every socket and process, also after a failed assertion */
    hx_teardown(&f->ctx);
    hx_rmtree(f->dir);
    free(f);
    return 0;
}

/* Start the broker on fresh ports with keys (or without: secure false)
 * plus extra flags; waits for its "listening" line. A port taken in the
 * meantime by someone else is retried with new ones. */
static void
start_broker(fx_t *f, bool secure, const char *const *extra)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        snprintf(f->fe, sizeof f->fe, "tcp://127.0.0.1:%d", hx_free_port());
        snprintf(f->be, sizeof f->be, "tcp://127.0.0.1:%d", hx_free_port());
        snprintf(f->pub, sizeof f->pub, "tcp://127.0.0.1:%d", hx_free_port());
        char key_file[256];
        snprintf(key_file, sizeof key_file, "%s/broker.key", f->keys);
        const char *args[MAX_ARGS] = { EXCERPT_BROKER_BIN,
                                       "--data-dir",
                                       f->data,
                                       "--frontend",
                                       f->fe,
                                       "--backend",
                                       f->be,
                                       "--publisher",
                                       f->pub,
                                       "--retry-base-ms",
                                       "10",
                                       "--retry-max-ms",
                                       "20" };
        size_t n = 13;
        if (secure) {
            args[n++] = "--key-file";
            args[n++] = key_file;
            args[n++] = "--allow";
            args[n++] = f->allow;
        }
        for (size_t i = 0; extra && extra[i]; i++)
            args[n++] = extra[i];
        args[n] = NULL;
        int before = hx_count_in_file(f->broker.log, "listening");
        hx_proc_args(&f->broker, args);
        hx_spawn(&f->broker);
        HX_WAIT_FOR(hx_count_in_file(f->broker.log, "listening") > before ||
                        !hx_alive(&f->broker),
                    WAIT_MS);
        if (hx_alive(&f->broker))
            return;
        if (hx_count_in_file(f->broker.log, "Address already in use") == 0)
            fail_msg("broker exited with %d (see %s)",
                     hx_wait_exit(&f->broker, 0), f->broker.log);
        hx_proc_free(&f->broker);
    }
    fail_msg("no free ports for the broker");
}

static client_t *
open_client(fx_t *f, const char *name)
{
    client_opts_t o = { .timeout_ms = 5000,
                        .retries_set = true,
                        .busy_budget_ms = 1 };
    curve_pair_t kp;
    if (name) {
        kp = key_of(f, name);
        o.curve = &kp;
        o.server_key = f->broker_key;
    }
    client_t *c = NULL;
    assert_int_equal(client_open(&c, f->fe, &o), ERR_OK);
    return c;
}

/* A socket of type with name's keys (NULL: plaintext) and a monitor of
 * its handshakes in *mon (when mon is not NULL), connected to ep. */
static void *
curve_sock(fx_t *f, int type, const char *ep, const char *name, void **mon)
{
    static unsigned gen;
    void *s = hx_socket(f->ctx, type, NULL); /* CURVE before connecting */
    if (name) {
        curve_pair_t kp = key_of(f, name);
        assert_int_equal(curve_client_apply(s, &kp, f->broker_key), ERR_OK);
    }
    if (mon) {
        char mep[64];
        snprintf(mep, sizeof mep, "inproc://test-monitor-%u", ++gen);
        assert_int_equal(
            zmq_socket_monitor(s, mep,
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL),
            0);
        *mon = hx_socket(f->ctx, ZMQ_PAIR, mep);
    }
    if (type == ZMQ_SUB)
        assert_int_equal(zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0), 0);
    assert_int_equal(zmq_connect(s, ep), 0);
    return s;
}

/* The first handshake event on mon: ZMQ_EVENT_HANDSHAKE_SUCCEEDED or one
 * of the failures. Fails the test after WAIT_MS. */
static int
handshake_event(void *mon)
{
    zmq_pollitem_t it = { .socket = mon, .events = ZMQ_POLLIN };
    assert_true(zmq_poll(&it, 1, WAIT_MS) == 1);
    zmq_msg_t ev;
    zmq_msg_init(&ev);
    assert_true(zmq_msg_recv(&ev, mon, 0) >= 6);
    uint16_t event;
    memcpy(&event, zmq_msg_data(&ev), 2);
    bool more = zmq_msg_more(&ev);
    zmq_msg_close(&ev);
    if (more) {
        zmq_msg_t addr;
        zmq_msg_init(&addr);
        assert_true(zmq_msg_recv(&addr, mon, 0) >= 0);
        zmq_msg_close(&addr);
    }
    return event;
}

static void
send_msg(void *s, wire_msg_t *m)
{
    static uint64_t rid = 1000;
    uint8_t *buf = NULL;
    size_t len = 0;
    m->request_id = ++rid;
    assert_int_equal(wire_encode(m, &buf, &len), ERR_OK);
    assert_true(zmq_send(s, buf, len, 0) >= 0);
    free(buf);
}

/* The next message on s within WAIT_MS. */
static void
recv_msg(void *s, wire_msg_t *m)
{
    zmq_pollitem_t it = { .socket = s, .events = ZMQ_POLLIN };
    assert_true(zmq_poll(&it, 1, WAIT_MS) == 1);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    assert_true(zmq_msg_recv(&msg, s, 0) >= 0);
    assert_int_equal(wire_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), 0, m),
                     ERR_OK);
    zmq_msg_close(&msg);
}

static void
send_ready(void *s, uint32_t credit)
{
    wire_msg_t m = { .kind = WIRE_READY };
    m.u.ready.credit = credit;
    m.u.ready.capacity = credit;
    m.u.ready.worker_name = "test-worker";
    send_msg(s, &m);
}

/* Send a Done for job with result bytes[0..len), or an empty result's
 * when bytes is NULL; does not wait for the answer. */
static void
send_done_only(void *s, uint64_t job, uint32_t attempt, const uint8_t *bytes,
               size_t len)
{
    uint8_t *buf = NULL;
    if (!bytes) {
        result_t *r = result_new();
        result_finish(r);
        assert_int_equal(wire_result_encode(r, &buf, &len), ERR_OK);
        result_destroy(&r);
        bytes = buf;
    }
    wire_msg_t m = { .kind = WIRE_DONE };
    m.u.done.job_id = job;
    m.u.done.attempt = attempt;
    m.u.done.result = bytes;
    m.u.done.result_len = len;
    send_msg(s, &m);
    free(buf);
}

/* Send Done (result: bytes, or an empty valid Result when NULL) and
 * return the reply's kind; *code gets DoneAck.code or Rejected.code. */
static int
send_done(void *s, uint64_t job, uint32_t attempt, const uint8_t *bytes,
          size_t len, int *code)
{
    send_done_only(s, job, attempt, bytes, len);
    wire_msg_t r;
    recv_msg(s, &r);
    int kind = r.kind;
    *code = kind == WIRE_DONE_ACK ? r.u.done_ack.code : r.u.rejected.code;
    wire_msg_release(&r);
    return kind;
}

static uint64_t
submit_text(client_t *c, const char *text)
{
    wire_job_t job = { .text = text, .text_len = strlen(text) };
    uint64_t id = 0;
    assert_int_equal(client_submit(c, &job, &id, NULL), ERR_OK);
    return id;
}

static int
state_of(client_t *c, uint64_t id)
{
    wire_msg_t r;
    assert_int_equal(client_get(c, id, NULL, false, &r, NULL), ERR_OK);
    int st = r.u.get_reply.job.state;
    wire_msg_release(&r);
    return st;
}

/* ------------------------------------------------------------ tests */

/* Each role can do exactly its own part on the frontend; a worker key and
 * a stranger cannot even finish the handshake; no key at all gets no
 * answer. */
static void
test_frontend_roles(void **state)
{
    fx_t *f = *state;
    start_broker(f, true, NULL);
    wire_stats_t st;
    wire_msg_t r;
    uint64_t n = 0;

    client_t *c = open_client(f, "c1");
    uint64_t id = submit_text(c, "Anna Petrova: The budget grows 5%.");
    assert_int_equal(client_get(c, id, NULL, true, &r, NULL), ERR_OK);
    wire_msg_release(&r);
    assert_int_equal(client_stats(c, &st), ERR_OK);
    assert_int_equal(client_since(c, 0, 10, false, &r), ERR_OK);
    wire_msg_release(&r);
    assert_int_equal(client_dead_list(c, 0, 10, &r), ERR_DENIED);
    assert_int_equal(client_last_code(c), WIRE_CODE_UNAUTHORIZED);
    assert_int_equal(client_dead_purge(c, NULL, 0, true, &n), ERR_DENIED);
    assert_int_equal(client_dead_requeue(c, NULL, 0, true, &n), ERR_DENIED);
    client_destroy(&c);

    client_t *cons = open_client(f, "n1");
    assert_int_equal(client_since(cons, 0, 10, true, &r), ERR_OK);
    wire_msg_release(&r);
    wire_job_t job = { .text = "text", .text_len = 4 };
    assert_int_equal(client_submit(cons, &job, &n, NULL), ERR_DENIED);
    assert_int_equal(client_get(cons, id, NULL, true, &r, NULL), ERR_DENIED);
    assert_int_equal(client_stats(cons, &st), ERR_DENIED);
    client_destroy(&cons);

    client_t *adm = open_client(f, "a1");
    assert_int_equal(client_dead_list(adm, 0, 10, &r), ERR_OK);
    wire_msg_release(&r);
    assert_int_equal(client_dead_purge(adm, NULL, 0, true, &n), ERR_OK);
    assert_int_equal(client_dead_requeue(adm, NULL, 0, true, &n), ERR_OK);
    assert_int_equal(client_stats(adm, &st), ERR_OK);
    assert_true(submit_text(adm, "An admin may submit too.") > id);
    client_destroy(&adm);

    /* a worker key on the frontend, a stranger: refused in the handshake */
    const char *refused[] = { "w1", "x1" };
    for (size_t i = 0; i < 2; i++) {
        client_t *x = open_client(f, refused[i]);
        assert_int_equal(client_stats(x, &st), ERR_DENIED);
        assert_non_null(strstr(client_last_error(x), "refused this key"));
        assert_int_equal(client_submit(x, &job, &n, NULL), ERR_DENIED);
        assert_int_equal(client_get(x, id, NULL, true, &r, NULL), ERR_DENIED);
        assert_int_equal(client_since(x, 0, 10, true, &r), ERR_DENIED);
        assert_int_equal(client_dead_purge(x, NULL, 0, true, &n), ERR_DENIED);
        client_destroy(&x);
    }
    /* no key: the broker closes the plaintext connection at the greeting
     * (libzmq may report that as a failed handshake or not at all) */
    client_t *plain = open_client(f, NULL);
    int prc = client_stats(plain, &st);
    assert_true(prc == ERR_DENIED || prc == ERR_TIMEOUT);
    client_destroy(&plain);

    assert_true(hx_count_in_file(f->broker.log, "auth refused") >= 3);
    assert_true(hx_count_in_file(f->broker.log, "broker refused key=c1/") >= 3);
    /* nothing the refused peers sent changed the store */
    client_t *check = open_client(f, "a1");
    assert_int_equal(client_stats(check, &st), ERR_OK);
    assert_int_equal(st.ready + st.leased + st.delayed + st.done + st.dead, 2);
    client_destroy(&check);
}

/* The backend admits worker keys only; the publisher consumer keys only. */
static void
test_backend_and_publisher_roles(void **state)
{
    fx_t *f = *state;
    start_broker(f, true, NULL);
    const char *names[] = { "w1", "c1", "n1", "a1", "x1", NULL };
    for (size_t i = 0; names[i]; i++) {
        void *mon = NULL;
        (void)curve_sock(f, ZMQ_DEALER, f->be, names[i], &mon);
        int ev = handshake_event(mon);
        if (i == 0)
            assert_int_equal(ev, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
        else
            assert_int_not_equal(ev, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    }
    /* a consumer hears a commit; others are refused at the handshake */
    void *mon = NULL;
    void *sub = curve_sock(f, ZMQ_SUB, f->pub, "n1", &mon);
    assert_int_equal(handshake_event(mon), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    for (size_t i = 0; names[i]; i++) {
        if (!strcmp(names[i], "n1"))
            continue;
        void *m2 = NULL;
        (void)curve_sock(f, ZMQ_SUB, f->pub, names[i], &m2);
        assert_int_not_equal(handshake_event(m2),
                             ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    }
    /* the consumer's subscription reaches the broker before the commit:
     * wait for the XPUB to have read it (a Stats round trip is not enough,
     * so publish until the first message arrives) */
    client_t *c = open_client(f, "c1");
    void *w = curve_sock(f, ZMQ_DEALER, f->be, "w1", NULL);
    send_ready(w, 8);
    zmq_pollitem_t it = { .socket = sub, .events = ZMQ_POLLIN };
    uint64_t deadline = now_mono_ms() + WAIT_MS;
    int got = 0;
    for (int k = 0; !got && now_mono_ms() < deadline; k++) {
        char text[64];
        snprintf(text, sizeof text, "Job number %d for the consumer.", k);
        uint64_t id = submit_text(c, text);
        wire_msg_t d;
        recv_msg(w, &d);
        assert_int_equal(d.kind, WIRE_DISPATCH);
        assert_int_equal(d.u.dispatch.job.id, id);
        uint32_t att = d.u.dispatch.attempt;
        wire_msg_release(&d);
        int code = -1;
        assert_int_equal(send_done(w, id, att, NULL, 0, &code), WIRE_DONE_ACK);
        assert_int_equal(code, WIRE_CODE_OK);
        got = zmq_poll(&it, 1, 200);
    }
    assert_int_equal(got, 1);
    client_destroy(&c);
}

/* A Done or Failed for a lease another worker key holds is refused and
 * changes nothing; the holder's own Done then commits. */
static void
test_forged_done_refused(void **state)
{
    fx_t *f = *state;
    start_broker(f, true, NULL);
    client_t *c = open_client(f, "c1");
    uint64_t id = submit_text(c, "Oleg Ivanov: Exports rose by 12 percent.");
    void *w1 = curve_sock(f, ZMQ_DEALER, f->be, "w1", NULL);
    send_ready(w1, 1);
    wire_msg_t d;
    recv_msg(w1, &d);
    assert_int_equal(d.kind, WIRE_DISPATCH);
    assert_int_equal(d.u.dispatch.job.id, id);
    uint32_t att = d.u.dispatch.attempt;
    wire_msg_release(&d);

    void *w2 = curve_sock(f, ZMQ_DEALER, f->be, "w2", NULL);
    int code = -1;
    assert_int_equal(send_done(w2, id, att, NULL, 0, &code), WIRE_REJECTED);
    assert_int_equal(code, WIRE_CODE_UNAUTHORIZED);
    wire_msg_t fm = { .kind = WIRE_FAILED };
    fm.u.failed.job_id = id;
    fm.u.failed.attempt = att;
    fm.u.failed.reason = "forged";
    fm.u.failed.permanent = true;
    send_msg(w2, &fm);
    wire_msg_t r;
    recv_msg(w2, &r);
    assert_int_equal(r.kind, WIRE_REJECTED);
    assert_int_equal(r.u.rejected.code, WIRE_CODE_UNAUTHORIZED);
    wire_msg_release(&r);
    /* another attempt number is fenced as stale, also without effect */
    assert_int_equal(send_done(w2, id, att + 98, NULL, 0, &code),
                     WIRE_DONE_ACK);
    assert_int_not_equal(code, WIRE_CODE_OK);
    assert_int_not_equal(state_of(c, id), WIRE_JOB_DONE);
    assert_int_not_equal(state_of(c, id), WIRE_JOB_DEAD);
    assert_true(hx_count_in_file(f->broker.log, "not the lease holder") >= 2);

    assert_int_equal(send_done(w1, id, att, NULL, 0, &code), WIRE_DONE_ACK);
    assert_int_equal(code, WIRE_CODE_OK);
    assert_int_equal(state_of(c, id), WIRE_JOB_DONE);
    wire_stats_t st;
    assert_int_equal(client_stats(c, &st), ERR_OK);
    assert_int_equal(st.done, 1);
    assert_int_equal(st.last_seq, 1);
    client_destroy(&c);
}

/* A key removed from the allow-list is refused after SIGHUP, on its open
 * connection and on a new one; put back, it works again. */
static void
test_reload_removes_key(void **state)
{
    fx_t *f = *state;
    start_broker(f, true, NULL);
    wire_stats_t st;
    client_t *c = open_client(f, "c1");
    assert_int_equal(client_stats(c, &st), ERR_OK);
    void *mon = NULL;
    void *w = curve_sock(f, ZMQ_DEALER, f->be, "w1", &mon);
    assert_int_equal(handshake_event(mon), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    send_ready(w, 1);
    HX_WAIT_FOR(hx_count_in_file(f->broker.log, "worker joined") == 1,
                WAIT_MS / HX_SLACK);

    char path[256];
    snprintf(path, sizeof path, "%s/c1.pub", f->allow);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof path, "%s/w1.pub", f->allow);
    assert_int_equal(unlink(path), 0);
    kill(f->broker.pid, SIGHUP);
    HX_WAIT_FOR(hx_count_in_file(f->broker.log, "allow-list reloaded") == 1,
                WAIT_MS / HX_SLACK);
    assert_int_equal(client_stats(c, &st), ERR_DENIED);
    assert_int_equal(client_last_code(c), WIRE_CODE_UNAUTHORIZED);
    client_destroy(&c);
    c = open_client(f, "c1");
    assert_int_equal(client_stats(c, &st), ERR_DENIED);
    client_destroy(&c);
    /* the worker on its open connection is dropped and refused */
    send_ready(w, 1);
    wire_msg_t r;
    recv_msg(w, &r);
    assert_int_equal(r.kind, WIRE_REJECTED);
    assert_int_equal(r.u.rejected.code, WIRE_CODE_UNAUTHORIZED);
    wire_msg_release(&r);

    /* back in the list, the same key works again */
    char from[256];
    snprintf(from, sizeof from, "%s/c1.pub", f->keys);
    snprintf(path, sizeof path, "%s/c1.pub", f->allow);
    assert_int_equal(link(from, path), 0);
    kill(f->broker.pid, SIGHUP);
    HX_WAIT_FOR(hx_count_in_file(f->broker.log, "allow-list reloaded") == 2,
                WAIT_MS / HX_SLACK);
    c = open_client(f, "c1");
    assert_int_equal(client_stats(c, &st), ERR_OK);
    client_destroy(&c);
    /* a bad list is refused and the previous one stays */
    FILE *bad = fopen(path, "w");
    assert_non_null(bad);
    fputs("public = not-a-key\nrole = client\n", bad);
    fclose(bad);
    kill(f->broker.pid, SIGHUP);
    HX_WAIT_FOR(hx_count_in_file(f->broker.log, "previous allow-list stays") ==
                    1,
                WAIT_MS);
    c = open_client(f, "c1");
    assert_int_equal(client_stats(c, &st), ERR_OK);
    client_destroy(&c);
}

/* An undecodable result never dead-letters the job (max-attempts 1 here):
 * its worker is quarantined and another worker gets the retry. */
static void
test_broken_worker_quarantined(void **state)
{
    fx_t *f = *state;
    const char *extra[] = { "--max-attempts", "1", NULL };
    start_broker(f, true, extra);
    client_t *c = open_client(f, "c1");
    uint64_t id = submit_text(c, "A transcript for a broken worker.");
    void *w1 = curve_sock(f, ZMQ_DEALER, f->be, "w1", NULL);
    send_ready(w1, 4);
    wire_msg_t d;
    recv_msg(w1, &d);
    assert_int_equal(d.kind, WIRE_DISPATCH);
    uint32_t att = d.u.dispatch.attempt;
    wire_msg_release(&d);
    static const uint8_t junk[] = { 0x2a, 0xff, 0xff, 0xff, 0x0f, 0x01 };
    int code = -1;
    assert_int_equal(send_done(w1, id, att, junk, sizeof junk, &code),
                     WIRE_DONE_ACK);
    assert_int_equal(code, WIRE_CODE_INVALID);
    assert_int_not_equal(state_of(c, id), WIRE_JOB_DEAD);
    HX_WAIT_FOR(hx_count_in_file(f->broker.log, "worker quarantined") == 1,
                WAIT_MS / HX_SLACK);

    void *w2 = curve_sock(f, ZMQ_DEALER, f->be, "w2", NULL);
    send_ready(w2, 4);
    uint64_t id2 = submit_text(c, "A second transcript after quarantine.");
    /* w2 has credit 4, so the second dispatch may come before the ack
     * of the first done: take messages in the order they come */
    bool got1 = false, got2 = false;
    int pending = 0; /* dones sent, acks not yet seen */
    while (!got1 || !got2 || pending > 0) {
        recv_msg(w2, &d);
        if (d.kind == WIRE_DONE_ACK) {
            assert_int_equal(d.u.done_ack.code, WIRE_CODE_OK);
            assert_true(pending > 0);
            pending--;
            wire_msg_release(&d);
            continue;
        }
        assert_int_equal(d.kind, WIRE_DISPATCH);
        uint64_t jid = d.u.dispatch.job.id;
        uint32_t a = d.u.dispatch.attempt;
        wire_msg_release(&d);
        send_done_only(w2, jid, a, NULL, 0);
        pending++;
        got1 |= jid == id;
        got2 |= jid == id2;
    }
    /* w1 had credit all along and got neither */
    zmq_pollitem_t it = { .socket = w1, .events = ZMQ_POLLIN };
    assert_int_equal(zmq_poll(&it, 1, 0), 0);
    assert_int_equal(state_of(c, id), WIRE_JOB_DONE);
    client_destroy(&c);
}

/* ------------------------------------------------------- wire capture */

/* A TCP relay that keeps a copy of every byte it forwards. */
typedef struct relay {
    int lfd;            /* listening socket */
    int port;           /* its port */
    int target;         /* port it connects to */
    atomic_bool stop;   /* ends the thread */
    pthread_mutex_t mu; /* guards seen */
    char *seen;         /* every byte relayed, both ways */
    size_t n, cap;      /* its size */
    pthread_t thread;   /* the relay */
} relay_t;

static void
relay_keep(relay_t *r, const char *buf, size_t n)
{
    pthread_mutex_lock(&r->mu);
    if (r->n + n > r->cap) {
        r->cap = (r->n + n) * 2;
        r->seen = realloc(r->seen, r->cap);
        assert_non_null(r->seen);
    }
    memcpy(r->seen + r->n, buf, n);
    r->n += n;
    pthread_mutex_unlock(&r->mu);
}

static void *
relay_main(void *arg)
{
    relay_t *r = arg;
    enum { MAXC = 16 };
    int a[MAXC], b[MAXC];
    size_t nc = 0;
    char buf[65536];
    while (!atomic_load(&r->stop)) {
        struct pollfd p[1 + 2 * MAXC];
        p[0] = (struct pollfd){ r->lfd, POLLIN, 0 };
        for (size_t i = 0; i < nc; i++) {
            p[1 + 2 * i] = (struct pollfd){ a[i], POLLIN, 0 };
            p[2 + 2 * i] = (struct pollfd){ b[i], POLLIN, 0 };
        }
        if (poll(p, 1 + 2 * nc, 50) <= 0)
            continue;
        if ((p[0].revents & POLLIN) && nc < MAXC) {
            int in = accept(r->lfd, NULL, NULL);
            int out = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in sa = { .sin_family = AF_INET,
                                      .sin_port = htons(r->target) };
            sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (in >= 0 && out >= 0 &&
                connect(out, (struct sockaddr *)&sa, sizeof sa) == 0) {
                a[nc] = in;
                b[nc] = out;
                nc++;
            } else {
                if (in >= 0)
                    close(in);
                if (out >= 0)
                    close(out);
            }
        }
        for (size_t i = 0; i < nc; i++) {
            for (int side = 0; side < 2; side++) {
                short ev = p[1 + 2 * i + side].revents;
                if (!ev)
                    continue;
                int from = side ? b[i] : a[i], to = side ? a[i] : b[i];
                ssize_t got = read(from, buf, sizeof buf);
                if (got > 0) {
                    relay_keep(r, buf, (size_t)got);
                    if (write(to, buf, (size_t)got) != got)
                        got = 0;
                }
                if (got <= 0) { /* one side closed: close both */
                    close(a[i]);
                    close(b[i]);
                    a[i] = a[nc - 1];
                    b[i] = b[nc - 1];
                    nc--;
                    break;
                }
            }
        }
    }
    for (size_t i = 0; i < nc; i++) {
        close(a[i]);
        close(b[i]);
    }
    return NULL;
}

static void
relay_start(relay_t *r, const char *endpoint)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    const char *colon = strrchr(endpoint, ':');
    assert_non_null(colon);
    r->target = atoi(colon + 1);
    r->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(r->lfd >= 0);
    struct sockaddr_in sa = { .sin_family = AF_INET };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(r->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(r->lfd, (struct sockaddr *)&sa, &len), 0);
    r->port = ntohs(sa.sin_port);
    assert_int_equal(listen(r->lfd, 16), 0);
    assert_int_equal(pthread_create(&r->thread, NULL, relay_main, r), 0);
}

/* Stop r; returns whether needle was among the relayed bytes. */
static bool
relay_finish(relay_t *r, const char *needle)
{
    atomic_store(&r->stop, true);
    pthread_join(r->thread, NULL);
    close(r->lfd);
    bool found =
        memmem(r->seen ? r->seen : "", r->n, needle, strlen(needle)) != NULL;
    free(r->seen);
    pthread_mutex_destroy(&r->mu);
    return found;
}

/* Submit a transcript through a relay on the frontend and have a real
 * worker fetch it through a relay on the backend; returns whether the
 * marker was seen on either wire. */
static bool
marker_on_wire(fx_t *f, bool secure)
{
    relay_t rf, rb;
    relay_start(&rf, f->fe);
    relay_start(&rb, f->be);
    char be[64], fe[64], key[256], bkey[256];
    snprintf(fe, sizeof fe, "tcp://127.0.0.1:%d", rf.port);
    snprintf(be, sizeof be, "tcp://127.0.0.1:%d", rb.port);
    snprintf(key, sizeof key, "%s/w1.key", f->keys);
    snprintf(bkey, sizeof bkey, "%s/broker.pub", f->keys);
    const char *args[] = { EXCERPT_WORKER_BIN,
                           "--broker",
                           be,
                           "--threads",
                           "1",
                           secure ? "--key-file" : NULL,
                           key,
                           "--broker-key-file",
                           bkey,
                           NULL };
    hx_proc_args(&f->worker, args);
    hx_spawn(&f->worker);

    client_opts_t o = { .timeout_ms = 5000, .retries_set = true };
    curve_pair_t kp;
    if (secure) {
        kp = key_of(f, "c1");
        o.curve = &kp;
        o.server_key = f->broker_key;
    }
    client_t *c = NULL;
    assert_int_equal(client_open(&c, fe, &o), ERR_OK);
    const char *text = "Governor Ivan Sokolov: The " MARKER " plant will "
                       "cost 4 billion roubles, 12% more than planned.";
    uint64_t id = submit_text(c, text);
    HX_WAIT_FOR(state_of(c, id) == WIRE_JOB_DONE, WAIT_MS / HX_SLACK);
    wire_msg_t r;
    result_t *res = NULL;
    assert_int_equal(client_get(c, id, NULL, true, &r, &res), ERR_OK);
    assert_non_null(res); /* the text and result travelled back as well */
    assert_non_null(memmem(r.u.get_reply.text, r.u.get_reply.text_len, MARKER,
                           strlen(MARKER)));
    result_destroy(&res);
    wire_msg_release(&r);
    client_destroy(&c);
    hx_proc_free(&f->worker);
    bool front = relay_finish(&rf, MARKER);
    bool back = relay_finish(&rb, MARKER);
    return front || back;
}

static void
test_no_plaintext_on_the_wire(void **state)
{
    fx_t *f = *state;
    start_broker(f, true, NULL);
    assert_false(marker_on_wire(f, true));
    hx_proc_free(&f->broker);
    /* control: the same capture without keys does see the text */
    start_broker(f, false, NULL);
    assert_true(marker_on_wire(f, false));
}

/* Without keys the defaults are loopback, a non-loopback bind is refused
 * unless insecure is set, and that is logged loudly. */
static void
test_default_bind_is_loopback(void **state)
{
    fx_t *f = *state;
    const char *args[] = { EXCERPT_BROKER_BIN, "--data-dir", f->data, "--help",
                           NULL };
    hx_proc_args(&f->broker, args);
    hx_spawn(&f->broker);
    int st;
    st = hx_wait_exit(&f->broker, WAIT_MS);
    assert_int_equal(st, 0);
    assert_true(hx_count_in_file(f->broker.log, "tcp://127.0.0.1:7440") >= 1);
    assert_true(hx_count_in_file(f->broker.log, "tcp://127.0.0.1:7441") >= 1);
    assert_true(hx_count_in_file(f->broker.log, "tcp://127.0.0.1:7442") >= 1);

    char any[64];
    snprintf(any, sizeof any, "tcp://0.0.0.0:%d", hx_free_port());
    const char *open_args[] = { EXCERPT_BROKER_BIN, "--data-dir", f->data,
                                "--frontend",       any,          NULL };
    hx_proc_args(&f->broker, open_args);
    hx_spawn(&f->broker);
    st = hx_wait_exit(&f->broker, WAIT_MS);
    assert_int_equal(st, 2);
    assert_int_equal(hx_count_in_file(f->broker.log, "refuses to bind"), 1);

    start_broker(
        f, false,
        (const char *const[]){ "--insecure", "--publisher", any, NULL });
    assert_true(hx_count_in_file(f->broker.log, "INSECURE") >= 1);
    hx_proc_free(&f->broker);
    /* keys named but no allow-list: refused, not open to all */
    char key_file[256];
    snprintf(key_file, sizeof key_file, "%s/broker.key", f->keys);
    const char *half[] = { EXCERPT_BROKER_BIN, "--data-dir", f->data,
                           "--key-file",       key_file,     NULL };
    hx_proc_args(&f->broker, half);
    hx_spawn(&f->broker);
    st = hx_wait_exit(&f->broker, WAIT_MS);
    assert_int_equal(st, 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_frontend_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backend_and_publisher_roles, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_forged_done_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reload_removes_key, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_broken_worker_quarantined, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_plaintext_on_the_wire, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_default_bind_is_loopback, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
