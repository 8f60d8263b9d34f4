/*
 * excerpt run / excerpt serve: the embedded default. Forks one child that
 * runs the broker library on a data directory and N worker children (wloop)
 * connected over ipc:// sockets inside it; `run` submits files, waits for
 * every result and prints a summary, `serve` stays up until a signal.
 */
#include "cli.h"
#include "clientopt.h"

#include "../broker/broker.h"
#include "../client/client.h"
#include "../client/rjson.h"
#include "../common/cfg.h"
#include "../common/err.h"
#include "../common/log.h"
#include "../common/now.h"
#include "../common/proc.h"
#include "../common/xalloc.h"
#include "../worker/wloop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 64
#define START_TIMEOUT_MS 20000
#define STOP_TIMEOUT_MS 15000
#define RUN_WINDOW 256 /* Submits in flight: acks wait for an fsync */
/* sun_path holds 108 bytes */
#define MAX_IPC_PATH 100
#define TOP_ENTITIES 5
/* inputs read and submitted at a time */
#define SUBMIT_CHUNK 256

typedef struct run_args {
    const char *data_dir;  /* --data-dir */
    int64_t workers;       /* --workers: worker processes */
    int64_t threads;       /* --threads: extraction threads per worker */
    bool json;             /* --json */
    bool quiet;            /* --quiet: only the total line */
    int64_t deadline_s;    /* --deadline */
    const char *frontend;  /* --frontend */
    const char *backend;   /* --backend */
    const char *publisher; /* --publisher */
    const char *map_limit; /* --map-limit */
} run_args_t;

typedef struct child {
    pid_t pid;     /* 0 once reaped */
    char name[32]; /* "broker" or "worker N" */
} child_t;

typedef struct fleet {
    child_t kids[MAX_WORKERS + 1]; /* [0] is the broker */
    int n;                         /* children started */
    char dir[PATH_MAX];            /* absolute data dir */
    char frontend[PATH_MAX + 32];  /* endpoints */
    char backend[PATH_MAX + 32];
    char publisher[PATH_MAX + 32];
    int lock_fd; /* flock on DIR/run.lock, or -1 */
} fleet_t;

/* ------------------------------------------------ signals (per process) */

static volatile sig_atomic_t g_stop; /* parent: SIGINT/SIGTERM seen */
static broker_t *volatile g_broker;  /* broker child: what to stop */
static wloop_t *volatile g_wloop;    /* worker child: what to stop */

static void
on_stop_signal(int sig)
{
    (void)sig;
    g_stop = 1;
    if (g_broker)
        broker_request_stop(g_broker);
    if (g_wloop)
        wloop_request_stop(g_wloop);
}

/* SIGPIPE keeps its default: the CLI's stdout may be a closed pipe. */
static int
install_stop_handlers(void)
{
    const proc_signals_t sigs = { .on_stop = on_stop_signal };
    return proc_install_signals(&sigs);
}

/* ---------------------------------------------------------- children */

static int
set_key(const cfg_entry_t *tab, size_t n, void *obj, const char *key,
        const char *value)
{
    int rc = cfg_set(tab, n, obj, key, value, "excerpt run");
    if (rc)
        fprintf(stderr, "excerpt: cannot set %s = %s: %s\n", key, value,
                err_str(rc));
    return rc;
}

