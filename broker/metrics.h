/*
 * metrics: the broker's counters, histograms and gauges, and the HTTP
 * endpoint that shows them (/metrics in Prometheus text format, /healthz,
 * /readyz). The broker loop records into loop-owned fields without locks
 * and publishes a copy every tick (metrics_publish, under a mutex); the
 * HTTP thread renders only that copy, never the store or the loop's state.
 */
#ifndef EXCERPT_METRICS_H
#define EXCERPT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct metrics metrics_t;

/* Settings (borrowed for metrics_open's duration). */
typedef struct metrics_cfg {
    const char *listen;     /* "HOST:PORT" of the HTTP endpoint; NULL or ""
                               serves nothing (counters still kept) */
    const char *token_file; /* bearer token for /metrics, or NULL/"" */
    bool insecure;          /* allow non-loopback without a token */
    uint64_t stall_ms;      /* /healthz fails after this long with no tick */
    uint64_t max_queued;    /* the broker's max-queued (readiness) */
} metrics_cfg_t;

/* One connected worker as stats and /metrics show it. */
typedef struct metrics_worker {
    char name[128];        /* worker_name from its Ready */
    char ident[41];        /* hex of its routing id (first 20 bytes) */
    uint64_t credit;       /* jobs it may still be sent */
    uint64_t held;         /* jobs it holds */
    uint64_t held_bytes;   /* their text bytes */
    uint64_t last_seen_ms; /* since its last message */
} metrics_worker_t;

/* The loop's gauges, published each tick. workers is borrowed (copied). */
typedef struct metrics_state {
    uint64_t ready;          /* READY and not leased */
    uint64_t leased;         /* out with workers */
    uint64_t delayed;        /* waiting for a retry */
    uint64_t done, dead;     /* finished */
    uint64_t last_seq;       /* highest committed seq */
    uint64_t oldest_wait_ms; /* oldest waiting (ready or delayed) job */
    uint64_t store_bytes;    /* LMDB bytes in use */
    uint64_t map_bytes;      /* current map size */
    uint64_t map_limit;      /* configured limit */
    uint64_t topics;         /* publisher subscriptions (topic prefixes) */
    uint64_t pending_ops;    /* writes waiting for a group commit */
    bool draining;           /* stopping: intake closed */
    bool store_ok;           /* the store answered reads this tick */
    const metrics_worker_t *workers; /* connected workers */
    size_t n_workers;                /* their count */
} metrics_state_t;

/* Everything counted since start; loop thread only. */
typedef struct metrics_counts {
    uint64_t submits;       /* Submit requests that reached the queue */
    uint64_t accepted;      /* new jobs committed (Accepted, not dup) */
    uint64_t duplicates;    /* Accepted{duplicate} */
    uint64_t rejected[16];  /* Rejected by wire code (index = code) */
    uint64_t results;       /* results committed */
    uint64_t retries;       /* failed attempts sent to DELAYED */
    uint64_t dead;          /* jobs dead-lettered */
    uint64_t commits;       /* group commits */
    uint64_t commit_errors; /* group commits that failed */
} metrics_counts_t;

/*
 * Make the metrics and, with cfg->listen set, start the HTTP endpoint
 * (httpd_open: loopback unless a token or insecure). Errors: ERR_INVAL,
 * ERR_IO (logged). Sets *out only on success.
 */
int metrics_open(metrics_t **out, const metrics_cfg_t *cfg);

/* Stop the endpoint and free; NULL-safe, sets *m = NULL. */
void metrics_destroy(metrics_t **m);

/* The HTTP port bound, or 0 when none. */
int metrics_port(const metrics_t *m);

/* Recorders: loop thread only, no locks; m may be NULL (no-ops). */
void metrics_submit(metrics_t *m);
/* A Submit's commit: dup or new, wait_us from arrival to commit. */
void metrics_accepted(metrics_t *m, bool dup, uint64_t wait_us);
/* A Rejected of wire code code; store full also marks readiness. */
void metrics_rejected(metrics_t *m, int code);
/* A result committed: the worker's extract_us and the job's
 * submit-to-commit total_us (from its Result's Timings). */
void metrics_result(metrics_t *m, uint64_t extract_us, uint64_t total_us);
/* A failed attempt committed; state is the job's new STORE_* state. */
void metrics_failed(metrics_t *m, bool dead);
/* A group commit of ops operations that took us; rc its outcome. */
void metrics_commit(metrics_t *m, size_t ops, uint64_t us, int rc);

/* Results per second over the last 10 s (or since start when younger),
 * at 100 ms resolution. Loop thread. */
double metrics_commit_rate(const metrics_t *m);

/* The counters so far (loop thread). */
const metrics_counts_t *metrics_counts(const metrics_t *m);

/* Publish the loop's gauges with the counters and histograms for the
 * HTTP thread (takes the mutex briefly); also the liveness stamp. */
void metrics_publish(metrics_t *m, const metrics_state_t *st);

/* Render what was last published: "/metrics" in Prometheus text format,
 * "/healthz" and "/readyz" (200 "ok" or 503 with the reason). Returns the
 * HTTP status; any thread. For tests and the HTTP page. */
struct httpd_buf;
int metrics_render(metrics_t *m, const char *path, struct httpd_buf *out);

#endif
