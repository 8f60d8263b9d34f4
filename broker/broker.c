/*
 * broker: the poll loop, request handling, credit-based dispatch, leases
 * and group commit (see broker.h and proto/PROTOCOL.md). Writes are queued
 * as ops and applied in one store txn; replies, Committed notifications
 * and Dispatches leave only after that txn committed.
 */
#include "broker.h"

#include "auth.h"

#include "../common/err.h"
#include "../common/log.h"
#include "../common/now.h"
#include "../common/xalloc.h"
#include "../proto/curve.h"
#include "../proto/wire.h"
#include "../proto/wire_batch.h"
#include "../proto/wire_splice.h"
#include "../proto/wire_zmq.h"
#include "../storage/store.h"
#include "../storage/store_query.h"
#include "metrics.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define MAX_ROUTE 8               /* routing frames kept for a reply */
#define TICK_MS 100               /* lease/worker/delayed checks */
#define BATCH_BYTES (64u << 20)   /* payload bytes that force a commit */
#define SINCE_BYTES (32u << 20)   /* result bytes in one SinceReply */
#define LEASES_PER_FLUSH 512      /* jobs leased in one commit at most */
#define PROMOTE_PER_FLUSH 10000   /* delayed jobs promoted per commit */
#define RETRY_QUEUE_FULL_MS 1000  /* retry_after for QUEUE_FULL */
#define RETRY_STORE_FULL_MS 10000 /* retry_after for STORE_FULL */
#define RETRY_SHUTDOWN_MS 2000    /* retry_after for SHUTTING_DOWN */
#define RETRY_INTERNAL_MS 1000    /* retry_after for INTERNAL */
#define MAX_FLUSH_TRIES 48        /* map doublings and retries */
#define PER_POLL 256              /* messages read per socket per turn */
#define SEND_HWM 100000           /* outbound messages queued per peer */
#define ID_BLOCK 65536            /* job ids reserved ahead per commit */
#define OUT_BYTES (1u << 20)      /* a Batch frame's items, about */
#define MAX_OUTBOXES 64           /* peers with messages waiting per pass */
#define MAX_TOPICS 64             /* distinct publisher subscriptions kept */

/* ------------------------------------------------------------ config */

#define OFF(f) offsetof(broker_cfg_t, f)
const cfg_entry_t broker_cfg_table[] = {
    { "data-dir", CFG_STRING, OFF(data_dir), "excerpt-data", 0, 0,
      "LMDB data directory" },
    { "frontend", CFG_STRING, OFF(frontend), "tcp://127.0.0.1:7440", 0, 0,
      "client endpoint (ROUTER, bind)" },
    { "backend", CFG_STRING, OFF(backend), "tcp://127.0.0.1:7441", 0, 0,
      "worker endpoint (ROUTER, bind)" },
    { "publisher", CFG_STRING, OFF(publisher), "tcp://127.0.0.1:7442", 0, 0,
      "notification endpoint (PUB, bind)" },
    { "map-size", CFG_SIZE, OFF(map_size), "64M", 1 << 20, 0,
      "initial LMDB map size" },
    { "map-limit", CFG_SIZE, OFF(map_limit), "32G", 1 << 20, 0,
      "the LMDB map never grows past this" },
    { "max-queued", CFG_INT, OFF(max_queued), "2000000", 1, 1000000000,
      "jobs ready, leased or delayed before Submit gets QUEUE_FULL" },
    { "max-attempts", CFG_INT, OFF(max_attempts), "5", 1, 1000,
      "failed attempts before a job is dead-lettered" },
    { "lease-ms", CFG_MS, OFF(lease_ms), "60s", 10, 86400000,
      "lease length; worker heartbeats extend it" },
    { "worker-timeout-ms", CFG_MS, OFF(worker_timeout_ms), "10s", 10, 86400000,
      "a worker silent this long is lost" },
    { "retry-base-ms", CFG_MS, OFF(retry_base_ms), "500ms", 0, 86400000,
      "first retry delay; doubles per attempt, with jitter" },
    { "retry-max-ms", CFG_MS, OFF(retry_max_ms), "60s", 0, 86400000,
      "longest retry delay" },
    { "max-worker-bytes", CFG_SIZE, OFF(max_worker_bytes), "256M", 1, 0,
      "text bytes one worker may hold before it gets another job (it "
      "always gets one)" },
    { "max-credit", CFG_INT, OFF(max_credit), "1024", 1, 1000000,
      "most jobs one worker may hold at once" },
    { "commit-batch", CFG_INT, OFF(commit_batch), "512", 1, 100000,
      "operations per group commit at most" },
    { "commit-delay-us", CFG_INT, OFF(commit_delay_us), "0", 0, 1000000,
      "longest wait to fill a group commit, microseconds (0: commit at "
      "once when the committer is idle; what arrives during a commit "
      "forms the next group anyway)" },
    { "early-wait-us", CFG_INT, OFF(early_wait_us), "2000", 0, 1000000,
      "longest wait, microseconds, for the results of jobs sent to workers "
      "before their Submit committed, so that both commit together" },
    { "max-readers", CFG_INT, OFF(max_readers), "126", 1, 100000,
      "LMDB reader slots" },
    { "io-threads", CFG_INT, OFF(io_threads), "1", 1, 64,
      "ZeroMQ I/O threads: framing, and with keys the CURVE encryption, of "
      "all connections" },
    { "log-level", CFG_STRING, OFF(log_level), "info", 0, 0,
      "error, warn, info or debug" },
    { "key-file", CFG_STRING, OFF(key_file), "", 0, 0,
      "the broker's CURVE secret key file (excerpt keygen); with it every "
      "socket is encrypted and only allow-listed keys get in" },
    { "allow", CFG_STRING, OFF(allow), "", 0, 0,
      "allow-list: a file of \"ROLE KEY [NAME]\" lines or a directory of "
      "NAME.pub files with role lines; reread on SIGHUP" },
    { "insecure", CFG_BOOL, OFF(insecure), "false", 0, 0,
      "allow binding non-loopback endpoints without keys: anyone who can "
      "reach them can submit, read and forge results" },
    { "metrics", CFG_STRING, OFF(metrics), "", 0, 0,
      "HTTP endpoint HOST:PORT for /metrics (Prometheus), /healthz and "
      "/readyz, e.g. 127.0.0.1:9440; port 0 picks a free one (logged); "
      "empty: off" },
    { "metrics-token-file", CFG_STRING, OFF(metrics_token_file), "", 0, 0,
      "file holding a bearer token that /metrics requires; needed to bind "
      "metrics off loopback" },
    { "metrics-insecure", CFG_BOOL, OFF(metrics_insecure), "false", 0, 0,
      "allow metrics off loopback without a token (logged as a warning)" },
    { "health-stall-ms", CFG_MS, OFF(health_stall_ms), "5s", 200, 3600000,
      "/healthz fails when the broker loop has not ticked for this long" },
};
const size_t broker_cfg_table_len =
    sizeof broker_cfg_table / sizeof broker_cfg_table[0];

int
broker_cfg_defaults(broker_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    return cfg_defaults(broker_cfg_table, broker_cfg_table_len, cfg);
}

void
broker_cfg_free(broker_cfg_t *cfg)
{
    if (cfg)
        cfg_free(broker_cfg_table, broker_cfg_table_len, cfg);
}

/* ------------------------------------------------------------- types */

/* Frames that precede the Envelope; echoed in the reply. */
typedef struct route {
    size_t n;                 /* frames */
    size_t len[MAX_ROUTE];    /* their sizes */
    uint8_t *data[MAX_ROUTE]; /* their bytes, owned */
} route_t;

enum {
    OP_SUBMIT,
    OP_DONE,
    OP_FAILED,
    OP_EXPIRE,
    OP_DEAD_REQUEUE,
    OP_DEAD_PURGE
};

/* One write waiting for the next group commit. */
typedef struct op {
    int type;           /* OP_* */
    route_t route;      /* where the reply goes (none for OP_EXPIRE) */
    void *sock;         /* socket of the reply */
    uint64_t rid;       /* request_id to echo */
    wire_msg_t msg;     /* the decoded request, owned */
    char *key;          /* default key computed for a Submit, owned */
    uint64_t job_id;    /* Done/Failed/expire: the job */
    uint32_t attempt;   /* Done/Failed/expire: the attempt */
    const char *reason; /* Failed/expire: why (borrowed from msg or static) */
    bool permanent;     /* Failed: no retry */
    bool bad_result;    /* a Done whose result did not parse, now Failed */
    uint64_t delay_ms;  /* Failed/expire: backoff before the retry */
    bool final;         /* outcome decided, skip when (re)applying */
    int rc;             /* outcome */
    uint64_t id;        /* Submit: job id */
    uint64_t assigned;  /* Submit: the id the broker gave it */
    bool predispatched; /* Submit: sent to a worker before its commit */
    bool dup;           /* Submit: key existed */
    bool differs;       /* Submit: key existed with another text (kept) */
    uint64_t seq;       /* Done: commit seq */
    char *done_key;     /* Done: the job's key, owned */
    uint64_t count;     /* dead ops: jobs affected */
    int state;          /* Failed: new state */
    bool batched;       /* the request came in a Batch: reply may be too */
    uint64_t t_us;      /* monotonic arrival (metrics) */
    uint64_t extract_us, total_us; /* Done: its Timings (metrics) */
} op_t;

struct worker;

/* A job leased in memory: dispatch needs no commit. The job stays READY in
 * the store until its Done or Failed commits ("finishing" meanwhile) or
 * its lease expires. */
typedef struct lease {
    uint64_t job_id;      /* leased job; 0 marks an empty slot */
    uint32_t attempt;     /* its attempt */
    uint64_t deadline_ms; /* monotonic expiry */
    struct worker *w;     /* holder; NULL once finishing */
    bool finishing;       /* an op for it waits in the batch */
    uint64_t early_gen;   /* pre-dispatched: batch_gen of its Submit, or 0 */
    uint64_t bytes;       /* text bytes of the job */
    bool held;            /* its answer failed to commit: held back until
                             deadline_ms, then expired (see lease_hold) */
    uint32_t holds;       /* commits of its answer or expiry that failed */
    uint32_t tries;       /* failed tries before this lease (backoff: the
                             attempt number also skips across restarts) */
} lease_t;

/* Open-addressing hash table of leases keyed by job id. */
typedef struct ltab {
    lease_t *slots; /* cap entries */
    size_t cap;     /* power of two */
    size_t n;       /* used */
} ltab_t;

typedef struct worker {
    uint8_t *ident;          /* ROUTER routing id, owned */
    size_t ident_len;        /* its size */
    char name[128];          /* worker_name from Ready */
    uint64_t credit;         /* jobs it may still be sent */
    size_t n_leases;         /* live leases it holds */
    uint64_t bytes;          /* text bytes of those jobs */
    uint64_t last_ms;        /* monotonic time of its last message */
    bool lost;               /* unreachable; removed at the next tick */
    bool batch;              /* its Ready said it reads Batch envelopes */
    bool quarantined;        /* sent an undecodable result: gets no more jobs */
    char key[CURVE_KEY_Z85]; /* its CURVE public key, "" without keys */
    char id[AUTH_ID_SIZE];   /* key id for logs ("name/ABCDEFGH") */
} worker_t;

/* Messages for one peer produced in this pass of the loop; they leave as
 * one frame (a Batch, or the message alone) when the pass ends. */
typedef struct outbox {
    void *sock;         /* front or back */
    route_t route;      /* the peer's routing frames, owned */
    wire_batch_t batch; /* the encoded messages */
} outbox_t;

struct broker {
    broker_cfg_t cfg;           /* owned copy */
    store_t *store;             /* the LMDB store */
    void *ctx;                  /* ZeroMQ context */
    void *front, *back, *pub;   /* sockets */
    bool front_bound;           /* front bound: its ipc file is ours */
    bool back_bound;            /* back bound: likewise */
    bool pub_bound;             /* pub bound: likewise */
    volatile sig_atomic_t stop; /* set by broker_request_stop */
    bool draining;              /* stop seen */
    op_t *ops;                  /* group commit batch */
    size_t n_ops, cap_ops;      /* its size */
    size_t n_submits;           /* Submits in the batch */
    size_t batch_bytes;         /* payload bytes in the batch */
    uint64_t batch_start_us;    /* when the batch got its first item */
    bool batch_open;            /* batch_start_us is valid */
    uint64_t batch_gen;         /* numbers the batches, from 1 */
    size_t batch_early;         /* its pre-dispatched jobs not answered */
    ltab_t leases;              /* jobs out with workers */
    store_counts_t counts;      /* store counters as of the last commit */
    /* The committer thread owns every write txn; the loop hands it a
     * batch (cops) and keeps reading, dispatching and batching while it
     * syncs, so a commit's fsync never stalls the sockets. */
    op_t *cops;              /* batch being committed */
    size_t n_cops, cap_cops; /* its size */
    size_t c_submits;        /* Submits in it */
    bool c_promote;          /* promote due jobs in it */
    uint64_t c_reserve;      /* job ids it reserves up to, or 0 */
    int c_rc;                /* its outcome */
    uint64_t c_us;           /* its duration */
    store_counts_t c_counts; /* counters after it */
    bool committing;         /* the committer has a batch */
    pthread_t committer;     /* the thread */
    bool thread_up;          /* committer started */
    pthread_mutex_t mu;      /* guards work, quit */
    pthread_cond_t cv;       /* signals work, quit */
    bool work, quit;         /* hand-over flags */
    atomic_bool c_finished;  /* committer done and its wake-up written */
    int wake[2];             /* pipe: committer -> loop "done" */
    worker_t **workers;      /* known workers */
    size_t n_workers, cap_workers;
    size_t rr;        /* round-robin start for dispatch */
    bool promote_due; /* a delayed job is due */
    /* Every READY entry before ready_from is leased (dispatch starts its
     * scan there): valid while ready_from_ok. A commit that may put an
     * entry before it, or end a lease whose entry stays, clears it. */
    store_ready_pos_t ready_from;
    bool ready_from_ok;
    uint64_t next_tick_ms; /* monotonic time of the next tick */
    uint64_t rng;          /* jitter state */
    uint64_t out_rid;      /* request ids of broker-initiated msgs */
    /* Job ids are given out by the loop as a Submit arrives. Ids up to
     * id_durable are reserved in the store (store_reserve_ids), so a job
     * with such an id can go to a worker before its Submit commits: after
     * a crash no other job ever gets that id, and a late Done for it finds
     * no job. */
    uint64_t next_id;           /* id of the next Submit */
    uint64_t id_durable;        /* ids <= this are reserved, committed */
    uint64_t id_asked;          /* highest reservation in a commit so far */
    size_t n_early;             /* leases of jobs whose Submit is uncommitted */
    uint64_t start_ms;          /* monotonic start time */
    uint64_t submitted_total;   /* new jobs accepted since start */
    uint64_t committed_total;   /* results committed since start */
    uint64_t rejected_total;    /* requests rejected since start */
    outbox_t out[MAX_OUTBOXES]; /* peers with batched messages waiting */
    size_t n_out;               /* outboxes in use */
    bool cur_batched;           /* the request in hand came in a Batch */
    char *topics[MAX_TOPICS];   /* publisher subscriptions (XPUB) */
    size_t topic_len[MAX_TOPICS]; /* their lengths */
    size_t n_topics;              /* their count */
    bool topics_full;             /* more than MAX_TOPICS: publish all */
    auth_t *auth;                 /* allow-list and ZAP; NULL without keys */
    curve_pair_t keys;            /* the broker's key pair (with auth) */
    volatile sig_atomic_t reload; /* set by broker_request_reload */
    /* The peer of the message in hand, as authenticated by its handshake
     * (every role and no key when the broker runs without keys). */
    int cur_role;                /* AUTH_* bits */
    char cur_key[CURVE_KEY_Z85]; /* its public key, or "" */
    char cur_id[AUTH_ID_SIZE];   /* key id for logs */
    const zmq_msg_t *cur_env;    /* its frame (for its address) */
    bool pub_failed;             /* the publisher could not be rebound */
    metrics_t *metrics;          /* counters and the HTTP endpoint */
    bool fatal;                  /* the store is unusable: exit */
    uint64_t wall0_ms;           /* wall clock at open ... */
    uint64_t mono0_ms;           /* ... and the monotonic clock then */
    log_rate_t commit_log;       /* limits "group commit failed" lines */
    log_rate_t held_log;         /* limits held-answer retry lines */
    log_rate_t done_log;         /* limits "done not committed" lines */
};

