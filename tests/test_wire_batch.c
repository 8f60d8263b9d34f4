/*
 * test_wire_batch: a Batch built here reads back item by item, has the
 * bytes protobuf-c packs for the same Envelope{Batch} (so peers in other
 * languages read it), a single item goes out without a Batch around it,
 * and malformed, nested or wrong-version Batches are refused.
 */
#include "common/err.h"
#include "excerpt.pb-c.h"
#include "proto/wire.h"
#include "proto/wire_batch.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* An encoded DoneAck envelope for job id (a small message). */
static uint8_t *
encode_ack(uint64_t id, size_t *len)
{
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_DONE_ACK;
    m.request_id = id + 1000;
    m.u.done_ack.job_id = id;
    m.u.done_ack.attempt = (uint32_t)id % 7 + 1;
    uint8_t *buf = NULL;
    assert_int_equal(wire_encode(&m, &buf, len), ERR_OK);
    return buf;
}

/* An encoded Submit envelope with a text of n bytes. */
static uint8_t *
encode_submit(size_t n, size_t *len)
{
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_SUBMIT;
    m.request_id = n;
    char *text = malloc(n);
    assert_non_null(text);
    memset(text, 'x', n);
    m.u.submit.job.key = "k";
    m.u.submit.job.text = text;
    m.u.submit.job.text_len = n;
    uint8_t *buf = NULL;
    assert_int_equal(wire_encode(&m, &buf, len), ERR_OK);
    free(text);
    return buf;
}

static void
test_round_trip_and_protobuf_bytes(void **state)
{
    (void)state;
    enum { N = 300 };
    uint8_t *items[N];
    size_t lens[N];
    wire_batch_t b;
    wire_batch_init(&b);
    for (size_t i = 0; i < N; i++) {
        /* small acks and texts big enough for 1..3 byte length prefixes */
        items[i] = i % 3 ? encode_ack(i, &lens[i])
                         : encode_submit(1 + i * 97, &lens[i]);
        wire_batch_add(&b, items[i], lens[i]);
    }
    assert_true(wire_batch_bytes(&b) > 0);
    uint8_t *frame = NULL;
    size_t frame_len = 0;
    assert_int_equal(wire_batch_finish(&b, &frame, &frame_len), ERR_OK);
    assert_int_equal(wire_batch_bytes(&b), 0);

    /* the same Envelope packed by protobuf-c */
    Excerpt__V1__Envelope env = EXCERPT__V1__ENVELOPE__INIT;
    Excerpt__V1__Batch batch = EXCERPT__V1__BATCH__INIT;
    ProtobufCBinaryData data[N];
    for (size_t i = 0; i < N; i++) {
        data[i].data = items[i];
        data[i].len = lens[i];
    }
    batch.n_items = N;
    batch.items = data;
    env.version = WIRE_PROTOCOL_VERSION;
    env.body_case = EXCERPT__V1__ENVELOPE__BODY_BATCH;
    env.batch = &batch;
    size_t want_len = excerpt__v1__envelope__get_packed_size(&env);
    uint8_t *want = malloc(want_len);
    assert_non_null(want);
    assert_int_equal(excerpt__v1__envelope__pack(&env, want), want_len);
    assert_int_equal(frame_len, want_len);
    assert_memory_equal(frame, want, want_len);

    wire_batch_iter_t it;
    assert_int_equal(wire_batch_open(frame, frame_len, &it), 1);
    const uint8_t *item;
    size_t item_len, i = 0;
    int rc;
    while ((rc = wire_batch_next(&it, &item, &item_len)) == 1) {
        assert_true(i < N);
        assert_int_equal(item_len, lens[i]);
        assert_memory_equal(item, items[i], lens[i]);
        wire_msg_t m;
        assert_int_equal(wire_decode(item, item_len, 0, &m), ERR_OK);
        assert_int_equal(m.kind, i % 3 ? WIRE_DONE_ACK : WIRE_SUBMIT);
        wire_msg_release(&m);
        i++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(i, N);
    /* wire_decode does not unpack a whole Batch */
    wire_msg_t m;
    assert_int_not_equal(wire_decode(frame, frame_len, 0, &m), ERR_OK);
    wire_msg_release(&m);
    /* an ordinary envelope is not a Batch, and reads as one message */
    assert_int_equal(wire_batch_open(items[1], lens[1], &it), 0);
    assert_int_equal(wire_batch_next(&it, &item, &item_len), 1);
    assert_ptr_equal(item, items[1]);
    assert_int_equal(item_len, lens[1]);
    assert_int_equal(wire_batch_next(&it, &item, &item_len), 0);
    /* a bad frame yields nothing */
    static const uint8_t junk[] = { 0xff, 0xff, 0xff };
    assert_int_equal(wire_batch_open(junk, sizeof junk, &it), ERR_PROTO);
    assert_int_equal(wire_batch_next(&it, &item, &item_len), 0);
    for (size_t k = 0; k < N; k++)
        free(items[k]);
    free(want);
    free(frame);
}

static void
test_single_item_goes_plain(void **state)
{
    (void)state;
    size_t len;
    uint8_t *ack = encode_ack(7, &len);
    wire_batch_t b;
    wire_batch_init(&b);
    uint8_t *frame = NULL;
    size_t frame_len = 0;
    assert_int_equal(wire_batch_finish(&b, &frame, &frame_len), ERR_INVAL);
    wire_batch_add(&b, ack, len);
    assert_int_equal(wire_batch_finish(&b, &frame, &frame_len), ERR_OK);
    assert_int_equal(frame_len, len);
    assert_memory_equal(frame, ack, len);
    free(frame);
    /* take: the same frame without moving it */
    wire_batch_add(&b, ack, len);
    memcpy(wire_batch_reserve(&b, len), ack, len);
    uint8_t *mem = NULL;
    size_t off = 0;
    assert_int_equal(wire_batch_take(&b, &mem, &off, &frame_len), ERR_OK);
    wire_batch_iter_t it;
    const uint8_t *item;
    size_t item_len;
    assert_int_equal(wire_batch_open(mem + off, frame_len, &it), 1);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(wire_batch_next(&it, &item, &item_len), 1);
        assert_int_equal(item_len, len);
        assert_memory_equal(item, ack, len);
    }
    assert_int_equal(wire_batch_next(&it, &item, &item_len), 0);
    free(mem);
    /* reusable after finish */
    wire_batch_add(&b, ack, len);
    wire_batch_add(&b, ack, len);
    assert_int_equal(b.n, 2);
    wire_batch_free(&b);
    assert_null(b.buf);
    free(ack);
}

