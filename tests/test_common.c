/*
 * test_common: err, utf8, cfg layering and validation, result building.
 */
#include "common/cfg.h"
#include "common/err.h"
#include "common/log.h"
#include "common/result.h"
#include "common/spare.h"
#include "common/utf8.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void
test_err(void **state)
{
    (void)state;
    assert_string_equal(err_str(ERR_OK), "ok");
    assert_string_equal(err_str(ERR_FULL), "full");
    assert_string_equal(err_str(12345), "unknown error");
    assert_int_equal(err_from_errno(ENOSPC), ERR_FULL);
    assert_int_equal(err_from_errno(ENOENT), ERR_NOTFOUND);
    assert_int_equal(err_from_errno(EIO), ERR_IO);
    assert_int_equal(err_from_errno(0), ERR_OK);
}

static void
test_utf8(void **state)
{
    (void)state;
    assert_true(utf8_is_valid("", 0));
    assert_true(utf8_is_valid("plain ascii text, long enough for 8", 35));
    assert_true(utf8_is_valid("Kazakhstan\xE2\x80\x99s \xE2\x80\x93 ok", 20));
    assert_true(utf8_is_valid("\xF0\x9F\x98\x80", 4)); /* U+1F600 */
    assert_true(utf8_is_valid("a\0b", 3));
    assert_false(utf8_is_valid("\xC0\xAF", 2));         /* overlong */
    assert_false(utf8_is_valid("\xED\xA0\x80", 3));     /* surrogate */
    assert_false(utf8_is_valid("\xF4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(utf8_is_valid("\xE2\x80", 2));         /* truncated */
    assert_false(utf8_is_valid("\x80", 1));             /* lone cont. */
    assert_int_equal(utf8_first_invalid("abcdefghij\xFFxyz", 14), 10);
    assert_int_equal(utf8_first_invalid("ab\xE2\x80", 4), 2);
}

typedef struct conf {
    bool verbose;
    int64_t threads;
    uint64_t map;
    uint64_t lease;
    char *dir;
} conf_t;

static const cfg_entry_t tab[] = {
    { "verbose", CFG_BOOL, offsetof(conf_t, verbose), "false", 0, 0, "talk" },
    { "threads", CFG_INT, offsetof(conf_t, threads), "2", 1, 64, "threads" },
    { "map-size", CFG_SIZE, offsetof(conf_t, map), "1M", 4096, 0, "map" },
    { "lease-ms", CFG_MS, offsetof(conf_t, lease), "60s", 1, 0, "lease" },
    { "data-dir", CFG_STRING, offsetof(conf_t, dir), "./d", 0, 0, "dir" },
};
#define NTAB (sizeof tab / sizeof tab[0])

static void
test_cfg_layers(void **state)
{
    (void)state;
    conf_t c = { 0 };
    assert_int_equal(cfg_defaults(tab, NTAB, &c), ERR_OK);
    assert_false(c.verbose);
    assert_int_equal(c.threads, 2);
    assert_int_equal(c.map, 1u << 20);
    assert_int_equal(c.lease, 60000);
    assert_string_equal(c.dir, "./d");

    char path[] = "/tmp/excerpt-cfg-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "# comment\n\nthreads = 4\ndata-dir = \"/var/x\"\n"
                       "map-size=2G\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(cfg_load_file(tab, NTAB, &c, path), ERR_OK);
    assert_int_equal(c.threads, 4);
    assert_string_equal(c.dir, "/var/x");
    assert_int_equal(c.map, 2ull << 30);

    setenv("TESTX_THREADS", "8", 1);
    setenv("TESTX_LEASE_MS", "250ms", 1);
    assert_int_equal(cfg_load_env(tab, NTAB, &c, "TESTX_"), ERR_OK);
    assert_int_equal(c.threads, 8);
    assert_int_equal(c.lease, 250);

    char *argv[] = { "prog",       "--threads=16", "--verbose",
                     "--data-dir", "/tmp/y",       "input.txt" };
    int argi = 1;
    assert_int_equal(cfg_parse_args(tab, NTAB, &c, 6, argv, &argi), ERR_OK);
    assert_int_equal(argi, 5); /* stopped at the first non-flag */
    assert_int_equal(c.threads, 16);
    assert_true(c.verbose);
    assert_string_equal(c.dir, "/tmp/y");

    unsetenv("TESTX_THREADS");
    unsetenv("TESTX_LEASE_MS");
    unlink(path);
    cfg_free(tab, NTAB, &c);
    assert_null(c.dir);
    cfg_free(tab, NTAB, &c);
}

static void
test_cfg_errors(void **state)
{
    (void)state;
    log_set_level(-5); /* clamps to errors only */
    conf_t c = { 0 };
    assert_int_equal(cfg_defaults(tab, NTAB, &c), ERR_OK);
    /* out of bounds, not a number, unknown key: field unchanged */
    assert_int_equal(cfg_set(tab, NTAB, &c, "threads", "65", "t"), ERR_INVAL);
    assert_int_equal(cfg_set(tab, NTAB, &c, "threads", "0", "t"), ERR_INVAL);
    assert_int_equal(cfg_set(tab, NTAB, &c, "threads", "3x", "t"), ERR_INVAL);
    assert_int_equal(c.threads, 2);
    assert_int_equal(cfg_set(tab, NTAB, &c, "nope", "1", "t"), ERR_NOTFOUND);
    assert_int_equal(cfg_set(tab, NTAB, &c, "map-size", "10Q", "t"), ERR_INVAL);
    assert_int_equal(cfg_set(tab, NTAB, &c, "map-size", "100", "t"),
                     ERR_INVAL); /* below min 4096 */
    assert_int_equal(cfg_set(tab, NTAB, &c, "verbose", "maybe", "t"),
                     ERR_INVAL);
    assert_int_equal(cfg_set(tab, NTAB, &c, "lease-ms", "-5", "t"), ERR_INVAL);

    char *argv[] = { "prog", "--bogus=1" };
    int argi = 1;
    assert_int_equal(cfg_parse_args(tab, NTAB, &c, 2, argv, &argi), ERR_INVAL);
    char *argv2[] = { "prog", "--threads" };
    argi = 1;
    assert_int_equal(cfg_parse_args(tab, NTAB, &c, 2, argv2, &argi), ERR_INVAL);
    assert_int_equal(cfg_load_file(tab, NTAB, &c, "/nonexistent/x.conf"),
                     ERR_IO);

    char path[] = "/tmp/excerpt-cfg-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *bad = "threads 4\n";
    assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
    close(fd);
    assert_int_equal(cfg_load_file(tab, NTAB, &c, path), ERR_INVAL);
    unlink(path);

    char *argv3[] = { "prog", "--config", "f.conf", "--threads=3" };
    assert_string_equal(cfg_find_config(4, argv3), "f.conf");
    argi = 1;
    assert_int_equal(cfg_parse_args(tab, NTAB, &c, 4, argv3, &argi), ERR_OK);
    assert_int_equal(c.threads, 3);
    cfg_free(tab, NTAB, &c);
    log_set_level(LOG_LEVEL_INFO);
}

static void
test_cfg_parsers(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(cfg_parse_size("64k", &v), ERR_OK);
    assert_int_equal(v, 65536);
    assert_int_equal(cfg_parse_size("3T", &v), ERR_OK);
    assert_int_equal(v, 3ull << 40);
    assert_int_equal(cfg_parse_size("99999999999999999999", &v), ERR_INVAL);
    assert_int_equal(cfg_parse_size("20000000T", &v), ERR_INVAL);
    assert_int_equal(cfg_parse_ms("2m", &v), ERR_OK);
    assert_int_equal(v, 120000);
    assert_int_equal(cfg_parse_ms("", &v), ERR_INVAL);
    assert_int_equal(log_level_parse("debug"), LOG_LEVEL_DEBUG);
    assert_int_equal(log_level_parse("loud"), -1);
}

/* Reserving no mentions for an entity that has none gives NULL, not an
 * offset from a null pointer (a decoded Entity without mentions; found by
 * tests/fuzz/fuzz_result_check under UBSan), and mentions added later
 * still work. */
static void
test_result_reserve_none(void **state)
{
    (void)state;
    result_t *r = result_new();
    int32_t e = result_add_entity(r, RESULT_ORG, "Rosatom", NULL);
    assert_null(result_reserve_mentions(r, e, 0));
    assert_int_equal(r->entities[e].n_mentions, 0);
    result_mention_t *m = result_reserve_mentions(r, e, 2);
    assert_non_null(m);
    assert_ptr_equal(result_reserve_mentions(r, e, 0), m);
    result_add_mention(r, e, "at Rosatom", 3, 10);
    assert_int_equal(r->entities[e].n_mentions, 1);
    assert_string_equal(r->entities[e].mentions[0].text, "Rosatom");
    result_destroy(&r);
}

/* Empty names, titles, roles and units are all one shared "", and a
 * result holding only such strings owns no memory for them. */
static void
test_result_empty_strings(void **state)
{
    (void)state;
    result_t *r = result_new();
    int32_t e1 = result_add_entity(r, RESULT_ORG, "Rosatom", NULL);
    int32_t e2 = result_add_entity(r, RESULT_GPE, "Russia", "");
    result_figure_t *f =
        result_add_figure(r, RESULT_CARDINAL, "12", 0, 2, 12, true, NULL, "");
    assert_string_equal(r->entities[e1].role, "");
    assert_ptr_equal(r->entities[e1].role, r->entities[e2].role);
    assert_ptr_equal(f->unit, r->entities[e1].role);
    assert_null(f->iso);
    assert_string_equal(f->text, "12");
    int32_t sp = result_add_speaker(r, "Vladimir Putin", "");
    assert_ptr_equal(r->speakers[sp].title, r->entities[e1].role);
    assert_string_equal(r->speakers[sp].name, "Vladimir Putin");
    /* a copy of zero bytes asked for by name is the caller's own */
    char *own = result_strndup(r, "", 0);
    assert_ptr_not_equal(own, r->entities[e1].role);
    own[0] = '\0';
    result_destroy(&r);
}

static void
test_result_building(void **state)
{
    (void)state;
    const char *text = "lead line\nA B: one two\nC D: three four\n";
    result_t *r = result_new();
    int32_t a = result_add_speaker(r, "A B", "");
    int32_t c = result_add_speaker(r, "C D", "Minister");
    result_add_turn(r, a, 10, 15, 23);
    result_add_turn(r, c, 23, 28, 39);
    assert_int_equal(r->speakers[a].turns, 1);
    assert_int_equal(result_turn_at(r, 0), RESULT_NO_TURN);
    assert_int_equal(result_turn_at(r, 10), 0);
    assert_int_equal(result_turn_at(r, 22), 0);
    assert_int_equal(result_turn_at(r, 23), 1);
    assert_int_equal(result_turn_at(r, 39), RESULT_NO_TURN);

    /* entity first mentioned later is added first: finish reorders */
    int32_t e1 = result_add_entity(r, RESULT_PERSON, "C D", "Minister");
    int32_t e2 = result_add_entity(r, RESULT_PERSON, "A B", NULL);
    result_add_mention(r, e1, text, 23, 26);
    result_add_mention(r, e2, text, 10, 13);
    result_add_figure(r, RESULT_CARDINAL, text, 28, 33, 3, true, NULL, NULL);
    result_add_figure(r, RESULT_CARDINAL, text, 15, 18, 1, true, NULL, NULL);
    result_finish(r);
    assert_string_equal(r->entities[0].name, "A B");
    assert_string_equal(r->entities[0].role, "");
    assert_int_equal(r->entities[0].mentions[0].turn, 0);
    assert_string_equal(r->entities[1].mentions[0].text, "C D");
    assert_int_equal(r->entities[1].mentions[0].turn, 1);
    assert_string_equal(r->figures[0].text, "one");
    assert_int_equal(r->figures[0].turn, 0);
    assert_int_equal(r->figures[1].turn, 1);
    assert_string_equal(r->figures[1].unit, "");

    /* many strings, some large: the arena copes */
    char big[100000];
    memset(big, 'x', sizeof big);
    for (int i = 0; i < 1000; i++)
        result_strndup(r, big, (size_t)(i * 97) % sizeof big);
    char *s = result_strndup(r, big, sizeof big);
    assert_int_equal(strlen(s), sizeof big);
    result_destroy(&r);
    assert_null(r);

    assert_string_equal(result_entity_type_name(RESULT_NORP), "NORP");
    assert_int_equal(result_entity_type_parse("FAC"), RESULT_FAC);
    assert_int_equal(result_figure_type_parse("ORDINAL"), RESULT_ORDINAL);
    assert_int_equal(result_figure_type_parse("nope"), 0);
    assert_string_equal(result_figure_type_name(0), "UNKNOWN");
}

static int spare_destroyed;

static void
count_destroy(void *p)
{
    spare_destroyed++;
    free(p);
}

/* A thread that exits with a spare frees it with its destroy function. */
static void *
exiting_thread_puts(void *arg)
{
    (void)arg;
    void *p = malloc(16);
    if (p && !spare_put(SPARE_ENTITIES, p, count_destroy))
        free(p);
    return NULL;
}

static void *
other_thread_take(void *arg)
{
    (void)arg;
    return spare_take(SPARE_DECODE); /* not the main thread's spare */
}

/* One spare per thread and kind: taken once, refused when one is kept,
 * invisible to other threads. */
static void
test_spare(void **state)
{
    (void)state;
    void *a = malloc(64), *b = malloc(64);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(spare_take(SPARE_DECODE));
    assert_true(spare_put(SPARE_DECODE, a, free));
    assert_false(spare_put(SPARE_DECODE, b, free)); /* already has one */
    assert_true(spare_put(SPARE_RESULT, b, free));  /* another kind */
    pthread_t t;
    void *seen = a;
    assert_int_equal(pthread_create(&t, NULL, other_thread_take, NULL), 0);
    assert_int_equal(pthread_join(t, &seen), 0);
    assert_null(seen);
    assert_ptr_equal(spare_take(SPARE_DECODE), a);
    assert_null(spare_take(SPARE_DECODE));
    assert_ptr_equal(spare_take(SPARE_RESULT), b);
    assert_false(spare_put(SPARE_KINDS, a, free)); /* no such kind */
    free(a);
    free(b);
    spare_destroyed = 0;
    assert_int_equal(pthread_create(&t, NULL, exiting_thread_puts, NULL), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(spare_destroyed, 1);
}

/* ------------------------------------------------- command lines */

typedef struct cli_conf {
    bool json;            /* --json */
    int64_t workers;      /* --workers 0..64 */
    uint64_t timeout;     /* --timeout 1..3600000 ms */
    const char *key;      /* --key, 1..8 bytes */
    const char *endpoint; /* --endpoint */
    double min;           /* --min */
} cli_conf_t;

static const cfg_entry_t cli_tab[] = {
    { "json", CFG_BOOL, offsetof(cli_conf_t, json), NULL, 0, 0, "JSON" },
    { "workers", CFG_INT, offsetof(cli_conf_t, workers), "2", 0, 64,
      "N\tworker processes" },
    { "key", CFG_STRING, offsetof(cli_conf_t, key), NULL, 1, 8,
      "K\tidempotency key" },
    { "min", CFG_DOUBLE, offsetof(cli_conf_t, min), "0", 0, 0, "X\tlowest" },
};
static const cfg_entry_t cli_shared[] = {
    { "timeout", CFG_MS, offsetof(cli_conf_t, timeout), "5000", 1, 3600000,
      "MS\twait per attempt" },
    { "endpoint", CFG_STRING, offsetof(cli_conf_t, endpoint), "tcp://x", 0, 0,
      "E\tthe broker frontend endpoint to talk to, a long help text that "
      "cannot fit on one line of eighty columns" },
};

static int
cli_parse(cli_conf_t *c, cli_conf_t *shared, int argc, char **argv,
          cfg_cli_t *cli, uint64_t *seen)
{
    cfg_group_t g[] = { { cli_tab, 4, c, 0 }, { cli_shared, 2, shared, 0 } };
    int rc = cfg_cli_parse(g, 2, argc, argv, cli);
    if (seen)
        *seen = g[0].seen;
    return rc;
}

static void
test_cfg_cli(void **state)
{
    (void)state;
    cli_conf_t c, sh;
    memset(&c, 0xff, sizeof c); /* every field is set by the parse */
    memset(&sh, 0xff, sizeof sh);
    cfg_cli_t cli = { .prog = "t", .max_pos = -1 };
    uint64_t seen = 0;
    char *none[] = { "t" };
    assert_int_equal(cli_parse(&c, &sh, 1, none, &cli, &seen), ERR_OK);
    assert_false(c.json);
    assert_int_equal(c.workers, 2);
    assert_null(c.key);
    assert_true(c.min == 0.0);
    assert_int_equal(sh.timeout, 5000);
    assert_string_equal(sh.endpoint, "tcp://x");
    assert_int_equal(seen, 0);
    assert_int_equal(cli.n_pos, 0);
    cfg_cli_free(&cli);

    /* mixed with positionals, both forms, two groups, later wins */
    char *argv[] = { "t",          "a",          "--json",  "--workers=3",
                     "b",          "--timeout",  "2s",      "--key",
                     "k1",         "--workers",  "0",       "-",
                     "--min=-1.5", "--endpoint", "ipc://e", "--",
                     "--json" };
    assert_int_equal(cli_parse(&c, &sh, 17, argv, &cli, &seen), ERR_OK);
    assert_true(c.json);
    assert_int_equal(c.workers, 0);
    assert_string_equal(c.key, "k1");
    assert_ptr_equal(c.key, argv[8]); /* borrowed */
    assert_true(c.min == -1.5);
    assert_int_equal(sh.timeout, 2000);
    assert_string_equal(sh.endpoint, "ipc://e");
    assert_int_equal(seen, 0xf);
    assert_int_equal(cli.n_pos, 4);
    assert_string_equal(cli.pos[0], "a");
    assert_string_equal(cli.pos[1], "b");
    assert_string_equal(cli.pos[2], "-");
    assert_string_equal(cli.pos[3], "--json");
    cfg_cli_free(&cli);
    cfg_cli_free(&cli);

    /* flags_first: the first positional ends the flags */
    cli.flags_first = true;
    char *ff[] = { "t", "--json", "in.txt", "--workers", "9" };
    assert_int_equal(cli_parse(&c, &sh, 5, ff, &cli, &seen), ERR_OK);
    assert_int_equal(c.workers, 2);
    assert_int_equal(cli.n_pos, 3);
    assert_string_equal(cli.pos[1], "--workers");
    cfg_cli_free(&cli);
    cli.flags_first = false;

    /* help stops the parse, even before a bad flag */
    char *help[] = { "t", "--json", "-h", "--nope" };
    assert_int_equal(cli_parse(&c, &sh, 4, help, &cli, NULL), ERR_OK);
    assert_true(cli.help);
    cfg_cli_free(&cli);
}

static void
test_cfg_cli_errors(void **state)
{
    (void)state;
    cli_conf_t c, sh;
    cfg_cli_t cli = { .prog = "t", .max_pos = 1 };
    struct {
        int argc;
        char *argv[4];
        int rc;
    } bad[] = {
        { 2, { "t", "--nope" }, ERR_NOTFOUND },
        { 2, { "t", "-x" }, ERR_NOTFOUND },
        { 3, { "t", "--workers", "65" }, ERR_INVAL },
        { 3, { "t", "--workers", "-1" }, ERR_INVAL },
        { 3, { "t", "--workers", "2x" }, ERR_INVAL },
        { 2, { "t", "--workers" }, ERR_INVAL },
        { 3, { "t", "--workers", "" }, ERR_INVAL },
        { 2, { "t", "--timeout=0" }, ERR_INVAL },
        { 2, { "t", "--timeout=2h" }, ERR_INVAL },
        { 2, { "t", "--key=" }, ERR_INVAL },
        { 2, { "t", "--key=123456789" }, ERR_INVAL },
        { 2, { "t", "--min=nan" }, ERR_INVAL },
        { 2, { "t", "--min=1e999" }, ERR_INVAL },
        { 2, { "t", "--json=maybe" }, ERR_INVAL },
        { 3, { "t", "a", "b" }, ERR_INVAL }, /* max_pos 1 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(
            cli_parse(&c, &sh, bad[i].argc, bad[i].argv, &cli, NULL),
            bad[i].rc);
        cfg_cli_free(&cli);
    }
    /* an empty string is a value for an unbounded string */
    char *empty[] = { "t", "--endpoint", "" };
    assert_int_equal(cli_parse(&c, &sh, 3, empty, &cli, NULL), ERR_INVAL);
    cfg_cli_free(&cli);
    char *empty2[] = { "t", "--endpoint=" };
    assert_int_equal(cli_parse(&c, &sh, 2, empty2, &cli, NULL), ERR_OK);
    assert_string_equal(sh.endpoint, "");
    cfg_cli_free(&cli);
}

static void
test_cfg_cli_usage(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    cli_conf_t c, sh;
    cfg_group_t g[] = { { cli_tab, 4, &c, 0 }, { cli_shared, 2, &sh, 0 } };
    cfg_cli_usage(g, 2, f);
    assert_int_equal(fclose(f), 0);
    assert_non_null(strstr(text, "  --json               JSON\n"));
    assert_non_null(
        strstr(text, "  --workers N          worker processes (default: 2)\n"));
    assert_non_null(strstr(text, "  --key K              idempotency key\n"));
    assert_non_null(strstr(text, "  --timeout MS         wait per attempt"));
    /* long help wraps under the help column, every line within 79 */
    assert_non_null(strstr(text, "\n                       "));
    for (char *l = text, *nl; *l; l = nl + 1) {
        nl = strchr(l, '\n');
        assert_non_null(nl);
        assert_true(nl - l <= 79);
    }
    free(text);
}

/* A repeated flag keeps every value; a plain one keeps the last. */
static void
test_cfg_cli_list(void **state)
{
    (void)state;
    typedef struct {
        cfg_list_t type;
        const char *name;
    } lconf_t;
    static const cfg_entry_t ltab[] = {
        { "type", CFG_LIST, offsetof(lconf_t, type), NULL, 1, 16,
          "T\trepeatable" },
        { "name", CFG_STRING, offsetof(lconf_t, name), NULL, 0, 0, "N\tone" },
    };
    lconf_t c;
    cfg_group_t g = { ltab, 2, &c, 0 };
    cfg_cli_t cli = { .prog = "t", .max_pos = -1 };
    char *none[] = { "t" };
    assert_int_equal(cfg_cli_parse(&g, 1, 1, none, &cli), ERR_OK);
    assert_int_equal(c.type.n, 0);
    assert_null(c.type.v);
    cfg_cli_free(&cli);
    char *argv[] = { "t",           "--type", "MONEY",  "--name", "a",
                     "--type=DATE", "x",      "--name", "b" };
    assert_int_equal(cfg_cli_parse(&g, 1, 9, argv, &cli), ERR_OK);
    assert_int_equal(c.type.n, 2);
    assert_string_equal(c.type.v[0], "MONEY");
    assert_string_equal(c.type.v[1], "DATE");
    assert_string_equal(c.name, "b");
    assert_int_equal(cli.n_pos, 1);
    cfg_cli_free(&cli);
    char *bad[] = { "t", "--type", "MONEY", "--type=" };
    assert_int_equal(cfg_cli_parse(&g, 1, 4, bad, &cli), ERR_INVAL);
    cfg_cli_free(&cli);
    /* not for files, environment or daemon flags */
    assert_int_equal(cfg_set(ltab, 2, &c, "type", "MONEY", "t"), ERR_INVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err),
        cmocka_unit_test(test_spare),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_cfg_layers),
        cmocka_unit_test(test_cfg_errors),
        cmocka_unit_test(test_cfg_parsers),
        cmocka_unit_test(test_cfg_cli),
        cmocka_unit_test(test_cfg_cli_errors),
        cmocka_unit_test(test_cfg_cli_usage),
        cmocka_unit_test(test_cfg_cli_list),
        cmocka_unit_test(test_result_reserve_none),
        cmocka_unit_test(test_result_building),
        cmocka_unit_test(test_result_empty_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