/* ----------------------------------------------------------- helpers */

/* The broker's wall clock: the wall time at open advanced by the
 * monotonic clock. Retry times (DELAYED until) are wall times, stored to
 * survive a restart, and are compared with this clock, so a jump of the
 * system clock while the broker runs neither fires retries early nor
 * holds them back; only a restart reads the wall clock again. */
static uint64_t
clock_ms(const broker_t *b)
{
    return b->wall0_ms + (now_mono_ms() - b->mono0_ms);
}

static uint64_t
rand_next(broker_t *b)
{
    uint64_t x = b->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b->rng = x;
    return x;
}

static void
route_free(route_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->data[i]);
    r->n = 0;
}

static void
route_copy(route_t *dst, const route_t *src)
{
    dst->n = src->n;
    for (size_t i = 0; i < src->n; i++) {
        dst->len[i] = src->len[i];
        dst->data[i] = xmalloc(src->len[i] ? src->len[i] : 1);
        memcpy(dst->data[i], src->data[i], src->len[i]);
    }
}

/* Log a failed send (errno tells why); returns its ERR_* code. */
static int
send_failed(int kind)
{
    int e = errno;
    log_warn("broker send failed kind=%s: %s", wire_kind_name(kind),
             zmq_strerror(e));
    return e == EHOSTUNREACH ? ERR_CLOSED : e == EAGAIN ? ERR_AGAIN : ERR_IO;
}

/* Send route frames then the len bytes at mem + off, an encoded envelope
 * of kind (for logs); mem is malloc'd and its ownership passes to this
 * call. Returns 0 or ERR_CLOSED (peer gone) / ERR_AGAIN (queue full) /
 * ERR_IO; logs. */
static int
send_at(void *sock, const route_t *rt, uint8_t *mem, size_t off, size_t len,
        int kind)
{
    for (size_t i = 0; i < rt->n; i++) {
        if (zmq_send(sock, rt->data[i], rt->len[i],
                     ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
            int rc = send_failed(kind);
            free(mem);
            return rc;
        }
    }
    if (wire_zsend(sock, mem, off, len, ZMQ_DONTWAIT) != ERR_OK)
        return send_failed(kind);
    return ERR_OK;
}

static bool
route_equal(const route_t *a, const route_t *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->len[i] != b->len[i] || memcmp(a->data[i], b->data[i], a->len[i]))
            return false;
    return true;
}

static worker_t *worker_find(broker_t *b, const route_t *rt);

/* Whether the peer at rt on sock reads Batch envelopes: a worker whose
 * Ready said so, or a client whose request in hand came in a Batch. */
static bool
peer_batches(broker_t *b, void *sock, const route_t *rt)
{
    if (sock == b->back) {
        worker_t *w = worker_find(b, rt);
        return w && w->batch;
    }
    return b->cur_batched;
}

/* send_at for a whole buffer. */
static int
send_buf(void *sock, const route_t *rt, uint8_t *buf, size_t len, int kind)
{
    return send_at(sock, rt, buf, 0, len, kind);
}

/* Send what o holds as one frame and empty it. A worker that cannot be
 * reached is marked lost (its leases expire at the next tick). */
static void
outbox_send(broker_t *b, outbox_t *o)
{
    if (o->batch.n == 0)
        return;
    uint8_t *mem = NULL;
    size_t off = 0, len = 0;
    int kind = o->batch.n > 1 ? WIRE_BATCH : WIRE_NONE;
    if (wire_batch_take(&o->batch, &mem, &off, &len) != ERR_OK)
        return;
    if (send_at(o->sock, &o->route, mem, off, len, kind) != ERR_OK &&
        o->sock == b->back) {
        worker_t *w = worker_find(b, &o->route);
        if (w)
            w->lost = true;
    }
}

/* End of a loop pass: send every outbox. */
static void
flush_out(broker_t *b)
{
    for (size_t i = 0; i < b->n_out; i++) {
        outbox_send(b, &b->out[i]);
        route_free(&b->out[i].route);
    }
    b->n_out = 0;
}

/* The outbox of the peer at rt on sock, with room for a message of len
 * bytes (what it held goes out first if the frame would pass OUT_BYTES). */
static outbox_t *
outbox_for(broker_t *b, void *sock, const route_t *rt, size_t len)
{
    outbox_t *o = NULL;
    for (size_t i = 0; i < b->n_out && !o; i++)
        if (b->out[i].sock == sock && route_equal(&b->out[i].route, rt))
            o = &b->out[i];
    if (!o) {
        if (b->n_out == MAX_OUTBOXES)
            flush_out(b);
        o = &b->out[b->n_out++];
        o->sock = sock;
        route_copy(&o->route, rt);
        wire_batch_init(&o->batch);
    }
    if (o->batch.n > 0 && wire_batch_bytes(&o->batch) + len > OUT_BYTES)
        outbox_send(b, o);
    return o;
}

/* The outbox a message goes to (wire_encode_into's room). */
typedef struct room {
    broker_t *b;       /* the broker */
    void *sock;        /* front or back */
    const route_t *rt; /* the peer */
} room_t;

static wire_batch_t *
room_of(void *ud, size_t n)
{
    room_t *r = ud;
    return &outbox_for(r->b, r->sock, r->rt, n)->batch;
}

/* Encode m for the peer at rt: straight into its outbox when it reads
 * Batches, else into a buffer sent at once (as send_buf). */
static int
send_msg(broker_t *b, void *sock, const route_t *rt, const wire_msg_t *m)
{
    int rc;
    if (peer_batches(b, sock, rt)) {
        room_t r = { b, sock, rt };
        rc = wire_encode_into(m, room_of, &r);
    } else {
        uint8_t *buf = NULL;
        size_t len = 0;
        rc = wire_encode(m, &buf, &len);
        if (rc == ERR_OK)
            return send_buf(sock, rt, buf, len, m->kind);
    }
    if (rc)
        log_error("broker encode failed kind=%s: %s", wire_kind_name(m->kind),
                  err_str(rc));
    return rc;
}

static void
reject(broker_t *b, void *sock, const route_t *rt, uint64_t rid, int code,
       const char *reason, uint32_t retry_after_ms)
{
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_REJECTED;
    m.request_id = rid;
    m.u.rejected.code = code;
    m.u.rejected.reason = reason;
    m.u.rejected.retry_after_ms = retry_after_ms;
    m.u.rejected.batch = true; /* tells a peer this broker reads Batches */
    b->rejected_total++;
    metrics_rejected(b->metrics, code);
    log_debug("broker rejected code=%s reason=\"%s\"", wire_code_name(code),
              reason);
    (void)send_msg(b, sock, rt, &m);
}

static int
code_of_decode(int rc)
{
    switch (rc) {
    case ERR_VERSION:
        return WIRE_CODE_BAD_VERSION;
    case ERR_TOOBIG:
        return WIRE_CODE_TOO_LARGE;
    case ERR_UTF8:
        return WIRE_CODE_BAD_UTF8;
    default:
        return WIRE_CODE_INVALID;
    }
}

static const char *
reason_of_decode(int rc)
{
    switch (rc) {
    case ERR_VERSION:
        return "unsupported protocol version (this broker speaks 1)";
    case ERR_TOOBIG:
        return "message or text over the size limit";
    case ERR_UTF8:
        return "text is not valid UTF-8";
    default:
        return "malformed envelope or message";
    }
}

/* Read one multipart message: route frames and the last frame (the
 * Envelope) into *env (caller closes). Returns 1, 0 (nothing), -1 error.
 * Messages with too many frames are drained and reported as garbage by
 * an empty env. */
static int
recv_msg(void *sock, route_t *rt, zmq_msg_t *env)
{
    zmq_msg_t part;
    int more = 0;
    size_t nframes = 0;
    rt->n = 0;
    zmq_msg_init(env);
    for (;;) {
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, nframes ? 0 : ZMQ_DONTWAIT) < 0) {
            int e = errno;
            zmq_msg_close(&part);
            if (nframes == 0 && (e == EAGAIN || e == EINTR))
                return 0;
            route_free(rt);
            log_error("broker recv failed: %s", zmq_strerror(e));
            return -1;
        }
        nframes++;
        more = zmq_msg_more(&part);
        if (!more) {
            zmq_msg_move(env, &part);
            zmq_msg_close(&part);
            return 1;
        }
        if (rt->n < MAX_ROUTE) {
            size_t n = zmq_msg_size(&part);
            rt->len[rt->n] = n;
            rt->data[rt->n] = xmalloc(n ? n : 1);
            memcpy(rt->data[rt->n], zmq_msg_data(&part), n);
            rt->n++;
        }
        zmq_msg_close(&part);
    }
}

/* ------------------------------------------------------------ workers */

static worker_t *
worker_find(broker_t *b, const route_t *rt)
{
    if (rt->n == 0)
        return NULL;
    for (size_t i = 0; i < b->n_workers; i++) {
        worker_t *w = b->workers[i];
        if (w->ident_len == rt->len[0] &&
            memcmp(w->ident, rt->data[0], rt->len[0]) == 0)
            return w;
    }
    return NULL;
}

static worker_t *
worker_add(broker_t *b, const route_t *rt)
{
    worker_t *w = xcalloc(1, sizeof *w);
    w->ident_len = rt->len[0];
    w->ident = xmalloc(w->ident_len ? w->ident_len : 1);
    memcpy(w->ident, rt->data[0], w->ident_len);
    snprintf(w->name, sizeof w->name, "?");
    w->last_ms = now_mono_ms();
    if (b->n_workers == b->cap_workers) {
        b->cap_workers = b->cap_workers ? b->cap_workers * 2 : 8;
        b->workers =
            xreallocarray(b->workers, b->cap_workers, sizeof *b->workers);
    }
    b->workers[b->n_workers++] = w;
    return w;
}

static void
worker_free(worker_t *w)
{
    free(w->ident);
    free(w);
}

static size_t
lt_slot(const ltab_t *t, uint64_t id)
{
    return (size_t)((id * 0x9e3779b97f4a7c15u) >> 32) & (t->cap - 1);
}

static lease_t *
lt_find(ltab_t *t, uint64_t id)
{
    if (!t->cap)
        return NULL;
    for (size_t i = lt_slot(t, id);; i = (i + 1) & (t->cap - 1)) {
        if (t->slots[i].job_id == id)
            return &t->slots[i];
        if (t->slots[i].job_id == 0)
            return NULL;
    }
}

static lease_t *
lt_insert(ltab_t *t, uint64_t id)
{
    if ((t->n + 1) * 2 > t->cap) {
        ltab_t g = { xcalloc(t->cap ? t->cap * 2 : 64, sizeof(lease_t)),
                     t->cap ? t->cap * 2 : 64, 0 };
        for (size_t i = 0; i < t->cap; i++)
            if (t->slots[i].job_id)
                *lt_insert(&g, t->slots[i].job_id) = t->slots[i];
        free(t->slots);
        *t = g;
    }
    size_t i = lt_slot(t, id);
    while (t->slots[i].job_id && t->slots[i].job_id != id)
        i = (i + 1) & (t->cap - 1);
    if (!t->slots[i].job_id)
        t->n++;
    memset(&t->slots[i], 0, sizeof t->slots[i]);
    t->slots[i].job_id = id;
    return &t->slots[i];
}

/* Remove by backward shift, so lookups need no tombstones. */
static void
lt_remove(ltab_t *t, lease_t *l)
{
    size_t i = (size_t)(l - t->slots), mask = t->cap - 1;
    for (size_t j = (i + 1) & mask; t->slots[j].job_id; j = (j + 1) & mask) {
        size_t home = lt_slot(t, t->slots[j].job_id);
        /* move j back to i unless its home lies cyclically in (i, j] */
        bool stay = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stay) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    memset(&t->slots[i], 0, sizeof t->slots[i]);
    t->n--;
}

