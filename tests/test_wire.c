/*
 * test_wire: every message kind survives encode -> decode unchanged;
 * hostile buffers give clear errors within the decode memory cap.
 */
#include "common/err.h"
#include "common/result.h"
#include "engine/extract.h"
#include "proto/pbraw.h"
#include "proto/wire.h"

#include <dirent.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Encode m, decode into *out; asserts both succeed. Caller releases. */
static void
round_trip(const wire_msg_t *m, wire_msg_t *out)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_encode(m, &buf, &len), ERR_OK);
    assert_non_null(buf);
    assert_int_equal(wire_decode(buf, len, 0, out), ERR_OK);
    free(buf);
    assert_int_equal(out->kind, m->kind);
    assert_int_equal(out->version, WIRE_PROTOCOL_VERSION);
    assert_int_equal(out->request_id, m->request_id);
}

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
job_check(const wire_job_t *a, const wire_job_t *b)
{
    assert_int_equal(a->id, b->id);
    assert_string_equal(a->key, b->key);
    assert_string_equal(a->source_url, b->source_url);
    assert_string_equal(a->title, b->title);
    assert_string_equal(a->published, b->published);
    assert_int_equal(a->text_len, b->text_len);
    assert_memory_equal(a->text, b->text, a->text_len);
    assert_int_equal(a->priority, b->priority);
    assert_int_equal(a->n_meta, b->n_meta);
    for (size_t i = 0; i < a->n_meta; i++) {
        /* map order is not guaranteed on the wire; find by key */
        size_t k = 0;
        while (k < b->n_meta && strcmp(a->meta_keys[i], b->meta_keys[k]))
            k++;
        assert_true(k < b->n_meta);
        assert_string_equal(a->meta_values[i], b->meta_values[k]);
    }
}

/* wire_encode_place's room: a fixed buffer, or none (refuses). */
typedef struct room {
    uint8_t buf[8192];
    size_t asked; /* n of the last call */
    bool refuse;  /* return NULL */
} room_t;

static uint8_t *
room_place(void *ud, size_t n)
{
    room_t *r = ud;
    r->asked = n;
    return r->refuse || n > sizeof r->buf ? NULL : r->buf;
}

/* wire_encode_place writes wire_encode's bytes where it is told, asks for
 * exactly their size, and gives up cleanly when refused the room. */
static void
test_encode_place(void **state)
{
    (void)state;
    wire_msg_t m = { .kind = WIRE_SUBMIT, .request_id = 7 };
    job_fill(&m.u.submit.job);
    uint8_t *buf = NULL;
    size_t len = 0, plen = 0;
    assert_int_equal(wire_encode(&m, &buf, &len), ERR_OK);
    room_t *r = calloc(1, sizeof *r);
    assert_non_null(r);
    assert_int_equal(wire_encode_place(&m, room_place, r, &plen), ERR_OK);
    assert_int_equal(plen, len);
    assert_int_equal(r->asked, len);
    assert_memory_equal(r->buf, buf, len);
    r->refuse = true;
    plen = 0;
    assert_int_equal(wire_encode_place(&m, room_place, r, &plen), ERR_IO);
    assert_int_equal(plen, 0);
    wire_msg_t bad = { .kind = 999 };
    r->asked = 0;
    assert_int_equal(wire_encode_place(&bad, room_place, r, &plen), ERR_INVAL);
    assert_int_equal(r->asked, 0); /* refused before any room was asked */
    free(r);
    free(buf);
}

static void
test_submit_dispatch(void **state)
{
    (void)state;
    wire_msg_t m = { .kind = WIRE_SUBMIT, .request_id = 42 }, d;
    job_fill(&m.u.submit.job);
    round_trip(&m, &d);
    job_check(&m.u.submit.job, &d.u.submit.job);
    wire_msg_release(&d);

    wire_msg_t x = { .kind = WIRE_DISPATCH, .request_id = 9 };
    job_fill(&x.u.dispatch.job);
    x.u.dispatch.attempt = 3;
    x.u.dispatch.lease_ms = 60000;
    round_trip(&x, &d);
    job_check(&x.u.dispatch.job, &d.u.dispatch.job);
    assert_int_equal(d.u.dispatch.attempt, 3);
    assert_int_equal(d.u.dispatch.lease_ms, 60000);
    wire_msg_release(&d);
    wire_msg_release(&d); /* safe twice */
}

static void
test_small_messages(void **state)
{
    (void)state;
    wire_msg_t d;
    wire_msg_t m = { .kind = WIRE_ACCEPTED, .request_id = 1 };
    m.u.accepted.job_id = 1234567890123ull;
    m.u.accepted.duplicate = true;
    round_trip(&m, &d);
    assert_int_equal(d.u.accepted.job_id, 1234567890123ull);
    assert_true(d.u.accepted.duplicate);
    wire_msg_release(&d);

    m = (wire_msg_t){ .kind = WIRE_REJECTED, .request_id = 2 };
    m.u.rejected.code = WIRE_CODE_QUEUE_FULL;
    m.u.rejected.reason = "queue holds 10 jobs";
    m.u.rejected.retry_after_ms = 250;
    round_trip(&m, &d);
    assert_int_equal(d.u.rejected.code, WIRE_CODE_QUEUE_FULL);
    assert_string_equal(d.u.rejected.reason, "queue holds 10 jobs");
    assert_int_equal(d.u.rejected.retry_after_ms, 250);
    wire_msg_release(&d);

    m = (wire_msg_t){ .kind = WIRE_READY, .request_id = 3 };
    m.u.ready.credit = 4;
    m.u.ready.capacity = 8;
    m.u.ready.worker_name = "host:12";
    round_trip(&m, &d);
    assert_int_equal(d.u.ready.credit, 4);
    assert_int_equal(d.u.ready.capacity, 8);
    assert_string_equal(d.u.ready.worker_name, "host:12");
    wire_msg_release(&d);

    static const uint8_t blob[] = { 1, 2, 0, 3 };
    m = (wire_msg_t){ .kind = WIRE_DONE, .request_id = 4 };
    m.u.done.job_id = 5;
    m.u.done.attempt = 2;
    m.u.done.result = blob;
    m.u.done.result_len = sizeof blob;
    round_trip(&m, &d);
    assert_int_equal(d.u.done.job_id, 5);
    assert_int_equal(d.u.done.attempt, 2);
    assert_int_equal(d.u.done.result_len, sizeof blob);
    assert_memory_equal(d.u.done.result, blob, sizeof blob);
    wire_msg_release(&d);

    m = (wire_msg_t){ .kind = WIRE_FAILED, .request_id = 5 };
    m.u.failed.job_id = 6;
    m.u.failed.attempt = 1;
    m.u.failed.reason = "text too large";
    m.u.failed.permanent = true;
    round_trip(&m, &d);
    assert_int_equal(d.u.failed.job_id, 6);
    assert_string_equal(d.u.failed.reason, "text too large");
    assert_true(d.u.failed.permanent);
    wire_msg_release(&d);

    static const uint64_t ids[] = { 10, 11, 12 };
    static const uint32_t att[] = { 1, 2, 3 };
    m = (wire_msg_t){ .kind = WIRE_HEARTBEAT, .request_id = 6 };
    m.u.heartbeat.n = 3;
    m.u.heartbeat.job_ids = ids;
    m.u.heartbeat.attempts = att;
    round_trip(&m, &d);
    assert_int_equal(d.u.heartbeat.n, 3);
    assert_memory_equal(d.u.heartbeat.job_ids, ids, sizeof ids);
    assert_memory_equal(d.u.heartbeat.attempts, att, sizeof att);
    wire_msg_release(&d);

    m = (wire_msg_t){ .kind = WIRE_HEARTBEAT, .request_id = 7 };
    round_trip(&m, &d);
    assert_int_equal(d.u.heartbeat.n, 0);
    wire_msg_release(&d);

    m = (wire_msg_t){ .kind = WIRE_DONE_ACK, .request_id = 8 };
    m.u.done_ack.job_id = 9;
    m.u.done_ack.attempt = 4;
    m.u.done_ack.code = WIRE_CODE_NOT_FOUND;
    round_trip(&m, &d);
    assert_int_equal(d.u.done_ack.job_id, 9);
    assert_int_equal(d.u.done_ack.attempt, 4);
    assert_int_equal(d.u.done_ack.code, WIRE_CODE_NOT_FOUND);
    wire_msg_release(&d);

    m = (wire_msg_t){ .kind = WIRE_GET, .request_id = 9 };
    m.u.get.key = "k1";
    m.u.get.with_text = true;
    round_trip(&m, &d);
    assert_string_equal(d.u.get.key, "k1");
    assert_int_equal(d.u.get.job_id, 0);
    assert_true(d.u.get.with_text);
    wire_msg_release(&d);

    m = (wire_msg_t){ .kind = WIRE_SINCE, .request_id = 10 };
    m.u.since.after_seq = 99;
    m.u.since.limit = 50;
    m.u.since.with_result = true;
    round_trip(&m, &d);
    assert_int_equal(d.u.since.after_seq, 99);
    assert_int_equal(d.u.since.limit, 50);
    assert_true(d.u.since.with_result);
    wire_msg_release(&d);

    m = (wire_msg_t){ .kind = WIRE_STATS, .request_id = 11 };
    round_trip(&m, &d);
    wire_msg_release(&d);

    m = (wire_msg_t){ .kind = WIRE_DEAD_LIST, .request_id = 12 };
    m.u.dead_list.after_job_id = 3;
    m.u.dead_list.limit = 20;
    round_trip(&m, &d);
    assert_int_equal(d.u.dead_list.after_job_id, 3);
    assert_int_equal(d.u.dead_list.limit, 20);
    wire_msg_release(&d);

    for (int kind = WIRE_DEAD_REQUEUE; kind <= WIRE_DEAD_PURGE; kind++) {
        m = (wire_msg_t){ .kind = kind, .request_id = 13 };
        m.u.dead_ids.n = 2;
        m.u.dead_ids.job_ids = ids;
        round_trip(&m, &d);
        assert_int_equal(d.u.dead_ids.n, 2);
        assert_int_equal(d.u.dead_ids.job_ids[1], 11);
        assert_false(d.u.dead_ids.all);
        wire_msg_release(&d);
    }

    m = (wire_msg_t){ .kind = WIRE_DEAD_REPLY, .request_id = 14 };
    m.u.dead_reply.count = 17;
    round_trip(&m, &d);
    assert_int_equal(d.u.dead_reply.count, 17);
    wire_msg_release(&d);
}

