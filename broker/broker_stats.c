/*
 * broker_stats: the metrics snapshot published at every tick (gauges,
 * worker rows, oldest waiting job) and the Stats request.
 */
#include "broker_int.h"

static int
is_leased(void *arg, uint64_t id)
{
    return blease_lt_find(&((broker_t *)arg)->leases, id) != NULL;
}

/* Age of the oldest waiting job (READY and not leased, or DELAYED) into
 * *age_ms (0 when none). Returns false when the store could not be read. */
static bool
oldest_waiting(broker_t *b, uint64_t *age_ms)
{
    uint64_t since, wall = bloop_clock_ms(b);
    *age_ms = 0;
    if (b->counts.ready + b->counts.delayed == 0)
        return true;
    if (store_read_begin(b->store) != 0)
        return false;
    int rc = store_oldest_waiting(b->store, is_leased, b, &since);
    store_read_end(b->store);
    if (rc == 0 && wall > since)
        *age_ms = wall - since;
    return rc == 0 || rc == ERR_NOTFOUND;
}

/* One row per connected worker (caller frees). */
static metrics_worker_t *
worker_rows(broker_t *b)
{
    metrics_worker_t *rows = xcalloc(b->n_workers + 1, sizeof *rows);
    uint64_t now = now_mono_ms();
    for (size_t i = 0; i < b->n_workers; i++) {
        const worker_t *w = b->workers[i];
        metrics_worker_t *r = &rows[i];
        snprintf(r->name, sizeof r->name, "%s", w->name);
        for (size_t k = 0; k < w->ident_len && 2 * k + 2 < sizeof r->ident; k++)
            snprintf(r->ident + 2 * k, 3, "%02x", w->ident[k]);
        r->credit = w->credit;
        r->held = w->n_leases;
        r->held_bytes = w->bytes;
        r->last_seen_ms = now > w->last_ms ? now - w->last_ms : 0;
    }
    return rows;
}

/* Publish the gauges for the metrics endpoint (every tick). */
void
bstats_publish_metrics(broker_t *b)
{
    if (metrics_port(b->metrics) == 0)
        return; /* nobody can read it */
    store_info_t info;
    metrics_state_t st;
    memset(&st, 0, sizeof st);
    store_info(b->store, &info);
    st.ready = blease_available(b);
    st.leased = b->counts.leased + b->leases.n;
    st.delayed = b->counts.delayed;
    st.done = b->counts.done;
    st.dead = b->counts.dead;
    st.last_seq = b->counts.last_seq;
    st.store_ok = oldest_waiting(b, &st.oldest_wait_ms) && broker_is_healthy(b);
    st.store_bytes = info.used_bytes;
    st.map_bytes = info.map_bytes;
    st.map_limit = info.map_limit;
    st.topics = b->n_topics;
    st.pending_ops = b->n_ops + b->n_cops;
    st.draining = b->draining;
    metrics_worker_t *rows = worker_rows(b);
    st.workers = rows;
    st.n_workers = b->n_workers;
    metrics_publish(b->metrics, &st);
    free(rows);
}

int
broker_metrics_port(const broker_t *b)
{
    return b ? metrics_port(b->metrics) : 0;
}

void
bstats_on_stats(broker_t *b, const route_t *rt, const wire_msg_t *req)
{
    store_counts_t c = b->counts;
    store_info_t info;
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    store_info(b->store, &info);
    m.kind = WIRE_STATS_REPLY;
    m.request_id = req->request_id;
    wire_stats_t *s = &m.u.stats_reply;
    s->ready = blease_available(b);
    s->leased = c.leased + b->leases.n;
    s->delayed = c.delayed;
    s->done = c.done;
    s->dead = c.dead;
    s->last_seq = c.last_seq;
    s->backlog = s->ready + s->leased + s->delayed;
    (void)oldest_waiting(b, &s->oldest_ready_age_ms);
    metrics_worker_t *rows = worker_rows(b);
    s->worker_stats = xcalloc(b->n_workers + 1, sizeof *s->worker_stats);
    for (size_t i = 0; i < b->n_workers; i++) {
        wire_worker_stats_t *ws = &s->worker_stats[i];
        ws->name = rows[i].name;
        ws->identity = rows[i].ident;
        ws->credit = rows[i].credit;
        ws->held = rows[i].held;
        ws->held_bytes = rows[i].held_bytes;
        ws->last_seen_ms = rows[i].last_seen_ms;
    }
    s->n_worker_stats = b->n_workers;
    s->store_bytes = info.used_bytes;
    s->map_bytes = info.map_bytes;
    s->map_limit = info.map_limit;
    s->workers = (uint32_t)b->n_workers;
    s->submitted_total = b->submitted_total;
    s->committed_total = b->committed_total;
    s->rejected_total = b->rejected_total;
    s->uptime_ms = now_mono_ms() - b->start_ms;
    s->commit_rate = metrics_commit_rate(b->metrics);
    bfront_reply_read(b, rt, &m);
    free(s->worker_stats);
    free(rows);
}
