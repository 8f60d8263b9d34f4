/*
 * wire: the only door to the protobuf-c generated code. Converts between
 * wire bytes and plain C structs (wire_msg_t, result_t), with bounded
 * memory when decoding untrusted frames. See PROTOCOL.md for the protocol.
 */
#ifndef EXCERPT_WIRE_H
#define EXCERPT_WIRE_H

#include "../common/result.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_PROTOCOL_VERSION 1u

/* Limits every peer enforces (PROTOCOL.md "Limits"). */
#define WIRE_MAX_FRAME (72u << 20) /* ZMQ_MAXMSGSIZE on every socket */
#define WIRE_MAX_TEXT (64u << 20)  /* Job.text bytes */
#define WIRE_MAX_KEY 1024u         /* Job.key bytes */
#define WIRE_MAX_FIELD 4096u       /* source_url, title, published */
#define WIRE_MAX_META 64u          /* metadata entries */
#define WIRE_MAX_META_BYTES 65536u /* all metadata keys + values */
#define WIRE_MAX_BATCH 1000u       /* Since limit, dead list limit */
#define WIRE_MAX_PRIORITY 9

/* Message kinds; values match the Envelope oneof field numbers. */
typedef enum {
    WIRE_NONE = 0,
    WIRE_SUBMIT = 10,
    WIRE_ACCEPTED = 11,
    WIRE_REJECTED = 12,
    WIRE_READY = 13,
    WIRE_DISPATCH = 14,
    WIRE_DONE = 15,
    WIRE_FAILED = 16,
    WIRE_HEARTBEAT = 17,
    WIRE_DONE_ACK = 18,
    WIRE_GET = 19,
    WIRE_GET_REPLY = 20,
    WIRE_SINCE = 21,
    WIRE_SINCE_REPLY = 22,
    WIRE_COMMITTED = 23,
    WIRE_STATS = 24,
    WIRE_STATS_REPLY = 25,
    WIRE_DEAD_LIST = 26,
    WIRE_DEAD_LIST_REPLY = 27,
    WIRE_DEAD_REQUEUE = 28,
    WIRE_DEAD_PURGE = 29,
    WIRE_DEAD_REPLY = 30,
    WIRE_BATCH = 31 /* never decoded by wire_decode: see wire_batch.h */
} wire_kind_t;

/* Rejection codes; values match proto Code. */
typedef enum {
    WIRE_CODE_OK = 0,
    WIRE_CODE_INVALID = 1,
    WIRE_CODE_TOO_LARGE = 2,
    WIRE_CODE_BAD_VERSION = 3,
    WIRE_CODE_BAD_UTF8 = 4,
    WIRE_CODE_QUEUE_FULL = 5,
    WIRE_CODE_STORE_FULL = 6,
    WIRE_CODE_NOT_FOUND = 7,
    WIRE_CODE_SHUTTING_DOWN = 8,
    WIRE_CODE_INTERNAL = 9,
    WIRE_CODE_UNAUTHORIZED = 10
} wire_code_t;

/* Job states; values match proto JobState. */
typedef enum {
    WIRE_JOB_READY = 1,
    WIRE_JOB_LEASED = 2,
    WIRE_JOB_DELAYED = 3,
    WIRE_JOB_DONE = 4,
    WIRE_JOB_DEAD = 5
} wire_job_state_t;

/*
 * In every struct below, pointers are borrowed: when encoding, from the
 * caller; when decoded, from the wire_msg_t, valid until wire_msg_release.
 * NULL strings encode as "". Byte fields are (ptr, len) pairs.
 */
typedef struct wire_job {
    uint64_t id;                    /* broker-assigned id, 0 in Submit */
    const char *key;                /* idempotency key */
    const char *source_url;         /* origin of the transcript */
    const char *title;              /* document title */
    const char *published;          /* ISO 8601 date or "" */
    const char *text;               /* transcript bytes (not NUL-terminated) */
    size_t text_len;                /* bytes in text */
    size_t n_meta;                  /* metadata entries */
    const char *const *meta_keys;   /* n_meta keys */
    const char *const *meta_values; /* n_meta values */
    int32_t priority;               /* 0..9, higher first */
} wire_job_t;

