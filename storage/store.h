/*
 * store: the durable job queue and result store on LMDB. One environment,
 * named databases (jobs, payloads, ready, delayed, leased, dedup, results,
 * log, entities, dead, meta). Single writer: only the broker uses it, from
 * one thread. Writes happen in explicit transactions so that many
 * operations share one durable commit (group commit).
 */
#ifndef EXCERPT_STORE_H
#define EXCERPT_STORE_H

#include "../common/result.h"
#include "../proto/wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* On-disk schema version kept in meta. A version 1 store (whose entity
 * index had another layout, still read) is marked 2 at open, so older
 * brokers refuse it; any other version is ERR_VERSION. */
#define STORE_SCHEMA_VERSION 2u

/* Longest history kept per job (lines) and per line (bytes). */
#define STORE_MAX_HISTORY 16u
#define STORE_MAX_REASON 512u

typedef struct store store_t;

typedef struct store_cfg {
    const char *dir;      /* data directory; created (0700) if missing */
    uint64_t map_size;    /* initial map size in bytes (0: 64 MiB) */
    uint64_t map_limit;   /* the map never grows past this (0: map_size) */
    unsigned max_readers; /* LMDB reader slots (0: 126) */
} store_cfg_t;

/* Job states; the values are the wire's JobState (wire_job_state_t). */
enum {
    STORE_READY = WIRE_JOB_READY,
    STORE_LEASED = WIRE_JOB_LEASED,
    STORE_DELAYED = WIRE_JOB_DELAYED,
    STORE_DONE = WIRE_JOB_DONE,
    STORE_DEAD = WIRE_JOB_DEAD
};

/*
 * One job's record. Strings are NUL-terminated and borrowed: from LMDB
 * memory, valid until the transaction they were read in ends.
 */
typedef struct store_job {
    uint64_t id;            /* job id, 1-based, never reused */
    int state;              /* STORE_READY ... STORE_DEAD */
    uint32_t attempt;       /* highest attempt recorded (fence); 0: none */
    uint32_t tries;         /* failed attempts since submit or requeue */
    int32_t priority;       /* 0..9, higher first */
    uint64_t submitted_ms;  /* wall clock at submit */
    uint64_t finished_ms;   /* wall clock when done or dead, else 0 */
    uint64_t seq;           /* commit sequence number when done, else 0 */
    uint64_t text_bytes;    /* size of the transcript */
    uint64_t not_before_ms; /* DELAYED: wall clock of the retry */
    uint64_t enqueued_ms;   /* wall clock when it last became READY */
    uint64_t leased_ms;     /* wall clock of the last lease */
    uint64_t attempt_run;   /* store open (broker run) that recorded attempt;
                               0: before runs were counted */
    const char *key;        /* idempotency key */
    const char *last_error; /* reason of the last failure, "" if none */
    const char *source_url; /* from the job */
    const char *title;      /* from the job */
    const char *history;    /* failed attempts, one per '\n'-ended line */
    uint32_t n_history;     /* lines in history */
} store_job_t;

/* Jobs by state and the sequence counters; O(1) to read. */
typedef struct store_counts {
    uint64_t ready, leased, delayed, done, dead; /* jobs by state */
    uint64_t last_seq;                           /* highest committed seq */
    uint64_t last_id; /* highest job id issued or reserved */
} store_counts_t;

/* Map usage for stats. */
typedef struct store_info {
    uint64_t map_bytes;  /* current map size */
    uint64_t used_bytes; /* pages in use (high-water mark) times page size */
    uint64_t map_limit;  /* configured maximum map size */
} store_info_t;

/* A job handed out by store_lease_next. */
typedef struct store_lease {
    uint64_t id;        /* job id */
    uint32_t attempt;   /* the new attempt number, 1-based */
    uint64_t queued_ms; /* wall ms the job waited since it became READY */
    wire_msg_t msg;     /* decoded Submit; msg.u.submit.job is the job */
} store_lease_t;

