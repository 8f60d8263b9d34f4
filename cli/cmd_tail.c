/*
 * excerpt tail: follow committed results. Subscribes to the broker's
 * publisher first, catches up from the store with Since, then prints each
 * new commit once, in seq order, filling any gap the PUB socket left with
 * Since (PROTOCOL.md, "Publisher"). It subscribes to the topic "group" (one
 * Batch of Committed per group commit: one message per commit instead of
 * one per result); the notifications only say when to read the store.
 */
#include "cli.h"
#include "clientopt.h"
#include "jobjson.h"

#include "../client/rjson.h"
#include "../common/err.h"
#include "../common/now.h"
#include "../proto/wire_batch.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define PREFIX "excerpt tail"
/* ask the store now and then even without notifications: the PUB socket
 * may have dropped the last ones */
#define RESYNC_MS 5000
#define TOPIC "group"

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
            "once: first those already stored after --from, then new ones as\n"
            "they are committed, until SIGINT/SIGTERM.\n"
            "\n"
            "  --from SEQ      start after commit SEQ (default: the latest,\n"
            "                  i.e. only new commits; 0 replays everything)\n"
            "  --results       print whole results (with \"seq\" and "
            "\"job_id\");\n"
            "                  default: {\"seq\", \"job_id\", \"key\"} only\n"
            "  --no-follow     stop after catching up\n"
            "  --publisher E   PUB endpoint (default: pub.sock next to an\n"
            "                  ipc frontend, port 7442 beside a tcp :7440 "
            "one)\n");
    clientopt_usage(out);
    fprintf(out, "\nExit: 0, 2 usage, 3 broker unreachable.\n");
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

static int
print_item(const wire_committed_t *it, bool results)
{
    if (!results) {
        json_t *o = json_object();
        json_object_set_new(o, "seq", json_integer((json_int_t)it->seq));
        json_object_set_new(o, "job_id", json_integer((json_int_t)it->job_id));
        json_object_set_new(o, "key",
                            rjson_string(it->key ? it->key : "",
                                         it->key ? strlen(it->key) : 0));
        return jobjson_print(o);
    }
    result_t *r = NULL;
    int rc = wire_result_decode(it->result, it->result_len, &r);
    if (rc) {
        fprintf(stderr, PREFIX ": seq %llu: undecodable result: %s\n",
                (unsigned long long)it->seq, err_str(rc));
        return ERR_OK;
    }
    r->seq = it->seq;
    r->job_id = it->job_id;
    rc = rjson_write_line(r, NULL, stdout);
    result_destroy(&r);
    return rc;
}

/* Print everything committed after *last; advance *last. */
static int
catch_up(client_t *c, uint64_t *last, bool results)
{
    for (;;) {
        wire_msg_t rep;
        int rc = client_since(c, *last, WIRE_MAX_BATCH, results, &rep);
        if (rc)
            return rc;
        size_t n = rep.u.since_reply.n;
        for (size_t i = 0; i < n; i++) {
            const wire_committed_t *it = &rep.u.since_reply.items[i];
            if (it->seq <= *last)
                continue;
            rc = print_item(it, results);
            if (rc) {
                wire_msg_release(&rep);
                return rc;
            }
            *last = it->seq;
        }
        wire_msg_release(&rep);
        if (fflush(stdout) != 0)
            return ERR_IO;
        if (n == 0)
            return ERR_OK;
    }
}

/* true if the encoded Committed env is past last. */
static bool
is_newer(const uint8_t *env, size_t len, uint64_t last)
{
    wire_msg_t m;
    bool newer = false;
    if (wire_decode(env, len, 0, &m) == ERR_OK) {
        newer = m.kind == WIRE_COMMITTED && m.u.committed.seq > last;
        wire_msg_release(&m);
    }
    return newer;
}

/* Read every pending notification (a Batch of Committed, or one alone);
 * *newer set when one is past last. */
