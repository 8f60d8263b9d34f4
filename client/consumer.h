/*
 * consumer: follow committed results exactly as PROTOCOL.md "Publisher"
 * asks, for any C program: subscribe to the publisher first, replay from
 * a cursor with Since, then read the store again whenever a notification
 * (or a periodic check, for a silent PUB tail) says there is more;
 * deliver each result once, in seq order; survive any broker outage by
 * reconnecting forever with capped exponential backoff and resuming from
 * the last delivered seq; keep that seq in a cursor file, replaced
 * atomically (temp file + fsync + rename) after each delivered page.
 */
#ifndef EXCERPT_CONSUMER_H
#define EXCERPT_CONSUMER_H

#include "../proto/curve.h"
#include "../proto/wire.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct consumer consumer_t;

typedef struct consumer_opts {
    const char *frontend;      /* broker frontend endpoint (required) */
    const char *publisher;     /* PUB endpoint; NULL: catch up only */
    const char *cursor_path;   /* cursor file, NULL: none kept */
    uint64_t from;             /* start after this seq (no cursor file yet) */
    bool from_latest;          /* start after the store's last seq instead */
    bool with_result;          /* items carry the serialised Result */
    uint32_t timeout_ms;       /* wait for one reply; 0: 5000 */
    uint32_t check_ms;         /* Since check without notifications; 0: 2000 */
    uint32_t backoff_min_ms;   /* first reconnect delay; 0: 100 */
    uint32_t backoff_max_ms;   /* reconnect delay cap; 0: 5000 */
    const curve_pair_t *curve; /* this consumer's key pair (copied), or
                                  NULL: no CURVE */
    const char *server_key;    /* the broker's Z85 public key, with curve */
} consumer_opts_t;

/* Called once per result, in seq order (item borrowed for the call). A
 * non-zero return stops the consumer: that item is not counted as
 * delivered, and consumer_run returns the value. */
typedef int (*consumer_fn)(void *ud, const wire_committed_t *item);

/*
 * Make a consumer: reads the cursor file when it exists (it then wins over
 * from and from_latest), opens the client and subscribes to the
 * publisher (topic "group"). Nothing is sent yet.
 * Errors: ERR_INVAL (no frontend, bad endpoint, a cursor file that does
 * not hold one decimal seq), ERR_IO. Sets *out only on success.
 */
int consumer_open(consumer_t **out, const consumer_opts_t *o);

/* Close the sockets and free; NULL-safe, sets *c = NULL. The cursor file
 * already holds the last delivered seq. */
void consumer_destroy(consumer_t **c);

/*
 * Deliver every result after the cursor, then (with a publisher) every new
 * one as it is committed, until *stop is set (checked at least every
 * 200 ms) or fn returns non-zero. Broker failures (unreachable, timeouts,
 * refusals) are never returned: they are logged once per outage and
 * retried forever with backoff. Without a publisher it returns once the
 * store has nothing newer (the "no follow" mode), and a failed request is
 * returned instead (client errors: ERR_TIMEOUT...; reason in the log).
 * Returns 0, fn's non-zero value, or ERR_IO when the cursor file cannot
 * be written.
 */
int consumer_run(consumer_t *c, consumer_fn fn, void *ud,
                 const volatile sig_atomic_t *stop);

/* The last delivered seq (the cursor). */
uint64_t consumer_last_seq(const consumer_t *c);

/* Outages survived so far (a failed request followed by a retry). */
uint64_t consumer_outages(const consumer_t *c);

/*
 * Read a cursor file: one decimal seq, optionally followed by a newline.
 * Errors: ERR_NOTFOUND (no file), ERR_INVAL (other content), ERR_IO.
 */
int consumer_cursor_load(const char *path, uint64_t *seq);

/*
 * Replace the cursor file atomically with seq: write path.tmp, fsync it,
 * rename it over path, fsync the directory. Mode 0600. Errors: ERR_IO.
 */
int consumer_cursor_save(const char *path, uint64_t seq);

#endif
