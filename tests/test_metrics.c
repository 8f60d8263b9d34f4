/*
 * test_metrics: the metrics and health endpoints of the real broker and
 * worker processes, scraped over HTTP by a small plain-socket client:
 * figures that move as jobs go through (backlog with jobs held in worker
 * prefetch, counters, histograms, per-worker rows), the oldest waiting job
 * not counting leased ones, `excerpt stats` rows, /healthz under SIGSTOP,
 * /readyz of a full store and of a worker without a broker, and the rules for
 * binding off loopback (token or explicit opt-out). Endpoints are ipc:// in a
 * mkdtemp dir, metrics on 127.0.0.1 port 0 (the port is read from the process's
 * log). EXCERPT_TEST_KEEP=1 keeps the temp dir.
 */
#include "../broker/metrics.h"
#include "../client/client.h"
#include "../common/err.h"
#include "../common/httpd.h"
#include "../common/now.h"
#include "../proto/wire.h"
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef EXCERPT_BROKER_BIN
#define EXCERPT_BROKER_BIN ""
#endif
#ifndef EXCERPT_WORKER_BIN
#define EXCERPT_WORKER_BIN ""
#endif
#ifndef EXCERPT_CLI_BIN
#define EXCERPT_CLI_BIN ""
#endif

#define MAX_ARGS 40
#define HTTP_MS 10000 /* one HTTP exchange with a running process */
#define CLI_MS 120000 /* one `excerpt stats` run */

typedef struct fx {
    char dir[64];     /* temp dir */
    char data[128];   /* broker data dir */
    char fe[192];     /* frontend endpoint */
    char be[192];     /* backend endpoint */
    char pub[192];    /* publisher endpoint */
    char token[192];  /* token file path */
    hx_proc_t broker; /* excerpt-broker (stdout and stderr in log) */
    hx_proc_t worker; /* excerpt-worker (stdout and stderr in log) */
    hx_proc_t cli;    /* the last `excerpt stats` */
    int bport, wport; /* their metrics ports */
} fx_t;

/* ------------------------------------------------------------ processes */

/* The value after "key=" on the last line of the log holding needle; -1
 * when there is none. */
static long
log_value(const char *path, const char *needle, const char *key)
{
    FILE *f = fopen(path, "r");
    long v = -1;
    char line[4096];
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        const char *k = strstr(line, needle) ? strstr(line, key) : NULL;
        if (k)
            v = strtol(k + strlen(key), NULL, 10);
    }
    fclose(f);
    return v;
}

/* Whether the thread whose stat file is path is stopped (state T). */
static bool
thread_stopped(const char *path)
{
    char buf[512];
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the name may hold spaces */
    return p && p[1] == ' ' && p[2] == 'T';
}

/* Whether every thread of pid is stopped by a signal. A group stop
 * reaches the threads one by one: the leader can show T while the HTTP
 * thread still answers, so each /proc/PID/task/TID/stat is read. */
static bool
is_stopped(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return false;
    bool all = true;
    int seen = 0;
    struct dirent *de;
    while (all && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char stat[320];
        snprintf(stat, sizeof stat, "/proc/%d/task/%s/stat", (int)pid,
                 de->d_name);
        all = thread_stopped(stat);
        seen++;
    }
    closedir(d);
    return all && seen > 0;
}

static bool
log_has(const char *path, const char *needle)
{
    return hx_count_in_file(path, needle) > 0;
}

#define WAIT_FOR(cond, ms) HX_WAIT_FOR(cond, ms)

/* ----------------------------------------------------------- HTTP client */

typedef struct http {
    int status; /* HTTP status; 0: no answer in time; -1: no connection */
    char *body; /* NUL-terminated, owned */
} http_t;

/* GET path from 127.0.0.1:port with an optional bearer token; waits at
 * most timeout_ms for the whole answer. */
