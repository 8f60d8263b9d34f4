/*
 * wire: protobuf-c <-> plain structs. Decoding runs on a bump arena with a
 * hard cap, because protobuf-c's default allocator lets a hostile frame
 * cost 20-45x its size (every empty submessage becomes a malloc'd struct).
 */
#include "wire.h"

#include "../common/err.h"
#include "../common/spare.h"
#include "../common/utf8.h"
#include "../common/xalloc.h"
#include "excerpt.pb-c.h"
#include "pbraw.h"
#include "tags.h"
#include "wire_batch.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ arena */

typedef struct block {
    struct block *next; /* older block */
    size_t used, size;  /* bytes used / available in data */
    max_align_t data[]; /* payload */
} block_t;

typedef struct arena {
    block_t *head;  /* newest block */
    size_t spent;   /* bytes handed out */
    size_t cap;     /* refuse beyond this */
    bool exhausted; /* a request was refused */
} arena_t;

#define ARENA_BLOCK 65536 /* usual block size */

/* Blocks of the usual size are kept as this thread's spare (common/
 * spare.h) when freed and reused by the next decode. */
static block_t *
block_take(void)
{
    return spare_take(SPARE_DECODE);
}

static void
block_put(block_t *b)
{
    if (b->size != ARENA_BLOCK || !spare_put(SPARE_DECODE, b, free))
        free(b);
}

static void *
arena_alloc(void *data, size_t n)
{
    arena_t *a = data;
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - 15)
        n = SIZE_MAX - 15; /* refused below */
    n = (n + 15) & ~(size_t)15;
    if (n > a->cap - a->spent) {
        a->exhausted = true;
        return NULL;
    }
    block_t *b = a->head;
    if (!b || b->size - b->used < n) {
        size_t sz = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        b = sz == ARENA_BLOCK ? block_take() : NULL;
        if (!b)
            b = malloc(sizeof *b + sz);
        if (!b) {
            a->exhausted = true;
            return NULL;
        }
        b->used = 0;
        b->size = sz;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    a->spent += n;
    return p;
}

static void
arena_free_nothing(void *data, void *p)
{
    (void)data;
    (void)p;
}

static void
arena_release(arena_t *a)
{
    block_t *b = a->head;
    while (b) {
        block_t *next = b->next;
        block_put(b);
        b = next;
    }
    a->head = NULL;
}

typedef struct priv {
    arena_t arena;              /* everything decoded lives here */
    Excerpt__V1__Envelope *env; /* the unpacked envelope */
    void (*on_release)(void *); /* wire_msg_on_release's hook, or NULL */
    void *release_ud;           /* its argument */
} priv_t;

size_t
wire_decode_budget(size_t len)
{
    return len * 8 + (1u << 20);
}

/* ----------------------------------------------------------- names */

const char *
wire_kind_name(int kind)
{
    static const char *const names[] = {
        "Submit",     "Accepted", "Rejected",      "Ready",       "Dispatch",
        "Done",       "Failed",   "Heartbeat",     "DoneAck",     "Get",
        "GetReply",   "Since",    "SinceReply",    "Committed",   "Stats",
        "StatsReply", "DeadList", "DeadListReply", "DeadRequeue", "DeadPurge",
        "DeadReply",  "Batch",    "Query",         "QueryReply"
    };
    if (kind >= WIRE_SUBMIT && kind <= WIRE_QUERY_REPLY)
        return names[kind - WIRE_SUBMIT];
    return "None";
}

const char *
wire_code_name(int code)
{
    static const char *const names[] = {
        "OK",          "INVALID",    "TOO_LARGE", "BAD_VERSION",   "BAD_UTF8",
        "QUEUE_FULL",  "STORE_FULL", "NOT_FOUND", "SHUTTING_DOWN", "INTERNAL",
        "UNAUTHORIZED"
    };
    if (code >= 0 && code <= WIRE_CODE_UNAUTHORIZED)
        return names[code];
    return "UNKNOWN";
}

const char *
wire_job_state_name(int state)
{
    static const char *const names[] = { "UNKNOWN", "READY", "LEASED",
                                         "DELAYED", "DONE",  "DEAD" };
    if (state >= 0 && state <= WIRE_JOB_DEAD)
        return names[state];
    return "UNKNOWN";
}

/* ---------------------------------------------------------- encode */

static char *
s_or_empty(const char *s)
{
    return (char *)(s ? s : "");
}

/* Encoding borrows the caller's memory; only the pointer arrays that
 * protobuf-c wants are allocated, in this scratch list. */
typedef struct scratch {
    void **ptrs;   /* allocations to free */
    size_t n, cap; /* count and capacity */
} scratch_t;

static void *
scratch_alloc(scratch_t *s, size_t n, size_t size)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->ptrs = xreallocarray(s->ptrs, s->cap, sizeof *s->ptrs);
    }
    void *p = xcalloc(n ? n : 1, size);
    s->ptrs[s->n++] = p;
    return p;
}

static void
scratch_free(scratch_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->ptrs[i]);
    free(s->ptrs);
}

static Excerpt__V1__Job *
job_to_pb(scratch_t *s, const wire_job_t *j)
{
    Excerpt__V1__Job *p = scratch_alloc(s, 1, sizeof *p);
    excerpt__v1__job__init(p);
    p->id = j->id;
    p->key = s_or_empty(j->key);
    p->source_url = s_or_empty(j->source_url);
    p->title = s_or_empty(j->title);
    p->published = s_or_empty(j->published);
    p->text.data = (uint8_t *)j->text;
    p->text.len = j->text ? j->text_len : 0;
    p->priority = j->priority;
    if (j->n_meta) {
        p->n_metadata = j->n_meta;
        p->metadata = scratch_alloc(s, j->n_meta, sizeof *p->metadata);
        Excerpt__V1__Job__MetadataEntry *e =
            scratch_alloc(s, j->n_meta, sizeof *e);
        for (size_t i = 0; i < j->n_meta; i++) {
            excerpt__v1__job__metadata_entry__init(&e[i]);
            e[i].key = s_or_empty(j->meta_keys[i]);
            e[i].value = s_or_empty(j->meta_values[i]);
            p->metadata[i] = &e[i];
        }
    }
    return p;
}

static Excerpt__V1__JobInfo *
info_to_pb(scratch_t *s, const wire_job_info_t *j)
{
    Excerpt__V1__JobInfo *p = scratch_alloc(s, 1, sizeof *p);
    excerpt__v1__job_info__init(p);
    p->id = j->id;
    p->key = s_or_empty(j->key);
    p->state = (Excerpt__V1__JobState)j->state;
    p->attempts = j->attempts;
    p->priority = j->priority;
    p->submitted_ms = j->submitted_ms;
    p->finished_ms = j->finished_ms;
    p->seq = j->seq;
    p->last_error = s_or_empty(j->last_error);
    p->source_url = s_or_empty(j->source_url);
    p->title = s_or_empty(j->title);
    p->text_bytes = j->text_bytes;
    return p;
}

static Excerpt__V1__Committed *
committed_to_pb(scratch_t *s, const wire_committed_t *c)
{
    Excerpt__V1__Committed *p = scratch_alloc(s, 1, sizeof *p);
    excerpt__v1__committed__init(p);
    p->seq = c->seq;
    p->job_id = c->job_id;
    p->key = s_or_empty(c->key);
    p->result.data = (uint8_t *)c->result;
    p->result.len = c->result ? c->result_len : 0;
    return p;
}