static void
test_replies_with_lists(void **state)
{
    (void)state;
    wire_msg_t d;
    static const uint8_t res[] = { 9, 9, 9 };
    wire_committed_t items[2] = {
        { .seq = 1, .job_id = 10, .key = "a", .result = res, .result_len = 3 },
        { .seq = 2, .job_id = 11, .key = "b" },
    };
    wire_msg_t m = { .kind = WIRE_SINCE_REPLY, .request_id = 20 };
    m.u.since_reply.n = 2;
    m.u.since_reply.items = items;
    m.u.since_reply.last_seq = 2;
    round_trip(&m, &d);
    assert_int_equal(d.u.since_reply.n, 2);
    assert_int_equal(d.u.since_reply.last_seq, 2);
    assert_int_equal(d.u.since_reply.items[0].seq, 1);
    assert_int_equal(d.u.since_reply.items[0].result_len, 3);
    assert_string_equal(d.u.since_reply.items[1].key, "b");
    assert_null(d.u.since_reply.items[1].result);
    wire_msg_release(&d);

    m = (wire_msg_t){ .kind = WIRE_COMMITTED, .request_id = 21 };
    m.u.committed = items[0];
    round_trip(&m, &d);
    assert_int_equal(d.u.committed.seq, 1);
    assert_int_equal(d.u.committed.job_id, 10);
    assert_string_equal(d.u.committed.key, "a");
    wire_msg_release(&d);

    wire_msg_t g = { .kind = WIRE_GET_REPLY, .request_id = 22 };
    g.u.get_reply.job = (wire_job_info_t){ .id = 5,
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
    g.u.get_reply.result = res;
    g.u.get_reply.result_len = 3;
    g.u.get_reply.text = "abcd";
    g.u.get_reply.text_len = 4;
    round_trip(&g, &d);
    const wire_job_info_t *ji = &d.u.get_reply.job;
    assert_int_equal(ji->id, 5);
    assert_int_equal(ji->state, WIRE_JOB_DONE);
    assert_int_equal(ji->attempts, 2);
    assert_int_equal(ji->seq, 8);
    assert_int_equal(ji->finished_ms, 2000);
    assert_string_equal(ji->last_error, "lease expired");
    assert_int_equal(ji->text_bytes, 4);
    assert_int_equal(d.u.get_reply.text_len, 4);
    assert_memory_equal(d.u.get_reply.text, "abcd", 4);
    wire_msg_release(&d);

    const char *hist[] = { "attempt 1: boom", "attempt 2: boom" };
    wire_dead_t dead = { .job = { .id = 3, .key = "x", .state = WIRE_JOB_DEAD },
                         .reason = "boom",
                         .n_history = 2,
                         .history = hist };
    m = (wire_msg_t){ .kind = WIRE_DEAD_LIST_REPLY, .request_id = 23 };
    m.u.dead_list_reply.n = 1;
    m.u.dead_list_reply.items = &dead;
    round_trip(&m, &d);
    assert_int_equal(d.u.dead_list_reply.n, 1);
    assert_string_equal(d.u.dead_list_reply.items[0].reason, "boom");
    assert_int_equal(d.u.dead_list_reply.items[0].n_history, 2);
    assert_string_equal(d.u.dead_list_reply.items[0].history[1],
                        "attempt 2: boom");
    assert_int_equal(d.u.dead_list_reply.items[0].job.state, WIRE_JOB_DEAD);
    wire_msg_release(&d);

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
    round_trip(&m, &d);
    assert_int_equal(d.u.stats_reply.ready, 1);
    assert_int_equal(d.u.stats_reply.dead, 5);
    assert_int_equal(d.u.stats_reply.workers, 7);
    assert_int_equal(d.u.stats_reply.map_limit, 1ull << 40);
    assert_true(d.u.stats_reply.commit_rate == 1.5);
    assert_int_equal(d.u.stats_reply.n_worker_stats, 0);
    wire_msg_release(&d);

    wire_worker_stats_t rows[2] = {
        { "w0", "00aabb", 3, 61, 4096, 250 },
        { NULL, NULL, 0, 0, 0, 0 },
    };
    m.u.stats_reply.backlog = 66;
    m.u.stats_reply.n_worker_stats = 2;
    m.u.stats_reply.worker_stats = rows;
    round_trip(&m, &d);
    assert_int_equal(d.u.stats_reply.backlog, 66);
    assert_int_equal(d.u.stats_reply.n_worker_stats, 2);
    assert_string_equal(d.u.stats_reply.worker_stats[0].name, "w0");
    assert_string_equal(d.u.stats_reply.worker_stats[0].identity, "00aabb");
    assert_int_equal(d.u.stats_reply.worker_stats[0].credit, 3);
    assert_int_equal(d.u.stats_reply.worker_stats[0].held, 61);
    assert_int_equal(d.u.stats_reply.worker_stats[0].held_bytes, 4096);
    assert_int_equal(d.u.stats_reply.worker_stats[0].last_seen_ms, 250);
    assert_string_equal(d.u.stats_reply.worker_stats[1].name, "");
    wire_msg_release(&d);
}

static void
test_result_round_trip(void **state)
{
    (void)state;
    const char *text = "Anna Ivanova: Exports grew by 7.5 percent in Kazan.";
    result_t *r = result_new();
    r->job_id = 12;
    r->seq = 3;
    r->version = result_strndup(r, "v1", 2);
    r->source = result_strndup(r, "file.txt", 8);
    r->extract_us = 55;
    int32_t sp = result_add_speaker(r, "Anna Ivanova", "Minister");
    result_add_turn(r, sp, 0, 14, (uint32_t)strlen(text));
    int32_t e = result_add_entity(r, RESULT_GPE, "Kazan", NULL);
    result_add_mention(r, e, text, 45, 50);
    result_add_figure(r, RESULT_PERCENT, text, 30, 41, 7.5, true, NULL, NULL);
    result_add_figure(r, RESULT_DATE, text, 0, 4, 0, false, "2020-H1", NULL);
    result_finish(r);

    uint8_t *buf;
    size_t len;
    assert_int_equal(wire_result_encode(r, &buf, &len), ERR_OK);
    result_t *back = NULL;
    assert_int_equal(wire_result_decode(buf, len, &back), ERR_OK);
    free(buf);
    assert_int_equal(back->job_id, 12);
    assert_int_equal(back->seq, 3);
    assert_string_equal(back->version, "v1");
    assert_string_equal(back->source, "file.txt");
    assert_int_equal(back->extract_us, 55);
    assert_int_equal(back->n_speakers, 1);
    assert_string_equal(back->speakers[0].title, "Minister");
    assert_int_equal(back->speakers[0].turns, 1);
    assert_int_equal(back->n_turns, 1);
    assert_int_equal(back->turns[0].body, 14);
    assert_int_equal(back->n_entities, 1);
    assert_int_equal(back->entities[0].type, RESULT_GPE);
    assert_int_equal(back->entities[0].n_mentions, 1);
    assert_string_equal(back->entities[0].mentions[0].text, "Kazan");
    assert_int_equal(back->entities[0].mentions[0].turn, 0);
    assert_int_equal(back->n_figures, 2);
    assert_int_equal(back->figures[1].type, RESULT_PERCENT);
    assert_string_equal(back->figures[1].text, "7.5 percent");
    assert_true(back->figures[1].value == 7.5);
    assert_string_equal(back->figures[0].iso, "2020-H1");
    assert_false(back->figures[0].has_value);
    result_destroy(&back);
    result_destroy(&r);
    assert_null(r);
    result_destroy(&r); /* NULL-safe */
}

/* ------------------------------------------ wire_done_encode vs protobuf-c */

/* wire_done_encode writes the Done envelope itself; its bytes must be
 * those of wire_encode of a Done around wire_result_encode (protobuf-c's
 * packing). Returns the envelope's length. */
static size_t
check_done_bytes(const result_t *r, uint64_t id, uint32_t attempt)
{
    uint8_t *rbuf = NULL, *want = NULL, *got = NULL;
    size_t rlen = 0, want_len = 0, got_len = 0;
    assert_int_equal(wire_result_encode(r, &rbuf, &rlen), ERR_OK);
    wire_msg_t m = { .kind = WIRE_DONE };
    m.u.done.job_id = id;
    m.u.done.attempt = attempt;
    m.u.done.result = rbuf;
    m.u.done.result_len = rlen;
    assert_int_equal(wire_encode(&m, &want, &want_len), ERR_OK);
    assert_int_equal(wire_done_encode(id, attempt, r, &got, &got_len), ERR_OK);
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);
    free(rbuf);
    free(want);
    free(got);
    return got_len;
}

