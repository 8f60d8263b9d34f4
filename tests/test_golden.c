/*
 * test_golden: the engine's output on every .txt file of samples/,
 * compared with the checked-in tests/golden/<sample>.txt (speakers, turns,
 * entities with their mentions, figures: one item a line, every offset and
 * value). Any
 * change of output fails here and shows the first differing line; when a
 * change is meant, regenerate the files with
 *     EXCERPT_UPDATE_GOLDEN=1 build/tests/test_golden
 * and commit them with the change, so the diff of tests/golden/ is the
 * review of what the change did.
 */
#include "../common/result.h"
#include "../engine/extract.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLES EXCERPT_SOURCE_DIR "/samples"
#define GOLDEN EXCERPT_SOURCE_DIR "/tests/golden"

/* Whole file into a NUL-terminated heap buffer; *len its size. */
static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            assert_non_null(nb);
            buf = nb;
        }
        size_t k = fread(buf + n, 1, cap - n - 1, f);
        n += k;
        if (k == 0)
            break;
    }
    assert_int_equal(ferror(f), 0);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* The canonical text of a result: one item a line. */
static char *
render(const result_t *r, size_t *len)
{
    char *buf = NULL;
    size_t sz = 0;
    FILE *f = open_memstream(&buf, &sz);
    assert_non_null(f);
    for (size_t i = 0; i < r->n_speakers; i++)
        fprintf(f, "speaker\t%s\t%s\t%u\n", r->speakers[i].name,
                r->speakers[i].title, r->speakers[i].turns);
    for (size_t i = 0; i < r->n_turns; i++)
        fprintf(f, "turn\t%d\t%u\t%u\t%u\n", r->turns[i].speaker,
                r->turns[i].start, r->turns[i].body, r->turns[i].end);
    for (size_t i = 0; i < r->n_entities; i++) {
        const result_entity_t *e = &r->entities[i];
        fprintf(f, "entity\t%s\t%s\t%s\n", result_entity_type_name(e->type),
                e->name, e->role);
        for (size_t k = 0; k < e->n_mentions; k++)
            fprintf(f, "  mention\t%s\t%u\t%u\t%d\n", e->mentions[k].text,
                    e->mentions[k].start, e->mentions[k].end,
                    e->mentions[k].turn);
    }
    for (size_t i = 0; i < r->n_figures; i++) {
        const result_figure_t *g = &r->figures[i];
        fprintf(f, "figure\t%s\t%s\t%u\t%u\t", result_figure_type_name(g->type),
                g->text, g->start, g->end);
        if (g->has_value)
            fprintf(f, "%.17g", g->value);
        else
            fprintf(f, "%s", g->iso ? g->iso : "");
        fprintf(f, "\t%s\t%d\n", g->unit ? g->unit : "", g->turn);
    }
    assert_int_equal(fclose(f), 0);
    *len = sz;
    return buf;
}

/* Line number of the first difference between a and b (1-based). */
static int
first_diff_line(const char *a, const char *b)
{
    int line = 1;
    while (*a && *a == *b) {
        if (*a == '\n')
            line++;
        a++;
        b++;
    }
    return line;
}

/* Print line `line` of s to the test log, prefixed. */
static void
show_line(const char *prefix, const char *s, int line)
{
    for (int l = 1; l < line && s; l++) {
        s = strchr(s, '\n');
        if (s)
            s++;
    }
    if (!s || !*s) {
        print_message("%s(end of file)\n", prefix);
        return;
    }
    int k = (int)strcspn(s, "\n");
    print_message("%s%.*s\n", prefix, k, s);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_samples_match_golden(void **state)
{
    extract_t *ex = *state;
    bool update = getenv("EXCERPT_UPDATE_GOLDEN") != NULL;
    DIR *dir = opendir(SAMPLES);
    assert_non_null(dir);
    char *names[256];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > 4 && strcmp(de->d_name + l - 4, ".txt") == 0) {
            assert_true(n < 256);
            names[n] = strdup(de->d_name);
            assert_non_null(names[n]);
            n++;
        }
    }
    closedir(dir);
    assert_true(n >= 1); /* a missing samples dir fails, never skips */
    qsort(names, n, sizeof *names, cmp_str);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        char path[1024], gpath[1024];
        snprintf(path, sizeof path, "%s/%s", SAMPLES, names[i]);
        snprintf(gpath, sizeof gpath, "%s/%.*s.txt", GOLDEN,
                 (int)(strlen(names[i]) - 4), names[i]);
        size_t len = 0, olen = 0, glen = 0;
        char *text = slurp(path, &len);
        assert_non_null(text);
        result_t *r = NULL;
        assert_int_equal(extract_run(ex, text, len, &r), 0);
        char *out = render(r, &olen);
        if (update) {
            FILE *f = fopen(gpath, "wb");
            assert_non_null(f);
            assert_int_equal(fwrite(out, 1, olen, f), olen);
            assert_int_equal(fclose(f), 0);
        } else {
            char *gold = slurp(gpath, &glen);
            if (!gold) {
                print_message("%s: no golden file %s\n", names[i], gpath);
                failed++;
            } else if (glen != olen || memcmp(gold, out, olen) != 0) {
                int line = first_diff_line(gold, out);
                print_message("%s: differs from %s at line %d\n", names[i],
                              gpath, line);
                show_line("  golden: ", gold, line);
                show_line("  now:    ", out, line);
                failed++;
            }
            free(gold);
        }
        free(out);
        result_destroy(&r);
        free(text);
        free(names[i]);
    }
    if (failed)
        fail_msg("%d sample(s) differ from tests/golden (if the change is "
                 "meant: EXCERPT_UPDATE_GOLDEN=1 build/tests/test_golden)",
                 failed);
}

static int
setup(void **state)
{
    *state = extract_new();
    return *state ? 0 : -1;
}

static int
teardown(void **state)
{
    extract_t *ex = *state;
    extract_destroy(&ex);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples_match_golden),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