static Excerpt__V1__Query *
query_to_pb(scratch_t *s, const wire_query_t *q)
{
    Excerpt__V1__Query *p = scratch_alloc(s, 1, sizeof *p);
    excerpt__v1__query__init(p);
    p->entity = s_or_empty(q->entity);
    p->entity_type = (Excerpt__V1__EntityType)q->entity_type;
    p->figure = (Excerpt__V1__FigureType)q->figure;
    p->unit = s_or_empty(q->unit);
    p->has_min = q->has_min;
    p->min = q->min;
    p->has_max = q->has_max;
    p->max = q->max;
    p->iso_from = s_or_empty(q->iso_from);
    p->iso_to = s_or_empty(q->iso_to);
    p->after = q->after;
    p->limit = q->limit;
    return p;
}

static Excerpt__V1__QueryHit *
hit_to_pb(scratch_t *s, const wire_query_hit_t *h)
{
    Excerpt__V1__QueryHit *p = scratch_alloc(s, 1, sizeof *p);
    excerpt__v1__query_hit__init(p);
    p->job_id = h->job_id;
    p->seq = h->seq;
    p->key = s_or_empty(h->key);
    p->source_url = s_or_empty(h->source_url);
    p->title = s_or_empty(h->title);
    p->n_figures = h->n_figures;
    p->figures = scratch_alloc(s, h->n_figures, sizeof *p->figures);
    for (size_t i = 0; i < h->n_figures; i++) {
        const wire_figure_t *f = &h->figures[i];
        Excerpt__V1__Figure *q = scratch_alloc(s, 1, sizeof *q);
        excerpt__v1__figure__init(q);
        q->type = (Excerpt__V1__FigureType)f->type;
        q->text = s_or_empty(f->text);
        q->value = f->value;
        q->has_value = f->has_value;
        q->iso = s_or_empty(f->iso);
        q->unit = s_or_empty(f->unit);
        q->start = f->start;
        q->end = f->end;
        q->turn = f->turn;
        p->figures[i] = q;
    }
    return p;
}

static int
body_to_pb(scratch_t *s, const wire_msg_t *m, Excerpt__V1__Envelope *env)
{
    env->body_case = (Excerpt__V1__Envelope__BodyCase)m->kind;
    switch (m->kind) {
    case WIRE_SUBMIT: {
        Excerpt__V1__Submit *p = scratch_alloc(s, 1, sizeof *p);
        excerpt__v1__submit__init(p);
        p->job = job_to_pb(s, &m->u.submit.job);
        env->submit = p;
        return ERR_OK;
    }
    case WIRE_ACCEPTED: {
        Excerpt__V1__Accepted *p = scratch_alloc(s, 1, sizeof *p);
        excerpt__v1__accepted__init(p);
        p->job_id = m->u.accepted.job_id;
        p->duplicate = m->u.accepted.duplicate;
        p->text_differs = m->u.accepted.text_differs;
        env->accepted = p;
        return ERR_OK;
    }
    case WIRE_REJECTED: {
        Excerpt__V1__Rejected *p = scratch_alloc(s, 1, sizeof *p);
        excerpt__v1__rejected__init(p);
        p->code = (Excerpt__V1__Code)m->u.rejected.code;
        p->reason = s_or_empty(m->u.rejected.reason);
        p->retry_after_ms = m->u.rejected.retry_after_ms;
        p->batch = m->u.rejected.batch;
        env->rejected = p;
        return ERR_OK;
    }
    case WIRE_READY: {
        Excerpt__V1__Ready *p = scratch_alloc(s, 1, sizeof *p);
        excerpt__v1__ready__init(p);
        p->credit = m->u.ready.credit;
        p->worker_name = s_or_empty(m->u.ready.worker_name);
        p->capacity = m->u.ready.capacity;
        p->batch = m->u.ready.batch;
        env->ready = p;
        return ERR_OK;
    }
    case WIRE_DISPATCH: {
        Excerpt__V1__Dispatch *p = scratch_alloc(s, 1, sizeof *p);
        excerpt__v1__dispatch__init(p);
        p->job = job_to_pb(s, &m->u.dispatch.job);
        p->attempt = m->u.dispatch.attempt;
        p->lease_ms = m->u.dispatch.lease_ms;
        env->dispatch = p;
        return ERR_OK;
    }
    case WIRE_DONE: {
        Excerpt__V1__Done *p = scratch_alloc(s, 1, sizeof *p);
        excerpt__v1__done__init(p);
        p->job_id = m->u.done.job_id;
        p->attempt = m->u.done.attempt;
        p->result.data = (uint8_t *)m->u.done.result;
        p->result.len = m->u.done.result ? m->u.done.result_len : 0;
        env->done = p;
        return ERR_OK;
    }
    case WIRE_FAILED: {
        Excerpt__V1__Failed *p = scratch_alloc(s, 1, sizeof *p);
        excerpt__v1__failed__init(p);
        p->job_id = m->u.failed.job_id;
        p->attempt = m->u.failed.attempt;
        p->reason = s_or_empty(m->u.failed.reason);
        p->permanent = m->u.failed.permanent;
        env->failed = p;
        return ERR_OK;
    }
    case WIRE_HEARTBEAT: {
        Excerpt__V1__Heartbeat *p = scratch_alloc(s, 1, sizeof *p);
        excerpt__v1__heartbeat__init(p);
        p->n_job_ids = m->u.heartbeat.n;
        p->job_ids = (uint64_t *)m->u.heartbeat.job_ids;
        p->n_attempts = m->u.heartbeat.attempts ? m->u.heartbeat.n : 0;
        p->attempts = (uint32_t *)m->u.heartbeat.attempts;
        env->heartbeat = p;
        return ERR_OK;
    }
    case WIRE_DONE_ACK: {
        Excerpt__V1__DoneAck *p = scratch_alloc(s, 1, sizeof *p);
        excerpt__v1__done_ack__init(p);
        p->job_id = m->u.done_ack.job_id;
        p->attempt = m->u.done_ack.attempt;
        p->code = (Excerpt__V1__Code)m->u.done_ack.code;
        env->done_ack = p;
        return ERR_OK;
    }
    case WIRE_GET: {
        Excerpt__V1__Get *p = scratch_alloc(s, 1, sizeof *p);
        excerpt__v1__get__init(p);
        p->job_id = m->u.get.job_id;
        p->key = s_or_empty(m->u.get.key);
        p->with_text = m->u.get.with_text;
        env->get = p;
        return ERR_OK;
    }
    case WIRE_GET_REPLY: {
        Excerpt__V1__GetReply *p = scratch_alloc(s, 1, sizeof *p);
        excerpt__v1__get_reply__init(p);
        p->job = info_to_pb(s, &m->u.get_reply.job);
        p->result.data = (uint8_t *)m->u.get_reply.result;
        p->result.len = m->u.get_reply.result ? m->u.get_reply.result_len : 0;
        p->text.data = (uint8_t *)m->u.get_reply.text;
        p->text.len = m->u.get_reply.text ? m->u.get_reply.text_len : 0;
        env->get_reply = p;
        return ERR_OK;
    }
    case WIRE_SINCE: {
        Excerpt__V1__Since *p = scratch_alloc(s, 1, sizeof *p);
        excerpt__v1__since__init(p);
        p->after_seq = m->u.since.after_seq;
        p->limit = m->u.since.limit;
        p->with_result = m->u.since.with_result;
        env->since = p;
        return ERR_OK;
    }
    case WIRE_SINCE_REPLY: {
        Excerpt__V1__SinceReply *p = scratch_alloc(s, 1, sizeof *p);
        excerpt__v1__since_reply__init(p);
        size_t n = m->u.since_reply.n;
        p->n_items = n;
        p->items = scratch_alloc(s, n, sizeof *p->items);
        for (size_t i = 0; i < n; i++)
            p->items[i] = committed_to_pb(s, &m->u.since_reply.items[i]);
        p->last_seq = m->u.since_reply.last_seq;
        env->since_reply = p;
        return ERR_OK;
    }
    case WIRE_COMMITTED:
        env->committed = committed_to_pb(s, &m->u.committed);
        return ERR_OK;
    case WIRE_STATS: {
        Excerpt__V1__Stats *p = scratch_alloc(s, 1, sizeof *p);
        excerpt__v1__stats__init(p);
        env->stats = p;
        return ERR_OK;
    }
    case WIRE_STATS_REPLY: {
        const wire_stats_t *w = &m->u.stats_reply;
        Excerpt__V1__StatsReply *p = scratch_alloc(s, 1, sizeof *p);
        excerpt__v1__stats_reply__init(p);
        p->ready = w->ready;
        p->leased = w->leased;
        p->delayed = w->delayed;
        p->done = w->done;
        p->dead = w->dead;
        p->last_seq = w->last_seq;
        p->oldest_ready_age_ms = w->oldest_ready_age_ms;
        p->store_bytes = w->store_bytes;
        p->map_bytes = w->map_bytes;
        p->map_limit = w->map_limit;
        p->workers = w->workers;
        p->submitted_total = w->submitted_total;
        p->committed_total = w->committed_total;
        p->rejected_total = w->rejected_total;
        p->uptime_ms = w->uptime_ms;
        p->commit_rate = w->commit_rate;
        p->backlog = w->backlog;
        p->n_worker_stats = w->n_worker_stats;
        p->worker_stats =
            scratch_alloc(s, w->n_worker_stats, sizeof *p->worker_stats);
        for (size_t i = 0; i < w->n_worker_stats; i++) {
            const wire_worker_stats_t *ws = &w->worker_stats[i];
            Excerpt__V1__WorkerStats *q = scratch_alloc(s, 1, sizeof *q);
            excerpt__v1__worker_stats__init(q);
            q->name = s_or_empty(ws->name);
            q->identity = s_or_empty(ws->identity);
            q->credit = ws->credit;
            q->held = ws->held;
            q->held_bytes = ws->held_bytes;
            q->last_seen_ms = ws->last_seen_ms;
            p->worker_stats[i] = q;
        }
        env->stats_reply = p;
        return ERR_OK;
    }
    case WIRE_DEAD_LIST: {
        Excerpt__V1__DeadList *p = scratch_alloc(s, 1, sizeof *p);
        excerpt__v1__dead_list__init(p);
        p->after_job_id = m->u.dead_list.after_job_id;
        p->limit = m->u.dead_list.limit;
        env->dead_list = p;
        return ERR_OK;
    }
    case WIRE_DEAD_LIST_REPLY: {
        Excerpt__V1__DeadListReply *p = scratch_alloc(s, 1, sizeof *p);
        excerpt__v1__dead_list_reply__init(p);
        size_t n = m->u.dead_list_reply.n;
        p->n_items = n;
        p->items = scratch_alloc(s, n, sizeof *p->items);
        for (size_t i = 0; i < n; i++) {
            const wire_dead_t *d = &m->u.dead_list_reply.items[i];
            Excerpt__V1__DeadLetter *q = scratch_alloc(s, 1, sizeof *q);
            excerpt__v1__dead_letter__init(q);
            q->job = info_to_pb(s, &d->job);
            q->reason = s_or_empty(d->reason);
            q->n_history = d->n_history;
            q->history = (char **)d->history;
            p->items[i] = q;
        }
        env->dead_list_reply = p;
        return ERR_OK;
    }
    case WIRE_DEAD_REQUEUE: {
        Excerpt__V1__DeadRequeue *p = scratch_alloc(s, 1, sizeof *p);
        excerpt__v1__dead_requeue__init(p);
        p->n_job_ids = m->u.dead_ids.n;
        p->job_ids = (uint64_t *)m->u.dead_ids.job_ids;
        p->all = m->u.dead_ids.all;
        env->dead_requeue = p;
        return ERR_OK;
    }
    case WIRE_DEAD_PURGE: {
        Excerpt__V1__DeadPurge *p = scratch_alloc(s, 1, sizeof *p);
        excerpt__v1__dead_purge__init(p);
        p->n_job_ids = m->u.dead_ids.n;
        p->job_ids = (uint64_t *)m->u.dead_ids.job_ids;
        p->all = m->u.dead_ids.all;
        env->dead_purge = p;
        return ERR_OK;
    }
    case WIRE_DEAD_REPLY: {
        Excerpt__V1__DeadReply *p = scratch_alloc(s, 1, sizeof *p);
        excerpt__v1__dead_reply__init(p);
        p->count = m->u.dead_reply.count;
        env->dead_reply = p;
        return ERR_OK;
    }
    case WIRE_QUERY:
        env->query = query_to_pb(s, &m->u.query);
        return ERR_OK;
    case WIRE_QUERY_REPLY: {
        Excerpt__V1__QueryReply *p = scratch_alloc(s, 1, sizeof *p);
        excerpt__v1__query_reply__init(p);
        size_t n = m->u.query_reply.n;
        p->n_hits = n;
        p->hits = scratch_alloc(s, n, sizeof *p->hits);
        for (size_t i = 0; i < n; i++)
            p->hits[i] = hit_to_pb(s, &m->u.query_reply.hits[i]);
        p->next = m->u.query_reply.next;
        p->scanned = m->u.query_reply.scanned;
        env->query_reply = p;
        return ERR_OK;
    }
    default:
        return ERR_INVAL;
    }
}

