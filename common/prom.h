/*
 * prom: Prometheus text exposition helpers: histograms with fixed bucket
 * bounds that one thread fills and another renders from a copy, and the
 * lines of counters and gauges (see httpd.h for the buffer).
 */
#ifndef EXCERPT_PROM_H
#define EXCERPT_PROM_H

#include "httpd.h"

#include <stddef.h>
#include <stdint.h>

#define PROM_MAX_BUCKETS 24

/* A histogram: plain data, copied by value into a snapshot. */
typedef struct prom_hist {
    size_t n;                           /* bounds in use */
    double bounds[PROM_MAX_BUCKETS];    /* upper bounds, ascending */
    uint64_t buckets[PROM_MAX_BUCKETS]; /* observations <= bound (not
                                           cumulative) */
    uint64_t count;                     /* all observations */
    double sum;                         /* their sum */
} prom_hist_t;

/* Set h empty with n bounds (n <= PROM_MAX_BUCKETS, ascending). */
void prom_hist_init(prom_hist_t *h, const double *bounds, size_t n);

/* Set h empty with bounds start, start*factor, ... (n of them). */
void prom_hist_init_exp(prom_hist_t *h, double start, double factor, size_t n);

/* Count one observation v. */
void prom_hist_observe(prom_hist_t *h, double v);

/* Write "# HELP", "# TYPE" and the lines of a histogram, counter or
 * gauge called name. labels (may be NULL or "") is a label list without
 * braces, e.g. "code=\"QUEUE_FULL\"", for prom_counter/prom_gauge. */
void prom_histogram(httpd_buf_t *b, const char *name, const char *help,
                    const prom_hist_t *h);
void prom_head(httpd_buf_t *b, const char *name, const char *type,
               const char *help);
void prom_value(httpd_buf_t *b, const char *name, const char *labels, double v);
void prom_counter(httpd_buf_t *b, const char *name, const char *help,
                  uint64_t v);
void prom_gauge(httpd_buf_t *b, const char *name, const char *help, double v);

/* Write s into b as a label value: backslash, double quote and newline
 * escaped; at most max bytes of s. */
void prom_label_value(httpd_buf_t *b, const char *s, size_t max);

#endif