/* Record lease l (of a job with bytes of text) as held by w. */
static void
lease_give(lease_t *l, worker_t *w, uint64_t bytes)
{
    l->w = w;
    l->bytes = bytes;
    w->n_leases++;
    w->bytes += bytes;
}

/* Undo lease_give: l no longer counts against its holder, if any. */
static void
lease_take(lease_t *l)
{
    worker_t *w = l->w;
    if (w && w->n_leases) {
        w->n_leases--;
        w->bytes -= l->bytes < w->bytes ? l->bytes : w->bytes;
    }
    l->w = NULL;
}

/* Mark a live lease finishing: it no longer counts against its worker. */
static void
lease_finish(broker_t *b, lease_t *l)
{
    if (l->early_gen && l->early_gen == b->batch_gen && b->batch_early)
        b->batch_early--; /* its Submit can now commit with the answer */
    l->early_gen = 0;
    if (!l->finishing)
        lease_take(l);
    l->finishing = true;
    l->w = NULL;
}

/* ---------------------------------------------------------------- ops */

static op_t *
op_push(broker_t *b, int type)
{
    if (b->n_ops == b->cap_ops) {
        b->cap_ops = b->cap_ops ? b->cap_ops * 2 : 64;
        b->ops = xreallocarray(b->ops, b->cap_ops, sizeof *b->ops);
    }
    op_t *op = &b->ops[b->n_ops++];
    memset(op, 0, sizeof *op);
    op->type = type;
    op->batched = b->cur_batched;
    op->t_us = now_mono_us();
    if (!b->batch_open) {
        b->batch_open = true;
        b->batch_start_us = now_mono_us();
    }
    return op;
}

static void
op_free(op_t *op)
{
    route_free(&op->route);
    wire_msg_release(&op->msg);
    free(op->key);
    free(op->done_key);
}

static uint64_t
backoff_ms(broker_t *b, uint32_t attempt)
{
    uint64_t d = b->cfg.retry_base_ms;
    for (uint32_t i = 1; i < attempt && d < b->cfg.retry_max_ms; i++)
        d *= 2;
    if (d > b->cfg.retry_max_ms)
        d = b->cfg.retry_max_ms;
    /* jitter: somewhere in [d/2, d] so retries of a burst spread out */
    return d / 2 + (d ? rand_next(b) % (d / 2 + 1) : 0);
}

/* End lease l: its attempt failed for why (static), committed as an
 * expiry that delays the job. */
static void
expire_quiet(broker_t *b, lease_t *l, const char *why)
{
    op_t *op = op_push(b, OP_EXPIRE);
    op->job_id = l->job_id;
    op->attempt = l->attempt;
    op->reason = why;
    op->delay_ms = backoff_ms(b, l->tries + 1);
    lease_finish(b, l);
}

static void
expire(broker_t *b, lease_t *l, const char *why)
{
    expire_quiet(b, l, why);
    log_info("broker lease lost job=%llu attempt=%u reason=\"%s\"",
             (unsigned long long)l->job_id, l->attempt, why);
}

/* Does the stored text of job id differ from job's? Read in the open txn;
 * a payload that cannot be read counts as not differing (the Accepted is
 * what it was before the flag existed). */
static bool
text_differs(broker_t *b, uint64_t id, const wire_job_t *job)
{
    const uint8_t *stored, *text;
    size_t stored_len, text_len;
    if (store_payload_raw(b->store, id, &stored, &stored_len) ||
        wire_submit_text(stored, stored_len, &text, &text_len))
        return false;
    return text_len != job->text_len || memcmp(text, job->text, text_len);
}

/* The answer (or expiry) of lease l did not commit, for a store reason
 * (full, I/O): its attempt is not recorded. Dispatching the job again at
 * once would reuse the attempt and, on a full disk, loop hot. It stays
 * held here, away from dispatch, and after a growing backoff its expiry
 * (which records the attempt and delays the job) is committed. */
static void
lease_hold(broker_t *b, lease_t *l)
{
    l->finishing = false;
    l->w = NULL;
    l->held = true;
    l->holds++;
    l->deadline_ms = now_mono_ms() + backoff_ms(b, l->holds);
}

/* Apply one op inside the open txn; sets op->rc. */
static void
op_apply(broker_t *b, op_t *op, uint64_t now)
{
    switch (op->type) {
    case OP_SUBMIT: {
        wire_job_t job = op->msg.u.submit.job;
        if (op->key)
            job.key = op->key;
        job.id = op->assigned;
        op->rc = store_submit(b->store, &job, now, &op->id, &op->dup);
        if (op->rc == 0 && op->dup)
            op->differs = text_differs(b, op->id, &job);
        break;
    }
    case OP_DONE: {
        store_done_t d;
        op->rc =
            store_done(b->store, op->job_id, op->attempt, op->msg.u.done.result,
                       op->msg.u.done.result_len, NULL, now, &d);
        if (op->rc == 0) {
            op->seq = d.seq;
            op->done_key = d.key;
            op->extract_us = d.extract_us;
            op->total_us = d.total_us;
            break;
        }
        if (op->rc != ERR_INVAL)
            break;
        /* the result bytes do not parse (store_done wrote nothing): the
         * attempt failed */
        log_warn("broker undecodable result job=%llu attempt=%u",
                 (unsigned long long)op->job_id, op->attempt);
        op->type = OP_FAILED;
        op->reason = "worker sent an undecodable result";
        op->permanent = false;
        op->bad_result = true;
    }
        /* fall through */
    case OP_FAILED:
    case OP_EXPIRE:
        /* an undecodable result is the worker's fault, and that worker
         * gets no more jobs (op_reply): it never dead-letters the job */
        op->rc = store_fail(
            b->store, op->job_id, op->attempt, op->reason, op->permanent,
            op->bad_result ? UINT32_MAX : (uint32_t)b->cfg.max_attempts,
            now + op->delay_ms, now, &op->state);
        break;
    case OP_DEAD_REQUEUE:
    case OP_DEAD_PURGE: {
        bool rq = op->type == OP_DEAD_REQUEUE;
        if (op->msg.u.dead_ids.all) {
            op->rc = rq ? store_dead_requeue_all(b->store, now, &op->count)
                        : store_dead_purge_all(b->store, &op->count);
            break;
        }
        op->rc = 0;
        for (size_t i = 0; i < op->msg.u.dead_ids.n; i++) {
            uint64_t id = op->msg.u.dead_ids.job_ids[i];
            int rc = rq ? store_dead_requeue(b->store, id, now)
                        : store_dead_purge(b->store, id);
            if (rc == 0) {
                op->count++;
            } else if (rc != ERR_NOTFOUND) {
                op->rc = rc;
                break;
            }
        }
        break;
    }
    }
}

static void
op_reset(op_t *op)
{
    if (op->final)
        return;
    op->rc = 0;
    op->id = 0;
    op->dup = false;
    op->differs = false;
    op->seq = 0;
    free(op->done_key);
    op->done_key = NULL;
    op->count = 0;
}

/* READY jobs in the store that no worker holds. */
static uint64_t
available(broker_t *b)
{
    const store_counts_t *c = &b->counts;
    uint64_t out = b->leases.n > b->n_early ? b->leases.n - b->n_early : 0;
    return c->ready > out ? c->ready - out : 0;
}

/* Can w take another job: credit left, reachable, and holding less than
 * max-worker-bytes of text (or nothing: one job of any size always goes).
 * The byte bound keeps a large prefetch credit from piling big texts into
 * one worker's memory. */
static bool
worker_open(const broker_t *b, const worker_t *w)
{
    return w->credit > 0 && !w->lost && !w->quarantined &&
           (w->n_leases == 0 || w->bytes < b->cfg.max_worker_bytes);
}

static bool
can_dispatch(broker_t *b)
{
    if (b->draining || available(b) == 0)
        return false;
    for (size_t i = 0; i < b->n_workers; i++)
        if (worker_open(b, b->workers[i]))
            return true;
    return false;
}
/* Lease jobs round-robin to workers with credit (inside the txn).
 * Returns 0, or ERR_AGAIN (redo the flush). */
typedef struct pick {
    broker_t *b;            /* the broker */
    uint64_t *ids;          /* picked job ids */
    size_t n, max;          /* picked, wanted */
    store_ready_pos_t last; /* last of the leased entries the scan began with */
    bool have_last;         /* there were some */
} pick_t;

static int
pick_cb(void *arg, uint64_t id, const store_ready_pos_t *pos)
{
    pick_t *p = arg;
    if (lt_find(&p->b->leases, id)) {
        if (p->n == 0) {
            p->last = *pos;
            p->have_last = true;
        }
        return 0; /* out already, or its Done is being committed */
    }
    p->ids[p->n++] = id;
    return p->n >= p->max;
}

/* The routing frame of worker w (borrowed). */
static route_t
worker_route(const worker_t *w)
{
    route_t rt;
    rt.n = 1;
    rt.len[0] = w->ident_len;
    rt.data[0] = w->ident;
    return rt;
}

/* Lease job id (attempt, bytes of text) to w and send it buf, its
 * encoded Dispatch (owned by this call), or with buf NULL, the Dispatch
 * the caller put in w's outbox (a worker that reads Batches). Returns the
 * lease. */
static lease_t *
lease_out(broker_t *b, worker_t *w, uint64_t id, uint32_t attempt,
          uint64_t bytes, uint8_t *buf, size_t len)
{
    lease_t *l = lt_insert(&b->leases, id);
    l->attempt = attempt;
    l->deadline_ms = now_mono_ms() + b->cfg.lease_ms;
    lease_give(l, w, bytes);
    w->credit--;
    route_t rt = worker_route(w);
    if (buf && send_buf(b->back, &rt, buf, len, WIRE_DISPATCH) != 0)
        w->lost = true; /* its leases expire at the next tick */
    else
        log_debug("broker dispatched job=%llu attempt=%u worker=%s",
                  (unsigned long long)id, attempt, w->name);
    return l;
}

static worker_t *
next_worker(broker_t *b)
{
    for (size_t k = 0; k < b->n_workers; k++) {
        worker_t *w = b->workers[(b->rr + k) % b->n_workers];
        if (worker_open(b, w)) {
            b->rr = (b->rr + k + 1) % b->n_workers;
            return w;
        }
    }
    return NULL;
}

static void reap_commit(broker_t *b, bool block);
static void start_commit(broker_t *b);
static bool batch_due(broker_t *b, uint64_t now_us);

/* The committer is the pipeline's one serial stage (its fsync): once it
 * is free, finish its group and hand it the next one at once, from inside
 * long stretches of loop work too (reading a backlog, dispatching). */
static void
service_commit(broker_t *b)
{
    if (!b->committing ||
        !atomic_load_explicit(&b->c_finished, memory_order_acquire))
        return;
    reap_commit(b, false);
    if (!b->committing && b->batch_open && batch_due(b, now_mono_us()))
        start_commit(b);
}

/* Lease READY jobs in memory to workers with credit, round-robin, and send
 * them. Reads the store only; attempts continue from the recorded one
 * (store_lease_attempt). */
static void
dispatch(broker_t *b)
{
    uint64_t credit = 0, avail = available(b);
    for (size_t i = 0; i < b->n_workers; i++)
        if (!b->workers[i]->lost)
            credit += b->workers[i]->credit;
    size_t want = (size_t)(credit < avail ? credit : avail);
    if (want > LEASES_PER_FLUSH)
        want = LEASES_PER_FLUSH;
    if (want == 0 || store_read_begin(b->store) != 0)
        return;
    pick_t p = {
        b, xcalloc(want, sizeof(uint64_t)), 0, want, { { 0 } }, false
    };
    /* the leased entries at the head of the queue are skipped once, not
     * at every pass: the scan starts after those it skipped last time */
    int rc = store_ready_scan_from(
        b->store, b->ready_from_ok ? &b->ready_from : NULL, pick_cb, &p);
    if (rc < 0)
        log_error("broker ready scan failed: %s", err_str(rc));
    else if (p.have_last) {
        b->ready_from = p.last;
        b->ready_from_ok = true;
    }
    for (size_t i = 0; i < p.n; i++) {
        store_job_t j;
        const uint8_t *stored = NULL;
        size_t stored_len = 0;
        uint8_t *buf = NULL;
        size_t len = 0;
        worker_t *w = next_worker(b);
        if (!w)
            break;
        rc = store_get(b->store, p.ids[i], &j);
        if (rc == 0)
            rc = store_payload_raw(b->store, p.ids[i], &stored, &stored_len);
        /* never an attempt an earlier run may have handed out */
        uint32_t att = rc == 0 ? store_lease_attempt(b->store, &j) : 0;
        /* the stored Submit's Job goes out as it is, not re-encoded; to a
         * worker that reads Batches, straight into its outbox */
        if (rc == 0 && w->batch) {
            route_t rt = worker_route(w);
            rc = wire_splice_dispatch_batch(
                stored, stored_len, ++b->out_rid, att,
                (uint32_t)b->cfg.lease_ms,
                &outbox_for(b, b->back, &rt, stored_len + 64)->batch);
        } else if (rc == 0) {
            rc = wire_splice_dispatch(stored, stored_len, ++b->out_rid, att,
                                      (uint32_t)b->cfg.lease_ms, &buf, &len);
        }
        if (rc) {
            log_error("broker cannot read job=%llu: %s",
                      (unsigned long long)p.ids[i], err_str(rc));
            continue;
        }
        lease_out(b, w, j.id, att, j.text_bytes, buf, len)->tries = j.tries;
        if (i % 16 == 15)
            service_commit(b);
    }
    store_read_end(b->store);
    free(p.ids);
}
static void
count_commit(broker_t *b)
{
    b->committed_total++;
}

static void
send_done_ack(broker_t *b, op_t *op, int code)
{
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_DONE_ACK;
    m.request_id = op->rid;
    m.u.done_ack.job_id = op->job_id;
    m.u.done_ack.attempt = op->attempt;
    m.u.done_ack.code = code;
    (void)send_msg(b, b->back, &op->route, &m);
}

