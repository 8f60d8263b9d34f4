/*
 * test_extract: the engine as a whole - deterministic, safe to share
 * between threads, its lexicon its handle's, offsets into the input,
 * turns attributed, oversize input refused without touching it.
 */
#include "client/rjson.h"
#include "common/err.h"
#include "common/result.h"
#include "engine/extract.h"
#include "engine/lexicon.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const docs[] = {
    "The meeting took place in Kazan.\n"
    "Excerpts from the transcript:\n"
    "Prime Minister Mikhail Mishustin: Good afternoon, Mr Ivanov. Exports "
    "to Kazakhstan grew by 7.5 percent to $6.9 billion in the first half "
    "of 2020.\n"
    "Governor of Amur Region Pavel Ivanov: Thank you, Mr Mishustin. We "
    "harvested 1,200 tonnes of soybeans on June 30 and invested RUB 200 bn "
    "in the Blagoveshchensk airport.\n"
    "Mikhail Mishustin: The Healthcare Ministry of the Russian Federation "
    "will help the Amur and Irkutsk regions.\n",
    "President of Russia Vladimir Putin: Colleagues, agenda: two reports.\n"
    "Rostec Corporation CEO Sergei Chemezov: In 2019, revenue reached 1.8 "
    "trillion roubles, up 9 percent.\n"
    "Question: What about the 22nd plant?\n"
    "Vladimir Putin: Let me repeat: from 30 to 15 percent.\n",
    "",
};
#define NDOCS (sizeof docs / sizeof docs[0])

/* The JSON Lines rendering of one document: a complete, comparable
 * fingerprint of the result. Caller frees. */
static char *
render(const extract_t *ex, const char *text)
{
    result_t *r = NULL;
    assert_int_equal(extract_run(ex, text, strlen(text), &r), ERR_OK);
    r->extract_us = 0; /* the only field allowed to vary */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(rjson_write_line(r, "doc", f), ERR_OK);
    assert_int_equal(fclose(f), 0);
    result_destroy(&r);
    return buf;
}

static void
test_deterministic(void **state)
{
    (void)state;
    extract_t *a = extract_new();
    extract_t *b = extract_new();
    for (size_t i = 0; i < NDOCS; i++) {
        char *x = render(a, docs[i]);
        char *y = render(a, docs[i]);
        char *z = render(b, docs[i]);
        assert_string_equal(x, y);
        assert_string_equal(x, z);
        free(x);
        free(y);
        free(z);
    }
    extract_destroy(&a);
    extract_destroy(&b);
    assert_null(a);
    extract_destroy(&a); /* NULL-safe */
}

/* A document read from the same buffer as the one before it: names are
 * grouped by their own bytes, nothing kept from the previous document
 * (the entity pass keeps a cache of name hashes by address between
 * documents). */
static void
test_same_buffer_new_names(void **state)
{
    (void)state;
    extract_t *ex = extract_new();
    char buf[128];
    strcpy(buf, "Mr Ivan Petrov spoke.\n");
    char *a = render(ex, buf);
    assert_non_null(strstr(a, "Ivan Petrov"));
    strcpy(buf, "Mr Oleg Sidrov spoke. Mr Ivan Petrov replied.\n");
    char *b = render(ex, buf);
    char *fresh = render(ex, "Mr Oleg Sidrov spoke. Mr Ivan Petrov replied.\n");
    assert_non_null(strstr(b, "\"name\":\"Oleg Sidrov\""));
    assert_non_null(strstr(b, "\"name\":\"Ivan Petrov\""));
    assert_string_equal(b, fresh);
    free(a);
    free(b);
    free(fresh);
    extract_destroy(&ex);
}

/* Every stage looks words up in the lexicon of the handle it runs on:
 * two handles over different lexicons coexist, and the built-in one is
 * what extract_new() uses. */