/* In a fresh child: die with the parent, even if it already died. */
static void
child_setup(pid_t parent)
{
    (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(1);
    if (install_stop_handlers())
        _exit(1);
}

static void
broker_child(const fleet_t *f, const run_args_t *a)
{
    broker_cfg_t cfg;
    broker_t *b = NULL;
    int rc = broker_cfg_defaults(&cfg);
    if (!rc)
        rc = set_key(broker_cfg_table, broker_cfg_table_len, &cfg, "data-dir",
                     f->dir);
    if (!rc)
        rc = set_key(broker_cfg_table, broker_cfg_table_len, &cfg, "frontend",
                     f->frontend);
    if (!rc)
        rc = set_key(broker_cfg_table, broker_cfg_table_len, &cfg, "backend",
                     f->backend);
    if (!rc)
        rc = set_key(broker_cfg_table, broker_cfg_table_len, &cfg, "publisher",
                     f->publisher);
    if (!rc && a->map_limit)
        rc = set_key(broker_cfg_table, broker_cfg_table_len, &cfg, "map-limit",
                     a->map_limit);
    if (!rc)
        rc = broker_open(&b, &cfg);
    if (!rc) {
        g_broker = b;
        if (g_stop)
            broker_request_stop(b);
        rc = broker_run(b);
        g_broker = NULL;
    }
    broker_destroy(&b);
    broker_cfg_free(&cfg);
    fflush(NULL);
    _exit(rc ? 1 : 0);
}

static void
worker_child(const fleet_t *f, const run_args_t *a, int index)
{
    wloop_cfg_t cfg;
    wloop_t *w = NULL;
    char num[32], name[64];
    snprintf(num, sizeof num, "%d", (int)a->threads);
    snprintf(name, sizeof name, "run-worker-%d:%d", index, (int)getpid());
    int rc = wloop_cfg_defaults(&cfg);
    if (!rc)
        rc = set_key(wloop_cfg_table, wloop_cfg_table_len, &cfg, "broker",
                     f->backend);
    if (!rc)
        rc =
            set_key(wloop_cfg_table, wloop_cfg_table_len, &cfg, "threads", num);
    if (!rc)
        rc = set_key(wloop_cfg_table, wloop_cfg_table_len, &cfg, "name", name);
    if (!rc)
        rc = wloop_open(&w, &cfg);
    if (!rc) {
        g_wloop = w;
        if (g_stop)
            wloop_request_stop(w);
        rc = wloop_run(w);
        g_wloop = NULL;
    }
    wloop_destroy(&w);
    wloop_cfg_free(&cfg);
    fflush(NULL);
    _exit(rc ? 1 : 0);
}

static void
describe_status(int status, char *buf, size_t n)
{
    if (WIFEXITED(status))
        snprintf(buf, n, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, n, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, n, "stopped (status %#x)", status);
}

/* Reap children that ended. Returns the first one that ended, or NULL;
 * a message is printed for each. */
static child_t *
fleet_reap(fleet_t *f)
{
    child_t *first = NULL;
    for (int i = 0; i < f->n; i++) {
        child_t *k = &f->kids[i];
        if (!k->pid)
            continue;
        int st = 0;
        pid_t r = waitpid(k->pid, &st, WNOHANG);
        if (r != k->pid)
            continue;
        char how[96];
        describe_status(st, how, sizeof how);
        fprintf(stderr, "excerpt: %s (pid %d) %s\n", k->name, (int)k->pid, how);
        k->pid = 0;
        if (!first)
            first = k;
    }
    return first;
}

static pid_t
spawn(fleet_t *f, const run_args_t *a, int index)
{
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "excerpt: fork failed: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        child_setup(parent);
        if (index == 0)
            broker_child(f, a);
        else
            worker_child(f, a, index);
        _exit(1);
    }
    child_t *k = &f->kids[f->n++];
    k->pid = pid;
    if (index == 0)
        snprintf(k->name, sizeof k->name, "broker");
    else
        snprintf(k->name, sizeof k->name, "worker %d", index);
    return pid;
}

/* Wait up to ms for the children from..to-1 to exit; SIGKILL the rest. */
static void
wait_group(fleet_t *f, int from, int to, uint64_t ms)
{
    uint64_t deadline = now_mono_ms() + ms;
    for (;;) {
        bool alive = false;
        for (int i = from; i < to; i++) {
            child_t *k = &f->kids[i];
            if (!k->pid)
                continue;
            int st = 0;
            pid_t r = waitpid(k->pid, &st, WNOHANG);
            if (r == k->pid || (r < 0 && errno == ECHILD)) {
                if (r == k->pid && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
                    char how[96];
                    describe_status(st, how, sizeof how);
                    fprintf(stderr, "excerpt: %s (pid %d) %s\n", k->name,
                            (int)k->pid, how);
                }
                k->pid = 0;
            } else {
                alive = true;
            }
        }
        if (!alive)
            return;
        if (now_mono_ms() >= deadline)
            break;
        struct timespec ts = { 0, 10 * 1000000L };
        nanosleep(&ts, NULL);
    }
    for (int i = from; i < to; i++) {
        child_t *k = &f->kids[i];
        if (!k->pid)
            continue;
        fprintf(stderr,
                "excerpt: %s (pid %d) did not stop in time, "
                "killing it\n",
                k->name, (int)k->pid);
        kill(k->pid, SIGKILL);
        (void)waitpid(k->pid, NULL, 0);
        k->pid = 0;
    }
}

/* Stop the workers first (they drain into the broker), then the broker. */
static void
fleet_stop(fleet_t *f)
{
    for (int i = 1; i < f->n; i++)
        if (f->kids[i].pid)
            kill(f->kids[i].pid, SIGTERM);
    wait_group(f, 1, f->n, STOP_TIMEOUT_MS);
    if (f->n > 0 && f->kids[0].pid)
        kill(f->kids[0].pid, SIGTERM);
    wait_group(f, 0, f->n ? 1 : 0, STOP_TIMEOUT_MS);
}

