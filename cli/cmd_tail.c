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
            "\n"
            "  --from SEQ      start after commit SEQ (default: the latest,\n"
            "                  i.e. only new commits; 0 replays everything)\n"
            "  --cursor FILE   keep the last printed seq in FILE (replaced\n"
            "                  atomically after each page); start after it\n"
            "                  when FILE exists (it wins over --from)\n"
            "  --results       print whole results (with \"seq\" and "
            "\"job_id\");\n"
            "                  default: {\"seq\", \"job_id\", \"key\"} only\n"
            "  --type T,T..    only results with a figure of one of these\n"
            "                  types (MONEY, PERCENT, QUANTITY, DATE, TIME,\n"
            "                  ORDINAL, CARDINAL)\n"
            "  --entity NAME   only results naming this entity (any type;\n"
            "                  case and spacing ignored)\n"
            "  --no-follow     stop after catching up\n"
            "  --publisher E   PUB endpoint (default: pub.sock next to an\n"
            "                  ipc frontend, port 7442 beside a tcp :7440 "
            "one)\n");
    clientopt_usage(out);
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
    const char *publisher = NULL, *cursor = NULL, *entity = NULL;
    uint64_t from = 0;
    bool have_from = false, follow = true;
    char entity_norm[MAX_NAME];
    tail_t t = { 0 };
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int r = clientopt_parse(&co, PREFIX, argc, argv, &i);
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r > 0)
            continue;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if (!strcmp(arg, "--results")) {
            t.results = true;
        } else if (!strcmp(arg, "--no-follow")) {
            follow = false;
        } else if ((!strcmp(arg, "--from") || !strcmp(arg, "--publisher") ||
                    !strcmp(arg, "--cursor") || !strcmp(arg, "--type") ||
                    !strcmp(arg, "--entity")) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(arg, "--publisher")) {
                publisher = v;
            } else if (!strcmp(arg, "--cursor")) {
                cursor = v;
            } else if (!strcmp(arg, "--entity")) {
                entity = v;
            } else if (!strcmp(arg, "--type")) {
                if (!parse_types(v, &t.types)) {
                    fprintf(stderr,
                            PREFIX ": --type wants figure types such as "
                                   "MONEY,PERCENT, not \"%s\"\n",
                            v);
                    return CLI_EXIT_USAGE;
                }
            } else if (!clientopt_parse_u64(v, &from)) {
                fprintf(stderr, PREFIX ": --from wants a sequence number\n");
                return CLI_EXIT_USAGE;
            } else {
                have_from = true;
            }
        } else {
            fprintf(stderr, PREFIX ": unexpected argument %s\n", arg);
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
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
    int status = clientopt_open(&co, PREFIX, &probe);
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
                          .timeout_ms = co.timeout_ms,
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