static void
test_lexicon_is_the_handles(void **state)
{
    (void)state;
    static const gaz_slot_t no_slots[1] = { { 0 } };
    static const fig_word_t no_words[1] = { { NULL } };
    static const lex_set_t no_set = { 0 };
    lexicon_t bare = *lexicon_builtin();
    bare.gaz_table = no_slots; /* a table of one empty slot */
    bare.gaz_mask = 0;
    bare.gaz_keys = 0;
    bare.fig_scales = no_words;
    bare.anonymous_roles = &no_set;
    extract_t *def = extract_new();
    extract_t *builtin = extract_new_with(lexicon_builtin());
    extract_t *other = extract_new_with(&bare);
    const char *text = "Question: Is trade with Kazakhstan growing?\n"
                       "Vladimir Putin: Yes, it reached $6.9 billion.\n";
    char *x = render(def, text);
    char *y = render(builtin, text);
    char *z = render(other, text);
    assert_string_equal(x, y);
    /* the gazetteer, a word list and a figure table of each handle */
    assert_non_null(strstr(x, "\"GPE\",\"name\":\"Kazakhstan\""));
    assert_null(strstr(z, "\"GPE\",\"name\":\"Kazakhstan\""));
    assert_non_null(strstr(x, "6900000000"));
    assert_null(strstr(z, "6900000000"));
    /* "Question:" labels an anonymous turn only by the role list */
    assert_non_null(strstr(x, "{\"speaker\":null,\"start\":0,"));
    assert_null(strstr(z, "{\"speaker\":null,\"start\":0,"));
    free(x);
    free(y);
    free(z);
    extract_destroy(&def);
    extract_destroy(&builtin);
    extract_destroy(&other);
}

typedef struct job {
    const extract_t *ex; /* shared engine */
    char *expect[NDOCS]; /* serial renderings */
    int failures;        /* mismatches seen by this thread */
} job_t;

static void *
worker(void *arg)
{
    job_t *j = arg;
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < NDOCS; i++) {
            result_t *r = NULL;
            if (extract_run(j->ex, docs[i], strlen(docs[i]), &r)) {
                j->failures++;
                continue;
            }
            r->extract_us = 0;
            char *buf = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&buf, &len);
            if (!f || rjson_write_line(r, "doc", f) || fclose(f))
                j->failures++;
            else if (strcmp(buf, j->expect[i]))
                j->failures++;
            free(buf);
            result_destroy(&r);
        }
    }
    return NULL;
}

static void
test_shared_between_threads(void **state)
{
    (void)state;
    extract_t *ex = extract_new();
    job_t jobs[4];
    pthread_t th[4];
    for (int t = 0; t < 4; t++) {
        jobs[t].ex = ex;
        jobs[t].failures = 0;
        for (size_t i = 0; i < NDOCS; i++)
            jobs[t].expect[i] = render(ex, docs[i]);
    }
    for (int t = 0; t < 4; t++)
        assert_int_equal(pthread_create(&th[t], NULL, worker, &jobs[t]), 0);
    for (int t = 0; t < 4; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        assert_int_equal(jobs[t].failures, 0);
        for (size_t i = 0; i < NDOCS; i++)
            free(jobs[t].expect[i]);
    }
    extract_destroy(&ex);
}

static const result_entity_t *
find_entity(const result_t *r, int type, const char *name)
{
    for (size_t i = 0; i < r->n_entities; i++)
        if (r->entities[i].type == type && !strcmp(r->entities[i].name, name))
            return &r->entities[i];
    return NULL;
}

static const result_figure_t *
find_figure(const result_t *r, const char *text)
{
    for (size_t i = 0; i < r->n_figures; i++)
        if (!strcmp(r->figures[i].text, text))
            return &r->figures[i];
    return NULL;
}

