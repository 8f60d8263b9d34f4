/*
 * excerpt dead: inspect and act on dead-lettered jobs: list them with
 * their reasons, move them back to the queue, or delete them.
 */
#include "cli.h"
#include "clientopt.h"
#include "jobjson.h"

#include "../common/err.h"
#include "../common/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PREFIX "excerpt dead"

typedef struct dead_args {
    bool json;     /* list --json */
    int64_t limit; /* list --limit, 0: all */
    bool all;      /* requeue/purge --all */
} dead_args_t;

static const cfg_entry_t list_table[] = {
    { "json", CFG_BOOL, offsetof(dead_args_t, json), NULL, 0, 0,
      "JSON Lines (default when stdout is not a terminal)" },
    { "limit", CFG_INT, offsetof(dead_args_t, limit), "0", 0, 0,
      "N\tstop after N (0: all)" },
};
#define N_LIST (sizeof list_table / sizeof list_table[0])

static const cfg_entry_t change_table[] = {
    { "all", CFG_BOOL, offsetof(dead_args_t, all), NULL, 0, 0,
      "every dead job instead of the ids given" },
};
#define N_CHANGE (sizeof change_table / sizeof change_table[0])

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: excerpt dead list [--json] [--limit N] [FLAGS]\n"
            "       excerpt dead requeue ID...|--all [FLAGS]\n"
            "       excerpt dead purge ID...|--all [FLAGS]\n"
            "Jobs that failed every attempt (or failed permanently) end in\n"
            "the dead letters with their reason and attempt history.\n"
            "  list     print them (JSON Lines with --json or when stdout is\n"
            "           not a terminal); --limit N stops after N\n"
            "  requeue  put them back in the queue with attempts reset\n"
            "  purge    delete them and their texts\n"
            "list:\n");
    cfg_group_t l = { list_table, N_LIST, NULL, 0 };
    cfg_cli_usage(&l, 1, out);
    fprintf(out, "requeue, purge:\n");
    cfg_group_t c = { change_table, N_CHANGE, NULL, 0 };
    cfg_cli_usage(&c, 1, out);
    fprintf(out, "all:\n");
    clientopt_usage(out);
    fprintf(out, "\nExit: 0, 1 refused, 2 usage, 3 broker unreachable.\n");
}

static int
fail(client_t *c, const clientopt_t *co, int rc)
{
    fprintf(stderr, PREFIX ": %s: %s\n", co->resolved,
            *client_last_error(c) ? client_last_error(c) : err_str(rc));
    return clientopt_exit_code(rc);
}

static int
do_list(client_t *c, const clientopt_t *co, bool json, uint64_t limit)
{
    uint64_t after = 0, shown = 0;
    if (!json)
        printf("%-8s %-8s %-24s %s\n", "JOB", "ATTEMPTS", "SOURCE", "REASON");
    while (!limit || shown < limit) {
        wire_msg_t rep;
        int rc = client_dead_list(c, after, WIRE_MAX_BATCH, &rep);
        if (rc)
            return fail(c, co, rc);
        size_t n = rep.u.dead_list_reply.n;
        for (size_t i = 0; i < n && (!limit || shown < limit); i++) {
            const wire_dead_t *d = &rep.u.dead_list_reply.items[i];
            if (json) {
                if (jobjson_print(jobjson_from_dead(d))) {
                    wire_msg_release(&rep);
                    return CLI_EXIT_FAIL;
                }
            } else {
                printf("%-8llu %-8u %-24.24s %s\n",
                       (unsigned long long)d->job.id, d->job.attempts,
                       d->job.source_url && *d->job.source_url
                           ? d->job.source_url
                           : "-",
                       d->reason ? d->reason : "");
            }
            shown++;
            after = d->job.id;
        }
        wire_msg_release(&rep);
        if (n == 0)
            break;
    }
    if (!json)
        printf("%llu dead job%s\n", (unsigned long long)shown,
               shown == 1 ? "" : "s");
    return fflush(stdout) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int
cmd_dead(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    const char *action = argv[1];
    bool list = !strcmp(action, "list");
    bool requeue = !strcmp(action, "requeue");
    bool purge = !strcmp(action, "purge");
    if (!list && !requeue && !purge) {
        fprintf(stderr, PREFIX ": unknown action \"%s\"\n", action);
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    clientopt_t co = { 0 };
    dead_args_t a;
    memset(&a, 0, sizeof a); /* each action's table sets only its fields */
    char prog[64];
    snprintf(prog, sizeof prog, PREFIX " %s", action);
    cfg_group_t g[] = { list ? (cfg_group_t){ list_table, N_LIST, &a, 0 }
                             : (cfg_group_t){ change_table, N_CHANGE, &a, 0 },
                        clientopt_group(&co) };
    cfg_cli_t cli = { .prog = prog, .max_pos = list ? 0 : -1 };
    int status = cli_parse_flags(g, 2, argc - 1, argv + 1, &cli, usage);
    uint64_t *ids = xcalloc((size_t)cli.n_pos + 1, sizeof *ids);
    size_t n = 0;
    for (int i = 0; status == CLI_EXIT_OK && !cli.help && i < cli.n_pos; i++) {
        if (!clientopt_parse_u64(cli.pos[i], &ids[n]) || !ids[n]) {
            fprintf(stderr, "%s: unexpected argument %s\n", prog, cli.pos[i]);
            status = CLI_EXIT_USAGE;
        }
        n++;
    }
    bool help = cli.help;
    cfg_cli_free(&cli);
    if (help) {
        free(ids);
        return status;
    }
    bool json = a.json || !cli_is_tty(STDOUT_FILENO), all = a.all;
    uint64_t limit = (uint64_t)a.limit;
    if (status == CLI_EXIT_OK && !list && all == (n > 0)) {
        fprintf(stderr, PREFIX " %s: give job ids or --all\n", action);
        status = CLI_EXIT_USAGE;
    }
    client_t *c = NULL;
    if (status == CLI_EXIT_OK)
        status = clientopt_open(&co, PREFIX, &c);
    if (status == CLI_EXIT_OK) {
        if (list) {
            status = do_list(c, &co, json, limit);
        } else {
            uint64_t count = 0;
            int rc = requeue ? client_dead_requeue(c, ids, n, all, &count)
                             : client_dead_purge(c, ids, n, all, &count);
            if (rc) {
                status = fail(c, &co, rc);
            } else {
                printf("%s %llu job%s\n", requeue ? "requeued" : "purged",
                       (unsigned long long)count, count == 1 ? "" : "s");
                if (!all && count < n)
                    fprintf(stderr,
                            PREFIX " %s: %llu of the %zu ids were not dead "
                                   "jobs\n",
                            action, (unsigned long long)(n - count), n);
            }
        }
    }
    client_destroy(&c);
    free(ids);
    return status;
}
