/*
 * store_query: Query, Get and Stats answers from the store (see
 * store_query.h), shared by the broker and the read-only CLI.
 */
#include "store_query.h"

#include "../common/err.h"
#include "../common/now.h"
#include "../common/xalloc.h"

#include <stdlib.h>
#include <string.h>

int
store_query_check(const wire_query_t *q, const char **why)
{
    bool entity = q->entity && *q->entity;
    if (entity == (q->figure != 0)) {
        *why = "Query needs exactly one of entity and figure";
        return ERR_INVAL;
    }
    if (q->entity_type < 0 || q->entity_type > RESULT_NORP) {
        *why = "unknown entity_type";
        return ERR_INVAL;
    }
    if (q->figure < 0 || q->figure > RESULT_CARDINAL) {
        *why = "unknown figure type";
        return ERR_INVAL;
    }
    if (entity &&
        ((q->unit && *q->unit) || q->has_min || q->has_max ||
         (q->iso_from && *q->iso_from) || (q->iso_to && *q->iso_to))) {
        *why = "unit, min, max and iso bounds apply to figure queries only";
        return ERR_INVAL;
    }
    if (q->has_min && q->has_max && q->min > q->max) {
        *why = "min is above max";
        return ERR_INVAL;
    }
    return ERR_OK;
}

static size_t
limit_of(const wire_query_t *q)
{
    if (!q->limit)
        return STORE_QUERY_DEFAULT_LIMIT;
    return q->limit > STORE_QUERY_MAX_LIMIT ? STORE_QUERY_MAX_LIMIT : q->limit;
}

static size_t
slen(const char *s)
{
    return s ? strlen(s) : 0;
}

/* Append a hit for job id with its record's fields; NULL when the job
 * cannot be read (skipped). */
static wire_query_hit_t *
add_hit(store_t *s, store_query_reply_t *out, uint64_t id, size_t *bytes)
{
    store_job_t j;
    if (store_get(s, id, &j) != ERR_OK || j.state != STORE_DONE)
        return NULL;
    if (out->n == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 16;
        out->hits = xreallocarray(out->hits, out->cap, sizeof *out->hits);
    }
    wire_query_hit_t *h = &out->hits[out->n++];
    memset(h, 0, sizeof *h);
    h->job_id = id;
    h->seq = j.seq;
    h->key = j.key;
    h->source_url = j.source_url;
    h->title = j.title;
    *bytes += 32 + slen(j.key) + slen(j.source_url) + slen(j.title);
    return h;
}

/* ------------------------------------------------------------ entities */

typedef struct ids {
    uint64_t *v;   /* job ids */
    size_t n, cap; /* count, allocated */
} ids_t;