/* Encode m into the n bytes that place(ud, n) returns: the one packing
 * behind wire_encode (a new buffer) and wire_encode_into (a Batch). */
static int
encode_at(const wire_msg_t *m, uint8_t *(*place)(void *ud, size_t n), void *ud,
          size_t *len)
{
    scratch_t s = { 0 };
    Excerpt__V1__Envelope env = EXCERPT__V1__ENVELOPE__INIT;
    env.version = m->version ? m->version : WIRE_PROTOCOL_VERSION;
    env.request_id = m->request_id;
    int rc = body_to_pb(&s, m, &env);
    if (rc) {
        scratch_free(&s);
        return rc;
    }
    size_t n = excerpt__v1__envelope__get_packed_size(&env);
    uint8_t *at = place(ud, n);
    if (!at) {
        scratch_free(&s);
        return ERR_IO;
    }
    size_t w = excerpt__v1__envelope__pack(&env, at);
    scratch_free(&s);
    if (w != n)
        abort(); /* protobuf-c disagrees with itself: memory is damaged */
    *len = n;
    return ERR_OK;
}

static uint8_t *
place_new(void *ud, size_t n)
{
    uint8_t **out = ud;
    *out = xmalloc(n ? n : 1);
    return *out;
}

int
wire_encode(const wire_msg_t *m, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    return encode_at(m, place_new, buf, len);
}

int
wire_encode_place(const wire_msg_t *m, uint8_t *(*place)(void *ud, size_t n),
                  void *ud, size_t *len)
{
    return encode_at(m, place, ud, len);
}

/* wire_encode_into's room() around the Batch it picks. */
typedef struct place_batch {
    wire_batch_t *(*room)(void *ud, size_t n); /* the caller's */
    void *ud;                                  /* its argument */
} place_batch_t;

static uint8_t *
place_batch(void *ud, size_t n)
{
    place_batch_t *pb = ud;
    return wire_batch_reserve(pb->room(pb->ud, n), n);
}

int
wire_encode_into(const wire_msg_t *m, wire_batch_t *(*room)(void *ud, size_t n),
                 void *ud)
{
    place_batch_t pb = { room, ud };
    size_t len;
    return encode_at(m, place_batch, &pb, &len);
}

/* ---------------------------------------------------------- decode */

static const char *
nz(const char *s)
{
    return s ? s : "";
}

/* A string field of at most max bytes and valid UTF-8: 0, or ERR_PROTO
 * (too long: *why = too_long) or ERR_UTF8 (*why = bad_utf8). */