static http_t
http_get(int port, const char *path, const char *token, int timeout_ms)
{
    http_t r = { -1, NULL };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return r;
    }
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Connection: close\r\n%s%s%s\r\n",
                     path, token ? "Authorization: Bearer " : "",
                     token ? token : "", token ? "\r\n" : "");
    assert_true(n > 0 && (size_t)n < sizeof req);
    assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    assert_non_null(buf);
    uint64_t deadline = now_mono_ms() + (uint64_t)timeout_ms;
    r.status = 0;
    for (;;) {
        uint64_t now = now_mono_ms();
        if (now >= deadline)
            goto out; /* no complete answer in time */
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, (int)(deadline - now)) <= 0)
            continue;
        if (len + 4096 > cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        ssize_t got = recv(fd, buf + len, cap - len - 1, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    buf[len] = '\0';
    const char *body = strstr(buf, "\r\n\r\n");
    if (strncmp(buf, "HTTP/1.1 ", 9) == 0 && body) {
        r.status = atoi(buf + 9);
        r.body = strdup(body + 4);
        assert_non_null(r.body);
    }
out:
    free(buf);
    close(fd);
    return r;
}

static int
http_status(int port, const char *path, const char *token)
{
    http_t r = http_get(port, path, token, HTTP_MS);
    free(r.body);
    return r.status;
}

/* The value of the sample "series" (name, or name{labels}) in a scrape;
 * fails the test when it is missing. */
static double
sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    fail_msg("no sample %s in the scrape", series);
    return 0;
}

/* Scrape /metrics of port and return sample(series). */
static double
scrape(int port, const char *series)
{
    http_t r = http_get(port, "/metrics", NULL, HTTP_MS);
    assert_int_equal(r.status, 200);
    double v = sample(r.body, series);
    free(r.body);
    return v;
}

/* ------------------------------------------------------------ fixture */

static int
setup(void **state)
{
    hx_setup();
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *state = f;
    hx_tempdir(f->dir, sizeof f->dir, "test_metrics");
    snprintf(f->data, sizeof f->data, "%s/data", f->dir);
    snprintf(f->fe, sizeof f->fe, "ipc://%s/fe.sock", f->dir);
    snprintf(f->be, sizeof f->be, "ipc://%s/be.sock", f->dir);
    snprintf(f->pub, sizeof f->pub, "ipc://%s/pub.sock", f->dir);
    snprintf(f->token, sizeof f->token, "%s/token", f->dir);
    snprintf(f->broker.log, sizeof f->broker.log, "%s/broker.log", f->dir);
    snprintf(f->worker.log, sizeof f->worker.log, "%s/worker.log", f->dir);
    snprintf(f->cli.log, sizeof f->cli.log, "%s/stats.out", f->dir);
    snprintf(f->cli.err, sizeof f->cli.err, "%s/stats.err", f->dir);
    f->cli.fresh = true;
    return 0;
}

static int
teardown(void **state)
{
    fx_t *f = *state;
    if (!f)
        return 0;
    hx_teardown(NULL);
    hx_proc_free(&f->cli);
    hx_proc_free(&f->worker);
    hx_proc_free(&f->broker);
    hx_rmtree(f->dir);
    free(f);
    return 0;
}

/* Start the broker with extra flags; with wait, until it listens (and its
 * metrics port is known), else until it listens or exits. */
static void
start_broker(fx_t *f, const char *const *extra, bool wait)
{
    const char *args[MAX_ARGS] = {
        EXCERPT_BROKER_BIN, "--data-dir", f->data,       "--frontend", f->fe,
        "--backend",        f->be,        "--publisher", f->pub
    };
    size_t n = 9;
    for (size_t i = 0; extra && extra[i]; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    hx_proc_args(&f->broker, args);
    hx_spawn(&f->broker);
    if (!wait)
        return;
    WAIT_FOR(log_has(f->broker.log, "INFO listening") || !hx_alive(&f->broker),
             10000);
    assert_true(f->broker.pid > 0);
    f->bport = (int)log_value(f->broker.log, "metrics listening", "port=");
}

static void
start_worker(fx_t *f, const char *const *extra)
{
    const char *args[MAX_ARGS] = {
        EXCERPT_WORKER_BIN, "--broker", f->be,    "--threads", "1",
        "--prefetch",       "1",        "--name", "w0",        "--metrics",
        "127.0.0.1:0"
    };
    size_t n = 11;
    for (size_t i = 0; extra && extra[i]; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    hx_proc_args(&f->worker, args);
    hx_spawn(&f->worker);
    WAIT_FOR(log_has(f->worker.log, "metrics listening") ||
                 !hx_alive(&f->worker),
             10000);
    assert_true(f->worker.pid > 0);
    f->wport = (int)log_value(f->worker.log, "metrics listening", "port=");
    assert_true(f->wport > 0);
}

static client_t *
open_client(fx_t *f)
{
    client_t *c = NULL;
    client_opts_t o = { .timeout_ms = 30000 };
    assert_int_equal(client_open(&c, f->fe, &o), ERR_OK);
    return c;
}

static void
submit(client_t *c, int i)
{
    char text[256];
    snprintf(text, sizeof text,
             "Meeting %d.\nAnna Petrova: Revenue grew by %d%% in Russia.\n", i,
             i + 3);
    wire_job_t job = { 0 };
    job.text = text;
    job.text_len = strlen(text);
    uint64_t id = 0;
    assert_int_equal(client_submit(c, &job, &id, NULL), ERR_OK);
    assert_true(id > 0);
}

/* Output of `excerpt stats --endpoint FE [flag]` (it must exit 0). */
static char *
cli_stats(fx_t *f, const char *flag)
{
    const char *args[] = { EXCERPT_CLI_BIN, "stats", "--endpoint",
                           f->fe,           flag,    NULL };
    hx_proc_args(&f->cli, args);
    hx_spawn(&f->cli);
    int code = hx_wait_exit(&f->cli, CLI_MS);
    if (code == -1)
        fail_msg("excerpt stats did not finish within %d ms", CLI_MS);
    assert_int_equal(code, 0);
    FILE *p = fopen(f->cli.log, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + len, 1, cap - 1 - len, p)) > 0)
        len += got;
    buf[len] = '\0';
    fclose(p);
    return buf;
}

