/*
 * fuzz_result_check: the store's check of a worker's serialised Result
 * (store_result_check, what the broker runs before it commits a Done) on
 * untrusted bytes. Properties: only 0 or ERR_PROTO; a Result that
 * wire_result_decode reads and whose entity names are valid UTF-8 is
 * accepted once re-encoded as a worker would send it (the check never
 * refuses a good result); NULL is refused only with a length.
 */
#include "common/err.h"
#include "common/result.h"
#include "common/utf8.h"
#include "fuzz.h"
#include "proto/wire.h"
#include "storage/store.h"

#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int rc = store_result_check(data, size);
    FUZZ_CHECK(rc == ERR_OK || rc == ERR_PROTO);
    FUZZ_CHECK(store_result_check(NULL, 0) == ERR_OK);
    FUZZ_CHECK(store_result_check(NULL, 1) == ERR_INVAL);

    result_t *r = NULL;
    if (wire_result_decode(data, size, &r) != ERR_OK)
        return 0;
    bool names_ok = true;
    for (size_t i = 0; i < r->n_entities; i++)
        names_ok = names_ok && utf8_is_valid(r->entities[i].name,
                                             strlen(r->entities[i].name));
    uint8_t *buf = NULL;
    size_t len = 0;
    FUZZ_CHECK(wire_result_encode(r, &buf, &len) == ERR_OK);
    if (names_ok)
        FUZZ_CHECK(store_result_check(buf, len) == ERR_OK);
    free(buf);
    result_destroy(&r);
    return 0;
}
