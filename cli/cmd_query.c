/*
 * excerpt query: search the store (PROTOCOL.md "Queries"): jobs that name
 * an entity, or figures across the store, page by page. From the broker,
 * or read-only from a data dir when no broker runs; the same output.
 */
#include "cli.h"
#include "clientopt.h"
#include "jobjson.h"

#include "../client/rjson.h"
#include "../common/err.h"
#include "../storage/store_query.h"

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PREFIX "excerpt query"

typedef struct query_args {
    wire_query_t q;     /* entity, unit, min, max, iso_from, iso_to */
    const char *type;   /* --type, parsed into q.entity_type */
    const char *figure; /* --figure, parsed into q.figure */
    int64_t limit;      /* --limit, 0: all */
    int64_t after;      /* --after */
    bool json;          /* --json */
    bool read_only;     /* --read-only */
} query_args_t;

#define OFF(f) offsetof(query_args_t, f)
static const cfg_entry_t query_table[] = {
    { "entity", CFG_STRING, OFF(q.entity), NULL, 0, WIRE_MAX_QUERY_NAME,
      "NAME\tjobs whose result names this entity" },
    { "type", CFG_STRING, OFF(type), NULL, 0, 0,
      "T\twith --entity: only this entity type" },
    { "figure", CFG_STRING, OFF(figure), NULL, 0, 0,
      "T\tfigures of this type across the store" },
    { "unit", CFG_STRING, OFF(q.unit), NULL, 0, WIRE_MAX_QUERY_FIELD,
      "U\twith --figure: only this unit" },
    { "min", CFG_DOUBLE, OFF(q.min), NULL, 0, 0,
      "X\twith --figure: value >= X" },
    { "max", CFG_DOUBLE, OFF(q.max), NULL, 0, 0,
      "X\twith --figure: value <= X" },
    { "from", CFG_STRING, OFF(q.iso_from), NULL, 0, WIRE_MAX_QUERY_FIELD,
      "ISO\tDATE/TIME figures from ISO on" },
    { "to", CFG_STRING, OFF(q.iso_to), NULL, 0, WIRE_MAX_QUERY_FIELD,
      "ISO\tDATE/TIME figures up to ISO (a prefix counts as equal)" },
    { "limit", CFG_INT, OFF(limit), "100", 0, 0,
      "N\tprint at most N jobs (0: all)" },
    { "after", CFG_INT, OFF(after), "0", 0, 0,
      "N\tstart after job N (a previous \"next\")" },
    { "json", CFG_BOOL, OFF(json), NULL, 0, 0,
      "JSON Lines even on a terminal" },
    { "read-only", CFG_BOOL, OFF(read_only), NULL, 0, 0,
      "read the store of --data-dir directly (also done when no broker "
      "answers)" },
};
#define N_QUERY (sizeof query_table / sizeof query_table[0])
enum { Q_MIN = 4, Q_MAX = 5 }; /* rows of --min and --max */

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: excerpt query --entity NAME [--type T] [FLAGS]\n"
            "       excerpt query --figure T [--unit U] [--min X] [--max X]\n"
            "                     [--from ISO] [--to ISO] [FLAGS]\n"
            "Jobs whose result names an entity (case and spacing ignored;\n"
            "--type PERSON, ORG, GPE, LOC, FAC or NORP), or figures of one\n"
            "type across the store (MONEY, PERCENT, QUANTITY, DATE, TIME,\n"
            "ORDINAL, CARDINAL), with their unit (--unit RUB), value bounds\n"
            "(inclusive) or, for DATE/TIME, an ISO range (--to 2024 takes\n"
            "2024-05). One JSON line per job (a table on a terminal), in job\n"
            "id order. When more remain, stderr says \"next: --after N\".\n"
            "\n");
    cfg_group_t g[] = { { query_table, N_QUERY, NULL, 0 },
                        clientopt_group(NULL) };
    cfg_cli_usage(g, 2, out);
    fprintf(out, "\nExit: 0, 1 refused, 2 usage, 3 no broker and no store.\n");
}

static json_t *
hit_json(const wire_query_hit_t *h)
{
    json_t *o = json_object();
    json_object_set_new(o, "job_id", json_integer((json_int_t)h->job_id));
    json_object_set_new(o, "seq", json_integer((json_int_t)h->seq));
    json_object_set_new(o, "key", rjson_string(h->key, strlen(h->key)));
    json_object_set_new(o, "source",
                        rjson_string(h->source_url, strlen(h->source_url)));
    json_object_set_new(o, "title", rjson_string(h->title, strlen(h->title)));
    if (h->n_figures) {
        json_t *a = json_array();
        for (size_t i = 0; i < h->n_figures; i++) {
            const wire_figure_t *w = &h->figures[i];
            result_figure_t f = { .type = w->type,
                                  .text = (char *)w->text,
                                  .value = w->value,
                                  .has_value = w->has_value,
                                  .iso = (char *)w->iso,
                                  .unit = (char *)w->unit,
                                  .start = w->start,
                                  .end = w->end,
                                  .turn = w->turn };
            json_array_append_new(a, rjson_figure(&f));
        }
        json_object_set_new(o, "figures", a);
    }
    return o;
}

