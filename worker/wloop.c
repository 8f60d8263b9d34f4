/*
 * wloop: the socket side of a worker. One thread owns the DEALER to the
 * broker: it grants credit with Ready, hands Dispatches to the pool (or,
 * with one thread, extracts them itself), forwards finished envelopes,
 * heartbeats the jobs it holds, keeps every Done until its DoneAck
 * (resending after a reconnect) and redoes the socket when the broker has
 * been silent for broker-timeout. What one pass of the loop sends goes
 * out as one frame (a Batch, PROTOCOL.md "Batches"), and Batches from the
 * broker are read item by item.
 */
#include "wloop.h"
#include "wloop_metrics.h"

#include "wloop_pool.h"

#include "../common/err.h"
#include "../common/log.h"
#include "../common/now.h"
#include "../common/xalloc.h"
#include "../proto/curve.h"
#include "../proto/wire.h"
#include "../proto/wire_batch.h"
#include "../proto/wire_zmq.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

/* A broker that dispatches beyond our credit gets its jobs queued up to
 * this many times the credit capacity; past that they are failed back. */
#define HELD_FACTOR 2
/* Reconnect backoff after the broker went silent: base, doubling, cap. */
#define RECONNECT_BASE_MS 100
#define RECONNECT_MAX_MS 10000
/* A poll that returns this much later than asked means we were stopped. */
#define STALL_MS 1000
/* Done/Failed envelopes awaiting DoneAck: at or above the window no new
 * credit is granted (the broker is slow to commit, so we stop taking
 * work); the window is UNACKED_PER_SLOT per credit slot, at least
 * UNACKED_MIN. Only a broker that never acks while still dispatching
 * past our credit can push the list to UNACKED_HARD_FACTOR windows, where
 * the oldest is forgotten (its lease re-queues the job). A group commit
 * acks up to the broker's commit-batch (512) Dones at once. */
#define UNACKED_MIN 1024
#define UNACKED_PER_SLOT 16
#define UNACKED_HARD_FACTOR 4

/* With one thread, jobs run on the socket thread in slices of about this
 * long, so the broker is read and heartbeated between them. */
#define INLINE_SLICE_MS 20

/* A frame batches messages up to about this many bytes; the next one goes
 * in a new frame, and a single larger message goes alone. It is
 * wire_batch's first block: no realloc, and under glibc's default mmap
 * threshold, which `excerpt run` (embedding this loop) keeps (the bench
 * client paid page faults for 1 MiB frames). A pass of a worker with one
 * thread and prefetch 64 sends about 16 Dones of 3 KiB. */
#define OUT_BATCH_MAX (64u << 10)
#define OUT_ITEM_HEAD 11u /* tag + length varint of a Batch item, at most */

/* ZMTP heartbeats (PROTOCOL.md "Sockets"). */
#define ZMTP_HB_IVL_MS 2000
#define ZMTP_HB_TIMEOUT_MS 20000

const cfg_entry_t wloop_cfg_table[] = {
    { "broker", CFG_STRING, offsetof(wloop_cfg_t, broker),
      "tcp://127.0.0.1:7441", 0, 0,
      "broker backend endpoint (tcp://HOST:PORT or ipc://PATH)" },
    { "threads", CFG_INT, offsetof(wloop_cfg_t, threads), "0", 0, 1024,
      "extraction threads (0: one per CPU)" },
    { "prefetch", CFG_INT, offsetof(wloop_cfg_t, prefetch), "64", 1, 1024,
      "jobs held per thread (credit = threads x prefetch): queued jobs "
      "hide the broker round trip and its group commit; the broker's "
      "max-worker-bytes bounds the text they hold" },
    { "heartbeat-ms", CFG_MS, offsetof(wloop_cfg_t, heartbeat_ms), "1s", 10,
      60000, "interval of Heartbeat messages to the broker" },
    { "broker-timeout-ms", CFG_MS, offsetof(wloop_cfg_t, broker_timeout_ms),
      "10s", 50, 3600000,
      "reconnect when nothing was heard from the broker for this long" },
    { "drain-timeout-ms", CFG_MS, offsetof(wloop_cfg_t, drain_timeout_ms),
      "30s", 0, 86400000,
      "on SIGTERM, longest wait for running jobs to finish and be acked" },
    { "max-text", CFG_SIZE, offsetof(wloop_cfg_t, max_text), "64M", 1,
      (int64_t)WIRE_MAX_TEXT,
      "texts longer than this fail (retryable, another worker may take it)" },
    { "inline-max", CFG_SIZE, offsetof(wloop_cfg_t, inline_max), "1M", 0,
      (int64_t)WIRE_MAX_TEXT,
      "with threads = 1, texts up to this size are extracted on the socket "
      "thread (no hand-off); larger ones on the extraction thread, so "
      "heartbeats go on (0: never)" },
    { "name", CFG_STRING, offsetof(wloop_cfg_t, name), "", 0, 0,
      "worker name sent in Ready (default HOST:PID)" },
    { "log-level", CFG_STRING, offsetof(wloop_cfg_t, log_level), "info", 0, 0,
      "error, warn, info or debug" },
    { "key-file", CFG_STRING, offsetof(wloop_cfg_t, key_file), "", 0, 0,
      "this worker's CURVE secret key file (excerpt keygen --role worker); "
      "with broker-key-file, the connection is encrypted and authenticated" },
    { "broker-key-file", CFG_STRING, offsetof(wloop_cfg_t, broker_key_file), "",
      0, 0, "the broker's CURVE public key file" },
    { "metrics", CFG_STRING, offsetof(wloop_cfg_t, metrics), "", 0, 0,
      "HTTP endpoint HOST:PORT for /metrics (Prometheus), /healthz and "
      "/readyz, e.g. 127.0.0.1:9441; port 0 picks a free one (logged); "
      "empty: off" },
    { "metrics-token-file", CFG_STRING,
      offsetof(wloop_cfg_t, metrics_token_file), "", 0, 0,
      "file holding a bearer token that /metrics requires; needed to bind "
      "metrics off loopback" },
    { "metrics-insecure", CFG_BOOL, offsetof(wloop_cfg_t, metrics_insecure),
      "false", 0, 0,
      "allow metrics off loopback without a token (logged as a warning)" },
};
const size_t wloop_cfg_table_len =
    sizeof wloop_cfg_table / sizeof wloop_cfg_table[0];

