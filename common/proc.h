/*
 * proc: process set-up shared by the daemons and the CLI: signal
 * handlers (stop on SIGTERM/SIGINT, an optional SIGHUP hook, SIGPIPE
 * ignored), glibc malloc thresholds, and the CPU-time log line at exit.
 */
#ifndef EXCERPT_PROC_H
#define EXCERPT_PROC_H

#include <stdbool.h>

/* The handlers a process wants. They run in signal context: only
 * async-signal-safe work (set a flag, call a *_request_* function). */
typedef struct proc_signals {
    void (*on_stop)(int sig); /* SIGTERM and SIGINT; required */
    void (*on_hup)(int sig);  /* SIGHUP, or NULL to leave it as it is */
    bool ignore_pipe;         /* ignore SIGPIPE (daemons writing sockets) */
} proc_signals_t;

/* Install s's handlers with sigaction (empty mask, no SA_RESTART, so a
 * blocking call returns EINTR). Every call is checked: returns ERR_OK,
 * ERR_INVAL when on_stop is NULL, or ERR_IO when sigaction fails (logged
 * naming the signal; handlers installed before it stay). */
int proc_install_signals(const proc_signals_t *s);

/* Block SIGTERM and SIGINT in the calling thread, so a late signal cannot
 * reach a handler whose object is being destroyed. ERR_OK or ERR_IO
 * (logged). */
int proc_block_stop_signals(void);

/* Fix glibc's malloc thresholds where its dynamic ones end up (mmap above
 * 32 MiB, trim above 64 MiB), so a per-job allocate/free cycle does not
 * return the heap top to the kernel on every job. No-op off glibc. Call
 * before starting threads. */
void proc_tune_malloc(void);

/* Log at info the CPU time this process used ("cpu user_ms=.. sys_ms=..");
 * per-job CPU is the figure the pipeline bench tunes. Silent if getrusage
 * fails. */
void proc_log_cpu(void);

#endif
