/*
 * fuzz_wire_batch: the Batch reader (wire_batch_open, wire_batch_next) on
 * untrusted frames, each item then decoded as the broker and the worker
 * do. Properties: only the documented codes; items lie inside the frame
 * and are never Batches; the items read, put into a new Batch with
 * wire_batch_add, read back as the same items.
 */
#include "common/err.h"
#include "fuzz.h"
#include "proto/wire.h"
#include "proto/wire_batch.h"

#include <string.h>

#define MAX_ITEMS 4096

typedef struct item {
    const uint8_t *p; /* bytes in the frame */
    size_t n;         /* their count */
} item_t;

/* Read every item of frame into items (up to MAX_ITEMS); returns the
 * count, or -1 if opening or reading failed. */
static long
read_all(const uint8_t *frame, size_t len, item_t *items)
{
    wire_batch_iter_t it;
    int rc = wire_batch_open(frame, len, &it);
    FUZZ_CHECK(rc == 0 || rc == 1 || rc == ERR_PROTO || rc == ERR_VERSION);
    const uint8_t *p = NULL;
    size_t n = 0;
    if (rc < 0) {
        FUZZ_CHECK(wire_batch_next(&it, &p, &n) == 0);
        return -1;
    }
    long count = 0;
    int single = rc == 0;
    while ((rc = wire_batch_next(&it, &p, &n)) == 1) {
        FUZZ_CHECK(p >= frame && p + n <= frame + len);
        if (single) {
            FUZZ_CHECK(count == 0 && p == frame && n == len);
        } else {
            wire_batch_iter_t inner;
            FUZZ_CHECK(wire_batch_open(p, n, &inner) != 1);
        }
        if (count < MAX_ITEMS)
            items[count] = (item_t){ p, n };
        count++;
    }
    FUZZ_CHECK(rc == 0 || (rc == ERR_PROTO && !single));
    return rc == 0 ? count : -1;
}

/* Decode an item as its receiver would; both decoders must agree. */
static void
decode_item(const uint8_t *p, size_t n)
{
    wire_msg_t a, b;
    bool borrowed;
    int ra = wire_decode(p, n, 0, &a);
    int rb = wire_decode_borrow(p, n, &b, &borrowed);
    FUZZ_CHECK(ra == rb && a.kind == b.kind);
    wire_msg_release(&a);
    wire_msg_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static item_t items[MAX_ITEMS], again[MAX_ITEMS];
    long n = read_all(data, size, items);
    if (n <= 0 || n > MAX_ITEMS)
        return 0;
    for (long i = 0; i < n && i < 64; i++)
        decode_item(items[i].p, items[i].n);

    wire_batch_t b;
    wire_batch_init(&b);
    for (long i = 0; i < n; i++)
        wire_batch_add(&b, items[i].p, items[i].n);
    FUZZ_CHECK(wire_batch_bytes(&b) >= (size_t)n * 2);
    uint8_t *frame = NULL;
    size_t len = 0;
    FUZZ_CHECK(wire_batch_finish(&b, &frame, &len) == ERR_OK);
    FUZZ_CHECK(wire_batch_finish(&b, &frame, &len) == ERR_INVAL);
    wire_batch_iter_t it;
    int kind = wire_batch_open(frame, len, &it);
    if (n == 1 && kind != 0) {
        /* a lone item that is not a plain message reads as itself only
         * inside a Batch: nothing to compare */
        free(frame);
        return 0;
    }
    long m = read_all(frame, len, again);
    FUZZ_CHECK(m == n);
    for (long i = 0; i < n; i++)
        FUZZ_CHECK(again[i].n == items[i].n &&
                   memcmp(again[i].p, items[i].p, items[i].n) == 0);
    free(frame);
    return 0;
}