/* A frame from the broker. A Dispatch read from it keeps its text in the
 * frame (wire_decode_borrow), so the frame lives until the last of those
 * jobs is released, on whichever thread ran it. */
typedef struct rframe {
    zmq_msg_t msg;      /* the frame as received */
    atomic_size_t refs; /* the reader's, plus one per borrowing message */
} rframe_t;

struct wloop {
    wloop_cfg_t cfg;                /* own copy of the settings */
    bool curve;                     /* CURVE on: keys and server_key set */
    curve_pair_t keys;              /* this worker's key pair */
    char server_key[CURVE_KEY_Z85]; /* the broker's public key */
    size_t threads;                 /* resolved thread count */
    size_t capacity;                /* credit slots: threads x prefetch */
    char *name;                     /* worker name sent in Ready */
    void *zctx;                     /* ZeroMQ context */
    void *dealer;             /* socket to the broker, NULL between tries */
    int dealer_fd;            /* its ZMQ_FD, polled beside the wake pipe */
    bool unread;              /* a ZeroMQ call since the last drained read
                               * may have taken the fd's wake-up */
    rframe_t *rx;             /* holder for the next received frame, kept
                               * while no message borrowed the last one */
    wloop_pool_t *pool;       /* extraction threads */
    size_t in_pool;           /* jobs pushed to the pool, not collected */
    bool run_here;            /* threads = 1: small jobs run on this thread */
    wire_msg_t *local;        /* ring of Dispatches held for running here */
    size_t local_cap;         /* its slots: capacity x HELD_FACTOR */
    size_t local_head;        /* index of the oldest */
    size_t local_n;           /* entries in the ring */
    atomic_int stop_req;      /* set by wloop_request_stop */
    bool ran;                 /* wloop_run was called */
    bool draining;            /* stop seen: no more credit */
    uint64_t *held_ids;       /* jobs dispatched to us and not finished */
    uint32_t *held_att;       /* their attempts */
    size_t held_off;          /* first live entry of held_* */
    size_t n_held;            /* live entries, from held_off */
    size_t cap_held;          /* slots in held_* */
    wloop_done_t *unacked;    /* sent Done/Failed awaiting DoneAck */
    wloop_done_t *ack_tail;   /* last of unacked, NULL when empty */
    wloop_done_t *unsent;     /* first of unacked's tail not queued yet */
    wire_batch_t out;         /* messages queued for the next frame */
    int64_t out_credit;       /* credit of the Readys in out */
    int64_t batched_credit;   /* credit sent inside Batch frames on this
                               * socket (lost if the broker refuses them) */
    bool no_batch;            /* the broker cannot read Batch frames */
    size_t n_unacked;         /* entries in unacked */
    int64_t outstanding;      /* credit granted and not yet used */
    uint64_t rid;             /* last request_id used */
    uint64_t ready_rid;       /* request_id of the last full Ready */
    uint64_t last_heard_ms;   /* monotonic time of the last broker message */
    uint64_t next_hb_ms;      /* when the next Heartbeat is due */
    uint64_t reconnect_at_ms; /* when to make a new socket (dealer NULL) */
    unsigned reconnects;      /* consecutive silent tries, for backoff */
    unsigned seed;            /* jitter */
    uint64_t n_done;          /* results acked OK */
    uint64_t n_failed;        /* Failed sent */
    uint64_t n_fenced;        /* acked NOT_FOUND */
    bool heard;               /* the current socket heard the broker */
    wloop_metrics_t *metrics; /* HTTP metrics endpoint, or NULL */
};

int
wloop_cfg_defaults(wloop_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    return cfg_defaults(wloop_cfg_table, wloop_cfg_table_len, cfg);
}

void
wloop_cfg_free(wloop_cfg_t *cfg)
{
    if (cfg)
        cfg_free(wloop_cfg_table, wloop_cfg_table_len, cfg);
}

/* ------------------------------------------------------------ sending */

/* libzmq is done with a frame: hint is the block it lies in. */
/* Send what out holds as one frame (one message when it holds one). The
 * buffer is handed to libzmq, not copied. A refused frame loses its
 * messages: its credit was not granted (grant retries on a later pass) and
 * its answers stay in unacked, resent on a new socket. */
static int
out_flush(wloop_t *w)
{
    if (w->out.n == 0)
        return ERR_OK;
    int64_t credit = w->out_credit;
    w->out_credit = 0;
    if (!w->dealer) {
        wire_batch_free(&w->out);
        return ERR_CLOSED;
    }
    bool batched = w->out.n > 1;
    size_t len = wire_batch_bytes(&w->out);
    /* libzmq may process the socket's commands inside zmq_msg_send, taking
     * the wake-up of the fd we poll: read before blocking again. Not after
     * a refused send, which a full queue would repeat on every pass
     * (credit is retried each pass): a spin. The broker is not reading
     * then, and the next timer (at most a heartbeat away) reads anyway. */
    int rc = wire_batch_zsend(w->dealer, &w->out, ZMQ_DONTWAIT);
    if (rc == ERR_OK) {
        w->unread = true;
        if (batched)
            w->batched_credit += credit;
        return ERR_OK;
    }
    int e = errno;
    w->outstanding -= credit;
    if (w->outstanding < 0)
        w->outstanding = 0;
    if (rc == ERR_AGAIN) {
        /* Broker unreachable and the queue full: the silence timer will
         * redo the socket; Done/Failed are kept in unacked. */
        log_debug("worker: send queue full, frame dropped bytes=%zu", len);
        return ERR_AGAIN;
    }
    log_warn("worker: send failed: %s", zmq_strerror(e));
    return ERR_IO;
}

