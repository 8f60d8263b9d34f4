/*
 * excerpt tail: follow committed results through the client's consumer
 * (client/consumer.h): subscribe first, replay from --from or the cursor
 * file with Since, then print each new commit once, in seq order; survive
 * broker outages by reconnecting forever and resuming from the last seq.
 * Filters (--type, --entity) select results by their figures and entities.
 */
#include "cli.h"
#include "clientopt.h"
#include "jobjson.h"

#include "../client/consumer.h"
#include "../client/rjson.h"
#include "../common/err.h"
#include "../common/proc.h"

#include <ctype.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "excerpt tail"
#define MAX_NAME 400

static volatile sig_atomic_t tail_stop;

static void
on_signal(int sig)
{
    (void)sig;
    tail_stop = 1;
}

typedef struct tail_args {
    int64_t from;          /* --from */
    const char *cursor;    /* --cursor */
    bool results;          /* --results */
    cfg_list_t types;      /* --type, repeatable */
    const char *entity;    /* --entity */
    bool no_follow;        /* --no-follow */
    const char *publisher; /* --publisher */
} tail_args_t;

#define OFF(f) offsetof(tail_args_t, f)
static const cfg_entry_t tail_table[] = {
    { "from", CFG_INT, OFF(from), NULL, 0, 0,
      "SEQ\tstart after commit SEQ (default: the latest, i.e. only new "
      "commits; 0 replays everything)" },
    { "cursor", CFG_STRING, OFF(cursor), NULL, 1, 0,
      "FILE\tkeep the last printed seq in FILE (replaced atomically after "
      "each page); start after it when FILE exists (it wins over --from)" },
    { "results", CFG_BOOL, OFF(results), NULL, 0, 0,
      "print whole results (with \"seq\" and \"job_id\"); default: "
      "{\"seq\", \"job_id\", \"key\"} only" },
    { "type", CFG_LIST, OFF(types), NULL, 1, 0,
      "T,T..\tonly results with a figure of one of these types (MONEY, "
      "PERCENT, QUANTITY, DATE, TIME, ORDINAL, CARDINAL); repeatable" },
    { "entity", CFG_STRING, OFF(entity), NULL, 1, 0,
      "NAME\tonly results naming this entity (any type; case and spacing "
      "ignored)" },
    { "no-follow", CFG_BOOL, OFF(no_follow), NULL, 0, 0,
      "stop after catching up" },
    { "publisher", CFG_STRING, OFF(publisher), NULL, 1, 0,
      "E\tPUB endpoint (default: pub.sock next to an ipc frontend, port "
      "7442 beside a tcp :7440 one)" },
};
#define N_TAIL (sizeof tail_table / sizeof tail_table[0])
enum { T_FROM = 0 }; /* row of --from */

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: excerpt tail [FLAGS]\n"
            "Print committed results as JSON Lines, in commit order, each\n"
            "once: first those already stored after --from (or the cursor),\n"
            "then new ones as they are committed, until SIGINT/SIGTERM.\n"
            "A broker outage is waited out (reconnecting with backoff, for\n"
            "ever) and tail resumes after the last seq it printed.\n"
            "\n");
    cfg_group_t g[] = { { tail_table, N_TAIL, NULL, 0 },
                        clientopt_group(NULL) };
    cfg_cli_usage(g, 2, out);
    fprintf(out,
            "\nExit: 0, 1 output or cursor file failed, 2 usage, 3 broker\n"
            "unreachable (--no-follow only: a follower waits).\n");
}

/* Derive the publisher endpoint from the frontend endpoint. */
static bool
publisher_of(const char *frontend, char *out, size_t n)
{
    size_t len = strlen(frontend);
    static const char sock[] = "frontend.sock";
    static const char port[] = ":7440";
    if (len >= sizeof sock - 1 &&
        !strcmp(frontend + len - (sizeof sock - 1), sock)) {
        snprintf(out, n, "%.*spub.sock", (int)(len - (sizeof sock - 1)),
                 frontend);
        return true;
    }
    if (!strncmp(frontend, "tcp://", 6) && len >= sizeof port - 1 &&
        !strcmp(frontend + len - (sizeof port - 1), port)) {
        snprintf(out, n, "%.*s:7442", (int)(len - (sizeof port - 1)), frontend);
        return true;
    }
    return false;
}

/* Case-folded (ASCII), space-collapsed copy of s into out (n bytes), as
 * the store's entity index compares names. */
static void
norm_name(const char *s, char *out, size_t n)
{
    size_t k = 0;
    bool space = false;
    for (; *s && k + 2 < n; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            space = k > 0;
            continue;
        }
        if (space)
            out[k++] = ' ';
        space = false;
        out[k++] = (char)((ch >= 'A' && ch <= 'Z') ? ch + 32 : ch);
    }
    out[k] = '\0';
}

typedef struct tail {
    bool results;       /* print whole results */
    unsigned types;     /* bit per figure type wanted; 0: any */
    const char *entity; /* normalised entity name, or NULL */
} tail_t;

static bool
wanted(const tail_t *t, const result_t *r)
{
    if (t->types) {
        bool hit = false;
        for (size_t i = 0; i < r->n_figures && !hit; i++)
            hit = r->figures[i].type > 0 && r->figures[i].type < 32 &&
                  (t->types & (1u << r->figures[i].type));
        if (!hit)
            return false;
    }
    if (t->entity) {
        char name[MAX_NAME];
        for (size_t i = 0; i < r->n_entities; i++) {
            norm_name(r->entities[i].name, name, sizeof name);
            if (!strcmp(name, t->entity))
                return true;
        }
        return false;
    }
    return true;
}