static int
code_of_store(int rc)
{
    switch (rc) {
    case ERR_FULL:
    case ERR_NOSPACE:
        return WIRE_CODE_STORE_FULL;
    case ERR_STALE:
    case ERR_NOTFOUND:
    case ERR_EXISTS:
        return WIRE_CODE_NOT_FOUND;
    case ERR_INVAL:
        return WIRE_CODE_INVALID;
    default:
        return WIRE_CODE_INTERNAL;
    }
}

/* The worker that sent op's undecodable result is broken (a bad build,
 * memory corruption, a forger): it keeps its connection and its other
 * leases but gets no further job, so it cannot burn jobs' attempts. */
static void
quarantine(broker_t *b, const op_t *op)
{
    worker_t *w = worker_find(b, &op->route);
    if (!w || w->quarantined)
        return;
    w->quarantined = true;
    log_error("broker worker quarantined worker=%s key=%s job=%llu "
              "reason=\"undecodable result\": it gets no more jobs until it "
              "reconnects",
              w->name, w->id, (unsigned long long)op->job_id);
}

/* Send the outcome of one op after the commit (or its failure). */
static void
op_reply(broker_t *b, op_t *op)
{
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.request_id = op->rid;
    b->cur_batched = op->batched;
    switch (op->type) {
    case OP_SUBMIT:
        if (op->rc == 0) {
            m.kind = WIRE_ACCEPTED;
            m.u.accepted.job_id = op->id;
            m.u.accepted.duplicate = op->dup;
            m.u.accepted.text_differs = op->differs;
            if (!op->dup)
                b->submitted_total++;
            metrics_accepted(b->metrics, op->dup, now_mono_us() - op->t_us);
            log_debug("broker accepted job=%llu dup=%d differs=%d",
                      (unsigned long long)op->id, op->dup, op->differs);
            (void)send_msg(b, b->front, &op->route, &m);
        } else if (op->rc == ERR_FULL) {
            reject(b, b->front, &op->route, op->rid, WIRE_CODE_STORE_FULL,
                   "store at its map size limit", RETRY_STORE_FULL_MS);
        } else if (op->rc == ERR_NOSPACE) {
            reject(b, b->front, &op->route, op->rid, WIRE_CODE_STORE_FULL,
                   "filesystem full", RETRY_STORE_FULL_MS);
        } else {
            reject(b, b->front, &op->route, op->rid, code_of_store(op->rc),
                   err_str(op->rc),
                   code_of_store(op->rc) == WIRE_CODE_INTERNAL
                       ? RETRY_INTERNAL_MS
                       : 0);
        }
        break;
    case OP_DONE:
        if (op->rc == 0) {
            count_commit(b);
            metrics_result(b->metrics, op->extract_us, op->total_us);
            log_debug("broker committed job=%llu attempt=%u seq=%llu",
                      (unsigned long long)op->job_id, op->attempt,
                      (unsigned long long)op->seq);
        } else if (op->rc == ERR_STALE || op->rc == ERR_NOTFOUND ||
                   op->rc == ERR_EXISTS) {
            log_info("broker done not counted job=%llu attempt=%u: %s",
                     (unsigned long long)op->job_id, op->attempt,
                     err_str(op->rc));
        } else {
            unsigned long long n = 0;
            if (log_rate_allow(&b->done_log, 10000, &n))
                log_warn("broker done not committed job=%llu attempt=%u: %s "
                         "(%llu more since the last such line)",
                         (unsigned long long)op->job_id, op->attempt,
                         err_str(op->rc), n);
        }
        send_done_ack(b, op,
                      op->rc == 0 ? WIRE_CODE_OK : code_of_store(op->rc));
        break;
    case OP_FAILED:
        if (op->bad_result)
            quarantine(b, op);
        if (op->rc == 0)
            metrics_failed(b->metrics, op->state == STORE_DEAD);
        if (op->rc == 0)
            log_info("broker job failed job=%llu attempt=%u state=%s "
                     "reason=\"%s\"",
                     (unsigned long long)op->job_id, op->attempt,
                     wire_job_state_name(op->state), op->reason);
        /* a Done turned into a failure was not stored: say so */
        send_done_ack(b, op,
                      op->rc != 0      ? code_of_store(op->rc)
                      : op->bad_result ? WIRE_CODE_INVALID
                                       : WIRE_CODE_OK);
        break;
    case OP_EXPIRE:
        if (op->rc == 0)
            metrics_failed(b->metrics, op->state == STORE_DEAD);
        if (op->rc == 0 && op->state == STORE_DEAD)
            log_warn("broker job dead-lettered job=%llu attempt=%u",
                     (unsigned long long)op->job_id, op->attempt);
        break;
    case OP_DEAD_REQUEUE:
    case OP_DEAD_PURGE:
        log_info("broker admin action=%s done count=%llu rc=%s",
                 op->type == OP_DEAD_REQUEUE ? "requeue" : "purge",
                 (unsigned long long)op->count, err_str(op->rc));
        if (op->rc == 0) {
            m.kind = WIRE_DEAD_REPLY;
            m.u.dead_reply.count = op->count;
            (void)send_msg(b, b->front, &op->route, &m);
        } else {
            reject(b, b->front, &op->route, op->rid, code_of_store(op->rc),
                   err_str(op->rc), RETRY_STORE_FULL_MS);
        }
        break;
    }
    b->cur_batched = false;
}

/* ---------------------------------------------------------- publisher */

#define TOPIC_ONE "committed" /* one Committed per result */
#define TOPIC_GROUP "group"   /* the Committed of one group commit */

/* A subscription message from the XPUB socket: byte 1 (subscribe) or 0
 * (unsubscribe), then the topic prefix. XPUB passes on the first
 * subscription to a prefix and the last unsubscription only. */
static void
topic_update(broker_t *b, const uint8_t *d, size_t n)
{
    if (n < 1 || d[0] > 1)
        return;
    const char *t = (const char *)d + 1;
    size_t tl = n - 1;
    for (size_t i = 0; i < b->n_topics; i++) {
        if (b->topic_len[i] != tl || memcmp(b->topics[i], t, tl))
            continue;
        if (d[0] == 0) {
            free(b->topics[i]);
            b->topics[i] = b->topics[b->n_topics - 1];
            b->topic_len[i] = b->topic_len[b->n_topics - 1];
            b->n_topics--;
        }
        return;
    }
    if (d[0] == 0)
        return;
    if (b->n_topics == MAX_TOPICS) {
        b->topics_full = true; /* can no longer tell: publish everything */
        return;
    }
    b->topics[b->n_topics] = xmalloc(tl ? tl : 1);
    memcpy(b->topics[b->n_topics], t, tl);
    b->topic_len[b->n_topics++] = tl;
}

/* Take in the subscriptions that reached the publisher so far. */
static void
read_subscriptions(broker_t *b)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, b->pub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        topic_update(b, zmq_msg_data(&m), zmq_msg_size(&m));
        zmq_msg_close(&m);
    }
}

/* Whether some subscriber receives topic (its subscription is a prefix). */
static bool
topic_wanted(const broker_t *b, const char *topic)
{
    if (b->topics_full)
        return true;
    size_t n = strlen(topic);
    for (size_t i = 0; i < b->n_topics; i++)
        if (b->topic_len[i] <= n &&
            !memcmp(b->topics[i], topic, b->topic_len[i]))
            return true;
    return false;
}

static void
pub_send(broker_t *b, const char *topic, const uint8_t *buf, size_t len)
{
    if (zmq_send(b->pub, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) <
            0 ||
        zmq_send(b->pub, buf, len, ZMQ_DONTWAIT) < 0)
        log_warn("broker publish failed topic=%s: %s", topic,
                 zmq_strerror(errno));
}

static wire_batch_t *
group_room(void *ud, size_t n)
{
    (void)n;
    return ud;
}

/* After a commit: its results on the topics somebody subscribed to, one
 * message per result ("committed") and one frame for the group ("group"). */
static void
publish(broker_t *b)
{
    read_subscriptions(b);
    bool one = topic_wanted(b, TOPIC_ONE), group = topic_wanted(b, TOPIC_GROUP);
    if (!one && !group)
        return;
    wire_batch_t g;
    wire_batch_init(&g);
    for (size_t i = 0; i < b->n_cops; i++) {
        const op_t *op = &b->cops[i];
        if (op->type != OP_DONE || op->rc != 0)
            continue;
        wire_msg_t m;
        uint8_t *buf = NULL;
        size_t len = 0;
        memset(&m, 0, sizeof m);
        m.kind = WIRE_COMMITTED;
        m.u.committed.seq = op->seq;
        m.u.committed.job_id = op->job_id;
        m.u.committed.key = op->done_key;
        if (!one) { /* the group frame only: no buffer of its own */
            (void)wire_encode_into(&m, group_room, &g);
            continue;
        }
        if (wire_encode(&m, &buf, &len) != 0)
            continue;
        pub_send(b, TOPIC_ONE, buf, len);
        if (group)
            wire_batch_add(&g, buf, len);
        free(buf);
    }
    uint8_t *frame = NULL;
    size_t len = 0;
    if (g.n > 0 && wire_batch_finish(&g, &frame, &len) == ERR_OK) {
        pub_send(b, TOPIC_GROUP, frame, len);
        free(frame);
    }
    wire_batch_free(&g);
}

/* Committer thread: apply the handed-over batch (and due promotions) in
 * one txn and commit it, redoing it while the map grows. At the map limit
 * it retries without the new jobs so that results still land. The first
 * try runs flat (no nested txn per op, see store_txn_begin_flat); if an op
 * fails after writing, the group is redone with one nested txn per op so
 * that the op fails alone. */
static void
commit_ops(broker_t *b)
{
    int rc = 0;
    uint64_t t0 = now_mono_us();
    size_t submits = b->c_submits;
    for (int tries = 0; tries < MAX_FLUSH_TRIES; tries++) {
        uint64_t now = clock_ms(b);
        rc = tries == 0 ? store_txn_begin_flat(b->store)
                        : store_txn_begin(b->store);
        if (rc)
            break;
        bool again = false;
        for (size_t i = 0; i < b->n_cops && !again; i++) {
            op_t *op = &b->cops[i];
            if (op->final)
                continue;
            op_apply(b, op, now);
            again = op->rc == ERR_AGAIN;
        }
        if (!again && b->c_reserve) {
            int rrc = store_reserve_ids(b->store, b->c_reserve);
            again = rrc == ERR_AGAIN;
            if (rrc && !again) {
                log_warn("broker id reservation failed: %s", err_str(rrc));
                b->c_reserve = 0;
            }
        }
        if (!again && b->c_promote) {
            int prc = store_promote_due(b->store, now, PROMOTE_PER_FLUSH, NULL);
            again = prc == ERR_AGAIN;
        }
        if (again) {
            store_txn_abort(b->store);
            for (size_t i = 0; i < b->n_cops; i++)
                op_reset(&b->cops[i]);
            continue;
        }
        rc = store_txn_commit(b->store);
        bool full = rc == ERR_FULL || rc == ERR_NOSPACE;
        if (rc == ERR_AGAIN || (full && submits > 0)) {
            for (size_t i = 0; i < b->n_cops; i++) {
                op_t *op = &b->cops[i];
                op_reset(op);
                if (full && op->type == OP_SUBMIT) {
                    op->final = true;
                    op->rc = rc;
                }
            }
            if (full)
                submits = 0;
            continue;
        }
        break;
    }
    if (rc) {
        for (size_t i = 0; i < b->n_cops; i++) {
            op_t *op = &b->cops[i];
            if (!op->final) {
                op_reset(op);
                op->rc = rc == ERR_AGAIN ? ERR_INTERNAL : rc;
            }
        }
    }
    b->c_rc = rc;
    b->c_us = now_mono_us() - t0;
    store_counts(b->store, &b->c_counts);
}

static void *
committer_main(void *arg)
{
    broker_t *b = arg;
    for (;;) {
        pthread_mutex_lock(&b->mu);
        while (!b->work && !b->quit)
            pthread_cond_wait(&b->cv, &b->mu);
        if (!b->work) {
            pthread_mutex_unlock(&b->mu);
            return NULL;
        }
        pthread_mutex_unlock(&b->mu);
        commit_ops(b);
        pthread_mutex_lock(&b->mu);
        b->work = false;
        pthread_mutex_unlock(&b->mu);
        ssize_t w;
        do {
            w = write(b->wake[1], "c", 1);
        } while (w < 0 && errno == EINTR);
        atomic_store_explicit(&b->c_finished, true, memory_order_release);
    }
}

/* Does the committed group leave every READY entry before ready_from
 * leased? Submits of a priority no higher than its entry's and Dones that
 * committed only remove entries or add them after it; anything else (a
 * failed op or group, Failed, expiry, requeue, promotion) may free one
 * before it or add one there. */
static bool
ready_from_holds(const broker_t *b)
{
    if (!b->ready_from_ok || b->c_rc || b->c_promote)
        return false;
    int prio = store_ready_pos_priority(&b->ready_from);
    for (size_t i = 0; i < b->n_cops; i++) {
        const op_t *op = &b->cops[i];
        if (op->rc != 0)
            return false;
        if (op->type == OP_SUBMIT) {
            if (op->msg.u.submit.job.priority > prio)
                return false;
        } else if (op->type != OP_DONE) {
            return false;
        }
    }
    return true;
}

/* Loop: send every reply, notification and lease update of the batch the
 * committer finished. */
