/*
 * wloop_metrics: see wloop_metrics.h. Metric names start with
 * excerpt_worker_.
 */
#include "wloop_metrics.h"

#include "../common/err.h"
#include "../common/httpd.h"
#include "../common/now.h"
#include "../common/prom.h"
#include "../common/xalloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define PUBLISH_MS 100 /* publish interval */

struct wloop_metrics {
    httpd_t *http;            /* the endpoint */
    uint64_t stall_ms;        /* liveness limit */
    uint64_t next_ms;         /* loop: next publish */
    prom_hist_t extract;      /* loop: engine seconds per job */
    pthread_mutex_t mu;       /* guards the two below */
    wloop_metrics_state_t st; /* published state */
    prom_hist_t extract_pub;  /* published histogram */
    atomic_uint_least64_t at; /* monotonic ms of the last publish */
};

static void
render(wloop_metrics_t *m, httpd_buf_t *b, const wloop_metrics_state_t *st,
       const prom_hist_t *h, bool live)
{
    prom_counter(b, "excerpt_worker_jobs_done_total",
                 "results the broker acknowledged", st->done);
    prom_counter(b, "excerpt_worker_jobs_failed_total",
                 "jobs answered with Failed", st->failed);
    prom_counter(b, "excerpt_worker_jobs_fenced_total",
                 "answers the broker discarded (an old attempt)", st->fenced);
    prom_histogram(b, "excerpt_worker_extract_seconds", "engine time per job",
                   h);
    prom_gauge(b, "excerpt_worker_held_jobs", "jobs held, running or queued",
               (double)st->held);
    prom_gauge(b, "excerpt_worker_credit",
               "credit granted to the broker and not used yet",
               (double)st->credit);
    prom_gauge(b, "excerpt_worker_capacity", "threads x prefetch",
               (double)st->capacity);
    prom_gauge(b, "excerpt_worker_threads", "extraction threads",
               (double)st->threads);
    prom_gauge(b, "excerpt_worker_connected",
               "1 while a socket hears the broker", st->connected ? 1 : 0);
    prom_gauge(b, "excerpt_worker_up", "1 while the loop runs (/healthz)",
               live ? 1 : 0);
    (void)m;
}

static int
page(void *arg, const char *path, httpd_buf_t *out)
{
    wloop_metrics_t *m = arg;
    wloop_metrics_state_t st;
    prom_hist_t h;
    pthread_mutex_lock(&m->mu);
    st = m->st;
    h = m->extract_pub;
    pthread_mutex_unlock(&m->mu);
    uint64_t at = atomic_load(&m->at), now = now_mono_ms();
    bool live = !(now > at && now - at > m->stall_ms);
    if (strcmp(path, "/metrics") == 0) {
        render(m, out, &st, &h, live);
        return 200;
    }
    const char *why = NULL;
    if (strcmp(path, "/healthz") == 0) {
        why = live ? NULL : "worker loop stalled";
    } else if (strcmp(path, "/readyz") == 0) {
        why = !live           ? "worker loop stalled"
              : st.draining   ? "shutting down"
              : !st.connected ? "not connected to a broker"
                              : NULL;
    } else {
        httpd_printf(out, "not found: /metrics, /healthz, /readyz\n");
        return 404;
    }
    httpd_printf(out, "%s\n", why ? why : "ok");
    return why ? 503 : 200;
}

int
wloop_metrics_open(wloop_metrics_t **out, const char *listen,
                   const char *token_file, bool insecure, uint64_t stall_ms)
{
    wloop_metrics_t *m = xcalloc(1, sizeof *m);
    m->stall_ms = stall_ms ? stall_ms : 5000;
    /* seconds: 50 us .. about 26 s, doubling */
    prom_hist_init_exp(&m->extract, 0.00005, 2, 20);
    m->extract_pub = m->extract;
    pthread_mutex_init(&m->mu, NULL);
    atomic_store(&m->at, now_mono_ms());
    httpd_cfg_t hc = { listen, token_file, insecure, "worker" };
    int rc = httpd_open(&m->http, &hc, page, m);
    if (rc) {
        wloop_metrics_destroy(&m);
        return rc;
    }
    *out = m;
    return ERR_OK;
}

void
wloop_metrics_destroy(wloop_metrics_t **mp)
{
    if (!mp || !*mp)
        return;
    wloop_metrics_t *m = *mp;
    httpd_destroy(&m->http);
    pthread_mutex_destroy(&m->mu);
    free(m);
    *mp = NULL;
}

int
wloop_metrics_port(const wloop_metrics_t *m)
{
    return m ? httpd_port(m->http) : 0;
}

void
wloop_metrics_job(wloop_metrics_t *m, bool failed, uint64_t extract_us)
{
    if (m && !failed)
        prom_hist_observe(&m->extract, (double)extract_us / 1e6);
}

void
wloop_metrics_publish(wloop_metrics_t *m, const wloop_metrics_state_t *st,
                      bool force)
{
    if (!m)
        return;
    uint64_t now = now_mono_ms();
    if (!force && now < m->next_ms)
        return;
    m->next_ms = now + PUBLISH_MS;
    pthread_mutex_lock(&m->mu);
    m->st = *st;
    m->extract_pub = m->extract;
    pthread_mutex_unlock(&m->mu);
    atomic_store(&m->at, now);
}
