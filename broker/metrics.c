/*
 * metrics: loop-side counters and histograms, a snapshot copied under a
 * mutex at every tick, and its rendering for the HTTP thread (see
 * metrics.h). Metric names start with excerpt_broker_.
 */
#include "metrics.h"

#include "../common/err.h"
#include "../common/httpd.h"
#include "../common/log.h"
#include "../common/now.h"
#include "../common/prom.h"
#include "../common/xalloc.h"
#include "../proto/wire.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RATE_SLOT_MS 100   /* commit-rate resolution */
#define RATE_SLOTS 100     /* 10 s window */
#define FULL_HOLD_MS 10000 /* not ready this long after the store was full */
#define N_CODES 16         /* rejected[] size */

/* Histograms kept by the loop and copied into the snapshot. */
typedef struct hists {
    prom_hist_t accept_s;  /* Submit arrival -> its commit */
    prom_hist_t result_s;  /* job submitted -> result committed */
    prom_hist_t extract_s; /* worker extraction time */
    prom_hist_t batch;     /* operations per group commit */
    prom_hist_t commit_s;  /* group commit duration */
} hists_t;

/* What the HTTP thread renders. */
typedef struct snap {
    metrics_state_t st;   /* gauges (workers points into wk) */
    metrics_worker_t *wk; /* worker rows, owned */
    size_t cap_wk;        /* allocated rows */
    metrics_counts_t c;   /* counters */
    hists_t h;            /* histograms */
    double rate;          /* results/s */
    uint64_t full_ms;     /* monotonic ms of the last store-full */
    int last_rc;          /* last group commit's outcome */
    uint64_t uptime_ms;   /* since metrics_open */
} snap_t;

struct metrics {
    metrics_cfg_t cfg; /* copy (strings not kept) */
    httpd_t *http;     /* endpoint, or NULL */
    uint64_t start_ms; /* monotonic start */
    /* loop-owned */
    metrics_counts_t c;           /* counters */
    hists_t h;                    /* histograms */
    uint64_t rate_n[RATE_SLOTS];  /* results per slot */
    uint64_t rate_at[RATE_SLOTS]; /* slot number each entry counts */
    uint64_t full_ms;             /* last store-full, monotonic ms */
    int last_rc;                  /* last group commit's outcome */
    /* shared */
    pthread_mutex_t mu;            /* guards s */
    snap_t s;                      /* the published copy */
    atomic_uint_least64_t tick_ms; /* monotonic ms of the last publish */
};

static void
hists_init(hists_t *h)
{
    /* seconds: 0.5 ms .. about 4.6 min, doubling */
    prom_hist_init_exp(&h->accept_s, 0.0005, 2, 20);
    prom_hist_init_exp(&h->result_s, 0.001, 2, 20);
    prom_hist_init_exp(&h->extract_s, 0.00005, 2, 20);
    prom_hist_init_exp(&h->batch, 1, 2, 15);
    prom_hist_init_exp(&h->commit_s, 0.0001, 2, 18);
}

static int
page(void *arg, const char *path, httpd_buf_t *out)
{
    return metrics_render(arg, path, out);
}

int
metrics_open(metrics_t **out, const metrics_cfg_t *cfg)
{
    metrics_t *m = xcalloc(1, sizeof *m);
    m->cfg = *cfg;
    m->cfg.listen = m->cfg.token_file = NULL;
    if (m->cfg.stall_ms == 0)
        m->cfg.stall_ms = 5000;
    m->start_ms = now_mono_ms();
    m->last_rc = 0;
    hists_init(&m->h);
    m->s.h = m->h;
    m->s.st.store_ok = true;
    pthread_mutex_init(&m->mu, NULL);
    atomic_store(&m->tick_ms, m->start_ms);
    if (cfg->listen && *cfg->listen) {
        httpd_cfg_t hc = { cfg->listen, cfg->token_file, cfg->insecure,
                           "broker" };
        int rc = httpd_open(&m->http, &hc, page, m);
        if (rc) {
            metrics_destroy(&m);
            return rc;
        }
    }
    *out = m;
    return ERR_OK;
}

