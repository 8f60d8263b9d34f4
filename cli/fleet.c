/*
 * fleet: the process supervisor of `excerpt run` and `excerpt serve`.
 * Forks one child that runs the broker library on a data directory and N
 * worker children (wloop) connected over ipc:// sockets inside it, holds
 * the data dir's run.lock, handles SIGTERM/SIGINT in parent and children,
 * reaps and reports children, and stops workers before the broker.
 */
#include "fleet.h"

#include "cli.h"
#include "clientopt.h"

#include "../broker/broker.h"
#include "../common/err.h"
#include "../common/now.h"
#include "../common/proc.h"
#include "../common/xalloc.h"
#include "../worker/wloop.h"

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

#define START_TIMEOUT_MS 20000
#define STOP_TIMEOUT_MS 15000
/* sun_path holds 108 bytes */
#define MAX_IPC_PATH 100

#define OFF(f) offsetof(fleet_opts_t, f)
/* Flags of both run and serve: where the fleet lives and its size. */
const cfg_entry_t fleet_table[] = {
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
const size_t fleet_table_len = sizeof fleet_table / sizeof fleet_table[0];

typedef struct child {
    pid_t pid;     /* 0 once reaped */
    char name[32]; /* "broker" or "worker N" */
} child_t;

struct fleet {
    fleet_opts_t o;                /* as given to fleet_open */
    child_t kids[MAX_WORKERS + 1]; /* [0] is the broker */
    int n;                         /* children started */
    char dir[PATH_MAX];            /* absolute data dir */
    char frontend[PATH_MAX + 32];  /* endpoints */
    char backend[PATH_MAX + 32];
    char publisher[PATH_MAX + 32];
    int lock_fd; /* flock on DIR/run.lock, or -1 */
};

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
broker_child(const fleet_t *f)
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
    if (!rc && f->o.map_limit)
        rc = set_key(broker_cfg_table, broker_cfg_table_len, &cfg, "map-limit",
                     f->o.map_limit);
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
worker_child(const fleet_t *f, int index)
{
    wloop_cfg_t cfg;
    wloop_t *w = NULL;
    char num[32], name[64];
    snprintf(num, sizeof num, "%d", (int)f->o.threads);
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
reap(fleet_t *f)
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
spawn(fleet_t *f, int index)
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
            broker_child(f);
        else
            worker_child(f, index);
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
stop_all(fleet_t *f)
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
prepare(fleet_t *f, const char *prefix)
{
    if (mkdir_p(f->o.data_dir) || !realpath(f->o.data_dir, f->dir)) {
        fprintf(stderr, "%s: cannot create data directory %s: %s\n", prefix,
                f->o.data_dir, strerror(errno));
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
                prefix, f->dir, f->o.data_dir);
        return CLI_EXIT_FAIL;
    }
    snprintf(path, sizeof path, "%s/frontend.sock", f->dir);
    if (socket_answers(path)) {
        fprintf(stderr,
                "%s: a broker is already listening on %s; use `excerpt "
                "submit --data-dir %s` or stop it first\n",
                prefix, path, f->o.data_dir);
        return CLI_EXIT_FAIL;
    }
    if (!f->o.frontend || !f->o.backend || !f->o.publisher) {
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
             f->o.frontend ? f->o.frontend : "");
    if (!f->o.frontend)
        snprintf(f->frontend, sizeof f->frontend, "ipc://%s/frontend.sock",
                 f->dir);
    if (f->o.backend)
        snprintf(f->backend, sizeof f->backend, "%s", f->o.backend);
    else
        snprintf(f->backend, sizeof f->backend, "ipc://%s/backend.sock",
                 f->dir);
    if (f->o.publisher)
        snprintf(f->publisher, sizeof f->publisher, "%s", f->o.publisher);
    else
        snprintf(f->publisher, sizeof f->publisher, "ipc://%s/pub.sock",
                 f->dir);
    return CLI_EXIT_OK;
}

int
fleet_start(fleet_t *f, const char *prefix, client_t **cp)
{
    if (install_stop_handlers())
        return CLI_EXIT_FAIL;
    if (spawn(f, 0) < 0)
        return CLI_EXIT_FAIL;
    for (int i = 1; i <= f->o.workers; i++)
        if (spawn(f, i) < 0)
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
        if (reap(f)) {
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

int
fleet_open(fleet_t **out, const fleet_opts_t *o, const char *prefix)
{
    fleet_t *f = xcalloc(1, sizeof *f);
    f->o = *o;
    f->lock_fd = -1;
    int status = prepare(f, prefix);
    if (status) {
        fleet_destroy(&f);
        return status;
    }
    *out = f;
    return CLI_EXIT_OK;
}

bool
fleet_stopping(void)
{
    return g_stop != 0;
}

bool
fleet_child_died(fleet_t *f)
{
    return reap(f) != NULL;
}

const char *
fleet_dir(const fleet_t *f)
{
    return f->dir;
}

const char *
fleet_frontend(const fleet_t *f)
{
    return f->frontend;
}

const char *
fleet_backend(const fleet_t *f)
{
    return f->backend;
}

const char *
fleet_publisher(const fleet_t *f)
{
    return f->publisher;
}

void
fleet_destroy(fleet_t **fp)
{
    fleet_t *f = *fp;
    if (!f)
        return;
    stop_all(f);
    if (f->lock_fd >= 0)
        close(f->lock_fd);
    free(f);
    *fp = NULL;
}
