/*
 * scraper: see scraper.h. Plain sockets, HTTP/1.1 with Connection: close,
 * one scrape at a time.
 */
#include "scraper.h"

#include "../common/now.h"
#include "../common/xalloc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SCRAPE_TIMEOUT_MS 2000

struct scraper {
    int port;             /* 127.0.0.1:port */
    unsigned interval_ms; /* between scrape starts */
    pthread_t thread;     /* the scraping thread */
    atomic_bool stop;     /* ask it to end */
    uint64_t *us;         /* latency of each good scrape */
    size_t n, cap;        /* its entries */
    size_t failed;        /* failed scrapes */
    size_t bytes;         /* last body size */
};

/* One GET /metrics; returns the body bytes, or -1. */
static long
scrape_once(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Connection: close\r\n\r\n";
    long total = 0, body = -1;
    char buf[16384], head[16] = "";
    uint64_t deadline = now_mono_ms() + SCRAPE_TIMEOUT_MS;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        send(fd, req, sizeof req - 1, MSG_NOSIGNAL) != (ssize_t)sizeof req - 1)
        goto out;
    for (;;) {
        uint64_t now = now_mono_ms();
        struct pollfd p = { fd, POLLIN, 0 };
        if (now >= deadline || poll(&p, 1, (int)(deadline - now)) <= 0)
            goto out;
        ssize_t got = recv(fd, buf, sizeof buf, 0);
        if (got < 0)
            goto out;
        if (got == 0)
            break;
        if (total == 0)
            memcpy(head, buf, got < 15 ? (size_t)got : 15);
        total += got;
    }
    if (strncmp(head, "HTTP/1.1 200", 12) == 0)
        body = total; /* headers included: a few hundred bytes */
out:
    close(fd);
    return body;
}

static void *
run(void *arg)
{
    scraper_t *s = arg;
    uint64_t next = now_mono_us();
    while (!atomic_load(&s->stop)) {
        uint64_t t0 = now_mono_us();
        long got = scrape_once(s->port);
        uint64_t t1 = now_mono_us();
        if (got < 0) {
            s->failed++;
        } else {
            if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 1024;
                s->us = xreallocarray(s->us, s->cap, sizeof *s->us);
            }
            s->us[s->n++] = t1 - t0;
            s->bytes = (size_t)got;
        }
        next += (uint64_t)s->interval_ms * 1000u;
        while (!atomic_load(&s->stop) && now_mono_us() < next)
            usleep(5000);
    }
    return NULL;
}

scraper_t *
scraper_start(int port, unsigned interval_ms)
{
    scraper_t *s = xcalloc(1, sizeof *s);
    s->port = port;
    s->interval_ms = interval_ms ? interval_ms : 100;
    atomic_init(&s->stop, false);
    if (pthread_create(&s->thread, NULL, run, s) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void
scraper_stop(scraper_t **sp, scraper_result_t *out)
{
    memset(out, 0, sizeof *out);
    if (!sp || !*sp)
        return;
    scraper_t *s = *sp;
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    out->n = s->n;
    out->failed = s->failed;
    out->bytes = s->bytes;
    if (s->n) {
        qsort(s->us, s->n, sizeof *s->us, cmp_u64);
        out->p50_ms = (double)s->us[s->n / 2] / 1000.0;
        out->p99_ms = (double)s->us[(s->n * 99) / 100] / 1000.0;
        out->max_ms = (double)s->us[s->n - 1] / 1000.0;
    }
    free(s->us);
    free(s);
    *sp = NULL;
}