/* The frame the next message of len bytes goes in: what out holds is sent
 * first when the message would take it past OUT_BATCH_MAX (or when the
 * broker reads no Batches). */
static wire_batch_t *
out_room(void *ud, size_t len)
{
    wloop_t *w = ud;
    if (w->out.n > 0 &&
        (w->no_batch ||
         wire_batch_bytes(&w->out) + OUT_ITEM_HEAD + len > OUT_BATCH_MAX))
        (void)out_flush(w);
    return &w->out;
}

/* Queue one encoded Envelope (copied) for the next frame. */
static void
out_add(wloop_t *w, const uint8_t *buf, size_t len)
{
    if (w->dealer)
        wire_batch_add(out_room(w, len), buf, len);
}

/* Encode m straight into the next frame. */
static int
queue_msg(wloop_t *w, wire_msg_t *m)
{
    if (!w->dealer)
        return ERR_CLOSED;
    m->request_id = ++w->rid;
    int rc = wire_encode_into(m, out_room, w);
    if (rc != ERR_OK)
        log_error("worker: cannot encode %s: %s", wire_kind_name(m->kind),
                  err_str(rc));
    return rc;
}

/* Queue the answers finished since the last call, before any Ready that
 * follows them, so they share its frame. */
static void
queue_unsent(wloop_t *w)
{
    for (wloop_done_t *d = w->unsent; d; d = d->next)
        out_add(w, d->env, d->env_len);
    w->unsent = NULL;
}

static size_t
unacked_window(const wloop_t *w)
{
    size_t n = w->capacity * UNACKED_PER_SLOT;
    return n > UNACKED_MIN ? n : UNACKED_MIN;
}

/* Credit we may still grant: free slots, none while too many results wait
 * for their DoneAck. */
static int64_t
free_slots(const wloop_t *w)
{
    if (w->n_unacked >= unacked_window(w))
        return 0;
    return (int64_t)w->capacity - (int64_t)w->n_held - w->outstanding;
}

/* Queue Ready (after the answers not queued yet). full: (re)register, the
 * broker forgot any earlier credit; otherwise top the credit up to the
 * free slots, if any. Returns true when a Ready was queued. */
static bool
grant(wloop_t *w, bool full, const char *why)
{
    if (full)
        w->outstanding = 0;
    /* A stop requested during this pass counts at once: no credit may
     * follow it, even before the loop switches to draining. */
    int64_t credit =
        w->draining || atomic_load(&w->stop_req) ? 0 : free_slots(w);
    if (credit < 0)
        credit = 0;
    if (!full && credit == 0)
        return false;
    /* Top-ups are batched: with prefetch, one Ready per freed quarter of
     * the capacity halves (or better) the Readys per job, while jobs are
     * still queued for every thread. Without prefetch, or when the local
     * queue could run dry, every freed slot is granted at once. */
    int64_t batch = (int64_t)(w->capacity / 4);
    if (!full && credit < batch &&
        (int64_t)w->n_held + w->outstanding > (int64_t)w->threads)
        return false;
    queue_unsent(w);
    wire_msg_t m = { 0 };
    m.kind = WIRE_READY;
    m.u.ready.credit = (uint32_t)credit;
    m.u.ready.capacity = (uint32_t)w->capacity;
    m.u.ready.worker_name = w->name;
    m.u.ready.batch = true;
    if (queue_msg(w, &m) != ERR_OK)
        return false;
    w->outstanding += credit;
    w->out_credit += credit;
    if (full) {
        w->ready_rid = w->rid;
        log_info("worker: %s broker=%s name=%s credit=%" PRId64
                 " capacity=%zu threads=%zu held=%zu",
                 why, w->cfg.broker, w->name, credit, w->capacity, w->threads,
                 w->n_held);
    }
    return true;
}

static void
send_heartbeat(wloop_t *w)
{
    wire_msg_t m = { 0 };
    m.kind = WIRE_HEARTBEAT;
    m.u.heartbeat.n = w->n_held;
    m.u.heartbeat.job_ids = w->held_ids + w->held_off;
    m.u.heartbeat.attempts = w->held_att + w->held_off;
    (void)queue_msg(w, &m);
}

/* ------------------------------------------------------------ sockets */

static int
set_int(void *s, int opt, int v)
{
    return zmq_setsockopt(s, opt, &v, sizeof v);
}

