/*
 * gen_seeds: writes the seed corpora of the fuzz targets, built from the
 * messages the unit tests use (tests/test_wire.c and friends), into
 * DIR/<target>/. Its output is checked in under tests/fuzz/corpus/; run
 * it again after a protocol change: gen_seeds tests/fuzz/corpus
 */
#include "common/err.h"
#include "common/result.h"
#include "extract.h" /* the engine target's own directory */
#include "proto/wire.h"
#include "proto/wire_batch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *out_dir;

static void
die(const char *what)
{
    fprintf(stderr, "gen_seeds: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Write len bytes as DIR/target/name. */
static void
put(const char *target, const char *name, const void *buf, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        die(path);
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(buf, 1, len, f) != len) || fclose(f) != 0)
        die(path);
}

/* Encode m and write it to each target named (NULL-terminated). */
static void
put_msg(const wire_msg_t *m, const char *name, const char *const *targets)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (wire_encode(m, &buf, &len) != ERR_OK) {
        fprintf(stderr, "gen_seeds: cannot encode %s\n", name);
        exit(1);
    }
    for (size_t i = 0; targets[i]; i++)
        put(targets[i], name, buf, len);
    free(buf);
}

static const char *const k_wire[] = { "wire_decode", "wire_borrow",
                                      "wire_batch", NULL };
static const char *const k_job[] = { "wire_decode", "wire_borrow", "wire_batch",
                                     "wire_splice", NULL };

static void
job_fill(wire_job_t *j)
{
    static const char *const keys[] = { "lang", "site" };
    static const char *const values[] = { "en", "example" };
    memset(j, 0, sizeof *j);
    j->id = 77;
    j->key = "sha256:abc";
    j->source_url = "http://example.org/1";
    j->title = "Meeting on budgets";
    j->published = "2020-06-30";
    j->text = "Anna Ivanova: Hello.\nBoris Petrov: 7.5 percent.";
    j->text_len = strlen(j->text);
    j->n_meta = 2;
    j->meta_keys = keys;
    j->meta_values = values;
    j->priority = 7;
}

static void
gen_jobs(void)
{
    wire_msg_t m = { .kind = WIRE_SUBMIT, .request_id = 42 };
    job_fill(&m.u.submit.job);
    put_msg(&m, "submit", k_job);
    m.u.submit.job = (wire_job_t){ .text = "x", .text_len = 1 };
    put_msg(&m, "submit_bare", k_job);
    /* refused as ERR_UTF8 (BAD_UTF8): the first crash of fuzz_wire_decode,
     * whose check did not know that code */
    m.u.submit.job = (wire_job_t){ .text = "ok \xff\xfe", .text_len = 5 };
    put_msg(&m, "submit_bad_utf8", k_job);

    wire_msg_t d = { .kind = WIRE_DISPATCH, .request_id = 9 };
    job_fill(&d.u.dispatch.job);
    d.u.dispatch.attempt = 3;
    d.u.dispatch.lease_ms = 60000;
    put_msg(&d, "dispatch", k_job);
    d.u.dispatch.job.n_meta = 0;
    d.u.dispatch.job.priority = 0;
    put_msg(&d, "dispatch_no_meta", k_job);
    /* every field at its limit, then the key one byte over */
    static char big[WIRE_MAX_FIELD + 1];
    static char mk[WIRE_MAX_META][4];
    static const char *keys[WIRE_MAX_META], *vals[WIRE_MAX_META];
    memset(big, 'b', WIRE_MAX_FIELD);
    for (size_t i = 0; i < WIRE_MAX_META; i++) {
        snprintf(mk[i], sizeof mk[i], "k%02zu", i);
        keys[i] = mk[i];
        vals[i] = "v";
    }
    d.u.dispatch.job.key = big + WIRE_MAX_FIELD - WIRE_MAX_KEY;
    d.u.dispatch.job.title = big;
    d.u.dispatch.job.n_meta = WIRE_MAX_META;
    d.u.dispatch.job.meta_keys = keys;
    d.u.dispatch.job.meta_values = vals;
    put_msg(&d, "dispatch_limits", k_job);
    d.u.dispatch.job.key--;
    put_msg(&d, "dispatch_key_over", k_job);
    d.u.dispatch.job = (wire_job_t){ 0 };
    d.u.dispatch.attempt = 0;
    d.u.dispatch.lease_ms = 0;
    put_msg(&d, "dispatch_empty", k_job);
}

