/*
 * test_store_query: storage/store_query.c and the store's read-only side
 * on a real LMDB store in a mkdtemp dir: entity and figure queries with
 * their filters and paging, refused terms, Get and Stats replies; a store
 * opened read-only beside the writer (sees later commits, cannot write),
 * store_results_scan, and store_backup (0600, reopened with the same data,
 * refused over an existing copy).
 */
#include "../common/err.h"
#include "../storage/store.h"
#include "../storage/store_query.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fx {
    char dir[64];    /* temp dir */
    char data[96];   /* the store */
    store_t *s;      /* open for writing */
    store_cfg_t cfg; /* its config */
} fx_t;

static int
setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_store_query.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->data, sizeof f->data, "%s/data", f->dir);
    f->cfg.dir = f->data;
    f->cfg.map_size = 8 << 20;
    f->cfg.map_limit = 64 << 20;
    assert_int_equal(store_open(&f->s, &f->cfg), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx_t *f = *state;
    char cmd[128];
    store_destroy(&f->s);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Commit job i: its text names `place` (GPE) and holds one MONEY figure
 * of value (unit), one DATE figure iso. Returns the job id. */
static uint64_t
add_job(fx_t *f, int i, const char *place, double value, const char *unit,
        const char *iso)
{
    char key[32], text[128];
    snprintf(key, sizeof key, "k%d", i);
    snprintf(text, sizeof text, "Anna Petrova: %s got money in %s.", place,
             iso);
    wire_job_t j = { .key = key,
                     .text = text,
                     .text_len = strlen(text),
                     .source_url = key,
                     .title = "T" };
    uint64_t id = 0;
    bool dup = false;
    assert_int_equal(store_txn_begin(f->s), 0);
    assert_int_equal(store_submit(f->s, &j, 1000, &id, &dup), 0);
    assert_int_equal(store_txn_commit(f->s), 0);
    store_lease_t l;
    assert_int_equal(store_txn_begin(f->s), 0);
    assert_int_equal(store_lease_next(f->s, 2000, &l), 0);
    assert_int_equal(store_txn_commit(f->s), 0);
    wire_msg_release(&l.msg);
    assert_int_equal(l.id, id);
    result_t *r = result_new();
    int32_t e = result_add_entity(r, RESULT_GPE, place, NULL);
    result_add_mention(r, e, text, 14, 14 + (uint32_t)strlen(place));
    e = result_add_entity(r, RESULT_PERSON, "Anna Petrova", NULL);
    result_add_mention(r, e, text, 0, 12);
    result_add_figure(r, RESULT_MONEY, text, 20, 25, value, true, NULL, unit);
    result_add_figure(r, RESULT_DATE, text, 35, 39, 0, false, iso, NULL);
    result_finish(r);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_result_encode(r, &buf, &len), 0);
    store_done_t d;
    assert_int_equal(store_txn_begin(f->s), 0);
    assert_int_equal(store_done(f->s, id, l.attempt, buf, len, r, 3000, &d), 0);
    assert_int_equal(store_txn_commit(f->s), 0);
    free(d.key);
    free(buf);
    result_destroy(&r);
    return id;
}

/* Run q (checked) on s; the hits' job ids into ids; returns the count;
 * *next gets the token. */
static size_t
run(store_t *s, const wire_query_t *q, uint64_t *ids, size_t cap,
    uint64_t *next, size_t *figs)
{
    const char *why = NULL;
    assert_int_equal(store_query_check(q, &why), 0);
    store_query_reply_t page;
    assert_int_equal(store_read_begin(s), 0);
    assert_int_equal(store_query_run(s, q, &page), 0);
    wire_msg_t m;
    store_query_reply_msg(&page, 7, &m);
    assert_int_equal(m.kind, WIRE_QUERY_REPLY);
    assert_int_equal(m.request_id, 7);
    assert_true(m.u.query_reply.n <= cap);
    size_t nf = 0;
    for (size_t i = 0; i < m.u.query_reply.n; i++) {
        ids[i] = m.u.query_reply.hits[i].job_id;
        nf += m.u.query_reply.hits[i].n_figures;
        assert_string_equal(m.u.query_reply.hits[i].title, "T");
    }
    /* the reply survives an encode/decode round trip */
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_encode(&m, &buf, &len), 0);
    wire_msg_t back;
    assert_int_equal(wire_decode(buf, len, 0, &back), 0);
    assert_int_equal(back.u.query_reply.n, m.u.query_reply.n);
    assert_int_equal(back.u.query_reply.next, m.u.query_reply.next);
    wire_msg_release(&back);
    free(buf);
    size_t n = m.u.query_reply.n;
    *next = m.u.query_reply.next;
    if (figs)
        *figs = nf;
    store_query_reply_free(&page);
    store_read_end(s);
    return n;
}

