/*
 * test_jsonw: the buffer writer prints, byte for byte, what jansson prints
 * for rjson_from_result() (the reference), on every sample transcript and
 * on generated results full of awkward strings and numbers; its own
 * strings and numbers parse back to what went in; a document over the
 * spill size and a failing descriptor behave as documented.
 */
#include "client/jsonw.h"
#include "client/rjson.h"
#include "common/err.h"
#include "common/result.h"
#include "worker/extract.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17))

/* The reference: jansson's dump of the DOM plus "\n". Caller frees. */
static char *
reference(const result_t *r, const char *source)
{
    json_t *o = rjson_from_result(r, source);
    assert_non_null(o);
    char *s = json_dumps(o, DUMP_FLAGS);
    json_decref(o);
    assert_non_null(s);
    size_t n = strlen(s);
    char *line = malloc(n + 2);
    assert_non_null(line);
    memcpy(line, s, n);
    memcpy(line + n, "\n", 2);
    free(s);
    return line;
}

/* jsonw's bytes for r, NUL-terminated. Caller frees. */
static char *
written(jsonw_t *w, const result_t *r, const char *source)
{
    jsonw_clear(w);
    jsonw_result(w, r, source);
    size_t n;
    const char *p = jsonw_data(w, &n);
    assert_null(memchr(p, '\0', n));
    char *s = malloc(n + 1);
    assert_non_null(s);
    memcpy(s, p, n);
    s[n] = '\0';
    jsonw_clear(w);
    return s;
}

static void
assert_same(jsonw_t *w, const result_t *r, const char *source)
{
    char *want = reference(r, source);
    char *got = written(w, r, source);
    if (strcmp(want, got)) {
        size_t i = 0;
        while (want[i] && want[i] == got[i])
            i++;
        fprintf(stderr, "differ at byte %zu:\n want ...%.60s\n got  ...%.60s\n",
                i, want + (i > 20 ? i - 20 : 0), got + (i > 20 ? i - 20 : 0));
        fail();
    }
    free(want);
    free(got);
}

static void
test_samples_match_jansson(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/samples", EXCERPT_SOURCE_DIR);
    DIR *d = opendir(dir);
    assert_non_null(d);
    extract_t *ex = extract_new();
    jsonw_t *w = jsonw_new();
    int seen = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t nl = strlen(de->d_name);
        if (nl < 5 || strcmp(de->d_name + nl - 4, ".txt"))
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        char *text = malloc(1 << 20);
        assert_non_null(text);
        size_t len = fread(text, 1, 1 << 20, f);
        fclose(f);
        result_t *r = NULL;
        assert_int_equal(extract_run(ex, text, len, &r), ERR_OK);
        assert_true(r->n_entities > 0 && r->n_figures > 0);
        assert_same(w, r, path);
        r->job_id = 12345678901ull;
        r->seq = 77;
        assert_same(w, r, NULL);
        result_destroy(&r);
        free(text);
        seen++;
    }
    closedir(d);
    assert_true(seen >= 10);
    jsonw_destroy(&w);
    assert_null(w);
    jsonw_destroy(&w); /* NULL-safe */
    extract_destroy(&ex);
}

