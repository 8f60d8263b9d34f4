/*
 * bench_consume: what consumers get out of a broker. Starts excerpt-broker
 * and excerpt-worker processes on ipc:// endpoints in a temp dir, fills
 * the store with --jobs results, then measures
 *   replay:  results/s from the store to one consumer (client/consumer.h,
 *            Since pages from seq 0), without and with the result bytes;
 *   fan-out: K consumers (threads, each its own sockets) following live
 *            while --live new jobs are submitted (full speed, or --rate
 *            jobs/s): results/s each consumer receives, and commit-to-
 *            delivery latency (the job's finished_ms, the broker's wall
 *            clock at commit, to the consumer's callback; ms resolution).
 */
#include "../client/client.h"
#include "../client/consumer.h"
#include "../common/err.h"
#include "../common/now.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SUBS 64
#define MAX_WORKERS 16

typedef struct opts {
    const char *broker; /* excerpt-broker binary */
    const char *worker; /* excerpt-worker binary */
    size_t jobs;        /* results in the store for replay */
    size_t live;        /* jobs per fan-out run */
    unsigned rate;      /* live submit rate, 0: full speed */
    unsigned workers;   /* worker processes */
    unsigned subs[8];   /* fan-out runs */
    size_t n_subs;      /* count */
    bool keep;          /* keep the temp dir */
} opts_t;

static char dir[64], fe[128], be[128], pub[128];
static pid_t kids[1 + MAX_WORKERS];
static size_t n_kids;

static void
die(const char *msg)
{
    fprintf(stderr, "bench_consume: %s\n", msg);
    for (size_t i = 0; i < n_kids; i++)
        kill(kids[i], SIGKILL);
    exit(1);
}

static void
sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static uint64_t
wall_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static pid_t
spawn(const char *log, char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork failed");
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    kids[n_kids++] = pid;
    return pid;
}

