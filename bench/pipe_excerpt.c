/*
 * pipe_excerpt: bench_pipeline's excerpt client driver. A broker on fresh
 * ports and a fresh store, its workers (under CURVE with --curve), the
 * submit loop (window, offered rate, Batches of Submits, retries of
 * Rejected), Committed read from the publisher, and the catch-up through
 * Since for commits the subscriber missed; the run's figures into a
 * run_result_t.
 */
#include "../common/err.h"
#include "../common/now.h"
#include "../common/xalloc.h"
#include "../proto/wire.h"
#include "../proto/wire_batch.h"
#include "../proto/wire_zmq.h"

#include <zmq.h>

#include "curvekeys.h"
#include "pipe.h"
#include "scraper.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* a Batch of Submits is sent before its items pass this many bytes (as in
 * client.c: wire_batch's first block, under malloc's mmap threshold) */
#define BATCH_BYTES (64u << 10)
#define ITEM_HEAD 11u /* tag + length varint of a Batch item, at most */
#define KEY_PREFIX "bench-"

/* ---- excerpt ------------------------------------------------------------ */

static int
zsend(void *sock, const wire_msg_t *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = wire_encode(m, &buf, &len);
    if (rc != ERR_OK)
        return rc;
    rc = zmq_send(sock, buf, len, 0) == (int)len ? ERR_OK : ERR_IO;
    if (rc != ERR_OK)
        fprintf(stderr, "bench: zmq_send: %s\n", zmq_strerror(zmq_errno()));
    free(buf);
    return rc;
}

/* Receive one multipart message and decode its last frame. Returns
 * ERR_AGAIN when nothing is waiting (ZMQ_DONTWAIT). */
static int
zrecv(void *sock, wire_msg_t *out, int flags)
{
    zmq_msg_t last;
    zmq_msg_init(&last);
    int more = 1;
    bool got = false;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, got ? 0 : flags) < 0) {
            int e = zmq_errno();
            zmq_msg_close(&part);
            zmq_msg_close(&last);
            return e == EAGAIN ? ERR_AGAIN : ERR_IO;
        }
        got = true;
        more = zmq_msg_more(&part);
        zmq_msg_close(&last);
        zmq_msg_init(&last);
        zmq_msg_move(&last, &part);
        zmq_msg_close(&part);
    }
    int rc = wire_decode(zmq_msg_data(&last), zmq_msg_size(&last), 0, out);
    zmq_msg_close(&last);
    return rc;
}

/* Reads the messages of a socket one at a time: each frame is one
 * Envelope or a Batch of them (PROTOCOL.md "Batches"). */
typedef struct zin {
    zmq_msg_t frame;      /* last frame of the message being read */
    wire_batch_iter_t it; /* its next message */
    bool open;            /* frame holds a message being read */
} zin_t;

static void
zin_close(zin_t *in)
{
    if (in->open)
        zmq_msg_close(&in->frame);
    in->open = false;
}

/* Next message into *out: from the frame being read, else from a message
 * received now (flags: ZMQ_DONTWAIT or 0). Returns ERR_OK, ERR_AGAIN
 * (nothing waiting), ERR_IO, or a decoding error (that message skipped). */
static int
zin_next(void *sock, zin_t *in, wire_msg_t *out, int flags)
{
    for (;;) {
        if (in->open) {
            const uint8_t *item;
            size_t len;
            int r = wire_batch_next(&in->it, &item, &len);
            if (r == 1)
                return wire_decode(item, len, 0, out);
            zin_close(in);
            if (r < 0)
                return r;
            continue;
        }
        zmq_msg_init(&in->frame);
        bool got = false;
        for (;;) {
            if (zmq_msg_recv(&in->frame, sock, got ? 0 : flags) < 0) {
                int e = zmq_errno();
                zmq_msg_close(&in->frame);
                return e == EAGAIN ? ERR_AGAIN : ERR_IO;
            }
            got = true;
            if (!zmq_msg_more(&in->frame))
                break;
        }
        int b = wire_batch_open(zmq_msg_data(&in->frame),
                                zmq_msg_size(&in->frame), &in->it);
        if (b < 0) {
            zmq_msg_close(&in->frame);
            return b;
        }
        in->open = true;
    }
}

/* Send the Submits queued in b as one frame, handed to ZeroMQ where it
 * lies (no copy; ZeroMQ frees it once sent). */