/* xorshift64*: the same awkward inputs on every run. */
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t
next(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

/* Awkward bytes: control characters, quotes, backslashes, valid and broken
 * UTF-8 (truncated, overlong, surrogates, above U+10FFFF); NUL-free when
 * nul is false. */
static size_t
awkward(char *buf, size_t max, bool nul)
{
    static const char *const pieces[] = {
        "\"",
        "\\",
        "/",
        "\x7f",
        "\t",
        "\n",
        "\r",
        "\b",
        "\f",
        "\x01",
        "\x1f",
        "\xc3\xa9",
        "\xe2\x80\x94",
        "\xf0\x9f\x98\x80",
        "\xc3",
        "\xe2\x80",
        "\xc0\xaf",
        "\xed\xa0\x80",
        "\xf4\x90\x80\x80",
        "\xff",
        "\x80",
        "Ivanov",
        " ",
        "u00e9",
    };
    size_t n = 0;
    size_t parts = next() % 12;
    for (size_t k = 0; k < parts; k++) {
        const char *p;
        char one[2] = { 0, 0 };
        if (next() % 4 == 0) {
            one[0] = (char)(next() % 256);
            if (!one[0] && !nul)
                one[0] = 'x';
            p = one;
        } else {
            p = pieces[next() % (sizeof pieces / sizeof pieces[0])];
        }
        size_t pl = p == one ? 1 : strlen(p);
        if (n + pl > max)
            break;
        memcpy(buf + n, p, pl);
        n += pl;
    }
    return n;
}

static double
awkward_number(void)
{
    static const double fixed[] = {
        0.0,
        -0.0,
        0.1 + 0.2,
        7.5,
        1.1,
        1e20,
        1e21,
        1e-5,
        1.5e-7,
        1e300,
        -1e-300,
        5e-324,
        9007199254740991.0,
        9007199254740992.0,
        -9007199254740992.0,
        123456789012345678.0,
        6.9e9,
        -42.0,
        1e17,
        1e16,
        2.5e-5,
    };
    uint64_t k = next() % 4;
    if (k == 0)
        return fixed[next() % (sizeof fixed / sizeof fixed[0])];
    if (k == 1)
        return (double)(int64_t)(next() % 2000000) - 1000000.0;
    if (k == 2)
        return (double)(next() % 100000) / 100.0;
    double d;
    uint64_t bits = next();
    memcpy(&d, &bits, sizeof d); /* any bit pattern, NaN and inf too */
    return d;
}

/* A result built from generated strings and numbers. */
static result_t *
generated(void)
{
    char input[512];
    size_t n = 0;
    while (n < 300)
        n += awkward(input + n, sizeof input - 1 - n, false);
    input[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!input[i])
            input[i] = '.';
    result_t *r = result_new();
    char s1[128], s2[128];
    size_t l1 = awkward(s1, sizeof s1 - 1, false);
    s1[l1] = '\0';
    r->version = result_strndup(r, s1, l1);
    if (next() % 2)
        r->job_id = next();
    if (next() % 2)
        r->seq = next() % 3 ? next() % 1000 : UINT64_MAX;
    size_t nsp = next() % 3;
    for (size_t i = 0; i < nsp; i++) {
        l1 = awkward(s1, sizeof s1 - 1, false);
        s1[l1] = '\0';
        size_t l2 = awkward(s2, sizeof s2 - 1, false);
        s2[l2] = '\0';
        result_add_speaker(r, s1, s2);
    }
    uint32_t at = 0;
    for (size_t i = 0; i < nsp + 1 && at + 20 < n; i++) {
        int32_t sp = nsp && i < nsp ? (int32_t)i : -1;
        result_add_turn(r, sp, at, at + 2, at + 20);
        at += 20;
    }
    size_t nen = next() % 4;
    for (size_t i = 0; i < nen; i++) {
        l1 = awkward(s1, sizeof s1 - 1, false);
        s1[l1] = '\0';
        size_t l2 = awkward(s2, sizeof s2 - 1, false);
        s2[l2] = '\0';
        int32_t e = result_add_entity(r, 1 + (int)(next() % 7), s1,
                                      next() % 2 ? s2 : NULL);
        size_t nm = next() % 3;
        for (size_t k = 0; k < nm; k++) {
            uint32_t a = (uint32_t)(next() % (n - 10));
            result_add_mention(r, e, input, a, a + (uint32_t)(next() % 10));
        }
    }
    size_t nfi = next() % 5;
    for (size_t i = 0; i < nfi; i++) {
        uint32_t a = (uint32_t)(next() % (n - 10));
        bool iso = next() % 5 == 0;
        l1 = awkward(s1, sizeof s1 - 1, false);
        s1[l1] = '\0';
        result_add_figure(r, 1 + (int)(next() % 8), input, a,
                          a + (uint32_t)(next() % 10),
                          iso ? 0 : awkward_number(), !iso && next() % 8,
                          iso ? s1 : NULL, next() % 2 ? "RUB" : NULL);
    }
    result_finish(r);
    return r;
}

static void
test_generated_match_jansson(void **state)
{
    (void)state;
    jsonw_t *w = jsonw_new();
    for (int i = 0; i < 3000; i++) {
        result_t *r = generated();
        char src[128];
        size_t l = awkward(src, sizeof src - 1, false);
        src[l] = '\0';
        assert_same(w, r, i % 3 ? src : NULL);
        result_destroy(&r);
    }
    jsonw_destroy(&w);
}

/* One string as jansson prints rjson_string() of it. */
static void
assert_string_same(jsonw_t *w, const char *s, size_t n)
{
    json_t *j = rjson_string(s, n);
    assert_non_null(j);
    char *want = json_dumps(j, DUMP_FLAGS);
    json_decref(j);
    jsonw_clear(w);
    jsonw_string(w, s, n);
    size_t got_n;
    const char *got = jsonw_data(w, &got_n);
    assert_int_equal(got_n, strlen(want));
    assert_memory_equal(got, want, got_n);
    free(want);
}

static void
test_strings_match_jansson(void **state)
{
    (void)state;
    jsonw_t *w = jsonw_new();
    char one[1];
    for (int c = 0; c < 256; c++) {
        one[0] = (char)c;
        assert_string_same(w, one, 1);
    }
    assert_string_same(w, "", 0);
    char buf[256];
    for (int i = 0; i < 20000; i++) {
        size_t n = awkward(buf, sizeof buf, true);
        assert_string_same(w, buf, n);
    }
    /* the escapes themselves, spelled out */
    jsonw_clear(w);
    jsonw_string(w, "a\"b\\c\n\x01\x1f/\x7f\xff\0z", 13);
    size_t n;
    const char *p = jsonw_data(w, &n);
    const char *want = "\"a\\\"b\\\\c\\n\\u0001\\u001F/\x7f\xEF\xBF\xBDz\"";
    assert_int_equal(n, strlen(want));
    assert_memory_equal(p, want, n);
    jsonw_destroy(&w);
}

static void
test_numbers_match_jansson(void **state)
{
    (void)state;
    jsonw_t *w = jsonw_new();
    for (int i = 0; i < 20000; i++) {
        double d = awkward_number();
        jsonw_clear(w);
        jsonw_real(w, d);
        size_t n;
        const char *got = jsonw_data(w, &n);
        json_t *j = json_real(d);
        if (!isfinite(d)) {
            assert_null(j);
            assert_int_equal(n, 4);
            assert_memory_equal(got, "null", 4);
            continue;
        }
        char *want = json_dumps(j, DUMP_FLAGS);
        json_decref(j);
        assert_int_equal(n, strlen(want));
        assert_memory_equal(got, want, n);
        /* and it reads back as the same double */
        char tmp[64];
        memcpy(tmp, got, n);
        tmp[n] = '\0';
        assert_true(strtod(tmp, NULL) == d);
        free(want);
    }
    const int64_t ints[] = { 0, -1, 1, INT64_MAX, INT64_MIN, 1000000007 };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        jsonw_clear(w);
        jsonw_int(w, ints[i]);
        size_t n;
        const char *got = jsonw_data(w, &n);
        json_t *j = json_integer(ints[i]);
        char *want = json_dumps(j, DUMP_FLAGS);
        json_decref(j);
        assert_int_equal(n, strlen(want));
        assert_memory_equal(got, want, n);
        free(want);
    }
    jsonw_destroy(&w);
}

