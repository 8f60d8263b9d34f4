/*
 * excerpt-worker: reads its configuration (defaults, --config file,
 * EXCERPT_WORKER_* environment, flags), builds the worker loop and runs it
 * until SIGTERM/SIGINT, then drains and exits.
 */
#include "wloop.h"

#include "../common/err.h"
#include "../common/log.h"
#include "../common/proc.h"

#include <stdio.h>
#include <string.h>

static wloop_t *volatile running;

static void
on_signal(int sig)
{
    (void)sig;
    wloop_t *w = running;
    if (w)
        wloop_request_stop(w);
}

static void
usage(FILE *out)
{
    fprintf(out, "usage: excerpt-worker [--config FILE] [--key value...]\n\n"
                 "Takes extraction jobs from an excerpt-broker.\n"
                 "Settings (also EXCERPT_WORKER_<KEY> in the environment):\n");
    cfg_usage(wloop_cfg_table, wloop_cfg_table_len, out);
}

static int
load_config(wloop_cfg_t *cfg, int argc, char **argv)
{
    const char *file = cfg_find_config(argc, argv);
    if (file && cfg_load_file(wloop_cfg_table, wloop_cfg_table_len, cfg,
                              file) != ERR_OK)
        return ERR_INVAL;
    if (cfg_load_env(wloop_cfg_table, wloop_cfg_table_len, cfg,
                     "EXCERPT_WORKER_") != ERR_OK)
        return ERR_INVAL;
    int argi = 1;
    if (cfg_parse_args(wloop_cfg_table, wloop_cfg_table_len, cfg, argc, argv,
                       &argi) != ERR_OK)
        return ERR_INVAL;
    if (argi < argc) {
        log_error("config: unexpected argument \"%s\"", argv[argi]);
        return ERR_INVAL;
    }
    int level = log_level_parse(cfg->log_level);
    if (level < 0) {
        log_error("config: bad value key=log-level value=\"%s\"",
                  cfg->log_level);
        return ERR_INVAL;
    }
    log_set_level(level);
    return ERR_OK;
}

int
main(int argc, char **argv)
{
    wloop_cfg_t cfg;
    wloop_t *w = NULL;
    int status = 1;

    log_set_name("excerpt-worker");
    proc_tune_malloc();
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
    }
    if (wloop_cfg_defaults(&cfg) != ERR_OK)
        return 2;
    if (load_config(&cfg, argc, argv) != ERR_OK) {
        usage(stderr);
        wloop_cfg_free(&cfg);
        return 2;
    }
    cfg_log(wloop_cfg_table, wloop_cfg_table_len, &cfg);
    int rc = wloop_open(&w, &cfg);
    wloop_cfg_free(&cfg);
    if (rc != ERR_OK)
        return 2;

    running = w;
    const proc_signals_t sigs = { .on_stop = on_signal, .ignore_pipe = true };
    if (proc_install_signals(&sigs)) {
        running = NULL;
        wloop_destroy(&w);
        return 1;
    }

    rc = wloop_run(w);
    proc_log_cpu();
    if (rc == ERR_OK)
        status = 0;
    else
        log_error("worker: exiting after %s", err_str(rc));

    /* a late signal must not reach a loop being destroyed */
    if (proc_block_stop_signals())
        status = 1;
    running = NULL;
    wloop_destroy(&w);
    return status;
}
