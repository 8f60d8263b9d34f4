/*
 * excerpt: the command-line client. Dispatches to a subcommand.
 */
#include "cli.h"

#include "../common/log.h"

#include <stdio.h>
#include <string.h>

typedef struct command {
    const char *name;                  /* subcommand word */
    int (*run)(int argc, char **argv); /* entry point */
    const char *help;                  /* one line for usage */
} command_t;

static const command_t commands[] = {
    { "extract", cmd_extract,
      "extract from files locally, no broker: extract [FILE...|-]" },
    { "run", cmd_run,
      "broker + workers + store here on FILE|DIR... (default: samples)" },
    { "serve", cmd_serve, "broker + local workers until SIGTERM/SIGINT" },
    { "submit", cmd_submit,
      "send transcripts to the broker: submit FILE|DIR|-..." },
    { "get", cmd_get, "a job and its result as JSON: get JOB_ID | --key K" },
    { "stats", cmd_stats, "broker counters: jobs by state, rates, store" },
    { "dead", cmd_dead, "dead letters: dead list | requeue | purge" },
    { "tail", cmd_tail, "follow committed results: tail [--from SEQ]" },
    { "keygen", cmd_keygen,
      "write a CURVE key pair: keygen NAME [--dir D] [--role R]" },
    { "query", cmd_query,
      "search the store: query --entity NAME | --figure MONEY ..." },
    { "backup", cmd_backup, "consistent copy of a live store: backup DIR" },
};

static void
usage(FILE *out)
{
    fprintf(out, "usage: excerpt COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(out, "\n`excerpt COMMAND --help` describes each command.\n");
}

int
main(int argc, char **argv)
{
    log_set_name("excerpt");
    log_set_level(LOG_LEVEL_WARN);
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("excerpt 0.1.0\n");
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "excerpt: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
