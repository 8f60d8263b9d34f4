/*
 * store_dead: dead letters: moving a job to the dead list, listing,
 * requeueing and purging dead jobs.
 */
#include "store_int.h"

/* Dead-letter r (already unindexed) with reason; writes the record. */
int
sdead_make_dead(store_t *s, MDB_txn *txn, rec_t *r, meta_t *m,
                const char *reason, uint64_t now_ms)
{
    uint8_t k[8];
    sdb_put_be64(k, r->j.id);
    MDB_val key = sdb_mval(k, 8), v = sdb_mval(reason, strlen(reason) + 1);
    int rc = mdb_put(txn, s->dbi[DB_DEAD], &key, &v, 0);
    if (rc)
        return rc;
    r->j.state = STORE_DEAD;
    r->j.finished_ms = now_ms;
    m->n[STORE_DEAD]++;
    return srec_rec_store(s, txn, &r->j, 0);
}

int
store_dead_requeue_all(store_t *s, uint64_t now_ms, uint64_t *count)
{
    return squeue_requeue_from(s, DB_DEAD, true, now_ms, 0, SIZE_MAX, count);
}

int
store_dead_requeue(store_t *s, uint64_t id, uint64_t now_ms)
{
    MDB_txn *txn = NULL;
    meta_t m;
    rec_t r;
    int rc = sdb_op_begin(s, &txn, &m);
    if (rc)
        return rc;
    rc = srec_rec_load(s, txn, id, &r);
    if (rc == 0 && r.j.state != STORE_DEAD)
        rc = ERR_NOTFOUND;
    if (rc == 0)
        rc = srec_unindex(s, txn, &r, &m);
    if (rc == 0) {
        r.j.tries = 0;
        rc = srec_make_ready(s, txn, &r, &m, now_ms);
    }
    srec_rec_free(&r);
    return sdb_op_end(s, txn, &m, rc);
}

static int
purge_one(store_t *s, MDB_txn *txn, uint64_t id, meta_t *m)
{
    rec_t r;
    int rc = srec_rec_load(s, txn, id, &r);
    if (rc == 0 && r.j.state != STORE_DEAD)
        rc = ERR_NOTFOUND;
    if (rc == 0)
        rc = srec_unindex(s, txn, &r, m);
    uint8_t k[8];
    sdb_put_be64(k, id);
    if (rc == 0)
        rc = srec_del_key(txn, s->dbi[DB_PAYLOADS], k, 8);
    if (rc == 0)
        rc = srec_del_key(txn, s->dbi[DB_JOBS], k, 8);
    uint64_t owner = 0;
    if (rc == 0 &&
        srec_dedup_get(s, txn, r.j.key, strlen(r.j.key), &owner) == 0 &&
        owner == id) {
        uint8_t dk[DEDUP_DIRECT_MAX + 1];
        size_t dkn;
        srec_dedup_key(r.j.key, strlen(r.j.key), dk, &dkn);
        rc = srec_del_key(txn, s->dbi[DB_DEDUP], dk, dkn);
    }
    srec_rec_free(&r);
    return rc;
}

int
store_dead_purge(store_t *s, uint64_t id)
{
    MDB_txn *txn = NULL;
    meta_t m;
    int rc = sdb_op_begin(s, &txn, &m);
    if (rc)
        return rc;
    rc = purge_one(s, txn, id, &m);
    return sdb_op_end(s, txn, &m, rc);
}

int
store_dead_purge_all(store_t *s, uint64_t *count)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    meta_t m;
    uint64_t n = 0;
    int rc = sdb_op_begin(s, &txn, &m);
    if (rc)
        return rc;
    for (;;) {
        MDB_val key, v;
        rc = mdb_cursor_open(txn, s->dbi[DB_DEAD], &cur);
        if (rc)
            break;
        rc = mdb_cursor_get(cur, &key, &v, MDB_FIRST);
        mdb_cursor_close(cur);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            break;
        }
        if (rc)
            break;
        if (key.mv_size != 8) {
            rc = ERR_IO;
            break;
        }
        uint64_t id = sdb_get_be64(key.mv_data);
        rc = purge_one(s, txn, id, &m);
        if (rc == ERR_NOTFOUND || rc == MDB_NOTFOUND)
            rc = mdb_del(txn, s->dbi[DB_DEAD], &key, NULL);
        else if (rc == 0)
            n++;
        if (rc)
            break;
    }
    rc = sdb_op_end(s, txn, &m, rc);
    if (rc == 0 && count)
        *count = n;
    return rc;
}

int
store_dead_list(store_t *s, uint64_t after_id, size_t limit, store_job_fn fn,
                void *arg)
{
    MDB_txn *txn = sdb_cur_txn(s);
    MDB_cursor *cur = NULL;
    uint8_t k[8];
    int n = 0;
    if (after_id == UINT64_MAX)
        return 0;
    sdb_put_be64(k, after_id + 1);
    MDB_val key = sdb_mval(k, 8), v;
    int rc = mdb_cursor_open(txn, s->dbi[DB_DEAD], &cur);
    if (rc)
        return sdb_err_from_mdb(rc);
    rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
    while (rc == 0 && (size_t)n < limit && n < INT32_MAX) {
        store_job_t j;
        const char *reason = v.mv_data;
        if (key.mv_size != 8 || v.mv_size == 0 ||
            reason[v.mv_size - 1] != '\0') {
            rc = ERR_IO;
            break;
        }
        rc = store_get(s, sdb_get_be64(key.mv_data), &j);
        if (rc)
            break;
        if (fn(arg, &j, reason) != 0)
            break;
        n++;
        rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    return rc ? sdb_err_from_mdb(rc) : n;
}
