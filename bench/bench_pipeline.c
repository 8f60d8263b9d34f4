/*
 * bench_pipeline: submit -> committed result through the real
 * excerpt-broker and excerpt-worker processes (jobs/s, p50/p99 latency,
 * broker memory), beside beanstalkd doing put/reserve/delete of the same
 * payloads. A benchmark that prints figures, not a test. See README.md.
 */
#include "../common/err.h"
#include "../common/now.h"
#include "../common/xalloc.h"
#include "../proto/wire.h"
#include "../proto/wire_batch.h"
#include "../proto/wire_zmq.h"

#include <zmq.h>

#include "curvekeys.h"
#include "scraper.h"
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKER_RUNS 8
#define MAX_BATCH_RUNS 4
#define MAX_ROUNDS 9
/* rows per round: each excerpt row twice with --curve, beanstalkd twice */
#define ROW_MAX (2 * MAX_WORKER_RUNS * MAX_BATCH_RUNS + 2)
/* a Batch of Submits is sent before its items pass this many bytes (as in
 * client.c: wire_batch's first block, under malloc's mmap threshold) */
#define BATCH_BYTES (64u << 10)
#define ITEM_HEAD 11u /* tag + length varint of a Batch item, at most */
#define MAX_CHILDREN 64
#define CORPUS_MAX (64u << 20)
#define KEY_PREFIX "bench-"

typedef struct opts {
    char *broker_bin;     /* excerpt-broker path */
    char *worker_bin;     /* excerpt-worker path */
    char *beanstalkd_bin; /* beanstalkd path */
    char *corpus;         /* directory of *.txt transcripts */
    char *tmp;            /* parent of the temporary directories */
    size_t jobs;          /* jobs per run */
    size_t size;          /* payload bytes (approximate upper bound) */
    size_t window;        /* submits (puts) in flight */
    size_t rounds;        /* times the whole set of runs is repeated */
    unsigned workers[MAX_WORKER_RUNS]; /* worker process counts to run */
    size_t n_workers;                  /* entries in workers */
    unsigned threads;                  /* --threads of each worker */
    size_t batches[MAX_BATCH_RUNS];    /* Submits per frame to run with */
    size_t n_batches;                  /* entries in batches */
    double rate;        /* offered jobs/s; 0 = as fast as possible */
    size_t fill;        /* fill mode: jobs to queue with no workers */
    bool no_beanstalkd; /* skip the beanstalkd runs */
    bool keep;          /* keep temporary directories */
    unsigned timeout_s; /* give up on one run after this */
    unsigned scrape_ms; /* scrape the broker's /metrics this often; 0 off */
    bool curve;         /* --curve: every excerpt row also under CURVE */
    bool curve_on;      /* this run: keys for the broker, workers, bench */
} opts_t;

typedef struct corpus {
    char *buf;          /* all files, concatenated */
    size_t n_lines;     /* non-empty lines */
    const char **lines; /* line starts, in buf */
    size_t *lens;       /* line lengths without '\n' */
    size_t n_files;     /* files read */
    size_t bytes;       /* bytes read */
} corpus_t;

typedef struct run_result {
    char name[64];         /* row label */
    bool ok;               /* finished within the deadline */
    size_t jobs;           /* jobs completed */
    size_t rejected;       /* Rejected replies (retried) */
    size_t late;           /* commits seen only through Since catch-up */
    double secs;           /* first submit to last completion */
    double jobs_per_s;     /* jobs / secs */
    double p50_ms, p99_ms; /* submit-to-completion latency */
    double max_ms;         /* worst latency */
    uint64_t hwm_kb;       /* server VmHWM (peak RSS) */
    uint64_t anon_kb;      /* server peak RssAnon, sampled every 100 ms */
    uint64_t end_anon_kb;  /* server RssAnon at the end of the run */
    uint64_t store_bytes;  /* broker store size at the end (Stats) */
    double broker_cpu_s;   /* broker user+sys CPU over the whole run */
    double worker_cpu_s;   /* all workers' user+sys CPU over the run */
    double self_cpu_s;     /* the bench's own CPU while submitting */
    bool curve;            /* ran under CURVE */
} run_result_t;

/* Children to kill if the bench is interrupted. */
static pid_t children[MAX_CHILDREN];
static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void
child_add(pid_t pid)
{
    for (size_t i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] == 0) {
            children[i] = pid;
            return;
        }
    }
}

static void
child_forget(pid_t pid)
{
    for (size_t i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] == pid)
            children[i] = 0;
    }
}

static void
kill_children(void)
{
    for (size_t i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            (void)waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    }
}

/* ---- processes ------------------------------------------------------- */

/* fork + exec argv with stdout and stderr appended to log_path. */
static pid_t
spawn(char *const argv[], const char *log_path)
{
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "bench: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            (void)dup2(fd, STDOUT_FILENO);
            (void)dup2(fd, STDERR_FILENO);
            close(fd);
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) {
            (void)dup2(nul, STDIN_FILENO);
            close(nul);
        }
        execv(argv[0], argv);
        fprintf(stderr, "bench: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    child_add(pid);
    return pid;
}

/* true if pid has exited (and reaps it). */
static bool
has_exited(pid_t pid)
{
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) {
        child_forget(pid);
        return true;
    }
    return r < 0;
}

/* SIGTERM, wait up to grace_ms, then SIGKILL. Returns the wait status or
 * -1 if it had to be killed. */
static int
stop_process(pid_t pid, uint64_t grace_ms)
{
    int st = 0;
    if (pid <= 0)
        return 0;
    (void)kill(pid, SIGTERM);
    uint64_t deadline = now_mono_ms() + grace_ms;
    while (now_mono_ms() < deadline) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid || r < 0) {
            child_forget(pid);
            return r == pid ? st : 0;
        }
        usleep(10000);
    }
    (void)kill(pid, SIGKILL);
    (void)waitpid(pid, &st, 0);
    child_forget(pid);
    return -1;
}

/* User + system CPU seconds pid has used so far (0 if unreadable). */
static double
cpu_secs(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* fields after the ")" closing the command name: state is field 3,
     * utime 14, stime 15 */
    const char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (!p ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &ut, &st) != 2)
        return 0;
    long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? (double)(ut + st) / (double)hz : 0;
}

/* User + system CPU seconds of this process (all its threads, ZeroMQ's
 * I/O thread included). */
static double
self_cpu_secs(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* VmRSS, RssAnon and VmHWM of pid in kB; false if unreadable. */
static bool
proc_mem(pid_t pid, uint64_t *rss, uint64_t *anon, uint64_t *hwm)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    *rss = *anon = *hwm = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long v;
        if (sscanf(line, "VmRSS: %llu", &v) == 1)
            *rss = v;
        else if (sscanf(line, "RssAnon: %llu", &v) == 1)
            *anon = v;
        else if (sscanf(line, "VmHWM: %llu", &v) == 1)
            *hwm = v;
    }
    fclose(f);
    return true;
}

typedef struct mem_peak {
    pid_t pid;       /* process watched */
    uint64_t hwm;    /* last VmHWM seen */
    uint64_t anon;   /* peak RssAnon */
    uint64_t last;   /* last RssAnon */
    uint64_t due_ms; /* next sample */
} mem_peak_t;

static void
mem_sample(mem_peak_t *m, bool force)
{
    uint64_t now = now_mono_ms();
    if (!force && now < m->due_ms)
        return;
    m->due_ms = now + 100;
    uint64_t rss, anon, hwm;
    if (!proc_mem(m->pid, &rss, &anon, &hwm))
        return;
    m->last = anon;
    if (anon > m->anon)
        m->anon = anon;
    if (hwm > m->hwm)
        m->hwm = hwm;
}