/* splitmix64: a fixed seed gives the same results on every run. */
static uint64_t
rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint64_t
rng_below(uint64_t *s, uint64_t n)
{
    return rng_next(s) % n;
}

/* Values at the varint byte boundaries, or random bits. */
static uint64_t
gen_u64(uint64_t *s)
{
    static const uint64_t edges[] = { 0,
                                      1,
                                      127,
                                      128,
                                      16383,
                                      16384,
                                      (1u << 21) - 1,
                                      1u << 21,
                                      1u << 28,
                                      UINT32_MAX,
                                      (uint64_t)1 << 35,
                                      (uint64_t)1 << 63,
                                      UINT64_MAX };
    size_t n = sizeof edges / sizeof edges[0];
    uint64_t k = rng_below(s, n + 2);
    if (k < n)
        return edges[k];
    return k == n ? rng_next(s) : rng_next(s) >> rng_below(s, 64);
}

static uint32_t
gen_u32(uint64_t *s)
{
    return (uint32_t)gen_u64(s);
}

static int32_t
gen_i32(uint64_t *s)
{
    static const int32_t edges[] = { 0,    RESULT_NO_TURN, 1,         127, 128,
                                     -128, INT32_MIN,      INT32_MAX, 3,   17 };
    uint64_t k = rng_below(s, sizeof edges / sizeof edges[0] + 1);
    if (k < sizeof edges / sizeof edges[0])
        return edges[k];
    return (int32_t)(uint32_t)rng_next(s);
}

static double
gen_double(uint64_t *s)
{
    static const double edges[] = { 0.0,     -0.0,   1.0,     -1.5,
                                    7.5,     1e12,   DBL_MAX, -DBL_MAX,
                                    DBL_MIN, 5e-324, 1e308 };
    uint64_t k = rng_below(s, sizeof edges / sizeof edges[0] + 3);
    if (k < sizeof edges / sizeof edges[0])
        return edges[k];
    if (k == sizeof edges / sizeof edges[0])
        return rng_below(s, 2) ? INFINITY : -INFINITY;
    uint64_t bits = rng_next(s);
    double d;
    memcpy(&d, &bits, sizeof d); /* any bit pattern, NaNs included */
    return d;
}

/* A string: NULL, "", ASCII, multi-byte UTF-8, or long enough for a 2 or
 * 3 byte length while *budget bytes of long strings remain (so that no
 * result nears WIRE_MAX_FRAME); copied into r's arena (NULL stays NULL). */
static char *
gen_str(uint64_t *s, result_t *r, size_t *budget)
{
    static const char *const words[] = {
        "",
        "a",
        "Askar Mamin",
        "Мамин",
        "Владивосток",
        "東京",
        "\xf0\x9f\x98\x80 emoji",
        "7.5 percent",
        "Минэкономразвития России",
    };
    static char big[70000];
    if (!big[0])
        for (size_t i = 0; i < sizeof big - 1; i++)
            big[i] = (char)('a' + i % 26);
    size_t nw = sizeof words / sizeof words[0];
    uint64_t k = rng_below(s, nw + 3);
    if (k < nw)
        return result_strndup(r, words[k], strlen(words[k]));
    if (k == nw)
        return NULL;
    static const size_t lens[] = {
        126, 127, 128, 129, 300, 16383, 16384, 65000
    };
    size_t nl = sizeof lens / sizeof lens[0];
    size_t n = lens[rng_below(s, nl)];
    if (n > *budget)
        n = lens[rng_below(s, 4)];
    else
        *budget -= n;
    return result_strndup(r, big, n);
}

/* A result with every field drawn from the generators; scale bounds the
 * array sizes (mentions of one entity up to 8 * scale). */
static result_t *
gen_result(uint64_t *s, size_t scale)
{
    result_t *r = result_new();
    size_t lng_budget = rng_below(s, 4) == 0 ? 300000 : 0;
    size_t *lng = &lng_budget;
    r->job_id = gen_u64(s);
    r->seq = gen_u64(s);
    r->extract_us = gen_u64(s);
    r->version = gen_str(s, r, lng);
    r->source = gen_str(s, r, lng);
    size_t ns = rng_below(s, scale + 1);
    for (size_t i = 0; i < ns; i++) {
        int32_t k = result_add_speaker(r, "x", "y");
        r->speakers[k].name = gen_str(s, r, lng);
        r->speakers[k].title = gen_str(s, r, lng);
        r->speakers[k].turns = gen_u32(s);
    }
    size_t nt = rng_below(s, scale + 1);
    for (size_t i = 0; i < nt; i++) {
        int32_t k = result_add_turn(r, ns ? 0 : -1, 0, 0, 0);
        r->turns[k].speaker = gen_i32(s);
        r->turns[k].start = gen_u32(s);
        r->turns[k].body = gen_u32(s);
        r->turns[k].end = gen_u32(s);
    }
    if (ns)
        r->speakers[0].turns = gen_u32(s);
    size_t ne = rng_below(s, scale + 1);
    for (size_t i = 0; i < ne; i++) {
        int32_t k = result_add_entity(r, RESULT_PERSON, "n", NULL);
        r->entities[k].type =
            rng_below(s, 4) ? (int)rng_below(s, 8) : (int)gen_i32(s);
        r->entities[k].name = gen_str(s, r, lng);
        r->entities[k].role = gen_str(s, r, lng);
        size_t nm =
            rng_below(s, 3) ? rng_below(s, 4) : rng_below(s, 8 * scale + 1);
        result_mention_t *m = result_reserve_mentions(r, k, nm);
        for (size_t j = 0; j < nm; j++) {
            m[j].text = gen_str(s, r, lng);
            m[j].start = gen_u32(s);
            m[j].end = gen_u32(s);
            m[j].turn = gen_i32(s);
        }
        r->entities[k].n_mentions = nm;
    }
    size_t nf = rng_below(s, scale + 1);
    for (size_t i = 0; i < nf; i++) {
        result_figure_t *f =
            result_add_figure(r, RESULT_MONEY, "x", 0, 1, 0, false, NULL, NULL);
        f->type = rng_below(s, 4) ? (int)rng_below(s, 9) : (int)gen_i32(s);
        f->text = gen_str(s, r, lng);
        f->value = gen_double(s);
        f->has_value = rng_below(s, 2);
        f->iso = gen_str(s, r, lng);
        f->unit = gen_str(s, r, lng);
        f->start = gen_u32(s);
        f->end = gen_u32(s);
        f->turn = gen_i32(s);
    }
    return r;
}

/* Generated results: every field at its defaults, edges and random
 * values, strings NULL / "" / UTF-8 / long, many mentions. */
static void
test_done_encode_generated(void **state)
{
    (void)state;
    uint64_t seed = 20261128;
    size_t longest = 0;
    for (int i = 0; i < 3000; i++) {
        size_t scale = i % 50 == 49 ? 200 : 1 + (size_t)i % 12;
        result_t *r = gen_result(&seed, scale);
        uint64_t id = gen_u64(&seed);
        uint32_t attempt = gen_u32(&seed);
        size_t n = check_done_bytes(r, id, attempt);
        if (n > longest)
            longest = n;
        result_destroy(&r);
    }
    /* lengths of 3 bytes and more were produced */
    assert_true(longest > 16384);
}

