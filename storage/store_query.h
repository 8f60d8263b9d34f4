/*
 * store_query: reads over the store that answer frontend requests the same
 * way in the broker and in a CLI that opened the store read-only (no
 * broker running): Query (jobs naming an entity, figures across the
 * store), and the Get and Stats replies as far as the store knows them.
 */
#ifndef EXCERPT_STORE_QUERY_H
#define EXCERPT_STORE_QUERY_H

#include "store.h"

/* Most hits per page, and the default. */
#define STORE_QUERY_MAX_LIMIT 1000u
#define STORE_QUERY_DEFAULT_LIMIT 100u
/* A figure query reads at most this many results per page (it scans),
 * and stops after STORE_QUERY_SCAN_US of scanning (checked every 32
 * results): a page then holds the broker's loop for a few ms at most
 * (about 4 us per result, Release, 1 KB results). */
#define STORE_QUERY_SCAN_MAX 5000u
#define STORE_QUERY_SCAN_US 5000u
/* A page stops adding hits once its figures and strings pass this. */
#define STORE_QUERY_REPLY_BYTES (4u << 20)

/* A QueryReply being built; owns what its hits point to, except strings
 * borrowed from the read txn (valid until it ends). */
typedef struct store_query_reply {
    wire_query_hit_t *hits; /* hits, in job id order */
    size_t n;               /* count */
    size_t cap;             /* allocated */
    uint64_t next;          /* token for the next page, 0: none */
    uint64_t scanned;       /* jobs looked at */
    result_t **results;     /* decoded results the figures point into */
    size_t n_results;       /* count */
    wire_figure_t **figs;   /* figure arrays, one per figure hit */
    size_t n_figs;          /* count */
} store_query_reply_t;

/*
 * Check a Query's terms. Returns 0, or ERR_INVAL with *why (static text)
 * naming the problem: neither or both of entity and figure, an unknown
 * type, min > max.
 */
int store_query_check(const wire_query_t *q, const char **why);

/*
 * Run a checked Query in the open read txn (store_read_begin) into *out
 * (zeroed here; release with store_query_reply_free after the txn ends
 * or before, the borrowed strings dying with the txn). Entity queries
 * read the entity index; figure queries scan results in job id order,
 * at most STORE_QUERY_SCAN_MAX or STORE_QUERY_SCAN_US per page.
 * Errors: ERR_IO (store).
 */
int store_query_run(store_t *s, const wire_query_t *q,
                    store_query_reply_t *out);

/* Make m a QueryReply (request_id rid) whose hits borrow from page. */
void store_query_reply_msg(const store_query_reply_t *page, uint64_t rid,
                           wire_msg_t *m);

/* Free what out owns; safe on a zeroed or freed reply. */
void store_query_reply_free(store_query_reply_t *out);

/*
 * A GetReply for job_id (or key when job_id is 0) from the open read txn,
 * as the broker answers it except for leases it holds in memory. text
 * (zeroed here) holds the decoded payload when with_text: release it with
 * wire_msg_release. Errors: ERR_NOTFOUND, ERR_IO.
 */
int store_query_get(store_t *s, uint64_t job_id, const char *key,
                    bool with_text, wire_msg_t *reply, wire_msg_t *text);

/*
 * Stats as the store knows them: jobs by state, last seq, oldest ready
 * age (wall clock now_ms), store and map size; the broker's own figures
 * (workers, totals, uptime, rate) are 0. Uses a read txn of its own.
 */
void store_query_stats(store_t *s, uint64_t now_ms, wire_stats_t *out);

#endif