/* A TCP port on 127.0.0.1 that was free a moment ago. */
static int
free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void
remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[PATH_MAX];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(path);
        else
            (void)unlink(path);
    }
    closedir(d);
    (void)rmdir(dir);
}

static char *
make_tmpdir(const opts_t *o, const char *what)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/bench-%s-XXXXXX", o->tmp, what);
    if (!mkdtemp(path)) {
        fprintf(stderr, "bench: mkdtemp %s: %s\n", path, strerror(errno));
        return NULL;
    }
    return xstrdup(path);
}

static void
print_log_tail(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    char tail[10][512];
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        snprintf(tail[n % 10], sizeof tail[0], "%s", line);
        n++;
    }
    fclose(f);
    fprintf(stderr, "bench: last lines of %s:\n", path);
    for (size_t i = n > 10 ? n - 10 : 0; i < n; i++)
        fprintf(stderr, "  %s", tail[i % 10]);
}

/* ---- payloads ---------------------------------------------------------- */

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read every *.txt in dir (sorted by name, so runs are deterministic)
 * and split it into non-empty lines. */
static int
corpus_load(corpus_t *c, const char *dir)
{
    memset(c, 0, sizeof *c);
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "bench: corpus %s: %s\n", dir, strerror(errno));
        return ERR_IO;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".txt"))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = xreallocarray(names, cap, sizeof *names);
        }
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);

    size_t bcap = 1 << 20;
    c->buf = xmalloc(bcap);
    for (size_t i = 0; i < n && c->bytes < CORPUS_MAX; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        for (;;) {
            if (bcap - c->bytes < 65536 + 1) {
                bcap *= 2;
                c->buf = xreallocarray(c->buf, bcap, 1);
            }
            size_t got = fread(c->buf + c->bytes, 1, 65536, f);
            c->bytes += got;
            if (got < 65536)
                break;
        }
        fclose(f);
        c->buf[c->bytes++] = '\n';
        c->n_files++;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);

    size_t lcap = 0;
    for (size_t p = 0; p < c->bytes;) {
        char *nl = memchr(c->buf + p, '\n', c->bytes - p);
        size_t end = nl ? (size_t)(nl - c->buf) : c->bytes;
        size_t len = end - p;
        if (len && c->buf[end - 1] == '\r')
            len--;
        if (len) {
            if (c->n_lines == lcap) {
                lcap = lcap ? lcap * 2 : 4096;
                c->lines = xreallocarray(c->lines, lcap, sizeof *c->lines);
                c->lens = xreallocarray(c->lens, lcap, sizeof *c->lens);
            }
            c->lines[c->n_lines] = c->buf + p;
            c->lens[c->n_lines] = len;
            c->n_lines++;
        }
        p = end + 1;
    }
    if (c->n_lines == 0) {
        fprintf(stderr, "bench: no text in %s/*.txt\n", dir);
        return ERR_INVAL;
    }
    return ERR_OK;
}

static void
corpus_free(corpus_t *c)
{
    free(c->buf);
    free(c->lines);
    free(c->lens);
    memset(c, 0, sizeof *c);
}

/* Longest prefix of s no longer than max that ends on a UTF-8 boundary. */
static size_t
utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/*
 * Transcript number i, about size bytes, into buf (capacity size + 256):
 * a lead line naming i (so every text and its content hash are unique),
 * then whole corpus lines from a position that depends only on i.
 */
static size_t
gen_payload(const corpus_t *c, size_t i, size_t size, char *buf)
{
    int n = snprintf(buf, 256,
                     "Benchmark meeting number %zu on regional development."
                     "\nExcerpts from the transcript:\n",
                     i);
    size_t len = (size_t)n;
    size_t li = (i * 7919u) % c->n_lines;
    while (len < size) {
        size_t ll = c->lens[li];
        size_t room = size - len;
        if (ll + 1 > room) {
            if (len > size / 2)
                break;
            ll = utf8_cut(c->lines[li], ll, room - 1);
        }
        memcpy(buf + len, c->lines[li], ll);
        len += ll;
        buf[len++] = '\n';
        li = (li + 1) % c->n_lines;
    }
    return len;
}

/* ---- statistics -------------------------------------------------------- */

static int
u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Latencies t_end - t_start (us) of the n jobs, percentiles into r. */
static void
latency_stats(run_result_t *r, const uint64_t *t_start, const uint64_t *t_end,
              size_t n)
{
    uint64_t *lat = xcalloc(n ? n : 1, sizeof *lat);
    uint64_t first = UINT64_MAX, last = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!t_start[i] || !t_end[i])
            continue;
        lat[m++] = t_end[i] > t_start[i] ? t_end[i] - t_start[i] : 0;
        if (t_start[i] < first)
            first = t_start[i];
        if (t_end[i] > last)
            last = t_end[i];
    }
    r->jobs = m;
    if (m) {
        qsort(lat, m, sizeof *lat, u64_cmp);
        r->p50_ms = lat[(size_t)ceil(0.50 * (double)m) - 1] / 1000.0;
        r->p99_ms = lat[(size_t)ceil(0.99 * (double)m) - 1] / 1000.0;
        r->max_ms = lat[m - 1] / 1000.0;
        r->secs = (double)(last - first) / 1e6;
        r->jobs_per_s = r->secs > 0 ? (double)m / r->secs : 0;
    }
    free(lat);
}

/* ---- excerpt ------------------------------------------------------------ */

static int
zsend(void *sock, const wire_msg_t *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = wire_encode(m, &buf, &len);
    if (rc != ERR_OK)
        return rc;
    rc = zmq_send(sock, buf, len, 0) == (int)len ? ERR_OK : ERR_IO;
    if (rc != ERR_OK)
        fprintf(stderr, "bench: zmq_send: %s\n", zmq_strerror(zmq_errno()));
    free(buf);
    return rc;
}

/* Receive one multipart message and decode its last frame. Returns
 * ERR_AGAIN when nothing is waiting (ZMQ_DONTWAIT). */
static int
zrecv(void *sock, wire_msg_t *out, int flags)
{
    zmq_msg_t last;
    zmq_msg_init(&last);
    int more = 1;
    bool got = false;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, got ? 0 : flags) < 0) {
            int e = zmq_errno();
            zmq_msg_close(&part);
            zmq_msg_close(&last);
            return e == EAGAIN ? ERR_AGAIN : ERR_IO;
        }
        got = true;
        more = zmq_msg_more(&part);
        zmq_msg_close(&last);
        zmq_msg_init(&last);
        zmq_msg_move(&last, &part);
        zmq_msg_close(&part);
    }
    int rc = wire_decode(zmq_msg_data(&last), zmq_msg_size(&last), 0, out);
    zmq_msg_close(&last);
    return rc;
}

/* Reads the messages of a socket one at a time: each frame is one
 * Envelope or a Batch of them (PROTOCOL.md "Batches"). */
typedef struct zin {
    zmq_msg_t frame;      /* last frame of the message being read */
    wire_batch_iter_t it; /* its next message */
    bool open;            /* frame holds a message being read */
} zin_t;

static void
zin_close(zin_t *in)
{
    if (in->open)
        zmq_msg_close(&in->frame);
    in->open = false;
}

/* Next message into *out: from the frame being read, else from a message
 * received now (flags: ZMQ_DONTWAIT or 0). Returns ERR_OK, ERR_AGAIN
 * (nothing waiting), ERR_IO, or a decoding error (that message skipped). */