void
metrics_destroy(metrics_t **mp)
{
    if (!mp || !*mp)
        return;
    metrics_t *m = *mp;
    httpd_destroy(&m->http); /* its thread may read s until here */
    pthread_mutex_destroy(&m->mu);
    free(m->s.wk);
    free(m);
    *mp = NULL;
}

int
metrics_port(const metrics_t *m)
{
    return m ? httpd_port(m->http) : 0;
}

void
metrics_submit(metrics_t *m)
{
    if (m)
        m->c.submits++;
}

void
metrics_accepted(metrics_t *m, bool dup, uint64_t wait_us)
{
    if (!m)
        return;
    if (dup)
        m->c.duplicates++;
    else
        m->c.accepted++;
    prom_hist_observe(&m->h.accept_s, (double)wait_us / 1e6);
}

void
metrics_rejected(metrics_t *m, int code)
{
    if (!m)
        return;
    m->c.rejected[code >= 0 && code < N_CODES ? code : 0]++;
    if (code == WIRE_CODE_STORE_FULL)
        m->full_ms = now_mono_ms();
}

void
metrics_result(metrics_t *m, uint64_t extract_us, uint64_t total_us)
{
    if (!m)
        return;
    uint64_t slot = now_mono_ms() / RATE_SLOT_MS;
    size_t i = slot % RATE_SLOTS;
    if (m->rate_at[i] != slot) {
        m->rate_at[i] = slot;
        m->rate_n[i] = 0;
    }
    m->rate_n[i]++;
    m->c.results++;
    prom_hist_observe(&m->h.result_s, (double)total_us / 1e6);
    if (extract_us)
        prom_hist_observe(&m->h.extract_s, (double)extract_us / 1e6);
}

void
metrics_failed(metrics_t *m, bool dead)
{
    if (!m)
        return;
    if (dead)
        m->c.dead++;
    else
        m->c.retries++;
}

void
metrics_commit(metrics_t *m, size_t ops, uint64_t us, int rc)
{
    if (!m)
        return;
    m->c.commits++;
    if (rc)
        m->c.commit_errors++;
    if (rc == ERR_FULL)
        m->full_ms = now_mono_ms();
    m->last_rc = rc;
    prom_hist_observe(&m->h.batch, (double)ops);
    prom_hist_observe(&m->h.commit_s, (double)us / 1e6);
}

double
metrics_commit_rate(const metrics_t *m)
{
    if (!m)
        return 0;
    uint64_t now = now_mono_ms(), slot = now / RATE_SLOT_MS, sum = 0;
    for (size_t i = 0; i < RATE_SLOTS; i++)
        if (m->rate_at[i] + RATE_SLOTS > slot && m->rate_at[i] <= slot)
            sum += m->rate_n[i];
    /* the window: the current slot so far plus the 99 before it, or the
     * broker's whole life when shorter */
    uint64_t span = now - (slot - (RATE_SLOTS - 1)) * RATE_SLOT_MS;
    if (slot < RATE_SLOTS - 1 || now - m->start_ms < span)
        span = now - m->start_ms;
    if (span < RATE_SLOT_MS)
        span = RATE_SLOT_MS;
    return (double)sum * 1000.0 / (double)span;
}

const metrics_counts_t *
metrics_counts(const metrics_t *m)
{
    return &m->c;
}

void
metrics_publish(metrics_t *m, const metrics_state_t *st)
{
    if (!m)
        return;
    double rate = metrics_commit_rate(m);
    uint64_t now = now_mono_ms();
    pthread_mutex_lock(&m->mu);
    if (st->n_workers > m->s.cap_wk) {
        m->s.cap_wk = st->n_workers * 2;
        m->s.wk = xreallocarray(m->s.wk, m->s.cap_wk, sizeof *m->s.wk);
    }
    if (st->n_workers)
        memcpy(m->s.wk, st->workers, st->n_workers * sizeof *m->s.wk);
    m->s.st = *st;
    m->s.st.workers = m->s.wk;
    m->s.c = m->c;
    m->s.h = m->h;
    m->s.rate = rate;
    m->s.full_ms = m->full_ms;
    m->s.last_rc = m->last_rc;
    m->s.uptime_ms = now - m->start_ms;
    pthread_mutex_unlock(&m->mu);
    atomic_store(&m->tick_ms, now);
}

