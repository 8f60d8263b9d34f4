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
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PREFIX "excerpt query"
#define DEFAULT_LIMIT 100u

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
            "\n"
            "  --limit N       print at most N jobs (default 100; 0: all)\n"
            "  --after N       start after job N (a previous \"next\")\n"
            "  --json          JSON Lines even on a terminal\n"
            "  --read-only     read the store of --data-dir directly (also\n"
            "                  done when no broker answers)\n");
    clientopt_usage(out);
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

static bool
parse_double(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
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
    wire_query_t q = { 0 };
    uint64_t limit = DEFAULT_LIMIT;
    bool json = !cli_is_tty(STDOUT_FILENO), read_only = false;
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
        } else if (!strcmp(arg, "--json")) {
            json = true;
        } else if (!strcmp(arg, "--read-only")) {
            read_only = true;
        } else if (arg[0] == '-' && i + 1 < argc) {
            const char *v = argv[++i];
            bool ok = true;
            if (!strcmp(arg, "--entity"))
                q.entity = v;
            else if (!strcmp(arg, "--type"))
                ok = type_arg(v, result_entity_type_parse, &q.entity_type) == 0;
            else if (!strcmp(arg, "--figure"))
                ok = type_arg(v, result_figure_type_parse, &q.figure) == 0;
            else if (!strcmp(arg, "--unit"))
                q.unit = v;
            else if (!strcmp(arg, "--min"))
                ok = q.has_min = parse_double(v, &q.min);
            else if (!strcmp(arg, "--max"))
                ok = q.has_max = parse_double(v, &q.max);
            else if (!strcmp(arg, "--from"))
                q.iso_from = v;
            else if (!strcmp(arg, "--to"))
                q.iso_to = v;
            else if (!strcmp(arg, "--limit"))
                ok = clientopt_parse_u64(v, &limit);
            else if (!strcmp(arg, "--after"))
                ok = clientopt_parse_u64(v, &q.after);
            else {
                fprintf(stderr, PREFIX ": unknown flag %s\n", arg);
                usage(stderr);
                return CLI_EXIT_USAGE;
            }
            if (!ok) {
                fprintf(stderr, PREFIX ": bad value \"%s\" for %s\n", v, arg);
                return CLI_EXIT_USAGE;
            }
        } else {
            fprintf(stderr, PREFIX ": unexpected argument %s\n", arg);
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    const char *why = NULL;
    if (store_query_check(&q, &why) ||
        (q.entity && strlen(q.entity) > WIRE_MAX_QUERY_NAME) ||
        (q.unit && strlen(q.unit) > WIRE_MAX_QUERY_FIELD) ||
        (q.iso_from && strlen(q.iso_from) > WIRE_MAX_QUERY_FIELD) ||
        (q.iso_to && strlen(q.iso_to) > WIRE_MAX_QUERY_FIELD)) {
        fprintf(stderr, PREFIX ": %s\n",
                why ? why : "a name or value is too long");
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    client_t *c = NULL;
    store_t *store = NULL;
    int status = clientopt_open_or_store(&co, PREFIX, read_only, &c, &store);
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