static int
zin_next(void *sock, zin_t *in, wire_msg_t *out, int flags)
{
    for (;;) {
        if (in->open) {
            const uint8_t *item;
            size_t len;
            int r = wire_batch_next(&in->it, &item, &len);
            if (r == 1)
                return wire_decode(item, len, 0, out);
            zin_close(in);
            if (r < 0)
                return r;
            continue;
        }
        zmq_msg_init(&in->frame);
        bool got = false;
        for (;;) {
            if (zmq_msg_recv(&in->frame, sock, got ? 0 : flags) < 0) {
                int e = zmq_errno();
                zmq_msg_close(&in->frame);
                return e == EAGAIN ? ERR_AGAIN : ERR_IO;
            }
            got = true;
            if (!zmq_msg_more(&in->frame))
                break;
        }
        int b = wire_batch_open(zmq_msg_data(&in->frame),
                                zmq_msg_size(&in->frame), &in->it);
        if (b < 0) {
            zmq_msg_close(&in->frame);
            return b;
        }
        in->open = true;
    }
}

/* Send the Submits queued in b as one frame, handed to ZeroMQ where it
 * lies (no copy; ZeroMQ frees it once sent). */
static int
zflush(void *sock, wire_batch_t *b)
{
    int rc = wire_batch_zsend(sock, b, 0);
    if (rc != ERR_OK)
        fprintf(stderr, "bench: zmq_send: %s\n", zmq_strerror(errno));
    return rc;
}

/* A frame being filled (wire_encode_into's room): what it holds goes out
 * first when the next Submit would pass BATCH_BYTES. */
typedef struct zroom {
    void *sock;      /* where frames go */
    wire_batch_t *b; /* the frame */
    int rc;          /* the first flush error */
} zroom_t;

static wire_batch_t *
zroom_of(void *ud, size_t n)
{
    zroom_t *r = ud;
    if (r->b->n && wire_batch_bytes(r->b) + ITEM_HEAD + n > BATCH_BYTES &&
        r->rc == ERR_OK)
        r->rc = zflush(r->sock, r->b);
    return r->b;
}

/* Queue m in b (batch > 1; sent when b is full) or send it (batch 1). */
static int
zqueue(void *sock, wire_batch_t *b, size_t batch, const wire_msg_t *m)
{
    if (batch <= 1)
        return zsend(sock, m);
    zroom_t r = { sock, b, ERR_OK };
    int rc = wire_encode_into(m, zroom_of, &r);
    if (rc == ERR_OK)
        rc = r.rc;
    if (rc == ERR_OK && b->n >= batch)
        rc = zflush(sock, b);
    return rc;
}

/* One request on the control DEALER, waiting up to timeout_ms for the
 * reply with the same request_id. */
static int
request(void *sock, wire_msg_t *req, wire_msg_t *reply, uint64_t timeout_ms)
{
    static uint64_t next_id = (uint64_t)1 << 40;
    req->request_id = next_id++;
    int rc = zsend(sock, req);
    if (rc != ERR_OK)
        return rc;
    uint64_t deadline = now_mono_ms() + timeout_ms;
    for (;;) {
        uint64_t now = now_mono_ms();
        if (now >= deadline)
            return ERR_TIMEOUT;
        zmq_pollitem_t it = { .socket = sock, .events = ZMQ_POLLIN };
        if (zmq_poll(&it, 1, (long)(deadline - now)) < 0)
            return ERR_IO;
        if (!(it.revents & ZMQ_POLLIN))
            continue;
        rc = zrecv(sock, reply, 0);
        if (rc != ERR_OK)
            return rc;
        if (reply->request_id == req->request_id)
            return ERR_OK;
        wire_msg_release(reply);
    }
}

static int
broker_stats(void *ctl, wire_stats_t *st, uint64_t timeout_ms)
{
    wire_msg_t req = { .kind = WIRE_STATS }, rep;
    int rc = request(ctl, &req, &rep, timeout_ms);
    if (rc != ERR_OK)
        return rc;
    if (rep.kind != WIRE_STATS_REPLY) {
        wire_msg_release(&rep);
        return ERR_PROTO;
    }
    *st = rep.u.stats_reply;
    wire_msg_release(&rep);
    return ERR_OK;
}