/* What store_done committed. */
typedef struct store_done {
    uint64_t seq;        /* the result's sequence number */
    char *key;           /* the job's key; caller frees */
    uint64_t extract_us; /* the worker's Timings.extract_us (0: none) */
    uint64_t total_us;   /* submitted -> committed, as in its Timings */
} store_done_t;

/* One committed result, passed to a store_since callback (borrowed). */
typedef struct store_item {
    uint64_t seq;          /* commit sequence number */
    uint64_t job_id;       /* the job */
    const char *key;       /* the job's key */
    const uint8_t *result; /* serialised Result, seq set; NULL unless asked */
    size_t result_len;     /* bytes in result */
} store_item_t;

/* Callbacks return 0 to continue; anything else stops the walk early
 * (that item is not counted). */
typedef int (*store_item_fn)(void *arg, const store_item_t *item);
typedef int (*store_job_fn)(void *arg, const store_job_t *job,
                            const char *reason);
typedef int (*store_id_fn)(void *arg, uint64_t job_id);

/*
 * Open (creating if needed) the store in cfg->dir, clear stale reader
 * slots, check the schema version and load the counters. The environment
 * is never opened with MDB_WRITEMAP and syncs on every commit. Open it in
 * the process that uses it (after fork) and use it from one thread.
 * Holds an exclusive flock on cfg->dir/lock until store_destroy: a second
 * open of the same dir (another broker) fails with ERR_IO, logged.
 * Errors: ERR_INVAL (bad cfg), ERR_IO, ERR_VERSION (other schema), ERR_FULL.
 * Sets *out only on success.
 */
int store_open(store_t **out, const store_cfg_t *cfg);

/* Abort any open transaction, close the environment, free; NULL-safe,
 * sets *s = NULL. */
void store_destroy(store_t **s);

/*
 * Write transactions. Between store_txn_begin and store_txn_commit or
 * store_txn_abort every write operation below runs as its own nested
 * transaction: a failed operation leaves nothing behind and the others in
 * the group still commit. A write op returning ERR_AGAIN means the map
 * must grow: call store_txn_abort (which grows it, doubling up to the
 * limit) and redo the whole group. ERR_FULL means the map is at its limit;
 * the group txn stays usable.
 * store_txn_commit makes everything durable (fsync) or nothing: ERR_AGAIN
 * (map grown, or a flat group's deferred writes failed: redo the group,
 * with store_txn_begin after a flat one), ERR_FULL, ERR_IO; the txn is
 * over either way.
 * Threads: write txns and store_counts belong to one thread (the writer);
 * one other thread may run read txns and store_info meanwhile. Growing the
 * map waits for read txns to end, so the writer must not hold a read txn
 * when it begins, aborts or commits.
 */
int store_txn_begin(store_t *s);
int store_txn_commit(store_t *s);

/*
 * Like store_txn_begin, but the write operations of this group run directly
 * in the group txn, without a nested txn each: much cheaper per operation
 * (a nested txn copies every page it touches and merges its dirty list
 * into the group's, so its cost grows with the group), but a failed
 * operation cannot be rolled back alone. Operations that fail before
 * writing anything (duplicate key, unknown job, ERR_STALE fence, a
 * malformed result) still return their usual code and leave the group
 * usable; any other failure returns ERR_AGAIN: call store_txn_abort and
 * redo the whole group, with store_txn_begin so that the failing
 * operation fails alone. The entity index entries of the group's results
 * are written in key order by store_txn_commit (many results name the same
 * entities): store_entity_jobs sees them once the group is committed.
 * Errors as store_txn_begin.
 */
int store_txn_begin_flat(store_t *s);
void store_txn_abort(store_t *s);
/* True while a write transaction is open. */
bool store_in_txn(const store_t *s);