/* Non-finite figure values: jansson cannot hold them; both paths say null
 * (before jsonw the key silently vanished). */
static void
test_nonfinite_value_is_null(void **state)
{
    (void)state;
    result_t *r = result_new();
    result_add_figure(r, RESULT_CARDINAL, "x", 0, 1, NAN, true, NULL, NULL);
    result_add_figure(r, RESULT_CARDINAL, "y", 0, 1, INFINITY, true, NULL,
                      NULL);
    result_finish(r);
    jsonw_t *w = jsonw_new();
    assert_same(w, r, "n");
    char *got = written(w, r, "n");
    assert_non_null(strstr(got, "\"text\":\"x\",\"value\":null,"));
    free(got);
    jsonw_destroy(&w);
    result_destroy(&r);
}

/* A result whose JSON is several times the spill size. */
static result_t *
big(void)
{
    static const char text[] = "Anna \"Ivanova\"\tof Kazan\xff";
    result_t *r = result_new();
    int32_t e = result_add_entity(r, RESULT_PERSON, "Anna", NULL);
    size_t want = 3 * JSONW_SPILL_BYTES / 50;
    for (size_t i = 0; i < want; i++)
        result_add_mention(r, e, text, 0, sizeof text - 1);
    result_finish(r);
    return r;
}

