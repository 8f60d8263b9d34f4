/*
 * pipe_beanstalkd: bench_pipeline's beanstalkd peer driver. A beanstalkd
 * with a binlog in a temp dir, a producer thread putting the same payloads
 * the excerpt runs send and a consumer thread reserving and deleting them,
 * over the text protocol on TCP; the run's figures into a run_result_t.
 */
#include "../common/err.h"
#include "../common/now.h"
#include "../common/xalloc.h"

#include "pipe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- beanstalkd --------------------------------------------------------- */

typedef struct conn {
    int fd;            /* TCP socket */
    char buf[1 << 16]; /* read buffer */
    size_t pos, len;   /* unread bytes are buf[pos..len) */
} conn_t;

static int
conn_open(conn_t *c, int port)
{
    c->pos = c->len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return ERR_IO;
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(c->fd);
        c->fd = -1;
        return ERR_IO;
    }
    int one = 1;
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return ERR_OK;
}

static int
write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return ERR_OK;
}

static int
conn_fill(conn_t *c)
{
    if (c->pos == c->len)
        c->pos = c->len = 0;
    if (c->pos > 0 && c->len == sizeof c->buf) {
        memmove(c->buf, c->buf + c->pos, c->len - c->pos);
        c->len -= c->pos;
        c->pos = 0;
    }
    if (c->len == sizeof c->buf)
        return ERR_TOOBIG;
    for (;;) {
        ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return ERR_IO;
        c->len += (size_t)r;
        return ERR_OK;
    }
}

/* Next "\r\n"-ended line, NUL-terminated in place (borrowed). */
static char *
conn_line(conn_t *c)
{
    for (;;) {
        char *start = c->buf + c->pos;
        char *nl = memchr(start, '\n', c->len - c->pos);
        if (nl) {
            *nl = '\0';
            if (nl > start && nl[-1] == '\r')
                nl[-1] = '\0';
            c->pos = (size_t)(nl - c->buf) + 1;
            return start;
        }
        if (conn_fill(c) != ERR_OK)
            return NULL;
    }
}

/* Skip n bytes of body (the payload is not needed by the bench). */
static int
conn_skip(conn_t *c, size_t n)
{
    while (n) {
        if (c->pos == c->len && conn_fill(c) != ERR_OK)
            return ERR_IO;
        size_t take = c->len - c->pos < n ? c->len - c->pos : n;
        c->pos += take;
        n -= take;
    }
    return ERR_OK;
}

typedef struct bs_shared {
    const opts_t *o;         /* options */
    const corpus_t *c;       /* payload source */
    size_t n;                /* jobs */
    double rate;             /* offered rate or 0 */
    int port;                /* beanstalkd port */
    _Atomic uint64_t *t_put; /* put sent, monotonic us, by job id - 1 */
    uint64_t *t_del;         /* DELETED received, by job id - 1 */
    atomic_size_t deleted;   /* jobs deleted so far */
    atomic_int failed;       /* a thread gave up */
} bs_shared_t;

static void
sleep_until_us(uint64_t t)
{
    uint64_t now = now_mono_us();
    if (t > now)
        usleep((useconds_t)(t - now));
}

static void *
bs_producer(void *arg)
{
    bs_shared_t *s = arg;
    conn_t *c = xcalloc(1, sizeof *c);
    char *msg = xmalloc(s->o->size + 512);
    size_t inflight = 0;
    if (conn_open(c, s->port) != ERR_OK)
        goto fail;
    uint64_t t0 = now_mono_us();
    for (size_t i = 0; i < s->n; i++) {
        if (atomic_load(&s->failed))
            goto fail;
        if (s->rate > 0)
            sleep_until_us(t0 + (uint64_t)((double)i * 1e6 / s->rate));
        char body[64];
        size_t len = pipe_corpus_gen_payload(s->c, i, s->o->size, msg + 64);
        int h = snprintf(body, sizeof body, "put 1024 0 120 %zu\r\n", len);
        /* Header right before the payload, then "\r\n": one write. */
        char *start = msg + 64 - h;
        memcpy(start, body, (size_t)h);
        memcpy(msg + 64 + len, "\r\n", 2);
        atomic_store_explicit(&s->t_put[i], now_mono_us(),
                              memory_order_relaxed);
        if (write_all(c->fd, start, (size_t)h + len + 2) != ERR_OK)
            goto fail;
        inflight++;
        while (inflight >= s->o->window || (i + 1 == s->n && inflight)) {
            char *line = conn_line(c);
            if (!line || strncmp(line, "INSERTED ", 9)) {
                fprintf(stderr, "bench: beanstalkd put: %s\n",
                        line ? line : "connection lost");
                goto fail;
            }
            inflight--;
        }
    }
    close(c->fd);
    free(c);
    free(msg);
    return NULL;
fail:
    atomic_store(&s->failed, 1);
    if (c->fd >= 0)
        close(c->fd);
    free(c);
    free(msg);
    return NULL;
}