static void
gen_small(void)
{
    static const uint8_t blob[] = { 1, 2, 0, 3 };
    static const uint64_t ids[] = { 10, 11, 12 };
    static const uint32_t att[] = { 1, 2, 3 };
    wire_msg_t m = { .kind = WIRE_ACCEPTED, .request_id = 1 };
    m.u.accepted.job_id = 1234567890123ull;
    m.u.accepted.duplicate = true;
    put_msg(&m, "accepted", k_wire);

    m = (wire_msg_t){ .kind = WIRE_REJECTED, .request_id = 2 };
    m.u.rejected.code = WIRE_CODE_QUEUE_FULL;
    m.u.rejected.reason = "queue holds 10 jobs";
    m.u.rejected.retry_after_ms = 250;
    m.u.rejected.batch = true;
    put_msg(&m, "rejected", k_wire);

    m = (wire_msg_t){ .kind = WIRE_READY, .request_id = 3 };
    m.u.ready.credit = 4;
    m.u.ready.capacity = 8;
    m.u.ready.worker_name = "host:12";
    m.u.ready.batch = true;
    put_msg(&m, "ready", k_wire);

    m = (wire_msg_t){ .kind = WIRE_DONE, .request_id = 4 };
    m.u.done.job_id = 5;
    m.u.done.attempt = 2;
    m.u.done.result = blob;
    m.u.done.result_len = sizeof blob;
    put_msg(&m, "done", k_wire);

    m = (wire_msg_t){ .kind = WIRE_FAILED, .request_id = 5 };
    m.u.failed.job_id = 6;
    m.u.failed.attempt = 1;
    m.u.failed.reason = "text too large";
    m.u.failed.permanent = true;
    put_msg(&m, "failed", k_wire);

    m = (wire_msg_t){ .kind = WIRE_HEARTBEAT, .request_id = 6 };
    m.u.heartbeat.n = 3;
    m.u.heartbeat.job_ids = ids;
    m.u.heartbeat.attempts = att;
    put_msg(&m, "heartbeat", k_wire);

    m = (wire_msg_t){ .kind = WIRE_DONE_ACK, .request_id = 8 };
    m.u.done_ack.job_id = 9;
    m.u.done_ack.attempt = 4;
    m.u.done_ack.code = WIRE_CODE_NOT_FOUND;
    put_msg(&m, "done_ack", k_wire);

    m = (wire_msg_t){ .kind = WIRE_GET, .request_id = 9 };
    m.u.get.key = "k1";
    m.u.get.with_text = true;
    put_msg(&m, "get", k_wire);

    m = (wire_msg_t){ .kind = WIRE_SINCE, .request_id = 10 };
    m.u.since.after_seq = 99;
    m.u.since.limit = 50;
    m.u.since.with_result = true;
    put_msg(&m, "since", k_wire);

    m = (wire_msg_t){ .kind = WIRE_STATS, .request_id = 11 };
    put_msg(&m, "stats", k_wire);

    m = (wire_msg_t){ .kind = WIRE_DEAD_LIST, .request_id = 12 };
    m.u.dead_list.after_job_id = 3;
    m.u.dead_list.limit = 20;
    put_msg(&m, "dead_list", k_wire);

    m = (wire_msg_t){ .kind = WIRE_DEAD_REQUEUE, .request_id = 13 };
    m.u.dead_ids.n = 2;
    m.u.dead_ids.job_ids = ids;
    put_msg(&m, "dead_requeue", k_wire);
    m.kind = WIRE_DEAD_PURGE;
    m.u.dead_ids.n = 0;
    m.u.dead_ids.all = true;
    put_msg(&m, "dead_purge_all", k_wire);

    m = (wire_msg_t){ .kind = WIRE_DEAD_REPLY, .request_id = 14 };
    m.u.dead_reply.count = 17;
    put_msg(&m, "dead_reply", k_wire);
}

