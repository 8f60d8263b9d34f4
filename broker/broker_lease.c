/*
 * broker_lease: the worker table, the in-memory lease table (leases need
 * no commit), lease expiry and hold-back with retry backoff, and dispatch
 * of READY jobs to workers with credit.
 */
#include "broker_int.h"

worker_t *
blease_worker_find(broker_t *b, const route_t *rt)
{
    if (rt->n == 0)
        return NULL;
    for (size_t i = 0; i < b->n_workers; i++) {
        worker_t *w = b->workers[i];
        if (w->ident_len == rt->len[0] &&
            memcmp(w->ident, rt->data[0], rt->len[0]) == 0)
            return w;
    }
    return NULL;
}

worker_t *
blease_worker_add(broker_t *b, const route_t *rt)
{
    worker_t *w = xcalloc(1, sizeof *w);
    w->ident_len = rt->len[0];
    w->ident = xmalloc(w->ident_len ? w->ident_len : 1);
    memcpy(w->ident, rt->data[0], w->ident_len);
    snprintf(w->name, sizeof w->name, "?");
    w->last_ms = now_mono_ms();
    if (b->n_workers == b->cap_workers) {
        b->cap_workers = b->cap_workers ? b->cap_workers * 2 : 8;
        b->workers =
            xreallocarray(b->workers, b->cap_workers, sizeof *b->workers);
    }
    b->workers[b->n_workers++] = w;
    return w;
}

void
blease_worker_free(worker_t *w)
{
    free(w->ident);
    free(w);
}

static size_t
lt_slot(const ltab_t *t, uint64_t id)
{
    return (size_t)((id * 0x9e3779b97f4a7c15u) >> 32) & (t->cap - 1);
}

lease_t *
blease_lt_find(ltab_t *t, uint64_t id)
{
    if (!t->cap)
        return NULL;
    for (size_t i = lt_slot(t, id);; i = (i + 1) & (t->cap - 1)) {
        if (t->slots[i].job_id == id)
            return &t->slots[i];
        if (t->slots[i].job_id == 0)
            return NULL;
    }
}

lease_t *
blease_lt_insert(ltab_t *t, uint64_t id)
{
    if ((t->n + 1) * 2 > t->cap) {
        ltab_t g = { xcalloc(t->cap ? t->cap * 2 : 64, sizeof(lease_t)),
                     t->cap ? t->cap * 2 : 64, 0 };
        for (size_t i = 0; i < t->cap; i++)
            if (t->slots[i].job_id)
                *blease_lt_insert(&g, t->slots[i].job_id) = t->slots[i];
        free(t->slots);
        *t = g;
    }
    size_t i = lt_slot(t, id);
    while (t->slots[i].job_id && t->slots[i].job_id != id)
        i = (i + 1) & (t->cap - 1);
    if (!t->slots[i].job_id)
        t->n++;
    memset(&t->slots[i], 0, sizeof t->slots[i]);
    t->slots[i].job_id = id;
    return &t->slots[i];
}

/* Remove by backward shift, so lookups need no tombstones. */
void
blease_lt_remove(ltab_t *t, lease_t *l)
{
    size_t i = (size_t)(l - t->slots), mask = t->cap - 1;
    for (size_t j = (i + 1) & mask; t->slots[j].job_id; j = (j + 1) & mask) {
        size_t home = lt_slot(t, t->slots[j].job_id);
        /* move j back to i unless its home lies cyclically in (i, j] */
        bool stay = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stay) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    memset(&t->slots[i], 0, sizeof t->slots[i]);
    t->n--;
}

/* Record lease l (of a job with bytes of text) as held by w. */
void
blease_lease_give(lease_t *l, worker_t *w, uint64_t bytes)
{
    l->w = w;
    l->bytes = bytes;
    w->n_leases++;
    w->bytes += bytes;
}

/* Undo blease_lease_give: l no longer counts against its holder, if any. */
void
blease_lease_take(lease_t *l)
{
    worker_t *w = l->w;
    if (w && w->n_leases) {
        w->n_leases--;
        w->bytes -= l->bytes < w->bytes ? l->bytes : w->bytes;
    }
    l->w = NULL;
}