/* Fails the test unless the broker and the worker were built. */
static void
require_programs(void)
{
    hx_require_bin(EXCERPT_BROKER_BIN);
    hx_require_bin(EXCERPT_WORKER_BIN);
}

/* ------------------------------------------------------------ tests */

/* Jobs held in a stopped worker's prefetch are backlog, not "ready"; the
 * oldest waiting job is not the leased one; then every figure moves as
 * the worker finishes them. */
static void
test_figures_move(void **state)
{
    fx_t *f = *state;
    require_programs();
    start_broker(f,
                 (const char *const[]){ "--metrics", "127.0.0.1:0",
                                        "--worker-timeout-ms", "120s", NULL },
                 true);
    assert_true(f->bport > 0);
    start_worker(f, NULL);
    WAIT_FOR(scrape(f->bport, "excerpt_broker_workers") == 1, 10000);
    assert_int_equal(scrape(f->bport, "excerpt_broker_submits_total"), 0);
    WAIT_FOR(scrape(f->wport, "excerpt_worker_connected") == 1, 10000);

    /* the worker (credit 1) takes job 1 and is stopped holding it */
    assert_int_equal(kill(f->worker.pid, SIGSTOP), 0);
    WAIT_FOR(is_stopped(f->worker.pid), 10000);
    client_t *c = open_client(f);
    submit(c, 1);
    WAIT_FOR(scrape(f->bport, "excerpt_broker_jobs{state=\"leased\"}") == 1,
             10000);
    usleep(1500 * 1000); /* job 1 ages; what follows must not count it */
    uint64_t t2 = now_wall_ms();
    for (int i = 2; i <= 5; i++)
        submit(c, i);
    wire_msg_t rep;
    assert_int_equal(client_stats_reply(c, &rep), ERR_OK);
    const wire_stats_t *s = &rep.u.stats_reply;
    uint64_t now = now_wall_ms();
    assert_int_equal(s->ready, 4);
    assert_int_equal(s->leased, 1);
    assert_int_equal(s->backlog, 5);
    assert_true(s->oldest_ready_age_ms <= now - t2 + 5);
    assert_int_equal(s->n_worker_stats, 1);
    assert_string_equal(s->worker_stats[0].name, "w0");
    assert_int_equal(s->worker_stats[0].held, 1);
    assert_int_equal(s->worker_stats[0].credit, 0);
    assert_true(strlen(s->worker_stats[0].identity) > 0);
    wire_msg_release(&rep);
    /* excerpt stats: the backlog and a row per worker, JSON and table */
    char *out = cli_stats(f, "--json");
    assert_non_null(strstr(out, "\"backlog\":5"));
    assert_non_null(strstr(out, "\"worker_list\":[{\"name\":\"w0\""));
    free(out);
    out = cli_stats(f, "--table");
    assert_non_null(strstr(out, "backlog    5 (ready + leased + delayed)"));
    assert_non_null(strstr(out, "\nw0 "));
    free(out);
    WAIT_FOR(scrape(f->bport, "excerpt_broker_backlog") == 5, 10000);
    assert_int_equal(scrape(f->bport, "excerpt_broker_jobs{state=\"ready\"}"),
                     4);
    assert_int_equal(scrape(f->bport, "excerpt_broker_submits_total"), 5);
    assert_int_equal(scrape(f->bport, "excerpt_broker_accepted_total"), 5);
    assert_int_equal(scrape(f->bport, "excerpt_broker_accept_seconds_count"),
                     5);
    double oldest = scrape(f->bport, "excerpt_broker_oldest_waiting_seconds");
    assert_true(oldest * 1000 <= (double)(now_wall_ms() - t2) + 5);
    http_t r = http_get(f->bport, "/metrics", NULL, HTTP_MS);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "excerpt_broker_worker_held_jobs{worker="
                                   "\"w0\",identity=\""));
    free(r.body);

    /* resumed, the worker finishes everything */
    assert_int_equal(kill(f->worker.pid, SIGCONT), 0);
    WAIT_FOR(scrape(f->bport, "excerpt_broker_results_total") == 5, 10000);
    WAIT_FOR(scrape(f->bport, "excerpt_broker_backlog") == 0, 10000);
    assert_int_equal(scrape(f->bport, "excerpt_broker_result_seconds_count"),
                     5);
    assert_int_equal(scrape(f->bport, "excerpt_broker_extract_seconds_count"),
                     5);
    assert_true(scrape(f->bport, "excerpt_broker_commit_batch_ops_count") >= 1);
    assert_true(scrape(f->bport, "excerpt_broker_commit_rate") > 0);
    assert_int_equal(scrape(f->bport, "excerpt_broker_jobs{state=\"done\"}"),
                     5);
    assert_int_equal(scrape(f->bport, "excerpt_broker_oldest_waiting_seconds"),
                     0);
    WAIT_FOR(scrape(f->wport, "excerpt_worker_jobs_done_total") == 5, 10000);
    assert_int_equal(scrape(f->wport, "excerpt_worker_extract_seconds_count"),
                     5);
    assert_int_equal(http_status(f->bport, "/healthz", NULL), 200);
    assert_int_equal(http_status(f->bport, "/readyz", NULL), 200);
    assert_int_equal(http_status(f->wport, "/healthz", NULL), 200);
    assert_int_equal(http_status(f->wport, "/readyz", NULL), 200);
    assert_int_equal(http_status(f->bport, "/nothing", NULL), 404);
    client_destroy(&c);
}