/*
 * Read transactions: the read functions below use the read txn opened
 * here if it is live, else the open write txn, and borrowed pointers they
 * return stay valid until that txn ends. Keep read txns short: an open one
 * pins old pages. store_read_begin returns ERR_IO or ERR_AGAIN (no reader
 * slot); store_read_end is safe when none is open.
 */
int store_read_begin(store_t *s);
void store_read_end(store_t *s);

/*
 * Add a job (write op). job->key must be 1..WIRE_MAX_KEY bytes, job->text
 * non-empty; the caller validated the rest. An existing key sets
 * *duplicate and returns that job's id without writing. Otherwise the job
 * gets job->id when it is non-zero (an id the caller assigned: it must be
 * larger than every id submitted before, see store_reserve_ids), else the
 * next id after the highest issued or reserved; its payload is stored and
 * it is queued READY.
 * Errors: ERR_INVAL, ERR_AGAIN/ERR_FULL (see transactions), ERR_IO.
 */
int store_submit(store_t *s, const wire_job_t *job, uint64_t now_ms,
                 uint64_t *id, bool *duplicate);

/*
 * Record (write op) that every job id up to upto may have been handed out:
 * store_submit never issues those ids itself, and after a crash the ids a
 * caller assigned to jobs that never committed are not issued again. A
 * value at or below the current mark changes nothing.
 * Errors: as store_submit.
 */
int store_reserve_ids(store_t *s, uint64_t upto);

/*
 * Durably lease the first READY job (highest priority, then queue order):
 * it becomes LEASED with store_lease_attempt (store_requeue_leased undoes it at
 * the next start). The broker leases in memory instead (store_ready_scan)
 * so dispatch needs no commit. out->msg holds a decoded copy of the job
 * (release it with wire_msg_release, also after an abort). A payload that
 * cannot be read dead-letters its job and the next one is tried.
 * Errors: ERR_NOTFOUND (queue empty), ERR_AGAIN/ERR_FULL, ERR_IO.
 */
int store_lease_next(store_t *s, uint64_t now_ms, store_lease_t *out);

/*
 * Commit a job's result (write op), fenced: the job must exist, be neither
 * DONE nor DEAD, and attempt must be >= 1 and not older than the job's
 * recorded attempt (the caller fences attempts it leased in memory; the
 * store refuses what it knows to be stale). The attempt is recorded.
 * Stores the result once (the serialised Result with job_id, seq and the
 * broker's timings appended, extract_us kept), assigns the next sequence
 * number, logs it, indexes the entities and marks the job DONE. The
 * entities (and extract_us) come from r when given, else straight from
 * the serialised bytes (no full decode: what the broker does).
 * ERR_INVAL when r is NULL and the bytes fail store_result_check.
 * out->key is set on success (caller frees).
 * Errors: ERR_NOTFOUND (no job), ERR_STALE (fenced), ERR_EXISTS (result
 * exists), ERR_AGAIN/ERR_FULL, ERR_IO.
 */
/*
 * Check a serialised Result before it is committed: wire_result_check()
 * (proto/wire.h), one pass without decoding, so that what the store
 * accepts is what every consumer can decode. Returns 0, ERR_PROTO or
 * ERR_INVAL (NULL with len). Any thread; touches no txn.
 */
int store_result_check(const uint8_t *buf, size_t len);

int store_done(store_t *s, uint64_t id, uint32_t attempt, const uint8_t *result,
               size_t result_len, const result_t *r, uint64_t now_ms,
               store_done_t *out);

/*
 * Record a failed attempt (write op), fenced like store_done; the attempt
 * is recorded and tries grows by one. The reason (truncated to
 * STORE_MAX_REASON) becomes last_error and a history line. With permanent,
 * or when tries reaches max_attempts, the job is dead-lettered; otherwise
 * it waits DELAYED until retry_at_ms (wall).
 * *state (may be NULL) gets the new state.
 * Errors: ERR_NOTFOUND, ERR_STALE, ERR_AGAIN/ERR_FULL, ERR_IO.
 */