static int
print_item(void *ud, const wire_committed_t *it)
{
    const tail_t *t = ud;
    result_t *r = NULL;
    if (t->results || t->types || t->entity) {
        int rc = wire_result_decode(it->result, it->result_len, &r);
        if (rc) {
            fprintf(stderr, PREFIX ": seq %llu: undecodable result: %s\n",
                    (unsigned long long)it->seq, err_str(rc));
            return ERR_OK;
        }
        if (!wanted(t, r)) {
            result_destroy(&r);
            return ERR_OK;
        }
    }
    int rc;
    if (!t->results) {
        json_t *o = json_object();
        json_object_set_new(o, "seq", json_integer((json_int_t)it->seq));
        json_object_set_new(o, "job_id", json_integer((json_int_t)it->job_id));
        json_object_set_new(o, "key",
                            rjson_string(it->key ? it->key : "",
                                         it->key ? strlen(it->key) : 0));
        rc = jobjson_print(o);
    } else {
        r->seq = it->seq;
        r->job_id = it->job_id;
        rc = rjson_write_line(r, NULL, stdout);
    }
    result_destroy(&r);
    if (rc == ERR_OK && fflush(stdout) != 0)
        rc = ERR_IO;
    if (rc)
        fprintf(stderr, PREFIX ": cannot write output\n");
    return rc;
}

static bool
parse_types(const char *s, unsigned *out)
{
    char buf[256];
    if (strlen(s) >= sizeof buf)
        return false;
    strcpy(buf, s);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        for (char *p = tok; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        int t = result_figure_type_parse(tok);
        if (t <= 0 || t >= 32)
            return false;
        *out |= 1u << t;
    }
    return *out != 0;
}

int
cmd_tail(int argc, char **argv)
{
    clientopt_t co = { 0 };
    tail_args_t a;
    char entity_norm[MAX_NAME];
    tail_t t = { 0 };
    cfg_group_t g[] = { { tail_table, N_TAIL, &a, 0 }, clientopt_group(&co) };
    cfg_cli_t cli = { .prog = PREFIX, .max_pos = 0 };
    int status = cli_parse_flags(g, 2, argc, argv, &cli, usage);
    for (size_t i = 0; status == CLI_EXIT_OK && !cli.help && i < a.types.n;
         i++) {
        if (!parse_types(a.types.v[i], &t.types)) {
            fprintf(stderr,
                    PREFIX ": --type wants figure types such as "
                           "MONEY,PERCENT, not \"%s\"\n",
                    a.types.v[i]);
            status = CLI_EXIT_USAGE;
        }
    }
    cfg_cli_free(&cli);
    if (status || cli.help)
        return status;
    const char *publisher = a.publisher, *cursor = a.cursor;
    const char *entity = a.entity;
    uint64_t from = (uint64_t)a.from;
    bool have_from = g[0].seen & (1u << T_FROM), follow = !a.no_follow;
    t.results = a.results;
    if (entity) {
        norm_name(entity, entity_norm, sizeof entity_norm);
        if (!*entity_norm) {
            fprintf(stderr, PREFIX ": --entity wants a name\n");
            return CLI_EXIT_USAGE;
        }
        t.entity = entity_norm;
    }
    /* resolve the endpoint as every command does; the consumer opens its
     * own client on it */
    client_t *probe = NULL;
    status = clientopt_open(&co, PREFIX, &probe);
    client_destroy(&probe);
    if (status)
        return status;
    char pub[4300];
    if (publisher)
        snprintf(pub, sizeof pub, "%s", publisher);
    else if (follow && !publisher_of(co.resolved, pub, sizeof pub)) {
        fprintf(stderr,
                PREFIX ": cannot guess the publisher endpoint from "
                       "%s; give --publisher\n",
                co.resolved);
        return CLI_EXIT_USAGE;
    }
    const proc_signals_t sigs = { .on_stop = on_signal };
    if (proc_install_signals(&sigs))
        return CLI_EXIT_FAIL;

    consumer_opts_t o = { .frontend = co.resolved,
                          .publisher = follow ? pub : NULL,
                          .cursor_path = cursor,
                          .from = from,
                          .from_latest = !have_from,
                          .with_result = t.results || t.types || t.entity,
                          .timeout_ms = (uint32_t)co.timeout_ms,
                          .curve = co.curve ? &co.keys : NULL,
                          .server_key = co.curve ? co.server_key : NULL };
    consumer_t *c = NULL;
    int rc = consumer_open(&c, &o);
    if (rc) {
        if (rc == ERR_INVAL && cursor)
            fprintf(stderr,
                    PREFIX ": cannot use cursor file %s (it must hold one "
                           "seq) or endpoint %s\n",
                    cursor, co.resolved);
        else
            fprintf(stderr, PREFIX ": cannot start: %s\n", err_str(rc));
        return rc == ERR_INVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    }
    rc = consumer_run(c, print_item, &t, &tail_stop);
    consumer_destroy(&c);
    if (rc == ERR_OK || tail_stop)
        return CLI_EXIT_OK;
    if (!follow && rc != ERR_IO) {
        fprintf(stderr, PREFIX ": %s: %s\n", co.resolved, err_str(rc));
        return clientopt_exit_code(rc);
    }
    if (cursor && rc == ERR_IO)
        fprintf(stderr, PREFIX ": cannot write cursor file %s\n", cursor);
    return CLI_EXIT_FAIL;
}
