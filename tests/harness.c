/*
 * harness: shared process and socket helpers of the integration tests
 * (see harness.h). Registries of the processes and sockets made since
 * hx_setup let hx_teardown clean up after a failed assertion.
 */
#include "harness.h"

#include "../common/err.h"
#include "../common/now.h"
#include "../proto/curve.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#define HX_MAX_PROCS 64
#define HX_MAX_SOCKS 64

extern char **environ;

static hx_proc_t *procs[HX_MAX_PROCS]; /* spawned since hx_setup */
static void *socks[HX_MAX_SOCKS];      /* open sockets from hx_socket */

uint64_t
hx_now_ms(void)
{
    return now_mono_ms();
}

void
hx_setup(void)
{
    memset(procs, 0, sizeof procs);
    memset(socks, 0, sizeof socks);
    signal(SIGPIPE, SIG_IGN);
}

void
hx_teardown(void **ctx)
{
    for (size_t i = 0; i < HX_MAX_SOCKS; i++) {
        if (socks[i]) {
            zmq_close(socks[i]);
            socks[i] = NULL;
        }
    }
    if (ctx && *ctx) {
        zmq_ctx_term(*ctx);
        *ctx = NULL;
    }
    for (size_t i = 0; i < HX_MAX_PROCS; i++) {
        if (procs[i]) {
            hx_proc_free(procs[i]);
            procs[i] = NULL;
        }
    }
}

void
hx_require_bin(const char *path)
{
    if (!path || !*path)
        fail_msg("a program this test runs was not built (empty path)");
    if (access(path, X_OK) != 0)
        fail_msg("program %s is missing or not executable: %s", path,
                 strerror(errno));
}

void
hx_tempdir(char *buf, size_t cap, const char *prefix)
{
    int n = snprintf(buf, cap, "/tmp/%s.XXXXXX", prefix);
    assert_true(n > 0 && (size_t)n < cap);
    assert_non_null(mkdtemp(buf));
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void
hx_rmtree(const char *dir)
{
    if (!dir || !*dir)
        return;
    if (getenv("EXCERPT_TEST_KEEP")) {
        fprintf(stderr, "kept %s\n", dir);
        return;
    }
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ----------------------------------------------------------- processes */

static void
forget(hx_proc_t *p)
{
    for (size_t i = 0; i < HX_MAX_PROCS; i++)
        if (procs[i] == p)
            procs[i] = NULL;
}

static void
remember(hx_proc_t *p)
{
    for (size_t i = 0; i < HX_MAX_PROCS; i++)
        if (procs[i] == p)
            return;
    for (size_t i = 0; i < HX_MAX_PROCS; i++) {
        if (!procs[i]) {
            procs[i] = p;
            return;
        }
    }
    fail_msg("harness: more than %d processes", HX_MAX_PROCS);
}

void
hx_proc_args(hx_proc_t *p, const char *const *argv)
{
    for (size_t i = 0; i < HX_MAX_ARGS; i++) {
        free(p->argv[i]);
        p->argv[i] = NULL;
    }
    for (size_t i = 0; argv[i]; i++) {
        assert_true(i < HX_MAX_ARGS - 1);
        p->argv[i] = strdup(argv[i]);
        assert_non_null(p->argv[i]);
    }
}

void
hx_proc_setenv(hx_proc_t *p, const char *kv)
{
    for (size_t i = 0; i < HX_MAX_ENV; i++) {
        if (!p->env[i]) {
            p->env[i] = strdup(kv);
            assert_non_null(p->env[i]);
            return;
        }
    }
    fail_msg("harness: more than %d environment entries", HX_MAX_ENV);
}

void
hx_spawn(hx_proc_t *p)
{
    assert_int_equal(p->pid, 0);
    assert_non_null(p->argv[0]);
    hx_require_bin(p->argv[0]);
    /* the environment is built before fork: only async-signal-safe calls
     * may run between fork and exec */
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = calloc(n + HX_MAX_ENV + 1, sizeof *envp);
    assert_non_null(envp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool replaced = false;
        for (size_t e = 0; p->env[e]; e++) {
            const char *eq = strchr(p->env[e], '=');
            size_t kl = eq ? (size_t)(eq - p->env[e]) : strlen(p->env[e]);
            if (!strncmp(environ[i], p->env[e], kl) && environ[i][kl] == '=')
                replaced = true;
        }
        if (!replaced)
            envp[k++] = environ[i];
    }
    for (size_t e = 0; p->env[e]; e++)
        envp[k++] = p->env[e];
    envp[k] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int mode =
            O_WRONLY | O_CREAT | O_CLOEXEC | (p->fresh ? O_TRUNC : O_APPEND);
        int fd = open(p->log, mode, 0644);
        int efd = p->err[0] ? open(p->err, mode, 0644) : fd;
        int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || efd < 0 || in < 0)
            _exit(127);
        dup2(in, 0);
        dup2(fd, 1);
        dup2(efd, 2);
        if (p->pre_exec)
            p->pre_exec(p->pre_exec_arg);
        execve(p->argv[0], p->argv, envp);
        _exit(127);
    }
    free(envp);
    p->pid = pid;
    remember(p);
}

static int
exit_code(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

void
hx_kill(hx_proc_t *p, int sig)
{
    if (p->pid <= 0)
        return;
    kill(p->pid, sig);
    if (sig == SIGKILL) {
        waitpid(p->pid, &p->status, 0);
        p->pid = 0;
    }
}

int
hx_wait_exit(hx_proc_t *p, int timeout_ms)
{
    if (p->pid <= 0)
        return exit_code(p->status);
    uint64_t deadline = hx_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid) {
            p->status = st;
            p->pid = 0;
            return exit_code(st);
        }
        if (hx_now_ms() > deadline)
            return -1;
        usleep(5000);
    }
}

