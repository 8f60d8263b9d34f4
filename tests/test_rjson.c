/*
 * test_rjson: the streaming JSON writer produces exactly the document that
 * rjson_from_result() describes, with repaired UTF-8 and escaped text.
 */
#include "client/rjson.h"
#include "common/err.h"
#include "common/result.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static result_t *
sample(void)
{
    const char *text = "Lead \"quoted\" line\n"
                       "Anna Ivanova: Exports rose 7.5 percent, to $6.9 "
                       "billion, in Kazan\xff on June 30.\n";
#define AT(s) ((uint32_t)(strstr(text, (s)) - text))
    result_t *r = result_new();
    r->job_id = 42;
    r->seq = 7;
    r->version = result_strndup(r, "v1", 2);
    int32_t sp = result_add_speaker(r, "Anna Ivanova", "Minister \"A\"");
    result_add_turn(r, sp, AT("Anna"), AT("Exports"), (uint32_t)strlen(text));
    int32_t e = result_add_entity(r, RESULT_GPE, "Kazan\xff", NULL);
    result_add_mention(r, e, text, AT("Kazan"),
                       AT("Kazan") + 6); /* + invalid byte */
    int32_t p = result_add_entity(r, RESULT_PERSON, "Anna Ivanova", "Minister");
    result_add_mention(r, p, text, AT("Anna"), AT("Anna") + 12);
    result_add_figure(r, RESULT_PERCENT, text, AT("7.5"), AT("7.5") + 11, 7.5,
                      true, NULL, NULL);
    result_add_figure(r, RESULT_MONEY, text, AT("$"), AT("$") + 12, 6.9e9, true,
                      NULL, "USD");
    result_add_figure(r, RESULT_DATE, text, AT("June"), AT("June") + 7, 0,
                      false, "--06-30", NULL);
    result_add_figure(r, RESULT_CARDINAL, text, 0, 4, 0.1 + 0.2, true, NULL,
                      NULL);
    result_finish(r);
    return r;
}

static char *
capture(const result_t *r, const char *source, int streaming)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    if (streaming) {
        assert_int_equal(rjson_write_line(r, source, f), ERR_OK);
    } else {
        json_t *o = rjson_from_result(r, source);
        assert_int_equal(
            json_dumpf(o, f, JSON_COMPACT | JSON_REAL_PRECISION(17)), 0);
        json_decref(o);
        fputc('\n', f);
    }
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void
test_stream_equals_dom(void **state)
{
    (void)state;
    result_t *r = sample();
    char *a = capture(r, "file \"x\".txt", 1);
    char *b = capture(r, "file \"x\".txt", 0);
    assert_string_equal(a, b);

    json_error_t err;
    json_t *doc = json_loads(a, 0, &err);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "source")),
                        "file \"x\".txt");
    assert_int_equal(json_integer_value(json_object_get(doc, "job_id")), 42);
    json_t *ents = json_object_get(doc, "entities");
    assert_int_equal(json_array_size(ents), 2);
    /* the invalid byte became U+FFFD */
    const char *kazan = json_string_value(json_object_get(
        json_array_get(json_object_get(json_array_get(ents, 1), "mentions"), 0),
        "text"));
    assert_string_equal(kazan, "Kazan\xEF\xBF\xBD");
    json_t *figs = json_object_get(doc, "figures");
    assert_int_equal(json_array_size(figs), 4);
    json_t *money = json_array_get(figs, 2);
    assert_string_equal(json_string_value(json_object_get(money, "text")),
                        "$6.9 billion");
    assert_string_equal(json_string_value(json_object_get(money, "unit")),
                        "USD");
    assert_int_equal(json_integer_value(json_object_get(money, "value")),
                     6900000000);
    json_t *date = json_array_get(figs, 3);
    assert_string_equal(json_string_value(json_object_get(date, "value")),
                        "--06-30");
    json_t *pct = json_array_get(figs, 1);
    assert_true(json_real_value(json_object_get(pct, "value")) == 7.5);
    assert_int_equal(
        json_integer_value(json_object_get(
            json_array_get(json_object_get(doc, "turns"), 0), "start")),
        19);
    json_decref(doc);
    free(a);
    free(b);
    result_destroy(&r);
}

static void
test_empty_result(void **state)
{
    (void)state;
    result_t *r = result_new();
    char *a = capture(r, NULL, 1);
    char *b = capture(r, NULL, 0);
    assert_string_equal(a, b);
    assert_string_equal(a,
                        "{\"source\":\"\",\"extractor\":\"\",\"speakers\":[],"
                        "\"turns\":[],\"entities\":[],\"figures\":[]}\n");
    free(a);
    free(b);
    result_destroy(&r);
}

static void
test_write_error(void **state)
{
    (void)state;
    result_t *r = sample();
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        skip();
    setvbuf(f, NULL, _IONBF, 0);
    assert_int_equal(rjson_write_line(r, "x", f), ERR_IO);
    fclose(f);
    result_destroy(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_equals_dom),
        cmocka_unit_test(test_empty_result),
        cmocka_unit_test(test_write_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