static int
str_check(const char *s, size_t max, const char **why, const char *too_long,
          const char *bad_utf8)
{
    if (!s)
        return ERR_OK;
    size_t n = strnlen(s, max + 1);
    if (n > max) {
        *why = too_long;
        return ERR_PROTO;
    }
    if (!utf8_is_valid(s, n)) {
        *why = bad_utf8;
        return ERR_UTF8;
    }
    return ERR_OK;
}

static int
job_from_pb(arena_t *a, const Excerpt__V1__Job *p, wire_job_t *j,
            const char **why)
{
    int rc;
    if (!p) {
        *why = "no job in the message";
        return ERR_PROTO;
    }
    if (p->text.len > WIRE_MAX_TEXT) {
        *why = "text over 64 MiB";
        return ERR_TOOBIG;
    }
    if ((rc = str_check(p->key, WIRE_MAX_KEY, why, "key over 1024 bytes",
                        "key is not valid UTF-8")) ||
        (rc = str_check(p->source_url, WIRE_MAX_FIELD, why,
                        "source_url over 4096 bytes",
                        "source_url is not valid UTF-8")) ||
        (rc = str_check(p->title, WIRE_MAX_FIELD, why, "title over 4096 bytes",
                        "title is not valid UTF-8")) ||
        (rc = str_check(p->published, WIRE_MAX_FIELD, why,
                        "published over 4096 bytes",
                        "published is not valid UTF-8")))
        return rc;
    if (p->n_metadata > WIRE_MAX_META) {
        *why = "metadata over 64 entries";
        return ERR_PROTO;
    }
    if (!utf8_is_valid((const char *)p->text.data, p->text.len)) {
        *why = "text is not valid UTF-8";
        return ERR_UTF8;
    }
    j->id = p->id;
    j->key = nz(p->key);
    j->source_url = nz(p->source_url);
    j->title = nz(p->title);
    j->published = nz(p->published);
    j->text = p->text.data ? (const char *)p->text.data : "";
    j->text_len = p->text.len;
    j->priority = p->priority;
    j->n_meta = p->n_metadata;
    if (p->n_metadata) {
        const char **k = arena_alloc(a, p->n_metadata * sizeof *k);
        const char **v = arena_alloc(a, p->n_metadata * sizeof *v);
        if (!k || !v)
            return ERR_TOOBIG;
        size_t total = 0;
        for (size_t i = 0; i < p->n_metadata; i++) {
            const Excerpt__V1__Job__MetadataEntry *e = p->metadata[i];
            if ((rc = str_check(e->key, WIRE_MAX_META_BYTES, why,
                                "metadata over 64 KiB",
                                "a metadata key is not valid UTF-8")) ||
                (rc = str_check(e->value, WIRE_MAX_META_BYTES, why,
                                "metadata over 64 KiB",
                                "a metadata value is not valid UTF-8")))
                return rc;
            k[i] = nz(e->key);
            v[i] = nz(e->value);
            total += strlen(k[i]) + strlen(v[i]);
        }
        if (total > WIRE_MAX_META_BYTES) {
            *why = "metadata over 64 KiB";
            return ERR_PROTO;
        }
        j->meta_keys = k;
        j->meta_values = v;
    }
    return ERR_OK;
}

static void
info_from_pb(const Excerpt__V1__JobInfo *p, wire_job_info_t *j)
{
    memset(j, 0, sizeof *j);
    j->key = j->last_error = j->source_url = j->title = "";
    if (!p)
        return;
    j->id = p->id;
    j->key = nz(p->key);
    j->state = (int)p->state;
    j->attempts = p->attempts;
    j->priority = p->priority;
    j->submitted_ms = p->submitted_ms;
    j->finished_ms = p->finished_ms;
    j->seq = p->seq;
    j->last_error = nz(p->last_error);
    j->source_url = nz(p->source_url);
    j->title = nz(p->title);
    j->text_bytes = p->text_bytes;
}

static void
committed_from_pb(const Excerpt__V1__Committed *p, wire_committed_t *c)
{
    c->seq = p->seq;
    c->job_id = p->job_id;
    c->key = nz(p->key);
    c->result = p->result.len ? p->result.data : NULL;
    c->result_len = p->result.len;
}

static int
query_from_pb(const Excerpt__V1__Query *p, wire_query_t *q, const char **why)
{
    int rc;
    if ((rc = str_check(p->entity, WIRE_MAX_QUERY_NAME, why,
                        "query entity over its size limit",
                        "query entity is not valid UTF-8")) ||
        (rc = str_check(p->unit, WIRE_MAX_QUERY_FIELD, why,
                        "query unit over its size limit",
                        "query unit is not valid UTF-8")) ||
        (rc = str_check(p->iso_from, WIRE_MAX_QUERY_FIELD, why,
                        "query date over its size limit",
                        "query date is not valid UTF-8")) ||
        (rc = str_check(p->iso_to, WIRE_MAX_QUERY_FIELD, why,
                        "query date over its size limit",
                        "query date is not valid UTF-8")))
        return rc;
    q->entity = nz(p->entity);
    q->entity_type = (int)p->entity_type;
    q->figure = (int)p->figure;
    q->unit = nz(p->unit);
    q->has_min = p->has_min;
    q->min = p->min;
    q->has_max = p->has_max;
    q->max = p->max;
    q->iso_from = nz(p->iso_from);
    q->iso_to = nz(p->iso_to);
    q->after = p->after;
    q->limit = p->limit;
    return ERR_OK;
}

static int
query_reply_from_pb(arena_t *a, const Excerpt__V1__QueryReply *p, wire_msg_t *m)
{
    size_t n = p->n_hits;
    wire_query_hit_t *hits = arena_alloc(a, (n ? n : 1) * sizeof *hits);
    if (!hits)
        return ERR_TOOBIG;
    for (size_t i = 0; i < n; i++) {
        const Excerpt__V1__QueryHit *h = p->hits[i];
        wire_query_hit_t *w = &hits[i];
        w->job_id = h->job_id;
        w->seq = h->seq;
        w->key = nz(h->key);
        w->source_url = nz(h->source_url);
        w->title = nz(h->title);
        w->n_figures = h->n_figures;
        wire_figure_t *f =
            arena_alloc(a, (h->n_figures ? h->n_figures : 1) * sizeof *f);
        if (!f)
            return ERR_TOOBIG;
        for (size_t k = 0; k < h->n_figures; k++) {
            const Excerpt__V1__Figure *g = h->figures[k];
            f[k].type = (int)g->type;
            f[k].text = nz(g->text);
            f[k].value = g->value;
            f[k].has_value = g->has_value;
            f[k].iso = nz(g->iso);
            f[k].unit = nz(g->unit);
            f[k].start = g->start;
            f[k].end = g->end;
            f[k].turn = g->turn;
        }
        w->figures = f;
    }
    m->u.query_reply.n = n;
    m->u.query_reply.hits = hits;
    m->u.query_reply.next = p->next;
    m->u.query_reply.scanned = p->scanned;
    return ERR_OK;
}

