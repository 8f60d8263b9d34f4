/*
 * test_store: the LMDB store on real files in a mkdtemp dir: queue order,
 * dedup, leases and fencing, results and the gap-free log, retries, dead
 * letters, map growth and the map limit, aborts and reopening.
 */
#include "../common/err.h"
#include "../common/log.h"
#include "../common/result.h"
#include "../proto/wire.h"
#include "../storage/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fx {
    char dir[64];    /* temp dir */
    store_t *s;      /* open store */
    store_cfg_t cfg; /* its config */
} fx_t;

static int
setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_store.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->cfg.dir = f->dir;
    f->cfg.map_size = 1 << 20;
    f->cfg.map_limit = 256 << 20;
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
    store_destroy(&f->s); /* safe twice */
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void
reopen(fx_t *f)
{
    store_destroy(&f->s);
    assert_int_equal(store_open(&f->s, &f->cfg), 0);
}

/* Put one value into database db of the closed store in dir with plain
 * LMDB, as damage or an older program would leave it. */
static void
raw_put(const char *dir, const char *db, const void *key, size_t klen,
        const void *val, size_t vlen)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static wire_job_t
mkjob(const char *key, const char *text, int prio)
{
    wire_job_t j;
    memset(&j, 0, sizeof j);
    j.key = key;
    j.text = text;
    j.text_len = strlen(text);
    j.priority = prio;
    j.source_url = "https://example.org/x";
    j.title = "A title";
    return j;
}

/* One submit in its own txn, redoing it while the map grows. */
static int
submit1(store_t *s, const char *key, const char *text, int prio, uint64_t *id,
        bool *dup)
{
    wire_job_t j = mkjob(key, text, prio);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(store_txn_begin(s), 0);
        int rc = store_submit(s, &j, 1000, id, dup);
        if (rc == ERR_AGAIN) {
            store_txn_abort(s);
            continue;
        }
        if (rc) {
            store_txn_abort(s);
            return rc;
        }
        rc = store_txn_commit(s);
        if (rc == ERR_AGAIN)
            continue;
        return rc;
    }
    return ERR_INTERNAL;
}

static int
lease1(store_t *s, uint64_t now, store_lease_t *l)
{
    assert_int_equal(store_txn_begin(s), 0);
    int rc = store_lease_next(s, now, l);
    if (rc) {
        store_txn_abort(s);
        return rc;
    }
    assert_int_equal(store_txn_commit(s), 0);
    return 0;
}

static int
done1(store_t *s, uint64_t id, uint32_t att, const uint8_t *res, size_t len,
      const result_t *r, uint64_t *seq)
{
    store_done_t d;
    assert_int_equal(store_txn_begin(s), 0);
    int rc = store_done(s, id, att, res, len, r, 5000, &d);
    if (rc) {
        store_txn_abort(s);
        return rc;
    }
    assert_int_equal(store_txn_commit(s), 0);
    if (seq)
        *seq = d.seq;
    free(d.key);
    return 0;
}

static int
fail1(store_t *s, uint64_t id, uint32_t att, const char *why, bool perm,
      uint64_t retry_at, int *st)
{
    assert_int_equal(store_txn_begin(s), 0);
    int rc = store_fail(s, id, att, why, perm, 3, retry_at, 2000, st);
    if (rc) {
        store_txn_abort(s);
        return rc;
    }
    assert_int_equal(store_txn_commit(s), 0);
    return 0;
}

static int
state_of(store_t *s, uint64_t id)
{
    store_job_t j;
    assert_int_equal(store_read_begin(s), 0);
    int rc = store_get(s, id, &j);
    int st = rc ? rc : j.state;
    store_read_end(s);
    return st;
}

static void
test_submit_dedup_get(void **state)
{
    fx_t *f = *state;
    uint64_t a, b, c;
    bool dup;
    assert_int_equal(submit1(f->s, "k1", "Anna Petrova: hello.", 0, &a, &dup),
                     0);
    assert_false(dup);
    assert_int_equal(a, 1);
    assert_int_equal(submit1(f->s, "k1", "other text", 5, &b, &dup), 0);
    assert_true(dup);
    assert_int_equal(b, a);
    assert_int_equal(submit1(f->s, "k2", "second", 0, &c, &dup), 0);
    assert_false(dup);
    assert_int_equal(c, 2);

    /* a long key goes through the hashed dedup path */
    char longkey[1025];
    memset(longkey, 'x', 1024);
    longkey[1024] = '\0';
    uint64_t d, e;
    assert_int_equal(submit1(f->s, longkey, "long key text", 0, &d, &dup), 0);
    assert_false(dup);
    assert_int_equal(submit1(f->s, longkey, "long key text", 0, &e, &dup), 0);
    assert_true(dup);
    assert_int_equal(d, e);

    store_job_t j;
    assert_int_equal(store_read_begin(f->s), 0);
    assert_int_equal(store_get(f->s, a, &j), 0);
    assert_int_equal(j.state, STORE_READY);
    assert_string_equal(j.key, "k1");
    assert_string_equal(j.title, "A title");
    assert_int_equal(j.text_bytes, strlen("Anna Petrova: hello."));
    assert_int_equal(store_get_key(f->s, "k2", 2, &j), 0);
    assert_int_equal(j.id, c);
    assert_int_equal(store_get_key(f->s, longkey, 1024, &j), 0);
    assert_int_equal(j.id, d);
    assert_int_equal(store_get_key(f->s, "nope", 4, &j), ERR_NOTFOUND);
    assert_int_equal(store_get(f->s, 999, &j), ERR_NOTFOUND);
    wire_msg_t m;
    assert_int_equal(store_payload(f->s, a, &m), 0);
    assert_int_equal(m.u.submit.job.id, a);
    assert_memory_equal(m.u.submit.job.text, "Anna Petrova: hello.", 20);
    wire_msg_release(&m);
    store_read_end(f->s);

    store_counts_t n;
    store_counts(f->s, &n);
    assert_int_equal(n.ready, 3);
    assert_int_equal(n.last_id, 3);

    /* invalid input changes nothing */
    wire_job_t bad = mkjob("", "text", 0);
    assert_int_equal(store_txn_begin(f->s), 0);
    assert_int_equal(store_submit(f->s, &bad, 1, &a, &dup), ERR_INVAL);
    bad = mkjob("k9", "", 0);
    assert_int_equal(store_submit(f->s, &bad, 1, &a, &dup), ERR_INVAL);
    bad = mkjob("k9", "t", 10);
    assert_int_equal(store_submit(f->s, &bad, 1, &a, &dup), ERR_INVAL);
    assert_int_equal(store_txn_commit(f->s), 0);
    store_counts(f->s, &n);
    assert_int_equal(n.ready, 3);
}

static int
collect_id(void *arg, uint64_t id)
{
    uint64_t *v = arg;
    v[++v[0]] = id;
    return 0;
}

static int
take_two(void *arg, uint64_t id)
{
    uint64_t *v = arg;
    v[++v[0]] = id;
    return v[0] == 2;
}

/* store_ready_scan_from's callback: ids and positions, in order. */
typedef struct pos_seen {
    size_t n;
    uint64_t id[8];
    store_ready_pos_t pos[8];
} pos_seen_t;

static int
collect_pos(void *arg, uint64_t id, const store_ready_pos_t *pos)
{
    pos_seen_t *p = arg;
    if (p->n < 8) {
        p->id[p->n] = id;
        p->pos[p->n] = *pos;
    }
    p->n++;
    return 0;
}

/* A scan from a position sees the entries at and after it, in dispatch
 * order; from a position whose entry left, those after it; an entry that
 * becomes READY later sorts after every position of its own or a higher
 * priority, before those of lower ones (what the broker's resume relies on). */