/* Why the broker is not live, or NULL. */
static const char *
not_live(metrics_t *m, const snap_t *s)
{
    uint64_t tick = atomic_load(&m->tick_ms), now = now_mono_ms();
    if (now > tick && now - tick > m->cfg.stall_ms)
        return "broker loop stalled";
    if (!s->st.store_ok)
        return "store unreadable";
    if (s->last_rc && s->last_rc != ERR_FULL)
        return "last group commit failed";
    return NULL;
}

/* Why the broker takes no new jobs, or NULL. */
static const char *
not_ready(metrics_t *m, const snap_t *s)
{
    const char *why = not_live(m, s);
    if (why)
        return why;
    if (s->st.draining)
        return "shutting down";
    if (s->full_ms && now_mono_ms() - s->full_ms < FULL_HOLD_MS)
        return "store full";
    if (s->st.ready + s->st.leased + s->st.delayed >= m->cfg.max_queued)
        return "queue full";
    return NULL;
}

static void
render_workers(httpd_buf_t *b, const snap_t *s)
{
    static const struct {
        const char *name, *help;
    } rows[] = {
        { "excerpt_broker_worker_credit", "jobs the worker may still be sent" },
        { "excerpt_broker_worker_held_jobs", "jobs the worker holds" },
        { "excerpt_broker_worker_held_bytes", "text bytes the worker holds" },
        { "excerpt_broker_worker_last_seen_seconds",
          "time since the worker's last message" },
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        prom_head(b, rows[r].name, "gauge", rows[r].help);
        for (size_t i = 0; i < s->st.n_workers; i++) {
            const metrics_worker_t *w = &s->wk[i];
            double v = r == 0   ? (double)w->credit
                       : r == 1 ? (double)w->held
                       : r == 2 ? (double)w->held_bytes
                                : (double)w->last_seen_ms / 1000.0;
            httpd_printf(b, "%s{worker=\"", rows[r].name);
            prom_label_value(b, w->name, sizeof w->name);
            httpd_printf(b, "\",identity=\"%s\"} %.9g\n", w->ident, v);
        }
    }
}

