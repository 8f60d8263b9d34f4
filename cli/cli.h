/*
 * cli: the `excerpt` command's subcommands. Each cmd_* takes the argv
 * after the subcommand name (argv[0] is the subcommand) and returns the
 * process exit code (see README.md "Exit codes").
 */
#ifndef EXCERPT_CLI_H
#define EXCERPT_CLI_H

#include "../common/cfg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit codes shared by every subcommand. */
enum {
    CLI_EXIT_OK = 0,      /* everything done */
    CLI_EXIT_FAIL = 1,    /* some inputs failed or were rejected */
    CLI_EXIT_USAGE = 2,   /* bad flags or arguments */
    CLI_EXIT_UNAVAIL = 3, /* broker unreachable or timed out */
    CLI_EXIT_NOTFOUND = 4 /* the job or key does not exist */
};

int cmd_extract(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_dead(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_tail(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_backup(int argc, char **argv);

/* Read a whole file ("-" is stdin) into a new buffer (NUL-terminated,
 * caller frees). Returns 0, ERR_IO (message printed) or ERR_TOOBIG when
 * it is larger than max bytes. */
int cli_read_file(const char *path, size_t max, char **buf, size_t *len);

/* Append path to *list (grown as needed; *n entries, *cap slots), or for
 * a directory every *.txt file in it, sorted; "-" (stdin) is kept as is.
 * Each entry is a new string (caller frees). Returns 0, or ERR_IO with a
 * message starting with prefix printed; an empty directory only warns. */
int cli_collect_inputs(const char *prefix, const char *path, char ***list,
                       size_t *n, size_t *cap);

/*
 * Parse a subcommand's flags (cfg_cli_parse on groups, cli->prog naming
 * the command) the way every subcommand does: -h/--help prints usage on
 * stdout (cli->help set, CLI_EXIT_OK); an unknown flag prints the message
 * and usage on stderr, a bad value the message, both CLI_EXIT_USAGE.
 * Returns CLI_EXIT_OK when the command should go on. Free cli with
 * cfg_cli_free in every case.
 */
int cli_parse_flags(cfg_group_t *groups, size_t n_groups, int argc, char **argv,
                    cfg_cli_t *cli, void (*usage)(FILE *out));

/* True when stdout is a terminal (tables, progress bars). */
bool cli_is_tty(int fd);

#endif