int
hx_term(hx_proc_t *p, int timeout_ms)
{
    assert_true(p->pid > 0);
    kill(p->pid, SIGTERM);
    int code = hx_wait_exit(p, timeout_ms);
    if (code == -1) {
        hx_kill(p, SIGKILL);
        fail_msg("process %s did not exit within %d ms of SIGTERM", p->argv[0],
                 timeout_ms);
    }
    return code;
}

bool
hx_alive(hx_proc_t *p)
{
    if (p->pid <= 0)
        return false;
    int st = 0;
    if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
        p->status = st;
        p->pid = 0;
        return false;
    }
    return true;
}

void
hx_proc_free(hx_proc_t *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGCONT);
        hx_kill(p, SIGKILL);
    }
    for (size_t i = 0; i < HX_MAX_ARGS; i++) {
        free(p->argv[i]);
        p->argv[i] = NULL;
    }
    for (size_t i = 0; i < HX_MAX_ENV; i++) {
        free(p->env[i]);
        p->env[i] = NULL;
    }
    forget(p);
}

int
hx_count_in_file(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0;
    char line[4096];
    while (fgets(line, sizeof line, f))
        if (strstr(line, needle))
            n++;
    fclose(f);
    return n;
}

/* ------------------------------------------------------------- sockets */

void *
hx_socket(void *ctx, int type, const char *endpoint)
{
    void *s = zmq_socket(ctx, type);
    assert_non_null(s);
    int zero = 0;
    assert_int_equal(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero), 0);
    size_t i = 0;
    while (i < HX_MAX_SOCKS && socks[i])
        i++;
    if (i == HX_MAX_SOCKS) {
        zmq_close(s);
        fail_msg("harness: more than %d sockets", HX_MAX_SOCKS);
    }
    socks[i] = s;
    if (endpoint)
        assert_int_equal(zmq_connect(s, endpoint), 0);
    return s;
}

void
hx_close(void **sock)
{
    if (!sock || !*sock)
        return;
    for (size_t i = 0; i < HX_MAX_SOCKS; i++)
        if (socks[i] == *sock)
            socks[i] = NULL;
    zmq_close(*sock);
    *sock = NULL;
}

void
hx_send(void *sock, wire_msg_t *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_encode(m, &buf, &len), ERR_OK);
    int rc = zmq_send(sock, buf, len, 0);
    free(buf);
    assert_true(rc >= 0);
}

int
hx_recv(void *sock, int timeout_ms, wire_msg_t *m)
{
    zmq_pollitem_t it = { .socket = sock, .events = ZMQ_POLLIN };
    if (zmq_poll(&it, 1, timeout_ms) <= 0)
        return ERR_TIMEOUT;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    assert_true(zmq_msg_recv(&msg, sock, 0) >= 0);
    int rc = wire_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), 0, m);
    zmq_msg_close(&msg);
    assert_int_equal(rc, ERR_OK);
    return ERR_OK;
}

int
hx_rpc(void *sock, uint64_t *rid, wire_msg_t *req, wire_msg_t *rep,
       int timeout_ms)
{
    req->request_id = ++*rid;
    hx_send(sock, req);
    uint64_t deadline = hx_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        int64_t left = (int64_t)(deadline - hx_now_ms());
        if (left <= 0 || hx_recv(sock, (int)left, rep) != ERR_OK)
            return ERR_TIMEOUT;
        if (rep->request_id == req->request_id)
            return ERR_OK;
        wire_msg_release(rep);
    }
}

void
hx_broker_args(hx_proc_t *p, const char *bin, const char *data, const char *fe,
               const char *be, const char *pub, const char *const *extra)
{
    const char *args[HX_MAX_ARGS] = { bin, "--data-dir", data, "--frontend",
                                      fe,  "--backend",  be,   "--publisher",
                                      pub };
    size_t n = 9;
    for (size_t i = 0; extra && extra[i]; i++) {
        assert_true(n < HX_MAX_ARGS - 1);
        args[n++] = extra[i];
    }
    args[n] = NULL;
    hx_proc_args(p, args);
}

/* "listening" lines in p's output so far. */
static int
listening_lines(const hx_proc_t *p)
{
    int n = hx_count_in_file(p->log, "listening");
    if (p->err[0])
        n += hx_count_in_file(p->err, "listening");
    return n;
}

void
hx_spawn_listening(hx_proc_t *p, int timeout_ms)
{
    int before = listening_lines(p);
    hx_spawn(p);
    HX_WAIT_FOR(listening_lines(p) > before || !hx_alive(p), timeout_ms);
    if (!hx_alive(p))
        fail_msg("%s exited with %d before listening (see %s)", p->argv[0],
                 hx_wait_exit(p, 0), p->err[0] ? p->err : p->log);
}

int
hx_free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

void
hx_make_key(const char *keys, const char *allow, const char *name,
            const char *role)
{
    curve_pair_t kp;
    assert_int_equal(curve_generate(&kp), ERR_OK);
    assert_int_equal(curve_write_pair(keys, name, &kp, role, false), ERR_OK);
    if (role) {
        char from[4096], to[4096];
        snprintf(from, sizeof from, "%s/%s.pub", keys, name);
        snprintf(to, sizeof to, "%s/%s.pub", allow, name);
        assert_int_equal(link(from, to), 0);
    }
}
