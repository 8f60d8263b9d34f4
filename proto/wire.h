/*
 * wire: converts between wire bytes and plain C structs (wire_msg_t,
 * result_t), with bounded memory when decoding untrusted frames. Most
 * messages go through protobuf-c; a few hot paths (wire_result.c,
 * wire_splice.c, wire_batch.c, the Dispatch fast path here) read or write
 * the bytes with pbraw.h and the field numbers of tags.h, and match
 * protobuf-c byte for byte. See PROTOCOL.md for the protocol.
 */
#ifndef EXCERPT_WIRE_H
#define EXCERPT_WIRE_H

#include "../common/result.h"
#include "tags.h"

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
#define WIRE_MAX_QUERY_NAME 400u /* Query.entity bytes */
#define WIRE_MAX_QUERY_FIELD 64u /* Query.unit, iso_from, iso_to bytes */

/* Message kinds; values match the Envelope oneof field numbers. */
typedef enum {
    WIRE_NONE = 0,
    WIRE_SUBMIT = TAG_ENVELOPE_SUBMIT,
    WIRE_ACCEPTED = TAG_ENVELOPE_ACCEPTED,
    WIRE_REJECTED = TAG_ENVELOPE_REJECTED,
    WIRE_READY = TAG_ENVELOPE_READY,
    WIRE_DISPATCH = TAG_ENVELOPE_DISPATCH,
    WIRE_DONE = TAG_ENVELOPE_DONE,
    WIRE_FAILED = TAG_ENVELOPE_FAILED,
    WIRE_HEARTBEAT = TAG_ENVELOPE_HEARTBEAT,
    WIRE_DONE_ACK = TAG_ENVELOPE_DONE_ACK,
    WIRE_GET = TAG_ENVELOPE_GET,
    WIRE_GET_REPLY = TAG_ENVELOPE_GET_REPLY,
    WIRE_SINCE = TAG_ENVELOPE_SINCE,
    WIRE_SINCE_REPLY = TAG_ENVELOPE_SINCE_REPLY,
    WIRE_COMMITTED = TAG_ENVELOPE_COMMITTED,
    WIRE_STATS = TAG_ENVELOPE_STATS,
    WIRE_STATS_REPLY = TAG_ENVELOPE_STATS_REPLY,
    WIRE_DEAD_LIST = TAG_ENVELOPE_DEAD_LIST,
    WIRE_DEAD_LIST_REPLY = TAG_ENVELOPE_DEAD_LIST_REPLY,
    WIRE_DEAD_REQUEUE = TAG_ENVELOPE_DEAD_REQUEUE,
    WIRE_DEAD_PURGE = TAG_ENVELOPE_DEAD_PURGE,
    WIRE_DEAD_REPLY = TAG_ENVELOPE_DEAD_REPLY,
    WIRE_BATCH =
        TAG_ENVELOPE_BATCH, /* never decoded by wire_decode: see wire_batch.h */
    WIRE_QUERY = TAG_ENVELOPE_QUERY,
    WIRE_QUERY_REPLY = TAG_ENVELOPE_QUERY_REPLY
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

/* One connected worker in a StatsReply; strings borrowed. */
typedef struct wire_worker_stats {
    const char *name;      /* worker_name from its Ready */
    const char *identity;  /* routing id, hex */
    uint64_t credit;       /* jobs it may still be sent */
    uint64_t held;         /* jobs it holds */
    uint64_t held_bytes;   /* their text bytes */
    uint64_t last_seen_ms; /* since its last message */
} wire_worker_stats_t;

typedef struct wire_stats {
    uint64_t ready, leased, delayed, done, dead; /* jobs by state */
    uint64_t last_seq;                           /* highest committed seq */
    uint64_t oldest_ready_age_ms;      /* age of the oldest ready job */
    uint64_t store_bytes;              /* map bytes in use */
    uint64_t map_bytes;                /* current map size */
    uint64_t map_limit;                /* configured maximum map size */
    uint32_t workers;                  /* connected workers */
    uint64_t submitted_total;          /* accepted since broker start */
    uint64_t committed_total;          /* committed since broker start */
    uint64_t rejected_total;           /* rejected since broker start */
    uint64_t uptime_ms;                /* broker uptime */
    double commit_rate;                /* results/s, last 10 s */
    uint64_t backlog;                  /* ready + leased + delayed */
    size_t n_worker_stats;             /* rows in worker_stats */
    wire_worker_stats_t *worker_stats; /* one per worker; owned by the
                                          decoded message, borrowed when
                                          encoding */
} wire_stats_t;

/* A figure as on the wire (proto Figure). */
typedef struct wire_figure {
    int type;         /* result_figure_type_t */
    const char *text; /* surface text */
    double value;     /* numeric value when has_value */
    bool has_value;   /* value is set */
    const char *iso;  /* ISO 8601 value for DATE and TIME, or "" */
    const char *unit; /* ISO 4217 for MONEY, unit name for QUANTITY, or "" */
    uint32_t start;   /* byte offsets into the text */
    uint32_t end;     /* one past the figure */
    int32_t turn;     /* index into the turns, -1 before the first */
} wire_figure_t;

/* One job a Query found. */
typedef struct wire_query_hit {
    uint64_t job_id;              /* the job */
    uint64_t seq;                 /* its result's commit seq */
    const char *key;              /* its idempotency key */
    const char *source_url;       /* from the job */
    const char *title;            /* from the job */
    size_t n_figures;             /* figures that matched (figure query) */
    const wire_figure_t *figures; /* n_figures of them */
} wire_query_hit_t;

/* A Query's terms (PROTOCOL.md "Queries"). */
typedef struct wire_query {
    const char *entity;   /* entity query: the name, else "" or NULL */
    int entity_type;      /* result_entity_type_t, 0: any */
    int figure;           /* figure query: result_figure_type_t, else 0 */
    const char *unit;     /* figure unit wanted, "" or NULL: any */
    bool has_min;         /* min is set */
    double min;           /* value >= min */
    bool has_max;         /* max is set */
    double max;           /* value <= max */
    const char *iso_from; /* iso >= iso_from, "" or NULL: none */
    const char *iso_to;   /* iso <= iso_to (prefix equal), "" or NULL */
    uint64_t after;       /* page token, 0: first page */
    uint32_t limit;       /* hits per page, 0: 100 */
} wire_query_t;

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
            bool text_differs; /* duplicate with another text (kept) */
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
        wire_query_t query;
        struct {
            size_t n;
            const wire_query_hit_t *hits;
            uint64_t next;    /* Query.after of the next page, 0: none */
            uint64_t scanned; /* jobs looked at */
        } query_reply;
    } u;
    const char *error; /* after a failed wire_decode: what was wrong, for
                        * Rejected.reason (static text), or NULL */
    void *priv;        /* decoder state; NULL for messages built by hand */
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
 * Errors: ERR_TOOBIG (len > WIRE_MAX_FRAME, text > WIRE_MAX_TEXT or the
 * cap was hit), ERR_PROTO (malformed, no body, or field bounds such as a
 * key over WIRE_MAX_KEY), ERR_UTF8 (Job.text or any string of a Job or
 * Get that is not valid UTF-8), ERR_VERSION (version !=
 * WIRE_PROTOCOL_VERSION). On error *out holds nothing to release, but
 * out->request_id is set whenever the Envelope's field 2 could be read
 * (wire_peek_request_id), out->kind to the body when known, and
 * out->error names the problem (a field and its limit) where it is more
 * precise than the code. On success release it with wire_msg_release(). */
