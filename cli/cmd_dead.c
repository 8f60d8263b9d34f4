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
            "  purge    delete them and their texts\n");
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
    bool json = !cli_is_tty(STDOUT_FILENO), all = false;
    uint64_t limit = 0;
    uint64_t *ids = xcalloc((size_t)argc, sizeof *ids);
    size_t n = 0;
    int status = CLI_EXIT_OK;
    for (int i = 2; i < argc && status == CLI_EXIT_OK; i++) {
        const char *arg = argv[i];
        int r = clientopt_parse(&co, PREFIX, argc, argv, &i);
        if (r < 0) {
            status = CLI_EXIT_USAGE;
        } else if (r > 0) {
            continue;
        } else if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            free(ids);
            return CLI_EXIT_OK;
        } else if (list && !strcmp(arg, "--json")) {
            json = true;
        } else if (list && !strcmp(arg, "--limit") && i + 1 < argc) {
            if (!clientopt_parse_u64(argv[++i], &limit)) {
                fprintf(stderr, PREFIX ": bad --limit\n");
                status = CLI_EXIT_USAGE;
            }
        } else if (!list && !strcmp(arg, "--all")) {
            all = true;
        } else if (!list && clientopt_parse_u64(arg, &ids[n]) && ids[n]) {
            n++;
        } else {
            fprintf(stderr, PREFIX " %s: unexpected argument %s\n", action,
                    arg);
            status = CLI_EXIT_USAGE;
        }
    }
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