static int
mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return ERR_INVAL;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return ERR_IO;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return ERR_IO;
    return ERR_OK;
}

/* True when a process accepts connections on the unix socket path. */
static bool
socket_answers(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path)
        return false;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

static int
fleet_prepare(fleet_t *f, const run_args_t *a, const char *prefix)
{
    if (mkdir_p(a->data_dir) || !realpath(a->data_dir, f->dir)) {
        fprintf(stderr, "%s: cannot create data directory %s: %s\n", prefix,
                a->data_dir, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    struct stat st;
    if (stat(f->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: %s is not a directory\n", prefix, f->dir);
        return CLI_EXIT_USAGE;
    }
    /* one run/serve per data dir: a second broker on the same store would
     * take over its sockets */
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/run.lock", f->dir);
    f->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f->lock_fd < 0 || flock(f->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr,
                "%s: %s is in use by another `excerpt run` or `excerpt "
                "serve`; use `excerpt submit --data-dir %s` to add work "
                "to it, or another --data-dir\n",
                prefix, f->dir, a->data_dir);
        return CLI_EXIT_FAIL;
    }
    snprintf(path, sizeof path, "%s/frontend.sock", f->dir);
    if (socket_answers(path)) {
        fprintf(stderr,
                "%s: a broker is already listening on %s; use `excerpt "
                "submit --data-dir %s` or stop it first\n",
                prefix, path, a->data_dir);
        return CLI_EXIT_FAIL;
    }
    if (!a->frontend || !a->backend || !a->publisher) {
        if (strlen(f->dir) + sizeof "/frontend.sock" > MAX_IPC_PATH) {
            fprintf(stderr,
                    "%s: data directory path %s is too long for ipc "
                    "sockets; use a shorter --data-dir or give --frontend, "
                    "--backend and --publisher\n",
                    prefix, f->dir);
            return CLI_EXIT_USAGE;
        }
    }
    snprintf(f->frontend, sizeof f->frontend, "%s",
             a->frontend ? a->frontend : "");
    if (!a->frontend)
        snprintf(f->frontend, sizeof f->frontend, "ipc://%s/frontend.sock",
                 f->dir);
    if (a->backend)
        snprintf(f->backend, sizeof f->backend, "%s", a->backend);
    else
        snprintf(f->backend, sizeof f->backend, "ipc://%s/backend.sock",
                 f->dir);
    if (a->publisher)
        snprintf(f->publisher, sizeof f->publisher, "%s", a->publisher);
    else
        snprintf(f->publisher, sizeof f->publisher, "ipc://%s/pub.sock",
                 f->dir);
    return CLI_EXIT_OK;
}

/* Fork the broker and the workers, then wait until the broker answers.
 * On success *cp is a client connected to the frontend. */
static int
fleet_start(fleet_t *f, const run_args_t *a, const char *prefix, client_t **cp)
{
    if (install_stop_handlers())
        return CLI_EXIT_FAIL;
    if (spawn(f, a, 0) < 0)
        return CLI_EXIT_FAIL;
    for (int i = 1; i <= a->workers; i++)
        if (spawn(f, a, i) < 0)
            return CLI_EXIT_FAIL;
    client_opts_t probe = { .timeout_ms = 250, .retries_set = true };
    client_t *c = NULL;
    if (client_open(&c, f->frontend, &probe)) {
        fprintf(stderr, "%s: bad frontend endpoint %s\n", prefix, f->frontend);
        return CLI_EXIT_USAGE;
    }
    uint64_t deadline = now_mono_ms() + START_TIMEOUT_MS;
    wire_stats_t st;
    int rc = ERR_TIMEOUT;
    while (!g_stop && now_mono_ms() < deadline) {
        if (fleet_reap(f)) {
            fprintf(stderr,
                    "%s: a child process ended during startup; see "
                    "the messages above\n",
                    prefix);
            client_destroy(&c);
            return CLI_EXIT_FAIL;
        }
        rc = client_stats(c, &st);
        if (rc != ERR_TIMEOUT)
            break;
    }
    client_destroy(&c);
    if (g_stop)
        return CLI_EXIT_FAIL;
    if (rc) {
        fprintf(stderr, "%s: the broker did not answer on %s within %d s\n",
                prefix, f->frontend, START_TIMEOUT_MS / 1000);
        return CLI_EXIT_UNAVAIL;
    }
    if (client_open(cp, f->frontend, NULL)) {
        fprintf(stderr, "%s: cannot connect to %s\n", prefix, f->frontend);
        return CLI_EXIT_UNAVAIL;
    }
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------- inputs */

typedef struct input {
    char *path;                /* file path */
    char *text;                /* contents */
    size_t len;                /* bytes */
    char key[CLIENT_KEY_SIZE]; /* default idempotency key */
    int rc;                    /* submit status */
    char reason[256];          /* refusal reason */
    uint64_t job_id;           /* accepted job */
    bool duplicate;            /* existed already */
    bool readable;             /* read and submitted */
    bool finished;             /* DONE or DEAD */
    bool dead;                 /* dead-lettered */
} input_t;

typedef struct inputs {
    input_t *v; /* inputs in order */
    size_t n;   /* count */
    size_t cap; /* allocated */
} inputs_t;

static void
add_input(inputs_t *in, char *path)
{
    if (in->n == in->cap) {
        in->cap = in->cap ? in->cap * 2 : 16;
        in->v = xreallocarray(in->v, in->cap, sizeof *in->v);
    }
    memset(&in->v[in->n], 0, sizeof in->v[in->n]);
    in->v[in->n++].path = path;
}

static int
collect(inputs_t *in, const char *path)
{
    char **paths = NULL;
    size_t n = 0, cap = 0;
    int rc = cli_collect_inputs("excerpt run", path, &paths, &n, &cap);
    for (size_t i = 0; i < n; i++)
        add_input(in, paths[i]); /* takes the string */
    free(paths);
    return rc;
}

static void
inputs_free(inputs_t *in)
{
    for (size_t i = 0; i < in->n; i++) {
        free(in->v[i].path);
        free(in->v[i].text);
    }
    free(in->v);
    memset(in, 0, sizeof *in);
}

static const char *
samples_dir(void)
{
    static const char *const dirs[] = { EXCERPT_SAMPLES_DIR,
                                        EXCERPT_INSTALLED_SAMPLES_DIR };
    for (size_t i = 0; i < 2; i++) {
        struct stat st;
        if (stat(dirs[i], &st) == 0 && S_ISDIR(st.st_mode))
            return dirs[i];
    }
    return NULL;
}

/* ------------------------------------------------------------ submit */

typedef struct submit_ctx {
    inputs_t *in; /* the inputs */
    size_t *map;  /* batch index -> input index */
} submit_ctx_t;

static void
on_submitted(void *ud, size_t index, int rc, uint64_t job_id, bool dup,
             const char *reason)
{
    submit_ctx_t *sc = ud;
    input_t *x = &sc->in->v[sc->map[index]];
    x->rc = rc;
    x->job_id = job_id;
    x->duplicate = dup;
    snprintf(x->reason, sizeof x->reason, "%s", reason ? reason : "");
}

/*
 * Read and submit the inputs in chunks (bounded memory; texts are freed
 * once accepted), checking between chunks that the children are alive.
 * Returns the number accepted; *rcp gets ERR_CLOSED when a child died or a
 * signal came, else 0.
 */
static size_t
submit_all(client_t *c, fleet_t *f, inputs_t *in, double *mb, int *rcp)
{
    wire_job_t *jobs = xcalloc(SUBMIT_CHUNK, sizeof *jobs);
    size_t map[SUBMIT_CHUNK];
    size_t bytes = 0, next = 0;
    *rcp = ERR_OK;
    while (next < in->n) {
        if (g_stop || fleet_reap(f)) {
            fprintf(stderr, "excerpt run: %s; stopping\n",
                    g_stop ? "interrupted" : "a child process died");
            *rcp = ERR_CLOSED;
            break;
        }
        size_t m = 0, first = next;
        for (; next < in->n && m < SUBMIT_CHUNK; next++) {
            input_t *x = &in->v[next];
            if (cli_read_file(x->path, WIRE_MAX_TEXT, &x->text, &x->len)) {
                x->rc = ERR_IO;
                snprintf(x->reason, sizeof x->reason, "cannot read");
                continue;
            }
            x->readable = true;
            client_default_key(x->text, x->len, x->key);
            jobs[m] = (wire_job_t){ .text = x->text,
                                    .text_len = x->len,
                                    .key = x->key,
                                    .source_url = x->path };
            bytes += x->len;
            map[m++] = next;
        }
        submit_ctx_t sc = { .in = in, .map = map };
        int rc = client_submit_many(c, jobs, m, RUN_WINDOW, on_submitted, &sc);
        if (rc)
            fprintf(stderr, "excerpt run: submitting failed: %s\n",
                    err_str(rc));
        for (size_t i = first; i < next; i++) {
            free(in->v[i].text);
            in->v[i].text = NULL;
        }
    }
    free(jobs);
    *mb = (double)bytes / 1e6;
    size_t ok = 0;
    for (size_t i = 0; i < in->n && !*rcp; i++) {
        input_t *x = &in->v[i];
        if (x->rc == 0 && x->readable)
            ok++;
        else
            fprintf(stderr, "excerpt run: %s: %s%s%s\n", x->path,
                    err_str(x->rc), *x->reason ? ": " : "", x->reason);
    }
    return ok;
}

/* ----------------------------------------------------------- summary */

static int
cmp_mentions(const void *a, const void *b)
{
    const result_entity_t *x = *(const result_entity_t *const *)a;
    const result_entity_t *y = *(const result_entity_t *const *)b;
    if (x->n_mentions != y->n_mentions)
        return x->n_mentions > y->n_mentions ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void
print_summary(const input_t *x, const result_t *r)
{
    printf("== %s  (job %llu%s)\n", x->path, (unsigned long long)x->job_id,
           x->duplicate ? ", from an earlier run" : "");
    printf("   speakers: ");
    if (!r->n_speakers)
        printf("none found");
    for (size_t i = 0; i < r->n_speakers; i++) {
        const result_speaker_t *s = &r->speakers[i];
        printf("%s%s", i ? "; " : "", s->name);
        if (s->title && *s->title)
            printf(" (%s)", s->title);
        printf(" %u turn%s", s->turns, s->turns == 1 ? "" : "s");
    }
    printf("\n   entities: %zu", r->n_entities);
    if (r->n_entities) {
        const result_entity_t **top = xcalloc(r->n_entities, sizeof *top);
        for (size_t i = 0; i < r->n_entities; i++)
            top[i] = &r->entities[i];
        qsort(top, r->n_entities, sizeof *top, cmp_mentions);
        printf(", top:");
        for (size_t i = 0; i < r->n_entities && i < TOP_ENTITIES; i++)
            printf("%s %s [%s x%zu]", i ? "," : "", top[i]->name,
                   result_entity_type_name(top[i]->type), top[i]->n_mentions);
        free(top);
    }
    size_t by_type[8] = { 0 };
    for (size_t i = 0; i < r->n_figures; i++)
        if (r->figures[i].type >= 1 && r->figures[i].type <= 7)
            by_type[r->figures[i].type]++;
    printf("\n   figures: %zu", r->n_figures);
    bool first = true;
    for (int t = 1; t <= 7; t++)
        if (by_type[t]) {
            printf("%s%zu %s", first ? " (" : ", ", by_type[t],
                   result_figure_type_name(t));
            first = false;
        }
    printf("%s\n", first ? "" : ")");
}

/* ------------------------------------------------------------- wait */

/* Mark inputs whose jobs are DONE or DEAD, asking the broker by id. */
static int
poll_jobs(client_t *c, inputs_t *in, size_t *left)
{
    *left = 0;
    for (size_t i = 0; i < in->n; i++) {
        input_t *x = &in->v[i];
        if (x->rc || !x->readable || x->finished)
            continue;
        wire_msg_t rep;
        int rc = client_get(c, x->job_id, NULL, false, &rep, NULL);
        if (rc)
            return rc;
        int st = rep.u.get_reply.job.state;
        if (st == WIRE_JOB_DONE || st == WIRE_JOB_DEAD) {
            x->finished = true;
            x->dead = st == WIRE_JOB_DEAD;
            if (x->dead)
                snprintf(x->reason, sizeof x->reason, "%s",
                         rep.u.get_reply.job.last_error
                             ? rep.u.get_reply.job.last_error
                             : "");
        } else {
            (*left)++;
        }
        wire_msg_release(&rep);
    }
    return ERR_OK;
}

typedef struct job_ref {
    uint64_t job_id; /* accepted job */
    input_t *input;  /* its input */
} job_ref_t;

static int
cmp_ref(const void *a, const void *b)
{
    uint64_t x = ((const job_ref_t *)a)->job_id;
    uint64_t y = ((const job_ref_t *)b)->job_id;
    return x < y ? -1 : x > y;
}

/*
 * Wait until every accepted job is DONE or DEAD: follow the change log
 * with Since from after_seq (one request per batch of commits), and ask
 * for each remaining job at the start and whenever the broker's dead
 * letter count grows (Since shows only results).
 */
static int
wait_all(client_t *c, fleet_t *f, inputs_t *in, uint64_t after_seq,
         uint64_t dead0, uint64_t deadline_ms)
{
    job_ref_t *refs = xcalloc(in->n ? in->n : 1, sizeof *refs);
    size_t nrefs = 0;
    for (size_t i = 0; i < in->n; i++)
        if (!in->v[i].rc && in->v[i].readable)
            refs[nrefs++] = (job_ref_t){ in->v[i].job_id, &in->v[i] };
    qsort(refs, nrefs, sizeof *refs, cmp_ref);
    size_t left = 0;
    int rc = poll_jobs(c, in, &left);
    uint64_t next_stats = now_mono_ms() + 500;
    while (!rc && left) {
        if (g_stop) {
            fprintf(stderr, "excerpt run: interrupted\n");
            rc = ERR_CLOSED;
            goto out;
        }
        if (fleet_reap(f)) {
            fprintf(stderr, "excerpt run: a child process died; stopping "
                            "(the data directory keeps every accepted job)\n");
            rc = ERR_CLOSED;
            goto out;
        }
        if (now_mono_ms() >= deadline_ms) {
            fprintf(stderr,
                    "excerpt run: %zu job%s not finished before the "
                    "deadline\n",
                    left, left == 1 ? "" : "s");
            rc = ERR_TIMEOUT;
            goto out;
        }
        wire_msg_t rep;
        rc = client_since(c, after_seq, WIRE_MAX_BATCH, false, &rep);
        if (rc)
            break;
        size_t n = rep.u.since_reply.n;
        for (size_t i = 0; i < n; i++) {
            const wire_committed_t *it = &rep.u.since_reply.items[i];
            job_ref_t key = { .job_id = it->job_id };
            job_ref_t *r = bsearch(&key, refs, nrefs, sizeof *refs, cmp_ref);
            if (r && !r->input->finished) {
                r->input->finished = true;
                left--;
            }
            if (it->seq > after_seq)
                after_seq = it->seq;
        }
        wire_msg_release(&rep);
        if (now_mono_ms() >= next_stats) {
            wire_stats_t st;
            rc = client_stats(c, &st);
            if (!rc && st.dead > dead0) {
                dead0 = st.dead;
                rc = poll_jobs(c, in, &left);
            }
            next_stats = now_mono_ms() + 500;
        }
        if (!n && left) {
            struct timespec ts = { 0, 10 * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    if (rc)
        fprintf(stderr, "excerpt run: lost the broker: %s\n",
                *client_last_error(c) ? client_last_error(c) : err_str(rc));
out:
    free(refs);
    return rc;
}

static int
report(client_t *c, inputs_t *in, const run_args_t *a)
{
    int status = CLI_EXIT_OK;
    for (size_t i = 0; i < in->n; i++) {
        input_t *x = &in->v[i];
        if (x->rc || !x->readable) {
            status = CLI_EXIT_FAIL;
            continue;
        }
        if (x->dead) {
            fprintf(stderr, "excerpt run: %s: job %llu dead-lettered: %s\n",
                    x->path, (unsigned long long)x->job_id, x->reason);
            status = CLI_EXIT_FAIL;
            continue;
        }
        wire_msg_t rep;
        result_t *r = NULL;
        int rc = client_get(c, x->job_id, NULL, false, &rep, &r);
        if (rc || !r) {
            fprintf(stderr, "excerpt run: %s: no result for job %llu: %s\n",
                    x->path, (unsigned long long)x->job_id,
                    rc ? client_last_error(c) : "not done");
            if (!rc)
                wire_msg_release(&rep);
            status = rc ? clientopt_exit_code(rc) : CLI_EXIT_FAIL;
            continue;
        }
        if (a->json) {
            if (rjson_write_line(r, x->path, stdout))
                status = CLI_EXIT_FAIL;
        } else if (!a->quiet) {
            print_summary(x, r);
        }
        result_destroy(&r);
        wire_msg_release(&rep);
    }
    return status;
}

/* ------------------------------------------------------------ flags */

#define OFF(f) offsetof(run_args_t, f)
/* Flags of both run and serve: where the fleet lives and its size. */
static const cfg_entry_t fleet_table[] = {
    { "data-dir", CFG_STRING, OFF(data_dir), CLIENTOPT_DATA_DIR, 1, 0,
      "D\tstore and sockets" },
    { "workers", CFG_INT, OFF(workers), "2", 0, MAX_WORKERS,
      "N\tworker processes" },
    { "threads", CFG_INT, OFF(threads), "1", 1, MAX_WORKERS,
      "T\textraction threads per worker" },
    { "frontend", CFG_STRING, OFF(frontend), NULL, 1, 0,
      "E\tclient endpoint (default ipc://D/frontend.sock)" },
    { "backend", CFG_STRING, OFF(backend), NULL, 1, 0,
      "E\tworker endpoint (default ipc://D/backend.sock)" },
    { "publisher", CFG_STRING, OFF(publisher), NULL, 1, 0,
      "E\tPUB endpoint (default ipc://D/pub.sock)" },
    { "map-limit", CFG_STRING, OFF(map_limit), NULL, 1, 0,
      "SZ\tlargest store size (e.g. 4G)" },
};
#define N_FLEET (sizeof fleet_table / sizeof fleet_table[0])

/* Flags of run only: how it reports and how long it waits. */
static const cfg_entry_t run_table[] = {
    { "json", CFG_BOOL, OFF(json), NULL, 0, 0,
      "results as JSON Lines instead of the summary" },
    { "quiet", CFG_BOOL, OFF(quiet), NULL, 0, 0, "only the total line" },
    { "deadline", CFG_INT, OFF(deadline_s), "600", 1, 86400,
      "SECS\tgive up waiting after SECS" },
};
#define N_RUN (sizeof run_table / sizeof run_table[0])

static void
usage_run(FILE *out)
{
    fprintf(out, "usage: excerpt run [FLAGS] [FILE|DIR...]\n"
                 "Start a broker, workers and the store on this machine, "
                 "submit the\ninputs (every *.txt of a DIR; the bundled "
                 "samples when none are\ngiven), wait for every result and "
                 "print what was extracted, then\nstop. Running again on the "
                 "same data directory reuses the results\nof transcripts "
                 "seen before.\n\n");
    cfg_group_t g[] = { { fleet_table, N_FLEET, NULL, 0 },
                        { run_table, N_RUN, NULL, 0 } };
    cfg_cli_usage(g, 2, out);
    fprintf(out, "\nExit: 0 every input extracted, 1 some failed or a child "
                 "process\ndied, 2 usage, 3 the broker did not start.\n");
}

static void
usage_serve(FILE *out)
{
    fprintf(out, "usage: excerpt serve [FLAGS]\n"
                 "Run the broker (store in the data directory) and local "
                 "workers\nuntil SIGTERM or SIGINT. Other processes submit "
                 "with\n`excerpt submit --data-dir D` or over --frontend; "
                 "more workers\ncan join with `excerpt-worker --broker "
                 "BACKEND`.\n\n");
    cfg_group_t g = { fleet_table, N_FLEET, NULL, 0 };
    cfg_cli_usage(&g, 1, out);
    fprintf(out, "\nExit: 0 after a clean stop, 1 a child process "
                 "died, 2 usage.\n");
}

/* Parse run's or serve's flags into a; run's inputs are cli's positional
 * arguments (free cli in every case). Returns an exit code; CLI_EXIT_OK
 * with cli->help set when usage was printed. */
static int
parse_args(int argc, char **argv, bool serve, run_args_t *a, cfg_cli_t *cli)
{
    cfg_group_t g[] = { { fleet_table, N_FLEET, a, 0 },
                        { run_table, N_RUN, a, 0 } };
    memset(a, 0, sizeof *a);
    cli->prog = serve ? "excerpt serve" : "excerpt run";
    cli->flags_first = true;
    cli->max_pos = serve ? 0 : -1;
    int status = cli_parse_flags(g, serve ? 1 : 2, argc, argv, cli,
                                 serve ? usage_serve : usage_run);
    if (status || cli->help)
        return status;
    if (!serve && a->workers == 0) {
        fprintf(stderr,
                "%s: --workers 0 would never finish; use `excerpt "
                "serve --workers 0` for a broker alone\n",
                cli->prog);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* ----------------------------------------------------------- commands */

int
cmd_run(int argc, char **argv)
{
    run_args_t a;
    cfg_cli_t cli = { 0 };
    int status = parse_args(argc, argv, false, &a, &cli);
    if (status || cli.help) {
        cfg_cli_free(&cli);
        return status;
    }
    inputs_t in = { 0 };
    if (cli.n_pos == 0) {
        const char *dir = samples_dir();
        if (!dir) {
            fprintf(stderr,
                    "excerpt run: no input given and no bundled "
                    "samples found (looked in %s and %s)\n",
                    EXCERPT_SAMPLES_DIR, EXCERPT_INSTALLED_SAMPLES_DIR);
            cfg_cli_free(&cli);
            return CLI_EXIT_USAGE;
        }
        fprintf(stderr,
                "excerpt run: no input given, using the samples in "
                "%s\n",
                dir);
        if (collect(&in, dir))
            status = CLI_EXIT_USAGE;
    }
    for (int i = 0; i < cli.n_pos; i++)
        if (collect(&in, cli.pos[i]))
            status = CLI_EXIT_USAGE;
    cfg_cli_free(&cli);
    if (!status && in.n == 0) {
        fprintf(stderr, "excerpt run: nothing to do\n");
        status = CLI_EXIT_USAGE;
    }
    fleet_t *f = xcalloc(1, sizeof *f);
    f->lock_fd = -1;
    client_t *c = NULL;
    if (!status)
        status = fleet_prepare(f, &a, "excerpt run");
    if (!status)
        status = fleet_start(f, &a, "excerpt run", &c);
    if (!status) {
        wire_stats_t st0;
        int rc = client_stats(c, &st0);
        uint64_t t0 = now_mono_us();
        double mb = 0;
        size_t accepted = 0;
        if (rc)
            fprintf(stderr, "excerpt run: the broker stopped answering: %s\n",
                    client_last_error(c));
        else
            accepted = submit_all(c, f, &in, &mb, &rc);
        if (!rc)
            rc = wait_all(c, f, &in, st0.last_seq, st0.dead,
                          now_mono_ms() + (uint64_t)a.deadline_s * 1000);
        double secs = (double)(now_mono_us() - t0) / 1e6;
        if (rc) {
            status =
                rc == ERR_TIMEOUT ? CLI_EXIT_FAIL : clientopt_exit_code(rc);
            if (status == CLI_EXIT_UNAVAIL || status == CLI_EXIT_NOTFOUND)
                status = CLI_EXIT_FAIL;
        } else {
            status = report(c, &in, &a);
            size_t reused = 0;
            for (size_t i = 0; i < in.n; i++)
                reused += in.v[i].duplicate && !in.v[i].rc;
            fprintf(a.json ? stderr : stdout,
                    "%zu document%s (%zu accepted, %zu from earlier runs), "
                    "%.2f MB in %.2f s, %.1f jobs/s, data in %s\n",
                    in.n, in.n == 1 ? "" : "s", accepted, reused, mb, secs,
                    secs > 0 ? (double)accepted / secs : 0.0, f->dir);
        }
        if (accepted < in.n && status == CLI_EXIT_OK)
            status = CLI_EXIT_FAIL;
    }
    client_destroy(&c);
    fflush(stdout);
    fleet_stop(f);
    if (f->lock_fd >= 0)
        close(f->lock_fd);
    free(f);
    inputs_free(&in);
    if (fflush(stdout) != 0 && status == CLI_EXIT_OK)
        status = CLI_EXIT_FAIL;
    return status;
}

int
cmd_serve(int argc, char **argv)
{
    run_args_t a;
    cfg_cli_t cli = { 0 };
    int status = parse_args(argc, argv, true, &a, &cli);
    cfg_cli_free(&cli);
    if (status || cli.help)
        return status;
    fleet_t *f = xcalloc(1, sizeof *f);
    f->lock_fd = -1;
    client_t *c = NULL;
    status = fleet_prepare(f, &a, "excerpt serve");
    if (!status)
        status = fleet_start(f, &a, "excerpt serve", &c);
    if (status && g_stop) {
        /* SIGTERM/SIGINT is how serve is stopped, also while it starts */
        fprintf(stderr, "excerpt serve: stopped by a signal while starting\n");
        status = CLI_EXIT_OK;
    } else if (!status) {
        fprintf(stderr,
                "excerpt serve: broker up with %d worker%s, data in %s\n"
                "  frontend  %s\n  backend   %s\n  publisher %s\n"
                "SIGINT or SIGTERM stops it.\n",
                (int)a.workers, a.workers == 1 ? "" : "s", f->dir, f->frontend,
                f->backend, f->publisher);
        client_destroy(&c);
        while (!g_stop) {
            if (fleet_reap(f)) {
                fprintf(stderr, "excerpt serve: a child process died; "
                                "stopping\n");
                status = CLI_EXIT_FAIL;
                break;
            }
            struct timespec ts = { 0, 100 * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    client_destroy(&c);
    fleet_stop(f);
    if (f->lock_fd >= 0)
        close(f->lock_fd);
    free(f);
    return status;
}