static void
test_ready_scan_from(void **state)
{
    fx_t *f = *state;
    uint64_t id[6];
    bool dup;
    int prio[4] = { 0, 5, 0, 5 };
    char key[8];
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "q%d", i);
        assert_int_equal(submit1(f->s, key, "text", prio[i], &id[i], &dup), 0);
    }
    /* dispatch order: id1, id3 (priority 5), id0, id2 */
    pos_seen_t all = { 0 }, part = { 0 };
    assert_int_equal(store_read_begin(f->s), 0);
    assert_int_equal(store_ready_scan_from(f->s, NULL, collect_pos, &all), 4);
    assert_int_equal(all.id[0], id[1]);
    assert_int_equal(all.id[1], id[3]);
    assert_int_equal(all.id[2], id[0]);
    assert_int_equal(all.id[3], id[2]);
    assert_int_equal(store_ready_pos_priority(&all.pos[0]), 5);
    assert_int_equal(store_ready_pos_priority(&all.pos[2]), 0);
    assert_int_equal(
        store_ready_scan_from(f->s, &all.pos[1], collect_pos, &part), 3);
    assert_int_equal(part.id[0], id[3]);
    assert_int_equal(part.id[1], id[0]);
    assert_int_equal(part.id[2], id[2]);
    store_read_end(f->s);

    /* the entry at pos[1] leaves (its lease goes the store's way): a scan
     * from there starts with the next one */
    store_lease_t l;
    assert_int_equal(lease1(f->s, 3000, &l), 0); /* takes id1 */
    wire_msg_release(&l.msg);
    assert_int_equal(lease1(f->s, 3000, &l), 0); /* takes id3 */
    wire_msg_release(&l.msg);
    /* later entries: priority 0 sorts after pos[2], priority 9 before all */
    assert_int_equal(submit1(f->s, "q4", "text", 0, &id[4], &dup), 0);
    assert_int_equal(submit1(f->s, "q5", "text", 9, &id[5], &dup), 0);
    memset(&part, 0, sizeof part);
    assert_int_equal(store_read_begin(f->s), 0);
    assert_int_equal(
        store_ready_scan_from(f->s, &all.pos[1], collect_pos, &part), 3);
    assert_int_equal(part.id[0], id[0]);
    assert_int_equal(part.id[1], id[2]);
    assert_int_equal(part.id[2], id[4]);
    memset(&part, 0, sizeof part);
    assert_int_equal(store_ready_scan_from(f->s, NULL, collect_pos, &part), 4);
    assert_int_equal(part.id[0], id[5]);
    assert_true(store_ready_pos_priority(&part.pos[0]) >
                store_ready_pos_priority(&all.pos[2]));
    /* past the last entry: nothing */
    memset(&part, 0, sizeof part);
    store_ready_pos_t end;
    memset(end.b, 0xFF, sizeof end.b);
    assert_int_equal(store_ready_scan_from(f->s, &end, collect_pos, &part), 0);
    store_read_end(f->s);
}

static void
test_priority_order(void **state)
{
    fx_t *f = *state;
    uint64_t id[5];
    bool dup;
    int prio[5] = { 0, 9, 0, 5, 9 };
    char key[8];
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "p%d", i);
        assert_int_equal(submit1(f->s, key, "text", prio[i], &id[i], &dup), 0);
    }
    uint64_t want[5] = { id[1], id[4], id[3], id[0], id[2] };
    uint64_t seen[8] = { 0 };
    assert_int_equal(store_read_begin(f->s), 0);
    assert_int_equal(store_ready_scan(f->s, collect_id, seen), 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(seen[i + 1], want[i]);
    memset(seen, 0, sizeof seen);
    assert_int_equal(store_ready_scan(f->s, take_two, seen), 2);
    assert_int_equal(seen[0], 2);
    store_read_end(f->s);
    for (int i = 0; i < 5; i++) {
        store_lease_t l;
        assert_int_equal(lease1(f->s, 3000, &l), 0);
        assert_int_equal(l.id, want[i]);
        assert_int_equal(l.attempt, 1);
        assert_int_equal(l.msg.kind, WIRE_SUBMIT);
        assert_int_equal(l.msg.u.submit.job.id, want[i]);
        assert_int_equal(l.queued_ms, 2000);
        wire_msg_release(&l.msg);
    }
    store_lease_t l;
    assert_int_equal(lease1(f->s, 3000, &l), ERR_NOTFOUND);
    assert_int_equal(store_read_begin(f->s), 0);
    uint64_t got[8] = { 0 };
    assert_int_equal(store_ready_scan(f->s, collect_id, got), 0);
    store_read_end(f->s);
    store_counts_t n;
    store_counts(f->s, &n);
    assert_int_equal(n.ready, 0);
    assert_int_equal(n.leased, 5);
}

static void
test_done_fence_result_log(void **state)
{
    fx_t *f = *state;
    uint64_t id, seq;
    bool dup;
    assert_int_equal(
        submit1(f->s, "k", "Ivan Ivanov: we met Oleg.", 0, &id, &dup), 0);
    /* attempt 0 is never valid */
    assert_int_equal(done1(f->s, id, 0, NULL, 0, NULL, NULL), ERR_STALE);
    store_lease_t l;
    assert_int_equal(lease1(f->s, 1500, &l), 0);
    wire_msg_release(&l.msg);

    result_t *r = result_new();
    int32_t e = result_add_entity(r, RESULT_PERSON, "Oleg  Sidorov", NULL);
    result_add_mention(r, e, "Ivan Ivanov: we met Oleg.", 20, 24);
    r->version = result_strndup(r, "test-1", 6);
    r->extract_us = 1234567;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_result_encode(r, &buf, &len), 0);

    assert_int_equal(done1(f->s, 77, 1, buf, len, r, NULL), ERR_NOTFOUND);
    assert_int_equal(done1(f->s, id, 1, buf, len, r, &seq), 0);
    assert_int_equal(seq, 1);
    /* a second Done of the same attempt is fenced: one result only */
    assert_int_equal(done1(f->s, id, 1, buf, len, r, NULL), ERR_STALE);
    int st;
    assert_int_equal(fail1(f->s, id, 1, "late", false, 0, &st), ERR_STALE);
    free(buf);
    result_destroy(&r);

    assert_int_equal(store_read_begin(f->s), 0);
    store_job_t j;
    assert_int_equal(store_get(f->s, id, &j), 0);
    assert_int_equal(j.state, STORE_DONE);
    assert_int_equal(j.seq, 1);
    assert_int_equal(j.finished_ms, 5000);
    const uint8_t *rb;
    size_t rl;
    assert_int_equal(store_result(f->s, id, &rb, &rl), 0);
    result_t *back = NULL;
    assert_int_equal(wire_result_decode(rb, rl, &back), 0);
    assert_int_equal(back->job_id, id);
    assert_int_equal(back->seq, 1);
    assert_int_equal(back->n_entities, 1);
    assert_string_equal(back->version, "test-1");
    /* the worker's timing survives the broker's appended Timings */
    assert_int_equal(back->extract_us, 1234567);
    result_destroy(&back);
    store_read_end(f->s);

    store_counts_t n;
    store_counts(f->s, &n);
    assert_int_equal(n.done, 1);
    assert_int_equal(n.leased, 0);
    assert_int_equal(n.last_seq, 1);
}

/* An empty Result (a Done whose result field was left out) arrives as
 * NULL with length 0: the check and store_done take it without pointer
 * arithmetic on NULL (found by tests/fuzz/fuzz_result_check under UBSan). */