static int
body_from_pb(arena_t *a, const Excerpt__V1__Envelope *env, wire_msg_t *m)
{
    m->kind = (int)env->body_case;
    /* every body member shares one union slot: one NULL check covers all */
    if (env->body_case != EXCERPT__V1__ENVELOPE__BODY__NOT_SET && !env->submit)
        return ERR_PROTO;
    switch (env->body_case) {
    case EXCERPT__V1__ENVELOPE__BODY_SUBMIT:
        if (!env->submit)
            return ERR_PROTO;
        return job_from_pb(a, env->submit->job, &m->u.submit.job, &m->error);
    case EXCERPT__V1__ENVELOPE__BODY_ACCEPTED:
        m->u.accepted.job_id = env->accepted->job_id;
        m->u.accepted.duplicate = env->accepted->duplicate;
        m->u.accepted.text_differs = env->accepted->text_differs;
        return ERR_OK;
    case EXCERPT__V1__ENVELOPE__BODY_REJECTED:
        m->u.rejected.code = (int)env->rejected->code;
        m->u.rejected.reason = nz(env->rejected->reason);
        m->u.rejected.retry_after_ms = env->rejected->retry_after_ms;
        m->u.rejected.batch = env->rejected->batch;
        return ERR_OK;
    case EXCERPT__V1__ENVELOPE__BODY_READY:
        m->u.ready.credit = env->ready->credit;
        m->u.ready.worker_name = nz(env->ready->worker_name);
        m->u.ready.capacity = env->ready->capacity;
        m->u.ready.batch = env->ready->batch;
        return ERR_OK;
    case EXCERPT__V1__ENVELOPE__BODY_DISPATCH:
        m->u.dispatch.attempt = env->dispatch->attempt;
        m->u.dispatch.lease_ms = env->dispatch->lease_ms;
        return job_from_pb(a, env->dispatch->job, &m->u.dispatch.job,
                           &m->error);
    case EXCERPT__V1__ENVELOPE__BODY_DONE:
        m->u.done.job_id = env->done->job_id;
        m->u.done.attempt = env->done->attempt;
        m->u.done.result = env->done->result.data;
        m->u.done.result_len = env->done->result.len;
        return ERR_OK;
    case EXCERPT__V1__ENVELOPE__BODY_FAILED:
        m->u.failed.job_id = env->failed->job_id;
        m->u.failed.attempt = env->failed->attempt;
        m->u.failed.reason = nz(env->failed->reason);
        m->u.failed.permanent = env->failed->permanent;
        return ERR_OK;
    case EXCERPT__V1__ENVELOPE__BODY_HEARTBEAT:
        if (env->heartbeat->n_attempts &&
            env->heartbeat->n_attempts != env->heartbeat->n_job_ids)
            return ERR_PROTO;
        m->u.heartbeat.n = env->heartbeat->n_job_ids;
        m->u.heartbeat.job_ids = env->heartbeat->job_ids;
        m->u.heartbeat.attempts =
            env->heartbeat->n_attempts ? env->heartbeat->attempts : NULL;
        return ERR_OK;
    case EXCERPT__V1__ENVELOPE__BODY_DONE_ACK:
        m->u.done_ack.job_id = env->done_ack->job_id;
        m->u.done_ack.attempt = env->done_ack->attempt;
        m->u.done_ack.code = (int)env->done_ack->code;
        return ERR_OK;
    case EXCERPT__V1__ENVELOPE__BODY_GET: {
        int rc = str_check(env->get->key, WIRE_MAX_KEY, &m->error,
                           "key over 1024 bytes", "key is not valid UTF-8");
        if (rc)
            return rc;
        m->u.get.job_id = env->get->job_id;
        m->u.get.key = nz(env->get->key);
        m->u.get.with_text = env->get->with_text;
        return ERR_OK;
    }
    case EXCERPT__V1__ENVELOPE__BODY_GET_REPLY:
        info_from_pb(env->get_reply->job, &m->u.get_reply.job);
        m->u.get_reply.result =
            env->get_reply->result.len ? env->get_reply->result.data : NULL;
        m->u.get_reply.result_len = env->get_reply->result.len;
        m->u.get_reply.text = env->get_reply->text.len
                                  ? (const char *)env->get_reply->text.data
                                  : NULL;
        m->u.get_reply.text_len = env->get_reply->text.len;
        return ERR_OK;
    case EXCERPT__V1__ENVELOPE__BODY_SINCE:
        m->u.since.after_seq = env->since->after_seq;
        m->u.since.limit = env->since->limit;
        m->u.since.with_result = env->since->with_result;
        return ERR_OK;
    case EXCERPT__V1__ENVELOPE__BODY_SINCE_REPLY: {
        size_t n = env->since_reply->n_items;
        wire_committed_t *items = arena_alloc(a, (n ? n : 1) * sizeof *items);
        if (!items)
            return ERR_TOOBIG;
        for (size_t i = 0; i < n; i++)
            committed_from_pb(env->since_reply->items[i], &items[i]);
        m->u.since_reply.n = n;
        m->u.since_reply.items = items;
        m->u.since_reply.last_seq = env->since_reply->last_seq;
        return ERR_OK;
    }
    case EXCERPT__V1__ENVELOPE__BODY_COMMITTED:
        committed_from_pb(env->committed, &m->u.committed);
        return ERR_OK;
    case EXCERPT__V1__ENVELOPE__BODY_STATS:
        return ERR_OK;
    case EXCERPT__V1__ENVELOPE__BODY_STATS_REPLY: {
        const Excerpt__V1__StatsReply *p = env->stats_reply;
        wire_stats_t *w = &m->u.stats_reply;
        w->ready = p->ready;
        w->leased = p->leased;
        w->delayed = p->delayed;
        w->done = p->done;
        w->dead = p->dead;
        w->last_seq = p->last_seq;
        w->oldest_ready_age_ms = p->oldest_ready_age_ms;
        w->store_bytes = p->store_bytes;
        w->map_bytes = p->map_bytes;
        w->map_limit = p->map_limit;
        w->workers = p->workers;
        w->submitted_total = p->submitted_total;
        w->committed_total = p->committed_total;
        w->rejected_total = p->rejected_total;
        w->uptime_ms = p->uptime_ms;
        w->commit_rate = p->commit_rate;
        w->backlog = p->backlog;
        size_t n = p->n_worker_stats;
        wire_worker_stats_t *rows = arena_alloc(a, (n ? n : 1) * sizeof *rows);
        if (!rows)
            return ERR_TOOBIG;
        for (size_t i = 0; i < n; i++) {
            const Excerpt__V1__WorkerStats *q = p->worker_stats[i];
            rows[i].name = nz(q->name);
            rows[i].identity = nz(q->identity);
            rows[i].credit = q->credit;
            rows[i].held = q->held;
            rows[i].held_bytes = q->held_bytes;
            rows[i].last_seen_ms = q->last_seen_ms;
        }
        w->n_worker_stats = n;
        w->worker_stats = rows;
        return ERR_OK;
    }
    case EXCERPT__V1__ENVELOPE__BODY_DEAD_LIST:
        m->u.dead_list.after_job_id = env->dead_list->after_job_id;
        m->u.dead_list.limit = env->dead_list->limit;
        return ERR_OK;
    case EXCERPT__V1__ENVELOPE__BODY_DEAD_LIST_REPLY: {
        size_t n = env->dead_list_reply->n_items;
        wire_dead_t *items = arena_alloc(a, (n ? n : 1) * sizeof *items);
        if (!items)
            return ERR_TOOBIG;
        for (size_t i = 0; i < n; i++) {
            const Excerpt__V1__DeadLetter *d = env->dead_list_reply->items[i];
            info_from_pb(d->job, &items[i].job);
            items[i].reason = nz(d->reason);
            items[i].n_history = d->n_history;
            items[i].history = (const char *const *)d->history;
        }
        m->u.dead_list_reply.n = n;
        m->u.dead_list_reply.items = items;
        return ERR_OK;
    }
    case EXCERPT__V1__ENVELOPE__BODY_DEAD_REQUEUE:
        m->u.dead_ids.n = env->dead_requeue->n_job_ids;
        m->u.dead_ids.job_ids = env->dead_requeue->job_ids;
        m->u.dead_ids.all = env->dead_requeue->all;
        return ERR_OK;
    case EXCERPT__V1__ENVELOPE__BODY_DEAD_PURGE:
        m->u.dead_ids.n = env->dead_purge->n_job_ids;
        m->u.dead_ids.job_ids = env->dead_purge->job_ids;
        m->u.dead_ids.all = env->dead_purge->all;
        return ERR_OK;
    case EXCERPT__V1__ENVELOPE__BODY_DEAD_REPLY:
        m->u.dead_reply.count = env->dead_reply->count;
        return ERR_OK;
    case EXCERPT__V1__ENVELOPE__BODY_QUERY:
        return query_from_pb(env->query, &m->u.query, &m->error);
    case EXCERPT__V1__ENVELOPE__BODY_QUERY_REPLY:
        return query_reply_from_pb(a, env->query_reply, m);
    default:
        return ERR_PROTO;
    }
}

