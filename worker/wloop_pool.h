/*
 * wloop_pool: the extraction threads of a worker loop. Jobs go in under a
 * mutex + condvar; each finished job comes back as a ready-to-send Done or
 * Failed envelope on a done list, announced by a byte on a wake pipe that
 * the socket thread polls (only while it sleeps there). Threads never
 * touch a ZeroMQ socket.
 * Internal to worker/wloop*.c.
 */
#ifndef EXCERPT_WLOOP_POOL_H
#define EXCERPT_WLOOP_POOL_H

#include "../proto/wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One finished job: the envelope to send, kept until the broker acks it. */
typedef struct wloop_done {
    struct wloop_done *next; /* list link */
    uint64_t job_id;         /* job it answers */
    uint32_t attempt;        /* attempt it answers (the fence) */
    bool failed;             /* a Failed rather than a Done */
    bool permanent;          /* Failed.permanent */
    uint64_t extract_us;     /* engine time, 0 when failed */
    uint8_t *env;            /* encoded Envelope (Done or Failed) */
    size_t env_len;          /* bytes in env */
} wloop_done_t;

typedef struct wloop_pool wloop_pool_t;

/*
 * Compile the engine and start threads extraction threads. Texts longer
 * than max_text fail with a retryable Failed. Errors: ERR_IO (pipe or
 * thread creation failed; nothing is left running). Sets *out on success.
 */
int wloop_pool_open(wloop_pool_t **out, size_t threads, uint64_t max_text);

/* Read end of the wake pipe: readable when a job finished while the
 * socket thread slept (wloop_pool_sleep_begin) or after wloop_pool_wake().
 * Owned by the pool. */
int wloop_pool_wake_fd(const wloop_pool_t *p);

/* Make the wake fd readable. Async-signal-safe. */
void wloop_pool_wake(wloop_pool_t *p);

/* Empty the wake pipe (after poll found it readable). */
void wloop_pool_clear_wake(wloop_pool_t *p);

/* The socket thread is about to block in poll on the wake fd: returns
 * false (do not block) when finished jobs wait to be taken; otherwise the
 * next job to finish writes the wake byte. Pair a true return with
 * wloop_pool_sleep_end() after the poll. Without this, finished jobs
 * write no wake byte. */
bool wloop_pool_sleep_begin(wloop_pool_t *p);

/* The socket thread is awake again (after poll). */
void wloop_pool_sleep_end(wloop_pool_t *p);

/* Extract a decoded Dispatch in the calling thread with the pool's engine
 * and return its done record (caller owns it, as from take_done). Takes
 * ownership of *dispatch and releases it. Any thread; the pool's own
 * threads are not involved. */
wloop_done_t *wloop_pool_run_here(wloop_pool_t *p, wire_msg_t *dispatch);

/* Queue a decoded Dispatch; the pool takes ownership of *dispatch (its
 * contents are moved out and *dispatch is zeroed). */
void wloop_pool_push(wloop_pool_t *p, wire_msg_t *dispatch);

/* Take every finished job, oldest first (NULL when none). The caller owns
 * the list; free each with wloop_done_free(). */
wloop_done_t *wloop_pool_take_done(wloop_pool_t *p);

/* Free one done record (not its successors); NULL-safe. */
void wloop_done_free(wloop_done_t *d);

/* Number of jobs queued or being extracted. Thread-safe. */
size_t wloop_pool_pending(wloop_pool_t *p);

/*
 * Stop the threads and free the pool; NULL-safe, sets *p = NULL. Queued
 * jobs are dropped. Idle threads are joined; if an extraction is still
 * running its thread is detached and the pool (with the engine it uses)
 * is deliberately leaked, since the caller is shutting down on a timeout.
 */
void wloop_pool_destroy(wloop_pool_t **p);

#endif