int store_fail(store_t *s, uint64_t id, uint32_t attempt, const char *reason,
               bool permanent, uint32_t max_attempts, uint64_t retry_at_ms,
               uint64_t now_ms, int *state);

/*
 * The attempt number the next lease of job j (read in this open) takes:
 * higher than every attempt any broker run could have handed out for it.
 * A broker leases in memory and records an attempt only when it ends
 * (store_done, store_fail), so each run since the recorded one may have
 * handed out one more, never recorded: the number skips one per such run,
 * and attempts never repeat across restarts (kill -9 included). Within a
 * run, leasing again after a recorded attempt gives attempt + 1.
 */
uint32_t store_lease_attempt(const store_t *s, const store_job_t *j);

/* Move every LEASED job back to READY (write op; at broker start, when no
 * lease can still be running). *count (may be NULL) gets how many. */
int store_requeue_leased(store_t *s, uint64_t now_ms, uint64_t *count);

/* Move up to max DELAYED jobs whose retry time is <= now_ms to READY
 * (write op). *count (may be NULL) gets how many. */
int store_promote_due(store_t *s, uint64_t now_ms, size_t max, uint64_t *count);

/* Call fn with the READY job ids in dispatch order (priority, then queue
 * order) until it returns non-zero (read). Returns the number of ids
 * passed, or a negative error. */
int store_ready_scan(store_t *s, store_id_fn fn, void *arg);

/* A READY entry's position in dispatch order: opaque bytes. */
#define STORE_READY_POS 9u
typedef struct store_ready_pos {
    uint8_t b[STORE_READY_POS];
} store_ready_pos_t;

/* Called per READY entry by store_ready_scan_from: its job id and
 * position; non-zero stops the scan. */
typedef int (*store_ready_fn)(void *arg, uint64_t job_id,
                              const store_ready_pos_t *pos);

/* As store_ready_scan, but from the first entry at or after *from (NULL:
 * the first entry), and fn also gets each entry's position, so a caller
 * that knows the entries before some position are all taken can start
 * there next time (read). */
int store_ready_scan_from(store_t *s, const store_ready_pos_t *from,
                          store_ready_fn fn, void *arg);

/* The priority of the entry at pos: an entry that becomes READY later
 * sorts after pos unless its priority is higher than this. */
int store_ready_pos_priority(const store_ready_pos_t *pos);

/* Earliest retry time of a DELAYED job (read). ERR_NOTFOUND if none. */
int store_next_due(store_t *s, uint64_t *when_ms);

/* Move a DEAD job back to READY with tries reset (write op).
 * ERR_NOTFOUND when it does not exist or is not dead. */
int store_dead_requeue(store_t *s, uint64_t id, uint64_t now_ms);

/* Delete a DEAD job: record, payload, dead letter and its key (write op).
 * ERR_NOTFOUND when it does not exist or is not dead. */
int store_dead_purge(store_t *s, uint64_t id);

/* Requeue or purge every dead job (write op); *count gets how many. */
int store_dead_requeue_all(store_t *s, uint64_t now_ms, uint64_t *count);
int store_dead_purge_all(store_t *s, uint64_t *count);

/* Read a job by id or by key (read). ERR_NOTFOUND, ERR_IO (corrupt). */
int store_get(store_t *s, uint64_t id, store_job_t *out);
int store_get_key(store_t *s, const char *key, size_t key_len,
                  store_job_t *out);

/* Borrow the stored result of a job (read), seq set. ERR_NOTFOUND. */
int store_result(store_t *s, uint64_t id, const uint8_t **buf, size_t *len);

/* The stored payload of job id as its raw bytes: the encoded Submit
 * envelope (see wire_splice_dispatch), borrowed until the txn ends.
 * Errors: ERR_NOTFOUND, ERR_IO. */
int store_payload_raw(store_t *s, uint64_t id, const uint8_t **buf,
                      size_t *len);