/* A stopped broker's port still accepts connections; /healthz must not
 * answer 200. It answers again once the broker runs. */
static void
test_healthz_sigstop(void **state)
{
    fx_t *f = *state;
    require_programs();
    start_broker(f,
                 (const char *const[]){ "--metrics", "127.0.0.1:0",
                                        "--health-stall-ms", "1s", NULL },
                 true);
    assert_int_equal(http_status(f->bport, "/healthz", NULL), 200);
    assert_int_equal(http_status(f->bport, "/readyz", NULL), 200);
    assert_int_equal(kill(f->broker.pid, SIGSTOP), 0);
    /* kill returns before the process has stopped */
    WAIT_FOR(is_stopped(f->broker.pid), 10000);
    http_t r = http_get(f->bport, "/healthz", NULL, 2000);
    assert_int_not_equal(r.status, 200);
    assert_int_not_equal(r.status, -1); /* the socket did accept */
    free(r.body);
    assert_int_equal(kill(f->broker.pid, SIGCONT), 0);
    WAIT_FOR(http_status(f->bport, "/healthz", NULL) == 200, 10000);
}

/* A worker without a broker is live but not ready. */
static void
test_worker_readyz(void **state)
{
    fx_t *f = *state;
    require_programs();
    start_worker(f, NULL);
    assert_int_equal(http_status(f->wport, "/healthz", NULL), 200);
    http_t r = http_get(f->wport, "/readyz", NULL, HTTP_MS);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "not connected"));
    free(r.body);
    assert_int_equal(scrape(f->wport, "excerpt_worker_connected"), 0);
    start_broker(f, NULL, true);
    WAIT_FOR(http_status(f->wport, "/readyz", NULL) == 200, 15000);
}

static void
write_token(fx_t *f, const char *text)
{
    FILE *t = fopen(f->token, "w");
    assert_non_null(t);
    assert_true(fputs(text, t) >= 0);
    assert_int_equal(fclose(t), 0);
}