/* Hand-picked cases: defaults everywhere (empty submessages), a single
 * field set at a time, -0.0 (left out like 0.0), RESULT_NO_TURN, an
 * entity with no mentions and one with thousands, a Result of more than
 * 2 MiB (a 4-byte length). */
static void
test_done_encode_edges(void **state)
{
    (void)state;
    result_t *r = result_new();
    check_done_bytes(r, 0, 0);
    check_done_bytes(r, 1, 0);
    check_done_bytes(r, 0, 1);
    check_done_bytes(r, UINT64_MAX, UINT32_MAX);
    r->version = NULL;
    r->source = NULL;
    check_done_bytes(r, 5, 1);
    result_destroy(&r);

    r = result_new();
    int32_t sp = result_add_speaker(r, "", "");
    r->speakers[sp].name = NULL;
    result_add_turn(r, sp, 0, 0, 0);
    r->speakers[sp].turns = 0;
    r->turns[0].speaker = 0;
    int32_t e = result_add_entity(r, 0, "", NULL);
    (void)e;
    result_figure_t *f =
        result_add_figure(r, 0, "", 0, 0, -0.0, false, NULL, NULL);
    f->turn = 0;
    check_done_bytes(r, 9, 2);
    f->value = 0.0;
    f->turn = RESULT_NO_TURN;
    check_done_bytes(r, 9, 2);
    f->value = -1e300;
    f->has_value = true;
    check_done_bytes(r, 9, 2);
    r->turns[0].speaker = RESULT_NO_TURN;
    r->entities[0].type = -3;
    f->type = -1;
    check_done_bytes(r, 9, 2);
    result_destroy(&r);

    /* one entity with thousands of mentions: more string lengths than
     * the encoder keeps on its stack, an entity body of 3 length bytes */
    r = result_new();
    e = result_add_entity(r, RESULT_ORG, "Газпром", "");
    result_add_entity(r, RESULT_GPE, "Kazan", NULL);
    static const char text[] = "Газпром said";
    for (uint32_t i = 0; i < 5000; i++)
        result_add_mention(r, e, text, 0, 14);
    for (uint32_t i = 0; i < 5000; i++)
        r->entities[e].mentions[i].turn = (int32_t)i - 1;
    check_done_bytes(r, 77, 3);
    result_destroy(&r);

    /* a Result over 2 MiB */
    r = result_new();
    size_t n = (2u << 20) + 5;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'q', n);
    big[n] = '\0';
    r->source = big; /* borrowed: result_destroy frees only its arena */
    assert_true(check_done_bytes(r, 1, 1) > n);
    result_destroy(&r);
    free(big);
}

/* A result too large for a frame: ERR_TOOBIG, *buf untouched, *len the
 * size the envelope would have had (what wire_encode gives). */
static void
test_done_encode_too_big(void **state)
{
    (void)state;
    result_t *r = result_new();
    size_t n = WIRE_MAX_FRAME;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'z', n);
    big[n] = '\0';
    r->version = big;
    uint8_t *rbuf = NULL, *want = NULL;
    size_t rlen = 0, want_len = 0;
    assert_int_equal(wire_result_encode(r, &rbuf, &rlen), ERR_OK);
    wire_msg_t m = { .kind = WIRE_DONE };
    m.u.done.job_id = 4;
    m.u.done.attempt = 1;
    m.u.done.result = rbuf;
    m.u.done.result_len = rlen;
    assert_int_equal(wire_encode(&m, &want, &want_len), ERR_OK);
    free(want);
    free(rbuf);
    uint8_t *got = (uint8_t *)"untouched";
    size_t got_len = 0;
    assert_int_equal(wire_done_encode(4, 1, r, &got, &got_len), ERR_TOOBIG);
    assert_string_equal((char *)got, "untouched");
    assert_int_equal(got_len, want_len);
    result_destroy(&r);
    free(big);
}

/* Results of the real extractor on every bundled sample. */
static void
test_done_encode_samples(void **state)
{
    (void)state;
    extract_t *ex = extract_new();
    char dir[512];
    snprintf(dir, sizeof dir, "%s/samples", EXCERPT_SOURCE_DIR);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int files = 0;
    static char text[1 << 20];
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t nl = strlen(de->d_name);
        if (nl < 4 || strcmp(de->d_name + nl - 4, ".txt"))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        size_t n = fread(text, 1, sizeof text, f);
        fclose(f);
        assert_true(n > 0 && n < sizeof text);
        result_t *r = NULL;
        assert_int_equal(extract_run(ex, text, n, &r), ERR_OK);
        assert_true(r->n_entities > 0);
        check_done_bytes(r, 0, 1);
        r->job_id = 1000000007u + (uint64_t)files;
        r->extract_us = 12345;
        r->source = result_strndup(r, de->d_name, nl);
        check_done_bytes(r, r->job_id, 300);
        result_destroy(&r);
        files++;
    }
    closedir(d);
    assert_true(files >= 10);
    extract_destroy(&ex);
}

/* ---------------------------------- wire_decode_borrow vs wire_decode */

static void
same_str(const char *a, const char *b)
{
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a, b);
}

/* Decode buf both ways: the same code and the same message. Returns the
 * code; *borrowed as wire_decode_borrow set it. */
static int
check_borrow(const uint8_t *buf, size_t len, bool *borrowed)
{
    wire_msg_t a, b;
    bool bor = true;
    int ra = wire_decode(buf, len, 0, &a);
    int rb = wire_decode_borrow(buf, len, &b, &bor);
    assert_int_equal(ra, rb);
    assert_int_equal(a.kind, b.kind);
    assert_int_equal(a.version, b.version);
    assert_int_equal(a.request_id, b.request_id);
    if (ra != ERR_OK) {
        assert_false(bor);
        assert_null(b.priv);
        *borrowed = bor;
        return ra;
    }
    if (a.kind == WIRE_DISPATCH) {
        const wire_job_t *x = &a.u.dispatch.job, *y = &b.u.dispatch.job;
        assert_int_equal(a.u.dispatch.attempt, b.u.dispatch.attempt);
        assert_int_equal(a.u.dispatch.lease_ms, b.u.dispatch.lease_ms);
        assert_int_equal(x->id, y->id);
        same_str(x->key, y->key);
        same_str(x->source_url, y->source_url);
        same_str(x->title, y->title);
        same_str(x->published, y->published);
        assert_int_equal(x->priority, y->priority);
        assert_int_equal(x->text_len, y->text_len);
        assert_non_null(y->text);
        assert_memory_equal(x->text, y->text, x->text_len);
        assert_int_equal(x->n_meta, y->n_meta);
        for (size_t i = 0; i < x->n_meta; i++) {
            same_str(x->meta_keys[i], y->meta_keys[i]);
            same_str(x->meta_values[i], y->meta_values[i]);
        }
        if (bor) /* the text is read in place */
            assert_true((const uint8_t *)y->text >= buf &&
                        (const uint8_t *)y->text + y->text_len <= buf + len);
    } else {
        assert_false(bor);
    }
    wire_msg_release(&a);
    wire_msg_release(&b);
    *borrowed = bor;
    return ra;
}

/* A Dispatch with fields from the generators (UTF-8 or not, limits met or
 * just over them); *buf malloc'd. */
static void
gen_dispatch(uint64_t *s, uint8_t **buf, size_t *len)
{
    /* valid strings, then one that is not UTF-8 */
    static const char *const strs[] = { "",
                                        "a",
                                        "sha256:0123abcd",
                                        "Владивосток",
                                        "東京 \xf0\x9f\x98\x80",
                                        "http://example.org/x?y=1",
                                        "bad \xff utf8" };
    size_t ns = sizeof strs / sizeof strs[0];
    static char big[WIRE_MAX_FIELD + 2];
    if (!big[0])
        memset(big, 'b', sizeof big - 1);
    static const char *keys[WIRE_MAX_META + 1], *values[WIRE_MAX_META + 1];
    wire_msg_t m = { .kind = WIRE_DISPATCH };
    m.request_id = rng_below(s, 3) ? 0 : gen_u64(s);
    m.u.dispatch.attempt = gen_u32(s);
    m.u.dispatch.lease_ms = gen_u32(s);
    wire_job_t *j = &m.u.dispatch.job;
    j->id = gen_u64(s);
    const char **fields[] = { &j->key, &j->source_url, &j->title,
                              &j->published };
    for (size_t i = 0; i < 4; i++) {
        uint64_t k = rng_below(s, 40);
        if (k < 36)
            *fields[i] = strs[k % (ns - 1)];
        else if (k == 36)
            *fields[i] = strs[ns - 1];
        else if (k == 37)
            *fields[i] = NULL;
        else /* at the limit or one over */
            *fields[i] = big + sizeof big - 1 -
                         (i == 0 ? WIRE_MAX_KEY : WIRE_MAX_FIELD) -
                         rng_below(s, 2);
    }
    static char text[20000];
    size_t tl = rng_below(s, 4) ? rng_below(s, sizeof text) : 0;
    for (size_t i = 0; i < tl; i++)
        text[i] = (char)(' ' + rng_below(s, 90));
    if (tl > 10 && rng_below(s, 8) == 0)
        memcpy(text + rng_below(s, tl - 4), "\xd0\x96\xe6\x9d", 4);
    if (tl > 10 && rng_below(s, 10) == 0)
        text[rng_below(s, tl)] = (char)0xc0; /* invalid UTF-8 */
    if (tl > 10 && rng_below(s, 10) == 0)
        text[rng_below(s, tl)] = '\0'; /* NUL is valid in the text */
    j->text = rng_below(s, 10) ? text : NULL;
    j->text_len = tl;
    j->n_meta = rng_below(s, 3) ? rng_below(s, 4) : rng_below(s, 66);
    for (size_t i = 0; i < j->n_meta; i++) {
        keys[i] = strs[rng_below(s, ns - (rng_below(s, 20) ? 1 : 0))];
        values[i] = rng_below(s, 50) ? strs[rng_below(s, ns - 1)] : big;
    }
    j->meta_keys = keys;
    j->meta_values = values;
    j->priority = rng_below(s, 4) ? (int32_t)rng_below(s, 10) : gen_i32(s);
    assert_int_equal(wire_encode(&m, buf, len), ERR_OK);
}