/* Decode the job's payload (read) into *out (a Submit message; release
 * with wire_msg_release). ERR_NOTFOUND, ERR_IO (undecodable). */
int store_payload(store_t *s, uint64_t id, wire_msg_t *out);

/*
 * Call fn for each committed result with seq > after_seq, in seq order, at
 * most limit of them (read). with_result includes the result bytes.
 * Returns the number of items passed to fn, or a negative error.
 */
int store_since(store_t *s, uint64_t after_seq, size_t limit, bool with_result,
                store_item_fn fn, void *arg);

/* Call fn for each dead job with id > after_id in id order, at most limit
 * (read); reason is the dead-letter reason. Returns the count or error. */
int store_dead_list(store_t *s, uint64_t after_id, size_t limit,
                    store_job_fn fn, void *arg);

/* Call fn with each job id whose result names an entity of this type and
 * name (compared normalised: case-folded ASCII, single spaces), ascending,
 * each once (read). Returns the count or a negative error. */
int store_entity_jobs(store_t *s, int type, const char *name, store_id_fn fn,
                      void *arg);

/* Wall time at which the longest-waiting READY job was queued (read).
 * ERR_NOTFOUND when nothing is ready. */
int store_oldest_ready(store_t *s, uint64_t *enqueued_ms);

/* Wall time since which the longest-waiting job has been queued (read):
 * the oldest READY job for which skip(arg, id) returns 0 (the broker
 * skips jobs it leased in memory, which stay READY in the store; it
 * visits at most the skipped entries plus one per priority), or the
 * DELAYED job due first, by the time it was last queued READY.
 * ERR_NOTFOUND when no job waits; ERR_IO. */
int store_oldest_waiting(store_t *s, store_id_fn skip, void *arg,
                         uint64_t *queued_ms);

/* Jobs by state and counters, including the open txn's changes (writer
 * thread only). */
void store_counts(const store_t *s, store_counts_t *out);

/*
 * True once LMDB refuses every transaction (a failed meta page write left
 * the environment fatal, MDB_PANIC): nothing but closing the store and
 * opening it again (a process restart) recovers. Logged once when seen.
 * Any thread.
 */
bool store_is_broken(const store_t *s);

/* Map size, use and limit. */
void store_info(store_t *s, store_info_t *out);

/* The default idempotency key of a text: "sha256:" + 64 lowercase hex
 * digits. Returns a new string; caller frees. */
char *store_key_default(const char *text, size_t len);

/*
 * Open the store in dir read-only, beside a broker that may be writing it
 * (LMDB's multi-process readers): no flock, no writes, nothing created.
 * The counters are those of the last commit at open. Only the read
 * functions (store_read_begin ... store_read_end), store_counts,
 * store_info and store_backup may be used; write ops fail.
 * Errors: ERR_NOTFOUND (no store in dir), ERR_VERSION, ERR_IO.
 * Sets *out only on success.
 */
int store_open_readonly(store_t **out, const char *dir);

/*
 * Write a consistent, compacted copy of the store (as of one read txn)
 * to dir/data.mdb, mode 0600, synced; dir must exist and hold no
 * data.mdb. Works on a store that a broker keeps writing. Restore: stop
 * the broker, put the copy in place of the data dir's data.mdb (remove
 * lock.mdb), start. Errors: ERR_EXISTS (data.mdb exists), ERR_IO.
 */
int store_backup(store_t *s, const char *dir);

/* Called per stored result by store_results_scan: job id and the
 * serialised Result (seq set), borrowed until the txn ends; non-zero
 * stops the walk. */
typedef int (*store_result_fn)(void *arg, uint64_t job_id,
                               const uint8_t *result, size_t len);

/* Call fn for each stored result with job id > after_id, in job id order
 * (read). Returns the number of results passed, or a negative error. */
int store_results_scan(store_t *s, uint64_t after_id, store_result_fn fn,
                       void *arg);

#endif
