/*
 * excerpt-broker: reads the configuration (defaults, --config file,
 * EXCERPT_BROKER_* environment, flags), opens the broker, installs
 * SIGTERM/SIGINT handlers (drain and exit) and SIGHUP (reread the
 * allow-list), and runs the loop until a signal drains it.
 */
#include "broker.h"

#include "../common/err.h"
#include "../common/log.h"
#include "../common/proc.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static broker_t *running;

static void
on_signal(int sig)
{
    if (sig == SIGHUP)
        broker_request_reload(running);
    else
        broker_request_stop(running);
}

int
main(int argc, char **argv)
{
    broker_cfg_t cfg;
    broker_t *b = NULL;
    int argi = 1, rc;
    log_set_name("excerpt-broker");
    proc_tune_malloc();
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
    const proc_signals_t sigs = { .on_stop = on_signal,
                                  .on_hup = on_signal,
                                  .ignore_pipe = true };
    if (proc_install_signals(&sigs)) {
        running = NULL;
        broker_destroy(&b);
        return 1;
    }
    rc = broker_run(b);
    proc_log_cpu();
    running = NULL;
    broker_destroy(&b);
    return rc ? 1 : 0;
}