static int
zflush(void *sock, wire_batch_t *b)
{
    int rc = wire_batch_zsend(sock, b, 0);
    if (rc != ERR_OK)
        fprintf(stderr, "bench: zmq_send: %s\n", zmq_strerror(errno));
    return rc;
}

/* A frame being filled (wire_encode_into's room): what it holds goes out
 * first when the next Submit would pass BATCH_BYTES. */
typedef struct zroom {
    void *sock;      /* where frames go */
    wire_batch_t *b; /* the frame */
    int rc;          /* the first flush error */
} zroom_t;

static wire_batch_t *
zroom_of(void *ud, size_t n)
{
    zroom_t *r = ud;
    if (r->b->n && wire_batch_bytes(r->b) + ITEM_HEAD + n > BATCH_BYTES &&
        r->rc == ERR_OK)
        r->rc = zflush(r->sock, r->b);
    return r->b;
}

/* Queue m in b (batch > 1; sent when b is full) or send it (batch 1). */
static int
zqueue(void *sock, wire_batch_t *b, size_t batch, const wire_msg_t *m)
{
    if (batch <= 1)
        return zsend(sock, m);
    zroom_t r = { sock, b, ERR_OK };
    int rc = wire_encode_into(m, zroom_of, &r);
    if (rc == ERR_OK)
        rc = r.rc;
    if (rc == ERR_OK && b->n >= batch)
        rc = zflush(sock, b);
    return rc;
}

/* One request on the control DEALER, waiting up to timeout_ms for the
 * reply with the same request_id. */
static int
request(void *sock, wire_msg_t *req, wire_msg_t *reply, uint64_t timeout_ms)
{
    static uint64_t next_id = (uint64_t)1 << 40;
    req->request_id = next_id++;
    int rc = zsend(sock, req);
    if (rc != ERR_OK)
        return rc;
    uint64_t deadline = now_mono_ms() + timeout_ms;
    for (;;) {
        uint64_t now = now_mono_ms();
        if (now >= deadline)
            return ERR_TIMEOUT;
        zmq_pollitem_t it = { .socket = sock, .events = ZMQ_POLLIN };
        if (zmq_poll(&it, 1, (long)(deadline - now)) < 0)
            return ERR_IO;
        if (!(it.revents & ZMQ_POLLIN))
            continue;
        rc = zrecv(sock, reply, 0);
        if (rc != ERR_OK)
            return rc;
        if (reply->request_id == req->request_id)
            return ERR_OK;
        wire_msg_release(reply);
    }
}

static int
broker_stats(void *ctl, wire_stats_t *st, uint64_t timeout_ms)
{
    wire_msg_t req = { .kind = WIRE_STATS }, rep;
    int rc = request(ctl, &req, &rep, timeout_ms);
    if (rc != ERR_OK)
        return rc;
    if (rep.kind != WIRE_STATS_REPLY) {
        wire_msg_release(&rep);
        return ERR_PROTO;
    }
    *st = rep.u.stats_reply;
    wire_msg_release(&rep);
    return ERR_OK;
}