/* Off loopback: refused without a token or the explicit opt-out. */
static void
test_non_loopback_rules(void **state)
{
    fx_t *f = *state;
    require_programs();
    start_broker(f, (const char *const[]){ "--metrics", "0.0.0.0:0", NULL },
                 false);
    int st;
    WAIT_FOR(!hx_alive(&f->broker), 10000);
    st = hx_wait_exit(&f->broker, 0);
    assert_int_not_equal(st, 0);
    assert_true(log_has(f->broker.log, "metrics-token-file"));
    assert_false(log_has(f->broker.log, "INFO listening"));

    write_token(f, "");
    start_broker(f,
                 (const char *const[]){ "--metrics", "0.0.0.0:0",
                                        "--metrics-token-file", f->token,
                                        NULL },
                 false);
    WAIT_FOR(!hx_alive(&f->broker), 10000);
    st = hx_wait_exit(&f->broker, 0);
    assert_int_not_equal(st, 0);
    assert_true(log_has(f->broker.log, "token file is empty"));

    start_broker(f,
                 (const char *const[]){ "--metrics", "0.0.0.0:0",
                                        "--metrics-insecure=true", NULL },
                 true);
    assert_true(log_has(f->broker.log, "INSECURE"));
    assert_int_equal(http_status(f->bport, "/metrics", NULL), 200);
    hx_proc_free(&f->broker);

    hx_proc_args(&f->worker,
                 (const char *const[]){ EXCERPT_WORKER_BIN, "--broker", f->be,
                                        "--metrics", "0.0.0.0:0", NULL });
    hx_spawn(&f->worker);
    WAIT_FOR(!hx_alive(&f->worker), 10000);
    st = hx_wait_exit(&f->worker, 0);
    assert_int_not_equal(st, 0);
    assert_true(log_has(f->worker.log, "metrics-token-file"));
}

/* With a token file, /metrics wants the bearer token; probes stay open. */
static void
test_token(void **state)
{
    fx_t *f = *state;
    require_programs();
    write_token(f, "  s3cret-token \n");
    start_broker(f,
                 (const char *const[]){ "--metrics", "0.0.0.0:0",
                                        "--metrics-token-file", f->token,
                                        NULL },
                 true);
    assert_true(f->bport > 0);
    assert_false(log_has(f->broker.log, "INSECURE"));
    assert_int_equal(http_status(f->bport, "/metrics", NULL), 401);
    assert_int_equal(http_status(f->bport, "/metrics", "wrong"), 401);
    assert_int_equal(http_status(f->bport, "/metrics", "s3cret-token"), 200);
    assert_int_equal(http_status(f->bport, "/healthz", NULL), 200);
    assert_int_equal(http_status(f->bport, "/readyz", NULL), 200);
}

/* A full store: Submits get STORE_FULL, /readyz says so, /healthz is
 * still ok (reads work). */
static void
test_readyz_store_full(void **state)
{
    fx_t *f = *state;
    require_programs();
    start_broker(f,
                 (const char *const[]){ "--metrics", "127.0.0.1:0",
                                        "--map-size", "1M", "--map-limit", "2M",
                                        NULL },
                 true);
    assert_int_equal(http_status(f->bport, "/readyz", NULL), 200);
    client_t *c = NULL;
    client_opts_t o = { .timeout_ms = 30000, .busy_budget_ms = 1 };
    assert_int_equal(client_open(&c, f->fe, &o), ERR_OK);
    size_t len = 64 * 1024;
    char *text = malloc(len);
    assert_non_null(text);
    for (size_t k = 0; k < len; k++)
        text[k] = (char)('a' + (k * 7 + k / 13) % 26);
    int rc = ERR_OK, i;
    for (i = 0; i < 200 && rc == ERR_OK; i++) {
        text[0] = (char)('A' + i % 26);
        text[1] = (char)('A' + i / 26);
        wire_job_t job = { 0 };
        job.text = text;
        job.text_len = len;
        uint64_t id;
        rc = client_submit(c, &job, &id, NULL);
    }
    assert_int_equal(rc, ERR_FULL);
    assert_true(i > 2 && i < 200);
    WAIT_FOR(scrape(f->bport, "excerpt_broker_rejected_total{code="
                              "\"STORE_FULL\"}") >= 1,
             10000);
    http_t r = { 0, NULL };
    WAIT_FOR((free(r.body), r = http_get(f->bport, "/readyz", NULL, HTTP_MS),
              r.status == 503),
             10000);
    assert_non_null(strstr(r.body, "store full"));
    free(r.body);
    assert_int_equal(http_status(f->bport, "/healthz", NULL), 200);
    assert_int_equal(scrape(f->bport, "excerpt_broker_ready"), 0);
    assert_int_equal(scrape(f->bport, "excerpt_broker_up"), 1);
    free(text);
    client_destroy(&c);
}