/* Generated Dispatches and damaged copies of them (bytes changed,
 * dropped, inserted, cut, fields repeated): wire_decode_borrow gives
 * what wire_decode gives, and reads the plain ones in place. */
static void
test_borrow_generated(void **state)
{
    (void)state;
    uint64_t seed = 777;
    size_t in_place = 0, ok = 0, failed = 0;
    for (int i = 0; i < 2000; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        gen_dispatch(&seed, &buf, &len);
        bool bor;
        int rc = check_borrow(buf, len, &bor);
        if (rc == ERR_OK && bor)
            in_place++;
        for (int k = 0; k < 12; k++) {
            uint8_t *d = malloc(len * 2 + 16);
            assert_non_null(d);
            memcpy(d, buf, len);
            size_t n = len;
            size_t at = rng_below(&seed, len);
            switch (rng_below(&seed, 6)) {
            case 0:
                d[at] ^= (uint8_t)(1u << rng_below(&seed, 8));
                break;
            case 1:
                d[at] = (uint8_t)rng_next(&seed);
                break;
            case 2:
                memmove(d + at, d + at + 1, n - at - 1);
                n--;
                break;
            case 3:
                memmove(d + at + 1, d + at, n - at);
                d[at] = (uint8_t)rng_next(&seed);
                n++;
                break;
            case 4:
                n = at;
                break;
            default: /* the body again: its fields all repeated */
                memcpy(d + n, buf, len);
                n += len;
                break;
            }
            rc = check_borrow(d, n, &bor);
            if (rc == ERR_OK)
                ok++;
            else
                failed++;
            free(d);
        }
        free(buf);
    }
    /* the plain encodings were read in place; damage gave both outcomes */
    assert_true(in_place > 500);
    assert_true(ok > 100 && failed > 100);
}

/* Append a tag (field num, wire type) with a varint or length. */
static size_t
put_field(uint8_t *p, uint32_t num, int wt, uint64_t v)
{
    size_t n = pbraw_put_varint(p, (uint64_t)num << 3 | (uint64_t)wt);
    return n + pbraw_put_varint(p + n, v);
}

/* Envelope{version, dispatch{job{...job_bytes}, attempt}} by hand. */
static size_t
hand_dispatch(uint8_t *out, const uint8_t *job, size_t job_len)
{
    uint8_t disp[4096];
    size_t dn = put_field(disp, 1, PBRAW_LEN, job_len);
    memcpy(disp + dn, job, job_len);
    dn += job_len;
    dn += put_field(disp + dn, 2, PBRAW_VARINT, 1);
    size_t n = put_field(out, 1, PBRAW_VARINT, 1);
    n += put_field(out + n, WIRE_DISPATCH, PBRAW_LEN, dn);
    memcpy(out + n, disp, dn);
    return n + dn;
}

/* Encodings the fast path leaves to protobuf-c, each decoded as before:
 * a repeated Job (merged), a repeated scalar, an unknown field, a
 * non-minimal tag or length (protobuf-c reads tags of up to 5 bytes and
 * lengths of up to 5), a NUL inside a string, over-long varints, 65
 * metadata entries, a wrong version, no Job, other message kinds. */
static void
test_borrow_fallbacks(void **state)
{
    (void)state;
    uint8_t job[2048], buf[4096];
    size_t jn, n;
    bool bor;

    /* plain: read in place */
    jn = put_field(job, 1, PBRAW_VARINT, 7);
    jn += put_field(job + jn, 6, PBRAW_LEN, 5);
    memcpy(job + jn, "hello", 5);
    jn += 5;
    n = hand_dispatch(buf, job, jn);
    assert_int_equal(check_borrow(buf, n, &bor), ERR_OK);
    assert_true(bor);

    /* the Job twice (protobuf-c merges the two) */
    uint8_t env2[4096];
    size_t n2 = put_field(env2, 1, PBRAW_VARINT, 1);
    uint8_t disp[4096];
    size_t dn = 0;
    for (int i = 0; i < 2; i++) {
        uint8_t jj[64];
        size_t jl = put_field(jj, 1, PBRAW_VARINT, 7 + (uint64_t)i);
        if (i == 0) {
            jl += put_field(jj + jl, 4, PBRAW_LEN, 2);
            memcpy(jj + jl, "ti", 2);
            jl += 2;
        }
        dn += put_field(disp + dn, 1, PBRAW_LEN, jl);
        memcpy(disp + dn, jj, jl);
        dn += jl;
    }
    n2 += put_field(env2 + n2, WIRE_DISPATCH, PBRAW_LEN, dn);
    memcpy(env2 + n2, disp, dn);
    n2 += dn;
    assert_int_equal(check_borrow(env2, n2, &bor), ERR_OK);
    assert_false(bor);

    /* the id twice, an unknown field, a varint over 32 bits for priority */
    jn = put_field(job, 1, PBRAW_VARINT, 7);
    jn += put_field(job + jn, 1, PBRAW_VARINT, 8);
    n = hand_dispatch(buf, job, jn);
    assert_int_equal(check_borrow(buf, n, &bor), ERR_OK);
    assert_false(bor);
    jn = put_field(job, 9, PBRAW_VARINT, 7);
    n = hand_dispatch(buf, job, jn);
    assert_int_equal(check_borrow(buf, n, &bor), ERR_OK);
    jn = put_field(job, 8, PBRAW_VARINT, ((uint64_t)5 << 32) | 3);
    jn += put_field(job + jn, 6, PBRAW_LEN, 1);
    job[jn++] = 'x';
    n = hand_dispatch(buf, job, jn);
    assert_int_equal(check_borrow(buf, n, &bor), ERR_OK);
    assert_true(bor);

    /* non-minimal tags of 2..7 bytes and lengths of 2..7 bytes */
    for (size_t extra = 1; extra <= 6; extra++) {
        jn = 0;
        job[jn++] = (uint8_t)(6u << 3 | PBRAW_LEN) | 0x80;
        for (size_t i = 1; i < extra; i++)
            job[jn++] = 0x80;
        job[jn++] = 0x00;
        job[jn++] = 3;
        memcpy(job + jn, "abc", 3);
        jn += 3;
        n = hand_dispatch(buf, job, jn);
        (void)check_borrow(buf, n, &bor);
        assert_false(bor);

        jn = 0;
        job[jn++] = 6u << 3 | PBRAW_LEN;
        job[jn++] = 3 | 0x80;
        for (size_t i = 1; i < extra; i++)
            job[jn++] = 0x80;
        job[jn++] = 0x00;
        memcpy(job + jn, "abc", 3);
        jn += 3;
        n = hand_dispatch(buf, job, jn);
        (void)check_borrow(buf, n, &bor);
        assert_int_equal(bor, extra <= 4); /* 5 length bytes at most */
    }

    /* an 11-byte varint */
    jn = 0;
    job[jn++] = 1u << 3;
    for (int i = 0; i < 10; i++)
        job[jn++] = 0xff;
    job[jn++] = 0x01;
    n = hand_dispatch(buf, job, jn);
    assert_int_not_equal(check_borrow(buf, n, &bor), ERR_OK);

    /* a NUL inside the key; invalid UTF-8 in the title and the text */
    jn = put_field(job, 2, PBRAW_LEN, 3);
    memcpy(job + jn, "a\0b", 3);
    jn += 3;
    n = hand_dispatch(buf, job, jn);
    assert_int_equal(check_borrow(buf, n, &bor), ERR_OK);
    assert_false(bor);
    jn = put_field(job, 4, PBRAW_LEN, 2);
    memcpy(job + jn, "\xc3\x28", 2);
    jn += 2;
    n = hand_dispatch(buf, job, jn);
    assert_int_equal(check_borrow(buf, n, &bor), ERR_UTF8); /* BAD_UTF8 */
    jn = put_field(job, 6, PBRAW_LEN, 2);
    memcpy(job + jn, "\xc3\x28", 2);
    jn += 2;
    n = hand_dispatch(buf, job, jn);
    assert_int_equal(check_borrow(buf, n, &bor), ERR_UTF8);

    /* 64 metadata entries pass, 65 do not */
    for (size_t count = 64; count <= 65; count++) {
        jn = 0;
        for (size_t i = 0; i < count; i++) {
            jn += put_field(job + jn, 7, PBRAW_LEN, 3);
            jn += put_field(job + jn, 1, PBRAW_LEN, 1);
            job[jn++] = 'k';
        }
        jn += put_field(job + jn, 6, PBRAW_LEN, 1);
        job[jn++] = 't';
        n = hand_dispatch(buf, job, jn);
        assert_int_equal(check_borrow(buf, n, &bor),
                         count == 64 ? ERR_OK : ERR_PROTO);
        assert_int_equal(bor, count == 64);
    }

    /* metadata of 64 KiB in all passes, one byte more does not */
    static char val[4097];
    memset(val, 'v', sizeof val - 1);
    static const char *mk[17], *mv[17];
    for (size_t extra = 0; extra <= 1; extra++) {
        wire_msg_t d = { .kind = WIRE_DISPATCH };
        d.u.dispatch.job.n_meta = 17;
        for (size_t i = 0; i < 17; i++) {
            mk[i] = i < 16 ? "" : (extra ? "k" : "");
            mv[i] = i < 16 ? val : "";
        }
        d.u.dispatch.job.meta_keys = mk;
        d.u.dispatch.job.meta_values = mv;
        d.u.dispatch.job.text = "t";
        d.u.dispatch.job.text_len = 1;
        uint8_t *db = NULL;
        size_t dl = 0;
        assert_int_equal(wire_encode(&d, &db, &dl), ERR_OK);
        assert_int_equal(check_borrow(db, dl, &bor),
                         extra ? ERR_PROTO : ERR_OK);
        assert_int_equal(bor, !extra);
        free(db);
    }

    /* version 2, no version, no Job */
    jn = put_field(job, 6, PBRAW_LEN, 1);
    job[jn++] = 't';
    n = hand_dispatch(buf, job, jn);
    buf[1] = 2;
    assert_int_equal(check_borrow(buf, n, &bor), ERR_VERSION);
    assert_int_equal(check_borrow(buf + 2, n - 2, &bor), ERR_VERSION);
    n = put_field(buf, 1, PBRAW_VARINT, 1);
    n += put_field(buf + n, WIRE_DISPATCH, PBRAW_LEN, 2);
    n += put_field(buf + n, 2, PBRAW_VARINT, 1);
    assert_int_equal(check_borrow(buf, n, &bor), ERR_PROTO);

    /* other kinds go to wire_decode */
    wire_msg_t m = { .kind = WIRE_DONE_ACK, .request_id = 3 };
    m.u.done_ack.job_id = 9;
    uint8_t *eb = NULL;
    size_t el = 0;
    assert_int_equal(wire_encode(&m, &eb, &el), ERR_OK);
    assert_int_equal(check_borrow(eb, el, &bor), ERR_OK);
    assert_false(bor);
    free(eb);
}