static void
test_done_empty_result(void **state)
{
    fx_t *f = *state;
    uint64_t id;
    bool dup;
    assert_int_equal(store_result_check(NULL, 0), 0);
    assert_int_equal(store_result_check(NULL, 1), ERR_INVAL);
    assert_int_equal(submit1(f->s, "empty", "No speakers here.", 0, &id, &dup),
                     0);
    store_lease_t l;
    assert_int_equal(lease1(f->s, 1, &l), 0);
    wire_msg_release(&l.msg);
    assert_int_equal(done1(f->s, l.id, l.attempt, NULL, 0, NULL, NULL), 0);
    store_counts_t n;
    store_counts(f->s, &n);
    assert_int_equal(n.done, 1);
    assert_int_equal(n.last_seq, 1);
}

static void
test_entity_index(void **state)
{
    fx_t *f = *state;
    uint64_t id[3];
    bool dup;
    const char *text = "Maria Lopez: Spain grew.";
    for (int i = 0; i < 3; i++) {
        char key[4] = { 'e', (char)('0' + i), 0, 0 };
        assert_int_equal(submit1(f->s, key, text, 0, &id[i], &dup), 0);
        store_lease_t l;
        assert_int_equal(lease1(f->s, 1, &l), 0);
        wire_msg_release(&l.msg);
        result_t *r = result_new();
        int32_t e = result_add_entity(r, RESULT_GPE, "Spain", NULL);
        result_add_mention(r, e, text, 13, 18);
        e = result_add_entity(r, RESULT_PERSON, "Maria Lopez", NULL);
        result_add_mention(r, e, text, 0, 11);
        r->extract_us = 99;
        uint8_t *buf = NULL;
        size_t len = 0;
        assert_int_equal(wire_result_encode(r, &buf, &len), 0);
        assert_int_equal(store_result_check(buf, len), 0);
        /* the third is indexed from its bytes alone, as the broker does */
        assert_int_equal(
            done1(f->s, l.id, l.attempt, buf, len, i < 2 ? r : NULL, NULL), 0);
        free(buf);
        result_destroy(&r);
    }
    /* a cut or garbled Result fails the cheap check, and store_done */
    const uint8_t junk[] = { 0x2a, 0x10, 0x08, 0x01 };
    assert_int_equal(store_result_check(junk, sizeof junk), ERR_PROTO);
    const uint8_t badtype[] = { 0x2f };
    assert_int_equal(store_result_check(badtype, 1), ERR_PROTO);
    uint64_t got[8] = { 0 };
    assert_int_equal(store_read_begin(f->s), 0);
    assert_int_equal(
        store_entity_jobs(f->s, RESULT_GPE, "  SPAIN ", collect_id, got), 3);
    assert_int_equal(got[0], 3);
    assert_int_equal(got[1], id[0]);
    assert_int_equal(got[2], id[1]);
    assert_int_equal(got[3], id[2]);
    got[0] = 0;
    assert_int_equal(
        store_entity_jobs(f->s, RESULT_PERSON, "maria lopez", collect_id, got),
        3);
    const uint8_t *rb;
    size_t rl;
    result_t *back = NULL;
    assert_int_equal(store_result(f->s, id[2], &rb, &rl), 0);
    assert_int_equal(wire_result_decode(rb, rl, &back), 0);
    assert_int_equal(back->extract_us, 99);
    assert_int_equal(back->n_entities, 2);
    result_destroy(&back);
    got[0] = 0;
    assert_int_equal(
        store_entity_jobs(f->s, RESULT_PERSON, "Spain", collect_id, got), 0);
    store_read_end(f->s);
}

typedef struct items {
    uint64_t seq[64]; /* seqs seen */
    uint64_t id[64];  /* job ids seen */
    size_t n;         /* count */
    bool with_result; /* expect result bytes */
} items_t;

static int
collect_item(void *arg, const store_item_t *it)
{
    items_t *v = arg;
    assert_true(v->n < 64);
    assert_non_null(it->key);
    if (v->with_result)
        assert_non_null(it->result);
    else
        assert_null(it->result);
    v->seq[v->n] = it->seq;
    v->id[v->n++] = it->job_id;
    return 0;
}

static void
complete_n(fx_t *f, int n, const char *prefix)
{
    for (int i = 0; i < n; i++) {
        char key[32];
        uint64_t id;
        bool dup;
        snprintf(key, sizeof key, "%s%d", prefix, i);
        assert_int_equal(submit1(f->s, key, "some text", 0, &id, &dup), 0);
        store_lease_t l;
        assert_int_equal(lease1(f->s, 1, &l), 0);
        wire_msg_release(&l.msg);
        assert_int_equal(done1(f->s, l.id, l.attempt, NULL, 0, NULL, NULL), 0);
    }
}

/* Ids the caller assigns are kept; a reservation survives a reopen (a crash
 * that lost uncommitted jobs), so an assigned id is never issued twice. */
static void
test_assigned_and_reserved_ids(void **state)
{
    fx_t *f = *state;
    uint64_t id;
    bool dup;
    assert_int_equal(submit1(f->s, "a", "text a", 0, &id, &dup), 0);
    assert_int_equal(id, 1);
    /* reserve up to 100 and assign 2 and 3 in one txn, as the broker does */
    wire_job_t j = mkjob("b", "text b", 0);
    assert_int_equal(store_txn_begin(f->s), 0);
    assert_int_equal(store_reserve_ids(f->s, 100), 0);
    assert_int_equal(store_reserve_ids(f->s, 50), 0); /* lower: no change */
    j.id = 2;
    assert_int_equal(store_submit(f->s, &j, 1000, &id, &dup), 0);
    assert_int_equal(id, 2);
    j = mkjob("c", "text c", 0);
    j.id = 3;
    assert_int_equal(store_submit(f->s, &j, 1000, &id, &dup), 0);
    assert_int_equal(id, 3);
    /* a duplicate key answers the existing id whatever id it was given */
    j = mkjob("b", "text b", 0);
    j.id = 4;
    assert_int_equal(store_submit(f->s, &j, 1000, &id, &dup), 0);
    assert_true(dup);
    assert_int_equal(id, 2);
    assert_int_equal(store_txn_commit(f->s), 0);
    /* an assigned id past the reservation raises the mark */
    j = mkjob("d", "text d", 0);
    j.id = 150;
    assert_int_equal(store_txn_begin(f->s), 0);
    assert_int_equal(store_submit(f->s, &j, 1000, &id, &dup), 0);
    assert_int_equal(store_txn_commit(f->s), 0);
    assert_int_equal(id, 150);
    /* a reserved range that never committed: the txn is lost */
    assert_int_equal(store_txn_begin(f->s), 0);
    assert_int_equal(store_reserve_ids(f->s, 400), 0);
    store_txn_abort(f->s);
    reopen(f);
    store_counts_t c;
    store_counts(f->s, &c);
    assert_int_equal(c.last_id, 150);
    assert_int_equal(submit1(f->s, "e", "text e", 0, &id, &dup), 0);
    assert_int_equal(id, 151);
    assert_int_equal(state_of(f->s, 2), STORE_READY);
    assert_int_equal(state_of(f->s, 3), STORE_READY);
    assert_int_equal(state_of(f->s, 4), ERR_NOTFOUND);
    assert_int_equal(state_of(f->s, 150), STORE_READY);
}