uint64_t
wire_peek_request_id(const uint8_t *buf, size_t len)
{
    const uint8_t *p = buf, *end = buf + len;
    pbraw_field_t f;
    uint64_t rid = 0;
    if (!buf)
        return 0;
    while (pbraw_next(&p, end, &f) == 1)
        if (f.num == TAG_ENVELOPE_REQUEST_ID && f.wt == PBRAW_VARINT)
            rid = f.v; /* the last one wins, as protobuf-c decides */
    return rid;
}

int
wire_decode(const uint8_t *buf, size_t len, size_t max_alloc, wire_msg_t *out)
{
    memset(out, 0, sizeof *out);
    if (len > WIRE_MAX_FRAME) {
        out->request_id = wire_peek_request_id(buf, len);
        out->error = "message over the frame limit";
        return ERR_TOOBIG;
    }
    priv_t *pv = xcalloc(1, sizeof *pv);
    pv->arena.cap = max_alloc ? max_alloc : wire_decode_budget(len);
    ProtobufCAllocator alloc = { arena_alloc, arena_free_nothing, &pv->arena };
    pv->env = excerpt__v1__envelope__unpack(&alloc, len, buf);
    int rc;
    if (!pv->env) {
        /* protobuf-c gives nothing back: read what it could not */
        out->request_id = wire_peek_request_id(buf, len);
        out->error = pv->arena.exhausted
                         ? "message needs too much memory to decode"
                         : "not a well-formed Envelope";
        rc = pv->arena.exhausted ? ERR_TOOBIG : ERR_PROTO;
        goto fail;
    }
    out->version = pv->env->version;
    out->request_id = pv->env->request_id;
    if (pv->env->version != WIRE_PROTOCOL_VERSION) {
        rc = ERR_VERSION;
        goto fail;
    }
    rc = body_from_pb(&pv->arena, pv->env, out);
    if (rc)
        goto fail;
    out->priv = pv;
    return ERR_OK;
fail : {
    uint64_t rid = out->request_id;
    uint32_t ver = out->version;
    const char *why = out->error;
    int kind = pv->env ? (int)pv->env->body_case : WIRE_NONE;
    arena_release(&pv->arena);
    free(pv);
    memset(out, 0, sizeof *out);
    out->request_id = rid;
    out->version = ver;
    out->kind = kind;
    out->error = why;
    return rc;
}
}

void
wire_msg_release(wire_msg_t *m)
{
    if (!m || !m->priv)
        return;
    priv_t *pv = m->priv;
    void (*fn)(void *) = pv->on_release;
    void *ud = pv->release_ud;
    arena_release(&pv->arena);
    free(pv);
    m->priv = NULL;
    if (fn)
        fn(ud);
}

void
wire_msg_on_release(wire_msg_t *m, void (*fn)(void *ud), void *ud)
{
    assert(m->priv && fn);
    priv_t *pv = m->priv;
    assert(!pv->on_release);
    pv->on_release = fn;
    pv->release_ud = ud;
}

/* ------------------------------------------------ borrowing decode */

/*
 * The fast path of wire_decode_borrow reads a Dispatch with pbraw and
 * leaves Job.text in the frame. It takes only the plain encoding every
 * peer writes: one-byte tags, each field at most once (metadata entries
 * aside), known fields with their own wire type, lengths of at most 5
 * bytes, no NUL inside strings, every limit of job_from_pb met. For such
 * bytes protobuf-c gives the same values (a uint32/int32 field keeps the
 * varint's low 32 bits in both), so the message is the one wire_decode
 * would return; anything else, valid or not, goes to wire_decode, which
 * decides and names the error exactly as before.
 */

/* A string field as the fast path keeps it (bytes in the frame). */
typedef struct raw_str {
    const uint8_t *p; /* bytes, not NUL-terminated */
    size_t n;         /* their count */
} raw_str_t;

typedef struct raw_job {
    uint64_t id;                    /* Job.id */
    raw_str_t key, url, title, pub; /* the string fields */
    raw_str_t text;                 /* Job.text */
    raw_str_t mkey[WIRE_MAX_META];  /* metadata keys */
    raw_str_t mval[WIRE_MAX_META];  /* metadata values */
    size_t n_meta;                  /* entries */
    int32_t priority;               /* Job.priority */
} raw_job_t;

/* The next field: 1, 0 at the end, -1 for what the fast path leaves to
 * protobuf-c (malformed, a tag over one byte, a length over 5 bytes). */
static int
raw_next(const uint8_t **p, const uint8_t *end, pbraw_field_t *f)
{
    if (*p >= end)
        return 0;
    if (**p & 0x80)
        return -1;
    const uint8_t *len_at = *p + 1;
    if (pbraw_next(p, end, f) != 1)
        return -1;
    if (f->wt == PBRAW_LEN && f->buf - len_at > 5)
        return -1;
    return 1;
}

/* A field seen once only; *seen collects field numbers (all < 32). */
static bool
first_time(uint32_t *seen, const pbraw_field_t *f, int wt)
{
    if (f->wt != wt || f->num >= 32 || (*seen & (1u << f->num)))
        return false;
    *seen |= 1u << f->num;
    return true;
}

/* A string field within max bytes, valid UTF-8, no NUL. */
static bool
raw_str_ok(const pbraw_field_t *f, size_t max, raw_str_t *out)
{
    if (f->len > max || memchr(f->buf, 0, f->len) ||
        !utf8_is_valid((const char *)f->buf, f->len))
        return false;
    out->p = f->buf;
    out->n = f->len;
    return true;
}

static bool
raw_meta(const uint8_t *p, const uint8_t *end, raw_str_t *k, raw_str_t *v)
{
    pbraw_field_t f;
    uint32_t seen = 0;
    int rc;
    k->n = v->n = 0;
    while ((rc = raw_next(&p, end, &f)) == 1) {
        if (!first_time(&seen, &f, PBRAW_LEN))
            return false;
        if (f.num == TAG_META_KEY && !raw_str_ok(&f, WIRE_MAX_META_BYTES, k))
            return false;
        if (f.num == TAG_META_VALUE && !raw_str_ok(&f, WIRE_MAX_META_BYTES, v))
            return false;
        if (f.num > TAG_META_VALUE)
            return false;
    }
    return rc == 0;
}

