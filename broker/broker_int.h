/*
 * broker_int: the broker's private types (struct broker, op_t, lease_t,
 * worker_t, route_t, outbox_t) and the functions shared between the
 * broker_*.c files; never included outside broker/. Each function's
 * comment is at its definition.
 *
 * Naming: a function used only in its own file is static and has no
 * prefix. One shared between files takes the prefix of the file that
 * defines it: bloop_ (broker.c), bout_ (broker_out.c), blease_
 * (broker_lease.c), bcommit_ (broker_commit.c), bpub_ (broker_pub.c),
 * bfront_ (broker_front.c), bback_ (broker_back.c), bstats_
 * (broker_stats.c), followed by its old static name.
 */
#ifndef EXCERPT_BROKER_INT_H
#define EXCERPT_BROKER_INT_H

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
                             deadline_ms, then expired (see blease_lease_hold) */
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

/* The outbox a message goes to (wire_encode_into's room). */
typedef struct room {
    broker_t *b;       /* the broker */
    void *sock;        /* front or back */
    const route_t *rt; /* the peer */
} room_t;

/* broker.c */
uint64_t bloop_clock_ms(const broker_t *b);
uint64_t bloop_rand_next(broker_t *b);

/* broker_out.c */
void bout_route_free(route_t *r);
void bout_route_copy(route_t *dst, const route_t *src);
int bout_send_buf(void *sock, const route_t *rt, uint8_t *buf, size_t len,
                  int kind);
void bout_flush_out(broker_t *b);
outbox_t *bout_outbox_for(broker_t *b, void *sock, const route_t *rt,
                          size_t len);
wire_batch_t *bout_room_of(void *ud, size_t n);
int bout_send_msg(broker_t *b, void *sock, const route_t *rt,
                  const wire_msg_t *m);
void bout_reject(broker_t *b, void *sock, const route_t *rt, uint64_t rid,
                 int code, const char *reason, uint32_t retry_after_ms);
int bout_code_of_decode(int rc);
const char *bout_reason_of_decode(int rc);
int bout_recv_msg(void *sock, route_t *rt, zmq_msg_t *env);

/* broker_lease.c */
worker_t *blease_worker_find(broker_t *b, const route_t *rt);
worker_t *blease_worker_add(broker_t *b, const route_t *rt);
void blease_worker_free(worker_t *w);
lease_t *blease_lt_find(ltab_t *t, uint64_t id);
lease_t *blease_lt_insert(ltab_t *t, uint64_t id);
void blease_lt_remove(ltab_t *t, lease_t *l);
void blease_lease_give(lease_t *l, worker_t *w, uint64_t bytes);
void blease_lease_take(lease_t *l);
void blease_lease_finish(broker_t *b, lease_t *l);
uint64_t blease_backoff_ms(broker_t *b, uint32_t attempt);
void blease_expire_quiet(broker_t *b, lease_t *l, const char *why);
void blease_expire(broker_t *b, lease_t *l, const char *why);
void blease_lease_hold(broker_t *b, lease_t *l);
uint64_t blease_available(broker_t *b);
bool blease_can_dispatch(broker_t *b);
route_t blease_worker_route(const worker_t *w);
lease_t *blease_lease_out(broker_t *b, worker_t *w, uint64_t id,
                          uint32_t attempt, uint64_t bytes, uint8_t *buf,
                          size_t len);
worker_t *blease_next_worker(broker_t *b);
void blease_dispatch(broker_t *b);

/* broker_commit.c */
op_t *bcommit_op_push(broker_t *b, int type);
void bcommit_op_free(op_t *op);
void bcommit_service_commit(broker_t *b);
void *bcommit_committer_main(void *arg);
void bcommit_start_commit(broker_t *b);
void bcommit_reap_commit(broker_t *b, bool block);
bool bcommit_batch_full(const broker_t *b);
uint64_t bcommit_batch_due_at(const broker_t *b);
bool bcommit_batch_due(broker_t *b, uint64_t now_us);

/* broker_pub.c */
void bpub_read_subscriptions(broker_t *b);
void bpub_publish(broker_t *b);
int bpub_rebind_pub(broker_t *b);

/* broker_front.c */
void bfront_peer_of(broker_t *b, const zmq_msg_t *env);
const char *bfront_peer_addr(const broker_t *b);
void bfront_refuse_role(broker_t *b, void *sock, const route_t *rt,
                        const wire_msg_t *m, const char *why);
void bfront_reply_read(broker_t *b, const route_t *rt, const wire_msg_t *m);
void bfront_on_frontend(broker_t *b, const route_t *rt, const uint8_t *env,
                        size_t len);

/* broker_back.c */
void bback_on_backend(broker_t *b, const route_t *rt, const uint8_t *env,
                      size_t len);

/* broker_stats.c */
void bstats_publish_metrics(broker_t *b);
void bstats_on_stats(broker_t *b, const route_t *rt, const wire_msg_t *req);

#endif
