/*
 * broker: the excerpt broker as a library. One thread runs a zmq_poll loop
 * over the frontend ROUTER (clients), backend ROUTER (workers) and the PUB
 * socket (consumers), with the store as its only LMDB writer. Writes are
 * group-committed; replies go out only after their commit. PROTOCOL.md is
 * the contract.
 */
#ifndef EXCERPT_BROKER_H
#define EXCERPT_BROKER_H

#include "../common/cfg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct broker broker_t;

/* Settings; strings are owned (freed by broker_cfg_free). */
typedef struct broker_cfg {
    char *data_dir;             /* LMDB directory */
    char *frontend;             /* client endpoint (ROUTER, bind) */
    char *backend;              /* worker endpoint (ROUTER, bind) */
    char *publisher;            /* notification endpoint (PUB, bind) */
    uint64_t map_size;          /* initial LMDB map size, bytes */
    uint64_t map_limit;         /* LMDB map never grows past this */
    uint64_t max_worker_bytes;  /* text one worker may hold */
    int64_t max_queued;         /* ready + leased + delayed jobs accepted */
    int64_t max_attempts;       /* failed attempts before dead letter */
    uint64_t lease_ms;          /* lease length, extended by heartbeats */
    uint64_t worker_timeout_ms; /* silence after which a worker is lost */
    uint64_t retry_base_ms;     /* first retry delay (doubles, jittered) */
    uint64_t retry_max_ms;      /* cap of the retry delay */
    int64_t max_credit;         /* most jobs one worker may hold */
    int64_t commit_batch;       /* operations per group commit at most */
    int64_t commit_delay_us;    /* longest wait to fill a group commit */
    int64_t early_wait_us;      /* wait for early jobs' results */
    int64_t max_readers;        /* LMDB reader slots */
    int64_t io_threads;         /* ZeroMQ I/O threads */
    char *log_level;            /* error, warn, info or debug */
    char *key_file;             /* CURVE secret key file, "" for none */
    char *allow;                /* allow-list file or directory */
    bool insecure;              /* may bind non-loopback without keys */

    char *metrics;            /* HTTP metrics/health HOST:PORT, "" none */
    char *metrics_token_file; /* bearer token for /metrics, "" none */
    bool metrics_insecure;    /* non-loopback metrics without a token */
    uint64_t health_stall_ms; /* /healthz fails after a loop stall */
} broker_cfg_t;

/* The configuration table (names as in files, flags and EXCERPT_BROKER_*
 * environment variables) and its length. */
extern const cfg_entry_t broker_cfg_table[];
extern const size_t broker_cfg_table_len;

/* Fill cfg with the defaults (cfg's previous contents are not freed).
 * Returns 0 or ERR_INVAL (a bad default: a bug). */
int broker_cfg_defaults(broker_cfg_t *cfg);

/* Free the strings cfg owns; safe twice. */
void broker_cfg_free(broker_cfg_t *cfg);

/*
 * Validate cfg, open the store (requeueing jobs leased by a previous run),
 * create the ZeroMQ context and bind the three sockets (under CURVE with
 * the allow-list's ZAP handler when key-file is set; without it, a
 * non-loopback endpoint is refused unless insecure), then log
 * "listening frontend=... backend=... publisher=...". cfg is copied.
 * Call it in the process (after fork) that will run the broker; the
 * broker may then run in another thread, one at a time.
 * Errors: ERR_INVAL (bad setting, logged naming it), ERR_IO (bind, disk),
 * ERR_VERSION (store schema), ERR_FULL. Sets *out only on success.
 */
int broker_open(broker_t **out, const broker_cfg_t *cfg);

/*
 * Serve until broker_request_stop: then refuse new submits with
 * SHUTTING_DOWN, commit what is pending, reply, and return 0. Returns a
 * negative error only when the loop cannot continue (ERR_IO).
 */
int broker_run(broker_t *b);

/* False once the store is unusable (broker_run then returns ERR_IO and
 * the process should exit non-zero: a restart recovers). For a health
 * probe; any thread, while b is open. */
bool broker_is_healthy(const broker_t *b);

/* Ask broker_run to stop. Async-signal-safe (sets a flag the loop polls
 * at least every 100 ms); callable from any thread. */
void broker_request_stop(broker_t *b);

/* Ask broker_run to reread the allow-list (SIGHUP): keys removed from it
 * are refused from their next message on, and subscribers are made to
 * handshake again. Async-signal-safe; a no-op without keys. */
void broker_request_reload(broker_t *b);

/* The metrics endpoint's TCP port (after "metrics" port 0: the one the OS
 * chose), or 0 when it is off. */
int broker_metrics_port(const broker_t *b);

/* Close sockets, context and store; NULL-safe, sets *b = NULL. Not while
 * broker_run is running. */
void broker_destroy(broker_t **b);

#endif
