/*
 * wloop: the worker loop. Connects a DEALER out to the broker backend,
 * announces credit, runs the extraction engine on a thread pool, returns
 * Done/Failed, heartbeats, reconnects when the broker goes silent and
 * drains on request. Used by excerpt-worker and embedded by `excerpt run`.
 * Wire contract: proto/PROTOCOL.md ("Backend").
 */
#ifndef EXCERPT_WLOOP_H
#define EXCERPT_WLOOP_H

#include "../common/cfg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Settings of one worker loop; filled from wloop_cfg_table. */
typedef struct wloop_cfg {
    char *broker;               /* backend endpoint, tcp:// or ipc:// */
    int64_t threads;            /* extraction threads; 0: CPUs */
    int64_t prefetch;           /* credit per thread (jobs queued locally) */
    uint64_t heartbeat_ms;      /* Heartbeat interval to the broker */
    uint64_t broker_timeout_ms; /* silence after which the socket is redone */
    uint64_t drain_timeout_ms;  /* longest wait for running jobs on stop */
    uint64_t max_text;          /* texts above this fail (retryable) */
    uint64_t inline_max;        /* threads=1: texts run on the socket thread */
    char *name;                 /* worker name in Ready; "" = host:pid */
    char *log_level;            /* error, warn, info, debug (main applies) */
    char *key_file;             /* this worker's CURVE secret key file */
    char *broker_key_file;      /* the broker's public key file */
    char *metrics;              /* HTTP metrics/health HOST:PORT, "" none */
    char *metrics_token_file;   /* bearer token for /metrics, "" none */
    bool metrics_insecure;      /* non-loopback metrics without a token */
} wloop_cfg_t;

/* The configuration table (keys as in files and flags: "broker",
 * "threads", "heartbeat-ms", ...). Environment prefix for the daemon is
 * EXCERPT_WORKER_. */
extern const cfg_entry_t wloop_cfg_table[];
extern const size_t wloop_cfg_table_len;

/* Fill cfg with the table's defaults. Free with wloop_cfg_free().
 * Returns ERR_OK (ERR_INVAL only if the table itself is broken). */
int wloop_cfg_defaults(wloop_cfg_t *cfg);

/* Free the strings cfg owns; safe twice. */
void wloop_cfg_free(wloop_cfg_t *cfg);

typedef struct wloop wloop_t;

/*
 * Build a worker loop from cfg (copied; cfg may be freed afterwards):
 * checks the settings, compiles the extraction engine, creates the ZeroMQ
 * context and checks that the broker endpoint parses. Connects nothing
 * yet. Errors: ERR_INVAL (bad setting or endpoint, logged naming it),
 * ERR_IO. Sets *out only on success.
 */
int wloop_open(wloop_t **out, const wloop_cfg_t *cfg);

/*
 * Run until stopped: connect, send Ready{credit = threads x prefetch},
 * take jobs (queued in the pool beyond the running ones, all of them
 * heartbeated, so their leases hold), return results. Logs a line
 * containing "connected" each time Ready is sent on a new socket. Blocks
 * the calling thread, which owns the sockets; with threads = 1 it also
 * extracts texts up to inline-max itself (in slices of about 20 ms between
 * socket passes; longer texts go to the extraction thread so heartbeats go
 * on). Ready sets batch, so the broker may send Batches (read item by
 * item; a malformed one is logged and the rest of its frame dropped); what
 * one loop pass sends (answers, Ready, Heartbeat) goes out as one frame, a
 * Batch of at most about 64 KiB when it is more than one message (a Ready
 * due during a slice of jobs run here leaves at once with the answers
 * before it). Call it once per wloop_t. After wloop_request_stop() it sends no
 * more credit, finishes the jobs it holds, waits for their DoneAck and
 * returns ERR_OK; ERR_TIMEOUT if that took longer than drain-timeout (jobs
 * may still be running: wloop_destroy copes). ERR_IO on a socket failure.
 */
int wloop_run(wloop_t *w);

/* The metrics endpoint's TCP port (the OS's choice after port 0), or 0
 * when it is off. */
int wloop_metrics_port_of(const wloop_t *w);

/* Ask wloop_run to drain and return. Async-signal-safe; any thread. */
void wloop_request_stop(wloop_t *w);

/* Stop the threads and free everything; NULL-safe, sets *w = NULL. Must
 * not run concurrently with wloop_run. If a drain timed out with an
 * extraction still running, that thread is left to finish on its own and
 * the engine it uses is not freed (the process is about to exit). */
void wloop_destroy(wloop_t **w);

#endif