static void
fill(fx_t *f)
{
    static const char *const places[] = { "Tomsk", "Omsk" };
    static const char *const units[] = { "RUB", "USD" };
    char iso[16];
    for (int i = 0; i < 20; i++) {
        snprintf(iso, sizeof iso, "20%02d-0%d", 10 + i, 1 + i % 9);
        add_job(f, i, places[i % 2], 1e6 * (i + 1), units[(i / 2) % 2], iso);
    }
}

static void
test_entity_query(void **state)
{
    fx_t *f = *state;
    fill(f);
    uint64_t ids[64], next = 0;
    wire_query_t q = { .entity = "  tOMSK ", .limit = 100 };
    assert_int_equal(run(f->s, &q, ids, 64, &next, NULL), 10);
    assert_int_equal(next, 0);
    for (size_t i = 1; i < 10; i++)
        assert_true(ids[i] > ids[i - 1]);
    /* the wrong type finds nothing; the right one all */
    q.entity_type = RESULT_PERSON;
    assert_int_equal(run(f->s, &q, ids, 64, &next, NULL), 0);
    q.entity = "anna petrova";
    assert_int_equal(run(f->s, &q, ids, 64, &next, NULL), 20);
    /* pages of 3: 7 pages, each after the last */
    wire_query_t p = { .entity = "Omsk", .limit = 3 };
    size_t total = 0, pages = 0;
    uint64_t prev = 0;
    do {
        size_t n = run(f->s, &p, ids, 64, &next, NULL);
        for (size_t i = 0; i < n; i++) {
            assert_true(ids[i] > prev);
            prev = ids[i];
        }
        total += n;
        pages++;
        p.after = next;
    } while (next && pages < 20);
    assert_int_equal(total, 10);
    assert_int_equal(pages, 4);
}

static void
test_figure_query(void **state)
{
    fx_t *f = *state;
    fill(f);
    uint64_t ids[64], next = 0;
    size_t figs = 0;
    wire_query_t q = { .figure = RESULT_MONEY };
    assert_int_equal(run(f->s, &q, ids, 64, &next, &figs), 20);
    assert_int_equal(figs, 20);
    q.unit = "RUB";
    assert_int_equal(run(f->s, &q, ids, 64, &next, NULL), 10);
    q.has_min = true;
    q.min = 5e6;
    q.has_max = true;
    q.max = 13e6;
    /* RUB: i = 0,1,4,5,8,9,12,13,16,17 -> values (i+1) M in 5..13 M:
     * 5,6,9,10,13 */
    assert_int_equal(run(f->s, &q, ids, 64, &next, NULL), 5);
    wire_query_t d = { .figure = RESULT_DATE,
                       .iso_from = "2015",
                       .iso_to = "2017" };
    /* 2015-0x, 2016-0x, 2017-0x: the prefix "2017" takes 2017-08 */
    assert_int_equal(run(f->s, &d, ids, 64, &next, &figs), 3);
    assert_int_equal(figs, 3);
    /* value bounds never match figures without a value */
    d.iso_from = d.iso_to = NULL;
    d.has_min = true;
    assert_int_equal(run(f->s, &d, ids, 64, &next, NULL), 0);
    /* pages of 6 over 20 hits */
    wire_query_t p = { .figure = RESULT_MONEY, .limit = 6 };
    size_t total = 0;
    for (int i = 0; i < 10; i++) {
        total += run(f->s, &p, ids, 64, &next, NULL);
        if (!next)
            break;
        p.after = next;
    }
    assert_int_equal(total, 20);
}

static void
test_query_check(void **state)
{
    (void)state;
    const char *why = NULL;
    wire_query_t none = { 0 };
    assert_int_equal(store_query_check(&none, &why), ERR_INVAL);
    assert_non_null(strstr(why, "exactly one"));
    wire_query_t both = { .entity = "x", .figure = RESULT_MONEY };
    assert_int_equal(store_query_check(&both, &why), ERR_INVAL);
    wire_query_t badtype = { .figure = 99 };
    assert_int_equal(store_query_check(&badtype, &why), ERR_INVAL);
    wire_query_t badent = { .entity = "x", .entity_type = 7 };
    assert_int_equal(store_query_check(&badent, &why), ERR_INVAL);
    wire_query_t unit = { .entity = "x", .unit = "RUB" };
    assert_int_equal(store_query_check(&unit, &why), ERR_INVAL);
    wire_query_t minmax = { .figure = RESULT_MONEY,
                            .has_min = true,
                            .min = 2,
                            .has_max = true,
                            .max = 1 };
    assert_int_equal(store_query_check(&minmax, &why), ERR_INVAL);
    assert_string_equal(why, "min is above max");
}

