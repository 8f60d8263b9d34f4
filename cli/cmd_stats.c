/*
 * excerpt stats: the broker's counters: jobs by state and the backlog,
 * rates, the oldest waiting job, store size, one row per worker.
 */
#include "cli.h"
#include "clientopt.h"

#include "../common/err.h"
#include "../common/now.h"
#include "../storage/store_query.h"

#include <jansson.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#define PREFIX "excerpt stats"

typedef struct stats_args {
    bool json;      /* --json */
    bool table;     /* --table */
    bool read_only; /* --read-only */
} stats_args_t;

static const cfg_entry_t stats_table[] = {
    { "json", CFG_BOOL, offsetof(stats_args_t, json), NULL, 0, 0,
      "one JSON object (default when stdout is not a terminal)" },
    { "table", CFG_BOOL, offsetof(stats_args_t, table), NULL, 0, 0,
      "the table, also when stdout is not a terminal" },
    { "read-only", CFG_BOOL, offsetof(stats_args_t, read_only), NULL, 0, 0,
      "read the store of --data-dir directly (also done when no broker "
      "answers): counters only the broker keeps (workers, totals, rates, "
      "uptime) are 0" },
};
#define N_STATS (sizeof stats_table / sizeof stats_table[0])

static void
usage(FILE *out)
{
    fprintf(out, "usage: excerpt stats [FLAGS]\n"
                 "Show jobs by state and the backlog (ready + leased +\n"
                 "delayed), throughput, the age of the oldest waiting job,\n"
                 "the store's size and one row per connected worker.\n"
                 "\n");
    cfg_group_t g[] = { { stats_table, N_STATS, NULL, 0 },
                        clientopt_group(NULL) };
    cfg_cli_usage(g, 2, out);
    fprintf(out, "\nExit: 0, 2 usage, 3 no broker and no store to read.\n");
}

