/*
 * fuzz_wire_borrow: differential check of the borrowing decoder. For any
 * bytes, wire_decode_borrow and wire_decode must return the same code,
 * kind, version and request id, and on success the same message (compared
 * by encoding both); a borrowed Job.text must point into the input and be
 * the bytes wire_decode copied.
 */
#include "common/err.h"
#include "fuzz.h"
#include "proto/wire.h"

#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wire_msg_t a, b;
    bool borrowed = true;
    uint8_t *ea = NULL, *eb = NULL;
    size_t na = 0, nb = 0;
    int rb = wire_decode_borrow(data, size, &b, &borrowed);
    int ra = wire_decode(data, size, 0, &a);
    FUZZ_CHECK(ra == rb);
    FUZZ_CHECK(a.kind == b.kind);
    FUZZ_CHECK(a.version == b.version);
    FUZZ_CHECK(a.request_id == b.request_id);
    if (rb != ERR_OK) {
        FUZZ_CHECK(!borrowed);
        FUZZ_CHECK(b.priv == NULL);
        return 0;
    }
    if (borrowed) {
        const wire_job_t *jb = &b.u.dispatch.job;
        FUZZ_CHECK(b.kind == WIRE_DISPATCH && jb->text_len > 0);
        FUZZ_CHECK((const uint8_t *)jb->text >= data &&
                   (const uint8_t *)jb->text + jb->text_len <= data + size);
    }
    if (a.kind == WIRE_DISPATCH) {
        const wire_job_t *ja = &a.u.dispatch.job, *jb = &b.u.dispatch.job;
        FUZZ_CHECK(ja->text_len == jb->text_len);
        FUZZ_CHECK(ja->text_len == 0 ||
                   memcmp(ja->text, jb->text, ja->text_len) == 0);
        FUZZ_CHECK(ja->id == jb->id && ja->priority == jb->priority);
        FUZZ_CHECK(ja->n_meta == jb->n_meta);
        FUZZ_CHECK(strcmp(ja->key, jb->key) == 0);
        FUZZ_CHECK(a.u.dispatch.attempt == b.u.dispatch.attempt);
        FUZZ_CHECK(a.u.dispatch.lease_ms == b.u.dispatch.lease_ms);
    }
    FUZZ_CHECK(wire_encode(&a, &ea, &na) == ERR_OK);
    FUZZ_CHECK(wire_encode(&b, &eb, &nb) == ERR_OK);
    FUZZ_CHECK(na == nb && memcmp(ea, eb, na) == 0);
    wire_msg_release(&a);
    wire_msg_release(&b);
    free(ea);
    free(eb);
    return 0;
}