/* Mark a live lease finishing: it no longer counts against its worker. */
void
blease_lease_finish(broker_t *b, lease_t *l)
{
    if (l->early_gen && l->early_gen == b->batch_gen && b->batch_early)
        b->batch_early--; /* its Submit can now commit with the answer */
    l->early_gen = 0;
    if (!l->finishing)
        blease_lease_take(l);
    l->finishing = true;
    l->w = NULL;
}

uint64_t
blease_backoff_ms(broker_t *b, uint32_t attempt)
{
    uint64_t d = b->cfg.retry_base_ms;
    for (uint32_t i = 1; i < attempt && d < b->cfg.retry_max_ms; i++)
        d *= 2;
    if (d > b->cfg.retry_max_ms)
        d = b->cfg.retry_max_ms;
    /* jitter: somewhere in [d/2, d] so retries of a burst spread out */
    return d / 2 + (d ? bloop_rand_next(b) % (d / 2 + 1) : 0);
}

/* End lease l: its attempt failed for why (static), committed as an
 * expiry that delays the job. */
void
blease_expire_quiet(broker_t *b, lease_t *l, const char *why)
{
    op_t *op = bcommit_op_push(b, OP_EXPIRE);
    op->job_id = l->job_id;
    op->attempt = l->attempt;
    op->reason = why;
    op->delay_ms = blease_backoff_ms(b, l->tries + 1);
    blease_lease_finish(b, l);
}

void
blease_expire(broker_t *b, lease_t *l, const char *why)
{
    blease_expire_quiet(b, l, why);
    log_info("broker lease lost job=%llu attempt=%u reason=\"%s\"",
             (unsigned long long)l->job_id, l->attempt, why);
}

/* The answer (or expiry) of lease l did not commit, for a store reason
 * (full, I/O): its attempt is not recorded. Dispatching the job again at
 * once would reuse the attempt and, on a full disk, loop hot. It stays
 * held here, away from dispatch, and after a growing backoff its expiry
 * (which records the attempt and delays the job) is committed. */
void
blease_lease_hold(broker_t *b, lease_t *l)
{
    l->finishing = false;
    l->w = NULL;
    l->held = true;
    l->holds++;
    l->deadline_ms = now_mono_ms() + blease_backoff_ms(b, l->holds);
}

/* READY jobs in the store that no worker holds. */
uint64_t
blease_available(broker_t *b)
{
    const store_counts_t *c = &b->counts;
    uint64_t out = b->leases.n > b->n_early ? b->leases.n - b->n_early : 0;
    return c->ready > out ? c->ready - out : 0;
}

/* Can w take another job: credit left, reachable, and holding less than
 * max-worker-bytes of text (or nothing: one job of any size always goes).
 * The byte bound keeps a large prefetch credit from piling big texts into
 * one worker's memory. */
static bool
worker_open(const broker_t *b, const worker_t *w)
{
    return w->credit > 0 && !w->lost && !w->quarantined &&
           (w->n_leases == 0 || w->bytes < b->cfg.max_worker_bytes);
}

bool
blease_can_dispatch(broker_t *b)
{
    if (b->draining || blease_available(b) == 0)
        return false;
    for (size_t i = 0; i < b->n_workers; i++)
        if (worker_open(b, b->workers[i]))
            return true;
    return false;
}

/* Lease jobs round-robin to workers with credit (inside the txn).
 * Returns 0, or ERR_AGAIN (redo the flush). */
typedef struct pick {
    broker_t *b;            /* the broker */
    uint64_t *ids;          /* picked job ids */
    size_t n, max;          /* picked, wanted */
    store_ready_pos_t last; /* last of the leased entries the scan began with */
    bool have_last;         /* there were some */
} pick_t;

static int
pick_cb(void *arg, uint64_t id, const store_ready_pos_t *pos)
{
    pick_t *p = arg;
    if (blease_lt_find(&p->b->leases, id)) {
        if (p->n == 0) {
            p->last = *pos;
            p->have_last = true;
        }
        return 0; /* out already, or its Done is being committed */
    }
    p->ids[p->n++] = id;
    return p->n >= p->max;
}

/* The routing frame of worker w (borrowed). */
route_t
blease_worker_route(const worker_t *w)
{
    route_t rt;
    rt.n = 1;
    rt.len[0] = w->ident_len;
    rt.data[0] = w->ident;
    return rt;
}