static void
test_offsets_and_turns(void **state)
{
    (void)state;
    extract_t *ex = extract_new();
    const char *text = docs[0];
    result_t *r = NULL;
    assert_int_equal(extract_run(ex, text, strlen(text), &r), ERR_OK);
    assert_string_equal(r->version, EXTRACT_VERSION);
    assert_int_equal(r->n_turns, 3);
    assert_int_equal(r->n_speakers, 2);
    assert_string_equal(r->speakers[0].name, "Mikhail Mishustin");
    assert_int_equal(r->speakers[0].turns, 2);
    assert_string_equal(r->speakers[1].name, "Pavel Ivanov");
    /* every mention and figure is a slice of the input, in its turn */
    for (size_t i = 0; i < r->n_entities; i++) {
        const result_entity_t *e = &r->entities[i];
        for (size_t k = 0; k < e->n_mentions; k++) {
            const result_mention_t *m = &e->mentions[k];
            assert_true(m->start < m->end && m->end <= strlen(text));
            assert_memory_equal(text + m->start, m->text, m->end - m->start);
            assert_int_equal(m->turn, result_turn_at(r, m->start));
        }
    }
    for (size_t i = 0; i < r->n_figures; i++) {
        const result_figure_t *f = &r->figures[i];
        assert_memory_equal(text + f->start, f->text, f->end - f->start);
        if (i)
            assert_true(r->figures[i - 1].start <= f->start);
    }
    const result_entity_t *p = find_entity(r, RESULT_PERSON, "Pavel Ivanov");
    assert_non_null(p);
    assert_true(p->n_mentions >= 2); /* label + "Mr Ivanov" */
    assert_non_null(find_entity(r, RESULT_GPE, "Kazakhstan"));
    const result_figure_t *usd = find_figure(r, "$6.9 billion");
    assert_non_null(usd);
    assert_int_equal(usd->type, RESULT_MONEY);
    assert_string_equal(usd->unit, "USD");
    assert_true(usd->value == 6.9e9);
    assert_int_equal(usd->turn, 0);
    const result_figure_t *t = find_figure(r, "1,200 tonnes");
    assert_non_null(t);
    assert_int_equal(t->type, RESULT_QUANTITY);
    assert_string_equal(t->unit, "tonne");
    assert_int_equal(t->turn, 1);
    assert_int_equal(r->turns[t->turn].speaker, 1);
    result_destroy(&r);
    extract_destroy(&ex);
}

static void
test_crlf_same_facts(void **state)
{
    (void)state;
    extract_t *ex = extract_new();
    const char *lf = docs[0];
    size_t n = strlen(lf);
    char *crlf = malloc(n * 2 + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (lf[i] == '\n')
            crlf[k++] = '\r';
        crlf[k++] = lf[i];
    }
    result_t *a = NULL, *b = NULL;
    assert_int_equal(extract_run(ex, lf, n, &a), ERR_OK);
    assert_int_equal(extract_run(ex, crlf, k, &b), ERR_OK);
    assert_int_equal(a->n_turns, b->n_turns);
    assert_int_equal(a->n_speakers, b->n_speakers);
    assert_int_equal(a->n_entities, b->n_entities);
    assert_int_equal(a->n_figures, b->n_figures);
    for (size_t i = 0; i < a->n_figures; i++)
        assert_string_equal(a->figures[i].text, b->figures[i].text);
    for (size_t i = 0; i < a->n_speakers; i++)
        assert_string_equal(a->speakers[i].name, b->speakers[i].name);
    result_destroy(&a);
    result_destroy(&b);
    free(crlf);
    extract_destroy(&ex);
}

static void
test_too_big_is_refused_untouched(void **state)
{
    (void)state;
    extract_t *ex = extract_new();
    result_t *r = NULL;
    /* the text pointer is never read when the length is refused */
    assert_int_equal(extract_run(ex, "x", EXTRACT_MAX_TEXT + 1, &r),
                     ERR_TOOBIG);
    assert_null(r);
    extract_destroy(&ex);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_shared_between_threads),
        cmocka_unit_test(test_lexicon_is_the_handles),
        cmocka_unit_test(test_same_buffer_new_names),
        cmocka_unit_test(test_offsets_and_turns),
        cmocka_unit_test(test_crlf_same_facts),
        cmocka_unit_test(test_too_big_is_refused_untouched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
