/*
 * scraper: a thread that GETs http://127.0.0.1:PORT/metrics every
 * interval while a benchmark runs, as Prometheus would, and times each
 * scrape (connect to the last byte). For bench_pipeline --scrape-ms.
 */
#ifndef EXCERPT_SCRAPER_H
#define EXCERPT_SCRAPER_H

#include <stddef.h>

typedef struct scraper scraper_t;

/* What the scrapes took. */
typedef struct scraper_result {
    size_t n;              /* scrapes answered 200 */
    size_t failed;         /* scrapes that failed or timed out (2 s) */
    double p50_ms, p99_ms; /* their latency */
    double max_ms;         /* the slowest */
    size_t bytes;          /* body size of the last scrape */
} scraper_result_t;

/* Start scraping port every interval_ms; NULL if the thread cannot start. */
scraper_t *scraper_start(int port, unsigned interval_ms);

/* Stop the thread, fill *out, free; NULL-safe. */
void scraper_stop(scraper_t **s, scraper_result_t *out);

#endif