static int release_calls;

static void
count_release(void *ud)
{
    assert_ptr_equal(ud, &release_calls);
    release_calls++;
}

/* The release hook runs once, when the message is released. */
static void
test_borrow_release_hook(void **state)
{
    (void)state;
    uint8_t job[64], buf[256];
    size_t jn = put_field(job, 6, PBRAW_LEN, 4);
    memcpy(job + jn, "text", 4);
    jn += 4;
    size_t n = hand_dispatch(buf, job, jn);
    wire_msg_t m;
    bool bor = false;
    assert_int_equal(wire_decode_borrow(buf, n, &m, &bor), ERR_OK);
    assert_true(bor);
    wire_msg_on_release(&m, count_release, &release_calls);
    assert_int_equal(release_calls, 0);
    wire_msg_release(&m);
    assert_int_equal(release_calls, 1);
    wire_msg_release(&m);
    assert_int_equal(release_calls, 1);
}

static void
test_malformed(void **state)
{
    (void)state;
    wire_msg_t d;
    /* garbage: a field tag with a length running past the end */
    static const uint8_t garbage[] = { 0x52, 0xff, 0xff, 0xff, 0x0f, 1, 2 };
    assert_int_equal(wire_decode(garbage, sizeof garbage, 0, &d), ERR_PROTO);
    assert_null(d.priv);
    /* empty buffer: a valid empty Envelope, but version 0 */
    assert_int_equal(wire_decode((const uint8_t *)"", 0, 0, &d), ERR_VERSION);
    /* every truncation of a valid frame fails cleanly or decodes */
    wire_msg_t m = { .kind = WIRE_SUBMIT, .request_id = 5 };
    job_fill(&m.u.submit.job);
    uint8_t *buf;
    size_t len;
    assert_int_equal(wire_encode(&m, &buf, &len), ERR_OK);
    for (size_t cut = 0; cut < len; cut++) {
        int rc = wire_decode(buf, cut, 0, &d);
        if (rc == ERR_OK)
            wire_msg_release(&d);
        else
            assert_true(rc == ERR_PROTO || rc == ERR_VERSION);
    }
    /* random bytes never crash */
    uint32_t x = 12345;
    uint8_t noise[512];
    for (int round = 0; round < 2000; round++) {
        for (size_t i = 0; i < sizeof noise; i++) {
            x = x * 1103515245u + 12345u;
            noise[i] = (uint8_t)(x >> 16);
        }
        size_t n = (x >> 8) % sizeof noise;
        if (wire_decode(noise, n, 0, &d) == ERR_OK)
            wire_msg_release(&d);
    }
    free(buf);
}

static void
test_version_and_body(void **state)
{
    (void)state;
    wire_msg_t m = { .kind = WIRE_STATS, .request_id = 77, .version = 2 }, d;
    uint8_t *buf;
    size_t len;
    assert_int_equal(wire_encode(&m, &buf, &len), ERR_OK);
    assert_int_equal(wire_decode(buf, len, 0, &d), ERR_VERSION);
    assert_int_equal(d.request_id, 77); /* so the Rejected can be matched */
    assert_int_equal(d.version, 2);
    free(buf);

    wire_msg_t none = { .kind = WIRE_NONE };
    assert_int_equal(wire_encode(&none, &buf, &len), ERR_INVAL);
    /* version 1 without a body */
    static const uint8_t nobody[] = { 0x08, 0x01, 0x10, 0x05 };
    assert_int_equal(wire_decode(nobody, sizeof nobody, 0, &d), ERR_PROTO);
    assert_int_equal(d.request_id, 5);
}

static void
test_invalid_utf8_and_bounds(void **state)
{
    (void)state;
    wire_msg_t m = { .kind = WIRE_SUBMIT, .request_id = 1 }, d;
    job_fill(&m.u.submit.job);
    m.u.submit.job.text = "bad \xC3\x28 byte";
    m.u.submit.job.text_len = strlen(m.u.submit.job.text);
    uint8_t *buf;
    size_t len;
    assert_int_equal(wire_encode(&m, &buf, &len), ERR_OK);
    assert_int_equal(wire_decode(buf, len, 0, &d), ERR_UTF8);
    assert_int_equal(d.request_id, 1);
    free(buf);

    job_fill(&m.u.submit.job);
    char *key = malloc(WIRE_MAX_KEY + 2);
    memset(key, 'k', WIRE_MAX_KEY + 1);
    key[WIRE_MAX_KEY + 1] = '\0';
    m.u.submit.job.key = key;
    assert_int_equal(wire_encode(&m, &buf, &len), ERR_OK);
    assert_int_equal(wire_decode(buf, len, 0, &d), ERR_PROTO);
    free(buf);
    free(key);

    /* text with NUL bytes travels exactly (bytes field) */
    job_fill(&m.u.submit.job);
    m.u.submit.job.text = "a\0b";
    m.u.submit.job.text_len = 3;
    round_trip(&m, &d);
    assert_int_equal(d.u.submit.job.text_len, 3);
    assert_memory_equal(d.u.submit.job.text, "a\0b", 3);
    wire_msg_release(&d);
}