int wire_decode(const uint8_t *buf, size_t len, size_t max_alloc,
                wire_msg_t *out);

/* The request_id of an encoded Envelope that may be malformed: the value
 * of its top-level field 2 (a varint) read before the first malformed
 * byte, or 0 when there is none. Reads field tags only, no allocation. */
uint64_t wire_peek_request_id(const uint8_t *buf, size_t len);

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

/*
 * Check a serialised Result as its consumers will read it, in one pass
 * over the bytes, without decoding or allocating (proto/wire_check.c):
 * every known field has the wire type protobuf-c expects, nested messages
 * are well-formed, strings are valid UTF-8, start <= end and Turn.speaker
 * indexes the speakers, and decoding fits in the memory budget of
 * wire_result_decode(). What passes is what wire_result_decode() reads.
 * Returns ERR_OK, ERR_PROTO, or ERR_INVAL for NULL with a length.
 */
int wire_result_check(const uint8_t *buf, size_t len);

/* What the same pass reports to its caller (wire_result_check_visit). */
typedef struct wire_visit {
    /* Called for each of Result.entities that has a name, as its Entity
     * ends, with its type (the low byte of the enum) and name (not
     * NUL-terminated, valid UTF-8); may be NULL. A non-zero return stops the
     * walk and is returned. Called before the whole Result is checked: on an
     * error the caller undoes what it collected. */
    int (*entity)(void *arg, int type, const char *name, size_t len);
    void *arg;
    uint64_t extract_us; /* out: Timings.extract_us, 0 when absent */
} wire_visit_t;

/* wire_result_check() that also reports entities and extract_us to v. */
int wire_result_check_visit(const uint8_t *buf, size_t len, wire_visit_t *v);

#endif
