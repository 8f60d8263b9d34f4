/*
 * excerpt-broker: reads the configuration (defaults, --config file,
 * EXCERPT_BROKER_* environment, flags), opens the broker, installs
 * SIGTERM/SIGINT handlers (drain and exit) and SIGHUP (reread the
 * allow-list), and runs the loop until a signal drains it.
 */
#include "broker.h"

#include "../common/err.h"
#include "../common/log.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

static broker_t *running;

static void
on_signal(int sig)
{
    if (sig == SIGHUP)
        broker_request_reload(running);
    else
        broker_request_stop(running);
}

static int
install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL) ||
        sigaction(SIGHUP, &sa, NULL))
        return ERR_IO;
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL) ? ERR_IO : ERR_OK;
}

/* Log the CPU time this process used: per-job CPU is the figure the
 * pipeline bench tunes (bench/README.md). */
static void
log_cpu(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return;
    log_info("cpu user_ms=%ld sys_ms=%ld",
             (long)ru.ru_utime.tv_sec * 1000 + (long)ru.ru_utime.tv_usec / 1000,
             (long)ru.ru_stime.tv_sec * 1000 +
                 (long)ru.ru_stime.tv_usec / 1000);
}

/* glibc's dynamic thresholds start low: it returns the top of the heap
 * to the kernel (brk) whenever 128 KiB is free there, so a per-job
 * allocate/free cycle pays brk, page faults and cross-CPU TLB flushes on
 * every job. Fix the thresholds where the dynamic ones end up anyway
 * (mmap above 32 MiB, trim above 64 MiB). */
static void
tune_malloc(void)
{
#if defined(__GLIBC__)
    (void)mallopt(M_MMAP_THRESHOLD, 32 << 20);
    (void)mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}
int
main(int argc, char **argv)
{
    broker_cfg_t cfg;
    broker_t *b = NULL;
    int argi = 1, rc;
    log_set_name("excerpt-broker");
    tune_malloc();
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: excerpt-broker [--config FILE] [--key value...]\n"
                   "environment: EXCERPT_BROKER_<KEY> (upper case, '_')\n\n");
            cfg_usage(broker_cfg_table, broker_cfg_table_len, stdout);
            return 0;
        }
    }
    if (broker_cfg_defaults(&cfg))
        return 2;
    const char *file = cfg_find_config(argc, argv);
    if ((file &&
         cfg_load_file(broker_cfg_table, broker_cfg_table_len, &cfg, file)) ||
        cfg_load_env(broker_cfg_table, broker_cfg_table_len, &cfg,
                     "EXCERPT_BROKER_") ||
        cfg_parse_args(broker_cfg_table, broker_cfg_table_len, &cfg, argc, argv,
                       &argi)) {
        broker_cfg_free(&cfg);
        return 2;
    }
    if (argi < argc) {
        log_error("unexpected argument \"%s\" (see --help)", argv[argi]);
        broker_cfg_free(&cfg);
        return 2;
    }
    int level = log_level_parse(cfg.log_level ? cfg.log_level : "info");
    if (level < 0) {
        log_error("config invalid key=log-level value=\"%s\"", cfg.log_level);
        broker_cfg_free(&cfg);
        return 2;
    }
    log_set_level(level);
    cfg_log(broker_cfg_table, broker_cfg_table_len, &cfg);
    rc = broker_open(&b, &cfg);
    broker_cfg_free(&cfg);
    if (rc)
        return rc == ERR_INVAL ? 2 : 1;
    running = b;
    if (install_signals()) {
        log_error("cannot install signal handlers");
        broker_destroy(&b);
        return 1;
    }
    rc = broker_run(b);
    log_cpu();
    running = NULL;
    broker_destroy(&b);
    return rc ? 1 : 0;
}