/* ../broker/excerpt-broker beside this binary's dir, as in a build tree */
static const char *
sibling(const char *sub, char *out, size_t n)
{
    char self[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    if (k <= 0)
        return NULL;
    self[k] = '\0';
    snprintf(out, n, "%s/../%s", dirname(self), sub);
    return access(out, X_OK) == 0 ? out : NULL;
}

static size_t
make_text(char *buf, size_t cap, size_t i)
{
    static const char *const places[] = { "Tomsk", "Omsk", "Kazan", "Sochi" };
    int n = snprintf(
        buf, cap,
        "The Minister of Finance met the Governor, meeting %zu.\n"
        "Minister of Finance Anna Petrova: Revenues rose by %zu.%zu percent "
        "to %zu million roubles in %s in 2023.\n"
        "Governor Pavel Sokolov: Thank you. We will build %zu new schools "
        "by March 2025.\n",
        i, 1 + i % 9, i % 10, 100 + i, places[i % 4], 2 + i % 40);
    return (size_t)n;
}

typedef struct texts {
    wire_job_t *jobs; /* n jobs */
    char *buf;        /* their texts */
    char (*keys)[40]; /* their keys */
} texts_t;

static void
texts_make(texts_t *t, size_t first, size_t n)
{
    t->jobs = calloc(n, sizeof *t->jobs);
    t->buf = malloc(n * 512);
    t->keys = malloc(n * sizeof *t->keys);
    if (!t->jobs || !t->buf || !t->keys)
        die("out of memory");
    for (size_t i = 0; i < n; i++) {
        char *b = t->buf + i * 512;
        t->jobs[i].text = b;
        t->jobs[i].text_len = make_text(b, 512, first + i);
        snprintf(t->keys[i], sizeof t->keys[i], "bench-%zu", first + i);
        t->jobs[i].key = t->keys[i];
    }
}

static void
texts_free(texts_t *t)
{
    free(t->jobs);
    free(t->buf);
    free(t->keys);
}

static size_t submit_failed;

static void
on_submitted(void *ud, size_t index, int rc, uint64_t job_id, bool duplicate,
             const char *reason)
{
    (void)ud;
    (void)index;
    (void)job_id;
    (void)duplicate;
    if (rc) {
        submit_failed++;
        fprintf(stderr, "submit failed: %s %s\n", err_str(rc), reason);
    }
}

static void
submit_all(client_t *c, const wire_job_t *jobs, size_t n, unsigned rate)
{
    if (!rate) {
        if (client_submit_many(c, jobs, n, 256, on_submitted, NULL) != 0)
            die("submit failed");
        return;
    }
    uint64_t t0 = now_mono_us();
    size_t chunk = rate >= 100 ? rate / 100 : 1;
    for (size_t i = 0; i < n; i += chunk) {
        uint64_t due = t0 + (uint64_t)i * 1000000u / rate;
        uint64_t now = now_mono_us();
        if (due > now)
            sleep_ms((long)((due - now) / 1000));
        size_t k = n - i < chunk ? n - i : chunk;
        if (client_submit_many(c, jobs + i, k, 256, on_submitted, NULL) != 0)
            die("submit failed");
    }
}

static uint64_t
last_seq(client_t *c)
{
    wire_stats_t st;
    if (client_stats(c, &st) != ERR_OK)
        die("stats failed");
    return st.last_seq;
}

static void
wait_seq(client_t *c, uint64_t seq)
{
    uint64_t deadline = now_mono_ms() + 600000;
    while (last_seq(c) < seq) {
        if (now_mono_ms() > deadline)
            die("results did not come");
        sleep_ms(20);
    }
}

/* ------------------------------------------------------------ replay */

static int
count_item(void *ud, const wire_committed_t *it)
{
    (void)it;
    (*(size_t *)ud)++;
    return 0;
}

static void
replay(size_t n, bool with_result)
{
    consumer_opts_t o = { .frontend = fe, .with_result = with_result };
    consumer_t *c = NULL;
    if (consumer_open(&c, &o) != ERR_OK)
        die("consumer open failed");
    size_t got = 0;
    uint64_t t0 = now_mono_us();
    int rc = consumer_run(c, count_item, &got, NULL);
    uint64_t us = now_mono_us() - t0;
    consumer_destroy(&c);
    if (rc || got < n)
        die("replay came short");
    printf("replay  with_result=%d  results=%zu  %.3f s  %.0f results/s\n",
           with_result, got, (double)us / 1e6, (double)got * 1e6 / (double)us);
}

/* ------------------------------------------------------------ fan-out */

typedef struct sub {
    pthread_t th;               /* its thread */
    consumer_t *c;              /* its consumer */
    uint64_t base;              /* deliveries counted after this seq */
    uint64_t last;              /* stop once this seq is delivered */
    uint64_t *at;               /* wall us of delivery per seq - base */
    volatile sig_atomic_t stop; /* set by the main thread */
    int rc;                     /* consumer_run's result */
} sub_t;

static int
on_item(void *ud, const wire_committed_t *it)
{
    sub_t *s = ud;
    if (it->seq > s->base && it->seq <= s->last)
        s->at[it->seq - s->base - 1] = wall_us();
    if (it->seq >= s->last)
        s->stop = 1;
    return 0;
}

static void *
sub_main(void *arg)
{
    sub_t *s = arg;
    s->rc = consumer_run(s->c, on_item, s, &s->stop);
    return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void
fanout(client_t *c, unsigned k, size_t live, unsigned rate, size_t *next_text)
{
    sub_t *subs = calloc(k, sizeof *subs);
    if (!subs)
        die("out of memory");
    /* warm-up job: every subscriber has delivered it, so each SUB socket
     * is connected before the measured jobs */
    uint64_t start = last_seq(c);
    texts_t warm;
    texts_make(&warm, (*next_text)++, 1);
    for (unsigned i = 0; i < k; i++) {
        consumer_opts_t o = {
            .frontend = fe, .publisher = pub, .from = start, .check_ms = 2000
        };
        if (consumer_open(&subs[i].c, &o) != ERR_OK)
            die("consumer open failed");
        subs[i].base = start + 1;
        subs[i].last = start + 1 + live;
        subs[i].at = calloc(live, sizeof *subs[i].at);
        if (!subs[i].at)
            die("out of memory");
        if (pthread_create(&subs[i].th, NULL, sub_main, &subs[i]) != 0)
            die("thread failed");
    }
    sleep_ms(200);
    submit_all(c, warm.jobs, 1, 0);
    texts_free(&warm);
    for (unsigned i = 0; i < k; i++)
        while (consumer_last_seq(subs[i].c) < start + 1)
            sleep_ms(5);
    texts_t t;
    texts_make(&t, *next_text, live);
    *next_text += live;
    uint64_t t0 = wall_us();
    submit_all(c, t.jobs, live, rate);
    for (unsigned i = 0; i < k; i++)
        pthread_join(subs[i].th, NULL);
    uint64_t t1 = 0;
    for (unsigned i = 0; i < k; i++)
        for (size_t j = 0; j < live; j++)
            if (subs[i].at[j] > t1)
                t1 = subs[i].at[j];
    texts_free(&t);
    /* commit times: each job's finished_ms, by seq */
    double *commit_ms = calloc(live, sizeof *commit_ms);
    double *lat = calloc((size_t)k * live, sizeof *lat);
    if (!commit_ms || !lat)
        die("out of memory");
    uint64_t after = start + 1;
    while (after < start + 1 + live) {
        wire_msg_t rep;
        if (client_since(c, after, 1000, false, &rep) != ERR_OK)
            die("since failed");
        for (size_t i = 0; i < rep.u.since_reply.n; i++) {
            const wire_committed_t *it = &rep.u.since_reply.items[i];
            if (it->seq > start + 1 + live)
                break;
            wire_msg_t g;
            if (client_get(c, it->job_id, NULL, false, &g, NULL) != ERR_OK)
                die("get failed");
            commit_ms[it->seq - start - 2] =
                (double)g.u.get_reply.job.finished_ms;
            wire_msg_release(&g);
            after = it->seq;
        }
        bool empty = rep.u.since_reply.n == 0;
        wire_msg_release(&rep);
        if (empty)
            die("since came short");
    }
    size_t n = 0;
    for (unsigned i = 0; i < k; i++) {
        if (subs[i].rc)
            die("a consumer failed");
        for (size_t j = 0; j < live; j++) {
            if (!subs[i].at[j])
                die("a consumer missed a result");
            double d = (double)subs[i].at[j] / 1000.0 - commit_ms[j];
            lat[n++] = d < 0 ? 0 : d;
        }
        consumer_destroy(&subs[i].c);
        free(subs[i].at);
    }
    qsort(lat, n, sizeof *lat, cmp_double);
    double secs = (double)(t1 - t0) / 1e6;
    printf("fan-out subscribers=%-2u jobs=%zu rate=%s  %.3f s  "
           "%.0f results/s per subscriber  %.0f deliveries/s  "
           "commit-to-delivery ms p50 %.1f p99 %.1f max %.1f\n",
           k, live, rate ? "paced" : "full", secs, (double)live / secs,
           (double)live * k / secs, lat[n / 2], lat[(size_t)(n * 0.99)],
           lat[n - 1]);
    if (rate)
        printf("        (paced at %u jobs/s)\n", rate);
    free(lat);
    free(commit_ms);
    free(subs);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
usage(void)
{
    fprintf(stderr,
            "usage: bench_consume [--jobs N] [--live M] [--rate R] "
            "[--subs 1,4,16] [--workers W] [--broker BIN] [--worker BIN] "
            "[--keep]\n"
            "  --jobs N     results in the store for the replay (20000)\n"
            "  --live M     jobs submitted per fan-out run (3000)\n"
            "  --rate R     submit R jobs/s in fan-out runs (0: full speed)\n"
            "  --subs LIST  subscriber counts (1,4,16)\n"
            "  --workers W  excerpt-worker processes (2)\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    static char bb[PATH_MAX], wb[PATH_MAX];
    opts_t o = { .jobs = 20000,
                 .live = 3000,
                 .workers = 2,
                 .subs = { 1, 4, 16 },
                 .n_subs = 3 };
    o.broker = sibling("broker/excerpt-broker", bb, sizeof bb);
    o.worker = sibling("worker/excerpt-worker", wb, sizeof wb);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--keep")) {
            o.keep = true;
            continue;
        }
        if (!v)
            usage();
        i++;
        if (!strcmp(a, "--jobs"))
            o.jobs = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--live"))
            o.live = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--rate"))
            o.rate = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--workers"))
            o.workers = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--broker"))
            o.broker = v;
        else if (!strcmp(a, "--worker"))
            o.worker = v;
        else if (!strcmp(a, "--subs")) {
            char buf[64];
            snprintf(buf, sizeof buf, "%s", v);
            o.n_subs = 0;
            for (char *s = NULL, *t = strtok_r(buf, ",", &s); t && o.n_subs < 8;
                 t = strtok_r(NULL, ",", &s)) {
                unsigned k = (unsigned)strtoul(t, NULL, 10);
                if (k == 0 || k > MAX_SUBS)
                    usage();
                o.subs[o.n_subs++] = k;
            }
        } else
            usage();
    }
    if (!o.broker || !o.worker || o.jobs == 0 || o.live == 0 ||
        o.workers == 0 || o.workers > MAX_WORKERS)
        usage();
    snprintf(dir, sizeof dir, "/tmp/bench_consume.XXXXXX");
    if (!mkdtemp(dir))
        die("mkdtemp failed");
    char data[128], blog[128], wlog[128];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(fe, sizeof fe, "ipc://%s/fe.sock", dir);
    snprintf(be, sizeof be, "ipc://%s/be.sock", dir);
    snprintf(pub, sizeof pub, "ipc://%s/pub.sock", dir);
    snprintf(blog, sizeof blog, "%s/broker.log", dir);
    snprintf(wlog, sizeof wlog, "%s/worker.log", dir);
    char *bargv[] = { (char *)o.broker,
                      "--data-dir",
                      data,
                      "--frontend",
                      fe,
                      "--backend",
                      be,
                      "--publisher",
                      pub,
                      "--log-level",
                      "warn",
                      NULL };
    spawn(blog, bargv);
    for (unsigned i = 0; i < o.workers; i++) {
        char *wargv[] = { (char *)o.worker, "--broker", be,  "--threads", "1",
                          "--log-level",    "warn",     NULL };
        spawn(wlog, wargv);
    }
    client_t *c = NULL;
    client_opts_t co = { .timeout_ms = 30000 };
    if (client_open(&c, fe, &co) != ERR_OK)
        die("client open failed");
    texts_t t;
    texts_make(&t, 0, o.jobs);
    uint64_t t0 = now_mono_us();
    submit_all(c, t.jobs, o.jobs, 0);
    wait_seq(c, o.jobs);
    printf("fill    jobs=%zu workers=%u  %.1f s\n", o.jobs, o.workers,
           (double)(now_mono_us() - t0) / 1e6);
    texts_free(&t);
    replay(o.jobs, false);
    replay(o.jobs, true);
    size_t next_text = o.jobs;
    for (size_t i = 0; i < o.n_subs; i++)
        fanout(c, o.subs[i], o.live, o.rate, &next_text);
    client_destroy(&c);
    for (size_t i = 0; i < n_kids; i++) {
        kill(kids[i], SIGTERM);
        waitpid(kids[i], NULL, 0);
    }
    if (submit_failed)
        die("some submits failed");
    if (o.keep)
        printf("kept %s\n", dir);
    else
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