static int
drain_sub(void *sub, uint64_t last, bool *newer)
{
    for (;;) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        bool more = true;
        while (more) {
            if (zmq_msg_recv(&part, sub, ZMQ_DONTWAIT) < 0) {
                int e = errno;
                zmq_msg_close(&part);
                if (e == EAGAIN || e == EINTR)
                    return ERR_OK;
                return ERR_IO;
            }
            more = zmq_msg_more(&part);
        }
        const uint8_t *env = zmq_msg_data(&part);
        size_t len = zmq_msg_size(&part);
        wire_batch_iter_t it;
        const uint8_t *item;
        size_t item_len;
        (void)wire_batch_open(env, len, &it); /* bad: it yields nothing */
        while (!*newer && wire_batch_next(&it, &item, &item_len) == 1)
            *newer = is_newer(item, item_len, last);
        zmq_msg_close(&part);
    }
}

int
cmd_tail(int argc, char **argv)
{
    clientopt_t co = { 0 };
    const char *publisher = NULL;
    uint64_t from = 0;
    bool have_from = false, results = false, follow = true;
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
            results = true;
        } else if (!strcmp(arg, "--no-follow")) {
            follow = false;
        } else if ((!strcmp(arg, "--from") || !strcmp(arg, "--publisher")) &&
                   i + 1 < argc) {
            if (!strcmp(arg, "--publisher")) {
                publisher = argv[++i];
            } else if (!clientopt_parse_u64(argv[++i], &from)) {
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
    client_t *c = NULL;
    int status = clientopt_open(&co, PREFIX, &c);
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
        client_destroy(&c);
        return CLI_EXIT_USAGE;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    void *ctx = NULL, *sub = NULL;
    int rc = ERR_OK;
    if (follow) {
        /* subscribe before catching up so that nothing falls in between */
        ctx = zmq_ctx_new();
        sub = ctx ? zmq_socket(ctx, ZMQ_SUB) : NULL;
        int zero = 0;
        int64_t maxmsg = (int64_t)WIRE_MAX_FRAME;
        if (!sub || zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero) ||
            zmq_setsockopt(sub, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) ||
            zmq_setsockopt(sub, ZMQ_SUBSCRIBE, TOPIC, strlen(TOPIC)) ||
            (co.curve && curve_client_apply(sub, &co.keys, co.server_key)) ||
            zmq_connect(sub, pub) != 0) {
            fprintf(stderr, PREFIX ": cannot subscribe to %s: %s\n", pub,
                    zmq_strerror(errno));
            status = CLI_EXIT_USAGE;
            goto out;
        }
    }
    uint64_t last = from;
    if (!have_from) {
        wire_stats_t st;
        rc = client_stats(c, &st);
        if (rc)
            goto fail;
        last = st.last_seq;
    }
    rc = catch_up(c, &last, results);
    if (rc)
        goto fail;
    uint64_t resync = now_mono_ms() + RESYNC_MS;
    while (follow && !tail_stop) {
        zmq_pollitem_t it = { .socket = sub, .events = ZMQ_POLLIN };
        int n = zmq_poll(&it, 1, 500);
        if (n < 0 && errno != EINTR) {
            rc = ERR_IO;
            goto fail;
        }
        bool newer = false;
        if (n > 0 && drain_sub(sub, last, &newer)) {
            rc = ERR_IO;
            goto fail;
        }
        if (newer || now_mono_ms() >= resync) {
            rc = catch_up(c, &last, results);
            if (rc)
                goto fail;
            resync = now_mono_ms() + RESYNC_MS;
        }
    }
    goto out;
fail:
    if (tail_stop)
        goto out; /* SIGINT/SIGTERM cut a request short: a clean stop */
    if (rc == ERR_IO && !*client_last_error(c))
        fprintf(stderr, PREFIX ": cannot write output\n");
    else
        fprintf(stderr, PREFIX ": %s: %s\n", co.resolved,
                *client_last_error(c) ? client_last_error(c) : err_str(rc));
    status = clientopt_exit_code(rc);
out:
    if (sub)
        zmq_close(sub);
    if (ctx)
        zmq_ctx_term(ctx);
    client_destroy(&c);
    return status;
}