/* Lease job id (attempt, bytes of text) to w and send it buf, its
 * encoded Dispatch (owned by this call), or with buf NULL, the Dispatch
 * the caller put in w's outbox (a worker that reads Batches). Returns the
 * lease. */
lease_t *
blease_lease_out(broker_t *b, worker_t *w, uint64_t id, uint32_t attempt,
                 uint64_t bytes, uint8_t *buf, size_t len)
{
    lease_t *l = blease_lt_insert(&b->leases, id);
    l->attempt = attempt;
    l->deadline_ms = now_mono_ms() + b->cfg.lease_ms;
    blease_lease_give(l, w, bytes);
    w->credit--;
    route_t rt = blease_worker_route(w);
    if (buf && bout_send_buf(b->back, &rt, buf, len, WIRE_DISPATCH) != 0)
        w->lost = true; /* its leases expire at the next tick */
    else
        log_debug("broker dispatched job=%llu attempt=%u worker=%s",
                  (unsigned long long)id, attempt, w->name);
    return l;
}

worker_t *
blease_next_worker(broker_t *b)
{
    for (size_t k = 0; k < b->n_workers; k++) {
        worker_t *w = b->workers[(b->rr + k) % b->n_workers];
        if (worker_open(b, w)) {
            b->rr = (b->rr + k + 1) % b->n_workers;
            return w;
        }
    }
    return NULL;
}

/* Lease READY jobs in memory to workers with credit, round-robin, and send
 * them. Reads the store only; attempts continue from the recorded one
 * (store_lease_attempt). */
void
blease_dispatch(broker_t *b)
{
    uint64_t credit = 0, avail = blease_available(b);
    for (size_t i = 0; i < b->n_workers; i++)
        if (!b->workers[i]->lost)
            credit += b->workers[i]->credit;
    size_t want = (size_t)(credit < avail ? credit : avail);
    if (want > LEASES_PER_FLUSH)
        want = LEASES_PER_FLUSH;
    if (want == 0 || store_read_begin(b->store) != 0)
        return;
    pick_t p = {
        b, xcalloc(want, sizeof(uint64_t)), 0, want, { { 0 } }, false
    };
    /* the leased entries at the head of the queue are skipped once, not
     * at every pass: the scan starts after those it skipped last time */
    int rc = store_ready_scan_from(
        b->store, b->ready_from_ok ? &b->ready_from : NULL, pick_cb, &p);
    if (rc < 0)
        log_error("broker ready scan failed: %s", err_str(rc));
    else if (p.have_last) {
        b->ready_from = p.last;
        b->ready_from_ok = true;
    }
    for (size_t i = 0; i < p.n; i++) {
        store_job_t j;
        const uint8_t *stored = NULL;
        size_t stored_len = 0;
        uint8_t *buf = NULL;
        size_t len = 0;
        worker_t *w = blease_next_worker(b);
        if (!w)
            break;
        rc = store_get(b->store, p.ids[i], &j);
        if (rc == 0)
            rc = store_payload_raw(b->store, p.ids[i], &stored, &stored_len);
        /* never an attempt an earlier run may have handed out */
        uint32_t att = rc == 0 ? store_lease_attempt(b->store, &j) : 0;
        /* the stored Submit's Job goes out as it is, not re-encoded; to a
         * worker that reads Batches, straight into its outbox */
        if (rc == 0 && w->batch) {
            route_t rt = blease_worker_route(w);
            rc = wire_splice_dispatch_batch(
                stored, stored_len, ++b->out_rid, att,
                (uint32_t)b->cfg.lease_ms,
                &bout_outbox_for(b, b->back, &rt, stored_len + 64)->batch);
        } else if (rc == 0) {
            rc = wire_splice_dispatch(stored, stored_len, ++b->out_rid, att,
                                      (uint32_t)b->cfg.lease_ms, &buf, &len);
        }
        if (rc) {
            log_error("broker cannot read job=%llu: %s",
                      (unsigned long long)p.ids[i], err_str(rc));
            continue;
        }
        blease_lease_out(b, w, j.id, att, j.text_bytes, buf, len)->tries =
            j.tries;
        if (i % 16 == 15)
            bcommit_service_commit(b);
    }
    store_read_end(b->store);
    free(p.ids);
}