static void
gen_replies(void)
{
    static const uint8_t res[] = { 9, 9, 9 };
    wire_committed_t items[2] = {
        { .seq = 1, .job_id = 10, .key = "a", .result = res, .result_len = 3 },
        { .seq = 2, .job_id = 11, .key = "b" },
    };
    wire_msg_t m = { .kind = WIRE_SINCE_REPLY, .request_id = 20 };
    m.u.since_reply.n = 2;
    m.u.since_reply.items = items;
    m.u.since_reply.last_seq = 2;
    put_msg(&m, "since_reply", k_wire);

    m = (wire_msg_t){ .kind = WIRE_COMMITTED, .request_id = 21 };
    m.u.committed = items[0];
    put_msg(&m, "committed", k_wire);

    m = (wire_msg_t){ .kind = WIRE_GET_REPLY, .request_id = 22 };
    m.u.get_reply.job = (wire_job_info_t){ .id = 5,
                                           .key = "k",
                                           .state = WIRE_JOB_DONE,
                                           .attempts = 2,
                                           .priority = 3,
                                           .submitted_ms = 1000,
                                           .finished_ms = 2000,
                                           .seq = 8,
                                           .last_error = "lease expired",
                                           .source_url = "u",
                                           .title = "t",
                                           .text_bytes = 4 };
    m.u.get_reply.result = res;
    m.u.get_reply.result_len = 3;
    m.u.get_reply.text = "abcd";
    m.u.get_reply.text_len = 4;
    put_msg(&m, "get_reply", k_wire);

    const char *hist[] = { "attempt 1: boom", "attempt 2: boom" };
    wire_dead_t dead = { .job = { .id = 3, .key = "x", .state = WIRE_JOB_DEAD },
                         .reason = "boom",
                         .n_history = 2,
                         .history = hist };
    m = (wire_msg_t){ .kind = WIRE_DEAD_LIST_REPLY, .request_id = 23 };
    m.u.dead_list_reply.n = 1;
    m.u.dead_list_reply.items = &dead;
    put_msg(&m, "dead_list_reply", k_wire);

    m = (wire_msg_t){ .kind = WIRE_STATS_REPLY, .request_id = 24 };
    m.u.stats_reply = (wire_stats_t){ .ready = 1,
                                      .leased = 2,
                                      .delayed = 3,
                                      .done = 4,
                                      .dead = 5,
                                      .last_seq = 6,
                                      .workers = 7,
                                      .commit_rate = 1.5,
                                      .map_limit = 1ull << 40 };
    put_msg(&m, "stats_reply", k_wire);
}

/* Batches as peers send them: Dispatches and DoneAcks to a worker,
 * a worker's Dones and Readys, Submits from `excerpt submit`. */
static void
gen_batches(void)
{
    wire_batch_t b;
    wire_msg_t d = { .kind = WIRE_DISPATCH, .request_id = 1 };
    job_fill(&d.u.dispatch.job);
    d.u.dispatch.attempt = 1;
    d.u.dispatch.lease_ms = 30000;
    wire_msg_t a = { .kind = WIRE_DONE_ACK, .request_id = 2 };
    a.u.done_ack.job_id = 77;
    a.u.done_ack.attempt = 1;
    wire_msg_t r = { .kind = WIRE_READY, .request_id = 3 };
    r.u.ready.credit = 2;
    r.u.ready.batch = true;
    const wire_msg_t *sets[][3] = { { &d, &a, &d }, { &r, &a, NULL } };
    const char *names[] = { "batch_dispatch", "batch_ready" };
    for (size_t s = 0; s < 2; s++) {
        wire_batch_init(&b);
        for (size_t i = 0; i < 3 && sets[s][i]; i++) {
            uint8_t *buf = NULL;
            size_t len = 0;
            if (wire_encode(sets[s][i], &buf, &len) != ERR_OK)
                exit(1);
            wire_batch_add(&b, buf, len);
            free(buf);
        }
        uint8_t *frame = NULL;
        size_t len = 0;
        if (wire_batch_finish(&b, &frame, &len) != ERR_OK)
            exit(1);
        put("wire_batch", names[s], frame, len);
        put("wire_decode", names[s], frame, len);
        free(frame);
    }
}

/* A Result as a seed of result_check, and of store_done behind its mode
 * byte (nested and flat group). */