/* A connected socket; under CURVE with keys when keys is on. */
static void *
zsocket(void *ctx, int type, const char *endpoint, const curvekeys_t *keys)
{
    void *s = zmq_socket(ctx, type);
    if (!s)
        return NULL;
    int zero = 0, linger = 0;
    (void)zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    (void)zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero);
    (void)zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero);
    if (curvekeys_apply(keys, s) != ERR_OK) {
        fprintf(stderr, "bench: cannot set the CURVE keys\n");
        zmq_close(s);
        return NULL;
    }
    if (zmq_connect(s, endpoint) != 0) {
        fprintf(stderr, "bench: connect %s: %s\n", endpoint,
                zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    return s;
}

typedef struct retry_ring {
    size_t *idx;    /* job indexes waiting to be resent */
    uint64_t *due;  /* when, monotonic us */
    size_t head, n; /* ring position and fill */
    size_t cap;     /* capacity */
} retry_ring_t;

static void
ring_push(retry_ring_t *q, size_t idx, uint64_t due)
{
    if (q->n == q->cap)
        return; /* cannot happen: at most one entry per job */
    size_t at = (q->head + q->n) % q->cap;
    q->idx[at] = idx;
    q->due[at] = due;
    q->n++;
}

/* Index of a job from its key "bench-<i>", or SIZE_MAX. */
static size_t
key_index(const char *key, size_t n)
{
    if (!key || strncmp(key, KEY_PREFIX, strlen(KEY_PREFIX)))
        return SIZE_MAX;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(key + strlen(KEY_PREFIX), &end, 10);
    if (errno || *end || v >= n)
        return SIZE_MAX;
    return (size_t)v;
}

/* Collect commits the SUB socket missed, through Since from the store. */
static size_t
catch_up(void *ctl, uint64_t *t_com, size_t n, size_t *committed)
{
    uint64_t after = 0;
    size_t found = 0;
    for (;;) {
        wire_msg_t req = { .kind = WIRE_SINCE }, rep;
        req.u.since.after_seq = after;
        req.u.since.limit = WIRE_MAX_BATCH;
        if (request(ctl, &req, &rep, 10000) != ERR_OK)
            return found;
        if (rep.kind != WIRE_SINCE_REPLY || rep.u.since_reply.n == 0) {
            wire_msg_release(&rep);
            return found;
        }
        uint64_t now = now_mono_us();
        for (size_t k = 0; k < rep.u.since_reply.n; k++) {
            const wire_committed_t *it = &rep.u.since_reply.items[k];
            size_t i = key_index(it->key, n);
            if (i != SIZE_MAX && !t_com[i]) {
                t_com[i] = now;
                (*committed)++;
                found++;
            }
            if (it->seq > after)
                after = it->seq;
        }
        wire_msg_release(&rep);
    }
}

typedef struct excerpt_env {
    char *dir;          /* temp dir: data + logs */
    char front[64];     /* frontend endpoint */
    char back[64];      /* backend endpoint */
    char pub[64];       /* publisher endpoint */
    pid_t broker;       /* broker pid */
    pid_t workers[16];  /* worker pids */
    unsigned n_workers; /* started workers */
    void *ctl;          /* DEALER for Stats/Since */
    int metrics_port;   /* broker's metrics port, with --scrape-ms */
    curvekeys_t keys;   /* with --curve, this run's keys (else off) */
} excerpt_env_t;

static void
excerpt_env_stop(excerpt_env_t *e, const opts_t *o)
{
    for (unsigned w = 0; w < e->n_workers; w++)
        (void)pipe_proc_stop_process(e->workers[w], 5000);
    e->n_workers = 0;
    if (e->ctl)
        zmq_close(e->ctl);
    e->ctl = NULL;
    if (e->broker > 0)
        (void)pipe_proc_stop_process(e->broker, 15000);
    e->broker = 0;
    if (e->dir && !o->keep)
        pipe_proc_remove_tree(e->dir);
    free(e->dir);
    e->dir = NULL;
}

/* Start a broker on fresh ports and a fresh store and wait until it
 * answers Stats. */
static int
excerpt_env_start(excerpt_env_t *e, const opts_t *o, void *ctx)
{
    memset(e, 0, sizeof *e);
    e->dir = pipe_proc_make_tmpdir(o, "excerpt");
    if (!e->dir)
        return ERR_IO;
    int p1 = pipe_proc_free_port(), p2 = pipe_proc_free_port(),
        p3 = pipe_proc_free_port();
    if (p1 < 0 || p2 < 0 || p3 < 0 || p1 == p2 || p2 == p3 || p1 == p3)
        return ERR_IO;
    snprintf(e->front, sizeof e->front, "tcp://127.0.0.1:%d", p1);
    snprintf(e->back, sizeof e->back, "tcp://127.0.0.1:%d", p2);
    snprintf(e->pub, sizeof e->pub, "tcp://127.0.0.1:%d", p3);

    char data[PATH_MAX], log[PATH_MAX], max_queued[32];
    snprintf(data, sizeof data, "%s/data", e->dir);
    snprintf(log, sizeof log, "%s/broker.log", e->dir);
    snprintf(max_queued, sizeof max_queued, "%zu",
             (o->fill > o->jobs ? o->fill : o->jobs) + 1000);
    char metrics[40] = "";
    e->metrics_port = o->scrape_ms ? pipe_proc_free_port() : 0;
    if (e->metrics_port > 0)
        snprintf(metrics, sizeof metrics, "127.0.0.1:%d", e->metrics_port);
    char *argv[] = { o->broker_bin, "--data-dir",  data,    "--frontend",
                     e->front,      "--backend",   e->back, "--publisher",
                     e->pub,        "--map-limit", "64G",   "--max-queued",
                     max_queued,    "--log-level", "warn",  "--metrics",
                     metrics,       NULL,          NULL,    NULL,
                     NULL,          NULL };
    if (o->curve_on) {
        if (curvekeys_make(&e->keys, e->dir) != ERR_OK)
            return ERR_IO;
        argv[17] = "--key-file";
        argv[18] = e->keys.broker_key_file;
        argv[19] = "--allow";
        argv[20] = e->keys.allow_file;
    }
    e->broker = pipe_proc_spawn(argv, log);
    if (e->broker < 0)
        return ERR_IO;
    e->ctl = zsocket(ctx, ZMQ_DEALER, e->front, &e->keys);
    if (!e->ctl)
        return ERR_IO;
    uint64_t deadline = now_mono_ms() + 15000;
    while (now_mono_ms() < deadline) {
        wire_stats_t st;
        if (pipe_proc_has_exited(e->broker)) {
            fprintf(stderr, "bench: excerpt-broker exited at start\n");
            pipe_proc_print_log_tail(log);
            e->broker = 0;
            return ERR_IO;
        }
        if (broker_stats(e->ctl, &st, 200) == ERR_OK)
            return ERR_OK;
    }
    fprintf(stderr, "bench: excerpt-broker did not answer Stats\n");
    pipe_proc_print_log_tail(log);
    return ERR_TIMEOUT;
}

static int
excerpt_env_workers(excerpt_env_t *e, const opts_t *o, unsigned n)
{
    char log[PATH_MAX], threads[16], name[32], key[PATH_MAX];
    snprintf(threads, sizeof threads, "%u", o->threads);
    for (unsigned w = 0; w < n && w < 16; w++) {
        snprintf(log, sizeof log, "%s/worker%u.log", e->dir, w);
        snprintf(name, sizeof name, "bench-w%u", w);
        char *argv[] = { o->worker_bin, "--broker", e->back, "--threads",
                         threads,       "--name",   name,    "--log-level",
                         "warn",        NULL,       NULL,    NULL,
                         NULL,          NULL };
        if (e->keys.on) {
            curvekeys_worker_file(&e->keys, w, key, sizeof key);
            argv[9] = "--key-file";
            argv[10] = key;
            argv[11] = "--broker-key-file";
            argv[12] = e->keys.broker_pub_file;
        }
        pid_t pid = pipe_proc_spawn(argv, log);
        if (pid < 0)
            return ERR_IO;
        e->workers[e->n_workers++] = pid;
    }
    uint64_t deadline = now_mono_ms() + 15000;
    while (now_mono_ms() < deadline) {
        wire_stats_t st;
        for (unsigned w = 0; w < e->n_workers; w++) {
            if (pipe_proc_has_exited(e->workers[w])) {
                fprintf(stderr, "bench: excerpt-worker exited at start\n");
                snprintf(log, sizeof log, "%s/worker%u.log", e->dir, w);
                pipe_proc_print_log_tail(log);
                e->workers[w] = 0;
                return ERR_IO;
            }
        }
        if (broker_stats(e->ctl, &st, 500) == ERR_OK && st.workers >= n)
            return ERR_OK;
        usleep(20000);
    }
    fprintf(stderr, "bench: workers did not register with the broker\n");
    return ERR_TIMEOUT;
}

/*
 * One excerpt run: n_workers worker processes (0 = fill mode: only
 * submits, done when all are Accepted), n jobs, offered rate (0 = as
 * fast as the window allows), at most batch Submits per frame (1: one
 * message each, and the subscriber takes topic "committed", one message
 * per result; else Batches, and topic "group", one Batch per commit).
 */
int
pipe_excerpt_run(const opts_t *o, const corpus_t *c, void *ctx,
                 unsigned n_workers, size_t n, double rate, size_t batch,
                 run_result_t *r)
{
    excerpt_env_t e;
    scraper_t *scr = NULL; /* with --scrape-ms */
    scraper_result_t sr;
    void *front = NULL, *sub = NULL;
    zin_t zfront = { .open = false }, zsub = { .open = false };
    wire_batch_t out;
    wire_batch_init(&out);
    const char *topic = batch > 1 ? "group" : "committed";
    uint64_t *t_sub = xcalloc(n, sizeof *t_sub);
    uint64_t *t_com = xcalloc(n, sizeof *t_com);
    retry_ring_t q = { .idx = xcalloc(n, sizeof(size_t)),
                       .due = xcalloc(n, sizeof(uint64_t)),
                       .cap = n };
    char *payload = xmalloc(o->size + 256);
    char key[48];
    bool fill = n_workers == 0;
    int rc = excerpt_env_start(&e, o, ctx);
    if (rc != ERR_OK)
        goto out;
    front = zsocket(ctx, ZMQ_DEALER, e.front, &e.keys);
    sub = fill ? NULL : zsocket(ctx, ZMQ_SUB, e.pub, &e.keys);
    if (sub)
        (void)zmq_setsockopt(sub, ZMQ_SUBSCRIBE, topic, strlen(topic));
    if (!front || (!fill && !sub)) {
        rc = ERR_IO;
        goto out;
    }
    if (!fill) {
        rc = excerpt_env_workers(&e, o, n_workers);
        if (rc != ERR_OK)
            goto out;
    }

    if (e.metrics_port > 0)
        scr = scraper_start(e.metrics_port, o->scrape_ms);
    mem_peak_t mem = { .pid = e.broker };
    size_t next = 0, inflight = 0, accepted = 0, committed = 0;
    uint64_t last_seq = 0, gaps = 0;
    uint64_t t0 = now_mono_us();
    double self0 = pipe_proc_self_cpu_secs();
    uint64_t deadline = t0 + (uint64_t)o->timeout_s * 1000000u;
    uint64_t last_progress = t0;
    uint64_t next_report = t0 + 10000000u;
    rc = ERR_OK;
    while (fill ? accepted < n : committed < n) {
        uint64_t now = now_mono_us();
        if (pipe_proc_interrupted || now > deadline) {
            fprintf(stderr,
                    "bench: %s: %s after %zu/%zu accepted, %zu "
                    "committed\n",
                    r->name,
                    pipe_proc_interrupted ? "interrupted" : "timed out",
                    accepted, n, committed);
            rc = ERR_TIMEOUT;
            break;
        }
        if (pipe_proc_has_exited(e.broker)) {
            fprintf(stderr, "bench: excerpt-broker died\n");
            e.broker = 0;
            rc = ERR_IO;
            break;
        }
        while (inflight < o->window) {
            size_t i;
            if (q.n && q.due[q.head] <= now) {
                i = q.idx[q.head];
                q.head = (q.head + 1) % q.cap;
                q.n--;
            } else if (next < n &&
                       (rate <= 0 ||
                        now >= t0 + (uint64_t)((double)next * 1e6 / rate))) {
                i = next++;
            } else {
                break;
            }
            size_t len = pipe_corpus_gen_payload(c, i, o->size, payload);
            snprintf(key, sizeof key, KEY_PREFIX "%zu", i);
            wire_msg_t m = { .kind = WIRE_SUBMIT, .request_id = i + 1 };
            m.u.submit.job.key = key;
            m.u.submit.job.title = "bench";
            m.u.submit.job.text = payload;
            m.u.submit.job.text_len = len;
            if (!t_sub[i])
                t_sub[i] = now_mono_us();
            if (zqueue(front, &out, batch, &m) != ERR_OK) {
                rc = ERR_IO;
                goto out;
            }
            inflight++;
        }
        if (zflush(front, &out) != ERR_OK) {
            rc = ERR_IO;
            goto out;
        }
        pipe_proc_mem_sample(&mem, false);

        long timeout = 20;
        if (rate > 0 && next < n) {
            uint64_t due = t0 + (uint64_t)((double)next * 1e6 / rate);
            now = now_mono_us();
            /* rounded up: a due time under 1 ms away must not spin */
            timeout = due > now ? (long)((due - now + 999) / 1000) : 0;
            if (timeout > 20)
                timeout = 20;
        }
        zmq_pollitem_t items[2] = {
            { .socket = front, .events = ZMQ_POLLIN },
            { .socket = sub, .events = ZMQ_POLLIN },
        };
        if (zmq_poll(items, fill ? 1 : 2, timeout) < 0 &&
            zmq_errno() != EINTR) {
            rc = ERR_IO;
            break;
        }
        wire_msg_t m;
        while (zin_next(front, &zfront, &m, ZMQ_DONTWAIT) == ERR_OK) {
            if (m.kind == WIRE_ACCEPTED) {
                inflight--;
                accepted++;
                last_progress = now_mono_us();
            } else if (m.kind == WIRE_REJECTED) {
                inflight--;
                r->rejected++;
                size_t i = (size_t)(m.request_id - 1);
                int code = m.u.rejected.code;
                if (i >= n || code == WIRE_CODE_INVALID ||
                    code == WIRE_CODE_TOO_LARGE || code == WIRE_CODE_BAD_UTF8 ||
                    code == WIRE_CODE_BAD_VERSION) {
                    fprintf(stderr, "bench: submit refused: %s %s\n",
                            wire_code_name(code),
                            m.u.rejected.reason ? m.u.rejected.reason : "");
                    wire_msg_release(&m);
                    rc = ERR_PROTO;
                    goto out;
                }
                uint32_t after = m.u.rejected.retry_after_ms;
                ring_push(&q, i, now_mono_us() + 1000u * (after ? after : 10));
            }
            wire_msg_release(&m);
        }
        while (sub && zin_next(sub, &zsub, &m, ZMQ_DONTWAIT) == ERR_OK) {
            if (m.kind == WIRE_COMMITTED) {
                uint64_t now2 = now_mono_us();
                size_t i = key_index(m.u.committed.key, n);
                if (i != SIZE_MAX && !t_com[i]) {
                    t_com[i] = now2;
                    committed++;
                    last_progress = now2;
                }
                if (last_seq && m.u.committed.seq != last_seq + 1)
                    gaps++;
                if (m.u.committed.seq > last_seq)
                    last_seq = m.u.committed.seq;
            }
            wire_msg_release(&m);
        }
        now = now_mono_us();
        if (!fill && accepted == n && committed < n &&
            now - last_progress > 3000000u) {
            /* Notifications lost (PUB drops for slow subscribers): take
             * the rest from the store. Their latency is an upper bound. */
            size_t got = catch_up(e.ctl, t_com, n, &committed);
            r->late += got;
            last_progress = now;
        }
        if (now >= next_report) {
            fprintf(stderr, "bench: %s: %zu accepted, %zu committed\n", r->name,
                    accepted, committed);
            next_report = now + 10000000u;
        }
    }
    pipe_proc_mem_sample(&mem, true);
    if (scr) {
        scraper_stop(&scr, &sr);
        printf("scrape: %s: %zu scrapes of /metrics every %u ms (%zu "
               "failed), p50 %.2f ms, p99 %.2f ms, max %.2f ms, %zu bytes\n",
               r->name, sr.n, o->scrape_ms, sr.failed, sr.p50_ms, sr.p99_ms,
               sr.max_ms, sr.bytes);
    }
    r->self_cpu_s = pipe_proc_self_cpu_secs() - self0;
    r->broker_cpu_s = pipe_proc_cpu_secs(e.broker);
    for (unsigned w = 0; w < e.n_workers; w++)
        r->worker_cpu_s += pipe_proc_cpu_secs(e.workers[w]);
    r->end_anon_kb = mem.last;
    r->anon_kb = mem.anon;
    r->hwm_kb = mem.hwm;
    {
        wire_stats_t st;
        if (broker_stats(e.ctl, &st, 5000) == ERR_OK)
            r->store_bytes = st.store_bytes;
    }
    if (gaps)
        fprintf(stderr, "bench: %s: %" PRIu64 " gaps in Committed seq\n",
                r->name, gaps);
    pipe_corpus_latency_stats(r, t_sub, fill ? t_sub : t_com, n);
    if (fill) {
        /* Fill mode measures intake only: accepted jobs per second. */
        double secs = (double)(now_mono_us() - t0) / 1e6;
        r->secs = secs;
        r->jobs = accepted;
        r->jobs_per_s = secs > 0 ? (double)accepted / secs : 0;
        r->p50_ms = r->p99_ms = r->max_ms = 0;
    }
    r->ok = rc == ERR_OK;
out:
    scraper_stop(&scr, &sr);
    zin_close(&zfront);
    zin_close(&zsub);
    wire_batch_free(&out);
    if (front)
        zmq_close(front);
    if (sub)
        zmq_close(sub);
    excerpt_env_stop(&e, o);
    free(payload);
    free(q.idx);
    free(q.due);
    free(t_sub);
    free(t_com);
    return rc;
}
