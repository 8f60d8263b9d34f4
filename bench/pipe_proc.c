/*
 * pipe_proc: the processes bench_pipeline runs. Spawning a server with its
 * output in a log, stopping it (SIGTERM, then SIGKILL), the list of
 * children killed at exit, the SIGINT/SIGTERM flag, CPU seconds and memory
 * peaks read from /proc, free TCP ports, temporary directories and their
 * removal, and the tail of a log when a server fails to start.
 */
#include "../common/now.h"
#include "../common/xalloc.h"

#include "pipe.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHILDREN 64

/* Children to kill if the bench is interrupted. */
static pid_t children[MAX_CHILDREN];
volatile sig_atomic_t pipe_proc_interrupted;

void
pipe_proc_on_signal(int sig)
{
    (void)sig;
    pipe_proc_interrupted = 1;
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

void
pipe_proc_kill_children(void)
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
pid_t
pipe_proc_spawn(char *const argv[], const char *log_path)
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
bool
pipe_proc_has_exited(pid_t pid)
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
int
pipe_proc_stop_process(pid_t pid, uint64_t grace_ms)
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
double
pipe_proc_cpu_secs(pid_t pid)
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
double
pipe_proc_self_cpu_secs(void)
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

void
pipe_proc_mem_sample(mem_peak_t *m, bool force)
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
int
pipe_proc_free_port(void)
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

void
pipe_proc_remove_tree(const char *dir)
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
            pipe_proc_remove_tree(path);
        else
            (void)unlink(path);
    }
    closedir(d);
    (void)rmdir(dir);
}

char *
pipe_proc_make_tmpdir(const opts_t *o, const char *what)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/bench-%s-XXXXXX", o->tmp, what);
    if (!mkdtemp(path)) {
        fprintf(stderr, "bench: mkdtemp %s: %s\n", path, strerror(errno));
        return NULL;
    }
    return xstrdup(path);
}

void
pipe_proc_print_log_tail(const char *path)
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