static void *
bs_consumer(void *arg)
{
    bs_shared_t *s = arg;
    conn_t *c = xcalloc(1, sizeof *c);
    if (conn_open(c, s->port) != ERR_OK ||
        write_all(c->fd, "reserve\r\n", 9) != ERR_OK)
        goto fail;
    for (size_t k = 0; k < s->n; k++) {
        char *line = conn_line(c);
        unsigned long long id, bytes;
        if (!line || sscanf(line, "RESERVED %llu %llu", &id, &bytes) != 2 ||
            id == 0 || id > s->n) {
            fprintf(stderr, "bench: beanstalkd reserve: %s\n",
                    line ? line : "connection lost");
            goto fail;
        }
        if (conn_skip(c, (size_t)bytes + 2) != ERR_OK)
            goto fail;
        char cmd[64];
        int m = snprintf(cmd, sizeof cmd,
                         k + 1 < s->n ? "delete %llu\r\nreserve\r\n"
                                      : "delete %llu\r\n",
                         id);
        if (write_all(c->fd, cmd, (size_t)m) != ERR_OK)
            goto fail;
        line = conn_line(c);
        if (!line || strcmp(line, "DELETED")) {
            fprintf(stderr, "bench: beanstalkd delete: %s\n",
                    line ? line : "connection lost");
            goto fail;
        }
        s->t_del[id - 1] = now_mono_us();
        atomic_fetch_add(&s->deleted, 1);
        if (atomic_load(&s->failed))
            goto fail;
    }
    close(c->fd);
    free(c);
    return NULL;
fail:
    atomic_store(&s->failed, 1);
    if (c->fd >= 0)
        close(c->fd);
    free(c);
    return NULL;
}

/* fsync_ms < 0: beanstalkd's default binlog sync; else -f fsync_ms. */
int
pipe_beanstalkd_run(const opts_t *o, const corpus_t *c, int fsync_ms, size_t n,
                    double rate, run_result_t *r)
{
    char *dir = pipe_proc_make_tmpdir(o, "beanstalkd");
    pid_t pid = -1;
    bs_shared_t s = { .o = o, .c = c, .n = n, .rate = rate };
    s.t_put = xcalloc(n, sizeof *s.t_put);
    s.t_del = xcalloc(n, sizeof *s.t_del);
    uint64_t *t_put = xcalloc(n, sizeof *t_put);
    int rc = ERR_IO;
    if (!dir)
        goto out;
    s.port = pipe_proc_free_port();
    char port[16], fs[16], binlog[PATH_MAX], log[PATH_MAX];
    snprintf(port, sizeof port, "%d", s.port);
    snprintf(fs, sizeof fs, "-f%d", fsync_ms);
    snprintf(binlog, sizeof binlog, "%s/binlog", dir);
    snprintf(log, sizeof log, "%s/beanstalkd.log", dir);
    if (mkdir(binlog, 0700) != 0)
        goto out;
    char *argv[] = {
        o->beanstalkd_bin,         "-l", "127.0.0.1", "-p", port, "-b", binlog,
        fsync_ms >= 0 ? fs : NULL, NULL
    };
    pid = pipe_proc_spawn(argv, log);
    if (pid < 0)
        goto out;
    uint64_t deadline = now_mono_ms() + 10000;
    for (;;) {
        conn_t probe;
        if (conn_open(&probe, s.port) == ERR_OK) {
            close(probe.fd);
            break;
        }
        if (pipe_proc_has_exited(pid) || now_mono_ms() > deadline) {
            fprintf(stderr, "bench: beanstalkd did not start\n");
            pipe_proc_print_log_tail(log);
            goto out;
        }
        usleep(10000);
    }
    pthread_t prod, cons;
    if (pthread_create(&cons, NULL, bs_consumer, &s) != 0)
        goto out;
    if (pthread_create(&prod, NULL, bs_producer, &s) != 0) {
        atomic_store(&s.failed, 1);
        pthread_join(cons, NULL);
        goto out;
    }
    mem_peak_t mem = { .pid = pid };
    uint64_t limit = now_mono_ms() + (uint64_t)o->timeout_s * 1000u;
    /* The consumer blocks in read(); a stuck run is ended by killing the
     * server, which makes both threads' reads fail. */
    bool killed = false;
    for (;;) {
        pipe_proc_mem_sample(&mem, false);
        if (atomic_load(&s.deleted) == n || atomic_load(&s.failed))
            break;
        if ((pipe_proc_interrupted || now_mono_ms() > limit) && !killed) {
            fprintf(stderr, "bench: %s: %s\n", r->name,
                    pipe_proc_interrupted ? "interrupted" : "timed out");
            atomic_store(&s.failed, 1);
            (void)kill(pid, SIGKILL);
            killed = true;
            break;
        }
        usleep(50000);
    }
    pipe_proc_mem_sample(&mem, true);
    if (atomic_load(&s.failed) && !killed)
        (void)kill(pid, SIGKILL); /* unblock the threads' reads */
    pthread_join(prod, NULL);
    pthread_join(cons, NULL);
    r->anon_kb = mem.anon;
    r->end_anon_kb = mem.last;
    r->hwm_kb = mem.hwm;
    for (size_t i = 0; i < n; i++)
        t_put[i] = atomic_load_explicit(&s.t_put[i], memory_order_relaxed);
    pipe_corpus_latency_stats(r, t_put, s.t_del, n);
    r->ok = !atomic_load(&s.failed) && r->jobs == n;
    rc = r->ok ? ERR_OK : ERR_IO;
out:
    if (pid > 0)
        (void)pipe_proc_stop_process(pid, 5000);
    if (dir && !o->keep)
        pipe_proc_remove_tree(dir);
    free(dir);
    free(s.t_put);
    free(s.t_del);
    free(t_put);
    return rc;
}