static void
test_seq_gap_free_across_reopen(void **state)
{
    fx_t *f = *state;
    complete_n(f, 3, "a");
    /* an aborted txn consumes no sequence number */
    uint64_t id;
    bool dup;
    assert_int_equal(submit1(f->s, "x", "text", 0, &id, &dup), 0);
    store_lease_t l;
    assert_int_equal(lease1(f->s, 1, &l), 0);
    wire_msg_release(&l.msg);
    store_done_t d;
    assert_int_equal(store_txn_begin(f->s), 0);
    assert_int_equal(store_done(f->s, l.id, l.attempt, NULL, 0, NULL, 1, &d),
                     0);
    assert_int_equal(d.seq, 4);
    free(d.key);
    store_txn_abort(f->s);
    reopen(f);
    store_counts_t n;
    store_counts(f->s, &n);
    assert_int_equal(n.last_seq, 3);
    assert_int_equal(n.leased, 1);
    complete_n(f, 2, "b");

    items_t it = { .with_result = true };
    assert_int_equal(store_read_begin(f->s), 0);
    assert_int_equal(store_since(f->s, 0, 100, true, collect_item, &it), 5);
    for (size_t i = 0; i < it.n; i++)
        assert_int_equal(it.seq[i], i + 1);
    memset(&it, 0, sizeof it);
    assert_int_equal(store_since(f->s, 2, 2, false, collect_item, &it), 2);
    assert_int_equal(it.seq[0], 3);
    assert_int_equal(it.seq[1], 4);
    memset(&it, 0, sizeof it);
    assert_int_equal(store_since(f->s, 5, 10, false, collect_item, &it), 0);
    store_read_end(f->s);
}

static void
test_fail_delay_promote(void **state)
{
    fx_t *f = *state;
    uint64_t id, when;
    bool dup;
    int st;
    assert_int_equal(submit1(f->s, "f", "text", 0, &id, &dup), 0);
    store_lease_t l;
    assert_int_equal(lease1(f->s, 1, &l), 0);
    wire_msg_release(&l.msg);
    assert_int_equal(fail1(f->s, id, 0, "no attempt", false, 9000, &st),
                     ERR_STALE);
    assert_int_equal(fail1(f->s, id, 1, "engine\nboom", false, 9000, &st), 0);
    assert_int_equal(st, STORE_DELAYED);
    assert_int_equal(store_read_begin(f->s), 0);
    assert_int_equal(store_next_due(f->s, &when), 0);
    assert_int_equal(when, 9000);
    store_job_t j;
    assert_int_equal(store_get(f->s, id, &j), 0);
    assert_string_equal(j.last_error, "engine boom");
    assert_int_equal(j.n_history, 1);
    assert_string_equal(j.history, "attempt 1: engine boom\n");
    store_read_end(f->s);
    assert_int_equal(lease1(f->s, 1, &l), ERR_NOTFOUND);

    uint64_t cnt = 99;
    assert_int_equal(store_txn_begin(f->s), 0);
    assert_int_equal(store_promote_due(f->s, 8999, 100, &cnt), 0);
    assert_int_equal(cnt, 0);
    assert_int_equal(store_promote_due(f->s, 9000, 100, &cnt), 0);
    assert_int_equal(cnt, 1);
    assert_int_equal(store_txn_commit(f->s), 0);
    assert_int_equal(state_of(f->s, id), STORE_READY);
    assert_int_equal(store_read_begin(f->s), 0);
    assert_int_equal(store_next_due(f->s, &when), ERR_NOTFOUND);
    store_read_end(f->s);

    assert_int_equal(lease1(f->s, 1, &l), 0);
    assert_int_equal(l.id, id);
    assert_int_equal(l.attempt, 2);
    wire_msg_release(&l.msg);
    /* the first attempt's late Done is fenced, the second counts */
    assert_int_equal(done1(f->s, id, 1, NULL, 0, NULL, NULL), ERR_STALE);
    assert_int_equal(done1(f->s, id, 2, NULL, 0, NULL, NULL), 0);
}

/* The attempt the next in-memory lease takes (what the broker sends). */
static uint32_t
next_attempt(store_t *s, uint64_t id)
{
    store_job_t j;
    assert_int_equal(store_read_begin(s), 0);
    assert_int_equal(store_get(s, id, &j), 0);
    uint32_t a = store_lease_attempt(s, &j);
    store_read_end(s);
    return a;
}

/* A broker leases in memory without recording the attempt; after a crash
 * (a reopen) the next lease must not reuse a number the crashed run may
 * have handed out, however many runs crash in a row. Within a run, an
 * attempt recorded by a failure is followed by the next number. */
static void
test_attempts_fenced_across_reopen(void **state)
{
    fx_t *f = *state;
    uint64_t id;
    bool dup;
    assert_int_equal(submit1(f->s, "fence", "text", 0, &id, &dup), 0);
    assert_int_equal(next_attempt(f->s, id), 1);
    assert_int_equal(next_attempt(f->s, id), 1); /* nothing recorded yet */
    reopen(f);
    assert_int_equal(next_attempt(f->s, id), 2);
    reopen(f);
    assert_int_equal(next_attempt(f->s, id), 3);
    int st = 0;
    assert_int_equal(fail1(f->s, id, 3, "lease expired", false, 0, &st), 0);
    assert_int_equal(st, STORE_DELAYED);
    assert_int_equal(next_attempt(f->s, id), 4);
    reopen(f);
    assert_int_equal(next_attempt(f->s, id), 5);
    /* the fence: older than the recorded attempt 3 */
    assert_int_equal(done1(f->s, id, 2, NULL, 0, NULL, NULL), ERR_STALE);
    assert_int_equal(done1(f->s, id, 5, NULL, 0, NULL, NULL), 0);
}

static void
test_requeue_leased(void **state)
{
    fx_t *f = *state;
    uint64_t id;
    bool dup;
    assert_int_equal(submit1(f->s, "r", "text", 0, &id, &dup), 0);
    store_lease_t l;
    assert_int_equal(lease1(f->s, 1, &l), 0);
    wire_msg_release(&l.msg);
    reopen(f);
    uint64_t cnt = 0;
    assert_int_equal(store_txn_begin(f->s), 0);
    assert_int_equal(store_requeue_leased(f->s, 10, &cnt), 0);
    assert_int_equal(store_txn_commit(f->s), 0);
    assert_int_equal(cnt, 1);
    assert_int_equal(state_of(f->s, id), STORE_READY);
    store_counts_t n;
    store_counts(f->s, &n);
    assert_int_equal(n.leased, 0);
    assert_int_equal(n.ready, 1);
    /* a Done of the attempt that ran before the restart still counts */
    assert_int_equal(done1(f->s, id, 1, NULL, 0, NULL, NULL), 0);
    store_counts(f->s, &n);
    assert_int_equal(n.ready, 0);
    assert_int_equal(lease1(f->s, 1, &l), ERR_NOTFOUND);
}

typedef struct deads {
    uint64_t id[16];      /* dead job ids */
    char reason[16][600]; /* their reasons */
    uint32_t hist[16];    /* history lines */
    size_t n;             /* count */
} deads_t;

static int
collect_dead(void *arg, const store_job_t *j, const char *reason)
{
    deads_t *d = arg;
    assert_true(d->n < 16);
    d->id[d->n] = j->id;
    d->hist[d->n] = j->n_history;
    snprintf(d->reason[d->n], sizeof d->reason[0], "%s", reason);
    d->n++;
    return 0;
}