/* In-process: the conditions of /healthz and /readyz from what the loop
 * publishes, including a loop that stopped publishing while the HTTP side
 * still runs (what a wedged loop looks like). */
static void
test_health_conditions(void **state)
{
    (void)state;
    metrics_t *m = NULL;
    metrics_cfg_t cfg = { NULL, NULL, false, 300, 100 };
    assert_int_equal(metrics_open(&m, &cfg), ERR_OK);
    assert_int_equal(metrics_port(m), 0); /* no endpoint without listen */
    metrics_state_t st = { .store_ok = true, .ready = 10 };
    httpd_buf_t b = { NULL, 0, 0 };
    metrics_publish(m, &st);
    assert_int_equal(metrics_render(m, "/healthz", &b), 200);
    assert_int_equal(metrics_render(m, "/readyz", &b), 200);
    assert_int_equal(metrics_render(m, "/x", &b), 404);
    httpd_buf_free(&b);

    st.draining = true;
    metrics_publish(m, &st);
    assert_int_equal(metrics_render(m, "/healthz", &b), 200);
    assert_int_equal(metrics_render(m, "/readyz", &b), 503);
    assert_non_null(strstr(b.data, "shutting down"));
    httpd_buf_free(&b);

    st.draining = false;
    st.leased = 60;
    st.delayed = 30; /* backlog 100 = max_queued */
    metrics_publish(m, &st);
    assert_int_equal(metrics_render(m, "/readyz", &b), 503);
    assert_non_null(strstr(b.data, "queue full"));
    httpd_buf_free(&b);

    st.leased = st.delayed = 0;
    st.store_ok = false;
    metrics_publish(m, &st);
    assert_int_equal(metrics_render(m, "/healthz", &b), 503);
    assert_non_null(strstr(b.data, "store"));
    httpd_buf_free(&b);

    st.store_ok = true;
    metrics_commit(m, 3, 1000, ERR_IO);
    metrics_publish(m, &st);
    assert_int_equal(metrics_render(m, "/healthz", &b), 503);
    assert_non_null(strstr(b.data, "commit failed"));
    httpd_buf_free(&b);
    metrics_commit(m, 3, 1000, ERR_FULL); /* full: alive, not ready */
    metrics_publish(m, &st);
    assert_int_equal(metrics_render(m, "/healthz", &b), 200);
    assert_int_equal(metrics_render(m, "/readyz", &b), 503);
    assert_non_null(strstr(b.data, "store full"));
    httpd_buf_free(&b);

    /* no publish for longer than stall_ms (300): not live */
    usleep(600 * 1000);
    assert_int_equal(metrics_render(m, "/healthz", &b), 503);
    assert_non_null(strstr(b.data, "stalled"));
    httpd_buf_free(&b);
    assert_int_equal(metrics_render(m, "/metrics", &b), 200);
    assert_non_null(strstr(b.data, "\nexcerpt_broker_up 0\n"));
    assert_non_null(
        strstr(b.data, "\nexcerpt_broker_jobs{state=\"ready\"} 10\n"));
    httpd_buf_free(&b);
    metrics_destroy(&m);
    assert_null(m);
}

/* The commit rate is results over the time the window covers: here the
 * metrics' whole life, not nine whole seconds. */
static void
test_commit_rate_window(void **state)
{
    (void)state;
    metrics_t *m = NULL;
    metrics_cfg_t cfg = { NULL, NULL, false, 0, 100 };
    uint64_t t0 = now_mono_ms();
    assert_int_equal(metrics_open(&m, &cfg), ERR_OK);
    uint64_t t1 = now_mono_ms();
    for (int i = 0; i < 30; i++)
        metrics_result(m, 1000, 5000);
    usleep(400 * 1000);
    uint64_t ta = now_mono_ms();
    double rate = metrics_commit_rate(m);
    uint64_t tb = now_mono_ms();
    /* 30 results over the metrics' life so far, which lies between
     * ta - t1 and tb - t0 (a millisecond clock) */
    assert_true(rate >= 30000.0 / (double)(tb - t0 + 1));
    assert_true(rate <= 30000.0 / (double)(ta - t1 - 1));
    assert_int_equal(metrics_counts(m)->results, 30);
    metrics_destroy(&m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_conditions),
        cmocka_unit_test(test_commit_rate_window),
        cmocka_unit_test_setup_teardown(test_figures_move, setup, teardown),
        cmocka_unit_test_setup_teardown(test_healthz_sigstop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_readyz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_loopback_rules, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readyz_store_full, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