static void
finish_commit(broker_t *b)
{
    unsigned long long n = 0;
    if (b->c_rc && store_is_broken(b->store)) {
        if (!b->fatal)
            log_error("broker exiting: the store is unusable (see the store "
                      "line above); a restart recovers it, nothing committed "
                      "is lost");
        b->fatal = true;
    } else if (b->c_rc && log_rate_allow(&b->commit_log, 10000, &n))
        log_error("broker group commit failed ops=%zu: %s (%llu more failed "
                  "since the last such line)",
                  b->n_cops, err_str(b->c_rc), n);
    else if (!b->c_rc)
        log_debug("broker group commit ops=%zu submits=%zu us=%llu", b->n_cops,
                  b->c_submits, (unsigned long long)b->c_us);
    b->counts = b->c_counts;
    metrics_commit(b->metrics, b->n_cops, b->c_us, b->c_rc);
    if (b->c_rc)
        b->id_asked = b->id_durable; /* ask again with the next batch */
    else if (b->c_reserve > b->id_durable)
        b->id_durable = b->c_reserve;
    for (size_t i = 0; i < b->n_cops; i++) {
        const op_t *op = &b->cops[i];
        if (op->type != OP_SUBMIT)
            continue;
        if (op->predispatched && b->n_early)
            b->n_early--;
    }
    for (size_t i = 0; i < b->n_cops; i++)
        op_reply(b, &b->cops[i]);
    publish(b);
    if (!ready_from_holds(b))
        b->ready_from_ok = false;
    /* committed (or refused): the store now tells these jobs' state */
    for (size_t i = 0; i < b->n_cops; i++) {
        op_t *op = &b->cops[i];
        if (op->type != OP_DONE && op->type != OP_FAILED &&
            op->type != OP_EXPIRE)
            continue;
        lease_t *l = lt_find(&b->leases, op->job_id);
        if (!l || !l->finishing || l->attempt != op->attempt)
            continue;
        if (op->rc == 0 || op->rc == ERR_STALE || op->rc == ERR_NOTFOUND ||
            op->rc == ERR_EXISTS)
            lt_remove(&b->leases, l);
        else
            lease_hold(b, l);
    }
    for (size_t i = 0; i < b->n_cops; i++)
        op_free(&b->cops[i]);
    b->n_cops = 0;
    b->c_submits = 0;
    b->committing = false;
}

