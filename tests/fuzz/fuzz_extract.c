/*
 * fuzz_extract: the extraction engine on arbitrary bytes (invalid UTF-8,
 * NUL, CR, anything). Properties: every turn, mention and figure lies
 * within the text with start <= end; each surface text is those bytes;
 * turns are in order and name a speaker or none (-1), as many as the
 * speakers count; each mention's and figure's turn
 * is RESULT_NO_TURN or a turn index, the one result_turn_at gives;
 * figures are sorted; speakers' turn counts add up; the result encodes
 * and the store's check accepts it.
 */
#include "common/err.h"
#include "common/result.h"
#include "extract.h" /* the engine target's own directory */
#include "fuzz.h"
#include "proto/wire.h"
#include "storage/store.h"

#include <string.h>

/* start..end of len bytes, with surface text s equal to those bytes. */
static void
check_span(const char *text, size_t len, uint32_t start, uint32_t end,
           const char *s)
{
    FUZZ_CHECK(start <= end && end <= len);
    FUZZ_CHECK(s != NULL && strlen(s) == end - start);
    FUZZ_CHECK(memcmp(s, text + start, end - start) == 0);
}

static void
check_turn_ref(const result_t *r, int32_t turn, uint32_t start)
{
    FUZZ_CHECK(turn == RESULT_NO_TURN ||
               (turn >= 0 && (size_t)turn < r->n_turns));
    FUZZ_CHECK(turn == result_turn_at(r, start));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static extract_t *ex;
    if (!ex)
        ex = extract_new();
    const char *text = (const char *)data;
    result_t *r = NULL;
    FUZZ_CHECK(extract_run(ex, text, size, &r) == ERR_OK && r);

    uint64_t turns = 0;
    for (size_t i = 0; i < r->n_speakers; i++) {
        FUZZ_CHECK(r->speakers[i].name && r->speakers[i].title);
        turns += r->speakers[i].turns;
    }
    for (size_t i = 0; i < r->n_turns; i++) {
        const result_turn_t *t = &r->turns[i];
        FUZZ_CHECK(t->start <= t->body && t->body <= t->end && t->end <= size);
        /* -1: a turn of no speaker (an unnamed "Question:") */
        FUZZ_CHECK(t->speaker >= -1 && t->speaker < (int64_t)r->n_speakers);
        turns -= t->speaker >= 0;
        FUZZ_CHECK(i == 0 || r->turns[i - 1].end <= t->start);
    }
    FUZZ_CHECK(turns == 0);
    for (size_t i = 0; i < r->n_entities; i++) {
        const result_entity_t *e = &r->entities[i];
        FUZZ_CHECK(e->type >= RESULT_PERSON && e->type <= RESULT_NORP);
        FUZZ_CHECK(e->name && e->role && e->n_mentions > 0);
        for (size_t k = 0; k < e->n_mentions; k++) {
            const result_mention_t *m = &e->mentions[k];
            check_span(text, size, m->start, m->end, m->text);
            FUZZ_CHECK(m->start < m->end);
            check_turn_ref(r, m->turn, m->start);
            FUZZ_CHECK(k == 0 || e->mentions[k - 1].start <= m->start);
        }
    }
    for (size_t i = 0; i < r->n_figures; i++) {
        const result_figure_t *f = &r->figures[i];
        FUZZ_CHECK(f->type >= RESULT_PERCENT && f->type <= RESULT_CARDINAL);
        check_span(text, size, f->start, f->end, f->text);
        FUZZ_CHECK(f->start < f->end);
        check_turn_ref(r, f->turn, f->start);
        FUZZ_CHECK(i == 0 || r->figures[i - 1].start <= f->start);
    }

    uint8_t *buf = NULL;
    size_t len = 0;
    FUZZ_CHECK(wire_result_encode(r, &buf, &len) == ERR_OK);
    FUZZ_CHECK(store_result_check(buf, len) == ERR_OK);
    free(buf);
    result_destroy(&r);
    return 0;
}
