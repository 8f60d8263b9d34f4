/*
 * client: the broker frontend's client library (PROTOCOL.md, "Frontend").
 * One DEALER socket per client_t; every request carries a request_id and
 * its reply is matched by it. Timeouts reopen the socket and resend;
 * Rejected{QUEUE_FULL, STORE_FULL, SHUTTING_DOWN, INTERNAL} are retried
 * after retry_after_ms within a time budget. Replies may come one per
 * frame or several in a Batch (PROTOCOL.md "Batches"); both are read.
 */
#ifndef EXCERPT_CLIENT_H
#define EXCERPT_CLIENT_H

#include "../common/result.h"
#include "../proto/curve.h"
#include "../proto/wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "sha256:" + 64 hex digits + NUL */
#define CLIENT_KEY_SIZE 72

typedef struct client client_t;

typedef struct client_opts {
    uint32_t timeout_ms;       /* wait for one reply; 0: 5000 */
    uint32_t retries;          /* resends after a timeout; see retries_set */
    bool retries_set;          /* false: retries = 3 (so 0 can mean "none") */
    uint32_t busy_budget_ms;   /* total wait on retryable Rejected; 0: 30000 */
    uint32_t batch_max;        /* client_submit_many: most Submits per frame;
                                  0: the window, 1: no Batch (for brokers
                                  that predate Batch) */
    const curve_pair_t *curve; /* this client's key pair (copied by
                                  client_open), or NULL: no CURVE */
    const char *server_key;    /* the broker's Z85 public key, with curve */
} client_opts_t;

/*
 * Connect a client to a broker frontend endpoint ("tcp://host:7440",
 * "ipc:///path/frontend.sock"). opts may be NULL for defaults. The
 * connection is lazy: an unreachable broker shows up as ERR_TIMEOUT on the
 * first request. With opts->curve the connection is CURVE-encrypted and
 * authenticated; a broker that refuses the key in its handshake makes
 * every request fail with ERR_DENIED (not a timeout), as does a
 * Rejected{UNAUTHORIZED}. Errors: ERR_INVAL (bad endpoint or key),
 * ERR_IO. Sets *out only on success. Not fork-safe: open it in the
 * process that uses it.
 */
int client_open(client_t **out, const char *endpoint,
                const client_opts_t *opts);

/* Close the socket and free the client; NULL-safe, sets *c = NULL. */
void client_destroy(client_t **c);

/*
 * Write the default idempotency key of text into out:
 * "sha256:" + lowercase hex of SHA-256(text[0..len)).
 */
void client_default_key(const char *text, size_t len,
                        char out[CLIENT_KEY_SIZE]);

/*
 * Submit one job and wait until it is Accepted (committed by the broker).
 * job->id is ignored; a NULL or empty job->key is replaced by the default
 * key of the text. *job_id gets the new or existing job id, *duplicate
 * (may be NULL) whether the key existed already; when it existed with
 * another text (the stored one is kept), client_last_error says
 * CLIENT_TEXT_DIFFERS, else it is "". Resending after a timeout is safe
 * because of the key.
 * Errors: ERR_TIMEOUT (no reply after the retries), ERR_FULL (queue or
 * store full past the busy budget), ERR_CLOSED (broker shutting down past
 * the budget), ERR_INVAL, ERR_TOOBIG, ERR_UTF8, ERR_VERSION, ERR_INTERNAL
 * (refused by the broker; reason in client_last_error), ERR_PROTO (a
 * reply that was not understood).
 */
int client_submit(client_t *c, const wire_job_t *job, uint64_t *job_id,
                  bool *duplicate);

/* What a duplicate Submit whose key exists with another text reports
 * (Accepted.text_differs): nothing changed, the stored text is kept. */
#define CLIENT_TEXT_DIFFERS                                                    \
    "the key exists with another text; the stored text is kept"

/* Called by client_submit_many once per job, in completion order: rc is 0
 * (job_id and duplicate valid) or the error client_submit would return;
 * reason is the broker's text for a refusal, CLIENT_TEXT_DIFFERS for a
 * duplicate whose stored text differs, or "" (borrowed). */
typedef void (*client_submit_cb)(void *ud, size_t index, int rc,
                                 uint64_t job_id, bool duplicate,
                                 const char *reason);