static void
test_bad_batches_refused(void **state)
{
    (void)state;
    size_t len;
    uint8_t *ack = encode_ack(9, &len);
    wire_batch_t b;
    wire_batch_init(&b);
    wire_batch_add(&b, ack, len);
    wire_batch_add(&b, ack, len);
    uint8_t *inner = NULL;
    size_t inner_len = 0;
    assert_int_equal(wire_batch_finish(&b, &inner, &inner_len), ERR_OK);

    /* a Batch inside a Batch: the walk stops with an error */
    wire_batch_add(&b, ack, len);
    wire_batch_add(&b, inner, inner_len);
    uint8_t *outer = NULL;
    size_t outer_len = 0;
    assert_int_equal(wire_batch_finish(&b, &outer, &outer_len), ERR_OK);
    wire_batch_iter_t it;
    const uint8_t *item;
    size_t item_len;
    assert_int_equal(wire_batch_open(outer, outer_len, &it), 1);
    assert_int_equal(wire_batch_next(&it, &item, &item_len), 1);
    assert_int_equal(wire_batch_next(&it, &item, &item_len), ERR_PROTO);
    assert_int_equal(wire_batch_next(&it, &item, &item_len), 0);

    /* truncated frames never read past their end */
    for (size_t cut = 0; cut < inner_len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        assert_non_null(copy);
        memcpy(copy, inner, cut);
        int rc = wire_batch_open(copy, cut, &it);
        if (rc == 1) {
            while ((rc = wire_batch_next(&it, &item, &item_len)) == 1)
                assert_true(item + item_len <= copy + cut);
        }
        assert_true(rc == 0 || rc == ERR_PROTO);
        free(copy);
    }
    /* another version */
    inner[1] = 2; /* version field: 0x08 0x01 */
    assert_int_equal(wire_batch_open(inner, inner_len, &it), ERR_VERSION);
    /* not protobuf at all */
    static const uint8_t junk[] = { 0xff, 0xff, 0xff };
    assert_int_equal(wire_batch_open(junk, sizeof junk, &it), ERR_PROTO);
    free(inner);
    free(outer);
    free(ack);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_protobuf_bytes),
        cmocka_unit_test(test_single_item_goes_plain),
        cmocka_unit_test(test_bad_batches_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
