/*
 * test_wire_splice: a Dispatch spliced from a stored Submit has exactly
 * the bytes wire_encode() gives for the same Dispatch, for jobs with and
 * without optional fields; malformed stored bytes are refused.
 */
#include "common/err.h"
#include "proto/wire.h"
#include "proto/wire_batch.h"
#include "proto/wire_splice.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void
check_same(const wire_job_t *job, uint64_t rid, uint32_t attempt,
           uint32_t lease_ms)
{
    wire_msg_t sub;
    memset(&sub, 0, sizeof sub);
    sub.kind = WIRE_SUBMIT;
    sub.u.submit.job = *job;
    uint8_t *stored = NULL, *want = NULL, *got = NULL;
    size_t stored_len = 0, want_len = 0, got_len = 0;
    assert_int_equal(wire_encode(&sub, &stored, &stored_len), ERR_OK);

    wire_msg_t d;
    memset(&d, 0, sizeof d);
    d.kind = WIRE_DISPATCH;
    d.request_id = rid;
    d.u.dispatch.job = *job;
    d.u.dispatch.attempt = attempt;
    d.u.dispatch.lease_ms = lease_ms;
    assert_int_equal(wire_encode(&d, &want, &want_len), ERR_OK);
    assert_int_equal(wire_splice_dispatch(stored, stored_len, rid, attempt,
                                          lease_ms, &got, &got_len),
                     ERR_OK);
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);

    /* the same bytes as a Batch item, behind another item */
    wire_batch_t b;
    wire_batch_init(&b);
    wire_batch_add(&b, want, want_len);
    assert_int_equal(wire_splice_dispatch_batch(stored, stored_len, rid,
                                                attempt, lease_ms, &b),
                     ERR_OK);
    wire_batch_iter_t it;
    const uint8_t *item;
    size_t item_len;
    uint8_t *frame = NULL;
    size_t frame_len = 0;
    assert_int_equal(wire_batch_finish(&b, &frame, &frame_len), ERR_OK);
    assert_int_equal(wire_batch_open(frame, frame_len, &it), 1);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(wire_batch_next(&it, &item, &item_len), 1);
        assert_int_equal(item_len, want_len);
        assert_memory_equal(item, want, want_len);
    }
    assert_int_equal(wire_batch_next(&it, &item, &item_len), 0);
    free(frame);

    wire_msg_t back;
    assert_int_equal(wire_decode(got, got_len, 0, &back), ERR_OK);
    assert_int_equal(back.kind, WIRE_DISPATCH);
    assert_int_equal(back.request_id, rid);
    assert_int_equal(back.u.dispatch.attempt, attempt);
    assert_int_equal(back.u.dispatch.lease_ms, lease_ms);
    assert_int_equal(back.u.dispatch.job.id, job->id);
    assert_int_equal(back.u.dispatch.job.text_len, job->text_len);
    assert_memory_equal(back.u.dispatch.job.text, job->text, job->text_len);
    wire_msg_release(&back);
    free(stored);
    free(want);
    free(got);
}

static void
test_same_bytes_as_encode(void **state)
{
    (void)state;
    static const char *const keys[] = { "lang", "site" };
    static const char *const values[] = { "en", "example" };
    wire_job_t j;
    memset(&j, 0, sizeof j);
    j.id = 4242;
    j.key = "sha256:0123";
    j.source_url = "http://example.org/minutes/7";
    j.title = "Council meeting";
    j.published = "2024-03-01";
    j.text = "Clara Vos: The budget grows by 4.5 percent.";
    j.text_len = strlen(j.text);
    j.n_meta = 2;
    j.meta_keys = keys;
    j.meta_values = values;
    j.priority = 3;
    check_same(&j, 1, 1, 60000);
    check_same(&j, 300, 7, 1);
    check_same(&j, 0, 0, 0); /* zero fields are left out, as protobuf-c does */
    /* a text long enough for multi-byte length prefixes */
    size_t n = 300000;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'a', n);
    j.text = big;
    j.text_len = n;
    j.n_meta = 0;
    j.id = (uint64_t)1 << 40;
    check_same(&j, UINT64_MAX, UINT32_MAX, UINT32_MAX);
    free(big);
}

static void
test_malformed_refused(void **state)
{
    (void)state;
    uint8_t *out = NULL;
    size_t out_len = 0;
    /* not a Submit: an Accepted envelope */
    wire_msg_t m;
    memset(&m, 0, sizeof m);
    m.kind = WIRE_ACCEPTED;
    m.u.accepted.job_id = 5;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_encode(&m, &buf, &len), ERR_OK);
    assert_int_equal(wire_splice_dispatch(buf, len, 1, 1, 1, &out, &out_len),
                     ERR_PROTO);
    free(buf);
    /* truncated Submit */
    memset(&m, 0, sizeof m);
    m.kind = WIRE_SUBMIT;
    m.u.submit.job.key = "k";
    m.u.submit.job.text = "Some text here.";
    m.u.submit.job.text_len = strlen(m.u.submit.job.text);
    assert_int_equal(wire_encode(&m, &buf, &len), ERR_OK);
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(
            wire_splice_dispatch(buf, cut, 1, 1, 1, &out, &out_len), ERR_PROTO);
    free(buf);
    /* garbage: an unterminated varint, a bad wire type */
    const uint8_t junk1[] = { 0xff, 0xff, 0xff };
    const uint8_t junk2[] = { 0x0f, 0x00 };
    assert_int_equal(
        wire_splice_dispatch(junk1, sizeof junk1, 1, 1, 1, &out, &out_len),
        ERR_PROTO);
    assert_int_equal(
        wire_splice_dispatch(junk2, sizeof junk2, 1, 1, 1, &out, &out_len),
        ERR_PROTO);
    assert_int_equal(wire_splice_dispatch(NULL, 0, 1, 1, 1, &out, &out_len),
                     ERR_PROTO);
    assert_null(out);
}

/* wire_submit_text finds the text inside a stored Submit, in place. */
static void
test_submit_text(void **state)
{
    (void)state;
    wire_msg_t sub = { .kind = WIRE_SUBMIT, .request_id = 3 };
    sub.u.submit.job.key = "k";
    sub.u.submit.job.title = "t";
    sub.u.submit.job.text = "Anna: a\0b text";
    sub.u.submit.job.text_len = 15;
    uint8_t *buf;
    size_t len;
    assert_int_equal(wire_encode(&sub, &buf, &len), ERR_OK);
    const uint8_t *text;
    size_t n;
    assert_int_equal(wire_submit_text(buf, len, &text, &n), ERR_OK);
    assert_int_equal(n, 15);
    assert_memory_equal(text, "Anna: a\0b text", 15);
    assert_true(text > buf && text + n <= buf + len);
    /* cut short, or not a Submit: refused */
    assert_int_equal(wire_submit_text(buf, len - 1, &text, &n), ERR_PROTO);
    assert_int_equal(wire_submit_text(NULL, 0, &text, &n), ERR_PROTO);
    free(buf);
    wire_msg_t st = { .kind = WIRE_STATS };
    assert_int_equal(wire_encode(&st, &buf, &len), ERR_OK);
    assert_int_equal(wire_submit_text(buf, len, &text, &n), ERR_PROTO);
    free(buf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bytes_as_encode),
        cmocka_unit_test(test_malformed_refused),
        cmocka_unit_test(test_submit_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