/* Loop: hand the current batch to the committer. */
static void
start_commit(broker_t *b)
{
    assert(!b->committing);
    if (b->n_ops == 0 && !b->promote_due) {
        b->batch_open = false;
        return;
    }
    op_t *t = b->cops;
    size_t cap = b->cap_cops;
    b->cops = b->ops;
    b->cap_cops = b->cap_ops;
    b->n_cops = b->n_ops;
    b->ops = t;
    b->cap_ops = cap;
    b->n_ops = 0;
    b->c_submits = b->n_submits;
    b->c_promote = b->promote_due && b->counts.delayed > 0;
    b->c_reserve = 0;
    if (b->next_id + ID_BLOCK / 2 > b->id_asked) {
        b->c_reserve = b->next_id + ID_BLOCK;
        b->id_asked = b->c_reserve;
    }
    b->promote_due = false;
    b->n_submits = 0;
    b->batch_bytes = 0;
    b->batch_open = false;
    b->batch_gen++;
    b->batch_early = 0;
    b->committing = true;
    atomic_store_explicit(&b->c_finished, false, memory_order_relaxed);
    pthread_mutex_lock(&b->mu);
    b->work = true;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

/* Loop: consume the committer's wake-ups and finish its batch. */
static void
reap_commit(broker_t *b, bool block)
{
    char buf[16];
    if (!b->committing)
        return;
    if (block) {
        struct pollfd p = { b->wake[0], POLLIN, 0 };
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
            ;
    }
    if (read(b->wake[0], buf, sizeof buf) <= 0)
        return;
    /* the mutex orders the committer's writes before our reads */
    pthread_mutex_lock(&b->mu);
    bool done = !b->work;
    pthread_mutex_unlock(&b->mu);
    if (done)
        finish_commit(b);
}

/* ------------------------------------------------------------- peers */

/* Record who sent env: the key its handshake proved and that key's role
 * now (a reload may have dropped it); every role without keys. */
static void
peer_of(broker_t *b, const zmq_msg_t *env)
{
    b->cur_env = env;
    if (!b->auth) {
        b->cur_role = AUTH_ANY;
        b->cur_key[0] = '\0';
        snprintf(b->cur_id, sizeof b->cur_id, "local");
        return;
    }
    const char *key = zmq_msg_gets((zmq_msg_t *)env, "User-Id");
    if (!key || strlen(key) != CURVE_KEY_Z85 - 1) {
        b->cur_role = 0;
        b->cur_key[0] = '\0';
        snprintf(b->cur_id, sizeof b->cur_id, "-");
        return;
    }
    memcpy(b->cur_key, key, CURVE_KEY_Z85);
    b->cur_role = auth_role_of(b->auth, key, b->cur_id);
}

/* The address of the peer in hand, for logs ("?" where ZeroMQ has none,
 * as for ipc). */
static const char *
peer_addr(const broker_t *b)
{
    const char *a = b->cur_env
                        ? zmq_msg_gets((zmq_msg_t *)b->cur_env, "Peer-Address")
                        : NULL;
    return a && *a ? a : "?";
}

/* Refuse a request its sender's role does not allow; logged with the key
 * so that an operator sees who tried what. */
static void
refuse_role(broker_t *b, void *sock, const route_t *rt, const wire_msg_t *m,
            const char *why)
{
    log_warn("broker refused key=%s role=%s address=%s socket=%s kind=%s "
             "reason=\"%s\"",
             b->cur_id, auth_role_name(b->cur_role), peer_addr(b),
             sock == b->front ? "frontend" : "backend", wire_kind_name(m->kind),
             why);
    reject(b, sock, rt, m->request_id, WIRE_CODE_UNAUTHORIZED, why, 0);
}

/* The roles that may send a frontend request of kind (0: none). */
static int
front_roles(int kind)
{
    switch (kind) {
    case WIRE_SUBMIT:
    case WIRE_GET:
    case WIRE_STATS:
        return AUTH_CLIENT | AUTH_ADMIN;
    case WIRE_SINCE:
    case WIRE_QUERY:
        return AUTH_CLIENT | AUTH_CONSUMER | AUTH_ADMIN;
    case WIRE_DEAD_LIST:
    case WIRE_DEAD_REQUEUE:
    case WIRE_DEAD_PURGE:
        return AUTH_ADMIN;
    default:
        return AUTH_ANY; /* refused below as not a frontend message */
    }
}

/* ----------------------------------------------------- frontend reads */

static void
info_fill(wire_job_info_t *ji, const store_job_t *j)
{
    memset(ji, 0, sizeof *ji);
    ji->id = j->id;
    ji->key = j->key;
    ji->state = j->state;
    ji->attempts = j->attempt;
    ji->priority = j->priority;
    ji->submitted_ms = j->submitted_ms;
    ji->finished_ms = j->finished_ms;
    ji->seq = j->seq;
    ji->last_error = j->last_error;
    ji->source_url = j->source_url;
    ji->title = j->title;
    ji->text_bytes = j->text_bytes;
}

/* Encode inside the read txn (pointers are borrowed from it), then send. */
static void
reply_read(broker_t *b, const route_t *rt, const wire_msg_t *m)
{
    (void)send_msg(b, b->front, rt, m);
}

static void
on_get(broker_t *b, const route_t *rt, const wire_msg_t *req)
{
    store_job_t j;
    wire_msg_t m, text;
    memset(&m, 0, sizeof m);
    memset(&text, 0, sizeof text);
    if (!req->u.get.job_id && (!req->u.get.key || !*req->u.get.key)) {
        reject(b, b->front, rt, req->request_id, WIRE_CODE_INVALID,
               "Get needs job_id or key", 0);
        return;
    }
    int rc = store_read_begin(b->store);
    if (rc) {
        reject(b, b->front, rt, req->request_id, WIRE_CODE_INTERNAL,
               "store busy", RETRY_INTERNAL_MS);
        return;
    }
    if (req->u.get.job_id)
        rc = store_get(b->store, req->u.get.job_id, &j);
    else
        rc =
            store_get_key(b->store, req->u.get.key, strlen(req->u.get.key), &j);
    if (rc == 0) {
        m.kind = WIRE_GET_REPLY;
        m.request_id = req->request_id;
        info_fill(&m.u.get_reply.job, &j);
        lease_t *l = lt_find(&b->leases, j.id);
        if (l && j.state == STORE_READY) {
            m.u.get_reply.job.state = WIRE_JOB_LEASED;
            m.u.get_reply.job.attempts = l->attempt;
        }
        if (j.state == STORE_DONE)
            rc = store_result(b->store, j.id, &m.u.get_reply.result,
                              &m.u.get_reply.result_len);
        if (rc == 0 && req->u.get.with_text &&
            store_payload(b->store, j.id, &text) == 0) {
            m.u.get_reply.text = text.u.submit.job.text;
            m.u.get_reply.text_len = text.u.submit.job.text_len;
        }
    }
    if (rc == 0)
        reply_read(b, rt, &m);
    store_read_end(b->store);
    wire_msg_release(&text);
    if (rc == ERR_NOTFOUND)
        reject(b, b->front, rt, req->request_id, WIRE_CODE_NOT_FOUND,
               "no such job", 0);
    else if (rc)
        reject(b, b->front, rt, req->request_id, WIRE_CODE_INTERNAL,
               err_str(rc), RETRY_INTERNAL_MS);
}

typedef struct since_acc {
    wire_committed_t *items; /* collected */
    size_t n;                /* count */
    size_t bytes;            /* result bytes so far */
} since_acc_t;

static int
since_cb(void *arg, const store_item_t *it)
{
    since_acc_t *a = arg;
    if (a->n > 0 && a->bytes + it->result_len > SINCE_BYTES)
        return 1; /* the rest comes with the next Since */
    wire_committed_t *c = &a->items[a->n++];
    c->seq = it->seq;
    c->job_id = it->job_id;
    c->key = it->key;
    c->result = it->result;
    c->result_len = it->result_len;
    a->bytes += it->result_len;
    return 0;
}

static void
on_since(broker_t *b, const route_t *rt, const wire_msg_t *req)
{
    size_t limit = req->u.since.limit ? req->u.since.limit : 100;
    if (limit > WIRE_MAX_BATCH)
        limit = WIRE_MAX_BATCH;
    since_acc_t a = { xcalloc(limit, sizeof *a.items), 0, 0 };
    int rc = store_read_begin(b->store);
    if (rc == 0) {
        rc = store_since(b->store, req->u.since.after_seq, limit,
                         req->u.since.with_result, since_cb, &a);
        if (rc >= 0) {
            store_counts_t c = b->counts;
            if (a.n && a.items[a.n - 1].seq > c.last_seq)
                c.last_seq = a.items[a.n - 1].seq;
            wire_msg_t m;
            memset(&m, 0, sizeof m);
            m.kind = WIRE_SINCE_REPLY;
            m.request_id = req->request_id;
            m.u.since_reply.items = a.items;
            m.u.since_reply.n = a.n;
            m.u.since_reply.last_seq = c.last_seq;
            reply_read(b, rt, &m);
            rc = 0;
        }
        store_read_end(b->store);
    }
    free(a.items);
    if (rc)
        reject(b, b->front, rt, req->request_id, WIRE_CODE_INTERNAL,
               err_str(rc), RETRY_INTERNAL_MS);
}

/* Query: the store answers (storage/store_query.c); PROTOCOL.md "Queries" */
static void
on_query(broker_t *b, const route_t *rt, const wire_msg_t *req)
{
    const char *why = NULL;
    if (store_query_check(&req->u.query, &why)) {
        reject(b, b->front, rt, req->request_id, WIRE_CODE_INVALID, why, 0);
        return;
    }
    store_query_reply_t page;
    int rc = store_read_begin(b->store);
    if (rc == 0) {
        rc = store_query_run(b->store, &req->u.query, &page);
        if (rc == 0) {
            wire_msg_t m;
            store_query_reply_msg(&page, req->request_id, &m);
            reply_read(b, rt, &m);
            store_query_reply_free(&page);
        }
        store_read_end(b->store);
    }
    if (rc)
        reject(b, b->front, rt, req->request_id, WIRE_CODE_INTERNAL,
               err_str(rc), RETRY_INTERNAL_MS);
}

typedef struct dead_acc {
    wire_dead_t *items;  /* collected */
    char **hist_bufs;    /* owned copies of each history */
    const char ***lines; /* owned line arrays */
    size_t n;            /* count */
} dead_acc_t;

static int
dead_cb(void *arg, const store_job_t *j, const char *reason)
{
    dead_acc_t *a = arg;
    wire_dead_t *d = &a->items[a->n];
    info_fill(&d->job, j);
    d->reason = reason;
    char *h = xstrdup(j->history);
    const char **lines = xcalloc(j->n_history + 1, sizeof *lines);
    size_t nl = 0;
    for (char *p = h; *p && nl < j->n_history;) {
        char *e = strchr(p, '\n');
        lines[nl++] = p;
        if (!e)
            break;
        *e = '\0';
        p = e + 1;
    }
    d->history = lines;
    d->n_history = nl;
    a->hist_bufs[a->n] = h;
    a->lines[a->n] = lines;
    a->n++;
    return 0;
}

static void
on_dead_list(broker_t *b, const route_t *rt, const wire_msg_t *req)
{
    size_t limit = req->u.dead_list.limit ? req->u.dead_list.limit : 100;
    if (limit > WIRE_MAX_BATCH)
        limit = WIRE_MAX_BATCH;
    dead_acc_t a = { xcalloc(limit, sizeof *a.items),
                     xcalloc(limit, sizeof *a.hist_bufs),
                     xcalloc(limit, sizeof *a.lines), 0 };
    int rc = store_read_begin(b->store);
    if (rc == 0) {
        rc = store_dead_list(b->store, req->u.dead_list.after_job_id, limit,
                             dead_cb, &a);
        if (rc >= 0) {
            wire_msg_t m;
            memset(&m, 0, sizeof m);
            m.kind = WIRE_DEAD_LIST_REPLY;
            m.request_id = req->request_id;
            m.u.dead_list_reply.items = a.items;
            m.u.dead_list_reply.n = a.n;
            reply_read(b, rt, &m);
            rc = 0;
        }
        store_read_end(b->store);
    }
    for (size_t i = 0; i < a.n; i++) {
        free(a.hist_bufs[i]);
        free((void *)a.lines[i]);
    }
    free(a.items);
    free(a.hist_bufs);
    free(a.lines);
    if (rc)
        reject(b, b->front, rt, req->request_id, WIRE_CODE_INTERNAL,
               err_str(rc), RETRY_INTERNAL_MS);
}

/* ------------------------------------------------------------ metrics */

static int
is_leased(void *arg, uint64_t id)
{
    return lt_find(&((broker_t *)arg)->leases, id) != NULL;
}

/* Age of the oldest waiting job (READY and not leased, or DELAYED) into
 * *age_ms (0 when none). Returns false when the store could not be read. */
static bool
oldest_waiting(broker_t *b, uint64_t *age_ms)
{
    uint64_t since, wall = clock_ms(b);
    *age_ms = 0;
    if (b->counts.ready + b->counts.delayed == 0)
        return true;
    if (store_read_begin(b->store) != 0)
        return false;
    int rc = store_oldest_waiting(b->store, is_leased, b, &since);
    store_read_end(b->store);
    if (rc == 0 && wall > since)
        *age_ms = wall - since;
    return rc == 0 || rc == ERR_NOTFOUND;
}

/* One row per connected worker (caller frees). */
static metrics_worker_t *
worker_rows(broker_t *b)
{
    metrics_worker_t *rows = xcalloc(b->n_workers + 1, sizeof *rows);
    uint64_t now = now_mono_ms();
    for (size_t i = 0; i < b->n_workers; i++) {
        const worker_t *w = b->workers[i];
        metrics_worker_t *r = &rows[i];
        snprintf(r->name, sizeof r->name, "%s", w->name);
        for (size_t k = 0; k < w->ident_len && 2 * k + 2 < sizeof r->ident; k++)
            snprintf(r->ident + 2 * k, 3, "%02x", w->ident[k]);
        r->credit = w->credit;
        r->held = w->n_leases;
        r->held_bytes = w->bytes;
        r->last_seen_ms = now > w->last_ms ? now - w->last_ms : 0;
    }
    return rows;
}

/* Publish the gauges for the metrics endpoint (every tick). */
static void
publish_metrics(broker_t *b)
{
    if (metrics_port(b->metrics) == 0)
        return; /* nobody can read it */
    store_info_t info;
    metrics_state_t st;
    memset(&st, 0, sizeof st);
    store_info(b->store, &info);
    st.ready = available(b);
    st.leased = b->counts.leased + b->leases.n;
    st.delayed = b->counts.delayed;
    st.done = b->counts.done;
    st.dead = b->counts.dead;
    st.last_seq = b->counts.last_seq;
    st.store_ok = oldest_waiting(b, &st.oldest_wait_ms) && broker_is_healthy(b);
    st.store_bytes = info.used_bytes;
    st.map_bytes = info.map_bytes;
    st.map_limit = info.map_limit;
    st.topics = b->n_topics;
    st.pending_ops = b->n_ops + b->n_cops;
    st.draining = b->draining;
    metrics_worker_t *rows = worker_rows(b);
    st.workers = rows;
    st.n_workers = b->n_workers;
    metrics_publish(b->metrics, &st);
    free(rows);
}

int
broker_metrics_port(const broker_t *b)
{
    return b ? metrics_port(b->metrics) : 0;
}

static void
on_stats(broker_t *b, const route_t *rt, const wire_msg_t *req)
{
    store_counts_t c = b->counts;
    store_info_t info;
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    store_info(b->store, &info);
    m.kind = WIRE_STATS_REPLY;
    m.request_id = req->request_id;
    wire_stats_t *s = &m.u.stats_reply;
    s->ready = available(b);
    s->leased = c.leased + b->leases.n;
    s->delayed = c.delayed;
    s->done = c.done;
    s->dead = c.dead;
    s->last_seq = c.last_seq;
    s->backlog = s->ready + s->leased + s->delayed;
    (void)oldest_waiting(b, &s->oldest_ready_age_ms);
    metrics_worker_t *rows = worker_rows(b);
    s->worker_stats = xcalloc(b->n_workers + 1, sizeof *s->worker_stats);
    for (size_t i = 0; i < b->n_workers; i++) {
        wire_worker_stats_t *ws = &s->worker_stats[i];
        ws->name = rows[i].name;
        ws->identity = rows[i].ident;
        ws->credit = rows[i].credit;
        ws->held = rows[i].held;
        ws->held_bytes = rows[i].held_bytes;
        ws->last_seen_ms = rows[i].last_seen_ms;
    }
    s->n_worker_stats = b->n_workers;
    s->store_bytes = info.used_bytes;
    s->map_bytes = info.map_bytes;
    s->map_limit = info.map_limit;
    s->workers = (uint32_t)b->n_workers;
    s->submitted_total = b->submitted_total;
    s->committed_total = b->committed_total;
    s->rejected_total = b->rejected_total;
    s->uptime_ms = now_mono_ms() - b->start_ms;
    s->commit_rate = metrics_commit_rate(b->metrics);
    reply_read(b, rt, &m);
    free(s->worker_stats);
    free(rows);
}

/* Is the Submit's idempotency key (given or default) committed already?
 * Asked only when the queue is full: a duplicate adds no job, so it gets
 * Accepted{duplicate} rather than QUEUE_FULL (DESIGN.md guarantee 4). */
static bool
key_committed(broker_t *b, const char *key)
{
    bool found = false;
    store_job_t job;
    if (store_read_begin(b->store) == 0) {
        found = store_get_key(b->store, key, strlen(key), &job) == 0;
        store_read_end(b->store);
    }
    return found;
}

static bool
key_exists(broker_t *b, const wire_msg_t *m)
{
    const wire_job_t *j = &m->u.submit.job;
    char *own = NULL;
    const char *key = j->key;
    if (!key || !*key)
        key = own = store_key_default(j->text, j->text_len);
    bool found = key_committed(b, key);
    free(own);
    return found;
}

/* Send a just-arrived Submit's job to a worker before its commit, when it
 * would be the next job dispatched anyway: no committed job is waiting
 * and a worker has credit (an earlier Submit still waiting for its commit
 * cannot be dispatched before it, so it loses nothing).
 * Its id must be reserved (see next_id). The Submit is still answered
 * only after its commit; the result commits in the same group or a later
 * one, never before the job. A job that then fails to commit (duplicate
 * key in the same batch, store full) leaves a Done that finds no job.
 * This takes one group commit off the submit-to-result path. */
static bool
predispatch(broker_t *b, op_t *op)
{
    if (b->draining || op->assigned > b->id_durable || available(b) > 0)
        return false;
    worker_t *w = next_worker(b);
    if (!w)
        return false;
    const wire_job_t *j = &op->msg.u.submit.job;
    const char *key = op->key ? op->key : j->key;
    if (key_committed(b, key))
        return false; /* a resubmission: no work to do */
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_DISPATCH;
    m.request_id = ++b->out_rid;
    m.u.dispatch.job = *j;
    m.u.dispatch.job.id = op->assigned;
    m.u.dispatch.job.key = key;
    m.u.dispatch.attempt = 1;
    m.u.dispatch.lease_ms = (uint32_t)b->cfg.lease_ms;
    uint8_t *buf = NULL;
    size_t len = 0;
    route_t rt = worker_route(w);
    room_t r = { b, b->back, &rt };
    if ((w->batch ? wire_encode_into(&m, room_of, &r)
                  : wire_encode(&m, &buf, &len)) != ERR_OK)
        return false; /* it goes out after its commit instead */
    lease_t *l = lease_out(b, w, op->assigned, 1, j->text_len, buf, len);
    l->early_gen = b->batch_gen;
    b->batch_early++;
    return true;
}

static void
on_submit(broker_t *b, const route_t *rt, wire_msg_t *m)
{
    const wire_job_t *j = &m->u.submit.job;
    if (b->draining) {
        reject(b, b->front, rt, m->request_id, WIRE_CODE_SHUTTING_DOWN,
               "broker is shutting down", RETRY_SHUTDOWN_MS);
        return;
    }
    if (j->text_len == 0) {
        reject(b, b->front, rt, m->request_id, WIRE_CODE_INVALID, "empty text",
               0);
        return;
    }
    if (j->priority < 0 || j->priority > WIRE_MAX_PRIORITY) {
        reject(b, b->front, rt, m->request_id, WIRE_CODE_INVALID,
               "priority out of range 0..9", 0);
        return;
    }
    const store_counts_t *c = &b->counts;
    if (c->ready + c->leased + c->delayed + b->n_submits + b->c_submits >=
            (uint64_t)b->cfg.max_queued &&
        !key_exists(b, m)) {
        reject(b, b->front, rt, m->request_id, WIRE_CODE_QUEUE_FULL,
               "queue holds max-queued jobs", RETRY_QUEUE_FULL_MS);
        return;
    }
    op_t *op = op_push(b, OP_SUBMIT);
    op->sock = b->front;
    op->rid = m->request_id;
    route_copy(&op->route, rt);
    op->msg = *m;
    memset(m, 0, sizeof *m); /* ownership moved to the op */
    if (!op->msg.u.submit.job.key || !*op->msg.u.submit.job.key)
        op->key = store_key_default(op->msg.u.submit.job.text,
                                    op->msg.u.submit.job.text_len);
    b->n_submits++;
    metrics_submit(b->metrics);
    b->batch_bytes += op->msg.u.submit.job.text_len;
    op->assigned = b->next_id++;
    op->predispatched = predispatch(b, op);
    if (op->predispatched)
        b->n_early++;
}

static void
on_dead_write(broker_t *b, const route_t *rt, wire_msg_t *m)
{
    op_t *op = op_push(b, m->kind == WIRE_DEAD_REQUEUE ? OP_DEAD_REQUEUE
                                                       : OP_DEAD_PURGE);
    op->sock = b->front;
    op->rid = m->request_id;
    route_copy(&op->route, rt);
    /* audit: who asked for what (the outcome is logged by op_reply) */
    log_info(
        "broker admin action=%s key=%s role=%s address=%s all=%d "
        "ids=%zu first=%llu",
        m->kind == WIRE_DEAD_REQUEUE ? "requeue" : "purge", b->cur_id,
        auth_role_name(b->cur_role), peer_addr(b), m->u.dead_ids.all,
        m->u.dead_ids.n,
        (unsigned long long)(m->u.dead_ids.n ? m->u.dead_ids.job_ids[0] : 0));
    op->msg = *m;
    memset(m, 0, sizeof *m);
}

static void
on_frontend(broker_t *b, const route_t *rt, const uint8_t *env, size_t len)
{
    wire_msg_t m;
    int rc = wire_decode(env, len, 0, &m);
    if (rc) {
        log_info("broker bad frontend frame bytes=%zu: %s", len, err_str(rc));
        reject(b, b->front, rt, m.request_id, code_of_decode(rc),
               m.error ? m.error : reason_of_decode(rc), 0);
        return;
    }
    if (!(front_roles(m.kind) & b->cur_role)) {
        refuse_role(b, b->front, rt, &m,
                    b->cur_role ? "this key's role may not send this request"
                                : "key not in the allow-list");
        wire_msg_release(&m);
        return;
    }
    switch (m.kind) {
    case WIRE_SUBMIT:
        on_submit(b, rt, &m);
        break;
    case WIRE_GET:
        on_get(b, rt, &m);
        break;
    case WIRE_SINCE:
        on_since(b, rt, &m);
        break;
    case WIRE_QUERY:
        on_query(b, rt, &m);
        break;
    case WIRE_STATS:
        on_stats(b, rt, &m);
        break;
    case WIRE_DEAD_LIST:
        on_dead_list(b, rt, &m);
        break;
    case WIRE_DEAD_REQUEUE:
    case WIRE_DEAD_PURGE:
        if (b->draining)
            reject(b, b->front, rt, m.request_id, WIRE_CODE_SHUTTING_DOWN,
                   "broker is shutting down", RETRY_SHUTDOWN_MS);
        else
            on_dead_write(b, rt, &m);
        break;
    default:
        reject(b, b->front, rt, m.request_id, WIRE_CODE_INVALID,
               "message not accepted on the frontend", 0);
        break;
    }
    wire_msg_release(&m);
}

/* ------------------------------------------------------ backend reads */

/* joined: the first message of this identity. Its credit is then at least
 * its capacity: a worker whose connection was redone (a broker restart, a
 * new socket) may be topping up credit that an earlier broker run or
 * connection knew, and would otherwise run below its capacity for good.
 * Jobs it still holds from before it queues (a worker takes up to twice
 * its capacity) and answers as usual. */
static void
on_ready(broker_t *b, worker_t *w, const wire_msg_t *m, bool joined)
{
    if (m->u.ready.worker_name && *m->u.ready.worker_name)
        snprintf(w->name, sizeof w->name, "%s", m->u.ready.worker_name);
    uint64_t room = (uint64_t)b->cfg.max_credit;
    uint64_t held = w->credit + w->n_leases;
    uint64_t add = m->u.ready.credit;
    if (joined && m->u.ready.capacity > add)
        add = m->u.ready.capacity;
    if (held >= room)
        add = 0;
    else if (add > room - held)
        add = room - held;
    w->credit += add;
    log_debug("broker ready worker=%s credit=%llu", w->name,
              (unsigned long long)w->credit);
}

/* Whether w (the sender in hand, which may be unregistered: NULL) may
 * act on lease l: it holds it, or it is the same key reconnected under a
 * new socket. Without keys every local peer may, as before keys existed. */
static bool
same_holder(const broker_t *b, const lease_t *l, const worker_t *w)
{
    if (!b->auth || (w && l->w == w))
        return true;
    return l->w && l->w->key[0] && !strcmp(l->w->key, b->cur_key);
}

static void
on_heartbeat(broker_t *b, worker_t *w, const route_t *rt, const wire_msg_t *m)
{
    uint64_t deadline = now_mono_ms() + b->cfg.lease_ms;
    for (size_t i = 0; i < m->u.heartbeat.n; i++) {
        lease_t *l = lt_find(&b->leases, m->u.heartbeat.job_ids[i]);
        if (l && !l->finishing && !l->held &&
            (!m->u.heartbeat.attempts ||
             m->u.heartbeat.attempts[i] == l->attempt)) {
            if (l->w != w && !same_holder(b, l, w))
                continue; /* another worker's lease: not this one's to keep */
            l->deadline_ms = deadline;
            if (l->w != w) { /* the holder reconnected under a new id */
                lease_take(l);
                lease_give(l, w, l->bytes);
            }
        }
    }
    wire_msg_t r;
    memset(&r, 0, sizeof r);
    r.kind = WIRE_HEARTBEAT;
    r.request_id = m->request_id;
    (void)send_msg(b, b->back, rt, &r);
}
static void
on_done_or_failed(broker_t *b, const route_t *rt, worker_t *w, wire_msg_t *m)
{
    bool done = m->kind == WIRE_DONE;
    uint64_t id = done ? m->u.done.job_id : m->u.failed.job_id;
    uint32_t att = done ? m->u.done.attempt : m->u.failed.attempt;
    bool fenced = false;
    lease_t *l = lt_find(&b->leases, id);
    if (l && !l->finishing && !l->held && l->attempt == att &&
        !same_holder(b, l, w)) {
        /* a forged or misrouted answer for a lease another key holds:
         * nothing changes, the holder's own answer still counts */
        log_warn("broker refused key=%s address=%s kind=%s job=%llu "
                 "attempt=%u holder=%s reason=\"not the lease holder\"",
                 b->cur_id, peer_addr(b), wire_kind_name(m->kind),
                 (unsigned long long)id, att, l->w ? l->w->id : "-");
        reject(b, b->back, rt, m->request_id, WIRE_CODE_UNAUTHORIZED,
               "this job is leased to another worker", 0);
        return;
    }
    uint32_t tries = l ? l->tries : 0;
    if (l && l->attempt != att) {
        fenced = true; /* another attempt holds the job */
    } else if (l) {
        lease_finish(b, l);
    } else {
        /* not leased by this broker run (e.g. it restarted): keep the job
         * from being dispatched while this op waits for its commit */
        l = lt_insert(&b->leases, id);
        l->attempt = att;
        l->finishing = true;
    }
    /* The result bytes are checked where they are read, in the committer
     * (store_done): one that does not parse turns into a failed attempt. */
    op_t *op = op_push(b, done ? OP_DONE : OP_FAILED);
    op->sock = b->back;
    op->rid = m->request_id;
    route_copy(&op->route, rt);
    op->job_id = id;
    op->attempt = att;
    op->delay_ms = backoff_ms(b, tries + 1);
    op->msg = *m;
    memset(m, 0, sizeof *m);
    if (fenced) {
        op->final = true;
        op->rc = ERR_STALE;
    }
    if (op->msg.kind == WIRE_FAILED) {
        op->reason = op->msg.u.failed.reason ? op->msg.u.failed.reason : "";
        op->permanent = op->msg.u.failed.permanent;
    } else if (!fenced) {
        b->batch_bytes += op->msg.u.done.result_len;
    }
}

static void
on_backend(broker_t *b, const route_t *rt, const uint8_t *env, size_t len)
{
    wire_msg_t m;
    if (rt->n == 0)
        return; /* ROUTER always adds the identity; nothing to answer */
    int rc = wire_decode(env, len, 0, &m);
    worker_t *w = worker_find(b, rt);
    if (w)
        w->last_ms = now_mono_ms();
    if (rc) {
        log_info("broker bad backend frame bytes=%zu: %s", len, err_str(rc));
        reject(b, b->back, rt, m.request_id, code_of_decode(rc),
               m.error ? m.error : reason_of_decode(rc), 0);
        return;
    }
    if (!(b->cur_role & AUTH_WORKER)) {
        /* the handshake admitted it as a worker, so its key was removed
         * or changed role since: it loses its leases and its place */
        if (w && !w->lost) {
            log_warn("broker worker lost worker=%s key=%s reason=\"key no "
                     "longer has the worker role\"",
                     w->name, w->id);
            w->lost = true;
        }
        refuse_role(b, b->back, rt, &m, "key not allowed as a worker");
        wire_msg_release(&m);
        return;
    }
    switch (m.kind) {
    case WIRE_READY: {
        bool joined = !w;
        if (joined) {
            w = worker_add(b, rt);
            memcpy(w->key, b->cur_key, sizeof w->key);
            memcpy(w->id, b->cur_id, sizeof w->id);
            log_info("broker worker joined worker=%s key=%s address=%s",
                     m.u.ready.worker_name ? m.u.ready.worker_name : "?", w->id,
                     peer_addr(b));
        }
        w->batch = m.u.ready.batch;
        on_ready(b, w, &m, joined);
        break;
    }
    case WIRE_DONE:
    case WIRE_FAILED:
        /* An unknown peer's result still counts (work finished across a
         * restart is kept), but it does not register the peer: with no
         * credit it would never be dispatched to, and its next Heartbeat
         * must get "unknown worker" so that it sends Ready again. */
        on_done_or_failed(b, rt, w, &m);
        break;
    case WIRE_HEARTBEAT:
        if (w)
            on_heartbeat(b, w, rt, &m);
        else
            reject(b, b->back, rt, m.request_id, WIRE_CODE_NOT_FOUND,
                   "unknown worker", 0);
        break;
    default:
        if (w)
            reject(b, b->back, rt, m.request_id, WIRE_CODE_INVALID,
                   "message not accepted on the backend", 0);
        else
            reject(b, b->back, rt, m.request_id, WIRE_CODE_NOT_FOUND,
                   "unknown worker", 0);
        break;
    }
    wire_msg_release(&m);
}

/* One message from a peer on sock. */
static void
on_message(broker_t *b, void *sock, const route_t *rt, const uint8_t *env,
           size_t len)
{
    if (sock == b->front)
        on_frontend(b, rt, env, len);
    else
        on_backend(b, rt, env, len);
}

/* One frame from a peer: a message, or a Batch whose items are handled in
 * order as if each had come alone; a malformed Batch is rejected from the
 * bad item on (the backend answers only a peer with an identity). */
static void
on_frame(broker_t *b, void *sock, const route_t *rt, const zmq_msg_t *env)
{
    const uint8_t *data = zmq_msg_data((zmq_msg_t *)env);
    size_t len = zmq_msg_size((zmq_msg_t *)env);
    peer_of(b, env);
    wire_batch_iter_t it;
    int rc = wire_batch_open(data, len, &it);
    b->cur_batched = rc == 1;
    const char *why = reason_of_decode(rc); /* the frame itself is bad */
    /* a frame that is not even a Batch may still name its request */
    uint64_t rid = rc < 0 ? wire_peek_request_id(data, len) : 0;
    const uint8_t *item;
    size_t item_len;
    if (rc >= 0) {
        while ((rc = wire_batch_next(&it, &item, &item_len)) == 1)
            on_message(b, sock, rt, item, item_len);
        why = "malformed Batch: items from here on were dropped";
    }
    if (rc < 0) {
        log_info("broker bad frame bytes=%zu: %s", len, err_str(rc));
        if (sock == b->front || rt->n > 0)
            reject(b, sock, rt, rid, code_of_decode(rc), why, 0);
    }
    b->cur_batched = false;
    b->cur_env = NULL;
}

/* -------------------------------------------------------------- timers */

/* Unbind the publisher's endpoint, which drops every subscriber's
 * connection, and bind it again. The old listener closes in libzmq's I/O
 * thread, so the bind is retried for a moment. */
static int
rebind_pub(broker_t *b)
{
    if (zmq_unbind(b->pub, b->cfg.publisher) != 0) {
        log_error("broker unbind failed endpoint=%s: %s", b->cfg.publisher,
                  zmq_strerror(errno));
        return ERR_IO;
    }
    for (int i = 0; i < 200; i++) {
        if (zmq_bind(b->pub, b->cfg.publisher) == 0)
            return ERR_OK;
        if (errno != EADDRINUSE)
            break;
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    log_error("broker bind failed endpoint=%s: %s", b->cfg.publisher,
              zmq_strerror(errno));
    return ERR_IO;
}

/* SIGHUP: reread the allow-list. Frontend and backend peers are checked
 * per message, so a dropped key is refused from its next one; workers
 * whose key lost the role are dropped now; subscribers only receive, so
 * the publisher is bound anew and every subscriber must handshake again
 * (the honest ones reconnect and fill the gap with Since). */
static void
reload_keys(broker_t *b)
{
    size_t dropped = 0;
    b->reload = 0;
    if (!b->auth) {
        log_info("broker SIGHUP ignored: no keys configured");
        return;
    }
    if (auth_reload(b->auth, &dropped) != ERR_OK || dropped == 0)
        return;
    for (size_t i = 0; i < b->n_workers; i++) {
        worker_t *w = b->workers[i];
        if (!w->lost && !(auth_role_of(b->auth, w->key, NULL) & AUTH_WORKER)) {
            log_warn("broker worker lost worker=%s key=%s reason=\"key "
                     "removed from the allow-list\"",
                     w->name, w->id);
            w->lost = true;
        }
    }
    if (rebind_pub(b) != ERR_OK) {
        /* cannot serve consumers as configured: crash-only, the
         * supervisor restarts the broker with the new list */
        log_error("broker cannot rebind the publisher endpoint=%s after a "
                  "reload: exiting",
                  b->cfg.publisher);
        b->pub_failed = true;
        return;
    }
    for (size_t i = 0; i < b->n_topics; i++)
        free(b->topics[i]);
    b->n_topics = 0;
    b->topics_full = false;
    log_info("broker publisher rebound: subscribers handshake again");
}

static void
tick(broker_t *b)
{
    uint64_t now = now_mono_ms();
    if (b->reload)
        reload_keys(b);
    read_subscriptions(b); /* keep XPUB's queue short while nothing commits */
    for (size_t i = 0; i < b->n_workers; i++) {
        worker_t *w = b->workers[i];
        if (!w->lost && now - w->last_ms > b->cfg.worker_timeout_ms) {
            log_warn("broker worker lost worker=%s key=%s silent_ms=%llu",
                     w->name, w->id, (unsigned long long)(now - w->last_ms));
            w->lost = true;
        }
    }
    for (size_t i = 0; i < b->leases.cap; i++) {
        lease_t *l = &b->leases.slots[i];
        if (!l->job_id || l->finishing)
            continue;
        if (l->held) {
            unsigned long long n = 0;
            if (now <= l->deadline_ms)
                continue;
            expire_quiet(b, l, "answer not committed (store full or failing)");
            if (log_rate_allow(&b->held_log, 10000, &n))
                log_warn("broker answers not committed, jobs held back and "
                         "retried with backoff job=%llu attempt=%u holds=%u "
                         "(%llu more retries since the last such line)",
                         (unsigned long long)l->job_id, l->attempt, l->holds,
                         n);
        } else if (l->w && l->w->lost)
            expire(b, l, "worker lost");
        else if (now > l->deadline_ms)
            expire(b, l, "lease expired");
    }
    for (size_t i = 0; i < b->n_workers;) {
        worker_t *w = b->workers[i];
        if (w->lost) {
            worker_free(w);
            b->workers[i] = b->workers[--b->n_workers];
        } else {
            i++;
        }
    }
    if (b->counts.delayed > 0 && !b->promote_due &&
        store_read_begin(b->store) == 0) {
        uint64_t when;
        if (store_next_due(b->store, &when) == 0 && when <= clock_ms(b))
            b->promote_due = true;
        store_read_end(b->store);
    }
    publish_metrics(b);
}

/* ------------------------------------------------------------ lifecycle */

/* Open a socket of type bound to endpoint; under CURVE (b->auth) its
 * peers are checked by the ZAP handler under domain. */
static int
sock_open(broker_t *b, void **out, int type, const char *endpoint,
          const char *domain)
{
    void *s = zmq_socket(b->ctx, type);
    if (!s) {
        log_error("broker socket failed: %s", zmq_strerror(errno));
        return ERR_IO;
    }
    int one = 1, ivl = 2000, tmo = 20000, ttl = 20000, zero = 0;
    /* A group commit answers hundreds of requests at once; with the
     * default HWM a pipelining client's replies would hit EAGAIN (ROUTER
     * mandatory) and be lost. Inbound stays bounded by the default. */
    int hwm = SEND_HWM;
    int64_t max = WIRE_MAX_FRAME;
    if ((type == ZMQ_ROUTER &&
         zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof one)) ||
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof max) ||
        zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl) ||
        zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &tmo, sizeof tmo) ||
        zmq_setsockopt(s, ZMQ_HEARTBEAT_TTL, &ttl, sizeof ttl) ||
        zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero)) {
        log_error("broker setsockopt failed: %s", zmq_strerror(errno));
        zmq_close(s);
        return ERR_IO;
    }
    if (b->auth && curve_server_apply(s, &b->keys, domain) != ERR_OK) {
        zmq_close(s);
        return ERR_IO;
    }
    if (zmq_bind(s, endpoint) != 0) {
        int e = errno;
        log_error("broker bind failed endpoint=%s: %s", endpoint,
                  zmq_strerror(e));
        zmq_close(s);
        return e == EINVAL || e == EPROTONOSUPPORT ? ERR_INVAL : ERR_IO;
    }
    *out = s;
    return ERR_OK;
}

