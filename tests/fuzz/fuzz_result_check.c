/*
 * fuzz_result_check: the store's check of a worker's serialised Result
 * (store_result_check = wire_result_check, what the broker runs before it
 * commits a Done) on untrusted bytes. Properties: only 0 or ERR_PROTO;
 * what the check accepts, wire_result_decode reads (a committed result
 * always decodes for its consumers); a Result that wire_result_decode
 * reads and whose strings are valid UTF-8 is accepted once re-encoded as
 * a worker would send it (the check never refuses a good result); NULL is
 * refused only with a length.
 */
#include "common/err.h"
#include "common/result.h"
#include "common/utf8.h"
#include "fuzz.h"
#include "proto/wire.h"
#include "storage/store.h"

#include <string.h>

static bool
valid(const char *s)
{
    return !s || utf8_is_valid(s, strlen(s));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int rc = store_result_check(data, size);
    FUZZ_CHECK(rc == ERR_OK || rc == ERR_PROTO);
    FUZZ_CHECK(store_result_check(NULL, 0) == ERR_OK);
    FUZZ_CHECK(store_result_check(NULL, 1) == ERR_INVAL);

    result_t *r = NULL;
    int drc = wire_result_decode(data, size, &r);
    if (rc == ERR_OK)
        FUZZ_CHECK(drc == ERR_OK);
    if (drc != ERR_OK)
        return 0;
    bool names_ok = valid(r->version) && valid(r->source);
    for (size_t i = 0; i < r->n_speakers; i++)
        names_ok = names_ok && valid(r->speakers[i].name) &&
                   valid(r->speakers[i].title);
    for (size_t i = 0; i < r->n_entities; i++) {
        const result_entity_t *e = &r->entities[i];
        names_ok = names_ok && valid(e->name) && valid(e->role);
        for (size_t k = 0; k < e->n_mentions; k++)
            names_ok = names_ok && valid(e->mentions[k].text);
    }
    for (size_t i = 0; i < r->n_figures; i++) {
        const result_figure_t *f = &r->figures[i];
        names_ok =
            names_ok && valid(f->text) && valid(f->iso) && valid(f->unit);
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    FUZZ_CHECK(wire_result_encode(r, &buf, &len) == ERR_OK);
    /* small inputs only: the check bounds decoding memory conservatively
     * and may refuse a huge run of empty messages that would still fit */
    if (names_ok && size <= 4096)
        FUZZ_CHECK(store_result_check(buf, len) == ERR_OK);
    free(buf);
    result_destroy(&r);
    return 0;
}