static int
count_scan(void *arg, uint64_t job_id, const uint8_t *buf, size_t len)
{
    (void)job_id;
    assert_true(buf && len > 0);
    (*(int *)arg)++;
    return 0;
}

static void
test_read_only_beside_writer(void **state)
{
    fx_t *f = *state;
    store_t *ro = NULL;
    char none[128];
    snprintf(none, sizeof none, "%s/none", f->dir);
    assert_int_equal(store_open_readonly(&ro, none), ERR_NOTFOUND);
    fill(f);
    assert_int_equal(store_open_readonly(&ro, f->data), 0);
    wire_stats_t st;
    store_query_stats(ro, 5000, &st);
    assert_int_equal(st.done, 20);
    assert_int_equal(st.last_seq, 20);
    assert_true(st.store_bytes > 0);
    /* the writer commits more; a new read txn of the reader sees it */
    add_job(f, 100, "Kazan", 1, "RUB", "2020");
    uint64_t ids[64], next;
    wire_query_t q = { .entity = "Kazan" };
    assert_int_equal(run(ro, &q, ids, 64, &next, NULL), 1);
    /* Get from the reader */
    wire_msg_t rep, text;
    assert_int_equal(store_read_begin(ro), 0);
    assert_int_equal(store_query_get(ro, ids[0], NULL, true, &rep, &text), 0);
    assert_int_equal(rep.u.get_reply.job.state, WIRE_JOB_DONE);
    assert_int_equal(rep.u.get_reply.job.seq, 21);
    assert_non_null(rep.u.get_reply.result);
    assert_non_null(rep.u.get_reply.text);
    wire_msg_release(&text);
    assert_int_equal(store_query_get(ro, 0, "k3", false, &rep, &text), 0);
    assert_string_equal(rep.u.get_reply.job.key, "k3");
    assert_null(rep.u.get_reply.text);
    assert_int_equal(store_query_get(ro, 999, NULL, false, &rep, &text),
                     ERR_NOTFOUND);
    int n = 0;
    assert_int_equal(store_results_scan(ro, 0, count_scan, &n), 21);
    assert_int_equal(n, 21);
    n = 0;
    assert_int_equal(store_results_scan(ro, 10, count_scan, &n), 11);
    store_read_end(ro);
    /* the reader cannot write */
    assert_int_not_equal(store_txn_begin(ro), 0);
    store_destroy(&ro);
    assert_null(ro);
}

static void
test_backup(void **state)
{
    fx_t *f = *state;
    fill(f);
    char bk[128], path[160];
    snprintf(bk, sizeof bk, "%s/bk", f->dir);
    assert_int_equal(mkdir(bk, 0700), 0);
    /* from the writer's own handle and from a reader alike */
    store_t *ro = NULL;
    assert_int_equal(store_open_readonly(&ro, f->data), 0);
    assert_int_equal(store_backup(ro, bk), 0);
    assert_int_equal(store_backup(ro, bk), ERR_EXISTS);
    store_destroy(&ro);
    snprintf(path, sizeof path, "%s/data.mdb", bk);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(store_open_readonly(&ro, bk), 0);
    store_counts_t c;
    store_counts(ro, &c);
    assert_int_equal(c.last_seq, 20);
    assert_int_equal(c.done, 20);
    uint64_t ids[64], next;
    wire_query_t q = { .entity = "Tomsk" };
    assert_int_equal(run(ro, &q, ids, 64, &next, NULL), 10);
    store_destroy(&ro);
    /* the copy opens for writing too, as a broker would */
    store_cfg_t cfg = { .dir = bk };
    store_t *w = NULL;
    assert_int_equal(store_open(&w, &cfg), 0);
    store_counts(w, &c);
    assert_int_equal(c.last_seq, 20);
    store_destroy(&w);
    snprintf(bk, sizeof bk, "%s/no/such", f->dir);
    assert_int_equal(store_backup(f->s, bk), ERR_NOTFOUND);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_check),
        cmocka_unit_test_setup_teardown(test_entity_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_figure_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_beside_writer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_backup, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