/* Keys, or only local endpoints, or a person's explicit --insecure. */
static int
security_check(const broker_cfg_t *c)
{
    const char *eps[3] = { c->frontend, c->backend, c->publisher };
    bool keys = c->key_file && *c->key_file;
    if (keys && (!c->allow || !*c->allow)) {
        log_error("broker config invalid key=allow (key-file is set: name "
                  "the allow-list of the keys that may connect)");
        return ERR_INVAL;
    }
    if (!keys && c->allow && *c->allow) {
        log_error("broker config invalid key=key-file (an allow-list needs "
                  "the broker's own key pair)");
        return ERR_INVAL;
    }
    if (keys)
        return ERR_OK;
    for (size_t i = 0; i < 3; i++) {
        if (curve_endpoint_is_local(eps[i]))
            continue;
        if (!c->insecure) {
            log_error("broker refuses to bind %s without keys: anyone who "
                      "reaches it could submit, read every result and forge "
                      "results. Set key-file and allow (excerpt keygen), or "
                      "bind 127.0.0.1, or set insecure = true to accept that",
                      eps[i]);
            return ERR_INVAL;
        }
        log_warn("INSECURE: %s is bound without keys or encryption: anyone "
                 "who reaches it can submit, read every transcript and "
                 "result, and forge results",
                 eps[i]);
    }
    log_warn("broker runs without keys: plaintext, and every peer that can "
             "reach its endpoints has every role (local endpoints only "
             "unless insecure)");
    return ERR_OK;
}

