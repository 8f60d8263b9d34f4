/*
 * wloop_metrics: the worker's counters and its HTTP endpoint (/metrics in
 * Prometheus text format, /healthz while its loop runs, /readyz while it
 * hears its broker). The worker loop records without locks and publishes
 * a copy at most every 100 ms; the HTTP thread renders only that copy.
 */
#ifndef EXCERPT_WLOOP_METRICS_H
#define EXCERPT_WLOOP_METRICS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct wloop_metrics wloop_metrics_t;

/* The loop's figures as it publishes them. */
typedef struct wloop_metrics_state {
    uint64_t done;     /* results the broker acknowledged */
    uint64_t failed;   /* Failed sent */
    uint64_t fenced;   /* answers the broker discarded (old attempt) */
    uint64_t held;     /* jobs held (running or queued) */
    int64_t credit;    /* credit granted and not used */
    uint64_t capacity; /* threads x prefetch */
    uint64_t threads;  /* extraction threads */
    bool connected;    /* a socket that heard the broker */
    bool draining;     /* stopping */
} wloop_metrics_state_t;

/*
 * Start the endpoint on listen ("HOST:PORT"; port 0 picks one) with the
 * token rules of httpd_open; stall_ms: /healthz fails when the loop has
 * not published for this long. Errors: ERR_INVAL, ERR_IO (logged). Sets
 * *out only on success.
 */
int wloop_metrics_open(wloop_metrics_t **out, const char *listen,
                       const char *token_file, bool insecure,
                       uint64_t stall_ms);

/* Stop the endpoint and free; NULL-safe, sets *m = NULL. */
void wloop_metrics_destroy(wloop_metrics_t **m);

/* The port bound. */
int wloop_metrics_port(const wloop_metrics_t *m);

/* One job finished on this worker: its engine time (loop thread). */
void wloop_metrics_job(wloop_metrics_t *m, bool failed, uint64_t extract_us);

/* Publish st (loop thread; cheap to call often: it copies at most every
 * 100 ms unless force). NULL m: nothing. */
void wloop_metrics_publish(wloop_metrics_t *m, const wloop_metrics_state_t *st,
                           bool force);

#endif