static int
collect_id(void *arg, uint64_t id)
{
    ids_t *ids = arg;
    if (ids->n == ids->cap) {
        ids->cap = ids->cap ? ids->cap * 2 : 64;
        ids->v = xreallocarray(ids->v, ids->cap, sizeof *ids->v);
    }
    ids->v[ids->n++] = id;
    return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int
run_entity(store_t *s, const wire_query_t *q, store_query_reply_t *out)
{
    ids_t ids = { 0 };
    int first = q->entity_type ? q->entity_type : RESULT_PERSON;
    int last = q->entity_type ? q->entity_type : RESULT_NORP;
    for (int t = first; t <= last; t++) {
        int rc = store_entity_jobs(s, t, q->entity, collect_id, &ids);
        if (rc < 0) {
            free(ids.v);
            return rc;
        }
    }
    if (ids.n > 1)
        qsort(ids.v, ids.n, sizeof *ids.v, cmp_u64);
    size_t limit = limit_of(q), bytes = 0;
    uint64_t seen = q->after;
    for (size_t i = 0; i < ids.n; i++) {
        if (ids.v[i] <= q->after || (i > 0 && ids.v[i] == ids.v[i - 1]))
            continue;
        if (out->n == limit || bytes > STORE_QUERY_REPLY_BYTES) {
            out->next = seen;
            break;
        }
        seen = ids.v[i];
        out->scanned++;
        (void)add_hit(s, out, ids.v[i], &bytes);
    }
    free(ids.v);
    return ERR_OK;
}

/* ------------------------------------------------------------- figures */

typedef struct fscan {
    store_t *s;               /* the store */
    const wire_query_t *q;    /* the terms */
    store_query_reply_t *out; /* the page */
    size_t limit;             /* hits wanted */
    size_t bytes;             /* reply bytes so far */
    uint64_t last_id;         /* last job looked at */
    uint64_t deadline_us;     /* stop scanning after this (monotonic) */
    bool more;                /* stopped before the end */
    int rc;                   /* error from a callback */
} fscan_t;

/* iso <= to, where a prefix counts as equal ("2024" takes "2024-05"). */
static bool
iso_le(const char *iso, const char *to)
{
    size_t n = strlen(to);
    return strncmp(iso, to, n) <= 0;
}

static bool
figure_matches(const wire_query_t *q, const result_figure_t *f)
{
    if (f->type != q->figure)
        return false;
    if (q->unit && *q->unit && strcmp(f->unit ? f->unit : "", q->unit) != 0)
        return false;
    if ((q->has_min || q->has_max) && !f->has_value)
        return false;
    if (q->has_min && f->value < q->min)
        return false;
    if (q->has_max && f->value > q->max)
        return false;
    const char *iso = f->iso ? f->iso : "";
    if (q->iso_from && *q->iso_from && (!*iso || strcmp(iso, q->iso_from) < 0))
        return false;
    if (q->iso_to && *q->iso_to && (!*iso || !iso_le(iso, q->iso_to)))
        return false;
    return true;
}

static int
scan_one(void *arg, uint64_t job_id, const uint8_t *buf, size_t len)
{
    fscan_t *fs = arg;
    store_query_reply_t *out = fs->out;
    if (out->n == fs->limit || out->scanned == STORE_QUERY_SCAN_MAX ||
        fs->bytes > STORE_QUERY_REPLY_BYTES ||
        (out->scanned % 32 == 31 && now_mono_us() > fs->deadline_us)) {
        fs->more = true;
        return 1;
    }
    out->scanned++;
    fs->last_id = job_id;
    result_t *r = NULL;
    if (wire_result_decode(buf, len, &r) != ERR_OK)
        return 0; /* the store checked it at commit; skip, never fail */
    size_t k = 0;
    for (size_t i = 0; i < r->n_figures; i++)
        k += figure_matches(fs->q, &r->figures[i]);
    if (k == 0) {
        result_destroy(&r);
        return 0;
    }
    wire_query_hit_t *h = add_hit(fs->s, out, job_id, &fs->bytes);
    if (!h) {
        result_destroy(&r);
        return 0;
    }
    wire_figure_t *f = xcalloc(k, sizeof *f);
    size_t j = 0;
    for (size_t i = 0; i < r->n_figures; i++) {
        const result_figure_t *g = &r->figures[i];
        if (!figure_matches(fs->q, g))
            continue;
        f[j].type = g->type;
        f[j].text = g->text;
        f[j].value = g->value;
        f[j].has_value = g->has_value;
        f[j].iso = g->iso;
        f[j].unit = g->unit;
        f[j].start = g->start;
        f[j].end = g->end;
        f[j].turn = g->turn;
        fs->bytes += 48 + slen(g->text) + slen(g->iso) + slen(g->unit);
        j++;
    }
    h->figures = f;
    h->n_figures = k;
    out->figs = xreallocarray(out->figs, out->n_figs + 1, sizeof *out->figs);
    out->figs[out->n_figs++] = f;
    out->results =
        xreallocarray(out->results, out->n_results + 1, sizeof *out->results);
    out->results[out->n_results++] = r;
    return 0;
}

static int
run_figure(store_t *s, const wire_query_t *q, store_query_reply_t *out)
{
    fscan_t fs = { .s = s,
                   .q = q,
                   .out = out,
                   .limit = limit_of(q),
                   .deadline_us = now_mono_us() + STORE_QUERY_SCAN_US };
    int rc = store_results_scan(s, q->after, scan_one, &fs);
    if (rc < 0)
        return rc;
    if (fs.more)
        out->next = fs.last_id;
    return ERR_OK;
}

int
store_query_run(store_t *s, const wire_query_t *q, store_query_reply_t *out)
{
    memset(out, 0, sizeof *out);
    int rc =
        q->entity && *q->entity ? run_entity(s, q, out) : run_figure(s, q, out);
    if (rc)
        store_query_reply_free(out);
    return rc;
}

void
store_query_reply_msg(const store_query_reply_t *page, uint64_t rid,
                      wire_msg_t *m)
{
    memset(m, 0, sizeof *m);
    m->kind = WIRE_QUERY_REPLY;
    m->request_id = rid;
    m->u.query_reply.hits = page->hits;
    m->u.query_reply.n = page->n;
    m->u.query_reply.next = page->next;
    m->u.query_reply.scanned = page->scanned;
}

void
store_query_reply_free(store_query_reply_t *out)
{
    for (size_t i = 0; i < out->n_results; i++)
        result_destroy(&out->results[i]);
    for (size_t i = 0; i < out->n_figs; i++)
        free(out->figs[i]);
    free(out->results);
    free(out->figs);
    free(out->hits);
    memset(out, 0, sizeof *out);
}

/* ----------------------------------------------------------- get, stats */

int
store_query_get(store_t *s, uint64_t job_id, const char *key, bool with_text,
                wire_msg_t *reply, wire_msg_t *text)
{
    store_job_t j;
    memset(reply, 0, sizeof *reply);
    memset(text, 0, sizeof *text);
    int rc = job_id ? store_get(s, job_id, &j)
                    : store_get_key(s, key, strlen(key), &j);
    if (rc)
        return rc;
    reply->kind = WIRE_GET_REPLY;
    wire_job_info_t *ji = &reply->u.get_reply.job;
    ji->id = j.id;
    ji->key = j.key;
    ji->state = j.state;
    ji->attempts = j.attempt;
    ji->priority = j.priority;
    ji->submitted_ms = j.submitted_ms;
    ji->finished_ms = j.finished_ms;
    ji->seq = j.seq;
    ji->last_error = j.last_error;
    ji->source_url = j.source_url;
    ji->title = j.title;
    ji->text_bytes = j.text_bytes;
    if (j.state == STORE_DONE) {
        rc = store_result(s, j.id, &reply->u.get_reply.result,
                          &reply->u.get_reply.result_len);
        if (rc)
            return rc == ERR_NOTFOUND ? ERR_IO : rc;
    }
    if (with_text && store_payload(s, j.id, text) == ERR_OK) {
        reply->u.get_reply.text = text->u.submit.job.text;
        reply->u.get_reply.text_len = text->u.submit.job.text_len;
    }
    return ERR_OK;
}

void
store_query_stats(store_t *s, uint64_t now_ms, wire_stats_t *out)
{
    store_counts_t c;
    store_info_t info;
    memset(out, 0, sizeof *out);
    store_counts(s, &c);
    store_info(s, &info);
    out->ready = c.ready;
    out->leased = c.leased;
    out->delayed = c.delayed;
    out->done = c.done;
    out->dead = c.dead;
    out->last_seq = c.last_seq;
    uint64_t enq;
    if (c.ready && store_read_begin(s) == ERR_OK) {
        if (store_oldest_ready(s, &enq) == ERR_OK && now_ms > enq)
            out->oldest_ready_age_ms = now_ms - enq;
        store_read_end(s);
    }
    out->store_bytes = info.used_bytes;
    out->map_bytes = info.map_bytes;
    out->map_limit = info.map_limit;
}
