/*
 * prom: Prometheus text format 0.0.4 writers and fixed-bucket histograms.
 */
#include "prom.h"

#include <assert.h>
#include <string.h>

void
prom_hist_init(prom_hist_t *h, const double *bounds, size_t n)
{
    assert(n <= PROM_MAX_BUCKETS);
    memset(h, 0, sizeof *h);
    h->n = n;
    memcpy(h->bounds, bounds, n * sizeof *bounds);
}

void
prom_hist_init_exp(prom_hist_t *h, double start, double factor, size_t n)
{
    double b[PROM_MAX_BUCKETS];
    assert(n <= PROM_MAX_BUCKETS);
    for (size_t i = 0; i < n; i++, start *= factor)
        b[i] = start;
    prom_hist_init(h, b, n);
}

void
prom_hist_observe(prom_hist_t *h, double v)
{
    size_t lo = 0, hi = h->n;
    while (lo < hi) { /* the first bound >= v */
        size_t mid = (lo + hi) / 2;
        if (h->bounds[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < h->n)
        h->buckets[lo]++;
    h->count++;
    h->sum += v;
}

void
prom_head(httpd_buf_t *b, const char *name, const char *type, const char *help)
{
    httpd_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
prom_value(httpd_buf_t *b, const char *name, const char *labels, double v)
{
    if (labels && *labels)
        httpd_printf(b, "%s{%s} ", name, labels);
    else
        httpd_printf(b, "%s ", name);
    /* whole numbers up to 2^53 print exactly, others with 9 digits */
    if (v == (double)(int64_t)v && v < 9007199254740992.0 &&
        v > -9007199254740992.0)
        httpd_printf(b, "%.0f\n", v);
    else
        httpd_printf(b, "%.9g\n", v);
}

void
prom_counter(httpd_buf_t *b, const char *name, const char *help, uint64_t v)
{
    prom_head(b, name, "counter", help);
    httpd_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

void
prom_gauge(httpd_buf_t *b, const char *name, const char *help, double v)
{
    prom_head(b, name, "gauge", help);
    prom_value(b, name, NULL, v);
}

void
prom_histogram(httpd_buf_t *b, const char *name, const char *help,
               const prom_hist_t *h)
{
    uint64_t cum = 0;
    prom_head(b, name, "histogram", help);
    for (size_t i = 0; i < h->n; i++) {
        cum += h->buckets[i];
        httpd_printf(b, "%s_bucket{le=\"%.6g\"} %llu\n", name, h->bounds[i],
                     (unsigned long long)cum);
    }
    httpd_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
                 (unsigned long long)h->count);
    httpd_printf(b, "%s_sum %.9g\n%s_count %llu\n", name, h->sum, name,
                 (unsigned long long)h->count);
}

void
prom_label_value(httpd_buf_t *b, const char *s, size_t max)
{
    for (size_t i = 0; i < max && s[i]; i++) {
        char c = s[i];
        if (c == '\\' || c == '"')
            httpd_printf(b, "\\%c", c);
        else if (c == '\n')
            httpd_printf(b, "\\n");
        else
            httpd_printf(b, "%c", c);
    }
}