static void
test_spill_keeps_the_bytes(void **state)
{
    (void)state;
    result_t *r = big();
    char *want = reference(r, "big");
    assert_true(strlen(want) > 2 * JSONW_SPILL_BYTES);

    char path[] = "/tmp/test_jsonw_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w+");
    assert_non_null(f);
    assert_int_equal(fputs("before\n", f) >= 0, 1); /* stdio-buffered */
    jsonw_t *w = jsonw_new();
    assert_int_equal(jsonw_write_result(w, r, "big", f), ERR_OK);
    size_t n;
    jsonw_data(w, &n);
    assert_int_equal(n, 0);
    /* and a small one after it, from the same writer */
    result_t *small = result_new();
    assert_int_equal(jsonw_write_result(w, small, "s", f), ERR_OK);
    assert_int_equal(fflush(f), 0);

    long size = lseek(fd, 0, SEEK_END);
    char *want_small = reference(small, "s");
    assert_int_equal((size_t)size, 7 + strlen(want) + strlen(want_small));
    char *all = malloc((size_t)size + 1);
    assert_non_null(all);
    assert_int_equal(pread(fd, all, (size_t)size, 0), size);
    all[size] = '\0';
    assert_memory_equal(all, "before\n", 7);
    assert_memory_equal(all + 7, want, strlen(want));
    assert_string_equal(all + 7 + strlen(want), want_small);

    free(all);
    free(want);
    free(want_small);
    fclose(f);
    unlink(path);
    jsonw_destroy(&w);
    result_destroy(&small);
    result_destroy(&r);
}

/* rjson_write_line (tail, run --json) is jsonw underneath: same bytes into
 * a FILE without a descriptor. */
static void
test_memstream_and_rjson_write_line(void **state)
{
    (void)state;
    result_t *r = big();
    char *want = reference(r, NULL);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(rjson_write_line(r, NULL, f), ERR_OK);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(buf, want, len);
    free(buf);
    free(want);
    result_destroy(&r);
}

static void
test_write_errors(void **state)
{
    (void)state;
    jsonw_t *w = jsonw_new();
    result_t *r = result_new();
    FILE *f = fopen("/dev/full", "w");
    assert_non_null(f);
    assert_int_equal(jsonw_write_result(w, r, "x", f), ERR_IO);
    fclose(f);
    /* a failed spill mid-document is reported too */
    result_t *b = big();
    f = fopen("/dev/full", "w");
    assert_non_null(f);
    assert_int_equal(jsonw_write_result(w, b, "x", f), ERR_IO);
    fclose(f);
    /* the writer is usable afterwards, and cleared */
    size_t n;
    jsonw_data(w, &n);
    assert_int_equal(n, 0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    f = fdopen(p[1], "w");
    assert_non_null(f);
    close(p[0]); /* a reader that went away: EPIPE, not a crash */
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(jsonw_write_result(w, r, "x", f), ERR_IO);
    fclose(f);
    result_destroy(&b);
    result_destroy(&r);
    jsonw_destroy(&w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples_match_jansson),
        cmocka_unit_test(test_generated_match_jansson),
        cmocka_unit_test(test_strings_match_jansson),
        cmocka_unit_test(test_numbers_match_jansson),
        cmocka_unit_test(test_nonfinite_value_is_null),
        cmocka_unit_test(test_spill_keeps_the_bytes),
        cmocka_unit_test(test_memstream_and_rjson_write_line),
        cmocka_unit_test(test_write_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