static int
cfg_check(const broker_cfg_t *c)
{
    const char *bad = NULL;
    if (!c->data_dir || !*c->data_dir)
        bad = "data-dir";
    else if (!c->frontend || !*c->frontend)
        bad = "frontend";
    else if (!c->backend || !*c->backend)
        bad = "backend";
    else if (!c->publisher || !*c->publisher)
        bad = "publisher";
    else if (c->map_limit < c->map_size)
        bad = "map-limit (smaller than map-size)";
    else if (c->retry_max_ms < c->retry_base_ms)
        bad = "retry-max-ms (smaller than retry-base-ms)";
    else if (c->log_level && *c->log_level && log_level_parse(c->log_level) < 0)
        bad = "log-level";
    else if (c->max_attempts < 1 || c->commit_batch < 1 || c->max_credit < 1 ||
             c->max_queued < 1 || c->lease_ms == 0 ||
             c->worker_timeout_ms == 0 || c->lease_ms > UINT32_MAX)
        bad = "a numeric setting out of range";
    if (bad) {
        log_error("broker config invalid key=%s", bad);
        return ERR_INVAL;
    }
    return security_check(c);
}

static char *
dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

int
broker_open(broker_t **out, const broker_cfg_t *cfg)
{
    broker_t *b = NULL;
    int rc = cfg_check(cfg);
    if (rc)
        return rc;
    b = xcalloc(1, sizeof *b);
    b->cfg = *cfg;
    b->cfg.data_dir = dup_or_null(cfg->data_dir);
    b->cfg.frontend = dup_or_null(cfg->frontend);
    b->cfg.backend = dup_or_null(cfg->backend);
    b->cfg.publisher = dup_or_null(cfg->publisher);
    b->cfg.log_level = dup_or_null(cfg->log_level);
    b->cfg.key_file = dup_or_null(cfg->key_file);
    b->cfg.allow = dup_or_null(cfg->allow);
    b->cfg.metrics = dup_or_null(cfg->metrics);
    b->cfg.metrics_token_file = dup_or_null(cfg->metrics_token_file);
    b->wake[0] = b->wake[1] = -1;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    if (pipe2(b->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        log_error("broker pipe failed: %s", strerror(errno));
        b->wake[0] = b->wake[1] = -1;
        rc = ERR_IO;
        goto fail;
    }
    b->start_ms = now_mono_ms();
    b->mono0_ms = b->start_ms;
    b->wall0_ms = now_wall_ms();
    b->batch_gen = 1;
    b->rng = now_mono_us() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15u;
    if (!b->rng)
        b->rng = 1;
    store_cfg_t sc = { b->cfg.data_dir, b->cfg.map_size, b->cfg.map_limit,
                       (unsigned)b->cfg.max_readers };
    rc = store_open(&b->store, &sc);
    if (rc)
        goto fail;
    /* No lease survives a restart: whoever held one reconnects and either
     * finishes first (its Done still matches the attempt) or loses it.
     * The same txn reserves the first block of job ids. */
    store_counts(b->store, &b->counts);
    b->next_id = b->counts.last_id + 1;
    for (int i = 0; i < MAX_FLUSH_TRIES; i++) {
        uint64_t n = 0;
        rc = store_txn_begin(b->store);
        if (rc)
            goto fail;
        rc = store_requeue_leased(b->store, clock_ms(b), &n);
        if (rc == 0)
            rc = store_reserve_ids(b->store, b->next_id + ID_BLOCK);
        if (rc) {
            store_txn_abort(b->store);
            if (rc == ERR_AGAIN)
                continue;
            goto fail;
        }
        rc = store_txn_commit(b->store);
        if (rc == ERR_AGAIN)
            continue;
        if (rc)
            goto fail;
        b->id_durable = b->id_asked = b->next_id + ID_BLOCK;
        if (n)
            log_info("broker requeued leased jobs count=%llu",
                     (unsigned long long)n);
        break;
    }
    b->ctx = zmq_ctx_new();
    if (!b->ctx ||
        zmq_ctx_set(b->ctx, ZMQ_IO_THREADS, (int)b->cfg.io_threads) != 0) {
        log_error("broker cannot make its ZeroMQ context: %s",
                  zmq_strerror(errno));
        rc = ERR_IO;
        goto fail;
    }
    if (b->cfg.key_file && *b->cfg.key_file) {
        rc = curve_read_secret(b->cfg.key_file, &b->keys);
        if (rc == ERR_OK)
            rc = auth_open(&b->auth, b->ctx, b->cfg.allow);
        if (rc)
            goto fail;
        log_info("broker CURVE on key=%.8s allow=%s", b->keys.public_key,
                 b->cfg.allow);
    }
    if ((rc = sock_open(b, &b->front, ZMQ_ROUTER, b->cfg.frontend,
                        AUTH_DOMAIN_FRONTEND)) ||
        !(b->front_bound = true) ||
        (rc = sock_open(b, &b->back, ZMQ_ROUTER, b->cfg.backend,
                        AUTH_DOMAIN_BACKEND)) ||
        !(b->back_bound = true) ||
        (rc = sock_open(b, &b->pub, ZMQ_XPUB, b->cfg.publisher,
                        AUTH_DOMAIN_PUBLISHER)))
        goto fail;
    b->pub_bound = true;
    metrics_cfg_t mc = { b->cfg.metrics, b->cfg.metrics_token_file,
                         b->cfg.metrics_insecure, b->cfg.health_stall_ms,
                         (uint64_t)b->cfg.max_queued };
    if ((rc = metrics_open(&b->metrics, &mc)) != 0)
        goto fail;
    store_counts(b->store, &b->counts);
    const store_counts_t c = b->counts;
    log_info("listening frontend=%s backend=%s publisher=%s ready=%llu "
             "delayed=%llu done=%llu dead=%llu last_seq=%llu",
             b->cfg.frontend, b->cfg.backend, b->cfg.publisher,
             (unsigned long long)c.ready, (unsigned long long)c.delayed,
             (unsigned long long)c.done, (unsigned long long)c.dead,
             (unsigned long long)c.last_seq);
    *out = b;
    return ERR_OK;
fail:
    broker_destroy(&b);
    return rc;
}

bool
broker_is_healthy(const broker_t *b)
{
    /* b->fatal follows store_is_broken (an atomic), read from any thread */
    return b && !store_is_broken(b->store);
}

void
broker_request_stop(broker_t *b)
{
    if (b)
        b->stop = 1;
}

void
broker_request_reload(broker_t *b)
{
    if (b)
        b->reload = 1;
}

static bool
batch_full(const broker_t *b)
{
    return b->n_ops >= (size_t)b->cfg.commit_batch ||
           b->batch_bytes >= BATCH_BYTES;
}

/* When the open batch should be committed: commit-delay-us after its
 * first item, or up to early-wait-us while jobs sent to workers before
 * their Submit committed may still answer (submit and result then share
 * one group commit instead of two). */
static uint64_t
batch_due_at(const broker_t *b)
{
    uint64_t wait = (uint64_t)b->cfg.commit_delay_us;
    if (b->batch_early > 0 && (uint64_t)b->cfg.early_wait_us > wait)
        wait = (uint64_t)b->cfg.early_wait_us;
    return b->batch_start_us + wait;
}

static bool
batch_due(broker_t *b, uint64_t now_us)
{
    if (batch_full(b))
        return true;
    if (!b->batch_open)
        return false;
    return now_us >= batch_due_at(b);
}

int
broker_run(broker_t *b)
{
    assert(b);
    int rc = ERR_OK;
    zmq_pollitem_t items[3] = { { b->front, 0, ZMQ_POLLIN, 0 },
                                { b->back, 0, ZMQ_POLLIN, 0 },
                                { NULL, b->wake[0], ZMQ_POLLIN, 0 } };
    b->quit = false;
    if (pthread_create(&b->committer, NULL, committer_main, b) != 0) {
        log_error("broker cannot start the committer thread");
        return ERR_INTERNAL;
    }
    b->thread_up = true;
    b->next_tick_ms = now_mono_ms() + TICK_MS;
    for (;;) {
        if (b->fatal || store_is_broken(b->store)) {
            if (!b->fatal)
                log_error("broker exiting: the store is unusable (see the "
                          "store line above); a restart recovers it, nothing "
                          "committed is lost");
            rc = ERR_IO; /* crash-only: the normal start is the recovery */
            break;
        }
        if (b->stop && !b->draining) {
            b->draining = true;
            log_info("broker stopping: draining pending=%zu", b->n_ops);
            publish_metrics(b);
        }
        if (can_dispatch(b))
            dispatch(b);
        /* Due retries open a batch like a request does, so they share the
         * next group commit. */
        if (!b->batch_open && !b->draining && b->promote_due) {
            b->batch_open = true;
            b->batch_start_us = now_mono_us();
        }
        long timeout = TICK_MS;
        uint64_t now_us = now_mono_us();
        if (b->batch_open && !b->committing) {
            uint64_t end = batch_due_at(b);
            timeout = end > now_us ? (long)((end - now_us + 999) / 1000) : 0;
        }
        if (b->draining)
            timeout = 0;
        /* A full batch while the committer works: requests stay in the
         * sockets (backpressure) until it is done, so wait for the
         * committer, not for the sockets, which would report them again
         * at once and spin the loop for the whole commit. */
        short want = batch_full(b) && b->committing ? 0 : ZMQ_POLLIN;
        items[0].events = items[1].events = want;
        flush_out(b); /* what this pass produced, one frame per peer */
        if (zmq_poll(items, 3, timeout) < 0 && errno != EINTR) {
            log_error("broker poll failed: %s", zmq_strerror(errno));
            rc = ERR_IO;
            break;
        }
        if (items[2].revents & ZMQ_POLLIN)
            reap_commit(b, false);
        for (int s = 0; s < 2; s++) {
            void *sock = s == 0 ? b->front : b->back;
            for (int k = 0; k < PER_POLL; k++) {
                if (batch_full(b)) {
                    if (b->committing)
                        break; /* backpressure: leave it in the socket */
                    start_commit(b);
                }
                route_t rt;
                zmq_msg_t env;
                if (recv_msg(sock, &rt, &env) <= 0)
                    break;
                on_frame(b, sock, &rt, &env);
                zmq_msg_close(&env);
                route_free(&rt);
                service_commit(b);
            }
        }
        if (b->draining) {
            reap_commit(b, true);
            if (b->n_ops) {
                start_commit(b);
                reap_commit(b, true);
            }
            log_info("broker stopped submitted=%llu committed=%llu",
                     (unsigned long long)b->submitted_total,
                     (unsigned long long)b->committed_total);
            break;
        }
        uint64_t now_ms = now_mono_ms();
        if (now_ms >= b->next_tick_ms) {
            tick(b);
            b->next_tick_ms = now_ms + TICK_MS;
            if (b->pub_failed) {
                rc = ERR_IO;
                break;
            }
        }
        /* Dispatch before a commit so workers run while we fsync. */
        if (can_dispatch(b))
            dispatch(b);
        if (!b->committing && b->batch_open && batch_due(b, now_mono_us()))
            start_commit(b);
    }
    reap_commit(b, true);
    flush_out(b);
    pthread_mutex_lock(&b->mu);
    b->quit = true;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->committer, NULL);
    b->thread_up = false;
    return rc;
}

static void
unlink_ipc(const char *endpoint)
{
    if (!endpoint || strncmp(endpoint, "ipc://", 6) != 0 || !endpoint[6] ||
        endpoint[6] == '@')
        return; /* not a file (tcp, or a Linux abstract socket) */
    if (unlink(endpoint + 6) != 0 && errno != ENOENT)
        log_warn("broker cannot remove socket file path=%s: %s", endpoint + 6,
                 strerror(errno));
}

void
broker_destroy(broker_t **bp)
{
    if (!bp || !*bp)
        return;
    broker_t *b = *bp;
    for (size_t i = 0; i < b->n_ops; i++)
        op_free(&b->ops[i]);
    free(b->ops);
    for (size_t i = 0; i < b->n_cops; i++)
        op_free(&b->cops[i]);
    free(b->cops);
    if (b->wake[0] >= 0)
        close(b->wake[0]);
    if (b->wake[1] >= 0)
        close(b->wake[1]);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b->leases.slots);
    for (size_t i = 0; i < b->n_workers; i++)
        worker_free(b->workers[i]);
    free(b->workers);
    for (size_t i = 0; i < b->n_topics; i++)
        free(b->topics[i]);
    for (size_t i = 0; i < b->n_out; i++) {
        wire_batch_free(&b->out[i].batch);
        route_free(&b->out[i].route);
    }
    if (b->front)
        zmq_close(b->front);
    if (b->back)
        zmq_close(b->back);
    if (b->pub)
        zmq_close(b->pub);
    /* the ZAP handler's socket is on ctx: it closes before ctx ends */
    auth_destroy(&b->auth);
    if (b->ctx)
        zmq_ctx_term(b->ctx);
    memset(&b->keys, 0, sizeof b->keys);
    /* libzmq leaves the socket file of a bound ipc:// endpoint behind;
     * remove the ones this broker bound (its sockets are all closed). */
    unlink_ipc(b->front_bound ? b->cfg.frontend : NULL);
    unlink_ipc(b->back_bound ? b->cfg.backend : NULL);
    unlink_ipc(b->pub_bound ? b->cfg.publisher : NULL);
    metrics_destroy(&b->metrics); /* before the store: its thread stops */
    store_destroy(&b->store);
    broker_cfg_free(&b->cfg);
    free(b);
    *bp = NULL;
}
