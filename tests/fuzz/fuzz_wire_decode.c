/*
 * fuzz_wire_decode: the envelope decoder (wire_decode) on untrusted bytes.
 * Properties: only the documented codes come back; whatever decodes
 * encodes again, and that encoding decodes to a message that encodes to
 * the same bytes (decode and encode agree); a smaller memory cap gives
 * the same message or ERR_TOOBIG, never something else.
 */
#include "common/err.h"
#include "fuzz.h"
#include "proto/wire.h"

#include <string.h>

/* Encode a decoded message; every decoded message must encode. */
static void
encode_ok(const wire_msg_t *m, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    FUZZ_CHECK(wire_encode(m, buf, len) == ERR_OK);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wire_msg_t m, again, tight;
    uint8_t *b1 = NULL, *b2 = NULL, *b3 = NULL;
    size_t n1 = 0, n2 = 0, n3 = 0;
    int rc = wire_decode(data, size, 0, &m);
    FUZZ_CHECK(rc == ERR_OK || rc == ERR_PROTO || rc == ERR_TOOBIG ||
               rc == ERR_VERSION || rc == ERR_UTF8);
    FUZZ_CHECK(rc == ERR_OK || m.priv == NULL);
    if (rc != ERR_OK)
        return 0;
    FUZZ_CHECK(m.kind != WIRE_NONE && m.kind != WIRE_BATCH);
    FUZZ_CHECK(m.version == WIRE_PROTOCOL_VERSION);
    encode_ok(&m, &b1, &n1);

    FUZZ_CHECK(wire_decode(b1, n1, 0, &again) == ERR_OK);
    FUZZ_CHECK(again.kind == m.kind && again.request_id == m.request_id);
    encode_ok(&again, &b2, &n2);
    FUZZ_CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0);
    wire_msg_release(&again);

    /* a cap near the input's size: the same message, or refused as big */
    rc = wire_decode(data, size, size + 64, &tight);
    FUZZ_CHECK(rc == ERR_OK || rc == ERR_TOOBIG);
    if (rc == ERR_OK) {
        encode_ok(&tight, &b3, &n3);
        FUZZ_CHECK(n1 == n3 && memcmp(b1, b3, n1) == 0);
        wire_msg_release(&tight);
    }
    wire_msg_release(&m);
    free(b1);
    free(b2);
    free(b3);
    return 0;
}