static bool
raw_job(const uint8_t *p, const uint8_t *end, raw_job_t *j)
{
    pbraw_field_t f;
    uint32_t seen = 0;
    size_t meta_bytes = 0;
    int rc;
    j->id = 0;
    j->key = j->url = j->title = j->pub = j->text = (raw_str_t){ NULL, 0 };
    j->n_meta = 0;
    j->priority = 0;
    while ((rc = raw_next(&p, end, &f)) == 1) {
        bool ok;
        switch (f.num) {
        case TAG_JOB_ID:
            ok = first_time(&seen, &f, PBRAW_VARINT);
            j->id = f.v;
            break;
        case TAG_JOB_KEY:
            ok = first_time(&seen, &f, PBRAW_LEN) &&
                 raw_str_ok(&f, WIRE_MAX_KEY, &j->key);
            break;
        case TAG_JOB_SOURCE_URL:
            ok = first_time(&seen, &f, PBRAW_LEN) &&
                 raw_str_ok(&f, WIRE_MAX_FIELD, &j->url);
            break;
        case TAG_JOB_TITLE:
            ok = first_time(&seen, &f, PBRAW_LEN) &&
                 raw_str_ok(&f, WIRE_MAX_FIELD, &j->title);
            break;
        case TAG_JOB_PUBLISHED:
            ok = first_time(&seen, &f, PBRAW_LEN) &&
                 raw_str_ok(&f, WIRE_MAX_FIELD, &j->pub);
            break;
        case TAG_JOB_TEXT:
            ok = first_time(&seen, &f, PBRAW_LEN) && f.len <= WIRE_MAX_TEXT &&
                 utf8_is_valid((const char *)f.buf, f.len);
            j->text.p = f.buf;
            j->text.n = f.len;
            break;
        case TAG_JOB_METADATA:
            ok = f.wt == PBRAW_LEN && j->n_meta < WIRE_MAX_META &&
                 raw_meta(f.buf, f.buf + f.len, &j->mkey[j->n_meta],
                          &j->mval[j->n_meta]);
            if (ok) {
                meta_bytes += j->mkey[j->n_meta].n + j->mval[j->n_meta].n;
                j->n_meta++;
                ok = meta_bytes <= WIRE_MAX_META_BYTES;
            }
            break;
        case TAG_JOB_PRIORITY:
            ok = first_time(&seen, &f, PBRAW_VARINT);
            j->priority = (int32_t)(uint32_t)f.v;
            break;
        default:
            ok = false;
            break;
        }
        if (!ok)
            return false;
    }
    return rc == 0;
}

/* A copy of s as a C string at *at, which moves past it. */
static const char *
carve_str(char **at, raw_str_t s)
{
    if (!s.n)
        return "";
    char *d = *at;
    memcpy(d, s.p, s.n);
    d[s.n] = '\0';
    *at += s.n + 1;
    return d;
}

/* The fast path: true when buf is a plain Dispatch, now decoded into out
 * with its text in buf. */
static bool
decode_dispatch(const uint8_t *buf, size_t len, wire_msg_t *out)
{
    const uint8_t *p = buf, *end = buf + len;
    const uint8_t *body = NULL, *job = NULL;
    size_t body_len = 0, job_len = 0;
    uint64_t version = 0, rid = 0, attempt = 0, lease = 0;
    uint32_t seen = 0;
    pbraw_field_t f;
    int rc;
    if (len > WIRE_MAX_FRAME)
        return false;
    while ((rc = raw_next(&p, end, &f)) == 1) {
        if (f.num == TAG_ENVELOPE_VERSION &&
            first_time(&seen, &f, PBRAW_VARINT))
            version = f.v;
        else if (f.num == TAG_ENVELOPE_REQUEST_ID &&
                 first_time(&seen, &f, PBRAW_VARINT))
            rid = f.v;
        else if (f.num == TAG_ENVELOPE_DISPATCH &&
                 first_time(&seen, &f, PBRAW_LEN)) {
            body = f.buf;
            body_len = f.len;
        } else
            return false;
    }
    if (rc != 0 || !body || (uint32_t)version != WIRE_PROTOCOL_VERSION)
        return false;
    p = body;
    end = body + body_len;
    seen = 0;
    while ((rc = raw_next(&p, end, &f)) == 1) {
        if (f.num == TAG_DISPATCH_JOB && first_time(&seen, &f, PBRAW_LEN)) {
            job = f.buf;
            job_len = f.len;
        } else if (f.num == TAG_DISPATCH_ATTEMPT &&
                   first_time(&seen, &f, PBRAW_VARINT))
            attempt = f.v;
        else if (f.num == TAG_DISPATCH_LEASE_MS &&
                 first_time(&seen, &f, PBRAW_VARINT))
            lease = f.v;
        else
            return false;
    }
    raw_job_t jb; /* not zeroed as a whole: 2 KiB of metadata slots */
    raw_job_t *j = &jb;
    if (rc != 0 || !job || !raw_job(job, job + job_len, j))
        return false;

    /* priv, then the metadata arrays, then the strings, in one block */
    size_t strs = j->key.n + j->url.n + j->title.n + j->pub.n + 4;
    for (size_t i = 0; i < j->n_meta; i++)
        strs += j->mkey[i].n + j->mval[i].n + 2;
    size_t arrays = 2 * j->n_meta * sizeof(const char *);
    priv_t *pv = xcalloc(1, sizeof *pv + arrays + strs);
    const char **keys = (const char **)(void *)(pv + 1);
    const char **values = keys + j->n_meta;
    char *at = (char *)(values + j->n_meta);

    memset(out, 0, sizeof *out);
    out->kind = WIRE_DISPATCH;
    out->version = WIRE_PROTOCOL_VERSION;
    out->request_id = rid;
    out->u.dispatch.attempt = (uint32_t)attempt;
    out->u.dispatch.lease_ms = (uint32_t)lease;
    wire_job_t *wj = &out->u.dispatch.job;
    wj->id = j->id;
    wj->key = carve_str(&at, j->key);
    wj->source_url = carve_str(&at, j->url);
    wj->title = carve_str(&at, j->title);
    wj->published = carve_str(&at, j->pub);
    wj->text = j->text.n ? (const char *)j->text.p : "";
    wj->text_len = j->text.n;
    wj->priority = j->priority;
    wj->n_meta = j->n_meta;
    if (j->n_meta) {
        for (size_t i = 0; i < j->n_meta; i++) {
            keys[i] = carve_str(&at, j->mkey[i]);
            values[i] = carve_str(&at, j->mval[i]);
        }
        wj->meta_keys = keys;
        wj->meta_values = values;
    }
    out->priv = pv;
    return true;
}

int
wire_decode_borrow(const uint8_t *buf, size_t len, wire_msg_t *out,
                   bool *borrowed)
{
    *borrowed = false;
    if (decode_dispatch(buf, len, out)) {
        *borrowed = out->u.dispatch.job.text_len > 0;
        return ERR_OK;
    }
    return wire_decode(buf, len, 0, out);
}

/* ---------------------------------------------------------- result */

/* The protobuf-c view of one result_t: every struct and pointer array in
 * one allocation (mem), strings borrowed from the result. */
typedef struct pb_result {
    Excerpt__V1__Result msg; /* the message to pack */
    Excerpt__V1__Timings tm; /* msg.timings */
    void *mem;               /* the one allocation behind msg's arrays */
} pb_result_t;

/* Carve n items of size bytes from *at (size is a multiple of 8). */
static void *
carve(char **at, size_t n, size_t size)
{
    void *p = *at;
    *at += n * size;
    return p;
}

/* Fill pb from r. Structs start as copies of the generated *_INIT values
 * (what the generated *_init() functions do, without a call per struct). */
