/*
 * fuzz_wire_splice: the Dispatch splicer on stored bytes. The broker
 * stores a Submit as wire_encode() wrote it; for any Submit the input
 * decodes to, splicing its stored form must give exactly wire_encode()'s
 * Dispatch, alone or as a Batch item. On raw (malformed) stored bytes the
 * splicer must refuse cleanly or write a well-formed envelope of the size
 * it planned. request id, attempt and lease come from the input's length.
 */
#include "common/err.h"
#include "fuzz.h"
#include "proto/wire.h"
#include "proto/wire_batch.h"
#include "proto/wire_splice.h"

#include <string.h>

/* Splice submit alone and as the second item of a Batch; both must agree.
 * Returns the code; *out (caller frees) holds the envelope on success. */
static int
splice_both(const uint8_t *submit, size_t len, uint64_t rid, uint32_t attempt,
            uint32_t lease, uint8_t **out, size_t *out_len)
{
    static const uint8_t first[] = { 0x08, 0x01, 0x8a, 0x01, 0x00 };
    int rc =
        wire_splice_dispatch(submit, len, rid, attempt, lease, out, out_len);
    FUZZ_CHECK(rc == ERR_OK || rc == ERR_PROTO);
    wire_batch_t b;
    wire_batch_init(&b);
    wire_batch_add(&b, first, sizeof first);
    int rb = wire_splice_dispatch_batch(submit, len, rid, attempt, lease, &b);
    FUZZ_CHECK(rb == rc);
    FUZZ_CHECK(b.n == (rc == ERR_OK ? 2u : 1u));
    if (rc == ERR_OK) {
        uint8_t *frame = NULL;
        size_t flen = 0;
        wire_batch_iter_t it;
        const uint8_t *p;
        size_t n;
        FUZZ_CHECK(wire_batch_finish(&b, &frame, &flen) == ERR_OK);
        FUZZ_CHECK(wire_batch_open(frame, flen, &it) == 1);
        FUZZ_CHECK(wire_batch_next(&it, &p, &n) == 1 && n == sizeof first);
        FUZZ_CHECK(wire_batch_next(&it, &p, &n) == 1);
        FUZZ_CHECK(n == *out_len && memcmp(p, *out, n) == 0);
        FUZZ_CHECK(wire_batch_next(&it, &p, &n) == 0);
        free(frame);
    }
    wire_batch_free(&b);
    return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t rid = size * 2654435761u;
    uint32_t attempt = (uint32_t)(size % 7);
    uint32_t lease = (uint32_t)(size % 3) * 30000u;
    uint8_t *out = NULL, *stored = NULL, *want = NULL;
    size_t out_len = 0, stored_len = 0, want_len = 0;

    /* raw bytes as if stored: refused, or a well-formed envelope */
    if (splice_both(data, size, rid, attempt, lease, &out, &out_len) ==
        ERR_OK) {
        wire_batch_iter_t it;
        FUZZ_CHECK(wire_batch_open(out, out_len, &it) == 0);
        free(out);
        out = NULL;
    }

    wire_msg_t m;
    if (wire_decode(data, size, 0, &m) != ERR_OK)
        return 0;
    if (m.kind != WIRE_SUBMIT) {
        wire_msg_release(&m);
        return 0;
    }
    wire_msg_t d;
    memset(&d, 0, sizeof d);
    d.kind = WIRE_DISPATCH;
    d.request_id = rid;
    d.u.dispatch.job = m.u.submit.job;
    d.u.dispatch.attempt = attempt;
    d.u.dispatch.lease_ms = lease;
    FUZZ_CHECK(wire_encode(&m, &stored, &stored_len) == ERR_OK);
    FUZZ_CHECK(wire_encode(&d, &want, &want_len) == ERR_OK);
    FUZZ_CHECK(splice_both(stored, stored_len, rid, attempt, lease, &out,
                           &out_len) == ERR_OK);
    FUZZ_CHECK(out_len == want_len && memcmp(out, want, want_len) == 0);

    /* and the worker reads it, borrowing or not, as that job */
    wire_msg_t got;
    bool borrowed;
    FUZZ_CHECK(wire_decode_borrow(out, out_len, &got, &borrowed) == ERR_OK);
    FUZZ_CHECK(got.kind == WIRE_DISPATCH);
    FUZZ_CHECK(got.u.dispatch.job.text_len == m.u.submit.job.text_len);
    wire_msg_release(&got);
    wire_msg_release(&m);
    free(out);
    free(stored);
    free(want);
    return 0;
}