/* A connected socket; under CURVE with keys when keys is on. */
static void *
zsocket(void *ctx, int type, const char *endpoint, const curvekeys_t *keys)
{
    void *s = zmq_socket(ctx, type);
    if (!s)
        return NULL;
    int zero = 0, linger = 0;
    (void)zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    (void)zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero);
    (void)zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero);
    if (curvekeys_apply(keys, s) != ERR_OK) {
        fprintf(stderr, "bench: cannot set the CURVE keys\n");
        zmq_close(s);
        return NULL;
    }
    if (zmq_connect(s, endpoint) != 0) {
        fprintf(stderr, "bench: connect %s: %s\n", endpoint,
                zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    return s;
}

typedef struct retry_ring {
    size_t *idx;    /* job indexes waiting to be resent */
    uint64_t *due;  /* when, monotonic us */
    size_t head, n; /* ring position and fill */
    size_t cap;     /* capacity */
} retry_ring_t;

static void
ring_push(retry_ring_t *q, size_t idx, uint64_t due)
{
    if (q->n == q->cap)
        return; /* cannot happen: at most one entry per job */
    size_t at = (q->head + q->n) % q->cap;
    q->idx[at] = idx;
    q->due[at] = due;
    q->n++;
}

/* Index of a job from its key "bench-<i>", or SIZE_MAX. */
static size_t
key_index(const char *key, size_t n)
{
    if (!key || strncmp(key, KEY_PREFIX, strlen(KEY_PREFIX)))
        return SIZE_MAX;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(key + strlen(KEY_PREFIX), &end, 10);
    if (errno || *end || v >= n)
        return SIZE_MAX;
    return (size_t)v;
}

/* Collect commits the SUB socket missed, through Since from the store. */
static size_t
catch_up(void *ctl, uint64_t *t_com, size_t n, size_t *committed)
{
    uint64_t after = 0;
    size_t found = 0;
    for (;;) {
        wire_msg_t req = { .kind = WIRE_SINCE }, rep;
        req.u.since.after_seq = after;
        req.u.since.limit = WIRE_MAX_BATCH;
        if (request(ctl, &req, &rep, 10000) != ERR_OK)
            return found;
        if (rep.kind != WIRE_SINCE_REPLY || rep.u.since_reply.n == 0) {
            wire_msg_release(&rep);
            return found;
        }
        uint64_t now = now_mono_us();
        for (size_t k = 0; k < rep.u.since_reply.n; k++) {
            const wire_committed_t *it = &rep.u.since_reply.items[k];
            size_t i = key_index(it->key, n);
            if (i != SIZE_MAX && !t_com[i]) {
                t_com[i] = now;
                (*committed)++;
                found++;
            }
            if (it->seq > after)
                after = it->seq;
        }
        wire_msg_release(&rep);
    }
}

typedef struct excerpt_env {
    char *dir;          /* temp dir: data + logs */
    char front[64];     /* frontend endpoint */
    char back[64];      /* backend endpoint */
    char pub[64];       /* publisher endpoint */
    pid_t broker;       /* broker pid */
    pid_t workers[16];  /* worker pids */
    unsigned n_workers; /* started workers */
    void *ctl;          /* DEALER for Stats/Since */
    int metrics_port;   /* broker's metrics port, with --scrape-ms */
    curvekeys_t keys;   /* with --curve, this run's keys (else off) */
} excerpt_env_t;

static void
excerpt_env_stop(excerpt_env_t *e, const opts_t *o)
{
    for (unsigned w = 0; w < e->n_workers; w++)
        (void)stop_process(e->workers[w], 5000);
    e->n_workers = 0;
    if (e->ctl)
        zmq_close(e->ctl);
    e->ctl = NULL;
    if (e->broker > 0)
        (void)stop_process(e->broker, 15000);
    e->broker = 0;
    if (e->dir && !o->keep)
        remove_tree(e->dir);
    free(e->dir);
    e->dir = NULL;
}

/* Start a broker on fresh ports and a fresh store and wait until it
 * answers Stats. */
static int
excerpt_env_start(excerpt_env_t *e, const opts_t *o, void *ctx)
{
    memset(e, 0, sizeof *e);
    e->dir = make_tmpdir(o, "excerpt");
    if (!e->dir)
        return ERR_IO;
    int p1 = free_port(), p2 = free_port(), p3 = free_port();
    if (p1 < 0 || p2 < 0 || p3 < 0 || p1 == p2 || p2 == p3 || p1 == p3)
        return ERR_IO;
    snprintf(e->front, sizeof e->front, "tcp://127.0.0.1:%d", p1);
    snprintf(e->back, sizeof e->back, "tcp://127.0.0.1:%d", p2);
    snprintf(e->pub, sizeof e->pub, "tcp://127.0.0.1:%d", p3);

    char data[PATH_MAX], log[PATH_MAX], max_queued[32];
    snprintf(data, sizeof data, "%s/data", e->dir);
    snprintf(log, sizeof log, "%s/broker.log", e->dir);
    snprintf(max_queued, sizeof max_queued, "%zu",
             (o->fill > o->jobs ? o->fill : o->jobs) + 1000);
    char metrics[40] = "";
    e->metrics_port = o->scrape_ms ? free_port() : 0;
    if (e->metrics_port > 0)
        snprintf(metrics, sizeof metrics, "127.0.0.1:%d", e->metrics_port);
    char *argv[] = { o->broker_bin, "--data-dir",  data,    "--frontend",
                     e->front,      "--backend",   e->back, "--publisher",
                     e->pub,        "--map-limit", "64G",   "--max-queued",
                     max_queued,    "--log-level", "warn",  "--metrics",
                     metrics,       NULL,          NULL,    NULL,
                     NULL,          NULL };
    if (o->curve_on) {
        if (curvekeys_make(&e->keys, e->dir) != ERR_OK)
            return ERR_IO;
        argv[17] = "--key-file";
        argv[18] = e->keys.broker_key_file;
        argv[19] = "--allow";
        argv[20] = e->keys.allow_file;
    }
    e->broker = spawn(argv, log);
    if (e->broker < 0)
        return ERR_IO;
    e->ctl = zsocket(ctx, ZMQ_DEALER, e->front, &e->keys);
    if (!e->ctl)
        return ERR_IO;
    uint64_t deadline = now_mono_ms() + 15000;
    while (now_mono_ms() < deadline) {
        wire_stats_t st;
        if (has_exited(e->broker)) {
            fprintf(stderr, "bench: excerpt-broker exited at start\n");
            print_log_tail(log);
            e->broker = 0;
            return ERR_IO;
        }
        if (broker_stats(e->ctl, &st, 200) == ERR_OK)
            return ERR_OK;
    }
    fprintf(stderr, "bench: excerpt-broker did not answer Stats\n");
    print_log_tail(log);
    return ERR_TIMEOUT;
}

static int
excerpt_env_workers(excerpt_env_t *e, const opts_t *o, unsigned n)
{
    char log[PATH_MAX], threads[16], name[32], key[PATH_MAX];
    snprintf(threads, sizeof threads, "%u", o->threads);
    for (unsigned w = 0; w < n && w < 16; w++) {
        snprintf(log, sizeof log, "%s/worker%u.log", e->dir, w);
        snprintf(name, sizeof name, "bench-w%u", w);
        char *argv[] = { o->worker_bin, "--broker", e->back, "--threads",
                         threads,       "--name",   name,    "--log-level",
                         "warn",        NULL,       NULL,    NULL,
                         NULL,          NULL };
        if (e->keys.on) {
            curvekeys_worker_file(&e->keys, w, key, sizeof key);
            argv[9] = "--key-file";
            argv[10] = key;
            argv[11] = "--broker-key-file";
            argv[12] = e->keys.broker_pub_file;
        }
        pid_t pid = spawn(argv, log);
        if (pid < 0)
            return ERR_IO;
        e->workers[e->n_workers++] = pid;
    }
    uint64_t deadline = now_mono_ms() + 15000;
    while (now_mono_ms() < deadline) {
        wire_stats_t st;
        for (unsigned w = 0; w < e->n_workers; w++) {
            if (has_exited(e->workers[w])) {
                fprintf(stderr, "bench: excerpt-worker exited at start\n");
                snprintf(log, sizeof log, "%s/worker%u.log", e->dir, w);
                print_log_tail(log);
                e->workers[w] = 0;
                return ERR_IO;
            }
        }
        if (broker_stats(e->ctl, &st, 500) == ERR_OK && st.workers >= n)
            return ERR_OK;
        usleep(20000);
    }
    fprintf(stderr, "bench: workers did not register with the broker\n");
    return ERR_TIMEOUT;
}

/*
 * One excerpt run: n_workers worker processes (0 = fill mode: only
 * submits, done when all are Accepted), n jobs, offered rate (0 = as
 * fast as the window allows), at most batch Submits per frame (1: one
 * message each, and the subscriber takes topic "committed", one message
 * per result; else Batches, and topic "group", one Batch per commit).
 */
static int
excerpt_run(const opts_t *o, const corpus_t *c, void *ctx, unsigned n_workers,
            size_t n, double rate, size_t batch, run_result_t *r)
{
    excerpt_env_t e;
    scraper_t *scr = NULL; /* with --scrape-ms */
    scraper_result_t sr;
    void *front = NULL, *sub = NULL;
    zin_t zfront = { .open = false }, zsub = { .open = false };
    wire_batch_t out;
    wire_batch_init(&out);
    const char *topic = batch > 1 ? "group" : "committed";
    uint64_t *t_sub = xcalloc(n, sizeof *t_sub);
    uint64_t *t_com = xcalloc(n, sizeof *t_com);
    retry_ring_t q = { .idx = xcalloc(n, sizeof(size_t)),
                       .due = xcalloc(n, sizeof(uint64_t)),
                       .cap = n };
    char *payload = xmalloc(o->size + 256);
    char key[48];
    bool fill = n_workers == 0;
    int rc = excerpt_env_start(&e, o, ctx);
    if (rc != ERR_OK)
        goto out;
    front = zsocket(ctx, ZMQ_DEALER, e.front, &e.keys);
    sub = fill ? NULL : zsocket(ctx, ZMQ_SUB, e.pub, &e.keys);
    if (sub)
        (void)zmq_setsockopt(sub, ZMQ_SUBSCRIBE, topic, strlen(topic));
    if (!front || (!fill && !sub)) {
        rc = ERR_IO;
        goto out;
    }
    if (!fill) {
        rc = excerpt_env_workers(&e, o, n_workers);
        if (rc != ERR_OK)
            goto out;
    }

    if (e.metrics_port > 0)
        scr = scraper_start(e.metrics_port, o->scrape_ms);
    mem_peak_t mem = { .pid = e.broker };
    size_t next = 0, inflight = 0, accepted = 0, committed = 0;
    uint64_t last_seq = 0, gaps = 0;
    uint64_t t0 = now_mono_us();
    double self0 = self_cpu_secs();
    uint64_t deadline = t0 + (uint64_t)o->timeout_s * 1000000u;
    uint64_t last_progress = t0;
    uint64_t next_report = t0 + 10000000u;
    rc = ERR_OK;
    while (fill ? accepted < n : committed < n) {
        uint64_t now = now_mono_us();
        if (interrupted || now > deadline) {
            fprintf(stderr,
                    "bench: %s: %s after %zu/%zu accepted, %zu "
                    "committed\n",
                    r->name, interrupted ? "interrupted" : "timed out",
                    accepted, n, committed);
            rc = ERR_TIMEOUT;
            break;
        }
        if (has_exited(e.broker)) {
            fprintf(stderr, "bench: excerpt-broker died\n");
            e.broker = 0;
            rc = ERR_IO;
            break;
        }
        while (inflight < o->window) {
            size_t i;
            if (q.n && q.due[q.head] <= now) {
                i = q.idx[q.head];
                q.head = (q.head + 1) % q.cap;
                q.n--;
            } else if (next < n &&
                       (rate <= 0 ||
                        now >= t0 + (uint64_t)((double)next * 1e6 / rate))) {
                i = next++;
            } else {
                break;
            }
            size_t len = gen_payload(c, i, o->size, payload);
            snprintf(key, sizeof key, KEY_PREFIX "%zu", i);
            wire_msg_t m = { .kind = WIRE_SUBMIT, .request_id = i + 1 };
            m.u.submit.job.key = key;
            m.u.submit.job.title = "bench";
            m.u.submit.job.text = payload;
            m.u.submit.job.text_len = len;
            if (!t_sub[i])
                t_sub[i] = now_mono_us();
            if (zqueue(front, &out, batch, &m) != ERR_OK) {
                rc = ERR_IO;
                goto out;
            }
            inflight++;
        }
        if (zflush(front, &out) != ERR_OK) {
            rc = ERR_IO;
            goto out;
        }
        mem_sample(&mem, false);

        long timeout = 20;
        if (rate > 0 && next < n) {
            uint64_t due = t0 + (uint64_t)((double)next * 1e6 / rate);
            now = now_mono_us();
            /* rounded up: a due time under 1 ms away must not spin */
            timeout = due > now ? (long)((due - now + 999) / 1000) : 0;
            if (timeout > 20)
                timeout = 20;
        }
        zmq_pollitem_t items[2] = {
            { .socket = front, .events = ZMQ_POLLIN },
            { .socket = sub, .events = ZMQ_POLLIN },
        };
        if (zmq_poll(items, fill ? 1 : 2, timeout) < 0 &&
            zmq_errno() != EINTR) {
            rc = ERR_IO;
            break;
        }
        wire_msg_t m;
        while (zin_next(front, &zfront, &m, ZMQ_DONTWAIT) == ERR_OK) {
            if (m.kind == WIRE_ACCEPTED) {
                inflight--;
                accepted++;
                last_progress = now_mono_us();
            } else if (m.kind == WIRE_REJECTED) {
                inflight--;
                r->rejected++;
                size_t i = (size_t)(m.request_id - 1);
                int code = m.u.rejected.code;
                if (i >= n || code == WIRE_CODE_INVALID ||
                    code == WIRE_CODE_TOO_LARGE || code == WIRE_CODE_BAD_UTF8 ||
                    code == WIRE_CODE_BAD_VERSION) {
                    fprintf(stderr, "bench: submit refused: %s %s\n",
                            wire_code_name(code),
                            m.u.rejected.reason ? m.u.rejected.reason : "");
                    wire_msg_release(&m);
                    rc = ERR_PROTO;
                    goto out;
                }
                uint32_t after = m.u.rejected.retry_after_ms;
                ring_push(&q, i, now_mono_us() + 1000u * (after ? after : 10));
            }
            wire_msg_release(&m);
        }
        while (sub && zin_next(sub, &zsub, &m, ZMQ_DONTWAIT) == ERR_OK) {
            if (m.kind == WIRE_COMMITTED) {
                uint64_t now2 = now_mono_us();
                size_t i = key_index(m.u.committed.key, n);
                if (i != SIZE_MAX && !t_com[i]) {
                    t_com[i] = now2;
                    committed++;
                    last_progress = now2;
                }
                if (last_seq && m.u.committed.seq != last_seq + 1)
                    gaps++;
                if (m.u.committed.seq > last_seq)
                    last_seq = m.u.committed.seq;
            }
            wire_msg_release(&m);
        }
        now = now_mono_us();
        if (!fill && accepted == n && committed < n &&
            now - last_progress > 3000000u) {
            /* Notifications lost (PUB drops for slow subscribers): take
             * the rest from the store. Their latency is an upper bound. */
            size_t got = catch_up(e.ctl, t_com, n, &committed);
            r->late += got;
            last_progress = now;
        }
        if (now >= next_report) {
            fprintf(stderr, "bench: %s: %zu accepted, %zu committed\n", r->name,
                    accepted, committed);
            next_report = now + 10000000u;
        }
    }
    mem_sample(&mem, true);
    if (scr) {
        scraper_stop(&scr, &sr);
        printf("scrape: %s: %zu scrapes of /metrics every %u ms (%zu "
               "failed), p50 %.2f ms, p99 %.2f ms, max %.2f ms, %zu bytes\n",
               r->name, sr.n, o->scrape_ms, sr.failed, sr.p50_ms, sr.p99_ms,
               sr.max_ms, sr.bytes);
    }
    r->self_cpu_s = self_cpu_secs() - self0;
    r->broker_cpu_s = cpu_secs(e.broker);
    for (unsigned w = 0; w < e.n_workers; w++)
        r->worker_cpu_s += cpu_secs(e.workers[w]);
    r->end_anon_kb = mem.last;
    r->anon_kb = mem.anon;
    r->hwm_kb = mem.hwm;
    {
        wire_stats_t st;
        if (broker_stats(e.ctl, &st, 5000) == ERR_OK)
            r->store_bytes = st.store_bytes;
    }
    if (gaps)
        fprintf(stderr, "bench: %s: %" PRIu64 " gaps in Committed seq\n",
                r->name, gaps);
    latency_stats(r, t_sub, fill ? t_sub : t_com, n);
    if (fill) {
        /* Fill mode measures intake only: accepted jobs per second. */
        double secs = (double)(now_mono_us() - t0) / 1e6;
        r->secs = secs;
        r->jobs = accepted;
        r->jobs_per_s = secs > 0 ? (double)accepted / secs : 0;
        r->p50_ms = r->p99_ms = r->max_ms = 0;
    }
    r->ok = rc == ERR_OK;
out:
    scraper_stop(&scr, &sr);
    zin_close(&zfront);
    zin_close(&zsub);
    wire_batch_free(&out);
    if (front)
        zmq_close(front);
    if (sub)
        zmq_close(sub);
    excerpt_env_stop(&e, o);
    free(payload);
    free(q.idx);
    free(q.due);
    free(t_sub);
    free(t_com);
    return rc;
}

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
        size_t len = gen_payload(s->c, i, s->o->size, msg + 64);
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
static int
beanstalkd_run(const opts_t *o, const corpus_t *c, int fsync_ms, size_t n,
               double rate, run_result_t *r)
{
    char *dir = make_tmpdir(o, "beanstalkd");
    pid_t pid = -1;
    bs_shared_t s = { .o = o, .c = c, .n = n, .rate = rate };
    s.t_put = xcalloc(n, sizeof *s.t_put);
    s.t_del = xcalloc(n, sizeof *s.t_del);
    uint64_t *t_put = xcalloc(n, sizeof *t_put);
    int rc = ERR_IO;
    if (!dir)
        goto out;
    s.port = free_port();
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
    pid = spawn(argv, log);
    if (pid < 0)
        goto out;
    uint64_t deadline = now_mono_ms() + 10000;
    for (;;) {
        conn_t probe;
        if (conn_open(&probe, s.port) == ERR_OK) {
            close(probe.fd);
            break;
        }
        if (has_exited(pid) || now_mono_ms() > deadline) {
            fprintf(stderr, "bench: beanstalkd did not start\n");
            print_log_tail(log);
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
        mem_sample(&mem, false);
        if (atomic_load(&s.deleted) == n || atomic_load(&s.failed))
            break;
        if ((interrupted || now_mono_ms() > limit) && !killed) {
            fprintf(stderr, "bench: %s: %s\n", r->name,
                    interrupted ? "interrupted" : "timed out");
            atomic_store(&s.failed, 1);
            (void)kill(pid, SIGKILL);
            killed = true;
            break;
        }
        usleep(50000);
    }
    mem_sample(&mem, true);
    if (atomic_load(&s.failed) && !killed)
        (void)kill(pid, SIGKILL); /* unblock the threads' reads */
    pthread_join(prod, NULL);
    pthread_join(cons, NULL);
    r->anon_kb = mem.anon;
    r->end_anon_kb = mem.last;
    r->hwm_kb = mem.hwm;
    for (size_t i = 0; i < n; i++)
        t_put[i] = atomic_load_explicit(&s.t_put[i], memory_order_relaxed);
    latency_stats(r, t_put, s.t_del, n);
    r->ok = !atomic_load(&s.failed) && r->jobs == n;
    rc = r->ok ? ERR_OK : ERR_IO;
out:
    if (pid > 0)
        (void)stop_process(pid, 5000);
    if (dir && !o->keep)
        remove_tree(dir);
    free(dir);
    free(s.t_put);
    free(s.t_del);
    free(t_put);
    return rc;
}

/* ---- report ------------------------------------------------------------- */

static void
print_table(const run_result_t *rows, size_t n, const run_result_t *bs_def,
            const run_result_t *bs_f0)
{
    printf("\n%-40s %9s %8s %8s %8s %9s %9s %8s %8s\n", "system", "jobs/s",
           "p50 ms", "p99 ms", "max ms", "peakRSS", "RssAnon", "x bs-def",
           "x bs-f0");
    printf("%-40s %9s %8s %8s %8s %9s %9s %8s %8s\n", "", "", "", "", "", "MiB",
           "MiB", "", "");
    for (size_t i = 0; i < n; i++) {
        const run_result_t *r = &rows[i];
        char ratio_def[16] = "-", ratio_f0[16] = "-";
        if (bs_def && bs_def->ok && bs_def->jobs_per_s > 0)
            snprintf(ratio_def, sizeof ratio_def, "%.2f",
                     r->jobs_per_s / bs_def->jobs_per_s);
        if (bs_f0 && bs_f0->ok && bs_f0->jobs_per_s > 0)
            snprintf(ratio_f0, sizeof ratio_f0, "%.2f",
                     r->jobs_per_s / bs_f0->jobs_per_s);
        printf("%-40s %9.0f %8.2f %8.2f %8.2f %9.1f %9.1f %8s %8s%s\n", r->name,
               r->jobs_per_s, r->p50_ms, r->p99_ms, r->max_ms,
               r->hwm_kb / 1024.0, r->anon_kb / 1024.0, ratio_def, ratio_f0,
               r->ok ? "" : "  (FAILED)");
        if (r->jobs && (r->broker_cpu_s > 0 || r->worker_cpu_s > 0))
            printf("%-40s (CPU per job: broker %.0f us, workers %.0f us, "
                   "bench client %.0f us)\n",
                   "", r->broker_cpu_s * 1e6 / (double)r->jobs,
                   r->worker_cpu_s * 1e6 / (double)r->jobs,
                   r->self_cpu_s * 1e6 / (double)r->jobs);
        if (r->late)
            printf("%-40s (%zu of %zu commits seen via Since catch-up)\n", "",
                   r->late, r->jobs);
        if (r->rejected)
            printf("%-40s (%zu submits rejected and retried)\n", "",
                   r->rejected);
    }
}

static int
dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double
median_of(double *v, size_t n)
{
    qsort(v, n, sizeof *v, dbl_cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* After several rounds: per row, the median jobs/s, p50 and p99 over the
 * rounds, and its ratio to beanstalkd's default binlog in each round (the
 * two ran minutes apart at most; across rounds the machine's speed drifts).
 * Rows are in the same order every round; with beanstalkd the last two are
 * its runs. */
static void
print_rounds(run_result_t all[][ROW_MAX], size_t rounds, size_t n_rows,
             bool with_bs)
{
    size_t bs = with_bs && n_rows >= 2 ? n_rows - 2 : SIZE_MAX;
    printf("\nmedians over %zu rounds (each round ran every row once, in "
           "table order)\n",
           rounds);
    printf("%-40s %9s %8s %8s  %s\n", "system", "jobs/s", "p50 ms", "p99 ms",
           bs != SIZE_MAX ? "x bs-def per round (min / median / max)" : "");
    for (size_t i = 0; i < n_rows; i++) {
        double jps[MAX_ROUNDS], p50[MAX_ROUNDS], p99[MAX_ROUNDS];
        double ratio[MAX_ROUNDS];
        size_t n_ratio = 0;
        bool ok = true;
        for (size_t r = 0; r < rounds; r++) {
            const run_result_t *x = &all[r][i];
            ok = ok && x->ok;
            jps[r] = x->jobs_per_s;
            p50[r] = x->p50_ms;
            p99[r] = x->p99_ms;
            if (bs != SIZE_MAX && all[r][bs].ok && all[r][bs].jobs_per_s > 0)
                ratio[n_ratio++] = x->jobs_per_s / all[r][bs].jobs_per_s;
        }
        char rs[128] = "";
        if (n_ratio) {
            /* the list in round order, rounds without beanstalkd left out */
            char list[64] = "";
            size_t used = 0;
            for (size_t r = 0; r < rounds && used < sizeof list; r++) {
                if (!all[r][bs].ok || all[r][bs].jobs_per_s <= 0)
                    continue;
                int w = snprintf(list + used, sizeof list - used, "%s%.2f",
                                 used ? " " : "",
                                 all[r][i].jobs_per_s / all[r][bs].jobs_per_s);
                if (w < 0)
                    break;
                used += (size_t)w;
            }
            double med = median_of(ratio, n_ratio); /* sorts ratio */
            snprintf(rs, sizeof rs, "%.2f / %.2f / %.2f  (%s)", ratio[0], med,
                     ratio[n_ratio - 1], list);
        }
        printf("%-40s %9.0f %8.2f %8.2f  %s%s\n", all[0][i].name,
               median_of(jps, rounds), median_of(p50, rounds),
               median_of(p99, rounds), rs, ok ? "" : "  (a round FAILED)");
    }
}

/* With --curve: each row without CURVE beside the same row with it (the
 * next one), medians over the rounds of jobs/s and of CPU per job. */
static void
print_curve_cost(run_result_t all[][ROW_MAX], size_t rounds, size_t n_rows)
{
    printf("\nCURVE cost (medians over %zu round%s; CPU per job = broker + "
           "workers + bench client, us)\n",
           rounds, rounds == 1 ? "" : "s");
    printf("%-40s %9s %9s %7s %9s %9s %7s\n", "system", "jobs/s", "CURVE",
           "change", "CPU/job", "CURVE", "change");
    for (size_t i = 0; i + 1 < n_rows; i++) {
        if (all[0][i].curve || !all[0][i + 1].curve)
            continue;
        double jps[2][MAX_ROUNDS], cpu[2][MAX_ROUNDS];
        bool ok = true;
        for (size_t r = 0; r < rounds; r++) {
            for (int cv = 0; cv < 2; cv++) {
                const run_result_t *x = &all[r][i + (size_t)cv];
                ok = ok && x->ok && x->jobs > 0;
                jps[cv][r] = x->jobs_per_s;
                cpu[cv][r] =
                    x->jobs
                        ? (x->broker_cpu_s + x->worker_cpu_s + x->self_cpu_s) *
                              1e6 / (double)x->jobs
                        : 0;
            }
        }
        double j0 = median_of(jps[0], rounds), j1 = median_of(jps[1], rounds);
        double c0 = median_of(cpu[0], rounds), c1 = median_of(cpu[1], rounds);
        printf("%-40s %9.0f %9.0f %+6.1f%% %9.0f %9.0f %+6.1f%%%s\n",
               all[0][i].name, j0, j1, j0 > 0 ? (j1 / j0 - 1) * 100 : 0, c0, c1,
               c0 > 0 ? (c1 / c0 - 1) * 100 : 0, ok ? "" : "  (a run FAILED)");
    }
}

/* ---- main --------------------------------------------------------------- */

static char *
sibling_path(const char *rel)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return xstrdup(rel);
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    char out[PATH_MAX * 2];
    snprintf(out, sizeof out, "%s/%s", exe, rel);
    return xstrdup(out);
}

static char *
default_corpus(void)
{
    /* CMake compiles this file by its absolute path. */
    char src[PATH_MAX];
    snprintf(src, sizeof src, "%s", __FILE__);
    char *slash = strrchr(src, '/');
    if (!slash)
        return xstrdup("samples");
    *slash = '\0';
    char out[PATH_MAX * 2];
    snprintf(out, sizeof out, "%s/../samples", src);
    return xstrdup(out);
}

static void
usage(FILE *out)
{
    fprintf(
        out,
        "usage: bench_pipeline [options]\n"
        "  --jobs N          jobs per run (20000)\n"
        "  --size BYTES      payload size (4096)\n"
        "  --workers LIST    worker process counts, e.g. 1,2 (1,2)\n"
        "  --threads N       --threads of each worker (1)\n"
        "  --window N        submits/puts in flight (256)\n"
        "  --rounds N        repeat all runs N times, interleaved, and print\n"
        "                    medians and each round's ratio (1, at most 9)\n"
        "  --batch LIST      excerpt: most Submits per frame (and 64 KiB),\n"
        "                    a run per entry, e.g. 1,64 (64); 1 = a message\n"
        "                    per Submit and the subscriber on \"committed\";\n"
        "                    more = Batches, subscriber on \"group\"\n"
        "  --rate R          offered load in jobs/s instead of max speed\n"
        "  --fill N          only fill N jobs, no workers; print broker "
        "RssAnon\n"
        "  --corpus DIR      *.txt to cut payloads from (samples/)\n"
        "  --broker PATH     excerpt-broker (../broker/excerpt-broker)\n"
        "  --worker PATH     excerpt-worker (../worker/excerpt-worker)\n"
        "  --beanstalkd PATH (/usr/bin/beanstalkd)\n"
        "  --no-beanstalkd   skip the beanstalkd runs\n"
        "  --tmp DIR         where temp dirs go ($TMPDIR or /tmp)\n"
        "  --keep            keep temp dirs (stores, logs)\n"
        "  --timeout S       give up on a run after S seconds (600)\n"
        "  --scrape-ms MS    broker metrics on; scrape /metrics every MS ms\n"
        "                    during each excerpt run, print the scrape times\n"
        "  --curve           run every excerpt row twice, CURVE off then on\n"
        "                    (keys and an allow-list made in the temp dir),\n"
        "                    and print the cost of CURVE per row\n");
}

static int
parse_size(const char *s, size_t *out, size_t min)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v < min || v > (1ull << 40))
        return ERR_INVAL;
    *out = (size_t)v;
    return ERR_OK;
}

static int
parse_opts(opts_t *o, int argc, char **argv)
{
    static const struct option lo[] = {
        { "jobs", required_argument, NULL, 'n' },
        { "size", required_argument, NULL, 's' },
        { "workers", required_argument, NULL, 'w' },
        { "threads", required_argument, NULL, 't' },
        { "window", required_argument, NULL, 'W' },
        { "rounds", required_argument, NULL, 'R' },
        { "batch", required_argument, NULL, 'b' },
        { "rate", required_argument, NULL, 'r' },
        { "fill", required_argument, NULL, 'f' },
        { "corpus", required_argument, NULL, 'c' },
        { "broker", required_argument, NULL, 'B' },
        { "worker", required_argument, NULL, 'K' },
        { "beanstalkd", required_argument, NULL, 'S' },
        { "no-beanstalkd", no_argument, NULL, 'N' },
        { "tmp", required_argument, NULL, 'T' },
        { "keep", no_argument, NULL, 'k' },
        { "timeout", required_argument, NULL, 'o' },
        { "scrape-ms", required_argument, NULL, 'M' },
        { "curve", no_argument, NULL, 'C' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    size_t v;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 'n':
            if (parse_size(optarg, &o->jobs, 1))
                goto bad;
            break;
        case 's':
            if (parse_size(optarg, &o->size, 128) || o->size > (8u << 20))
                goto bad;
            break;
        case 'W':
            if (parse_size(optarg, &o->window, 1))
                goto bad;
            break;
        case 'R':
            if (parse_size(optarg, &o->rounds, 1) || o->rounds > MAX_ROUNDS)
                goto bad;
            break;
        case 't':
            if (parse_size(optarg, &v, 1) || v > 256)
                goto bad;
            o->threads = (unsigned)v;
            break;
        case 'f':
            if (parse_size(optarg, &o->fill, 1))
                goto bad;
            break;
        case 'o':
            if (parse_size(optarg, &v, 1) || v > 86400)
                goto bad;
            o->timeout_s = (unsigned)v;
            break;
        case 'M':
            if (parse_size(optarg, &v, 1) || v > 60000)
                goto bad;
            o->scrape_ms = (unsigned)v;
            break;
        case 'C':
            o->curve = true;
            break;
        case 'r': {
            char *end;
            o->rate = strtod(optarg, &end);
            if (*end || !(o->rate > 0) || o->rate > 1e7)
                goto bad;
            break;
        }
        case 'w': {
            o->n_workers = 0;
            char *copy = xstrdup(optarg), *save = NULL;
            for (char *tok = strtok_r(copy, ",", &save); tok;
                 tok = strtok_r(NULL, ",", &save)) {
                if (o->n_workers == MAX_WORKER_RUNS || parse_size(tok, &v, 1) ||
                    v > 16) {
                    free(copy);
                    goto bad;
                }
                o->workers[o->n_workers++] = (unsigned)v;
            }
            free(copy);
            if (!o->n_workers)
                goto bad;
            break;
        }
        case 'b': {
            o->n_batches = 0;
            char *copy = xstrdup(optarg), *save = NULL;
            for (char *tok = strtok_r(copy, ",", &save); tok;
                 tok = strtok_r(NULL, ",", &save)) {
                if (o->n_batches == MAX_BATCH_RUNS || parse_size(tok, &v, 1) ||
                    v > 4096) {
                    free(copy);
                    goto bad;
                }
                o->batches[o->n_batches++] = v;
            }
            free(copy);
            if (!o->n_batches)
                goto bad;
            break;
        }
        case 'c':
            free(o->corpus);
            o->corpus = xstrdup(optarg);
            break;
        case 'B':
            free(o->broker_bin);
            o->broker_bin = xstrdup(optarg);
            break;
        case 'K':
            free(o->worker_bin);
            o->worker_bin = xstrdup(optarg);
            break;
        case 'S':
            free(o->beanstalkd_bin);
            o->beanstalkd_bin = xstrdup(optarg);
            break;
        case 'N':
            o->no_beanstalkd = true;
            break;
        case 'T':
            free(o->tmp);
            o->tmp = xstrdup(optarg);
            break;
        case 'k':
            o->keep = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return ERR_INVAL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "bench: unexpected argument %s\n", argv[optind]);
        return ERR_INVAL;
    }
    return ERR_OK;
bad:
    fprintf(stderr, "bench: bad option value: %s\n", optarg);
    return ERR_INVAL;
}

static bool
executable(const char *path, const char *what)
{
    if (access(path, X_OK) == 0)
        return true;
    fprintf(stderr, "bench: %s not found at %s (use --%s PATH)\n", what, path,
            what);
    return false;
}

int
main(int argc, char **argv)
{
    const char *tmpenv = getenv("TMPDIR");
    opts_t o = {
        .broker_bin = sibling_path("../broker/excerpt-broker"),
        .worker_bin = sibling_path("../worker/excerpt-worker"),
        .beanstalkd_bin = xstrdup("/usr/bin/beanstalkd"),
        .corpus = default_corpus(),
        .tmp = xstrdup(tmpenv && *tmpenv ? tmpenv : "/tmp"),
        .jobs = 20000,
        .size = 4096,
        .window = 256,
        .rounds = 1,
        .workers = { 1, 2 },
        .n_workers = 2,
        .batches = { 64 },
        .n_batches = 1,
        .threads = 1,
        .timeout_s = 600,
    };
    corpus_t c = { 0 };
    void *ctx = NULL;
    int status = 1;
    static run_result_t all[MAX_ROUNDS][ROW_MAX];
    run_result_t *rows = all[0];
    size_t n_rows = 0;
    run_result_t *bs_def = NULL, *bs_f0 = NULL;

    if (parse_opts(&o, argc, argv) != ERR_OK)
        goto out;
    if (!executable(o.broker_bin, "broker"))
        goto out;
    if (!o.fill && !executable(o.worker_bin, "worker"))
        goto out;
    if (!o.fill && !o.no_beanstalkd &&
        !executable(o.beanstalkd_bin, "beanstalkd"))
        goto out;
    if (corpus_load(&c, o.corpus) != ERR_OK)
        goto out;

    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* as the broker and worker do: keep freed memory (Batch frames that
     * ZeroMQ frees in its I/O thread) instead of giving the top of the
     * heap back and faulting it in again */
    (void)mallopt(M_MMAP_THRESHOLD, 32 << 20);
    (void)mallopt(M_TRIM_THRESHOLD, 64 << 20);
    ctx = zmq_ctx_new();
    if (!ctx)
        goto out;

    memset(all, 0, sizeof all);
    if (o.fill) {
        run_result_t *r = &rows[n_rows++];
        snprintf(r->name, sizeof r->name, "excerpt fill, no workers");
        printf("fill: %zu jobs of ~%zu bytes into a fresh broker, no "
               "workers\n",
               o.fill, o.size);
        fflush(stdout);
        (void)excerpt_run(&o, &c, ctx, 0, o.fill, 0, o.batches[0], r);
        printf("\naccepted %zu jobs in %.1f s (%.0f submits/s, window "
               "%zu, batch %zu)\n",
               r->jobs, r->secs, r->jobs_per_s, o.window, o.batches[0]);
        printf("broker RssAnon at the end: %.1f MiB (peak %.1f MiB), "
               "VmHWM %.1f MiB, store %.1f MiB\n",
               r->end_anon_kb / 1024.0, r->anon_kb / 1024.0, r->hwm_kb / 1024.0,
               r->store_bytes / 1048576.0);
        status = r->ok ? 0 : 1;
        goto out;
    }

    printf("pipeline: %zu jobs of ~%zu bytes cut from %zu files in %s, "
           "window %zu, %s\n",
           o.jobs, o.size, c.n_files, o.corpus, o.window,
           o.rate > 0 ? "fixed offered rate" : "as fast as possible");
    if (o.rate > 0)
        printf("offered rate: %.0f jobs/s\n", o.rate);
    fflush(stdout);
    status = 0;
    size_t rounds_done = 0, round_rows = 0;
    for (size_t round = 0; round < o.rounds && !interrupted; round++) {
        rows = all[round];
        n_rows = 0;
        bs_def = bs_f0 = NULL;
        if (o.rounds > 1)
            fprintf(stderr, "bench: round %zu of %zu\n", round + 1, o.rounds);
        for (size_t k = 0; k < o.n_workers && !interrupted; k++) {
            for (size_t b = 0; b < o.n_batches && !interrupted; b++) {
                for (int cv = 0; cv <= (int)o.curve && !interrupted; cv++) {
                    run_result_t *r = &rows[n_rows++];
                    snprintf(r->name, sizeof r->name,
                             "excerpt %u worker%s x%u thread%s, batch %zu%s",
                             o.workers[k], o.workers[k] == 1 ? "" : "s",
                             o.threads, o.threads == 1 ? "" : "s", o.batches[b],
                             cv ? ", CURVE" : "");
                    fprintf(stderr, "bench: running %s\n", r->name);
                    opts_t ro = o;
                    ro.curve_on = cv;
                    r->curve = cv;
                    if (excerpt_run(&ro, &c, ctx, o.workers[k], o.jobs, o.rate,
                                    o.batches[b], r) != ERR_OK)
                        status = 1;
                }
            }
        }
        if (!o.no_beanstalkd && !interrupted) {
            bs_def = &rows[n_rows++];
            snprintf(bs_def->name, sizeof bs_def->name,
                     "beanstalkd -b (fsync <= 50 ms)");
            fprintf(stderr, "bench: running %s\n", bs_def->name);
            if (beanstalkd_run(&o, &c, -1, o.jobs, o.rate, bs_def) != ERR_OK)
                status = 1;
        }
        if (!o.no_beanstalkd && !interrupted) {
            bs_f0 = &rows[n_rows++];
            snprintf(bs_f0->name, sizeof bs_f0->name,
                     "beanstalkd -b -f0 (fsync each)");
            fprintf(stderr, "bench: running %s\n", bs_f0->name);
            if (beanstalkd_run(&o, &c, 0, o.jobs, o.rate, bs_f0) != ERR_OK)
                status = 1;
        }
        print_table(rows, n_rows, bs_def, bs_f0);
        if (!interrupted) {
            rounds_done++;
            round_rows = n_rows;
        }
    }
    if (rounds_done > 1)
        print_rounds(all, rounds_done, round_rows, !o.no_beanstalkd);
    if (o.curve && rounds_done)
        print_curve_cost(all, rounds_done, round_rows);
    printf("\nexcerpt: submit -> Accepted (fsynced) -> extract -> result "
           "committed (PUB Committed seen).\n"
           "batch N: at most N Submits per frame (Batch), Committed read "
           "from topic \"group\";\n"
           "batch 1: a frame per Submit, topic \"committed\" (one message "
           "per result).\n"
           "beanstalkd: put -> reserve -> delete acknowledged; no work "
           "done on the payload.\n"
           "peakRSS = server VmHWM; RssAnon = server peak anonymous "
           "memory (sampled every 100 ms).\n");
out:
    kill_children();
    if (ctx)
        zmq_ctx_term(ctx);
    corpus_free(&c);
    free(o.broker_bin);
    free(o.worker_bin);
    free(o.beanstalkd_bin);
    free(o.corpus);
    free(o.tmp);
    return status;
}