typedef struct wire_job_info {
    uint64_t id;            /* job id */
    const char *key;        /* idempotency key */
    int state;              /* wire_job_state_t */
    uint32_t attempts;      /* attempts started */
    int32_t priority;       /* 0..9 */
    uint64_t submitted_ms;  /* wall clock ms */
    uint64_t finished_ms;   /* wall clock ms, 0 if not finished */
    uint64_t seq;           /* commit seq when done */
    const char *last_error; /* last failure reason or "" */
    const char *source_url; /* from the job */
    const char *title;      /* from the job */
    uint64_t text_bytes;    /* size of the text */
} wire_job_info_t;

typedef struct wire_committed {
    uint64_t seq;          /* gap-free commit sequence number */
    uint64_t job_id;       /* job that produced it */
    const char *key;       /* the job's idempotency key */
    const uint8_t *result; /* serialised Result or NULL */
    size_t result_len;     /* bytes in result */
} wire_committed_t;

typedef struct wire_dead {
    wire_job_info_t job;        /* the job */
    const char *reason;         /* final reason */
    size_t n_history;           /* failed attempts */
    const char *const *history; /* one line per failed attempt */
} wire_dead_t;

typedef struct wire_stats {
    uint64_t ready, leased, delayed, done, dead; /* jobs by state */
    uint64_t last_seq;                           /* highest committed seq */
    uint64_t oldest_ready_age_ms; /* age of the oldest ready job */
    uint64_t store_bytes;         /* map bytes in use */
    uint64_t map_bytes;           /* current map size */
    uint64_t map_limit;           /* configured maximum map size */
    uint32_t workers;             /* connected workers */
    uint64_t submitted_total;     /* accepted since broker start */
    uint64_t committed_total;     /* committed since broker start */
    uint64_t rejected_total;      /* rejected since broker start */
    uint64_t uptime_ms;           /* broker uptime */
    double commit_rate;           /* results/s, last 10 s */
} wire_stats_t;

typedef struct wire_msg {
    int kind;            /* wire_kind_t */
    uint32_t version;    /* protocol version (set by decode) */
    uint64_t request_id; /* echoed in replies */
    union {
        struct {
            wire_job_t job;
        } submit;
        struct {
            uint64_t job_id;
            bool duplicate;
        } accepted;
        struct {
            int code;
            const char *reason;
            uint32_t retry_after_ms;
            bool batch; /* the broker reads Batch frames (all brokers since
                         * Batch set it: its absence on a refused Batch
                         * means an older broker) */
        } rejected;
        struct {
            uint32_t credit;
            const char *worker_name;
            uint32_t capacity;
            bool batch; /* the worker takes Batch envelopes */
        } ready;
        struct {
            wire_job_t job;
            uint32_t attempt;
            uint32_t lease_ms;
        } dispatch;
        struct {
            uint64_t job_id;
            uint32_t attempt;
            const uint8_t *result;
            size_t result_len;
        } done;
        struct {
            uint64_t job_id;
            uint32_t attempt;
            const char *reason;
            bool permanent;
        } failed;
        struct {
            size_t n;
            const uint64_t *job_ids;
            const uint32_t *attempts;
        } heartbeat;
        struct {
            uint64_t job_id;
            uint32_t attempt;
            int code;
        } done_ack;
        struct {
            uint64_t job_id;
            const char *key;
            bool with_text;
        } get;
        struct {
            wire_job_info_t job;
            const uint8_t *result;
            size_t result_len;
            const char *text;
            size_t text_len;
        } get_reply;
        struct {
            uint64_t after_seq;
            uint32_t limit;
            bool with_result;
        } since;
        struct {
            size_t n;
            const wire_committed_t *items;
            uint64_t last_seq;
        } since_reply;
        wire_committed_t committed;
        wire_stats_t stats_reply;
        struct {
            uint64_t after_job_id;
            uint32_t limit;
        } dead_list;
        struct {
            size_t n;
            const wire_dead_t *items;
        } dead_list_reply;
        struct {
            size_t n;
            const uint64_t *job_ids;
            bool all;
        } dead_ids; /* REQUEUE and PURGE */
        struct {
            uint64_t count;
        } dead_reply;
    } u;
    void *priv; /* decoder state; NULL for messages built by hand */
} wire_msg_t;

/* Serialise m into a new buffer (*buf, caller frees). Returns ERR_INVAL for
 * an unknown kind. version 0 means WIRE_PROTOCOL_VERSION. */