static void
test_dead_letters(void **state)
{
    fx_t *f = *state;
    uint64_t a, b, cnt;
    bool dup;
    int st;
    store_lease_t l;
    assert_int_equal(submit1(f->s, "da", "text a", 0, &a, &dup), 0);
    /* max attempts is 3 in fail1 */
    for (uint32_t att = 1; att <= 3; att++) {
        assert_int_equal(lease1(f->s, 1, &l), 0);
        assert_int_equal(l.attempt, att);
        wire_msg_release(&l.msg);
        assert_int_equal(fail1(f->s, a, att, "parser exploded", false, 0, &st),
                         0);
        if (att < 3) {
            assert_int_equal(st, STORE_DELAYED);
            assert_int_equal(store_txn_begin(f->s), 0);
            assert_int_equal(store_promote_due(f->s, 10, 10, &cnt), 0);
            assert_int_equal(store_txn_commit(f->s), 0);
        }
    }
    assert_int_equal(st, STORE_DEAD);
    assert_int_equal(submit1(f->s, "db", "text b", 0, &b, &dup), 0);
    assert_int_equal(lease1(f->s, 1, &l), 0);
    wire_msg_release(&l.msg);
    assert_int_equal(fail1(f->s, b, 1, "not a transcript", true, 0, &st), 0);
    assert_int_equal(st, STORE_DEAD);

    deads_t d;
    memset(&d, 0, sizeof d);
    assert_int_equal(store_read_begin(f->s), 0);
    assert_int_equal(store_dead_list(f->s, 0, 10, collect_dead, &d), 2);
    store_read_end(f->s);
    assert_int_equal(d.id[0], a);
    assert_int_equal(d.hist[0], 3);
    assert_non_null(strstr(d.reason[0], "3 attempts"));
    assert_non_null(strstr(d.reason[0], "parser exploded"));
    assert_int_equal(d.id[1], b);
    assert_non_null(strstr(d.reason[1], "permanent"));
    memset(&d, 0, sizeof d);
    assert_int_equal(store_read_begin(f->s), 0);
    assert_int_equal(store_dead_list(f->s, a, 10, collect_dead, &d), 1);
    store_read_end(f->s);
    store_counts_t n;
    store_counts(f->s, &n);
    assert_int_equal(n.dead, 2);

    /* requeue: tries reset, READY again, leased with a new attempt */
    assert_int_equal(store_txn_begin(f->s), 0);
    assert_int_equal(store_dead_requeue(f->s, a, 20), 0);
    assert_int_equal(store_dead_requeue(f->s, a, 20), ERR_NOTFOUND);
    assert_int_equal(store_dead_purge(f->s, 12345), ERR_NOTFOUND);
    assert_int_equal(store_txn_commit(f->s), 0);
    store_job_t j;
    assert_int_equal(store_read_begin(f->s), 0);
    assert_int_equal(store_get(f->s, a, &j), 0);
    assert_int_equal(j.state, STORE_READY);
    assert_int_equal(j.tries, 0);
    store_read_end(f->s);
    assert_int_equal(lease1(f->s, 1, &l), 0);
    assert_int_equal(l.attempt, 4);
    wire_msg_release(&l.msg);

    /* purge: the job and its key are gone; the key can be used again */
    assert_int_equal(store_txn_begin(f->s), 0);
    assert_int_equal(store_dead_purge(f->s, a), ERR_NOTFOUND); /* leased */
    assert_int_equal(store_dead_purge(f->s, b), 0);
    assert_int_equal(store_txn_commit(f->s), 0);
    assert_int_equal(state_of(f->s, b), ERR_NOTFOUND);
    uint64_t b2;
    assert_int_equal(submit1(f->s, "db", "text b", 0, &b2, &dup), 0);
    assert_false(dup);
    assert_true(b2 > b);
    store_counts(f->s, &n);
    assert_int_equal(n.dead, 0);

    /* the *_all variants */
    assert_int_equal(fail1(f->s, a, 4, "x", true, 0, &st), 0);
    assert_int_equal(lease1(f->s, 1, &l), 0);
    wire_msg_release(&l.msg);
    assert_int_equal(fail1(f->s, b2, 1, "y", true, 0, &st), 0);
    assert_int_equal(store_txn_begin(f->s), 0);
    assert_int_equal(store_dead_requeue_all(f->s, 30, &cnt), 0);
    assert_int_equal(cnt, 2);
    assert_int_equal(store_txn_commit(f->s), 0);
    store_counts(f->s, &n);
    assert_int_equal(n.dead, 0);
    assert_int_equal(n.ready, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(lease1(f->s, 1, &l), 0);
        wire_msg_release(&l.msg);
        assert_int_equal(fail1(f->s, l.id, l.attempt, "z", true, 0, &st), 0);
    }
    assert_int_equal(store_txn_begin(f->s), 0);
    assert_int_equal(store_dead_purge_all(f->s, &cnt), 0);
    assert_int_equal(cnt, 2);
    assert_int_equal(store_txn_commit(f->s), 0);
    store_counts(f->s, &n);
    assert_int_equal(n.dead, 0);
    assert_int_equal(n.ready + n.leased + n.delayed, 0);
}

/* A flat group (no nested txn per op): ops that fail before writing keep
 * their codes and the group commits; an op failing after a write poisons
 * the group (ERR_AGAIN) and the nested redo fails it alone. */
static void
test_flat_group(void **state)
{
    fx_t *f = *state;
    uint64_t id1, id2, id3, id;
    bool dup;
    assert_int_equal(submit1(f->s, "f1", "Anna Petrova: hello.", 0, &id1, &dup),
                     0);
    assert_int_equal(submit1(f->s, "f2", "Boris Orlov: hi.", 0, &id2, &dup), 0);
    store_lease_t l;
    assert_int_equal(lease1(f->s, 1500, &l), 0);
    wire_msg_release(&l.msg);
    assert_int_equal(lease1(f->s, 1500, &l), 0);
    wire_msg_release(&l.msg);

    result_t *r = result_new();
    int32_t e = result_add_entity(r, RESULT_PERSON, "Anna Petrova", NULL);
    result_add_mention(r, e, "Anna Petrova: hello.", 0, 12);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(wire_result_encode(r, &buf, &len), 0);

    store_done_t d;
    int st = 0;
    wire_job_t again = mkjob("f1", "other text", 0);
    wire_job_t fresh = mkjob("f3", "Clara Smirnova: bye.", 0);
    assert_int_equal(store_txn_begin_flat(f->s), 0);
    assert_int_equal(store_done(f->s, id1, 1, buf, len, NULL, 5000, &d), 0);
    assert_int_equal(d.seq, 1);
    free(d.key);
    assert_int_equal(store_submit(f->s, &again, 1, &id, &dup), 0);
    assert_true(dup);
    assert_int_equal(id, id1);
    assert_int_equal(store_done(f->s, 999, 1, buf, len, NULL, 5000, &d),
                     ERR_NOTFOUND);
    assert_int_equal(store_done(f->s, id1, 1, buf, len, NULL, 5000, &d),
                     ERR_STALE);
    assert_int_equal(
        store_done(f->s, id2, 1, (const uint8_t *)"\xff", 1, NULL, 5000, &d),
        ERR_INVAL);
    assert_int_equal(
        store_fail(f->s, id2, 0, "zero attempt", false, 3, 0, 2000, &st),
        ERR_STALE);
    assert_int_equal(store_submit(f->s, &fresh, 1, &id3, &dup), 0);
    assert_false(dup);
    assert_int_equal(store_done(f->s, id2, 1, buf, len, NULL, 5000, &d), 0);
    assert_int_equal(d.seq, 2);
    free(d.key);
    assert_int_equal(store_txn_commit(f->s), 0);
    free(buf);
    result_destroy(&r);

    assert_int_equal(state_of(f->s, id1), STORE_DONE);
    assert_int_equal(state_of(f->s, id2), STORE_DONE);
    assert_int_equal(state_of(f->s, id3), STORE_READY);
    store_counts_t n;
    store_counts(f->s, &n);
    assert_int_equal(n.done, 2);
    assert_int_equal(n.ready, 1);
    assert_int_equal(n.leased, 0);
    assert_int_equal(n.last_seq, 2);
    reopen(f);
    store_counts(f->s, &n);
    assert_int_equal(n.done, 2);
    assert_int_equal(n.last_seq, 2);

    /* at the map limit: a submit that does not fit poisons the flat group;
     * redone nested, it fails alone with ERR_FULL */
    store_destroy(&f->s);
    f->cfg.map_size = 1 << 20;
    f->cfg.map_limit = 1 << 20;
    assert_int_equal(store_open(&f->s, &f->cfg), 0);
    size_t big_len = 2u << 20;
    char *big = malloc(big_len + 1);
    assert_non_null(big);
    memset(big, 'x', big_len);
    big[big_len] = '\0';
    wire_job_t huge = mkjob("huge", big, 0);
    wire_job_t small = mkjob("f4", "Dmitry Volkov: ok.", 0);
    uint64_t id4;
    assert_int_equal(store_txn_begin_flat(f->s), 0);
    assert_int_equal(store_submit(f->s, &small, 1, &id4, &dup), 0);
    assert_int_equal(store_submit(f->s, &huge, 1, &id, &dup), ERR_AGAIN);
    store_txn_abort(f->s);
    assert_int_equal(store_txn_begin(f->s), 0);
    assert_int_equal(store_submit(f->s, &small, 1, &id4, &dup), 0);
    assert_false(dup);
    assert_int_equal(store_submit(f->s, &huge, 1, &id, &dup), ERR_FULL);
    assert_int_equal(store_txn_commit(f->s), 0);
    free(big);
    assert_int_equal(state_of(f->s, id4), STORE_READY);
    store_job_t j;
    assert_int_equal(store_read_begin(f->s), 0);
    assert_int_equal(store_get_key(f->s, "huge", 4, &j), ERR_NOTFOUND);
    store_read_end(f->s);
    store_counts(f->s, &n);
    assert_int_equal(n.ready, 2);
}