static void *
make_dealer(wloop_t *w)
{
    void *s = zmq_socket(w->zctx, ZMQ_DEALER);
    if (!s) {
        log_error("worker: zmq_socket failed: %s", zmq_strerror(errno));
        return NULL;
    }
    int64_t maxmsg = (int64_t)WIRE_MAX_FRAME;
    if (zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0 ||
        set_int(s, ZMQ_LINGER, 0) != 0 ||
        set_int(s, ZMQ_HEARTBEAT_IVL, ZMTP_HB_IVL_MS) != 0 ||
        set_int(s, ZMQ_HEARTBEAT_TIMEOUT, ZMTP_HB_TIMEOUT_MS) != 0 ||
        set_int(s, ZMQ_HEARTBEAT_TTL, ZMTP_HB_TIMEOUT_MS) != 0 ||
        set_int(s, ZMQ_RECONNECT_IVL, RECONNECT_BASE_MS) != 0 ||
        set_int(s, ZMQ_RECONNECT_IVL_MAX, RECONNECT_MAX_MS) != 0) {
        log_error("worker: zmq_setsockopt failed: %s", zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    if (w->curve && curve_client_apply(s, &w->keys, w->server_key) != 0) {
        zmq_close(s);
        return NULL;
    }
    if (zmq_connect(s, w->cfg.broker) != 0) {
        log_error("worker: cannot connect broker=%s: %s", w->cfg.broker,
                  zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    return s;
}

static void
drop_dealer(wloop_t *w)
{
    if (w->dealer) {
        zmq_close(w->dealer);
        w->dealer = NULL;
    }
    w->dealer_fd = -1;
    w->heard = false;
    w->outstanding = 0;
    w->batched_credit = 0;
    /* queued answers are in unacked, resent on the next socket */
    wire_batch_free(&w->out);
    w->out_credit = 0;
}

/* New socket: register with the free slots and resend unacked answers
 * (queued: they go with the next flush). */
static int
open_dealer(wloop_t *w, const char *why)
{
    w->dealer = make_dealer(w);
    if (!w->dealer)
        return ERR_IO;
    int fd = -1;
    size_t fd_len = sizeof fd;
    if (zmq_getsockopt(w->dealer, ZMQ_FD, &fd, &fd_len) != 0) {
        log_error("worker: zmq_getsockopt ZMQ_FD failed: %s",
                  zmq_strerror(errno));
        drop_dealer(w);
        return ERR_IO;
    }
    w->dealer_fd = fd;
    w->unread = true;
    uint64_t now = now_mono_ms();
    w->last_heard_ms = now;
    w->next_hb_ms = now + w->cfg.heartbeat_ms;
    w->unsent = NULL; /* all of unacked is sent below */
    (void)grant(w, true, why);
    for (wloop_done_t *d = w->unacked; d; d = d->next)
        out_add(w, d->env, d->env_len);
    return ERR_OK;
}

/* ------------------------------------------------------------ holdings */

static void
hold(wloop_t *w, uint64_t id, uint32_t attempt)
{
    if (w->held_off + w->n_held == w->cap_held && w->held_off > 0) {
        /* the finished ones at the front make room (once per cap_held) */
        memmove(w->held_ids, w->held_ids + w->held_off,
                w->n_held * sizeof *w->held_ids);
        memmove(w->held_att, w->held_att + w->held_off,
                w->n_held * sizeof *w->held_att);
        w->held_off = 0;
    }
    if (w->n_held == w->cap_held) {
        size_t cap = w->cap_held ? 2 * w->cap_held : 8;
        w->held_ids = xreallocarray(w->held_ids, cap, sizeof *w->held_ids);
        w->held_att = xreallocarray(w->held_att, cap, sizeof *w->held_att);
        w->cap_held = cap;
    }
    w->held_ids[w->held_off + w->n_held] = id;
    w->held_att[w->held_off + w->n_held] = attempt;
    w->n_held++;
}

static void
unhold(wloop_t *w, uint64_t id, uint32_t attempt)
{
    uint64_t *ids = w->held_ids + w->held_off;
    uint32_t *att = w->held_att + w->held_off;
    for (size_t i = 0; i < w->n_held; i++) {
        if (ids[i] != id || att[i] != attempt)
            continue;
        if (i == 0) { /* jobs mostly finish in the order they came */
            w->held_off++;
        } else {
            memmove(&ids[i], &ids[i + 1], (w->n_held - i - 1) * sizeof *ids);
            memmove(&att[i], &att[i + 1], (w->n_held - i - 1) * sizeof *att);
        }
        if (--w->n_held == 0)
            w->held_off = 0;
        return;
    }
}

/* Keep d until its DoneAck; bounded so a broker that never acks cannot
 * grow us without limit (the oldest is dropped: its lease re-queues it).
 * In normal operation free_slots() stops new credit long before that. */
static void
keep_unacked(wloop_t *w, wloop_done_t *d)
{
    d->next = NULL;
    if (w->ack_tail)
        w->ack_tail->next = d;
    else
        w->unacked = d;
    w->ack_tail = d;
    w->n_unacked++;
    if (w->n_unacked > unacked_window(w) * UNACKED_HARD_FACTOR) {
        wloop_done_t *old = w->unacked;
        if (w->unsent == old)
            w->unsent = old->next;
        w->unacked = old->next;
        if (!w->unacked)
            w->ack_tail = NULL;
        w->n_unacked--;
        log_warn("worker: job=%" PRIu64 " attempt=%" PRIu32
                 " never acked, forgetting it",
                 old->job_id, old->attempt);
        wloop_done_free(old);
    }
}

static void
ack(wloop_t *w, uint64_t id, uint32_t attempt, int code)
{
    wloop_done_t *prev = NULL;
    for (wloop_done_t **pp = &w->unacked; *pp; prev = *pp, pp = &(*pp)->next) {
        wloop_done_t *d = *pp;
        if (d->job_id != id || d->attempt != attempt)
            continue;
        *pp = d->next;
        if (w->ack_tail == d)
            w->ack_tail = prev;
        if (w->unsent == d)
            w->unsent = d->next;
        w->n_unacked--;
        if (code == WIRE_CODE_OK) {
            if (!d->failed)
                w->n_done++;
            log_debug("worker: job=%" PRIu64 " attempt=%" PRIu32 " acked %s",
                      id, attempt, d->failed ? "failure" : "result");
        } else if (code == WIRE_CODE_NOT_FOUND) {
            w->n_fenced++;
            log_info("worker: job=%" PRIu64 " attempt=%" PRIu32
                     " fenced by broker code=%s",
                     id, attempt, wire_code_name(code));
        } else {
            /* not committed (e.g. STORE_FULL): the lease runs out and the
             * broker retries the job; nothing for us to resend */
            log_warn("worker: job=%" PRIu64 " attempt=%" PRIu32
                     " not committed by broker code=%s",
                     id, attempt, wire_code_name(code));
        }
        wloop_done_free(d);
        return;
    }
    log_debug("worker: DoneAck for unknown job=%" PRIu64 " attempt=%" PRIu32,
              id, attempt);
}

/* Fail a job back without running it (we hold too many already). */
static void
refuse(wloop_t *w, uint64_t id, uint32_t attempt, const char *reason)
{
    wloop_done_t *d = xcalloc(1, sizeof *d);
    wire_msg_t m = { 0 };
    d->job_id = id;
    d->attempt = attempt;
    d->failed = true;
    m.kind = WIRE_FAILED;
    m.u.failed.job_id = id;
    m.u.failed.attempt = attempt;
    m.u.failed.reason = reason;
    if (wire_encode(&m, &d->env, &d->env_len) != ERR_OK) {
        wloop_done_free(d);
        return;
    }
    log_warn("worker: job=%" PRIu64 " attempt=%" PRIu32 " refused: %s", id,
             attempt, reason);
    w->n_failed++;
    queue_unsent(w);
    out_add(w, d->env, d->env_len);
    keep_unacked(w, d);
}

/* ------------------------------------------------------------ events */

static void
on_dispatch(wloop_t *w, wire_msg_t *m)
{
    uint64_t id = m->u.dispatch.job.id;
    uint32_t attempt = m->u.dispatch.attempt;
    if (w->outstanding > 0)
        w->outstanding--;
    if (w->n_held >= w->capacity * HELD_FACTOR) {
        refuse(w, id, attempt, "worker over capacity: dispatch beyond credit");
        return;
    }
    log_debug("worker: job=%" PRIu64 " attempt=%" PRIu32
              " dispatched bytes=%zu lease_ms=%" PRIu32,
              id, attempt, m->u.dispatch.job.text_len, m->u.dispatch.lease_ms);
    hold(w, id, attempt);
    if (w->run_here) {
        /* n_held bounds the ring: it holds at most capacity x HELD_FACTOR */
        assert(w->local_n < w->local_cap);
        w->local[(w->local_head + w->local_n) % w->local_cap] = *m;
        w->local_n++;
        memset(m, 0, sizeof *m);
        return;
    }
    w->in_pool++;
    wloop_pool_push(w->pool, m);
}

static void
on_rejected(wloop_t *w, const wire_msg_t *m)
{
    int code = m->u.rejected.code;
    const char *reason = m->u.rejected.reason ? m->u.rejected.reason : "";
    if (code == WIRE_CODE_NOT_FOUND &&
        (m->request_id == 0 || m->request_id >= w->ready_rid)) {
        /* The broker does not know us (it restarted): register again. A
         * rejection of a message sent before our last Ready is stale and
         * answering it would grant the same slots twice. */
        log_info("worker: broker rejected request=%" PRIu64
                 " (%s): registering again, resending unacked=%zu",
                 m->request_id, reason, w->n_unacked);
        /* Every unacked answer goes again after the Ready, as on a new
         * socket: the broker that restarted lost those it had not acked
         * (each is acked once more, or fenced), so none stays unacked for
         * good, eating the window that free_slots() grants from. */
        w->unsent = NULL;
        (void)grant(w, true, "registered again with");
        for (wloop_done_t *d = w->unacked; d; d = d->next)
            out_add(w, d->env, d->env_len);
        return;
    }
    if (code == WIRE_CODE_INVALID && m->request_id == 0 &&
        !m->u.rejected.batch && !w->no_batch) {
        /* A broker that predates Batch refuses a Batch frame as a whole
         * (request_id 0 is never one of ours; a broker that reads Batches
         * says so in every Rejected): from now on one message per
         * frame. What the refused frames held is lost: their credit is
         * taken back (grant tops it up again) and every unacked answer is
         * sent again (a duplicate of one that got through is fenced). */
        log_warn("worker: broker cannot read Batch frames (%s): one message "
                 "per frame from now on, resending unacked=%zu",
                 reason, w->n_unacked);
        w->no_batch = true;
        w->outstanding -= w->batched_credit + w->out_credit;
        if (w->outstanding < 0)
            w->outstanding = 0;
        w->batched_credit = 0;
        /* what this pass queued so far would go as a Batch too: dropped,
         * its answers are among those resent, its credit granted again */
        wire_batch_free(&w->out);
        w->out_credit = 0;
        w->unsent = NULL; /* all of unacked is queued below */
        for (wloop_done_t *d = w->unacked; d; d = d->next)
            out_add(w, d->env, d->env_len);
        return;
    }
    log_warn("worker: broker rejected request=%" PRIu64 " code=%s reason=%s",
             m->request_id, wire_code_name(code), reason);
}

/* A message that borrowed from f is released (wire_msg_on_release). */
static void
rframe_unref(void *ud)
{
    rframe_t *f = ud;
    if (atomic_fetch_sub(&f->refs, 1) == 1) {
        zmq_msg_close(&f->msg);
        free(f);
    }
}

static void
on_message(wloop_t *w, rframe_t *f, const uint8_t *buf, size_t len)
{
    wire_msg_t m;
    bool borrowed = false;
    int rc = wire_decode_borrow(buf, len, &m, &borrowed);
    if (borrowed) {
        atomic_fetch_add(&f->refs, 1);
        wire_msg_on_release(&m, rframe_unref, f);
    }
    if (rc != ERR_OK) {
        log_warn("worker: undecodable frame from broker bytes=%zu: %s", len,
                 err_str(rc));
        return;
    }
    switch (m.kind) {
    case WIRE_DISPATCH:
        on_dispatch(w, &m);
        break;
    case WIRE_HEARTBEAT:
        break;
    case WIRE_DONE_ACK:
        ack(w, m.u.done_ack.job_id, m.u.done_ack.attempt, m.u.done_ack.code);
        break;
    case WIRE_REJECTED:
        on_rejected(w, &m);
        break;
    default:
        log_warn("worker: unexpected %s from broker, ignored",
                 wire_kind_name(m.kind));
        break;
    }
    wire_msg_release(&m);
}

/* One frame from the broker: a message, or a Batch of them handled in
 * order. A malformed Batch ends at the bad item: the rest of the frame is
 * dropped (the broker re-leases a job whose Dispatch was lost; a lost
 * DoneAck is answered again when the Done is resent). */
static void
on_frame(wloop_t *w, rframe_t *f, const uint8_t *buf, size_t len)
{
    wire_batch_iter_t it;
    int rc = wire_batch_open(buf, len, &it);
    if (rc < 0) {
        log_warn("worker: undecodable frame from broker bytes=%zu: %s", len,
                 err_str(rc));
        return;
    }
    const uint8_t *item = NULL;
    size_t item_len = 0, n = 0;
    while ((rc = wire_batch_next(&it, &item, &item_len)) == 1) {
        on_message(w, f, item, item_len);
        n++;
    }
    if (rc < 0)
        log_warn("worker: malformed batch from broker bytes=%zu after "
                 "items=%zu, rest dropped: %s",
                 len, n, err_str(rc));
}

/* Take every message the broker sent. Ending on EAGAIN, libzmq has taken
 * all its commands, so its fd becomes readable on the next message. */
static int
read_socket(wloop_t *w)
{
    w->unread = false;
    for (;;) {
        if (!w->rx)
            w->rx = xmalloc(sizeof *w->rx);
        rframe_t *f = w->rx;
        zmq_msg_t *msg = &f->msg;
        zmq_msg_init(msg);
        atomic_init(&f->refs, 1);
        if (zmq_msg_recv(msg, w->dealer, ZMQ_DONTWAIT) < 0) {
            int e = errno;
            zmq_msg_close(msg);
            if (e == EINTR)
                w->unread = true;
            if (e == EAGAIN || e == EINTR)
                return ERR_OK;
            log_error("worker: receive failed: %s", zmq_strerror(e));
            return ERR_IO;
        }
        bool more = zmq_msg_more(msg);
        w->last_heard_ms = now_mono_ms();
        w->reconnects = 0;
        w->heard = true;
        if (!more) /* the Envelope is the last frame */
            on_frame(w, f, zmq_msg_data(msg), zmq_msg_size(msg));
        if (atomic_load(&f->refs) == 1) {
            /* nothing borrowed from it: the holder serves the next one */
            zmq_msg_close(msg);
        } else {
            w->rx = NULL;
            rframe_unref(f); /* the last borrower closes it */
        }
    }
}

/* A job finished: keep its answer until acked, to be queued with the next
 * queue_unsent(). */
static void
finish(wloop_t *w, wloop_done_t *d)
{
    unhold(w, d->job_id, d->attempt);
    if (d->failed)
        w->n_failed++;
    wloop_metrics_job(w->metrics, d->failed, d->extract_us);
    log_debug(
        "worker: job=%" PRIu64 " attempt=%" PRIu32 " %s extract_us=%" PRIu64,
        d->job_id, d->attempt, d->failed ? "failed" : "done", d->extract_us);
    keep_unacked(w, d);
    if (!w->unsent)
        w->unsent = d;
}

static void
collect_done(wloop_t *w)
{
    wloop_done_t *d = wloop_pool_take_done(w->pool);
    while (d) {
        wloop_done_t *next = d->next;
        w->in_pool--;
        finish(w, d);
        d = next;
    }
    queue_unsent(w);
    if (!w->draining && w->dealer)
        (void)grant(w, false, "credit");
}

/* With one thread: run held jobs here, oldest first, for one slice. A
 * text over inline-max goes to the extraction thread instead (heartbeats
 * and credit go on meanwhile), and nothing runs here until it is back, so
 * one job runs at a time. Returns true when jobs are left to run now. */
static bool
run_local(wloop_t *w)
{
    uint64_t start = now_mono_ms();
    /* what this pass queued so far should not wait for the slice */
    if (w->local_n > 0 && w->in_pool == 0)
        (void)out_flush(w);
    while (w->local_n > 0 && w->in_pool == 0) {
        wire_msg_t m = w->local[w->local_head];
        memset(&w->local[w->local_head], 0, sizeof m);
        w->local_head = (w->local_head + 1) % w->local_cap;
        w->local_n--;
        if (m.u.dispatch.job.text_len > w->cfg.inline_max) {
            w->in_pool++;
            wloop_pool_push(w->pool, &m);
            break;
        }
        finish(w, wloop_pool_run_here(w->pool, &m));
        /* a Ready takes the answers so far with it, in one frame sent now
         * so the broker can dispatch while we go on */
        if (!w->draining && w->dealer && grant(w, false, "credit"))
            (void)out_flush(w);
        if (now_mono_ms() - start >= INLINE_SLICE_MS)
            break;
    }
    queue_unsent(w);
    return w->local_n > 0 && w->in_pool == 0;
}

/* ------------------------------------------------------------ lifecycle */

int
wloop_open(wloop_t **out, const wloop_cfg_t *cfg)
{
    wloop_t *w = xcalloc(1, sizeof *w);
    int rc = ERR_INVAL;

    w->cfg.broker = xstrdup(cfg->broker ? cfg->broker : "");
    w->cfg.threads = cfg->threads;
    w->cfg.prefetch = cfg->prefetch;
    w->cfg.heartbeat_ms = cfg->heartbeat_ms;
    w->cfg.broker_timeout_ms = cfg->broker_timeout_ms;
    w->cfg.drain_timeout_ms = cfg->drain_timeout_ms;
    w->cfg.max_text = cfg->max_text;
    w->cfg.inline_max = cfg->inline_max;
    w->dealer_fd = -1;
    w->cfg.name = xstrdup(cfg->name ? cfg->name : "");
    w->cfg.log_level = xstrdup(cfg->log_level ? cfg->log_level : "info");
    atomic_init(&w->stop_req, 0);

    if (!*w->cfg.broker) {
        log_error("worker: config key=broker is empty");
        goto fail;
    }
    if (w->cfg.threads < 0 || w->cfg.threads > 1024) {
        log_error("worker: config key=threads out of range [0,1024]");
        goto fail;
    }
    if (w->cfg.prefetch < 1 || w->cfg.prefetch > 1024) {
        log_error("worker: config key=prefetch out of range [1,1024]");
        goto fail;
    }
    if (w->cfg.heartbeat_ms == 0 ||
        w->cfg.broker_timeout_ms < 2 * w->cfg.heartbeat_ms) {
        log_error("worker: config key=broker-timeout-ms must be at least "
                  "twice heartbeat-ms");
        goto fail;
    }
    if (w->cfg.max_text == 0) {
        log_error("worker: config key=max-text must be positive");
        goto fail;
    }
    if (log_level_parse(w->cfg.log_level) < 0) {
        log_error("worker: config key=log-level value=\"%s\" is not one of "
                  "error, warn, info, debug",
                  w->cfg.log_level);
        goto fail;
    }
    w->threads = (size_t)w->cfg.threads;
    if (w->threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        w->threads = n > 0 ? (size_t)n : 1;
    }
    w->capacity = w->threads * (size_t)w->cfg.prefetch;
    if (w->threads == 1 && w->cfg.inline_max > 0) {
        w->run_here = true;
        w->local_cap = w->capacity * HELD_FACTOR;
        w->local = xcalloc(w->local_cap, sizeof *w->local);
    }
    if (*w->cfg.name) {
        w->name = xstrdup(w->cfg.name);
    } else {
        char host[256] = "localhost";
        if (gethostname(host, sizeof host) != 0)
            snprintf(host, sizeof host, "localhost");
        host[sizeof host - 1] = '\0';
        char buf[300];
        snprintf(buf, sizeof buf, "%s:%ld", host, (long)getpid());
        w->name = xstrdup(buf);
    }
    w->seed = (unsigned)getpid() ^ (unsigned)now_mono_us();
    rc = curve_load_client(cfg->key_file, cfg->broker_key_file, &w->curve,
                           &w->keys, w->server_key);
    if (rc)
        goto fail;
    rc = ERR_INVAL;
    if (!w->curve && !curve_endpoint_is_local(w->cfg.broker))
        log_warn("worker: no keys: transcripts and results cross the network "
                 "to %s in plaintext (set key-file and broker-key-file)",
                 w->cfg.broker);

    w->zctx = zmq_ctx_new();
    if (!w->zctx) {
        log_error("worker: zmq_ctx_new failed: %s", zmq_strerror(errno));
        rc = ERR_IO;
        goto fail;
    }
    /* Check the endpoint now so a typo fails at start, not in the loop. */
    void *probe = make_dealer(w);
    if (!probe) {
        rc = ERR_INVAL;
        goto fail;
    }
    zmq_close(probe);
    rc = wloop_pool_open(&w->pool, w->threads, w->cfg.max_text);
    if (rc != ERR_OK)
        goto fail;
    if (cfg->metrics && *cfg->metrics &&
        (rc = wloop_metrics_open(&w->metrics, cfg->metrics,
                                 cfg->metrics_token_file, cfg->metrics_insecure,
                                 0)) != ERR_OK)
        goto fail;
    *out = w;
    return ERR_OK;
fail:
    wloop_destroy(&w);
    return rc;
}

void
wloop_request_stop(wloop_t *w)
{
    atomic_store(&w->stop_req, 1);
    wloop_pool_wake(w->pool);
}

static uint64_t
backoff_ms(wloop_t *w)
{
    unsigned n = w->reconnects < 16 ? w->reconnects : 16;
    uint64_t d = (uint64_t)RECONNECT_BASE_MS << n;
    if (d > RECONNECT_MAX_MS)
        d = RECONNECT_MAX_MS;
    /* +-25% jitter so a fleet of workers does not reconnect in step. */
    uint64_t j = d / 2 ? (uint64_t)rand_r(&w->seed) % (d / 2) : 0;
    return d - d / 4 + j;
}

static int
poll_timeout(const wloop_t *w, uint64_t now, uint64_t drain_deadline)
{
    uint64_t next = now + 1000;
    if (w->dealer) {
        uint64_t lost = w->last_heard_ms + w->cfg.broker_timeout_ms;
        if (w->next_hb_ms < next)
            next = w->next_hb_ms;
        if (lost < next)
            next = lost;
    } else if (w->reconnect_at_ms < next) {
        next = w->reconnect_at_ms;
    }
    if (w->draining && drain_deadline < next)
        next = drain_deadline;
    return next <= now ? 0 : (int)(next - now);
}

/* Hand the loop's figures to the metrics endpoint (at most every 100 ms
 * unless force). */
static void
publish_metrics(wloop_t *w, bool force)
{
    if (!w->metrics)
        return;
    wloop_metrics_state_t st = {
        .done = w->n_done,
        .failed = w->n_failed,
        .fenced = w->n_fenced,
        .held = w->n_held,
        .credit = w->outstanding,
        .capacity = w->capacity,
        .threads = w->threads,
        .connected = w->dealer && w->heard,
        .draining = w->draining,
    };
    wloop_metrics_publish(w->metrics, &st, force);
}

int
wloop_metrics_port_of(const wloop_t *w)
{
    return w ? wloop_metrics_port(w->metrics) : 0;
}

int
wloop_run(wloop_t *w)
{
    assert(w && !w->ran);
    w->ran = true;
    if (atomic_load(&w->stop_req)) {
        /* stopped before it started: grant no credit it would not use */
        log_info("worker: stopped before connecting");
        return ERR_OK;
    }
    int rc = open_dealer(w, "connected, Ready sent to");
    uint64_t drain_deadline = 0;
    if (rc != ERR_OK)
        return rc;

    bool busy = true; /* something to do without waiting */
    for (;;) {
        uint64_t now = now_mono_ms();
        int timeout = busy ? 0 : poll_timeout(w, now, drain_deadline);
        /* A zero timeout needs no poll: everything below is looked at
         * anyway. Blocking, the wake pipe is written only while we sleep. */
        if (timeout > 0 && wloop_pool_sleep_begin(w->pool)) {
            struct pollfd fds[2] = {
                { .fd = wloop_pool_wake_fd(w->pool), .events = POLLIN },
                { .fd = w->dealer_fd, .events = POLLIN },
            };
            int n = poll(fds, w->dealer ? 2 : 1, timeout);
            int e = errno;
            wloop_pool_sleep_end(w->pool);
            uint64_t stall = now_mono_ms() - now;
            if (stall > (uint64_t)timeout + STALL_MS) {
                /* We were not running (SIGSTOP, a suspended VM): silence
                 * is only counted while we could have heard something,
                 * and the socket gets a chance to deliver what arrived
                 * meanwhile. */
                w->last_heard_ms += stall - (uint64_t)timeout;
            }
            if (n < 0 && e != EINTR) {
                log_error("worker: poll failed: %s", strerror(e));
                rc = ERR_IO;
                break;
            }
            if (n > 0 && (fds[0].revents & POLLIN))
                wloop_pool_clear_wake(w->pool);
        }
        /* Read the broker before looking at the clock, so that a process
         * resumed after SIGSTOP sees what arrived meanwhile. */
        if (w->dealer && read_socket(w) != ERR_OK) {
            drop_dealer(w);
            w->reconnect_at_ms = now_mono_ms() + backoff_ms(w);
        }
        collect_done(w);
        if (!w->draining && atomic_load(&w->stop_req)) {
            w->draining = true;
            drain_deadline = now_mono_ms() + w->cfg.drain_timeout_ms;
            publish_metrics(w, true);
            log_info(
                "worker: draining jobs=%zu unacked=%zu timeout_ms=%" PRIu64,
                w->n_held, w->n_unacked, w->cfg.drain_timeout_ms);
        }
        bool more = w->run_here && run_local(w);
        now = now_mono_ms();
        if (w->draining) {
            if (w->n_held == 0 && w->n_unacked == 0) {
                rc = ERR_OK;
                break;
            }
            if (now >= drain_deadline) {
                log_warn("worker: drain timed out jobs=%zu unacked=%zu",
                         w->n_held, w->n_unacked);
                rc = ERR_TIMEOUT;
                break;
            }
        }
        if (w->dealer && now >= w->last_heard_ms + w->cfg.broker_timeout_ms) {
            drop_dealer(w);
            uint64_t b = backoff_ms(w);
            w->reconnects++;
            w->reconnect_at_ms = now + b;
            log_warn("worker: broker lost: nothing heard for %" PRIu64
                     " ms, reconnecting in %" PRIu64 " ms",
                     w->cfg.broker_timeout_ms, b);
        }
        if (!w->dealer && now >= w->reconnect_at_ms) {
            if (open_dealer(w, "new socket, Ready sent to") != ERR_OK) {
                w->reconnects++;
                w->reconnect_at_ms = now + backoff_ms(w);
            }
        }
        if (w->dealer && now >= w->next_hb_ms) {
            send_heartbeat(w);
            w->next_hb_ms = now + w->cfg.heartbeat_ms;
        }
        /* one frame for what this pass queued */
        (void)out_flush(w);
        publish_metrics(w, false);
        /* Sleep only once the socket was drained after our last send and
         * nothing is left to run here. */
        busy = more || (w->dealer && w->unread);
    }
    drop_dealer(w);
    log_info("worker: stopped results=%" PRIu64 " failed=%" PRIu64
             " fenced=%" PRIu64,
             w->n_done, w->n_failed, w->n_fenced);
    return rc;
}

void
wloop_destroy(wloop_t **wp)
{
    wloop_t *w = wp ? *wp : NULL;
    if (!w)
        return;
    *wp = NULL;
    drop_dealer(w);
    wloop_metrics_destroy(&w->metrics);
    wloop_pool_destroy(&w->pool);
    while (w->unacked) {
        wloop_done_t *d = w->unacked;
        w->unacked = d->next;
        wloop_done_free(d);
    }
    w->ack_tail = NULL;
    wire_batch_free(&w->out);
    for (size_t i = 0; i < w->local_n; i++)
        wire_msg_release(&w->local[(w->local_head + i) % w->local_cap]);
    free(w->local);
    free(w->rx);
    if (w->zctx)
        zmq_ctx_term(w->zctx);
    free(w->held_ids);
    free(w->held_att);
    free(w->name);
    wloop_cfg_free(&w->cfg);
    memset(&w->keys, 0, sizeof w->keys);
    free(w);
}