static void
human_bytes(uint64_t b, char *out, size_t n)
{
    static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double)b;
    size_t u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    snprintf(out, n, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static int
print_json(const wire_stats_t *s)
{
    json_t *o = json_object();
    json_t *jobs = json_object();
    json_object_set_new(jobs, "ready", json_integer((json_int_t)s->ready));
    json_object_set_new(jobs, "leased", json_integer((json_int_t)s->leased));
    json_object_set_new(jobs, "delayed", json_integer((json_int_t)s->delayed));
    json_object_set_new(jobs, "done", json_integer((json_int_t)s->done));
    json_object_set_new(jobs, "dead", json_integer((json_int_t)s->dead));
    json_object_set_new(jobs, "backlog", json_integer((json_int_t)s->backlog));
    json_object_set_new(o, "jobs", jobs);
    json_object_set_new(o, "last_seq", json_integer((json_int_t)s->last_seq));
    json_object_set_new(o, "oldest_ready_age_ms",
                        json_integer((json_int_t)s->oldest_ready_age_ms));
    json_object_set_new(o, "store_bytes",
                        json_integer((json_int_t)s->store_bytes));
    json_object_set_new(o, "map_bytes", json_integer((json_int_t)s->map_bytes));
    json_object_set_new(o, "map_limit", json_integer((json_int_t)s->map_limit));
    json_object_set_new(o, "workers", json_integer(s->workers));
    json_object_set_new(o, "submitted_total",
                        json_integer((json_int_t)s->submitted_total));
    json_object_set_new(o, "committed_total",
                        json_integer((json_int_t)s->committed_total));
    json_object_set_new(o, "rejected_total",
                        json_integer((json_int_t)s->rejected_total));
    json_object_set_new(o, "uptime_ms", json_integer((json_int_t)s->uptime_ms));
    json_object_set_new(o, "commit_rate", json_real(s->commit_rate));
    json_t *rows = json_array();
    for (size_t i = 0; i < s->n_worker_stats; i++) {
        const wire_worker_stats_t *w = &s->worker_stats[i];
        json_t *r = json_object();
        json_object_set_new(r, "name", json_string(w->name ? w->name : ""));
        json_object_set_new(r, "identity",
                            json_string(w->identity ? w->identity : ""));
        json_object_set_new(r, "credit", json_integer((json_int_t)w->credit));
        json_object_set_new(r, "held", json_integer((json_int_t)w->held));
        json_object_set_new(r, "held_bytes",
                            json_integer((json_int_t)w->held_bytes));
        json_object_set_new(r, "last_seen_ms",
                            json_integer((json_int_t)w->last_seen_ms));
        json_array_append_new(rows, r);
    }
    json_object_set_new(o, "worker_list", rows);
    int rc = json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(o);
    if (rc || fputc('\n', stdout) == EOF)
        return ERR_IO;
    return ERR_OK;
}

static void
print_table(const wire_stats_t *s, const char *endpoint)
{
    char used[32], map[32], limit[32];
    human_bytes(s->store_bytes, used, sizeof used);
    human_bytes(s->map_bytes, map, sizeof map);
    human_bytes(s->map_limit, limit, sizeof limit);
    double up = (double)s->uptime_ms / 1000.0;
    double submit_rate = up > 0 ? (double)s->submitted_total / up : 0.0;
    printf("broker     %s  up %.0f s, %u worker%s\n", endpoint, up, s->workers,
           s->workers == 1 ? "" : "s");
    printf("jobs       ready %llu  leased %llu  delayed %llu  done %llu  "
           "dead %llu\n",
           (unsigned long long)s->ready, (unsigned long long)s->leased,
           (unsigned long long)s->delayed, (unsigned long long)s->done,
           (unsigned long long)s->dead);
    printf("backlog    %llu (ready + leased + delayed)\n",
           (unsigned long long)s->backlog);
    printf("oldest     waiting job (ready, not leased, or delayed) %.1f s\n",
           (double)s->oldest_ready_age_ms / 1000.0);
    printf("rates      commits %.1f/s (last 10 s), submits %.1f/s (since "
           "start)\n",
           s->commit_rate, submit_rate);
    printf("totals     submitted %llu  committed %llu  rejected %llu  "
           "last seq %llu\n",
           (unsigned long long)s->submitted_total,
           (unsigned long long)s->committed_total,
           (unsigned long long)s->rejected_total,
           (unsigned long long)s->last_seq);
    printf("store      %s used of %s map (limit %s)\n", used, map, limit);
    if (s->n_worker_stats == 0)
        return;
    printf("\n%-32s %-16s %8s %8s %10s %10s\n", "worker", "identity", "credit",
           "held", "held", "last seen");
    for (size_t i = 0; i < s->n_worker_stats; i++) {
        const wire_worker_stats_t *w = &s->worker_stats[i];
        char held[32];
        human_bytes(w->held_bytes, held, sizeof held);
        printf("%-32.32s %-16.16s %8llu %8llu %10s %8.1f s\n",
               w->name && *w->name ? w->name : "?",
               w->identity ? w->identity : "", (unsigned long long)w->credit,
               (unsigned long long)w->held, held,
               (double)w->last_seen_ms / 1000.0);
    }
}

int
cmd_stats(int argc, char **argv)
{
    clientopt_t co = { 0 };
    stats_args_t a;
    cfg_group_t g[] = { { stats_table, N_STATS, &a, 0 }, clientopt_group(&co) };
    cfg_cli_t cli = { .prog = PREFIX, .max_pos = 0 };
    int status = cli_parse_flags(g, 2, argc, argv, &cli, usage);
    cfg_cli_free(&cli);
    if (status || cli.help)
        return status;
    /* --table wins over --json; with neither, the terminal decides */
    bool json = !a.table && (a.json || !cli_is_tty(STDOUT_FILENO));
    bool read_only = a.read_only;
    client_t *c = NULL;
    store_t *store = NULL;
    status = clientopt_open_or_store(&co, PREFIX, read_only, &c, &store);
    if (status)
        return status;
    wire_msg_t reply;
    wire_stats_t st;
    bool have_reply = false;
    int rc = ERR_OK;
    memset(&reply, 0, sizeof reply);
    if (store) {
        store_query_stats(store, now_wall_ms(), &st);
        st.backlog = st.ready + st.leased + st.delayed;
        store_destroy(&store);
        snprintf(co.resolved, sizeof co.resolved, "(none: store read-only)");
    } else {
        rc = client_stats_reply(c, &reply);
        if (rc == ERR_OK) {
            st = reply.u.stats_reply;
            have_reply = true;
        }
    }
    if (rc) {
        fprintf(stderr, PREFIX ": %s: %s\n", co.resolved,
                *client_last_error(c) ? client_last_error(c) : err_str(rc));
        client_destroy(&c);
        return clientopt_exit_code(rc);
    }
    if (json) {
        if (print_json(&st))
            status = CLI_EXIT_FAIL;
    } else {
        print_table(&st, co.resolved);
    }
    if (have_reply)
        wire_msg_release(&reply);
    if (fflush(stdout) != 0)
        status = CLI_EXIT_FAIL;
    client_destroy(&c);
    return status;
}
