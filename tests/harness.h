/*
 * harness: the process and socket helpers the integration tests share
 * (cmocka). Spawn a program with its output in a log file, wait for a
 * condition with a deadline, stop or kill it, temp dirs, a DEALER client
 * that speaks the wire protocol. Built for failure: every helper fails the
 * test at once (cmocka fail_msg) instead of returning an error to check,
 * a missing program fails (never skips), and hx_teardown() kills every
 * process and closes every socket the harness made, so that a test that
 * failed half-way never hangs in zmq_ctx_term or leaves a daemon behind.
 *
 * Use: call hx_setup() at the start of a fixture's setup and hx_teardown()
 * in its teardown (it runs after a failed assertion too); make sockets
 * with hx_socket() and processes with hx_proc_*.
 */
#ifndef EXCERPT_TESTS_HARNESS_H
#define EXCERPT_TESTS_HARNESS_H

#include "../proto/wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HX_MAX_ARGS 48
#define HX_MAX_ENV 8
/* Reply deadline: generous, a loaded machine or a sanitizer build is slow */
#define HX_RPC_MS 30000
/* Factor on every HX_WAIT_FOR deadline, for the same reason */
#define HX_SLACK 4

/* One child process. Zero it, then hx_proc_args(). It must outlive the
 * test function (a fixture field or static): hx_teardown reaches it after
 * a failed assertion has left the function. */
typedef struct hx_proc {
    pid_t pid;                 /* 0 when not running */
    int status;                /* wait status of the last exit */
    char log[256];             /* stdout+stderr of the process (appended) */
    char err[256];             /* when set: stderr goes here instead */
    bool fresh;                /* truncate log (and err) at each spawn */
    char *argv[HX_MAX_ARGS];   /* owned copies, kept for restarts */
    char *env[HX_MAX_ENV + 1]; /* extra "KEY=VALUE" entries, owned */
    /* called in the child right before exec (async-signal-safe calls
     * only), e.g. to install a seccomp filter; NULL: none */
    void (*pre_exec)(void *arg);
    void *pre_exec_arg; /* its argument */
} hx_proc_t;

/* Start of a fixture: resets the harness's registries. */
void hx_setup(void);

/* End of a fixture (also after a failure): SIGKILL and reap every
 * process spawned since hx_setup, close every socket from hx_socket, and
 * terminate the context given to hx_socket (may be NULL). Never blocks on
 * a peer. */
void hx_teardown(void **ctx);

/* Fail the test unless path names an executable file (a program the build
 * should have made). */
void hx_require_bin(const char *path);

/* A new temp dir /tmp/PREFIX.XXXXXX written into buf (cap bytes). */
void hx_tempdir(char *buf, size_t cap, const char *prefix);
/* Remove dir and everything below it; unless EXCERPT_TEST_KEEP is set,
 * then say where it is. */
void hx_rmtree(const char *dir);

/* Copy argv (NULL-terminated) into p (what hx_spawn runs). */
void hx_proc_args(hx_proc_t *p, const char *const *argv);
/* Add "KEY=VALUE" to the environment p gets (at most HX_MAX_ENV). */
void hx_proc_setenv(hx_proc_t *p, const char *kv);
/* Fork and exec p (argv[0] must be executable), output appended to
 * p->log (see err, fresh), stdin /dev/null; the child dies with the test
 * process (PR_SET_PDEATHSIG). */
void hx_spawn(hx_proc_t *p);
/* Send sig; SIGKILL also reaps it. */
void hx_kill(hx_proc_t *p, int sig);
/* SIGTERM, wait up to timeout_ms for the exit (fails the test if it does
 * not come; SIGKILLs it). Returns the exit code, or 128 + the signal. */
int hx_term(hx_proc_t *p, int timeout_ms);
/* Wait up to timeout_ms for p to exit by itself; the exit code (128 +
 * signal), or -1 when it is still running. */
int hx_wait_exit(hx_proc_t *p, int timeout_ms);
bool hx_alive(hx_proc_t *p);
/* Kill p if running and free its strings; p can be reused. */
void hx_proc_free(hx_proc_t *p);

/* Set p's arguments to `bin --data-dir data --frontend fe --backend be
 * --publisher pub` followed by extra (NULL-terminated; may be NULL). */
void hx_broker_args(hx_proc_t *p, const char *bin, const char *data,
                    const char *fe, const char *be, const char *pub,
                    const char *const *extra);
/* Spawn p (a broker) and wait until its output (log, and err when set)
 * has one more "listening" line than before; fails the test when p exits
 * first or after timeout_ms x HX_SLACK. */
void hx_spawn_listening(hx_proc_t *p, int timeout_ms);
/* Lines of the file at path that contain needle (0 if no file). */
int hx_count_in_file(const char *path, const char *needle);
/* Monotonic milliseconds. */
uint64_t hx_now_ms(void);
/* A TCP port on 127.0.0.1 that was free a moment ago (a caller that
 * binds it later retries when someone took it meanwhile). */
int hx_free_port(void);
/* A CURVE key pair keys/NAME.key and keys/NAME.pub; with a role, the
 * .pub is also linked into the allow-list directory allow. */
void hx_make_key(const char *keys, const char *allow, const char *name,
                 const char *role);

/* Wait until cond holds, polling every 10 ms; fail the test naming cond
 * after ms x HX_SLACK. */
#define HX_WAIT_FOR(cond, ms)                                                  \
    do {                                                                       \
        uint64_t hx_dl_ = hx_now_ms() + (uint64_t)(ms)*HX_SLACK;               \
        while (!(cond)) {                                                      \
            if (hx_now_ms() > hx_dl_)                                          \
                fail_msg("timed out after %d ms waiting for %s",               \
                         (int)(ms)*HX_SLACK, #cond);                           \
            usleep(10000);                                                     \
        }                                                                      \
    } while (0)

/* A ZeroMQ socket of type on ctx with linger 0, registered so that
 * hx_teardown closes it; connected to endpoint when not NULL. */
void *hx_socket(void *ctx, int type, const char *endpoint);
/* Close a socket made by hx_socket (and forget it); NULL-safe. */
void hx_close(void **sock);

/* Encode m and send it as one frame on sock (a DEALER). */
void hx_send(void *sock, wire_msg_t *m);
/* Receive one frame within timeout_ms and decode it into m: 0, or
 * ERR_TIMEOUT. A frame that does not decode fails the test. */
int hx_recv(void *sock, int timeout_ms, wire_msg_t *m);
/* Send req with the next request id (*rid + 1) and wait for the reply
 * with that id (others are dropped): 0, or ERR_TIMEOUT. */
int hx_rpc(void *sock, uint64_t *rid, wire_msg_t *req, wire_msg_t *rep,
           int timeout_ms);

#endif