static void
table_row(const wire_query_hit_t *h)
{
    const char *src = *h->title ? h->title : h->source_url;
    if (!h->n_figures) {
        printf("%8llu %8llu  %.60s\n", (unsigned long long)h->job_id,
               (unsigned long long)h->seq, src);
        return;
    }
    for (size_t i = 0; i < h->n_figures; i++) {
        const wire_figure_t *f = &h->figures[i];
        char val[64];
        if (f->iso && *f->iso)
            snprintf(val, sizeof val, "%s", f->iso);
        else if (f->has_value)
            snprintf(val, sizeof val, "%.6g", f->value);
        else
            snprintf(val, sizeof val, "-");
        printf("%8llu %8llu %16s %-6s %-30.30s %.30s\n",
               (unsigned long long)h->job_id, (unsigned long long)h->seq, val,
               f->unit ? f->unit : "", f->text, src);
    }
}

/* One page from the store read-only: the broker's answer. */
static int
page_local(store_t *s, const wire_query_t *q, wire_msg_t *m,
           store_query_reply_t *page)
{
    int rc = store_read_begin(s);
    if (rc)
        return rc;
    rc = store_query_run(s, q, page);
    if (rc) {
        store_read_end(s);
        return rc;
    }
    store_query_reply_msg(page, 0, m);
    return ERR_OK;
}

static int
type_arg(const char *v, int (*parse)(const char *), int *out)
{
    char buf[32];
    size_t n = strlen(v);
    if (n >= sizeof buf)
        return -1;
    for (size_t i = 0; i <= n; i++)
        buf[i] = (char)toupper((unsigned char)v[i]);
    *out = parse(buf);
    return *out > 0 ? 0 : -1;
}

int
cmd_query(int argc, char **argv)
{
    clientopt_t co = { 0 };
    query_args_t a;
    cfg_group_t g[] = { { query_table, N_QUERY, &a, 0 }, clientopt_group(&co) };
    cfg_cli_t cli = { .prog = PREFIX, .max_pos = 0 };
    memset(&a, 0, sizeof a);
    int status = cli_parse_flags(g, 2, argc, argv, &cli, usage);
    cfg_cli_free(&cli);
    if (status || cli.help)
        return status;
    wire_query_t q = a.q;
    q.has_min = g[0].seen & (1u << Q_MIN);
    q.has_max = g[0].seen & (1u << Q_MAX);
    uint64_t limit = (uint64_t)a.limit;
    q.after = (uint64_t)a.after;
    bool json = a.json || !cli_is_tty(STDOUT_FILENO), read_only = a.read_only;
    if (a.type && type_arg(a.type, result_entity_type_parse, &q.entity_type)) {
        fprintf(stderr, PREFIX ": bad value \"%s\" for --type\n", a.type);
        return CLI_EXIT_USAGE;
    }
    if (a.figure && type_arg(a.figure, result_figure_type_parse, &q.figure)) {
        fprintf(stderr, PREFIX ": bad value \"%s\" for --figure\n", a.figure);
        return CLI_EXIT_USAGE;
    }
    const char *why = NULL;
    /* lengths were bounded by the table */
    if (store_query_check(&q, &why)) {
        fprintf(stderr, PREFIX ": %s\n", why ? why : "bad query");
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    client_t *c = NULL;
    store_t *store = NULL;
    status = clientopt_open_or_store(&co, PREFIX, read_only, &c, &store);
    if (status)
        return status;
    uint64_t printed = 0;
    int rc = ERR_OK;
    for (;;) {
        uint64_t left = limit ? limit - printed : STORE_QUERY_MAX_LIMIT;
        q.limit =
            (uint32_t)(left < STORE_QUERY_MAX_LIMIT ? left
                                                    : STORE_QUERY_MAX_LIMIT);
        wire_msg_t m;
        store_query_reply_t page = { 0 };
        rc = store ? page_local(store, &q, &m, &page) : client_query(c, &q, &m);
        if (rc)
            break;
        for (size_t i = 0; i < m.u.query_reply.n && rc == ERR_OK; i++) {
            const wire_query_hit_t *h = &m.u.query_reply.hits[i];
            if (json)
                rc = jobjson_print(hit_json(h));
            else
                table_row(h);
            printed++;
        }
        q.after = m.u.query_reply.next;
        if (store) {
            store_query_reply_free(&page);
            store_read_end(store);
        } else {
            wire_msg_release(&m);
        }
        if (rc || q.after == 0 || (limit && printed >= limit))
            break;
    }
    if (rc == ERR_OK && fflush(stdout) != 0)
        rc = ERR_IO;
    if (rc == ERR_OK && q.after)
        fprintf(stderr, "next: --after %llu\n", (unsigned long long)q.after);
    if (rc) {
        if (c)
            fprintf(stderr, PREFIX ": %s: %s\n", co.resolved,
                    *client_last_error(c) ? client_last_error(c) : err_str(rc));
        else
            fprintf(stderr, PREFIX ": %s\n", err_str(rc));
        status = clientopt_exit_code(rc);
    }
    client_destroy(&c);
    store_destroy(&store);
    return status;
}