int wire_encode(const wire_msg_t *m, uint8_t **buf, size_t *len);

/* Serialise m into memory the caller places: place(ud, n) returns room for
 * exactly the n bytes m takes (e.g. a value reserved in a store txn), or
 * NULL to give up, which returns ERR_IO with nothing written. *len = n on
 * success. Other errors: as wire_encode, before place is called. */
int wire_encode_place(const wire_msg_t *m,
                      uint8_t *(*place)(void *ud, size_t n), void *ud,
                      size_t *len);

struct wire_batch;

/* Encode m as one more item of a Batch being built (wire_batch.h), with no
 * buffer of its own: room(ud, n) returns the batch to append to, given the
 * n bytes m takes (a caller that caps its frames sends what that batch
 * held first). Errors: as wire_encode, before room is called. */
int wire_encode_into(const wire_msg_t *m,
                     struct wire_batch *(*room)(void *ud, size_t n), void *ud);

/* Parse an Envelope from untrusted bytes into *out. Memory used while
 * decoding is capped at max_alloc bytes (0: wire_decode_budget(len)).
 * Errors: ERR_TOOBIG (len > WIRE_MAX_FRAME, the cap was hit, or a Job's
 * text > WIRE_MAX_TEXT), ERR_UTF8 (a Job's text is not valid UTF-8),
 * ERR_PROTO (malformed, no body, or other field bounds), ERR_VERSION (version
 * != WIRE_PROTOCOL_VERSION; out->request_id is set so the reply can be
 * matched). On error *out holds nothing to release. On success release it with
 * wire_msg_release(). */
int wire_decode(const uint8_t *buf, size_t len, size_t max_alloc,
                wire_msg_t *out);

/* Default decode memory cap for a frame of len bytes. */
size_t wire_decode_budget(size_t len);

/* Free what wire_decode allocated; safe on a hand-built or released msg.
 * Calls the hook set by wire_msg_on_release, if any, last. */
void wire_msg_release(wire_msg_t *m);

/*
 * As wire_decode(buf, len, 0, out), with the same return codes and the
 * same message, except that a Dispatch may be read in place: its
 * Job.text then points into buf instead of into a copy, and *borrowed is
 * true. buf must then stay valid and unchanged until wire_msg_release(out)
 * (wire_msg_on_release tells its owner when). Other strings are copied.
 * Cheaper than wire_decode for the plain encoding peers write; any other
 * bytes are handed to wire_decode. *borrowed is false on error.
 */
int wire_decode_borrow(const uint8_t *buf, size_t len, wire_msg_t *out,
                       bool *borrowed);

/* Have wire_msg_release(m) call fn(ud) once, after freeing what m holds
 * (it may run on another thread, wherever m is released). m must be a
 * successfully decoded message without a hook yet. */
void wire_msg_on_release(wire_msg_t *m, void (*fn)(void *ud), void *ud);

/* Name of a kind ("Submit"), for logs. */
const char *wire_kind_name(int kind);
/* Name of a code ("QUEUE_FULL"). */
const char *wire_code_name(int code);
/* Name of a job state ("READY"). */
const char *wire_job_state_name(int state);

/* Serialise a result into a new buffer (caller frees). */
int wire_result_encode(const result_t *r, uint8_t **buf, size_t *len);

/*
 * Serialise a Done envelope {job_id, attempt, result = r serialised} into a
 * new buffer (*buf, caller frees); request_id 0, the current version. The
 * same bytes as wire_encode() of a Done around wire_result_encode(r), but
 * written straight from r (proto/wire_result.c: no protobuf-c structs,
 * each string measured once, nothing copied twice). Errors: ERR_TOOBIG
 * when the envelope would exceed WIRE_MAX_FRAME (*len is then set to the
 * size it would have had, *buf untouched). Thread-safe (no shared state).
 */
int wire_done_encode(uint64_t job_id, uint32_t attempt, const result_t *r,
                     uint8_t **buf, size_t *len);

/* Parse a serialised Result (bounded like wire_decode) into a new result_t.
 * Errors: ERR_PROTO, ERR_TOOBIG. Offsets are checked for start <= end. */
int wire_result_decode(const uint8_t *buf, size_t len, result_t **out);

#endif