/* Encode a Result naming the given entities (type, name pairs). */
static uint8_t *
encode_entities(const int *types, const char *const *names, size_t n,
                size_t *len)
{
    result_t *r = result_new();
    for (size_t i = 0; i < n; i++)
        result_add_entity(r, types[i], names[i], NULL);
    uint8_t *buf = NULL;
    assert_int_equal(wire_result_encode(r, &buf, len), 0);
    result_destroy(&r);
    return buf;
}

/* Job ids indexed under an entity (read txn); v[0] gets the count. */
static void
entity_ids(store_t *s, int type, const char *name, uint64_t *v)
{
    v[0] = 0;
    assert_int_equal(store_read_begin(s), 0);
    assert_true(store_entity_jobs(s, type, name, collect_id, v) >= 0);
    store_read_end(s);
}

/* A flat group writes its entity index entries at commit, in key order:
 * the same as one put each (sorted ids, each pair once), nothing from an
 * op that failed or a group that was aborted. */
static void
test_flat_entity_index(void **state)
{
    fx_t *f = *state;
    uint64_t id[4], got[8];
    bool dup;
    for (int i = 0; i < 4; i++) {
        char key[3] = { 'x', (char)('0' + i), 0 };
        assert_int_equal(
            submit1(f->s, key, "Maria Lopez: Spain.", 0, &id[i], &dup), 0);
        store_lease_t l;
        assert_int_equal(lease1(f->s, 1, &l), 0);
        wire_msg_release(&l.msg);
    }
    static const int t1[] = { RESULT_GPE, RESULT_PERSON, RESULT_GPE };
    static const char *const n1[] = { "Spain", "Maria Lopez", "  SPAIN " };
    static const int t2[] = { RESULT_PERSON, RESULT_GPE };
    static const char *const n2[] = { "Maria  lopez", "Spain" };
    static const int t3[] = { RESULT_PERSON };
    static const char *const n3[] = { "Zed Zeta" };
    size_t l1, l2, l3;
    uint8_t *b1 = encode_entities(t1, n1, 3, &l1);
    uint8_t *b2 = encode_entities(t2, n2, 2, &l2);
    uint8_t *b3 = encode_entities(t3, n3, 1, &l3);
    /* b3 followed by a cut field: its entity is read before the error */
    uint8_t *bad = malloc(l3 + 2);
    assert_non_null(bad);
    memcpy(bad, b3, l3);
    bad[l3] = 0x2a;
    bad[l3 + 1] = 0x10;
    store_done_t d;

    assert_int_equal(store_txn_begin_flat(f->s), 0);
    assert_int_equal(store_done(f->s, id[3], 1, b2, l2, NULL, 5000, &d), 0);
    free(d.key);
    assert_int_equal(store_done(f->s, id[2], 1, bad, l3 + 2, NULL, 5000, &d),
                     ERR_INVAL);
    assert_int_equal(store_done(f->s, id[0], 1, b1, l1, NULL, 5000, &d), 0);
    free(d.key);
    assert_int_equal(store_txn_commit(f->s), 0);
    entity_ids(f->s, RESULT_GPE, "spain", got);
    assert_int_equal(got[0], 2);
    assert_int_equal(got[1], id[0]);
    assert_int_equal(got[2], id[3]);
    entity_ids(f->s, RESULT_PERSON, "MARIA LOPEZ", got);
    assert_int_equal(got[0], 2);
    assert_int_equal(got[1], id[0]);
    assert_int_equal(got[2], id[3]);
    entity_ids(f->s, RESULT_PERSON, "zed zeta", got);
    assert_int_equal(got[0], 0);
    assert_int_equal(state_of(f->s, id[2]), STORE_LEASED);

    /* an aborted flat group leaves no entries behind for the next one */
    assert_int_equal(store_txn_begin_flat(f->s), 0);
    assert_int_equal(store_done(f->s, id[2], 1, b3, l3, NULL, 5000, &d), 0);
    free(d.key);
    store_txn_abort(f->s);
    assert_int_equal(store_txn_begin_flat(f->s), 0);
    assert_int_equal(store_done(f->s, id[1], 1, b1, l1, NULL, 5000, &d), 0);
    free(d.key);
    assert_int_equal(store_txn_commit(f->s), 0);
    entity_ids(f->s, RESULT_PERSON, "zed zeta", got);
    assert_int_equal(got[0], 0);
    entity_ids(f->s, RESULT_GPE, "spain", got);
    assert_int_equal(got[0], 3);
    assert_int_equal(got[2], id[1]);
    assert_int_equal(state_of(f->s, id[2]), STORE_LEASED);
    /* nested (one list per entity and job): the repeated name is one entry */
    assert_int_equal(done1(f->s, id[2], 1, b1, l1, NULL, NULL), 0);
    entity_ids(f->s, RESULT_GPE, "spain", got);
    assert_int_equal(got[0], 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(got[1 + i], id[i]);
    free(b1);
    free(b2);
    free(b3);
    free(bad);
}

/* Flat groups keep their entity entries in one recent value each until
 * enough groups' worth is merged into the lists: queries see every
 * committed entry either way, before and after a merge and a reopen. */
static void
test_entity_recent_merge(void **state)
{
    fx_t *f = *state;
    enum { JOBS = 40 };
    uint64_t id[JOBS], got[JOBS + 1];
    bool dup;
    for (int i = 0; i < JOBS; i++) {
        char key[8];
        snprintf(key, sizeof key, "m%d", i);
        assert_int_equal(submit1(f->s, key, "Spain.", 0, &id[i], &dup), 0);
        store_lease_t l;
        assert_int_equal(lease1(f->s, 1, &l), 0);
        wire_msg_release(&l.msg);
    }
    for (int i = 0; i < JOBS; i++) {
        char who[32];
        snprintf(who, sizeof who, "Person %d", i);
        const int ts[] = { RESULT_GPE, RESULT_PERSON, RESULT_GPE };
        const char *const ns[] = { "Spain", who, "Spain" };
        size_t len;
        uint8_t *buf = encode_entities(ts, ns, 3, &len);
        store_done_t d;
        assert_int_equal(store_txn_begin_flat(f->s), 0);
        assert_int_equal(store_done(f->s, id[i], 1, buf, len, NULL, 5000, &d),
                         0);
        free(d.key);
        assert_int_equal(store_txn_commit(f->s), 0);
        free(buf);
        entity_ids(f->s, RESULT_GPE, "spain", got);
        assert_int_equal(got[0], (uint64_t)i + 1);
        for (int j = 0; j <= i; j++)
            assert_int_equal(got[1 + j], id[j]);
        entity_ids(f->s, RESULT_PERSON, who, got);
        assert_int_equal(got[0], 1);
        assert_int_equal(got[1], id[i]);
    }
    reopen(f);
    entity_ids(f->s, RESULT_GPE, "SPAIN", got);
    assert_int_equal(got[0], JOBS);
    for (int j = 0; j < JOBS; j++)
        assert_int_equal(got[1 + j], id[j]);
    entity_ids(f->s, RESULT_PERSON, "person 3", got);
    assert_int_equal(got[0], 1);
    assert_int_equal(got[1], id[3]);
    entity_ids(f->s, RESULT_PERSON, "person 39", got);
    assert_int_equal(got[0], 1);
    assert_int_equal(got[1], id[39]);

    /* a malformed recent value is ERR_IO for a query, not a crash */
    store_destroy(&f->s);
    uint8_t k[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    uint8_t junk[] = { 0, 6, RESULT_GPE, 's', 'p', 'a', 'i', 'n', 0, 0, 0, 9 };
    raw_put(f->dir, "entity_recent", k, sizeof k, junk, sizeof junk);
    assert_int_equal(store_open(&f->s, &f->cfg), 0);
    assert_int_equal(store_read_begin(f->s), 0);
    got[0] = 0;
    assert_int_equal(
        store_entity_jobs(f->s, RESULT_GPE, "Spain", collect_id, got), ERR_IO);
    store_read_end(f->s);
}

/* At the map limit, a flat group whose entity index entries do not fit
 * fails at commit with ERR_AGAIN and nothing of it lands; redone nested,
 * that result fails alone with ERR_FULL and the rest commits. */
static void
test_flat_entity_index_full(void **state)
{
    fx_t *f = *state;
    store_destroy(&f->s);
    f->cfg.map_size = 1 << 20;
    f->cfg.map_limit = 1 << 20;
    assert_int_equal(store_open(&f->s, &f->cfg), 0);
    uint64_t big_id, small_id, got[4];
    bool dup;
    assert_int_equal(submit1(f->s, "big", "many names", 0, &big_id, &dup), 0);
    assert_int_equal(submit1(f->s, "small", "one name", 0, &small_id, &dup), 0);
    store_lease_t l;
    assert_int_equal(lease1(f->s, 1, &l), 0);
    wire_msg_release(&l.msg);
    assert_int_equal(lease1(f->s, 1, &l), 0);
    wire_msg_release(&l.msg);
    /* ~150 pages of result bytes fit the 256-page map; as many again of
     * index keys do not */
    enum { N = 2400, NAME = 250 };
    result_t *r = result_new();
    char name[NAME + 1];
    for (int i = 0; i < N; i++) {
        memset(name, 'a' + i % 26, NAME);
        snprintf(name, sizeof name, "%05d", i);
        name[5] = 'n';
        name[NAME] = '\0';
        result_add_entity(r, RESULT_ORG, name, NULL);
    }
    uint8_t *big = NULL;
    size_t big_len = 0;
    assert_int_equal(wire_result_encode(r, &big, &big_len), 0);
    result_destroy(&r);
    static const int ts[] = { RESULT_GPE };
    static const char *const ns[] = { "Norway" };
    size_t small_len;
    uint8_t *small = encode_entities(ts, ns, 1, &small_len);
    store_done_t d;
    assert_int_equal(store_txn_begin_flat(f->s), 0);
    assert_int_equal(
        store_done(f->s, small_id, 1, small, small_len, NULL, 5000, &d), 0);
    free(d.key);
    assert_int_equal(store_done(f->s, big_id, 1, big, big_len, NULL, 5000, &d),
                     0);
    free(d.key);
    assert_int_equal(store_txn_commit(f->s), ERR_AGAIN);
    assert_int_equal(state_of(f->s, small_id), STORE_LEASED);
    store_counts_t n;
    store_counts(f->s, &n);
    assert_int_equal(n.last_seq, 0);
    assert_int_equal(n.done, 0);

    assert_int_equal(store_txn_begin(f->s), 0);
    assert_int_equal(
        store_done(f->s, small_id, 1, small, small_len, NULL, 5000, &d), 0);
    free(d.key);
    assert_int_equal(store_done(f->s, big_id, 1, big, big_len, NULL, 5000, &d),
                     ERR_FULL);
    assert_int_equal(store_txn_commit(f->s), 0);
    assert_int_equal(state_of(f->s, small_id), STORE_DONE);
    assert_int_equal(state_of(f->s, big_id), STORE_LEASED);
    entity_ids(f->s, RESULT_GPE, "norway", got);
    assert_int_equal(got[0], 1);
    assert_int_equal(got[1], small_id);
    store_counts(f->s, &n);
    assert_int_equal(n.last_seq, 1);
    free(big);
    free(small);
}

static void
test_map_growth(void **state)
{
    fx_t *f = *state;
    char *text = malloc(64 * 1024 + 1);
    assert_non_null(text);
    memset(text, 'a', 64 * 1024);
    text[64 * 1024] = '\0';
    store_info_t before, after;
    store_info(f->s, &before);
    for (int i = 0; i < 40; i++) {
        char key[16];
        uint64_t id;
        bool dup;
        text[0] = (char)('A' + i % 26);
        snprintf(key, sizeof key, "g%d", i);
        assert_int_equal(submit1(f->s, key, text, 0, &id, &dup), 0);
    }
    store_info(f->s, &after);
    assert_true(after.map_bytes > before.map_bytes);
    assert_true(after.used_bytes > 40 * 64 * 1024);
    store_counts_t n;
    store_counts(f->s, &n);
    assert_int_equal(n.ready, 40);
    /* a single job bigger than twice the map needs several doublings */
    char *big = malloc(8u << 20);
    assert_non_null(big);
    memset(big, 'b', (8u << 20) - 1);
    big[(8u << 20) - 1] = '\0';
    uint64_t id;
    bool dup;
    assert_int_equal(submit1(f->s, "big", big, 0, &id, &dup), 0);
    free(big);
    free(text);
    reopen(f);
    store_counts(f->s, &n);
    assert_int_equal(n.ready, 41);
}

static void
test_map_limit_full(void **state)
{
    fx_t *f = *state;
    store_destroy(&f->s);
    f->cfg.map_size = 256 << 10;
    f->cfg.map_limit = 1 << 20;
    assert_int_equal(store_open(&f->s, &f->cfg), 0);
    complete_n(f, 2, "pre");
    char text[8193];
    memset(text, 'c', 8192);
    text[8192] = '\0';
    int rc = 0, ok = 0;
    for (int i = 0; i < 1000 && rc == 0; i++) {
        char key[16];
        uint64_t id;
        bool dup;
        snprintf(key, sizeof key, "full%d", i);
        text[0] = (char)('A' + i % 26);
        text[1] = (char)('A' + i / 26 % 26);
        rc = submit1(f->s, key, text, 0, &id, &dup);
        if (rc == 0)
            ok++;
    }
    assert_int_equal(rc, ERR_FULL);
    assert_true(ok > 10);
    store_info_t info;
    store_info(f->s, &info);
    assert_int_equal(info.map_bytes, 1 << 20);
    store_counts_t n;
    store_counts(f->s, &n);
    assert_int_equal(n.ready, (uint64_t)ok);

    /* in a group, the failed op leaves the others intact */
    uint64_t id;
    bool dup;
    wire_job_t j = mkjob("nofit", text, 0);
    wire_job_t small = mkjob("full0", "t", 0);
    assert_int_equal(store_txn_begin(f->s), 0);
    assert_int_equal(store_submit(f->s, &j, 1, &id, &dup), ERR_FULL);
    assert_int_equal(store_submit(f->s, &small, 1, &id, &dup), 0);
    assert_true(dup);
    store_txn_abort(f->s);

    /* reads keep working at the limit */
    items_t it = { .with_result = false };
    assert_int_equal(store_read_begin(f->s), 0);
    assert_int_equal(store_since(f->s, 0, 10, false, collect_item, &it), 2);
    store_job_t jj;
    assert_int_equal(store_get_key(f->s, "full0", 5, &jj), 0);
    store_read_end(f->s);
    reopen(f);
    store_counts(f->s, &n);
    assert_int_equal(n.ready, (uint64_t)ok);
}

static void
test_abort_and_reopen(void **state)
{
    fx_t *f = *state;
    uint64_t id;
    bool dup;
    wire_job_t j = mkjob("ab", "text", 0);
    assert_int_equal(store_txn_begin(f->s), 0);
    assert_true(store_in_txn(f->s));
    assert_int_equal(store_submit(f->s, &j, 1, &id, &dup), 0);
    store_counts_t n;
    store_counts(f->s, &n);
    assert_int_equal(n.ready, 1);
    store_txn_abort(f->s);
    assert_false(store_in_txn(f->s));
    store_counts(f->s, &n);
    assert_int_equal(n.ready, 0);
    assert_int_equal(state_of(f->s, id), ERR_NOTFOUND);
    /* an open txn at close is aborted */
    assert_int_equal(store_txn_begin(f->s), 0);
    assert_int_equal(store_submit(f->s, &j, 1, &id, &dup), 0);
    reopen(f);
    store_counts(f->s, &n);
    assert_int_equal(n.ready, 0);
    assert_int_equal(n.last_id, 0);
    assert_int_equal(submit1(f->s, "ab", "text", 0, &id, &dup), 0);
    assert_false(dup);
    assert_int_equal(id, 1);
}

static void
test_stats_helpers(void **state)
{
    fx_t *f = *state;
    uint64_t id, t;
    bool dup;
    assert_int_equal(store_read_begin(f->s), 0);
    assert_int_equal(store_oldest_ready(f->s, &t), ERR_NOTFOUND);
    store_read_end(f->s);
    assert_int_equal(submit1(f->s, "s1", "text", 0, &id, &dup), 0);
    assert_int_equal(submit1(f->s, "s2", "text", 7, &id, &dup), 0);
    assert_int_equal(store_read_begin(f->s), 0);
    assert_int_equal(store_oldest_ready(f->s, &t), 0);
    assert_int_equal(t, 1000);
    store_read_end(f->s);
    store_info_t info;
    store_info(f->s, &info);
    assert_true(info.used_bytes > 0);
    assert_true(info.map_bytes >= info.used_bytes);
    assert_int_equal(info.map_limit, 256 << 20);
    char *k = store_key_default("abc", 3);
    assert_string_equal(
        k,
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    free(k);
}

/* A schema 1 store opens: it is marked 2, and the entity index of
 * schema 1 (one dupsort entry per entity and job) is still read, merged
 * with the lists written since, ids ascending and once each. */
static void
test_schema1_entity_index(void **state)
{
    fx_t *f = *state;
    uint64_t id, got[8];
    bool dup;
    assert_int_equal(submit1(f->s, "s1", "Spain.", 0, &id, &dup), 0);
    store_lease_t l;
    assert_int_equal(lease1(f->s, 1, &l), 0);
    wire_msg_release(&l.msg);
    static const int ts[] = { RESULT_GPE };
    static const char *const ns[] = { "Spain" };
    size_t len;
    uint8_t *buf = encode_entities(ts, ns, 1, &len);
    assert_int_equal(done1(f->s, id, 1, buf, len, NULL, NULL), 0);
    free(buf);
    store_destroy(&f->s);

    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, ents;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    assert_int_equal(
        mdb_dbi_open(txn, "entities", MDB_DUPSORT | MDB_DUPFIXED, &ents), 0);
    uint32_t ver = 1;
    MDB_val k = { 6, "schema" }, v = { 4, &ver };
    assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
    uint8_t ek[6] = { RESULT_GPE, 's', 'p', 'a', 'i', 'n' };
    const uint64_t old_ids[] = { 300, 3, id };
    for (size_t i = 0; i < 3; i++) {
        uint8_t idb[8];
        for (int b = 0; b < 8; b++)
            idb[b] = (uint8_t)(old_ids[i] >> (56 - 8 * b));
        MDB_val ekv = { sizeof ek, ek }, idv = { 8, idb };
        assert_int_equal(mdb_put(txn, ents, &ekv, &idv, 0), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    assert_int_equal(store_open(&f->s, &f->cfg), 0);
    entity_ids(f->s, RESULT_GPE, "spain", got);
    assert_int_equal(got[0], 3);
    assert_int_equal(got[1], id);
    assert_int_equal(got[2], 3);
    assert_int_equal(got[3], 300);
    store_destroy(&f->s);
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, f->dir, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    assert_int_equal(mdb_get(txn, meta, &k, &v), 0);
    assert_int_equal(v.mv_size, 4);
    memcpy(&ver, v.mv_data, 4);
    assert_int_equal(ver, STORE_SCHEMA_VERSION);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    assert_int_equal(store_open(&f->s, &f->cfg), 0);
}

static void
test_open_errors(void **state)
{
    fx_t *f = *state;
    store_t *s = NULL;
    store_cfg_t cfg = { 0 };
    assert_int_equal(store_open(&s, &cfg), ERR_INVAL);
    cfg.dir = "/proc/definitely/not/here";
    assert_int_not_equal(store_open(&s, &cfg), 0);
    assert_null(s);
    /* one store per dir: a second open (another broker) is refused while
     * the first is open, and works once it is closed */
    assert_int_equal(store_open(&s, &f->cfg), ERR_IO);
    assert_null(s);
    store_destroy(&f->s);
    assert_int_equal(store_open(&s, &f->cfg), 0);
    store_destroy(&s);
    /* a store written with another schema version is refused */
    store_destroy(&f->s);
    uint32_t ver = 99;
    raw_put(f->dir, "meta", "schema", 6, &ver, sizeof ver);
    assert_int_equal(store_open(&f->s, &f->cfg), ERR_VERSION);
    assert_null(f->s);
}

int
main(void)
{
    log_set_level(LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_submit_dedup_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_priority_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ready_scan_from, setup, teardown),
        cmocka_unit_test_setup_teardown(test_done_fence_result_log, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_done_empty_result, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_entity_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assigned_and_reserved_ids, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_seq_gap_free_across_reopen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fail_delay_promote, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_requeue_leased, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attempts_fenced_across_reopen,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_letters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flat_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flat_entity_index, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_flat_entity_index_full, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_entity_recent_merge, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_map_growth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_limit_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats_helpers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema1_entity_index, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