/* Decode m's encoding; returns the code, *why the error text (or NULL). */
static int
decode_error(const wire_msg_t *m, const char **why, uint64_t *rid)
{
    uint8_t *buf;
    size_t len;
    wire_msg_t d;
    assert_int_equal(wire_encode(m, &buf, &len), ERR_OK);
    int rc = wire_decode(buf, len, 0, &d);
    free(buf);
    if (rc == ERR_OK) {
        assert_null(d.error);
        wire_msg_release(&d);
    }
    *why = d.error;
    *rid = d.request_id;
    return rc;
}

/* Every refused field answers its own code and its own reason: invalid
 * UTF-8 anywhere in a Job is ERR_UTF8 (CODE_BAD_UTF8), a bound is
 * ERR_PROTO (CODE_INVALID) or ERR_TOOBIG, and the reason names the field. */
static void
test_field_errors_named(void **state)
{
    (void)state;
    static const char bad[] = "bad \xC3\x28 byte";
    char *longs = malloc(WIRE_MAX_META_BYTES + 2);
    assert_non_null(longs);
    memset(longs, 'x', WIRE_MAX_META_BYTES + 1);
    longs[WIRE_MAX_META_BYTES + 1] = '\0';
    char *key_long = strndup(longs, WIRE_MAX_KEY + 1);
    char *field_long = strndup(longs, WIRE_MAX_FIELD + 1);
    const char *kv_bad[] = { bad };
    const char *kv_ok[] = { "ok" };
    const char *kv_long[] = { longs };
    const char *many_k[WIRE_MAX_META + 1], *many_v[WIRE_MAX_META + 1];
    for (size_t i = 0; i <= WIRE_MAX_META; i++)
        many_k[i] = many_v[i] = "k";
    struct {
        int field; /* 0 key, 1 url, 2 title, 3 published, 4 meta key, 5 meta
                    * value, 6 meta count, 7 meta bytes, 8 text */
        bool utf8; /* invalid UTF-8 rather than too long */
        int rc;    /* expected */
        const char *word; /* the reason names this */
    } cases[] = {
        { 0, true, ERR_UTF8, "key" },
        { 0, false, ERR_PROTO, "key" },
        { 1, true, ERR_UTF8, "source_url" },
        { 1, false, ERR_PROTO, "source_url" },
        { 2, true, ERR_UTF8, "title" },
        { 2, false, ERR_PROTO, "title" },
        { 3, true, ERR_UTF8, "published" },
        { 3, false, ERR_PROTO, "published" },
        { 4, true, ERR_UTF8, "metadata key" },
        { 5, true, ERR_UTF8, "metadata value" },
        { 6, false, ERR_PROTO, "64 entries" },
        { 7, false, ERR_PROTO, "64 KiB" },
        { 8, true, ERR_UTF8, "text" },
    };
    const char *seen[sizeof cases / sizeof cases[0]];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wire_msg_t m = { .kind = WIRE_SUBMIT, .request_id = 100 + i };
        wire_job_t *j = &m.u.submit.job;
        job_fill(j);
        const char *v = cases[i].utf8 ? bad : NULL;
        switch (cases[i].field) {
        case 0:
            j->key = v ? v : key_long;
            break;
        case 1:
            j->source_url = v ? v : field_long;
            break;
        case 2:
            j->title = v ? v : field_long;
            break;
        case 3:
            j->published = v ? v : field_long;
            break;
        case 4:
            j->n_meta = 1;
            j->meta_keys = kv_bad;
            j->meta_values = kv_ok;
            break;
        case 5:
            j->n_meta = 1;
            j->meta_keys = kv_ok;
            j->meta_values = kv_bad;
            break;
        case 6:
            j->n_meta = WIRE_MAX_META + 1;
            j->meta_keys = many_k;
            j->meta_values = many_v;
            break;
        case 7:
            j->n_meta = 1;
            j->meta_keys = kv_ok;
            j->meta_values = kv_long;
            break;
        case 8:
            j->text = bad;
            j->text_len = strlen(bad);
            break;
        }
        const char *why;
        uint64_t rid;
        assert_int_equal(decode_error(&m, &why, &rid), cases[i].rc);
        assert_int_equal(rid, 100 + i);
        assert_non_null(why);
        assert_non_null(strstr(why, cases[i].word));
        seen[i] = why;
    }
    /* no two refusals share a reason */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (size_t k = 0; k < i; k++)
            assert_true(strcmp(seen[i], seen[k]) != 0);

    /* a Get by a key that is not UTF-8 */
    wire_msg_t g = { .kind = WIRE_GET, .request_id = 9 };
    g.u.get.key = bad;
    const char *why;
    uint64_t rid;
    assert_int_equal(decode_error(&g, &why, &rid), ERR_UTF8);
    assert_string_equal(why, "key is not valid UTF-8");
    assert_int_equal(rid, 9);
    free(key_long);
    free(field_long);
    free(longs);
}

/* A frame protobuf-c cannot parse still names its request_id when the
 * Envelope's field 2 comes before the damage. */
static void
test_request_id_recovered(void **state)
{
    (void)state;
    wire_msg_t d;
    /* version 1, request_id 300, then a length running past the end */
    static const uint8_t cut[] = { 0x08, 0x01, 0x10, 0xAC, 0x02,
                                   0x52, 0xff, 0xff, 0x0f, 1 };
    assert_int_equal(wire_decode(cut, sizeof cut, 0, &d), ERR_PROTO);
    assert_int_equal(d.request_id, 300);
    assert_non_null(d.error);
    assert_null(d.priv);
    assert_int_equal(wire_peek_request_id(cut, sizeof cut), 300);
    /* well-formed on top, a Submit body that is not a message */
    static const uint8_t inner[] = { 0x08, 0x01, 0x10, 0x2A,
                                     0x52, 0x02, 0xff, 0xff };
    assert_int_equal(wire_decode(inner, sizeof inner, 0, &d), ERR_PROTO);
    assert_int_equal(d.request_id, 42);
    /* the damage before field 2: nothing to recover */
    static const uint8_t early[] = { 0x52, 0xff, 0xff, 0x0f, 0x10, 0x2A };
    assert_int_equal(wire_decode(early, sizeof early, 0, &d), ERR_PROTO);
    assert_int_equal(d.request_id, 0);
    assert_int_equal(wire_peek_request_id(NULL, 0), 0);
    /* a field 2 of the wrong wire type is not a request_id */
    static const uint8_t wrong[] = { 0x12, 0x01, 0x07, 0xff };
    assert_int_equal(wire_peek_request_id(wrong, sizeof wrong), 0);
}

/* Thousands of empty submessages: tiny on the wire, large once decoded. */
/* wire_result_check accepts exactly what a consumer can decode: bytes
 * that protobuf-c would refuse, that wire_result_decode would refuse, or
 * whose strings are not UTF-8 are refused, each without decoding. */
static void
check_is(const uint8_t *b, size_t n, int want)
{
    assert_int_equal(wire_result_check(b, n), want);
    result_t *r = NULL;
    if (want == ERR_OK) {
        assert_int_equal(wire_result_decode(b, n, &r), ERR_OK);
        result_destroy(&r);
    }
}

/* What a visit of test_result_check_visit hears. */
typedef struct heard {
    int n;
    int types[4];
    char names[4][32];
    int stop_at; /* return 7 from this call (1-based), 0: never */
} heard_t;

static int
heard_entity(void *arg, int type, const char *name, size_t len)
{
    heard_t *h = arg;
    assert_true(h->n < 4 && len < sizeof h->names[0]);
    h->types[h->n] = type;
    memcpy(h->names[h->n], name, len);
    h->names[h->n][len] = 0;
    return ++h->n == h->stop_at ? 7 : 0;
}