static void
put_result(const char *name, const uint8_t *buf, size_t len)
{
    put("result_check", name, buf, len);
    uint8_t *m = malloc(len + 1);
    if (!m)
        die("malloc");
    memcpy(m + 1, buf, len);
    char mode_name[64];
    for (int mode = 0; mode < 2; mode++) {
        m[0] = (uint8_t)mode;
        snprintf(mode_name, sizeof mode_name, "%s_%s", name,
                 mode ? "flat" : "nested");
        put("store_done", mode_name, m, len + 1);
    }
    free(m);
}

/* Short transcripts like the engine tests', and broken variants. */
static const char *const k_texts[] = {
    "Mikhail Mishustin: Good afternoon. The Ministry of Finance in Moscow "
    "expects exports to Kazakhstan to grow by 7.5 percent in 2020, or "
    "$6.9 billion.\n"
    "Pavel Ivanov: Thank you. We shipped 1.2 million tonnes by June 30.\n"
    "Mikhail Mishustin: Mr Ivanov, the second stage starts on 1 March.\n",
    "Vladimir Putin, President of Russia: Colleagues, RUB 200 bn goes to "
    "the Amur Region; the Power of Siberia pipeline is 3,000 km long.\r\n"
    "Askar Mamin: In the first half of 2020, trade rose 12%.\r\n",
    "Anna Ivanova: Hello.\nBoris Petrov: 7.5 percent.",
    ("Question: What about Uzbek farmers?\nAnswer: 45 square metres, "
     "the 3rd time, at 10:30."),
};

static void
gen_texts(const extract_t *ex)
{
    char name[32];
    for (size_t i = 0; i < sizeof k_texts / sizeof *k_texts; i++) {
        size_t n = strlen(k_texts[i]);
        snprintf(name, sizeof name, "text_%zu", i);
        put("extract", name, k_texts[i], n);
        /* invalid UTF-8, a NUL and a lone CR spliced in */
        char *bad = malloc(n + 4);
        if (!bad)
            die("malloc");
        memcpy(bad, k_texts[i], n);
        size_t at = n / 3;
        memcpy(bad + at, "\xff\xc3\0\r", 4);
        memcpy(bad + n, "\xe2\x82", 2);
        snprintf(name, sizeof name, "text_%zu_bad", i);
        put("extract", name, bad, n + 2);
        free(bad);

        result_t *r = NULL;
        uint8_t *buf = NULL;
        size_t len = 0;
        if (extract_run(ex, k_texts[i], n, &r) != ERR_OK)
            exit(1);
        r->extract_us = 0; /* a timing: the seeds stay the same bytes */
        if (wire_result_encode(r, &buf, &len) != ERR_OK)
            exit(1);
        snprintf(name, sizeof name, "result_%zu", i);
        put_result(name, buf, len);
        free(buf);
        r->job_id = 1000 + i;
        r->seq = 7;
        r->extract_us = 1234;
        if (wire_result_encode(r, &buf, &len) != ERR_OK)
            exit(1);
        snprintf(name, sizeof name, "result_%zu_committed", i);
        put_result(name, buf, len);
        free(buf);
        result_destroy(&r);
    }
    /* an Entity without mentions: UBSan's "zero offset to null pointer"
     * in result_reserve_mentions, found by fuzz_result_check */
    static const uint8_t no_mentions[] = { 0x2a, 0x05, 0x08, 0x01,
                                           0x12, 0x01, 'x' };
    put_result("entity_no_mentions", no_mentions, sizeof no_mentions);
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_seeds DIR\n");
        return 2;
    }
    out_dir = argv[1];
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST)
        die(out_dir);
    gen_jobs();
    gen_small();
    gen_replies();
    gen_batches();
    extract_t *ex = extract_new();
    gen_texts(ex);
    extract_destroy(&ex);
    /* a few malformed frames every decoder must refuse cleanly */
    static const uint8_t trunc[] = { 0x08, 0x01, 0x72, 0x10, 0x0a };
    static const uint8_t badver[] = {
        0x08, 0x02, 0x10, 0x05, 0x9a, 0x01, 0x00
    };
    put("wire_decode", "truncated", trunc, sizeof trunc);
    put("wire_decode", "bad_version", badver, sizeof badver);
    put("wire_borrow", "truncated", trunc, sizeof trunc);
    put("wire_borrow", "bad_version", badver, sizeof badver);
    return 0;
}
