/* proc: see proc.h. */
#include "proc.h"

#include "err.h"
#include "log.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#if defined(__GLIBC__) /* set by the headers above */
#include <malloc.h>
#endif

/* sigaction(sig) to handler, logged on failure. */
static int
set_handler(int sig, const char *name, void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    if (sigemptyset(&sa.sa_mask) != 0 || sigaction(sig, &sa, NULL) != 0) {
        log_error("cannot install signal handler sig=%s: %s", name,
                  strerror(errno));
        return ERR_IO;
    }
    return ERR_OK;
}

int
proc_install_signals(const proc_signals_t *s)
{
    if (!s || !s->on_stop)
        return ERR_INVAL;
    int rc = set_handler(SIGTERM, "SIGTERM", s->on_stop);
    if (!rc)
        rc = set_handler(SIGINT, "SIGINT", s->on_stop);
    if (!rc && s->on_hup)
        rc = set_handler(SIGHUP, "SIGHUP", s->on_hup);
    if (!rc && s->ignore_pipe)
        rc = set_handler(SIGPIPE, "SIGPIPE", SIG_IGN);
    return rc;
}

int
proc_block_stop_signals(void)
{
    sigset_t block;
    if (sigemptyset(&block) != 0 || sigaddset(&block, SIGTERM) != 0 ||
        sigaddset(&block, SIGINT) != 0 ||
        sigprocmask(SIG_BLOCK, &block, NULL) != 0) {
        log_error("cannot block SIGTERM/SIGINT: %s", strerror(errno));
        return ERR_IO;
    }
    return ERR_OK;
}

void
proc_tune_malloc(void)
{
#if defined(__GLIBC__)
    /* glibc's dynamic thresholds start low: it returns the top of the
     * heap to the kernel (brk) whenever 128 KiB is free there, so each
     * job pays brk, page faults and cross-CPU TLB flushes. */
    (void)mallopt(M_MMAP_THRESHOLD, 32 << 20);
    (void)mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}

void
proc_log_cpu(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return;
    log_info("cpu user_ms=%ld sys_ms=%ld",
             (long)ru.ru_utime.tv_sec * 1000 + (long)ru.ru_utime.tv_usec / 1000,
             (long)ru.ru_stime.tv_sec * 1000 +
                 (long)ru.ru_stime.tv_usec / 1000);
}