static void
test_result_check_visit(void **state)
{
    (void)state;
    const char *text = "Ivan Petrov: Trade with Chile and Peru grew.";
    result_t *r = result_new();
    int32_t sp = result_add_speaker(r, "Ivan Petrov", NULL);
    result_add_turn(r, sp, 0, 13, (uint32_t)strlen(text));
    int32_t e = result_add_entity(r, RESULT_GPE, "Chile", NULL);
    result_add_mention(r, e, text, 24, 29);
    e = result_add_entity(r, RESULT_GPE, "Peru", NULL);
    result_add_mention(r, e, text, 34, 38);
    r->extract_us = 4321;
    result_finish(r);
    uint8_t *buf;
    size_t len;
    assert_int_equal(wire_result_encode(r, &buf, &len), ERR_OK);
    int n_ent = (int)r->n_entities;
    result_destroy(&r);

    heard_t h = { 0 };
    wire_visit_t v = { heard_entity, &h, 99 };
    assert_int_equal(wire_result_check_visit(buf, len, &v), ERR_OK);
    assert_int_equal(v.extract_us, 4321);
    assert_int_equal(h.n, n_ent);
    assert_true(h.n >= 2);
    bool chile = false, peru = false;
    for (int i = 0; i < h.n; i++) {
        chile |= !strcmp(h.names[i], "Chile") && h.types[i] == RESULT_GPE;
        peru |= !strcmp(h.names[i], "Peru") && h.types[i] == RESULT_GPE;
    }
    assert_true(chile && peru);

    /* the callback's non-zero return stops the walk and is returned */
    heard_t stop = { .stop_at = 1 };
    v = (wire_visit_t){ heard_entity, &stop, 0 };
    assert_int_equal(wire_result_check_visit(buf, len, &v), 7);
    assert_int_equal(stop.n, 1);

    /* bad bytes after good entities: the error, whatever was heard */
    uint8_t *bad = malloc(len + 2);
    assert_non_null(bad);
    memcpy(bad, buf, len);
    bad[len] = 0x2a; /* Result.entities, length 16: cut */
    bad[len + 1] = 0x10;
    heard_t h2 = { 0 };
    v = (wire_visit_t){ heard_entity, &h2, 0 };
    assert_int_equal(wire_result_check_visit(bad, len + 2, &v), ERR_PROTO);
    /* no visitor: the plain check, extract_us of an absent Timings is 0 */
    assert_int_equal(wire_result_check_visit(buf, len, NULL), ERR_OK);
    const uint8_t empty_entity[] = { 0x2a, 0x00 };
    heard_t h3 = { 0 };
    v = (wire_visit_t){ heard_entity, &h3, 99 };
    assert_int_equal(
        wire_result_check_visit(empty_entity, sizeof empty_entity, &v), ERR_OK);
    assert_int_equal(h3.n, 0); /* an Entity without a name is not heard */
    assert_int_equal(v.extract_us, 0);
    free(bad);
    free(buf);
}

static void
test_result_check(void **state)
{
    (void)state;
    const char *text = "Anna Ivanova: Exports grew by 7.5 percent in Kazan.";
    result_t *r = result_new();
    int32_t sp = result_add_speaker(r, "Anna Ivanova", "Minister");
    result_add_turn(r, sp, 0, 14, (uint32_t)strlen(text));
    int32_t e = result_add_entity(r, RESULT_GPE, "Kazan", NULL);
    result_add_mention(r, e, text, 45, 50);
    result_add_figure(r, RESULT_PERCENT, text, 30, 41, 7.5, true, NULL, NULL);
    result_finish(r);
    uint8_t *buf;
    size_t len;
    assert_int_equal(wire_result_encode(r, &buf, &len), ERR_OK);
    result_destroy(&r);
    check_is(buf, len, ERR_OK);
    check_is(NULL, 0, ERR_OK);
    assert_int_equal(wire_result_check(NULL, 1), ERR_INVAL);
    free(buf);

    /* Result.source (9, string) as a varint: protobuf-c refuses it */
    const uint8_t wrong_type[] = { 0x48, 0x01 };
    check_is(wrong_type, sizeof wrong_type, ERR_PROTO);
    /* an unknown field (15, varint) is skipped, as protobuf does */
    const uint8_t unknown[] = { 0x78, 0x01 };
    check_is(unknown, sizeof unknown, ERR_OK);
    /* Figure.unit (6) "\xff" inside Result.figures (6): not UTF-8 */
    const uint8_t bad_utf8[] = { 0x32, 0x03, 0x32, 0x01, 0xff };
    check_is(bad_utf8, sizeof bad_utf8, ERR_PROTO);
    /* Mention {start 5, end 2} inside an Entity: start > end */
    const uint8_t backwards[] = {
        0x2a, 0x06, 0x22, 0x04, 0x10, 0x05, 0x18, 0x02
    };
    check_is(backwards, sizeof backwards, ERR_PROTO);
    /* a Turn of speaker 0 (absent on the wire) and no speakers */
    const uint8_t no_speaker[] = { 0x22, 0x02, 0x18, 0x04 };
    check_is(no_speaker, sizeof no_speaker, ERR_PROTO);
    /* ... but speaker -1 (a turn without one) is fine */
    const uint8_t minus_one[] = { 0x22, 0x0b, 0x08, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
    check_is(minus_one, sizeof minus_one, ERR_OK);
    /* a key in 6 bytes (protobuf-c reads at most 5) */
    const uint8_t long_key[] = { 0xc8, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01 };
    check_is(long_key, sizeof long_key, ERR_PROTO);
    /* cut inside a nested message */
    const uint8_t cut[] = { 0x2a, 0x10, 0x08, 0x01 };
    check_is(cut, sizeof cut, ERR_PROTO);

    /* a flood of empty Figures: 2 bytes each on the wire, a struct each
     * when decoded; refused before it exhausts a consumer's budget */
    size_t n = 1u << 20;
    uint8_t *flood = malloc(n);
    assert_non_null(flood);
    for (size_t i = 0; i < n; i += 2) {
        flood[i] = 0x32;
        flood[i + 1] = 0x00;
    }
    assert_int_equal(wire_result_check(flood, n), ERR_PROTO);
    /* the bound is an upper bound: the longest flood the check accepts
     * (found by bisection) decodes within the budget */
    size_t lo = 0, hi = n / 2; /* in Figures */
    while (lo < hi) {
        size_t mid = (lo + hi + 1) / 2;
        if (wire_result_check(flood, 2 * mid) == ERR_OK)
            lo = mid;
        else
            hi = mid - 1;
    }
    assert_true(lo > 1000);
    result_t *r2 = NULL;
    assert_int_equal(wire_result_decode(flood, 2 * lo, &r2), ERR_OK);
    assert_int_equal(r2->n_figures, lo);
    result_destroy(&r2);
    free(flood);
}

static void
test_decode_memory_is_bounded(void **state)
{
    (void)state;
    const size_t items = 200000;
    /* SinceReply{items: Committed{}} repeated: field 1, length 0 */
    size_t inner = items * 2;
    uint8_t *buf = malloc(inner + 32);
    size_t k = 0;
    buf[k++] = 0x08; /* version = 1 */
    buf[k++] = 0x01;
    buf[k++] = 0xb2; /* tag (22 << 3) | 2 as a varint: since_reply */
    buf[k++] = 0x01;
    size_t n = inner;
    while (n >= 0x80) {
        buf[k++] = (uint8_t)(n | 0x80);
        n >>= 7;
    }
    buf[k++] = (uint8_t)n;
    for (size_t i = 0; i < items; i++) {
        buf[k++] = 0x0a;
        buf[k++] = 0x00;
    }
    wire_msg_t d;
    /* a cap of 4x the frame is far below what protobuf-c would need */
    assert_int_equal(wire_decode(buf, k, k * 4, &d), ERR_TOOBIG);
    assert_null(d.priv);
    /* ~50x expansion: the default budget (8n + 1 MiB) refuses it too */
    assert_int_equal(wire_decode(buf, k, 0, &d), ERR_TOOBIG);
    /* and an explicit, generous cap decodes it */
    assert_int_equal(wire_decode(buf, k, k * 128, &d), ERR_OK);
    assert_int_equal(d.u.since_reply.n, items);
    wire_msg_release(&d);
    free(buf);

    static const uint8_t big[] = { 0 };
    assert_int_equal(wire_decode(big, (size_t)WIRE_MAX_FRAME + 1, 0, &d),
                     ERR_TOOBIG);
}

static void
test_names(void **state)
{
    (void)state;
    assert_string_equal(wire_kind_name(WIRE_SUBMIT), "Submit");
    assert_string_equal(wire_kind_name(WIRE_DEAD_REPLY), "DeadReply");
    assert_string_equal(wire_kind_name(999), "None");
    assert_string_equal(wire_code_name(WIRE_CODE_STORE_FULL), "STORE_FULL");
    assert_string_equal(wire_code_name(-1), "UNKNOWN");
    assert_string_equal(wire_job_state_name(WIRE_JOB_DELAYED), "DELAYED");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit_dispatch),
        cmocka_unit_test(test_encode_place),
        cmocka_unit_test(test_small_messages),
        cmocka_unit_test(test_replies_with_lists),
        cmocka_unit_test(test_result_round_trip),
        cmocka_unit_test(test_done_encode_generated),
        cmocka_unit_test(test_done_encode_edges),
        cmocka_unit_test(test_done_encode_too_big),
        cmocka_unit_test(test_done_encode_samples),
        cmocka_unit_test(test_borrow_generated),
        cmocka_unit_test(test_borrow_fallbacks),
        cmocka_unit_test(test_borrow_release_hook),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_version_and_body),
        cmocka_unit_test(test_invalid_utf8_and_bounds),
        cmocka_unit_test(test_field_errors_named),
        cmocka_unit_test(test_request_id_recovered),
        cmocka_unit_test(test_decode_memory_is_bounded),
        cmocka_unit_test(test_result_check),
        cmocka_unit_test(test_result_check_visit),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