static void
render_metrics(httpd_buf_t *b, metrics_t *m, const snap_t *s)
{
    const metrics_state_t *st = &s->st;
    prom_head(b, "excerpt_broker_jobs", "gauge",
              "jobs by state (ready: waiting and not leased)");
    prom_value(b, "excerpt_broker_jobs", "state=\"ready\"", (double)st->ready);
    prom_value(b, "excerpt_broker_jobs", "state=\"leased\"",
               (double)st->leased);
    prom_value(b, "excerpt_broker_jobs", "state=\"delayed\"",
               (double)st->delayed);
    prom_value(b, "excerpt_broker_jobs", "state=\"done\"", (double)st->done);
    prom_value(b, "excerpt_broker_jobs", "state=\"dead\"", (double)st->dead);
    prom_gauge(b, "excerpt_broker_backlog",
               "jobs not finished: ready + leased + delayed",
               (double)(st->ready + st->leased + st->delayed));
    prom_gauge(b, "excerpt_broker_oldest_waiting_seconds",
               "age of the oldest job waiting (ready and not leased, or "
               "delayed) since it was last queued",
               (double)st->oldest_wait_ms / 1000.0);
    prom_gauge(b, "excerpt_broker_last_seq", "highest committed seq",
               (double)st->last_seq);
    prom_counter(b, "excerpt_broker_submits_total",
                 "Submit requests queued for a commit", s->c.submits);
    prom_counter(b, "excerpt_broker_accepted_total",
                 "new jobs accepted (committed)", s->c.accepted);
    prom_counter(b, "excerpt_broker_duplicates_total",
                 "Submits answered Accepted{duplicate}", s->c.duplicates);
    prom_head(b, "excerpt_broker_rejected_total", "counter",
              "requests answered Rejected, by code");
    for (int code = 1; code <= WIRE_CODE_UNAUTHORIZED; code++)
        httpd_printf(b, "excerpt_broker_rejected_total{code=\"%s\"} %llu\n",
                     wire_code_name(code),
                     (unsigned long long)s->c.rejected[code]);
    prom_counter(b, "excerpt_broker_results_total", "results committed",
                 s->c.results);
    prom_counter(b, "excerpt_broker_retries_total",
                 "failed or expired attempts queued for a retry", s->c.retries);
    prom_counter(b, "excerpt_broker_dead_total", "jobs dead-lettered",
                 s->c.dead);
    prom_counter(b, "excerpt_broker_commits_total", "group commits",
                 s->c.commits);
    prom_counter(b, "excerpt_broker_commit_errors_total",
                 "group commits that failed", s->c.commit_errors);
    prom_gauge(b, "excerpt_broker_commit_rate",
               "results committed per second over the last 10 s", s->rate);
    prom_histogram(b, "excerpt_broker_accept_seconds",
                   "Submit arrival to its durable commit (Accepted)",
                   &s->h.accept_s);
    prom_histogram(b, "excerpt_broker_result_seconds",
                   "job submitted to its result committed "
                   "(Timings.total_us, millisecond clock)",
                   &s->h.result_s);
    prom_histogram(b, "excerpt_broker_extract_seconds",
                   "engine time on the worker (Timings.extract_us)",
                   &s->h.extract_s);
    prom_histogram(b, "excerpt_broker_commit_batch_ops",
                   "operations per group commit", &s->h.batch);
    prom_histogram(b, "excerpt_broker_commit_seconds",
                   "group commit duration, fsync included", &s->h.commit_s);
    prom_gauge(b, "excerpt_broker_pending_ops",
               "writes waiting for the next group commit",
               (double)st->pending_ops);
    prom_gauge(b, "excerpt_broker_store_used_bytes", "LMDB bytes in use",
               (double)st->store_bytes);
    prom_gauge(b, "excerpt_broker_store_map_bytes", "LMDB map size",
               (double)st->map_bytes);
    prom_gauge(b, "excerpt_broker_store_map_limit_bytes",
               "the map never grows past this", (double)st->map_limit);
    prom_gauge(b, "excerpt_broker_workers", "workers connected",
               (double)st->n_workers);
    render_workers(b, s);
    prom_gauge(b, "excerpt_broker_publisher_topics",
               "distinct topic prefixes consumers subscribe to",
               (double)st->topics);
    prom_gauge(b, "excerpt_broker_uptime_seconds", "since the broker started",
               (double)s->uptime_ms / 1000.0);
    prom_gauge(b, "excerpt_broker_up", "1 when live (the /healthz condition)",
               not_live(m, s) ? 0 : 1);
    prom_gauge(b, "excerpt_broker_ready",
               "1 when taking jobs (the /readyz condition)",
               not_ready(m, s) ? 0 : 1);
}

int
metrics_render(metrics_t *m, const char *path, httpd_buf_t *out)
{
    snap_t s;
    pthread_mutex_lock(&m->mu);
    s = m->s;
    s.wk = NULL;
    if (m->s.st.n_workers) {
        s.wk = xreallocarray(NULL, m->s.st.n_workers, sizeof *s.wk);
        memcpy(s.wk, m->s.wk, m->s.st.n_workers * sizeof *s.wk);
    }
    pthread_mutex_unlock(&m->mu);
    s.st.workers = s.wk;
    int status = 200;
    if (strcmp(path, "/metrics") == 0) {
        render_metrics(out, m, &s);
    } else if (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0) {
        const char *why = path[1] == 'h' ? not_live(m, &s) : not_ready(m, &s);
        status = why ? 503 : 200;
        httpd_printf(out, "%s\n", why ? why : "ok");
    } else {
        status = 404;
        httpd_printf(out, "not found: /metrics, /healthz, /readyz\n");
    }
    free(s.wk);
    return status;
}
