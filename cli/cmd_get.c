/*
 * excerpt get: one job by id or idempotency key, printed as JSON: the
 * result (client/rjson shape) plus a "job" object with the job record.
 */
#include "cli.h"
#include "clientopt.h"
#include "jobjson.h"

#include "../client/rjson.h"
#include "../common/err.h"
#include "../common/now.h"
#include "../storage/store_query.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PREFIX "excerpt get"

typedef struct get_args {
    const char *key; /* --key, or NULL */
    bool with_text;  /* --text */
    int64_t wait_s;  /* --wait */
    bool pretty;     /* --pretty */
    bool read_only;  /* --read-only */
} get_args_t;

#define OFF(f) offsetof(get_args_t, f)
static const cfg_entry_t get_table[] = {
    { "key", CFG_STRING, OFF(key), NULL, 1, WIRE_MAX_KEY,
      "K\tlook the job up by idempotency key" },
    { "text", CFG_BOOL, OFF(with_text), NULL, 0, 0,
      "include the transcript as \"text\"" },
    { "wait", CFG_INT, OFF(wait_s), "0", 0, 86400,
      "SECS\twait up to SECS for the job to be DONE or DEAD" },
    { "pretty", CFG_BOOL, OFF(pretty), NULL, 0, 0, "indented JSON" },
    { "read-only", CFG_BOOL, OFF(read_only), NULL, 0, 0,
      "read the store of --data-dir directly (also done when no broker "
      "answers)" },
};
#define N_GET (sizeof get_table / sizeof get_table[0])

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: excerpt get [FLAGS] JOB_ID\n"
            "       excerpt get [FLAGS] --key K\n"
            "Print a job and its result as one line of JSON: the result's\n"
            "fields (source, speakers, turns, entities, figures, ...) and\n"
            "\"job\" (id, key, state, attempts, ...). A job that is not DONE\n"
            "yet prints only \"job\".\n"
            "\n");
    cfg_group_t g[] = { { get_table, N_GET, NULL, 0 }, clientopt_group(NULL) };
    cfg_cli_usage(g, 2, out);
    fprintf(out, "\nExit: 0 found, 1 the job is dead-lettered (or the wait "
                 "ran out),\n2 usage, 3 broker unreachable, 4 no such job or "
                 "key.\n");
}

static void
pause_ms(long ms)
{
    struct timespec ts = { .tv_sec = ms / 1000,
                           .tv_nsec = (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* client_get's answer from a store opened read-only: the reply borrows
 * from a read txn left open (store_read_end or store_destroy ends it). */
static int
get_local(store_t *s, uint64_t job_id, const char *key, bool with_text,
          wire_msg_t *rep, wire_msg_t *text, result_t **r)
{
    int rc = store_read_begin(s);
    if (rc)
        return rc;
    rc = store_query_get(s, job_id, key, with_text, rep, text);
    if (rc == ERR_OK && rep->u.get_reply.result) {
        rc = wire_result_decode(rep->u.get_reply.result,
                                rep->u.get_reply.result_len, r);
        if (rc) {
            wire_msg_release(text);
            rc = ERR_PROTO;
        }
    }
    if (rc)
        store_read_end(s);
    return rc;
}

int
cmd_get(int argc, char **argv)
{
    clientopt_t co = { 0 };
    get_args_t a;
    cfg_group_t g[] = { { get_table, N_GET, &a, 0 }, clientopt_group(&co) };
    cfg_cli_t cli = { .prog = PREFIX, .max_pos = -1 };
    int status = cli_parse_flags(g, 2, argc, argv, &cli, usage);
    uint64_t job_id = 0;
    bool have_id = cli.n_pos > 0;
    if (status == CLI_EXIT_OK && !cli.help && cli.n_pos > 1) {
        fprintf(stderr, PREFIX ": one job at a time\n");
        status = CLI_EXIT_USAGE;
    } else if (status == CLI_EXIT_OK && !cli.help && have_id &&
               (!clientopt_parse_u64(cli.pos[0], &job_id) || job_id == 0)) {
        fprintf(stderr, PREFIX ": \"%s\" is not a job id\n", cli.pos[0]);
        status = CLI_EXIT_USAGE;
    }
    cfg_cli_free(&cli);
    if (status || cli.help)
        return status;
    const char *key = a.key;
    uint64_t wait_s = (uint64_t)a.wait_s;
    bool with_text = a.with_text, pretty = a.pretty, read_only = a.read_only;
    if (have_id == (key != NULL)) {
        fprintf(stderr, PREFIX ": give a JOB_ID or --key K\n");
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    client_t *c = NULL;
    store_t *store = NULL;
    status = clientopt_open_or_store(&co, PREFIX, read_only, &c, &store);
    if (status)
        return status;
    uint64_t deadline = now_mono_ms() + wait_s * 1000;
    wire_msg_t rep, text;
    result_t *r = NULL;
    int rc;
    memset(&text, 0, sizeof text);
    for (;;) {
        if (store)
            rc = get_local(store, job_id, key, with_text, &rep, &text, &r);
        else
            rc = client_get(c, job_id, key, with_text, &rep, &r);
        if (rc)
            break;
        int state = rep.u.get_reply.job.state;
        if (state == WIRE_JOB_DONE || state == WIRE_JOB_DEAD ||
            now_mono_ms() >= deadline)
            break;
        wire_msg_release(&rep);
        wire_msg_release(&text);
        result_destroy(&r);
        if (store)
            store_read_end(store);
        pause_ms(200);
    }
    if (rc) {
        if (rc == ERR_NOTFOUND && key)
            fprintf(stderr, PREFIX ": no job with key %s\n", key);
        else if (rc == ERR_NOTFOUND)
            fprintf(stderr, PREFIX ": no job %llu\n",
                    (unsigned long long)job_id);
        else if (store)
            fprintf(stderr, PREFIX ": cannot read the store: %s\n",
                    err_str(rc));
        else
            fprintf(stderr, PREFIX ": %s: %s\n", co.resolved,
                    *client_last_error(c) ? client_last_error(c) : err_str(rc));
        client_destroy(&c);
        store_destroy(&store);
        return clientopt_exit_code(rc);
    }
    const wire_job_info_t *info = &rep.u.get_reply.job;
    json_t *o = r ? rjson_from_result(r, info->source_url) : json_object();
    json_object_set_new(o, "job", jobjson_from_info(info));
    if (with_text && rep.u.get_reply.text)
        json_object_set_new(
            o, "text",
            rjson_string(rep.u.get_reply.text, rep.u.get_reply.text_len));
    int jrc = json_dumpf(o, stdout,
                         (pretty ? JSON_INDENT(2) : JSON_COMPACT) |
                             JSON_REAL_PRECISION(17));
    json_decref(o);
    if (jrc != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
        status = CLI_EXIT_FAIL;
    if (info->state == WIRE_JOB_DEAD) {
        fprintf(stderr, PREFIX ": job %llu is dead-lettered: %s\n",
                (unsigned long long)info->id,
                info->last_error ? info->last_error : "");
        status = CLI_EXIT_FAIL;
    } else if (wait_s && info->state != WIRE_JOB_DONE) {
        fprintf(stderr, PREFIX ": job %llu still %s after %llu s\n",
                (unsigned long long)info->id, wire_job_state_name(info->state),
                (unsigned long long)wait_s);
        status = CLI_EXIT_FAIL;
    }
    result_destroy(&r);
    wire_msg_release(&rep);
    wire_msg_release(&text);
    client_destroy(&c);
    store_destroy(&store); /* ends the read txn the reply borrowed from */
    return status;
}