static void
result_to_pb(const result_t *r, pb_result_t *pb)
{
    static const Excerpt__V1__Result result_init = EXCERPT__V1__RESULT__INIT;
    static const Excerpt__V1__Timings timings_init = EXCERPT__V1__TIMINGS__INIT;
    static const Excerpt__V1__Speaker speaker_init = EXCERPT__V1__SPEAKER__INIT;
    static const Excerpt__V1__Turn turn_init = EXCERPT__V1__TURN__INIT;
    static const Excerpt__V1__Entity entity_init = EXCERPT__V1__ENTITY__INIT;
    static const Excerpt__V1__Mention mention_init = EXCERPT__V1__MENTION__INIT;
    static const Excerpt__V1__Figure figure_init = EXCERPT__V1__FIGURE__INIT;
    Excerpt__V1__Result *pr = &pb->msg;
    *pr = result_init;
    pb->tm = timings_init;
    pr->job_id = r->job_id;
    pr->seq = r->seq;
    pr->extractor_version = s_or_empty(r->version);
    pr->source = s_or_empty(r->source);
    pb->tm.extract_us = r->extract_us;
    pr->timings = &pb->tm;

    size_t n_mentions = 0;
    for (size_t i = 0; i < r->n_entities; i++)
        n_mentions += r->entities[i].n_mentions;
    size_t n_ptrs =
        r->n_speakers + r->n_turns + r->n_entities + r->n_figures + n_mentions;
    /* every protobuf-c struct holds pointers, so sizes keep 8-alignment */
    size_t bytes = r->n_speakers * sizeof(Excerpt__V1__Speaker) +
                   r->n_turns * sizeof(Excerpt__V1__Turn) +
                   r->n_entities * sizeof(Excerpt__V1__Entity) +
                   r->n_figures * sizeof(Excerpt__V1__Figure) +
                   n_mentions * sizeof(Excerpt__V1__Mention) +
                   n_ptrs * sizeof(void *);
    pb->mem = xmalloc(bytes ? bytes : 1);
    char *at = pb->mem;

    Excerpt__V1__Speaker *sp = carve(&at, r->n_speakers, sizeof *sp);
    Excerpt__V1__Turn *tu = carve(&at, r->n_turns, sizeof *tu);
    Excerpt__V1__Entity *en = carve(&at, r->n_entities, sizeof *en);
    Excerpt__V1__Figure *fi = carve(&at, r->n_figures, sizeof *fi);
    Excerpt__V1__Mention *mm = carve(&at, n_mentions, sizeof *mm);
    pr->n_speakers = r->n_speakers;
    pr->speakers = carve(&at, r->n_speakers, sizeof *pr->speakers);
    pr->n_turns = r->n_turns;
    pr->turns = carve(&at, r->n_turns, sizeof *pr->turns);
    pr->n_entities = r->n_entities;
    pr->entities = carve(&at, r->n_entities, sizeof *pr->entities);
    pr->n_figures = r->n_figures;
    pr->figures = carve(&at, r->n_figures, sizeof *pr->figures);
    Excerpt__V1__Mention **mp = carve(&at, n_mentions, sizeof *mp);

    for (size_t i = 0; i < r->n_speakers; i++) {
        sp[i] = speaker_init;
        sp[i].name = s_or_empty(r->speakers[i].name);
        sp[i].title = s_or_empty(r->speakers[i].title);
        sp[i].turns = r->speakers[i].turns;
        pr->speakers[i] = &sp[i];
    }
    for (size_t i = 0; i < r->n_turns; i++) {
        tu[i] = turn_init;
        tu[i].speaker = r->turns[i].speaker;
        tu[i].start = r->turns[i].start;
        tu[i].end = r->turns[i].end;
        tu[i].body = r->turns[i].body;
        pr->turns[i] = &tu[i];
    }
    for (size_t i = 0; i < r->n_entities; i++) {
        const result_entity_t *e = &r->entities[i];
        en[i] = entity_init;
        en[i].type = (Excerpt__V1__EntityType)e->type;
        en[i].name = s_or_empty(e->name);
        en[i].role = s_or_empty(e->role);
        en[i].n_mentions = e->n_mentions;
        en[i].mentions = mp;
        for (size_t k = 0; k < e->n_mentions; k++) {
            *mm = mention_init;
            mm->text = s_or_empty(e->mentions[k].text);
            mm->start = e->mentions[k].start;
            mm->end = e->mentions[k].end;
            mm->turn = e->mentions[k].turn;
            *mp++ = mm++;
        }
        pr->entities[i] = &en[i];
    }
    for (size_t i = 0; i < r->n_figures; i++) {
        const result_figure_t *f = &r->figures[i];
        fi[i] = figure_init;
        fi[i].type = (Excerpt__V1__FigureType)f->type;
        fi[i].text = s_or_empty(f->text);
        fi[i].value = f->value;
        fi[i].has_value = f->has_value;
        fi[i].iso = s_or_empty(f->iso);
        fi[i].unit = s_or_empty(f->unit);
        fi[i].start = f->start;
        fi[i].end = f->end;
        fi[i].turn = f->turn;
        pr->figures[i] = &fi[i];
    }
}

int
wire_result_encode(const result_t *r, uint8_t **buf, size_t *len)
{
    pb_result_t pb;
    result_to_pb(r, &pb);
    size_t n = excerpt__v1__result__get_packed_size(&pb.msg);
    uint8_t *out = xmalloc(n ? n : 1);
    size_t w = excerpt__v1__result__pack(&pb.msg, out);
    free(pb.mem);
    if (w != n) {
        free(out);
        return ERR_INTERNAL;
    }
    *buf = out;
    *len = n;
    return ERR_OK;
}

static char *
rdup(result_t *r, const char *s)
{
    s = nz(s);
    return result_strndup(r, s, strlen(s));
}

int
wire_result_decode(const uint8_t *buf, size_t len, result_t **out)
{
    if (len > WIRE_MAX_FRAME)
        return ERR_TOOBIG;
    arena_t a = { .cap = wire_decode_budget(len) };
    ProtobufCAllocator alloc = { arena_alloc, arena_free_nothing, &a };
    Excerpt__V1__Result *p = excerpt__v1__result__unpack(&alloc, len, buf);
    if (!p) {
        int rc = a.exhausted ? ERR_TOOBIG : ERR_PROTO;
        arena_release(&a);
        return rc;
    }
    int rc = ERR_OK;
    result_t *r = result_new();
    r->job_id = p->job_id;
    r->seq = p->seq;
    r->version = rdup(r, p->extractor_version);
    r->source = rdup(r, p->source);
    r->extract_us = p->timings ? p->timings->extract_us : 0;
    for (size_t i = 0; i < p->n_speakers; i++)
        result_add_speaker(r, nz(p->speakers[i]->name),
                           nz(p->speakers[i]->title));
    for (size_t i = 0; i < p->n_speakers; i++)
        r->speakers[i].turns = 0;
    for (size_t i = 0; i < p->n_turns; i++) {
        const Excerpt__V1__Turn *t = p->turns[i];
        if (t->start > t->end ||
            (t->speaker >= 0 && (size_t)t->speaker >= r->n_speakers)) {
            rc = ERR_PROTO;
            goto out;
        }
        result_add_turn(r, t->speaker, t->start, t->body, t->end);
    }
    for (size_t i = 0; i < p->n_entities; i++) {
        const Excerpt__V1__Entity *e = p->entities[i];
        int32_t idx =
            result_add_entity(r, (int)e->type, nz(e->name), nz(e->role));
        result_entity_t *re = &r->entities[idx];
        (void)result_reserve_mentions(r, idx, e->n_mentions);
        for (size_t k = 0; k < e->n_mentions; k++) {
            const Excerpt__V1__Mention *m = e->mentions[k];
            if (m->start > m->end) {
                rc = ERR_PROTO;
                goto out;
            }
            result_mention_t *rm = &re->mentions[re->n_mentions++];
            rm->text = rdup(r, m->text);
            rm->start = m->start;
            rm->end = m->end;
            rm->turn = m->turn;
        }
    }
    for (size_t i = 0; i < p->n_figures; i++) {
        const Excerpt__V1__Figure *f = p->figures[i];
        if (f->start > f->end) {
            rc = ERR_PROTO;
            goto out;
        }
        const char *text = nz(f->text);
        result_figure_t *rf = result_add_figure(
            r, (int)f->type, text, 0, (uint32_t)strlen(text), f->value,
            f->has_value, f->iso && *f->iso ? f->iso : NULL, nz(f->unit));
        rf->start = f->start;
        rf->end = f->end;
        rf->turn = f->turn;
    }
out:
    arena_release(&a);
    if (rc) {
        result_destroy(&r);
        return rc;
    }
    *out = r;
    return ERR_OK;
}