/*
 * Pipelined submit: keeps up to window (0: 64) Submits of jobs[0..n) in
 * flight and calls cb once for each job. The Submits ready in one pass
 * (at first the whole window, then as many as replies freed) go out as
 * one Batch frame of at most opts.batch_max items and 64 KiB (a
 * larger Submit goes alone); each is still its own request with its own
 * request_id, timeout and retries. A broker that predates Batch refuses
 * such a frame as a whole (Rejected INVALID, request_id 0): its Submits are
 * then resent one per frame, as every later one from this client.
 * Timeouts and retryable refusals are handled per job as in client_submit.
 * Returns 0 when every job was reported through cb (whatever its rc), ERR_IO on
 * a socket failure (the remaining jobs are reported with ERR_IO).
 */
int client_submit_many(client_t *c, const wire_job_t *jobs, size_t n,
                       size_t window, client_submit_cb cb, void *ud);

/*
 * Get a job by id (job_id != 0) or by idempotency key. On success *reply
 * holds the GetReply (reply->u.get_reply.job and .text are borrowed from
 * it; release with wire_msg_release) and, when result is not NULL and the
 * job is DONE, *result a decoded result (caller destroys; NULL otherwise).
 * Errors: ERR_NOTFOUND, ERR_TIMEOUT, ERR_PROTO (also an undecodable
 * result), other refusals as in client_submit.
 */
int client_get(client_t *c, uint64_t job_id, const char *key, bool with_text,
               wire_msg_t *reply, result_t **result);

/* Broker statistics into *st, without the per-worker rows (n_worker_stats
 * 0). Errors as client_get. */
int client_stats(client_t *c, wire_stats_t *st);

/* The whole StatsReply, per-worker rows included, in *reply
 * (reply->u.stats_reply; release with wire_msg_release). Errors as
 * client_get. */
int client_stats_reply(client_t *c, wire_msg_t *reply);

/*
 * Results committed after after_seq, at most limit (0: 100, broker caps at
 * 1000). On success *reply holds the SinceReply (release with
 * wire_msg_release). Errors as client_get.
 */
int client_since(client_t *c, uint64_t after_seq, uint32_t limit,
                 bool with_result, wire_msg_t *reply);

/* Dead letters with job id > after_job_id, at most limit. *reply holds a
 * DeadListReply (release with wire_msg_release). */
int client_dead_list(client_t *c, uint64_t after_job_id, uint32_t limit,
                     wire_msg_t *reply);

/* Requeue (or purge) the n dead jobs in ids, or every dead job when all.
 * *count (may be NULL) gets how many were moved (or deleted). */
int client_dead_requeue(client_t *c, const uint64_t *ids, size_t n, bool all,
                        uint64_t *count);
int client_dead_purge(client_t *c, const uint64_t *ids, size_t n, bool all,
                      uint64_t *count);

/* Reason of the last failed call: the broker's Rejected.reason, or a
 * description of a local failure. Borrowed until the next call; "" when
 * the last call succeeded. */
const char *client_last_error(const client_t *c);

/* wire_code_t of the last Rejected, WIRE_CODE_OK when none. */
int client_last_code(const client_t *c);

/* The status code a Rejected code maps to (QUEUE_FULL -> ERR_FULL...). */
int client_code_to_err(int code);

/*
 * One page of a Query (PROTOCOL.md "Queries"): jobs naming an entity or
 * figures across the store. On success *reply holds the QueryReply
 * (release with wire_msg_release); pass reply->u.query_reply.next as
 * q->after for the next page until it is 0. Errors as client_get
 * (ERR_INVAL: the broker refused the terms, reason in client_last_error).
 */
int client_query(client_t *c, const wire_query_t *q, wire_msg_t *reply);

/*
 * Open a SUB socket on the publisher endpoint ("ipc:///d/pub.sock",
 * "tcp://host:7442") in this client's ZeroMQ context, subscribed to topic
 * ("" for everything), with the frontend's heartbeats and frame limit. The
 * socket belongs to the caller (close it with client_sub_close before
 * client_destroy) and to the calling thread; ZeroMQ reconnects it by
 * itself. Every socket of a client is made here, so that security
 * settings apply to all of them. Errors: ERR_INVAL (bad endpoint), ERR_IO
 * (reason in client_last_error). Sets *out only on success.
 */
int client_sub_open(client_t *c, const char *endpoint, const char *topic,
                    void **out);

/* Close a socket from client_sub_open; NULL-safe, sets *sub = NULL. */
void client_sub_close(void **sub);

/*
 * Drop the frontend socket and connect a new one (for a caller that
 * recovers from an outage itself: a late reply to an earlier request then
 * never arrives on the new socket). Errors: as client_open.
 */
int client_reconnect(client_t *c);

#endif
